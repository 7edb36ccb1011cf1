/*
 * The image's entry point, the workload's root frame, and the dummy base
 * relocation block that makes the PE relocatable.
 */
	.cfi_sections .debug_frame	/* for debuggers only: no .eh_frame in the image */
	.text

/*
 * The firmware calls the entry point with AAPCS64, like any C function:
 * x0 = image handle, x1 = system table.
 */
	.p2align 4
	.globl	_start
	.type	_start, %function
_start:
	b	efi_main
	.size	_start, . - _start

/*
 * efi_main's callers are firmware code that our ELF has no symbols for; a
 * walk that starts in the workload must end here, at a frame record whose
 * saved x29 is 0.
 */
	.p2align 4
	.globl	workload_entry
	.type	workload_entry, %function
workload_entry:
	.cfi_startproc
	.cfi_undefined x30		/* outermost frame: gdb's bt ends here too */
	mov	x29, #0			/* end of the frame-record chain */
	mov	x30, #0
	bl	work_loop
1:	wfi				/* work_loop never returns */
	b	1b
	.cfi_endproc
	.size	workload_entry, . - workload_entry

/*
 * The image needs no relocation (all code is PC-relative and the link
 * fails if the ELF has any dynamic relocation), but a PE without a base
 * relocation directory may only be loaded at its ImageBase (0). One block
 * with one IMAGE_REL_BASED_ABSOLUTE (no-op) entry, as gnu-efi's crt0 does.
 */
	.data
dummy:	.long	0

	.section .reloc, "a"
reloc_block:
	.long	dummy - reloc_block	/* "page RVA": any value inside the image serves */
	.long	12			/* block size: the 8-byte header + 2 entries */
	.short	0			/* IMAGE_REL_BASED_ABSOLUTE, offset 0 */
	.short	0

	.section .note.GNU-stack, "", %progbits
