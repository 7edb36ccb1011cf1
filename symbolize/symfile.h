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

/*
 * Linux symbols that are not code but that task attribution needs, at link-time values as the
 * file gives them (a per-CPU symbol of kallsyms is an offset, type A).  Bit UP_LSYM_x of has
 * says the file has symbol x.
 */
enum up_linux_sym {
	UP_LSYM_CURRENT_TASK,   /* x86_64 per-CPU `current_task` (before 6.2, again in 6.15) */
	UP_LSYM_PCPU_HOT,       /* x86_64 per-CPU `pcpu_hot` (6.2 to 6.14: .current_task in it) */
	UP_LSYM_START_BTF,      /* __start_BTF: the kernel's own BTF ... */
	UP_LSYM_STOP_BTF,       /* ... up to __stop_BTF */
	UP_LSYM_ETEXT,          /* _etext: the BTF lies after it (read-only data) */
	UP_LSYM_MODULES,        /* `modules`: the list head of the loaded modules */
	UP_LSYM_COUNT
};

struct up_linux_syms {
	uint64_t value[UP_LSYM_COUNT];
	unsigned int has;
};

/* Note name at value in syms when it is one of enum up_linux_sym's. */
void up_linux_syms_note(struct up_linux_syms *syms, const char *name, uint64_t value);

/* Whether syms has symbol sym. */
static inline int up_linux_syms_has(const struct up_linux_syms *syms, enum up_linux_sym sym)
{
	return (syms->has >> sym) & 1;
}

/* Whether syms says where the kernel's BTF lies (__start_BTF and __stop_BTF). */
static inline int up_linux_syms_has_btf(const struct up_linux_syms *syms)
{
	return up_linux_syms_has(syms, UP_LSYM_START_BTF) &&
	       up_linux_syms_has(syms, UP_LSYM_STOP_BTF);
}

struct up_symfile {
	char *path;
	enum up_symfile_kind kind;
	struct up_symtab tab;       /* code symbols, link-time addresses */
	struct up_code code;        /* code bytes, link-time addresses (none for maps) */
	struct up_dwarf *dwarf;     /* DWARF of an ELF, when asked for and present */
	uint64_t link_base;         /* the image's lowest address at slide 0 */
	uint64_t banner;            /* link address of linux_banner (a Linux kernel), or 0 */
	uint64_t vectors;           /* link address of arm64 Linux's exception vectors, or 0 */
	struct up_linux_syms linux_syms;
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
