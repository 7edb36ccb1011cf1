/*
 * AArch64 frame-record walk.
 *
 * A function with a frame stores the record [saved x29, saved x30] and points x29 at it, so
 * the records form a list toward the outermost caller, whose saved x29 is zero; each older
 * record lies higher on the stack.
 *
 * Unlike x86_64, a call leaves the return address in x30 (LR), not on the stack.  In a leaf
 * that never stores a frame record, in a prologue before "mov x29, sp", or at the final "ret"
 * after the epilogue, x29 still points at the caller's record: the caller itself is then only
 * in LR.  The symbol file's code tells which case applies; a value of LR is trusted only when
 * it follows a branch-with-link in known code, so the caller is neither lost nor doubled.
 *
 * Return addresses may carry a pointer-authentication code in their upper bits: they are
 * stripped to the address size TCR_EL1 configures before use.
 */
#include "../../util/bytes.h"
#include "../frame_records.h"
#include "arm64.h"

#define INSN_PACIASP 0xd503233fu
#define INSN_PACIBSP 0xd503237fu
#define INSN_BTI_MASK 0xffffff3fu  /* bti, bti c, bti j, bti jc */
#define INSN_BTI 0xd503241fu
#define INSN_NOP 0xd503201fu
#define INSN_RET 0xd65f03c0u
#define INSN_RETAA 0xd65f0bffu
#define INSN_RETAB 0xd65f0fffu
#define INSN_AUTIASP 0xd50323bfu
#define INSN_AUTIBSP 0xd50323ffu

/* The vector table is 16 entries of 128 bytes at VBAR_EL1; SPSR_EL1's mode field. */
#define VECTORS_SIZE 0x800
#define SPSR_MODE_MASK 0xfu
#define SPSR_EL1T 0x4u
#define SPSR_EL1H 0x5u

/* How many instructions at a function's start we look at for the frame setup. */
#define PROLOGUE_INSNS 8

/* Virtual address bits in use for the half addr belongs to (TCR_EL1.T0SZ / T1SZ). */
static int va_bits(const struct up_regs *regs, uint64_t addr)
{
	uint64_t tcr = regs->arm64.tcr;
	unsigned int tsz = (addr >> 55) & 1 ? (tcr >> 16) & 0x3f : tcr & 0x3f;

	if (!tcr || tsz < 12 || tsz > 48)
		return 48;
	return 64 - tsz;
}

/* Remove a pointer-authentication code: copy bit 55 into every bit above the address. */
static uint64_t strip_pac(const struct up_regs *regs, uint64_t addr)
{
	int bits = va_bits(regs, addr);
	uint64_t high = ~0ULL << bits;

	return (addr >> 55) & 1 ? addr | high : addr & ~high;
}

/* Whether addr has its upper bits all equal to bit 55, for the configured address size. */
static int canonical(const struct up_regs *regs, uint64_t addr)
{
	return strip_pac(regs, addr) == addr;
}

static int valid_fp(const struct up_regs *regs, uint64_t fp)
{
	return !(fp & 7) && canonical(regs, fp) && canonical(regs, fp + 15);
}

static int clean_ra(const struct up_regs *regs, uint64_t *ra)
{
	*ra = strip_pac(regs, *ra);
	/* A64 instructions are 4-byte aligned: anything else is no return address. */
	return !(*ra & 3);
}

static int read_insn(const struct up_walk_env *env, uint64_t addr, uint32_t *ret)
{
	uint8_t b[4];

	if (env->read_code(env->code_ctx, addr, b, 4))
		return -1;
	*ret = up_le32(b);
	return 0;
}

/* stp x29, x30, [sp, #imm] in any addressing mode (pre-index, signed offset). */
static int is_stp_fp_lr(uint32_t insn)
{
	return (insn & 0xfe407fffu) == 0xa8007bfdu && ((insn >> 23) & 3) != 1;
}

/* mov x29, sp (add x29, sp, #0) or add x29, sp, #imm. */
static int is_set_fp(uint32_t insn)
{
	return (insn & 0xff8003ffu) == 0x910003fdu;
}

/* bl, blr, blraa/blrab(z): what leaves a return address in LR. */
static int is_call(uint32_t insn)
{
	return (insn & 0xfc000000u) == 0x94000000u ||   /* bl */
	       (insn & 0xfffffc1fu) == 0xd63f0000u ||   /* blr */
	       (insn & 0xfefff800u) == 0xd63f0800u;     /* blraa, blrab, blraaz, blrabz */
}

