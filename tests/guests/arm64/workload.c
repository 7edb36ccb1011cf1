/*
 * The call chains a profile of this guest must show (see expected.txt).
 *
 * CPU 0: chain A (alpha..alpha_leaf) for 3 units, then chain B (beta,
 * beta_leaf) for 1 unit, forever. CPU 1: chain C (gamma, gamma_leaf) for 1
 * unit, then chain D (delta..delta_leaf) for 2 units, forever.
 *
 * Each leaf spins on the virtual counter until its deadline, so nearly all
 * time is spent in a leaf's loop with the whole chain on the stack.
 * Deadlines are absolute, on one schedule per CPU, rather than "now + n
 * units": QEMU's vCPU threads get preempted on a busy host while the counter
 * runs on, and a leaf would then overshoot its deadline. With relative
 * deadlines every overshoot lengthened the cycle by a leaf's count, not its
 * length, skewing the ratios toward the short chains (measured: 27.4% instead
 * of 25% for chain B). With a fixed schedule an overshoot only moves time
 * from the next phase to this one, which evens out. The counter stops while
 * QEMU has the VM stopped, so sampling does not skew it either. Every
 * function is noipa and has its own body, so GCC neither inlines, clones,
 * merges nor tail-calls them (the Makefile adds the matching flags).
 *
 * delta_leaf is built without a frame record: while it spins, x29 still
 * points at delta_mid's record and its caller is found only in x30.
 */
#include "guest.h"

#define WORKLOAD __attribute__((noipa))

/* Global, so every symbolizer sees them; declared here only. */
void alpha(unsigned long end);
void alpha_mid(unsigned long end);
void alpha_deep(unsigned long end);
void alpha_leaf(unsigned long end);
void beta(unsigned long end);
void beta_leaf(unsigned long end);
void gamma(unsigned long end);
void gamma_leaf(unsigned long end);
void delta(unsigned long end);
void delta_mid(unsigned long end);
void delta_leaf(unsigned long end);

/* A macro, not a function: reading the counter must not add a frame. */
#define read_cntvct()                                                  \
	({                                                             \
		unsigned long v_;                                      \
		__asm__ volatile("mrs %0, cntvct_el0" : "=r"(v_));     \
		v_;                                                    \
	})

unsigned long spin_unit;

/* Completed spins per leaf and rounds per CPU: progress a debugger can read. */
unsigned long alpha_leaf_runs, beta_leaf_runs, gamma_leaf_runs, delta_leaf_runs;
unsigned long cpu0_rounds, cpu1_rounds;

WORKLOAD void alpha_leaf(unsigned long end)
{
	while (read_cntvct() < end)
		;
	alpha_leaf_runs++;
}

WORKLOAD void alpha_deep(unsigned long end)
{
	alpha_leaf(end);
}

WORKLOAD void alpha_mid(unsigned long end)
{
	alpha_deep(end);
}

WORKLOAD void alpha(unsigned long end)
{
	alpha_mid(end);
}

WORKLOAD void beta_leaf(unsigned long end)
{
	while (read_cntvct() < end)
		;
	beta_leaf_runs++;
}

WORKLOAD void beta(unsigned long end)
{
	beta_leaf(end);
}

WORKLOAD void gamma_leaf(unsigned long end)
{
	while (read_cntvct() < end)
		;
	gamma_leaf_runs++;
}

WORKLOAD void gamma(unsigned long end)
{
	gamma_leaf(end);
}

/* No frame record: see the file comment. */
WORKLOAD __attribute__((optimize("omit-frame-pointer")))
void delta_leaf(unsigned long end)
{
	while (read_cntvct() < end)
		;
	delta_leaf_runs++;
}

WORKLOAD void delta_mid(unsigned long end)
{
	delta_leaf(end);
}

WORKLOAD void delta(unsigned long end)
{
	delta_mid(end);
}

WORKLOAD void cpu0_main(void)
{
	unsigned long deadline = read_cntvct();

	for (;;) {
		deadline += 3 * spin_unit;
		alpha(deadline);
		deadline += spin_unit;
		beta(deadline);
		cpu0_rounds++;
	}
}

WORKLOAD void cpu1_main(void)
{
	unsigned long deadline = read_cntvct();

	for (;;) {
		deadline += spin_unit;
		gamma(deadline);
		deadline += 2 * spin_unit;
		delta(deadline);
		cpu1_rounds++;
	}
}
