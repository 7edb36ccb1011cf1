/*
 * The unwinders over fake guest memory and hand-made CFI rows: applying a row (CFA, every rule
 * kind, roots, faults), the cfi walk, the auto walk mixing CFI and frame-record steps, the
 * bounds (a stack that must grow, the depth cap), and the registry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../arch/arm64/arm64.h"
#include "../../arch/x86_64/x86_64.h"
#include "../../unwind/unwinder.h"
#include "fake_code.h"
#include "fake_memory.h"

#define STACK_BASE 0xffffc90000010000ULL
#define STACK_SIZE 4096

static uint8_t stack[STACK_SIZE];
static struct fake_memory mem;

static void put(uint64_t addr, uint64_t value)
{
	put_le64(stack + (addr - STACK_BASE), value);
}

static void reset_memory(void)
{
	memset(stack, 0, sizeof(stack));
	memset(&mem, 0, sizeof(mem));
	mem.nr = 1;
	mem.regions[0] = (struct fake_region){ STACK_BASE, STACK_SIZE, stack };
}

/* A row: CFA = reg + offset, the return address in column ra, every register the same. */
static struct up_cfi_row row(uint64_t addr, int cfa_reg, int32_t cfa_offset, int ra)
{
	struct up_cfi_row r;

	memset(&r, 0, sizeof(r));
	r.addr = addr;
	r.status = UP_CFI_OK;
	r.cfa_reg = (uint8_t)cfa_reg;
	r.cfa_offset = cfa_offset;
	r.ra_reg = (uint8_t)ra;
	return r;
}

static void rule(struct up_cfi_row *r, int reg, enum up_cfi_rule kind, int32_t value)
{
	r->rule[reg] = kind;
	r->value[reg] = value;
}

/* x86_64 registers of a frame: pc, rsp, rbp and rbx known. */
static struct up_regs x86_regs(uint64_t pc, uint64_t sp, uint64_t bp, uint64_t bx)
{
	struct up_regs r = { .pc = pc, .sp = sp, .fp = bp };

	up_regs_set_gpr(&r, X86_64_RIP, pc);
	up_regs_set_gpr(&r, X86_64_RSP, sp);
	up_regs_set_gpr(&r, X86_64_RBP, bp);
	up_regs_set_gpr(&r, X86_64_RBX, bx);
	return r;
}

static struct up_walk_env walk_env(void)
{
	return (struct up_walk_env){ .read = fake_read, .read_ctx = &mem };
}

/* A function that pushed rbx and rbx, then allocated 16 bytes: the caller's registers. */
static void apply_x86_64(void **state)
{
	struct up_walk_env env = walk_env();
	struct up_regs r = x86_regs(0x1000, STACK_BASE + 0x100, 0xbbbb, 0x1234);
	struct up_cfi_row cr = row(0x1000, X86_64_RSP, 40, X86_64_RIP);
	struct up_cfi_step step;

	(void)state;
	reset_memory();
	/* CFA = rsp + 40: [cfa-8] return address, [cfa-16] rbp, [cfa-24] rbx. */
	rule(&cr, X86_64_RIP, UP_CFI_OFFSET, -8);
	rule(&cr, X86_64_RBP, UP_CFI_OFFSET, -16);
	rule(&cr, X86_64_RBX, UP_CFI_OFFSET, -24);
	rule(&cr, X86_64_RAX, UP_CFI_UNDEFINED, 0);
	put(STACK_BASE + 0x100 + 32, 0xffffffff81000123ULL);
	put(STACK_BASE + 0x100 + 24, STACK_BASE + 0x300);
	put(STACK_BASE + 0x100 + 16, 0x5678);
	up_regs_set_gpr(&r, X86_64_RAX, 7);
	up_regs_set_gpr(&r, X86_64_R12, 0x1212);
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_true(step.stepped);
	assert_int_equal(r.pc, 0xffffffff81000123ULL);
	assert_int_equal(r.gpr[X86_64_RIP], 0xffffffff81000123ULL);
	assert_int_equal(r.sp, STACK_BASE + 0x100 + 40);
	assert_int_equal(r.gpr[X86_64_RSP], STACK_BASE + 0x128);
	assert_int_equal(r.fp, STACK_BASE + 0x300);
	assert_int_equal(r.gpr[X86_64_RBX], 0x5678);
	/* Undefined: unknown; same value: kept. */
	assert_false((r.gpr_valid >> X86_64_RAX) & 1);
	assert_true((r.gpr_valid >> X86_64_R12) & 1);
	assert_int_equal(r.gpr[X86_64_R12], 0x1212);
	/* The save area was read at once. */
	assert_int_equal(mem.reads, 1);
}

