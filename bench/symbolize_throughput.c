/*
 * Benchmark: naming profile addresses, uniprof against the tools a user would pick instead.
 *
 * The ELF comes from bench/gen_many_functions.py: 50,000 small functions, each with an inlined
 * helper, in one compilation unit, built -O1 -g.  A synthetic profile over it has 20,000
 * random stacks of 8 frames and 1,000,000 samples.  Its distinct addresses, in the order the
 * profile first meets them (so no tool gets them sorted), are looked up as they are (not as
 * return addresses) by:
 *
 *   - uniprof's symbolizer (up_symbolizer_frames), names only, and with inline frames + lines;
 *   - libdwfl, one module reported once: dwfl_module_addrname for names; for inline frames and
 *     lines, dwfl_module_getsrc, then the scopes of the address in dwfl_module_addrdie's CU
 *     (dwarf_getscopes, then dwarf_getscopes_die on the innermost), as eu-addr2line -f -i does;
 *   - binutils addr2line in batch mode, one process given every address on stdin: -f -i for
 *     inline frames + lines, and -f for names (it has no names-only mode: it reads lines anyway,
 *     and -f alone names the innermost inlined function, not the symbol).
 *
 * Each tool's setup (loading the file, and the first address, which pays for the indexes built
 * on first use) is timed apart from the lookups of the other addresses.  libdwfl is slow here
 * (its symbol lookup scans the whole symbol table, dwarf_getscopes walks the whole CU at every
 * address), so its first run stops after a time budget and all its runs do that many addresses.
 * On a sample of addresses, the tools' function names (and, with inline frames, every frame's
 * file:line) are compared; disagreements are counted, not asserted.  Last, the whole profile is
 * written as folded stacks, where uniprof's per-address cache pays off.
 *
 * Prints medians of several runs and uniprof's speed-up over each tool.
 * Usage: symbolize_throughput ELF
 */
#define _GNU_SOURCE
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../writers/writer.h"
#include "../symbolize/symbolize.h"

#define SAMPLES 1000000
#define STACKS 20000
#define DEPTH 8
#define RUNS 5
/* libdwfl: runs, and the seconds its first run may take (the others do as many addresses). */
#define DWFL_RUNS 3
#define DWFL_BUDGET 4.0
/* An addr2line run longer than this is not repeated. */
#define SLOW_RUN 20.0
/* Addresses whose answers are compared across tools. */
#define CHECK 1000
#define MAX_CHAIN 16

/*
 * What a tool said of one address: the outermost function's name, and every frame outermost
 * first as "name (file:line)" joined by ';' (names only when the tool was not asked for lines).
 */
struct answer {
	char outer[128];
	char chain[512];
};

/* One tool's medians. */
struct row {
	const char *label;
	double setup;    /* load and the first address, seconds */
	double lookups;  /* the other done - 1 addresses, seconds */
	size_t done;     /* addresses per run */
	int runs;
	char note;       /* a footnote mark, or 0 */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), compare_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what)
{
	fprintf(stderr, "%s\n", what);
	exit(1);
}

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/*
 * Fill ret from n frames, innermost first or not; files and lines may be NULL (names only).
 * A chain too long for ret is cut.
 */
static void record(struct answer *ret, const char *const *names, const char *const *files,
		   const unsigned int *lines, size_t n, int innermost_first)
{
	const char *outer = n ? names[innermost_first ? n - 1 : 0] : NULL;
	size_t len = 0;

	snprintf(ret->outer, sizeof(ret->outer), "%s", outer ? outer : "??");
	ret->chain[0] = '\0';
	for (size_t k = 0; k < n; k++) {
		size_t j = innermost_first ? n - 1 - k : k;
		const char *name = names[j] ? names[j] : "??";
		int w;

		if (files)
			w = snprintf(ret->chain + len, sizeof(ret->chain) - len, "%s%s (%s:%u)",
				     k ? ";" : "", name, files[j] ? base_name(files[j]) : "??",
				     lines[j]);
		else
			w = snprintf(ret->chain + len, sizeof(ret->chain) - len, "%s%s",
				     k ? ";" : "", name);
		if (w < 0 || (size_t)w >= sizeof(ret->chain) - len)
			break;
		len += w;
	}
}

