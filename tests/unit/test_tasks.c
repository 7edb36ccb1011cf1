/*
 * Linux task attribution: task_struct's offsets from a captured BTF blob (reduced, see
 * tests/recorded/capture_tasks.py) and from synthetic ones made with libbpf, `current` over
 * recorded guest registers and memory, the task and [user] frames of the symbolized profile,
 * and tasks through a raw recording.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <bpf/btf.h>

#include "../../linux/tasks.h"
#include "../../record/raw.h"
#include "../../symbolize/symprofile.h"
#include "fake_memory.h"
#include "data_path.h"
#define WITH_PCPU_HOT
#include "data/task_dwarf.h"

#define CAPTURED "linux-6.1.0-57-amd64"

static void data_path(const char *file, char *ret, size_t len)
{
	test_data_path("tasks", file, ret, len);
}

static uint8_t *load(const char *file, size_t *len)
{
	char path[PATH_MAX + 64];
	uint8_t *buf;
	long size;
	FILE *f;

	data_path(file, path, sizeof(path));
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	buf[size] = 0;
	fclose(f);
	*len = (size_t)size;
	return buf;
}

/* The recorded file: its layout line and current_task, and each vCPU sample. */
struct rec_sample {
	uint8_t g[1024];
	size_t g_len;
	struct fake_memory mem;
	uint8_t bytes[2][1024];
	char comm[UP_TASK_COMM_LEN];
	int pid, tgid, user;
};

struct rec {
	unsigned int pid, tgid, comm;
	unsigned long long current_task;
	struct rec_sample s[64];
	size_t nr;
};

static void hex_bytes(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strcspn(hex, " \n") / 2;

	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sscanf(hex + 2 * i, "%2hhx", &out[i]), 1);
	*len = n;
}

static void load_rec(struct rec *r)
{
	size_t len;
	char *text = (char *)load(CAPTURED ".rec", &len), *line, *save = NULL;
	struct rec_sample *s = NULL;

	memset(r, 0, sizeof(*r));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		unsigned long long addr;
		int off;

		if (sscanf(line, "layout pid %x tgid %x comm %x", &r->pid, &r->tgid, &r->comm) == 3)
			continue;
		if (sscanf(line, "current_task %llx", &r->current_task) == 1)
			continue;
		if (!strncmp(line, "sample ", 7)) {
			assert_true(r->nr < 64);
			s = &r->s[r->nr++];
		} else if (!strncmp(line, "g ", 2)) {
			hex_bytes(line + 2, s->g, sizeof(s->g), &s->g_len);
		} else if (sscanf(line, "mem %llx %n", &addr, &off) == 1) {
			struct fake_region *reg = &s->mem.regions[s->mem.nr];

			assert_true(s->mem.nr < 2);
			reg->base = addr;
			reg->bytes = s->bytes[s->mem.nr++];
			hex_bytes(line + off, reg->bytes, sizeof(s->bytes[0]), &reg->size);
		} else if (!strncmp(line, "expect ", 7)) {
			assert_int_equal(sscanf(line, "expect %15s pid %d tgid %d user %d", s->comm,
						&s->pid, &s->tgid, &s->user), 4);
		}
	}
	free(text);
	assert_true(r->nr >= 6);
	assert_true(r->current_task);
}

static void test_layout_of_captured_btf(void **state)
{
	struct up_task_layout l;
	struct rec r;
	size_t len;
	uint8_t *blob = load(CAPTURED ".btf", &len);

	(void)state;
	load_rec(&r);
	assert_null(up_btf_task_layout(blob, len, &l));
	assert_int_equal(l.pid, r.pid);
	assert_int_equal(l.tgid, r.tgid);
	assert_int_equal(l.comm, r.comm);
	assert_int_equal(l.comm_len, 16);
	/* 6.1 has no pcpu_hot: current_task is a per-CPU variable of its own. */
	assert_false(l.has_pcpu_hot);
	free(blob);
}

static void assert_invalid(struct up_error *err, const char *needle)
{
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	if (!strstr(err->message, needle))
		fail_msg("error '%s' does not say '%s'", err->message, needle);
	assert_null(strchr(err->message, '\n'));
	up_error_destroy(err);
}

