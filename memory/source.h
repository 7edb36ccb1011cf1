/*
 * How a backend reaches the guest's memory: what a target hands to the memory layer
 * (memory/memory.h), which turns it into reads of guest virtual memory.
 *
 * A backend that can read guest-physical memory (QEMU's RAM out of its process or a shared
 * file, Xen's foreign mappings) sets read_phys, and the memory layer translates virtual
 * addresses itself with the architecture's page walker.  A backend that cannot (a remote
 * QEMU's gdbstub, whose 'm' packets read virtual memory as a vCPU sees it) sets read_virt.
 * Exactly one of the two is set.
 */
#ifndef UP_MEMORY_SOURCE_H
#define UP_MEMORY_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct up_memory_source {
	/*
	 * Read len bytes of guest-physical memory at paddr (machine memory for a Xen PV guest,
	 * whose page tables hold machine frames).  UP_ERR_FAULT when any of it is not guest
	 * RAM: device memory (MMIO) is never read, so a stray pointer cannot touch a device.
	 * Any other error means the target is in trouble (UP_ERR_LOST: it is gone).
	 */
	struct up_error *(*read_phys)(void *ctx, uint64_t paddr, void *buf, size_t len);
	/*
	 * Read len bytes of guest-virtual memory as vCPU vcpu sees it, translated by the peer.
	 * Same errors as read_phys.  Only while the target is paused.
	 */
	struct up_error *(*read_virt)(void *ctx, unsigned int vcpu, uint64_t vaddr, void *buf,
				      size_t len);
	void *ctx;
	/*
	 * Each read costs a system call or a round trip: the memory layer then reads aligned
	 * blocks of this many bytes (a power of two from 64 to 4096) and keeps them for the rest
	 * of the pause.  0: reads are cheap (mapped memory); nothing is cached.
	 */
	size_t block_size;
	/* How the memory is reached, for -v ("QEMU's process memory (pid 1234)"); the backend
	 * owns it until detach. */
	const char *description;
};

#endif
