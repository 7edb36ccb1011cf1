/*
 * libFuzzer: the x86_64 and AArch64 frame walkers over hostile guest memory and hostile code.
 * Input: 48 bytes of registers (pc, fp, sp, lr, cr4/tcr, code base), then one page that
 * serves as both the stack (at fp's page) and the code (at the code base), with every
 * 64-byte block of it posing as a function.  Walks must end, stay in bounds, never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/arm64/arm64.h"
#include "../arch/x86_64/x86_64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	uint64_t stack_base, code_base;
	const uint8_t *bytes;
	size_t size;
};

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem *m = ctx;

	if (addr < m->stack_base || len > m->size || addr - m->stack_base > m->size - len)
		return up_error_fault(addr, "unmapped");
	memcpy(buf, m->bytes + (addr - m->stack_base), len);
	return NULL;
}

static uint64_t func_start(void *ctx, uint64_t addr)
{
	struct mem *m = ctx;

	if (addr < m->code_base || addr - m->code_base >= m->size)
		return 0;
	return addr & ~63ULL;
}

static int read_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct mem *m = ctx;

	if (addr < m->code_base || len > m->size || addr - m->code_base > m->size - len)
		return -1;
	memcpy(buf, m->bytes + (addr - m->code_base), len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_regs regs = { 0 };
	uint64_t pcs[32], ctl;
	struct up_walk walk;
	struct mem m;
	struct up_walk_env env = {
		.read = read_mem, .read_ctx = &m,
		.func_start = func_start, .read_code = read_code, .code_ctx = &m,
	};

	if (size < 48)
		return 0;
	memcpy(&regs.pc, data, 8);
	memcpy(&regs.fp, data + 8, 8);
	memcpy(&regs.sp, data + 16, 8);
	memcpy(&regs.lr, data + 24, 8);
	memcpy(&ctl, data + 32, 8);
	memcpy(&m.code_base, data + 40, 8);
	m.code_base &= ~63ULL;
	m.stack_base = regs.fp & ~0xfffULL;
	m.bytes = data + 48;
	m.size = size - 48;

	regs.x86_64.cr4 = ctl;
	/* Memory here only faults, and a fault is never a failure of the walk. */
	if (up_arch_x86_64.walk_frames(&regs, &env, pcs, 32, &walk))
		__builtin_trap();
	if (walk.depth < 1 || walk.depth > 32 || walk.fixup >= UP_FIXUP_COUNT)
		__builtin_trap();

	memset(&regs.x86_64, 0, sizeof(regs.x86_64));
	regs.arm64.tcr = ctl;
	/* Half the inputs stop on "the vectors", the interrupted context made of their bytes. */
	regs.arm64.vbar = ctl & 1 ? regs.pc & ~0x7ffULL : 0;
	regs.arm64.elr = m.code_base + (ctl >> 32);
	regs.arm64.spsr = ctl >> 8;
	if (up_arch_arm64.walk_frames(&regs, &env, pcs, 32, &walk))
		__builtin_trap();
	if (walk.depth < 1 || walk.depth > 32 || walk.fixup >= UP_FIXUP_COUNT)
		__builtin_trap();
	return 0;
}
