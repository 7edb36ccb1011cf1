#include "../util/bytes.h"
#include "frame_records.h"

struct up_error *up_walk_records(const struct up_regs *regs, const struct up_walk_env *env,
				 uint64_t fp, const struct up_record_rules *rules, uint64_t *pcs,
				 size_t n, size_t max, struct up_walk *ret)
{
	struct up_error *err = NULL;

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
			ret->stop = UP_WALK_END;
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
			ret->stop = UP_WALK_END;
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
	}
	ret->depth = n;
	return err;
}
