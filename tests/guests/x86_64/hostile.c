/*
 * Hostile flavour of the x86_64 test guest (HOSTILE=1): instead of the workload's chains, states
 * a frame-pointer walk must survive.  See README.md ("Hostile flavour").
 *
 *   CPU 0: one round after another, each case held for the same number of iterations in a
 *          leaf of its own (hostile_hold.S), with rbp set to the hostile value, on a stack in
 *          the identity map (low addresses, so every hostile frame pointer lies above rsp and
 *          is followed rather than dismissed as below the stack):
 *            hold_self_loop        a frame record whose saved rbp points at itself
 *            hold_two_cycle        two records pointing at each other
 *            hold_lapic            rbp at the local APIC (MMIO, identity-mapped)
 *            hold_hpet             rbp at the HPET (MMIO, identity-mapped)
 *            hold_unmapped_edge    a record whose second word lies on the unmapped page after
 *                                  the identity map's last byte
 *            hold_noncanonical_fp  rbp non-canonical
 *            hold_misaligned_fp    rbp not 8-byte aligned
 *            hold_noncanonical_ra  a record whose return address is non-canonical
 *            hold_table_loop       rbp in a range whose PDPT entry points back at the PML4
 *            hold_past_ram         rbp in a 2 MiB page mapped past the end of RAM
 *            hold_table_past_ram   rbp in a range whose page table lies past the end of RAM
 *          Every 32 rounds it prints "uniprof-guest: hostile rounds N".
 *   CPU 1 (and any further CPU): deep_loop (../hostile-common/deep.c), a recursion
 *          DEEP_FRAMES deep, real calls with frame pointers, that spins at the bottom,
 *          returns all the way and starts again; each CPU on a 1 MiB stack of its own.
 */
#include <stdint.h>

#include "guest.h"
#include "../hostile-common/deep.h"
#include "hostile.h"
#include "layout.h"

#define HOLD_ITERATIONS 3000000ull

/* Stacks: CPU 0's hostile loop runs on the first through its identity-mapped alias. */
static uint8_t low_stack[65536] __attribute__((aligned(4096)));
static uint8_t deep_stack[MAX_CPUS][1 << 20] __attribute__((aligned(4096)));

volatile uint64_t hostile_rounds;

typedef void hold_fn(uint64_t fp, uint64_t iterations);

/* A 16-byte frame record: saved frame pointer, return address. */
struct record {
	uint64_t fp, ra;
};

__attribute__((noipa)) static void hostile_round(void)
{
	/* Above every hold's rsp: the leaves run below this frame. */
	struct record recs[4] __attribute__((aligned(16)));
	volatile struct record *edge = (volatile struct record *)(IDENTITY_END - 0x40);
	uint64_t ra = (uint64_t)(uintptr_t)hostile_round + 16;

	recs[0] = (struct record){ (uint64_t)(uintptr_t)&recs[0], ra };
	hold_self_loop((uint64_t)(uintptr_t)&recs[0], HOLD_ITERATIONS);

	recs[1] = (struct record){ (uint64_t)(uintptr_t)&recs[2], ra };
	recs[2] = (struct record){ (uint64_t)(uintptr_t)&recs[1], ra };
	hold_two_cycle((uint64_t)(uintptr_t)&recs[1], HOLD_ITERATIONS);

	hold_lapic(LAPIC_PHYS, HOLD_ITERATIONS);
	hold_hpet(HPET_PHYS, HOLD_ITERATIONS);

	/* The first record is whole; the second starts 8 bytes before the unmapped page. */
	edge[0] = (struct record){ IDENTITY_END - 8, ra };
	*(volatile uint64_t *)(uintptr_t)(IDENTITY_END - 8) = IDENTITY_END + 0x1000;
	hold_unmapped_edge(IDENTITY_END - 0x40, HOLD_ITERATIONS);

	hold_noncanonical_fp(NONCANONICAL, HOLD_ITERATIONS);
	hold_misaligned_fp((uint64_t)(uintptr_t)&recs[0] + 4, HOLD_ITERATIONS);

	recs[3] = (struct record){ (uint64_t)(uintptr_t)&recs[3] + 0x1000, NONCANONICAL };
	hold_noncanonical_ra((uint64_t)(uintptr_t)&recs[3], HOLD_ITERATIONS);

	hold_table_loop(TABLE_LOOP_VA, HOLD_ITERATIONS);
	hold_past_ram(PAST_RAM_VA, HOLD_ITERATIONS);
	hold_table_past_ram(TABLE_PAST_RAM_VA, HOLD_ITERATIONS);
}

__attribute__((noipa)) static void hostile_loop(void)
{
	for (;;) {
		hostile_round();
		if (!(++hostile_rounds % 32)) {
			serial_puts("uniprof-guest: hostile rounds ");
			put_decimal(serial_puts, hostile_rounds);
			serial_puts("\n");
		}
	}
}

void cpu0_main(unsigned int depth)
{
	(void)depth;
	/* The identity alias of low_stack's end (guest.ld links at KERNEL_VMA + physical). */
	on_stack(hostile_loop, (void *)(uintptr_t)PHYS((uint64_t)(uintptr_t)(low_stack +
								sizeof(low_stack))));
}

static volatile unsigned int deep_cpus;

void cpu1_main(unsigned int depth)
{
	unsigned int cpu = __atomic_fetch_add(&deep_cpus, 1, __ATOMIC_RELAXED) % MAX_CPUS;

	(void)depth;
	on_stack(deep_loop, deep_stack[cpu] + sizeof(deep_stack[cpu]));
}
