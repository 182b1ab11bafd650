/*
 * story.c: the path a run took, read from its journal: every execution
 * of a step in order with how it ended and why the cursor moved, the
 * events that changed the path (a pause, an answer, a resume, a rewind),
 * how often each step ran and each move was made.  wf graph draws it over
 * the workflow, wf report lays it out as a page, wf logs --timeline
 * prints it.  The shape is in story.h and wf-json(7).
 *
 * Layer 2: domain data.  wf_story is pure; wf_story_of reads a run.
 */
#include <stdlib.h>
#include <string.h>

#include "story.h"

/* The journal read so far. */
struct story {
	jv run;			/* the header */
	jv timeline;		/* the entries, in order */
	jv passes;		/* {STEP: executions ended} */
	jv edges;		/* [{from, to, count}] */
	jv prev;		/* the step executed last (a string), or null: the next one starts no edge */
	jv answers;		/* {STEP: the answer given, not yet on its step-end} */
	jv failed;		/* the step that ended the run failing, or null */
	jv last;		/* {STEP: the timeline index of its last execution} */
	jv edge_at;		/* {"FROM\nTO": its index in edges} */
	int open;		/* the timeline index of the execution begun and not ended, or -1 */
};

/* Members of a step-end copied into its entry as they are. */
static const char *const end_keys[] = {
	"action", "status", "exit_code", "duration_ms", "condition", "value", "jump", "error",
	"timed_out", "iteration", "max_iterations", "exhausted", "usage", "verdict", "answer", "output",
	"stderr", "by", NULL
};

/* Members of other events left out of the timeline: bulky, or bookkeeping. */
static const char *const dropped_keys[] = { "crc", "vars", "outputs", "pid", "hash", "restore", NULL };

/* Who gives consent by a rule set beforehand, not at the step. */
static const char *const standing_yes[] = { "trust", "--yes", "auto-approve", NULL };

/* Events that only repeat what a step-end says, or are bookkeeping. */
static const char *const quiet_events[] = { "run-start", "step-pgid", "jump", "loop", "loop-reset", NULL };

static int
listed(const char *const *list, const char *s)
{
	for (int i = 0; s && list[i]; i++)
		if (!strcmp(list[i], s))
			return 1;
	return 0;
}

/* V is borrowed; the name returned lives as long as V. */
const char *
wf_model_name_in(jv v)
{
	if (jv_get_kind(v) == JV_KIND_STRING)
		return jv_string_value(v);
	return jv_get_kind(v) == JV_KIND_OBJECT ? wf_jv_str(v, "name") : NULL;
}

/* Count one move from the step executed last to STEP. */
static void
add_edge(struct story *S, const char *step)
{
	const char *from = jv_get_kind(S->prev) == JV_KIND_STRING ? jv_string_value(S->prev) : NULL;

	if (from) {
		/* Ids hold no newline, so "FROM\nTO" names one move. */
		char *key = wf_xasprintf("%s\n%s", from, step);
		double i = wf_jv_num(S->edge_at, key, -1);
		jv e;

		if (i >= 0) {
			e = jv_array_get(jv_copy(S->edges), (int)i);
			e = jv_object_set(e, jv_string("count"), jv_number(wf_jv_num(e, "count", 0) + 1));
			S->edges = jv_array_set(S->edges, (int)i, e);
		} else {
			e = jv_object_set(jv_object(), jv_string("from"), jv_string(from));
			e = jv_object_set(e, jv_string("to"), jv_string(step));
			S->edge_at = jv_object_set(S->edge_at, jv_string(key),
						   jv_number(jv_array_length(jv_copy(S->edges))));
			S->edges = jv_array_append(S->edges, jv_object_set(e, jv_string("count"), jv_number(1)));
		}
		free(key);
	}
	jv_free(S->prev);
	S->prev = jv_string(step);
}

