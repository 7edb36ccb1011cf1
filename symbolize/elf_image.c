/* An ELF file's allocated sections, read by link-time address (libelf). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_image.h"

struct up_elf_image {
	int fd;
	Elf *elf;
	size_t shstrndx;
};

struct up_error *up_elf_image_open(const char *path, struct up_elf_image **ret)
{
	struct up_elf_image *img;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return up_error_create(UP_ERR_INVALID, "libelf is unusable: %s", elf_errmsg(-1));
	img = calloc(1, sizeof(*img));
	if (!img)
		return &up_error_nomem;
	img->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (img->fd < 0) {
		int e = errno;

		free(img);
		return up_error_errno(e, "%s", path);
	}
	img->elf = elf_begin(img->fd, ELF_C_READ_MMAP, NULL);
	if (!img->elf || elf_kind(img->elf) != ELF_K_ELF ||
	    elf_getshdrstrndx(img->elf, &img->shstrndx) < 0) {
		up_elf_image_close(img);
		return up_error_create(UP_ERR_INVALID, "%s: not an ELF file", path);
	}
	*ret = img;
	return NULL;
}

void up_elf_image_close(struct up_elf_image *img)
{
	if (!img)
		return;
	if (img->elf)
		elf_end(img->elf);
	close(img->fd);
	free(img);
}

int up_elf_image_section(struct up_elf_image *img, const char *name, uint64_t *ret_addr,
			 uint64_t *ret_size)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(img->elf, scn))) {
		GElf_Shdr sh;
		const char *n;

		if (!gelf_getshdr(scn, &sh) || !(n = elf_strptr(img->elf, img->shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(n, name) && (sh.sh_flags & SHF_ALLOC)) {
			*ret_addr = sh.sh_addr;
			*ret_size = sh.sh_size;
			return 0;
		}
	}
	return -1;
}

struct up_error *up_elf_image_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	struct up_elf_image *img = ctx;
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(img->elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || sh.sh_type == SHT_NOBITS ||
		    addr < sh.sh_addr || addr - sh.sh_addr >= sh.sh_size ||
		    len > sh.sh_size - (addr - sh.sh_addr))
			continue;
		data = elf_rawdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < sh.sh_size)
			break;
		memcpy(buf, (const uint8_t *)data->d_buf + (addr - sh.sh_addr), len);
		return NULL;
	}
	return up_error_fault(addr, "0x%llx: not in the file's sections", (unsigned long long)addr);
}
