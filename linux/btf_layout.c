/* task_struct's field offsets from BTF, through libbpf (Debian's libbpf-dev). */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "../util/bytes.h"
#include "modules.h"
#include "tasks.h"

/* libbpf prints warnings on stderr by default; library code never prints. */
static int quiet(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	(void)fmt;
	(void)args;
	return 0;
}

/* Members nested this deep in anonymous structs and unions at most (task_struct: 1). */
#define MAX_NESTING 8

/*
 * The bit offset of member name in the struct or union type id, looking into anonymous
 * members; its type id in *type_id.  -1 when absent or a bitfield.
 */
static long member_bits(const struct btf *btf, __u32 id, const char *name, int depth,
			__u32 *type_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	const struct btf_member *m;

	if (!t || !btf_is_composite(t) || depth > MAX_NESTING)
		return -1;
	m = btf_members(t);
	for (__u16 i = 0; i < btf_vlen(t); i++, m++) {
		const char *n = btf__name_by_offset(btf, m->name_off);
		long inner;

		if (btf_member_bitfield_size(t, i))
			continue;
		if (n && *n) {
			if (strcmp(n, name))
				continue;
			*type_id = m->type;
			return (long)btf_member_bit_offset(t, i);
		}
		/* An anonymous struct or union: its members are the outer struct's. */
		inner = member_bits(btf, btf__resolve_type(btf, m->type) < 0 ? 0 :
				    (__u32)btf__resolve_type(btf, m->type), name, depth + 1, type_id);
		if (inner >= 0)
			return (long)btf_member_bit_offset(t, i) + inner;
	}
	return -1;
}

/* The byte offset of member name of struct id, whose type has size bytes; -1 if not so. */
static long member_offset(const struct btf *btf, __u32 id, const char *name, long size,
			  int want_array)
{
	__u32 type_id = 0;
	long bits = member_bits(btf, id, name, 0, &type_id);
	int resolved;
	const struct btf_type *t;

	if (bits < 0 || bits % 8)
		return -1;
	resolved = btf__resolve_type(btf, type_id);
	t = resolved < 0 ? NULL : btf__type_by_id(btf, (__u32)resolved);
	if (!t || btf__resolve_size(btf, type_id) != size || (want_array && !btf_is_array(t)) ||
	    (!want_array && btf_is_array(t)))
		return -1;
	return bits / 8;
}

static struct up_error *layout_of(const struct btf *btf, struct up_task_layout *ret)
{
	struct up_task_layout l = { .comm_len = UP_TASK_COMM_LEN };
	__s32 task = btf__find_by_name_kind(btf, "task_struct", BTF_KIND_STRUCT);
	__s32 hot = btf__find_by_name_kind(btf, "pcpu_hot", BTF_KIND_STRUCT);
	long pid, tgid, comm, current;

	if (task < 0)
		return up_error_create(UP_ERR_INVALID, "the kernel's BTF has no struct task_struct");
	pid = member_offset(btf, (__u32)task, "pid", 4, 0);
	tgid = member_offset(btf, (__u32)task, "tgid", 4, 0);
	comm = member_offset(btf, (__u32)task, "comm", UP_TASK_COMM_LEN, 1);
	if (pid < 0 || tgid < 0 || comm < 0)
		return up_error_create(UP_ERR_INVALID,
				       "the kernel's BTF has no task_struct.%s of the expected type",
				       pid < 0 ? "pid" : tgid < 0 ? "tgid" : "comm");
	l.pid = (uint32_t)pid;
	l.tgid = (uint32_t)tgid;
	l.comm = (uint32_t)comm;
	if (hot >= 0) {
		current = member_offset(btf, (__u32)hot, "current_task", 8, 0);
		if (current >= 0) {
			l.has_pcpu_hot = 1;
			l.pcpu_hot_current = (uint32_t)current;
		}
	}
	*ret = l;
	return NULL;
}

/* A BTF blob (the kernel's, from guest memory) to a struct btf; NULL and *err if it is none. */
static struct btf *parse_blob(const void *blob, size_t len, struct up_error **err)
{
	struct btf *btf;

