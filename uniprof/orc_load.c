/*
 * The ORC tables of a Linux guest, located through a System.map or kallsyms text file (the
 * names are data symbols, which the symbolizer does not keep) at the file's slide.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "orc_load.h"

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

/* "Linux version X.Y..." at the banner: the kernel's major and minor version. */
static void banner_version(struct up_memory *mem, unsigned int vcpu, uint64_t banner,
			   struct up_orc_location *loc)
{
	char text[40];
	unsigned int major, minor;
	struct up_error *err = up_memory_read(mem, vcpu, banner, text, sizeof(text) - 1);

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

/* Guest memory through one vCPU's view. */
struct kernel_view {
	struct up_memory *mem;
	unsigned int vcpu;
};

static struct up_error *read_one(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct kernel_view *view = ctx;

	return up_memory_read(view->mem, view->vcpu, addr, buf, len);
}

struct up_error *orc_load(struct up_target *t, struct up_memory *mem,
			  const struct up_symbolizer *sym, struct up_orc **ret, char *how,
			  size_t howlen)
{
	const struct up_symfile *file = NULL;
	struct up_orc_location loc = { 0 };
	struct kernel_view view = { .mem = mem };
	uint64_t addrs[NR_NAMES];
	struct up_error *err, *rerr;

	*ret = NULL;
	snprintf(how, howlen, "no -k System.map or kallsyms names __start_orc_unwind_ip");
	if (strcmp(t->ops->arch(t)->name, "x86_64")) {
		snprintf(how, howlen, "ORC is for x86_64 guests");
		return NULL;
	}
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
		banner_version(mem, view.vcpu, file->banner + (uint64_t)file->slide, &loc);
	if (!err)
		err = up_orc_read(&loc, read_one, &view, ret);
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
		snprintf(how, howlen, "%s: %zu ORC entries at 0x%" PRIx64 ", format %u (%s)",
			 file->path, up_orc_count(*ret), loc.ip_start, up_orc_version(*ret),
			 loc.header ? ".orc_header" : "kernel version");
	return NULL;
}
