/*
 * GDB remote serial protocol: packet framing, pure functions with no I/O.
 *
 * A packet is "$payload#cc", cc being the modulo-256 sum of the payload bytes in two hex
 * digits.  In a payload, '}' escapes the next byte (xor 0x20) and "c*n" repeats c a further
 * n - 29 times (run-length encoding).  The stub also sends single '+' / '-' acknowledgements
 * and, in some modes, '%' notifications framed like packets.  Everything here treats the
 * input as hostile: all output is bounded by the caller's capacity.
 */
#ifndef UP_KVM_RSP_H
#define UP_KVM_RSP_H

#include <stddef.h>
#include <stdint.h>

enum rsp_scan {
	RSP_NEED_MORE,    /* no complete unit yet; *consumed says how much junk was skipped */
	RSP_ACK,          /* '+' */
	RSP_NAK,          /* '-' */
	RSP_PACKET,       /* a '$' packet, decoded into the payload buffer */
	RSP_NOTIFICATION, /* a '%' notification, decoded like a packet */
	RSP_BAD_CHECKSUM, /* a complete packet whose checksum does not match */
	RSP_TOO_LONG,     /* a packet that does not fit the payload buffer once decoded */
};

/*
 * Look for the next unit in buf[0..len).  *consumed is set to the number of bytes the caller
 * may drop (the unit itself plus junk before it).  For RSP_PACKET and RSP_NOTIFICATION the
 * decoded payload goes to out (at most cap bytes, not NUL-terminated) and its length to
 * *outlen.  Junk bytes before a unit are skipped silently.
 */
enum rsp_scan rsp_scan(const char *buf, size_t len, size_t *consumed,
		       char *out, size_t cap, size_t *outlen);

/*
 * Frame payload as "$...#cc" into out, escaping '$', '#', '}' and '*'.  Returns the framed
 * length, or 0 when it does not fit in cap bytes.
 */
size_t rsp_frame(const char *payload, size_t len, char *out, size_t cap);

/*
 * Decode hex digit pairs into bytes.  'x' digits (register value unavailable) decode as 0.
 * Returns the number of bytes written, or -1 on an odd length, a bad digit or overflow of cap.
 */
long rsp_hex_decode(const char *hex, size_t len, uint8_t *out, size_t cap);

#endif
