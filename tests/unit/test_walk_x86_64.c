/* The x86_64 frame-pointer walker over fake guest memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../arch/x86_64/x86_64.h"
#include "fake_code.h"
#include "fake_memory.h"

/* A walk over memory that only faults never fails. */
#define WALK(...) assert_null(up_arch_x86_64.walk_frames(__VA_ARGS__))

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
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_false(up_walk_truncated(&w));
	assert_int_equal(w.depth, 4);
	assert_int_equal(pcs[0], 0xffffffff81000010);
	assert_int_equal(pcs[1], 0xffffffff81000100);
	assert_int_equal(pcs[2], 0xffffffff81000200);
	assert_int_equal(pcs[3], 0xffffffff81000300);
}

/*
 * A record holding a zero return address ends a chain of records (a final record), but
 * straight from the leaf's rbp it is what code without frame pointers leaves: rbp pointing
 * at zeros in .data.  That walk is truncated, not complete.
 */
static void zero_return_address(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, STACK_BASE + 0x100);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, STACK_BASE + 0x200, 0);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_ZERO_RECORD);
	assert_true(up_walk_truncated(&w));
	assert_int_equal(w.depth, 1);
	/* All zeros, as in .data: the same. */
	frame(STACK_BASE + 0x100, 0, 0);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_ZERO_RECORD);
	assert_int_equal(w.depth, 1);
	/* Reached through a real record, a zero record is the end of the chain. */
	frame(STACK_BASE + 0x100, STACK_BASE + 0x200, 0x2000);
	frame(STACK_BASE + 0x200, 0, 0);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_false(up_walk_truncated(&w));
	assert_int_equal(w.depth, 2);
}

static int root_at_0x1000(void *ctx, uint64_t addr)
{
	(void)ctx;
	return addr == 0x1000;
}

/* A null rbp in the registers is the end only in code known to be outermost. */
static void zero_frame_pointer(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, 0);
	uint64_t pcs[4];
	struct up_walk w;

	(void)state;
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 4, &w);
	assert_int_equal(w.stop, UP_WALK_NULL_FP);
	assert_true(up_walk_truncated(&w));
	assert_int_equal(w.depth, 1);
	assert_int_equal(m.reads, 0);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m, .is_root = root_at_0x1000 },
	     pcs, 4, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 1);
	r.pc = 0x1001;
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m, .is_root = root_at_0x1000 },
	     pcs, 4, &w);
	assert_int_equal(w.stop, UP_WALK_NULL_FP);
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
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 64, &w);
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	assert_true(up_walk_truncated(&w));
	assert_int_equal(w.depth, 3);
	/* A record pointing at itself is a loop too. */
	frame(STACK_BASE + 0x100, STACK_BASE + 0x100, 0x2000);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 64, &w);
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
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_FAULT);
	assert_int_equal(w.depth, 2);
	/* A record straddling the end of mapped memory cannot be read either. */
	r = regs_at(0x1000, STACK_BASE + STACK_SIZE - 8);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_FAULT);
	assert_int_equal(w.depth, 1);
}

/* A read that fails for another reason than a fault ends the walk and is handed up. */
static void lost_target_is_returned(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0xffffffff81000010, STACK_BASE + 0x100);
	struct up_error *err;
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, STACK_BASE + 0x180, 0xffffffff81000100);
	frame(STACK_BASE + 0x180, 0, 0xffffffff81000200);
	m.lost_at = STACK_BASE + 0x180;
	err = up_arch_x86_64.walk_frames(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m },
					 pcs, 16, &w);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	up_error_destroy(err);
	/* What was walked before stays, marked truncated. */
	assert_int_equal(w.depth, 2);
	assert_int_equal(pcs[1], 0xffffffff81000100);
	assert_true(up_walk_truncated(&w));
}

static void non_canonical(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0x1000, 0x0000800000000000ULL);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(m.reads, 0);
	/* A non-canonical return address is not stored. */
	r = regs_at(0x1000, STACK_BASE + 0x100);
	frame(STACK_BASE + 0x100, STACK_BASE + 0x200, 0x8000000000001000ULL);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(w.depth, 1);
	/* Misaligned frame pointers are refused. */
	r = regs_at(0x1000, STACK_BASE + 0x104);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
}

