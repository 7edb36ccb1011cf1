/*
 * Shapes of the kernel's struct task_struct and struct pcpu_hot as a vmlinux's DWARF describes
 * them, for test_tasks.c's DWARF layout cases: task_dwarf.c is built with -g into a shared
 * object (make unit), test_tasks.c includes this header too and checks the offsets read from
 * the DWARF against offsetof.  Like the kernel's: an anonymous struct holding the fields
 * (randomized_struct_fields_start), bit-fields before them, and a comm of 16 chars.
 */
#ifndef UP_TESTS_TASK_DWARF_H
#define UP_TESTS_TASK_DWARF_H

struct list_head {
	struct list_head *next, *prev;
};

typedef int pid_t;

struct task_struct {
	unsigned int __state;
	void *stack;
	struct {
		unsigned sched_reset_on_fork : 1;
		unsigned sched_contributes_to_load : 1;
		unsigned long atomic_flags;
		int exit_state;
		pid_t pid;
		const volatile pid_t tgid;
		struct list_head children;
		union {
			char pad[40];
			long words[5];
		};
		char comm[16];
	};
	unsigned long last_field;
};

#ifdef WITH_PCPU_HOT
struct pcpu_hot {
	union {
		struct {
			struct task_struct *current_task;
			int preempt_count;
			int cpu_number;
		};
		unsigned char pad[64];
	};
};
#endif

#endif
