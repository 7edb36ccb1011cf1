/*
 * The protobuf encoder and the pprof writer.  The writer's output is inflated and decoded here
 * by a reader of our own (a few lines of profile.proto, kept apart from the encoder's code),
 * so the checks are on the bytes a pprof reader sees.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "../../writers/protobuf.h"
#include "../../writers/writer.h"

/* ---- a protobuf reader, for this test only ---------------------------------------------- */

struct field {
	uint32_t num;
	int wire;               /* 0 varint, 2 length-delimited */
	uint64_t v;
	const uint8_t *p;
	size_t len;
};

static uint64_t read_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		assert_true(*p < end);
		b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	fail_msg("varint longer than 10 bytes");
	return 0;
}

/* The next field of [*p, end) into *f; 0 at the end. */
static int next_field(const uint8_t **p, const uint8_t *end, struct field *f)
{
	uint64_t tag;

	if (*p == end)
		return 0;
	tag = read_varint(p, end);
	f->num = (uint32_t)(tag >> 3);
	f->wire = (int)(tag & 7);
	if (f->wire == 0) {
		f->v = read_varint(p, end);
	} else {
		assert_int_equal(f->wire, 2);
		f->len = read_varint(p, end);
		assert_true(f->len <= (size_t)(end - *p));
		f->p = *p;
		*p += f->len;
	}
	return 1;
}

/* The varints of a packed field, or a single unpacked one, appended to v[*n]. */
static void read_repeated(const struct field *f, uint64_t *v, size_t *n, size_t cap)
{
	if (f->wire == 0) {
		assert_true(*n < cap);
		v[(*n)++] = f->v;
		return;
	}
	for (const uint8_t *q = f->p; q < f->p + f->len;) {
		assert_true(*n < cap);
		v[(*n)++] = read_varint(&q, f->p + f->len);
	}
}

#define MAX 64

struct line { uint64_t function, line; };
struct label { uint64_t key, str; };
struct sample {
	uint64_t locs[MAX], values[MAX];
	size_t nr_locs, nr_values;
	struct label labels[4];
	size_t nr_labels;
};
struct mapping { uint64_t id, start, limit, offset, filename, flags[4]; };
struct location {
	uint64_t id, mapping, address;
	struct line lines[MAX];
	size_t nr_lines;
};
struct function { uint64_t id, name, system_name, filename; };

struct decoded {
	char *strings[1024];
	size_t nr_strings;
	uint64_t sample_type[4][2];
	size_t nr_sample_types;
	struct sample samples[MAX];
	size_t nr_samples;
	struct mapping mappings[8];
	size_t nr_mappings;
	struct location locations[MAX];
	size_t nr_locations;
	struct function functions[MAX];
	size_t nr_functions;
	uint64_t time_nanos, duration_nanos, period, period_type[2], comments[8];
	size_t nr_comments;
};

static void read_pair(const struct field *f, uint64_t out[2])
{
	const uint8_t *q = f->p, *end = f->p + f->len;
	struct field g;

	while (next_field(&q, end, &g))
		if (g.num == 1 || g.num == 2)
			out[g.num - 1] = g.v;
}

static void read_sample(const struct field *f, struct sample *s)
{
	const uint8_t *q = f->p, *end = f->p + f->len;
	struct field g;

	while (next_field(&q, end, &g)) {
		if (g.num == 1)
			read_repeated(&g, s->locs, &s->nr_locs, MAX);
		else if (g.num == 2)
			read_repeated(&g, s->values, &s->nr_values, MAX);
		else if (g.num == 3) {
			uint64_t kv[2] = { 0, 0 };

			assert_true(s->nr_labels < 4);
			read_pair(&g, kv);
			s->labels[s->nr_labels++] = (struct label){ kv[0], kv[1] };
		}
	}
}

