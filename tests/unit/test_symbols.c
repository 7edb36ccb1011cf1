/* Symbol tables: lookup rules, ELF loading, naming of addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../symbolize/symbolize.h"

static void lookup_rules(void **state)
{
	struct up_symtab tab;
	const struct up_symbol *s;

	(void)state;
	up_symtab_init(&tab);
	assert_null(up_symtab_add(&tab, 0x2000, 0x100, "sized", 4));
	assert_null(up_symtab_add(&tab, 0x1000, 0, "label", 1));
	assert_null(up_symtab_add(&tab, 0x3000, 0x10, "alias_local", 2));
	assert_null(up_symtab_add(&tab, 0x3000, 0x10, "alias_global", 4));
	assert_null(up_symtab_add(&tab, 0x5000, 0, "last_label", 1));
	up_symtab_finish(&tab);
	assert_null(up_symtab_lookup(&tab, 0xfff));
	/* An unsized symbol reaches up to the next one. */
	s = up_symtab_lookup(&tab, 0x1fff);
	assert_non_null(s);
	assert_string_equal(s->name, "label");
	assert_string_equal(up_symtab_lookup(&tab, 0x2000)->name, "sized");
	assert_string_equal(up_symtab_lookup(&tab, 0x20ff)->name, "sized");
	/* Past a sized symbol's end is nobody's. */
	assert_null(up_symtab_lookup(&tab, 0x2100));
	/* Of two aliases, the higher rank names the address. */
	assert_string_equal(up_symtab_lookup(&tab, 0x3008)->name, "alias_global");
	assert_null(up_symtab_lookup(&tab, 0x3010));
	/* The last unsized symbol reaches at most 64 KiB. */
	assert_string_equal(up_symtab_lookup(&tab, 0x5000 + 0xffff)->name, "last_label");
	assert_null(up_symtab_lookup(&tab, 0x5000 + 0x10000));
	up_symtab_deinit(&tab);
}

static void many_symbols(void **state)
{
	struct up_symtab tab;
	char name[32];

	(void)state;
	up_symtab_init(&tab);
	/* Enough long names to need several string chunks. */
	for (int i = 0; i < 20000; i++) {
		snprintf(name, sizeof(name), "function_number_%08d", i);
		assert_null(up_symtab_add(&tab, 0x100000 + 0x40 * (uint64_t)(19999 - i), 0x40, name, 4));
	}
	up_symtab_finish(&tab);
	for (int i = 0; i < 20000; i += 997) {
		snprintf(name, sizeof(name), "function_number_%08d", i);
		assert_string_equal(up_symtab_lookup(&tab, 0x100000 + 0x40 * (uint64_t)(19999 - i) + 0x3f)->name,
				    name);
	}
	up_symtab_deinit(&tab);
}

/* Our own functions, looked up in our own ELF (unit tests link without PIE). */
__attribute__((noinline)) int uniprof_test_marker_one(int x);
__attribute__((noinline)) int uniprof_test_marker_one(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) int uniprof_test_marker_two(int x);
__attribute__((noinline)) int uniprof_test_marker_two(int x)
{
	return x * 5 - 7;
}

