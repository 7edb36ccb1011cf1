/*
 * The loaded image an ELF file describes, read by link-time address: the contents of its
 * allocated sections (a vmlinux's .orc_unwind, .rodata...), for tables read from the file
 * rather than from the guest.
 */
#ifndef UP_SYMBOLIZE_ELF_IMAGE_H
#define UP_SYMBOLIZE_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "../util/error.h"

struct up_elf_image;

/* Open path, which must be an ELF file: UP_ERR_INVALID when it is not. */
struct up_error *up_elf_image_open(const char *path, struct up_elf_image **ret);

/* Close; NULL is a no-op. */
void up_elf_image_close(struct up_elf_image *img);

/* The link address and size of the section called name: 0, or -1 when there is none. */
int up_elf_image_section(struct up_elf_image *img, const char *name, uint64_t *ret_addr,
			 uint64_t *ret_size);

/*
 * Copy len bytes at link address addr, which must lie in one allocated section with contents
 * in the file; else an UP_ERR_FAULT at addr.  An up_read_mem_fn in shape, ctx being img.
 */
struct up_error *up_elf_image_read(void *img, uint64_t addr, void *buf, size_t len);

#endif
