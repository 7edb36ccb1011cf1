/*
 * x86_64 frame-pointer walk.
 *
 * With frame pointers every function starts "push %rbp; mov %rsp,%rbp", so rbp points at a
 * frame record [saved rbp, return address] and the records form a list toward the outermost
 * caller, whose saved rbp is zero.  The stack grows down, so each older record lies at a higher
 * address: anything else is a loop or garbage and ends the walk.
 *
 * The leaf needs care: until its "mov %rsp,%rbp" has run (or after its epilogue popped rbp,
 * or in a leaf built without a frame), rbp still points at the caller's record, whose return
 * address leads to the caller's caller.  The caller itself is then only on top of the stack.
 * With the symbol file's code we see where pc stands in its function and take the return
 * address from the stack, if it really looks like one (it follows a call instruction).
 */
#include <string.h>

#include "../../util/bytes.h"
#include "../frame_records.h"
#include "x86_64.h"

int x86_64_canonical(uint64_t addr, uint64_t cr4)
{
	int bits = (cr4 & X86_CR4_LA57) ? 57 : 48;
	int64_t sext = (int64_t)(addr << (64 - bits)) >> (64 - bits);

	return (uint64_t)sext == addr;
}

static int valid_fp(const struct up_regs *regs, uint64_t fp)
{
	return !(fp & 7) && x86_64_canonical(fp, regs->x86_64.cr4) &&
	       x86_64_canonical(fp + 15, regs->x86_64.cr4);
}

static int clean_ra(const struct up_regs *regs, uint64_t *ra)
{
	return x86_64_canonical(*ra, regs->x86_64.cr4);
}

/* Whether the code before ra ends with a call instruction, so ra is a return address. */
static int after_call(const struct up_walk_env *env, uint64_t ra)
{
	uint8_t b[7];

	if (env->read_code(env->code_ctx, ra - 7, b, sizeof(b)))
		return 0;
	/* b[6] is the byte just before ra. */
	if (b[2] == 0xe8)                                   /* call rel32 */
		return 1;
	if (b[1] == 0xff && b[2] == 0x15)                   /* call *disp32(%rip) */
		return 1;
	if (b[5] == 0xff && (b[6] & 0xf8) == 0xd0)          /* call *%reg */
		return 1;
	if (b[4] == 0x41 && b[5] == 0xff && (b[6] & 0xf8) == 0xd0)  /* call *%r8-15 */
		return 1;
	if (b[4] == 0xff && (b[5] & 0x38) == 0x10)          /* call *disp8(%reg) */
		return 1;
	return 0;
}

/* Offsets of the frame setup at the start of a function, when it has one. */
struct prologue {
	int push_at;   /* offset of "push %rbp", or -1: the function builds no frame */
	int mov_at;    /* offset of "mov %rsp,%rbp" */
};

static int parse_prologue(const uint8_t *b, struct prologue *ret)
{
	static const uint8_t endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
	static const uint8_t nop5[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 };
	int p = 0;

	if (!memcmp(b, endbr64, 4))
		p = 4;
	/* Linux kernels start with "call __fentry__", patched to a 5-byte nop. */
	if (b[p] == 0xe8 || !memcmp(b + p, nop5, 5))
		p += 5;
	if (b[p] == 0x55) {
		if (b[p + 1] != 0x48 || b[p + 2] != 0x89 || b[p + 3] != 0xe5)
			return -1;  /* some other frame setup: leave it alone */
		ret->push_at = p;
		ret->mov_at = p + 1;
		return 0;
	}
	/* A function that pushes or allocates before anything else moved rsp: not handled. */
	if ((b[p] & 0xf8) == 0x50 || (b[p] == 0x41 && (b[p + 1] & 0xf8) == 0x50) ||
	    (b[p] == 0x48 && (b[p + 1] == 0x83 || b[p + 1] == 0x81) && b[p + 2] == 0xec))
		return -1;
	ret->push_at = -1;
	ret->mov_at = -1;
	return 0;
}

/* Decide whether the leaf's caller must come from the stack, and at which offset from rsp. */
static enum up_walk_fixup leaf_fixup(const struct up_regs *regs, const struct up_walk_env *env,
				     uint64_t *ret_slot, uint64_t *ret_start)
{
	uint8_t code[24], at_pc;
	struct prologue pro;
	uint64_t start, off;

	if (!env->func_start || !env->read_code)
		return UP_FIXUP_NONE;
	start = env->func_start(env->code_ctx, regs->pc);
	if (!start || env->read_code(env->code_ctx, start, code, sizeof(code)) ||
	    env->read_code(env->code_ctx, regs->pc, &at_pc, 1) || parse_prologue(code, &pro))
		return UP_FIXUP_NONE;
	off = regs->pc - start;
	*ret_slot = regs->sp;
	*ret_start = start;
	if (pro.push_at < 0)
		return at_pc == 0xc3 ? UP_FIXUP_RETURN : UP_FIXUP_FRAMELESS;
	if (off <= (uint64_t)pro.push_at)
		return UP_FIXUP_ENTRY;
	if (off == (uint64_t)pro.mov_at) {
		*ret_slot = regs->sp + 8;
		return UP_FIXUP_PUSHED;
	}
	if (at_pc == 0xc3)
		return UP_FIXUP_RETURN;
	return UP_FIXUP_NONE;
}

