/* A program whose DWARF describes two levels of inlining, for test_symfiles.c. */
static inline __attribute__((always_inline)) int inner(int x)
{
	return x * x + 3; /* INNER_LINE */
}

static inline __attribute__((always_inline)) int middle(int x)
{
	return inner(x) + inner(x + 1); /* MIDDLE_LINE */
}

__attribute__((noinline)) int outer(int x);
__attribute__((noinline)) int outer(int x)
{
	return middle(x) * 2; /* OUTER_LINE */
}

int main(int argc, char **argv)
{
	(void)argv;
	return outer(argc);
}