static enum up_walk_fixup leaf_fixup(const struct up_regs *regs, const struct up_walk_env *env,
				     uint64_t *ret_start)
{
	uint64_t start, off;
	uint32_t insn, at_pc;
	int stp_at = -1, set_fp_at = -1, i = 0;

	if (!env->func_start || !env->read_code)
		return UP_FIXUP_NONE;
	start = env->func_start(env->code_ctx, regs->pc);
	if (!start || read_insn(env, regs->pc, &at_pc))
		return UP_FIXUP_NONE;
	*ret_start = start;
	for (; i < PROLOGUE_INSNS; i++) {
		if (read_insn(env, start + 4 * i, &insn))
			return UP_FIXUP_NONE;
		if (is_stp_fp_lr(insn) && stp_at < 0)
			stp_at = i;
		if (is_set_fp(insn)) {
			set_fp_at = i;
			break;
		}
	}
	off = (regs->pc - start) / 4;
	if (stp_at < 0 && set_fp_at < 0)
		return at_pc == INSN_RET || at_pc == INSN_RETAA || at_pc == INSN_RETAB ?
			       UP_FIXUP_RETURN : UP_FIXUP_FRAMELESS;
	if (set_fp_at >= 0 && off <= (uint64_t)set_fp_at)
		return UP_FIXUP_ENTRY;
	if (at_pc == INSN_RET || at_pc == INSN_RETAA || at_pc == INSN_RETAB ||
	    at_pc == INSN_AUTIASP || at_pc == INSN_AUTIBSP) {
		/* Only after "ldp x29, x30, [sp], #n" restored the caller's x29. */
		uint32_t prev;

		if (!read_insn(env, regs->pc - 4, &prev) &&
		    ((prev & 0xffc07fffu) == 0xa8c07bfdu || prev == INSN_AUTIASP ||
		     prev == INSN_AUTIBSP))
			return UP_FIXUP_RETURN;
	}
	return UP_FIXUP_NONE;
}

static int entry_code_leaf(const struct up_regs *regs, const struct up_walk_env *env,
			   struct up_leaf_caller *ret);

static struct up_error *leaf_caller(const struct up_regs *regs, const struct up_walk_env *env,
				    struct up_leaf_caller *ret)
{
	uint64_t start = 0, lr = strip_pac(regs, regs->lr), caller = 0;
	uint32_t call;

	ret->interrupted = 0;
	if (entry_code_leaf(regs, env, ret))
		return NULL;
	ret->fixup = leaf_fixup(regs, env, &start);
	if (ret->fixup == UP_FIXUP_NONE)
		return NULL;
	/*
	 * LR counts only after a call in known code of another function: an LR pointing back
	 * into the leaf's own function is stale, left by a call it made earlier.
	 */
	if (lr >= 4)
		caller = env->func_start(env->code_ctx, lr - 4);
	if (!caller || caller == start || read_insn(env, lr - 4, &call) || !is_call(call)) {
		ret->fixup = UP_FIXUP_NONE;
		return NULL;
	}
	ret->pc = lr;
	ret->sp = regs->sp;
	/* Only after the epilogue is sp back where the caller had it. */
	ret->sp_exact = ret->fixup == UP_FIXUP_RETURN;
	return NULL;
}

/*
 * Linux's struct pt_regs starts with x0-x30, sp, pc and pstate; the frame record an exception
 * entry stores in it ([interrupted x29, ELR_EL1]) comes later, at an offset that differs
 * between kernel versions (after orig_x0, syscallno and more).
 */
#define PT_X29 (29 * 8)
#define PT_X30 (30 * 8)
#define PT_SP (31 * 8)
#define PT_PC (32 * 8)
#define PT_PSTATE (33 * 8)
#define PT_RECORD_MIN (PT_PSTATE + 8)
#define PT_RECORD_MAX 0x200

/* A state an exception saved that our walker reads: AArch64 at EL0 or EL1 (SP_EL0 or SP_EL1). */
static int el0_or_el1(uint64_t spsr)
{
	uint64_t mode = spsr & SPSR_MODE_MASK;

	return !(spsr & 0x10) && (mode == 0 || mode == SPSR_EL1T || mode == SPSR_EL1H);
}

/* The same for a pstate read from memory, whose upper half a real one leaves zero. */
static int saved_el0_or_el1(uint64_t pstate)
{
	return el0_or_el1(pstate) && !(pstate >> 32);
}