static void read_mapping(const struct field *f, struct mapping *m)
{
	const uint8_t *q = f->p, *end = f->p + f->len;
	struct field g;

	while (next_field(&q, end, &g)) {
		switch (g.num) {
		case 1: m->id = g.v; break;
		case 2: m->start = g.v; break;
		case 3: m->limit = g.v; break;
		case 4: m->offset = g.v; break;
		case 5: m->filename = g.v; break;
		case 7: case 8: case 9: case 10: m->flags[g.num - 7] = g.v; break;
		}
	}
}

static void read_location(const struct field *f, struct location *l)
{
	const uint8_t *q = f->p, *end = f->p + f->len;
	struct field g;

	while (next_field(&q, end, &g)) {
		if (g.num == 1)
			l->id = g.v;
		else if (g.num == 2)
			l->mapping = g.v;
		else if (g.num == 3)
			l->address = g.v;
		else if (g.num == 4) {
			uint64_t fl[2] = { 0, 0 };

			assert_true(l->nr_lines < MAX);
			read_pair(&g, fl);
			l->lines[l->nr_lines++] = (struct line){ fl[0], fl[1] };
		}
	}
}

static void read_function(const struct field *f, struct function *fn)
{
	const uint8_t *q = f->p, *end = f->p + f->len;
	struct field g;

	while (next_field(&q, end, &g)) {
		switch (g.num) {
		case 1: fn->id = g.v; break;
		case 2: fn->name = g.v; break;
		case 3: fn->system_name = g.v; break;
		case 4: fn->filename = g.v; break;
		}
	}
}

static void decode_profile(const uint8_t *data, size_t len, struct decoded *d)
{
	const uint8_t *p = data, *end = data + len;
	struct field f;

	memset(d, 0, sizeof(*d));
	while (next_field(&p, end, &f)) {
		switch (f.num) {
		case 1:
			assert_true(d->nr_sample_types < 4);
			read_pair(&f, d->sample_type[d->nr_sample_types++]);
			break;
		case 2:
			assert_true(d->nr_samples < MAX);
			read_sample(&f, &d->samples[d->nr_samples++]);
			break;
		case 3:
			assert_true(d->nr_mappings < 8);
			read_mapping(&f, &d->mappings[d->nr_mappings++]);
			break;
		case 4:
			assert_true(d->nr_locations < MAX);
			read_location(&f, &d->locations[d->nr_locations++]);
			break;
		case 5:
			assert_true(d->nr_functions < MAX);
			read_function(&f, &d->functions[d->nr_functions++]);
			break;
		case 6:
			assert_int_equal(f.wire, 2);
			assert_true(d->nr_strings < 1024);
			d->strings[d->nr_strings++] = strndup((const char *)f.p, f.len);
			break;
		case 9: d->time_nanos = f.v; break;
		case 10: d->duration_nanos = f.v; break;
		case 11: read_pair(&f, d->period_type); break;
		case 12: d->period = f.v; break;
		case 13: read_repeated(&f, d->comments, &d->nr_comments, 8); break;
		default: fail_msg("unexpected Profile field %u", f.num);
		}
	}
}

static void decoded_free(struct decoded *d)
{
	for (size_t i = 0; i < d->nr_strings; i++)
		free(d->strings[i]);
}

static const char *s_at(const struct decoded *d, uint64_t i)
{
	assert_true(i < d->nr_strings);
	return d->strings[i];
}

static const struct location *location(const struct decoded *d, uint64_t id)
{
	for (size_t i = 0; i < d->nr_locations; i++)
		if (d->locations[i].id == id)
			return &d->locations[i];
	fail_msg("no location %llu", (unsigned long long)id);
	return NULL;
}

static const struct function *function(const struct decoded *d, uint64_t id)
{
	for (size_t i = 0; i < d->nr_functions; i++)
		if (d->functions[i].id == id)
			return &d->functions[i];
	fail_msg("no function %llu", (unsigned long long)id);
	return NULL;
}

