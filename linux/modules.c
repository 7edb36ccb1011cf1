/* The guest's loaded modules: the module list, each module's code, ORC and symbol tables. */
#include <stdlib.h>
#include <string.h>

#include "../util/bytes.h"
#include "modules.h"

#define ELF64_SYM_SIZE 24
#define STT_FUNC 2
#define SHN_UNDEF 0

/* A kernel (upper half) address: what a list link or a module's code must be. */
static int kernel_address(uint64_t addr)
{
	return addr >> 63;
}

/* A read whose fault ends the walk quietly (*stop) and whose other errors are returned. */
static struct up_error *guest_read(up_read_mem_fn *read, void *ctx, uint64_t addr, void *buf,
				   size_t len, int *stop)
{
	struct up_error *err = read(ctx, addr, buf, len);

	if (up_error_catch(&err, UP_ERR_FAULT))
		*stop = 1;
	return err;
}

/* The first bytes of one struct module: as far as the fields the walk reads. */
struct module_bytes {
	uint64_t base;      /* the struct module's address */
	uint8_t *bytes;     /* its first need bytes */
	size_t need;
};

static uint64_t u64_at(const struct module_bytes *m, uint32_t off)
{
	return up_le64(m->bytes + off);
}

static uint32_t u32_at(const struct module_bytes *m, uint32_t off)
{
	return up_le32(m->bytes + off);
}

/* The bytes of struct module a walk needs: up to the last field it reads. */
static size_t bytes_needed(const struct up_module_layout *l)
{
	uint32_t ends[] = {
		l->list + 8, l->name + l->name_len, l->text_base + 8, l->text_size + 4,
		l->has_orc ? l->num_orcs + 4 : 0, l->has_orc ? l->orc_ip + 8 : 0,
		l->has_orc ? l->orc_entries + 8 : 0, l->has_kallsyms ? l->kallsyms + 8 : 0,
	};
	size_t need = 0;

	for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++)
		if (ends[i] > need)
			need = ends[i];
	return need;
}

static void copy_name(char *out, const uint8_t *in, size_t len)
{
	size_t i;

	for (i = 0; i < len && in[i]; i++)
		out[i] = in[i] >= 0x20 && in[i] < 0x7f && in[i] != ';' ? (char)in[i] : '?';
	out[i] = 0;
}

/* Fill *info from the module's bytes (and its kallsyms); 0 when it is not plausible. */
static struct up_error *one_module(const struct up_module_layout *l, const struct module_bytes *m,
				   up_read_mem_fn *read, void *ctx, struct up_module_info *info,
				   int *ok)
{
	struct up_error *err;

	memset(info, 0, sizeof(*info));
	*ok = 0;
	copy_name(info->name, m->bytes + l->name, l->name_len);
	info->text = u64_at(m, l->text_base);
	info->text_size = u32_at(m, l->text_size);
	if (!info->name[0] || !kernel_address(info->text) || !info->text_size ||
	    info->text_size > UP_MODULE_TEXT_MAX || info->text + info->text_size < info->text)
		return NULL;
	if (l->has_orc) {
		uint32_t n = u32_at(m, l->num_orcs);
		uint64_t ip = u64_at(m, l->orc_ip), entries = u64_at(m, l->orc_entries);

		if (n && n <= UP_ORC_MODULE_MAX && kernel_address(ip) && kernel_address(entries)) {
			info->num_orcs = n;
			info->orc_ip = ip;
			info->orc_entries = entries;
		}
	}
	if (l->has_kallsyms) {
		uint64_t ks = u64_at(m, l->kallsyms);
		uint8_t buf[64];
		uint32_t end = l->ks_symtab + 8;
		int usable, unreadable = 0;

		if (l->ks_num_symtab + 4 > end)
			end = l->ks_num_symtab + 4;
		if (l->ks_strtab + 8 > end)
			end = l->ks_strtab + 8;
		usable = kernel_address(ks) && end <= sizeof(buf);
		/* Unreadable: no symbols for this module, and the walk goes on. */
		if (usable) {
			err = guest_read(read, ctx, ks, buf, end, &unreadable);
			if (err)
				return err;
		}
		if (usable && !unreadable) {
			info->symtab = up_le64(buf + l->ks_symtab);
			info->num_symtab = up_le32(buf + l->ks_num_symtab);
			info->strtab = up_le64(buf + l->ks_strtab);
			if (!kernel_address(info->symtab) || !kernel_address(info->strtab) ||
			    info->num_symtab > UP_MODULE_SYMS_MAX)
				info->num_symtab = 0;
		}
	}
	*ok = 1;
	return NULL;
}

