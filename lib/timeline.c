/*
 * timeline.c: the path a run took as a compact list (wf logs
 * --timeline): one line per step execution and per event that changed
 * the path, with the step, its pass, how it ended, how long it took, the
 * model that answered, and where the run went next and why: the
 * condition and its value, the verdict, the error, the loop's iteration,
 * the answer, the consent decision.  A running run is followed as wf
 * logs -f follows it.
 *
 * Layer 2: domain data.
 *
 * Everything comes from the story (story.c), never from a second walk
 * of the journal.  Conditions, answers and errors are text a workflow or
 * a person wrote: every control character is escaped before it reaches
 * a terminal.
 */
#include <stdlib.h>
#include <string.h>

#include "story.h"
#include "timeline.h"

enum { C_SEQ, C_STEP, C_PASS, C_STATUS, C_TIME, C_MODEL, C_WHY, NCOLS };

static const char *const titles[NCOLS] = { "SEQ", "STEP", "PASS", "STATUS", "TIME", "MODEL", "WHAT HAPPENED" };

/* One line of the list: its cells (malloc'd), and the colour of its status. */
struct row {
	char *cell[NCOLS];
	const char *color;
};

struct table {
	struct row *rows;
	size_t n, cap;
	int width[NCOLS];	/* kept from one batch to the next when following */
	int headed;		/* the heading and the titles went out */
};

/* ---- text ---- */

/* Append V (borrowed) to B as text (a string as it is, anything else as JSON), escaped and cut at 80 bytes. */
static void
add_value(struct wf_buf *b, jv v)
{
	char *t = jv_get_kind(v) == JV_KIND_STRING ? wf_xstrdup(jv_string_value(v)) : wf_json_dump(jv_copy(v));
	size_t len = strlen(t), cut = len;

	if (len > 80) {
		/* Cut on a character boundary. */
		cut = 80;
		while (cut > 0 && ((unsigned char)t[cut] & 0xc0) == 0x80)
			cut--;
		t[cut] = 0;
	}
	wf_buf_add_visible(b, t);
	if (cut < len)
		wf_buf_addstr(b, "...");
	free(t);
}

/* Append KEY of E (borrowed) to B quoted, as add_value does. */
static void
add_quoted(struct wf_buf *b, jv e, const char *key)
{
	jv v = wf_jv_get(e, key);

	wf_buf_addch(b, '\'');
	add_value(b, v);
	wf_buf_addch(b, '\'');
	jv_free(v);
}

/* Append PREFIX and the text KEY of E (borrowed) to B, escaped; DEF when E has none, nothing when DEF is NULL. */
static void
add_field(struct wf_buf *b, const char *prefix, jv e, const char *key, const char *def)
{
	const char *v = wf_jv_str(e, key) ? wf_jv_str(e, key) : def;

	if (!v)
		return;
	wf_buf_addstr(b, prefix);
	wf_buf_add_visible(b, v);
}

/* The duration of entry E (borrowed): tenths of a second under a minute, then as wf_human_ms says it; malloc'd, "" when unknown. */
static char *
duration_text(jv e)
{
	double ms = wf_jv_num(e, "duration_ms", -1);
	char h[24];

	if (ms < 0)
		return wf_xstrdup("");
	if (ms < 60000)
		return wf_xasprintf("%.1fs", ms / 1000.0);
	wf_human_ms(ms, h);
	return wf_xstrdup(h);
}

/* ---- why a step went where it went ---- */

