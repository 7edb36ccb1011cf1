/* The SVG flame graph writer, over hand-made symbolized profiles and one real symbolizer. */
#define _GNU_SOURCE
#include <expat.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../writers/writer.h"

#define MAX_LOCS 8192
#define MAX_STACKS 4096

/*
 * A symbolized profile made by hand.  A stack is written root first: "root;middle;leaf".  A
 * location holding inlined frames joins them with '+', outermost first ("func+helper"); a
 * name starting with '?' is unknown (a hex address); "@file:line" after the leaf's last frame
 * gives its source line.
 */
struct fake {
	struct up_profile_meta meta;
	struct up_symprofile sp;
	struct up_location locs[MAX_LOCS];
	struct up_sym_stack stacks[MAX_STACKS];
	uint32_t pool[MAX_LOCS];
	size_t used;
	char *strings[MAX_LOCS * 2];
	size_t nr_strings;
};

static char *keep(struct fake *f, const char *s, size_t n)
{
	char *copy = strndup(s, n);

	assert_non_null(copy);
	assert_true(f->nr_strings < MAX_LOCS * 2);
	f->strings[f->nr_strings++] = copy;
	return copy;
}

static struct fake *fake_create(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->sp.meta = &f->meta;
	f->sp.locs = f->locs;
	f->sp.stacks = f->stacks;
	f->sp.pool = f->pool;
	return f;
}

static void fake_destroy(struct fake *f)
{
	for (size_t i = 0; i < f->sp.nr_locs; i++)
		free((void *)f->locs[i].frames);
	for (size_t i = 0; i < f->nr_strings; i++)
		free(f->strings[i]);
	free(f);
}

/* One location from "a+b@file:line" (frames outermost first). */
static uint32_t fake_location(struct fake *f, const char *text, size_t len)
{
	struct up_location *loc = &f->locs[f->sp.nr_locs];
	struct up_frame *frames = calloc(8, sizeof(*frames));
	const char *end = text + len, *at = memchr(text, '@', len);
	size_t n = 0;

	assert_non_null(frames);
	assert_true(f->sp.nr_locs < MAX_LOCS);
	if (at) {
		const char *colon = memchr(at, ':', (size_t)(end - at));

		assert_non_null(colon);
		end = at;
		frames[7].file = keep(f, at + 1, (size_t)(colon - at - 1));
		frames[7].line = (unsigned int)atoi(colon + 1);
	}
	for (const char *s = text; s < end;) {
		const char *plus = memchr(s, '+', (size_t)(end - s));
		const char *e = plus ? plus : end;
		int unknown = *s == '?';

		assert_true(n < 7);
		frames[n].name = keep(f, s + unknown, (size_t)(e - s - unknown));
		frames[n].known = !unknown;
		n++;
		s = plus ? plus + 1 : end;
	}
	frames[n - 1].file = frames[7].file;
	frames[n - 1].line = frames[7].line;
	loc->frames = frames;
	loc->nr_frames = n;
	loc->file = -1;
	return (uint32_t)f->sp.nr_locs++;
}

static void fake_stack(struct fake *f, uint32_t vcpu, uint64_t count, const char *chain)
{
	struct up_sym_stack *st = &f->stacks[f->sp.nr_stacks++];
	uint32_t locs[64];
	uint32_t depth = 0;

	assert_true(f->sp.nr_stacks <= MAX_STACKS);
	for (const char *s = chain; *s;) {
		const char *semi = strchr(s, ';');
		size_t len = semi ? (size_t)(semi - s) : strlen(s);

		assert_true(depth < 64);
		locs[depth++] = fake_location(f, s, len);
		s += len + (semi != NULL);
	}
	assert_true(f->used + depth <= MAX_LOCS);
	st->vcpu = vcpu;
	st->count = count;
	st->depth = depth;
	st->locs = f->pool + f->used;
	for (uint32_t d = 0; d < depth; d++)  /* leaf first */
		f->pool[f->used + d] = locs[depth - 1 - d];
	f->used += depth;
	f->sp.total += count;
}

static char *write_svg(const struct up_symprofile *sp, const struct up_writer_options *opts)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	assert_null(up_writer_svg.write(out, sp, opts));
	fclose(out);
	return text;
}

