/*
 * workflow_par.c: the branches of a parallel step, checked as the
 * workflow is (wf-workflow(5), "Parallel steps").  A step of action
 * 'parallel' has either branches: (each a list of steps, a mapping with
 * a name and steps:, or a mapping with a name and workflow:) or
 * for-each: with a body of steps: run once per item of a list.  Each
 * list of steps is checked as a workflow's steps are, with ids, jumps
 * and loops of its own: a jump cannot leave its branch.
 *
 * Rules: no I/O; problems go to the caller's struct wf_check.
 *
 * Layer 2: domain data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parallel.h"

/* The keys a branch written as a mapping may have. */
static const char *const branch_keys[] = { "name", "steps", "workflow", "with", NULL };

/* Is KEY one of branch_keys? */
static int
branch_key(const char *key)
{
	for (int i = 0; branch_keys[i]; i++)
		if (!strcmp(branch_keys[i], key))
			return 1;
	return 0;
}

/*
 * STEPS (consumed), the list of steps at PATH (a branch's, or a
 * for-each body): checked with C's rules as a list of its own.  The
 * caller owns the normalised list, or invalid after a message.
 */
static jv
steps_at(struct wf_check *c, jv steps, const char *path, const char *what)
{
	struct wf_check sub = *c;

	if (jv_get_kind(steps) != JV_KIND_ARRAY || jv_array_length(jv_copy(steps)) == 0) {
		wf_check_at(c, path, 1, "%s: expected a non-empty list of steps, got %s", what,
			    jv_get_kind(steps) == JV_KIND_ARRAY ? "an empty list" : wf_check_kind_of(c, steps));
		jv_free(steps);
		return jv_invalid();
	}
	sub.base = path;
	/* In JSON, messages name the parallel step by the path's first index: not a branch's own steps'. */
	sub.ids = jv_null();
	return wf_check_steps(&sub, steps);
}

/*
 * Branch J, B (consumed), of the parallel step at PATH: a list of steps,
 * or a mapping.  The caller owns {name, steps} or {name, workflow,
 * with}, or invalid after a message.  NAMES (borrowed, updated) holds
 * the names taken so far.
 */
