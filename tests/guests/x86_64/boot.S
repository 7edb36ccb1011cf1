/*
 * Boot path of the x86_64 test guest: PVH entry (32-bit protected mode,
 * paging off) -> long mode on our own page tables -> higher-half C.
 * Also the AP's way in (ap_start64, reached from trampoline.S).
 */
#include "layout.h"
#ifdef GUEST_HOSTILE
#include "hostile.h"
#endif

#define PTE_P 0x001
#define PTE_W 0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS 0x080

#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

	/* gdb reads unwind info from .debug_frame; nothing here is loaded. */
	.cfi_sections .debug_frame

/*
 * XEN_ELFNOTE_PHYS32_ENTRY (18): QEMU starts a -kernel ELF carrying this
 * note at the given physical address. QEMU reads the value as a 64-bit
 * word in a 64-bit ELF, and 4-byte alignment puts it where it looks.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4
	.long 8
	.long 18
	.asciz "Xen"
	.balign 4
	.quad PHYS(pvh_entry)

	.section .text.boot, "ax", @progbits
	.code32
	.globl pvh_entry
	.type pvh_entry, @function
pvh_entry:
	/* Runs at its physical address: every absolute reference is PHYS(). */
	cli
	cld
	movl $PHYS(__bss_start), %edi
	movl $PHYS(__bss_end), %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb

	lgdt PHYS(gdt_ptr)
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $PHYS(pml4), %eax
	movl %eax, %cr3
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PE | CR0_PG), %eax
	movl %eax, %cr0
	ljmp $SEL_CODE64, $PHYS(pvh_entry64)

	.code64
pvh_entry64:
	/* Still at the identity-mapped physical address; leave it. */
	movabsq $start64, %rax
	jmp *%rax
	.size pvh_entry, . - pvh_entry

	.text
/*
 * Outermost frame of CPU 0. rbp = 0 ends the frame-pointer chain in
 * kmain's saved rbp; kmain's return address points back in here, so
 * start64 is the root of every CPU 0 stack. The CFI tells gdb the same.
 */
	.globl start64
	.type start64, @function
start64:
	.cfi_startproc
	.cfi_undefined rip
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	call kmain
1:	hlt
	jmp 1b
	.cfi_endproc
	.size start64, . - start64

/*
 * Outermost frame of every other CPU; the trampoline jumps here in 64-bit
 * mode. The APs arrive together (one broadcast SIPI): each takes the next
 * CPU number, 1 up, and the stack that goes with it.
 */
	.globl ap_start64
	.type ap_start64, @function
ap_start64:
	.cfi_startproc
	.cfi_undefined rip
	movl $SEL_DATA, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
	movl $1, %eax
	lock xaddl %eax, ap_started(%rip)
	incl %eax
	cmpl $MAX_CPUS, %eax
	jae 1f
	movl %eax, %edi			/* ap_main(cpu) */
	shll $STACK_SHIFT, %eax
	leaq ap_stacks(%rip), %rsp
	addq %rax, %rsp
	xorl %ebp, %ebp
	call ap_main
1:	hlt
	jmp 1b
	.cfi_endproc
	.size ap_start64, . - ap_start64

	.section .rodata
	.balign 8
	.globl gdt
gdt:
	.quad 0
	.quad 0x00209a0000000000	/* SEL_CODE64: present, ring 0, L=1 */
	.quad 0x00cf92000000ffff	/* SEL_DATA: flat read/write */
gdt_end:
	.if gdt_end - gdt - GDT_SIZE
	.error "GDT_SIZE in layout.h is stale"
	.endif

	/* 32-bit base: used before paging, identity-mapped after. */
gdt_ptr:
	.word GDT_SIZE - 1
	.long PHYS(gdt)

