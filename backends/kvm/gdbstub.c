#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../util/bytes.h"
#include "../../util/sock.h"
#include "gdbstub.h"
#include "rsp.h"

/* Replies are decoded into one arena so several can be returned at once. */
#define RX_CAP (64 * 1024)
#define ARENA_CAP (GDB_MAX_PIPELINE * 16 * 1024)
#define TX_CAP (GDB_MAX_PIPELINE * 512)
#define MAX_XFER (1024 * 1024)
#define REPLY_TIMEOUT_MS 5000

struct gdb_conn {
	int fd;
	int need_ack;        /* a reply arrived that we have not acknowledged yet */
	int broken;          /* an exchange failed halfway: what comes next may answer it */
	size_t packet_size;
	size_t rx_len;
	char rx[RX_CAP];
	char arena[ARENA_CAP];
};

/* Read until one unit is complete; packets go to the arena at *arena_used. */
static struct up_error *next_unit(struct gdb_conn *c, int timeout_ms, size_t *arena_used,
				  enum rsp_scan *kind, const char **payload, size_t *len)
{
	for (;;) {
		size_t consumed, outlen = 0, got;
		char *out = c->arena + *arena_used;
		enum rsp_scan r;
		struct up_error *err;

		r = rsp_scan(c->rx, c->rx_len, &consumed, out, ARENA_CAP - *arena_used, &outlen);
		memmove(c->rx, c->rx + consumed, c->rx_len - consumed);
		c->rx_len -= consumed;
		switch (r) {
		case RSP_NEED_MORE:
			break;
		case RSP_BAD_CHECKSUM:
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub sent a packet with a bad checksum");
		case RSP_TOO_LONG:
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub sent an oversized packet");
		case RSP_PACKET:
		case RSP_NOTIFICATION:
			*arena_used += outlen;
			*payload = out;
			*len = outlen;
			/* fall through */
		case RSP_ACK:
		case RSP_NAK:
			*kind = r;
			return NULL;
		}
		if (c->rx_len == RX_CAP)
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub sent an endless packet");
		err = up_sock_recv(c->fd, c->rx + c->rx_len, RX_CAP - c->rx_len, timeout_ms, &got);
		if (err)
			return up_error_prefix(err, "gdbstub");
		c->rx_len += got;
	}
}

/*
 * Frame requests into tx, after a 0x03 when interrupt is set, and with a pending ack; returns
 * the length or 0 if too long.  0x03 comes first: the stub drops the byte that stops a running
 * guest, and what follows it is read with the guest stopped.
 */
static size_t frame_requests(struct gdb_conn *c, int interrupt, const char *const *requests,
			     size_t n, char *tx, size_t cap)
{
	size_t o = 0;

	if (interrupt)
		tx[o++] = 0x03;
	if (c->need_ack)
		tx[o++] = '+';
	for (size_t i = 0; i < n; i++) {
		size_t f = rsp_frame(requests[i], strlen(requests[i]), tx + o, cap - o);

		if (!f)
			return 0;
		o += f;
	}
	return o;
}

/* Parse "thread:ID;" out of a T stop reply; "p<pid>.<tid>" ids give the tid. */
static uint64_t stop_thread(const char *reply, size_t len)
{
	const char *end = reply + len, *p;
	uint64_t tid = 0;

	p = memmem(reply, len, "thread:", 7);
	if (!p)
		return 0;
	p += 7;
	if (p < end && *p == 'p') {
		const char *dot = memchr(p, '.', end - p);

		if (!dot)
			return 0;
		p = dot + 1;
	}
	if (!up_parse_hex(&p, end, &tid))
		return 0;
	return tid;
}

/*
 * Send the requests (after a 0x03 when ret_thread is set) in one write and collect n replies;
 * with ret_thread, the stop reply comes first and names the stopped thread.
 */
