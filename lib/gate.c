/*
 * gate.c: what a step must pass before wf-run starts it: the budget for
 * a model call, and consent for a sensitive step (wf-run(1), "Consent";
 * wf-workflow(5), "budget:").  Also the "no" of a confirmation, which
 * stops the run the way a refused consent does.
 *
 * Layer 4: driver.
 *
 * Rules: a step that does not pass is not started, the run is stopped
 * with its reason journaled (consent, declined, budget) and its question
 * pending, so that a resume asks again or takes --answer or --yes.
 * Consent is asked in this order: --yes, "always" earlier in the run,
 * --answer, a trusted workflow file, an auto-approve pattern, a person
 * at the terminal; with none of them the run waits (3).  Every decision
 * is journaled as a consent event with who made it.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "estimate.h"
#include "ledger.h"

/* ---- model use ---- */

/*
 * Does step S (borrowed) need a model to run?  A commit-push with a
 * message, a create-pr with a title and a body, a make-changes done by a
 * coding agent, and a self-review (it falls back to a list of the
 * changes) do not.
 */
int
wf_gate_step_needs_model(jv s)
{
	const char *a = wf_jv_str(s, "action");
	const char *agent = getenv("WF_CODING_AGENT");

	if (!a || !wf_action_uses_model(a))
		return 0;
	if (!strcmp(a, "commit-push"))
		return !wf_jv_str(s, "message");
	if (!strcmp(a, "create-pr"))
		return !wf_jv_str(s, "title") || !wf_jv_str(s, "body");
	if (!strcmp(a, "make-changes"))
		return !wf_jv_str(s, "agent") && !(agent && *agent);
	return strcmp(a, "self-review") != 0;
}

/* Tokens and known dollars used so far by the run, from STATE (borrowed); *UNKNOWN counts models whose cost is unknown. */
void
wf_gate_usage_totals(jv state, double *tokens, double *usd, int *unknown)
{
	jv u = wf_jv_get(state, "usage");

	*tokens = 0;
	*usd = 0;
	*unknown = 0;
	if (jv_get_kind(u) == JV_KIND_OBJECT)
		jv_object_foreach(u, k, v) {
			jv c = wf_jv_get(v, "usd");

			*tokens += wf_jv_num(v, "input_tokens", 0) + wf_jv_num(v, "output_tokens", 0);
			if (jv_get_kind(c) == JV_KIND_NUMBER)
				*usd += jv_number_value(c);
			else
				(*unknown)++;
			jv_free(c);
			jv_free(k);
			jv_free(v);
		}
	jv_free(u);
}

/*
 * The one time a run's dollar budget BUDGET (borrowed) cannot be checked
 * for a call, C, whose price is unknown (or some earlier call's cost,
 * UNKNOWN of them): said on the run's log, never passed silently as $0.
 */
static void
say_unchecked(struct driver *d, jv budget, const struct wf_call_estimate *c, const char *id, int unknown)
{
	char *bt;

	if (d->budget_unchecked_said)
		return;
	d->budget_unchecked_said = 1;
	bt = wf_budget_text(budget);
	if (!c->usd_known)
		wf_warn("the dollar budget of %s cannot be checked for step '%s': the cost of its calls to model '%s' is unknown (%s); their tokens still count against a token budget",
			bt, id, c->model, c->cost_why);
	else
		wf_warn("the dollar budget of %s counts only the known costs: %d model%s of this run %s no price",
			bt, unknown, unknown == 1 ? "" : "s", unknown == 1 ? "has" : "have");
	free(bt);
}

/* Has this run, or a run above it, a budget in tokens or dollars? */
static int
any_budget(struct driver *d)
{
	int any = 0;

	for (struct driver *a = d; a && !any; a = a->parent) {
		jv given = wf_jv_get(a->run->state, "budget"), b = wf_budget_effective(a->wf, given);

		any = wf_jv_num(b, "tokens", -1) >= 0 || wf_jv_num(b, "usd", -1) >= 0;
		jv_free(b);
		jv_free(given);
	}
	return any;
}

/* The usage of the runs of D's process, from D up to the branch's run that began the process (D's own run for a plain run's top); the runs above it are another process's. */
static void
own_spend(struct driver *d, struct wf_spend *own)
{
	struct driver *root = wf_ledger_process_root(d);

	memset(own, 0, sizeof *own);
	for (struct driver *a = d; a; a = a->parent) {
		struct wf_spend u;

		wf_gate_usage_totals(a->run->state, &u.tokens, &u.usd, &u.unknown);
		own->tokens += u.tokens;
		own->usd += u.usd;
		own->unknown += u.unknown;
		if (a == root)
			break;
	}
}

