/*
 * The recorded tier: the frame walkers and page-table walkers on registers, page tables, stacks
 * and code captured from our real test guests (tests/recorded/, one .rec file per guest; the
 * README.md there describes the format and how to capture again).
 *
 * For every sample and vCPU: the registers are decoded from the gdbstub's own 'g' packet, every
 * recorded translation must come out of arch->translate over the recorded page tables, every
 * recorded unmapped address must fault, and arch->walk_frames, reading guest memory through
 * arch->translate and using the symbols and code pages as its code oracle, must give exactly
 * the recorded stack.  Run from the repository root or below it: the data is found by walking
 * up from the working directory to tests/recorded.
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

#include "../../util/bytes.h"
#include "../../arch/arch.h"
#include "../../unwind/unwinder.h"

/* Bounds on what a data file may hold: a page in hex is 8192 characters. */
#define MAX_LINE 8448
#define MAX_CHUNK 4096
#define MAX_NAME 64
#define MAX_SYMS 256
#define MAX_PAGES 64
#define MAX_FAULTS 16
#define MAX_SAMPLES 32
#define MAX_BYTES 16      /* bytes lines per sample */
#define MAX_VCPUS 4
#define MAX_G 1024
#define MAX_SYSREGS 8
#define MAX_XLATES 64
#define MAX_FRAMES 64

struct rec_sym {
	uint64_t start, size;
	char name[MAX_NAME];
};

/* Bytes of guest physical memory at paddr. */
struct rec_chunk {
	uint64_t paddr;
	size_t len;
	uint8_t *bytes;
};

struct rec_xlate {
	uint64_t vaddr, paddr, page_size;
};

struct rec_sysreg {
	char name[MAX_NAME];
	uint64_t value;
};

/* The 'reg' lines: decoded values the 'g' packet must give. */
enum { REG_PC, REG_SP, REG_FP, REG_LR, NR_REGS };
static const char *const reg_names[NR_REGS] = { "pc", "sp", "fp", "lr" };

struct rec_vcpu {
	uint8_t g[MAX_G];
	size_t g_len;
	struct rec_sysreg sysregs[MAX_SYSREGS];
	size_t nr_sysregs;
	uint64_t regs[NR_REGS];
	unsigned int regs_seen;   /* bit per REG_* */
	struct rec_xlate xlates[MAX_XLATES];
	size_t nr_xlates;
	int fixup;                /* enum up_walk_fixup, -1 until a 'fixup' line */
	uint64_t expect[MAX_FRAMES];
	size_t depth;
};

struct rec_sample {
	struct rec_chunk bytes[MAX_BYTES];
	size_t nr_bytes;
	struct rec_vcpu vcpus[MAX_VCPUS];
	size_t nr_vcpus;
};

struct recording {
	const struct up_arch *arch;
	const struct up_unwinder *unwinder;   /* the 'unwind' line; frame pointers by default */
	char elf[MAX_NAME];                   /* the 'elf' line: unwind tables, in tests/recorded */
	struct rec_sym syms[MAX_SYMS];
	size_t nr_syms;
	struct rec_chunk pages[MAX_PAGES];
	size_t nr_pages;
	uint64_t faults[MAX_FAULTS];
	size_t nr_faults;
	struct rec_sample samples[MAX_SAMPLES];
	size_t nr_samples;
};

static void recording_destroy(struct recording *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->nr_pages; i++)
		free(rec->pages[i].bytes);
	for (size_t s = 0; s < rec->nr_samples; s++) {
		for (size_t i = 0; i < rec->samples[s].nr_bytes; i++)
			free(rec->samples[s].bytes[i].bytes);
	}
	free(rec);
}

/* ---- parsing ------------------------------------------------------------------------------ */

struct parser {
	struct recording *rec;
	struct rec_sample *sample;  /* the current sample, NULL before the first */
	struct rec_vcpu *vcpu;      /* the current vCPU of that sample, NULL before its first */
	char *save;                 /* strtok_r state over the current line */
	char err[160];
};

