/*
 * Raw recordings (record/): what is written reads back the same; a report of a recording
 * writes, in every format, exactly what the run would have written from the same samples; a
 * recording cut at any byte reads as a clear error or a shorter profile; damaged and hostile
 * files give one-line errors; recorded slides go to the right -k files.
 */
#define _GNU_SOURCE
#include <errno.h>
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

#include "../../record/raw.h"
#include "../../record/raw_codec.h"
#include "../../writers/writer.h"

#define NR_VCPUS 3
#define START_NS 1790000000123456789ull
#define FUNC(i) (0xffffffff81000000ull + 0x100 * (i))
#define NR_FUNCS 8

struct sample {
	uint64_t time;
	uint32_t vcpu, depth;
	int truncated;
	uint64_t *pcs;          /* leaf first */
};

struct samples {
	struct sample *s;
	size_t nr;
	uint64_t pauses, truncated;
};

static uint64_t next_random(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1dULL;
}

/*
 * Stacks as a run of `pauses` pauses over NR_VCPUS vCPUs would give them: some vCPUs stale,
 * stacks made of a few functions (so that many repeat), one of the deepest depth, extreme
 * addresses, and a wall clock that once steps back.
 */
static void make_samples(size_t pauses, struct samples *ret)
{
	uint64_t seed = 0x9e3779b97f4a7c15ull, time = START_NS + 500;

	memset(ret, 0, sizeof(*ret));
	ret->s = calloc(pauses * NR_VCPUS, sizeof(*ret->s));
	assert_non_null(ret->s);
	for (size_t p = 0; p < pauses; p++) {
		int any = 0;

		time += p == 7 ? -(uint64_t)3000000000ull : 1000000 + next_random(&seed) % 50000;
		for (uint32_t v = 0; v < NR_VCPUS; v++) {
			struct sample *s = &ret->s[ret->nr];

			if (p && next_random(&seed) % 5 == 0)
				continue;  /* stale: not walked, not recorded */
			s->time = time;
			s->vcpu = v;
			s->depth = p == 3 && v == 0 ? UP_RAW_MAX_DEPTH : 1 + next_random(&seed) % 6;
			s->truncated = s->depth == UP_RAW_MAX_DEPTH || next_random(&seed) % 7 == 0;
			s->pcs = calloc(s->depth, sizeof(*s->pcs));
			assert_non_null(s->pcs);
			for (uint32_t d = 0; d < s->depth; d++) {
				/* Root first, as calls go; a few offsets per function. */
				uint64_t r = next_random(&seed);

				s->pcs[s->depth - 1 - d] = FUNC((d + r % 2) % NR_FUNCS) + 0x10 * (r % 3);
			}
			if (p == 5 && s->depth >= 2) {
				s->pcs[0] = UINT64_MAX;
				s->pcs[1] = 0;
			}
			ret->truncated += s->truncated;
			ret->nr++;
			any = 1;
		}
		ret->pauses += any;
	}
}

static void free_samples(struct samples *all)
{
	for (size_t i = 0; i < all->nr; i++)
		free(all->s[i].pcs);
	free(all->s);
}

static void make_meta(const struct samples *all, struct up_profile_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	snprintf(meta->target, sizeof(meta->target), "qemu /run/vm;1.sock");
	snprintf(meta->arch, sizeof(meta->arch), "x86_64");
	meta->nr_vcpus = NR_VCPUS;
	meta->frequency = 99.5;
	meta->start_ns = START_NS;
	meta->duration_ns = 2500000000ull;
	meta->samples = all->pauses + 2;  /* pauses whose vCPUs were all stale count too */
	meta->truncated = all->truncated;
}

