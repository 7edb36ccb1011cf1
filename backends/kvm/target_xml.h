/*
 * The gdbstub's target description: XML documents (target.xml and the ones it includes with
 * <xi:include href=...>) listing every register by name, with its number for 'p' requests.
 *
 * GDB's numbering rule: a <reg> without a regnum attribute takes the previous register's
 * number plus one, counting across included documents in document order, starting at 0.
 * The documents come from QEMU and are treated as hostile: sizes, counts and include depth
 * are bounded.
 */
#ifndef UP_KVM_TARGET_XML_H
#define UP_KVM_TARGET_XML_H

#include <stddef.h>

#include "../../util/error.h"

struct tdesc_reg {
	char *name;
	unsigned int regnum;
	unsigned int bitsize;
};

struct tdesc {
	struct tdesc_reg *regs;
	size_t nr;
	unsigned int next_regnum;
	unsigned int documents;   /* documents parsed so far */
	char architecture[64];    /* from <architecture>, may be empty */
};

/* Fetch the document called annex; *ret is malloc'd (not NUL-terminated), *ret_len its size. */
typedef struct up_error *tdesc_fetch_fn(void *ctx, const char *annex, char **ret,
					size_t *ret_len);

/* Load "target.xml" and everything it includes into *ret (which this initializes). */
struct up_error *tdesc_load(tdesc_fetch_fn *fetch, void *ctx, struct tdesc *ret);

void tdesc_deinit(struct tdesc *desc);

/* The register called name, or NULL.  name may list aliases separated by '|'. */
const struct tdesc_reg *tdesc_find(const struct tdesc *desc, const char *name);

#endif
