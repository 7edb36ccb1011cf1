/*
 * The ORC tables of a Linux guest: from a -k vmlinux's .orc_unwind_ip, .orc_unwind and
 * .orc_header sections when one has them (checked against the guest's own copy), else from
 * guest memory, located through a System.map or kallsyms text file (the names are data
 * symbols, which the symbolizer does not keep) at the file's slide.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../symbolize/elf_image.h"
#include "orc_load.h"

/* Bytes of each table compared between the vmlinux and the guest before the file is trusted. */
#define CHECK_BYTES 96

enum { START_IP, STOP_IP, START_ENTRIES, START_HEADER, NR_NAMES };

static const char *const names[NR_NAMES] = {
	"__start_orc_unwind_ip", "__stop_orc_unwind_ip", "__start_orc_unwind", "__start_orc_header",
};

/* The link addresses of names[] in the text symbol file at path; 0 when absent.  0: read. */
static int scan_map(const char *path, uint64_t addrs[NR_NAMES])
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	memset(addrs, 0, NR_NAMES * sizeof(addrs[0]));
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		unsigned long long addr;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		for (int i = 0; i < NR_NAMES; i++)
			if (!addrs[i] && !strcmp(name, names[i]))
				addrs[i] = addr;
	}
	fclose(f);
	return 0;
}

/* "Linux version X.Y..." at the banner, read through read: the kernel's major and minor. */
static void banner_version(up_read_mem_fn *read, void *ctx, uint64_t banner,
			   struct up_orc_location *loc)
{
	char text[40];
	unsigned int major, minor;
	struct up_error *err = read(ctx, banner, text, sizeof(text) - 1);

	if (err) {
		up_error_destroy(err);
		return;
	}
	text[sizeof(text) - 1] = 0;
	if (sscanf(text, "Linux version %u.%u", &major, &minor) == 2) {
		loc->major = major;
		loc->minor = minor;
	}
}

/* A vmlinux's sections, read at runtime addresses: link address = runtime - slide. */
struct file_view {
	struct up_elf_image *img;
	int64_t slide;
};

static struct up_error *read_file(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct file_view *view = ctx;

	return up_elf_image_read(view->img, addr - (uint64_t)view->slide, buf, len);
}

/* Whether the slide of a file is one to use. */
static int slide_known(const struct up_symfile *f)
{
	return f->slide_state == UP_SLIDE_GIVEN || f->slide_state == UP_SLIDE_CONFIRMED;
}

/*
 * The file that gives vmlinux f its slide (and, when f has no symbols, linux_banner): f itself
 * when its slide is known; else a -k System.map or kallsyms of the same build (naming
 * __start_orc_unwind_ip where f's section starts) whose slide the running guest confirmed.
 */
static const struct up_symfile *same_build(const struct up_symbolizer *sym,
					   const struct up_symfile *f, uint64_t ip_section)
{
	uint64_t addrs[NR_NAMES];

	if (slide_known(f))
		return f;
	for (size_t i = 0; i < sym->nr_files; i++) {
		const struct up_symfile *m = sym->files[i];

		if (m->kind == UP_SYMFILE_MAP && slide_known(m) && !scan_map(m->path, addrs) &&
		    addrs[START_IP] == ip_section)
			return m;
	}
	return NULL;
}

/* Whether the guest holds, at the same addresses, the first bytes of the file's tables. */
static struct up_error *same_as_guest(const struct up_orc_location *loc, struct file_view *file,
				      struct up_vcpu_memory *guest, int *ret)
{
	uint64_t at[2] = { loc->ip_start, loc->entries };

	*ret = 1;
	for (int i = 0; i < 2 && *ret; i++) {
		uint8_t a[CHECK_BYTES], b[CHECK_BYTES];
		size_t n = loc->ip_stop - loc->ip_start < CHECK_BYTES ?
			   (size_t)(loc->ip_stop - loc->ip_start) : CHECK_BYTES;
		struct up_error *err = read_file(file, at[i], a, n);

		if (!err)
			err = up_vcpu_memory_read(guest, at[i], b, n);
		if (err && (err->code == UP_ERR_FAULT || err->code == UP_ERR_INVALID)) {
			up_error_destroy(err);
			*ret = 0;
			return NULL;
		}
		if (err)
			return err;
		*ret = !memcmp(a, b, n);
	}
	return NULL;
}

/*
 * The tables of a -k vmlinux with ORC sections, if one has them and they are the running
 * kernel's.  *ret stays NULL otherwise, with why in how.  The guest is paused briefly, only to
 * compare a few bytes.
 */
