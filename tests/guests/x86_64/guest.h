/*
 * Interfaces between the pieces of the x86_64 test guest.
 */
#ifndef UNIPROF_GUEST_X86_64_GUEST_H
#define UNIPROF_GUEST_X86_64_GUEST_H

/* Entry points called from boot.S with rbp = 0; they never return. */
void kmain(void);
void ap_main(void);

/* The profiled workloads (workload.c); they never return. */
void cpu0_main(void);
void cpu1_main(void);

#endif
