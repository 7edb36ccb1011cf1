#include <stdlib.h>
#include <string.h>

#include "symprofile.h"

/* Open addressing from (address, is_return) to a location index. */
struct loc_index {
	uint64_t *keys;     /* addr << 1 | is_return, plus one so that 0 means empty */
	uint32_t *values;
	size_t mask;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int index_init(struct loc_index *ix, size_t expected)
{
	size_t size = 64;

	while (size < expected * 2)
		size *= 2;
	ix->keys = calloc(size, sizeof(*ix->keys));
	ix->values = calloc(size, sizeof(*ix->values));
	ix->mask = size - 1;
	return ix->keys && ix->values ? 0 : -1;
}

static uint32_t *index_slot(struct loc_index *ix, uint64_t key, int *found)
{
	size_t i = mix(key) & ix->mask;

	while (ix->keys[i] && ix->keys[i] != key)
		i = (i + 1) & ix->mask;
	*found = ix->keys[i] != 0;
	ix->keys[i] = key;
	return &ix->values[i];
}

static const struct up_frame other_frame = { .name = "[other]", .known = 1 };

/* Add the location every [other] bucket points to. */
static int other_location(struct up_symprofile *sp, size_t *cap_locs, uint32_t *ret)
{
	struct up_location *loc;

	if (sp->nr_locs == *cap_locs) {
		size_t ncap = *cap_locs ? *cap_locs * 2 : 256;
		struct up_location *n = realloc(sp->locs, ncap * sizeof(*n));

		if (!n)
			return -1;
		sp->locs = n;
		*cap_locs = ncap;
	}
	loc = &sp->locs[sp->nr_locs];
	memset(loc, 0, sizeof(*loc));
	loc->file = -1;
	loc->frames = &other_frame;
	loc->nr_frames = 1;
	*ret = (uint32_t)sp->nr_locs++;
	return 0;
}

struct up_error *up_symprofile_build(const struct up_profile *p, struct up_symbolizer *s,
				     struct up_symprofile *sp)
{
	struct loc_index ix = { 0 };
	size_t pcs = 0, used = 0, cap_locs = 0;
	uint32_t other = UINT32_MAX;
	struct up_error *err = &up_error_nomem;

	memset(sp, 0, sizeof(*sp));
	sp->meta = &p->meta;
	sp->symbolizer = s;
	sp->lines = s->opts.lines;
	sp->inline_frames = s->opts.inline_frames;
	for (size_t i = 0; i < p->nr_stacks; i++)
		pcs += p->stacks[i]->depth ? p->stacks[i]->depth : 1;
	sp->stacks = calloc(p->nr_stacks ? p->nr_stacks : 1, sizeof(*sp->stacks));
	sp->pool = calloc(pcs ? pcs : 1, sizeof(*sp->pool));
	if (!sp->stacks || !sp->pool || index_init(&ix, pcs))
		goto fail;
	for (size_t i = 0; i < p->nr_stacks; i++) {
		const struct up_stack *st = p->stacks[i];
		struct up_sym_stack *out = &sp->stacks[sp->nr_stacks++];
		uint32_t *locs = sp->pool + used;

		out->vcpu = st->vcpu;
		out->depth = st->depth;
		out->count = st->count;
		out->locs = locs;
		used += st->depth;
		sp->total += st->count;
		if (!st->depth) {
			/* An [other] bucket: one frame, "[other]". */
			if (other == UINT32_MAX && other_location(sp, &cap_locs, &other))
				goto fail;
			out->depth = 1;
			locs[0] = other;
			used++;
			sp->other += st->count;
			continue;
		}
		for (uint32_t d = 0; d < st->depth; d++) {
			int is_return = up_pc_is_return(st->exact, d), found;
			uint32_t *slot = index_slot(&ix, ((st->pcs[d] << 1) | (uint64_t)is_return) + 1,
						    &found);
			struct up_location *loc;

			if (found) {
				locs[d] = *slot;
				continue;
			}
			if (sp->nr_locs == cap_locs) {
				size_t ncap = cap_locs ? cap_locs * 2 : 256;
				struct up_location *n = realloc(sp->locs, ncap * sizeof(*n));

				if (!n)
					goto fail;
				sp->locs = n;
				cap_locs = ncap;
			}
			loc = &sp->locs[sp->nr_locs];
			loc->addr = st->pcs[d];
			loc->is_return = is_return;
			loc->file = up_symbolizer_file_of(s, st->pcs[d] - (is_return && st->pcs[d]));
			loc->nr_frames = up_symbolizer_frames(s, st->pcs[d], is_return, &loc->frames);
			if (!loc->nr_frames)
				goto fail;
			*slot = locs[d] = (uint32_t)sp->nr_locs++;
		}
	}
	err = NULL;
fail:
	free(ix.keys);
	free(ix.values);
	if (err)
		up_symprofile_deinit(sp);
	return err;
}

void up_symprofile_deinit(struct up_symprofile *sp)
{
	free(sp->locs);
	free(sp->stacks);
	free(sp->pool);
	memset(sp, 0, sizeof(*sp));
}
