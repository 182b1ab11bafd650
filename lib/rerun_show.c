/*
 * rerun_show.c: wf rerun's comparison for a person (wf-model(1) "Rerun"):
 * the old and a new answer side by side, wrapped to the terminal's width,
 * or as a unified diff of their lines (a small LCS diff of our own, no
 * diff(1)); then the usages, costs, verdicts and the paths each would
 * take.  A model's text never drives the terminal: every control
 * character is made visible (\t, \e, \xNN, \u0080...) as everywhere.
 *
 * Layer 2: domain data.
 */
#include <stdlib.h>
#include <string.h>

#include "rerun.h"

#define DIFF_CONTEXT 3
#define DIFF_MAX_CELLS 4000000L

/* Lines of text, malloc'd. */
struct lines {
	char **v;
	size_t n, cap;
};

static void
lines_add(struct lines *l, const char *s, size_t n)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = wf_xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n] = wf_xmalloc(n + 1);
	memcpy(l->v[l->n], s, n);
	l->v[l->n++][n] = '\0';
}

static void
lines_free(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	*l = (struct lines){0};
}

/* TEXT's lines, each with every control character made visible by the one escaper (wf_buf_add_visible). */
static struct lines
visible_lines(const char *text)
{
	struct lines l = {0};
	struct wf_buf b = {0};

	for (const char *p = text;;) {
		const char *nl = strchr(p, '\n');
		char *line = wf_xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));

		wf_buf_reset(&b);
		wf_buf_add_visible(&b, line);
		free(line);
		/* A text ending in a newline has no empty last line. */
		if (nl || *p || l.n == 0)
			lines_add(&l, b.s ? b.s : "", b.len);
		if (!nl)
			break;
		p = nl + 1;
	}
	wf_buf_free(&b);
	return l;
}

/* Display cells of the N bytes at S (a UTF-8 continuation byte takes none). */
static int
cells(const char *s, size_t n)
{
	int w = 0;

	for (size_t i = 0; i < n; i++)
		w += ((unsigned char)s[i] & 0xc0) != 0x80;
	return w;
}

/* IN's lines wrapped at WIDTH cells, at a space when one is near the end, never inside a character. */
static struct lines
wrapped(struct lines *in, int width)
{
	struct lines out = {0};

	for (size_t i = 0; i < in->n; i++) {
		const char *s = in->v[i];
		size_t len = strlen(s);

		if (len == 0)
			lines_add(&out, "", 0);
		while (len > 0) {
			size_t cut = 0, space = 0;
			int w = 0;

			while (cut < len && (w < width || ((unsigned char)s[cut] & 0xc0) == 0x80)) {
				w += ((unsigned char)s[cut] & 0xc0) != 0x80;
				cut++;
				if (s[cut - 1] == ' ' && w > width / 2)
					space = cut;
			}
			if (cut < len && space)
				cut = space;
			lines_add(&out, s, cut);
			s += cut;
			len -= cut;
		}
	}
	return out;
}

/* "NAME (provider:model)" of an answer's MODEL (borrowed), malloc'd. */
static char *
model_label(jv m)
{
	const char *name = wf_jv_str(m, "name"), *p = wf_jv_str(m, "provider"), *id = wf_jv_str(m, "model");

	if (p && id)
		return wf_xasprintf("%s (%s:%s)", name ? name : "?", p, id);
	return wf_xstrdup(name ? name : "?");
}

/* Print CELL padded to WIDTH cells. */
static void
put_cell(FILE *fp, const char *cell, int width)
{
	int w = cells(cell, strlen(cell));

	fputs(cell, fp);
	for (; w < width; w++)
		fputc(' ', fp);
}

/* The old and new texts (borrowed answers) side by side in WIDTH columns. */
static void
side_by_side(FILE *fp, jv old, jv new, int width)
{
	int col = (width - 3) / 2;
	struct lines a = visible_lines(wf_jv_str(old, "text")), b = visible_lines(wf_jv_str(new, "text"));
	struct lines wa = wrapped(&a, col), wb = wrapped(&b, col);
	jv om = wf_jv_get(old, "model"), nm = wf_jv_get(new, "model");
	char *ol = model_label(om), *nl = model_label(nm), *oh = wf_xasprintf("old: %s", ol), *nh = wf_xasprintf("new: %s", nl);
	struct lines h1 = {0}, h2 = {0}, ha, hb;

	lines_add(&h1, oh, strlen(oh));
	lines_add(&h2, nh, strlen(nh));
	ha = wrapped(&h1, col);
	hb = wrapped(&h2, col);
	for (size_t i = 0; i < ha.n || i < hb.n; i++) {
		put_cell(fp, i < ha.n ? ha.v[i] : "", col);
		fprintf(fp, " | %s\n", i < hb.n ? hb.v[i] : "");
	}
	for (int i = 0; i < col; i++)
		fputc('-', fp);
	fputs("-+-", fp);
	for (int i = 0; i < width - col - 3; i++)
		fputc('-', fp);
	fputc('\n', fp);
	for (size_t i = 0; i < wa.n || i < wb.n; i++) {
		put_cell(fp, i < wa.n ? wa.v[i] : "", col);
		fprintf(fp, " | %s\n", i < wb.n ? wb.v[i] : "");
	}
	lines_free(&a), lines_free(&b), lines_free(&wa), lines_free(&wb);
	lines_free(&h1), lines_free(&h2), lines_free(&ha), lines_free(&hb);
	free(ol), free(nl), free(oh), free(nh);
	jv_free(om);
	jv_free(nm);
}

