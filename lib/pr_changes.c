/*
 * pr_changes.c: the make-changes action (wf-workflow(5)): change the
 * code as the last review asks, through a coding agent (agent: or
 * $WF_CODING_AGENT, run in the work tree without the secrets it was not
 * given) or through a model's unified diff, checked with git apply
 * --check before it is applied and saved before it is applied, so that
 * a step that runs again after a crash finds it applied.  A patch that
 * does not apply is asked for again with git's complaint, up to
 * max-attempts; the work tree is changed only by a patch that applies.
 * The family's rules are in pr.c.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "wf_priv.h"

#define FILE_PROMPT_MAX (48 * 1024)
#define FILES_PROMPT_MAX (200 * 1024)

static const char *const patch_system =
	"You are a careful software engineer working in a git repository.  You change code by "
	"answering with one unified diff (the format of git diff: --- a/PATH and +++ b/PATH lines, "
	"@@ hunks with exact context lines) inside a single ```diff code block, and nothing else.  "
	"Paths are relative to the repository root.  Change only what the instructions ask for.";

/* The unified diff in a model's answer: a ```diff or ```patch block, another fence holding one, or the text from "diff --git" / "--- " on. */
static char *
patch_in(const char *text)
{
	const char *p = text;

	while ((p = strstr(p, "```"))) {
		const char *start = strchr(p, '\n'), *end;

		if (!start)
			break;
		start++;
		end = strstr(start, "\n```");
		if (!end)
			end = start + strlen(start);
		else
			end++;
		if (strstr(start, "+++ ") && strstr(start, "+++ ") < end && strstr(start, "@@") && strstr(start, "@@") < end) {
			char *d = wf_xstrndup(start, (size_t)(end - start));

			return d;
		}
		p = *end ? end + 3 : end;
	}
	if ((p = strstr(text, "diff --git ")) || (p = strstr(text, "--- "))) {
		size_t n = strlen(p);

		return n && p[n - 1] == '\n' ? wf_xstrdup(p) : wf_xasprintf("%s\n", p);
	}
	return NULL;
}

/* -p1 for a/ and b/ paths, -p0 when the model wrote plain paths. */
static const char *
strip_level(const char *patch)
{
	for (const char *p = patch; (p = strstr(p, "+++ ")); p += 4)
		if ((p == patch || p[-1] == '\n') && strncmp(p + 4, "b/", 2) && strncmp(p + 4, "/dev/null", 9))
			return "-p0";
	return "-p1";
}

/* git apply [--check] [--reverse] PATCH; 0, or git's status with c->err. */
static int
apply_patch(struct wf_pr_ctx *c, const char *patch, int check, int reverse)
{
	const char *args[8];
	int k = 0;

	args[k++] = "apply";
	args[k++] = "--recount";
	args[k++] = "--whitespace=nowarn";
	args[k++] = strip_level(patch);
	if (check)
		args[k++] = "--check";
	if (reverse)
		args[k++] = "--reverse";
	args[k++] = "-";
	args[k] = NULL;
	return wf_pr_git(c, "the patch does not apply", args, patch, NULL);
}

/* The review's requests as text for a prompt (and whether there are any). */
static char *
review_requests(struct wf_pr_ctx *c, int *any)
{
	struct wf_buf b = {0};
	jv cs = wf_pr_var(c, "review_comments");
	const char *summary = wf_pr_var_str(c, "review_summary");

	*any = 0;
	wf_buf_addstr(&b, "");
	if (summary && *summary) {
		wf_buf_printf(&b, "The reviewer's summary:\n%s\n", summary);
		*any = 1;
	}
	if (jv_get_kind(cs) == JV_KIND_ARRAY && jv_array_length(jv_copy(cs)) > 0) {
		wf_buf_addstr(&b, "\nThe reviewer's comments:\n");
		jv_array_foreach(cs, i, x) {
			(void)i;
			if (wf_jv_str(x, "path"))
				wf_buf_printf(&b, "- %s", wf_jv_str(x, "path"));
			else
				wf_buf_addstr(&b, "- (general)");
			if (wf_jv_num(x, "line", 0) > 0)
				wf_buf_printf(&b, " line %ld", (long)wf_jv_num(x, "line", 0));
			wf_buf_printf(&b, ": %s\n", wf_jv_str(x, "body") ? wf_jv_str(x, "body") : "");
			jv_free(x);
		}
		*any = 1;
	}
	jv_free(cs);
	return wf_buf_detach(&b);
}

