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

const char *up_walk_stop_name(enum up_walk_stop stop)
{
	switch (stop) {
	case UP_WALK_END:
		return "end";
	case UP_WALK_FAULT:
		return "unreadable frame";
	case UP_WALK_NOT_GROWING:
		return "frame pointer not growing";
	case UP_WALK_BAD_ADDRESS:
		return "bad address";
	case UP_WALK_DEPTH:
		return "depth cap";
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
	case UP_FIXUP_COUNT:
		break;
	}
	return "?";
}