/* A random address inside a random function of tab. */
static uint64_t random_address(const struct up_symtab *tab, unsigned int *seed)
{
	const struct up_symbol *sym = &tab->syms[rand_r(seed) % tab->nr];

	return sym->start + (sym->size ? rand_r(seed) % sym->size : 0);
}

struct seen {
	uint64_t addr;
	size_t order;
};

static int compare_seen_addr(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int compare_seen_order(const void *a, const void *b)
{
	const struct seen *x = a, *y = b;

	return x->order < y->order ? -1 : x->order > y->order;
}

/* The distinct addresses of p, in the order of their first appearance; malloc'd. */
static uint64_t *distinct_addresses(const struct up_profile *p, size_t *ret_n)
{
	struct seen *all = malloc(p->nr_stacks * DEPTH * sizeof(*all));
	uint64_t *addrs;
	size_t n = 0, kept = 0;

	if (!all)
		die("out of memory");
	for (size_t i = 0; i < p->nr_stacks; i++) {
		for (uint32_t d = 0; d < p->stacks[i]->depth && d < DEPTH; d++) {
			all[n].addr = p->stacks[i]->pcs[d];
			all[n].order = n;
			n++;
		}
	}
	qsort(all, n, sizeof(*all), compare_seen_addr);
	for (size_t i = 0; i < n; i++) {
		if (!i || all[i].addr != all[kept - 1].addr)
			all[kept++] = all[i];
	}
	qsort(all, kept, sizeof(*all), compare_seen_order);
	addrs = malloc(kept * sizeof(*addrs));
	if (!addrs)
		die("out of memory");
	for (size_t i = 0; i < kept; i++)
		addrs[i] = all[i].addr;
	free(all);
	*ret_n = kept;
	return addrs;
}

static void uniprof_lookup(struct up_symbolizer *s, uint64_t addr, struct answer *ret)
{
	const char *names[MAX_CHAIN], *files[MAX_CHAIN];
	unsigned int lines[MAX_CHAIN];
	const struct up_frame *frames;
	size_t n = up_symbolizer_frames(s, addr, 0, &frames);

	if (!ret)
		return;
	n = n < MAX_CHAIN ? n : MAX_CHAIN;
	for (size_t k = 0; k < n; k++) {
		names[k] = frames[k].name;
		files[k] = frames[k].file;
		lines[k] = frames[k].line;
	}
	record(ret, names, s->opts.lines ? files : NULL, lines, n, 0);
}

/* One run of uniprof's symbolizer over addrs; answers for the first ncheck addresses. */
static void run_uniprof(const char *path, const struct up_symbolizer_options *opts,
			const uint64_t *addrs, size_t n, struct answer *answers, size_t ncheck,
			double *ret_setup, double *ret_lookups)
{
	struct up_symbolizer s;
	struct up_error *err;
	double t0, t1, t2;

	t0 = now();
	up_symbolizer_init(&s, opts);
	err = up_symbolizer_add_file(&s, path, 0, 0);
	if (err) {
		fprintf(stderr, "%s\n", err->message);
		exit(1);
	}
	uniprof_lookup(&s, addrs[0], ncheck ? &answers[0] : NULL);
	t1 = now();
	for (size_t i = 1; i < n; i++)
		uniprof_lookup(&s, addrs[i], i < ncheck ? &answers[i] : NULL);
	t2 = now();
	up_symbolizer_deinit(&s);
	*ret_setup = t1 - t0;
	*ret_lookups = t2 - t1;
}

/* As eu-addr2line names a DIE: the linkage name if any, else the name, through origins. */
static const char *die_name(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	const char *name = NULL;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &attr))
		name = dwarf_formstring(&attr);
	if (!name && dwarf_attr_integrate(die, DW_AT_name, &attr))
		name = dwarf_formstring(&attr);
	return name;
}

static void dwfl_lookup_name(Dwfl_Module *mod, uint64_t addr, struct answer *ret)
{
	const char *name = dwfl_module_addrname(mod, addr);

	if (ret)
		record(ret, &name, NULL, NULL, 1, 0);
}