/* val_offset and register rules, and a save area too spread out to read at once. */
static void apply_other_rules(void **state)
{
	struct up_walk_env env = walk_env();
	struct up_regs r = x86_regs(0x1000, STACK_BASE + 0x100, 0xbbbb, 0x1234);
	struct up_cfi_row cr = row(0x1000, X86_64_RBP, 0x10, X86_64_RIP);
	struct up_cfi_step step;

	(void)state;
	reset_memory();
	r.fp = STACK_BASE + 0x100;
	up_regs_set_gpr(&r, X86_64_RBP, STACK_BASE + 0x100);
	rule(&cr, X86_64_RIP, UP_CFI_OFFSET, -8);
	rule(&cr, X86_64_RBP, UP_CFI_OFFSET, -0x400);   /* far from the return address */
	rule(&cr, X86_64_R13, UP_CFI_VAL_OFFSET, 0x20);
	rule(&cr, X86_64_R14, UP_CFI_REGISTER, X86_64_RBX);
	put(STACK_BASE + 0x108, 0x401000);
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	/* -0x400 from the CFA is below the stack: that read faults. */
	assert_false(step.stepped);
	assert_int_equal(step.stop, UP_WALK_FAULT);
	rule(&cr, X86_64_RBP, UP_CFI_OFFSET, 0x300);
	put(STACK_BASE + 0x110 + 0x300, 0xabcd);
	mem.reads = 0;
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_true(step.stepped);
	assert_int_equal(mem.reads, 2);
	assert_int_equal(r.pc, 0x401000);
	assert_int_equal(r.fp, 0xabcd);
	assert_int_equal(r.gpr[X86_64_R13], STACK_BASE + 0x130);
	assert_int_equal(r.gpr[X86_64_R14], 0x1234);
	assert_int_equal(r.sp, STACK_BASE + 0x110);
}

/* Roots, a zero return address, unknown registers, unsupported rows, a lost target. */
static void apply_stops(void **state)
{
	struct up_walk_env env = walk_env();
	struct up_regs r = x86_regs(0x1000, STACK_BASE + 0x100, 0, 0), before;
	struct up_cfi_row cr = row(0x1000, X86_64_RSP, 8, X86_64_RIP);
	struct up_cfi_step step;
	struct up_error *err;

	(void)state;
	reset_memory();
	rule(&cr, X86_64_RIP, UP_CFI_OFFSET, -8);
	before = r;
	/* Return address undefined: the outermost frame. */
	cr.status = UP_CFI_ROOT;
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_false(step.stepped);
	assert_int_equal(step.stop, UP_WALK_END);
	/* A zero return address ends the stack too. */
	cr.status = UP_CFI_OK;
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_int_equal(step.stop, UP_WALK_END);
	/* A non-canonical one is no return address. */
	put(STACK_BASE + 0x100, 0x0000900000000000ULL);
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_int_equal(step.stop, UP_WALK_BAD_ADDRESS);
	/* An expression we do not evaluate. */
	cr.status = UP_CFI_NO_CFA;
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_int_equal(step.stop, UP_WALK_NO_RULE);
	/* The CFA's register unknown (after a frame-pointer step, say). */
	cr.status = UP_CFI_OK;
	r.gpr_valid &= ~(1ULL << X86_64_RSP);
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_int_equal(step.stop, UP_WALK_NO_RULE);
	/* The return address in a register that is unknown; nothing changes on a stop. */
	r = before;
	rule(&cr, X86_64_RIP, UP_CFI_SAME, 0);
	r.gpr_valid &= ~(1ULL << X86_64_RIP);
	before = r;
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_int_equal(step.stop, UP_WALK_NO_RULE);
	assert_memory_equal(&r, &before, sizeof(r));
	/* A read that fails for another reason is handed up. */
	rule(&cr, X86_64_RIP, UP_CFI_OFFSET, -8);
	mem.lost_at = STACK_BASE + 0x100;
	err = up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_LOST);
	assert_int_equal(step.stop, UP_WALK_FAULT);
	up_error_destroy(err);
}

