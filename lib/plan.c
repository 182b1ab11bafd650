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
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "history.h"
#include "model_use.h"
#include "replay.h"

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
	jv past = wf_state_open_project(0, &proj, err, sizeof err) ? jv_array() : wf_history_list(proj, name, 0);
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

/*
 * The model step S (borrowed) talks to, by the name the registry knows:
 * its own model:, else CURRENT (the workflow's, as switch-model steps
 * before it left it), else "default".  Borrowed from S or CURRENT.
 */
static const char *
step_model(jv s, const char *current)
{
	const char *own = wf_jv_str(s, "model");

	return own && *own ? own : current && *current ? current : "default";
}

/* The name of model M (borrowed): a name, or a description's "name"; NULL for none.  Borrowed from M. */
static const char *
model_text(jv m)
{
	return jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : wf_jv_str(m, "name");
}

/*
 * BY (consumed, returned) with one call of about TOK input tokens to
 * model NAME, counted under the name it resolves to in REG (borrowed;
 * invalid when the configuration does not load, WHY says why), with its
 * prices, or why they are unknown.  The name counted goes into SHOWN.
 */
static jv
count_call(jv by, jv reg, const char *why, const char *name, const char *original, double tok, char shown[128])
{
	char err[512];
	jv m = jv_is_valid(reg) ? wf_model_resolve(reg, name, original, err, sizeof err) : jv_invalid();
	jv per;

	snprintf(shown, 128, "%s", jv_is_valid(m) && wf_jv_str(m, "name") ? wf_jv_str(m, "name") : name);
	per = wf_jv_get(by, shown);
	if (jv_get_kind(per) != JV_KIND_OBJECT) {
		jv_free(per);
		per = jv_object_set(jv_object(), jv_string("prices"), jv_is_valid(m) ? wf_jv_get(m, "prices") : jv_null());
		per = jv_object_set(per, jv_string("why"), jv_string(jv_is_valid(m) ? "no price in the model configuration" :
								      jv_is_valid(reg) ? err : why));
	}
	per = jv_object_set(per, jv_string("calls"), jv_number(wf_jv_num(per, "calls", 0) + 1));
	per = jv_object_set(per, jv_string("tokens"), jv_number(wf_jv_num(per, "tokens", 0) + tok));
	jv_free(m);
	return jv_object_set(by, jv_string(shown), per);
}

/*
 * Print on FP the price of BY (borrowed, from count_call: the estimated
 * input of each model), per model and in total; "unknown" for a model
 * with no price.
 */
static void
estimate_cost(FILE *fp, jv by)
{
	double total = 0;
	int known = 1, priced = 0;

	fprintf(fp, "  input tokens priced by model (output tokens cost more on top):\n");
	jv_object_foreach(by, k, v) {
		jv prices = wf_jv_get(v, "prices");
		double tok = wf_jv_num(v, "tokens", 0), calls = wf_jv_num(v, "calls", 0);

		fprintf(fp, "    %-12s %g call%s, about %.0f input tokens, ", jv_string_value(k), calls,
			calls == 1 ? "" : "s", tok);
		if (jv_get_kind(prices) == JV_KIND_OBJECT && wf_jv_num(prices, "input", -1) >= 0) {
			double usd = tok * wf_jv_num(prices, "input", 0) / 1e6;

			fprintf(fp, "$%.6f (output $%g per million tokens)\n", usd, wf_jv_num(prices, "output", 0));
			total += usd;
			priced++;
		} else {
			fprintf(fp, "unknown (%s)\n", wf_jv_str(v, "why"));
			known = 0;
		}
		jv_free(prices);
		jv_free(k);
		jv_free(v);
	}
	if (known)
		fprintf(fp, "  estimated cost of the input per pass: $%.6f\n", total);
	else if (priced)
		fprintf(fp, "  estimated cost of the input per pass: unknown (the priced part $%.6f)\n", total);
	else
		fprintf(fp, "  estimated cost of the input per pass: unknown\n");
}

/* Print on FP the expected model use of WF (borrowed), its price, and earlier runs' averages: 0, or 74. */
int
wf_run_estimate(FILE *fp, jv wf)
{
	jv steps = wf_jv_get(wf, "steps"), model = wf_jv_get(wf, "model"), by = jv_object(), reg = jv_null();
	struct wf_diag diag = {0};
	double total = 0;
	int calls = 0, code;
	const char *name = wf_jv_str(wf, "name"), *current = model_text(model);

	fprintf(fp, "%s: estimate before running\n", name);
	jv_array_foreach(steps, i, s) {
		const char *a = wf_jv_str(s, "action");

		(void)i;
		if (a && !strcmp(a, "switch-model") && wf_jv_str(s, "model")) {
			/* The text lives in STEPS, which outlives the loop. */
			current = wf_jv_str(s, "model");
		} else if (a && wf_action_uses_model(a)) {
			double est = wf_gate_call_estimate(jv_null(), s);
			char shown[128];

			if (jv_get_kind(reg) == JV_KIND_NULL)
				reg = wf_models_load(&diag, &code);
			by = count_call(by, reg, diag.n ? diag.msgs[0] : "the model configuration does not load",
					step_model(s, current), model_text(model), est, shown);
			fprintf(fp, "  %-10s %-13s %-12s about %.0f input tokens%s\n", wf_jv_str(s, "id"), a, shown, est,
				strcmp(a, "ai-prompt") ? " plus the diff and files it reads" : "");
			total += est;
			calls++;
		}
		jv_free(s);
	}
	fprintf(fp, "  %d model call%s per pass, about %.0f input tokens before any loop repeats\n", calls,
		calls == 1 ? "" : "s", total);
	if (calls)
		estimate_cost(fp, by);
	earlier_runs(fp, name);
	wf_diag_free(&diag);
	jv_free(reg);
	jv_free(by);
	jv_free(model);
	jv_free(steps);
	return ferror(fp) ? WF_EXIT_IO : 0;
}

/* ---- the end of a run ---- */

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
	struct wf_buf b = {0};

	wf_buf_printf(&b, "%s%s: %s%s %ld step%s in %.2fs",
		      wf_driver_col(d, strcmp(how, "completed") ? "\033[1;33m" : "\033[1;32m"), d->run->name, how,
		      wf_driver_col(d, "\033[0m"), d->ran, d->ran == 1 ? "" : "s", (wf_now_ms() - d->t0) / 1000.0);
	wf_usage_text(&b, usage);
	if (wf_replay_count(usage) > 0)
		wf_buf_printf(&b, "\n  %.0f call%s replayed, at no cost", wf_replay_count(usage), wf_replay_count(usage) == 1 ? "" : "s");
	wf_driver_progress(d, "%s\n", b.s);
	wf_buf_free(&b);
	jv_free(usage);
}