/* The execution in flight, at index S->open: caller owns it. */
static jv
open_entry(struct story *S)
{
	return jv_array_get(jv_copy(S->timeline), S->open);
}

/* End the execution in flight as STATUS (a step-start never ended: in doubt, or left behind). */
static void
close_open(struct story *S, const char *status)
{
	if (S->open < 0)
		return;
	S->timeline = jv_array_set(S->timeline, S->open,
				   jv_object_set(open_entry(S), jv_string("status"), jv_string(status)));
	S->open = -1;
}

/* Is the execution in flight one waiting for a person? */
static int
open_waiting(struct story *S)
{
	jv e = open_entry(S);
	int w = !strcmp(wf_jv_str(e, "status"), "waiting");

	jv_free(e);
	return w;
}

/* The execution in flight, when it is of STEP, waits for a person. */
static void
mark_waiting(struct story *S, const char *step)
{
	jv e = open_entry(S);

	if (!strcmp(wf_jv_str(e, "step"), step))
		S->timeline = jv_array_set(S->timeline, S->open,
					   jv_object_set(e, jv_string("status"), jv_string("waiting")));
	else
		jv_free(e);
}

/* Begin an execution of STEP at event EV (borrowed): its timeline index. */
static int
begin(struct story *S, const char *step, jv ev)
{
	jv e = jv_object_set(jv_object(), jv_string("event"), jv_string("step"));
	int n;

	add_edge(S, step);
	e = jv_object_set(e, jv_string("seq"), wf_jv_get(ev, "seq"));
	e = jv_object_set(e, jv_string("step"), jv_string(step));
	e = jv_object_set(e, jv_string("pass"), jv_number(wf_jv_num(S->passes, step, 0) + 1));
	e = jv_object_set(e, jv_string("attempt"), jv_number(wf_jv_num(ev, "attempt", 1)));
	e = jv_object_set(e, jv_string("status"), jv_string("running"));
	e = jv_object_set(e, jv_string("started"), wf_jv_get(ev, "time"));
	/* Where its output's frames begin in steps/output.log (outlog.h), for the report. */
	if (wf_jv_num(ev, "log_at", 0) > 0)
		e = jv_object_set(e, jv_string("log_at"), wf_jv_get(ev, "log_at"));
	S->timeline = jv_array_append(S->timeline, e);
	n = jv_array_length(jv_copy(S->timeline)) - 1;
	S->last = jv_object_set(S->last, jv_string(step), jv_number(n));
	return n;
}

/* Step-start EV (borrowed). */
static void
on_step_start(struct story *S, jv ev)
{
	const char *step = wf_jv_str(ev, "step");
	jv cur;

	if (!step)
		return;
	if (S->open >= 0) {
		cur = open_entry(S);
		/* A retry of the step in flight, or a question answered, is the same execution. */
		if (!strcmp(wf_jv_str(cur, "step"), step) &&
		    (wf_jv_num(ev, "attempt", 1) > 1 || !strcmp(wf_jv_str(cur, "status"), "waiting"))) {
			cur = jv_object_set(cur, jv_string("attempt"), wf_jv_get(ev, "attempt"));
			S->timeline = jv_array_set(S->timeline, S->open, cur);
			return;
		}
		jv_free(cur);
		close_open(S, "in-doubt");
	}
	S->open = begin(S, step, ev);
}

