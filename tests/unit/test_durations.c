/* The pause and walk durations kept for percentiles, in bounded memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../util/durations.h"

static void exact_for_short_runs(void **state)
{
	struct up_durations d;
	double median = -1, p99 = -1, max = -1;

	(void)state;
	up_durations_init(&d, 1);
	up_durations_summary(&d, &median, &p99, &max);
	assert_true(median == -1 && p99 == -1 && max == -1);
	/* 1000 .. 200000 ns in steps of 1000, added in a scrambled order. */
	for (uint64_t i = 0; i < 200; i++)
		up_durations_add(&d, ((i * 77) % 200 + 1) * 1000);
	up_durations_summary(&d, &median, &p99, &max);
	assert_true(median == 100.5);
	assert_true(p99 == 198);
	assert_true(max == 200);
	up_durations_deinit(&d);

	up_durations_init(&d, 1);
	for (uint64_t i = 1; i <= 3; i++)
		up_durations_add(&d, i * 2000);
	up_durations_add(&d, (uint64_t)1 << 40);  /* capped, not wrapped */
	up_durations_add(&d, 1000);
	up_durations_summary(&d, &median, &p99, &max);
	assert_true(median == 4);
	assert_true(max == UINT32_MAX / 1e3);
	up_durations_deinit(&d);
}

static void bounded_beyond(void **state)
{
	const uint64_t n = 20 * UP_DURATIONS_KEPT;
	struct up_durations d;
	double median, p99, max;

	(void)state;
	up_durations_init(&d, 12345);
	/* A uniform spread 0 .. n-1 us, added in a scrambled order (n is a power of two). */
	for (uint64_t i = 0; i < n; i++)
		up_durations_add(&d, ((i * 40503) % n) * 1000);
	assert_int_equal(d.seen, n);
	assert_true(d.nr <= UP_DURATIONS_KEPT);
	assert_true(d.cap <= UP_DURATIONS_KEPT);
	up_durations_summary(&d, &median, &p99, &max);
	assert_true(max == (n - 1));
	/* Estimates from the reservoir: within 2% of the range of the true values. */
	assert_true(median > 0.48 * n && median < 0.52 * n);
	assert_true(p99 > 0.97 * n && p99 < 1.0 * n);
	up_durations_deinit(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_for_short_runs),
		cmocka_unit_test(bounded_beyond),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
