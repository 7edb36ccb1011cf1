/*
 * The guardian: a small process forked after attaching that outlives uniprof if uniprof is
 * killed (SIGKILL) or crashes, and then lets the guest run again through the target's
 * rescue operation.  A normal exit dismisses it.
 */
#ifndef UP_UNIPROF_GUARD_H
#define UP_UNIPROF_GUARD_H

#include "../backends/target.h"

/*
 * Fork the guardian for t and route t's pause and resume through it, so it knows whether a
 * pause of ours is in force.  Without a rescue operation, does nothing.
 */
struct up_error *guard_start(struct up_target *t);

/* Dismiss the guardian (call before detaching) and wait for it.  Safe without a guardian. */
void guard_stop(struct up_target *t);

#endif