/* arm64: a leaf's return address is still in x30 (rule: same value); PAC bits are stripped. */
static void apply_arm64(void **state)
{
	struct up_walk_env env = walk_env();
	struct up_regs r = { .pc = 0xffff800040201010ULL, .sp = STACK_BASE + 0x100 };
	struct up_cfi_row cr = row(r.pc, ARM64_SP, 0, ARM64_X30);
	struct up_cfi_step step;

	(void)state;
	reset_memory();
	r.arm64.tcr = 0x1b5103510ULL;  /* T1SZ = 16: 48-bit upper-half addresses */
	for (int i = 0; i < ARM64_NR_GPRS; i++)
		up_regs_set_gpr(&r, (unsigned int)i, 0x100 + i);
	up_regs_set_gpr(&r, ARM64_SP, r.sp);
	up_regs_set_gpr(&r, ARM64_PC, r.pc);
	up_regs_set_gpr(&r, ARM64_X30, 0xffff800040202004ULL | (0x5aULL << 48));
	assert_null(up_cfi_apply(&cr, &up_arch_arm64, &env, &r, &step));
	assert_true(step.stepped);
	assert_int_equal(r.pc, 0xffff800040202004ULL);
	assert_int_equal(r.gpr[ARM64_PC], 0xffff800040202004ULL);
	assert_int_equal(r.sp, STACK_BASE + 0x100);
	assert_int_equal(r.gpr[ARM64_X29], 0x100 + 29);
	assert_int_equal(r.fp, 0x100 + 29);
	assert_int_equal(mem.reads, 0);
}

/* ---- walks -------------------------------------------------------------------------------- */

#define NR_ROWS 8

static struct up_cfi_row rows[NR_ROWS];
static size_t nr_rows;
static uint64_t looked_up[64];
static size_t nr_looked_up;
static struct up_cfi_row none_row;

/* Rows by function: a row covers [addr, addr + 0x100). */
static const struct up_cfi_row *fake_lookup(void *ctx, uint64_t addr)
{
	(void)ctx;
	if (nr_looked_up < 64)
		looked_up[nr_looked_up++] = addr;
	for (size_t i = 0; i < nr_rows; i++) {
		if (addr >= rows[i].addr && addr - rows[i].addr < 0x100)
			return &rows[i];
	}
	memset(&none_row, 0, sizeof(none_row));
	none_row.status = UP_CFI_NONE;
	return &none_row;
}

/* Function addresses for the walks. */
#define LEAF 0xffffffff81000000ULL
#define MID 0xffffffff81000100ULL
#define ASM 0xffffffff81000200ULL   /* no CFI: frame records */
#define OUTER 0xffffffff81000300ULL
#define ENTRY 0xffffffff81000400ULL /* return address undefined */

/* A no-FP frame: CFA = rsp + size, return address at CFA - 8, rbx saved at CFA - 16. */
static struct up_cfi_row nofp_row(uint64_t fn, int32_t size)
{
	struct up_cfi_row r = row(fn, X86_64_RSP, size, X86_64_RIP);

	rule(&r, X86_64_RIP, UP_CFI_OFFSET, -8);
	for (int i = 0; i < X86_64_NR_GPRS; i++)
		if (i != X86_64_RIP && i != X86_64_RBX && i != X86_64_RBP && i < X86_64_R12)
			rule(&r, i, UP_CFI_UNDEFINED, 0);
	return r;
}

static struct up_unwind_env unwind_env(void)
{
	return (struct up_unwind_env){
		.walk = walk_env(),
		.arch = &up_arch_x86_64,
		.cfi_lookup = fake_lookup,
	};
}

/*
 * LEAF (CFI, 16 bytes) called by MID (CFI, 32 bytes, saved rbp) called by ASM (no CFI, a
 * frame record at rbp) called by OUTER (CFI) called by ENTRY (root).
 */
