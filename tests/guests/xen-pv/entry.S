/*
 * Entry points, Xen ELF notes and the hypercall page of the uniprof Xen PV test guest.
 *
 * Both entry points clear rbp before calling into C, so a frame-pointer walk ends at a saved rbp
 * of 0 whose return address lies inside _start (vCPU0) or cpu1_entry (vCPU1).
 */

#define XEN_PV_VIRT_BASE 0xffffffff80000000

#define ELFNOTE(type, desctype, descdata)	\
	.balign 4;				\
	.long 2f - 1f;				\
	.long 4f - 3f;				\
	.long type;				\
1:	.asciz "Xen";				\
2:	.balign 4;				\
3:	desctype descdata;			\
4:	.balign 4

	.section .note.Xen, "a", @note
	ELFNOTE(6, .asciz, "uniprof-xen-pv")		/* XEN_ELFNOTE_GUEST_OS */
	ELFNOTE(7, .asciz, "1")				/* XEN_ELFNOTE_GUEST_VERSION */
	ELFNOTE(5, .asciz, "xen-3.0")			/* XEN_ELFNOTE_XEN_VERSION */
	ELFNOTE(8, .asciz, "generic")			/* XEN_ELFNOTE_LOADER */
	ELFNOTE(3, .quad, XEN_PV_VIRT_BASE)		/* XEN_ELFNOTE_VIRT_BASE */
	ELFNOTE(4, .quad, XEN_PV_VIRT_BASE)		/* XEN_ELFNOTE_PADDR_OFFSET */
	ELFNOTE(1, .quad, _start)			/* XEN_ELFNOTE_ENTRY */
	ELFNOTE(2, .quad, hypercall_page)		/* XEN_ELFNOTE_HYPERCALL_PAGE */

	.section .text.entry, "ax", @progbits
	.code64

/* vCPU0: Xen enters here with rsi = start_info (virtual). */
	.globl _start
	.type _start, @function
_start:
	movq $stack0_top, %rsp
	xorl %ebp, %ebp
	movq %rsi, %rdi
	call cpu0_main
	/* cpu0_main never returns; keep the return address inside _start. */
1:	pause
	jmp 1b
	.size _start, . - _start

/* vCPU1: started by VCPUOP_initialise/VCPUOP_up with rsp = stack1_top. */
	.globl cpu1_entry
	.type cpu1_entry, @function
cpu1_entry:
	xorl %ebp, %ebp
	call cpu1_main
1:	pause
	jmp 1b
	.size cpu1_entry, . - cpu1_entry

	.section .text.hypercall, "ax", @progbits
	.balign 4096
	.globl hypercall_page
	.type hypercall_page, @object
hypercall_page:
	.fill 4096, 1, 0xcc
	.size hypercall_page, 4096

	.section .bss.stack, "aw", @nobits
	.balign 4096
	.globl stack0_top, stack1_top
stack0:
	.skip 16384
stack0_top:
stack1:
	.skip 16384
stack1_top:

	.section .note.GNU-stack, "", @progbits
