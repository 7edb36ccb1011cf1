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

struct up_error *up_cfi_apply(const struct up_cfi_row *row, const struct up_arch *arch,
			      const struct up_walk_env *env, struct up_regs *regs,
			      struct up_cfi_step *ret)
{
	uint8_t area[SAVE_AREA_MAX];
	int64_t lo = INT64_MAX, hi = INT64_MIN;
	unsigned int nr = arch->nr_gprs < UP_MAX_GPRS ? arch->nr_gprs : UP_MAX_GPRS;
	struct up_regs next;
	struct up_error *err;
	uint64_t cfa, ra;
	int in_area;

	ret->stepped = 0;
	ret->exact = 0;
	if (row->status == UP_CFI_ROOT) {
		ret->stop = UP_WALK_END;
		return NULL;
	}
	if (row->status != UP_CFI_OK || !known(regs, row->cfa_reg) || row->ra_reg >= nr) {
		ret->stop = UP_WALK_NO_RULE;
		return NULL;
	}
	cfa = regs->gpr[row->cfa_reg] + (uint64_t)(int64_t)row->cfa_offset;
	for (unsigned int r = 0; r < nr; r++) {
		if (row->rule[r] != UP_CFI_OFFSET)
			continue;
		if (row->value[r] < lo)
			lo = row->value[r];
		if (row->value[r] > hi)
			hi = row->value[r];
	}
	/* One read for the whole save area when it is small, as it nearly always is. */
	in_area = lo <= hi && hi - lo <= SAVE_AREA_MAX - 8;
	if (in_area) {
		err = env->read(env->read_ctx, cfa + (uint64_t)lo, area, (size_t)(hi + 8 - lo));
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

		switch (row->rule[r]) {
		case UP_CFI_SAME:
			if (known(regs, r))
				up_regs_set_gpr(&next, r, regs->gpr[r]);
			break;
		case UP_CFI_OFFSET:
			if (in_area) {
				up_regs_set_gpr(&next, r, up_le64(area + (v - lo)));
			} else {
				uint8_t slot[8];

				err = env->read(env->read_ctx, cfa + (uint64_t)v, slot, sizeof(slot));
				if (err) {
					ret->stop = UP_WALK_FAULT;
					up_error_catch(&err, UP_ERR_FAULT);
					return err;
				}
				up_regs_set_gpr(&next, r, up_le64(slot));
			}
			break;
		case UP_CFI_VAL_OFFSET:
			up_regs_set_gpr(&next, r, cfa + (uint64_t)v);
			break;
		case UP_CFI_REGISTER:
			if (v >= 0 && known(regs, (unsigned int)v))
				up_regs_set_gpr(&next, r, regs->gpr[v]);
			break;
		default:
			break;
		}
	}
	/* The CFA is the caller's stack pointer unless a rule says otherwise. */
	if (arch->gpr_sp >= 0 && (row->rule[arch->gpr_sp] == UP_CFI_SAME ||
				  row->rule[arch->gpr_sp] == UP_CFI_UNDEFINED))
		up_regs_set_gpr(&next, (unsigned int)arch->gpr_sp, cfa);
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
