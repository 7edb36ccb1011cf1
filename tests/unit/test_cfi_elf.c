/*
 * The CFI unwinder on real compiled code without frame pointers:
 *
 * - x86_64: nofp_example (tests/unit/data/nofp_example.c, static, -fomit-frame-pointer
 *   -fasynchronous-unwind-tables) recorded its own registers and stack in its deepest
 *   function; cfi and auto must walk that snapshot through its .eh_frame (glibc's start code
 *   included) to _start, whose return address is undefined, and fp must give the leaf alone
 *   and call it truncated;
 * - arm64: the rows libdw gives for nofp_arm64.elf on this x86_64 host (a leaf whose return
 *   address stays in x30, functions that save it), and a walk over a stack laid out as they say;
 * - files without tables, of another architecture, or missing; the row cache.
 *
 * The data is built by make unit in $BUILD/tests/data.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../arch/arm64/arm64.h"
#include "../../arch/x86_64/x86_64.h"
#include "../../symbolize/symbolize.h"
#include "../../unwind/unwinder.h"
#include "../../util/bytes.h"
#include "fake_memory.h"

static char path_buf[512];

static const char *data_path(const char *name)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";

	snprintf(path_buf, sizeof(path_buf), "%s/tests/data/%s", build, name);
	return path_buf;
}

/*
 * A snapshot nofp_example printed: registers, and stack regions (consecutive "stack" lines),
 * as fake guest memory.
 */
#define SNAP_MAX 16384

struct snapshot {
	uint64_t gpr[X86_64_NR_GPRS];
	struct fake_memory mem;
	uint8_t bytes[2][SNAP_MAX];
	struct up_regs regs;
};

static void load_snapshot(const char *name, struct snapshot *s)
{
	FILE *f = fopen(data_path(name), "r");
	struct fake_region *r = NULL;
	char line[512];
	unsigned int regs = 0;

	assert_non_null(f);
	memset(s, 0, sizeof(*s));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr, value;
		char hex[200];
		int n;

		if (sscanf(line, "reg %d %llx", &n, &value) == 2) {
			assert_true(n >= 0 && n < X86_64_NR_GPRS);
			s->gpr[n] = value;
			regs |= 1u << n;
		} else if (sscanf(line, "stack %llx %199s", &addr, hex) == 2) {
			if (!r || addr != r->base + r->size) {
				assert_true(s->mem.nr < 2);
				r = &s->mem.regions[s->mem.nr];
				*r = (struct fake_region){ addr, 0, s->bytes[s->mem.nr++] };
			}
			assert_int_equal(strlen(hex), 128);
			assert_true(r->size + 64 <= SNAP_MAX);
			for (int i = 0; i < 64; i++)
				r->bytes[r->size + i] = (uint8_t)(up_hexval(hex[2 * i]) << 4 |
								 up_hexval(hex[2 * i + 1]));
			r->size += 64;
		} else {
			fail_msg("bad snapshot line %s", line);
		}
	}
	fclose(f);
	assert_int_equal(regs, (1u << X86_64_NR_GPRS) - 1);
	assert_int_equal(s->mem.regions[0].base, s->gpr[X86_64_RSP]);
	assert_true(s->mem.regions[0].size >= 256);
	for (int i = 0; i < X86_64_NR_GPRS; i++)
		up_regs_set_gpr(&s->regs, (unsigned int)i, s->gpr[i]);
	s->regs.pc = s->gpr[X86_64_RIP];
	s->regs.sp = s->gpr[X86_64_RSP];
	s->regs.fp = s->gpr[X86_64_RBP];
}

/* The example's symbols and unwind tables, and an environment over snapshot s. */
static void example_env(struct snapshot *s, struct up_symbolizer *sym, struct up_cfi **cfi,
			struct up_unwind_env *env)
{
	unsigned int tables;

	up_symbolizer_init(sym, NULL);
	assert_null(up_symbolizer_add_file(sym, data_path("nofp_example"), 0, 0));
	assert_null(up_cfi_create(&up_arch_x86_64, cfi));
	assert_null(up_cfi_add_file(*cfi, data_path("nofp_example"), 0, &tables));
	assert_int_equal(tables, UP_CFI_EH_FRAME);
	*env = (struct up_unwind_env){
		.walk = { .read = fake_read, .read_ctx = &s->mem, .is_root = up_cfi_is_root,
			  .root_ctx = *cfi },
		.arch = &up_arch_x86_64,
		.cfi_lookup = up_cfi_lookup_fn,
		.cfi_ctx = *cfi,
	};
}