static void elf_self(void **state)
{
	struct up_symbolizer s;
	uint64_t one = (uint64_t)(uintptr_t)&uniprof_test_marker_one;
	uint64_t two = (uint64_t)(uintptr_t)&uniprof_test_marker_two;

	(void)state;
	up_symbolizer_init(&s, NULL);
	assert_null(up_symbolizer_add_file(&s, "/proc/self/exe", 0, 0));
	assert_int_equal(s.files[0]->kind, UP_SYMFILE_ELF);
	assert_false(s.files[0]->relocatable);
	assert_string_equal(up_symbolizer_name(&s, one, 0), "uniprof_test_marker_one");
	assert_string_equal(up_symbolizer_name(&s, one + 2, 0), "uniprof_test_marker_one");
	assert_string_equal(up_symbolizer_name(&s, two, 0), "uniprof_test_marker_two");
	/* A return address right after a function's last call names the caller, not its neighbour. */
	assert_string_not_equal(up_symbolizer_name(&s, two, 1), "uniprof_test_marker_two");
	/* Unknown addresses come out as hex. */
	assert_string_equal(up_symbolizer_name(&s, 0x10, 0), "0x10");
	assert_string_equal(up_symbolizer_name(&s, 0x10, 1), "0x10");
	/* The code oracle hands out the function's start and its bytes. */
	assert_int_equal(up_symbolizer_func_start(&s, one + 2), one);
	{
		uint8_t b[4];

		assert_int_equal(up_symbolizer_read_code(&s, one, b, 4), 0);
		assert_memory_equal(b, (const void *)(uintptr_t)one, 4);
	}
	/* With a slide, the same names sit at moved addresses. */
	up_symbolizer_set_slide(&s, 0, 0x100000, "test");
	assert_string_equal(up_symbolizer_name(&s, one + 0x100000, 0), "uniprof_test_marker_one");
	assert_int_equal(up_symbolizer_func_start(&s, one + 0x100002), one + 0x100000);
	up_symbolizer_deinit(&s);
	assert_int_equal(uniprof_test_marker_one(1) + uniprof_test_marker_two(2), 7);
}

static void several_files(void **state)
{
	const uint64_t load = 0x500000000000ULL;
	uint64_t one = (uint64_t)(uintptr_t)&uniprof_test_marker_one, link_base;
	char path[] = "/tmp/uniprof-test-map-XXXXXX";
	const char map[] = "0000600000001000 T map_function\n0000600000001100 T map_other\n";
	struct up_symbolizer s;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, map, sizeof(map) - 1), (ssize_t)sizeof(map) - 1);
	close(fd);
	up_symbolizer_init(&s, NULL);
	/* Our own image, said to be loaded at load (-k FILE@ADDR), and a map at its own place. */
	assert_null(up_symbolizer_add_file(&s, "/proc/self/exe", 1, load));
	assert_null(up_symbolizer_add_file(&s, path, 0, 0));
	link_base = s.files[0]->link_base;
	assert_int_equal(s.files[0]->slide_state, UP_SLIDE_GIVEN);
	assert_int_equal(s.files[0]->slide, (int64_t)(load - link_base));
	assert_int_equal(s.files[1]->kind, UP_SYMFILE_MAP);
	assert_string_equal(up_symbolizer_name(&s, one - link_base + load, 0), "uniprof_test_marker_one");
	assert_string_equal(up_symbolizer_name(&s, 0x600000001010ULL, 0), "map_function");
	assert_string_equal(up_symbolizer_name(&s, 0x600000001110ULL, 0), "map_other");
	/* At its link address the moved image names nothing. */
	assert_string_not_equal(up_symbolizer_name(&s, one, 0), "uniprof_test_marker_one");
	up_symbolizer_deinit(&s);
	unlink(path);
}

static void elf_errors(void **state)
{
	struct up_symfile *f;
	struct up_error *err;
	char path[] = "/tmp/uniprof-test-XXXXXX";
	int fd;

	(void)state;
	err = up_symfile_load("/nonexistent/kernel.elf", &f);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_OS);
	assert_non_null(strstr(err->message, "/nonexistent/kernel.elf"));
	up_error_destroy(err);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello, not an ELF\n", 18), 18);
	close(fd);
	err = up_symfile_load(path, &f);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	assert_non_null(strstr(err->message, "not a symbol file"));
	assert_non_null(strstr(err->message, path));
	up_error_destroy(err);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lookup_rules),
		cmocka_unit_test(many_symbols),
		cmocka_unit_test(elf_self),
		cmocka_unit_test(several_files),
		cmocka_unit_test(elf_errors),
	};

	return cmocka_run_group_tests_name("symbols", tests, NULL, NULL);
}
