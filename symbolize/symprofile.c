#include <inttypes.h>
#include <stdio.h>
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

/* A frame whose name this profile owns. */
struct up_synth_frame {
	struct up_frame frame;
	char name[UP_TASK_NAME_MAX + 32];
};

void up_task_name(const struct up_task *task, enum up_task_frames how, char *buf)
{
	/* The idle tasks are all pid 0, told apart by their comm: swapper/N. */
	if (how == UP_TASK_FRAMES_PID && task->pid)
		snprintf(buf, UP_TASK_NAME_MAX, "%.*s/%" PRId32, UP_TASK_COMM_LEN, task->comm,
			 task->pid);
	else
		snprintf(buf, UP_TASK_NAME_MAX, "%.*s", UP_TASK_COMM_LEN, task->comm);
}

/* Add a location of one frame, no address and no file; frame NULL: a new synthetic frame. */
static int add_location(struct up_symprofile *sp, size_t *cap_locs, const struct up_frame *frame,
			uint64_t addr, uint32_t *ret)
{
	struct up_location *loc;

	if (!frame) {
		struct up_synth_frame *f = calloc(1, sizeof(*f)), **n;

		if (!f)
			return -1;
		n = realloc(sp->synth, (sp->nr_synth + 1) * sizeof(*n));
		if (!n) {
			free(f);
			return -1;
		}
		sp->synth = n;
		sp->synth[sp->nr_synth++] = f;
		f->frame.name = f->name;
		f->frame.known = 1;
		frame = &f->frame;
	}
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
	loc->addr = addr;
	loc->file = -1;
	loc->frames = frame;
	loc->nr_frames = 1;
	*ret = (uint32_t)sp->nr_locs++;
	return 0;
}

/* The name of the synthetic frame add_location made last. */
static char *synth_name(struct up_symprofile *sp)
{
	return sp->synth[sp->nr_synth - 1]->name;
}

static const struct up_frame user_frame = { .name = "[user]", .known = 1 };

/* The location of a user-mode leaf at pc: one "[user]", or one per pc with user_pcs. */
static int user_location(struct up_symprofile *sp, size_t *cap_locs, struct loc_index *uix,
			 const struct up_symprofile_options *opts, uint64_t pc, uint32_t *ret)
{
	int found;
	uint32_t *slot = index_slot(uix, opts->user_pcs ? pc + 1 : 1, &found);

	if (found) {
		*ret = *slot;
		return 0;
	}
	if (add_location(sp, cap_locs, opts->user_pcs ? NULL : &user_frame, pc, ret))
		return -1;
	if (opts->user_pcs)
		snprintf(synth_name(sp), sizeof(sp->synth[0]->name), "[user] 0x%" PRIx64, pc);
	*slot = *ret;
	return 0;
}

/* The location of task i's root frame, made once. */
static int task_location(struct up_symprofile *sp, size_t *cap_locs, uint32_t *task_locs,
			 const struct up_profile *p, const struct up_symprofile_options *opts,
			 uint32_t task, uint32_t *ret)
{
	if (task_locs[task] == UINT32_MAX) {
		if (add_location(sp, cap_locs, NULL, 0, &task_locs[task]))
			return -1;
		up_task_name(&p->tasks[task], opts->tasks, synth_name(sp));
	}
	*ret = task_locs[task];
	return 0;
}

/* Add the location every [other] bucket points to. */
static int other_location(struct up_symprofile *sp, size_t *cap_locs, uint32_t *ret)
{
	return add_location(sp, cap_locs, &other_frame, 0, ret);
}

struct up_error *up_symprofile_build(const struct up_profile *p, struct up_symbolizer *s,
				     struct up_symprofile *sp)
{
	return up_symprofile_build_opts(p, s, NULL, sp);
}

struct up_error *up_symprofile_build_opts(const struct up_profile *p, struct up_symbolizer *s,
					  const struct up_symprofile_options *opts,
					  struct up_symprofile *sp)
{
	static const struct up_symprofile_options none;
	struct loc_index ix = { 0 }, uix = { 0 };
	size_t pcs = 0, used = 0, cap_locs = 0;
	uint32_t other = UINT32_MAX, *task_locs = NULL;
	struct up_error *err = &up_error_nomem;

	memset(sp, 0, sizeof(*sp));
	sp->meta = &p->meta;
	sp->symbolizer = s;
	sp->lines = s->opts.lines;
	sp->inline_frames = s->opts.inline_frames;
	if (!opts)
		opts = &none;
	/* One more for a task's root frame. */
	for (size_t i = 0; i < p->nr_stacks; i++)
		pcs += (p->stacks[i]->depth ? p->stacks[i]->depth : 1) + 1;
	sp->stacks = calloc(p->nr_stacks ? p->nr_stacks : 1, sizeof(*sp->stacks));
	sp->pool = calloc(pcs ? pcs : 1, sizeof(*sp->pool));
	task_locs = malloc((p->nr_tasks ? p->nr_tasks : 1) * sizeof(*task_locs));
	if (!sp->stacks || !sp->pool || !task_locs || index_init(&ix, pcs) ||
	    index_init(&uix, opts->user_pcs ? pcs : 1))
		goto fail;
	memset(task_locs, 0xff, (p->nr_tasks ? p->nr_tasks : 1) * sizeof(*task_locs));
	for (size_t i = 0; i < p->nr_stacks; i++) {
		const struct up_stack *st = p->stacks[i];
		struct up_sym_stack *out = &sp->stacks[sp->nr_stacks++];
		uint32_t *locs = sp->pool + used;

		out->vcpu = st->vcpu;
		out->depth = st->depth;
		out->count = st->count;
		out->locs = locs;
		out->task = st->task && st->task < p->nr_tasks ? &p->tasks[st->task] : NULL;
		out->flags = st->flags;
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
		if (out->task && opts->tasks != UP_TASK_FRAMES_NONE) {
			if (task_location(sp, &cap_locs, task_locs, p, opts, st->task,
					  &locs[st->depth]))
				goto fail;
			out->depth++;
			used++;
		}
		for (uint32_t d = 0; d < st->depth; d++) {
			int is_return = up_pc_is_return(st->exact, d), found;
			uint32_t *slot;
			struct up_location *loc;

			if (st->flags & UP_STACK_USER) {
				/* A user address: no kernel symbol names it. */
				if (user_location(sp, &cap_locs, &uix, opts, st->pcs[d], &locs[d]))
					goto fail;
				continue;
			}
			slot = index_slot(&ix, ((st->pcs[d] << 1) | (uint64_t)is_return) + 1, &found);
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
	free(uix.keys);
	free(uix.values);
	free(task_locs);
	if (err)
		up_symprofile_deinit(sp);
	return err;
}

void up_symprofile_deinit(struct up_symprofile *sp)
{
	for (size_t i = 0; i < sp->nr_synth; i++)
		free(sp->synth[i]);
	free(sp->synth);
	free(sp->locs);
	free(sp->stacks);
	free(sp->pool);
	memset(sp, 0, sizeof(*sp));
}
