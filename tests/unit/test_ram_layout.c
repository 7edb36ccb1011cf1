/*
 * QEMU's memory map as its monitor prints it, and /proc/PID/maps: qemu_parse_mtree(),
 * qemu_parse_gpa2hva() and up_parse_maps_line() over real QEMU 7.2 outputs
 * (tests/unit/data/ram_layout, see its README.md) and over hand-made bad text.
 *
 * Inputs are passed in buffers of exactly their length, with no NUL after them, so that the
 * sanitizer build sees any read past the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../backends/kvm/ram_layout.h"
#include "../../memory/process.h"
#include "data_path.h"

#define MAX 64

struct range {
	uint64_t start, size;
	int readonly;
	const char *name;
};

/* An inclusive range as QEMU prints it. */
#define R(first, last, ro, name) { (first), (last) - (first) + 1, (ro), (name) }

struct capture {
	const char *file;
	size_t nr;
	struct range ranges[8];
};

/* Worked out from each file's view of AS "memory", by hand. */
static const struct capture mtree_captures[] = {
	{ "x86_64-default.mtree", 5, {
		R(0x0, 0xbffff, 0, "pc.ram"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xe0000, 0xfffff, 1, "pc.bios"), R(0x100000, 0x7ffffff, 0, "pc.ram"),
		R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-pc-64M-smp2.mtree", 5, {
		R(0x0, 0xbffff, 0, "pc.ram"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xe0000, 0xfffff, 1, "pc.bios"), R(0x100000, 0x3ffffff, 0, "pc.ram"),
		R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-pc-64M-smp2-booted.mtree", 6, {
		R(0x0, 0xc2fff, 0, "pc.ram"), R(0xc3000, 0xe7fff, 1, "pc.ram"),
		R(0xe8000, 0xeffff, 0, "pc.ram"), R(0xf0000, 0xfffff, 1, "pc.ram"),
		R(0x100000, 0x3ffffff, 0, "pc.ram"), R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-q35-256M.mtree", 5, {
		R(0x0, 0xbffff, 0, "pc.ram"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xe0000, 0xfffff, 1, "pc.bios"), R(0x100000, 0xfffffff, 0, "pc.ram"),
		R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-q35-256M-booted.mtree", 6, {
		R(0x0, 0xc2fff, 0, "pc.ram"), R(0xc3000, 0xe7fff, 1, "pc.ram"),
		R(0xe8000, 0xeffff, 0, "pc.ram"), R(0xf0000, 0xfffff, 1, "pc.ram"),
		R(0x100000, 0xfffffff, 0, "pc.ram"), R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-q35-256M-kvm.mtree", 5, {
		R(0x0, 0xbffff, 0, "pc.ram"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xe0000, 0xfffff, 1, "pc.bios"), R(0x100000, 0xfffffff, 0, "pc.ram"),
		R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-pc-memfd.mtree", 5, {
		R(0x0, 0xbffff, 0, "ram0"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xe0000, 0xfffff, 1, "pc.bios"), R(0x100000, 0x3ffffff, 0, "ram0"),
		R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "x86_64-pc-file.mtree", 5, {
		R(0x0, 0xbffff, 0, "ram0"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xe0000, 0xfffff, 1, "pc.bios"), R(0x100000, 0x3ffffff, 0, "ram0"),
		R(0xfffc0000, 0xffffffff, 1, "pc.bios") } },
	{ "aarch64-virt-128M.mtree", 3, {
		R(0x0, 0x3ffffff, 1, "virt.flash0"), R(0x4000000, 0x7ffffff, 1, "virt.flash1"),
		R(0x40000000, 0x47ffffff, 0, "mach-virt.ram") } },
	{ "aarch64-virt-128M-efi.mtree", 3, {
		R(0x0, 0x3ffffff, 1, "virt.flash0"), R(0x4000000, 0x7ffffff, 1, "virt.flash1"),
		R(0x40000000, 0x47ffffff, 0, "mach-virt.ram") } },
	{ "aarch64-virt-128M-efi-booted.mtree", 3, {
		R(0x0, 0x3ffffff, 1, "virt.flash0"), R(0x4000000, 0x7ffffff, 1, "virt.flash1"),
		R(0x40000000, 0x47ffffff, 0, "mach-virt.ram") } },
};

static void data_path(const char *file, char *ret, size_t len)
{
	test_data_path("ram_layout", file, ret, len);
}

/* A copy of len bytes in a buffer of exactly that size (one byte for none). */
static char *exact(const char *s, size_t len)
{
	char *p = malloc(len ? len : 1);

	assert_non_null(p);
	memcpy(p, s, len);
	return p;
}

/* The whole file, in a buffer of exactly its size. */
static char *load(const char *file, size_t *ret_len)
{
	char path[PATH_MAX + 64], *buf;
	struct stat st;
	FILE *f;

	data_path(file, path, sizeof(path));
	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st))
		fail_msg("%s: %s", path, strerror(errno));
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*ret_len = (size_t)st.st_size;
	return buf;
}

