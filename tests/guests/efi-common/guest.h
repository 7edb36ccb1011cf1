/*
 * Interfaces between the pieces of the EFI test guests (x86_64 and arm64).
 */
#ifndef UNIPROF_GUEST_EFI_GUEST_H
#define UNIPROF_GUEST_EFI_GUEST_H

/*
 * entry.S: sets the frame pointer to 0 (rbp; x29 and x30 on arm64), aligns
 * the stack and calls work_loop, so a frame walk of the workload ends at this
 * frame instead of going on into the firmware. Never returns.
 */
void workload_entry(void) __attribute__((noreturn));

/* The profiled workload (workload.c); never returns. */
void work_loop(void);

#endif
