/*
 * libFuzzer: the QMP client (backends/kvm/qmp.c) and what attach makes of QEMU's replies
 * (backends/kvm/qmp_replies.c).  The input is everything QEMU sends on the monitor socket:
 * the greeting, then the replies and events for the commands below, in the order attach sends
 * them.  It is written to the peer end of a socketpair, which then hangs up, so a reply that
 * never comes is the end of the stream, never a wait.  Seeds: tests/unit/data/qmp, recorded
 * from real QEMUs with the same commands and ids.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../backends/kvm/qmp.h"
#include "../backends/kvm/qmp_replies.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VCPUS 64

/* Keep in step with SCRIPT in tests/unit/data/qmp/capture.py (qmp_capabilities is qmp_open's). */
enum step { STATUS, TARGET, CPUS, GDBSERVER, STOP, CONT, NR_STEPS };
static const char *const commands[NR_STEPS] = {
	"query-status", "query-target", "query-cpus-fast", NULL, "stop", "cont",
};

static int expected(const struct up_error *err)
{
	/* The stream ended (LOST), or held something we refuse (PROTOCOL); never a wait. */
	return err->code == UP_ERR_PROTOCOL || err->code == UP_ERR_LOST ||
	       err->code == UP_ERR_NOMEM || err->code == UP_ERR_INVALID;
}

static void check_reply(enum step s, json_t *val)
{
	const char *status, *arch;
	size_t n = 0;
	long tid = -1;
	int running = -1;
	struct up_error *err;

	switch (s) {
	case STATUS:
		qmp_reply_status(val, &running, &status);
		if ((running != 0 && running != 1) || !status || strlen(status) > (size_t)-2)
			__builtin_trap();
		break;
	case TARGET:
		arch = qmp_reply_arch(val);
		if (arch && strlen(arch) > (size_t)-2)
			__builtin_trap();
		break;
	case CPUS:
		err = qmp_reply_vcpus(val, MAX_VCPUS, &n, &tid);
		if (err) {
			if (err->code != UP_ERR_PROTOCOL || n || tid != -1)
				__builtin_trap();
			up_error_destroy(err);
		} else if (!n || n > MAX_VCPUS || tid < 0) {
			__builtin_trap();
		}
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qmp *q;
	struct up_error *err;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	/* The whole input fits in the socket's buffer (max_len is far below it). */
	if (size && write(sv[1], data, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);

	err = qmp_open(sv[0], "fuzz", &q);
	if (err) {
		if (!expected(err))
			__builtin_trap();
		up_error_destroy(err);
		close(sv[1]);
		return 0;
	}
	for (enum step s = 0; s < NR_STEPS; s++) {
		json_t *val = NULL;
		char *out = NULL;

		if (s == GDBSERVER) {
			err = qmp_hmp(q, "gdbserver unix:/nonexistent,server=on,wait=off", &out);
			if (!err) {
				enum hmp_gdbserver r = hmp_gdbserver_result(out);

				if (r != HMP_GDBSERVER_STARTED && r != HMP_GDBSERVER_BUSY &&
				    r != HMP_GDBSERVER_FAILED)
					__builtin_trap();
				free(out);
			}
		} else {
			err = qmp_execute(q, commands[s], NULL, &val);
			if (!err) {
				check_reply(s, val);
				json_decref(val);
			}
		}
		if (err) {
			if (!expected(err))
				__builtin_trap();
			up_error_destroy(err);
		}
	}
	err = qmp_drain(q);
	if (err) {
		if (!expected(err))
			__builtin_trap();
		up_error_destroy(err);
	}
	qmp_close(q);
	close(sv[1]);
	return 0;
}
