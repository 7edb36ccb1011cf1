/*
 * Reading another process's memory: the virtual machine monitor (QEMU) that keeps the guest's
 * RAM in its own address space.
 *
 * Two ways, both read-only and neither touching the process itself: copies with
 * process_vm_readv (or pread on /proc/PID/mem where the kernel lacks it), which need ptrace
 * rights over the process (root, or the same user without Yama's restriction); and, where a
 * part of its memory is a shared mapping of a file (memory-backend-file or -memfd with
 * share=on), a read-only mapping of that same file in our own address space, through which a
 * read is a memory copy.
 */
#ifndef UP_MEMORY_PROCESS_H
#define UP_MEMORY_PROCESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../util/error.h"

struct up_process_memory;

/* One line of /proc/PID/maps. */
struct up_host_vma {
	uint64_t start, end;     /* [start, end) */
	uint64_t offset;         /* file offset of start */
	int readable, shared;
	unsigned int dev_major, dev_minor;
	uint64_t inode;          /* 0: anonymous */
	char path[256];          /* "" for anonymous memory; may end in " (deleted)" */
};

/*
 * Parse one line of /proc/PID/maps (without its newline; at most len bytes, no NUL needed).
 * Returns 0, or -1 when the line is not in that form.  A path too long for ret->path is cut.
 */
int up_parse_maps_line(const char *line, size_t len, struct up_host_vma *ret);

/*
 * Open process pid's memory for reading and check that a read works, at addr (an address the
 * caller knows is mapped there).  UP_ERR_OS with EPERM or EACCES when we lack the right,
 * UP_ERR_LOST when there is no such process.
 */
struct up_error *up_process_memory_open(pid_t pid, uint64_t addr, struct up_process_memory **ret);

/* Unmap whatever was mapped and close; NULL is a no-op. */
void up_process_memory_close(struct up_process_memory *p);

/*
 * Copy len bytes at the process's address addr.  UP_ERR_FAULT when part of it is not mapped
 * there; UP_ERR_LOST when the process is gone.
 */
struct up_error *up_process_memory_read(struct up_process_memory *p, uint64_t addr, void *buf,
					size_t len);

/*
 * When [addr, addr + len) lies in one shared file mapping of the process, map the same bytes
 * of that file read-only here and set *ret to where addr is, valid until close, and *ret_path
 * to the file's name (owned by p).  UP_ERR_UNSUPPORTED when that memory is not a shared file
 * mapping (anonymous, private, or spread over several mappings); UP_ERR_OS when the file
 * cannot be opened or mapped.  Several calls in one mapping share one mapping of ours.
 */
struct up_error *up_process_memory_map_shared(struct up_process_memory *p, uint64_t addr,
					      size_t len, const uint8_t **ret,
					      const char **ret_path);

/* The process id. */
pid_t up_process_memory_pid(const struct up_process_memory *p);

#endif
