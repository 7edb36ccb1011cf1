/* What /proc says about a QEMU process. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qemu_process.h"

/* The first number after "field" on its line of /proc/ID/status; -1 when absent. */
static long status_field(long id, const char *field)
{
	char path[64], line[256];
	size_t n = strlen(field);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", id);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, field, n) && line[n] == ':') {
			if (sscanf(line + n + 1, "%ld", &v) != 1)
				v = -1;
			break;
		}
	}
	fclose(f);
	return v;
}

pid_t qemu_process_of_thread(long tid)
{
	long pid = tid > 0 ? status_field(tid, "Tgid") : -1;

	return pid > 0 ? (pid_t)pid : -1;
}

int qemu_process_is_qemu(pid_t pid)
{
	char path[64], exe[4096];
	const char *base;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%ld/exe", (long)pid);
	n = readlink(path, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	base = strrchr(exe, '/');
	return strstr(base ? base + 1 : exe, "qemu") != NULL;
}

int qemu_process_owner(pid_t pid, uid_t *ret_uid, gid_t *ret_gid)
{
	/* "Uid:" and "Gid:" give the real, effective, saved and filesystem ids: the real first. */
	long uid = status_field(pid, "Uid"), gid = status_field(pid, "Gid");

	if (uid < 0 || gid < 0)
		return -1;
	*ret_uid = (uid_t)uid;
	*ret_gid = (gid_t)gid;
	return 0;
}

/* Turn a QEMU -gdb chardev ("tcp::1234", "tcp:host:1234,server=on", "unix:/p,server")
 * into an address we can connect to. */
static char *chardev_address(const char *spec)
{
	char *addr = NULL;
	size_t n;

	if (!strncmp(spec, "tcp:", 4)) {
		spec += 4;
		n = strcspn(spec, ",");
		if (asprintf(&addr, "%s%.*s", spec[0] == ':' ? "localhost" : "", (int)n, spec) < 0)
			return NULL;
	} else if (!strncmp(spec, "unix:", 5)) {
		spec += 5;
		addr = strndup(spec, strcspn(spec, ","));
	}
	return addr;
}

char *qemu_process_gdbstub(pid_t pid)
{
	char path[64], buf[65536], *addr = NULL;
	FILE *f;
	size_t n;

	if (pid <= 0)
		return NULL;
	snprintf(path, sizeof(path), "/proc/%ld/cmdline", (long)pid);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	for (size_t i = 0; i < n && !addr; i += strlen(buf + i) + 1) {
		const char *arg = buf + i, *next = i + strlen(arg) + 1 < n ? arg + strlen(arg) + 1 : "";

		if (!strcmp(arg, "-s"))
			addr = strdup("localhost:1234");
		else if (!strcmp(arg, "-gdb") || !strcmp(arg, "--gdb"))
			addr = chardev_address(next);
	}
	return addr;
}
