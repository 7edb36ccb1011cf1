/*
 * pprof: a gzipped perftools.profiles.Profile (github.com/google/pprof, proto/profile.proto),
 * encoded by hand with protobuf.h and compressed with zlib.
 *
 * Mapping: one per symbol file.  Location: one per location of the symbolized profile, leaf
 * first in each sample, with its frames as lines innermost first (pprof's order: the last line
 * is the real function, the ones before it were inlined into it).  Function: one per distinct
 * name and source file.  Every sample carries its vCPU as the string label vcpu=vcpuN, and,
 * when its Linux task is known, the labels thread=comm, pid=tgid and tid=pid (numbers).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "protobuf.h"
#include "writer.h"

/* Field numbers of profile.proto. */
enum {
	PROFILE_SAMPLE_TYPE = 1,
	PROFILE_SAMPLE = 2,
	PROFILE_MAPPING = 3,
	PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5,
	PROFILE_STRING_TABLE = 6,
	PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10,
	PROFILE_PERIOD_TYPE = 11,
	PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13,

	VALUE_TYPE_TYPE = 1,
	VALUE_TYPE_UNIT = 2,

	SAMPLE_LOCATION_ID = 1,
	SAMPLE_VALUE = 2,
	SAMPLE_LABEL = 3,

	LABEL_KEY = 1,
	LABEL_STR = 2,
	LABEL_NUM = 3,

	MAPPING_ID = 1,
	MAPPING_MEMORY_START = 2,
	MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILENAME = 5,
	MAPPING_HAS_FUNCTIONS = 7,
	MAPPING_HAS_FILENAMES = 8,
	MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,

	LOCATION_ID = 1,
	LOCATION_MAPPING_ID = 2,
	LOCATION_ADDRESS = 3,
	LOCATION_LINE = 4,

	LINE_FUNCTION_ID = 1,
	LINE_LINE = 2,

	FUNCTION_ID = 1,
	FUNCTION_NAME = 2,
	FUNCTION_SYSTEM_NAME = 3,
	FUNCTION_FILENAME = 4,
};

/* Open addressing from a nonzero 64-bit key to a 32-bit value; grows at half full. */
struct idmap {
	uint64_t *keys;     /* 0: empty */
	uint32_t *values;
	size_t size, used;
};

static uint64_t mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static void idmap_deinit(struct idmap *m)
{
	free(m->keys);
	free(m->values);
	memset(m, 0, sizeof(*m));
}

static size_t idmap_probe(const struct idmap *m, uint64_t key)
{
	size_t i = mix64(key) & (m->size - 1);

	while (m->keys[i] && m->keys[i] != key)
		i = (i + 1) & (m->size - 1);
	return i;
}

/* The value of key, or 0 when it has none (values stored are never 0). */
static uint32_t idmap_get(const struct idmap *m, uint64_t key)
{
	size_t i;

	if (!m->size)
		return 0;
	i = idmap_probe(m, key);
	return m->keys[i] ? m->values[i] : 0;
}

static int idmap_put(struct idmap *m, uint64_t key, uint32_t value)
{
	size_t i;

	if ((m->used + 1) * 2 > m->size) {
		struct idmap bigger = { .size = m->size ? m->size * 2 : 256 };

		bigger.keys = calloc(bigger.size, sizeof(*bigger.keys));
		bigger.values = calloc(bigger.size, sizeof(*bigger.values));
		if (!bigger.keys || !bigger.values) {
			idmap_deinit(&bigger);
			return -1;
		}
		for (size_t k = 0; k < m->size; k++) {
			if (m->keys[k]) {
				i = idmap_probe(&bigger, m->keys[k]);
				bigger.keys[i] = m->keys[k];
				bigger.values[i] = m->values[k];
			}
		}
		bigger.used = m->used;
		idmap_deinit(m);
		*m = bigger;
	}
	i = idmap_probe(m, key);
	if (!m->keys[i])
		m->used++;
	m->keys[i] = key;
	m->values[i] = value;
	return 0;
}

