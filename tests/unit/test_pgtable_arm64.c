/*
 * The AArch64 page-table walker over fake physical memory: the tables of our arm64 test guest
 * (tests/guests/arm64/pgtables.S), rebuilt byte for byte, and hand-built tables for the other
 * granules and VA sizes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../arch/arm64/arm64.h"
#include "fake_memory.h"

/* The guest's tables: k_l0, k_l1, k_l2, k_l3, id_l0, id_l1, one 4 KiB page each. */
#define GUEST_TABLES 0x40203000ULL
#define K_L0  0x40203000ULL
#define K_L1  0x40204000ULL
#define K_L2  0x40205000ULL
#define K_L3  0x40206000ULL
#define ID_L0 0x40207000ULL
#define ID_L1 0x40208000ULL

/* The guest's registers while running, and during the switch-over (EPD0 still clear). */
#define GUEST_TCR        0x1b5103590ULL
#define GUEST_TCR_SWITCH 0x1b5103510ULL
#define GUEST_SCTLR      0x30d0180dULL

/* Descriptor bits, as the guest spells them. */
#define PTE_TABLE  0x3ULL
#define PTE_BLOCK  0x1ULL
#define PTE_PAGE   0x3ULL
#define PTE_NORMAL ((1ULL << 2) | (3ULL << 8) | (1ULL << 10))
#define PTE_DEVICE ((1ULL << 10) | (1ULL << 53) | (1ULL << 54))

#define TCR_TBI0 (1ULL << 37)
#define TCR_TBI1 (1ULL << 38)

/* Room for hand-built tables, 64 KiB aligned for the 64 KiB granule. */
#define OTHER 0x80000000ULL
#define OTHER_SIZE 0x40000

static uint8_t guest[0x6000];
static uint8_t other[OTHER_SIZE];

static void put(uint64_t paddr, uint64_t value)
{
	if (paddr >= OTHER)
		put_le64(other + (paddr - OTHER), value);
	else
		put_le64(guest + (paddr - GUEST_TABLES), value);
}

/* Both regions, the guest's tables filled in as pgtables.S lays them out, the rest zero. */
static struct fake_memory memory(void)
{
	struct fake_memory m = { .nr = 2 };

	memset(guest, 0, sizeof(guest));
	memset(other, 0, sizeof(other));
	m.regions[0] = (struct fake_region){ GUEST_TABLES, sizeof(guest), guest };
	m.regions[1] = (struct fake_region){ OTHER, sizeof(other), other };
	put(K_L0 + 256 * 8, K_L1 + PTE_TABLE);
	put(K_L1 + 0 * 8, 0x00000000 + PTE_DEVICE + PTE_BLOCK);
	put(K_L1 + 1 * 8, K_L2 + PTE_TABLE);
	put(K_L2 + 0 * 8, 0x40000000 + PTE_NORMAL + PTE_BLOCK);
	put(K_L2 + 1 * 8, K_L3 + PTE_TABLE);
	for (uint64_t i = 2; i < 64; i++)
		put(K_L2 + i * 8, 0x40000000 + i * 0x200000 + PTE_NORMAL + PTE_BLOCK);
	for (uint64_t i = 0; i < 512; i++)
		put(K_L3 + i * 8, 0x40200000 + i * 0x1000 + PTE_NORMAL + PTE_PAGE);
	put(ID_L0, ID_L1 + PTE_TABLE);
	put(ID_L1 + 1 * 8, 0x40000000 + PTE_NORMAL + PTE_BLOCK);
	m.reads = 0;
	return m;
}

static struct up_regs guest_regs(void)
{
	struct up_regs r = { 0 };

	r.arm64.ttbr0 = ID_L0;
	r.arm64.ttbr1 = K_L0;
	r.arm64.tcr = GUEST_TCR;
	r.arm64.sctlr = GUEST_SCTLR;
	return r;
}

