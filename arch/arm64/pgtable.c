/*
 * AArch64 stage 1 translation (EL1&0 regime): virtual to physical address, over a
 * physical-memory read callback.
 *
 * Supported: MMU off (SCTLR_EL1.M clear, identity; a backend that cannot read SCTLR_EL1 leaves
 * sctlr 0, which reads as "MMU off", so backends must fill it whenever the guest may have the
 * MMU on); TTBR0/TTBR1 chosen by VA bit 55; 4 KiB, 16 KiB and 64 KiB granules; VA sizes from
 * 48 bits down to what the granule allows (TxSZ 16..48, 16..47 with 64 KiB), the start level
 * following from TxSZ and the granule; top-byte-ignore (TBI0/TBI1) for the top-bits check, as
 * for a data access; block descriptors where ARMv8.0 allows them (4 KiB: levels 1 and 2;
 * 16 KiB and 64 KiB: level 2).  Output addresses are bits 47:granule of a descriptor.
 *
 * Rejected as UP_ERR_UNSUPPORTED: 52-bit VAs (TxSZ < 16, FEAT_LVA/LPA2), a reserved granule
 * encoding in TCR_EL1.  As UP_ERR_FAULT at vaddr, as the MMU would: top bits that do not match
 * the half, a walk disabled by EPD0/EPD1, an invalid descriptor, a block where none is allowed
 * (which is also how a 52-bit-only block, 4 KiB level 0 or 64 KiB level 1, shows up), a
 * reserved level-3 descriptor, an unreadable table.  Access flag and permissions do not matter
 * to a reader; output bits 51:48 are ignored (RES0 without 52-bit addresses).
 *
 * At most four descriptors are read per translation.
 */
#include "arm64.h"

#define SCTLR_M         (1ULL << 0)

#define TCR_EPD0        (1ULL << 7)
#define TCR_EPD1        (1ULL << 23)
#define TCR_TBI0        (1ULL << 37)
#define TCR_TBI1        (1ULL << 38)

/* TTBRx_EL1 base address: bits 47:1; bits 63:48 are the ASID and bit 0 is CnP. */
#define TTBR_BADDR      0x0000fffffffffffeULL
/* Output or next-table address in a descriptor, before the granule's low bits are cleared. */
#define DESC_ADDR       0x0000fffffffff000ULL

#define DESC_VALID      (1ULL << 0)
#define DESC_TABLE      (1ULL << 1)  /* table at levels 0-2, page at level 3; clear: block */

#define VA_BITS_MAX     48

/* The translation regime for one half of the address space, decoded from TCR_EL1. */
struct half {
	int upper;             /* TTBR1 */
	uint64_t table;        /* physical address of the start level's table */
	unsigned int granule;  /* log2 of the granule: 12, 14 or 16 */
	unsigned int va_bits;  /* 64 - TxSZ */
	int tbi;               /* top byte ignored */
	int disabled;          /* EPDx: a walk in this half faults */
};

static const char *granule_name(unsigned int granule)
{
	return granule == 12 ? "4K" : granule == 14 ? "16K" : "64K";
}

/*
 * Decode TCR_EL1 and TTBRx for the half vaddr is in.  Fails with UP_ERR_UNSUPPORTED for what
 * we do not walk: a reserved granule encoding, 52-bit VAs, a TxSZ too large to leave a level.
 */
static struct up_error *decode_half(const struct up_regs *regs, uint64_t vaddr,
				    struct half *ret)
{
	uint64_t tcr = regs->arm64.tcr;
	int upper = (vaddr >> 55) & 1;
	unsigned int txsz, tg, granule;

	if (upper) {
		txsz = (tcr >> 16) & 0x3f;
		tg = (tcr >> 30) & 3;
		/* TG1 encodes the granules differently from TG0: 1 = 16K, 2 = 4K, 3 = 64K. */
		granule = tg == 1 ? 14 : tg == 2 ? 12 : tg == 3 ? 16 : 0;
	} else {
		txsz = tcr & 0x3f;
		tg = (tcr >> 14) & 3;
		granule = tg == 0 ? 12 : tg == 2 ? 14 : tg == 1 ? 16 : 0;
	}
	if (!granule)
		return up_error_create(UP_ERR_UNSUPPORTED,
				       "0x%llx: TCR_EL1.TG%d = %u is a reserved granule encoding",
				       (unsigned long long)vaddr, upper, tg);
	if (txsz < 64 - VA_BITS_MAX)
		return up_error_create(UP_ERR_UNSUPPORTED,
				       "0x%llx: T%dSZ = %u selects %u-bit VAs; 52-bit VAs (LVA/LPA2) are unsupported",
				       (unsigned long long)vaddr, upper, txsz, 64 - txsz);
	/* At least one index bit must remain above the page offset. */
	if (64 - txsz <= granule)
		return up_error_create(UP_ERR_UNSUPPORTED,
				       "0x%llx: T%dSZ = %u is too large for the %s granule",
				       (unsigned long long)vaddr, upper, txsz, granule_name(granule));
	ret->upper = upper;
	ret->table = (upper ? regs->arm64.ttbr1 : regs->arm64.ttbr0) & TTBR_BADDR;
	ret->granule = granule;
	ret->va_bits = 64 - txsz;
	ret->tbi = (tcr & (upper ? TCR_TBI1 : TCR_TBI0)) != 0;
	ret->disabled = (tcr & (upper ? TCR_EPD1 : TCR_EPD0)) != 0;
	return NULL;
}

