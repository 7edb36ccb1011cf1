/*
 * A Linux guest's modules (linux/modules.c): struct module's layout from synthetic BTF of the
 * 6.1 and 6.4 shapes, the module list over fake guest memory (two modules; loops, links out of
 * the kernel, faults, a lost target, implausible modules), each module's symbols, and its ORC
 * table beside the kernel's (unwind/orc_table.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <bpf/btf.h>

#include "../../linux/modules.h"
#include "../../unwind/orc.h"
#include "fake_memory.h"

/* Module space, above the kernel's code (whose last ORC entry would cover it). */
#define BASE 0xffffffffc0000000ull

/* The 6.1 shape of fuzz_modules.c, which this memory follows. */
static const struct up_module_layout layout = {
	.list = 8, .name = 24, .name_len = UP_MODULE_NAME_MAX, .text_base = 0x60,
	.text_size = 0x68, .has_orc = 1, .num_orcs = 0x6c, .orc_ip = 0x70, .orc_entries = 0x78,
	.has_kallsyms = 1, .kallsyms = 0x80, .ks_symtab = 0, .ks_num_symtab = 8, .ks_strtab = 16,
};

struct guest {
	uint8_t bytes[0x4000];
	uint8_t text[0x4000];
	struct fake_memory mem;
};

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

/*
 * A module at off (its struct) named name, code at text (0x1000 bytes), next its list link;
 * symbols "NAME_read" and "NAME_loop" (functions), "NAME_data" (an object), one undefined; ORC:
 * two entries (a call frame at the start, a terminator halfway).
 */
static void module(struct guest *g, size_t off, const char *name, uint64_t text, uint64_t next)
{
	uint8_t *m = g->bytes + off;
	size_t ks = off + 0x100, symtab = off + 0x140, strtab = off + 0x200, orc = off + 0x280;
	char names[96];
	int n1, n2, n3, len;

	put_le64(m + 8, next);
	memcpy(m + 24, name, strlen(name));
	put_le64(m + 0x60, text);
	put32(m + 0x68, 0x1000);
	put32(m + 0x6c, 2);
	put_le64(m + 0x70, BASE + orc);
	put_le64(m + 0x78, BASE + orc + 8);
	put_le64(m + 0x80, BASE + ks);
	put_le64(g->bytes + ks, BASE + symtab);
	put32(g->bytes + ks + 8, 4);
	put_le64(g->bytes + ks + 16, BASE + strtab);
	len = snprintf(names, sizeof(names), "%c%s_read%c%n%s_loop%c%n%s_data%c%n", 0, name, 0, &n1,
		       name, 0, &n2, name, 0, &n3);
	memcpy(g->bytes + strtab, names, (size_t)len);
	{
		struct { uint32_t name; uint8_t info; uint16_t shndx; uint64_t value, size; } syms[4] = {
			{ 0, 0, 0, 0, 0 },
			{ 1, 0x12, 1, text + 0x10, 0x80 },
			{ (uint32_t)n1, 0x02, 1, text + 0x100, 0 },
			{ (uint32_t)n2, 0x11, 2, text + 0x800, 8 },
		};

		for (int i = 0; i < 4; i++) {
			uint8_t *s = g->bytes + symtab + 24 * i;

			put32(s, syms[i].name);
			s[4] = syms[i].info;
			s[6] = syms[i].shndx & 0xff;
			put_le64(s + 8, syms[i].value);
			put_le64(s + 16, syms[i].size);
		}
	}
	(void)n3;
	put32(g->bytes + orc, (uint32_t)(int32_t)(int64_t)(text - (BASE + orc)));
	put32(g->bytes + orc + 4, (uint32_t)(int32_t)(int64_t)(text + 0x800 - (BASE + orc + 4)));
	/* sp_offset 8, sp_reg SP (5), type CALL (2, format 1) | end 0 */
	g->bytes[orc + 8] = 8;
	g->bytes[orc + 12] = 5;
	g->bytes[orc + 13] = 0;
}

static struct guest *two_modules(void)
{
	struct guest *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	/* The ORC ips are self-relative 32-bit offsets: code within 2 GiB of the tables. */
	put_le64(g->bytes, BASE + 0x1000 + 8);
	module(g, 0x1000, "first", BASE + 0x8000, BASE + 0x2000 + 8);
	module(g, 0x2000, "second", BASE + 0x9000, BASE);
	g->mem.regions[0] = (struct fake_region){ BASE, sizeof(g->bytes), g->bytes };
	g->mem.nr = 1;
	return g;
}