static void test_bad_btf(void **state)
{
	struct up_task_layout l = { .pid = 7 };
	size_t len;
	uint8_t *blob = load(CAPTURED ".btf", &len);
	struct btf *b;
	const void *raw;
	__u32 size;
	int int_id;

	(void)state;
	assert_invalid(up_btf_task_layout("not BTF at all", 14, &l), "does not parse");
	assert_invalid(up_btf_task_layout(blob, UP_BTF_MAX_SIZE + 1ull, &l), "more than");
	/* Cut short: the header says more than there is. */
	assert_invalid(up_btf_task_layout(blob, len - 9, &l), "does not parse");
	/* A task_struct whose pid is no 4-byte integer. */
	b = btf__new_empty();
	int_id = btf__add_int(b, "long", 8, BTF_INT_SIGNED);
	assert_true(btf__add_struct(b, "task_struct", 64) > 0);
	assert_int_equal(btf__add_field(b, "pid", int_id, 0, 0), 0);
	raw = btf__raw_data(b, &size);
	assert_invalid(up_btf_task_layout(raw, size, &l), "task_struct.pid");
	btf__free(b);
	/* No task_struct at all. */
	b = btf__new_empty();
	btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	raw = btf__raw_data(b, &size);
	assert_invalid(up_btf_task_layout(raw, size, &l), "no struct task_struct");
	btf__free(b);
	/*
	 * A header of 25 bytes (fuzz_btf found it): libbpf would read the types at an odd
	 * address; refused before it gets them.
	 */
	{
		uint8_t *odd = malloc(len + 1);

		assert_non_null(odd);
		memcpy(odd, blob, 24);
		odd[4] = 25;
		odd[24] = 0;
		memcpy(odd + 25, blob + 24, len - 24);
		assert_invalid(up_btf_task_layout(odd, len + 1, &l), "no multiple of 4");
		free(odd);
	}
	assert_int_equal(l.pid, 7);  /* untouched */
	free(blob);
}

/*
 * A 6.2+ shape made with libbpf: struct pcpu_hot { union { struct { struct task_struct
 * *current_task; int preempt_count; }; u8 pad[64]; }; }, and a task_struct whose comm sits in
 * an anonymous struct (as with CONFIG_RANDSTRUCT's randomized_struct_fields).
 */
/* A built file of make unit ($BUILD/tests/data/NAME). */
static void built_path(const char *name, char *ret, size_t len)
{
	const char *build = getenv("BUILD") ? getenv("BUILD") : "build";

	assert_true((size_t)snprintf(ret, len, "%s/tests/data/%s", build, name) < len);
}

/*
 * The layout from a debug vmlinux's DWARF (a kernel without BTF): task_dwarf.h's shapes, built
 * with -g, against the offsets this file's compiler gives the same header; pcpu_hot only in
 * the 6.2 shape; a file without DWARF and one that is not even ELF are refused.
 */
static void test_layout_from_dwarf(void **state)
{
	char path[PATH_MAX];
	struct up_task_layout l;
	struct up_error *err;

	(void)state;
	built_path("task_dwarf.so", path, sizeof(path));
	err = up_dwarf_task_layout(path, &l);
	if (err)
		fail_msg("%s", err->message);
	assert_int_equal(l.pid, offsetof(struct task_struct, pid));
	assert_int_equal(l.tgid, offsetof(struct task_struct, tgid));
	assert_int_equal(l.comm, offsetof(struct task_struct, comm));
	assert_int_equal(l.comm_len, 16);
	assert_false(l.has_pcpu_hot);

	built_path("task_dwarf_hot.so", path, sizeof(path));
	err = up_dwarf_task_layout(path, &l);
	if (err)
		fail_msg("%s", err->message);
	assert_int_equal(l.comm, offsetof(struct task_struct, comm));
	assert_true(l.has_pcpu_hot);
	assert_int_equal(l.pcpu_hot_current, offsetof(struct pcpu_hot, current_task));

	/* Without DWARF (the unit test binary has none of task_struct) and not ELF at all. */
	built_path("nofp_example.snap", path, sizeof(path));
	err = up_dwarf_task_layout(path, &l);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	up_error_destroy(err);
	built_path("nofp_arm64.elf", path, sizeof(path));
	err = up_dwarf_task_layout(path, &l);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_INVALID);
	print_message("    %s\n", err->message);
	up_error_destroy(err);
}