/* Whether vaddr's bits above the VA size (below bit 56 with TBI) all equal bit 55. */
static int top_bits_ok(const struct half *h, uint64_t vaddr)
{
	unsigned int top = h->tbi ? 56 : 64;
	uint64_t mask = (top == 64 ? ~0ULL : (1ULL << top) - 1) & ~((1ULL << h->va_bits) - 1);

	return (vaddr & mask) == (h->upper ? mask : 0);
}

/*
 * Read the little-endian descriptor at paddr.  A fault becomes a fault at vaddr; any other
 * error (out of memory, a lost target) is passed on.
 */
static struct up_error *read_desc(up_read_phys_fn *read_phys, void *ctx, uint64_t paddr,
				  uint64_t vaddr, int level, uint64_t *ret)
{
	uint8_t b[8];
	uint64_t v = 0;
	struct up_error *err;

	err = read_phys(ctx, paddr, b, sizeof(b));
	if (err) {
		struct up_error *fault;

		if (err->code != UP_ERR_FAULT)
			return err;
		fault = up_error_fault(vaddr, "0x%llx: cannot read level %d descriptor at 0x%llx: %s",
				       (unsigned long long)vaddr, level,
				       (unsigned long long)paddr, err->message);
		up_error_destroy(err);
		return fault;
	}
	/* Assembled byte by byte so the result does not depend on the host's byte order. */
	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	*ret = v;
	return NULL;
}

/* Whether ARMv8.0 (no 52-bit addresses) allows a block descriptor at level with granule. */
static int block_allowed(unsigned int granule, int level)
{
	return level == 2 || (granule == 12 && level == 1);
}

struct up_error *arm64_translate(const struct up_regs *regs, uint64_t vaddr,
				 up_read_phys_fn *read_phys, void *ctx,
				 struct up_translation *ret)
{
	struct half h = { 0 };
	struct up_error *err;
	unsigned int stride, levels;
	uint64_t table;

	if (!(regs->arm64.sctlr & SCTLR_M)) {
		/* MMU off: the address is physical.  4 KiB keeps page-wise readers safe. */
		ret->paddr = vaddr;
		ret->page_size = 1ULL << 12;
		return NULL;
	}
	err = decode_half(regs, vaddr, &h);
	if (err)
		return err;
	if (!top_bits_ok(&h, vaddr))
		return up_error_fault(vaddr, "0x%llx: outside the %u-bit %s half (TTBR%d)",
				      (unsigned long long)vaddr, h.va_bits,
				      h.upper ? "upper" : "lower", h.upper);
	if (h.disabled)
		return up_error_fault(vaddr, "0x%llx: TTBR%d walks disabled (TCR_EL1.EPD%d)",
				      (unsigned long long)vaddr, h.upper, h.upper);

	/*
	 * Each level resolves granule - 3 bits (a table is one granule of 8-byte descriptors);
	 * the start level is the one that leaves exactly enough levels for the VA bits above
	 * the page offset, and its table may be shorter than a granule.
	 */
	stride = h.granule - 3;
	levels = (h.va_bits - h.granule + stride - 1) / stride;
	table = h.table;
	for (int level = 4 - (int)levels;; level++) {
		unsigned int shift = h.granule + stride * (3 - level);
		unsigned int bits = h.va_bits - shift < stride ? h.va_bits - shift : stride;
		uint64_t index = (vaddr >> shift) & ((1ULL << bits) - 1);
		uint64_t d = 0, size, oa;

		/*
		 * A table is aligned to its size (at least 64 bytes): the low base bits are RES0,
		 * and clearing them keeps the descriptor inside the table.
		 */
		table &= ~((bits + 3 > 6 ? 1ULL << (bits + 3) : 64) - 1);
		err = read_desc(read_phys, ctx, table + index * 8, vaddr, level, &d);
		if (err)
			return err;
		if (!(d & DESC_VALID))
			return up_error_fault(vaddr, "0x%llx: not mapped (level %d descriptor invalid)",
					      (unsigned long long)vaddr, level);
		oa = d & DESC_ADDR & ~((1ULL << h.granule) - 1);
		if (level < 3 && (d & DESC_TABLE)) {
			table = oa;
			continue;
		}
		if (level == 3 && !(d & DESC_TABLE))
			return up_error_fault(vaddr, "0x%llx: reserved level 3 descriptor",
					      (unsigned long long)vaddr);
		if (level < 3 && !block_allowed(h.granule, level))
			return up_error_fault(vaddr,
					      "0x%llx: block descriptor at level %d not allowed with the %s granule",
					      (unsigned long long)vaddr, level,
					      granule_name(h.granule));
		size = 1ULL << shift;
		ret->paddr = (oa & ~(size - 1)) | (vaddr & (size - 1));
		ret->page_size = size;
		return NULL;
	}
}
