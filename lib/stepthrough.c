/*
 * stepthrough.c: stepping through a run (wf-run(1), "Stepping
 * through").  With --step the driver stops before each step that runs
 * an action, with --break STEP-ID before those steps only; it shows
 * what the step will run (a shell command as written and the variables
 * its environment gets, a model step's model as resolved and its prompt
 * substituted, any other step's fields substituted; secrets masked),
 * and asks: run, skip, edit variables, continue without stopping, or
 * pause.  Without a terminal the stop is a pause (3) whose question a
 * resume answers: a plain 'wf resume' runs the step and stops before
 * the next; --answer skip or continue says the rest.
 *
 * Layer 4: driver.
 *
 * Rules: stepping is remembered in the run's state (a "stepping"
 * event), so a resume steps on until --no-step or continue.  A skip is
 * a person's decision, journaled as the step's end (status skipped, by
 * whom) with the cursor at its next: final.  The question here is not
 * consent: a sensitive step answered "run" is still asked for consent
 * by gate.c, whose "no" stays final.  Variables edited here are
 * journaled as var-set events, as wf-state set does.
 */
#include <stdlib.h>
#include <string.h>

#include "stepthrough.h"

/* ---- what a step will run ---- */

/* Is KEY a step's field that says where the run goes or what it is, not what it runs? */
static int
flow_key(const char *key)
{
	return !strcmp(key, "id") || !strcmp(key, "action") || !strcmp(key, "next") || !strcmp(key, "model") ||
	       !strncmp(key, "on-", 3);
}

/* The number of entries of MAP (borrowed), 0 when it is no object. */
static int
map_size(jv map)
{
	return jv_get_kind(map) == JV_KIND_OBJECT ? jv_object_length(jv_copy(map)) : 0;
}

/* Append "  NAME=VALUE" for each entry of MAP (borrowed) to B, values substituted from CTX (borrowed) when SUBST. */
static void
add_assignments(struct wf_buf *b, jv map, jv ctx, int subst)
{
	char err[256];

	if (jv_get_kind(map) != JV_KIND_OBJECT)
		return;
	jv_object_foreach(map, k, v) {
		char *raw = wf_jv_text(v), *val = subst ? wf_subst(raw, ctx, 0, NULL, err, sizeof err) : NULL;

		/* A variable named as a secret is never shown, whatever its value. */
		wf_buf_printf(b, "    %s=%s\n", jv_string_value(k),
			      wf_secret_name(jv_string_value(k)) ? "***" : val ? val : raw);
		free(raw);
		free(val);
		jv_free(k);
		jv_free(v);
	}
}

/* Append the model STEP (borrowed) will call, by name and as it resolves, to B; CTX borrowed. */
static void
add_model(struct wf_buf *b, struct driver *d, jv step, jv ctx)
{
	jv cur = wf_jv_get(d->run->state, "model"), orig = wf_jv_get(d->run->state, "original_model"), reg, m;
	const char *sm = wf_jv_str(step, "model");
	char err[512], *name = sm ? wf_subst(sm, ctx, 0, NULL, err, sizeof err) : NULL;
	struct wf_diag diag = {0};
	int code = 0;

	if (!name && jv_get_kind(cur) == JV_KIND_STRING)
		name = wf_xstrdup(jv_string_value(cur));
	else if (!name && wf_jv_str(cur, "name"))
		name = wf_xstrdup(wf_jv_str(cur, "name"));
	reg = wf_models_load(&diag, &code);
	m = jv_is_valid(reg) ? wf_model_resolve(reg, name, jv_get_kind(orig) == JV_KIND_STRING ?
			       jv_string_value(orig) : wf_jv_str(orig, "name"), err, sizeof err) : jv_invalid();
	if (jv_is_valid(m))
		wf_buf_printf(b, "  model: %s -> %s:%s\n", name ? name : "default", wf_jv_str(m, "provider"),
			      wf_jv_str(m, "model"));
	else
		wf_buf_printf(b, "  model: %s (does not resolve%s%s)\n", name ? name : "default",
			      jv_is_valid(reg) ? ": " : "", jv_is_valid(reg) ? err : "");
	wf_diag_free(&diag);
	jv_free(m);
	jv_free(reg);
	jv_free(cur);
	jv_free(orig);
	free(name);
}

/* Append STEP's (borrowed) other fields to B, text substituted from CTX (borrowed). */
static void
add_fields(struct wf_buf *b, jv step, jv ctx)
{
	char err[256];

	jv_object_foreach(step, k, v) {
		const char *key = jv_string_value(k);

		if (!flow_key(key)) {
			char *t = jv_get_kind(v) == JV_KIND_STRING ? wf_subst(jv_string_value(v), ctx, 0, NULL, err, sizeof err) :
				  wf_json_dump(v);

			wf_buf_printf(b, "  %s: %s\n", key, t ? t : "");
			free(t);
		}
		jv_free(k);
		jv_free(v);
	}
}