/* The entry E (consumed, returned) with how step-end EV (borrowed) says it ended. */
static jv
ended(struct story *S, jv e, jv ev)
{
	const char *step = wf_jv_str(ev, "step"), *model;
	jv m = wf_jv_get(ev, "model"), usage = wf_jv_get(ev, "usage"), ans, approved;
	double t0 = wf_iso_ms(wf_jv_str(e, "started")), t1 = wf_iso_ms(wf_jv_str(ev, "time"));

	for (int i = 0; end_keys[i]; i++)
		if (jv_object_has(jv_copy(ev), jv_string(end_keys[i])))
			e = jv_object_set(e, jv_string(end_keys[i]), wf_jv_get(ev, end_keys[i]));
	e = jv_object_set(e, jv_string("ended"), wf_jv_get(ev, "time"));
	if (!jv_object_has(jv_copy(e), jv_string("duration_ms")) && t0 >= 0 && t1 >= t0)
		e = jv_object_set(e, jv_string("duration_ms"), jv_number(t1 - t0));
	model = wf_model_name_in(m) ? wf_model_name_in(m) : wf_jv_str(usage, "model");
	if (model)
		e = jv_object_set(e, jv_string("model"), jv_string(model));
	/* A review's verdict: approved true or false. */
	approved = wf_jv_get(ev, "approved");
	if (jv_get_kind(approved) == JV_KIND_TRUE || jv_get_kind(approved) == JV_KIND_FALSE)
		e = jv_object_set(e, jv_string("verdict"),
				  jv_string(jv_get_kind(approved) == JV_KIND_TRUE ? "approved" : "rejected"));
	/* The answer to a question: the step-end's own, else the answer event's. */
	ans = wf_jv_get(S->answers, step);
	if (jv_get_kind(ans) != JV_KIND_NULL && !jv_object_has(jv_copy(e), jv_string("answer")))
		e = jv_object_set(e, jv_string("answer"), ans);
	else
		jv_free(ans);
	S->answers = jv_object_delete(S->answers, jv_string(step));
	e = jv_object_set(e, jv_string("next"), wf_jv_get(ev, "cursor"));
	S->passes = jv_object_set(S->passes, jv_string(step), jv_number(wf_jv_num(S->passes, step, 0) + 1));
	jv_free(approved);
	jv_free(m);
	jv_free(usage);
	return e;
}

/* Step-end EV (borrowed). */
static void
on_step_end(struct story *S, jv ev)
{
	const char *step = wf_jv_str(ev, "step");
	jv cur = S->open >= 0 ? open_entry(S) : jv_null();
	int idx;

	if (!step) {
		jv_free(cur);
		return;
	}
	/* Steps the driver decides itself (a conditional, a loop, an if: skip) have no step-start. */
	if (S->open >= 0 && !strcmp(wf_jv_str(cur, "step"), step))
		idx = S->open;
	else {
		close_open(S, "in-doubt");
		jv_free(cur);
		idx = begin(S, step, ev);
		cur = jv_array_get(jv_copy(S->timeline), idx);
	}
	S->timeline = jv_array_set(S->timeline, idx, ended(S, cur, ev));
	S->open = -1;
	if (!strcmp(wf_jv_str(ev, "status") ? wf_jv_str(ev, "status") : "", "failed")) {
		jv_free(S->failed);
		S->failed = jv_string(step);
	}
}

/* Any other event EV (borrowed) worth telling, as a timeline entry. */
static void
on_other(struct story *S, jv ev)
{
	const char *event = wf_jv_str(ev, "event"), *by = wf_jv_str(ev, "by"), *step = wf_jv_str(ev, "step");
	jv e = jv_copy(ev), pending = wf_jv_get(ev, "pending");

	if (!event || listed(quiet_events, event))
		goto out;
	/* A yes given by a standing rule (a trusted file, --yes, auto-approve) is no one's decision now. */
	if (!strcmp(event, "consent") && listed(standing_yes, by) &&
	    !strcmp(wf_jv_str(ev, "decision") ? wf_jv_str(ev, "decision") : "", "yes"))
		goto out;
	if (!strcmp(event, "answer") && step)
		S->answers = jv_object_set(S->answers, jv_string(step), wf_jv_get(ev, "value"));
	/* A step that asks a person waits, open, until the answer lets it end. */
	if (!strcmp(event, "pause") && S->open >= 0 && step && jv_get_kind(pending) == JV_KIND_OBJECT)
		mark_waiting(S, step);
	if (!strcmp(event, "resume") && S->open >= 0 && !open_waiting(S))
		close_open(S, wf_jv_bool(ev, "skipped", 0) ? "skipped" : "in-doubt");
	if (!strcmp(event, "rewind")) {
		close_open(S, "in-doubt");
		jv_free(S->prev);
		S->prev = jv_null();	/* a rewind is no move of the workflow's */
	}
	if (!strcmp(event, "run-end") && wf_jv_str(ev, "status") && !strcmp(wf_jv_str(ev, "status"), "failed") &&
	    step) {
		jv_free(S->failed);
		S->failed = jv_string(step);
	}
	for (int i = 0; dropped_keys[i]; i++)
		e = jv_object_delete(e, jv_string(dropped_keys[i]));
	S->timeline = jv_array_append(S->timeline, e);
	jv_free(pending);
	return;
out:
	jv_free(pending);
	jv_free(e);
}

