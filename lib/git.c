/*
 * git.c: git as a program.  Every call is an argument vector handed to
 * execve, never a command line for a shell; values that come from a
 * workflow or a model (branch names, paths, messages) travel as single
 * arguments after "--end-of-options" or "--", or on standard input, so
 * none can be read as an option.  git gets no terminal prompts, C
 * messages (we read some of them), no editor, a timeout, and our
 * environment minus the secrets that are not git's business.
 *
 * Layer 1: formats and channels.
 * It calls only layer 0 (util.c, proc.c, secret.c).
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf_priv.h"

volatile int *wf_git_stop;

/* The git program: $WF_GIT, else the first "git" on PATH.  Malloc'd, or NULL. */
static char *
git_path(void)
{
	const char *env = getenv("WF_GIT");
	const char *path = getenv("PATH");

	if (env && *env)
		return access(env, X_OK) == 0 ? wf_xstrdup(env) : NULL;
	return wf_find_program("git", path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
}

/*
 * git's environment: ours, minus secret variables (model keys have no
 * business in git hooks) except the forge token a credential helper may
 * use, plus settings that keep git from waiting for a human.
 */
static char **
git_env(void)
{
	static const char *const add[] = { "GIT_TERMINAL_PROMPT=0", "LC_ALL=C", "GIT_EDITOR=:",
					   "GIT_MERGE_AUTOEDIT=no", "GIT_PAGER=cat", NULL };
	static const char *const drop[] = { "GIT_TERMINAL_PROMPT", "LC_ALL", "GIT_EDITOR",
					    "GIT_MERGE_AUTOEDIT", "GIT_PAGER", "LANGUAGE", NULL };
	jv keep = jv_array_append(jv_array_append(jv_array(), jv_string("GH_TOKEN")), jv_string("GITHUB_TOKEN"));
	char **env = wf_env_without_secrets(keep, drop);
	size_t n = 0;

	jv_free(keep);
	while (env[n])
		n++;
	env = wf_xrealloc(env, (n + 6) * sizeof *env);
	for (int i = 0; add[i]; i++)
		env[n++] = wf_xstrdup(add[i]);
	env[n] = NULL;
	return env;
}

static double
git_timeout(void)
{
	const char *s = getenv("WF_GIT_TIMEOUT");
	long v;

	if (s && *s && wf_parse_long(s, 1, 86400, &v) == 0)
		return (double)v;
	return 600;
}

/* stdout and stderr each into their own buffer. */
struct two_bufs {
	struct wf_buf *out, *err;
};

static void
sink_two(void *ctx, int stream, const char *buf, size_t n)
{
	struct two_bufs *t = ctx;
	struct wf_buf *b = stream == 1 ? t->out : t->err;

	if (b && b->len < ((size_t)64 << 20))
		wf_buf_add(b, buf, n);
}

int
wf_git_run(const char *cwd, const char *const args[], const char *input, size_t inlen,
	   struct wf_buf *out, struct wf_buf *err)
{
	struct wf_buf tout = {0}, terr = {0};
	struct two_bufs t = { out ? out : &tout, err ? err : &terr };
	struct wf_io_opts o = { .timeout_s = git_timeout(), .pgrp = 1, .stop = wf_git_stop, .sink = sink_two, .ctx = &t };
	struct wf_child c;
	char *exe = git_path(), **env, **argv;
	size_t n = 0;
	int status = 0, rc;

	wf_buf_addstr(t.out, "");
	wf_buf_addstr(t.err, "");
	if (!exe) {
		wf_buf_addstr(t.err, "git is not installed (no 'git' on PATH)");
		wf_buf_free(&tout);
		wf_buf_free(&terr);
		return 127;
	}
	while (args[n])
		n++;
	argv = wf_xcalloc(n + 2, sizeof *argv);
	argv[0] = exe;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = (char *)args[i];
	env = git_env();
	/* Its own process group (git starts helpers), so that one kill reaches them all. */
	if (wf_spawn(argv, env, cwd, WF_SPAWN_OUT | WF_SPAWN_ERR | WF_SPAWN_PGRP |
		     (input ? WF_SPAWN_IN : WF_SPAWN_NULL_IN), NULL, &c) < 0) {
		wf_buf_printf(t.err, "cannot run '%s'%s%s: %s", exe, cwd ? " in " : "", cwd ? cwd : "",
			      strerror(errno));
		rc = errno == ENOENT && cwd && access(cwd, F_OK) < 0 ? 66 : 127;
	} else {
		rc = wf_communicate(&c, input, input ? inlen : 0, &o, &status);
		if (rc == WF_COMM_TIMEOUT) {
			wf_buf_printf(t.err, "%sgit %s: timed out after %g s (WF_GIT_TIMEOUT)",
				      t.err->len ? "\n" : "", args[0], o.timeout_s);
			rc = 124;
		} else if (rc == WF_COMM_STOPPED) {
			rc = 130;
		} else {
			rc = wf_exit_code(status);
			/*
			 * Killed, git said nothing: its status is what happened.  Its
			 * hooks and helpers, in its group, are not waited for by it
			 * any more: they die with it.
			 */
			if (WIFSIGNALED(status)) {
				wf_buf_printf(t.err, "%sgit %s exited with status %d", t.err->len ? "\n" : "",
					      args[0], rc);
				(void)wf_pgroup_stop(c.pid, 2);
			}
		}
	}
	wf_strv_free(env);
	free(argv);
	free(exe);
	wf_buf_free(&tout);
	wf_buf_free(&terr);
	return rc;
}

/* Trim trailing white space of B in place. */
static void
rtrim(struct wf_buf *b)
{
	while (b->len && isspace((unsigned char)b->s[b->len - 1]))
		b->s[--b->len] = '\0';
}

char *
wf_git_line(const char *cwd, const char *const args[])
{
	struct wf_buf out = {0};
	char *nl;

	if (wf_git_run(cwd, args, NULL, 0, &out, NULL) != 0) {
		wf_buf_free(&out);
		return NULL;
	}
	nl = strchr(out.s, '\n');
	if (nl)
		*nl = '\0';
	out.len = strlen(out.s);
	rtrim(&out);
	if (!out.len) {
		wf_buf_free(&out);
		return NULL;
	}
	return wf_buf_detach(&out);
}

char *
wf_git_error(const struct wf_buf *err)
{
	struct wf_buf b = {0};
	const char *p = err && err->s ? err->s : "";

	/* The lines that say what went wrong, not git's progress chatter or hints. */
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
			n--;
		if (n && strncmp(p, "hint:", 5) && strncmp(p, "remote: ", 8) && strncmp(p, "To ", 3) &&
		    strncmp(p, "From ", 5) && b.len < 2000) {
			const char *s = p;

			if (!strncmp(s, "fatal: ", 7))
				s += 7, n -= 7;
			else if (!strncmp(s, "error: ", 7))
				s += 7, n -= 7;
			if (b.len)
				wf_buf_addstr(&b, "; ");
			wf_buf_add(&b, s, n);
		}
		p = nl ? nl + 1 : p + strlen(p);
	}
	if (!b.len)
		wf_buf_addstr(&b, "git failed");
	return wf_buf_detach(&b);
}

