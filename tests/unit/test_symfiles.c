/* Symbol sources by kind (maps, PE, ELF with DWARF), demangling and the slide finder. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../symbolize/demangle.h"
#include "../../symbolize/pe.h"
#include "../../symbolize/slide.h"
#include "../../symbolize/symbolize.h"
#include "fake_memory.h"

static struct up_symfile *new_file(void)
{
	struct up_symfile *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	up_symtab_init(&f->tab);
	up_code_init(&f->code);
	return f;
}

static void map_system_map(void **state)
{
	static const char text[] =
		"ffffffff81000000 T _text\n"
		"ffffffff81000000 T startup_64\n"
		"ffffffff81000100 t secondary_startup_64\r\n"
		"ffffffff81001000 W weak_thing\n"
		"ffffffff81002000 D some_data\n"
		"ffffffff81e00100 R linux_banner\n"
		"ffffffffc0001000 t module_func\t[some_module]\n"
		"ffffffff81003000 T _etext\n";
	struct up_symfile *f = new_file();

	(void)state;
	assert_null(up_map_parse(text, strlen(text), f));
	up_symtab_finish(&f->tab);
	assert_int_equal(f->kind, UP_SYMFILE_MAP);
	assert_int_equal(f->link_base, 0xffffffff81000000ULL);
	assert_int_equal(f->banner, 0xffffffff81e00100ULL);
	/* Aliases: the global wins over nothing else here; both start at _text. */
	assert_non_null(up_symtab_lookup(&f->tab, 0xffffffff81000050ULL));
	assert_string_equal(up_symtab_lookup(&f->tab, 0xffffffff81000150ULL)->name, "secondary_startup_64");
	assert_string_equal(up_symtab_lookup(&f->tab, 0xffffffff81001010ULL)->name, "weak_thing");
	/* Data symbols are not code; module symbols are left out. */
	assert_string_equal(up_symtab_lookup(&f->tab, 0xffffffff81002010ULL)->name, "weak_thing");
	assert_null(up_symtab_lookup(&f->tab, 0xffffffffc0001000ULL));
	up_symfile_destroy(f);
}

static void map_nm_sizes(void **state)
{
	static const char text[] =
		"0000000000001130 0000000000000025 T main\n"
		"0000000000001160 000000000000000b t helper\n";
	struct up_symfile *f = new_file();

	(void)state;
	assert_null(up_map_parse(text, strlen(text), f));
	up_symtab_finish(&f->tab);
	assert_string_equal(up_symtab_lookup(&f->tab, 0x1154)->name, "main");
	assert_null(up_symtab_lookup(&f->tab, 0x1155));     /* sized: past main's end */
	assert_string_equal(up_symtab_lookup(&f->tab, 0x116a)->name, "helper");
	assert_null(up_symtab_lookup(&f->tab, 0x116b));
	up_symfile_destroy(f);
}

