/*
 * Platform side of the x86_64 test guest: serial output, bringing up the
 * other CPUs, and handing each CPU to its workload.
 *
 * Interrupts stay disabled for the guest's whole life: nothing but the
 * workload ever runs on any CPU, so every stack the profiler sees is a
 * workload stack.
 *
 * Under QEMU the machine's fw_cfg says how many CPUs there are (1 to
 * MAX_CPUS are used) and may hold "opt/uniprof/depth", a number of extra
 * frames under each workload (for benchmarks); without fw_cfg (a Xen PVH
 * domain) the guest brings up two CPUs, as the tests expect.
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

#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_NAME_SIZE 56

/* APs that have printed; CPU 0 waits for all of them, each AP for its turn. */
static volatile unsigned int ap_alive;

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

static inline void outw(uint16_t port, uint16_t val)
{
	__asm__ volatile("outw %0, %1" : : "a"(val), "Nd"(port));
}

/* Select fw_cfg item key and read its next n bytes, as they come. */
static void fw_cfg_read(uint16_t key, void *buf, unsigned int n)
{
	uint8_t *p = buf;

	outw(FW_CFG_SEL, key);
	while (n--)
		*p++ = inb(FW_CFG_DATA);
}

/* Read on from the item selected last. */
static void fw_cfg_next(void *buf, unsigned int n)
{
	uint8_t *p = buf;

	while (n--)
		*p++ = inb(FW_CFG_DATA);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int fw_cfg_present(void)
{
	char sig[4];

	fw_cfg_read(FW_CFG_SIGNATURE, sig, 4);
	return sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U';
}

static int same_name(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/* The decimal number in fw_cfg file name (at most 9 digits), or 0. */
static unsigned int fw_cfg_number(const char *name)
{
	uint8_t count[4], entry[8];
	char file_name[FW_CFG_NAME_SIZE];
	uint32_t n;

	fw_cfg_read(FW_CFG_FILE_DIR, count, 4);
	n = be32(count);
	for (uint32_t i = 0; i < n && i < 1024; i++) {
		fw_cfg_next(entry, 8);  /* size (be32), select (be16), reserved */
		fw_cfg_next(file_name, FW_CFG_NAME_SIZE);
		file_name[FW_CFG_NAME_SIZE - 1] = '\0';
		if (same_name(file_name, name)) {
			char digits[10] = { 0 };
			uint32_t size = be32(entry);
			unsigned int v = 0;

			fw_cfg_read((uint16_t)(entry[4] << 8 | entry[5]), digits,
				    size < 9 ? size : 9);
			for (char *d = digits; *d >= '0' && *d <= '9'; d++)
				v = v * 10 + (unsigned int)(*d - '0');
			return v;
		}
	}
	return 0;
}

static unsigned int cpus_wanted(void)
{
	uint16_t n;

	if (!fw_cfg_present())
		return 2;
	fw_cfg_read(FW_CFG_NB_CPUS, &n, 2);
	return n < 1 ? 1 : n > MAX_CPUS ? MAX_CPUS : n;
}

/* QEMU's 16550 transmits without being programmed first. */
void serial_puts(const char *s)
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

/* "All but self" reaches every other CPU at once: no APIC ids needed. */
static void lapic_send_ipi(uint32_t icr)
{
	*lapic_reg(LAPIC_ICR_HIGH) = 0;
	*lapic_reg(LAPIC_ICR_LOW) = ICR_ALL_BUT_SELF | icr;
	while (*lapic_reg(LAPIC_ICR_LOW) & ICR_PENDING)
		__asm__ volatile("pause");
}

static void start_aps(unsigned int aps)
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
	if (ap_alive < aps)
		lapic_send_ipi(ICR_STARTUP | TRAMPOLINE_VECTOR);
}

static unsigned int cpus, extra_depth;

__attribute__((noipa)) void kmain(void)
{
	/* SeaBIOS leaves "Booting from ROM.." unterminated on the console. */
	serial_puts("\nuniprof-guest: cpu0 up\n");
	cpus = cpus_wanted();
	if (fw_cfg_present())
		extra_depth = fw_cfg_number("opt/uniprof/depth");
	if (cpus > 1)
		start_aps(cpus - 1);
	while (ap_alive < cpus - 1)
		__asm__ volatile("pause");
	serial_puts("uniprof-guest: ready\n");
	cpu0_main(extra_depth);
}

__attribute__((noipa)) void ap_main(unsigned int cpu)
{
	char line[] = "uniprof-guest: cpuN up\n";

	/* One at a time, in order, so the console lines do not mix. */
	while (ap_alive != cpu - 1)
		__asm__ volatile("pause");
	line[18] = (char)('0' + cpu);
	serial_puts(line);
	ap_alive = cpu;
	cpu1_main(extra_depth);
}
