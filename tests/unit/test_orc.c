/*
 * The ORC unwinder over synthetic tables of every format version (1: up to 6.2, 2: 6.3, 3:
 * 6.4 and later) and fake guest memory: decoding, the version from .orc_header and from the
 * kernel release, reading the tables from guest memory, the table search, and walks through
 * call frames, a full pt_regs frame into user mode, an iret frame onto another stack, the
 * outermost and undefined entries, and the bounds.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../arch/x86_64/x86_64.h"
#include "../../unwind/unwinder.h"
#include "fake_memory.h"

#define TEXT 0xffffffff81000000ULL
#define F0 (TEXT + 0x1000)     /* leaf: CALL, CFA = sp + 8 */
#define F1 (TEXT + 0x2000)     /* CALL, CFA = sp + 24, bp saved at CFA - 16 */
#define ENTRY (TEXT + 0x3000)  /* REGS at sp */
#define IRQ (TEXT + 0x4000)    /* REGS_PARTIAL at sp */
#define END (TEXT + 0x5000)    /* END_OF_STACK */
#define UNDEF (TEXT + 0x6000)  /* UNDEFINED */
#define FLAT (TEXT + 0x7000)   /* CALL with CFA = sp: a loop */
#define LAST (TEXT + 0x8000)   /* the terminator */

#define STACK 0xffffc90000010000ULL
#define IRQ_STACK 0xffffc90000000000ULL

static uint8_t stack[4096], irq_stack[4096];
static struct fake_memory mem;

static void put(uint64_t addr, uint64_t value)
{
	if (addr >= STACK)
		put_le64(stack + (addr - STACK), value);
	else
		put_le64(irq_stack + (addr - IRQ_STACK), value);
}

static void reset_memory(void)
{
	memset(stack, 0, sizeof(stack));
	memset(irq_stack, 0, sizeof(irq_stack));
	memset(&mem, 0, sizeof(mem));
	mem.nr = 2;
	mem.regions[0] = (struct fake_region){ STACK, sizeof(stack), stack };
	mem.regions[1] = (struct fake_region){ IRQ_STACK, sizeof(irq_stack), irq_stack };
}

/* One raw entry of format version, as that kernel's objtool writes it. */
static void encode(unsigned int version, const struct up_orc_entry *e, uint8_t raw[6])
{
	unsigned int flags = e->sp_reg | e->bp_reg << 4;

	if (version >= 3) {
		flags |= (unsigned int)e->type << 8 | (unsigned int)e->signal << 11;
	} else {
		unsigned int end_bit = version == 2 ? 11 : 10;

		if (e->type == UP_ORC_END_OF_STACK)
			flags = 1u << end_bit;     /* sp_reg undefined, end set */
		else if (e->type == UP_ORC_UNDEFINED)
			flags = 0;
		else
			flags |= (unsigned int)(e->type - UP_ORC_CALL) << 8;
		if (version == 2 && e->type >= UP_ORC_CALL)
			flags |= (unsigned int)e->signal << 10;
	}
	raw[0] = (uint8_t)e->sp_offset;
	raw[1] = (uint8_t)((uint16_t)e->sp_offset >> 8);
	raw[2] = (uint8_t)e->bp_offset;
	raw[3] = (uint8_t)((uint16_t)e->bp_offset >> 8);
	raw[4] = (uint8_t)flags;
	raw[5] = (uint8_t)(flags >> 8);
}

