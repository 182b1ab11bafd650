/*
 * branch.c: where a step's result sends the run, and the verdict a model's
 * review gives, read the one way for everyone: wf-run's driver (flow.c,
 * runstep.c), the review actions (pr_review.c) and wf rerun (rerun.c),
 * which asks what another model's answer would have changed.
 *
 * Layer 2: domain data.
 *
 * Rules: pure.  Nothing here writes, prints or asks; a condition is
 * evaluated by the one evaluator (cond.c) on the context the driver
 * gives it.
 */
#include <string.h>
#include <strings.h>

#include "branch.h"

/* ---- a model's answer as a verdict ---- */

/*
 * The JSON object in a model's TEXT: the whole text, or what a ```json
 * fence holds, or the span from the first '{' to the last '}'.  The
 * caller owns the object.
 */
jv
wf_json_object_in(const char *text, char *err, size_t errlen)
{
	jv v = wf_json_parse(text, strlen(text), err, errlen);
	const char *a, *b;

	if (jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT)
		return v;
	jv_free(v);
	a = strchr(text, '{');
	b = strrchr(text, '}');
	if (!a || !b || b < a) {
		snprintf(err, errlen, "no JSON object in the answer");
		return jv_invalid();
	}
	v = wf_json_parse(a, (size_t)(b - a + 1), err, errlen);
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		snprintf(err, errlen, "the answer is JSON but not an object");
		return jv_invalid();
	}
	return v;
}

/* A number from V (borrowed): a JSON number or a numeric string; 0 otherwise. */
static long
num_of(jv v)
{
	long n = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return (long)jv_number_value(v);
	if (jv_get_kind(v) == JV_KIND_STRING)
		(void)wf_parse_long(jv_string_value(v), 0, 100000000L, &n);
	return n;
}

/* The first string member of O (borrowed) among KEYS, or NULL. */
static const char *
first_str(jv o, const char *const keys[])
{
	for (int i = 0; keys[i]; i++)
		if (wf_jv_str(o, keys[i]))
			return wf_jv_str(o, keys[i]);
	return NULL;
}

/*
 * A model's review verdict, made regular: {approved, summary, comments:
 * [{path, line, body}]} owned by the caller; invalid with ERR when it
 * says neither yes nor no.
 */
jv
wf_verdict_of(const char *text, char *err, size_t errlen)
{
	jv v = wf_json_object_in(text, err, errlen), out, comments = jv_array(), a, cs;
	static const char *const summary_keys[] = { "summary", "body", "review", "message", NULL };
	static const char *const body_keys[] = { "body", "comment", "message", "text", NULL };
	static const char *const yes[] = { "true", "yes", "approve", "approved", "lgtm", "accept", "accepted", NULL };
	static const char *const no[] = { "false", "no", "reject", "rejected", "request_changes", "request-changes",
					  "changes_requested", "changes-requested", "needs_changes", NULL };
	int approved = -1;

	if (!jv_is_valid(v)) {
		jv_free(comments);
		return v;
	}
	a = wf_jv_get(v, "approved");
	if (jv_get_kind(a) == JV_KIND_NULL) {
		jv_free(a);
		a = wf_jv_get(v, "verdict");
		if (jv_get_kind(a) == JV_KIND_NULL) {
			jv_free(a);
			a = wf_jv_get(v, "decision");
		}
	}
	if (jv_get_kind(a) == JV_KIND_TRUE || jv_get_kind(a) == JV_KIND_FALSE)
		approved = jv_get_kind(a) == JV_KIND_TRUE;
	else if (jv_get_kind(a) == JV_KIND_STRING)
		for (int i = 0; approved < 0 && (yes[i] || no[i]); i++) {
			if (yes[i] && !strcasecmp(jv_string_value(a), yes[i]))
				approved = 1;
			else if (no[i] && !strcasecmp(jv_string_value(a), no[i]))
				approved = 0;
		}
	jv_free(a);
	if (approved < 0) {
		snprintf(err, errlen, "the answer has no \"approved\": true or false");
		jv_free(v);
		jv_free(comments);
		return jv_invalid();
	}
	cs = wf_jv_get(v, "comments");
	if (jv_get_kind(cs) == JV_KIND_ARRAY)
		jv_array_foreach(cs, i, x) {
			(void)i;
			if (jv_get_kind(x) == JV_KIND_OBJECT && first_str(x, body_keys)) {
				const char *path = first_str(x, (const char *const[]){ "path", "file", "filename", NULL });
				jv lv = wf_jv_get(x, "line");
				long line = num_of(lv);
				jv one = jv_object();

				jv_free(lv);
				if (path && (!strncmp(path, "a/", 2) || !strncmp(path, "b/", 2)))
					path += 2;
				one = jv_object_set(one, jv_string("path"), path ? jv_string(path) : jv_null());
				one = jv_object_set(one, jv_string("line"), line > 0 ? jv_number((double)line) : jv_null());
				one = jv_object_set(one, jv_string("body"), jv_string(first_str(x, body_keys)));
				comments = jv_array_append(comments, one);
			}
			jv_free(x);
		}
	jv_free(cs);
	out = jv_object();
	out = jv_object_set(out, jv_string("approved"), jv_bool(approved));
	out = jv_object_set(out, jv_string("summary"),
			    jv_string(first_str(v, summary_keys) ? first_str(v, summary_keys) : ""));
	out = jv_object_set(out, jv_string("comments"), comments);
	jv_free(v);
	return out;
}

