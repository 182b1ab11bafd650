/*
 * pr.c: the git and pull-request actions (wf-workflow(5)): create-pr,
 * review-pr, make-changes, commit-push, self-review, merge-pr and sync.
 *
 * git runs as a program with argument vectors (git.c); the forge is
 * reached through a wf-pr child, so this code (which lives in wf-step)
 * never links libcurl and never sees more of the token than its
 * environment; models are asked through wf_ai_chat (a wf-model child).
 *
 * Every side effect is checked before it is made, so that a step that
 * runs again after a crash finds its earlier work instead of repeating
 * it: an open PR for the branch is adopted, a commit already made is
 * pushed rather than made again, a review or comment carries a hidden
 * marker naming the run, the step and its execution and is not posted
 * twice, a model's verdict or patch is saved in the run directory before
 * it is used, and a merged PR is merged already.  Each result lists what
 * it did under "effects", which the driver journals.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"

#define DIFF_PROMPT_MAX (100 * 1024)
#define FILE_PROMPT_MAX (48 * 1024)
#define FILES_PROMPT_MAX (200 * 1024)

/* What every action works with. */
struct ctx {
	jv req;			/* the step request (borrowed) */
	jv step;		/* req.step (owned) */
	const char *id;		/* the step id */
	const char *run_name;
	const char *run_dir;	/* NULL when run alone */
	char *cwd;		/* run.cwd, or "." */
	long iteration;
	char stamp[40];		/* the run's start, compact: this run, not an earlier one of the same name */
	long execution;		/* steps finished before this one: the same when a crashed step runs again */
	jv usage;		/* summed over this step's model calls, or null */
	char err[2048];
};

/* ---- small helpers ---- */

/* A "waiting" result: the run pauses (exit 3) with MSG saying what a human should do.  R consumed; returns ownership. */
static jv
wait_for_human(jv r, const char *kind, const char *msg)
{
	jv p = jv_object();

	wf_warn("%s", msg);
	p = jv_object_set(p, jv_string("kind"), jv_string(kind));
	p = jv_object_set(p, jv_string("message"), jv_string(msg));
	r = jv_object_set(r, jv_string("exit_code"), jv_number(WF_EXIT_WAIT));
	r = jv_object_set(r, jv_string("error"), jv_string(msg));
	return wf_result_waiting(r, p);
}

/*
 * Show TEXT to the person watching, where a shell step's output goes
 * (the run's echo descriptor), unless the run is quiet.
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
static char *
step_text(struct ctx *c, const char *key, int *bad)
{
	return wf_step_text(c->req, key, bad, c->err, sizeof c->err);
}

/* vars.NAME (borrowed through the request), or NULL / jv_null(). */
static const char *
var_str(struct ctx *c, const char *name)
{
	jv vars = wf_jv_get(c->req, "vars");
	const char *s = wf_jv_str(vars, name);

	jv_free(vars);
	return s;
}

static jv
var_get(struct ctx *c, const char *name)
{
	jv vars = wf_jv_get(c->req, "vars");
	jv v = wf_jv_get(vars, name);

	jv_free(vars);
	return v;
}

/* vars.NAME as a boolean: true, "true", "yes", 1; -1 when unset. */
static int
var_bool(struct ctx *c, const char *name)
{
	jv v = var_get(c, name);
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
static long
pr_number(struct ctx *c)
{
	jv v = var_get(c, "pr_number");
	long n = 0;

	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 1)
		n = (long)jv_number_value(v);
	else if (jv_get_kind(v) == JV_KIND_STRING)
		(void)wf_parse_long(jv_string_value(v), 1, 1000000000L, &n);
	jv_free(v);
	return n;
}

/* TEXT cut to MAX bytes (at a line end when possible) with a note; malloc'd. */
static char *
clip(const char *text, size_t max)
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
static const char *
short_sha(const char *sha, char buf[16])
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
execution_key(struct ctx *c)
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
static char *
marker_for(struct ctx *c)
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
static char *
saved_path(struct ctx *c, const char *what, const char *ext)
{
	if (!c->run_dir)
		return NULL;
	return wf_xasprintf("%s/steps/%s-%s-%s-%ld.%s", c->run_dir, what, c->id ? c->id : "step",
			    c->stamp[0] ? c->stamp : "0", c->execution, ext);
}

/* Write TEXT to PATH atomically (temp file, fsync, rename); 0 or -1. */
static int
save_file(const char *path, const char *text)
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
 */