static const char *const x86_chain[] = { "leaf", "mid", "outer", "main" };

static void walk_x86_64_snapshot(void **state)
{
	static struct snapshot snap;
	struct up_unwind_env env;
	struct up_symbolizer sym;
	struct up_cfi *cfi;
	uint64_t pcs[32];
	struct up_walk w;

	(void)state;
	load_snapshot("nofp_example.snap", &snap);
	example_env(&snap, &sym, &cfi, &env);
	for (int u = 0; u < 2; u++) {
		const struct up_unwinder *unwinder = u ? &up_unwinder_auto : &up_unwinder_cfi;

		assert_null(unwinder->walk(&env, &snap.regs, pcs, 32, &w));
		/* Through main and glibc's start code to _start, a recognised root. */
		assert_int_equal(w.stop, UP_WALK_END);
		assert_int_equal(w.switches, 0);
		assert_true(w.depth >= 6);
		for (size_t i = 0; i < 4; i++)
			assert_string_equal(up_symbolizer_name(&sym, pcs[i], i > 0), x86_chain[i]);
		assert_string_equal(up_symbolizer_name(&sym, pcs[w.depth - 1], 1), "_start");
	}
	/* Frame pointers: rbp holds data here, so the walk is the leaf alone, and truncated. */
	assert_null(up_unwinder_fp.walk(&env, &snap.regs, pcs, 32, &w));
	assert_int_equal(w.depth, 1);
	assert_true(up_walk_truncated(&w));
	up_cfi_destroy(cfi);
	up_symbolizer_deinit(&sym);
}

/*
 * A signal handler on an alternate stack (high, in main's frame) that interrupted a worker on a
 * stack of its own (low, in .bss): through glibc's __restore_rt (a signal frame whose CFA and
 * registers are DWARF expressions over the saved context) to the interrupted function at its
 * exact pc, one move down to the worker's stack, and on to makecontext's start, which glibc's
 * tables do not cover (work returns to its first byte): the walk stops there, truncated.
 */
static const char *const signal_chain[] = { "on_alarm", "__restore_rt", "spin", "spin_mid",
					    "work" };

static void walk_signal_snapshot(void **state)
{
	static struct snapshot snap;
	struct up_unwind_env env;
	struct up_symbolizer sym;
	struct up_cfi *cfi;
	uint64_t pcs[32];
	struct up_walk w;

	(void)state;
	load_snapshot("nofp_example_signal.snap", &snap);
	assert_int_equal(snap.mem.nr, 2);
	assert_true(snap.mem.regions[1].base < snap.mem.regions[0].base);
	example_env(&snap, &sym, &cfi, &env);
	for (int u = 0; u < 2; u++) {
		const struct up_unwinder *unwinder = u ? &up_unwinder_auto : &up_unwinder_cfi;

		assert_null(unwinder->walk(&env, &snap.regs, pcs, 32, &w));
		/*
		 * The handler returns to the first byte of __restore_rt (its tables start a byte
		 * early for that), and the interrupted pc is exact: both named as they are.
		 */
		for (size_t i = 0; i < 5; i++)
			assert_string_equal(up_symbolizer_name(&sym, pcs[i], i > 2), signal_chain[i]);
		assert_int_equal(w.switches, 1);
		assert_int_equal(w.depth, 6);
		/* The walk says which pc is exact: the interrupted one after the signal frame. */
		assert_true(w.exact == 1ULL << 2);
		assert_string_equal(up_symbolizer_name(&sym, pcs[5], 0), "__start_context");
		/* cfi has no rule there; auto's frame-pointer step finds no record either. */
		assert_true(up_walk_truncated(&w));
		if (!u)
			assert_int_equal(w.stop, UP_WALK_NO_RULE);
	}
	up_cfi_destroy(cfi);
	up_symbolizer_deinit(&sym);
}

