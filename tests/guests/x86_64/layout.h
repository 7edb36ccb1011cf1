/*
 * Address layout shared by the assembly and the C side of the test guest.
 * Included from .S files too, so only preprocessor definitions here.
 */
#ifndef UNIPROF_GUEST_X86_64_LAYOUT_H
#define UNIPROF_GUEST_X86_64_LAYOUT_H

/* The higher half: virtual = KERNEL_VMA + physical (guest.ld links there). */
#define KERNEL_VMA 0xffffffff80000000
#define PHYS(x) ((x) - KERNEL_VMA)

/*
 * The AP starts in real mode at vector * 4 KiB; the BSP copies the
 * trampoline there first. Below 1 MiB, outside the BIOS data areas.
 */
#define TRAMPOLINE_PHYS 0x8000
#define TRAMPOLINE_VECTOR (TRAMPOLINE_PHYS >> 12)

#define LAPIC_PHYS 0xfee00000

/* GDT selectors (see boot.S). */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define GDT_SIZE 24

#define STACK_SIZE 16384
#define STACK_SHIFT 14

/* CPUs the guest brings up at most; more are left waiting for SIPI. */
#define MAX_CPUS 8

#endif
