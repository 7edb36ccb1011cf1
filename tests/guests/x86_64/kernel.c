/*
 * Platform side of the x86_64 test guest: serial output, bringing up the
 * second CPU, and handing each CPU to its workload.
 *
 * Interrupts stay disabled for the guest's whole life: nothing but the
 * workload ever runs on either CPU, so every stack the profiler sees is a
 * workload stack.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"
#include "layout.h"

#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20

#define LAPIC_SVR 0x0f0
#define LAPIC_SVR_ENABLE 0x100
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define ICR_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_ALL_BUT_SELF (3u << 18)
#define ICR_INIT 0x500
#define ICR_STARTUP 0x600

/* Set by CPU 1 once it has printed; CPU 0 waits for it. */
static volatile int ap_alive;

extern const char ap_trampoline[], ap_trampoline_end[];

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void outb(uint16_t port, uint8_t val)
{
	__asm__ volatile("outb %0, %1" : : "a"(val), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t val;

	__asm__ volatile("inb %1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

/* QEMU's 16550 transmits without being programmed first. */
static void serial_puts(const char *s)
{
	for (; *s; s++) {
		while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE))
			;
		outb(COM1, (uint8_t)*s);
	}
}

static volatile uint32_t *lapic_reg(unsigned int off)
{
	return (volatile uint32_t *)(uintptr_t)(LAPIC_PHYS + off);
}

static void delay_ticks(uint64_t ticks)
{
	uint64_t end = rdtsc() + ticks;

	while (rdtsc() < end)
		__asm__ volatile("pause");
}

/* "All but self" is CPU 1 with -smp 2, so no APIC id is needed. */
static void lapic_send_ipi(uint32_t icr)
{
	*lapic_reg(LAPIC_ICR_HIGH) = 0;
	*lapic_reg(LAPIC_ICR_LOW) = ICR_ALL_BUT_SELF | icr;
	while (*lapic_reg(LAPIC_ICR_LOW) & ICR_PENDING)
		__asm__ volatile("pause");
}

static void start_ap(void)
{
	size_t len = (size_t)(ap_trampoline_end - ap_trampoline);
	void *dst = (void *)TRAMPOLINE_PHYS;
	const void *src = ap_trampoline;

	/* rep movsb rather than a loop GCC might turn into a memcpy call. */
	__asm__ volatile("rep movsb"
			 : "+D"(dst), "+S"(src), "+c"(len)
			 :
			 : "memory");

	*lapic_reg(LAPIC_SVR) |= LAPIC_SVR_ENABLE;
	/*
	 * The architectural waits (10 ms after INIT, 200 us between SIPIs)
	 * in TSC ticks of a ~2.5 GHz clock; the second SIPI is skipped when
	 * the first one already worked.
	 */
	lapic_send_ipi(ICR_INIT | ICR_LEVEL_ASSERT);
	delay_ticks(25000000);
	lapic_send_ipi(ICR_STARTUP | TRAMPOLINE_VECTOR);
	delay_ticks(500000);
	if (!ap_alive)
		lapic_send_ipi(ICR_STARTUP | TRAMPOLINE_VECTOR);
}

__attribute__((noipa)) void kmain(void)
{
	/* SeaBIOS leaves "Booting from ROM.." unterminated on the console. */
	serial_puts("\nuniprof-guest: cpu0 up\n");
	start_ap();
	while (!ap_alive)
		__asm__ volatile("pause");
	serial_puts("uniprof-guest: ready\n");
	cpu0_main();
}

__attribute__((noipa)) void ap_main(void)
{
	serial_puts("uniprof-guest: cpu1 up\n");
	ap_alive = 1;
	cpu1_main();
}
