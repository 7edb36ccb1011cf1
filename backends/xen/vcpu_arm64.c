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

#include "regs.h"
#include "xen.h"

unsigned long xen_vcpu_context_size(void)
{
	return sizeof(vcpu_guest_context_t);
}

struct up_error *xen_vcpu_get_regs(struct xc_interface_core *xch, uint32_t domid, int hvm,
				   unsigned int vcpu, void *ctx, struct up_regs *ret)
{
	vcpu_guest_context_t *c = ctx;

	(void)hvm;
	if (xc_vcpu_getcontext(xch, domid, vcpu, (vcpu_guest_context_any_t *)c))
		return xen_call_error(errno, domid, "reading a vCPU's context");
	/* The host's own layout is the foreign arm64 one. */
	xen_regs_from_arm64((const struct vcpu_guest_context_arm64 *)c, ret);
	return NULL;
}

struct up_error *xen_guest_arch(struct xc_interface_core *xch, uint32_t domid, int hvm,
				const struct up_arch **ret)
{
	(void)xch; (void)domid; (void)hvm;
	*ret = &up_arch_arm64;
	return NULL;
}
