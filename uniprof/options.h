/* Command-line options of uniprof. */
#ifndef UP_UNIPROF_OPTIONS_H
#define UP_UNIPROF_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "../backends/target.h"
#include "../unwind/unwinder.h"
#include "../writers/writer.h"

#define UP_MAX_KERNELS 16

struct kernel_option {
	char *path;
	int has_address;        /* FILE@ADDR: the image was loaded at ADDR */
	uint64_t address;
};

struct options {
	const char *qmp;
	const char *gdb;
	enum up_memory_access memory;  /* --memory */
	int memory_given;
	const char *domain;
	const char *libvirt;      /* --libvirt DOMAIN */
	const char *libvirt_uri;  /* -c/--connect URI; NULL: the default */
	struct kernel_option kernels[UP_MAX_KERNELS];
	size_t nr_kernels;
	int has_slide;          /* --slide for the first -k file */
	int64_t slide;
	int inline_frames;
	int lines;
	int no_demangle;
	int dump;               /* --dump or "uniprof dump": one backtrace per vCPU, no profile */
	const char *output;     /* NULL: stdout */
	const struct up_writer *writer;  /* -f, or from -o's extension; folded by default; NULL with dump */
	int raw;                /* -f raw, -o FILE.uniprof or uniprof record: a raw recording */
	int report;             /* uniprof report: symbolize and write a recording */
	const char *input;      /* report: the recording ("-": standard input) */
	double frequency;       /* samples per second */
	double duration;        /* seconds; 0: until -n or Ctrl-C */
	uint64_t samples;       /* 0: no limit */
	unsigned int max_depth;
	const struct up_unwinder *unwinder;  /* --unwind; frame pointers by default */
	int per_vcpu;
	int tasks;              /* --tasks: 0 no, else enum up_task_frames (comm, comm/pid) */
	size_t max_stacks;      /* --max-stacks: distinct stacks kept, beyond them [other] */
	int reverse;            /* --reverse: flame graphs as icicles */
	int verbose;
	int quiet;              /* --quiet: no live status line */
};

enum parse_result {
	PARSE_RUN,
	PARSE_EXIT_OK,     /* --help or --version was printed */
	PARSE_EXIT_USAGE,  /* an error was printed */
};

/*
 * Parse argv into *opts: "uniprof [record] TARGET-OPTIONS..." samples a guest ("record" is the
 * same as -f raw), "uniprof report FILE OPTIONS..." writes a recording's profile.  Prints help,
 * version or one error line itself.
 */
enum parse_result parse_options(int argc, char **argv, struct options *opts);

/* Free what parse_options allocated. */
void free_options(struct options *opts);

#endif
