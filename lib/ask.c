/*
 * ask.c: questions for a person.  The interactive action asks on the
 * terminal (/dev/tty, so it works with stdout piped), or, with nobody
 * there, returns "waiting" with the question so the run pauses and
 * `wf resume --answer` can answer it later; never blocking, never guessing.
 * The terminal itself (asking, checking an answer) is tty.c's.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"

/* Trim spaces at both ends of S in place. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* The question a step asks, as stored in the run while it waits.  STEP borrowed; the caller owns the question. */
static jv
question(jv step, const char *message)
{
	jv q = jv_object();

	q = jv_object_set(q, jv_string("kind"), jv_string("question"));
	q = jv_object_set(q, jv_string("step"), wf_jv_get(step, "id"));
	q = jv_object_set(q, jv_string("message"), jv_string(message));
	q = jv_object_set(q, jv_string("type"), wf_jv_get(step, "kind"));
	q = jv_object_set(q, jv_string("options"), wf_jv_get(step, "options"));
	return jv_object_set(q, jv_string("default"), wf_jv_get(step, "default"));
}

/* R answered with VALUE (consumed) given BY someone or something; STEP borrowed; returns ownership of R. */
static jv
answered(jv r, jv step, jv value, const char *by, const char *message)
{
	const char *var = wf_jv_str(step, "variable");
	char *text = wf_jv_text(value);
	jv ans = jv_object();

	if (var)
		r = wf_result_set_var(r, var, jv_copy(value));
	if (jv_get_kind(value) == JV_KIND_TRUE || jv_get_kind(value) == JV_KIND_FALSE)
		r = jv_object_set(r, jv_string("approved"), jv_copy(value));
	ans = jv_object_set(ans, jv_string("question"), jv_string(message));
	ans = jv_object_set(ans, jv_string("value"), value);
	ans = jv_object_set(ans, jv_string("by"), jv_string(by));
	r = jv_object_set(r, jv_string("answer"), ans);
	r = jv_object_set(r, jv_string("output"), jv_string(text));
	free(text);
	return r;
}

/* R answered with the step's default DEF (as the question takes it, else as text); STEP, PENDING, DEF borrowed; returns ownership of R. */
static jv
answered_default(jv r, jv step, jv pending, jv def, const char *by, const char *message)
{
	char *d = wf_jv_text(def), err[512];
	jv value;

	if (wf_answer_check(pending, d, &value, err, sizeof err) < 0)
		value = jv_string(d);
	r = answered(r, step, value, by, message);
	free(d);
	return r;
}

/* What the terminal shows: the step, the message, the options and the default.  STEP and DEF borrowed; malloc'd. */
static char *
prompt_text(jv step, const char *kind, const char *message, jv def)
{
	struct wf_buf p = {0};

	wf_buf_printf(&p, "\n-- %s (interactive)%s%s\n%s", wf_jv_str(step, "id"),
		      wf_jv_str(step, "description") ? ": " : "",
		      wf_jv_str(step, "description") ? wf_jv_str(step, "description") : "", message);
	if (!strcmp(kind, "choice")) {
		jv opts = wf_jv_get(step, "options");

		jv_array_foreach(opts, i, o) {
			wf_buf_printf(&p, "\n  %d) %s", i + 1, jv_string_value(o));
			jv_free(o);
		}
		jv_free(opts);
	}
	if (!strcmp(kind, "confirm"))
		wf_buf_addstr(&p, " [y/n]");
	if (jv_get_kind(def) != JV_KIND_NULL) {
		char *d = wf_jv_text(def);
		wf_buf_printf(&p, " (default: %s)", d);
		free(d);
	}
	wf_buf_addstr(&p, " (p pauses): ");
	return wf_buf_detach(&p);
}

/*
 * At a terminal: ask until the answer is one we can take; "p" pauses, no
 * answer at all waits.  The time spent waiting for the person is told as
 * waited_ms, which the step's duration leaves out.  R consumed; STEP,
 * PENDING, DEF borrowed; returns ownership of R.
 */
static jv
ask_at_terminal(jv r, jv step, jv pending, jv def, const char *kind, const char *message)
{
	char *prompt = prompt_text(step, kind, message, def), err[512];
	double waited = 0;

	for (;;) {
		char *line, *a;
		int timed_out = 0;
		double t = wf_now_ms();
		jv value;

		line = wf_tty_ask(prompt, wf_jv_num(step, "timeout", 0), &timed_out);
		waited += wf_now_ms() - t;
		if (!line && timed_out && jv_get_kind(def) != JV_KIND_NULL) {
			r = answered_default(r, step, pending, def, "timeout", message);
			break;
		}
		if (!line) {
			/* No answer (end of input, a signal, a timeout with no default): wait instead. */
			r = wf_result_waiting(r, jv_copy(pending));
			if (wf_stop)
				r = jv_object_set(r, jv_string("interrupted"), jv_true());
			break;
		}
		a = trim(line);
		if (!strcmp(a, "p")) {
			free(line);
			r = wf_result_waiting(r, jv_copy(pending));
			r = jv_object_set(r, jv_string("paused_by"), jv_string("terminal"));
			break;
		}
		if (!*a && jv_get_kind(def) != JV_KIND_NULL) {
			r = answered_default(r, step, pending, def, "terminal", message);
			free(line);
			break;
		}
		if (*a && wf_answer_check(pending, a, &value, err, sizeof err) == 0) {
			r = answered(r, step, value, "terminal", message);
			free(line);
			break;
		}
		wf_tty_say(*a ? err : "please answer");
		free(line);
	}
	free(prompt);
	return jv_object_set(r, jv_string("waited_ms"), jv_number((double)(long)waited));
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_interactive(jv req, jv r)
{
	jv step = wf_jv_get(req, "step"), run = wf_jv_get(req, "run");
	jv pending, given = wf_jv_get(req, "answer");
	const char *kind = wf_jv_str(step, "kind");
	char err[512];
	struct wf_diag warn = {0};
	char *message = wf_subst(wf_jv_str(step, "message") ? wf_jv_str(step, "message") : "",
				 req, 0, &warn, err, sizeof err);
	jv def = wf_jv_get(step, "default");

	if (!message)
		message = wf_xstrdup(wf_jv_str(step, "message") ? wf_jv_str(step, "message") : "");
	wf_diag_free(&warn);
	if (!kind)
		kind = "confirm";
	pending = question(step, message);
	if (jv_get_kind(given) == JV_KIND_STRING) {
		/* An answer given with wf resume --answer. */
		jv value;

		if (wf_answer_check(pending, jv_string_value(given), &value, err, sizeof err) < 0)
			r = wf_result_fail(r, WF_EXIT_DATA, "%s", err);
		else
			r = answered(r, step, value, "--answer", message);
	} else if (!wf_jv_bool(run, "interactive", 1)) {
		/* Never to ask: the default. */
		if (jv_get_kind(def) == JV_KIND_NULL)
			r = wf_result_fail(r, 1, "the workflow says interactive: false and this question has no default");
		else
			r = answered_default(r, step, pending, def, "default", message);
	} else if (!wf_jv_bool(run, "tty", 0)) {
		/* Nobody to ask: wait for an answer. */
		r = wf_result_waiting(r, jv_copy(pending));
	} else {
		r = ask_at_terminal(r, step, pending, def, kind, message);
	}
	free(message);
	jv_free(pending);
	jv_free(given);
	jv_free(def);
	jv_free(step);
	jv_free(run);
	jv_free(req);
	return r;
}
