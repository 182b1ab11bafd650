/*
 * runstep.c: one step of a run, the body of the driver's loop (run.c).
 * Before the step: is it there, was the run asked to stop or pause, is
 * the step limit reached?  Then its if:, and either a control step
 * (loop, conditional) decided by flow.c, or an action: the gate
 * (gate.c), its attempts in the wf-step child (stepper.c), its result
 * told and journaled with where the run goes next.
 *
 * Layer 4: driver.
 *
 * Rules: a step is two journal appends, its start before it runs and its
 * end (with the next cursor) after; every way a step stops the run is
 * one stop event with a reason and an exit status; a step interrupted or
 * crashed in flight is left in doubt for the resume to settle.  The
 * step's id is the caller's: nothing here frees it.
 */
#include <ctype.h>
#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver.h"
#include "outlog.h"
#include "stepthrough.h"
#include "subflow.h"
#include "parallel.h"
#include "fallback.h"

/* Their short names in this file. */
#define progress wf_driver_progress
#define col wf_driver_col

/* STEP's (borrowed) main text, shortened to a line, for progress; in BUF. */
static const char *
short_detail(jv step, char *buf, size_t n)
{
	static const char *const keys[] = { "command", "prompt", "message", "condition", "model", "from",
					    "workflow", NULL };
	const char *t = NULL;

	for (int i = 0; keys[i] && !t; i++)
		t = wf_jv_str(step, keys[i]);
	if (!t)
		return "";
	/* The first line, with what a terminal would obey (escapes, bells) made visible. */
	size_t len = strcspn(t, "\n");
	char *first = wf_xasprintf("%.*s", (int)len, t);
	struct wf_buf v = {0};

	wf_buf_add_visible(&v, first);
	snprintf(buf, n, " \"%.*s%s\"", (int)(v.len > 48 ? 48 : v.len), v.s ? v.s : "",
		 v.len > 48 || t[len] ? "..." : "");
	wf_buf_free(&v);
	free(first);
	return buf;
}

/* The stop of step ID: EXTRA with the step's id; the caller owns it. */
static jv
step_extra(const char *id)
{
	return jv_object_set(jv_object(), jv_string("step"), jv_string(id));
}

/*
 * The run stops (EVENT, STATUS, REASON, exit CODE) while step ID (STEP
 * borrowed) is in flight, WHAT having happened: the step is in doubt.
 * The stop event keeps it (inflight, with the process groups it started)
 * so that the resume decides by the one rule: run it again with a notice,
 * or, for idempotent: false, stop with 3 and ask.
 */
static int
stop_in_doubt(struct driver *d, const char *id, jv step, const char *what, const char *event,
	      const char *status, const char *reason, int code)
{
	jv extra = step_extra(id);

	extra = jv_object_set(extra, jv_string("inflight"), wf_jv_get(d->run->state, "inflight"));
	if (wf_step_repeatable(step))
		wf_warn("run '%s': %s during step '%s'; it is in doubt and runs again on 'wf resume %s'",
			d->run->name, what, id, d->run->name);
	else
		wf_warn("run '%s': %s during step '%s', which is marked idempotent: false; 'wf resume %s' will ask whether to run it again (--rerun) or take it as done (--skip)",
			d->run->name, what, id, d->run->name);
	return wf_driver_stop(d, event, status, reason, extra, code);
}

/* ---- one step ---- */

/*
 * Was the run a person started asked to pause (wf pause), D being a run
 * nested in it (a sub-workflow's or a parallel branch's)?  The request
 * stays for the others nested beside D; the caller's stop clears it.
 */
static int
pause_from_above(struct driver *d)
{
	struct driver *top = d;

	while (top->parent)
		top = top->parent;
	return top != d && faccessat(top->run->dirfd, "pause-request", F_OK, 0) == 0;
}

