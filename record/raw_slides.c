/* The recorded slides, applied to the symbol files given to uniprof report (record/raw.h). */
#include <stdio.h>
#include <string.h>

#include "raw.h"

static const char *basename_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* The recorded file that describes file i of s, or NULL. */
static const struct up_raw_symfile *recorded_for(const struct up_raw_recording *r,
						 const struct up_symbolizer *s, size_t i)
{
	const char *name = basename_of(s->files[i]->path);
	const struct up_raw_symfile *match = NULL;
	size_t matches = 0;

	for (size_t k = 0; k < r->nr_files; k++) {
		if (!strcmp(basename_of(r->files[k].path), name)) {
			match = &r->files[k];
			matches++;
		}
	}
	if (matches == 1)
		return match;
	if (matches || i >= r->nr_files)
		return NULL;
	/* A renamed copy at the same position, unless its recorded name is another's now. */
	for (size_t k = 0; k < s->nr_files; k++)
		if (!strcmp(basename_of(s->files[k]->path), basename_of(r->files[i].path)))
			return NULL;
	return &r->files[i];
}

size_t up_raw_apply_slides(const struct up_raw_recording *r, struct up_symbolizer *s)
{
	size_t applied = 0;

	for (size_t i = 0; i < s->nr_files; i++) {
		struct up_symfile *f = s->files[i];
		const struct up_raw_symfile *rf;

		if (f->slide_state != UP_SLIDE_UNKNOWN)
			continue;
		rf = recorded_for(r, s, i);
		if (!rf || rf->slide_state == UP_SLIDE_UNKNOWN)
			continue;
		f->slide = rf->slide;
		f->slide_state = rf->slide_state;
		/* How the recording decided it, shortened to fit after "recorded: ". */
		snprintf(f->slide_how, sizeof(f->slide_how), "recorded: %.*s",
			 (int)sizeof(f->slide_how) - 11, rf->slide_how);
		applied++;
	}
	return applied;
}
