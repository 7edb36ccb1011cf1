/*
 * The call tree of a symbolized profile, as flame graphs draw it: every stack merged root
 * first, frames with the same name under the same parent made one, children in name order
 * (strcmp, as flamegraph.pl sorts), each frame placed by the samples to its left.  The same
 * profile gives the same tree whatever the order of its stacks.
 *
 * Names are printable UTF-8: a control character becomes '?', a byte that starts no valid
 * character U+FFFD, and a name longer than UP_TREE_MAX_NAME bytes is cut on a character
 * boundary and ends in "...".  Nothing else is escaped: that is the writer's business.
 */
#ifndef UP_FLAMEGRAPH_TREE_H
#define UP_FLAMEGRAPH_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "../symbolize/symprofile.h"
#include "../util/error.h"
#include "../writers/writer.h"

#define UP_TREE_MAX_NAME 1024

enum up_tree_kind {
	/* A frame that merges frames of two kinds takes the lower. */
	UP_TREE_ROOT,           /* the root, "all" */
	UP_TREE_VCPU,           /* "vcpuN", with per_vcpu */
	UP_TREE_CODE,           /* a function named by a symbol file */
	UP_TREE_INLINE,         /* a function inlined into the frame below it */
	UP_TREE_UNKNOWN,        /* an address no symbol names, in hex */
};

struct up_tree_node {
	uint64_t count;         /* samples of the stacks through this frame */
	uint64_t x;             /* samples left of it: its parent's x + its elder siblings' counts */
	uint32_t name;          /* see up_tree_name */
	uint32_t parent;        /* the root's is 0 */
	uint32_t depth;         /* the root's is 0 */
	uint8_t kind;           /* enum up_tree_kind */
};

/* Distinct names by id: private to tree.c. */
struct up_tree_names {
	char *text;
	size_t len, cap;
	size_t *offsets;
	uint32_t *rank;
	size_t nr, cap_ids;
	uint32_t *slots;
	size_t mask;
};

struct up_tree {
	struct up_tree_node *nodes;  /* nodes[0] is the root; a parent's index is below its children's */
	size_t nr_nodes;
	uint32_t *children;     /* the children of n: children[first_child[n] .. first_child[n + 1]) */
	uint32_t *first_child;  /* nr_nodes + 1 entries */
	uint64_t total;         /* the root's count: every sample */
	/* private */
	size_t cap_nodes;
	uint32_t *slots;
	size_t mask;
	struct up_tree_names names;
};

/*
 * Build the tree of p into *ret: a "vcpuN" frame above the root of each stack with
 * opts->per_vcpu, " (file:line)" after the leaf's name with opts->lines where known (as the
 * folded writer names it).  Fails on allocation only (more than 2^32 - 2 frames count as
 * such); *ret is untouched then.
 */
struct up_error *up_tree_build(const struct up_symprofile *p, const struct up_writer_options *opts,
			       struct up_tree *ret);

void up_tree_deinit(struct up_tree *t);

/* Copy any text into buf (UP_TREE_MAX_NAME + 4 bytes) as names are cleaned; the length. */
size_t up_tree_clean_name(const char *text, char *buf);

/* The name of node n; valid until the tree is deinitialized. */
const char *up_tree_name(const struct up_tree *t, uint32_t n);

#endif
