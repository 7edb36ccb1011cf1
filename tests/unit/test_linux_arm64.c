/*
 * The recorded tier for arm64 Linux (tests/recorded/linux-arm64.rec, written by
 * tests/recorded/capture_linux_arm64.py): one stop of Debian's arm64 kernel with KASLR on,
 * taken on the exception vectors while the frameless leaf __arch_clear_user ran under dd, with
 * the registers, the memory lines and the kallsyms lines the rules below read.
 *
 * - The slide anchor: up_symbolizer_find_slides, given the VBAR_EL1 values seen (KPTI's
 *   trampoline, then the kernel's vectors) and the recorded memory, must confirm the slide the
 *   guest printed, from the vector table's branches; the trampoline alone, or the trampoline's
 *   bytes served at the kernel's vectors, must confirm nothing; a made-up table whose entries
 *   branch backward confirms its slide too.
 * - The exception-entry rule: the walk starts from ELR_EL1 (not the vector), and with code read
 *   from the "guest" through up_guest_code (kallsyms has none) the frameless leaf keeps its
 *   caller from x30; the stack must be exactly the recorded chain.  Without the guest's code the
 *   caller is lost; without VBAR_EL1 the vector stays the leaf.
 * Run from the repository root or below it.
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
#include <unistd.h>
#include <cmocka.h>

#include "../../arch/arm64/arm64.h"
#include "../../symbolize/guest_code.h"
#include "../../symbolize/slide.h"
#include "../../symbolize/symbolize.h"

#define LINE 64
#define MAX_LINES 256
#define MAX_BASES 4
#define MAX_EXPECT 64
#define MAX_TEXT 65536

struct rec {
	int64_t slide;
	uint64_t pc, sp, x29, x30, cpsr, vbar, elr, spsr, tcr;
	uint64_t bases[MAX_BASES];
	size_t nr_bases;
	uint64_t line_addr[MAX_LINES];
	uint8_t lines[MAX_LINES][LINE];
	size_t nr_lines;
	char map[MAX_TEXT];       /* the sym lines as a System.map */
	size_t map_len;
	uint64_t expect[MAX_EXPECT];
	size_t nr_expect;
};

/* The memory a read sees: the recorded lines, with the lines at from served at to instead. */
struct memory {
	const struct rec *r;
	uint64_t swap_from, swap_to, swap_len;
	unsigned int reads;
	int unmapped;   /* every read faults: a pause in KPTI's trampoline */
};

static int find_data_dir(char *dir, size_t size)
{
	char cwd[PATH_MAX - 32];

	if (!getcwd(cwd, sizeof(cwd)))
		return -1;
	for (;;) {
		snprintf(dir, size, "%s/tests/recorded", cwd);
		if (!access(dir, R_OK))
			return 0;
		char *slash = strrchr(cwd, '/');

		if (!slash || slash == cwd)
			return -1;
		*slash = '\0';
	}
}

static int hex_bytes(const char *s, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int b;

		if (sscanf(s + 2 * i, "%2x", &b) != 1)
			return -1;
		out[i] = (uint8_t)b;
	}
	return s[2 * n] == '\0' || s[2 * n] == '\n' ? 0 : -1;
}

