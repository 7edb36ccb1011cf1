#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "symfile.h"

enum {
	RANK_LABEL = 1,   /* untyped symbol in a code section: an assembly label */
	RANK_LOCAL = 2,
	RANK_WEAK = 3,
	RANK_GLOBAL = 4,
};

static int wanted_name(const char *name)
{
	/* Skip empty names, arm64 mapping symbols ($x, $d) and assembler locals. */
	return name && name[0] && name[0] != '$' && strncmp(name, ".L", 2);
}

static unsigned int symbol_rank(const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);
	int bind = GELF_ST_BIND(sym->st_info);

	if (type == STT_NOTYPE)
		return RANK_LABEL;
	if (bind == STB_GLOBAL)
		return RANK_GLOBAL;
	if (bind == STB_WEAK)
		return RANK_WEAK;
	return RANK_LOCAL;
}

/* Whether sym names code: a function, or a label inside an executable section. */
static int is_code_symbol(Elf *elf, const GElf_Sym *sym)
{
	int type = GELF_ST_TYPE(sym->st_info);
	Elf_Scn *scn;
	GElf_Shdr shdr;

	if (type != STT_FUNC && type != STT_GNU_IFUNC && type != STT_NOTYPE)
		return 0;
	if (sym->st_shndx == SHN_UNDEF || sym->st_shndx >= SHN_LORESERVE)
		return 0;
	scn = elf_getscn(elf, sym->st_shndx);
	if (!scn || !gelf_getshdr(scn, &shdr))
		return 0;
	return (shdr.sh_flags & SHF_EXECINSTR) != 0;
}

static struct up_error *load_section(Elf *elf, Elf_Scn *scn, const GElf_Shdr *shdr,
				     struct up_symfile *f, size_t *added)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count;

	if (!data || !shdr->sh_entsize)
		return NULL;
	count = shdr->sh_size / shdr->sh_entsize;
	for (size_t i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;
		struct up_error *err;

		if (!gelf_getsym(data, i, &sym))
			continue;
		name = elf_strptr(elf, shdr->sh_link, sym.st_name);
		/* Linux's version string anchors the KASLR slide (see slide.c). */
		if (name && !strcmp(name, "linux_banner") && sym.st_shndx != SHN_UNDEF)
			f->banner = sym.st_value;
		if (name && !strcmp(name, "vectors") && sym.st_shndx != SHN_UNDEF)
			f->vectors = sym.st_value;
		if (name && sym.st_shndx != SHN_UNDEF)
			up_linux_syms_note(&f->linux_syms, name, sym.st_value);
		if (!is_code_symbol(elf, &sym) || !wanted_name(name))
			continue;
		err = up_symtab_add(&f->tab, sym.st_value, sym.st_size, name, symbol_rank(&sym));
		if (err)
			return err;
		(*added)++;
	}
	return NULL;
}

static struct up_error *load_type(Elf *elf, Elf64_Word type, struct up_symfile *f,
				  size_t *added)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		struct up_error *err;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != type)
			continue;
		err = load_section(elf, scn, &shdr, f, added);
		if (err)
			return err;
	}
	return NULL;
}

/* Keep the bytes of allocated, executable sections that the file really holds. */
static struct up_error *load_code(Elf *elf, struct up_code *code)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		struct up_error *err;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS ||
		    (shdr.sh_flags & (SHF_ALLOC | SHF_EXECINSTR)) != (SHF_ALLOC | SHF_EXECINSTR))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size != shdr.sh_size)
			continue;
		err = up_code_add(code, shdr.sh_addr, data->d_buf, data->d_size);
		if (err)
			return err;
	}
	return NULL;
}

/* The lowest address a loadable segment asks for: where the image starts at slide 0. */
static uint64_t lowest_load_address(Elf *elf)
{
	uint64_t lowest = UINT64_MAX;
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && ph.p_vaddr < lowest)
			lowest = ph.p_vaddr;
	}
	return lowest == UINT64_MAX ? 0 : lowest;
}

struct up_error *up_elf_load(const char *path, struct up_symfile *f)
{
	struct up_error *err = NULL;
	size_t added = 0;
	GElf_Ehdr ehdr;
	Elf *elf;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return up_error_create(UP_ERR_INVALID, "libelf is unusable: %s", elf_errmsg(-1));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return up_error_errno(errno, "%s", path);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr)) {
		err = up_error_create(UP_ERR_INVALID, "%s: not an ELF file", path);
		goto out;
	}
	f->kind = UP_SYMFILE_ELF;
	f->relocatable = ehdr.e_type == ET_DYN;
	f->link_base = lowest_load_address(elf);
	f->pe_machine = ehdr.e_machine == EM_X86_64 ? 0x8664 :
			ehdr.e_machine == EM_AARCH64 ? 0xaa64 : 0;
	err = load_type(elf, SHT_SYMTAB, f, &added);
	if (!err && !added)
		err = load_type(elf, SHT_DYNSYM, f, &added);
	if (!err && !added)
		err = up_error_create(UP_ERR_INVALID, "%s: no function symbols (stripped?)", path);
	if (!err)
		err = load_code(elf, &f->code);
out:
	elf_end(elf);
	close(fd);
	return err;
}
