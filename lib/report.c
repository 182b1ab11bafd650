/*
 * report.c: a run's report (wf report), one static HTML page that stands
 * alone: the run's header (workflow, project, status, times, exit code,
 * models, tokens, cost), the graph with the path it took, a timeline of
 * its steps with their durations as bars (a parallel step's branches each
 * a bar of its own, on a time axis from the step's start, so that their
 * overlap shows), and every step execution with its output, model,
 * usage, verdict and answer.
 *
 * Layer 2: domain data.
 *
 * The path comes from the run's story (story.h), the outputs from the
 * files its steps wrote in steps/ (as wf logs reads them), each shown up
 * to WF_REPORT_OUTPUT_MAX bytes.  Every text that comes from the run
 * passes the one masker, then is escaped; the page has no script and a
 * Content-Security-Policy that lets it load nothing but its own inline
 * styles and data: images, so it reads the same from file://, a CI
 * artifact or a mail.  The CSS fits a phone and a desktop window and
 * prints.  The graph is Graphviz's when dot is on PATH, else
 * report_svg.c's, and the page says which.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"
#include "prompt_cache.h"
#include "outlog.h"
#include "report.h"
#include "story.h"
#include "subflow.h"
#include "fallback.h"

static const char css[] =
	":root{color-scheme:light;--ok:#2e7d32;--failed:#c62828;--waiting:#f9a825;--other:#607d8b;--line:#cfd8dc}"
	"*{box-sizing:border-box}"
	"body{margin:0 auto;max-width:76rem;padding:1rem;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;"
	"color:#212121;background:#fff;overflow-wrap:anywhere}"
	"h1{font-size:1.5rem;margin:.2rem 0 .4rem}h2{font-size:1.2rem;border-bottom:1px solid var(--line);margin:1.6rem 0 .6rem}"
	"h3{font-size:1rem;margin:0 0 .3rem}small{color:#546e7a;font-weight:normal}"
	"dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem;margin:.4rem 0}dt{font-weight:600}dd{margin:0}"
	".st{display:inline-block;padding:0 .45em;border-radius:.3em;color:#fff;background:var(--other);font-size:.9em}"
	".st-ok,.st-completed{background:var(--ok)}.st-failed,.st-interrupted{background:var(--failed)}"
	".st-waiting,.st-paused,.st-running,.st-in-doubt{background:var(--waiting);color:#000}"
	"figure{margin:0}figure svg{display:block;max-width:100%;height:auto}figcaption{color:#546e7a;font-size:.9em}"
	".tl{display:grid;grid-template-columns:minmax(5rem,max-content) 1fr max-content;gap:.15rem .6rem;align-items:center}"
	".tl .ev{grid-column:1/-1;color:#546e7a;font-size:.9em;border-left:3px solid var(--line);padding-left:.4rem}"
	".track{background:#eceff1;height:.9rem;min-width:0}"
	".bar{height:100%;min-width:2px;background:var(--ok)}.bar.st-failed{background:var(--failed)}"
	".bar.st-waiting,.bar.st-running,.bar.st-in-doubt{background:var(--waiting)}.bar.st-skipped{background:var(--other)}"
	".tl .br{padding-left:1.2rem;font-size:.92em}.bar.branch{border-radius:.2rem;position:relative;overflow:hidden}"
	".seg{position:absolute;top:0;bottom:0;border-right:2px solid #fff;background:rgba(0,0,0,.12)}"
	".exec{border:1px solid var(--line);border-radius:.4rem;padding:.6rem;margin:.6rem 0}"
	"pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f5f7f8;border:1px solid var(--line);padding:.4rem;"
	"margin:.2rem 0;font:13px/1.35 ui-monospace,'DejaVu Sans Mono',monospace}"
	".stream{font-size:.85em;color:#546e7a;margin:.4rem 0 0}.note{color:#bf360c;font-size:.9em}"
	"@media (max-width:40rem){body{padding:.5rem}dl{grid-template-columns:1fr}dd{margin-left:.8rem}"
	".tl{grid-template-columns:minmax(4rem,max-content) 1fr}.tl .dur{grid-column:1/-1;font-size:.85em;margin-top:-.2rem}}"
	"@media print{body{max-width:none;padding:0;font-size:10pt}.exec{break-inside:avoid-page}"
	"pre{background:none}a{color:inherit;text-decoration:none}"
	".track,.bar,.st{-webkit-print-color-adjust:exact;print-color-adjust:exact}}";

/* ---- text ---- */

