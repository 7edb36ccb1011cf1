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

size_t up_dwarf_frames(struct up_dwarf *d, uint64_t addr, struct up_dwarf_frame *out, size_t max)
{
	Dwarf_Die cu, *scopes = NULL;
	Dwarf_Line *line;
	size_t n = 0;
	int nscopes;

	if (!max || !dwarf_addrdie(d->dw, addr, &cu))
		return 0;
	nscopes = dwarf_getscopes(&cu, addr, &scopes);
	if (nscopes <= 0)
		return 0;
	for (int i = 0; i < nscopes && n < max; i++) {
		int tag = dwarf_tag(&scopes[i]);

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		out[n].name = die_name(&scopes[i]);
		out[n].inlined = tag == DW_TAG_inlined_subroutine;
		out[n].file = NULL;
		out[n].line = 0;
		n++;
		if (tag == DW_TAG_subprogram)
			break;
	}
	/* Lines: addr's own for the innermost, then each inlined instance's call site. */
	line = dwarf_getsrc_die(&cu, addr);
	if (n && line) {
		int ln = 0;

		dwarf_lineno(line, &ln);
		out[0].file = base_name(dwarf_linesrc(line, NULL, NULL));
		out[0].line = ln > 0 ? ln : 0;
	}
	for (size_t k = 1, s = 0; k < n; k++) {
		/* Find the scope of frame k-1 (the k-1'th function-like scope). */
		size_t seen = 0;

		for (s = 0; s < (size_t)nscopes; s++) {
			int tag = dwarf_tag(&scopes[s]);

			if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
				continue;
			if (seen++ == k - 1)
				break;
		}
		if (s < (size_t)nscopes && dwarf_tag(&scopes[s]) == DW_TAG_inlined_subroutine)
			call_site(&cu, &scopes[s], &out[k].file, &out[k].line);
	}
	free(scopes);
	return n;
}
