/*
 * The root frame of the workload. efi_main's own caller chain goes through
 * gnu-efi's _start into firmware code that our ELF has no symbols for and
 * whose frames need not chain; a walk that starts in the workload must end
 * here, at a frame whose saved rbp is 0.
 */
	.cfi_sections .debug_frame	/* for debuggers only: no .eh_frame in the image */
	.text
	.p2align 4
	.globl	workload_entry
	.type	workload_entry, @function
workload_entry:
	.cfi_startproc
	.cfi_undefined rip		/* outermost frame: gdb's bt ends here too */
	andq	$-16, %rsp		/* work_loop is entered with rsp = 8 mod 16 */
	xorl	%ebp, %ebp		/* end of the frame chain */
	call	work_loop
1:	hlt				/* work_loop never returns */
	jmp	1b
	.cfi_endproc
	.size	workload_entry, . - workload_entry

	.section .note.GNU-stack, "", @progbits
