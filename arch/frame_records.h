/*
 * The frame-record chain both architectures share: the frame pointer points at
 * [saved frame pointer, return address], 16 bytes, and each older record lies higher on the
 * stack.  Arch code says what a valid frame pointer is, how to clean a return address, and how
 * to find the caller of a leaf that has no record of its own (yet).
 *
 * A walk is a series of steps, each from one frame's registers to its caller's, so that an
 * unwinder can take a frame-pointer step for one frame and another method for the next.
 */
#ifndef UP_ARCH_FRAME_RECORDS_H
#define UP_ARCH_FRAME_RECORDS_H

#include "arch.h"

/* The caller of a leaf found without its frame record. */
struct up_leaf_caller {
	enum up_walk_fixup fixup;  /* UP_FIXUP_NONE: use the record at the frame pointer */
	uint64_t pc;               /* the return address (or, exact, the interrupted pc) */
	uint64_t sp;               /* the caller's stack pointer, or a lower bound of it */
	int sp_exact;              /* sp is exactly the caller's */
	/*
	 * An interrupted context rather than a caller (UP_FIXUP_INTERRUPT): pc is exact, every
	 * other register is the interrupted one, and sp may lie on another stack.
	 */
	int interrupted;
	uint64_t lr;               /* interrupted: its link register, when lr_valid */
	int lr_valid;
	uint64_t fp;               /* interrupted: its frame pointer when fp_valid, else the leaf's */
	int fp_valid;
	/* The leaf is the kernel's outermost frame (entry code from user mode): the walk ends. */
	int root;
};

struct up_record_rules {
	const struct up_arch *arch;   /* for the DWARF numbers of pc, sp, fp and lr */
	/* Whether a frame pointer may be read: aligned and canonical for the paging mode. */
	int (*valid_fp)(const struct up_regs *regs, uint64_t fp);
	/* Clean a return address in place (e.g. strip a PAC); 0 when it cannot be one. */
	int (*clean_ra)(const struct up_regs *regs, uint64_t *ret_ra);
	/*
	 * For a frame whose registers are the interrupted state: when the code oracle shows that
	 * its own record is not in place (prologue, epilogue, a leaf without one), its caller
	 * (the fixup says how it was found); else ret->fixup = UP_FIXUP_NONE.  A read that fails
	 * with a fault only means no fixup; another failure is returned.
	 */
	struct up_error *(*leaf_caller)(const struct up_regs *regs, const struct up_walk_env *env,
					struct up_leaf_caller *ret);
	/*
	 * For the record at fp ([next_fp, ra], ra cleaned) reached from the frame in regs (whose
	 * pc is a return address): when the record is the one an exception entry stored in the
	 * registers it saved (arm64's pt_regs), the interrupted context in *ret (interrupted set:
	 * pc exact, sp, and lr when known); else ret->interrupted = 0.  Faults only mean no; other
	 * read failures are returned.  May be NULL.
	 */
	struct up_error *(*exception_record)(const struct up_regs *regs,
					     const struct up_walk_env *env, uint64_t fp,
					     uint64_t next_fp, uint64_t ra,
					     struct up_leaf_caller *ret);
};

/* How one frame-pointer step ended. */
struct up_fp_step {
	int stepped;             /* *regs now holds the caller */
	enum up_walk_stop stop;  /* when not stepped: why (UP_WALK_END: a root) */
	enum up_walk_fixup fixup;
	int interrupted;         /* the caller is an interrupted context: exact pc, maybe another stack */
};

/*
 * One step from the frame in *regs to its caller, in place.  exact: regs are the frame's
 * interrupted state (the leaf), so its pc is not a return address and a leaf fixup may apply.
 * *from_record says regs->fp came out of a frame record (a chain is under way), and is set for
 * the caller.  The caller gets pc, sp (the record's end, or the fixup's) and fp; of its general
 * registers only those known stay valid.  A fault is a stop (UP_WALK_FAULT), not a failure;
 * another read error is returned with ret->stop = UP_WALK_FAULT.
 */
struct up_error *up_fp_step(const struct up_record_rules *rules, const struct up_walk_env *env,
			    int exact, struct up_regs *regs, int *from_record,
			    struct up_fp_step *ret);

/*
 * A whole walk by frame-pointer steps: walk_frames of struct up_arch.  An interrupted context
 * (UP_FIXUP_INTERRUPT) is walked like a leaf, at most UP_MAX_INTERRUPTS times.
 */
#define UP_MAX_INTERRUPTS 4

struct up_error *up_fp_walk(const struct up_record_rules *rules, const struct up_regs *regs,
			    const struct up_walk_env *env, uint64_t *pcs, size_t max,
			    struct up_walk *ret);

#endif
