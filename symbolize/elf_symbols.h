/* Function symbols from an ELF file's symbol table (libelf). */
#ifndef UP_SYMBOLIZE_ELF_SYMBOLS_H
#define UP_SYMBOLIZE_ELF_SYMBOLS_H

#include "code.h"
#include "symtab.h"

/*
 * Add the code symbols of the ELF file at path to tab: .symtab, or .dynsym when the file is
 * stripped; and, when code is not NULL, the bytes of its executable sections to code.  Fails
 * with UP_ERR_INVALID when path is not an ELF file or has no code symbols.
 */
struct up_error *up_elf_load_symbols(const char *path, struct up_symtab *tab,
				     struct up_code *code);

#endif
