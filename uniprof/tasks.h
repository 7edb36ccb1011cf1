/*
 * --tasks: find what task attribution needs before sampling (linux/tasks.h): the kernel's
 * per-CPU `current` symbol from the -k files, and task_struct's layout from BTF, read once from
 * a vmlinux's .BTF (or DWARF) or from guest memory between __start_BTF and __stop_BTF.
 */
#ifndef UP_UNIPROF_TASKS_H
#define UP_UNIPROF_TASKS_H

#include "../backends/target.h"
#include "../linux/tasks.h"
#include "../memory/memory.h"
#include "../symbolize/symbolize.h"

struct tasks_setup {
	struct up_task_finder finder;
	char how[256];          /* where the layout and current came from, for -v */
	double pause_us;        /* the guest was stopped this long to read its BTF (0: not) */
};

/*
 * Fill *ret for target t, whose symbol files (slides decided) are s.  Fails with one
 * actionable line (UP_ERR_INVALID) when no file is a Linux kernel's with the symbols needed or
 * the kernel has no BTF; a read error of the guest is returned as it is.  The guest runs again
 * when this returns.
 */
struct up_error *tasks_setup(struct up_target *t, struct up_memory *mem,
			     const struct up_symbolizer *s, struct tasks_setup *ret);

/* The first -k file with a slide whose symbols locate `current` (x86_64) or the BTF, or NULL. */
const struct up_symfile *kernel_file(const struct up_symbolizer *s);

/*
 * The kernel's BTF out of guest memory, between f's __start_BTF and __stop_BTF (which it must
 * have), in one pause: a new *ret of *size bytes.  *pause_us: how long the guest was stopped.
 */
struct up_error *kernel_btf_read(struct up_target *t, struct up_memory *mem,
				 const struct up_symfile *f, uint8_t **ret, size_t *size,
				 double *pause_us);

#endif
