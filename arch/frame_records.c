#include "../util/bytes.h"
#include "frame_records.h"

/* Whether the frame whose pc is pcs[n - 1] is known to be outermost. */
static int at_root(const struct up_walk_env *env, const uint64_t *pcs, size_t n)
{
	/* A return address names the call before it. */
	uint64_t addr = n > 1 ? pcs[n - 1] - 1 : pcs[0];

	return env->is_root && env->is_root(env->code_ctx, addr);
}

struct up_error *up_walk_records(const struct up_regs *regs, const struct up_walk_env *env,
				 uint64_t fp, const struct up_record_rules *rules, uint64_t *pcs,
				 size_t n, size_t max, struct up_walk *ret)
{
	struct up_error *err = NULL;
	/* Whether fp came out of a frame record, rather than from the registers. */
	int from_record = 0;

	/*
	 * The leaf's frame lies on the stack in use, at or above the stack pointer: a frame
	 * pointer below it (user-space junk in rbp while the kernel runs, say) is not followed.
	 */
	if (fp && regs->sp && fp < regs->sp) {
		ret->stop = UP_WALK_BAD_ADDRESS;
		ret->depth = n;
		return NULL;
	}
	for (;;) {
		uint8_t record[16];
		uint64_t next_fp, ra;

		if (!fp) {
			/*
			 * A record whose saved frame pointer is null ends the chain: the root's
			 * caller cleared it.  A null frame pointer in the registers is only the
			 * end in code known to be outermost.
			 */
			ret->stop = from_record || at_root(env, pcs, n) ? UP_WALK_END : UP_WALK_NULL_FP;
			break;
		}
		if (n == max) {
			ret->stop = UP_WALK_DEPTH;
			break;
		}
		if (!rules->valid_fp(regs, fp)) {
			ret->stop = UP_WALK_BAD_ADDRESS;
			break;
		}
		err = env->read(env->read_ctx, fp, record, sizeof(record));
		if (err) {
			ret->stop = UP_WALK_FAULT;
			up_error_catch(&err, UP_ERR_FAULT);
			break;
		}
		next_fp = up_le64(record);
		ra = up_le64(record + 8);
		if (!ra) {
			/*
			 * A zero return address at the end of a chain of records is a final
			 * record; straight from the registers it is memory that holds no record
			 * (code without frame pointers uses the register for data).
			 */
			ret->stop = from_record ? UP_WALK_END : UP_WALK_ZERO_RECORD;
			break;
		}
		if (!rules->clean_ra(regs, &ra)) {
			ret->stop = UP_WALK_BAD_ADDRESS;
			break;
		}
		pcs[n++] = ra;
		if (next_fp && next_fp <= fp) {
			ret->stop = UP_WALK_NOT_GROWING;
			break;
		}
		fp = next_fp;
		from_record = 1;
	}
	ret->depth = n;
	return err;
}
