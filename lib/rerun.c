/*
 * rerun.c: one AI step of a past or current run asked again of another
 * model (wf-model(1) "Rerun").  The run is opened read-only; the call is
 * found in its recordings (record.h) by the step's execution, which its
 * story (story.h) and the rewind's pass counting (rewind.h) give; the
 * new answer is judged as the run judged the old one: the same verdict
 * parser and the same decision after a step (branch.h), in the run's
 * view as it was just before that execution's end.
 *
 * Layer 2: domain data.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "branch.h"
#include "record.h"
#include "rerun.h"
#include "rewind.h"
#include "story.h"

/* The actions whose answer comes from a model, as wf rerun takes them. */
static const char *const ai_actions[] = { "ai-prompt", "review-pr", "make-changes", "self-review", NULL };

static int
is_ai(const char *action)
{
	for (int i = 0; action && ai_actions[i]; i++)
		if (!strcmp(action, ai_actions[i]))
			return 1;
	return 0;
}

/* The definition of step ID in run R's workflow (the caller owns it), null when it has none, invalid on a read error. */
static jv
step_def(struct wf_run *r, const char *id, char *err, size_t n)
{
	jv wf = wf_run_workflow(r, err, n), steps, s;
	int i;

	if (!jv_is_valid(wf))
		return wf;
	i = wf_workflow_step_index(wf, id);
	steps = wf_jv_get(wf, "steps");
	s = i >= 0 ? jv_array_get(steps, i) : (jv_free(steps), jv_null());
	jv_free(wf);
	return s;
}

/*
 * The story's entries of pass PASS of step ID in TIMELINE (borrowed): an
 * array, one per attempt, in order; the caller owns it.
 */
static jv
pass_entries(jv timeline, const char *id, long pass)
{
	jv out = jv_array();

	jv_array_foreach(timeline, i, e) {
		(void)i;
		if (wf_jv_str(e, "event") && !strcmp(wf_jv_str(e, "event"), "step") && wf_jv_str(e, "step") &&
		    !strcmp(wf_jv_str(e, "step"), id) && (long)wf_jv_num(e, "pass", 0) == pass)
			out = jv_array_append(out, e);
		else
			jv_free(e);
	}
	return out;
}

/* The recorded calls of step ID (CALLS borrowed) made by the executions in ENTRIES (borrowed); the caller owns them. */
static jv
pass_calls(jv calls, const char *id, jv entries)
{
	jv out = jv_array();

	jv_array_foreach(calls, i, c) {
		int mine = 0;

		(void)i;
		if (wf_jv_str(c, "step") && !strcmp(wf_jv_str(c, "step"), id))
			jv_array_foreach(entries, k, e) {
				(void)k;
				mine |= wf_jv_num(e, "seq", -1) == wf_jv_num(c, "seq", -2);
				jv_free(e);
			}
		if (mine)
			out = jv_array_append(out, c);
		else
			jv_free(c);
	}
	return out;
}

/*
 * The step-end event of step ID at or after seq FROM in EVENTS (borrowed),
 * or null: the result the run judged.  The caller owns it.
 */
static jv
end_event(jv events, const char *id, double from)
{
	jv_array_foreach(events, i, ev) {
		(void)i;
		if (wf_jv_num(ev, "seq", 0) >= from && wf_jv_str(ev, "event") && !strcmp(wf_jv_str(ev, "event"), "step-end") &&
		    wf_jv_str(ev, "step") && !strcmp(wf_jv_str(ev, "step"), id))
			return ev;
		jv_free(ev);
	}
	return jv_null();
}

/*
 * The run's view as the driver had it when it judged END (borrowed, a
 * step-end event, or null: the run's view now): the journal EVENTS
 * (borrowed) before END replayed.  R borrowed; the caller owns it.
 */
static jv
view_before(struct wf_run *r, jv events, jv end)
{
	jv now = r->state, v;

	if (jv_get_kind(end) != JV_KIND_OBJECT)
		return wf_run_view(r, 1);
	r->state = wf_state_before(events, (long)wf_jv_num(end, "seq", 0));
	v = wf_run_view(r, 1);
	jv_free(r->state);
	r->state = now;
	return v;
}

