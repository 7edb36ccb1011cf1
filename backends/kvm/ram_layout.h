/*
 * QEMU's guest-physical memory map, from its monitor's text: which guest-physical ranges are
 * RAM (or ROM) and where each one lies in QEMU's own address space.  Pure parsers of HMP
 * output, which is peer-controlled: bounded, and fuzzed (fuzz/fuzz_ram_layout.c).
 */
#ifndef UP_KVM_RAM_LAYOUT_H
#define UP_KVM_RAM_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "../../util/error.h"

struct qemu_ram_range {
	uint64_t start;      /* guest-physical address of the first byte */
	uint64_t size;
	int readonly;        /* ROM, or a ROM device (flash) in its read mode */
	char name[64];       /* the memory region's name, for messages; may be cut */
};

/*
 * The RAM and ROM ranges of the flat view that address space "memory" (the system's) renders,
 * from the output of HMP "info mtree -f", sorted by address.  MMIO ("i/o") and device memory
 * ("ramd", a device's BAR mapped for speed) are left out: reading them could have effects.
 * More than max ranges, or none, or no such flat view, is UP_ERR_PROTOCOL.  *ret is malloc'd.
 */
struct up_error *qemu_parse_mtree(const char *text, size_t len, size_t max,
				  struct qemu_ram_range **ret, size_t *ret_nr);

/*
 * How many bytes from paddr on (at most len) lie in one of the nr ranges (sorted, as
 * qemu_parse_mtree gives them): 0 when paddr is in none, device memory or a hole.
 */
size_t qemu_ram_span(const struct qemu_ram_range *ranges, size_t nr, uint64_t paddr, size_t len);

/*
 * The host address in the output of HMP "gpa2hva ADDR" ("Host virtual address for 0x100000
 * (pc.ram) is 0x7f12a4f00000").  Returns 0, or -1 for any other text ("... is not RAM").
 */
int qemu_parse_gpa2hva(const char *text, size_t len, uint64_t *ret);

#endif
