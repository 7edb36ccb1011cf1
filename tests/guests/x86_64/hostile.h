/*
 * Hostile flavour of the x86_64 test guest: the leaves of hostile_hold.S and the addresses
 * boot.S maps for it (HOSTILE=1 only).  Included from boot.S too.
 */
#ifndef UNIPROF_GUEST_X86_64_HOSTILE_H
#define UNIPROF_GUEST_X86_64_HOSTILE_H

#ifdef __ASSEMBLER__
#define U64(x) x
#else
#include <stdint.h>
#define U64(x) x##ull
#endif

/* The identity map ends here: the next page is not mapped. */
#define IDENTITY_END U64(0x4000000)
#define HPET_PHYS U64(0xfed00000)
#define NONCANONICAL U64(0x0000800000000000)
/* PML4 entry 257 -> a PDPT whose entry 0 points back at the PML4. */
#define TABLE_LOOP_VA U64(0xffff808000000000)
/* 1 GiB: a 2 MiB page at 64 GiB (no RAM); 1 GiB + 2 MiB: a page table at 64 GiB + 2 MiB. */
#define PAST_RAM_VA U64(0x40000000)
#define TABLE_PAST_RAM_VA U64(0x40200000)

#ifndef __ASSEMBLER__
void hold_self_loop(uint64_t fp, uint64_t iterations);
void hold_two_cycle(uint64_t fp, uint64_t iterations);
void hold_lapic(uint64_t fp, uint64_t iterations);
void hold_hpet(uint64_t fp, uint64_t iterations);
void hold_unmapped_edge(uint64_t fp, uint64_t iterations);
void hold_noncanonical_fp(uint64_t fp, uint64_t iterations);
void hold_misaligned_fp(uint64_t fp, uint64_t iterations);
void hold_noncanonical_ra(uint64_t fp, uint64_t iterations);
void hold_table_loop(uint64_t fp, uint64_t iterations);
void hold_past_ram(uint64_t fp, uint64_t iterations);
void hold_table_past_ram(uint64_t fp, uint64_t iterations);

/* Call fn on the stack that ends at top; returns when fn does. */
void on_stack(void (*fn)(void), void *top);
#endif

#endif
