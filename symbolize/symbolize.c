#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demangle.h"
#include "dwarf.h"
#include "symbolize.h"

/* Inline nesting deeper than this is cut (outermost frames kept). */
#define MAX_INLINE 32

struct cache_entry {
	uint64_t addr;
	int is_return;
	size_t nr;               /* 0: empty slot */
	struct up_frame *frames;
};

struct up_frames_cache {
	struct cache_entry *slots;
	size_t cap, used;
};

void up_symbolizer_init(struct up_symbolizer *s, const struct up_symbolizer_options *opts)
{
	memset(s, 0, sizeof(*s));
	if (opts)
		s->opts = *opts;
}

static void free_frames(struct up_frame *frames, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((char *)frames[i].name);
	free(frames);
}

/* Forget every address resolved so far (the files changed). */
static void cache_drop(struct up_symbolizer *s)
{
	if (s->cache) {
		for (size_t i = 0; i < s->cache->cap; i++)
			free_frames(s->cache->slots[i].frames, s->cache->slots[i].nr);
		free(s->cache->slots);
		free(s->cache);
		s->cache = NULL;
	}
}

void up_symbolizer_deinit(struct up_symbolizer *s)
{
	cache_drop(s);
	for (size_t i = 0; i < s->nr_files; i++)
		up_symfile_destroy(s->files[i]);
	free(s->files);
	memset(s, 0, sizeof(*s));
}

struct up_error *up_symbolizer_add_file(struct up_symbolizer *s, const char *path,
					int has_load_address, uint64_t load_address)
{
	struct up_symfile **files, *f;
	struct up_error *err;

	files = realloc(s->files, (s->nr_files + 1) * sizeof(*files));
	if (!files)
		return &up_error_nomem;
	s->files = files;
	err = up_symfile_load(path, &f);
	if (err)
		return err;
	if (f->kind == UP_SYMFILE_ELF && (s->opts.inline_frames || s->opts.lines)) {
		err = up_dwarf_open(path, &f->dwarf);
		/* No DWARF is not an error: names still work, lines and inlines do not. */
		if (err && err->code == UP_ERR_UNSUPPORTED) {
			up_error_destroy(err);
			err = NULL;
		}
		if (err) {
			up_symfile_destroy(f);
			return err;
		}
	}
	s->files[s->nr_files++] = f;
	if (has_load_address) {
		char how[96];

		snprintf(how, sizeof(how), "given: loaded at 0x%" PRIx64, load_address);
		up_symbolizer_set_slide(s, s->nr_files - 1, (int64_t)(load_address - f->link_base), how);
	}
	return NULL;
}

struct up_error *up_symbolizer_add_symtab(struct up_symbolizer *s, const char *name,
					  struct up_symtab *tab, const char *how)
{
	struct up_symfile **files, *f;

	files = realloc(s->files, (s->nr_files + 1) * sizeof(*files));
	if (!files)
		return &up_error_nomem;
	s->files = files;
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(name))) {
		free(f);
		return &up_error_nomem;
	}
	f->kind = UP_SYMFILE_MAP;
	f->tab = *tab;
	up_symtab_init(tab);
	up_symtab_finish(&f->tab);
	up_code_init(&f->code);
	s->files[s->nr_files++] = f;
	up_symbolizer_set_slide(s, s->nr_files - 1, 0, how);
	cache_drop(s);
	return NULL;
}

void up_symbolizer_set_slide(struct up_symbolizer *s, size_t i, int64_t slide, const char *how)
{
	struct up_symfile *f = s->files[i];

	f->slide = slide;
	f->slide_state = UP_SLIDE_GIVEN;
	snprintf(f->slide_how, sizeof(f->slide_how), "%s", how);
}

/* The file and symbol holding runtime address addr, and the address at link time. */
static const struct up_symbol *find(const struct up_symbolizer *s, uint64_t addr,
				    const struct up_symfile **ret_file, uint64_t *ret_link)
{
	for (size_t i = 0; i < s->nr_files; i++) {
		const struct up_symfile *f = s->files[i];
		uint64_t link = addr - (uint64_t)f->slide;
		const struct up_symbol *sym;

		if (f->slide_state == UP_SLIDE_REFUSED)
			continue;
		sym = up_symtab_lookup(&f->tab, link);
		if (sym) {
			*ret_file = f;
			*ret_link = link;
			return sym;
		}
	}
	return NULL;
}

int up_symbolizer_file_of(const struct up_symbolizer *s, uint64_t addr)
{
	const struct up_symfile *f;
	uint64_t link;

	if (!find(s, addr, &f, &link))
		return -1;
	for (size_t i = 0; i < s->nr_files; i++)
		if (s->files[i] == f)
			return (int)i;
	return -1;
}

static char *display_name(const struct up_symbolizer *s, const char *name)
{
	char *d = s->opts.demangle ? up_demangle(name) : NULL;

	return d ? d : strdup(name);
}

