/*
 * The Xen target: profile a domain from dom0 through libxenctrl (pause, vCPU state, domain
 * information) and libxenforeignmemory (read-only mappings of the domain's frames).
 *
 * attach: resolve the id or name, refuse a domain that is not running (dying, shut down, or
 * paused by someone else: pausing is counted in Xen, and a sample's unpause must never be what
 * lets a paused domain go), learn its kind (PV or HVM/PVH, from XEN_DOMINF_hvm_guest), its vCPUs
 * and its architecture.  Per sample: xc_domain_pause, the registers of each vCPU, the walks
 * (the memory layer translates with the arch page walker and reads frames mapped through the
 * mapping cache: see read_phys), then xc_domain_unpause.  Every path that paused unpauses: resume() and detach() both do, and
 * detach() unpauses only a pause of ours.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <xenctrl.h>
#include <xenforeignmemory.h>

#include "../target.h"
#include "hcall_buffers.h"
#include "mapcache.h"
#include "xen.h"

/* Frames kept mapped: page-table pages and stack pages of every vCPU, with room to spare. */
#define CACHE_FRAMES 1024
/* Between two checks that the domain still exists and runs (poll), in nanoseconds. */
#define POLL_INTERVAL_NS 100000000ull
/*
 * An HVM, PVH or Arm guest's frame numbers go through its p2m, which can change under a mapping
 * we keep (ballooning, sharing): forget all mappings this often.  x86 PV mappings are of machine
 * frames and cannot go stale (see read_phys).
 */
#define HVM_FLUSH_INTERVAL_NS 1000000000ull
/* Longest message libxenctrl's log gives us, kept for -vv. */
#define LOG_LINE 256

/* Forwards libxenctrl's and libxenforeignmemory's messages to our log callback (or nowhere). */
struct xen_logger {
	xentoollog_logger base;
	up_log_fn *log;
	void *log_ctx;
};

/* Where a sample's time goes, summed over the run (shown with -vv). */
struct xen_timing {
	uint64_t pause_ns, unpause_ns, regs_ns, map_ns, read_ns;
	uint64_t pauses, regs_calls, maps, reads;
};

struct xen_target {
	struct up_target base;
	struct xen_logger logger;
	xc_interface *xch;
	xenforeignmemory_handle *fmem;
	struct xen_mapcache *cache;
	const struct up_arch *arch;
	uint32_t domid;
	char *name;
	int hvm;
	unsigned int nr_vcpus;
	uint8_t handle[16];
	uint64_t nr_pages;
	int paused;              /* a pause of ours is in force */
	struct up_regs *regs;    /* per vCPU, read during the current pause */
	uint64_t *regs_pause;    /* pause number (base.pauses) the registers of each vCPU were read in */
	uint64_t *cpu_time;      /* per vCPU: run time at the previous pause, UINT64_MAX unknown */
	void *vcpu_ctx;          /* scratch for xen_vcpu_get_regs */
	uint64_t last_poll, last_flush;
	struct xen_timing timing;
};

#define LOG(x, level, ...) do { if ((x)->logger.log) (x)->logger.log((x)->logger.log_ctx, level, __VA_ARGS__); } while (0)

static struct xen_target *to_xen(struct up_target *t)
{
	return (struct xen_target *)t;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The clock for the per-stage timings.  Reading a clock can be a system call in a PV dom0 (the
 * xen clocksource has a vDSO mode only when Xen vouches for a stable TSC): measured 0.2 us with
 * one pCPU but 20-65 us with two under nested TCG, several times per sample.  So only an
 * instrumented build (make XEN_TIMING=1) reads it; otherwise only counts are kept.
 */
static uint64_t stage_clock(void)
{
#ifdef UP_XEN_TIMING
	return now_ns();
#else
	return 0;
#endif
}

static void logger_vmessage(struct xentoollog_logger *l, xentoollog_level level, int errnoval,
			    const char *context, const char *format, va_list al)
	__attribute__((format(printf, 5, 0)));

static void logger_vmessage(struct xentoollog_logger *l, xentoollog_level level, int errnoval,
			    const char *context, const char *format, va_list al)
{
	struct xen_logger *x = (struct xen_logger *)l;
	char line[LOG_LINE];

	if (!x->log || level < XTL_DETAIL)
		return;
	vsnprintf(line, sizeof(line), format, al);
	x->log(x->log_ctx, 2, "%s: %s%s%s", context ? context : "xen", line,
	       errnoval >= 0 ? ": " : "", errnoval >= 0 ? strerror(errnoval) : "");
}

static void logger_destroy(struct xentoollog_logger *l)
{
	(void)l;
}

/* Mapping-cache callbacks: one read-only frame of the domain. */
static struct up_error *map_frame(void *ctx, uint64_t frame, void **ret)
{
	struct xen_target *x = ctx;
	xen_pfn_t pfn = frame;
	int rc = 0;
	uint64_t t0 = stage_clock();
	void *p = xenforeignmemory_map(x->fmem, x->domid, PROT_READ, 1, &pfn, &rc);
	int errnum = errno;

