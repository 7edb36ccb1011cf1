/*
 * The guest memory layer (memory/memory.c) over a fake target: guest-physical memory with two
 * RAM ranges and an MMIO hole between them, page tables built by hand in it for x86_64 and
 * arm64, and a virtual source.  The fake counts and records every read it is asked for, so a
 * test can tell a page walk or a block read from a cache hit, and that a device was never read.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../memory/memory.h"
#include "fake_memory.h"

/*
 * Guest-physical memory.  RAM0 ends in the middle of a 4 KiB frame, so that a block read there
 * runs into the hole while a smaller read does not; RAM1 holds two 2 MiB frames.
 */
#define RAM0_END   0xff800ULL
#define RAM1       0x400000ULL
#define PHYS_SIZE  0x800000ULL
#define HOLE       RAM0_END     /* MMIO from here up to RAM1 */

/* Page tables live below TABLES_END, data frames above it; none adjacent to another. */
#define TABLES_END 0x18000ULL
#define FRAME_A    0x20000ULL
#define FRAME_B    0x35000ULL
#define FRAME_C    0x48000ULL
#define FRAME_D    0x5a000ULL
#define FRAME_EDGE 0xff000ULL   /* the frame RAM0 ends inside */
#define FRAME_2M   RAM1
#define FRAME_2M_B (RAM1 + 0x200000)
#define FRAME_MMIO 0x200000ULL

/* x86_64: two sets of 4-level tables, one per root (a cr3). */
struct x86_tables {
	uint64_t pml4, pdpt, pd, pt;
};

static const struct x86_tables root_a = { 0x1000, 0x2000, 0x3000, 0x4000 };
static const struct x86_tables root_b = { 0x5000, 0x6000, 0x7000, 0x8000 };

#define X86_P       0x1ULL
#define X86_RW      0x2ULL
#define X86_PS      0x80ULL
#define CR0_PE      0x1ULL
#define CR0_PG      (1ULL << 31)
#define CR4_PAE     (1ULL << 5)
#define EFER_LME    (1ULL << 8)
#define EFER_LMA    (1ULL << 10)

/* Kernel text: PML4[511], PDPT[510], PD[8], PT[0] onward; each page below is one PT slot. */
#define VA_TEXT     0xffffffff81000000ULL
#define VA_TEXT2    (VA_TEXT + 0x1000)
#define VA_UNMAPPED (VA_TEXT + 0x2000)
#define VA_MMIO     (VA_TEXT + 0x3000)
#define VA_EDGE     (VA_TEXT + 0x4000)
/* PD[16]: a 2 MiB page; PD[17], after it, is not present. */
#define VA_2M       0xffffffff82000000ULL
#define PAGE_2M     0x200000ULL
/* PML4[254]: what a user table maps. */
#define VA_USER     0x00007f0000001000ULL

/* arm64: 4 KiB granule, 48-bit VAs in both halves (T0SZ = T1SZ = 16, TG1 = 2 is 4 KiB). */
struct a64_tables {
	uint64_t l0, l1, l2, l3;
};

static const struct a64_tables ttbr0_tables = { 0x9000, 0xa000, 0xb000, 0xc000 };
static const struct a64_tables ttbr1_tables = { 0xd000, 0xe000, 0xf000, 0x10000 };

#define A64_TCR     (16ULL | 16ULL << 16 | 2ULL << 30)
#define A64_SCTLR_M 0x1ULL
#define A64_TABLE   0x3ULL
#define A64_PAGE    0x3ULL
#define A64_AF      (1ULL << 10)

#define VA_A64_USER   0x0000555555554000ULL
#define VA_A64_KERNEL 0xffff800010000000ULL

/* The virtual source's guest: this window of each vCPU's address space is readable. */
#define VIRT_BASE   0xffff888000000000ULL
#define VIRT_SIZE   0x10000ULL

#define NR_VCPUS_MAX 2
#define LOG_MAX 256

struct source_read {
	uint64_t addr;
	size_t len;
	unsigned int vcpu;   /* virtual reads */
	int ok;
};

struct fake {
	struct up_target base;
	const struct up_arch *arch;
	unsigned int nr_vcpus;
	struct up_regs regs[NR_VCPUS_MAX];
	int paused;
	unsigned int get_regs_calls;
	/* Which reads the source memory() describes offers (exactly one, unless a test breaks it). */
	int source_phys, source_virt;
	size_t block_size;
	/* Every source read, in order (the first LOG_MAX of them recorded). */
	unsigned int reads;
	struct source_read log[LOG_MAX];
	/* When lost, a read covering lost_at (or get_regs, with lost_regs) fails: QEMU exited. */
	int lost, lost_regs;
	uint64_t lost_at;
	/* The virtual guest's contents change with this, as if it ran between pauses. */
	unsigned int generation;
};

static uint8_t phys[PHYS_SIZE];

/* A byte that depends on every bit of its address, so that a wrong frame shows. */
static uint8_t pattern(uint64_t addr)
{
	return (uint8_t)((addr * 0x9e3779b97f4a7c15ULL) >> 56);
}

static int in_ram(uint64_t addr, size_t len)
{
	static const struct { uint64_t base, size; } ram[] = {
		{ 0, RAM0_END },
		{ RAM1, PHYS_SIZE - RAM1 },
	};

	for (size_t i = 0; i < sizeof(ram) / sizeof(ram[0]); i++)
		if (addr >= ram[i].base && len <= ram[i].size && addr - ram[i].base <= ram[i].size - len)
			return 1;
	return 0;
}

