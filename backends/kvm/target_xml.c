#include <expat.h>
#include <stdlib.h>
#include <string.h>

#include "target_xml.h"

#define MAX_DEPTH 4
#define MAX_DOCUMENTS 64
#define MAX_REGS 8192
#define MAX_REGNUM 65535
#define MAX_NAME 128

struct parse {
	XML_Parser parser;
	struct tdesc *desc;
	tdesc_fetch_fn *fetch;
	void *ctx;
	int depth;
	int in_architecture;
	size_t arch_len;
	struct up_error *err;
};

static struct up_error *parse_document(struct tdesc *desc, tdesc_fetch_fn *fetch, void *ctx,
				       const char *annex, int depth);

static void fail(struct parse *p, struct up_error *err)
{
	if (!p->err)
		p->err = err;
	else
		up_error_destroy(err);
	XML_StopParser(p->parser, XML_FALSE);
}

static const char *attr(const XML_Char **attrs, const char *name)
{
	for (size_t i = 0; attrs[i]; i += 2) {
		if (!strcmp(attrs[i], name))
			return attrs[i + 1];
	}
	return NULL;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *ret)
{
	unsigned long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
		if (v > max)
			return -1;
	}
	*ret = v;
	return 0;
}

static void add_reg(struct parse *p, const XML_Char **attrs)
{
	const char *name = attr(attrs, "name"), *num = attr(attrs, "regnum");
	const char *bits = attr(attrs, "bitsize");
	struct tdesc *d = p->desc;
	struct tdesc_reg *r;
	unsigned int regnum = d->next_regnum, bitsize = 0;

	if (!name || strlen(name) > MAX_NAME || (num && parse_uint(num, MAX_REGNUM, &regnum)) ||
	    (bits && parse_uint(bits, 4096, &bitsize))) {
		fail(p, up_error_create(UP_ERR_PROTOCOL, "gdbstub target description has a bad <reg>"));
		return;
	}
	if (d->nr == MAX_REGS) {
		fail(p, up_error_create(UP_ERR_PROTOCOL, "gdbstub describes too many registers"));
		return;
	}
	r = realloc(d->regs, (d->nr + 1) * sizeof(*r));
	if (!r) {
		fail(p, &up_error_nomem);
		return;
	}
	d->regs = r;
	r = &d->regs[d->nr];
	r->name = strdup(name);
	if (!r->name) {
		fail(p, &up_error_nomem);
		return;
	}
	r->regnum = regnum;
	r->bitsize = bitsize;
	d->nr++;
	d->next_regnum = regnum + 1;
}

static void XMLCALL on_start(void *data, const XML_Char *el, const XML_Char **attrs)
{
	struct parse *p = data;

	if (!strcmp(el, "reg")) {
		add_reg(p, attrs);
	} else if (!strcmp(el, "xi:include")) {
		const char *href = attr(attrs, "href");
		struct up_error *err;

		if (!href || !*href || strlen(href) > MAX_NAME || strpbrk(href, ":/\\")) {
			fail(p, up_error_create(UP_ERR_PROTOCOL, "gdbstub target description has a bad include"));
			return;
		}
		/* Included registers are numbered where the include stands. */
		err = parse_document(p->desc, p->fetch, p->ctx, href, p->depth + 1);
		if (err)
			fail(p, err);
	} else if (!strcmp(el, "architecture")) {
		p->in_architecture = 1;
		p->arch_len = 0;
	}
}

static void XMLCALL on_end(void *data, const XML_Char *el)
{
	struct parse *p = data;

	if (!strcmp(el, "architecture"))
		p->in_architecture = 0;
}

static void XMLCALL on_text(void *data, const XML_Char *s, int len)
{
	struct parse *p = data;
	char *arch = p->desc->architecture;

	if (!p->in_architecture)
		return;
	for (int i = 0; i < len && p->arch_len + 1 < sizeof(p->desc->architecture); i++)
		arch[p->arch_len++] = s[i];
	arch[p->arch_len] = '\0';
}

static struct up_error *parse_document(struct tdesc *desc, tdesc_fetch_fn *fetch, void *ctx,
				       const char *annex, int depth)
{
	struct parse p = { .desc = desc, .fetch = fetch, .ctx = ctx, .depth = depth };
	struct up_error *err;
	char *xml;
	size_t len;

	if (depth > MAX_DEPTH || desc->documents >= MAX_DOCUMENTS)
		return up_error_create(UP_ERR_PROTOCOL, "gdbstub target description nests too deep");
	desc->documents++;
	err = fetch(ctx, annex, &xml, &len);
	if (err)
		return up_error_prefix(err, "reading %s from the gdbstub", annex);
	p.parser = XML_ParserCreate(NULL);
	if (!p.parser) {
		free(xml);
		return &up_error_nomem;
	}
	XML_SetUserData(p.parser, &p);
	XML_SetElementHandler(p.parser, on_start, on_end);
	XML_SetCharacterDataHandler(p.parser, on_text);
	if (XML_Parse(p.parser, xml, (int)len, XML_TRUE) == XML_STATUS_ERROR && !p.err)
		p.err = up_error_create(UP_ERR_PROTOCOL, "gdbstub sent bad XML in %s: %s", annex,
					XML_ErrorString(XML_GetErrorCode(p.parser)));
	XML_ParserFree(p.parser);
	free(xml);
	return p.err;
}

struct up_error *tdesc_load(tdesc_fetch_fn *fetch, void *ctx, struct tdesc *ret)
{
	struct up_error *err;

	memset(ret, 0, sizeof(*ret));
	err = parse_document(ret, fetch, ctx, "target.xml", 0);
	if (err)
		tdesc_deinit(ret);
	return err;
}

void tdesc_deinit(struct tdesc *desc)
{
	for (size_t i = 0; i < desc->nr; i++)
		free(desc->regs[i].name);
	free(desc->regs);
	memset(desc, 0, sizeof(*desc));
}

const struct tdesc_reg *tdesc_find(const struct tdesc *desc, const char *name)
{
	while (*name) {
		size_t n = strcspn(name, "|");

		for (size_t i = 0; i < desc->nr; i++) {
			if (strlen(desc->regs[i].name) == n && !memcmp(desc->regs[i].name, name, n))
				return &desc->regs[i];
		}
		name += n;
		if (*name == '|')
			name++;
	}
	return NULL;
}