static void build_mixed_stack(void)
{
	uint64_t sp = STACK_BASE + 0x100;

	reset_memory();
	nr_rows = 0;
	nr_looked_up = 0;
	rows[nr_rows++] = nofp_row(LEAF, 16);
	rows[nr_rows] = nofp_row(MID, 32);
	rule(&rows[nr_rows++], X86_64_RBP, UP_CFI_OFFSET, -16);
	rows[nr_rows++] = nofp_row(OUTER, 16);
	rows[nr_rows] = nofp_row(ENTRY, 8);
	rows[nr_rows++].status = UP_CFI_ROOT;
	/* LEAF's frame: sp .. sp+16, return address into MID at sp+8. */
	put(sp + 8, MID + 0x20);
	/* MID's frame: sp+16 .. sp+48: saved rbp (ASM's frame record) at +32, return at +40. */
	put(sp + 16 + 16, STACK_BASE + 0x200);
	put(sp + 16 + 24, ASM + 0x10);
	/* ASM: its record at 0x200: [saved rbp 0, return into OUTER]. */
	put(STACK_BASE + 0x200, 0);
	put(STACK_BASE + 0x208, OUTER + 0x30);
	/* OUTER: CFA = 0x210 + 16: return into ENTRY at 0x218. */
	put(STACK_BASE + 0x218, ENTRY + 0x8);
}

static void auto_mixes_cfi_and_records(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r = x86_regs(LEAF + 4, STACK_BASE + 0x100, 0x42, 0);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 5);
	assert_int_equal(pcs[0], LEAF + 4);
	assert_int_equal(pcs[1], MID + 0x20);
	assert_int_equal(pcs[2], ASM + 0x10);
	assert_int_equal(pcs[3], OUTER + 0x30);
	assert_int_equal(pcs[4], ENTRY + 0x8);
	/* The leaf is looked up at its pc, callers at their return address - 1. */
	assert_int_equal(looked_up[0], LEAF + 4);
	assert_int_equal(looked_up[1], MID + 0x1f);
	assert_int_equal(looked_up[2], ASM + 0xf);
}

static void cfi_stops_without_rule(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r = x86_regs(LEAF + 4, STACK_BASE + 0x100, 0x42, 0);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	assert_null(up_unwinder_cfi.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NO_RULE);
	assert_true(up_walk_truncated(&w));
	assert_int_equal(w.depth, 3);
	/* Without any tables, cfi gives the leaf alone; auto is the frame-pointer walk. */
	env.cfi_lookup = NULL;
	assert_null(up_unwinder_cfi.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NO_RULE);
	assert_int_equal(w.depth, 1);
	r.fp = 0;
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NULL_FP);
	assert_int_equal(w.depth, 1);
}

/* In auto mode a frame-pointer step from CFI-restored registers must find a real record. */
static void auto_record_rules_still_apply(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r = x86_regs(LEAF + 4, STACK_BASE + 0x100, 0x42, 0);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	/* MID's saved rbp is zero: ASM has no record to follow, and no table says it is a root. */
	put(STACK_BASE + 0x100 + 32, 0);
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NULL_FP);
	assert_int_equal(w.depth, 3);
	/* Pointing at zeros: not a record either. */
	put(STACK_BASE + 0x100 + 32, STACK_BASE + 0x400);
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_ZERO_RECORD);
	/* Below MID's frame: not on the stack in use. */
	put(STACK_BASE + 0x100 + 32, STACK_BASE + 0x80);
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_BAD_ADDRESS);
}

static void bounds(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r = x86_regs(LEAF + 4, STACK_BASE + 0x100, 0x42, 0);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	/* The depth cap: a chain that goes on is truncated... */
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 3, &w));
	assert_int_equal(w.stop, UP_WALK_DEPTH);
	assert_int_equal(w.depth, 3);
	/* ...one that ends right at it is not. */
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 5, &w));
	assert_int_equal(w.stop, UP_WALK_END);
	/* A CFA below the stack pointer: the stack did not grow. */
	rows[0].cfa_offset = -16;
	put(STACK_BASE + 0x100 - 24, MID + 0x20);
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	assert_int_equal(w.depth, 1);
	/* A frame that calls itself with no stack: equal once is allowed, not twice. */
	rows[0] = row(LEAF, X86_64_RSP, 0, X86_64_RIP);
	rule(&rows[0], X86_64_RIP, UP_CFI_REGISTER, X86_64_RBX);
	up_regs_set_gpr(&r, X86_64_RBX, LEAF + 9);
	assert_null(up_unwinder_cfi.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	assert_int_equal(w.depth, 2);
}

/* A signal frame's caller is looked up at its exact pc. */
static void signal_frame(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r = x86_regs(LEAF + 4, STACK_BASE + 0x100, 0x42, 0);
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	rows[0].signal = 1;
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(looked_up[1], MID + 0x20);
	assert_int_equal(w.stop, UP_WALK_END);
}

