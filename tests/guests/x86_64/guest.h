/*
 * Interfaces between the pieces of the x86_64 test guest.
 */
#ifndef UNIPROF_GUEST_X86_64_GUEST_H
#define UNIPROF_GUEST_X86_64_GUEST_H

#include <stdint.h>

/* Entry points called from boot.S with rbp = 0; they never return. */
void kmain(void);
void ap_main(unsigned int cpu);

/*
 * The profiled workloads (workload.c); they never return.  Every AP runs cpu1_main.  depth:
 * frames to add under the workload's loop (0: none).
 */
void cpu0_main(unsigned int depth);
void cpu1_main(unsigned int depth);

/* Write s to COM1. */
void serial_puts(const char *s);

/* Units of leaf work done so far by all CPUs (a benchmark's measure of guest progress). */
extern volatile uint64_t work_units;

#endif
