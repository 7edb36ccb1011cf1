/*
 * The profiled workload: fixed call chains with known time shares.
 *
 *   CPU 0: cpu0_main -> alpha -> alpha_mid -> alpha_deep -> alpha_leaf  3 units
 *          cpu0_main -> beta -> beta_leaf                                1 unit
 *   CPU 1: cpu1_main -> gamma -> gamma_leaf                              1 unit
 *          cpu1_main -> delta -> delta_mid -> delta_leaf                 2 units
 *
 * Further CPUs (with -smp 3 and more) run CPU 1's workload.  Given a depth
 * (fw_cfg "opt/uniprof/depth"), each main first goes that many frames deeper
 * (nest, nest, ..., main again), for benchmarks that want deeper stacks.
 *
 * expected.txt states the same and must change with this file.
 *
 * Every function is noipa (not inlined, cloned, merged or analysed into a
 * noreturn) and keeps a frame-pointer frame, so a frame-pointer walk sees
 * exactly these names. Each one bumps its own counter after its callee
 * returns: that keeps the call from being a tail call, keeps the bodies
 * distinct, and lets a debugger see progress.
 *
 * Only the leaves spend time, in a register-only countdown loop whose
 * body is the same in every leaf: a unit is a fixed number of guest
 * iterations, not a span of TSC time. QEMU does freeze the TSC while the
 * VM is stopped, but not while the host deschedules a vCPU thread, and
 * on a busy host a TSC deadline would then expire unseen; the leaf would
 * end on its next timeslice, and since a profiler's stop requests are
 * served in just those moments, samples would pile up at leaf boundaries.
 * Counting iterations ties every chain's share to guest progress only.
 */
#include <stdint.h>

#include "guest.h"

#define WORKLOAD __attribute__((noipa))

/* One unit: a few ms under TCG on an idle 2.6 GHz host (see README.md). */
#define UNIT_ITERATIONS 3000000ull

/*
 * GCC 12 omits the frame of a leaf that needs no stack, despite
 * -mno-omit-leaf-frame-pointer; asking for the frame address keeps it.  The flavour
 * built without frame pointers (NOFP=1, GUEST_NOFP) keeps none.
 */
#ifdef GUEST_NOFP
#define KEEP_FRAME() do { } while (0)
#else
#define KEEP_FRAME() __asm__ volatile("" : : "r"(__builtin_frame_address(0)))
#endif

volatile uint64_t alpha_count, alpha_mid_count, alpha_deep_count, alpha_leaf_count;
volatile uint64_t beta_count, beta_leaf_count;
volatile uint64_t gamma_count, gamma_leaf_count;
volatile uint64_t delta_count, delta_mid_count, delta_leaf_count;
volatile uint64_t nest_count;
volatile uint64_t work_units;

static inline __attribute__((always_inline)) void spin_units(unsigned int units)
{
	/* The empty asm keeps GCC from computing the loop away. */
	for (uint64_t left = units * UNIT_ITERATIONS; left; left--)
		__asm__ volatile("" : "+r"(left));
	__atomic_fetch_add(&work_units, units, __ATOMIC_RELAXED);
}

void nest(unsigned int frames, void (*main)(unsigned int));

/* frames frames of nest, then main(0). */
WORKLOAD void nest(unsigned int frames, void (*main)(unsigned int))
{
	if (frames > 1)
		nest(frames - 1, main);
	else
		main(0);
	nest_count++;
}

/*
 * main(0), depth frames below the caller's: nest depth - 1 times, then main itself (called
 * through a pointer GCC cannot see through, or it takes the call for endless recursion).
 */
static void deepen(unsigned int depth, void (*volatile main)(unsigned int))
{
	if (depth > 1)
		nest(depth - 1, main);
	else if (depth)
		main(0);
}

void alpha(void);
void alpha_mid(void);
void alpha_deep(void);
void alpha_leaf(void);
void beta(void);
void beta_leaf(void);
void gamma(void);
void gamma_leaf(void);
void delta(void);
void delta_mid(void);
void delta_leaf(void);

WORKLOAD void alpha_leaf(void)
{
	KEEP_FRAME();
	spin_units(3);
	alpha_leaf_count++;
}

WORKLOAD void alpha_deep(void)
{
	alpha_leaf();
	alpha_deep_count++;
}

WORKLOAD void alpha_mid(void)
{
	alpha_deep();
	alpha_mid_count++;
}

WORKLOAD void alpha(void)
{
	alpha_mid();
	alpha_count++;
}

WORKLOAD void beta_leaf(void)
{
	KEEP_FRAME();
	spin_units(1);
	beta_leaf_count++;
}

WORKLOAD void beta(void)
{
	beta_leaf();
	beta_count++;
}

WORKLOAD void cpu0_main(unsigned int depth)
{
	deepen(depth, cpu0_main);
	for (;;) {
		alpha();
		beta();
	}
}

WORKLOAD void gamma_leaf(void)
{
	KEEP_FRAME();
	spin_units(1);
	gamma_leaf_count++;
}

WORKLOAD void gamma(void)
{
	gamma_leaf();
	gamma_count++;
}

WORKLOAD void delta_leaf(void)
{
	KEEP_FRAME();
	spin_units(2);
	delta_leaf_count++;
}

WORKLOAD void delta_mid(void)
{
	delta_leaf();
	delta_mid_count++;
}

WORKLOAD void delta(void)
{
	delta_mid();
	delta_count++;
}

WORKLOAD void cpu1_main(unsigned int depth)
{
	deepen(depth, cpu1_main);
	for (;;) {
		gamma();
		delta();
	}
}
