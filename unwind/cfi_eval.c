/*
 * Applying one evaluated CFI row: the caller's registers from the callee's and guest memory.
 * Pure but for the reads, so it is unit-tested and fuzzed over hand-made rows.
 */
#include <string.h>

#include "../arch/frame_records.h"
#include "../util/bytes.h"
#include "cfi.h"

/* Saved registers a row points at are read in one go when they lie this close together. */
#define SAVE_AREA_MAX 256

static int known(const struct up_regs *regs, unsigned int n)
{
	return n < UP_MAX_GPRS && (regs->gpr_valid >> n) & 1;
}

/* The value of a named register for the caller: its gpr when known, else 0. */
static uint64_t named(const struct up_regs *regs, int n)
{
	return n >= 0 && known(regs, (unsigned int)n) ? regs->gpr[n] : 0;
}

/*
 * Read 8 bytes; -1 when they cannot be read, with *ret_err NULL for a fault (the end of the
 * walk) and the error for anything else.
 */
static int read_u64(const struct up_walk_env *env, uint64_t addr, uint64_t *ret,
		    struct up_error **ret_err)
{
	uint8_t b[8];
	struct up_error *err = env->read(env->read_ctx, addr, b, sizeof(b));

	if (err) {
		up_error_catch(&err, UP_ERR_FAULT);
		*ret_err = err;
		return -1;
	}
	*ret = up_le64(b);
	return 0;
}

struct up_error *up_cfi_apply(const struct up_cfi_row *row, const struct up_arch *arch,
			      const struct up_walk_env *env, struct up_regs *regs,
			      struct up_cfi_step *ret)
{
	unsigned int nr = arch->nr_gprs < UP_MAX_GPRS ? arch->nr_gprs : UP_MAX_GPRS;
	uint64_t addr[UP_MAX_GPRS], lo = UINT64_MAX, hi = 0, cfa, ra;
	uint64_t in_memory = 0;   /* registers to read, bit per register */
	uint8_t area[SAVE_AREA_MAX];
	struct up_regs next;
	struct up_error *err = NULL;
	int one_read, sp = arch->gpr_sp;

	ret->stepped = 0;
	ret->exact = 0;
	ret->may_switch = 0;
	if (row->status == UP_CFI_ROOT) {
		ret->stop = UP_WALK_END;
		return NULL;
	}
	if (row->status != UP_CFI_OK || !known(regs, row->cfa_reg) || row->ra_reg >= nr) {
		ret->stop = UP_WALK_NO_RULE;
		return NULL;
	}
	cfa = regs->gpr[row->cfa_reg] + (uint64_t)(int64_t)row->cfa_offset;
	if (row->cfa_deref && read_u64(env, cfa, &cfa, &err)) {
		ret->stop = UP_WALK_FAULT;
		return err;
	}
	/* Where each saved register is: from the CFA, or from another register. */
	for (unsigned int r = 0; r < nr; r++) {
		if (row->rule[r] == UP_CFI_OFFSET) {
			addr[r] = cfa + (uint64_t)(int64_t)row->value[r];
		} else if (row->rule[r] == UP_CFI_EXPR && known(regs, row->base[r])) {
			addr[r] = regs->gpr[row->base[r]] + (uint64_t)(int64_t)row->value[r];
		} else {
			continue;
		}
		in_memory |= 1ULL << r;
		if (addr[r] < lo)
			lo = addr[r];
		if (addr[r] > hi)
			hi = addr[r];
	}
	/* One read for the whole save area when it is small, as it nearly always is. */
	one_read = in_memory && hi - lo <= SAVE_AREA_MAX - 8 && hi + 8 > hi;
	if (one_read) {
		err = env->read(env->read_ctx, lo, area, (size_t)(hi + 8 - lo));
		if (err) {
			ret->stop = UP_WALK_FAULT;
			up_error_catch(&err, UP_ERR_FAULT);
			return err;
		}
	}
	next = *regs;
	next.gpr_valid = 0;
	for (unsigned int r = 0; r < nr; r++) {
		int64_t v = row->value[r];
		uint64_t value;

		if ((in_memory >> r) & 1) {
			if (one_read) {
				value = up_le64(area + (addr[r] - lo));
			} else if (read_u64(env, addr[r], &value, &err)) {
				ret->stop = UP_WALK_FAULT;
				return err;
			}
			up_regs_set_gpr(&next, r, value);
			continue;
		}
		switch (row->rule[r]) {
		case UP_CFI_SAME:
			if (known(regs, r))
				up_regs_set_gpr(&next, r, regs->gpr[r]);
			break;
		case UP_CFI_VAL_OFFSET:
			up_regs_set_gpr(&next, r, cfa + (uint64_t)v);
			break;
		case UP_CFI_REGISTER:
			if (v >= 0 && known(regs, (unsigned int)v))
				up_regs_set_gpr(&next, r, regs->gpr[v]);
			break;
		case UP_CFI_VAL_EXPR:
			if (known(regs, row->base[r]))
				up_regs_set_gpr(&next, r, regs->gpr[row->base[r]] + (uint64_t)v);
			break;
		default:
			break;
		}
	}
	/* The CFA is the caller's stack pointer unless a rule says otherwise. */
	if (sp >= 0) {
		uint8_t rule = row->rule[sp];

		if (rule == UP_CFI_SAME || rule == UP_CFI_UNDEFINED || rule == UP_CFI_UNSUPPORTED)
			up_regs_set_gpr(&next, (unsigned int)sp, cfa);
		/* A stack pointer saved by the frame, not its size, may lead to another stack. */
		ret->may_switch = row->cfa_deref || rule == UP_CFI_OFFSET || rule == UP_CFI_EXPR ||
				  rule == UP_CFI_REGISTER || rule == UP_CFI_VAL_EXPR;
	}
	if (!known(&next, row->ra_reg)) {
		ret->stop = UP_WALK_NO_RULE;
		return NULL;
	}
	ra = next.gpr[row->ra_reg];
	/* A zero return address is how a stack's first frame says there is no caller. */
	if (!ra) {
		ret->stop = UP_WALK_END;
		return NULL;
	}
	if (!arch->records->clean_ra(regs, &ra)) {
		ret->stop = UP_WALK_BAD_ADDRESS;
		return NULL;
	}
	if (arch->gpr_pc >= 0)
		up_regs_set_gpr(&next, (unsigned int)arch->gpr_pc, ra);
	next.pc = ra;
	next.sp = named(&next, arch->gpr_sp);
	next.fp = named(&next, arch->gpr_fp);
	next.lr = named(&next, arch->gpr_lr);
	*regs = next;
	ret->stepped = 1;
	ret->exact = row->signal;
	return NULL;
}