/* A symbolizer with two files: functions f0..f7 in the first, the second refused. */
static void make_symbolizer(struct up_symbolizer *s)
{
	static const char *const names[NR_FUNCS] = { "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7" };
	struct up_symfile *f[2];

	up_symbolizer_init(s, NULL);
	for (int i = 0; i < 2; i++) {
		f[i] = calloc(1, sizeof(*f[i]));
		assert_non_null(f[i]);
	}
	for (int i = 0; i < NR_FUNCS; i++)
		assert_null(up_symtab_add(&f[0]->tab, FUNC(i), 0x100, names[i], 2));
	up_symtab_finish(&f[0]->tab);
	up_symtab_finish(&f[1]->tab);
	f[0]->path = strdup("/boot/guest.elf");
	f[0]->slide_state = UP_SLIDE_CONFIRMED;
	snprintf(f[0]->slide_how, sizeof(f[0]->slide_how), "the guest's code matches the file's");
	f[1]->path = strdup("modules/net.ko");
	f[1]->slide = -0x200000;
	f[1]->slide_state = UP_SLIDE_REFUSED;
	snprintf(f[1]->slide_how, sizeof(f[1]->slide_how), "nothing confirmed a slide");
	assert_non_null(f[0]->path);
	assert_non_null(f[1]->path);
	s->files = calloc(2, sizeof(*s->files));
	assert_non_null(s->files);
	s->files[0] = f[0];
	s->files[1] = f[1];
	s->nr_files = 2;
}

/* A recording of all; ret_ends[i] (when not NULL): where the record of stack i ends. */
struct recording {
	char *buf;
	size_t len;
	size_t files_end;       /* the end of the header and symbol file records */
	size_t *ends;
};

static void record(const struct samples *all, const struct up_profile_meta *meta,
		   const struct up_symbolizer *sym, struct recording *ret)
{
	struct up_raw_writer *w;
	FILE *f;

	memset(ret, 0, sizeof(*ret));
	ret->ends = calloc(all->nr + 1, sizeof(*ret->ends));
	f = open_memstream(&ret->buf, &ret->len);
	assert_non_null(f);
	assert_non_null(ret->ends);
	assert_null(up_raw_writer_create(f, meta, sym, &w));
	ret->files_end = ret->len;
	for (size_t i = 0; i < all->nr; i++) {
		const struct sample *s = &all->s[i];

		assert_null(up_raw_write_stack(w, s->time, s->vcpu, s->pcs, s->depth, s->truncated));
		assert_null(up_raw_flush(w));
		ret->ends[i] = ret->len;
	}
	assert_int_equal(up_raw_writer_stacks(w), all->nr);
	assert_null(up_raw_writer_finish(w, meta));
	up_raw_writer_destroy(w);
	assert_int_equal(fclose(f), 0);
}

static void free_recording(struct recording *r)
{
	free(r->buf);
	free(r->ends);
}

/* A sample callback that checks each sample against the next expected one. */
struct expect {
	const struct samples *all;
	size_t next;
};

static struct up_error *check_sample(void *ctx, uint64_t time_ns, uint32_t vcpu,
				     const uint64_t *pcs, uint32_t depth, int truncated)
{
	struct expect *e = ctx;
	const struct sample *s;

	assert_true(e->next < e->all->nr);
	s = &e->all->s[e->next++];
	assert_true(time_ns == s->time);
	assert_int_equal(vcpu, s->vcpu);
	assert_int_equal(depth, s->depth);
	assert_int_equal(truncated, s->truncated);
	assert_memory_equal(pcs, s->pcs, depth * sizeof(*pcs));
	return NULL;
}

static void assert_meta_equal(const struct up_profile_meta *a, const struct up_profile_meta *b)
{
	assert_string_equal(a->target, b->target);
	assert_string_equal(a->arch, b->arch);
	assert_int_equal(a->nr_vcpus, b->nr_vcpus);
	assert_true(a->frequency == b->frequency);
	assert_true(a->start_ns == b->start_ns);
	assert_true(a->duration_ns == b->duration_ns);
	assert_int_equal(a->samples, b->samples);
	assert_int_equal(a->truncated, b->truncated);
}