static void expect_ok(const struct up_regs *r, uint64_t va, struct fake_memory *m,
		      uint64_t paddr, uint64_t page_size)
{
	struct up_translation t = { 0 };

	assert_null(arm64_translate(r, va, fake_read, m, &t));
	assert_int_equal(t.paddr, paddr);
	assert_int_equal(t.page_size, page_size);
}

/* Fails with code; a fault is reported at va; the message contains what. */
static void expect_error(const struct up_regs *r, uint64_t va, struct fake_memory *m,
			 enum up_error_code code, const char *what)
{
	struct up_translation t = { 0x1111, 0x2222 };
	struct up_error *err = arm64_translate(r, va, fake_read, m, &t);

	assert_non_null(err);
	assert_int_equal(err->code, code);
	if (code == UP_ERR_FAULT)
		assert_int_equal(err->address, va);
	assert_non_null(strstr(err->message, what));
	assert_int_equal(t.paddr, 0x1111);
	assert_int_equal(t.page_size, 0x2222);
	up_error_destroy(err);
}

static void guest_kernel_4k_pages(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* Code: L0[256] -> L1[1] -> L2[1] -> L3[1]. */
	expect_ok(&r, 0xffff800040201234ULL, &m, 0x40201234, 0x1000);
	assert_int_equal(m.reads, 4);
	/* CPU 0's stack. */
	expect_ok(&r, 0xffff80004020cff8ULL, &m, 0x4020cff8, 0x1000);
}

static void guest_ram_2m_block(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	expect_ok(&r, 0xffff800041234567ULL, &m, 0x41234567, 0x200000);
	assert_int_equal(m.reads, 3);
	/* The DTB's block, L2[0]. */
	expect_ok(&r, 0xffff800040000010ULL, &m, 0x40000010, 0x200000);
}

static void guest_uart_1g_block(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* Device memory: PXN and UXN (bits 53, 54) are not address. */
	expect_ok(&r, 0xffff800009000018ULL, &m, 0x09000018, 0x40000000);
	assert_int_equal(m.reads, 2);
}

static void ttbr0_low_address(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.tcr = GUEST_TCR_SWITCH;
	expect_ok(&r, 0x40201234, &m, 0x40201234, 0x40000000);
	/* L0[0] -> id_l1[0], which is empty. */
	expect_error(&r, 0x1000, &m, UP_ERR_FAULT, "level 1 descriptor invalid");
}

static void epd0_faults(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	expect_error(&r, 0x40201234, &m, UP_ERR_FAULT, "EPD0");
	assert_int_equal(m.reads, 0);
}

static void invalid_descriptor(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* Past the 128 MiB of RAM: k_l2[64] is zero. */
	expect_error(&r, 0xffff800048000000ULL, &m, UP_ERR_FAULT, "level 2 descriptor invalid");
	/* L0[0] of TTBR1 is zero. */
	expect_error(&r, 0xffff000000000000ULL, &m, UP_ERR_FAULT, "level 0 descriptor invalid");
}

static void block_where_not_allowed(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* A level 0 block exists only with 52-bit addresses. */
	put(K_L0 + 256 * 8, 0x0 + PTE_NORMAL + PTE_BLOCK);
	expect_error(&r, 0xffff800040201234ULL, &m, UP_ERR_FAULT, "level 0");
}

static void reserved_level3_descriptor(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* Bits 1:0 = 01 at level 3 is reserved, not a page. */
	put(K_L3 + 1 * 8, 0x40201000 + PTE_NORMAL + PTE_BLOCK);
	expect_error(&r, 0xffff800040201234ULL, &m, UP_ERR_FAULT, "reserved level 3");
}

static void wrong_top_bits(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.tcr = GUEST_TCR_SWITCH;
	expect_error(&r, 0xfff0800040201234ULL, &m, UP_ERR_FAULT, "upper");
	expect_error(&r, 0x0001000040201234ULL, &m, UP_ERR_FAULT, "lower");
	/* A tag in the top byte needs TBI. */
	expect_error(&r, 0x12ff800040201234ULL, &m, UP_ERR_FAULT, "upper");
	assert_int_equal(m.reads, 0);
}