/* The files the prompt should show: those the comments name and those the branch changed. */
static char *
files_for_prompt(struct wf_pr_ctx *c, const char *base)
{
	struct wf_buf b = {0}, names = {0};
	jv cs = wf_pr_var(c, "review_comments"), seen = jv_object();
	char *top = wf_git_toplevel(c->cwd);

	wf_buf_addstr(&b, "");
	if (jv_get_kind(cs) == JV_KIND_ARRAY)
		jv_array_foreach(cs, i, x) {
			(void)i;
			if (wf_jv_str(x, "path"))
				wf_buf_printf(&names, "%s\n", wf_jv_str(x, "path"));
			jv_free(x);
		}
	if (base) {
		char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
		const char *a[] = { "diff", "--name-only", three, NULL };
		char *t = wf_pr_git_text(c, a);

		wf_buf_addstr(&names, t);
		free(t);
		free(three);
	}
	for (char *p = names.s; p && *p && top;) {
		char *nl = strchr(p, '\n');
		jv got;

		if (nl)
			*nl = '\0';
		got = wf_jv_get(seen, p);
		if (*p && jv_get_kind(got) == JV_KIND_NULL && !strstr(p, "..") && p[0] != '/' && b.len < FILES_PROMPT_MAX) {
			char *path = wf_xasprintf("%s/%s", top, p);
			struct wf_buf f = {0};

			seen = jv_object_set(seen, jv_string(p), jv_true());
			if (wf_read_file(path, FILE_PROMPT_MAX, &f) == 0 && f.s && !memchr(f.s, '\0', f.len))
				wf_buf_printf(&b, "\n--- %s ---\n%s%s", p, f.s, f.len && f.s[f.len - 1] != '\n' ? "\n" : "");
			else if (errno == EFBIG)
				wf_buf_printf(&b, "\n--- %s --- (too large to show)\n", p);
			wf_buf_free(&f);
			free(path);
		}
		jv_free(got);
		p = nl ? nl + 1 : p + strlen(p);
	}
	jv_free(cs);
	jv_free(seen);
	wf_buf_free(&names);
	free(top);
	return wf_buf_detach(&b);
}

/* Split an agent command line on blanks (no quoting, no expansion); NULL-terminated, malloc'd. */
static char **
split_words(const char *s)
{
	char **v = wf_xcalloc(1, sizeof *v), *copy = wf_xstrdup(s), *save = NULL;
	size_t n = 0;

	for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
		v = wf_xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = wf_xstrdup(w);
		v[n] = NULL;
	}
	free(copy);
	return v;
}

/* The agent's environment: ours, minus secrets other than those the step lists under secrets:. */
static char **
agent_env(struct wf_pr_ctx *c)
{
	jv allowed = wf_jv_get(c->step, "secrets");
	char **env = wf_env_without_secrets(allowed, NULL);

	jv_free(allowed);
	return env;
}

/* Echo a child's output to our stderr (the terminal) and keep stdout. */
static void
sink_agent(void *ctx, int stream, const char *buf, size_t n)
{
	struct wf_buf *out = ctx;

	(void)wf_write_all(2, buf, n);
	if (stream == 1 && out->len < WF_OUTPUT_EXCERPT)
		wf_buf_add(out, buf, n);
}