static void load(struct rec *r)
{
	char dir[PATH_MAX + 32], path[PATH_MAX + 64], line[512], name[32], text[256];
	unsigned long long a, v;
	FILE *f;

	memset(r, 0, sizeof(*r));
	if (find_data_dir(dir, sizeof(dir)))
		fail_msg("no tests/recorded directory above the working directory");
	snprintf(path, sizeof(path), "%s/linux-arm64.rec", dir);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (capture it with tests/recorded/capture_linux_arm64.py)", path,
			 strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "slide %llx", &a) == 1) {
			r->slide = (int64_t)a;
		} else if (sscanf(line, "reg %31s %llx", name, &v) == 2) {
			uint64_t *slot = !strcmp(name, "pc") ? &r->pc : !strcmp(name, "sp") ? &r->sp :
					 !strcmp(name, "x29") ? &r->x29 : !strcmp(name, "x30") ? &r->x30 :
					 !strcmp(name, "cpsr") ? &r->cpsr : !strcmp(name, "vbar") ? &r->vbar :
					 !strcmp(name, "elr") ? &r->elr : !strcmp(name, "spsr") ? &r->spsr :
					 !strcmp(name, "tcr") ? &r->tcr : NULL;

			if (!slot)
				fail_msg("%s: unknown register %s", path, name);
			*slot = v;
		} else if (sscanf(line, "base %llx", &a) == 1) {
			assert_true(r->nr_bases < MAX_BASES);
			r->bases[r->nr_bases++] = a;
		} else if (sscanf(line, "mem %llx %255s", &a, text) == 2) {
			assert_true(r->nr_lines < MAX_LINES);
			if (hex_bytes(text, r->lines[r->nr_lines], LINE))
				fail_msg("%s: bad mem line %s", path, line);
			r->line_addr[r->nr_lines++] = a;
		} else if (!strncmp(line, "sym ", 4)) {
			size_t n = strlen(line + 4);

			assert_true(r->map_len + n < sizeof(r->map));
			memcpy(r->map + r->map_len, line + 4, n);
			r->map_len += n;
		} else if (!strncmp(line, "expect ", 7)) {
			char *p = line + 7, *end;

			while (r->nr_expect < MAX_EXPECT && (a = strtoull(p, &end, 16), end != p)) {
				r->expect[r->nr_expect++] = a;
				p = end;
			}
		} else {
			fail_msg("%s: bad line %s", path, line);
		}
	}
	fclose(f);
	if (!r->vbar || !r->elr || r->nr_bases < 2 || !r->nr_lines || !r->map_len || r->nr_expect < 3)
		fail_msg("%s: incomplete recording", path);
}

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct memory *m = ctx;
	uint8_t *out = buf;

	m->reads++;
	if (m->unmapped)
		return up_error_fault(addr, "kernel unmapped");
	while (len) {
		uint64_t src = addr;
		size_t off, n, i;

		if (m->swap_len && addr - m->swap_to < m->swap_len)
			src = m->swap_from + (addr - m->swap_to);
		off = src % LINE;
		n = LINE - off < len ? LINE - off : len;
		for (i = 0; i < m->r->nr_lines && m->r->line_addr[i] != src - off; i++)
			;
		if (i == m->r->nr_lines)
			return up_error_fault(addr, "not recorded");
		memcpy(out, m->r->lines[i] + off, n);
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

/* A symbolizer over the recorded kallsyms lines (written to a temporary file). */
static void symbolizer(const struct rec *r, struct up_symbolizer *s)
{
	struct up_symbolizer_options opts = { 0 };
	char path[] = "/tmp/uniprof-test-kallsyms-XXXXXX";
	int fd = mkstemp(path);
	struct up_error *err;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, r->map, r->map_len), (ssize_t)r->map_len);
	close(fd);
	up_symbolizer_init(s, &opts);
	err = up_symbolizer_add_file(s, path, 0, 0);
	unlink(path);
	if (err)
		fail_msg("recorded kallsyms: %s", err->message);
}

/* Search with the vector bases given over m; the file's state and slide after it. */
static enum up_slide_state search(const struct rec *r, struct memory *m, const uint64_t *bases,
				  size_t nr_bases, int64_t *ret_slide)
{
	struct up_symbolizer s;
	uint64_t pcs[] = { r->pc, r->x30 };
	struct up_slide_probe probe = { .read = read_mem, .ctx = m, .pcs = pcs, .nr_pcs = 2,
					.vector_bases = bases, .nr_vector_bases = nr_bases,
					.max_reads = 20000 };
	enum up_slide_state state;

	symbolizer(r, &s);
	assert_null(up_symbolizer_find_slides(&s, &probe));
	state = s.files[0]->slide_state;
	*ret_slide = s.files[0]->slide;
	print_message("    %zu base(s): %s: %s\n", nr_bases,
		      state == UP_SLIDE_CONFIRMED ? "confirmed" : "refused", s.files[0]->slide_how);
	if (state == UP_SLIDE_CONFIRMED)
		assert_non_null(strstr(s.files[0]->slide_how, "vector table"));
	up_symbolizer_deinit(&s);
	return state;
}

