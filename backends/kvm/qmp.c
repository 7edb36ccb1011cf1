#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../util/sock.h"
#include "../libvirt.h"
#include "qmp.h"

#define MSG_CAP (1024 * 1024)  /* the largest message; the buffer grows to it as needed */
#define BUF_START 4096
#define REPLY_TIMEOUT_MS 5000
#define DRAIN_MAX_MESSAGES 4096  /* events read per qmp_drain at most */

/*
 * How commands reach QEMU: our own connection to its QMP socket, or libvirt's monitor
 * pass-through (libvirt holds the socket).  What the commands mean is common (qmp_execute).
 */
struct qmp_transport {
	/* Send request (an object without "id") and give the reply to it: a new object. */
	struct up_error *(*call)(struct qmp *q, json_t *request, json_t **reply);
	struct up_error *(*drain)(struct qmp *q);
	pid_t (*peer_pid)(struct qmp *q);
	void (*reset)(struct qmp *q);
	void (*close)(struct qmp *q);
};

struct qmp {
	const struct qmp_transport *transport;
	const char *address;
	/* A socket of ours: */
	int fd;
	uint64_t next_id;     /* every command carries an id; its reply must echo it */
	size_t len, cap;
	char *buf;            /* len bytes received and not yet taken, in cap bytes */
	/* Through libvirt: */
	struct up_libvirt *libvirt;
};

/* Take one complete line out of the buffer, reading more as needed. */
static struct up_error *read_message(struct qmp *q, int timeout_ms, json_t **ret)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct up_error *err;
		json_error_t jerr;
		size_t got;

		if (nl) {
			size_t n = nl - q->buf + 1;
			json_t *msg = json_loadb(q->buf, n, 0, &jerr);

			memmove(q->buf, q->buf + n, q->len - n);
			q->len -= n;
			if (!msg || !json_is_object(msg)) {
				json_decref(msg);
				return up_error_create(UP_ERR_PROTOCOL, "QMP sent something that is not a JSON object");
			}
			*ret = msg;
			return NULL;
		}
		if (q->len == q->cap) {
			char *grown;

			if (q->cap == MSG_CAP)
				return up_error_create(UP_ERR_PROTOCOL, "QMP message larger than %d bytes",
						       MSG_CAP);
			grown = realloc(q->buf, q->cap * 2);
			if (!grown)
				return &up_error_nomem;
			q->buf = grown;
			q->cap *= 2;
		}
		err = up_sock_recv(q->fd, q->buf + q->len, q->cap - q->len, timeout_ms, &got);
		if (err)
			return err;
		q->len += got;
	}
}

static struct up_error *send_json(struct qmp *q, json_t *msg)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	struct up_error *err;

	if (!text)
		return &up_error_nomem;
	err = up_sock_send(q->fd, text, strlen(text));
	if (!err)
		err = up_sock_send(q->fd, "\n", 1);
	free(text);
	return err;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct up_error *socket_call(struct qmp *q, json_t *req, json_t **ret)
{
	struct up_error *err;
	int64_t start;

	json_object_set_new(req, "id", json_integer((json_int_t)++q->next_id));
	err = send_json(q, req);
	if (err)
		return err;
	start = now_ms();
	for (;;) {
		int64_t left = REPLY_TIMEOUT_MS - (now_ms() - start);
		json_t *msg, *id;

		/*
		 * One deadline for the reply, not one per message: a peer streaming events (or other
		 * clients' replies) must not keep us here.
		 */
		err = left > 0 ? read_message(q, (int)left, &msg) :
		      up_error_create(UP_ERR_TIMEOUT, "no reply within %d ms", REPLY_TIMEOUT_MS);
		if (err)
			return err;
		id = json_object_get(msg, "id");
		/* Events, and replies to someone else's commands (see qmp_reset), are skipped. */
		if (json_object_get(msg, "event") || !json_is_integer(id) ||
		    (uint64_t)json_integer_value(id) != q->next_id) {
			json_decref(msg);
			continue;
		}
		*ret = msg;
		return NULL;
	}
}

