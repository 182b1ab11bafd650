/*
 * flow.c: the driver's decisions (wf-workflow(5), "Flow").  Given the
 * run's view (wf_run_view) and a step, and after an action its result, it says where
 * the run goes next: the if: of a step, a loop's pass and cap, a
 * conditional's branch, a check or a verdict after an action, on-error,
 * on-complete, a "no" that stops the run.
 *
 * Layer 4: driver.
 *
 * Rules: pure.  Nothing here writes the journal, prints, or asks; every
 * function takes the view and the step (borrowed) and returns a decision
 * (the next cursor, the fields of the step's end event, an exit status
 * and a message) that run.c carries out.
 */
#include <string.h>

#include "driver.h"

#define JOURNAL_OUTPUT_MAX 4096

/* ---- conditions ---- */

/* OBJ (consumed; anything but an object counts as empty) with the members of UPD (borrowed) set over it; the caller owns it. */
static jv
merged(jv obj, jv upd)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT) {
		jv_free(obj);
		obj = jv_object();
	}
	if (jv_get_kind(upd) == JV_KIND_OBJECT)
		jv_object_foreach(upd, k, v)
			obj = jv_object_set(obj, k, v);
	return obj;
}

/* The condition context: the run's VIEW (borrowed; wf_run_view) plus STEP (consumed); the caller owns it. */
jv
wf_flow_ctx(jv view, jv step)
{
	return jv_object_set(jv_copy(view), jv_string("step"), step);
}

/* Evaluate EXPR for STEP before it runs; STATE and STEP borrowed. */
int
wf_flow_decide(jv view, jv step, const char *expr, int *code, char **msg)
{
	return wf_branch_decide(view, step, jv_null(), expr, code, msg);
}

/*
 * EV (consumed), a step's end event, with what the journal keeps of its
 * result RES (borrowed): the fields below, and output and stderr
 * shortened to JOURNAL_OUTPUT_MAX bytes.  The caller owns the result.
 */
jv
wf_flow_step_end(jv ev, jv res)
{
	static const char *const keep[] = { "status", "exit_code", "error", "vars", "approved",
					    "model", "usage", "duration_ms", "verdict",
					    "messages", "effects", "pr", "answer", "timed_out",
					    "output_error", "outputs", "usage_models", "branches", "verdicts", "split",
					    "quorum", "failed_models", NULL };
	static const char *const texts[] = { "output", "stderr", NULL };
	jv u = wf_jv_get(res, "usage");

	/* A step a recording answered (wf-run --replay) says so. */
	if (wf_jv_num(u, "replayed", 0) > 0)
		ev = jv_object_set(ev, jv_string("replayed"), jv_true());
	jv_free(u);
	for (int i = 0; keep[i]; i++) {
		jv v = wf_jv_get(res, keep[i]);

		if (jv_get_kind(v) != JV_KIND_NULL)
			ev = jv_object_set(ev, jv_string(keep[i]), v);
		else
			jv_free(v);
	}
	/* Output always (empty when none), stderr when there was some. */
	for (int i = 0; texts[i]; i++) {
		const char *t = wf_jv_str(res, texts[i]);
		size_t n = t ? strlen(t) : 0;

		if (t || i == 0)
			ev = jv_object_set(ev, jv_string(texts[i]), jv_string_sized(t ? t : "",
					   n > JOURNAL_OUTPUT_MAX ? JOURNAL_OUTPUT_MAX : (int)n));
	}
	return ev;
}

/* ---- control steps ---- */

/*
 * The loop STEP (borrowed): returns the next cursor, or invalid with
 * *CODE (4 or 3, or a condition's after a message in *MSG).  Its
 * decision goes into the end event *EV (condition, value, passes,
 * max_iterations, loops, iteration, jump, exhausted); the caller owns
 * the result.
 * max-iterations counts passes of the body: the loop step ends pass
 * COUNT + 1, where COUNT (loops.ID) is how often it has jumped back in
 * this round, so max-iterations: 3 runs the body at most 3 times.  When
 * the cap is reached with on-exhausted: continue, *EV has exhausted and
 * the run goes on after the loop.
 */
