/*
 * task_struct's field offsets from a vmlinux's DWARF (elfutils libdw), for kernels built
 * without BTF whose debug vmlinux the user has (Debian's linux-image-*-dbg, say).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <elfutils/libdw.h>

#include "tasks.h"

/* Members nested this deep in anonymous structs and unions at most (task_struct: 1). */
#define MAX_NESTING 8

/* A type with its qualifiers and typedefs taken off; 0 when it has no type. */
static int strip(Dwarf_Die *type)
{
	for (int i = 0; i < 16; i++) {
		Dwarf_Attribute attr;
		int tag = dwarf_tag(type);

		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type && tag != DW_TAG_volatile_type &&
		    tag != DW_TAG_restrict_type && tag != DW_TAG_atomic_type)
			return 1;
		if (!dwarf_formref_die(dwarf_attr_integrate(type, DW_AT_type, &attr), type))
			return 0;
	}
	return 0;
}

/* A member's byte offset in its struct (a constant DW_AT_data_member_location; 0 in a union). */
static int member_location(Dwarf_Die *member, Dwarf_Word *ret)
{
	Dwarf_Attribute attr;

	if (!dwarf_attr_integrate(member, DW_AT_data_member_location, &attr)) {
		*ret = 0;
		return 0;
	}
	return dwarf_formudata(&attr, ret);
}

/*
 * The byte offset of member name in the struct or union die, looking into anonymous members;
 * its type (stripped) in *type.  -1 when absent, a bitfield or not at a constant offset.
 */
static long member_offset(Dwarf_Die *die, const char *name, int depth, Dwarf_Die *type)
{
	Dwarf_Die child;

	if (depth > MAX_NESTING || dwarf_child(die, &child))
		return -1;
	do {
		const char *n = dwarf_diename(&child);
		Dwarf_Attribute attr;
		Dwarf_Word at;
		Dwarf_Die t;
		long inner;

		if (dwarf_tag(&child) != DW_TAG_member || dwarf_hasattr(&child, DW_AT_bit_size) ||
		    dwarf_hasattr(&child, DW_AT_data_bit_offset) || member_location(&child, &at) ||
		    !dwarf_formref_die(dwarf_attr_integrate(&child, DW_AT_type, &attr), &t) ||
		    !strip(&t))
			continue;
		if (n) {
			if (strcmp(n, name))
				continue;
			*type = t;
			return (long)at;
		}
		/* An anonymous struct or union: its members are the outer struct's. */
		if (dwarf_tag(&t) != DW_TAG_structure_type && dwarf_tag(&t) != DW_TAG_union_type)
			continue;
		inner = member_offset(&t, name, depth + 1, type);
		if (inner >= 0)
			return (long)at + inner;
	} while (dwarf_siblingof(&child, &child) == 0);
	return -1;
}

/* member_offset, when the member's type has size bytes and is (or is not) an array. */
static long sized_member(Dwarf_Die *die, const char *name, Dwarf_Word size, int want_array)
{
	Dwarf_Die type;
	Dwarf_Word got;
	long at = member_offset(die, name, 0, &type);

	if (at < 0 || dwarf_aggregate_size(&type, &got) || got != size ||
	    (dwarf_tag(&type) == DW_TAG_array_type) != want_array)
		return -1;
	return at;
}

/* A complete definition of struct name among the top-level DIEs of the unit cudie. */
static int find_struct(Dwarf_Die *cudie, const char *name, Dwarf_Die *ret)
{
	Dwarf_Die child;

	if (dwarf_child(cudie, &child))
		return 0;
	do {
		const char *n;

		if (dwarf_tag(&child) != DW_TAG_structure_type || dwarf_hasattr(&child, DW_AT_declaration))
			continue;
		n = dwarf_diename(&child);
		if (n && !strcmp(n, name)) {
			*ret = child;
			return 1;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return 0;
}

static struct up_error *layout_of(Dwarf *dw, const char *path, struct up_task_layout *ret)
{
	struct up_task_layout l = { .comm_len = UP_TASK_COMM_LEN };
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie, task, hot;
	int have_task = 0, have_hot = 0;
	long pid, tgid, comm;

	/* task_struct is in most units; pcpu_hot (6.2 to 6.14) in fewer: look until both are. */
	while ((!have_task || !have_hot) &&
	       dwarf_get_units(dw, cu, &cu, NULL, NULL, &cudie, NULL) == 0) {
		if (!have_task)
			have_task = find_struct(&cudie, "task_struct", &task);
		if (!have_hot)
			have_hot = find_struct(&cudie, "pcpu_hot", &hot);
	}
	if (!have_task)
		return up_error_create(UP_ERR_INVALID, "%s: its DWARF has no struct task_struct",
				       path);
	pid = sized_member(&task, "pid", 4, 0);
	tgid = sized_member(&task, "tgid", 4, 0);
	comm = sized_member(&task, "comm", UP_TASK_COMM_LEN, 1);
	if (pid < 0 || tgid < 0 || comm < 0)
		return up_error_create(UP_ERR_INVALID,
				       "%s: its DWARF has no task_struct.%s of the expected type", path,
				       pid < 0 ? "pid" : tgid < 0 ? "tgid" : "comm");
	l.pid = (uint32_t)pid;
	l.tgid = (uint32_t)tgid;
	l.comm = (uint32_t)comm;
	if (have_hot) {
		long current = sized_member(&hot, "current_task", 8, 0);

		if (current >= 0) {
			l.has_pcpu_hot = 1;
			l.pcpu_hot_current = (uint32_t)current;
		}
	}
	*ret = l;
	return NULL;
}

struct up_error *up_dwarf_task_layout(const char *path, struct up_task_layout *ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct up_error *err;
	Dwarf *dw;

	if (fd < 0)
		return up_error_errno(errno, "%s", path);
	dw = dwarf_begin(fd, DWARF_C_READ);
	if (!dw) {
		close(fd);
		return up_error_create(UP_ERR_INVALID, "%s: no DWARF (%s)", path, dwarf_errmsg(-1));
	}
	err = layout_of(dw, path, ret);
	dwarf_end(dw);
	close(fd);
	return err;
}