static int parse_error(struct parser *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int parse_error(struct parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, sizeof(p->err), fmt, ap);
	va_end(ap);
	return -1;
}

static char *next_token(struct parser *p)
{
	return strtok_r(NULL, " \t", &p->save);
}

static int parse_u64(struct parser *p, uint64_t *ret)
{
	char *tok = next_token(p), *end;
	unsigned long long v;

	if (!tok || tok[0] == '-' || tok[0] == '+')
		return parse_error(p, "expected a number");
	errno = 0;
	v = strtoull(tok, &end, 0);
	if (errno || *end)
		return parse_error(p, "bad number '%.20s'", tok);
	*ret = v;
	return 0;
}

static int parse_name(struct parser *p, char *ret)
{
	char *tok = next_token(p);

	if (!tok || strlen(tok) >= MAX_NAME)
		return parse_error(p, "expected a name shorter than %d", MAX_NAME);
	strcpy(ret, tok);
	return 0;
}

/* Hex bytes into buf (at most max); *ret_len is their number. */
static int parse_hex(struct parser *p, uint8_t *buf, size_t max, size_t *ret_len)
{
	char *tok = next_token(p);
	size_t n;

	if (!tok)
		return parse_error(p, "expected hex bytes");
	n = strlen(tok);
	if (n % 2 || n == 0 || n / 2 > max)
		return parse_error(p, "hex bytes: odd length, empty, or more than %zu", max);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = up_hexval(tok[2 * i]), lo = up_hexval(tok[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return parse_error(p, "not a hex digit");
		buf[i] = hi << 4 | lo;
	}
	*ret_len = n / 2;
	return 0;
}

static int parse_chunk(struct parser *p, struct rec_chunk *ret)
{
	uint8_t *buf;

	if (parse_u64(p, &ret->paddr))
		return -1;
	buf = malloc(MAX_CHUNK);
	assert_non_null(buf);
	if (parse_hex(p, buf, MAX_CHUNK, &ret->len)) {
		free(buf);
		return -1;
	}
	if (ret->paddr + ret->len < ret->paddr) {
		free(buf);
		return parse_error(p, "bytes wrap around the address space");
	}
	ret->bytes = buf;
	return 0;
}

static int parse_fixup(struct parser *p, int *ret)
{
	static const struct {
		const char *name;
		enum up_walk_fixup fixup;
	} names[] = {
		{ "none", UP_FIXUP_NONE },     { "entry", UP_FIXUP_ENTRY },
		{ "pushed", UP_FIXUP_PUSHED }, { "return", UP_FIXUP_RETURN },
		{ "frameless", UP_FIXUP_FRAMELESS },
	};
	char *tok = next_token(p);

	for (size_t i = 0; tok && i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(tok, names[i].name)) {
			*ret = names[i].fixup;
			return 0;
		}
	}
	return parse_error(p, "unknown fixup");
}

/* Lines allowed before the first sample. */
static int parse_global(struct parser *p, const char *key)
{
	struct recording *rec = p->rec;

	if (!strcmp(key, "arch")) {
		char name[MAX_NAME];

		if (rec->arch)
			return parse_error(p, "second arch line");
		if (parse_name(p, name))
			return -1;
		rec->arch = up_arch_find(name);
		return rec->arch ? 0 : parse_error(p, "unknown arch '%s'", name);
	}
	if (!strcmp(key, "unwind")) {
		char name[MAX_NAME];

		if (rec->unwinder)
			return parse_error(p, "second unwind line");
		if (parse_name(p, name))
			return -1;
		rec->unwinder = up_unwinder_find(name);
		return rec->unwinder ? 0 : parse_error(p, "unknown unwinder '%s'", name);
	}
	if (!strcmp(key, "elf")) {
		if (rec->elf[0])
			return parse_error(p, "second elf line");
		if (parse_name(p, rec->elf))
			return -1;
		return strchr(rec->elf, '/') ? parse_error(p, "elf names a file in tests/recorded") : 0;
	}
	if (!strcmp(key, "sym")) {
		struct rec_sym *s = &rec->syms[rec->nr_syms];

		if (rec->nr_syms == MAX_SYMS)
			return parse_error(p, "more than %d symbols", MAX_SYMS);
		if (parse_u64(p, &s->start) || parse_u64(p, &s->size) || parse_name(p, s->name))
			return -1;
		rec->nr_syms++;
		return 0;
	}
	if (!strcmp(key, "page")) {
		if (rec->nr_pages == MAX_PAGES)
			return parse_error(p, "more than %d pages", MAX_PAGES);
		if (parse_chunk(p, &rec->pages[rec->nr_pages]))
			return -1;
		rec->nr_pages++;
		return 0;
	}
	if (!strcmp(key, "fault")) {
		if (rec->nr_faults == MAX_FAULTS)
			return parse_error(p, "more than %d faults", MAX_FAULTS);
		return parse_u64(p, &rec->faults[rec->nr_faults++]);
	}
	return parse_error(p, "unknown keyword '%.20s' (or not allowed here)", key);
}

