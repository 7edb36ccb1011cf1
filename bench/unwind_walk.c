/*
 * Benchmark: the unwinders' own cost per frame, guest memory being a plain array (no memory
 * layer, no page walks): a real x86_64 stack without frame pointers walked through its
 * .eh_frame by cfi (tests/unit/data/nofp_example.c's snapshot of itself: 7 frames through
 * glibc's start code, rows from libdw, cached after the first walk), and a chain of 20 frame
 * records walked by fp.  Prints ns per walk and per frame, best of five rounds.
 * Numbers only: nothing here asserts.
 *
 * Usage: unwind_walk BUILD_DIR   (after make unit: it reads BUILD_DIR/tests/data/nofp_example*)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../arch/x86_64/x86_64.h"
#include "../unwind/unwinder.h"
#include "../util/bytes.h"

#define ROUNDS 5
#define WALKS 200000
#define FP_FRAMES 20

struct memory {
	uint64_t base;
	uint8_t bytes[1 << 14];
	size_t size;
};

static struct up_error *read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct memory *m = ctx;

	if (addr < m->base || len > m->size || addr - m->base > m->size - len)
		return up_error_fault(addr, "unmapped");
	memcpy(buf, m->bytes + (addr - m->base), len);
	return NULL;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int load_snapshot(const char *path, struct memory *m, struct up_regs *regs)
{
	FILE *f = fopen(path, "r");
	char line[512];

	if (!f)
		return -1;
	memset(regs, 0, sizeof(*regs));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr, value;
		char hex[200];
		int n;

		if (sscanf(line, "reg %d %llx", &n, &value) == 2 && n >= 0 && n < X86_64_NR_GPRS) {
			up_regs_set_gpr(regs, (unsigned int)n, value);
		} else if (sscanf(line, "stack %llx %199s", &addr, hex) == 2 &&
			   strlen(hex) == 128 && m->size + 64 <= sizeof(m->bytes)) {
			if (!m->size)
				m->base = addr;
			for (int i = 0; i < 64; i++)
				m->bytes[m->size + i] = (uint8_t)(up_hexval(hex[2 * i]) << 4 |
								  up_hexval(hex[2 * i + 1]));
			m->size += 64;
		}
	}
	fclose(f);
	regs->pc = regs->gpr[X86_64_RIP];
	regs->sp = regs->gpr[X86_64_RSP];
	regs->fp = regs->gpr[X86_64_RBP];
	return m->size ? 0 : -1;
}

/* Best of ROUNDS: ns per walk of unwinder over env from regs; *ret_depth: frames per walk. */
static double time_walks(const struct up_unwinder *unwinder, const struct up_unwind_env *env,
			 const struct up_regs *regs, size_t *ret_depth)
{
	double best = 1e18;
	uint64_t pcs[64];
	struct up_walk w;

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = now_ns();

		for (int i = 0; i < WALKS; i++)
			up_error_destroy(unwinder->walk(env, regs, pcs, 64, &w));
		if ((now_ns() - t0) / WALKS < best)
			best = (now_ns() - t0) / WALKS;
	}
	*ret_depth = w.depth;
	return best;
}

int main(int argc, char **argv)
{
	static struct memory snap, chain;
	char elf[1024], path[1100];
	struct up_regs regs, fp_regs = { 0 };
	struct up_cfi *cfi;
	unsigned int tables;
	size_t depth;
	double ns;
	struct up_unwind_env env = { .walk = { .read = read_mem }, .arch = &up_arch_x86_64 };

	if (argc != 2) {
		fprintf(stderr, "usage: %s BUILD_DIR\n", argv[0]);
		return 2;
	}
	snprintf(elf, sizeof(elf), "%s/tests/data/nofp_example", argv[1]);
	snprintf(path, sizeof(path), "%s.snap", elf);
	if (load_snapshot(path, &snap, &regs) || up_cfi_create(&up_arch_x86_64, &cfi) ||
	    up_cfi_add_file(cfi, elf, 0, &tables) || !tables) {
		fprintf(stderr, "unwind_walk: cannot use %s and its snapshot (run make unit)\n", elf);
		return 1;
	}
	env.walk.read_ctx = &snap;
	env.cfi_lookup = up_cfi_lookup_fn;
	env.cfi_ctx = cfi;
	env.walk.is_root = up_cfi_is_root;
	env.walk.root_ctx = cfi;
	ns = time_walks(&up_unwinder_cfi, &env, &regs, &depth);
	printf("unwinders' own cost (memory a plain array, best of %d x %d walks):\n", ROUNDS, WALKS);
	printf("  cfi  %2zu frames (real x86_64 stack, .eh_frame): %7.1f ns per walk, %5.1f ns per frame\n",
	       depth, ns, ns / depth);
	ns = time_walks(&up_unwinder_auto, &env, &regs, &depth);
	printf("  auto %2zu frames (same):                         %7.1f ns per walk, %5.1f ns per frame\n",
	       depth, ns, ns / depth);

	/* A chain of FP_FRAMES records, 32 bytes apart, the last one's saved rbp null. */
	chain.base = 0xffffc90000010000ULL;
	chain.size = 4096;
	for (int i = 0; i < FP_FRAMES; i++) {
		uint8_t *rec = chain.bytes + 0x100 + 32 * i;
		uint64_t next = i == FP_FRAMES - 2 ? 0 : chain.base + 0x100 + 32 * (i + 1);

		for (int b = 0; b < 8; b++) {
			rec[b] = (uint8_t)(next >> (8 * b));
			rec[8 + b] = (uint8_t)((0xffffffff81000000ULL + 0x40 * i) >> (8 * b));
		}
	}
	fp_regs.pc = 0xffffffff81001000ULL;
	fp_regs.sp = chain.base + 0xf0;
	fp_regs.fp = chain.base + 0x100;
	env.walk.read_ctx = &chain;
	env.cfi_lookup = NULL;
	env.walk.is_root = NULL;
	ns = time_walks(&up_unwinder_fp, &env, &fp_regs, &depth);
	printf("  fp   %2zu frames (frame records):                %7.1f ns per walk, %5.1f ns per frame\n",
	       depth, ns, ns / depth);
	up_cfi_destroy(cfi);
	return 0;
}
