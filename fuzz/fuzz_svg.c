/*
 * libFuzzer: the SVG flame graph writer over stacks of arbitrary names (symbol files are
 * hostile, and so are the names they give).  The input is stacks separated by '\n', frames
 * by ';', root first; a frame's first byte says what it is (its low bits: unknown, inlined
 * into the frame before it, with a file:line) and the rest is its name.  The output must be
 * well-formed XML, which expat checks.
 */
#define _GNU_SOURCE
#include <expat.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../writers/writer.h"

#define MAX_FRAMES 256

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct up_frame frames[MAX_FRAMES];
	static struct up_location locs[MAX_FRAMES];
	static struct up_sym_stack stacks[MAX_FRAMES];
	static uint32_t pool[MAX_FRAMES];
	static char *names[MAX_FRAMES];
	struct up_profile_meta meta = { .frequency = 99 };
	struct up_symprofile sp = { .meta = &meta, .locs = locs, .stacks = stacks, .pool = pool };
	struct up_writer_options opts = { .per_vcpu = size & 1, .lines = 1, .reverse = size & 2 };
	size_t nr_frames = 0, nr_names = 0, used = 0, start = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out;

	/* Split into frames; an inlined frame joins the location of the frame before it. */
	for (size_t i = 0; i <= size && nr_frames < MAX_FRAMES; i++) {
		if (i < size && data[i] != ';' && data[i] != '\n')
			continue;
		if (i > start) {
			uint8_t flags = data[start];
			struct up_frame *fr = &frames[nr_frames++];
			char *name = strndup((const char *)data + start + 1, i - start - 1);

			if (!name)
				goto out;
			names[nr_names++] = name;
			fr->name = name;
			fr->known = !(flags & 1);
			fr->file = flags & 4 ? "f<&>.c" : NULL;
			fr->line = flags & 4 ? flags : 0;
			if ((flags & 2) && sp.nr_locs > used) {
				locs[sp.nr_locs - 1].nr_frames++;
			} else {
				locs[sp.nr_locs].frames = fr;
				locs[sp.nr_locs].nr_frames = 1;
				locs[sp.nr_locs].file = -1;
				pool[sp.nr_locs] = (uint32_t)sp.nr_locs;
				sp.nr_locs++;
			}
		}
		start = i + 1;
		if ((i == size || data[i] == '\n') && sp.nr_locs > used) {
			struct up_sym_stack *st = &stacks[sp.nr_stacks++];

			/* Locations root first in the pool: reverse this stack's to leaf first. */
			for (size_t a = used, b = sp.nr_locs - 1; a < b; a++, b--) {
				uint32_t t = pool[a];

				pool[a] = pool[b];
				pool[b] = t;
			}
			st->vcpu = (uint32_t)(sp.nr_stacks % 3);
			st->depth = (uint32_t)(sp.nr_locs - used);
			st->count = 1 + (i % 7);
			st->locs = pool + used;
			sp.total += st->count;
			used = sp.nr_locs;
		}
	}
	out = open_memstream(&text, &len);
	if (!out)
		goto out;
	if (up_writer_svg.write(out, &sp, &opts))
		__builtin_trap();
	fclose(out);
	{
		XML_Parser parser = XML_ParserCreate("UTF-8");

		if (parser) {
			if (XML_Parse(parser, text, (int)len, 1) != XML_STATUS_OK)
				__builtin_trap();
			XML_ParserFree(parser);
		}
	}
out:
	free(text);
	for (size_t i = 0; i < nr_names; i++)
		free(names[i]);
	return 0;
}