static const struct {
	uint64_t ip;
	struct up_orc_entry e;
} table[] = {
	{ F0, { 8, 0, UP_ORC_REG_SP, UP_ORC_REG_UNDEFINED, UP_ORC_CALL, 0 } },
	{ F1, { 24, -16, UP_ORC_REG_SP, UP_ORC_REG_PREV_SP, UP_ORC_CALL, 0 } },
	{ ENTRY, { 0, 0, UP_ORC_REG_SP, UP_ORC_REG_UNDEFINED, UP_ORC_REGS, 1 } },
	{ IRQ, { 0, 0, UP_ORC_REG_SP, UP_ORC_REG_UNDEFINED, UP_ORC_REGS_PARTIAL, 1 } },
	{ END, { 0, 0, UP_ORC_REG_UNDEFINED, UP_ORC_REG_UNDEFINED, UP_ORC_END_OF_STACK, 0 } },
	{ UNDEF, { 0, 0, UP_ORC_REG_UNDEFINED, UP_ORC_REG_UNDEFINED, UP_ORC_UNDEFINED, 0 } },
	{ FLAT, { 0, 0, UP_ORC_REG_SP, UP_ORC_REG_UNDEFINED, UP_ORC_CALL, 0 } },
	{ LAST, { 0, 0, UP_ORC_REG_UNDEFINED, UP_ORC_REG_UNDEFINED, UP_ORC_UNDEFINED, 0 } },
};
#define N (sizeof(table) / sizeof(table[0]))

/* The table's two arrays, the ips relative to ip_base as .orc_unwind_ip holds them. */
static void build(unsigned int version, uint64_t ip_base, int32_t ips[N], uint8_t raw[N * 6])
{
	for (size_t i = 0; i < N; i++) {
		ips[i] = (int32_t)(int64_t)(table[i].ip - (ip_base + 4 * i));
		encode(version, &table[i].e, raw + 6 * i);
	}
}

static struct up_orc *make_orc(unsigned int version)
{
	int32_t ips[N];
	uint8_t raw[N * 6];
	struct up_orc *orc = NULL;

	build(version, TEXT + 0x900000, ips, raw);
	assert_null(up_orc_create(version, TEXT + 0x900000, ips, raw, N, &orc));
	return orc;
}

static void test_decode_every_version(void **state)
{
	(void)state;
	for (unsigned int v = 1; v <= 3; v++) {
		for (size_t i = 0; i < N; i++) {
			uint8_t raw[6];
			struct up_orc_entry d;

			encode(v, &table[i].e, raw);
			up_orc_decode(v, raw, &d);
			assert_int_equal(d.type, table[i].e.type);
			if (d.type >= UP_ORC_CALL) {
				assert_int_equal(d.sp_reg, table[i].e.sp_reg);
				assert_int_equal(d.bp_reg, table[i].e.bp_reg);
				assert_int_equal(d.sp_offset, table[i].e.sp_offset);
				assert_int_equal(d.bp_offset, table[i].e.bp_offset);
				/* Version 1 has no signal bit: entry frames imply it. */
				assert_int_equal(d.signal, table[i].e.signal);
			}
		}
	}
}

static void test_versions(void **state)
{
	uint8_t header[20] = { 0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6, 0x3b, 0x2c, 0xa9,
			       0xa5, 0xc6, 0x5b, 0xa5, 0xa6, 0x25, 0xea, 0xb3, 0xfe, 0x24 };

	(void)state;
	assert_int_equal(up_orc_version_from_header(header), 3);
	header[19] ^= 1;
	assert_int_equal(up_orc_version_from_header(header), 0);
	assert_int_equal(up_orc_version_from_release(5, 10), 1);
	assert_int_equal(up_orc_version_from_release(6, 1), 1);
	assert_int_equal(up_orc_version_from_release(6, 3), 2);
	assert_int_equal(up_orc_version_from_release(6, 4), 3);
	assert_int_equal(up_orc_version_from_release(7, 0), 3);
}

static void test_find(void **state)
{
	struct up_orc *orc = make_orc(3);
	struct up_orc_entry e;

	(void)state;
	assert_int_equal(up_orc_find(orc, F0 - 1, &e), -1);
	assert_int_equal(up_orc_find(orc, F0, &e), 0);
	assert_int_equal(e.sp_offset, 8);
	assert_int_equal(up_orc_find(orc, F1 - 1, &e), 0);
	assert_int_equal(e.sp_offset, 8);
	assert_int_equal(up_orc_find(orc, F1 + 0x10, &e), 0);
	assert_int_equal(e.sp_offset, 24);
	assert_int_equal(up_orc_find(orc, LAST + 0x100000, &e), 0);
	assert_int_equal(e.type, UP_ORC_UNDEFINED);
	up_orc_destroy(orc);
}

