/*
 * The KVM/QEMU target: QMP for discovery and life-cycle, QEMU's gdbstub for stopping the
 * guest and reading its registers and memory.
 *
 * attach: QMP says whether the guest runs, its architecture and vCPUs; where QMP is a unix
 * socket (so QEMU's process is known) we learn its RAM layout to read guest memory straight
 * out of QEMU (qemu_ram.c); we then start a gdbstub on a private unix socket through HMP
 * "gdbserver" (or use the one QEMU already has), connect (which stops the guest), learn the
 * thread ids, check that QEMU's RAM as we read it holds what the gdbstub says, and resume.
 * Memory is read through the gdbstub ('m') only when QEMU's RAM cannot be read directly; it
 * then reads guest-physical memory (the stub's Qqemu.PhyMemMode), our page walker translates,
 * and only what QEMU's memory map calls RAM or ROM is read: a stray pointer into device memory
 * (which the stub, translating itself, would read) faults instead.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../util/bytes.h"
#include "../libvirt.h"
#include "../target.h"
#include "gdbstub.h"
#include "kvm.h"
#include "qemu_process.h"
#include "qemu_ram.h"
#include "ram_layout.h"
#include "qmp.h"
#include "qmp_replies.h"
#include "rsp.h"
#include "target_xml.h"

#define MAX_VCPUS 4096
#define MAX_M_READ 2048
/*
 * Over the gdbstub, the memory layer reads aligned blocks of this size and keeps them for the
 * rest of the pause: frame records sit close together, so one 'm' round trip usually serves
 * several frames.
 */
#define GDB_BLOCK_SIZE 512
/* Reading QEMU's RAM costs a system call whatever the size: read whole pages. */
#define PROCESS_BLOCK_SIZE 4096
/* Bytes of code at each vCPU's pc compared between QEMU's RAM and the gdbstub at attach. */
#define CHECK_BYTES 32
#define MAX_SYSREGS 8
/* RAM ranges in QEMU's memory map at most, for the gdbstub's physical reads. */
#define MAX_STUB_RANGES 4096
#define MAX_VECTOR_BASES 4
/* The exception state is read in a run's first pauses (the slide search), then once in this many. */
#define EXC_EARLY_PAUSES 16
#define EXC_REFRESH_PAUSES 64
/* Between two reads of QMP's pending events: at 1000 samples/s, ~200 events of ~100 bytes. */
#define QMP_DRAIN_INTERVAL_NS 100000000ull

struct kvm_target {
	struct up_target base;
	struct qmp *qmp;
	struct gdb_conn *gdb;
	const struct up_arch *arch;
	unsigned int nr_vcpus;
	uint64_t *tids;          /* gdbstub thread id of each vCPU */
	uint64_t *pids;          /* its process id in multiprocess mode ("p<pid>.<tid>"), else 0 */
	uint64_t selected;       /* thread the stub's 'g'/'m' act on now; 0 = unknown */
	int paused;
	int stub_contacted;      /* we connected to a gdbstub, which stops the guest, if only once */
	size_t max_read;
	struct up_regs *regs;    /* every vCPU's registers, read once per pause */
	/* The system registers the stub offers: 'p' number and index in arch->gdb_sysregs. */
	int sysreg_num[MAX_SYSREGS];
	size_t sysreg_idx[MAX_SYSREGS];
	size_t nr_sysregs;
	size_t nr_walk_sysregs;       /* how many of them the frame walker uses (they come first) */
	/* 'p' numbers of arch->gdb_exception_sysregs; none unless the stub offers them all. */
	int exc_num[MAX_SYSREGS];
	size_t nr_exc_sysregs;
	uint64_t vector_bases[MAX_VECTOR_BASES];  /* vector bases seen, to spot a pc on them */
	size_t nr_vector_bases;
	uint64_t *exc_pause;     /* per vCPU: the pause whose exception state was read */
	unsigned int regs_read;  /* vCPUs whose registers were read in this pause */
	pid_t qemu_pid;          /* QEMU's process on this host, or -1 */
	long vcpu_thread;        /* the host thread of a vCPU, as QMP gives it */
	char *stub_dir;          /* our private gdbstub socket lives here, when we started it */
	char *stub_path;
	struct qemu_ram *ram;    /* guest RAM read out of QEMU; NULL: through the gdbstub */
	/* Without ram: the RAM and ROM ranges the stub's physical reads are kept to; NULL: the
	 * stub reads virtual memory, translated by itself (no memory map, or no physical mode). */
	struct qemu_ram_range *stub_ranges;
	size_t nr_stub_ranges;
	uint64_t last_drain;     /* when QMP's events were last read (CLOCK_MONOTONIC, ns) */
	up_log_fn *log;
	void *log_ctx;
};

#define LOG(k, level, ...) do { if ((k)->log) (k)->log((k)->log_ctx, level, __VA_ARGS__); } while (0)

static struct kvm_target *to_kvm(struct up_target *t)
{
	return (struct kvm_target *)t;
}

static struct up_error *query_running(struct kvm_target *k, int *ret_running, char **ret_status)
{
	json_t *val;
	struct up_error *err = qmp_execute(k->qmp, "query-status", NULL, &val);
	const char *status;