/*
 * Before step ID (at IDX, -1 when the workflow has none) runs: is it
 * there, was the run asked to stop or pause, is the step limit reached?
 * WF_GO_ON, or the run stopped and its exit status.
 */
static int
before_step(struct driver *d, const char *id, int idx)
{
	int sig = wf_stop;

	if (idx < 0) {
		wf_warn("run '%s': step '%s' is not in the workflow (it changed?); start over with 'wf run %s --restart'",
			d->run->name, id, d->run->name);
		return WF_EXIT_DATA;
	}
	if (sig)
		return wf_driver_interrupted(d, sig);
	if (wf_run_take_pause(d->run) || pause_from_above(d)) {
		char *name = wf_driver_shell_word(d->run->name);

		/* Told even with --quiet: it is why the run stopped. */
		fprintf(d->o->log, "%s: paused before step '%s'; continue with: wf resume %s\n", d->run->name, id, name);
		fflush(d->o->log);
		free(name);
		return wf_driver_stop(d, "pause", "paused", "wf pause", jv_null(), WF_EXIT_WAIT);
	}
	if ((long)wf_jv_num(d->run->state, "steps_run", 0) >= d->max_steps) {
		jv trail = wf_jv_get(d->run->state, "trail");
		char *cyc = wf_flow_describe_cycle(trail);

		wf_warn("step limit of %ld reached; %s (allow more steps with 'wf resume %s --max-steps %ld')",
			d->max_steps, cyc, d->run->name, 2 * d->max_steps + 1);
		jv_free(trail);
		free(cyc);
		return wf_driver_stop(d, "run-end", "failed", "step limit", jv_null(), WF_EXIT_LIMIT);
	}
	return WF_GO_ON;
}

/* Tell and free the message a decision left in *MSG, if any. */
static void
warn_msg(char **msg)
{
	if (*msg)
		wf_warn("%s", *msg);
	free(*msg);
	*msg = NULL;
}

/* Journal step ID's end EV (consumed) as done, with status STATUS and the cursor NEXT (consumed). */
static int
journal_done(struct driver *d, jv ev, const char *status, jv next)
{
	ev = jv_object_set(ev, jv_string("status"), jv_string(status));
	ev = jv_object_set(ev, jv_string("exit_code"), jv_number(0));
	ev = jv_object_set(ev, jv_string("output"), jv_string(""));
	ev = jv_object_set(ev, jv_string("cursor"), next);
	return wf_driver_journal(d, ev, 1) ? WF_EXIT_IO : WF_GO_ON;
}

/* The loop STEP (borrowed) ID is exhausted (CODE 4, or 3 to pause): stop; EV (consumed) has its passes. */
static int
loop_exhausted(struct driver *d, const char *id, jv step, jv ev, int code)
{
	jv extra = jv_object_set(step_extra(id), jv_string("passes"), wf_jv_get(ev, "passes"));
	long max = (long)wf_jv_num(step, "max-iterations", 0);

	jv_free(ev);
	/* Going on needs a higher cap or a false condition: a plain resume would stop here again. */
	wf_warn("loop %s exhausted after %ld passes%s; raise its max-iterations in the workflow, then 'wf resume %s --accept-changes', or make its condition false with 'wf resume %s --var NAME=VALUE'",
		id, max, code == WF_EXIT_WAIT ? "; paused" : "", d->run->name, d->run->name);
	return wf_driver_stop(d, code == WF_EXIT_WAIT ? "pause" : "run-end", code == WF_EXIT_WAIT ? "paused" : "failed",
			      "loop exhausted", extra, code);
}

