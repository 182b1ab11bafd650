/*
 * step.c: running one step (wf-step(1)).  A step request comes in as
 * JSON; the action runs; a step result goes out.  Shell commands get the
 * workflow's variables in their environment, never in their text, run in
 * their own process group, and have their output captured to files (with
 * secrets masked) and optionally echoed.  The other actions live one
 * family to a file (ai.c, ask.c, pr*.c); results are built with
 * result.c's helpers, and every result is masked before it leaves.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"
#include "outlog.h"

#define OUTPUT_VAR_MAX (1024 * 1024)

/* ---- capture of a command's output ---- */

struct capture {
	int log;		/* the run's steps/output.log, once the step prints */
	long seq;		/* the execution, as its frames name it */
	int echo[3];		/* where to echo each stream, or -1 */
	struct wf_buf out;	/* stdout, up to OUTPUT_VAR_MAX */
	struct wf_buf err;	/* stderr, up to WF_OUTPUT_EXCERPT */
	int truncated;
	struct wf_redactor mask[3];	/* each stream masked on its way to deliver() */
	int io_error;
	size_t printed;		/* bytes echoed to the terminal */
	char *path;		/* the log, or NULL outside a run */
	int wrote[3];		/* the stream has frames in the log */
};

struct sinkctx {
	struct capture *cap;
	int stream;
};

static void
deliver(void *vctx, const char *p, size_t n)
{
	struct sinkctx *s = vctx;
	struct capture *c = s->cap;

	/* The run's one log, opened when the step first prints: no file per step (outlog.h). */
	if (c->log < 0 && c->path && !c->io_error) {
		c->log = open(c->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (c->log < 0)
			c->io_error = errno;
	}
	if (c->log >= 0 && !c->io_error) {
		if (wf_outlog_append(c->log, c->seq, s->stream == 1 ? "out" : "err", p, n) < 0)
			c->io_error = errno;
		else
			c->wrote[s->stream] = 1;
	}
	if (c->echo[s->stream] >= 0 && wf_write_all(c->echo[s->stream], p, n) == 0)
		c->printed += n;
	if (s->stream == 1) {
		size_t room = OUTPUT_VAR_MAX - c->out.len;

		if (n > room) {
			n = room;
			c->truncated = 1;
		}
		wf_buf_add(&c->out, p, n);
	} else if (s->stream == 2 && c->err.len < WF_OUTPUT_EXCERPT) {
		/* What a failing compiler or test runner said, for the next step's prompt. */
		wf_buf_add(&c->err, p, n > WF_OUTPUT_EXCERPT - c->err.len ? WF_OUTPUT_EXCERPT - c->err.len : n);
	}
}

static struct sinkctx sink_ctx[3];

static void
sink(void *vctx, int stream, const char *buf, size_t n)
{
	struct capture *c = vctx;

	(void)wf_redactor_write(&c->mask[stream], buf, n);
}

/* Trim trailing newlines and spaces of S in place. */
static void
rtrim(struct wf_buf *b)
{
	while (b->len && isspace((unsigned char)b->s[b->len - 1]))
		b->s[--b->len] = '\0';
}

/* Substitute ${...} in the step's text field KEY; NULL (and a failed *R) in strict mode.  REQ borrowed, *R consumed and replaced. */
static char *
field_text(jv req, jv *r, const char *key)
{
	char err[512];
	int bad = 0;
	char *out = wf_step_text(req, key, &bad, err, sizeof err);

	if (bad)
		*r = wf_result_fail(*r, 1, "'%s': %s", key, err);
	return out;
}

/* Is NAME usable as a shell variable name? */
static int
shell_name(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

static void
env_put(char ***env, size_t *n, const char *name, const char *value)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < *n; i++)
		if (!strncmp((*env)[i], name, len) && (*env)[i][len] == '=') {
			free((*env)[i]);
			(*env)[i] = wf_xasprintf("%s=%s", name, value);
			return;
		}
	*env = wf_xrealloc(*env, (*n + 2) * sizeof **env);
	(*env)[(*n)++] = wf_xasprintf("%s=%s", name, value);
	(*env)[*n] = NULL;
}

/* Set the env: mapping MAP (consumed; values substituted from REQ) in ENV. */
static void
put_env_map(char ***env, size_t *n, jv map, jv req, const char *id)
{
	if (jv_get_kind(map) == JV_KIND_OBJECT)
		jv_object_foreach(map, k, v) {
			const char *name = jv_string_value(k);
			char *raw = wf_jv_text(v), err[256];
			char *val = wf_subst(raw, req, 0, NULL, err, sizeof err);

			if (shell_name(name) && !wf_env_name_reserved(name) && val)
				env_put(env, n, name, val);
			else if (!shell_name(name) || wf_env_name_reserved(name))
				wf_warn("step '%s': not setting environment variable '%s'", id ? id : "?", name);
			free(raw);
			free(val);
			jv_free(k);
			jv_free(v);
		}
	jv_free(map);
}