static jv
forge(struct ctx *c, const char *const args[], const char *input, int *code)
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
static char *
ask(struct ctx *c, const char *system, const char *prompt, int *code)
{
	int bad = 0;
	char *model = step_text(c, "model", &bad);
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

/*
 * The JSON object in a model's TEXT: the whole text, or what a ```json
 * fence holds, or the span from the first '{' to the last '}'.
 */
static jv
json_in(const char *text, char *err, size_t errlen)
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

/* ---- git helpers ---- */

/* Run git ARGS in c->cwd; 0, or git's status with c->err saying what failed (prefixed by WHAT). */
static int
git_do(struct ctx *c, const char *what, const char *const args[], const char *input, struct wf_buf *out)
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

/* The work tree must be a git repository with an 'origin' remote; 0, or a failed R. */
static int
need_repo(struct ctx *c, jv *r, int need_origin)
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

/* The base branch: the step's base:, vars.base, origin's HEAD; malloc'd, or NULL with a failed R. */
static char *
base_branch(struct ctx *c, jv *r)
{
	int bad = 0;
	char *b = step_text(c, "base", &bad);

	if (bad) {
		*r = wf_result_fail(*r, 1, "'base': %s", c->err);
		return NULL;
	}
	if ((!b || !*b) && var_str(c, "base")) {
		free(b);
		b = wf_xstrdup(var_str(c, "base"));
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

/* Does refs/remotes/origin/NAME exist? Fetches origin once if not. */
static int
remote_branch(struct ctx *c, const char *name, char **sha)
{
	char *ref = wf_xasprintf("refs/remotes/origin/%s", name);

	*sha = wf_git_rev(c->cwd, ref);
	if (!*sha) {
		const char *args[] = { "fetch", "--quiet", "origin", NULL };

		(void)wf_git_run(c->cwd, args, NULL, 0, NULL, NULL);
		*sha = wf_git_rev(c->cwd, ref);
	}
	free(ref);
	return *sha != NULL;
}

/* Switch to branch NAME, creating it at HEAD when it does not exist; 0 or git's status. */
static int
switch_to(struct ctx *c, const char *name, int *created)
{
	char *ref = wf_xasprintf("refs/heads/%s", name), *sha = wf_git_rev(c->cwd, ref);
	int rc;

	*created = sha == NULL;
	if (sha) {
		const char *args[] = { "switch", "--quiet", "--end-of-options", name, NULL };

		rc = git_do(c, "cannot switch branches", args, NULL, NULL);
	} else {
		const char *args[] = { "switch", "--quiet", "--create", name, NULL };

		rc = git_do(c, "cannot create a branch", args, NULL, NULL);
	}
	free(ref);
	free(sha);
	return rc;
}

/*
 * Push the current branch BRANCH to origin (a fast-forward; never
 * forced).  *PUSHED: 1 when the remote moved, 0 when it was up to date.
 */
static int
push_branch(struct ctx *c, const char *branch, int *pushed)
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
static char *
git_text(struct ctx *c, const char *const args[])
{
	struct wf_buf out = {0};

	if (wf_git_run(c->cwd, args, NULL, 0, &out, NULL) != 0)
		wf_buf_reset(&out);
	wf_buf_addstr(&out, "");
	return wf_buf_detach(&out);
}

/* ---- commit and push (commit-push, and create-pr with uncommitted work) ---- */

static const char *const commit_system =
	"You write git commit messages.  Answer with the message only: a summary line of at most "
	"72 characters in the imperative mood, then a blank line and a short body if it helps.  "
	"No quotes, no code fences, no preamble.";

/*
 * Stage (PATHS, or everything), commit with MESSAGE (or one the model
 * writes from the staged diff), and push BRANCH.  R gets effects and vars;
 * *REPORT a sentence.  0, or an exit code with c->err.
 */
static int
commit_and_push(struct ctx *c, jv *r, const char *branch, const char *message, jv paths,
		struct wf_buf *report)
{
	int npaths = jv_get_kind(paths) == JV_KIND_ARRAY ? jv_array_length(jv_copy(paths)) : 0;
	const char **args = wf_xcalloc((size_t)npaths + 12, sizeof *args);
	char **subst = wf_xcalloc((size_t)npaths + 1, sizeof *subst);
	char *msg = NULL, *sha = NULL, s7[16];
	int k = 0, rc = 0, staged, pushed = 0;

	/* The paths, substituted; each is one argument after "--". */
	for (int i = 0; i < npaths; i++) {
		jv p = jv_array_get(jv_copy(paths), i);
		struct wf_diag warn = {0};

		subst[i] = jv_get_kind(p) == JV_KIND_STRING ?
			   wf_subst(jv_string_value(p), c->req, 0, &warn, c->err, sizeof c->err) : NULL;
		wf_diag_free(&warn);
		jv_free(p);
		if (!subst[i] || !*subst[i]) {
			snprintf(c->err, sizeof c->err, "paths: entry %d is empty", i + 1);
			rc = WF_EXIT_DATA;
			goto out;
		}
	}
	args[k++] = "add";
	args[k++] = "--all";
	args[k++] = "--";
	for (int i = 0; i < npaths; i++)
		args[k++] = subst[i];
	args[k] = NULL;
	if ((rc = git_do(c, "cannot stage the changes", args, NULL, NULL)))
		goto out;
	{
		const char *a[] = { "diff", "--cached", "--quiet", NULL };

		staged = wf_git_run(c->cwd, a, NULL, 0, NULL, NULL);
		if (staged > 1) {
			snprintf(c->err, sizeof c->err, "cannot compare the index with HEAD (git diff exited %d)", staged);
			rc = staged;
			goto out;
		}
	}
	if (staged) {
		if (message && *message) {
			msg = wf_xstrdup(message);
		} else {
			const char *st[] = { "diff", "--cached", "--stat", NULL };
			const char *df[] = { "diff", "--cached", NULL };
			char *stat = git_text(c, st), *diff = git_text(c, df), *cd = clip(diff, DIFF_PROMPT_MAX);
			char *prompt = wf_xasprintf("Write a git commit message for these staged changes.\n\n%s\n```diff\n%s```\n",
						    stat, cd);
			int code;

			msg = ask(c, commit_system, prompt, &code);
			if (msg) {
				/* Tidy: no fences or quotes around it, no trailing blank lines. */
				char *p = msg;
				size_t n;

				while (*p == '`' || *p == '"' || isspace((unsigned char)*p))
					p++;
				memmove(msg, p, strlen(p) + 1);
				n = strlen(msg);
				while (n && (msg[n - 1] == '`' || msg[n - 1] == '"' || isspace((unsigned char)msg[n - 1])))
					msg[--n] = '\0';
			}
			if (!msg || !*msg) {
				wf_warn("step '%s': no commit message from the model (%s); using a plain one", c->id,
					msg ? "an empty answer" : c->err);
				free(msg);
				msg = wf_xasprintf("Changes from workflow run %s (step %s)", c->run_name ? c->run_name : "?",
						   c->id ? c->id : "?");
			}
			free(stat);
			free(diff);
			free(cd);
			free(prompt);
		}
		k = 0;
		args[k++] = "commit";
		args[k++] = "--quiet";
		args[k++] = "--file=-";
		if (npaths) {
			args[k++] = "--";
			for (int i = 0; i < npaths; i++)
				args[k++] = subst[i];
		}
		args[k] = NULL;
		if ((rc = git_do(c, "cannot commit", args, msg, NULL)))
			goto out;
		sha = wf_git_rev(c->cwd, "HEAD");
		*r = wf_result_set_effect(*r, "commit", sha ? jv_string(sha) : jv_null());
		*r = wf_result_set_var(*r, "commit", sha ? jv_string(sha) : jv_null());
		wf_buf_printf(report, "committed %s \"%.*s\"", short_sha(sha, s7), (int)strcspn(msg, "\n"), msg);
	} else {
		wf_buf_addstr(report, "nothing to commit");
		*r = wf_result_set_effect(*r, "commit", jv_null());
	}
	/* Pushed even when nothing was committed now: a commit from a crashed try goes out here. */
	if ((rc = push_branch(c, branch, &pushed)))
		goto out;
	free(sha);
	sha = wf_git_rev(c->cwd, "HEAD");
	*r = wf_result_set_effect(*r, "branch", jv_string(branch));
	*r = wf_result_set_effect(*r, "pushed", pushed && sha ? jv_string(sha) : jv_null());
	wf_buf_printf(report, pushed ? "; pushed '%s' to origin (%s)" : "; '%s' is up to date on origin (%s)", branch,
		      short_sha(sha, s7));
out:
	for (int i = 0; i < npaths; i++)
		free(subst[i]);
	free(subst);
	free(args);
	free(msg);
	free(sha);
	return rc;
}

/* ---- actions ---- */

static void
ctx_open(struct ctx *c, jv req)
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

/* Finish R: the summed usage; free C and the request. */
static jv
ctx_close(struct ctx *c, jv r)
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

jv
wf_action_commit_push(jv req, jv r)
{
	struct ctx c;
	struct wf_buf report = {0};
	char *branch = NULL, *base = NULL, *message = NULL;
	int bad = 0;
	jv paths;

	ctx_open(&c, req);
	paths = wf_jv_get(c.step, "paths");
	if (need_repo(&c, &r, 1))
		goto out;
	message = step_text(&c, "message", &bad);
	if (bad) {
		r = wf_result_fail(r, 1, "'message': %s", c.err);
		goto out;
	}
	branch = wf_git_current_branch(c.cwd);
	if (!branch) {
		r = wf_result_fail(r, 1, "HEAD is detached: check out a branch to commit to");
		goto out;
	}
	/* Commits go to the run's branch: the one create-pr made, if it made one. */
	if (var_str(&c, "branch") && *var_str(&c, "branch") && strcmp(var_str(&c, "branch"), branch)) {
		r = wf_result_fail(r, 1, "the run's branch is '%s' but '%s' is checked out; switch back (git switch %s), then resume",
			 var_str(&c, "branch"), branch, var_str(&c, "branch"));
		goto out;
	}
	if (!wf_jv_bool(c.step, "allow-base", 0)) {
		if (!(base = base_branch(&c, &r)))
			goto out;
		if (!strcmp(branch, base)) {
			r = wf_result_fail(r, 1, "refusing to commit to the base branch '%s' (open a branch with create-pr first, or set allow-base: true)",
				 base);
			goto out;
		}
	}
	if (!wf_git_branch_name_ok(c.cwd, branch)) {
		r = wf_result_fail(r, WF_EXIT_DATA, "cannot push branch '%.100s': not a valid branch name", branch);
		goto out;
	}
	if (commit_and_push(&c, &r, branch, message, paths, &report)) {
		r = wf_result_fail(r, 1, "%s", c.err);
		goto out;
	}
	r = wf_result_set_var(r, "branch", jv_string(branch));
	r = wf_result_set_output(r, report.s, strlen(report.s));
out:
	jv_free(paths);
	wf_buf_free(&report);
	free(branch);
	free(base);
	free(message);
	return ctx_close(&c, r);
}

static const char *const pr_text_system =
	"You write pull request titles and descriptions.  Answer with one JSON object and nothing "
	"else: {\"title\": a title of at most 72 characters, \"body\": a description in Markdown "
	"that says what changes and why}.";

/* Title and body for a new PR: the step's, else the model's, else from the commits. */
static void
pr_text(struct ctx *c, const char *base, char **title, char **body)
{
	char *range = wf_xasprintf("refs/remotes/origin/%s..HEAD", base);
	char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
	const char *lg[] = { "log", "--no-merges", "--format=- %s", range, NULL };
	const char *st[] = { "diff", "--stat", three, NULL };
	const char *df[] = { "diff", three, NULL };
	char *log = git_text(c, lg);

	if (!**title || !**body) {
		char *stat = git_text(c, st), *diff = git_text(c, df), *cd = clip(diff, DIFF_PROMPT_MAX);
		char *prompt = wf_xasprintf("Write a title and a description for a pull request with these commits:\n%s\n%s\n```diff\n%s```\n",
					    log, stat, cd);
		int code;
		char *answer = ask(c, pr_text_system, prompt, &code);
		char perr[256];
		jv v = answer ? json_in(answer, perr, sizeof perr) : jv_invalid();

		if (jv_is_valid(v)) {
			if (!**title && wf_jv_str(v, "title") && *wf_jv_str(v, "title")) {
				free(*title);
				*title = wf_xstrndup(wf_jv_str(v, "title"), strcspn(wf_jv_str(v, "title"), "\n"));
			}
			if (!**body && wf_jv_str(v, "body")) {
				free(*body);
				*body = wf_xstrdup(wf_jv_str(v, "body"));
			}
		} else {
			wf_warn("step '%s': no title and description from the model (%s); using the commits", c->id,
				answer ? perr : c->err);
		}
		jv_free(v);
		free(answer);
		free(stat);
		free(diff);
		free(cd);
		free(prompt);
	}
	if (!**title) {
		const char *one[] = { "log", "-1", "--format=%s", NULL };

		free(*title);
		*title = wf_git_line(c->cwd, one);
		if (!*title)
			*title = wf_xasprintf("Changes from workflow run %s", c->run_name ? c->run_name : "?");
	}
	if (!**body) {
		free(*body);
		*body = wf_xasprintf("Commits:\n\n%s", log);
	}
	free(log);
	free(range);
	free(three);
}

jv
wf_action_create_pr(jv req, jv r)
{
	struct ctx c;
	char *base = NULL, *cur = NULL, *want = NULL, *title = NULL, *body = NULL, *origin_sha = NULL;
	char *head = NULL, s7[16];
	int bad = 0, created = 0, code, pushed = 0;
	struct wf_buf report = {0};
	jv pr = jv_invalid();

	ctx_open(&c, req);
	if (need_repo(&c, &r, 1))
		goto out;
	if (!(base = base_branch(&c, &r)))
		goto out;
	if (!remote_branch(&c, base, &origin_sha)) {
		r = wf_result_fail(r, WF_EXIT_DATA, "origin has no branch '%s' to open a pull request against", base);
		goto out;
	}
	cur = wf_git_current_branch(c.cwd);
	if (!cur) {
		r = wf_result_fail(r, 1, "HEAD is detached: check out a branch first");
		goto out;
	}
	want = step_text(&c, "branch", &bad);
	if (bad) {
		r = wf_result_fail(r, 1, "'branch': %s", c.err);
		goto out;
	}
	if (!want || !*want) {
		free(want);
		want = !strcmp(cur, base) ? wf_xasprintf("wf/%s", c.run_name ? c.run_name : "run") : wf_xstrdup(cur);
	}
	if (!wf_git_branch_name_ok(c.cwd, want)) {
		r = wf_result_fail(r, WF_EXIT_DATA, "invalid branch name '%.100s' (git check-ref-format refuses it)", want);
		goto out;
	}
	if (!strcmp(want, base)) {
		r = wf_result_fail(r, 1, "the pull request's branch cannot be the base branch '%s'", base);
		goto out;
	}
	if (strcmp(cur, want)) {
		if (switch_to(&c, want, &created)) {
			r = wf_result_fail(r, 1, "%s", c.err);
			goto out;
		}
		r = wf_result_set_effect(r, "created_branch", jv_bool(created));
		wf_buf_printf(&report, "%s branch '%s'; ", created ? "created" : "switched to", want);
		/*
		 * Commits made on the base branch now live on the new branch too;
		 * the local base goes back to origin's, so that it can later be
		 * fast-forwarded to the merged result.  Only when nothing is lost.
		 */
		if (!strcmp(cur, base)) {
			char *lb = wf_xasprintf("refs/heads/%s", base), *lsha = wf_git_rev(c.cwd, lb);
			char *ob = wf_xasprintf("refs/remotes/origin/%s", base);

			if (lsha && strcmp(lsha, origin_sha) && wf_git_is_ancestor(c.cwd, ob, lb) == 1 &&
			    wf_git_is_ancestor(c.cwd, lb, "HEAD") == 1) {
				const char *a[] = { "update-ref", "-m", "wf create-pr: commits moved to the PR branch", lb,
						    origin_sha, lsha, NULL };

				if (git_do(&c, "cannot reset the local base branch", a, NULL, NULL) == 0)
					r = wf_result_set_effect(r, "base_moved_from", jv_string(lsha));
			}
			free(lb);
			free(lsha);
			free(ob);
		}
	}
	r = wf_result_set_var(r, "branch", jv_string(want));
	r = wf_result_set_var(r, "base", jv_string(base));
	r = wf_result_set_effect(r, "branch", jv_string(want));
	/* Nothing committed yet, but work in the tree: commit it (as commit-push would). */
	{
		char *range = wf_xasprintf("refs/remotes/origin/%s..HEAD", base);
		const char *a[] = { "rev-list", "--count", range, NULL };
		char *count = wf_git_line(c.cwd, a);

		if (count && !strcmp(count, "0")) {
			if (wf_git_dirty(c.cwd, 1) == 1) {
				if (commit_and_push(&c, &r, want, NULL, jv_null(), &report)) {
					r = wf_result_fail(r, 1, "%s", c.err);
					free(count);
					free(range);
					goto out;
				}
				wf_buf_addstr(&report, "; ");
			} else {
				r = wf_result_fail(r, 1, "nothing to propose: '%s' has no commits that are not on origin/%s, and no changes to commit",
					 want, base);
				free(count);
				free(range);
				goto out;
			}
		}
		free(count);
		free(range);
	}
	if (push_branch(&c, want, &pushed)) {
		r = wf_result_fail(r, 1, "%s", c.err);
		goto out;
	}
	head = wf_git_rev(c.cwd, "HEAD");
	if (pushed)
		r = wf_result_set_effect(r, "pushed", head ? jv_string(head) : jv_null());
	/* Check before acting: an open PR for the branch is this run's (adopted, never duplicated). */
	{
		const char *a[] = { "find", want, NULL };

		pr = forge(&c, a, NULL, &code);
		if (!jv_is_valid(pr) && code != WF_EXIT_NOINPUT) {
			r = wf_result_fail(r, code, "%s", c.err);
			goto out;
		}
	}
	if (jv_is_valid(pr)) {
		pr = jv_object_set(pr, jv_string("adopted"), jv_true());
	} else {
		const char *a[] = { "create", "--head", want, "--base", base, "--title", NULL, "--body-file", "-",
				    NULL, NULL };
		int draft = wf_jv_bool(c.step, "draft", 0);

		jv_free(pr);
		title = step_text(&c, "title", &bad);
		body = bad ? NULL : step_text(&c, "body", &bad);
		if (bad) {
			r = wf_result_fail(r, 1, "%s", c.err);
			goto out;
		}
		if (!title)
			title = wf_xstrdup("");
		if (!body)
			body = wf_xstrdup("");
		pr_text(&c, base, &title, &body);
		a[6] = title;
		if (draft)
			a[9] = "--draft";
		pr = forge(&c, a, body, &code);
		if (!jv_is_valid(pr)) {
			r = wf_result_fail(r, code, "%s", c.err);
			goto out;
		}
	}
	{
		double n = wf_jv_num(pr, "number", 0);
		const char *url = wf_jv_str(pr, "url");
		int adopted = wf_jv_bool(pr, "adopted", 0);

		r = wf_result_set_var(r, "pr_number", jv_number(n));
		r = wf_result_set_var(r, "pr_url", url ? jv_string(url) : jv_null());
		r = wf_result_set_effect(r, "pr_number", jv_number(n));
		r = wf_result_set_effect(r, "pr_url", url ? jv_string(url) : jv_null());
		r = wf_result_set_effect(r, "adopted", jv_bool(adopted));
		wf_buf_printf(&report, "%s pull request #%ld %s (%s into %s, head %s)",
			      adopted ? "found the open" : "opened", (long)n, url ? url : "", want, base,
			      short_sha(head, s7));
		r = jv_object_set(r, jv_string("pr"), jv_copy(pr));
	}
	r = wf_result_set_output(r, report.s, strlen(report.s));
out:
	jv_free(pr);
	wf_buf_free(&report);
	free(base);
	free(cur);
	free(want);
	free(title);
	free(body);
	free(origin_sha);
	free(head);
	return ctx_close(&c, r);
}

/* ---- review-pr ---- */

static const char *const review_system =
	"You are a careful code reviewer.  Answer with one JSON object and nothing else:\n"
	"{\"approved\": true or false, \"summary\": \"what you found, in a few sentences\", "
	"\"comments\": [{\"path\": \"file path as in the diff\", \"line\": line number in the new "
	"version of the file, \"body\": \"what to change and why\"}]}\n"
	"Approve only when the change is ready to merge as it is; when you ask for changes, say "
	"exactly what to change in the comments.";

static const char *const review_default =
	"Review the pull request below for correctness, clarity, error handling and tests.";

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
 * [{path, line, body}]}; invalid with ERR when it says neither yes nor no.
 */
static jv
verdict_of(const char *text, char *err, size_t errlen)
{
	jv v = json_in(text, err, errlen), out, comments = jv_array(), a, cs;
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

/* Markdown of a verdict for humans: the summary and the comments. */
static char *
verdict_text(jv verdict, int list_comments)
{
	struct wf_buf b = {0};
	jv cs = wf_jv_get(verdict, "comments");

	wf_buf_printf(&b, "**%s**\n\n%s", wf_jv_bool(verdict, "approved", 0) ? "Approved" : "Changes requested",
		      wf_jv_str(verdict, "summary") ? wf_jv_str(verdict, "summary") : "");
	if (list_comments && jv_get_kind(cs) == JV_KIND_ARRAY && jv_array_length(jv_copy(cs)) > 0) {
		wf_buf_addstr(&b, "\n");
		jv_array_foreach(cs, i, x) {
			(void)i;
			wf_buf_printf(&b, "\n- `%s", wf_jv_str(x, "path") ? wf_jv_str(x, "path") : "(general)");
			if (wf_jv_num(x, "line", 0) > 0)
				wf_buf_printf(&b, ":%ld", (long)wf_jv_num(x, "line", 0));
			wf_buf_printf(&b, "`: %s", wf_jv_str(x, "body") ? wf_jv_str(x, "body") : "");
			jv_free(x);
		}
	}
	jv_free(cs);
	return wf_buf_detach(&b);
}

/* Write the JSON V (borrowed) to a new temporary file; its path (malloc'd) or NULL. */
static char *
temp_json(jv v)
{
	const char *dir = getenv("TMPDIR");
	char *path = wf_xasprintf("%s/wf-pr-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	char *text;

	if (fd < 0) {
		free(path);
		return NULL;
	}
	text = wf_json_dump(v);
	if (wf_write_all(fd, text, strlen(text)) < 0) {
		close(fd);
		unlink(path);
		free(path);
		free(text);
		return NULL;
	}
	close(fd);
	free(text);
	return path;
}

jv
wf_action_review_pr(jv req, jv r)
{
	struct ctx c;
	long n;
	char *marker = NULL, *saved = NULL, *instructions = NULL, *post = NULL, num[32];
	int bad = 0, code;
	jv verdict = jv_invalid(), view = jv_invalid(), posted = jv_invalid();
	struct wf_buf saved_text = {0};

	ctx_open(&c, req);
	n = pr_number(&c);
	if (n <= 0) {
		r = wf_result_fail(r, WF_EXIT_DATA, "no pull request to review: vars.pr_number is not set (a create-pr step sets it)");
		goto out;
	}
	snprintf(num, sizeof num, "%ld", n);
	post = wf_xstrdup(wf_jv_str(c.step, "post") ? wf_jv_str(c.step, "post") : "review");
	marker = marker_for(&c);
	saved = saved_path(&c, "review", "json");
	{
		const char *a[] = { "view", num, NULL };

		view = forge(&c, a, NULL, &code);
		if (!jv_is_valid(view)) {
			r = wf_result_fail(r, code, "%s", c.err);
			goto out;
		}
	}
	/* A verdict this execution already got (before a crash) is used again, not asked for again. */
	if (saved && wf_read_file(saved, 1 << 20, &saved_text) == 0 && saved_text.s) {
		char perr[128];

		verdict = wf_json_parse(saved_text.s, saved_text.len, perr, sizeof perr);
		if (!jv_is_valid(verdict) || jv_get_kind(verdict) != JV_KIND_OBJECT) {
			jv_free(verdict);
			verdict = jv_invalid();
		}
	}
	if (!jv_is_valid(verdict)) {
		const char *a[] = { "diff", num, NULL };
		jv d = forge(&c, a, NULL, &code);
		char *diff, *prompt, *answer, perr[512];

		jv_free(verdict);
		if (!jv_is_valid(d)) {
			r = wf_result_fail(r, code, "%s", c.err);
			goto out;
		}
		instructions = step_text(&c, "prompt", &bad);
		if (bad) {
			jv_free(d);
			r = wf_result_fail(r, 1, "'prompt': %s", c.err);
			goto out;
		}
		diff = clip(wf_jv_str(d, "diff") ? wf_jv_str(d, "diff") : "", DIFF_PROMPT_MAX);
		jv_free(d);
		prompt = wf_xasprintf("%s\n\nPull request #%ld: %s\n\n%s\n\nThe diff:\n```diff\n%s```\n",
				      instructions && *instructions ? instructions : review_default, n,
				      wf_jv_str(view, "title") ? wf_jv_str(view, "title") : "",
				      wf_jv_str(view, "body") ? wf_jv_str(view, "body") : "", diff);
		free(diff);
		answer = ask(&c, review_system, prompt, &code);
		free(prompt);
		if (!answer) {
			r = wf_result_fail(r, code, "cannot get a review from the model: %s", c.err);
			goto out;
		}
		verdict = verdict_of(answer, perr, sizeof perr);
		if (!jv_is_valid(verdict)) {
			/* One repair attempt, with what was wrong. */
			char *again = wf_xasprintf("Your review could not be used (%s). It was:\n\n%s\n\nAnswer again with only the JSON object "
						   "{\"approved\": true|false, \"summary\": ..., \"comments\": [{\"path\", \"line\", \"body\"}]}.",
						   perr, answer);
			char *answer2 = ask(&c, review_system, again, &code);

			free(again);
			jv_free(verdict);
			verdict = answer2 ? verdict_of(answer2, perr, sizeof perr) : jv_invalid();
			free(answer2);
			if (!jv_is_valid(verdict)) {
				r = wf_result_fail(r, 1, "the model's review is not a usable verdict, even when asked again: %s",
					 answer2 || !code ? perr : c.err);
				free(answer);
				goto out;
			}
		}
		free(answer);
		{
			char *t = wf_json_dump(verdict);

			(void)save_file(saved, t);
			free(t);
		}
	}
	/* Post it (unless post: none), once: the marker finds an earlier post of this execution. */
	if (strcmp(post, "none")) {
		char *text = verdict_text(verdict, !strcmp(post, "comment"));

		if (!strcmp(post, "comment")) {
			const char *a[] = { "comment", num, "--body-file", "-", "--marker", marker, NULL };

			posted = forge(&c, a, text, &code);
		} else {
			jv cs = wf_jv_get(verdict, "comments");
			char *file = temp_json(cs);
			const char *a[] = { "review", num, "--event",
					    wf_jv_bool(verdict, "approved", 0) ? "approve" : "request-changes",
					    "--body-file", "-", "--marker", marker, "--comments-file", file, NULL };

			jv_free(cs);
			if (!file) {
				snprintf(c.err, sizeof c.err, "cannot write a temporary file: %s", strerror(errno));
				code = WF_EXIT_IO;
			} else {
				posted = forge(&c, a, text, &code);
				unlink(file);
				free(file);
			}
		}
		free(text);
		if (!jv_is_valid(posted)) {
			r = wf_result_fail(r, code, "cannot post the review: %s", c.err);
			goto out;
		}
		r = wf_result_set_effect(r, !strcmp(post, "comment") ? "comment_id" : "review_id", wf_jv_get(posted, "id"));
		r = wf_result_set_effect(r, "url", wf_jv_get(posted, "url"));
		r = wf_result_set_effect(r, "existing", jv_bool(wf_jv_bool(posted, "existing", 0)));
	}
	{
		int ok = wf_jv_bool(verdict, "approved", 0);
		jv cs = wf_jv_get(verdict, "comments");
		int ncs = jv_array_length(jv_copy(cs));
		char *line = wf_xasprintf("#%ld %s: %s%s", n, ok ? "approved" : "changes requested",
					  wf_jv_str(verdict, "summary") ? wf_jv_str(verdict, "summary") : "",
					  ncs ? "" : "");
		char *full = ncs ? wf_xasprintf("%s (%d comment%s)", line, ncs, ncs == 1 ? "" : "s") : wf_xstrdup(line);

		r = jv_object_set(r, jv_string("approved"), jv_bool(ok));
		r = wf_result_set_var(r, "approved", jv_bool(ok));
		r = wf_result_set_var(r, "review_comments", cs);
		r = wf_result_set_var(r, "review_summary", wf_jv_get(verdict, "summary"));
		r = wf_result_set_var(r, "reviewed_sha", wf_jv_get(view, "head_sha"));
		r = wf_result_set_effect(r, "approved", jv_bool(ok));
		r = wf_result_set_effect(r, "marker", jv_string(marker));
		r = wf_result_set_output(r, full, strlen(full));
		{
			char *vt = wf_json_dump(verdict), ask_line[64];

			snprintf(ask_line, sizeof ask_line, "Review pull request #%ld.", n);
			r = wf_result_exchange(r, ask_line, vt);
			free(vt);
		}
		free(line);
		free(full);
	}
out:
	jv_free(verdict);
	jv_free(view);
	jv_free(posted);
	wf_buf_free(&saved_text);
	free(marker);
	free(saved);
	free(instructions);
	free(post);
	return ctx_close(&c, r);
}

/* ---- make-changes ---- */

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
apply_patch(struct ctx *c, const char *patch, int check, int reverse)
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
	return git_do(c, "the patch does not apply", args, patch, NULL);
}

/* The review's requests as text for a prompt (and whether there are any). */
static char *
review_requests(struct ctx *c, int *any)
{
	struct wf_buf b = {0};
	jv cs = var_get(c, "review_comments");
	const char *summary = var_str(c, "review_summary");

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
files_for_prompt(struct ctx *c, const char *base)
{
	struct wf_buf b = {0}, names = {0};
	jv cs = var_get(c, "review_comments"), seen = jv_object();
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
		char *t = git_text(c, a);

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
agent_env(struct ctx *c)
{
	jv allowed = wf_jv_get(c->step, "secrets");
	char **env = wf_env_without_secrets(allowed, NULL);

	jv_free(allowed);
	return env;
}

/* A program's path on PATH (or as given, with a '/'); malloc'd or NULL. */
static char *
on_path(const char *prog)
{
	const char *path = getenv("PATH");
	char *dirs, *save = NULL, *found = NULL;

	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? wf_xstrdup(prog) : NULL;
	dirs = wf_xstrdup(path && *path ? path : "/usr/bin:/bin");
	for (char *d = strtok_r(dirs, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char *p = wf_xasprintf("%s/%s", d, prog);

		if (access(p, X_OK) == 0)
			found = p;
		else
			free(p);
	}
	free(dirs);
	return found;
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

/* Run the external coding agent CMD with PROMPT on stdin, in the work tree. */
static jv
run_agent(struct ctx *c, jv r, const char *cmd, const char *prompt)
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
	exe = on_path(argv[0]);
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
		char *st = git_text(c, a);
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

jv
wf_action_make_changes(jv req, jv r)
{
	struct ctx c;
	char *instructions = NULL, *requests = NULL, *agent = NULL, *base = NULL, *saved = NULL;
	char *patch = NULL, *files = NULL, *diff = NULL, *last_error = NULL, *last_patch = NULL;
	int bad = 0, any = 0, max, attempt;
	struct wf_buf saved_text = {0};

	ctx_open(&c, req);
	if (need_repo(&c, &r, 0))
		goto out;
	instructions = step_text(&c, "prompt", &bad);
	agent = bad ? NULL : step_text(&c, "agent", &bad);
	if (bad) {
		r = wf_result_fail(r, 1, "%s", c.err);
		goto out;
	}
	if ((!agent || !*agent) && getenv("WF_CODING_AGENT") && *getenv("WF_CODING_AGENT")) {
		free(agent);
		agent = wf_xstrdup(getenv("WF_CODING_AGENT"));
	}
	requests = review_requests(&c, &any);
	if (!(instructions && *instructions) && (var_bool(&c, "approved") == 1 || !any)) {
		const char *o = var_bool(&c, "approved") == 1 ? "nothing to change: the last review approved the pull request"
							      : "nothing to change: no review comments and no prompt";

		r = wf_result_set_output(r, o, strlen(o));
		r = wf_result_set_effect(r, "patch", jv_null());
		goto out;
	}
	{
		/* The base, when one can be found, shows the branch's diff; without it the prompt is shorter. */
		jv scratch = jv_object();

		base = base_branch(&c, &scratch);
		jv_free(scratch);
	}
	{
		struct wf_buf p = {0};

		wf_buf_printf(&p, "Change the code to address the review below.\n\n");
		if (instructions && *instructions)
			wf_buf_printf(&p, "Instructions:\n%s\n\n", instructions);
		wf_buf_addstr(&p, requests);
		free(instructions);
		instructions = wf_buf_detach(&p);
	}
	if (agent && *agent) {
		r = run_agent(&c, r, agent, instructions);
		goto out;
	}
	/* A patch this execution already applied (before a crash) is not asked for again. */
	saved = saved_path(&c, "patch", "diff");
	if (saved && wf_read_file(saved, 8 << 20, &saved_text) == 0 && saved_text.s && saved_text.len &&
	    apply_patch(&c, saved_text.s, 1, 1) == 0) {
		char *fl = patch_files(saved_text.s);
		char *o = wf_xasprintf("the patch of an earlier try is already applied (%s)", fl);

		r = wf_result_set_output(r, o, strlen(o));
		r = wf_result_set_effect(r, "patch", jv_string(saved));
		r = wf_result_set_effect(r, "files", jv_string(fl));
		free(fl);
		free(o);
		goto out;
	}
	files = files_for_prompt(&c, base);
	if (base) {
		char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
		const char *a[] = { "diff", three, NULL };
		char *d = git_text(&c, a);

		diff = clip(d, DIFF_PROMPT_MAX);
		free(d);
		free(three);
	}
	max = (int)wf_jv_num(c.step, "max-attempts", 3);
	if (max < 1)
		max = 1;
	for (attempt = 1; attempt <= max; attempt++) {
		struct wf_buf p = {0};
		char *answer;
		int code;

		wf_buf_addstr(&p, instructions);
		if (diff && *diff)
			wf_buf_printf(&p, "\nThe pull request's changes so far:\n```diff\n%s```\n", diff);
		if (*files)
			wf_buf_printf(&p, "\nThe files as they are now:\n%s", files);
		if (last_error)
			wf_buf_printf(&p, "\nYour previous patch could not be applied:\n%s\n\nThat patch was:\n```diff\n%s```\n"
				      "Answer with a corrected patch against the files as they are now.\n",
				      last_error, last_patch ? last_patch : "(none)");
		answer = ask(&c, patch_system, p.s, &code);
		wf_buf_free(&p);
		if (!answer) {
			r = wf_result_fail(r, code, "cannot get changes from the model: %s", c.err);
			goto out;
		}
		free(patch);
		patch = patch_in(answer);
		free(answer);
		free(last_error);
		last_error = NULL;
		if (!patch) {
			last_error = wf_xstrdup("the answer holds no unified diff");
		} else if (apply_patch(&c, patch, 1, 0) != 0) {
			last_error = wf_xstrdup(c.err);
		} else {
			/* Saved before it is applied: a crash after this point finds it. */
			(void)save_file(saved, patch);
			if (apply_patch(&c, patch, 0, 0) != 0) {
				last_error = wf_xstrdup(c.err);
			} else {
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
		}
		wf_warn("step '%s': attempt %d of %d: %s", c.id, attempt, max, last_error);
		free(last_patch);
		last_patch = patch;
		patch = NULL;
	}
	r = wf_result_fail(r, 1, "the model's patch did not apply after %d attempt%s (%s); the work tree is unchanged", max,
		 max == 1 ? "" : "s", last_error ? last_error : "?");
	r = wf_result_set_effect(r, "attempts", jv_number(max));
out:
	wf_buf_free(&saved_text);
	free(instructions);
	free(requests);
	free(agent);
	free(base);
	free(saved);
	free(patch);
	free(files);
	free(diff);
	free(last_error);
	free(last_patch);
	return ctx_close(&c, r);
}

/* ---- self-review ---- */

static const char *const self_review_default =
	"Write a self-review comment for this pull request: summarise what changed and why, how "
	"the review comments were addressed, and what a human reviewer should look at.";

jv
wf_action_self_review(jv req, jv r)
{
	struct ctx c;
	long n;
	char *marker = NULL, *base = NULL, *instructions = NULL, *text = NULL, num[32];
	int bad = 0, code;
	jv posted = jv_invalid(), all = jv_invalid();
	struct wf_buf body = {0};

	ctx_open(&c, req);
	n = pr_number(&c);
	if (n <= 0) {
		r = wf_result_fail(r, WF_EXIT_DATA, "no pull request to comment on: vars.pr_number is not set (a create-pr step sets it)");
		goto out;
	}
	if (need_repo(&c, &r, 0))
		goto out;
	snprintf(num, sizeof num, "%ld", n);
	marker = marker_for(&c);
	/* Check before asking the model: this execution's comment may be there already. */
	{
		const char *a[] = { "comments", num, NULL };
		char *line = wf_xasprintf("<!-- %s -->", marker);

		all = forge(&c, a, NULL, &code);
		if (jv_is_valid(all) && jv_get_kind(all) != JV_KIND_ARRAY) {
			jv_free(all);
			all = jv_invalid();
			code = WF_EXIT_SOFTWARE;
			snprintf(c.err, sizeof c.err, "wf-pr comments did not answer with a list");
		}
		if (!jv_is_valid(all)) {
			free(line);
			r = wf_result_fail(r, code, "%s", c.err);
			goto out;
		}
		jv_array_foreach(all, i, x) {
			(void)i;
			if (!jv_is_valid(posted) && wf_jv_str(x, "body") && strstr(wf_jv_str(x, "body"), line))
				posted = jv_object_set(jv_copy(x), jv_string("existing"), jv_true());
			jv_free(x);
		}
		free(line);
	}
	if (!jv_is_valid(posted)) {
		jv scratch = jv_object();
		char *lg = NULL, *stat = NULL, *diff = NULL;

		base = base_branch(&c, &scratch);
		jv_free(scratch);
		if (base) {
			char *range = wf_xasprintf("refs/remotes/origin/%s..HEAD", base);
			char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
			const char *a1[] = { "log", "--no-merges", "--format=- %h %s", range, NULL };
			const char *a2[] = { "diff", "--stat", three, NULL };
			const char *a3[] = { "diff", three, NULL };
			char *d;

			lg = git_text(&c, a1);
			stat = git_text(&c, a2);
			d = git_text(&c, a3);
			diff = clip(d, DIFF_PROMPT_MAX);
			free(d);
			free(range);
			free(three);
		}
		instructions = step_text(&c, "prompt", &bad);
		if (bad) {
			r = wf_result_fail(r, 1, "'prompt': %s", c.err);
			free(lg);
			free(stat);
			free(diff);
			goto out;
		}
		{
			const char *summary = var_str(&c, "review_summary");
			char *prompt = wf_xasprintf("%s\n\nCommits:\n%s\n%s\n%s%s%s\nThe diff:\n```diff\n%s```\n",
						    instructions && *instructions ? instructions : self_review_default,
						    lg ? lg : "", stat ? stat : "",
						    summary ? "The last review said: " : "", summary ? summary : "",
						    summary ? "\n" : "", diff ? diff : "");

			text = ask(&c, NULL, prompt, &code);
			free(prompt);
			if (!text)
				wf_warn("step '%s': no self-review from the model (%s); posting the list of changes", c.id, c.err);
		}
		for (size_t k; lg && (k = strlen(lg)) && lg[k - 1] == '\n';)
			lg[k - 1] = '\0';
		wf_buf_printf(&body, "### Self-review\n\n%s", text && *text ? text : "What this pull request changes:");
		if (lg && *lg)
			wf_buf_printf(&body, "\n\n**Commits**\n\n%s", lg);
		if (stat && *stat)
			wf_buf_printf(&body, "\n\n```\n%s```", stat);
		free(lg);
		free(stat);
		free(diff);
		{
			const char *a[] = { "comment", num, "--body-file", "-", "--marker", marker, NULL };

			posted = forge(&c, a, body.s, &code);
			if (!jv_is_valid(posted)) {
				r = wf_result_fail(r, code, "cannot post the self-review: %s", c.err);
				goto out;
			}
		}
	}
	r = wf_result_set_effect(r, "comment_id", wf_jv_get(posted, "id"));
	r = wf_result_set_effect(r, "url", wf_jv_get(posted, "url"));
	r = wf_result_set_effect(r, "existing", jv_bool(wf_jv_bool(posted, "existing", 0)));
	r = wf_result_set_effect(r, "marker", jv_string(marker));
	{
		char *o = wf_xasprintf("%s the self-review on #%ld: %s", wf_jv_bool(posted, "existing", 0) ? "found" : "posted", n,
				       wf_jv_str(posted, "url") ? wf_jv_str(posted, "url") : "");

		r = wf_result_set_output(r, o, strlen(o));
		free(o);
	}
out:
	jv_free(posted);
	jv_free(all);
	wf_buf_free(&body);
	free(marker);
	free(base);
	free(instructions);
	free(text);
	return ctx_close(&c, r);
}

/* ---- merge-pr ---- */

jv
wf_action_merge_pr(jv req, jv r)
{
	struct ctx c;
	long n;
	const char *method;
	const char *sha;
	char num[32], s7[16];
	int code;
	jv m = jv_invalid();

	ctx_open(&c, req);
	n = pr_number(&c);
	method = wf_jv_str(c.step, "method") ? wf_jv_str(c.step, "method") : "merge";
	if (n <= 0) {
		r = wf_result_fail(r, WF_EXIT_DATA, "no pull request to merge: vars.pr_number is not set (a create-pr step sets it)");
		goto out;
	}
	snprintf(num, sizeof num, "%ld", n);
	if (wf_jv_bool(c.step, "require-approval", 1) && var_bool(&c, "approved") != 1) {
		r = wf_result_fail(r, 1, "refusing to merge pull request #%ld: the last review did not approve it (set require-approval: false to merge anyway)",
			 n);
		goto out;
	}
	/* Merge what was reviewed: the head the approving review saw, when known. */
	sha = wf_jv_bool(c.step, "require-approval", 1) ? var_str(&c, "reviewed_sha") : NULL;
	{
		const char *a[12];
		int k = 0;

		a[k++] = "merge";
		a[k++] = num;
		a[k++] = "--method";
		a[k++] = method;
		if (sha && *sha) {
			a[k++] = "--sha";
			a[k++] = sha;
		}
		if (wf_jv_bool(c.step, "delete-branch", 0))
			a[k++] = "--delete-branch";
		a[k] = NULL;
		m = forge(&c, a, NULL, &code);
	}
	if (!jv_is_valid(m)) {
		r = wf_result_fail(r, code, "%s", c.err);
		goto out;
	}
	{
		int already = wf_jv_bool(m, "already", 0);
		char *o = already ? wf_xasprintf("pull request #%ld was already merged (%s)", n, short_sha(wf_jv_str(m, "sha"), s7))
				  : wf_xasprintf("merged pull request #%ld (%s) as %s", n, method, short_sha(wf_jv_str(m, "sha"), s7));

		r = wf_result_set_var(r, "pr_merged", jv_true());
		r = wf_result_set_var(r, "merge_sha", wf_jv_get(m, "sha"));
		r = wf_result_set_effect(r, "merged", jv_true());
		r = wf_result_set_effect(r, "already", jv_bool(already));
		r = wf_result_set_effect(r, "sha", wf_jv_get(m, "sha"));
		{
			jv bd = wf_jv_get(m, "branch_deleted");

			if (jv_get_kind(bd) != JV_KIND_NULL)
				r = wf_result_set_effect(r, "branch_deleted", bd);
			else
				jv_free(bd);
		}
		r = wf_result_set_output(r, o, strlen(o));
		free(o);
	}
out:
	jv_free(m);
	return ctx_close(&c, r);
}

/* ---- sync ---- */

jv
wf_action_sync(jv req, jv r)
{
	struct ctx c;
	char *base = NULL, *branch = NULL, *origin_sha = NULL, *head = NULL, *ob = NULL, s7[16];
	int merged, dirty;

	ctx_open(&c, req);
	if (need_repo(&c, &r, 1))
		goto out;
	if (!(base = base_branch(&c, &r)))
		goto out;
	{
		const char *a[] = { "fetch", "--quiet", "origin", NULL };

		if (git_do(&c, "cannot fetch from origin", a, NULL, NULL)) {
			r = wf_result_fail(r, WF_EXIT_UNAVAILABLE, "%s", c.err);
			goto out;
		}
	}
	ob = wf_xasprintf("refs/remotes/origin/%s", base);
	origin_sha = wf_git_rev(c.cwd, ob);
	if (!origin_sha) {
		r = wf_result_fail(r, WF_EXIT_DATA, "origin has no branch '%s'", base);
		goto out;
	}
	branch = wf_git_current_branch(c.cwd);
	if (!branch) {
		r = wf_result_fail(r, 1, "HEAD is detached: check out a branch first");
		goto out;
	}
	dirty = wf_git_dirty(c.cwd, 0);
	if (dirty != 0) {
		char *msg = wf_xasprintf("sync: the work tree has uncommitted changes; nothing was touched. Commit them (a commit-push step) or stash them, then 'wf resume %s'",
					 c.run_name ? c.run_name : "RUN");

		r = wait_for_human(r, "dirty", msg);
		free(msg);
		goto out;
	}
	merged = var_bool(&c, "pr_merged") == 1;
	r = wf_result_set_effect(r, "base", jv_string(base));
	r = wf_result_set_effect(r, "fetched", jv_string(origin_sha));
	if (merged || !strcmp(branch, base)) {
		/* The PR is in: back to the base branch, fast-forwarded to origin's. */
		char *lb = wf_xasprintf("refs/heads/%s", base), *lsha = wf_git_rev(c.cwd, lb);
		int rc;

		if (strcmp(branch, base)) {
			if (lsha) {
				const char *a[] = { "switch", "--quiet", "--end-of-options", base, NULL };

				rc = git_do(&c, "cannot switch to the base branch", a, NULL, NULL);
			} else {
				const char *a[] = { "switch", "--quiet", "--create", base, "--track", ob, NULL };

				rc = git_do(&c, "cannot create the base branch", a, NULL, NULL);
			}
			if (rc) {
				r = wf_result_fail(r, 1, "%s", c.err);
				free(lb);
				free(lsha);
				goto out;
			}
			r = wf_result_set_effect(r, "switched_to", jv_string(base));
		}
		{
			const char *a[] = { "merge", "--ff-only", "--quiet", ob, NULL };

			if (git_do(&c, "cannot fast-forward", a, NULL, NULL)) {
				char *msg = wf_xasprintf("sync: local '%s' has commits that are not on origin/%s, so it cannot be fast-forwarded; nothing was changed. Merge or rebase it yourself (git pull), then 'wf resume %s'",
							 base, base, c.run_name ? c.run_name : "RUN");

				r = wait_for_human(r, "diverged", msg);
				free(msg);
				free(lb);
				free(lsha);
				goto out;
			}
		}
		head = wf_git_rev(c.cwd, "HEAD");
		r = wf_result_set_effect(r, "head", head ? jv_string(head) : jv_null());
		{
			char *o = wf_xasprintf("on '%s' at %s, up to date with origin/%s%s", base, short_sha(head, s7), base,
					       merged && strcmp(branch, base) ? " (the pull request is merged)" : "");

			r = wf_result_set_output(r, o, strlen(o));
			free(o);
		}
		free(lb);
		free(lsha);
		goto out;
	}
	/* A working branch: bring origin's base in by merging (history is never rewritten, nothing is forced). */
	if (wf_git_is_ancestor(c.cwd, ob, "HEAD") == 1) {
		char *o = wf_xasprintf("'%s' already contains origin/%s (%s)", branch, base, short_sha(origin_sha, s7));

		r = wf_result_set_output(r, o, strlen(o));
		free(o);
		goto out;
	}
	{
		char *msg = wf_xasprintf("Merge origin/%s into %s", base, branch);
		const char *a[] = { "merge", "--no-edit", "--quiet", "-m", msg, ob, NULL };
		struct wf_buf err = {0};
		int rc = wf_git_run(c.cwd, a, NULL, 0, NULL, &err);

		free(msg);
		if (rc) {
			const char *mh[] = { "rev-parse", "--quiet", "--verify", "MERGE_HEAD", NULL };
			char *in_merge = wf_git_line(c.cwd, mh);
			char *why = wf_git_error(&err);

			if (in_merge) {
				const char *u[] = { "diff", "--name-only", "--diff-filter=U", NULL };
				const char *ab[] = { "merge", "--abort", NULL };
				char *files = git_text(&c, u), *w;

				for (char *p = files; *p; p++)
					if (*p == '\n')
						*p = p[1] ? ' ' : '\0';
				if (wf_git_run(c.cwd, ab, NULL, 0, NULL, NULL) != 0) {
					r = wf_result_fail(r, 1, "merging origin/%s into '%s' conflicts in %s, and 'git merge --abort' failed: resolve it by hand",
						 base, branch, files);
				} else {
					w = wf_xasprintf("sync: merging origin/%s into '%s' conflicts in: %s. The merge was aborted and nothing changed. "
							 "Resolve it by hand (git merge origin/%s, fix the conflicts, git commit), then 'wf resume %s'",
							 base, branch, files, base, c.run_name ? c.run_name : "RUN");
					r = wait_for_human(r, "conflict", w);
					r = wf_result_set_effect(r, "conflicts", jv_string(files));
					free(w);
				}
				free(files);
				free(in_merge);
			} else {
				char *w = wf_xasprintf("sync: cannot merge origin/%s into '%s': %s; nothing changed. Fix it, then 'wf resume %s'",
						       base, branch, why, c.run_name ? c.run_name : "RUN");

				r = wait_for_human(r, "merge-failed", w);
				free(w);
			}
			free(why);
			wf_buf_free(&err);
			goto out;
		}
		wf_buf_free(&err);
	}
	head = wf_git_rev(c.cwd, "HEAD");
	r = wf_result_set_effect(r, "merged_base", jv_string(origin_sha));
	r = wf_result_set_effect(r, "head", head ? jv_string(head) : jv_null());
	{
		char *o = wf_xasprintf("merged origin/%s (%s) into '%s'; a commit-push step pushes it", base,
				       short_sha(origin_sha, s7), branch);

		r = wf_result_set_output(r, o, strlen(o));
		free(o);
	}
out:
	free(base);
	free(branch);
	free(origin_sha);
	free(head);
	free(ob);
	return ctx_close(&c, r);
}
