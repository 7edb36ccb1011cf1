/*
 * libFuzzer: the x86 and AArch64 page-table walkers over hostile page tables.  The input is
 * the paging registers of both architectures and a virtual address, followed by the guest's
 * physical memory from address 0.  Every translation must end after a few aligned entry reads,
 * and its result must be consistent: the page offset kept, a fault reported at the address
 * asked for, the out-parameter untouched on failure.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../arch/arm64/arm64.h"
#include "../arch/x86_64/x86_64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* x86 cr0, cr3, cr4, efer; arm64 ttbr0, ttbr1, tcr, sctlr; vaddr. */
#define HEADER (9 * 8)
/* More entry reads than any walk needs (5 on x86, 4 on arm64) means a loop. */
#define MAX_READS 5

struct phys {
	const uint8_t *bytes;
	size_t size;
	unsigned int reads;
};

static struct up_error *read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct phys *p = ctx;

	/* Walkers read whole 4- or 8-byte entries, aligned as the tables are. */
	if ((len != 4 && len != 8) || paddr % len)
		__builtin_trap();
	if (++p->reads > MAX_READS)
		__builtin_trap();
	if (paddr > p->size || len > p->size - paddr)
		return up_error_fault(paddr, "outside the fuzzed memory");
	memcpy(buf, p->bytes + paddr, len);
	return NULL;
}

typedef struct up_error *translate_fn(const struct up_regs *regs, uint64_t vaddr,
				      up_read_phys_fn *read_phys, void *ctx,
				      struct up_translation *ret);

static void translate_one(translate_fn *translate, const struct up_regs *regs, uint64_t vaddr,
			  const uint8_t *mem, size_t mem_size)
{
	struct phys p = { mem, mem_size, 0 };
	struct up_translation t = { 0x1111, 0x2222 };
	struct up_error *err = translate(regs, vaddr, read_phys, &p, &t);

	if (err) {
		if (err->code != UP_ERR_FAULT && err->code != UP_ERR_UNSUPPORTED)
			__builtin_trap();
		if (err->code == UP_ERR_FAULT && err->address != vaddr)
			__builtin_trap();
		if (!err->message[0] || t.paddr != 0x1111 || t.page_size != 0x2222)
			__builtin_trap();
		up_error_destroy(err);
		return;
	}
	/* A page is a power of two from 4 KiB to 1 GiB (4 MiB on legacy x86, 512 MiB on arm64). */
	if (t.page_size < 0x1000 || t.page_size > 0x40000000 || (t.page_size & (t.page_size - 1)))
		__builtin_trap();
	if ((t.paddr ^ vaddr) & (t.page_size - 1))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_regs x86 = { 0 }, arm = { 0 };
	uint64_t vaddr, vaddrs[4];

	if (size < HEADER)
		return 0;
	memcpy(&x86.x86_64.cr0, data, 8);
	memcpy(&x86.x86_64.cr3, data + 8, 8);
	memcpy(&x86.x86_64.cr4, data + 16, 8);
	memcpy(&x86.x86_64.efer, data + 24, 8);
	memcpy(&arm.arm64.ttbr0, data + 32, 8);
	memcpy(&arm.arm64.ttbr1, data + 40, 8);
	memcpy(&arm.arm64.tcr, data + 48, 8);
	memcpy(&arm.arm64.sctlr, data + 56, 8);
	memcpy(&vaddr, data + 64, 8);

	/* The address as given, in the other half, truncated to 32 bits, and a kernel-ish one. */
	vaddrs[0] = vaddr;
	vaddrs[1] = ~vaddr;
	vaddrs[2] = vaddr & 0xffffffffULL;
	vaddrs[3] = vaddr | 0xffff800000000000ULL;
	for (size_t i = 0; i < sizeof(vaddrs) / sizeof(vaddrs[0]); i++) {
		translate_one(x86_64_translate, &x86, vaddrs[i], data + HEADER, size - HEADER);
		translate_one(arm64_translate, &arm, vaddrs[i], data + HEADER, size - HEADER);
	}
	return 0;
}