/* The output is well-formed XML (expat says so). */
static void assert_well_formed(const char *svg)
{
	XML_Parser parser = XML_ParserCreate("UTF-8");
	enum XML_Status status;

	assert_non_null(parser);
	status = XML_Parse(parser, svg, (int)strlen(svg), 1);
	if (status != XML_STATUS_OK)
		fail_msg("not well-formed XML at line %lu: %s", XML_GetCurrentLineNumber(parser),
			 XML_ErrorString(XML_GetErrorCode(parser)));
	XML_ParserFree(parser);
}

static int count_of(const char *haystack, const char *needle)
{
	int n = 0;

	for (const char *s = haystack; (s = strstr(s, needle)); s++)
		n++;
	return n;
}

struct drawn {
	double x, y, width;
	unsigned int r, g, b;
	int found;
};

/* The rect of the frame whose <title> starts with title (the first such frame). */
static struct drawn frame(const char *svg, const char *title)
{
	struct drawn d = { 0 };
	char *needle;
	const char *s;

	assert_true(asprintf(&needle, "<title>%s", title) > 0);
	s = strstr(svg, needle);
	free(needle);
	if (!s)
		return d;
	s = strstr(s, "<rect ");
	assert_non_null(s);
	assert_int_equal(sscanf(s, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%*d\" fill=\"#%2x%2x%2x\"",
				&d.x, &d.y, &d.width, &d.r, &d.g, &d.b), 6);
	d.found = 1;
	return d;
}

static void counts_and_merging(void **state)
{
	struct up_writer_options opts = { 0 };
	struct fake *f = fake_create();
	struct drawn all, root, middle, a, b, hex;
	char *svg;

	(void)state;
	fake_stack(f, 0, 2, "root;middle;leaf_a");
	fake_stack(f, 1, 1, "root;middle;leaf_a");  /* other addresses, the same names */
	fake_stack(f, 1, 5, "root;middle;leaf_b");
	fake_stack(f, 0, 1, "root;?0x9999");
	fake_stack(f, 0, 1, "middle;leaf_a");       /* a truncated walk */
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "<title>all (10 samples, 100.00%)</title>"));
	assert_non_null(strstr(svg, "<title>root (9 samples, 90.00%)</title>"));
	assert_non_null(strstr(svg, "<title>middle (8 samples, 80.00%)</title>"));
	assert_non_null(strstr(svg, "<title>leaf_a (3 samples, 30.00%)</title>"));
	assert_non_null(strstr(svg, "<title>leaf_b (5 samples, 50.00%)</title>"));
	assert_non_null(strstr(svg, "<title>0x9999 (1 sample, 10.00%)</title>"));
	assert_non_null(strstr(svg, "<title>middle (1 sample, 10.00%)</title>"));
	assert_int_equal(count_of(svg, "<title>leaf_a ("), 2);
	assert_int_equal(count_of(svg, "<g"), 9);
	assert_null(strstr(svg, "vcpu"));
	all = frame(svg, "all ");
	root = frame(svg, "root ");
	middle = frame(svg, "middle (8");
	a = frame(svg, "leaf_a (3");
	b = frame(svg, "leaf_b ");
	hex = frame(svg, "0x9999 ");
	/* Widths by samples: the root frame spans the image less its margins. */
	assert_true(all.width == 1180.0 && all.x == 10.0);
	assert_true(root.width == 1062.0 && middle.width == 944.0 && a.width == 354.0);
	/* Children in name order, each at its parent's x plus its elder siblings' samples. */
	assert_true(root.x == 10.0 + 118.0 && hex.x == root.x && middle.x == root.x + 118.0);
	assert_true(a.x == middle.x && b.x == a.x + a.width);
	assert_true(frame(svg, "middle (1").x == 10.0);
	/* A flame graph: the root at the bottom, callees above. */
	assert_true(all.y > root.y && root.y > middle.y && middle.y > a.y && a.y == b.y);
	/* Unknown addresses are grey; guest code warm (red at least as strong as blue). */
	assert_true(hex.r == hex.g && hex.g == hex.b);
	assert_true(a.r >= 205 && a.b <= 55);
	free(svg);
	fake_destroy(f);
}

