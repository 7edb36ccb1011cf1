/* Finding and reading a Linux guest's ORC tables (unwind/orc.h) once, before sampling. */
#ifndef UP_UNIPROF_ORC_LOAD_H
#define UP_UNIPROF_ORC_LOAD_H

#include <stddef.h>

#include "../backends/target.h"
#include "../memory/memory.h"
#include "../symbolize/symbolize.h"
#include "../unwind/orc.h"

/*
 * Look for the ORC table symbols (__start_orc_unwind_ip, __stop_orc_unwind_ip,
 * __start_orc_unwind, __start_orc_header) in the -k System.map/kallsyms files whose slide is
 * known, and read the tables from guest memory in one pause (the guest runs again when this
 * returns).  *ret is NULL when no file names them or they cannot be used; how (howlen bytes)
 * then says why, or else what was read, for -v.  Fails only when the target is in trouble.
 */
struct up_error *orc_load(struct up_target *t, struct up_memory *mem,
			  const struct up_symbolizer *sym, struct up_orc **ret, char *how,
			  size_t howlen);

#endif