	if (err)
		return err;
	qmp_reply_status(val, ret_running, &status);
	if (ret_status) {
		*ret_status = strdup(status);
		if (!*ret_status)
			err = &up_error_nomem;
	}
	json_decref(val);
	return err;
}

static struct up_error *query_arch(struct kvm_target *k)
{
	json_t *val;
	const char *name;
	struct up_error *err = qmp_execute(k->qmp, "query-target", NULL, &val);

	if (err)
		return err;
	name = qmp_reply_arch(val);
	k->arch = name ? up_arch_find(name) : NULL;
	if (!k->arch)
		err = up_error_create(UP_ERR_UNSUPPORTED, "guest architecture %s is not supported",
				      name ? name : "(unknown)");
	json_decref(val);
	return err;
}

static struct up_error *query_vcpus(struct kvm_target *k, long *ret_thread_id)
{
	json_t *val;
	size_t n;
	struct up_error *err = qmp_execute(k->qmp, "query-cpus-fast", NULL, &val);

	if (err)
		return err;
	err = qmp_reply_vcpus(val, MAX_VCPUS, &n, ret_thread_id);
	json_decref(val);
	if (err)
		return err;
	k->nr_vcpus = n;
	k->regs = calloc(n, sizeof(*k->regs));
	k->exc_pause = calloc(n, sizeof(*k->exc_pause));
	return k->regs && k->exc_pause ? NULL : &up_error_nomem;
}

/*
 * The private directory and the path of the gdbstub socket start_stub asks QEMU for.  QEMU
 * makes the socket itself, as the user it runs as (libvirt's QEMU runs as libvirt-qemu): the
 * directory is given to that user unless it is root, and stays closed to everyone else.
 */
static struct up_error *make_stub_dir(struct kvm_target *k)
{
	char tmpl[] = "/tmp/uniprof.XXXXXX";
	uid_t uid;
	gid_t gid;

	if (!mkdtemp(tmpl))
		return up_error_errno(errno, "creating a directory for the gdbstub socket");
	k->stub_dir = strdup(tmpl);
	if (!k->stub_dir || asprintf(&k->stub_path, "%s/gdb.sock", tmpl) < 0) {
		k->stub_path = NULL;
		return &up_error_nomem;
	}
	/* A QEMU running as root makes its socket anywhere. */
	if (k->qemu_pid > 0 && !qemu_process_owner(k->qemu_pid, &uid, &gid) && uid != geteuid() &&
	    uid != 0) {
		if (chown(tmpl, uid, gid) < 0)
			return up_error_errno(errno, "QEMU runs as user %ld, which cannot make its "
					      "gdbstub socket in %s unless we are root", (long)uid, tmpl);
		LOG(k, 1, "gdbstub socket directory %s given to QEMU's user %ld", tmpl, (long)uid);
	}
	return NULL;
}

/* Start a gdbstub on k->stub_path; NULL and *ret_busy when QEMU already has one. */
static struct up_error *start_stub(struct kvm_target *k, int *ret_busy)
{
	char *cmd, *out;
	enum hmp_gdbserver result;
	struct up_error *err;

	*ret_busy = 0;
	if (asprintf(&cmd, "gdbserver unix:%s,server=on,wait=off", k->stub_path) < 0)
		return &up_error_nomem;
	err = qmp_hmp(k->qmp, cmd, &out);
	free(cmd);
	if (err)
		return err;
	result = hmp_gdbserver_result(out);
	if (result == HMP_GDBSERVER_BUSY) {
		*ret_busy = 1;
	} else if (result == HMP_GDBSERVER_FAILED) {
		size_t n = strcspn(out, "\r\n");

		err = up_error_create(UP_ERR_PROTOCOL, "QEMU could not start a gdbstub: %.*s",
				      (int)n, out);
	}
	free(out);
	if (*ret_busy || err) {
		free(k->stub_path);
		k->stub_path = NULL;
	}
	return err;
}

static struct up_error *list_threads(struct kvm_target *k)
{
	const char *reply, *request = "qfThreadInfo";
	size_t len, count = 0;
	struct up_error *err;

	k->tids = calloc(k->nr_vcpus, sizeof(*k->tids));
	k->pids = calloc(k->nr_vcpus, sizeof(*k->pids));
	if (!k->tids || !k->pids)
		return &up_error_nomem;
	for (;;) {
		const char *p, *end;

		err = gdb_request(k->gdb, request, &reply, &len);
		if (err)
			return err;
		if (len == 0 || reply[0] == 'l')
			break;
		if (reply[0] != 'm')
			return up_error_create(UP_ERR_PROTOCOL, "unexpected thread list from gdbstub");
		p = reply + 1;
		end = reply + len;
		while (p < end) {
			uint64_t tid, pid = 0;

			/* "p<pid>.<tid>": the stub is in multiprocess mode. */
			if (*p == 'p') {
				p++;
				if (!up_parse_hex(&p, end, &pid) || !pid || p == end || *p != '.')
					return up_error_create(UP_ERR_PROTOCOL,
							       "bad thread id from gdbstub");
				p++;
			}
			if (!up_parse_hex(&p, end, &tid))
				return up_error_create(UP_ERR_PROTOCOL, "bad thread id from gdbstub");
			if (count == k->nr_vcpus)
				return up_error_create(UP_ERR_PROTOCOL,
						       "gdbstub lists more threads than QMP lists vCPUs");
			k->pids[count] = pid;
			k->tids[count++] = tid;
			if (p < end && *p == ',')
				p++;
		}
		request = "qsThreadInfo";
	}
	if (count != k->nr_vcpus)
		return up_error_create(UP_ERR_PROTOCOL, "gdbstub lists %zu threads for %u vCPUs",
				       count, k->nr_vcpus);
	return NULL;
}