	x->timing.map_ns += stage_clock() - t0;
	x->timing.maps++;
	if (p && rc) {
		/* Mapped the range, but not the frame in it. */
		xenforeignmemory_unmap(x->fmem, p, 1);
		p = NULL;
		errnum = -rc;
	}
	if (!p) {
		if (errnum == ESRCH)
			return xen_call_error(errnum, x->domid, "mapping a frame");
		return up_error_fault(frame << XEN_FRAME_SHIFT, "cannot map frame 0x%llx of domain %u: %s",
				      (unsigned long long)frame, x->domid, strerror(errnum));
	}
	*ret = p;
	return NULL;
}

static void unmap_frame(void *ctx, void *addr)
{
	struct xen_target *x = ctx;

	xenforeignmemory_unmap(x->fmem, addr, 1);
}

/*
 * Read guest-physical (HVM) or machine (PV) memory through the mapping cache: the domain's
 * memory source.  A PV page walk reads machine frames straight from the page-table entries,
 * and a mapping of a machine frame is that frame itself: our mapping holds a reference to the
 * page, so Xen cannot give it to anyone else while we keep it, and a frame the guest freed is
 * reached by no current page table, so it is never read again and ages out.  For HVM the
 * frame number goes through the p2m at map time: see HVM_FLUSH_INTERVAL_NS.  Xen maps only
 * frames the domain owns as memory, so device memory is never read.
 */
static struct up_error *read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct xen_target *x = ctx;
	uint8_t *out = buf;
	uint64_t t0 = stage_clock();

	x->timing.reads++;
	while (len) {
		size_t off = paddr & (XEN_FRAME_SIZE - 1), n = XEN_FRAME_SIZE - off;
		const void *frame;
		struct up_error *err = xen_mapcache_get(x->cache, paddr >> XEN_FRAME_SHIFT, &frame);

		if (err)
			return err;
		if (n > len)
			n = len;
		memcpy(out, (const uint8_t *)frame + off, n);
		out += n;
		paddr += n;
		len -= n;
	}
	x->timing.read_ns += stage_clock() - t0;
	return NULL;
}

static struct up_error *check_runnable(const struct xen_domain_info *info)
{
	if (info->dying)
		return up_error_create(UP_ERR_LOST, "domain %u is being destroyed", info->domid);
	if (info->shutdown)
		return up_error_create(UP_ERR_LOST, "domain %u has %s", info->domid,
				       xen_shutdown_reason_name(info->shutdown_reason));
	return NULL;
}

static void xen_detach(struct up_target *t);

static struct up_error *open_handles(struct xen_target *x)
{
	x->xch = xc_interface_open(&x->logger.base, &x->logger.base, 0);
	if (!x->xch)
		return up_error_errno(errno, "cannot open the Xen control interface (run uniprof as root in dom0)");
	x->fmem = xenforeignmemory_open(&x->logger.base, 0);
	if (!x->fmem)
		return up_error_errno(errno, "cannot open Xen's foreign memory interface");
	return xen_mapcache_create(CACHE_FRAMES, map_frame, unmap_frame, x, &x->cache);
}

static struct up_error *find_domain(struct xen_target *x, const char *spec)
{
	struct xen_domain_info info;
	struct up_error *err;