/* Lines that belong to the current vCPU. */
static int parse_vcpu_line(struct parser *p, const char *key)
{
	struct rec_vcpu *v = p->vcpu;

	if (!strcmp(key, "g")) {
		if (v->g_len)
			return parse_error(p, "second g line");
		return parse_hex(p, v->g, MAX_G, &v->g_len);
	}
	if (!strcmp(key, "sysreg")) {
		struct rec_sysreg *r = &v->sysregs[v->nr_sysregs];

		if (v->nr_sysregs == MAX_SYSREGS)
			return parse_error(p, "more than %d sysregs", MAX_SYSREGS);
		if (parse_name(p, r->name) || parse_u64(p, &r->value))
			return -1;
		v->nr_sysregs++;
		return 0;
	}
	if (!strcmp(key, "reg")) {
		char name[MAX_NAME];
		uint64_t value;

		if (parse_name(p, name) || parse_u64(p, &value))
			return -1;
		for (int i = 0; i < NR_REGS; i++) {
			if (!strcmp(name, reg_names[i])) {
				v->regs[i] = value;
				v->regs_seen |= 1u << i;
				return 0;
			}
		}
		return parse_error(p, "unknown register '%s'", name);
	}
	if (!strcmp(key, "xlate")) {
		struct rec_xlate *x = &v->xlates[v->nr_xlates];

		if (v->nr_xlates == MAX_XLATES)
			return parse_error(p, "more than %d xlate lines", MAX_XLATES);
		if (parse_u64(p, &x->vaddr) || parse_u64(p, &x->paddr) ||
		    parse_u64(p, &x->page_size))
			return -1;
		v->nr_xlates++;
		return 0;
	}
	if (!strcmp(key, "fixup"))
		return parse_fixup(p, &v->fixup);
	if (!strcmp(key, "expect")) {
		char name[MAX_NAME];

		if (v->depth == MAX_FRAMES)
			return parse_error(p, "more than %d frames", MAX_FRAMES);
		/* The name is for people reading the file. */
		if (parse_u64(p, &v->expect[v->depth]) || parse_name(p, name))
			return -1;
		v->depth++;
		return 0;
	}
	return parse_error(p, "unknown keyword '%.20s' (or not allowed here)", key);
}

