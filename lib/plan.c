/*
 * plan.c: what a run would do, without running it: the path of steps a
 * dry run shows (wf-run --dry-run; its expected model use, --estimate,
 * is estimate.c's); and, at its end, what it did use: the end-of-run
 * line.
 *
 * Layer 4: driver.
 *
 * Rules: nothing runs and nothing is written but the text on the FILE
 * the caller gives (the run's log for the end-of-run line); a write
 * error there is the caller's to report.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "model_use.h"
#include "parallel.h"
#include "replay.h"

/* Print on FP the branches of the parallel step S (borrowed): each branch's steps or workflow, or the for-each body. */
static void
dry_branches(FILE *fp, jv s)
{
	jv bs = wf_jv_get(s, "branches");

	fprintf(fp, "      at most %d branches at once, on failure: %s\n", wf_parallel_concurrency(s),
		wf_jv_str(s, "on-failure") ? wf_jv_str(s, "on-failure") : "fail-fast");
	if (wf_jv_str(s, "for-each")) {
		jv body = wf_jv_get(s, "steps");

		fprintf(fp, "      for each item of %s as %s:", wf_jv_str(s, "for-each"), wf_jv_str(s, "as"));
		jv_array_foreach(body, k, st) {
			fprintf(fp, "%s %s (%s)", k ? "," : "", wf_jv_str(st, "id"), wf_jv_str(st, "action"));
			jv_free(st);
		}
		fprintf(fp, "\n");
		jv_free(body);
	}
	if (jv_get_kind(bs) == JV_KIND_ARRAY)
		jv_array_foreach(bs, k, b) {
			jv steps = wf_jv_get(b, "steps");

			fprintf(fp, "      branch %s:", wf_jv_str(b, "name"));
			if (wf_jv_str(b, "workflow"))
				fprintf(fp, " workflow %s", wf_jv_str(b, "workflow"));
			if (jv_get_kind(steps) == JV_KIND_ARRAY)
				jv_array_foreach(steps, j, st) {
					fprintf(fp, "%s %s (%s)", j ? "," : "", wf_jv_str(st, "id"), wf_jv_str(st, "action"));
					jv_free(st);
				}
			fprintf(fp, "\n");
			(void)k;
			jv_free(steps);
			jv_free(b);
		}
	jv_free(bs);
}

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
					     "on-split", "on-complete", "on-error", NULL };

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
		if (!strcmp(action, "parallel"))
			dry_branches(fp, s);
		jv_free(s);
	}
	jv_free(steps);
	jv_free(ctx);
	return ferror(fp) ? WF_EXIT_IO : 0;
}

/* ---- the end of a run ---- */

/*
 * The end-of-run line, on the log unless --quiet: the run's name, HOW it
 * ended, the steps this process ran and the time it took (and the run's
 * steps in all, after a resume), and the use of
 * each model over the whole run from STATE (borrowed): on the line when
 * one model was used, a line each below it when several were.
 */
void
wf_driver_summary(struct driver *d, jv state, const char *how)
{
	jv usage = wf_jv_get(state, "usage");
	struct wf_buf b = {0};

	wf_buf_printf(&b, "%s%s: %s%s %ld step%s in %.2fs",
		      wf_driver_col(d, strcmp(how, "completed") ? "\033[1;33m" : "\033[1;32m"), d->run->name, how,
		      wf_driver_col(d, "\033[0m"), d->ran, d->ran == 1 ? "" : "s", (wf_now_ms() - d->t0) / 1000.0);
	/* A resumed run: the steps of the whole run too, from its journal. */
	if (wf_jv_num(state, "steps_run", 0) > (double)d->ran)
		wf_buf_printf(&b, " (%.0f in all)", wf_jv_num(state, "steps_run", 0));
	{
		/* Models that stood in for others are counted, never silent (wf status lists them). */
		jv fb = wf_jv_get(state, "fallbacks");
		int n = jv_get_kind(fb) == JV_KIND_ARRAY ? jv_array_length(jv_copy(fb)) : 0;

		if (n)
			wf_buf_printf(&b, ", %d fallback%s", n, n == 1 ? "" : "s");
		jv_free(fb);
	}
	wf_usage_text(&b, usage);
	if (wf_replay_count(usage) > 0)
		wf_buf_printf(&b, "\n  %.0f call%s replayed, at no cost", wf_replay_count(usage), wf_replay_count(usage) == 1 ? "" : "s");
	wf_driver_progress(d, "%s\n", b.s);
	wf_buf_free(&b);
	jv_free(usage);
}