/* Run-start EV (borrowed): the header's first members. */
static void
on_start(struct story *S, jv ev)
{
	static const char *const keys[] = { "name", "id", "project", "workflow_name", "workflow", NULL };
	jv fork = wf_jv_get(ev, "fork");

	for (int i = 0; keys[i]; i++)
		if (jv_object_has(jv_copy(ev), jv_string(keys[i])))
			S->run = jv_object_set(S->run, jv_string(keys[i]), wf_jv_get(ev, keys[i]));
	if (!jv_object_has(jv_copy(S->run), jv_string("started")))
		S->run = jv_object_set(S->run, jv_string("started"), wf_jv_get(ev, "time"));
	if (jv_get_kind(fork) == JV_KIND_OBJECT)
		S->run = jv_object_set(S->run, jv_string("forked_from"), fork);
	else
		jv_free(fork);
}

/* The exit status a run of state ST (borrowed) gave, from its status when the journal did not say. */
static jv
exit_code_of(jv st)
{
	static const struct {
		const char *status;
		int code;
	} codes[] = { { "completed", 0 }, { "failed", 1 }, { "waiting", 3 }, { "paused", 3 }, { "declined", 77 } };
	const char *s = wf_jv_str(st, "status");
	jv c = wf_jv_get(st, "exit_code");

	if (jv_get_kind(c) == JV_KIND_NUMBER)
		return c;
	jv_free(c);
	for (size_t i = 0; s && i < sizeof codes / sizeof *codes; i++)
		if (!strcmp(s, codes[i].status))
			return jv_number(codes[i].code);
	return jv_null();
}

/* The models the steps talked to, in the order first used (S's timeline borrowed): caller owns. */
static jv
models_used(struct story *S)
{
	jv seen = jv_object(), out = jv_array();

	jv_array_foreach(S->timeline, i, e) {
		const char *m = wf_jv_str(e, "model");

		(void)i;
		if (m && !jv_object_has(jv_copy(seen), jv_string(m))) {
			seen = jv_object_set(seen, jv_string(m), jv_true());
			out = jv_array_append(out, jv_string(m));
		}
		jv_free(e);
	}
	jv_free(seen);
	return out;
}