/* Append to B what decided step entry E (borrowed): its condition, verdict, loop pass or error. */
static void
add_decision(struct wf_buf *b, jv e)
{
	jv jump = wf_jv_get(e, "jump"), verdict = wf_jv_get(e, "verdict");
	const char *action = wf_jv_str(e, "action"), *status = wf_jv_str(e, "status");
	const char *because = wf_jv_str(jump, "because");
	int loop = action && !strcmp(action, "loop");
	double iteration = wf_jv_num(e, "iteration", wf_jv_num(jump, "iteration", 0));

	if (jv_get_kind(verdict) == JV_KIND_NULL) {
		jv_free(verdict);
		verdict = jv_get_kind(jump) == JV_KIND_OBJECT ? wf_jv_get(jump, "verdict") : jv_null();
	}
	if (status && !strcmp(status, "skipped") && wf_jv_str(e, "condition"))
		wf_buf_addstr(b, "if ");
	else if (loop)
		wf_buf_addstr(b, "loop ");
	if (wf_jv_str(e, "condition") || wf_jv_str(jump, "condition")) {
		add_quoted(b, wf_jv_str(e, "condition") ? e : jump, "condition");
		wf_buf_printf(b, " is %s", wf_jv_bool(e, "value", wf_jv_bool(jump, "value", 0)) ? "true" : "false");
	}
	if (iteration > 0 || wf_jv_bool(e, "exhausted", 0)) {
		double max = wf_jv_num(e, "max_iterations", 0);

		if (iteration > 0)
			wf_buf_printf(b, ", iteration %g", iteration);
		else
			wf_buf_printf(b, ", pass %g", wf_jv_num(e, "pass", 0));
		if (max > 0)
			wf_buf_printf(b, " of %g", max);
		if (wf_jv_bool(e, "exhausted", 0))
			wf_buf_addstr(b, ", exhausted");
	}
	/* The story says approved or rejected; a jump, true or false.  A question's answer says it itself. */
	if (jv_object_has(jv_copy(e), jv_string("answer")))
		;
	else if (jv_get_kind(verdict) == JV_KIND_STRING)
		add_field(b, b->len ? ", verdict: " : "verdict: ", e, "verdict", NULL);
	else if (jv_get_kind(verdict) == JV_KIND_TRUE || jv_get_kind(verdict) == JV_KIND_FALSE)
		wf_buf_printf(b, "%sverdict: %s", b->len ? ", " : "",
			      jv_get_kind(verdict) == JV_KIND_TRUE ? "approved" : "rejected");
	if (wf_jv_str(e, "error") && status && !strcmp(status, "failed")) {
		wf_buf_addstr(b, b->len ? ", error: " : "error: ");
		add_quoted(b, e, "error");
	}
	if (because)
		wf_buf_printf(b, "%s%s", b->len ? ", " : "", because);
	jv_free(jump);
	jv_free(verdict);
}

/* What happened at step entry E (borrowed): the decision, the answer, then where the run went; malloc'd. */
static char *
step_why(jv e)
{
	struct wf_buf b = {0};
	jv answer = wf_jv_get(e, "answer"), next = wf_jv_get(e, "next");
	jv value = jv_get_kind(answer) == JV_KIND_OBJECT ? wf_jv_get(answer, "value") : jv_copy(answer);

	add_decision(&b, e);
	if (jv_get_kind(value) != JV_KIND_NULL) {
		wf_buf_addstr(&b, b.len ? ", answered '" : "answered '");
		add_value(&b, value);
		wf_buf_addch(&b, '\'');
		add_field(&b, " by ", answer, "by", NULL);
	}
	if (jv_get_kind(next) == JV_KIND_STRING) {
		wf_buf_addstr(&b, b.len ? " -> " : "-> ");
		wf_buf_add_visible(&b, jv_string_value(next));
	} else if (jv_get_kind(next) == JV_KIND_NULL && jv_object_has(jv_copy(e), jv_string("next"))) {
		const char *st = wf_jv_str(e, "status");

		if (st && (!strcmp(st, "ok") || !strcmp(st, "skipped")))
			wf_buf_addstr(&b, b.len ? " -> end" : "-> end");
	}
	jv_free(answer);
	jv_free(value);
	jv_free(next);
	return b.s ? wf_buf_detach(&b) : wf_xstrdup("");
}

/* ---- other events ---- */

/* Append the pending question or consent of pause event E (borrowed) to B. */
static void
add_pending(struct wf_buf *b, jv e)
{
	jv p = wf_jv_get(e, "pending");
	const char *kind = wf_jv_str(p, "kind");

	if (kind) {
		wf_buf_printf(b, ", %s", !strcmp(kind, "consent") ? "asks consent" : "asks");
		if (wf_jv_str(p, "message") || wf_jv_str(p, "command")) {
			wf_buf_addstr(b, ": ");
			add_quoted(b, p, wf_jv_str(p, "message") ? "message" : "command");
		}
	}
	jv_free(p);
}

