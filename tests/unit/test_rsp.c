/* The gdbstub packet codec: framing, checksums, escapes, run lengths, hex. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../backends/kvm/rsp.h"
#include "../../util/bytes.h"

static void frame_plain(void **state)
{
	char out[64];
	size_t n = rsp_frame("g", 1, out, sizeof(out));

	(void)state;
	assert_int_equal(n, 5);
	assert_memory_equal(out, "$g#67", 5);
	n = rsp_frame("qfThreadInfo", 12, out, sizeof(out));
	assert_memory_equal(out, "$qfThreadInfo#bb", n);
}

static void frame_escapes_and_capacity(void **state)
{
	char out[64], payload[64];
	size_t consumed, len, n;

	(void)state;
	n = rsp_frame("a#b$c}d*e", 9, out, sizeof(out));
	assert_true(n > 0);
	/* Every special byte is escaped, so only the framing '#' remains. */
	assert_non_null(strchr(out + 1, '#'));
	assert_int_equal(strchr(out + 1, '#') - out, (long)n - 3);
	assert_int_equal(rsp_scan(out, n, &consumed, payload, sizeof(payload), &len), RSP_PACKET);
	assert_int_equal(len, 9);
	assert_memory_equal(payload, "a#b$c}d*e", 9);
	assert_int_equal(consumed, n);
	assert_int_equal(rsp_frame("abcdef", 6, out, 8), 0);
	assert_int_equal(rsp_frame("", 0, out, 3), 0);
}

static void scan_acks_junk_and_partial(void **state)
{
	char stream[] = "xx+-$OK#9a", out[32];
	size_t consumed, len, off = 0, total = sizeof(stream) - 1;

	(void)state;
	assert_int_equal(rsp_scan(stream, total, &consumed, out, sizeof(out), &len), RSP_ACK);
	assert_int_equal(consumed, 3);
	off += consumed;
	assert_int_equal(rsp_scan(stream + off, total - off, &consumed, out, sizeof(out), &len),
			 RSP_NAK);
	assert_int_equal(consumed, 1);
	off += consumed;
	/* Partial packets wait for more. */
	for (size_t cut = off; cut < total; cut++)
		assert_int_equal(rsp_scan(stream + off, cut - off, &consumed, out, sizeof(out), &len),
				 RSP_NEED_MORE);
	assert_int_equal(rsp_scan(stream + off, total - off, &consumed, out, sizeof(out), &len),
			 RSP_PACKET);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "OK", 2);
	assert_int_equal(consumed, total - off);
	assert_int_equal(rsp_scan("junk", 4, &consumed, out, sizeof(out), &len), RSP_NEED_MORE);
	assert_int_equal(consumed, 4);
}

static void scan_bad_checksum(void **state)
{
	char out[32];
	size_t consumed, len;

	(void)state;
	assert_int_equal(rsp_scan("$OK#00", 6, &consumed, out, sizeof(out), &len), RSP_BAD_CHECKSUM);
	assert_int_equal(consumed, 6);
	assert_int_equal(rsp_scan("$OK#zz", 6, &consumed, out, sizeof(out), &len), RSP_BAD_CHECKSUM);
}

static void checksum_of(const char *payload, char *out)
{
	unsigned int sum = 0;

	for (const char *p = payload; *p; p++)
		sum += (unsigned char)*p;
	sprintf(out, "$%s#%02x", payload, sum & 0xff);
}

static void scan_run_length(void **state)
{
	char pkt[64], out[64];
	size_t consumed, len;

	(void)state;
	/* "0* " is '0' plus (' ' - 29) = 3 more: "0000". */
	checksum_of("0* 1", pkt);
	assert_int_equal(rsp_scan(pkt, strlen(pkt), &consumed, out, sizeof(out), &len), RSP_PACKET);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "00001", 5);
	/* A run that would overflow the output is refused, not truncated. */
	checksum_of("0*~", pkt);
	assert_int_equal(rsp_scan(pkt, strlen(pkt), &consumed, out, 16, &len), RSP_TOO_LONG);
	/* A run with nothing before it, or a dangling escape, is malformed. */
	checksum_of("*#", pkt);
	assert_int_not_equal(rsp_scan(pkt, strlen(pkt), &consumed, out, sizeof(out), &len), RSP_PACKET);
	checksum_of("ab}", pkt);
	assert_int_equal(rsp_scan(pkt, strlen(pkt), &consumed, out, sizeof(out), &len), RSP_TOO_LONG);
	checksum_of("0*\x1c", pkt);
	assert_int_equal(rsp_scan(pkt, strlen(pkt), &consumed, out, sizeof(out), &len), RSP_TOO_LONG);
}

static void scan_notification(void **state)
{
	char pkt[64], out[64];
	size_t consumed, len;

	(void)state;
	checksum_of("Stop:T05", pkt);
	pkt[0] = '%';
	assert_int_equal(rsp_scan(pkt, strlen(pkt), &consumed, out, sizeof(out), &len),
			 RSP_NOTIFICATION);
	assert_int_equal(len, 8);
}

static void hex(void **state)
{
	uint8_t out[8];
	const char *p, *s;
	uint64_t v;

	(void)state;
	assert_int_equal(rsp_hex_decode("00ff7Aa0", 8, out, sizeof(out)), 4);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0x7a);
	assert_int_equal(rsp_hex_decode("xx01", 4, out, sizeof(out)), 2);
	assert_int_equal(out[0], 0);
	assert_int_equal(rsp_hex_decode("0", 1, out, sizeof(out)), -1);
	assert_int_equal(rsp_hex_decode("0g", 2, out, sizeof(out)), -1);
	assert_int_equal(rsp_hex_decode("000000", 6, out, 2), -1);
	s = "1fE,";
	p = s;
	assert_true(up_parse_hex(&p, s + 4, &v));
	assert_int_equal(v, 0x1fe);
	assert_ptr_equal(p, s + 3);
	p = s + 3;
	assert_false(up_parse_hex(&p, s + 4, &v));
	assert_ptr_equal(p, s + 3);
	s = "1111222233334444,";
	p = s;
	assert_true(up_parse_hex(&p, s + strlen(s), &v));
	assert_int_equal(p - s, 16);
	assert_true(v == 0x1111222233334444ULL);
	/* More digits than 64 bits hold is not a number. */
	s = "11112222333344445";
	p = s;
	assert_false(up_parse_hex(&p, s + strlen(s), &v));
	assert_ptr_equal(p, s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(frame_plain),
		cmocka_unit_test(frame_escapes_and_capacity),
		cmocka_unit_test(scan_acks_junk_and_partial),
		cmocka_unit_test(scan_bad_checksum),
		cmocka_unit_test(scan_run_length),
		cmocka_unit_test(scan_notification),
		cmocka_unit_test(hex),
	};

	return cmocka_run_group_tests_name("rsp", tests, NULL, NULL);
}
