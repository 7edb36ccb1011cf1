/*
 * "info mtree -f" prints one flat view after another:
 *
 *   FlatView #2
 *    AS "memory", root: system
 *    AS "cpu-memory-0", root: system
 *    Root memory region: system
 *     0000000000000000-00000000000c2fff (prio 0, ram): pc.ram
 *     00000000000c3000-00000000000e7fff (prio 0, rom): pc.ram @00000000000c3000
 *     00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic
 *
 * Ranges are inclusive; a region's name may be followed by " @OFFSET" (where the range starts
 * in the region) and, under KVM, " KVM".  Several address spaces can share a view.  The monitor
 * ends its lines with CR LF (human-monitor-command passes that on); LF alone is taken too.
 */
#include <stdlib.h>
#include <string.h>

#include "../../util/bytes.h"
#include "ram_layout.h"

/* Lines longer than this are not ranges we know. */
#define MAX_LINE 1024

static const char *skip_spaces(const char *p, const char *end)
{
	while (p < end && *p == ' ')
		p++;
	return p;
}

static int starts_with(const char *p, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);

	return (size_t)(end - p) >= n && !memcmp(p, prefix, n);
}

/* Parse "START-END (prio N, TYPE): NAME..." into *ret; -1 when the line is not a range. */
static int parse_range(const char *p, const char *end, char *type, size_t type_cap,
		       struct qemu_ram_range *ret)
{
	uint64_t first, last;
	const char *t, *name;
	size_t n;

	if (!up_parse_hex(&p, end, &first) || p == end || *p++ != '-' ||
	    !up_parse_hex(&p, end, &last) || last < first || !starts_with(p, end, " (prio "))
		return -1;
	p += 7;
	p = memchr(p, ',', (size_t)(end - p));
	if (!p)
		return -1;
	t = skip_spaces(p + 1, end);
	p = memchr(t, ')', (size_t)(end - t));
	if (!p || (size_t)(p - t) >= type_cap || !starts_with(p, end, "): "))
		return -1;
	memcpy(type, t, (size_t)(p - t));
	type[p - t] = '\0';
	name = p + 3;
	/* The name runs to " @OFFSET", " KVM" or the end of the line. */
	n = (size_t)(end - name);
	for (const char *q = name; q < end; q++) {
		if (*q == ' ' && (starts_with(q, end, " @") || (starts_with(q, end, " KVM") &&
								 q + 4 == end))) {
			n = (size_t)(q - name);
			break;
		}
	}
	if (n >= sizeof(ret->name))
		n = sizeof(ret->name) - 1;
	memcpy(ret->name, name, n);
	ret->name[n] = '\0';
	ret->start = first;
	/* 0-ffffffffffffffff is the whole space: its size does not fit; cut the last byte. */
	ret->size = last - first + 1 ? last - first + 1 : last - first;
	return 0;
}

struct up_error *qemu_parse_mtree(const char *text, size_t len, size_t max,
				  struct qemu_ram_range **ret, size_t *ret_nr)
{
	const char *p = text, *end = text + len;
	struct qemu_ram_range *ranges = NULL;
	size_t nr = 0;
	int in_view = 0, is_system = 0, seen_system = 0;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *line, *stop;

		if (!eol)
			eol = end;
		/* The CR is not part of the line: not of a name, and " KVM" must end the line. */
		stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
		line = skip_spaces(p, stop);
		if (eol - p > MAX_LINE) {
			/* Not a line of ours. */
		} else if (starts_with(line, stop, "FlatView #")) {
			if (seen_system)
				break;  /* the system's view is complete */
			in_view = 1;
			is_system = 0;
		} else if (in_view && starts_with(line, stop, "AS \"memory\",")) {
			is_system = seen_system = 1;
		} else if (is_system && line < stop && up_hexval(*line) >= 0) {
			struct qemu_ram_range r = { 0 };
			char type[16];

			if (!parse_range(line, stop, type, sizeof(type), &r) &&
			    (!strcmp(type, "ram") || !strcmp(type, "rom") || !strcmp(type, "romd"))) {
				if (nr == max) {
					free(ranges);
					return up_error_create(UP_ERR_PROTOCOL,
							       "QEMU's memory map has more than %zu RAM ranges",
							       max);
				}
				if (nr && r.start <= ranges[nr - 1].start + ranges[nr - 1].size - 1) {
					free(ranges);
					return up_error_create(UP_ERR_PROTOCOL,
							       "QEMU's memory map is not sorted");
				}
				if ((nr & (nr - 1)) == 0) {
					/* Grow at 1, 2, 4, ...: most machines have a handful. */
					struct qemu_ram_range *grown =
						realloc(ranges, (nr ? 2 * nr : 1) * sizeof(*ranges));

					if (!grown) {
						free(ranges);
						return &up_error_nomem;
					}
					ranges = grown;
				}
				r.readonly = strcmp(type, "ram") != 0;
				ranges[nr++] = r;
			}
		}
		p = eol + (eol < end);
	}
	if (!seen_system || !nr) {
		free(ranges);
		return up_error_create(UP_ERR_PROTOCOL, seen_system ?
				       "QEMU's memory map has no RAM" :
				       "QEMU's \"info mtree -f\" shows no flat view of address space \"memory\"");
	}
	*ret = ranges;
	*ret_nr = nr;
	return NULL;
}

size_t qemu_ram_span(const struct qemu_ram_range *ranges, size_t nr, uint64_t paddr, size_t len)
{
	for (size_t i = 0; i < nr; i++) {
		/* Unsigned: an address below the range wraps to a huge offset. */
		uint64_t off = paddr - ranges[i].start;

		if (off < ranges[i].size)
			return ranges[i].size - off < len ? (size_t)(ranges[i].size - off) : len;
	}
	return 0;
}

int qemu_parse_gpa2hva(const char *text, size_t len, uint64_t *ret)
{
	static const char prefix[] = "Host virtual address for ";
	const char *p = text, *end = text + len, *eol, *is = NULL;
	uint64_t gpa, hva;

	if (!starts_with(p, end, prefix))
		return -1;
	p += sizeof(prefix) - 1;
	if (!starts_with(p, end, "0x"))
		return -1;
	p += 2;
	if (!up_parse_hex(&p, end, &gpa))
		return -1;
	/* " (REGION) is 0x...": the name may hold anything but a newline; the last ") is 0x" counts. */
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	for (const char *q = p; q + 7 <= eol; q++) {
		if (!memcmp(q, ") is 0x", 7))
			is = q;
	}
	if (!is)
		return -1;
	p = is + 7;
	if (!up_parse_hex(&p, end, &hva) || (p < end && *p != '\n' && *p != '\r'))
		return -1;
	*ret = hva;
	return 0;
}