struct up_error *qmp_execute(struct qmp *q, const char *command, json_t *args, json_t **ret)
{
	json_t *req = json_object(), *msg, *val;
	struct up_error *err;

	if (!req) {
		json_decref(args);
		return &up_error_nomem;
	}
	json_object_set_new(req, "execute", json_string(command));
	if (args)
		json_object_set_new(req, "arguments", args);
	err = q->transport->call(q, req, &msg);
	json_decref(req);
	if (err)
		return up_error_prefix(err, "QMP %s", command);
	val = json_object_get(msg, "return");
	if (val) {
		*ret = json_incref(val);
		json_decref(msg);
		return NULL;
	}
	val = json_object_get(msg, "error");
	if (val) {
		const char *desc = json_string_value(json_object_get(val, "desc"));

		err = up_error_create(UP_ERR_PROTOCOL, "QMP %s failed: %s", command,
				      desc ? desc : "no description");
	} else {
		err = up_error_create(UP_ERR_PROTOCOL, "QMP %s: unexpected reply", command);
	}
	json_decref(msg);
	return err;
}

struct up_error *qmp_hmp(struct qmp *q, const char *command_line, char **ret)
{
	json_t *args = json_pack("{s:s}", "command-line", command_line), *val;
	struct up_error *err;
	char *out;

	if (!args)
		return &up_error_nomem;
	err = qmp_execute(q, "human-monitor-command", args, &val);
	if (err)
		return err;
	out = strdup(json_is_string(val) ? json_string_value(val) : "");
	json_decref(val);
	if (!out)
		return &up_error_nomem;
	*ret = out;
	return NULL;
}

static void socket_reset(struct qmp *q)
{
	q->len = 0;
	q->next_id += 1000000;
	/* End whatever a dead writer left half-sent, so the next command parses on its own. */
	up_error_destroy(up_sock_send(q->fd, "\n", 1));
}

static struct up_error *socket_drain(struct qmp *q)
{
	/*
	 * Bounded: a peer that sends events faster than we parse them must not keep us here;
	 * what is left waits for the next call.
	 */
	for (unsigned int n = 0; n < DRAIN_MAX_MESSAGES; n++) {
		json_t *msg;
		struct up_error *err = read_message(q, 0, &msg);

		if (err && err->code == UP_ERR_TIMEOUT) {
			up_error_destroy(err);
			return NULL;
		}
		if (err)
			return err;
		json_decref(msg);
	}
	return NULL;
}

static pid_t socket_peer_pid(struct qmp *q)
{
	return up_sock_peer_pid(q->fd);
}

static void socket_close(struct qmp *q)
{
	close(q->fd);
	free(q->buf);
}

static const struct qmp_transport socket_transport = {
	.call = socket_call,
	.drain = socket_drain,
	.peer_pid = socket_peer_pid,
	.reset = socket_reset,
	.close = socket_close,
};

static struct up_error *busy_error(const char *address)
{
	return up_error_create(UP_ERR_INVALID, "%s: QMP socket busy: another client (libvirt?) "
			       "holds it; try --libvirt NAME", address);
}

struct up_error *qmp_open(int fd, const char *address, struct qmp **ret)
{
	struct qmp *q = calloc(1, sizeof(*q));
	struct up_error *err;
	json_t *greeting, *val;

