/*
 * graph_src.c: what wf graph draws (graph.h): the workflow a file or a
 * name gives, or a run's: the workflow.json it started from, its story
 * and the sub-runs of its 'workflow' steps; and, for any workflow, the
 * workflows its steps call, found as a run finds them.
 *
 * Layer 2: domain data.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "graph.h"
#include "parallel.h"
#include "story.h"
#include "subflow.h"

/* The workflow.json run R started from; the caller owns it, invalid with ERR when it is missing or damaged. */
static jv
run_workflow(struct wf_run *r, char *err, size_t n)
{
	char why[256];
	jv wf = wf_run_workflow(r, why, sizeof why), steps = wf_jv_get(wf, "steps");

	if (jv_get_kind(steps) != JV_KIND_ARRAY) {
		jv_free(steps);
		snprintf(err, n, "run '%s' cannot be drawn: %s (see 'wf-state fsck %s')",
			 r->name, jv_is_valid(wf) ? "its workflow.json has no steps" : why, r->name);
		jv_free(wf);
		return jv_invalid();
	}
	jv_free(steps);
	return wf;
}

/* {"error": TEXT}: a called workflow not drawn, and why; the caller owns it. */
static jv
not_drawn(const char *text)
{
	return jv_object_set(jv_object(), jv_string("error"), jv_string(text));
}

/* The called workflow of the sub-run of step ID of R, drawn with its path; the caller owns it. */
static jv
sub_run(struct wf_run *r, const char *id, int depth)
{
	struct wf_run *sr;
	char err[1024];
	jv wf, story, e;

	if (wf_run_open_sub(r, id, 0, &sr, err, sizeof err))
		return not_drawn(err);
	wf = run_workflow(sr, err, sizeof err);
	if (!jv_is_valid(wf)) {
		wf_run_close(sr);
		return not_drawn(err);
	}
	story = wf_story_of(sr, err, sizeof err);
	e = jv_object_set(jv_object(), jv_string("subs"), wf_graph_subs(wf, sr, depth + 1));
	e = jv_object_set(e, jv_string("story"), jv_is_valid(story) ? story : (jv_free(story), jv_null()));
	wf_run_close(sr);
	return jv_object_set(e, jv_string("workflow"), wf);
}

/* The workflow step STEP (borrowed) of the workflow read from SOURCE calls, as a run would find it; the caller owns it. */
static jv
sub_file(jv step, const char *source, int depth)
{
	struct wf_diag diag = {0};
	char err[1024];
	int code = 0;
	const char *ref = wf_jv_str(step, "workflow");
	char *path = ref ? wf_subflow_resolve(ref, source ? source : "-", &code, err, sizeof err) : NULL;
	jv wf, e;

	if (!path)
		return not_drawn(ref ? err : "no workflow named");
	wf = wf_workflow_load(path, &diag, &code);
	free(path);
	if (!jv_is_valid(wf)) {
		e = not_drawn(diag.n ? diag.msgs[0] : "invalid workflow");
		wf_diag_free(&diag);
		jv_free(wf);
		return e;
	}
	wf_diag_free(&diag);
	e = jv_object_set(jv_object(), jv_string("subs"), wf_graph_subs(wf, NULL, depth + 1));
	e = jv_object_set(e, jv_string("story"), jv_null());
	return jv_object_set(e, jv_string("workflow"), wf);
}

