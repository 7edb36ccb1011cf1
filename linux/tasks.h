/*
 * Which Linux task a vCPU was running: `current` read from guest memory at each sample, then
 * the task's pid, tgid and comm at offsets taken from the kernel's own BTF.
 *
 * Pure code over a read callback (arch/arch.h's up_read_mem_fn), like the walkers: the unit
 * tests run it over recorded guest memory and a captured BTF blob.
 */
#ifndef UP_LINUX_TASKS_H
#define UP_LINUX_TASKS_H

#include <stddef.h>
#include <stdint.h>

#include "../arch/arch.h"
#include "../symbolize/symfile.h"
#include "../util/error.h"
#include "../util/profile.h"

/* Largest BTF blob we read from a guest or a file: Debian 6.1's vmlinux BTF is about 5 MiB. */
#define UP_BTF_MAX_SIZE (64u << 20)

/* Where the fields task attribution reads are, in bytes from the start of their struct. */
struct up_task_layout {
	uint32_t pid, tgid, comm;       /* in struct task_struct */
	uint32_t comm_len;              /* bytes of comm (TASK_COMM_LEN: 16) */
	int has_pcpu_hot;               /* the BTF has struct pcpu_hot with current_task */
	uint32_t pcpu_hot_current;      /* offset of current_task in struct pcpu_hot */
};

/*
 * The layout from a raw BTF blob (the kernel's .BTF, as between __start_BTF and __stop_BTF),
 * len at most UP_BTF_MAX_SIZE.  UP_ERR_INVALID with one line when the blob is no BTF or lacks
 * task_struct's pid, tgid or comm in a shape we read (ints of 4 bytes, a char array).
 */
struct up_error *up_btf_task_layout(const void *blob, size_t len, struct up_task_layout *ret);

/*
 * Where a kernel BTF blob may start in buf[0..len): the offset of the first header at or after
 * from (4-byte aligned: magic 0xeb9f, version 1, a 24-byte header, types then strings, at most
 * UP_BTF_MAX_SIZE in all), its full size in *size; -1 when none starts there.  For a kernel
 * whose symbols do not say where its BTF is (kallsyms without data symbols): the caller reads
 * the kernel's read-only data after _etext and parses what this finds.
 */
long up_btf_find_header(const uint8_t *buf, size_t len, size_t from, size_t *size);

/* The same from an ELF file's .BTF section (a vmlinux given with -k). */
struct up_error *up_btf_task_layout_elf(const char *path, struct up_task_layout *ret);

/*
 * The same from an ELF file's DWARF (a debug vmlinux of a kernel built without BTF): the first
 * complete struct task_struct of its units, and struct pcpu_hot when one has it.  UP_ERR_INVALID
 * with one line when the file has no DWARF or no such task_struct.
 */
struct up_error *up_dwarf_task_layout(const char *path, struct up_task_layout *ret);

/* How `current` is found, set once by up_task_finder_init. */
struct up_task_finder {
	const struct up_arch *arch;
	struct up_task_layout layout;
	/* x86_64: per-CPU offset of the pointer to the current task (runtime, slide applied). */
	uint64_t percpu_current;
	/* How current is found, for -v: "current_task", "pcpu_hot.current_task", "sp_el0". */
	const char *how;
};

/*
 * Set f up for a guest of arch whose kernel symbols (link-time, from the -k file) are syms and
 * whose KASLR slide is slide.  x86_64 needs `current_task` or, without it, `pcpu_hot` with its
 * current_task member in the layout; a per-CPU symbol below 4 GiB is an offset from the per-CPU
 * base (zero-based per-CPU areas: not slid), a larger one a kernel address (slid).  arm64 needs
 * nothing (SP_EL0).  UP_ERR_INVALID with one actionable line when a symbol is missing.
 */
struct up_error *up_task_finder_init(struct up_task_finder *f, const struct up_arch *arch,
				     const struct up_linux_syms *syms, int64_t slide,
				     const struct up_task_layout *layout);

/*
 * The task the vCPU with registers regs was running, into *ret, *found = 1.  *found = 0 when it
 * cannot be told: arm64 in EL0 (SP_EL0 is the user's stack pointer then), a per-CPU base or a
 * task pointer that is no kernel address, a read that faults.  Other read errors are returned
 * (the target is in trouble).  Reads 8 bytes and the task's fields: three reads at most.
 */
struct up_error *up_task_current(const struct up_task_finder *f, const struct up_regs *regs,
				 up_read_mem_fn *read, void *read_ctx, struct up_task *ret,
				 int *found);

#endif
