/*
 * One symbol file given with -k: its symbols and code at link-time addresses, and the slide
 * that maps them to where the guest really runs them (runtime = link + slide).
 *
 * The kind is chosen by content, never by file name: ELF, PE/COFF (EFI images), or text in
 * System.map / `nm` / /proc/kallsyms form.
 */
#ifndef UP_SYMBOLIZE_SYMFILE_H
#define UP_SYMBOLIZE_SYMFILE_H

#include <stdint.h>

#include "code.h"
#include "symtab.h"

enum up_symfile_kind {
	UP_SYMFILE_ELF,
	UP_SYMFILE_PE,
	UP_SYMFILE_MAP,
};

enum up_slide_state {
	UP_SLIDE_UNKNOWN,    /* not looked for yet */
	UP_SLIDE_GIVEN,      /* the user said (--slide, -k FILE@ADDR) */
	UP_SLIDE_CONFIRMED,  /* found and checked against the running guest */
	UP_SLIDE_REFUSED,    /* nothing confirmed: this file names no address */
};

struct up_dwarf;

struct up_symfile {
	char *path;
	enum up_symfile_kind kind;
	struct up_symtab tab;       /* code symbols, link-time addresses */
	struct up_code code;        /* code bytes, link-time addresses (none for maps) */
	struct up_dwarf *dwarf;     /* DWARF of an ELF, when asked for and present */
	uint64_t link_base;         /* the image's lowest address at slide 0 */
	uint64_t banner;            /* link address of linux_banner (a Linux kernel), or 0 */
	uint64_t vectors;           /* link address of arm64 Linux's exception vectors, or 0 */
	int relocatable;            /* a PIE or PE image: the loader may move it */
	uint16_t pe_machine;        /* PE: 0x8664 or 0xaa64; ELF: the matching value; else 0 */
	int64_t slide;
	enum up_slide_state slide_state;
	char slide_how[192];        /* how the slide was decided, for -v */
};

/* Load the file at path, whatever its kind, into a new *ret. */
struct up_error *up_symfile_load(const char *path, struct up_symfile **ret);

/* Free f; NULL is a no-op. */
void up_symfile_destroy(struct up_symfile *f);

/* Loaders by kind, for the file's bytes already in memory (maps, PE) or its path (ELF). */
struct up_error *up_map_parse(const char *text, size_t len, struct up_symfile *f);
struct up_error *up_pe_parse(const uint8_t *image, size_t len, struct up_symfile *f);
struct up_error *up_elf_load(const char *path, struct up_symfile *f);

#endif
