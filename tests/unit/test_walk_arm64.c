/* The AArch64 frame-record walker: records, LR for leaves and prologues, PAC, stop rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../arch/arm64/arm64.h"
#include "fake_code.h"
#include "fake_memory.h"

#define STACK_BASE 0xffff800040209000ULL
#define STACK_SIZE 4096
#define CODE_BASE 0xffff800040201000ULL
/* TCR_EL1 of our arm64 test guest: T0SZ = T1SZ = 16, 48-bit addresses. */
#define TCR 0x1b5103590ULL

/* Instructions. */
#define STP_FP_LR_PRE 0xa9bf7bfdu  /* stp x29, x30, [sp, #-16]! */
#define MOV_FP_SP 0x910003fdu      /* mov x29, sp */
#define LDP_FP_LR_POST 0xa8c17bfdu /* ldp x29, x30, [sp], #16 */
#define RET 0xd65f03c0u
#define NOP 0xd503201fu
#define BL 0x94000010u
#define PACIASP 0xd503233fu
#define AUTIASP 0xd50323bfu

static uint8_t stack[STACK_SIZE];
static struct fake_memory mem;
static struct fake_code code;

/* Functions: caller (0x000), framed (0x100), frameless (0x200), caller2 (0x300). */
#define CALLER (CODE_BASE + 0x000)
#define FRAMED (CODE_BASE + 0x100)
#define FRAMELESS (CODE_BASE + 0x200)
#define CALLER2 (CODE_BASE + 0x300)

static void put_insns(uint64_t at, const uint32_t *insns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = code.bytes + (at - code.base) + 4 * i;

		p[0] = insns[i];
		p[1] = insns[i] >> 8;
		p[2] = insns[i] >> 16;
		p[3] = insns[i] >> 24;
	}
}

static int setup(void **state)
{
	/* A framed function: paciasp; stp; mov x29,sp; nop; bl; nop; ldp; autiasp; ret. */
	static const uint32_t framed[] = { PACIASP, STP_FP_LR_PRE, MOV_FP_SP, NOP, BL, NOP,
					   LDP_FP_LR_POST, AUTIASP, RET };
	static const uint32_t frameless[] = { NOP, NOP, NOP, RET };
	static const uint32_t caller[] = { STP_FP_LR_PRE, MOV_FP_SP, BL, BL, BL, LDP_FP_LR_POST, RET };

	(void)state;
	memset(stack, 0, sizeof(stack));
	memset(&mem, 0, sizeof(mem));
	mem.nr = 1;
	mem.regions[0] = (struct fake_region){ STACK_BASE, STACK_SIZE, stack };
	memset(&code, 0, sizeof(code));
	code.base = CODE_BASE;
	put_insns(CALLER, caller, 7);
	put_insns(FRAMED, framed, 9);
	put_insns(FRAMELESS, frameless, 4);
	put_insns(CALLER2, caller, 7);
	code.funcs[code.nr_funcs++] = (struct fake_function){ CALLER, 7 * 4 };
	code.funcs[code.nr_funcs++] = (struct fake_function){ FRAMED, 9 * 4 };
	code.funcs[code.nr_funcs++] = (struct fake_function){ FRAMELESS, 4 * 4 };
	code.funcs[code.nr_funcs++] = (struct fake_function){ CALLER2, 7 * 4 };
	return 0;
}

static void record(uint64_t fp, uint64_t next_fp, uint64_t lr)
{
	put_le64(stack + (fp - STACK_BASE), next_fp);
	put_le64(stack + (fp - STACK_BASE) + 8, lr);
}

static struct up_walk walk(const struct up_regs *r, int with_code, uint64_t *pcs, size_t max)
{
	struct up_walk_env env = { .read = fake_read, .read_ctx = &mem };
	struct up_walk w;

