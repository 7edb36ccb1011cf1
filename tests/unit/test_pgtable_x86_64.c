/* The x86 page-table walker over hand-built tables in fake physical memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../arch/x86_64/x86_64.h"
#include "fake_memory.h"

/* Physical memory 0-64 KiB holds the tables; the pages they map need not exist. */
#define PHYS_SIZE 0x10000
#define PML5 0x5000ULL
#define PML4 0x1000ULL
#define PDPT 0x2000ULL
#define PD   0x3000ULL
#define PT   0x4000ULL

#define P       0x1ULL
#define RW      0x2ULL
#define PS      0x80ULL
#define NX      (1ULL << 63)
#define CR0_PG  (1ULL << 31)
#define CR0_PE  0x1ULL
#define CR4_PSE (1ULL << 4)
#define CR4_PAE (1ULL << 5)
#define CR4_PCIDE (1ULL << 17)
#define EFER_LME (1ULL << 8)
#define EFER_LMA (1ULL << 10)

/* A kernel text address: PML4[511], PDPT[510], PD[9], PT[0x34], offset 0x567. */
#define VA_TEXT 0xffffffff81234567ULL

static uint8_t phys[PHYS_SIZE];

static struct fake_memory memory(void)
{
	struct fake_memory m = { .nr = 1 };

	memset(phys, 0, sizeof(phys));
	m.regions[0] = (struct fake_region){ 0, PHYS_SIZE, phys };
	return m;
}