/*
 * Frames and lines the way eu-addr2line -f -i finds them: addr's line from the module's line
 * table; the innermost scope from dwarf_getscopes over the CU, and then its own nesting from
 * dwarf_getscopes_die (dwarf_getscopes lists an inlined instance's abstract origin too); each
 * inlined instance's call site gives the line in the frame it was inlined into.
 */
static void dwfl_lookup_inline(Dwfl_Module *mod, uint64_t addr, struct answer *ret)
{
	const char *names[MAX_CHAIN], *files[MAX_CHAIN];
	unsigned int lines[MAX_CHAIN];
	Dwfl_Line *line = dwfl_module_getsrc(mod, addr);
	Dwarf_Die *cu, *scopes = NULL, innermost;
	Dwarf_Files *srcfiles;
	Dwarf_Addr bias = 0, line_addr;
	int nscopes, lineno = 0;
	size_t n = 0;

	files[0] = line ? dwfl_lineinfo(line, &line_addr, &lineno, NULL, NULL, NULL) : NULL;
	lines[0] = lineno > 0 ? lineno : 0;
	cu = dwfl_module_addrdie(mod, addr, &bias);
	nscopes = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : -1;
	if (nscopes > 0) {
		Dwarf_Off off = dwarf_dieoffset(&scopes[0]);

		free(scopes);
		scopes = NULL;
		nscopes = -1;
		if (dwarf_offdie(dwfl_module_getdwarf(mod, &bias), off, &innermost))
			nscopes = dwarf_getscopes_die(&innermost, &scopes);
	}
	if (!cu || dwarf_getsrcfiles(cu, &srcfiles, NULL))
		srcfiles = NULL;
	for (int i = 0; i < nscopes && n < MAX_CHAIN; i++) {
		int tag = dwarf_tag(&scopes[i]);
		Dwarf_Attribute attr;
		Dwarf_Word w;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		names[n++] = die_name(&scopes[i]);
		if (tag == DW_TAG_subprogram || n == MAX_CHAIN)
			break;
		files[n] = NULL;
		lines[n] = 0;
		if (srcfiles &&
		    !dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &w))
			files[n] = dwarf_filesrc(srcfiles, w, NULL, NULL);
		if (!dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &w))
			lines[n] = w;
	}
	free(scopes);
	if (ret)
		record(ret, names, files, lines, n, 1);
}

/*
 * One run of libdwfl with one module, reported once, over addrs[0..*n).  With budget, the run
 * stops once it has taken that many seconds and *n says how many addresses it did.
 */
static void run_dwfl(const char *path, int with_inline, const uint64_t *addrs, size_t *n,
		     double budget, struct answer *answers, size_t ncheck, double *ret_setup,
		     double *ret_lookups)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
	};
	void (*lookup)(Dwfl_Module *, uint64_t, struct answer *) =
		with_inline ? dwfl_lookup_inline : dwfl_lookup_name;
	Dwfl *dwfl;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	double t0, t1, t2;
	size_t i;

	t0 = now();
	dwfl = dwfl_begin(&callbacks);
	mod = dwfl ? dwfl_report_offline(dwfl, "bench", path, -1) : NULL;
	if (!mod || dwfl_report_end(dwfl, NULL, NULL))
		die("libdwfl cannot load the ELF");
	/* Offline, a PIE is placed above a red zone, not at its link addresses. */
	if (!dwfl_module_getelf(mod, &bias))
		die("libdwfl cannot read the ELF");
	lookup(mod, addrs[0] + bias, ncheck ? &answers[0] : NULL);
	t1 = now();
	for (i = 1; i < *n; i++) {
		lookup(mod, addrs[i] + bias, i < ncheck ? &answers[i] : NULL);
		if (budget && now() - t1 > budget) {
			i++;
			break;
		}
	}
	t2 = now();
	dwfl_end(dwfl);
	*n = i;
	*ret_setup = t1 - t0;
	*ret_lookups = t2 - t1;
}

/*
 * A file holding addrs[0..n) in hex, one a line, for addr2line's stdin.  A file, not a pipe we
 * write: addr2line answers each line as it reads it, so we would have to write and read at
 * once; from a file, addr2line reads its stdin all the same.
 */
