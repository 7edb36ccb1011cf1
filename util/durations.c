#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "durations.h"

void up_durations_init(struct up_durations *d, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	d->random = seed | 1;
}

void up_durations_deinit(struct up_durations *d)
{
	free(d->ns);
	memset(d, 0, sizeof(*d));
}

/* A uniformly random number below n (xorshift64*; statistics only). */
static uint64_t random_below(uint64_t *state, uint64_t n)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (x * 0x2545f4914f6cdd1dULL) % n;
}

void up_durations_add(struct up_durations *d, uint64_t ns)
{
	uint32_t v = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
	uint64_t slot;

	d->seen++;
	d->max = v > d->max ? v : d->max;
	if (d->nr < UP_DURATIONS_KEPT) {
		if (d->nr == d->cap) {
			size_t cap = d->cap ? d->cap * 2 : 4096;
			uint32_t *n = realloc(d->ns, cap * sizeof(*n));

			if (!n)
				return;  /* statistics only: losing some is harmless */
			d->ns = n;
			d->cap = cap;
		}
		d->ns[d->nr++] = v;
		return;
	}
	/* The seen-th duration replaces a kept one with probability KEPT / seen. */
	slot = random_below(&d->random, d->seen);
	if (slot < d->nr)
		d->ns[slot] = v;
}

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

void up_durations_summary(struct up_durations *d, double *ret_median_us, double *ret_p99_us,
			  double *ret_max_us)
{
	if (!d->nr)
		return;
	qsort(d->ns, d->nr, sizeof(*d->ns), compare_u32);
	*ret_median_us = d->nr % 2 ? d->ns[d->nr / 2] / 1e3
				   : (d->ns[d->nr / 2 - 1] + (double)d->ns[d->nr / 2]) / 2e3;
	*ret_p99_us = d->ns[(d->nr * 99 + 99) / 100 - 1] / 1e3;
	*ret_max_us = d->max / 1e3;
}

double up_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}