static void frame_below_stack_pointer(void **state)
{
	struct fake_memory m = memory();
	struct up_regs r = regs_at(0xffffffff81000010, STACK_BASE + 0x100);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	frame(STACK_BASE + 0x100, 0, 0xffffffff81000100);
	/* rbp below rsp is not a frame of the running stack (a user rbp in the kernel). */
	r.sp = STACK_BASE + 0x200;
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(w.depth, 1);
	assert_int_equal(m.reads, 0);
	/* At or above it, the walk goes on. */
	r.sp = STACK_BASE + 0x100;
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 16, &w);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 2);
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
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 8, &w);
	assert_int_equal(w.stop, UP_WALK_DEPTH);
	assert_int_equal(w.depth, 8);
	assert_int_equal(pcs[7], 0x2000 + 6);
	WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m }, pcs, 1, &w);
	assert_int_equal(w.stop, UP_WALK_DEPTH);
	assert_int_equal(w.depth, 1);
}

static void regs_from_gdb(void **state)
{
	uint8_t g[608] = { 0 };
	struct up_regs r;
	struct up_error *err;

	/* 'g' order: rax rbx rcx rdx rsi rdi rbp rsp r8-r15, rip. */
	static const int dwarf[16] = {
		X86_64_RAX, X86_64_RBX, X86_64_RCX, X86_64_RDX, X86_64_RSI, X86_64_RDI,
		X86_64_RBP, X86_64_RSP, X86_64_R8, X86_64_R9, X86_64_R10, X86_64_R11,
		X86_64_R12, X86_64_R13, X86_64_R14, X86_64_R15,
	};

	(void)state;
	for (int i = 0; i < 16; i++)
		put_le64(g + 8 * i, 0xa000 + i);
	put_le64(g + 48, 0x1111);          /* rbp */
	put_le64(g + 56, 0x2222);          /* rsp */
	put_le64(g + 128, 0x3333);         /* rip */
	put_le64(g + 204, 0x4444000);      /* cr3 */
	put_le64(g + 212, X86_CR4_LA57);   /* cr4 */
	assert_null(up_arch_x86_64.regs_from_gdb(g, sizeof(g), &r));
	/* Every general register, in DWARF numbering. */
	assert_int_equal(up_arch_x86_64.nr_gprs, 17);
	assert_int_equal(r.gpr_valid, (1ULL << 17) - 1);
	for (int i = 0; i < 16; i++)
		if (i != 6 && i != 7)
			assert_int_equal(r.gpr[dwarf[i]], 0xa000 + i);
	assert_int_equal(r.gpr[X86_64_RBX], 0xa001);
	assert_int_equal(r.gpr[X86_64_RDX], 0xa003);
	assert_int_equal(r.gpr[X86_64_RBP], 0x1111);
	assert_int_equal(r.gpr[X86_64_RSP], 0x2222);
	assert_int_equal(r.gpr[X86_64_RIP], 0x3333);
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

/* Code for the leaf tests: a caller, a framed leaf and a frameless leaf. */
#define CODE 0xffffffff81000000ULL
#define CALLER (CODE + 0x00)
#define FRAMED (CODE + 0x40)
#define FRAMELESS (CODE + 0x80)
#define CALL_RET (CALLER + 9)  /* after "push %rbp; mov %rsp,%rbp; call rel32" */

static struct fake_code code;

static void leaf_setup(struct fake_memory *m)
{
	static const uint8_t caller[] = { 0x55, 0x48, 0x89, 0xe5, 0xe8, 0x37, 0, 0, 0, 0x90,
					  0x5d, 0xc3 };
	/* endbr64; push %rbp; mov %rsp,%rbp; nop; nop; nop; pop %rbp; ret */
	static const uint8_t framed[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0x90,
					  0x90, 0x90, 0x5d, 0xc3 };
	static const uint8_t frameless[] = { 0x90, 0x90, 0xc3 };

	*m = memory();
	memset(&code, 0, sizeof(code));
	code.base = CODE;
	fake_add_function(&code, CALLER, caller, sizeof(caller));
	fake_add_function(&code, FRAMED, framed, sizeof(framed));
	fake_add_function(&code, FRAMELESS, frameless, sizeof(frameless));
	/* The caller's record; its return address leads out of everything we know. */
	frame(STACK_BASE + 0x200, 0, 0xffffffff81001000ULL);
}

static struct up_walk leaf_walk(struct fake_memory *m, uint64_t pc, uint64_t sp, uint64_t *pcs)
{
	struct up_walk_env env = {
		.read = fake_read, .read_ctx = m,
		.func_start = fake_func_start, .read_code = fake_read_code, .code_ctx = &code,
	};
	struct up_regs r = { .pc = pc, .sp = sp, .fp = STACK_BASE + 0x200 };
	struct up_walk w;

	WALK(&r, &env, pcs, 16, &w);
	return w;
}

static void leaf_callers(void **state)
{
	struct fake_memory m;
	uint64_t pcs[16], sp = STACK_BASE + 0x100;
	struct up_walk w;

	(void)state;
	leaf_setup(&m);
	put_le64(stack + 0x100, CALL_RET);            /* [rsp]: pushed by the call */
	/* At endbr64 and at "push %rbp": the return address is on top of the stack. */
	w = leaf_walk(&m, FRAMED, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_ENTRY);
	assert_int_equal(w.depth, 3);
	assert_int_equal(pcs[1], CALL_RET);
	assert_int_equal(pcs[2], 0xffffffff81001000ULL);
	w = leaf_walk(&m, FRAMED + 4, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_ENTRY);
	/* At "mov %rsp,%rbp", rbp was pushed above the return address. */
	put_le64(stack + 0xf8, STACK_BASE + 0x200);
	w = leaf_walk(&m, FRAMED + 5, sp - 8, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_PUSHED);
	assert_int_equal(pcs[1], CALL_RET);
	assert_int_equal(w.depth, 3);
	/* At "ret", after "pop %rbp". */
	w = leaf_walk(&m, FRAMED + 12, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_RETURN);
	assert_int_equal(pcs[1], CALL_RET);
	/* In a frameless leaf. */
	w = leaf_walk(&m, FRAMELESS + 1, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_FRAMELESS);
	assert_int_equal(pcs[1], CALL_RET);
	assert_int_equal(w.depth, 3);
	/* In the body of a framed function nothing is added (the test's rbp is the caller's,
	 * so the walk shows what the record says). */
	w = leaf_walk(&m, FRAMED + 9, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 2);
}

static void leaf_callers_refused(void **state)
{
	struct fake_memory m;
	uint64_t pcs[16], sp = STACK_BASE + 0x100;
	struct up_walk w;

	(void)state;
	leaf_setup(&m);
	/* A value that does not follow a call. */
	put_le64(stack + 0x100, CALLER + 4);
	w = leaf_walk(&m, FRAMELESS + 1, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 2);
	/* Unknown code. */
	put_le64(stack + 0x100, 0xffffffff82000000ULL);
	w = leaf_walk(&m, FRAMELESS + 1, sp, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	/* An unreadable stack top. */
	w = leaf_walk(&m, FRAMELESS + 1, STACK_BASE - 0x1000, pcs);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 2);
	/* No code oracle: no guessing. */
	put_le64(stack + 0x100, CALL_RET);
	{
		struct up_regs r = { .pc = FRAMELESS + 1, .sp = sp, .fp = STACK_BASE + 0x200 };

		WALK(&r, &(struct up_walk_env){ .read = fake_read, .read_ctx = &m },
					   pcs, 16, &w);
		assert_int_equal(w.fixup, UP_FIXUP_NONE);
		assert_int_equal(w.depth, 2);
	}
}

/*
 * A sample at an interrupt entry's first instruction: the interrupted function comes from the
 * frame the CPU pushed (rip, cs, rflags, rsp, ss, after an error code for some vectors), at its
 * exact pc, on its own stack below the interrupt stack, and the walk goes on from there.
 */
#define STUB (CODE + 0xc0)
#define IRQ_SLOT 0x800

static void iret_frame_at(size_t off, uint64_t rip, uint64_t rsp)
{
	put_le64(stack + off, rip);
	put_le64(stack + off + 8, 0x10);
	put_le64(stack + off + 16, 0x246);
	put_le64(stack + off + 24, rsp);
	put_le64(stack + off + 32, 0x18);
}

static void interrupt_entry(void **state)
{
	static const uint8_t stub[] = { 0x6a, 0x00, 0x50, 0xc3 };  /* push $0; push %rax; ret */
	struct up_walk_env env = {
		.func_start = fake_func_start, .read_code = fake_read_code, .code_ctx = &code,
	};
	struct fake_memory m;
	uint64_t pcs[16], sp = STACK_BASE + 0x100;
	struct up_regs r;
	struct up_walk w;

	(void)state;
	leaf_setup(&m);
	env.read = fake_read;
	env.read_ctx = &m;
	fake_add_function(&code, STUB, stub, sizeof(stub));
	/* Interrupted in FRAMED's body: rbp is its record, which leads to CALLER and out. */
	frame(STACK_BASE + 0x180, STACK_BASE + 0x200, CALL_RET);
	iret_frame_at(IRQ_SLOT, FRAMED + 9, sp);
	r = (struct up_regs){ .pc = STUB, .sp = STACK_BASE + IRQ_SLOT, .fp = STACK_BASE + 0x180 };
	WALK(&r, &env, pcs, 16, &w);
	assert_int_equal(w.fixup, UP_FIXUP_INTERRUPT);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 4);
	assert_int_equal(pcs[1], FRAMED + 9);
	assert_int_equal(pcs[2], CALL_RET);
	assert_int_equal(pcs[3], 0xffffffff81001000ULL);
	/* The interrupted pc is exact; the return addresses above it are not. */
	assert_true(w.exact == 1ULL << 1);
	/* The interrupted stack lies below the interrupt stack: one move to another stack. */
	assert_int_equal(w.switches, 1);
	/* With an error code pushed first; interrupted at FRAMED's first instruction, whose own
	 * return address is on top of the interrupted stack: that is a leaf again. */
	put_le64(stack + IRQ_SLOT, 0x13);
	iret_frame_at(IRQ_SLOT + 8, FRAMED, sp);
	put_le64(stack + 0x100, CALL_RET);
	r.fp = STACK_BASE + 0x200;
	WALK(&r, &env, pcs, 16, &w);
	assert_int_equal(w.fixup, UP_FIXUP_INTERRUPT);
	assert_int_equal(pcs[1], FRAMED);
	assert_int_equal(pcs[2], CALL_RET);
	assert_int_equal(w.stop, UP_WALK_END);
	/* The interrupt taken on the interrupted stack, below its frames: no move. */
	memmove(stack + 0x40, stack + IRQ_SLOT, 48);
	r.sp = STACK_BASE + 0x40;
	WALK(&r, &env, pcs, 16, &w);
	assert_int_equal(w.fixup, UP_FIXUP_INTERRUPT);
	assert_int_equal(w.switches, 0);
	assert_int_equal(pcs[1], FRAMED);
}

