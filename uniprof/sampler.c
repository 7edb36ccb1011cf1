#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../util/durations.h"
#include "sampler.h"

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* The stacks of one sample, walked while the target is paused. */
struct sample {
	unsigned int nr_vcpus;
	unsigned int max_depth;
	uint64_t *pcs;            /* nr_vcpus rows of max_depth */
	struct up_walk *walks;
	struct up_regs *regs;
	int *stale;               /* per vCPU: not run since the previous sample, not walked */
	uint64_t walk_ns;         /* time spent in walks so far */
	uint64_t *vcpu_walk_ns;   /* per vCPU: its walk in this sample */
	uint64_t resume_at;       /* when resume was requested */
};

static struct up_error *take_sample(struct up_target *t, struct up_memory *mem,
				    const struct sampler_options *opts, struct sample *s)
{
	const struct up_arch *arch = t->ops->arch(t);
	struct up_error *err, *rerr;
	unsigned int i;

	err = t->ops->pause(t);
	for (i = 0; !err && i < s->nr_vcpus; i++) {
		s->stale[i] = 0;
		if (t->ops->vcpu_stale)
			err = t->ops->vcpu_stale(t, i, &s->stale[i]);
	}
	/* Registers of every vCPU first, then the walks: 'g' is what syncs QEMU's vCPU state. */
	for (i = 0; !err && i < s->nr_vcpus; i++)
		if (!s->stale[i])
			err = t->ops->get_regs(t, i, &s->regs[i]);
	for (i = 0; !err && i < s->nr_vcpus; i++) {
		struct up_vcpu_memory view = { .memory = mem, .vcpu = i };
		struct up_unwind_env env = opts->unwind;
		const struct up_unwinder *unwinder = opts->unwinder ? opts->unwinder : &up_unwinder_fp;
		uint64_t t0;

		if (s->stale[i])
			continue;
		env.walk.read = up_vcpu_memory_read;
		env.walk.read_ctx = &view;
		env.arch = arch;
		/* A fault ends a walk; any other failure ends the run. */
		t0 = now_ns();
		err = unwinder->walk(&env, &s->regs[i], s->pcs + (size_t)i * s->max_depth,
				     s->max_depth, &s->walks[i]);
		s->vcpu_walk_ns[i] = now_ns() - t0;
		s->walk_ns += s->vcpu_walk_ns[i];
	}
	/* Resume whatever happened above. */
	s->resume_at = now_ns();
	rerr = t->ops->resume(t);
	if (err) {
		up_error_destroy(rerr);
		return err;
	}
	return rerr;
}

/* A uniformly random number below n (xorshift64*; statistics only, not security). */
static uint64_t random_below(uint64_t *state, uint64_t n)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return n ? (x * 0x2545f4914f6cdd1dULL) % n : 0;
}

