/*
 * The recorded tier for the slide finder: symbol files and guest memory captured from our EFI
 * guests (x86_64 under OVMF, arm64 under QEMU_EFI) and from Debian's kernel with KASLR
 * (tests/recorded/slides/, written by tests/recorded/capture_slides.py; the format is in
 * tests/recorded/README.md, "Slides").
 *
 * For each guest: the real symbol file goes through up_symbolizer_add_file, and
 * up_symbolizer_find_slides runs over the recorded pcs with a read callback that serves the
 * recorded pages of guest virtual memory, every other address faulting as unmapped memory
 * does.  The finder must confirm the slide the guest printed, say how (PE image, linux_banner),
 * and the pcs must then get the names the full symbol file gives them.  Then the same memory,
 * altered, must not confirm a wrong slide: shifted by a page under the same pcs (refused), or
 * with the banner's bytes changed (refused); shifted together with the pcs, the slide moves
 * with them.  Run from the repository root or below it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../util/bytes.h"
#include "../../symbolize/slide.h"
#include "../../symbolize/symbolize.h"

#define PAGE 4096
#define MAX_LINE (2 * PAGE + 64)
#define MAX_NAME 128
#define MAX_PCS 64
#define MAX_PAGES 64
#define MAX_FAULTS 1024
#define MAX_READS 20000           /* uniprof/slides.c: the budget uniprof gives the search */

struct rec_pc {
	uint64_t addr;
	int is_return;            /* an 'lr' line: named by the call before it */
	char name[MAX_NAME];
};

struct rec_page {
	uint64_t vaddr;
	uint8_t bytes[PAGE];
};

struct slides {
	char path[PATH_MAX];      /* of the data file, for messages */
	char symfile[PATH_MAX];
	int64_t slide;
	int have_slide;
	char how[MAX_NAME];
	struct rec_pc pcs[MAX_PCS];
	size_t nr_pcs;
	struct rec_page pages[MAX_PAGES];
	size_t nr_pages;
	uint64_t faults[MAX_FAULTS];
	size_t nr_faults;
};

/* ---- the data ------------------------------------------------------------------------------ */

/* tests/recorded/slides in the working directory or one above it. */
static void find_data_dir(char *ret, size_t len)
{
	char dir[PATH_MAX];

	if (!getcwd(dir, sizeof(dir)))
		fail_msg("getcwd: %s", strerror(errno));
	for (;;) {
		struct stat st;
		char *slash;

		if ((size_t)snprintf(ret, len, "%s/tests/recorded/slides", dir) < len &&
		    !stat(ret, &st) && S_ISDIR(st.st_mode))
			return;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			fail_msg("no tests/recorded/slides above the working directory (capture it "
				 "with tests/recorded/capture_slides.py)");
		*slash = '\0';
	}
}

static uint64_t number(const char *tok, const char *where)
{
	char *end;
	unsigned long long v;

	if (!tok || tok[0] == '-' || tok[0] == '+')
		fail_msg("%s: expected a number", where);
	errno = 0;
	v = strtoull(tok, &end, 0);
	if (errno || *end)
		fail_msg("%s: bad number '%.20s'", where, tok);
	return v;
}

static void hex_page(const char *tok, uint8_t *out, const char *where)
{
	if (!tok || strlen(tok) != 2 * PAGE)
		fail_msg("%s: a page must be %d hex digits", where, 2 * PAGE);
	for (size_t i = 0; i < PAGE; i++) {
		int hi = up_hexval(tok[2 * i]), lo = up_hexval(tok[2 * i + 1]);

		if (hi < 0 || lo < 0)
			fail_msg("%s: not a hex digit", where);
		out[i] = hi << 4 | lo;
	}
}

