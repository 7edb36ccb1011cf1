/*
 * Backtraces: one vCPU's walked stack printed the way a debugger prints `bt`, for uniprof
 * --dump.
 *
 *   vCPU 0: complete, sp 0xffffffff80105f70, fp 0xffffffff80105f80
 *   #0  0xffffffff80001410 in spin_units [inlined] (workload.c:57)
 *   #1  0xffffffff80001410 in alpha_leaf+0x30 (workload.c:101)
 *   #2  0xffffffff80001445 in alpha_deep+0x15 (workload.c:107)
 *
 * The header says whether the walk reached the outermost frame ("complete") or why it ended
 * early ("truncated (unreadable frame)", see up_walk_stop_name).  Each address gives one line
 * per frame the names give, innermost first: the inlined frames, marked [inlined], then the
 * function holding the code, with the offset from its start when that is known.  Names that
 * nothing knows print as "??".  Control characters in names and file names print as '?'.
 *
 * Not a profile writer (writer.h): a backtrace is one stack as it was, not counted stacks.
 * Names come through struct up_backtrace_names, so a test can give its own.
 */
#ifndef UP_WRITERS_BACKTRACE_H
#define UP_WRITERS_BACKTRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../arch/arch.h"
#include "../symbolize/symbolize.h"
#include "../util/error.h"
#include "../util/profile.h"

struct up_backtrace_names {
	/*
	 * As up_symbolizer_frames: the frames of runtime address addr, outermost first, at least
	 * one; *ret stays valid while ctx lives.  For a return address (is_return) the call
	 * before it is named.
	 */
	size_t (*frames)(void *ctx, uint64_t addr, int is_return, const struct up_frame **ret);
	/* As up_symbolizer_func_start: where the function holding addr starts, 0 if unknown. */
	uint64_t (*func_start)(void *ctx, uint64_t addr);
	void *ctx;
};

/* Names from a symbolizer, which must outlive *ret. */
void up_backtrace_names_symbolizer(struct up_symbolizer *s, struct up_backtrace_names *ret);

struct up_backtrace {
	unsigned int vcpu;
	const struct up_regs *regs;    /* for the header's sp and fp; may be NULL */
	const uint64_t *pcs;           /* walk->depth addresses: the leaf pc, then return addresses */
	const struct up_walk *walk;
};

/* Write bt to out: its header line, then its frames.  Fails on write errors only. */
struct up_error *up_backtrace_write(FILE *out, const struct up_backtrace *bt,
				    const struct up_backtrace_names *names);

#endif
