/*
 * The modules a Linux guest has loaded, read once before sampling (linux/modules.h): their ORC
 * tables join the kernel's, their function symbols join the -k files.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../linux/modules.h"
#include "../util/bytes.h"
#include "../util/durations.h"
#include "modules_load.h"
#include "tasks.h"

/* struct module's layout: from a -k vmlinux's .BTF, else from the guest's BTF. */
static struct up_error *module_layout(struct up_target *t, struct up_memory *mem,
				      const struct up_symbolizer *sym, const struct up_symfile *f,
				      struct up_module_layout *l, double *pause_us)
{
	struct up_error *err;
	uint8_t *blob;
	size_t size;

	for (size_t i = 0; i < sym->nr_files; i++) {
		if (sym->files[i]->kind != UP_SYMFILE_ELF)
			continue;
		err = up_btf_module_layout_elf(sym->files[i]->path, l);
		if (!err)
			return NULL;
		up_error_destroy(err);
	}
	if (!up_linux_syms_has_btf(&f->linux_syms))
		return up_error_create(UP_ERR_INVALID, "no -k vmlinux with .BTF, and %s has no "
				       "__start_BTF", f->path);
	err = kernel_btf_read(t, mem, f, &blob, &size, pause_us);
	if (err)
		return err;
	err = up_btf_module_layout(blob, size, l);
	free(blob);
	return err;
}

/* Each module's ORC table and symbols, read in one pause. */
static struct up_error *read_modules(struct up_target *t, struct up_memory *mem,
				     struct up_symbolizer *sym, struct up_orc *orc,
				     const struct up_module_layout *l, uint64_t head,
				     struct modules_loaded *ret)
{
	struct up_module_info *mods = calloc(UP_MODULES_MAX, sizeof(*mods));
	struct up_symtab *tabs = NULL;
	struct up_vcpu_memory v = { .memory = mem };
	struct up_error *err, *rerr;
	size_t nr = 0;
	double t0;

	if (!mods)
		return &up_error_nomem;
	t0 = up_now_us();
	err = up_target_pause(t);
	if (!err) {
		v.vcpu = up_target_kernel_vcpu(t);
		err = up_modules_list(l, head, up_vcpu_memory_read, &v, mods, UP_MODULES_MAX, &nr);
	}
	if (!err && nr) {
		tabs = calloc(nr, sizeof(*tabs));
		if (!tabs)
			err = &up_error_nomem;
	}
	for (size_t i = 0; !err && i < nr; i++) {
		size_t added = 0;

		up_symtab_init(&tabs[i]);
		if (orc && mods[i].num_orcs) {
			err = up_orc_add_module(orc, mods[i].text, mods[i].text_size, mods[i].orc_ip,
						mods[i].orc_entries, mods[i].num_orcs, up_vcpu_memory_read, &v);
			if (up_error_catch(&err, UP_ERR_FAULT) || up_error_catch(&err, UP_ERR_INVALID))
				ret->orc_refused++;
			else if (!err)
				ret->with_orc++;
		}
		if (!err)
			err = up_module_symbols(&mods[i], up_vcpu_memory_read, &v, &tabs[i], &added);
		if (up_error_catch(&err, UP_ERR_FAULT))
			added = 0;
		ret->symbols += added;
	}
	rerr = up_target_resume(t);
	ret->pause_us = up_now_us() - t0;
	if (!err)
		err = rerr;
	else
		up_error_destroy(rerr);
	ret->modules = nr;
	for (size_t i = 0; i < nr; i++) {
		char name[UP_MODULE_NAME_MAX + 3];

		snprintf(name, sizeof(name), "[%s]", mods[i].name);
		if (!err && tabs[i].nr)
			err = up_symbolizer_add_symtab(sym, name, &tabs[i], "a module in guest memory");
		up_symtab_deinit(&tabs[i]);
	}
	free(tabs);
	free(mods);
	return err;
}

struct up_error *modules_load(struct up_target *t, struct up_memory *mem,
			      struct up_symbolizer *sym, struct up_orc *orc,
			      struct modules_loaded *ret)
{
	const struct up_symfile *f = kernel_file(sym);
	struct up_vcpu_memory v = { .memory = mem };
	struct up_module_layout l;
	struct up_error *err, *rerr;
	uint8_t link[8];
	uint64_t head;

	memset(ret, 0, sizeof(*ret));
	/* Not a Linux kernel's symbols: nothing to say. */
	if (!f || !up_linux_syms_has(&f->linux_syms, UP_LSYM_MODULES))
		return NULL;
	/* An empty list (no module loaded): no BTF to read. */
	head = f->linux_syms.value[UP_LSYM_MODULES] + (uint64_t)f->slide;
	err = up_target_pause(t);
	if (!err) {
		v.vcpu = up_target_kernel_vcpu(t);
		err = up_vcpu_memory_read(&v, head, link, sizeof(link));
		rerr = up_target_resume(t);
		if (!err)
			err = rerr;
		else
			up_error_destroy(rerr);
	}
	if (up_error_catch(&err, UP_ERR_FAULT)) {
		snprintf(ret->how, sizeof(ret->how), "the module list at 0x%" PRIx64 " is unreadable",
			 head);
		return NULL;
	}
	if (err)
		return up_error_prefix(err, "reading the guest's modules");
	if (up_le64(link) == head) {
		snprintf(ret->how, sizeof(ret->how), "none loaded");
		return NULL;
	}
	err = module_layout(t, mem, sym, f, &l, &ret->btf_pause_us);
	if (err && (err->code == UP_ERR_INVALID || err->code == UP_ERR_FAULT)) {
		snprintf(ret->how, sizeof(ret->how), "struct module's layout unknown (%s)",
			 err->message);
		up_error_destroy(err);
		return NULL;
	}
	if (err)
		return err;
	err = read_modules(t, mem, sym, orc, &l, head, ret);
	if (err)
		return up_error_prefix(err, "reading the guest's modules");
	snprintf(ret->how, sizeof(ret->how), "%zu modules, %zu with their ORC table%s, %zu function "
		 "symbols (the guest stopped %.0f us)", ret->modules, ret->with_orc,
		 ret->orc_refused ? " (some refused)" : "", ret->symbols, ret->pause_us);
	return NULL;
}
