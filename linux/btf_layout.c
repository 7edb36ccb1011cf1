/* task_struct's field offsets from BTF, through libbpf (Debian's libbpf-dev). */
#include <errno.h>
#include <string.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "../util/bytes.h"
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

struct up_error *up_btf_task_layout(const void *blob, size_t len, struct up_task_layout *ret)
{
	struct btf *btf;
	struct up_error *err;

	if (len > UP_BTF_MAX_SIZE)
		return up_error_create(UP_ERR_INVALID, "the kernel's BTF is %zu bytes, more than %u",
				       len, UP_BTF_MAX_SIZE);
	/*
	 * libbpf takes the types to start hdr_len bytes in, aligned or not: a header whose length
	 * is no multiple of 4 (the kernel's is 24) would have it read them misaligned.
	 */
	if (len >= 8) {
		const uint8_t *h = blob;
		uint32_t hdr_len = h[0] == 0x9f ? up_le32(h + 4) :
				   (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];

		if (hdr_len % 4)
			return up_error_create(UP_ERR_INVALID, "the kernel's BTF does not parse "
					       "(a header of %u bytes, no multiple of 4)", hdr_len);
	}
	libbpf_set_print(quiet);
	btf = btf__new(blob, (__u32)len);
	if (!btf)
		return up_error_create(UP_ERR_INVALID, "the kernel's BTF does not parse (%s)",
				       strerror(errno));
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

struct up_error *up_btf_task_layout_elf(const char *path, struct up_task_layout *ret)
{
	struct btf *btf;
	struct up_error *err;

	libbpf_set_print(quiet);
	btf = btf__parse_elf(path, NULL);
	if (!btf)
		return up_error_create(UP_ERR_INVALID, "%s: no usable .BTF section (%s)", path,
				       strerror(errno));
	err = layout_of(btf, ret);
	btf__free(btf);
	return err;
}
