/*
 * libFuzzer: what we read about QEMU's memory.  The whole input is HMP "info mtree -f" output
 * (qemu_parse_mtree, then qemu_ram_span over the ranges) and "gpa2hva" output (qemu_parse_gpa2hva); each of its lines is a line of
 * /proc/PID/maps (up_parse_maps_line).  Seeds: tests/unit/data/ram_layout.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/kvm/ram_layout.h"
#include "../memory/process.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RANGES 64

static void check_ranges(const struct qemu_ram_range *r, size_t nr)
{
	if (!nr || nr > MAX_RANGES)
		__builtin_trap();
	for (size_t i = 0; i < nr; i++) {
		/* non-empty, not past the top of the space, sorted and apart, names are strings */
		if (!r[i].size || r[i].size - 1 > UINT64_MAX - r[i].start ||
		    (i && (r[i].start <= r[i - 1].start ||
			   r[i].start - r[i - 1].start < r[i - 1].size)) ||
		    !memchr(r[i].name, '\0', sizeof(r[i].name)) ||
		    (r[i].readonly != 0 && r[i].readonly != 1))
			__builtin_trap();
	}
	/* qemu_ram_span: inside a range, to its end at most; nothing in a gap or past the last. */
	for (size_t i = 0; i < nr; i++) {
		uint64_t last = r[i].start + (r[i].size - 1);

		if (qemu_ram_span(r, nr, r[i].start, 16) != (r[i].size < 16 ? r[i].size : 16) ||
		    qemu_ram_span(r, nr, last, 16) != 1 ||
		    (last != UINT64_MAX && (i + 1 == nr || r[i + 1].start != last + 1) &&
		     qemu_ram_span(r, nr, last + 1, 16) != 0))
			__builtin_trap();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data, *p = text, *end = text + size;
	struct qemu_ram_range *ranges = NULL;
	uint64_t hva = 0x5a5a;
	size_t nr = 0;
	struct up_error *err = qemu_parse_mtree(text, size, MAX_RANGES, &ranges, &nr);
	int rc;

	if (err) {
		if (err->code != UP_ERR_PROTOCOL && err->code != UP_ERR_NOMEM)
			__builtin_trap();
		up_error_destroy(err);
	} else {
		check_ranges(ranges, nr);
		free(ranges);
	}

	rc = qemu_parse_gpa2hva(text, size, &hva);
	if ((rc != 0 && rc != -1) || (rc && hva != 0x5a5a))
		__builtin_trap();

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		struct up_host_vma v;

		if (!eol)
			eol = end;
		memset(&v, 0x5a, sizeof(v));
		rc = up_parse_maps_line(p, (size_t)(eol - p), &v);
		if (rc == 0 && (v.end < v.start || !memchr(v.path, '\0', sizeof(v.path)) ||
				v.dev_major > 0xfff || v.dev_minor > 0xfffff))
			__builtin_trap();
		if (rc && (rc != -1 || v.start != 0x5a5a5a5a5a5a5a5a))
			__builtin_trap();
		p = eol + (eol < end);
	}
	return 0;
}
