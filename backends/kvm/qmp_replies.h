/*
 * What QEMU's replies to the commands attach runs mean, taken apart without a socket (pure,
 * fuzzed by fuzz/fuzz_qmp.c): query-status, query-target, query-cpus-fast and HMP
 * "gdbserver".  Every value is QEMU's to choose: a missing member or one of the wrong type is
 * an error or a default, never a crash.
 */
#ifndef UP_KVM_QMP_REPLIES_H
#define UP_KVM_QMP_REPLIES_H

#include <jansson.h>
#include <stddef.h>

#include "../../util/error.h"

/*
 * query-status's return value: *ret_running is 1 when "running" is true (anything else: 0);
 * *ret_status is its "status" string, or "unknown", valid as long as val.
 */
void qmp_reply_status(const json_t *val, int *ret_running, const char **ret_status);

/* query-target's return value: its "arch" string (valid as long as val), or NULL. */
const char *qmp_reply_arch(const json_t *val);

/*
 * query-cpus-fast's return value: the number of vCPUs (an array of 1 to max entries, or an
 * UP_ERR_PROTOCOL error) and the first one's host thread id (0 when not given or not a
 * positive integer).
 */
struct up_error *qmp_reply_vcpus(const json_t *val, size_t max, size_t *ret_n,
				 long *ret_thread_id);

enum hmp_gdbserver {
	HMP_GDBSERVER_STARTED,  /* "Waiting for gdb connection on device ..." */
	HMP_GDBSERVER_BUSY,     /* QEMU already has a gdbstub */
	HMP_GDBSERVER_FAILED,   /* anything else: its first line says why */
};

/* The output of HMP "gdbserver DEVICE" (HMP reports failure only in its text). */
enum hmp_gdbserver hmp_gdbserver_result(const char *out);

#endif
