/*
 * The backtrace writer (uniprof --dump) over a fake symbolizer: frame numbers, function+offset
 * from the function's start, inlined frames innermost first and marked, file:line, unknown
 * addresses, why a walk stopped; and the same over the real symbolizer's adapter.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../writers/backtrace.h"

/* A fake symbolizer: a few functions, one with code inlined into it. */
struct fake_func {
	uint64_t start, end;
	struct up_frame frames[3];  /* outermost first, as up_symbolizer_frames gives them */
	size_t nr;
};

static const struct fake_func funcs[] = {
	/* leaf+0x10.. holds helper, inlined, which holds inner, inlined too. */
	{ 0x1000, 0x1100, { { "leaf", "leaf.c", 20, 1 }, { "helper", "util.h", 7, 1 },
			    { "inner", "util.h", 3, 1 } }, 3 },
	{ 0x1100, 0x1200, { { "middle", "main.c", 42, 1 } }, 1 },
	/* No line information. */
	{ 0x1200, 0x1300, { { "root", NULL, 0, 1 } }, 1 },
	/* A name with a terminal escape in it. */
	{ 0x1300, 0x1400, { { "evil\033[2Jname", "e\nvil.c", 1, 1 } }, 1 },
};

struct fake_names {
	unsigned int frames_calls, start_calls;
	uint64_t last_start_query;
	struct up_frame unknown;
	char hex[32];
};

static const struct fake_func *fake_find(uint64_t addr)
{
	for (size_t i = 0; i < sizeof(funcs) / sizeof(funcs[0]); i++)
		if (addr >= funcs[i].start && addr < funcs[i].end)
			return &funcs[i];
	return NULL;
}

static size_t fake_frames(void *ctx, uint64_t addr, int is_return, const struct up_frame **ret)
{
	struct fake_names *f = ctx;
	const struct fake_func *fn = fake_find(is_return ? addr - 1 : addr);

	f->frames_calls++;
	if (!fn) {
		snprintf(f->hex, sizeof(f->hex), "0x%llx", (unsigned long long)addr);
		f->unknown = (struct up_frame){ .name = f->hex };
		*ret = &f->unknown;
		return 1;
	}
	/* Only the leaf's address is inside the inlined code. */
	*ret = fn->frames;
	return addr >= 0x1010 && addr < 0x1020 ? fn->nr : 1;
}

static uint64_t fake_func_start(void *ctx, uint64_t addr)
{
	struct fake_names *f = ctx;
	const struct fake_func *fn = fake_find(addr);

	f->start_calls++;
	f->last_start_query = addr;
	return fn ? fn->start : 0;
}

static char *write_bt(const struct up_backtrace *bt, const struct up_backtrace_names *names)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_null(up_backtrace_write(f, bt, names));
	fclose(f);
	return text;
}

static void complete_walk_with_inlined_frames(void **state)
{
	struct fake_names fake = { 0 };
	struct up_backtrace_names names = { fake_frames, fake_func_start, &fake };
	/* Leaf pc in inlined code; return addresses into middle and root. */
	uint64_t pcs[] = { 0x1014, 0x1130, 0x1208 };
	struct up_walk walk = { .depth = 3, .stop = UP_WALK_END };
	struct up_regs regs = { .pc = 0x1014, .sp = 0x7f00, .fp = 0x7f10 };
	struct up_backtrace bt = { .vcpu = 3, .regs = &regs, .pcs = pcs, .walk = &walk };
	char *text;

	(void)state;
	text = write_bt(&bt, &names);
	assert_string_equal(text,
		"vCPU 3: complete, sp 0x7f00, fp 0x7f10\n"
		"#0  0x0000000000001014 in inner [inlined] (util.h:3)\n"
		"#1  0x0000000000001014 in helper [inlined] (util.h:7)\n"
		"#2  0x0000000000001014 in leaf+0x14 (leaf.c:20)\n"
		"#3  0x0000000000001130 in middle+0x30 (main.c:42)\n"
		"#4  0x0000000000001208 in root+0x8\n");
	free(text);
}

static void truncated_walk_and_unknown_address(void **state)
{
	struct fake_names fake = { 0 };
	struct up_backtrace_names names = { fake_frames, fake_func_start, &fake };
	uint64_t pcs[] = { 0xdead0, 0x1130 };
	struct up_walk walk = { .depth = 2, .stop = UP_WALK_FAULT };
	struct up_backtrace bt = { .vcpu = 0, .pcs = pcs, .walk = &walk };
	char *text;

	(void)state;
	text = write_bt(&bt, &names);
	assert_string_equal(text,
		"vCPU 0: truncated (unreadable memory)\n"
		"#0  0x00000000000dead0 in ??\n"
		"#1  0x0000000000001130 in middle+0x30 (main.c:42)\n");
	free(text);
	walk.stop = UP_WALK_DEPTH;
	text = write_bt(&bt, &names);
	assert_non_null(strstr(text, "vCPU 0: truncated (depth cap)\n"));
	free(text);
}

/*
 * A call that ends its function returns to the next function's first byte: the return
 * address is named, and its offset counted, by the call before it.
 */
