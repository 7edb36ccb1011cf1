/*
 * Interfaces between the pieces of the x86_64 EFI test guest.
 */
#ifndef UNIPROF_GUEST_EFI_X86_64_GUEST_H
#define UNIPROF_GUEST_EFI_X86_64_GUEST_H

/*
 * entry.S: aligns the stack, sets rbp = 0 and calls work_loop, so a
 * frame-pointer walk of the workload ends at this frame instead of going
 * on into gnu-efi's _start and the firmware. Never returns.
 */
void workload_entry(void) __attribute__((noreturn));

/* The profiled workload (workload.c); never returns. */
void work_loop(void);

#endif