	*err = NULL;
	if (len > UP_BTF_MAX_SIZE) {
		*err = up_error_create(UP_ERR_INVALID, "the kernel's BTF is %zu bytes, more than %u",
				       len, UP_BTF_MAX_SIZE);
		return NULL;
	}
	/*
	 * libbpf takes the types to start hdr_len bytes in, aligned or not: a header whose length
	 * is no multiple of 4 (the kernel's is 24) would have it read them misaligned.
	 */
	if (len >= 8) {
		const uint8_t *h = blob;
		uint32_t hdr_len = h[0] == 0x9f ? up_le32(h + 4) :
				   (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];

		if (hdr_len % 4) {
			*err = up_error_create(UP_ERR_INVALID, "the kernel's BTF does not parse "
					       "(a header of %u bytes, no multiple of 4)", hdr_len);
			return NULL;
		}
	}
	libbpf_set_print(quiet);
	btf = btf__new(blob, (__u32)len);
	if (!btf)
		*err = up_error_create(UP_ERR_INVALID, "the kernel's BTF does not parse (%s)",
				       strerror(errno));
	return btf;
}

struct up_error *up_btf_task_layout(const void *blob, size_t len, struct up_task_layout *ret)
{
	struct up_error *err;
	struct btf *btf = parse_blob(blob, len, &err);

	if (!btf)
		return err;
	err = layout_of(btf, ret);
	btf__free(btf);
	return err;
}

long up_btf_find_header(const uint8_t *buf, size_t len, size_t from, size_t *size)
{
	static const uint8_t magic[8] = { 0x9f, 0xeb, 1, 0, 24, 0, 0, 0 };

	for (size_t i = (from + 3) & ~(size_t)3; i + 24 <= len; i += 4) {
		const uint8_t *h = buf + i;
		uint32_t type_off, type_len, str_off, str_len;

		if (memcmp(h, magic, sizeof(magic)))
			continue;
		type_off = up_le32(h + 8);
		type_len = up_le32(h + 12);
		str_off = up_le32(h + 16);
		str_len = up_le32(h + 20);
		/* A vmlinux's BTF: types first, strings right after them. */
		if (type_off || str_off != type_len || !type_len || !str_len ||
		    (uint64_t)24 + type_len + str_len > UP_BTF_MAX_SIZE)
			continue;
		*size = 24 + (size_t)type_len + str_len;
		return (long)i;
	}
	return -1;
}

/* An ELF file's .BTF section to a struct btf; NULL and *err when it has none usable. */
static struct btf *parse_elf(const char *path, struct up_error **err)
{
	struct btf *btf;

	*err = NULL;
	libbpf_set_print(quiet);
	btf = btf__parse_elf(path, NULL);
	if (!btf)
		*err = up_error_create(UP_ERR_INVALID, "%s: no usable .BTF section (%s)", path,
				       strerror(errno));
	return btf;
}

struct up_error *up_btf_task_layout_elf(const char *path, struct up_task_layout *ret)
{
	struct up_error *err;
	struct btf *btf = parse_elf(path, &err);

	if (!btf)
		return err;
	err = layout_of(btf, ret);
	btf__free(btf);
	return err;
}

/*
 * The byte offset of the member at path (member names, each inside the one before; an array
 * member stands for its element 0) in struct id, its size in *size and its type (resolved:
 * typedefs and qualifiers off) in *ret_type.  -1 when absent or not whole bytes.
 */
static long path_offset(const struct btf *btf, __u32 id, const char *const *path, size_t n,
			long *size, const struct btf_type **ret_type)
{
	long at = 0;

	for (size_t i = 0; i < n; i++) {
		__u32 type_id = 0;
		long bits = member_bits(btf, id, path[i], 0, &type_id);
		int resolved;
		const struct btf_type *t;

		if (bits < 0 || bits % 8)
			return -1;
		at += bits / 8;
		resolved = btf__resolve_type(btf, type_id);
		t = resolved < 0 ? NULL : btf__type_by_id(btf, (__u32)resolved);
		if (t && btf_is_array(t)) {
			type_id = btf_array(t)->type;
			resolved = btf__resolve_type(btf, type_id);
			t = resolved < 0 ? NULL : btf__type_by_id(btf, (__u32)resolved);
		}
		if (!t)
			return -1;
		if (i == n - 1) {
			*size = btf__resolve_size(btf, type_id);
			*ret_type = t;
			return at;
		}
		id = (__u32)resolved;
	}
	return -1;
}