/* A loop or a conditional, STEP (borrowed) ID at IDX, decided here; EV (consumed) is its end event. */
static int
control_step(struct driver *d, const char *id, int idx, jv step, jv ev)
{
	const char *action = wf_jv_str(step, "action");
	int loop = !strcmp(action, "loop"), code = 0;
	char *msg = NULL, detail[80];
	jv view = wf_run_view(d->run, 1);
	jv next = loop ? wf_flow_loop(view, step, &ev, &code, &msg) :
			 wf_flow_conditional(view, step, &ev, &code, &msg);

	jv_free(view);

	warn_msg(&msg);
	if (!jv_is_valid(next)) {
		jv_free(next);
		if (code == WF_EXIT_LIMIT || code == WF_EXIT_WAIT)
			return loop_exhausted(d, id, step, ev, code);
		jv_free(ev);
		return wf_driver_stop(d, "run-end", "failed", "bad condition", jv_null(), code);
	}
	if (loop && wf_jv_bool(ev, "exhausted", 0))
		progress(d, "%sloop %s exhausted after %ld passes; continuing%s\n", col(d, "\033[33m"), id,
			 (long)wf_jv_num(step, "max-iterations", 1), col(d, "\033[0m"));
	progress(d, "%s[%d/%d] %s %s%s -> %s%s\n", col(d, "\033[2m"), idx + 1, d->nsteps, id, action,
		 short_detail(step, detail, sizeof detail),
		 jv_get_kind(next) == JV_KIND_STRING ? jv_string_value(next) : "end", col(d, "\033[0m"));
	return journal_done(d, ev, "ok", next);
}

/*
 * Is the elapsed time of a step of ACTION drawn while it runs?  On a
 * terminal, unless the step talks there itself: an interactive step
 * asks, and a model's reply streams onto a terminal as it comes (ai.c).
 */
static int
live_wanted(struct driver *d, const char *action)
{
	/* A sub-workflow's steps tell their own progress. */
	if (!d->tty || d->o->quiet || !action || !strcmp(action, "interactive") || !strcmp(action, "workflow") ||
	    !strcmp(action, "parallel"))
		return 0;
	if (wf_action_uses_model(action))
		return !d->o->json && !isatty(fileno(d->o->out)) && !(getenv("WF_STREAM_FD") && *getenv("WF_STREAM_FD"));
	return 1;
}

/*
 * Run the action STEP (borrowed) ID at IDX in wf-step, journaling each
 * attempt's start, as often as its retry: allows.  The caller owns the
 * last result; invalid when the journal could not be written.
 */
static jv
run_attempts(struct driver *d, const char *id, int idx, jv step)
{
	jv retry = wf_jv_get(step, "retry"), res = jv_null();
	int attempts = (int)wf_jv_num(retry, "attempts", 1);
	double delay = wf_jv_num(retry, "delay", 0);
	int idem = wf_jv_bool(step, "idempotent", 1), sub = !strcmp(wf_jv_str(step, "action"), "workflow");
	int par = !strcmp(wf_jv_str(step, "action"), "parallel");
	char detail[80];

	jv_free(retry);
	if (attempts < 1)
		attempts = 1;
	snprintf(d->live.line, sizeof d->live.line, "[%d/%d] %s %s%s", idx + 1, d->nsteps, id,
		 wf_jv_str(step, "action"), short_detail(step, detail, sizeof detail));
	progress(d, "%s%s ...%s%s", col(d, "\033[1m"), d->live.line, col(d, "\033[0m"), d->tty && !sub && !par ? "" : "\n");
	for (int attempt = 1; attempt <= attempts; attempt++) {
		jv se = jv_object_set(jv_object(), jv_string("event"), jv_string("step-start"));

		se = jv_object_set(se, jv_string("step"), jv_string(id));
		se = jv_object_set(se, jv_string("attempt"), jv_number(attempt));
		/* Where its output's frames will begin in steps/output.log, for readers to seek to (outlog.h). */
		se = jv_object_set(se, jv_string("log_at"), jv_number((double)wf_outlog_size(d->run->dirfd)));
		if (!idem)
			se = jv_object_set(se, jv_string("idempotent"), jv_false());
		jv_free(res);
		if (wf_driver_journal(d, se, !idem))
			return jv_invalid();
		d->live.on = live_wanted(d, wf_jv_str(step, "action"));
		d->live.shown = 0;
		res = sub ? wf_subflow_run(d, id, step) : par ? wf_parallel_run(d, id, step) :
		      wf_stepper_run(d, jv_copy(step));
		/* A sub-run that stopped is not retried: its caller stops the same way. */
		if (jv_object_has(jv_copy(res), jv_string("sub_stop")))
			break;
		d->live.on = 0;
		if (wf_jv_bool(res, "interrupted", 0) || wf_jv_bool(res, "crashed", 0) || wf_stop)
			break;
		if (strcmp(wf_jv_str(res, "status"), "failed") || attempt == attempts)
			break;
		progress(d, "\n%s%s failed (%s); retrying in %gs (attempt %d of %d)%s\n",
			 col(d, "\033[33m"), id, wf_jv_str(res, "error") ? wf_jv_str(res, "error") : "?",
			 delay, attempt + 1, attempts, col(d, "\033[0m"));
		for (double w = 0; w < delay && !wf_stop; w += 0.05)
			usleep(50000);
	}
	return res;
}

