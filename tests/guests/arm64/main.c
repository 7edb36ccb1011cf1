/*
 * kmain: UART output, CPU 1 bring-up and the hand-over to the workloads.
 * Runs in the upper half with the MMU and caches on.
 */
#include "guest.h"

/* Also the hostile flavour's console (hostile.h). */
void uart_puts(const char *s);

#ifndef UNIT_US
#define UNIT_US 2700
#endif

#define UART_DR		0x00
#define UART_FR		0x18
#define UART_FR_TXFF	(1u << 5)

/* Written by CPU 1 once it is about to enter its workload. */
static unsigned long cpu1_up;

static void uart_putc(char c)
{
	volatile unsigned int *uart = (volatile unsigned int *)UART_VA;

	while (uart[UART_FR / 4] & UART_FR_TXFF)
		;
	uart[UART_DR / 4] = (unsigned char)c;
}

void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

static void uart_puthex(unsigned long v)
{
	int shift;

	uart_puts("0x");
	for (shift = 60; shift >= 0; shift -= 4)
		uart_putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

void exception_report(unsigned long vector, unsigned long esr,
		      unsigned long elr, unsigned long far)
{
	uart_puts("uniprof-guest: exception vector ");
	uart_puthex(vector);
	uart_puts(" esr ");
	uart_puthex(esr);
	uart_puts(" elr ");
	uart_puthex(elr);
	uart_puts(" far ");
	uart_puthex(far);
	uart_puts("\n");
}

void kmain(unsigned long cpu)
{
	unsigned long freq;

	if (cpu != 0) {
		uart_puts("uniprof-guest: cpu1 up\n");
		__atomic_store_n(&cpu1_up, 1, __ATOMIC_RELEASE);
		cpu1_main();
		return;
	}

	uart_puts("uniprof-guest: cpu0 up\n");
	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(freq));
	spin_unit = freq / 1000 * UNIT_US / 1000;

	if (psci_cpu_on(1, 1) != 0) {
		uart_puts("uniprof-guest: PSCI CPU_ON failed\n");
		for (;;)
			__asm__ volatile("wfe");
	}
	while (!__atomic_load_n(&cpu1_up, __ATOMIC_ACQUIRE))
		;
	uart_puts("uniprof-guest: ready\n");
	cpu0_main();
}
