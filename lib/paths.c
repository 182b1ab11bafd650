/*
 * paths.c: where wf looks.  Every place wf reads or writes outside the
 * files a user names is found here, once: the directory of the running
 * program (its sibling programs and, in a source tree or an install, the
 * example workflows), the user's configuration directory, the state root,
 * the project a run belongs to and its key under the state root, the
 * project directory of configuration files and the workflow search path.
 *
 * Rules: a wf variable (WF_STATE_DIR, WF_PATH) wins over the XDG one,
 * which wins over $HOME; an empty variable counts as unset.  With neither
 * XDG nor HOME set there is no configuration directory: a configuration
 * is never read from the working directory, which may be a clone of
 * someone else's repository.  Nothing here creates a directory.  Every
 * string returned is malloc'd and the caller frees it.
 *
 * Layer 0: base.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"

#ifndef WF_DATADIR
#define WF_DATADIR "/usr/local/share/wf"
#endif

/* VAR's value, or NULL when unset or empty. */
static const char *
env(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? v : NULL;
}

/* The directory of the running program; NULL when /proc/self/exe cannot be read. */
static char *
own_dir(void)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return wf_xstrdup(exe);
}

/* NAME in directory DIR (consumed; NULL gives NULL). */
static char *
in_dir(char *dir, const char *name)
{
	char *p;

	if (!dir)
		return NULL;
	p = wf_xasprintf("%s/%s", dir, name);
	free(dir);
	return p;
}

char *
wf_own_file(const char *name)
{
	return in_dir(own_dir(), name);
}

char *
wf_sibling_exe(const char *name)
{
	char *p = wf_own_file(name);

	if (p && access(p, X_OK) == 0)
		return p;
	free(p);
	return wf_xstrdup(name);
}

char *
wf_config_dir(void)
{
	const char *x = env("XDG_CONFIG_HOME"), *h = env("HOME");

	if (x)
		return wf_xasprintf("%s/wf", x);
	if (h)
		return wf_xasprintf("%s/.config/wf", h);
	return NULL;
}

char *
wf_config_file(const char *name)
{
	return in_dir(wf_config_dir(), name);
}

char *
wf_state_root(void)
{
	const char *e = env("WF_STATE_DIR"), *x = env("XDG_STATE_HOME"), *h = env("HOME");

	if (e)
		return wf_xstrdup(e);
	if (x)
		return wf_xasprintf("%s/wf", x);
	return wf_xasprintf("%s/.local/state/wf", h ? h : ".");
}

/* 1 when DIR/NAME exists (any kind). */
static int
has_entry(const char *dir, const char *name)
{
	char *p = wf_xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", name);
	struct stat st;
	int hit = stat(p, &st) == 0;

	free(p);
	return hit;
}

char *
wf_project_root(const char *from)
{
	char cwd[PATH_MAX], *dir;

	if (!from) {
		if (!getcwd(cwd, sizeof cwd))
			return NULL;
		from = cwd;
	}
	dir = wf_xstrdup(from);
	for (;;) {
		char *slash;

		if (has_entry(dir, ".git"))
			return dir;
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = '\0';
	}
	free(dir);
	return wf_xstrdup(from);
}

char *
wf_project_key(const char *project)
{
	const char *base = strrchr(project, '/');
	uint64_t h = 14695981039346656037ULL;
	char name[41];
	size_t n = 0;

	for (const unsigned char *p = (const unsigned char *)project; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	base = base && base[1] ? base + 1 : "root";
	for (; *base && n < sizeof name - 1; base++, n++) {
		char c = *base;

		name[n] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '_' || c == '-' || (c == '.' && n) ? c : '_';
	}
	name[n] = '\0';
	return wf_xasprintf("%s-%016llx", name, (unsigned long long)h);
}

char *
wf_project_dir(void)
{
	static const char *const marks[] = { ".wf", "codi-models.yaml", ".git", NULL };
	char cwd[PATH_MAX];

	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	for (;;) {
		char *slash;

		for (int i = 0; marks[i]; i++)
			if (has_entry(cwd, marks[i]))
				return wf_xstrdup(cwd);
		slash = strrchr(cwd, '/');
		if (!slash || slash == cwd)
			return NULL;
		*slash = '\0';
	}
}

static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = wf_xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* Push each directory of the colon-separated LIST (empty entries skipped). */
static void
push_list(char ***v, size_t *n, const char *list)
{
	for (const char *s = list; *s;) {
		const char *c = strchr(s, ':');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		if (len)
			strv_push(v, n, wf_xstrndup(s, len));
		if (!c)
			break;
		s = c + 1;
	}
}

/*
 * The shipped workflows beside the program: installed, bin/../share/wf;
 * in a source tree, bin/ beside workflows/, or a build directory such as
 * build/asan/bin three levels down.  Pushed resolved, without "..";
 * 0 when there are none.
 */
static int
push_shipped(char ***v, size_t *n)
{
	static const char *const rel[] = {
		"../share/wf/workflows", "../workflows", "../../../workflows"
	};
	char *self = own_dir(), real[PATH_MAX];
	int found = 0;

	for (size_t i = 0; self && i < sizeof rel / sizeof *rel && !found; i++) {
		char *cand = wf_xasprintf("%s/%s%s", self, rel[i], i ? "/examples" : "");

		if (realpath(cand, real)) {
			char *slash = i ? strrchr(real, '/') : NULL;

			if (slash)
				*slash = '\0';
			strv_push(v, n, wf_xasprintf("%s/examples", real));
			strv_push(v, n, wf_xasprintf("%s/templates", real));
			found = 1;
		}
		free(cand);
	}
	free(self);
	return found;
}

char **
wf_workflow_search_path(void)
{
	char **v = NULL, *user = wf_config_file("workflows");
	size_t n = 0;
	const char *e = env("WF_PATH"), *home = env("HOME");

	if (e)
		push_list(&v, &n, e);
	strv_push(&v, &n, wf_xstrdup("./workflows"));
	strv_push(&v, &n, wf_xstrdup("./.wf/workflows"));
	if (user)
		strv_push(&v, &n, user);
	if (home)
		strv_push(&v, &n, wf_xasprintf("%s/.codi/workflows", home));
	if (!push_shipped(&v, &n)) {
		strv_push(&v, &n, wf_xstrdup(WF_DATADIR "/workflows/examples"));
		strv_push(&v, &n, wf_xstrdup(WF_DATADIR "/workflows/templates"));
	}
	return v;
}
