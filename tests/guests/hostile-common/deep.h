/*
 * What the hostile flavours of the x86_64 and arm64 test guests share (deep.c).
 */
#ifndef UNIPROF_GUEST_HOSTILE_DEEP_H
#define UNIPROF_GUEST_HOSTILE_DEEP_H

/* Frames of the recursion, outermost deep() included. */
#define DEEP_FRAMES 10000

/* Recurse DEEP_FRAMES deep, spin at the bottom, return all the way; forever. */
void deep_loop(void);

/* Write v in decimal with puts. */
void put_decimal(void (*puts)(const char *), unsigned long v);

extern volatile unsigned long deep_rounds, deep_count;

#endif