static struct up_error *connect_stub(struct kvm_target *k, const struct up_target_options *opts)
{
	char *found = NULL;
	const char *address = opts->gdb;
	struct up_error *err;
	int busy;

	if (!address) {
		err = make_stub_dir(k);
		if (err)
			return err;
	}
	/*
	 * Starting a gdbstub and connecting to it (which stops the guest) are the first steps the
	 * rescue may have to undo: whoever runs it must be there first.  It finds out whether our
	 * gdbstub was started by its socket (see kvm_rescue).
	 */
	if (opts->prepare_rescue) {
		err = opts->prepare_rescue(opts->prepare_rescue_ctx, &k->base);
		if (err)
			return err;
	}
	if (!address) {
		err = start_stub(k, &busy);
		if (err)
			return err;
		if (busy) {
			found = qemu_process_gdbstub(k->qemu_pid > 0 ? k->qemu_pid :
						     qemu_process_of_thread(k->vcpu_thread));
			if (!found)
				return up_error_create(UP_ERR_INVALID,
						       "QEMU already runs a gdbstub; give its address with --gdb");
			LOG(k, 1, "using QEMU's own gdbstub at %s", found);
		}
		address = found ? found : k->stub_path;
	}
	k->stub_contacted = 1;
	err = gdb_connect(address, &k->gdb);
	free(found);
	if (err)
		return err;
	/* Connecting stopped the guest. */
	k->paused = 1;
	k->max_read = (gdb_packet_size(k->gdb) - 8) / 2;
	if (k->max_read > MAX_M_READ)
		k->max_read = MAX_M_READ;
	return NULL;
}

static struct up_error *fetch_annex(void *ctx, const char *annex, char **ret, size_t *ret_len)
{
	return gdb_read_xfer(ctx, "features", annex, ret, ret_len);
}

/*
 * Find the 'p' numbers of the system registers the architecture wants, from the stub's
 * target description: they differ between CPU models.  (QEMU 7.2 also answers 'p' only after
 * the description was read.)  Registers the stub does not offer are left out (their fields stay
 * zero: unknown).
 */
static struct up_error *find_sysregs(struct kvm_target *k)
{
	const char *const *names = k->arch->gdb_sysregs;
	struct tdesc desc;
	struct up_error *err;

	k->nr_sysregs = 0;
	k->nr_walk_sysregs = 0;
	if (!names || !names[0])
		return NULL;
	err = tdesc_load(fetch_annex, k->gdb, &desc);
	if (err)
		return err;
	for (size_t i = 0; names[i] && i < MAX_SYSREGS; i++) {
		const struct tdesc_reg *r = tdesc_find(&desc, names[i]);

		if (!r) {
			LOG(k, 1, "the gdbstub does not offer %s", names[i]);
			continue;
		}
		k->sysreg_idx[k->nr_sysregs] = i;
		k->sysreg_num[k->nr_sysregs++] = r->regnum;
		if (i < k->arch->gdb_walk_sysregs)
			k->nr_walk_sysregs++;
		LOG(k, 2, "%s is gdbstub register %u", names[i], r->regnum);
	}
	names = k->arch->gdb_exception_sysregs;
	k->nr_exc_sysregs = 0;
	for (size_t i = 0; names && names[i] && i < MAX_SYSREGS; i++) {
		const struct tdesc_reg *r = tdesc_find(&desc, names[i]);

		if (!r) {
			LOG(k, 1, "the gdbstub does not offer %s: no exception-entry rule", names[i]);
			k->nr_exc_sysregs = 0;
			break;
		}
		k->exc_num[k->nr_exc_sysregs++] = r->regnum;
	}
	tdesc_deinit(&desc);
	return NULL;
}

/*
 * QEMU's process: the peer of a QMP unix socket; through libvirt (on this host: remote URIs
 * are refused), the process its vCPU threads belong to.  Over TCP it may be on another host.
 */
static void find_qemu(struct kvm_target *k)
{
	k->qemu_pid = qmp_peer_pid(k->qmp);
	if (k->qemu_pid > 0 || !qmp_via_libvirt(k->qmp))
		return;
	k->qemu_pid = qemu_process_of_thread(k->vcpu_thread);
	if (k->qemu_pid > 0 && !qemu_process_is_qemu(k->qemu_pid)) {
		LOG(k, 1, "vCPU thread %ld belongs to process %ld, which is no QEMU: libvirt's QEMU "
		    "runs in another pid namespace?", k->vcpu_thread, (long)k->qemu_pid);
		k->qemu_pid = -1;
	} else if (k->qemu_pid > 0) {
		LOG(k, 1, "QEMU is process %ld (found from vCPU thread %ld)", (long)k->qemu_pid,
		    k->vcpu_thread);
	}
}

