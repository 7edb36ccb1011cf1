/*
 * Samples for the raw recording tests (test_raw.c, test_raw_damage.c): stacks as a run would
 * give them, the metadata and symbol files a run records, a recording of them in memory, and
 * checks that what is read back is what was written.
 */
#ifndef UP_TESTS_RAW_SAMPLES_H
#define UP_TESTS_RAW_SAMPLES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../record/raw.h"

#define NR_VCPUS 3
#define START_NS 1790000000123456789ull
#define FUNC(i) (0xffffffff81000000ull + 0x100 * (i))
#define NR_FUNCS 8

struct sample {
	uint64_t time;
	uint32_t vcpu, depth;
	int truncated;
	uint64_t exact;         /* as struct up_walk.exact, the leaf's bit clear */
	uint64_t *pcs;          /* leaf first */
};

struct samples {
	struct sample *s;
	size_t nr;
	uint64_t pauses, truncated;
};

static inline uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Stacks as a run of `pauses` pauses over NR_VCPUS vCPUs would give them: some vCPUs stale,
 * stacks made of a few functions (so that many repeat), one of the deepest depth, extreme
 * addresses, and a wall clock that once steps back.
 */
static inline void make_samples(size_t pauses, struct samples *ret)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, time = START_NS + 500;

	memset(ret, 0, sizeof(*ret));
	ret->s = calloc(pauses * NR_VCPUS, sizeof(*ret->s));
	assert_non_null(ret->s);
	for (size_t p = 0; p < pauses; p++) {
		int any = 0;

		time += p == 7 ? -(uint64_t)3000000000ull : 1000000 + next_random(&seed) % 50000;
		for (uint32_t v = 0; v < NR_VCPUS; v++) {
			struct sample *s = &ret->s[ret->nr];

			if (p && next_random(&seed) % 5 == 0)
				continue;  /* stale: not walked, not recorded */
			s->time = time;
			s->vcpu = v;
			s->depth = p == 3 && v == 0 ? UP_RAW_MAX_DEPTH : 1 + next_random(&seed) % 6;
			s->truncated = s->depth == UP_RAW_MAX_DEPTH || next_random(&seed) % 7 == 0;
			s->pcs = calloc(s->depth, sizeof(*s->pcs));
			assert_non_null(s->pcs);
			for (uint32_t d = 0; d < s->depth; d++) {
				/* Root first, as calls go; a few offsets per function. */
				uint64_t r = next_random(&seed);

				s->pcs[s->depth - 1 - d] = FUNC((d + r % 2) % NR_FUNCS) + 0x10 * (r % 3);
			}
			if (p == 5 && s->depth >= 2) {
				s->pcs[0] = UINT64_MAX;
				s->pcs[1] = 0;
			}
			/* Some stacks went through an interrupt frame: an exact pc, even the 63rd. */
			if (s->depth >= 3 && next_random(&seed) % 4 == 0)
				s->exact = 1ULL << (1 + next_random(&seed) % (s->depth - 1));
			if (s->depth > 63 && p == 3)
				s->exact |= 1ULL << 63;
			ret->truncated += s->truncated;
			ret->nr++;
			any = 1;
		}
		ret->pauses += any;
	}
}

static inline void free_samples(struct samples *all)
{
	for (size_t i = 0; i < all->nr; i++)
		free(all->s[i].pcs);
	free(all->s);
}

static inline void make_meta(const struct samples *all, struct up_profile_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->target, sizeof(meta->target), "qemu /run/vm;1.sock");
	snprintf(meta->arch, sizeof(meta->arch), "x86_64");
	meta->nr_vcpus = NR_VCPUS;
	meta->frequency = 99.5;
	meta->start_ns = START_NS;
	meta->duration_ns = 2500000000ull;
	meta->samples = all->pauses + 2;  /* pauses whose vCPUs were all stale count too */
	meta->truncated = all->truncated;
}

