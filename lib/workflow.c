/*
 * workflow.c: finding workflow files and loading one.  A name is looked
 * up along the search path (WF_PATH, ./workflows, ./.wf/workflows, the
 * user's configuration, ~/.codi/workflows, then the examples and
 * templates shipped beside the programs), by file stem first, then by
 * its name: field; a link out of its directory is never followed.
 * Custom actions (wf-action-NAME) are found beside the workflow or on
 * PATH.  Loading reads the file and hands it to workflow_check.c.
 *
 * Rules: the library never prints; problems go to a struct wf_diag or
 * an error buffer with the exit status to use.
 *
 * Layer 2: domain data.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"
#include "template.h"
#include "yaml_load.h"

/* May step STEP (borrowed) run again when in doubt? */
int
wf_step_repeatable(jv step)
{
	/* Every built-in class may repeat; idempotent: false on the step says otherwise. */
	return wf_jv_bool(step, "idempotent", 1);
}

/* Does step STEP (borrowed) give a verdict that on-approved/on-rejected follow? */
int
wf_step_gives_verdict(jv step)
{
	const char *a = wf_jv_str(step, "action"), *kind = wf_jv_str(step, "kind");
	const struct wf_action *as = wf_action_get(a);

	if (!a)
		return 0;
	if (!as)
		return 1;	/* a custom action may answer "approved" */
	if (!strcmp(a, "interactive"))
		return !kind || !strcmp(kind, "confirm");
	/* An ai-prompt that asks a quorum of models counts their verdicts. */
	if (!strcmp(a, "ai-prompt") && jv_object_has(jv_copy(step), jv_string("models")))
		return 1;
	return (as->flags & WF_ACTION_VERDICT) != 0;
}

/*
 * Find the workflow ARG names and load it, printing what went wrong on
 * stderr: 0 with *WF the canonical workflow (the caller owns it), or the
 * exit status (66, 65, 74) with *WF invalid.
 */
/* The caller owns the workflow returned. */
jv
wf_workflow_stdin(int *code, char *err, size_t n)
{
	char why[1024];
	jv wf = wf_json_read_fd(0, (size_t)64 << 20, why, sizeof why);

	*code = WF_EXIT_DATA;
	if (!jv_is_valid(wf)) {
		snprintf(err, n, "standard input: %s", why);
		return wf;
	}
	/* Something else altogether gets a hint; a workflow with a fault, the fault. */
	if (jv_get_kind(wf) != JV_KIND_OBJECT ||
	    (!jv_object_has(jv_copy(wf), jv_string("steps")) && !jv_object_has(jv_copy(wf), jv_string("hash")))) {
		snprintf(err, n, "standard input: not a canonical workflow (give it wf-parse's output: 'wf-parse FILE | ...')");
		jv_free(wf);
		return jv_invalid();
	}
	/* The schema wf-parse checks YAML with, on the JSON. */
	if (wf_workflow_check_json(wf, err, n)) {
		jv_free(wf);
		return jv_invalid();
	}
	*code = 0;
	return wf;
}

/* As wf_workflow_load, with the file's sha256 as "hash" only when HASH; the caller owns the result. */
static jv
load_file(const char *file, struct wf_diag *diag, int *code, int hash)
{
	struct wf_buf b = {0};
	jv wf;
	int rc;

	if (!strcmp(file, "-"))
		rc = wf_read_fd(0, WF_YAML_MAX_BYTES, &b);
	else
		rc = wf_read_file(file, WF_YAML_MAX_BYTES, &b);
	if (rc < 0) {
		if (errno == EFBIG) {
			wf_diag_add(diag, file, 1, 1, "file is over the 1 MiB (%d byte) limit", WF_YAML_MAX_BYTES);
			*code = WF_EXIT_DATA;
		} else if (errno == EISDIR) {
			wf_diag_add(diag, file, 0, 0, "is a directory, not a workflow file");
			*code = WF_EXIT_NOINPUT;
		} else {
			wf_diag_add(diag, file, 0, 0, "cannot read: %s", strerror(errno));
			*code = errno == ENOENT || errno == EACCES ? WF_EXIT_NOINPUT : WF_EXIT_IO;
		}
		wf_buf_free(&b);
		return jv_invalid();
	}
	wf = hash ? wf_workflow_parse(b.s, b.len, file, diag) : wf_workflow_parse_unhashed(b.s, b.len, file, diag);
	wf_buf_free(&b);
	*code = jv_is_valid(wf) ? 0 : WF_EXIT_DATA;
	return wf;
}

