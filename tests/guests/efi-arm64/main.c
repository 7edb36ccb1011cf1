/*
 * efi_main: says where the firmware put us, turns off the watchdog and
 * enters the workload. Boot services are never exited.
 *
 * Debian ships gnu-efi's headers and libraries for x86 only, so the few
 * UEFI structures used here are declared below. On AArch64 the UEFI calling
 * convention is AAPCS64, the compiler's own.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

typedef uint64_t efi_status;

struct efi_guid {
	uint32_t d1;
	uint16_t d2, d3;
	uint8_t d4[8];
};

struct efi_table_header {
	uint64_t signature;
	uint32_t revision, header_size, crc32, reserved;
};

struct efi_boot_services {
	struct efi_table_header hdr;
	void *raise_tpl_to_uninstall_protocol_interface[16];
	efi_status (*handle_protocol)(void *handle, const struct efi_guid *protocol,
				      void **interface);
	void *reserved_to_stall[12];
	efi_status (*set_watchdog_timer)(uint64_t timeout, uint64_t code, uint64_t data_size,
					 uint16_t *data);
};

struct efi_system_table {
	struct efi_table_header hdr;
	void *firmware_vendor;
	uint32_t firmware_revision;
	void *console_in_handle, *con_in, *console_out_handle, *con_out;
	void *standard_error_handle, *std_err, *runtime_services;
	struct efi_boot_services *boot_services;
};

struct efi_loaded_image {
	uint32_t revision;
	void *parent_handle;
	struct efi_system_table *system_table;
	void *device_handle, *file_path, *reserved;
	uint32_t load_options_size;
	void *load_options;
	void *image_base;
	uint64_t image_size;
};

/* The offsets of the UEFI specification (2.10, section 4). */
_Static_assert(offsetof(struct efi_system_table, boot_services) == 0x60, "UEFI layout");
_Static_assert(offsetof(struct efi_boot_services, handle_protocol) == 0x98, "UEFI layout");
_Static_assert(offsetof(struct efi_boot_services, set_watchdog_timer) == 0x100, "UEFI layout");
_Static_assert(offsetof(struct efi_loaded_image, image_base) == 0x40, "UEFI layout");

static const struct efi_guid loaded_image_protocol = {
	0x5b1b31a1, 0x9562, 0x11d2, { 0x8e, 0x3f, 0x00, 0xa0, 0xc9, 0x69, 0x72, 0x3b }
};

/* Defined by guest.lds at the image's first byte (link address 0). */
extern char ImageBase[] __attribute__((visibility("hidden")));

efi_status efi_main(void *image, struct efi_system_table *st);

/*
 * QEMU virt's PL011, written directly rather than through ConOut: no escape
 * sequences, no dependence on the console drivers. The firmware maps it as
 * device memory and has already set it up.
 */
#define PL011_BASE 0x09000000ul
#define PL011_DR 0x00
#define PL011_FR 0x18
#define PL011_FR_TXFF (1u << 5)

static void serial_putc(char c)
{
	volatile uint32_t *uart = (volatile uint32_t *)PL011_BASE;

	for (int i = 0; i < 100000 && (uart[PL011_FR / 4] & PL011_FR_TXFF); i++)
		;
	uart[PL011_DR / 4] = (uint8_t)c;
}

static void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void serial_puthex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";

	serial_puts("0x");
	for (int shift = 60; shift >= 0; shift -= 4)
		serial_putc(digits[(v >> shift) & 0xf]);
}

/* One line of its own: firmware console output may have left the cursor mid-line. */
static void say(const char *what, int with_value, uint64_t value)
{
	serial_puts("\r\nuniprof-guest: ");
	serial_puts(what);
	if (with_value) {
		serial_putc(' ');
		serial_puthex(value);
	}
	serial_puts("\r\n");
}

efi_status efi_main(void *image, struct efi_system_table *st)
{
	struct efi_boot_services *bs = st->boot_services;
	struct efi_loaded_image *li = NULL;

	if (bs->handle_protocol(image, &loaded_image_protocol, (void **)&li) == 0 && li)
		say("image base", 1, (uint64_t)(uintptr_t)li->image_base);
	else
		say("image base unknown", 0, 0);
	/* The link address of ImageBase is 0, so its run-time address is the slide. */
	say("slide", 1, (uint64_t)(uintptr_t)ImageBase);

	/* The firmware resets the machine 5 minutes after starting an app otherwise. */
	bs->set_watchdog_timer(0, 0, 0, NULL);

	say("ready", 0, 0);
	workload_entry();
}