/* A symbolizer with two files: functions f0..f7 in the first, the second refused. */
static inline void make_symbolizer(struct up_symbolizer *s)
{
	static const char *const names[NR_FUNCS] = { "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7" };
	struct up_symfile *f[2];

	up_symbolizer_init(s, NULL);
	for (int i = 0; i < 2; i++) {
		f[i] = calloc(1, sizeof(*f[i]));
		assert_non_null(f[i]);
	}
	for (int i = 0; i < NR_FUNCS; i++)
		assert_null(up_symtab_add(&f[0]->tab, FUNC(i), 0x100, names[i], 2));
	up_symtab_finish(&f[0]->tab);
	up_symtab_finish(&f[1]->tab);
	f[0]->path = strdup("/boot/guest.elf");
	f[0]->slide_state = UP_SLIDE_CONFIRMED;
	snprintf(f[0]->slide_how, sizeof(f[0]->slide_how), "the guest's code matches the file's");
	f[1]->path = strdup("modules/net.ko");
	f[1]->slide = -0x200000;
	f[1]->slide_state = UP_SLIDE_REFUSED;
	snprintf(f[1]->slide_how, sizeof(f[1]->slide_how), "nothing confirmed a slide");
	assert_non_null(f[0]->path);
	assert_non_null(f[1]->path);
	s->files = calloc(2, sizeof(*s->files));
	assert_non_null(s->files);
	s->files[0] = f[0];
	s->files[1] = f[1];
	s->nr_files = 2;
}

/* A recording of all; ret_ends[i] (when not NULL): where the record of stack i ends. */
struct recording {
	char *buf;
	size_t len;
	size_t files_end;       /* the end of the header and symbol file records */
	size_t *ends;
};

static inline void record(const struct samples *all, const struct up_profile_meta *meta,
		   const struct up_symbolizer *sym, struct recording *ret)
{
	struct up_raw_writer *w;
	FILE *f;

	memset(ret, 0, sizeof(*ret));
	ret->ends = calloc(all->nr + 1, sizeof(*ret->ends));
	f = open_memstream(&ret->buf, &ret->len);
	assert_non_null(f);
	assert_non_null(ret->ends);
	assert_null(up_raw_writer_create(f, meta, sym, &w));
	ret->files_end = ret->len;
	for (size_t i = 0; i < all->nr; i++) {
		const struct sample *s = &all->s[i];

		assert_null(up_raw_write_stack(w, s->time, s->vcpu, s->pcs, s->depth, s->exact,
					       s->truncated));
		assert_null(up_raw_flush(w));
		ret->ends[i] = ret->len;
	}
	assert_int_equal(up_raw_writer_stacks(w), all->nr);
	assert_null(up_raw_writer_finish(w, meta));
	up_raw_writer_destroy(w);
	assert_int_equal(fclose(f), 0);
}

static inline void free_recording(struct recording *r)
{
	free(r->buf);
	free(r->ends);
}

/* A sample callback that checks each sample against the next expected one. */
struct expect {
	const struct samples *all;
	size_t next;
};

static inline struct up_error *check_sample(void *ctx, uint64_t time_ns, uint32_t vcpu,
				     const uint64_t *pcs, uint32_t depth, uint64_t exact,
				     int truncated)
{
	struct expect *e = ctx;
	const struct sample *s;

	assert_true(e->next < e->all->nr);
	s = &e->all->s[e->next++];
	assert_true(time_ns == s->time);
	assert_int_equal(vcpu, s->vcpu);
	assert_int_equal(depth, s->depth);
	assert_int_equal(truncated, s->truncated);
	assert_true(exact == s->exact);
	assert_memory_equal(pcs, s->pcs, depth * sizeof(*pcs));
	return NULL;
}

static inline void assert_meta_equal(const struct up_profile_meta *a, const struct up_profile_meta *b)
{
	assert_string_equal(a->target, b->target);
	assert_string_equal(a->arch, b->arch);
	assert_int_equal(a->nr_vcpus, b->nr_vcpus);
	assert_true(a->frequency == b->frequency);
	assert_true(a->start_ns == b->start_ns);
	assert_true(a->duration_ns == b->duration_ns);
	assert_int_equal(a->samples, b->samples);
	assert_int_equal(a->truncated, b->truncated);
}

static inline void assert_profiles_equal(const struct up_profile *a, const struct up_profile *b)
{
	assert_meta_equal(&a->meta, &b->meta);
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->nr_stacks, b->nr_stacks);
	for (size_t i = 0; i < a->nr_stacks; i++) {
		const struct up_stack *x = a->stacks[i], *y = b->stacks[i];

		assert_int_equal(x->vcpu, y->vcpu);
		assert_int_equal(x->depth, y->depth);
		assert_int_equal(x->count, y->count);
		assert_true(x->exact == y->exact);
		assert_memory_equal(x->pcs, y->pcs, x->depth * sizeof(x->pcs[0]));
	}
}

#endif
