#include <string.h>

#include "arch.h"

static const struct up_arch *const arches[] = {
	&up_arch_x86_64,
	&up_arch_arm64,
};

const struct up_arch *up_arch_find(const char *name)
{
	for (size_t i = 0; i < sizeof(arches) / sizeof(arches[0]); i++) {
		if (!strcmp(arches[i]->name, name))
			return arches[i];
	}
	return NULL;
}

static void copy_gpr(const struct up_regs *regs, int n, uint64_t *ret)
{
	if (n >= 0 && (regs->gpr_valid >> n) & 1)
		*ret = regs->gpr[n];
}

void up_arch_named_from_gprs(const struct up_arch *arch, struct up_regs *regs)
{
	copy_gpr(regs, arch->gpr_pc, &regs->pc);
	copy_gpr(regs, arch->gpr_sp, &regs->sp);
	copy_gpr(regs, arch->gpr_fp, &regs->fp);
	copy_gpr(regs, arch->gpr_lr, &regs->lr);
}

const char *up_walk_stop_name(enum up_walk_stop stop)
{
	switch (stop) {
	case UP_WALK_END:
		return "end";
	case UP_WALK_FAULT:
		return "unreadable memory";
	case UP_WALK_NOT_GROWING:
		return "stack did not grow";
	case UP_WALK_BAD_ADDRESS:
		return "non-canonical or misaligned";
	case UP_WALK_DEPTH:
		return "depth cap";
	case UP_WALK_NULL_FP:
		return "null frame pointer";
	case UP_WALK_ZERO_RECORD:
		return "zero frame record";
	case UP_WALK_NO_RULE:
		return "no unwind rule";
	case UP_WALK_STOP_COUNT:
		break;
	}
	return "?";
}

const char *up_walk_fixup_name(enum up_walk_fixup fixup)
{
	switch (fixup) {
	case UP_FIXUP_NONE:
		return "none";
	case UP_FIXUP_ENTRY:
		return "prologue";
	case UP_FIXUP_PUSHED:
		return "after push";
	case UP_FIXUP_RETURN:
		return "at return";
	case UP_FIXUP_FRAMELESS:
		return "frameless leaf";
	case UP_FIXUP_INTERRUPT:
		return "interrupt frame";
	case UP_FIXUP_COUNT:
		break;
	}
	return "?";
}

void up_arch_start_regs(const struct up_arch *arch, const struct up_regs *regs,
			struct up_regs *ret)
{
	if (!arch->exception_context || !arch->exception_context(regs, ret))
		*ret = *regs;
}