/*
 * The environment of a shell step: ours, minus secrets the step did not
 * ask for, plus the workflow's variables (as NAME and WF_VAR_NAME), plus
 * the step's env:, plus WF_RUN_NAME, WF_RUN_DIR and WF_STEP_ID.  REQ
 * borrowed.
 */
static char **
step_env(jv req)
{
	jv step = wf_jv_get(req, "step"), vars = wf_jv_get(req, "vars"), run = wf_jv_get(req, "run");
	jv allowed = wf_jv_get(step, "secrets");
	char **env = wf_env_without_secrets(allowed, NULL);
	size_t n = 0;

	while (env[n])
		n++;
	if (jv_get_kind(vars) == JV_KIND_OBJECT)
		jv_object_foreach(vars, k, v) {
			const char *name = jv_string_value(k);
			char *val = wf_jv_text(v);

			if (shell_name(name)) {
				char *wfname = wf_xasprintf("WF_VAR_%s", name);

				if (!wf_env_name_reserved(name) && !wf_secret_name(name))
					env_put(&env, &n, name, val);
				env_put(&env, &n, wfname, val);
				free(wfname);
			}
			free(val);
			jv_free(k);
			jv_free(v);
		}
	/* The workflow's env:, then the step's own. */
	put_env_map(&env, &n, wf_jv_get(run, "env"), req, wf_jv_str(step, "id"));
	put_env_map(&env, &n, wf_jv_get(step, "env"), req, wf_jv_str(step, "id"));
	if (wf_jv_str(run, "name"))
		env_put(&env, &n, "WF_RUN_NAME", wf_jv_str(run, "name"));
	if (wf_jv_str(run, "dir"))
		env_put(&env, &n, "WF_RUN_DIR", wf_jv_str(run, "dir"));
	if (wf_jv_str(step, "id"))
		env_put(&env, &n, "WF_STEP_ID", wf_jv_str(step, "id"));
	jv_free(step);
	jv_free(vars);
	jv_free(run);
	jv_free(allowed);
	return env;
}

/* The run's output log, or NULL outside a run.  RUN borrowed. */
static char *
output_path(jv run)
{
	const char *dir = wf_jv_str(run, "dir");

	return dir ? wf_xasprintf("%s/steps/%s", dir, WF_OUTLOG_NAME) : NULL;
}

static int
mask_out(void *ctx, const char *p, size_t n)
{
	deliver(ctx, p, n);
	return 0;
}

/*
 * Run ARGV with the step's environment, capturing output.  On return R
 * holds status, exit_code, output and files; *STDOUT_TEXT gets the raw
 * stdout.  REQ borrowed; R consumed and returned.
 */
