#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../memory/process.h"
#include "qemu_ram.h"
#include "ram_layout.h"

/* Ranges we accept in QEMU's memory map: machines have a handful, big ones some dozens. */
#define MAX_RANGES 4096

struct ram_range {
	uint64_t gpa, size;
	uint64_t hva;          /* where QEMU keeps it */
	const uint8_t *map;    /* our read-only view of QEMU's shared file, or NULL */
};

struct qemu_ram {
	struct up_process_memory *proc;
	struct ram_range *ranges;   /* sorted by gpa, disjoint */
	size_t nr;
	char *description;
};

/* Ask QEMU where it keeps guest-physical address gpa. */
static struct up_error *host_address(struct qmp *q, const struct qemu_ram_range *r,
				     uint64_t *ret)
{
	char cmd[64], *out;
	struct up_error *err;
	int bad;

	snprintf(cmd, sizeof(cmd), "gpa2hva 0x%" PRIx64, r->start);
	err = qmp_hmp(q, cmd, &out);
	if (err)
		return err;
	bad = qemu_parse_gpa2hva(out, strlen(out), ret);
	if (bad)
		err = up_error_create(UP_ERR_PROTOCOL,
				      "QEMU gives no host address for RAM range %s at 0x%" PRIx64 ": %.*s",
				      r->name, r->start, (int)strcspn(out, "\r\n"), out);
	free(out);
	return err;
}

/* The RAM ranges with their host addresses; neighbours contiguous on both sides merged. */
static struct up_error *learn_layout(struct qemu_ram *ram, struct qmp *q)
{
	struct qemu_ram_range *layout;
	struct up_error *err;
	size_t nr;
	char *text;

	err = qmp_hmp(q, "info mtree -f", &text);
	if (err)
		return err;
	err = qemu_parse_mtree(text, strlen(text), MAX_RANGES, &layout, &nr);
	free(text);
	if (err)
		return err;
	ram->ranges = calloc(nr, sizeof(*ram->ranges));
	if (!ram->ranges) {
		free(layout);
		return &up_error_nomem;
	}
	for (size_t i = 0; i < nr && !err; i++) {
		struct ram_range *prev = ram->nr ? &ram->ranges[ram->nr - 1] : NULL;
		uint64_t hva;

		err = host_address(q, &layout[i], &hva);
		if (err)
			break;
		if (prev && prev->gpa + prev->size == layout[i].start && prev->hva + prev->size == hva) {
			prev->size += layout[i].size;
			continue;
		}
		ram->ranges[ram->nr++] = (struct ram_range){
			.gpa = layout[i].start, .size = layout[i].size, .hva = hva,
		};
	}
	free(layout);
	return err;
}

/* Map what QEMU keeps in shared files; the paths of the first mapped file, for -v. */
static void map_shared_ranges(struct qemu_ram *ram, const char **ret_path, size_t *ret_mapped)
{
	*ret_path = NULL;
	*ret_mapped = 0;
	for (size_t i = 0; i < ram->nr; i++) {
		struct ram_range *r = &ram->ranges[i];
		const char *path;
		struct up_error *err = up_process_memory_map_shared(ram->proc, r->hva, r->size,
								    &r->map, &path);

		/* Not a shared file (or not one we may open): read it from the process. */
		if (err) {
			up_error_destroy(err);
			continue;
		}
		if (!*ret_path)
			*ret_path = path;
		(*ret_mapped)++;
	}
}

static void size_text(uint64_t bytes, char *buf, size_t cap)
{
	if (bytes >= (1ULL << 30) && !(bytes & ((1ULL << 30) - 1)))
		snprintf(buf, cap, "%" PRIu64 " GiB", bytes >> 30);
	else if (bytes >= (1ULL << 20))
		snprintf(buf, cap, "%" PRIu64 " MiB", bytes >> 20);
	else
		snprintf(buf, cap, "%" PRIu64 " KiB", bytes >> 10);
}

static struct up_error *describe(struct qemu_ram *ram, const char *path, size_t mapped)
{
	uint64_t mapped_bytes = 0, copied_bytes = 0;
	char mb[32], cb[32];
	int n;

