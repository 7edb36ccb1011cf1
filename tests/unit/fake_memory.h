/* Guest memory for walker tests: a few regions of bytes at guest addresses. */
#ifndef UP_TESTS_FAKE_MEMORY_H
#define UP_TESTS_FAKE_MEMORY_H

#include <stdint.h>
#include <string.h>

#include "../../util/error.h"

struct fake_region {
	uint64_t base;
	size_t size;
	uint8_t *bytes;
};

struct fake_memory {
	struct fake_region regions[8];
	size_t nr;
	unsigned int reads;
	/* When nonzero, a read of this address fails as if the target were gone. */
	uint64_t lost_at;
};

static inline struct up_error *fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct fake_memory *m = ctx;

	m->reads++;
	if (m->lost_at && addr <= m->lost_at && m->lost_at - addr < len)
		return up_error_create(UP_ERR_LOST, "the guest exited");
	for (size_t i = 0; i < m->nr; i++) {
		struct fake_region *r = &m->regions[i];

		if (addr >= r->base && len <= r->size && addr - r->base <= r->size - len) {
			memcpy(buf, r->bytes + (addr - r->base), len);
			return NULL;
		}
	}
	return up_error_fault(addr, "unmapped");
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

#endif