/* What a step ENTRY's (borrowed) jump says moved the run, for a person; a static string. */
static const char *
how_of(jv entry)
{
	jv jump = wf_jv_get(entry, "jump");
	const char *how = "next in order";
	jv v;

	if (jv_get_kind(jump) != JV_KIND_OBJECT) {
		jv_free(jump);
		return wf_jv_str(entry, "status") && !strcmp(wf_jv_str(entry, "status"), "failed") ? "failing" : how;
	}
	if (wf_jv_str(jump, "because"))
		how = !strcmp(wf_jv_str(jump, "because"), "on-error") ? "on-error" :
		      !strcmp(wf_jv_str(jump, "because"), "on-split") ? "on-split" : "on-complete";
	else if (jv_get_kind(v = wf_jv_get(jump, "verdict")) != JV_KIND_NULL)
		how = jv_get_kind(v) == JV_KIND_TRUE ? "on-approved" : "on-rejected", jv_free(v);
	else if (jv_free(v), jv_get_kind(v = wf_jv_get(jump, "value")) != JV_KIND_NULL)
		how = jv_get_kind(v) == JV_KIND_TRUE ? "check true" : "check false", jv_free(v);
	else
		jv_free(v);
	jv_free(jump);
	return how;
}

/* The answer ANSWER (borrowed, a wf-model chat result) as the comparison shows it; the caller owns it. */
static jv
answer_brief(jv answer)
{
	jv o = jv_object(), m = wf_jv_get(answer, "model");

	o = jv_object_set(o, jv_string("model"), jv_get_kind(m) == JV_KIND_OBJECT ? m : (jv_free(m), jv_object()));
	o = jv_object_set(o, jv_string("text"), jv_string(wf_jv_str(answer, "text") ? wf_jv_str(answer, "text") : ""));
	o = jv_object_set(o, jv_string("usage"), wf_jv_get(answer, "usage"));
	o = jv_object_set(o, jv_string("cost"), wf_jv_get(answer, "cost"));
	return o;
}

/*
 * The old side of case C (consumed): the recorded CALL's (borrowed)
 * answer, the verdict and the path the run took at ENTRY (borrowed, the
 * execution's last story entry).  The caller owns it.
 */
static jv
old_side(jv c, jv call, jv entry)
{
	jv ans = wf_jv_get(call, "answer"), old = answer_brief(ans), br = jv_object();
	const char *v = wf_jv_str(entry, "verdict");

	jv_free(ans);
	old = jv_object_set(old, jv_string("name"), wf_jv_get(call, "name"));
	if (v)
		old = jv_object_set(old, jv_string("verdict"), jv_string(v));
	br = jv_object_set(br, jv_string("was"), wf_jv_get(entry, "next"));
	br = jv_object_set(br, jv_string("how"), jv_string(how_of(entry)));
	old = jv_object_set(old, jv_string("branch"), br);
	return jv_object_set(c, jv_string("old"), old);
}

/* Open run NAME read-only into *R: 0, or *CODE with ERR. */
static int
open_run(const char *name, struct wf_run **r, int *code, char *err, size_t n)
{
	*code = wf_run_open(name, 0, r, err, n);
	return *code ? -1 : 0;
}

/*
 * The execution's facts into case C (consumed and returned): its calls
 * from the recordings, the one asked again (the WHICH-th from 1, 0 the
 * last), the judged result and view.  R borrowed; invalid with *CODE and
 * ERR.
 */
