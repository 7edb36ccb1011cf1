/*
 * Writers: each turns the symbolized profile (symbolize/symprofile.h) into one output format.
 * No writer symbolizes by itself, so every format names frames alike.
 *
 * A writer is a const struct of function pointers, found by name (-f) or by the extension of
 * the output file (-o).  The raw recording is not a writer: it keeps addresses, not names,
 * and is written while sampling (record/raw.h).
 */
#ifndef UP_WRITERS_WRITER_H
#define UP_WRITERS_WRITER_H

#include <stdio.h>

#include "../symbolize/symprofile.h"
#include "../util/error.h"

struct up_writer_options {
	int per_vcpu;           /* a "vcpuN" frame at the root of each stack */
	int lines;              /* show file:line where known */
	int reverse;            /* flame graphs: the root at the top, callees below (an icicle) */
	const char *title;      /* NULL: the writer makes one from the metadata */
};

struct up_writer {
	const char *name;       /* -f NAME */
	const char *extension;  /* ".svg": -o FILE.svg picks this writer; NULL for none */
	int binary;             /* refuses a terminal as its output */
	/* Write p to out.  Fails on allocation or write errors only. */
	struct up_error *(*write)(FILE *out, const struct up_symprofile *p,
				  const struct up_writer_options *opts);
};

extern const struct up_writer up_writer_folded;
extern const struct up_writer up_writer_pprof;
extern const struct up_writer up_writer_svg;

/* The writer called name, or NULL. */
const struct up_writer *up_writer_find(const char *name);

/* The writer whose extension path ends with, or NULL. */
const struct up_writer *up_writer_for_path(const char *path);

/* The writers' names, separated by '|', for help and error messages. */
const char *up_writer_names(void);

#endif