/* TEXT[0..LEN) is borrowed. */
void
wf_report_text(struct wf_buf *b, const char *text, size_t len)
{
	char *m = wf_redact(text ? text : "", text ? len : 0);

	for (const char *p = m; *p; p++)
		switch (*p) {
		case '&': wf_buf_addstr(b, "&amp;"); break;
		case '<': wf_buf_addstr(b, "&lt;"); break;
		case '>': wf_buf_addstr(b, "&gt;"); break;
		case '"': wf_buf_addstr(b, "&quot;"); break;
		case '\'': wf_buf_addstr(b, "&#39;"); break;
		default: wf_buf_addch(b, *p);
		}
	free(m);
}

/* The string S (NULL: "-") masked and escaped into B. */
static void
put(struct wf_buf *b, const char *s)
{
	wf_report_text(b, s ? s : "-", strlen(s ? s : "-"));
}

/* A time as the journal writes it ("2026-11-30T12:04:03.272Z") as "2026-11-30 12:04:03 UTC", into B. */
static void
put_time(struct wf_buf *b, const char *iso)
{
	if (!iso || strlen(iso) < 19 || iso[10] != 'T') {
		put(b, iso);
		return;
	}
	wf_buf_printf(b, "<time datetime=\"");
	put(b, iso);
	wf_buf_printf(b, "\">%.10s %.8s UTC</time>", iso, iso + 11);
}

/* MS milliseconds as a person reads them: "40 ms", "2.5 s", "3 min 4 s", "2 h 5 min". */
void
wf_report_duration(struct wf_buf *b, double ms)
{
	long s = (long)(ms / 1000);

	if (ms < 0)
		wf_buf_addstr(b, "-");
	else if (ms < 1000)
		wf_buf_printf(b, "%.0f ms", ms);
	else if (ms < 60000)
		wf_buf_printf(b, "%.1f s", ms / 1000);
	else if (s < 3600)
		wf_buf_printf(b, "%ld min %ld s", s / 60, s % 60);
	else
		wf_buf_printf(b, "%ld h %ld min", s / 3600, s / 60 % 60);
}

/* A status badge for STATUS (NULL: unknown). */
void
wf_report_status(struct wf_buf *b, const char *status)
{
	const char *s = status ? status : "unknown";

	wf_buf_addstr(b, "<span class=\"st st-");
	for (const char *p = s; *p; p++)
		wf_buf_addch(b, (*p >= 'a' && *p <= 'z') || *p == '-' ? *p : '_');
	wf_buf_addstr(b, "\">");
	put(b, s);
	wf_buf_addstr(b, "</span>");
}

/* A "<dt>NAME</dt><dd>" opening; the caller writes the value and closes it with </dd>. */
static void
dt(struct wf_buf *b, const char *name)
{
	wf_buf_printf(b, "<dt>%s</dt><dd>", name);
}

/* A row NAME holding the time ISO (NULL: "-"). */
static void
row_time(struct wf_buf *b, const char *name, const char *iso)
{
	dt(b, name);
	put_time(b, iso);
	wf_buf_addstr(b, "</dd>");
}

/* A row NAME holding the duration MS (negative: "-"). */
static void
row_duration(struct wf_buf *b, const char *name, double ms)
{
	dt(b, name);
	wf_report_duration(b, ms);
	wf_buf_addstr(b, "</dd>");
}

