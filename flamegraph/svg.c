/*
 * The SVG flame graph writer: one self-contained file (no external fonts, styles or scripts)
 * that a browser opens as it is.
 *
 * It draws the call tree of tree.h (stacks merged root first, children in name order), so the
 * same profile always gives the same bytes.  A frame is as wide as its samples; frames
 * narrower than a tenth of a pixel are left out (their samples still count in every frame
 * below them), which keeps a profile of 100,000 distinct stacks to the frames a reader can
 * see.  Each frame is a <g> of <title> (the tooltip: name, samples, percent), <rect> and, when
 * a few characters fit, a label.  Colours say what a frame is: guest code warm, by a hash of
 * its name; inlined functions aqua; unknown addresses grey; vCPU roots blue.
 *
 * The embedded script reads the frames from those elements only: it zooms into a clicked
 * frame (callers kept full width and dimmed, the rest hidden), searches frames by regular
 * expression with a highlight and the share of samples matched, and cuts labels to fit.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../writers/writer.h"
#include "tree.h"

#define IMAGE_WIDTH 1200
#define XPAD 10
#define FULL_WIDTH (IMAGE_WIDTH - 2 * XPAD)
#define FRAME_HEIGHT 16
#define FONT_SIZE 12
/* An average glyph's width: labels are cut by this estimate, here and in the script. */
#define GLYPH_WIDTH (FONT_SIZE * 0.59)
#define YPAD_TOP 56
#define YPAD_BOTTOM 30
/* A frame narrower than 1 / MIN_WIDTH_DIVISOR of the total is left out (0.1 px). */
#define MIN_WIDTH_DIVISOR (IMAGE_WIDTH * 10)
/* Search matches, in none of the kinds' colours. */
#define HIGHLIGHT "#e600e6"

static uint64_t hash_name(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

/* Frames narrower than a tenth of a pixel are left out. */
static int visible(const struct up_tree *t, uint32_t n)
{
	return t->total && (double)t->nodes[n].count * MIN_WIDTH_DIVISOR >= (double)t->total;
}

/* Text made safe for XML character data and attribute values. */
static void put_xml(FILE *out, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "&<>\"'");

		fwrite(s, 1, n, out);
		s += n;
		switch (*s) {
		case '&': fputs("&amp;", out); break;
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '"': fputs("&quot;", out); break;
		case '\'': fputs("&apos;", out); break;
		default: continue;
		}
		s++;
	}
}

/*
 * The label of a frame w hundredths of a pixel wide into buf (UP_TREE_MAX_NAME + 4 bytes):
 * the name, or as many characters as fit followed by "..", or nothing.  Returns the length.
 * The script cuts labels by the same rule when it zooms.
 */
static size_t make_label(const char *name, uint64_t w, char *buf)
{
	double room = ((double)w / 100 - 6) / GLYPH_WIDTH;
	size_t chars = 0, fit, keep, i;

	if (room < 3)
		return 0;
	fit = (size_t)room;
	for (i = 0; name[i]; i++)
		chars += ((unsigned char)name[i] & 0xc0) != 0x80;
	if (chars <= fit) {
		memcpy(buf, name, i + 1);
		return i;
	}
	keep = fit - 2;
	for (i = 0; name[i]; i++)
		if (((unsigned char)name[i] & 0xc0) != 0x80 && keep-- == 0)
			break;
	memcpy(buf, name, i);
	memcpy(buf + i, "..", 3);
	return i + 2;
}

