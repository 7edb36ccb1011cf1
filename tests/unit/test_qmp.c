/*
 * The QMP client (backends/kvm/qmp.c) and what attach reads in QEMU's replies
 * (backends/kvm/qmp_replies.c), over what real QEMUs sent (tests/unit/data/qmp, see its
 * README.md) and over hand-made streams.  The peer is the other end of a socketpair holding
 * the whole stream and then hung up.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../backends/kvm/qmp.h"
#include "../../backends/kvm/qmp_replies.h"
#include "../../util/sock.h"

/* A client whose peer has sent text (len bytes) and hung up; *ret_peer is the peer's end. */
static struct up_error *open_stream(const char *text, size_t len, struct qmp **ret, int *ret_peer)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(write(sv[1], text, len), (ssize_t)len);
	shutdown(sv[1], SHUT_WR);
	*ret_peer = sv[1];
	return qmp_open(sv[0], "test", ret);
}

/* tests/unit/data/qmp/FILE in the working directory or above it, whole. */
static char *load(const char *file, size_t *ret_len)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], *buf;
	struct stat st;
	FILE *f = NULL;

	assert_non_null(getcwd(dir, sizeof(dir)));
	for (;;) {
		char *slash;

		snprintf(path, sizeof(path), "%s/tests/unit/data/qmp/%s", dir, file);
		f = fopen(path, "rb");
		if (f)
			break;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			fail_msg("no tests/unit/data/qmp/%s above the working directory", file);
		*slash = '\0';
	}
	assert_int_equal(fstat(fileno(f), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	fclose(f);
	*ret_len = (size_t)st.st_size;
	return buf;
}

struct recorded {
	const char *file, *arch;
	size_t nr_vcpus;
	enum hmp_gdbserver gdbserver;
};

static const struct recorded recordings[] = {
	{ "x86_64-smp2.qmp", "x86_64", 2, HMP_GDBSERVER_STARTED },
	{ "x86_64-smp1-gdb-busy.qmp", "x86_64", 1, HMP_GDBSERVER_BUSY },
	{ "x86_64-smp1-gdb-fails.qmp", "x86_64", 1, HMP_GDBSERVER_FAILED },
	{ "aarch64-smp4.qmp", "aarch64", 4, HMP_GDBSERVER_STARTED },
};

/* The commands capture.py sent, in its order; each reply read as attach reads it. */
static void recorded_streams(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(recordings) / sizeof(recordings[0]); i++) {
		const struct recorded *r = &recordings[i];
		size_t len, n;
		char *text = load(r->file, &len), *out;
		const char *status;
		struct up_error *err;
		struct qmp *q;
		json_t *val;
		long tid;
		int peer, running;

		assert_null(open_stream(text, len, &q, &peer));
		assert_null(qmp_execute(q, "query-status", NULL, &val));
		qmp_reply_status(val, &running, &status);
		assert_int_equal(running, 1);
		assert_string_equal(status, "running");
		json_decref(val);
		assert_null(qmp_execute(q, "query-target", NULL, &val));
		assert_string_equal(qmp_reply_arch(val), r->arch);
		json_decref(val);
		assert_null(qmp_execute(q, "query-cpus-fast", NULL, &val));
		assert_null(qmp_reply_vcpus(val, 64, &n, &tid));
		assert_int_equal(n, r->nr_vcpus);
		assert_true(tid > 0);
		json_decref(val);
		assert_null(qmp_hmp(q, "gdbserver unix:/x,server=on,wait=off", &out));
		assert_int_equal(hmp_gdbserver_result(out), r->gdbserver);
		free(out);
		/* stop and cont: each reply comes after its event, which is skipped */
		for (int c = 0; c < 2; c++) {
			assert_null(qmp_execute(q, c ? "cont" : "stop", NULL, &val));
			json_decref(val);
		}
		/* what events are left are read; then the hang-up is seen */
		err = qmp_drain(q);
		assert_non_null(err);
		assert_int_equal(err->code, UP_ERR_LOST);
		up_error_destroy(err);
		qmp_close(q);
		close(peer);
		free(text);
	}
}

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\n{\"return\": {}, \"id\": 1}\n"

static void bad_greetings(void **state)
{
	static const char *const texts[] = {
		"", "\n", "garbage\n", "[1, 2]\n", "{\"QMP\": 1}\n", "{\"qmp\": {}}\n",
		"{\"QMP\": {}", /* no line end before the peer hangs up */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct qmp *q = NULL;
		int peer;
		struct up_error *err = open_stream(texts[i], strlen(texts[i]), &q, &peer);

		assert_non_null(err);
		assert_int_equal(err->code, UP_ERR_INVALID);
		assert_non_null(strstr(err->message, "not a QMP socket"));
		assert_null(q);
		up_error_destroy(err);
		close(peer);
	}
}

/* Replies for other ids and events are skipped; an error reply carries QEMU's description. */
static void replies(void **state)
{
	static const char text[] = GREETING
		"{\"return\": {\"arch\": \"sparc\"}, \"id\": 77}\n"
		"{\"event\": \"STOP\", \"id\": 2}\n"
		"{\"return\": {\"arch\": \"x86_64\"}, \"id\": 2}\n"
		"{\"error\": {\"class\": \"GenericError\", \"desc\": \"no way\"}, \"id\": 3}\n"
		"{\"id\": 4}\n"
		"{\"return\": [{\"thread-id\": \"12\"}], \"id\": 5}\n"
		"{\"return\": [], \"id\": 6}\n"
		"{\"return\": {\"running\": 1}, \"id\": 7}\n";
	struct up_error *err;
	const char *status;
	struct qmp *q;
	json_t *val;
	size_t n;
	long tid;
	int peer, running;

	(void)state;
	assert_null(open_stream(text, strlen(text), &q, &peer));
	assert_null(qmp_execute(q, "query-target", NULL, &val));
	assert_string_equal(qmp_reply_arch(val), "x86_64");
	json_decref(val);
	err = qmp_execute(q, "cont", NULL, &val);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_PROTOCOL);
	assert_string_equal(err->message, "QMP cont failed: no way");
	up_error_destroy(err);
	err = qmp_execute(q, "stop", NULL, &val);
	assert_non_null(err);
	assert_string_equal(err->message, "QMP stop: unexpected reply");
	up_error_destroy(err);
	/* a thread id that is not a number is no thread id */
	assert_null(qmp_execute(q, "query-cpus-fast", NULL, &val));
	assert_null(qmp_reply_vcpus(val, 64, &n, &tid));
	assert_int_equal(n, 1);
	assert_int_equal(tid, 0);
	json_decref(val);
	assert_null(qmp_execute(q, "query-cpus-fast", NULL, &val));
	err = qmp_reply_vcpus(val, 64, &n, &tid);
	assert_non_null(err);
	assert_string_equal(err->message, "QMP query-cpus-fast lists 0 vCPUs");
	up_error_destroy(err);
	json_decref(val);
	/* "running" must be JSON true; "status" missing is "unknown" */
	assert_null(qmp_execute(q, "query-status", NULL, &val));
	qmp_reply_status(val, &running, &status);
	assert_int_equal(running, 0);
	assert_string_equal(status, "unknown");
	json_decref(val);
	/* the stream ends: the peer is gone, said at once */
	err = qmp_execute(q, "query-status", NULL, &val);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	qmp_close(q);
	close(peer);
}

