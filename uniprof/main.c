/*
 * uniprof: sample the stacks of a running virtual machine from the host.
 *
 * This file alone talks to the user: it parses options, attaches to the target, runs the
 * sampler (recording the samples as they come with -f raw) or takes one dump, names the
 * stacks, writes the profile (or the backtraces) -- of the run, or of a recording (uniprof
 * report) --, keeps a live status line on a terminal, and turns errors into one line and an
 * exit code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "../backends/libvirt.h"
#include "../backends/target.h"
#include "../record/raw.h"
#include "../memory/memory.h"
#include "../symbolize/guest_code.h"
#include "../symbolize/symbolize.h"
#include "../symbolize/symprofile.h"
#include "../unwind/cfi.h"
#include "../writers/writer.h"
#include "dump.h"
#include "guard.h"
#include "options.h"
#include "modules_load.h"
#include "orc_load.h"
#include "output.h"
#include "sampler.h"
#include "slides.h"
#include "tasks.h"

/* How this run unwinds, decided after attaching. */
struct unwinding {
	/* --unwind's unwinder, or orc for auto when the guest has ORC tables. */
	const struct up_unwinder *unwinder;
	/* The guest's ORC tables, read once before sampling when --unwind is orc or auto. */
	struct up_orc *orc;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must cut the sleep between samples short. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int verbosity;

/*
 * The live status line: on a terminal, for runs longer than a second, redrawn in place with
 * '\r' and wiped before anything else is printed on standard error.
 */
#define STATUS_AFTER_S 1.0
#define STATUS_EVERY_NS 250000000ull

struct status {
	double duration;        /* -t, 0 for none */
	uint64_t samples;       /* -n, 0 for none */
	int width;              /* of the line on the screen, 0 when none is shown */
};

static struct status status;

static void status_clear(void)
{
	if (!status.width)
		return;
	fprintf(stderr, "\r%*s\r", status.width, "");
	fflush(stderr);
	status.width = 0;
}

/* A duration for the status line: "4.2 s", "12m05s", "3h07m". */
static void format_seconds(char *buf, size_t size, double s)
{
	unsigned long long whole = (unsigned long long)s;

	if (s < 60)
		snprintf(buf, size, "%.1f s", s);
	else if (whole < 3600)
		snprintf(buf, size, "%llum%02llus", whole / 60, whole % 60);
	else
		snprintf(buf, size, "%lluh%02llum", whole / 3600, whole / 60 % 60);
}

static void status_show(void *ctx, const struct sampler_stats *st, double elapsed)
{
	double rate = st->samples / elapsed, left = -1;
	char line[160], took[32], rest[32];
	struct winsize ws;
	int n;

	(void)ctx;
	if (elapsed < STATUS_AFTER_S)
		return;
	/* Whichever limit comes first; -n's from the rate so far. */
	if (status.duration > 0)
		left = status.duration > elapsed ? status.duration - elapsed : 0;
	if (status.samples && st->samples <= status.samples && rate > 0) {
		double by_count = (status.samples - st->samples) / rate;

		if (left < 0 || by_count < left)
			left = by_count;
	}
	format_seconds(took, sizeof(took), elapsed);
	format_seconds(rest, sizeof(rest), left);
	n = snprintf(line, sizeof(line), "uniprof: %llu samples, %.1f Hz, %llu truncated, %s elapsed%s%s%s",
		     (unsigned long long)st->samples, rate, (unsigned long long)st->truncated, took,
		     left >= 0 ? ", " : "", left >= 0 ? rest : "",
		     left >= 0 ? " left" : !status.duration && !status.samples ? " (Ctrl-C stops)" : "");
	if (n < 0)
		return;
	n = (int)strlen(line);
	/* A line that wraps cannot be redrawn with '\r': cut it to the terminal's width. */
	if (!ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) && ws.ws_col > 1 && n >= ws.ws_col) {
		n = ws.ws_col - 1;
		line[n] = '\0';
	}
	/* Pad over a longer previous line. */
	fprintf(stderr, "\r%s%*s", line, status.width > n ? status.width - n : 0, "");
	fflush(stderr);
	if (n > status.width)
		status.width = n;
}

