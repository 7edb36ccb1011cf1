/*
 * The sampling loop over a scripted fake target: every pause is undone, stale vCPUs (not run
 * since the previous sample) are neither read nor counted, and failures end the run with the
 * guest running.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../uniprof/sampler.h"

#define NR_VCPUS 2
/* Each vCPU stands at its own pc with no frame pointer: every walk is one frame. */
#define PC(vcpu) (0xffffffff81000000ULL + 0x100 * (vcpu))

struct fake {
	struct up_target base;
	int paused;
	unsigned int pauses, resumes, reads[NR_VCPUS], stale_calls;
	/* vCPU 1 is stale on every stale_every-th pause (0: never). */
	unsigned int stale_every;
	/* vcpu_stale fails on this pause (0: never). */
	unsigned int fail_on;
	/* From this pause on, vCPU 0 has a frame pointer and its memory is gone (0: never). */
	unsigned int lost_from;
	unsigned int memory_reads;
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
	return NULL;
}

static struct up_error *fake_vcpu_stale(struct up_target *t, unsigned int vcpu, int *ret)
{
	struct fake *f = to_fake(t);

	assert_true(f->paused);
	f->stale_calls++;
	if (f->fail_on && f->pauses == f->fail_on)
		return up_error_create(UP_ERR_LOST, "domain 7 is gone");
	*ret = vcpu == 1 && f->stale_every && f->pauses % f->stale_every == 0;
	return NULL;
}

static struct up_error *fake_get_regs(struct up_target *t, unsigned int vcpu, struct up_regs *ret)
{
	struct fake *f = to_fake(t);

	assert_true(f->paused);
	assert_true(vcpu < NR_VCPUS);
	f->reads[vcpu]++;
	memset(ret, 0, sizeof(*ret));
	ret->pc = PC(vcpu);
	ret->sp = 0xffffc90000001000ULL;
	if (vcpu == 0 && f->lost_from && f->pauses >= f->lost_from)
		ret->fp = ret->sp + 0x100;
	return NULL;
}