static void top_byte_ignore(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.tcr = GUEST_TCR_SWITCH | TCR_TBI0 | TCR_TBI1;
	expect_ok(&r, 0x12ff800040201234ULL, &m, 0x40201234, 0x1000);
	expect_ok(&r, 0x3400000040201234ULL, &m, 0x40201234, 0x40000000);
	/* TBI ignores bits 63:56 only: 55:48 must still match. */
	expect_error(&r, 0x12fe800040201234ULL, &m, UP_ERR_FAULT, "upper");
	/* TBI1 alone leaves TTBR0 addresses checked in full. */
	r.arm64.tcr = GUEST_TCR_SWITCH | TCR_TBI1;
	expect_error(&r, 0x3400000040201234ULL, &m, UP_ERR_FAULT, "lower");
}

static void mmu_off(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.sctlr = 0x30d00800;     /* RES1 bits, M clear */
	expect_ok(&r, 0x40201234, &m, 0x40201234, 0x1000);
	r.arm64.sctlr = 0;              /* not read by the backend: documented as MMU off */
	expect_ok(&r, 0xffff800040201234ULL, &m, 0xffff800040201234ULL, 0x1000);
	assert_int_equal(m.reads, 0);
}

static void ttbr_asid_cnp_and_low_bits(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.ttbr1 = (0x42ULL << 48) | K_L0 | 1;
	expect_ok(&r, 0xffff800040201234ULL, &m, 0x40201234, 0x1000);
	/* Base bits below the table's alignment are RES0: ignored, so L0[256] is still read. */
	r.arm64.ttbr1 = K_L0 | 0xff0;
	expect_ok(&r, 0xffff800040201234ULL, &m, 0x40201234, 0x1000);
}

static void va39_starts_at_level1(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* T1SZ = 25, TG1 = 4K: three levels, L1[5] -> L2[1] -> L3[1]. */
	r.arm64.tcr = (25ULL << 16) | (2ULL << 30);
	r.arm64.ttbr1 = OTHER;
	put(OTHER + 5 * 8, (OTHER + 0x1000) | PTE_TABLE);
	put(OTHER + 0x1000 + 1 * 8, (OTHER + 0x2000) | PTE_TABLE);
	put(OTHER + 0x2000 + 1 * 8, 0x9abcd000 | PTE_NORMAL | PTE_PAGE);
	expect_ok(&r, 0xffffff8140201234ULL, &m, 0x9abcd234, 0x1000);
	assert_int_equal(m.reads, 3);
	/* Bits 63:39 must all be set. */
	expect_error(&r, 0xffff7f8140201234ULL, &m, UP_ERR_FAULT, "39-bit");
}

static void granule_16k(void **state)
{
	const uint64_t va = 0x0000812345678abcULL;
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* T0SZ = 16, TG0 = 16K: four levels, a 2-entry level 0 table. */
	r.arm64.tcr = 16 | (2ULL << 14);
	r.arm64.ttbr0 = OTHER;
	put(OTHER + 1 * 8, (OTHER + 0x4000) | PTE_TABLE);
	put(OTHER + 0x4000 + 0x12 * 8, (OTHER + 0x8000) | PTE_TABLE);
	put(OTHER + 0x8000 + 0x1a2 * 8, (OTHER + 0xc000) | PTE_TABLE);
	put(OTHER + 0xc000 + 0x59e * 8, 0x123454000ULL | PTE_NORMAL | PTE_PAGE);
	expect_ok(&r, va, &m, 0x123454abcULL, 0x4000);
	assert_int_equal(m.reads, 4);
	put(OTHER + 0x8000 + 0x1a2 * 8, 0x42000000 | PTE_NORMAL | PTE_BLOCK);
	expect_ok(&r, va, &m, 0x43678abc, 0x2000000);
	/* Level 1 blocks need 52-bit addresses with 16K. */
	put(OTHER + 0x4000 + 0x12 * 8, 0x1000000000ULL | PTE_BLOCK);
	expect_error(&r, va, &m, UP_ERR_FAULT, "block descriptor at level 1");
}