jv
wf_flow_loop(jv view, jv step, jv *ev, int *code, char **msg)
{
	const char *id = wf_jv_str(step, "id");
	const char *cond = wf_jv_str(step, "condition");
	jv loops = wf_jv_get(view, "loops");
	long count = (long)wf_jv_num(loops, id, 0);
	long max = (long)wf_jv_num(step, "max-iterations", 1);
	int v = wf_flow_decide(view, step, cond ? cond : "true", code, msg);
	jv next;

	jv_free(loops);
	if (v < 0)
		return jv_invalid();
	*ev = jv_object_set(*ev, jv_string("condition"), jv_string(cond ? cond : "true"));
	*ev = jv_object_set(*ev, jv_string("value"), jv_bool(v));
	*ev = jv_object_set(*ev, jv_string("passes"),
			    jv_object_set(jv_object(), jv_string(id), jv_number((double)count + 1)));
	*ev = jv_object_set(*ev, jv_string("max_iterations"), jv_number((double)max));
	if (!v) {
		/* Done: the counter starts again if the loop is reached anew. */
		*ev = jv_object_set(*ev, jv_string("loops"),
				    jv_object_set(jv_object(), jv_string(id), jv_number(0)));
		return wf_jv_get(step, "next");
	}
	if (count + 1 >= max) {
		const char *how = wf_jv_str(step, "on-exhausted");

		*ev = jv_object_set(*ev, jv_string("exhausted"), jv_true());
		if (how && !strcmp(how, "continue")) {
			*ev = jv_object_set(*ev, jv_string("loops"),
					    jv_object_set(jv_object(), jv_string(id), jv_number(0)));
			return wf_jv_get(step, "next");
		}
		*code = how && !strcmp(how, "pause") ? WF_EXIT_WAIT : WF_EXIT_LIMIT;
		return jv_invalid();
	}
	next = wf_jv_get(step, "to");
	*ev = jv_object_set(*ev, jv_string("loops"),
			    jv_object_set(jv_object(), jv_string(id), jv_number((double)count + 1)));
	*ev = jv_object_set(*ev, jv_string("iteration"), jv_number((double)count + 1));
	*ev = jv_object_set(*ev, jv_string("jump"),
			    jv_object_set(jv_object_set(jv_object(), jv_string("to"), jv_copy(next)),
					  jv_string("iteration"), jv_number((double)count + 1)));
	return next;
}

/*
 * The conditional STEP (borrowed): on-true or on-false, or next when the
 * branch names none; invalid with *CODE and *MSG for a bad condition.
 * The decision goes into *EV; the caller owns the result.
 */
jv
wf_flow_conditional(jv view, jv step, jv *ev, int *code, char **msg)
{
	const char *cond = wf_jv_str(step, "condition");
	int v = wf_flow_decide(view, step, cond, code, msg);
	const char *to;

	if (v < 0)
		return jv_invalid();
	to = wf_jv_str(step, v ? "on-true" : "on-false");
	*ev = jv_object_set(*ev, jv_string("condition"), jv_string(cond));
	*ev = jv_object_set(*ev, jv_string("value"), jv_bool(v));
	if (!to)
		return wf_jv_get(step, "next");
	*ev = jv_object_set(*ev, jv_string("jump"), jv_object_set(jv_object(), jv_string("to"), jv_string(to)));
	return jv_string(to);
}

/* ---- telling what happened ---- */

/* Append TRAIL's (borrowed) step I to B, "?" for a step without an id. */
static void
add_trail_step(struct wf_buf *b, jv trail, int i)
{
	jv s = jv_array_get(jv_copy(trail), i);

	wf_buf_addstr(b, jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "?");
	jv_free(s);
}

/*
 * Name the cycle in the last steps run, TRAIL (borrowed): "the run was
 * cycling through s1 -> s2 -> s1", or, when they repeat nothing, "the
 * last steps run were ...".  The caller frees it.
 */
