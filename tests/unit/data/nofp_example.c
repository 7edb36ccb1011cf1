/*
 * A program built without frame pointers (-fomit-frame-pointer -fasynchronous-unwind-tables),
 * for test_cfi_elf.c: in its deepest function it records its own registers and stack, and
 * prints them, so the CFI unwinder can be checked on a real stack offline:
 *
 *   reg N VALUE     general register N in DWARF numbering (16: the pc of the snapshot)
 *   stack ADDR HEX  64 bytes of stack; consecutive lines make a region
 *
 * Each function is noipa and does something of its own, so each keeps a frame of its own
 * shape (no stack, a buffer, saved registers).
 *
 * With the argument "signal" the snapshot is taken in a SIGALRM handler running on an
 * alternate signal stack (in main's frame, high) that interrupted work -> spin_mid -> spin,
 * which runs on a stack of its own (makecontext, in .bss, low): glibc's signal-return code
 * describes where the interrupted context is, and the walk must move down to that stack.  Two
 * regions then: the handler's stack up to the end of the alternate stack, and the worker's.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <ucontext.h>

extern void *__libc_stack_end;

/* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip. */
uint64_t snap[17];
volatile long sink;

static void dump_region(const uint8_t *p, const uint8_t *end)
{
	for (; p < end; p += 64) {
		printf("stack 0x%llx ", (unsigned long long)(uintptr_t)p);
		for (int i = 0; i < 64; i++)
			printf("%02x", p[i]);
		printf("\n");
	}
}

static void dump_regs(void)
{
	for (int i = 0; i < 17; i++)
		printf("reg %d 0x%llx\n", i, (unsigned long long)snap[i]);
}

/* Print the first snapshot only. */
static void dump(void)
{
	static int done;

	if (done++)
		return;
	dump_regs();
	dump_region((const uint8_t *)snap[7], (const uint8_t *)__libc_stack_end + 64);
}

/* Every general register into snap, and the address right after this code as the pc. */
#define SNAPSHOT() __asm__ volatile( \
		"movq %%rax, snap+0(%%rip)\n\t" \
		"movq %%rdx, snap+8(%%rip)\n\t" \
		"movq %%rcx, snap+16(%%rip)\n\t" \
		"movq %%rbx, snap+24(%%rip)\n\t" \
		"movq %%rsi, snap+32(%%rip)\n\t" \
		"movq %%rdi, snap+40(%%rip)\n\t" \
		"movq %%rbp, snap+48(%%rip)\n\t" \
		"movq %%rsp, snap+56(%%rip)\n\t" \
		"movq %%r8, snap+64(%%rip)\n\t" \
		"movq %%r9, snap+72(%%rip)\n\t" \
		"movq %%r10, snap+80(%%rip)\n\t" \
		"movq %%r11, snap+88(%%rip)\n\t" \
		"movq %%r12, snap+96(%%rip)\n\t" \
		"movq %%r13, snap+104(%%rip)\n\t" \
		"movq %%r14, snap+112(%%rip)\n\t" \
		"movq %%r15, snap+120(%%rip)\n\t" \
		"pushq %%rax\n\t" \
		"leaq 1f(%%rip), %%rax\n\t" \
		"movq %%rax, snap+128(%%rip)\n\t" \
		"popq %%rax\n" \
		"1:" \
		: : : "memory")

__attribute__((noipa)) long leaf(long x)
{
	SNAPSHOT();
	dump();
	return x * 3 + 1;
}

__attribute__((noipa)) long mid(long x)
{
	volatile long buf[6];

	for (int i = 0; i < 6; i++)
		buf[i] = x + i;
	return leaf(buf[x & 3]) + buf[5];
}

__attribute__((noipa)) long outer(long x)
{
	long a = mid(x), b;

	sink = a;
	b = mid(a & 7);
	return a * b + x;
}

static volatile int fired;
static uint8_t *alt_end;
static uint8_t work_stack[1 << 16] __attribute__((aligned(16)));
static ucontext_t main_context, work_context;

static void on_alarm(int sig, siginfo_t *info, void *context)
{
	const ucontext_t *uc = context;
	const uint8_t *interrupted_sp = (const uint8_t *)uc->uc_mcontext.gregs[REG_RSP];

	SNAPSHOT();
	(void)sig;
	(void)info;
	dump_regs();
	dump_region((const uint8_t *)snap[7], alt_end);
	dump_region((const uint8_t *)((uintptr_t)interrupted_sp & ~63ul),
		    work_stack + sizeof(work_stack));
	fired = 1;
}

__attribute__((noipa)) void spin(void)
{
	while (!fired)
		sink++;
}

__attribute__((noipa)) void spin_mid(void)
{
	volatile long pad[4] = { 1, 2, 3, 4 };

	spin();
	sink += pad[2];
}

__attribute__((noipa)) void work(void)
{
	spin_mid();
	sink++;
}

/* Run work on its own stack until SIGALRM, taken on an alternate stack, has been handled. */
__attribute__((noinline)) static int signal_snapshot(void)
{
	/* The alternate stack in this frame, on the process stack: above the worker's. */
	uint8_t alt[1 << 16] __attribute__((aligned(16)));
	struct sigaction sa;
	struct itimerval timer = { .it_value = { .tv_usec = 2000 } };
	stack_t ss = { .ss_sp = alt, .ss_size = sizeof(alt) };

	alt_end = alt + sizeof(alt);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_alarm;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	if (sigaltstack(&ss, NULL) || sigaction(SIGALRM, &sa, NULL))
		return 1;
	getcontext(&work_context);
	work_context.uc_stack.ss_sp = work_stack;
	work_context.uc_stack.ss_size = sizeof(work_stack);
	work_context.uc_link = &main_context;
	makecontext(&work_context, work, 0);
	setitimer(ITIMER_REAL, &timer, NULL);
	return swapcontext(&main_context, &work_context) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "signal"))
		return signal_snapshot();
	sink = outer(1);
	return 0;
}
