/*
 * efi_main: says where the firmware put us, turns off the watchdog and
 * enters the workload. Boot services are never exited.
 *
 * gnu-efi's crt0 (_start) relocates the image and calls efi_main with the
 * System V convention; calls into the firmware use the Microsoft x64
 * convention, which GNU_EFI_USE_MS_ABI makes the prototypes in <efi.h> say.
 */
#include <efi.h>

#include "guest.h"

/* Defined by gnu-efi's linker script at the image's first byte (link address 0). */
extern char ImageBase[];

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

/*
 * COM1 by port I/O rather than ConOut: no escape sequences, no dependence
 * on the console drivers, and it works the same after a crash in them.
 * OVMF has already programmed the UART (115200 8N1).
 */
static inline void outb(UINT16 port, UINT8 v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline UINT8 inb(UINT16 port)
{
	UINT8 v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

#define COM1 0x3f8

static void serial_putc(char c)
{
	/* Wait for the transmit holding register to empty (LSR bit 5). */
	for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (UINT8)c);
}

static void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void serial_puthex(UINT64 v)
{
	static const char digits[] = "0123456789abcdef";

	serial_puts("0x");
	for (int shift = 60; shift >= 0; shift -= 4)
		serial_putc(digits[(v >> shift) & 0xf]);
}

/* One line of its own: firmware console output may have left the cursor mid-line. */
static void say(const char *what, int with_value, UINT64 value)
{
	serial_puts("\r\nuniprof-guest: ");
	serial_puts(what);
	if (with_value) {
		serial_putc(' ');
		serial_puthex(value);
	}
	serial_puts("\r\n");
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st)
{
	EFI_GUID loaded_image_guid = LOADED_IMAGE_PROTOCOL;
	EFI_LOADED_IMAGE *li = NULL;
	EFI_BOOT_SERVICES *bs = st->BootServices;

	if (bs->HandleProtocol(image, &loaded_image_guid, (void **)&li) == EFI_SUCCESS && li)
		say("image base", 1, (UINT64)(UINTN)li->ImageBase);
	else
		say("image base unknown", 0, 0);
	/* The link address of ImageBase is 0, so its run-time address is the slide. */
	say("slide", 1, (UINT64)(UINTN)ImageBase);

	/* The firmware resets the machine 5 minutes after starting an app otherwise. */
	bs->SetWatchdogTimer(0, 0, 0, NULL);

	say("ready", 0, 0);
	workload_entry();
}