/* The name of line k of location id. */
static const char *line_name(const struct decoded *d, uint64_t id, size_t k)
{
	const struct location *l = location(d, id);

	assert_true(k < l->nr_lines);
	return s_at(d, function(d, l->lines[k].function)->name);
}

/* Inflate a gzip member. */
static uint8_t *gunzip(const uint8_t *in, size_t len, size_t *ret_len)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *out = malloc(cap);
	z_stream zs;
	int rc;

	assert_non_null(out);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 16 + 15), Z_OK);
	zs.next_in = (Bytef *)in;
	zs.avail_in = (uInt)len;
	do {
		if (n == cap) {
			cap *= 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		zs.next_out = out + n;
		zs.avail_out = (uInt)(cap - n);
		rc = inflate(&zs, Z_NO_FLUSH);
		assert_true(rc == Z_OK || rc == Z_STREAM_END);
		n = cap - zs.avail_out;
	} while (rc != Z_STREAM_END);
	assert_int_equal(zs.avail_in, 0);  /* one member, nothing after it */
	inflateEnd(&zs);
	*ret_len = n;
	return out;
}

/* ---- fixtures ----------------------------------------------------------------------------- */

static void symbolizer(struct up_symbolizer *s)
{
	struct up_symfile *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	up_symbolizer_init(s, NULL);
	f->path = strdup("guest.elf");
	assert_non_null(f->path);
	assert_null(up_symtab_add(&f->tab, 0x1000, 0x100, "root", 4));
	assert_null(up_symtab_add(&f->tab, 0x1100, 0x100, "middle", 4));
	assert_null(up_symtab_add(&f->tab, 0x1200, 0x100, "leaf_a", 4));
	assert_null(up_symtab_add(&f->tab, 0x1300, 0x100, "leaf_b", 4));
	up_symtab_finish(&f->tab);
	f->slide = 0x40000;
	f->slide_state = UP_SLIDE_GIVEN;
	s->files = calloc(1, sizeof(*s->files));
	assert_non_null(s->files);
	s->files[0] = f;
	s->nr_files = 1;
}

static void meta(struct up_profile *p)
{
	snprintf(p->meta.target, sizeof(p->meta.target), "qemu /tmp/vm.qmp");
	snprintf(p->meta.arch, sizeof(p->meta.arch), "x86_64");
	p->meta.nr_vcpus = 2;
	p->meta.frequency = 250;
	p->meta.start_ns = 1700000000123456789ull;
	p->meta.duration_ns = 6000000000ull;
	p->meta.samples = 7;
	p->meta.truncated = 1;
}

/* Write p with the pprof writer and decode what a reader would see. */
static void pprof(const struct up_profile *p, struct up_symbolizer *s, int per_vcpu,
		  struct decoded *d)
{
	struct up_writer_options opts = { .per_vcpu = per_vcpu };
	struct up_symprofile sp;
	char *gz = NULL;
	size_t gz_len = 0, len;
	FILE *f = open_memstream(&gz, &gz_len);
	uint8_t *raw;

	assert_non_null(f);
	assert_null(up_symprofile_build(p, s, &sp));
	assert_null(up_writer_pprof.write(f, &sp, &opts));
	up_symprofile_deinit(&sp);
	fclose(f);
	assert_true(gz_len > 18);
	assert_int_equal((uint8_t)gz[0], 0x1f);  /* gzip magic */
	assert_int_equal((uint8_t)gz[1], 0x8b);
	raw = gunzip((uint8_t *)gz, gz_len, &len);
	decode_profile(raw, len, d);
	free(raw);
	free(gz);
}

/* ---- the encoder -------------------------------------------------------------------------- */

