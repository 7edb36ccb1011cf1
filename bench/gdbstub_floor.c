/*
 * The floor of a gdbstub sample: what stopping a QEMU guest, reading one vCPU's registers and
 * letting it go costs when nothing else is done, measured the way uniprof's pause is (from
 * the interrupt sent to the stub's acknowledgement of the continue).  bench/kvm_sample_cost.py
 * prints it beside uniprof's own pause, on the same guest in the same run.
 *
 *   gdbstub_floor SOCKET RATE COUNT VCPUS    ->  "median_us p99_us"
 *
 * The interrupt and the registers of every vCPU ("Hg<n>" and "g" each) go out in one write, as
 * uniprof sends them.  Numbers only.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fd;
static char buf[1 << 16];

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void send_all(const char *s, size_t n)
{
	if (write(fd, s, n) != (ssize_t)n) {
		perror("gdbstub_floor: write");
		exit(1);
	}
}

/* Read until n complete packets ("...#xx") or, with n == 0, an ack ('+') have arrived. */
static void wait_for(int n)
{
	size_t len = 0;

	for (;;) {
		ssize_t r = recv(fd, buf + len, sizeof(buf) - len, 0);
		int packets = 0;

		if (r <= 0) {
			fprintf(stderr, "gdbstub_floor: the stub went away\n");
			exit(1);
		}
		len += (size_t)r;
		if (len == sizeof(buf))
			len = 0;
		if (n == 0 && memchr(buf, '+', len))
			return;
		for (size_t i = 0; i + 2 < len; i++)
			packets += buf[i] == '#';
		if (n > 0 && packets >= n)
			return;
	}
}

/* Frame payload as a packet at out; returns its length. */
static size_t frame(const char *payload, char *out)
{
	unsigned int sum = 0;
	size_t n = strlen(payload);

	for (size_t i = 0; i < n; i++)
		sum += (unsigned char)payload[i];
	return (size_t)sprintf(out, "$%s#%02x", payload, sum & 0xff);
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static const char cont[] = "+$c#63";
	char stop_and_regs[4096];
	size_t request_len = 1;
	double *pause;
	long rate, count, vcpus;

	if (argc != 5 || strlen(argv[1]) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "usage: gdbstub_floor SOCKET RATE COUNT VCPUS\n");
		return 2;
	}
	rate = atol(argv[2]);
	count = atol(argv[3]);
	vcpus = atol(argv[4]);
	pause = calloc(count > 0 ? count : 1, sizeof(*pause));
	if (rate <= 0 || count <= 0 || vcpus <= 0 || vcpus > 64 || !pause) {
		fprintf(stderr, "gdbstub_floor: bad rate, count or vCPU count\n");
		return 2;
	}
	stop_and_regs[0] = 3;
	for (long v = 1; v <= vcpus; v++) {
		char hg[32];

		snprintf(hg, sizeof(hg), "Hg%lx", v);
		request_len += frame(hg, stop_and_regs + request_len);
		request_len += frame("g", stop_and_regs + request_len);
	}
	strcpy(addr.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		perror("gdbstub_floor: connect");
		return 1;
	}
	/* Connecting stopped the guest: say hello, then let it run. */
	send_all("$qSupported#37", 14);
	wait_for(2);
	send_all(cont, sizeof(cont) - 1);
	wait_for(0);
	for (long i = 0; i < count; i++) {
		struct timespec gap = { 0, 1000000000L / rate };
		double t0;

		nanosleep(&gap, NULL);
		t0 = now_us();
		send_all(stop_and_regs, request_len);
		wait_for(1 + 2 * (int)vcpus);  /* the stop reply, then "OK" and registers per vCPU */
		send_all(cont, sizeof(cont) - 1);
		wait_for(0);
		pause[i] = now_us() - t0;
	}
	qsort(pause, count, sizeof(*pause), compare);
	printf("%.1f %.1f\n", pause[count / 2], pause[(count * 99 + 99) / 100 - 1]);
	/* Stop, then detach (with a pid: QEMU may keep an earlier client's multiprocess mode). */
	send_all("\3", 1);
	wait_for(1);
	send_all("+$D;1#b0", 8);
	wait_for(1);
	close(fd);
	return 0;
}
