/*
 * Guest architectures.
 *
 * Each supported guest architecture is a const struct up_arch: how to decode the registers a
 * gdbstub sends, and how to walk a frame-pointer chain.  Arch code never talks to a backend: it
 * reads guest memory only through an up_read_mem_fn callback, so the walkers run in unit tests
 * over a byte array.
 */
#ifndef UP_ARCH_ARCH_H
#define UP_ARCH_ARCH_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

/* The registers a sample needs, in an arch-neutral shape. */
struct up_regs {
	uint64_t pc;
	uint64_t sp;
	uint64_t fp;        /* rbp on x86_64, x29 on arm64 */
	uint64_t lr;        /* x30 on arm64; 0 on x86_64 */
	union {
		struct {
			uint64_t cr0, cr3, cr4, efer;
		} x86_64;
		struct {
			uint64_t cpsr, ttbr0, ttbr1, tcr;
		} arm64;
	};
};

/*
 * Read len bytes of guest virtual memory at addr into buf.  Returns NULL on success or an error
 * (usually UP_ERR_FAULT) that the caller owns.  A walker treats any error as "this frame cannot
 * be read" and ends the walk there.
 */
typedef struct up_error *up_read_mem_fn(void *ctx, uint64_t addr, void *buf, size_t len);

/* Why a frame walk stopped. */
enum up_walk_stop {
	UP_WALK_END,         /* reached the outermost frame (null frame pointer or return address) */
	UP_WALK_FAULT,       /* a frame could not be read */
	UP_WALK_NOT_GROWING, /* the next frame pointer is not above the current one: a loop or junk */
	UP_WALK_BAD_ADDRESS, /* a misaligned or non-canonical frame pointer or return address */
	UP_WALK_DEPTH,       /* the depth cap was reached */
};

struct up_walk {
	size_t depth;            /* number of addresses stored, the leaf pc included */
	enum up_walk_stop stop;
};

/* A walk is complete when it reached the outermost frame. */
static inline int up_walk_truncated(const struct up_walk *walk)
{
	return walk->stop != UP_WALK_END;
}

const char *up_walk_stop_name(enum up_walk_stop stop);

struct up_arch {
	/* Our name for the architecture, as QMP query-target reports it ("x86_64", "aarch64"). */
	const char *name;
	/* Size in bytes of the general registers a gdbstub 'g' packet carries at least. */
	size_t gdb_g_size;
	/*
	 * Decode a gdbstub 'g' reply (already converted from hex to len bytes) into *ret.  Fails
	 * with UP_ERR_PROTOCOL when len is too short.  Fields not in 'g' are left zero.
	 */
	struct up_error *(*regs_from_gdb)(const uint8_t *g, size_t len, struct up_regs *ret);
	/*
	 * Walk the frame-pointer chain starting at regs.  Stores at most max addresses in pcs,
	 * the leaf pc first, then return addresses outward; never fails: an unreadable or
	 * implausible frame ends the walk and ret->stop says why.  max must be at least 1.
	 */
	void (*walk_frames)(const struct up_regs *regs, up_read_mem_fn *read, void *ctx,
			    uint64_t *pcs, size_t max, struct up_walk *ret);
};

extern const struct up_arch up_arch_x86_64;

/* The architecture called name, or NULL when we do not support it. */
const struct up_arch *up_arch_find(const char *name);

#endif
