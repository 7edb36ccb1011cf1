#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../util/durations.h"
#include "dump.h"

void dump_deinit(struct dump *d)
{
	free(d->pcs);
	free(d->walks);
	free(d->regs);
	free(d->tasks);
	free(d->task_found);
	memset(d, 0, sizeof(*d));
}

struct up_error *dump_take(struct up_target *t, struct up_memory *mem,
			   const struct dump_options *opts, struct dump *ret)
{
	const struct up_arch *arch = t->ops->arch(t);
	struct dump d = {
		.nr_vcpus = t->ops->nr_vcpus(t),
		.max_depth = opts->max_depth,
		.task_names = opts->task_names,
	};
	struct up_error *err, *rerr;
	unsigned int i;
	double t0;

	d.pcs = calloc((size_t)d.nr_vcpus * d.max_depth, sizeof(*d.pcs));
	d.walks = calloc(d.nr_vcpus, sizeof(*d.walks));
	d.regs = calloc(d.nr_vcpus, sizeof(*d.regs));
	d.tasks = calloc(d.nr_vcpus, sizeof(*d.tasks));
	d.task_found = calloc(d.nr_vcpus, sizeof(*d.task_found));
	if (!d.pcs || !d.walks || !d.regs || !d.tasks || !d.task_found) {
		dump_deinit(&d);
		return &up_error_nomem;
	}
	/*
	 * Every vCPU, stale or not (vcpu_stale): a vCPU that has not run since some earlier pause
	 * still stands where it stands.  Registers first, then the walks, as the sampler does.
	 */
	t0 = up_now_us();
	err = up_target_pause(t);
	for (i = 0; !err && i < d.nr_vcpus; i++)
		err = t->ops->get_regs(t, i, &d.regs[i]);
	for (i = 0; !err && i < d.nr_vcpus; i++) {
		struct up_vcpu_memory view = { .memory = mem, .vcpu = i };
		struct up_unwind_env env = opts->unwind;
		const struct up_unwinder *unwinder = opts->unwinder ? opts->unwinder : &up_unwinder_fp;

		env.walk.read = up_vcpu_memory_read;
		env.walk.read_ctx = &view;
		env.arch = arch;
		err = unwinder->walk(&env, &d.regs[i], d.pcs + (size_t)i * d.max_depth, d.max_depth,
				     &d.walks[i]);
		if (!err && opts->tasks)
			err = up_task_current(opts->tasks, &d.regs[i], up_vcpu_memory_read, &view,
					      &d.tasks[i], &d.task_found[i]);
	}
	rerr = up_target_resume(t);
	d.pause_us = up_now_us() - t0;
	if (!err)
		err = rerr;
	else
		up_error_destroy(rerr);
	if (err) {
		dump_deinit(&d);
		return err;
	}
	*ret = d;
	return NULL;
}

struct up_error *dump_write(FILE *out, const struct dump *d,
			    const struct up_backtrace_names *names)
{
	for (unsigned int i = 0; i < d->nr_vcpus; i++) {
		struct up_backtrace bt = {
			.vcpu = i,
			.regs = &d->regs[i],
			.pcs = d->pcs + (size_t)i * d->max_depth,
			.walk = &d->walks[i],
		};
		struct up_error *err;

		if (i)
			fputc('\n', out);
		if (d->task_found[i]) {
			char name[UP_TASK_NAME_MAX];

			up_task_name(&d->tasks[i], d->task_names, name);
			fprintf(out, "vCPU %u: task %s (pid %" PRId32 ", tgid %" PRId32 ")%s\n", i,
				name, d->tasks[i].pid, d->tasks[i].tgid,
				d->regs[i].user ? ", in user mode" : "");
		}
		err = up_backtrace_write(out, &bt, names);
		if (err)
			return err;
	}
	return NULL;
}