/* A message far larger than the first buffer is read whole; one past 1 MiB is refused. */
static void long_messages(void **state)
{
	size_t big = 200 * 1024, huge = 1024 * 1024 + 1, len;
	char *text = malloc(strlen(GREETING) + big + huge + 64), *out;
	struct up_error *err;
	struct qmp *q;
	int sv[2];
	pid_t child;

	(void)state;
	assert_non_null(text);
	len = (size_t)sprintf(text, "%s{\"return\": \"", GREETING);
	memset(text + len, 'x', big);
	len += big;
	len += (size_t)sprintf(text + len, "\", \"id\": 2}\n{\"event\": \"");
	memset(text + len, 'y', huge);  /* no end: the reader reaches its cap first */
	len += huge;
	/* More than a socket buffer holds: a child writes it while we read. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		close(sv[0]);
		_exit(write(sv[1], text, len) == (ssize_t)len ? 0 : 1);
	}
	close(sv[1]);
	assert_null(qmp_open(sv[0], "test", &q));
	assert_null(qmp_hmp(q, "info version", &out));
	assert_int_equal(strlen(out), big);
	assert_int_equal(out[0], 'x');
	free(out);
	err = qmp_execute(q, "stop", NULL, NULL);
	assert_non_null(err);
	assert_non_null(strstr(err->message, "larger than 1048576 bytes"));
	up_error_destroy(err);
	qmp_close(q);
	waitpid(child, NULL, 0);
	free(text);
}

static int listen_at(const char *path, int backlog)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fd, backlog), 0);
	return fd;
}

static int connect_to(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/*
 * A monitor that serves one client and leaves the next unaccepted (QEMU's, held by libvirt)
 * is busy; a silent listener that serves nobody is not.  The QMP client says which, after
 * its wait for a greeting or for room in the socket's queue.
 */
static void busy_socket(void **state)
{
	char dir[] = "/tmp/uniprof-test-busy.XXXXXX", path[64];
	int srv, held, served, waiting;
	struct qmp *q = NULL;
	struct up_error *err;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	assert_int_equal(up_sock_unix_busy(path), -1);  /* nothing there */
	srv = listen_at(path, 0);
	assert_int_equal(up_sock_unix_busy(path), 0);
	waiting = connect_to(path);
	assert_int_equal(up_sock_unix_busy(path), 0);    /* waits, but nobody is served */
	held = accept(srv, NULL, NULL);
	assert_true(held >= 0);
	served = waiting;
	waiting = connect_to(path);
	assert_int_equal(up_sock_unix_busy(path), 1);    /* one served, one waiting */
	/* The queue is full now: the client retries, then says who holds the socket. */
	err = qmp_connect(path, &q);
	assert_non_null(err);
	assert_null(q);
	if (!strstr(err->message, "QMP socket busy: another client (libvirt?) holds it; try --libvirt NAME"))
		fail_msg("%s", err->message);
	up_error_destroy(err);
	close(waiting);
	close(served);
	close(held);
	close(srv);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded_streams),
		cmocka_unit_test(bad_greetings),
		cmocka_unit_test(replies),
		cmocka_unit_test(long_messages),
		cmocka_unit_test(busy_socket),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