/*
 * An interrupt stub on a stack of its own, sampled at its first instruction: its rules (a
 * signal frame: CFA = rsp + 40, the interrupted rip at CFA - 40 and rsp at CFA - 16, as the
 * hardware pushed them) lead to the interrupted function, on the lower stack, at its exact pc,
 * even when that is the function's first instruction (rip - 1 would be another function).
 */
#define STUB 0xffffffff81000500ULL
#define IRQ_STACK (STACK_BASE + 0x800)

static void interrupt_frame(uint64_t at, uint64_t rip, uint64_t rsp)
{
	put(at, rip);
	put(at + 8, 0x10);           /* cs */
	put(at + 16, 0x2);           /* rflags */
	put(at + 24, rsp);
	put(at + 32, 0x18);          /* ss */
}

static struct up_cfi_row stub_row(void)
{
	struct up_cfi_row r = nofp_row(STUB, 40);

	r.signal = 1;
	rule(&r, X86_64_RIP, UP_CFI_OFFSET, -40);
	rule(&r, X86_64_RSP, UP_CFI_OFFSET, -16);
	return r;
}

static void interrupt_stack_switch(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r;
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	rows[nr_rows++] = stub_row();
	/* Interrupted in LEAF's first instruction: its return address is still on top. */
	put(STACK_BASE + 0x108, MID + 0x20);
	interrupt_frame(IRQ_STACK, LEAF, STACK_BASE + 0x108);
	r = x86_regs(STUB, IRQ_STACK, 0x42, 0);
	/* LEAF's row at its first instruction: CFA = rsp + 8. */
	rows[0] = nofp_row(LEAF, 8);
	assert_null(up_unwinder_cfi.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.switches, 1);
	assert_int_equal(pcs[0], STUB);
	assert_int_equal(pcs[1], LEAF);
	assert_int_equal(pcs[2], MID + 0x20);
	assert_int_equal(looked_up[1], LEAF);
	assert_true(w.exact == 1ULL << 1);
	/* MID's saved rbp and ASM's record as before: cfi stops at ASM, auto goes on to ENTRY. */
	assert_int_equal(w.stop, UP_WALK_NO_RULE);
	nr_looked_up = 0;
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 6);
	assert_int_equal(pcs[5], ENTRY + 0x8);
	assert_int_equal(w.switches, 1);
	assert_true(w.exact == 1ULL << 1);
}

/*
 * The same without unwind rules for the stub (assembly): auto's frame-pointer step recognises
 * the frame the CPU pushed at the stub's first instruction, and CFI takes the interrupted
 * function from its exact pc, on the stack below.
 */
static void interrupt_stub_without_cfi(void **state)
{
	static struct fake_code code;
	static const uint8_t stub[] = { 0x6a, 0x00, 0x50 };   /* push $0; push %rax */
	struct up_unwind_env env = unwind_env();
	struct up_regs r;
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	build_mixed_stack();
	memset(&code, 0, sizeof(code));
	code.base = STUB;
	fake_add_function(&code, STUB, stub, sizeof(stub));
	env.walk.func_start = fake_func_start;
	env.walk.read_code = fake_read_code;
	env.walk.code_ctx = &code;
	put(STACK_BASE + 0x108, MID + 0x20);
	interrupt_frame(IRQ_STACK, LEAF, STACK_BASE + 0x108);
	rows[0] = nofp_row(LEAF, 8);
	r = x86_regs(STUB, IRQ_STACK, 0x42, 0);
	assert_null(up_unwinder_auto.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.fixup, UP_FIXUP_INTERRUPT);
	assert_int_equal(w.switches, 1);
	assert_int_equal(pcs[1], LEAF);
	assert_int_equal(looked_up[1], LEAF);
	assert_int_equal(pcs[2], MID + 0x20);
	assert_int_equal(w.stop, UP_WALK_END);
	assert_int_equal(w.depth, 6);
	assert_true(w.exact == 1ULL << 1);
	/* cfi alone has no rule for the stub. */
	assert_null(up_unwinder_cfi.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.stop, UP_WALK_NO_RULE);
	assert_int_equal(w.depth, 1);
}

