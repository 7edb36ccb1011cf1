#include <stdlib.h>
#include <string.h>

#include "protobuf.h"

enum wire_type {
	WIRE_VARINT = 0,
	WIRE_BYTES = 2,
};

/* A varint is at most 10 bytes; a tag and a length, 15. */
#define MAX_VARINT 10

void up_pb_init(struct up_pb *b)
{
	memset(b, 0, sizeof(*b));
}

void up_pb_deinit(struct up_pb *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

/* Room for n more bytes; 0, or -1 (and failed set) when out of memory. */
static int reserve(struct up_pb *b, size_t n)
{
	size_t cap;
	uint8_t *data;

	if (b->failed)
		return -1;
	if (b->len + n <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	data = realloc(b->data, cap);
	if (!data) {
		b->failed = 1;
		return -1;
	}
	b->data = data;
	b->cap = cap;
	return 0;
}

/* v as a varint into out (room for MAX_VARINT); its length. */
static size_t encode_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		out[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[n++] = (uint8_t)v;
	return n;
}

static void put_varint(struct up_pb *b, uint64_t v)
{
	if (!reserve(b, MAX_VARINT))
		b->len += encode_varint(b->data + b->len, v);
}

static void put_tag(struct up_pb *b, uint32_t field, enum wire_type wt)
{
	put_varint(b, (uint64_t)field << 3 | wt);
}

void up_pb_uint64(struct up_pb *b, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	put_tag(b, field, WIRE_VARINT);
	put_varint(b, v);
}

void up_pb_int64(struct up_pb *b, uint32_t field, int64_t v)
{
	up_pb_uint64(b, field, (uint64_t)v);
}

void up_pb_bool(struct up_pb *b, uint32_t field, int v)
{
	up_pb_uint64(b, field, v ? 1 : 0);
}

void up_pb_bytes(struct up_pb *b, uint32_t field, const void *data, size_t len)
{
	put_tag(b, field, WIRE_BYTES);
	put_varint(b, len);
	if (len && !reserve(b, len)) {
		memcpy(b->data + b->len, data, len);
		b->len += len;
	}
}

void up_pb_string(struct up_pb *b, uint32_t field, const char *s)
{
	up_pb_bytes(b, field, s, strlen(s));
}

void up_pb_packed_uint64(struct up_pb *b, uint32_t field, const uint64_t *v, size_t n)
{
	size_t mark;

	if (!n)
		return;
	mark = up_pb_begin(b);
	for (size_t i = 0; i < n; i++)
		put_varint(b, v[i]);
	up_pb_end(b, field, mark);
}

size_t up_pb_begin(struct up_pb *b)
{
	return b->len;
}

void up_pb_end(struct up_pb *b, uint32_t field, size_t mark)
{
	uint8_t head[2 * MAX_VARINT];
	size_t n, body;

	if (b->failed)
		return;
	/*
	 * The length is known only now: move the body up to make room for tag and length.
	 * Bodies are small (a sample, a location), so the move costs little; the profile's own
	 * fields are never nested and never moved.
	 */
	body = b->len - mark;
	n = encode_varint(head, (uint64_t)field << 3 | WIRE_BYTES);
	n += encode_varint(head + n, body);
	if (reserve(b, n))
		return;
	memmove(b->data + mark + n, b->data + mark, body);
	memcpy(b->data + mark, head, n);
	b->len += n;
}
