#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../backends/libvirt.h"
#include "options.h"
#include "version.h"

#define DEFAULT_FREQUENCY 99
#define MAX_FREQUENCY 100000
#define DEFAULT_MAX_DEPTH 128
#define MAX_MAX_DEPTH 4096

enum {
	OPT_GDB = 256,
	OPT_LIBVIRT,
	OPT_MAX_DEPTH,
	OPT_PER_VCPU,
	OPT_VERSION,
	OPT_SLIDE,
	OPT_INLINE,
	OPT_LINES,
	OPT_NO_DEMANGLE,
	OPT_MEMORY,
	OPT_REVERSE,
	OPT_DUMP,
	OPT_QUIET,
	OPT_UNWIND,
	OPT_MAX_STACKS,
	OPT_TASKS,
};


static const struct option long_options[] = {
	{ "qmp", required_argument, NULL, 'q' },
	{ "gdb", required_argument, NULL, OPT_GDB },
	{ "memory", required_argument, NULL, OPT_MEMORY },
	{ "domain", required_argument, NULL, 'd' },
	{ "libvirt", required_argument, NULL, OPT_LIBVIRT },
	{ "connect", required_argument, NULL, 'c' },
	{ "kernel", required_argument, NULL, 'k' },
	{ "frequency", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 't' },
	{ "samples", required_argument, NULL, 'n' },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'f' },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "unwind", required_argument, NULL, OPT_UNWIND },
	{ "per-vcpu", no_argument, NULL, OPT_PER_VCPU },
	{ "tasks", optional_argument, NULL, OPT_TASKS },
	{ "max-stacks", required_argument, NULL, OPT_MAX_STACKS },
	{ "reverse", no_argument, NULL, OPT_REVERSE },
	{ "slide", required_argument, NULL, OPT_SLIDE },
	{ "inline", no_argument, NULL, OPT_INLINE },
	{ "lines", no_argument, NULL, OPT_LINES },
	{ "no-demangle", no_argument, NULL, OPT_NO_DEMANGLE },
	{ "dump", no_argument, NULL, OPT_DUMP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, OPT_QUIET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ NULL, 0, NULL, 0 },
};