	if (q)
		q->buf = malloc(BUF_START);
	if (!q || !q->buf) {
		free(q);
		close(fd);
		return &up_error_nomem;
	}
	q->transport = &socket_transport;
	q->fd = fd;
	q->cap = BUF_START;
	q->address = address;
	err = read_message(q, REPLY_TIMEOUT_MS, &greeting);
	if (err) {
		/*
		 * QEMU's monitor serves one client at a time and leaves the next waiting, unanswered:
		 * silence, while another connection to the socket is being served, is that.
		 */
		int busy = err->code == UP_ERR_TIMEOUT && up_sock_unix_busy(address) == 1;

		qmp_close(q);
		up_error_destroy(err);
		if (busy)
			return busy_error(address);
		return up_error_create(UP_ERR_INVALID, "%s: not a QMP socket (no QMP greeting)",
				       address);
	}
	if (!json_is_object(json_object_get(greeting, "QMP"))) {
		json_decref(greeting);
		qmp_close(q);
		return up_error_create(UP_ERR_INVALID, "%s: not a QMP socket (unexpected greeting)",
				       address);
	}
	json_decref(greeting);
	err = qmp_execute(q, "qmp_capabilities", NULL, &val);
	if (err) {
		qmp_close(q);
		return err;
	}
	json_decref(val);
	*ret = q;
	return NULL;
}

struct up_error *qmp_connect(const char *address, struct qmp **ret)
{
	struct up_error *err;
	int fd;

	err = up_sock_connect(address, &fd);
	if (err && err->code == UP_ERR_TIMEOUT && up_sock_unix_busy(address) == 1) {
		up_error_destroy(err);
		return busy_error(address);
	}
	if (err)
		return up_error_prefix(err, "connecting to QMP");
	return qmp_open(fd, address, ret);
}

/* ---- through libvirt (libvirt negotiated QMP's capabilities; it numbers the commands) ---- */

static struct up_error *libvirt_call(struct qmp *q, json_t *req, json_t **ret)
{
	char *text = json_dumps(req, JSON_COMPACT), *reply;
	struct up_error *err;
	json_error_t jerr;
	json_t *msg;

	if (!text)
		return &up_error_nomem;
	err = up_libvirt_qmp(q->libvirt, text, &reply);
	free(text);
	if (err)
		return err;
	msg = strlen(reply) <= MSG_CAP ? json_loads(reply, 0, &jerr) : NULL;
	free(reply);
	if (!json_is_object(msg)) {
		json_decref(msg);
		return up_error_create(UP_ERR_PROTOCOL, "libvirt passed on a reply that is not a "
				       "JSON object of at most %d bytes", MSG_CAP);
	}
	*ret = msg;
	return NULL;
}

/* libvirt reads QEMU's events itself. */
static struct up_error *libvirt_drain(struct qmp *q)
{
	(void)q;
	return NULL;
}

/* Not told: the caller finds QEMU from its vCPU threads (qmp_via_libvirt). */
static pid_t libvirt_peer_pid(struct qmp *q)
{
	(void)q;
	return -1;
}

static void libvirt_reset(struct qmp *q)
{
	/* A failure shows in the next command, which then finds no connection. */
	up_error_destroy(up_libvirt_reconnect(q->libvirt));
}

static void libvirt_close(struct qmp *q)
{
	up_libvirt_close(q->libvirt);
}

static const struct qmp_transport libvirt_transport = {
	.call = libvirt_call,
	.drain = libvirt_drain,
	.peer_pid = libvirt_peer_pid,
	.reset = libvirt_reset,
	.close = libvirt_close,
};

struct up_error *qmp_open_libvirt(struct up_libvirt *lv, struct qmp **ret)
{
	struct qmp *q = calloc(1, sizeof(*q));

	if (!q) {
		up_libvirt_close(lv);
		return &up_error_nomem;
	}
	q->transport = &libvirt_transport;
	q->libvirt = lv;
	q->address = up_libvirt_name(lv);
	*ret = q;
	return NULL;
}

int qmp_via_libvirt(const struct qmp *q)
{
	return q->transport == &libvirt_transport;
}

/* ---- common ---- */

void qmp_reset(struct qmp *q)
{
	q->transport->reset(q);
}

struct up_error *qmp_drain(struct qmp *q)
{
	return q->transport->drain(q);
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	q->transport->close(q);
	free(q);
}

pid_t qmp_peer_pid(struct qmp *q)
{
	return q->transport->peer_pid(q);
}