/*
 * What step STEP (borrowed) ID at IDX will run, after substitution, as
 * lines for a person: malloc'd, every secret masked.
 */
static char *
describe_step(struct driver *d, const char *id, int idx, jv step)
{
	const char *action = wf_jv_str(step, "action");
	jv view = wf_run_view(d->run, 1), ctx = wf_flow_ctx(view, jv_copy(step)), vars = wf_jv_get(ctx, "vars");
	jv env = wf_jv_get(d->wf, "env"), senv = wf_jv_get(step, "env");
	struct wf_buf b = {0};
	char *masked;

	wf_buf_printf(&b, "step '%s' [%d/%d] (%s) will run:\n", id, idx + 1, d->nsteps, action);
	if (!strcmp(action, "shell")) {
		/* Values are never spliced into a command: the shell reads them from its environment. */
		wf_buf_printf(&b, "  command: %s\n", wf_jv_str(step, "command") ? wf_jv_str(step, "command") : "");
		wf_buf_printf(&b, "  environment (each variable as NAME and WF_VAR_NAME, then env:):\n");
		add_assignments(&b, vars, ctx, 0);
		add_assignments(&b, env, ctx, 1);
		add_assignments(&b, senv, ctx, 1);
		if (map_size(vars) + map_size(env) + map_size(senv) == 0)
			wf_buf_printf(&b, "    (none)\n");
	} else {
		if (wf_gate_step_needs_model(step))
			add_model(&b, d, step, ctx);
		add_fields(&b, step, ctx);
	}
	jv_free(env);
	jv_free(senv);
	jv_free(vars);
	jv_free(ctx);
	jv_free(view);
	masked = wf_redact(b.s ? b.s : "", b.len);
	wf_buf_free(&b);
	return masked;
}

/* ---- journaling ---- */

/* The stepping of the run now, STEP on or off with BREAKS (consumed), journaled: WF_GO_ON or 74. */
static int
journal_stepping(struct driver *d, int step, jv breaks)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("stepping"));

	ev = jv_object_set(ev, jv_string("step"), jv_bool(step));
	ev = jv_object_set(ev, jv_string("breaks"), breaks);
	return wf_driver_journal(d, ev, 1) ? WF_EXIT_IO : WF_GO_ON;
}

/* The breaks remembered in the run's state; the caller owns them. */
static jv
state_breaks(struct driver *d)
{
	jv st = wf_jv_get(d->run->state, "stepping"), breaks = wf_jv_get(st, "breaks");

	jv_free(st);
	if (jv_get_kind(breaks) != JV_KIND_ARRAY) {
		jv_free(breaks);
		breaks = jv_array();
	}
	return breaks;
}

/*
 * Step ID (STEP borrowed) is skipped, decided BY: its end event *EV
 * (consumed) journaled as skipped with the cursor at its next.
 * WF_GO_ON or 74.
 */
static int
skip_step(struct driver *d, const char *id, jv step, jv *ev, const char *by)
{
	jv e = *ev;

	*ev = jv_invalid();
	e = jv_object_set(e, jv_string("status"), jv_string("skipped"));
	e = jv_object_set(e, jv_string("exit_code"), jv_number(0));
	e = jv_object_set(e, jv_string("output"), jv_string(""));
	e = jv_object_set(e, jv_string("reason"), jv_string("step-through"));
	e = jv_object_set(e, jv_string("by"), jv_string(by));
	e = jv_object_set(e, jv_string("cursor"), wf_jv_get(step, "next"));
	wf_driver_progress(d, "%s: step '%s' skipped (%s)\n", d->run->name, id, by);
	return wf_driver_journal(d, e, 1) ? WF_EXIT_IO : WF_GO_ON;
}

/* The run stops before step ID, which will run WHAT, for a resume to answer: 3 or 74. */
static int
step_stop(struct driver *d, const char *id, const char *what)
{
	jv pending = jv_object(), opts = jv_array(), extra;
	static const char *const words[] = { "run", "skip", "continue" };
	char *name = wf_driver_shell_word(d->run->name);

	for (size_t i = 0; i < sizeof words / sizeof *words; i++)
		opts = jv_array_append(opts, jv_string(words[i]));
	pending = jv_object_set(pending, jv_string("kind"), jv_string("step"));
	pending = jv_object_set(pending, jv_string("step"), jv_string(id));
	pending = jv_object_set(pending, jv_string("message"), jv_string("stepping through, before: "));
	pending = jv_object_set(pending, jv_string("command"), jv_string(what));
	pending = jv_object_set(pending, jv_string("options"), opts);
	extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
	extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
	extra = jv_object_set(extra, jv_string("pending"), pending);
	/* Told even with --quiet: it is why the run stopped. */
	fprintf(d->o->log, "%s: stopped before step '%s' (stepping through)\n%s", d->run->name, id, what);
	fprintf(d->o->log, "  run it with: wf resume %s\n", name);
	wf_driver_answer_line(d, 0, "skip", "   (skip it: final)");
	wf_driver_answer_line(d, 0, "continue", "   (run it, and stop stepping)");
	fflush(d->o->log);
	free(name);
	return wf_driver_stop(d, "pause", "paused", "step", extra, WF_EXIT_WAIT);
}