/* The string table: each distinct string once, "" first. */
struct strtab {
	char **strs;
	size_t nr, cap;
	struct idmap index;  /* hash of a string (never 0) -> 1 + index of its first entry */
	uint32_t *next;      /* 1 + index of the next string with the same hash, per string */
};

static uint64_t hash_string(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h ? h : 1;
}

static void strtab_deinit(struct strtab *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->next);
	idmap_deinit(&t->index);
	memset(t, 0, sizeof(*t));
}

/* The index of s in the table, added if new; -1 when out of memory. */
static int64_t strtab_index(struct strtab *t, const char *s)
{
	uint64_t h = hash_string(s);
	uint32_t first = idmap_get(&t->index, h);

	for (uint32_t e = first; e; e = t->next[e - 1])
		if (!strcmp(t->strs[e - 1], s))
			return e - 1;
	if (t->nr == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 1024;
		char **strs = realloc(t->strs, cap * sizeof(*strs));
		uint32_t *next;

		if (!strs)
			return -1;
		t->strs = strs;
		next = realloc(t->next, cap * sizeof(*next));
		if (!next)
			return -1;
		t->next = next;
		t->cap = cap;
	}
	t->strs[t->nr] = strdup(s);
	if (!t->strs[t->nr] || idmap_put(&t->index, h, (uint32_t)t->nr + 1)) {
		free(t->strs[t->nr]);
		return -1;
	}
	t->next[t->nr] = first;
	return (int64_t)t->nr++;
}

struct function {
	int64_t name, file;   /* string indices */
};

struct pprof {
	const struct up_symprofile *p;
	const struct up_writer_options *opts;
	struct up_pb pb;
	struct strtab strings;
	int nomem;                 /* a string or function could not be stored */
	struct function *funcs;    /* function id i + 1 */
	size_t nr_funcs, cap_funcs;
	struct idmap func_index;   /* name << 32 | file -> function id */
	struct idmap vcpu_roots;   /* 1 + vCPU -> id of its root location (--per-vcpu) */
	uint32_t nr_vcpu_roots;
	uint64_t *ids;             /* one sample's location ids */
	size_t cap_ids;
};

static int64_t str(struct pprof *w, const char *s)
{
	int64_t i = strtab_index(&w->strings, s);

	if (i < 0) {
		w->nomem = 1;
		return 0;
	}
	return i;
}

/* The id of the function called name in file (NULL: unknown); 0 when out of memory. */
static uint64_t function_id(struct pprof *w, const char *name, const char *file)
{
	struct function f = { str(w, name), str(w, file ? file : "") };
	uint64_t key = (uint64_t)f.name << 32 | (uint64_t)f.file;
	uint32_t id = idmap_get(&w->func_index, key + 1);

	if (id)
		return id;
	if (w->nr_funcs == w->cap_funcs) {
		size_t cap = w->cap_funcs ? w->cap_funcs * 2 : 256;
		struct function *funcs = realloc(w->funcs, cap * sizeof(*funcs));

		if (!funcs)
			goto nomem;
		w->funcs = funcs;
		w->cap_funcs = cap;
	}
	w->funcs[w->nr_funcs] = f;
	id = (uint32_t)++w->nr_funcs;
	if (idmap_put(&w->func_index, key + 1, id))
		goto nomem;
	return id;
nomem:
	w->nomem = 1;
	return 0;
}

static void value_type(struct pprof *w, uint32_t field, const char *type, const char *unit)
{
	size_t m = up_pb_begin(&w->pb);

	up_pb_int64(&w->pb, VALUE_TYPE_TYPE, str(w, type));
	up_pb_int64(&w->pb, VALUE_TYPE_UNIT, str(w, unit));
	up_pb_end(&w->pb, field, m);
}

/* The id of vCPU vcpu's root location, made on first use; 0 when out of memory. */
static uint64_t vcpu_root(struct pprof *w, uint32_t vcpu)
{
	uint32_t id = idmap_get(&w->vcpu_roots, (uint64_t)vcpu + 1);

	if (id)
		return id;
	/* After the symbolized profile's locations, which take ids 1..nr_locs. */
	id = (uint32_t)(w->p->nr_locs + ++w->nr_vcpu_roots);
	if (idmap_put(&w->vcpu_roots, (uint64_t)vcpu + 1, id)) {
		w->nomem = 1;
		return 0;
	}
	return id;
}

