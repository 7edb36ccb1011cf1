/*
 * Finding a domain: ids and names (xenstore, as xl does), and what the hypervisor says about it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>
#include <xenstore.h>

#include "xen.h"

/* Entries of /local/domain read at most; Xen's domain ids stop at DOMID_FIRST_RESERVED. */
#define MAX_DOMAINS 0x7ff0u
#define MAX_NAME 256

struct up_error *xen_call_error(int errnum, uint32_t domid, const char *what)
{
	if (errnum == ESRCH)
		return up_error_create(UP_ERR_LOST, "domain %u is gone (%s: %s)", domid, what,
				       strerror(errnum));
	return up_error_errno(errnum, "domain %u: %s", domid, what);
}

const char *xen_shutdown_reason_name(unsigned int reason)
{
	switch (reason) {
	case SHUTDOWN_poweroff: return "powered off";
	case SHUTDOWN_reboot: return "rebooting";
	case SHUTDOWN_suspend: return "suspended";
	case SHUTDOWN_crash: return "crashed";
	case SHUTDOWN_watchdog: return "stopped by its watchdog";
	case SHUTDOWN_soft_reset: return "soft-resetting";
	default: return "shut down";
	}
}

struct up_error *xen_domain_get_info(struct xc_interface_core *xch, uint32_t domid,
				     struct xen_domain_info *ret)
{
	xc_domaininfo_t info;
	int n;

	memset(&info, 0, sizeof(info));
	/* The first domain at or after domid: not ours when domid is gone. */
	n = xc_domain_getinfolist(xch, domid, 1, &info);
	if (n < 0)
		return xen_call_error(errno, domid, "getting domain information");
	if (n == 0 || info.domain != domid)
		return up_error_create(UP_ERR_LOST, "domain %u does not exist", domid);
	memset(ret, 0, sizeof(*ret));
	ret->domid = domid;
	ret->hvm = !!(info.flags & XEN_DOMINF_hvm_guest);
	ret->paused = !!(info.flags & XEN_DOMINF_paused);
	ret->dying = !!(info.flags & XEN_DOMINF_dying);
	ret->shutdown = !!(info.flags & XEN_DOMINF_shutdown);
	ret->shutdown_reason = info.flags >> XEN_DOMINF_shutdownshift & XEN_DOMINF_shutdownmask;
	ret->nr_vcpus = info.max_vcpu_id + 1;
	ret->nr_online = info.nr_online_vcpus;
	ret->nr_pages = info.tot_pages;
	memcpy(ret->handle, info.handle, sizeof(ret->handle));
	return NULL;
}

/* A whole decimal number below MAX_DOMAINS, or -1. */
static long parse_domid(const char *s)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= MAX_DOMAINS)
		return -1;
	return (long)v;
}

static char *read_name(struct xs_handle *xs, const char *id)
{
	char path[64], *name;
	unsigned int len;

	snprintf(path, sizeof(path), "/local/domain/%.16s/name", id);
	name = xs_read(xs, XBT_NULL, path, &len);
	if (name && (len == 0 || len > MAX_NAME || memchr(name, '\0', len))) {
		free(name);
		name = NULL;
	}
	return name;
}

char *xen_domain_name(uint32_t domid)
{
	struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
	char id[16], *name;

	if (!xs)
		return NULL;
	snprintf(id, sizeof(id), "%u", domid);
	name = read_name(xs, id);
	xs_close(xs);
	return name;
}

/* The id of the live domain called name, as xl finds it: /local/domain/N/name == name. */
static struct up_error *lookup_name(struct xc_interface_core *xch, const char *name, uint32_t *ret)
{
	struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
	struct up_error *err = NULL;
	unsigned int num = 0;
	char **ids;
	int found = 0;

	if (!xs)
		return up_error_errno(errno, "cannot reach xenstore to look up domain %s", name);
	ids = xs_directory(xs, XBT_NULL, "/local/domain", &num);
	if (!ids) {
		err = up_error_errno(errno, "cannot list /local/domain in xenstore to look up domain %s",
				     name);
		xs_close(xs);
		return err;
	}
	if (num > MAX_DOMAINS)
		num = MAX_DOMAINS;
	for (unsigned int i = 0; i < num && !found; i++) {
		long domid = parse_domid(ids[i]);
		struct xen_domain_info info;
		char *n;

		if (domid < 0)
			continue;
		n = read_name(xs, ids[i]);
		if (n && !strcmp(n, name)) {
			/* xenstore may still list a domain that is being destroyed. */
			struct up_error *e = xen_domain_get_info(xch, domid, &info);

			if (!e && !info.dying) {
				*ret = domid;
				found = 1;
			}
			up_error_destroy(e);
		}
		free(n);
	}
	free(ids);
	xs_close(xs);
	if (!found)
		return up_error_create(UP_ERR_INVALID, "no Xen domain named %s", name);
	return NULL;
}

struct up_error *xen_domain_resolve(struct xc_interface_core *xch, const char *spec,
				    uint32_t *ret)
{
	long domid;
	struct xen_domain_info info;
	struct up_error *err;

	if (!*spec || strlen(spec) > MAX_NAME)
		return up_error_create(UP_ERR_INVALID, "bad Xen domain name or id '%.64s'", spec);
	domid = parse_domid(spec);
	if (domid < 0)
		return lookup_name(xch, spec, ret);
	err = xen_domain_get_info(xch, domid, &info);
	if (err && err->code == UP_ERR_LOST) {
		up_error_destroy(err);
		return up_error_create(UP_ERR_INVALID, "no Xen domain with id %ld", domid);
	}
	if (err)
		return err;
	*ret = domid;
	return NULL;
}
