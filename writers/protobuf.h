/*
 * A protocol buffer encoder, just enough for profile.proto: varints, length-delimited bytes,
 * packed repeated varints and nested messages, appended to one growing buffer.
 *
 * No schema, no library: the writer says field numbers and wire types itself, as Go's
 * runtime/pprof does.  An allocation failure is remembered in the buffer and every later call
 * does nothing, so an encoder checks once at the end (up_pb_failed) instead of after each field.
 */
#ifndef UP_WRITERS_PROTOBUF_H
#define UP_WRITERS_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

struct up_pb {
	uint8_t *data;
	size_t len, cap;
	int failed;         /* an allocation failed: data is incomplete */
};

void up_pb_init(struct up_pb *b);
void up_pb_deinit(struct up_pb *b);

/* Whether an allocation failed since up_pb_init. */
static inline int up_pb_failed(const struct up_pb *b)
{
	return b->failed;
}

/*
 * Field `field` as a varint.  Zero is left out: it is every scalar's default, and readers take
 * a missing field as zero.  An int64 is written as its two's complement (protobuf's int64,
 * not sint64), so a negative one takes ten bytes.
 */
void up_pb_uint64(struct up_pb *b, uint32_t field, uint64_t v);
void up_pb_int64(struct up_pb *b, uint32_t field, int64_t v);
void up_pb_bool(struct up_pb *b, uint32_t field, int v);

/* Field `field` as length-delimited bytes (a string: its bytes without the NUL). */
void up_pb_bytes(struct up_pb *b, uint32_t field, const void *data, size_t len);
void up_pb_string(struct up_pb *b, uint32_t field, const char *s);

/* A packed repeated varint field; nothing for n == 0. */
void up_pb_packed_uint64(struct up_pb *b, uint32_t field, const uint64_t *v, size_t n);

/*
 * A nested message: up_pb_begin returns a mark, the message's fields follow, and up_pb_end
 * puts the tag and length in front of them.  Messages nest; ends come in reverse order.
 */
size_t up_pb_begin(struct up_pb *b);
void up_pb_end(struct up_pb *b, uint32_t field, size_t mark);

#endif
