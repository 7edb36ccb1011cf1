/*
 * libFuzzer: the gdbstub target description parser.  The input holds up to four documents
 * separated by NUL bytes: target.xml first, then "a.xml", "b.xml", "c.xml" for includes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/kvm/target_xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct input {
	const char *docs[4];
	size_t lens[4];
};

static struct up_error *fetch(void *ctx, const char *annex, char **ret, size_t *ret_len)
{
	static const char *const names[] = { "target.xml", "a.xml", "b.xml", "c.xml" };
	struct input *in = ctx;

	for (int i = 0; i < 4; i++) {
		if (in->docs[i] && !strcmp(annex, names[i])) {
			*ret = malloc(in->lens[i] ? in->lens[i] : 1);
			if (!*ret)
				return &up_error_nomem;
			memcpy(*ret, in->docs[i], in->lens[i]);
			*ret_len = in->lens[i];
			return NULL;
		}
	}
	return up_error_create(UP_ERR_PROTOCOL, "no such document");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { { 0 } };
	const char *p = (const char *)data, *end = p + size;
	struct tdesc d;

	for (int i = 0; i < 4 && p <= end; i++) {
		const char *nul = memchr(p, '\0', end - p);

		in.docs[i] = p;
		in.lens[i] = (nul ? nul : end) - p;
		if (!nul)
			break;
		p = nul + 1;
	}
	up_error_destroy(tdesc_load(fetch, &in, &d));
	tdesc_find(&d, "TTBR0_EL1|TTBR1_EL1");
	tdesc_deinit(&d);
	return 0;
}
