/*
 * The sampling loop: at a fixed rate, pause the target, read every vCPU's registers, walk each
 * stack, resume, and count the stacks.  Only addresses are collected here.
 */
#ifndef UP_UNIPROF_SAMPLER_H
#define UP_UNIPROF_SAMPLER_H

#include <signal.h>
#include <stdint.h>

#include "../backends/target.h"
#include "../memory/memory.h"
#include "../unwind/unwinder.h"
#include "../util/profile.h"

struct sampler_stats {
	uint64_t samples;       /* pauses that produced stacks */
	uint64_t stacks;        /* stacks walked (samples x vCPUs, less the stale ones) */
	uint64_t stale;         /* vCPU states not counted: not run since the previous sample */
	uint64_t truncated;     /* walks that did not reach a recognised root */
	uint64_t stops[UP_WALK_STOP_COUNT];  /* walks by why they stopped */
	uint64_t near_leaf;     /* truncated walks of at most the leaf and its caller */
	uint64_t frames;        /* addresses in all walks */
	uint64_t switched;      /* walks that moved to another stack (interrupt frames) */
	uint64_t walk_ns;       /* time spent walking, guest paused, all walks */
	double walk_median_us;  /* one stack's walk, its memory reads included */
	double walk_p99_us;
	uint64_t missed;        /* sample slots skipped because we fell behind */
	uint64_t fixups[UP_FIXUP_COUNT];  /* how each leaf's caller was found */
	double elapsed;         /* seconds the run took */
	double rate;            /* achieved samples per second, from first to last sample */
	double pause_median_us; /* median time from pause to resume done, per sample */
	double pause_p99_us;
	double pause_max_us;
	double held_median_us;  /* median time from pause to resume requested */
	double held_p99_us;
	double held_max_us;
};

struct sampler_options {
	double frequency;
	double duration;        /* seconds, 0 = no limit */
	uint64_t samples;       /* 0 = no limit */
	unsigned int max_depth;
	volatile sig_atomic_t *stop;  /* set asynchronously to end the run */
	/* Asked after each sample, while the guest runs: nonzero ends the run; may be NULL. */
	int (*should_stop)(void *ctx);
	void *should_stop_ctx;
	/* How stacks are walked; NULL: frame pointers. */
	const struct up_unwinder *unwinder;
	/*
	 * What the unwinder may use besides memory: the code and root oracles, the CFI rules (see
	 * struct up_unwind_env; every member may be NULL).  The guest memory reader and the arch
	 * are filled in per vCPU: walk.read, walk.read_ctx and arch are ignored here.
	 */
	struct up_unwind_env unwind;
	/*
	 * Called after each resume for every stack walked in that pause (time_ns: CLOCK_REALTIME
	 * of the pause, leaf first pcs, exact as struct up_walk.exact), e.g. to record samples as
	 * they come; may be NULL.  An error ends the run.
	 */
	struct up_error *(*record)(void *ctx, uint64_t time_ns, uint32_t vcpu, const uint64_t *pcs,
				   uint32_t depth, uint64_t exact, int truncated);
	/* Called once after each pause's record calls, e.g. to write them out; may be NULL. */
	struct up_error *(*record_flush)(void *ctx);
	void *record_ctx;
	/* Called while the guest runs about every progress_ns with the counts so far; may be NULL. */
	void (*progress)(void *ctx, const struct sampler_stats *so_far, double elapsed);
	void *progress_ctx;
	uint64_t progress_ns;
};


/*
 * Sample t into profile, reading its memory through mem, until the duration or sample count
 * is reached or *stop is set.  Returns an error when the target fails; the profile then holds
 * what was collected before.  The guest is running when this returns, unless the target
 * itself is gone.
 */
struct up_error *sampler_run(struct up_target *t, struct up_memory *mem,
			     const struct sampler_options *opts, struct up_profile *profile,
			     struct sampler_stats *stats);

#endif