/*
 * RES (consumed, returned) with the step's duration_ms: the time since T,
 * when it started after its consent, less the time it waited for a
 * person's answer (waited_ms, which an interactive step reports).
 */
static jv
with_duration(jv res, double t)
{
	double ms = wf_now_ms() - t - wf_jv_num(res, "waited_ms", 0);

	return jv_object_set(res, jv_string("duration_ms"), jv_number(ms > 0 ? (double)(long)ms : 0));
}

/* The model that answered step result RES (borrowed), as ", model NAME" for its progress line, or ""; in BUF. */
static const char *
answered_by(jv res, char *buf, size_t n)
{
	jv u = wf_jv_get(res, "usage");
	const char *m = wf_jv_str(u, "model");

	snprintf(buf, n, "%s%.100s", m ? ", model " : "", m ? m : "");
	jv_free(u);
	return buf;
}

/* Tell how action ID at IDX ended with RES (borrowed; it has its duration_ms). */
static void
report_result(struct driver *d, const char *id, int idx, jv res)
{
	const char *status = wf_jv_str(res, "status");
	double secs = wf_jv_num(res, "duration_ms", 0) / 1000.0;
	/* Its output on the terminal is at the cursor, or the line is rewritten in place with the result. */
	int printed = wf_stepper_printed(d) || (wf_jv_num(res, "printed", 1) > 0 && isatty(fileno(d->o->out)));
	const char *c_on = !strcmp(status, "ok") ? col(d, "\033[32m") : !strcmp(status, "waiting") ?
			   col(d, "\033[33m") : col(d, "\033[31m");
	char model[128];

	answered_by(res, model, sizeof model);
	if (d->tty && !printed)
		progress(d, "\r\033[K%s%s ... %s%s %.1fs%s%s\n", col(d, "\033[1m"), d->live.line, c_on,
			 status, secs, model, col(d, "\033[0m"));
	else
		progress(d, "%s%s[%d/%d] %s %s %.1fs%s%s\n", d->tty ? "\n" : "", c_on, idx + 1, d->nsteps,
			 id, status, secs, model, col(d, "\033[0m"));
	if (!strcmp(status, "failed") && wf_jv_str(res, "error")) {
		/* Failures are told even with --quiet. */
		if (d->o->quiet)
			wf_warn("step '%s': %s", id, wf_jv_str(res, "error"));
		else
			progress(d, "%s%s: %s%s\n", col(d, "\033[31m"), id, wf_jv_str(res, "error"),
				 col(d, "\033[0m"));
	}
}

/*
 * Action ID failed (CODE 1, 4, or a condition's): its end EV (consumed)
 * keeps the cursor on it, so a resume runs it again.
 */
