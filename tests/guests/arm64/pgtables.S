/*
 * Static stage 1 page tables (4 KiB granule, 48-bit VAs, walks from level 0).
 * Descriptors hold physical addresses: a table's PA is its symbol minus
 * KVA_OFFSET, since every symbol here is an upper-half VA.
 *
 * TTBR1 (k_l0), VA = PA + KVA_OFFSET:
 *   L0[256] -> k_l1
 *   k_l1[0]  1 GiB block, PA 0x00000000, Device-nGnRnE (UART, GIC, ...)
 *   k_l1[1]  -> k_l2 (PA 0x40000000-0x7fffffff)
 *   k_l2[0]  2 MiB block, PA 0x40000000 (DTB)
 *   k_l2[1]  -> k_l3: 512 4 KiB pages, PA 0x40200000 (the kernel image)
 *   k_l2[2..63] 2 MiB blocks, rest of the 128 MiB of RAM
 *
 * TTBR0 (id_l0), identity, used only while the MMU is turned on:
 *   L0[0] -> id_l1; id_l1[1] 1 GiB block, PA 0x40000000, Normal
 */
#include "guest.h"
#ifdef GUEST_HOSTILE
#include "hostile.h"
#endif

#define PA(sym)	((sym) - KVA_OFFSET)

	.section .data.pgtables, "aw"
	.balign	4096

	.globl	k_l0
k_l0:
	.skip	256 * 8
	.quad	PA(k_l1) + PTE_TABLE
	.skip	255 * 8

	.globl	k_l1
k_l1:
	.quad	0x00000000 + PTE_DEVICE + PTE_BLOCK
	.quad	PA(k_l2) + PTE_TABLE
#ifdef GUEST_HOSTILE
	/* See hostile.h: an MMIO alias, a block and a table past RAM, a table loop. */
	.quad	0x00000000 + PTE_DEVICE + PTE_BLOCK
	.quad	PAST_RAM_PHYS + PTE_NORMAL + PTE_BLOCK
	.quad	TABLE_PAST_RAM_PHYS + PTE_TABLE
	.quad	PA(k_l0) + PTE_TABLE
	.skip	506 * 8
#else
	.skip	510 * 8
#endif

	.globl	k_l2
k_l2:
	.quad	RAM_PHYS + PTE_NORMAL + PTE_BLOCK
	.quad	PA(k_l3) + PTE_TABLE
	.set	.Lblock_pa, RAM_PHYS + 2 * 0x200000
	.rept	(RAM_SIZE / 0x200000) - 2
	.quad	.Lblock_pa + PTE_NORMAL + PTE_BLOCK
	.set	.Lblock_pa, .Lblock_pa + 0x200000
	.endr
	.skip	(512 - RAM_SIZE / 0x200000) * 8

	.globl	k_l3
k_l3:
	.set	.Lpage_pa, KERNEL_PHYS
	.rept	512
	.quad	.Lpage_pa + PTE_NORMAL + PTE_PAGE
	.set	.Lpage_pa, .Lpage_pa + 0x1000
	.endr

	.globl	id_l0
id_l0:
	.quad	PA(id_l1) + PTE_TABLE
	.skip	511 * 8

	.globl	id_l1
id_l1:
	.quad	0
	.quad	RAM_PHYS + PTE_NORMAL + PTE_BLOCK
	.skip	510 * 8
