/*
 * DWARF (elfutils libdw): inlined frames and source lines of a code address.
 */
#ifndef UP_SYMBOLIZE_DWARF_H
#define UP_SYMBOLIZE_DWARF_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct up_dwarf;

struct up_dwarf_frame {
	const char *name;   /* linkage name when there is one, else the plain name; may be NULL */
	const char *file;   /* source file, may be NULL; valid while the up_dwarf is open */
	unsigned int line;  /* 0 when unknown */
	int inlined;        /* an inlined instance; the last frame is the concrete function */
};

/* Open path's DWARF.  UP_ERR_UNSUPPORTED when the file has no debug information. */
struct up_error *up_dwarf_open(const char *path, struct up_dwarf **ret);

/* Close d; NULL is a no-op. */
void up_dwarf_close(struct up_dwarf *d);

/*
 * The frames at link address addr, innermost first, at most max: each inlined instance, then
 * the function they were inlined into.  The first frame's file:line is addr's own line; each
 * later frame's is where it called the frame before.  Returns the count, 0 when DWARF does not
 * cover addr.
 */
size_t up_dwarf_frames(struct up_dwarf *d, uint64_t addr, struct up_dwarf_frame *out, size_t max);

#endif