/* Usage U (borrowed: {input_tokens, output_tokens, usd, ...}) as tokens and cost rows. */
static void
put_usage(struct wf_buf *b, jv u)
{
	jv usd = wf_jv_get(u, "usd");

	if (jv_get_kind(u) != JV_KIND_OBJECT) {
		jv_free(usd);
		return;
	}
	dt(b, "tokens");
	wf_buf_printf(b, "%.0f input", wf_jv_num(u, "input_tokens", 0));
	wf_usage_cache_note(b, u);
	wf_buf_printf(b, " / %.0f output", wf_jv_num(u, "output_tokens", 0));
	if (wf_jv_num(u, "calls", 1) != 1)
		wf_buf_printf(b, " in %.0f calls", wf_jv_num(u, "calls", 1));
	wf_buf_addstr(b, "</dd>");
	dt(b, "cost");
	if (jv_get_kind(usd) == JV_KIND_NUMBER)
		wf_buf_printf(b, "$%.4f</dd>", jv_number_value(usd));
	else
		wf_buf_addstr(b, "unknown</dd>");
	jv_free(usd);
}

/* ---- the header ---- */

/* SUM (consumed, returned) with the cache tokens of one model's usage PER (borrowed) added. */
static jv
cache_sum(jv sum, jv per)
{
	static const char *const keys[] = { "cached_tokens", "cache_write_tokens", NULL };

	for (int i = 0; keys[i]; i++)
		sum = jv_object_set(sum, jv_string(keys[i]), jv_number(wf_jv_num(sum, keys[i], 0) + wf_jv_num(per, keys[i], 0)));
	return sum;
}

/* The run's models and their use, summed (RUN borrowed: the story's "run"), as header rows. */
static void
put_run_usage(struct wf_buf *b, jv run)
{
	jv models = wf_jv_get(run, "models"), usage = wf_jv_get(run, "usage"), cache = jv_object();
	double in = 0, out = 0, usd = 0;
	int priced = 1, any = 0;

	dt(b, "models");
	if (jv_get_kind(models) == JV_KIND_ARRAY && jv_array_length(jv_copy(models)) > 0)
		jv_array_foreach(models, i, m) {
			if (i)
				wf_buf_addstr(b, ", ");
			put(b, jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : "?");
			jv_free(m);
		}
	else
		wf_buf_addstr(b, "none");
	wf_buf_addstr(b, "</dd>");
	if (jv_get_kind(usage) == JV_KIND_OBJECT)
		jv_object_foreach(usage, k, per) {
			jv c = wf_jv_get(per, "usd");

			any = 1;
			in += wf_jv_num(per, "input_tokens", 0);
			out += wf_jv_num(per, "output_tokens", 0);
			cache = cache_sum(cache, per);
			if (jv_get_kind(c) == JV_KIND_NUMBER)
				usd += jv_number_value(c);
			else
				priced = 0;
			jv_free(c);
			jv_free(k);
			jv_free(per);
		}
	if (any) {
		dt(b, "tokens");
		wf_buf_printf(b, "%.0f input", in);
		wf_usage_cache_note(b, cache);
		wf_buf_printf(b, " / %.0f output</dd>", out);
		dt(b, "cost");
		if (priced)
			wf_buf_printf(b, "$%.4f</dd>", usd);
		else if (usd > 0)
			wf_buf_printf(b, "$%.4f and calls of unknown cost</dd>", usd);
		else
			wf_buf_addstr(b, "unknown</dd>");
	}
	jv_free(models);
	jv_free(usage);
	jv_free(cache);
}

