/* Writing a raw recording as the run samples (format: record/raw.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "raw.h"
#include "raw_codec.h"

struct up_raw_writer {
	FILE *out;
	struct up_error *failed;    /* the first write error: every later call returns a copy */
	uint8_t *payload;           /* the record being built */
	size_t len, cap;
	uint32_t nr_vcpus;
	uint64_t prev_time;
	uint64_t prev[UP_RAW_MAX_DEPTH];  /* the previous stack, root first */
	uint32_t prev_depth;
	uint64_t stacks, truncated;
};

static int reserve(struct up_raw_writer *w, size_t more)
{
	size_t cap;
	uint8_t *n;

	if (w->len + more <= w->cap)
		return 0;
	cap = w->cap ? w->cap : 256;
	while (cap < w->len + more)
		cap *= 2;
	n = realloc(w->payload, cap);
	if (!n)
		return -1;
	w->payload = n;
	w->cap = cap;
	return 0;
}

/* The payload helpers assume room was reserved. */
static void put_uvar(struct up_raw_writer *w, uint64_t v)
{
	w->len += raw_put_uvar(w->payload + w->len, v);
}

static void put_svar(struct up_raw_writer *w, int64_t v)
{
	put_uvar(w, raw_zigzag(v));
}

static void put_bytes(struct up_raw_writer *w, const void *p, size_t n)
{
	memcpy(w->payload + w->len, p, n);
	w->len += n;
}

/* A string of at most max bytes (longer ones are cut: the reader's bound). */
static int put_str(struct up_raw_writer *w, const char *s, size_t max)
{
	size_t n = strnlen(s, max);

	if (reserve(w, RAW_UVAR_MAX + n))
		return -1;
	put_uvar(w, n);
	put_bytes(w, s, n);
	return 0;
}

static struct up_error *write_failed(struct up_raw_writer *w, int errnum)
{
	if (!w->failed)
		w->failed = up_error_errno(errnum ? errnum : EIO, "writing the recording");
	return up_error_create(w->failed->code, "%s", w->failed->message);
}

/* Frame the payload built so far as a record of type type and hand it to the stream. */
static struct up_error *emit(struct up_raw_writer *w, uint8_t type)
{
	uint8_t head[1 + RAW_LENGTH_MAX + 1], check;
	size_t n;

	head[0] = type;
	n = 1 + raw_put_uvar(head + 1, w->len);
	check = raw_crc8(raw_crc8(0, head, n), w->payload, w->len);
	errno = 0;
	if (fwrite(head, 1, n, w->out) != n ||
	    (w->len && fwrite(w->payload, 1, w->len, w->out) != w->len) ||
	    fputc(check, w->out) == EOF)
		return write_failed(w, errno);
	w->len = 0;
	return NULL;
}

struct up_error *up_raw_flush(struct up_raw_writer *w)
{
	if (w->failed)
		return write_failed(w, 0);
	errno = 0;
	if (fflush(w->out))
		return write_failed(w, errno);
	return NULL;
}

static struct up_error *write_header(struct up_raw_writer *w, const struct up_profile_meta *meta,
				     const struct up_symbolizer *s)
{
	uint8_t prefix[RAW_PREFIX_LEN] = RAW_MAGIC, freq[8];
	uint64_t bits;
	struct up_error *err;

	for (int i = 0; i < 4; i++)
		prefix[RAW_MAGIC_LEN + i] = (uint8_t)(UP_RAW_VERSION >> (8 * i));
	errno = 0;
	if (fwrite(prefix, 1, sizeof(prefix), w->out) != sizeof(prefix))
		return write_failed(w, errno);
	memcpy(&bits, &meta->frequency, sizeof(bits));
	for (int i = 0; i < 8; i++)
		freq[i] = (uint8_t)(bits >> (8 * i));
	if (put_str(w, meta->target, sizeof(meta->target) - 1) ||
	    put_str(w, meta->arch, sizeof(meta->arch) - 1) ||
	    reserve(w, 2 * RAW_UVAR_MAX + sizeof(freq)))
		return &up_error_nomem;
	put_uvar(w, w->nr_vcpus);
	put_bytes(w, freq, sizeof(freq));
	put_uvar(w, meta->start_ns);
	err = emit(w, RAW_HEADER);
	for (size_t i = 0; !err && s && i < s->nr_files && i < UP_RAW_MAX_FILES; i++) {
		const struct up_symfile *f = s->files[i];

		if (put_str(w, f->path, UP_RAW_MAX_PATH) || reserve(w, RAW_UVAR_MAX + 1))
			return &up_error_nomem;
		put_svar(w, f->slide);
		w->payload[w->len++] = (uint8_t)f->slide_state;
		if (put_str(w, f->slide_how, sizeof(f->slide_how) - 1))
			return &up_error_nomem;
		err = emit(w, RAW_SYMFILE);
	}
	return err ? err : up_raw_flush(w);
}