/* As wf_workflow_open, with HASH passed to load_file; *WF: the caller owns it. */
static int
open_workflow(const char *arg, jv *wf, int hash)
{
	struct wf_diag diag = {0};
	char err[1024];
	int code = 0;
	char *path = wf_workflow_find(arg, &code, err, sizeof err);

	*wf = jv_invalid();
	if (!path) {
		wf_warn("%s", err);
		return code;
	}
	*wf = load_file(path, &diag, &code, hash);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	free(path);
	return jv_is_valid(*wf) ? 0 : code ? code : WF_EXIT_DATA;
}

/* *WF: the caller owns it. */
int
wf_workflow_open(const char *arg, jv *wf)
{
	return open_workflow(arg, wf, 1);
}

int
wf_workflow_validate(const char *arg, int *steps)
{
	jv wf;
	int rc = open_workflow(arg, &wf, 0);

	*steps = rc ? 0 : jv_array_length(wf_jv_get(wf, "steps"));
	jv_free(wf);
	return rc;
}

/* Read FILE and parse it; returns ownership of the canonical workflow (invalid after problems in DIAG, *CODE set). */
jv
wf_workflow_load(const char *file, struct wf_diag *diag, int *code)
{
	return load_file(file, diag, code, 1);
}

/* Index of step ID in WF (borrowed), or -1. */
int
wf_workflow_step_index(jv wf, const char *id)
{
	jv steps = wf_jv_get(wf, "steps");
	int n = jv_get_kind(steps) == JV_KIND_ARRAY ? jv_array_length(jv_copy(steps)) : 0;
	int found = -1;

	for (int i = 0; i < n && found < 0; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *sid = wf_jv_str(s, "id");

		if (sid && !strcmp(sid, id))
			found = i;
		jv_free(s);
	}
	jv_free(steps);
	return found;
}

static int
is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *
wf_action_find(const char *name, const char *workflow_file)
{
	char *p;

	if (!wf_name_valid(name))
		return NULL;
	if (workflow_file && strcmp(workflow_file, "-")) {
		const char *slash = strrchr(workflow_file, '/');

		if (slash)
			p = wf_xasprintf("%.*s/actions/wf-action-%s",
					 (int)(slash - workflow_file), workflow_file, name);
		else
			p = wf_xasprintf("actions/wf-action-%s", name);
		if (is_exec_file(p))
			return p;
		free(p);
	}
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	const char *s = path;
	while (*s) {
		const char *e = strchr(s, ':');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		p = wf_xasprintf("%.*s/wf-action-%s", (int)(n ? n : 1), n ? s : ".", name);
		if (is_exec_file(p))
			return p;
		free(p);
		s += n + (e ? 1 : 0);
		if (!e)
			break;
	}
	return NULL;
}

/* Is the regular file at PATH inside directory DIR once links are resolved? */
static int
inside_dir(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	size_t n;

	struct stat st;

	/* A FIFO or a device would block or never end: only regular files. */
	if (!realpath(path, rp) || !realpath(dir, rd) || stat(rp, &st) < 0 || !S_ISREG(st.st_mode))
		return 0;
	n = strlen(rd);
	return !strncmp(rp, rd, n) && rp[n] == '/' && !strchr(rp + n + 1, '/');
}

static int
is_yaml_name(const char *s)
{
	size_t n = strlen(s);

	return (n > 5 && !strcmp(s + n - 5, ".yaml")) || (n > 4 && !strcmp(s + n - 4, ".yml"));
}

/* The length of file name FN (a YAML file's) without its .yaml or .yml. */
static int
stem_len(const char *fn)
{
	size_t n = strlen(fn);

	return (int)(n - (fn[n - 1] == 'l' ? 5 : 4));
}

