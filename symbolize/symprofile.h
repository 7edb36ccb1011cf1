/*
 * The symbolized profile every writer takes: the distinct stacks of a raw profile with each
 * address replaced by a location, and each location resolved once into frames.
 *
 * A location is an address and whether it is a return address (the call before it is what
 * is named), so one address seen as a leaf and as a caller makes two locations.  Frames stay
 * owned by the symbolizer: keep it alive as long as the symbolized profile.
 *
 * The [other] bucket of each vCPU (see up_profile_add) becomes a stack of one location with
 * addr 0, file -1 and the single frame "[other]", which every writer shows like any other.
 */
#ifndef UP_SYMBOLIZE_SYMPROFILE_H
#define UP_SYMBOLIZE_SYMPROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/profile.h"
#include "symbolize.h"

struct up_location {
	uint64_t addr;                  /* runtime address, as the walker found it */
	int is_return;
	int file;                       /* index of the symbol file naming it, -1 for none */
	const struct up_frame *frames;  /* outermost first: a function, then what it inlined */
	size_t nr_frames;               /* at least 1 */
};

struct up_sym_stack {
	uint32_t vcpu;
	uint32_t depth;                 /* locations, leaf first */
	uint64_t count;
	const uint32_t *locs;           /* indices into locs of the profile */
};

struct up_symprofile {
	const struct up_profile_meta *meta;
	const struct up_symbolizer *symbolizer;  /* the files named by up_location.file */
	int lines;                      /* frames carry file:line where known */
	int inline_frames;              /* locations may hold several frames */
	struct up_location *locs;
	size_t nr_locs;
	struct up_sym_stack *stacks;    /* in the raw profile's order */
	size_t nr_stacks;
	uint64_t total;                 /* samples: the sum of the stacks' counts */
	uint64_t other;                 /* samples in [other] stacks: new stacks met beyond the
					   raw profile's max_stacks, one location named "[other]" */
	uint32_t *pool;                 /* the stacks' location indices */
};

/* Resolve every distinct address of p with s into *ret.  Fails only on allocation. */
struct up_error *up_symprofile_build(const struct up_profile *p, struct up_symbolizer *s,
				     struct up_symprofile *ret);

void up_symprofile_deinit(struct up_symprofile *sp);

#endif