static void record(struct fake *f, unsigned int vcpu, uint64_t addr, size_t len, int ok)
{
	if (f->reads < LOG_MAX)
		f->log[f->reads] = (struct source_read){ addr, len, vcpu, ok };
	f->reads++;
}

static int lost_here(const struct fake *f, uint64_t addr, size_t len)
{
	return f->lost && addr <= f->lost_at && f->lost_at - addr < len;
}

static struct up_error *fake_read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	struct fake *f = ctx;

	assert_true(f->paused);
	if (lost_here(f, paddr, len)) {
		record(f, 0, paddr, len, 0);
		return up_error_create(UP_ERR_LOST, "QEMU exited");
	}
	if (!in_ram(paddr, len)) {
		record(f, 0, paddr, len, 0);
		return up_error_fault(paddr, "0x%llx: not RAM", (unsigned long long)paddr);
	}
	record(f, 0, paddr, len, 1);
	memcpy(buf, phys + paddr, len);
	return NULL;
}

/* What vCPU vcpu sees at addr in the virtual guest. */
static uint8_t virt_byte(const struct fake *f, unsigned int vcpu, uint64_t addr)
{
	return pattern(addr + vcpu * 0x1000000ULL + f->generation * 0x3000000ULL);
}

static struct up_error *fake_read_virt(void *ctx, unsigned int vcpu, uint64_t addr, void *buf,
				       size_t len)
{
	struct fake *f = ctx;
	uint8_t *out = buf;

	assert_true(f->paused);
	assert_true(vcpu < f->nr_vcpus);
	if (lost_here(f, addr, len)) {
		record(f, vcpu, addr, len, 0);
		return up_error_create(UP_ERR_LOST, "QEMU exited");
	}
	if (addr < VIRT_BASE || len > VIRT_SIZE || addr - VIRT_BASE > VIRT_SIZE - len) {
		record(f, vcpu, addr, len, 0);
		return up_error_fault(addr, "0x%llx: not mapped", (unsigned long long)addr);
	}
	record(f, vcpu, addr, len, 1);
	for (size_t i = 0; i < len; i++)
		out[i] = virt_byte(f, vcpu, addr + i);
	return NULL;
}

static struct fake *to_fake(struct up_target *t)
{
	return (struct fake *)t;
}

static unsigned int fake_nr_vcpus(struct up_target *t)
{
	return to_fake(t)->nr_vcpus;
}

static const struct up_arch *fake_arch(struct up_target *t)
{
	return to_fake(t)->arch;
}

static struct up_error *fake_pause(struct up_target *t)
{
	struct fake *f = to_fake(t);

	assert_false(f->paused);
	f->paused = 1;
	t->pauses++;
	return NULL;
}

static struct up_error *fake_resume(struct up_target *t)
{
	to_fake(t)->paused = 0;
	return NULL;
}

static struct up_error *fake_get_regs(struct up_target *t, unsigned int vcpu, struct up_regs *ret)
{
	struct fake *f = to_fake(t);

	assert_true(f->paused);
	assert_true(vcpu < f->nr_vcpus);
	f->get_regs_calls++;
	if (f->lost_regs)
		return up_error_create(UP_ERR_LOST, "QEMU exited");
	*ret = f->regs[vcpu];
	return NULL;
}

static void fake_memory(struct up_target *t, struct up_memory_source *ret)
{
	struct fake *f = to_fake(t);

	*ret = (struct up_memory_source){
		.read_phys = f->source_phys ? fake_read_phys : NULL,
		.read_virt = f->source_virt ? fake_read_virt : NULL,
		.ctx = f,
		.block_size = f->block_size,
		.description = "fake",
	};
}

static const struct up_target_ops fake_ops = {
	.name = "fake",
	.nr_vcpus = fake_nr_vcpus,
	.arch = fake_arch,
	.pause = fake_pause,
	.resume = fake_resume,
	.get_regs = fake_get_regs,
	.memory = fake_memory,
};

static void set_entry(uint64_t table, unsigned int index, uint64_t value)
{
	put_le64(phys + table + index * 8, value);
}

static unsigned int x86_index(uint64_t va, int level)
{
	return (va >> (12 + 9 * (level - 1))) & 511;
}

/* Map the 4 KiB page at va to frame through tb (the upper levels are shared by all of tb's). */
static void x86_map_4k(const struct x86_tables *tb, uint64_t va, uint64_t frame)
{
	set_entry(tb->pml4, x86_index(va, 4), tb->pdpt | X86_P | X86_RW);
	set_entry(tb->pdpt, x86_index(va, 3), tb->pd | X86_P | X86_RW);
	set_entry(tb->pd, x86_index(va, 2), tb->pt | X86_P | X86_RW);
	set_entry(tb->pt, x86_index(va, 1), frame | X86_P | X86_RW);
}

static void x86_map_2m(const struct x86_tables *tb, uint64_t va, uint64_t frame)
{
	set_entry(tb->pml4, x86_index(va, 4), tb->pdpt | X86_P | X86_RW);
	set_entry(tb->pdpt, x86_index(va, 3), tb->pd | X86_P | X86_RW);
	set_entry(tb->pd, x86_index(va, 2), frame | X86_PS | X86_P | X86_RW);
}

static struct up_regs x86_long_mode(const struct x86_tables *tb)
{
	struct up_regs r = { 0 };