static void test_nested_members(void **state)
{
	struct btf *b = btf__new_empty();
	int int_id, char_id, u8_id, comm_id, pad_id, ts, ptr, inner, uni, anon;
	struct up_task_layout l;
	struct up_task_finder f;
	struct up_linux_syms syms = { 0 };
	const void *raw;
	__u32 size;

	(void)state;
	int_id = btf__add_int(b, "int", 4, BTF_INT_SIGNED);
	char_id = btf__add_int(b, "char", 1, BTF_INT_SIGNED);
	u8_id = btf__add_int(b, "u8", 1, 0);
	comm_id = btf__add_array(b, int_id, char_id, 16);
	pad_id = btf__add_array(b, int_id, u8_id, 64);
	anon = btf__add_struct(b, NULL, 32);
	assert_int_equal(btf__add_field(b, "comm", comm_id, 128, 0), 0);
	ts = btf__add_struct(b, "task_struct", 4096);
	assert_int_equal(btf__add_field(b, "pid", int_id, 0x500 * 8, 0), 0);
	assert_int_equal(btf__add_field(b, "tgid", int_id, 0x504 * 8, 0), 0);
	assert_int_equal(btf__add_field(b, NULL, anon, 0x700 * 8, 0), 0);
	ptr = btf__add_ptr(b, ts);
	inner = btf__add_struct(b, NULL, 16);
	assert_int_equal(btf__add_field(b, "current_task", ptr, 0, 0), 0);
	assert_int_equal(btf__add_field(b, "preempt_count", int_id, 64, 0), 0);
	uni = btf__add_union(b, NULL, 64);
	assert_int_equal(btf__add_field(b, NULL, inner, 0, 0), 0);
	assert_int_equal(btf__add_field(b, "pad", pad_id, 0, 0), 0);
	assert_true(btf__add_struct(b, "pcpu_hot", 64) > 0);
	assert_int_equal(btf__add_field(b, NULL, uni, 0, 0), 0);
	raw = btf__raw_data(b, &size);
	assert_null(up_btf_task_layout(raw, size, &l));
	assert_int_equal(l.pid, 0x500);
	assert_int_equal(l.tgid, 0x504);
	assert_int_equal(l.comm, 0x710);
	assert_true(l.has_pcpu_hot);
	assert_int_equal(l.pcpu_hot_current, 0);
	btf__free(b);

	/* Without current_task, pcpu_hot's member; neither: one actionable line. */
	assert_invalid(up_task_finder_init(&f, &up_arch_x86_64, &syms, 0, &l), "-k");
	up_linux_syms_note(&syms, "pcpu_hot", 0x32040);
	assert_null(up_task_finder_init(&f, &up_arch_x86_64, &syms, 0x1000000, &l));
	assert_string_equal(f.how, "pcpu_hot.current_task");
	assert_true(f.percpu_current == 0x32040);  /* a per-CPU offset: not slid */
	/* Per-CPU symbols that are kernel addresses (no zero-based per-CPU area) move with KASLR. */
	up_linux_syms_note(&syms, "current_task", 0xffffffff82c1b000ull);
	assert_null(up_task_finder_init(&f, &up_arch_x86_64, &syms, 0x1000000, &l));
	assert_string_equal(f.how, "current_task");
	assert_true(f.percpu_current == 0xffffffff83c1b000ull);
}

static void test_current_recorded(void **state)
{
	struct up_linux_syms syms = { 0 };
	struct up_task_layout l;
	struct up_task_finder f;
	struct rec r;
	size_t len, users = 0, idle = 0;
	uint8_t *blob = load(CAPTURED ".btf", &len);

	(void)state;
	load_rec(&r);
	assert_null(up_btf_task_layout(blob, len, &l));
	up_linux_syms_note(&syms, "current_task", r.current_task);
	/* The System.map's slide does not apply to a per-CPU offset: any slide gives the same. */
	assert_null(up_task_finder_init(&f, &up_arch_x86_64, &syms, 0x1aa00000, &l));
	for (size_t i = 0; i < r.nr; i++) {
		struct rec_sample *s = &r.s[i];
		struct up_regs regs;
		struct up_task t;
		int found = -1;

		assert_null(up_arch_x86_64.regs_from_gdb(s->g, s->g_len, &regs));
		assert_int_equal(regs.user, s->user);
		assert_null(up_task_current(&f, &regs, fake_read, &s->mem, &t, &found));
		assert_int_equal(found, 1);
		assert_string_equal(t.comm, s->comm);
		assert_int_equal(t.pid, s->pid);
		assert_int_equal(t.tgid, s->tgid);
		users += s->user;
		idle += !strncmp(t.comm, "swapper/", 8) && !t.pid;
		/* The task pointer unreadable: unknown, no error. */
		s->mem.regions[0].base ^= 0x1000;
		found = -1;
		assert_null(up_task_current(&f, &regs, fake_read, &s->mem, &t, &found));
		assert_int_equal(found, 0);
		/* Any other failure is the target's: handed up. */
		s->mem.regions[0].base ^= 0x1000;
		s->mem.lost_at = s->mem.regions[1].base;
		{
			struct up_error *err = up_task_current(&f, &regs, fake_read, &s->mem, &t, &found);

			assert_non_null(err);
			assert_int_equal(err->code, UP_ERR_LOST);
			up_error_destroy(err);
		}
		s->mem.lost_at = 0;
	}
	/* The capture has user-mode samples (sh, KERNEL_GS_BASE) and the idle task. */
	assert_true(users > 0);
	assert_true(idle > 0);
	free(blob);
}

