#include <string.h>

#include "../../util/bytes.h"
#include "rsp.h"

/* Decode the raw payload raw[0..n) (escapes and run lengths); -1 if it overflows cap. */
static long decode_payload(const char *raw, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = raw[i];

		if (c == '}') {
			if (++i == n)
				return -1;
			c = raw[i] ^ 0x20;
		} else if (c == '*') {
			/* Repeat the previous output byte (count - 29) more times. */
			int count;

			if (o == 0 || ++i == n)
				return -1;
			count = (unsigned char)raw[i] - 29;
			if (count < 0 || (size_t)count > cap - o)
				return -1;
			memset(out + o, out[o - 1], count);
			o += count;
			continue;
		}
		if (o == cap)
			return -1;
		out[o++] = c;
	}
	return o;
}

enum rsp_scan rsp_scan(const char *buf, size_t len, size_t *consumed,
		       char *out, size_t cap, size_t *outlen)
{
	size_t start = 0, hash;
	unsigned int sum = 0;
	int hi, lo;
	long n;

	/* Skip anything that cannot start a unit. */
	while (start < len && buf[start] != '+' && buf[start] != '-' && buf[start] != '$' &&
	       buf[start] != '%')
		start++;
	*consumed = start;
	if (start == len)
		return RSP_NEED_MORE;
	if (buf[start] == '+' || buf[start] == '-') {
		*consumed = start + 1;
		return buf[start] == '+' ? RSP_ACK : RSP_NAK;
	}
	hash = start + 1;
	while (hash < len && buf[hash] != '#')
		hash++;
	if (hash + 2 >= len)
		return RSP_NEED_MORE;
	*consumed = hash + 3;
	for (size_t i = start + 1; i < hash; i++)
		sum += (unsigned char)buf[i];
	hi = up_hexval(buf[hash + 1]);
	lo = up_hexval(buf[hash + 2]);
	if (hi < 0 || lo < 0 || (unsigned int)(hi << 4 | lo) != (sum & 0xff))
		return RSP_BAD_CHECKSUM;
	n = decode_payload(buf + start + 1, hash - start - 1, out, cap);
	if (n < 0)
		return RSP_TOO_LONG;
	*outlen = n;
	return buf[start] == '$' ? RSP_PACKET : RSP_NOTIFICATION;
}

size_t rsp_frame(const char *payload, size_t len, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	unsigned int sum = 0;
	size_t o = 0;

	if (cap < 4)
		return 0;
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		char c = payload[i];

		if (c == '$' || c == '#' || c == '}' || c == '*') {
			if (o + 1 >= cap)
				return 0;
			out[o++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		if (o >= cap)
			return 0;
		out[o++] = c;
		sum += (unsigned char)c;
	}
	if (o + 3 > cap)
		return 0;
	out[o++] = '#';
	out[o++] = digits[(sum >> 4) & 0xf];
	out[o++] = digits[sum & 0xf];
	return o;
}

long rsp_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap)
{
	if (len % 2 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex[i] == 'x' ? 0 : up_hexval(hex[i]);
		int lo = hex[i + 1] == 'x' ? 0 : up_hexval(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i / 2] = hi << 4 | lo;
	}
	return len / 2;
}