static jv
gather(jv c, struct wf_run *r, const char *step, long pass, long which, int *code, char *err, size_t n)
{
	jv events = wf_run_read_journal(r, 0, err, n), story, timeline, entries, calls, mine, call, last, end;
	int k;

	if (!jv_is_valid(events)) {
		*code = WF_EXIT_IO;
		jv_free(c);
		return events;
	}
	story = wf_story(events, r->state);
	timeline = wf_jv_get(story, "timeline");
	entries = pass_entries(timeline, step, pass);
	jv_free(timeline);
	timeline = wf_jv_get(story, "passes");
	c = jv_object_set(c, jv_string("passes"), wf_jv_get(timeline, step));
	jv_free(timeline);
	jv_free(story);
	last = jv_array_get(jv_copy(entries), jv_array_length(jv_copy(entries)) - 1);
	if (wf_jv_str(last, "status") && !strcmp(wf_jv_str(last, "status"), "skipped"))
		snprintf(err, n, "pass %ld of step '%.80s' of run '%s' was skipped: it asked no model", pass, step, r->name);
	else if (faccessat(r->dirfd, "calls.jsonl", F_OK, 0) < 0)
		snprintf(err, n, "run '%s' has no recordings of its model calls (no %s/calls.jsonl: it ran before wf "
			 "recorded them); run the workflow again to record them", r->name, r->dir);
	else
		*err = '\0';
	if (*err) {
		*code = WF_EXIT_NOINPUT;
		jv_free(events), jv_free(entries), jv_free(last), jv_free(c);
		return jv_invalid();
	}
	calls = wf_record_read(r->dir);
	mine = pass_calls(calls, step, entries);
	jv_free(calls);
	k = jv_array_length(jv_copy(mine));
	if (k == 0)
		snprintf(err, n, "run '%s': pass %ld of step '%.80s' has no recorded model call (it reused an answer it had, or "
			 "failed before asking); run the workflow again to record one", r->name, pass, step);
	else if (which > k)
		snprintf(err, n, "run '%s': pass %ld of step '%.80s' made %d model call%s; --call takes 1 to %d", r->name, pass,
			 step, k, k == 1 ? "" : "s", k);
	if (k == 0 || which > k) {
		*code = WF_EXIT_NOINPUT;
		jv_free(events), jv_free(entries), jv_free(mine), jv_free(last), jv_free(c);
		return jv_invalid();
	}
	which = which ? which : k;
	call = jv_array_get(mine, (int)which - 1);
	end = end_event(events, step, wf_jv_num(last, "seq", 0));
	c = jv_object_set(c, jv_string("call"), jv_number((double)which));
	c = jv_object_set(c, jv_string("calls"), jv_number(k));
	c = old_side(c, call, last);
	c = jv_object_set(c, jv_string("_key"), wf_jv_get(call, "key"));
	c = jv_object_set(c, jv_string("_view"), view_before(r, events, end));
	c = jv_object_set(c, jv_string("_result"), end);
	jv_free(call);
	jv_free(last);
	jv_free(entries);
	jv_free(events);
	return c;
}

/* The caller owns the case returned (see rerun.h). */
jv
wf_rerun_case(const char *run, const char *step, long pass, long call, int *code, char *err, size_t n)
{
	struct wf_run *r = NULL;
	jv def, point, c;
	const char *action;

	if (open_run(run, &r, code, err, n))
		return jv_invalid();
	def = step_def(r, step, err, n);
	if (!jv_is_valid(def)) {
		*code = WF_EXIT_IO;
		wf_run_close(r);
		return def;
	}
	action = wf_jv_str(def, "action");
	if (jv_get_kind(def) == JV_KIND_OBJECT && !is_ai(action)) {
		snprintf(err, n, "step '%.80s' of run '%s' is a %s step, not an AI step (ai-prompt, review-pr, make-changes, "
			 "self-review): it asks no model", step, r->name, action ? action : "custom");
		*code = WF_EXIT_DATA;
		jv_free(def);
		wf_run_close(r);
		return jv_invalid();
	}
	point = wf_rewind_point(r, step, pass, code, err, n);
	if (!jv_is_valid(point)) {
		jv_free(point);
		jv_free(def);
		wf_run_close(r);
		return jv_invalid();
	}
	c = jv_object_set(jv_object(), jv_string("run"), jv_string(r->name));
	if (r->past)
		c = jv_object_set(c, jv_string("id"), jv_number((double)r->id));
	c = jv_object_set(c, jv_string("step"), jv_string(step));
	c = jv_object_set(c, jv_string("action"), jv_string(action));
	c = jv_object_set(c, jv_string("pass"), wf_jv_get(point, "pass"));
	c = jv_object_set(c, jv_string("_step"), def);
	c = gather(c, r, step, (long)wf_jv_num(point, "pass", 1), call, code, err, n);
	jv_free(point);
	wf_run_close(r);
	return c;
}

/* ---- the new answer, judged ---- */

/*
 * The result the step would have had with answer TEXT, from the judged
 * OLD result (consumed) of STEP (borrowed) in VIEW (borrowed); invalid
 * with WHY when the action would not have used the answer as it is.
 * *VERDICT gets a review's verdict (the caller owns it) or stays invalid.
 */
