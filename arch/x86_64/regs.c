/* x86_64 registers as QEMU's gdbstub lays them out in a 'g' reply. */
#include <string.h>

#include "../../util/bytes.h"
#include "x86_64.h"

/* Byte offsets in the 'g' reply (QEMU's i386:x86-64 layout, little-endian). */
enum {
	G_RBP = 6 * 8,
	G_RSP = 7 * 8,
	G_RIP = 16 * 8,
	/* rip is followed by eflags and six 4-byte segment selectors, then three 8-byte bases */
	G_CS = 16 * 8 + 8 + 4,
	G_GS_BASE = G_CS + 6 * 4 + 8,
	G_KERNEL_GS_BASE = G_GS_BASE + 8,
	G_CR0 = 16 * 8 + 8 + 4 + 6 * 4 + 3 * 8,
	G_CR3 = G_CR0 + 2 * 8,
	G_CR4 = G_CR0 + 3 * 8,
	G_EFER = G_CR0 + 5 * 8,
	G_END = G_EFER + 8,
};

struct up_error *x86_64_regs_from_gdb(const uint8_t *g, size_t len, struct up_regs *ret)
{
	if (len < G_END)
		return up_error_create(UP_ERR_PROTOCOL,
				       "x86_64 register packet is %zu bytes, expected at least %d",
				       len, (int)G_END);
	/* 'g' order: rax rbx rcx rdx rsi rdi rbp rsp r8-r15, then rip. */
	static const uint8_t dwarf[16] = {
		X86_64_RAX, X86_64_RBX, X86_64_RCX, X86_64_RDX, X86_64_RSI, X86_64_RDI, X86_64_RBP,
		X86_64_RSP, X86_64_R8, X86_64_R9, X86_64_R10, X86_64_R11, X86_64_R12, X86_64_R13,
		X86_64_R14, X86_64_R15,
	};

	memset(ret, 0, sizeof(*ret));
	for (int i = 0; i < 16; i++)
		up_regs_set_gpr(ret, dwarf[i], up_le64(g + 8 * i));
	up_regs_set_gpr(ret, X86_64_RIP, up_le64(g + G_RIP));
	ret->fp = up_le64(g + G_RBP);
	ret->sp = up_le64(g + G_RSP);
	ret->pc = up_le64(g + G_RIP);
	ret->x86_64.cr0 = up_le64(g + G_CR0);
	ret->x86_64.cr3 = up_le64(g + G_CR3);
	ret->x86_64.cr4 = up_le64(g + G_CR4);
	ret->x86_64.efer = up_le64(g + G_EFER);
	ret->x86_64.gs_base = up_le64(g + G_GS_BASE);
	ret->x86_64.kernel_gs_base = up_le64(g + G_KERNEL_GS_BASE);
	/* The CPL is CS's low bits in protected mode only (real mode's CS is a plain segment). */
	ret->user = (ret->x86_64.cr0 & 1) && (up_le32(g + G_CS) & 3) == 3;
	return NULL;
}

const struct up_arch up_arch_x86_64 = {
	.name = "x86_64",
	.gdb_g_size = G_END,
	.nr_gprs = X86_64_NR_GPRS,
	.gpr_pc = X86_64_RIP,
	.gpr_sp = X86_64_RSP,
	.gpr_fp = X86_64_RBP,
	.gpr_lr = -1,
	.regs_from_gdb = x86_64_regs_from_gdb,
	.walk_frames = x86_64_walk_frames,
	.records = &x86_64_records,
	.translate = x86_64_translate,
};