static unsigned int idx(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

static void set_entry(uint64_t table, unsigned int index, uint64_t value)
{
	put_le64(phys + table + index * 8, value);
}

static void put_le32(uint64_t paddr, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		phys[paddr + i] = v >> (8 * i);
}

/* Long mode, 4-level, CR3 = PML4. */
static struct up_regs long_mode(void)
{
	struct up_regs r = { 0 };

	r.x86_64.cr0 = CR0_PG | CR0_PE;
	r.x86_64.cr3 = PML4;
	r.x86_64.cr4 = CR4_PAE;
	r.x86_64.efer = EFER_LME | EFER_LMA;
	return r;
}

/* PML4 -> PDPT -> PD -> PT -> the 4 KiB page at 0x7654000 for va, with extra bits in each entry. */
static void map_4k(uint64_t va, uint64_t extra)
{
	set_entry(PML4, idx(va, 4), PDPT | P | RW | extra);
	set_entry(PDPT, idx(va, 3), PD | P | RW | extra);
	set_entry(PD, idx(va, 2), PT | P | RW | extra);
	set_entry(PT, idx(va, 1), 0x7654000 | P | RW | extra);
}

static void expect_ok(const struct up_regs *r, uint64_t va, struct fake_memory *m,
		      uint64_t paddr, uint64_t page_size)
{
	struct up_translation t = { 0 };

	assert_null(x86_64_translate(r, va, fake_read, m, &t));
	assert_int_equal(t.paddr, paddr);
	assert_int_equal(t.page_size, page_size);
}

/* Fails with code; a fault is reported at va and its message names what (e.g. "PDE"). */
static void expect_error(const struct up_regs *r, uint64_t va, struct fake_memory *m,
			 enum up_error_code code, const char *what)
{
	struct up_translation t = { 0x1111, 0x2222 };
	struct up_error *err = x86_64_translate(r, va, fake_read, m, &t);

	assert_non_null(err);
	assert_int_equal(err->code, code);
	if (code == UP_ERR_FAULT)
		assert_int_equal(err->address, va);
	if (what)
		assert_non_null(strstr(err->message, what));
	/* Out-parameter untouched on failure. */
	assert_int_equal(t.paddr, 0x1111);
	assert_int_equal(t.page_size, 0x2222);
	up_error_destroy(err);
}

static void four_level_4k(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	map_4k(VA_TEXT, 0);
	expect_ok(&r, VA_TEXT, &m, 0x7654567, 0x1000);
	assert_int_equal(m.reads, 4);
}

static void two_mib_page(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	map_4k(VA_TEXT, 0);
	set_entry(PD, idx(VA_TEXT, 2), 0x40000000 | PS | P);
	expect_ok(&r, VA_TEXT, &m, 0x40034567, 0x200000);
	/* Bit 12 of a large page's entry is PAT, not address. */
	set_entry(PD, idx(VA_TEXT, 2), 0x40000000 | 0x1000 | PS | P);
	expect_ok(&r, VA_TEXT, &m, 0x40034567, 0x200000);
	/* Bits 20:13 are reserved. */
	set_entry(PD, idx(VA_TEXT, 2), 0x40000000 | 0x2000 | PS | P);
	expect_error(&r, VA_TEXT, &m, UP_ERR_FAULT, "reserved");
}

static void one_gib_page(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	map_4k(VA_TEXT, 0);
	set_entry(PDPT, idx(VA_TEXT, 3), 0x1c0000000ULL | PS | P);
	expect_ok(&r, VA_TEXT, &m, 0x1c1234567ULL, 0x40000000);
	assert_int_equal(m.reads, 2);
	set_entry(PDPT, idx(VA_TEXT, 3), 0x1c0000000ULL | 0x200000 | PS | P);
	expect_error(&r, VA_TEXT, &m, UP_ERR_FAULT, "reserved");
}

static void five_level(void **state)
{
	/* Canonical with 57 bits (63:56 copy bit 56), not with 48. */
	const uint64_t va = 0xff5a5a5a12345678ULL;
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	r.x86_64.cr3 = PML5;
	r.x86_64.cr4 |= X86_CR4_LA57;
	set_entry(PML5, idx(va, 5), PML4 | P);
	map_4k(va, 0);
	expect_ok(&r, va, &m, 0x7654678, 0x1000);
	assert_int_equal(m.reads, 5);
	r.x86_64.cr4 &= ~X86_CR4_LA57;
	expect_error(&r, va, &m, UP_ERR_FAULT, "canonical");
}

static void not_present_at_each_level(void **state)
{
	static const char *const names[] = { "", "PTE", "PDE", "PDPTE", "PML4E", "PML5E" };
	static const uint64_t tables[] = { 0, PT, PD, PDPT, PML4, PML5 };
	const uint64_t va = 0xff5a5a5a12345678ULL;
	struct up_regs r = long_mode();

	(void)state;
	r.x86_64.cr3 = PML5;
	r.x86_64.cr4 |= X86_CR4_LA57;
	for (int level = 1; level <= 5; level++) {
		struct fake_memory m = memory();

		set_entry(PML5, idx(va, 5), PML4 | P);
		map_4k(va, 0);
		/* Everything else kept: only the present bit is missing. */
		phys[tables[level] + idx(va, level) * 8] &= ~P;
		expect_error(&r, va, &m, UP_ERR_FAULT, names[level]);
		assert_int_equal(m.reads, 6 - level);
	}
}

static void non_canonical(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	expect_error(&r, 0x0000800000000000ULL, &m, UP_ERR_FAULT, "canonical");
	expect_error(&r, 0xfffe7fffffffffffULL, &m, UP_ERR_FAULT, "canonical");
	assert_int_equal(m.reads, 0);
}

static void paging_off(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	r.x86_64.cr0 = CR0_PE;
	expect_ok(&r, 0x123456789ULL, &m, 0x123456789ULL, 0x1000);
	assert_int_equal(m.reads, 0);
}

static void cr3_pcid_and_flags(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	map_4k(VA_TEXT, 0);
	/* PCID 0xabc in 11:0, the no-flush bit 63. */
	r.x86_64.cr3 = (1ULL << 63) | PML4 | 0xabc;
	r.x86_64.cr4 |= CR4_PCIDE;
	expect_ok(&r, VA_TEXT, &m, 0x7654567, 0x1000);
	/* Without PCIDE the low bits are PWT/PCD, also not address. */
	r.x86_64.cr3 = PML4 | 0x18;
	r.x86_64.cr4 &= ~CR4_PCIDE;
	expect_ok(&r, VA_TEXT, &m, 0x7654567, 0x1000);
}

static void nx_and_high_bits_in_entries(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	/* NX, protection key 0xf (62:59), ignored bits 58:52, and low flag bits. */
	map_4k(VA_TEXT, NX | 0x7ff0000000000000ULL | 0x160);
	expect_ok(&r, VA_TEXT, &m, 0x7654567, 0x1000);
}

static void lme_without_lma_is_long_mode(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	r.x86_64.efer = EFER_LME;
	map_4k(VA_TEXT, 0);
	expect_ok(&r, VA_TEXT, &m, 0x7654567, 0x1000);
}

static void reserved_ps_in_pml4e(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	map_4k(VA_TEXT, 0);
	set_entry(PML4, idx(VA_TEXT, 4), PDPT | PS | P);
	expect_error(&r, VA_TEXT, &m, UP_ERR_FAULT, "(PS) set in PML4E");
}

static void table_outside_memory(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = long_mode();

	(void)state;
	map_4k(VA_TEXT, 0);
	set_entry(PDPT, idx(VA_TEXT, 3), 0x100000000000ULL | P);
	expect_error(&r, VA_TEXT, &m, UP_ERR_FAULT, "cannot read PDE");
	r.x86_64.cr3 = 0xfff000;
	expect_error(&r, VA_TEXT, &m, UP_ERR_FAULT, "cannot read PML4E");
}

static struct up_error *nomem_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx; (void)addr; (void)buf; (void)len;
	return &up_error_nomem;
}

