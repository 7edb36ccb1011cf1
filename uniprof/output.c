#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"

struct up_error *output_open(struct output *o, const char *path)
{
	struct stat st;
	int fd;

	o->path = path;
	o->file = stdout;
	o->created = 0;
	o->regular = 0;
	o->pipe = 0;
	if (!path) {
		o->pipe = !fstat(STDOUT_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
		return NULL;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
	if (fd >= 0) {
		o->created = 1;
	} else if (errno == EEXIST) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return up_error_errno(errno, "%s", path);
	if (!fstat(fd, &st)) {
		o->regular = S_ISREG(st.st_mode);
		o->pipe = S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode);
	}
	o->file = fdopen(fd, "w");
	if (!o->file) {
		int e = errno;

		close(fd);
		if (o->created)
			unlink(path);
		return up_error_errno(e, "%s", path);
	}
	return NULL;
}

FILE *output_begin(struct output *o)
{
	/* Emptied only now: a file (not a device or pipe) keeps its old content until here. */
	if (o->path && o->regular)
		ftruncate(fileno(o->file), 0);
	return o->file;
}

struct up_error *output_close(struct output *o)
{
	int failed;

	if (!o->path)
		return fflush(stdout) ? up_error_errno(errno, "writing the profile") : NULL;
	failed = fclose(o->file);
	o->file = NULL;
	return failed ? up_error_errno(errno, "%s", o->path) : NULL;
}

struct up_error *output_finish(struct output *o, int write_failed)
{
	struct up_error *err = output_close(o);

	if ((err || write_failed) && o->path && o->regular) {
		if (o->created)
			unlink(o->path);
		else
			truncate(o->path, 0);
	}
	return err;
}

int output_reader_gone(const struct output *o)
{
	struct pollfd pfd;

	if (!o->pipe || !o->file)
		return 0;
	/* A pipe's write end polls POLLERR once no reader is left; a socket's, POLLHUP. */
	pfd = (struct pollfd){ .fd = fileno(o->file), .events = 0 };
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

void output_abandon(struct output *o)
{
	if (!o->path || !o->file)
		return;
	fclose(o->file);
	o->file = NULL;
	if (o->created && o->regular)
		unlink(o->path);
}
