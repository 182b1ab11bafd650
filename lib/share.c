/*
 * share.c: a workflow and what it calls as one bundle (wf export).  A
 * bundle is one JSON document (wf-json(7) "Bundle"):
 *
 *   {"format":"wf-bundle/1", "workflow":NAME, "created":TIME,
 *    "files":[{"path","kind","mode","size","sha256","encoding","content"}],
 *    "requires":[{"action"|"workflow", "step", "in", "found"?}]}
 *
 * with every path relative to the project and under workflows/: the
 * workflow as workflows/NAME.yaml; each sub-workflow it calls (a step
 * with action: workflow), found recursively and taken once, one called
 * by name as workflows/NAME.yaml (where the search path finds it after
 * an import), one called by file where it lies relative to its caller;
 * and each custom action program found in actions/ beside a workflow,
 * as actions/wf-action-NAME beside that workflow's place in the bundle.
 * A file travels as its bytes (comments kept): text as it is, anything
 * else in Base64.
 *
 * Layer 2: domain data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"
#include "share.h"

/* What an export has gathered so far. */
struct gather {
	jv files;		/* the bundle's files */
	jv taken;		/* {real path of a source: its path in the bundle} */
	jv requires;		/* what the bundle needs but does not hold */
	jv queue;		/* [[source, path in the bundle]] of workflows still to read */
	const char *names_dir;	/* looked in first for a sub-workflow by name, or NULL */
	struct wf_diag *diag;
	int code;		/* the exit code of the first problem */
};

char *
wf_share_base64(const unsigned char *p, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = wf_xmalloc((n + 2) / 3 * 4 + 1), *o = out;

	for (size_t i = 0; i < n; i += 3) {
		unsigned long v = (unsigned long)p[i] << 16 | (i + 1 < n ? (unsigned long)p[i + 1] << 8 : 0) |
				  (i + 2 < n ? p[i + 2] : 0);

		*o++ = al[v >> 18 & 63];
		*o++ = al[v >> 12 & 63];
		*o++ = i + 1 < n ? al[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? al[v & 63] : '=';
	}
	*o = '\0';
	return out;
}

/* Note a problem at FILE; the first one's CODE is the export's. */
static void __attribute__((format(printf, 4, 5)))
problem(struct gather *g, int code, const char *file, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wf_diag_add(g->diag, file, 0, 0, "%s", msg);
	if (!g->code)
		g->code = code;
}

/* The directory part of PATH ("." when none); malloc'd. */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? wf_xstrndup(path, slash == path ? 1 : (size_t)(slash - path)) : wf_xstrdup(".");
}

/*
 * REL (relative) from directory BASE (a path in the bundle), with "."
 * and ".." worked out: malloc'd, or NULL when it is absolute or leaves
 * workflows/.
 */
static char *
bundle_join(const char *base, const char *rel)
{
	struct wf_buf b = {0};
	char *all, *save = NULL;

	if (rel[0] == '/')
		return NULL;
	all = wf_xasprintf("%s/%s", base, rel);
	wf_buf_addstr(&b, "");
	for (char *c = strtok_r(all, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "."))
			continue;
		if (!strcmp(c, "..")) {
			char *slash = strrchr(b.s, '/');

			b.len = slash ? (size_t)(slash - b.s) : 0;
			b.s[b.len] = '\0';
			continue;
		}
		if (b.len)
			wf_buf_addch(&b, '/');
		wf_buf_addstr(&b, c);
	}
	free(all);
	if (strncmp(b.s, "workflows/", 10) || !b.s[10]) {
		wf_buf_free(&b);
		return NULL;
	}
	return wf_buf_detach(&b);
}

