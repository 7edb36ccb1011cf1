/*
 * Reading and searching Linux's ORC tables (orc.h).  Everything here comes from the guest and
 * is checked before use: sizes and counts are capped, and the search is bounded whatever order
 * the guest's ips are in.
 */
#include <stdlib.h>
#include <string.h>

#include "../util/error.h"
#include "orc.h"

#define ORC_ENTRY_SIZE 6
#define ORC_HEADER_SIZE 20
/* Bytes per guest read while loading. */
#define ORC_READ_CHUNK 65536

struct orc_module {
	uint64_t lo, hi;             /* the module's code: [lo, hi) */
	struct up_orc *orc;          /* its table */
};

struct up_orc {
	unsigned int version;
	uint64_t ip_base;            /* runtime address of ips[0] */
	size_t n;
	int32_t *ips;
	uint8_t *entries;            /* n raw entries */
	struct orc_module *mods;     /* the modules' tables, sorted by lo, not overlapping */
	size_t nr_mods;
};

/*
 * The hash of orc_types.h each kernel since 6.4 (and 6.3.10) keeps in .orc_header
 * (scripts/orc_hash.sh): the 6.3 layout ("signal" added) and the 6.4 one (UNDEFINED and
 * END_OF_STACK types).
 */
static const uint8_t hash_v2[ORC_HEADER_SIZE] = {
	0xdb, 0x84, 0xae, 0xd4, 0x10, 0x3b, 0x31, 0xdd, 0x51, 0xe0,
	0x17, 0xf8, 0xf7, 0x97, 0x83, 0xca, 0x98, 0x5c, 0x2c, 0x51,
};
static const uint8_t hash_v3[ORC_HEADER_SIZE] = {
	0xfe, 0x5d, 0x32, 0xbf, 0x58, 0x1b, 0xd6, 0x3b, 0x2c, 0xa9,
	0xa5, 0xc6, 0x5b, 0xa5, 0xa6, 0x25, 0xea, 0xb3, 0xfe, 0x24,
};

unsigned int up_orc_version_from_header(const uint8_t header[20])
{
	if (!memcmp(header, hash_v3, ORC_HEADER_SIZE))
		return 3;
	if (!memcmp(header, hash_v2, ORC_HEADER_SIZE))
		return 2;
	return 0;
}

unsigned int up_orc_version_from_release(unsigned int major, unsigned int minor)
{
	if (major > 6 || (major == 6 && minor >= 4))
		return 3;
	if (major == 6 && minor == 3)
		return 2;
	return 1;
}

void up_orc_decode(unsigned int version, const uint8_t raw[6], struct up_orc_entry *ret)
{
	unsigned int flags = raw[4] | (unsigned int)raw[5] << 8;
	unsigned int end = 0, kind;

	ret->sp_offset = (int16_t)(raw[0] | raw[1] << 8);
	ret->bp_offset = (int16_t)(raw[2] | raw[3] << 8);
	ret->sp_reg = flags & 0xf;
	ret->bp_reg = (flags >> 4) & 0xf;
	if (version >= 3) {
		ret->type = (flags >> 8) & 7;
		ret->signal = (flags >> 11) & 1;
		if (ret->type > UP_ORC_REGS_PARTIAL)
			ret->type = UP_ORC_UNDEFINED;
		return;
	}
	/* Versions 1 and 2: call 0, regs 1, regs partial 2; "end" and an undefined sp mark the rest. */
	kind = (flags >> 8) & 3;
	if (version == 2) {
		ret->signal = (flags >> 10) & 1;
		end = (flags >> 11) & 1;
	} else {
		/* Before "signal", an entry frame's pc was always exact. */
		ret->signal = kind != 0;
		end = (flags >> 10) & 1;
	}
	if (end)
		ret->type = UP_ORC_END_OF_STACK;
	else if (ret->sp_reg == UP_ORC_REG_UNDEFINED || kind > 2)
		ret->type = UP_ORC_UNDEFINED;
	else
		ret->type = (uint8_t)(UP_ORC_CALL + kind);
}

struct up_error *up_orc_create(unsigned int version, uint64_t ip_base, const int32_t *ips,
			       const uint8_t *entries, size_t n, struct up_orc **ret)
{
	struct up_orc *orc;

	if (version < 1 || version > 3)
		return up_error_create(UP_ERR_INVALID, "ORC format version %u is not one we read",
				       version);
	if (!n || n > UP_ORC_MAX_ENTRIES)
		return up_error_create(UP_ERR_INVALID, "ORC table of %zu entries (at most %u)", n,
				       UP_ORC_MAX_ENTRIES);
	orc = calloc(1, sizeof(*orc));
	if (!orc)
		return &up_error_nomem;
	orc->ips = malloc(n * sizeof(*orc->ips));
	orc->entries = malloc(n * ORC_ENTRY_SIZE);
	if (!orc->ips || !orc->entries) {
		up_orc_destroy(orc);
		return &up_error_nomem;
	}
	if (ips)
		memcpy(orc->ips, ips, n * sizeof(*orc->ips));
	if (entries)
		memcpy(orc->entries, entries, n * ORC_ENTRY_SIZE);
	orc->version = version;
	orc->ip_base = ip_base;
	orc->n = n;
	*ret = orc;
	return NULL;
}

void up_orc_destroy(struct up_orc *orc)
{
	if (!orc)
		return;
	for (size_t i = 0; i < orc->nr_mods; i++)
		up_orc_destroy(orc->mods[i].orc);
	free(orc->mods);
	free(orc->ips);
	free(orc->entries);
	free(orc);
}

size_t up_orc_count(const struct up_orc *orc)
{
	return orc->n;
}

unsigned int up_orc_version(const struct up_orc *orc)
{
	return orc->version;
}