static int parse_line(struct parser *p, char *line)
{
	char *key = strtok_r(line, " \t", &p->save);
	uint64_t n;

	if (!key || key[0] == '#')
		return 0;
	if (!strcmp(key, "sample")) {
		if (p->rec->nr_samples == MAX_SAMPLES)
			return parse_error(p, "more than %d samples", MAX_SAMPLES);
		if (parse_u64(p, &n))
			return -1;
		if (n != p->rec->nr_samples)
			return parse_error(p, "samples must be numbered 0, 1, ... in order");
		p->sample = &p->rec->samples[p->rec->nr_samples++];
		p->vcpu = NULL;
	} else if (!strcmp(key, "vcpu")) {
		if (!p->sample)
			return parse_error(p, "vcpu outside a sample");
		if (p->sample->nr_vcpus == MAX_VCPUS)
			return parse_error(p, "more than %d vcpus", MAX_VCPUS);
		if (parse_u64(p, &n))
			return -1;
		if (n != p->sample->nr_vcpus)
			return parse_error(p, "vcpus must be numbered 0, 1, ... in order");
		p->vcpu = &p->sample->vcpus[p->sample->nr_vcpus++];
		p->vcpu->fixup = -1;
	} else if (!strcmp(key, "bytes") && p->sample) {
		if (p->sample->nr_bytes == MAX_BYTES)
			return parse_error(p, "more than %d bytes lines in a sample", MAX_BYTES);
		if (parse_chunk(p, &p->sample->bytes[p->sample->nr_bytes]))
			return -1;
		p->sample->nr_bytes++;
	} else if (p->vcpu) {
		if (parse_vcpu_line(p, key))
			return -1;
	} else if (!p->sample) {
		if (parse_global(p, key))
			return -1;
	} else {
		return parse_error(p, "'%.20s' before the sample's first vcpu", key);
	}
	if (next_token(p))
		return parse_error(p, "extra words at the end of the line");
	return 0;
}

/* What every file must have once read to the end. */
static int check_complete(struct parser *p)
{
	struct recording *rec = p->rec;

	if (!rec->arch)
		return parse_error(p, "no arch line");
	if (!rec->unwinder)
		rec->unwinder = up_unwinder_find("fp");
	if (strcmp(rec->unwinder->name, "fp") && !rec->elf[0])
		return parse_error(p, "unwind %s needs an elf line", rec->unwinder->name);
	if (!rec->nr_samples)
		return parse_error(p, "no samples");
	for (size_t s = 0; s < rec->nr_samples; s++) {
		if (!rec->samples[s].nr_vcpus)
			return parse_error(p, "sample %zu has no vcpus", s);
		for (size_t i = 0; i < rec->samples[s].nr_vcpus; i++) {
			const struct rec_vcpu *v = &rec->samples[s].vcpus[i];

			if (!v->g_len || v->fixup < 0 || !v->depth)
				return parse_error(p, "sample %zu vcpu %zu lacks g, fixup or expect",
						   s, i);
		}
	}
	return 0;
}

/*
 * Read a recording from f.  Returns it (free with recording_destroy), or NULL with a message
 * in err naming the line.
 */
static struct recording *recording_read(FILE *f, char *err, size_t err_len)
{
	struct parser p = { .rec = calloc(1, sizeof(struct recording)) };
	char *line = malloc(MAX_LINE);
	unsigned int lineno = 0;
	int failed = 0;

	assert_non_null(p.rec);
	assert_non_null(line);
	while (!failed && fgets(line, MAX_LINE, f)) {
		size_t len = strlen(line);

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		else if (!feof(f))
			failed = parse_error(&p, "line longer than %d characters", MAX_LINE - 2);
		if (!failed)
			failed = parse_line(&p, line);
	}
	if (!failed && ferror(f))
		failed = parse_error(&p, "read error");
	free(line);
	if (failed)
		snprintf(err, err_len, "line %u: %s", lineno, p.err);
	else if (check_complete(&p))
		snprintf(err, err_len, "%s", p.err);
	else
		return p.rec;
	recording_destroy(p.rec);
	return NULL;
}

/* Directory of the data: tests/recorded in the working directory or one above it. */
static int find_data_dir(char *ret, size_t len)
{
	char dir[PATH_MAX];

	if (!getcwd(dir, sizeof(dir)))
		return -1;
	for (;;) {
		struct stat st;
		char *slash;

		if ((size_t)snprintf(ret, len, "%s/tests/recorded", dir) < len && !stat(ret, &st) &&
		    S_ISDIR(st.st_mode))
			return 0;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			return -1;
		*slash = '\0';
	}
}

static char data_dir[PATH_MAX];

