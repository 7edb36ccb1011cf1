#include <stdlib.h>
#include <string.h>

#include "profile.h"

void up_profile_init(struct up_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->max_stacks = UP_PROFILE_DEFAULT_MAX_STACKS;
}

void up_profile_deinit(struct up_profile *p)
{
	for (size_t i = 0; i < p->nr_stacks; i++)
		free(p->stacks[i]);
	free(p->stacks);
	free(p->buckets);
	free(p->tasks);
	free(p->task_index);
	memset(p, 0, sizeof(*p));
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static uint64_t hash_stack(const struct up_stack_key *key, const uint64_t *pcs, uint32_t depth)
{
	uint64_t h = mix((((uint64_t)key->vcpu << 32) | depth) ^ mix(key->exact));

	if (key->task || key->flags)
		h = mix(h ^ ((uint64_t)key->task << 32 | key->flags));

	for (uint32_t i = 0; i < depth; i++)
		h = mix(h ^ pcs[i]) + i;
	return h;
}

static struct up_error *grow_buckets(struct up_profile *p)
{
	size_t n = p->nr_buckets ? p->nr_buckets * 2 : 1024;
	struct up_stack **buckets = calloc(n, sizeof(*buckets));

	if (!buckets)
		return &up_error_nomem;
	for (size_t i = 0; i < p->nr_stacks; i++) {
		struct up_stack *s = p->stacks[i];
		size_t b = s->hash & (n - 1);

		s->next = buckets[b];
		buckets[b] = s;
	}
	free(p->buckets);
	p->buckets = buckets;
	p->nr_buckets = n;
	return NULL;
}

static struct up_stack *find_stack(const struct up_profile *p, uint64_t h,
				   const struct up_stack_key *key, const uint64_t *pcs, uint32_t depth)
{
	if (!p->nr_buckets)
		return NULL;
	for (struct up_stack *s = p->buckets[h & (p->nr_buckets - 1)]; s; s = s->next) {
		if (s->hash == h && s->vcpu == key->vcpu && s->depth == depth &&
		    s->task == key->task && s->flags == key->flags && s->exact == key->exact &&
		    !memcmp(s->pcs, pcs, depth * sizeof(*pcs)))
			return s;
	}
	return NULL;
}

struct up_error *up_profile_add(struct up_profile *p, uint32_t vcpu, const uint64_t *pcs,
				uint32_t depth, uint64_t exact, uint64_t count)
{
	struct up_stack_key key = { .vcpu = vcpu, .exact = exact };

	return up_profile_add_key(p, &key, pcs, depth, count);
}

struct up_error *up_profile_add_key(struct up_profile *p, const struct up_stack_key *in,
				    const uint64_t *pcs, uint32_t depth, uint64_t count)
{
	struct up_stack_key k = *in, *key = &k;
	struct up_stack *s;
	uint64_t h;
	struct up_error *err;

	if (depth < 64)
		k.exact &= (1ULL << depth) - 1;
	k.exact &= ~1ULL;  /* the leaf is always exact: one stack either way */
	h = hash_stack(key, pcs, depth);
	s = find_stack(p, h, key, pcs, depth);
	if (s) {
		s->count += count;
		p->total += count;
		return NULL;
	}
	if (depth && p->nr_stacks - p->nr_other_buckets >= p->max_stacks) {
		/* Full: the vCPU's [other] bucket, the stack of depth 0, counts it. */
		err = up_profile_add(p, key->vcpu, pcs, 0, 0, count);
		if (!err)
			p->other += count;
		return err;
	}
	if (p->nr_stacks == p->cap_stacks) {
		size_t cap = p->cap_stacks ? p->cap_stacks * 2 : 256;
		struct up_stack **stacks = realloc(p->stacks, cap * sizeof(*stacks));

		if (!stacks)
			return &up_error_nomem;
		p->stacks = stacks;
		p->cap_stacks = cap;
	}
	/* Keep the load factor at most one stack per bucket. */
	if (p->nr_stacks >= p->nr_buckets) {
		err = grow_buckets(p);
		if (err)
			return err;
	}
	s = malloc(sizeof(*s) + depth * sizeof(*pcs));
	if (!s)
		return &up_error_nomem;
	s->hash = h;
	s->count = count;
	s->vcpu = key->vcpu;
	s->depth = depth;
	s->task = depth ? key->task : 0;
	s->flags = depth ? key->flags : 0;
	s->exact = key->exact;
	memcpy(s->pcs, pcs, depth * sizeof(*pcs));
	s->next = p->buckets[h & (p->nr_buckets - 1)];
	p->buckets[h & (p->nr_buckets - 1)] = s;
	p->stacks[p->nr_stacks++] = s;
	p->nr_other_buckets += !depth;
	p->total += count;
	return NULL;
}

static uint64_t hash_task(const struct up_task *t)
{
	uint64_t h = mix(((uint64_t)(uint32_t)t->pid << 32) | (uint32_t)t->tgid);

	for (size_t i = 0; i < UP_TASK_COMM_LEN && t->comm[i]; i++)
		h = mix(h ^ (uint8_t)t->comm[i]) + i;
	return h;
}

static int same_task(const struct up_task *a, const struct up_task *b)
{
	return a->pid == b->pid && a->tgid == b->tgid && !strncmp(a->comm, b->comm, UP_TASK_COMM_LEN);
}

static struct up_error *grow_task_index(struct up_profile *p)
{
	size_t n = p->task_index_size ? p->task_index_size * 2 : 64;
	uint32_t *index = calloc(n, sizeof(*index));

	if (!index)
		return &up_error_nomem;
	for (size_t i = 1; i < p->nr_tasks; i++) {
		size_t b = hash_task(&p->tasks[i]) & (n - 1);

		while (index[b])
			b = (b + 1) & (n - 1);
		index[b] = (uint32_t)i;
	}
	free(p->task_index);
	p->task_index = index;
	p->task_index_size = n;
	return NULL;
}

struct up_error *up_profile_task(struct up_profile *p, const struct up_task *task, uint32_t *ret)
{
	struct up_error *err;
	size_t b;

	if (!p->nr_tasks)
		p->nr_tasks = 1;  /* tasks[0]: none */
	/* Keep the index at most half full. */
	if (2 * p->nr_tasks >= p->task_index_size) {
		err = grow_task_index(p);
		if (err)
			return err;
	}
	b = hash_task(task) & (p->task_index_size - 1);
	for (; p->task_index[b]; b = (b + 1) & (p->task_index_size - 1)) {
		if (same_task(&p->tasks[p->task_index[b]], task)) {
			*ret = p->task_index[b];
			return NULL;
		}
	}
	if (p->nr_tasks > UP_PROFILE_MAX_TASKS) {
		*ret = 0;
		return NULL;
	}
	if (p->nr_tasks >= p->cap_tasks) {
		size_t cap = p->cap_tasks ? p->cap_tasks * 2 : 16;
		struct up_task *tasks = realloc(p->tasks, cap * sizeof(*tasks));

		if (!tasks)
			return &up_error_nomem;
		if (!p->cap_tasks)
			memset(&tasks[0], 0, sizeof(tasks[0]));
		p->tasks = tasks;
		p->cap_tasks = cap;
	}
	p->tasks[p->nr_tasks] = *task;
	p->task_index[b] = (uint32_t)p->nr_tasks;
	*ret = (uint32_t)p->nr_tasks++;
	return NULL;
}

void up_task_set_comm(struct up_task *task, const void *comm, size_t n)
{
	const uint8_t *c = comm;
	size_t i;

	for (i = 0; i < n && i < UP_TASK_COMM_LEN - 1 && c[i]; i++)
		/* Printable ASCII; ';' would split a folded stack, so it goes too. */
		task->comm[i] = c[i] >= 0x20 && c[i] < 0x7f && c[i] != ';' ? (char)c[i] : '?';
	memset(task->comm + i, 0, UP_TASK_COMM_LEN - i);
}
