/* The profile aggregator and the folded-stack writer. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../writers/writer.h"

static void symbolizer(struct up_symbolizer *s)
{
	struct up_symfile *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	up_symbolizer_init(s, NULL);
	assert_null(up_symtab_add(&f->tab, 0x1000, 0x100, "root", 4));
	assert_null(up_symtab_add(&f->tab, 0x1100, 0x100, "middle", 4));
	assert_null(up_symtab_add(&f->tab, 0x1200, 0x100, "leaf_a", 4));
	assert_null(up_symtab_add(&f->tab, 0x1300, 0x100, "leaf_b", 4));
	assert_null(up_symtab_add(&f->tab, 0x1400, 0x100, "odd;name\nwith controls", 4));
	up_symtab_finish(&f->tab);
	s->files = calloc(1, sizeof(*s->files));
	assert_non_null(s->files);
	s->files[0] = f;
	s->nr_files = 1;
}

static char *folded(const struct up_profile *p, struct up_symbolizer *s, int per_vcpu)
{
	struct up_writer_options opts = { .per_vcpu = per_vcpu };
	struct up_symprofile sp;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	assert_null(up_symprofile_build(p, s, &sp));
	assert_null(up_writer_folded.write(f, &sp, &opts));
	up_symprofile_deinit(&sp);
	fclose(f);
	return text;
}

static void aggregate_counts(void **state)
{
	struct up_profile p;
	uint64_t a[] = { 0x1210, 0x1150, 0x1020 }, b[] = { 0x1310, 0x1150, 0x1020 };

	(void)state;
	up_profile_init(&p);
	for (int i = 0; i < 3; i++)
		assert_null(up_profile_add(&p, 0, a, 3, 0, 1));
	assert_null(up_profile_add(&p, 0, b, 3, 0, 1));
	assert_null(up_profile_add(&p, 1, b, 3, 0, 2));
	assert_null(up_profile_add(&p, 1, b, 2, 0, 1));
	assert_int_equal(p.nr_stacks, 4);
	assert_int_equal(p.total, 7);
	assert_int_equal(p.stacks[0]->count, 3);
	assert_int_equal(p.stacks[2]->count, 2);
	assert_int_equal(p.stacks[3]->depth, 2);
	up_profile_deinit(&p);
}

/*
 * An exact pc (an interrupted context, struct up_walk.exact) is named as is: at a function's
 * first instruction it is that function, where a return address there names the one before.
 * The same addresses with another exact bit are another stack.
 */
