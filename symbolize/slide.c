#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../util/bytes.h"
#include "pe.h"
#include "slide.h"

#define CODE_COMPARE 64          /* bytes compared per function */
#define MIN_MATCH_PERCENT 75     /* runtime patching (alternatives, ftrace) changes a few */
#define MAX_FUNCS 4
#define KASLR_ALIGN (2ULL << 20)
#define KASLR_RANGE (1ULL << 30)
#define PE_SCAN_RANGE (64ULL << 20)
#define PE_MAX_PCS 8

struct search {
	struct up_slide_probe *probe;
	struct up_error *failed;  /* a read that did not just fault: the search is over */
};

/*
 * 0 when the guest's bytes are in buf.  A fault (nothing there) is an answer the search goes
 * on from; any other failure ends the search and up_symbolizer_find_slides returns it.
 */
static int guest_read(struct search *se, uint64_t addr, void *buf, size_t len)
{
	struct up_error *err;

	if (se->failed || se->probe->reads >= se->probe->max_reads)
		return -1;
	se->probe->reads++;
	err = se->probe->read(se->probe->ctx, addr, buf, len);
	if (up_error_catch(&err, UP_ERR_FAULT))
		return -1;
	se->failed = err;
	return err ? -1 : 0;
}

static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
	size_t same = 0;

	for (size_t i = 0; i < n; i++)
		same += a[i] == b[i];
	return same * 100 >= n * MIN_MATCH_PERCENT;
}

/*
 * A function whose bytes in the file are one value repeated is a placeholder that the loader or
 * the hypervisor fills at run time (Xen's hypercall page, int3 padding): it neither confirms nor
 * refutes a slide.
 */
static int placeholder(const uint8_t *code, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (code[i] != code[0])
			return 0;
	return 1;
}

static int picked_already(const struct up_symbol *const *picked, size_t nr,
			  const struct up_symbol *sym)
{
	for (size_t k = 0; k < nr; k++)
		if (picked[k] == sym)
			return 1;
	return 0;
}

/*
 * Compare the guest's code at slide with the file's: the functions holding the sampled pcs
 * first, then the file's first functions, MAX_FUNCS in all.  Confirmed when at least two
 * functions (or the only one there is) match and at least twice as many match as differ: code
 * the guest rewrote whole (a hypercall page with instructions in the file) must not refuse a slide that
 * every other function confirms, and at a wrong slide nothing matches.
 */
static int code_matches(struct search *se, const struct up_symfile *f, int64_t slide)
{
	const struct up_symbol *picked[MAX_FUNCS];
	size_t nr = 0, matched = 0, differ = 0;

	for (size_t i = 0; i < se->probe->nr_pcs && nr < MAX_FUNCS; i++) {
		const struct up_symbol *sym = up_symtab_lookup(&f->tab, se->probe->pcs[i] - slide);

		if (sym && !picked_already(picked, nr, sym))
			picked[nr++] = sym;
	}
	for (size_t i = 0; i < f->tab.nr && nr < MAX_FUNCS; i++)
		if (!picked_already(picked, nr, &f->tab.syms[i]))
			picked[nr++] = &f->tab.syms[i];
	for (size_t i = 0; i < nr && differ * 2 <= nr - differ; i++) {
		uint8_t want[CODE_COMPARE], got[CODE_COMPARE];
		size_t n = picked[i]->size && picked[i]->size < CODE_COMPARE ? picked[i]->size
									     : CODE_COMPARE;

		if (n < 8 || up_code_read(&f->code, picked[i]->start, want, n) ||
		    placeholder(want, n))
			continue;
		if (guest_read(se, picked[i]->start + slide, got, n) || !same_bytes(want, got, n))
			differ++;
		else
			matched++;
		if (se->failed)
			return 0;
	}
	if (matched == 1)
		return differ == 0;
	return matched >= 2 && matched >= differ * 2;
}

#define VECTOR_ENTRIES 16
#define VECTOR_ENTRY_SIZE 128
#define MIN_VECTOR_BRANCHES 2

/*
 * The target of the last "b imm26" in one vector entry (its 32 instructions), or 0.  Each of
 * Linux's entries ends in a branch to its handler (el1h_64_irq, ...).
 */
static uint64_t entry_branch(const uint8_t *entry, uint64_t addr)
{
	for (int i = VECTOR_ENTRY_SIZE / 4 - 1; i >= 0; i--) {
		uint32_t insn = up_le32(entry + 4 * i);

		if ((insn & 0xfc000000u) == 0x14000000u) {
			int64_t imm = insn & 0x03ffffffu;

			if (imm & (1 << 25))
				imm -= 1 << 26;   /* backward */

			return addr + 4 * (uint64_t)i + (uint64_t)(imm * 4);
		}
	}
	return 0;
}