/* Run the external coding agent CMD with PROMPT on stdin, in the work tree.  R consumed; returns ownership. */
static jv
run_agent(struct wf_pr_ctx *c, jv r, const char *cmd, const char *prompt)
{
	char **argv = split_words(cmd), **env = NULL, *exe = NULL, *top = wf_git_toplevel(c->cwd);
	struct wf_buf out = {0};
	double timeout = wf_jv_num(c->step, "timeout", 0);
	struct wf_io_opts o = { .timeout_s = timeout > 0 ? timeout : 3600, .pgrp = 1, .stop = &wf_stop,
				.sink = sink_agent, .ctx = &out };
	struct wf_child ch;
	int status = 0, rc;

	if (!argv[0]) {
		r = wf_result_fail(r, WF_EXIT_CONFIG, "the coding agent command is empty");
		goto out;
	}
	{
		const char *path = getenv("PATH");

		exe = wf_find_program(argv[0], path && *path ? path : "/usr/bin:/bin");
	}
	if (!exe) {
		r = wf_result_fail(r, WF_EXIT_CONFIG, "coding agent '%s' not found on PATH", argv[0]);
		goto out;
	}
	free(argv[0]);
	argv[0] = exe;
	exe = NULL;
	env = agent_env(c);
	if (wf_spawn(argv, env, top ? top : c->cwd, WF_SPAWN_IN | WF_SPAWN_OUT | WF_SPAWN_ERR | WF_SPAWN_PGRP, NULL,
		     &ch) < 0) {
		r = wf_result_fail(r, 127, "cannot run coding agent '%s': %s", argv[0], strerror(errno));
		goto out;
	}
	rc = wf_communicate(&ch, prompt, strlen(prompt), &o, &status);
	if (rc == WF_COMM_TIMEOUT) {
		r = wf_result_fail(r, 124, "coding agent '%s' timed out after %g s; its processes were stopped", argv[0], o.timeout_s);
		r = jv_object_set(r, jv_string("timed_out"), jv_true());
		goto out;
	}
	if (rc == WF_COMM_STOPPED) {
		r = wf_result_fail(r, WF_EXIT_INT, "interrupted");
		r = jv_object_set(r, jv_string("interrupted"), jv_true());
		goto out;
	}
	if (wf_exit_code(status)) {
		r = wf_result_fail(r, wf_exit_code(status), "coding agent '%s' exited with status %d", argv[0], wf_exit_code(status));
		goto out;
	}
	{
		const char *a[] = { "status", "--porcelain", "--untracked-files=all", NULL };
		char *st = wf_pr_git_text(c, a);
		int files = 0;

		for (char *p = st; *p; p++)
			if (*p == '\n')
				files++;
		r = wf_result_set_effect(r, "agent", jv_string(cmd));
		r = wf_result_set_effect(r, "changed_files", jv_number(files));
		{
			char *o2 = wf_xasprintf("coding agent '%s' finished; %d file%s changed in the work tree%s%s", argv[0], files,
						files == 1 ? "" : "s", out.len ? "\n" : "", out.len ? out.s : "");

			r = wf_result_set_output(r, o2, strlen(o2));
			free(o2);
		}
		free(st);
	}
out:
	wf_strv_free(argv);
	wf_strv_free(env);
	wf_buf_free(&out);
	free(exe);
	free(top);
	return r;
}

/* The files a patch touches, for the report: "a.py, b.py". */
static char *
patch_files(const char *patch)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (const char *p = patch; (p = strstr(p, "+++ ")); p += 4) {
		const char *s = p + 4, *e;

		if (p != patch && p[-1] != '\n')
			continue;
		if (!strncmp(s, "/dev/null", 9))
			continue;
		if (!strncmp(s, "b/", 2))
			s += 2;
		e = s + strcspn(s, "\t\n");
		wf_buf_printf(&b, "%s%.*s", b.len ? ", " : "", (int)(e - s), s);
	}
	return wf_buf_detach(&b);
}

/* PATCH (NULL: the answer held none) checked, saved at SAVED, applied: NULL, or why not (malloc'd). */
static char *
apply_checked(struct wf_pr_ctx *c, const char *patch, const char *saved)
{
	if (!patch)
		return wf_xstrdup("the answer holds no unified diff");
	if (apply_patch(c, patch, 1, 0) != 0)
		return wf_xstrdup(c->err);
	/* Saved before it is applied: a crash after this point finds it. */
	(void)wf_pr_save_file(saved, patch);
	if (apply_patch(c, patch, 0, 0) != 0)
		return wf_xstrdup(c->err);
	return NULL;
}

/*
 * Ask the model for a patch (with the branch's diff against BASE and the
 * files as they are) and apply it, up to max-attempts, each try after
 * the first told why the last did not apply.  R consumed; returns
 * ownership.
 */