static void assert_profiles_equal(const struct up_profile *a, const struct up_profile *b)
{
	assert_meta_equal(&a->meta, &b->meta);
	assert_int_equal(a->total, b->total);
	assert_int_equal(a->nr_stacks, b->nr_stacks);
	for (size_t i = 0; i < a->nr_stacks; i++) {
		const struct up_stack *x = a->stacks[i], *y = b->stacks[i];

		assert_int_equal(x->vcpu, y->vcpu);
		assert_int_equal(x->depth, y->depth);
		assert_int_equal(x->count, y->count);
		assert_memory_equal(x->pcs, y->pcs, x->depth * sizeof(x->pcs[0]));
	}
}

static void test_round_trip(void **state)
{
	struct up_raw_recording r;
	struct up_profile_meta meta;
	struct up_symbolizer sym;
	struct recording rec;
	struct samples all;
	struct expect e;

	(void)state;
	make_samples(200, &all);
	make_meta(&all, &meta);
	make_symbolizer(&sym);
	record(&all, &meta, &sym, &rec);
	e = (struct expect){ .all = &all };
	assert_null(up_raw_read_buffer(rec.buf, rec.len, check_sample, &e, &r));
	assert_int_equal(e.next, all.nr);
	assert_int_equal(r.version, UP_RAW_VERSION);
	assert_true(r.complete);
	assert_int_equal(r.length, rec.len);
	assert_int_equal(r.size, rec.len);
	assert_int_equal(r.stacks, all.nr);
	assert_int_equal(r.profile.total, all.nr);
	assert_meta_equal(&r.profile.meta, &meta);
	assert_int_equal(r.nr_files, 2);
	assert_string_equal(r.files[0].path, "/boot/guest.elf");
	assert_int_equal(r.files[0].slide, 0);
	assert_int_equal(r.files[0].slide_state, UP_SLIDE_CONFIRMED);
	assert_string_equal(r.files[0].slide_how, "the guest's code matches the file's");
	assert_string_equal(r.files[1].path, "modules/net.ko");
	assert_true(r.files[1].slide == -0x200000);
	assert_int_equal(r.files[1].slide_state, UP_SLIDE_REFUSED);
	/* Compact: repeated outer frames cost a byte each. */
	print_message("%zu stacks in %zu bytes\n", all.nr, rec.len);
	up_raw_recording_deinit(&r);
	up_raw_recording_deinit(&r);  /* twice is harmless */
	free_recording(&rec);
	up_symbolizer_deinit(&sym);
	free_samples(&all);
}

/* The same file read as a stream, as uniprof report reads it. */
static void test_read_file(void **state)
{
	struct up_raw_recording r;
	struct up_profile_meta meta;
	struct recording rec;
	struct samples all;
	struct expect e;
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	make_samples(50, &all);
	make_meta(&all, &meta);
	record(&all, &meta, NULL, &rec);
	assert_int_equal(fwrite(rec.buf, 1, rec.len, f), rec.len);
	rewind(f);
	e = (struct expect){ .all = &all };
	assert_null(up_raw_read_file(f, check_sample, &e, &r));
	assert_int_equal(e.next, all.nr);
	assert_true(r.complete);
	assert_int_equal(r.nr_files, 0);
	assert_meta_equal(&r.profile.meta, &meta);
	up_raw_recording_deinit(&r);
	/* Cut short: a shorter profile from a stream too. */
	assert_int_equal(ftruncate(fileno(f), (off_t)rec.ends[all.nr / 2] + 3), 0);
	rewind(f);
	e = (struct expect){ .all = &all };
	assert_null(up_raw_read_file(f, check_sample, &e, &r));
	assert_false(r.complete);
	assert_int_equal(r.stacks, all.nr / 2 + 1);
	assert_int_equal(r.length, rec.ends[all.nr / 2]);
	assert_int_equal(r.size, rec.ends[all.nr / 2] + 3);
	up_raw_recording_deinit(&r);
	/* A stream that cannot be read is an error of its own. */
	fclose(f);
	f = fopen("/", "r");
	if (f) {
		struct up_error *err = up_raw_read_file(f, NULL, NULL, &r);

		assert_non_null(err);
		assert_int_equal(err->code, UP_ERR_OS);
		up_error_destroy(err);
		fclose(f);
	}
	free_recording(&rec);
	free_samples(&all);
}

