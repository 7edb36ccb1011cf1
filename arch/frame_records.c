#include "../util/bytes.h"
#include "frame_records.h"

/* Whether the code at the frame's pc is known to be outermost. */
static int at_root(const struct up_walk_env *env, const struct up_regs *regs, int exact)
{
	/* A return address names the call before it. */
	return env->is_root && env->is_root(env->root_ctx, exact ? regs->pc : regs->pc - 1);
}

static void set_gpr(struct up_regs *regs, int n, uint64_t value)
{
	if (n >= 0)
		up_regs_set_gpr(regs, (unsigned int)n, value);
}

/* The caller's registers after a step: only pc, fp and (when known exactly) sp. */
static void caller_regs(const struct up_record_rules *rules, struct up_regs *regs, uint64_t pc,
			uint64_t sp, int sp_exact, uint64_t fp, uint64_t keep)
{
	const struct up_arch *arch = rules->arch;

	regs->gpr_valid &= keep;
	regs->pc = pc;
	regs->sp = sp;
	regs->fp = fp;
	regs->lr = 0;
	set_gpr(regs, arch->gpr_pc, pc);
	set_gpr(regs, arch->gpr_fp, fp);
	if (sp_exact)
		set_gpr(regs, arch->gpr_sp, sp);
	else if (arch->gpr_sp >= 0)
		regs->gpr_valid &= ~(1ULL << arch->gpr_sp);
	if (arch->gpr_lr >= 0)
		regs->gpr_valid &= ~(1ULL << arch->gpr_lr);
}

struct up_error *up_fp_step(const struct up_record_rules *rules, const struct up_walk_env *env,
			    int exact, struct up_regs *regs, int *from_record,
			    struct up_fp_step *ret)
{
	uint64_t fp = regs->fp, next_fp, ra;
	struct up_error *err;
	uint8_t record[16];

	ret->stepped = 0;
	ret->fixup = UP_FIXUP_NONE;
	ret->interrupted = 0;
	if (exact && rules->leaf_caller) {
		struct up_leaf_caller leaf = { 0 };

		err = rules->leaf_caller(regs, env, &leaf);
		if (err) {
			ret->stop = UP_WALK_FAULT;
			return err;
		}
		if (leaf.root) {
			ret->stop = UP_WALK_END;
			return NULL;
		}
		if (leaf.fixup != UP_FIXUP_NONE) {
			/*
			 * The leaf has not touched its callee-saved registers (or has restored
			 * them): they stay, the frame pointer with them.
			 */
			if (leaf.interrupted && leaf.fp_valid) {
				/* Read from saved registers: the others are not loaded. */
				caller_regs(rules, regs, leaf.pc, leaf.sp, leaf.sp_exact, leaf.fp, 0);
				*from_record = 1;
			} else {
				caller_regs(rules, regs, leaf.pc, leaf.sp, leaf.sp_exact, fp, ~0ULL);
			}
			if (leaf.interrupted && leaf.lr_valid && rules->arch->gpr_lr >= 0) {
				regs->lr = leaf.lr;
				set_gpr(regs, rules->arch->gpr_lr, leaf.lr);
			}
			ret->fixup = leaf.fixup;
			ret->interrupted = leaf.interrupted;
			ret->stepped = 1;
			return NULL;
		}
	}
	if (!fp) {
		/*
		 * A record whose saved frame pointer is null ends the chain: the root's caller
		 * cleared it.  A null frame pointer in the registers is only the end in code known
		 * to be outermost.
		 */
		ret->stop = *from_record || at_root(env, regs, exact) ? UP_WALK_END : UP_WALK_NULL_FP;
		return NULL;
	}
	/*
	 * A frame lies on the stack in use, at or above the stack pointer: a frame pointer below
	 * it (user-space junk in rbp while the kernel runs, say) is not followed; one below the
	 * end of the previous record means the chain did not grow.
	 */
	if (regs->sp && fp < regs->sp) {
		ret->stop = *from_record ? UP_WALK_NOT_GROWING : UP_WALK_BAD_ADDRESS;
		return NULL;
	}
	if (!rules->valid_fp(regs, fp)) {
		ret->stop = UP_WALK_BAD_ADDRESS;
		return NULL;
	}
	err = env->read(env->read_ctx, fp, record, sizeof(record));
	if (err) {
		ret->stop = UP_WALK_FAULT;
		up_error_catch(&err, UP_ERR_FAULT);
		return err;
	}
	next_fp = up_le64(record);
	ra = up_le64(record + 8);
	if (!ra) {
		/*
		 * A zero return address at the end of a chain of records is a final record;
		 * straight from the registers it is memory that holds no record (code without
		 * frame pointers uses the register for data).
		 */
		ret->stop = *from_record ? UP_WALK_END : UP_WALK_ZERO_RECORD;
		return NULL;
	}
	if (!rules->clean_ra(regs, &ra)) {
		ret->stop = UP_WALK_BAD_ADDRESS;
		return NULL;
	}
	if (!exact && rules->exception_record) {
		struct up_leaf_caller ctx;

		err = rules->exception_record(regs, env, fp, next_fp, ra, &ctx);
		if (err) {
			ret->stop = UP_WALK_FAULT;
			return err;
		}
		if (ctx.interrupted) {
			/* The interrupted context, walked like a leaf: its pc is exact. */
			caller_regs(rules, regs, ctx.pc, ctx.sp, ctx.sp_exact, next_fp, 0);
			if (ctx.lr_valid && rules->arch->gpr_lr >= 0) {
				regs->lr = ctx.lr;
				set_gpr(regs, rules->arch->gpr_lr, ctx.lr);
			}
			*from_record = 1;
			ret->interrupted = 1;
			ret->stepped = 1;
			return NULL;
		}
	}
	/* What the function saved besides its record is unknown here. */
	caller_regs(rules, regs, ra, fp + 16, 1, next_fp, 0);
	*from_record = 1;
	ret->stepped = 1;
	return NULL;
}

struct up_error *up_fp_walk(const struct up_record_rules *rules, const struct up_regs *regs,
			    const struct up_walk_env *env, uint64_t *pcs, size_t max,
			    struct up_walk *ret)
{
	struct up_regs frame = *regs;
	struct up_error *err = NULL;
	int from_record = 0, exact = 1;
	unsigned int interrupts = 0;
	size_t n = 0;

	up_arch_start_regs(rules->arch, regs, &frame);
	pcs[n++] = frame.pc;
	ret->fixup = UP_FIXUP_NONE;
	ret->switches = 0;
	ret->exact = 0;
	for (;;) {
		struct up_fp_step step;
		uint64_t sp = frame.sp;

		err = up_fp_step(rules, env, exact, &frame, &from_record, &step);
		if (err || !step.stepped) {
			ret->stop = step.stop;
			break;
		}
		/* A chain that ends right at the cap is complete; one that goes on is not. */
		if (n == max) {
			ret->stop = UP_WALK_DEPTH;
			break;
		}
		if (n == 1)
			ret->fixup = step.fixup;
		if (step.interrupted)
			up_walk_mark_exact(ret, n);
		pcs[n++] = frame.pc;
		/* An interrupted context is walked as the leaf was: its pc is exact. */
		exact = step.interrupted && interrupts < UP_MAX_INTERRUPTS;
		interrupts += step.interrupted;
		ret->switches += step.interrupted && frame.sp < sp;
	}
	ret->depth = n;
	return err;
}
