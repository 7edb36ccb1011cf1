/*
 * Xen vCPU contexts to struct up_regs.  The layouts come from Xen's foreign headers
 * (xen/foreign/x86_64.h, arm64.h): the same structures as the host's own, named per guest architecture.
 */
#define __XEN_TOOLS__ 1
#include <stdint.h>
#include <string.h>

#include <xen/foreign/arm64.h>
#include <xen/foreign/x86_64.h>

#include "../../arch/arm64/arm64.h"
#include "../../arch/x86_64/x86_64.h"
#include "regs.h"

#define X86_CR0_PE      (1ULL << 0)
#define X86_CR0_PG      (1ULL << 31)
#define X86_CR4_PAE     (1ULL << 5)
#define X86_EFER_LME    (1ULL << 8)
#define X86_EFER_LMA    (1ULL << 10)
#define XEN_PAGE_SHIFT  12

#define ARM_PSR_MODE_MASK   0x1fULL
#define ARM_PSR_AARCH32     0x10ULL
#define ARM_PSR_MODE_EL1h   0x05ULL

void xen_regs_from_pv_x86_64(const struct vcpu_guest_context_x86_64 *c, struct up_regs *ret)
{
	const struct cpu_user_regs_x86_64 *r = &c->user_regs;
	uint64_t cr3 = c->ctrlreg[3];
	const uint64_t gprs[X86_64_NR_GPRS] = {
		[X86_64_RAX] = r->rax, [X86_64_RDX] = r->rdx, [X86_64_RCX] = r->rcx,
		[X86_64_RBX] = r->rbx, [X86_64_RSI] = r->rsi, [X86_64_RDI] = r->rdi,
		[X86_64_RBP] = r->rbp, [X86_64_RSP] = r->rsp, [X86_64_R8] = r->r8,
		[X86_64_R9] = r->r9, [X86_64_R10] = r->r10, [X86_64_R11] = r->r11,
		[X86_64_R12] = r->r12, [X86_64_R13] = r->r13, [X86_64_R14] = r->r14,
		[X86_64_R15] = r->r15, [X86_64_RIP] = r->rip,
	};

	memset(ret, 0, sizeof(*ret));
	/*
	 * A vCPU that is down has no state worth walking (a never started one is all zeroes):
	 * report pc, sp and fp 0, so that its sample is a lone "0x0" frame.
	 */
	if (!(c->flags & VGCF_online_X86_64))
		return;
	/* A guest without a separate user page table (ours, a kernel-only one) leaves it 0. */
	if (!(c->flags & VGCF_in_kernel_X86_64) && c->ctrlreg[1])
		cr3 = c->ctrlreg[1];
	for (unsigned int i = 0; i < X86_64_NR_GPRS; i++)
		up_regs_set_gpr(ret, i, gprs[i]);
	ret->pc = r->rip;
	ret->sp = r->rsp;
	ret->fp = r->rbp;
	/* Paging as Xen runs a 64-bit PV guest, whatever the virtual registers say. */
	ret->x86_64.cr0 = c->ctrlreg[0] | X86_CR0_PG | X86_CR0_PE;
	ret->x86_64.cr3 = xen_cr3_to_pfn_x86_64(cr3) << XEN_PAGE_SHIFT;
	ret->x86_64.cr4 = (c->ctrlreg[4] | X86_CR4_PAE) & ~X86_CR4_LA57;
	ret->x86_64.efer = X86_EFER_LME | X86_EFER_LMA;
	/* A PV kernel runs in ring 3 too: the mode is Xen's flag, not the CPL. */
	ret->user = !(c->flags & VGCF_in_kernel_X86_64);
	ret->x86_64.gs_base = ret->user ? c->gs_base_user : c->gs_base_kernel;
	ret->x86_64.kernel_gs_base = ret->user ? c->gs_base_kernel : c->gs_base_user;
	if (cr3 != c->ctrlreg[3])
		ret->x86_64.kernel_cr3 = xen_cr3_to_pfn_x86_64(c->ctrlreg[3]) << XEN_PAGE_SHIFT;
}

void xen_regs_from_arm64(const struct vcpu_guest_context_arm64 *c, struct up_regs *ret)
{
	const struct vcpu_guest_core_regs_arm64 *r = &c->user_regs;
	uint64_t mode = r->cpsr & ARM_PSR_MODE_MASK;
	const uint64_t x[31] = {
		r->x0, r->x1, r->x2, r->x3, r->x4, r->x5, r->x6, r->x7, r->x8, r->x9, r->x10,
		r->x11, r->x12, r->x13, r->x14, r->x15, r->x16, r->x17, r->x18, r->x19, r->x20,
		r->x21, r->x22, r->x23, r->x24, r->x25, r->x26, r->x27, r->x28, r->x29, r->x30,
	};

	memset(ret, 0, sizeof(*ret));
	/* Down (or never started): a lone "0x0" frame, as for x86. */
	if (!(c->flags & VGCF_online_ARM64))
		return;
	ret->pc = r->pc64;
	ret->arm64.cpsr = r->cpsr;
	ret->arm64.sctlr = c->sctlr;
	ret->arm64.tcr = c->ttbcr;
	ret->arm64.ttbr0 = c->ttbr0;
	ret->arm64.ttbr1 = c->ttbr1;
	/* Xen's context has no VBAR_EL1: the exception-entry rule stays off. */
	ret->arm64.elr = r->elr_el1;
	ret->arm64.spsr = r->spsr_el1;
	if (r->cpsr & ARM_PSR_AARCH32)
		return;
	for (unsigned int i = 0; i < 31; i++)
		up_regs_set_gpr(ret, i, x[i]);
	ret->sp = mode == ARM_PSR_MODE_EL1h ? r->sp_el1 : r->sp_el0;
	up_regs_set_gpr(ret, ARM64_SP, ret->sp);
	up_regs_set_gpr(ret, ARM64_PC, ret->pc);
	ret->fp = r->x29;
	ret->lr = r->x30;
	ret->arm64.sp_el0 = r->sp_el0;
	ret->user = (r->cpsr & 0xf) == 0;
}
