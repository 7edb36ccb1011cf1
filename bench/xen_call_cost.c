/*
 * Cost of the Xen calls one uniprof sample makes, each timed over many repetitions (the clock is
 * read once per batch, so its own cost does not count).  Runs in dom0 against a running domain:
 *
 *   xen_call_cost DOMID [REPS]
 *
 * Prints "name mean_us" lines.  A benchmark, not a test: nothing is asserted.  Built and run by
 * bench/xen_trace_cost.sh inside the nested Xen.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <xencall.h>
#include <xenctrl.h>
#include <xenforeignmemory.h>
#include <xen/hvm/save.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

#define TIME(name, reps, body) do { \
	double t0_ = now_us(); \
	for (int i_ = 0; i_ < (reps); i_++) { body; } \
	printf("%-28s %9.2f us\n", name, (now_us() - t0_) / (reps)); \
	fflush(stdout); \
} while (0)

int main(int argc, char **argv)
{
	uint32_t domid;
	int reps;
	xc_interface *xch;
	xenforeignmemory_handle *fmem;
	xencall_handle *xcall;
	vcpu_guest_context_any_t ctx;
	xc_domaininfo_t info;
	struct timespec ts;
	xen_pfn_t cr3_mfn;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DOMID [REPS]\n", argv[0]);
		return 2;
	}
	domid = atoi(argv[1]);
	reps = argc > 2 ? atoi(argv[2]) : 200;
	xch = xc_interface_open(NULL, NULL, 0);
	fmem = xenforeignmemory_open(NULL, 0);
	xcall = xencall_open(NULL, 0);
	if (!xch || !fmem || !xcall) {
		perror("opening Xen interfaces");
		return 1;
	}
	if (xc_domain_getinfolist(xch, domid, 1, &info) != 1 || info.domain != domid) {
		fprintf(stderr, "no domain %u\n", domid);
		return 1;
	}

	TIME("clock_gettime", reps * 10, clock_gettime(CLOCK_MONOTONIC, &ts));
	TIME("getppid syscall", reps * 10, syscall(SYS_getppid));
	TIME("xc_domain_getinfolist", reps, xc_domain_getinfolist(xch, domid, 1, &info));
	TIME("alloc+free 1 page buffer", reps,
	     xencall_free_buffer_pages(xcall, xencall_alloc_buffer_pages(xcall, 1), 1));
	TIME("alloc+free 2 page buffer", reps,
	     xencall_free_buffer_pages(xcall, xencall_alloc_buffer_pages(xcall, 2), 2));
	TIME("mmap+touch+munmap 2 pages", reps, {
		char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = p[4096] = 1;
		munmap(p, 8192);
	});
	TIME("pause+unpause", reps, {
		xc_domain_pause(xch, domid);
		xc_domain_unpause(xch, domid);
	});
	/* The same again with the domain paused: its vCPUs then leave dom0 the CPUs, as in a sample. */
	xc_domain_pause(xch, domid);
	TIME("paused: clock_gettime", reps * 10, clock_gettime(CLOCK_MONOTONIC, &ts));
	TIME("paused: getppid syscall", reps * 10, syscall(SYS_getppid));
	TIME("paused: xc_domain_getinfolist", reps, xc_domain_getinfolist(xch, domid, 1, &info));
	TIME("paused: alloc+free 1 page buf", reps,
	     xencall_free_buffer_pages(xcall, xencall_alloc_buffer_pages(xcall, 1), 1));
	TIME("paused: alloc+free 2 page buf", reps,
	     xencall_free_buffer_pages(xcall, xencall_alloc_buffer_pages(xcall, 2), 2));
	TIME("paused: mmap+touch+munmap 2p", reps, {
		char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = p[4096] = 1;
		munmap(p, 8192);
	});
	TIME("xc_vcpu_getcontext (paused)", reps, xc_vcpu_getcontext(xch, domid, 0, &ctx));
	TIME("paused: xc_vcpu_getinfo", reps, {
		xc_vcpuinfo_t vi;
		xc_vcpu_getinfo(xch, domid, 0, &vi);
	});
	if (info.flags & XEN_DOMINF_hvm_guest) {
		struct hvm_hw_cpu cpu;

		TIME("hvm_getcontext_partial CPU", reps,
		     xc_domain_hvm_getcontext_partial(xch, domid, HVM_SAVE_CODE(CPU), 0, &cpu, sizeof(cpu)));
	}
	cr3_mfn = (info.flags & XEN_DOMINF_hvm_guest) ? 0 : xen_cr3_to_pfn_x86_64(ctx.x64.ctrlreg[3]);
	if (cr3_mfn) {
		volatile uint64_t sink = 0;
		void *p = xenforeignmemory_map(fmem, domid, PROT_READ, 1, &cr3_mfn, NULL);

		TIME("paused: foreign map+unmap", reps, {
			void *q = xenforeignmemory_map(fmem, domid, PROT_READ, 1, &cr3_mfn, NULL);
			if (q)
				xenforeignmemory_unmap(fmem, q, 1);
		});
		if (p) {
			TIME("paused: read 8 B mapped", reps * 100, sink += ((volatile uint64_t *)p)[i_ & 511]);
			xenforeignmemory_unmap(fmem, p, 1);
		}
	}
	xc_domain_unpause(xch, domid);
	TIME("pause+getcontext x2+unpause", reps, {
		xc_domain_pause(xch, domid);
		xc_vcpu_getcontext(xch, domid, 0, &ctx);
		xc_vcpu_getcontext(xch, domid, 1, &ctx);
		xc_domain_unpause(xch, domid);
	});
	xencall_close(xcall);
	xenforeignmemory_close(fmem);
	xc_interface_close(xch);
	return 0;
}
