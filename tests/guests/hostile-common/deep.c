/*
 * The hostile guests' deep recursion: real calls, each with its frame record (the guest
 * Makefiles keep frame pointers), DEEP_FRAMES deep, so a walker must stop at its depth cap.
 */
#include "deep.h"

/* Iterations spun at the bottom: most samples find the whole recursion on the stack. */
#define DEEP_SPIN 300000000ul

volatile unsigned long deep_rounds, deep_count;

static void deep(unsigned int frames);

__attribute__((noipa)) static void deep(unsigned int frames)
{
	/* Keeps the frame record (GCC drops a leaf's without it). */
	__asm__ volatile("" : : "r"(__builtin_frame_address(0)));
	if (frames > 1) {
		deep(frames - 1);
	} else {
		for (unsigned long left = DEEP_SPIN; left; left--)
			__asm__ volatile("" : "+r"(left));
	}
	deep_count++;
}

void deep_loop(void)
{
	for (;;) {
		deep(DEEP_FRAMES);
		deep_rounds++;
	}
}

void put_decimal(void (*puts)(const char *), unsigned long v)
{
	char buf[24], *p = buf + sizeof(buf) - 1;

	*p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while (v /= 10);
	puts(p);
}