/* Resolve addr (already adjusted for return addresses) into a new frames array. */
static size_t resolve(const struct up_symbolizer *s, uint64_t addr, struct up_frame **ret)
{
	struct up_dwarf_frame df[MAX_INLINE];
	const struct up_symfile *f;
	const struct up_symbol *sym;
	struct up_frame *frames;
	uint64_t link;
	size_t nd = 0, n;
	char hex[32];

	sym = find(s, addr, &f, &link);
	if (sym && f->dwarf)
		nd = up_dwarf_frames(f->dwarf, link, df, MAX_INLINE);
	n = s->opts.inline_frames && nd ? nd : 1;
	frames = calloc(n, sizeof(*frames));
	if (!frames)
		return 0;
	if (!sym) {
		snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
		frames[0].name = strdup(hex);
		*ret = frames;
		return frames[0].name ? 1 : (free(frames), 0);
	}
	/*
	 * The outermost frame is named by the symbol table, as without DWARF, so profiles with
	 * and without --inline agree on functions; inlined frames follow, innermost last.
	 */
	frames[0].name = display_name(s, sym->name);
	frames[0].known = 1;
	if (nd && s->opts.lines && !s->opts.inline_frames) {
		/* addr's own line, even inside inlined code. */
		frames[0].file = df[0].file;
		frames[0].line = df[0].line;
	}
	if (n > 1 || (nd && s->opts.inline_frames)) {
		/* df is innermost first; frames is outermost first. */
		for (size_t k = 0; k < n; k++) {
			const struct up_dwarf_frame *d = &df[n - 1 - k];

			if (k > 0) {
				frames[k].name = display_name(s, d->name ? d->name : "??");
				frames[k].known = 1;
			}
			if (s->opts.lines) {
				frames[k].file = d->file;
				frames[k].line = d->line;
			}
		}
	}
	for (size_t k = 0; k < n; k++) {
		if (!frames[k].name) {
			free_frames(frames, n);
			return 0;
		}
	}
	*ret = frames;
	return n;
}

static uint64_t hash_key(uint64_t addr, int is_return)
{
	uint64_t k = addr ^ (is_return ? 0x9e3779b97f4a7c15ULL : 0);

	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static struct cache_entry *cache_slot(struct up_frames_cache *c, uint64_t addr, int is_return)
{
	size_t i = hash_key(addr, is_return) & (c->cap - 1);

	while (c->slots[i].nr && (c->slots[i].addr != addr || c->slots[i].is_return != is_return))
		i = (i + 1) & (c->cap - 1);
	return &c->slots[i];
}

static int cache_grow(struct up_symbolizer *s)
{
	struct up_frames_cache *c = s->cache;
	struct cache_entry *old = c ? c->slots : NULL;
	size_t oldcap = c ? c->cap : 0, cap = oldcap ? oldcap * 2 : 4096;

	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return -1;
		s->cache = c;
	}
	c->slots = calloc(cap, sizeof(*c->slots));
	if (!c->slots) {
		c->slots = old;
		return -1;
	}
	c->cap = cap;
	for (size_t i = 0; i < oldcap; i++) {
		if (old[i].nr)
			*cache_slot(c, old[i].addr, old[i].is_return) = old[i];
	}
	free(old);
	return 0;
}

/* When memory runs out, a fixed frame keeps output going. */
static const struct up_frame unknown_frame = { .name = "??" };

size_t up_symbolizer_frames(struct up_symbolizer *s, uint64_t addr, int is_return,
			    const struct up_frame **ret)
{
	uint64_t lookup = is_return && addr ? addr - 1 : addr;
	struct cache_entry *e;
	struct up_frame *frames;
	size_t n;

	if ((!s->cache || (s->cache->used + 1) * 2 > s->cache->cap) && cache_grow(s)) {
		*ret = &unknown_frame;
		return 1;
	}
	is_return = !!is_return;
	e = cache_slot(s->cache, addr, is_return);
	if (e->nr) {
		*ret = e->frames;
		return e->nr;
	}
	n = resolve(s, lookup, &frames);
	if (!n) {
		*ret = &unknown_frame;
		return 1;
	}
	/* A return address names the call; show the address itself when nothing knows it. */
	if (!frames[0].known && is_return) {
		char hex[32];

		snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
		free((char *)frames[0].name);
		frames[0].name = strdup(hex);
		if (!frames[0].name) {
			free(frames);
			*ret = &unknown_frame;
			return 1;
		}
	}
	e->addr = addr;
	e->is_return = is_return;
	e->nr = n;
	e->frames = frames;
	s->cache->used++;
	*ret = frames;
	return n;
}

const char *up_symbolizer_name(struct up_symbolizer *s, uint64_t addr, int is_return)
{
	const struct up_frame *frames;

	up_symbolizer_frames(s, addr, is_return, &frames);
	return frames[0].name;
}

uint64_t up_symbolizer_func_start(void *ctx, uint64_t addr)
{
	const struct up_symbolizer *s = ctx;
	const struct up_symfile *f;
	uint64_t link;
	const struct up_symbol *sym = find(s, addr, &f, &link);

	return sym ? sym->start + (uint64_t)f->slide : 0;
}

int up_symbolizer_read_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct up_symbolizer *s = ctx;

	for (size_t i = 0; i < s->nr_files; i++) {
		const struct up_symfile *f = s->files[i];

		if (f->slide_state != UP_SLIDE_REFUSED &&
		    !up_code_read(&f->code, addr - (uint64_t)f->slide, buf, len))
			return 0;
	}
	return -1;
}
