/*
 * x86_64 frame-pointer walk.
 *
 * With frame pointers every function starts "push %rbp; mov %rsp,%rbp", so rbp points at a
 * frame record [saved rbp, return address] and the records form a list toward the outermost
 * caller, whose saved rbp is zero.  The stack grows down, so each older record lies at a higher
 * address: anything else is a loop or garbage and ends the walk.
 */
#include "x86_64.h"

int x86_64_canonical(uint64_t addr, uint64_t cr4)
{
	int bits = (cr4 & X86_CR4_LA57) ? 57 : 48;
	int64_t sext = (int64_t)(addr << (64 - bits)) >> (64 - bits);

	return (uint64_t)sext == addr;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void x86_64_walk_frames(const struct up_regs *regs, up_read_mem_fn *read, void *ctx,
			uint64_t *pcs, size_t max, struct up_walk *ret)
{
	uint64_t cr4 = regs->x86_64.cr4;
	uint64_t fp = regs->fp;
	size_t n = 0;

	pcs[n++] = regs->pc;
	for (;;) {
		uint8_t record[16];
		uint64_t next_fp, ra;
		struct up_error *err;

		if (!fp) {
			ret->stop = UP_WALK_END;
			break;
		}
		if (n == max) {
			ret->stop = UP_WALK_DEPTH;
			break;
		}
		if ((fp & 7) || !x86_64_canonical(fp, cr4) || !x86_64_canonical(fp + 15, cr4)) {
			ret->stop = UP_WALK_BAD_ADDRESS;
			break;
		}
		err = read(ctx, fp, record, sizeof(record));
		if (err) {
			up_error_destroy(err);
			ret->stop = UP_WALK_FAULT;
			break;
		}
		next_fp = le64(record);
		ra = le64(record + 8);
		if (!ra) {
			ret->stop = UP_WALK_END;
			break;
		}
		if (!x86_64_canonical(ra, cr4)) {
			ret->stop = UP_WALK_BAD_ADDRESS;
			break;
		}
		pcs[n++] = ra;
		if (next_fp && next_fp <= fp) {
			ret->stop = UP_WALK_NOT_GROWING;
			break;
		}
		fp = next_fp;
	}
	ret->depth = n;
}
