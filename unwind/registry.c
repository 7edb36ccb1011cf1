#include <string.h>

#include "unwinder.h"

static const struct up_unwinder *const unwinders[] = {
	&up_unwinder_fp,
	&up_unwinder_cfi,
	&up_unwinder_auto,
	&up_unwinder_orc,
};

const struct up_unwinder *up_unwinder_find(const char *name)
{
	for (size_t i = 0; i < sizeof(unwinders) / sizeof(unwinders[0]); i++) {
		if (!strcmp(unwinders[i]->name, name))
			return unwinders[i];
	}
	return NULL;
}

const char *up_unwinder_names(void)
{
	return "fp, cfi, auto or orc";
}