/*
 * Whether the vector table at base, read from the guest, branches to the starts of functions
 * the file names at slide: at least MIN_VECTOR_BRANCHES entries do and more do than do not.
 */
static int vector_branches_match(struct search *se, const struct up_symfile *f, uint64_t base,
				 int64_t slide, size_t *ret_matched)
{
	uint8_t table[VECTOR_ENTRIES * VECTOR_ENTRY_SIZE];
	size_t matched = 0, differ = 0;

	if (guest_read(se, base, table, sizeof(table)))
		return 0;
	for (size_t i = 0; i < VECTOR_ENTRIES; i++) {
		uint64_t entry = base + i * VECTOR_ENTRY_SIZE;
		uint64_t target = entry_branch(table + i * VECTOR_ENTRY_SIZE, entry);
		const struct up_symbol *sym = target ? up_symtab_lookup(&f->tab, target - (uint64_t)slide)
						     : NULL;

		if (!target)
			continue;
		if (sym && sym->start == target - (uint64_t)slide)
			matched++;
		else
			differ++;
	}
	*ret_matched = matched;
	return matched >= MIN_VECTOR_BRANCHES && matched > differ;
}

static int banner_at(struct search *se, uint64_t addr)
{
	static const char want[] = "Linux version ";
	char got[sizeof(want) - 1];

	return !guest_read(se, addr, got, sizeof(got)) && !memcmp(got, want, sizeof(got));
}

static int confirm(struct search *se, const struct up_symfile *f, int64_t slide, char *how,
		   size_t howlen)
{
	if (f->code.nr) {
		if (!code_matches(se, f, slide))
			return 0;
		snprintf(how, howlen, "the guest's code matches the file's at slide 0x%" PRIx64,
			 (uint64_t)slide);
		return 1;
	}
	if (f->banner) {
		if (!banner_at(se, f->banner + slide))
			return 0;
		snprintf(how, howlen, "\"Linux version\" found at linux_banner 0x%" PRIx64,
			 f->banner + slide);
		return 1;
	}
	if (f->vectors) {
		size_t matched = 0;

		if (!vector_branches_match(se, f, f->vectors + slide, slide, &matched))
			return 0;
		snprintf(how, howlen, "%zu branches of the vector table land on the map's "
			 "functions at slide 0x%" PRIx64, matched, (uint64_t)slide);
		return 1;
	}
	return 0;
}

/* A map with neither code nor banner: trust slide 0 only if the guest's pcs fall in it. */
static int pcs_fall_inside(const struct up_slide_probe *p, const struct up_symfile *f,
			   char *how, size_t howlen)
{
	size_t inside = 0;

	for (size_t i = 0; i < p->nr_pcs; i++)
		inside += up_symtab_lookup(&f->tab, p->pcs[i]) != NULL;
	if (!p->nr_pcs || inside * 2 < p->nr_pcs)
		return 0;
	snprintf(how, howlen, "not confirmable (no code bytes); %zu of %zu sampled pcs fall in "
		 "its functions at slide 0", inside, p->nr_pcs);
	return 1;
}

static int find_kaslr(struct search *se, const struct up_symfile *f, int64_t *slide, char *how,
		      size_t howlen)
{
	for (uint64_t s = KASLR_ALIGN; s < KASLR_RANGE; s += KASLR_ALIGN) {
		if (banner_at(se, f->banner + s) && confirm(se, f, (int64_t)s, how, howlen)) {
			size_t n = strlen(how);

			snprintf(how + n, howlen - n, " (KASLR)");
			*slide = (int64_t)s;
			return 1;
		}
	}
	return 0;
}

/*
 * KASLR at any distance: each exception vector base seen gives one candidate slide, that of
 * the file's `vectors`.  A base that is not the kernel's vectors (arm64's KPTI trampoline while
 * the vCPU ran user code, another kernel) gives a slide nothing confirms.
 */
static int find_vectors(struct search *se, const struct up_symfile *f, int64_t *slide,
			char *how, size_t howlen)
{
	const struct up_slide_probe *p = se->probe;

	for (size_t i = 0; i < p->nr_vector_bases && !se->failed; i++) {
		uint64_t base = p->vector_bases[i];
		int64_t cand = (int64_t)(base - f->vectors);
		size_t n;

		if (!base || ((uint64_t)cand & 0xfff) || !confirm(se, f, cand, how, howlen))
			continue;
		n = strlen(how);
		snprintf(how + n, howlen - n, " (KASLR, anchored on the vectors at 0x%" PRIx64 ")",
			 base);
		*slide = cand;
		return 1;
	}
	return 0;
}

