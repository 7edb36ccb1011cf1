/*
 * The profiled workload: fixed call chains spinning in their leaves for known numbers of work units.
 *
 *   vCPU0: cpu0_main -> alpha -> alpha_mid -> alpha_deep -> alpha_leaf   3 units
 *          cpu0_main -> beta -> beta_leaf                                1 unit
 *   vCPU1: cpu1_main -> gamma -> gamma_leaf                              1 unit
 *          cpu1_main -> delta -> delta_mid -> delta_leaf                 2 units
 *
 * A unit is UNIT_ITERS turns of the same loop, so ratios hold however often the domain is paused.
 * Every function is noipa (no inlining, cloning or merging) and does something distinct after its
 * call, so each keeps its own frame and no call becomes a jump. The loop counter is a volatile
 * local, which makes GCC give each leaf a frame too.
 */
#include "guest.h"

#ifndef UNIT_ITERS
#define UNIT_ITERS 500000UL
#endif

#define WORKLOAD static __attribute__((noipa, used))

/* Written after each call; distinct slots keep the function bodies distinct. */
volatile unsigned long frame_marks[16];

#define SPIN_UNITS(n)                                                  \
	do {                                                           \
		volatile unsigned long turn;                           \
		for (turn = 0; turn < (n) * UNIT_ITERS; turn++)        \
			;                                              \
	} while (0)

WORKLOAD void alpha_leaf(void)
{
	frame_marks[0] = 1;
	SPIN_UNITS(3);
}

WORKLOAD void alpha_deep(void)
{
	alpha_leaf();
	frame_marks[1]++;
}

WORKLOAD void alpha_mid(void)
{
	alpha_deep();
	frame_marks[2]++;
}

WORKLOAD void alpha(void)
{
	alpha_mid();
	frame_marks[3]++;
}

WORKLOAD void beta_leaf(void)
{
	frame_marks[4] = 2;
	SPIN_UNITS(1);
}

WORKLOAD void beta(void)
{
	beta_leaf();
	frame_marks[5]++;
}

WORKLOAD void gamma_leaf(void)
{
	frame_marks[6] = 3;
	SPIN_UNITS(1);
}

WORKLOAD void gamma(void)
{
	gamma_leaf();
	frame_marks[7]++;
}

WORKLOAD void delta_leaf(void)
{
	frame_marks[8] = 4;
	SPIN_UNITS(2);
}

WORKLOAD void delta_mid(void)
{
	delta_leaf();
	frame_marks[9]++;
}

WORKLOAD void delta(void)
{
	delta_mid();
	frame_marks[10]++;
}

__attribute__((noipa)) void cpu1_main(void)
{
	console_write("xen-pv: vcpu1 running\n");
	for (;;) {
		gamma();
		delta();
		frame_marks[11]++;
	}
}

__attribute__((noipa)) void cpu0_main(const struct start_info *si)
{
	unsigned long rounds = 0;
	long rc;

	console_init(si);
	console_write("xen-pv: vcpu0 running\n");
	rc = smp_start_vcpu1(si);
	console_write_num("xen-pv: vcpu1 bring-up rc=", rc);
	for (;;) {
		alpha();
		beta();
		/* A progress line every 128 units lets dom0 measure how long a unit takes. */
		if (++rounds % 32 == 0)
			console_write_num("xen-pv: vcpu0 units=", (long)(rounds * 4));
	}
}
