#include <stdlib.h>
#include <string.h>

#include "guest_code.h"

#define LINE 64
#define NR_LINES 1024          /* 64 KiB of code */
#define MAX_READ 64            /* the walkers ask for one instruction, or a few */

struct line {
	uint64_t addr;         /* LINE-aligned; valid only when filled */
	int filled;
	uint8_t bytes[LINE];
};

struct up_guest_code {
	const struct up_symbolizer *sym;
	up_read_mem_fn *read;
	void **ctxs;
	size_t nr_ctxs;
	uint64_t reads;
	struct line lines[NR_LINES];
};

struct up_error *up_guest_code_create(const struct up_symbolizer *sym, up_read_mem_fn *read,
				      void *const *ctxs, size_t nr_ctxs,
				      struct up_guest_code **ret)
{
	struct up_guest_code *gc;

	if (!nr_ctxs)
		return up_error_create(UP_ERR_INVALID, "guest code: no memory context");
	gc = calloc(1, sizeof(*gc));
	if (!gc)
		return &up_error_nomem;
	gc->ctxs = malloc(nr_ctxs * sizeof(*gc->ctxs));
	if (!gc->ctxs) {
		free(gc);
		return &up_error_nomem;
	}
	memcpy(gc->ctxs, ctxs, nr_ctxs * sizeof(*gc->ctxs));
	gc->nr_ctxs = nr_ctxs;
	gc->sym = sym;
	gc->read = read;
	*ret = gc;
	return NULL;
}

void up_guest_code_destroy(struct up_guest_code *gc)
{
	if (!gc)
		return;
	free(gc->ctxs);
	free(gc);
}

uint64_t up_guest_code_func_start(void *ctx, uint64_t addr)
{
	struct up_guest_code *gc = ctx;

	/* The symbolizer's lookups take a non-const context but do not change it. */
	return up_symbolizer_func_start((void *)gc->sym, addr);
}

uint64_t up_guest_code_reads(const struct up_guest_code *gc)
{
	return gc->reads;
}

/*
 * The cache line holding addr, read from the guest on a miss; NULL when no context can read it.
 * A failure other than a fault is dropped here: the walk's own next read meets it.
 */
static const struct line *get_line(struct up_guest_code *gc, uint64_t addr)
{
	uint64_t base = addr & ~(uint64_t)(LINE - 1);
	struct line *l = &gc->lines[(base / LINE) % NR_LINES];

	if (l->filled && l->addr == base)
		return l;
	for (size_t i = 0; i < gc->nr_ctxs; i++) {
		struct up_error *err;

		gc->reads++;
		err = gc->read(gc->ctxs[i], base, l->bytes, LINE);
		if (!err) {
			l->addr = base;
			l->filled = 1;
			return l;
		}
		up_error_destroy(err);
		l->filled = 0;
	}
	return NULL;
}

int up_guest_code_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct up_guest_code *gc = ctx;
	uint64_t start = up_guest_code_func_start(ctx, addr);
	uint8_t *out = buf;

	if (!up_symbolizer_read_code((void *)gc->sym, addr, buf, len))
		return 0;
	/* Only code of a function the symbol files name, all of it in that one function. */
	if (!len || len > MAX_READ || !start || addr + len < addr ||
	    up_guest_code_func_start(ctx, addr + len - 1) != start)
		return -1;
	while (len) {
		const struct line *l = get_line(gc, addr);
		size_t off = addr % LINE, n = LINE - off < len ? LINE - off : len;

		if (!l)
			return -1;
		memcpy(out, l->bytes + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return 0;
}
