/* The frame-pointer unwinder: the architecture's frame-record walker, as it is. */
#include "unwinder.h"

static struct up_error *fp_walk(const struct up_unwind_env *env, const struct up_regs *regs,
				uint64_t *pcs, size_t max, struct up_walk *ret)
{
	return env->arch->walk_frames(regs, &env->walk, pcs, max, ret);
}

const struct up_unwinder up_unwinder_fp = {
	.name = "fp",
	.walk = fp_walk,
};