	if (with_code) {
		env.func_start = fake_func_start;
		env.read_code = fake_read_code;
		env.code_ctx = &code;
	}
	assert_null(up_arch_arm64.walk_frames(r, &env, pcs, max, &w));
	return w;
}

static struct up_regs regs(uint64_t pc, uint64_t fp, uint64_t lr)
{
	struct up_regs r = { .pc = pc, .fp = fp, .lr = lr, .sp = fp - 64 };

	r.arm64.tcr = TCR;
	return r;
}

/*
 * The stack of every test: CALLER2 called CALLER (record at +0x100), which called the
 * function under test; the outermost record has a null frame pointer.
 */
static void two_callers(void)
{
	record(STACK_BASE + 0x100, STACK_BASE + 0x200, CALLER2 + 12);  /* CALLER's record */
	record(STACK_BASE + 0x200, 0, 0xffff800040200100ULL);          /* CALLER2's record */
}

static void framed_leaf_with_record(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	/* FRAMED after its prologue: its own record at +0x80 holds CALLER's return address. */
	record(STACK_BASE + 0x80, STACK_BASE + 0x100, CALLER + 12);
	r = regs(FRAMED + 12, STACK_BASE + 0x80, FRAMED + 20);  /* a stale LR from its own bl */
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 4);
	assert_int_equal(pcs[1], CALLER + 12);
	assert_int_equal(pcs[2], CALLER2 + 12);
	assert_int_equal(pcs[3], 0xffff800040200100ULL);
}

static void frameless_leaf_takes_lr(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	/* FRAMELESS never stores a record: x29 is CALLER's, the caller only in LR. */
	r = regs(FRAMELESS + 4, STACK_BASE + 0x100, CALLER + 12);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_FRAMELESS);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 4);
	assert_int_equal(pcs[0], FRAMELESS + 4);
	assert_int_equal(pcs[1], CALLER + 12);
	assert_int_equal(pcs[2], CALLER2 + 12);
	/* Without the code oracle the caller is lost, never invented. */
	w = walk(&r, 0, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 3);
	assert_int_equal(pcs[1], CALLER2 + 12);
}

static void prologue_takes_lr(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	/* At paciasp, stp and "mov x29, sp" x29 still is the caller's. */
	for (int i = 0; i <= 2; i++) {
		r = regs(FRAMED + 4 * i, STACK_BASE + 0x100, CALLER + 12);
		w = walk(&r, 1, pcs, 16);
		assert_int_equal(w.fixup, UP_FIXUP_ENTRY);
		assert_int_equal(w.depth, 4);
		assert_int_equal(pcs[1], CALLER + 12);
	}
}

static void return_after_epilogue_takes_lr(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	/* At autiasp and at ret the epilogue restored the caller's x29; LR is PAC-signed at
	 * autiasp: its upper bits must go. */
	r = regs(FRAMED + 28, STACK_BASE + 0x100, (CALLER + 12) & ~(0x7fULL << 48));
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_RETURN);
	assert_int_equal(pcs[1], CALLER + 12);
	r = regs(FRAMED + 32, STACK_BASE + 0x100, CALLER + 12);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_RETURN);
	assert_int_equal(w.depth, 4);
	/* At the ldp itself the function's own record is still in place: no fixup. */
	record(STACK_BASE + 0x80, STACK_BASE + 0x100, CALLER + 12);
	r = regs(FRAMED + 24, STACK_BASE + 0x80, FRAMED + 20);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 4);
}

static void implausible_lr_is_refused(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	/* LR not after a branch-with-link (CALLER + 4 follows "stp"). */
	r = regs(FRAMELESS + 4, STACK_BASE + 0x100, CALLER + 4);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	assert_int_equal(w.depth, 3);
	/* LR into unknown code. */
	r = regs(FRAMELESS + 4, STACK_BASE + 0x100, 0xffff800050000000ULL);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	/* LR of zero. */
	r = regs(FRAMELESS + 4, STACK_BASE + 0x100, 0);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
}

