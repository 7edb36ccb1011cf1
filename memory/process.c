#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../util/bytes.h"
#include "process.h"

/* A maps line: addresses, flags, offset, device, inode, path (up to PATH_MAX). */
#define MAPS_LINE 4352

/* One VMA of the process we mapped here, whole. */
struct mapping {
	uint64_t start, end;
	const uint8_t *base;
	char *path;
	struct mapping *next;
};

struct up_process_memory {
	pid_t pid;
	int mem_fd;              /* /proc/PID/mem when process_vm_readv is missing, else -1 */
	struct mapping *mappings;
};

/* A decimal number that fits in 64 bits at *p; -1 when there is none or it is too big. */
static int parse_dec(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	int n = 0;

	for (; *p < end && **p >= '0' && **p <= '9'; (*p)++, n++) {
		unsigned int d = (unsigned int)(**p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (!n)
		return -1;
	*ret = v;
	return 0;
}

static int expect(const char **p, const char *end, char c)
{
	if (*p >= end || **p != c)
		return -1;
	(*p)++;
	return 0;
}

int up_parse_maps_line(const char *line, size_t len, struct up_host_vma *ret)
{
	const char *p = line, *end = line + len;
	uint64_t major, minor;
	struct up_host_vma v = { 0 };
	size_t n;

	if (!up_parse_hex(&p, end, &v.start) || expect(&p, end, '-') || !up_parse_hex(&p, end, &v.end) ||
	    expect(&p, end, ' ') || end - p < 5 || v.end < v.start)
		return -1;
	/* The kernel's flags: r or -, w or -, x or -, then s (shared) or p (private). */
	if ((p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-') ||
	    (p[2] != 'x' && p[2] != '-') || (p[3] != 's' && p[3] != 'p'))
		return -1;
	v.readable = p[0] == 'r';
	v.shared = p[3] == 's';
	p += 4;
	if (expect(&p, end, ' ') || !up_parse_hex(&p, end, &v.offset) || expect(&p, end, ' ') ||
	    !up_parse_hex(&p, end, &major) || expect(&p, end, ':') || !up_parse_hex(&p, end, &minor) ||
	    expect(&p, end, ' ') || parse_dec(&p, end, &v.inode) || major > 0xfff ||
	    minor > 0xfffff || (p < end && *p != ' '))
		return -1;
	v.dev_major = (unsigned int)major;
	v.dev_minor = (unsigned int)minor;
	while (p < end && *p == ' ')
		p++;
	n = (size_t)(end - p);
	if (n >= sizeof(v.path))
		n = sizeof(v.path) - 1;
	memcpy(v.path, p, n);
	v.path[n] = '\0';
	*ret = v;
	return 0;
}

static struct up_error *errno_error(const struct up_process_memory *p, int errnum, uint64_t addr)
{
	if (errnum == ESRCH)
		return up_error_create(UP_ERR_LOST, "process %d is gone", (int)p->pid);
	if (errnum == EFAULT || errnum == EIO)
		return up_error_fault(addr, "0x%" PRIx64 " is not mapped in process %d", addr,
				      (int)p->pid);
	return up_error_errno(errnum, "reading the memory of process %d", (int)p->pid);
}

struct up_error *up_process_memory_read(struct up_process_memory *p, uint64_t addr, void *buf,
					size_t len)
{
	uint8_t *out = buf;

	while (len) {
		ssize_t n;

		if (p->mem_fd >= 0) {
			n = pread(p->mem_fd, out, len, (off_t)addr);
			/* Nothing at all: the process let go of its memory (it is exiting). */
			if (n == 0)
				return up_error_create(UP_ERR_LOST, "process %d is gone", (int)p->pid);
		} else {
			struct iovec local = { out, len }, remote = { (void *)(uintptr_t)addr, len };

			n = process_vm_readv(p->pid, &local, 1, &remote, 1, 0);
			if (n == 0)
				return errno_error(p, EFAULT, addr);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno_error(p, errno, addr);
		}
		/* A short copy stops at an unmapped page: the next round says so. */
		out += n;
		addr += (uint64_t)n;
		len -= (size_t)n;
	}
	return NULL;
}

struct up_error *up_process_memory_open(pid_t pid, uint64_t addr, struct up_process_memory **ret)
{
	struct up_process_memory *p = calloc(1, sizeof(*p));
	struct up_error *err;
	uint8_t byte;

	if (!p)
		return &up_error_nomem;
	p->pid = pid;
	p->mem_fd = -1;
	err = up_process_memory_read(p, addr, &byte, 1);
	if (err && err->code == UP_ERR_OS && err->errnum == ENOSYS) {
		char path[64];

		/* A kernel without cross-memory attach: the older way. */
		up_error_destroy(err);
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		p->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		err = p->mem_fd < 0 ? errno_error(p, errno == ENOENT ? ESRCH : errno, addr)
				    : up_process_memory_read(p, addr, &byte, 1);
	}
	if (err) {
		up_process_memory_close(p);
		return err;
	}
	*ret = p;
	return NULL;
}

void up_process_memory_close(struct up_process_memory *p)
{
	if (!p)
		return;
	while (p->mappings) {
		struct mapping *m = p->mappings;

		p->mappings = m->next;
		munmap((void *)m->base, m->end - m->start);
		free(m->path);
		free(m);
	}
	if (p->mem_fd >= 0)
		close(p->mem_fd);
	free(p);
}

pid_t up_process_memory_pid(const struct up_process_memory *p)
{
	return p->pid;
}

/* The process's mapping that holds addr, from /proc/PID/maps. */
static struct up_error *find_vma(const struct up_process_memory *p, uint64_t addr,
				 struct up_host_vma *ret)
{
	char path[64], *line = malloc(MAPS_LINE);
	struct up_error *err = NULL;
	int found = 0;
	FILE *f;

	if (!line)
		return &up_error_nomem;
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)p->pid);
	f = fopen(path, "re");
	if (!f) {
		free(line);
		return errno_error(p, errno == ENOENT ? ESRCH : errno, addr);
	}
	while (!found && fgets(line, MAPS_LINE, f)) {
		size_t n = strcspn(line, "\n");

		if (line[n] != '\n' && !feof(f)) {
			int c;

			/* Longer than any real line: skip the rest of it. */
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
		}
		if (!up_parse_maps_line(line, n, ret) && addr >= ret->start && addr < ret->end)
			found = 1;
	}
	fclose(f);
	free(line);
	if (!found)
		err = up_error_fault(addr, "0x%" PRIx64 " is not mapped in process %d", addr,
				     (int)p->pid);
	return err;
}

static int same_file(int fd, const struct up_host_vma *v)
{
	struct stat st;

	return !fstat(fd, &st) && st.st_ino == v->inode && major(st.st_dev) == v->dev_major &&
	       minor(st.st_dev) == v->dev_minor;
}

/* A descriptor of the process's own that refers to v's file (a memfd has no other name). */
static int open_from_fds(const struct up_process_memory *p, const struct up_host_vma *v)
{
	char dirpath[64], path[64 + sizeof(((struct dirent *)0)->d_name)];
	struct dirent *d;
	int fd = -1;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "/proc/%d/fd", (int)p->pid);
	dir = opendir(dirpath);
	if (!dir)
		return -1;
	while (fd < 0 && (d = readdir(dir))) {
		struct stat st;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dirpath, d->d_name);
		if (stat(path, &st) || st.st_ino != v->inode || major(st.st_dev) != v->dev_major ||
		    minor(st.st_dev) != v->dev_minor)
			continue;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	closedir(dir);
	return fd;
}