	r.x86_64.cr0 = CR0_PG | CR0_PE;
	r.x86_64.cr3 = tb->pml4;
	r.x86_64.cr4 = CR4_PAE;
	r.x86_64.efer = EFER_LME | EFER_LMA;
	return r;
}

static unsigned int a64_index(uint64_t va, int level)
{
	return (va >> (39 - 9 * level)) & 511;
}

static void a64_map_4k(const struct a64_tables *tb, uint64_t va, uint64_t frame)
{
	set_entry(tb->l0, a64_index(va, 0), tb->l1 | A64_TABLE);
	set_entry(tb->l1, a64_index(va, 1), tb->l2 | A64_TABLE);
	set_entry(tb->l2, a64_index(va, 2), tb->l3 | A64_TABLE);
	set_entry(tb->l3, a64_index(va, 3), frame | A64_AF | A64_PAGE);
}

static struct up_regs a64_regs(void)
{
	struct up_regs r = { 0 };

	r.arm64.ttbr0 = ttbr0_tables.l0;
	r.arm64.ttbr1 = ttbr1_tables.l0;
	r.arm64.tcr = A64_TCR;
	r.arm64.sctlr = A64_SCTLR_M;
	return r;
}

/*
 * The x86_64 guest every test starts from: root A maps kernel text page 0 to FRAME_B and page 1
 * to FRAME_A (so the virtual range crossing them is physically scattered), VA_MMIO into the
 * hole, VA_EDGE to the frame RAM0 ends inside, VA_2M to a 2 MiB page; VA_UNMAPPED is not present.
 */
static void x86_guest(struct fake *f, unsigned int nr_vcpus, size_t block_size)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fake_ops;
	f->arch = &up_arch_x86_64;
	f->nr_vcpus = nr_vcpus;
	f->source_phys = 1;
	f->block_size = block_size;
	for (uint64_t i = 0; i < PHYS_SIZE; i++)
		phys[i] = i < TABLES_END ? 0 : pattern(i);
	x86_map_4k(&root_a, VA_TEXT, FRAME_B);
	x86_map_4k(&root_a, VA_TEXT2, FRAME_A);
	x86_map_4k(&root_a, VA_MMIO, FRAME_MMIO);
	x86_map_4k(&root_a, VA_EDGE, FRAME_EDGE);
	x86_map_2m(&root_a, VA_2M, FRAME_2M);
	for (unsigned int i = 0; i < nr_vcpus; i++)
		f->regs[i] = x86_long_mode(&root_a);
}

/* The arm64 guest: a user page pair under TTBR0, a kernel page pair under TTBR1, scattered. */
static void a64_guest(struct fake *f, size_t block_size)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fake_ops;
	f->arch = &up_arch_arm64;
	f->nr_vcpus = 1;
	f->source_phys = 1;
	f->block_size = block_size;
	for (uint64_t i = 0; i < PHYS_SIZE; i++)
		phys[i] = i < TABLES_END ? 0 : pattern(i);
	a64_map_4k(&ttbr0_tables, VA_A64_USER, FRAME_C);
	a64_map_4k(&ttbr0_tables, VA_A64_USER + 0x1000, FRAME_A);
	a64_map_4k(&ttbr1_tables, VA_A64_KERNEL, FRAME_D);
	a64_map_4k(&ttbr1_tables, VA_A64_KERNEL + 0x1000, FRAME_B);
	f->regs[0] = a64_regs();
}

static void virt_guest(struct fake *f, unsigned int nr_vcpus, size_t block_size)
{
	memset(f, 0, sizeof(*f));
	f->base.ops = &fake_ops;
	f->arch = &up_arch_x86_64;
	f->nr_vcpus = nr_vcpus;
	f->block_size = block_size;
	f->source_virt = 1;
}

static struct up_memory *create(struct fake *f)
{
	struct up_memory *m = NULL;

	assert_null(up_memory_create(&f->base, &m));
	assert_non_null(m);
	return m;
}

static void pause_target(struct fake *f)
{
	assert_null(f->base.ops->pause(&f->base));
}

/* Let the guest run and stop it again: a new pause. */
static void next_pause(struct fake *f)
{
	assert_null(f->base.ops->resume(&f->base));
	pause_target(f);
}

static struct up_memory_stats stats(const struct up_memory *m)
{
	struct up_memory_stats s;

	up_memory_stats(m, &s);
	return s;
}

/* How many of the source reads from number since on touched the page tables. */
static unsigned int table_reads(const struct fake *f, unsigned int since)
{
	unsigned int n = 0;

	assert_true(f->reads <= LOG_MAX);
	for (unsigned int i = since; i < f->reads; i++)
		n += f->log[i].addr < TABLES_END;
	return n;
}

/* Read len bytes at va as vcpu; they must be physical memory's at paddr. */
static void expect_read(struct up_memory *m, unsigned int vcpu, uint64_t va, size_t len,
			uint64_t paddr)
{
	uint8_t buf[64];

	assert_true(len <= sizeof(buf));
	assert_null(up_memory_read(m, vcpu, va, buf, len));
	assert_memory_equal(buf, phys + paddr, len);
}

