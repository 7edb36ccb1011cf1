/*
 * The symbol files' CFI through libdw, and the cache of evaluated rows.
 *
 * Per file: the .eh_frame tables (dwarf_getcfi_elf) and the .debug_frame ones (dwarf_getcfi
 * of the file's DWARF), asked in that order at the link-time address (runtime - slide).  A
 * row is evaluated from libdw's Dwarf_Frame once per address and kept in an open-addressing
 * hash table keyed by the runtime address: no CFI is parsed while the guest is paused after
 * the first time an address is seen.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi.h"

#define CACHE_MIN 1024
/* At this many rows (about 3 MiB) the cache starts over rather than grows. */
#define CACHE_MAX 16384

struct cfi_file {
	int fd;
	Elf *elf;
	Dwarf *dwarf;             /* for .debug_frame; NULL when the file has no DWARF */
	Dwarf_CFI *eh;            /* ours to end; NULL when no .eh_frame */
	Dwarf_CFI *debug;         /* the Dwarf's; NULL when no .debug_frame */
	int64_t slide;
};

struct up_cfi {
	const struct up_arch *arch;
	struct cfi_file *files;
	size_t nr_files;
	struct up_cfi_row *rows;  /* cap slots; a slot is used when its key is nonzero */
	uint64_t *keys;           /* runtime address + 1 */
	size_t cap, used;
	struct up_cfi_row none;   /* for addresses the cache cannot hold */
	struct up_cfi_stats stats;
};

struct up_error *up_cfi_create(const struct up_arch *arch, struct up_cfi **ret)
{
	struct up_cfi *cfi = calloc(1, sizeof(*cfi));

	if (!cfi)
		return &up_error_nomem;
	cfi->arch = arch;
	*ret = cfi;
	return NULL;
}

static void close_file(struct cfi_file *f)
{
	if (f->eh)
		dwarf_cfi_end(f->eh);
	if (f->dwarf)
		dwarf_end(f->dwarf);
	if (f->elf)
		elf_end(f->elf);
	if (f->fd >= 0)
		close(f->fd);
}

void up_cfi_destroy(struct up_cfi *cfi)
{
	if (!cfi)
		return;
	for (size_t i = 0; i < cfi->nr_files; i++)
		close_file(&cfi->files[i]);
	free(cfi->files);
	free(cfi->rows);
	free(cfi->keys);
	free(cfi);
}

/* The ELF machine of each guest architecture we unwind. */
static int machine_matches(const struct up_arch *arch, int machine)
{
	if (!strcmp(arch->name, "x86_64"))
		return machine == EM_X86_64;
	if (!strcmp(arch->name, "aarch64"))
		return machine == EM_AARCH64;
	return 0;
}

static int has_section(Elf *elf, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		const char *n;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
			continue;
		n = elf_strptr(elf, shstrndx, shdr.sh_name);
		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

struct up_error *up_cfi_add_file(struct up_cfi *cfi, const char *path, int64_t slide,
				 unsigned int *ret_tables)
{
	struct cfi_file f = { .fd = -1, .slide = slide };
	struct cfi_file *files;
	GElf_Ehdr ehdr;

	*ret_tables = 0;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return up_error_create(UP_ERR_INVALID, "libelf is unusable: %s", elf_errmsg(-1));
	f.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f.fd < 0)
		return up_error_errno(errno, "%s", path);
	f.elf = elf_begin(f.fd, ELF_C_READ_MMAP, NULL);
	if (!f.elf || elf_kind(f.elf) != ELF_K_ELF || !gelf_getehdr(f.elf, &ehdr) ||
	    !machine_matches(cfi->arch, ehdr.e_machine)) {
		close_file(&f);
		return NULL;
	}
	if (has_section(f.elf, ".eh_frame"))
		f.eh = dwarf_getcfi_elf(f.elf);
	if (has_section(f.elf, ".debug_frame")) {
		f.dwarf = dwarf_begin_elf(f.elf, DWARF_C_READ, NULL);
		if (f.dwarf)
			f.debug = dwarf_getcfi(f.dwarf);
	}
	if (!f.eh && !f.debug) {
		close_file(&f);
		return NULL;
	}
	files = realloc(cfi->files, (cfi->nr_files + 1) * sizeof(*files));
	if (!files) {
		close_file(&f);
		return &up_error_nomem;
	}
	cfi->files = files;
	cfi->files[cfi->nr_files++] = f;
	*ret_tables = (f.eh ? UP_CFI_EH_FRAME : 0) | (f.debug ? UP_CFI_DEBUG_FRAME : 0);
	return NULL;
}