/* The output of writer w (per_vcpu) for p named by sym. */
static char *write_with(const struct up_writer *w, const struct up_profile *p,
			struct up_symbolizer *sym, int per_vcpu, size_t *ret_len)
{
	struct up_writer_options opts = { .per_vcpu = per_vcpu };
	struct up_symprofile sp;
	char *text = NULL;
	FILE *f = open_memstream(&text, ret_len);

	assert_non_null(f);
	assert_null(up_symprofile_build(p, sym, &sp));
	assert_null(w->write(f, &sp, &opts));
	up_symprofile_deinit(&sp);
	assert_int_equal(fclose(f), 0);
	return text;
}

/*
 * uniprof report of a recording equals the run's own profile of the same samples, byte for
 * byte, in every format the build has.
 */
static void test_report_equals_direct(void **state)
{
	struct up_raw_recording r;
	struct up_profile_meta meta;
	struct up_symbolizer sym;
	struct up_profile direct;
	struct recording rec;
	struct samples all;
	char names[256], *name, *save = NULL;
	int writers = 0;

	(void)state;
	make_samples(300, &all);
	make_meta(&all, &meta);
	make_symbolizer(&sym);
	/* The run: stacks into the profile as the sampler adds them, metadata as main sets it. */
	up_profile_init(&direct);
	direct.meta = meta;
	for (size_t i = 0; i < all.nr; i++)
		assert_null(up_profile_add(&direct, all.s[i].vcpu, all.s[i].pcs, all.s[i].depth, 1));
	record(&all, &meta, &sym, &rec);
	assert_null(up_raw_read_buffer(rec.buf, rec.len, NULL, NULL, &r));
	assert_profiles_equal(&r.profile, &direct);

	snprintf(names, sizeof(names), "%s", up_writer_names());
	for (name = strtok_r(names, "|", &save); name; name = strtok_r(NULL, "|", &save)) {
		const struct up_writer *w = up_writer_find(name);

		assert_non_null(w);
		for (int per_vcpu = 0; per_vcpu < 2; per_vcpu++) {
			size_t len_a, len_b;
			char *a = write_with(w, &direct, &sym, per_vcpu, &len_a);
			char *b = write_with(w, &r.profile, &sym, per_vcpu, &len_b);

			assert_true(len_a > 0);
			assert_int_equal(len_a, len_b);
			assert_memory_equal(a, b, len_a);
			free(a);
			free(b);
		}
		writers++;
	}
	assert_true(writers >= 1);
	up_raw_recording_deinit(&r);
	up_profile_deinit(&direct);
	free_recording(&rec);
	up_symbolizer_deinit(&sym);
	free_samples(&all);
}

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
	n = put_prefix(buf, 2, 1);
	assert_error(buf, n, "newer uniprof (recording format version 2; this uniprof reads version 1)");
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