/* What event entry E (borrowed) of kind WHAT says; malloc'd. */
static char *
event_why(jv e, const char *what)
{
	struct wf_buf b = {0};
	jv fork = wf_jv_get(e, "fork");

	if (!strcmp(what, "pause") || !strcmp(what, "run-end")) {
		add_field(&b, "", e, "status", NULL);
		add_field(&b, ": ", e, "reason", NULL);
		add_pending(&b, e);
	} else if (!strcmp(what, "answer") || !strcmp(what, "consent")) {
		wf_buf_addstr(&b, !strcmp(what, "answer") ? "answered " : "");
		if (!strcmp(what, "consent"))
			wf_buf_printf(&b, "%s to ", wf_jv_str(e, "decision") ? wf_jv_str(e, "decision") : "?");
		add_quoted(&b, e, !strcmp(what, "answer") ? "value" : "command");
		add_field(&b, " by ", e, "by", NULL);
	} else if (!strcmp(what, "resume")) {
		add_field(&b, "from ", e, "from", "?");
		add_field(&b, ", skipping ", e, "skipped", NULL);
	} else if (!strcmp(what, "rewind")) {
		add_field(&b, "back to ", e, "step", "?");
		add_field(&b, " from ", e, "from", NULL);
	} else if (!strcmp(what, "model-switch")) {
		wf_buf_addstr(&b, "model ");
		add_quoted(&b, e, "from");
		wf_buf_addstr(&b, " -> ");
		add_quoted(&b, e, "to");
	} else if (!strcmp(what, "run-start") && jv_get_kind(fork) == JV_KIND_OBJECT) {
		wf_buf_addstr(&b, "forked from run ");
		add_quoted(&b, fork, "run");
		wf_buf_addstr(&b, " at step ");
		add_quoted(&b, fork, "step");
	}
	jv_free(fork);
	return b.s ? wf_buf_detach(&b) : wf_xstrdup("");
}

/* ---- the table ---- */

/* The colour of STATUS on a terminal, or NULL. */
static const char *
status_color(const char *status)
{
	static const char *const map[][2] = {
		{ "ok", "\033[32m" }, { "completed", "\033[32m" }, { "failed", "\033[31m" },
		{ "in-doubt", "\033[31m" }, { "waiting", "\033[33m" }, { "paused", "\033[33m" },
		{ "declined", "\033[33m" }, { "skipped", "\033[2m" }, { "running", "\033[36m" },
	};

	for (size_t i = 0; status && i < sizeof map / sizeof *map; i++)
		if (!strcmp(map[i][0], status))
			return map[i][1];
	return NULL;
}

/* Cell text: S escaped, malloc'd. */
static char *
cell(const char *s)
{
	struct wf_buf b = {0};

	wf_buf_add_visible(&b, s ? s : "");
	return b.s ? wf_buf_detach(&b) : wf_xstrdup("");
}

/* Add the row of timeline entry E (borrowed) to T. */
static void
add_row(struct table *t, jv e)
{
	const char *what = wf_jv_str(e, "event") ? wf_jv_str(e, "event") : "?";
	int step = !strcmp(what, "step");
	struct row *r;
	char *pass;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->rows = wf_xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	r = &t->rows[t->n++];
	pass = !step ? wf_xstrdup("") : wf_jv_num(e, "attempt", 1) > 1 ?
		wf_xasprintf("#%g try %g", wf_jv_num(e, "pass", 1), wf_jv_num(e, "attempt", 1)) :
		wf_xasprintf("#%g", wf_jv_num(e, "pass", 1));
	r->cell[C_SEQ] = wf_jv_num(e, "seq", 0) > 0 ? wf_xasprintf("%g", wf_jv_num(e, "seq", 0)) : wf_xstrdup("");
	r->cell[C_STEP] = cell(wf_jv_str(e, "step"));
	r->cell[C_PASS] = pass;
	r->cell[C_STATUS] = cell(step ? wf_jv_str(e, "status") : what);
	r->cell[C_TIME] = step ? duration_text(e) : wf_xstrdup("");
	r->cell[C_MODEL] = cell(step ? wf_jv_str(e, "model") : NULL);
	r->cell[C_WHY] = step ? step_why(e) : event_why(e, what);
	r->color = step ? status_color(wf_jv_str(e, "status")) : NULL;
}