/* The name: field of the workflow file at PATH, malloc'd, or NULL. */
static char *
name_field(const char *path)
{
	struct wf_buf b = {0};
	struct wf_diag d = {0};
	jv doc, pos = jv_null();	/* set by wf_yaml_load; a file that cannot be read leaves it null */
	char *name = NULL;

	if (wf_read_file(path, WF_YAML_MAX_BYTES, &b) == 0 &&
	    wf_yaml_load(b.s, b.len, path, &doc, &pos, &d) == 0) {
		const char *s = wf_jv_str(doc, "name");

		if (s)
			name = wf_xstrdup(s);
		jv_free(doc);
	}
	jv_free(pos);
	wf_diag_free(&d);
	wf_buf_free(&b);
	return name;
}

/*
 * The string of NAMES (an array, borrowed) nearest to WORD, if near enough
 * to be a slip of the keyboard (at most two edits, and at most half of
 * WORD); borrowed from NAMES, or NULL.
 */
const char *
wf_workflow_nearest(const char *word, jv names)
{
	const char *best = NULL;
	size_t len = strlen(word);
	int bestd = 3;

	jv_array_foreach(names, i, n) {
		const char *s = jv_string_value(n);
		int d = wf_edit_distance(word, s);

		(void)i;
		if (d > 0 && d < bestd && (size_t)d * 2 <= len) {
			bestd = d;
			/* NAMES holds N, so its text outlives this loop. */
			best = s;
		}
		jv_free(n);
	}
	return best;
}

char *
wf_workflow_find(const char *arg, int *code, char *err, size_t errlen)
{
	char **dirs = wf_workflow_search_path();
	char *found = wf_workflow_find_in(arg, dirs, code, err, errlen);

	wf_strv_free(dirs);
	return found;
}

/* wf_workflow_find over the directories DIRS (NULL-terminated, borrowed). */
char *
wf_workflow_find_in(const char *arg, char **dirs, int *code, char *err, size_t errlen)
{
	char *found = NULL, *escaped = NULL;
	struct stat st;
	jv seen;

	if (!strcmp(arg, "-"))
		return wf_xstrdup(arg);
	if (strchr(arg, '/') || is_yaml_name(arg)) {
		if (stat(arg, &st) < 0) {
			snprintf(err, errlen, "cannot open '%s': %s", arg, strerror(errno));
			*code = WF_EXIT_NOINPUT;
			return NULL;
		}
		return wf_xstrdup(arg);
	}
	if (!wf_name_valid(arg)) {
		snprintf(err, errlen, "invalid workflow name '%.80s%s': use letters, digits, '.', '_' and '-' (at most 128), or give a path to a file",
			 arg, strlen(arg) > 80 ? "..." : "");
		*code = WF_EXIT_DATA;
		return NULL;
	}
	seen = jv_array();	/* the stems and names passed over, for a suggestion */
	/* File stem first, in search order. */
	for (char **d = dirs; *d && !found; d++) {
		static const char *const ext[] = { ".yaml", ".yml" };

		for (int i = 0; i < 2 && !found; i++) {
			char *p = wf_xasprintf("%s/%s%s", *d, arg, ext[i]);

			if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
				free(p);
			} else if (!inside_dir(p, *d)) {
				/* A link out of its directory is never followed. */
				if (!escaped)
					escaped = p;
				else
					free(p);
			} else {
				found = p;
			}
		}
	}
	/* Then the name: field, each directory in file-name order. */
	for (char **d = dirs; *d && !found; d++) {
		struct dirent **ents = NULL;
		int n = scandir(*d, &ents, NULL, alphasort);

		for (int i = 0; i < n; i++) {
			const char *fn = ents[i]->d_name;

			if (!found && fn[0] != '.' && is_yaml_name(fn)) {
				char *p = wf_xasprintf("%s/%s", *d, fn), *name = NULL;
				int inside = inside_dir(p, *d);

				if (inside)
					name = name_field(p);
				if (name && !strcmp(name, arg)) {
					found = p;
				} else {
					free(p);
					/* Only a file that would be found is worth suggesting. */
					if (inside)
						seen = jv_array_append(seen, jv_string_sized(fn, stem_len(fn)));
					if (name)
						seen = jv_array_append(seen, jv_string(name));
				}
				free(name);
			}
			free(ents[i]);
		}
		free(ents);
	}
	if (!found && escaped) {
		snprintf(err, errlen, "no workflow named '%s': '%.200s' points outside its directory and is ignored",
			 arg, escaped);
		*code = WF_EXIT_NOINPUT;
	} else if (!found && wf_workflow_nearest(arg, seen)) {
		snprintf(err, errlen, "no workflow named '%s'; did you mean '%s'? (see 'wf list')", arg,
			 wf_workflow_nearest(arg, seen));
		*code = WF_EXIT_NOINPUT;
	} else if (!found) {
		snprintf(err, errlen, "no workflow named '%s' (looked for %s.yaml and a 'name: %s' along the search path; see 'wf list')",
			 arg, arg, arg);
		*code = WF_EXIT_NOINPUT;
	}
	jv_free(seen);
	free(escaped);
	return found;
}

