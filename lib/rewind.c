/*
 * rewind.c: where a run stood just before a step it reached, and the
 * rewind event that moves it back there (wf-state(1) rewind); wf fork
 * starts a new run from the same point (fork.c).
 * Layer 2: domain data.
 * The path a run took is its story (story.c); the state before a step is
 * the one reducer (wf_state_apply) over the journal up to that step.  The
 * journal is only ever appended to: a rewind is an event of its own.
 */
#include <stdlib.h>
#include <string.h>

#include "rewind.h"
#include "story.h"

/* IDS (consumed, an array of strings) as "a, b, c", malloc'd. */
static char *
id_list(jv ids)
{
	struct wf_buf b = {0};

	jv_array_foreach(ids, i, id) {
		wf_buf_printf(&b, "%s'%s'", i ? ", " : "", jv_get_kind(id) == JV_KIND_STRING ? jv_string_value(id) : "?");
		jv_free(id);
	}
	jv_free(ids);
	return b.s ? b.s : wf_xstrdup("none");
}

/*
 * Is STEP a step of R's workflow?  0, or 2 (with ERR naming its steps)
 * or 74.
 */
static int
check_step(struct wf_run *r, const char *step, char *err, size_t n)
{
	jv wf = wf_run_workflow(r, err, n), ids = jv_array(), steps;
	char *names;

	if (!jv_is_valid(wf))
		return WF_EXIT_IO;
	if (wf_workflow_step_index(wf, step) >= 0) {
		jv_free(wf);
		jv_free(ids);
		return 0;
	}
	steps = wf_jv_get(wf, "steps");
	jv_array_foreach(steps, i, s) {
		(void)i;
		ids = jv_array_append(ids, wf_jv_get(s, "id"));
		jv_free(s);
	}
	jv_free(steps);
	names = id_list(ids);
	snprintf(err, n, "workflow '%s' of run '%s' has no step '%.80s'; its steps are %s",
		 wf_jv_str(wf, "name") ? wf_jv_str(wf, "name") : "?", r->name, step, names);
	free(names);
	jv_free(wf);
	return WF_EXIT_USAGE;
}

/*
 * The first event of pass PASS (0: the last) of STEP in the story's
 * TIMELINE (borrowed): its seq with *PASS set, or 0 with ERR naming the
 * steps reached or STEP's passes.
 */
static long
visit_seq(jv timeline, const char *name, const char *step, long *pass, char *err, size_t n)
{
	jv reached = jv_array(), seen = jv_object();
	long seq = 0, last = 0, at = 0;

	jv_array_foreach(timeline, i, e) {
		const char *ev = wf_jv_str(e, "event"), *sid = wf_jv_str(e, "step");
		long p = (long)wf_jv_num(e, "pass", 0);

		(void)i;
		if (ev && sid && !strcmp(ev, "step")) {
			if (!jv_object_has(jv_copy(seen), jv_string(sid))) {
				seen = jv_object_set(seen, jv_string(sid), jv_true());
				reached = jv_array_append(reached, jv_string(sid));
			}
			/* A retried pass has an entry per attempt: the first goes back before them all. */
			if (!strcmp(sid, step) && p >= 1 && p != at) {
				at = p;
				last = p;
				if (*pass == 0 || p == *pass)
					seq = (long)wf_jv_num(e, "seq", 0);
			}
		}
		jv_free(e);
	}
	jv_free(seen);
	if (!last) {
		char *names = id_list(reached);

		snprintf(err, n, "run '%s' never reached step '%.80s'; the steps it reached are %s", name, step, names);
		free(names);
		return 0;
	}
	jv_free(reached);
	if (*pass > last || seq <= 0) {
		snprintf(err, n, "step '%.80s' of run '%s' ran %ld time%s; --pass takes 1 to %ld", step, name, last,
			 last == 1 ? "" : "s", last);
		return 0;
	}
	if (*pass == 0)
		*pass = last;
	return seq;
}

/* EVENTS borrowed; the caller owns the state returned (see rewind.h). */
jv
wf_state_before(jv events, long seq)
{
	jv st = jv_object();

	jv_array_foreach(events, i, ev) {
		(void)i;
		if (wf_jv_num(ev, "seq", 0) >= (double)seq) {
			jv_free(ev);
			break;
		}
		st = wf_state_apply(st, ev);
	}
	return st;
}

/*
 * The loop counters of THEN (borrowed, the state before the step), with
 * every loop NOW (borrowed) counts that THEN did not at 0: a loop entered
 * after that point starts again.  The caller owns the result.
 */
static jv
loops_then(jv then, jv now)
{
	jv loops = wf_jv_get(then, "loops"), later = wf_jv_get(now, "loops");

	if (jv_get_kind(loops) != JV_KIND_OBJECT) {
		jv_free(loops);
		loops = jv_object();
	}
	if (jv_get_kind(later) == JV_KIND_OBJECT)
		jv_object_foreach(later, k, v) {
			jv_free(v);
			if (!jv_object_has(jv_copy(loops), jv_copy(k)))
				loops = jv_object_set(loops, jv_copy(k), jv_number(0));
			jv_free(k);
		}
	jv_free(later);
	return loops;
}

