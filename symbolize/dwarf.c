/*
 * DWARF through libdw, indexed for speed.
 *
 * dwarf_getscopes walks a compilation unit's whole DIE tree for every address, which is far
 * too slow for a profile (a CU can hold thousands of functions).  Instead, the first lookup
 * in a CU walks its tree once and keeps every function and inlined instance with its address
 * ranges, sorted; each lookup is then a binary search and a walk up the nesting.  Line
 * numbers come from libdw's own sorted line table.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dwarf.h"

#define MAX_NESTING 256

/* A function or an inlined instance of one. */
struct fn {
	const char *name;
	const char *call_file;   /* inlined: where it was called from */
	unsigned int call_line;
	int inlined;
	int parent;              /* enclosing fn, -1 for a top-level function */
	size_t first_range, nr_ranges;
};

struct range {
	uint64_t lo, hi;
	int fn;
	int depth;
};

struct cu_index {
	Dwarf_Off offset;
	struct fn *fns;
	size_t nr_fns;
	struct range *ranges;     /* in fn order: fns[i]'s are contiguous */
	struct range *sorted;     /* by lo, then depth */
	size_t nr_ranges;
};

struct up_dwarf {
	int fd;
	Dwarf *dw;
	struct cu_index *cus;
	size_t nr_cus;
};

struct up_error *up_dwarf_open(const char *path, struct up_dwarf **ret)
{
	struct up_dwarf *d = calloc(1, sizeof(*d));

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
	for (size_t i = 0; i < d->nr_cus; i++) {
		free(d->cus[i].fns);
		free(d->cus[i].ranges);
		free(d->cus[i].sorted);
	}
	free(d->cus);
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

struct builder {
	struct cu_index *ix;
	size_t cap_fns, cap_ranges;
	Dwarf_Files *files;
	size_t nr_files;
	int failed;
};

static int add_fn(struct builder *b, Dwarf_Die *die, int parent, int depth)
{
	struct cu_index *ix = b->ix;
	Dwarf_Addr base, lo, hi;
	ptrdiff_t off = 0;
	struct fn *f;
	int idx;

	if (ix->nr_fns == b->cap_fns) {
		size_t cap = b->cap_fns ? b->cap_fns * 2 : 256;
		struct fn *n = realloc(ix->fns, cap * sizeof(*n));

		if (!n)
			return -1;
		ix->fns = n;
		b->cap_fns = cap;
	}
	idx = ix->nr_fns++;
	f = &ix->fns[idx];
	memset(f, 0, sizeof(*f));
	f->name = die_name(die);
	f->inlined = dwarf_tag(die) == DW_TAG_inlined_subroutine;
	f->parent = parent;
	f->first_range = ix->nr_ranges;
	if (f->inlined) {
		Dwarf_Attribute attr;
		Dwarf_Word w;

		if (dwarf_attr(die, DW_AT_call_line, &attr) && !dwarf_formudata(&attr, &w))
			f->call_line = w;
		if (dwarf_attr(die, DW_AT_call_file, &attr) && !dwarf_formudata(&attr, &w) &&
		    b->files && w < b->nr_files)
			f->call_file = base_name(dwarf_filesrc(b->files, w, NULL, NULL));
	}
	while ((off = dwarf_ranges(die, off, &base, &lo, &hi)) > 0) {
		if (hi <= lo)
			continue;
		if (ix->nr_ranges == b->cap_ranges) {
			size_t cap = b->cap_ranges ? b->cap_ranges * 2 : 256;
			struct range *n = realloc(ix->ranges, cap * sizeof(*n));

			if (!n)
				return -1;
			ix->ranges = n;
			b->cap_ranges = cap;
		}
		ix->ranges[ix->nr_ranges++] = (struct range){ lo, hi, idx, depth };
		f = &ix->fns[idx];
		f->nr_ranges++;
	}
	return idx;
}

/* Depth-first over die's children; parent is the nearest enclosing fn. */
static void walk_children(struct builder *b, Dwarf_Die *die, int parent, int depth)
{
	Dwarf_Die child;

	if (depth > MAX_NESTING || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child), me = parent;

		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			me = add_fn(b, &child, parent, depth);
			if (me < 0) {
				b->failed = 1;
				return;
			}
		}
		/* Functions nest inside lexical blocks, namespaces, classes... */
		if (dwarf_haschildren(&child))
			walk_children(b, &child, me, depth + 1);
	} while (!b->failed && dwarf_siblingof(&child, &child) == 0);
}