/* Register and offset of a DW_OP_bregN / DW_OP_bregx operation; -1 for anything else. */
static int breg(const Dwarf_Op *op, unsigned int nr_gprs, uint8_t *ret_reg, int32_t *ret_offset)
{
	uint64_t reg;
	int64_t offset;

	if (op->atom == DW_OP_bregx) {
		reg = op->number;
		offset = (int64_t)op->number2;
	} else if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		reg = op->atom - DW_OP_breg0;
		offset = (int64_t)op->number;
	} else {
		return -1;
	}
	if (reg >= nr_gprs || offset < INT32_MIN || offset > INT32_MAX)
		return -1;
	*ret_reg = (uint8_t)reg;
	*ret_offset = (int32_t)offset;
	return 0;
}

/* One register's rule from libdw's location description of it. */
static void register_rule(Dwarf_Frame *frame, int regno, unsigned int nr_gprs, uint8_t *ret_rule,
			  uint8_t *ret_base, int32_t *ret_value)
{
	Dwarf_Op mem[3], *ops;
	size_t nops, i = 1;
	int64_t offset = 0;
	int value = 0;

	*ret_value = 0;
	*ret_base = 0;
	*ret_rule = UP_CFI_UNSUPPORTED;
	if (dwarf_frame_register(frame, regno, mem, &ops, &nops))
		return;
	if (!nops) {
		/* libdw: no operations and no array means "same value", else "undefined". */
		*ret_rule = ops ? UP_CFI_UNDEFINED : UP_CFI_SAME;
		return;
	}
	if (ops[0].atom == DW_OP_regx && nops == 1) {
		if (ops[0].number < UP_MAX_GPRS) {
			*ret_rule = UP_CFI_REGISTER;
			*ret_value = (int32_t)ops[0].number;
		}
		return;
	}
	if (nops > 1 && ops[nops - 1].atom == DW_OP_stack_value) {
		value = 1;
		nops--;
	}
	/* Offsets and expressions alike start from the CFA, which libdw pushes first. */
	if (ops[0].atom != DW_OP_call_frame_cfa) {
		if (nops == 1 && breg(&ops[0], nr_gprs, ret_base, ret_value) == 0)
			*ret_rule = value ? UP_CFI_VAL_EXPR : UP_CFI_EXPR;
		return;
	}
	if (i < nops && breg(&ops[i], nr_gprs, ret_base, ret_value) == 0) {
		/* An expression that sets aside the CFA for a register plus an offset. */
		if (i + 1 == nops)
			*ret_rule = value ? UP_CFI_VAL_EXPR : UP_CFI_EXPR;
		return;
	}
	if (i < nops && ops[i].atom == DW_OP_plus_uconst)
		offset = (int64_t)ops[i++].number;
	if (i != nops || offset < INT32_MIN || offset > INT32_MAX)
		return;
	*ret_value = (int32_t)offset;
	*ret_rule = value ? UP_CFI_VAL_OFFSET : UP_CFI_OFFSET;
}

/* The CFA as a register and an offset, or the 8 bytes there, when it is that simple. */
static int cfa_rule(Dwarf_Frame *frame, unsigned int nr_gprs, struct up_cfi_row *row)
{
	Dwarf_Op *ops;
	size_t nops;

	if (dwarf_frame_cfa(frame, &ops, &nops) || !nops || nops > 2 ||
	    breg(&ops[0], nr_gprs, &row->cfa_reg, &row->cfa_offset))
		return -1;
	if (nops == 2) {
		if (ops[1].atom != DW_OP_deref)
			return -1;
		row->cfa_deref = 1;
	}
	return 0;
}