/* Read guest RAM out of QEMU's process unless told otherwise or impossible (remote QMP). */
static struct up_error *open_ram(struct kvm_target *k, enum up_memory_access access)
{
	enum qemu_ram_mode mode = access == UP_MEMORY_SHARED ? QEMU_RAM_SHARED :
				  access == UP_MEMORY_PROCESS ? QEMU_RAM_PROCESS : QEMU_RAM_ANY;
	pid_t pid;
	struct up_error *err;

	if (access == UP_MEMORY_GDBSTUB)
		return NULL;
	pid = k->qemu_pid;
	if (pid < 0)
		err = up_error_create(UP_ERR_UNSUPPORTED, qmp_via_libvirt(k->qmp) ?
				      "QEMU's process was not found from its vCPU threads" :
				      "QMP is not a unix socket, so QEMU's process is not known to be on this host");
	else
		err = qemu_ram_open(k->qmp, pid, mode, &k->ram);
	if (err && access == UP_MEMORY_AUTO) {
		LOG(k, 1, "reading guest memory through the gdbstub: %s", err->message);
		up_error_destroy(err);
		err = NULL;
	}
	return err;
}

static struct up_error *read_direct(struct kvm_target *k, unsigned int vcpu, uint64_t addr,
				    uint8_t *out, size_t len);
static struct up_error *kvm_get_regs(struct up_target *t, unsigned int vcpu, struct up_regs *ret);

/*
 * With the guest stopped: QEMU's RAM as we read it must hold what the gdbstub reads.  Compare
 * the code at every vCPU's pc, translated with our page walker, with the stub's 'm'.  A vCPU
 * whose pc neither side can read proves nothing either way.
 */
static struct up_error *check_ram(struct kvm_target *k, unsigned int *ret_checked)
{
	*ret_checked = 0;
	for (unsigned int v = 0; v < k->nr_vcpus; v++) {
		uint8_t ours[CHECK_BYTES], theirs[CHECK_BYTES];
		struct up_translation tr;
		struct up_regs regs;
		struct up_error *err = kvm_get_regs(&k->base, v, &regs);
		size_t n = CHECK_BYTES;

		if (!err)
			err = k->arch->translate(&regs, regs.pc, qemu_ram_read, k->ram, &tr);
		if (!err && tr.page_size - (tr.paddr & (tr.page_size - 1)) < n)
			n = tr.page_size - (tr.paddr & (tr.page_size - 1));
		if (!err)
			err = qemu_ram_read(k->ram, tr.paddr, ours, n);
		if (!err)
			err = read_direct(k, v, regs.pc, theirs, n);
		if (up_error_catch(&err, UP_ERR_FAULT))
			continue;
		if (err)
			return err;
		if (memcmp(ours, theirs, n))
			return up_error_create(UP_ERR_PROTOCOL, "QEMU's RAM read directly differs from "
					       "what the gdbstub reads at vCPU %u's pc 0x%llx", v,
					       (unsigned long long)regs.pc);
		(*ret_checked)++;
	}
	return NULL;
}

/*
 * Reading through the gdbstub: learn which guest-physical ranges are RAM and switch the stub's
 * 'm' to physical addresses, so that device memory is never read.  Where QEMU gives no memory
 * map or the stub has no physical mode, the stub reads virtual memory (said with -v).
 */
static struct up_error *open_stub_ranges(struct kvm_target *k)
{
	struct qemu_ram_range *ranges = NULL;
	const char *reply;
	struct up_error *err;
	size_t nr = 0, len;
	char *text;

	if (k->ram)
		return NULL;
	err = qmp_hmp(k->qmp, "info mtree -f", &text);
	if (!err) {
		err = qemu_parse_mtree(text, strlen(text), MAX_STUB_RANGES, &ranges, &nr);
		free(text);
	}
	if (err && err->code != UP_ERR_PROTOCOL && err->code != UP_ERR_UNSUPPORTED)
		return err;
	if (!err) {
		err = gdb_request(k->gdb, "Qqemu.PhyMemMode:1", &reply, &len);
		if (err) {
			free(ranges);
			return err;
		}
		if (len != 2 || memcmp(reply, "OK", 2))
			err = up_error_create(UP_ERR_UNSUPPORTED, "the gdbstub has no physical "
					      "memory mode (Qqemu.PhyMemMode)");
	}
	if (err) {
		LOG(k, 1, "the gdbstub reads guest memory by virtual address, device memory "
		    "unchecked: %s", err->message);
		up_error_destroy(err);
		free(ranges);
		return NULL;
	}
	k->stub_ranges = ranges;
	k->nr_stub_ranges = nr;
	LOG(k, 2, "the gdbstub reads guest-physical memory, kept to %zu RAM ranges", nr);
	return NULL;
}

/* Keep the direct path only if it passes check_ram; say why not with -v. */
static struct up_error *confirm_ram(struct kvm_target *k, enum up_memory_access access)
{
	unsigned int checked;
	const char *reply;
	struct up_error *err;
	size_t len;