/* The header: what ran, where, how it went (STORY borrowed). */
static void
put_header(struct wf_buf *b, struct wf_run *r, jv story)
{
	jv run = wf_jv_get(story, "run");
	const char *wfname = wf_jv_str(run, "workflow_name");
	double id = wf_jv_num(run, "id", r->past ? (double)r->id : 0), code = wf_jv_num(run, "exit_code", -1);

	wf_buf_addstr(b, "<header id=\"run\"><h1>");
	put(b, wfname ? wfname : r->name);
	wf_buf_addstr(b, " <small>run ");
	put(b, r->name);
	if (id > 0)
		wf_buf_printf(b, " #%.0f", id);
	wf_buf_addstr(b, "</small></h1><p>");
	wf_report_status(b, wf_jv_str(run, "status"));
	wf_buf_addstr(b, "</p><dl>");
	dt(b, "workflow");
	put(b, wf_jv_str(run, "workflow"));
	wf_buf_addstr(b, "</dd>");
	dt(b, "project");
	put(b, wf_jv_str(run, "project"));
	wf_buf_addstr(b, "</dd>");
	row_time(b, "started", wf_jv_str(run, "started"));
	if (wf_jv_str(run, "ended"))
		row_time(b, "ended", wf_jv_str(run, "ended"));
	row_duration(b, "duration", wf_jv_num(run, "duration_ms", -1));
	dt(b, "exit code");
	if (code >= 0)
		wf_buf_printf(b, "%.0f</dd>", code);
	else
		wf_buf_addstr(b, "none yet</dd>");
	if (wf_jv_str(story, "current") || wf_jv_str(story, "failed")) {
		dt(b, wf_jv_str(story, "failed") ? "failed at" : "stands at");
		put(b, wf_jv_str(story, "failed") ? wf_jv_str(story, "failed") : wf_jv_str(story, "current"));
		wf_buf_addstr(b, "</dd>");
	}
	put_run_usage(b, run);
	{
		jv fork = wf_jv_get(run, "forked_from");

		if (jv_get_kind(fork) == JV_KIND_OBJECT) {
			dt(b, "forked from");
			put(b, wf_jv_str(fork, "run"));
			wf_buf_addstr(b, " at step ");
			put(b, wf_jv_str(fork, "step"));
			wf_buf_addstr(b, "</dd>");
		}
		jv_free(fork);
	}
	wf_buf_addstr(b, "</dl></header>\n");
	jv_free(run);
}

/* ---- the graph ---- */

/* Two streams of a child into two buffers: CTX is an array of two wf_buf, stdout then stderr. */
static void
sink_both(void *ctx, int stream, const char *p, size_t n)
{
	wf_buf_add((struct wf_buf *)ctx + (stream == 2), p, n);
}

/*
 * DOT (borrowed) drawn by Graphviz's dot at EXE as SVG, from its <svg on
 * (no XML prolog, no doctype): malloc'd, or NULL with WHY.
 */
static char *
dot_svg(const char *exe, const char *dot, char *why, size_t n)
{
	char *argv[] = { (char *)exe, (char *)"-Tsvg", NULL }, *svg = NULL, *at;
	struct wf_buf io[2] = { {0}, {0} };
	struct wf_io_opts o = { .timeout_s = 60, .pgrp = 1, .sink = sink_both, .ctx = io };
	struct wf_child c;
	int status = 0, rc;

	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_IN | WF_SPAWN_OUT | WF_SPAWN_ERR | WF_SPAWN_PGRP, NULL, &c) < 0) {
		snprintf(why, n, "cannot run '%s': %s", exe, strerror(errno));
		return NULL;
	}
	rc = wf_communicate(&c, dot, strlen(dot), &o, &status);
	wf_buf_addstr(&io[0], "");
	wf_buf_addstr(&io[1], "");
	if (rc || wf_exit_code(status))
		snprintf(why, n, "'%s -Tsvg' %s: %.200s", exe, rc ? "did not finish" : "failed", io[1].s);
	else if (!(at = strstr(io[0].s, "<svg")) || !strstr(at, "</svg>"))
		snprintf(why, n, "'%s -Tsvg' wrote no SVG", exe);
	else
		svg = wf_xstrdup(at);
	wf_buf_free(&io[0]);
	wf_buf_free(&io[1]);
	return svg;
}

/* WF (borrowed) with STORY's path (borrowed) and run R's sub-workflows drawn by dot at EXE: SVG, malloc'd, or NULL with WHY. */
static char *
report_dot_svg(const char *exe, struct wf_run *r, jv wf, jv story, char *why, size_t n)
{
	jv subs = wf_graph_subs(wf, r, WF_SUBFLOW_MAX_DEPTH);
	char *dot = wf_graph_dot(wf, story, subs), *masked = wf_redact(dot, strlen(dot)), *svg;

	svg = dot_svg(exe, masked, why, n);
	free(masked);
	free(dot);
	jv_free(subs);
	return svg;
}

