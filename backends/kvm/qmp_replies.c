#include <string.h>

#include "qmp_replies.h"

void qmp_reply_status(const json_t *val, int *ret_running, const char **ret_status)
{
	const char *status = json_string_value(json_object_get(val, "status"));

	*ret_running = json_is_true(json_object_get(val, "running"));
	*ret_status = status ? status : "unknown";
}

const char *qmp_reply_arch(const json_t *val)
{
	return json_string_value(json_object_get(val, "arch"));
}

struct up_error *qmp_reply_vcpus(const json_t *val, size_t max, size_t *ret_n,
				 long *ret_thread_id)
{
	size_t n = json_is_array(val) ? json_array_size(val) : 0;
	json_t *tid;

	if (n == 0 || n > max)
		return up_error_create(UP_ERR_PROTOCOL, "QMP query-cpus-fast lists %zu vCPUs", n);
	tid = json_object_get(json_array_get(val, 0), "thread-id");
	*ret_n = n;
	*ret_thread_id = json_is_integer(tid) && json_integer_value(tid) > 0 &&
			 json_integer_value(tid) <= 0x7fffffff ? (long)json_integer_value(tid) : 0;
	return NULL;
}

enum hmp_gdbserver hmp_gdbserver_result(const char *out)
{
	if (strstr(out, "duplicate") || strstr(out, "already"))
		return HMP_GDBSERVER_BUSY;
	if (strstr(out, "Waiting for gdb connection"))
		return HMP_GDBSERVER_STARTED;
	return HMP_GDBSERVER_FAILED;
}
