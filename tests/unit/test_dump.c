/*
 * uniprof --dump's pause over a scripted fake target: one pause for every vCPU's registers and
 * walk, undone on every path; an unreadable frame truncates one walk, a lost target fails the
 * dump and leaves the caller's storage alone; and the backtraces come out in vCPU order.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../uniprof/dump.h"

#define NR_VCPUS 3
#define STACK 0xffffc90000008000ULL

struct fake {
	struct up_target base;
	int paused;
	unsigned int pauses, resumes, reads[NR_VCPUS], stale_calls;
	int lost;                 /* memory reads fail as if QEMU had exited */
	uint64_t resumed_at_reads;  /* memory reads done when resume came */
	uint64_t memory_reads;
};

static struct fake *to_fake(struct up_target *t)
{
	return (struct fake *)t;
}

static unsigned int fake_nr_vcpus(struct up_target *t)
{
	(void)t;
	return NR_VCPUS;
}

static const struct up_arch *fake_arch(struct up_target *t)
{
	(void)t;
	return &up_arch_x86_64;
}

static struct up_error *fake_pause(struct up_target *t)
{
	struct fake *f = to_fake(t);

	assert_false(f->paused);
	f->paused = 1;
	f->pauses++;
	t->pauses++;
	return NULL;
}

static struct up_error *fake_resume(struct up_target *t)
{
	struct fake *f = to_fake(t);

	f->paused = 0;
	f->resumes++;
	f->resumed_at_reads = f->memory_reads;
	return NULL;
}

/* Says every vCPU is stale: a dump must not care. */
static struct up_error *fake_vcpu_stale(struct up_target *t, unsigned int vcpu, int *ret)
{
	(void)vcpu;
	to_fake(t)->stale_calls++;
	*ret = 1;
	return NULL;
}

/*
 * vCPU 0: leaf 0x1010 with frame records at STACK (-> 0x1130) and STACK + 0x10 (-> 0x1208,
 * then a null frame pointer).  vCPU 1: a frame pointer into unmapped memory.  vCPU 2: no
 * frame pointer at all.
 */
static struct up_error *fake_get_regs(struct up_target *t, unsigned int vcpu, struct up_regs *ret)
{
	struct fake *f = to_fake(t);

	assert_true(f->paused);
	assert_true(vcpu < NR_VCPUS);
	f->reads[vcpu]++;
	memset(ret, 0, sizeof(*ret));
	ret->pc = 0x1010 + 0x100 * vcpu;
	ret->sp = STACK - 0x10;
	if (vcpu == 0)
		ret->fp = STACK;
	else if (vcpu == 1)
		ret->fp = STACK + 0x1000;
	return NULL;
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static struct up_error *fake_read_virt(void *ctx, unsigned int vcpu, uint64_t addr, void *buf,
				       size_t len)
{
	struct fake *f = ctx;
	uint8_t stack[32] = { 0 };

	(void)vcpu;
	assert_true(f->paused);
	f->memory_reads++;
	if (f->lost)
		return up_error_create(UP_ERR_LOST, "QEMU exited");
	put_le64(stack, STACK + 0x10);
	put_le64(stack + 8, 0x1130);
	put_le64(stack + 24, 0x1208);
	if (addr >= STACK && addr + len <= STACK + sizeof(stack)) {
		memcpy(buf, stack + (addr - STACK), len);
		return NULL;
	}
	return up_error_fault(addr, "nothing mapped");
}

static void fake_memory(struct up_target *t, struct up_memory_source *ret)
{
	*ret = (struct up_memory_source){ .read_virt = fake_read_virt, .ctx = to_fake(t) };
}

static const struct up_target_ops fake_ops = {
	.name = "fake",
	.nr_vcpus = fake_nr_vcpus,
	.arch = fake_arch,
	.pause = fake_pause,
	.resume = fake_resume,
	.vcpu_stale = fake_vcpu_stale,
	.get_regs = fake_get_regs,
	.memory = fake_memory,
};

static struct up_error *take(struct fake *f, unsigned int max_depth, struct dump *ret)
{
	struct dump_options o = { .max_depth = max_depth };
	struct up_memory *mem;
	struct up_error *err;

