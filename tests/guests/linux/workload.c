/*
 * System-call workloads with known kernel paths, for the Linux test guest's init.sh:
 *
 *   workload getpid              getpid() forever, as task "getpid" (kernel: the system call
 *                                entry and exit and nothing else worth naming)
 *   workload pingpong CPU CPU    two processes, "ping" pinned to the first CPU and "pong" to the
 *                                second, passing one byte back and forth through two pipes
 *                                forever (kernel: pipe_write, pipe_read, the wake-up of the other
 *                                side, the scheduler)
 *
 * No C library (built -nostdlib -static for x86_64 and arm64): the system calls are made here,
 * so the kernel paths are exactly these and the binary runs in a busybox initramfs.
 */
typedef unsigned long ulong;

#if defined(__x86_64__)
enum { NR_read = 0, NR_write = 1, NR_getpid = 39, NR_exit = 60, NR_clone = 56,
       NR_sched_setaffinity = 203, NR_pipe2 = 293, NR_prctl = 157 };

static long sys6(long nr, long a, long b, long c, long d)
{
	long ret;
	register long r10 __asm__("r10") = d;

	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
enum { NR_read = 63, NR_write = 64, NR_getpid = 172, NR_exit = 93, NR_clone = 220,
       NR_sched_setaffinity = 122, NR_pipe2 = 59, NR_prctl = 167 };

static long sys6(long nr, long a, long b, long c, long d)
{
	register long x8 __asm__("x8") = nr;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;

	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory");
	return x0;
}
#else
#error "workload.c: x86_64 or arm64"
#endif

#define SIGCHLD 17
#define PR_SET_NAME 15

/* The task's name (comm), for profiles to tell the workloads apart. */
static void name(const char *comm)
{
	sys6(NR_prctl, PR_SET_NAME, (long)comm, 0, 0);
}

static void say(const char *s)
{
	ulong n = 0;

	while (s[n])
		n++;
	sys6(NR_write, 2, (long)s, (long)n, 0);
}

static __attribute__((noreturn)) void leave(int code)
{
	for (;;)
		sys6(NR_exit, code, 0, 0, 0);
}

static int number(const char *s)
{
	int n = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || n > 1000)
			return -1;
		n = n * 10 + (*s - '0');
	}
	return n;
}

static int same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void pin(int cpu)
{
	ulong mask = 1UL << cpu;

	if (cpu >= 64 || sys6(NR_sched_setaffinity, 0, sizeof(mask), (long)&mask, 0) < 0)
		say("workload: sched_setaffinity failed (no such CPU?); not pinned\n");
}

/* Read one byte from in, write it to out, forever; the first to write starts the ball. */
static __attribute__((noreturn)) void bounce(int in, int out, int serve)
{
	char c = 'x';

	if (serve)
		sys6(NR_write, out, (long)&c, 1, 0);
	for (;;) {
		if (sys6(NR_read, in, (long)&c, 1, 0) != 1 || sys6(NR_write, out, (long)&c, 1, 0) != 1) {
			say("workload: pingpong: the other side is gone\n");
			leave(1);
		}
	}
}

static int run(int argc, char **argv)
{
	if (argc == 2 && same(argv[1], "getpid")) {
		name("getpid");
		for (;;)
			sys6(NR_getpid, 0, 0, 0, 0);
	}
	if (argc == 4 && same(argv[1], "pingpong") && number(argv[2]) >= 0 && number(argv[3]) >= 0) {
		int ping[2], pong[2];
		long pid;

		if (sys6(NR_pipe2, (long)ping, 0, 0, 0) < 0 || sys6(NR_pipe2, (long)pong, 0, 0, 0) < 0) {
			say("workload: pipe2 failed\n");
			return 1;
		}
		pid = sys6(NR_clone, SIGCHLD, 0, 0, 0);
		if (pid < 0) {
			say("workload: clone failed\n");
			return 1;
		}
		if (pid == 0) {
			name("pong");
			pin(number(argv[3]));
			bounce(ping[0], pong[1], 0);
		}
		name("ping");
		pin(number(argv[2]));
		bounce(pong[0], ping[1], 1);
	}
	say("usage: workload getpid | workload pingpong CPU CPU\n");
	return 2;
}

/* The kernel enters _start with argc, argv[] on the stack; _start hands that to start_c. */
__attribute__((noreturn)) void start_c(long *sp);

__attribute__((noreturn)) void start_c(long *sp)
{
	leave(run((int)sp[0], (char **)(sp + 1)));
}

#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start_c\n");
#else
__asm__(".globl _start\n_start:\n\tmov x0, sp\n\tbl start_c\n");
#endif