	if (!k->ram)
		return NULL;
	/*
	 * The comparison needs 'm' on virtual addresses.  QEMU keeps the stub's physical mode
	 * across connections: a run killed while reading through the stub left it on.  A stub
	 * without the mode answers empty, which is as good.
	 */
	err = gdb_request(k->gdb, "Qqemu.PhyMemMode:0", &reply, &len);
	if (!err)
		err = check_ram(k, &checked);
	if (err && err->code == UP_ERR_PROTOCOL && access == UP_MEMORY_AUTO) {
		LOG(k, 1, "reading guest memory through the gdbstub: %s", err->message);
		up_error_destroy(err);
		qemu_ram_close(k->ram);
		k->ram = NULL;
		return NULL;
	}
	if (!err)
		LOG(k, 2, "QEMU's RAM agrees with the gdbstub at %u of %u vCPUs' pcs", checked,
		    k->nr_vcpus);
	return err;
}

/* QMP through libvirt, to a domain of its QEMU driver. */
static struct up_error *open_libvirt(struct kvm_target *k, const struct up_target_options *opts)
{
	struct up_libvirt *lv;
	struct up_error *err = up_libvirt_open(opts->libvirt_uri, opts->libvirt, &lv);

	if (err)
		return err;
	if (strcmp(up_libvirt_driver(lv), "QEMU")) {
		err = up_error_create(UP_ERR_UNSUPPORTED, "libvirt domain %s runs on libvirt's %s driver, "
				      "not QEMU's", up_libvirt_name(lv), up_libvirt_driver(lv));
		up_libvirt_close(lv);
		return err;
	}
	LOG(k, 1, "QMP through libvirt at %s, domain %s (id %d)", up_libvirt_uri(lv),
	    up_libvirt_name(lv), up_libvirt_id(lv));
	return qmp_open_libvirt(lv, &k->qmp);
}

static void kvm_detach(struct up_target *t);
static struct up_error *kvm_pause(struct up_target *t);
static struct up_error *kvm_resume(struct up_target *t);

static struct up_error *kvm_attach(const struct up_target_options *opts, struct up_target **ret)
{
	struct kvm_target *k = calloc(1, sizeof(*k));
	struct up_error *err;
	char *status = NULL;
	int running;

	if (!k)
		return &up_error_nomem;
	k->base.ops = &up_target_kvm;
	k->log = opts->log;
	k->log_ctx = opts->log_ctx;
	k->qemu_pid = -1;
	err = opts->libvirt ? open_libvirt(k, opts) : qmp_connect(opts->qmp, &k->qmp);
	if (err) {
		free(k);
		return err;
	}
	err = query_running(k, &running, &status);
	if (!err && !running)
		err = up_error_create(UP_ERR_INVALID, "the guest is not running (status: %s); resume it first",
				      status);
	free(status);
	if (!err)
		err = query_arch(k);
	if (!err)
		err = query_vcpus(k, &k->vcpu_thread);
	if (!err)
		find_qemu(k);
	if (!err)
		err = open_ram(k, opts->memory);
	if (!err)
		err = connect_stub(k, opts);
	if (!err)
		err = list_threads(k);
	if (!err)
		err = find_sysregs(k);
	if (!err)
		err = confirm_ram(k, opts->memory);
	if (!err)
		err = open_stub_ranges(k);
	if (!err)
		err = kvm_resume(&k->base);
	if (err) {
		kvm_detach(&k->base);
		return err;
	}
	LOG(k, 1, "attached: %s guest, %u vCPUs, gdbstub %s", k->arch->name, k->nr_vcpus,
	    opts->gdb ? opts->gdb : k->stub_path ? k->stub_path : "found in QEMU's command line");
	*ret = &k->base;
	return NULL;
}

/*
 * The clean-up detach and rescue share: remove our gdbstub and its socket, and, when we may have
 * stopped the guest (the gdbstub was ours to stop it with), make sure it runs again through
 * QMP.  Returns 1 when it had to resume the guest.
 */
static int remove_stub_and_run(struct kvm_target *k, int we_stopped_it)
{
	struct up_error *err;
	int running = 1, resumed = 0;
	char *out;
	json_t *val;

	/* Ours only if QEMU made its socket (not when it refused: it had a gdbstub of its own). */
	if (k->stub_path && !access(k->stub_path, F_OK)) {
		err = qmp_hmp(k->qmp, "gdbserver none", &out);
		if (!err)
			free(out);
		up_error_destroy(err);
	}
	/* Whatever went wrong before, the guest was running when we came and runs when we go. */
	if (k->qmp && we_stopped_it) {
		err = query_running(k, &running, NULL);
		if (!err && !running) {
			err = qmp_execute(k->qmp, "cont", NULL, &val);
			if (!err) {
				json_decref(val);
				resumed = 1;
			}
		}
		up_error_destroy(err);
	}
	if (k->stub_path)
		unlink(k->stub_path);
	if (k->stub_dir)
		rmdir(k->stub_dir);
	return resumed;
}

/*
 * Detach the way the stub's mode wants: plain 'D', or in multiprocess mode 'D;pid' for each
 * process our threads belong to (the stub resumes the guest when the last one goes).  Errors
 * are left to remove_stub_and_run, which finds the guest stopped and resumes it.
 */
static void detach_stub(struct kvm_target *k)
{
	size_t n = k->pids ? k->nr_vcpus : 0, i, j, done = 0;

	for (i = 0; i < n; i++) {
		if (!k->pids[i])
			continue;
		for (j = 0; j < i && k->pids[j] != k->pids[i]; j++)
			;
		if (j < i)
			continue;  /* already detached */
		up_error_destroy(gdb_detach(k->gdb, k->pids[i]));
		done++;
	}
	if (!done)
		up_error_destroy(gdb_detach(k->gdb, 0));
}

