/* Deciding the slides of the -k files against the running guest (see symbolize/slide.h). */
#ifndef UP_UNIPROF_SLIDES_H
#define UP_UNIPROF_SLIDES_H

#include "../backends/target.h"
#include "../memory/memory.h"
#include "../symbolize/symbolize.h"

/*
 * If any symbol file's slide is unknown: look at a few samples' code addresses, then search
 * guest memory (read through mem) in one pause, and for a file nothing confirmed there, in
 * up to two more a little later.  The guest runs again when this returns, error or not.
 * *ret_pause_us tells the longest time a search kept the guest stopped.
 */
struct up_error *find_slides(struct up_target *t, struct up_memory *mem, struct up_symbolizer *s,
			     double *ret_pause_us);

#endif