/*
 * Is what was used, USED (with the others' OTHERS once the walk is above
 * this process), plus the call's estimate C more than a budget of the
 * run A?  STEP is borrowed.  0, or 1 with MSG.
 */
static int
crosses(struct driver *d, struct driver *a, jv step, const struct wf_call_estimate *c, const struct wf_spend *used,
	char *msg, size_t n)
{
	jv given = wf_jv_get(a->run->state, "budget"), b = wf_budget_effective(a->wf, given);
	double btok = wf_jv_num(b, "tokens", -1), busd = wf_jv_num(b, "usd", -1), est = c->input + c->output;
	int over = 0;

	if (btok >= 0 && used->tokens + est > btok) {
		snprintf(msg, n, "budget of %g tokens would be crossed by step '%s' (used %g, this call about %.0f more: %.0f in, %.0f out, from %s)",
			 btok, wf_jv_str(step, "id"), used->tokens, est, c->input, c->output, c->basis);
		over = 1;
	} else if (busd >= 0 && c->usd_known && used->usd + c->usd > busd) {
		jv only = jv_object_set(jv_object(), jv_string("usd"), jv_number(busd));
		char *bt = wf_budget_text(only);

		snprintf(msg, n, "budget of %s would be crossed by step '%s' (used $%.6f, this call about $%.6f more: %.0f tokens in, %.0f out to model '%s', from %s)",
			 bt, wf_jv_str(step, "id"), used->usd, c->usd, c->input, c->output, c->model, c->basis);
		free(bt);
		jv_free(only);
		over = 1;
	} else if (busd >= 0 && (!c->usd_known || used->unknown))
		say_unchecked(d, b, c, wf_jv_str(step, "id"), used->unknown);
	jv_free(b);
	jv_free(given);
	return over;
}

/*
 * Would the next call of STEP (borrowed) cross the run's budget, or a
 * budget of a run above it?  It would when what was used plus the call's
 * estimate (wf_estimate_call) is more than the budget: a budget exactly
 * met is not crossed.  In a branch of a parallel step, what was used
 * counts every branch's spending and outstanding reservations, from the
 * run's ledger (ledger.c), and the call's estimate is reserved in it
 * when it passes, all under the ledger's lock.  Returns 0, or fills MSG
 * and returns 1 (over) or 2 (the ledger cannot be used: no call then).
 */
static int
over_budget(struct driver *d, jv step, char *msg, size_t n)
{
	struct wf_call_estimate c;
	struct wf_ledger *ledger = NULL;
	struct wf_spend used = {0}, others = {0}, own, est;
	struct driver *root = wf_ledger_process_root(d);
	jv view, ctx;
	int over = 0;

	/* No budget, nothing to weigh: the estimate (which reads earlier runs) is not made. */
	if (!any_budget(d))
		return 0;
	view = wf_run_view(d->run, 1);
	ctx = wf_flow_ctx(view, jv_copy(step));
	wf_estimate_call(d->wf, step, d->run->state, ctx, &c);
	jv_free(ctx);
	jv_free(view);
	if (wf_ledger_open(d, &ledger, msg, n))
		return 2;
	if (ledger)
		wf_ledger_others(ledger, &others);
	/* A sub-run's calls count against every budget above it, with what each run above used so far. */
	for (struct driver *a = d; a && !over; a = a->parent) {
		struct wf_spend u;

		wf_gate_usage_totals(a->run->state, &u.tokens, &u.usd, &u.unknown);
		used.tokens += u.tokens;
		used.usd += u.usd;
		used.unknown += u.unknown;
		/* The other branches' spending counts from where their processes meet this one's. */
		if (a == root && ledger) {
			used.tokens += others.tokens;
			used.usd += others.usd;
			used.unknown += others.unknown;
		}
		over = crosses(d, a, step, &c, &used, msg, n);
	}
	if (!over && ledger) {
		own_spend(d, &own);
		est.tokens = c.input + c.output;
		est.usd = c.usd_known ? c.usd : 0;
		est.unknown = !c.usd_known;
		over = wf_ledger_reserve(ledger, &own, &est, msg, n) < 0 ? 2 : 0;
	}
	wf_ledger_close(ledger);
	return over;
}

