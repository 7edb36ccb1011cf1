/*
 * The symbolizer: names guest code addresses with the symbol files the user gave (-k), each
 * at its own slide, with optional inlined frames and source lines from DWARF.
 *
 * Results are cached per address, so a profile costs one lookup per distinct address.
 */
#ifndef UP_SYMBOLIZE_SYMBOLIZE_H
#define UP_SYMBOLIZE_SYMBOLIZE_H

#include <stddef.h>
#include <stdint.h>

#include "symfile.h"

struct up_symbolizer_options {
	int demangle;       /* C++ and Rust names (on by default in the CLI) */
	int inline_frames;  /* expand inlined functions into frames of their own */
	int lines;          /* look up file:line */
};

/* One frame of a resolved address. */
struct up_frame {
	const char *name;   /* never NULL: a symbol, or "0x..." */
	const char *file;   /* NULL when unknown or not asked for */
	unsigned int line;
	int known;          /* name is a symbol, not a hex address */
};

struct up_frames_cache;

struct up_symbolizer {
	struct up_symbolizer_options opts;
	struct up_symfile **files;
	size_t nr_files;
	struct up_frames_cache *cache;
};

void up_symbolizer_init(struct up_symbolizer *s, const struct up_symbolizer_options *opts);
void up_symbolizer_deinit(struct up_symbolizer *s);

/*
 * Load a symbol file.  With has_load_address, the image was loaded at load_address (its
 * lowest address goes there), which fixes its slide; otherwise the slide is found later
 * (up_symbolizer_find_slides) or taken as zero.
 */
struct up_error *up_symbolizer_add_file(struct up_symbolizer *s, const char *path,
					int has_load_address, uint64_t load_address);

/*
 * Add symbols that come from no file (a guest's module, read from its memory), named name where
 * a file's path would show ("[ext4]"): tab, at runtime addresses, is taken over (left empty)
 * and finished here; its slide is 0, as how says.
 */
struct up_error *up_symbolizer_add_symtab(struct up_symbolizer *s, const char *name,
					  struct up_symtab *tab, const char *how);

/* Fix file i's slide, as the user said. */
void up_symbolizer_set_slide(struct up_symbolizer *s, size_t i, int64_t slide, const char *how);

/*
 * Resolve addr into frames, outermost first (a function, then what was inlined into it).
 * For a return address (is_return), the call instruction before it is what is named, so a
 * call that ends a function is not put in the next one.  Returns the count (at least 1);
 * *ret stays valid until the symbolizer is deinitialized.
 */
size_t up_symbolizer_frames(struct up_symbolizer *s, uint64_t addr, int is_return,
			    const struct up_frame **ret);

/* The index in files of the symbol file that names runtime address addr, or -1. */
int up_symbolizer_file_of(const struct up_symbolizer *s, uint64_t addr);

/* The name of the function at addr (outermost frame), as up_symbolizer_frames gives it. */
const char *up_symbolizer_name(struct up_symbolizer *s, uint64_t addr, int is_return);

/*
 * The code oracle walkers use (see struct up_walk_env; ctx is the symbolizer), in runtime
 * addresses.  func_start: start of the function holding addr, 0 if unknown.  read_code: 0 and
 * the bytes, or -1.
 */
uint64_t up_symbolizer_func_start(void *ctx, uint64_t addr);
int up_symbolizer_read_code(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