static struct up_error *load_from_vmlinux(struct up_target *t, struct up_memory *mem,
					  const struct up_symbolizer *sym, struct up_orc **ret,
					  char *how, size_t howlen)
{
	for (size_t i = 0; i < sym->nr_files && !*ret; i++) {
		const struct up_symfile *f = sym->files[i], *build;
		struct up_orc_location loc = { 0 };
		struct up_vcpu_memory guest = { .memory = mem };
		struct file_view file = { 0 };
		uint64_t ip, ip_size, entries, size, header;
		struct up_error *err, *rerr;
		int same = 0;

		if (f->kind != UP_SYMFILE_ELF || up_elf_image_open(f->path, &file.img) != NULL)
			continue;  /* the symbol loader read it: an error here is nothing to add */
		if (up_elf_image_section(file.img, ".orc_unwind_ip", &ip, &ip_size) ||
		    up_elf_image_section(file.img, ".orc_unwind", &entries, &size)) {
			up_elf_image_close(file.img);
			continue;
		}
		build = same_build(sym, f, ip);
		if (!build) {
			snprintf(how, howlen, "%s has ORC sections, but its slide is unknown: give the "
				 "System.map too", f->path);
			up_elf_image_close(file.img);
			continue;
		}
		file.slide = build->slide;
		loc.ip_start = ip + (uint64_t)file.slide;
		loc.ip_stop = ip + ip_size + (uint64_t)file.slide;
		loc.entries = entries + (uint64_t)file.slide;
		if (!up_elf_image_section(file.img, ".orc_header", &header, &size))
			loc.header = header + (uint64_t)file.slide;
		else if (f->banner || build->banner)
			banner_version(read_file, &file, (f->banner ? f->banner : build->banner) +
				       (uint64_t)file.slide, &loc);
		err = up_target_pause(t);
		if (!err) {
			guest.vcpu = up_target_kernel_vcpu(t);
			err = same_as_guest(&loc, &file, &guest, &same);
		}
		rerr = up_target_resume(t);
		if (!err)
			err = rerr;
		else
			up_error_destroy(rerr);
		if (!err && !same)
			snprintf(how, howlen, "%s: its ORC tables are not the running kernel's", f->path);
		if (!err && same) {
			err = up_orc_read(&loc, read_file, &file, ret);
			if (err && err->code == UP_ERR_INVALID) {
				snprintf(how, howlen, "%s: %s", f->path, err->message);
				up_error_destroy(err);
				err = NULL;
			} else if (!err) {
				snprintf(how, howlen, "%s: %zu ORC entries from its .orc_unwind sections, "
					 "format %u (%s)", f->path, up_orc_count(*ret), up_orc_version(*ret),
					 loc.header ? ".orc_header" : "kernel version");
			}
		}
		up_elf_image_close(file.img);
		if (err)
			return err;
	}
	return NULL;
}

struct up_error *orc_load(struct up_target *t, struct up_memory *mem,
			  const struct up_symbolizer *sym, struct up_orc **ret, char *how,
			  size_t howlen)
{
	const struct up_symfile *file = NULL;
	struct up_orc_location loc = { 0 };
	struct up_vcpu_memory view = { .memory = mem };
	uint64_t addrs[NR_NAMES];
	struct up_error *err, *rerr;
	char note[256] = "";  /* what kept a vmlinux's tables out, said beside what is used */

	*ret = NULL;
	snprintf(how, howlen, "no -k vmlinux has .orc_unwind sections, no -k System.map or "
		 "kallsyms names __start_orc_unwind_ip");
	if (strcmp(t->ops->arch(t)->name, "x86_64")) {
		snprintf(how, howlen, "ORC is for x86_64 guests");
		return NULL;
	}
	err = load_from_vmlinux(t, mem, sym, ret, note, sizeof(note));
	if (err || *ret) {
		snprintf(how, howlen, "%s", note);
		return err;
	}
	if (note[0])
		snprintf(how, howlen, "%s", note);
	for (size_t i = 0; i < sym->nr_files && !file; i++) {
		const struct up_symfile *f = sym->files[i];

		if (f->kind != UP_SYMFILE_MAP || f->slide_state == UP_SLIDE_REFUSED ||
		    f->slide_state == UP_SLIDE_UNKNOWN || scan_map(f->path, addrs))
			continue;
		if (addrs[START_IP] && addrs[STOP_IP] && addrs[START_ENTRIES])
			file = f;
	}
	if (!file)
		return NULL;
	loc.ip_start = addrs[START_IP] + (uint64_t)file->slide;
	loc.ip_stop = addrs[STOP_IP] + (uint64_t)file->slide;
	loc.entries = addrs[START_ENTRIES] + (uint64_t)file->slide;
	loc.header = addrs[START_HEADER] ? addrs[START_HEADER] + (uint64_t)file->slide : 0;
	err = up_target_pause(t);
	if (!err)
		view.vcpu = up_target_kernel_vcpu(t);
	if (!err && file->banner)
		banner_version(up_vcpu_memory_read, &view, file->banner + (uint64_t)file->slide, &loc);
	if (!err)
		err = up_orc_read(&loc, up_vcpu_memory_read, &view, ret);
	rerr = up_target_resume(t);
	if (err && (err->code == UP_ERR_INVALID || err->code == UP_ERR_FAULT)) {
		snprintf(how, howlen, "%s: %s", file->path, err->message);
		up_error_destroy(err);
		err = NULL;
	}
	if (err || rerr) {
		up_orc_destroy(*ret);
		*ret = NULL;
		if (!err)
			return rerr;
		up_error_destroy(rerr);
		return err;
	}
	if (*ret)
		snprintf(how, howlen, "%s: %zu ORC entries at 0x%" PRIx64 ", format %u (%s)%s%s%s",
			 file->path, up_orc_count(*ret), loc.ip_start, up_orc_version(*ret),
			 loc.header ? ".orc_header" : "kernel version", note[0] ? " (" : "", note,
			 note[0] ? ")" : "");
	return NULL;
}