/* ---- the unified diff ---- */

/* One line of the edit script: ' ' kept, '-' only in A, '+' only in B, with its line in each. */
struct op {
	char kind;
	size_t a, b;
};

/*
 * The edit script from A to B by the longest common subsequence of their
 * lines; *N its length, malloc'd.  Texts too long for the table are
 * compared as all removed and all added.
 */
static struct op *
edit_script(struct lines *a, struct lines *b, size_t *n)
{
	size_t na = a->n, nb = b->n, i = 0, j = 0, k = 0;
	struct op *ops = wf_xmalloc((na + nb + 1) * sizeof *ops);
	unsigned *t = NULL;

	if ((long)((na + 1) * (nb + 1)) <= DIFF_MAX_CELLS) {
		t = wf_xcalloc((na + 1) * (nb + 1), sizeof *t);
		for (size_t x = na; x-- > 0;)
			for (size_t y = nb; y-- > 0;)
				t[x * (nb + 1) + y] = !strcmp(a->v[x], b->v[y]) ? t[(x + 1) * (nb + 1) + y + 1] + 1 :
					t[(x + 1) * (nb + 1) + y] >= t[x * (nb + 1) + y + 1] ? t[(x + 1) * (nb + 1) + y] :
					t[x * (nb + 1) + y + 1];
	}
	while (i < na || j < nb) {
		if (t && i < na && j < nb && !strcmp(a->v[i], b->v[j]))
			ops[k++] = (struct op){ ' ', i++, j++ };
		else if (i < na && (j >= nb || !t || t[(i + 1) * (nb + 1) + j] >= t[i * (nb + 1) + j + 1]))
			ops[k++] = (struct op){ '-', i++, j };
		else
			ops[k++] = (struct op){ '+', i, j++ };
	}
	free(t);
	*n = k;
	return ops;
}

/* Print the hunk of OPS[FROM..TO) with its @@ line. */
static void
hunk(FILE *fp, struct op *ops, size_t from, size_t to, struct lines *a, struct lines *b)
{
	size_t la = 0, lb = 0;

	for (size_t k = from; k < to; k++) {
		la += ops[k].kind != '+';
		lb += ops[k].kind != '-';
	}
	fprintf(fp, "@@ -%zu,%zu +%zu,%zu @@\n", ops[from].a + (la > 0), la, ops[from].b + (lb > 0), lb);
	for (size_t k = from; k < to; k++)
		fprintf(fp, "%c%s\n", ops[k].kind, ops[k].kind == '+' ? b->v[ops[k].b] : a->v[ops[k].a]);
}

/* The old and new texts (borrowed answers) as a unified diff. */
static void
unified(FILE *fp, jv old, jv new)
{
	struct lines a = visible_lines(wf_jv_str(old, "text")), b = visible_lines(wf_jv_str(new, "text"));
	jv om = wf_jv_get(old, "model"), nm = wf_jv_get(new, "model");
	char *ol = model_label(om), *nl = model_label(nm);
	size_t n, k = 0, hunks = 0;
	struct op *ops = edit_script(&a, &b, &n);

	fprintf(fp, "--- old: %s\n+++ new: %s\n", ol, nl);
	while (k < n) {
		size_t start, end, last;

		while (k < n && ops[k].kind == ' ')
			k++;
		if (k == n)
			break;
		start = k > DIFF_CONTEXT ? k - DIFF_CONTEXT : 0;
		/* A hunk runs on while the next change is within twice the context. */
		last = k;
		for (size_t m = k; m < n && m <= last + 2 * DIFF_CONTEXT; m++)
			if (ops[m].kind != ' ')
				last = m;
		end = last + 1 + DIFF_CONTEXT < n ? last + 1 + DIFF_CONTEXT : n;
		hunk(fp, ops, start, end, &a, &b);
		hunks++;
		k = end;
	}
	if (!hunks)
		fputs("(the answers are the same)\n", fp);
	free(ops);
	lines_free(&a), lines_free(&b);
	free(ol), free(nl);
	jv_free(om);
	jv_free(nm);
}

/* ---- the table ---- */

/* A number of tokens in USAGE (borrowed) for the table, into BUF. */
static const char *
tokens(jv usage, const char *key, char *buf, size_t n)
{
	jv v = wf_jv_get(usage, key);

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		snprintf(buf, n, "%.0f%s", jv_number_value(v), wf_jv_bool(usage, "estimated", 0) ? "~" : "");
	else
		snprintf(buf, n, "?");
	jv_free(v);
	return buf;
}

