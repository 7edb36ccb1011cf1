/*
 * The guardian: a small process forked after attaching that outlives uniprof if uniprof is
 * killed (SIGKILL) or crashes, and then lets the guest run again through the target's
 * rescue operation.  A normal exit dismisses it.
 */
#ifndef UP_UNIPROF_GUARD_H
#define UP_UNIPROF_GUARD_H

#include "../backends/target.h"

struct guard;

/*
 * Fork the guardian for t.  From now on up_target_pause()/up_target_resume() on t publish the
 * pause state in a flag the guardian shares (t->pause_mark), so it knows whether a pause of
 * ours may be in force; t's operations are left as they are.  Without a rescue operation
 * there is nothing to guard: *ret is NULL.
 */
struct up_error *guard_start(struct up_target *t, struct guard **ret);

/*
 * Dismiss the guardian, wait for it and free g.  NULL is a no-op.  t is the target guarded,
 * before it is detached (its pause_mark is cleared), or NULL when it is gone already (an
 * attach that failed after guard_start).
 */
void guard_stop(struct guard *g, struct up_target *t);

#endif
