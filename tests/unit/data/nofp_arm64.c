/*
 * arm64 code built without frame pointers, for test_cfi_elf.c: the unwind tables of three
 * frame shapes (a leaf that keeps its return address in x30, a function that saves x30 and a
 * callee-saved register, one with a buffer on the stack).  Linked, never run.
 */
volatile long sink;

long leaf(long x);
long mid(long x);
long outer(long x);

__attribute__((noipa)) long leaf(long x)
{
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
