/*
 * libFuzzer: task_struct's offsets from a hostile BTF blob (the guest's own, read between
 * __start_BTF and __stop_BTF), through libbpf and our member lookup, then `current` read with
 * that layout over memory that is the blob itself; and the BTF header search over it.  Seed: the captured, reduced BTF of
 * tests/unit/data/tasks.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../linux/tasks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct blob {
	const uint8_t *data;
	size_t size;
};

/* Guest memory: the input's bytes at 0xffff800000000000. */
static struct up_error *read_blob(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct blob *b = ctx;
	uint64_t base = 0xffff800000000000ull;

	if (addr < base || addr - base > b->size || len > b->size - (addr - base))
		return up_error_fault(addr, "outside the input");
	memcpy(buf, b->data + (addr - base), len);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_linux_syms syms = { 0 };
	struct up_task_layout l;
	struct up_task_finder f;
	struct up_regs regs = { 0 };
	struct blob b = { data, size };
	struct up_task t;
	struct up_error *err = up_btf_task_layout(data, size, &l);
	size_t blob = 0;
	long at = up_btf_find_header(data, size, 0, &blob);
	int found;

	if (at >= 0 && ((size_t)at + 24 > size || at % 4 || blob < 24 || blob > UP_BTF_MAX_SIZE))
		__builtin_trap();

	if (err) {
		up_error_destroy(err);
		return 0;
	}
	if (l.comm_len != UP_TASK_COMM_LEN)
		__builtin_trap();
	up_linux_syms_note(&syms, "current_task", 8);
	if (up_task_finder_init(&f, &up_arch_x86_64, &syms, 0, &l))
		__builtin_trap();
	regs.x86_64.gs_base = 0xffff800000000000ull;
	err = up_task_current(&f, &regs, read_blob, &b, &t, &found);
	if (err)
		__builtin_trap();
	if (found && (strnlen(t.comm, UP_TASK_COMM_LEN) == UP_TASK_COMM_LEN))
		__builtin_trap();
	return 0;
}
