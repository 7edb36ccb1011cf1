/*
 * vCPU state on an arm64 host, whose guests are all arm64 (Xen on Arm runs them with stage-2
 * translation: their page tables hold guest frames, which is what we map).
 *
 * xc_vcpu_getcontext gives the core registers and the EL1 MMU state Xen saved for the vCPU:
 * SCTLR_EL1, TCR_EL1 (Xen's "ttbcr") and both TTBRs.  The context is under a page, so its
 * hypercall bounce buffer is one that libxencall caches.  The stack pointer is the one PSTATE
 * selects: SP_EL1 in EL1h, SP_EL0 in EL1t and EL0.  A vCPU in AArch32 state (a 32-bit guest,
 * or a 32-bit user task of a 64-bit one) is reported by its pc alone: our walker is AArch64's.
 */
#include <errno.h>
#include <string.h>

#include <xenctrl.h>

#include "xen.h"

#define ARM_PSR_MODE_MASK   0x1fULL
#define ARM_PSR_AARCH32     0x10ULL
#define ARM_PSR_MODE_EL1h   0x05ULL

unsigned long xen_vcpu_context_size(void)
{
	return sizeof(vcpu_guest_context_t);
}

static void regs_from_context(const vcpu_guest_context_t *c, struct up_regs *ret)
{
	const struct vcpu_guest_core_regs *r = &c->user_regs;
	uint64_t mode = r->cpsr & ARM_PSR_MODE_MASK;

	memset(ret, 0, sizeof(*ret));
	/* Down (or never started): a lone "0x0" frame, as for x86. */
	if (!(c->flags & VGCF_online))
		return;
	ret->pc = r->pc64;
	ret->arm64.cpsr = r->cpsr;
	ret->arm64.sctlr = c->sctlr;
	ret->arm64.tcr = c->ttbcr;
	ret->arm64.ttbr0 = c->ttbr0;
	ret->arm64.ttbr1 = c->ttbr1;
	if (r->cpsr & ARM_PSR_AARCH32)
		return;
	ret->sp = mode == ARM_PSR_MODE_EL1h ? r->sp_el1 : r->sp_el0;
	ret->fp = r->x29;
	ret->lr = r->x30;
}

struct up_error *xen_vcpu_get_regs(struct xc_interface_core *xch, uint32_t domid, int hvm,
				   unsigned int vcpu, void *ctx, struct up_regs *ret)
{
	vcpu_guest_context_t *c = ctx;

	(void)hvm;
	if (xc_vcpu_getcontext(xch, domid, vcpu, (vcpu_guest_context_any_t *)c))
		return xen_call_error(errno, domid, "reading a vCPU's context");
	regs_from_context(c, ret);
	return NULL;
}

struct up_error *xen_guest_arch(struct xc_interface_core *xch, uint32_t domid, int hvm,
				const struct up_arch **ret)
{
	(void)xch; (void)domid; (void)hvm;
	*ret = &up_arch_arm64;
	return NULL;
}
