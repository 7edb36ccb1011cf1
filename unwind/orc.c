/*
 * The ORC unwinder (x86_64 Linux guests): one step per frame from the kernel's own ORC entry
 * at the frame's pc (orc.h).  A call frame gives the caller's stack pointer (the CFA), frame
 * pointer and return address; an entry frame (REGS: a struct pt_regs; REGS_PARTIAL: the iret
 * frame the CPU pushed) gives the interrupted context, whose pc is exact and whose stack may be
 * another one (an IRQ stack's caller runs on the task stack).  The walk ends complete at an
 * END_OF_STACK entry or where an entry frame's interrupted pc is a user address: the kernel's
 * stack ends there (the user pc is not added; the user side is another unwinder's).  A user pc
 * at the leaf is a stack of that one frame.
 *
 * Bounds as in walk.c: the depth cap, a stack pointer that grows, except after an entry frame
 * or an indirect CFA (a stack switch), at most UP_MAX_STACK_SWITCHES times.  Without tables
 * (env->orc NULL) the walk is the frame-pointer walk.
 */
#include "orc.h"
#include "unwinder.h"

/* DWARF numbers of x86_64's registers. */
enum { R_AX, R_DX, R_CX, R_BX, R_SI, R_DI, R_BP, R_SP, R_R8, R_R10 = 10, R_R13 = 13 };

/* The general registers of struct pt_regs, in its order (DWARF numbers), up to orig_ax. */
static const uint8_t pt_regs_order[15] = { 15, 14, 13, 12, R_BP, R_BX, 11, 10, 9, 8, R_AX,
					   R_CX, R_DX, R_SI, R_DI };
#define PT_REGS_IP 128   /* offsetof(struct pt_regs, ip) */
#define IRET_SP 24       /* the saved sp from the iret frame's start (ip) */

static int user_address(uint64_t addr)
{
	return !(addr >> 63);
}

static int canonical_kernel(uint64_t addr)
{
	return (addr >> 47) == 0x1ffff;
}

/* One 8-byte read; a fault ends the walk (*stop set, 0 returned), other errors are kept. */
static int read_u64(const struct up_walk_env *env, uint64_t addr, uint64_t *val,
		    struct up_error **err, enum up_walk_stop *stop)
{
	*err = env->read(env->read_ctx, addr, val, sizeof(*val));
	if (!*err)
		return 1;
	if (up_error_catch(err, UP_ERR_FAULT))
		*stop = UP_WALK_FAULT;
	return 0;
}

static int gpr(const struct up_regs *r, unsigned int n, uint64_t *ret)
{
	if (!(r->gpr_valid & (1ULL << n)))
		return 0;
	*ret = r->gpr[n];
	return 1;
}

static void set(struct up_regs *r, unsigned int n, uint64_t v)
{
	up_regs_set_gpr(r, n, v);
	if (n == R_SP)
		r->sp = v;
	else if (n == R_BP)
		r->fp = v;
}

struct orc_step {
	int stepped, exact, may_switch;
	enum up_walk_stop stop;
};

/* The caller of the frame in *f by entry e, in place. */
static struct up_error *orc_step(const struct up_walk_env *env, const struct up_orc_entry *e,
				 struct up_regs *f, struct orc_step *ret)
{
	struct up_error *err = NULL;
	uint64_t cfa, bp = f->fp, pc;
	int indirect = 0;