/* The file at SRC as a bundle file at BPATH of KIND; the caller owns it (invalid after a problem). */
static jv
file_entry(struct gather *g, const char *src, const char *bpath, const char *kind)
{
	struct wf_buf b = {0};
	struct stat st;
	char hex[65], mode[8];
	size_t bad;
	jv e;

	if (stat(src, &st) < 0 || wf_read_file(src, WF_BUNDLE_MAX_FILE, &b) < 0) {
		problem(g, errno == EFBIG ? WF_EXIT_DATA : errno == ENOENT ? WF_EXIT_NOINPUT : WF_EXIT_IO, src,
			"cannot read: %s", errno == EFBIG ? "over the bundle's limit of a file (8 MiB)" : strerror(errno));
		wf_buf_free(&b);
		return jv_invalid();
	}
	wf_buf_addstr(&b, "");
	wf_sha256_hex(b.s, b.len, hex);
	snprintf(mode, sizeof mode, "0%03o", (unsigned)(st.st_mode & 0755));
	e = jv_object_set(jv_object(), jv_string("path"), jv_string(bpath));
	e = jv_object_set(e, jv_string("kind"), jv_string(kind));
	e = jv_object_set(e, jv_string("mode"), jv_string(mode));
	e = jv_object_set(e, jv_string("size"), jv_number((double)b.len));
	e = jv_object_set(e, jv_string("sha256"), jv_string(hex));
	if (!memchr(b.s, '\0', b.len) && wf_utf8_valid(b.s, b.len, &bad)) {
		e = jv_object_set(e, jv_string("encoding"), jv_string("utf-8"));
		e = jv_object_set(e, jv_string("content"), jv_string_sized(b.s, (int)b.len));
	} else {
		char *enc = wf_share_base64((const unsigned char *)b.s, b.len);

		e = jv_object_set(e, jv_string("encoding"), jv_string("base64"));
		e = jv_object_set(e, jv_string("content"), jv_string(enc));
		free(enc);
	}
	wf_buf_free(&b);
	return e;
}

/*
 * Take the file SRC into the bundle at BPATH as KIND, once: 1 when it
 * is new (a workflow then waits in the queue), 0 when it was taken
 * already or could not be.
 */
static int
take(struct gather *g, const char *src, const char *bpath, const char *kind)
{
	char real[PATH_MAX];
	jv had;
	int fresh = 0;

	if (!realpath(src, real)) {
		problem(g, WF_EXIT_NOINPUT, src, "cannot read: %s", strerror(errno));
		return 0;
	}
	had = jv_object_get(jv_copy(g->taken), jv_string(real));
	if (!jv_is_valid(had)) {
		jv_array_foreach(g->files, i, f) {
			(void)i;
			if (!strcmp(wf_jv_str(f, "path"), bpath))
				problem(g, WF_EXIT_DATA, src, "would be '%s' in the bundle, as another file is: rename one",
					bpath);
			jv_free(f);
		}
		jv e = file_entry(g, src, bpath, kind);

		if (jv_is_valid(e)) {
			g->files = jv_array_append(g->files, e);
			g->taken = jv_object_set(g->taken, jv_string(real), jv_string(bpath));
			fresh = 1;
		}
	}
	jv_free(had);
	if (fresh && !strcmp(kind, "workflow"))
		g->queue = jv_array_append(g->queue, jv_array_append(jv_array_append(jv_array(), jv_string(src)),
								     jv_string(bpath)));
	return fresh;
}

/* Note what the bundle needs but does not hold: KEY (action, workflow) WHAT, at step STEP of BPATH, FOUND where or NULL. */
static void
require(struct gather *g, const char *key, const char *what, const char *step, const char *bpath, const char *found)
{
	jv r = jv_object_set(jv_object(), jv_string(key), jv_string(what));

	r = jv_object_set(r, jv_string("step"), jv_string(step));
	r = jv_object_set(r, jv_string("in"), jv_string(bpath));
	if (found)
		r = jv_object_set(r, jv_string("found"), jv_string(found));
	g->requires = jv_array_append(g->requires, r);
}

