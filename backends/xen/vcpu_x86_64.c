/*
 * vCPU state on an x86_64 host: registers and paging state of a paused vCPU, for PV and
 * HVM/PVH x86_64 guests.
 *
 * PV: the vCPU context (xc_vcpu_getcontext).  A 64-bit PV guest always runs in long mode with
 * 4-level page tables that hold machine frames, which Xen keeps in ctrlreg[3] (kernel) and
 * ctrlreg[1] (user); the one in use is the kernel's when VGCF_in_kernel is set.
 *
 * HVM and PVH: the vCPU's CPU save record (xc_domain_hvm_getcontext_partial), which carries
 * rip/rsp/rbp and CR0/CR3/CR4/EFER as the guest set them; its page tables hold guest frames.
 * The record is ~1 KiB, so its hypercall bounce buffer is one page that libxencall caches,
 * where the PV context is two pages, bounced through a fresh mapping on every call.
 */
#include <errno.h>
#include <string.h>

#include <xenctrl.h>
#include <xen/hvm/save.h>

#include "xen.h"

#define X86_CR0_PE      (1ULL << 0)
#define X86_CR0_PG      (1ULL << 31)
#define X86_CR4_PAE     (1ULL << 5)
#define X86_CR4_LA57    (1ULL << 12)
#define X86_EFER_LME    (1ULL << 8)
#define X86_EFER_LMA    (1ULL << 10)

unsigned long xen_vcpu_context_size(void)
{
	size_t pv = sizeof(vcpu_guest_context_any_t), hvm = sizeof(struct hvm_hw_cpu);

	return pv > hvm ? pv : hvm;
}

static void regs_from_pv(const vcpu_guest_context_x86_64_t *c, struct up_regs *ret)
{
	uint64_t cr3 = c->ctrlreg[3];

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
	ret->pc = c->user_regs.rip;
	ret->sp = c->user_regs.rsp;
	ret->fp = c->user_regs.rbp;
	/* Paging as Xen runs a 64-bit PV guest, whatever the virtual registers say. */
	ret->x86_64.cr0 = c->ctrlreg[0] | X86_CR0_PG | X86_CR0_PE;
	ret->x86_64.cr3 = xen_cr3_to_pfn_x86_64(cr3) << XC_PAGE_SHIFT;
	ret->x86_64.cr4 = (c->ctrlreg[4] | X86_CR4_PAE) & ~X86_CR4_LA57;
	ret->x86_64.efer = X86_EFER_LME | X86_EFER_LMA;
	if (cr3 != c->ctrlreg[3])
		ret->x86_64.kernel_cr3 = xen_cr3_to_pfn_x86_64(c->ctrlreg[3]) << XC_PAGE_SHIFT;
}

static void regs_from_hvm(const struct hvm_hw_cpu *c, struct up_regs *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->pc = c->rip;
	ret->sp = c->rsp;
	ret->fp = c->rbp;
	ret->x86_64.cr0 = c->cr0;
	ret->x86_64.cr3 = c->cr3;
	ret->x86_64.cr4 = c->cr4;
	ret->x86_64.efer = c->msr_efer;
}

struct up_error *xen_vcpu_get_regs(struct xc_interface_core *xch, uint32_t domid, int hvm,
				   unsigned int vcpu, void *ctx, struct up_regs *ret)
{
	if (hvm) {
		struct hvm_hw_cpu *c = ctx;

		if (xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(CPU), vcpu, c,
						     sizeof(*c)))
			return xen_call_error(errno, domid, "reading a vCPU's HVM state");
		regs_from_hvm(c, ret);
	} else {
		vcpu_guest_context_any_t *c = ctx;

		if (xc_vcpu_getcontext(xch, domid, vcpu, c))
			return xen_call_error(errno, domid, "reading a vCPU's context");
		regs_from_pv(&c->x64, ret);
	}
	return NULL;
}

struct up_error *xen_guest_arch(struct xc_interface_core *xch, uint32_t domid, int hvm,
				const struct up_arch **ret)
{
	unsigned int width = 0;

	if (!hvm) {
		if (xc_domain_get_guest_width(xch, domid, &width))
			return xen_call_error(errno, domid, "getting the guest's word size");
		if (width != 8)
			return up_error_create(UP_ERR_UNSUPPORTED,
					       "domain %u is a %u-bit PV guest; only 64-bit ones are supported",
					       domid, width * 8);
	}
	*ret = &up_arch_x86_64;
	return NULL;
}

