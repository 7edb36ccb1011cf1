/*
 * Reading a raw recording (format: record/raw.h).  The bytes are untrusted: every length,
 * count and number is checked before use, and nothing is allocated beyond a record of at most
 * UP_RAW_MAX_RECORD bytes, the symbol files' strings and the aggregated profile.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "raw.h"
#include "raw_codec.h"

/* The recording's bytes: a stream or a buffer. */
struct input {
	FILE *file;            /* NULL: data */
	const uint8_t *data;
	size_t len;
	uint64_t pos;          /* bytes consumed */
	int error;             /* errno of a failed read of file */
};

static int in_getc(struct input *in)
{
	int c;

	if (!in->file)
		return in->pos < in->len ? in->data[in->pos++] : -1;
	c = getc(in->file);
	if (c == EOF) {
		if (ferror(in->file) && !in->error)
			in->error = errno ? errno : EIO;
		return -1;
	}
	in->pos++;
	return c;
}

static size_t in_read(struct input *in, uint8_t *buf, size_t n)
{
	size_t got;

	if (!n)
		return 0;
	if (!in->file) {
		got = in->len - in->pos < n ? in->len - in->pos : n;
		memcpy(buf, in->data + in->pos, got);
	} else {
		got = fread(buf, 1, n, in->file);
		if (got < n && ferror(in->file) && !in->error)
			in->error = errno ? errno : EIO;
	}
	in->pos += got;
	return got;
}

/* Consume the rest of the input; whether it was zero bytes only (or nothing). */
static int in_rest_is_zero(struct input *in)
{
	int c;

	while ((c = in_getc(in)) == 0)
		;
	if (c < 0)
		return 1;
	while (in_getc(in) >= 0)
		;
	return 0;
}

/* A record's payload, taken apart.  bad is set by the first read past its end. */
struct cursor {
	const uint8_t *p, *end;
	const char *bad;
};

