/*
 * Durations kept for a median and a 99th percentile, in bounded memory.
 *
 * The first UP_DURATIONS_KEPT durations are all kept, so the percentiles of a shorter run are
 * exact; beyond, a uniform random sample of that many stands for them all (reservoir
 * sampling, algorithm R) and the percentiles are estimates.  The maximum is always exact.
 */
#ifndef UP_UTIL_DURATIONS_H
#define UP_UTIL_DURATIONS_H

#include <stddef.h>
#include <stdint.h>

#define UP_DURATIONS_KEPT 65536

struct up_durations {
	uint32_t *ns;           /* the kept durations, nanoseconds (capped at UINT32_MAX) */
	size_t nr, cap;
	uint64_t seen;          /* durations added */
	uint32_t max;
	uint64_t random;        /* the reservoir's random state */
};

/* Now, on the monotonic clock, in microseconds: what durations are measured with. */
double up_now_us(void);

/* Caller-owned storage: an empty set.  seed picks which durations a long run keeps. */
void up_durations_init(struct up_durations *d, uint64_t seed);
void up_durations_deinit(struct up_durations *d);

/* Add one duration.  Never fails: when memory runs out, the duration is not kept. */
void up_durations_add(struct up_durations *d, uint64_t ns);

/*
 * The median (the mean of the middle two for an even count), the nearest-rank 99th
 * percentile and the maximum, in microseconds; the ret_ are untouched when nothing was added.
 * Sorts the kept durations: add no more after it.
 */
void up_durations_summary(struct up_durations *d, double *ret_median_us, double *ret_p99_us,
			  double *ret_max_us);

#endif
