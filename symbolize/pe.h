/*
 * PE/COFF images (EFI applications and kernels): the headers, read from a file or from guest
 * memory where the firmware loaded the image.  Bounded by the buffer given: the input is
 * hostile.
 */
#ifndef UP_SYMBOLIZE_PE_H
#define UP_SYMBOLIZE_PE_H

#include <stddef.h>
#include <stdint.h>

#define UP_PE_MACHINE_X86_64 0x8664
#define UP_PE_MACHINE_ARM64 0xaa64
#define UP_PE_MAX_SECTIONS 32

struct up_pe_section {
	char name[9];
	uint32_t vaddr;      /* RVA */
	uint32_t vsize;
	uint32_t raw_offset; /* file offset of the bytes */
	uint32_t raw_size;
	uint32_t flags;
};

struct up_pe_info {
	uint16_t machine;
	uint64_t image_base;     /* preferred load address from the optional header */
	uint32_t size_of_image;
	uint32_t symtab_offset;  /* COFF symbol table, 0 if none */
	uint32_t nr_symbols;
	size_t nr_sections;
	struct up_pe_section sections[UP_PE_MAX_SECTIONS];
};

#define UP_PE_SCN_CODE 0x00000020u
#define UP_PE_SCN_EXECUTE 0x20000000u

/*
 * Parse the DOS, COFF and optional headers and the section table at the start of buf.
 * Returns 0, or -1 when buf does not hold a PE32 or PE32+ image header.
 */
int up_pe_headers(const uint8_t *buf, size_t len, struct up_pe_info *ret);

/* The section called name, or NULL. */
const struct up_pe_section *up_pe_section(const struct up_pe_info *pe, const char *name);

#endif