/* R borrowed; the caller owns the point returned (see rewind.h). */
jv
wf_rewind_point(struct wf_run *r, const char *step, long pass, int *code, char *err, size_t n)
{
	static const char *const kept[] = { "vars", "model", "iteration", "transcript", "steps", "last", "passes", NULL };
	jv events, story, timeline, then, restore = jv_object(), point = jv_object();
	long seq;

	if ((*code = check_step(r, step, err, n))) {
		jv_free(restore);
		jv_free(point);
		return jv_invalid();
	}
	events = wf_run_read_journal(r, 0, err, n);
	if (!jv_is_valid(events)) {
		*code = WF_EXIT_IO;
		jv_free(restore);
		jv_free(point);
		return events;
	}
	story = wf_story(events, r->state);
	timeline = wf_jv_get(story, "timeline");
	seq = visit_seq(timeline, r->name, step, &pass, err, n);
	jv_free(timeline);
	jv_free(story);
	if (!seq) {
		*code = WF_EXIT_NOINPUT;
		jv_free(events);
		jv_free(restore);
		jv_free(point);
		return jv_invalid();
	}
	then = wf_state_before(events, seq);
	jv_free(events);
	for (int i = 0; kept[i]; i++)
		if (jv_object_has(jv_copy(then), jv_string(kept[i])))
			restore = jv_object_set(restore, jv_string(kept[i]), wf_jv_get(then, kept[i]));
	point = jv_object_set(point, jv_string("step"), jv_string(step));
	point = jv_object_set(point, jv_string("pass"), jv_number((double)pass));
	point = jv_object_set(point, jv_string("seq"), jv_number((double)seq));
	point = jv_object_set(point, jv_string("vars"), wf_jv_get(then, "vars"));
	point = jv_object_set(point, jv_string("loops"), loops_then(then, r->state));
	jv_free(then);
	return jv_object_set(point, jv_string("restore"), restore);
}

/* Is a process group the step in flight of state ST (borrowed) started still running?  Its id, or 0. */
static long
live_group(jv st)
{
	jv inflight = wf_jv_get(st, "inflight"), groups = wf_jv_get(inflight, "groups");
	long live = 0;

	if (jv_get_kind(groups) == JV_KIND_ARRAY)
		jv_array_foreach(groups, i, g) {
			(void)i;
			if (!live)
				live = (long)wf_group_record_alive(g);
			jv_free(g);
		}
	jv_free(groups);
	jv_free(inflight);
	return live;
}

/* R and VARS borrowed. */
int
wf_run_rewind(struct wf_run *r, const char *step, long pass, jv vars, char *err, size_t n)
{
	const char *status = wf_jv_str(r->state, "status");
	long pgid = live_group(r->state);
	int rc;
	jv point, ev;

	if (!status) {
		snprintf(err, n, "run '%s' has no state yet; nothing to rewind", r->name);
		return WF_EXIT_NOINPUT;
	}
	if (pgid) {
		snprintf(err, n, "run '%s': a step it had in flight is still running as process group %ld; stop it with 'kill -TERM -- -%ld' or 'wf resume %s --kill-stale', then rewind",
			 r->name, pgid, pgid, r->name);
		return WF_EXIT_BUSY;
	}
	point = wf_rewind_point(r, step, pass, &rc, err, n);
	if (!jv_is_valid(point))
		return rc;
	ev = jv_object_set(jv_object(), jv_string("event"), jv_string("rewind"));
	ev = jv_object_set(ev, jv_string("step"), jv_string(step));
	ev = jv_object_set(ev, jv_string("pass"), wf_jv_get(point, "pass"));
	ev = jv_object_set(ev, jv_string("from"), wf_jv_get(r->state, "cursor"));
	/* The lock is ours: a run still "running" was interrupted. */
	ev = jv_object_set(ev, jv_string("from_status"), jv_string(strcmp(status, "running") ? status : "interrupted"));
	ev = jv_object_set(ev, jv_string("to_seq"), wf_jv_get(point, "seq"));
	ev = jv_object_set(ev, jv_string("vars"), jv_get_kind(vars) == JV_KIND_OBJECT ? jv_copy(vars) : jv_object());
	ev = jv_object_set(ev, jv_string("loops"), wf_jv_get(point, "loops"));
	ev = jv_object_set(ev, jv_string("restore"), wf_jv_get(point, "restore"));
	ev = jv_object_set(ev, jv_string("status"), jv_string("paused"));
	jv_free(point);
	if ((rc = wf_run_append(r, ev, 1, err, n)) == 0)
		rc = wf_run_snapshot(r, err, n);
	return rc;
}