static struct up_error *exchange(struct gdb_conn *c, uint64_t *ret_thread,
				 const char *const *requests, size_t n, const char **replies,
				 size_t *lens)
{
	char tx[TX_CAP];
	size_t txlen, got = 0, arena_used = 0;
	int resent = 0, stopped = !ret_thread;
	struct up_error *err;

	if (n > GDB_MAX_PIPELINE || (n == 0 && !ret_thread))
		return up_error_create(UP_ERR_INVALID, "bad gdbstub pipeline length %zu", n);
	txlen = frame_requests(c, ret_thread != NULL, requests, n, tx, sizeof(tx));
	if (!txlen)
		return up_error_create(UP_ERR_INVALID, "gdbstub request too long");
	err = up_sock_send(c->fd, tx, txlen);
	if (err)
		return up_error_prefix(err, "gdbstub");
	c->need_ack = 0;
	while (!stopped || got < n) {
		enum rsp_scan kind = RSP_NEED_MORE;
		const char *payload = NULL;
		size_t len = 0;

		err = next_unit(c, REPLY_TIMEOUT_MS, &arena_used, &kind, &payload, &len);
		if (err)
			return stopped ? err : up_error_prefix(err, "waiting for the guest to stop");
		if (kind == RSP_NAK) {
			/* A corrupted request: unix and TCP sockets do not do that, so retry once. */
			if (resent++)
				return up_error_create(UP_ERR_PROTOCOL, "gdbstub rejected our packets");
			got = 0;
			arena_used = 0;
			txlen = frame_requests(c, 0, requests, n, tx, sizeof(tx));
			err = up_sock_send(c->fd, tx, txlen);
			if (err)
				return up_error_prefix(err, "gdbstub");
			continue;
		}
		if (kind != RSP_PACKET)
			continue;
		c->need_ack = 1;
		if (len > 0 && payload[0] == 'O' && !(len == 2 && payload[1] == 'K')) {
			/* Console output ("O<hex>") is not a reply; we never ask for any. */
			continue;
		}
		if (len > 0 && (payload[0] == 'W' || payload[0] == 'X'))
			return up_error_create(UP_ERR_LOST, "the guest exited");
		if (len > 0 && (payload[0] == 'T' || payload[0] == 'S')) {
			/* Ours, or one nobody asked for: QEMU sends one when a client connects. */
			if (!stopped && len >= 3) {
				*ret_thread = stop_thread(payload, len);
				stopped = 1;
			}
			continue;
		}
		if (!stopped)
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub answered before the guest stopped");
		replies[got] = payload;
		lens[got] = len;
		got++;
	}
	return NULL;
}

static struct up_error *broken_error(void)
{
	return up_error_create(UP_ERR_PROTOCOL, "gdbstub connection out of step after an earlier error");
}

/*
 * exchange(), refused once an exchange failed after its requests went out: late or surplus
 * replies would be taken for the answers to later requests.
 */
static struct up_error *transact(struct gdb_conn *c, uint64_t *ret_thread,
				 const char *const *requests, size_t n, const char **replies,
				 size_t *lens)
{
	struct up_error *err;

	if (c->broken)
		return broken_error();
	err = exchange(c, ret_thread, requests, n, replies, lens);
	if (err && err->code != UP_ERR_INVALID)
		c->broken = 1;
	return err;
}

struct up_error *gdb_transact(struct gdb_conn *c, const char *const *requests, size_t n,
			      const char **replies, size_t *lens)
{
	return transact(c, NULL, requests, n, replies, lens);
}

struct up_error *gdb_interrupt_transact(struct gdb_conn *c, const char *const *requests,
					size_t n, const char **replies, size_t *lens,
					uint64_t *ret_thread)
{
	*ret_thread = 0;
	return transact(c, ret_thread, requests, n, replies, lens);
}

struct up_error *gdb_request(struct gdb_conn *c, const char *request, const char **reply,
			     size_t *len)
{
	return gdb_transact(c, &request, 1, reply, len);
}

/*
 * Let the guest run: 'c', with the ack of the last reply in front.  The stub's '+' comes as it
 * starts the guest again, so waiting for it is what tells that the pause is over; without the
 * wait, a busy QEMU could read the continue and the next interrupt together, and the guest
 * would not run between two samples at all.
 */
struct up_error *gdb_continue(struct gdb_conn *c)
{
	static const char *const cont = "c";
	char tx[16];
	size_t txlen, arena_used = 0;
	struct up_error *err;