/* A read of len bytes at va must fault, reported at fault_at. */
static void expect_fault(struct up_memory *m, unsigned int vcpu, uint64_t va, size_t len,
			 uint64_t fault_at)
{
	uint8_t buf[64];
	struct up_error *err;

	assert_true(len <= sizeof(buf));
	err = up_memory_read(m, vcpu, va, buf, len);
	assert_non_null(err);
	assert_int_equal(err->code, UP_ERR_FAULT);
	assert_int_equal(err->address, fault_at);
	up_error_destroy(err);
}

static void expect_code(struct up_error *err, enum up_error_code code)
{
	assert_non_null(err);
	assert_int_equal(err->code, code);
	assert_non_null(err->message);
	up_error_destroy(err);
}

/* Words and ranges crossing a page boundary where the frames are far apart. */
static void x86_64_read_across_pages(void **state)
{
	struct fake f;
	struct up_memory *m;
	uint8_t buf[24];

	(void)state;
	for (size_t bs = 0; bs <= 4096; bs += 4096) {
		x86_guest(&f, 1, bs);
		m = create(&f);
		pause_target(&f);
		expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_B + 0x10);
		expect_read(m, 0, VA_TEXT2 + 0x7f8, 8, FRAME_A + 0x7f8);
		/* 12 bytes from the end of FRAME_B, then 12 from the start of FRAME_A. */
		assert_null(up_memory_read(m, 0, VA_TEXT2 - 12, buf, sizeof(buf)));
		assert_memory_equal(buf, phys + FRAME_B + 0x1000 - 12, 12);
		assert_memory_equal(buf + 12, phys + FRAME_A, 12);
		/* Inside a 2 MiB page a range crossing 4 KiB is one physical run. */
		expect_read(m, 0, VA_2M + 0x12ffc, 8, FRAME_2M + 0x12ffc);
		up_memory_destroy(m);
	}
}

static void arm64_read_across_pages(void **state)
{
	struct fake f;
	struct up_memory *m;
	uint8_t buf[16];

	(void)state;
	for (size_t bs = 0; bs <= 4096; bs += 4096) {
		a64_guest(&f, bs);
		m = create(&f);
		pause_target(&f);
		expect_read(m, 0, VA_A64_USER + 0x100, 8, FRAME_C + 0x100);
		expect_read(m, 0, VA_A64_KERNEL + 0x1008, 8, FRAME_B + 0x8);
		assert_null(up_memory_read(m, 0, VA_A64_USER + 0xffa, buf, sizeof(buf)));
		assert_memory_equal(buf, phys + FRAME_C + 0xffa, 6);
		assert_memory_equal(buf + 6, phys + FRAME_A, 10);
		assert_null(up_memory_read(m, 0, VA_A64_KERNEL + 0xff8, buf, sizeof(buf)));
		assert_memory_equal(buf, phys + FRAME_D + 0xff8, 8);
		assert_memory_equal(buf + 8, phys + FRAME_B, 8);
		/* The kernel's offset in the user half is not mapped, nor past the pair. */
		expect_fault(m, 0, VA_A64_KERNEL & 0x0000ffffffffffffULL, 8,
			     VA_A64_KERNEL & 0x0000ffffffffffffULL);
		expect_fault(m, 0, VA_A64_KERNEL + 0x2000, 8, VA_A64_KERNEL + 0x2000);
		up_memory_destroy(m);
	}
}

/* How many source reads overlapping the MMIO hole succeeded (ok) or were refused (!ok). */
static unsigned int hole_reads(const struct fake *f, int ok)
{
	unsigned int n = 0;

	assert_true(f->reads <= LOG_MAX);
	for (unsigned int i = 0; i < f->reads; i++) {
		const struct source_read *r = &f->log[i];

		if (r->ok == ok && r->addr < RAM1 && r->addr + r->len > HOLE)
			n++;
	}
	return n;
}

/* Faults: not mapped, mapped to MMIO, off the end of the address space. */
static void faults(void **state)
{
	struct fake f;
	struct up_memory *m;
	uint64_t walks;

	(void)state;
	for (size_t bs = 0; bs <= 4096; bs += 4096) {
		x86_guest(&f, 1, bs);
		m = create(&f);
		pause_target(&f);
		expect_fault(m, 0, VA_UNMAPPED + 0x18, 8, VA_UNMAPPED + 0x18);
		/* A PDE not present, well away from anything mapped. */
		expect_fault(m, 0, VA_TEXT + 0x2000000, 8, VA_TEXT + 0x2000000);
		/* Running from a mapped page into an unmapped one faults where the mapping ends. */
		expect_fault(m, 0, VA_UNMAPPED - 4, 8, VA_UNMAPPED);
		assert_int_equal(stats(m).faults, 3);

		expect_fault(m, 0, VA_MMIO + 0x40, 8, VA_MMIO + 0x40);
		assert_int_not_equal(hole_reads(&f, 0), 0);
		assert_int_equal(hole_reads(&f, 1), 0);

		/* RAM0 ends inside the frame: its last bytes read, the first byte past them not. */
		expect_read(m, 0, VA_EDGE + 0x7f8, 8, FRAME_EDGE + 0x7f8);
		expect_fault(m, 0, VA_EDGE + 0x7fc, 8, VA_EDGE + 0x7fc);
		assert_int_equal(hole_reads(&f, 1), 0);

		/* 32 bytes from 16 below 2^64 would wrap to address 0: nothing is read or walked. */
		f.reads = 0;
		walks = stats(m).translations;
		expect_fault(m, 0, 0xfffffffffffffff0ULL, 32, 0xfffffffffffffff0ULL);
		assert_int_equal(f.reads, 0);
		assert_int_equal(stats(m).translations, walks);
		/* The last 16 bytes are an address like any other (canonical, not mapped). */
		expect_fault(m, 0, 0xfffffffffffffff0ULL, 16, 0xfffffffffffffff0ULL);
		assert_int_equal(stats(m).translations, walks + 1);
		up_memory_destroy(m);
	}
}

