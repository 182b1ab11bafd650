/*
 * estimate.c: what a run of a workflow is expected to use, before it
 * runs (wf-run --estimate; wf-run(1), "Replay and estimates"; the JSON
 * document: wf-json(7), "Estimate"): per model step and in total, the
 * calls, input and output tokens and cost, each with its basis, and
 * where the run's budget is likely crossed.
 *
 * Layer 4: driver.
 *
 * The basis is this project's completed runs of the workflow, current
 * and past (the newest HISTORY_RUNS): each step's mean and spread over
 * them, from each run's state.step_usage (every pass of a loop summed)
 * and state.passes.  With no such run, it is the step's prompt after
 * substitution (wf_tokens_of_bytes: four bytes a token), the transcript
 * an ai-prompt carries, and the model's output_tokens (models.yaml).
 *
 * Rules: nothing runs and nothing is written; an earlier run that does
 * not read is skipped with a note, never fatal.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "estimate.h"
#include "parallel.h"
#include "story.h"

/* How many of the newest completed runs are the history. */
#define HISTORY_RUNS 20
/* Output tokens of a call when the model names no output_tokens. */
#define DEFAULT_OUTPUT_TOKENS 500
/* A reference to what is not known before the run (a step's output): its tokens. */
#define UNKNOWN_REF_TOKENS 500
/* What a review-pr, make-changes, self-review, create-pr or commit-push reads (the diff, the PR): its tokens. */
#define READS_TOKENS 2000

/* One step of the workflow as the estimate sees it. */
struct est {
	const char *id, *action;	/* borrowed from the workflow */
	int listed;			/* a model step: shown, counted */
	double passes;			/* expected executions (rounded for the walk) */
	double max_passes;		/* at most (a loop's body), 0: no bound to state */
	double v[4], sd[4];		/* calls, input, output, usd: mean and spread */
	int usd_known;
	int branches;			/* a parallel step's: how many (-1: a for-each list not known before the run) */
	char model[128];
	char basis[512], cost_why[512];
};

enum { CALLS, IN, OUT, USD };

/* ---- the history ---- */