/* text without its CRs, in an exact buffer. */
static char *without_cr(const char *text, size_t len, size_t *ret_len)
{
	char *tmp = malloc(len ? len : 1), *out;
	size_t n = 0;

	assert_non_null(tmp);
	for (size_t i = 0; i < len; i++) {
		if (text[i] != '\r')
			tmp[n++] = text[i];
	}
	out = exact(tmp, n);
	free(tmp);
	*ret_len = n;
	return out;
}

static void check_ranges(const char *what, const struct qemu_ram_range *got, size_t nr,
			 const struct range *want, size_t want_nr)
{
	if (nr != want_nr)
		fail_msg("%s: %zu ranges, want %zu", what, nr, want_nr);
	for (size_t i = 0; i < nr; i++) {
		if (got[i].start != want[i].start || got[i].size != want[i].size ||
		    got[i].readonly != want[i].readonly || strcmp(got[i].name, want[i].name))
			fail_msg("%s: range %zu is 0x%" PRIx64 "+0x%" PRIx64 " ro=%d \"%s\", want "
				 "0x%" PRIx64 "+0x%" PRIx64 " ro=%d \"%s\"", what, i, got[i].start,
				 got[i].size, got[i].readonly, got[i].name, want[i].start, want[i].size,
				 want[i].readonly, want[i].name);
	}
}

/* Parse text (a C string) from an exact buffer; the error's code, or 0 with *ret set. */
static int parse_str(const char *text, size_t max, struct qemu_ram_range **ret, size_t *ret_nr)
{
	char *buf = exact(text, strlen(text));
	struct up_error *err = qemu_parse_mtree(buf, strlen(text), max, ret, ret_nr);
	int code = err ? (int)err->code : 0;

	up_error_destroy(err);
	free(buf);
	return code;
}

/* text must be refused with UP_ERR_PROTOCOL, leaving the out-parameters alone. */
static void refused(const char *text, size_t len, size_t max)
{
	static struct qemu_ram_range sentinel;
	struct qemu_ram_range *ranges = &sentinel;
	size_t nr = 77;
	char *buf = exact(text, len);
	struct up_error *err = qemu_parse_mtree(buf, len, max, &ranges, &nr);

	free(buf);
	if (!err)
		fail_msg("accepted: %.*s", (int)len, text);
	assert_int_equal(err->code, UP_ERR_PROTOCOL);
	assert_non_null(err->message);
	up_error_destroy(err);
	assert_ptr_equal(ranges, &sentinel);
	assert_int_equal(nr, 77);
}

/* Every capture gives exactly its ranges, with CR LF (as QEMU sends it) and with LF only. */
static void mtree_captures_exact(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(mtree_captures) / sizeof(mtree_captures[0]); c++) {
		const struct capture *cap = &mtree_captures[c];
		struct qemu_ram_range *ranges;
		size_t len, lf_len, nr;
		char *text = load(cap->file, &len), *lf = without_cr(text, len, &lf_len), what[128];
		struct up_error *err;

		assert_non_null(memchr(text, '\r', len));  /* the captures are QEMU's own bytes */
		err = qemu_parse_mtree(text, len, MAX, &ranges, &nr);
		if (err)
			fail_msg("%s: %s", cap->file, err->message);
		check_ranges(cap->file, ranges, nr, cap->ranges, cap->nr);
		free(ranges);
		err = qemu_parse_mtree(lf, lf_len, MAX, &ranges, &nr);
		if (err)
			fail_msg("%s without CR: %s", cap->file, err->message);
		snprintf(what, sizeof(what), "%s without CR", cap->file);
		check_ranges(what, ranges, nr, cap->ranges, cap->nr);
		free(ranges);
		free(lf);
		free(text);
	}
}

/* A capture with its view of AS "memory" renamed has no view to take: the others do not count. */
static void mtree_capture_without_system_view(void **state)
{
	static const char *const files[] = { "x86_64-pc-64M-smp2.mtree", "x86_64-default.mtree",
					     "aarch64-virt-128M.mtree" };

	(void)state;
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		size_t len;
		char *text = load(files[f], &len), *as = memmem(text, len, "AS \"memory\"", 11);

		assert_non_null(as);
		as[4] = 'M';  /* AS "Memory" */
		refused(text, len, MAX);
		free(text);
	}
}

