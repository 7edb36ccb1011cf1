#include <stdlib.h>
#include <string.h>

#include "code.h"

void up_code_init(struct up_code *code)
{
	memset(code, 0, sizeof(*code));
}

void up_code_deinit(struct up_code *code)
{
	for (size_t i = 0; i < code->nr; i++)
		free(code->ranges[i].bytes);
	free(code->ranges);
	memset(code, 0, sizeof(*code));
}

struct up_error *up_code_add(struct up_code *code, uint64_t addr, const void *bytes, size_t size)
{
	struct up_code_range *ranges;
	uint8_t *copy;

	if (!size || addr + size < addr)
		return NULL;
	ranges = realloc(code->ranges, (code->nr + 1) * sizeof(*ranges));
	if (!ranges)
		return &up_error_nomem;
	code->ranges = ranges;
	copy = malloc(size);
	if (!copy)
		return &up_error_nomem;
	memcpy(copy, bytes, size);
	code->ranges[code->nr++] = (struct up_code_range){ addr, size, copy };
	return NULL;
}

static int compare_ranges(const void *a, const void *b)
{
	const struct up_code_range *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void up_code_finish(struct up_code *code)
{
	if (code->nr)
		qsort(code->ranges, code->nr, sizeof(*code->ranges), compare_ranges);
}

int up_code_read(const struct up_code *code, uint64_t addr, void *buf, size_t len)
{
	size_t lo = 0, hi = code->nr;
	const struct up_code_range *r;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (code->ranges[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	r = &code->ranges[lo - 1];
	if (addr - r->addr >= r->size || len > r->size - (addr - r->addr))
		return -1;
	memcpy(buf, r->bytes + (addr - r->addr), len);
	return 0;
}
