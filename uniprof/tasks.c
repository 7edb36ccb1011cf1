#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../util/durations.h"
#include "tasks.h"

const struct up_symfile *kernel_file(const struct up_symbolizer *s)
{
	const struct up_symfile *best = NULL;

	for (size_t i = 0; i < s->nr_files; i++) {
		const struct up_symfile *f = s->files[i];

		if (f->slide_state == UP_SLIDE_REFUSED || !f->linux_syms.has)
			continue;
		if (up_linux_syms_has_btf(&f->linux_syms) ||
		    up_linux_syms_has(&f->linux_syms, UP_LSYM_CURRENT_TASK) ||
		    up_linux_syms_has(&f->linux_syms, UP_LSYM_PCPU_HOT))
			return f;
		if (!best)
			best = f;
	}
	return best;
}

struct up_error *kernel_btf_read(struct up_target *t, struct up_memory *mem,
				 const struct up_symfile *f, uint8_t **ret, size_t *size,
				 double *pause_us)
{
	uint64_t start = f->linux_syms.value[UP_LSYM_START_BTF] + (uint64_t)f->slide;
	uint64_t stop = f->linux_syms.value[UP_LSYM_STOP_BTF] + (uint64_t)f->slide;
	struct up_error *err, *rerr;
	unsigned int vcpu;
	uint8_t *blob;
	double t0;

	*ret = NULL;
	if (stop <= start || stop - start > UP_BTF_MAX_SIZE)
		return up_error_create(UP_ERR_INVALID, "%s: __start_BTF..__stop_BTF is no plausible "
				       "BTF (%llu bytes)", f->path,
				       (unsigned long long)(stop - start));
	*size = stop - start;
	blob = malloc(*size);
	if (!blob)
		return &up_error_nomem;
	t0 = up_now_us();
	err = up_target_pause(t);
	vcpu = err ? 0 : up_target_kernel_vcpu(t);
	/* Page by page: the memory layer translates each page once. */
	for (uint64_t off = 0; !err && off < *size; ) {
		size_t n = *size - off < 65536 ? *size - off : 65536;

		err = up_memory_read(mem, vcpu, start + off, blob + off, n);
		off += n;
	}
	rerr = up_target_resume(t);
	*pause_us = up_now_us() - t0;
	if (!err)
		err = rerr;
	else
		up_error_destroy(rerr);
	if (err) {
		free(blob);
		return up_error_prefix(err, "reading the kernel's BTF at 0x%llx",
				       (unsigned long long)start);
	}
	*ret = blob;
	return NULL;
}

/* Read the kernel's BTF out of guest memory, in one pause, and parse its layout. */
static struct up_error *layout_from_guest(struct up_target *t, struct up_memory *mem,
					  const struct up_symfile *f, struct up_task_layout *layout,
					  size_t *size, double *pause_us)
{
	uint8_t *blob;
	struct up_error *err = kernel_btf_read(t, mem, f, &blob, size, pause_us);

	if (err)
		return err;
	err = up_btf_task_layout(blob, *size, layout);
	free(blob);
	return err;
}

/* How far past _etext a kernel's BTF is looked for (6.1: 6.7 MiB on x86_64). */
#define BTF_SCAN_MAX (96u << 20)
#define BTF_SCAN_CHUNK (1u << 20)

/*
 * No __start_BTF (kallsyms without data symbols): look for the BTF header in the read-only
 * data after _etext, in one pause, and take the first blob that parses with a task_struct.
 */
static struct up_error *layout_by_scan(struct up_target *t, struct up_memory *mem,
				       const struct up_symfile *f, struct up_task_layout *layout,
				       size_t *size, uint64_t *at, double *pause_us)
{
	uint64_t start = (f->linux_syms.value[UP_LSYM_ETEXT] + (uint64_t)f->slide + 4095) & ~4095ull;
	uint8_t *buf = malloc(BTF_SCAN_MAX);
	size_t have = 0, from = 0;
	struct up_error *err, *rerr, *found = NULL;
	int done = 0, last = 0;
	unsigned int vcpu;
	double t0;

	if (!buf)
		return &up_error_nomem;
	t0 = up_now_us();
	err = up_target_pause(t);
	vcpu = err ? 0 : up_target_kernel_vcpu(t);
	while (!err && !done) {
		size_t blob;
		long o = up_btf_find_header(buf, have, from, &blob);

		if (o < 0 || (size_t)o + blob > have) {
			/* Read on: more to search, or the rest of the blob found. */
			if (have == BTF_SCAN_MAX || last)
				break;
			/* Searched up to here: a header may straddle the chunks. */
			if (o < 0)
				from = have > 24 ? have - 24 : 0;
			err = up_memory_read(mem, vcpu, start + have, buf + have, BTF_SCAN_CHUNK);
			if (!up_error_catch(&err, UP_ERR_FAULT)) {
				have += BTF_SCAN_CHUNK;
				continue;
			}
			/*
			 * The end of what is mapped (arm64 unmaps the init sections right after
			 * read-only data): keep the pages before it, search them, and stop.
			 */
			for (size_t page = 0; !err && page < BTF_SCAN_CHUNK; page += 4096) {
				err = up_memory_read(mem, vcpu, start + have, buf + have, 4096);
				if (up_error_catch(&err, UP_ERR_FAULT))
					break;
				if (!err)
					have += 4096;
			}
			if (err || up_btf_find_header(buf, have, from, &blob) < 0)
				break;
			last = 1;
			continue;
		}
		up_error_destroy(found);
		found = up_btf_task_layout(buf + o, blob, layout);
		if (!found) {
			*size = blob;
			*at = start + (uint64_t)o;
			done = 1;
		}
		from = (size_t)o + 4;
	}
	rerr = up_target_resume(t);
	*pause_us = up_now_us() - t0;
	free(buf);
	if (err) {
		up_error_destroy(rerr);
		up_error_destroy(found);
		return up_error_prefix(err, "looking for the kernel's BTF after _etext");
	}
	if (rerr) {
		up_error_destroy(found);
		return rerr;
	}
	if (!done) {
		struct up_error *e = up_error_create(UP_ERR_INVALID, "%s has no __start_BTF and no "
						     "kernel BTF%s%s was found in the %llu MiB after "
						     "_etext: give a vmlinux with .BTF or DWARF with -k",
						     f->path, found ? " that parses: " : "",
						     found ? found->message : "",
						     (unsigned long long)(have >> 20));

		up_error_destroy(found);
		return e;
	}
	return NULL;
}