/* Other address spaces' views (SMM, I/O, a device's) are never taken, before or after. */
static void mtree_other_views_not_taken(void **state)
{
	static const char text[] =
		"FlatView #0\n"
		" AS \"I/O\", root: io\n"
		" Root memory region: io\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): in-io-view\n"
		"\n"
		"FlatView #1\n"
		" AS \"cpu-smm-0\", root: memory\n"
		" Root memory region: memory\n"
		"  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n"
		"  00000000000a0000-00000000000bffff (prio 1, ram): smram\n"
		"\n"
		"FlatView #2\n"
		" AS \"ich9-ahci\", root: bus master container\n"
		" AS \"memory\", root: system\n"
		" AS \"cpu-memory-0\", root: system\n"
		" Root memory region: system\n"
		"  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n"
		"  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem\n"
		"  00000000000c0000-00000000000dffff (prio 1, rom): pc.rom\n"
		"  00000000fd000000-00000000fdffffff (prio 1, ramd): 0000:01:00.0 BAR 2 mmaps[0]\n"
		"  00000000fe000000-00000000fe003fff (prio 1, i/o): virtio-pci-common\n"
		"  00000000ffe00000-00000000ffffffff (prio 0, romd): system.flash0\n"
		"\n"
		"FlatView #3\n"
		" AS \"cpu-smm-1\", root: memory\n"
		" Root memory region: memory\n"
		"  0000000100000000-00000001ffffffff (prio 0, ram): in-smm-view\n";
	static const struct range want[] = {
		R(0x0, 0x9ffff, 0, "pc.ram"), R(0xc0000, 0xdffff, 1, "pc.rom"),
		R(0xffe00000, 0xffffffff, 1, "system.flash0"),
	};
	struct qemu_ram_range *ranges;
	size_t nr;

	(void)state;
	assert_int_equal(parse_str(text, MAX, &ranges, &nr), 0);
	check_ranges("views", ranges, nr, want, 3);
	free(ranges);
}

/*
 * What the gdbstub path may read: only bytes inside a RAM or ROM range, never device memory
 * (the local APIC, the HPET), a hole or past the end of RAM; a read is cut at its range's end.
 */
static void ram_span_only_ram(void **state)
{
	static const char text[] =
		"FlatView #0\n"
		" AS \"memory\", root: system\n"
		" Root memory region: system\n"
		"  0000000000000000-000000000009ffff (prio 0, ram): pc.ram\n"
		"  00000000000a0000-00000000000bffff (prio 1, i/o): vga-lowmem\n"
		"  00000000000c0000-0000000003ffffff (prio 0, ram): pc.ram @00000000000c0000\n"
		"  00000000fec00000-00000000fec00fff (prio 0, i/o): ioapic\n"
		"  00000000fed00000-00000000fed003ff (prio 0, i/o): hpet\n"
		"  00000000fee00000-00000000feefffff (prio 4096, i/o): apic-msi\n"
		"  00000000fffc0000-00000000ffffffff (prio 0, rom): pc.bios\n";
	struct qemu_ram_range *r;
	size_t nr;

	(void)state;
	assert_int_equal(parse_str(text, MAX, &r, &nr), 0);
	assert_int_equal(qemu_ram_span(r, nr, 0x1000, 16), 16);
	assert_int_equal(qemu_ram_span(r, nr, 0x9fff8, 16), 8);      /* cut at the range's end */
	assert_int_equal(qemu_ram_span(r, nr, 0xa0000, 16), 0);      /* VGA */
	assert_int_equal(qemu_ram_span(r, nr, 0x3fffff8, 16), 8);
	assert_int_equal(qemu_ram_span(r, nr, 0x4000000, 16), 0);    /* past RAM */
	assert_int_equal(qemu_ram_span(r, nr, 0x1000000000ull, 16), 0);
	assert_int_equal(qemu_ram_span(r, nr, 0xfec00000, 16), 0);   /* I/O APIC */
	assert_int_equal(qemu_ram_span(r, nr, 0xfed00000, 16), 0);   /* HPET */
	assert_int_equal(qemu_ram_span(r, nr, 0xfee00000, 16), 0);   /* local APIC */
	assert_int_equal(qemu_ram_span(r, nr, 0xfffffff8, 16), 8);   /* ROM, to the top of 4 GiB */
	assert_int_equal(qemu_ram_span(r, nr, UINT64_MAX - 7, 16), 0);
	assert_int_equal(qemu_ram_span(r, 0, 0x1000, 16), 0);
	free(r);
}

/* MMIO and device memory only, or nothing at all: no RAM is an error, not an empty map. */
static void mtree_io_and_ramd_left_out(void **state)
{
	static const char text[] =
		"FlatView #0\n"
		" AS \"memory\", root: system\n"
		" Root memory region: system\n"
		"  0000000008000000-0000000008000fff (prio 0, i/o): gic_dist\n"
		"  0000000010000000-0000000010ffffff (prio 1, ramd): 0000:00:01.0 BAR 0 mmaps[0]\n";
	static const char empty_view[] =
		"FlatView #0\n"
		" AS \"memory\", root: system\n"
		" Root memory region: (none)\n"
		"  No rendered FlatView\n";

	(void)state;
	refused(text, strlen(text), MAX);
	refused(empty_view, strlen(empty_view), MAX);
}