static jv
run_captured(jv req, jv r, char *const argv[], char **env, const char *input, size_t inlen,
	     int echo_stdout, struct wf_buf *stdout_text)
{
	jv step = wf_jv_get(req, "step"), run = wf_jv_get(req, "run");
	struct capture cap = { .log = -1, .echo = { -1, -1, -1 } };
	struct wf_io_opts o = { .pgrp = 1, .stop = &wf_stop, .sink = sink, .ctx = &cap };
	struct wf_child c;
	int status = 0, rc;
	const char *cwd = wf_jv_str(run, "cwd");
	double t0 = wf_now_ms();

	cap.path = output_path(run);
	cap.seq = (long)wf_jv_num(run, "seq", 0);
	if (!wf_jv_bool(run, "quiet", 0)) {
		double efd = wf_jv_num(run, "echo_fd", -1);

		cap.echo[1] = efd >= 0 && echo_stdout ? (int)efd : -1;
		cap.echo[2] = 2;
	}
	for (int s = 1; s <= 2; s++) {
		sink_ctx[s].cap = &cap;
		sink_ctx[s].stream = s;
		cap.mask[s].out = mask_out;
		cap.mask[s].ctx = &sink_ctx[s];
	}
	o.timeout_s = wf_jv_num(step, "timeout", 0);
	if (wf_spawn(argv, env, cwd, WF_SPAWN_OUT | WF_SPAWN_ERR | WF_SPAWN_PGRP |
		     (input ? WF_SPAWN_IN : WF_SPAWN_NULL_IN), NULL, &c) < 0) {
		r = wf_result_fail(r, 127, "cannot run '%s': %s", argv[0], strerror(errno));
		goto out;
	}
	rc = wf_communicate(&c, input, inlen, &o, &status);
	for (int s = 1; s <= 2; s++)
		(void)wf_redactor_flush(&cap.mask[s]);
	r = jv_object_set(r, jv_string("exit_code"), jv_number(wf_exit_code(status)));
	if (rc == WF_COMM_TIMEOUT) {
		r = wf_result_fail(r, 124, "timed out after %gs; the step's processes were stopped",
				o.timeout_s);
		r = jv_object_set(r, jv_string("timed_out"), jv_true());
	} else if (rc == WF_COMM_STOPPED)
		r = wf_result_fail(r, wf_exit_code(status), "interrupted");
	else if (wf_exit_code(status) != 0)
		r = wf_result_fail(r, wf_exit_code(status), "exited with status %d", wf_exit_code(status));
	if (rc == WF_COMM_STOPPED)
		r = jv_object_set(r, jv_string("interrupted"), jv_true());
	/*
	 * The command ran: a file we could not save does not undo it.  The
	 * result stands (its output travels in it) and says what was not saved.
	 */
	if (cap.io_error)
		r = jv_object_set(r, jv_string("output_error"),
				  jv_string_fmt("cannot save its output under '%s/steps': %s",
						wf_jv_str(run, "dir"), strerror(cap.io_error)));
out:
	if (cap.log >= 0 && close(cap.log) < 0 && !cap.io_error)
		r = jv_object_set(r, jv_string("output_error"),
				  jv_string_fmt("cannot save its output in '%s': %s", cap.path, strerror(errno)));
	for (int s = 1; s <= 2; s++)
		wf_buf_free(&cap.mask[s].pending);	/* after a failed spawn */
	{
		/* Where each stream's frames are (wf-json(7)). */
		jv files = jv_object();

		if (cap.path && cap.wrote[1])
			files = jv_object_set(files, jv_string("stdout"), jv_string(cap.path));
		if (cap.path && cap.wrote[2])
			files = jv_object_set(files, jv_string("stderr"), jv_string(cap.path));
		r = jv_object_set(r, jv_string("files"), files);
	}
	free(cap.path);
	rtrim(&cap.out);
	if (!cap.out.s)
		wf_buf_addstr(&cap.out, "");
	r = wf_result_set_output(r, cap.out.s, cap.out.len);
	if (cap.truncated)
		r = jv_object_set(r, jv_string("output_truncated"), jv_true());
	rtrim(&cap.err);
	/* Masked as it streamed, and once more as a whole with the result. */
	r = jv_object_set(r, jv_string("stderr"), jv_string(cap.err.s ? cap.err.s : ""));
	wf_buf_free(&cap.err);
	r = jv_object_set(r, jv_string("duration_ms"), jv_number((double)(long)(wf_now_ms() - t0)));
	r = jv_object_set(r, jv_string("printed"), jv_number((double)cap.printed));
	*stdout_text = cap.out;
	jv_free(step);
	jv_free(run);
	return r;
}

/*
 * A command the shell would run as one plain program with plain words
 * (no quotes, expansions, redirections, operators, assignments or shell
 * builtins) is run directly, which is what /bin/sh would do after one
 * more program start.  Returns the words, NULL-terminated, or NULL.
 */
static char **
plain_words(const char *cmd, char **env)
{
	static const char *const builtins[] = {
		"alias", "bg", "break", "cd", "command", "continue", "eval", "exec", "exit",
		"export", "false", "fc", "fg", "getopts", "hash", "jobs", "kill", "local",
		"printf", "pwd", "read", "readonly", "return", "set", "shift", "test", "times",
		"trap", "true", "type", "ulimit", "umask", "unalias", "unset", "wait", "echo",
		"if", "then", "else", "elif", "fi", "case", "esac", "for", "while", "until",
		"do", "done", "function", "select", "time", "[", ".", ":", "!", "{", "}", NULL
	};
	char **words = NULL, *copy, *save = NULL;
	size_t n = 0;

	if (!*cmd)
		return NULL;
	for (const char *p = cmd; *p; p++)
		if (!(isalnum((unsigned char)*p) || strchr(" _./:,+@%-", *p)))
			return NULL;
	copy = wf_xstrdup(cmd);
	for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		words = wf_xrealloc(words, (n + 2) * sizeof *words);
		words[n++] = wf_xstrdup(w);
		words[n] = NULL;
	}
	free(copy);
	if (!words)
		return NULL;
	for (int i = 0; builtins[i]; i++)
		if (!strcmp(words[0], builtins[i]))
			goto no;
	if (!strchr(words[0], '/')) {
		/* Resolve it on the step's PATH now; anything unusual goes to the shell. */
		const char *path = NULL;

		for (char **e = env; *e; e++)
			if (!strncmp(*e, "PATH=", 5))
				path = *e + 5;
		if (!path)
			goto no;
		char *dirs = wf_xstrdup(path), *dsave = NULL, *found = NULL;
		for (char *d = strtok_r(dirs, ":", &dsave); d && !found; d = strtok_r(NULL, ":", &dsave)) {
			char *c = wf_xasprintf("%s/%s", d, words[0]);

			if (*d == '/' && access(c, X_OK) == 0)
				found = c;
			else
				free(c);
		}
		free(dirs);
		if (!found)
			goto no;
		free(words[0]);
		words[0] = found;
	} else if (access(words[0], X_OK) != 0) {
		goto no;
	}
	return words;