static int
step_failed(struct driver *d, const char *id, jv ev, int code)
{
	ev = jv_object_set(ev, jv_string("cursor"), jv_string(id));
	if (wf_driver_journal(d, ev, 1))
		return WF_EXIT_IO;
	if (code == WF_EXIT_LIMIT)
		progress(d, "%s: step '%s' timed out; raise its 'timeout:' and 'wf resume %s --accept-changes', or run it again with 'wf resume %s'\n",
			 d->run->name, id, d->run->name, d->run->name);
	else if (!d->parent)	/* a sub-run's failure is its step's, which the caller tells */
		progress(d, "%s: failed at step '%s'; fix the cause, then 'wf resume %s'\n",
			 d->run->name, id, d->run->name);
	return wf_driver_stop(d, "run-end", "failed", code == WF_EXIT_FAIL ? "step failed" :
			      code == WF_EXIT_LIMIT ? "step timed out" : "bad condition", step_extra(id), code);
}

char *
wf_driver_shell_word(const char *s)
{
	struct wf_buf b = {0};
	int plain = *s != '\0';

	for (const char *p = s; *p && plain; p++)
		plain = isalnum((unsigned char)*p) || strchr("_./:,+@%=-", *p);
	if (plain)
		return wf_xstrdup(s);
	/* In single quotes nothing is special but the quote itself, which ends, is escaped, and starts again. */
	wf_buf_addch(&b, '\'');
	for (; *s; s++)
		if (*s == '\'')
			wf_buf_addstr(&b, "'\\''");
		else
			wf_buf_addch(&b, *s);
	wf_buf_addch(&b, '\'');
	return wf_buf_detach(&b);
}

void
wf_driver_answer_line(struct driver *d, int first, const char *answer, const char *note)
{
	char *full = d->branch ? wf_xasprintf("%s:%s", d->branch, answer) : NULL;
	char *name = wf_driver_shell_word(d->run->name), *word = wf_driver_shell_word(full ? full : answer);

	fprintf(d->o->log, "  %s wf resume %s --answer %s%s\n", first ? "answer with:" : "         or:", name, word,
		note ? note : "");
	free(full);
	free(word);
	free(name);
}

/*
 * The run waits at step ID for PENDING (borrowed): tell the question and
 * the exact commands that answer it, or, for what a person must do
 * elsewhere (its message was told), the command that goes on.  Told even
 * with --quiet: it is why the run stopped.
 */
static void
tell_waiting(struct driver *d, const char *id, jv pending)
{
	const char *kind = wf_jv_str(pending, "kind"), *type = wf_jv_str(pending, "type");
	char *name = wf_driver_shell_word(d->run->name);
	jv opts = wf_jv_get(pending, "options"), def = wf_jv_get(pending, "default");

	if (!kind || strcmp(kind, "question")) {
		fprintf(d->o->log, "%s: waiting at step '%s'; when it is done, go on with: wf resume %s\n",
			d->run->name, id, name);
	} else {
		fprintf(d->o->log, "%s: waiting at step '%s', which asks: %s\n", d->run->name, id,
			wf_jv_str(pending, "message") ? wf_jv_str(pending, "message") : "");
		if (!type || !strcmp(type, "confirm")) {
			wf_driver_answer_line(d, 1, "yes", NULL);
			wf_driver_answer_line(d, 0, "no", NULL);
		} else if (!strcmp(type, "choice") && jv_get_kind(opts) == JV_KIND_ARRAY) {
			jv_array_foreach(opts, i, o) {
				wf_driver_answer_line(d, i == 0, jv_get_kind(o) == JV_KIND_STRING ? jv_string_value(o) : "", NULL);
				jv_free(o);
			}
		} else if (jv_get_kind(def) != JV_KIND_NULL) {
			char *t = wf_jv_text(def);

			wf_driver_answer_line(d, 1, t, NULL);
			free(t);
		} else {
			fprintf(d->o->log, "  answer with: wf resume %s --answer %s%sTEXT   (TEXT quoted for the shell)\n", name,
				d->branch ? d->branch : "", d->branch ? ":" : "");
		}
	}
	fflush(d->o->log);
	jv_free(opts);
	jv_free(def);
	free(name);
}

