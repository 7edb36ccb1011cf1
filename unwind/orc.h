/*
 * Linux's ORC unwind tables (x86_64), read once from the guest.
 *
 * A kernel built with CONFIG_UNWINDER_ORC keeps two parallel arrays: .orc_unwind_ip (each a
 * 32-bit offset from its own address to a code address, sorted) and .orc_unwind (one 6-byte
 * entry per code address: how to find the caller's stack pointer, frame pointer and return
 * address, or the interrupted context of an entry frame).  An entry holds for the code from its
 * address up to the next entry's.
 *
 * The entry's bit fields changed with the kernel: up to 6.2 (version 1: type in 2 bits, then
 * "end"), 6.3 (version 2: "signal" before "end"), 6.4 and later (version 3: a 3-bit type with
 * explicit UNDEFINED and END_OF_STACK, then "signal").  Since 6.4 (and 6.3.10) .orc_header holds
 * a 20-byte hash of the header that defines the entry; a hash we do not know (a later renumbering
 * of the registers, say) is refused rather than misread.  Without a header the kernel's version
 * decides.
 */
#ifndef UP_UNWIND_ORC_H
#define UP_UNWIND_ORC_H

#include <stddef.h>
#include <stdint.h>

#include "../arch/arch.h"

/* Entries we take at most (Debian 12's kernel has about 600,000). */
#define UP_ORC_MAX_ENTRIES (8u << 20)

/* Where the tables are, at runtime (link address + slide). */
struct up_orc_location {
	uint64_t ip_start, ip_stop;   /* __start_orc_unwind_ip, __stop_orc_unwind_ip */
	uint64_t entries;             /* __start_orc_unwind */
	uint64_t header;              /* __start_orc_header, or 0: none */
	/* The kernel's version (from linux_banner), used when there is no header; 0: unknown. */
	unsigned int major, minor;
};

/* What an entry says, in the latest format's terms. */
enum up_orc_type {
	UP_ORC_UNDEFINED,      /* no rule: the unwind stops, unreliable */
	UP_ORC_END_OF_STACK,   /* the outermost frame */
	UP_ORC_CALL,           /* a call frame: return address at CFA - 8 */
	UP_ORC_REGS,           /* a full struct pt_regs at CFA */
	UP_ORC_REGS_PARTIAL,   /* an iret frame at CFA (pt_regs from its ip field on) */
};

/* ORC base registers (the same numbers in every version we read). */
enum up_orc_reg {
	UP_ORC_REG_UNDEFINED = 0,
	UP_ORC_REG_PREV_SP = 1,
	UP_ORC_REG_DX = 2,
	UP_ORC_REG_DI = 3,
	UP_ORC_REG_BP = 4,
	UP_ORC_REG_SP = 5,
	UP_ORC_REG_R10 = 6,
	UP_ORC_REG_R13 = 7,
	UP_ORC_REG_BP_INDIRECT = 8,
	UP_ORC_REG_SP_INDIRECT = 9,
};

struct up_orc_entry {
	int16_t sp_offset, bp_offset;
	uint8_t sp_reg, bp_reg;       /* enum up_orc_reg */
	uint8_t type;                 /* enum up_orc_type */
	uint8_t signal;               /* the caller's pc is exact (not a return address) */
};

struct up_orc;

/*
 * Decode one raw 6-byte entry (little-endian) of format version (1, 2 or 3) into *ret.
 * Pure; for the walker, the unit tests and the fuzzer.
 */
void up_orc_decode(unsigned int version, const uint8_t raw[6], struct up_orc_entry *ret);

/*
 * The format version the header (20 bytes) names: 2 or 3; 0 when the hash is not one we know.
 */
unsigned int up_orc_version_from_header(const uint8_t header[20]);

/* The format version of a kernel without a header: 1 up to 6.2, 2 for 6.3, 3 from 6.4. */
unsigned int up_orc_version_from_release(unsigned int major, unsigned int minor);

/*
 * Read the tables at loc through read (guest virtual memory, the guest paused) into a new
 * *ret.  UP_ERR_INVALID (with a message saying why) for tables that are not plausible (sizes,
 * counts beyond UP_ORC_MAX_ENTRIES) or a header whose format we do not know; a fault is
 * returned as it is.
 */
struct up_error *up_orc_read(const struct up_orc_location *loc, up_read_mem_fn *read, void *ctx,
			     struct up_orc **ret);

/*
 * Tables from arrays already in memory: ip_base is the runtime address of ips[0], entries
 * holds n raw 6-byte entries.  The arrays are copied.  For tests, fuzzers and ELF sections.
 */
struct up_error *up_orc_create(unsigned int version, uint64_t ip_base, const int32_t *ips,
			       const uint8_t *entries, size_t n, struct up_orc **ret);

/* Free orc; NULL is a no-op. */
void up_orc_destroy(struct up_orc *orc);

/*
 * Add the table of a module whose code is [text, text + size): n entries, ips at ip and entries
 * at entries in guest memory (read through read), in the kernel's format.  Code in the module
 * is then looked up in its table alone (the kernel's last entry covers nothing there).
 * UP_ERR_INVALID for code that is no range or overlaps a module already added, or a count
 * beyond UP_ORC_MAX_ENTRIES; read errors (faults too) are returned as they are.
 */
struct up_error *up_orc_add_module(struct up_orc *orc, uint64_t text, uint64_t size,
				   uint64_t ip, uint64_t entries, size_t n, up_read_mem_fn *read,
				   void *ctx);

/* How many modules' tables were added. */
size_t up_orc_module_count(const struct up_orc *orc);

/* Number of entries (the kernel's), and the format version. */
size_t up_orc_count(const struct up_orc *orc);
unsigned int up_orc_version(const struct up_orc *orc);

/*
 * The entry covering code address addr into *ret: 0, or -1 when addr lies before the first
 * entry (the last one covers everything above it: the kernel ends its table with a terminator).  A binary search of at most
 * log2(n) + 1 steps, whatever the guest wrote (the ips need not even be sorted).
 */
int up_orc_find(const struct up_orc *orc, uint64_t addr, struct up_orc_entry *ret);

#endif
