/*
 * What this host's /proc says about a QEMU process: which process a vCPU thread belongs to,
 * whether it runs a QEMU binary, the user it runs as, and the gdbstub its command line opened.
 */
#ifndef UP_KVM_QEMU_PROCESS_H
#define UP_KVM_QEMU_PROCESS_H

#include <sys/types.h>

/* The process thread tid belongs to (its thread group); -1 when unknown. */
pid_t qemu_process_of_thread(long tid);

/* Whether process pid runs a QEMU binary ("qemu-system-x86_64", "qemu-kvm"...). */
int qemu_process_is_qemu(pid_t pid);

/* The real user and group process pid runs as: 0, or -1 when unknown. */
int qemu_process_owner(pid_t pid, uid_t *ret_uid, gid_t *ret_gid);

/*
 * The address of the gdbstub QEMU process pid was started with (-gdb DEV or -s), from its
 * command line, malloc'd; NULL when it has none we can reach, or pid is not positive.
 */
char *qemu_process_gdbstub(pid_t pid);

#endif
