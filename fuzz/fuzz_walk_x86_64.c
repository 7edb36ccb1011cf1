/*
 * libFuzzer: the x86_64 frame walker over hostile guest memory.  The input is the register
 * set followed by one page of "stack"; the walk must end, stay in bounds and never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/x86_64/x86_64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	uint64_t base;
	const uint8_t *bytes;
	size_t size;
};

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem *m = ctx;

	if (addr < m->base || len > m->size || addr - m->base > m->size - len)
		return up_error_fault(addr, "unmapped");
	memcpy(buf, m->bytes + (addr - m->base), len);
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_regs regs = { 0 };
	struct mem m;
	uint64_t pcs[64];
	struct up_walk walk;

	if (size < 24)
		return 0;
	memcpy(&regs.pc, data, 8);
	memcpy(&regs.fp, data + 8, 8);
	memcpy(&regs.x86_64.cr4, data + 16, 8);
	m.base = regs.fp & ~0xfffULL;
	m.bytes = data + 24;
	m.size = size - 24;
	up_arch_x86_64.walk_frames(&regs, &(struct up_walk_env){ .read = read_mem, .read_ctx = &m }, pcs, 64, &walk);
	if (walk.depth < 1 || walk.depth > 64)
		__builtin_trap();
	return 0;
}