/*
 * The dollars left of the tightest dollar budget (budget: with --budget
 * over it) over this run and the runs above it, for wf-model to weigh a
 * pricier fallback against (wf-model(1), "Fallbacks"); -1 when there is
 * no such budget or a cost so far is unknown.  In a branch of a parallel
 * step, what the other branches used and hold reserved is not left.
 */
double
wf_gate_usd_left(struct driver *d)
{
	struct driver *root = wf_ledger_process_root(d);
	struct wf_ledger *ledger = NULL;
	struct wf_spend others = {0};
	double usd = 0, left = -1;
	int unknown = 0;
	char err[512];

	if (!any_budget(d))
		return -1;
	/* A ledger that cannot be read leaves nothing to spend: the gate stops the call anyway. */
	if (wf_ledger_open(d, &ledger, err, sizeof err))
		return 0;
	if (ledger)
		wf_ledger_others(ledger, &others);
	wf_ledger_close(ledger);
	for (struct driver *a = d; a; a = a->parent) {
		jv given = wf_jv_get(a->run->state, "budget"), b = wf_budget_effective(a->wf, given);
		double t, u, cap = wf_jv_num(b, "usd", -1);
		int unk;

		wf_gate_usage_totals(a->run->state, &t, &u, &unk);
		usd += u;
		unknown += unk;
		if (a == root) {
			usd += others.usd;
			unknown += others.unknown;
		}
		if (cap >= 0 && !unknown && (left < 0 || cap - usd < left))
			left = cap - usd > 0 ? cap - usd : 0;
		jv_free(b);
		jv_free(given);
	}
	return unknown ? -1 : left;
}

/*
 * A model call that would cross the budget is not made: STEP (borrowed)
 * ID, an action that asks a model (a commit-push with its message, a
 * create-pr with its title and body, a coding agent's make-changes ask
 * none); 0, or the run stopped.
 */
int
wf_gate_budget(struct driver *d, jv step, const char *id)
{
	const char *a = wf_jv_str(step, "action");
	char msg[768];
	int over;

	if (!a || !wf_action_uses_model(a) || (!wf_gate_step_needs_model(step) && strcmp(a, "self-review")) ||
	    !(over = over_budget(d, step, msg, sizeof msg)))
		return 0;
	if (over == 2) {
		wf_warn("step '%s': %s", id, msg);
		return wf_driver_stop(d, "run-end", "failed", "budget ledger",
				      jv_object_set(jv_object(), jv_string("step"), jv_string(id)), WF_EXIT_IO);
	}
	wf_warn("%s; raise it with 'wf resume %s --budget AMOUNT' (or raise 'budget:' in the workflow, then 'wf resume %s --accept-changes')",
		msg, d->run->name, d->run->name);
	return wf_driver_stop(d, "run-end", "failed", "budget",
			      jv_object_set(jv_object(), jv_string("step"), jv_string(id)), WF_EXIT_LIMIT);
}

/* ---- consent ---- */

/* What a sensitive step (borrowed) will do, for the person asked: the command, or the action and its target. */
static char *
describe_effect(struct driver *d, jv step)
{
	static const char *const keys[] = { "command", "title", "message", "base", "method", "branch", NULL };
	const char *action = wf_jv_str(step, "action");
	jv view = wf_run_view(d->run, 1), ctx = wf_flow_ctx(view, jv_copy(step));
	struct wf_buf b = {0};
	char err[256];

	if (!strcmp(action, "shell")) {
		char *t = wf_subst(wf_jv_str(step, "command"), ctx, 0, NULL, err, sizeof err);

		wf_buf_addstr(&b, t ? t : wf_jv_str(step, "command"));
		free(t);
	} else {
		jv vars = wf_jv_get(ctx, "vars");

		wf_buf_printf(&b, "%s", action);
		for (int i = 0; keys[i]; i++)
			if (wf_jv_str(step, keys[i])) {
				char *t = wf_subst(wf_jv_str(step, keys[i]), ctx, 0, NULL, err, sizeof err);

				wf_buf_printf(&b, " %s=\"%s\"", keys[i], t ? t : "");
				free(t);
			}
		jv pr = wf_jv_get(vars, "pr_number");

		if (jv_get_kind(pr) == JV_KIND_STRING || jv_get_kind(pr) == JV_KIND_NUMBER) {
			char *t = wf_jv_text(pr);

			wf_buf_printf(&b, " (PR #%s)", t);
			free(t);
		}
		jv_free(pr);
		jv_free(vars);
	}
	jv_free(ctx);
	jv_free(view);
	return wf_buf_detach(&b);
}