static void print_help(void)
{
	printf("Usage: uniprof --qmp SOCKET [options]\n"
	       "       uniprof --libvirt DOMAIN [-c URI] [options]\n"
	       "       uniprof -d DOMAIN [options]\n"
	       "       uniprof record TARGET [options]\n"
	       "       uniprof report FILE [-k FILE...] [symbol and output options]\n"
	       "       uniprof dump TARGET [options]   (same as --dump)\n"
	       "Sample the call stacks of a running virtual machine from the host and write\n"
	       "folded stacks (root;...;leaf COUNT), an SVG flame graph or a pprof profile,\n"
	       "or print every vCPU's stack once as a backtrace (--dump).\n"
	       "'uniprof record' (the same as -f raw) writes the samples unsymbolized, as they\n"
	       "are taken; 'uniprof report FILE' names them later, on any machine, and writes\n"
	       "the profile in any format.\n"
	       "\n"
	       "Target:\n"
	       "  -q, --qmp ADDR        QEMU's QMP socket: a unix socket PATH or HOST:PORT\n"
	       "      --gdb ADDR        use this already-open gdbstub (PATH or HOST:PORT) instead\n"
	       "                        of starting one through QMP\n"
	       "      --memory HOW      how guest memory is read (QEMU): auto (default), process\n"
	       "                        (out of QEMU's process), shared (QEMU's shared RAM file,\n"
	       "                        mapped here), gdbstub ('m' packets); -v tells which\n"
	       "      --libvirt DOMAIN  a libvirt domain (name, UUID or id) on this host: QMP goes\n"
	       "                        through libvirt, which holds QEMU's monitor; a domain of\n"
	       "                        libvirt's Xen (libxl) driver is profiled as with -d\n"
	       "  -c, --connect URI     the libvirt to ask (default %s)\n"
	       "  -d, --domain DOMAIN   Xen domain id or name\n"
	       "\n"
	       "Sampling:\n"
	       "  -F, --frequency HZ    samples per second (default %d)\n"
	       "  -t, --duration SEC    stop after SEC seconds\n"
	       "  -n, --samples N       stop after N samples\n"
	       "      --max-depth N     frames per stack at most (default %d)\n"
	       "                        without -t or -n, sampling runs until Ctrl-C\n"
	       "      --unwind HOW      how stacks are walked: fp (frame pointers, default),\n"
	       "                        cfi (the -k files' .eh_frame/.debug_frame), auto (CFI\n"
	       "                        where a frame has it, frame pointers elsewhere; ORC for\n"
	       "                        a Linux guest whose tables are found), orc (an x86_64\n"
	       "                        Linux kernel's own ORC tables, from a -k vmlinux's\n"
	       "                        sections or through a -k System.map or kallsyms, and\n"
	       "                        those of the modules loaded, whose functions are named\n"
	       "                        from their own symbols whatever the unwinder)\n"
	       "\n"
	       "Symbols:\n"
	       "  -k, --kernel FILE[@ADDR]\n"
	       "                        guest kernel or image symbols: ELF, PE (EFI), System.map,\n"
	       "                        nm output or /proc/kallsyms (may be repeated); @ADDR says\n"
	       "                        where the image was loaded, else its slide is found in\n"
	       "                        the running guest (EFI, KASLR) or refused; report takes\n"
	       "                        the slide recorded for the file of the same name\n"
	       "      --slide OFFSET    the first -k file runs OFFSET bytes from its link address\n"
	       "      --inline          expand inlined functions into frames (needs DWARF)\n"
	       "      --lines           add (file:line) to leaf frames (needs DWARF)\n"
	       "      --no-demangle     keep C++ and Rust names mangled\n"
	       "\n"
	       "Output:\n"
	       "      --dump            stop the guest once, print every vCPU's backtrace (frame,\n"
	       "                        pc, function+offset, file:line, inlined frames), resume;\n"
	       "                        -o and --max-depth apply; -F, -t, -n, -f, --per-vcpu not\n"
	       "  -o, --output FILE     write the profile to FILE (default: standard output)\n"
	       "  -f, --format FORMAT   %s, or raw to record (default: from -o's\n"
	       "                        extension: .folded, .pb.gz, .uniprof for raw; else folded)\n"
	       "      --per-vcpu        add a vcpuN root frame to every stack\n"
	       "      --tasks[=pid]     Linux guests: add the running task as a root frame,\n"
	       "                        its comm (idle: swapper/N), or comm/pid with =pid; read\n"
	       "                        with the kernel's BTF (or a -k vmlinux's BTF or DWARF)\n"
	       "                        and the -k file's current_task\n"
	       "                        (user-mode samples are one [user] frame, with or without)\n"
	       "      --max-stacks N    distinct stacks kept at most (default %d); samples of\n"
	       "                        newer stacks are counted in one [other] frame\n"
	       "      --reverse         svg: draw an icicle, the root at the top and callees\n"
	       "                        below it\n"
	       "  -v, --verbose         say more on standard error (repeat for more)\n"
	       "      --quiet           no live status line (shown when standard error is a\n"
	       "                        terminal, after 1 s); long option only: -q is --qmp\n"
	       "  -h, --help            show this help\n"
	       "      --version         show the version\n",
	       UP_LIBVIRT_DEFAULT_URI, DEFAULT_FREQUENCY, DEFAULT_MAX_DEPTH, up_writer_names(),
	       UP_PROFILE_DEFAULT_MAX_STACKS);
}

__attribute__((format(printf, 1, 2)))
static enum parse_result usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("uniprof: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (see uniprof --help)\n", stderr);
	va_end(ap);
	return PARSE_EXIT_USAGE;
}