/* Interrupt frames that keep leading down: at most UP_MAX_STACK_SWITCHES of them. */
static void switch_cap(void **state)
{
	struct up_unwind_env env = unwind_env();
	struct up_regs r;
	uint64_t pcs[16];
	struct up_walk w;

	(void)state;
	reset_memory();
	nr_rows = 0;
	nr_looked_up = 0;
	rows[nr_rows++] = stub_row();
	for (int i = 0; i < 8; i++)
		interrupt_frame(STACK_BASE + 0xf00 - 0x100 * i, STUB + i,
				STACK_BASE + 0xf00 - 0x100 * (i + 1));
	r = x86_regs(STUB, STACK_BASE + 0xf00, 0, 0);
	assert_null(up_unwinder_cfi.walk(&env, &r, pcs, 16, &w));
	assert_int_equal(w.switches, UP_MAX_STACK_SWITCHES);
	assert_int_equal(w.stop, UP_WALK_NOT_GROWING);
	assert_int_equal(w.depth, UP_MAX_STACK_SWITCHES + 1);
}

/* glibc's signal return: CFA = *(rsp + 160), registers at rsp + N (expressions). */
static void apply_signal_expressions(void **state)
{
	struct up_walk_env env = walk_env();
	struct up_regs r = x86_regs(0x1000, STACK_BASE + 0x800, 0, 0);
	struct up_cfi_row cr = row(0x1000, X86_64_RSP, 160, X86_64_RIP);
	struct up_cfi_step step;

	(void)state;
	reset_memory();
	cr.cfa_deref = 1;
	cr.signal = 1;
	rule(&cr, X86_64_RIP, UP_CFI_EXPR, 168);
	cr.base[X86_64_RIP] = X86_64_RSP;
	rule(&cr, X86_64_RSP, UP_CFI_EXPR, 160);
	cr.base[X86_64_RSP] = X86_64_RSP;
	rule(&cr, X86_64_RBX, UP_CFI_EXPR, 128);
	cr.base[X86_64_RBX] = X86_64_RSP;
	rule(&cr, X86_64_R12, UP_CFI_VAL_EXPR, 8);
	cr.base[X86_64_R12] = X86_64_RSP;
	put(STACK_BASE + 0x800 + 160, STACK_BASE + 0x100);   /* interrupted rsp */
	put(STACK_BASE + 0x800 + 168, 0xffffffff81000123ULL); /* interrupted rip */
	put(STACK_BASE + 0x800 + 128, 0xb0b);
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_true(step.stepped);
	assert_true(step.exact);
	assert_true(step.may_switch);
	assert_int_equal(r.pc, 0xffffffff81000123ULL);
	assert_int_equal(r.sp, STACK_BASE + 0x100);
	assert_int_equal(r.gpr[X86_64_RBX], 0xb0b);
	assert_int_equal(r.gpr[X86_64_R12], STACK_BASE + 0x808);
	/* The CFA's slot unreadable: a fault, the walk ends there. */
	cr.cfa_offset = 0x10000;
	r = x86_regs(0x1000, STACK_BASE + 0x800, 0, 0);
	assert_null(up_cfi_apply(&cr, &up_arch_x86_64, &env, &r, &step));
	assert_false(step.stepped);
	assert_int_equal(step.stop, UP_WALK_FAULT);
}

static void registry(void **state)
{
	(void)state;
	assert_ptr_equal(up_unwinder_find("fp"), &up_unwinder_fp);
	assert_ptr_equal(up_unwinder_find("cfi"), &up_unwinder_cfi);
	assert_ptr_equal(up_unwinder_find("auto"), &up_unwinder_auto);
	assert_ptr_equal(up_unwinder_find("orc"), &up_unwinder_orc);
	assert_null(up_unwinder_find("dwarf"));
	assert_string_equal(up_unwinder_names(), "fp, cfi, auto or orc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(apply_x86_64),
		cmocka_unit_test(apply_other_rules),
		cmocka_unit_test(apply_stops),
		cmocka_unit_test(apply_arm64),
		cmocka_unit_test(auto_mixes_cfi_and_records),
		cmocka_unit_test(cfi_stops_without_rule),
		cmocka_unit_test(auto_record_rules_still_apply),
		cmocka_unit_test(bounds),
		cmocka_unit_test(signal_frame),
		cmocka_unit_test(interrupt_stack_switch),
		cmocka_unit_test(interrupt_stub_without_cfi),
		cmocka_unit_test(switch_cap),
		cmocka_unit_test(apply_signal_expressions),
		cmocka_unit_test(registry),
	};

	return cmocka_run_group_tests_name("unwind", tests, NULL, NULL);
}
