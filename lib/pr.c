/*
 * pr.c: what the git and pull-request actions of wf-step share
 * (wf-workflow(5)).  The actions live one family to a file: pr_open.c
 * (create-pr, merge-pr), pr_review.c (review-pr, self-review),
 * pr_changes.c (make-changes) and pr_git.c (commit-push, sync).  Here:
 * the context each action opens and closes, the run's variables, the
 * marker and saved files of one execution, the forge through a wf-pr
 * child, the model through wf_ai_chat, and git helpers that leave git's
 * complaint in the context's message.
 *
 * The rules every file of the family keeps:
 * - git runs as a program with argument vectors (git.c); the forge is
 *   reached through a wf-pr child, so this code (which lives in wf-step)
 *   never links libcurl and never sees more of the token than its
 *   environment; models are asked through wf_ai_chat (a wf-model child).
 * - Every side effect is checked before it is made, so that a step that
 *   runs again after a crash finds its earlier work instead of repeating
 *   it: an open PR for the branch is adopted, a commit already made is
 *   pushed rather than made again, a review or comment carries a hidden
 *   marker naming the run, the step and its execution and is not posted
 *   twice, a model's verdict or patch is saved in the run directory
 *   before it is used, and a merged PR is merged already.
 * - Each result lists what it did under "effects", which the driver
 *   journals; results are built with result.c's helpers.
 * - An action opens its context with wf_pr_ctx_open (which takes the
 *   request) and returns through wf_pr_ctx_close (which frees it).
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

/* ---- the run's variables, a step's text, small helpers ---- */

/*
 * Show TEXT to the person watching, where a shell step's output goes
 * (the run's echo descriptor), unless the run is quiet.  REQ borrowed.
 */
static void
announce(jv req, const char *text)
{
	jv run = wf_jv_get(req, "run");
	double fd = wf_jv_num(run, "echo_fd", -1);

	if (fd >= 0 && !wf_jv_bool(run, "quiet", 0) && *text) {
		(void)wf_write_all((int)fd, text, strlen(text));
		(void)wf_write_all((int)fd, "\n", 1);
	}
	jv_free(run);
}

/* The step's text field KEY with ${...} substituted; NULL when absent (or *BAD on a strict-mode error, in c->err). */
char *
wf_pr_text(struct wf_pr_ctx *c, const char *key, int *bad)
{
	return wf_step_text(c->req, key, bad, c->err, sizeof c->err);
}

/* vars.NAME (borrowed through the request), or NULL / jv_null(). */
const char *
wf_pr_var_str(struct wf_pr_ctx *c, const char *name)
{
	jv vars = wf_jv_get(c->req, "vars");
	const char *s = wf_jv_str(vars, name);

	jv_free(vars);
	return s;
}

/* C's request borrowed; the caller owns the value. */
jv
wf_pr_var(struct wf_pr_ctx *c, const char *name)
{
	jv vars = wf_jv_get(c->req, "vars");
	jv v = wf_jv_get(vars, name);

	jv_free(vars);
	return v;
}

/* vars.NAME as a boolean: true, "true", "yes", 1; -1 when unset. */
int
wf_pr_var_bool(struct wf_pr_ctx *c, const char *name)
{
	jv v = wf_pr_var(c, name);
	int b = -1;

	if (jv_get_kind(v) == JV_KIND_TRUE)
		b = 1;
	else if (jv_get_kind(v) == JV_KIND_FALSE)
		b = 0;
	else if (jv_get_kind(v) == JV_KIND_NUMBER)
		b = jv_number_value(v) != 0;
	else if (jv_get_kind(v) == JV_KIND_STRING)
		b = !strcasecmp(jv_string_value(v), "true") || !strcasecmp(jv_string_value(v), "yes") ||
		    !strcmp(jv_string_value(v), "1");
	jv_free(v);
	return b;
}

