/*
 * Benchmark: symbolizing a large profile.
 *
 * A profile of 1,000,000 samples (20,000 distinct stacks, 8 frames each) over an ELF with
 * 50,000 functions is written as folded stacks, with plain names and with --inline --lines,
 * side by side with a baseline that names each sample address with libdwfl's
 * dwfl_module_addrname (no cache).  Prints medians of several runs and the ratios.
 * Usage: symbolize_throughput ELF
 */
#include <elfutils/libdwfl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../flamegraph/folded.h"
#include "../symbolize/symbolize.h"

#define SAMPLES 1000000
#define STACKS 20000
#define DEPTH 8
#define RUNS 5
#define BASELINE_ADDRS 2000

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

/* A random address inside a random function of tab. */
static uint64_t random_address(const struct up_symtab *tab, unsigned int *seed)
{
	const struct up_symbol *sym = &tab->syms[rand_r(seed) % tab->nr];

	return sym->start + (sym->size ? rand_r(seed) % sym->size : 0);
}

static double time_folded(const char *path, const struct up_symbolizer_options *opts,
			  const struct up_profile *p)
{
	struct up_folded_options fo = { .lines = opts->lines };
	struct up_symbolizer s;
	FILE *out = fopen("/dev/null", "w");
	double t0, t1;

	up_symbolizer_init(&s, opts);
	if (up_symbolizer_add_file(&s, path, 0, 0) || !out) {
		fprintf(stderr, "cannot load %s\n", path);
		exit(1);
	}
	t0 = now();
	if (up_write_folded(out, p, &s, &fo)) {
		fprintf(stderr, "write failed\n");
		exit(1);
	}
	t1 = now();
	fclose(out);
	up_symbolizer_deinit(&s);
	return t1 - t0;
}

static double time_dwfl(const char *path, const uint64_t *addrs, size_t n)
{
	static const Dwfl_Callbacks callbacks = {
		.find_elf = dwfl_build_id_find_elf,
		.find_debuginfo = dwfl_standard_find_debuginfo,
		.section_address = dwfl_offline_section_address,
	};
	Dwfl *dwfl = dwfl_begin(&callbacks);
	Dwfl_Module *mod;
	size_t named = 0;
	double t0, t1;

	mod = dwfl ? dwfl_report_offline(dwfl, "bench", path, -1) : NULL;
	if (!mod) {
		fprintf(stderr, "libdwfl cannot load %s\n", path);
		exit(1);
	}
	dwfl_report_end(dwfl, NULL, NULL);
	t0 = now();
	for (size_t i = 0; i < n; i++)
		named += dwfl_module_addrname(mod, addrs[i]) != NULL;
	t1 = now();
	dwfl_end(dwfl);
	if (named < n / 2)
		fprintf(stderr, "warning: libdwfl named only %zu of %zu addresses\n", named, n);
	return t1 - t0;
}

int main(int argc, char **argv)
{
	struct up_symbolizer_options plain = { .demangle = 1 };
	struct up_symbolizer_options dwarf = { .demangle = 1, .inline_frames = 1, .lines = 1 };
	struct up_symbolizer probe;
	struct up_profile p;
	uint64_t pcs[DEPTH], *baseline;
	double t_plain[RUNS], t_dwarf[RUNS], t_dwfl[RUNS], m_plain, m_dwarf, m_dwfl;
	unsigned int seed = 12345;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ELF\n", argv[0]);
		return 2;
	}
	up_symbolizer_init(&probe, NULL);
	if (up_symbolizer_add_file(&probe, argv[1], 0, 0)) {
		fprintf(stderr, "cannot load %s\n", argv[1]);
		return 1;
	}
	up_profile_init(&p);
	for (int i = 0; i < STACKS; i++) {
		for (int d = 0; d < DEPTH; d++)
			pcs[d] = random_address(&probe.files[0]->tab, &seed);
		up_profile_add(&p, 0, pcs, DEPTH, SAMPLES / STACKS);
	}
	baseline = malloc(BASELINE_ADDRS * sizeof(*baseline));
	for (size_t i = 0; i < BASELINE_ADDRS; i++) {
		const struct up_stack *st = p.stacks[rand_r(&seed) % p.nr_stacks];

		baseline[i] = st->pcs[rand_r(&seed) % st->depth];
	}
	for (int r = 0; r < RUNS; r++) {
		t_plain[r] = time_folded(argv[1], &plain, &p);
		t_dwarf[r] = time_folded(argv[1], &dwarf, &p);
		t_dwfl[r] = time_dwfl(argv[1], baseline, BASELINE_ADDRS);
	}
	m_plain = median(t_plain, RUNS);
	m_dwarf = median(t_dwarf, RUNS);
	m_dwfl = median(t_dwfl, RUNS) * ((double)SAMPLES * DEPTH / BASELINE_ADDRS);
	printf("ELF: %s, %zu functions; profile: %d samples, %zu distinct stacks of %d frames\n",
	       argv[1], probe.files[0]->tab.nr, SAMPLES, p.nr_stacks, DEPTH);
	printf("median of %d runs, whole profile to folded (%d sample addresses):\n", RUNS,
	       SAMPLES * DEPTH);
	printf("  uniprof, names only:        %8.3f s  %12.0f addresses/s\n", m_plain,
	       SAMPLES * DEPTH / m_plain);
	printf("  uniprof, --inline --lines:  %8.3f s  %12.0f addresses/s\n", m_dwarf,
	       SAMPLES * DEPTH / m_dwarf);
	printf("  dwfl_module_addrname each:  %8.3f s  %12.0f addresses/s (from %d addresses)\n",
	       m_dwfl, SAMPLES * DEPTH / m_dwfl, BASELINE_ADDRS);
	printf("ratio dwfl / uniprof: %.0fx (names), %.0fx (--inline --lines)\n", m_dwfl / m_plain,
	       m_dwfl / m_dwarf);
	free(baseline);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&probe);
	return 0;
}