int
wf_git_branch_name_ok(const char *cwd, const char *name)
{
	char *ref;
	int rc;

	if (!name || !*name || name[0] == '-' || strlen(name) > 200)
		return 0;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ' || *p == '\\')
			return 0;
	/* "refs/heads/" first: the argument can never look like an option. */
	ref = wf_xasprintf("refs/heads/%s", name);
	{
		const char *args[] = { "check-ref-format", ref, NULL };

		rc = wf_git_run(cwd, args, NULL, 0, NULL, NULL);
	}
	free(ref);
	return rc == 0;
}

char *
wf_git_toplevel(const char *cwd)
{
	const char *args[] = { "rev-parse", "--show-toplevel", NULL };

	return wf_git_line(cwd, args);
}

char *
wf_git_current_branch(const char *cwd)
{
	const char *args[] = { "symbolic-ref", "--quiet", "--short", "HEAD", NULL };

	return wf_git_line(cwd, args);
}

char *
wf_git_rev(const char *cwd, const char *rev)
{
	char *spec = wf_xasprintf("%s^{commit}", rev);
	const char *args[] = { "rev-parse", "--verify", "--quiet", "--end-of-options", spec, NULL };
	char *r = wf_git_line(cwd, args);

	free(spec);
	return r;
}

char *
wf_git_remote_url(const char *cwd, const char *remote)
{
	const char *args[] = { "remote", "get-url", "--", remote, NULL };

	return wf_git_line(cwd, args);
}

int
wf_git_dirty(const char *cwd, int untracked)
{
	const char *args[] = { "status", "--porcelain", untracked ? "--untracked-files=all" : "--untracked-files=no",
			       NULL };
	struct wf_buf out = {0};
	int rc = wf_git_run(cwd, args, NULL, 0, &out, NULL);

	rc = rc != 0 ? -1 : out.len > 0;
	wf_buf_free(&out);
	return rc;
}