/* The PR this run works on: vars.pr_number (a number or a numeric string); 0 if none. */
long
wf_pr_number(struct wf_pr_ctx *c)
{
	jv v = wf_pr_var(c, "pr_number");
	long n = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 1)
		n = (long)jv_number_value(v);
	else if (jv_get_kind(v) == JV_KIND_STRING)
		(void)wf_parse_long(jv_string_value(v), 1, 1000000000L, &n);
	jv_free(v);
	return n;
}

/* TEXT cut to MAX bytes (at a line end when possible) with a note; malloc'd. */
char *
wf_pr_clip(const char *text, size_t max)
{
	size_t n = strlen(text), k;

	if (n <= max)
		return wf_xstrdup(text);
	k = max;
	while (k > max / 2 && text[k - 1] != '\n')
		k--;
	return wf_xasprintf("%.*s\n[... %zu more bytes left out ...]\n", (int)k, text, n - k);
}

/* The first SHA7 of SHA. */
const char *
wf_pr_short_sha(const char *sha, char buf[16])
{
	snprintf(buf, 16, "%.7s", sha ? sha : "?");
	return buf;
}

/* Is the journal line LINE an event with status "failed"? */
static int
failed_event(const char *line)
{
	char err[64];
	jv ev = wf_json_parse(line, strlen(line), err, sizeof err);
	const char *st = jv_is_valid(ev) ? wf_jv_str(ev, "status") : NULL;
	int failed = st && !strcmp(st, "failed");

	jv_free(ev);
	return failed;
}

/*
 * The run's identity and this step's place in it, from the journal:
 * when the run started (so a restarted run with the same name is a new
 * run) and how many steps had finished, failures not counted (the same
 * number when a step runs again after a crash, or after it failed,
 * perhaps after its effect, and is retried or resumed; a new one for
 * every other execution).
 */
static void
execution_key(struct wf_pr_ctx *c)
{
	struct wf_buf b = {0};
	char *path;
	int first = 1;

	c->stamp[0] = '\0';
	c->execution = 0;
	if (!c->run_dir)
		return;
	path = wf_xasprintf("%s/history.jsonl", c->run_dir);
	if (wf_read_file(path, (size_t)256 << 20, &b) == 0 && b.s) {
		for (char *p = b.s; *p;) {
			char *nl = strchr(p, '\n');

			if (nl)
				*nl = '\0';
			if (first) {
				char *t = strstr(p, "\"time\":\"");
				size_t k = 0;

				if (t)
					for (t += 8; *t && *t != '"' && k + 1 < sizeof c->stamp; t++)
						if (isalnum((unsigned char)*t))
							c->stamp[k++] = *t;
				c->stamp[k] = '\0';
				first = 0;
			}
			if (strstr(p, "\"event\":\"step-end\"") && !failed_event(p))
				c->execution++;
			p = nl ? nl + 1 : p + strlen(p);
		}
	}
	wf_buf_free(&b);
	free(path);
}

/* "wf:RUN/STEP/ITERATION run-STAMP.N": the marker of this step's posts. */
char *
wf_pr_marker(struct wf_pr_ctx *c)
{
	char *m = c->stamp[0] ?
		  wf_xasprintf("wf:%s/%s/%ld run-%s.%ld", c->run_name ? c->run_name : "-", c->id ? c->id : "-",
			       c->iteration, c->stamp, c->execution) :
		  wf_xasprintf("wf:%s/%s/%ld", c->run_name ? c->run_name : "-", c->id ? c->id : "-", c->iteration);

	/* Names are [A-Za-z0-9._-]; nothing here can close the HTML comment. */
	for (char *p = m; *p; p++)
		if (*p == '<' || *p == '>' || (unsigned char)*p < 0x20)
			*p = '_';
	return m;
}

/* A file of this step's execution in the run directory (NULL when there is none). */
char *
wf_pr_saved_path(struct wf_pr_ctx *c, const char *what, const char *ext)
{
	if (!c->run_dir)
		return NULL;
	return wf_xasprintf("%s/steps/%s-%s-%s-%ld.%s", c->run_dir, what, c->id ? c->id : "step",
			    c->stamp[0] ? c->stamp : "0", c->execution, ext);
}

