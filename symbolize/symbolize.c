#include <inttypes.h>
#include <stdio.h>

#include "elf_symbols.h"
#include "symbolize.h"

void up_symbolizer_init(struct up_symbolizer *s)
{
	up_symtab_init(&s->tab);
	up_code_init(&s->code);
}

void up_symbolizer_deinit(struct up_symbolizer *s)
{
	up_symtab_deinit(&s->tab);
	up_code_deinit(&s->code);
}

struct up_error *up_symbolizer_add_file(struct up_symbolizer *s, const char *path)
{
	return up_elf_load_symbols(path, &s->tab, &s->code);
}

void up_symbolizer_finish(struct up_symbolizer *s)
{
	up_symtab_finish(&s->tab);
	up_code_finish(&s->code);
}

uint64_t up_symbolizer_func_start(void *ctx, uint64_t addr)
{
	const struct up_symbolizer *s = ctx;
	const struct up_symbol *sym = up_symtab_lookup(&s->tab, addr);

	return sym ? sym->start : 0;
}

int up_symbolizer_read_code(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct up_symbolizer *s = ctx;

	return up_code_read(&s->code, addr, buf, len);
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
