/* Finding checked-in test data from wherever a unit test runs (the tree's top or below it). */
#ifndef UP_TESTS_DATA_PATH_H
#define UP_TESTS_DATA_PATH_H

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

/* tests/unit/data/SUBDIR/FILE in the working directory or above it, into ret; fails the test
 * when there is none. */
static inline void test_data_path(const char *subdir, const char *file, char *ret, size_t len)
{
	char dir[PATH_MAX];

	assert_non_null(getcwd(dir, sizeof(dir)));
	for (;;) {
		struct stat st;
		char *slash;

		if ((size_t)snprintf(ret, len, "%s/tests/unit/data/%s/%s", dir, subdir, file) < len &&
		    !stat(ret, &st))
			return;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			fail_msg("no tests/unit/data/%s/%s above the working directory", subdir, file);
		*slash = '\0';
	}
}

#endif