/* Write TEXT to PATH atomically (temp file, fsync, rename); 0 or -1. */
int
wf_pr_save_file(const char *path, const char *text)
{
	char *tmp;
	int fd, rc = -1;

	if (!path)
		return 0;
	tmp = wf_xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0) {
		rc = wf_write_all(fd, text, strlen(text)) == 0 && fsync(fd) == 0 ? 0 : -1;
		if (close(fd) < 0)
			rc = -1;
		if (rc == 0 && rename(tmp, path) < 0)
			rc = -1;
		if (rc < 0)
			unlink(tmp);
	}
	if (rc < 0)
		wf_warn("cannot save '%s':", path);
	free(tmp);
	return rc;
}

/* ---- the forge, through wf-pr ---- */

struct two {
	struct wf_buf out, err;
};

static void
sink_two(void *ctx, int stream, const char *buf, size_t n)
{
	struct two *t = ctx;

	wf_buf_add(stream == 1 ? &t->out : &t->err, buf, n);
}

/*
 * Run wf-pr -C CWD ARGS with INPUT on stdin.  Returns its JSON answer, or
 * an invalid jv with *CODE (wf-pr's exit status) and c->err (its message).
 * The caller owns the answer.
 */
jv
wf_pr_forge(struct wf_pr_ctx *c, const char *const args[], const char *input, int *code)
{
	char *exe = wf_sibling_exe("wf-pr");
	const char *argv[24];
	struct two t = { {0}, {0} };
	struct wf_io_opts o = { .pgrp = 1, .stop = &wf_stop, .sink = sink_two, .ctx = &t };
	struct wf_child ch;
	int k = 0, status = 0;
	jv res = jv_invalid();

	argv[k++] = exe;
	argv[k++] = "-C";
	argv[k++] = c->cwd;
	for (int i = 0; args[i] && k < 23; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	wf_buf_addstr(&t.out, "");
	wf_buf_addstr(&t.err, "");
	/* Its own process group, journaled, so that it can never outlive the step unseen. */
	if (wf_spawn((char *const *)argv, NULL, NULL, WF_SPAWN_OUT | WF_SPAWN_ERR | WF_SPAWN_PGRP |
		     (input ? WF_SPAWN_IN : WF_SPAWN_NULL_IN), NULL, &ch) < 0) {
		snprintf(c->err, sizeof c->err, "cannot run '%s': %s", exe, strerror(errno));
		*code = WF_EXIT_UNAVAILABLE;
		goto out;
	}
	if (wf_communicate(&ch, input, input ? strlen(input) : 0, &o, &status) == WF_COMM_STOPPED) {
		snprintf(c->err, sizeof c->err, "interrupted");
		*code = WF_EXIT_INT;
		goto out;
	}
	*code = wf_exit_code(status);
	/* wf-pr's own lines, without its name: the last says why it failed. */
	{
		struct wf_buf msg = {0};

		for (char *p = t.err.s; p && *p;) {
			char *nl = strchr(p, '\n');
			size_t n = nl ? (size_t)(nl - p) : strlen(p);

			if (!strncmp(p, "wf-pr: ", 7))
				p += 7, n -= 7;
			if (*code == 0) {
				if (n)
					wf_warn("forge: %.*s", (int)n, p);
			} else if (n) {
				wf_buf_reset(&msg);
				wf_buf_add(&msg, p, n);
			}
			p = nl ? nl + 1 : p + n;
		}
		/* Nothing said (killed, say): its status says what happened. */
		if (*code && msg.len)
			snprintf(c->err, sizeof c->err, "%s", msg.s);
		else if (*code)
			snprintf(c->err, sizeof c->err, "wf-pr exited with status %d", *code);
		wf_buf_free(&msg);
	}
	if (*code == 0) {
		char perr[256];

		res = wf_json_parse(t.out.s, t.out.len, perr, sizeof perr);
		if (!jv_is_valid(res)) {
			snprintf(c->err, sizeof c->err, "wf-pr answered with something that is not JSON: %s", perr);
			*code = WF_EXIT_SOFTWARE;
		}
	}
out:
	wf_buf_free(&t.out);
	wf_buf_free(&t.err);
	free(exe);
	return res;
}

/* ---- models ---- */

/* Ask the step's model (its model: field, else the run's current one); the answer text, malloc'd, or NULL with *CODE and c->err. */
char *
wf_pr_ask(struct wf_pr_ctx *c, const char *system, const char *prompt, int *code)
{
	int bad = 0;
	char *model = wf_pr_text(c, "model", &bad);
	char *text = NULL;
	jv res;

	*code = 0;
	if (bad) {
		*code = 1;
		return NULL;
	}
	res = wf_ai_chat(c->req, model && *model ? model : NULL, system, prompt, 0, c->err, sizeof c->err, code);
	free(model);
	if (!jv_is_valid(res)) {
		if (!*code)
			*code = 1;
		jv_free(res);
		return NULL;
	}
	c->usage = wf_usage_add(c->usage, res);
	text = wf_xstrdup(wf_jv_str(res, "text") ? wf_jv_str(res, "text") : "");
	jv_free(res);
	return text;
}

/* ---- git helpers ---- */

/* Run git ARGS in c->cwd; 0, or git's status with c->err saying what failed (prefixed by WHAT). */
int
wf_pr_git(struct wf_pr_ctx *c, const char *what, const char *const args[], const char *input, struct wf_buf *out)
{
	struct wf_buf err = {0};
	int rc = wf_git_run(c->cwd, args, input, input ? strlen(input) : 0, out, &err);

	if (rc) {
		char *m = wf_git_error(&err);

		snprintf(c->err, sizeof c->err, "%s: %s", what, m);
		free(m);
	}
	wf_buf_free(&err);
	return rc;
}

/* The work tree must be a git repository with an 'origin' remote; 0, or -1 with *R (consumed and replaced) failed. */
int
wf_pr_need_repo(struct wf_pr_ctx *c, jv *r, int need_origin)
{
	char *top = wf_git_toplevel(c->cwd), *url;

	if (!top) {
		const char *args[] = { "--version", NULL };

		if (wf_git_run(c->cwd, args, NULL, 0, NULL, NULL) == 127)
			*r = wf_result_fail(*r, WF_EXIT_UNAVAILABLE, "git is not installed (no 'git' on PATH)");
		else
			*r = wf_result_fail(*r, WF_EXIT_DATA, "'%s' is not in a git repository", c->cwd);
		return -1;
	}
	free(top);
	if (!need_origin)
		return 0;
	url = wf_git_remote_url(c->cwd, "origin");
	if (!url) {
		*r = wf_result_fail(*r, WF_EXIT_DATA, "the repository has no remote 'origin' to push to (git remote add origin URL)");
		return -1;
	}
	free(url);
	return 0;
}

/* *R (consumed and replaced) is failed when HEAD is detached. */
char *
wf_pr_branch(struct wf_pr_ctx *c, jv *r, const char *then)
{
	char *b = wf_git_current_branch(c->cwd);

	if (!b)
		*r = wf_result_fail(*r, 1, "HEAD is detached: check out a branch %s", then);
	return b;
}

/* The base branch: the step's base:, vars.base, origin's HEAD; malloc'd, or NULL with *R (consumed and replaced) failed. */
char *
wf_pr_base(struct wf_pr_ctx *c, jv *r)
{
	int bad = 0;
	char *b = wf_pr_text(c, "base", &bad);

	if (bad) {
		*r = wf_result_fail(*r, 1, "'base': %s", c->err);
		return NULL;
	}
	if ((!b || !*b) && wf_pr_var_str(c, "base")) {
		free(b);
		b = wf_xstrdup(wf_pr_var_str(c, "base"));
	}
	if (!b || !*b) {
		free(b);
		b = wf_git_default_base(c->cwd, "origin");
		if (!b) {
			*r = wf_result_fail(*r, WF_EXIT_DATA, "cannot tell the base branch (origin has no HEAD, main or master); set 'base:' on the step");
			return NULL;
		}
	}
	if (!wf_git_branch_name_ok(c->cwd, b)) {
		*r = wf_result_fail(*r, WF_EXIT_DATA, "invalid base branch name '%.100s'", b);
		free(b);
		return NULL;
	}
	return b;
}
/*
 * Push the current branch BRANCH to origin (a fast-forward; never
 * forced).  *PUSHED: 1 when the remote moved, 0 when it was up to date.
 */
int
wf_pr_push(struct wf_pr_ctx *c, const char *branch, int *pushed)
{
	char *spec = wf_xasprintf("refs/heads/%s:refs/heads/%s", branch, branch);
	const char *args[] = { "push", "--porcelain", "--set-upstream", "origin", spec, NULL };
	struct wf_buf out = {0}, err = {0};
	int rc = wf_git_run(c->cwd, args, NULL, 0, &out, &err);

	*pushed = 0;
	for (char *p = out.s; p && *p;) {
		char *nl = strchr(p, '\n');

		/* "FLAG\tFROM:TO\tSUMMARY": '=' means up to date. */
		if (p[0] && p[1] == '\t' && strstr(p, spec) == p + 2 && p[0] != '=' && p[0] != '!')
			*pushed = 1;
		p = nl ? nl + 1 : p + strlen(p);
	}
	if (rc) {
		char *m = wf_git_error(&err);

		if (strstr(out.s ? out.s : "", "[rejected]") || strstr(m, "non-fast-forward") || strstr(m, "fetch first"))
			snprintf(c->err, sizeof c->err,
				 "push of '%s' rejected: origin has commits on it that are not here (nothing was forced; bring them in with a sync step or git pull, then try again)",
				 branch);
		else
			snprintf(c->err, sizeof c->err, "cannot push '%s' to origin: %s", branch, m);
		free(m);
	}
	wf_buf_free(&out);
	wf_buf_free(&err);
	free(spec);
	return rc;
}

/* git's text output of ARGS (stdout), or "" ; malloc'd. */
char *
wf_pr_git_text(struct wf_pr_ctx *c, const char *const args[])
{
	struct wf_buf out = {0};

	if (wf_git_run(c->cwd, args, NULL, 0, &out, NULL) != 0)
		wf_buf_reset(&out);
	wf_buf_addstr(&out, "");
	return wf_buf_detach(&out);
}

/* ---- the context every action opens ---- */

/* REQ consumed: C owns it until wf_pr_ctx_close. */
void
wf_pr_ctx_open(struct wf_pr_ctx *c, jv req)
{
	jv it = wf_jv_get(req, "iteration");

	memset(c, 0, sizeof *c);
	c->req = req;
	c->step = wf_jv_get(req, "step");
	c->id = wf_jv_str(c->step, "id");
	{
		/* Strings stay alive through c->req. */
		jv r2 = wf_jv_get(req, "run");

		c->run_name = wf_jv_str(r2, "name");
		c->run_dir = wf_jv_str(r2, "dir");
		c->cwd = wf_xstrdup(wf_jv_str(r2, "cwd") ? wf_jv_str(r2, "cwd") : ".");
		jv_free(r2);
	}
	c->iteration = jv_get_kind(it) == JV_KIND_NUMBER ? (long)jv_number_value(it) : 0;
	c->usage = jv_null();
	wf_git_stop = &wf_stop;
	execution_key(c);
	jv_free(it);
}

/* Finish R (consumed; returns ownership): the summed usage; free C and the request. */
jv
wf_pr_ctx_close(struct wf_pr_ctx *c, jv r)
{
	if (!strcmp(wf_jv_str(r, "status") ? wf_jv_str(r, "status") : "", "ok") && wf_jv_str(r, "output"))
		announce(c->req, wf_jv_str(r, "output"));
	if (jv_get_kind(c->usage) == JV_KIND_OBJECT)
		r = jv_object_set(r, jv_string("usage"), c->usage);
	else
		jv_free(c->usage);
	jv_free(c->step);
	free(c->cwd);
	jv_free(c->req);
	return r;
}

