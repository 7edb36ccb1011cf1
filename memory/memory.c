#include <stdlib.h>
#include <string.h>

#include "memory.h"

/*
 * Translations kept per pause, direct-mapped by vCPU and 4 KiB page.  A sample walks one or two
 * stack pages per vCPU; the slide search touches more, and a miss costs only a page walk
 * over cached table blocks.
 */
#define TLB_ENTRIES 256
/* Blocks kept per pause (sources with block_size set), direct-mapped by address. */
#define BLOCKS 128
#define MIN_BLOCK 64
#define MAX_BLOCK 4096
#define PAGE_4K 4096ULL
/* The block space of physical reads; virtual reads use the vCPU number. */
#define SPACE_PHYS UINT64_MAX
#define NO_EPOCH UINT64_MAX

struct tlb_entry {
	uint64_t epoch;
	unsigned int vcpu;
	uint64_t vbase;      /* start of the page or block that maps the address */
	uint64_t size;
	uint64_t pbase;
};

struct block {
	uint64_t epoch;
	uint64_t space;
	uint64_t addr;
};

struct vcpu_state {
	uint64_t epoch;      /* pause in which regs were read */
	struct up_regs regs;
};

struct up_memory {
	struct up_target *t;
	const struct up_arch *arch;
	struct up_memory_source src;
	unsigned int nr_vcpus;
	struct vcpu_state *vcpus;
	struct tlb_entry tlb[TLB_ENTRIES];
	struct block blocks[BLOCKS];
	uint8_t *block_data;  /* BLOCKS x src.block_size */
	struct up_memory_stats stats;
};

/* Entries are valid in the pause they were made in: the target's pause count. */
static uint64_t epoch(const struct up_memory *m)
{
	return m->t->pauses;
}

struct up_error *up_memory_create(struct up_target *t, struct up_memory **ret)
{
	struct up_memory *m;
	size_t bs;

	m = calloc(1, sizeof(*m));
	if (!m)
		return &up_error_nomem;
	m->t = t;
	m->arch = t->ops->arch(t);
	t->ops->memory(t, &m->src);
	bs = m->src.block_size;
	if (!m->src.read_phys == !m->src.read_virt || (bs && (bs < MIN_BLOCK || bs > MAX_BLOCK ||
							      (bs & (bs - 1))))) {
		free(m);
		return up_error_create(UP_ERR_INVALID, "the %s backend offers a bad memory source",
				       t->ops->name);
	}
	m->nr_vcpus = t->ops->nr_vcpus(t);
	m->vcpus = calloc(m->nr_vcpus, sizeof(*m->vcpus));
	m->block_data = bs ? malloc(BLOCKS * bs) : NULL;
	if (!m->vcpus || (bs && !m->block_data)) {
		up_memory_destroy(m);
		return &up_error_nomem;
	}
	for (unsigned int i = 0; i < m->nr_vcpus; i++)
		m->vcpus[i].epoch = NO_EPOCH;
	for (size_t i = 0; i < TLB_ENTRIES; i++)
		m->tlb[i].epoch = NO_EPOCH;
	for (size_t i = 0; i < BLOCKS; i++)
		m->blocks[i].epoch = NO_EPOCH;
	*ret = m;
	return NULL;
}

void up_memory_destroy(struct up_memory *m)
{
	if (!m)
		return;
	free(m->vcpus);
	free(m->block_data);
	free(m);
}

const char *up_memory_description(const struct up_memory *m)
{
	return m->src.description ? m->src.description : m->t->ops->name;
}

void up_memory_stats(const struct up_memory *m, struct up_memory_stats *ret)
{
	*ret = m->stats;
}

/* A read straight from the source: physical when space is SPACE_PHYS, else vCPU space's view. */
static struct up_error *source_read(struct up_memory *m, uint64_t space, uint64_t addr,
				    void *buf, size_t len)
{
	m->stats.source_reads++;
	if (space == SPACE_PHYS)
		return m->src.read_phys(m->src.ctx, addr, buf, len);
	return m->src.read_virt(m->src.ctx, (unsigned int)space, addr, buf, len);
}

static size_t block_index(uint64_t space, uint64_t addr, size_t bs)
{
	uint64_t h = (addr / bs) ^ (space * 0x9e3779b97f4a7c15ULL);

	return (size_t)((h * 0x9e3779b97f4a7c15ULL) >> 32) % BLOCKS;
}

/*
 * Read through the pause's block cache.  A block is aligned and never crosses a 4 KiB page, so
 * over a virtual source it faults exactly when the smaller read inside it would.  A physical
 * block may reach past the end of a RAM range that the read itself stays inside: then the
 * read is made as asked, uncached.
 */