/* A colour by kind; code and inlined frames vary by a hash of their name, the same each time. */
static void put_colour(FILE *out, enum up_tree_kind kind, const char *name)
{
	uint64_t h = hash_name(name);
	double v1 = (double)(h & 0xffff) / 65536, v2 = (double)((h >> 16) & 0xffff) / 65536;
	double v3 = (double)((h >> 32) & 0xffff) / 65536;
	unsigned int r, g, b;

	switch (kind) {
	case UP_TREE_ROOT:
		r = 224, g = 200, b = 160;
		break;
	case UP_TREE_VCPU:  /* blue */
		r = 100 + (unsigned int)(30 * v1), g = 130 + (unsigned int)(30 * v1), b = 225;
		break;
	case UP_TREE_INLINE:  /* aqua */
		r = 50 + (unsigned int)(60 * v1), g = 165 + (unsigned int)(55 * v2);
		b = 165 + (unsigned int)(55 * v2);
		break;
	case UP_TREE_UNKNOWN:  /* grey */
		r = g = b = 170 + (unsigned int)(40 * v1);
		break;
	default:  /* warm: red to yellow */
		r = 205 + (unsigned int)(50 * v3), g = (unsigned int)(230 * v1);
		b = (unsigned int)(55 * v2);
		break;
	}
	fprintf(out, "#%02x%02x%02x", r, g, b);
}

static void put_hundredths(FILE *out, uint64_t v)
{
	fprintf(out, "%" PRIu64 ".%02u", v / 100, (unsigned int)(v % 100));
}

/* A pixel edge, in hundredths, of the sample offset s. */
static uint64_t edge(uint64_t s, uint64_t total)
{
	return XPAD * 100 + (uint64_t)((double)s * FULL_WIDTH * 100 / (double)total + 0.5);
}

static void put_frame(FILE *out, const struct up_tree *t, uint32_t n, unsigned int y)
{
	const struct up_tree_node *nd = &t->nodes[n];
	uint64_t total = t->total;
	uint64_t x1 = edge(nd->x, total), x2 = edge(nd->x + nd->count, total);
	const char *name = up_tree_name(t, n);
	char label[UP_TREE_MAX_NAME + 4];

	fputs(n ? "<g><title>" : "<g class=\"root\"><title>", out);
	put_xml(out, name);
	fprintf(out, " (%" PRIu64 " sample%s, %.2f%%)</title><rect x=\"", nd->count,
		nd->count == 1 ? "" : "s", 100.0 * (double)nd->count / (double)total);
	put_hundredths(out, x1);
	fprintf(out, "\" y=\"%u\" width=\"", y);
	put_hundredths(out, x2 - x1);
	fprintf(out, "\" height=\"%d\" fill=\"", FRAME_HEIGHT - 1);
	put_colour(out, (enum up_tree_kind)nd->kind, name);
	fputs("\"/>", out);
	if (make_label(name, x2 - x1, label)) {
		fputs("<text x=\"", out);
		put_hundredths(out, x1 + 300);
		fprintf(out, "\" y=\"%u\">", y + FRAME_HEIGHT - 5);
		put_xml(out, label);
		fputs("</text>", out);
	}
	fputs("</g>\n", out);
}

static const char style[] =
	"text { font-family: Verdana, 'DejaVu Sans', sans-serif; font-size: 12px; fill: #000; }\n"
	"#title { font-size: 17px; text-anchor: middle; }\n"
	"#subtitle { text-anchor: middle; fill: #555; }\n"
	"#search, #matched { text-anchor: end; }\n"
	"#unzoom, #search { cursor: pointer; fill: #06c; }\n"
	"#frames text { pointer-events: none; }\n"
	"#frames g { cursor: pointer; }\n"
	"#frames g:hover rect { stroke: #000; stroke-width: 0.5; }\n"
	".parent { opacity: 0.5; }\n"
	".hide { display: none; }\n";

/*
 * Frames keep their first place in fx, fw (pixels) and fy; their name and samples come from
 * the <title>.  Frames nearer the root than y are below it in a flame graph, above it in an
 * icicle.
 */