static jv
new_result(jv old, jv step, jv view, const char *text, jv *verdict, char *why, size_t n)
{
	const char *a = wf_jv_str(step, "action"), *out = wf_jv_str(step, "output"), *fmt = wf_jv_str(step, "format");
	jv vars = wf_jv_get(old, "vars"), r = jv_object_delete(jv_object_delete(old, jv_string("error")), jv_string("timed_out"));
	char err[256];

	if (jv_get_kind(vars) != JV_KIND_OBJECT)
		jv_free(vars), vars = jv_object();
	r = jv_object_set(jv_object_set(r, jv_string("status"), jv_string("ok")), jv_string("exit_code"), jv_number(0));
	if (!strcmp(a, "review-pr")) {
		jv vars_pr = wf_jv_get(view, "vars");
		int ok;

		*verdict = wf_verdict_of(text, err, sizeof err);
		if (!jv_is_valid(*verdict)) {
			snprintf(why, n, "the answer is not a usable verdict (%s): the action would ask again", err);
			jv_free(vars_pr), jv_free(vars), jv_free(r);
			return jv_invalid();
		}
		ok = wf_jv_bool(*verdict, "approved", 0);
		r = jv_object_set(r, jv_string("approved"), jv_bool(ok));
		r = jv_object_set(r, jv_string("output"), jv_string_fmt("#%.0f %s: %s", wf_jv_num(vars_pr, "pr_number", 0),
			ok ? "approved" : "changes requested", wf_jv_str(*verdict, "summary")));
		vars = jv_object_set(vars, jv_string("approved"), jv_bool(ok));
		vars = jv_object_set(vars, jv_string("review_comments"), wf_jv_get(*verdict, "comments"));
		vars = jv_object_set(vars, jv_string("review_summary"), wf_jv_get(*verdict, "summary"));
		jv_free(vars_pr);
	} else if (!strcmp(a, "ai-prompt")) {
		jv doc = fmt && !strcmp(fmt, "json") ? wf_json_parse(text, strlen(text), err, sizeof err) : jv_string(text);

		if (!jv_is_valid(doc)) {
			snprintf(why, n, "the answer is not JSON (%s): the action would ask again", err);
			jv_free(doc), jv_free(vars), jv_free(r);
			return jv_invalid();
		}
		if (jv_get_kind(doc) != JV_KIND_STRING) {
			char *s = wf_json_dump(doc);

			jv_free(doc);
			doc = jv_string(s);
			free(s);
		}
		if (out)
			vars = jv_object_set(vars, jv_string(out), jv_copy(doc));
		r = jv_object_set(r, jv_string("output"), doc);
	} else {
		snprintf(why, n, "%s acts on the answer (%s); a rerun does not, so its result is unknown", a,
			 !strcmp(a, "make-changes") ? "it applies a patch" : "it posts a comment");
		jv_free(vars), jv_free(r);
		return jv_invalid();
	}
	return jv_object_set(r, jv_string("vars"), vars);
}

/* Does STEP (borrowed) act on its answer (apply it, post it), so that its outcome with another one is unknown? */
static int
acts_on_answer(jv step)
{
	const char *a = wf_jv_str(step, "action");

	return a && (!strcmp(a, "make-changes") || !strcmp(a, "self-review"));
}

/* Does anything but the step's status decide where STEP (borrowed) goes after it? */
static int
answer_decides(jv step)
{
	return wf_jv_str(step, "check") || wf_step_gives_verdict(step);
}

/*
 * Where case C (borrowed) would have gone with answer TEXT: {"same",
 * "was", "would", "how", "why"?}; *VERDICT as new_result.  The caller
 * owns it.
 */
