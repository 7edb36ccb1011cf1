/* The x86_64 frame-pointer walker over fake guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../arch/x86_64/x86_64.h"
#include "fake_memory.h"

#define STACK_BASE 0xffffc90000010000ULL
#define STACK_SIZE 4096

static uint8_t stack[STACK_SIZE];

static struct fake_memory memory(void)
{
	struct fake_memory m = { .nr = 1 };

	memset(stack, 0, sizeof(stack));
	m.regions[0] = (struct fake_region){ STACK_BASE, STACK_SIZE, stack };
	return m;
}

/* Store a frame record [next_fp, ra] at guest address fp. */
static void frame(uint64_t fp, uint64_t next_fp, uint64_t ra)
{
	put_le64(stack + (fp - STACK_BASE), next_fp);
	put_le64(stack + (fp - STACK_BASE) + 8, ra);
}

static struct up_regs regs_at(uint64_t pc, uint64_t fp)
{
	struct up_regs r = { .pc = pc, .fp = fp, .sp = fp - 32 };

	return r;
}

static void normal_chain(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0xffffffff81000010, STACK_BASE + 0x100);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, STACK_BASE + 0x180, 0xffffffff81000100);
	frame(STACK_BASE + 0x180, STACK_BASE + 0x200, 0xffffffff81000200);
	frame(STACK_BASE + 0x200, 0, 0xffffffff81000300);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_false(up_walk_truncated(&w));
	assert_int_equal(w.depth, 4);
	assert_int_equal(pcs[0], 0xffffffff81000010);
	assert_int_equal(pcs[1], 0xffffffff81000100);
	assert_int_equal(pcs[2], 0xffffffff81000200);
	assert_int_equal(pcs[3], 0xffffffff81000300);
}

static void zero_return_address_ends(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, STACK_BASE + 0x100);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, STACK_BASE + 0x200, 0);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 1);
}

static void zero_frame_pointer(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, 0);
	uint64_t pcs[4];
	struct up_walk w;

	(void)state;
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 4, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 1);
	assert_int_equal(m.reads, 0);
}

static void loop_is_cut(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, STACK_BASE + 0x100);
	uint64_t pcs[64];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, STACK_BASE + 0x180, 0x2000);
	frame(STACK_BASE + 0x180, STACK_BASE + 0x100, 0x3000);  /* points back */
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 64, &w);
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	assert_true(up_walk_truncated(&w));
	assert_int_equal(w.depth, 3);
	/* A record pointing at itself is a loop too. */
	frame(STACK_BASE + 0x100, STACK_BASE + 0x100, 0x2000);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 64, &w);
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	assert_int_equal(w.depth, 2);
}

static void unmapped_frame(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, STACK_BASE + 0x100);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, STACK_BASE + 0x10000, 0x2000);  /* next is off the stack */
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_FAULT);
	assert_int_equal(w.depth, 2);
	/* A record straddling the end of mapped memory cannot be read either. */
	r = regs_at(0x1000, STACK_BASE + STACK_SIZE - 8);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_FAULT);
	assert_int_equal(w.depth, 1);
}

static void non_canonical(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, 0x0000800000000000ULL);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(m.reads, 0);
	/* A non-canonical return address is not stored. */
	r = regs_at(0x1000, STACK_BASE + 0x100);
	frame(STACK_BASE + 0x100, STACK_BASE + 0x200, 0x8000000000001000ULL);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(w.depth, 1);
	/* Misaligned frame pointers are refused. */
	r = regs_at(0x1000, STACK_BASE + 0x104);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
}

static void canonical_by_paging_mode(void **state)
{
	(void)state;
	assert_true(x86_64_canonical(0x00007fffffffffffULL, 0));
	assert_false(x86_64_canonical(0x0000800000000000ULL, 0));
	assert_true(x86_64_canonical(0xffff800000000000ULL, 0));
	assert_false(x86_64_canonical(0xff00800000000000ULL, 0));
	/* With LA57, 57-bit addresses are fine. */
	assert_true(x86_64_canonical(0x0000800000000000ULL, X86_CR4_LA57));
	assert_true(x86_64_canonical(0xff00800000000000ULL, X86_CR4_LA57));
	assert_false(x86_64_canonical(0x0100000000000000ULL, X86_CR4_LA57));
}

static void depth_cap(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, STACK_BASE);
	uint64_t pcs[8];
	struct up_walk w;

	(void)state;
	/* A valid chain of 100 frames, 16 bytes apart. */
	for (int i = 0; i < 100; i++)
		frame(STACK_BASE + 16 * i, i == 99 ? 0 : STACK_BASE + 16 * (i + 1), 0x2000 + i);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 8, &w);
	assert_int_equal(w.stop, UP_WALK_DEPTH);
	assert_int_equal(w.depth, 8);
	assert_int_equal(pcs[7], 0x2000 + 6);
	up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 1, &w);
	assert_int_equal(w.stop, UP_WALK_DEPTH);
	assert_int_equal(w.depth, 1);
}

static void regs_from_gdb(void **state)
{
	uint8_t g[608] = { 0 };
	struct up_regs r;
	struct up_error *err;

	(void)state;
	put_le64(g + 48, 0x1111);          /* rbp */
	put_le64(g + 56, 0x2222);          /* rsp */
	put_le64(g + 128, 0x3333);         /* rip */
	put_le64(g + 204, 0x4444000);      /* cr3 */
	put_le64(g + 212, X86_CR4_LA57);   /* cr4 */
	assert_null(up_arch_x86_64.regs_from_gdb(g, sizeof(g), &r));
	assert_int_equal(r.fp, 0x1111);
	assert_int_equal(r.sp, 0x2222);
	assert_int_equal(r.pc, 0x3333);
	assert_int_equal(r.x86_64.cr3, 0x4444000);
	assert_int_equal(r.x86_64.cr4, X86_CR4_LA57);
	err = up_arch_x86_64.regs_from_gdb(g, 100, &r);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_PROTOCOL);
	up_error_destroy(err);
	assert_ptr_equal(up_arch_find("x86_64"), &up_arch_x86_64);
	assert_null(up_arch_find("sparc"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normal_chain),
		cmocka_unit_test(zero_return_address_ends),
		cmocka_unit_test(zero_frame_pointer),
		cmocka_unit_test(loop_is_cut),
		cmocka_unit_test(unmapped_frame),
		cmocka_unit_test(non_canonical),
		cmocka_unit_test(canonical_by_paging_mode),
		cmocka_unit_test(depth_cap),
		cmocka_unit_test(regs_from_gdb),
	};

	return cmocka_run_group_tests_name("walk_x86_64", tests, NULL, NULL);
}