static const char script[] =
	"\"use strict\";\n"
	"var frames, details, matched, unzoomBtn, searchBtn, total = 0, zoomed = null, searching = null;\n"
	"function init() {\n"
	"  frames = document.getElementById('frames');\n"
	"  details = document.getElementById('details');\n"
	"  matched = document.getElementById('matched');\n"
	"  unzoomBtn = document.getElementById('unzoom');\n"
	"  searchBtn = document.getElementById('search');\n"
	"  for (var g = frames.firstElementChild; g; g = g.nextElementSibling) {\n"
	"    var r = g.querySelector('rect'), t = g.querySelector('title').textContent;\n"
	"    var m = /^([\\s\\S]*) \\((\\d+) samples?, [\\d.]+%\\)$/.exec(t);\n"
	"    g.fx = +r.getAttribute('x'); g.fw = +r.getAttribute('width'); g.fy = +r.getAttribute('y');\n"
	"    g.fname = m ? m[1] : t; g.fn = m ? +m[2] : 0; g.ffill = r.getAttribute('fill');\n"
	"    if (g.classList.contains('root')) total = g.fn;\n"
	"  }\n"
	"  frames.addEventListener('click', function (e) { var g = frameOf(e.target); if (g) zoom(g); });\n"
	"  frames.addEventListener('mouseover', function (e) {\n"
	"    var g = frameOf(e.target); if (g) details.textContent = g.querySelector('title').textContent;\n"
	"  });\n"
	"  frames.addEventListener('mouseout', function () { details.textContent = ' '; });\n"
	"  unzoomBtn.addEventListener('click', unzoom);\n"
	"  searchBtn.addEventListener('click', function () {\n"
	"    if (searching !== null) resetSearch(); else searchPrompt();\n"
	"  });\n"
	"  window.addEventListener('keydown', function (e) {\n"
	"    if (e.key === 'F3' || ((e.ctrlKey || e.metaKey) && e.key === 'f')) { e.preventDefault(); searchPrompt(); }\n"
	"    else if (e.key === 'Escape') { unzoom(); resetSearch(); }\n"
	"  });\n"
	"}\n"
	"function frameOf(el) {\n"
	"  while (el && el.parentNode !== frames) el = el.parentNode;\n"
	"  return el;\n"
	"}\n"
	"function place(g, x, w) {\n"
	"  var r = g.querySelector('rect'), t = g.querySelector('text');\n"
	"  var name = Array.from(g.fname), fit = Math.floor((w - 6) / GLYPH), s = '';\n"
	"  r.setAttribute('x', x.toFixed(2)); r.setAttribute('width', w.toFixed(2));\n"
	"  if (fit >= 3) s = name.length <= fit ? g.fname : name.slice(0, fit - 2).join('') + '..';\n"
	"  if (!t) {\n"
	"    if (!s) return;\n"
	"    t = document.createElementNS('http://www.w3.org/2000/svg', 'text');\n"
	"    t.setAttribute('y', g.fy + FRAME_HEIGHT - 5);\n"
	"    g.appendChild(t);\n"
	"  }\n"
	"  t.setAttribute('x', (x + 3).toFixed(2)); t.textContent = s;\n"
	"}\n"
	"function zoom(g) {\n"
	"  var x0 = g.fx, x1 = g.fx + g.fw, ratio = FULL_WIDTH / g.fw, eps = 0.001;\n"
	"  zoomed = g; unzoomBtn.classList.remove('hide');\n"
	"  for (var f = frames.firstElementChild; f; f = f.nextElementSibling) {\n"
	"    var inside = f.fx >= x0 - eps && f.fx + f.fw <= x1 + eps;\n"
	"    var covers = f.fx <= x0 + eps && f.fx + f.fw >= x1 - eps;\n"
	"    var outer = ICICLE ? f.fy < g.fy : f.fy > g.fy;\n"
	"    if (f === g || (inside && !outer)) {\n"
	"      place(f, XPAD + (f.fx - x0) * ratio, f.fw * ratio);\n"
	"      f.classList.remove('parent'); f.style.display = '';\n"
	"    } else if (covers && outer) {\n"
	"      place(f, XPAD, FULL_WIDTH);\n"
	"      f.classList.add('parent'); f.style.display = '';\n"
	"    } else {\n"
	"      f.style.display = 'none';\n"
	"    }\n"
	"  }\n"
	"}\n"
	"function unzoom() {\n"
	"  if (!zoomed) return;\n"
	"  zoomed = null; unzoomBtn.classList.add('hide');\n"
	"  for (var f = frames.firstElementChild; f; f = f.nextElementSibling) {\n"
	"    place(f, f.fx, f.fw); f.classList.remove('parent'); f.style.display = '';\n"
	"  }\n"
	"}\n"
	"function searchPrompt() {\n"
	"  var term = prompt('Search frames for a regular expression:', searching || '');\n"
	"  if (term) search(term);\n"
	"}\n"
	"function resetSearch() {\n"
	"  searching = null; searchBtn.textContent = 'Search'; matched.textContent = ' ';\n"
	"  for (var f = frames.firstElementChild; f; f = f.nextElementSibling) {\n"
	"    f.querySelector('rect').setAttribute('fill', f.ffill); f.classList.remove('match');\n"
	"  }\n"
	"}\n"
	"function search(term) {\n"
	"  var re, hits = [], n = 0, end = -1;\n"
	"  try { re = new RegExp(term); } catch (e) { matched.textContent = 'Bad expression: ' + e.message; return; }\n"
	"  resetSearch();\n"
	"  for (var f = frames.firstElementChild; f; f = f.nextElementSibling) {\n"
	"    if (f.classList.contains('root') || !re.test(f.fname)) continue;\n"
	"    f.querySelector('rect').setAttribute('fill', HIGHLIGHT); f.classList.add('match'); hits.push(f);\n"
	"  }\n"
	"  searching = term; searchBtn.textContent = 'Reset search';\n"
	"  /* Samples of a match inside another match count once. */\n"
	"  hits.sort(function (a, b) { return a.fx - b.fx || b.fw - a.fw; });\n"
	"  hits.forEach(function (f) { if (f.fx >= end - 0.001) { n += f.fn; end = f.fx + f.fw; } });\n"
	"  matched.textContent = 'Matched: ' + (total ? 100 * n / total : 0).toFixed(1) + '% (' + n + ' samples)';\n"
	"}\n";