/* The instruction after the first bl in [start, start + len): a return address. */
static uint64_t after_bl(struct up_symbolizer *sym, uint64_t start, size_t len)
{
	for (uint64_t a = start; a < start + len; a += 4) {
		uint8_t b[4];

		assert_int_equal(up_symbolizer_read_code(sym, a, b, 4), 0);
		if ((up_le32(b) & 0xfc000000u) == 0x94000000u)
			return a + 4;
	}
	fail_msg("no bl");
	return 0;
}

static void arm64_rows(void **state)
{
	struct up_symbolizer sym;
	struct up_cfi *cfi;
	const struct up_cfi_row *row;
	uint64_t leaf, mid, outer, mid_ret, outer_ret, sp = 0xffff800040210000ULL;
	uint8_t stack[256] = { 0 };
	struct fake_memory mem = { .nr = 1 };
	struct up_regs regs = { 0 };
	unsigned int tables;
	uint64_t pcs[8];
	struct up_walk w;
	struct up_unwind_env env = {
		.walk = { .read = fake_read, .read_ctx = &mem },
		.arch = &up_arch_arm64,
		.cfi_lookup = up_cfi_lookup_fn,
	};
	int32_t mid_frame, outer_frame;

	(void)state;
	up_symbolizer_init(&sym, NULL);
	assert_null(up_symbolizer_add_file(&sym, data_path("nofp_arm64.elf"), 0, 0));
	assert_null(up_cfi_create(&up_arch_arm64, &cfi));
	assert_null(up_cfi_add_file(cfi, data_path("nofp_arm64.elf"), 0, &tables));
	assert_int_equal(tables, UP_CFI_EH_FRAME);
	leaf = up_symbolizer_func_start(&sym, 0x4000f0);
	assert_string_equal(up_symbolizer_name(&sym, leaf, 0), "leaf");
	mid = leaf + 0x10;
	assert_string_equal(up_symbolizer_name(&sym, mid, 0), "mid");
	mid_ret = after_bl(&sym, mid, 0x40);
	outer = up_symbolizer_func_start(&sym, mid_ret + 0x20);
	assert_string_equal(up_symbolizer_name(&sym, outer, 0), "outer");
	outer_ret = after_bl(&sym, outer, 0x40);

	/* The leaf: CFA = sp, the return address still in x30. */
	row = up_cfi_lookup(cfi, leaf + 4);
	assert_int_equal(row->status, UP_CFI_OK);
	assert_int_equal(row->cfa_reg, ARM64_SP);
	assert_int_equal(row->cfa_offset, 0);
	assert_int_equal(row->ra_reg, ARM64_X30);
	assert_int_equal(row->rule[ARM64_X30], UP_CFI_SAME);
	/* mid at its call: x30 saved at the bottom of its frame. */
	row = up_cfi_lookup(cfi, mid_ret - 1);
	assert_int_equal(row->status, UP_CFI_OK);
	assert_int_equal(row->cfa_reg, ARM64_SP);
	mid_frame = row->cfa_offset;
	assert_true(mid_frame >= 48);
	assert_int_equal(row->rule[ARM64_X30], UP_CFI_OFFSET);
	assert_int_equal(row->value[ARM64_X30], -mid_frame);
	/* outer at its first call: x19, x20 and x30 saved. */
	row = up_cfi_lookup(cfi, outer_ret - 1);
	outer_frame = row->cfa_offset;
	assert_int_equal(row->rule[19], UP_CFI_OFFSET);
	assert_int_equal(row->rule[20], UP_CFI_OFFSET);
	assert_int_equal(row->rule[ARM64_X30], UP_CFI_OFFSET);
	assert_true(outer_frame > 0 && mid_frame + outer_frame <= (int32_t)sizeof(stack));

	/* A stack as those rows lay it out: leaf in mid in outer, outer's caller unknown (0). */
	mem.regions[0] = (struct fake_region){ sp, sizeof(stack), stack };
	put_le64(stack + 0, outer_ret);                    /* mid's saved x30 */
	put_le64(stack + mid_frame + outer_frame + row->value[19], 0x1919);
	for (int i = 0; i < ARM64_NR_GPRS; i++)
		up_regs_set_gpr(&regs, (unsigned int)i, 0x100 + i);
	regs.pc = leaf + 4;
	regs.sp = sp;
	regs.lr = mid_ret;
	up_regs_set_gpr(&regs, ARM64_PC, regs.pc);
	up_regs_set_gpr(&regs, ARM64_SP, sp);
	up_regs_set_gpr(&regs, ARM64_X30, mid_ret);
	env.cfi_ctx = cfi;
	assert_null(up_unwinder_cfi.walk(&env, &regs, pcs, 8, &w));
	assert_int_equal(w.depth, 3);
	assert_int_equal(pcs[0], leaf + 4);
	assert_int_equal(pcs[1], mid_ret);
	assert_int_equal(pcs[2], outer_ret);
	/* outer's saved x30 is zero: the end of this stack. */
	assert_int_equal(w.stop, UP_WALK_END);
	/* Frame pointers: x29 holds data. */
	assert_null(up_unwinder_fp.walk(&env, &regs, pcs, 8, &w));
	assert_true(up_walk_truncated(&w));
	assert_int_equal(w.depth, 1);

	up_cfi_destroy(cfi);
	up_symbolizer_deinit(&sym);
}

