/*
 * libFuzzer: loading a hostile symbol file (the -k argument) of any kind: ELF, PE/COFF,
 * or a System.map / nm / kallsyms text map.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../symbolize/symfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct up_symfile *f;
	struct up_error *err;
	char path[64];
	uint8_t b[16];
	int fd = memfd_create("symfile", 0);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = up_symfile_load(path, &f);
	up_error_destroy(err);
	if (!err) {
		for (size_t i = 0; i < f->tab.nr; i++) {
			up_symtab_lookup(&f->tab, f->tab.syms[i].start);
			up_code_read(&f->code, f->tab.syms[i].start, b, sizeof(b));
		}
		up_symfile_destroy(f);
	}
	close(fd);
	return 0;
}
