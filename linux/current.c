/* `current` of a vCPU and the task's pid, tgid and comm, read from guest memory. */
#include <string.h>

#include "../util/bytes.h"
#include "tasks.h"

/* Kernel halves: x86_64 with 4- or 5-level paging, arm64 TTBR1 (any VA size, TBI off). */
static int kernel_address(const struct up_arch *arch, uint64_t a)
{
	if (arch == &up_arch_arm64)
		return a >> 48 == 0xffff;
	return a >= 0xff00000000000000ULL;
}

struct up_error *up_task_finder_init(struct up_task_finder *f, const struct up_arch *arch,
				     const struct up_linux_syms *syms, int64_t slide,
				     const struct up_task_layout *layout)
{
	uint64_t sym;

	memset(f, 0, sizeof(*f));
	f->arch = arch;
	f->layout = *layout;
	if (arch == &up_arch_arm64) {
		f->how = "sp_el0";
		return NULL;
	}
	if (arch != &up_arch_x86_64)
		return up_error_create(UP_ERR_INVALID, "tasks are read on x86_64 and aarch64 guests only");
	if (syms->has & (1u << UP_LSYM_CURRENT_TASK)) {
		sym = syms->value[UP_LSYM_CURRENT_TASK];
		f->how = "current_task";
	} else if ((syms->has & (1u << UP_LSYM_PCPU_HOT)) && layout->has_pcpu_hot) {
		sym = syms->value[UP_LSYM_PCPU_HOT] + layout->pcpu_hot_current;
		f->how = "pcpu_hot.current_task";
	} else {
		return up_error_create(UP_ERR_INVALID,
				       "the symbol file has neither current_task nor pcpu_hot: give "
				       "the guest's /proc/kallsyms or System.map with -k");
	}
	/* Zero-based per-CPU symbols are offsets; otherwise a kernel address that KASLR moved. */
	f->percpu_current = sym < (1ULL << 32) ? sym : sym + (uint64_t)slide;
	return NULL;
}

/* Read len bytes; a fault is *found = 0, not an error. */
static struct up_error *read_or_miss(up_read_mem_fn *read, void *ctx, uint64_t addr, void *buf,
				     size_t len, int *found)
{
	struct up_error *err = read(ctx, addr, buf, len);

	if (up_error_catch(&err, UP_ERR_FAULT))
		*found = 0;
	return err;
}

struct up_error *up_task_current(const struct up_task_finder *f, const struct up_regs *regs,
				 up_read_mem_fn *read, void *read_ctx, struct up_task *ret,
				 int *found)
{
	const struct up_task_layout *l = &f->layout;
	uint64_t task, lo, hi;
	uint8_t buf[8], ids[8], comm[UP_TASK_COMM_LEN], span[1024];
	struct up_error *err;

	*found = 0;
	if (f->arch == &up_arch_arm64) {
		/* In EL1 Linux keeps current in SP_EL0; in EL0 it is the user's stack pointer. */
		if (regs->user)
			return NULL;
		task = regs->arm64.sp_el0;
	} else {
		/*
		 * The per-CPU base is GS base in the kernel; in user mode, and in the entry code
		 * before swapgs, it waits in KERNEL_GS_BASE.  The kernel half tells which.
		 */
		uint64_t base = regs->x86_64.gs_base;

		if (!kernel_address(f->arch, base))
			base = regs->x86_64.kernel_gs_base;
		if (!kernel_address(f->arch, base))
			return NULL;
		*found = 1;
		err = read_or_miss(read, read_ctx, base + f->percpu_current, buf, 8, found);
		if (err || !*found)
			return err;
		task = up_le64(buf);
		*found = 0;
	}
	if (!kernel_address(f->arch, task) || task % 8)
		return NULL;
	/*
	 * pid, tgid and comm in one read when they lie close together (6.1 x86_64: 0x240 bytes),
	 * which costs one translation and one copy; else one read each.
	 */
	lo = l->pid;
	hi = l->pid + 4;
	lo = l->tgid < lo ? l->tgid : lo;
	hi = l->tgid + 4 > hi ? l->tgid + 4 : hi;
	lo = l->comm < lo ? l->comm : lo;
	hi = l->comm + UP_TASK_COMM_LEN > hi ? l->comm + UP_TASK_COMM_LEN : hi;
	*found = 1;
	if (hi - lo <= sizeof(span)) {
		err = read_or_miss(read, read_ctx, task + lo, span, hi - lo, found);
		if (err || !*found)
			return err;
		ret->pid = (int32_t)up_le32(span + (l->pid - lo));
		ret->tgid = (int32_t)up_le32(span + (l->tgid - lo));
		memcpy(comm, span + (l->comm - lo), sizeof(comm));
	} else {
		err = read_or_miss(read, read_ctx, task + l->pid, ids, 4, found);
		if (!err && *found)
			err = read_or_miss(read, read_ctx, task + l->tgid, ids + 4, 4, found);
		if (!err && *found)
			err = read_or_miss(read, read_ctx, task + l->comm, comm, sizeof(comm), found);
		if (err || !*found)
			return err;
		ret->pid = (int32_t)up_le32(ids);
		ret->tgid = (int32_t)up_le32(ids + 4);
	}
	up_task_set_comm(ret, comm, sizeof(comm));
	return NULL;
}