static void protobuf_encoding(void **state)
{
	struct up_pb b;
	uint64_t packed[] = { 1, 300 };
	size_t outer, inner;
	/* Field 1 = 150; field 2 = "hi"; field 3 = { field 4 = { field 5 = 1 }, 6 = [1, 300] }. */
	static const uint8_t want[] = {
		0x08, 0x96, 0x01,
		0x12, 0x02, 'h', 'i',
		0x1a, 0x09, 0x22, 0x02, 0x28, 0x01, 0x32, 0x03, 0x01, 0xac, 0x02,
		0x38, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
	};

	(void)state;
	up_pb_init(&b);
	up_pb_uint64(&b, 1, 150);
	up_pb_uint64(&b, 9, 0);  /* zero: left out */
	up_pb_string(&b, 2, "hi");
	outer = up_pb_begin(&b);
	inner = up_pb_begin(&b);
	up_pb_bool(&b, 5, 1);
	up_pb_end(&b, 4, inner);
	up_pb_packed_uint64(&b, 6, packed, 2);
	up_pb_packed_uint64(&b, 8, packed, 0);  /* empty: left out */
	up_pb_end(&b, 3, outer);
	up_pb_int64(&b, 7, -1);
	assert_false(up_pb_failed(&b));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));
	up_pb_deinit(&b);
}

static void protobuf_long_message(void **state)
{
	struct up_pb b;
	struct field f;
	const uint8_t *p;
	char text[300];
	size_t m;

	(void)state;
	/* A body of 300 bytes needs a two-byte length: the body moves by three, not two. */
	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	up_pb_init(&b);
	m = up_pb_begin(&b);
	up_pb_string(&b, 1, text);
	up_pb_end(&b, 2, m);
	p = b.data;
	assert_true(next_field(&p, b.data + b.len, &f));
	assert_int_equal(f.num, 2);
	assert_int_equal(f.len, 299 + 3);
	p = f.p;
	assert_true(next_field(&p, f.p + f.len, &f));
	assert_int_equal(f.len, 299);
	assert_memory_equal(f.p, text, 299);
	assert_ptr_equal(p, b.data + b.len);
	up_pb_deinit(&b);
}

/* ---- the writer --------------------------------------------------------------------------- */