/* The sub-workflow REF that step STEP of SRC (at BPATH in the bundle) calls. */
static void
take_sub(struct gather *g, const char *ref, const char *step, const char *src, const char *bpath)
{
	size_t n = strlen(ref);
	int is_file = strchr(ref, '/') || (n > 5 && !strcmp(ref + n - 5, ".yaml")) ||
		      (n > 4 && !strcmp(ref + n - 4, ".yml"));
	char *sdir = dir_of(src), *bdir = dir_of(bpath), *path = NULL, *at = NULL;

	if (strstr(ref, "${")) {
		require(g, "workflow", ref, step, bpath, NULL);
	} else if (is_file) {
		at = bundle_join(bdir, ref);
		path = ref[0] == '/' ? NULL : wf_xasprintf("%s/%s", sdir, ref);
		if (!at || !path)
			problem(g, WF_EXIT_DATA, src, "sub-workflow '%s' is outside the workflow's directory: a bundle holds only what lies under it (step '%s')",
				ref, step);
	} else {
		int code = 0;
		char err[1024];

		if (g->names_dir) {
			path = wf_xasprintf("%s/%s.yaml", g->names_dir, ref);
			if (access(path, F_OK) < 0) {
				free(path);
				path = NULL;
			}
		}
		if (!path && !(path = wf_workflow_find(ref, &code, err, sizeof err)))
			problem(g, code, src, "step '%s': %s", step, err);
		at = wf_xasprintf("workflows/%s.yaml", ref);
	}
	if (path && at)
		take(g, path, at, "workflow");
	free(path);
	free(at);
	free(sdir);
	free(bdir);
}

/* The custom action ACTION of step STEP of SRC (at BPATH): its program beside SRC, or a requirement. */
static void
take_action(struct gather *g, const char *action, const char *step, const char *src, const char *bpath)
{
	const char *slash = strrchr(src, '/');
	char *found = wf_action_find(action, src), *bdir = dir_of(bpath);
	/* Spelled as wf_action_find spells the program beside a workflow. */
	char *beside = slash ? wf_xasprintf("%.*s/actions/wf-action-%s", (int)(slash - src), src, action)
			     : wf_xasprintf("actions/wf-action-%s", action);

	if (found && !strcmp(found, beside)) {
		char *at = wf_xasprintf("%s/actions/wf-action-%s", bdir, action);

		take(g, found, at, "action");
		free(at);
	} else {
		require(g, "action", action, step, bpath, found);
	}
	free(beside);
	free(found);
	free(bdir);
}

/* Read the workflow SRC (at BPATH) and take what its steps call. */
static void
gather_workflow(struct gather *g, const char *src, const char *bpath)
{
	int code = 0;
	jv wf = wf_workflow_load(src, g->diag, &code), steps;

	if (!jv_is_valid(wf)) {
		if (!g->code)
			g->code = code ? code : WF_EXIT_DATA;
		jv_free(wf);
		return;
	}
	steps = wf_jv_get(wf, "steps");
	if (jv_get_kind(steps) == JV_KIND_ARRAY) {
		jv_array_foreach(steps, i, s) {
			const char *action = wf_jv_str(s, "action"), *id = wf_jv_str(s, "id");

			(void)i;
			if (action && !strcmp(action, "workflow") && wf_jv_str(s, "workflow"))
				take_sub(g, wf_jv_str(s, "workflow"), id ? id : "?", src, bpath);
			else if (action && strcmp(action, "workflow") && wf_action_lookup(action) == WF_ACT_CUSTOM)
				take_action(g, action, id ? id : "?", src, bpath);
			jv_free(s);
		}
	}
	jv_free(steps);
	jv_free(wf);
}

/* The name the main workflow at PATH goes by in the bundle: its name:, else its file's stem; malloc'd. */
static char *
main_name(const char *path)
{
	int code = 0;
	struct wf_diag quiet = {0};
	jv wf = wf_workflow_load(path, &quiet, &code);
	const char *name = jv_is_valid(wf) ? wf_jv_str(wf, "name") : NULL;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char *out;

	if (name && wf_name_valid(name)) {
		out = wf_xstrdup(name);
	} else {
		out = wf_xstrdup(base);
		if (strrchr(out, '.') && strrchr(out, '.') != out)
			*strrchr(out, '.') = '\0';
	}
	wf_diag_free(&quiet);
	jv_free(wf);
	return out;
}

/* The bundle of what G gathered, its main workflow NAME (NULL: none); the caller owns it. */
static jv
bundle_of(struct gather *g, const char *name)
{
	char now[32];
	jv b = jv_object_set(jv_object(), jv_string("format"), jv_string(WF_BUNDLE_FORMAT));

	wf_now_iso(now);
	if (name)
		b = jv_object_set(b, jv_string("workflow"), jv_string(name));
	b = jv_object_set(b, jv_string("created"), jv_string(now));
	b = jv_object_set(b, jv_string("files"), jv_copy(g->files));
	return jv_object_set(b, jv_string("requires"), jv_copy(g->requires));
}