static struct up_error *fake_read_virt(void *ctx, unsigned int vcpu, uint64_t addr, void *buf,
				       size_t len)
{
	struct fake *f = ctx;

	(void)vcpu; (void)buf; (void)len;
	assert_true(f->paused);
	f->memory_reads++;
	if (f->lost_from && f->pauses >= f->lost_from)
		return up_error_create(UP_ERR_LOST, "QEMU exited");
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

/* Run the sampler over f with a memory layer of its own. */
static struct up_error *run(struct fake *f, const struct sampler_options *o,
			    struct up_profile *p, struct sampler_stats *st)
{
	struct up_memory *mem;
	struct up_error *err;

	assert_null(up_memory_create(&f->base, &mem));
	err = sampler_run(&f->base, mem, o, p, st);
	up_memory_destroy(mem);
	return err;
}

static volatile sig_atomic_t never;

static struct sampler_options fast_options(uint64_t samples)
{
	struct sampler_options o = {
		.frequency = 1e6,
		.samples = samples,
		.max_depth = 16,
		.stop = &never,
	};
	return o;
}

/* Samples counted for vCPU vcpu, all of which must be its one-frame stack. */
static uint64_t count_of(const struct up_profile *p, uint32_t vcpu)
{
	uint64_t n = 0;

	for (size_t i = 0; i < p->nr_stacks; i++) {
		const struct up_stack *s = p->stacks[i];

		if (s->vcpu != vcpu)
			continue;
		assert_int_equal(s->depth, 1);
		assert_true(s->pcs[0] == PC(vcpu));
		n += s->count;
	}
	return n;
}

static void test_stale_vcpus_not_counted(void **state)
{
	struct fake f = { .base.ops = &fake_ops, .stale_every = 2 };
	struct sampler_options o = fast_options(10);
	struct sampler_stats st;
	struct up_profile p;
	struct up_error *err;

	(void)state;
	up_profile_init(&p);
	err = run(&f, &o, &p, &st);
	assert_null(err);
	assert_int_equal(st.samples, 10);
	assert_int_equal(f.pauses, 10);
	assert_int_equal(f.resumes, 10);
	assert_false(f.paused);
	assert_int_equal(st.stale, 5);
	assert_int_equal(st.stacks, 15);
	assert_int_equal(count_of(&p, 0), 10);
	assert_int_equal(count_of(&p, 1), 5);
	/* A stale vCPU's registers are not even read. */
	assert_int_equal(f.reads[0], 10);
	assert_int_equal(f.reads[1], 5);
	assert_int_equal(p.total, 15);
	up_profile_deinit(&p);
}

/* should_stop: asked once per sample, with the guest running; yes ends the run there. */
static int stop_after_three(void *ctx)
{
	struct fake *f = ctx;

	assert_false(f->paused);
	return f->pauses >= 3;
}

static void test_should_stop(void **state)
{
	struct fake f = { .base.ops = &fake_ops };
	struct sampler_options o = fast_options(100);
	struct sampler_stats st;
	struct up_profile p;

	(void)state;
	o.should_stop = stop_after_three;
	o.should_stop_ctx = &f;
	up_profile_init(&p);
	assert_null(run(&f, &o, &p, &st));
	assert_int_equal(st.samples, 3);
	assert_int_equal(f.resumes, 3);
	assert_false(f.paused);
	up_profile_deinit(&p);
}

static void test_no_stale_op(void **state)
{
	struct up_target_ops ops = fake_ops;
	struct fake f = { .base.ops = &ops, .stale_every = 1 };
	struct sampler_options o = fast_options(4);
	struct sampler_stats st;
	struct up_profile p;

	(void)state;
	/* A backend that cannot tell: every vCPU is counted. */
	ops.vcpu_stale = NULL;
	up_profile_init(&p);
	assert_null(run(&f, &o, &p, &st));
	assert_int_equal(st.stale, 0);
	assert_int_equal(st.stacks, 8);
	assert_int_equal(count_of(&p, 1), 4);
	assert_int_equal(f.stale_calls, 0);
	up_profile_deinit(&p);
}

static void test_failure_resumes(void **state)
{
	struct fake f = { .base.ops = &fake_ops, .fail_on = 3 };
	struct sampler_options o = fast_options(10);
	struct sampler_stats st;
	struct up_profile p;
	struct up_error *err;

	(void)state;
	up_profile_init(&p);
	err = run(&f, &o, &p, &st);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	/* The failed pause was undone; what came before it is kept. */
	assert_false(f.paused);
	assert_int_equal(f.pauses, 3);
	assert_int_equal(f.resumes, 3);
	assert_int_equal(st.samples, 2);
	assert_int_equal(p.total, 4);
	up_profile_deinit(&p);
}

/*
 * A walk whose memory read fails for another reason than a fault (QEMU exited) ends the run
 * with that error, not as a truncated stack, and the pause is undone.
 */
static void test_lost_memory_ends_run(void **state)
{
	struct fake f = { .base.ops = &fake_ops, .lost_from = 4 };
	struct sampler_options o = fast_options(10);
	struct sampler_stats st;
	struct up_profile p;
	struct up_error *err;

	(void)state;
	up_profile_init(&p);
	err = run(&f, &o, &p, &st);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	assert_false(f.paused);
	assert_int_equal(f.pauses, 4);
	assert_int_equal(f.resumes, 4);
	assert_int_equal(f.memory_reads, 1);
	/*
	 * The three samples before are kept: leaves alone, truncated at their null frame
	 * pointer (nothing says the code there is outermost).
	 */
	assert_int_equal(st.samples, 3);
	assert_int_equal(st.truncated, 6);
	assert_int_equal(st.stops[UP_WALK_NULL_FP], 6);
	assert_int_equal(st.near_leaf, 6);
	assert_int_equal(p.total, 6);
	up_profile_deinit(&p);
}

/* The unwinder in the options walks every stack, with the vCPU's registers and the CFI source. */
static unsigned int fake_walks;

static const struct up_cfi_row *no_rows(void *ctx, uint64_t addr)
{
	(void)ctx; (void)addr;
	return NULL;
}

static struct up_error *fake_walk(const struct up_unwind_env *env, const struct up_regs *regs,
				  uint64_t *pcs, size_t max, struct up_walk *ret)
{
	assert_ptr_equal(env->arch, &up_arch_x86_64);
	assert_ptr_equal(env->cfi_lookup, no_rows);
	assert_ptr_equal(env->cfi_ctx, &fake_walks);
	assert_true(max >= 2);
	fake_walks++;
	pcs[0] = regs->pc;
	pcs[1] = 0x1234;
	memset(ret, 0, sizeof(*ret));
	ret->depth = 2;
	ret->stop = UP_WALK_END;
	return NULL;
}

static void test_unwinder_from_options(void **state)
{
	static const struct up_unwinder fake = { .name = "fake", .walk = fake_walk };
	struct fake f = { .base.ops = &fake_ops };
	struct sampler_options o = fast_options(5);
	struct sampler_stats st;
	struct up_profile p;

	(void)state;
	o.unwinder = &fake;
	o.unwind.cfi_lookup = no_rows;
	o.unwind.cfi_ctx = &fake_walks;
	up_profile_init(&p);
	assert_null(run(&f, &o, &p, &st));
	assert_int_equal(fake_walks, 10);
	assert_int_equal(st.truncated, 0);
	assert_int_equal(st.stops[UP_WALK_END], 10);
	assert_int_equal(st.frames, 20);
	assert_int_equal(st.near_leaf, 0);
	up_profile_deinit(&p);
}

struct recorded {
	struct fake *f;
	unsigned int stacks, flushes, stacks_at_flush;
	uint64_t time;
	int times;                /* distinct times seen */
};

static struct up_error *record_stack(void *ctx, uint64_t time_ns, uint32_t vcpu,
				     const uint64_t *pcs, uint32_t depth, uint64_t exact,
				     int truncated)
{
	struct recorded *r = ctx;

	/* Recording happens while the guest runs. */
	assert_false(r->f->paused);
	assert_int_equal(depth, 1);
	assert_true(pcs[0] == PC(vcpu));
	assert_true(truncated == 0 || truncated == 1);
	assert_true(exact == 0);
	if (time_ns != r->time)
		r->times++;
	r->time = time_ns;
	r->stacks++;
	return NULL;
}

static struct up_error *record_flush(void *ctx)
{
	struct recorded *r = ctx;

	assert_false(r->f->paused);
	r->flushes++;
	/* Every stack of the pause was handed over before its flush. */
	assert_true(r->stacks > r->stacks_at_flush);
	r->stacks_at_flush = r->stacks;
	return NULL;
}

static void test_record_hooks(void **state)
{
	struct fake f = { .base.ops = &fake_ops, .stale_every = 2 };
	struct sampler_options o = fast_options(10);
	struct recorded r = { .f = &f };
	struct sampler_stats st;
	struct up_profile p;

	(void)state;
	o.record = record_stack;
	o.record_flush = record_flush;
	o.record_ctx = &r;
	up_profile_init(&p);
	assert_null(run(&f, &o, &p, &st));
	/* Each stack walked is recorded once, stale vCPUs' not; one flush per pause. */
	assert_int_equal(r.stacks, st.stacks);
	assert_int_equal(r.stacks, 15);
	assert_int_equal(r.flushes, 10);
	assert_int_equal(r.times, 10);
	up_profile_deinit(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stale_vcpus_not_counted),
		cmocka_unit_test(test_should_stop),
		cmocka_unit_test(test_no_stale_op),
		cmocka_unit_test(test_failure_resumes),
		cmocka_unit_test(test_lost_memory_ends_run),
		cmocka_unit_test(test_unwinder_from_options),
		cmocka_unit_test(test_record_hooks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
