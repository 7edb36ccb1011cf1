/* x86_64 guest support: register decoding and the frame-pointer walker. */
#ifndef UP_ARCH_X86_64_H
#define UP_ARCH_X86_64_H

#include "../arch.h"
#include "../frame_records.h"

/* CR4.LA57: 5-level paging, 57-bit virtual addresses. */
#define X86_CR4_LA57 (1ULL << 12)

/* DWARF register numbers (System V x86_64 psABI). */
enum {
	X86_64_RAX, X86_64_RDX, X86_64_RCX, X86_64_RBX, X86_64_RSI, X86_64_RDI, X86_64_RBP,
	X86_64_RSP, X86_64_R8, X86_64_R9, X86_64_R10, X86_64_R11, X86_64_R12, X86_64_R13,
	X86_64_R14, X86_64_R15, X86_64_RIP,
	X86_64_NR_GPRS
};

struct up_error *x86_64_regs_from_gdb(const uint8_t *g, size_t len, struct up_regs *ret);

/* The frame-record rules and leaf fixups of this architecture. */
extern const struct up_record_rules x86_64_records;

struct up_error *x86_64_walk_frames(const struct up_regs *regs, const struct up_walk_env *env,
				    uint64_t *pcs, size_t max, struct up_walk *ret);

/* Translate vaddr through the guest's 4- or 5-level page tables; see struct up_arch. */
struct up_error *x86_64_translate(const struct up_regs *regs, uint64_t vaddr,
				  up_read_phys_fn *read_phys, void *ctx,
				  struct up_translation *ret);

/* Whether addr is canonical for the paging mode cr4 selects (48- or 57-bit addresses). */
int x86_64_canonical(uint64_t addr, uint64_t cr4);

#endif