/* Free what G holds; returns its exit code. */
static int
gather_done(struct gather *g)
{
	jv_free(g->files);
	jv_free(g->taken);
	jv_free(g->requires);
	jv_free(g->queue);
	return g->code;
}

int
wf_share_export(const char *arg, const char *names_dir, jv *bundle, struct wf_diag *diag)
{
	struct gather g = { jv_array(), jv_object(), jv_array(), jv_array(), names_dir, diag, 0 };
	char err[1024], *path, *name, *at;
	int code = 0;

	*bundle = jv_invalid();
	if (!(path = wf_workflow_find(arg, &code, err, sizeof err))) {
		wf_diag_add(diag, NULL, 0, 0, "%s", err);
		g.code = code;
	} else {
		name = main_name(path);
		at = wf_xasprintf("workflows/%s.yaml", name);
		take(&g, path, at, "workflow");
		/* Breadth first; each file is queued once, so a cycle ends. */
		while (jv_array_length(jv_copy(g.queue)) > 0 && jv_array_length(jv_copy(g.files)) <= WF_BUNDLE_MAX_FILES) {
			jv next = jv_array_get(jv_copy(g.queue), 0);
			jv src = jv_array_get(jv_copy(next), 0), bp = jv_array_get(next, 1);

			g.queue = jv_array_slice(g.queue, 1, jv_array_length(jv_copy(g.queue)));
			gather_workflow(&g, jv_string_value(src), jv_string_value(bp));
			jv_free(src);
			jv_free(bp);
		}
		if (jv_array_length(jv_copy(g.files)) > WF_BUNDLE_MAX_FILES)
			problem(&g, WF_EXIT_DATA, path, "calls more than %d files: a bundle holds at most that many",
				WF_BUNDLE_MAX_FILES);
		if (!g.code)
			*bundle = bundle_of(&g, name);
		free(at);
		free(name);
		free(path);
	}
	return gather_done(&g);
}

/* Write TEXT[0..LEN) as the new file PATH, replacing one only with FORCE: 0, or 2 or 74 with ERR. */
static int
write_whole(const char *path, const char *text, size_t len, int force, char *err, size_t n)
{
	char *dir = dir_of(path), *tmp = wf_xasprintf("%s/.wf-bundle-XXXXXX", dir);
	int fd = mkstemp(tmp), rc = 0;
	mode_t mask = umask(0);

	umask(mask);
	if (fd < 0 || fchmod(fd, 0666 & ~mask) < 0 || wf_write_all(fd, text, len) < 0 || fsync(fd) < 0) {
		snprintf(err, n, "cannot write '%s': %s", path, strerror(errno));
		rc = WF_EXIT_IO;
	} else if (force ? rename(tmp, path) < 0 : link(tmp, path) < 0) {
		if (errno == EEXIST)
			snprintf(err, n, "'%s' exists: not overwritten (use --force to replace it)", path);
		else
			snprintf(err, n, "cannot write '%s': %s", path, strerror(errno));
		rc = errno == EEXIST ? WF_EXIT_USAGE : WF_EXIT_IO;
	}
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(dir);
	return rc;
}

int
wf_share_write(jv bundle, const char *path, int force, char *err, size_t n)
{
	char *text = wf_json_dump(bundle);
	size_t len = strlen(text);
	int rc = 0;

	text = wf_xrealloc(text, len + 2);
	text[len++] = '\n';
	text[len] = '\0';
	if (!strcmp(path, "-")) {
		if (fwrite(text, 1, len, stdout) != len) {
			snprintf(err, n, "cannot write standard output: %s", strerror(errno));
			rc = WF_EXIT_IO;
		}
	} else {
		rc = write_whole(path, text, len, force, err, n);
	}
	free(text);
	return rc;
}