	if (c->broken)
		return broken_error();
	txlen = frame_requests(c, 0, &cont, 1, tx, sizeof(tx));
	err = up_sock_send(c->fd, tx, txlen);
	c->broken = 1;
	if (err)
		return up_error_prefix(err, "gdbstub");
	c->need_ack = 0;
	for (;;) {
		enum rsp_scan kind = RSP_NEED_MORE;
		const char *payload;
		size_t len;

		err = next_unit(c, REPLY_TIMEOUT_MS, &arena_used, &kind, &payload, &len);
		if (err)
			return err;
		if (kind == RSP_ACK) {
			c->broken = 0;
			return NULL;
		}
		if (kind == RSP_NAK)
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub rejected 'c'");
	}
}

struct up_error *gdb_detach(struct gdb_conn *c, uint64_t pid)
{
	const char *reply;
	char req[32];
	size_t len;
	struct up_error *err;

	if (pid)
		snprintf(req, sizeof(req), "D;%llx", (unsigned long long)pid);
	else
		snprintf(req, sizeof(req), "D");
	err = gdb_request(c, req, &reply, &len);
	if (err)
		return err;
	if (len != 2 || memcmp(reply, "OK", 2))
		return up_error_create(UP_ERR_PROTOCOL, "gdbstub refused to detach ('%s' answered "
				       "'%.*s')", req, (int)(len < 16 ? len : 16), reply);
	return NULL;
}

struct up_error *gdb_read_xfer(struct gdb_conn *c, const char *object, const char *annex,
			       char **ret, size_t *ret_len)
{
	char *data = NULL, req[256];
	size_t len = 0, chunk = c->packet_size - 16;
	struct up_error *err;

	for (;;) {
		const char *reply;
		size_t rlen;
		char *grown;

		snprintf(req, sizeof(req), "qXfer:%s:read:%s:%zx,%zx", object, annex, len, chunk);
		err = gdb_request(c, req, &reply, &rlen);
		if (err)
			goto fail;
		if (rlen == 0 || (reply[0] != 'm' && reply[0] != 'l')) {
			err = up_error_create(UP_ERR_PROTOCOL, "gdbstub cannot read %s %s", object, annex);
			goto fail;
		}
		if (len + rlen - 1 > MAX_XFER) {
			err = up_error_create(UP_ERR_PROTOCOL, "gdbstub's %s %s is too large", object, annex);
			goto fail;
		}
		grown = realloc(data, len + rlen);
		if (!grown) {
			err = &up_error_nomem;
			goto fail;
		}
		data = grown;
		memcpy(data + len, reply + 1, rlen - 1);
		len += rlen - 1;
		if (reply[0] == 'l')
			break;
		if (rlen == 1) {
			err = up_error_create(UP_ERR_PROTOCOL, "gdbstub sent an empty %s chunk", object);
			goto fail;
		}
	}
	*ret = data ? data : malloc(1);
	if (!*ret)
		return &up_error_nomem;
	*ret_len = len;
	return NULL;
fail:
	free(data);
	return err;
}

size_t gdb_packet_size(struct gdb_conn *c)
{
	return c->packet_size;
}

static void parse_supported(struct gdb_conn *c, const char *reply, size_t len)
{
	const char *p = memmem(reply, len, "PacketSize=", 11);
	uint64_t v;

	if (!p)
		return;
	p += 11;
	if (up_parse_hex(&p, reply + len, &v) && v >= 256 && v <= RX_CAP / 2)
		c->packet_size = v;
}

struct up_error *gdb_connect(const char *address, struct gdb_conn **ret)
{
	struct gdb_conn *c = calloc(1, sizeof(*c));
	const char *reply;
	size_t len;
	struct up_error *err;

	if (!c)
		return &up_error_nomem;
	c->packet_size = 4096;
	err = up_sock_connect(address, &c->fd);
	if (err) {
		free(c);
		return up_error_prefix(err, "connecting to the gdbstub");
	}
	err = gdb_request(c, "qSupported:xmlRegisters=i386,aarch64", &reply, &len);
	if (err) {
		gdb_close(c);
		return up_error_prefix(err, "%s: not a gdbstub", address);
	}
	parse_supported(c, reply, len);
	*ret = c;
	return NULL;
}

void gdb_close(struct gdb_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}
