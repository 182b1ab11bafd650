/*
 * preflight.c: what is checked before a run starts any step: can every
 * model the workflow names be called (in 'model' or a quorum's 'models'), do git and pull-request steps have
 * a repository and a token, where is the wf-step program that runs
 * the actions, and does each --var name a variable the workflow uses.
 *
 * Layer 4: driver.
 *
 * Rules: nothing here changes the world or the run's state; the checks
 * run programs (wf-model resolve --check, git rev-parse) with their
 * output discarded, and every missing prerequisite is named at once, so
 * one fix-and-retry is enough.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"

/* The wf-step program beside this one (the caller frees it). */
char *
wf_preflight_step_exe(void)
{
	return wf_sibling_exe("wf-step");
}

/* Run ARGV quietly (stdout discarded, stderr shown); its exit code, or -1 if it could not start. */
static int
quiet_run(char *const argv[], const char *cwd)
{
	struct wf_buf sink = {0};
	struct wf_io_opts io = { .sink = wf_sink_to_buf, .ctx = &sink };
	struct wf_child c;
	int status = 0;

	if (wf_spawn(argv, NULL, cwd, WF_SPAWN_OUT | WF_SPAWN_NULL_IN, NULL, &c) < 0)
		return -1;
	wf_communicate(&c, NULL, 0, &io, &status);
	wf_buf_free(&sink);
	return wf_exit_code(status);
}

/*
 * Before any step runs: can every model the workflow names be called (it
 * resolves, its endpoint is allowed, its key is there), and do git and PR
 * steps have a repository and a token?  Every missing prerequisite is
 * named at once; returns 0 or the exit status of the first kind found.
 */
int
wf_preflight(struct driver *d)
{
	jv names = jv_object();
	int rc = 0, git = 0, forge = 0, problems = 0;
	const char *m = wf_jv_str(d->wf, "model");
	char *model_exe = NULL;

	if (m && !strchr(m, '$'))
		names = jv_object_set(names, jv_string(m), jv_true());
	jv_array_foreach(d->steps, i, s) {
		const char *a = wf_jv_str(s, "action"), *sm = wf_jv_str(s, "model");
		jv quorum = wf_jv_get(s, "models");
		int listed = jv_get_kind(quorum) == JV_KIND_ARRAY;

		(void)i;
		if (sm && !strchr(sm, '$') && strcmp(sm, "original"))
			names = jv_object_set(names, jv_string(sm), jv_true());
		/* A quorum's models are checked as 'model' is: a typo is found before the first step. */
		if (listed)
			jv_array_foreach(quorum, j, qm) {
				(void)j;
				if (jv_get_kind(qm) == JV_KIND_STRING && !strchr(jv_string_value(qm), '$'))
					names = jv_object_set(names, jv_copy(qm), jv_true());
				jv_free(qm);
			}
		jv_free(quorum);
		if (a && (wf_gate_step_needs_model(s) || !strcmp(a, "switch-model")) && !m && !sm && !listed)
			names = jv_object_set(names, jv_string("default"), jv_true());
		git |= wf_action_has(a, WF_ACTION_GIT);
		forge |= wf_action_has(a, WF_ACTION_FORGE);
		jv_free(s);
	}
	if (jv_object_length(jv_copy(names)) > 0) {
		char *slash = strrchr(d->step_exe, '/');

		model_exe = slash ? wf_xasprintf("%.*s/wf-model", (int)(slash - d->step_exe), d->step_exe) :
				    wf_xstrdup("wf-model");
	}
	jv_object_foreach(names, k, v) {
		const char *name = jv_string_value(k);
		char *argv[] = { model_exe, (char *)"resolve", (char *)"--check", (char *)name, NULL };
		int code;

		/* "default" stands for "whatever the configuration's default is". */
		if (!strcmp(name, "default")) {
			argv[3] = (char *)"original";
		}
		code = quiet_run(argv, NULL);
		if (code) {
			problems++;
			if (!rc)
				rc = code < 0 ? WF_EXIT_UNAVAILABLE : code;
		}
		jv_free(k);
		jv_free(v);
	}
	jv_free(names);
	free(model_exe);
	if (git) {
		char *argv[] = { (char *)"git", (char *)"rev-parse", (char *)"--is-inside-work-tree", NULL };
		int code = quiet_run(argv, wf_jv_str(d->run ? d->run->state : jv_null(), "cwd"));

		if (code < 0 || code == 127) {
			wf_warn("this workflow has git steps, but git is not installed");
			problems++;
			if (!rc)
				rc = WF_EXIT_UNAVAILABLE;
		} else if (code) {
			wf_warn("this workflow has git steps, but the current directory is not in a git repository");
			problems++;
			if (!rc)
				rc = WF_EXIT_DATA;
		}
	}
	if (forge && !(getenv("GH_TOKEN") && *getenv("GH_TOKEN")) &&
	    !(getenv("GITHUB_TOKEN") && *getenv("GITHUB_TOKEN"))) {
		wf_warn("this workflow has pull-request steps, but neither GH_TOKEN nor GITHUB_TOKEN is set");
		problems++;
		if (!rc)
			rc = WF_EXIT_CONFIG;
	}
	if (problems)
		wf_warn("%d prerequisite%s missing; no step was run", problems, problems == 1 ? " is" : "s are");
	return rc;
}

/* A required input (one with no default) that no --var gives: exit 2 naming it, what it is, and the --var to add. */
int
wf_preflight_inputs(struct driver *d)
{
	const char *miss = wf_flow_missing_input(d->wf, d->o->vars);
	jv in;
	const char *what;

	if (!miss)
		return 0;
	in = jv_object_get(jv_object_get(jv_copy(d->wf), jv_string("inputs")), jv_string(miss));
	what = wf_jv_str(in, "description");
	wf_warn("workflow '%s' needs input '%s'%s%s%s: give it with --var %s=VALUE", wf_jv_str(d->wf, "name"), miss,
		what && *what ? " (" : "", what && *what ? what : "", what && *what ? ")" : "", miss);
	jv_free(in);
	return WF_EXIT_USAGE;
}

/*
 * A --var that names no variable the workflow uses (wf_workflow_var_names)
 * is most likely a typo: warn, naming the workflow's variables and the
 * nearest of them; the run goes on.
 */
void
wf_preflight_vars(struct driver *d)
{
	jv vars = d->o->vars, used;
	struct wf_buf list = {0};

	if (jv_get_kind(vars) != JV_KIND_OBJECT || jv_object_length(jv_copy(vars)) == 0)
		return;
	used = wf_workflow_var_names(d->wf);
	jv_array_foreach(used, i, n) {
		wf_buf_addstr(&list, i ? ", " : "");
		wf_buf_addstr(&list, jv_string_value(n));
		jv_free(n);
	}
	jv_object_foreach(vars, k, v) {
		const char *name = jv_string_value(k), *near = wf_workflow_nearest(name, used);
		int known = 0;

		jv_array_foreach(used, i, n) {
			(void)i;
			known |= !strcmp(name, jv_string_value(n));
			jv_free(n);
		}
		if (!known)
			wf_warn("--var '%s' is not used by workflow '%s' (%s%s)%s%s%s", name, wf_jv_str(d->wf, "name"),
				list.len ? "its variables: " : "it uses no variables", list.len ? list.s : "",
				near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "");
		jv_free(k);
		jv_free(v);
	}
	jv_free(used);
	wf_buf_free(&list);
}
