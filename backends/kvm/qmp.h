/*
 * A QMP (QEMU Machine Protocol) client on top of jansson.
 *
 * QMP is newline-separated JSON: a greeting, then one reply per command, with asynchronous
 * events interleaved.  Events are read and dropped.  Every message is bounded in size.
 */
#ifndef UP_KVM_QMP_H
#define UP_KVM_QMP_H

#include <jansson.h>
#include <sys/types.h>

#include "../../util/error.h"

struct qmp;

/* Connect, check the greeting and negotiate capabilities. */
struct up_error *qmp_connect(const char *address, struct qmp **ret);

/*
 * The same over a socket already connected to QEMU's monitor (a test's socketpair): q owns fd
 * from now on, also when this fails (fd is closed).  address names the peer in messages and
 * must outlive q.
 */
struct up_error *qmp_open(int fd, const char *address, struct qmp **ret);

/* Close; NULL is a no-op. */
void qmp_close(struct qmp *q);

/*
 * Run command with arguments args (a JSON object, stolen; may be NULL).  On success *ret is the
 * "return" value, a new reference the caller must json_decref().  A QMP error reply becomes an
 * UP_ERR_PROTOCOL error carrying QEMU's description.
 */
struct up_error *qmp_execute(struct qmp *q, const char *command, json_t *args, json_t **ret);

/* Run an HMP command line through human-monitor-command; *ret is its output (malloc'd). */
struct up_error *qmp_hmp(struct qmp *q, const char *command_line, char **ret);

/*
 * Forget the stream's state (a process inherited q from one that died mid-conversation):
 * later commands skip whatever replies were meant for the dead process.
 */
void qmp_reset(struct qmp *q);

/* Read and discard the events waiting, without blocking: at most a few thousand a call. */
struct up_error *qmp_drain(struct qmp *q);

/* QEMU's process id when q is a unix socket (SO_PEERCRED); -1 over TCP. */
pid_t qmp_peer_pid(struct qmp *q);

#endif
