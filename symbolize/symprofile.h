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

struct up_synth_frame;

struct up_location {
	uint64_t addr;                  /* runtime address, as the walker found it */
	int is_return;
	int file;                       /* index of the symbol file naming it, -1 for none */
	const struct up_frame *frames;  /* outermost first: a function, then what it inlined */
	size_t nr_frames;               /* at least 1 */
};

struct up_sym_stack {
	uint32_t vcpu;
	uint32_t depth;                 /* locations, leaf first (the task's root frame last) */
	const struct up_task *task;     /* the task it ran in (the raw profile's), NULL: unknown */
	uint32_t flags;                 /* UP_STACK_*: UP_STACK_USER, its leaf is "[user]" */
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
	struct up_synth_frame **synth;  /* frames made here: [user], task names */
	size_t nr_synth;
};

/* How tasks and user-mode samples show. */
enum up_task_frames {
	UP_TASK_FRAMES_NONE,            /* no task frame */
	UP_TASK_FRAMES_COMM,            /* a root frame "comm" (idle: "swapper/N") */
	UP_TASK_FRAMES_PID,             /* a root frame "comm/pid" (idle: "swapper/N") */
};

struct up_symprofile_options {
	enum up_task_frames tasks;
	int user_pcs;                   /* name user-mode leaves "[user] 0x<pc>", not "[user]" */
};

/* Resolve every distinct address of p with s into *ret.  Fails only on allocation. */
struct up_error *up_symprofile_build(const struct up_profile *p, struct up_symbolizer *s,
				     struct up_symprofile *ret);

/*
 * The same with options (NULL: none).  A stack flagged UP_STACK_USER has one location, named
 * "[user]", whatever the symbol files say of its address; with opts->tasks, a stack whose task
 * is known gets one more location, outermost, named after the task.
 */
struct up_error *up_symprofile_build_opts(const struct up_profile *p, struct up_symbolizer *s,
					  const struct up_symprofile_options *opts,
					  struct up_symprofile *ret);

/* The name a task shows as, in buf (at least UP_TASK_NAME_MAX bytes). */
#define UP_TASK_NAME_MAX 32
void up_task_name(const struct up_task *task, enum up_task_frames how, char *buf);

void up_symprofile_deinit(struct up_symprofile *sp);

#endif