static void test_writer_refuses_what_reader_would(void **state)
{
	struct up_profile_meta meta = { .nr_vcpus = 2, .frequency = 10 };
	struct up_raw_writer *w;
	uint64_t pcs[1] = { 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct up_error *err;

	(void)state;
	assert_non_null(f);
	assert_null(up_raw_writer_create(f, &meta, NULL, &w));
	err = up_raw_write_stack(w, 1, 2, pcs, 1, 0);
	assert_non_null(err);
	up_error_destroy(err);
	err = up_raw_write_stack(w, 1, 0, pcs, 0, 0);
	assert_non_null(err);
	up_error_destroy(err);
	up_raw_writer_destroy(w);
	up_raw_writer_destroy(NULL);
	meta.nr_vcpus = 0;
	err = up_raw_writer_create(f, &meta, NULL, &w);
	assert_non_null(err);
	up_error_destroy(err);
	fclose(f);
	free(buf);
}

/* A stream that takes budget bytes, then fails as a full disk does. */
static ssize_t full_write(void *cookie, const char *buf, size_t size)
{
	size_t *budget = cookie;

	(void)buf;
	if (size > *budget) {
		errno = ENOSPC;
		return -1;
	}
	*budget -= size;
	return (ssize_t)size;
}

/* A write that fails is an error then and for every later call. */
static void test_write_failure(void **state)
{
	struct up_profile_meta meta = { .nr_vcpus = 1, .frequency = 10 };
	cookie_io_functions_t io = { .write = full_write };
	uint64_t pcs[4] = { 1, 2, 3, 4 };
	struct up_raw_writer *w;
	struct up_error *err = NULL;
	size_t budget = 0;
	FILE *f = fopencookie(&budget, "w", io);

	(void)state;
	assert_non_null(f);
	err = up_raw_writer_create(f, &meta, NULL, &w);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_OS);
	assert_non_null(strstr(err->message, "writing the recording: No space left on device"));
	up_error_destroy(err);
	err = NULL;
	fclose(f);

	budget = 100;
	f = fopencookie(&budget, "w", io);
	assert_non_null(f);
	assert_null(up_raw_writer_create(f, &meta, NULL, &w));
	for (int i = 0; i < 100 && !err; i++) {
		err = up_raw_write_stack(w, 1, 0, pcs, 4, 0);
		if (!err)
			err = up_raw_flush(w);
	}
	assert_non_null(err);
	assert_non_null(strstr(err->message, "No space left on device"));
	up_error_destroy(err);
	err = up_raw_write_stack(w, 1, 0, pcs, 4, 0);
	assert_non_null(strstr(err->message, "No space left on device"));
	up_error_destroy(err);
	err = up_raw_writer_finish(w, &meta);
	assert_non_null(strstr(err->message, "No space left on device"));
	up_error_destroy(err);
	up_raw_writer_destroy(w);
	fclose(f);
}

static struct up_symfile *symfile(const char *path)
{
	struct up_symfile *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->path = strdup(path);
	assert_non_null(f->path);
	return f;
}

/* Recorded slides go to the -k file of the same name, else of the same position. */
static void test_apply_slides(void **state)
{
	struct up_raw_symfile files[3] = {
		{ .path = (char *)"/boot/vmlinux", .slide = 0x1000000,
		  .slide_state = UP_SLIDE_CONFIRMED, .slide_how = "KASLR: linux_banner" },
		{ .path = (char *)"efi/app.efi", .slide = 0x7000,
		  .slide_state = UP_SLIDE_GIVEN, .slide_how = "given: loaded at 0x7000" },
		{ .path = (char *)"mod.ko", .slide_state = UP_SLIDE_REFUSED,
		  .slide_how = "nothing confirmed a slide" },
	};
	struct up_raw_recording r = { .files = files, .nr_files = 3 };
	struct up_symbolizer s;

	(void)state;
	up_symbolizer_init(&s, NULL);
	s.files = calloc(4, sizeof(*s.files));
	assert_non_null(s.files);
	/* By name, in another order and folder; by position, renamed; given by the user: kept. */
	s.files[0] = symfile("/tmp/x/app.efi");
	s.files[1] = symfile("vmlinux-debug");
	s.files[2] = symfile("mod.ko");
	s.files[3] = symfile("vmlinux");
	s.files[3]->slide = 5;
	s.files[3]->slide_state = UP_SLIDE_GIVEN;
	s.nr_files = 4;
	assert_int_equal(up_raw_apply_slides(&r, &s), 2);
	assert_true(s.files[0]->slide == 0x7000);
	assert_int_equal(s.files[0]->slide_state, UP_SLIDE_GIVEN);
	assert_string_equal(s.files[0]->slide_how, "recorded: given: loaded at 0x7000");
	/* Position 1 was efi/app.efi, a name another -k file has: not this one's. */
	assert_int_equal(s.files[1]->slide_state, UP_SLIDE_UNKNOWN);
	assert_int_equal(s.files[2]->slide_state, UP_SLIDE_REFUSED);
	assert_true(s.files[3]->slide == 5);
	up_symbolizer_deinit(&s);

	/* One file renamed: the recorded file at its position. */
	up_symbolizer_init(&s, NULL);
	s.files = calloc(1, sizeof(*s.files));
	assert_non_null(s.files);
	s.files[0] = symfile("vmlinux-6.1-dbg");
	s.nr_files = 1;
	assert_int_equal(up_raw_apply_slides(&r, &s), 1);
	assert_true(s.files[0]->slide == 0x1000000);
	assert_int_equal(s.files[0]->slide_state, UP_SLIDE_CONFIRMED);
	assert_string_equal(s.files[0]->slide_how, "recorded: KASLR: linux_banner");
	up_symbolizer_deinit(&s);
}