static void test_current_arm64(void **state)
{
	struct up_task_layout l = { .pid = 0x5d8, .tgid = 0x5dc, .comm = 0x738, .comm_len = 16 };
	struct up_linux_syms syms = { 0 };
	struct up_task_finder f;
	struct fake_memory mem = { 0 };
	uint8_t task[0x800] = { 0 };
	struct up_regs regs = { 0 };
	struct up_task t;
	int found;

	(void)state;
	assert_null(up_task_finder_init(&f, &up_arch_arm64, &syms, 0, &l));
	assert_string_equal(f.how, "sp_el0");
	memcpy(task + 0x5d8, "\x2a\0\0\0\x29\0\0\0", 8);
	memcpy(task + 0x738, "cat\0junk;\x01", 10);
	mem.regions[0] = (struct fake_region){ 0xffff000012340000ull, sizeof(task), task };
	mem.nr = 1;
	regs.arm64.sp_el0 = 0xffff000012340000ull;
	mem.reads = 0;
	assert_null(up_task_current(&f, &regs, fake_read, &mem, &t, &found));
	assert_int_equal(found, 1);
	assert_string_equal(t.comm, "cat");
	assert_int_equal(t.pid, 42);
	assert_int_equal(t.tgid, 41);
	assert_int_equal(mem.reads, 1);  /* the fields' span at once */
	/* Fields far apart: one read each. */
	l.comm = 0x7c0;
	l.pid = 0x10;
	l.tgid = 0x14;
	memcpy(task + 0x10, "\x07\0\0\0\x05\0\0\0", 8);
	memcpy(task + 0x7c0, "far", 4);
	assert_null(up_task_finder_init(&f, &up_arch_arm64, &syms, 0, &l));
	mem.reads = 0;
	assert_null(up_task_current(&f, &regs, fake_read, &mem, &t, &found));
	assert_int_equal(found, 1);
	assert_string_equal(t.comm, "far");
	assert_int_equal(t.pid, 7);
	assert_int_equal(t.tgid, 5);
	assert_int_equal(mem.reads, 3);
	/* In EL0 SP_EL0 is the user's stack pointer: no task, and nothing read. */
	regs.user = 1;
	mem.reads = 0;
	assert_null(up_task_current(&f, &regs, fake_read, &mem, &t, &found));
	assert_int_equal(found, 0);
	assert_int_equal(mem.reads, 0);
	/* A user address in SP_EL0 in EL1 (early entry): no task. */
	regs.user = 0;
	regs.arm64.sp_el0 = 0x0000ffffc0de0000ull;
	assert_null(up_task_current(&f, &regs, fake_read, &mem, &t, &found));
	assert_int_equal(found, 0);
}

/* Finding the BTF in read-only data when no symbol says where it is. */
static void test_find_header(void **state)
{
	size_t len, size = 0;
	uint8_t *blob = load(CAPTURED ".btf", &len);
	uint8_t *mem = calloc(1, 8192);
	struct up_task_layout l;

	(void)state;
	assert_non_null(mem);
	/* A lookalike first: magic and header length right, offsets not a vmlinux's. */
	memcpy(mem + 100, blob, 24);
	mem[100 + 8] = 4;
	memcpy(mem + 4000, blob, len);
	assert_int_equal(up_btf_find_header(mem, 8192, 0, &size), 4000);
	assert_int_equal(size, len);
	assert_null(up_btf_task_layout(mem + 4000, size, &l));
	/* Not before from, and not in a buffer that ends inside the header. */
	assert_int_equal(up_btf_find_header(mem, 8192, 4001, &size), -1);
	assert_int_equal(up_btf_find_header(mem, 4020, 0, &size), -1);
	/* Only at 4-byte alignment. */
	memmove(mem + 4001, mem + 4000, len);
	assert_int_equal(up_btf_find_header(mem, 8192, 0, &size), -1);
	free(mem);
	free(blob);
}

