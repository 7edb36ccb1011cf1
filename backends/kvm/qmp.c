#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../util/sock.h"
#include "qmp.h"

#define MSG_CAP (1024 * 1024)  /* the largest message; the buffer grows to it as needed */
#define BUF_START 4096
#define REPLY_TIMEOUT_MS 5000
#define DRAIN_MAX_MESSAGES 4096  /* events read per qmp_drain at most */

struct qmp {
	int fd;
	const char *address;
	uint64_t next_id;     /* every command carries an id; its reply must echo it */
	size_t len, cap;
	char *buf;            /* len bytes received and not yet taken, in cap bytes */
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

struct up_error *qmp_execute(struct qmp *q, const char *command, json_t *args, json_t **ret)
{
	json_t *req = json_object(), *msg, *val;
	struct up_error *err;
	int64_t start;

	if (!req) {
		json_decref(args);
		return &up_error_nomem;
	}
	json_object_set_new(req, "execute", json_string(command));
	json_object_set_new(req, "id", json_integer((json_int_t)++q->next_id));
	if (args)
		json_object_set_new(req, "arguments", args);
	err = send_json(q, req);
	json_decref(req);
	if (err)
		return up_error_prefix(err, "QMP %s", command);
	start = now_ms();
	for (;;) {
		int64_t left = REPLY_TIMEOUT_MS - (now_ms() - start);
		json_t *id;

		/*
		 * One deadline for the reply, not one per message: a peer streaming events (or other
		 * clients' replies) must not keep us here.
		 */
		err = left > 0 ? read_message(q, (int)left, &msg) :
		      up_error_create(UP_ERR_TIMEOUT, "no reply within %d ms", REPLY_TIMEOUT_MS);
		if (err)
			return up_error_prefix(err, "QMP %s", command);
		id = json_object_get(msg, "id");
		/* Events, and replies to someone else's commands (see qmp_reset), are skipped. */
		if (json_object_get(msg, "event") || !json_is_integer(id) ||
		    (uint64_t)json_integer_value(id) != q->next_id) {
			json_decref(msg);
			continue;
		}
		break;
	}
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

void qmp_reset(struct qmp *q)
{
	q->len = 0;
	q->next_id += 1000000;
	/* End whatever a dead writer left half-sent, so the next command parses on its own. */
	up_error_destroy(up_sock_send(q->fd, "\n", 1));
}

struct up_error *qmp_drain(struct qmp *q)
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

struct up_error *qmp_open(int fd, const char *address, struct qmp **ret)
{
	struct qmp *q = malloc(sizeof(*q));
	struct up_error *err;
	json_t *greeting, *val;

	if (q)
		q->buf = malloc(BUF_START);
	if (!q || !q->buf) {
		free(q);
		close(fd);
		return &up_error_nomem;
	}
	q->fd = fd;
	q->len = 0;
	q->cap = BUF_START;
	q->next_id = 0;
	q->address = address;
	err = read_message(q, REPLY_TIMEOUT_MS, &greeting);
	if (err) {
		qmp_close(q);
		up_error_destroy(err);
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
	if (err)
		return up_error_prefix(err, "connecting to QMP");
	return qmp_open(fd, address, ret);
}

void qmp_close(struct qmp *q)
{
	if (!q)
		return;
	close(q->fd);
	free(q->buf);
	free(q);
}

pid_t qmp_peer_pid(struct qmp *q)
{
	return up_sock_peer_pid(q->fd);
}
