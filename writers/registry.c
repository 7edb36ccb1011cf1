#include <string.h>

#include "writer.h"

static const struct up_writer *const writers[] = {
	&up_writer_folded,
	&up_writer_pprof,
	&up_writer_svg,
};

#define NR_WRITERS (sizeof(writers) / sizeof(writers[0]))

const struct up_writer *up_writer_find(const char *name)
{
	for (size_t i = 0; i < NR_WRITERS; i++)
		if (!strcmp(writers[i]->name, name))
			return writers[i];
	return NULL;
}

const struct up_writer *up_writer_for_path(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < NR_WRITERS; i++) {
		const char *ext = writers[i]->extension;
		size_t n = ext ? strlen(ext) : 0;

		if (n && len > n && !strcmp(path + len - n, ext))
			return writers[i];
	}
	return NULL;
}

const char *up_writer_names(void)
{
	static char names[128];

	if (!names[0]) {
		for (size_t i = 0; i < NR_WRITERS; i++) {
			if (i)
				strcat(names, "|");
			strcat(names, writers[i]->name);
		}
	}
	return names;
}
