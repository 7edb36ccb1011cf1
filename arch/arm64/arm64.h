/* AArch64 guest support: register decoding, the frame-record walker, the page-table walker. */
#ifndef UP_ARCH_ARM64_H
#define UP_ARCH_ARM64_H

#include "../arch.h"
#include "../frame_records.h"

/* DWARF register numbers (AArch64 DWARF ABI): x0-x30 are 0-30. */
enum {
	ARM64_X29 = 29,
	ARM64_X30 = 30,
	ARM64_SP = 31,
	ARM64_PC = 32,
	ARM64_NR_GPRS
};

struct up_error *arm64_regs_from_gdb(const uint8_t *g, size_t len, struct up_regs *ret);

/* The frame-record rules and leaf fixups of this architecture. */
extern const struct up_record_rules arm64_records;

/*
 * Bytes from VBAR_EL1 whose code runs before the interrupted context is saved: the vector
 * table (0x800) and the exception entry code after it (Linux's el1h_64_irq, el0t_64_sync...
 * and ret_to_user: 6.1 puts them within 0x1a00 bytes).
 */
#define ARM64_EXCEPTION_WINDOW 0x2000

/* exception_context of struct up_arch: the context an exception being taken interrupted. */
int arm64_exception_context(const struct up_regs *regs, struct up_regs *ret);

struct up_error *arm64_walk_frames(const struct up_regs *regs, const struct up_walk_env *env,
				   uint64_t *pcs, size_t max, struct up_walk *ret);

/* Translate vaddr through TTBR0/TTBR1 as TCR_EL1 configures them; see struct up_arch. */
struct up_error *arm64_translate(const struct up_regs *regs, uint64_t vaddr,
				 up_read_phys_fn *read_phys, void *ctx,
				 struct up_translation *ret);

#endif