/* " @OFFSET" and a trailing " KVM" are not part of the name; anything else is. */
static void mtree_names(void **state)
{
	static const char text[] =
		"FlatView #0\r\n"
		" AS \"memory\", root: system\r\n"
		" Root memory region: system\r\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): a @0000000000001000 KVM\r\n"
		"  0000000000001000-0000000000001fff (prio 0, ram): b KVM\r\n"
		"  0000000000002000-0000000000002fff (prio 0, ram): c KVM d\r\n"
		"  0000000000003000-0000000000003fff (prio 0, ram): two words\r\n"
		"  0000000000004000-0000000000004fff (prio 0, ram): e KVMKVM\r\n"
		"  0000000000005000-0000000000005fff (prio 0, ram): "
		"0123456789012345678901234567890123456789012345678901234567890123456789\r\n"
		"  0000000000006000-0000000000006fff (prio 0, ram):  \r\n"
		"  0000000000007000-0000000000007fff (prio 0, rom): f @0000000000000000\r\n";
	static const struct range want[] = {
		R(0x0, 0xfff, 0, "a"), R(0x1000, 0x1fff, 0, "b"), R(0x2000, 0x2fff, 0, "c KVM d"),
		R(0x3000, 0x3fff, 0, "two words"), R(0x4000, 0x4fff, 0, "e KVMKVM"),
		R(0x5000, 0x5fff, 0, "012345678901234567890123456789012345678901234567890123456789012"),
		R(0x6000, 0x6fff, 0, " "), R(0x7000, 0x7fff, 1, "f"),
	};
	struct qemu_ram_range *ranges;
	size_t nr;

	(void)state;
	assert_int_equal(parse_str(text, MAX, &ranges, &nr), 0);
	check_ranges("names", ranges, nr, want, 8);
	for (size_t i = 0; i < nr; i++)
		assert_non_null(memchr(ranges[i].name, '\0', sizeof(ranges[i].name)));
	free(ranges);
}

/* max bounds the count: the booted pc capture has 6 ranges. */
static void mtree_max(void **state)
{
	struct qemu_ram_range *ranges;
	size_t len, nr;
	char *text = load("x86_64-pc-64M-smp2-booted.mtree", &len);
	struct up_error *err;

	(void)state;
	err = qemu_parse_mtree(text, len, 6, &ranges, &nr);
	assert_null(err);
	assert_int_equal(nr, 6);
	free(ranges);
	refused(text, len, 5);
	refused(text, len, 1);
	refused(text, len, 0);
	ranges = NULL;
	err = qemu_parse_mtree(text, len, 5, &ranges, &nr);
	assert_non_null(err);
	assert_non_null(strstr(err->message, "more than 5"));
	up_error_destroy(err);
	free(text);
}

/* Out of order, overlapping or repeated ranges are not a flat view. */
static void mtree_unsorted(void **state)
{
	static const char head[] = "FlatView #0\n AS \"memory\", root: system\n Root memory region: system\n";
	static const char *const bad[] = {
		"  0000000000002000-0000000000002fff (prio 0, ram): b\n"
		"  0000000000001000-0000000000001fff (prio 0, ram): a\n",
		"  0000000000000000-0000000000001fff (prio 0, ram): a\n"
		"  0000000000001000-0000000000002fff (prio 0, rom): b\n",
		"  0000000000000000-0000000000000fff (prio 0, ram): a\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): a\n",
		"  0000000000000000-0000000000000fff (prio 0, ram): a\n"
		"  0000000000000fff-0000000000001fff (prio 0, ram): b\n",
		/* end before start */
		"  0000000000002000-0000000000001fff (prio 0, ram): a\n",
	};
	static const char adjacent[] =
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): a\n"
		"  0000000000001000-ffffffffffffffff (prio 0, ram): b\n";
	static const char whole[] =
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000000000-ffffffffffffffff (prio 0, ram): all\n";
	static const struct range want_adjacent[] = {
		R(0x0, 0xfff, 0, "a"), { 0x1000, 0xfffffffffffff000, 0, "b" },
	};
	/* The whole space's size does not fit in 64 bits: its last byte is cut. */
	static const struct range want_whole[] = { { 0, UINT64_MAX, 0, "all" } };
	struct qemu_ram_range *ranges;
	size_t nr;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[512];

		snprintf(text, sizeof(text), "%s%s", head, bad[i]);
		refused(text, strlen(text), MAX);
	}
	assert_int_equal(parse_str(adjacent, MAX, &ranges, &nr), 0);
	check_ranges("adjacent", ranges, nr, want_adjacent, 2);
	free(ranges);
	assert_int_equal(parse_str(whole, MAX, &ranges, &nr), 0);
	check_ranges("whole", ranges, nr, want_whole, 1);
	free(ranges);
}