static void pac_in_saved_lr_is_stripped(void **state)
{
	uint64_t pcs[16], signed_ra = (CALLER2 + 12) & ~(0x5aULL << 48);
	struct up_walk w;
	struct up_regs r;

	(void)state;
	record(STACK_BASE + 0x100, 0, signed_ra);
	r = regs(FRAMED + 12, STACK_BASE + 0x100, 0);
	w = walk(&r, 0, pcs, 16);
	assert_int_equal(w.depth, 2);
	assert_int_equal(pcs[1], CALLER2 + 12);
	/* A user-space (TTBR0) return address keeps its upper bits clear. */
	record(STACK_BASE + 0x100, 0, 0x0012000000401234ULL);
	w = walk(&r, 0, pcs, 16);
	assert_int_equal(pcs[1], 0x0000000000401234ULL);
}

static void stop_rules(void **state)
{
	uint64_t pcs[4];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	/* Loop. */
	record(STACK_BASE + 0x100, STACK_BASE + 0x100, CALLER + 12);
	r = regs(FRAMED + 12, STACK_BASE + 0x100, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	/* Unreadable. */
	r = regs(FRAMED + 12, STACK_BASE + 0x10000, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_FAULT);
	/* Misaligned and non-canonical frame pointers are not read. */
	mem.reads = 0;
	r = regs(FRAMED + 12, STACK_BASE + 0x104, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	r = regs(FRAMED + 12, 0xff00800040209100ULL, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(mem.reads, 0);
	/* A saved return address that is not 4-byte aligned is no A64 code address. */
	record(STACK_BASE + 0x100, STACK_BASE + 0x200, CALLER + 14);
	r = regs(FRAMED + 12, STACK_BASE + 0x100, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(w.depth, 1);
	/* x29 below sp is not a frame of the running stack. */
	record(STACK_BASE + 0x100, 0, CALLER + 12);
	r = regs(FRAMED + 12, STACK_BASE + 0x100, 0);
	r.sp = STACK_BASE + 0x108;
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
	assert_int_equal(w.depth, 1);
	/* Depth cap, with a frameless leaf's LR counted as a frame. */
	for (int i = 0; i < 8; i++)
		record(STACK_BASE + 0x100 + 0x10 * i, STACK_BASE + 0x110 + 0x10 * i, CALLER + 12);
	r = regs(FRAMELESS, STACK_BASE + 0x100, CALLER + 12);
	w = walk(&r, 1, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_DEPTH);
	assert_int_equal(w.depth, 4);
	assert_int_equal(w.fixup, UP_FIXUP_FRAMELESS);
	w = walk(&r, 1, pcs, 1);
	assert_int_equal(w.depth, 1);
	assert_int_equal(w.fixup, UP_FIXUP_NONE);
	/* x29 at zeros (code built without frame records): truncated, not the end. */
	memset(stack, 0, sizeof(stack));
	r = regs(FRAMED + 12, STACK_BASE + 0x100, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_ZERO_RECORD);
	assert_int_equal(w.depth, 1);
	/* x29 null in the registers, in code not known to be outermost: the same. */
	r = regs(FRAMED + 12, 0, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_NULL_FP);
	assert_true(up_walk_truncated(&w));
	/* Through a record, a null x29 and a zero record both end the chain. */
	record(STACK_BASE + 0x100, 0, CALLER + 12);
	r = regs(FRAMED + 12, STACK_BASE + 0x100, 0);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 2);
	record(STACK_BASE + 0x100, STACK_BASE + 0x110, CALLER + 12);
	w = walk(&r, 0, pcs, 4);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 2);
}

static void regs_from_gdb(void **state)
{
	uint8_t g[268] = { 0 };
	struct up_regs r;
	struct up_error *err;

	(void)state;
	for (int i = 0; i < 29; i++)
		put_le64(g + i * 8, 0xa000 + i);
	put_le64(g + 29 * 8, 0x1111);
	put_le64(g + 30 * 8, 0x2222);
	put_le64(g + 31 * 8, 0x3333);
	put_le64(g + 32 * 8, 0x4444);
	g[33 * 8] = 0xc5;
	assert_null(up_arch_arm64.regs_from_gdb(g, sizeof(g), &r));
	/* Every general register, in DWARF numbering: x0-x30, sp 31, pc 32. */
	assert_int_equal(up_arch_arm64.nr_gprs, 33);
	assert_int_equal(r.gpr_valid, (1ULL << 33) - 1);
	for (int i = 0; i < 29; i++)
		assert_int_equal(r.gpr[i], 0xa000 + i);
	assert_int_equal(r.gpr[ARM64_X29], 0x1111);
	assert_int_equal(r.gpr[ARM64_X30], 0x2222);
	assert_int_equal(r.gpr[ARM64_SP], 0x3333);
	assert_int_equal(r.gpr[ARM64_PC], 0x4444);
	assert_int_equal(r.fp, 0x1111);
	assert_int_equal(r.lr, 0x2222);
	assert_int_equal(r.sp, 0x3333);
	assert_int_equal(r.pc, 0x4444);
	assert_int_equal(r.arm64.cpsr, 0xc5);
	up_arch_arm64.set_sysreg(&r, 0, TCR);
	up_arch_arm64.set_exception_sysreg(&r, 0, 0xffff800008010800);
	up_arch_arm64.set_exception_sysreg(&r, 1, 0xffff800008123456);
	up_arch_arm64.set_exception_sysreg(&r, 2, 0x80000005);
	up_arch_arm64.set_sysreg(&r, 1, 0xffff000012345600);
	up_arch_arm64.set_sysreg(&r, 2, 0x40207000);
	up_arch_arm64.set_sysreg(&r, 3, 0x40203000);
	up_arch_arm64.set_sysreg(&r, 4, 0x30d0180d);
	assert_int_equal(r.arm64.vbar, 0xffff800008010800);
	assert_int_equal(up_arch_arm64.vector_base(&r), 0xffff800008010800);
	assert_int_equal(r.arm64.elr, 0xffff800008123456);
	assert_int_equal(r.arm64.spsr, 0x80000005);
	assert_true(r.arm64.sp_el0 == 0xffff000012345600);
	/* cpsr 0xc5 is EL1h: not user mode. */
	assert_false(r.user);
	assert_int_equal(r.arm64.ttbr0, 0x40207000);
	assert_int_equal(r.arm64.ttbr1, 0x40203000);
	assert_int_equal(r.arm64.tcr, TCR);
	assert_int_equal(r.arm64.sctlr, 0x30d0180d);
	err = up_arch_arm64.regs_from_gdb(g, 200, &r);
	assert_non_null(err);
	up_error_destroy(err);
	assert_ptr_equal(up_arch_find("aarch64"), &up_arch_arm64);
	assert_string_equal(up_arch_arm64.gdb_sysregs[0], "TCR_EL1");
	assert_string_equal(up_arch_arm64.gdb_sysregs[1], "SP_EL0");
	assert_string_equal(up_arch_arm64.gdb_sysregs[4], "SCTLR_EL1|SCTLR");
	assert_int_equal(up_arch_arm64.gdb_walk_sysregs, 2);
	assert_string_equal(up_arch_arm64.gdb_exception_sysregs[0], "VBAR_EL1|VBAR");
	assert_int_equal(up_arch_arm64.exception_window, 0x2000);
}

/*
 * An exception taken in FRAMELESS (called by CALLER): the entry code (ENTRY, which builds no
 * record) saved a pt_regs and stored the record [x29, ELR_EL1] in it, then called the handler
 * FRAMED.  The walk from the handler must give the interrupted pc as exact and take its caller
 * from the saved x30; with pt_regs' pc not the record's, the record is a plain one.
 */
#define ENTRY (CODE_BASE + 0x400)
#define PT_REGS (STACK_BASE + 0x500)
#define PT_RECORD (PT_REGS + 0x130)

static void exception_record_mid_walk(void **state)
{
	static const uint32_t entry[] = { NOP, NOP, NOP, NOP, BL, NOP, RET };
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	put_insns(ENTRY, entry, 7);
	code.funcs[code.nr_funcs++] = (struct fake_function){ ENTRY, 7 * 4 };
	/* The interrupted frames lie above the registers saved for them. */
	record(STACK_BASE + 0x800, STACK_BASE + 0x900, CALLER2 + 12);  /* CALLER's record */
	record(STACK_BASE + 0x900, 0, 0xffff800040200100ULL);          /* CALLER2's record */
	record(STACK_BASE + 0x300, PT_RECORD, ENTRY + 0x14);           /* FRAMED's record */
	record(PT_RECORD, STACK_BASE + 0x800, FRAMELESS + 8);          /* the entry's */
	put_le64(stack + (PT_REGS - STACK_BASE) + 29 * 8, STACK_BASE + 0x800);
	put_le64(stack + (PT_REGS - STACK_BASE) + 30 * 8, CALLER + 12);
	put_le64(stack + (PT_REGS - STACK_BASE) + 31 * 8, STACK_BASE + 0x7f0);
	put_le64(stack + (PT_REGS - STACK_BASE) + 32 * 8, FRAMELESS + 8);
	put_le64(stack + (PT_REGS - STACK_BASE) + 33 * 8, 0x60000005);  /* EL1h */

	r = regs(FRAMED + 12, STACK_BASE + 0x300, 0);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.depth, 6);
	assert_int_equal(pcs[0], FRAMED + 12);
	assert_int_equal(pcs[1], ENTRY + 0x14);
	assert_int_equal(pcs[2], FRAMELESS + 8);
	assert_int_equal(pcs[3], CALLER + 12);
	assert_int_equal(pcs[4], CALLER2 + 12);
	assert_int_equal(w.exact, 1ULL << 2);
	assert_int_equal(w.stop, UP_WALK_END);

	/* Without the code oracle nothing says ENTRY is entry code: a plain record. */
	w = walk(&r, 0, pcs, 16);
	assert_int_equal(pcs[2], FRAMELESS + 8);
	assert_int_equal(pcs[3], CALLER2 + 12);
	assert_int_equal(w.exact, 0);

	/* pt_regs' pc is not the record's: a plain record too. */
	put_le64(stack + (PT_REGS - STACK_BASE) + 32 * 8, FRAMELESS + 4);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[3], CALLER2 + 12);
	assert_int_equal(w.exact, 0);
}