static void kinds_inline_and_lines(void **state)
{
	struct up_writer_options opts = { .per_vcpu = 1, .lines = 1 };
	struct fake *f = fake_create();
	struct drawn vcpu, func, helper;
	char *svg;

	(void)state;
	f->sp.inline_frames = 1;
	f->sp.lines = 1;
	fake_stack(f, 3, 4, "start;func+helper@util.c:42");
	fake_stack(f, 3, 2, "start;func+helper+deeper");
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	/* The leaf gets (file:line), as in the folded output; the same name elsewhere does not. */
	assert_non_null(strstr(svg, "<title>helper (util.c:42) (4 samples, 66.67%)</title>"));
	assert_non_null(strstr(svg, "<title>helper (2 samples, 33.33%)</title>"));
	assert_non_null(strstr(svg, "<title>func (6 samples, 100.00%)</title>"));
	vcpu = frame(svg, "vcpu3 (6 samples");
	func = frame(svg, "func ");
	helper = frame(svg, "helper (2");
	assert_true(vcpu.found && func.found && helper.found);
	/* vCPU roots blue; inlined frames aqua; a function warm. */
	assert_true(vcpu.b > vcpu.r + 50 && vcpu.b > vcpu.g + 50);
	assert_true(helper.g >= 165 && helper.b >= 165 && helper.r <= 110);
	assert_true(func.r >= 205 && func.b <= 55);
	free(svg);
	fake_destroy(f);
}

static void escaping(void **state)
{
	struct up_writer_options opts = { .title = "<b>&\"'" };
	struct fake *f = fake_create();
	char *svg, *long_name = malloc(5001);

	(void)state;
	assert_non_null(long_name);
	memset(long_name, 'x', 5000);
	long_name[5000] = '\0';
	fake_stack(f, 0, 1, "a<b>&\"c'");
	fake_stack(f, 0, 1, "ctl\x01\x1f\x7fz");
	fake_stack(f, 0, 1, "bad\xff\xfe utf8");
	fake_stack(f, 0, 1, "c1\xc2\x85 overlong\xc0\xaf surrogate\xed\xa0\x80 cut\xe2\x82");
	fake_stack(f, 0, 1, "fine \xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5");
	fake_stack(f, 0, 1, long_name);
	fake_stack(f, 0, 1, "]]>");
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "<title>a&lt;b&gt;&amp;&quot;c&apos; (1 sample"));
	assert_non_null(strstr(svg, ">&lt;b&gt;&amp;&quot;&apos;</text>"));
	assert_non_null(strstr(svg, "<title>ctl???z (1 sample"));
	assert_non_null(strstr(svg, "<title>bad\xef\xbf\xbd\xef\xbf\xbd utf8 (1 sample"));
	assert_non_null(strstr(svg, "<title>fine \xc3\xa9\xe2\x82\xac\xf0\x9f\x94\xa5 (1 sample"));
	assert_non_null(strstr(svg, "<title>]]&gt; (1 sample"));
	/* No control byte anywhere but the line ends. */
	for (const char *c = svg; *c; c++)
		assert_true((unsigned char)*c >= 0x20 || *c == '\n');
	/* A long name is cut to 1024 bytes, the last three saying so. */
	assert_null(strstr(svg, long_name));
	memcpy(long_name, "<title>", 7);
	strcpy(long_name + 7 + 1021, "... (1 sample");
	assert_non_null(strstr(svg, long_name));
	free(long_name);
	free(svg);
	fake_destroy(f);
}

