/* A code oracle for walker tests: function starts and instruction bytes, as a symbol file
 * would give them (see struct up_walk_env). */
#ifndef UP_TESTS_FAKE_CODE_H
#define UP_TESTS_FAKE_CODE_H

#include <stdint.h>
#include <string.h>

struct fake_function {
	uint64_t start;
	uint64_t size;
};

struct fake_code {
	uint64_t base;           /* guest address of bytes[0] */
	uint8_t bytes[4096];
	struct fake_function funcs[16];
	size_t nr_funcs;
};

static inline uint64_t fake_func_start(void *ctx, uint64_t addr)
{
	struct fake_code *c = ctx;

	for (size_t i = 0; i < c->nr_funcs; i++) {
		if (addr >= c->funcs[i].start && addr - c->funcs[i].start < c->funcs[i].size)
			return c->funcs[i].start;
	}
	return 0;
}

static inline int fake_read_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_code *c = ctx;

	if (addr < c->base || len > sizeof(c->bytes) || addr - c->base > sizeof(c->bytes) - len)
		return -1;
	memcpy(buf, c->bytes + (addr - c->base), len);
	return 0;
}

/* Add a function at start with the given code bytes. */
static inline void fake_add_function(struct fake_code *c, uint64_t start, const void *code,
				     size_t len)
{
	memcpy(c->bytes + (start - c->base), code, len);
	c->funcs[c->nr_funcs++] = (struct fake_function){ start, len };
}

#endif
