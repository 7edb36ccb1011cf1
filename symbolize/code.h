/*
 * The guest's code as the symbol file has it: the bytes of executable sections by address.
 * Walkers read instructions here (not from the paused guest) to see where a pc stands in its
 * function.
 */
#ifndef UP_SYMBOLIZE_CODE_H
#define UP_SYMBOLIZE_CODE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct up_code_range {
	uint64_t addr;
	size_t size;
	uint8_t *bytes;
};

struct up_code {
	struct up_code_range *ranges;   /* sorted by addr once finished */
	size_t nr;
};

void up_code_init(struct up_code *code);
void up_code_deinit(struct up_code *code);

/* Copy size bytes of code that run at addr. */
struct up_error *up_code_add(struct up_code *code, uint64_t addr, const void *bytes, size_t size);

/* Sort the ranges; call after the last add. */
void up_code_finish(struct up_code *code);

/* Copy len bytes at addr into buf: 0, or -1 when one range does not hold them all. */
int up_code_read(const struct up_code *code, uint64_t addr, void *buf, size_t len);

#endif
