/*
 * Unwinders: from a vCPU's registers to the stack of return addresses, each frame by some
 * method.  One interface, several implementations (unwind/registry.c lists them):
 *
 *   fp    frame-pointer records (arch/frame_records.c) with the arch's leaf fixups;
 *   cfi   DWARF call-frame information of the symbol files (cfi.h);
 *   auto  per frame: CFI where the frame's pc has usable CFI, frame pointers otherwise;
 *   orc   Linux's own ORC tables (orc.h), read from the guest: x86_64 Linux kernels.
 *
 * Every walk is bounded (the depth cap, a stack that must grow, at most UP_MAX_STACK_SWITCHES
 * moves to another stack, each where a frame's unwind rules say where it saved the interrupted
 * stack pointer) and says why it ended (enum up_walk_stop), so truncation is counted honestly.
 */
#ifndef UP_UNWIND_UNWINDER_H
#define UP_UNWIND_UNWINDER_H

#include <stddef.h>
#include <stdint.h>

#include "../arch/arch.h"
#include "cfi.h"
#include "orc.h"

/*
 * Moves to another stack one walk may make: where an interrupt or signal frame says the
 * interrupted context ran on a stack below the current one.
 */
#define UP_MAX_STACK_SWITCHES 4

/* What an unwinder may use.  walk.read and arch are required. */
struct up_unwind_env {
	/* Guest memory, the code oracle and the root oracle, as the arch walkers take them. */
	struct up_walk_env walk;
	const struct up_arch *arch;
	/*
	 * The CFI rules at a code address (see up_cfi_lookup: never NULL, status UP_CFI_NONE
	 * when no table covers it; valid until the next call).  May be NULL: no tables.
	 */
	const struct up_cfi_row *(*cfi_lookup)(void *cfi_ctx, uint64_t addr);
	void *cfi_ctx;
	/* Linux's ORC tables, read once from the guest (orc.h).  May be NULL: none found. */
	const struct up_orc *orc;
};

struct up_unwinder {
	const char *name;
	/*
	 * Walk the stack from regs (the vCPU's interrupted state).  Same contract as
	 * walk_frames in struct up_arch: at most max addresses in pcs, the leaf's pc first;
	 * an unreadable or implausible frame ends the walk (ret->stop says why) and is not a
	 * failure; a read that fails otherwise is returned, with *ret filled as far as the walk
	 * got.  max must be at least 1.
	 */
	struct up_error *(*walk)(const struct up_unwind_env *env, const struct up_regs *regs,
				 uint64_t *pcs, size_t max, struct up_walk *ret);
};

extern const struct up_unwinder up_unwinder_fp;
extern const struct up_unwinder up_unwinder_cfi;
extern const struct up_unwinder up_unwinder_auto;
extern const struct up_unwinder up_unwinder_orc;

/* The unwinder called name ("fp", "cfi", "auto", "orc"), or NULL. */
const struct up_unwinder *up_unwinder_find(const char *name);

/* The names, for messages: "fp, cfi, auto or orc". */
const char *up_unwinder_names(void);

#endif