static void slide_anchor(void **state)
{
	struct rec *r = malloc(sizeof(*r));
	struct memory m;
	int64_t slide;

	(void)state;
	assert_non_null(r);
	load(r);
	/* KASLR on arm64 moves the kernel far beyond the 1 GiB a banner search covers. */
	assert_true(r->slide > (1LL << 30));
	m = (struct memory){ .r = r };
	assert_int_equal(search(r, &m, r->bases, r->nr_bases, &slide), UP_SLIDE_CONFIRMED);
	assert_int_equal(slide, r->slide);
	/* The trampoline's base alone gives a slide its branches refute. */
	m = (struct memory){ .r = r };
	assert_int_equal(search(r, &m, r->bases, 1, &slide), UP_SLIDE_REFUSED);
	assert_true(r->bases[0] != r->vbar);
	/* The trampoline's bytes where the kernel's vectors should be: refused too. */
	m = (struct memory){ .r = r, .swap_from = r->bases[0], .swap_to = r->vbar, .swap_len = 0x800 };
	assert_int_equal(search(r, &m, &r->vbar, 1, &slide), UP_SLIDE_REFUSED);
	free(r);
}

/*
 * A search made while the kernel is unmapped (every read faults) leaves the file undecided
 * when another pause follows: the next one, with the kernel mapped, confirms it.  After the
 * last pause it is refused, with the reads and pauses of all the searches.
 */
static void search_again_after_unmapped(void **state)
{
	struct rec *r = malloc(sizeof(*r));
	uint64_t pcs[2];
	struct up_slide_probe probe = { .read = read_mem, .pcs = pcs, .nr_pcs = 2,
					.max_reads = 20000 };
	struct up_symbolizer s;
	struct memory m;

	(void)state;
	assert_non_null(r);
	load(r);
	pcs[0] = r->pc;
	pcs[1] = r->x30;
	probe.vector_bases = r->bases;
	probe.nr_vector_bases = r->nr_bases;
	m = (struct memory){ .r = r, .unmapped = 1 };
	probe.ctx = &m;
	symbolizer(r, &s);
	probe.pauses = 1;
	probe.retry_later = 1;
	assert_null(up_symbolizer_find_slides(&s, &probe));
	assert_int_equal(s.files[0]->slide_state, UP_SLIDE_UNKNOWN);
	assert_true(probe.reads > 0);
	assert_int_equal(probe.reads, m.reads);
	m.unmapped = 0;
	probe.pauses = 2;
	assert_null(up_symbolizer_find_slides(&s, &probe));
	assert_int_equal(s.files[0]->slide_state, UP_SLIDE_CONFIRMED);
	assert_int_equal(s.files[0]->slide, r->slide);
	up_symbolizer_deinit(&s);

	m = (struct memory){ .r = r, .unmapped = 1 };
	probe.reads = 0;
	symbolizer(r, &s);
	for (unsigned int i = 1; i <= 3; i++) {
		probe.pauses = i;
		probe.retry_later = i < 3;
		assert_null(up_symbolizer_find_slides(&s, &probe));
		assert_int_equal(s.files[0]->slide_state, i < 3 ? UP_SLIDE_UNKNOWN : UP_SLIDE_REFUSED);
	}
	print_message("    unmapped in every pause: %s\n", s.files[0]->slide_how);
	assert_non_null(strstr(s.files[0]->slide_how, " in 3 pauses"));
	assert_int_equal(probe.reads, m.reads);
	up_symbolizer_deinit(&s);
	free(r);
}

/* A table whose entries branch backward (to handlers below it) confirms its slide too. */
static void backward_branches(void **state)
{
	static const char map[] = "ffff800008010000 T _stext\n"
				  "ffff800008010100 T handler_a\n"
				  "ffff800008010200 T handler_b\n"
				  "ffff800008010800 T vectors\n";
	const int64_t slide = 0x123400000000;
	struct rec *r = calloc(1, sizeof(*r));
	uint64_t vectors = 0xffff800008010800 + slide;
	struct memory m;
	int64_t found;

	(void)state;
	assert_non_null(r);
	memcpy(r->map, map, sizeof(map) - 1);
	r->map_len = sizeof(map) - 1;
	for (size_t e = 0; e < 16; e++) {
		uint64_t at = vectors + e * 128 + 124, target = vectors - 0x800 + (e & 1 ? 0x200 : 0x100);
		uint32_t b = 0x14000000u | (uint32_t)(((int64_t)(target - at) / 4) & 0x03ffffff);

		for (size_t l = 0; l < 2; l++) {
			r->line_addr[r->nr_lines] = vectors + e * 128 + l * LINE;
			memset(r->lines[r->nr_lines], 0, LINE);
			if (l == 1)
				memcpy(r->lines[r->nr_lines] + LINE - 4, &b, 4);
			r->nr_lines++;
		}
	}
	m = (struct memory){ .r = r };
	assert_int_equal(search(r, &m, &vectors, 1, &found), UP_SLIDE_CONFIRMED);
	assert_int_equal(found, slide);
	free(r);
}

