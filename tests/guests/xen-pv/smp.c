/* Second vCPU bring-up: VCPUOP_initialise with a fresh PV context, then VCPUOP_up. */
#include "guest.h"

static struct vcpu_guest_context vcpu1_ctx;

long smp_start_vcpu1(const struct start_info *si)
{
	const uint64_t *p2m = (const uint64_t *)si->mfn_list;
	struct vcpu_guest_context *c = &vcpu1_ctx;
	uint64_t l4_pfn = (si->pt_base - XEN_PV_VIRT_BASE) >> PAGE_SHIFT;
	long rc;

	memset(c, 0, sizeof(*c));
	c->flags = VGCF_in_kernel;
	c->user_regs.rip = (uint64_t)cpu1_entry;
	c->user_regs.rsp = (uint64_t)stack1_top;
	c->user_regs.cs = FLAT_KERNEL_CS;
	c->user_regs.ss = FLAT_KERNEL_SS;
	c->user_regs.ds = c->user_regs.es = FLAT_KERNEL_DS;
	c->user_regs.rflags = 0x202;
	c->kernel_ss = FLAT_KERNEL_SS;
	c->kernel_sp = (uint64_t)stack1_top;
	/* Share vCPU0's page tables: cr3 holds the machine frame of the L4 table. */
	c->ctrlreg[3] = p2m[l4_pfn] << PAGE_SHIFT;

	rc = xen_hypercall3(HYPERVISOR_vcpu_op, VCPUOP_initialise, 1, (uint64_t)c);
	if (rc)
		return rc;
	return xen_hypercall3(HYPERVISOR_vcpu_op, VCPUOP_up, 1, 0);
}
