/*
 * Targets: the virtual machine being profiled.
 *
 * Each backend (KVM/QEMU, Xen) exports one const struct up_target_ops.  A target object starts
 * with a pointer to its ops, so generic code calls t->ops->get_regs(t, ...) without knowing the
 * backend (and pauses and resumes through up_target_pause() and up_target_resume()).
 * Which backends exist in this build is decided in backends/registry.c alone.
 *
 * Lifetime: attach() returns a running target; detach() leaves the guest running (resuming it
 * if it is paused) and frees everything.  Between pause() and resume() the guest is stopped and
 * registers and memory may be read; the caller keeps that window short and always resumes.
 * Guest memory is read through the memory layer (memory/memory.h) over what memory() offers.
 */
#ifndef UP_BACKENDS_TARGET_H
#define UP_BACKENDS_TARGET_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "../arch/arch.h"

#include "../memory/source.h"
#include "../util/error.h"

/* Called by a backend for progress and diagnostics; level 1 = -v, 2 = -vv.  May be NULL. */
typedef void up_log_fn(void *ctx, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* How a KVM target reads guest memory (--memory). */
enum up_memory_access {
	UP_MEMORY_AUTO,     /* the fastest way that works here */
	UP_MEMORY_PROCESS,  /* copies out of QEMU's process (process_vm_readv) */
	UP_MEMORY_SHARED,   /* QEMU's shared RAM files mapped here; the rest as PROCESS */
	UP_MEMORY_GDBSTUB,  /* the gdbstub's 'm' packets */
};

struct up_target;

struct up_target_options {
	const char *qmp;        /* KVM: QMP socket, "PATH" or "HOST:PORT" */
	const char *libvirt;    /* KVM: instead of qmp, a libvirt domain (name, UUID or id)... */
	const char *libvirt_uri;  /* ...at this libvirt URI; NULL: the default (qemu:///system) */
	const char *gdb;        /* KVM: an already-open gdbstub; NULL = start one through QMP */
	enum up_memory_access memory;  /* KVM */
	const char *domain;     /* Xen: domain id or name */
	up_log_fn *log;
	void *log_ctx;
	/*
	 * May be NULL.  Called by a successful attach exactly once, with t holding what rescue()
	 * needs, before the first step that may stop the guest (KVM: connecting to the gdbstub),
	 * or at its end when nothing in attach stops the guest: where the CLI forks its
	 * guardian, so that no moment leaves a stopped guest without one.  A failure fails the
	 * attach.  An attach that fails after the call frees t all the same.
	 */
	struct up_error *(*prepare_rescue)(void *ctx, struct up_target *t);
	void *prepare_rescue_ctx;
};

struct up_target {
	const struct up_target_ops *ops;
	/*
	 * Pauses so far: the backend adds one each time pause() stops the guest, so that what is
	 * cached for one pause (registers, translations, memory blocks) is known to be stale
	 * after the next resume.
	 */
	uint64_t pauses;
	/*
	 * Where up_target_pause()/up_target_resume() publish whether a pause of theirs may be in
	 * force (1 from just before pause() until a resume() that succeeded), or NULL: the
	 * guardian's shared flag (uniprof/guard.c).  The backend never touches it.
	 */
	volatile sig_atomic_t *pause_mark;
};

struct up_target_ops {
	/* Short backend name for messages ("kvm", "xen"). */
	const char *name;
	/* Connect to the guest described by opts.  The guest is running when this returns. */
	struct up_error *(*attach)(const struct up_target_options *opts, struct up_target **ret);
	/* Resume the guest if needed, disconnect and free t.  Never fails; t may be NULL. */
	void (*detach)(struct up_target *t);
	/* Number of vCPUs; fixed for the life of the target. */
	unsigned int (*nr_vcpus)(struct up_target *t);
	/* The guest architecture; never NULL after a successful attach. */
	const struct up_arch *(*arch)(struct up_target *t);
	/* Stop every vCPU.  On failure the guest state is unknown: call resume() anyway. */
	struct up_error *(*pause)(struct up_target *t);
	/* Let the guest run again.  Safe to call when it already runs. */
	struct up_error *(*resume)(struct up_target *t);
	/* Housekeeping between samples, while the guest runs; may be NULL. */
	struct up_error *(*poll)(struct up_target *t);
	/*
	 * Last resort, run in uniprof's guardian process after uniprof died without detaching
	 * (killed, crashed): let the guest run again and remove what we set up, with what the
	 * target held when the guardian was forked and the connections it inherited.  paused
	 * says whether a pause of ours may have been in force.  May be NULL.
	 */
	void (*rescue)(struct up_target *t, int paused);
	/*
	 * Whether vCPU vcpu is stale, only while paused: runnable all along since the previous
	 * pause but never given a physical CPU, so that its state is the one the previous sample
	 * saw, and counting it again would charge the host's scheduling to the guest's code.  A
	 * vCPU the guest put to sleep (blocked, idle) is not stale: that is where the guest
	 * waits.  May be NULL, when the backend cannot tell; then no vCPU is stale.
	 */
	struct up_error *(*vcpu_stale)(struct up_target *t, unsigned int vcpu, int *ret);
	/*
	 * Registers of vCPU vcpu, paging state included (the memory layer translates with it);
	 * only while paused.
	 */
	struct up_error *(*get_regs)(struct up_target *t, unsigned int vcpu, struct up_regs *ret);
	/*
	 * How guest memory is read: physical or virtual reads (memory/source.h).  Fixed from
	 * attach to detach; the source's functions are called only while paused.
	 */
	void (*memory)(struct up_target *t, struct up_memory_source *ret);
};

/* The backend called name, or NULL if this build lacks it. */
const struct up_target_ops *up_backend_find(const char *name);

/*
 * t->ops->pause and t->ops->resume, publishing the pause state where t->pause_mark says.
 * Callers outside the backend pause and resume through these.
 */
static inline struct up_error *up_target_pause(struct up_target *t)
{
	/* Set first: dying between the two leaves the mark on, and rescue checks anyway. */
	if (t->pause_mark)
		*t->pause_mark = 1;
	return t->ops->pause(t);
}

static inline struct up_error *up_target_resume(struct up_target *t)
{
	struct up_error *err = t->ops->resume(t);

	if (!err && t->pause_mark)
		*t->pause_mark = 0;
	return err;
}

/*
 * While t is paused: a vCPU whose view maps the kernel, one in kernel mode (under KPTI a vCPU
 * in user mode maps little of it), else vCPU 0.  For reads of kernel data outside sampling.
 */
static inline unsigned int up_target_kernel_vcpu(struct up_target *t)
{
	unsigned int n = t->ops->nr_vcpus(t);

	for (unsigned int v = 0; v < n; v++) {
		struct up_regs regs;
		struct up_error *err = t->ops->get_regs(t, v, &regs);

		if (!err && !regs.user)
			return v;
		up_error_destroy(err);
	}
	return 0;
}

#endif