static int address_file(const uint64_t *addrs, size_t n)
{
	int fd = memfd_create("addresses", MFD_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(dup(fd), "w") : NULL;

	if (!f)
		die("cannot create the address file");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "0x%" PRIx64 "\n", addrs[i]);
	if (fclose(f))
		die("cannot write the address file");
	return fd;
}

/*
 * One addr2line run, its stdin the address file fd.  Returns the seconds from starting the
 * process to reading the end of its output and reaping it, and the output in *ret_out
 * (malloc'd, NUL-terminated); -1 with errno ENOENT when there is no addr2line in PATH.
 */
static double run_addr2line(const char *path, int with_inline, int fd, char **ret_out)
{
	char *argv[] = { (char *)"addr2line", (char *)"-a", (char *)"-f", (char *)"-e",
			 (char *)path, with_inline ? (char *)"-i" : NULL, NULL };
	posix_spawn_file_actions_t actions;
	size_t len = 0, cap = 1 << 20;
	char *out = malloc(cap);
	int pipefd[2], err, status;
	double t0, t1;
	ssize_t got;
	pid_t pid;

	if (!out || lseek(fd, 0, SEEK_SET) || pipe2(pipefd, O_CLOEXEC))
		die("cannot set up addr2line's input and output");
	posix_spawn_file_actions_init(&actions);
	posix_spawn_file_actions_adddup2(&actions, fd, 0);
	posix_spawn_file_actions_adddup2(&actions, pipefd[1], 1);
	t0 = now();
	err = posix_spawnp(&pid, "addr2line", &actions, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&actions);
	close(pipefd[1]);
	if (err) {
		close(pipefd[0]);
		free(out);
		errno = err;
		return -1;
	}
	while ((got = read(pipefd[0], out + len, cap - len - 1)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			die("cannot read addr2line's output");
		}
		len += got;
		if (cap - len < 2 && !(out = realloc(out, cap *= 2)))
			die("out of memory");
	}
	close(pipefd[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status))
		fprintf(stderr, "warning: addr2line did not exit cleanly\n");
	t1 = now();
	out[len] = '\0';
	*ret_out = out;
	return t1 - t0;
}

/* "0x" and hex digits: the address line that -a prints before each address's answer. */
static int is_address_line(const char *s, uint64_t *ret)
{
	char *end;

	if (s[0] != '0' || s[1] != 'x' || !s[2])
		return 0;
	*ret = strtoull(s + 2, &end, 16);
	return !*end;
}

/*
 * Read addr2line -a -f [-i] output in place.  With -a, every answer starts with the address
 * in hex on its own line; then come pairs of lines, a function and its file:line, innermost
 * first.  No pair's line can pass for an address line: names do not start with a digit and
 * locations hold a ':'.  Each address line must be the next address fed, so a lost or extra
 * line shows.  Returns how many answers were found in order (n when all is well).
 */
static size_t parse_addr2line(char *out, const uint64_t *addrs, size_t n,
			      struct answer *answers, size_t ncheck)
{
	const char *names[MAX_CHAIN], *files[MAX_CHAIN];
	unsigned int lines[MAX_CHAIN];
	size_t found = 0, nf = 0;
	char *line = out, *fn = NULL;

	while (*line) {
		char *eol = strchr(line, '\n'), *colon, *paren;
		uint64_t addr;

		if (eol)
			*eol = '\0';
		if (is_address_line(line, &addr)) {
			if (found && found - 1 < ncheck)
				record(&answers[found - 1], names, files, lines, nf, 1);
			if (found == n || addr != addrs[found])
				return found;
			found++;
			nf = 0;
			fn = NULL;
		} else if (!found) {
			return 0;
		} else if (!fn) {
			fn = line;
		} else {
			/* "path:line", perhaps followed by " (discriminator N)". */
			paren = strstr(line, " (");
			if (paren)
				*paren = '\0';
			colon = strrchr(line, ':');
			if (colon)
				*colon = '\0';
			if (nf < MAX_CHAIN) {
				names[nf] = fn;
				files[nf] = line;
				lines[nf] = colon ? strtoul(colon + 1, NULL, 10) : 0;
				nf++;
			}
			fn = NULL;
		}
		if (!eol)
			break;
		line = eol + 1;
	}
	if (found && found - 1 < ncheck)
		record(&answers[found - 1], names, files, lines, nf, 1);
	return found;
}

