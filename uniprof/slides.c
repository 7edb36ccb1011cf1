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

/* One pause: note every vCPU's pc and link register. */
static struct up_error *collect(struct up_target *t, uint64_t *pcs, size_t *nr, size_t cap)
{
	unsigned int n = t->ops->nr_vcpus(t);
	struct up_error *err = up_target_pause(t), *rerr;

	for (unsigned int i = 0; !err && i < n; i++) {
		struct up_regs regs;

		err = t->ops->get_regs(t, i, &regs);
		if (!err && *nr < cap)
			pcs[(*nr)++] = regs.pc;
		if (!err && regs.lr && *nr < cap)
			pcs[(*nr)++] = regs.lr;
	}
	rerr = up_target_resume(t);
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
	size_t cap = PROBE_PAUSES * 2 * t->ops->nr_vcpus(t), nr = 0;
	uint64_t *pcs;
	struct up_error *err = NULL, *rerr;
	double t0;

	*ret_pause_us = 0;
	if (!any_unknown(s))
		return NULL;
	pcs = calloc(cap, sizeof(*pcs));
	if (!pcs)
		return &up_error_nomem;
	for (int i = 0; i < PROBE_PAUSES && !err; i++) {
		struct timespec gap = { 0, PROBE_GAP_NS };

		err = collect(t, pcs, &nr, cap);
		nanosleep(&gap, NULL);
	}
	if (!err) {
		probe.pcs = pcs;
		probe.nr_pcs = nr;
		t0 = now_us();
		err = up_target_pause(t);
		if (!err)
			err = up_symbolizer_find_slides(s, &probe);
		rerr = up_target_resume(t);
		*ret_pause_us = now_us() - t0;
		if (!err)
			err = rerr;
		else
			up_error_destroy(rerr);
	}
	free(pcs);
	return err;
}