no:
	wf_strv_free(words);
	return NULL;
}

/* The shell action.  REQ borrowed; R consumed and returned. */
static jv
do_shell(jv req, jv r)
{
	jv step = wf_jv_get(req, "step");
	const char *cmd = wf_jv_str(step, "command");
	char *shell_argv[] = { (char *)"/bin/sh", (char *)"-c", (char *)(cmd ? cmd : ""), NULL };
	char **env = step_env(req);
	char **words = plain_words(cmd ? cmd : "", env);
	struct wf_buf out = {0};
	const char *ovar = wf_jv_str(step, "output");

	r = run_captured(req, r, words ? words : shell_argv, env, NULL, 0, 1, &out);
	wf_strv_free(words);
	/* A failing command's output is set too: a fix step needs the log of what failed. */
	if (ovar && !wf_jv_bool(r, "interrupted", 0))
		r = wf_result_set_var(r, ovar, jv_string_sized(out.s ? out.s : "", (int)out.len));
	wf_buf_free(&out);
	wf_strv_free(env);
	jv_free(step);
	jv_free(req);
	return r;
}

/* The load-variable action.  REQ borrowed; R consumed and returned. */
static jv
do_load_variable(jv req, jv r)
{
	jv run = wf_jv_get(req, "run");
	char *from = field_text(req, &r, "from");
	char *name = field_text(req, &r, "name");
	struct wf_buf b = {0};
	const char *cwd = wf_jv_str(run, "cwd");
	char *path;

	if (!from || !name)
		goto out;
	path = from[0] == '/' || !cwd ? wf_xstrdup(from) : wf_xasprintf("%s/%s", cwd, from);
	if (wf_read_file(path, OUTPUT_VAR_MAX, &b) < 0) {
		if (errno == EFBIG)
			r = wf_result_fail(r, 1, "cannot load '%s': larger than 1 MiB", from);
		else
			r = wf_result_fail(r, 1, "cannot load '%s': %s", from, strerror(errno));
	} else {
		size_t s = 0;

		rtrim(&b);
		while (s < b.len && isspace((unsigned char)b.s[s]))
			s++;
		r = wf_result_set_var(r, name, jv_string_sized(b.s + s, (int)(b.len - s)));
		r = wf_result_set_output(r, b.s + s, b.len - s);
	}
	free(path);
out:
	wf_buf_free(&b);
	free(from);
	free(name);
	jv_free(run);
	jv_free(req);
	return r;
}

/* The set-variable action.  REQ borrowed; R consumed and returned. */
static jv
do_set_variable(jv req, jv r)
{
	char *name = field_text(req, &r, "name");
	char *value = field_text(req, &r, "value");

	if (name && value) {
		r = wf_result_set_var(r, name, jv_string(value));
		r = jv_object_set(r, jv_string("output"), jv_string(value));
	}
	free(name);
	free(value);
	jv_free(req);
	return r;
}

