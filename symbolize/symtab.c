#include <stdlib.h>
#include <string.h>

#include "symtab.h"

#define CHUNK_SIZE (64 * 1024)
/* How far an unsized symbol (an assembly label) may reach when nothing follows it. */
#define MAX_UNSIZED (64 * 1024)

void up_symtab_init(struct up_symtab *tab)
{
	memset(tab, 0, sizeof(*tab));
}

void up_symtab_deinit(struct up_symtab *tab)
{
	for (size_t i = 0; i < tab->nr_chunks; i++)
		free(tab->chunks[i]);
	free(tab->chunks);
	free(tab->syms);
	memset(tab, 0, sizeof(*tab));
}

static const char *intern(struct up_symtab *tab, const char *name)
{
	size_t len = strlen(name) + 1;
	char *dst;

	if (len > tab->chunk_left) {
		size_t size = len > CHUNK_SIZE ? len : CHUNK_SIZE;
		char **chunks = realloc(tab->chunks, (tab->nr_chunks + 1) * sizeof(*chunks));

		if (!chunks)
			return NULL;
		tab->chunks = chunks;
		tab->chunk_next = malloc(size);
		if (!tab->chunk_next)
			return NULL;
		tab->chunks[tab->nr_chunks++] = tab->chunk_next;
		tab->chunk_left = size;
	}
	dst = tab->chunk_next;
	memcpy(dst, name, len);
	tab->chunk_next += len;
	tab->chunk_left -= len;
	return dst;
}

struct up_error *up_symtab_add(struct up_symtab *tab, uint64_t start, uint64_t size,
			       const char *name, unsigned int rank)
{
	struct up_symbol *sym;

	if (tab->nr == tab->cap) {
		size_t cap = tab->cap ? tab->cap * 2 : 1024;
		struct up_symbol *syms = realloc(tab->syms, cap * sizeof(*syms));

		if (!syms)
			return &up_error_nomem;
		tab->syms = syms;
		tab->cap = cap;
	}
	sym = &tab->syms[tab->nr];
	sym->name = intern(tab, name);
	if (!sym->name)
		return &up_error_nomem;
	sym->start = start;
	sym->size = size;
	sym->rank = rank;
	tab->nr++;
	tab->sorted = 0;
	return NULL;
}

static int compare_symbols(const void *a, const void *b)
{
	const struct up_symbol *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	/* Best alias first: higher rank, then larger size, then name for a stable order. */
	if (x->rank != y->rank)
		return x->rank > y->rank ? -1 : 1;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

void up_symtab_finish(struct up_symtab *tab)
{
	size_t out = 0;

	if (tab->nr)
		qsort(tab->syms, tab->nr, sizeof(*tab->syms), compare_symbols);
	for (size_t i = 0; i < tab->nr; i++) {
		if (out && tab->syms[out - 1].start == tab->syms[i].start)
			continue;
		tab->syms[out++] = tab->syms[i];
	}
	tab->nr = out;
	tab->sorted = 1;
}

const struct up_symbol *up_symtab_lookup(const struct up_symtab *tab, uint64_t addr)
{
	size_t lo = 0, hi = tab->nr;
	const struct up_symbol *sym;
	uint64_t end;

	if (!tab->sorted)
		return NULL;
	/* Find the last symbol starting at or before addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (tab->syms[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	sym = &tab->syms[lo - 1];
	if (sym->size)
		return addr - sym->start < sym->size ? sym : NULL;
	end = lo < tab->nr ? tab->syms[lo].start : sym->start + MAX_UNSIZED;
	if (end - sym->start > MAX_UNSIZED)
		end = sym->start + MAX_UNSIZED;
	return addr < end ? sym : NULL;
}