static jv
branch(struct wf_check *c, jv b, const char *path, int j, jv *names)
{
	char bp[300], kp[340], dflt[16];
	jv out = jv_object(), name;

	snprintf(bp, sizeof bp, "%s/branches/%d", path, j);
	snprintf(dflt, sizeof dflt, "%d", j + 1);
	if (jv_get_kind(b) == JV_KIND_ARRAY) {
		jv steps = steps_at(c, b, bp, "branch");

		out = jv_object_set(out, jv_string("name"), jv_string(dflt));
		return jv_is_valid(steps) ? jv_object_set(out, jv_string("steps"), steps) : (jv_free(out), steps);
	}
	if (jv_get_kind(b) != JV_KIND_OBJECT) {
		wf_check_at(c, bp, 1, "branch %d: expected a list of steps or a mapping with 'steps' or 'workflow', got %s",
			    j + 1, wf_check_kind_of(c, b));
		jv_free(b);
		jv_free(out);
		return jv_invalid();
	}
	jv_object_foreach(b, k, v) {
		if (!branch_key(jv_string_value(k))) {
			snprintf(kp, sizeof kp, "%s/%s", bp, jv_string_value(k));
			wf_check_at(c, kp, 0, "branch %d: unknown key '%s' (a branch has name, steps, or workflow and with)",
				    j + 1, jv_string_value(k));
		}
		jv_free(k);
		jv_free(v);
	}
	name = wf_jv_get(b, "name");
	snprintf(kp, sizeof kp, "%s/name", bp);
	if (jv_get_kind(name) == JV_KIND_NULL) {
		jv_free(name);
		name = jv_string(dflt);
	} else if (jv_get_kind(name) == JV_KIND_NUMBER) {
		jv t = jv_dump_string(name, 0);

		name = t;
	}
	if (jv_get_kind(name) != JV_KIND_STRING || !wf_name_valid(jv_string_value(name))) {
		wf_check_at(c, kp, 1, "branch %d: 'name' must be a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')",
			    j + 1);
		jv_free(name);
		name = jv_string(dflt);
	} else if (jv_object_has(jv_copy(*names), jv_copy(name))) {
		wf_check_at(c, kp, 1, "branch %d: duplicate branch name '%s'", j + 1, jv_string_value(name));
	}
	*names = jv_object_set(*names, jv_copy(name), jv_true());
	out = jv_object_set(out, jv_string("name"), name);
	if (jv_object_has(jv_copy(b), jv_string("steps")) == jv_object_has(jv_copy(b), jv_string("workflow"))) {
		wf_check_at(c, bp, 1, "branch %d: give it either 'steps' or 'workflow' (one of them)", j + 1);
	} else if (jv_object_has(jv_copy(b), jv_string("steps"))) {
		jv steps;

		snprintf(kp, sizeof kp, "%s/steps", bp);
		steps = steps_at(c, wf_jv_get(b, "steps"), kp, "branch 'steps'");
		if (jv_is_valid(steps))
			out = jv_object_set(out, jv_string("steps"), steps);
		if (jv_object_has(jv_copy(b), jv_string("with"))) {
			snprintf(kp, sizeof kp, "%s/with", bp);
			wf_check_at(c, kp, 0, "branch %d: 'with' goes with 'workflow', not with 'steps'", j + 1);
		}
	} else {
		jv wfv = wf_jv_get(b, "workflow"), with = wf_jv_get(b, "with");

		snprintf(kp, sizeof kp, "%s/workflow", bp);
		if (jv_get_kind(wfv) != JV_KIND_STRING || !jv_string_length_bytes(jv_copy(wfv)))
			wf_check_at(c, kp, 1, "branch %d: 'workflow' must name a workflow (a name or a file)", j + 1);
		snprintf(kp, sizeof kp, "%s/with", bp);
		if (jv_get_kind(with) != JV_KIND_NULL && jv_get_kind(with) != JV_KIND_OBJECT)
			wf_check_at(c, kp, 1, "branch %d: 'with' must be a mapping of input names to values", j + 1);
		out = jv_object_set(out, jv_string("workflow"), wfv);
		out = jv_object_set(out, jv_string("with"), jv_get_kind(with) == JV_KIND_OBJECT ? with : (jv_free(with), jv_object()));
	}
	jv_free(b);
	return out;
}

/* The branches: list of OUT (consumed; returned) at PATH, normalised. */
static jv
check_branches(struct wf_check *c, jv out, const char *path)
{
	jv list = wf_jv_get(out, "branches"), norm = jv_array(), names = jv_object();
	char kp[300];
	int n = jv_get_kind(list) == JV_KIND_ARRAY ? jv_array_length(jv_copy(list)) : 0;

	snprintf(kp, sizeof kp, "%s/branches", path);
	if (n == 0)
		wf_check_at(c, kp, 1, "'branches' is empty: a parallel step needs at least one branch");
	if (n > WF_PARALLEL_MAX_BRANCHES)
		wf_check_at(c, kp, 1, "'branches' has %d branches: at most %d", n, WF_PARALLEL_MAX_BRANCHES);
	for (int j = 0; j < n && j < WF_PARALLEL_MAX_BRANCHES; j++) {
		jv b = branch(c, jv_array_get(jv_copy(list), j), path, j, &names);

		norm = jv_array_append(norm, jv_is_valid(b) ? b : jv_object());
	}
	jv_free(names);
	jv_free(list);
	return jv_object_set(out, jv_string("branches"), norm);
}

/* Refuse KEY of OUT (borrowed) at PATH, with WHY. */
static void
refuse(struct wf_check *c, jv out, const char *path, const char *key, const char *why)
{
	char kp[300];

	if (!jv_object_has(jv_copy(out), jv_string(key)))
		return;
	snprintf(kp, sizeof kp, "%s/%s", path, key);
	wf_check_at(c, kp, 0, "'%s' %s", key, why);
}