static void pprof_samples_and_labels(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	/* Runtime addresses: the file's symbols slid by 0x40000. */
	uint64_t a[] = { 0x41210, 0x41150, 0x41020 }, b[] = { 0x41310, 0x41150, 0x41020 };
	uint64_t unknown[] = { 0x9999, 0x41020 };
	uint64_t counts[2] = { 0, 0 };
	struct decoded d;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	meta(&p);
	assert_null(up_profile_add(&p, 0, a, 3, 0, 3));
	assert_null(up_profile_add(&p, 1, b, 3, 0, 2));
	assert_null(up_profile_add(&p, 1, a, 3, 0, 1));
	assert_null(up_profile_add(&p, 0, unknown, 2, 0, 1));
	pprof(&p, &s, 0, &d);

	assert_string_equal(s_at(&d, 0), "");
	for (size_t i = 0; i < d.nr_strings; i++)
		for (size_t k = i + 1; k < d.nr_strings; k++)
			assert_string_not_equal(d.strings[i], d.strings[k]);
	assert_int_equal(d.nr_sample_types, 2);
	assert_string_equal(s_at(&d, d.sample_type[0][0]), "samples");
	assert_string_equal(s_at(&d, d.sample_type[0][1]), "count");
	assert_string_equal(s_at(&d, d.sample_type[1][0]), "cpu");
	assert_string_equal(s_at(&d, d.sample_type[1][1]), "nanoseconds");
	assert_string_equal(s_at(&d, d.period_type[0]), "cpu");
	assert_string_equal(s_at(&d, d.period_type[1]), "nanoseconds");
	assert_int_equal(d.period, 4000000);  /* 250 Hz */
	assert_int_equal(d.time_nanos, 1700000000123456789ull);
	assert_int_equal(d.duration_nanos, 6000000000ull);
	assert_int_equal(d.nr_comments, 2);
	assert_string_equal(s_at(&d, d.comments[0]), "Target: qemu /tmp/vm.qmp (x86_64, 2 vCPUs)");
	assert_string_equal(s_at(&d, d.comments[1]), "Sampling: 250 Hz, 7 samples, 1 truncated walks");

	/* Every stack is a sample with [count, count * period] and its vCPU as a label. */
	assert_int_equal(d.nr_samples, 4);
	for (size_t i = 0; i < d.nr_samples; i++) {
		const struct sample *smp = &d.samples[i];
		uint32_t vcpu = p.stacks[i]->vcpu;
		char want[16];

		assert_int_equal(smp->nr_values, 2);
		assert_int_equal(smp->values[0], p.stacks[i]->count);
		assert_int_equal(smp->values[1], smp->values[0] * 4000000);
		counts[0] += smp->values[0];
		counts[1] += smp->values[1];
		assert_int_equal(smp->nr_labels, 1);
		assert_string_equal(s_at(&d, smp->labels[0].key), "vcpu");
		snprintf(want, sizeof(want), "vcpu%u", vcpu);
		assert_string_equal(s_at(&d, smp->labels[0].str), want);
		assert_int_equal(smp->nr_locs, p.stacks[i]->depth);
		for (size_t k = 0; k < smp->nr_locs; k++)
			assert_int_equal(location(&d, smp->locs[k])->address, p.stacks[i]->pcs[k]);
	}
	assert_int_equal(counts[0], 7);
	assert_int_equal(counts[1], 7 * 4000000);
	/* Leaf first, as pprof wants: the first location is where the vCPU was. */
	assert_string_equal(line_name(&d, d.samples[0].locs[0], 0), "leaf_a");
	assert_string_equal(line_name(&d, d.samples[0].locs[1], 0), "middle");
	assert_string_equal(line_name(&d, d.samples[0].locs[2], 0), "root");
	assert_string_equal(line_name(&d, d.samples[1].locs[0], 0), "leaf_b");
	assert_string_equal(line_name(&d, d.samples[3].locs[0], 0), "0x9999");

	/* One mapping for the file, at its slide; located addresses in it, the unknown one not. */
	assert_int_equal(d.nr_mappings, 1);
	assert_int_equal(d.mappings[0].id, 1);
	assert_string_equal(s_at(&d, d.mappings[0].filename), "guest.elf");
	assert_int_equal(d.mappings[0].start, 0x41000);
	assert_int_equal(d.mappings[0].limit, 0x41400);
	assert_int_equal(d.mappings[0].offset, 0);
	assert_int_equal(d.mappings[0].flags[0], 1);  /* has_functions */
	assert_int_equal(d.mappings[0].flags[1], 0);  /* no lines were asked for */
	assert_int_equal(d.mappings[0].flags[3], 0);
	for (size_t i = 0; i < d.nr_locations; i++) {
		const struct location *l = &d.locations[i];

		assert_int_equal(l->id, i + 1);
		assert_int_equal(l->nr_lines, 1);
		assert_int_equal(l->mapping, l->address == 0x9999 ? 0 : 1);
	}
	/* One function per name: 0x41150 and 0x41020 appear as callers of both leaves. */
	assert_int_equal(d.nr_functions, 5);
	for (size_t i = 0; i < d.nr_functions; i++) {
		assert_int_equal(d.functions[i].id, i + 1);
		assert_int_equal(d.functions[i].system_name, d.functions[i].name);
		assert_string_equal(s_at(&d, d.functions[i].filename), "");
	}
	decoded_free(&d);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void pprof_per_vcpu_roots(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	uint64_t a[] = { 0x41210, 0x41150, 0x41020 };
	struct decoded d;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	meta(&p);
	assert_null(up_profile_add(&p, 0, a, 3, 0, 2));
	assert_null(up_profile_add(&p, 1, a, 3, 0, 1));
	assert_null(up_profile_add(&p, 7, a, 2, 0, 1));
	pprof(&p, &s, 1, &d);
	/* A "vcpuN" location at the root of each sample, one per vCPU, after the real ones. */
	assert_int_equal(d.nr_samples, 3);
	assert_int_equal(d.nr_locations, 3 + 3);
	assert_int_equal(d.samples[0].nr_locs, 4);
	assert_string_equal(line_name(&d, d.samples[0].locs[0], 0), "leaf_a");
	assert_string_equal(line_name(&d, d.samples[0].locs[3], 0), "vcpu0");
	assert_string_equal(line_name(&d, d.samples[1].locs[3], 0), "vcpu1");
	assert_int_equal(d.samples[2].nr_locs, 3);
	assert_string_equal(line_name(&d, d.samples[2].locs[2], 0), "vcpu7");
	assert_string_equal(s_at(&d, d.samples[2].labels[0].str), "vcpu7");
	assert_int_equal(location(&d, d.samples[2].locs[2])->mapping, 0);
	assert_int_equal(location(&d, d.samples[2].locs[2])->address, 0);
	assert_true(d.samples[0].locs[3] > 3 && d.samples[1].locs[3] > 3);
	assert_int_not_equal(d.samples[0].locs[3], d.samples[1].locs[3]);
	decoded_free(&d);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

/* The [other] bucket of a capped profile: a sample of one location, function "[other]". */
static void pprof_other(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	uint64_t a[] = { 0x41210, 0x41150, 0x41020 }, b[] = { 0x41310, 0x41150, 0x41020 };
	struct decoded d;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	meta(&p);
	p.max_stacks = 1;
	assert_null(up_profile_add(&p, 0, a, 3, 0, 2));
	assert_null(up_profile_add(&p, 0, b, 3, 0, 3));
	assert_null(up_profile_add(&p, 0, b, 2, 0, 1));
	pprof(&p, &s, 0, &d);
	assert_int_equal(d.nr_samples, 2);
	assert_int_equal(d.samples[1].nr_locs, 1);
	assert_int_equal(d.samples[1].values[0], 4);
	assert_string_equal(line_name(&d, d.samples[1].locs[0], 0), "[other]");
	assert_int_equal(location(&d, d.samples[1].locs[0])->mapping, 0);
	decoded_free(&d);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void pprof_empty(void **state)
{
	struct up_symbolizer s;
	struct up_profile p;
	struct decoded d;

	(void)state;
	symbolizer(&s);
	up_profile_init(&p);
	pprof(&p, &s, 0, &d);
	assert_string_equal(s_at(&d, 0), "");
	assert_int_equal(d.nr_samples, 0);
	assert_int_equal(d.nr_sample_types, 2);
	assert_int_equal(d.period, 0);  /* no frequency known */
	assert_int_equal(d.nr_mappings, 1);
	assert_int_equal(d.mappings[0].flags[0], 0);  /* named nothing */
	assert_int_equal(d.mappings[0].start, 0x41000);
	decoded_free(&d);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

/* The line of the source line containing marker in tests/unit/data/inline_example.c. */
static unsigned int line_of(const char *marker)
{
	FILE *f = fopen("tests/unit/data/inline_example.c", "r");
	char buf[256];
	unsigned int n = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		n++;
		if (strstr(buf, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	fail_msg("marker %s not found", marker);
	return 0;
}

static const struct up_symbol *symbol(const struct up_symfile *f, const char *name)
{
	for (size_t i = 0; i < f->tab.nr; i++)
		if (!strcmp(f->tab.syms[i].name, name))
			return &f->tab.syms[i];
	fail_msg("no symbol %s", name);
	return NULL;
}

static void pprof_inline_lines(void **state)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";
	struct up_symbolizer_options opts = { .demangle = 1, .inline_frames = 1, .lines = 1 };
	const struct up_symbol *outer, *main_sym;
	struct up_symbolizer s;
	struct up_profile p;
	uint64_t pcs[2] = { 0, 0 };
	const struct location *leaf, *caller;
	struct decoded d;
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/inline_example", build);
	up_symbolizer_init(&s, &opts);
	assert_null(up_symbolizer_add_file(&s, path, 0, 0));
	assert_non_null(s.files[0]->dwarf);
	outer = symbol(s.files[0], "outer");
	main_sym = symbol(s.files[0], "main");
	/* A pc in outer where inner runs, inlined into middle inlined into outer. */
	for (uint64_t a = outer->start; a < outer->start + outer->size && !pcs[0]; a++) {
		const struct up_frame *fr;

		if (up_symbolizer_frames(&s, a, 0, &fr) == 3)
			pcs[0] = a;
	}
	assert_int_not_equal(pcs[0], 0);
	pcs[1] = main_sym->start + 1;  /* as a return address: the byte before it is main's */
	up_profile_init(&p);
	meta(&p);
	assert_null(up_profile_add(&p, 1, pcs, 2, 0, 5));
	pprof(&p, &s, 0, &d);

	assert_int_equal(d.nr_samples, 1);
	assert_int_equal(d.samples[0].values[0], 5);
	leaf = location(&d, d.samples[0].locs[0]);
	caller = location(&d, d.samples[0].locs[1]);
	assert_int_equal(leaf->address, pcs[0]);
	/* Innermost first: pprof takes every line but the last as inlined into the next. */
	assert_int_equal(leaf->nr_lines, 3);
	assert_string_equal(line_name(&d, leaf->id, 0), "inner");
	assert_string_equal(line_name(&d, leaf->id, 1), "middle");
	assert_string_equal(line_name(&d, leaf->id, 2), "outer");
	assert_int_equal(leaf->lines[0].line, line_of("INNER_LINE"));
	assert_int_equal(leaf->lines[1].line, line_of("MIDDLE_LINE"));
	assert_int_equal(leaf->lines[2].line, line_of("OUTER_LINE"));
	assert_string_equal(s_at(&d, function(&d, leaf->lines[0].function)->filename),
			    "inline_example.c");
	assert_int_equal(caller->nr_lines, 1);
	assert_string_equal(line_name(&d, caller->id, 0), "main");
	/* The mapping says what the file gave. */
	assert_int_equal(d.nr_mappings, 1);
	assert_string_equal(s_at(&d, d.mappings[0].filename), path);
	assert_int_equal(leaf->mapping, 1);
	assert_int_equal(caller->mapping, 1);
	for (int k = 0; k < 4; k++)
		assert_int_equal(d.mappings[0].flags[k], 1);
	assert_true(d.mappings[0].start <= pcs[0] && pcs[0] < d.mappings[0].limit);
	assert_true(d.mappings[0].start <= pcs[1] && pcs[1] < d.mappings[0].limit);
	decoded_free(&d);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

static void pprof_registered(void **state)
{
	(void)state;
	assert_ptr_equal(up_writer_find("pprof"), &up_writer_pprof);
	assert_ptr_equal(up_writer_for_path("/tmp/guest.pb.gz"), &up_writer_pprof);
	assert_null(up_writer_for_path("/tmp/guest.gz"));
	assert_true(up_writer_pprof.binary);
	assert_non_null(strstr(up_writer_names(), "pprof"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(protobuf_encoding),
		cmocka_unit_test(protobuf_long_message),
		cmocka_unit_test(pprof_samples_and_labels),
		cmocka_unit_test(pprof_per_vcpu_roots),
		cmocka_unit_test(pprof_other),
		cmocka_unit_test(pprof_empty),
		cmocka_unit_test(pprof_inline_lines),
		cmocka_unit_test(pprof_registered),
	};

	return cmocka_run_group_tests_name("pprof", tests, NULL, NULL);
}