/* A read off the end of the address space is a read, and a fault, like any other. */
static void read_past_end_counts(void **state)
{
	struct fake f;
	struct up_memory *m;
	uint8_t buf[16];
	struct up_error *err;

	(void)state;
	x86_guest(&f, 1, 0);
	m = create(&f);
	pause_target(&f);
	err = up_memory_read(m, 0, 0xfffffffffffffff8ULL, buf, 16);
	expect_code(err, UP_ERR_FAULT);
	assert_int_equal(stats(m).reads, 1);
	assert_int_equal(stats(m).faults, 1);
	up_memory_destroy(m);
}

/* A lost target is not a fault, wherever the source notices. */
static void lost_is_not_a_fault(void **state)
{
	struct fake f;
	struct up_memory *m;
	uint8_t buf[8];

	(void)state;
	for (size_t bs = 0; bs <= 4096; bs += 4096) {
		/* Reading the PTE. */
		x86_guest(&f, 1, bs);
		m = create(&f);
		pause_target(&f);
		f.lost = 1;
		f.lost_at = root_a.pt + x86_index(VA_TEXT, 1) * 8;
		expect_code(up_memory_read(m, 0, VA_TEXT, buf, 8), UP_ERR_LOST);
		assert_int_equal(stats(m).faults, 0);
		up_memory_destroy(m);

		/* Reading the data, the tables read fine. */
		x86_guest(&f, 1, bs);
		m = create(&f);
		pause_target(&f);
		f.lost = 1;
		f.lost_at = FRAME_B + 0x20;
		expect_code(up_memory_read(m, 0, VA_TEXT + 0x20, buf, 8), UP_ERR_LOST);
		assert_int_equal(stats(m).faults, 0);
		up_memory_destroy(m);

		/* The same over arm64's walker. */
		a64_guest(&f, bs);
		m = create(&f);
		pause_target(&f);
		f.lost = 1;
		f.lost_at = ttbr1_tables.l2 + a64_index(VA_A64_KERNEL, 2) * 8;
		expect_code(up_memory_read(m, 0, VA_A64_KERNEL, buf, 8), UP_ERR_LOST);
		up_memory_destroy(m);

		/* And a virtual source's. */
		virt_guest(&f, 1, bs);
		m = create(&f);
		pause_target(&f);
		f.lost = 1;
		f.lost_at = VIRT_BASE + 0x100;
		expect_code(up_memory_read(m, 0, VIRT_BASE + 0x100, buf, 8), UP_ERR_LOST);
		up_memory_destroy(m);
	}

	/* The registers, which a translation needs first. */
	x86_guest(&f, 1, 0);
	m = create(&f);
	pause_target(&f);
	f.lost_regs = 1;
	expect_code(up_memory_read(m, 0, VA_TEXT, buf, 8), UP_ERR_LOST);
	assert_int_equal(f.reads, 0);
	up_memory_destroy(m);
}

/* Within one pause a page is walked once, and a block read once. */
static void caches_within_a_pause(void **state)
{
	struct fake f;
	struct up_memory *m;
	struct up_memory_stats s;
	unsigned int before;

	(void)state;
	x86_guest(&f, 1, 0);
	m = create(&f);
	pause_target(&f);
	expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_B + 0x10);
	s = stats(m);
	assert_int_equal(s.translations, 1);
	assert_int_equal(s.tlb_hits, 0);
	assert_int_equal(table_reads(&f, 0), 4);
	before = f.reads;
	expect_read(m, 0, VA_TEXT + 0xff0, 8, FRAME_B + 0xff0);
	s = stats(m);
	assert_int_equal(s.translations, 1);
	assert_int_equal(s.tlb_hits, 1);
	assert_int_equal(table_reads(&f, before), 0);
	/* Without a block size, the data itself is read each time. */
	assert_int_equal(f.reads, before + 1);
	assert_int_equal(s.block_hits, 0);
	assert_int_equal(f.get_regs_calls, 1);
	up_memory_destroy(m);

	x86_guest(&f, 1, 4096);
	m = create(&f);
	pause_target(&f);
	expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_B + 0x10);
	/* Four table blocks and one data block, each 4 KiB and aligned. */
	assert_int_equal(f.reads, 5);
	for (unsigned int i = 0; i < f.reads; i++) {
		assert_int_equal(f.log[i].len, 4096);
		assert_int_equal(f.log[i].addr & 0xfff, 0);
	}
	before = f.reads;
	expect_read(m, 0, VA_TEXT + 0x800, 8, FRAME_B + 0x800);
	s = stats(m);
	assert_int_equal(f.reads, before);
	assert_int_equal(s.tlb_hits, 1);
	assert_int_equal(s.block_hits, 1);
	/* Another page under the same tables: walked again, but over cached table blocks. */
	expect_read(m, 0, VA_TEXT2 + 0x20, 8, FRAME_A + 0x20);
	s = stats(m);
	assert_int_equal(s.translations, 2);
	assert_int_equal(s.block_hits, 5);
	assert_int_equal(f.reads, before + 1);
	assert_int_equal(table_reads(&f, before), 0);
	assert_int_equal(s.source_reads, f.reads);
	up_memory_destroy(m);
}