/*
 * The interrupted context a pt_regs at pt holds (its pstate checked by the caller): pc exact,
 * x30 known, its stack pointer when it ran at EL1 (at EL0 it is the user's).
 */
static void pt_regs_context(const struct up_regs *regs, const uint8_t *pt,
			    struct up_leaf_caller *ret)
{
	uint64_t mode = up_le64(pt + PT_PSTATE) & SPSR_MODE_MASK;

	ret->fixup = UP_FIXUP_INTERRUPT;
	ret->pc = strip_pac(regs, up_le64(pt + PT_PC));
	ret->sp = mode ? up_le64(pt + PT_SP) : 0;
	ret->sp_exact = mode != 0;
	ret->lr = up_le64(pt + PT_X30);
	ret->lr_valid = 1;
	ret->interrupted = 1;
}

/* Code whose first instructions store no frame record: not a function's, an entry's. */
static int builds_no_record(const struct up_walk_env *env, uint64_t start)
{
	uint32_t insn;

	for (int i = 0; i < PROLOGUE_INSNS; i++) {
		if (read_insn(env, start + 4 * i, &insn))
			return 0;
		if (is_stp_fp_lr(insn) || is_set_fp(insn))
			return 0;
	}
	return 1;
}

/* stp x0, x1, [sp]: the first store of an entry saving the interrupted registers. */
#define STP_X0_X1_SP 0xa90007e0u

/*
 * Code that saves the interrupted registers from x0 and x1 at sp, among its first
 * instructions, and stores no frame record there: what an exception entry starts with.
 */
static int saves_entry_registers(const struct up_walk_env *env, uint64_t start)
{
	uint32_t insn;
	int saves = 0;

	for (int i = 0; i < PROLOGUE_INSNS; i++) {
		if (read_insn(env, start + 4 * i, &insn))
			return 0;
		if (is_stp_fp_lr(insn) || is_set_fp(insn))
			return 0;
		saves |= insn == STP_X0_X1_SP;
	}
	return saves;
}

/*
 * Whether entry code has made its record: x29 points into the registers saved at sp, at a
 * record [x29, pc] that repeats the saved x29 and pc.  Then the interrupted context is the
 * one saved there (*ret), its pc exact and x30 known; from EL0 the leaf is the root.
 */
static int entry_record_made(const struct up_regs *regs, const struct up_walk_env *env,
			     struct up_leaf_caller *ret)
{
	uint8_t saved[PT_PSTATE + 8], rec[16];
	uint64_t off = regs->fp - regs->sp, pstate;
	struct up_error *err;

	if (off < PT_RECORD_MIN || off > PT_RECORD_MAX)
		return 0;
	err = env->read(env->read_ctx, regs->sp, saved, sizeof(saved));
	if (!err)
		err = env->read(env->read_ctx, regs->fp, rec, sizeof(rec));
	if (err) {
		up_error_destroy(err);
		return 0;
	}
	if (up_le64(rec) != up_le64(saved + PT_X29) || up_le64(rec + 8) != up_le64(saved + PT_PC))
		return 0;
	pstate = up_le64(saved + PT_PSTATE);
	ret->fixup = UP_FIXUP_NONE;
	if (!saved_el0_or_el1(pstate))
		return 1;  /* no state of ours: the record alone */
	if (!(pstate & SPSR_MODE_MASK)) {
		ret->root = 1;
		return 1;
	}
	pt_regs_context(regs, saved, ret);
	ret->fp = up_le64(saved + PT_X29);
	ret->fp_valid = 1;
	return 1;
}

/*
 * A leaf in exception entry code: after the vector table, within ARM64_EXCEPTION_WINDOW of
 * VBAR_EL1, in code that starts by saving x0 and x1 at sp and builds no record.  Before the
 * entry pointed x29 at the record it stores in the saved registers, the interrupted context
 * is still ELR_EL1 and SPSR_EL1, with x29 and x30 as they were: from EL1 it is the caller, its
 * pc exact; from EL0 the leaf is the kernel's outermost frame.  Once the record is made, the
 * saved registers give that context.  Either way x30 is no caller of the entry.  Returns 0
 * when the leaf is no entry code, else 1 with the decision in *ret.  (The exit path, which
 * restores x29 before its eret, is not recognised: its leaf takes x30.)
 */
static int entry_code_leaf(const struct up_regs *regs, const struct up_walk_env *env,
			   struct up_leaf_caller *ret)
{
	uint64_t vbar = regs->arm64.vbar, mode = regs->arm64.spsr & SPSR_MODE_MASK, start;