/* Is FN the file name of a workflow (NAME.yaml or NAME.yml, not hidden)? */
static int
workflow_file_name(const char *fn)
{
	size_t n = strlen(fn);

	return fn[0] != '.' && ((n > 5 && !strcmp(fn + n - 5, ".yaml")) || (n > 4 && !strcmp(fn + n - 4, ".yml")));
}

/* Take every entry of directory DIR (at BDIR in the bundle) that KEEP accepts, as KIND. */
static void
take_dir(struct gather *g, const char *dir, const char *bdir, int (*keep)(const char *), const char *kind)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, alphasort);

	for (int i = 0; i < n; i++) {
		const char *fn = ents[i]->d_name;
		char *src = wf_xasprintf("%s/%s", dir, fn), *at = wf_xasprintf("%s/%s", bdir, fn);
		struct stat st;

		if (keep(fn) && lstat(src, &st) == 0 && !S_ISREG(st.st_mode))
			problem(g, WF_EXIT_DATA, src, "is not a plain file (a link, a directory?): only plain files are imported");
		else if (keep(fn) && wf_name_valid(fn))
			take(g, src, at, kind);
		free(src);
		free(at);
		free(ents[i]);
	}
	free(ents);
}

/* Is FN the file name of a custom action program? */
static int
action_file_name(const char *fn)
{
	return !strncmp(fn, "wf-action-", 10) && wf_name_valid(fn + 10);
}

int
wf_share_collect(const char *dir, jv *bundle, struct wf_diag *diag)
{
	struct gather g = { jv_array(), jv_object(), jv_array(), jv_array(), NULL, diag, 0 };
	char *actions = wf_xasprintf("%s/actions", dir);
	struct stat st;
	int nwf = 0;

	*bundle = jv_invalid();
	take_dir(&g, dir, "workflows", workflow_file_name, "workflow");
	if (lstat(actions, &st) == 0 && S_ISDIR(st.st_mode))
		take_dir(&g, actions, "workflows/actions", action_file_name, "action");
	jv_array_foreach(g.files, i, f) {
		(void)i;
		nwf += !strcmp(wf_jv_str(f, "kind"), "workflow");
		jv_free(f);
	}
	if (!g.code && !nwf)
		problem(&g, WF_EXIT_NOINPUT, dir, "holds no workflow (NAME.yaml)");
	if (!g.code) {
		/* One workflow is the main one, by its file's stem (files are in name order: it is first). */
		jv f = jv_array_get(jv_copy(g.files), 0);
		char *stem = wf_xstrdup(wf_jv_str(f, "path") + 10);

		*strrchr(stem, '.') = '\0';
		*bundle = bundle_of(&g, nwf == 1 ? stem : NULL);
		free(stem);
		jv_free(f);
	}
	free(actions);
	return gather_done(&g);
}

void
wf_share_report(jv bundle, const char *file)
{
	jv files = wf_jv_get(bundle, "files"), req = wf_jv_get(bundle, "requires");
	int subs = -1, actions = 0;

	jv_array_foreach(files, i, f) {
		(void)i;
		if (!strcmp(wf_jv_str(f, "kind"), "workflow"))
			subs++;
		else
			actions++;
		jv_free(f);
	}
	wf_warn("wrote %s: workflow '%s', %d sub-workflow%s, %d action program%s", strcmp(file, "-") ? file : "standard output",
		wf_jv_str(bundle, "workflow"), subs, subs == 1 ? "" : "s", actions, actions == 1 ? "" : "s");
	jv_array_foreach(req, i, r) {
		const char *a = wf_jv_str(r, "action"), *found = wf_jv_str(r, "found");

		(void)i;
		if (a)
			wf_warn("%s: step '%s' needs 'wf-action-%s', which is not in the bundle (%s%s): it must be on PATH where the workflow runs",
				wf_jv_str(r, "in"), wf_jv_str(r, "step"), a, found ? "found at " : "not found", found ? found : "");
		else
			wf_warn("%s: step '%s' calls the workflow '%s', chosen when it runs: it is not in the bundle",
				wf_jv_str(r, "in"), wf_jv_str(r, "step"), wf_jv_str(r, "workflow"));
		jv_free(r);
	}
	jv_free(files);
	jv_free(req);
}
