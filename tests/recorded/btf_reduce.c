/*
 * Reduce a kernel's BTF blob to what task attribution reads: a struct task_struct of the
 * original size holding only pid, tgid and comm at their original offsets (pid_t typedefs of
 * int, comm a char[16]), and struct pcpu_hot's current_task when the kernel has it.  Used by
 * capture_tasks.py to check in a few hundred bytes instead of the kernel's ~4 MiB.
 *
 *   btf_reduce FULL.btf REDUCED.btf     prints "pid 0x.. tgid 0x.. comm 0x.. size 0x.."
 *
 * Built by capture_tasks.py with: cc -o btf_reduce btf_reduce.c -lbpf
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/btf.h>

/* Bit offset of top-level member name of struct id, or -1. */
static long member(const struct btf *btf, int id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, (__u32)id);
	const struct btf_member *m = btf_members(t);

	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), name))
			return (long)btf_member_bit_offset(t, (__u32)i);
	return -1;
}

int main(int argc, char **argv)
{
	struct btf *full, *out;
	int task, hot, int_id, pid_t_id, char_id, comm_id, ts, ptr_id;
	long pid, tgid, comm;
	const void *raw;
	__u32 size;
	FILE *f;

	if (argc != 3) {
		fprintf(stderr, "usage: btf_reduce FULL.btf REDUCED.btf\n");
		return 2;
	}
	full = btf__parse_raw(argv[1]);
	if (!full) {
		perror(argv[1]);
		return 1;
	}
	task = btf__find_by_name_kind(full, "task_struct", BTF_KIND_STRUCT);
	if (task < 0) {
		fprintf(stderr, "no task_struct\n");
		return 1;
	}
	pid = member(full, task, "pid");
	tgid = member(full, task, "tgid");
	comm = member(full, task, "comm");
	if (pid < 0 || tgid < 0 || comm < 0) {
		fprintf(stderr, "task_struct lacks pid, tgid or comm at its top level\n");
		return 1;
	}
	out = btf__new_empty();
	int_id = btf__add_int(out, "int", 4, BTF_INT_SIGNED);
	pid_t_id = btf__add_typedef(out, "pid_t", int_id);
	char_id = btf__add_int(out, "char", 1, BTF_INT_SIGNED);
	comm_id = btf__add_array(out, int_id, char_id, 16);
	ts = btf__add_struct(out, "task_struct", btf__resolve_size(full, (__u32)task));
	if (ts < 0 || btf__add_field(out, "pid", pid_t_id, (__u32)pid, 0) ||
	    btf__add_field(out, "tgid", pid_t_id, (__u32)tgid, 0) ||
	    btf__add_field(out, "comm", comm_id, (__u32)comm, 0)) {
		fprintf(stderr, "building the reduced BTF failed\n");
		return 1;
	}
	hot = btf__find_by_name_kind(full, "pcpu_hot", BTF_KIND_STRUCT);
	if (hot >= 0) {
		/* 6.2 to 6.14: current_task, nested in an anonymous union's struct; kept flat here. */
		ptr_id = btf__add_ptr(out, ts);
		if (btf__add_struct(out, "pcpu_hot", btf__resolve_size(full, (__u32)hot)) < 0 ||
		    btf__add_field(out, "current_task", ptr_id, 0, 0)) {
			fprintf(stderr, "building the reduced pcpu_hot failed\n");
			return 1;
		}
	}
	raw = btf__raw_data(out, &size);
	f = fopen(argv[2], "wb");
	if (!raw || !f || fwrite(raw, 1, size, f) != size || fclose(f)) {
		perror(argv[2]);
		return 1;
	}
	printf("pid 0x%lx tgid 0x%lx comm 0x%lx size 0x%x\n", pid / 8, tgid / 8, comm / 8,
	       (unsigned)btf__resolve_size(full, (__u32)task));
	btf__free(out);
	btf__free(full);
	return 0;
}