/*
 * Action STEP (borrowed) ID ran to result RES: wait for an answer, or
 * journal its end EV with where the run goes next.  RES and EV consumed.
 */
static int
action_end(struct driver *d, const char *id, jv step, jv res, jv ev)
{
	jv next, jump, view;
	char *msg = NULL;
	int code = 0;

	if (!strcmp(wf_jv_str(res, "status"), "waiting")) {
		jv pending = wf_jv_get(res, "pending");
		jv extra = jv_object_set(step_extra(id), jv_string("pending"), jv_copy(pending));

		extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
		jv_free(res);
		jv_free(ev);
		tell_waiting(d, id, pending);
		jv_free(pending);
		return wf_driver_stop(d, "pause", "waiting", "waiting for an answer", extra, WF_EXIT_WAIT);
	}
	view = wf_run_view(d->run, 1);
	next = wf_branch_after(view, step, res, &jump, &code, &msg);
	jv_free(view);
	warn_msg(&msg);
	ev = wf_flow_step_end(ev, res);
	if (!jv_is_valid(next)) {
		jv_free(next);
		jv_free(jump);
		if (code == WF_EXIT_DENIED)
			return wf_gate_declined(d, id, ev, res);
		jv_free(res);
		return step_failed(d, id, ev, code);
	}
	if (jv_get_kind(jump) != JV_KIND_NULL)
		ev = jv_object_set(ev, jv_string("jump"), jump);
	else
		jv_free(jump);
	ev = jv_object_set(ev, jv_string("cursor"), next);
	if (wf_driver_journal(d, ev, 1)) {
		jv_free(res);
		return WF_EXIT_IO;
	}
	if (wf_jv_str(res, "output_error")) {
		/* Done and journaled, output included: the run stops, and a resume goes on after it. */
		wf_warn("run '%s': step '%s' ran, but %s; the run stops here (its output is in the journal); fix the cause, then 'wf resume %s' goes on after it",
			d->run->name, id, wf_jv_str(res, "output_error"), d->run->name);
		jv_free(res);
		return wf_driver_stop(d, "run-end", "failed", "step output not saved", step_extra(id), WF_EXIT_IO);
	}
	jv_free(res);
	return WF_GO_ON;
}

/*
 * Each switch to a fallback model the step ID's calls made (its result
 * RES, borrowed: usage.fallbacks) journaled as a fallback event before
 * its end, and told: a model that stood in for another is never silent,
 * not even with --quiet.  0, or 74.
 */
static int
journal_fallbacks(struct driver *d, const char *id, jv res)
{
	jv u = wf_jv_get(res, "usage"), l = wf_jv_get(u, "fallbacks");
	int rc = 0;

	if (jv_get_kind(l) == JV_KIND_ARRAY)
		jv_array_foreach(l, i, sw) {
			jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("fallback"));
			char *line = wf_fallback_line(sw);

			(void)i;
			ev = jv_object_set(ev, jv_string("step"), jv_string(id));
			jv_object_foreach(sw, k, v)
				ev = jv_object_set(ev, k, v);
			if (!rc)
				rc = wf_driver_journal(d, ev, 0);
			else
				jv_free(ev);
			if (d->o->quiet)
				wf_warn("step '%s': %s", id, line);
			else
				progress(d, "%s%s: %s%s\n", col(d, "\033[33m"), id, line, col(d, "\033[0m"));
			free(line);
			jv_free(sw);
		}
	jv_free(l);
	jv_free(u);
	return rc;
}

