/*
 * plan.c: what a run would do, without running it: the path of steps a
 * dry run shows (wf-run --dry-run) and the expected model use with the
 * averages of earlier runs (wf-run --estimate); and, at its end, what it
 * did use: the end-of-run line.
 *
 * Layer 4: driver.
 *
 * Rules: nothing runs and nothing is written but the text on the FILE
 * the caller gives (the run's log for the end-of-run line); a write
 * error there is the caller's to report.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* Print on FP the path a run of WF (borrowed) would take with O's variables, from O's start step: 0, or 74. */
int
wf_run_dry(FILE *fp, jv wf, struct wf_run_opts *o)
{
	jv steps = wf_jv_get(wf, "steps");
	int n = jv_array_length(jv_copy(steps));
	jv ctx = jv_object_set(jv_object(), jv_string("vars"), wf_flow_merged_vars(wf, o->vars));
	int i = o->start_step ? wf_workflow_step_index(wf, o->start_step) : 0;
	static const char *const texts[] = { "command", "prompt", "message", "model", "title", "body",
					     "from", "value", "condition", "to", NULL };
	static const char *const jumps[] = { "on-true", "on-false", "on-approved", "on-rejected",
					     "on-complete", "on-error", NULL };

	fprintf(fp, "%s: dry run, nothing is executed (%d steps)\n", wf_jv_str(wf, "name"), n);
	for (; i >= 0 && i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *action = wf_jv_str(s, "action");

		fprintf(fp, "[%d/%d] %s %s\n", i + 1, n, wf_jv_str(s, "id"), action);
		for (int k = 0; texts[k]; k++) {
			const char *t = wf_jv_str(s, texts[k]);
			char err[256];
			char *sub;

			if (!t)
				continue;
			/* Shell text is shown as written: the shell expands it, from the environment. */
			sub = !strcmp(texts[k], "command") ? wf_xstrdup(t) : wf_subst(t, ctx, 0, NULL, err, sizeof err);
			fprintf(fp, "      %s: %s\n", texts[k], sub ? sub : t);
			free(sub);
		}
		if (wf_jv_str(s, "check"))
			fprintf(fp, "      check: %s\n", wf_jv_str(s, "check"));
		for (int k = 0; jumps[k]; k++)
			if (wf_jv_str(s, jumps[k]))
				fprintf(fp, "      %s -> %s\n", jumps[k], wf_jv_str(s, jumps[k]));
		if (!strcmp(action, "loop"))
			fprintf(fp, "      loops back to %s while '%s'; its body runs at most %g times\n", wf_jv_str(s, "to"),
				wf_jv_str(s, "condition"), wf_jv_num(s, "max-iterations", 0));
		jv_free(s);
	}
	jv_free(steps);
	jv_free(ctx);
	return ferror(fp) ? WF_EXIT_IO : 0;
}

/*
 * The usage of archived run DIR/ENT (its state.json) added to *TOK and
 * *USD (*USD_KNOWN cleared when a cost is unknown): 1, or 0 when it has
 * no readable state.
 */
static int
add_archived(const char *dir, const char *ent, double *tok, double *usd, int *usd_known)
{
	char *p = wf_xasprintf("%s/%s/state.json", dir, ent);
	struct wf_buf b = {0};
	char err[128];
	int got = 0;

	if (wf_read_file(p, (size_t)64 << 20, &b) == 0) {
		jv st = wf_json_parse(b.s, b.len, err, sizeof err);
		double t, u;

		if (jv_is_valid(st)) {
			wf_gate_usage_totals(st, &t, &u);
			*tok += t;
			if (u < 0)
				*usd_known = 0;
			else
				*usd += u;
			got = 1;
		}
		jv_free(st);
	}
	wf_buf_free(&b);
	free(p);
	return got;
}