	if (!vbar || regs->pc - vbar < VECTORS_SIZE || regs->pc - vbar >= ARM64_EXCEPTION_WINDOW ||
	    !regs->sp || !env->func_start || !env->read_code)
		return 0;
	start = env->func_start(env->code_ctx, regs->pc);
	if (!start || !saves_entry_registers(env, start))
		return 0;
	if (entry_record_made(regs, env, ret))
		return 1;
	ret->fixup = UP_FIXUP_NONE;
	if (!regs->arm64.elr || !el0_or_el1(regs->arm64.spsr))
		return 1;
	if (mode == 0) {
		ret->root = 1;
		return 1;
	}
	ret->fixup = UP_FIXUP_INTERRUPT;
	ret->pc = strip_pac(regs, regs->arm64.elr);
	ret->sp = regs->sp;  /* the entry made room below the interrupted sp */
	ret->sp_exact = 0;
	ret->lr = regs->lr;
	ret->lr_valid = 1;
	ret->interrupted = 1;
	return 1;
}

/*
 * A record reached from a return address into exception entry code (code that builds no record
 * of its own and called the handler) is the one the entry stored in the saved registers: when
 * the words below it hold a pt_regs whose pc and x29 are the record's, the interrupted context
 * is there, its pc exact and its x30 known, so a frameless function it interrupted keeps its
 * caller too.
 */
static struct up_error *exception_record(const struct up_regs *regs,
					 const struct up_walk_env *env, uint64_t fp,
					 uint64_t next_fp, uint64_t ra, struct up_leaf_caller *ret)
{
	uint8_t below[PT_RECORD_MAX];
	struct up_error *err;
	uint64_t start;

	ret->interrupted = 0;
	if (!env->func_start || !env->read_code || regs->pc < 4 || fp < PT_RECORD_MAX)
		return NULL;
	start = env->func_start(env->code_ctx, regs->pc - 4);
	if (!start || !builds_no_record(env, start))
		return NULL;
	err = env->read(env->read_ctx, fp - PT_RECORD_MAX, below, sizeof(below));
	if (err) {
		up_error_catch(&err, UP_ERR_FAULT);
		return err;
	}
	for (size_t at = PT_RECORD_MIN; at <= PT_RECORD_MAX; at += 8) {
		const uint8_t *pt = below + PT_RECORD_MAX - at;
		if (strip_pac(regs, up_le64(pt + PT_PC)) != ra || up_le64(pt + PT_X29) != next_fp ||
		    !saved_el0_or_el1(up_le64(pt + PT_PSTATE)))
			continue;
		pt_regs_context(regs, pt, ret);
		return NULL;
	}
	return NULL;
}

/*
 * A pc on the exception vectors: an exception is being taken (QEMU's gdbstub stops a vCPU
 * there when an interrupt is pending) and nothing of the interrupted context is saved yet.  That
 * context is ELR_EL1 (its pc, exact) with every general register as it was, x29 and x30
 * included; its stack pointer is at or above the current one for a context at EL1 (the entry
 * may have made room for its frame already), unknown for one at EL0 (SP_EL0).
 */
int arm64_exception_context(const struct up_regs *regs, struct up_regs *ret)
{
	uint64_t vbar = regs->arm64.vbar, mode = regs->arm64.spsr & SPSR_MODE_MASK;

	if (!vbar || regs->pc - vbar >= VECTORS_SIZE || !regs->arm64.elr)
		return 0;
	*ret = *regs;
	ret->pc = strip_pac(regs, regs->arm64.elr);
	ret->arm64.cpsr = regs->arm64.spsr;
	up_regs_set_gpr(ret, ARM64_PC, ret->pc);
	if (mode == SPSR_EL1T || mode == SPSR_EL1H)
		return 1;
	ret->sp = 0;
	ret->gpr_valid &= ~(1ULL << ARM64_SP);
	return 1;
}

const struct up_record_rules arm64_records = {
	.arch = &up_arch_arm64,
	.valid_fp = valid_fp,
	.clean_ra = clean_ra,
	.leaf_caller = leaf_caller,
	.exception_record = exception_record,
};

struct up_error *arm64_walk_frames(const struct up_regs *regs, const struct up_walk_env *env,
				   uint64_t *pcs, size_t max, struct up_walk *ret)
{
	return up_fp_walk(&arm64_records, regs, env, pcs, max, ret);
}
