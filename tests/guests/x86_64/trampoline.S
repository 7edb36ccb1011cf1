/*
 * AP start-up code. The BSP copies ap_trampoline..ap_trampoline_end to
 * TRAMPOLINE_PHYS and sends SIPI with that page as vector; the AP then
 * runs it in real mode with CS = TRAMPOLINE_PHYS >> 4, IP = 0.
 *
 * It is never executed where it is linked, so every address inside it is
 * an offset from ap_trampoline, rebased by hand.
 */
#include "layout.h"

#define TRAMP(x) ((x) - ap_trampoline)

	.section .rodata.trampoline, "a", @progbits
	.globl ap_trampoline, ap_trampoline_end
	.code16
ap_trampoline:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl TRAMP(tramp_gdt_ptr)
	/*
	 * Straight from real mode to long mode: with EFER.LME set, turning
	 * on PE and PG in one write is legal and saves a 32-bit stage.
	 */
	movl %cr4, %eax
	orl $0x20, %eax			/* PAE */
	movl %eax, %cr4
	movl $PHYS(pml4), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER */
	rdmsr
	orl $0x100, %eax		/* LME */
	wrmsr
	movl %cr0, %eax
	orl $0x80000001, %eax		/* PG | PE */
	movl %eax, %cr0
	ljmpl $SEL_CODE64, $(TRAMPOLINE_PHYS + TRAMP(tramp64))

	.code64
tramp64:
	/* Identity-mapped low page; continue in the higher half. */
	movabsq $ap_start64, %rax
	jmp *%rax

	.balign 8
tramp_gdt_ptr:
	.word GDT_SIZE - 1
	.long PHYS(gdt)
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