/* NOTES (consumed, returned) with one more, printf-style. */
static jv
note(jv notes, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static jv
note(jv notes, const char *fmt, ...)
{
	va_list ap;
	char buf[1024];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return jv_array_append(notes, jv_string(buf));
}

/*
 * The newest completed runs of workflow NAME in this project, current
 * and past, newest first, each {"step_usage" (its state's), "passes"
 * (its story's: executions by step)}; a run that does not read is left
 * out with a note in *NOTES (consumed and replaced).  Caller owns.
 */
static jv
history_states(const char *name, jv *notes)
{
	char *proj = NULL, err[512];
	jv list, out = jv_array();

	if (wf_state_open_project(0, &proj, err, sizeof err)) {
		free(proj);
		return out;
	}
	/* Every run: one that does not read has no workflow to filter by. */
	list = wf_runs_collect(proj, NULL, 0);
	jv_array_foreach(list, i, e) {
		const char *st = wf_jv_str(e, "status"), *rn = wf_jv_str(e, "name"), *w = wf_jv_str(e, "workflow");
		int past = wf_jv_bool(e, "past", 0);
		char label[96], idtext[32];
		struct wf_run *r;

		(void)i;
		snprintf(idtext, sizeof idtext, "%.0f", wf_jv_num(e, "id", 0));
		snprintf(label, sizeof label, "%s%s", past ? "#" : "", past ? idtext : rn ? rn : "?");
		if (st && !strcmp(st, "damaged"))
			*notes = note(*notes, "run '%s' skipped: it does not read (%s)", label,
				      wf_jv_str(e, "error") ? wf_jv_str(e, "error") : "damaged");
		else if (!w || strcmp(w, name) || jv_array_length(jv_copy(out)) >= HISTORY_RUNS)
			;
		else if (!st || strcmp(st, "completed"))
			*notes = note(*notes, "run '%s' skipped: it is %s, not completed", label, st ? st : "of no status");
		else {
			if (wf_run_open_in(proj, past ? idtext : rn, 0, &r, err, sizeof err))
				*notes = note(*notes, "run '%s' skipped: %s", label, err);
			else {
				jv su = wf_jv_get(r->state, "step_usage"), story = wf_story_of(r, err, sizeof err);

				if (!jv_is_valid(story))
					*notes = note(*notes, "run '%s' skipped: %s", label, err);
				else if (jv_get_kind(su) != JV_KIND_OBJECT && jv_get_kind(su) != JV_KIND_NULL)
					*notes = note(*notes, "run '%s' skipped: its step_usage is not an object", label);
				else
					out = jv_array_append(out, jv_object_set(jv_object_set(jv_object(),
						jv_string("step_usage"), jv_copy(su)), jv_string("passes"), wf_jv_get(story, "passes")));
				jv_free(story);
				jv_free(su);
				wf_run_close(r);
			}
		}
		jv_free(e);
	}
	jv_free(list);
	free(proj);
	return out;
}

/* Mean and spread (the sample standard deviation; 0 for one value) of the N values X. */
static void
mean_spread(const double *x, int n, double *mean, double *sd)
{
	double sum = 0, sq = 0;

	for (int i = 0; i < n; i++)
		sum += x[i];
	*mean = n ? sum / n : 0;
	for (int i = 0; i < n; i++)
		sq += (x[i] - *mean) * (x[i] - *mean);
	*sd = n > 1 ? sqrt(sq / (n - 1)) : 0;
}

/*
 * The dollars of one model's use U (borrowed) of a step: as recorded; or,
 * for a call with tokens and no cost (a replayed one, a price added
 * since), its tokens at model M's prices in REG (borrowed).  -1: unknown.
 */
static double
use_cost(jv reg, const char *m, jv u)
{
	jv usd = wf_jv_get(u, "usd"), model, prices;
	double tok = wf_jv_num(u, "input_tokens", 0) + wf_jv_num(u, "output_tokens", 0), got = -1;
	char err[256];

	if (jv_get_kind(usd) == JV_KIND_NUMBER && (jv_number_value(usd) > 0 || tok == 0))
		got = jv_number_value(usd);
	jv_free(usd);
	if (got >= 0 || !jv_is_valid(reg))
		return got;
	model = wf_model_resolve(reg, m, NULL, err, sizeof err);
	prices = wf_jv_get(model, "prices");
	if (jv_get_kind(prices) == JV_KIND_OBJECT)
		got = (wf_jv_num(u, "input_tokens", 0) * wf_jv_num(prices, "input", 0) +
		       wf_jv_num(u, "output_tokens", 0) * wf_jv_num(prices, "output", 0)) / 1e6;
	jv_free(prices);
	jv_free(model);
	return got;
}

/* E's numbers from the N runs' states RUNS (borrowed), REG (borrowed) to price what has no cost. */
static void
step_history(struct est *e, jv runs, int n, jv reg)
{
	double *x[5], spread;
	int known = 1;

	for (int k = 0; k < 5; k++)
		x[k] = wf_xcalloc((size_t)n + 1, sizeof *x[k]);
	jv_array_foreach(runs, i, st) {
		jv by = wf_jv_get(st, "step_usage"), su = wf_jv_get(by, e->id), passes = wf_jv_get(st, "passes");

		x[4][i] = wf_jv_num(passes, e->id, 0);
		if (jv_get_kind(su) == JV_KIND_OBJECT)
			jv_object_foreach(su, m, u) {
				double c = use_cost(reg, jv_string_value(m), u);

				x[CALLS][i] += wf_jv_num(u, "calls", 1);
				x[IN][i] += wf_jv_num(u, "input_tokens", 0);
				x[OUT][i] += wf_jv_num(u, "output_tokens", 0);
				x[USD][i] += c > 0 ? c : 0;
				known &= c >= 0;
				/* The model it used, or "several". */
				if (strcmp(e->model, jv_string_value(m)))
					snprintf(e->model, sizeof e->model, "%s", e->model[0] ? "several" : jv_string_value(m));
				jv_free(m);
				jv_free(u);
			}
		jv_free(passes);
		jv_free(su);
		jv_free(by);
		jv_free(st);
	}
	for (int k = 0; k < 4; k++)
		mean_spread(x[k], n, &e->v[k], &e->sd[k]);
	mean_spread(x[4], n, &e->passes, &spread);
	e->usd_known = known;
	if (!known)
		snprintf(e->cost_why, sizeof e->cost_why, "an earlier run's cost of this step is unknown (no price)");
	snprintf(e->basis, sizeof e->basis,
		 "history: %d run%s, mean ± spread: calls %.1f ± %.1f, input %.0f ± %.0f, output %.0f ± %.0f tokens, passes %.1f",
		 n, n == 1 ? "" : "s", e->v[CALLS], e->sd[CALLS], e->v[IN], e->sd[IN], e->v[OUT], e->sd[OUT], e->passes);
	for (int k = 0; k < 5; k++)
		free(x[k]);
}

/* ---- the prompt ---- */

/*
 * The model step S (borrowed) talks to: its own model:, else CURRENT (the
 * workflow's, as switch-model steps before it left it), else "default".
 * Borrowed from S or CURRENT.
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

/* The bytes of field KEY of step S (borrowed) after substitution in CTX (borrowed); *REFS counts what is not known yet. */
static size_t
text_bytes(jv s, const char *key, jv ctx, int *refs)
{
	const char *t = wf_jv_str(s, key);
	struct wf_diag warn = {0};
	char err[256], *sub;
	size_t n;

	if (!t)
		return 0;
	sub = wf_subst(t, ctx, 0, &warn, err, sizeof err);
	n = sub ? strlen(sub) : strlen(t);
	*refs += (int)warn.n;
	wf_diag_free(&warn);
	free(sub);
	return n;
}

/*
 * E's numbers from step S's (borrowed) text in CTX (borrowed) and the
 * resolved model M (borrowed, or invalid): *TRANSCRIPT is what an
 * ai-prompt carries to the next one, in tokens (updated).
 */
static void
step_prompt(struct est *e, jv s, jv ctx, jv m, double *transcript)
{
	int refs = 0, ai = !strcmp(e->action, "ai-prompt");
	const char *context = wf_jv_str(s, "context");
	int carries = ai && !(context && !strcmp(context, "none"));
	double own, out = wf_jv_num(m, "output_tokens", -1), carried = carries ? *transcript : 0;
	char outwhy[256];

	if (ai)
		own = wf_tokens_of_bytes(text_bytes(s, "prompt", ctx, &refs) + text_bytes(s, "system", ctx, &refs));
	else {
		char *dump = wf_json_dump(s);

		own = wf_tokens_of_bytes(strlen(dump)) + READS_TOKENS;
		free(dump);
	}
	if (out < 0)
		snprintf(outwhy, sizeof outwhy, "%d (the default: no output_tokens for model '%.100s')",
			 DEFAULT_OUTPUT_TOKENS, e->model);
	else
		snprintf(outwhy, sizeof outwhy, "%.0f (output_tokens of model '%s')", out, e->model);
	out = out < 0 ? DEFAULT_OUTPUT_TOKENS : out;
	e->v[CALLS] = 1;
	e->v[IN] = own + refs * UNKNOWN_REF_TOKENS + carried;
	e->v[OUT] = out;
	e->passes = 1;
	if (ai)
		*transcript += own + refs * UNKNOWN_REF_TOKENS + out;
	snprintf(e->basis, sizeof e->basis, "prompt: %.0f tokens of %s%s%s, %.0f of transcript; output %s; %s",
		 own, ai ? "prompt after substitution" : "step text plus the diff and files it reads (",
		 ai ? "" : "counted as 2000 tokens)", refs ? " with references not known yet (500 tokens each)" : "",
		 carried, outwhy, e->max_passes > 0 ? "1 pass assumed" : "1 pass");
	if (e->max_passes > 0)
		snprintf(e->basis + strlen(e->basis), sizeof e->basis - strlen(e->basis), " (at most %.0f in its loop)",
			 e->max_passes);
}

/* E's cost from its tokens and M's (borrowed) prices; unknown with WHY when there are none. */
static void
step_price(struct est *e, jv m, const char *why)
{
	jv prices = wf_jv_get(m, "prices");

	if (jv_get_kind(prices) == JV_KIND_OBJECT && wf_jv_num(prices, "input", -1) >= 0) {
		e->v[USD] = (e->v[IN] * wf_jv_num(prices, "input", 0) + e->v[OUT] * wf_jv_num(prices, "output", 0)) / 1e6;
		e->usd_known = 1;
	} else {
		snprintf(e->cost_why, sizeof e->cost_why, "%.200s", jv_is_valid(m) ? "no price in the model configuration" : why);
		e->usd_known = 0;
	}
	jv_free(prices);
}

/* The number of models step S (borrowed) asks at once: its models: (a review quorum), else 1. */
static int
quorum_size(jv s)
{
	jv ms = wf_jv_get(s, "models");
	int n = jv_get_kind(ms) == JV_KIND_ARRAY ? jv_array_length(jv_copy(ms)) : 0;

	jv_free(ms);
	return n > 0 ? n : 1;
}

/*
 * E's numbers for the quorum step S (borrowed) from its prompt in CTX
 * (borrowed): one call to each of its models (registry REG, borrowed),
 * each priced as that model, none carrying the run's transcript.
 */
static void
quorum_prompt(struct est *e, jv s, jv ctx, jv reg, const char *why)
{
	jv ms = wf_jv_get(s, "models");
	double v[4] = {0};
	int known = 1, n = 0;

	jv_array_foreach(ms, i, name) {
		struct est one = *e;
		char err[512] = "";
		double none = 0;
		jv m = jv_is_valid(reg) && jv_get_kind(name) == JV_KIND_STRING ?
		       wf_model_resolve(reg, jv_string_value(name), NULL, err, sizeof err) : jv_invalid();

		(void)i;
		snprintf(one.model, sizeof one.model, "%s", jv_get_kind(name) == JV_KIND_STRING ? jv_string_value(name) : "?");
		step_prompt(&one, s, ctx, m, &none);
		step_price(&one, m, jv_is_valid(reg) ? err : why);
		for (int k = 0; k < 4; k++)
			v[k] += one.v[k];
		known &= one.usd_known;
		if (!one.usd_known)
			snprintf(e->cost_why, sizeof e->cost_why, "%s", one.cost_why);
		n++;
		jv_free(m);
		jv_free(name);
	}
	jv_free(ms);
	memcpy(e->v, v, sizeof v);
	e->usd_known = known;
	snprintf(e->basis, sizeof e->basis, "one call to each of the %d models of its quorum, each its prompt after substitution and its model's output_tokens", n);
}

/* Each step of loop bodies in STEPS (borrowed, N of them) gets its loop's max-iterations in E. */
static void
loop_bounds(struct est *e, jv steps, jv wf, int n)
{
	jv_array_foreach(steps, i, s) {
		const char *a = wf_jv_str(s, "action");
		int to = a && !strcmp(a, "loop") && wf_jv_str(s, "to") ? wf_workflow_step_index(wf, wf_jv_str(s, "to")) : -1;

		for (int k = to; k >= 0 && k <= i && k < n; k++)
			if (e[k].max_passes < wf_jv_num(s, "max-iterations", 1))
				e[k].max_passes = wf_jv_num(s, "max-iterations", 1);
		jv_free(s);
	}
}

/* ---- one call, for the budget gate ---- */

/*
 * The history of workflow NAME for the gate, read once per process: the
 * runs it reads were completed before this one started, so what the gate
 * estimates before each model call comes from memory, not from up to
 * HISTORY_RUNS run directories every time.  The caller owns the copy
 * returned.  (The cache stays reachable until exit, by design.)
 */
static jv
gate_history(const char *name)
{
	static char *cached_name;
	static jv cached;
	jv notes;

	if (cached_name && !strcmp(cached_name, name ? name : ""))
		return jv_copy(cached);
	if (cached_name)
		jv_free(cached);
	free(cached_name);
	cached_name = wf_xstrdup(name ? name : "");
	notes = jv_array();
	cached = history_states(name, &notes);
	jv_free(notes);
	return jv_copy(cached);
}

/* The text of model member KEY of STATE (borrowed), else of WF (borrowed); borrowed from them, or NULL. */
static const char *
model_of(jv state, jv wf, const char *key)
{
	jv m = wf_jv_get(state, key);
	const char *t = model_text(m);

	/* STATE holds its member: what T points into outlives M. */
	jv_free(m);
	if (t)
		return t;
	m = wf_jv_get(wf, "model");
	t = model_text(m);
	jv_free(m);
	return t;
}

/* The tokens of the text of the messages in TRANSCRIPT (borrowed). */
static double
transcript_tokens(jv transcript)
{
	size_t bytes = 0;

	if (jv_get_kind(transcript) == JV_KIND_ARRAY)
		jv_array_foreach(transcript, i, m) {
			(void)i;
			bytes += wf_jv_str(m, "content") ? strlen(wf_jv_str(m, "content")) : 0;
			jv_free(m);
		}
	return wf_tokens_of_bytes(bytes);
}

int
wf_estimate_call(jv wf, jv step, jv state, jv ctx, struct wf_call_estimate *c)
{
	struct wf_diag diag = {0};
	struct est e = {0};
	int code = 0, nruns;
	jv reg = wf_models_load(&diag, &code), runs, m = jv_invalid(), t;
	const char *why = diag.n ? diag.msgs[0] : "the model configuration does not load";
	char err[512] = "";
	double carried;

	memset(c, 0, sizeof *c);
	e.id = wf_jv_str(step, "id") ? wf_jv_str(step, "id") : "?";
	e.action = wf_jv_str(step, "action") ? wf_jv_str(step, "action") : "?";
	if (jv_is_valid(reg))
		m = wf_model_resolve(reg, step_model(step, model_of(state, wf, "model")),
				     model_of(state, wf, "original_model"), err, sizeof err);
	snprintf(e.model, sizeof e.model, "%s", jv_is_valid(m) && wf_jv_str(m, "name") ? wf_jv_str(m, "name") :
		 step_model(step, model_of(state, wf, "model")));
	snprintf(c->model, sizeof c->model, "%s", e.model);
	runs = gate_history(wf_jv_str(wf, "name"));
	nruns = jv_array_length(jv_copy(runs));
	if (nruns)
		step_history(&e, runs, nruns, reg);
	if (nruns && e.v[CALLS] > 0) {
		/* The mean per call, times the calls the step makes: one, or one per model of a quorum. */
		for (int k = IN; k <= USD; k++)
			e.v[k] = e.v[k] / e.v[CALLS] * quorum_size(step);
		snprintf(c->basis, sizeof c->basis, "the mean per call of this step in %d earlier run%s", nruns,
			 nruns == 1 ? "" : "s");
	} else {
		t = wf_jv_get(state, "transcript");
		carried = transcript_tokens(t);
		jv_free(t);
		snprintf(e.model, sizeof e.model, "%s", c->model);
		if (quorum_size(step) > 1) {
			quorum_prompt(&e, step, ctx, reg, why);
		} else {
			step_prompt(&e, step, ctx, m, &carried);
			step_price(&e, m, jv_is_valid(reg) ? err : why);
		}
		snprintf(c->basis, sizeof c->basis, "the prompt after substitution, the transcript and the model's output_tokens");
	}
	c->input = e.v[IN];
	c->output = e.v[OUT];
	c->usd = e.usd_known ? e.v[USD] : 0;
	c->usd_known = e.usd_known;
	snprintf(c->cost_why, sizeof c->cost_why, "%.250s", e.usd_known ? "" : e.cost_why);
	jv_free(m);
	jv_free(runs);
	jv_free(reg);
	wf_diag_free(&diag);
	return 0;
}

/* ---- the document ---- */

/* {calls, input_tokens, output_tokens, cost_usd} of V (cost null unless KNOWN); the caller owns it. */
static jv
numbers(const double *v, int known)
{
	jv o = jv_object_set(jv_object(), jv_string("calls"), jv_number(round(v[CALLS] * 100) / 100));

	o = jv_object_set(o, jv_string("input_tokens"), jv_number(round(v[IN])));
	o = jv_object_set(o, jv_string("output_tokens"), jv_number(round(v[OUT])));
	return jv_object_set(o, jv_string("cost_usd"), known ? jv_number(round(v[USD] * 1e9) / 1e9) : jv_null());
}

/* Step E as the document shows it; the caller owns it. */
static jv
step_json(const struct est *e, int history)
{
	jv o = jv_object_set(numbers(e->v, e->usd_known), jv_string("step"), jv_string(e->id));

	o = jv_object_set(o, jv_string("action"), jv_string(e->action));
	o = jv_object_set(o, jv_string("model"), e->model[0] ? jv_string(e->model) : jv_null());
	o = jv_object_set(o, jv_string("basis"), jv_string(history ? "history" : "prompt"));
	o = jv_object_set(o, jv_string("why"), jv_string(e->basis));
	o = jv_object_set(o, jv_string("spread"), numbers(e->sd, e->usd_known));
	o = jv_object_set(o, jv_string("passes"), jv_number(round(e->passes * 100) / 100));
	o = jv_object_set(o, jv_string("max_passes"), e->max_passes > 0 ? jv_number(e->max_passes) : jv_null());
	if (!strcmp(e->action, "parallel"))
		o = jv_object_set(o, jv_string("branches"), e->branches > 0 ? jv_number(e->branches) : jv_null());
	if (!e->usd_known)
		o = jv_object_set(o, jv_string("cost_why"), jv_string(e->cost_why));
	return o;
}

/*
 * Where a run following the expected path crosses BUDGET (borrowed): the
 * steps in order, a loop going back while its first step is expected to
 * run again, each pass of a step counting its mean over its passes.
 * {"step", "pass", "budget": "usd"|"tokens", "used"} or null; caller owns.
 */
static jv
crossing(const struct est *e, int n, jv steps, jv wf, jv budget)
{
	double tok = 0, usd = 0, btok = wf_jv_num(budget, "tokens", -1), busd = wf_jv_num(budget, "usd", -1);
	int *visits = wf_xcalloc((size_t)n + 1, sizeof *visits), usd_ok = 1, guard = 0;
	jv hit = jv_null();

	for (int i = 0; i >= 0 && i < n && guard < 100000 && jv_get_kind(hit) == JV_KIND_NULL; guard++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *a = wf_jv_str(s, "action");
		double p = e[i].passes < 1 && e[i].passes > 0 ? 1 : round(e[i].passes);
		int to = -1;

		visits[i]++;
		if (e[i].listed && visits[i] <= p) {
			tok += (e[i].v[IN] + e[i].v[OUT]) / p;
			usd += e[i].v[USD] / p;
			usd_ok &= e[i].usd_known;
			if ((btok >= 0 && tok > btok) || (busd >= 0 && usd_ok && usd > busd)) {
				hit = jv_object_set(jv_object(), jv_string("step"), jv_string(e[i].id));
				hit = jv_object_set(hit, jv_string("pass"), jv_number(visits[i]));
				hit = jv_object_set(hit, jv_string("budget"), jv_string(btok >= 0 && tok > btok ? "tokens" : "usd"));
				hit = jv_object_set(hit, jv_string("used"), jv_number(btok >= 0 && tok > btok ? round(tok) : usd));
			}
		}
		if (a && !strcmp(a, "loop") && wf_jv_str(s, "to"))
			to = wf_workflow_step_index(wf, wf_jv_str(s, "to"));
		if (to >= 0 && to <= i && visits[to] < round(e[to].passes) &&
		    visits[i] < wf_jv_num(s, "max-iterations", 1))
			i = to;
		else
			i++;
		jv_free(s);
	}
	free(visits);
	return hit;
}

/* The total of the N steps E, known or not, with the spread of the sum; the caller owns it. */
static jv
total_json(const struct est *e, int n)
{
	double v[4] = {0}, var[4] = {0}, sd[4];
	int known = 1;

	for (int i = 0; i < n; i++)
		if (e[i].listed) {
			for (int k = 0; k < 4; k++) {
				v[k] += k == USD && !e[i].usd_known ? 0 : e[i].v[k];
				var[k] += e[i].sd[k] * e[i].sd[k];
			}
			known &= e[i].usd_known;
		}
	for (int k = 0; k < 4; k++)
		sd[k] = sqrt(var[k]);
	jv o = numbers(v, known);

	o = jv_object_set(o, jv_string("spread"), numbers(sd, known));
	return jv_object_set(o, jv_string("cost_known_part"), jv_number(round(v[USD] * 1e9) / 1e9));
}

static void fill_steps(struct est *e, int n, jv wf, jv steps, jv runs, jv ctx);

/*
 * The branches of parallel step S (borrowed) as known before the run in
 * CTX (borrowed): its branches:, or its for-each body once for each item
 * when the list is known (a literal, or variables); when it is not (a
 * step's output), the body once, and *UNKNOWN set.  The caller owns them.
 */
static jv
known_branches(jv s, jv ctx, int *unknown)
{
	const char *fe = wf_jv_str(s, "for-each");
	struct wf_diag warn = {0};
	char err[256], *t = NULL;
	jv out;

	*unknown = 0;
	if (fe) {
		t = wf_subst(fe, ctx, 0, &warn, err, sizeof err);
		*unknown = !t || warn.n > 0;
		free(t);
		wf_diag_free(&warn);
	}
	out = *unknown ? jv_invalid() : wf_parallel_branches(s, ctx, err, sizeof err);
	if (!jv_is_valid(out) || jv_get_kind(out) != JV_KIND_ARRAY) {
		jv_free(out);
		*unknown = 1;
		out = jv_array_append(jv_array(), jv_object_set(jv_object(), jv_string("steps"), wf_jv_get(s, "steps")));
	}
	return out;
}

/*
 * E's numbers for parallel step S (borrowed) from its prompts in CTX
 * (borrowed): the sum of every branch's steps, each branch a run of its
 * own (its transcript starts empty); a workflow: branch counts as a
 * workflow step does.
 */
static void
par_prompt(struct est *e, jv wf, jv s, jv ctx)
{
	int unknown, nb;
	jv bs = known_branches(s, ctx, &unknown), none = jv_array();

	nb = jv_array_length(jv_copy(bs));
	e->usd_known = 1;
	e->passes = 1;
	jv_array_foreach(bs, i, b) {
		jv steps = wf_jv_get(b, "steps"), bctx = jv_copy(ctx);
		int m;
		struct est *sub;

		(void)i;
		/* A for-each branch's item is known: ${AS} is it, as the branch will have it. */
		if (wf_jv_str(s, "as") && jv_object_has(jv_copy(b), jv_string("item"))) {
			jv item = wf_jv_get(b, "item"), vars = wf_jv_get(bctx, "vars");

			if (jv_get_kind(item) != JV_KIND_STRING)
				item = jv_dump_string(item, 0);
			if (jv_get_kind(vars) != JV_KIND_OBJECT) {
				jv_free(vars);
				vars = jv_object();
			}
			bctx = jv_object_set(bctx, jv_string("vars"), jv_object_set(vars, jv_string(wf_jv_str(s, "as")), item));
		}
		if (jv_get_kind(steps) != JV_KIND_ARRAY) {
			jv_free(steps);
			steps = jv_array_append(jv_array(), jv_object_set(jv_object_set(jv_copy(b), jv_string("id"),
				wf_jv_get(b, "name")), jv_string("action"), jv_string("workflow")));
		}
		m = jv_array_length(jv_copy(steps));
		sub = wf_xcalloc((size_t)m + 1, sizeof *sub);
		fill_steps(sub, m, wf, steps, none, bctx);
		for (int k = 0; k < m; k++)
			if (sub[k].listed) {
				for (int q = 0; q < 4; q++)
					e->v[q] += sub[k].v[q] * sub[k].passes;
				e->usd_known &= sub[k].usd_known;
				if (!sub[k].usd_known && !e->cost_why[0])
					snprintf(e->cost_why, sizeof e->cost_why, "%s", sub[k].cost_why);
				if (strcmp(e->model, sub[k].model))
					snprintf(e->model, sizeof e->model, "%s", e->model[0] ? "several" : sub[k].model);
			}
		free(sub);
		jv_free(bctx);
		jv_free(steps);
		jv_free(b);
	}
	e->branches = unknown ? -1 : nb;
	if (unknown)
		snprintf(e->basis, sizeof e->basis, "prompts of its for-each body, counted once: the list is not known before the run");
	else
		snprintf(e->basis, sizeof e->basis, "prompts of the steps of its %d branch%s, each a run of its own", nb,
			 nb == 1 ? "" : "es");
	jv_free(none);
	jv_free(bs);
}

/*
 * Fill E (N of them) from the workflow's STEPS (borrowed): each model
 * step's model, then its numbers from RUNS (borrowed, the history's
 * states) or its prompt in CTX (borrowed).
 */
static void
fill_steps(struct est *e, int n, jv wf, jv steps, jv runs, jv ctx)
{
	int nruns = jv_array_length(jv_copy(runs)), code = 0;
	struct wf_diag diag = {0};
	jv reg = wf_models_load(&diag, &code), wfm = wf_jv_get(wf, "model");
	const char *current = model_text(wfm), *why = diag.n ? diag.msgs[0] : "the model configuration does not load";
	double transcript = 0;

	loop_bounds(e, steps, wf, n);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i), m = jv_invalid();
		char err[512];

		e[i].id = wf_jv_str(s, "id");
		e[i].action = wf_jv_str(s, "action") ? wf_jv_str(s, "action") : "?";
		e[i].passes = 1;
		if (!strcmp(e[i].action, "switch-model") && wf_jv_str(s, "model"))
			current = wf_jv_str(s, "model");
		e[i].listed = wf_gate_step_needs_model(s) || !strcmp(e[i].action, "workflow");
		if (!strcmp(e[i].action, "parallel")) {
			if (!nruns) {
				par_prompt(&e[i], wf, s, ctx);
				e[i].listed = e[i].v[CALLS] > 0;
			} else
				step_history(&e[i], runs, nruns, reg);
			e[i].listed |= e[i].v[CALLS] > 0;
			jv_free(s);
			continue;
		}
		if (e[i].listed && jv_is_valid(reg))
			m = wf_model_resolve(reg, step_model(s, current), model_text(wfm), err, sizeof err);
		if (e[i].listed)
			snprintf(e[i].model, sizeof e[i].model, "%s",
				 jv_is_valid(m) && wf_jv_str(m, "name") ? wf_jv_str(m, "name") : step_model(s, current));
		if (nruns) {
			e[i].model[0] = 0;
			step_history(&e[i], runs, nruns, reg);
			e[i].listed |= e[i].v[CALLS] > 0;
		} else if (e[i].listed && quorum_size(s) > 1) {
			quorum_prompt(&e[i], s, ctx, reg, why);
		} else if (e[i].listed) {
			step_prompt(&e[i], s, ctx, m, &transcript);
			step_price(&e[i], m, jv_is_valid(reg) ? err : why);
		}
		jv_free(m);
		jv_free(s);
	}
	wf_diag_free(&diag);
	jv_free(reg);
	jv_free(wfm);
}

