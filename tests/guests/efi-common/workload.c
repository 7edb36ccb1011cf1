/*
 * The profiled workload of both EFI test guests (efi-x86_64 and efi-arm64):
 * fixed call chains with known time shares, on the bootstrap processor, with
 * UEFI boot services still running.
 *
 *   workload_entry -> work_loop -> alpha -> alpha_mid -> alpha_deep -> alpha_leaf  3 units
 *   workload_entry -> work_loop -> beta -> beta_leaf                              1 unit
 *
 * Both guests' expected.txt state the same and must change with this file.
 *
 * As in tests/guests/x86_64/workload.c: every function is noipa (not
 * inlined, cloned, merged or analysed into a noreturn) and keeps a
 * frame-pointer frame (a frame record on arm64), so a frame walk sees exactly
 * these names.
 * Each one bumps its own counter after its callee returns: that keeps the
 * call from being a tail call, keeps the bodies distinct, and lets a
 * debugger see progress.
 *
 * Only the leaves spend time, in a register-only countdown loop whose body
 * is the same in both leaves: a unit is a fixed number of guest iterations,
 * not a span of TSC or counter-timer time, so the shares do not depend on when the host
 * deschedules the vCPU thread or on how long a profiler keeps the VM
 * stopped. The firmware's timer interrupt still runs its handler on this
 * stack now and then (see README.md for its share).
 */
#include <stdint.h>

#include "guest.h"

#define WORKLOAD __attribute__((noipa))

/* One unit: a few ms under TCG on an idle 2.6 GHz host (see README.md). */
#define UNIT_ITERATIONS 3000000ull

/*
 * GCC 12 omits the frame of a leaf that needs no stack, despite
 * -mno-omit-leaf-frame-pointer; asking for the frame address keeps it.
 */
#define KEEP_FRAME() __asm__ volatile("" : : "r"(__builtin_frame_address(0)))

volatile uint64_t alpha_count, alpha_mid_count, alpha_deep_count, alpha_leaf_count;
volatile uint64_t beta_count, beta_leaf_count;
volatile uint64_t work_loop_count;

static inline __attribute__((always_inline)) void spin_units(unsigned int units)
{
	/* The empty asm keeps GCC from computing the loop away. */
	for (uint64_t left = units * UNIT_ITERATIONS; left; left--)
		__asm__ volatile("" : "+r"(left));
}

void alpha(void);
void alpha_mid(void);
void alpha_deep(void);
void alpha_leaf(void);
void beta(void);
void beta_leaf(void);

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

WORKLOAD void work_loop(void)
{
	for (;;) {
		alpha();
		beta();
		work_loop_count++;
	}
}