/* Every workflow file along the search path, as an array the caller owns. */
jv
wf_workflow_list(void)
{
	char **dirs = wf_workflow_search_path();
	jv out = wf_workflow_list_in(dirs);

	wf_strv_free(dirs);
	return out;
}

/* Every workflow file in DIRS (borrowed), as an array the caller owns. */
jv
wf_workflow_list_in(char **dirs)
{
	jv out = jv_array(), seen = jv_object();

	for (char **d = dirs; *d; d++) {
		struct dirent **ents = NULL;
		int n = scandir(*d, &ents, NULL, alphasort);

		for (int i = 0; i < n; i++) {
			const char *fn = ents[i]->d_name;
			char *p;

			if (fn[0] == '.' || !is_yaml_name(fn)) {
				free(ents[i]);
				continue;
			}
			p = wf_xasprintf("%s/%s", *d, fn);
			if (inside_dir(p, *d)) {
				struct wf_diag diag = {0};
				int code = 0;
				jv wf = wf_workflow_load(p, &diag, &code);
				jv e = jv_object();
				char *stem = wf_xstrndup(fn, (size_t)stem_len(fn));
				const char *name = jv_is_valid(wf) ? wf_jv_str(wf, "name") : NULL;
				char *fname = name ? wf_xstrdup(name) : name_field(p);

				if (!fname)
					fname = wf_xstrdup(stem);
				e = jv_object_set(e, jv_string("name"), jv_string(fname));
				e = jv_object_set(e, jv_string("path"), jv_string(p));
				if (jv_is_valid(wf)) {
					e = jv_object_set(e, jv_string("description"), wf_jv_get(wf, "description"));
					e = jv_object_set(e, jv_string("steps"),
						jv_number(jv_array_length(wf_jv_get(wf, "steps"))));
					e = jv_object_set(e, jv_string("error"), jv_null());
				} else {
					e = jv_object_set(e, jv_string("description"), jv_string(""));
					e = jv_object_set(e, jv_string("steps"), jv_null());
					e = jv_object_set(e, jv_string("error"),
						jv_string(diag.n ? diag.msgs[0] : "invalid"));
				}
				e = jv_object_set(e, jv_string("shadowed"),
					jv_bool(jv_object_has(jv_copy(seen), jv_string(fname))));
				seen = jv_object_set(seen, jv_string(fname), jv_true());
				out = jv_array_append(out, e);
				jv_free(wf);
				wf_diag_free(&diag);
				free(stem);
				free(fname);
			} else {
				/* Listed, not hidden: a dangling link, or one out of its directory. */
				char rp[PATH_MAX];
				jv e = jv_object();
				char *stem = wf_xstrndup(fn, (size_t)stem_len(fn));
				struct stat st;
				char *msg = !realpath(p, rp)
					? wf_xasprintf("%s: cannot read: %s", p, strerror(errno))
					: stat(rp, &st) == 0 && !S_ISREG(st.st_mode)
					? wf_xasprintf("%s: not a regular file; ignored", p)
					: wf_xasprintf("%s: points outside its directory and is ignored", p);

				e = jv_object_set(e, jv_string("name"), jv_string(stem));
				e = jv_object_set(e, jv_string("path"), jv_string(p));
				e = jv_object_set(e, jv_string("description"), jv_string(""));
				e = jv_object_set(e, jv_string("steps"), jv_null());
				e = jv_object_set(e, jv_string("error"), jv_string(msg));
				e = jv_object_set(e, jv_string("shadowed"),
					jv_bool(jv_object_has(jv_copy(seen), jv_string(stem))));
				out = jv_array_append(out, e);
				free(msg);
				free(stem);
			}
			free(p);
			free(ents[i]);
		}
		free(ents);
	}
	jv_free(seen);
	return out;
}