static void list_and_symbols(void **state)
{
	struct guest *g = two_modules();
	struct up_module_info mods[8];
	size_t nr = 0, added = 0;
	struct up_symtab tab;

	(void)state;
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr));
	assert_int_equal(nr, 2);
	assert_string_equal(mods[0].name, "first");
	assert_string_equal(mods[1].name, "second");
	assert_int_equal(mods[1].text, BASE + 0x9000);
	assert_int_equal(mods[1].text_size, 0x1000);
	assert_int_equal(mods[0].num_orcs, 2);
	assert_int_equal(mods[0].num_symtab, 4);
	up_symtab_init(&tab);
	assert_null(up_module_symbols(&mods[1], fake_read, &g->mem, &tab, &added));
	/* The two functions; the object and the undefined symbol are not code. */
	assert_int_equal(added, 2);
	up_symtab_finish(&tab);
	assert_string_equal(up_symtab_lookup(&tab, BASE + 0x9010)->name, "second_read");
	assert_string_equal(up_symtab_lookup(&tab, BASE + 0x9100)->name, "second_loop");
	assert_null(up_symtab_lookup(&tab, BASE + 0x9008));
	up_symtab_deinit(&tab);
	/* At most max modules. */
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 1, &nr));
	assert_int_equal(nr, 1);
	free(g);
}

static void orc_beside_the_kernel(void **state)
{
	struct guest *g = two_modules();
	struct up_module_info mods[8];
	int32_t ip = 0;
	uint8_t entry[6] = { 16, 0, 0, 0, 5, 0 };   /* sp_offset 16: the kernel's */
	struct up_orc *orc;
	struct up_orc_entry e;
	size_t nr = 0;
	struct up_error *err;

	(void)state;
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr));
	assert_null(up_orc_create(1, 0xffffffff81000000ull, &ip, entry, 1, &orc));
	/* The kernel's last entry would cover module code: not once the module's table is in. */
	assert_int_equal(up_orc_find(orc, BASE + 0x8010, &e), 0);
	assert_int_equal(e.sp_offset, 16);
	for (size_t i = 0; i < nr; i++)
		assert_null(up_orc_add_module(orc, mods[i].text, mods[i].text_size, mods[i].orc_ip,
					      mods[i].orc_entries, mods[i].num_orcs, fake_read,
					      &g->mem));
	assert_int_equal(up_orc_module_count(orc), 2);
	assert_int_equal(up_orc_find(orc, BASE + 0x8010, &e), 0);
	assert_int_equal(e.sp_offset, 8);
	assert_int_equal(e.type, UP_ORC_CALL);
	assert_int_equal(up_orc_find(orc, BASE + 0x9900, &e), 0);
	assert_int_equal(e.type, UP_ORC_UNDEFINED);
	assert_int_equal(up_orc_find(orc, 0xffffffff81000100ull, &e), 0);
	assert_int_equal(e.sp_offset, 16);
	/* A module over another's code is refused. */
	err = up_orc_add_module(orc, BASE + 0x8800, 0x1000, mods[0].orc_ip, mods[0].orc_entries,
				2, fake_read, &g->mem);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	up_error_destroy(err);
	up_orc_destroy(orc);
	free(g);
}

static void hostile_lists(void **state)
{
	struct guest *g = two_modules();
	struct up_module_info mods[8];
	size_t nr = 0;
	struct up_error *err;

	(void)state;
	/* second links back to first, not to the head: each module once. */
	put_le64(g->bytes + 0x2000 + 8, BASE + 0x1000 + 8);
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr));
	assert_int_equal(nr, 2);
	/* A link into user space, then one into nothing: the walk ends there, quietly. */
	put_le64(g->bytes + 0x2000 + 8, 0x7fff00001000ull);
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr));
	assert_int_equal(nr, 2);
	put_le64(g->bytes + 0x2000 + 8, 0xffffffffdead0000ull);
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr));
	assert_int_equal(nr, 2);
	/* A module with no code, one with a name out of printable ASCII. */
	put32(g->bytes + 0x1000 + 0x68, 0);
	g->bytes[0x2000 + 24] = 0x01;
	put_le64(g->bytes + 0x2000 + 8, BASE);
	assert_null(up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr));
	assert_int_equal(nr, 1);
	assert_string_equal(mods[0].name, "?econd");
	/* A lost target is an error. */
	g->mem.lost_at = BASE + 0x2000;
	err = up_modules_list(&layout, BASE, fake_read, &g->mem, mods, 8, &nr);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	free(g);
}

