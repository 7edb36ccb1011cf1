/* vCPU state on a host architecture the Xen backend does not know: attach refuses. */
#include "xen.h"

unsigned long xen_vcpu_context_size(void)
{
	return 1;
}

struct up_error *xen_vcpu_get_regs(struct xc_interface_core *xch, uint32_t domid, int hvm,
				   unsigned int vcpu, void *ctx, struct up_regs *ret)
{
	(void)xch; (void)hvm; (void)vcpu; (void)ctx; (void)ret;
	return up_error_create(UP_ERR_UNSUPPORTED,
			       "domain %u: Xen guests on this host architecture are not supported", domid);
}

struct up_error *xen_guest_arch(struct xc_interface_core *xch, uint32_t domid, int hvm,
				const struct up_arch **ret)
{
	(void)xch; (void)hvm; (void)ret;
	return up_error_create(UP_ERR_UNSUPPORTED,
			       "domain %u: Xen guests on this host architecture are not supported", domid);
}
