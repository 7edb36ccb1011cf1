/*
 * A program built without frame pointers (-fomit-frame-pointer -fasynchronous-unwind-tables),
 * for test_cfi_elf.c: in its deepest function it records its own registers and stack, and
 * prints them, so the CFI unwinder can be checked on a real stack offline:
 *
 *   reg N VALUE     general register N in DWARF numbering (16: the pc of the snapshot)
 *   stack ADDR HEX  the stack from rsp up to the start of the process's stack
 *
 * Each function is noipa and does something of its own, so each keeps a frame of its own
 * shape (no stack, a buffer, saved registers).
 */
#include <stdint.h>
#include <stdio.h>

extern void *__libc_stack_end;

/* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip. */
uint64_t snap[17];
volatile long sink;

/* Print the first snapshot only. */
static void dump(void)
{
	const uint8_t *p = (const uint8_t *)snap[7];
	const uint8_t *end = (const uint8_t *)__libc_stack_end + 64;
	static int done;

	if (done++)
		return;
	for (int i = 0; i < 17; i++)
		printf("reg %d 0x%llx\n", i, (unsigned long long)snap[i]);
	for (; p < end; p += 64) {
		printf("stack 0x%llx ", (unsigned long long)(uintptr_t)p);
		for (int i = 0; i < 64; i++)
			printf("%02x", p[i]);
		printf("\n");
	}
}

__attribute__((noipa)) long leaf(long x)
{
	__asm__ volatile(
		"movq %%rax, snap+0(%%rip)\n\t"
		"movq %%rdx, snap+8(%%rip)\n\t"
		"movq %%rcx, snap+16(%%rip)\n\t"
		"movq %%rbx, snap+24(%%rip)\n\t"
		"movq %%rsi, snap+32(%%rip)\n\t"
		"movq %%rdi, snap+40(%%rip)\n\t"
		"movq %%rbp, snap+48(%%rip)\n\t"
		"movq %%rsp, snap+56(%%rip)\n\t"
		"movq %%r8, snap+64(%%rip)\n\t"
		"movq %%r9, snap+72(%%rip)\n\t"
		"movq %%r10, snap+80(%%rip)\n\t"
		"movq %%r11, snap+88(%%rip)\n\t"
		"movq %%r12, snap+96(%%rip)\n\t"
		"movq %%r13, snap+104(%%rip)\n\t"
		"movq %%r14, snap+112(%%rip)\n\t"
		"movq %%r15, snap+120(%%rip)\n\t"
		"pushq %%rax\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"movq %%rax, snap+128(%%rip)\n\t"
		"popq %%rax\n"
		"1:"
		: : : "memory");
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

int main(void)
{
	sink = outer(1);
	return 0;
}
