/* Domains managed by libvirt, through libvirt's client library (libvirt-dev). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt-qemu.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "libvirt.h"

struct up_libvirt {
	virConnectPtr conn;
	virDomainPtr dom;
	char *uri;      /* as given (or the default) */
	char *driver;   /* virConnectGetType's answer */
	char *name;
	char uuid[VIR_UUID_STRING_BUFLEN];
	int id;
	pid_t owner;    /* the process that opened conn */
};

/* libvirt prints its errors on stderr unless told otherwise: library code never prints. */
static void keep_quiet(void *ctx, virErrorPtr err)
{
	(void)ctx;
	(void)err;
}

/* libvirt's last error message in this thread, or a stand-in. */
static const char *last_message(void)
{
	virErrorPtr e = virGetLastError();

	return e && e->message ? e->message : "unknown libvirt error";
}

static int last_code(void)
{
	virErrorPtr e = virGetLastError();

	return e ? e->code : 0;
}

/*
 * Whether uri names a libvirt on this host: no host part ("qemu:///system",
 * "qemu+unix:///system?socket=..."), or the loopback one.  A remote QEMU's gdbstub socket and
 * memory are out of our reach.
 */
static int uri_is_local(const char *uri)
{
	static const char *const loopback[] = { "localhost", "127.0.0.1", "[::1]" };
	const char *host = strstr(uri, "://"), *at;
	size_t n;

	if (!host)
		return 1;  /* an alias or a bare driver name: resolved on this host */
	host += 3;
	n = strcspn(host, "/?");
	if (n == 0)
		return 1;
	at = memchr(host, '@', n);  /* user@host */
	if (at) {
		n -= at + 1 - host;
		host = at + 1;
	}
	for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
		size_t m = strlen(loopback[i]);

		if (n >= m && !strncmp(host, loopback[i], m) && (n == m || host[m] == ':'))
			return 1;
	}
	return 0;
}

static struct up_error *connect_error(const char *uri)
{
	int code = last_code();
	const char *hint = "";

	if (geteuid() != 0 && (code == VIR_ERR_AUTH_FAILED || code == VIR_ERR_AUTH_UNAVAILABLE ||
			       code == VIR_ERR_AUTH_CANCELLED || code == VIR_ERR_OPERATION_DENIED ||
			       code == VIR_ERR_INTERNAL_ERROR || code == VIR_ERR_SYSTEM_ERROR))
		hint = " (permission? run uniprof as root: it also reads QEMU's memory)";
	else if (code == VIR_ERR_SYSTEM_ERROR)
		hint = " (is libvirtd running? start it, or give -c URI)";
	else if (code == VIR_ERR_NO_CONNECT)
		hint = " (that hypervisor driver is not installed; give -c URI)";
	return up_error_create(UP_ERR_INVALID, "cannot connect to libvirt at %s: %s%s", uri, last_message(), hint);
}

/* Look domain up as a name, then a UUID, then an id, as virsh does (id first when numeric). */
static virDomainPtr lookup(virConnectPtr conn, const char *domain)
{
	virDomainPtr dom = NULL;
	char *end;
	long id;

	errno = 0;
	id = strtol(domain, &end, 10);
	if (!errno && end != domain && !*end && id >= 0 && id <= 0x7fffffff)
		dom = virDomainLookupByID(conn, (int)id);
	if (!dom)
		dom = virDomainLookupByName(conn, domain);
	if (!dom && strlen(domain) >= VIR_UUID_STRING_BUFLEN - 1 - 4)
		dom = virDomainLookupByUUIDString(conn, domain);
	return dom;
}

static struct up_error *open_domain(struct up_libvirt *lv, const char *domain)
{
	const char *type;
	int active;