	err = xen_domain_resolve(x->xch, spec, &x->domid);
	if (!err)
		err = xen_domain_get_info(x->xch, x->domid, &info);
	if (!err && x->domid == 0)
		err = up_error_create(UP_ERR_UNSUPPORTED, "domain 0 cannot profile itself; give a guest domain");
	if (!err)
		err = check_runnable(&info);
	if (!err && info.paused)
		err = up_error_create(UP_ERR_INVALID, "domain %u is paused; unpause it first (xl unpause %u)",
				      x->domid, x->domid);
	if (err)
		return err;
	x->hvm = info.hvm;
	x->nr_vcpus = info.nr_vcpus;
	x->nr_pages = info.nr_pages;
	memcpy(x->handle, info.handle, sizeof(x->handle));
	if (x->nr_vcpus == 0 || x->nr_vcpus > 4096)
		return up_error_create(UP_ERR_PROTOCOL, "domain %u has %u vCPUs", x->domid, x->nr_vcpus);
	x->name = xen_domain_name(x->domid);
	return xen_guest_arch(x->xch, x->domid, x->hvm, &x->arch);
}

/* Page tables hold guest frames, which the p2m may move: all but x86 PV guests (machine frames). */
static int uses_guest_frames(const struct xen_target *x)
{
	return x->hvm || x->arch != &up_arch_x86_64;
}

static struct up_error *xen_attach(const struct up_target_options *opts, struct up_target **ret)
{
	struct xen_target *x = calloc(1, sizeof(*x));
	struct up_error *err;

	if (!x)
		return &up_error_nomem;
	x->base.ops = &up_target_xen;
	x->logger.base.vmessage = logger_vmessage;
	x->logger.base.destroy = logger_destroy;
	x->logger.log = opts->log;
	x->logger.log_ctx = opts->log_ctx;
	if (!opts->domain) {
		free(x);
		return up_error_create(UP_ERR_INVALID, "no Xen domain given");
	}
	err = open_handles(x);
	if (!err)
		err = find_domain(x, opts->domain);
	if (!err) {
		x->regs = calloc(x->nr_vcpus, sizeof(*x->regs));
		x->regs_pause = calloc(x->nr_vcpus, sizeof(*x->regs_pause));
		x->cpu_time = malloc(x->nr_vcpus * sizeof(*x->cpu_time));
		x->vcpu_ctx = calloc(1, xen_vcpu_context_size());
		if (!x->regs || !x->regs_pause || !x->cpu_time || !x->vcpu_ctx)
			err = &up_error_nomem;
		else
			memset(x->cpu_time, 0xff, x->nr_vcpus * sizeof(*x->cpu_time));
	}
	if (err) {
		xen_detach(&x->base);
		return err;
	}
	/* Nothing above paused the domain. */
	if (opts->prepare_rescue) {
		err = opts->prepare_rescue(opts->prepare_rescue_ctx, &x->base);
		if (err) {
			xen_detach(&x->base);
			return err;
		}
	}
	x->last_poll = x->last_flush = now_ns();
	LOG(x, 1, "attached: domain %u (%s), %s%s guest, %u vCPUs", x->domid,
	    x->name ? x->name : "no name",
	    x->arch != &up_arch_x86_64 ? "" : x->hvm ? "HVM/PVH " : "PV ", x->arch->name, x->nr_vcpus);
	*ret = &x->base;
	return NULL;
}