/* A call to a function's first instruction is no interrupt, however its stack looks. */
static void interrupt_entry_refused(void **state)
{
	struct up_walk_env env = {
		.func_start = fake_func_start, .read_code = fake_read_code, .code_ctx = &code,
	};
	struct fake_memory m;
	uint64_t pcs[16];
	struct up_regs r;
	struct up_walk w;

	(void)state;
	leaf_setup(&m);
	env.read = fake_read;
	env.read_ctx = &m;
	/* [rsp]: the return address of "call FRAMED"; above it, what looks like cs, rflags... */
	iret_frame_at(0x100, CALL_RET, STACK_BASE + 0x180);
	r = (struct up_regs){ .pc = FRAMED, .sp = STACK_BASE + 0x100, .fp = STACK_BASE + 0x200 };
	WALK(&r, &env, pcs, 16, &w);
	assert_int_equal(w.fixup, UP_FIXUP_ENTRY);
	assert_int_equal(pcs[1], CALL_RET);
	assert_true(w.exact == 0);
	/* Not a function's first instruction: no interrupt frame either. */
	iret_frame_at(0x100, FRAMED + 9, STACK_BASE + 0x180);
	r.pc = FRAMELESS + 1;
	WALK(&r, &env, pcs, 16, &w);
	assert_int_not_equal(w.fixup, UP_FIXUP_INTERRUPT);
	/* A bad rflags (bit 1 clear) or a null cs: not a frame the CPU pushed. */
	r.pc = FRAMELESS;
	put_le64(stack + 0x110, 0x200);
	WALK(&r, &env, pcs, 16, &w);
	assert_int_not_equal(w.fixup, UP_FIXUP_INTERRUPT);
	put_le64(stack + 0x110, 0x246);
	put_le64(stack + 0x108, 0x3);
	WALK(&r, &env, pcs, 16, &w);
	assert_int_not_equal(w.fixup, UP_FIXUP_INTERRUPT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(normal_chain),
		cmocka_unit_test(zero_return_address),
		cmocka_unit_test(zero_frame_pointer),
		cmocka_unit_test(loop_is_cut),
		cmocka_unit_test(unmapped_frame),
		cmocka_unit_test(lost_target_is_returned),
		cmocka_unit_test(non_canonical),
		cmocka_unit_test(frame_below_stack_pointer),
		cmocka_unit_test(canonical_by_paging_mode),
		cmocka_unit_test(depth_cap),
		cmocka_unit_test(regs_from_gdb),
		cmocka_unit_test(leaf_callers),
		cmocka_unit_test(leaf_callers_refused),
		cmocka_unit_test(interrupt_entry),
		cmocka_unit_test(interrupt_entry_refused),
	};

	return cmocka_run_group_tests_name("walk_x86_64", tests, NULL, NULL);
}