int
wf_git_is_ancestor(const char *cwd, const char *a, const char *b)
{
	const char *args[] = { "merge-base", "--is-ancestor", "--end-of-options", a, b, NULL };
	int rc = wf_git_run(cwd, args, NULL, 0, NULL, NULL);

	return rc == 0 ? 1 : rc == 1 ? 0 : -1;
}

/* Is S a usable owner or repository name ([A-Za-z0-9._-], not . or ..)? */
static int
slug_ok(const char *s, size_t n)
{
	if (n == 0 || n > 100 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	return 1;
}

int
wf_git_parse_slug(const char *slug, char **owner, char **repo)
{
	const char *slash = slug ? strchr(slug, '/') : NULL;
	size_t n;

	*owner = *repo = NULL;
	if (!slash || strchr(slash + 1, '/'))
		return -1;
	n = strlen(slash + 1);
	if (n > 4 && !strcmp(slash + 1 + n - 4, ".git"))
		n -= 4;
	if (!slug_ok(slug, (size_t)(slash - slug)) || !slug_ok(slash + 1, n))
		return -1;
	*owner = wf_xstrndup(slug, (size_t)(slash - slug));
	*repo = wf_xstrndup(slash + 1, n);
	return 0;
}

int
wf_git_parse_remote(const char *url, char **owner, char **repo)
{
	const char *path = NULL, *p;
	char *copy, *last, *prev;
	size_t n;
	int rc;

	*owner = *repo = NULL;
	if (!url || !*url)
		return -1;
	if ((p = strstr(url, "://"))) {
		/* https://host/OWNER/REPO(.git), ssh://git@host:22/OWNER/REPO.git */
		path = strchr(p + 3, '/');
	} else if (url[0] != '/' && url[0] != '.' && (p = strchr(url, ':')) && !memchr(url, '/', (size_t)(p - url))) {
		/* scp-like: git@host:OWNER/REPO.git */
		path = p + 1;
	}
	if (!path)
		return -1;
	copy = wf_xstrdup(path);
	n = strlen(copy);
	while (n && copy[n - 1] == '/')
		copy[--n] = '\0';
	if (n > 4 && !strcmp(copy + n - 4, ".git"))
		copy[n - 4] = '\0';
	last = strrchr(copy, '/');
	if (!last) {
		free(copy);
		return -1;
	}
	*last = '\0';
	prev = strrchr(copy, '/');
	prev = prev ? prev + 1 : copy;
	{
		char *slug = wf_xasprintf("%s/%s", prev, last + 1);

		rc = wf_git_parse_slug(slug, owner, repo);
		free(slug);
	}
	free(copy);
	return rc;
}

char *
wf_git_default_base(const char *cwd, const char *remote)
{
	char *ref = wf_xasprintf("refs/remotes/%s/HEAD", remote), *b;
	const char *args[] = { "symbolic-ref", "--quiet", "--short", ref, NULL };

	b = wf_git_line(cwd, args);
	free(ref);
	if (b) {
		/* "origin/main" */
		size_t k = strlen(remote);

		if (!strncmp(b, remote, k) && b[k] == '/') {
			char *r = wf_xstrdup(b + k + 1);

			free(b);
			return r;
		}
		free(b);
	}
	/* Ask the remote which branch its HEAD names. */
	{
		const char *args2[] = { "ls-remote", "--symref", "--", remote, "HEAD", NULL };
		struct wf_buf out = {0};

		if (wf_git_run(cwd, args2, NULL, 0, &out, NULL) == 0 && !strncmp(out.s, "ref: refs/heads/", 16)) {
			char *s = out.s + 16, *e = s;

			while (*e && *e != '\t' && *e != '\n' && *e != ' ')
				e++;
			if (e > s) {
				char *r = wf_xstrndup(s, (size_t)(e - s));

				wf_buf_free(&out);
				return r;
			}
		}
		wf_buf_free(&out);
	}
	/* The usual names, as the remote-tracking branches show them. */
	{
		static const char *const names[] = { "main", "master", "trunk", NULL };

		for (int i = 0; names[i]; i++) {
			char *t = wf_xasprintf("refs/remotes/%s/%s", remote, names[i]);
			char *sha = wf_git_rev(cwd, t);

			free(t);
			if (sha) {
				free(sha);
				return wf_xstrdup(names[i]);
			}
		}
	}
	return NULL;
}