/* ---- the person at the terminal ---- */

/* Read NAME=VALUE lines from the terminal until an empty one; each set is journaled as a var-set: 0 or 74. */
static int
edit_vars(struct driver *d)
{
	int timed_out;
	char *line;

	wf_tty_say("set variables, one NAME=VALUE a line; an empty line ends");
	while ((line = wf_tty_ask("  ", 0, &timed_out)) && *line) {
		jv vars = jv_object();

		/* The one reader of --var checks the line as it checks an option. */
		if (wf_var_arg(&vars, line) == 0 && jv_object_length(jv_copy(vars)) > 0) {
			jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("var-set"));

			ev = jv_object_set(ev, jv_string("vars"), vars);
			ev = jv_object_set(ev, jv_string("by"), jv_string("terminal"));
			if (wf_driver_journal(d, ev, 1)) {
				free(line);
				return WF_EXIT_IO;
			}
		} else {
			jv_free(vars);
		}
		free(line);
	}
	free(line);
	return 0;
}

/* Ask at the terminal what to do before step ID, which will run WHAT: run, skip, edit, continue or pause. */
static const char *
ask_step(const char *id, const char *what)
{
	static const char *const words[][2] = { { "r", "run" }, { "s", "skip" }, { "e", "edit" },
						{ "c", "continue" }, { "p", "pause" } };
	char *prompt = wf_xasprintf("\n%sbefore step '%s': [r]un, [s]kip, [e]dit variables, [c]ontinue without stopping, [p]ause: ",
				    what, id);
	const char *choice = NULL;
	int timed_out;

	while (!choice) {
		char *line = wf_tty_ask(prompt, 0, &timed_out);

		if (!line)
			choice = "pause";
		for (size_t i = 0; line && i < sizeof words / sizeof *words; i++)
			if (!strcmp(line, words[i][0]) || !strcmp(line, words[i][1]))
				choice = words[i][1];
		free(line);
	}
	free(prompt);
	return choice;
}

/*
 * The person at the terminal decides about step ID (STEP borrowed) at
 * IDX: as wf_stepthrough returns.
 */
static int
at_terminal(struct driver *d, const char *id, int idx, jv step, jv *ev, int *rc)
{
	const char *choice = "edit";
	char *what = NULL;

	*rc = WF_GO_ON;
	/* Edited variables show in the step at once: it is described again. */
	while (!strcmp(choice, "edit") && *rc == WF_GO_ON) {
		free(what);
		what = describe_step(d, id, idx, step);
		choice = ask_step(id, what);
		if (!strcmp(choice, "edit") && edit_vars(d))
			*rc = WF_EXIT_IO;
	}
	if (*rc == WF_GO_ON && !strcmp(choice, "skip")) {
		free(what);
		*rc = skip_step(d, id, step, ev, "terminal");
		return 1;
	}
	/* continue: stepping ends, the break points stay. */
	if (*rc == WF_GO_ON && !strcmp(choice, "continue"))
		*rc = journal_stepping(d, 0, state_breaks(d));
	if (*rc == WF_GO_ON && (!strcmp(choice, "run") || !strcmp(choice, "continue"))) {
		free(what);
		return 0;
	}
	/* Ctrl-C (or a signal) at the question is an interrupt, not an answer. */
	if (*rc == WF_GO_ON)
		*rc = wf_stop ? wf_driver_interrupted(d, wf_stop) : step_stop(d, id, what);
	free(what);
	jv_free(*ev);
	*ev = jv_invalid();
	return 1;
}

/* ---- the driver's hooks ---- */

/* Is ID in BREAKS (borrowed)? */
static int
breaks_at(jv breaks, const char *id)
{
	int found = 0;

	if (jv_get_kind(breaks) == JV_KIND_ARRAY)
		jv_array_foreach(breaks, i, b) {
			found |= jv_get_kind(b) == JV_KIND_STRING && !strcmp(jv_string_value(b), id);
			jv_free(b);
		}
	return found;
}