__attribute__((format(printf, 4, 5)))
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= size - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (n > 0)
		*len = *len + (size_t)n < size ? *len + (size_t)n : size - 1;
}

/* The title (given, or the target's) and a line of what was sampled, from the metadata. */
static void put_title(FILE *out, const struct up_symprofile *p,
		      const struct up_writer_options *opts)
{
	const struct up_profile_meta *m = p->meta;
	char buf[1024], clean[UP_TREE_MAX_NAME + 4];
	size_t len = 0;

	if (opts->title)
		append(buf, sizeof(buf), &len, "%s", opts->title);
	else if (m && m->target[0])
		append(buf, sizeof(buf), &len, "Flame graph of %s", m->target);
	else
		append(buf, sizeof(buf), &len, "Flame graph");
	up_tree_clean_name(buf, clean);
	fprintf(out, "<text id=\"title\" x=\"%d\" y=\"24\">", IMAGE_WIDTH / 2);
	put_xml(out, clean);
	fputs("</text>\n", out);

	len = 0;
	buf[0] = '\0';
	if (m && m->arch[0])
		append(buf, sizeof(buf), &len, "%s, ", m->arch);
	if (m && m->nr_vcpus)
		append(buf, sizeof(buf), &len, "%" PRIu32 " vCPU%s, ", m->nr_vcpus,
		       m->nr_vcpus == 1 ? "" : "s");
	if (m && m->samples)
		append(buf, sizeof(buf), &len, "%" PRIu64 " samples, ", m->samples);
	append(buf, sizeof(buf), &len, "%" PRIu64 " stacks", p->total);
	if (m && m->duration_ns)
		append(buf, sizeof(buf), &len, " in %.2f s", (double)m->duration_ns / 1e9);
	if (m && m->frequency > 0)
		append(buf, sizeof(buf), &len, " at %g Hz", m->frequency);
	if (m && m->truncated)
		append(buf, sizeof(buf), &len, ", %" PRIu64 " truncated", m->truncated);
	if (m && m->start_ns) {
		time_t when = (time_t)(m->start_ns / 1000000000u);
		struct tm tm;
		char date[64];

		if (gmtime_r(&when, &tm) && strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", &tm))
			append(buf, sizeof(buf), &len, ", started %s", date);
	}
	up_tree_clean_name(buf, clean);
	fprintf(out, "<text id=\"subtitle\" x=\"%d\" y=\"42\">", IMAGE_WIDTH / 2);
	put_xml(out, clean);
	fputs("</text>\n", out);
}

/* Every visible frame, depth first in name order: the same bytes for the same profile. */
static int put_frames(FILE *out, const struct up_tree *t, int reverse, unsigned int height)
{
	uint32_t *todo = malloc(t->nr_nodes * sizeof(*todo));
	size_t nr_todo = 0;

	if (!todo)
		return -1;
	todo[nr_todo++] = 0;
	while (nr_todo) {
		uint32_t n = todo[--nr_todo];
		unsigned int depth = t->nodes[n].depth;

		put_frame(out, t, n, reverse ? YPAD_TOP + depth * FRAME_HEIGHT :
				     height - YPAD_BOTTOM - (depth + 1) * FRAME_HEIGHT);
		for (uint32_t i = t->first_child[n + 1]; i-- > t->first_child[n];)
			if (visible(t, t->children[i]))
				todo[nr_todo++] = t->children[i];
	}
	free(todo);
	return 0;
}

static struct up_error *write_svg(FILE *out, const struct up_symprofile *p,
				  const struct up_writer_options *opts)
{
	struct up_tree t;
	struct up_error *err = up_tree_build(p, opts, &t);
	unsigned int height, max_depth = 0;

	if (err)
		return err;
	for (size_t n = 0; n < t.nr_nodes; n++)
		if (visible(&t, (uint32_t)n) && t.nodes[n].depth > max_depth)
			max_depth = t.nodes[n].depth;
	/* Depth is at most the frames of one stack, far below what overflows the height. */
	height = YPAD_TOP + (max_depth + 1) * FRAME_HEIGHT + YPAD_BOTTOM;
	fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg version=\"1.1\" width=\"%d\" height=\"%u\" viewBox=\"0 0 %d %u\" "
		"xmlns=\"http://www.w3.org/2000/svg\" onload=\"init()\">\n"
		"<style>\n%s</style>\n"
		"<script type=\"text/ecmascript\"><![CDATA[\n"
		"var XPAD = %d, FULL_WIDTH = %d, FRAME_HEIGHT = %d, GLYPH = %g, ICICLE = %s, "
		"HIGHLIGHT = '%s';\n%s]]></script>\n"
		"<rect x=\"0\" y=\"0\" width=\"100%%\" height=\"100%%\" fill=\"#f8f4ee\"/>\n",
		IMAGE_WIDTH, height, IMAGE_WIDTH, height, style, XPAD, FULL_WIDTH, FRAME_HEIGHT,
		GLYPH_WIDTH, opts->reverse ? "true" : "false", HIGHLIGHT, script);
	put_title(out, p, opts);
	fprintf(out, "<text id=\"unzoom\" class=\"hide\" x=\"%d\" y=\"24\">Reset zoom</text>\n"
		"<text id=\"search\" x=\"%d\" y=\"24\">Search</text>\n"
		"<text id=\"details\" x=\"%d\" y=\"%u\"> </text>\n"
		"<text id=\"matched\" x=\"%d\" y=\"%u\"> </text>\n",
		XPAD, IMAGE_WIDTH - XPAD, XPAD, height - 10, IMAGE_WIDTH - XPAD, height - 10);
	if (!t.total)
		fprintf(out, "<text x=\"%d\" y=\"%u\">No samples</text>\n", XPAD,
			YPAD_TOP + FRAME_HEIGHT - 5);
	fputs("<g id=\"frames\">\n", out);
	if (t.total && put_frames(out, &t, opts->reverse, height)) {
		err = &up_error_nomem;
		goto out;
	}
	fputs("</g>\n</svg>\n", out);
	if (fflush(out) || ferror(out))
		err = up_error_errno(errno ? errno : EIO, "writing the profile");
out:
	up_tree_deinit(&t);
	return err;
}

const struct up_writer up_writer_svg = {
	.name = "svg",
	.extension = ".svg",
	.write = write_svg,
};