static struct up_regs stopped_regs(const struct rec *r, uint64_t vbar)
{
	struct up_regs regs = { 0 };

	regs.pc = r->pc;
	regs.sp = r->sp;
	regs.fp = r->x29;
	regs.lr = r->x30;
	up_regs_set_gpr(&regs, ARM64_X29, r->x29);
	up_regs_set_gpr(&regs, ARM64_X30, r->x30);
	up_regs_set_gpr(&regs, ARM64_SP, r->sp);
	up_regs_set_gpr(&regs, ARM64_PC, r->pc);
	regs.arm64.cpsr = r->cpsr;
	regs.arm64.tcr = r->tcr;
	regs.arm64.vbar = vbar;
	regs.arm64.elr = r->elr;
	regs.arm64.spsr = r->spsr;
	return regs;
}

static void exception_entry(void **state)
{
	struct rec *r = malloc(sizeof(*r));
	struct up_symbolizer s;
	struct up_guest_code *gc;
	struct memory m, code_mem;
	void *ctxs[1] = { &code_mem };
	struct up_regs regs;
	struct up_walk walk;
	uint64_t pcs[MAX_EXPECT + 8];
	uint64_t reads;

	(void)state;
	assert_non_null(r);
	load(r);
	m = (struct memory){ .r = r };
	code_mem = (struct memory){ .r = r };
	symbolizer(r, &s);
	up_symbolizer_set_slide(&s, 0, r->slide, "recorded");
	assert_null(up_guest_code_create(&s, read_mem, ctxs, 1, &gc));

	struct up_walk_env env = {
		.read = read_mem, .read_ctx = &m,
		.func_start = up_guest_code_func_start, .read_code = up_guest_code_read,
		.code_ctx = gc,
	};

	/* The vector is no frame: the walk starts at ELR_EL1, and x30 gives the leaf's caller. */
	regs = stopped_regs(r, r->vbar);
	assert_true(r->pc - r->vbar < 0x800);
	assert_null(up_arch_arm64.walk_frames(&regs, &env, pcs, MAX_EXPECT + 8, &walk));
	assert_int_equal(walk.depth, r->nr_expect);
	for (size_t i = 0; i < r->nr_expect; i++)
		assert_int_equal(pcs[i], r->expect[i]);
	assert_int_equal(walk.stop, UP_WALK_END);
	assert_int_equal(walk.fixup, UP_FIXUP_FRAMELESS);
	assert_string_equal(up_symbolizer_name(&s, pcs[0], 0), "__arch_clear_user");
	assert_string_equal(up_symbolizer_name(&s, pcs[1], 1), "read_zero");
	/* The code came from the guest once: a second walk reads nothing new. */
	reads = up_guest_code_reads(gc);
	assert_true(reads > 0);
	assert_null(up_arch_arm64.walk_frames(&regs, &env, pcs, MAX_EXPECT + 8, &walk));
	assert_int_equal(up_guest_code_reads(gc), reads);

	/* kallsyms without the guest's code: the frameless leaf loses its caller. */
	env.func_start = up_symbolizer_func_start;
	env.read_code = up_symbolizer_read_code;
	env.code_ctx = &s;
	assert_null(up_arch_arm64.walk_frames(&regs, &env, pcs, MAX_EXPECT + 8, &walk));
	assert_int_equal(pcs[0], r->elr);
	assert_int_equal(pcs[1], r->expect[2]);

	/* Without VBAR_EL1 (a Xen vCPU context has none) the vector stays the leaf. */
	regs = stopped_regs(r, 0);
	assert_null(up_arch_arm64.walk_frames(&regs, &env, pcs, MAX_EXPECT + 8, &walk));
	assert_int_equal(pcs[0], r->pc);
	assert_string_equal(up_symbolizer_name(&s, pcs[0], 0), "vectors");

	up_guest_code_destroy(gc);
	up_symbolizer_deinit(&s);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slide_anchor),
		cmocka_unit_test(search_again_after_unmapped),
		cmocka_unit_test(backward_branches),
		cmocka_unit_test(exception_entry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