static uint64_t get_uvar(struct cursor *c)
{
	uint64_t v = 0;

	for (unsigned int shift = 0; !c->bad; shift += 7) {
		uint8_t b;

		if (c->p == c->end) {
			c->bad = "a number runs past the record's end";
			break;
		}
		b = *c->p++;
		if (shift == 63 && b > 1) {
			c->bad = "a number is longer than 64 bits";
			break;
		}
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	return 0;
}

static int64_t get_svar(struct cursor *c)
{
	return raw_unzigzag(get_uvar(c));
}

/* A string of at most max bytes and no NUL, copied into buf (max + 1 bytes). */
static void get_str(struct cursor *c, size_t max, char *buf, const char *what)
{
	uint64_t n = get_uvar(c);

	buf[0] = '\0';
	if (c->bad)
		return;
	if (n > max || n > (uint64_t)(c->end - c->p) || memchr(c->p, '\0', n)) {
		c->bad = what;
		return;
	}
	memcpy(buf, c->p, n);
	buf[n] = '\0';
	c->p += n;
}

struct reader {
	struct input in;
	up_raw_sample_fn *each;
	void *ctx;
	struct up_raw_recording rec;
	uint8_t *payload;
	size_t cap;
	uint64_t start;            /* where the record being read began */
	uint8_t type;              /* and its type */
	int have_header, have_sample, have_end;
	uint64_t time;             /* of the previous sample (start_ns before the first) */
	uint64_t pauses, truncated;
	uint32_t prev_depth;
	uint64_t prev[UP_RAW_MAX_DEPTH];  /* the previous stack, root first */
	uint64_t pcs[UP_RAW_MAX_DEPTH];   /* this one, leaf first */
	char path[UP_RAW_MAX_PATH + 1];
};

static const char *type_name(uint8_t type)
{
	switch (type) {
	case RAW_HEADER:
		return "header";
	case RAW_SYMFILE:
		return "symbol file";
	case RAW_SAMPLE:
		return "sample";
	case RAW_END:
		return "end";
	}
	return "unknown";
}

static struct up_error *damaged(const struct reader *r, const char *why)
{
	if (!r->type)
		return up_error_create(UP_ERR_INVALID, "damaged at byte %llu (%s): the file is "
				       "corrupted", (unsigned long long)r->start, why);
	return up_error_create(UP_ERR_INVALID, "damaged %s record at byte %llu (%s): the file is "
			       "corrupted", type_name(r->type), (unsigned long long)r->start, why);
}

enum frame {
	FRAME_RECORD,
	FRAME_EOF,   /* the input ends where a record would begin */
	FRAME_CUT,   /* it ends inside a record */
	FRAME_BAD,   /* a record that cannot be: *why says how */
};

static enum frame read_frame(struct reader *r, uint8_t *ret_type, size_t *ret_len,
			     const char **why)
{
	uint8_t head[1 + RAW_LENGTH_MAX];
	uint64_t length = 0;
	size_t n = 0;
	int c;

	r->start = r->in.pos;
	c = in_getc(&r->in);
	if (c < 0)
		return FRAME_EOF;
	head[n++] = (uint8_t)c;
	if (!c) {
		*why = "a record of type 0";
		return FRAME_BAD;
	}
	do {
		c = in_getc(&r->in);
		if (c < 0)
			return FRAME_CUT;
		if (n == sizeof(head)) {
			*why = "a record longer than 1 MiB";
			return FRAME_BAD;
		}
		head[n] = (uint8_t)c;
		length |= (uint64_t)(c & 0x7f) << (7 * (n - 1));
		n++;
	} while (c & 0x80);
	if (length > UP_RAW_MAX_RECORD) {
		*why = "a record longer than 1 MiB";
		return FRAME_BAD;
	}
	if (length > r->cap) {
		size_t cap = r->cap;
		uint8_t *p;

		while (cap < length)
			cap *= 2;
		p = realloc(r->payload, cap);
		if (!p) {
			*why = NULL;
			return FRAME_BAD;
		}
		r->payload = p;
		r->cap = cap;
	}
	if (in_read(&r->in, r->payload, length) < length)
		return FRAME_CUT;
	c = in_getc(&r->in);
	if (c < 0)
		return FRAME_CUT;
	if (raw_crc8(raw_crc8(0, head, n), r->payload, length) != c) {
		*why = "a record whose check does not match";
		return FRAME_BAD;
	}
	*ret_type = head[0];
	*ret_len = length;
	return FRAME_RECORD;
}

static struct up_error *read_header(struct reader *r, struct cursor *c)
{
	struct up_profile_meta *meta = &r->rec.profile.meta;
	uint8_t freq[8];
	uint64_t vcpus, bits = 0;

	get_str(c, sizeof(meta->target) - 1, meta->target, "a target name too long or with a NUL");
	get_str(c, sizeof(meta->arch) - 1, meta->arch, "an architecture name too long or with a NUL");
	vcpus = get_uvar(c);
	if (!c->bad && (size_t)(c->end - c->p) < sizeof(freq))
		c->bad = "the frequency runs past the record's end";
	if (!c->bad) {
		memcpy(freq, c->p, sizeof(freq));
		c->p += sizeof(freq);
		for (int i = 8; i-- > 0;)
			bits = bits << 8 | freq[i];
		memcpy(&meta->frequency, &bits, sizeof(bits));
	}
	meta->start_ns = get_uvar(c);
	if (!c->bad && (!vcpus || vcpus > UP_RAW_MAX_VCPUS))
		c->bad = "a vCPU count of 0 or over 4096";
	if (!c->bad && (!isfinite(meta->frequency) || meta->frequency <= 0))
		c->bad = "a frequency that is not a positive number";
	if (c->bad)
		return damaged(r, c->bad);
	meta->nr_vcpus = (uint32_t)vcpus;
	r->time = meta->start_ns;
	r->have_header = 1;
	return NULL;
}

static struct up_error *read_symfile(struct reader *r, struct cursor *c)
{
	struct up_raw_symfile *f, *files;
	uint64_t state;

	if (r->have_sample)
		return damaged(r, "a symbol file after the samples");
	if (r->rec.nr_files == UP_RAW_MAX_FILES)
		return damaged(r, "more than 64 symbol files");
	files = realloc(r->rec.files, (r->rec.nr_files + 1) * sizeof(*files));
	if (!files)
		return &up_error_nomem;
	r->rec.files = files;
	f = &files[r->rec.nr_files];
	memset(f, 0, sizeof(*f));
	get_str(c, UP_RAW_MAX_PATH, r->path, "a path too long or with a NUL");
	f->slide = get_svar(c);
	state = get_uvar(c);
	get_str(c, sizeof(f->slide_how) - 1, f->slide_how, "a slide note too long or with a NUL");
	if (!c->bad && !r->path[0])
		c->bad = "an empty path";
	if (!c->bad && state > UP_SLIDE_REFUSED)
		c->bad = "an unknown slide state";
	if (c->bad)
		return damaged(r, c->bad);
	f->slide_state = (enum up_slide_state)state;
	f->path = strdup(r->path);
	if (!f->path)
		return &up_error_nomem;
	r->rec.nr_files++;
	return NULL;
}

static struct up_error *read_sample(struct reader *r, struct cursor *c)
{
	uint64_t time = r->time + (uint64_t)get_svar(c), vcpu = get_uvar(c), flags = get_uvar(c);
	uint32_t depth = (uint32_t)(flags >> 1);
	int truncated = flags & 1;
	uint64_t exact = 0;
	struct up_error *err;

	if (!c->bad && vcpu >= r->rec.profile.meta.nr_vcpus)
		c->bad = "a vCPU beyond the header's count";
	if (!c->bad && (flags >> 1 == 0 || flags >> 1 > UP_RAW_MAX_DEPTH))
		c->bad = "a stack depth of 0 or over 4096";
	for (uint32_t j = 0; !c->bad && j < depth; j++) {
		uint64_t ref = j < r->prev_depth ? r->prev[j] : j ? r->prev[j - 1] : 0;

		r->prev[j] = ref + (uint64_t)get_svar(c);
		r->pcs[depth - 1 - j] = r->prev[j];
	}
	/* Written only when some pc is exact. */
	if (!c->bad && c->p < c->end)
		exact = get_uvar(c);
	if (c->bad)
		return damaged(r, c->bad);
	r->prev_depth = depth;
	if (!r->have_sample || time != r->time)
		r->pauses++;
	r->have_sample = 1;
	r->time = time;
	r->truncated += truncated;
	r->rec.stacks++;
	err = up_profile_add(&r->rec.profile, (uint32_t)vcpu, r->pcs, depth, exact, 1);
	if (!err && r->each)
		err = r->each(r->ctx, time, (uint32_t)vcpu, r->pcs, depth, exact, truncated);
	return err;
}

static struct up_error *read_end(struct reader *r, struct cursor *c)
{
	struct up_profile_meta *meta = &r->rec.profile.meta;
	uint64_t duration = get_uvar(c), samples = get_uvar(c), truncated = get_uvar(c);
	uint64_t stacks = get_uvar(c);

	if (c->bad)
		return damaged(r, c->bad);
	if (stacks != r->rec.stacks || truncated != r->truncated)
		return up_error_create(UP_ERR_INVALID, "damaged: its end record counts %llu stacks "
				       "(%llu truncated) but it holds %llu (%llu)",
				       (unsigned long long)stacks, (unsigned long long)truncated,
				       (unsigned long long)r->rec.stacks,
				       (unsigned long long)r->truncated);
	meta->duration_ns = duration;
	meta->samples = samples;
	meta->truncated = truncated;
	r->have_end = 1;
	return NULL;
}

/* The fixed prefix: magic and version. */
static struct up_error *read_prefix(struct reader *r)
{
	uint8_t prefix[RAW_PREFIX_LEN];
	size_t n = in_read(&r->in, prefix, sizeof(prefix));
	uint32_t version = 0;

	if (r->in.error)
		return NULL;
	if (!n)
		return up_error_create(UP_ERR_INVALID, "empty: not a recording, or one cut short "
				       "before it began");
	if (memcmp(prefix, RAW_MAGIC, n < RAW_MAGIC_LEN ? n : RAW_MAGIC_LEN))
		return up_error_create(UP_ERR_INVALID, "not a uniprof recording (report reads what "
				       "uniprof record or -f raw wrote)");
	if (n < sizeof(prefix))
		return up_error_create(UP_ERR_INVALID, "cut short inside its header: it holds no samples");
	for (int i = 4; i-- > 0;)
		version = version << 8 | prefix[RAW_MAGIC_LEN + i];
	if (!version)
		return up_error_create(UP_ERR_INVALID, "damaged header: format version 0");
	if (version > UP_RAW_VERSION)
		return up_error_create(UP_ERR_INVALID, "written by a newer uniprof (recording format "
				       "version %u; this uniprof reads version %d): report it with "
				       "that uniprof", version, UP_RAW_VERSION);
	r->rec.version = version;
	return NULL;
}

static struct up_error *read_records(struct reader *r)
{
	struct up_error *err = read_prefix(r);
	const char *why = NULL;

	while (!err && !r->in.error) {
		enum frame fr;
		struct cursor c;
		uint8_t type = 0;
		size_t len = 0;

		if (r->have_end) {
			if (in_getc(&r->in) >= 0)
				err = up_error_create(UP_ERR_INVALID, "damaged: data after its end "
						      "record at byte %llu",
						      (unsigned long long)(r->in.pos - 1));
			break;
		}
		r->type = 0;
		fr = read_frame(r, &type, &len, &why);
		if (fr == FRAME_BAD && !why)
			return &up_error_nomem;
		/* A crash can leave the tail damaged or zeroed: the records before it stand. */
		if (fr == FRAME_BAD && r->have_header && in_rest_is_zero(&r->in))
			fr = FRAME_CUT;
		if (r->in.error)
			break;
		if (fr == FRAME_BAD)
			return damaged(r, why);
		if (fr != FRAME_RECORD) {
			if (!r->have_header)
				return up_error_create(UP_ERR_INVALID, "cut short inside its header: "
						       "it holds no samples");
			break;
		}
		c = (struct cursor){ .p = r->payload, .end = r->payload + len };
		r->type = type;
		if (!r->have_header && type != RAW_HEADER)
			return damaged(r, "the first record is not the header");
		switch (type) {
		case RAW_HEADER:
			err = r->have_header ? damaged(r, "a second header") : read_header(r, &c);
			break;
		case RAW_SYMFILE:
			err = read_symfile(r, &c);
			break;
		case RAW_SAMPLE:
			err = read_sample(r, &c);
			break;
		case RAW_END:
			err = read_end(r, &c);
			break;
		default:
			/* A later version's addition that this one can do without. */
			break;
		}
		if (!err)
			r->rec.length = r->in.pos;
	}
	if (!err && r->in.error)
		err = up_error_errno(r->in.error, "reading the recording");
	if (err)
		return err;
	r->rec.complete = r->have_end;
	r->rec.size = r->in.pos;
	if (!r->have_end) {
		struct up_profile_meta *meta = &r->rec.profile.meta;

		meta->samples = r->pauses;
		meta->truncated = r->truncated;
		meta->duration_ns = r->have_sample && r->time > meta->start_ns ?
				    r->time - meta->start_ns : 0;
	}
	return NULL;
}

static struct up_error *read_input(const struct input *in, size_t max_stacks,
				   up_raw_sample_fn *each, void *ctx,
				   struct up_raw_recording *ret)
{
	struct reader *r = calloc(1, sizeof(*r));
	struct up_error *err;

	if (!r)
		return &up_error_nomem;
	/* Never NULL, so that an empty payload is a valid (empty) range. */
	r->cap = 4096;
	r->payload = malloc(r->cap);
	if (!r->payload) {
		free(r);
		return &up_error_nomem;
	}
	r->in = *in;
	r->each = each;
	r->ctx = ctx;
	up_profile_init(&r->rec.profile);
	if (max_stacks)
		r->rec.profile.max_stacks = max_stacks;
	err = read_records(r);
	if (err)
		up_raw_recording_deinit(&r->rec);
	else
		*ret = r->rec;
	free(r->payload);
	free(r);
	return err;
}

struct up_error *up_raw_read_file(FILE *in, size_t max_stacks, up_raw_sample_fn *each, void *ctx,
				  struct up_raw_recording *ret)
{
	struct input input = { .file = in };

	return read_input(&input, max_stacks, each, ctx, ret);
}

struct up_error *up_raw_read_buffer(const void *data, size_t len, up_raw_sample_fn *each,
				    void *ctx, struct up_raw_recording *ret)
{
	struct input input = { .data = data, .len = len };

	return read_input(&input, 0, each, ctx, ret);
}

void up_raw_recording_deinit(struct up_raw_recording *r)
{
	for (size_t i = 0; i < r->nr_files; i++)
		free(r->files[i].path);
	free(r->files);
	up_profile_deinit(&r->profile);
	memset(r, 0, sizeof(*r));
}
