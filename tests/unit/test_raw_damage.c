/*
 * Raw recordings that are cut or damaged (record/raw_read.c): a recording cut at every byte
 * reads as a clear error (its header incomplete) or a shorter profile, never more; every byte
 * changed gives an error or the records before it; hostile records within their checks, and
 * zeroed tails.  Run under the sanitizers too (make SANITIZE=address,undefined).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../record/raw.h"
#include "../../record/raw_codec.h"
#include "raw_samples.h"

/* A recording cut at every byte: an error before its header is whole, else a prefix. */
static void test_every_truncation(void **state)
{
	struct up_profile_meta meta;
	struct up_symbolizer sym;
	struct recording rec;
	struct samples all;
	size_t first_ok = 0;

	(void)state;
	make_samples(40, &all);
	make_meta(&all, &meta);
	make_symbolizer(&sym);
	record(&all, &meta, &sym, &rec);
	for (size_t n = 0; n <= rec.len; n++) {
		/* An exact copy, so that a read past n is caught by the sanitizers. */
		char *cut = malloc(n ? n : 1);
		struct up_raw_recording r;
		struct expect e = { .all = &all };
		struct up_error *err;
		size_t whole = 0;

		assert_non_null(cut);
		memcpy(cut, rec.buf, n);
		err = up_raw_read_buffer(cut, n, check_sample, &e, &r);
		free(cut);
		if (err) {
			assert_int_equal(err->code, UP_ERR_INVALID);
			assert_null(strchr(err->message, '\n'));
			/* Errors only while the header is incomplete. */
			assert_int_equal(first_ok, 0);
			assert_true(n < rec.files_end);
			up_error_destroy(err);
			continue;
		}
		if (!first_ok)
			first_ok = n;
		while (whole < all.nr && rec.ends[whole] <= n)
			whole++;
		assert_int_equal(r.stacks, whole);
		assert_int_equal(e.next, whole);
		assert_int_equal(r.profile.total, whole);
		assert_int_equal(r.complete, n == rec.len);
		assert_int_equal(r.size, n);
		assert_true(r.length <= n);
		assert_true(r.nr_files <= 2);
		if (n >= rec.files_end)
			assert_int_equal(r.nr_files, 2);
		if (!r.complete) {
			uint64_t pauses = 0, truncated = 0;

			for (size_t i = 0; i < whole; i++) {
				pauses += !i || all.s[i].time != all.s[i - 1].time;
				truncated += all.s[i].truncated;
			}
			assert_int_equal(r.profile.meta.samples, pauses);
			assert_int_equal(r.profile.meta.truncated, truncated);
		} else {
			assert_meta_equal(&r.profile.meta, &meta);
		}
		up_raw_recording_deinit(&r);
	}
	/* The header record is a few dozen bytes past the magic and version. */
	assert_true(first_ok > RAW_PREFIX_LEN);
	free_recording(&rec);
	up_symbolizer_deinit(&sym);
	free_samples(&all);
}

/* Every byte changed in turn: an error, or a shorter profile of the records before it. */
static void test_corrupted_bytes(void **state)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff };
	struct up_profile_meta meta;
	struct recording rec;
	struct samples all;

	(void)state;
	make_samples(30, &all);
	make_meta(&all, &meta);
	record(&all, &meta, NULL, &rec);
	for (size_t i = 0; i < rec.len; i++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			char *bad = malloc(rec.len);
			struct up_raw_recording r;
			struct expect e = { .all = &all };
			struct up_error *err;

			assert_non_null(bad);
			memcpy(bad, rec.buf, rec.len);
			bad[i] ^= (char)masks[m];
			err = up_raw_read_buffer(bad, rec.len, check_sample, &e, &r);
			free(bad);
			if (err) {
				assert_int_equal(err->code, UP_ERR_INVALID);
				up_error_destroy(err);
				continue;
			}
			/*
			 * Accepted as cut short before the damage: a damaged end record, or a length
			 * that now runs past the end of the file (as a cut one does).  The stacks
			 * read were checked one by one against the recorded ones.
			 */
			assert_false(r.complete);
			assert_true(r.length <= i);
			assert_int_equal(r.stacks, e.next);
			up_raw_recording_deinit(&r);
		}
	}
	free_recording(&rec);
	free_samples(&all);
}

/* Frame payload as a record of type type at the end of buf. */
static size_t put_record(uint8_t *buf, size_t at, uint8_t type, const uint8_t *payload,
			 size_t len)
{
	size_t start = at;

	buf[at++] = type;
	at += raw_put_uvar(buf + at, len);
	memcpy(buf + at, payload, len);
	at += len;
	buf[at] = raw_crc8(0, buf + start, at - start);
	return at + 1;
}