static void out_of_memory_passes_through(void **state)
{
	struct up_regs r = long_mode();
	struct up_translation t;

	(void)state;
	assert_ptr_equal(x86_64_translate(&r, VA_TEXT, nomem_read, NULL, &t), &up_error_nomem);
}

static void pae_32bit(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = { 0 };
	const uint64_t va = 0xc0123456;

	(void)state;
	r.x86_64.cr0 = CR0_PG | CR0_PE;
	r.x86_64.cr4 = CR4_PAE;
	r.x86_64.cr3 = 0x1020;          /* the PDPT is 32-byte aligned */
	put_le64(phys + 0x1020 + 3 * 8, PD | P);
	set_entry(PD, idx(va, 2), PT | P | RW);
	set_entry(PT, idx(va, 1), NX | 0x123456000ULL | P);
	expect_ok(&r, va, &m, 0x123456456ULL, 0x1000);
	set_entry(PD, idx(va, 2), 0x40000000 | PS | P);
	expect_ok(&r, va, &m, 0x40123456, 0x200000);
	/* Bits 2:1 of a PAE PDPTE are reserved. */
	put_le64(phys + 0x1020 + 3 * 8, PD | RW | P);
	expect_error(&r, va, &m, UP_ERR_FAULT, "PDPTE");
	put_le64(phys + 0x1020 + 3 * 8, PD);
	expect_error(&r, va, &m, UP_ERR_FAULT, "PDPTE not present");
	expect_error(&r, 0x100000000ULL, &m, UP_ERR_FAULT, "32-bit");
}

static void legacy_32bit(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = { 0 };

	(void)state;
	r.x86_64.cr0 = CR0_PG | CR0_PE;
	r.x86_64.cr3 = PD | 0x18;
	/* 0x80123456: PDE 0x200 -> PT, PTE 0x123 -> 0x345000. */
	put_le32(PD + 0x200 * 4, PT | P);
	put_le32(PT + 0x123 * 4, 0x345000 | P);
	expect_ok(&r, 0x80123456, &m, 0x345456, 0x1000);
	/* 0xc0123456: a 4 MiB page with PSE-36 bits 0x12 -> 0x12_8040_0000. */
	put_le32(PD + 0x300 * 4, 0x80400000 | (0x12 << 13) | PS | P);
	r.x86_64.cr4 = CR4_PSE;
	expect_ok(&r, 0xc0123456, &m, 0x1280523456ULL, 0x400000);
	put_le32(PT + 0x124 * 4, 0);
	expect_error(&r, 0x80124000, &m, UP_ERR_FAULT, "PTE not present");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(four_level_4k),
		cmocka_unit_test(two_mib_page),
		cmocka_unit_test(one_gib_page),
		cmocka_unit_test(five_level),
		cmocka_unit_test(not_present_at_each_level),
		cmocka_unit_test(non_canonical),
		cmocka_unit_test(paging_off),
		cmocka_unit_test(cr3_pcid_and_flags),
		cmocka_unit_test(nx_and_high_bits_in_entries),
		cmocka_unit_test(lme_without_lma_is_long_mode),
		cmocka_unit_test(reserved_ps_in_pml4e),
		cmocka_unit_test(table_outside_memory),
		cmocka_unit_test(out_of_memory_passes_through),
		cmocka_unit_test(pae_32bit),
		cmocka_unit_test(legacy_32bit),
	};

	return cmocka_run_group_tests_name("pgtable_x86_64", tests, NULL, NULL);
}
