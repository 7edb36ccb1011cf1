/*
 * The pieces of the raw format (record/raw.h) that its writer and reader share: the magic,
 * the record types, the check and LEB128/zigzag encoding.  Internal to record/.
 */
#ifndef UP_RECORD_RAW_CODEC_H
#define UP_RECORD_RAW_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define RAW_MAGIC "UNIPROF\0"
#define RAW_MAGIC_LEN 8
#define RAW_PREFIX_LEN (RAW_MAGIC_LEN + 4)   /* magic and version */

enum raw_record_type {
	RAW_HEADER = 1,
	RAW_SYMFILE = 2,
	RAW_SAMPLE = 3,
	RAW_END = 4,
	RAW_TASK = 5,
};

/* Longest LEB128 of a 64-bit number, and of a record length (< 2^21). */
#define RAW_UVAR_MAX 10
#define RAW_LENGTH_MAX 3

/* CRC-8, polynomial 0x07: the check byte that ends each record. */
static inline uint8_t raw_crc8(uint8_t crc, const uint8_t *p, size_t n)
{
	while (n--) {
		crc ^= *p++;
		for (int i = 0; i < 8; i++)
			crc = crc & 0x80 ? (uint8_t)(crc << 1 ^ 0x07) : (uint8_t)(crc << 1);
	}
	return crc;
}

/* Store v as LEB128 at p (room for RAW_UVAR_MAX bytes); returns the bytes used. */
static inline size_t raw_put_uvar(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t raw_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t raw_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
