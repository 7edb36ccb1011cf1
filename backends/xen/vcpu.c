/*
 * vCPU facts that do not depend on the architecture: whether a vCPU is up, and what the
 * scheduler says it did.  Registers are read in vcpu_<host arch>.c.
 */
#include <errno.h>
#include <string.h>

#include <xenctrl.h>

#include "xen.h"

struct up_error *xen_vcpu_activity(struct xc_interface_core *xch, uint32_t domid,
				   unsigned int vcpu, struct xen_vcpu_activity *ret)
{
	xc_vcpuinfo_t info;

	memset(&info, 0, sizeof(info));
	if (xc_vcpu_getinfo(xch, domid, vcpu, &info))
		return xen_call_error(errno, domid, "getting vCPU information");
	ret->online = !!info.online;
	ret->blocked = !!info.blocked;
	ret->cpu_time = info.cpu_time;
	return NULL;
}
