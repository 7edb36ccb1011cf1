/*
 * The ORC unwinder over data recorded from Debian's kernel (tests/recorded/linux-orc.rec,
 * written by tests/recorded/capture_orc.py): for each stop, the registers, the stack bytes from
 * rsp up and the kernel's own ORC entries (only those a stack scan says the walk may need, so
 * the file stays small).  Each walk must reach the syscall entry, complete, and its frames,
 * named by the recorded symbols (return addresses by the byte before them), must be the chain
 * recorded.  Run from the repository root or below it.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../arch/x86_64/x86_64.h"
#include "../../unwind/unwinder.h"
#include "fake_memory.h"

#define MAX_ORC 512
#define MAX_SYMS 64
#define MAX_STACK 4096
#define MAX_EXPECT 16

struct sample {
	uint64_t pc, sp, bp;
	uint8_t stack[MAX_STACK];
	size_t stack_len;
	uint64_t ips[MAX_ORC];
	uint8_t raw[MAX_ORC][6];
	size_t nr_orc;
	struct { uint64_t start, size; char name[64]; } syms[MAX_SYMS];
	size_t nr_syms;
	char expect[MAX_EXPECT][64];
	size_t nr_expect;
};

static struct sample samples[8];
static size_t nr_samples;
static unsigned int major, minor;

static FILE *open_data(const char *file)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];

	if (!getcwd(dir, sizeof(dir)))
		return NULL;
	for (;;) {
		char *slash;
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/recorded/%s", dir, file);
		f = fopen(path, "r");
		if (f)
			return f;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return NULL;
		*slash = '\0';
	}
}

static void unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned int b;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
}

static int load(void **state)
{
	char line[512];
	FILE *f = open_data("linux-orc.rec");
	struct sample *s = NULL;

	(void)state;
	if (!f)
		fail_msg("tests/recorded/linux-orc.rec: %s (capture it with "
			 "tests/recorded/capture_orc.py)", strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		unsigned long long a, b, c;
		char word[16], text[300];

		if (line[0] == '#')
			continue;
		if (sscanf(line, "release %u.%u", &major, &minor) == 2)
			continue;
		if (!strncmp(line, "sample", 6)) {
			assert_true(nr_samples < sizeof(samples) / sizeof(samples[0]));
			s = &samples[nr_samples++];
			memset(s, 0, sizeof(*s));
			continue;
		}
		assert_non_null(s);
		if (sscanf(line, "regs %llx %llx %llx", &a, &b, &c) == 3) {
			s->pc = a;
			s->sp = b;
			s->bp = c;
		} else if (sscanf(line, "stack %llx %299s", &a, text) == 2) {
			size_t len = strlen(text) / 2;

			assert_int_equal(a, s->sp + s->stack_len);
			assert_true(s->stack_len + len <= MAX_STACK);
			unhex(text, s->stack + s->stack_len, len);
			s->stack_len += len;
		} else if (sscanf(line, "orc %llx %12s", &a, text) == 2) {
			assert_true(s->nr_orc < MAX_ORC);
			assert_true(!s->nr_orc || a > s->ips[s->nr_orc - 1]);
			s->ips[s->nr_orc] = a;
			unhex(text, s->raw[s->nr_orc++], 6);
		} else if (sscanf(line, "sym %llx %llx %63s", &a, &b, text) == 3) {
			assert_true(s->nr_syms < MAX_SYMS);
			s->syms[s->nr_syms].start = a;
			s->syms[s->nr_syms].size = b;
			snprintf(s->syms[s->nr_syms++].name, 64, "%.63s", text);
		} else if (sscanf(line, "%15s", word) == 1 && !strcmp(word, "expect")) {
			char *save = NULL, *tok = strtok_r(line + 6, " \n", &save);

			for (; tok && s->nr_expect < MAX_EXPECT; tok = strtok_r(NULL, " \n", &save))
				snprintf(s->expect[s->nr_expect++], 64, "%.63s", tok);
		} else {
			fail_msg("linux-orc.rec: bad line %s", line);
		}
	}
	fclose(f);
	if (!nr_samples || !major)
		fail_msg("linux-orc.rec: no samples or no release");
	return 0;
}

static const char *name_of(const struct sample *s, uint64_t addr)
{
	for (size_t i = 0; i < s->nr_syms; i++)
		if (addr >= s->syms[i].start && addr - s->syms[i].start < s->syms[i].size)
			return s->syms[i].name;
	return "?";
}

/* Walk sample s with its entries read as format version. */
static struct up_walk walk_as(const struct sample *s, unsigned int version, uint64_t pcs[64])
{
	int32_t ips[MAX_ORC];
	struct up_orc *orc = NULL;
	struct fake_memory mem = { .nr = 1 };
	struct up_regs regs = { .pc = s->pc, .sp = s->sp, .fp = s->bp };
	struct up_unwind_env env = {
		.walk = { .read = fake_read, .read_ctx = &mem },
		.arch = &up_arch_x86_64,
	};
	struct up_walk w;

	for (size_t i = 0; i < s->nr_orc; i++)
		ips[i] = (int32_t)(int64_t)(s->ips[i] - (s->ips[0] + 4 * i));
	assert_null(up_orc_create(version, s->ips[0], ips, &s->raw[0][0], s->nr_orc, &orc));
	mem.regions[0] = (struct fake_region){ s->sp, s->stack_len, (uint8_t *)s->stack };
	up_regs_set_gpr(&regs, 16, s->pc);
	up_regs_set_gpr(&regs, 7, s->sp);
	up_regs_set_gpr(&regs, 6, s->bp);
	env.orc = orc;
	assert_null(up_unwinder_orc.walk(&env, &regs, pcs, 64, &w));
	up_orc_destroy(orc);
	return w;
}

static void recorded_walks(void **state)
{
	(void)state;
	for (size_t i = 0; i < nr_samples; i++) {
		const struct sample *s = &samples[i];
		uint64_t pcs[64];
		struct up_walk w = walk_as(s, up_orc_version_from_release(major, minor), pcs);

		assert_int_equal(w.stop, UP_WALK_END);
		assert_int_equal(w.depth, s->nr_expect);
		for (size_t j = 0; j < w.depth; j++) {
			uint64_t at = j && !(w.exact & (1ULL << j)) ? pcs[j] - 1 : pcs[j];

			assert_string_equal(name_of(s, at), s->expect[j]);
		}
	}
}

/* The same data read as the wrong format (6.4's layout) must not give the recorded chains. */
static void wrong_format_differs(void **state)
{
	size_t same = 0;

	(void)state;
	for (size_t i = 0; i < nr_samples; i++) {
		uint64_t pcs[64];
		struct up_walk w = walk_as(&samples[i], 3, pcs);

		same += w.stop == UP_WALK_END && w.depth == samples[i].nr_expect;
	}
	assert_int_equal(same, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(recorded_walks),
		cmocka_unit_test(wrong_format_differs),
	};

	return cmocka_run_group_tests(tests, load, NULL);
}