static void parse_line(struct slides *d, char *line, const char *dir, const char *where)
{
	char *save, *key, *a, *b;

	/* "how TEXT": the rest of the line. */
	if (!strncmp(line, "how ", 4)) {
		if (strlen(line + 4) >= sizeof(d->how) || !line[4])
			fail_msg("%s: 'how' needs a text shorter than %zu", where, sizeof(d->how));
		strcpy(d->how, line + 4);
		return;
	}
	key = strtok_r(line, " \t", &save);
	if (!key || key[0] == '#')
		return;
	a = strtok_r(NULL, " \t", &save);
	b = strtok_r(NULL, " \t", &save);
	if (!a)
		fail_msg("%s: '%s' needs a value", where, key);
	if (!strcmp(key, "symfile")) {
		if (strchr(a, '/') || (size_t)snprintf(d->symfile, sizeof(d->symfile), "%s/%s", dir,
						       a) >= sizeof(d->symfile))
			fail_msg("%s: bad symfile name", where);
	} else if (!strcmp(key, "slide")) {
		d->slide = (int64_t)number(a, where);
		d->have_slide = 1;
	} else if (!strcmp(key, "pc") || !strcmp(key, "lr")) {
		struct rec_pc *pc = &d->pcs[d->nr_pcs];

		if (d->nr_pcs == MAX_PCS)
			fail_msg("%s: more than %d pcs", where, MAX_PCS);
		if (!b || strlen(b) >= MAX_NAME)
			fail_msg("%s: expected ADDR NAME", where);
		pc->addr = number(a, where);
		pc->is_return = key[0] == 'l';
		strcpy(pc->name, b);
		d->nr_pcs++;
	} else if (!strcmp(key, "page")) {
		struct rec_page *p = &d->pages[d->nr_pages];

		if (d->nr_pages == MAX_PAGES)
			fail_msg("%s: more than %d pages", where, MAX_PAGES);
		p->vaddr = number(a, where);
		if (p->vaddr % PAGE)
			fail_msg("%s: page 0x%llx is not page-aligned", where,
				 (unsigned long long)p->vaddr);
		hex_page(b, p->bytes, where);
		d->nr_pages++;
	} else if (!strcmp(key, "fault")) {
		if (d->nr_faults == MAX_FAULTS)
			fail_msg("%s: more than %d faults", where, MAX_FAULTS);
		d->faults[d->nr_faults++] = number(a, where);
	} else {
		fail_msg("%s: unknown keyword '%.20s'", where, key);
	}
	if ((!strcmp(key, "symfile") || !strcmp(key, "slide") || !strcmp(key, "fault")) && b)
		fail_msg("%s: extra words", where);
	if (strtok_r(NULL, " \t", &save))
		fail_msg("%s: extra words", where);
}

static struct slides *load(const char *name)
{
	struct slides *d = calloc(1, sizeof(*d));
	char dir[PATH_MAX], *line = malloc(MAX_LINE), where[PATH_MAX + 32];
	unsigned int lineno = 0;
	FILE *f;

	assert_non_null(d);
	assert_non_null(line);
	find_data_dir(dir, sizeof(dir));
	if ((size_t)snprintf(d->path, sizeof(d->path), "%s/%s", dir, name) >= sizeof(d->path))
		fail_msg("path too long");
	f = fopen(d->path, "r");
	if (!f)
		fail_msg("%s: %s (capture it with tests/recorded/capture_slides.py)", d->path,
			 strerror(errno));
	while (fgets(line, MAX_LINE, f)) {
		size_t len = strlen(line);

		lineno++;
		snprintf(where, sizeof(where), "%s:%u", d->path, lineno);
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			fail_msg("%s: line too long", where);
		parse_line(d, line, dir, where);
	}
	fclose(f);
	free(line);
	if (!d->symfile[0] || !d->have_slide || !d->how[0] || !d->nr_pcs || !d->nr_pages)
		fail_msg("%s: needs symfile, slide, how, pc and page lines", d->path);
	if (access(d->symfile, R_OK))
		fail_msg("%s: %s", d->symfile, strerror(errno));
	return d;
}

/* ---- guest memory over the recording --------------------------------------------------------- */