/* Where a -k ELF file may give task_struct's layout, in order of preference. */
static const struct {
	struct up_error *(*read)(const char *path, struct up_task_layout *ret);
	const char *what;
} elf_layouts[] = {
	{ up_btf_task_layout_elf, ".BTF" },
	{ up_dwarf_task_layout, "DWARF" },
};

struct up_error *tasks_setup(struct up_target *t, struct up_memory *mem,
			     const struct up_symbolizer *s, struct tasks_setup *ret)
{
	const struct up_arch *arch = t->ops->arch(t);
	const struct up_symfile *f = kernel_file(s);
	struct up_task_layout layout;
	struct up_error *err = NULL;
	char from[160];
	size_t size = 0;

	memset(ret, 0, sizeof(*ret));
	if (!f)
		return up_error_create(UP_ERR_INVALID, "--tasks: no -k file is a Linux kernel's with "
				       "a known slide and __start_BTF or current_task: give its "
				       "System.map, /proc/kallsyms or vmlinux");
	/*
	 * A vmlinux given with -k carries its .BTF (even one without symbols, next to a
	 * System.map), or DWARF (a debug vmlinux); otherwise the running kernel's own BTF is read.
	 */
	err = up_error_create(UP_ERR_INVALID, "no ELF file");
	/* Any file's BTF first; only then a debug vmlinux's DWARF (a kernel without BTF). */
	for (size_t k = 0; err && k < sizeof(elf_layouts) / sizeof(elf_layouts[0]); k++) {
		for (size_t i = 0; err && i < s->nr_files; i++) {
			if (s->files[i]->kind != UP_SYMFILE_ELF)
				continue;
			up_error_destroy(err);
			err = elf_layouts[k].read(s->files[i]->path, &layout);
			if (!err)
				snprintf(from, sizeof(from), "the %s of %s", elf_layouts[k].what,
					 s->files[i]->path);
		}
	}
	if (err) {
		up_error_destroy(err);
		if (up_linux_syms_has_btf(&f->linux_syms)) {
			err = layout_from_guest(t, mem, f, &layout, &size, &ret->pause_us);
			if (!err)
				snprintf(from, sizeof(from), "the kernel's BTF in guest memory (%zu "
					 "bytes)", size);
		} else if (up_linux_syms_has(&f->linux_syms, UP_LSYM_ETEXT)) {
			uint64_t at = 0;

			err = layout_by_scan(t, mem, f, &layout, &size, &at, &ret->pause_us);
			if (!err)
				snprintf(from, sizeof(from), "the kernel's BTF found in guest memory at "
					 "0x%llx, %llu bytes after _etext (%zu bytes; the file has no "
					 "__start_BTF)", (unsigned long long)at,
					 (unsigned long long)(at - f->linux_syms.value[UP_LSYM_ETEXT] -
							      (uint64_t)f->slide), size);
		} else {
			err = up_error_create(UP_ERR_INVALID, "%s has neither __start_BTF nor _etext: "
					      "give a vmlinux with .BTF or DWARF with -k", f->path);
		}
		if (err)
			return up_error_prefix(err, "--tasks");
	}
	err = up_task_finder_init(&ret->finder, arch, &f->linux_syms, f->slide, &layout);
	if (err)
		return up_error_prefix(err, "--tasks");
	snprintf(ret->how, sizeof(ret->how), "tasks: current from %s, task_struct pid +0x%x, tgid "
		 "+0x%x, comm +0x%x from %s", ret->finder.how, layout.pid, layout.tgid, layout.comm,
		 from);
	return NULL;
}