/* The function a "call rel32" ending at ra calls, or 0 when it is no such call. */
static uint64_t direct_call_target(const struct up_walk_env *env, uint64_t ra)
{
	uint8_t b[5];

	if (env->read_code(env->code_ctx, ra - 5, b, sizeof(b)) || b[0] != 0xe8)
		return 0;
	return ra + (uint64_t)(int64_t)(int32_t)up_le32(b + 1);
}

/* Whether the five words look like the frame an interrupt pushes: rip, cs, rflags, rsp, ss. */
static int iret_frame(const struct up_regs *regs, const uint64_t *w)
{
	uint64_t cr4 = regs->x86_64.cr4;
	/* RFLAGS: bit 1 always set; 3, 5, 15 and 22-63 always clear. */
	int rflags_ok = (w[2] & 2) && !(w[2] & ((1 << 3) | (1 << 5) | (1 << 15))) && !(w[2] >> 22);

	return x86_64_canonical(w[0], cr4) && w[0] && (w[1] >> 2) && w[1] <= 0xffff &&
	       rflags_ok && x86_64_canonical(w[3], cr4) && w[4] <= 0xffff;
}

/*
 * At an interrupt entry's first instruction, the CPU has just pushed the interrupted context's
 * rip, cs, rflags, rsp and ss (after an error code, for some vectors) and nothing else ran: the
 * interrupted function is at that rip, on that rsp, with every other register as it was.
 * Recognised only at a function's first instruction, and not when the top of the stack is the
 * return address of a call to this very function.
 */
static int interrupt_frame(const struct up_regs *regs, const struct up_walk_env *env,
			   struct up_leaf_caller *ret, struct up_error **ret_err)
{
	uint64_t w[6], start;
	uint8_t buf[sizeof(w)];
	struct up_error *err;

	if (!env->func_start || !env->read_code)
		return 0;
	start = env->func_start(env->code_ctx, regs->pc);
	if (!start || start != regs->pc || !x86_64_canonical(regs->sp, regs->x86_64.cr4))
		return 0;
	err = env->read(env->read_ctx, regs->sp, buf, sizeof(buf));
	if (err) {
		if (!up_error_catch(&err, UP_ERR_FAULT))
			*ret_err = err;
		return 0;
	}
	for (size_t i = 0; i < 6; i++)
		w[i] = up_le64(buf + 8 * i);
	if (direct_call_target(env, w[0]) == start)
		return 0;
	/* Without an error code, then with one. */
	for (size_t skip = 0; skip < 2; skip++) {
		if (!iret_frame(regs, w + skip))
			continue;
		ret->fixup = UP_FIXUP_INTERRUPT;
		ret->pc = w[skip];
		ret->sp = w[skip + 3];
		ret->sp_exact = 1;
		ret->interrupted = 1;
		return 1;
	}
	return 0;
}

static struct up_error *leaf_caller(const struct up_regs *regs, const struct up_walk_env *env,
				    struct up_leaf_caller *ret)
{
	uint64_t cr4 = regs->x86_64.cr4, slot = 0, start = 0, ra = 0;
	struct up_error *err = NULL;
	uint8_t buf[8];

	ret->interrupted = 0;
	if (interrupt_frame(regs, env, ret, &err) || err)
		return err;
	ret->fixup = leaf_fixup(regs, env, &slot, &start);
	if (ret->fixup == UP_FIXUP_NONE)
		return NULL;
	if (x86_64_canonical(slot, cr4))
		err = env->read(env->read_ctx, slot, buf, sizeof(buf));
	if (!err && x86_64_canonical(slot, cr4))
		ra = up_le64(buf);
	/* An unreadable slot only means no caller from the stack. */
	if (err && !up_error_catch(&err, UP_ERR_FAULT))
		return err;
	/*
	 * Only a value that follows a call in known code of another function counts as the
	 * caller (one pointing into the leaf's own function is stale).
	 */
	if (!ra || !x86_64_canonical(ra, cr4) || !after_call(env, ra) ||
	    !env->func_start(env->code_ctx, ra - 1) ||
	    env->func_start(env->code_ctx, ra - 1) == start) {
		ret->fixup = UP_FIXUP_NONE;
		return NULL;
	}
	ret->pc = ra;
	ret->sp = slot + 8;
	/* A frameless leaf may have moved rsp after its first instruction. */
	ret->sp_exact = ret->fixup != UP_FIXUP_FRAMELESS;
	return NULL;
}

const struct up_record_rules x86_64_records = {
	.arch = &up_arch_x86_64,
	.valid_fp = valid_fp,
	.clean_ra = clean_ra,
	.leaf_caller = leaf_caller,
};

struct up_error *x86_64_walk_frames(const struct up_regs *regs, const struct up_walk_env *env,
				    uint64_t *pcs, size_t max, struct up_walk *ret)
{
	return up_fp_walk(&x86_64_records, regs, env, pcs, max, ret);
}
