/* Loading a symbol file by its content. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwarf.h"
#include "symfile.h"

/* Maps and PE images are read whole; a kallsyms of a big kernel is ~20 MB. */
#define MAX_READ_FILE (512 * 1024 * 1024)

static struct up_error *read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	struct stat st;
	uint8_t *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return up_error_errno(errno, "%s", path);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_READ_FILE) {
		close(fd);
		return up_error_create(UP_ERR_INVALID, "%s: not a regular file of sensible size", path);
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		close(fd);
		return &up_error_nomem;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, st.st_size - got);

		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			free(buf);
			close(fd);
			return up_error_errno(e, "reading %s", path);
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	*ret = buf;
	*ret_len = got;
	return NULL;
}

void up_linux_syms_note(struct up_linux_syms *syms, const char *name, uint64_t value)
{
	static const char *const names[UP_LSYM_COUNT] = {
		[UP_LSYM_CURRENT_TASK] = "current_task",
		[UP_LSYM_PCPU_HOT] = "pcpu_hot",
		[UP_LSYM_START_BTF] = "__start_BTF",
		[UP_LSYM_STOP_BTF] = "__stop_BTF",
		[UP_LSYM_ETEXT] = "_etext",
		[UP_LSYM_MODULES] = "modules",
	};

	for (unsigned int i = 0; i < UP_LSYM_COUNT; i++) {
		if (!strcmp(name, names[i]) && !(syms->has & (1u << i))) {
			syms->value[i] = value;
			syms->has |= 1u << i;
		}
	}
}

struct up_error *up_symfile_load(const char *path, struct up_symfile **ret)
{
	struct up_symfile *f = calloc(1, sizeof(*f));
	uint8_t magic[4] = { 0 }, *buf = NULL;
	struct up_error *err;
	size_t len = 0;
	ssize_t n;
	int fd;

	if (!f)
		return &up_error_nomem;
	up_symtab_init(&f->tab);
	up_code_init(&f->code);
	f->path = strdup(path);
	if (!f->path) {
		up_symfile_destroy(f);
		return &up_error_nomem;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = up_error_errno(errno, "%s", path);
		goto fail;
	}
	n = read(fd, magic, sizeof(magic));
	close(fd);
	if (n == 4 && !memcmp(magic, "\x7f" "ELF", 4)) {
		err = up_elf_load(path, f);
	} else {
		err = read_file(path, &buf, &len);
		if (!err && len >= 2 && buf[0] == 'M' && buf[1] == 'Z')
			err = up_pe_parse(buf, len, f);
		else if (!err)
			err = up_map_parse((const char *)buf, len, f);
		free(buf);
		if (err && err->code == UP_ERR_INVALID && strncmp(err->message, path, strlen(path)))
			err = up_error_prefix(err, "%s", path);
	}
	if (err)
		goto fail;
	up_symtab_finish(&f->tab);
	up_code_finish(&f->code);
	*ret = f;
	return NULL;
fail:
	up_symfile_destroy(f);
	return err;
}

void up_symfile_destroy(struct up_symfile *f)
{
	if (!f)
		return;
	up_symtab_deinit(&f->tab);
	up_code_deinit(&f->code);
	up_dwarf_close(f->dwarf);
	free(f->path);
	free(f);
}