static jv
branch_of(jv c, const char *text, jv *verdict)
{
	jv step = wf_jv_get(c, "_step"), view = wf_jv_get(c, "_view"), old = wf_jv_get(c, "_result");
	jv olds = wf_jv_get(c, "old"), oldb = wf_jv_get(olds, "branch"), was = wf_jv_get(oldb, "was"), b = jv_object(), res, to, jump;
	char why[512], *msg = NULL;
	int code = 0;

	b = jv_object_set(b, jv_string("was"), jv_copy(was));
	/* An action that acts on its answer is judged by new_result whatever decides its path: it says unknown. */
	if (jv_get_kind(old) != JV_KIND_OBJECT || (!answer_decides(step) && !acts_on_answer(step))) {
		b = jv_object_set(b, jv_string("same"), jv_get_kind(old) == JV_KIND_OBJECT ? jv_true() : jv_null());
		b = jv_object_set(b, jv_string("would"), jv_copy(was));
		b = jv_object_set(b, jv_string("how"), wf_jv_get(oldb, "how"));
		b = jv_object_set(b, jv_string("why"), jv_string(jv_get_kind(old) == JV_KIND_OBJECT ?
				  "the answer does not decide the step's path" : "the execution has not ended"));
		jv_free(old);
		old = jv_null();
	}
	res = jv_get_kind(old) == JV_KIND_OBJECT ? new_result(old, step, view, text, verdict, why, sizeof why) : jv_null();
	if (jv_get_kind(res) == JV_KIND_OBJECT) {
		to = wf_branch_after(view, step, res, &jump, &code, &msg);
		if (jv_is_valid(to)) {
			jv e = jv_object_set(jv_object_set(jv_object(), jv_string("next"), jv_copy(to)), jv_string("jump"), jump);

			b = jv_object_set(b, jv_string("would"), jv_copy(to));
			b = jv_object_set(b, jv_string("how"), jv_string(how_of(e)));
			b = jv_object_set(b, jv_string("same"), jv_bool(jv_equal(jv_copy(to), jv_copy(was))));
			jv_free(e);
		} else {
			jv_free(jump);
			b = jv_object_set(b, jv_string("same"), jv_null());
			b = jv_object_set(b, jv_string("why"), jv_string(msg ? msg : "the step would stop the run"));
		}
		jv_free(to);
		free(msg);
	} else if (!jv_is_valid(res)) {
		b = jv_object_set(b, jv_string("same"), jv_null());
		b = jv_object_set(b, jv_string("why"), jv_string(why));
	}
	jv_free(res);
	jv_free(was);
	jv_free(oldb);
	jv_free(olds);
	jv_free(step);
	jv_free(view);
	return b;
}

/* C borrowed; the caller owns the answer returned (see rerun.h). */
jv
wf_rerun_ask(jv reg, jv c, const char *name, const struct wf_chat_opts *o, int *code)
{
	jv key = wf_jv_get(c, "_key"), req = jv_object(), res, out, verdict = jv_invalid();
	static const char *const keep[] = { "system", "messages", "options", NULL };

	req = jv_object_set(req, jv_string("model"), jv_string(name));
	for (int i = 0; keep[i]; i++) {
		jv v = wf_jv_get(key, keep[i]);

		if (jv_get_kind(v) != JV_KIND_NULL)
			req = jv_object_set(req, jv_string(keep[i]), v);
		else
			jv_free(v);
	}
	req = jv_object_set(req, jv_string("stream"), jv_false());
	jv_free(key);
	*code = wf_model_chat(reg, req, o, &res);
	if (*code) {
		jv m = wf_jv_get(res, "model");

		if (jv_get_kind(m) != JV_KIND_OBJECT) {
			jv_free(m);
			m = jv_object_set(jv_object(), jv_string("name"), jv_string(name));
		}
		out = jv_object_set(jv_object(), jv_string("model"), m);
		out = jv_object_set(out, jv_string("error"), wf_jv_get(res, "error"));
		out = jv_object_set(out, jv_string("exit_code"), jv_number(*code));
		jv_free(res);
		return out;
	}
	out = answer_brief(res);
	out = jv_object_set(out, jv_string("branch"), branch_of(c, wf_jv_str(res, "text") ? wf_jv_str(res, "text") : "", &verdict));
	if (jv_is_valid(verdict))
		out = jv_object_set(out, jv_string("verdict"), jv_string(wf_jv_bool(verdict, "approved", 0) ? "approved" : "rejected"));
	jv_free(verdict);
	jv_free(res);
	return out;
}

/* C and NEW consumed; the caller owns the document returned. */
jv
wf_rerun_doc(jv c, jv new)
{
	static const char *const internal[] = { "_key", "_view", "_result", "_step", NULL };

	for (int i = 0; internal[i]; i++)
		c = jv_object_delete(c, jv_string(internal[i]));
	return jv_object_set(c, jv_string("new"), new);
}