static int parse_double(const char *s, double min, double max, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

/* A C-style number: decimal, 0x hex, optionally negative when allowed. */
static int parse_address(const char *s, int allow_negative, int64_t *ret)
{
	int negative = 0;
	char *end;
	unsigned long long v;

	if (allow_negative && *s == '-') {
		negative = 1;
		s++;
	}
	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return -1;
	*ret = negative ? -(int64_t)v : (int64_t)v;
	return 0;
}

/* FILE or FILE@ADDR (the last '@' followed by a number). */
static int parse_kernel(const char *arg, struct kernel_option *ret)
{
	const char *at = strrchr(arg, '@');
	int64_t addr;

	memset(ret, 0, sizeof(*ret));
	if (at && at > arg && !parse_address(at + 1, 0, &addr)) {
		ret->path = strndup(arg, at - arg);
		ret->has_address = 1;
		ret->address = (uint64_t)addr;
	} else {
		ret->path = strdup(arg);
	}
	return ret->path ? 0 : -1;
}

void free_options(struct options *opts)
{
	for (size_t i = 0; i < opts->nr_kernels; i++)
		free(opts->kernels[i].path);
	opts->nr_kernels = 0;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	unsigned long long v;

	if (*s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*ret = v;
	return 0;
}

/* -f raw and -o FILE.uniprof choose a recording rather than a writer. */
#define RAW_FORMAT "raw"
#define RAW_EXTENSION ".uniprof"

static int has_extension(const char *path, const char *ext)
{
	size_t len = strlen(path), n = strlen(ext);

	return len > n && !strcmp(path + len - n, ext);
}

enum parse_result parse_options(int argc, char **argv, struct options *opts)
{
	/* The first option given that only sampling takes, and one that only writing takes. */
	const char *sampling_option = NULL, *writing_option = NULL, *format = NULL;
	int record = 0;
	/* The last option given that means nothing to --dump, which takes no profile. */
	const char *profile_only = NULL;
	uint64_t u;
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->frequency = DEFAULT_FREQUENCY;
	opts->max_depth = DEFAULT_MAX_DEPTH;
	opts->max_stacks = UP_PROFILE_DEFAULT_MAX_STACKS;
	if (argc > 1 && !strcmp(argv[1], "record")) {
		record = 1;
		argc--;
		argv++;
	} else if (argc > 1 && !strcmp(argv[1], "report")) {
		opts->report = 1;
		argc--;
		argv++;
	} else if (argc > 1 && !strcmp(argv[1], "dump")) {
		opts->dump = 1;
		argc--;
		argv++;
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":q:c:d:k:F:t:n:o:f:vh", long_options, NULL)) != -1) {
		switch (c) {
		case 'q':
			opts->qmp = optarg;
			sampling_option = sampling_option ? sampling_option : "--qmp";
			break;
		case OPT_GDB:
			opts->gdb = optarg;
			sampling_option = sampling_option ? sampling_option : "--gdb";
			break;
		case OPT_MEMORY:
			sampling_option = sampling_option ? sampling_option : "--memory";
			if (!strcmp(optarg, "auto"))
				opts->memory = UP_MEMORY_AUTO;
			else if (!strcmp(optarg, "process"))
				opts->memory = UP_MEMORY_PROCESS;
			else if (!strcmp(optarg, "shared"))
				opts->memory = UP_MEMORY_SHARED;
			else if (!strcmp(optarg, "gdbstub"))
				opts->memory = UP_MEMORY_GDBSTUB;
			else
				return usage_error("bad --memory '%s': give auto, process, shared or gdbstub", optarg);
			opts->memory_given = 1;
			break;
		case 'd':
			opts->domain = optarg;
			sampling_option = sampling_option ? sampling_option : "-d";
			break;
		case OPT_LIBVIRT:
			opts->libvirt = optarg;
			sampling_option = sampling_option ? sampling_option : "--libvirt";
			break;
		case 'c':
			opts->libvirt_uri = optarg;
			sampling_option = sampling_option ? sampling_option : "-c";
			break;
		case 'k':
			if (opts->nr_kernels == UP_MAX_KERNELS)
				return usage_error("too many -k files (at most %d)", UP_MAX_KERNELS);
			if (parse_kernel(optarg, &opts->kernels[opts->nr_kernels]))
				return usage_error("out of memory for '%s'", optarg);
			opts->nr_kernels++;
			break;
		case OPT_SLIDE:
			if (parse_address(optarg, 1, &opts->slide))
				return usage_error("bad --slide '%s': give a byte offset like 0x200000", optarg);
			opts->has_slide = 1;
			break;
		case OPT_INLINE:
			opts->inline_frames = 1;
			writing_option = writing_option ? writing_option : "--inline";
			break;
		case OPT_LINES:
			opts->lines = 1;
			writing_option = writing_option ? writing_option : "--lines";
			break;
		case OPT_NO_DEMANGLE:
			opts->no_demangle = 1;
			writing_option = writing_option ? writing_option : "--no-demangle";
			break;
		case 'F':
			sampling_option = sampling_option ? sampling_option : "-F";
			profile_only = "-F";
			if (parse_double(optarg, 0.001, MAX_FREQUENCY, &opts->frequency))
				return usage_error("bad frequency '%s': give a number of Hz up to 100000", optarg);
			break;
		case 't':
			sampling_option = sampling_option ? sampling_option : "-t";
			profile_only = "-t";
			if (parse_double(optarg, 0.001, 1e9, &opts->duration))
				return usage_error("bad duration '%s': give a positive number of seconds", optarg);
			break;
		case 'n':
			sampling_option = sampling_option ? sampling_option : "-n";
			profile_only = "-n";
			if (parse_u64(optarg, 1, UINT64_MAX, &opts->samples))
				return usage_error("bad sample count '%s': give a positive integer", optarg);
			break;
		case 'o':
			opts->output = optarg;
			break;
		case 'f':
			format = optarg;
			opts->raw = !strcmp(optarg, RAW_FORMAT);
			opts->writer = opts->raw ? NULL : up_writer_find(optarg);
			if (!opts->raw && !opts->writer)
				return usage_error("bad --format '%s': give %s or %s", optarg,
						   up_writer_names(), RAW_FORMAT);
			profile_only = "-f";
			break;
		case OPT_MAX_DEPTH:
			sampling_option = sampling_option ? sampling_option : "--max-depth";
			if (parse_u64(optarg, 1, MAX_MAX_DEPTH, &u))
				return usage_error("bad --max-depth '%s': give an integer from 1 to 4096", optarg);
			opts->max_depth = u;
			break;
		case OPT_UNWIND:
			opts->unwinder = up_unwinder_find(optarg);
			if (!opts->unwinder)
				return usage_error("bad --unwind '%s': give %s", optarg, up_unwinder_names());
			sampling_option = sampling_option ? sampling_option : "--unwind";
			break;
		case OPT_PER_VCPU:
			profile_only = "--per-vcpu";
			opts->per_vcpu = 1;
			writing_option = writing_option ? writing_option : "--per-vcpu";
			break;
		case OPT_TASKS:
			if (!optarg || !strcmp(optarg, "comm"))
				opts->tasks = UP_TASK_FRAMES_COMM;
			else if (!strcmp(optarg, "pid"))
				opts->tasks = UP_TASK_FRAMES_PID;
			else
				return usage_error("bad --tasks '%s': give --tasks, --tasks=comm or "
						   "--tasks=pid", optarg);
			break;
		case OPT_MAX_STACKS:
			if (parse_u64(optarg, 1, SIZE_MAX, &u))
				return usage_error("bad --max-stacks '%s': give a positive integer", optarg);
			opts->max_stacks = u;
			profile_only = "--max-stacks";
			writing_option = writing_option ? writing_option : "--max-stacks";
			break;
		case OPT_REVERSE:
			opts->reverse = 1;
			profile_only = "--reverse";
			writing_option = writing_option ? writing_option : "--reverse";
			break;
		case OPT_DUMP:
			opts->dump = 1;
			sampling_option = sampling_option ? sampling_option : "--dump";
			break;
		case OPT_QUIET:
			opts->quiet = 1;
			break;
		case 'v':
			opts->verbose++;
			break;
		case 'h':
			print_help();
			return PARSE_EXIT_OK;
		case OPT_VERSION:
			printf("uniprof %s\n", UNIPROF_VERSION);
			return PARSE_EXIT_OK;
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			if (optopt) {
				char opt[3] = { '-', (char)optopt, '\0' };

				return usage_error("unknown option '%s'", opt);
			}
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (opts->report) {
		if (optind == argc)
			return usage_error("%s", "report needs the recording to read: uniprof report FILE");
		opts->input = argv[optind++];
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (opts->report) {
		if (sampling_option)
			return usage_error("%s is for sampling a guest: uniprof report reads a recording",
					   sampling_option);
		if (!format && opts->output && has_extension(opts->output, RAW_EXTENSION))
			return usage_error("report writes a profile, not a recording: give -f %s",
					   up_writer_names());
		if (opts->raw)
			return usage_error("report writes a profile, not a recording: give -f %s",
					   up_writer_names());
	} else {
		if (record && format && !opts->raw)
			return usage_error("record writes raw recordings only: -f %s is for uniprof report",
					   format);
		if (record && opts->dump)
			return usage_error("%s", "record writes raw recordings: --dump prints backtraces");
		if (opts->dump && profile_only)
			return usage_error("%s does not apply to --dump, which prints one backtrace per vCPU",
					   profile_only);
		if (!opts->dump &&
		    (record || (!format && opts->output && has_extension(opts->output, RAW_EXTENSION))))
			opts->raw = 1;
		if (!!opts->qmp + !!opts->domain + !!opts->libvirt != 1) {
			if (opts->gdb && !opts->domain)
				return usage_error("%s needs --qmp too: QMP tells the vCPUs and keeps the guest running", "--gdb");
			return usage_error("%s", "give exactly one target: --qmp SOCKET, --libvirt DOMAIN or -d DOMAIN");
		}
		if (opts->libvirt_uri && !opts->libvirt)
			return usage_error("%s names the libvirt that --libvirt DOMAIN is looked up in", "-c/--connect");
		if (opts->gdb && opts->domain)
			return usage_error("%s is for QEMU targets, not Xen domains", "--gdb");
		if (opts->memory_given && opts->domain)
			return usage_error("%s is for QEMU targets: a Xen domain's memory is always mapped from dom0", "--memory");
		if (!opts->unwinder)
			opts->unwinder = &up_unwinder_fp;
		if (opts->tasks && !opts->nr_kernels)
			return usage_error("%s", "--tasks reads the kernel's current task with its "
					   "symbols: give -k System.map, /proc/kallsyms or vmlinux");
		if (opts->unwinder == &up_unwinder_orc && !opts->nr_kernels)
			return usage_error("%s", "--unwind orc finds the kernel's ORC tables through its "
					   "symbols: give -k System.map, /proc/kallsyms or vmlinux");
		if (opts->unwinder != &up_unwinder_fp && !opts->nr_kernels)
			return usage_error("--unwind %s reads the unwind tables of the -k files: give one",
					   opts->unwinder->name);
	}
	if (opts->raw) {
		if (writing_option)
			return usage_error("%s applies when the profile is written: give it to uniprof report",
					   writing_option);
		if (!opts->output && isatty(STDOUT_FILENO))
			return usage_error("%s", "a raw recording is binary: give -o FILE or redirect the output");
	} else if (!opts->dump) {
		/* Backtraces are text of their own: no writer, whatever -o's extension says. */
		if (!opts->writer && opts->output)
			opts->writer = up_writer_for_path(opts->output);
		if (!opts->writer)
			opts->writer = &up_writer_folded;
		if (opts->reverse && opts->writer != &up_writer_svg)
			return usage_error("%s is for the svg format (-f svg, or -o FILE.svg)", "--reverse");
		if (opts->writer->binary && !opts->output && isatty(STDOUT_FILENO))
			return usage_error("the %s format is binary: give -o FILE or redirect the output", opts->writer->name);
	}
	if (opts->has_slide && !opts->nr_kernels)
		return usage_error("%s needs a -k file to apply to", "--slide");
	if (opts->has_slide && opts->kernels[0].has_address)
		return usage_error("%s and -k FILE@ADDR both fix the first file's slide: give one", "--slide");
	return PARSE_RUN;
}
