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

static uint64_t hash_stack(uint32_t vcpu, const uint64_t *pcs, uint32_t depth, uint64_t exact)
{
	uint64_t h = mix((((uint64_t)vcpu << 32) | depth) ^ mix(exact));

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

static struct up_stack *find_stack(const struct up_profile *p, uint64_t h, uint32_t vcpu,
				   const uint64_t *pcs, uint32_t depth, uint64_t exact)
{
	if (!p->nr_buckets)
		return NULL;
	for (struct up_stack *s = p->buckets[h & (p->nr_buckets - 1)]; s; s = s->next) {
		if (s->hash == h && s->vcpu == vcpu && s->depth == depth && s->exact == exact &&
		    !memcmp(s->pcs, pcs, depth * sizeof(*pcs)))
			return s;
	}
	return NULL;
}

struct up_error *up_profile_add(struct up_profile *p, uint32_t vcpu, const uint64_t *pcs,
				uint32_t depth, uint64_t exact, uint64_t count)
{
	struct up_stack *s;
	uint64_t h;
	struct up_error *err;

	if (depth < 64)
		exact &= (1ULL << depth) - 1;
	exact &= ~1ULL;  /* the leaf is always exact: one stack either way */
	h = hash_stack(vcpu, pcs, depth, exact);
	s = find_stack(p, h, vcpu, pcs, depth, exact);
	if (s) {
		s->count += count;
		p->total += count;
		return NULL;
	}
	if (depth && p->nr_stacks - p->nr_other_buckets >= p->max_stacks) {
		/* Full: the vCPU's [other] bucket, the stack of depth 0, counts it. */
		err = up_profile_add(p, vcpu, pcs, 0, 0, count);
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
	s->vcpu = vcpu;
	s->depth = depth;
	s->exact = exact;
	memcpy(s->pcs, pcs, depth * sizeof(*pcs));
	s->next = p->buckets[h & (p->nr_buckets - 1)];
	p->buckets[h & (p->nr_buckets - 1)] = s;
	p->stacks[p->nr_stacks++] = s;
	p->nr_other_buckets += !depth;
	p->total += count;
	return NULL;
}
