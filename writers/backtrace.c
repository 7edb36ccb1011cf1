#include <errno.h>
#include <inttypes.h>

#include "backtrace.h"

static size_t symbolizer_frames(void *ctx, uint64_t addr, int is_return,
				const struct up_frame **ret)
{
	return up_symbolizer_frames(ctx, addr, is_return, ret);
}

void up_backtrace_names_symbolizer(struct up_symbolizer *s, struct up_backtrace_names *ret)
{
	*ret = (struct up_backtrace_names){
		.frames = symbolizer_frames,
		.func_start = up_symbolizer_func_start,
		.ctx = s,
	};
}

/* Names and file names come from symbol files: hostile, and this may be a terminal. */
static void put_clean(FILE *out, const char *s)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, out);
}

static void put_frame(FILE *out, unsigned int number, uint64_t addr, const struct up_frame *fr,
		      int inlined, uint64_t start)
{
	fprintf(out, "#%-2u 0x%016" PRIx64 " in ", number, addr);
	if (fr->known) {
		put_clean(out, fr->name);
		if (inlined)
			fputs(" [inlined]", out);
		else if (start && start <= addr)
			fprintf(out, "+0x%" PRIx64, addr - start);
	} else {
		fputs("??", out);
	}
	if (fr->file && fr->line) {
		fputs(" (", out);
		put_clean(out, fr->file);
		fprintf(out, ":%u)", fr->line);
	}
	fputc('\n', out);
}

struct up_error *up_backtrace_write(FILE *out, const struct up_backtrace *bt,
				    const struct up_backtrace_names *names)
{
	const struct up_walk *w = bt->walk;
	unsigned int number = 0;

	fprintf(out, "vCPU %u: ", bt->vcpu);
	if (up_walk_truncated(w))
		fprintf(out, "truncated (%s)", up_walk_stop_name(w->stop));
	else
		fputs("complete", out);
	if (bt->regs)
		fprintf(out, ", sp 0x%" PRIx64 ", fp 0x%" PRIx64, bt->regs->sp, bt->regs->fp);
	fputc('\n', out);
	for (size_t i = 0; i < w->depth; i++) {
		uint64_t addr = bt->pcs[i], start;
		int is_return = up_pc_is_return(w->exact, i);
		const struct up_frame *frames;
		size_t n = names->frames(names->ctx, addr, is_return, &frames);

		/* A return address may follow a call that ends its function: look before it. */
		start = names->func_start(names->ctx, is_return && addr ? addr - 1 : addr);
		/* frames is outermost first; a backtrace starts with the innermost. */
		for (size_t k = n; k-- > 0;)
			put_frame(out, number++, addr, &frames[k], k > 0, start);
	}
	if (ferror(out))
		return up_error_errno(errno ? errno : EIO, "writing the backtrace");
	return NULL;
}
