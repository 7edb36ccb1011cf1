/*
 * libFuzzer: the ORC table search and the ORC unwinder over hostile tables, registers and
 * guest memory.  Input: a format version byte (1-3), an entry count byte (1-64), that many ip
 * offsets (int32, little-endian) and raw 6-byte entries, then rip, rsp and rbp (8 bytes each),
 * then the stack, mapped at rsp's page.  The table's ips start at 0xffffffff81000000 and need
 * not be sorted.  Walks must end, stay in bounds and never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/x86_64/x86_64.h"
#include "../unwind/unwinder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define IP_BASE 0xffffffff81000000ull

struct stack {
	uint64_t base;
	const uint8_t *bytes;
	size_t size;
};

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct stack *s = ctx;

	if (addr < s->base || len > s->size || addr - s->base > s->size - len)
		return up_error_fault(addr, "unmapped");
	memcpy(buf, s->bytes + (addr - s->base), len);
	return NULL;
}

static uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int32_t ips[64];
	struct up_orc *orc = NULL;
	struct up_regs regs = { 0 };
	struct stack st;
	struct up_walk w;
	uint64_t pcs[64];
	size_t n;
	unsigned int version;

	if (size < 2)
		return 0;
	version = data[0] % 3 + 1;
	n = data[1] % 64 + 1;
	data += 2;
	size -= 2;
	if (size < n * 10 + 24)
		return 0;
	for (size_t i = 0; i < n; i++)
		memcpy(&ips[i], data + 4 * i, 4);
	if (up_orc_create(version, IP_BASE, ips, data + 4 * n, n, &orc))
		return 0;
	data += 10 * n;
	size -= 10 * n;
	regs.pc = IP_BASE + (le64(data) & 0xffff);
	regs.sp = le64(data + 8);
	regs.fp = le64(data + 16);
	up_regs_set_gpr(&regs, 16, regs.pc);
	up_regs_set_gpr(&regs, 7, regs.sp);
	up_regs_set_gpr(&regs, 6, regs.fp);
	st.base = regs.sp & ~0xfffull;
	st.bytes = data + 24;
	st.size = size - 24;
	{
		struct up_unwind_env env = {
			.walk = { .read = read_mem, .read_ctx = &st },
			.arch = &up_arch_x86_64,
			.orc = orc,
		};
		struct up_error *err = up_unwinder_orc.walk(&env, &regs, pcs, 64, &w);

		if (w.depth < 1 || w.depth > 64)
			__builtin_trap();
		up_error_destroy(err);
	}
	up_orc_destroy(orc);
	return 0;
}
