/*
 * A QMP (QEMU Machine Protocol) client on top of jansson.
 *
 * QMP is newline-separated JSON: a greeting, then one reply per command, with asynchronous
 * events interleaved.  Events are read and dropped.  Every message is bounded in size.
 * Commands go over a connection of ours to QEMU's QMP socket, or through libvirt's monitor
 * pass-through when libvirt holds that socket (qmp_open_libvirt).
 */
#ifndef UP_KVM_QMP_H
#define UP_KVM_QMP_H

#include <jansson.h>
#include <sys/types.h>

#include "../../util/error.h"

struct qmp;
struct up_libvirt;

/*
 * Connect, check the greeting and negotiate capabilities.  A socket that stays silent because
 * QEMU's monitor serves another client (libvirt's, say) is reported busy.
 */
struct up_error *qmp_connect(const char *address, struct qmp **ret);

/*
 * The same over a socket already connected to QEMU's monitor (a test's socketpair): q owns fd
 * from now on, also when this fails (fd is closed).  address names the peer in messages and
 * must outlive q.
 */
struct up_error *qmp_open(int fd, const char *address, struct qmp **ret);

/*
 * Commands through libvirt to the QEMU of the domain lv was opened on (a running domain of
 * the QEMU driver); q owns lv from now on, also when this fails.
 */
struct up_error *qmp_open_libvirt(struct up_libvirt *lv, struct qmp **ret);

/* Whether q goes through libvirt: QEMU then runs on this host, its pid unknown to q. */
int qmp_via_libvirt(const struct qmp *q);

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
 * later commands skip whatever replies were meant for the dead process (through libvirt: a
 * new connection to libvirt replaces the inherited one).
 */
void qmp_reset(struct qmp *q);

/* Read and discard the events waiting, without blocking: at most a few thousand a call. */
struct up_error *qmp_drain(struct qmp *q);

/* QEMU's process id when q is a unix socket (SO_PEERCRED); -1 over TCP and libvirt. */
pid_t qmp_peer_pid(struct qmp *q);

#endif
