/*
 * libFuzzer: the cfi and auto unwinders over hostile registers, hostile CFI rows and hostile
 * guest memory, on both architectures.  Input: the general registers (33 x 8 bytes,
 * little-endian) and their valid mask (8), four CFI rows of ROW_BYTES each (status, CFA
 * register, return-address column, flags (1: signal frame, 2: CFA dereferenced), CFA offset as
 * int16; then per register its rule, its base register and an int16 value), then the stack,
 * at sp's page.  A frame's row is picked by its address,
 * and a fifth of addresses have none.  Walks must end, stay in bounds and never crash.
 * fuzz/unwind_seed.py writes a seed that walks a few frames.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/arm64/arm64.h"
#include "../arch/x86_64/x86_64.h"
#include "../unwind/unwinder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NR_ROWS 4
#define ROW_BYTES (6 + 4 * UP_MAX_GPRS)

struct input {
	uint64_t base;
	const uint8_t *bytes;
	size_t size;
	struct up_cfi_row rows[NR_ROWS];
	struct up_cfi_row none;
};

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct input *in = ctx;

	if (addr < in->base || len > in->size || addr - in->base > in->size - len)
		return up_error_fault(addr, "unmapped");
	memcpy(buf, in->bytes + (addr - in->base), len);
	return NULL;
}

static const struct up_cfi_row *lookup(void *ctx, uint64_t addr)
{
	struct input *in = ctx;
	unsigned int i = (unsigned int)((addr >> 2) % (NR_ROWS + 1));

	if (i == NR_ROWS)
		return &in->none;
	return &in->rows[i];
}

static void walk_all(const struct up_arch *arch, struct input *in, const struct up_regs *regs)
{
	const struct up_unwinder *unwinders[] = { &up_unwinder_cfi, &up_unwinder_auto };
	struct up_unwind_env env = {
		.walk = { .read = read_mem, .read_ctx = in },
		.arch = arch,
		.cfi_lookup = lookup,
		.cfi_ctx = in,
	};
	uint64_t pcs[32];
	struct up_walk w;

	for (size_t u = 0; u < 2; u++) {
		/* Memory here only faults, and a fault is never a failure of the walk. */
		if (unwinders[u]->walk(&env, regs, pcs, 32, &w))
			__builtin_trap();
		if (w.depth < 1 || w.depth > 32 || w.stop >= UP_WALK_STOP_COUNT)
			__builtin_trap();
	}
}

static int16_t le16(const uint8_t *p)
{
	return (int16_t)(p[0] | p[1] << 8);
}

static void parse_row(const uint8_t *p, struct up_cfi_row *ret)
{
	ret->status = p[0];
	ret->cfa_reg = p[1];
	ret->ra_reg = p[2];
	ret->signal = p[3] & 1;
	ret->cfa_deref = (p[3] >> 1) & 1;
	ret->cfa_offset = le16(p + 4);
	for (int r = 0; r < UP_MAX_GPRS; r++) {
		ret->rule[r] = p[6 + 4 * r];
		ret->base[r] = p[7 + 4 * r];
		ret->value[r] = le16(p + 8 + 4 * r);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t head = UP_MAX_GPRS * 8 + 8 + NR_ROWS * ROW_BYTES;
	struct up_regs regs = { 0 };
	struct input in;

	if (size < head)
		return 0;
	memset(&in, 0, sizeof(in));
	memcpy(regs.gpr, data, UP_MAX_GPRS * 8);
	memcpy(&regs.gpr_valid, data + UP_MAX_GPRS * 8, 8);
	for (int i = 0; i < NR_ROWS; i++)
		parse_row(data + UP_MAX_GPRS * 8 + 8 + i * ROW_BYTES, &in.rows[i]);
	in.none.status = UP_CFI_NONE;
	in.bytes = data + head;
	in.size = size - head;

	regs.pc = regs.gpr[X86_64_RIP];
	regs.sp = regs.gpr[X86_64_RSP];
	regs.fp = regs.gpr[X86_64_RBP];
	in.base = regs.sp & ~0xfffULL;
	walk_all(&up_arch_x86_64, &in, &regs);

	regs.pc = regs.gpr[ARM64_PC];
	regs.sp = regs.gpr[ARM64_SP];
	regs.fp = regs.gpr[ARM64_X29];
	regs.lr = regs.gpr[ARM64_X30];
	in.base = regs.sp & ~0xfffULL;
	walk_all(&up_arch_arm64, &in, &regs);
	return 0;
}
