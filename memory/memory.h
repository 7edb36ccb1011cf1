/*
 * Guest memory: one reader of guest virtual memory for every backend, the sampler's walks and
 * the slide search.
 *
 * An up_memory sits on a target's memory source (memory/source.h).  Over a physical source it
 * translates each virtual address with the guest architecture's page walker (arch/) and the
 * vCPU's paging registers, then reads the physical bytes; over a virtual source it hands the
 * read to the peer.  Both keep, for the length of one pause only, the translations made and
 * (for sources whose reads are costly) the blocks read: the guest changes its page tables and
 * stacks while it runs, so nothing survives a resume.  The pause is told by the target's
 * pause count (struct up_target), so no caller has to invalidate anything.
 *
 * Errors follow one contract.  UP_ERR_FAULT: the range cannot be read (not mapped, not RAM);
 * it ends a walk and nothing else, and callers that expect it catch it with up_error_catch().
 * Anything else (UP_ERR_LOST when QEMU exits or the domain is destroyed) means the target is
 * in trouble and ends the run.
 */
#ifndef UP_MEMORY_MEMORY_H
#define UP_MEMORY_MEMORY_H

#include <stddef.h>
#include <stdint.h>

#include "../backends/target.h"

struct up_memory;

/* Counts for -vv, since creation. */
struct up_memory_stats {
	uint64_t reads;          /* up_memory_read calls */
	uint64_t translations;   /* page walks made (physical sources) */
	uint64_t tlb_hits;       /* translations found in the pause's cache */
	uint64_t block_hits;     /* block reads served from the pause's cache */
	uint64_t source_reads;   /* reads sent to the backend's source */
	uint64_t faults;         /* reads that ended in UP_ERR_FAULT */
};

/*
 * A reader of t's memory, over what t->ops->memory() offers.  t must outlive it.  Fails only
 * for lack of memory or a backend whose source breaks the rules of memory/source.h.
 */
struct up_error *up_memory_create(struct up_target *t, struct up_memory **ret);

/* Free m; NULL is a no-op. */
void up_memory_destroy(struct up_memory *m);

/*
 * Read len bytes of guest virtual memory at addr as vCPU vcpu sees it (its page tables, its
 * paging mode); only while the target is paused.  On failure buf may be partly written.
 */
struct up_error *up_memory_read(struct up_memory *m, unsigned int vcpu, uint64_t addr,
				void *buf, size_t len);

/*
 * Translate addr for vCPU vcpu, as up_memory_read does (through the pause's cache); only for
 * physical sources (UP_ERR_UNSUPPORTED otherwise) and only while paused.
 */
struct up_error *up_memory_translate(struct up_memory *m, unsigned int vcpu, uint64_t addr,
				     struct up_translation *ret);

/* How the memory is reached (the source's description). */
const char *up_memory_description(const struct up_memory *m);

void up_memory_stats(const struct up_memory *m, struct up_memory_stats *ret);

/*
 * One vCPU's view of guest memory as an up_read_mem_fn (arch.h), for the walkers and the slide
 * search: ctx is a struct up_vcpu_memory.
 */
struct up_vcpu_memory {
	struct up_memory *memory;
	unsigned int vcpu;
};

struct up_error *up_vcpu_memory_read(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