static void files_and_cache(void **state)
{
	struct up_cfi *cfi;
	struct up_cfi_stats st;
	unsigned int tables = 99;
	struct up_error *err;

	(void)state;
	assert_null(up_cfi_create(&up_arch_x86_64, &cfi));
	/* An arm64 file for an x86_64 guest adds nothing. */
	assert_null(up_cfi_add_file(cfi, data_path("nofp_arm64.elf"), 0, &tables));
	assert_int_equal(tables, 0);
	/* Neither does a file that is not ELF. */
	tables = 99;
	assert_null(up_cfi_add_file(cfi, "tests/unit/data/nofp_example.c", 0, &tables));
	assert_int_equal(tables, 0);
	err = up_cfi_add_file(cfi, "/nonexistent/guest.elf", 0, &tables);
	assert_non_null(err);
	up_error_destroy(err);
	assert_int_equal(up_cfi_lookup(cfi, 0x401000)->status, UP_CFI_NONE);
	/* With a file slid by 0x1000, its rows are found 0x1000 higher. */
	assert_null(up_cfi_add_file(cfi, data_path("nofp_example"), 0x1000, &tables));
	assert_int_equal(tables, UP_CFI_EH_FRAME);
	{
		struct up_symbolizer sym;
		uint64_t main_at;

		up_symbolizer_init(&sym, NULL);
		assert_null(up_symbolizer_add_file(&sym, data_path("nofp_example"), 0, 0));
		main_at = up_symbolizer_func_start(&sym, 0);
		for (uint64_t a = 0x401000; !main_at && a < 0x500000; a += 16)
			if (!strcmp(up_symbolizer_name(&sym, a, 0), "main"))
				main_at = up_symbolizer_func_start(&sym, a);
		assert_true(main_at != 0);
		assert_int_equal(up_cfi_lookup(cfi, main_at + 0x1000)->status, UP_CFI_OK);
		assert_int_equal(up_cfi_lookup(cfi, main_at + 0x1000)->cfa_reg, X86_64_RSP);
		assert_int_equal(up_cfi_lookup(cfi, main_at + 0x1000)->cfa_offset, 8);
		up_symbolizer_deinit(&sym);
	}
	/* Each address is evaluated once, however often it is looked up. */
	up_cfi_stats(cfi, &st);
	for (int i = 0; i < 100; i++)
		up_cfi_lookup(cfi, 0x401000 + 3 * (i % 10));
	{
		struct up_cfi_stats after;

		up_cfi_stats(cfi, &after);
		assert_int_equal(after.lookups - st.lookups, 100);
		assert_true(after.evaluated - st.evaluated <= 10);
	}
	/* Far more addresses than the cache holds: it starts over, and stays right. */
	for (uint64_t a = 0; a < 40000; a++)
		assert_int_equal(up_cfi_lookup(cfi, 0x10000000 + a)->status, UP_CFI_NONE);
	up_cfi_destroy(cfi);
	up_cfi_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(walk_x86_64_snapshot),
		cmocka_unit_test(walk_signal_snapshot),
		cmocka_unit_test(arm64_rows),
		cmocka_unit_test(files_and_cache),
	};

	return cmocka_run_group_tests_name("cfi_elf", tests, NULL, NULL);
}