jv
wf_estimate(jv wf, jv vars, jv budget)
{
	jv steps = wf_jv_get(wf, "steps"), notes = jv_array(), runs, doc, list = jv_array();
	jv ctx = jv_object_set(jv_object(), jv_string("vars"), wf_flow_merged_vars(wf, vars));
	int n = jv_array_length(jv_copy(steps)), nruns;
	struct est *e = wf_xcalloc((size_t)n + 1, sizeof *e);

	runs = history_states(wf_jv_str(wf, "name"), &notes);
	nruns = jv_array_length(jv_copy(runs));
	fill_steps(e, n, wf, steps, runs, ctx);
	for (int i = 0; i < n; i++) {
		if (e[i].listed)
			list = jv_array_append(list, step_json(&e[i], nruns > 0));
		if (e[i].branches < 0)
			notes = note(notes, "step '%s': the list of its for-each is not known before the run; its branch is counted once",
				     e[i].id);
	}
	doc = jv_object_set(jv_object(), jv_string("workflow"), wf_jv_get(wf, "name"));
	doc = jv_object_set(doc, jv_string("basis"), jv_string(nruns ? "history" : "prompt"));
	doc = jv_object_set(doc, jv_string("runs"), jv_number(nruns));
	doc = jv_object_set(doc, jv_string("steps"), list);
	doc = jv_object_set(doc, jv_string("total"), total_json(e, n));
	doc = jv_object_set(doc, jv_string("budget"),
			    jv_object_length(jv_copy(budget)) ? jv_copy(budget) : jv_null());
	doc = jv_object_set(doc, jv_string("crossing"), crossing(e, n, steps, wf, budget));
	if (!nruns)
		notes = note(notes, "no completed run of '%s' in this project: the numbers come from the prompts (about 4 bytes a token)",
			     wf_jv_str(wf, "name"));
	doc = jv_object_set(doc, jv_string("notes"), notes);
	free(e);
	jv_free(runs);
	jv_free(ctx);
	jv_free(steps);
	return doc;
}