/* Has run R (may be NULL) a sub-run for step ID? */
static int
has_sub_run(struct wf_run *r, const char *id)
{
	char *rel;
	struct stat st;
	int yes;

	if (!r || !wf_name_valid(id))
		return 0;
	rel = wf_xasprintf("sub/%s", id);
	yes = fstatat(r->dirfd, rel, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
	free(rel);
	return yes;
}

/* STORY (consumed; returned) of branch run BR: "interrupted" when its journal says running and no process runs it. */
static jv
cut_short(jv story, struct wf_run *br)
{
	jv run = wf_jv_get(story, "run");

	if (wf_jv_str(run, "status") && !strcmp(wf_jv_str(run, "status"), "running") && !wf_run_is_live(br))
		story = jv_object_set(story, jv_string("run"),
				      jv_object_set(run, jv_string("status"), jv_string("interrupted")));
	else
		jv_free(run);
	return story;
}

/*
 * The story of a workflow branch NAME's one step, the call, from STORY
 * (consumed), the called workflow's run: passed once, ended as the run
 * did.  The caller owns it.
 */
static jv
call_story(jv story, const char *name)
{
	jv run = wf_jv_get(story, "run"), entry = jv_object(), out = jv_object();
	const char *st = wf_jv_str(run, "status");

	if (jv_get_kind(story) != JV_KIND_OBJECT) {
		jv_free(run);
		jv_free(entry);
		jv_free(out);
		return story;
	}
	entry = jv_object_set(entry, jv_string("event"), jv_string("step"));
	entry = jv_object_set(entry, jv_string("step"), jv_string(name));
	entry = jv_object_set(entry, jv_string("status"), jv_string(!st ? "running" : !strcmp(st, "completed") ? "ok" : st));
	entry = jv_object_set(entry, jv_string("next"), jv_null());
	out = jv_object_set(out, jv_string("timeline"), jv_array_append(jv_array(), entry));
	out = jv_object_set(out, jv_string("passes"), jv_object_set(jv_object(), jv_string(name), jv_number(1)));
	out = jv_object_set(out, jv_string("last"), jv_object_set(jv_object(), jv_string(name), jv_number(0)));
	out = jv_object_set(out, jv_string("run"), run);
	jv_free(story);
	return out;
}

/*
 * Branch B (borrowed) of the parallel step ID of WF (borrowed) and R
 * (NULL: no run): {"story": its run's story or null, "subs": the SUBS of
 * its steps, or for a workflow branch of the one step that calls it}.
 * The caller owns it.
 */
static jv
branch_sub(jv wf, jv b, struct wf_run *r, const char *id, int depth)
{
	const char *name = wf_jv_str(b, "name");
	struct wf_run *br = NULL;
	char err[1024];
	jv story = jv_null(), subs, e, steps = jv_object();

	if (r && name && wf_run_open_branch(r, id, name, 0, &br, err, sizeof err) == 0) {
		story = wf_story_of(br, err, sizeof err);
		if (!jv_is_valid(story)) {
			jv_free(story);
			story = jv_null();
		}
		story = cut_short(story, br);
	}
	if (wf_jv_str(b, "workflow") && br) {
		jv called = run_workflow(br, err, sizeof err);

		if (jv_is_valid(called)) {
			e = jv_object_set(jv_object(), jv_string("subs"), wf_graph_subs(called, br, depth + 1));
			e = jv_object_set(e, jv_string("story"), jv_copy(story));
			e = jv_object_set(e, jv_string("workflow"), called);
		} else {
			jv_free(called);
			e = not_drawn(err);
		}
		subs = jv_object_set(jv_object(), jv_string(name), e);
		story = call_story(story, name);
	} else if (wf_jv_str(b, "workflow")) {
		subs = jv_object_set(jv_object(), jv_string(name ? name : "?"),
				     sub_file(b, wf_jv_str(wf, "source"), depth));
	} else {
		steps = jv_object_set(steps, jv_string("steps"), wf_jv_get(b, "steps"));
		steps = jv_object_set(steps, jv_string("source"), wf_jv_get(wf, "source"));
		subs = wf_graph_subs(steps, br, depth + 1);
	}
	if (br)
		wf_run_close(br);
	jv_free(steps);
	e = jv_object_set(jv_object(), jv_string("subs"), subs);
	return jv_object_set(e, jv_string("story"), story);
}

/* The parallel step STEP (borrowed) of WF (borrowed) and R (may be NULL): {"branches": {NAME: branch_sub}}; the caller owns it. */
static jv
parallel_sub(jv wf, jv step, struct wf_run *r, int depth)
{
	const char *id = wf_jv_str(step, "id");
	jv branches = wf_jv_get(step, "branches"), by = jv_object();

	if (jv_get_kind(branches) == JV_KIND_ARRAY)
		jv_array_foreach(branches, i, b) {
			(void)i;
			if (wf_jv_str(b, "name"))
				by = jv_object_set(by, jv_string(wf_jv_str(b, "name")), branch_sub(wf, b, r, id, depth));
			jv_free(b);
		}
	jv_free(branches);
	return jv_object_set(jv_object(), jv_string("branches"), by);
}

/* WF and R borrowed; the caller owns the result. */
jv
wf_graph_subs(jv wf, struct wf_run *r, int depth)
{
	jv steps = wf_jv_get(wf, "steps"), subs = jv_object();

	if (jv_get_kind(steps) != JV_KIND_ARRAY) {
		jv_free(steps);
		return subs;
	}
	jv_array_foreach(steps, i, step) {
		const char *id = wf_jv_str(step, "id"), *action = wf_jv_str(step, "action");
		jv e;

		(void)i;
		if (id && action && !strcmp(action, "parallel") && depth < WF_SUBFLOW_MAX_DEPTH) {
			subs = jv_object_set(subs, jv_string(id), parallel_sub(wf, step, r, depth));
			jv_free(step);
			continue;
		}
		if (!id || !action || strcmp(action, "workflow")) {
			jv_free(step);
			continue;
		}
		if (depth >= WF_SUBFLOW_MAX_DEPTH)
			e = not_drawn("workflows call workflows too deeply here");
		else if (has_sub_run(r, id))
			e = sub_run(r, id, depth);
		else
			e = sub_file(step, wf_jv_str(wf, "source"), depth);
		subs = jv_object_set(subs, jv_string(id), e);
		jv_free(step);
	}
	jv_free(steps);
	return subs;
}

/* Is ARG all digits (a run's number)? */
static int
is_number(const char *arg)
{
	return *arg && strspn(arg, "0123456789") == strlen(arg);
}

/* Does ARG name a workflow file rather than a workflow name? */
static int
is_file_arg(const char *arg)
{
	size_t n = strlen(arg);
	struct stat st;

	return strchr(arg, '/') || (n > 5 && (!strcmp(arg + n - 5, ".yaml") || !strcmp(arg + n - 5, ".json"))) ||
	       (n > 4 && !strcmp(arg + n - 4, ".yml")) || (stat(arg, &st) == 0 && S_ISREG(st.st_mode));
}

/* Run ARG's workflow, story and sub-runs into OUT: 0, or an exit status with ERR. */
static int
open_run_src(const char *arg, struct wf_graph_src *out, char *err, size_t n)
{
	struct wf_run *r;
	int rc = wf_run_open(arg, 0, &r, err, n);

	if (rc)
		return rc;
	out->wf = run_workflow(r, err, n);
	if (!jv_is_valid(out->wf)) {
		wf_run_close(r);
		return WF_EXIT_DATA;
	}
	out->story = wf_story_of(r, err, n);
	if (!jv_is_valid(out->story)) {
		wf_run_close(r);
		return WF_EXIT_IO;
	}
	out->subs = wf_graph_subs(out->wf, r, 0);
	wf_run_close(r);
	return 0;
}

int
wf_graph_open(const char *arg, int as_run, struct wf_graph_src *out, struct wf_diag *diag, char *err, size_t n)
{
	int code = 0;
	char *path;

	out->wf = jv_null();
	out->story = jv_null();
	out->subs = jv_null();
	*err = '\0';
	if (as_run || is_number(arg))
		return open_run_src(arg, out, err, n);
	if (!strcmp(arg, "-")) {
		/* wf-parse's output (and jq's over it) on standard input. */
		out->wf = wf_workflow_stdin(&code, err, n);
		if (!code)
			out->subs = wf_graph_subs(out->wf, NULL, 0);
		return code;
	}
	if (is_file_arg(arg)) {
		path = strchr(arg, '/') ? wf_xstrdup(arg) : wf_xasprintf("./%s", arg);
	} else if (!(path = wf_workflow_find(arg, &code, err, n))) {
		struct wf_run *r;
		char why[1024];

		if (code != WF_EXIT_NOINPUT)
			return code;
		if (wf_run_open(arg, WF_RUN_BARE, &r, why, sizeof why) == 0) {
			wf_run_close(r);
			return open_run_src(arg, out, err, n);
		}
		snprintf(err, n, "no workflow or run named '%s' (looked for %s.yaml and a 'name: %s' along the "
			 "search path, and a run of this project; see 'wf list' and 'wf runs')", arg, arg, arg);
		return WF_EXIT_NOINPUT;
	}
	out->wf = wf_workflow_load(path, diag, &code);
	free(path);
	if (!jv_is_valid(out->wf))
		return code ? code : WF_EXIT_DATA;
	out->subs = wf_graph_subs(out->wf, NULL, 0);
	return 0;
}

void
wf_graph_src_free(struct wf_graph_src *s)
{
	jv_free(s->wf);
	jv_free(s->story);
	jv_free(s->subs);
	s->wf = s->story = s->subs = jv_null();
}
