/*
 * Hostile flavour of the x86_64 test guest (HOSTILE=1): the leaves that hold a hostile frame
 * pointer, and the stack switch.  See hostile.c.
 */

	.text
/*
 * HOLD name: void name(uint64_t fp, uint64_t iterations).  Builds its own frame record, then
 * spins with rbp = fp, so a sample taken here walks from fp; rbp is back before it returns.
 * One function per case, so the profile names the case by its leaf.
 */
	.macro HOLD name
	.globl \name
	.type \name, @function
\name:
	pushq %rbp
	movq %rsp, %rbp
	movq %rdi, %rbp
1:	decq %rsi
	jnz 1b
	popq %rbp
	ret
	.size \name, . - \name
	.endm

	HOLD hold_self_loop
	HOLD hold_two_cycle
	HOLD hold_lapic
	HOLD hold_hpet
	HOLD hold_unmapped_edge
	HOLD hold_noncanonical_fp
	HOLD hold_misaligned_fp
	HOLD hold_noncanonical_ra
	HOLD hold_table_loop
	HOLD hold_past_ram
	HOLD hold_table_past_ram

/* void on_stack(void (*fn)(void), void *top): calls fn on the stack that ends at top. */
	.globl on_stack
	.type on_stack, @function
on_stack:
	pushq %rbp
	movq %rsp, %rbp
	movq %rsi, %rsp
	call *%rdi
	movq %rbp, %rsp
	popq %rbp
	ret
	.size on_stack, . - on_stack

	.section .note.GNU-stack, "", @progbits