static int compare_ranges(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->depth - y->depth;
}

static struct cu_index *cu_index(struct up_dwarf *d, Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	struct builder b = { 0 };
	struct cu_index *cus;

	for (size_t i = 0; i < d->nr_cus; i++) {
		if (d->cus[i].offset == off)
			return &d->cus[i];
	}
	cus = realloc(d->cus, (d->nr_cus + 1) * sizeof(*cus));
	if (!cus)
		return NULL;
	d->cus = cus;
	b.ix = &d->cus[d->nr_cus];
	memset(b.ix, 0, sizeof(*b.ix));
	b.ix->offset = off;
	if (dwarf_getsrcfiles(cu, &b.files, &b.nr_files))
		b.files = NULL;
	walk_children(&b, cu, -1, 0);
	if (!b.failed && b.ix->nr_ranges) {
		b.ix->sorted = malloc(b.ix->nr_ranges * sizeof(*b.ix->sorted));
		if (!b.ix->sorted) {
			b.failed = 1;
		} else {
			memcpy(b.ix->sorted, b.ix->ranges, b.ix->nr_ranges * sizeof(*b.ix->sorted));
			qsort(b.ix->sorted, b.ix->nr_ranges, sizeof(*b.ix->sorted), compare_ranges);
		}
	}
	if (b.failed) {
		free(b.ix->fns);
		free(b.ix->ranges);
		free(b.ix->sorted);
		return NULL;
	}
	return &d->cus[d->nr_cus++];
}

static int fn_contains(const struct cu_index *ix, int fn, uint64_t addr)
{
	const struct fn *f = &ix->fns[fn];

	for (size_t r = f->first_range; r < f->first_range + f->nr_ranges; r++) {
		if (addr >= ix->ranges[r].lo && addr < ix->ranges[r].hi)
			return 1;
	}
	return 0;
}

/*
 * The innermost fn holding addr.  Ranges nest or are disjoint, so the last range starting at
 * or before addr belongs to the innermost holder or to one of its descendants: walk up.
 */
static int innermost(const struct cu_index *ix, uint64_t addr)
{
	size_t lo = 0, hi = ix->nr_ranges;
	int fn;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ix->sorted[mid].lo <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return -1;
	for (fn = ix->sorted[lo - 1].fn; fn >= 0; fn = ix->fns[fn].parent) {
		if (fn_contains(ix, fn, addr))
			return fn;
	}
	return -1;
}

size_t up_dwarf_frames(struct up_dwarf *d, uint64_t addr, struct up_dwarf_frame *out, size_t max)
{
	const struct cu_index *ix;
	Dwarf_Die cu;
	Dwarf_Line *line;
	size_t n = 0;
	int fn, prev = -1;

	if (!max || !dwarf_addrdie(d->dw, addr, &cu))
		return 0;
	ix = cu_index(d, &cu);
	if (!ix)
		return 0;
	for (fn = innermost(ix, addr); fn >= 0 && n < max; fn = ix->fns[fn].parent) {
		const struct fn *f = &ix->fns[fn];

		out[n].name = f->name;
		out[n].inlined = f->inlined;
		/* An outer frame's line is where it called the inlined frame inside it. */
		out[n].file = prev >= 0 ? ix->fns[prev].call_file : NULL;
		out[n].line = prev >= 0 ? ix->fns[prev].call_line : 0;
		n++;
		prev = fn;
		if (!f->inlined)
			break;
	}
	/* The innermost frame's line is addr's own. */
	line = n ? dwarf_getsrc_die(&cu, addr) : NULL;
	if (line) {
		int ln = 0;

		dwarf_lineno(line, &ln);
		out[0].file = base_name(dwarf_linesrc(line, NULL, NULL));
		out[0].line = ln > 0 ? ln : 0;
	}
	return n;
}
