/*
 * Where the profile goes (-o FILE or standard output).  The file is opened before the run, so
 * a bad path fails before the guest is touched, but it is emptied only when the profile is
 * written: a run that fails early leaves an existing file as it was.  Only a file this run
 * created, and only a regular one, is removed after a failure (never /dev/null).
 */
#ifndef UP_UNIPROF_OUTPUT_H
#define UP_UNIPROF_OUTPUT_H

#include <stdio.h>

#include "../util/error.h"

struct output {
	const char *path;   /* NULL: standard output */
	FILE *file;
	int created;        /* the file did not exist before */
	int regular;
	int pipe;           /* a pipe or socket (-o FIFO, or standard output piped) */
};

/* Open path (NULL for standard output) for writing, without emptying it yet. */
struct up_error *output_open(struct output *o, const char *path);

/* Empty the file and return the stream to write the profile to. */
FILE *output_begin(struct output *o);

/* Flush and close; reports a failed write.  A file cut short by it keeps what was written. */
struct up_error *output_close(struct output *o);

/*
 * Flush and close a profile: one that is not whole (write_failed: the writer failed; or the
 * flush fails) is not left looking complete: a regular file this run created is removed, an
 * older one emptied.  Reports a failed write.
 */
struct up_error *output_finish(struct output *o, int write_failed);

/*
 * Whether the output is a pipe (or socket) whose reader has gone, so that nothing written
 * will be read: checked without blocking.
 */
int output_reader_gone(const struct output *o);

/* Give up without writing: close, and remove the file if this run created it. */
void output_abandon(struct output *o);

#endif
