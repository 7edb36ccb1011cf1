/*
 * DWARF call-frame information (CFI) of the symbol files, through elfutils libdw.
 *
 * For a code address, CFI says how to find the caller's registers: the canonical frame address
 * (CFA) as a register plus an offset, and for each register a rule (same value, undefined,
 * saved at CFA + N, equal to CFA + N, in another register).  libdw takes the target
 * architecture from each ELF file, so an arm64 guest's tables are read on an x86_64 host.
 *
 * Each address's rules are evaluated once, into a row of plain numbers, and cached by address:
 * a walk costs a hash probe per frame and the guest-memory reads the rules ask for.
 */
#ifndef UP_UNWIND_CFI_H
#define UP_UNWIND_CFI_H

#include <stdint.h>

#include "../arch/arch.h"

/* What a row says about one register of the caller. */
enum up_cfi_rule {
	UP_CFI_SAME,         /* unchanged: the callee's value */
	UP_CFI_UNDEFINED,    /* not recoverable */
	UP_CFI_OFFSET,       /* saved in memory at CFA + value */
	UP_CFI_VAL_OFFSET,   /* equal to CFA + value */
	UP_CFI_REGISTER,     /* equal to the callee's register value */
	UP_CFI_EXPR,         /* saved in memory at gpr[base] + value (DW_CFA_expression) */
	UP_CFI_VAL_EXPR,     /* equal to gpr[base] + value (DW_CFA_val_expression) */
	UP_CFI_UNSUPPORTED,  /* a DWARF expression we do not evaluate: unknown */
};

/* What a row says about the frame as a whole. */
enum up_cfi_status {
	UP_CFI_NONE,         /* no table covers the address */
	UP_CFI_OK,           /* the rules below apply */
	UP_CFI_ROOT,         /* the return address is undefined: the outermost frame */
	UP_CFI_NO_CFA,       /* the CFA or the return address needs what we do not evaluate */
};

/*
 * The evaluated rules at one code address.  Of DWARF expressions only the forms entry and
 * signal-return code uses are kept: a register plus an offset (the address of a saved
 * register, or a value), and for the CFA that address dereferenced (the interrupted stack
 * pointer saved in a signal frame).
 */
struct up_cfi_row {
	uint64_t addr;           /* the runtime address looked up */
	uint8_t status;          /* enum up_cfi_status */
	uint8_t cfa_reg;         /* CFA = gpr[cfa_reg] + cfa_offset ... */
	uint8_t cfa_deref;       /* ... or the 8 bytes at that address */
	uint8_t ra_reg;          /* the column holding the return address */
	uint8_t signal;          /* a signal frame: the caller's pc is exact, not a return address */
	int32_t cfa_offset;
	uint8_t rule[UP_MAX_GPRS];   /* enum up_cfi_rule per DWARF register */
	uint8_t base[UP_MAX_GPRS];   /* the register of UP_CFI_EXPR and UP_CFI_VAL_EXPR */
	int32_t value[UP_MAX_GPRS];
};

struct up_cfi;

/* An empty set of tables for guest architecture arch. */
struct up_error *up_cfi_create(const struct up_arch *arch, struct up_cfi **ret);

/* Free cfi; NULL is a no-op. */
void up_cfi_destroy(struct up_cfi *cfi);

/* Which tables a file has. */
#define UP_CFI_EH_FRAME     1u
#define UP_CFI_DEBUG_FRAME  2u

/*
 * Add the unwind tables (.eh_frame, .debug_frame) of the ELF file at path, whose code runs at
 * its link address + slide.  *ret_tables says which it has; a file with none, or an ELF file
 * of another architecture, adds nothing (0) and is not an error.  Fails when path cannot be
 * read.
 */
struct up_error *up_cfi_add_file(struct up_cfi *cfi, const char *path, int64_t slide,
				 unsigned int *ret_tables);

/*
 * The rules at runtime address addr (a leaf's pc; for a caller, its return address - 1).
 * Never NULL: a row with status UP_CFI_NONE when no table covers addr.  The row stays valid
 * until the next lookup.  A lookup not in the cache asks libdw once.
 */
const struct up_cfi_row *up_cfi_lookup(struct up_cfi *cfi, uint64_t addr);

/* up_cfi_lookup as a callback: ctx is the struct up_cfi. */
const struct up_cfi_row *up_cfi_lookup_fn(void *ctx, uint64_t addr);

/* Whether the tables mark addr as outermost (UP_CFI_ROOT); a root oracle for the walkers. */
int up_cfi_is_root(void *ctx, uint64_t addr);

struct up_cfi_stats {
	uint64_t lookups;        /* up_cfi_lookup calls */
	uint64_t evaluated;      /* of which asked libdw (not cached) */
};

void up_cfi_stats(const struct up_cfi *cfi, struct up_cfi_stats *ret);

/* How applying a row ended. */
struct up_cfi_step {
	int stepped;             /* *regs now holds the caller */
	enum up_walk_stop stop;  /* when not stepped: why (UP_WALK_END: a root) */
	int exact;               /* the caller's pc is exact (after a signal frame) */
	/*
	 * The caller's stack pointer came from where the frame saved it (a signal or interrupt
	 * frame: the CFA loaded from memory, or a rule for the stack pointer), not from the
	 * frame's own size: the caller may run on another stack.
	 */
	int may_switch;
};

/*
 * Apply row (status UP_CFI_OK or UP_CFI_ROOT) to the frame in *regs: the caller's registers,
 * in place, reading saved registers through env->read.  Registers the rules cannot recover are
 * left unknown in gpr_valid.  A root, a zero return address, a register the CFA or the return
 * address needs but that is unknown, an unreadable save slot (UP_ERR_FAULT) or a return
 * address that cannot be one end the walk with ret->stop; another read error is returned.
 */
struct up_error *up_cfi_apply(const struct up_cfi_row *row, const struct up_arch *arch,
			      const struct up_walk_env *env, struct up_regs *regs,
			      struct up_cfi_step *ret);

#endif
