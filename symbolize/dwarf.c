/*
 * libdw finds the compilation unit of an address from .debug_aranges (a sorted lookup), then
 * dwarf_getscopes lists the scopes nesting there, innermost first: inlined subroutines,
 * lexical blocks, and the subprogram.  The symbolizer caches results per address, so each
 * distinct address costs this once.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf.h"

struct up_dwarf {
	int fd;
	Dwarf *dw;
};

struct up_error *up_dwarf_open(const char *path, struct up_dwarf **ret)
{
	struct up_dwarf *d = malloc(sizeof(*d));

	if (!d)
		return &up_error_nomem;
	d->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (d->fd < 0) {
		int e = errno;

		free(d);
		return up_error_errno(e, "%s", path);
	}
	d->dw = dwarf_begin(d->fd, DWARF_C_READ);
	if (!d->dw) {
		close(d->fd);
		free(d);
		return up_error_create(UP_ERR_UNSUPPORTED, "%s: no DWARF debug information", path);
	}
	*ret = d;
	return NULL;
}

void up_dwarf_close(struct up_dwarf *d)
{
	if (!d)
		return;
	dwarf_end(d->dw);
	close(d->fd);
	free(d);
}

static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name;

	/* Follow DW_AT_abstract_origin / DW_AT_specification to the declaration's names. */
	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr)) {
		name = dwarf_formstring(&attr);
		if (name)
			return name;
	}
	if (dwarf_attr_integrate(die, DW_AT_name, &attr))
		return dwarf_formstring(&attr);
	return NULL;
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* Where an inlined instance was called from: its DW_AT_call_file and DW_AT_call_line. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inlined, const char **file, unsigned int *line)
{
	Dwarf_Attribute attr;
	Dwarf_Files *files;
	Dwarf_Word idx, ln;
	size_t nfiles;

	*file = NULL;
	*line = 0;
	if (dwarf_attr(inlined, DW_AT_call_line, &attr) && !dwarf_formudata(&attr, &ln))
		*line = ln;
	if (dwarf_attr(inlined, DW_AT_call_file, &attr) && !dwarf_formudata(&attr, &idx) &&
	    !dwarf_getsrcfiles(cu, &files, &nfiles) && idx < nfiles)
		*file = base_name(dwarf_filesrc(files, idx, NULL, NULL));
}

static int is_function(Dwarf_Die *die)
{
	int tag = dwarf_tag(die);

	return tag == DW_TAG_inlined_subroutine || tag == DW_TAG_subprogram;
}

size_t up_dwarf_frames(struct up_dwarf *d, uint64_t addr, struct up_dwarf_frame *out, size_t max)
{
	Dwarf_Die cu, *scopes = NULL, *chain = NULL, innermost;
	Dwarf_Line *line;
	size_t n = 0;
	int nscopes, nchain, i;

	if (!max || !dwarf_addrdie(d->dw, addr, &cu))
		return 0;
	nscopes = dwarf_getscopes(&cu, addr, &scopes);
	for (i = 0; i < nscopes && !is_function(&scopes[i]); i++)
		;
	if (i >= nscopes) {
		free(scopes);
		return 0;
	}
	/*
	 * Past an inlined instance dwarf_getscopes continues in its abstract definition; the
	 * concrete scopes that hold it come from dwarf_getscopes_die on the instance itself.
	 */
	innermost = scopes[i];
	free(scopes);
	nchain = dwarf_getscopes_die(&innermost, &chain);
	if (nchain <= 0)
		return 0;
	for (i = 0; i < nchain && n < max; i++) {
		if (!is_function(&chain[i]))
			continue;
		out[n].name = die_name(&chain[i]);
		out[n].inlined = dwarf_tag(&chain[i]) == DW_TAG_inlined_subroutine;
		out[n].file = NULL;
		out[n].line = 0;
		if (n > 0) {
			/* This frame's line is where it called the previous (inlined) frame. */
			Dwarf_Die *callee = NULL;

			for (int k = i - 1; k >= 0 && !callee; k--) {
				if (is_function(&chain[k]))
					callee = &chain[k];
			}
			if (callee && dwarf_tag(callee) == DW_TAG_inlined_subroutine)
				call_site(&cu, callee, &out[n].file, &out[n].line);
		}
		n++;
		if (!out[n - 1].inlined)
			break;
	}
	/* The innermost frame's line is addr's own. */
	line = dwarf_getsrc_die(&cu, addr);
	if (n && line) {
		int ln = 0;

		dwarf_lineno(line, &ln);
		out[0].file = base_name(dwarf_linesrc(line, NULL, NULL));
		out[0].line = ln > 0 ? ln : 0;
	}
	free(chain);
	return n;
}