	for (size_t i = 0; i < ram->nr; i++) {
		if (ram->ranges[i].map)
			mapped_bytes += ram->ranges[i].size;
		else
			copied_bytes += ram->ranges[i].size;
	}
	size_text(mapped_bytes, mb, sizeof(mb));
	size_text(copied_bytes, cb, sizeof(cb));
	if (!mapped)
		n = asprintf(&ram->description, "QEMU's process memory (pid %d): %zu RAM ranges, %s",
			     (int)up_process_memory_pid(ram->proc), ram->nr, cb);
	else if (mapped == ram->nr)
		n = asprintf(&ram->description, "QEMU's shared file %s, mapped read-only: "
			     "%zu RAM ranges, %s", path, ram->nr, mb);
	else
		n = asprintf(&ram->description, "QEMU's shared file %s, mapped read-only: "
			     "%zu RAM ranges, %s; QEMU's process memory (pid %d): %zu ranges, %s",
			     path, mapped, mb, (int)up_process_memory_pid(ram->proc),
			     ram->nr - mapped, cb);
	if (n < 0) {
		ram->description = NULL;
		return &up_error_nomem;
	}
	return NULL;
}

struct up_error *qemu_ram_open(struct qmp *q, pid_t pid, enum qemu_ram_mode mode,
			       struct qemu_ram **ret)
{
	struct qemu_ram *ram = calloc(1, sizeof(*ram));
	const char *path = NULL;
	struct up_error *err;
	size_t mapped = 0;

	if (!ram)
		return &up_error_nomem;
	err = learn_layout(ram, q);
	if (!err) {
		err = up_process_memory_open(pid, ram->ranges[0].hva, &ram->proc);
		if (err)
			err = up_error_prefix(err, "cannot read QEMU's memory (pid %d)", (int)pid);
	}
	if (!err && mode != QEMU_RAM_PROCESS)
		map_shared_ranges(ram, &path, &mapped);
	if (!err && mode == QEMU_RAM_SHARED && !mapped)
		err = up_error_create(UP_ERR_UNSUPPORTED,
				      "QEMU keeps no guest RAM in a shared file (start it with -object "
				      "memory-backend-file,...,share=on or memory-backend-memfd,share=on)");
	if (!err)
		err = describe(ram, path, mapped);
	if (err) {
		qemu_ram_close(ram);
		return err;
	}
	*ret = ram;
	return NULL;
}

void qemu_ram_close(struct qemu_ram *r)
{
	if (!r)
		return;
	up_process_memory_close(r->proc);
	free(r->ranges);
	free(r->description);
	free(r);
}

/* The range holding paddr, or NULL. */
static const struct ram_range *find_range(const struct qemu_ram *r, uint64_t paddr)
{
	size_t lo = 0, hi = r->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct ram_range *m = &r->ranges[mid];

		if (paddr < m->gpa)
			hi = mid;
		else if (paddr - m->gpa >= m->size)
			lo = mid + 1;
		else
			return m;
	}
	return NULL;
}

struct up_error *qemu_ram_read(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct qemu_ram *r = ctx;
	uint8_t *out = buf;

	while (len) {
		const struct ram_range *range = find_range(r, paddr);
		uint64_t off;
		size_t n;

		if (!range)
			return up_error_fault(paddr, "physical 0x%" PRIx64 " is not guest RAM", paddr);
		off = paddr - range->gpa;
		n = range->size - off < len ? (size_t)(range->size - off) : len;
		if (range->map) {
			memcpy(out, range->map + off, n);
		} else {
			struct up_error *err = up_process_memory_read(r->proc, range->hva + off, out, n);

			if (err) {
				if (err->code == UP_ERR_LOST) {
					up_error_destroy(err);
					return up_error_create(UP_ERR_LOST, "QEMU exited");
				}
				return err;
			}
		}
		out += n;
		paddr += n;
		len -= n;
	}
	return NULL;
}

int qemu_ram_all_mapped(const struct qemu_ram *r)
{
	for (size_t i = 0; i < r->nr; i++) {
		if (!r->ranges[i].map)
			return 0;
	}
	return 1;
}

const char *qemu_ram_description(const struct qemu_ram *r)
{
	return r->description;
}
