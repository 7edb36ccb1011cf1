/*
 * Text symbol maps: System.map, `nm` / `nm -n` / `nm -S` output (the .sym file Unikraft
 * writes), and /proc/kallsyms.  One symbol a line:
 *
 *     ADDR TYPE NAME [MODULE]          System.map, nm, kallsyms
 *     ADDR SIZE TYPE NAME              nm -S
 *
 * Only code symbols (types T, t, W, w) are kept; module symbols (kallsyms' "[mod]") are left
 * out, since modules load elsewhere.  Lines that fit neither shape make the file "not a map".
 */
#include <string.h>

#include "../util/bytes.h"
#include "symfile.h"

#define MAX_NAME 1024

/* A hex number of 1 to 16 digits ending at a space or tab. */
static const char *parse_hex(const char *p, const char *end, uint64_t *ret)
{
	if (!up_parse_hex(&p, end, ret) || p == end || (*p != ' ' && *p != '\t'))
		return NULL;
	return p;
}

static const char *skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Parse one line; 1 when it is a symbol line, 0 when not (and nothing is stored). */
static int parse_line(const char *p, const char *end, uint64_t *addr, uint64_t *size,
		      char *type, char *name, int *module)
{
	const char *q;
	uint64_t second;
	size_t n;

	*size = 0;
	*module = 0;
	p = parse_hex(p, end, addr);
	if (!p)
		return 0;
	p = skip_blanks(p, end);
	/* "ADDR SIZE TYPE NAME" has a second number where the type would be. */
	q = parse_hex(p, end, &second);
	if (q && q - p > 1) {
		*size = second;
		p = skip_blanks(q, end);
	}
	if (p + 2 > end || p[1] != ' ' || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return 0;
	*type = *p;
	p = skip_blanks(p + 1, end);
	n = strcspn(p, " \t\r");
	if ((size_t)(end - p) < n)
		n = end - p;
	if (!n || n >= MAX_NAME)
		return 0;
	memcpy(name, p, n);
	name[n] = '\0';
	p = skip_blanks(p + n, end);
	*module = p < end && *p == '[';
	return 1;
}

struct up_error *up_map_parse(const char *text, size_t len, struct up_symfile *f)
{
	const char *p = text, *end = text + len;
	size_t lines = 0, good = 0, code = 0;
	uint64_t lowest = UINT64_MAX, text_start = 0;
	char name[MAX_NAME];

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p), *eol = nl ? nl : end;
		uint64_t addr, size;
		char type;
		int module;

		if (eol > p && eol[-1] == '\r')
			eol--;
		if (eol > p) {
			lines++;
			if (parse_line(p, eol, &addr, &size, &type, name, &module)) {
				good++;
				if (!module && !strcmp(name, "linux_banner"))
					f->banner = addr;
				if (!module && !strcmp(name, "vectors"))
					f->vectors = addr;
				if (!module)
					up_linux_syms_note(&f->linux_syms, name, addr);
				if (!module && (!strcmp(name, "_text") || !strcmp(name, "_stext")) &&
				    !text_start)
					text_start = addr;
				if (!module && strchr("TtWw", type) && addr) {
					struct up_error *err = up_symtab_add(&f->tab, addr, size, name,
									     type == 'T' ? 4 : type == 'W' || type == 'w' ? 3 : 2);

					if (err)
						return err;
					code++;
					if (addr < lowest)
						lowest = addr;
				}
			}
		}
		p = nl ? nl + 1 : end;
	}
	/* Allow a few odd lines (headers, comments), not a different format. */
	if (!good || good * 10 < lines * 9)
		return up_error_create(UP_ERR_INVALID, "not a symbol file (ELF, PE, System.map or nm output)");
	if (!code)
		return up_error_create(UP_ERR_INVALID, "no code symbols in the symbol map");
	f->kind = UP_SYMFILE_MAP;
	f->link_base = text_start ? text_start : lowest;
	return NULL;
}
