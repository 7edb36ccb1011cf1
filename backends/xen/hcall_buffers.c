/*
 * Multi-page hypercall buffers, kept for reuse.
 *
 * libxenctrl bounces each hypercall argument through a buffer from libxencall.  libxencall
 * keeps freed one-page buffers for reuse, but maps every larger one afresh and unmaps it when
 * freed.  The x86 PV vCPU context is two pages, so every xc_vcpu_getcontext of a PV guest paid
 * a mapping and an unmapping: 175-250 us in a PV dom0 under nested TCG, most of a sample.
 *
 * So uniprof defines libxencall's two buffer functions itself.  The dynamic linker looks up
 * symbols in the executable before any library, so libxenctrl's calls (and libxencall's own
 * internal ones, which go through its PLT) reach these; they hand out a kept buffer of the same
 * size and handle when there is one, keep up to KEEP freed multi-page buffers, and pass all the
 * rest to libxencall's functions (dlsym RTLD_NEXT).  Every buffer is one libxencall allocated,
 * for the same handle it is reused with; nothing about what a buffer is changes, only when it
 * is given back.  Single-page buffers are left to libxencall's own cache.
 *
 * A forked child (the guardian) inherits the list but not the buffers (libxencall maps them
 * MADV_DONTFORK): entries are used only by the process that kept them.  uniprof is single-
 * threaded while it samples; the list has no lock.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>
#include <unistd.h>

#include <xencall.h>

#include "hcall_buffers.h"

#define KEEP 8

struct kept {
	xencall_handle *xcall;
	void *p;
	size_t nr_pages;
};

static struct kept kept[KEEP];
static size_t nr_kept;
static pid_t kept_pid;
static struct xen_hcall_buffer_stats stats;

typedef void *alloc_fn(xencall_handle *xcall, size_t nr_pages);
typedef void free_fn(xencall_handle *xcall, void *p, size_t nr_pages);

static alloc_fn *real_alloc(void)
{
	static alloc_fn *fn;

	if (!fn)
		fn = (alloc_fn *)dlsym(RTLD_NEXT, "xencall_alloc_buffer_pages");
	return fn;
}

static free_fn *real_free(void)
{
	static free_fn *fn;

	if (!fn)
		fn = (free_fn *)dlsym(RTLD_NEXT, "xencall_free_buffer_pages");
	return fn;
}

/* Forget entries inherited across fork: their buffers are not mapped in this process. */
static void check_owner(void)
{
	pid_t pid = getpid();

	if (kept_pid != pid) {
		nr_kept = 0;
		kept_pid = pid;
	}
}

void *xencall_alloc_buffer_pages(xencall_handle *xcall, size_t nr_pages)
{
	alloc_fn *fn;
	void *p;

	if (nr_pages > 1) {
		check_owner();
		for (size_t i = nr_kept; i-- > 0;) {
			if (kept[i].xcall == xcall && kept[i].nr_pages == nr_pages) {
				p = kept[i].p;
				kept[i] = kept[--nr_kept];
				stats.reused++;
				return p;
			}
		}
	}
	fn = real_alloc();
	if (!fn) {
		errno = ENOSYS;
		return NULL;
	}
	p = fn(xcall, nr_pages);
	if (p && nr_pages > 1)
		stats.fresh++;
	return p;
}

void xencall_free_buffer_pages(xencall_handle *xcall, void *p, size_t nr_pages)
{
	free_fn *fn;

	if (!p)
		return;
	if (nr_pages > 1) {
		check_owner();
		if (nr_kept < KEEP) {
			kept[nr_kept++] = (struct kept){ .xcall = xcall, .p = p, .nr_pages = nr_pages };
			return;
		}
	}
	fn = real_free();
	if (fn)
		fn(xcall, p, nr_pages);
}

void xen_hcall_buffers_release(void)
{
	free_fn *fn = real_free();

	check_owner();
	while (nr_kept > 0) {
		struct kept k = kept[--nr_kept];

		if (fn)
			fn(k.xcall, k.p, k.nr_pages);
	}
}

void xen_hcall_buffers_stats(struct xen_hcall_buffer_stats *ret)
{
	*ret = stats;
}