static void narrow_frames_left_out(void **state)
{
	struct up_writer_options opts = { 0 };
	struct fake *f = fake_create();
	struct drawn big, common;
	char chain[64];
	char *svg;

	(void)state;
	fake_stack(f, 0, 100000, "root;big");
	/* 1000 frames of one sample each: far below a tenth of a pixel... */
	for (int i = 0; i < 1000; i++) {
		snprintf(chain, sizeof(chain), "root;tiny_%d", i);
		fake_stack(f, 0, 1, chain);
	}
	/* ...and 20 that are too narrow alone but make a frame together. */
	for (int i = 0; i < 20; i++) {
		snprintf(chain, sizeof(chain), "root;common;leaf_%d", i);
		fake_stack(f, 0, 1, chain);
	}
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	assert_null(strstr(svg, "tiny_"));
	assert_null(strstr(svg, "leaf_"));
	/* The samples of what is left out still count below it. */
	assert_non_null(strstr(svg, "<title>all (101020 samples, 100.00%)</title>"));
	assert_non_null(strstr(svg, "<title>root (101020 samples, 100.00%)</title>"));
	assert_non_null(strstr(svg, "<title>common (20 samples, 0.02%)</title>"));
	assert_int_equal(count_of(svg, "<g"), 5);
	/* In name order: big, common, then the room of the tiny frames. */
	big = frame(svg, "big ");
	common = frame(svg, "common ");
	assert_true(big.x == 10.0 && common.x == big.x + big.width);
	assert_true(big.width > 1168.0 && big.width < 1168.2 && common.x + common.width < 1189.0);
	free(svg);
	fake_destroy(f);
}

static void per_vcpu_roots(void **state)
{
	struct up_writer_options opts = { .per_vcpu = 1 };
	struct fake *f = fake_create();
	struct drawn all, v0, v1, main0;
	char *svg;

	(void)state;
	fake_stack(f, 0, 3, "kmain;work");
	fake_stack(f, 1, 1, "ap_main;work");
	fake_stack(f, 0, 1, "kmain;idle");
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "<title>vcpu0 (4 samples, 80.00%)</title>"));
	assert_non_null(strstr(svg, "<title>vcpu1 (1 sample, 20.00%)</title>"));
	assert_non_null(strstr(svg, "<title>kmain (4 samples, 80.00%)</title>"));
	all = frame(svg, "all ");
	v0 = frame(svg, "vcpu0 ");
	v1 = frame(svg, "vcpu1 ");
	main0 = frame(svg, "kmain ");
	/* The vCPU is the frame right above the root, each stack's first. */
	assert_true(v0.y == v1.y && v0.y == all.y - 16 && main0.y == v0.y - 16);
	assert_true(v1.x == v0.x + v0.width);
	free(svg);
	/* Without per_vcpu the same stacks have no vCPU frames, and work merges across vCPUs. */
	opts.per_vcpu = 0;
	svg = write_svg(&f->sp, &opts);
	assert_null(strstr(svg, "vcpu"));
	assert_non_null(strstr(svg, "<title>kmain (4 samples"));
	free(svg);
	fake_destroy(f);
}

static void reverse_is_an_icicle(void **state)
{
	struct up_writer_options opts = { .reverse = 1 };
	struct fake *f = fake_create();
	struct drawn all, root, leaf;
	char *svg;

	(void)state;
	fake_stack(f, 0, 3, "root;middle;leaf");
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	all = frame(svg, "all ");
	root = frame(svg, "root ");
	leaf = frame(svg, "leaf ");
	assert_true(all.y < root.y && root.y < leaf.y);
	assert_non_null(strstr(svg, "ICICLE = true"));
	free(svg);
	fake_destroy(f);
}

/* The same stacks in any order make the same bytes. */
static void deterministic(void **state)
{
	static const char *const chains[] = {
		"r;b;x", "r;a;y", "r;c", "q;a", "r;b;z", "r;a;y", "q;b;x+i", "r;?0x10",
	};
	struct up_writer_options opts = { .per_vcpu = 1 };
	struct fake *f = fake_create(), *g = fake_create();
	size_t n = sizeof(chains) / sizeof(chains[0]);
	char *one, *two, *again;

	(void)state;
	f->meta.frequency = 99;
	g->meta.frequency = 99;
	for (size_t i = 0; i < n; i++)
		fake_stack(f, (uint32_t)(i % 3), i + 1, chains[i]);
	for (size_t i = n; i-- > 0;)
		fake_stack(g, (uint32_t)(i % 3), i + 1, chains[i]);
	one = write_svg(&f->sp, &opts);
	two = write_svg(&g->sp, &opts);
	again = write_svg(&f->sp, &opts);
	assert_string_equal(one, two);
	assert_string_equal(one, again);
	free(one);
	free(two);
	free(again);
	fake_destroy(f);
	fake_destroy(g);
}