/* Print T's rows (the titles first when TITLE) in columns to FP, and let them go. */
static void
print_rows(struct table *t, FILE *fp, int color, int title)
{
	for (int c = 0; c < NCOLS - 1; c++) {
		if ((int)strlen(titles[c]) > t->width[c])
			t->width[c] = (int)strlen(titles[c]);
		for (size_t i = 0; i < t->n; i++)
			if ((int)strlen(t->rows[i].cell[c]) > t->width[c])
				t->width[c] = (int)strlen(t->rows[i].cell[c]);
	}
	for (size_t i = title ? 0 : 1; i <= t->n; i++) {
		struct row *r = i ? &t->rows[i - 1] : NULL;
		struct wf_buf b = {0};

		for (int c = 0; c < NCOLS; c++) {
			const char *text = r ? r->cell[c] : titles[c];
			int pad = c == NCOLS - 1 ? 0 : t->width[c] - (int)strlen(text);

			wf_buf_addstr(&b, c ? "  " : "");
			if (c == C_SEQ)
				wf_buf_printf(&b, "%*s", pad, "");
			if (color && r && r->color && c == C_STATUS)
				wf_buf_printf(&b, "%s%s\033[0m", r->color, text);
			else
				wf_buf_addstr(&b, text);
			if (c != C_SEQ)
				wf_buf_printf(&b, "%*s", pad, "");
		}
		/* No blanks at the end of a line whose last columns are empty. */
		while (b.len && b.s[b.len - 1] == ' ')
			b.s[--b.len] = 0;
		fprintf(fp, "%s\n", b.s);
		wf_buf_free(&b);
		for (int c = 0; r && c < NCOLS; c++)
			free(r->cell[c]);
	}
	t->n = 0;
}

/* ---- the entry point ---- */

/* The line above the list: which run, of which workflow, how it stands (STORY borrowed). */
static void
print_heading(FILE *fp, jv story)
{
	jv run = wf_jv_get(story, "run"), from = wf_jv_get(run, "forked_from");
	struct wf_buf b = {0};

	add_field(&b, "run ", run, "name", "?");
	if (wf_jv_num(run, "id", 0) > 0)
		wf_buf_printf(&b, " (#%g)", wf_jv_num(run, "id", 0));
	add_field(&b, ", workflow ", run, "workflow_name", "?");
	add_field(&b, ": ", run, "status", "?");
	if (jv_get_kind(from) == JV_KIND_OBJECT) {
		wf_buf_addstr(&b, "; forked from run ");
		add_quoted(&b, from, "run");
		wf_buf_addstr(&b, " at step ");
		add_quoted(&b, from, "step");
	}
	fprintf(fp, "%s\n", b.s);
	wf_buf_free(&b);
	jv_free(from);
	jv_free(run);
}

/* Is entry E (borrowed) a consent given with --yes, for every step before the run began?  Nothing to tell. */
static int
given_up_front(jv e)
{
	const char *what = wf_jv_str(e, "event"), *by = wf_jv_str(e, "by");

	return what && by && !strcmp(what, "consent") && !strcmp(by, "--yes");
}

/*
 * Print the entries of STORY (borrowed) from *SHOWN on, and move *SHOWN
 * past them; unless FINAL, stop at a step still running, which is shown
 * once it ends.
 */
static void
print_entries(const struct wf_timeline_opts *o, struct table *t, jv story, size_t *shown, int final)
{
	jv tl = wf_jv_get(story, "timeline");
	size_t len = jv_get_kind(tl) == JV_KIND_ARRAY ? (size_t)jv_array_length(jv_copy(tl)) : 0;
	for (; *shown < len; ++*shown) {
		jv e = jv_array_get(jv_copy(tl), (int)*shown);
		const char *st = wf_jv_str(e, "status");

		if (!final && st && !strcmp(st, "running") && !strcmp(wf_jv_str(e, "event"), "step")) {
			jv_free(e);
			break;
		}
		if (given_up_front(e))
			jv_free(e);
		else if (o->json)
			wf_json_print(o->out, e);
		else {
			add_row(t, e);
			jv_free(e);
		}
	}
	jv_free(tl);
	if (!o->json) {
		if (!t->headed)
			print_heading(o->out, story);
		print_rows(t, o->out, o->color, !t->headed);
		t->headed = 1;
	}
}

int
wf_timeline_print(struct wf_run *r, const struct wf_timeline_opts *o, char *err, size_t n)
{
	struct table t = {0};
	struct wf_run_watch w = { .ifd = -1, .steps_wd = -1 };
	size_t shown = 0;
	int rc = 0;

	if (o->follow)
		wf_run_watch_open(r, &w);
	for (;;) {
		/* Whether a process runs it, asked before the journal is read: all it wrote is then in the story. */
		int final = !o->follow || !wf_run_is_live(r);
		jv story = wf_story_of(r, err, n);

		if (!jv_is_valid(story)) {
			jv_free(story);
			rc = WF_EXIT_IO;
			break;
		}
		print_entries(o, &t, story, &shown, final);
		jv_free(story);
		if (fflush(o->out) || ferror(o->out) || final)
			break;
		(void)wf_run_watch_wait(r, &w);
	}
	wf_run_watch_close(&w);
	free(t.rows);
	return rc;
}