static void log_line(void *ctx, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void log_line(void *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	if (level > verbosity)
		return;
	status_clear();
	va_start(ap, fmt);
	fputs("uniprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int report(struct up_error *err)
{
	status_clear();
	fprintf(stderr, "uniprof: %s\n", err->message);
	up_error_destroy(err);
	return 1;
}

/* Set up sym with the -k files and the slides the user gave; sym is deinitialized on failure. */
static struct up_error *load_symbols(const struct options *opts, struct up_symbolizer *sym)
{
	struct up_symbolizer_options sym_opts = {
		.demangle = !opts->no_demangle,
		/* A backtrace shows what a debugger shows: inlined frames and lines where DWARF has them. */
		.inline_frames = opts->inline_frames || opts->dump,
		.lines = opts->lines || opts->dump,
	};

	up_symbolizer_init(sym, &sym_opts);
	for (size_t i = 0; i < opts->nr_kernels; i++) {
		const struct kernel_option *k = &opts->kernels[i];
		struct up_error *err = up_symbolizer_add_file(sym, k->path, k->has_address,
							      k->address);

		if (err) {
			up_symbolizer_deinit(sym);
			return err;
		}
	}
	if (opts->has_slide)
		up_symbolizer_set_slide(sym, 0, opts->slide, "given with --slide");
	return NULL;
}

/* Say how each file's slide was decided; a refused file is worth a line even without -v. */
static void report_slides(const struct up_symbolizer *sym)
{
	for (size_t i = 0; i < sym->nr_files; i++) {
		const struct up_symfile *f = sym->files[i];

		if (f->slide_state == UP_SLIDE_REFUSED)
			fprintf(stderr, "uniprof: %s: %s\n", f->path, f->slide_how);
		else
			log_line(NULL, 1, "%s: slide %s0x%llx: %s", f->path, f->slide < 0 ? "-" : "",
				 (unsigned long long)(f->slide < 0 ? -(uint64_t)f->slide : (uint64_t)f->slide),
				 f->slide_how[0] ? f->slide_how : "assumed (no guest to check against)");
	}
}

/*
 * The unwind tables of the ELF symbol files whose slide is known, for CFI walks and to know
 * the outermost frames.  *ret is NULL when no file has any.
 */
static struct up_error *load_cfi(const struct up_symbolizer *sym, const struct up_arch *arch,
				 struct up_cfi **ret)
{
	struct up_cfi *cfi;
	size_t with_tables = 0;
	struct up_error *err = up_cfi_create(arch, &cfi);

	for (size_t i = 0; !err && i < sym->nr_files; i++) {
		const struct up_symfile *f = sym->files[i];
		unsigned int tables = 0;

		if (f->kind != UP_SYMFILE_ELF || f->slide_state == UP_SLIDE_REFUSED)
			continue;
		err = up_cfi_add_file(cfi, f->path, f->slide, &tables);
		if (!err)
			log_line(NULL, 1, "%s: unwind tables: %s%s%s", f->path,
				 tables & UP_CFI_EH_FRAME ? ".eh_frame" : "",
				 tables == (UP_CFI_EH_FRAME | UP_CFI_DEBUG_FRAME) ? ", " : "",
				 tables & UP_CFI_DEBUG_FRAME ? ".debug_frame" :
				 tables ? "" : "none");
		with_tables += tables != 0;
	}
	if (err || !with_tables) {
		up_cfi_destroy(cfi);
		cfi = NULL;
	}
	*ret = cfi;
	return err;
}

/* -vv: how the walks' memory reads were served, and the unwind rows they used. */
static void log_memory_stats(const struct up_memory *m, const struct sampler_stats *st,
			     const struct up_cfi *cfi)
{
	struct up_memory_stats ms;
	double per = st->samples ? 1.0 / st->samples : 0;

	up_memory_stats(m, &ms);
	log_line(NULL, 2, "memory per sample: %.2f reads, %.2f page walks (%.2f cached), "
		 "%.2f reads from %s, %.2f block hits, %.2f faults",
		 ms.reads * per, ms.translations * per, ms.tlb_hits * per, ms.source_reads * per,
		 up_memory_description(m), ms.block_hits * per, ms.faults * per);
	if (cfi) {
		struct up_cfi_stats cs;

		up_cfi_stats(cfi, &cs);
		log_line(NULL, 2, "unwind rows: %.2f lookups per sample, %llu evaluated in all",
			 cs.lookups * per, (unsigned long long)cs.evaluated);
	}
}

static void print_summary(const struct options *opts, const struct unwinding *uw,
			  const struct sampler_stats *st, const struct up_cfi *cfi)
{
	fprintf(stderr,
		"uniprof: %llu samples in %.2f s, %llu stacks, %llu truncated (%.1f%%), "
		"rate %.1f Hz of %.1f Hz requested, median pause %.0f us, p99 pause %.0f us\n",
		(unsigned long long)st->samples, st->elapsed, (unsigned long long)st->stacks,
		(unsigned long long)st->truncated,
		st->stacks ? 100.0 * st->truncated / st->stacks : 0.0, st->rate, opts->frequency,
		st->pause_median_us, st->pause_p99_us);
	/*
	 * Most walks ending at the leaf (or its caller, found from the stack top or LR) is what a
	 * guest built without frame pointers looks like.
	 */
	if (st->stacks >= 10 && st->near_leaf * 2 > st->stacks) {
		if (opts->unwinder == &up_unwinder_fp)
			fprintf(stderr, "uniprof: %.0f%% of the walks stopped at the leaf, truncated: is "
				"the guest built without frame pointers? Try --unwind cfi%s, or rebuild it "
				"with -fno-omit-frame-pointer\n", 100.0 * st->near_leaf / st->stacks,
				cfi ? " (the symbol files have unwind tables)" :
				      " with a symbol file that has unwind tables");
		else
			fprintf(stderr, "uniprof: %.0f%% of the walks stopped at the leaf, truncated: do "
				"the symbol files' unwind tables cover the guest's code?%s\n",
				100.0 * st->near_leaf / st->stacks, cfi ? "" : " (they have none)");
	}
	if (st->stale)
		fprintf(stderr, "uniprof: %llu vCPU states not counted: runnable but not run since the "
			"previous sample (the host's CPUs are overcommitted)\n",
			(unsigned long long)st->stale);
	if (verbosity) {
		fprintf(stderr, "uniprof: %llu sample slots missed; longest pause %.0f us; "
			"from pause to the resume request: median %.0f us, p99 %.0f us\n",
			(unsigned long long)st->missed, st->pause_max_us,
			st->held_median_us, st->held_p99_us);
		fprintf(stderr, "uniprof: unwinding (%s): median %.2f us per stack (p99 %.2f, mean "
			"%.2f, max %.2f), %.1f frames per stack, %llu moved to another stack\n",
			uw->unwinder->name, st->walk_median_us,
			st->walk_p99_us, st->stacks ? st->walk_ns / 1e3 / st->stacks : 0.0,
			st->walk_max_us,
			st->stacks ? (double)st->frames / st->stacks : 0.0,
			(unsigned long long)st->switched);
		fprintf(stderr, "uniprof: walks ended at a root %llu; truncated:",
			(unsigned long long)st->stops[UP_WALK_END]);
		for (int i = UP_WALK_END + 1; i < UP_WALK_STOP_COUNT; i++)
			fprintf(stderr, "%s %s %llu", i > UP_WALK_END + 1 ? "," : "",
				up_walk_stop_name(i), (unsigned long long)st->stops[i]);
		fputc('\n', stderr);
		fprintf(stderr, "uniprof: %llu stacks in user mode ([user])", (unsigned long long)st->user);
		if (opts->tasks)
			fprintf(stderr, ", %llu with their task (%llu unknown)",
				(unsigned long long)st->tasks_known,
				(unsigned long long)(st->stacks - st->tasks_known));
		fputc('\n', stderr);
		fprintf(stderr, "uniprof: leaf callers found:");
		for (int i = 0; i < UP_FIXUP_COUNT; i++)
			fprintf(stderr, "%s %s %llu", i ? "," : "", up_walk_fixup_name(i),
				(unsigned long long)st->fixups[i]);
		fputc('\n', stderr);
	}
}

/* The profile's metadata known before sampling starts. */
static void describe_run(const struct options *opts, struct up_target *t,
			 struct up_profile_meta *meta)
{
	struct timespec now;

	if (opts->domain)
		snprintf(meta->target, sizeof(meta->target), "xen domain %s", opts->domain);
	else
		snprintf(meta->target, sizeof(meta->target), "qemu %s", opts->qmp);
	snprintf(meta->arch, sizeof(meta->arch), "%s", t->ops->arch(t)->name);
	meta->nr_vcpus = t->ops->nr_vcpus(t);
	meta->frequency = opts->frequency;
	clock_gettime(CLOCK_REALTIME, &now);
	meta->start_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

/*
 * The end of a run and of a report: name the stacks of p with sym, write them in the chosen
 * format and close the output.
 */
static struct up_error *write_profile(const struct options *opts, const struct up_profile *p,
				      struct up_symbolizer *sym, struct output *output)
{
	struct up_writer_options wopts = {
		.per_vcpu = opts->per_vcpu, .lines = opts->lines, .reverse = opts->reverse,
	};
	struct up_symprofile_options sopts = {
		.tasks = (enum up_task_frames)opts->tasks,
		.user_pcs = opts->verbose > 0,
	};
	struct up_symprofile symprofile;
	struct up_error *err, *cerr;

	err = up_symprofile_build_opts(p, sym, &sopts, &symprofile);
	if (!err) {
		err = opts->writer->write(output_begin(output), &symprofile, &wopts);
		up_symprofile_deinit(&symprofile);
	}
	cerr = output_finish(output, err != NULL);
	if (err) {
		up_error_destroy(cerr);
		return output->path ? up_error_prefix(err, "%s", output->path) : err;
	}
	if (p->other)
		fprintf(stderr, "uniprof: %llu of %llu samples (%.1f%%) are in [other]: their stacks "
			"came after the first %zu distinct ones (--max-stacks)\n",
			(unsigned long long)p->other, (unsigned long long)p->total,
			100.0 * (double)p->other / (double)p->total, p->max_stacks);
	return cerr;
}

/* The sampler's should_stop: nobody is left to read the profile. */
static int output_gone(void *ctx)
{
	return output_reader_gone(ctx);
}

/* -f raw: the sampler's hooks write every stack, and flush once per pause. */
struct recording {
	struct up_raw_writer *writer;
	int failed;
};

static struct up_error *record_stack(void *ctx, uint64_t time_ns, uint32_t vcpu,
				     const uint64_t *pcs, uint32_t depth, uint64_t exact,
				     int truncated, const struct up_task *task, uint32_t flags)
{
	struct recording *r = ctx;
	struct up_error *err = up_raw_write_sample(r->writer, time_ns, vcpu, pcs, depth, exact,
						   truncated, task, flags);

	r->failed |= !!err;
	return err;
}

static struct up_error *record_flush(void *ctx)
{
	struct recording *r = ctx;
	struct up_error *err = up_raw_flush(r->writer);

	r->failed |= !!err;
	return err;
}

static const char *output_name(const struct options *opts)
{
	return opts->output ? opts->output : "standard output";
}

/* attach's prepare_rescue: fork the guardian before anything may stop the guest. */
static struct up_error *start_guardian(void *ctx, struct up_target *t)
{
	return guard_start(t, ctx);
}

/* Let the guest go: dismiss the guardian, free the reader, detach. */
static void release(const struct up_target_ops *backend, struct up_target *target,
		    struct guard *guard, struct up_memory *memory)
{
	guard_stop(guard, target);
	up_memory_destroy(memory);
	backend->detach(target);
}

/* Close the output, keeping the first of two errors; report it.  Returns the exit status. */
static int finish_output(struct output *output, struct up_error *err)
{
	struct up_error *cerr = output_close(output);

	if (err)
		up_error_destroy(cerr);
	else
		err = cerr;
	return err ? report(err) : 0;
}

/*
 * What the unwinders may use besides guest memory: the symbol files' code and function starts,
 * and, when they have unwind tables, the CFI rows and the outermost frames they mark.
 */
static struct up_unwind_env unwind_env(struct up_guest_code *code, struct up_cfi *cfi,
				       const struct unwinding *uw)
{
	return (struct up_unwind_env){
		.walk = {
			.func_start = up_guest_code_func_start,
			.read_code = up_guest_code_read,
			.code_ctx = code,
			.is_root = cfi ? up_cfi_is_root : NULL,
			.root_ctx = cfi,
		},
		.cfi_lookup = cfi ? up_cfi_lookup_fn : NULL,
		.cfi_ctx = cfi,
		.orc = uw->orc,
	};
}

/*
 * The code the leaf rules read: the symbol files' own, else the guest's, through each vCPU's
 * view in turn (a vCPU in user mode may not map the kernel).
 */
struct code_oracle {
	struct up_vcpu_memory *views;
	struct up_guest_code *code;
};

static void code_oracle_deinit(struct code_oracle *co)
{
	up_guest_code_destroy(co->code);
	free(co->views);
}

static struct up_error *code_oracle_init(struct code_oracle *co, struct up_target *t,
					 struct up_memory *memory, const struct up_symbolizer *sym)
{
	unsigned int n = t->ops->nr_vcpus(t);
	void **ctxs = calloc(n, sizeof(*ctxs));
	struct up_error *err;

	co->code = NULL;
	co->views = calloc(n, sizeof(*co->views));
	if (!ctxs || !co->views) {
		free(ctxs);
		free(co->views);
		return &up_error_nomem;
	}
	for (unsigned int i = 0; i < n; i++) {
		co->views[i] = (struct up_vcpu_memory){ .memory = memory, .vcpu = i };
		ctxs[i] = &co->views[i];
	}
	err = up_guest_code_create(sym, up_vcpu_memory_read, ctxs, n, &co->code);
	free(ctxs);
	if (err)
		free(co->views);
	return err;
}

/* --dump: one pause for every vCPU's stack, then, with the guest let go, the backtraces. */
static int run_dump(const struct options *opts, const struct up_target_ops *backend,
		    struct up_target *target, struct guard *guard, struct up_memory *memory,
		    struct up_symbolizer *sym, struct up_cfi *cfi, const struct unwinding *uw,
		    const struct up_task_finder *tasks, struct output *output)
{
	struct dump_options dopts = {
		.max_depth = opts->max_depth,
		.unwinder = uw->unwinder,
		.tasks = tasks,
		.task_names = opts->tasks ? (enum up_task_frames)opts->tasks : UP_TASK_FRAMES_PID,
	};
	struct up_backtrace_names names;
	struct code_oracle code;
	struct up_error *err;
	struct dump dump;

	err = code_oracle_init(&code, target, memory, sym);
	if (!err) {
		dopts.unwind = unwind_env(code.code, cfi, uw);
		err = dump_take(target, memory, &dopts, &dump);
		code_oracle_deinit(&code);
	}
	release(backend, target, guard, memory);
	if (err) {
		output_abandon(output);
		return report(up_error_prefix(err, "reading the stacks"));
	}
	log_line(NULL, 1, "the guest was stopped for %.0f us", dump.pause_us);
	up_backtrace_names_symbolizer(sym, &names);
	err = dump_write(output_begin(output), &dump, &names);
	dump_deinit(&dump);
	return finish_output(output, err);
}

/*
 * The backend for the target given: --qmp, and --libvirt to a domain of libvirt's QEMU driver,
 * are KVM's; -d, and --libvirt to one of its Xen (libxl) driver, by the domain id libvirt
 * gives (written in domid), are Xen's.
 */
static struct up_error *choose_backend(const struct options *opts,
				       const struct up_target_ops **ret,
				       struct up_target_options *topts, char *domid, size_t domid_len)
{
	const char *name = opts->domain ? "xen" : "kvm";

	topts->qmp = opts->qmp;
	topts->domain = opts->domain;
	if (opts->libvirt) {
		struct up_libvirt *lv;
		struct up_error *err = up_libvirt_open(opts->libvirt_uri, opts->libvirt, &lv);
		const char *driver;

		if (err)
			return err;
		driver = up_libvirt_driver(lv);
		if (!strcmp(driver, "Xen")) {
			snprintf(domid, domid_len, "%d", up_libvirt_id(lv));
			topts->domain = domid;
			name = "xen";
			log_line(NULL, 1, "libvirt domain %s is Xen domain %s", up_libvirt_name(lv),
				 domid);
		} else if (!strcmp(driver, "QEMU")) {
			topts->libvirt = opts->libvirt;
			topts->libvirt_uri = opts->libvirt_uri;
		} else {
			err = up_error_create(UP_ERR_UNSUPPORTED, "libvirt domain %s runs on libvirt's "
					      "%s driver: uniprof profiles QEMU and Xen domains",
					      up_libvirt_name(lv), driver);
		}
		up_libvirt_close(lv);
		if (err)
			return err;
	}
	*ret = up_backend_find(name);
	if (!*ret)
		return up_error_create(UP_ERR_UNSUPPORTED, "this build has no Xen support (libxen-dev "
				       "was missing when it was built)");
	return NULL;
}

static int run_sampling(const struct options *opts)
{
	struct up_target_options topts = { .log = log_line };
	char libvirt_domid[16];
	struct recording recording = { 0 };
	struct up_cfi *cfi = NULL;
	struct unwinding uw = { .unwinder = opts->unwinder };
	struct tasks_setup tasks;
	double slide_pause_us;
	const struct up_target_ops *backend;
	struct up_symbolizer sym;
	struct up_profile profile;
	struct sampler_options sopts;
	struct sampler_stats stats;
	struct up_target *target = NULL;
	struct guard *guard = NULL;
	struct up_memory *memory = NULL;
	struct code_oracle code;
	struct up_error *err, *run_err;
	struct output output;
	int rc = 0;

	/* Check every input before touching the guest. */
	err = choose_backend(opts, &backend, &topts, libvirt_domid, sizeof(libvirt_domid));
	if (err)
		return report(err);
	err = load_symbols(opts, &sym);
	if (err)
		return report(err);
	err = output_open(&output, opts->output);
	if (err) {
		up_symbolizer_deinit(&sym);
		return report(err);
	}

	install_signals();
	topts.gdb = opts->gdb;
	topts.memory = opts->memory;
	topts.prepare_rescue = start_guardian;
	topts.prepare_rescue_ctx = &guard;
	err = backend->attach(&topts, &target);
	if (err) {
		guard_stop(guard, NULL);  /* attach freed the target */
		output_abandon(&output);
		up_symbolizer_deinit(&sym);
		return report(err);
	}

	err = up_memory_create(target, &memory);
	if (!err) {
		log_line(NULL, 1, "guest memory: %s", up_memory_description(memory));
		err = find_slides(target, memory, &sym, &slide_pause_us);
		if (err)
			err = up_error_prefix(err, "looking for the symbol files' slides");
	}
	if (!err) {
		if (slide_pause_us > 0)
			log_line(NULL, 1, "slide search stopped the guest for %.0f us", slide_pause_us);
		report_slides(&sym);
	}
	if (!err && (opts->unwinder == &up_unwinder_orc || opts->unwinder == &up_unwinder_auto)) {
		char how[512];

		err = orc_load(target, memory, &sym, &uw.orc, how, sizeof(how));
		if (err) {
			err = up_error_prefix(err, "reading the ORC tables");
		} else if (uw.orc) {
			log_line(NULL, 1, "unwind: orc: %s", how);
			if (opts->unwinder == &up_unwinder_auto)
				uw.unwinder = &up_unwinder_orc;
		} else {
			log_line(NULL, 1, "unwind: no ORC tables (%s); %s", how,
				 opts->unwinder == &up_unwinder_orc ? "orc walks frame pointers"
								    : "auto walks CFI and frame pointers");
		}
	}
	if (!err) {
		/* A Linux guest's modules: their names, and their ORC tables for an ORC walk. */
		struct modules_loaded mods;

		err = modules_load(target, memory, &sym, uw.orc, &mods);
		if (!err && mods.how[0])
			log_line(NULL, 1, "modules: %s", mods.how);
		if (!err && mods.btf_pause_us > 0)
			log_line(NULL, 1, "reading the BTF for the modules stopped the guest for %.0f us",
				 mods.btf_pause_us);
	}
	if (!err) {
		err = load_cfi(&sym, target->ops->arch(target), &cfi);
		if (err)
			err = up_error_prefix(err, "reading the unwind tables");
		else if (!cfi && opts->unwinder != &up_unwinder_fp && !uw.orc &&
			 opts->unwinder != &up_unwinder_orc)
			fprintf(stderr, "uniprof: --unwind %s: no symbol file has unwind tables "
				"(.eh_frame, .debug_frame) for this guest; %s\n", opts->unwinder->name,
				opts->unwinder == &up_unwinder_cfi ? "walks stop at the leaf"
								   : "frame pointers only");
	}
	if (!err && opts->tasks) {
		err = tasks_setup(target, memory, &sym, &tasks);
		if (!err)
			log_line(NULL, 1, "%s", tasks.how);
		if (!err && tasks.pause_us > 0)
			log_line(NULL, 1, "reading the BTF stopped the guest for %.0f us",
				 tasks.pause_us);
	}
	if (!err && opts->dump) {
		rc = run_dump(opts, backend, target, guard, memory, &sym, cfi, &uw,
			      opts->tasks ? &tasks.finder : NULL, &output);
		up_cfi_destroy(cfi);
		up_orc_destroy(uw.orc);
		up_symbolizer_deinit(&sym);
		return rc;
	}
	up_profile_init(&profile);
	profile.max_stacks = opts->max_stacks;
	if (!err)
		describe_run(opts, target, &profile.meta);
	/* A recording begins with what the report needs to name its addresses: the slides. */
	if (!err && opts->raw) {
		err = up_raw_writer_create(output_begin(&output), &profile.meta, &sym,
					   &recording.writer);
		if (err)
			err = up_error_prefix(err, "%s", output_name(opts));
	}
	if (!err)
		err = code_oracle_init(&code, target, memory, &sym);
	if (err) {
		release(backend, target, guard, memory);
		output_abandon(&output);
		up_cfi_destroy(cfi);
		up_orc_destroy(uw.orc);
		up_profile_deinit(&profile);
		up_symbolizer_deinit(&sym);
		return report(err);
	}

	sopts = (struct sampler_options){
		.frequency = opts->frequency,
		.duration = opts->duration,
		.samples = opts->samples,
		.max_depth = opts->max_depth,
		.stop = &stop_requested,
		.unwinder = uw.unwinder,
		.unwind = unwind_env(code.code, cfi, &uw),
		.tasks = opts->tasks ? &tasks.finder : NULL,
		.record = opts->raw ? record_stack : NULL,
		.record_flush = opts->raw ? record_flush : NULL,
		.record_ctx = &recording,
		.should_stop = output_gone,
		.should_stop_ctx = &output,
	};
	if (!opts->quiet && isatty(STDERR_FILENO)) {
		status.duration = opts->duration;
		status.samples = opts->samples;
		sopts.progress = status_show;
		sopts.progress_ns = STATUS_EVERY_NS;
	}
	run_err = sampler_run(target, memory, &sopts, &profile, &stats);
	log_line(NULL, 2, "code read from the guest for the leaf rules: %llu reads",
		 (unsigned long long)up_guest_code_reads(code.code));
	code_oracle_deinit(&code);
	status_clear();
	profile.meta.duration_ns = (uint64_t)(stats.elapsed * 1e9);
	profile.meta.samples = stats.samples;
	profile.meta.truncated = stats.truncated;
	log_memory_stats(memory, &stats, cfi);
	release(backend, target, guard, memory);
	if (output_reader_gone(&output)) {
		/* Whatever else happened, nothing written now would be read: one line says why. */
		fprintf(stderr, "uniprof: the output's reader has gone (closed pipe): stopped after "
			"%llu samples, nothing more written\n", (unsigned long long)stats.samples);
		if (opts->raw)
			up_raw_writer_destroy(recording.writer);
		output_abandon(&output);
		up_error_destroy(run_err);
		up_cfi_destroy(cfi);
		up_orc_destroy(uw.orc);
		up_profile_deinit(&profile);
		up_symbolizer_deinit(&sym);
		return 1;
	}
	if (run_err && opts->raw)
		fprintf(stderr, "uniprof: sampling stopped: %s; %s keeps what was recorded before\n",
			run_err->message, output_name(opts));
	else if (run_err)
		fprintf(stderr, "uniprof: sampling stopped: %s; writing the %llu samples taken\n",
			run_err->message, (unsigned long long)stats.samples);

	if (opts->raw) {
		/* A recording that failed to write has said so: its file ends where it could. */
		err = recording.failed ? NULL : up_raw_writer_finish(recording.writer, &profile.meta);
		if (err)
			up_error_destroy(output_close(&output));
		else
			err = output_close(&output);
		if (err)
			err = up_error_prefix(err, "%s", output_name(opts));
		else
			log_line(NULL, 1, "recorded %llu stacks to %s",
				 (unsigned long long)up_raw_writer_stacks(recording.writer),
				 output_name(opts));
		up_raw_writer_destroy(recording.writer);
	} else {
		err = write_profile(opts, &profile, &sym, &output);
	}
	if (err)
		rc = report(err);
	print_summary(opts, &uw, &stats, cfi);
	up_cfi_destroy(cfi);
	up_orc_destroy(uw.orc);
	if (run_err) {
		up_error_destroy(run_err);
		rc = 1;
	}
	up_profile_deinit(&profile);
	up_symbolizer_deinit(&sym);
	return rc;
}

/* uniprof report: the profile of a recording, named now. */
static int run_report(const struct options *opts)
{
	const struct up_profile_meta *meta;
	struct up_raw_recording rec;
	struct up_symbolizer sym;
	struct output output;
	struct up_error *err;
	int from_stdin = !strcmp(opts->input, "-");
	FILE *in = from_stdin ? stdin : fopen(opts->input, "rb");

	if (!in)
		return report(up_error_errno(errno, "%s", opts->input));
	err = up_raw_read_file(in, opts->max_stacks, NULL, NULL, &rec);
	if (!from_stdin)
		fclose(in);
	if (err)
		return report(up_error_prefix(err, "%s", opts->input));
	meta = &rec.profile.meta;
	if (!rec.complete)
		fprintf(stderr, "uniprof: %s was cut short (the recording did not end cleanly): "
			"reporting its %llu stacks, in its first %llu of %llu bytes\n", opts->input,
			(unsigned long long)rec.stacks, (unsigned long long)rec.length,
			(unsigned long long)rec.size);
	log_line(NULL, 1, "%s: %s, %s, %u vCPUs, %llu samples (%llu stacks) at %.1f Hz in %.2f s",
		 opts->input, meta->target, meta->arch, meta->nr_vcpus,
		 (unsigned long long)meta->samples, (unsigned long long)rec.stacks, meta->frequency,
		 meta->duration_ns / 1e9);
	for (size_t i = 0; i < rec.nr_files; i++)
		log_line(NULL, 1, "recorded with -k %s: %s", rec.files[i].path,
			 rec.files[i].slide_how[0] ? rec.files[i].slide_how : "slide unknown");
	if (!opts->nr_kernels && rec.nr_files)
		fprintf(stderr, "uniprof: no -k file: addresses print as hex (it was recorded with "
			"-k %s)\n", rec.files[0].path);

	err = load_symbols(opts, &sym);
	if (err) {
		up_raw_recording_deinit(&rec);
		return report(err);
	}
	up_raw_apply_slides(&rec, &sym);
	report_slides(&sym);
	err = output_open(&output, opts->output);
	if (!err)
		err = write_profile(opts, &rec.profile, &sym, &output);
	up_raw_recording_deinit(&rec);
	up_symbolizer_deinit(&sym);
	return err ? report(err) : 0;
}

int main(int argc, char **argv)
{
	struct options opts;
	int rc;

	switch (parse_options(argc, argv, &opts)) {
	case PARSE_RUN:
		break;
	case PARSE_EXIT_OK:
		return 0;
	case PARSE_EXIT_USAGE:
		return 2;
	}
	verbosity = opts.verbose;
	rc = opts.report ? run_report(&opts) : run_sampling(&opts);
	free_options(&opts);
	return rc;
}
