/*
 * PE/COFF parsing: headers and sections, and as a symbol source the COFF symbol table (EFI
 * builds often strip it; then the image still anchors the slide, see slide.c).
 */
#include <string.h>

#include "../util/bytes.h"
#include "pe.h"
#include "symfile.h"

int up_pe_headers(const uint8_t *buf, size_t len, struct up_pe_info *ret)
{
	uint32_t lfanew;
	size_t opt, sects, optsize, n;
	uint16_t magic;

	if (len < 64 || buf[0] != 'M' || buf[1] != 'Z')
		return -1;
	lfanew = up_le32(buf + 0x3c);
	if (lfanew < 64 || lfanew > len || len - lfanew < 24 || memcmp(buf + lfanew, "PE\0\0", 4))
		return -1;
	memset(ret, 0, sizeof(*ret));
	ret->machine = up_le16(buf + lfanew + 4);
	n = up_le16(buf + lfanew + 6);
	ret->symtab_offset = up_le32(buf + lfanew + 12);
	ret->nr_symbols = up_le32(buf + lfanew + 16);
	optsize = up_le16(buf + lfanew + 20);
	opt = lfanew + 24;
	if (optsize < 64 || len - opt < optsize)
		return -1;
	magic = up_le16(buf + opt);
	if (magic == 0x20b) {            /* PE32+ */
		ret->image_base = up_le64(buf + opt + 24);
	} else if (magic == 0x10b) {     /* PE32 */
		ret->image_base = up_le32(buf + opt + 28);
	} else {
		return -1;
	}
	ret->size_of_image = up_le32(buf + opt + 56);
	sects = opt + optsize;
	if (n > UP_PE_MAX_SECTIONS || (len - sects) / 40 < n)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *s = buf + sects + 40 * i;
		struct up_pe_section *sec = &ret->sections[i];

		memcpy(sec->name, s, 8);
		sec->name[8] = '\0';
		sec->vsize = up_le32(s + 8);
		sec->vaddr = up_le32(s + 12);
		sec->raw_size = up_le32(s + 16);
		sec->raw_offset = up_le32(s + 20);
		sec->flags = up_le32(s + 36);
	}
	ret->nr_sections = n;
	return 0;
}

const struct up_pe_section *up_pe_section(const struct up_pe_info *pe, const char *name)
{
	for (size_t i = 0; i < pe->nr_sections; i++) {
		if (!strcmp(pe->sections[i].name, name))
			return &pe->sections[i];
	}
	return NULL;
}

/* COFF symbols: 18-byte records, names inline (8 bytes) or in the string table after them. */
static struct up_error *load_coff_symbols(const uint8_t *image, size_t len,
					  const struct up_pe_info *pe, struct up_symfile *f)
{
	size_t off = pe->symtab_offset, strtab;
	uint64_t nr = pe->nr_symbols;
	uint32_t strsize;

	if (!off || !nr || off > len || (len - off) / 18 < nr)
		return NULL;
	strtab = off + 18 * nr;
	strsize = len - strtab >= 4 ? up_le32(image + strtab) : 0;
	if (strsize > len - strtab)
		strsize = 0;
	for (uint64_t i = 0; i < nr; i++) {
		const uint8_t *s = image + off + 18 * i;
		uint32_t value = up_le32(s + 8);
		int16_t secnum = (int16_t)up_le16(s + 12);
		uint16_t type = up_le16(s + 14);
		uint8_t class = s[16], aux = s[17];
		char name[256];
		const struct up_pe_section *sec;

		i += aux;
		/* External (2) or static (3) symbols in a code section; functions have type 0x20. */
		if (secnum < 1 || (size_t)secnum > pe->nr_sections || (class != 2 && class != 3))
			continue;
		sec = &pe->sections[secnum - 1];
		if (!(sec->flags & (UP_PE_SCN_CODE | UP_PE_SCN_EXECUTE)) ||
		    (type != 0x20 && class != 2))
			continue;
		if (up_le32(s) == 0) {
			uint32_t so = up_le32(s + 4);
			size_t n;

			if (so < 4 || so >= strsize)
				continue;
			n = strnlen((const char *)image + strtab + so, strsize - so);
			if (n == strsize - so || n >= sizeof(name))
				continue;
			memcpy(name, image + strtab + so, n + 1);
		} else {
			memcpy(name, s, 8);
			name[8] = '\0';
		}
		if (!name[0] || name[0] == '.')
			continue;
		{
			struct up_error *err = up_symtab_add(&f->tab, pe->image_base + sec->vaddr + value,
							     0, name, class == 2 ? 4 : 2);

			if (err)
				return err;
		}
	}
	return NULL;
}

struct up_error *up_pe_parse(const uint8_t *image, size_t len, struct up_symfile *f)
{
	struct up_pe_info pe;
	struct up_error *err;

	if (up_pe_headers(image, len, &pe))
		return up_error_create(UP_ERR_INVALID, "not a PE image (bad headers)");
	f->kind = UP_SYMFILE_PE;
	f->pe_machine = pe.machine;
	f->link_base = pe.image_base;
	f->relocatable = 1;
	for (size_t i = 0; i < pe.nr_sections; i++) {
		const struct up_pe_section *sec = &pe.sections[i];
		size_t n = sec->raw_size < sec->vsize ? sec->raw_size : sec->vsize;

		if (!(sec->flags & (UP_PE_SCN_CODE | UP_PE_SCN_EXECUTE)) || !n)
			continue;
		if (sec->raw_offset > len || len - sec->raw_offset < n)
			return up_error_create(UP_ERR_INVALID, "PE section %s lies outside the file",
					       sec->name);
		err = up_code_add(&f->code, pe.image_base + sec->vaddr, image + sec->raw_offset, n);
		if (err)
			return err;
	}
	return load_coff_symbols(image, len, &pe, f);
}