static void kvm_detach(struct up_target *t)
{
	struct kvm_target *k = to_kvm(t);

	if (!k)
		return;
	if (k->gdb) {
		/*
		 * Detach from a stopped guest: 'D' then resumes it.  Sent to a running guest, its
		 * first byte would stop the guest behind the stub's back.
		 */
		up_error_destroy(kvm_pause(&k->base));
		/* QEMU keeps the mode for the stub's next client: give it back as found. */
		if (k->stub_ranges) {
			const char *reply;
			size_t len;

			up_error_destroy(gdb_request(k->gdb, "Qqemu.PhyMemMode:0", &reply, &len));
		}
		detach_stub(k);
		gdb_close(k->gdb);
		k->gdb = NULL;
	}
	/*
	 * Any gdbstub we reached may have stopped the guest, also one that then failed to answer
	 * and left us no connection to detach with.
	 */
	if (remove_stub_and_run(k, k->stub_contacted))
		LOG(k, 1, "guest still stopped after detaching; resumed it through QMP");
	qmp_close(k->qmp);
	qemu_ram_close(k->ram);
	free(k->stub_ranges);
	free(k->stub_path);
	free(k->stub_dir);
	free(k->tids);
	free(k->pids);
	free(k->regs);
	free(k->exc_pause);
	free(k);
}

static unsigned int kvm_nr_vcpus(struct up_target *t)
{
	return to_kvm(t)->nr_vcpus;
}

static const struct up_arch *kvm_arch(struct up_target *t)
{
	return to_kvm(t)->arch;
}

static struct up_error *kvm_resume(struct up_target *t)
{
	struct kvm_target *k = to_kvm(t);
	struct up_error *err;

	if (!k->paused)
		return NULL;
	err = gdb_continue(k->gdb);
	if (err)
		return err;
	k->paused = 0;
	return NULL;
}

/*
 * QEMU sends a STOP and a RESUME event for every sample; read them now and then so they do not
 * pile up, but not on every sample (a system call for nothing).
 */
static struct up_error *kvm_poll(struct up_target *t)
{
	struct kvm_target *k = to_kvm(t);
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	if (now - k->last_drain < QMP_DRAIN_INTERVAL_NS)
		return NULL;
	k->last_drain = now;
	return qmp_drain(k->qmp);
}

static void fmt_hg(char *buf, size_t cap, uint64_t tid)
{
	snprintf(buf, cap, "Hg%llx", (unsigned long long)tid);
}

/*
 * The system registers read per sample: those the frame walker uses, and the paging ones too
 * when our own page walker translates (QEMU's RAM read directly, or the stub's physical reads).
 */
static size_t sysregs_per_sample(const struct kvm_target *k)
{
	return k->ram || k->stub_ranges ? k->nr_sysregs : k->nr_walk_sysregs;
}

/* Requests per vCPU when reading registers: Hg, g and one 'p' per system register. */
static unsigned int requests_per_vcpu(const struct kvm_target *k)
{
	return 2 + sysregs_per_sample(k);
}

/*
 * Read the registers of vCPUs first..first+n-1 in one round trip; with interrupt, that round
 * trip also stops the guest (the sample's first).
 */
static struct up_error *read_regs_batch(struct kvm_target *k, unsigned int first, unsigned int n,
					int interrupt)
{
	const char *requests[GDB_MAX_PIPELINE] = { 0 }, *replies[GDB_MAX_PIPELINE];
	char names[GDB_MAX_PIPELINE][32];
	size_t lens[GDB_MAX_PIPELINE], nr = 0, nr_sys = sysregs_per_sample(k);
	uint8_t bytes[4096];
	uint64_t stopped;
	struct up_error *err;
	unsigned int v;

	for (v = first; v < first + n; v++) {
		/* The stub may already point at the first vCPU (not after a stop: we cannot know). */
		if (v != first || interrupt || k->selected != k->tids[v]) {
			fmt_hg(names[nr], sizeof(names[0]), k->tids[v]);
			requests[nr] = names[nr];
			nr++;
		}
		requests[nr++] = "g";
		for (size_t i = 0; i < nr_sys; i++) {
			snprintf(names[nr], sizeof(names[0]), "p%x", k->sysreg_num[i]);
			requests[nr] = names[nr];
			nr++;
		}
	}
	k->selected = 0;
	if (interrupt)
		err = gdb_interrupt_transact(k->gdb, requests, nr, replies, lens, &stopped);
	else
		err = gdb_transact(k->gdb, requests, nr, replies, lens);
	if (err)
		return err;
	v = first - 1;
	for (size_t i = 0, sys = 0; i < nr; i++) {
		long nbytes;

		if (requests[i][0] == 'H') {
			if (lens[i] != 2 || memcmp(replies[i], "OK", 2))
				return up_error_create(UP_ERR_PROTOCOL, "gdbstub refused to select a vCPU");
			continue;
		}
		nbytes = rsp_hex_decode(replies[i], lens[i], bytes, sizeof(bytes));
		if (nbytes < 0 || (requests[i][0] == 'p' && nbytes == 0))
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub sent bad registers for vCPU %u%s",
					       requests[i][0] == 'g' ? v + 1 : v,
					       lens[i] && replies[i][0] == 'E' ? " (error reply)" : "");
		if (requests[i][0] == 'g') {
			v++;
			sys = 0;
			err = k->arch->regs_from_gdb(bytes, nbytes, &k->regs[v]);
			if (err)
				return err;
		} else {
			k->arch->set_sysreg(&k->regs[v], k->sysreg_idx[sys++], up_get_le(bytes, nbytes));
		}
	}
	k->selected = k->tids[v];
	k->regs_read = first + n;
	return NULL;
}