/* The graph section: Graphviz's drawing of the workflow with STORY's path (borrowed) when dot is there, else ours. */
static void
put_graph(struct wf_buf *b, struct wf_run *r, jv story, int *by_dot)
{
	char why[320] = "", werr[256];
	jv wf = wf_run_workflow(r, werr, sizeof werr);
	char *exe = wf_find_program("dot", getenv("PATH")), *svg = NULL;

	*by_dot = 0;
	wf_buf_addstr(b, "<section id=\"graph\"><h2>Graph</h2><figure>");
	if (!jv_is_valid(wf) || jv_get_kind(wf) != JV_KIND_OBJECT) {
		wf_buf_addstr(b, "<p class=\"note\">No graph: ");
		put(b, werr);
		wf_buf_addstr(b, "</p></figure></section>\n");
		jv_free(wf);
		free(exe);
		return;
	}
	if (exe && (svg = report_dot_svg(exe, r, wf, story, why, sizeof why)) != NULL) {
		wf_buf_addstr(b, svg);
		*by_dot = 1;
	} else {
		wf_report_svg(b, wf, story);
	}
	wf_buf_addstr(b, "<figcaption>");
	if (*by_dot)
		wf_buf_addstr(b, "graph drawn by Graphviz dot");
	else if (!exe)
		wf_buf_addstr(b, "graph drawn by wf; install graphviz for a better one");
	else {
		wf_buf_addstr(b, "graph drawn by wf, as Graphviz dot could not: ");
		put(b, why);
	}
	wf_buf_addstr(b, ". Thick arrows: the moves the run took, with their counts.</figcaption></figure></section>\n");
	free(svg);
	free(exe);
	jv_free(wf);
}

/* ---- the timeline and the steps ---- */

/* Is timeline entry E (borrowed) a step execution? */
static int
is_step(jv e)
{
	return wf_jv_str(e, "event") && !strcmp(wf_jv_str(e, "event"), "step") && wf_jv_str(e, "step");
}

/* V (borrowed): a string as it is, anything else as compact JSON; masked and escaped. */
static void
put_value(struct wf_buf *b, jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING) {
		put(b, jv_string_value(v));
	} else {
		jv s = jv_dump_string(jv_copy(v), 0);

		put(b, jv_string_value(s));
		jv_free(s);
	}
}

/* An event that is not a step (pause, answer, resume, rewind, ...), E borrowed, as a line of the timeline. */
static void
put_event(struct wf_buf *b, jv e)
{
	int shown = 0;

	wf_buf_addstr(b, "<div class=\"ev\"><b>");
	put(b, wf_jv_str(e, "event"));
	wf_buf_addstr(b, "</b>");
	jv_object_foreach(e, k, v) {
		const char *key = jv_string_value(k);
		jv_kind kind = jv_get_kind(v);
		/* An object is shown by its message (what a pause asks), else not at all. */
		const char *msg = kind == JV_KIND_OBJECT ? wf_jv_str(v, "message") : NULL;

		if (shown < 7 && strcmp(key, "event") && strcmp(key, "seq") && strcmp(key, "crc") &&
		    (msg || kind == JV_KIND_STRING || kind == JV_KIND_NUMBER || kind == JV_KIND_TRUE ||
		     kind == JV_KIND_FALSE)) {
			wf_buf_addstr(b, shown++ ? ", " : ": ");
			put(b, key);
			wf_buf_addch(b, ' ');
			if (!strcmp(key, "time"))
				put_time(b, jv_string_value(v));
			else if (msg)
				put(b, msg);
			else
				put_value(b, v);
		}
		jv_free(k);
		jv_free(v);
	}
	wf_buf_addstr(b, "</div>\n");
}

