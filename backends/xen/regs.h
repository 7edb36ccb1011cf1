/*
 * Decoding Xen's vCPU register records into struct up_regs, the general registers included.
 * Pure functions over Xen's public structures (the "foreign" layouts, which any host can
 * include), so they are unit-tested on any host with libxen-dev's headers.
 */
#ifndef UP_BACKENDS_XEN_REGS_H
#define UP_BACKENDS_XEN_REGS_H

#include "../../arch/arch.h"

struct vcpu_guest_context_x86_64;
struct vcpu_guest_context_arm64;
struct hvm_hw_cpu;

/*
 * A 64-bit PV vCPU's context (xc_vcpu_getcontext).  A vCPU that is down reports pc, sp and
 * fp 0 and no general registers.  For a vCPU in user mode with a user page table, cr3 is the
 * user table and kernel_cr3 the kernel's.
 */
void xen_regs_from_pv_x86_64(const struct vcpu_guest_context_x86_64 *c, struct up_regs *ret);

/*
 * An x86 HVM or PVH vCPU's CPU save record (xc_domain_hvm_getcontext_partial).  Built on
 * x86_64 hosts only (vcpu_x86_64.c): the record's header is not a foreign one.
 */
void xen_regs_from_hvm_x86_64(const struct hvm_hw_cpu *c, struct up_regs *ret);

/*
 * An arm64 vCPU's context (Xen on Arm).  The stack pointer is the one PSTATE selects; a vCPU
 * in AArch32 state reports its pc and paging state alone.
 */
void xen_regs_from_arm64(const struct vcpu_guest_context_arm64 *c, struct up_regs *ret);

#endif