static void return_address_at_function_end(void **state)
{
	struct fake_names fake = { 0 };
	struct up_backtrace_names names = { fake_frames, fake_func_start, &fake };
	uint64_t pcs[] = { 0x1004, 0x1200 };
	struct up_walk walk = { .depth = 2, .stop = UP_WALK_END };
	struct up_backtrace bt = { .vcpu = 1, .pcs = pcs, .walk = &walk };
	char *text;

	(void)state;
	text = write_bt(&bt, &names);
	assert_string_equal(text,
		"vCPU 1: complete\n"
		"#0  0x0000000000001004 in leaf+0x4 (leaf.c:20)\n"
		"#1  0x0000000000001200 in middle+0x100 (main.c:42)\n");
	assert_int_equal(fake.last_start_query, 0x11ff);
	free(text);
}

static void hostile_names_are_cleaned(void **state)
{
	struct fake_names fake = { 0 };
	struct up_backtrace_names names = { fake_frames, fake_func_start, &fake };
	uint64_t pcs[] = { 0x1301 };
	struct up_walk walk = { .depth = 1, .stop = UP_WALK_BAD_ADDRESS };
	struct up_backtrace bt = { .vcpu = 0, .pcs = pcs, .walk = &walk };
	char *text;

	(void)state;
	text = write_bt(&bt, &names);
	assert_string_equal(text,
		"vCPU 0: truncated (non-canonical or misaligned)\n"
		"#0  0x0000000000001301 in evil?[2Jname+0x1 (e?vil.c:1)\n");
	free(text);
}

static void frame_numbers_past_ten(void **state)
{
	struct fake_names fake = { 0 };
	struct up_backtrace_names names = { fake_frames, fake_func_start, &fake };
	uint64_t pcs[12];
	struct up_walk walk = { .depth = 12, .stop = UP_WALK_END };
	struct up_backtrace bt = { .vcpu = 0, .pcs = pcs, .walk = &walk };
	char *text;

	(void)state;
	for (int i = 0; i < 12; i++)
		pcs[i] = 0x1140;
	text = write_bt(&bt, &names);
	/* gdb's alignment: "#9  0x..." and "#10 0x...". */
	assert_non_null(strstr(text, "\n#9  0x0000000000001140 in middle+0x40"));
	assert_non_null(strstr(text, "\n#10 0x0000000000001140 in middle+0x40"));
	assert_non_null(strstr(text, "\n#11 0x0000000000001140 in middle+0x40 (main.c:42)\n"));
	free(text);
}

/* The real symbolizer behind the adapter: names and offsets from its symbol table. */
static void symbolizer_names(void **state)
{
	struct up_symbolizer s;
	struct up_symfile *f = calloc(1, sizeof(*f));
	struct up_backtrace_names names;
	uint64_t pcs[] = { 0x1210, 0x1150, 0x1020, 0x5000 };
	struct up_walk walk = { .depth = 4, .stop = UP_WALK_NOT_GROWING };
	struct up_backtrace bt = { .vcpu = 2, .pcs = pcs, .walk = &walk };
	char *text;

	(void)state;
	assert_non_null(f);
	up_symbolizer_init(&s, NULL);
	assert_null(up_symtab_add(&f->tab, 0x1000, 0x100, "root", 4));
	assert_null(up_symtab_add(&f->tab, 0x1100, 0x100, "middle", 4));
	assert_null(up_symtab_add(&f->tab, 0x1200, 0x100, "leaf", 4));
	up_symtab_finish(&f->tab);
	s.files = calloc(1, sizeof(*s.files));
	assert_non_null(s.files);
	s.files[0] = f;
	s.nr_files = 1;
	up_backtrace_names_symbolizer(&s, &names);
	text = write_bt(&bt, &names);
	assert_string_equal(text,
		"vCPU 2: truncated (stack did not grow)\n"
		"#0  0x0000000000001210 in leaf+0x10\n"
		"#1  0x0000000000001150 in middle+0x50\n"
		"#2  0x0000000000001020 in root+0x20\n"
		"#3  0x0000000000005000 in ??\n");
	free(text);
	up_symbolizer_deinit(&s);
}

static void write_error_reported(void **state)
{
	struct fake_names fake = { 0 };
	struct up_backtrace_names names = { fake_frames, fake_func_start, &fake };
	uint64_t pcs[] = { 0x1004 };
	struct up_walk walk = { .depth = 1, .stop = UP_WALK_END };
	struct up_backtrace bt = { .vcpu = 0, .pcs = pcs, .walk = &walk };
	FILE *f = fopen("/dev/full", "w");
	struct up_error *err;

	(void)state;
	if (!f)
		skip();
	setvbuf(f, NULL, _IONBF, 0);
	err = up_backtrace_write(f, &bt, &names);
	assert_non_null(err);
	up_error_destroy(err);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(complete_walk_with_inlined_frames),
		cmocka_unit_test(truncated_walk_and_unknown_address),
		cmocka_unit_test(return_address_at_function_end),
		cmocka_unit_test(hostile_names_are_cleaned),
		cmocka_unit_test(frame_numbers_past_ten),
		cmocka_unit_test(symbolizer_names),
		cmocka_unit_test(write_error_reported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