/* The recorded pages, each seen at its address + shift; everything else is unmapped. */
struct memory {
	const struct slides *d;
	uint64_t shift;
	unsigned int reads;
};

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct memory *m = ctx;
	uint8_t *out = buf;

	m->reads++;
	while (len) {
		const struct rec_page *p = NULL;
		size_t off, n;

		for (size_t i = 0; i < m->d->nr_pages && !p; i++) {
			if (addr - m->shift - m->d->pages[i].vaddr < PAGE)
				p = &m->d->pages[i];
		}
		if (!p)
			return up_error_fault(addr, "0x%llx not recorded: unmapped",
					       (unsigned long long)addr);
		off = addr - m->shift - p->vaddr;
		n = PAGE - off < len ? PAGE - off : len;
		memcpy(out, p->bytes + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

struct run {
	struct up_symbolizer s;
	struct up_symfile *f;
	uint64_t pcs[MAX_PCS];
	struct memory mem;
};

/* Load d's symbol file and search for its slide over d's memory moved by shift, with the pcs
 * moved by pc_shift. */
static void search(struct run *r, const struct slides *d, uint64_t shift, uint64_t pc_shift)
{
	struct up_symbolizer_options opts = { 0 };
	struct up_slide_probe probe = { .read = read_mem, .ctx = &r->mem, .pcs = r->pcs,
					.nr_pcs = d->nr_pcs, .max_reads = MAX_READS };
	struct up_error *err;

	up_symbolizer_init(&r->s, &opts);
	err = up_symbolizer_add_file(&r->s, d->symfile, 0, 0);
	if (err)
		fail_msg("%s: %s", d->symfile, err->message);
	assert_int_equal(r->s.nr_files, 1);
	r->f = r->s.files[0];
	assert_int_equal(r->f->slide_state, UP_SLIDE_UNKNOWN);
	for (size_t i = 0; i < d->nr_pcs; i++)
		r->pcs[i] = d->pcs[i].addr + pc_shift;
	r->mem = (struct memory){ .d = d, .shift = shift };
	err = up_symbolizer_find_slides(&r->s, &probe);
	if (err)
		fail_msg("%s: %s", d->path, err->message);
	print_message("    %s (memory %+lld, pcs %+lld): %s slide 0x%llx after %u reads: %s\n",
		      strrchr(d->path, '/') + 1, (long long)shift, (long long)pc_shift,
		      r->f->slide_state == UP_SLIDE_CONFIRMED ? "confirmed" :
		      r->f->slide_state == UP_SLIDE_REFUSED ? "refused" : "other",
		      (unsigned long long)r->f->slide, r->mem.reads, r->f->slide_how);
}

/* The recorded pcs, moved by pc_shift, have the names the full symbol file gives them. */
static void check_names(struct run *r, const struct slides *d)
{
	for (size_t i = 0; i < d->nr_pcs; i++) {
		const char *name = up_symbolizer_name(&r->s, r->pcs[i], d->pcs[i].is_return);

		if (strcmp(name, d->pcs[i].name))
			fail_msg("%s: %s 0x%llx is named %s, expected %s", d->path,
				 d->pcs[i].is_return ? "lr" : "pc", (unsigned long long)r->pcs[i],
				 name, d->pcs[i].name);
	}
}

static void check_confirmed(struct run *r, const struct slides *d, int64_t slide)
{
	if (r->f->slide_state != UP_SLIDE_CONFIRMED)
		fail_msg("%s: no slide confirmed (%s), expected 0x%llx", d->path, r->f->slide_how,
			 (unsigned long long)slide);
	if (r->f->slide != slide)
		fail_msg("%s: slide 0x%llx confirmed (%s), the guest's is 0x%llx", d->path,
			 (unsigned long long)r->f->slide, r->f->slide_how,
			 (unsigned long long)slide);
	if (!strstr(r->f->slide_how, d->how))
		fail_msg("%s: slide found by '%s', expected '%s'", d->path, r->f->slide_how, d->how);
	check_names(r, d);
}

static void check_refused(struct run *r, const struct slides *d)
{
	if (r->f->slide_state != UP_SLIDE_REFUSED)
		fail_msg("%s: altered memory confirmed slide 0x%llx (%s): it must be refused",
			 d->path, (unsigned long long)r->f->slide, r->f->slide_how);
	/* A refused file names nothing. */
	for (size_t i = 0; i < d->nr_pcs; i++) {
		char hex[32];

		snprintf(hex, sizeof(hex), "0x%llx", (unsigned long long)r->pcs[i]);
		assert_string_equal(up_symbolizer_name(&r->s, r->pcs[i], 0), hex);
	}
}

/* What the data must hold to test anything: pages, faults that are not pages, pcs in it. */
static void check_data(const struct slides *d)
{
	struct memory m = { .d = d };
	uint8_t byte;

	for (size_t i = 0; i < d->nr_faults; i++) {
		struct up_error *err = read_mem(&m, d->faults[i], &byte, 1);

		if (!err)
			fail_msg("%s: 0x%llx is both a fault and a page", d->path,
				 (unsigned long long)d->faults[i]);
		assert_int_equal(err->code, UP_ERR_FAULT);
		up_error_destroy(err);
	}
}

/* ---- the tests ----------------------------------------------------------------------------- */

static void slide_found(const char *file)
{
	struct slides *d = load(file);
	struct run r;

	check_data(d);
	search(&r, d, 0, 0);
	check_confirmed(&r, d, d->slide);
	up_symbolizer_deinit(&r.s);
	free(d);
}

/* Memory and pcs moved together by shift: the slide moves with them, the names stay. */
static void slide_moves(const char *file, uint64_t shift)
{
	struct slides *d = load(file);
	struct run r;

	search(&r, d, shift, shift);
	check_confirmed(&r, d, d->slide + (int64_t)shift);
	up_symbolizer_deinit(&r.s);
	free(d);
}

/* Memory moved by a page under the same pcs: what the pcs sit in is not the image. */
static void shifted_memory_refused(const char *file)
{
	struct slides *d = load(file);
	struct run r;

	search(&r, d, PAGE, 0);
	check_refused(&r, d);
	up_symbolizer_deinit(&r.s);
	free(d);
}

static void efi_x86_64_slide(void **state)
{
	(void)state;
	slide_found("efi-x86_64.slides");
}

static void efi_arm64_slide(void **state)
{
	(void)state;
	slide_found("efi-arm64.slides");
}

static void linux_kaslr_slide(void **state)
{
	(void)state;
	slide_found("linux.slides");
}

static void efi_x86_64_moved(void **state)
{
	(void)state;
	slide_moves("efi-x86_64.slides", 0x10000);
}

static void efi_arm64_moved(void **state)
{
	(void)state;
	slide_moves("efi-arm64.slides", 0x10000);
}

static void linux_kaslr_moved(void **state)
{
	(void)state;
	slide_moves("linux.slides", 2ULL << 20);
}

static void efi_x86_64_shifted(void **state)
{
	(void)state;
	shifted_memory_refused("efi-x86_64.slides");
}

static void efi_arm64_shifted(void **state)
{
	(void)state;
	shifted_memory_refused("efi-arm64.slides");
}

static void linux_kaslr_shifted(void **state)
{
	(void)state;
	shifted_memory_refused("linux.slides");
}

/* "Linux version" no longer at linux_banner: no KASLR slide is confirmed. */
static void linux_banner_altered(void **state)
{
	struct slides *d = load("linux.slides");
	struct run r;
	uint64_t at;
	size_t hit = 0;

	(void)state;
	/* The symbol file's banner, at the recorded slide. */
	search(&r, d, 0, 0);
	at = r.f->banner + (uint64_t)d->slide;
	up_symbolizer_deinit(&r.s);
	for (size_t i = 0; i < d->nr_pages; i++) {
		if (at - d->pages[i].vaddr < PAGE) {
			uint8_t *b = d->pages[i].bytes + (at - d->pages[i].vaddr);

			assert_memory_equal(b, "Linux version ", 14);
			b[6] = 'V';     /* "Linux Version" */
			hit++;
		}
	}
	assert_int_equal(hit, 1);
	search(&r, d, 0, 0);
	check_refused(&r, d);
	up_symbolizer_deinit(&r.s);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(efi_x86_64_slide),
		cmocka_unit_test(efi_arm64_slide),
		cmocka_unit_test(linux_kaslr_slide),
		cmocka_unit_test(efi_x86_64_moved),
		cmocka_unit_test(efi_arm64_moved),
		cmocka_unit_test(linux_kaslr_moved),
		cmocka_unit_test(efi_x86_64_shifted),
		cmocka_unit_test(efi_arm64_shifted),
		cmocka_unit_test(linux_kaslr_shifted),
		cmocka_unit_test(linux_banner_altered),
	};

	return cmocka_run_group_tests_name("recorded_slides", tests, NULL, NULL);
}