/* Open v's file: its map_files entry (root), its path, or one of the process's descriptors. */
static int open_vma_file(const struct up_process_memory *p, const struct up_host_vma *v)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(v->path);
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)p->pid,
		 v->start, v->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && same_file(fd, v))
		return fd;
	if (fd >= 0)
		close(fd);
	if (v->path[0] == '/' && !(n > sizeof(deleted) - 1 &&
				   !strcmp(v->path + n - (sizeof(deleted) - 1), deleted))) {
		fd = open(v->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && same_file(fd, v))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return open_from_fds(p, v);
}

struct up_error *up_process_memory_map_shared(struct up_process_memory *p, uint64_t addr,
					      size_t len, const uint8_t **ret,
					      const char **ret_path)
{
	struct up_host_vma v;
	struct mapping *m;
	struct up_error *err;
	void *base;
	int fd;

	for (m = p->mappings; m; m = m->next) {
		if (addr >= m->start && len <= m->end - addr && addr < m->end) {
			*ret = m->base + (addr - m->start);
			*ret_path = m->path;
			return NULL;
		}
	}
	err = find_vma(p, addr, &v);
	if (err)
		return err;
	if (!v.shared || !v.readable || !v.inode || len > v.end - addr)
		return up_error_create(UP_ERR_UNSUPPORTED,
				       "0x%" PRIx64 " in process %d is not in one shared file mapping",
				       addr, (int)p->pid);
	fd = open_vma_file(p, &v);
	if (fd < 0)
		return up_error_errno(errno ? errno : ENOENT, "opening %s of process %d", v.path,
				      (int)p->pid);
	base = mmap(NULL, v.end - v.start, PROT_READ, MAP_SHARED, fd, (off_t)v.offset);
	close(fd);
	if (base == MAP_FAILED)
		return up_error_errno(errno, "mapping %s of process %d", v.path, (int)p->pid);
	m = calloc(1, sizeof(*m));
	if (m)
		m->path = strdup(v.path);
	if (!m || !m->path) {
		munmap(base, v.end - v.start);
		free(m);
		return &up_error_nomem;
	}
	m->start = v.start;
	m->end = v.end;
	m->base = base;
	m->next = p->mappings;
	p->mappings = m;
	*ret = m->base + (addr - m->start);
	*ret_path = m->path;
	return NULL;
}
