/*
 * Domains managed by libvirt (uniprof --libvirt): find a domain by name, UUID or id through a
 * libvirt connection, say which hypervisor driver runs it, and pass QMP commands to its QEMU
 * through libvirt's monitor pass-through (libvirt holds QEMU's only QMP monitor).
 *
 * Built with Debian's libvirt-dev (backends/libvirt.c); without it backends/libvirt_none.c
 * answers every open with "this build has no libvirt support".
 */
#ifndef UP_BACKENDS_LIBVIRT_H
#define UP_BACKENDS_LIBVIRT_H

#include "../util/error.h"

/* Where --libvirt looks when -c/--connect is not given (as virsh run by root). */
#define UP_LIBVIRT_DEFAULT_URI "qemu:///system"

struct up_libvirt;

/*
 * Connect to uri (NULL: UP_LIBVIRT_DEFAULT_URI) and find domain, a name, UUID or numeric id,
 * which must be running.  Only libvirts on this host: the gdbstub and QEMU's memory must be
 * reachable from here.  Each failure (no libvirtd, permission, no such domain, domain shut
 * off, remote URI) is a one-line error that says what to do.
 */
struct up_error *up_libvirt_open(const char *uri, const char *domain, struct up_libvirt **ret);

/* Disconnect; NULL is a no-op. */
void up_libvirt_close(struct up_libvirt *lv);

/* The connection's driver as libvirt names it: "QEMU", "Xen" (libxl), "LXC", "TEST"... */
const char *up_libvirt_driver(const struct up_libvirt *lv);

/* The domain's name, its id (the Xen domid under libxl) and the URI connected to. */
const char *up_libvirt_name(const struct up_libvirt *lv);
int up_libvirt_id(const struct up_libvirt *lv);
const char *up_libvirt_uri(const struct up_libvirt *lv);

/*
 * Pass one QMP command (a JSON object without "id": libvirt adds its own) to the domain's
 * QEMU; *ret is the reply object's text (malloc'd), with "return" or "error".
 */
struct up_error *up_libvirt_qmp(struct up_libvirt *lv, const char *command, char **ret);

/*
 * Connect afresh to the same domain, forgetting the connection held so far (the guardian's
 * case: it inherited the connection of a process that died mid-call, whose stream libvirtd
 * may no longer parse).  An inherited connection is left open, unused; our own is closed.
 */
struct up_error *up_libvirt_reconnect(struct up_libvirt *lv);

#endif