int
wf_stepthrough(struct driver *d, const char *id, int idx, jv step, jv *ev, int *rc)
{
	jv st, breaks;
	int stop;

	/* A sub-workflow's steps are the workflow step's: the run stops before that one. */
	if (d->parent)
		return 0;
	if (d->step_go) {
		/* The resume answered the stop before this step: that answer, once. */
		int here = !strcmp(d->step_go, id);
		const char *ans = d->step_answer;

		free(d->step_go);
		d->step_go = NULL;
		if (here && !strcmp(ans, "skip")) {
			*rc = skip_step(d, id, step, ev, "--answer");
			return 1;
		}
		if (here && !strcmp(ans, "continue") && (*rc = journal_stepping(d, 0, state_breaks(d))) != WF_GO_ON) {
			jv_free(*ev);
			*ev = jv_invalid();
			return 1;
		}
		if (here)
			return 0;
	}
	st = wf_jv_get(d->run->state, "stepping");
	breaks = wf_jv_get(st, "breaks");
	stop = wf_jv_bool(st, "step", 0) || breaks_at(breaks, id);
	jv_free(breaks);
	jv_free(st);
	if (!stop)
		return 0;
	if (d->tty_in)
		return at_terminal(d, id, idx, step, ev, rc);
	{
		char *what = describe_step(d, id, idx, step);

		*rc = step_stop(d, id, what);
		free(what);
	}
	jv_free(*ev);
	*ev = jv_invalid();
	return 1;
}

int
wf_stepthrough_check(struct driver *d)
{
	jv breaks = d->o->breaks;
	int rc = WF_GO_ON;

	if (jv_get_kind(breaks) != JV_KIND_ARRAY)
		return WF_GO_ON;
	jv_array_foreach(breaks, i, b) {
		int idx = wf_workflow_step_index(d->wf, jv_string_value(b));
		jv s = idx >= 0 ? wf_driver_step_at(d, idx) : jv_null();
		const char *a = wf_jv_str(s, "action");

		if (idx < 0 || (a && wf_action_has(a, WF_ACTION_DRIVER) && strcmp(a, "workflow"))) {
			struct wf_buf ids = {0};

			jv_array_foreach(d->steps, j, t) {
				wf_buf_printf(&ids, "%s%s", j ? ", " : "", wf_jv_str(t, "id"));
				jv_free(t);
			}
			if (idx < 0)
				wf_warn("--break: workflow '%s' has no step '%s'; its steps are: %s", wf_jv_str(d->wf, "name"),
					jv_string_value(b), ids.s ? ids.s : "(none)");
			else
				wf_warn("--break: step '%s' is a %s, which the run decides without running anything; break at a step that runs an action",
					jv_string_value(b), a);
			wf_buf_free(&ids);
			rc = WF_EXIT_USAGE;
		}
		jv_free(s);
		jv_free(b);
	}
	return rc;
}

int
wf_stepthrough_resume(struct driver *d)
{
	jv pending = wf_jv_get(d->run->state, "pending");
	const char *kind = wf_jv_str(pending, "kind"), *a = d->o->answer;
	int rc = WF_GO_ON;

	if (kind && !strcmp(kind, "step") && wf_jv_str(pending, "step") && !d->parent) {
		const char *ans = !a || !strcmp(a, "run") || !strcmp(a, "r") ? "run" :
				  !strcmp(a, "skip") || !strcmp(a, "s") ? "skip" :
				  !strcmp(a, "continue") || !strcmp(a, "c") ? "continue" : NULL;

		if (!ans) {
			wf_warn("run '%s' stopped before step '%s' (stepping through): '%s' is not an answer; use run, skip or continue; nothing was changed",
				d->run->name, wf_jv_str(pending, "step"), a);
			rc = WF_EXIT_DATA;
		} else {
			d->step_go = wf_xstrdup(wf_jv_str(pending, "step"));
			d->step_answer = wf_xstrdup(ans);
			d->o->answer = NULL;
		}
	} else if (kind && wf_jv_str(pending, "step") && !d->parent) {
		/* Stopped at a step for another question (consent, an answer): it was passed here already. */
		d->step_go = wf_xstrdup(wf_jv_str(pending, "step"));
		d->step_answer = wf_xstrdup("run");
	}
	jv_free(pending);
	return rc;
}

int
wf_stepthrough_begin(struct driver *d)
{
	struct wf_run_opts *o = d->o;
	jv st = wf_jv_get(d->run->state, "stepping");
	int given = jv_get_kind(o->breaks) == JV_KIND_ARRAY && jv_array_length(jv_copy(o->breaks)) > 0;
	int rc = WF_GO_ON;

	/* --no-step ends stepping and its breaks; --step and --break set what they name and keep the rest. */
	if (o->no_step)
		rc = journal_stepping(d, 0, jv_array());
	else if (o->step || given)
		rc = journal_stepping(d, o->step || wf_jv_bool(st, "step", 0),
				      given ? jv_copy(o->breaks) : state_breaks(d));
	jv_free(st);
	return rc;
}