static void map_rejects_other_text(void **state)
{
	static const char *const bad[] = {
		"hello world\nthis is not a map\n",
		"ffffffff81000000 D only_data\n",
		"",
		"ffffffff81000000T glued\n",
		"12345678901234567 T too_long_address\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct up_symfile *f = new_file();
		struct up_error *err = up_map_parse(bad[i], strlen(bad[i]), f);

		assert_non_null(err);
		assert_int_equal(err->code, UP_ERR_INVALID);
		up_error_destroy(err);
		up_symfile_destroy(f);
	}
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

/* A minimal PE32+ image: headers, one .text section with code, two COFF symbols. */
static size_t make_pe(uint8_t *img, size_t cap, uint64_t image_base)
{
	const uint32_t lfanew = 0x80, opt = lfanew + 24, optsize = 240, sect = opt + optsize;
	const uint32_t text_raw = 0x400, text_rva = 0x1000, symtab = 0x600;

	assert_true(cap >= 0x800);
	memset(img, 0, cap);
	img[0] = 'M';
	img[1] = 'Z';
	put32(img + 0x3c, lfanew);
	memcpy(img + lfanew, "PE\0\0", 4);
	put16(img + lfanew + 4, UP_PE_MACHINE_X86_64);
	put16(img + lfanew + 6, 1);
	put32(img + lfanew + 12, symtab);
	put32(img + lfanew + 16, 2);
	put16(img + lfanew + 20, optsize);
	put16(img + opt, 0x20b);
	put32(img + opt + 24, (uint32_t)image_base);
	put32(img + opt + 28, (uint32_t)(image_base >> 32));
	put32(img + opt + 56, 0x3000);
	memcpy(img + sect, ".text", 5);
	put32(img + sect + 8, 0x100);
	put32(img + sect + 12, text_rva);
	put32(img + sect + 16, 0x100);
	put32(img + sect + 20, text_raw);
	put32(img + sect + 36, UP_PE_SCN_CODE | UP_PE_SCN_EXECUTE);
	for (int i = 0; i < 0x100; i++)
		img[text_raw + i] = (uint8_t)(i * 7 + 1);
	/* Symbol 1: "efi_main" at .text+0, external function; symbol 2 via the string table. */
	memcpy(img + symtab, "efi_main", 8);
	put32(img + symtab + 8, 0);
	put16(img + symtab + 12, 1);
	put16(img + symtab + 14, 0x20);
	img[symtab + 16] = 2;
	put32(img + symtab + 18, 0);
	put32(img + symtab + 18 + 4, 4);
	put32(img + symtab + 18 + 8, 0x80);
	put16(img + symtab + 18 + 12, 1);
	put16(img + symtab + 18 + 14, 0x20);
	img[symtab + 18 + 16] = 3;
	put32(img + symtab + 36, 4 + 20);
	memcpy(img + symtab + 40, "a_long_static_fn", 17);
	return symtab + 36 + 4 + 20;
}

static void pe_image(void **state)
{
	uint8_t img[0x800], b[4];
	struct up_symfile *f = new_file();
	struct up_pe_info pe;
	size_t len = make_pe(img, sizeof(img), 0x400000);

	(void)state;
	assert_int_equal(up_pe_headers(img, len, &pe), 0);
	assert_int_equal(pe.machine, UP_PE_MACHINE_X86_64);
	assert_int_equal(pe.image_base, 0x400000);
	assert_int_equal(pe.size_of_image, 0x3000);
	assert_non_null(up_pe_section(&pe, ".text"));
	assert_null(up_pe_parse(img, len, f));
	up_symtab_finish(&f->tab);
	up_code_finish(&f->code);
	assert_int_equal(f->kind, UP_SYMFILE_PE);
	assert_true(f->relocatable);
	assert_string_equal(up_symtab_lookup(&f->tab, 0x401010)->name, "efi_main");
	assert_string_equal(up_symtab_lookup(&f->tab, 0x401090)->name, "a_long_static_fn");
	assert_int_equal(up_code_read(&f->code, 0x401002, b, 2), 0);
	assert_int_equal(b[0], 2 * 7 + 1);
	/* Truncated or corrupted headers are refused. */
	assert_int_equal(up_pe_headers(img, 0x90, &pe), -1);
	img[0x80] = 'X';
	assert_int_equal(up_pe_headers(img, len, &pe), -1);
	up_symfile_destroy(f);
}

static void demangling(void **state)
{
	char *d;

	(void)state;
	d = up_demangle("_ZN3foo3barEv");
	assert_string_equal(d, "foo::bar()");
	free(d);
	d = up_demangle("_ZN4core3fmt5write17h0123456789abcdefE");   /* Rust legacy */
	assert_string_equal(d, "core::fmt::write");
	free(d);
	d = up_demangle("_RNvNtCs1234_7mycrate6module8function");   /* Rust v0 */
	assert_string_equal(d, "mycrate::module::function");
	free(d);
	assert_null(up_demangle("alpha_leaf"));
	assert_null(up_demangle("_Zgarbage!"));
}

/* Guest memory for the slide finder: a few regions at chosen addresses. */
static struct fake_memory guest;

static void add_region(uint64_t base, uint8_t *bytes, size_t size)
{
	guest.regions[guest.nr++] = (struct fake_region){ base, size, bytes };
}

static struct up_symbolizer symbolizer_with(struct up_symfile *f)
{
	struct up_symbolizer s;

	up_symbolizer_init(&s, NULL);
	s.files = calloc(1, sizeof(*s.files));
	assert_non_null(s.files);
	s.files[0] = f;
	s.nr_files = 1;
	return s;
}

/* A file with three functions of known code at link address 0x1000. */
static struct up_symfile *code_file(uint8_t *code, size_t size)
{
	struct up_symfile *f = new_file();

	for (size_t i = 0; i < size; i++)
		code[i] = (uint8_t)(i * 13 + 5);
	assert_null(up_symtab_add(&f->tab, 0x1000, 0x100, "one", 4));
	assert_null(up_symtab_add(&f->tab, 0x1100, 0x100, "two", 4));
	assert_null(up_symtab_add(&f->tab, 0x1200, 0x100, "three", 4));
	assert_null(up_code_add(&f->code, 0x1000, code, size));
	up_symtab_finish(&f->tab);
	up_code_finish(&f->code);
	f->link_base = 0x1000;
	f->relocatable = 1;
	f->pe_machine = UP_PE_MACHINE_X86_64;
	return f;
}

static void find(struct up_symbolizer *s, const uint64_t *pcs, size_t n)
{
	struct up_slide_probe probe = {
		.read = fake_read, .ctx = &guest, .pcs = pcs, .nr_pcs = n, .max_reads = 100000,
	};

	assert_null(up_symbolizer_find_slides(s, &probe));
}

static void slide_zero_by_code(void **state)
{
	static uint8_t code[0x300], copy[0x300];
	struct up_symfile *f = code_file(code, sizeof(code));
	struct up_symbolizer s = symbolizer_with(f);
	uint64_t pcs[] = { 0x1010, 0x1150 };

	(void)state;
	memset(&guest, 0, sizeof(guest));
	memcpy(copy, code, sizeof(copy));
	copy[0x10] ^= 0xff;  /* a patched byte or two is tolerated */
	add_region(0x1000, copy, sizeof(copy));
	find(&s, pcs, 2);
	assert_int_equal(f->slide_state, UP_SLIDE_CONFIRMED);
	assert_int_equal(f->slide, 0);
	assert_string_equal(up_symbolizer_name(&s, 0x1150, 0), "two");
	up_symbolizer_deinit(&s);
}

static void slide_from_pe_header(void **state)
{
	static uint8_t code[0x300], image[0x4000];
	struct up_symfile *f = code_file(code, sizeof(code));
	struct up_symbolizer s = symbolizer_with(f);
	const uint64_t base = 0xde9e000;
	uint64_t pcs[] = { base + 0x1010 + 0x40, base + 0x1120 };

	(void)state;
	memset(&guest, 0, sizeof(guest));
	/* The firmware put the image (headers, then .text at RVA 0x1000) at base. */
	make_pe(image, 0x800, 0);
	put32(image + 0x80 + 24 + 56, sizeof(image));
	memcpy(image + 0x1000, code, sizeof(code));
	add_region(base, image, sizeof(image));
	find(&s, pcs, 2);
	assert_int_equal(f->slide_state, UP_SLIDE_CONFIRMED);
	assert_int_equal(f->slide, base);
	assert_non_null(strstr(f->slide_how, "PE image at 0xde9e000"));
	assert_string_equal(up_symbolizer_name(&s, base + 0x1120, 0), "two");
	assert_int_equal(up_symbolizer_func_start(&s, base + 0x1120), base + 0x1100);
	up_symbolizer_deinit(&s);
}

static void slide_kaslr_banner(void **state)
{
	static const char map[] =
		"ffffffff81000000 T _text\n"
		"ffffffff81000100 T do_work\n"
		"ffffffff81e00100 D linux_banner\n";
	static char banner[64] = "Linux version 6.1.0-test (gcc) #1 SMP";
	const uint64_t slide = 0x1a400000;
	struct up_symfile *f = new_file();
	struct up_symbolizer s;
	uint64_t pcs[] = { 0xffffffff81000120ULL + slide };

	(void)state;
	assert_null(up_map_parse(map, strlen(map), f));
	up_symtab_finish(&f->tab);
	s = symbolizer_with(f);
	memset(&guest, 0, sizeof(guest));
	add_region(0xffffffff81e00100ULL + slide, (uint8_t *)banner, sizeof(banner));
	find(&s, pcs, 1);
	assert_int_equal(f->slide_state, UP_SLIDE_CONFIRMED);
	assert_int_equal(f->slide, slide);
	assert_non_null(strstr(f->slide_how, "KASLR"));
	assert_string_equal(up_symbolizer_name(&s, pcs[0], 0), "do_work");
	up_symbolizer_deinit(&s);
}

static void slide_refused(void **state)
{
	static uint8_t code[0x300], other[0x300];
	struct up_symfile *f = code_file(code, sizeof(code));
	struct up_symbolizer s = symbolizer_with(f);
	uint64_t pcs[] = { 0x1010 };

	(void)state;
	memset(&guest, 0, sizeof(guest));
	memset(other, 0x90, sizeof(other));  /* something else runs at the link address */
	add_region(0x1000, other, sizeof(other));
	find(&s, pcs, 1);
	assert_int_equal(f->slide_state, UP_SLIDE_REFUSED);
	assert_non_null(strstr(f->slide_how, "no slide confirmed"));
	/* A refused file names nothing. */
	assert_string_equal(up_symbolizer_name(&s, 0x1010, 0), "0x1010");
	assert_int_equal(up_symbolizer_func_start(&s, 0x1010), 0);
	up_symbolizer_deinit(&s);
}

/*
 * The sampled pc sits in code the guest rewrote at run time (a Xen hypercall page): the other
 * functions still confirm the slide, and a placeholder in the file (one byte repeated) is not
 * compared at all.
 */
static void slide_despite_rewritten_code(void **state)
{
	static uint8_t code[0x300], copy[0x300];
	struct up_symfile *f = code_file(code, sizeof(code));
	struct up_symbolizer s = symbolizer_with(f);
	uint64_t pcs[] = { 0x1010 };

	(void)state;
	memset(&guest, 0, sizeof(guest));
	memcpy(copy, code, sizeof(copy));
	memset(copy, 0x0f, 0x100);  /* "one" filled in by the hypervisor */
	add_region(0x1000, copy, sizeof(copy));
	find(&s, pcs, 1);
	assert_int_equal(f->slide_state, UP_SLIDE_CONFIRMED);
	assert_int_equal(f->slide, 0);
	assert_string_equal(up_symbolizer_name(&s, 0x1010, 0), "one");
	up_symbolizer_deinit(&s);

	/* In the file "one" is int3 padding, and only "two" is left to compare. */
	f = code_file(code, sizeof(code));
	memset(code, 0xcc, 0x100);
	up_code_deinit(&f->code);
	up_code_init(&f->code);
	assert_null(up_code_add(&f->code, 0x1000, code, 0x200));
	up_code_finish(&f->code);
	s = symbolizer_with(f);
	memset(&guest, 0, sizeof(guest));
	add_region(0x1000, copy, sizeof(copy));
	find(&s, pcs, 1);
	assert_int_equal(f->slide_state, UP_SLIDE_CONFIRMED);
	up_symbolizer_deinit(&s);

	/* Two of three rewritten is not a match. */
	f = code_file(code, sizeof(code));
	s = symbolizer_with(f);
	memset(&guest, 0, sizeof(guest));
	memset(copy + 0x100, 0x0f, 0x100);
	add_region(0x1000, copy, sizeof(copy));
	find(&s, pcs, 1);
	assert_int_equal(f->slide_state, UP_SLIDE_REFUSED);
	up_symbolizer_deinit(&s);
}

/* A read that fails for another reason than a fault ends the search with that error. */
static void slide_search_ends_when_target_lost(void **state)
{
	static uint8_t code[0x300];
	struct up_symfile *f = code_file(code, sizeof(code));
	struct up_symbolizer s = symbolizer_with(f);
	uint64_t pcs[] = { 0x1010 };
	struct up_slide_probe probe = {
		.read = fake_read, .ctx = &guest, .pcs = pcs, .nr_pcs = 1, .max_reads = 100000,
	};
	struct up_error *err;

	(void)state;
	memset(&guest, 0, sizeof(guest));
	guest.lost_at = 0x1000;
	err = up_symbolizer_find_slides(&s, &probe);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	/* Undecided, not refused: nothing was learnt. */
	assert_int_equal(f->slide_state, UP_SLIDE_UNKNOWN);
	/* And no read was tried after the failure. */
	assert_int_equal(guest.reads, 1);
	up_symbolizer_deinit(&s);
}

static void given_slides_are_kept(void **state)
{
	static uint8_t code[0x300];
	struct up_symfile *f = code_file(code, sizeof(code));
	struct up_symbolizer s = symbolizer_with(f);

	(void)state;
	memset(&guest, 0, sizeof(guest));
	up_symbolizer_set_slide(&s, 0, 0x5000, "given with --slide");
	find(&s, NULL, 0);
	assert_int_equal(f->slide_state, UP_SLIDE_GIVEN);
	assert_string_equal(up_symbolizer_name(&s, 0x6100, 0), "two");
	up_symbolizer_deinit(&s);
}

/* The line of the source line containing marker in tests/unit/data/inline_example.c. */
static unsigned int line_of(const char *marker)
{
	FILE *f = fopen("tests/unit/data/inline_example.c", "r");
	char buf[256];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("marker %s not found", marker);
	return 0;
}

static void dwarf_inline_frames_and_lines(void **state)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	struct up_symbolizer_options opts = { .demangle = 1, .inline_frames = 1, .lines = 1 };
	struct up_symbolizer s;
	const struct up_symbol *outer;
	uint64_t outer_start, outer_end;
	char path[512];
	int found = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/inline_example", build);
	up_symbolizer_init(&s, &opts);
	assert_null(up_symbolizer_add_file(&s, path, 0, 0));
	assert_non_null(s.files[0]->dwarf);
	outer = NULL;
	for (size_t i = 0; i < s.files[0]->tab.nr; i++) {
		if (!strcmp(s.files[0]->tab.syms[i].name, "outer"))
			outer = &s.files[0]->tab.syms[i];
	}
	assert_non_null(outer);
	outer_start = outer->start;
	outer_end = outer->start + outer->size;
	/* Somewhere in outer, inner's code runs inlined into middle inlined into outer. */
	for (uint64_t a = outer_start; a < outer_end && !found; a++) {
		const struct up_frame *fr;
		size_t n = up_symbolizer_frames(&s, a, 0, &fr);

		if (n != 3)
			continue;
		found = 1;
		assert_string_equal(fr[0].name, "outer");
		assert_string_equal(fr[1].name, "middle");
		assert_string_equal(fr[2].name, "inner");
		assert_string_equal(fr[2].file, "inline_example.c");
		assert_int_equal(fr[2].line, line_of("INNER_LINE"));
		assert_int_equal(fr[1].line, line_of("MIDDLE_LINE"));
		assert_int_equal(fr[0].line, line_of("OUTER_LINE"));
	}
	assert_true(found);
	up_symbolizer_deinit(&s);

	/* Without --inline, one frame per address, with the innermost line. */
	opts.inline_frames = 0;
	up_symbolizer_init(&s, &opts);
	assert_null(up_symbolizer_add_file(&s, path, 0, 0));
	found = 0;
	for (uint64_t a = outer_start; a < outer_end; a++) {
		const struct up_frame *fr;

		assert_int_equal(up_symbolizer_frames(&s, a, 0, &fr), 1);
		if (fr[0].line == line_of("INNER_LINE"))
			found = 1;
	}
	assert_true(found);
	up_symbolizer_deinit(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(map_system_map),
		cmocka_unit_test(map_nm_sizes),
		cmocka_unit_test(map_rejects_other_text),
		cmocka_unit_test(pe_image),
		cmocka_unit_test(demangling),
		cmocka_unit_test(slide_zero_by_code),
		cmocka_unit_test(slide_from_pe_header),
		cmocka_unit_test(slide_kaslr_banner),
		cmocka_unit_test(slide_despite_rewritten_code),
		cmocka_unit_test(slide_refused),
		cmocka_unit_test(slide_search_ends_when_target_lost),
		cmocka_unit_test(given_slides_are_kept),
		cmocka_unit_test(dwarf_inline_frames_and_lines),
	};

	return cmocka_run_group_tests_name("symfiles", tests, NULL, NULL);
}