/* Precondition of the tests below: the frames a change switches between hold other bytes. */
static void assert_frames_differ(uint64_t a, uint64_t b, size_t len)
{
	assert_memory_not_equal(phys + a, phys + b, len);
}

/* Nothing cached survives a resume: translations, table blocks, data blocks, registers. */
static void remap_seen_after_resume(void **state)
{
	struct fake f;
	struct up_memory *m;

	(void)state;
	for (size_t bs = 0; bs <= 4096; bs += 4096) {
		x86_guest(&f, 1, bs);
		m = create(&f);
		pause_target(&f);
		expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_B + 0x10);
		assert_frames_differ(FRAME_B + 0x10, FRAME_C + 0x10, 8);
		x86_map_4k(&root_a, VA_TEXT, FRAME_C);
		/* The guest cannot change its tables while stopped: the pause's translation holds. */
		expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_B + 0x10);
		next_pause(&f);
		expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_C + 0x10);
		assert_int_equal(stats(m).translations, 2);
		up_memory_destroy(m);
	}
}

static void data_change_seen_after_resume(void **state)
{
	static const uint8_t fresh[8] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67 };
	struct fake f;
	struct up_memory *m;
	uint8_t old[8], buf[8];

	(void)state;
	x86_guest(&f, 1, 4096);
	m = create(&f);
	pause_target(&f);
	memcpy(old, phys + FRAME_B + 0x40, sizeof(old));
	assert_memory_not_equal(old, fresh, sizeof(old));
	expect_read(m, 0, VA_TEXT + 0x40, 8, FRAME_B + 0x40);
	memcpy(phys + FRAME_B + 0x40, fresh, sizeof(fresh));
	/* Served from the pause's block: proof that the block cache is in play at all. */
	assert_null(up_memory_read(m, 0, VA_TEXT + 0x40, buf, sizeof(buf)));
	assert_memory_equal(buf, old, sizeof(buf));
	assert_int_equal(stats(m).block_hits, 1);
	next_pause(&f);
	assert_null(up_memory_read(m, 0, VA_TEXT + 0x40, buf, sizeof(buf)));
	assert_memory_equal(buf, fresh, sizeof(buf));
	up_memory_destroy(m);
}

static void registers_reread_after_resume(void **state)
{
	struct fake f;
	struct up_memory *m;

	(void)state;
	x86_guest(&f, 1, 0);
	x86_map_4k(&root_b, VA_TEXT, FRAME_D);
	m = create(&f);
	pause_target(&f);
	expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_B + 0x10);
	f.regs[0].x86_64.cr3 = root_b.pml4;
	/* A page not walked yet is walked with the registers of this pause (root A's). */
	expect_read(m, 0, VA_TEXT2 + 0x10, 8, FRAME_A + 0x10);
	assert_int_equal(f.get_regs_calls, 1);
	next_pause(&f);
	expect_read(m, 0, VA_TEXT + 0x10, 8, FRAME_D + 0x10);
	/* Root B does not map the second page. */
	expect_fault(m, 0, VA_TEXT2 + 0x10, 8, VA_TEXT2 + 0x10);
	assert_int_equal(f.get_regs_calls, 2);
	up_memory_destroy(m);
}

/* A user cr3 without the kernel: kernel addresses through kernel_cr3. */
static void kernel_cr3_fallback(void **state)
{
	struct fake f;
	struct up_memory *m;
	struct up_translation tr;

	(void)state;
	x86_guest(&f, 1, 0);
	x86_map_4k(&root_b, VA_USER, FRAME_C);
	f.regs[0].x86_64.cr3 = root_b.pml4;
	f.regs[0].x86_64.kernel_cr3 = root_a.pml4;
	m = create(&f);
	pause_target(&f);
	expect_read(m, 0, VA_USER + 0x30, 8, FRAME_C + 0x30);
	expect_read(m, 0, VA_TEXT + 0x30, 8, FRAME_B + 0x30);
	assert_null(up_memory_translate(m, 0, VA_TEXT2 + 0x30, &tr));
	assert_int_equal(tr.paddr, FRAME_A + 0x30);
	/* Neither table maps these. */
	expect_fault(m, 0, VA_UNMAPPED, 8, VA_UNMAPPED);
	expect_fault(m, 0, VA_USER + 0x1000, 8, VA_USER + 0x1000);
	/* Without kernel_cr3 the kernel is out of reach: the fallback is what found it. */
	f.regs[0].x86_64.kernel_cr3 = 0;
	next_pause(&f);
	expect_fault(m, 0, VA_TEXT + 0x30, 8, VA_TEXT + 0x30);
	expect_read(m, 0, VA_USER + 0x30, 8, FRAME_C + 0x30);
	up_memory_destroy(m);
}

/* Read len bytes at va as vcpu from the virtual guest and check them. */
static void expect_virt(struct fake *f, struct up_memory *m, unsigned int vcpu, uint64_t va,
			size_t len)
{
	uint8_t buf[1024];

	assert_true(len <= sizeof(buf));
	assert_null(up_memory_read(m, vcpu, va, buf, len));
	for (size_t i = 0; i < len; i++)
		assert_int_equal(buf[i], virt_byte(f, vcpu, va + i));
}

