/*
 * Hostile flavour of the arm64 test guest (HOSTILE=1): instead of the workload's chains, states
 * a frame-pointer walk must survive.  See README.md ("Hostile flavour").
 *
 *   CPU 0: one round after another, each case held for the same number of iterations in a
 *          leaf of its own (hostile_hold.S) with x29 set to the hostile value:
 *            hold_self_loop        a frame record whose saved x29 points at itself
 *            hold_two_cycle        two records pointing at each other
 *            hold_uart             x29 at the PL011 UART (MMIO, through an alias above the stack)
 *            hold_gic              x29 at the GIC distributor (MMIO, same alias)
 *            hold_unmapped_edge    a record whose second word lies on the unmapped page after
 *                                  the last mapped byte of RAM
 *            hold_noncanonical_fp  x29 outside both translation ranges
 *            hold_misaligned_fp    x29 not 8-byte aligned
 *            hold_noncanonical_ra  a record whose return address is outside both ranges
 *            hold_misaligned_ra    a record whose return address is not 4-byte aligned
 *            hold_table_loop       x29 in a range whose level 1 entry points back at level 0
 *            hold_past_ram         x29 in a 1 GiB block mapped where there is no RAM
 *            hold_table_past_ram   x29 in a range whose level 2 table lies past RAM
 *          Every 32 rounds it prints "uniprof-guest: hostile rounds N".
 *   CPU 1: deep_loop (../hostile-common/deep.c), a recursion DEEP_FRAMES deep, real calls
 *          with frame records, that spins at the bottom, returns all the way and starts
 *          again, on a 1 MiB stack.
 */
#include "../hostile-common/deep.h"
#include "hostile.h"

#define HOLD_ITERATIONS 3000000ul

static unsigned char deep_stack[1 << 20] __attribute__((aligned(4096)));

/* Set by kmain for the workload; unused here. */
unsigned long spin_unit;

volatile unsigned long hostile_rounds;

/* A 16-byte frame record: saved frame pointer, return address. */
struct record {
	unsigned long fp, ra;
};

__attribute__((noipa)) static void hostile_round(void)
{
	/* Above every hold's sp: the leaves run below this frame. */
	struct record recs[5] __attribute__((aligned(16)));
	volatile struct record *edge = (volatile struct record *)(RAM_END_VA - 0x40);
	unsigned long ra = (unsigned long)hostile_round + 16;

	recs[0] = (struct record){ (unsigned long)&recs[0], ra };
	hold_self_loop((unsigned long)&recs[0], HOLD_ITERATIONS);

	recs[1] = (struct record){ (unsigned long)&recs[2], ra };
	recs[2] = (struct record){ (unsigned long)&recs[1], ra };
	hold_two_cycle((unsigned long)&recs[1], HOLD_ITERATIONS);

	hold_uart(UART_ALIAS_VA, HOLD_ITERATIONS);
	hold_gic(GIC_ALIAS_VA, HOLD_ITERATIONS);

	/* The first record is whole; the second starts 8 bytes before the unmapped page. */
	edge[0] = (struct record){ RAM_END_VA - 8, ra };
	*(volatile unsigned long *)(RAM_END_VA - 8) = RAM_END_VA + 0x1000;
	hold_unmapped_edge(RAM_END_VA - 0x40, HOLD_ITERATIONS);

	hold_noncanonical_fp(NONCANONICAL, HOLD_ITERATIONS);
	hold_misaligned_fp((unsigned long)&recs[0] + 4, HOLD_ITERATIONS);

	recs[3] = (struct record){ (unsigned long)&recs[3] + 0x1000, NONCANONICAL };
	hold_noncanonical_ra((unsigned long)&recs[3], HOLD_ITERATIONS);
	recs[4] = (struct record){ (unsigned long)&recs[4] + 0x1000, ra + 2 };
	hold_misaligned_ra((unsigned long)&recs[4], HOLD_ITERATIONS);

	hold_table_loop(TABLE_LOOP_VA, HOLD_ITERATIONS);
	hold_past_ram(PAST_RAM_VA, HOLD_ITERATIONS);
	hold_table_past_ram(TABLE_PAST_RAM_VA, HOLD_ITERATIONS);
}

void cpu0_main(void)
{
	for (;;) {
		hostile_round();
		if (!(++hostile_rounds % 32)) {
			uart_puts("uniprof-guest: hostile rounds ");
			put_decimal(uart_puts, hostile_rounds);
			uart_puts("\n");
		}
	}
}

void cpu1_main(void)
{
	on_stack(deep_loop, deep_stack + sizeof(deep_stack));
}
