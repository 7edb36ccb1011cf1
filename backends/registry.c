/* The one place that knows which backends this build has. */
#include <string.h>

#include "target.h"

extern const struct up_target_ops up_target_kvm;
#ifdef HAVE_LIBXENCTRL
extern const struct up_target_ops up_target_xen;
#endif

static const struct up_target_ops *const backends[] = {
	&up_target_kvm,
#ifdef HAVE_LIBXENCTRL
	&up_target_xen,
#endif
};

const struct up_target_ops *up_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	}
	return NULL;
}
