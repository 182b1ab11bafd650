/*
 * workflow_sub.c: the workflow a step of action 'workflow' calls, found
 * and checked when its caller is validated, and a workflow's outputs:
 * (wf-workflow(5), "Workflows that call workflows").
 *
 * Checking a caller loads each workflow it calls, which checks the ones
 * those call, and so on: the files being checked form a chain (a stack
 * here, the library being single-threaded), so that a workflow reached
 * again is a cycle, named with the whole chain, and the chain's length
 * is capped at WF_SUBFLOW_MAX_DEPTH.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "subflow.h"

/* The files being checked, caller first: their real paths. */
static char *chain[WF_SUBFLOW_MAX_DEPTH + 2];
static int depth;

/* Does REF name a file rather than a workflow on the search path? */
static int
is_file_ref(const char *ref)
{
	size_t n = strlen(ref);

	return strchr(ref, '/') || (n > 5 && !strcmp(ref + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(ref + n - 4, ".yml"));
}

char *
wf_subflow_resolve(const char *ref, const char *caller, int *code, char *err, size_t n)
{
	char *path, *dir, *slash;

	if (!*ref) {
		snprintf(err, n, "'workflow' is empty: name a workflow or a file");
		*code = WF_EXIT_DATA;
		return NULL;
	}
	if (!is_file_ref(ref) || ref[0] == '/')
		return wf_workflow_find(ref, code, err, n);
	/* A file is relative to the calling workflow's directory (the working directory for stdin). */
	dir = wf_xstrdup(caller && strcmp(caller, "-") ? caller : "./-");
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	path = slash ? wf_xasprintf("%s/%s", dir, ref) : wf_xstrdup(ref);
	free(dir);
	if (access(path, R_OK) < 0) {
		snprintf(err, n, "cannot open workflow file '%s': %s", path, strerror(errno));
		*code = WF_EXIT_NOINPUT;
		free(path);
		return NULL;
	}
	return path;
}

/* The chain so far and then FILE, for a message: "a.yaml -> b.yaml -> ..."; malloc'd. */
static char *
chain_text(const char *file)
{
	struct wf_buf b = {0};

	for (int i = 0; i < depth; i++) {
		const char *base = strrchr(chain[i], '/');

		wf_buf_addstr(&b, base ? base + 1 : chain[i]);
		wf_buf_addstr(&b, " -> ");
	}
	wf_buf_addstr(&b, strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	return wf_buf_detach(&b);
}

/* Is the file at real path REAL being checked already (a cycle)? */
static int
in_chain(const char *real)
{
	for (int i = 0; i < depth; i++)
		if (!strcmp(chain[i], real))
			return 1;
	return 0;
}

/* The names of INPUTS (borrowed), "a, b", or "none"; malloc'd. */
static char *
input_names(jv inputs)
{
	struct wf_buf b = {0};

	if (jv_get_kind(inputs) == JV_KIND_OBJECT)
		jv_object_foreach(inputs, k, v) {
			if (b.len)
				wf_buf_addstr(&b, ", ");
			wf_buf_addstr(&b, jv_string_value(k));
			jv_free(k);
			jv_free(v);
		}
	if (!b.len)
		wf_buf_addstr(&b, "none");
	return wf_buf_detach(&b);
}

/* Step I (S borrowed, WHO: "step 'ID'" or "branch 'NAME'") gives the inputs of CHILD (borrowed, from file REF): with: keys known, required ones there. */
static void
check_with(struct wf_check *c, jv s, int i, const char *who, jv child, const char *ref)
{
	jv with = wf_jv_get(s, "with"), inputs = wf_jv_get(child, "inputs");
	char base[256], *names = input_names(inputs);

	snprintf(base, sizeof base, "%s/%d/with", WF_CHECK_BASE(c), i);
	if (jv_get_kind(with) == JV_KIND_OBJECT)
		jv_object_foreach(with, k, v) {
			if (jv_get_kind(inputs) != JV_KIND_OBJECT || !jv_object_has(jv_copy(inputs), jv_copy(k))) {
				char *kp = wf_check_key_path(base, jv_string_value(k));

				wf_check_at(c, kp, 0, "%s: '%s' is not an input of workflow '%s' (its inputs: %s)",
					    who, jv_string_value(k), ref, names);
				free(kp);
			}
			jv_free(k);
			jv_free(v);
		}
	if (jv_get_kind(inputs) == JV_KIND_OBJECT)
		jv_object_foreach(inputs, k, v) {
			if (!jv_object_has(jv_copy(v), jv_string("default")) &&
			    (jv_get_kind(with) != JV_KIND_OBJECT || !jv_object_has(jv_copy(with), jv_copy(k)))) {
				char path[256];

				snprintf(path, sizeof path, "%s/%d/workflow", WF_CHECK_BASE(c), i);
				wf_check_at(c, path, 1, "%s: workflow '%s' requires input '%s': give it under 'with:'",
					    who, ref, jv_string_value(k));
			}
			jv_free(k);
			jv_free(v);
		}
	free(names);
	jv_free(with);
	jv_free(inputs);
}

/* Check the workflow step (or parallel branch) S (borrowed) at index I, WHO as check_with's: what it calls is there, valid, no cycle, not too deep. */
static void
check_call(struct wf_check *c, jv s, int i, const char *who)
{
	const char *ref = wf_jv_str(s, "workflow");
	char path[256], err[1024], real[PATH_MAX], *file, *cyc;
	int code = 0;
	struct wf_diag sub = {0};
	jv child;

	snprintf(path, sizeof path, "%s/%d/workflow", WF_CHECK_BASE(c), i);
	if (!ref)
		return;
	if (!(file = wf_subflow_resolve(ref, c->file, &code, err, sizeof err))) {
		wf_check_at(c, path, 1, "%s: %s", who, err);
		return;
	}
	if (!realpath(file, real))
		snprintf(real, sizeof real, "%s", file);
	if (in_chain(real)) {
		cyc = chain_text(real);
		wf_check_at(c, path, 1, "%s: workflows call each other in a cycle: %s", who, cyc);
		free(cyc);
	} else if (depth >= WF_SUBFLOW_MAX_DEPTH) {
		cyc = chain_text(real);
		wf_check_at(c, path, 1, "%s: workflows nest deeper than %d levels: %s", who,
			    WF_SUBFLOW_MAX_DEPTH, cyc);
		free(cyc);
	} else {
		child = wf_workflow_load(file, &sub, &code);
		for (size_t k = 0; k < sub.n; k++)
			wf_diag_add(c->diag, NULL, 0, 0, "%s", sub.msgs[k]);
		if (!jv_is_valid(child))
			wf_check_at(c, path, 1, "%s: workflow '%s' (%s) is not valid (see above)", who, ref, file);
		else
			check_with(c, s, i, who, child, ref);
		jv_free(child);
	}
	wf_diag_free(&sub);
	free(file);
}

/* Does C hold a position for the first step of the list at PATH? */
static int
has_pos(struct wf_check *c, const char *path)
{
	char first[320];

	snprintf(first, sizeof first, "%s/0", path);
	return jv_object_has(jv_copy(c->pos), jv_string(first));
}

/* The workflows the steps STEPS (borrowed) at C's base call, those of parallel steps' branches too. */
static void
check_calls(struct wf_check *c, jv steps)
{
	const char *base = c->base;

	jv_array_foreach(steps, i, s) {
		const char *a = wf_jv_str(s, "action");
		char who[200], sub[300];
		jv bs = wf_jv_get(s, "branches"), body = wf_jv_get(s, "steps");

		snprintf(who, sizeof who, "step '%.150s'", wf_jv_str(s, "id") ? wf_jv_str(s, "id") : "?");
		if (a && !strcmp(a, "workflow"))
			check_call(c, s, i, who);
		if (a && !strcmp(a, "parallel") && jv_get_kind(bs) == JV_KIND_ARRAY)
			jv_array_foreach(bs, j, b) {
				jv bsteps = wf_jv_get(b, "steps");

				snprintf(sub, sizeof sub, "%s/%d/branches", base ? base : "/steps", i);
				c->base = sub;
				snprintf(who, sizeof who, "branch '%.150s'", wf_jv_str(b, "name") ? wf_jv_str(b, "name") : "?");
				if (wf_jv_str(b, "workflow"))
					check_call(c, b, j, who);
				snprintf(sub, sizeof sub, "%s/%d/branches/%d/steps", base ? base : "/steps", i, j);
				/* A branch written as a bare list of steps has them at .../branches/J. */
				if (!has_pos(c, sub))
					snprintf(sub, sizeof sub, "%s/%d/branches/%d", base ? base : "/steps", i, j);
				if (jv_get_kind(bsteps) == JV_KIND_ARRAY)
					check_calls(c, bsteps);
				c->base = base;
				jv_free(bsteps);
				jv_free(b);
			}
		if (a && !strcmp(a, "parallel") && jv_get_kind(body) == JV_KIND_ARRAY) {
			snprintf(sub, sizeof sub, "%s/%d/steps", base ? base : "/steps", i);
			c->base = sub;
			check_calls(c, body);
			c->base = base;
		}
		jv_free(bs);
		jv_free(body);
		jv_free(s);
	}
}

void
wf_subflow_check(struct wf_check *c, jv wf)
{
	jv steps = wf_jv_get(wf, "steps");
	char real[PATH_MAX];

	if (c->json || jv_get_kind(steps) != JV_KIND_ARRAY || depth > WF_SUBFLOW_MAX_DEPTH) {
		jv_free(steps);
		return;
	}
	if (!strcmp(c->file, "-") || !realpath(c->file, real))
		snprintf(real, sizeof real, "%s", c->file);
	chain[depth++] = wf_xstrdup(real);
	check_calls(c, steps);
	free(chain[--depth]);
	jv_free(steps);
}

jv
wf_subflow_outputs(jv wf, jv ctx)
{
	jv outs = wf_jv_get(wf, "outputs"), res = jv_object();
	char err[256];

	if (jv_get_kind(outs) == JV_KIND_OBJECT)
		jv_object_foreach(outs, k, v) {
			char *t = jv_get_kind(v) == JV_KIND_STRING ?
				  wf_subst(jv_string_value(v), ctx, 0, NULL, err, sizeof err) : wf_jv_text(v);

			res = jv_object_set(res, k, jv_string(t ? t : ""));
			free(t);
			jv_free(v);
		}
	jv_free(outs);
	return res;
}