static void test_comm_cleaned(void **state)
{
	struct up_task t;

	(void)state;
	up_task_set_comm(&t, "a;b\nc\xff" "0123456789abcdef", 22);
	assert_string_equal(t.comm, "a?b?c?012345678");
	up_task_set_comm(&t, "kworker/0:1", 16);
	assert_string_equal(t.comm, "kworker/0:1");
}

/* ---- the profile, its symbolized form and raw recordings -------------------------------- */

static const struct up_task dd = { .pid = 99, .tgid = 99, .comm = "dd" };
static const struct up_task cat = { .pid = 7, .tgid = 5, .comm = "cat" };
static const struct up_task idle1 = { .pid = 0, .tgid = 0, .comm = "swapper/1" };

static void add(struct up_profile *p, uint32_t vcpu, const struct up_task *task, uint32_t flags,
		const uint64_t *pcs, uint32_t depth, uint64_t count)
{
	struct up_stack_key key = { .vcpu = vcpu, .flags = flags };

	if (task)
		assert_null(up_profile_task(p, task, &key.task));
	assert_null(up_profile_add_key(p, &key, pcs, depth, count));
}

static const char *frame_of(const struct up_symprofile *sp, const struct up_sym_stack *st,
			    uint32_t d)
{
	return sp->locs[st->locs[d]].frames[0].name;
}

static void test_symprofile_frames(void **state)
{
	static const uint64_t kernel[2] = { 0x1000, 0x2000 }, user[1] = { 0x401234 };
	struct up_symbolizer s;
	struct up_symbolizer_options so = { 0 };
	struct up_symprofile_options opts = { .tasks = UP_TASK_FRAMES_PID };
	struct up_symprofile sp;
	struct up_profile p;

	(void)state;
	up_symbolizer_init(&s, &so);
	up_profile_init(&p);
	add(&p, 0, &dd, 0, kernel, 2, 3);
	add(&p, 0, &cat, 0, kernel, 2, 2);          /* same stack, another task: another stack */
	add(&p, 1, &idle1, 0, kernel, 2, 1);
	add(&p, 1, &cat, UP_STACK_USER, user, 1, 4);
	add(&p, 1, NULL, UP_STACK_USER, user, 1, 1); /* task unknown */
	add(&p, 0, &dd, 0, kernel, 2, 1);
	assert_int_equal(p.nr_stacks, 5);
	assert_int_equal(p.nr_tasks, 4);            /* tasks[0] is "none" */
	assert_int_equal(p.stacks[0]->count, 4);

	assert_null(up_symprofile_build_opts(&p, &s, &opts, &sp));
	assert_int_equal(sp.stacks[0].depth, 3);
	assert_string_equal(frame_of(&sp, &sp.stacks[0], 2), "dd/99");
	assert_ptr_equal(sp.stacks[0].task, &p.tasks[p.stacks[0]->task]);
	assert_string_equal(frame_of(&sp, &sp.stacks[1], 2), "cat/7");
	assert_string_equal(frame_of(&sp, &sp.stacks[2], 2), "swapper/1");
	assert_int_equal(sp.stacks[3].depth, 2);
	assert_string_equal(frame_of(&sp, &sp.stacks[3], 0), "[user]");
	assert_string_equal(frame_of(&sp, &sp.stacks[3], 1), "cat/7");
	assert_int_equal(sp.stacks[3].flags, UP_STACK_USER);
	assert_int_equal(sp.stacks[4].depth, 1);
	assert_null(sp.stacks[4].task);
	assert_string_equal(frame_of(&sp, &sp.stacks[4], 0), "[user]");
	/* One location per task and one [user]: shared by the stacks. */
	assert_int_equal(sp.stacks[3].locs[0], sp.stacks[4].locs[0]);
	up_symprofile_deinit(&sp);

	/* comm only, and the user pc with -v. */
	opts = (struct up_symprofile_options){ .tasks = UP_TASK_FRAMES_COMM, .user_pcs = 1 };
	assert_null(up_symprofile_build_opts(&p, &s, &opts, &sp));
	assert_string_equal(frame_of(&sp, &sp.stacks[0], 2), "dd");
	assert_string_equal(frame_of(&sp, &sp.stacks[3], 0), "[user] 0x401234");
	assert_string_equal(frame_of(&sp, &sp.stacks[3], 1), "cat");
	up_symprofile_deinit(&sp);

	/* No --tasks: no task frame, the task still known to the writers (pprof labels). */
	assert_null(up_symprofile_build(&p, &s, &sp));
	assert_int_equal(sp.stacks[0].depth, 2);
	assert_non_null(sp.stacks[0].task);
	assert_string_equal(frame_of(&sp, &sp.stacks[3], 0), "[user]");
	up_symprofile_deinit(&sp);
	up_profile_deinit(&p);
	up_symbolizer_deinit(&s);
}

