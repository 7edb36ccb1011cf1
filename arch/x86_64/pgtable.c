/*
 * x86 page-table walk: virtual to physical address, over a physical-memory read callback.
 *
 * Supported: paging off (identity); long mode with 4-level and 5-level (CR4.LA57) tables and
 * 4 KiB, 2 MiB and 1 GiB pages; and, for a guest still in 32-bit protected mode, PAE paging
 * (3 levels, 2 MiB and 4 KiB pages) and legacy 2-level paging (4 MiB pages with CR4.PSE and
 * PSE-36, 4 KiB pages).  Long mode is recognised from EFER.LMA or EFER.LME (with CR0.PG set the
 * CPU sets LMA from LME, and a backend may report only one), so the backend must fill efer.
 *
 * What the hardware would reject we reject too, as a fault at vaddr: a non-canonical address, a
 * not-present entry, the PS bit in a PML5E/PML4E, reserved bits inside a large page's address,
 * reserved bits of a PAE PDPTE.  Checks that depend on the CPU model (MAXPHYADDR, EFER.NXE) are
 * not made: we do not know the model, and a missed fault only means reading memory the guest
 * could not.  Accessed/dirty bits and permissions do not matter to a reader.
 *
 * For a Xen PV guest the entries hold machine frames; we follow whatever the entry says, and the
 * backend's read_phys reads machine memory.  At most five entries are read per walk, and a
 * second walk is made through kernel_cr3 when one is given and cr3 does not map the address.
 */
#include "x86_64.h"

#define X86_CR0_PG      (1ULL << 31)
#define X86_CR4_PSE     (1ULL << 4)
#define X86_CR4_PAE     (1ULL << 5)
#define X86_EFER_LME    (1ULL << 8)
#define X86_EFER_LMA    (1ULL << 10)

#define PTE_PRESENT     (1ULL << 0)
#define PTE_PS          (1ULL << 7)
/*
 * Physical address bits 51:12 of an entry or CR3.  This drops the flags in 11:0 (CR3's PCID
 * with CR4.PCIDE, or PWT/PCD), and bits 63:52 (NX, protection keys, ignored bits; CR3's
 * no-flush bit 63).
 */
#define ADDR_MASK       0x000ffffffffff000ULL
/* A PAE PDPTE's reserved bits: 2:1 and 8:5. */
#define PDPTE_RESERVED  0x1e6ULL

#define PAGE_4K         (1ULL << 12)

/* Entry names by level, 1 (PTE) to 5 (PML5E). */
static const char *const level_name[] = { "", "PTE", "PDE", "PDPTE", "PML4E", "PML5E" };

/*
 * Read the little-endian entry of size bytes (4 or 8) at paddr.  A fault becomes a fault at
 * vaddr naming the entry; any other error (out of memory, a lost target) is passed on.
 */
static struct up_error *read_entry(up_read_phys_fn *read_phys, void *ctx, uint64_t paddr,
				   size_t size, uint64_t vaddr, const char *name, uint64_t *ret)
{
	uint8_t b[8];
	uint64_t v = 0;
	struct up_error *err;

	err = read_phys(ctx, paddr, b, size);
	if (err) {
		struct up_error *fault;

		if (err->code != UP_ERR_FAULT)
			return err;
		fault = up_error_fault(vaddr, "0x%llx: cannot read %s at 0x%llx: %s",
				       (unsigned long long)vaddr, name,
				       (unsigned long long)paddr, err->message);
		up_error_destroy(err);
		return fault;
	}
	/* Assembled byte by byte so the result does not depend on the host's byte order. */
	for (size_t i = size; i > 0; i--)
		v = v << 8 | b[i - 1];
	*ret = v;
	return NULL;
}

static struct up_error *not_present(uint64_t vaddr, const char *name)
{
	return up_error_fault(vaddr, "0x%llx: not mapped (%s not present)",
			      (unsigned long long)vaddr, name);
}

/*
 * Walk 8-byte entries from level top (5 = PML5, 4 = PML4, 2 = PD) down to the page, starting
 * with the table at physical address table.  Long mode and PAE share this format below the
 * PAE PDPT; only long mode's PDPTE (level 3) may map a 1 GiB page.
 */
static struct up_error *walk_64bit_entries(uint64_t table, int top, uint64_t vaddr,
					   up_read_phys_fn *read_phys, void *ctx,
					   struct up_translation *ret)
{
	/* Each round goes down one level and level 1 always ends the walk: at most 5 rounds. */
	for (int level = top;; level--) {
		unsigned int shift = 12 + 9 * (level - 1);
		uint64_t slot = table + ((vaddr >> shift) & 511) * 8;
		uint64_t e = 0, size;
		struct up_error *err;

		err = read_entry(read_phys, ctx, slot, 8, vaddr, level_name[level], &e);
		if (err)
			return err;
		if (!(e & PTE_PRESENT))
			return not_present(vaddr, level_name[level]);
		if (level >= 4 && (e & PTE_PS))
			return up_error_fault(vaddr, "0x%llx: reserved bit (PS) set in %s",
					      (unsigned long long)vaddr, level_name[level]);
		if (level > 1 && !(e & PTE_PS)) {
			table = e & ADDR_MASK;
			continue;
		}
		/*
		 * A page.  In a large page's entry bit 12 is PAT, and the bits between it and
		 * the page's alignment are reserved.
		 */
		size = 1ULL << shift;
		if (level > 1 && (e & (size - 1) & ~(2 * PAGE_4K - 1)))
			return up_error_fault(vaddr, "0x%llx: reserved address bits set in %s",
					      (unsigned long long)vaddr, level_name[level]);
		ret->paddr = (e & ADDR_MASK & ~(size - 1)) | (vaddr & (size - 1));
		ret->page_size = size;
		return NULL;
	}
}

