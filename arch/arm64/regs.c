/* AArch64 registers: QEMU's gdbstub 'g' layout and the system registers read with 'p'. */
#include <stddef.h>
#include <string.h>

#include "../../util/bytes.h"
#include "arm64.h"

/* 'g': x0-x30, sp, pc (8 bytes each), then cpsr (4), little-endian. */
enum {
	G_X29 = 29 * 8,
	G_X30 = 30 * 8,
	G_SP = 31 * 8,
	G_PC = 32 * 8,
	G_CPSR = 33 * 8,
	G_END = G_CPSR + 4,
};

struct up_error *arm64_regs_from_gdb(const uint8_t *g, size_t len, struct up_regs *ret)
{
	if (len < G_END)
		return up_error_create(UP_ERR_PROTOCOL,
				       "aarch64 register packet is %zu bytes, expected at least %d",
				       len, (int)G_END);
	memset(ret, 0, sizeof(*ret));
	/* x0-x30, sp, pc: the DWARF order. */
	for (int i = 0; i < ARM64_NR_GPRS; i++)
		up_regs_set_gpr(ret, i, up_get_le(g + 8 * i, 8));
	ret->fp = up_get_le(g + G_X29, 8);
	ret->lr = up_get_le(g + G_X30, 8);
	ret->sp = up_get_le(g + G_SP, 8);
	ret->pc = up_get_le(g + G_PC, 8);
	ret->arm64.cpsr = up_get_le(g + G_CPSR, 4);
	/* M[3:0] = 0: EL0t (AArch64 user); an AArch32 user mode is 0x10 and up. */
	ret->user = (ret->arm64.cpsr & 0xf) == 0;
	return NULL;
}

/*
 * TCR_EL1 first: the frame walker needs its address sizes to strip pointer authentication
 * codes.  SP_EL0 second: Linux's `current` while in EL1 (task attribution; a 'p' more in the
 * sample's one round trip).  The others only matter to translate.  QEMU names SCTLR_EL1 "SCTLR" in its
 * system-register feature.
 */
static const char *const sysregs[] = {
	"TCR_EL1",
	"SP_EL0",
	"TTBR0_EL1",
	"TTBR1_EL1",
	"SCTLR_EL1|SCTLR",
	NULL,
};

static void arm64_set_sysreg(struct up_regs *regs, size_t i, uint64_t value)
{
	switch (i) {
	case 0:
		regs->arm64.tcr = value;
		break;
	case 1:
		regs->arm64.sp_el0 = value;
		break;
	case 2:
		regs->arm64.ttbr0 = value;
		break;
	case 3:
		regs->arm64.ttbr1 = value;
		break;
	case 4:
		regs->arm64.sctlr = value;
		break;
	}
}

/* The exception state, for a pc on the vectors.  QEMU names VBAR_EL1 "VBAR". */
static const char *const exception_sysregs[] = {
	"VBAR_EL1|VBAR",
	"ELR_EL1",
	"SPSR_EL1",
	NULL,
};

static void arm64_set_exception_sysreg(struct up_regs *regs, size_t i, uint64_t value)
{
	switch (i) {
	case 0:
		regs->arm64.vbar = value;
		break;
	case 1:
		regs->arm64.elr = value;
		break;
	case 2:
		regs->arm64.spsr = value;
		break;
	}
}

static uint64_t arm64_vector_base(const struct up_regs *regs)
{
	return regs->arm64.vbar;
}

const struct up_arch up_arch_arm64 = {
	.name = "aarch64",
	.gdb_g_size = G_END,
	.nr_gprs = ARM64_NR_GPRS,
	.gpr_pc = ARM64_PC,
	.gpr_sp = ARM64_SP,
	.gpr_fp = ARM64_X29,
	.gpr_lr = ARM64_X30,
	.gdb_sysregs = sysregs,
	.gdb_walk_sysregs = 2,
	.set_sysreg = arm64_set_sysreg,
	.gdb_exception_sysregs = exception_sysregs,
	.set_exception_sysreg = arm64_set_exception_sysreg,
	.exception_window = ARM64_EXCEPTION_WINDOW,
	.regs_from_gdb = arm64_regs_from_gdb,
	.walk_frames = arm64_walk_frames,
	.vector_base = arm64_vector_base,
	.exception_context = arm64_exception_context,
	.records = &arm64_records,
	.translate = arm64_translate,
};