static void log_timing(struct xen_target *x)
{
	const struct xen_timing *t = &x->timing;
	struct xen_mapcache_stats cs;
	struct xen_hcall_buffer_stats hs;

	if (!t->pauses)
		return;
	xen_mapcache_stats(x->cache, &cs);
	xen_hcall_buffers_stats(&hs);
	LOG(x, 2, "multi-page hypercall buffers: %llu mapped, %llu reused",
	    (unsigned long long)hs.fresh, (unsigned long long)hs.reused);
	LOG(x, 2, "per sample: %.2f vCPU contexts read, %.2f memory reads, %.3f frames mapped; "
	    "mapping cache: %llu hits, %llu misses, %llu evictions, %llu failures, %zu frames mapped at the end",
	    (double)t->regs_calls / t->pauses, (double)t->reads / t->pauses,
	    (double)t->maps / t->pauses, (unsigned long long)cs.hits, (unsigned long long)cs.misses,
	    (unsigned long long)cs.evictions, (unsigned long long)cs.failures,
	    xen_mapcache_size(x->cache));
#ifdef UP_XEN_TIMING
	LOG(x, 2, "time per sample: pause %.1f us, registers %.1f us (%.1f per vCPU), "
	    "memory reads %.1f us (%.1f per read), unpause %.1f us; %.1f us per frame map",
	    t->pause_ns / 1e3 / t->pauses, t->regs_ns / 1e3 / t->pauses,
	    t->regs_calls ? t->regs_ns / 1e3 / t->regs_calls : 0.0, t->read_ns / 1e3 / t->pauses,
	    t->reads ? t->read_ns / 1e3 / t->reads : 0.0, t->unpause_ns / 1e3 / t->pauses,
	    t->maps ? t->map_ns / 1e3 / t->maps : 0.0);
#endif
}

static void xen_detach(struct up_target *t)
{
	struct xen_target *x = to_xen(t);

	if (!x)
		return;
	if (x->paused && x->xch) {
		/* Ours to undo, and only ours: Xen counts pauses. */
		if (xc_domain_unpause(x->xch, x->domid) && errno != ESRCH)
			LOG(x, 1, "could not unpause domain %u: %s", x->domid, strerror(errno));
		x->paused = 0;
	}
	if (x->cache)
		log_timing(x);
	/* Mappings keep a destroyed domain's memory alive: drop them before anything else. */
	xen_mapcache_destroy(x->cache);
	if (x->fmem)
		xenforeignmemory_close(x->fmem);
	if (x->xch) {
		/* Kept hypercall buffers belong to this handle's libxencall: give them back first. */
		xen_hcall_buffers_release();
		xc_interface_close(x->xch);
	}
	free(x->vcpu_ctx);
	free(x->regs);
	free(x->regs_pause);
	free(x->cpu_time);
	free(x->name);
	free(x);
}

static unsigned int xen_nr_vcpus(struct up_target *t)
{
	return to_xen(t)->nr_vcpus;
}

static const struct up_arch *xen_arch(struct up_target *t)
{
	return to_xen(t)->arch;
}

static struct up_error *xen_pause(struct up_target *t)
{
	struct xen_target *x = to_xen(t);
	uint64_t t0;

	if (x->paused)
		return NULL;
	t0 = stage_clock();
	if (xc_domain_pause(x->xch, x->domid))
		return xen_call_error(errno, x->domid, "pausing");
	x->timing.pause_ns += stage_clock() - t0;
	x->timing.pauses++;
	x->paused = 1;
	x->base.pauses++;
	return NULL;
}

static struct up_error *xen_resume(struct up_target *t)
{
	struct xen_target *x = to_xen(t);
	uint64_t t0;

	if (!x->paused)
		return NULL;
	t0 = stage_clock();
	if (xc_domain_unpause(x->xch, x->domid)) {
		int errnum = errno;

		/* A domain that is gone is not paused either. */
		if (errnum == ESRCH)
			x->paused = 0;
		return xen_call_error(errnum, x->domid, "unpausing");
	}
	x->timing.unpause_ns += stage_clock() - t0;
	x->paused = 0;
	return NULL;
}

/* Forget every mapping: the domain is going, or its memory map may have changed. */
static void flush_mappings(struct xen_target *x)
{
	xen_mapcache_flush(x->cache);
	x->last_flush = now_ns();
}

static struct up_error *xen_poll(struct up_target *t)
{
	struct xen_target *x = to_xen(t);
	struct xen_domain_info info;
	struct up_error *err;
	uint64_t now = now_ns();

