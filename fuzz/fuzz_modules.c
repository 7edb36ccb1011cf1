/*
 * libFuzzer: a guest's module list from hostile memory (linux/modules.c): the list walk (loops,
 * links out of the kernel, implausible modules), each module's symbol table and names, and its
 * ORC table added beside a kernel's (orc_table.c).  Guest memory is the input's bytes at
 * 0xffff800000000000; the list head is its first 8 bytes, struct module has a fixed layout of
 * the 6.1 shape.  Seeded by tests/unit/test_modules.c's fake guest (fuzz/modules_seed.py).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../linux/modules.h"
#include "../unwind/orc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define BASE 0xffff800000000000ull

struct blob {
	const uint8_t *data;
	size_t size;
};

static struct up_error *read_blob(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct blob *b = ctx;

	if (addr < BASE || addr - BASE > b->size || len > b->size - (addr - BASE))
		return up_error_fault(addr, "outside the input");
	memcpy(buf, b->data + (addr - BASE), len);
	return NULL;
}

static const struct up_module_layout layout = {
	.list = 8, .name = 24, .name_len = UP_MODULE_NAME_MAX, .text_base = 0x60,
	.text_size = 0x68, .has_orc = 1, .num_orcs = 0x6c, .orc_ip = 0x70, .orc_entries = 0x78,
	.has_kallsyms = 1, .kallsyms = 0x80, .ks_symtab = 0, .ks_num_symtab = 8, .ks_strtab = 16,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct up_module_info mods[16];
	struct blob b = { data, size };
	int32_t ip = 0;
	uint8_t entry[6] = { 0 };
	struct up_orc *orc = NULL;
	size_t nr = 0;
	struct up_error *err = up_modules_list(&layout, BASE, read_blob, &b, mods, 16, &nr);

	if (err)
		__builtin_trap();  /* only faults come from this memory, and they end the walk */
	if (nr > 16 || up_orc_create(1, 0xffffffff81000000ull, &ip, entry, 1, &orc))
		__builtin_trap();
	for (size_t i = 0; i < nr; i++) {
		struct up_symtab tab;
		size_t added = 0;
		struct up_orc_entry e;

		if (!mods[i].text_size || mods[i].text_size > UP_MODULE_TEXT_MAX ||
		    strlen(mods[i].name) > UP_MODULE_NAME_MAX || strchr(mods[i].name, ';'))
			__builtin_trap();
		up_symtab_init(&tab);
		err = up_module_symbols(&mods[i], read_blob, &b, &tab, &added);
		up_error_destroy(err);
		up_symtab_finish(&tab);
		for (size_t k = 0; k < tab.nr; k++)
			if (tab.syms[k].start < mods[i].text ||
			    tab.syms[k].start - mods[i].text >= mods[i].text_size)
				__builtin_trap();
		up_symtab_deinit(&tab);
		if (mods[i].num_orcs && mods[i].num_orcs <= 4096) {
			err = up_orc_add_module(orc, mods[i].text, mods[i].text_size, mods[i].orc_ip,
						mods[i].orc_entries, mods[i].num_orcs, read_blob, &b);
			up_error_destroy(err);
		}
		(void)up_orc_find(orc, mods[i].text, &e);
		(void)up_orc_find(orc, mods[i].text + mods[i].text_size - 1, &e);
	}
	up_orc_destroy(orc);
	return 0;
}