/* struct module of the 6.1 shape (core_layout) or the 6.4 one (mem[]), with BTF of its own. */
static struct btf *module_btf(int new_shape)
{
	struct btf *b = btf__new_empty();
	int u32, chr, name, voidp, intp, list, text, mod, ks, mem, memarr, arch, ksptr;

	u32 = btf__add_int(b, "unsigned int", 4, 0);
	chr = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	voidp = btf__add_ptr(b, 0);
	intp = btf__add_ptr(b, u32);
	name = btf__add_array(b, u32, chr, UP_MODULE_NAME_MAX);
	list = btf__add_struct(b, "list_head", 16);
	assert_int_equal(btf__add_field(b, "next", voidp, 0, 0), 0);
	assert_int_equal(btf__add_field(b, "prev", voidp, 64, 0), 0);
	text = btf__add_struct(b, new_shape ? "module_memory" : "module_layout", 24);
	assert_int_equal(btf__add_field(b, "base", voidp, 0, 0), 0);
	assert_int_equal(btf__add_field(b, new_shape ? "size" : "text_size", u32, 96, 0), 0);
	memarr = btf__add_array(b, u32, text, 7);
	arch = btf__add_struct(b, "mod_arch_specific", 24);
	assert_int_equal(btf__add_field(b, "num_orcs", u32, 0, 0), 0);
	assert_int_equal(btf__add_field(b, "orc_unwind_ip", intp, 64, 0), 0);
	assert_int_equal(btf__add_field(b, "orc_unwind", voidp, 128, 0), 0);
	ks = btf__add_struct(b, "mod_kallsyms", 32);
	assert_int_equal(btf__add_field(b, "symtab", voidp, 0, 0), 0);
	assert_int_equal(btf__add_field(b, "num_symtab", u32, 64, 0), 0);
	assert_int_equal(btf__add_field(b, "strtab", voidp, 128, 0), 0);
	ksptr = btf__add_ptr(b, ks);
	mod = btf__add_struct(b, "module", 1024);
	assert_true(mod > 0);
	assert_int_equal(btf__add_field(b, "list", list, 64, 0), 0);
	assert_int_equal(btf__add_field(b, "name", name, 192, 0), 0);
	mem = new_shape ? memarr : text;
	assert_int_equal(btf__add_field(b, new_shape ? "mem" : "core_layout", mem, 0x140 * 8, 0), 0);
	assert_int_equal(btf__add_field(b, "arch", arch, 0x300 * 8, 0), 0);
	assert_int_equal(btf__add_field(b, "kallsyms", ksptr, 0x380 * 8, 0), 0);
	return b;
}

static void layouts_from_btf(void **state)
{
	(void)state;
	for (int shape = 0; shape < 2; shape++) {
		struct btf *b = module_btf(shape);
		struct up_module_layout l;
		const void *raw;
		__u32 size;

		raw = btf__raw_data(b, &size);
		assert_non_null(raw);
		assert_null(up_btf_module_layout(raw, size, &l));
		assert_int_equal(l.list, 8);
		assert_int_equal(l.name, 24);
		assert_int_equal(l.text_base, 0x140);
		assert_int_equal(l.text_size, 0x14c);
		assert_true(l.has_orc);
		assert_int_equal(l.num_orcs, 0x300);
		assert_int_equal(l.orc_ip, 0x308);
		assert_int_equal(l.orc_entries, 0x310);
		assert_true(l.has_kallsyms);
		assert_int_equal(l.kallsyms, 0x380);
		assert_int_equal(l.ks_num_symtab, 8);
		assert_int_equal(l.ks_strtab, 16);
		btf__free(b);
	}
	{
		struct btf *b = btf__new_empty();
		struct up_module_layout l;
		struct up_error *err;
		const void *raw;
		__u32 size;

		btf__add_int(b, "int", 4, BTF_INT_SIGNED);
		raw = btf__raw_data(b, &size);
		err = up_btf_module_layout(raw, size, &l);
		assert_non_null(err);
		assert_int_equal(err->code, UP_ERR_INVALID);
		up_error_destroy(err);
		btf__free(b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_and_symbols),
		cmocka_unit_test(orc_beside_the_kernel),
		cmocka_unit_test(hostile_lists),
		cmocka_unit_test(layouts_from_btf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