static struct recording *load(const char *file)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], err[256];
	struct recording *rec;
	FILE *f;

	if (find_data_dir(dir, sizeof(dir)))
		fail_msg("no tests/recorded directory above the working directory");
	snprintf(data_dir, sizeof(data_dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		fail_msg("%s: %s (capture it with tests/recorded/capture.py)", path, strerror(errno));
	rec = recording_read(f, err, sizeof(err));
	fclose(f);
	if (!rec)
		fail_msg("%s: %s", path, err);
	return rec;
}

/* ---- guest memory over the recording --------------------------------------------------------- */

struct guest {
	const struct recording *rec;
	const struct rec_sample *sample;
	const struct up_regs *regs;
};

static const struct rec_chunk *find_chunk(struct guest *g, uint64_t paddr)
{
	const struct rec_chunk *c;

	for (size_t i = 0; i < g->sample->nr_bytes; i++) {
		c = &g->sample->bytes[i];
		if (paddr >= c->paddr && paddr - c->paddr < c->len)
			return c;
	}
	for (size_t i = 0; i < g->rec->nr_pages; i++) {
		c = &g->rec->pages[i];
		if (paddr >= c->paddr && paddr - c->paddr < c->len)
			return c;
	}
	return NULL;
}

/* Physical memory: the sample's stack bytes, then the file's pages. */
static struct up_error *read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct guest *g = ctx;
	uint8_t *out = buf;

	while (len) {
		const struct rec_chunk *c = find_chunk(g, paddr);
		size_t off, n;

		if (!c)
			return up_error_fault(paddr, "physical 0x%llx not recorded",
					       (unsigned long long)paddr);
		off = paddr - c->paddr;
		n = c->len - off < len ? c->len - off : len;
		memcpy(out, c->bytes + off, n);
		out += n;
		paddr += n;
		len -= n;
	}
	return NULL;
}

/* Virtual memory: translated page by page with the arch's own page-table walker. */
static struct up_error *read_virt(void *ctx, uint64_t vaddr, void *buf, size_t len)
{
	struct guest *g = ctx;
	uint8_t *out = buf;

	while (len) {
		struct up_translation t;
		struct up_error *err;
		uint64_t left;
		size_t n;

		err = g->rec->arch->translate(g->regs, vaddr, read_phys, ctx, &t);
		if (err)
			return err;
		left = t.page_size - (t.paddr & (t.page_size - 1));
		n = left < len ? left : len;
		err = read_phys(ctx, t.paddr, out, n);
		if (err)
			return err;
		out += n;
		vaddr += n;
		len -= n;
	}
	return NULL;
}

static uint64_t code_func_start(void *ctx, uint64_t addr)
{
	struct guest *g = ctx;

	for (size_t i = 0; i < g->rec->nr_syms; i++) {
		const struct rec_sym *s = &g->rec->syms[i];

		if (addr >= s->start && addr - s->start < s->size)
			return s->start;
	}
	return 0;
}

/* The code oracle reads the recorded code pages, through the page tables like any memory. */
static int code_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct up_error *err = read_virt(ctx, addr, buf, len);

	up_error_destroy(err);
	return err ? -1 : 0;
}

/* ---- the checks ------------------------------------------------------------------------------ */

/* regs from the vCPU's 'g' packet and sysreg lines; checked against its reg lines. */
static void decode_regs(const struct recording *rec, const struct rec_vcpu *v, const char *where,
			struct up_regs *ret)
{
	const struct up_arch *arch = rec->arch;
	struct up_error *err = arch->regs_from_gdb(v->g, v->g_len, ret);
	uint64_t decoded[NR_REGS];

