/*
 * Reuse of multi-page hypercall buffers (see hcall_buffers.c).
 */
#ifndef UP_BACKENDS_XEN_HCALL_BUFFERS_H
#define UP_BACKENDS_XEN_HCALL_BUFFERS_H

#include <stdint.h>

struct xen_hcall_buffer_stats {
	uint64_t reused;   /* multi-page buffers handed out again instead of mapped anew */
	uint64_t fresh;    /* multi-page buffers libxencall mapped */
};

/*
 * Give every kept buffer back to libxencall.  Call before closing the xc_interface whose
 * hypercalls they served; afterwards buffers are kept again as they are freed.
 */
void xen_hcall_buffers_release(void);

void xen_hcall_buffers_stats(struct xen_hcall_buffer_stats *ret);

#endif