	if (now - x->last_poll < POLL_INTERVAL_NS)
		return NULL;
	x->last_poll = now;
	err = xen_domain_get_info(x->xch, x->domid, &info);
	if (!err && memcmp(info.handle, x->handle, sizeof(x->handle)))
		err = up_error_create(UP_ERR_LOST, "domain %u was destroyed (its id now names another domain)",
				      x->domid);
	if (!err)
		err = check_runnable(&info);
	if (err) {
		/* Our mappings would keep a dying domain's memory from being freed. */
		flush_mappings(x);
		return err;
	}
	if (info.nr_pages != x->nr_pages) {
		LOG(x, 2, "domain %u now has %llu pages (was %llu): dropping mappings", x->domid,
		    (unsigned long long)info.nr_pages, (unsigned long long)x->nr_pages);
		x->nr_pages = info.nr_pages;
		flush_mappings(x);
	} else if (uses_guest_frames(x) && now - x->last_flush >= HVM_FLUSH_INTERVAL_NS) {
		flush_mappings(x);
	}
	return NULL;
}

/* vCPU state may be read: vcpu exists and the domain is paused by us.  what: for the message. */
static struct up_error *check_paused_vcpu(const struct xen_target *x, unsigned int vcpu,
					  const char *what)
{
	if (vcpu >= x->nr_vcpus)
		return up_error_create(UP_ERR_INVALID, "no vCPU %u in domain %u", vcpu, x->domid);
	if (!x->paused)
		return up_error_create(UP_ERR_INVALID, "domain %u: %s read while it runs", x->domid, what);
	return NULL;
}

static struct up_error *xen_get_regs(struct up_target *t, unsigned int vcpu, struct up_regs *ret)
{
	struct xen_target *x = to_xen(t);
	struct up_error *err;
	uint64_t t0;

	err = check_paused_vcpu(x, vcpu, "registers");
	if (err)
		return err;
	if (x->regs_pause[vcpu] != x->base.pauses) {
		t0 = stage_clock();
		err = xen_vcpu_get_regs(x->xch, x->domid, x->hvm, vcpu, x->vcpu_ctx, &x->regs[vcpu]);
		x->timing.regs_ns += stage_clock() - t0;
		x->timing.regs_calls++;
		if (err)
			return err;
		x->regs_pause[vcpu] = x->base.pauses;
	}
	*ret = x->regs[vcpu];
	return NULL;
}

/*
 * Stale: runnable, yet its run time did not grow since the previous pause.  On a host with
 * more vCPUs than pCPUs (or one pCPU, as in our nested tests) that is frequent, and counting
 * such a vCPU again and again at the place it was preempted skews the profile.
 */
static struct up_error *xen_vcpu_stale(struct up_target *t, unsigned int vcpu, int *ret)
{
	struct xen_target *x = to_xen(t);
	struct xen_vcpu_activity a;
	struct up_error *err;
	uint64_t before;

	*ret = 0;
	err = check_paused_vcpu(x, vcpu, "vCPU state");
	if (!err)
		err = xen_vcpu_activity(x->xch, x->domid, vcpu, &a);
	if (err)
		return err;
	before = x->cpu_time[vcpu];
	x->cpu_time[vcpu] = a.cpu_time;
	*ret = a.online && !a.blocked && before != UINT64_MAX && a.cpu_time == before;
	return NULL;
}

static void xen_memory(struct up_target *t, struct up_memory_source *ret)
{
	struct xen_target *x = to_xen(t);

	*ret = (struct up_memory_source){
		.read_phys = read_phys,
		.ctx = x,
		.description = "Xen foreign mappings of the domain's frames",
	};
}

static void xen_rescue(struct up_target *t, int paused)
{
	struct xen_target *x = to_xen(t);
	xc_interface *xch;

	if (!paused)
		return;
	/* A fresh handle: the inherited one may be mid-call in the dead process's state. */
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xch)
		return;
	xc_domain_unpause(xch, x->domid);
	xc_interface_close(xch);
}

const struct up_target_ops up_target_xen = {
	.name = "xen",
	.attach = xen_attach,
	.detach = xen_detach,
	.nr_vcpus = xen_nr_vcpus,
	.arch = xen_arch,
	.pause = xen_pause,
	.resume = xen_resume,
	.poll = xen_poll,
	.rescue = xen_rescue,
	.vcpu_stale = xen_vcpu_stale,
	.get_regs = xen_get_regs,
	.memory = xen_memory,
};
