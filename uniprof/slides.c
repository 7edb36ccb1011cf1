#include <stdlib.h>
#include <time.h>

#include "../symbolize/slide.h"
#include "slides.h"

/* Pauses to collect code addresses from, a little apart, before the search. */
#define PROBE_PAUSES 8
#define PROBE_GAP_NS 5000000L
#define MAX_READS 20000

static int any_unknown(const struct up_symbolizer *s)
{
	for (size_t i = 0; i < s->nr_files; i++) {
		if (s->files[i]->slide_state == UP_SLIDE_UNKNOWN)
			return 1;
	}
	return 0;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
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
	struct up_error *err = t->ops->pause(t), *rerr;

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
	rerr = t->ops->resume(t);
	if (err) {
		up_error_destroy(rerr);
		return err;
	}
	return rerr;
}

struct up_error *find_slides(struct up_target *t, struct up_memory *mem, struct up_symbolizer *s,
			     double *ret_pause_us)
{
	/* The kernel is mapped alike for every vCPU: vCPU 0's view will do. */
	struct up_vcpu_memory view = { .memory = mem, .vcpu = 0 };
	struct up_slide_probe probe = {
		.read = up_vcpu_memory_read, .ctx = &view, .max_reads = MAX_READS,
	};
	struct seen seen = { .cap = PROBE_PAUSES * 2 * t->ops->nr_vcpus(t) };
	struct up_error *err = NULL, *rerr;
	double t0;

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
	if (!err) {
		probe.pcs = seen.pcs;
		probe.nr_pcs = seen.nr_pcs;
		probe.vector_bases = seen.bases;
		probe.nr_vector_bases = seen.nr_bases;
		t0 = now_us();
		err = t->ops->pause(t);
		if (!err)
			err = up_symbolizer_find_slides(s, &probe);
		rerr = t->ops->resume(t);
		*ret_pause_us = now_us() - t0;
		if (!err)
			err = rerr;
		else
			up_error_destroy(rerr);
	}
	free(seen.pcs);
	free(seen.bases);
	return err;
}
