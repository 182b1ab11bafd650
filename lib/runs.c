/*
 * runs.c: runs in lists, for people and scripts: what one run is in a
 * line (wf status, wf runs, and the history's summary.json), the current
 * runs of a project or of every project (wf status), and a project's
 * runs, current and past (wf runs).  The current runs
 * are read as 'wf status' reads them; the past ones come from the
 * history's summaries (state_history.c).  Newest first, by start time.
 * Layer 2: domain data.
 * Text goes to the FILE the command passes in; nothing here exits.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "history.h"

/*
 * How long a run whose state is S (borrowed) has run, in milliseconds:
 * from its start to when it ended or paused, to now while it runs
 * (LIVE), else to its last event; -1 when it never started.
 */
static double
run_duration(jv s, int live)
{
	double from = wf_iso_ms(wf_jv_str(s, "started")), to;
	struct timespec now;

	if (from < 0)
		return -1;
	to = wf_iso_ms(wf_jv_str(s, "ended"));
	if (to < 0 && live) {
		clock_gettime(CLOCK_REALTIME, &now);
		to = (double)now.tv_sec * 1000 + (double)(now.tv_nsec / 1000000);
	}
	if (to < 0)
		to = wf_iso_ms(wf_jv_str(s, "updated"));
	return to > from ? to - from : 0;
}

/* E (consumed, returned) with the model use of state S (borrowed): calls, tokens, cost_usd (null when a price is unknown). */
static jv
usage_fields(jv e, jv s)
{
	jv usage = wf_jv_get(s, "usage");
	double calls = 0, in = 0, out = 0, usd = 0;
	int known = 1;

	if (jv_get_kind(usage) == JV_KIND_OBJECT)
		jv_object_foreach(usage, k, v) {
			jv c = wf_jv_get(v, "usd");

			calls += wf_jv_num(v, "calls", 0);
			in += wf_jv_num(v, "input_tokens", 0);
			out += wf_jv_num(v, "output_tokens", 0);
			if (jv_get_kind(c) == JV_KIND_NUMBER)
				usd += jv_number_value(c);
			else
				known = 0;
			jv_free(c);
			jv_free(k);
			jv_free(v);
		}
	jv_free(usage);
	e = jv_object_set(e, jv_string("calls"), jv_number(calls));
	e = jv_object_set(e, jv_string("input_tokens"), jv_number(in));
	e = jv_object_set(e, jv_string("output_tokens"), jv_number(out));
	e = jv_object_set(e, jv_string("tokens"), jv_number(in + out));
	return jv_object_set(e, jv_string("cost_usd"), known ? jv_number(usd) : jv_null());
}

/*
 * The name (its "name:") of the workflow run R started from: as its
 * run-start recorded it, else from its workflow.json; the caller owns
 * it, null when neither says.
 */
static jv
workflow_name(struct wf_run *r)
{
	char err[256];
	jv wf, name;

	if (wf_jv_str(r->state, "workflow_name"))
		return wf_jv_get(r->state, "workflow_name");
	wf = wf_run_workflow(r, err, sizeof err);
	name = jv_is_valid(wf) ? wf_jv_get(wf, "name") : jv_null();
	jv_free(wf);
	return jv_get_kind(name) == JV_KIND_STRING ? name : (jv_free(name), jv_null());
}

/* R is borrowed; the caller owns the summary returned. */
jv
wf_run_summary(struct wf_run *r, int live)
{
	jv s = r->state, e = jv_object();
	double ms = run_duration(s, live);

	e = jv_object_set(e, jv_string("id"), r->past ? jv_number(r->id) : wf_jv_get(s, "id"));
	e = jv_object_set(e, jv_string("name"), jv_string(r->name));
	e = jv_object_set(e, jv_string("workflow"), workflow_name(r));
	e = jv_object_set(e, jv_string("source"), wf_jv_get(s, "workflow"));
	e = jv_object_set(e, jv_string("status"), jv_string(wf_run_status_shown(s, live)));
	e = jv_object_set(e, jv_string("reason"), wf_jv_get(s, "reason"));
	e = jv_object_set(e, jv_string("step"), wf_jv_get(s, "cursor"));
	e = jv_object_set(e, jv_string("started"), wf_jv_get(s, "started"));
	e = jv_object_set(e, jv_string("ended"), wf_jv_get(s, "ended"));
	e = jv_object_set(e, jv_string("duration_ms"), ms < 0 ? jv_null() : jv_number(ms));
	e = jv_object_set(e, jv_string("updated"), wf_jv_get(s, "updated"));
	e = jv_object_set(e, jv_string("steps_run"), wf_jv_get(s, "steps_run"));
	return usage_fields(e, s);
}