/* The timeline of run R: each step execution a bar as long as it took, beside the longest, a parallel step's branches under it; other events between (TL borrowed). */
static void
put_timeline(struct wf_buf *b, struct wf_run *r, jv tl)
{
	double longest = 0;

	jv_array_foreach(tl, i, e) {
		double t0 = wf_iso_ms(wf_jv_str(e, "started")), t1 = is_step(e) && t0 >= 0 ? wf_report_span_end(tl, i, e) : -1;

		if (is_step(e) && wf_jv_num(e, "duration_ms", 0) > longest)
			longest = wf_jv_num(e, "duration_ms", 0);
		if (t1 - t0 > longest)	/* a step cut short: as far as its branches went */
			longest = t1 - t0;
		jv_free(e);
	}
	wf_buf_addstr(b, "<section id=\"timeline\"><h2>Timeline</h2><div class=\"tl\">\n");
	jv_array_foreach(tl, i, e) {
		double ms = wf_jv_num(e, "duration_ms", -1);

		if (!is_step(e)) {
			if (!wf_report_is_branch_event(e))
				put_event(b, e);
			jv_free(e);
			continue;
		}
		wf_buf_printf(b, "<a href=\"#e%d\">", i);
		put(b, wf_jv_str(e, "step"));
		wf_buf_printf(b, " <small>#%.0f</small></a><div class=\"track\"><div class=\"bar st-", wf_jv_num(e, "pass", 1));
		put(b, wf_jv_str(e, "status"));
		wf_buf_printf(b, "\" style=\"width:%.2f%%\"></div></div><span class=\"dur\">",
			      longest > 0 && ms > 0 ? ms * 100 / longest : 0);
		wf_report_duration(b, ms);
		wf_buf_addch(b, ' ');
		wf_report_status(b, wf_jv_str(e, "status"));
		wf_buf_addstr(b, "</span>\n");
		/* Any step's, as one cut short has no action yet: the events after it say whether it forked. */
		wf_report_branch_rows(b, r, tl, i, e, longest);
		jv_free(e);
	}
	if (!jv_array_length(jv_copy(tl)))
		wf_buf_addstr(b, "<div class=\"ev\">No step has run yet.</div>\n");
	wf_buf_addstr(b, "</div></section>\n");
}

/* TEXT[0..LEN), already masked, escaped into B. */
static void
escape(struct wf_buf *b, const char *text, size_t len)
{
	size_t from = 0;

	for (size_t i = 0; i < len; i++) {
		const char *ent = text[i] == '&' ? "&amp;" : text[i] == '<' ? "&lt;" : text[i] == '>' ? "&gt;" :
				  text[i] == '"' ? "&quot;" : text[i] == '\'' ? "&#39;" : NULL;

		if (!ent)
			continue;
		wf_buf_add(b, text + from, i - from);
		wf_buf_addstr(b, ent);
		from = i + 1;
	}
	wf_buf_add(b, text + from, len - from);
}

/*
 * Output STREAM of execution E (borrowed) of run R: P[0..LEN) read of
 * TOTAL bytes, masked, cut to WF_REPORT_OUTPUT_MAX on a whole character
 * with a note naming the wf logs command that shows all of it.
 */
static void
put_output(struct wf_buf *b, struct wf_run *r, jv e, const char *stream, const char *p, size_t len, size_t total)
{
	char *m = wf_redact(p, len);
	size_t shown = strlen(m);

	if (!total)
		goto out;
	if (shown > WF_REPORT_OUTPUT_MAX || total > len) {
		shown = shown > WF_REPORT_OUTPUT_MAX ? WF_REPORT_OUTPUT_MAX : shown;
		while (shown > 0 && ((unsigned char)m[shown] & 0xc0) == 0x80)
			shown--;	/* never half a character */
	}
	wf_buf_printf(b, "<p class=\"stream\">%s</p><pre>", stream);
	escape(b, m, shown);
	wf_buf_addstr(b, "</pre>");
	if (shown < total) {
		wf_buf_printf(b, "<p class=\"note\">truncated: the first %zu of %zu bytes; see <code>wf logs ", shown, total);
		if (r->past)
			wf_buf_printf(b, "%ld", r->id);
		else
			put(b, r->name);
		wf_buf_addch(b, ' ');
		put(b, wf_jv_str(e, "step"));
		wf_buf_printf(b, " --pass %.0f</code> for all of it</p>", wf_jv_num(e, "pass", 1));
	}
out:
	free(m);
}