static struct up_regs regs_at(uint64_t pc, uint64_t sp, uint64_t bp)
{
	struct up_regs r = { .pc = pc, .sp = sp, .fp = bp };

	up_regs_set_gpr(&r, 16, pc);
	up_regs_set_gpr(&r, 7, sp);
	up_regs_set_gpr(&r, 6, bp);
	return r;
}

static struct up_walk walk(struct up_orc *orc, struct up_regs r, uint64_t *pcs, size_t max)
{
	struct up_unwind_env env = {
		.walk = { .read = fake_read, .read_ctx = &mem },
		.arch = &up_arch_x86_64,
		.orc = orc,
	};
	struct up_walk w;

	assert_null(up_unwinder_orc.walk(&env, &r, pcs, max, &w));
	return w;
}

/* F0 <- F1 <- ENTRY, whose pt_regs hold a user pc: a complete kernel stack. */
static void lay_syscall_stack(void)
{
	put(STACK + 0x100, F1 + 0x20);           /* F0's return address */
	put(STACK + 0x110, 0x1234);              /* F1's saved bp, at CFA - 16 */
	put(STACK + 0x118, ENTRY + 0x10);        /* F1's return address */
	put(STACK + 0x120 + 128, 0x401000);      /* pt_regs.ip: user */
	put(STACK + 0x120 + 152, 0x7ffd0000);    /* pt_regs.sp */
}

static void test_walk_to_user_every_version(void **state)
{
	(void)state;
	for (unsigned int v = 1; v <= 3; v++) {
		struct up_orc *orc = make_orc(v);
		uint64_t pcs[16];
		struct up_walk w;

		reset_memory();
		lay_syscall_stack();
		w = walk(orc, regs_at(F0 + 0x10, STACK + 0x100, 0), pcs, 16);
		assert_int_equal(w.stop, UP_WALK_END);
		assert_int_equal(w.depth, 3);
		assert_int_equal(pcs[0], F0 + 0x10);
		assert_int_equal(pcs[1], F1 + 0x20);
		assert_int_equal(pcs[2], ENTRY + 0x10);
		assert_int_equal(w.exact, 0);
		/* The depth cap holds. */
		w = walk(orc, regs_at(F0 + 0x10, STACK + 0x100, 0), pcs, 2);
		assert_int_equal(w.stop, UP_WALK_DEPTH);
		assert_int_equal(w.depth, 2);
		up_orc_destroy(orc);
	}
}