/*
 * Page tables, static so no code runs before long mode to fill them.
 * Two views of physical memory:
 *   identity   0 .. 64 MiB    2 MiB pages (boot code, trampoline)
 *              0xfee00000     one 2 MiB uncached page (local APIC)
 *   higher half KERNEL_VMA + 0 .. 2 MiB    4 KiB pages (the kernel image)
 *               KERNEL_VMA + 2 .. 64 MiB   2 MiB pages
 * so a page walk over the C code exercises the 4-level, 4 KiB path and a
 * walk over high RAM the 2 MiB path.
 */
	.data
	.balign 4096
	.globl pml4
pml4:
	.quad PHYS(pdpt_low) + PTE_P + PTE_W
#ifdef GUEST_HOSTILE
	/* TABLE_LOOP_VA: entry 257's PDPT points back at this table (see hostile.h). */
	.fill 256, 8, 0
	.quad PHYS(pdpt_loop) + PTE_P + PTE_W
	.fill 253, 8, 0
#else
	.fill 510, 8, 0
#endif
	.quad PHYS(pdpt_high) + PTE_P + PTE_W

pdpt_low:
	.quad PHYS(pd_identity) + PTE_P + PTE_W
#ifdef GUEST_HOSTILE
	.quad PHYS(pd_past_ram) + PTE_P + PTE_W		/* 1 GiB .. 2 GiB */
	.fill 1, 8, 0
#else
	.fill 2, 8, 0
#endif
	.quad PHYS(pd_mmio) + PTE_P + PTE_W	/* 3 GiB .. 4 GiB */
	.fill 508, 8, 0

pdpt_high:
	.fill 510, 8, 0
	.quad PHYS(pd_kernel) + PTE_P + PTE_W	/* KERNEL_VMA */
	.quad 0

pd_identity:
	.set addr, 0
	.rept 32
	.quad addr + PTE_P + PTE_W + PTE_PS
	.set addr, addr + 0x200000
	.endr
	.fill 480, 8, 0

pd_mmio:
#ifdef GUEST_HOSTILE
	/* The 2 MiB page of the I/O APIC and the HPET, for hold_hpet. */
	.fill (HPET_PHYS - 0xc0000000) >> 21, 8, 0
	.quad (HPET_PHYS & ~0x1fffff) + PTE_P + PTE_W + PTE_PWT + PTE_PCD + PTE_PS
	.fill ((LAPIC_PHYS - 0xc0000000) >> 21) - ((HPET_PHYS - 0xc0000000) >> 21) - 1, 8, 0
#else
	.fill (LAPIC_PHYS - 0xc0000000) >> 21, 8, 0
#endif
	.quad LAPIC_PHYS + PTE_P + PTE_W + PTE_PWT + PTE_PCD + PTE_PS
	.fill 511 - ((LAPIC_PHYS - 0xc0000000) >> 21), 8, 0

pd_kernel:
	.quad PHYS(pt_kernel) + PTE_P + PTE_W
	.set addr, 0x200000
	.rept 31
	.quad addr + PTE_P + PTE_W + PTE_PS
	.set addr, addr + 0x200000
	.endr
	.fill 480, 8, 0

pt_kernel:
	.set addr, 0
	.rept 512
	.quad addr + PTE_P + PTE_W
	.set addr, addr + 0x1000
	.endr

#ifdef GUEST_HOSTILE
	.balign 4096
pdpt_loop:
	.quad PHYS(pml4) + PTE_P + PTE_W
	.fill 511, 8, 0

/* PAST_RAM_VA: a 2 MiB page past RAM; TABLE_PAST_RAM_VA: a page table past RAM. */
pd_past_ram:
	.quad 0x1000000000 + PTE_P + PTE_W + PTE_PS
	.quad 0x1000200000 + PTE_P + PTE_W
	.fill 510, 8, 0
#endif

	.bss
	.balign 16
	.globl boot_stack_top, ap_stacks
	.space STACK_SIZE
boot_stack_top:
/* CPU n's stack ends at ap_stacks + n * STACK_SIZE (n from 1). */
ap_stacks:
	.space STACK_SIZE * (MAX_CPUS - 1)
	.balign 4
ap_started:
	.long 0

	.section .note.GNU-stack, "", @progbits