/*
 * addr2line over addrs: RUNS runs (one if a run is slower than SLOW_RUN) with every address,
 * and as many with the first address only, which is taken as its setup.  Returns 0, or -1
 * when there is no addr2line.
 */
static int bench_addr2line(const char *path, int with_inline, const uint64_t *addrs, size_t n,
			   struct answer *answers, size_t ncheck, struct row *ret)
{
	int fd_all = address_file(addrs, n), fd_one = address_file(addrs, 1), runs = RUNS;
	double whole[RUNS], setup[RUNS];
	char *out;

	for (int r = 0; r < runs; r++) {
		setup[r] = run_addr2line(path, with_inline, fd_one, &out);
		if (setup[r] < 0) {
			close(fd_all);
			close(fd_one);
			return -1;
		}
		free(out);
		whole[r] = run_addr2line(path, with_inline, fd_all, &out);
		if (whole[r] < 0)
			die("addr2line went away");
		if (r == 0) {
			size_t found = parse_addr2line(out, addrs, n, answers, ncheck);

			if (found != n)
				fprintf(stderr, "warning: addr2line's output understood for %zu "
					"of %zu addresses\n", found, n);
			if (whole[0] > SLOW_RUN)
				runs = 1;
		}
		free(out);
	}
	close(fd_all);
	close(fd_one);
	ret->setup = median(setup, runs);
	ret->lookups = median(whole, runs) - ret->setup;
	ret->done = n;
	ret->runs = runs;
	ret->note = 'd';
	return 0;
}

static void bench_uniprof(const char *path, const struct up_symbolizer_options *opts,
			  const uint64_t *addrs, size_t n, struct answer *answers, size_t ncheck,
			  struct row *ret)
{
	double setup[RUNS], lookups[RUNS];

	for (int r = 0; r < RUNS; r++)
		run_uniprof(path, opts, addrs, n, answers, ncheck, &setup[r], &lookups[r]);
	ret->setup = median(setup, RUNS);
	ret->lookups = median(lookups, RUNS);
	ret->done = n;
	ret->runs = RUNS;
}

static void bench_dwfl(const char *path, int with_inline, const uint64_t *addrs, size_t n,
		       struct answer *answers, size_t ncheck, struct row *ret)
{
	double setup[DWFL_RUNS], lookups[DWFL_RUNS];
	size_t done = n;

	for (int r = 0; r < DWFL_RUNS; r++)
		run_dwfl(path, with_inline, addrs, &done, r ? 0 : DWFL_BUDGET, answers, ncheck,
			 &setup[r], &lookups[r]);
	ret->setup = median(setup, DWFL_RUNS);
	ret->lookups = median(lookups, DWFL_RUNS);
	ret->done = done;
	ret->runs = DWFL_RUNS;
	ret->note = done < n ? 'e' : 0;
}

static double rate(const struct row *r)
{
	return (r->done - 1) / r->lookups;
}

/* Setup and all n addresses; extrapolated from the rate when the row did fewer. */
static double total(const struct row *r, size_t n)
{
	return r->setup + (n - 1) / rate(r);
}

static void print_row(const struct row *r, const struct row *base, size_t n)
{
	char mark[4] = "";

	if (r->note)
		snprintf(mark, sizeof(mark), "(%c)", r->note);
	printf("  %-32s %7zu %4d %8.3f %9.3f %12.0f %9.3f%s", r->label, r->done, r->runs,
	       r->setup, r->lookups, rate(r), total(r, n), mark);
	if (base != r)
		printf("%*s %8.1fx %7.1fx", 3 - (int)strlen(mark), "", rate(base) / rate(r),
		       total(r, n) / total(base, n));
	printf("\n");
}

/*
 * Print how many of the first n answers differ from uniprof's, on the outermost name or on
 * the whole chain, and the first that does.
 */
