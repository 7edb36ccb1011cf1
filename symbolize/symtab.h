/*
 * A symbol table: address ranges with names, sorted for binary search.
 *
 * Every symbol source (ELF today; System.map, PE, DWARF later) adds ranges here; the rest of
 * the program only asks "which symbol holds this address".  Names are copied into the table.
 */
#ifndef UP_SYMBOLIZE_SYMTAB_H
#define UP_SYMBOLIZE_SYMTAB_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct up_symbol {
	uint64_t start;
	uint64_t size;     /* 0: unknown, the symbol runs up to the next one */
	const char *name;
	unsigned int rank; /* when two symbols start at one address, the higher rank names it */
};

struct up_symtab {
	struct up_symbol *syms;
	size_t nr, cap;
	int sorted;
	/* Names live in chunks owned by the table. */
	char **chunks;
	size_t nr_chunks;
	char *chunk_next;   /* free space in the newest chunk */
	size_t chunk_left;
};

void up_symtab_init(struct up_symtab *tab);
void up_symtab_deinit(struct up_symtab *tab);

/* Add a symbol; name is copied.  rank breaks ties between aliases (see struct up_symbol). */
struct up_error *up_symtab_add(struct up_symtab *tab, uint64_t start, uint64_t size,
			       const char *name, unsigned int rank);

/* Sort and drop duplicate aliases; call once after the last add and before lookups. */
void up_symtab_finish(struct up_symtab *tab);

/*
 * The symbol containing addr, or NULL.  A sized symbol contains [start, start + size); an
 * unsized one (an assembly label) extends to the next symbol's start, at most 64 KiB.
 */
const struct up_symbol *up_symtab_lookup(const struct up_symtab *tab, uint64_t addr);

#endif