/* A virtual source: the peer translates, the layer only caches blocks. */
static void virtual_source(void **state)
{
	struct fake f;
	struct up_memory *m;
	struct up_memory_stats s;
	unsigned int before;

	(void)state;
	virt_guest(&f, 2, 512);
	m = create(&f);
	pause_target(&f);
	expect_virt(&f, m, 1, VIRT_BASE + 0x210, 8);
	assert_int_equal(f.reads, 1);
	assert_int_equal(f.log[0].vcpu, 1);
	assert_int_equal(f.log[0].addr, VIRT_BASE + 0x200);
	assert_int_equal(f.log[0].len, 512);
	expect_virt(&f, m, 1, VIRT_BASE + 0x3f0, 16);
	assert_int_equal(f.reads, 1);
	assert_int_equal(stats(m).block_hits, 1);
	/* Another vCPU's view of the same address is its own. */
	assert_int_not_equal(virt_byte(&f, 0, VIRT_BASE + 0x210), virt_byte(&f, 1, VIRT_BASE + 0x210));
	expect_virt(&f, m, 0, VIRT_BASE + 0x210, 8);
	assert_int_equal(f.reads, 2);
	assert_int_equal(f.log[1].vcpu, 0);
	/* Across two blocks: the cached one and the next. */
	expect_virt(&f, m, 1, VIRT_BASE + 0x3fc, 8);
	assert_int_equal(f.reads, 3);
	assert_int_equal(f.log[2].addr, VIRT_BASE + 0x400);
	assert_int_equal(stats(m).block_hits, 2);

	f.generation++;
	next_pause(&f);
	expect_virt(&f, m, 1, VIRT_BASE + 0x210, 8);
	assert_int_equal(f.reads, 4);
	assert_int_equal(stats(m).block_hits, 2);

	/* Larger than a block: one read, as asked. */
	before = f.reads;
	expect_virt(&f, m, 1, VIRT_BASE + 0x1104, 1000);
	assert_int_equal(f.reads, before + 1);
	assert_int_equal(f.log[before].addr, VIRT_BASE + 0x1104);
	assert_int_equal(f.log[before].len, 1000);
	assert_int_equal(f.log[before].vcpu, 1);

	/* A fault is where the caller asked, not at the block the layer asked the peer for. */
	expect_fault(m, 1, VIRT_BASE + VIRT_SIZE + 0x48, 8, VIRT_BASE + VIRT_SIZE + 0x48);
	expect_fault(m, 0, VIRT_BASE - 0x100, 8, VIRT_BASE - 0x100);
	s = stats(m);
	assert_int_equal(s.faults, 2);
	assert_int_equal(s.translations, 0);
	assert_int_equal(s.source_reads, f.reads);
	up_memory_destroy(m);

	/* Without a block size every read goes to the peer. */
	virt_guest(&f, 1, 0);
	m = create(&f);
	pause_target(&f);
	expect_virt(&f, m, 0, VIRT_BASE + 0x210, 8);
	expect_virt(&f, m, 0, VIRT_BASE + 0x218, 8);
	assert_int_equal(f.reads, 2);
	assert_int_equal(f.log[1].addr, VIRT_BASE + 0x218);
	assert_int_equal(f.log[1].len, 8);
	assert_int_equal(stats(m).block_hits, 0);
	up_memory_destroy(m);
}

/* Sources that break memory/source.h's rules are refused. */
static void bad_sources_refused(void **state)
{
	static const struct { int phys, virt; size_t block_size; int ok; } cases[] = {
		{ 1, 1, 0, 0 },
		{ 0, 0, 0, 0 },
		{ 0, 0, 4096, 0 },
		{ 1, 0, 100, 0 },
		{ 1, 0, 8192, 0 },
		{ 1, 0, 32, 0 },
		{ 0, 1, 4095, 0 },
		{ 0, 1, 1, 0 },
		{ 1, 0, 64, 1 },
		{ 0, 1, 4096, 1 },
		{ 1, 0, 0, 1 },
	};
	struct fake f;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct up_memory *m = NULL;
		struct up_error *err;

		x86_guest(&f, 1, cases[i].block_size);
		f.source_phys = cases[i].phys;
		f.source_virt = cases[i].virt;
		err = up_memory_create(&f.base, &m);
		if (cases[i].ok) {
			assert_null(err);
			assert_non_null(m);
			up_memory_destroy(m);
			continue;
		}
		expect_code(err, UP_ERR_INVALID);
		assert_null(m);
	}
	up_memory_destroy(NULL);
}