struct up_error *up_modules_list(const struct up_module_layout *l, uint64_t head,
				 up_read_mem_fn *read, void *ctx, struct up_module_info *ret,
				 size_t max, size_t *nr)
{
	struct module_bytes m = { .need = bytes_needed(l) };
	struct up_error *err = NULL;
	uint8_t link[8] = { 0 };
	uint64_t next;
	int stop = 0;

	*nr = 0;
	if (m.need > 4096)
		return up_error_create(UP_ERR_INVALID, "struct module's fields lie %zu bytes in: "
				       "not a layout this uniprof reads", m.need);
	m.bytes = malloc(m.need);
	if (!m.bytes)
		return &up_error_nomem;
	err = guest_read(read, ctx, head, link, sizeof(link), &stop);
	next = up_le64(link);
	/* Each module once: the walk ends at the head, after UP_MODULES_MAX links at most. */
	for (size_t seen = 0; !err && !stop && next != head && seen < UP_MODULES_MAX; seen++) {
		int ok;

		if (!kernel_address(next) || next < l->list)
			break;
		m.base = next - l->list;
		err = guest_read(read, ctx, m.base, m.bytes, m.need, &stop);
		if (err || stop)
			break;
		next = u64_at(&m, l->list);
		if (*nr == max)
			continue;
		err = one_module(l, &m, read, ctx, &ret[*nr], &ok);
		/* A list that loops back to a module already taken: the walk is over. */
		for (size_t i = 0; !err && ok && i < *nr; i++)
			if (ret[i].text == ret[*nr].text && !strcmp(ret[i].name, ret[*nr].name))
				stop = 1;
		if (!err && ok && !stop)
			(*nr)++;
	}
	free(m.bytes);
	return err;
}

struct up_error *up_module_symbols(const struct up_module_info *m, up_read_mem_fn *read,
				   void *ctx, struct up_symtab *tab, size_t *added)
{
	size_t len = (size_t)m->num_symtab * ELF64_SYM_SIZE, strlen_max = 0;
	uint8_t *syms, *strs = NULL;
	struct up_error *err;

	*added = 0;
	if (!m->num_symtab)
		return NULL;
	syms = malloc(len);
	if (!syms)
		return &up_error_nomem;
	err = read(ctx, m->symtab, syms, len);
	for (size_t i = 0; !err && i < m->num_symtab; i++) {
		uint32_t name = up_le32(syms + i * ELF64_SYM_SIZE);

		if (name < UP_MODULE_STRTAB_MAX && name + 128u > strlen_max)
			strlen_max = name + 128u;
	}
	if (!err && strlen_max) {
		strlen_max = strlen_max > UP_MODULE_STRTAB_MAX ? UP_MODULE_STRTAB_MAX : strlen_max;
		strs = malloc(strlen_max + 1);
		if (!strs)
			err = &up_error_nomem;
		/* The last names may end the table right before unmapped memory: read less then. */
		while (!err) {
			err = read(ctx, m->strtab, strs, strlen_max);
			if (!err || err->code != UP_ERR_FAULT || strlen_max <= 4096)
				break;
			up_error_destroy(err);
			err = NULL;
			strlen_max -= 4096;
		}
	}
	for (size_t i = 0; !err && strs && i < m->num_symtab; i++) {
		const uint8_t *s = syms + i * ELF64_SYM_SIZE;
		uint32_t name = up_le32(s);
		uint8_t info = s[4];
		uint16_t shndx = up_le16(s + 6);
		uint64_t value = up_le64(s + 8), size = up_le64(s + 16);
		char text[128];
		size_t n;

		if ((info & 0xf) != STT_FUNC || shndx == SHN_UNDEF || name >= strlen_max ||
		    value < m->text || value - m->text >= m->text_size)
			continue;
		for (n = 0; n < sizeof(text) - 1 && name + n < strlen_max && strs[name + n]; n++) {
			uint8_t c = strs[name + n];

			text[n] = c > 0x20 && c < 0x7f && c != ';' ? (char)c : '?';
		}
		text[n] = 0;
		if (!n)
			continue;
		if (size > m->text + m->text_size - value)
			size = m->text + m->text_size - value;
		err = up_symtab_add(tab, value, size, text, 1);
		if (!err)
			(*added)++;
	}
	free(syms);
	free(strs);
	return err;
}
