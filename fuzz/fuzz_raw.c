/*
 * libFuzzer: reading a hostile raw recording (uniprof report FILE).  Whatever the reader
 * accepts must be within its bounds, and must write back (record/raw_write.c) into a file
 * that reads to the same samples.  Seeds: tests/unit/data/raw.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../record/raw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sample {
	uint64_t time;
	uint32_t vcpu, depth;
	int truncated;
	uint64_t exact;
	uint64_t pcs[UP_RAW_MAX_DEPTH];
};

struct samples {
	struct sample *s;
	size_t nr;
};

static struct up_error *keep(void *ctx, uint64_t time_ns, uint32_t vcpu, const uint64_t *pcs,
			     uint32_t depth, uint64_t exact, int truncated)
{
	struct samples *all = ctx;
	struct sample *n = realloc(all->s, (all->nr + 1) * sizeof(*n)), *s;

	if (!n)
		return &up_error_nomem;
	all->s = n;
	s = &n[all->nr++];
	s->time = time_ns;
	s->vcpu = vcpu;
	s->depth = depth;
	s->truncated = truncated;
	s->exact = exact & ~1ULL;  /* the leaf's bit is not kept */
	memcpy(s->pcs, pcs, depth * sizeof(*pcs));
	return NULL;
}

static void check_bounds(const struct up_raw_recording *r, const struct samples *all)
{
	const struct up_profile *p = &r->profile;
	uint64_t total = 0;

	if (r->version != UP_RAW_VERSION || r->length > r->size || r->size > (1u << 24) ||
	    (r->complete && r->length != r->size) || r->stacks != all->nr || p->total != all->nr ||
	    !p->meta.nr_vcpus || p->meta.nr_vcpus > UP_RAW_MAX_VCPUS || r->nr_files > UP_RAW_MAX_FILES ||
	    !memchr(p->meta.target, '\0', sizeof(p->meta.target)) ||
	    !memchr(p->meta.arch, '\0', sizeof(p->meta.arch)))
		__builtin_trap();
	for (size_t i = 0; i < p->nr_stacks; i++) {
		const struct up_stack *s = p->stacks[i];

		if (!s->depth || s->depth > UP_RAW_MAX_DEPTH || s->vcpu >= p->meta.nr_vcpus || !s->count)
			__builtin_trap();
		total += s->count;
	}
	if (total != p->total)
		__builtin_trap();
	for (size_t i = 0; i < r->nr_files; i++)
		if (!r->files[i].path || !r->files[i].path[0] ||
		    strlen(r->files[i].path) > UP_RAW_MAX_PATH || r->files[i].slide_state > UP_SLIDE_REFUSED ||
		    !memchr(r->files[i].slide_how, '\0', sizeof(r->files[i].slide_how)))
			__builtin_trap();
}

static int same_meta(const struct up_profile_meta *a, const struct up_profile_meta *b)
{
	return !strcmp(a->target, b->target) && !strcmp(a->arch, b->arch) &&
	       a->nr_vcpus == b->nr_vcpus && a->frequency == b->frequency &&
	       a->start_ns == b->start_ns && a->duration_ns == b->duration_ns &&
	       a->samples == b->samples && a->truncated == b->truncated;
}

/* Write the samples again and read them back: the same samples and metadata. */
static void check_round_trip(const struct up_raw_recording *r, const struct samples *all)
{
	struct up_raw_recording back;
	struct up_raw_writer *w;
	struct samples again = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	if (up_raw_writer_create(f, &r->profile.meta, NULL, &w))
		__builtin_trap();
	for (size_t i = 0; i < all->nr; i++) {
		const struct sample *s = &all->s[i];

		if (up_raw_write_stack(w, s->time, s->vcpu, s->pcs, s->depth, s->exact, s->truncated))
			__builtin_trap();
	}
	if (up_raw_writer_finish(w, &r->profile.meta))
		__builtin_trap();
	up_raw_writer_destroy(w);
	fclose(f);
	if (up_raw_read_buffer(buf, len, keep, &again, &back))
		__builtin_trap();
	if (!back.complete || again.nr != all->nr || !same_meta(&back.profile.meta, &r->profile.meta) ||
	    back.profile.nr_stacks != r->profile.nr_stacks)
		__builtin_trap();
	for (size_t i = 0; i < all->nr; i++) {
		const struct sample *a = &all->s[i], *b = &again.s[i];

		if (a->time != b->time || a->vcpu != b->vcpu || a->depth != b->depth ||
		    a->truncated != b->truncated || a->exact != b->exact || memcmp(a->pcs, b->pcs, a->depth * sizeof(a->pcs[0])))
			__builtin_trap();
	}
	up_raw_recording_deinit(&back);
	free(again.s);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_raw_recording r;
	struct samples all = { 0 };
	struct up_error *err = up_raw_read_buffer(data, size, keep, &all, &r);

	if (err) {
		if (err->code != UP_ERR_INVALID && err->code != UP_ERR_NOMEM)
			__builtin_trap();
		up_error_destroy(err);
	} else {
		check_bounds(&r, &all);
		check_round_trip(&r, &all);
		up_raw_recording_deinit(&r);
	}
	free(all.s);
	return 0;
}