jv
wf_check_parallel(struct wf_check *c, jv out, const char *path)
{
	int has_b = jv_object_has(jv_copy(out), jv_string("branches"));
	int has_f = jv_object_has(jv_copy(out), jv_string("for-each"));
	const char *as = wf_jv_str(out, "as");
	double mc = wf_jv_num(out, "max-concurrency", 1);
	char kp[300];

	if (has_b == has_f) {
		wf_check_at(c, path, 1, "parallel step '%s': give it either 'branches' or 'for-each' with 'steps' (one of them)",
			    wf_jv_str(out, "id") ? wf_jv_str(out, "id") : "?");
	} else if (has_b) {
		refuse(c, out, path, "steps", "goes with 'for-each'; each branch has its own 'steps'");
		refuse(c, out, path, "as", "goes with 'for-each'");
		out = check_branches(c, out, path);
	} else {
		snprintf(kp, sizeof kp, "%s/steps", path);
		if (!jv_object_has(jv_copy(out), jv_string("steps"))) {
			wf_check_at(c, path, 1, "parallel step '%s': 'for-each' needs 'steps', run once for each item",
				    wf_jv_str(out, "id") ? wf_jv_str(out, "id") : "?");
		} else {
			jv steps = steps_at(c, wf_jv_get(out, "steps"), kp, "'steps'");

			out = jv_object_set(out, jv_string("steps"), jv_is_valid(steps) ? steps : (jv_free(steps), jv_array()));
		}
		snprintf(kp, sizeof kp, "%s/as", path);
		if (as && !wf_name_valid(as))
			wf_check_at(c, kp, 1, "'as' must be a variable name (letters, digits, '.', '_', '-'), got '%s'", as);
		if (!as)
			out = jv_object_set(out, jv_string("as"), jv_string("item"));
	}
	snprintf(kp, sizeof kp, "%s/max-concurrency", path);
	if (mc < 1 || mc > WF_PARALLEL_MAX_CONCURRENCY)
		wf_check_at(c, kp, 1, "'max-concurrency' must be between 1 and %d, got %g", WF_PARALLEL_MAX_CONCURRENCY, mc);
	if (!wf_jv_str(out, "on-failure"))
		out = jv_object_set(out, jv_string("on-failure"), jv_string("fail-fast"));
	return out;
}

/* The items of the for-each text TEXT: a JSON array's members, else its non-empty lines.  The caller owns the list. */
static jv
items_of(const char *text)
{
	char perr[128];
	jv v = wf_json_parse(text, strlen(text), perr, sizeof perr), items;

	if (jv_is_valid(v) && jv_get_kind(v) == JV_KIND_ARRAY)
		return v;
	jv_free(v);
	items = jv_array();
	for (const char *p = text; *p;) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len && !(len == 1 && p[0] == '\r'))
			items = jv_array_append(items, jv_string_sized(p, (int)(len && p[len - 1] == '\r' ? len - 1 : len)));
		p += len + (e ? 1 : 0);
	}
	return items;
}

jv
wf_parallel_branches(jv step, jv view, char *err, size_t n)
{
	const char *fe = wf_jv_str(step, "for-each");
	jv items, out, body;
	char *text;
	int len;

	if (!fe)
		return wf_jv_get(step, "branches");
	out = jv_array();
	text = wf_subst(fe, view, 0, NULL, err, n);
	if (!text) {
		jv_free(out);
		return jv_invalid();
	}
	items = items_of(text);
	free(text);
	len = jv_array_length(jv_copy(items));
	if (len > WF_PARALLEL_MAX_BRANCHES) {
		snprintf(err, n, "'for-each' gives %d items: at most %d branches", len, WF_PARALLEL_MAX_BRANCHES);
		jv_free(items);
		jv_free(out);
		return jv_invalid();
	}
	body = wf_jv_get(step, "steps");
	for (int i = 0; i < len; i++) {
		jv b = jv_object_set(jv_object(), jv_string("name"), jv_string_fmt("%d", i + 1));

		b = jv_object_set(b, jv_string("steps"), jv_copy(body));
		b = jv_object_set(b, jv_string("item"), jv_array_get(jv_copy(items), i));
		out = jv_array_append(out, b);
	}
	jv_free(body);
	jv_free(items);
	return out;
}
