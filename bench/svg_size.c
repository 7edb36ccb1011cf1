/*
 * Benchmark: the SVG flame graph writer on a profile of 100,000 distinct stacks.
 *
 * A synthetic guest of 5,000 functions, each calling 4 others (fixed call sites, so return
 * addresses repeat as in a real guest); stacks are random walks 8 to 24 frames deep from one
 * of 4 roots, with the leaf at a random address in its function.  Two sample distributions
 * over the same 100,000 stacks:
 *
 *   - skewed: the i-th stack gets 1 + 20000 / (i + 1) samples (a few hot paths, a long tail);
 *   - flat: one sample each (the worst case for leaving narrow frames out).
 *
 * For each: the frames of the merged tree and those drawn (the rest are narrower than 0.1 px),
 * the median time of the writer (tree, layout and text, into memory) over RUNS runs, and the
 * file's size; the folded writer on the same profile is timed beside it.  Names are resolved
 * once, before timing (up_symprofile_build), as uniprof does before any writer runs.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../flamegraph/tree.h"
#include "../writers/writer.h"

#define FUNCTIONS 5000
#define CALLEES 4
#define ROOTS 4
#define STACKS 100000
#define MIN_DEPTH 8
#define MAX_DEPTH 24
#define RUNS 7
#define BASE 0x100000ull
#define FUNC_SIZE 0x100

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), compare_double);
	return v[n / 2];
}

static uint32_t callee(uint32_t f, uint32_t j)
{
	uint64_t h = (uint64_t)f * 0x9e3779b97f4a7c15ull + j * 0xbf58476d1ce4e5b9ull;

	h ^= h >> 31;
	return (uint32_t)(h % FUNCTIONS);
}

static void die(const char *what, struct up_error *err)
{
	fprintf(stderr, "svg_size: %s: %s\n", what, err ? err->message : "failed");
	exit(1);
}

static void fake_symbols(struct up_symbolizer *s)
{
	struct up_symfile *f = calloc(1, sizeof(*f));
	char name[64];

	if (!f)
		die("allocating", NULL);
	up_symbolizer_init(s, NULL);
	for (uint32_t i = 0; i < FUNCTIONS; i++) {
		struct up_error *err;

		snprintf(name, sizeof(name), "subsystem%u_function%u_%s", i % 37, i,
			 i % 3 ? "work" : "handle_request");
		err = up_symtab_add(&f->tab, BASE + (uint64_t)i * FUNC_SIZE, FUNC_SIZE, name, 4);
		if (err)
			die("adding symbols", err);
	}
	up_symtab_finish(&f->tab);
	s->files = calloc(1, sizeof(*s->files));
	if (!s->files)
		die("allocating", NULL);
	s->files[0] = f;
	s->nr_files = 1;
}

/* STACKS distinct stacks, leaf first; counts by the distribution. */
static void fake_profile(struct up_profile *p, int flat)
{
	unsigned int seed = 42;
	uint64_t pcs[MAX_DEPTH];

	up_profile_init(p);
	while (p->nr_stacks < STACKS) {
		uint32_t depth = MIN_DEPTH + (uint32_t)rand_r(&seed) % (MAX_DEPTH - MIN_DEPTH + 1);
		uint32_t f = (uint32_t)rand_r(&seed) % ROOTS, frames[MAX_DEPTH], sites[MAX_DEPTH];
		uint64_t count = flat ? 1 : 1 + 20000 / (p->nr_stacks + 1);
		struct up_error *err;

		for (uint32_t d = 0; d < depth; d++) {
			sites[d] = (uint32_t)rand_r(&seed) % CALLEES;
			frames[d] = f;
			f = callee(f, sites[d]);
		}
		/* Root first above; the walker stores leaf first, callers by return address. */
		for (uint32_t d = 0; d < depth; d++) {
			uint32_t k = depth - 1 - d;

			pcs[d] = BASE + (uint64_t)frames[k] * FUNC_SIZE +
				 (d ? 0x10 + 8 * sites[k] : (uint64_t)rand_r(&seed) % FUNC_SIZE);
		}
		err = up_profile_add(p, 0, pcs, depth, 0, count);
		if (err)
			die("adding stacks", err);
	}
}

/* Median seconds of writer w on sp; its output's size in *size. */
static double time_writer(const struct up_writer *w, const struct up_symprofile *sp, size_t *size)
{
	struct up_writer_options opts = { 0 };
	double times[RUNS];

	for (int r = 0; r < RUNS; r++) {
		char *text = NULL;
		size_t len = 0;
		FILE *out = open_memstream(&text, &len);
		struct up_error *err;
		double t0;

		if (!out)
			die("open_memstream", NULL);
		t0 = now();
		err = w->write(out, sp, &opts);
		fclose(out);
		times[r] = now() - t0;
		if (err)
			die(w->name, err);
		*size = len;
		free(text);
	}
	return median(times, RUNS);
}

static void run(struct up_symbolizer *s, int flat)
{
	struct up_writer_options opts = { 0 };
	struct up_symprofile sp;
	struct up_profile p;
	struct up_tree tree;
	struct up_error *err;
	size_t svg_size, folded_size, drawn = 0;
	double svg_time, folded_time;

	fake_profile(&p, flat);
	err = up_symprofile_build(&p, s, &sp);
	if (err)
		die("symbolizing", err);
	err = up_tree_build(&sp, &opts, &tree);
	if (err)
		die("building the tree", err);
	/* The writer's rule: drawn when at least a tenth of a pixel of 1200 wide. */
	for (size_t n = 0; n < tree.nr_nodes; n++)
		drawn += (double)tree.nodes[n].count * 12000 >= (double)tree.total;
	svg_time = time_writer(&up_writer_svg, &sp, &svg_size);
	folded_time = time_writer(&up_writer_folded, &sp, &folded_size);
	printf("%s: %zu stacks, %" PRIu64 " samples, %zu distinct addresses\n",
	       flat ? "flat (1 sample per stack)" : "skewed (1 + 20000/i samples)",
	       sp.nr_stacks, sp.total, sp.nr_locs);
	printf("  svg:    %7.1f ms, %8.1f KiB, %zu frames drawn of %zu in the tree (%.0f bytes each)\n",
	       svg_time * 1e3, svg_size / 1024.0, drawn, tree.nr_nodes,
	       drawn ? (double)svg_size / (double)drawn : 0.0);
	printf("  folded: %7.1f ms, %8.1f KiB\n", folded_time * 1e3, folded_size / 1024.0);
	up_tree_deinit(&tree);
	up_symprofile_deinit(&sp);
	up_profile_deinit(&p);
}

int main(void)
{
	struct up_symbolizer s;

	fake_symbols(&s);
	printf("svg_size: %d functions, stacks %d-%d deep, writers timed into memory, median of %d runs\n",
	       FUNCTIONS, MIN_DEPTH, MAX_DEPTH, RUNS);
	run(&s, 0);
	run(&s, 1);
	up_symbolizer_deinit(&s);
	return 0;
}