static void empty_and_title(void **state)
{
	struct up_writer_options opts = { 0 };
	struct fake *f = fake_create();
	char *svg;

	(void)state;
	snprintf(f->meta.target, sizeof(f->meta.target), "qemu /run/vm.sock");
	snprintf(f->meta.arch, sizeof(f->meta.arch), "x86_64");
	f->meta.nr_vcpus = 2;
	f->meta.frequency = 250;
	f->meta.samples = 1500;
	f->meta.duration_ns = 6000000000ull;
	svg = write_svg(&f->sp, &opts);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, ">Flame graph of qemu /run/vm.sock</text>"));
	assert_non_null(strstr(svg, ">x86_64, 2 vCPUs, 1500 samples, 0 stacks in 6.00 s at 250 Hz</text>"));
	assert_non_null(strstr(svg, "No samples"));
	assert_int_equal(count_of(svg, "<title>"), 0);
	free(svg);
	fake_destroy(f);
}

/* Through the real symbolizer, from raw addresses, as uniprof writes it. */
static void from_raw_profile(void **state)
{
	struct up_writer_options opts = { 0 };
	struct up_symfile *file = calloc(1, sizeof(*file));
	uint64_t a[] = { 0x1210, 0x1150, 0x1020 }, b[] = { 0x1220, 0x1160, 0x1030 };
	struct up_symbolizer s;
	struct up_symprofile sp;
	struct up_profile p;
	char *svg;

	(void)state;
	assert_non_null(file);
	up_symbolizer_init(&s, NULL);
	assert_null(up_symtab_add(&file->tab, 0x1000, 0x100, "root", 4));
	assert_null(up_symtab_add(&file->tab, 0x1100, 0x100, "middle", 4));
	assert_null(up_symtab_add(&file->tab, 0x1200, 0x100, "leaf", 4));
	up_symtab_finish(&file->tab);
	s.files = calloc(1, sizeof(*s.files));
	assert_non_null(s.files);
	s.files[0] = file;
	s.nr_files = 1;
	up_profile_init(&p);
	assert_null(up_profile_add(&p, 0, a, 3, 0, 2));
	assert_null(up_profile_add(&p, 1, b, 3, 0, 1));
	assert_null(up_symprofile_build(&p, &s, &sp));
	svg = write_svg(&sp, &opts);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "<title>leaf (3 samples, 100.00%)</title>"));
	assert_int_equal(count_of(svg, "<g"), 5);
	free(svg);
	up_symprofile_deinit(&sp);
	/* Capped: the stacks beyond the first make one "[other]" frame under the root. */
	up_profile_deinit(&p);
	up_profile_init(&p);
	p.max_stacks = 1;
	assert_null(up_profile_add(&p, 0, a, 3, 0, 2));
	assert_null(up_profile_add(&p, 1, b, 3, 0, 1));
	assert_null(up_profile_add(&p, 0, b, 3, 0, 1));
	assert_null(up_symprofile_build(&p, &s, &sp));
	svg = write_svg(&sp, &opts);
	assert_well_formed(svg);
	assert_non_null(strstr(svg, "<title>[other] (2 samples, 50.00%)</title>"));
	assert_non_null(strstr(svg, "<title>leaf (2 samples, 50.00%)</title>"));
	free(svg);
	up_symprofile_deinit(&sp);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void found_by_name_and_extension(void **state)
{
	(void)state;
	assert_ptr_equal(up_writer_find("svg"), &up_writer_svg);
	assert_ptr_equal(up_writer_for_path("/tmp/guest.svg"), &up_writer_svg);
	assert_null(up_writer_for_path(".svg"));
	assert_non_null(strstr(up_writer_names(), "svg"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(counts_and_merging),
		cmocka_unit_test(kinds_inline_and_lines),
		cmocka_unit_test(escaping),
		cmocka_unit_test(narrow_frames_left_out),
		cmocka_unit_test(per_vcpu_roots),
		cmocka_unit_test(reverse_is_an_icicle),
		cmocka_unit_test(deterministic),
		cmocka_unit_test(empty_and_title),
		cmocka_unit_test(from_raw_profile),
		cmocka_unit_test(found_by_name_and_extension),
	};

	return cmocka_run_group_tests_name("svg", tests, NULL, NULL);
}
