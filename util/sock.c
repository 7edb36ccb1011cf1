#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sock.h"

/* How long a unix socket whose queue is full is retried (its server takes nobody new). */
#define UNIX_QUEUE_WAIT_MS 5000
#define UNIX_QUEUE_RETRY_MS 20

static struct up_error *connect_unix(const char *path, int *ret)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, waited = 0;

	if (strlen(path) >= sizeof(sun.sun_path))
		return up_error_create(UP_ERR_INVALID, "%s: socket path too long", path);
	strcpy(sun.sun_path, path);
	/*
	 * Non-blocking: a blocking connect to a server whose queue is full waits for as long as
	 * the server takes no client (QEMU's monitor while another client holds it), forever.
	 */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return up_error_errno(errno, "socket");
	while (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		int e = errno;
		struct stat st;

		if (e == EAGAIN && waited < UNIX_QUEUE_WAIT_MS) {
			poll(NULL, 0, UNIX_QUEUE_RETRY_MS);
			waited += UNIX_QUEUE_RETRY_MS;
			continue;
		}
		close(fd);
		if (e == EAGAIN)
			return up_error_create(UP_ERR_TIMEOUT, "%s: the socket's queue stayed full for "
					       "%d ms: its server takes no new client", path,
					       UNIX_QUEUE_WAIT_MS);
		if (e == ECONNREFUSED && !stat(path, &st) && !S_ISSOCK(st.st_mode))
			return up_error_create(UP_ERR_INVALID, "%s: not a socket", path);
		if (e == ECONNREFUSED)
			return up_error_create(UP_ERR_INVALID, "%s: nobody listens on this socket", path);
		return up_error_errno(e, "%s", path);
	}
	/* Blocking from now on: reads wait with poll(), writes to their end. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		int e = errno;

		close(fd);
		return up_error_errno(e, "%s", path);
	}
	*ret = fd;
	return NULL;
}

/* Split "host:port" or "[host]:port"; returns 0 when address does not look like one. */
static int split_host_port(const char *address, char *host, size_t hostlen, const char **port)
{
	const char *colon = strrchr(address, ':');
	const char *h = address;
	size_t n;

	if (!colon || strchr(address, '/') || !colon[1])
		return 0;
	for (const char *p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9')
			return 0;
	}
	n = colon - address;
	if (n >= 2 && h[0] == '[' && h[n - 1] == ']') {
		h++;
		n -= 2;
	}
	if (n >= hostlen)
		return 0;
	memcpy(host, h, n);
	host[n] = '\0';
	*port = colon + 1;
	return 1;
}

static struct up_error *connect_tcp(const char *address, const char *host, const char *port,
				    int *ret)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res, *ai;
	int r, fd = -1, e = 0, one = 1;

	r = getaddrinfo(*host ? host : "localhost", port, &hints, &res);
	if (r)
		return up_error_create(UP_ERR_INVALID, "%s: %s", address, gai_strerror(r));
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		if (!connect(fd, ai->ai_addr, ai->ai_addrlen))
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return up_error_errno(e, "%s", address);
	/* Each request is one small write that waits for its reply: Nagle only adds latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*ret = fd;
	return NULL;
}

struct up_error *up_sock_connect(const char *address, int *ret)
{
	char host[256];
	const char *port;

	if (split_host_port(address, host, sizeof(host), &port))
		return connect_tcp(address, host, port, ret);
	return connect_unix(address, ret);
}

struct up_error *up_sock_recv(int fd, void *buf, size_t len, int timeout_ms, size_t *ret)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	for (;;) {
		r = poll(&pfd, 1, timeout_ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return up_error_errno(errno, "poll");
		if (r == 0)
			return up_error_create(UP_ERR_TIMEOUT, "no answer within %d ms", timeout_ms);
		n = recv(fd, buf, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			if (errno == ECONNRESET)
				return up_error_create(UP_ERR_LOST, "connection reset by peer");
			return up_error_errno(errno, "recv");
		}
		if (n == 0)
			return up_error_create(UP_ERR_LOST, "connection closed by peer");
		*ret = n;
		return NULL;
	}
}

struct up_error *up_sock_send(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			if (errno == EPIPE || errno == ECONNRESET)
				return up_error_create(UP_ERR_LOST, "connection closed by peer");
			return up_error_errno(errno, "send");
		}
		p += n;
		len -= n;
	}
	return NULL;
}

pid_t up_sock_peer_pid(int fd)
{
	struct sockaddr_storage addr;
	socklen_t alen = sizeof(addr);
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	if (getsockname(fd, (struct sockaddr *)&addr, &alen) || addr.ss_family != AF_UNIX)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) || cred.pid <= 0)
		return -1;
	return cred.pid;
}

/* /proc/net/unix: "Num RefCount Protocol Flags Type St Inode Path"; Flags has this bit set on
 * a listening socket, St is 3 on a connection accepted (or made), 2 on one still waiting in a
 * listener's backlog (such a connection has no inode yet). */
#define UNIX_LISTENING 0x10000
#define SS_CONNECTING 2
#define SS_CONNECTED 3

int up_sock_unix_busy(const char *path)
{
	char line[4096 + 128], *resolved = realpath(path, NULL);
	unsigned int listening = 0, served = 0, waiting = 0;
	FILE *f = fopen("/proc/net/unix", "re");

	if (!f || !resolved) {
		if (f)
			fclose(f);
		free(resolved);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags, type, state, inode;
		int end = 0;
		size_t n;

		if (sscanf(line, "%*x: %*x %*x %lx %lx %lx %lu %n", &flags, &type, &state, &inode,
			   &end) != 4 || !end)
			continue;
		n = strcspn(line + end, "\n");
		if (n != strlen(resolved) || strncmp(line + end, resolved, n))
			continue;
		if (flags & UNIX_LISTENING)
			listening++;
		else if (state == SS_CONNECTED)
			served++;
		else if (state == SS_CONNECTING && inode == 0)
			waiting++;
	}
	fclose(f);
	free(resolved);
	return listening && served && waiting;
}
