/* The Xen backend's mapped-frame cache, over fake map/unmap callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../backends/xen/mapcache.h"

#define NR_FRAMES 256

/* Guest memory, and which of its frames are mapped now. */
struct fake {
	uint8_t *mem;                /* NR_FRAMES frames */
	int mapped[NR_FRAMES];       /* live mappings of each frame */
	unsigned int maps, unmaps;
	uint64_t fail_frame;         /* map of this frame fails ... */
	enum up_error_code fail_code; /* ... with this code (0: never fails) */
};

static struct up_error *fake_map(void *ctx, uint64_t frame, void **ret)
{
	struct fake *f = ctx;

	if (f->fail_code && frame == f->fail_frame)
		return up_error_create(f->fail_code, "frame 0x%llx cannot be mapped",
				       (unsigned long long)frame);
	if (frame >= NR_FRAMES)
		return up_error_fault(frame << XEN_FRAME_SHIFT, "no such frame");
	f->mapped[frame]++;
	f->maps++;
	/* A live view, as a foreign mapping is: later writes to mem show through it. */
	*ret = f->mem + frame * XEN_FRAME_SIZE;
	return NULL;
}

static void fake_unmap(void *ctx, void *addr)
{
	struct fake *f = ctx;
	size_t frame = ((uint8_t *)addr - f->mem) / XEN_FRAME_SIZE;

	assert_true(frame < NR_FRAMES);
	assert_true(f->mapped[frame] > 0);
	f->mapped[frame]--;
	f->unmaps++;
}

static int fake_setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->mem = malloc((size_t)NR_FRAMES * XEN_FRAME_SIZE);
	assert_non_null(f->mem);
	for (size_t i = 0; i < NR_FRAMES; i++)
		memset(f->mem + i * XEN_FRAME_SIZE, (int)(i & 0xff), XEN_FRAME_SIZE);
	*state = f;
	return 0;
}

static int fake_teardown(void **state)
{
	struct fake *f = *state;

	free(f->mem);
	free(f);
	return 0;
}

static unsigned int live(const struct fake *f)
{
	unsigned int n = 0;

	for (size_t i = 0; i < NR_FRAMES; i++)
		n += f->mapped[i];
	return n;
}

static const uint8_t *get(struct xen_mapcache *c, uint64_t frame)
{
	const void *p = NULL;

	assert_null(xen_mapcache_get(c, frame, &p));
	assert_non_null(p);
	return p;
}

static void hit_after_miss(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c;
	struct xen_mapcache_stats st;

	assert_null(xen_mapcache_create(16, fake_map, fake_unmap, f, &c));
	assert_int_equal(get(c, 7)[100], 7);
	assert_int_equal(get(c, 7)[4095], 7);
	assert_int_equal(get(c, 9)[0], 9);
	assert_int_equal(get(c, 7)[0], 7);
	xen_mapcache_stats(c, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 2);
	assert_int_equal(f->maps, 2);
	assert_int_equal(xen_mapcache_size(c), 2);
	xen_mapcache_destroy(c);
	assert_int_equal(live(f), 0);
}

/* What the guest writes into a cached frame (a page-table entry, a stack slot) shows at once. */
static void cached_frames_are_live(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c;

	assert_null(xen_mapcache_create(16, fake_map, fake_unmap, f, &c));
	assert_int_equal(get(c, 3)[8], 3);
	f->mem[3 * XEN_FRAME_SIZE + 8] = 0xab;
	assert_int_equal(get(c, 3)[8], 0xab);
	assert_int_equal(f->maps, 1);
	xen_mapcache_destroy(c);
}