static void exact_pcs_named_as_is(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	uint64_t pcs[] = { 0x1210, 0x1200, 0x1150, 0x1020 };
	char *text;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	assert_null(up_profile_add(&p, 0, pcs, 4, 1ULL << 1, 2));
	assert_null(up_profile_add(&p, 0, pcs, 4, 0, 1));
	/* The leaf's bit and bits past the depth change nothing. */
	assert_null(up_profile_add(&p, 0, pcs, 4, 1ULL << 1 | 1 | 1ULL << 40, 1));
	assert_int_equal(p.nr_stacks, 2);
	assert_int_equal(p.stacks[0]->count, 3);
	text = folded(&p, &s, 0);
	assert_string_equal(text, "root;middle;leaf_a;leaf_a 3\nroot;middle;middle;leaf_a 1\n");
	free(text);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void aggregate_many(void **state)
{
	struct up_profile p;
	uint64_t pcs[4];

	(void)state;
	up_profile_init(&p);
	/* Enough distinct stacks to grow the hash table several times. */
	for (int round = 0; round < 2; round++) {
		for (uint64_t i = 0; i < 10000; i++) {
			pcs[0] = i;
			pcs[1] = i * 7;
			pcs[2] = 0x1000;
			pcs[3] = i % 3;
			assert_null(up_profile_add(&p, (uint32_t)(i % 2), pcs, 4, 0, 1));
		}
	}
	assert_int_equal(p.nr_stacks, 10000);
	assert_int_equal(p.total, 20000);
	for (size_t i = 0; i < p.nr_stacks; i++)
		assert_int_equal(p.stacks[i]->count, 2);
	up_profile_deinit(&p);
}

static void aggregate_cap(void **state)
{
	struct up_profile p;
	uint64_t a[] = { 0x1210, 0x1020 }, b[] = { 0x1310, 0x1020 }, c[] = { 0x1410, 0x1020 };
	uint64_t d[] = { 0x1110, 0x1020 };

	(void)state;
	up_profile_init(&p);
	assert_int_equal(p.max_stacks, UP_PROFILE_DEFAULT_MAX_STACKS);
	p.max_stacks = 2;
	assert_null(up_profile_add(&p, 0, a, 2, 0, 1));
	assert_null(up_profile_add(&p, 1, b, 2, 0, 1));
	/* Full: new stacks go to their vCPU's [other] bucket, kept ones still count. */
	assert_null(up_profile_add(&p, 0, c, 2, 0, 3));
	assert_null(up_profile_add(&p, 0, d, 2, 0, 1));
	assert_null(up_profile_add(&p, 1, c, 2, 0, 2));
	assert_null(up_profile_add(&p, 0, a, 2, 0, 4));
	assert_null(up_profile_add(&p, 1, b, 2, 0, 1));
	assert_int_equal(p.nr_stacks, 4);
	assert_int_equal(p.nr_other_buckets, 2);
	assert_int_equal(p.total, 13);
	assert_int_equal(p.other, 6);
	assert_int_equal(p.stacks[0]->count, 5);
	assert_int_equal(p.stacks[1]->count, 2);
	assert_int_equal(p.stacks[2]->depth, 0);
	assert_int_equal(p.stacks[2]->vcpu, 0);
	assert_int_equal(p.stacks[2]->count, 4);
	assert_int_equal(p.stacks[3]->depth, 0);
	assert_int_equal(p.stacks[3]->vcpu, 1);
	assert_int_equal(p.stacks[3]->count, 2);
	up_profile_deinit(&p);
}

static void aggregate_cap_bounds_memory(void **state)
{
	struct up_profile p;
	uint64_t pcs[2] = { 0, 0x1020 };

	(void)state;
	up_profile_init(&p);
	p.max_stacks = 1000;
	for (uint64_t i = 0; i < 100000; i++) {
		pcs[0] = 0x10000 + i;
		assert_null(up_profile_add(&p, (uint32_t)(i % 4), pcs, 2, 0, 1));
	}
	assert_int_equal(p.nr_stacks, 1000 + 4);
	assert_int_equal(p.total, 100000);
	assert_int_equal(p.other, 100000 - 1000);
	up_profile_deinit(&p);
}

static void folded_other(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	uint64_t a[] = { 0x1210, 0x1150, 0x1020 }, b[] = { 0x1310, 0x1150, 0x1020 };
	struct up_symprofile sp;
	char *text;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	p.max_stacks = 1;
	assert_null(up_profile_add(&p, 0, a, 3, 0, 2));
	assert_null(up_profile_add(&p, 0, b, 3, 0, 5));
	assert_null(up_profile_add(&p, 1, b, 3, 0, 1));
	assert_null(up_profile_add(&p, 1, a, 3, 0, 1));
	assert_null(up_symprofile_build(&p, &s, &sp));
	assert_int_equal(sp.total, 9);
	assert_int_equal(sp.other, 7);
	assert_int_equal(sp.nr_stacks, 3);
	assert_int_equal(sp.stacks[1].depth, 1);
	assert_string_equal(sp.locs[sp.stacks[1].locs[0]].frames[0].name, "[other]");
	assert_int_equal(sp.stacks[2].locs[0], sp.stacks[1].locs[0]);
	up_symprofile_deinit(&sp);
	text = folded(&p, &s, 0);
	assert_string_equal(text,
			    "[other] 7\n"
			    "root;middle;leaf_a 2\n");
	free(text);
	text = folded(&p, &s, 1);
	assert_string_equal(text,
			    "vcpu0;[other] 5\n"
			    "vcpu0;root;middle;leaf_a 2\n"
			    "vcpu1;[other] 2\n");
	free(text);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void folded_lines(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	/* Leaf first; return addresses point after the call, hence the -1 when naming. */
	uint64_t a1[] = { 0x1210, 0x1150, 0x1020 }, a2[] = { 0x1220, 0x1160, 0x1030 };
	uint64_t b[] = { 0x1310, 0x1150, 0x1020 }, unknown[] = { 0x9999, 0x1020 };
	uint64_t edge[] = { 0x1200, 0x1200 };  /* return address 0x1200 was a call in middle */
	char *text;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	assert_null(up_profile_add(&p, 0, a1, 3, 0, 2));
	assert_null(up_profile_add(&p, 1, a2, 3, 0, 1));
	assert_null(up_profile_add(&p, 1, b, 3, 0, 5));
	assert_null(up_profile_add(&p, 0, unknown, 2, 0, 1));
	assert_null(up_profile_add(&p, 0, edge, 2, 0, 1));
	text = folded(&p, &s, 0);
	/* Different addresses in the same functions merge into one line; lines are sorted. */
	assert_string_equal(text,
			    "middle;leaf_a 1\n"
			    "root;0x9999 1\n"
			    "root;middle;leaf_a 3\n"
			    "root;middle;leaf_b 5\n");
	free(text);
	text = folded(&p, &s, 1);
	assert_string_equal(text,
			    "vcpu0;middle;leaf_a 1\n"
			    "vcpu0;root;0x9999 1\n"
			    "vcpu0;root;middle;leaf_a 2\n"
			    "vcpu1;root;middle;leaf_a 1\n"
			    "vcpu1;root;middle;leaf_b 5\n");
	free(text);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void folded_sanitizes_names(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	uint64_t odd[] = { 0x1410, 0x1020 };
	char *text;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	assert_null(up_profile_add(&p, 0, odd, 2, 0, 4));
	text = folded(&p, &s, 0);
	assert_string_equal(text, "root;odd:name?with controls 4\n");
	free(text);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void folded_empty(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	char *text;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	text = folded(&p, &s, 0);
	assert_string_equal(text, "");
	free(text);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(aggregate_counts),
		cmocka_unit_test(exact_pcs_named_as_is),
		cmocka_unit_test(aggregate_many),
		cmocka_unit_test(aggregate_cap),
		cmocka_unit_test(aggregate_cap_bounds_memory),
		cmocka_unit_test(folded_other),
		cmocka_unit_test(folded_lines),
		cmocka_unit_test(folded_sanitizes_names),
		cmocka_unit_test(folded_empty),
	};

	return cmocka_run_group_tests_name("folded", tests, NULL, NULL);
}
