#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tree.h"

/* Ids and node indices are 32 bits; this one means "failed". */
#define NONE UINT32_MAX

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

/*
 * The length of the UTF-8 sequence at s (n bytes left) if it encodes a character that XML 1.0
 * allows and that prints (no C0 or C1 control, no DEL, no U+FFFE or U+FFFF), else 0.
 */
static size_t printable_utf8(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return c >= 0x20 && c != 0x7f;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;      /* overlong */
	else if (c == 0xed)
		hi = 0x9f;      /* surrogates */
	else if (c == 0xf0)
		lo = 0x90;      /* overlong */
	else if (c == 0xf4)
		hi = 0x8f;      /* beyond U+10FFFF */
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	if (c == 0xc2 && s[1] < 0xa0)
		return 0;       /* C1 controls */
	if (c == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
		return 0;       /* U+FFFE, U+FFFF */
	return len;
}

size_t up_tree_clean_name(const char *name, char *buf)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t n = strlen(name), out = 0, keep = 0;

	for (size_t i = 0; i < n;) {
		size_t len = printable_utf8(s + i, n - i);
		size_t need = len ? len : s[i] < 0x80 ? 1 : 3;

		if (out + need > UP_TREE_MAX_NAME) {
			/* Back to the last character after which "..." fits. */
			memcpy(buf + keep, "...", 3);
			out = keep + 3;
			break;
		}
		if (len)
			memcpy(buf + out, s + i, len);
		else if (s[i] < 0x80)
			buf[out] = '?';
		else
			memcpy(buf + out, "\xef\xbf\xbd", 3);
		out += need;
		i += len ? len : 1;
		if (out + 3 <= UP_TREE_MAX_NAME)
			keep = out;
	}
	buf[out] = '\0';
	return out;
}

static const char *name_text(const struct up_tree_names *nm, uint32_t id)
{
	return nm->text + nm->offsets[id];
}

static int names_grow_slots(struct up_tree_names *nm)
{
	size_t size = nm->slots ? (nm->mask + 1) * 2 : 1024;
	uint32_t *slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t id = 0; id < nm->nr; id++) {
		const char *s = name_text(nm, (uint32_t)id);
		size_t i = hash_bytes(s, strlen(s)) & (size - 1);

		while (slots[i])
			i = (i + 1) & (size - 1);
		slots[i] = (uint32_t)id + 1;
	}
	free(nm->slots);
	nm->slots = slots;
	nm->mask = size - 1;
	return 0;
}

/* The id of name, cleaned first; NONE when out of memory. */
static uint32_t names_intern(struct up_tree_names *nm, const char *name)
{
	char buf[UP_TREE_MAX_NAME + 4];
	size_t n = up_tree_clean_name(name, buf), i;
	uint32_t id;

	if ((nm->nr + 1) * 2 > (nm->slots ? nm->mask + 1 : 0) && names_grow_slots(nm))
		return NONE;
	for (i = hash_bytes(buf, n) & nm->mask; nm->slots[i]; i = (i + 1) & nm->mask)
		if (!strcmp(name_text(nm, nm->slots[i] - 1), buf))
			return nm->slots[i] - 1;
	if (nm->nr >= NONE - 1)
		return NONE;
	if (nm->len + n + 1 > nm->cap) {
		size_t ncap = (nm->cap + n + 1) * 2;
		char *text = realloc(nm->text, ncap);

		if (!text)
			return NONE;
		nm->text = text;
		nm->cap = ncap;
	}
	if (nm->nr == nm->cap_ids) {
		size_t ncap = nm->cap_ids ? nm->cap_ids * 2 : 256;
		size_t *offsets = realloc(nm->offsets, ncap * sizeof(*offsets));

		if (!offsets)
			return NONE;
		nm->offsets = offsets;
		nm->cap_ids = ncap;
	}
	memcpy(nm->text + nm->len, buf, n + 1);
	id = (uint32_t)nm->nr++;
	nm->offsets[id] = nm->len;
	nm->len += n + 1;
	nm->slots[i] = id + 1;
	return id;
}

static int compare_ids(const void *a, const void *b, void *nm)
{
	return strcmp(name_text(nm, *(const uint32_t *)a), name_text(nm, *(const uint32_t *)b));
}

/* Give every name its rank in strcmp order. */
static int names_rank(struct up_tree_names *nm)
{
	uint32_t *ids = malloc((nm->nr ? nm->nr : 1) * sizeof(*ids));

	nm->rank = malloc((nm->nr ? nm->nr : 1) * sizeof(*nm->rank));
	if (!ids || !nm->rank) {
		free(ids);
		return -1;
	}
	for (size_t i = 0; i < nm->nr; i++)
		ids[i] = (uint32_t)i;
	qsort_r(ids, nm->nr, sizeof(*ids), compare_ids, nm);
	for (size_t i = 0; i < nm->nr; i++)
		nm->rank[ids[i]] = (uint32_t)i;
	free(ids);
	return 0;
}