char *
wf_flow_describe_cycle(jv trail)
{
	int n = jv_array_length(jv_copy(trail));
	struct wf_buf b = {0};

	for (int len = 1; len <= n / 2 && len <= 8; len++) {
		int ok = 1;

		for (int i = 0; i < len && ok; i++) {
			jv a = jv_array_get(jv_copy(trail), n - 1 - i);
			jv c = jv_array_get(jv_copy(trail), n - 1 - i - len);

			ok = jv_equal(a, c);
		}
		if (ok) {
			wf_buf_addstr(&b, "the run was cycling through ");
			for (int i = n - len; i < n; i++) {
				add_trail_step(&b, trail, i);
				wf_buf_addstr(&b, " -> ");
			}
			add_trail_step(&b, trail, n - len);
			return wf_buf_detach(&b);
		}
	}
	wf_buf_addstr(&b, "the last steps run were ");
	for (int i = n > 6 ? n - 6 : 0; i < n; i++) {
		add_trail_step(&b, trail, i);
		wf_buf_addstr(&b, i + 1 < n ? " -> " : "");
	}
	return wf_buf_detach(&b);
}

/*
 * The question STEP (borrowed) asks before it can run, as a pending
 * object: an interactive step's question, or consent for a sensitive
 * step (none with YES, --yes); null when it asks none.  The caller owns it.
 */
jv
wf_flow_question_of(jv step, int yes)
{
	const char *a = wf_jv_str(step, "action"), *id = wf_jv_str(step, "id");
	jv q = jv_object();

	if (!a || !id || (strcmp(a, "interactive") && (!wf_action_sensitive(a) || yes))) {
		jv_free(q);
		return jv_null();
	}
	q = jv_object_set(q, jv_string("step"), jv_string(id));
	if (strcmp(a, "interactive"))
		return jv_object_set(q, jv_string("kind"), jv_string("consent"));
	q = jv_object_set(q, jv_string("kind"), jv_string("question"));
	q = jv_object_set(q, jv_string("type"), wf_jv_get(step, "kind"));
	return jv_object_set(q, jv_string("options"), wf_jv_get(step, "options"));
}

/*
 * The variables a run starts with: WF's (borrowed) variables and its
 * inputs' defaults, with OVERRIDES (borrowed) over them; the caller owns
 * them.  A required input not given is left out (wf_flow_missing_input).
 */
jv
wf_flow_merged_vars(jv wf, jv overrides)
{
	jv vars = wf_jv_get(wf, "variables"), inputs = wf_jv_get(wf, "inputs");

	if (jv_get_kind(vars) != JV_KIND_OBJECT) {
		jv_free(vars);
		vars = jv_object();
	}
	if (jv_get_kind(inputs) == JV_KIND_OBJECT)
		jv_object_foreach(inputs, k, in) {
			jv def = wf_jv_get(in, "default");

			if (jv_get_kind(def) != JV_KIND_NULL)
				vars = jv_object_set(vars, jv_copy(k), def);
			else
				jv_free(def);
			jv_free(k);
			jv_free(in);
		}
	jv_free(inputs);
	return merged(vars, overrides);
}

/* The first input of WF (borrowed) that has no default and is not in OVERRIDES (borrowed), or NULL; points into WF. */
const char *
wf_flow_missing_input(jv wf, jv overrides)
{
	jv inputs = jv_object_get(jv_copy(wf), jv_string("inputs"));
	const char *missing = NULL;

	if (jv_get_kind(inputs) == JV_KIND_OBJECT)
		jv_object_foreach(inputs, k, in) {
			if (!missing && !jv_object_has(jv_copy(in), jv_string("default")) &&
			    (jv_get_kind(overrides) != JV_KIND_OBJECT || !jv_object_has(jv_copy(overrides), jv_copy(k))))
				missing = jv_string_value(k);
			jv_free(k);
			jv_free(in);
		}
	jv_free(inputs);
	return missing;
}