/* Execution E's (borrowed) output stream EXT (outlog.h) in STEPSFD, shown as STREAM: 1, or 0 when it has none. */
static int
put_file(struct wf_buf *b, struct wf_run *r, int stepsfd, jv e, const char *ext, const char *stream)
{
	const char *step = wf_jv_str(e, "step");
	size_t want = WF_REPORT_OUTPUT_MAX + 4096;	/* beyond the cut: a secret across it is still masked */
	struct wf_buf got = {0};
	off_t size = wf_step_output(stepsfd, (long)wf_jv_num(e, "seq", 0), step, ext, (off_t)wf_jv_num(e, "log_at", 0),
				    0, want, &got);

	if (size >= 0)
		put_output(b, r, e, stream, got.s ? got.s : "", got.len, (size_t)size > got.len ? (size_t)size : got.len);
	wf_buf_free(&got);
	return size >= 0;
}

/* One row NAME of execution E (borrowed) holding its KEY, when it has one. */
static void
put_row(struct wf_buf *b, jv e, const char *key, const char *name)
{
	jv v = wf_jv_get(e, key);

	if (jv_get_kind(v) != JV_KIND_NULL && jv_is_valid(v)) {
		dt(b, name);
		put_value(b, v);
		wf_buf_addstr(b, "</dd>");
	}
	jv_free(v);
}

/* The switches to fallback models in an execution's usage U (borrowed), a row each. */
static void
put_fallbacks(struct wf_buf *b, jv u)
{
	jv fb = wf_jv_get(u, "fallbacks");

	if (jv_get_kind(fb) == JV_KIND_ARRAY)
		jv_array_foreach(fb, i, sw) {
			char *line = wf_fallback_line(sw);

			(void)i;
			dt(b, "fallback");
			put(b, line);
			wf_buf_addstr(b, "</dd>");
			free(line);
			jv_free(sw);
		}
	jv_free(fb);
}

/* Execution E (borrowed), the Ith entry of the timeline: what it was, how it went, what it wrote. */
static void
put_exec(struct wf_buf *b, struct wf_run *r, int stepsfd, jv e, int i)
{
	jv jump = wf_jv_get(e, "jump"), usage = wf_jv_get(e, "usage");
	int files = 0;

	wf_buf_printf(b, "<article class=\"exec\" id=\"e%d\"><h3>", i);
	put(b, wf_jv_str(e, "step"));
	wf_buf_printf(b, " <small>pass %.0f", wf_jv_num(e, "pass", 1));
	if (wf_jv_num(e, "attempt", 1) > 1)
		wf_buf_printf(b, ", attempt %.0f", wf_jv_num(e, "attempt", 1));
	wf_buf_addstr(b, "</small> ");
	wf_report_status(b, wf_jv_str(e, "status"));
	/* Answered from a recording (wf-run --replay): a badge of its own. */
	if (wf_jv_bool(e, "replayed", 0) || wf_jv_num(usage, "replayed", 0) > 0) {
		wf_buf_addch(b, ' ');
		wf_report_status(b, "replayed");
	}
	wf_buf_addstr(b, "</h3><dl>");
	put_row(b, e, "action", "action");
	row_time(b, "started", wf_jv_str(e, "started"));
	row_duration(b, "duration", wf_jv_num(e, "duration_ms", -1));
	put_row(b, e, "exit_code", "exit code");
	put_row(b, e, "model", "model");
	put_usage(b, usage);
	put_fallbacks(b, usage);
	put_row(b, e, "condition", "condition");
	put_row(b, e, "value", "its value");
	put_row(b, e, "verdict", "verdict");
	put_row(b, e, "answer", "answer");
	if (jv_get_kind(jump) == JV_KIND_OBJECT)
		put_row(b, jump, "to", "jumped to");
	put_row(b, e, "next", "next");
	put_row(b, e, "error", "error");
	wf_buf_addstr(b, "</dl>");
	files += put_file(b, r, stepsfd, e, "out", "stdout");
	files += put_file(b, r, stepsfd, e, "err", "stderr");
	files += put_file(b, r, stepsfd, e, "answer", "answer");
	if (!files && wf_jv_str(e, "output"))
		put_output(b, r, e, "output", wf_jv_str(e, "output"), strlen(wf_jv_str(e, "output")),
			   strlen(wf_jv_str(e, "output")));
	if (!files && wf_jv_str(e, "stderr"))
		put_output(b, r, e, "stderr", wf_jv_str(e, "stderr"), strlen(wf_jv_str(e, "stderr")),
			   strlen(wf_jv_str(e, "stderr")));
	wf_buf_addstr(b, "</article>\n");
	jv_free(jump);
	jv_free(usage);
}