/* Text that is not a memory map at all. */
static void mtree_not_a_map(void **state)
{
	static const char *const texts[] = {
		"",
		"\n",
		"\r\n",
		"unknown command: 'info mtree'\r\n",
		"FlatView #0\n",
		/* an AS line outside a flat view */
		" AS \"memory\", root: system\n  0000000000000000-0000000000000fff (prio 0, ram): a\n",
		/* a view of another space with RAM in it */
		"FlatView #0\n AS \"cpu-smm-0\", root: memory\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): a\n",
		"FlatView #0\n AS \"memory2\", root: system\n"
		"  0000000000000000-0000000000000fff (prio 0, ram): a\n",
		/* malformed range lines are not ranges */
		"FlatView #0\n AS \"memory\", root: system\n"
		"  0000000000000000-0000000000000fff (prio 0 ram): a\n"
		"  0000000000000000-0000000000000fff (prio 0, ram) a\n"
		"  0000000000000000-0000000000000fff(prio 0, ram): a\n"
		"  0000000000000000 0000000000000fff (prio 0, ram): a\n"
		"  00000000000000000-0000000000000fff (prio 0, ram): a\n"
		"  0000000000000000-00000000000000fff0 (prio 0, ram): a\n"
		"  0000000000000000-0000000000000fff (prio 0, ramramramramramram): a\n"
		"  0000000000000000-0000000000000fff (prio 0, RAM): a\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		refused(texts[i], strlen(texts[i]), MAX);
}

/*
 * Every prefix of a capture: an error, or ranges that agree with the whole text's (a cut name
 * may be shorter or keep a space), all of them once the system's view is complete.
 */
static void mtree_truncated(void **state)
{
	struct qemu_ram_range *full, *ranges;
	size_t len, full_nr, nr;
	char *text = load("x86_64-pc-64M-smp2-booted.mtree", &len), *view, *last;

	(void)state;
	assert_null(qemu_parse_mtree(text, len, MAX, &full, &full_nr));
	view = memmem(text, len, "AS \"memory\"", 11);
	assert_non_null(view);
	last = memmem(view, len - (size_t)(view - text), "pc.bios\r\n", 9);
	assert_non_null(last);
	for (size_t cut = 0; cut < len; cut++) {
		char *prefix = exact(text, cut);
		struct up_error *err = qemu_parse_mtree(prefix, cut, MAX, &ranges, &nr);

		free(prefix);
		if (err) {
			assert_int_equal(err->code, UP_ERR_PROTOCOL);
			up_error_destroy(err);
			if (cut >= (size_t)(last - text) + 9)
				fail_msg("the whole view is there at %zu bytes, but refused", cut);
			continue;
		}
		assert_true(nr <= full_nr);
		for (size_t i = 0; i < nr; i++) {
			size_t a = strlen(ranges[i].name), b = strlen(full[i].name);

			assert_int_equal(ranges[i].start, full[i].start);
			assert_int_equal(ranges[i].size, full[i].size);
			assert_int_equal(ranges[i].readonly, full[i].readonly);
			if (strncmp(ranges[i].name, full[i].name, a < b ? a : b))
				fail_msg("cut at %zu: range %zu named \"%s\", not \"%s\"", cut, i,
					 ranges[i].name, full[i].name);
		}
		if (cut >= (size_t)(last - text) + 9) {
			assert_int_equal(nr, full_nr);
			assert_memory_equal(ranges, full, nr * sizeof(*full));
		}
		free(ranges);
	}
	free(full);
	free(text);
}

struct hva_case {
	const char *text;  /* a file name for captures */
	int ok;
	uint64_t hva;
};

static const struct hva_case hva_captures[] = {
	{ "x86_64-pc-64M-smp2.gpa2hva-ram", 1, 0x7fc247f00000 },
	{ "x86_64-pc-64M-smp2.gpa2hva-rom", 1, 0x7fc299e00000 },
	{ "x86_64-pc-64M-smp2.gpa2hva-mmio", 0, 0 },
	{ "x86_64-pc-64M-smp2.gpa2hva-unmapped", 0, 0 },
	{ "x86_64-pc-64M-smp2-booted.gpa2hva-ram", 1, 0x7f7e7ff00000 },
	{ "x86_64-pc-64M-smp2-booted.gpa2hva-rom", 1, 0x7f7e7fee0000 },
	{ "x86_64-pc-memfd.gpa2hva-ram", 1, 0x7f634c0ff000 },
	{ "x86_64-pc-file.gpa2hva-ram", 1, 0x7f0eac0ff000 },
	{ "aarch64-virt-128M.gpa2hva-ram", 1, 0x7f0047e00000 },
	{ "aarch64-virt-128M.gpa2hva-mmio", 0, 0 },
	{ "aarch64-virt-128M.gpa2hva-unmapped", 0, 0 },
	{ "aarch64-virt-128M-efi.gpa2hva-rom", 1, 0x7f48f3c00000 },
	{ "aarch64-virt-128M-efi.gpa2hva-ram", 1, 0x7f48f7e00000 },
};

static const struct hva_case hva_forms[] = {
	{ "Host virtual address for 0x100000 (pc.ram) is 0x7fece3f00000", 1, 0x7fece3f00000 },
	{ "Host virtual address for 0x100000 (pc.ram) is 0x7fece3f00000\n", 1, 0x7fece3f00000 },
	{ "Host virtual address for 0x100000 (pc.ram) is 0x7FECE3F00000\r\n", 1, 0x7fece3f00000 },
	/* the name may hold ") is 0x" and parentheses: the last ") is 0x" counts */
	{ "Host virtual address for 0x1000 (odd) is 0x1 one) is 0x7f0000001000\r\n", 1, 0x7f0000001000 },
	{ "Host virtual address for 0x1000 (a (b) c) is 0x7f0000002000\r\n", 1, 0x7f0000002000 },
	{ "Host virtual address for 0x1000 ()) is 0x3\r\n", 1, 0x3 },
	{ "Host virtual address for 0x0 (x) is 0xffffffffffffffff\r\n", 1, UINT64_MAX },
	/* no digits, too many, or something after them */
	{ "Host virtual address for 0x1000 (ram) is 0x\r\n", 0, 0 },
	{ "Host virtual address for 0x1000 (ram) is 0x", 0, 0 },
	{ "Host virtual address for 0x1000 (ram) is 0x12345678123456781\r\n", 0, 0 },
	{ "Host virtual address for 0x1000 (ram) is 0x7f00zz\r\n", 0, 0 },
	{ "Host virtual address for 0x1000 (ram) is 0x7f00 \r\n", 0, 0 },
	{ "Host virtual address for 0x1000 (ram) is 7f000000\r\n", 0, 0 },
	{ "Host virtual address for 0x1000 (ram) was 0x7f000000\r\n", 0, 0 },
	{ "Host virtual address for 0x (ram) is 0x7f000000\r\n", 0, 0 },
	{ "Host virtual address for 1000 (ram) is 0x7f000000\r\n", 0, 0 },
	{ "Host virtual address for 0x11112222333344445 (ram) is 0x7f000000\r\n", 0, 0 },
	{ "host virtual address for 0x1000 (ram) is 0x7f000000\r\n", 0, 0 },
	/* ") is 0x" on the next line does not count */
	{ "Host virtual address for 0x1000 (ram\n) is 0x7f000000\r\n", 0, 0 },
	{ "Host virtual address for ", 0, 0 },
	{ "Memory at address 0xfec00000 is not RAM\r\n", 0, 0 },
	{ "No memory is mapped at address 0x100000000000\r\n", 0, 0 },
	{ "Invalid parameter 'addr'\r\n", 0, 0 },
	{ "", 0, 0 },
};

/* text (len bytes) must give c's answer; *ret is left alone on failure. */
static void check_hva(const char *what, const char *text, size_t len, const struct hva_case *c)
{
	char *buf = exact(text, len);
	uint64_t hva = 0x5a5a;
	int rc = qemu_parse_gpa2hva(buf, len, &hva);

	free(buf);
	if (c->ok && (rc || hva != c->hva))
		fail_msg("%s: %d, 0x%" PRIx64 ", want 0x%" PRIx64, what, rc, hva, c->hva);
	if (!c->ok && (rc != -1 || hva != 0x5a5a))
		fail_msg("%s: accepted (%d, 0x%" PRIx64 ")", what, rc, hva);
}

static void gpa2hva_captures(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hva_captures) / sizeof(hva_captures[0]); i++) {
		size_t len;
		char *text = load(hva_captures[i].text, &len);

		check_hva(hva_captures[i].text, text, len, &hva_captures[i]);
		free(text);
	}
}