	if (err)
		fail_msg("%s: regs_from_gdb: %s", where, err->message);
	for (size_t i = 0; i < v->nr_sysregs; i++) {
		size_t k = 0;

		for (; arch->gdb_sysregs && arch->gdb_sysregs[k]; k++) {
			const char *alias = arch->gdb_sysregs[k];
			size_t n = strlen(v->sysregs[i].name);

			/* One of the '|'-separated aliases equals the name. */
			while (alias) {
				if (!strncmp(alias, v->sysregs[i].name, n) &&
				    (alias[n] == '|' || alias[n] == '\0'))
					break;
				alias = strchr(alias, '|');
				alias = alias ? alias + 1 : NULL;
			}
			if (alias)
				break;
		}
		if (!arch->gdb_sysregs || !arch->gdb_sysregs[k])
			fail_msg("%s: the arch does not know sysreg %s", where, v->sysregs[i].name);
		arch->set_sysreg(ret, k, v->sysregs[i].value);
	}
	decoded[REG_PC] = ret->pc;
	decoded[REG_SP] = ret->sp;
	decoded[REG_FP] = ret->fp;
	decoded[REG_LR] = ret->lr;
	for (int i = 0; i < NR_REGS; i++) {
		if ((v->regs_seen & (1u << i)) && decoded[i] != v->regs[i])
			fail_msg("%s: g packet gives %s 0x%llx, recorded 0x%llx", where, reg_names[i],
				 (unsigned long long)decoded[i], (unsigned long long)v->regs[i]);
	}
}

static void check_translations(struct guest *g, const struct rec_vcpu *v, const char *where)
{
	const struct up_arch *arch = g->rec->arch;

	for (size_t i = 0; i < v->nr_xlates; i++) {
		const struct rec_xlate *x = &v->xlates[i];
		struct up_translation t;
		struct up_error *err = arch->translate(g->regs, x->vaddr, read_phys, g, &t);

		if (err)
			fail_msg("%s: translate 0x%llx: %s (code %d)", where,
				 (unsigned long long)x->vaddr, err->message, err->code);
		if (t.paddr != x->paddr || t.page_size != x->page_size)
			fail_msg("%s: translate 0x%llx gives 0x%llx in a 0x%llx page, recorded 0x%llx "
				 "in a 0x%llx page", where, (unsigned long long)x->vaddr,
				 (unsigned long long)t.paddr, (unsigned long long)t.page_size,
				 (unsigned long long)x->paddr, (unsigned long long)x->page_size);
	}
	for (size_t i = 0; i < g->rec->nr_faults; i++) {
		uint64_t va = g->rec->faults[i];
		struct up_translation t;
		struct up_error *err = arch->translate(g->regs, va, read_phys, g, &t);

		if (!err)
			fail_msg("%s: translate 0x%llx gives 0x%llx, but it is not mapped", where,
				 (unsigned long long)va, (unsigned long long)t.paddr);
		if (err->code != UP_ERR_FAULT)
			fail_msg("%s: translate 0x%llx: %s (code %d), expected a fault", where,
				 (unsigned long long)va, err->message, err->code);
		up_error_destroy(err);
	}
}

/* The unwind tables a recording names (NULL for frame-pointer recordings). */
static struct up_cfi *load_cfi(const struct recording *rec)
{
	char path[PATH_MAX + 2 * MAX_NAME];
	struct up_cfi *cfi;
	unsigned int tables;
	struct up_error *err;

	if (!rec->elf[0])
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", data_dir, rec->elf);
	assert_null(up_cfi_create(rec->arch, &cfi));
	err = up_cfi_add_file(cfi, path, 0, &tables);
	if (err)
		fail_msg("%s: %s", path, err->message);
	if (!tables)
		fail_msg("%s has no unwind tables for %s", path, rec->arch->name);
	return cfi;
}

static struct up_walk walk(struct guest *g, const struct up_unwinder *unwinder,
			   struct up_cfi *cfi, uint64_t *pcs, size_t max, const char *where)
{
	struct up_unwind_env env = {
		.walk = {
			.read = read_virt,
			.read_ctx = g,
			.func_start = code_func_start,
			.read_code = code_read,
			.code_ctx = g,
			.is_root = cfi ? up_cfi_is_root : NULL,
			.root_ctx = cfi,
		},
		.arch = g->rec->arch,
		.cfi_lookup = cfi ? up_cfi_lookup_fn : NULL,
		.cfi_ctx = cfi,
	};
	struct up_walk w;
	struct up_error *err = unwinder->walk(&env, g->regs, pcs, max, &w);

	if (err)
		fail_msg("%s: walk (%s) failed: %s", where, unwinder->name, err->message);
	return w;
}

