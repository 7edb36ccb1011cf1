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

#include "../../arch/x86_64/x86_64.h"
#include "regs.h"
#include "xen.h"

unsigned long xen_vcpu_context_size(void)
{
	size_t pv = sizeof(vcpu_guest_context_any_t), hvm = sizeof(struct hvm_hw_cpu);

	return pv > hvm ? pv : hvm;
}

void xen_regs_from_hvm_x86_64(const struct hvm_hw_cpu *c, struct up_regs *ret)
{
	const uint64_t gprs[X86_64_NR_GPRS] = {
		[X86_64_RAX] = c->rax, [X86_64_RDX] = c->rdx, [X86_64_RCX] = c->rcx,
		[X86_64_RBX] = c->rbx, [X86_64_RSI] = c->rsi, [X86_64_RDI] = c->rdi,
		[X86_64_RBP] = c->rbp, [X86_64_RSP] = c->rsp, [X86_64_R8] = c->r8,
		[X86_64_R9] = c->r9, [X86_64_R10] = c->r10, [X86_64_R11] = c->r11,
		[X86_64_R12] = c->r12, [X86_64_R13] = c->r13, [X86_64_R14] = c->r14,
		[X86_64_R15] = c->r15, [X86_64_RIP] = c->rip,
	};

	memset(ret, 0, sizeof(*ret));
	for (unsigned int i = 0; i < X86_64_NR_GPRS; i++)
		up_regs_set_gpr(ret, i, gprs[i]);
	ret->pc = c->rip;
	ret->sp = c->rsp;
	ret->fp = c->rbp;
	ret->x86_64.cr0 = c->cr0;
	ret->x86_64.cr3 = c->cr3;
	ret->x86_64.cr4 = c->cr4;
	ret->x86_64.efer = c->msr_efer;
	ret->x86_64.gs_base = c->gs_base;
	ret->x86_64.kernel_gs_base = c->shadow_gs;
	ret->user = (c->cs_sel & 3) == 3;
}

struct up_error *xen_vcpu_get_regs(struct xc_interface_core *xch, uint32_t domid, int hvm,
				   unsigned int vcpu, void *ctx, struct up_regs *ret)
{
	if (hvm) {
		struct hvm_hw_cpu *c = ctx;

		if (xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(CPU), vcpu, c,
						     sizeof(*c)))
			return xen_call_error(errno, domid, "reading a vCPU's HVM state");
		xen_regs_from_hvm_x86_64(c, ret);
	} else {
		vcpu_guest_context_any_t *c = ctx;

		if (xc_vcpu_getcontext(xch, domid, vcpu, c))
			return xen_call_error(errno, domid, "reading a vCPU's context");
		xen_regs_from_pv_x86_64(&c->x64, ret);
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