	lv->conn = virConnectOpen(lv->uri);
	if (!lv->conn)
		return connect_error(lv->uri);
	lv->owner = getpid();
	lv->dom = lookup(lv->conn, domain);
	if (!lv->dom) {
		if (last_code() != VIR_ERR_NO_DOMAIN && last_code() != 0 &&
		    last_code() != VIR_ERR_INVALID_ARG)
			return up_error_create(UP_ERR_INVALID, "looking for libvirt domain %s at %s: %s",
					       domain, lv->uri, last_message());
		return up_error_create(UP_ERR_INVALID, "no libvirt domain '%s' at %s (virsh -c %s list --all "
				       "shows them)", domain, lv->uri, lv->uri);
	}
	active = virDomainIsActive(lv->dom);
	if (active < 0)
		return up_error_create(UP_ERR_PROTOCOL, "libvirt domain %s: %s", domain, last_message());
	if (!active)
		return up_error_create(UP_ERR_INVALID, "libvirt domain %s is not running (shut off); "
				       "start it first (virsh -c %s start %s)", domain, lv->uri, domain);
	type = virConnectGetType(lv->conn);
	free(lv->driver);
	free(lv->name);
	lv->driver = strdup(type ? type : "unknown");
	lv->name = strdup(virDomainGetName(lv->dom) ? virDomainGetName(lv->dom) : domain);
	if (!lv->driver || !lv->name)
		return &up_error_nomem;
	if (virDomainGetUUIDString(lv->dom, lv->uuid) < 0)
		lv->uuid[0] = '\0';
	lv->id = (int)virDomainGetID(lv->dom);
	return NULL;
}

/*
 * Let go of the connection: closed when this process opened it; else (a forked process's,
 * the guardian's) left open, as a close would talk on a stream that the process that died
 * may have left half-written, and wait for an answer that may never come.
 */
static void forget(struct up_libvirt *lv)
{
	if (lv->owner == getpid()) {
		if (lv->dom)
			virDomainFree(lv->dom);
		if (lv->conn)
			virConnectClose(lv->conn);
	}
	lv->dom = NULL;
	lv->conn = NULL;
}

struct up_error *up_libvirt_open(const char *uri, const char *domain, struct up_libvirt **ret)
{
	struct up_libvirt *lv;
	struct up_error *err;

	if (!uri)
		uri = UP_LIBVIRT_DEFAULT_URI;
	if (!uri_is_local(uri))
		return up_error_create(UP_ERR_UNSUPPORTED, "%s is a remote libvirt: run uniprof on the "
				       "host the domain runs on (it reads QEMU's memory and gdbstub there)",
				       uri);
	virSetErrorFunc(NULL, keep_quiet);
	lv = calloc(1, sizeof(*lv));
	if (!lv || !(lv->uri = strdup(uri))) {
		free(lv);
		return &up_error_nomem;
	}
	err = open_domain(lv, domain);
	if (err) {
		up_libvirt_close(lv);
		return err;
	}
	*ret = lv;
	return NULL;
}

void up_libvirt_close(struct up_libvirt *lv)
{
	if (!lv)
		return;
	forget(lv);
	free(lv->uri);
	free(lv->driver);
	free(lv->name);
	free(lv);
}

const char *up_libvirt_driver(const struct up_libvirt *lv)
{
	return lv->driver;
}

const char *up_libvirt_name(const struct up_libvirt *lv)
{
	return lv->name;
}

int up_libvirt_id(const struct up_libvirt *lv)
{
	return lv->id;
}

const char *up_libvirt_uri(const struct up_libvirt *lv)
{
	return lv->uri;
}

struct up_error *up_libvirt_qmp(struct up_libvirt *lv, const char *command, char **ret)
{
	char *reply = NULL;

	if (!lv->dom)
		return up_error_create(UP_ERR_LOST, "no connection to libvirt at %s", lv->uri);
	if (virDomainQemuMonitorCommand(lv->dom, command, &reply, 0) < 0) {
		int code = last_code();

		/* The domain went away (shut down, destroyed), or libvirtd did. */
		if (code == VIR_ERR_NO_DOMAIN || code == VIR_ERR_OPERATION_INVALID ||
		    code == VIR_ERR_RPC || code == VIR_ERR_SYSTEM_ERROR)
			return up_error_create(UP_ERR_LOST, "libvirt domain %s: %s", lv->name,
					       last_message());
		return up_error_create(UP_ERR_PROTOCOL, "libvirt domain %s: %s", lv->name,
				       last_message());
	}
	*ret = reply;
	return NULL;
}

struct up_error *up_libvirt_reconnect(struct up_libvirt *lv)
{
	forget(lv);
	return open_domain(lv, lv->uuid[0] ? lv->uuid : lv->name);
}