struct seen {
	size_t n;
	int with_task[8];
	struct up_task task[8];
	uint32_t flags[8];
};

static struct up_error *see(void *ctx, uint64_t time_ns, uint32_t vcpu, const uint64_t *pcs,
			    uint32_t depth, uint64_t exact, int truncated, const struct up_task *task,
			    uint32_t flags)
{
	struct seen *s = ctx;

	(void)exact;
	(void)time_ns;
	(void)vcpu;
	(void)pcs;
	(void)depth;
	(void)truncated;
	assert_true(s->n < 8);
	s->with_task[s->n] = task != NULL;
	if (task)
		s->task[s->n] = *task;
	s->flags[s->n++] = flags;
	return NULL;
}

static void test_raw_round_trip(void **state)
{
	static const uint64_t kernel[2] = { 0x1000, 0x2000 }, user[1] = { 0x401234 };
	struct up_profile_meta meta = { .target = "t", .arch = "x86_64", .nr_vcpus = 2,
					.frequency = 99 };
	struct up_raw_recording r;
	struct up_raw_writer *w;
	struct seen seen = { 0 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_null(up_raw_writer_create(f, &meta, NULL, &w));
	assert_null(up_raw_write_sample(w, 1, 0, kernel, 2, 0, 0, &dd, 0));
	assert_null(up_raw_write_sample(w, 1, 1, user, 1, 0, 0, &cat, UP_STACK_USER));
	assert_null(up_raw_write_sample(w, 2, 0, kernel, 2, 2, 0, &cat, 0));
	assert_null(up_raw_write_sample(w, 2, 1, kernel, 2, 0, 0, NULL, 0));
	assert_null(up_raw_write_sample(w, 3, 0, kernel, 2, 0, 0, &dd, 0));
	assert_null(up_raw_writer_finish(w, &meta));
	up_raw_writer_destroy(w);
	fclose(f);
	assert_null(up_raw_read_buffer(buf, len, see, &seen, &r));
	assert_int_equal(r.version, UP_RAW_VERSION);
	assert_int_equal(seen.n, 5);
	assert_true(seen.with_task[0] && !strcmp(seen.task[0].comm, "dd") && seen.task[0].pid == 99);
	assert_true(seen.with_task[1] && seen.task[1].tgid == 5 && seen.flags[1] == UP_STACK_USER);
	assert_false(seen.with_task[3]);
	/* dd's and cat's same kernel stack stay two stacks; dd's twice is one; exact pcs kept. */
	assert_int_equal(r.profile.nr_stacks, 4);
	assert_int_equal(r.profile.stacks[0]->count, 2);
	assert_string_equal(r.profile.tasks[r.profile.stacks[2]->task].comm, "cat");
	assert_int_equal(r.profile.stacks[2]->exact, 2);
	assert_int_equal(r.profile.stacks[3]->task, 0);
	up_raw_recording_deinit(&r);
	/* Each task's name is in the file once: one TASK record each. */
	{
		size_t names = 0;

		for (size_t i = 0; i + 4 < len; i++)
			names += !memcmp(buf + i, "\2dd", 3) || !memcmp(buf + i, "\3cat", 4);
		assert_int_equal(names, 2);
	}
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout_of_captured_btf),
		cmocka_unit_test(test_bad_btf),
		cmocka_unit_test(test_nested_members),
		cmocka_unit_test(test_layout_from_dwarf),
		cmocka_unit_test(test_current_recorded),
		cmocka_unit_test(test_current_arm64),
		cmocka_unit_test(test_find_header),
		cmocka_unit_test(test_comm_cleaned),
		cmocka_unit_test(test_symprofile_frames),
		cmocka_unit_test(test_raw_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
