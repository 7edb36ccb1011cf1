/*
 * A client for QEMU's gdbstub (GDB remote serial protocol), all-stop mode.
 *
 * QEMU quirks this client relies on (see shared/FACTS.md): the stub takes a '$' as an implicit
 * acknowledgement of its previous reply, so an ack and the next request go out in one write;
 * any byte sent while the guest runs stops it, so nothing is sent between "continue" and the
 * next interrupt, and the interrupt and the requests that follow it can share a write;
 * 'm' reads are at most 2048 bytes.
 */
#ifndef UP_KVM_GDBSTUB_H
#define UP_KVM_GDBSTUB_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

struct gdb_conn;

/* Connect to the stub at address ("PATH" or "HOST:PORT").  Connecting stops the guest. */
struct up_error *gdb_connect(const char *address, struct gdb_conn **ret);

/* Close the connection; NULL is a no-op.  Does not resume the guest: see gdb_detach(). */
void gdb_close(struct gdb_conn *c);

/*
 * Send each of the n requests in one write and wait for their n replies.  replies[i] points
 * into c's buffers and stays valid until the next call; lens[i] is its length.  Console
 * output packets ('O...') in between are skipped.  n is at most GDB_MAX_PIPELINE.  Once an
 * exchange fails after its requests went out (a timeout, a hang-up, a malformed packet), the
 * connection is out of step and every later request on it fails too (gdb_continue() as well).
 */
#define GDB_MAX_PIPELINE 32
struct up_error *gdb_transact(struct gdb_conn *c, const char *const *requests, size_t n,
			      const char **replies, size_t *lens);

/* One request, one reply: gdb_transact() with n == 1. */
struct up_error *gdb_request(struct gdb_conn *c, const char *request, const char **reply,
			     size_t *len);

/*
 * Stop the running guest (0x03) and, in the same write, send n requests (at most
 * GDB_MAX_PIPELINE, n may be 0) that the stub answers once the guest has stopped: the stop
 * and, say, every vCPU's registers in one round trip.  The stub drops the byte that stops a
 * running guest and reads the rest with the guest stopped.  *ret_thread is the thread the stop
 * reply names, or 0; the replies as for gdb_transact.
 */
struct up_error *gdb_interrupt_transact(struct gdb_conn *c, const char *const *requests,
					size_t n, const char **replies, size_t *lens,
					uint64_t *ret_thread);

/* Let the guest run ('c').  Returns once the stub acknowledged the request. */
struct up_error *gdb_continue(struct gdb_conn *c);

/*
 * Detach: 'D', or with pid non-zero 'D;pid', the form a stub in multiprocess mode requires
 * (its thread ids read "p<pid>.<tid>"; QEMU keeps that mode from an earlier gdb session).  A
 * stub resumes the guest once no process is left attached.  The connection stays open for
 * gdb_close().
 */
struct up_error *gdb_detach(struct gdb_conn *c, uint64_t pid);

/*
 * Read a whole qXfer object (e.g. object "features", annex "target.xml").  *ret is malloc'd,
 * not NUL-terminated; objects larger than 1 MiB are refused.
 */
struct up_error *gdb_read_xfer(struct gdb_conn *c, const char *object, const char *annex,
			       char **ret, size_t *ret_len);

/* The largest payload the stub accepts, from qSupported (PacketSize), default 4096. */
size_t gdb_packet_size(struct gdb_conn *c);

#endif