/* Long mode: 4 or 5 levels, canonical addresses only. */
static struct up_error *translate_long(const struct up_regs *regs, uint64_t vaddr,
				       up_read_phys_fn *read_phys, void *ctx,
				       struct up_translation *ret)
{
	int la57 = (regs->x86_64.cr4 & X86_CR4_LA57) != 0;

	if (!x86_64_canonical(vaddr, regs->x86_64.cr4))
		return up_error_fault(vaddr, "0x%llx: not canonical for %d-level paging",
				      (unsigned long long)vaddr, la57 ? 5 : 4);
	return walk_64bit_entries(regs->x86_64.cr3 & ADDR_MASK, la57 ? 5 : 4, vaddr,
				  read_phys, ctx, ret);
}

/* 32-bit PAE paging: a 4-entry PDPT at CR3[31:5], then the long-mode PD and PT format. */
static struct up_error *translate_pae(const struct up_regs *regs, uint64_t vaddr,
				      up_read_phys_fn *read_phys, void *ctx,
				      struct up_translation *ret)
{
	uint64_t pdpt = regs->x86_64.cr3 & 0xffffffe0ULL;
	uint64_t e = 0;
	struct up_error *err;

	err = read_entry(read_phys, ctx, pdpt + (vaddr >> 30) * 8, 8, vaddr, "PDPTE", &e);
	if (err)
		return err;
	if (!(e & PTE_PRESENT))
		return not_present(vaddr, "PDPTE");
	if (e & PDPTE_RESERVED)
		return up_error_fault(vaddr, "0x%llx: reserved bits set in PDPTE",
				      (unsigned long long)vaddr);
	return walk_64bit_entries(e & ADDR_MASK, 2, vaddr, read_phys, ctx, ret);
}

/* Legacy 32-bit paging: 4-byte entries, a PD at CR3[31:12] and a PT, or a 4 MiB page. */
static struct up_error *translate_legacy(const struct up_regs *regs, uint64_t vaddr,
					 up_read_phys_fn *read_phys, void *ctx,
					 struct up_translation *ret)
{
	uint64_t pd = regs->x86_64.cr3 & 0xfffff000ULL;
	uint64_t e = 0;
	struct up_error *err;

	err = read_entry(read_phys, ctx, pd + (vaddr >> 22) * 4, 4, vaddr, "PDE", &e);
	if (err)
		return err;
	if (!(e & PTE_PRESENT))
		return not_present(vaddr, "PDE");
	if ((e & PTE_PS) && (regs->x86_64.cr4 & X86_CR4_PSE)) {
		/* PSE-36: bits 20:13 of a 4 MiB page's entry are physical address bits 39:32. */
		ret->paddr = (e & 0xffc00000ULL) | ((e >> 13) & 0xff) << 32 | (vaddr & 0x3fffff);
		ret->page_size = 1ULL << 22;
		return NULL;
	}
	err = read_entry(read_phys, ctx, (e & 0xfffff000ULL) + ((vaddr >> 12) & 1023) * 4, 4,
			 vaddr, "PTE", &e);
	if (err)
		return err;
	if (!(e & PTE_PRESENT))
		return not_present(vaddr, "PTE");
	ret->paddr = (e & 0xfffff000ULL) | (vaddr & (PAGE_4K - 1));
	ret->page_size = PAGE_4K;
	return NULL;
}

static struct up_error *translate_cr3(const struct up_regs *regs, uint64_t vaddr,
				      up_read_phys_fn *read_phys, void *ctx,
				      struct up_translation *ret)
{
	if (!(regs->x86_64.cr0 & X86_CR0_PG)) {
		/* No paging: the address is physical.  4 KiB keeps page-wise readers safe. */
		ret->paddr = vaddr;
		ret->page_size = PAGE_4K;
		return NULL;
	}
	if (regs->x86_64.efer & (X86_EFER_LMA | X86_EFER_LME))
		return translate_long(regs, vaddr, read_phys, ctx, ret);
	/* 32-bit protected mode: only 32-bit addresses exist. */
	if (vaddr > 0xffffffffULL)
		return up_error_fault(vaddr, "0x%llx: not a 32-bit address (guest not in long mode)",
				      (unsigned long long)vaddr);
	if (regs->x86_64.cr4 & X86_CR4_PAE)
		return translate_pae(regs, vaddr, read_phys, ctx, ret);
	return translate_legacy(regs, vaddr, read_phys, ctx, ret);
}

struct up_error *x86_64_translate(const struct up_regs *regs, uint64_t vaddr,
				  up_read_phys_fn *read_phys, void *ctx,
				  struct up_translation *ret)
{
	uint64_t kernel_cr3 = regs->x86_64.kernel_cr3;
	struct up_error *err = translate_cr3(regs, vaddr, read_phys, ctx, ret);

	if (err && err->code == UP_ERR_FAULT && kernel_cr3 && kernel_cr3 != regs->x86_64.cr3) {
		/* A user table without the kernel: kernel memory is in the kernel's table. */
		struct up_regs kernel = *regs;

		kernel.x86_64.cr3 = kernel_cr3;
		up_error_destroy(err);
		err = translate_cr3(&kernel, vaddr, read_phys, ctx, ret);
	}
	return err;
}