/* A cost (borrowed) for the table into BUF: dollars, or "unknown". */
static const char *
dollars(jv cost, char *buf, size_t n)
{
	jv usd = wf_jv_get(cost, "usd");

	if (jv_get_kind(usd) == JV_KIND_NUMBER)
		snprintf(buf, n, "$%.6f%s", jv_number_value(usd), wf_jv_bool(cost, "estimated", 0) ? "~" : "");
	else
		snprintf(buf, n, "unknown");
	jv_free(usd);
	return buf;
}

/* Where a branch (borrowed) goes, for a person: "'ID' (HOW)" or "the end (HOW)", malloc'd. */
static char *
path_text(jv br, const char *which)
{
	jv to = wf_jv_get(br, which);
	char *s = jv_get_kind(to) == JV_KIND_STRING ? wf_xasprintf("'%s'", jv_string_value(to)) : wf_xstrdup("the end of the run");

	jv_free(to);
	return s;
}

/* One row of the table for ANSWER (borrowed), labelled WHO. */
static void
row(FILE *fp, const char *who, jv answer)
{
	jv m = wf_jv_get(answer, "model"), u = wf_jv_get(answer, "usage"), c = wf_jv_get(answer, "cost");
	char in[32], ca[32], out[32], usd[48];
	const char *v = wf_jv_str(answer, "verdict");

	if (wf_jv_str(answer, "error"))
		fprintf(fp, "%-4s %-16s failed (exit %.0f)\n", who, wf_jv_str(m, "name") ? wf_jv_str(m, "name") : "?",
			wf_jv_num(answer, "exit_code", 0));
	else
		fprintf(fp, "%-4s %-16s %9s %9s %9s  %-*s%s\n", who, wf_jv_str(m, "name") ? wf_jv_str(m, "name") : "?",
			tokens(u, "input_tokens", in, sizeof in), tokens(u, "cached_tokens", ca, sizeof ca),
			tokens(u, "output_tokens", out, sizeof out), v ? 13 : 0, dollars(c, usd, sizeof usd),
			v ? (!strcmp(v, "approved") ? "approved" : "changes requested") : "");
	jv_free(m);
	jv_free(u);
	jv_free(c);
}

/* What the path would be with ANSWER (borrowed), for a person. */
static void
path_line(FILE *fp, jv answer)
{
	jv br = wf_jv_get(answer, "branch"), m = wf_jv_get(answer, "model"), same = wf_jv_get(br, "same");
	const char *name = wf_jv_str(m, "name") ? wf_jv_str(m, "name") : "?";
	char *was = path_text(br, "was"), *would = path_text(br, "would");

	if (wf_jv_str(answer, "error"))
		fprintf(fp, "%s: %s\n", name, wf_jv_str(answer, "error"));
	else if (jv_get_kind(same) == JV_KIND_TRUE)
		fprintf(fp, "%s: same path: %s (%s)\n", name, would, wf_jv_str(br, "how"));
	else if (jv_get_kind(same) == JV_KIND_FALSE)
		fprintf(fp, "%s: would take %s (%s) instead of %s\n", name, would, wf_jv_str(br, "how"), was);
	else
		fprintf(fp, "%s: path unknown: %s\n", name, wf_jv_str(br, "why") ? wf_jv_str(br, "why") : "?");
	free(was);
	free(would);
	jv_free(same);
	jv_free(m);
	jv_free(br);
}

/* DOC borrowed. */
void
wf_rerun_print(FILE *fp, jv doc, int diff, int width)
{
	jv old = wf_jv_get(doc, "old"), news = wf_jv_get(doc, "new"), ob = wf_jv_get(old, "branch");
	char *was = path_text(ob, "was");

	fprintf(fp, "run '%s', step '%s' (%s), pass %.0f of %.0f: model call %.0f of %.0f asked again\n",
		wf_jv_str(doc, "run"), wf_jv_str(doc, "step"), wf_jv_str(doc, "action"), wf_jv_num(doc, "pass", 0),
		wf_jv_num(doc, "passes", 0), wf_jv_num(doc, "call", 0), wf_jv_num(doc, "calls", 0));
	jv_array_foreach(news, i, n) {
		(void)i;
		fputc('\n', fp);
		if (!wf_jv_str(n, "error")) {
			if (diff)
				unified(fp, old, n);
			else
				side_by_side(fp, old, n, width < 23 ? 23 : width);
		}
		jv_free(n);
	}
	fprintf(fp, "\n%-4s %-16s %9s %9s %9s  %-12s %s\n", "", "model", "input", "cached", "output", "cost", "verdict");
	row(fp, "old", old);
	jv_array_foreach(news, i, n) {
		(void)i;
		row(fp, "new", n);
		jv_free(n);
	}
	fprintf(fp, "\nthe run went on to %s (%s)\n", was, wf_jv_str(ob, "how") ? wf_jv_str(ob, "how") : "?");
	jv_array_foreach(news, i, n) {
		(void)i;
		path_line(fp, n);
		jv_free(n);
	}
	free(was);
	jv_free(ob);
	jv_free(old);
	jv_free(news);
}