/* Evaluate the rules at addr into *row. */
static void evaluate(struct up_cfi *cfi, uint64_t addr, struct up_cfi_row *row)
{
	unsigned int nr = cfi->arch->nr_gprs;
	Dwarf_Frame *frame = NULL;
	Dwarf_Addr start, end;
	bool signal = false;
	int ra;

	memset(row, 0, sizeof(*row));
	row->addr = addr;
	row->status = UP_CFI_NONE;
	for (size_t i = 0; i < cfi->nr_files && !frame; i++) {
		struct cfi_file *f = &cfi->files[i];
		uint64_t link = addr - (uint64_t)f->slide;

		if (f->eh && dwarf_cfi_addrframe(f->eh, link, &frame))
			frame = NULL;
		if (!frame && f->debug && dwarf_cfi_addrframe(f->debug, link, &frame))
			frame = NULL;
	}
	if (!frame)
		return;
	ra = dwarf_frame_info(frame, &start, &end, &signal);
	row->status = UP_CFI_NO_CFA;
	if (ra < 0 || (unsigned int)ra >= nr || cfa_rule(frame, nr, row)) {
		free(frame);
		return;
	}
	row->ra_reg = (uint8_t)ra;
	row->signal = signal;
	for (unsigned int r = 0; r < nr; r++)
		register_rule(frame, (int)r, nr, &row->rule[r], &row->base[r], &row->value[r]);
	free(frame);
	if (row->rule[ra] == UP_CFI_UNDEFINED)
		row->status = UP_CFI_ROOT;
	else if (row->rule[ra] == UP_CFI_UNSUPPORTED)
		row->status = UP_CFI_NO_CFA;
	else
		row->status = UP_CFI_OK;
}

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing: code addresses differ in their low bits. */
	return (size_t)((key * 0x9e3779b97f4a7c15ULL) >> 20) & (cap - 1);
}

/* Make room for one more row; 0 when the cache cannot hold rows at all (no memory). */
static int reserve(struct up_cfi *cfi)
{
	struct up_cfi_row *rows, *old_rows = cfi->rows;
	uint64_t *keys, *old_keys = cfi->keys;
	size_t cap = cfi->cap, old_cap = cfi->cap;

	if (cap && cfi->used + 1 <= cap / 4 * 3)
		return 1;
	if (cap < CACHE_MAX)
		cap = cap ? cap * 2 : CACHE_MIN;
	rows = malloc(cap * sizeof(*rows));
	keys = calloc(cap, sizeof(*keys));
	if (!rows || !keys) {
		free(rows);
		free(keys);
		return cfi->cap && cfi->used < cfi->cap;
	}
	cfi->rows = rows;
	cfi->keys = keys;
	cfi->cap = cap;
	cfi->used = 0;
	/* At the cap, start over: the rows are cheap to evaluate again. */
	for (size_t i = 0; cap != old_cap && i < old_cap; i++) {
		size_t s;

		if (!old_keys[i])
			continue;
		for (s = slot_of(old_keys[i], cap); keys[s]; s = (s + 1) & (cap - 1))
			;
		keys[s] = old_keys[i];
		rows[s] = old_rows[i];
		cfi->used++;
	}
	free(old_rows);
	free(old_keys);
	return 1;
}

const struct up_cfi_row *up_cfi_lookup(struct up_cfi *cfi, uint64_t addr)
{
	uint64_t key = addr + 1;
	size_t s;

	cfi->stats.lookups++;
	if (key && cfi->cap) {
		for (s = slot_of(key, cfi->cap); cfi->keys[s]; s = (s + 1) & (cfi->cap - 1)) {
			if (cfi->keys[s] == key)
				return &cfi->rows[s];
		}
	}
	cfi->stats.evaluated++;
	if (!key || !reserve(cfi)) {
		evaluate(cfi, addr, &cfi->none);
		return &cfi->none;
	}
	for (s = slot_of(key, cfi->cap); cfi->keys[s]; s = (s + 1) & (cfi->cap - 1))
		;
	cfi->keys[s] = key;
	cfi->used++;
	evaluate(cfi, addr, &cfi->rows[s]);
	return &cfi->rows[s];
}

const struct up_cfi_row *up_cfi_lookup_fn(void *ctx, uint64_t addr)
{
	return up_cfi_lookup(ctx, addr);
}

int up_cfi_is_root(void *ctx, uint64_t addr)
{
	return up_cfi_lookup(ctx, addr)->status == UP_CFI_ROOT;
}

void up_cfi_stats(const struct up_cfi *cfi, struct up_cfi_stats *ret)
{
	*ret = cfi->stats;
}
