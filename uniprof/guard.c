#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard.h"

/* One target a process: the guardian's state is the CLI's. */
static const struct up_target_ops *real_ops;
static struct up_target_ops guarded_ops;
static volatile sig_atomic_t *paused_flag;  /* shared with the guardian */
static pid_t guardian = -1;
static int dismiss_fd = -1;

static struct up_error *guarded_pause(struct up_target *t)
{
	/* Set first: dying between the two leaves the flag on, and rescue checks anyway. */
	*paused_flag = 1;
	return real_ops->pause(t);
}

static struct up_error *guarded_resume(struct up_target *t)
{
	struct up_error *err = real_ops->resume(t);

	if (!err)
		*paused_flag = 0;
	return err;
}

/* The guardian: wait until uniprof dismisses us or dies (the pipe's end closes). */
static void guard(struct up_target *t, int fd)
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
	real_ops->rescue(t, *paused_flag);
	_exit(0);
}

struct up_error *guard_start(struct up_target *t)
{
	int fds[2];
	pid_t pid;

	if (!t->ops->rescue)
		return NULL;
	paused_flag = mmap(NULL, sizeof(*paused_flag), PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (paused_flag == MAP_FAILED)
		return up_error_errno(errno, "starting the guardian");
	*paused_flag = 0;
	if (pipe2(fds, O_CLOEXEC))
		return up_error_errno(errno, "starting the guardian");
	/* The guardian needs the real operations too: set them before it is forked. */
	real_ops = t->ops;
	pid = fork();
	if (pid < 0) {
		int e = errno;

		close(fds[0]);
		close(fds[1]);
		return up_error_errno(e, "starting the guardian");
	}
	if (pid == 0) {
		close(fds[1]);
		guard(t, fds[0]);
	}
	close(fds[0]);
	guardian = pid;
	dismiss_fd = fds[1];
	guarded_ops = *t->ops;
	guarded_ops.pause = guarded_pause;
	guarded_ops.resume = guarded_resume;
	t->ops = &guarded_ops;
	return NULL;
}

void guard_stop(struct up_target *t)
{
	if (guardian < 0)
		return;
	while (write(dismiss_fd, "x", 1) < 0 && errno == EINTR)
		;
	close(dismiss_fd);
	while (waitpid(guardian, NULL, 0) < 0 && errno == EINTR)
		;
	guardian = -1;
	t->ops = real_ops;
}