static void check_walk(struct guest *g, const struct up_unwinder *unwinder, struct up_cfi *cfi,
		       const struct rec_vcpu *v, const char *where)
{
	uint64_t pcs[MAX_FRAMES + 8];
	struct up_walk w = walk(g, unwinder, cfi, pcs, MAX_FRAMES + 8, where);

	for (size_t i = 0; i < w.depth && i < v->depth; i++) {
		if (pcs[i] != v->expect[i])
			fail_msg("%s (%s): frame %zu is 0x%llx, expected 0x%llx", where,
				 unwinder->name, i, (unsigned long long)pcs[i],
				 (unsigned long long)v->expect[i]);
	}
	if (w.depth != v->depth)
		fail_msg("%s (%s): walked %zu frames, expected %zu (stopped: %s)", where,
			 unwinder->name, w.depth, v->depth, up_walk_stop_name(w.stop));
	if (w.stop != UP_WALK_END)
		fail_msg("%s (%s): walk stopped with '%s'", where, unwinder->name,
			 up_walk_stop_name(w.stop));
	if ((int)w.fixup != v->fixup)
		fail_msg("%s (%s): leaf fixup '%s', expected '%s'", where, unwinder->name,
			 up_walk_fixup_name(w.fixup), up_walk_fixup_name(v->fixup));
}

/* A guest without frame pointers: the frame-pointer walk stops short and says so. */
static void check_fp_truncated(struct guest *g, struct up_cfi *cfi, const struct rec_vcpu *v,
			       const char *where)
{
	uint64_t pcs[MAX_FRAMES + 8];
	struct up_walk w = walk(g, &up_unwinder_fp, cfi, pcs, MAX_FRAMES + 8, where);

	if (!up_walk_truncated(&w) || w.depth >= v->depth)
		fail_msg("%s (fp): walked %zu frames, stopped: %s; expected a truncated walk", where,
			 w.depth, up_walk_stop_name(w.stop));
}

/* Every check on every sample of file; returns how many vCPU samples used each fixup. */
static void check_file(const char *file, const char *arch_name, size_t fixups[UP_FIXUP_COUNT])
{
	struct recording *rec = load(file);
	struct up_cfi *cfi = load_cfi(rec);

	assert_string_equal(rec->arch->name, arch_name);
	for (size_t s = 0; s < rec->nr_samples; s++) {
		for (size_t i = 0; i < rec->samples[s].nr_vcpus; i++) {
			const struct rec_vcpu *v = &rec->samples[s].vcpus[i];
			struct up_regs regs;
			struct guest g = { rec, &rec->samples[s], &regs };
			char where[64];

			snprintf(where, sizeof(where), "%s sample %zu vcpu %zu", file, s, i);
			decode_regs(rec, v, where, &regs);
			check_translations(&g, v, where);
			check_walk(&g, rec->unwinder, cfi, v, where);
			/* With unwind tables, auto takes the same path; frame pointers do not. */
			if (cfi) {
				check_walk(&g, &up_unwinder_auto, cfi, v, where);
				check_fp_truncated(&g, cfi, v, where);
			}
			fixups[v->fixup]++;
		}
	}
	up_cfi_destroy(cfi);
	recording_destroy(rec);
}

static void x86_64_recorded(void **state)
{
	size_t fixups[UP_FIXUP_COUNT] = { 0 };

	(void)state;
	check_file("x86_64.rec", "x86_64", fixups);
}

static void arm64_recorded(void **state)
{
	size_t fixups[UP_FIXUP_COUNT] = { 0 };

	(void)state;
	check_file("arm64.rec", "aarch64", fixups);
	/* The data must keep covering the frameless leaf (delta_leaf) and framed leaves. */
	assert_true(fixups[UP_FIXUP_FRAMELESS] > 0);
	assert_true(fixups[UP_FIXUP_NONE] > 0);
}

/* The guests built without frame pointers, walked through their unwind tables. */
static void x86_64_nofp_recorded(void **state)
{
	size_t fixups[UP_FIXUP_COUNT] = { 0 };

	(void)state;
	check_file("x86_64-nofp.rec", "x86_64", fixups);
}

