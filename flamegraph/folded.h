/*
 * Folded-stack output, the input format of flamegraph.pl and speedscope:
 * one line per distinct stack, frames root first joined by ';', one space, the sample count.
 */
#ifndef UP_FLAMEGRAPH_FOLDED_H
#define UP_FLAMEGRAPH_FOLDED_H

#include <stdio.h>

#include "../symbolize/symbolize.h"
#include "../util/profile.h"

struct up_folded_options {
	int per_vcpu;   /* add a "vcpuN" root frame */
	int lines;      /* add " (file:line)" to the leaf frame when known */
};

/*
 * Write profile p to out, naming addresses with s.  Stacks that end up with the same names are
 * merged; lines are sorted.  ';' in a name becomes ':' and control characters become '?', so
 * a line always parses.  Fails only on allocation or write errors.
 */
struct up_error *up_write_folded(FILE *out, const struct up_profile *p,
				 struct up_symbolizer *s, const struct up_folded_options *opts);

#endif