	assert_null(up_memory_create(&f->base, &mem));
	err = dump_take(&f->base, mem, &o, ret);
	up_memory_destroy(mem);
	return err;
}

static void one_pause_for_every_stack(void **state)
{
	struct fake f = { .base.ops = &fake_ops };
	struct dump d;
	const uint64_t *pcs;

	(void)state;
	assert_null(take(&f, 16, &d));
	assert_int_equal(f.pauses, 1);
	assert_int_equal(f.resumes, 1);
	assert_false(f.paused);
	/* Every read happened before the resume; stale or not, every vCPU was read. */
	assert_int_equal(f.resumed_at_reads, f.memory_reads);
	assert_int_equal(f.stale_calls, 0);
	for (unsigned int i = 0; i < NR_VCPUS; i++)
		assert_int_equal(f.reads[i], 1);
	assert_int_equal(d.nr_vcpus, NR_VCPUS);
	assert_true(d.pause_us >= 0);

	pcs = d.pcs;
	assert_int_equal(d.walks[0].depth, 3);
	assert_int_equal(d.walks[0].stop, UP_WALK_END);
	assert_true(pcs[0] == 0x1010 && pcs[1] == 0x1130 && pcs[2] == 0x1208);
	/* vCPU 1's frame is unreadable: its walk ends there, the dump goes on. */
	assert_int_equal(d.walks[1].depth, 1);
	assert_int_equal(d.walks[1].stop, UP_WALK_FAULT);
	assert_true(d.pcs[d.max_depth] == 0x1110);
	/* vCPU 2's null frame pointer from the leaf's own registers is not a root: truncated. */
	assert_int_equal(d.walks[2].depth, 1);
	assert_int_equal(d.walks[2].stop, UP_WALK_NULL_FP);
	assert_true(d.regs[0].fp == STACK);
	dump_deinit(&d);
}

static void depth_cap(void **state)
{
	struct fake f = { .base.ops = &fake_ops };
	struct dump d;

	(void)state;
	assert_null(take(&f, 2, &d));
	assert_int_equal(d.walks[0].depth, 2);
	assert_int_equal(d.walks[0].stop, UP_WALK_DEPTH);
	dump_deinit(&d);
}

static void lost_target_fails_and_resumes(void **state)
{
	struct fake f = { .base.ops = &fake_ops, .lost = 1 };
	struct dump d = { .nr_vcpus = 77 };
	struct up_error *err;

	(void)state;
	err = take(&f, 16, &d);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	assert_false(f.paused);
	assert_int_equal(f.pauses, 1);
	assert_int_equal(f.resumes, 1);
	assert_int_equal(d.nr_vcpus, 77);
}

static size_t hex_frames(void *ctx, uint64_t addr, int is_return, const struct up_frame **ret)
{
	static struct up_frame frame = { .name = "f", .known = 1 };

	(void)ctx; (void)addr; (void)is_return;
	*ret = &frame;
	return 1;
}

static uint64_t no_start(void *ctx, uint64_t addr)
{
	(void)ctx; (void)addr;
	return 0;
}

static void written_in_vcpu_order(void **state)
{
	struct fake f = { .base.ops = &fake_ops };
	struct up_backtrace_names names = { hex_frames, no_start, NULL };
	struct dump d;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	(void)state;
	assert_non_null(out);
	assert_null(take(&f, 16, &d));
	assert_null(dump_write(out, &d, &names));
	fclose(out);
	assert_string_equal(text,
		"vCPU 0: complete, sp 0xffffc90000007ff0, fp 0xffffc90000008000\n"
		"#0  0x0000000000001010 in f\n"
		"#1  0x0000000000001130 in f\n"
		"#2  0x0000000000001208 in f\n"
		"\n"
		"vCPU 1: truncated (unreadable memory), sp 0xffffc90000007ff0, fp 0xffffc90000009000\n"
		"#0  0x0000000000001110 in f\n"
		"\n"
		"vCPU 2: truncated (null frame pointer), sp 0xffffc90000007ff0, fp 0x0\n"
		"#0  0x0000000000001210 in f\n");
	free(text);
	dump_deinit(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_pause_for_every_stack),
		cmocka_unit_test(depth_cap),
		cmocka_unit_test(lost_target_fails_and_resumes),
		cmocka_unit_test(written_in_vcpu_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