/* Every step execution of timeline TL (borrowed), in order. */
static void
put_steps(struct wf_buf *b, struct wf_run *r, jv tl)
{
	int stepsfd = openat(r->dirfd, "steps", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

	wf_buf_addstr(b, "<section id=\"steps\"><h2>Steps</h2>\n");
	jv_array_foreach(tl, i, e) {
		if (is_step(e))
			put_exec(b, r, stepsfd, e, i);
		jv_free(e);
	}
	wf_buf_addstr(b, "</section>\n");
	if (stepsfd >= 0)
		close(stepsfd);
}

/* ---- the page ---- */

int
wf_report_page(struct wf_run *r, struct wf_buf *out, int *by_dot, char *err, size_t n)
{
	jv story, tl, run;

	wf_secret_add_env();
	story = wf_story_of(r, err, n);
	if (!jv_is_valid(story)) {
		jv_free(story);
		return WF_EXIT_IO;
	}
	tl = wf_jv_get(story, "timeline");
	if (jv_get_kind(tl) != JV_KIND_ARRAY) {
		jv_free(tl);
		tl = jv_array();
	}
	run = wf_jv_get(story, "run");
	wf_buf_addstr(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		      "style-src 'unsafe-inline'; img-src data:\">\n"
		      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>");
	put(out, wf_jv_str(run, "workflow_name") ? wf_jv_str(run, "workflow_name") : r->name);
	wf_buf_addstr(out, ": run ");
	put(out, r->name);
	wf_buf_addstr(out, " (");
	put(out, wf_jv_str(run, "status"));
	wf_buf_printf(out, ")</title>\n<style>%s</style></head>\n<body>\n", css);
	put_header(out, r, story);
	wf_buf_addstr(out, "<main>\n");
	put_graph(out, r, story, by_dot);
	put_timeline(out, r, tl);
	put_steps(out, r, tl);
	wf_buf_addstr(out, "</main>\n<footer><p><small>Written by wf-view " WF_VERSION
		      " from the run's journal and step files; secrets masked.</small></p></footer>\n</body></html>\n");
	jv_free(run);
	jv_free(tl);
	jv_free(story);
	return 0;
}

/* ---- the file ---- */

char *
wf_report_file_name(struct wf_run *r)
{
	double id = r->past ? (double)r->id : wf_jv_num(r->state, "id", 0);

	if (id > 0)
		return wf_xasprintf("wf-report-%s-%.0f.html", r->name, id);
	return wf_xasprintf("wf-report-%s.html", r->name);
}

int
wf_report_write(const char *path, const char *data, size_t len, int force, char *err, size_t n)
{
	char *d = wf_xstrdup(path), *f = wf_xstrdup(path), *dir = dirname(d), *base = basename(f);
	struct stat st;
	int dfd = -1, rc = 0;

	if (!*path || path[strlen(path) - 1] == '/' || !strcmp(base, ".") || !strcmp(base, "..")) {
		snprintf(err, n, "'%s' is not a file name; -o takes one", path);
		rc = WF_EXIT_USAGE;
	} else if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		snprintf(err, n, "cannot write '%s': %s: %s", path, dir, strerror(errno));
		rc = errno == ENOENT ? WF_EXIT_NOINPUT : WF_EXIT_IO;
	} else if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, n, "'%s' is a directory; -o takes a file name", path);
		rc = WF_EXIT_USAGE;
	} else if (!force && fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		snprintf(err, n, "'%s' exists; give --force to replace it", path);
		rc = WF_EXIT_USAGE;
	} else if (wf_atomic_write(dfd, base, data, len) < 0) {
		snprintf(err, n, "cannot write '%s': %s", path, strerror(errno));
		rc = WF_EXIT_IO;
	}
	if (dfd >= 0)
		close(dfd);
	free(d);
	free(f);
	return rc;
}
