/*
 * Xen's vCPU records decoded into struct up_regs: every general register lands at its DWARF
 * number, and the paging state as before.  Built where the Xen backend is (libxen-dev), on
 * any host for PV x86_64 and arm64 (Xen's foreign layouts), on x86_64 hosts for HVM too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#ifdef UP_TEST_XEN_REGS
#define __XEN_TOOLS__ 1
#include <xen/foreign/arm64.h>
#include <xen/foreign/x86_64.h>
#ifdef UP_TEST_XEN_HVM
#include <xen/xen.h>
#include <xen/hvm/save.h>
#endif

#include "../../arch/arm64/arm64.h"
#include "../../arch/x86_64/x86_64.h"
#include "../../backends/xen/regs.h"

static void pv_x86_64(void **state)
{
	static struct vcpu_guest_context_x86_64 c;
	struct cpu_user_regs_x86_64 *u = &c.user_regs;
	struct up_regs r;

	(void)state;
	memset(&c, 0, sizeof(c));
	u->rax = 0x10; u->rdx = 0x11; u->rcx = 0x12; u->rbx = 0x13; u->rsi = 0x14;
	u->rdi = 0x15; u->rbp = 0x16; u->rsp = 0x17; u->r8 = 0x18; u->r9 = 0x19;
	u->r10 = 0x1a; u->r11 = 0x1b; u->r12 = 0x1c; u->r13 = 0x1d; u->r14 = 0x1e;
	u->r15 = 0x1f; u->rip = 0x20;
	c.ctrlreg[3] = 0x1234000;
	/* A vCPU that is down: nothing to walk. */
	xen_regs_from_pv_x86_64(&c, &r);
	assert_int_equal(r.pc, 0);
	assert_int_equal(r.gpr_valid, 0);
	c.flags = VGCF_online_X86_64 | VGCF_in_kernel_X86_64;
	xen_regs_from_pv_x86_64(&c, &r);
	assert_int_equal(r.gpr_valid, (1ULL << X86_64_NR_GPRS) - 1);
	/* DWARF numbers 0..16 are rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip, in order. */
	for (int i = 0; i < X86_64_NR_GPRS; i++)
		assert_int_equal(r.gpr[i], 0x10 + i);
	assert_int_equal(r.pc, 0x20);
	assert_int_equal(r.sp, 0x17);
	assert_int_equal(r.fp, 0x16);
	assert_int_equal(r.x86_64.cr3, 0x1234000);
	assert_int_equal(r.x86_64.kernel_cr3, 0);
}

static void arm64(void **state)
{
	static struct vcpu_guest_context_arm64 c;
	struct vcpu_guest_core_regs_arm64 *u = &c.user_regs;
	uint64_t *x[31] = {
		&u->x0, &u->x1, &u->x2, &u->x3, &u->x4, &u->x5, &u->x6, &u->x7, &u->x8, &u->x9,
		&u->x10, &u->x11, &u->x12, &u->x13, &u->x14, &u->x15, &u->x16, &u->x17, &u->x18,
		&u->x19, &u->x20, &u->x21, &u->x22, &u->x23, &u->x24, &u->x25, &u->x26, &u->x27,
		&u->x28, &u->x29, &u->x30,
	};
	struct up_regs r;

	(void)state;
	memset(&c, 0, sizeof(c));
	for (int i = 0; i < 31; i++)
		*x[i] = 0x100 + i;
	u->sp_el0 = 0x200;
	u->sp_el1 = 0x300;
	u->pc64 = 0x400;
	u->cpsr = 0x3c5;            /* EL1h: SP_EL1 */
	c.flags = VGCF_online_ARM64;
	c.ttbr1 = 0x40203000;
	xen_regs_from_arm64(&c, &r);
	assert_int_equal(r.gpr_valid, (1ULL << ARM64_NR_GPRS) - 1);
	for (int i = 0; i < 31; i++)
		assert_int_equal(r.gpr[i], 0x100 + i);
	assert_int_equal(r.gpr[ARM64_SP], 0x300);
	assert_int_equal(r.gpr[ARM64_PC], 0x400);
	assert_int_equal(r.fp, 0x100 + 29);
	assert_int_equal(r.lr, 0x100 + 30);
	assert_int_equal(r.sp, 0x300);
	assert_int_equal(r.arm64.ttbr1, 0x40203000);
	/* EL1t (and EL0) run on SP_EL0. */
	u->cpsr = 0x3c4;
	xen_regs_from_arm64(&c, &r);
	assert_int_equal(r.gpr[ARM64_SP], 0x200);
	/* AArch32: the pc alone. */
	u->cpsr = 0x10;
	xen_regs_from_arm64(&c, &r);
	assert_int_equal(r.pc, 0x400);
	assert_int_equal(r.gpr_valid, 0);
	assert_int_equal(r.sp, 0);
}

#ifdef UP_TEST_XEN_HVM
static void hvm_x86_64(void **state)
{
	static struct hvm_hw_cpu c;
	struct up_regs r;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.rax = 0x10; c.rdx = 0x11; c.rcx = 0x12; c.rbx = 0x13; c.rsi = 0x14; c.rdi = 0x15;
	c.rbp = 0x16; c.rsp = 0x17; c.r8 = 0x18; c.r9 = 0x19; c.r10 = 0x1a; c.r11 = 0x1b;
	c.r12 = 0x1c; c.r13 = 0x1d; c.r14 = 0x1e; c.r15 = 0x1f; c.rip = 0x20;
	c.cr3 = 0x5000;
	xen_regs_from_hvm_x86_64(&c, &r);
	assert_int_equal(r.gpr_valid, (1ULL << X86_64_NR_GPRS) - 1);
	for (int i = 0; i < X86_64_NR_GPRS; i++)
		assert_int_equal(r.gpr[i], 0x10 + i);
	assert_int_equal(r.pc, 0x20);
	assert_int_equal(r.x86_64.cr3, 0x5000);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pv_x86_64),
		cmocka_unit_test(arm64),
#ifdef UP_TEST_XEN_HVM
		cmocka_unit_test(hvm_x86_64),
#endif
	};

	return cmocka_run_group_tests_name("xen_regs", tests, NULL, NULL);
}
#else
static void no_xen_backend(void **state)
{
	(void)state;
	skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_xen_backend),
	};

	return cmocka_run_group_tests_name("xen_regs (no Xen backend in this build)", tests, NULL, NULL);
}
#endif
