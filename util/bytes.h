/* Little-endian loads from byte buffers, and hex numbers: for data from guests and peers. */
#ifndef UP_UTIL_BYTES_H
#define UP_UTIL_BYTES_H

#include <stddef.h>
#include <stdint.h>

/* The n-byte (at most 8) little-endian number at p. */
static inline uint64_t up_get_le(const uint8_t *p, size_t n)
{
	uint64_t v = 0;

	for (size_t i = n > 8 ? 8 : n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static inline uint16_t up_le16(const uint8_t *p)
{
	return (uint16_t)up_get_le(p, 2);
}

static inline uint32_t up_le32(const uint8_t *p)
{
	return (uint32_t)up_get_le(p, 4);
}

static inline uint64_t up_le64(const uint8_t *p)
{
	return up_get_le(p, 8);
}

/* The value of hex digit c, or -1. */
static inline int up_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Parse a number of 1 to 16 hex digits at *p (before end) and advance *p past it.  Returns 0,
 * leaving *p as it was, when no digit is there or more than 16 follow (too big for 64 bits).
 */
static inline int up_parse_hex(const char **p, const char *end, uint64_t *ret)
{
	const char *s = *p;
	uint64_t v = 0;
	int digits = 0;

	for (; s < end && up_hexval(*s) >= 0; s++) {
		if (++digits > 16)
			return 0;
		v = v << 4 | (uint64_t)up_hexval(*s);
	}
	if (!digits)
		return 0;
	*p = s;
	*ret = v;
	return 1;
}

#endif