/* LIST (consumed, returned) with PROJ's current runs, as wf_runs_current says. */
jv
wf_runs_current(jv list, const char *proj, const char *workflow, const char *path)
{
	char *runs = wf_xasprintf("%s/runs", proj);
	struct dirent **ents = NULL;
	int k = scandir(runs, &ents, NULL, alphasort);

	for (int i = 0; i < k; i++) {
		const char *d = ents[i]->d_name;
		struct wf_run *r;
		char err[512];
		jv e;

		if (d[0] == '.') {
			free(ents[i]);
			continue;
		}
		if (wf_run_open_in(proj, d, 0, &r, err, sizeof err) == 0) {
			e = wf_run_summary(r, wf_run_is_live(r));
			wf_run_close(r);
		} else {
			/* Listed, never hidden: 'wf-state fsck NAME' says what is wrong, rm --force removes it. */
			e = jv_object_set(jv_object(), jv_string("name"), jv_string(d));
			e = jv_object_set(e, jv_string("status"), jv_string("damaged"));
			e = jv_object_set(e, jv_string("error"), jv_string(err));
		}
		if (path)
			e = jv_object_set(e, jv_string("project"), jv_string(path));
		if (!workflow || !strcmp(wf_jv_str(e, "workflow") ? wf_jv_str(e, "workflow") : wf_jv_str(e, "name"),
					 workflow))
			list = jv_array_append(list, e);
		else
			jv_free(e);
		free(ents[i]);
	}
	free(ents);
	free(runs);
	return list;
}

int
wf_run_list(int every, jv *out, char *err, size_t n)
{
	char *proj = NULL;
	int rc = wf_state_open_project(0, &proj, err, n);
	jv list = jv_array();

	*out = jv_array();
	if (rc && rc != WF_EXIT_NOINPUT)
		return rc;
	if (!every && !rc)
		list = wf_runs_current(list, proj, NULL, NULL);
	if (every) {
		char *root = wf_state_root(), *projects = wf_xasprintf("%s/projects", root);
		struct dirent **ents = NULL;
		char perr[512];
		/* Every project: this one may have no state while others do. */
		int k = wf_state_prepare(root, 0, perr, sizeof perr) ? 0 : scandir(projects, &ents, NULL, alphasort);

		for (int i = 0; i < k; i++) {
			if (ents[i]->d_name[0] != '.') {
				char *dir = wf_xasprintf("%s/%s", projects, ents[i]->d_name), *path = wf_state_project_path(dir);

				list = wf_runs_current(list, dir, NULL, path);
				free(path);
				free(dir);
			}
			free(ents[i]);
		}
		free(ents);
		free(projects);
		free(root);
	}
	free(proj);
	jv_free(*out);
	*out = wf_runs_sorted(list);
	return 0;
}

/* A run in a list, with what it is sorted by read once. */
struct sortable {
	const char *started, *name;	/* borrowed from V */
	double id;
	jv v;
};