static void write_sample(struct pprof *w, const struct up_sym_stack *st, int64_t period)
{
	size_t n = 0, need = (size_t)st->depth + 1, m;
	uint64_t values[2] = { st->count, st->count * (uint64_t)period };
	char vcpu[32];

	if (need > w->cap_ids) {
		uint64_t *ids = realloc(w->ids, need * sizeof(*ids));

		if (!ids) {
			w->nomem = 1;
			return;
		}
		w->ids = ids;
		w->cap_ids = need;
	}
	/* Both orders agree: leaf first. */
	for (uint32_t d = 0; d < st->depth; d++)
		w->ids[n++] = (uint64_t)st->locs[d] + 1;
	if (w->opts->per_vcpu)
		w->ids[n++] = vcpu_root(w, st->vcpu);
	snprintf(vcpu, sizeof(vcpu), "vcpu%" PRIu32, st->vcpu);
	m = up_pb_begin(&w->pb);
	up_pb_packed_uint64(&w->pb, SAMPLE_LOCATION_ID, w->ids, n);
	up_pb_packed_uint64(&w->pb, SAMPLE_VALUE, values, 2);
	{
		size_t l = up_pb_begin(&w->pb);

		up_pb_int64(&w->pb, LABEL_KEY, str(w, "vcpu"));
		up_pb_int64(&w->pb, LABEL_STR, str(w, vcpu));
		up_pb_end(&w->pb, SAMPLE_LABEL, l);
	}
	if (st->task) {
		/* As perf's converter labels them: the thread's name, its process and thread ids. */
		size_t l = up_pb_begin(&w->pb);

		up_pb_int64(&w->pb, LABEL_KEY, str(w, "thread"));
		up_pb_int64(&w->pb, LABEL_STR, str(w, st->task->comm));
		up_pb_end(&w->pb, SAMPLE_LABEL, l);
		l = up_pb_begin(&w->pb);
		up_pb_int64(&w->pb, LABEL_KEY, str(w, "pid"));
		up_pb_int64(&w->pb, LABEL_NUM, st->task->tgid);
		up_pb_end(&w->pb, SAMPLE_LABEL, l);
		l = up_pb_begin(&w->pb);
		up_pb_int64(&w->pb, LABEL_KEY, str(w, "tid"));
		up_pb_int64(&w->pb, LABEL_NUM, st->task->pid);
		up_pb_end(&w->pb, SAMPLE_LABEL, l);
	}
	up_pb_end(&w->pb, PROFILE_SAMPLE, m);
}

/*
 * Symbol file i's mapping: the runtime range of its symbols (link addresses plus its slide),
 * widened to every location it names, so each location lies inside its mapping.
 */
static void write_mapping(struct pprof *w, size_t i)
{
	const struct up_symprofile *p = w->p;
	const struct up_symfile *f = p->symbolizer->files[i];
	uint64_t start = UINT64_MAX, limit = 0;
	int named = 0;
	size_t m;

	for (size_t k = 0; k < f->tab.nr; k++) {
		const struct up_symbol *s = &f->tab.syms[k];
		uint64_t lo = s->start + (uint64_t)f->slide;
		uint64_t hi = lo + (s->size ? s->size : 1);

		start = lo < start ? lo : start;
		limit = hi > limit ? hi : limit;
	}
	for (size_t k = 0; k < p->nr_locs; k++) {
		const struct up_location *loc = &p->locs[k];

		if (loc->file != (int)i)
			continue;
		named = 1;
		start = loc->addr < start ? loc->addr : start;
		limit = loc->addr >= limit ? loc->addr + 1 : limit;
	}
	if (start > limit)
		start = limit = 0;
	m = up_pb_begin(&w->pb);
	up_pb_uint64(&w->pb, MAPPING_ID, i + 1);
	up_pb_uint64(&w->pb, MAPPING_MEMORY_START, start);
	up_pb_uint64(&w->pb, MAPPING_MEMORY_LIMIT, limit);
	/* file_offset stays 0: every location is named here, pprof need not map back to the file. */
	up_pb_int64(&w->pb, MAPPING_FILENAME, str(w, f->path));
	up_pb_bool(&w->pb, MAPPING_HAS_FUNCTIONS, named);
	up_pb_bool(&w->pb, MAPPING_HAS_FILENAMES, p->lines && f->dwarf);
	up_pb_bool(&w->pb, MAPPING_HAS_LINE_NUMBERS, p->lines && f->dwarf);
	up_pb_bool(&w->pb, MAPPING_HAS_INLINE_FRAMES, p->inline_frames && f->dwarf);
	up_pb_end(&w->pb, PROFILE_MAPPING, m);
}

