#include <libiberty/demangle.h>
#include <string.h>

#include "demangle.h"

char *up_demangle(const char *name)
{
	/* Itanium C++ ("_Z", "__Z" on some targets) and Rust v0 ("_R"); Rust's legacy scheme is
	 * Itanium-shaped and libiberty recognizes it by its hash suffix. */
	if (strncmp(name, "_Z", 2) && strncmp(name, "__Z", 3) && strncmp(name, "_R", 2))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
