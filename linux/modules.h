/*
 * A Linux guest's loaded modules, read from guest memory once before sampling: where each
 * module's code is, its ORC table (x86_64) and its symbol table, so walks go through module
 * code and its functions have names.
 *
 * The kernel keeps its modules on the list at the symbol `modules`, each a struct module whose
 * layout comes from the kernel's BTF (struct module changed in 6.4: core_layout gave way to
 * mem[MOD_TEXT]).  Pure code over a read callback (arch/arch.h's up_read_mem_fn); everything
 * read is the guest's, so every count and size is bounded.
 */
#ifndef UP_LINUX_MODULES_H
#define UP_LINUX_MODULES_H

#include <stddef.h>
#include <stdint.h>

#include "../arch/arch.h"
#include "../symbolize/symtab.h"
#include "../util/error.h"

#define UP_MODULE_NAME_MAX 56           /* MODULE_NAME_LEN on 64-bit kernels */
#define UP_MODULES_MAX 4096             /* modules taken at most */
#define UP_MODULE_TEXT_MAX (1ull << 30) /* code of one module, at most */
#define UP_MODULE_SYMS_MAX (1u << 20)   /* symbols of one module, at most */
#define UP_MODULE_STRTAB_MAX (16u << 20)
#define UP_ORC_MODULE_MAX (1u << 20)    /* ORC entries of one module, at most */

/* Where the fields read are, in bytes from the start of their struct. */
struct up_module_layout {
	uint32_t list;                 /* struct module.list (struct list_head) */
	uint32_t name, name_len;       /* struct module.name (char[]) */
	uint32_t text_base;            /* core_layout.base (to 6.3) or mem[MOD_TEXT].base */
	uint32_t text_size;            /* core_layout.text_size or mem[MOD_TEXT].size (4 bytes) */
	int has_orc;                   /* x86_64 kernels with ORC: arch.num_orcs ... */
	uint32_t num_orcs, orc_ip, orc_entries;
	int has_kallsyms;              /* struct module.kallsyms and struct mod_kallsyms */
	uint32_t kallsyms, ks_symtab, ks_num_symtab, ks_strtab;
};

/*
 * The layout from a raw BTF blob (as up_btf_task_layout takes it).  UP_ERR_INVALID with one line
 * when there is no struct module of a shape we read.
 */
struct up_error *up_btf_module_layout(const void *blob, size_t len, struct up_module_layout *ret);

/* The same from an ELF file's .BTF section (a vmlinux given with -k). */
struct up_error *up_btf_module_layout_elf(const char *path, struct up_module_layout *ret);

/* One loaded module, as read from the guest (addresses are the guest's, runtime). */
struct up_module_info {
	char name[UP_MODULE_NAME_MAX + 1];  /* printable ASCII; anything else is '?' */
	uint64_t text, text_size;           /* its core code */
	uint32_t num_orcs;                  /* ORC entries (0: none) ... */
	uint64_t orc_ip, orc_entries;       /* ... at these addresses */
	uint32_t num_symtab;                /* Elf64_Sym entries (0: none) ... */
	uint64_t symtab, strtab;            /* ... and their names */
};

/*
 * The modules on the list whose head is at head, at most max into ret[], *nr of them.  A list
 * that loops or leaves kernel addresses ends the walk (what was read is kept); a module whose
 * fields are implausible (code size, counts beyond the limits above) is left out.  A read that
 * faults ends the walk too; other read errors are returned.
 */
struct up_error *up_modules_list(const struct up_module_layout *l, uint64_t head,
				 up_read_mem_fn *read, void *ctx, struct up_module_info *ret,
				 size_t max, size_t *nr);

/*
 * Add m's function symbols that lie in its code to tab (runtime addresses, sized), *added of
 * them.  The symbol and string tables are read in two reads at most (the strings up to the
 * last name used, UP_MODULE_STRTAB_MAX at most).  Faults are returned as they are.
 */
struct up_error *up_module_symbols(const struct up_module_info *m, up_read_mem_fn *read,
				   void *ctx, struct up_symtab *tab, size_t *added);

#endif