static struct up_error *cached_read(struct up_memory *m, uint64_t space, uint64_t addr,
				    uint8_t *out, size_t len)
{
	size_t bs = m->src.block_size;

	/* Large reads (a PE header, a table) go to the source whole: one call, not many. */
	if (!bs || len > bs)
		return source_read(m, space, addr, out, len);
	while (len) {
		uint64_t base = addr & ~(uint64_t)(bs - 1);
		size_t off = addr - base, n = bs - off < len ? bs - off : len;
		size_t i = block_index(space, base, bs);
		struct block *b = &m->blocks[i];
		uint8_t *data = m->block_data + i * bs;
		struct up_error *err;

		if (b->epoch == epoch(m) && b->space == space && b->addr == base) {
			m->stats.block_hits++;
		} else {
			b->epoch = NO_EPOCH;
			err = source_read(m, space, base, data, bs);
			if (err) {
				if (err->code != UP_ERR_FAULT)
					return err;
				if (space != SPACE_PHYS) {
					/*
					 * The peer reports the block's start, which may lie below
					 * what the caller asked for: say where the read failed.
					 */
					struct up_error *fault = up_error_fault(addr, "0x%llx: %s",
										(unsigned long long)addr,
										err->message);

					up_error_destroy(err);
					return fault;
				}
				up_error_destroy(err);
				err = source_read(m, space, addr, out, n);
				if (err)
					return err;
				goto next;
			}
			b->epoch = epoch(m);
			b->space = space;
			b->addr = base;
		}
		memcpy(out, data + off, n);
next:
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

/* An up_read_phys_fn for the page walker: table entries come through the block cache. */
static struct up_error *walker_read_phys(void *ctx, uint64_t paddr, void *buf, size_t len)
{
	return cached_read(ctx, SPACE_PHYS, paddr, buf, len);
}

/* vCPU vcpu's registers, read once per pause; the paging state is what matters here. */
static struct up_error *vcpu_regs(struct up_memory *m, unsigned int vcpu,
				  const struct up_regs **ret)
{
	struct vcpu_state *v = &m->vcpus[vcpu];

	if (v->epoch != epoch(m)) {
		struct up_error *err = m->t->ops->get_regs(m->t, vcpu, &v->regs);

		if (err)
			return err;
		v->epoch = epoch(m);
	}
	*ret = &v->regs;
	return NULL;
}

static size_t tlb_index(unsigned int vcpu, uint64_t addr)
{
	uint64_t h = (addr / PAGE_4K) ^ ((uint64_t)vcpu * 0x9e3779b97f4a7c15ULL);

	return (size_t)((h * 0x9e3779b97f4a7c15ULL) >> 32) % TLB_ENTRIES;
}

static struct up_error *translate(struct up_memory *m, unsigned int vcpu, uint64_t addr,
				  struct up_translation *ret)
{
	struct tlb_entry *e = &m->tlb[tlb_index(vcpu, addr)];
	const struct up_regs *regs;
	struct up_translation tr;
	struct up_error *err;

	if (e->epoch == epoch(m) && e->vcpu == vcpu && addr - e->vbase < e->size) {
		m->stats.tlb_hits++;
		ret->paddr = e->pbase + (addr - e->vbase);
		ret->page_size = e->size;
		return NULL;
	}
	err = vcpu_regs(m, vcpu, &regs);
	if (err)
		return err;
	m->stats.translations++;
	err = m->arch->translate(regs, addr, walker_read_phys, m, &tr);
	if (err)
		return err;
	if (!tr.page_size || (tr.page_size & (tr.page_size - 1)))
		tr.page_size = PAGE_4K;
	e->epoch = epoch(m);
	e->vcpu = vcpu;
	e->vbase = addr & ~(tr.page_size - 1);
	e->size = tr.page_size;
	e->pbase = tr.paddr - (addr - e->vbase);
	*ret = tr;
	return NULL;
}

struct up_error *up_memory_translate(struct up_memory *m, unsigned int vcpu, uint64_t addr,
				     struct up_translation *ret)
{
	if (vcpu >= m->nr_vcpus)
		return up_error_create(UP_ERR_INVALID, "no vCPU %u", vcpu);
	if (!m->src.read_phys)
		return up_error_create(UP_ERR_UNSUPPORTED, "%s translates addresses itself",
				       up_memory_description(m));
	return translate(m, vcpu, addr, ret);
}

/* Read over a physical source, page by page (a virtual range may span scattered frames). */
static struct up_error *read_translated(struct up_memory *m, unsigned int vcpu, uint64_t addr,
					uint8_t *out, size_t len)
{
	while (len) {
		struct up_translation tr;
		uint64_t left;
		size_t n;
		struct up_error *err = translate(m, vcpu, addr, &tr);

		if (err)
			return err;
		left = tr.page_size - (tr.paddr & (tr.page_size - 1));
		n = left < len ? (size_t)left : len;
		err = cached_read(m, SPACE_PHYS, tr.paddr, out, n);
		if (err) {
			struct up_error *fault;

			if (err->code != UP_ERR_FAULT)
				return err;
			/* Say where in virtual memory: that is what the caller asked for. */
			fault = up_error_fault(addr, "0x%llx (physical 0x%llx): %s",
					       (unsigned long long)addr,
					       (unsigned long long)tr.paddr, err->message);
			up_error_destroy(err);
			return fault;
		}
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

struct up_error *up_memory_read(struct up_memory *m, unsigned int vcpu, uint64_t addr,
				void *buf, size_t len)
{
	struct up_error *err;

	if (vcpu >= m->nr_vcpus)
		return up_error_create(UP_ERR_INVALID, "no vCPU %u", vcpu);
	m->stats.reads++;
	if (len && addr + len - 1 < addr)
		err = up_error_fault(addr, "0x%llx: %zu bytes run past the end of the address space",
				     (unsigned long long)addr, len);
	else if (m->src.read_phys)
		err = read_translated(m, vcpu, addr, buf, len);
	else
		err = cached_read(m, vcpu, addr, buf, len);
	if (err && err->code == UP_ERR_FAULT)
		m->stats.faults++;
	return err;
}

struct up_error *up_vcpu_memory_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct up_vcpu_memory *v = ctx;

	return up_memory_read(v->memory, v->vcpu, addr, buf, len);
}
