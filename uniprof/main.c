/*
 * uniprof: sample the stacks of a running virtual machine from the host.
 *
 * This file alone talks to the user: it parses options, attaches to the target, runs the
 * sampler, names the stacks, writes the profile and turns errors into one line and an exit code.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../backends/target.h"
#include "../symbolize/symbolize.h"
#include "../symbolize/symprofile.h"
#include "../unwind/cfi.h"
#include "../writers/writer.h"
#include "guard.h"
#include "options.h"
#include "output.h"
#include "sampler.h"
#include "slides.h"

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

static void log_line(void *ctx, int level, const char *fmt, ...)
{
	va_list ap;

	(void)ctx;
	if (level > verbosity)
		return;
	va_start(ap, fmt);
	fputs("uniprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int report(struct up_error *err)
{
	fprintf(stderr, "uniprof: %s\n", err->message);
	up_error_destroy(err);
	return 1;
}

static struct up_error *load_symbols(const struct options *opts, struct up_symbolizer *sym)
{
	for (size_t i = 0; i < opts->nr_kernels; i++) {
		const struct kernel_option *k = &opts->kernels[i];
		struct up_error *err = up_symbolizer_add_file(sym, k->path, k->has_address,
							      k->address);

		if (err)
			return err;
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

static void print_summary(const struct options *opts, const struct sampler_stats *st,
			  const struct up_cfi *cfi)
{
	fprintf(stderr,
		"uniprof: %llu samples in %.2f s, %llu stacks, %llu truncated (%.1f%%), "
		"rate %.1f Hz of %.1f Hz requested, median pause %.0f us\n",
		(unsigned long long)st->samples, st->elapsed, (unsigned long long)st->stacks,
		(unsigned long long)st->truncated,
		st->stacks ? 100.0 * st->truncated / st->stacks : 0.0, st->rate, opts->frequency,
		st->pause_median_us);
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
		fprintf(stderr, "uniprof: %llu sample slots missed; pause p99 %.0f us, longest %.0f us; "
			"from pause to the resume request: median %.0f us, p99 %.0f us\n",
			(unsigned long long)st->missed, st->pause_p99_us, st->pause_max_us,
			st->held_median_us, st->held_p99_us);
		fprintf(stderr, "uniprof: unwinding (%s): median %.2f us per stack (p99 %.2f, mean "
			"%.2f), %.1f frames per stack, %llu moved to another stack\n",
			opts->unwinder->name, st->walk_median_us, st->walk_p99_us,
			st->stacks ? st->walk_ns / 1e3 / st->stacks : 0.0,
			st->stacks ? (double)st->frames / st->stacks : 0.0,
			(unsigned long long)st->switched);
		fprintf(stderr, "uniprof: walks ended at a root %llu; truncated:",
			(unsigned long long)st->stops[UP_WALK_END]);
		for (int i = UP_WALK_END + 1; i < UP_WALK_STOP_COUNT; i++)
			fprintf(stderr, "%s %s %llu", i > UP_WALK_END + 1 ? "," : "",
				up_walk_stop_name(i), (unsigned long long)st->stops[i]);
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

int main(int argc, char **argv)
{
	struct up_target_options topts = { .log = log_line };
	struct up_writer_options wopts = { 0 };
	struct up_symprofile symprofile;
	struct up_symbolizer_options sym_opts;
	double slide_pause_us;
	const struct up_target_ops *backend;
	struct up_symbolizer sym;
	struct up_profile profile;
	struct sampler_options sopts;
	struct sampler_stats stats;
	struct up_target *target = NULL;
	struct up_memory *memory = NULL;
	struct up_cfi *cfi = NULL;
	struct up_error *err, *run_err;
	struct options opts;
	struct output output;
	int rc = 0;

	switch (parse_options(argc, argv, &opts)) {
	case PARSE_RUN:
		break;
	case PARSE_EXIT_OK:
		return 0;
	case PARSE_EXIT_USAGE:
		return 2;
	}
	verbosity = opts.verbose;

	/* Check every input before touching the guest. */
	backend = up_backend_find(opts.domain ? "xen" : "kvm");
	if (!backend) {
		fprintf(stderr, "uniprof: this build has no Xen support (libxen-dev was missing when it was built)\n");
		return 1;
	}
	sym_opts.demangle = !opts.no_demangle;
	sym_opts.inline_frames = opts.inline_frames;
	sym_opts.lines = opts.lines;
	up_symbolizer_init(&sym, &sym_opts);
	err = load_symbols(&opts, &sym);
	if (err) {
		up_symbolizer_deinit(&sym);
		free_options(&opts);
		return report(err);
	}
	err = output_open(&output, opts.output);
	if (err) {
		up_symbolizer_deinit(&sym);
		free_options(&opts);
		return report(err);
	}

	install_signals();
	topts.qmp = opts.qmp;
	topts.gdb = opts.gdb;
	topts.memory = opts.memory;
	topts.domain = opts.domain;
	err = backend->attach(&topts, &target);
	if (err) {
		output_abandon(&output);
		up_symbolizer_deinit(&sym);
		free_options(&opts);
		return report(err);
	}

	err = guard_start(target);
	if (!err)
		err = up_memory_create(target, &memory);
	if (!err) {
		log_line(NULL, 1, "guest memory: %s", up_memory_description(memory));
		err = find_slides(target, memory, &sym, &slide_pause_us);
	}
	if (err) {
		guard_stop(target);
		up_memory_destroy(memory);
		backend->detach(target);
		output_abandon(&output);
		up_symbolizer_deinit(&sym);
		free_options(&opts);
		return report(up_error_prefix(err, "looking for the symbol files' slides"));
	}
	if (slide_pause_us > 0)
		log_line(NULL, 1, "slide search stopped the guest for %.0f us", slide_pause_us);
	report_slides(&sym);
	err = load_cfi(&sym, target->ops->arch(target), &cfi);
	if (err) {
		guard_stop(target);
		up_memory_destroy(memory);
		backend->detach(target);
		output_abandon(&output);
		up_symbolizer_deinit(&sym);
		free_options(&opts);
		return report(up_error_prefix(err, "reading the unwind tables"));
	}
	if (!cfi && opts.unwinder != &up_unwinder_fp)
		fprintf(stderr, "uniprof: --unwind %s: no symbol file has unwind tables (.eh_frame, "
			".debug_frame) for this guest; %s\n", opts.unwinder->name,
			opts.unwinder == &up_unwinder_cfi ? "walks stop at the leaf" : "frame pointers only");

	up_profile_init(&profile);
	describe_run(&opts, target, &profile.meta);
	sopts = (struct sampler_options){
		.frequency = opts.frequency,
		.duration = opts.duration,
		.samples = opts.samples,
		.max_depth = opts.max_depth,
		.stop = &stop_requested,
		.unwinder = opts.unwinder,
		.func_start = up_symbolizer_func_start,
		.read_code = up_symbolizer_read_code,
		.code_ctx = &sym,
		.is_root = cfi ? up_cfi_is_root : NULL,
		.root_ctx = cfi,
		.cfi_lookup = cfi ? up_cfi_lookup_fn : NULL,
		.cfi_ctx = cfi,
	};
	run_err = sampler_run(target, memory, &sopts, &profile, &stats);
	profile.meta.duration_ns = (uint64_t)(stats.elapsed * 1e9);
	profile.meta.samples = stats.samples;
	profile.meta.truncated = stats.truncated;
	guard_stop(target);
	log_memory_stats(memory, &stats, cfi);
	up_memory_destroy(memory);
	backend->detach(target);
	if (run_err)
		fprintf(stderr, "uniprof: sampling stopped: %s; writing the %llu samples taken\n",
			run_err->message, (unsigned long long)stats.samples);

	wopts.per_vcpu = opts.per_vcpu;
	wopts.lines = opts.lines;
	err = up_symprofile_build(&profile, &sym, &symprofile);
	if (!err) {
		err = opts.writer->write(output_begin(&output), &symprofile, &wopts);
		up_symprofile_deinit(&symprofile);
	}
	{
		struct up_error *cerr = output_close(&output);

		if (err)
			up_error_destroy(cerr);
		else
			err = cerr;
	}
	if (err)
		rc = report(err);
	print_summary(&opts, &stats, cfi);
	up_cfi_destroy(cfi);
	if (run_err) {
		up_error_destroy(run_err);
		rc = 1;
	}
	up_profile_deinit(&profile);
	up_symbolizer_deinit(&sym);
	free_options(&opts);
	return rc;
}