/* A vCPU stopped on the vectors is walked from ELR_EL1 with its own x29 and x30. */
static void on_the_vectors(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	r = regs(CODE_BASE + 0x880, STACK_BASE + 0x100, CALLER + 12);
	r.arm64.vbar = CODE_BASE + 0x800;
	r.arm64.elr = FRAMELESS + 8;
	r.arm64.spsr = 0x60000005;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[0], FRAMELESS + 8);
	assert_int_equal(pcs[1], CALLER + 12);
	assert_int_equal(pcs[2], CALLER2 + 12);
	assert_int_equal(w.fixup, UP_FIXUP_FRAMELESS);
	assert_int_equal(w.stop, UP_WALK_END);
	/* Past the table (0x800 bytes), or with no VBAR_EL1, the pc is the leaf. */
	r.pc = CODE_BASE + 0x1000;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[0], CODE_BASE + 0x1000);
	r.pc = CODE_BASE + 0x880;
	r.arm64.vbar = 0;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[0], CODE_BASE + 0x880);
}

/*
 * In entry code after the vectors (it starts by saving x0 and x1 at sp), before the entry made
 * its record: the interrupted context (ELR_EL1, x29, x30) is the caller of the entry pc; from
 * EL0 the entry pc is the root.
 */
#define STP_X0_X1_SP 0xa90007e0u  /* stp x0, x1, [sp] */
#define STP_X2_X3_SP 0xa9010fe2u  /* stp x2, x3, [sp, #16] */