/* vCPUs whose registers fit in one round trip. */
static unsigned int regs_batch(const struct kvm_target *k, unsigned int first)
{
	unsigned int batch = GDB_MAX_PIPELINE / requests_per_vcpu(k), left = k->nr_vcpus - first;

	return left < batch ? left : batch;
}

/*
 * Stop the guest, and read every vCPU's registers on the way: the interrupt and the first
 * batch of register requests go out in one write (sampling wants them all, and a separate
 * round trip would keep the guest stopped longer).
 */
static struct up_error *kvm_pause(struct up_target *t)
{
	struct kvm_target *k = to_kvm(t);

	if (k->paused)
		return NULL;
	/* Whatever happens next, the stub may have stopped the guest. */
	k->paused = 1;
	k->regs_read = 0;
	k->base.pauses++;
	return read_regs_batch(k, 0, regs_batch(k, 0), 1);
}

/*
 * Whether this pause wants vCPU vcpu's exception state: early in the run (the slide search
 * anchors on the vector base), now and then (a base not seen yet), or with the pc on a vector
 * table seen before.
 */
static int wants_exception_state(const struct kvm_target *k, unsigned int vcpu)
{
	uint64_t pc = k->regs[vcpu].pc;

	if (!k->nr_exc_sysregs || k->exc_pause[vcpu] == k->base.pauses)
		return 0;
	if (k->base.pauses <= EXC_EARLY_PAUSES || k->base.pauses % EXC_REFRESH_PAUSES == 0)
		return 1;
	for (size_t i = 0; i < k->nr_vector_bases; i++)
		if (pc - k->vector_bases[i] < k->arch->exception_window)
			return 1;
	return 0;
}

/* Read vCPU vcpu's exception state (one round trip) into its registers. */
static struct up_error *read_exception_state(struct kvm_target *k, unsigned int vcpu)
{
	const char *requests[MAX_SYSREGS + 1], *replies[MAX_SYSREGS + 1];
	char names[MAX_SYSREGS + 1][32];
	size_t lens[MAX_SYSREGS + 1], nr = 0;
	uint64_t base;
	struct up_error *err;

	fmt_hg(names[nr], sizeof(names[0]), k->tids[vcpu]);
	requests[nr] = names[nr];
	nr++;
	for (size_t i = 0; i < k->nr_exc_sysregs; i++, nr++) {
		snprintf(names[nr], sizeof(names[0]), "p%x", k->exc_num[i]);
		requests[nr] = names[nr];
	}
	k->selected = 0;
	err = gdb_transact(k->gdb, requests, nr, replies, lens);
	if (err)
		return err;
	if (lens[0] != 2 || memcmp(replies[0], "OK", 2))
		return up_error_create(UP_ERR_PROTOCOL, "gdbstub refused to select a vCPU");
	k->selected = k->tids[vcpu];
	for (size_t i = 1; i < nr; i++) {
		uint8_t bytes[16];
		long nbytes = rsp_hex_decode(replies[i], lens[i], bytes, sizeof(bytes));

		if (nbytes <= 0 || nbytes > 8)
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub sent a bad system register "
					       "for vCPU %u", vcpu);
		k->arch->set_exception_sysreg(&k->regs[vcpu], i - 1, up_get_le(bytes, nbytes));
	}
	k->exc_pause[vcpu] = k->base.pauses;
	base = k->arch->vector_base ? k->arch->vector_base(&k->regs[vcpu]) : 0;
	for (size_t i = 0; base && i < k->nr_vector_bases; i++)
		if (k->vector_bases[i] == base)
			base = 0;
	if (base && k->nr_vector_bases < MAX_VECTOR_BASES)
		k->vector_bases[k->nr_vector_bases++] = base;
	return NULL;
}

static struct up_error *kvm_get_regs(struct up_target *t, unsigned int vcpu, struct up_regs *ret)
{
	struct kvm_target *k = to_kvm(t);
	struct up_error *err;

	if (vcpu >= k->nr_vcpus)
		return up_error_create(UP_ERR_INVALID, "no vCPU %u", vcpu);
	if (!k->paused)
		return up_error_create(UP_ERR_INVALID, "vCPU registers read while the guest runs");
	while (vcpu >= k->regs_read) {
		err = read_regs_batch(k, k->regs_read, regs_batch(k, k->regs_read), 0);
		if (err)
			return err;
	}
	if (wants_exception_state(k, vcpu)) {
		err = read_exception_state(k, vcpu);
		if (err)
			return err;
	}
	*ret = k->regs[vcpu];
	return NULL;
}