static void gpa2hva_forms(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hva_forms) / sizeof(hva_forms[0]); i++)
		check_hva(hva_forms[i].text, hva_forms[i].text, strlen(hva_forms[i].text), &hva_forms[i]);
}

/* -1, or 0 with *ret set; *ret is left alone on failure. */
static int maps_line(const char *line, size_t len, struct up_host_vma *ret)
{
	char *buf = exact(line, len);
	struct up_host_vma v, before;
	int rc;

	memset(&v, 0xa5, sizeof(v));
	before = v;
	rc = up_parse_maps_line(buf, len, &v);
	free(buf);
	if (rc) {
		assert_int_equal(rc, -1);
		assert_memory_equal(&v, &before, sizeof(v));
		return -1;
	}
	assert_non_null(memchr(v.path, '\0', sizeof(v.path)));
	*ret = v;
	return 0;
}

/* Each line of a capture against sscanf's reading of it; the vma holding addr, if any. */
static size_t check_maps_capture(const char *file, uint64_t addr, struct up_host_vma *ret)
{
	size_t len, lines = 0;
	char *text = load(file, &len), *p = text, *end = text + len;

	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p)), line[4096], flags[5];
		uint64_t start, stop, offset, inode;
		unsigned int major, minor;
		struct up_host_vma v;
		int n = 0;

		assert_non_null(eol);
		assert_true((size_t)(eol - p) < sizeof(line));
		memcpy(line, p, (size_t)(eol - p));
		line[eol - p] = '\0';
		if (maps_line(p, (size_t)(eol - p), &v))
			fail_msg("%s: refused \"%s\"", file, line);
		assert_int_equal(sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %x:%x %" SCNu64 " %n",
					&start, &stop, flags, &offset, &major, &minor, &inode, &n), 7);
		assert_int_equal(v.start, start);
		assert_int_equal(v.end, stop);
		assert_int_equal(v.offset, offset);
		assert_int_equal(v.dev_major, major);
		assert_int_equal(v.dev_minor, minor);
		assert_int_equal(v.inode, inode);
		assert_int_equal(v.readable, flags[0] == 'r');
		assert_int_equal(v.shared, flags[3] == 's');
		assert_string_equal(v.path, line + n);
		if (addr >= v.start && addr < v.end)
			*ret = v;
		lines++;
		p = eol + 1;
	}
	free(text);
	return lines;
}