/* Journal who decided what about step ID's effect WHAT: 0 or 74. */
static int
record_consent(struct driver *d, const char *id, const char *what, const char *decision, const char *by)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("consent"));

	ev = jv_object_set(ev, jv_string("step"), jv_string(id));
	ev = jv_object_set(ev, jv_string("command"), jv_string(what));
	ev = jv_object_set(ev, jv_string("decision"), jv_string(decision));
	ev = jv_object_set(ev, jv_string("by"), jv_string(by));
	return wf_driver_journal(d, ev, 0);
}

/*
 * The auto-approve pattern that approves STEP (borrowed), or NULL.  A
 * shell command is matched as written, with the run's variables as the
 * step's environment will carry them: a name the workflow's or the
 * step's env: sets is left out, its value being another.
 */
static const char *
approving_pattern(struct driver *d, jv step, const char *action)
{
	int shell = !strcmp(action, "shell");
	jv vars = shell ? wf_jv_get(d->run->state, "vars") : jv_null();
	jv maps[2] = { wf_jv_get(d->wf, "env"), wf_jv_get(step, "env") };
	const char *pat;

	for (int m = 0; m < 2; m++) {
		if (jv_get_kind(maps[m]) == JV_KIND_OBJECT && jv_get_kind(vars) == JV_KIND_OBJECT)
			jv_object_foreach(maps[m], k, v) {
				vars = jv_object_delete(vars, k);
				jv_free(v);
			}
		jv_free(maps[m]);
	}
	pat = wf_auto_approved(d->patterns, action, shell ? wf_jv_str(step, "command") : NULL, vars);
	jv_free(vars);
	return pat;
}

/* Ask the person at the terminal whether step ID (ACTION) may do WHAT: yes, no, always or pause. */
static const char *
ask_terminal(const char *id, const char *action, const char *what)
{
	char *prompt = wf_xasprintf("\nstep '%s' (%s) will run:\n  %s\nrun it? [y]es, [n]o, [a]lways for this run, [p]ause: ",
				    id, action, what);
	const char *decision = NULL;
	char *line = NULL;
	int timed_out;

	while (!decision) {
		free(line);
		line = wf_tty_ask(prompt, 0, &timed_out);
		if (!line || !strcmp(line, "p") || !strcmp(line, "pause"))
			decision = "pause";
		else if (!strcmp(line, "y") || !strcmp(line, "yes"))
			decision = "yes";
		else if (!strcmp(line, "n") || !strcmp(line, "no"))
			decision = "no";
		else if (!strcmp(line, "a") || !strcmp(line, "always"))
			decision = "always";
	}
	free(line);
	free(prompt);
	return decision;
}

/* Has the person trusted WF (borrowed) as it is now, with the programs beside it (wf_trust_key)? */
static int
trusted(jv wf)
{
	char *key = wf_trust_key(wf);
	int yes = key && wf_trusted(key);

	free(key);
	return yes;
}

/*
 * Who decides whether sensitive STEP (borrowed) ID may do WHAT, and how:
 * returns yes, no, always or pause with *BY saying who; "" when "always"
 * was answered earlier in the run (nothing to journal); NULL (and *BY
 * NULL) when nobody can decide now.
 */
static const char *
consent_decision(struct driver *d, jv step, const char *id, const char *what, const char **by)
{
	const char *action = wf_jv_str(step, "action");

	*by = NULL;
	if (d->o->yes)
		*by = "--yes";
	else if (wf_jv_bool(d->run->state, "consent_always", 0))
		return "";
	else if (d->consent_answer && d->answer_step && !strcmp(d->answer_step, id))
		*by = "--answer";
	else if (trusted(d->wf))
		*by = "trust";
	else if (approving_pattern(d, step, action))
		*by = "auto-approve";
	else if (d->tty_in && wf_jv_bool(d->wf, "interactive", 1))
		*by = "terminal";
	if (!*by)
		return NULL;
	if (!strcmp(*by, "--answer"))
		return d->consent_answer;
	return !strcmp(*by, "terminal") ? ask_terminal(id, action, what) : "yes";
}

/*
 * The run stops at step ID, its consent (for WHAT) pending: waiting (3)
 * when nobody decided or the person paused, declined (77) after a no.
 */