/* The header's last members, from state ST (borrowed). */
static void
finish(struct story *S, jv st)
{
	const char *status = wf_jv_str(st, "status");
	double t0 = wf_iso_ms(wf_jv_str(st, "started")), t1 = wf_iso_ms(wf_jv_str(st, "ended"));

	if (S->open >= 0)
		close_open(S, !status || !strcmp(status, "running") ? "running"
			   : !strcmp(status, "waiting") ? "waiting" : "in-doubt");
	S->run = jv_object_set(S->run, jv_string("status"), status ? jv_string(status) : jv_null());
	S->run = jv_object_set(S->run, jv_string("reason"), wf_jv_get(st, "reason"));
	if (wf_jv_str(st, "started"))
		S->run = jv_object_set(S->run, jv_string("started"), wf_jv_get(st, "started"));
	S->run = jv_object_set(S->run, jv_string("ended"), wf_jv_get(st, "ended"));
	S->run = jv_object_set(S->run, jv_string("duration_ms"),
			       t0 >= 0 && t1 >= t0 ? jv_number(t1 - t0) : jv_null());
	S->run = jv_object_set(S->run, jv_string("exit_code"), exit_code_of(st));
	S->run = jv_object_set(S->run, jv_string("cursor"), wf_jv_get(st, "cursor"));
	S->run = jv_object_set(S->run, jv_string("models"), models_used(S));
	S->run = jv_object_set(S->run, jv_string("usage"), wf_jv_get(st, "usage"));
	if (!status || strcmp(status, "failed")) {
		jv_free(S->failed);
		S->failed = jv_null();
	}
}

/* EVENTS and ST are borrowed; the caller owns the story returned. */
jv
wf_story(jv events, jv st)
{
	struct story S = {
		.run = jv_object(), .timeline = jv_array(), .passes = jv_object(), .edges = jv_array(),
		.prev = jv_null(), .answers = jv_object(), .failed = jv_null(), .last = jv_object(),
		.edge_at = jv_object(), .open = -1,
	};
	const char *status;
	jv out;

	if (jv_get_kind(events) == JV_KIND_ARRAY)
		jv_array_foreach(events, i, ev) {
			const char *what = wf_jv_str(ev, "event");

			(void)i;
			if (!what)
				;
			else if (!strcmp(what, "run-start"))
				on_start(&S, ev);
			else if (!strcmp(what, "step-start"))
				on_step_start(&S, ev);
			else if (!strcmp(what, "step-end"))
				on_step_end(&S, ev);
			else
				on_other(&S, ev);
			jv_free(ev);
		}
	finish(&S, st);
	status = wf_jv_str(st, "status");
	out = jv_object_set(jv_object(), jv_string("run"), S.run);
	out = jv_object_set(out, jv_string("timeline"), S.timeline);
	out = jv_object_set(out, jv_string("passes"), S.passes);
	out = jv_object_set(out, jv_string("edges"), S.edges);
	out = jv_object_set(out, jv_string("current"),
			    status && strcmp(status, "completed") ? wf_jv_get(st, "cursor") : jv_null());
	out = jv_object_set(out, jv_string("failed"), S.failed);
	out = jv_object_set(out, jv_string("last"), S.last);
	jv_free(S.prev);
	jv_free(S.answers);
	jv_free(S.edge_at);
	return out;
}

/* R is borrowed; the caller owns the story returned (invalid with ERR on a read error). */
jv
wf_story_of(struct wf_run *r, char *err, size_t n)
{
	jv events = wf_run_read_journal(r, 0, err, n), story, run, sum;
	int live;

	if (!jv_is_valid(events))
		return events;
	story = wf_story(events, r->state);
	jv_free(events);
	/* The summary wf runs shows: a live run's status and duration, a past run's number. */
	live = r->past ? 0 : wf_run_is_live(r);
	sum = wf_run_summary(r, live);
	run = jv_object_get(jv_copy(story), jv_string("run"));
	run = jv_object_set(run, jv_string("name"), jv_string(r->name));
	run = jv_object_set(run, jv_string("id"), wf_jv_get(sum, "id"));
	run = jv_object_set(run, jv_string("status"), wf_jv_get(sum, "status"));
	run = jv_object_set(run, jv_string("duration_ms"), wf_jv_get(sum, "duration_ms"));
	run = jv_object_set(run, jv_string("tokens"), wf_jv_get(sum, "tokens"));
	run = jv_object_set(run, jv_string("cost_usd"), wf_jv_get(sum, "cost_usd"));
	run = jv_object_set(run, jv_string("dir"), jv_string(r->dir));
	jv_free(sum);
	return jv_object_set(story, jv_string("run"), run);
}
