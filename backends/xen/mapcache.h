/*
 * A bounded cache of mapped guest frames.
 *
 * Mapping a foreign frame (xenforeignmemory_map) costs a system call and hypercalls; reading a
 * mapped one costs a memory load.  The cache keeps up to a fixed number of 4 KiB frames mapped
 * across samples, keyed by frame number (a machine frame for a Xen PV guest, a guest frame for
 * HVM/PVH), and evicts the least recently used frame of a set when a new one needs its slot.
 *
 * It caches mappings, never translations: a mapping is a live view of the frame, so what the
 * guest writes there (a page-table entry, a stack slot) shows at once.  Which frame holds a
 * virtual address is decided afresh by every page walk.
 *
 * The cache does not know Xen: it maps and unmaps through callbacks, so it is unit-tested with
 * fakes.
 */
#ifndef UP_BACKENDS_XEN_MAPCACHE_H
#define UP_BACKENDS_XEN_MAPCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

#define XEN_FRAME_SIZE 4096u
#define XEN_FRAME_SHIFT 12

/*
 * Map frame read-only; on success store the address of its XEN_FRAME_SIZE bytes in *ret.  The
 * error (the caller's choice of code) is passed on to the cache's caller as it is.
 */
typedef struct up_error *xen_map_frame_fn(void *ctx, uint64_t frame, void **ret);
/* Undo a successful map.  Never fails (a failure can only be ignored). */
typedef void xen_unmap_frame_fn(void *ctx, void *addr);

struct xen_mapcache_stats {
	uint64_t hits;
	uint64_t misses;      /* frames mapped */
	uint64_t evictions;   /* frames unmapped to make room */
	uint64_t failures;    /* map calls that failed (nothing is cached for them) */
};

struct xen_mapcache;

/*
 * A cache of about capacity frames (rounded up to a power of two times the set size, four
 * frames; 0 and more than 2^20 are UP_ERR_INVALID) that maps with map and unmaps with unmap,
 * passing ctx.
 */
struct up_error *xen_mapcache_create(size_t capacity, xen_map_frame_fn *map,
				     xen_unmap_frame_fn *unmap, void *ctx,
				     struct xen_mapcache **ret);

/* Unmap every frame and free c; c may be NULL. */
void xen_mapcache_destroy(struct xen_mapcache *c);

/*
 * The mapping of frame, mapping it when it is not cached (and evicting another frame when its
 * set is full).  *ret stays valid until the next xen_mapcache_get() or xen_mapcache_flush()
 * on c.  A failed map caches nothing and returns the map callback's error.
 */
struct up_error *xen_mapcache_get(struct xen_mapcache *c, uint64_t frame, const void **ret);

/* Unmap every frame (for example when the guest's memory map may have changed). */
void xen_mapcache_flush(struct xen_mapcache *c);

/* Number of frames mapped now. */
size_t xen_mapcache_size(const struct xen_mapcache *c);

void xen_mapcache_stats(const struct xen_mapcache *c, struct xen_mapcache_stats *ret);

#endif
