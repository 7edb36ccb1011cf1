/*
 * Interfaces between the pieces of the arm64 EFI test guest.
 */
#ifndef UNIPROF_GUEST_EFI_ARM64_GUEST_H
#define UNIPROF_GUEST_EFI_ARM64_GUEST_H

/*
 * entry.S: sets x29 = x30 = 0 and calls work_loop, so a frame-record walk
 * of the workload ends at this frame instead of going on into the
 * firmware. Never returns.
 */
void workload_entry(void) __attribute__((noreturn));

/* The profiled workload (workload.c); never returns. */
void work_loop(void);

#endif