/*
 * Both captured maps, line by line; and the host address QEMU gave for guest 0x100000 lies in
 * the shared mapping of its RAM file, 0x100000 bytes into the file.
 */
static void maps_captures(void **state)
{
	struct up_host_vma v = { 0 };

	(void)state;
	assert_int_equal(check_maps_capture("x86_64-pc-memfd.maps", 0x7f634c0ff000, &v), 317);
	assert_string_equal(v.path, "/memfd:memory-backend-memfd (deleted)");
	assert_int_equal(v.start, 0x7f634bfff000);
	assert_int_equal(v.end, 0x7f634ffff000);
	assert_true(v.readable && v.shared);
	assert_int_equal(v.offset, 0);
	assert_int_equal(v.dev_major, 0);
	assert_int_equal(v.dev_minor, 1);
	assert_int_equal(v.inode, 1135);
	assert_int_equal(0x7f634c0ff000 - v.start + v.offset, 0x100000);

	memset(&v, 0, sizeof(v));
	assert_int_equal(check_maps_capture("x86_64-pc-file.maps", 0x7f0eac0ff000, &v), 313);
	assert_string_equal(v.path, "/tmp/uniprof-ram-layout-owgs6a9g/guest ram/pc ram");
	assert_int_equal(v.start, 0x7f0eabfff000);
	assert_int_equal(v.end, 0x7f0eaffff000);
	assert_true(v.readable && v.shared);
	assert_int_equal(v.dev_major, 0xfe);
	assert_int_equal(v.dev_minor, 0);
	assert_int_equal(v.inode, 10953332);
	assert_int_equal(0x7f0eac0ff000 - v.start + v.offset, 0x100000);
}

