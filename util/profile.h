/*
 * The profile being collected: distinct raw stacks (vCPU + addresses) with sample counts.
 *
 * Only addresses are kept while sampling; naming happens once, at the end.  Adding a stack is a
 * hash lookup and, for a new stack, one allocation.
 */
#ifndef UP_UTIL_PROFILE_H
#define UP_UTIL_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct up_stack {
	struct up_stack *next;  /* hash chain */
	uint64_t hash;
	uint64_t count;
	uint32_t vcpu;
	uint32_t depth;
	uint64_t exact;         /* which pcs are exact, not return addresses (struct up_walk) */
	uint64_t pcs[];         /* leaf first, as the walker stores them */
};

/*
 * Whether pcs[i] of a stack whose exact pcs are the bits of exact (struct up_walk.exact) is a
 * return address, named by the call before it, rather than an exact pc, named as is.
 */
static inline int up_pc_is_return(uint64_t exact, size_t i)
{
	return i > 0 && (i >= 64 || !(exact >> i & 1));
}

/* What was sampled, and how: every writer may show it; a raw recording keeps it. */
struct up_profile_meta {
	char target[256];       /* the target as the user named it ("qmp /run/vm.sock", "xen domain 5") */
	char arch[16];          /* "x86_64", "aarch64" */
	uint32_t nr_vcpus;
	double frequency;       /* samples per second asked for */
	uint64_t start_ns;      /* wall-clock time (ns since 1970) when sampling began */
	uint64_t duration_ns;   /* from the start to the end of sampling */
	uint64_t samples;       /* pauses that produced stacks */
	uint64_t truncated;     /* walks that did not reach the outermost frame */
};

/* Distinct stacks kept by default (about 1 KiB each at the deepest). */
#define UP_PROFILE_DEFAULT_MAX_STACKS 1000000

struct up_profile {
	struct up_profile_meta meta;
	struct up_stack **buckets;
	size_t nr_buckets;
	/*
	 * Every distinct stack, in order of first appearance.  A stack of depth 0 is the "[other]"
	 * bucket of its vCPU: it counts the samples whose stack was new once max_stacks distinct
	 * stacks were kept.  There is at most one per vCPU, beyond max_stacks.
	 */
	struct up_stack **stacks;
	size_t nr_stacks, cap_stacks;
	size_t max_stacks;         /* distinct stacks kept at most (not counting [other] buckets) */
	size_t nr_other_buckets;
	uint64_t total;            /* samples added, counts summed */
	uint64_t other;            /* samples counted in [other] buckets */
};

/* An empty profile that keeps up to UP_PROFILE_DEFAULT_MAX_STACKS stacks; change max_stacks
 * (at least 1) before the first add for another cap. */
void up_profile_init(struct up_profile *p);
void up_profile_deinit(struct up_profile *p);

/*
 * Count count more occurrences of the stack pcs[0..depth) on vCPU vcpu, whose exact pcs are
 * the bits of exact (see struct up_walk.exact; the same addresses with other bits are another
 * stack).  depth >= 1.  A new stack met when max_stacks stacks are kept already is counted in
 * vcpu's [other] bucket instead.
 */
struct up_error *up_profile_add(struct up_profile *p, uint32_t vcpu, const uint64_t *pcs,
				uint32_t depth, uint64_t exact, uint64_t count);

#endif