/* Read guest memory with 'm' requests, as vCPU vcpu sees it. */
static struct up_error *read_direct(struct kvm_target *k, unsigned int vcpu, uint64_t addr,
				    uint8_t *out, size_t len)
{
	while (len) {
		size_t chunk = len < k->max_read ? len : k->max_read, n = 0, rlen;
		const char *requests[2], *replies[2], *reply;
		char hg[32], m[48];
		size_t lens[2];
		struct up_error *err;

		/* Switching vCPU costs no extra round trip: 'Hg' rides along with the read. */
		if (k->selected != k->tids[vcpu]) {
			fmt_hg(hg, sizeof(hg), k->tids[vcpu]);
			requests[n++] = hg;
		}
		snprintf(m, sizeof(m), "m%llx,%zx", (unsigned long long)addr, chunk);
		requests[n++] = m;
		k->selected = 0;
		err = gdb_transact(k->gdb, requests, n, replies, lens);
		if (err)
			return err;
		if (n == 2 && (lens[0] != 2 || memcmp(replies[0], "OK", 2)))
			return up_error_create(UP_ERR_PROTOCOL, "gdbstub refused to select vCPU %u", vcpu);
		k->selected = k->tids[vcpu];
		reply = replies[n - 1];
		rlen = lens[n - 1];
		if (rlen != 2 * chunk || rsp_hex_decode(reply, rlen, out, chunk) != (long)chunk)
			return up_error_fault(addr, "cannot read guest memory at 0x%llx",
					      (unsigned long long)addr);
		out += chunk;
		addr += chunk;
		len -= chunk;
	}
	return NULL;
}

/* The gdbstub's 'm': guest virtual memory as vCPU vcpu sees it. */
static struct up_error *gdb_read_virt(void *ctx, unsigned int vcpu, uint64_t addr, void *buf,
				      size_t len)
{
	struct kvm_target *k = ctx;

	if (vcpu >= k->nr_vcpus)
		return up_error_create(UP_ERR_INVALID, "no vCPU %u", vcpu);
	if (!k->paused)
		return up_error_create(UP_ERR_INVALID, "guest memory read while the guest runs");
	return read_direct(k, vcpu, addr, buf, len);
}

/* The gdbstub's 'm' in physical mode: guest RAM and ROM only, anything else a fault. */
static struct up_error *gdb_read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct kvm_target *k = ctx;
	unsigned int vcpu = 0;
	uint8_t *out = buf;

	if (!k->paused)
		return up_error_create(UP_ERR_INVALID, "guest memory read while the guest runs");
	/* Physical memory is the same for every vCPU: read with the one selected. */
	for (unsigned int v = 0; v < k->nr_vcpus; v++) {
		if (k->tids[v] == k->selected)
			vcpu = v;
	}
	while (len) {
		size_t n = qemu_ram_span(k->stub_ranges, k->nr_stub_ranges, paddr, len);
		struct up_error *err;

		if (!n)
			return up_error_fault(paddr, "0x%llx: not guest RAM",
					      (unsigned long long)paddr);
		err = read_direct(k, vcpu, paddr, out, n);
		if (err)
			return err;
		out += n;
		paddr += n;
		len -= n;
	}
	return NULL;
}

static void kvm_memory(struct up_target *t, struct up_memory_source *ret)
{
	struct kvm_target *k = to_kvm(t);

	if (k->ram) {
		*ret = (struct up_memory_source){
			.read_phys = qemu_ram_read,
			.ctx = k->ram,
			.block_size = qemu_ram_all_mapped(k->ram) ? 0 : PROCESS_BLOCK_SIZE,
			.description = qemu_ram_description(k->ram),
		};
		return;
	}
	if (k->stub_ranges) {
		*ret = (struct up_memory_source){
			.read_phys = gdb_read_phys,
			.ctx = k,
			.block_size = GDB_BLOCK_SIZE,
			.description = "QEMU's gdbstub ('m' packets)",
		};
		return;
	}
	*ret = (struct up_memory_source){
		.read_virt = gdb_read_virt,
		.ctx = k,
		.block_size = GDB_BLOCK_SIZE,
		.description = "QEMU's gdbstub ('m' packets)",
	};
}

static void kvm_rescue(struct up_target *t, int paused)
{
	struct kvm_target *k = to_kvm(t);

	int running;

	(void)paused;  /* the run state says it better: the guest ran when we attached */
	/* Our copy of the gdbstub connection is the last: closing it ends the session. */
	gdb_close(k->gdb);
	k->gdb = NULL;
	qmp_reset(k->qmp);
	/*
	 * One round trip first: QMP runs commands in order, so the dead process's last one (maybe
	 * the gdbserver that makes our socket, if we were forked before it) is done after it.
	 */
	up_error_destroy(query_running(k, &running, NULL));
	remove_stub_and_run(k, 1);
}

const struct up_target_ops up_target_kvm = {
	.name = "kvm",
	.attach = kvm_attach,
	.detach = kvm_detach,
	.nr_vcpus = kvm_nr_vcpus,
	.arch = kvm_arch,
	.pause = kvm_pause,
	.resume = kvm_resume,
	.poll = kvm_poll,
	.rescue = kvm_rescue,
	.get_regs = kvm_get_regs,
	.memory = kvm_memory,
};
