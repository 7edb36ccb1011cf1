/*
 * The frame-record chain both architectures share: the frame pointer points at
 * [saved frame pointer, return address], 16 bytes, and each older record lies higher on the
 * stack.  Arch code says what a valid frame pointer is and how to clean a return address.
 */
#ifndef UP_ARCH_FRAME_RECORDS_H
#define UP_ARCH_FRAME_RECORDS_H

#include "arch.h"

struct up_record_rules {
	/* Whether a frame pointer may be read: aligned and canonical for the paging mode. */
	int (*valid_fp)(const struct up_regs *regs, uint64_t fp);
	/* Clean a return address in place (e.g. strip a PAC); 0 when it cannot be one. */
	int (*clean_ra)(const struct up_regs *regs, uint64_t *ra);
};

/*
 * Follow the records from fp, appending return addresses to pcs[n..max).  Sets ret->depth
 * and ret->stop (see enum up_walk_stop); ret->fixup is left alone.  A first frame pointer
 * below regs->sp is not a frame of the running stack and is not followed.  A fault ends the
 * walk; another read error is returned (see walk_frames in struct up_arch).
 */
struct up_error *up_walk_records(const struct up_regs *regs, const struct up_walk_env *env, uint64_t fp,
		     const struct up_record_rules *rules, uint64_t *pcs, size_t n, size_t max,
				 struct up_walk *ret);

#endif
