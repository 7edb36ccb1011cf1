#include <inttypes.h>
#include <stdio.h>

#include "elf_symbols.h"
#include "symbolize.h"

void up_symbolizer_init(struct up_symbolizer *s)
{
	up_symtab_init(&s->tab);
}

void up_symbolizer_deinit(struct up_symbolizer *s)
{
	up_symtab_deinit(&s->tab);
}

struct up_error *up_symbolizer_add_file(struct up_symbolizer *s, const char *path)
{
	return up_elf_load_symbols(path, &s->tab);
}

void up_symbolizer_finish(struct up_symbolizer *s)
{
	up_symtab_finish(&s->tab);
}

const char *up_symbolizer_name(const struct up_symbolizer *s, uint64_t addr, int is_return,
			       char *buf, size_t cap)
{
	const struct up_symbol *sym = up_symtab_lookup(&s->tab, is_return && addr ? addr - 1 : addr);

	if (sym)
		return sym->name;
	snprintf(buf, cap, "0x%" PRIx64, addr);
	return buf;
}