static struct up_error *read_chunked(up_read_mem_fn *read, void *ctx, uint64_t addr, void *buf,
				     size_t len)
{
	for (size_t done = 0; done < len;) {
		size_t part = len - done < ORC_READ_CHUNK ? len - done : ORC_READ_CHUNK;
		struct up_error *err = read(ctx, addr + done, (uint8_t *)buf + done, part);

		if (err)
			return err;
		done += part;
	}
	return NULL;
}

struct up_error *up_orc_read(const struct up_orc_location *loc, up_read_mem_fn *read, void *ctx,
			     struct up_orc **ret)
{
	unsigned int version;
	struct up_orc *orc;
	struct up_error *err;
	uint64_t size;
	size_t n;

	if (loc->ip_stop <= loc->ip_start || (loc->ip_stop - loc->ip_start) % 4)
		return up_error_create(UP_ERR_INVALID, "ORC ip table 0x%llx-0x%llx is not a table",
				       (unsigned long long)loc->ip_start,
				       (unsigned long long)loc->ip_stop);
	size = (loc->ip_stop - loc->ip_start) / 4;
	if (size > UP_ORC_MAX_ENTRIES)
		return up_error_create(UP_ERR_INVALID, "ORC table of %llu entries (at most %u)",
				       (unsigned long long)size, UP_ORC_MAX_ENTRIES);
	n = (size_t)size;
	if (loc->header) {
		uint8_t header[ORC_HEADER_SIZE];

		err = read(ctx, loc->header, header, sizeof(header));
		if (err)
			return up_error_prefix(err, "reading .orc_header");
		version = up_orc_version_from_header(header);
		if (!version)
			return up_error_create(UP_ERR_INVALID, "unknown ORC format (its .orc_header "
					       "hash is not one this uniprof knows)");
	} else if (loc->major) {
		version = up_orc_version_from_release(loc->major, loc->minor);
	} else {
		return up_error_create(UP_ERR_INVALID, "no .orc_header and no kernel version: "
				       "cannot tell the ORC format");
	}
	err = up_orc_create(version, loc->ip_start, NULL, NULL, n, &orc);
	if (err)
		return err;
	err = read_chunked(read, ctx, loc->ip_start, orc->ips, n * sizeof(*orc->ips));
	if (!err)
		err = read_chunked(read, ctx, loc->entries, orc->entries, n * ORC_ENTRY_SIZE);
	if (err) {
		up_orc_destroy(orc);
		return up_error_prefix(err, "reading the ORC tables");
	}
	/* The ips are little-endian in the guest, as on the (x86_64) host that reads them. */
	*ret = orc;
	return NULL;
}

static uint64_t ip_at(const struct up_orc *orc, size_t i)
{
	return orc->ip_base + 4 * (uint64_t)i + (uint64_t)(int64_t)orc->ips[i];
}

/* The module whose code holds addr, or NULL. */
static const struct orc_module *module_of(const struct up_orc *orc, uint64_t addr)
{
	size_t lo = 0, hi = orc->nr_mods;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (addr < orc->mods[mid].lo)
			hi = mid;
		else if (addr >= orc->mods[mid].hi)
			lo = mid + 1;
		else
			return &orc->mods[mid];
	}
	return NULL;
}

struct up_error *up_orc_add_module(struct up_orc *orc, uint64_t text, uint64_t size,
				   uint64_t ip, uint64_t entries, size_t n, up_read_mem_fn *read,
				   void *ctx)
{
	struct orc_module *mods;
	struct up_orc *mod;
	struct up_error *err;
	size_t at = 0;

	if (!size || text + size < text || ip + 4 * (uint64_t)n < ip)
		return up_error_create(UP_ERR_INVALID, "module code 0x%llx+0x%llx is no range",
				       (unsigned long long)text, (unsigned long long)size);
	while (at < orc->nr_mods && orc->mods[at].hi <= text)
		at++;
	if (at < orc->nr_mods && orc->mods[at].lo < text + size)
		return up_error_create(UP_ERR_INVALID, "module code 0x%llx+0x%llx overlaps another",
				       (unsigned long long)text, (unsigned long long)size);
	/* The kernel's format: read with the version the kernel's own table has. */
	err = up_orc_create(orc->version, ip, NULL, NULL, n, &mod);
	if (err)
		return err;
	err = read_chunked(read, ctx, ip, mod->ips, n * sizeof(*mod->ips));
	if (!err)
		err = read_chunked(read, ctx, entries, mod->entries, n * ORC_ENTRY_SIZE);
	if (err) {
		up_orc_destroy(mod);
		return err;
	}
	mods = realloc(orc->mods, (orc->nr_mods + 1) * sizeof(*mods));
	if (!mods) {
		up_orc_destroy(mod);
		return &up_error_nomem;
	}
	orc->mods = mods;
	memmove(mods + at + 1, mods + at, (orc->nr_mods - at) * sizeof(*mods));
	mods[at] = (struct orc_module){ .lo = text, .hi = text + size, .orc = mod };
	orc->nr_mods++;
	return NULL;
}

size_t up_orc_module_count(const struct up_orc *orc)
{
	return orc->nr_mods;
}

int up_orc_find(const struct up_orc *orc, uint64_t addr, struct up_orc_entry *ret)
{
	const struct orc_module *mod = module_of(orc, addr);
	size_t lo = 0, hi;

	if (mod)
		orc = mod->orc;
	hi = orc->n;

	/* The last i with ip_at(i) <= addr; each step halves [lo, hi), so it ends. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (ip_at(orc, mid) <= addr)
			lo = mid;
		else
			hi = mid;
	}
	if (ip_at(orc, lo) > addr)
		return -1;
	up_orc_decode(orc->version, orc->entries + lo * ORC_ENTRY_SIZE, ret);
	return 0;
}