/* The walk from ENTRY + 8 gives FRAMELESS + 8 (exact), then CALLER's and CALLER2's. */
static void assert_interrupted_in_frameless(const struct up_regs *r)
{
	uint64_t pcs[16];
	struct up_walk w = walk(r, 1, pcs, 16);

	assert_int_equal(w.depth, 5);
	assert_int_equal(pcs[0], ENTRY + 8);
	assert_int_equal(pcs[1], FRAMELESS + 8);
	assert_int_equal(pcs[2], CALLER + 12);
	assert_int_equal(pcs[3], CALLER2 + 12);
	assert_int_equal(w.exact, 1ULL << 1);
	assert_int_equal(w.fixup, UP_FIXUP_INTERRUPT);
	assert_int_equal(w.stop, UP_WALK_END);
}

static void in_entry_code_before_its_record(void **state)
{
	static const uint32_t entry[] = { STP_X0_X1_SP, STP_X2_X3_SP, NOP, NOP, BL, NOP, RET };
	uint64_t pcs[16], pt_regs, pt_record;
	struct up_walk w;
	struct up_regs r;

	(void)state;
	put_insns(ENTRY, entry, 7);
	code.funcs[code.nr_funcs++] = (struct fake_function){ ENTRY, 7 * 4 };
	two_callers();
	/* An IRQ from EL1 interrupted FRAMELESS, called by CALLER: sp is below the pt_regs. */
	r = regs(ENTRY + 8, STACK_BASE + 0x100, CALLER + 12);
	r.sp = STACK_BASE + 0x100 - 0x400;
	r.arm64.vbar = ENTRY - 0x900;
	r.arm64.elr = FRAMELESS + 8;
	r.arm64.spsr = 0x600003c5;  /* EL1h, interrupts masked */
	assert_interrupted_in_frameless(&r);

	/* From EL0: the entry pc alone, a complete walk (user mode is not walked). */
	r.arm64.spsr = 0x80000000;
	r.fp = 0x0000ffffc0001000ULL;  /* the user's x29 */
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.depth, 1);
	assert_int_equal(pcs[0], ENTRY + 8);
	assert_int_equal(w.stop, UP_WALK_END);

	/*
	 * Once x29 points at the record in the registers saved at sp ([x29, pc] as saved), the
	 * record is followed and the saved x30 gives the interrupted function's caller.
	 */
	pt_regs = PT_REGS;
	pt_record = PT_RECORD;
	record(STACK_BASE + 0x800, STACK_BASE + 0x900, CALLER2 + 12);  /* CALLER's record */
	record(STACK_BASE + 0x900, 0, 0xffff800040200100ULL);          /* CALLER2's record */
	record(pt_record, STACK_BASE + 0x800, FRAMELESS + 8);
	put_le64(stack + (pt_regs - STACK_BASE) + 29 * 8, STACK_BASE + 0x800);
	put_le64(stack + (pt_regs - STACK_BASE) + 30 * 8, CALLER + 12);
	put_le64(stack + (pt_regs - STACK_BASE) + 31 * 8, STACK_BASE + 0x7f0);
	put_le64(stack + (pt_regs - STACK_BASE) + 32 * 8, FRAMELESS + 8);
	put_le64(stack + (pt_regs - STACK_BASE) + 33 * 8, 0x600003c5);
	r.arm64.spsr = 0x600003c5;
	r.arm64.elr = 0xffff800040208000ULL;  /* a later exception's: not looked at */
	r.sp = pt_regs;
	r.fp = pt_record;
	r.lr = 0xffff800040207000ULL;
	assert_interrupted_in_frameless(&r);
	/* From EL0, saved: the entry pc alone. */
	put_le64(stack + (pt_regs - STACK_BASE) + 33 * 8, 0x80000000);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.depth, 1);
	assert_int_equal(w.stop, UP_WALK_END);
	/*
	 * A record that does not repeat the saved x29 and pc is not made yet: ELR_EL1 is the
	 * interrupted pc.
	 */
	put_le64(stack + (pt_regs - STACK_BASE) + 33 * 8, 0x600003c5);
	put_le64(stack + (pt_regs - STACK_BASE) + 29 * 8, STACK_BASE + 0x900);
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[1], 0xffff800040208000ULL);
	assert_int_equal(w.exact, 1ULL << 1);

	/*
	 * Outside the window, without the code oracle, or in a function with a record, the rule
	 * is off: code without a record is a frameless leaf there, whose caller is x30.
	 */
	r = regs(ENTRY + 8, STACK_BASE + 0x100, CALLER + 12);
	r.sp = STACK_BASE + 0x100 - 0x400;
	r.arm64.elr = FRAMELESS + 8;
	r.arm64.spsr = 0x600003c5;
	r.arm64.vbar = ENTRY - 0x2000 - 8;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[1], CALLER + 12);
	assert_int_equal(w.fixup, UP_FIXUP_FRAMELESS);
	r.arm64.vbar = ENTRY - 0x900;
	w = walk(&r, 0, pcs, 16);
	assert_int_equal(pcs[1], CALLER2 + 12);
	r.pc = FRAMED + 12;
	r.arm64.vbar = FRAMED + 12 - 0x900;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[1], CALLER2 + 12);
	assert_int_equal(w.exact, 0);
}

