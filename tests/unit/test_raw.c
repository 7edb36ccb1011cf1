/*
 * Raw recordings (record/): what is written reads back the same, from a buffer or a stream; a
 * report of a recording writes, in every format, exactly what the run would have written from
 * the same samples; the writer's own errors; recorded slides go to the right -k files; a
 * checked-in version 1 file still reads.  Damaged and cut files: test_raw_damage.c.
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
#include "../../writers/writer.h"
#include "raw_samples.h"

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
	assert_null(up_raw_read_file(f, 0, check_sample, &e, &r));
	assert_int_equal(e.next, all.nr);
	assert_true(r.complete);
	assert_int_equal(r.nr_files, 0);
	assert_meta_equal(&r.profile.meta, &meta);
	up_raw_recording_deinit(&r);
	/* Capped, as report --max-stacks: every sample is still seen and counted. */
	rewind(f);
	e = (struct expect){ .all = &all };
	assert_null(up_raw_read_file(f, 3, check_sample, &e, &r));
	assert_int_equal(e.next, all.nr);
	assert_int_equal(r.profile.max_stacks, 3);
	assert_int_equal(r.profile.nr_stacks - r.profile.nr_other_buckets, 3);
	assert_int_equal(r.profile.total, all.nr);
	assert_true(r.profile.other > 0);
	up_raw_recording_deinit(&r);
	/* Cut short: a shorter profile from a stream too. */
	assert_int_equal(ftruncate(fileno(f), (off_t)rec.ends[all.nr / 2] + 3), 0);
	rewind(f);
	e = (struct expect){ .all = &all };
	assert_null(up_raw_read_file(f, 0, check_sample, &e, &r));
	assert_false(r.complete);
	assert_int_equal(r.stacks, all.nr / 2 + 1);
	assert_int_equal(r.length, rec.ends[all.nr / 2]);
	assert_int_equal(r.size, rec.ends[all.nr / 2] + 3);
	up_raw_recording_deinit(&r);
	/* A stream that cannot be read is an error of its own. */
	fclose(f);
	f = fopen("/", "r");
	if (f) {
		struct up_error *err = up_raw_read_file(f, 0, NULL, NULL, &r);

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
		assert_null(up_profile_add(&direct, all.s[i].vcpu, all.s[i].pcs, all.s[i].depth,
					    all.s[i].exact, 1));
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
	err = up_raw_write_stack(w, 1, 2, pcs, 1, 0, 0);
	assert_non_null(err);
	up_error_destroy(err);
	err = up_raw_write_stack(w, 1, 0, pcs, 0, 0, 0);
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
		err = up_raw_write_stack(w, 1, 0, pcs, 4, 0, 0);
		if (!err)
			err = up_raw_flush(w);
	}
	assert_non_null(err);
	assert_non_null(strstr(err->message, "No space left on device"));
	up_error_destroy(err);
	err = up_raw_write_stack(w, 1, 0, pcs, 4, 0, 0);
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
	{ START_NS + 1000, 0, 3, 0, 0, (uint64_t *)v1_a },
	{ START_NS + 1000, 1, 3, 1, 0, (uint64_t *)v1_b },
	{ START_NS + 2000, 1, 3, 0, 0, (uint64_t *)v1_a },
	{ START_NS + 1500, 0, 1, 1, 0, (uint64_t *)v1_b },  /* the wall clock stepped back */
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
		cmocka_unit_test(test_writer_refuses_what_reader_would),
		cmocka_unit_test(test_write_failure),
		cmocka_unit_test(test_apply_slides),
		cmocka_unit_test(test_version_1_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
