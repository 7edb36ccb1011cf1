/* This build has no libvirt (libvirt-dev was missing): --libvirt says so. */
#include <stddef.h>

#include "libvirt.h"

struct up_error *up_libvirt_open(const char *uri, const char *domain, struct up_libvirt **ret)
{
	(void)uri;
	(void)domain;
	(void)ret;
	return up_error_create(UP_ERR_UNSUPPORTED, "this build has no libvirt support (libvirt-dev "
			       "was missing when it was built): install it and rebuild, or use --qmp");
}

void up_libvirt_close(struct up_libvirt *lv)
{
	(void)lv;
}

const char *up_libvirt_driver(const struct up_libvirt *lv)
{
	(void)lv;
	return NULL;
}

const char *up_libvirt_name(const struct up_libvirt *lv)
{
	(void)lv;
	return NULL;
}

int up_libvirt_id(const struct up_libvirt *lv)
{
	(void)lv;
	return -1;
}

const char *up_libvirt_uri(const struct up_libvirt *lv)
{
	(void)lv;
	return NULL;
}

struct up_error *up_libvirt_qmp(struct up_libvirt *lv, const char *command, char **ret)
{
	(void)lv;
	(void)command;
	(void)ret;
	return up_error_create(UP_ERR_UNSUPPORTED, "this build has no libvirt support");
}

struct up_error *up_libvirt_reconnect(struct up_libvirt *lv)
{
	(void)lv;
	return up_error_create(UP_ERR_UNSUPPORTED, "this build has no libvirt support");
}