/* The magic, version 1 and a header of nr_vcpus vCPUs. */
static size_t put_prefix(uint8_t *buf, uint32_t version, uint32_t nr_vcpus)
{
	uint8_t header[64];
	size_t n = 0;

	memcpy(buf, RAW_MAGIC, RAW_MAGIC_LEN);
	for (int i = 0; i < 4; i++)
		buf[RAW_MAGIC_LEN + i] = (uint8_t)(version >> (8 * i));
	header[n++] = 4;
	memcpy(header + n, "test", 4);
	n += 4;
	header[n++] = 6;
	memcpy(header + n, "x86_64", 6);
	n += 6;
	n += raw_put_uvar(header + n, nr_vcpus);
	memcpy(header + n, "\0\0\0\0\0\0\x59\x40", 8);  /* 100.0 */
	n += 8;
	header[n++] = 0;  /* start_ns */
	return put_record(buf, RAW_PREFIX_LEN, RAW_HEADER, header, n);
}

/* A sample payload: time delta 1, vcpu, depth (truncated 0), pcs given as raw svars. */
static size_t sample_payload(uint8_t *p, uint64_t vcpu, uint64_t depth)
{
	size_t n = 0;

	n += raw_put_uvar(p + n, raw_zigzag(1));
	n += raw_put_uvar(p + n, vcpu);
	n += raw_put_uvar(p + n, depth << 1);
	for (uint64_t i = 0; i < depth && i < 8; i++)
		n += raw_put_uvar(p + n, raw_zigzag(0x1000));
	return n;
}

static void assert_error(const void *data, size_t len, const char *needle)
{
	struct up_raw_recording r;
	struct up_error *err = up_raw_read_buffer(data, len, NULL, NULL, &r);

	assert_non_null(err);
	if (!strstr(err->message, needle))
		fail_msg("error '%s' does not say '%s'", err->message, needle);
	assert_int_equal(err->code, UP_ERR_INVALID);
	assert_null(strchr(err->message, '\n'));
	up_error_destroy(err);
}

static void assert_reads(const void *data, size_t len, uint64_t stacks, int complete)
{
	struct up_raw_recording r;

	assert_null(up_raw_read_buffer(data, len, NULL, NULL, &r));
	assert_int_equal(r.stacks, stacks);
	assert_int_equal(r.complete, complete);
	up_raw_recording_deinit(&r);
}

static void test_bad_files(void **state)
{
	static uint8_t buf[1 << 16];
	uint8_t payload[256], end[16];
	size_t n, at, len, e = 0;

	(void)state;
	assert_error("", 0, "empty");
	assert_error("root;leaf 1\n", 12, "not a uniprof recording");
	assert_error("UNIPR", 5, "cut short inside its header");
	n = put_prefix(buf, 3, 1);
	assert_error(buf, n, "newer uniprof (recording format version 3; this uniprof reads version 2)");
	n = put_prefix(buf, 0, 1);
	assert_error(buf, n, "format version 0");
	n = put_prefix(buf, 1, 0);
	assert_error(buf, n, "damaged header record");
	n = put_prefix(buf, 1, UP_RAW_MAX_VCPUS + 1);
	assert_error(buf, n, "vCPU count");
	n = put_prefix(buf, 1, 2);
	assert_reads(buf, n, 0, 0);

	/* Samples: the vCPU and depth bounds. */
	len = sample_payload(payload, 2, 1);
	assert_error(buf, put_record(buf, n, RAW_SAMPLE, payload, len), "vCPU beyond");
	len = sample_payload(payload, 1, 0);
	assert_error(buf, put_record(buf, n, RAW_SAMPLE, payload, len), "depth of 0");
	len = sample_payload(payload, 1, UP_RAW_MAX_DEPTH + 1);
	assert_error(buf, put_record(buf, n, RAW_SAMPLE, payload, len), "depth of 0 or over 4096");
	len = sample_payload(payload, 1, 9);  /* says 9 pcs, holds 8 */
	assert_error(buf, put_record(buf, n, RAW_SAMPLE, payload, len), "past the record's end");

	/* A good sample, then order and framing mistakes. */
	len = sample_payload(payload, 1, 3);
	at = put_record(buf, n, RAW_SAMPLE, payload, len);
	assert_reads(buf, at, 1, 0);
	assert_error(buf, put_record(buf, at, RAW_SYMFILE, (const uint8_t *)"\1a\0\0\0", 5),
		     "symbol file after the samples");
	assert_error(buf, put_record(buf, at, RAW_HEADER, payload, 0), "a second header");
	/* A record type this version does not know is skipped. */
	assert_reads(buf, put_record(buf, put_record(buf, at, 77, payload, 5), RAW_SAMPLE,
				     payload, len), 2, 0);
	/* The end record must count what the file holds. */
	e = 0;
	e += raw_put_uvar(end + e, 5);   /* duration */
	e += raw_put_uvar(end + e, 1);   /* samples */
	e += raw_put_uvar(end + e, 0);   /* truncated */
	e += raw_put_uvar(end + e, 2);   /* stacks: one too many */
	assert_error(buf, put_record(buf, at, RAW_END, end, e), "counts 2 stacks");
	end[e - 1] = 1;
	n = put_record(buf, at, RAW_END, end, e);
	assert_reads(buf, n, 1, 1);
	buf[n] = 0;
	assert_error(buf, n + 1, "data after its end record");

	/* Framing: a record over 1 MiB, then something non-zero. */
	memcpy(buf + at, "\x03\xff\xff\x7f", 4);
	memset(buf + at + 4, 0x55, 16);
	assert_error(buf, at + 20, "longer than 1 MiB");
	/* Symbol files: bounds on the state and the strings. */
	n = put_prefix(buf, 1, 2);
	assert_error(buf, put_record(buf, n, RAW_SYMFILE, (const uint8_t *)"\1a\0\4\0", 5),
		     "unknown slide state");
	assert_error(buf, put_record(buf, n, RAW_SYMFILE, (const uint8_t *)"\0\0\1\0", 4),
		     "empty path");
	assert_error(buf, put_record(buf, n, RAW_SYMFILE, (const uint8_t *)"\2a\0\0\1\0", 6),
		     "path too long or with a NUL");
	assert_reads(buf, put_record(buf, n, RAW_SYMFILE, (const uint8_t *)"\1a\0\2\0", 5), 0, 0);
	/* A header that is not first. */
	assert_error(buf, put_record(buf, RAW_PREFIX_LEN, RAW_SAMPLE, payload, len),
		     "the first record is not the header");
}

