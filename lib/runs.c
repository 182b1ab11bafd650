/*
 * runs.c: a project's runs, current and past, for people and scripts
 * (wf runs, wf gc; wf-state(1)).  The current runs are read as 'wf
 * status' reads them; the past ones come from the history's summaries
 * (state_history.c).  Newest first, by start time.
 * Layer 2: domain data.
 * Text goes to the FILE the command passes in; nothing here exits.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"

/* The summaries of PROJ's current runs (only WORKFLOW's when not NULL), appended to OUT (consumed, returned). */
static jv
current_runs(jv out, const char *proj, const char *workflow)
{
	char *runs = wf_xasprintf("%s/runs", proj);
	struct dirent **ents = NULL;
	int k = scandir(runs, &ents, NULL, alphasort);

	for (int i = 0; i < k; i++) {
		struct wf_run *r;
		char err[512];
		jv e;

		if (ents[i]->d_name[0] != '.' && wf_run_open_in(proj, ents[i]->d_name, 0, &r, err, sizeof err) == 0) {
			e = wf_run_summary(r->state, wf_run_status_shown(r->state, wf_run_is_live(r)));
			if (wf_jv_str(r->state, "status") &&
			    (!workflow || !strcmp(wf_jv_str(e, "workflow") ? wf_jv_str(e, "workflow") : "", workflow)))
				out = jv_array_append(out, jv_object_set(e, jv_string("past"), jv_false()));
			else
				jv_free(e);
			wf_run_close(r);
		} else if (ents[i]->d_name[0] != '.' && (!workflow || !strcmp(workflow, ents[i]->d_name))) {
			/* Listed, never hidden: 'wf-state fsck NAME' says what is wrong. */
			e = jv_object_set(jv_object(), jv_string("name"), jv_string(ents[i]->d_name));
			e = jv_object_set(e, jv_string("status"), jv_string("damaged"));
			out = jv_array_append(out, jv_object_set(e, jv_string("past"), jv_false()));
		}
		free(ents[i]);
	}
	free(ents);
	free(runs);
	return out;
}

/* Newest first by start time; a run without one first of all. */
static int
by_start_desc(const void *a, const void *b)
{
	jv x = *(const jv *)a, y = *(const jv *)b;
	const char *sx = wf_jv_str(x, "started"), *sy = wf_jv_str(y, "started");

	if (!sx || !sy)
		return !sx && sy ? -1 : sx && !sy ? 1 : 0;
	return -strcmp(sx, sy);
}

/* PROJ's runs, current and past, newest first (only WORKFLOW's when not NULL); the caller owns the array. */
jv
wf_runs_collect(const char *proj, const char *workflow)
{
	jv all = current_runs(wf_history_list(proj, workflow), proj, workflow), out = jv_array();
	int n = jv_array_length(jv_copy(all));
	jv *v = wf_xcalloc((size_t)n + 1, sizeof *v);

	for (int i = 0; i < n; i++)
		v[i] = jv_array_get(jv_copy(all), i);
	qsort(v, (size_t)n, sizeof *v, by_start_desc);
	for (int i = 0; i < n; i++)
		out = jv_array_append(out, v[i]);
	free(v);
	jv_free(all);
	return out;
}

/* COST of a summary (borrowed) as shown: "$0.0123", "-" when nothing was spent, "unknown". */
static void
cost_text(jv e, char out[24])
{
	jv c = wf_jv_get(e, "cost_usd");

	if (jv_get_kind(c) == JV_KIND_NUMBER)
		snprintf(out, 24, jv_number_value(c) > 0 ? "$%.4f" : "-", jv_number_value(c));
	else
		snprintf(out, 24, jv_get_kind(c) == JV_KIND_NULL && jv_object_has(jv_copy(e), jv_string("cost_usd")) ?
			 "unknown" : "-");
	jv_free(c);
}

/* Print LIST (borrowed), summaries as wf_runs_collect gives them, one line each; HEADER first when asked. */
void
wf_runs_print(FILE *fp, jv list, int header)
{
	if (header)
		fprintf(fp, "%-5s %-20s %-16s %-11s %-19s %8s %5s %9s %s\n", "ID", "NAME", "WORKFLOW", "STATUS",
			"STARTED", "DURATION", "STEPS", "TOKENS", "COST");
	jv_array_foreach(list, i, e) {
		char when[32], dur[24], cost[24], id[24];
		jv d = wf_jv_get(e, "duration_ms");

		(void)i;
		wf_local_time(wf_jv_str(e, "started"), when);
		wf_human_ms(jv_get_kind(d) == JV_KIND_NUMBER ? jv_number_value(d) : -1, dur);
		cost_text(e, cost);
		if (wf_jv_num(e, "id", 0) > 0)
			snprintf(id, sizeof id, "%.0f", wf_jv_num(e, "id", 0));
		else
			snprintf(id, sizeof id, "-");
		fprintf(fp, "%-5s %-20s %-16s %-11s %-19s %8s %5.0f %9.0f %s\n", id,
			wf_jv_str(e, "name") ? wf_jv_str(e, "name") : "?",
			wf_jv_str(e, "workflow") ? wf_jv_str(e, "workflow") : "-",
			wf_jv_str(e, "status") ? wf_jv_str(e, "status") : "?", when, dur, wf_jv_num(e, "steps", 0),
			wf_jv_num(e, "input_tokens", 0) + wf_jv_num(e, "output_tokens", 0), cost);
		jv_free(d);
		jv_free(e);
	}
}
