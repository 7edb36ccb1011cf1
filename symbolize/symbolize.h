/*
 * The symbolizer: names guest code addresses using the symbol files the user gave.
 */
#ifndef UP_SYMBOLIZE_SYMBOLIZE_H
#define UP_SYMBOLIZE_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "code.h"
#include "symtab.h"

struct up_symbolizer {
	struct up_symtab tab;
	struct up_code code;
};

void up_symbolizer_init(struct up_symbolizer *s);
void up_symbolizer_deinit(struct up_symbolizer *s);

/* Load a symbol file (an ELF image today). */
struct up_error *up_symbolizer_add_file(struct up_symbolizer *s, const char *path);

/* Call after the last add_file, before naming addresses. */
void up_symbolizer_finish(struct up_symbolizer *s);

/*
 * The name of the function at addr.  For a return address (is_return), the call instruction
 * before it is what we name, so a call that ends a function is not put in the next one.
 * Unknown addresses are formatted as "0x..." in buf (at least 19 bytes), which is returned.
 * The result is valid until the symbolizer is deinitialized or buf is reused.
 */
const char *up_symbolizer_name(const struct up_symbolizer *s, uint64_t addr, int is_return,
			       char *buf, size_t cap);

/*
 * The code oracle walkers use (see struct up_walk_env; ctx is the symbolizer).  func_start:
 * start of the function holding addr, 0 if unknown.  read_code: 0 and the bytes, or -1.
 */
uint64_t up_symbolizer_func_start(void *ctx, uint64_t addr);
int up_symbolizer_read_code(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
