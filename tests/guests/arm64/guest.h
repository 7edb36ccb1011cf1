/*
 * Constants shared by the arm64 test guest's assembly, C and linker script.
 * Every value here is described in README.md; change both together.
 */
#ifndef UNIPROF_GUEST_ARM64_H
#define UNIPROF_GUEST_ARM64_H

#ifdef __ASSEMBLER__
#define UL(x) x
#else
#define UL(x) x##UL
#endif

/* Physical layout of QEMU's "virt" board. */
#define RAM_PHYS		UL(0x40000000)
#define RAM_SIZE		UL(0x08000000)	/* mapped RAM: 128 MiB */
#ifdef XEN_GUEST
/* A Xen domU (xl: vuart = "sbsa_uart"): Xen's emulated SBSA UART, GUEST_PL011_BASE. */
#define UART_PHYS		UL(0x22000000)
#else
#define UART_PHYS		UL(0x09000000)
#endif

/*
 * The kernel image is loaded 2 MiB into RAM (QEMU puts the DTB at the start
 * of RAM) and must fit in that 2 MiB block, which is mapped with 4 KiB pages.
 */
#define KERNEL_PHYS		UL(0x40200000)

/* Upper-half linear map: VA = PA + KVA_OFFSET for [0, 2 GiB) of PA. */
#define KVA_OFFSET		UL(0xffff800000000000)
#define UART_VA			(UART_PHYS + KVA_OFFSET)

#define NR_CPUS			2
#define STACK_SIZE		UL(0x4000)

/* MAIR_EL1: attr0 Device-nGnRnE, attr1 Normal write-back RW-allocate. */
#define MAIR_VALUE		UL(0xff00)
#define MT_DEVICE		0
#define MT_NORMAL		1

/*
 * TCR_EL1: T0SZ = T1SZ = 16 (48-bit VAs, walks start at level 0), 4 KiB
 * granule for both halves, inner-shareable write-back walks, IPS = 36 bits.
 */
#define TCR_T0SZ		UL(16)
#define TCR_IRGN0_WBWA		(UL(1) << 8)
#define TCR_ORGN0_WBWA		(UL(1) << 10)
#define TCR_SH0_INNER		(UL(3) << 12)
#define TCR_TG0_4K		(UL(0) << 14)
#define TCR_T1SZ		(UL(16) << 16)
#define TCR_IRGN1_WBWA		(UL(1) << 24)
#define TCR_ORGN1_WBWA		(UL(1) << 26)
#define TCR_SH1_INNER		(UL(3) << 28)
#define TCR_TG1_4K		(UL(2) << 30)
#define TCR_IPS_36BIT		(UL(1) << 32)
#define TCR_EPD0		(UL(1) << 7)
#define TCR_VALUE		(TCR_T0SZ | TCR_IRGN0_WBWA | TCR_ORGN0_WBWA | \
				 TCR_SH0_INNER | TCR_TG0_4K | TCR_T1SZ | \
				 TCR_IRGN1_WBWA | TCR_ORGN1_WBWA | TCR_SH1_INNER | \
				 TCR_TG1_4K | TCR_IPS_36BIT)

/* SCTLR_EL1: the ARMv8.0 RES1 bits, plus M (MMU), C, SA and I. */
#define SCTLR_RES1		UL(0x30d00800)
#define SCTLR_M			(UL(1) << 0)
#define SCTLR_C			(UL(1) << 2)
#define SCTLR_SA		(UL(1) << 3)
#define SCTLR_I			(UL(1) << 12)
#define SCTLR_VALUE		(SCTLR_RES1 | SCTLR_M | SCTLR_C | SCTLR_SA | SCTLR_I)

/* Stage 1 descriptor bits (VMSAv8-64, 4 KiB granule). */
#define PTE_TABLE		UL(0x3)		/* next-level table, levels 0-2 */
#define PTE_BLOCK		UL(0x1)		/* block, levels 1-2 */
#define PTE_PAGE		UL(0x3)		/* page, level 3 */
#define PTE_ATTRINDX(n)		(UL(n) << 2)
#define PTE_SH_INNER		(UL(3) << 8)
#define PTE_AF			(UL(1) << 10)
#define PTE_PXN			(UL(1) << 53)
#define PTE_UXN			(UL(1) << 54)
#define PTE_NORMAL		(PTE_ATTRINDX(MT_NORMAL) | PTE_SH_INNER | PTE_AF)
#define PTE_DEVICE		(PTE_ATTRINDX(MT_DEVICE) | PTE_AF | PTE_PXN | PTE_UXN)

/* PSCI 0.2 over HVC (QEMU virt without EL2/EL3, and Xen). */
#define PSCI_CPU_ON		UL(0xc4000003)

#ifndef __ASSEMBLER__
/* boot.S: returns PSCI's status (0 on success). */
long psci_cpu_on(unsigned long mpidr, unsigned long context_id);

/* main.c */
void kmain(unsigned long cpu);
void exception_report(unsigned long vector, unsigned long esr,
		      unsigned long elr, unsigned long far);

/* workload.c: never return. spin_unit is one time unit in CNTVCT ticks, set before either runs. */
extern unsigned long spin_unit;
void cpu0_main(void);
void cpu1_main(void);
#endif

#endif
