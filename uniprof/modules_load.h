/* A Linux guest's loaded modules for the ORC walk and the names (see linux/modules.h). */
#ifndef UP_UNIPROF_MODULES_LOAD_H
#define UP_UNIPROF_MODULES_LOAD_H

#include "../backends/target.h"
#include "../memory/memory.h"
#include "../symbolize/symbolize.h"
#include "../unwind/orc.h"

struct modules_loaded {
	size_t modules, with_orc, orc_refused, symbols;
	double btf_pause_us;   /* reading the guest's BTF for struct module's layout (0: not) */
	double pause_us;       /* reading the module list and tables */
	char how[256];         /* what was read, or why nothing was, for -v */
};

/*
 * Read the guest's module list (the `modules` symbol of a -k kernel file with a known slide,
 * struct module's layout from a -k vmlinux's .BTF or the guest's BTF): add each module's ORC
 * table to orc (when not NULL) and its function symbols to sym, as a file named "[module]".
 * Nothing to read (no such symbol, no BTF) is no error: ret->how says why.  A failed read of the
 * guest is returned.  The guest runs again when this returns.
 */
struct up_error *modules_load(struct up_target *t, struct up_memory *mem,
			      struct up_symbolizer *sym, struct up_orc *orc,
			      struct modules_loaded *ret);

#endif
