/* libFuzzer: the gdbstub packet scanner and hex decoder over arbitrary stub output. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../backends/kvm/rsp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char out[256];
	uint8_t bytes[128];
	size_t off = 0;

	/* Scan the input as a stream, the way the client consumes a socket. */
	while (off < size) {
		size_t consumed = 0, len = 0;
		enum rsp_scan r = rsp_scan(buf + off, size - off, &consumed, out, sizeof(out), &len);

		if (consumed > size - off)
			__builtin_trap();
		if ((r == RSP_PACKET || r == RSP_NOTIFICATION) && len > sizeof(out))
			__builtin_trap();
		if (r == RSP_PACKET)
			rsp_hex_decode(out, len, bytes, sizeof(bytes));
		if (r == RSP_NEED_MORE && consumed == 0)
			break;
		off += consumed;
	}
	/* Framing any payload must give a packet that scans back to the same payload. */
	if (size < 100) {
		char framed[512], back[256];
		size_t consumed, len, n = rsp_frame(buf, size, framed, sizeof(framed));

		if (n) {
			if (rsp_scan(framed, n, &consumed, back, sizeof(back), &len) != RSP_PACKET ||
			    len != size || memcmp(back, buf, size))
				__builtin_trap();
		}
	}
	return 0;
}
