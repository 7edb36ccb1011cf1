#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

/* Everything the guardian needs, in uniprof and (as forked) in the guardian itself. */
struct guard {
	struct up_target *target;
	volatile sig_atomic_t *paused;  /* a shared page: t->pause_mark while guarded */
	pid_t pid;                      /* the guardian */
	int dismiss_fd;                 /* our end of the pipe the guardian reads */
};

/* The guardian: wait until uniprof dismisses us or dies (the pipe's end closes). */
static void guard(const struct guard *g, int fd)
{
	char c = 0;
	ssize_t n;

	/* Ctrl-C reaches the whole process group: uniprof handles it, the guardian stays. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1 && c == 'x')
		_exit(0);
	g->target->ops->rescue(g->target, *g->paused);
	_exit(0);
}

static void guard_free(struct guard *g)
{
	if (g->paused != MAP_FAILED)
		munmap((void *)g->paused, sizeof(*g->paused));
	free(g);
}

struct up_error *guard_start(struct up_target *t, struct guard **ret)
{
	struct guard *g;
	int fds[2], e;

	*ret = NULL;
	if (!t->ops->rescue)
		return NULL;
	g = malloc(sizeof(*g));
	if (!g)
		return &up_error_nomem;
	g->target = t;
	g->paused = mmap(NULL, sizeof(*g->paused), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g->paused == MAP_FAILED || pipe2(fds, O_CLOEXEC)) {
		e = errno;
		guard_free(g);
		return up_error_errno(e, "starting the guardian");
	}
	*g->paused = 0;
	g->pid = fork();
	if (g->pid < 0) {
		e = errno;
		close(fds[0]);
		close(fds[1]);
		guard_free(g);
		return up_error_errno(e, "starting the guardian");
	}
	if (g->pid == 0) {
		close(fds[1]);
		guard(g, fds[0]);
	}
	close(fds[0]);
	g->dismiss_fd = fds[1];
	t->pause_mark = g->paused;
	*ret = g;
	return NULL;
}

void guard_stop(struct guard *g, struct up_target *t)
{
	if (!g)
		return;
	while (write(g->dismiss_fd, "x", 1) < 0 && errno == EINTR)
		;
	close(g->dismiss_fd);
	while (waitpid(g->pid, NULL, 0) < 0 && errno == EINTR)
		;
	if (t)
		t->pause_mark = NULL;
	guard_free(g);
}