struct up_error *up_raw_writer_create(FILE *out, const struct up_profile_meta *meta,
				      const struct up_symbolizer *s, struct up_raw_writer **ret)
{
	struct up_raw_writer *w;
	struct up_error *err;

	if (!meta->nr_vcpus || meta->nr_vcpus > UP_RAW_MAX_VCPUS)
		return up_error_create(UP_ERR_INVALID, "cannot record %u vCPUs (at most %d)",
				       meta->nr_vcpus, UP_RAW_MAX_VCPUS);
	w = calloc(1, sizeof(*w));
	if (!w)
		return &up_error_nomem;
	w->out = out;
	w->nr_vcpus = meta->nr_vcpus;
	w->prev_time = meta->start_ns;
	err = write_header(w, meta, s);
	if (err) {
		up_raw_writer_destroy(w);
		return err;
	}
	*ret = w;
	return NULL;
}

struct up_error *up_raw_write_stack(struct up_raw_writer *w, uint64_t time_ns, uint32_t vcpu,
				    const uint64_t *pcs, uint32_t depth, uint64_t exact,
				    int truncated)
{
	if (w->failed)
		return write_failed(w, 0);
	if (!depth || depth > UP_RAW_MAX_DEPTH || vcpu >= w->nr_vcpus)
		return up_error_create(UP_ERR_INVALID, "cannot record a stack of depth %u on vCPU %u",
				       depth, vcpu);
	if (reserve(w, (4 + (size_t)depth) * RAW_UVAR_MAX))
		return &up_error_nomem;
	put_svar(w, (int64_t)(time_ns - w->prev_time));
	put_uvar(w, vcpu);
	put_uvar(w, (uint64_t)depth << 1 | !!truncated);
	/* Root first: consecutive stacks mostly share their outer frames, which encode as 0. */
	for (uint32_t j = 0; j < depth; j++) {
		uint64_t pc = pcs[depth - 1 - j];
		uint64_t ref = j < w->prev_depth ? w->prev[j] : j ? w->prev[j - 1] : 0;

		put_svar(w, (int64_t)(pc - ref));
		/* prev[j - 1] already holds this stack's pc j - 1 when j is past the old depth. */
		w->prev[j] = pc;
	}
	exact &= ~1ULL;  /* the leaf is always exact */
	if (exact)
		put_uvar(w, exact);
	w->prev_depth = depth;
	w->prev_time = time_ns;
	w->stacks++;
	w->truncated += !!truncated;
	return emit(w, RAW_SAMPLE);
}

struct up_error *up_raw_writer_finish(struct up_raw_writer *w, const struct up_profile_meta *meta)
{
	struct up_error *err;

	if (w->failed)
		return write_failed(w, 0);
	if (reserve(w, 4 * RAW_UVAR_MAX))
		return &up_error_nomem;
	put_uvar(w, meta->duration_ns);
	put_uvar(w, meta->samples);
	put_uvar(w, w->truncated);
	put_uvar(w, w->stacks);
	err = emit(w, RAW_END);
	return err ? err : up_raw_flush(w);
}

uint64_t up_raw_writer_stacks(const struct up_raw_writer *w)
{
	return w->stacks;
}

void up_raw_writer_destroy(struct up_raw_writer *w)
{
	if (!w)
		return;
	up_error_destroy(w->failed);
	free(w->payload);
	free(w);
}
