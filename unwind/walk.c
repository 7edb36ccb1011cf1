/*
 * The CFI and mixed unwinders: one step per frame.  For each frame the CFI row at its pc
 * (the leaf's own pc; a caller's return address - 1) is applied when there is one; "auto"
 * takes a frame-pointer step where the frame has no usable row (assembly entry stubs, code
 * without tables), "cfi" stops there.  The walk stops cleanly where neither works.
 *
 * Bounds: the depth cap, and a stack that grows: each caller's stack pointer lies above the
 * callee's, or equals it once (an arm64 leaf that keeps its return address in LR allocates
 * nothing).  A repeated (sp, pc) is a loop.  The one exception is a frame whose rules say
 * where it saved the interrupted stack pointer (a signal or interrupt entry, CFA loaded from
 * memory or a rule for sp): the interrupted context may run on another stack, below this one,
 * and the walk follows it there, at most UP_MAX_STACK_SWITCHES times; growth is then checked
 * on that stack.
 */
#include "../arch/frame_records.h"
#include "unwinder.h"

enum policy {
	CFI_ONLY,
	MIXED,
};

/* One step by CFI, when the frame has a row that applies; 0 when it has none. */
static int cfi_step(const struct up_unwind_env *env, int exact, struct up_regs *frame,
		    struct up_error **ret_err, struct up_cfi_step *ret)
{
	const struct up_cfi_row *row;

	if (!env->cfi_lookup)
		return 0;
	row = env->cfi_lookup(env->cfi_ctx, exact ? frame->pc : frame->pc - 1);
	if (row->status == UP_CFI_NONE)
		return 0;
	*ret_err = up_cfi_apply(row, env->arch, &env->walk, frame, ret);
	return 1;
}

static struct up_error *walk(enum policy policy, const struct up_unwind_env *env,
			     const struct up_regs *regs, uint64_t *pcs, size_t max,
			     struct up_walk *ret)
{
	struct up_regs frame = *regs;
	struct up_error *err = NULL;
	int exact = 1, from_record = 0, flat = 0;
	size_t n = 0;

	pcs[n++] = regs->pc;
	ret->fixup = UP_FIXUP_NONE;
	ret->switches = 0;
	ret->exact = 0;
	for (;;) {
		uint64_t sp = frame.sp, pc = frame.pc;
		enum up_walk_fixup fixup = UP_FIXUP_NONE;
		enum up_walk_stop stop = UP_WALK_NO_RULE;
		struct up_cfi_step cstep = { 0 };
		int stepped = 0, next_exact = 0, may_switch = 0, tried_cfi;

		tried_cfi = cfi_step(env, exact, &frame, &err, &cstep);
		if (tried_cfi) {
			stepped = cstep.stepped;
			stop = cstep.stop;
			next_exact = cstep.exact;
			may_switch = cstep.may_switch;
			if (stepped)
				from_record = 0;
		}
		/* A frame CFI cannot take (no row, or a rule it cannot follow) may have a record. */
		if (!err && policy == MIXED && (!tried_cfi || (!stepped && stop == UP_WALK_NO_RULE))) {
			struct up_fp_step fstep;

			err = up_fp_step(env->arch->records, &env->walk, exact, &frame, &from_record,
					 &fstep);
			stepped = fstep.stepped;
			stop = fstep.stop;
			fixup = fstep.fixup;
			/* An interrupted context is exact and may run on another stack. */
			next_exact = fstep.interrupted;
			may_switch = fstep.interrupted;
		}
		if (err || !stepped) {
			ret->stop = stop;
			break;
		}
		if (n == max) {
			ret->stop = UP_WALK_DEPTH;
			break;
		}
		if (frame.sp < sp || (frame.sp == sp && (flat || frame.pc == pc))) {
			if (!may_switch || frame.sp == sp || ret->switches == UP_MAX_STACK_SWITCHES) {
				ret->stop = UP_WALK_NOT_GROWING;
				break;
			}
			ret->switches++;
		}
		flat = frame.sp == sp;
		if (n == 1)
			ret->fixup = fixup;
		if (next_exact)
			up_walk_mark_exact(ret, n);
		pcs[n++] = frame.pc;
		exact = next_exact;
	}
	ret->depth = n;
	return err;
}

static struct up_error *cfi_walk(const struct up_unwind_env *env, const struct up_regs *regs,
				 uint64_t *pcs, size_t max, struct up_walk *ret)
{
	return walk(CFI_ONLY, env, regs, pcs, max, ret);
}

static struct up_error *auto_walk(const struct up_unwind_env *env, const struct up_regs *regs,
				  uint64_t *pcs, size_t max, struct up_walk *ret)
{
	return walk(MIXED, env, regs, pcs, max, ret);
}

const struct up_unwinder up_unwinder_cfi = {
	.name = "cfi",
	.walk = cfi_walk,
};

const struct up_unwinder up_unwinder_auto = {
	.name = "auto",
	.walk = auto_walk,
};
