/*
 * Entry, MMU switch-over and exception vectors of the arm64 test guest.
 *
 * QEMU enters _start (CPU 0) and PSCI CPU_ON enters secondary_entry (CPU 1)
 * at EL1 with the MMU off. Both run from the identity-mapped .boot.text,
 * turn the MMU on and jump to start_el1 in the upper half, which sets the
 * stack and calls kmain(cpu) with x29 = x30 = 0, so a frame-record walk ends
 * in start_el1.
 */
#include "guest.h"

	/* Unwind info only for debuggers: start_el1 is the outermost frame. */
	.cfi_sections .debug_frame

	.section .boot.text, "ax"

	.globl	_start
	.type	_start, %function
_start:
#ifdef XEN_GUEST
	/*
	 * The arm64 Linux Image header, which is what Xen's domain builder loads: it puts the
	 * image text_offset bytes into the guest's RAM (0x40000000 + 2 MiB = KERNEL_PHYS) and
	 * enters its first byte.
	 */
	b	1f				/* code0 */
	.long	0				/* code1 */
	.quad	KERNEL_PHYS - RAM_PHYS		/* text_offset */
	.quad	__image_size			/* image_size, bss included */
	.quad	2				/* flags: little-endian, 4 KiB pages */
	.quad	0, 0, 0				/* res2-res4 */
	.ascii	"ARM\x64"			/* magic */
	.long	0				/* res5: no PE header */
1:
#endif
	mov	x19, #0
	b	boot_common
	.size	_start, . - _start

/* PSCI CPU_ON entry; x0 is the context id, which kmain passes: the CPU index. */
	.globl	secondary_entry
	.type	secondary_entry, %function
secondary_entry:
	mov	x19, x0
	b	boot_common
	.size	secondary_entry, . - secondary_entry

/* x19: CPU index, kept until kmain. */
	.type	boot_common, %function
boot_common:
	msr	daifset, #0xf
	mrs	x0, CurrentEL
	cmp	x0, #(1 << 2)
	b.ne	wrong_el

	mov	x0, #(3 << 20)			/* CPACR_EL1.FPEN: no FP traps */
	msr	cpacr_el1, x0
	ldr	x0, =MAIR_VALUE
	msr	mair_el1, x0
	ldr	x0, =TCR_VALUE
	msr	tcr_el1, x0
	ldr	x0, =id_l0 - KVA_OFFSET
	msr	ttbr0_el1, x0
	ldr	x0, =k_l0 - KVA_OFFSET
	msr	ttbr1_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	ldr	x0, =SCTLR_VALUE
	msr	sctlr_el1, x0
	isb
	ldr	x0, =start_el1
	br	x0

/* Not at EL1 (e.g. -M virt,virtualization=on): say so on the physical UART. */
wrong_el:
	ldr	x1, =UART_PHYS
	adr	x2, wrong_el_msg
1:	ldrb	w3, [x2], #1
	cbz	w3, 2f
	str	w3, [x1]
	b	1b
2:	wfe
	b	2b
	.size	boot_common, . - boot_common

wrong_el_msg:
	.asciz	"uniprof-guest: not entered at EL1\n"
	.balign	4
	.ltorg

	.text

/* Upper half, MMU on; x19: CPU index. */
	.globl	start_el1
	.type	start_el1, %function
start_el1:
	.cfi_startproc
	.cfi_undefined x30
	adr	x0, exception_vectors
	msr	vbar_el1, x0

	/* The identity map was only for the switch-over: stop TTBR0 walks. */
	mrs	x0, tcr_el1
	orr	x0, x0, #TCR_EPD0
	msr	tcr_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb

	adrp	x0, cpu_stacks
	add	x0, x0, :lo12:cpu_stacks
	add	x1, x19, #1
	mov	x2, #STACK_SIZE
	madd	x0, x1, x2, x0
	mov	sp, x0

	/* CPU 0 clears .bss before it starts CPU 1; no stack is in use yet. */
	cbnz	x19, 2f
	adrp	x0, __bss_start
	add	x0, x0, :lo12:__bss_start
	adrp	x1, __bss_end
	add	x1, x1, :lo12:__bss_end
1:	cmp	x0, x1
	b.hs	2f
	str	xzr, [x0], #8
	b	1b

2:	mov	x29, #0
	mov	x30, #0
	mov	x0, x19
	bl	kmain
	/* kmain never returns; this keeps its return address inside start_el1. */
3:	wfe
	b	3b
	.cfi_endproc
	.size	start_el1, . - start_el1

/* long psci_cpu_on(unsigned long mpidr, unsigned long context_id) */
	.globl	psci_cpu_on
	.type	psci_cpu_on, %function
psci_cpu_on:
	mov	x3, x1
	mov	x1, x0
	ldr	x2, =secondary_entry
	ldr	x0, =PSCI_CPU_ON
	hvc	#0
	ret
	.size	psci_cpu_on, . - psci_cpu_on
	.ltorg

/* Any exception is a bug in the guest: report it and stop. */
	.macro	vector index
	.balign	128
	mov	x0, #\index
	b	exception_common
	.endm

	.balign	2048
	.globl	exception_vectors
	.type	exception_vectors, %function
exception_vectors:
	.irp	i, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vector	\i
	.endr
	.size	exception_vectors, . - exception_vectors

	.type	exception_common, %function
exception_common:
	mrs	x1, esr_el1
	mrs	x2, elr_el1
	mrs	x3, far_el1
	bl	exception_report
4:	wfe
	b	4b
	.size	exception_common, . - exception_common

	.bss
	.balign	16
	.type	cpu_stacks, %object
cpu_stacks:
	.skip	NR_CPUS * STACK_SIZE
	.size	cpu_stacks, . - cpu_stacks