/* An interrupt on the IRQ stack (below the task stack) at an exact pc in F1. */
static void test_iret_frame_switches_stack(void **state)
{
	struct up_orc *orc = make_orc(3);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	reset_memory();
	lay_syscall_stack();
	put(IRQ_STACK + 0x200, F1);              /* iret frame: ip, exactly F1's first byte */
	put(IRQ_STACK + 0x200 + 24, STACK + 0x108);
	w = walk(orc, regs_at(IRQ + 4, IRQ_STACK + 0x200, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 3);
	assert_int_equal(pcs[1], F1);   /* looked up as is: F1's entry, not F0's */
	assert_int_equal(pcs[2], ENTRY + 0x10);
	assert_int_equal(w.switches, 0);
	/* The interrupted pc is exact; the return address after it is not. */
	assert_int_equal(w.exact, 1ULL << 1);

	/* The same frame with the interrupted context below: a switch, counted. */
	put(IRQ_STACK + 0x200 + 24, IRQ_STACK + 0x100);
	put(IRQ_STACK + 0x100 + 16, F1 + 0x20);  /* F1's return address at CFA - 8 */
	w = walk(orc, regs_at(IRQ + 4, IRQ_STACK + 0x200, 0), pcs, 16);
	assert_int_equal(w.switches, 1);
	assert_true(w.depth >= 2);
	up_orc_destroy(orc);
}

static void test_ends(void **state)
{
	struct up_orc *orc = make_orc(2);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	reset_memory();
	w = walk(orc, regs_at(END + 4, STACK + 0x100, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 1);
	w = walk(orc, regs_at(UNDEF + 4, STACK + 0x100, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_NO_RULE);
	w = walk(orc, regs_at(TEXT, STACK + 0x100, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_NO_RULE);
	/* A user pc at the leaf: nothing to walk, complete. */
	w = walk(orc, regs_at(0x401000, 0x7ffd0000, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 1);
	/* A frame whose CFA is its own sp returns to itself: not growing. */
	put(STACK + 0xf8, FLAT + 0x10);
	w = walk(orc, regs_at(FLAT + 0x10, STACK + 0x100, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	/* The stack runs out: a fault, truncated. */
	w = walk(orc, regs_at(F1 + 4, STACK + 4096 - 8, 0), pcs, 16);
	assert_int_equal(w.stop, UP_WALK_FAULT);
	up_orc_destroy(orc);
}

/* The tables read from guest memory, with a header naming the format or a refusal. */
static void test_read_from_memory(void **state)
{
	static uint8_t tables[4096];
	const uint64_t base = 0xffffffff82000000ULL;
	static const uint8_t v3[20] = { 0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6, 0x3b, 0x2c,
					0xa9, 0xa5, 0xc6, 0x5b, 0xa5, 0xa6, 0x25, 0xea, 0xb3,
					0xfe, 0x24 };
	struct up_orc_location loc = {
		.ip_start = base, .ip_stop = base + 4 * N, .entries = base + 0x400,
		.header = base + 0x800,
	};
	int32_t ips[N];
	uint8_t raw[N * 6];
	struct up_orc *orc = NULL;
	struct up_orc_entry e;
	struct up_error *err;

	(void)state;
	reset_memory();
	build(3, base, ips, raw);
	memcpy(tables, ips, sizeof(ips));
	memcpy(tables + 0x400, raw, sizeof(raw));
	memcpy(tables + 0x800, v3, sizeof(v3));
	mem.regions[mem.nr++] = (struct fake_region){ base, sizeof(tables), tables };
	assert_null(up_orc_read(&loc, fake_read, &mem, &orc));
	assert_int_equal(up_orc_count(orc), N);
	assert_int_equal(up_orc_version(orc), 3);
	assert_int_equal(up_orc_find(orc, F1 + 1, &e), 0);
	assert_int_equal(e.sp_offset, 24);
	up_orc_destroy(orc);

	/* An unknown header (a later format) is refused, not misread. */
	tables[0x800] ^= 0xff;
	err = up_orc_read(&loc, fake_read, &mem, &orc);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	up_error_destroy(err);
	/* No header: the kernel's version decides; no version either: refused. */
	loc.header = 0;
	loc.major = 6;
	loc.minor = 1;
	assert_null(up_orc_read(&loc, fake_read, &mem, &orc));
	assert_int_equal(up_orc_version(orc), 1);
	up_orc_destroy(orc);
	loc.major = 0;
	err = up_orc_read(&loc, fake_read, &mem, &orc);
	assert_non_null(err);
	up_error_destroy(err);
	/* Sizes that are no table. */
	loc.major = 6;
	loc.ip_stop = loc.ip_start + 6;
	err = up_orc_read(&loc, fake_read, &mem, &orc);
	assert_int_equal(err->code, UP_ERR_INVALID);
	up_error_destroy(err);
	loc.ip_stop = loc.ip_start + 4ull * (UP_ORC_MAX_ENTRIES + 1);
	err = up_orc_read(&loc, fake_read, &mem, &orc);
	assert_int_equal(err->code, UP_ERR_INVALID);
	up_error_destroy(err);
	/* Tables that fault. */
	loc.ip_stop = loc.ip_start + 4 * N;
	loc.entries = base + 0x10000;
	err = up_orc_read(&loc, fake_read, &mem, &orc);
	assert_int_equal(err->code, UP_ERR_FAULT);
	up_error_destroy(err);
}

static void test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(up_unwinder_find("orc"), &up_unwinder_orc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_every_version),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_walk_to_user_every_version),
		cmocka_unit_test(test_iret_frame_switches_stack),
		cmocka_unit_test(test_ends),
		cmocka_unit_test(test_read_from_memory),
		cmocka_unit_test(test_registry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