static void write_line(struct pprof *w, const char *name, const char *file, unsigned int line)
{
	size_t m = up_pb_begin(&w->pb);

	up_pb_uint64(&w->pb, LINE_FUNCTION_ID, function_id(w, name, file));
	up_pb_int64(&w->pb, LINE_LINE, line);
	up_pb_end(&w->pb, LOCATION_LINE, m);
}

static void write_location(struct pprof *w, size_t i)
{
	const struct up_location *loc = &w->p->locs[i];
	size_t m = up_pb_begin(&w->pb);

	up_pb_uint64(&w->pb, LOCATION_ID, i + 1);
	up_pb_uint64(&w->pb, LOCATION_MAPPING_ID, loc->file >= 0 ? (uint64_t)loc->file + 1 : 0);
	up_pb_uint64(&w->pb, LOCATION_ADDRESS, loc->addr);
	/* Frames are outermost first; pprof wants the innermost line first. */
	for (size_t k = loc->nr_frames; k-- > 0;)
		write_line(w, loc->frames[k].name, loc->frames[k].file, loc->frames[k].line);
	up_pb_end(&w->pb, PROFILE_LOCATION, m);
}

/* --per-vcpu: a location with no address whose only line is the function "vcpuN". */
static void write_vcpu_roots(struct pprof *w)
{
	const struct idmap *r = &w->vcpu_roots;

	for (size_t k = 0; k < r->size; k++) {
		char name[32];
		size_t m;

		if (!r->keys[k])
			continue;
		snprintf(name, sizeof(name), "vcpu%" PRIu64, r->keys[k] - 1);
		m = up_pb_begin(&w->pb);
		up_pb_uint64(&w->pb, LOCATION_ID, r->values[k]);
		write_line(w, name, NULL, 0);
		up_pb_end(&w->pb, PROFILE_LOCATION, m);
	}
}

static void write_functions(struct pprof *w)
{
	for (size_t i = 0; i < w->nr_funcs; i++) {
		size_t m = up_pb_begin(&w->pb);

		up_pb_uint64(&w->pb, FUNCTION_ID, i + 1);
		up_pb_int64(&w->pb, FUNCTION_NAME, w->funcs[i].name);
		up_pb_int64(&w->pb, FUNCTION_SYSTEM_NAME, w->funcs[i].name);
		up_pb_int64(&w->pb, FUNCTION_FILENAME, w->funcs[i].file);
		up_pb_end(&w->pb, PROFILE_FUNCTION, m);
	}
}

/* What pprof prints above its reports: what was profiled, and how. */
static void write_comments(struct pprof *w)
{
	const struct up_profile_meta *meta = w->p->meta;
	uint64_t ids[2];
	char text[512];

	snprintf(text, sizeof(text), "Target: %s (%s, %" PRIu32 " vCPU%s)",
		 meta->target[0] ? meta->target : "unknown", meta->arch[0] ? meta->arch : "unknown",
		 meta->nr_vcpus, meta->nr_vcpus == 1 ? "" : "s");
	ids[0] = (uint64_t)str(w, text);
	snprintf(text, sizeof(text), "Sampling: %g Hz, %" PRIu64 " samples, %" PRIu64
		 " truncated walks", meta->frequency, meta->samples, meta->truncated);
	ids[1] = (uint64_t)str(w, text);
	up_pb_packed_uint64(&w->pb, PROFILE_COMMENT, ids, 2);
}

