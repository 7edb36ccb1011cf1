/*
 * Pieces of the Xen target shared between its files.  Kept free of Xen's headers (handles are
 * forward-declared structs) so that it compiles on its own everywhere.
 */
#ifndef UP_BACKENDS_XEN_XEN_H
#define UP_BACKENDS_XEN_XEN_H

#include <stdint.h>

#include "../../arch/arch.h"
#include "../../util/error.h"

struct xc_interface_core;  /* libxenctrl's xc_interface */

/* The Xen target's ops (xen.c). */
extern const struct up_target_ops up_target_xen;

/* What dom0 can learn about a domain in one hypercall. */
struct xen_domain_info {
	uint32_t domid;
	int hvm;                  /* HVM or PVH: guest frames, the vCPU's own paging registers */
	int paused;               /* paused by a controller (xl pause, a debugger, us) */
	int dying;
	int shutdown;             /* shut down, crashed or suspended; shutdown_reason says which */
	unsigned int shutdown_reason;
	unsigned int nr_vcpus;    /* max_vcpu_id + 1 */
	unsigned int nr_online;
	uint64_t nr_pages;        /* pages the domain owns now */
	uint8_t handle[16];       /* the domain's UUID: tells a domain from a later one of the same id */
};

/*
 * Resolve spec (a domain id in decimal, or a name as xl shows it, looked up in xenstore under
 * /local/domain/N/name) to a domain id.  UP_ERR_INVALID when no such domain exists.
 */
struct up_error *xen_domain_resolve(struct xc_interface_core *xch, const char *spec,
				    uint32_t *ret);

/* The domain's name from xenstore, or NULL when it has none or xenstore is unreachable. */
char *xen_domain_name(uint32_t domid);

/* Information on domain domid; UP_ERR_LOST when it does not exist (any more). */
struct up_error *xen_domain_get_info(struct xc_interface_core *xch, uint32_t domid,
				     struct xen_domain_info *ret);

/* Why a shut-down domain stopped ("crashed", "powered off", ...). */
const char *xen_shutdown_reason_name(unsigned int reason);

/*
 * An error for a failed libxenctrl call, errnum being its errno: UP_ERR_LOST when errnum says
 * the domain is gone (ESRCH), UP_ERR_OS otherwise.  what says what failed.
 */
struct up_error *xen_call_error(int errnum, uint32_t domid, const char *what);

/*
 * Read vCPU vcpu's registers and paging state into *ret.  ctx is scratch space of
 * xen_vcpu_context_size() bytes, kept by the caller across calls so that no sample allocates.
 * hvm selects the way: the vCPU's saved HVM CPU record, or the PV vCPU context.
 *
 * x86_64: ret->x86_64.cr3 is the page table the vCPU uses now.  For a PV vCPU in user mode,
 * whose own table maps no kernel addresses, ret->x86_64.kernel_cr3 is its kernel's table
 * (which maps user space too, in Linux); otherwise 0.
 *
 * The host's architecture decides (vcpu_x86_64.c, vcpu_arm64.c, vcpu_none.c elsewhere).
 */
struct up_error *xen_vcpu_get_regs(struct xc_interface_core *xch, uint32_t domid, int hvm,
				   unsigned int vcpu, void *ctx, struct up_regs *ret);

/* Size of the scratch space xen_vcpu_get_regs wants. */
unsigned long xen_vcpu_context_size(void);

/* What a vCPU is doing, from the scheduler's point of view. */
struct xen_vcpu_activity {
	int online;
	int blocked;              /* waiting for an event: the guest's own idea (idle) */
	uint64_t cpu_time;        /* nanoseconds it has run, in total */
};

/* The scheduler's view of vCPU vcpu (xc_vcpu_getinfo). */
struct up_error *xen_vcpu_activity(struct xc_interface_core *xch, uint32_t domid,
				   unsigned int vcpu, struct xen_vcpu_activity *ret);

/* The architecture of this host's guests, or an UP_ERR_UNSUPPORTED error. */
struct up_error *xen_guest_arch(struct xc_interface_core *xch, uint32_t domid, int hvm,
				const struct up_arch **ret);

#endif