/* Translation as the read sees it, and arguments out of range. */
static void translate_pages(void **state)
{
	struct fake f;
	struct up_memory *m;
	struct up_translation tr;
	uint8_t buf[8];

	(void)state;
	x86_guest(&f, 2, 0);
	m = create(&f);
	pause_target(&f);
	assert_null(up_memory_translate(m, 0, VA_TEXT + 0x123, &tr));
	assert_int_equal(tr.paddr, FRAME_B + 0x123);
	assert_int_equal(tr.page_size, 0x1000);
	assert_null(up_memory_translate(m, 1, VA_2M + 0x12345, &tr));
	assert_int_equal(tr.paddr, FRAME_2M + 0x12345);
	assert_int_equal(tr.page_size, 0x200000);
	/* Again, from the pause's cache. */
	assert_null(up_memory_translate(m, 1, VA_2M + 0x12345, &tr));
	assert_int_equal(tr.paddr, FRAME_2M + 0x12345);
	assert_int_equal(tr.page_size, 0x200000);
	assert_int_equal(stats(m).tlb_hits, 1);
	/*
	 * Every 4 KiB page of the 2 MiB page leaves an entry in the pause's cache; none may
	 * stretch past the 2 MiB page, into the next one that is not mapped.
	 */
	for (uint64_t off = 0; off < PAGE_2M; off += 0x1000) {
		assert_null(up_memory_translate(m, 0, VA_2M + off + 0x10, &tr));
		assert_int_equal(tr.paddr, FRAME_2M + off + 0x10);
	}
	for (uint64_t off = 0; off < PAGE_2M; off += 0x1000)
		expect_code(up_memory_translate(m, 0, VA_2M + PAGE_2M + off, &tr), UP_ERR_FAULT);

	tr = (struct up_translation){ 0x1111, 0x2222 };
	expect_code(up_memory_translate(m, 0, VA_UNMAPPED, &tr), UP_ERR_FAULT);
	expect_code(up_memory_translate(m, 2, VA_TEXT, &tr), UP_ERR_INVALID);
	assert_int_equal(tr.paddr, 0x1111);
	assert_int_equal(tr.page_size, 0x2222);
	expect_code(up_memory_read(m, 2, VA_TEXT, buf, sizeof(buf)), UP_ERR_INVALID);
	up_memory_destroy(m);

	a64_guest(&f, 0);
	m = create(&f);
	pause_target(&f);
	assert_null(up_memory_translate(m, 0, VA_A64_KERNEL + 0x1abc, &tr));
	assert_int_equal(tr.paddr, FRAME_B + 0xabc);
	assert_int_equal(tr.page_size, 0x1000);
	up_memory_destroy(m);

	virt_guest(&f, 1, 512);
	m = create(&f);
	pause_target(&f);
	expect_code(up_memory_translate(m, 0, VIRT_BASE, &tr), UP_ERR_UNSUPPORTED);
	expect_code(up_memory_read(m, 1, VIRT_BASE, buf, sizeof(buf)), UP_ERR_INVALID);
	assert_int_equal(f.reads, 0);
	up_memory_destroy(m);
}

/* Two vCPUs with their own cr3 read the same address in one pause: each sees its own frame. */
static void vcpus_have_their_own_tables(void **state)
{
	struct fake f;
	struct up_memory *m;
	struct up_translation tr;

	(void)state;
	for (size_t bs = 0; bs <= 4096; bs += 4096) {
		x86_guest(&f, 2, bs);
		x86_map_4k(&root_b, VA_TEXT, FRAME_D);
		x86_map_2m(&root_b, VA_2M, FRAME_2M_B);
		f.regs[1].x86_64.cr3 = root_b.pml4;
		m = create(&f);
		pause_target(&f);
		for (int round = 0; round < 2; round++) {
			expect_read(m, 0, VA_TEXT + 0x80, 8, FRAME_B + 0x80);
			expect_read(m, 1, VA_TEXT + 0x80, 8, FRAME_D + 0x80);
		}
		assert_int_equal(stats(m).translations, 2);
		assert_int_equal(stats(m).tlb_hits, 2);
		assert_null(up_memory_translate(m, 1, VA_TEXT, &tr));
		assert_int_equal(tr.paddr, FRAME_D);
		assert_null(up_memory_translate(m, 0, VA_TEXT, &tr));
		assert_int_equal(tr.paddr, FRAME_B);
		/* Only vCPU 0's table maps the second page. */
		expect_read(m, 0, VA_TEXT2, 8, FRAME_A);
		expect_fault(m, 1, VA_TEXT2, 8, VA_TEXT2);
		/*
		 * vCPU 0's 2 MiB page, entered once per 4 KiB page, fills most of the cache with
		 * entries that cover all of it: vCPU 1's lookups of the same addresses find
		 * them, and must not take them for its own.
		 */
		for (uint64_t off = 0; off < PAGE_2M; off += 0x1000) {
			assert_null(up_memory_translate(m, 0, VA_2M + off, &tr));
			assert_int_equal(tr.paddr, FRAME_2M + off);
		}
		for (uint64_t off = 0; off < PAGE_2M; off += 0x1000) {
			assert_null(up_memory_translate(m, 1, VA_2M + off, &tr));
			assert_int_equal(tr.paddr, FRAME_2M_B + off);
		}
		expect_read(m, 1, VA_2M + 0x1234, 8, FRAME_2M_B + 0x1234);
		assert_int_equal(f.get_regs_calls, 2);
		up_memory_destroy(m);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(x86_64_read_across_pages),
		cmocka_unit_test(arm64_read_across_pages),
		cmocka_unit_test(faults),
		cmocka_unit_test(read_past_end_counts),
		cmocka_unit_test(lost_is_not_a_fault),
		cmocka_unit_test(caches_within_a_pause),
		cmocka_unit_test(remap_seen_after_resume),
		cmocka_unit_test(data_change_seen_after_resume),
		cmocka_unit_test(registers_reread_after_resume),
		cmocka_unit_test(kernel_cr3_fallback),
		cmocka_unit_test(virtual_source),
		cmocka_unit_test(bad_sources_refused),
		cmocka_unit_test(translate_pages),
		cmocka_unit_test(vcpus_have_their_own_tables),
	};

	return cmocka_run_group_tests_name("memory", tests, NULL, NULL);
}
