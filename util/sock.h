/* Connecting to QEMU's sockets and reading from them with a deadline. */
#ifndef UP_UTIL_SOCK_H
#define UP_UTIL_SOCK_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/*
 * Connect to address: "HOST:PORT" (TCP, numeric or named host; "[v6]:PORT" too) or else a
 * unix socket path.  On success *ret is a blocking, close-on-exec socket.
 */
struct up_error *up_sock_connect(const char *address, int *ret);

/*
 * Receive up to len bytes, waiting at most timeout_ms (negative: forever).  Returns the
 * byte count in *ret; end of stream is UP_ERR_LOST, no data in time UP_ERR_TIMEOUT.
 */
struct up_error *up_sock_recv(int fd, void *buf, size_t len, int timeout_ms, size_t *ret);

/* Send all len bytes.  A closed peer is UP_ERR_LOST. */
struct up_error *up_sock_send(int fd, const void *buf, size_t len);

/*
 * The process id of the peer of a connected unix socket, as the kernel saw it connect
 * (SO_PEERCRED), in our pid namespace; -1 for any other socket (TCP: the peer may be anywhere).
 */
pid_t up_sock_peer_pid(int fd);

/*
 * Whether the unix socket listening at path serves a connection while another waits in its
 * backlog, unaccepted: a server that takes one client at a time (QEMU's monitor) is busy
 * with someone else.  1 yes, 0 no, -1 unknown (no /proc/net/unix).
 */
int up_sock_unix_busy(const char *path);

#endif
