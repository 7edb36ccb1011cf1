/*
 * The gdbstub connection against a stub played by a child process over a unix socket: after an
 * exchange fails halfway, a late reply must not be taken for the answer to the next request.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../backends/kvm/gdbstub.h"
#include "../../util/error.h"

/* Read until the stub has seen a whole packet ('#' and two checksum digits). */
static void read_packet(int fd)
{
	char c;
	int left = -1;

	while (left != 0 && read(fd, &c, 1) == 1) {
		if (c == '#')
			left = 2;
		else if (left > 0)
			left--;
	}
}

/* The stub: answer qSupported, then answer the next request with a bad checksum followed by
 * a well-formed "OK", then read whatever comes until the client goes. */
static void play_stub(int listener)
{
	static const char supported[] = "+$PacketSize=1000#f1";
	static const char bad_then_ok[] = "+$00#00$OK#9a";
	int fd = accept(listener, NULL, NULL);
	char c;

	if (fd < 0)
		_exit(1);
	read_packet(fd);
	if (write(fd, supported, strlen(supported)) < 0)
		_exit(1);
	read_packet(fd);
	if (write(fd, bad_then_ok, strlen(bad_then_ok)) < 0)
		_exit(1);
	while (read(fd, &c, 1) == 1)
		;
	_exit(0);
}

static void no_stale_reply_after_a_failed_exchange(void **state)
{
	char dir[] = "/tmp/test_gdbstub.XXXXXX";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct gdb_conn *c;
	struct up_error *err;
	const char *reply;
	size_t len;
	int listener, status;
	pid_t pid;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/gdb.sock", dir);
	listener = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(listener >= 0);
	assert_int_equal(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(listener, 1), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		play_stub(listener);
	close(listener);

	err = gdb_connect(sa.sun_path, &c);
	assert_null(err);
	assert_int_equal(gdb_packet_size(c), 0x1000);
	err = gdb_request(c, "g", &reply, &len);
	assert_non_null(err);
	assert_non_null(strstr(err->message, "bad checksum"));
	up_error_destroy(err);
	/* The "OK" that followed answers nothing we still ask. */
	err = gdb_request(c, "D", &reply, &len);
	assert_non_null(err);
	assert_non_null(strstr(err->message, "out of step"));
	up_error_destroy(err);
	err = gdb_continue(c);
	assert_non_null(err);
	up_error_destroy(err);
	gdb_close(c);

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	unlink(sa.sun_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_stale_reply_after_a_failed_exchange),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
