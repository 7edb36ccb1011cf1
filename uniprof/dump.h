/*
 * uniprof --dump: every vCPU's stack walked in one pause, then, with the guest running again,
 * printed as backtraces (writers/backtrace.h).
 */
#ifndef UP_UNIPROF_DUMP_H
#define UP_UNIPROF_DUMP_H

#include <stdint.h>
#include <stdio.h>

#include "../backends/target.h"
#include "../linux/tasks.h"
#include "../memory/memory.h"
#include "../symbolize/symprofile.h"
#include "../unwind/unwinder.h"
#include "../writers/backtrace.h"

struct dump_options {
	unsigned int max_depth;  /* addresses per stack at most, at least 1 */
	/* The unwinder and what it may use, as in struct sampler_options; NULL: frame pointers. */
	const struct up_unwinder *unwinder;
	struct up_unwind_env unwind;
	/* Which Linux task each vCPU runs (--tasks); NULL: not read.  Shown as task_names says. */
	const struct up_task_finder *tasks;
	enum up_task_frames task_names;
};

struct dump {
	unsigned int nr_vcpus;
	unsigned int max_depth;
	uint64_t *pcs;          /* nr_vcpus rows of max_depth, leaf first */
	struct up_walk *walks;
	struct up_regs *regs;
	struct up_task *tasks;  /* per vCPU, valid where task_found */
	int *task_found;
	enum up_task_frames task_names;
	double pause_us;        /* how long the guest was stopped */
};

/*
 * Pause t once, read every vCPU's registers, walk every stack through mem, resume.  The guest
 * runs again when this returns, error or not.  A walk that meets an unreadable frame is kept,
 * marked truncated; any other failure is returned and *ret is left untouched.  Release *ret
 * with dump_deinit.
 */
struct up_error *dump_take(struct up_target *t, struct up_memory *mem,
			   const struct dump_options *opts, struct dump *ret);

/* Write every vCPU's backtrace to out, in vCPU order, a blank line between them. */
struct up_error *dump_write(FILE *out, const struct dump *d,
			    const struct up_backtrace_names *names);

void dump_deinit(struct dump *d);

#endif