/* Sleep until the absolute monotonic time deadline; returns early when a signal arrives. */
static void sleep_until(uint64_t deadline)
{
	struct timespec ts = {
		.tv_sec = deadline / 1000000000ull,
		.tv_nsec = deadline % 1000000000ull,
	};

	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

struct up_error *sampler_run(struct up_target *t, struct up_memory *mem,
			     const struct sampler_options *opts, struct up_profile *profile,
			     struct sampler_stats *stats)
{
	uint64_t period = (uint64_t)(1e9 / opts->frequency);
	uint64_t start, next, slot, end = 0, now, first = 0, last = 0, seed, report_at = 0;
	struct up_durations durations, held, walks;
	struct sample s = { 0 };
	struct up_error *err = NULL;

	memset(stats, 0, sizeof(*stats));
	start = slot = now_ns();
	seed = start | 1;
	up_durations_init(&durations, seed);
	up_durations_init(&held, seed + 1);
	up_durations_init(&walks, seed + 2);
	next = slot + random_below(&seed, period);
	if (!period)
		period = 1;
	s.nr_vcpus = t->ops->nr_vcpus(t);
	s.max_depth = opts->max_depth;
	s.pcs = calloc((size_t)s.nr_vcpus * s.max_depth, sizeof(*s.pcs));
	s.walks = calloc(s.nr_vcpus, sizeof(*s.walks));
	s.regs = calloc(s.nr_vcpus, sizeof(*s.regs));
	s.stale = calloc(s.nr_vcpus, sizeof(*s.stale));
	s.vcpu_walk_ns = calloc(s.nr_vcpus, sizeof(*s.vcpu_walk_ns));
	if (!s.pcs || !s.walks || !s.regs || !s.stale || !s.vcpu_walk_ns) {
		err = &up_error_nomem;
		goto out;
	}
	if (opts->duration > 0)
		end = start + (uint64_t)(opts->duration * 1e9);
	while (!*opts->stop) {
		uint64_t t0, t1, wall;

		if (opts->samples && stats->samples >= opts->samples)
			break;
		now = now_ns();
		if (end && now >= end)
			break;
		if (now < next) {
			sleep_until(next);
			continue;  /* re-check the stop flag and the clock */
		}
		t0 = now_ns();
		if (!stats->samples)
			first = t0;
		last = t0;
		wall = opts->record ? clock_ns(CLOCK_REALTIME) : 0;
		err = take_sample(t, mem, opts, &s);
		t1 = now_ns();
		if (!err && t->ops->poll)
			err = t->ops->poll(t);
		if (err)
			break;
		up_durations_add(&held, s.resume_at - t0);
		up_durations_add(&durations, t1 - t0);
		stats->samples++;
		for (unsigned int i = 0; i < s.nr_vcpus; i++) {
			if (s.stale[i]) {
				stats->stale++;
				continue;
			}
			stats->stacks++;
			up_durations_add(&walks, s.vcpu_walk_ns[i]);
			stats->truncated += up_walk_truncated(&s.walks[i]);
			stats->stops[s.walks[i].stop]++;
			stats->near_leaf += up_walk_truncated(&s.walks[i]) && s.walks[i].depth <= 2;
			stats->frames += s.walks[i].depth;
			stats->switched += s.walks[i].switches > 0;
			stats->fixups[s.walks[i].fixup]++;
			err = up_profile_add(profile, i, s.pcs + (size_t)i * s.max_depth,
					     s.walks[i].depth, s.walks[i].exact, 1);
			if (!err && opts->record)
				err = opts->record(opts->record_ctx, wall, i,
						   s.pcs + (size_t)i * s.max_depth,
						   (uint32_t)s.walks[i].depth, s.walks[i].exact,
						   up_walk_truncated(&s.walks[i]));
			if (err)
				goto out;
		}
		if (opts->record_flush) {
			err = opts->record_flush(opts->record_ctx);
			if (err)
				break;
		}
		if (opts->progress && t1 >= report_at) {
			if (report_at)
				opts->progress(opts->progress_ctx, stats, (t1 - start) / 1e9);
			report_at = t1 + opts->progress_ns;
		}
		if (opts->should_stop && opts->should_stop(opts->should_stop_ctx))
			break;
		/*
		 * Keep the schedule; when we fall behind, skip the lost slots instead of bursting.
		 * Each sample lands at a random point of its slot, so a guest that works in rounds
		 * of the sampling period cannot fall into step with it.
		 */
		slot += period;
		now = now_ns();
		if (slot + period < now) {
			uint64_t behind = (now - slot) / period;

			stats->missed += behind;
			slot += behind * period;
		}
		next = slot + random_below(&seed, period);
	}
out:
	stats->walk_ns = s.walk_ns;
	stats->elapsed = (now_ns() - start) / 1e9;
	if (stats->samples > 1 && last > first)
		stats->rate = (stats->samples - 1) / ((last - first) / 1e9);
	up_durations_summary(&durations, &stats->pause_median_us, &stats->pause_p99_us,
			  &stats->pause_max_us);
	up_durations_summary(&held, &stats->held_median_us, &stats->held_p99_us, &stats->held_max_us);
	{
		double walk_max_us;

		up_durations_summary(&walks, &stats->walk_median_us, &stats->walk_p99_us, &walk_max_us);
	}
	up_durations_deinit(&durations);
	up_durations_deinit(&held);
	up_durations_deinit(&walks);
	free(s.pcs);
	free(s.walks);
	free(s.regs);
	free(s.stale);
	free(s.vcpu_walk_ns);
	return err;
}