/* Lines copied from the captures, field by field. */
static void maps_lines(void **state)
{
	static const char libc[] = "7f63965be000-7f6396714000 r-xp 00026000 fe:00 332835                     "
				   "/usr/lib/x86_64-linux-gnu/libc.so.6";
	static const char anon[] = "561f8a582000-561f8a5b5000 rw-p 00000000 00:00 0 ";
	static const char heap[] = "561f94317000-561f95241000 rw-p 00000000 00:00 0                          [heap]";
	static const char stack[] = "7ffeab65e000-7ffeab67f000 rw-p 00000000 00:00 0                          [stack]";
	static const char vsyscall[] = "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  "
				       "[vsyscall]";
	struct up_host_vma v;

	(void)state;
	assert_int_equal(maps_line(libc, strlen(libc), &v), 0);
	assert_int_equal(v.start, 0x7f63965be000);
	assert_int_equal(v.end, 0x7f6396714000);
	assert_int_equal(v.offset, 0x26000);
	assert_int_equal(v.dev_major, 0xfe);
	assert_int_equal(v.dev_minor, 0);
	assert_int_equal(v.inode, 332835);
	assert_true(v.readable && !v.shared);
	assert_string_equal(v.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");

	assert_int_equal(maps_line(anon, strlen(anon), &v), 0);
	assert_int_equal(v.start, 0x561f8a582000);
	assert_int_equal(v.inode, 0);
	assert_string_equal(v.path, "");
	/* the same without the kernel's trailing space */
	assert_int_equal(maps_line(anon, strlen(anon) - 1, &v), 0);
	assert_string_equal(v.path, "");

	assert_int_equal(maps_line(heap, strlen(heap), &v), 0);
	assert_string_equal(v.path, "[heap]");
	assert_int_equal(maps_line(stack, strlen(stack), &v), 0);
	assert_string_equal(v.path, "[stack]");
	assert_int_equal(v.end, 0x7ffeab67f000);
	assert_int_equal(maps_line(vsyscall, strlen(vsyscall), &v), 0);
	assert_int_equal(v.start, 0xffffffffff600000);
	assert_int_equal(v.end, 0xffffffffff601000);
	assert_true(!v.readable && !v.shared);
	assert_string_equal(v.path, "[vsyscall]");
}

/* Flags, big devices and inodes, long paths: the forms the kernel can print. */
static void maps_edges(void **state)
{
	char line[512];
	struct up_host_vma v;
	size_t n;

	(void)state;
	assert_int_equal(maps_line("1000-2000 ---p 00000000 00:00 0", 31, &v), 0);
	assert_true(!v.readable && !v.shared);
	assert_int_equal(maps_line("1000-2000 r--s 00000000 00:00 0", 31, &v), 0);
	assert_true(v.readable && v.shared);
	assert_int_equal(maps_line("1000-2000 -w-s 00000000 00:00 0", 31, &v), 0);
	assert_true(!v.readable && v.shared);
	/* nvme: major 259; a 20-bit minor; the largest inode */
	strcpy(line, "1000-2000 r--p ffffffffffff0000 103:fffff 18446744073709551615 /x");
	assert_int_equal(maps_line(line, strlen(line), &v), 0);
	assert_int_equal(v.offset, 0xffffffffffff0000);
	assert_int_equal(v.dev_major, 0x103);
	assert_int_equal(v.dev_minor, 0xfffff);
	assert_int_equal(v.inode, UINT64_MAX);
	assert_string_equal(v.path, "/x");
	/* a path longer than ours is cut, still a string */
	n = (size_t)snprintf(line, sizeof(line), "1000-2000 r--s 00000000 00:05 7 /");
	memset(line + n, 'a', 400);
	assert_int_equal(maps_line(line, n + 400, &v), 0);
	assert_int_equal(strlen(v.path), sizeof(v.path) - 1);
	assert_int_equal(v.path[0], '/');
	assert_int_equal(v.path[sizeof(v.path) - 2], 'a');
	/* a file that is gone, a name with spaces at both ends kept as the kernel wrote it */
	strcpy(line, "1000-2000 rw-s 00000000 00:01 9 /my dir/a file  (deleted)");
	assert_int_equal(maps_line(line, strlen(line), &v), 0);
	assert_string_equal(v.path, "/my dir/a file  (deleted)");
}

static void maps_bad_lines(void **state)
{
	static const char *const bad[] = {
		"",
		" ",
		"1000",
		"1000-",
		"1000-2000",
		"1000-2000 ",
		"1000-2000 r--p",
		"1000-2000 r--p ",
		"1000-2000 r--p 00000000",
		"1000-2000 r--p 00000000 ",
		"1000-2000 r--p 00000000 00",
		"1000-2000 r--p 00000000 00:",
		"1000-2000 r--p 00000000 00:00",
		"1000-2000 r--p 00000000 00:00 ",
		"1000-2000 r--p 00000000 00:00 x",
		/* end before start */
		"2000-1000 r--p 00000000 00:00 0",
		/* numbers too long for 64 bits, or for a device number */
		"10000000000000000-10000000000000001 r--p 00000000 00:00 0",
		"1000-10000000000000000 r--p 00000000 00:00 0",
		"1000-2000 r--p 10000000000000000 00:00 0",
		"1000-2000 r--p 00000000 1000:00 0",
		"1000-2000 r--p 00000000 00:100000 0",
		"1000-2000 r--p 00000000 00:00 18446744073709551616",
		"1000-2000 r--p 00000000 00:00 99999999999999999999",
		"1000-2000 r--p 00000000 00:00 123456789012345678901 /x",
		/* a number running into the next field */
		"1000-2000 r--p 00000000 00:00 0/x",
		"1000-2000 r--p 00000000 00:00 12x /x",
		/* flags */
		"1000-2000 r-- 00000000 00:00 0",
		"1000-2000 r--pp 00000000 00:00 0",
		"1000-2000 abcd 00000000 00:00 0",
		"1000-2000 r--x 00000000 00:00 0",
		"1000-2000 R--p 00000000 00:00 0",
		/* separators */
		"1000-2000  r--p 00000000 00:00 0",
		"1000-2000\tr--p 00000000 00:00 0",
		"1000 2000 r--p 00000000 00:00 0",
		"1000-2000 r--p 00000000 00-00 0",
		"-1000-2000 r--p 00000000 00:00 0",
		"0x1000-0x2000 r--p 00000000 00:00 0",
	};
	struct up_host_vma v;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (maps_line(bad[i], strlen(bad[i]), &v) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mtree_captures_exact),
		cmocka_unit_test(mtree_capture_without_system_view),
		cmocka_unit_test(mtree_other_views_not_taken),
		cmocka_unit_test(mtree_io_and_ramd_left_out),
		cmocka_unit_test(mtree_names),
		cmocka_unit_test(mtree_max),
		cmocka_unit_test(mtree_unsorted),
		cmocka_unit_test(mtree_not_a_map),
		cmocka_unit_test(mtree_truncated),
		cmocka_unit_test(gpa2hva_captures),
		cmocka_unit_test(ram_span_only_ram),
		cmocka_unit_test(gpa2hva_forms),
		cmocka_unit_test(maps_captures),
		cmocka_unit_test(maps_lines),
		cmocka_unit_test(maps_edges),
		cmocka_unit_test(maps_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
