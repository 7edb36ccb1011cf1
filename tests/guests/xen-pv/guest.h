/* Functions shared between the files of the Xen PV test guest. */
#ifndef XEN_PV_GUEST_H
#define XEN_PV_GUEST_H

#include "xen.h"

/* Find the console ring from start_info; console_write is a no-op until this succeeds. */
void console_init(const struct start_info *si);
/* Append a NUL-terminated string to the console ring and notify the backend (drops on overflow). */
void console_write(const char *s);
/* Write `label`, then `value` as signed decimal, then a newline. */
void console_write_num(const char *label, long value);

/* Bring up vCPU1 at cpu1_entry on stack1_top. Returns 0 or a negative Xen errno. */
long smp_start_vcpu1(const struct start_info *si);

/* Entry points and stacks from entry.S. */
void cpu1_entry(void);
extern char stack1_top[];

void cpu0_main(const struct start_info *si);
void cpu1_main(void);

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#endif