/* ---- where a result sends the run ---- */

/*
 * The context a check sees after STEP ran with result RES: its outcome
 * applied.  VIEW, STEP and RES are borrowed; the caller owns the result.
 */
static jv
ctx_after(jv view, jv step, jv res)
{
	jv ctx = wf_run_view_after(jv_copy(view), wf_jv_str(step, "id"), res);

	return jv_object_set(ctx, jv_string("step"), jv_copy(step));
}

/*
 * Evaluate EXPR for STEP (borrowed) after its result RES (consumed), or
 * before it runs when RES is null: 0/1, or -1 with *CODE set and *MSG
 * the message (the caller frees it).  STATE is borrowed.
 */
int
wf_branch_decide(jv view, jv step, jv res, const char *expr, int *code, char **msg)
{
	char err[512];
	int result = 0, colno = 0, rc;
	jv ctx = jv_get_kind(res) == JV_KIND_NULL ? jv_object_set(jv_copy(view), jv_string("step"), jv_copy(step)) : ctx_after(view, step, res);

	rc = wf_cond_eval(expr, ctx, &result, err, sizeof err, &colno);
	jv_free(ctx);
	jv_free(res);
	if (rc) {
		if (colno > 0)
			*msg = wf_xasprintf("step '%s': condition '%s': column %d: %s", wf_jv_str(step, "id"), expr,
					    colno, err);
		else
			*msg = wf_xasprintf("step '%s': condition '%s': %s", wf_jv_str(step, "id"), expr, err);
		*code = rc;
		return -1;
	}
	return result;
}

/*
 * Did a person decline STEP (borrowed), a confirmation, with RES
 * (borrowed)?  A "no" moves only where a jump says a no goes; with none,
 * the run stops as declined (wf-workflow(5), "Interactive steps").
 */
static int
said_no(jv step, jv res)
{
	const char *a = wf_jv_str(step, "action"), *kind = wf_jv_str(step, "kind");
	jv v = wf_jv_get(res, "approved");
	int no = jv_get_kind(v) == JV_KIND_FALSE;

	jv_free(v);
	return no && a && !strcmp(a, "interactive") && (!kind || !strcmp(kind, "confirm"));
}

/*
 * A check or a verdict decides after STEP ran with RES (both borrowed):
 * the jump target (the caller owns it), null when neither names one
 * (*JUMP then says what was decided, or null), or invalid with *CODE:
 * after a message in *MSG, or 77 for a declined confirmation.
 */
