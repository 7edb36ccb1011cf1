/*
 * Hostile flavour of the arm64 test guest (HOSTILE=1): the leaves that hold a hostile frame
 * pointer, and the stack switch.  See hostile.c.
 */

	.text
/*
 * HOLD name: void name(unsigned long fp, unsigned long iterations).  Builds its own frame
 * record, then spins with x29 = fp, so a sample taken here walks from fp; x29 is back before it
 * returns.  One function per case, so the profile names the case by its leaf.
 */
	.macro HOLD name
	.globl \name
	.type \name, %function
\name:
	stp x29, x30, [sp, #-16]!
	mov x29, sp
	mov x29, x0
1:	subs x1, x1, #1
	b.ne 1b
	ldp x29, x30, [sp], #16
	ret
	.size \name, . - \name
	.endm

	HOLD hold_self_loop
	HOLD hold_two_cycle
	HOLD hold_uart
	HOLD hold_gic
	HOLD hold_unmapped_edge
	HOLD hold_noncanonical_fp
	HOLD hold_misaligned_fp
	HOLD hold_noncanonical_ra
	HOLD hold_misaligned_ra
	HOLD hold_table_loop
	HOLD hold_past_ram
	HOLD hold_table_past_ram

/* void on_stack(void (*fn)(void), void *top): calls fn on the stack that ends at top. */
	.globl on_stack
	.type on_stack, %function
on_stack:
	stp x29, x30, [sp, #-16]!
	mov x29, sp
	mov sp, x1
	blr x0
	mov sp, x29
	ldp x29, x30, [sp], #16
	ret
	.size on_stack, . - on_stack