static int
consent_stop(struct driver *d, const char *id, const char *what, int declined)
{
	jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));

	extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
	extra = jv_object_set(extra, jv_string("pending"),
		jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("kind"), jv_string("consent")),
			jv_string("step"), jv_string(id)), jv_string("command"), jv_string(what)));
	char *name = wf_driver_shell_word(d->run->name);
	char *file = wf_driver_shell_word(wf_jv_str(d->run->state, "workflow") ? wf_jv_str(d->run->state, "workflow") :
					  d->run->name);

	if (declined) {
		wf_warn("step '%s' was declined; the run stops here (continue later with: wf resume %s --yes)", id, name);
	} else {
		/* The question, then the exact commands that answer it. */
		wf_warn("step '%s' needs consent to run: %s", id, what);
		wf_driver_answer_line(d, 1, "yes", NULL);
		wf_driver_answer_line(d, 0, "no", NULL);
		wf_driver_answer_line(d, 0, "always", "   (yes to every sensitive step of this run)");
		fprintf(d->o->log, "  or trust the workflow file with: wf trust %s\n", file);
		fflush(d->o->log);
	}
	free(name);
	free(file);
	if (declined)
		return wf_driver_stop(d, "pause", "declined", "declined", extra, WF_EXIT_DENIED);
	return wf_driver_stop(d, "pause", "waiting", "consent", extra, WF_EXIT_WAIT);
}

/*
 * May the sensitive STEP (borrowed) run?  0 yes; otherwise the run has
 * been stopped and the exit code is returned: 3 waiting for consent, 77
 * declined, 128 + the signal when one came while the question was asked.
 * An --answer for the step is used up here.
 */
int
wf_gate_consent(struct driver *d, jv step, const char *id)
{
	const char *decision, *by;
	char *what;
	int rc = 0;

	if (!wf_action_sensitive(wf_jv_str(step, "action")))
		return 0;
	what = describe_effect(d, step);
	decision = consent_decision(d, step, id, what, &by);
	if (decision && !*decision) {
		free(what);
		return 0;
	}
	if (decision && !strcmp(decision, "pause") && wf_stop) {
		/* Ctrl-C (or a signal) at the question: an interrupt, not an answer. */
		rc = wf_driver_interrupted(d, wf_stop);
	} else if (!decision || !strcmp(decision, "pause")) {
		if (by)
			record_consent(d, id, what, "pause", by);
		rc = consent_stop(d, id, what, 0);
	} else if (!strcmp(decision, "no")) {
		record_consent(d, id, what, "no", by);
		rc = consent_stop(d, id, what, 1);
	} else {
		rc = record_consent(d, id, what, decision, by);
	}
	if (d->consent_answer && d->answer_step && !strcmp(d->answer_step, id)) {
		free(d->consent_answer);
		d->consent_answer = NULL;
	}
	free(what);
	return rc;
}

/*
 * Confirmation ID was answered no and nothing says where a no goes: the
 * step's end EV (consumed) is journaled with the cursor kept on it, and
 * the run stops as declined (77) with the question pending again, so a
 * resume asks it again or takes --answer.  RES (consumed) is the result.
 */
int
wf_gate_declined(struct driver *d, const char *id, jv ev, jv res)
{
	jv q = jv_object(), extra, ans = wf_jv_get(res, "answer");

	jv_free(res);
	ev = jv_object_set(ev, jv_string("cursor"), jv_string(id));
	if (wf_driver_journal(d, ev, 1)) {
		jv_free(q);
		jv_free(ans);
		return WF_EXIT_IO;
	}
	q = jv_object_set(q, jv_string("kind"), jv_string("question"));
	q = jv_object_set(q, jv_string("step"), jv_string(id));
	q = jv_object_set(q, jv_string("message"), wf_jv_get(ans, "question"));
	q = jv_object_set(q, jv_string("type"), jv_string("confirm"));
	jv_free(ans);
	extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
	extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
	extra = jv_object_set(extra, jv_string("pending"), q);
	{
		char *name = wf_driver_shell_word(d->run->name);

		wf_warn("step '%s' was answered no, and no 'on-rejected' says where a no goes; the run stops here (go on with: wf resume %s --answer yes; or give the step an 'on-rejected')",
			id, name);
		free(name);
	}
	return wf_driver_stop(d, "pause", "declined", "declined", extra, WF_EXIT_DENIED);
}
