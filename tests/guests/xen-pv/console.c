/* Output through the PV console ring, read by xenconsoled in dom0 (xl console, --log=guest). */
#include "guest.h"

static volatile struct xencons_interface *cons;
static uint32_t cons_port;
static volatile int cons_lock;

void console_init(const struct start_info *si)
{
	const uint64_t *p2m = (const uint64_t *)si->mfn_list;
	uint64_t pfn;

	/* The console page lies in the initial mapping; find its pfn from its mfn. */
	for (pfn = 0; pfn < si->nr_pages; pfn++) {
		if (p2m[pfn] == si->console_mfn) {
			cons = (volatile struct xencons_interface *)(XEN_PV_VIRT_BASE + (pfn << PAGE_SHIFT));
			cons_port = si->console_evtchn;
			return;
		}
	}
}

void console_write(const char *s)
{
	uint32_t prod;

	if (!cons)
		return;
	while (__atomic_exchange_n(&cons_lock, 1, __ATOMIC_ACQUIRE))
		__asm__ volatile("pause");
	prod = cons->out_prod;
	for (; *s; s++) {
		if (*s == '\n' && prod - cons->out_cons < sizeof(cons->out))
			cons->out[prod++ % sizeof(cons->out)] = '\r';
		if (prod - cons->out_cons >= sizeof(cons->out))
			break;
		cons->out[prod++ % sizeof(cons->out)] = *s;
	}
	/* The backend must see the bytes before the new producer index (x86 keeps store order). */
	__asm__ volatile("" ::: "memory");
	cons->out_prod = prod;
	__atomic_store_n(&cons_lock, 0, __ATOMIC_RELEASE);

	uint32_t port = cons_port;
	xen_hypercall3(HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint64_t)&port, 0);
}

void console_write_num(const char *label, long value)
{
	char buf[24], *p = buf + sizeof(buf);
	unsigned long v = value < 0 ? -(unsigned long)value : (unsigned long)value;

	*--p = '\0';
	*--p = '\n';
	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	if (value < 0)
		*--p = '-';
	console_write(label);
	console_write(p);
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;

	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	while (n--)
		*d++ = *s++;
	return dst;
}