static void print_check(const char *what, const struct answer *ref, const struct answer *other,
			size_t n, int chain, const uint64_t *addrs)
{
	size_t bad = 0, first = 0;

	for (size_t i = 0; i < n; i++) {
		if (strcmp(chain ? ref[i].chain : ref[i].outer,
			   chain ? other[i].chain : other[i].outer) && !bad++)
			first = i;
	}
	printf("  %-44s %4zu of %4zu", what, bad, n);
	if (bad)
		printf(", first at 0x%" PRIx64 ": '%s', uniprof '%s'", addrs[first],
		       chain ? other[first].chain : other[first].outer,
		       chain ? ref[first].chain : ref[first].outer);
	printf("\n");
}

static double time_folded(const char *path, const struct up_symbolizer_options *opts,
			  const struct up_profile *p)
{
	struct up_writer_options fo = { .lines = opts->lines };
	struct up_symprofile sp;
	struct up_symbolizer s;
	FILE *out = fopen("/dev/null", "w");
	double t0, t1;

	up_symbolizer_init(&s, opts);
	if (up_symbolizer_add_file(&s, path, 0, 0) || !out)
		die("cannot load the ELF");
	t0 = now();
	if (up_symprofile_build(p, &s, &sp) || up_writer_folded.write(out, &sp, &fo))
		die("write failed");
	up_symprofile_deinit(&sp);
	t1 = now();
	fclose(out);
	up_symbolizer_deinit(&s);
	return t1 - t0;
}

/* Answers for the first addresses, one array per tool, for the check. */
struct answers {
	struct answer *uni_names, *uni_inline, *dwfl_names, *dwfl_inline, *a2l_inline;
};

struct results {
	size_t n, ncheck;
	struct row uni_names, uni_inline, dwfl_names, dwfl_inline, a2l_names, a2l_inline;
	int have_a2l;
	struct answers ans;
	double folded_names, folded_inline;  /* whole profile, medians */
};

static void print_results(const struct results *res, const uint64_t *addrs)
{
	const struct answers *a = &res->ans;
	size_t n = res->n;

	printf("per distinct address (medians; setup = load + the first address, lookups = the "
	       "others):\n");
	printf("  %-32s %7s %4s %8s %9s %12s %12s %17s\n", "", "", "", "", "", "", "",
	       "uniprof faster");
	printf("  %-32s %7s %4s %8s %9s %12s %12s %9s %7s\n", "", "addrs", "runs", "setup s",
	       "lookups s", "lookups/s", "N total s", "lookups", "total");
	printf("  names\n");
	print_row(&res->uni_names, &res->uni_names, n);
	print_row(&res->dwfl_names, &res->uni_names, n);
	if (res->have_a2l)
		print_row(&res->a2l_names, &res->uni_names, n);
	printf("  inline frames + lines\n");
	print_row(&res->uni_inline, &res->uni_inline, n);
	print_row(&res->dwfl_inline, &res->uni_inline, n);
	if (res->have_a2l)
		print_row(&res->a2l_inline, &res->uni_inline, n);
	else
		printf("  addr2line: not found in PATH, not compared\n");
	printf("  N total: setup + N lookups; uniprof faster: lookups/s and N total, uniprof's "
	       "against the tool's\n");
	if (res->dwfl_names.note || res->dwfl_inline.note)
		printf("  (e) runs of the first addrs addresses only (what a %.0f s budget "
		       "allowed), total extrapolated\n", DWFL_BUDGET);
	if (res->have_a2l)
		printf("  (d) setup = a run given the first address only, lookups = a whole run "
		       "minus that; -f alone\n      names the innermost inlined function and reads "
		       "lines too (addr2line has no names-only mode)\n");

	printf("check, answers that differ from uniprof's, among the first addresses:\n");
	print_check("names, libdwfl", a->uni_names, a->dwfl_names,
		    res->dwfl_names.done < res->ncheck ? res->dwfl_names.done : res->ncheck, 0,
		    addrs);
	if (res->have_a2l)
		print_check("names, addr2line -i (outermost)", a->uni_names, a->a2l_inline,
			    res->ncheck, 0, addrs);
	print_check("inline frames with file:line, libdwfl", a->uni_inline, a->dwfl_inline,
		    res->dwfl_inline.done < res->ncheck ? res->dwfl_inline.done : res->ncheck, 1,
		    addrs);
	if (res->have_a2l)
		print_check("inline frames with file:line, addr2line -i", a->uni_inline,
			    a->a2l_inline, res->ncheck, 1, addrs);

	printf("whole profile to folded by uniprof (%d samples of %d frames, cached per address), "
	       "medians of %d runs:\n", SAMPLES, DEPTH, RUNS);
	printf("  names only:        %8.3f s  %12.0f sample addresses/s\n", res->folded_names,
	       SAMPLES * DEPTH / res->folded_names);
	printf("  --inline --lines:  %8.3f s  %12.0f sample addresses/s\n", res->folded_inline,
	       SAMPLES * DEPTH / res->folded_inline);
}