static jv
patch_by_model(struct wf_pr_ctx *c, jv r, const char *base, const char *instructions, const char *saved)
{
	char *files = files_for_prompt(c, base), *diff = NULL, *patch = NULL, *last_error = NULL, *last_patch = NULL;
	int max = (int)wf_jv_num(c->step, "max-attempts", 3), attempt, code;

	if (base) {
		char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
		const char *a[] = { "diff", three, NULL };
		char *d = wf_pr_git_text(c, a);

		diff = wf_pr_clip(d, WF_PR_DIFF_MAX);
		free(d);
		free(three);
	}
	if (max < 1)
		max = 1;
	for (attempt = 1; attempt <= max; attempt++) {
		struct wf_buf p = {0};
		char *answer;

		wf_buf_addstr(&p, instructions);
		if (diff && *diff)
			wf_buf_printf(&p, "\nThe pull request's changes so far:\n```diff\n%s```\n", diff);
		if (*files)
			wf_buf_printf(&p, "\nThe files as they are now:\n%s", files);
		if (last_error)
			wf_buf_printf(&p, "\nYour previous patch could not be applied:\n%s\n\nThat patch was:\n```diff\n%s```\n"
				      "Answer with a corrected patch against the files as they are now.\n",
				      last_error, last_patch ? last_patch : "(none)");
		answer = wf_pr_ask(c, patch_system, p.s, &code);
		wf_buf_free(&p);
		if (!answer) {
			r = wf_result_fail(r, code, "cannot get changes from the model: %s", c->err);
			goto out;
		}
		patch = patch_in(answer);
		free(answer);
		free(last_error);
		last_error = apply_checked(c, patch, saved);
		if (!last_error) {
			char *fl = patch_files(patch);
			char *o = wf_xasprintf("applied the model's patch to %s (attempt %d of %d)", fl, attempt, max);

			r = wf_result_set_output(r, o, strlen(o));
			r = wf_result_set_effect(r, "patch", saved ? jv_string(saved) : jv_null());
			r = wf_result_set_effect(r, "files", jv_string(fl));
			r = wf_result_set_effect(r, "attempts", jv_number(attempt));
			free(fl);
			free(o);
			goto out;
		}
		wf_warn("step '%s': attempt %d of %d: %s", c->id, attempt, max, last_error);
		free(last_patch);
		last_patch = patch;
		patch = NULL;
	}
	r = wf_result_fail(r, 1, "the model's patch did not apply after %d attempt%s (%s); the work tree is unchanged", max,
			   max == 1 ? "" : "s", last_error ? last_error : "?");
	r = wf_result_set_effect(r, "attempts", jv_number(max));
out:
	free(patch);
	free(files);
	free(diff);
	free(last_error);
	free(last_patch);
	return r;
}

/* Is the patch saved at SAVED by an earlier try of this execution applied already?  Then 1, with *R (consumed and replaced) saying so. */
static int
applied_before(struct wf_pr_ctx *c, jv *r, const char *saved)
{
	struct wf_buf text = {0};
	int done = 0;

	if (saved && wf_read_file(saved, 8 << 20, &text) == 0 && text.s && text.len &&
	    apply_patch(c, text.s, 1, 1) == 0) {
		char *fl = patch_files(text.s);
		char *o = wf_xasprintf("the patch of an earlier try is already applied (%s)", fl);

		*r = wf_result_set_output(*r, o, strlen(o));
		*r = wf_result_set_effect(*r, "patch", jv_string(saved));
		*r = wf_result_set_effect(*r, "files", jv_string(fl));
		free(fl);
		free(o);
		done = 1;
	}
	wf_buf_free(&text);
	return done;
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_make_changes(jv req, jv r)
{
	struct wf_pr_ctx c;
	char *instructions = NULL, *requests = NULL, *agent = NULL, *base = NULL, *saved = NULL;
	int bad = 0, any = 0;
	struct wf_buf p = {0};
	jv scratch;

	wf_pr_ctx_open(&c, req);
	if (wf_pr_need_repo(&c, &r, 0))
		goto out;
	instructions = wf_pr_text(&c, "prompt", &bad);
	agent = bad ? NULL : wf_pr_text(&c, "agent", &bad);
	if (bad) {
		r = wf_result_fail(r, 1, "%s", c.err);
		goto out;
	}
	if ((!agent || !*agent) && getenv("WF_CODING_AGENT") && *getenv("WF_CODING_AGENT")) {
		free(agent);
		agent = wf_xstrdup(getenv("WF_CODING_AGENT"));
	}
	requests = review_requests(&c, &any);
	if (!(instructions && *instructions) && (wf_pr_var_bool(&c, "approved") == 1 || !any)) {
		const char *o = wf_pr_var_bool(&c, "approved") == 1 ? "nothing to change: the last review approved the pull request"
							      : "nothing to change: no review comments and no prompt";

		r = wf_result_set_output(r, o, strlen(o));
		r = wf_result_set_effect(r, "patch", jv_null());
		goto out;
	}
	/* The base, when one can be found, shows the branch's diff; without it the prompt is shorter. */
	scratch = jv_object();
	base = wf_pr_base(&c, &scratch);
	jv_free(scratch);
	wf_buf_printf(&p, "Change the code to address the review below.\n\n");
	if (instructions && *instructions)
		wf_buf_printf(&p, "Instructions:\n%s\n\n", instructions);
	wf_buf_addstr(&p, requests);
	free(instructions);
	instructions = wf_buf_detach(&p);
	if (agent && *agent) {
		r = run_agent(&c, r, agent, instructions);
		goto out;
	}
	/* A patch this execution already applied (before a crash) is not asked for again. */
	saved = wf_pr_saved_path(&c, "patch", "diff");
	if (!applied_before(&c, &r, saved))
		r = patch_by_model(&c, r, base, instructions, saved);
out:
	free(instructions);
	free(requests);
	free(agent);
	free(base);
	free(saved);
	return wf_pr_ctx_close(&c, r);
}
