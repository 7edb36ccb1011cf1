#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../writers/writer.h"

struct line {
	char *text;
	uint64_t count;
};

/* Append name to the growing buffer, made safe for the folded format. */
static int append_frame(char **buf, size_t *len, size_t *cap, const char *name, int first)
{
	size_t n = strlen(name) + 1;

	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap + n + 1) * 2;
		char *nbuf = realloc(*buf, ncap);

		if (!nbuf)
			return -1;
		*buf = nbuf;
		*cap = ncap;
	}
	if (!first)
		(*buf)[(*len)++] = ';';
	for (const char *c = name; *c; c++) {
		char ch = *c;

		if (ch == ';')
			ch = ':';
		else if ((unsigned char)ch < 0x20 || ch == 0x7f)
			ch = '?';
		(*buf)[(*len)++] = ch;
	}
	(*buf)[*len] = '\0';
	return 0;
}

static char *fold_stack(const struct up_symprofile *p, const struct up_sym_stack *st,
			const struct up_writer_options *opts)
{
	char *buf = NULL, vcpu[32], leaf[1024];
	size_t len = 0, cap = 0;
	int first = 1;

	if (opts->per_vcpu) {
		snprintf(vcpu, sizeof(vcpu), "vcpu%" PRIu32, st->vcpu);
		if (append_frame(&buf, &len, &cap, vcpu, 1))
			goto fail;
		first = 0;
	}
	/* Locations are stored leaf first; folded lines start at the root. */
	for (uint32_t i = st->depth; i-- > 0;) {
		const struct up_location *loc = &p->locs[st->locs[i]];

		for (size_t k = 0; k < loc->nr_frames; k++) {
			const struct up_frame *fr = &loc->frames[k];
			const char *name = fr->name;

			if (opts->lines && i == 0 && k == loc->nr_frames - 1 && fr->file && fr->line) {
				snprintf(leaf, sizeof(leaf), "%s (%s:%u)", name, fr->file, fr->line);
				name = leaf;
			}
			if (append_frame(&buf, &len, &cap, name, first))
				goto fail;
			first = 0;
		}
	}
	return buf;
fail:
	free(buf);
	return NULL;
}

static int compare_lines(const void *a, const void *b)
{
	return strcmp(((const struct line *)a)->text, ((const struct line *)b)->text);
}

/*
 * One line per distinct stack, frames root first joined by ';', one space, the sample count.
 * Stacks that end up with the same names are merged; lines are sorted.  ';' in a name becomes
 * ':' and control characters become '?', so a line always parses.
 */
static struct up_error *write_folded(FILE *out, const struct up_symprofile *p,
				     const struct up_writer_options *opts)
{
	struct line *lines = calloc(p->nr_stacks ? p->nr_stacks : 1, sizeof(*lines));
	struct up_error *err = NULL;
	size_t n = 0;

	if (!lines)
		return &up_error_nomem;
	for (; n < p->nr_stacks; n++) {
		lines[n].text = fold_stack(p, &p->stacks[n], opts);
		lines[n].count = p->stacks[n].count;
		if (!lines[n].text) {
			err = &up_error_nomem;
			goto out;
		}
	}
	if (n)
		qsort(lines, n, sizeof(*lines), compare_lines);
	/* Merge runs of equal lines: different addresses often share one name. */
	n = 0;
	for (size_t i = 0; i < p->nr_stacks; i++) {
		if (n && !strcmp(lines[n - 1].text, lines[i].text)) {
			lines[n - 1].count += lines[i].count;
			free(lines[i].text);
			continue;
		}
		lines[n++] = lines[i];
	}
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s %" PRIu64 "\n", lines[i].text, lines[i].count);
	if (fflush(out) || ferror(out))
		err = up_error_errno(errno ? errno : EIO, "writing the profile");
out:
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return err;
}

const struct up_writer up_writer_folded = {
	.name = "folded",
	.extension = ".folded",
	.write = write_folded,
};
