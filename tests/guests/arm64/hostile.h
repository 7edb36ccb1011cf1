/*
 * Hostile flavour of the arm64 test guest (HOSTILE=1): the leaves of hostile_hold.S and the
 * addresses pgtables.S maps for it.  Included from assembly too.
 */
#ifndef UNIPROF_GUEST_ARM64_HOSTILE_H
#define UNIPROF_GUEST_ARM64_HOSTILE_H

#include "guest.h"

/* k_l1[2]: PA 0 .. 1 GiB again, Device-nGnRnE, above every stack (UART, GIC). */
#define MMIO_ALIAS_VA		(KVA_OFFSET + UL(0x80000000))
#define UART_ALIAS_VA		(MMIO_ALIAS_VA + UART_PHYS)
#define GIC_ALIAS_VA		(MMIO_ALIAS_VA + UL(0x08000000))
/* k_l1[3]: a 1 GiB block at PA 4 GiB, where the board has no RAM. */
#define PAST_RAM_VA		(KVA_OFFSET + UL(0xc0000000))
#define PAST_RAM_PHYS		UL(0x100000000)
/* k_l1[4]: a level 2 table at PA 4 GiB + 2 MiB, past RAM too. */
#define TABLE_PAST_RAM_VA	(KVA_OFFSET + UL(0x100000000))
#define TABLE_PAST_RAM_PHYS	UL(0x100200000)
/* k_l1[5]: a "level 2 table" that is k_l0 again; VA index 256 there is k_l1 as level 3. */
#define TABLE_LOOP_VA		(KVA_OFFSET + UL(0x140000000) + UL(256) * 0x200000 + 0x1000)
/* Mapped RAM ends here (k_l2 maps RAM_SIZE); the next page is not mapped. */
#define RAM_END_VA		(KVA_OFFSET + RAM_PHYS + RAM_SIZE)
#define NONCANONICAL		UL(0x0000800000000000)

#ifndef __ASSEMBLER__
void hold_self_loop(unsigned long fp, unsigned long iterations);
void hold_two_cycle(unsigned long fp, unsigned long iterations);
void hold_uart(unsigned long fp, unsigned long iterations);
void hold_gic(unsigned long fp, unsigned long iterations);
void hold_unmapped_edge(unsigned long fp, unsigned long iterations);
void hold_noncanonical_fp(unsigned long fp, unsigned long iterations);
void hold_misaligned_fp(unsigned long fp, unsigned long iterations);
void hold_noncanonical_ra(unsigned long fp, unsigned long iterations);
void hold_misaligned_ra(unsigned long fp, unsigned long iterations);
void hold_table_loop(unsigned long fp, unsigned long iterations);
void hold_past_ram(unsigned long fp, unsigned long iterations);
void hold_table_past_ram(unsigned long fp, unsigned long iterations);

/* Call fn on the stack that ends at top; returns when fn does. */
void on_stack(void (*fn)(void), void *top);

/* main.c */
void uart_puts(const char *s);
#endif

#endif