/* Newest first: the later start, then the higher id, then the name; a run that never started last. */
static int
newest_first(const void *a, const void *b)
{
	const struct sortable *x = a, *y = b;
	int c;

	if (x->started && y->started && (c = strcmp(y->started, x->started)))
		return c;
	if (!x->started != !y->started)
		return x->started ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? 1 : -1;
	return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* LIST is consumed; the caller owns the array returned. */
jv
wf_runs_sorted(jv list)
{
	int n = jv_array_length(jv_copy(list));
	struct sortable *v = wf_xcalloc((size_t)n + 1, sizeof *v);
	jv out = jv_array();

	for (int i = 0; i < n; i++) {
		v[i].v = jv_array_get(jv_copy(list), i);
		v[i].started = wf_jv_str(v[i].v, "started");
		v[i].name = wf_jv_str(v[i].v, "name");
		v[i].id = wf_jv_num(v[i].v, "id", 0);
	}
	qsort(v, (size_t)n, sizeof *v, newest_first);
	for (int i = 0; i < n; i++)
		out = jv_array_append(out, v[i].v);
	free(v);
	jv_free(list);
	return out;
}

/* PROJ's newest LIMIT (0: all) runs, current and past (only WORKFLOW's when not NULL); the caller owns the array. */
jv
wf_runs_collect(const char *proj, const char *workflow, int limit)
{
	jv all = wf_history_list(proj, workflow, limit), now = wf_runs_current(jv_array(), proj, workflow, NULL);
	int n;

	jv_array_foreach(now, i, e) {
		(void)i;
		all = jv_array_append(all, jv_object_set(e, jv_string("past"), jv_false()));
	}
	jv_free(now);
	all = wf_runs_sorted(all);
	n = jv_array_length(jv_copy(all));

	/* Past runs are numbered as they started, so the newest LIMIT of them are enough. */
	return limit > 0 && n > limit ? jv_array_slice(all, 0, limit) : all;
}

/* ---- the one list printer: wf status (runs) and wf runs (WF_LIST_HISTORY) ---- */

enum { COL_ID, COL_NAME, COL_WORKFLOW, COL_STATUS, COL_STEP, COL_STARTED, COL_DURATION, COL_STEPS, COL_TOKENS,
       COL_COST, COL_PROJECT, NCOLS };
/* A cell holds any name a directory entry can have. */
#define CELL 256

static const char *const heads[NCOLS] = {
	"ID", "NAME", "WORKFLOW", "STATUS", "STEP", "STARTED", "DURATION", "STEPS", "TOKENS", "COST", "PROJECT"
};

/* Which columns a list shows: wf status (with --all, the project too), or wf runs. */
static int
shown(int col, int flags)
{
	if (col == COL_PROJECT)
		return (flags & WF_LIST_ALL) != 0;
	if (flags & WF_LIST_HISTORY)
		return col != COL_STEP;
	return col != COL_ID && col != COL_STEPS && col != COL_TOKENS;
}

/* What a list line shows of a run, read from its object in one pass. */
struct line {
	const char *text[NCOLS];	/* the text columns; borrowed from the object */
	const char *started;
	double id, duration_ms, steps_run, tokens, calls, cost_usd;	/* -1: absent, or null */
};

/* The members of E (borrowed) that a line shows into *L, in one pass over E. */
static void
read_line(jv e, struct line *l)
{
	static const struct { const char *key; int col; } texts[] = {
		{ "name", COL_NAME }, { "workflow", COL_WORKFLOW }, { "status", COL_STATUS },
		{ "step", COL_STEP }, { "project", COL_PROJECT }, { "started", -1 },
	};
	static const struct { const char *key; size_t at; } nums[] = {
		{ "id", offsetof(struct line, id) }, { "duration_ms", offsetof(struct line, duration_ms) },
		{ "steps_run", offsetof(struct line, steps_run) }, { "tokens", offsetof(struct line, tokens) },
		{ "calls", offsetof(struct line, calls) }, { "cost_usd", offsetof(struct line, cost_usd) },
	};

	memset(l, 0, sizeof *l);
	l->id = l->duration_ms = l->steps_run = l->tokens = l->calls = l->cost_usd = -1;
	jv_object_foreach(e, k, v) {
		const char *key = jv_string_value(k);

		if (jv_get_kind(v) == JV_KIND_STRING) {
			for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
				if (!strcmp(key, texts[i].key)) {
					/* The text lives as long as E, which holds it too. */
					if (texts[i].col < 0)
						l->started = jv_string_value(v);
					else
						l->text[texts[i].col] = jv_string_value(v);
				}
		} else if (jv_get_kind(v) == JV_KIND_NUMBER) {
			for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
				if (!strcmp(key, nums[i].key))
					*(double *)((char *)l + nums[i].at) = jv_number_value(v);
		}
		jv_free(k);
		jv_free(v);
	}
}

/* The cost cell of line L: "-" without model calls, "unknown" when a price is, else dollars. */
static void
cost_cell(const struct line *l, int raw, char *cell, size_t n)
{
	double usd = l->cost_usd;

	if (l->calls <= 0)
		snprintf(cell, n, "-");
	else if (usd < 0)
		snprintf(cell, n, "unknown");
	else if (raw)
		snprintf(cell, n, "%.6f", usd);
	else if (usd > 0 && usd < 0.0001)
		snprintf(cell, n, "<$0.0001");
	else
		snprintf(cell, n, "$%.4f", usd);
}

/*
 * The cells of list entry E (borrowed) into CELL (each N bytes): for a
 * person (local time, 2m03s, $0.0123), or for a script when RAW (the
 * journal's UTC time, milliseconds, dollars to six places).  "-" for
 * nothing.
 */
static void
list_cells(jv e, int raw, char cell[NCOLS][CELL], size_t n)
{
	static const int texts[] = { COL_NAME, COL_WORKFLOW, COL_STATUS, COL_STEP, COL_PROJECT };
	struct line l;
	char when[32], dur[24];

	read_line(e, &l);
	for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
		snprintf(cell[texts[i]], n, "%s", l.text[texts[i]] ? l.text[texts[i]] : "-");
	if (l.id > 0)
		snprintf(cell[COL_ID], n, "%.0f", l.id);
	else
		snprintf(cell[COL_ID], n, "-");
	wf_local_time(l.started, when);
	snprintf(cell[COL_STARTED], n, "%s", raw && l.started && strcmp(when, "-") ? l.started : when);
	wf_human_ms(l.duration_ms, dur);
	if (raw && l.duration_ms >= 0)
		snprintf(cell[COL_DURATION], n, "%.0f", l.duration_ms);
	else
		snprintf(cell[COL_DURATION], n, "%s", dur);
	snprintf(cell[COL_STEPS], n, "%.0f", l.steps_run > 0 ? l.steps_run : 0);
	snprintf(cell[COL_TOKENS], n, "%.0f", l.tokens > 0 ? l.tokens : 0);
	cost_cell(&l, raw, cell[COL_COST], n);
}

/* LIST is borrowed. */
void
wf_run_print_list(FILE *fp, jv list, int flags)
{
	int n = jv_array_length(jv_copy(list)), width[NCOLS], last = 0;
	char (*cells)[NCOLS][CELL] = wf_xmalloc(sizeof *cells * (size_t)(n > 0 ? n : 1));

	for (int c = 0; c < NCOLS; c++) {
		width[c] = flags & WF_LIST_HEADER ? (int)strlen(heads[c]) : 0;
		if (shown(c, flags))
			last = c;
	}
	for (int i = 0; i < n; i++) {
		jv e = jv_array_get(jv_copy(list), i);

		list_cells(e, flags & WF_LIST_RAW, cells[i], sizeof cells[i][0]);
		for (int c = 0; c < NCOLS; c++)
			if ((int)strlen(cells[i][c]) > width[c])
				width[c] = (int)strlen(cells[i][c]);
		jv_free(e);
	}
	for (int i = flags & WF_LIST_HEADER ? -1 : 0; i < n; i++)
		for (int c = 0; c < NCOLS; c++) {
			const char *t = i < 0 ? heads[c] : cells[i][c];

			if (!shown(c, flags))
				continue;
			if (flags & WF_LIST_RAW)
				fprintf(fp, "%s%s", t, c < last ? "\t" : "\n");
			else
				fprintf(fp, "%-*s%s", c < last ? width[c] : 0, t, c < last ? "  " : "\n");
		}
	free(cells);
}

/* GONE (consumed) is what wf_history_gc removed, or would with DRY. */
void
wf_gc_print(FILE *fp, jv gone, int dry)
{
	jv_array_foreach(gone, i, e) {
		char when[32];

		(void)i;
		wf_local_time(wf_jv_str(e, "started"), when);
		fprintf(fp, "%s %.0f %s (%s, started %s)\n", dry ? "would remove" : "removed", wf_jv_num(e, "id", 0),
			wf_jv_str(e, "name") ? wf_jv_str(e, "name") : "?",
			wf_jv_str(e, "status") ? wf_jv_str(e, "status") : "?", when);
		jv_free(e);
	}
	jv_free(gone);
}
