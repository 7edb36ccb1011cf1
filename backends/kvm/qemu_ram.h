/*
 * QEMU's guest RAM read from the QEMU process itself: the KVM backend's physical memory source
 * when uniprof runs on QEMU's host with the right to read its memory.
 *
 * At open, the monitor tells the guest-physical RAM ranges (HMP "info mtree -f") and where QEMU
 * keeps each (HMP "gpa2hva").  A range whose memory is a shared file mapping in QEMU
 * (memory-backend-file or -memfd with share=on) is mapped read-only here and read with a
 * memory copy; the others are copied out of QEMU with process_vm_readv.  Addresses outside
 * every range (device memory, holes) are never read.
 */
#ifndef UP_KVM_QEMU_RAM_H
#define UP_KVM_QEMU_RAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../util/error.h"
#include "qmp.h"

enum qemu_ram_mode {
	QEMU_RAM_ANY,      /* shared files where QEMU has them, its process memory elsewhere */
	QEMU_RAM_PROCESS,  /* QEMU's process memory only */
	QEMU_RAM_SHARED,   /* as ANY, but at least one range must be a shared file */
};

struct qemu_ram;

/*
 * Learn QEMU's RAM layout over q and open the memory of QEMU's process pid.  Fails with the
 * reason when that cannot work (no permission, an unparsable map, QEMU_RAM_SHARED without a
 * shared file): the caller then reads through the gdbstub.
 */
struct up_error *qemu_ram_open(struct qmp *q, pid_t pid, enum qemu_ram_mode mode,
			       struct qemu_ram **ret);

void qemu_ram_close(struct qemu_ram *r);

/*
 * Read guest-physical memory (an up_memory_source read_phys; ctx is the qemu_ram).
 * UP_ERR_FAULT outside the RAM ranges, UP_ERR_LOST when QEMU is gone.
 */
struct up_error *qemu_ram_read(void *ctx, uint64_t paddr, void *buf, size_t len);

/* Whether every range is read through a mapping (no system call per read). */
int qemu_ram_all_mapped(const struct qemu_ram *r);

/* How the RAM is read, for -v: "QEMU's process memory (pid 1234): 5 ranges, 64 MiB". */
const char *qemu_ram_description(const struct qemu_ram *r);

#endif