/* Print on FP the average use of the earlier runs of workflow NAME, from the archive. */
static void
earlier_runs(FILE *fp, const char *name)
{
	char *root = wf_state_root();
	char *arch = wf_xasprintf("%s/archive", root);
	struct dirent **ents = NULL;
	int n = scandir(arch, &ents, NULL, alphasort), runs = 0;
	double tok = 0, usd = 0;
	int usd_known = 1;
	size_t nl = strlen(name);

	for (int i = 0; i < n; i++) {
		if (!strncmp(ents[i]->d_name, name, nl) && ents[i]->d_name[nl] == '.')
			runs += add_archived(arch, ents[i]->d_name, &tok, &usd, &usd_known);
		free(ents[i]);
	}
	free(ents);
	free(arch);
	free(root);
	if (runs)
		fprintf(fp, "  earlier runs (%d): on average %.0f tokens, %s%.4f\n", runs, tok / runs,
			usd_known ? "$" : "cost unknown, known part $", usd / runs);
	else
		fprintf(fp, "  no earlier runs of '%s' to average\n", name);
}

/* Print on FP the expected model use of WF (borrowed) and earlier runs' averages: 0, or 74. */
int
wf_run_estimate(FILE *fp, jv wf)
{
	jv steps = wf_jv_get(wf, "steps");
	double total = 0;
	int calls = 0;
	const char *name = wf_jv_str(wf, "name");

	fprintf(fp, "%s: estimate before running\n", name);
	jv_array_foreach(steps, i, s) {
		const char *a = wf_jv_str(s, "action");

		(void)i;
		if (a && wf_action_uses_model(a)) {
			double est = wf_gate_call_estimate(jv_null(), s);

			fprintf(fp, "  %-10s %-13s about %.0f input tokens%s\n", wf_jv_str(s, "id"), a, est,
				strcmp(a, "ai-prompt") ? " plus the diff and files it reads" : "");
			total += est;
			calls++;
		}
		jv_free(s);
	}
	fprintf(fp, "  %d model call%s per pass, about %.0f input tokens before any loop repeats\n", calls,
		calls == 1 ? "" : "s", total);
	earlier_runs(fp, name);
	jv_free(steps);
	return ferror(fp) ? WF_EXIT_IO : 0;
}

/* ---- the end of a run ---- */

/* One model's use PER (borrowed), as "N calls, I input / O output tokens, $U" (or cost unknown), into B. */
static void
model_use(struct wf_buf *b, jv per)
{
	double calls = wf_jv_num(per, "calls", 0), cached = wf_jv_num(per, "cached_tokens", 0);
	jv usd = wf_jv_get(per, "usd");

	wf_buf_printf(b, "%.0f call%s, %.0f input", calls, calls == 1 ? "" : "s", wf_jv_num(per, "input_tokens", 0));
	if (cached > 0)
		wf_buf_printf(b, " (%.0f cached)", cached);
	wf_buf_printf(b, " / %.0f output tokens, ", wf_jv_num(per, "output_tokens", 0));
	if (jv_get_kind(usd) == JV_KIND_NUMBER)
		wf_buf_printf(b, "$%.4f", jv_number_value(usd));
	else
		wf_buf_addstr(b, "cost unknown");
	jv_free(usd);
}

/*
 * The end-of-run line, on the log unless --quiet: the run's name, HOW it
 * ended, the steps this process ran and the time it took, and the use of
 * each model over the whole run from STATE (borrowed): on the line when
 * one model was used, a line each below it when several were.
 */
void
wf_driver_summary(struct driver *d, jv state, const char *how)
{
	jv usage = wf_jv_get(state, "usage");
	int models = jv_get_kind(usage) == JV_KIND_OBJECT ? jv_object_length(jv_copy(usage)) : 0;
	struct wf_buf b = {0};

	wf_buf_printf(&b, "%s%s: %s%s %ld step%s in %.2fs", wf_driver_col(d, "\033[1;32m"), d->run->name, how,
		      wf_driver_col(d, "\033[0m"), d->ran, d->ran == 1 ? "" : "s", (wf_now_ms() - d->t0) / 1000.0);
	if (models > 0)
		jv_object_foreach(usage, k, per) {
			wf_buf_printf(&b, models == 1 ? "; %s: " : "\n  %s: ", jv_string_value(k));
			model_use(&b, per);
			jv_free(k);
			jv_free(per);
		}
	wf_driver_progress(d, "%s\n", b.s);
	wf_buf_free(&b);
	jv_free(usage);
}