/* path_offset of a pointer, or an integer of want bytes (want 0: a pointer); -1 if not so. */
static long field(const struct btf *btf, __u32 id, const char *a, const char *b, long want)
{
	const char *path[2] = { a, b };
	const struct btf_type *t = NULL;
	long size = 0, at = path_offset(btf, id, path, b ? 2 : 1, &size, &t);

	if (at < 0 || !t)
		return -1;
	if (want == 0)
		return btf_is_ptr(t) ? at : -1;
	return (btf_is_int(t) || btf_is_enum(t)) && size == want ? at : -1;
}

static struct up_error *module_layout_of(const struct btf *btf, struct up_module_layout *ret)
{
	struct up_module_layout l = { 0 };
	__s32 mod = btf__find_by_name_kind(btf, "module", BTF_KIND_STRUCT);
	__s32 ks = btf__find_by_name_kind(btf, "mod_kallsyms", BTF_KIND_STRUCT);
	long list, name, base, size;

	if (mod < 0)
		return up_error_create(UP_ERR_INVALID, "the kernel's BTF has no struct module");
	list = field(btf, (__u32)mod, "list", "next", 0);
	name = member_offset(btf, (__u32)mod, "name", UP_MODULE_NAME_MAX, 1);
	/* 6.4 and later: mem[MOD_TEXT] (element 0); before: core_layout. */
	base = field(btf, (__u32)mod, "mem", "base", 0);
	size = field(btf, (__u32)mod, "mem", "size", 4);
	if (base < 0 || size < 0) {
		base = field(btf, (__u32)mod, "core_layout", "base", 0);
		size = field(btf, (__u32)mod, "core_layout", "text_size", 4);
	}
	if (list < 0 || name < 0 || base < 0 || size < 0)
		return up_error_create(UP_ERR_INVALID, "the kernel's BTF has no struct module.%s of "
				       "a shape this uniprof reads", list < 0 ? "list" : name < 0 ?
				       "name" : "core_layout or mem");
	l.list = (uint32_t)list;
	l.name = (uint32_t)name;
	l.name_len = UP_MODULE_NAME_MAX;
	l.text_base = (uint32_t)base;
	l.text_size = (uint32_t)size;
	{
		long num = field(btf, (__u32)mod, "arch", "num_orcs", 4);
		long ip = field(btf, (__u32)mod, "arch", "orc_unwind_ip", 0);
		long entries = field(btf, (__u32)mod, "arch", "orc_unwind", 0);

		if (num >= 0 && ip >= 0 && entries >= 0) {
			l.has_orc = 1;
			l.num_orcs = (uint32_t)num;
			l.orc_ip = (uint32_t)ip;
			l.orc_entries = (uint32_t)entries;
		}
	}
	if (ks >= 0) {
		long kallsyms = field(btf, (__u32)mod, "kallsyms", NULL, 0);
		long symtab = field(btf, (__u32)ks, "symtab", NULL, 0);
		long num = field(btf, (__u32)ks, "num_symtab", NULL, 4);
		long strtab = field(btf, (__u32)ks, "strtab", NULL, 0);

		if (kallsyms >= 0 && symtab >= 0 && num >= 0 && strtab >= 0) {
			l.has_kallsyms = 1;
			l.kallsyms = (uint32_t)kallsyms;
			l.ks_symtab = (uint32_t)symtab;
			l.ks_num_symtab = (uint32_t)num;
			l.ks_strtab = (uint32_t)strtab;
		}
	}
	*ret = l;
	return NULL;
}

struct up_error *up_btf_module_layout(const void *blob, size_t len, struct up_module_layout *ret)
{
	struct up_error *err;
	struct btf *btf = parse_blob(blob, len, &err);

	if (!btf)
		return err;
	err = module_layout_of(btf, ret);
	btf__free(btf);
	return err;
}

struct up_error *up_btf_module_layout_elf(const char *path, struct up_module_layout *ret)
{
	struct up_error *err;
	struct btf *btf = parse_elf(path, &err);

	if (!btf)
		return err;
	err = module_layout_of(btf, ret);
	btf__free(btf);
	return err;
}
