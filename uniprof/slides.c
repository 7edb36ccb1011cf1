#include <stdlib.h>
#include <time.h>

#include "../symbolize/slide.h"
#include "../util/durations.h"
#include "slides.h"

/* Pauses to collect code addresses from, a little apart, before the search. */
#define PROBE_PAUSES 8
#define PROBE_GAP_NS 5000000L
#define MAX_READS 20000
/* Pauses the search is made in, at most, before a file nothing confirmed is refused. */
#define SEARCH_PAUSES 3
#define SEARCH_GAP_NS 20000000L

static int any_unknown(const struct up_symbolizer *s)
{
	for (size_t i = 0; i < s->nr_files; i++) {
		if (s->files[i]->slide_state == UP_SLIDE_UNKNOWN)
			return 1;
	}
	return 0;
}

/* What the pauses before the search saw: code addresses and exception vector bases. */
struct seen {
	uint64_t *pcs, *bases;
	size_t nr_pcs, nr_bases, cap;
};

static void add_base(struct seen *seen, uint64_t base)
{
	for (size_t i = 0; i < seen->nr_bases; i++)
		if (seen->bases[i] == base)
			return;
	if (seen->nr_bases < seen->cap)
		seen->bases[seen->nr_bases++] = base;
}

/* One pause: note every vCPU's pc, link register and vector base. */
static struct up_error *collect(struct up_target *t, struct seen *seen)
{
	unsigned int n = t->ops->nr_vcpus(t);
	const struct up_arch *arch = t->ops->arch(t);
	struct up_error *err = up_target_pause(t), *rerr;

	for (unsigned int i = 0; !err && i < n; i++) {
		struct up_regs regs;

		err = t->ops->get_regs(t, i, &regs);
		if (!err && seen->nr_pcs < seen->cap)
			seen->pcs[seen->nr_pcs++] = regs.pc;
		if (!err && regs.lr && seen->nr_pcs < seen->cap)
			seen->pcs[seen->nr_pcs++] = regs.lr;
		if (!err && arch->vector_base && arch->vector_base(&regs))
			add_base(seen, arch->vector_base(&regs));
	}
	rerr = up_target_resume(t);
	if (err) {
		up_error_destroy(rerr);
		return err;
	}
	return rerr;
}

/*
 * Guest reads through each vCPU's view in turn, from the one that answered last: a vCPU running
 * user code may map no kernel at all (KPTI on arm64 and x86_64).
 */
struct views {
	struct up_memory *mem;
	unsigned int nr, last;
};

static struct up_error *read_any_vcpu(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct views *v = ctx;
	struct up_error *err = NULL;

	for (unsigned int k = 0; k < v->nr; k++) {
		struct up_vcpu_memory view = { .memory = v->mem, .vcpu = (v->last + k) % v->nr };

		up_error_destroy(err);
		err = up_vcpu_memory_read(&view, addr, buf, len);
		if (!err)
			v->last = view.vcpu;
		if (!err || err->code != UP_ERR_FAULT)
			return err;
	}
	return err;
}

/*
 * Pause for the search, at a moment when some vCPU runs in kernel mode (a user-mode vCPU may
 * map no kernel: KPTI), if one comes within PROBE_PAUSES tries; *ret_t0 is when the pause kept
 * began.  The same test as up_target_kernel_vcpu.  On failure the caller still resumes.
 */
static struct up_error *pause_in_kernel(struct up_target *t, double *ret_t0)
{
	unsigned int n = t->ops->nr_vcpus(t);

	for (int i = 0;; i++) {
		struct timespec gap = { 0, PROBE_GAP_NS };
		struct up_error *err;

		*ret_t0 = up_now_us();
		err = up_target_pause(t);

		if (err || i == PROBE_PAUSES - 1)
			return err;
		for (unsigned int v = 0; v < n; v++) {
			struct up_regs regs;

			err = t->ops->get_regs(t, v, &regs);
			if (err || !regs.user)
				return err;
		}
		err = up_target_resume(t);
		if (err)
			return err;
		nanosleep(&gap, NULL);
	}
}

/*
 * One search, in a pause of its own at a moment some vCPU runs in kernel mode; *longest_us is
 * the longest such pause so far.
 */
static struct up_error *search_once(struct up_target *t, struct up_symbolizer *s,
				    struct up_slide_probe *probe, double *longest_us)
{
	struct up_error *err, *rerr;
	double t0, pause_us;

	err = pause_in_kernel(t, &t0);
	if (!err)
		err = up_symbolizer_find_slides(s, probe);
	rerr = up_target_resume(t);
	pause_us = up_now_us() - t0;
	if (pause_us > *longest_us)
		*longest_us = pause_us;
	if (!err)
		return rerr;
	up_error_destroy(rerr);
	return err;
}

struct up_error *find_slides(struct up_target *t, struct up_memory *mem, struct up_symbolizer *s,
			     double *ret_pause_us)
{
	struct views views = { .mem = mem, .nr = t->ops->nr_vcpus(t) };
	struct up_slide_probe probe = {
		.read = read_any_vcpu, .ctx = &views, .max_reads = MAX_READS,
	};
	struct seen seen = { .cap = PROBE_PAUSES * 2 * t->ops->nr_vcpus(t) };
	struct up_error *err = NULL;

	*ret_pause_us = 0;
	if (!any_unknown(s))
		return NULL;
	seen.pcs = calloc(seen.cap, sizeof(*seen.pcs));
	seen.bases = calloc(seen.cap, sizeof(*seen.bases));
	if (!seen.pcs || !seen.bases) {
		free(seen.pcs);
		free(seen.bases);
		return &up_error_nomem;
	}
	for (int i = 0; i < PROBE_PAUSES && !err; i++) {
		struct timespec gap = { 0, PROBE_GAP_NS };

		err = collect(t, &seen);
		nanosleep(&gap, NULL);
	}
	probe.pcs = seen.pcs;
	probe.nr_pcs = seen.nr_pcs;
	probe.vector_bases = seen.bases;
	probe.nr_vector_bases = seen.nr_bases;
	/* A file nothing confirmed in one pause is searched again in the next, and refused
	 * after the last. */
	for (int i = 0; i < SEARCH_PAUSES && !err && any_unknown(s); i++) {
		struct timespec gap = { 0, SEARCH_GAP_NS };

		if (i)
			nanosleep(&gap, NULL);
		probe.pauses = i + 1;
		probe.retry_later = i < SEARCH_PAUSES - 1;
		err = search_once(t, s, &probe, ret_pause_us);
	}
	free(seen.pcs);
	free(seen.bases);
	return err;
}