/* tests/unit/data/raw in the working directory or above it. */
static void data_path(const char *file, char *ret, size_t len)
{
	char dir[PATH_MAX];

	assert_non_null(getcwd(dir, sizeof(dir)));
	for (;;) {
		struct stat st;
		char *slash;

		if ((size_t)snprintf(ret, len, "%s/tests/unit/data/raw/%s", dir, file) < len &&
		    !stat(ret, &st))
			return;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			fail_msg("no tests/unit/data/raw/%s above the working directory", file);
		*slash = '\0';
	}
}

/*
 * A version 1 file, checked in: this and every later uniprof must read it, and this one
 * writes it byte for byte (a change to the format is a new version).
 */
static const uint64_t v1_a[] = { FUNC(2) + 0x10, FUNC(1) + 0x20, FUNC(0) + 0x30 };
static const uint64_t v1_b[] = { FUNC(3), FUNC(1) + 0x20, FUNC(0) + 0x30 };
static struct sample v1_samples[] = {
	{ START_NS + 1000, 0, 3, 0, (uint64_t *)v1_a },
	{ START_NS + 1000, 1, 3, 1, (uint64_t *)v1_b },
	{ START_NS + 2000, 1, 3, 0, (uint64_t *)v1_a },
	{ START_NS + 1500, 0, 1, 1, (uint64_t *)v1_b },  /* the wall clock stepped back */
};

/* The recording tests/unit/data/raw/v1.uniprof holds. */
static void v1_recording(struct samples *all, struct up_profile_meta *meta,
			 struct up_symbolizer *sym, struct recording *rec)
{
	*all = (struct samples){ .s = v1_samples, .nr = 4, .pauses = 3, .truncated = 2 };
	make_meta(all, meta);
	make_symbolizer(sym);
	record(all, meta, sym, rec);
}

static void test_version_1_file(void **state)
{
	struct samples all;
	char path[PATH_MAX + 64];
	struct up_profile_meta meta;
	struct up_symbolizer sym;
	struct up_raw_recording r;
	struct recording rec;
	struct expect e = { 0 };
	char *file;
	long size;
	FILE *f;

	(void)state;
	v1_recording(&all, &meta, &sym, &rec);
	e.all = &all;
	data_path("v1.uniprof", path, sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	file = malloc((size_t)size);
	assert_non_null(file);
	assert_int_equal(fread(file, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	assert_int_equal((size_t)size, rec.len);
	assert_memory_equal(file, rec.buf, rec.len);
	assert_null(up_raw_read_buffer(file, (size_t)size, check_sample, &e, &r));
	assert_int_equal(e.next, 4);
	assert_true(r.complete);
	assert_meta_equal(&r.profile.meta, &meta);
	assert_int_equal(r.nr_files, 2);
	assert_int_equal(r.profile.nr_stacks, 4);
	up_raw_recording_deinit(&r);
	free(file);
	free_recording(&rec);
	up_symbolizer_deinit(&sym);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_report_equals_direct),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_corrupted_bytes),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_zero_tail),
		cmocka_unit_test(test_writer_refuses_what_reader_would),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_apply_slides),
		cmocka_unit_test(test_version_1_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