static void arm64_nofp_recorded(void **state)
{
	size_t fixups[UP_FIXUP_COUNT] = { 0 };

	(void)state;
	check_file("arm64-nofp.rec", "aarch64", fixups);
}

/* Parse text as a recording; NULL with the message in err when it is refused. */
static struct recording *read_text(const char *text, char *err, size_t err_len)
{
	size_t len = strlen(text);
	char *copy = malloc(len + 1);
	struct recording *rec;
	FILE *f;

	assert_non_null(copy);
	memcpy(copy, text, len + 1);
	f = fmemopen(copy, len, "r");
	assert_non_null(f);
	rec = recording_read(f, err, err_len);
	fclose(f);
	free(copy);
	return rec;
}

/* The parser refuses what is not a complete, well-formed recording, for the right reason. */
static void malformed_files_are_refused(void **state)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "", "no arch" },
		{ "arch x86_64\n", "no samples" },
		{ "arch sparc\n", "unknown arch" },
		{ "arch x86_64\nsample 0\n", "no vcpus" },
		{ "arch x86_64\nsample 0\nvcpu 0\ng 00\nfixup none\n", "lacks" },
		{ "arch x86_64\nsample 1\n", "in order" },
		{ "arch x86_64\nunwind cfi\nsample 0\nvcpu 0\ng 00\nfixup none\nexpect 0x1 f\n",
		  "needs an elf line" },
		{ "arch x86_64\nunwind dwarf\n", "unknown unwinder" },
		{ "arch x86_64\nelf ../x.elf\n", "in tests/recorded" },
		{ "arch x86_64\nsample 0\nvcpu 0\ng 0\n", "odd length" },
		{ "arch x86_64\nsample 0\nvcpu 0\ng zz\n", "hex digit" },
		{ "arch x86_64\nsample 0\nvcpu 0\nxlate 0x1 0x2\n", "expected a number" },
		{ "arch x86_64\nsample 0\nvcpu 0\nexpect 0x1 a b\n", "extra words" },
		{ "arch x86_64\nsample 0\nvcpu 0\nfixup sideways\n", "unknown fixup" },
		{ "arch x86_64\nsample 0\nvcpu 0\nreg pc -1\n", "expected a number" },
		{ "arch x86_64\nsample 0\nvcpu 0\nreg pc 0x1z\n", "bad number" },
		{ "arch x86_64\nsample 0\nvcpu 0\nreg rip 1\n", "unknown register" },
		{ "arch x86_64\nsample 0\nvcpu 0\nsym 0x1 0x2 f\n", "unknown keyword" },
		{ "arch x86_64\nsample 0\nxlate 0x1 0x2 0x1000\n", "before the sample's first" },
		{ "arch x86_64\nfrobnicate 1\n", "unknown keyword" },
		{ "arch x86_64\npage 0xffffffffffffffff 0000\n", "wrap" },
	};
	size_t prefix = strlen("arch x86_64\npage 0x1000 ");
	char err[256], *big;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (read_text(bad[i].text, err, sizeof(err)))
			fail_msg("accepted bad input %zu: %s", i, bad[i].text);
		if (!strstr(err, bad[i].why))
			fail_msg("bad input %zu refused with '%s', expected '%s'", i, err, bad[i].why);
	}
	/* A line longer than the bound. */
	big = malloc(prefix + MAX_LINE + 2);
	assert_non_null(big);
	memcpy(big, "arch x86_64\npage 0x1000 ", prefix);
	memset(big + prefix, '0', MAX_LINE);
	strcpy(big + prefix + MAX_LINE, "\n");
	assert_null(read_text(big, err, sizeof(err)));
	assert_non_null(strstr(err, "longer"));
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(x86_64_recorded),
		cmocka_unit_test(arm64_recorded),
		cmocka_unit_test(x86_64_nofp_recorded),
		cmocka_unit_test(arm64_nofp_recorded),
		cmocka_unit_test(malformed_files_are_refused),
	};

	return cmocka_run_group_tests_name("recorded", tests, NULL, NULL);
}
