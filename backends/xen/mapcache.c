/*
 * The mapped-frame cache: set-associative, XEN_MAPCACHE_WAYS frames per set, least recently
 * used frame of the set evicted.  Sets keep the work per lookup fixed and small (no chains, no
 * rehashing), and a frame needs no deletion bookkeeping beyond its own slot.
 */
#include <stdlib.h>

#include "mapcache.h"

#define XEN_MAPCACHE_WAYS 4
/* Frames (and so mappings) kept at most; far above what a profile's stacks touch. */
#define XEN_MAPCACHE_MAX (1u << 20)

struct slot {
	void *addr;          /* NULL: the slot is empty */
	uint64_t frame;
	uint64_t used;       /* c->clock when last returned */
};

struct xen_mapcache {
	xen_map_frame_fn *map;
	xen_unmap_frame_fn *unmap;
	void *ctx;
	size_t nr_sets;      /* a power of two */
	size_t nr_mapped;
	uint64_t clock;
	struct xen_mapcache_stats stats;
	struct slot slots[];  /* nr_sets * XEN_MAPCACHE_WAYS */
};

struct up_error *xen_mapcache_create(size_t capacity, xen_map_frame_fn *map,
				     xen_unmap_frame_fn *unmap, void *ctx,
				     struct xen_mapcache **ret)
{
	struct xen_mapcache *c;
	size_t nr_sets = 1;

	if (!capacity || capacity > XEN_MAPCACHE_MAX || !map || !unmap)
		return up_error_create(UP_ERR_INVALID, "mapping cache: bad capacity %zu", capacity);
	while (nr_sets * XEN_MAPCACHE_WAYS < capacity)
		nr_sets *= 2;
	c = calloc(1, sizeof(*c) + nr_sets * XEN_MAPCACHE_WAYS * sizeof(c->slots[0]));
	if (!c)
		return &up_error_nomem;
	c->map = map;
	c->unmap = unmap;
	c->ctx = ctx;
	c->nr_sets = nr_sets;
	*ret = c;
	return NULL;
}

void xen_mapcache_flush(struct xen_mapcache *c)
{
	for (size_t i = 0; i < c->nr_sets * XEN_MAPCACHE_WAYS; i++) {
		if (c->slots[i].addr) {
			c->unmap(c->ctx, c->slots[i].addr);
			c->slots[i].addr = NULL;
		}
	}
	c->nr_mapped = 0;
}

void xen_mapcache_destroy(struct xen_mapcache *c)
{
	if (!c)
		return;
	xen_mapcache_flush(c);
	free(c);
}

static struct slot *set_of(struct xen_mapcache *c, uint64_t frame)
{
	/* Fibonacci hashing: neighbouring frames (a stack, a page table) spread over sets. */
	uint64_t h = frame * 0x9e3779b97f4a7c15ull;

	return &c->slots[(h >> 32 & (c->nr_sets - 1)) * XEN_MAPCACHE_WAYS];
}

struct up_error *xen_mapcache_get(struct xen_mapcache *c, uint64_t frame, const void **ret)
{
	struct slot *set = set_of(c, frame), *victim = NULL;
	struct up_error *err;
	void *addr;

	c->clock++;
	for (int i = 0; i < XEN_MAPCACHE_WAYS; i++) {
		if (set[i].addr && set[i].frame == frame) {
			set[i].used = c->clock;
			c->stats.hits++;
			*ret = set[i].addr;
			return NULL;
		}
	}
	err = c->map(c->ctx, frame, &addr);
	if (err) {
		c->stats.failures++;
		return err;
	}
	c->stats.misses++;
	/* An empty slot, else the least recently used one. */
	for (int i = 0; i < XEN_MAPCACHE_WAYS; i++) {
		if (!set[i].addr) {
			victim = &set[i];
			break;
		}
		if (!victim || set[i].used < victim->used)
			victim = &set[i];
	}
	if (victim->addr) {
		c->unmap(c->ctx, victim->addr);
		c->stats.evictions++;
	} else {
		c->nr_mapped++;
	}
	victim->addr = addr;
	victim->frame = frame;
	victim->used = c->clock;
	*ret = addr;
	return NULL;
}

size_t xen_mapcache_size(const struct xen_mapcache *c)
{
	return c->nr_mapped;
}

void xen_mapcache_stats(const struct xen_mapcache *c, struct xen_mapcache_stats *ret)
{
	*ret = c->stats;
}
