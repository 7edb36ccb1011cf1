/*
 * .boot.text runs identity-mapped at its load address; everything after it
 * is linked in the upper half (VA = PA + KVA_OFFSET) and loaded at its
 * physical address through AT(), which QEMU's ELF loader uses.
 */
#include "guest.h"

OUTPUT_FORMAT("elf64-littleaarch64")
OUTPUT_ARCH(aarch64)
ENTRY(_start)

PHDRS
{
	boot PT_LOAD FLAGS(5);
	text PT_LOAD FLAGS(5);
	data PT_LOAD FLAGS(6);
}

SECTIONS
{
	. = KERNEL_PHYS;
	.boot.text : { *(.boot.text) } :boot

	. = ALIGN(4096) + KVA_OFFSET;
	.text : AT(ADDR(.text) - KVA_OFFSET) { *(.text .text.*) } :text
	.rodata : AT(ADDR(.rodata) - KVA_OFFSET) { *(.rodata .rodata.*) } :text
	/* Unwind tables of the flavour built without frame pointers (empty otherwise). */
	.eh_frame : AT(ADDR(.eh_frame) - KVA_OFFSET) { KEEP(*(.eh_frame)) } :text

	. = ALIGN(4096);
	.data : AT(ADDR(.data) - KVA_OFFSET) { *(.data.pgtables) *(.data .data.*) } :data
	.bss (NOLOAD) : AT(ADDR(.bss) - KVA_OFFSET) {
		. = ALIGN(16);
		__bss_start = .;
		*(.bss .bss.* COMMON)
		. = ALIGN(16);
		__bss_end = .;
	} :data
	__kernel_end = .;
	__image_size = __kernel_end - KVA_OFFSET - KERNEL_PHYS;
	ASSERT(__kernel_end - KVA_OFFSET <= KERNEL_PHYS + 0x200000,
	       "kernel image must fit in the 2 MiB mapped with 4 KiB pages")

	/DISCARD/ : { *(.note*) *(.comment) }
}