/* ---- for people ---- */

/* The cost in V (borrowed: cost_usd, cost_why), as text, into BUF. */
static const char *
cost_text(jv v, char *buf, size_t n)
{
	jv c = wf_jv_get(v, "cost_usd");

	if (jv_get_kind(c) == JV_KIND_NUMBER)
		snprintf(buf, n, "$%.6f", jv_number_value(c));
	else
		snprintf(buf, n, "unknown");
	jv_free(c);
	return buf;
}

void
wf_estimate_print(FILE *fp, jv est)
{
	jv steps = wf_jv_get(est, "steps"), total = wf_jv_get(est, "total"), notes = wf_jv_get(est, "notes");
	jv cross = wf_jv_get(est, "crossing"), budget = wf_jv_get(est, "budget");
	char c[64], *bt = wf_budget_text(budget);

	fprintf(fp, "%s: estimate before running (basis: %s)\n", wf_jv_str(est, "workflow"),
		wf_jv_num(est, "runs", 0) > 0 ? "history" : "prompts");
	fprintf(fp, "  %-12s %-13s %-16s %6s %8s %8s  %s\n", "STEP", "ACTION", "MODEL", "CALLS", "INPUT", "OUTPUT",
		"COST");
	jv_array_foreach(steps, i, s) {
		(void)i;
		fprintf(fp, "  %-12s %-13s %-16s %6g %8.0f %8.0f  %s\n", wf_jv_str(s, "step"), wf_jv_str(s, "action"),
			wf_jv_str(s, "model") ? wf_jv_str(s, "model") : "-", wf_jv_num(s, "calls", 0),
			wf_jv_num(s, "input_tokens", 0), wf_jv_num(s, "output_tokens", 0), cost_text(s, c, sizeof c));
		fprintf(fp, "      %s%s%s%s\n", wf_jv_str(s, "why"), wf_jv_str(s, "cost_why") ? "; cost unknown: " : "",
			wf_jv_str(s, "cost_why") ? wf_jv_str(s, "cost_why") : "", "");
		jv_free(s);
	}
	fprintf(fp, "  %-12s %-13s %-16s %6g %8.0f %8.0f  %s", "total", "", "", wf_jv_num(total, "calls", 0),
		wf_jv_num(total, "input_tokens", 0), wf_jv_num(total, "output_tokens", 0), cost_text(total, c, sizeof c));
	if (!strcmp(c, "unknown") && wf_jv_num(total, "cost_known_part", 0) > 0)
		fprintf(fp, " (the priced part $%.6f)", wf_jv_num(total, "cost_known_part", 0));
	fprintf(fp, "\n");
	if (bt && jv_get_kind(cross) == JV_KIND_OBJECT)
		fprintf(fp, "  the budget of %s is likely crossed at step '%s' (pass %.0f)\n", bt, wf_jv_str(cross, "step"),
			wf_jv_num(cross, "pass", 1));
	else if (bt)
		fprintf(fp, "  the budget of %s is likely enough\n", bt);
	jv_array_foreach(notes, i, t) {
		(void)i;
		fprintf(fp, "  note: %s\n", jv_string_value(t));
		jv_free(t);
	}
	free(bt);
	jv_free(budget);
	jv_free(cross);
	jv_free(notes);
	jv_free(total);
	jv_free(steps);
}

int
wf_run_estimate(FILE *fp, jv wf, struct wf_run_opts *o)
{
	jv given = jv_invalid(), budget, est;
	char err[256];

	if (o->budget)
		wf_budget_parse(o->budget, &given, err, sizeof err);
	budget = wf_budget_effective(wf, given);
	est = wf_estimate(wf, o->vars, budget);
	if (o->json)
		wf_json_print(fp, jv_copy(est));
	else
		wf_estimate_print(fp, est);
	jv_free(est);
	jv_free(budget);
	jv_free(given);
	return ferror(fp) ? WF_EXIT_IO : 0;
}