static struct answer *new_answers(size_t n)
{
	struct answer *a = calloc(n ? n : 1, sizeof(*a));

	if (!a)
		die("out of memory");
	return a;
}

int main(int argc, char **argv)
{
	struct up_symbolizer_options plain = { .demangle = 1 };
	struct up_symbolizer_options dwarf = { .demangle = 1, .inline_frames = 1, .lines = 1 };
	struct results res = {
		.uni_names = { "uniprof" },
		.uni_inline = { "uniprof --inline --lines" },
		.dwfl_names = { "libdwfl dwfl_module_addrname" },
		.dwfl_inline = { "libdwfl getsrc + getscopes" },
		.a2l_names = { "addr2line -a -f" },
		.a2l_inline = { "addr2line -a -f -i" },
	};
	struct answers *a = &res.ans;
	struct up_symbolizer probe;
	struct up_profile p;
	uint64_t pcs[DEPTH], *addrs;
	double t_names[RUNS], t_inline[RUNS];
	unsigned int seed = 12345;
	size_t n, ncheck;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ELF\n", argv[0]);
		return 2;
	}
	up_symbolizer_init(&probe, NULL);
	if (up_symbolizer_add_file(&probe, argv[1], 0, 0))
		die("cannot load the ELF");
	up_profile_init(&p);
	for (int i = 0; i < STACKS; i++) {
		for (int d = 0; d < DEPTH; d++)
			pcs[d] = random_address(&probe.files[0]->tab, &seed);
		if (up_profile_add(&p, 0, pcs, DEPTH, 0, SAMPLES / STACKS))
			die("out of memory");
	}
	addrs = distinct_addresses(&p, &n);
	ncheck = n < CHECK ? n : CHECK;
	res.n = n;
	res.ncheck = ncheck;
	a->uni_names = new_answers(ncheck);
	a->uni_inline = new_answers(ncheck);
	a->dwfl_names = new_answers(ncheck);
	a->dwfl_inline = new_answers(ncheck);
	a->a2l_inline = new_answers(ncheck);
	printf("ELF: %s, %zu functions in its symbol table\n", argv[1], probe.files[0]->tab.nr);
	printf("N = %zu distinct addresses, those of a profile of %zu stacks x %d frames, in "
	       "profile order\n", n, p.nr_stacks, DEPTH);
	fflush(stdout);

	bench_uniprof(argv[1], &plain, addrs, n, a->uni_names, ncheck, &res.uni_names);
	bench_uniprof(argv[1], &dwarf, addrs, n, a->uni_inline, ncheck, &res.uni_inline);
	bench_dwfl(argv[1], 0, addrs, n, a->dwfl_names, ncheck, &res.dwfl_names);
	bench_dwfl(argv[1], 1, addrs, n, a->dwfl_inline, ncheck, &res.dwfl_inline);
	res.have_a2l = !bench_addr2line(argv[1], 0, addrs, n, NULL, 0, &res.a2l_names) &&
		       !bench_addr2line(argv[1], 1, addrs, n, a->a2l_inline, ncheck,
					&res.a2l_inline);
	for (int r = 0; r < RUNS; r++) {
		t_names[r] = time_folded(argv[1], &plain, &p);
		t_inline[r] = time_folded(argv[1], &dwarf, &p);
	}
	res.folded_names = median(t_names, RUNS);
	res.folded_inline = median(t_inline, RUNS);
	print_results(&res, addrs);

	free(a->uni_names);
	free(a->uni_inline);
	free(a->dwfl_names);
	free(a->dwfl_inline);
	free(a->a2l_inline);
	free(addrs);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&probe);
	return 0;
}
