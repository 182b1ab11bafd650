/*
 * plan.c: what a run would do, without running it: the path of steps a
 * dry run shows (wf-run --dry-run) and the expected model use with the
 * averages of earlier runs (wf-run --estimate).
 *
 * Layer 4: driver.
 *
 * Rules: nothing runs and nothing is written but the text on the FILE
 * the caller gives; a write error there is the caller's to report.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "history.h"

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

/* Print on FP the average use of the earlier runs of workflow NAME in this project, from its history. */
static void
earlier_runs(FILE *fp, const char *name)
{
	char *proj = NULL, err[256];
	jv past = wf_state_open_project(0, &proj, err, sizeof err) ? jv_array() : wf_history_list(proj, name);
	double tok = 0, usd = 0;
	int usd_known = 1, runs = 0;

	free(proj);
	jv_array_foreach(past, i, e) {
		jv c = wf_jv_get(e, "cost_usd");

		(void)i;
		if (jv_object_has(jv_copy(e), jv_string("input_tokens"))) {
			runs++;
			tok += wf_jv_num(e, "input_tokens", 0) + wf_jv_num(e, "output_tokens", 0);
			if (jv_get_kind(c) == JV_KIND_NUMBER)
				usd += jv_number_value(c);
			else
				usd_known = 0;
		}
		jv_free(c);
		jv_free(e);
	}
	jv_free(past);
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