static void bounded(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c;
	struct xen_mapcache_stats st;

	assert_null(xen_mapcache_create(8, fake_map, fake_unmap, f, &c));
	for (uint64_t i = 0; i < 3 * NR_FRAMES; i++) {
		uint64_t frame = (i * 37) % NR_FRAMES;

		assert_int_equal(get(c, frame)[1], frame & 0xff);
		assert_true(xen_mapcache_size(c) <= 8);
		assert_int_equal(live(f), xen_mapcache_size(c));
	}
	xen_mapcache_stats(c, &st);
	assert_int_equal(st.hits + st.misses, 3 * NR_FRAMES);
	assert_int_equal(st.misses - st.evictions, xen_mapcache_size(c));
	assert_int_equal(f->maps - f->unmaps, xen_mapcache_size(c));
	xen_mapcache_destroy(c);
	assert_int_equal(live(f), 0);
}

/* Capacity 4 is one set: the least recently used frame goes first. */
static void evicts_least_recently_used(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c;

	assert_null(xen_mapcache_create(4, fake_map, fake_unmap, f, &c));
	get(c, 10), get(c, 11), get(c, 12), get(c, 13);
	get(c, 10);                      /* 11 is now the oldest */
	get(c, 14);
	assert_int_equal(f->mapped[11], 0);
	assert_int_equal(f->mapped[10], 1);
	assert_int_equal(f->maps, 5);
	get(c, 10), get(c, 12), get(c, 13), get(c, 14);
	assert_int_equal(f->maps, 5);
	get(c, 11);
	assert_int_equal(f->maps, 6);
	assert_int_equal(f->mapped[10], 0);  /* the oldest after the hits above */
	xen_mapcache_destroy(c);
	assert_int_equal(live(f), 0);
}

static void failed_map_caches_nothing(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c;
	struct xen_mapcache_stats st;
	struct up_error *err;
	const void *p = NULL;

	assert_null(xen_mapcache_create(16, fake_map, fake_unmap, f, &c));
	f->fail_frame = 5;
	f->fail_code = UP_ERR_FAULT;
	err = xen_mapcache_get(c, 5, &p);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_FAULT);
	assert_null(p);
	up_error_destroy(err);
	/* Anything else, a lost domain say, comes back as it is. */
	f->fail_code = UP_ERR_LOST;
	err = xen_mapcache_get(c, 5, &p);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	/* A frame that comes back (ballooned in again) is mapped on the next try. */
	f->fail_code = 0;
	assert_int_equal(get(c, 5)[0], 5);
	xen_mapcache_stats(c, &st);
	assert_int_equal(st.failures, 2);
	assert_int_equal(st.misses, 1);
	assert_int_equal(xen_mapcache_size(c), 1);
	xen_mapcache_destroy(c);
	assert_int_equal(live(f), 0);
}

static void flush_unmaps_everything(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c;

	assert_null(xen_mapcache_create(64, fake_map, fake_unmap, f, &c));
	for (uint64_t i = 0; i < 40; i++)
		get(c, i);
	assert_int_equal(live(f), xen_mapcache_size(c));
	xen_mapcache_flush(c);
	assert_int_equal(live(f), 0);
	assert_int_equal(xen_mapcache_size(c), 0);
	/* Usable again after a flush; the frame is mapped afresh. */
	assert_int_equal(get(c, 1)[0], 1);
	assert_int_equal(live(f), 1);
	xen_mapcache_destroy(c);
	assert_int_equal(live(f), 0);
	xen_mapcache_destroy(NULL);
}

static void bad_capacity(void **state)
{
	struct fake *f = *state;
	struct xen_mapcache *c = NULL;
	struct up_error *err;

	err = xen_mapcache_create(0, fake_map, fake_unmap, f, &c);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	assert_null(c);
	up_error_destroy(err);
	err = xen_mapcache_create((size_t)1 << 40, fake_map, fake_unmap, f, &c);
	assert_non_null(err);
	assert_null(c);
	up_error_destroy(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(hit_after_miss, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(cached_frames_are_live, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(bounded, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(evicts_least_recently_used, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(failed_map_caches_nothing, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(flush_unmaps_everything, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(bad_capacity, fake_setup, fake_teardown),
	};

	return cmocka_run_group_tests_name("xen mapping cache", tests, NULL, NULL);
}