static void encode(struct pprof *w)
{
	const struct up_symprofile *p = w->p;
	const struct up_profile_meta *meta = p->meta;
	int64_t period = meta->frequency > 0 ? llround(1e9 / meta->frequency) : 0;

	str(w, "");
	value_type(w, PROFILE_SAMPLE_TYPE, "samples", "count");
	value_type(w, PROFILE_SAMPLE_TYPE, "cpu", "nanoseconds");
	for (size_t i = 0; i < p->nr_stacks; i++)
		write_sample(w, &p->stacks[i], period);
	for (size_t i = 0; i < p->symbolizer->nr_files; i++)
		write_mapping(w, i);
	for (size_t i = 0; i < p->nr_locs; i++)
		write_location(w, i);
	write_vcpu_roots(w);
	write_functions(w);
	write_comments(w);
	up_pb_int64(&w->pb, PROFILE_TIME_NANOS, (int64_t)meta->start_ns);
	up_pb_int64(&w->pb, PROFILE_DURATION_NANOS, (int64_t)meta->duration_ns);
	value_type(w, PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
	up_pb_int64(&w->pb, PROFILE_PERIOD, period);
	/* Last: every string is known now. */
	for (size_t i = 0; i < w->strings.nr; i++)
		up_pb_string(&w->pb, PROFILE_STRING_TABLE, w->strings.strs[i]);
}

/* data as one gzip member to out. */
static struct up_error *gzip_write(FILE *out, const uint8_t *data, size_t len)
{
	unsigned char buf[16384];
	z_stream zs;
	int rc;

	memset(&zs, 0, sizeof(zs));
	/* 16 + 15: a gzip header and trailer around a deflate stream with a 32 KiB window. */
	rc = deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY);
	if (rc != Z_OK)
		return rc == Z_MEM_ERROR ? &up_error_nomem
					 : up_error_create(UP_ERR_INVALID, "zlib: cannot start deflate (%d)", rc);
	zs.next_in = (Bytef *)data;
	do {
		size_t chunk = len > (1u << 30) ? (1u << 30) : len;
		int flush = chunk == len ? Z_FINISH : Z_NO_FLUSH;

		zs.avail_in = (uInt)chunk;
		len -= chunk;
		do {
			zs.next_out = buf;
			zs.avail_out = sizeof(buf);
			rc = deflate(&zs, flush);
			if (rc == Z_STREAM_ERROR)
				break;
			if (fwrite(buf, 1, sizeof(buf) - zs.avail_out, out) != sizeof(buf) - zs.avail_out)
				break;
		} while (zs.avail_out == 0);
	} while (len && rc != Z_STREAM_ERROR && !ferror(out));
	deflateEnd(&zs);
	if (rc == Z_STREAM_ERROR)
		return up_error_create(UP_ERR_INVALID, "zlib: deflate failed");
	if (fflush(out) || ferror(out))
		return up_error_errno(errno ? errno : EIO, "writing the profile");
	return NULL;
}

static struct up_error *write_pprof(FILE *out, const struct up_symprofile *p,
				    const struct up_writer_options *opts)
{
	struct pprof w = { .p = p, .opts = opts };
	struct up_error *err;

	up_pb_init(&w.pb);
	encode(&w);
	if (w.nomem || up_pb_failed(&w.pb))
		err = &up_error_nomem;
	else
		err = gzip_write(out, w.pb.data, w.pb.len);
	up_pb_deinit(&w.pb);
	strtab_deinit(&w.strings);
	free(w.funcs);
	idmap_deinit(&w.func_index);
	idmap_deinit(&w.vcpu_roots);
	free(w.ids);
	return err;
}

const struct up_writer up_writer_pprof = {
	.name = "pprof",
	.extension = ".pb.gz",
	.binary = 1,
	.write = write_pprof,
};