/*
 * A frameless function of ordinary code placed after the vectors (a small kernel's layout),
 * that saves no registers at sp, is no entry code: its caller is x30, even with x29 just
 * above sp and ELR_EL1 left by an old exception.
 */
static void frameless_after_the_vectors(void **state)
{
	uint64_t pcs[16];
	struct up_walk w;
	struct up_regs r;

	(void)state;
	two_callers();
	r = regs(FRAMELESS + 8, STACK_BASE + 0x100, CALLER + 12);
	r.sp = STACK_BASE + 0x100;
	r.arm64.vbar = FRAMELESS - 0xdc0;
	r.arm64.elr = FRAMED + 4;
	r.arm64.spsr = 0x600003c5;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(w.depth, 4);
	assert_int_equal(pcs[1], CALLER + 12);
	assert_int_equal(pcs[2], CALLER2 + 12);
	assert_int_equal(w.fixup, UP_FIXUP_FRAMELESS);
	r.arm64.elr = 0;
	w = walk(&r, 1, pcs, 16);
	assert_int_equal(pcs[1], CALLER + 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(exception_record_mid_walk, setup),
		cmocka_unit_test_setup(on_the_vectors, setup),
		cmocka_unit_test_setup(in_entry_code_before_its_record, setup),
		cmocka_unit_test_setup(frameless_after_the_vectors, setup),
		cmocka_unit_test_setup(framed_leaf_with_record, setup),
		cmocka_unit_test_setup(frameless_leaf_takes_lr, setup),
		cmocka_unit_test_setup(prologue_takes_lr, setup),
		cmocka_unit_test_setup(return_after_epilogue_takes_lr, setup),
		cmocka_unit_test_setup(implausible_lr_is_refused, setup),
		cmocka_unit_test_setup(pac_in_saved_lr_is_stripped, setup),
		cmocka_unit_test_setup(stop_rules, setup),
		cmocka_unit_test_setup(regs_from_gdb, setup),
	};

	return cmocka_run_group_tests_name("walk_arm64", tests, NULL, NULL);
}