static jv
check_or_verdict(jv view, jv step, jv res, const char *check, jv next, jv *jump, int *code, char **msg)
{
	jv approved = wf_jv_get(res, "approved");
	int v = check ? wf_branch_decide(view, step, jv_copy(res), check, code, msg) : jv_get_kind(approved) == JV_KIND_TRUE;
	const char *target;

	jv_free(approved);
	if (v < 0)
		return jv_invalid();
	if (check && v)
		target = wf_jv_str(step, "on-true") ? wf_jv_str(step, "on-true") : wf_jv_str(step, "on-approved");
	else if (check)
		target = wf_jv_str(step, "on-false") ? wf_jv_str(step, "on-false") : wf_jv_str(step, "on-rejected");
	else
		target = wf_jv_str(step, v ? "on-approved" : "on-rejected");
	if (check) {
		*jump = jv_object_set(jv_object(), jv_string("condition"), jv_string(check));
		*jump = jv_object_set(*jump, jv_string("value"), jv_bool(v));
	} else {
		*jump = jv_object_set(jv_object(), jv_string("verdict"), jv_bool(v));
	}
	if (target) {
		*jump = jv_object_set(*jump, jv_string("to"), jv_string(target));
		return jv_string(target);
	}
	if (said_no(step, res)) {
		*code = WF_EXIT_DENIED;
		return jv_invalid();
	}
	if (check) {
		*jump = jv_object_set(*jump, jv_string("to"), jv_copy(next));
	} else {
		jv_free(*jump);
		*jump = jv_null();
	}
	return jv_null();
}

/*
 * After STEP ran with result RES (both borrowed): where to go next.
 * Returns the id of the next step (jv string) or null for the end, or
 * invalid with *CODE set: after a message in *MSG (the caller frees it),
 * or 77 (no message) for a declined confirmation, or 1 or 4 for a
 * failure.  *JUMP gets a description for the journal, or null; the
 * caller owns it and the result.
 */
jv
wf_branch_after(jv view, jv step, jv res, jv *jump, int *code, char **msg)
{
	const char *status = wf_jv_str(res, "status");
	const char *check = wf_jv_str(step, "check");
	jv next = wf_jv_get(step, "next"), approved = wf_jv_get(res, "approved");
	int decides = check || (wf_step_gives_verdict(step) && jv_get_kind(approved) != JV_KIND_NULL);

	jv_free(approved);
	*jump = jv_null();
	if (!strcmp(status, "failed")) {
		const char *onerr = wf_jv_str(step, "on-error");

		if (onerr) {
			*jump = jv_object_set(jv_object_set(jv_object(), jv_string("to"), jv_string(onerr)),
					      jv_string("because"), jv_string("on-error"));
			jv_free(next);
			return jv_string(onerr);
		}
		if (!wf_jv_bool(step, "continue-on-error", 0)) {
			jv_free(next);
			/* A timeout is a limit reached (4); any other failure is 1. */
			*code = wf_jv_bool(res, "timed_out", 0) ? WF_EXIT_LIMIT : WF_EXIT_FAIL;
			return jv_invalid();
		}
	}
	if (wf_jv_bool(res, "split", 0) && wf_jv_str(step, "on-split")) {
		/* A quorum whose models disagree goes where on-split says, before any verdict. */
		*jump = jv_object_set(jv_object_set(jv_object(), jv_string("to"), wf_jv_get(step, "on-split")),
				      jv_string("because"), jv_string("on-split"));
		jv_free(next);
		return wf_jv_get(step, "on-split");
	}
	if (decides) {
		/* A check decides; without one, a verdict picks on-approved or on-rejected itself. */
		jv to = check_or_verdict(view, step, res, check, next, jump, code, msg);

		if (jv_get_kind(to) != JV_KIND_NULL) {
			jv_free(next);
			return to;
		}
	}
	if (wf_jv_str(step, "on-complete")) {
		jv to = wf_jv_get(step, "on-complete");

		if (jv_get_kind(*jump) == JV_KIND_NULL)
			*jump = jv_object_set(jv_object_set(jv_object(), jv_string("to"), jv_copy(to)),
					      jv_string("because"), jv_string("on-complete"));
		else
			*jump = jv_object_set(*jump, jv_string("to"), jv_copy(to));
		jv_free(next);
		return to;
	}
	return next;
}