/* The action STEP (borrowed) ID at IDX: gate, run, journal; EV (consumed) is its end event. */
static int
action_step(struct driver *d, const char *id, int idx, jv step, jv ev)
{
	double t;
	jv res;
	int rc;

	/* A model call that would cross the budget is not made; consent first, for what changes the world. */
	if ((rc = wf_gate_budget(d, step, id)) || (rc = wf_gate_consent(d, step, id))) {
		jv_free(ev);
		return rc;
	}
	/* The step's time starts now: a person deciding on its consent is not the step. */
	t = wf_now_ms();
	d->live.t0 = t;
	res = run_attempts(d, id, idx, step);
	if (!jv_is_valid(res))
		rc = WF_EXIT_IO;
	else if (jv_object_has(jv_copy(res), jv_string("sub_stop"))) {
		jv_free(ev);
		return wf_subflow_stopped(d, id, res);
	} else if (wf_jv_bool(res, "crashed", 0) && !wf_stop)
		rc = stop_in_doubt(d, id, step, "'wf-step' died", "run-end", "failed", "step crashed",
				   WF_EXIT_SOFTWARE);
	else if (wf_jv_bool(res, "interrupted", 0) || wf_stop) {
		int sig = wf_stop;

		if (!sig)
			sig = SIGINT;

		if (d->tty)
			progress(d, "\n");
		rc = stop_in_doubt(d, id, step, "interrupted", "pause", "paused", wf_driver_signal_reason(sig),
				   128 + sig);
	} else {
		res = with_duration(res, t);
		report_result(d, id, idx, res);
		if (journal_fallbacks(d, id, res)) {
			jv_free(res);
			jv_free(ev);
			return WF_EXIT_IO;
		}
		return action_end(d, id, step, res, ev);
	}
	jv_free(res);
	jv_free(ev);
	return rc;
}

/* Run step ID, the cursor: WF_GO_ON, or the run stopped and its exit status. */
int
wf_driver_run_step(struct driver *d, const char *id)
{
	/* A map from id to index, so finding a step costs the same in any workflow. */
	jv at = jv_object_get(jv_copy(d->index), jv_string(id)), step, ev, view;
	int idx = jv_get_kind(at) == JV_KIND_NUMBER ? (int)jv_number_value(at) : -1, rc, code = 0, decision;
	const char *action, *cond;
	char *msg = NULL;

	jv_free(at);
	if ((rc = before_step(d, id, idx)) != WF_GO_ON)
		return rc;
	step = wf_driver_step_at(d, idx);
	action = wf_jv_str(step, "action");
	cond = wf_jv_str(step, "if");
	ev = jv_object_set(jv_object(), jv_string("event"), jv_string("step-end"));
	ev = jv_object_set(ev, jv_string("step"), jv_string(id));
	ev = jv_object_set(ev, jv_string("action"), jv_string(action));
	d->ran++;
	/* if: skips a step whose condition is false. */
	view = cond ? wf_run_view(d->run, 1) : jv_null();
	decision = cond ? wf_flow_decide(view, step, cond, &code, &msg) : 1;
	jv_free(view);
	switch (decision) {
	case -1:
		warn_msg(&msg);
		jv_free(ev);
		rc = wf_driver_stop(d, "run-end", "failed", "bad condition", jv_null(), code);
		break;
	case 0:
		progress(d, "%s[%d/%d] %s %s skipped%s\n", col(d, "\033[2m"), idx + 1, d->nsteps, id, action,
			 col(d, "\033[0m"));
		/* Why, for the history: the if: that was false. */
		ev = jv_object_set(jv_object_set(ev, jv_string("condition"), jv_string(cond)), jv_string("value"),
				   jv_false());
		rc = journal_done(d, ev, "skipped", wf_jv_get(step, "next"));
		break;
	default:
		if (wf_action_has(action, WF_ACTION_DRIVER) && strcmp(action, "workflow") && strcmp(action, "parallel"))
			rc = control_step(d, id, idx, step, ev);
		else if (!wf_stepthrough(d, id, idx, step, &ev, &rc))
			rc = action_step(d, id, idx, step, ev);
	}
	jv_free(step);
	return rc;
}