static void granule_64k(void **state)
{
	const uint64_t va = 0xfffffd2345678abcULL;
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	/* T1SZ = 22, TG1 = 64K: 42-bit VAs, levels 2 and 3. */
	r.arm64.tcr = (22ULL << 16) | (3ULL << 30);
	r.arm64.ttbr1 = OTHER + 0x10000;
	put(OTHER + 0x10000 + 0x91a * 8, (OTHER + 0x20000) | PTE_TABLE);
	put(OTHER + 0x20000 + 0x567 * 8, 0x9abc0000 | PTE_NORMAL | PTE_PAGE);
	expect_ok(&r, va, &m, 0x9abc8abc, 0x10000);
	assert_int_equal(m.reads, 2);
	put(OTHER + 0x10000 + 0x91a * 8, 0xa0000000 | PTE_NORMAL | PTE_BLOCK);
	expect_ok(&r, va, &m, 0xa5678abc, 0x20000000);
	/* 48-bit VAs: levels 1-3, the level 1 table has 64 entries (VA bits 47:42). */
	r.arm64.tcr = (16ULL << 16) | (3ULL << 30);
	r.arm64.ttbr1 = OTHER;
	put(OTHER + 0x3f * 8, (OTHER + 0x10000) | PTE_TABLE);
	m.reads = 0;
	expect_ok(&r, va, &m, 0xa5678abc, 0x20000000);
	assert_int_equal(m.reads, 2);
	/* A level 1 (4 TiB) block needs 52-bit addresses. */
	put(OTHER + 0x3f * 8, 0x40000000000ULL | PTE_BLOCK);
	expect_error(&r, va, &m, UP_ERR_FAULT, "block descriptor at level 1");
}

static void unsupported_configurations(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.tcr = GUEST_TCR - (16ULL << 16) + (12ULL << 16);
	expect_error(&r, 0xfff8000040201234ULL, &m, UP_ERR_UNSUPPORTED, "52-bit");
	r.arm64.tcr = GUEST_TCR & ~(3ULL << 30);
	expect_error(&r, 0xffff800040201234ULL, &m, UP_ERR_UNSUPPORTED, "TG1");
	r.arm64.tcr = GUEST_TCR_SWITCH | 60;
	expect_error(&r, 0x10, &m, UP_ERR_UNSUPPORTED, "T0SZ");
	assert_int_equal(m.reads, 0);
}

static void table_outside_memory(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = guest_regs();

	(void)state;
	r.arm64.ttbr1 = 0x50000000;
	expect_error(&r, 0xffff800040201234ULL, &m, UP_ERR_FAULT, "cannot read level 0");
	r.arm64.ttbr1 = K_L0;
	put(K_L2 + 1 * 8, 0x7ff000000000ULL | PTE_TABLE);
	expect_error(&r, 0xffff800040201234ULL, &m, UP_ERR_FAULT, "cannot read level 3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guest_kernel_4k_pages),
		cmocka_unit_test(guest_ram_2m_block),
		cmocka_unit_test(guest_uart_1g_block),
		cmocka_unit_test(ttbr0_low_address),
		cmocka_unit_test(epd0_faults),
		cmocka_unit_test(invalid_descriptor),
		cmocka_unit_test(block_where_not_allowed),
		cmocka_unit_test(reserved_level3_descriptor),
		cmocka_unit_test(wrong_top_bits),
		cmocka_unit_test(top_byte_ignore),
		cmocka_unit_test(mmu_off),
		cmocka_unit_test(ttbr_asid_cnp_and_low_bits),
		cmocka_unit_test(va39_starts_at_level1),
		cmocka_unit_test(granule_16k),
		cmocka_unit_test(granule_64k),
		cmocka_unit_test(unsupported_configurations),
		cmocka_unit_test(table_outside_memory),
	};

	return cmocka_run_group_tests_name("pgtable_arm64", tests, NULL, NULL);
}
