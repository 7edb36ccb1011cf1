/* libFuzzer: loading symbols from a hostile ELF file (the -k argument). */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../symbolize/elf_symbols.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	struct up_symtab tab;
	struct up_code code;
	uint8_t b[16];
	int fd = memfd_create("elf", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	up_symtab_init(&tab);
	up_code_init(&code);
	up_error_destroy(up_elf_load_symbols(path, &tab, &code));
	up_symtab_finish(&tab);
	up_code_finish(&code);
	for (size_t i = 0; i < tab.nr; i++) {
		up_symtab_lookup(&tab, tab.syms[i].start);
		up_code_read(&code, tab.syms[i].start, b, sizeof(b));
	}
	up_symtab_deinit(&tab);
	up_code_deinit(&code);
	close(fd);
	return 0;
}