/* A custom action: wf-action-NAME gets the request on stdin and answers with a result.  REQ borrowed; R consumed and returned. */
static jv
do_custom(jv req, jv r, const char *action)
{
	jv run = wf_jv_get(req, "run");
	char *exe = wf_action_find(action, wf_jv_str(run, "source"));
	char *input, err[512];
	struct wf_buf out = {0};
	jv answer;

	if (!exe) {
		r = wf_result_fail(r, 127, "unknown action '%s': no executable 'wf-action-%s' in actions/ beside the workflow or on PATH",
				action, action);
		jv_free(run);
		return r;
	}
	char *argv[] = { exe, NULL };
	char **env = step_env(req);
	input = wf_json_dump(req);
	r = run_captured(req, r, argv, env, input, strlen(input), 0, &out);
	free(input);
	wf_strv_free(env);
	if (wf_jv_bool(r, "interrupted", 0) ||
	    (!strcmp(wf_jv_str(r, "status"), "failed") && wf_jv_num(r, "exit_code", 0) == 124)) {
		free(exe);
		wf_buf_free(&out);
		jv_free(run);
		return r;
	}
	answer = wf_json_parse(out.s ? out.s : "", out.len, err, sizeof err);
	if (!jv_is_valid(answer) || jv_get_kind(answer) != JV_KIND_OBJECT ||
	    !wf_jv_str(answer, "status") ||
	    (strcmp(wf_jv_str(answer, "status"), "ok") && strcmp(wf_jv_str(answer, "status"), "failed") &&
	     strcmp(wf_jv_str(answer, "status"), "waiting"))) {
		int code = (int)wf_jv_num(r, "exit_code", 0);

		r = wf_result_fail(r, code ? code : 1,
				"custom action '%s' (%s) did not answer with a result JSON object with \"status\" ok, failed or waiting%s%s",
				action, exe, jv_is_valid(answer) ? "" : ": ", jv_is_valid(answer) ? "" : err);
	} else {
		/* Take what the action says, keeping our id and timing. */
		static const char *const keys[] = { "status", "exit_code", "output", "vars", "error",
						    "approved", "verdict", "model", "usage", NULL };

		for (int i = 0; keys[i]; i++)
			if (jv_object_has(jv_copy(answer), jv_string(keys[i])))
				r = jv_object_set(r, jv_string(keys[i]), wf_jv_get(answer, keys[i]));
		jv vars = wf_jv_get(r, "vars");
		if (jv_get_kind(vars) != JV_KIND_OBJECT)
			r = jv_object_set(r, jv_string("vars"), jv_object());
		jv_free(vars);
		if (!strcmp(wf_jv_str(r, "status"), "failed") && wf_jv_num(r, "exit_code", 0) == 0)
			r = jv_object_set(r, jv_string("exit_code"), jv_number(1));
	}
	jv_free(answer);
	free(exe);
	wf_buf_free(&out);
	jv_free(run);
	return r;
}

/*
 * What wf-step runs for each built-in action of the table (action.c),
 * indexed the same way: each takes the request (consumed) and the result
 * so far (consumed) and returns the result.  NULL for the actions the
 * driver decides itself (WF_ACTION_DRIVER: loop, conditional).
 */
static jv (*const runners[WF_ACT_COUNT])(jv req, jv r) = {
	[WF_ACT_SHELL] = do_shell,
	[WF_ACT_AI_PROMPT] = wf_action_ai_prompt,
	[WF_ACT_SWITCH_MODEL] = wf_action_switch_model,
	[WF_ACT_INTERACTIVE] = wf_action_interactive,
	[WF_ACT_LOAD_VARIABLE] = do_load_variable,
	[WF_ACT_SET_VARIABLE] = do_set_variable,
	[WF_ACT_CREATE_PR] = wf_action_create_pr,
	[WF_ACT_REVIEW_PR] = wf_action_review_pr,
	[WF_ACT_MAKE_CHANGES] = wf_action_make_changes,
	[WF_ACT_COMMIT_PUSH] = wf_action_commit_push,
	[WF_ACT_SELF_REVIEW] = wf_action_self_review,
	[WF_ACT_MERGE_PR] = wf_action_merge_pr,
	[WF_ACT_SYNC] = wf_action_sync,
};

int
wf_step_runs(enum wf_action_id id)
{
	return id >= 0 && id < WF_ACT_COUNT && runners[id];
}

/* REQ consumed; the caller owns the result. */
jv
wf_step_execute(jv req)
{
	jv step = wf_jv_get(req, "step");
	const char *a = wf_jv_str(step, "action");
	char *action = wf_xstrdup(a ? a : "");
	enum wf_action_id id = wf_action_lookup(action);
	jv r = wf_result_new(req);
	char now[32];

	if (wf_step_runs(id))
		r = runners[id](jv_copy(req), r);
	else if (id == WF_ACT_CUSTOM)
		r = do_custom(req, r, action);
	else
		r = wf_result_fail(r, 70, "action '%s' cannot run in wf-step", action);
	wf_now_iso(now);
	r = jv_object_set(r, jv_string("ended"), jv_string(now));
	/* Nothing that leaves this process may carry a secret, in any form. */
	r = wf_secret_mask_jv(r);
	free(action);
	jv_free(step);
	jv_free(req);
	return r;
}