/* Look below pc, page by page, for an "MZ" header whose image covers pc. */
static int find_pe_below(struct search *se, uint64_t pc, uint16_t machine, uint64_t *ret_base,
			 struct up_pe_info *pe)
{
	uint64_t page = pc & ~0xfffULL;

	for (uint64_t back = 0; back < PE_SCAN_RANGE && back <= page; back += 0x1000) {
		uint8_t dos[64], hdr[4096];
		uint64_t base = page - back;

		if (guest_read(se, base, dos, sizeof(dos)))
			continue;
		if (dos[0] != 'M' || dos[1] != 'Z')
			continue;
		if (guest_read(se, base, hdr, sizeof(hdr)) || up_pe_headers(hdr, sizeof(hdr), pe))
			continue;
		if ((machine && pe->machine != machine) || pc - base >= pe->size_of_image)
			continue;
		*ret_base = base;
		return 1;
	}
	return 0;
}

/* A slide worth checking puts the pc that led to it inside one of the file's functions. */
static int names_pc(const struct up_symfile *f, uint64_t pc, int64_t slide)
{
	return up_symtab_lookup(&f->tab, pc - (uint64_t)slide) != NULL;
}

static int find_pe(struct search *se, const struct up_symfile *f, int64_t *slide, char *how,
		   size_t howlen)
{
	const struct up_slide_probe *p = se->probe;

	for (size_t i = 0; i < p->nr_pcs && i < PE_MAX_PCS; i++) {
		struct up_pe_info pe;
		uint64_t base;
		int64_t cand;

		if (!find_pe_below(se, p->pcs[i], f->pe_machine, &base, &pe))
			continue;
		/* The file's image starts at the base; else one of its code ranges is a PE
		 * code section. */
		cand = (int64_t)(base - f->link_base);
		if (names_pc(f, p->pcs[i], cand) && confirm(se, f, cand, how, howlen)) {
			*slide = cand;
			goto found;
		}
		for (size_t k = 0; k < pe.nr_sections; k++) {
			const struct up_pe_section *sec = &pe.sections[k];

			if (!(sec->flags & (UP_PE_SCN_CODE | UP_PE_SCN_EXECUTE)))
				continue;
			for (size_t r = 0; r < f->code.nr; r++) {
				cand = (int64_t)(base + sec->vaddr - f->code.ranges[r].addr);
				if (names_pc(f, p->pcs[i], cand) && confirm(se, f, cand, how, howlen)) {
					*slide = cand;
					goto found;
				}
			}
		}
		continue;
found:
		{
			size_t n = strlen(how);

			snprintf(how + n, howlen - n, " (PE image at 0x%" PRIx64 ")", base);
		}
		return 1;
	}
	return 0;
}

struct up_error *up_symbolizer_find_slides(struct up_symbolizer *s, struct up_slide_probe *probe)
{
	struct search se = { .probe = probe };

	for (size_t i = 0; i < s->nr_files && !se.failed; i++) {
		struct up_symfile *f = s->files[i];
		char how[sizeof(f->slide_how)];
		int64_t slide = 0;
		int found;

		if (f->slide_state != UP_SLIDE_UNKNOWN)
			continue;
		found = confirm(&se, f, 0, how, sizeof(how));
		if (!found && f->vectors)
			found = find_vectors(&se, f, &slide, how, sizeof(how));
		if (!found && f->banner)
			found = find_kaslr(&se, f, &slide, how, sizeof(how));
		if (!found && f->code.nr)
			found = find_pe(&se, f, &slide, how, sizeof(how));
		if (!found && !f->code.nr && !f->banner && !f->vectors)
			found = pcs_fall_inside(probe, f, how, sizeof(how));
		if (se.failed)
			break;  /* undecided: the caller gives up */
		if (found) {
			f->slide = slide;
			f->slide_state = UP_SLIDE_CONFIRMED;
		} else if (probe->retry_later) {
			continue;
		} else {
			unsigned int pauses = probe->pauses > 1 ? probe->pauses : 1;

			f->slide_state = UP_SLIDE_REFUSED;
			snprintf(how, sizeof(how), "no slide confirmed after %u guest reads in %u "
				 "pause%s: its addresses print as hex", probe->reads, pauses,
				 pauses == 1 ? "" : "s");
		}
		memcpy(f->slide_how, how, sizeof(how));
	}
	return se.failed;
}