	ret->stepped = 0;
	ret->exact = 0;
	ret->may_switch = 0;
	ret->stop = UP_WALK_NO_RULE;
	if (e->type == UP_ORC_END_OF_STACK) {
		ret->stop = UP_WALK_END;
		return NULL;
	}
	if (e->type == UP_ORC_UNDEFINED)
		return NULL;
	switch (e->sp_reg) {
	case UP_ORC_REG_SP:
		cfa = f->sp + (int64_t)e->sp_offset;
		break;
	case UP_ORC_REG_BP:
		cfa = f->fp + (int64_t)e->sp_offset;
		break;
	case UP_ORC_REG_SP_INDIRECT:
		/* The stack-switch pattern: the previous stack pointer saved at the top. */
		cfa = f->sp;
		indirect = 1;
		break;
	case UP_ORC_REG_BP_INDIRECT:
		cfa = f->fp + (int64_t)e->sp_offset;
		indirect = 1;
		break;
	case UP_ORC_REG_R10:
	case UP_ORC_REG_R13:
	case UP_ORC_REG_DI:
	case UP_ORC_REG_DX:
		if (!gpr(f, e->sp_reg == UP_ORC_REG_R10 ? R_R10 : e->sp_reg == UP_ORC_REG_R13 ? R_R13 :
			    e->sp_reg == UP_ORC_REG_DI ? R_DI : R_DX, &cfa))
			return NULL;
		ret->may_switch = 1;
		break;
	default:
		return NULL;
	}
	if (indirect) {
		if (!read_u64(env, cfa, &cfa, &err, &ret->stop))
			return err;
		if (e->sp_reg == UP_ORC_REG_SP_INDIRECT)
			cfa += (int64_t)e->sp_offset;
		ret->may_switch = 1;
	}
	if (cfa & 7 || !canonical_kernel(cfa)) {
		ret->stop = UP_WALK_BAD_ADDRESS;
		return NULL;
	}
	switch (e->type) {
	case UP_ORC_CALL:
		if (!read_u64(env, cfa - 8, &pc, &err, &ret->stop))
			return err;
		ret->exact = e->signal;
		if (e->bp_reg == UP_ORC_REG_PREV_SP || e->bp_reg == UP_ORC_REG_BP) {
			uint64_t at = (e->bp_reg == UP_ORC_REG_PREV_SP ? cfa : f->fp) +
				      (int64_t)e->bp_offset;

			if (!read_u64(env, at, &bp, &err, &ret->stop))
				return err;
		} else if (e->bp_reg != UP_ORC_REG_UNDEFINED) {
			return NULL;
		}
		/* Callee-saved registers other than bp are not tracked by ORC. */
		f->gpr_valid &= 1ULL << R_BP;
		set(f, R_SP, cfa);
		set(f, R_BP, bp);
		break;
	case UP_ORC_REGS: {
		uint64_t regs[22];

		err = env->read(env->read_ctx, cfa, regs, sizeof(regs) - 8);
		if (err) {
			if (up_error_catch(&err, UP_ERR_FAULT))
				ret->stop = UP_WALK_FAULT;
			return err;
		}
		pc = regs[PT_REGS_IP / 8];
		f->gpr_valid = 0;
		for (unsigned int i = 0; i < sizeof(pt_regs_order); i++)
			set(f, pt_regs_order[i], regs[i]);
		set(f, R_SP, regs[PT_REGS_IP / 8 + 3]);
		ret->exact = 1;
		ret->may_switch = 1;
		break;
	}
	case UP_ORC_REGS_PARTIAL: {
		uint64_t sp;

		if (!read_u64(env, cfa, &pc, &err, &ret->stop) ||
		    !read_u64(env, cfa + IRET_SP, &sp, &err, &ret->stop))
			return err;
		/* Only the iret frame is known: bp stays what it was unless the entry says. */
		if (e->bp_reg == UP_ORC_REG_PREV_SP || e->bp_reg == UP_ORC_REG_BP) {
			uint64_t at = (e->bp_reg == UP_ORC_REG_PREV_SP ? cfa : f->fp) +
				      (int64_t)e->bp_offset;

			if (!read_u64(env, at, &bp, &err, &ret->stop))
				return err;
		}
		f->gpr_valid &= 1ULL << R_BP;
		set(f, R_SP, sp);
		set(f, R_BP, bp);
		ret->exact = 1;
		ret->may_switch = 1;
		break;
	}
	default:
		return NULL;
	}
	if (ret->exact && user_address(pc)) {
		/* The interrupted context was user mode: the kernel stack is whole. */
		ret->stop = UP_WALK_END;
		return NULL;
	}
	if (!canonical_kernel(pc)) {
		ret->stop = pc ? UP_WALK_BAD_ADDRESS : UP_WALK_END;
		return NULL;
	}
	f->pc = pc;
	up_regs_set_gpr(f, 16, pc);
	ret->stepped = 1;
	return NULL;
}

static struct up_error *orc_walk(const struct up_unwind_env *env, const struct up_regs *regs,
				 uint64_t *pcs, size_t max, struct up_walk *ret)
{
	struct up_regs frame = *regs;
	struct up_error *err = NULL;
	int exact = 1;
	size_t n = 0;

	if (!env->orc)
		return env->arch->walk_frames(regs, &env->walk, pcs, max, ret);
	pcs[n++] = regs->pc;
	ret->fixup = UP_FIXUP_NONE;
	ret->switches = 0;
	ret->exact = 0;
	ret->stop = UP_WALK_END;
	if (user_address(regs->pc)) {
		/* A user-mode sample: no kernel stack to walk. */
		ret->depth = n;
		return NULL;
	}
	for (;;) {
		uint64_t sp = frame.sp;
		struct up_orc_entry e;
		struct orc_step step;

		if (up_orc_find(env->orc, exact ? frame.pc : frame.pc - 1, &e)) {
			ret->stop = UP_WALK_NO_RULE;
			break;
		}
		err = orc_step(&env->walk, &e, &frame, &step);
		if (err || !step.stepped) {
			ret->stop = step.stop;
			break;
		}
		if (n == max) {
			ret->stop = UP_WALK_DEPTH;
			break;
		}
		if (frame.sp <= sp) {
			if (!step.may_switch || frame.sp == sp ||
			    ret->switches == UP_MAX_STACK_SWITCHES) {
				ret->stop = UP_WALK_NOT_GROWING;
				break;
			}
			ret->switches++;
		}
		if (step.exact)
			up_walk_mark_exact(ret, n);
		pcs[n++] = frame.pc;
		exact = step.exact;
	}
	ret->depth = n;
	return err;
}

const struct up_unwinder up_unwinder_orc = {
	.name = "orc",
	.walk = orc_walk,
};