/* Version 2: TASK records and the exact pcs, task and flags that end each SAMPLE. */
static size_t v2_sample(uint8_t *p, uint64_t depth, uint64_t task, uint64_t flags)
{
	size_t n = sample_payload(p, 0, depth);

	n += raw_put_uvar(p + n, 0);
	n += raw_put_uvar(p + n, task);
	n += raw_put_uvar(p + n, flags);
	return n;
}

static size_t task_payload(uint8_t *p, uint64_t id, const char *comm)
{
	size_t n = 0, len = strlen(comm);

	n += raw_put_uvar(p + n, id);
	n += raw_put_uvar(p + n, raw_zigzag(42));
	n += raw_put_uvar(p + n, raw_zigzag(41));
	n += raw_put_uvar(p + n, len);
	memcpy(p + n, comm, len);
	return n + len;
}

static void test_bad_tasks(void **state)
{
	static uint8_t buf[1 << 12];
	uint8_t payload[256];
	size_t n, at, len;
	struct up_raw_recording r;

	(void)state;
	n = put_prefix(buf, 2, 1);
	len = v2_sample(payload, 2, 1, 0);
	assert_error(buf, put_record(buf, n, RAW_SAMPLE, payload, len), "task not recorded");
	len = task_payload(payload, 2, "dd");
	assert_error(buf, put_record(buf, n, RAW_TASK, payload, len), "task id out of order");
	len = task_payload(payload, 1, "a-name-of-16-chr");
	assert_error(buf, put_record(buf, n, RAW_TASK, payload, len), "task name too long");
	len = task_payload(payload, 1, "dd");
	at = put_record(buf, n, RAW_TASK, payload, len);
	len = v2_sample(payload, 2, 1, 4);
	assert_error(buf, put_record(buf, at, RAW_SAMPLE, payload, len), "unknown stack flags");
	len = v2_sample(payload, 2, 1, UP_STACK_USER);
	assert_error(buf, put_record(buf, at, RAW_SAMPLE, payload, len), "user-mode stack of more");
	len = v2_sample(payload, 1, 1, UP_STACK_USER);
	at = put_record(buf, at, RAW_SAMPLE, payload, len);
	assert_null(up_raw_read_buffer(buf, at, NULL, NULL, &r));
	assert_int_equal(r.version, 2);
	assert_int_equal(r.profile.nr_stacks, 1);
	assert_int_equal(r.profile.stacks[0]->flags, UP_STACK_USER);
	assert_string_equal(r.profile.tasks[r.profile.stacks[0]->task].comm, "dd");
	assert_int_equal(r.profile.tasks[r.profile.stacks[0]->task].pid, 42);
	assert_int_equal(r.profile.tasks[r.profile.stacks[0]->task].tgid, 41);
	up_raw_recording_deinit(&r);
}

/* A crash can leave zeros where the last records should be: the records before them stand. */
static void test_zero_tail(void **state)
{
	struct up_profile_meta meta;
	struct recording rec;
	struct samples all;
	size_t cut, size;
	char *buf;

	(void)state;
	make_samples(20, &all);
	make_meta(&all, &meta);
	record(&all, &meta, NULL, &rec);
	size = rec.len + 4096;
	buf = calloc(1, size);
	assert_non_null(buf);
	/* Zeros from a record boundary, and from inside a record. */
	cut = rec.ends[9];
	memcpy(buf, rec.buf, cut);
	assert_reads(buf, size, 10, 0);
	memcpy(buf, rec.buf, cut + 5);
	assert_reads(buf, size, 10, 0);
	/* Not zeros: damage, whatever follows. */
	buf[size - 1] = 1;
	assert_error(buf, size, "damaged");
	free(buf);
	free_recording(&rec);
	free_samples(&all);
}
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_corrupted_bytes),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_bad_tasks),
		cmocka_unit_test(test_zero_tail),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