static int tree_grow_slots(struct up_tree *t)
{
	size_t size = t->slots ? (t->mask + 1) * 2 : 4096;
	uint32_t *slots = calloc(size, sizeof(*slots));

	if (!slots)
		return -1;
	for (size_t n = 1; n < t->nr_nodes; n++) {
		const struct up_tree_node *nd = &t->nodes[n];
		size_t i = mix(((uint64_t)nd->parent << 32) | nd->name) & (size - 1);

		while (slots[i])
			i = (i + 1) & (size - 1);
		slots[i] = (uint32_t)n + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->mask = size - 1;
	return 0;
}

/* Add count samples to the child of parent called name, made if new; NONE on failure. */
static uint32_t tree_child(struct up_tree *t, uint32_t parent, uint32_t name,
			   enum up_tree_kind kind, uint64_t count)
{
	struct up_tree_node *nd;
	size_t i;

	if ((t->nr_nodes + 1) * 2 > (t->slots ? t->mask + 1 : 0) && tree_grow_slots(t))
		return NONE;
	for (i = mix(((uint64_t)parent << 32) | name) & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
		nd = &t->nodes[t->slots[i] - 1];
		if (nd->parent == parent && nd->name == name) {
			nd->count += count;
			if (kind < nd->kind)
				nd->kind = (uint8_t)kind;
			return t->slots[i] - 1;
		}
	}
	if (t->nr_nodes >= NONE - 1)
		return NONE;
	if (t->nr_nodes == t->cap_nodes) {
		size_t ncap = t->cap_nodes * 2;
		struct up_tree_node *nodes = realloc(t->nodes, ncap * sizeof(*nodes));

		if (!nodes)
			return NONE;
		t->nodes = nodes;
		t->cap_nodes = ncap;
	}
	nd = &t->nodes[t->nr_nodes];
	memset(nd, 0, sizeof(*nd));
	nd->count = count;
	nd->name = name;
	nd->parent = parent;
	nd->depth = t->nodes[parent].depth + 1;
	nd->kind = (uint8_t)kind;
	t->slots[i] = (uint32_t)t->nr_nodes + 1;
	return (uint32_t)t->nr_nodes++;
}

/* Per location, the ids of its frames' names, and of its last frame's name as a leaf. */
struct loc_names {
	uint32_t *ids;          /* the frames of every location, in order */
	size_t *first;          /* by location: its first frame in ids */
	uint32_t *leaf_id;      /* by location */
};

static int name_locations(const struct up_symprofile *p, const struct up_writer_options *opts,
			  struct up_tree_names *nm, struct loc_names *ln)
{
	size_t frames = 0;

	for (size_t i = 0; i < p->nr_locs; i++)
		frames += p->locs[i].nr_frames;
	ln->ids = malloc((frames ? frames : 1) * sizeof(*ln->ids));
	ln->first = malloc((p->nr_locs ? p->nr_locs : 1) * sizeof(*ln->first));
	ln->leaf_id = malloc((p->nr_locs ? p->nr_locs : 1) * sizeof(*ln->leaf_id));
	if (!ln->ids || !ln->first || !ln->leaf_id)
		return -1;
	frames = 0;
	for (size_t i = 0; i < p->nr_locs; i++) {
		const struct up_location *loc = &p->locs[i];
		const struct up_frame *last = &loc->frames[loc->nr_frames - 1];

		ln->first[i] = frames;
		for (size_t k = 0; k < loc->nr_frames; k++) {
			ln->ids[frames] = names_intern(nm, loc->frames[k].name);
			if (ln->ids[frames++] == NONE)
				return -1;
		}
		ln->leaf_id[i] = ln->ids[frames - 1];
		if (opts->lines && last->file && last->line) {
			char leaf[1024];

			snprintf(leaf, sizeof(leaf), "%s (%s:%u)", last->name, last->file, last->line);
			ln->leaf_id[i] = names_intern(nm, leaf);
			if (ln->leaf_id[i] == NONE)
				return -1;
		}
	}
	return 0;
}

static int merge_stacks(const struct up_symprofile *p, const struct up_writer_options *opts,
			struct up_tree *t)
{
	struct loc_names ln = { 0 };
	int ret = -1;

	if (name_locations(p, opts, &t->names, &ln))
		goto out;
	t->nodes[0].name = names_intern(&t->names, "all");
	if (t->nodes[0].name == NONE)
		goto out;
	for (size_t s = 0; s < p->nr_stacks; s++) {
		const struct up_sym_stack *st = &p->stacks[s];
		uint32_t at = 0;

		t->nodes[0].count += st->count;
		if (opts->per_vcpu) {
			char vcpu[32];
			uint32_t id;

			snprintf(vcpu, sizeof(vcpu), "vcpu%" PRIu32, st->vcpu);
			id = names_intern(&t->names, vcpu);
			at = id == NONE ? NONE : tree_child(t, at, id, UP_TREE_VCPU, st->count);
			if (at == NONE)
				goto out;
		}
		/* Locations are stored leaf first. */
		for (uint32_t d = st->depth; d-- > 0;) {
			uint32_t l = st->locs[d];
			const struct up_location *loc = &p->locs[l];

			for (size_t k = 0; k < loc->nr_frames; k++) {
				int leaf = d == 0 && k == loc->nr_frames - 1;
				uint32_t id = leaf ? ln.leaf_id[l] : ln.ids[ln.first[l] + k];
				enum up_tree_kind kind = !loc->frames[k].known ? UP_TREE_UNKNOWN :
							 k ? UP_TREE_INLINE : UP_TREE_CODE;

				at = tree_child(t, at, id, kind, st->count);
				if (at == NONE)
					goto out;
			}
		}
	}
	ret = 0;
out:
	free(ln.ids);
	free(ln.first);
	free(ln.leaf_id);
	return ret;
}

/*
 * Group the children of every node, each group in name order (two counting sorts: by name,
 * then stably by parent), and place every frame: its x is its parent's plus the samples of
 * its elder siblings.
 */
static int place_frames(struct up_tree *t)
{
	const struct up_tree_names *nm = &t->names;
	size_t n = t->nr_nodes;
	uint32_t *by_name = malloc(n * sizeof(*by_name));
	uint32_t *next_name = calloc(nm->nr + 1, sizeof(*next_name));
	uint32_t *next_child = malloc(n * sizeof(*next_child));
	int ret = -1;

	t->children = malloc(n * sizeof(*t->children));
	t->first_child = calloc(n + 1, sizeof(*t->first_child));
	if (!by_name || !next_name || !next_child || !t->children || !t->first_child)
		goto out;
	for (size_t i = 1; i < n; i++)
		next_name[nm->rank[t->nodes[i].name] + 1]++;
	for (size_t r = 0; r < nm->nr; r++)
		next_name[r + 1] += next_name[r];
	for (size_t i = 1; i < n; i++)
		by_name[next_name[nm->rank[t->nodes[i].name]]++] = (uint32_t)i;
	for (size_t i = 1; i < n; i++)
		t->first_child[t->nodes[i].parent + 1]++;
	for (size_t i = 0; i < n; i++)
		t->first_child[i + 1] += t->first_child[i];
	memcpy(next_child, t->first_child, n * sizeof(*next_child));
	for (size_t i = 0; i + 1 < n; i++)
		t->children[next_child[t->nodes[by_name[i]].parent]++] = by_name[i];
	/* A parent's index is below its children's: it is placed before them. */
	for (size_t p = 0; p < n; p++) {
		uint64_t x = t->nodes[p].x;

		for (uint32_t i = t->first_child[p]; i < t->first_child[p + 1]; i++) {
			t->nodes[t->children[i]].x = x;
			x += t->nodes[t->children[i]].count;
		}
	}
	ret = 0;
out:
	free(by_name);
	free(next_name);
	free(next_child);
	return ret;
}

struct up_error *up_tree_build(const struct up_symprofile *p, const struct up_writer_options *opts,
			       struct up_tree *ret)
{
	struct up_tree t = { 0 };

	t.cap_nodes = 1024;
	t.nodes = calloc(t.cap_nodes, sizeof(*t.nodes));
	if (!t.nodes)
		return &up_error_nomem;
	t.nr_nodes = 1;
	t.nodes[0].kind = UP_TREE_ROOT;
	if (merge_stacks(p, opts, &t) || names_rank(&t.names) || place_frames(&t)) {
		up_tree_deinit(&t);
		return &up_error_nomem;
	}
	t.total = t.nodes[0].count;
	free(t.slots);
	t.slots = NULL;
	free(t.names.slots);
	t.names.slots = NULL;
	*ret = t;
	return NULL;
}

void up_tree_deinit(struct up_tree *t)
{
	free(t->nodes);
	free(t->children);
	free(t->first_child);
	free(t->slots);
	free(t->names.text);
	free(t->names.offsets);
	free(t->names.rank);
	free(t->names.slots);
	memset(t, 0, sizeof(*t));
}

const char *up_tree_name(const struct up_tree *t, uint32_t n)
{
	return name_text(&t->names, t->nodes[n].name);
}
