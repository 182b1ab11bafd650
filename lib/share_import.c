/*
 * share_import.c: a bundle, or a git repository of workflows, unpacked
 * into ./workflows (wf import).  Everything is checked before anything
 * is written: the bundle's form; each path (relative, under workflows/,
 * a workflow file NAME.yaml or a program actions/wf-action-NAME, every
 * component a plain name); each hash; that no file would be replaced
 * without --force and no link lies on the way.  The files are then
 * staged in a directory of their own beside ./workflows, each workflow
 * is validated there, and only then is each moved into place.  Nothing
 * outside workflows/ is ever written, so an import carries no trust:
 * configuration and trust records stay the user's.
 *
 * A git repository is cloned (shallow, into a temporary directory that
 * is removed afterwards) and its workflows/ (else its top directory)
 * read as a bundle: every workflow and action program, or with #NAME
 * that one workflow and what it calls, as wf export gathers it.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"
#include "share.h"

/* One file of the bundle, checked. */
struct item {
	char *path;		/* in the bundle, which is its place under the working directory */
	int action;		/* an action program, else a workflow */
	mode_t mode;
	struct wf_buf bytes;
	int exists;		/* a file is in its place already */
};

struct plan {
	struct item *items;
	size_t n;
	char *main;		/* the main workflow's name, or NULL */
	const char *label;	/* the source, for messages */
	char *stage;		/* the staging directory, once made */
};

/* Decode Base64 S[0..N) (standard alphabet, padded) into OUT: 0, or -1 when it is not that. */
static int
base64_decode(const char *s, size_t n, struct wf_buf *out)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	wf_buf_addstr(out, "");
	if (n % 4)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		unsigned long v = 0;
		int pad = 0;

		for (int k = 0; k < 4; k++) {
			const char *c = s[i + k] ? strchr(al, s[i + k]) : NULL;

			/* '=' only as the last one or two of the last group. */
			if (s[i + k] == '=' && i + 4 == n && k >= 2 && (k == 3 || s[i + 3] == '='))
				pad++;
			else if (!c || pad)
				return -1;
			v = v << 6 | (c ? (unsigned long)(c - al) : 0);
		}
		wf_buf_addch(out, (char)(v >> 16));
		if (pad < 2)
			wf_buf_addch(out, (char)(v >> 8 & 255));
		if (pad < 1)
			wf_buf_addch(out, (char)(v & 255));
	}
	return 0;
}

/* Does file name FN end in .yaml or .yml? */
static int
yaml_name(const char *fn)
{
	size_t l = strlen(fn);

	return (l > 5 && !strcmp(fn + l - 5, ".yaml")) || (l > 4 && !strcmp(fn + l - 4, ".yml"));
}

/*
 * What is wrong with PATH as a place in a bundle, or NULL when nothing
 * is: under workflows/, parts that are plain names, and either a
 * workflow (NAME.yaml, in no actions/ directory) or a program
 * (actions/wf-action-NAME).  *ACTION says which it is.
 */
static const char *
path_problem(const char *path, int *action)
{
	char *copy = wf_xstrdup(path), *save = NULL, *last = NULL, *prev = NULL;
	const char *why = NULL;
	int n = 0, in_actions = 0;

	*action = 0;
	if (path[0] == '/')
		why = "an absolute path";
	else if (!*path || strlen(path) > 512 || strstr(path, "//") || path[strlen(path) - 1] == '/')
		why = "not a plain relative path";
	for (char *c = strtok_r(copy, "/", &save); c && !why; c = strtok_r(NULL, "/", &save)) {
		if (!strcmp(c, "..") || !strcmp(c, "."))
			why = "a '.' or '..' in it";
		else if (!wf_name_valid(c))
			why = "a part that is not a plain name (letters, digits, '.', '_', '-'; none hidden)";
		else if (n == 0 && strcmp(c, "workflows"))
			why = "not under workflows/";
		if (prev && !strcmp(prev, "actions"))
			in_actions++;
		prev = last = c;
		n++;
	}
	if (!why && n > 8)
		why = "too deep (at most 8 parts)";
	else if (!why && n < 2)
		why = "not a file under workflows/";
	else if (!why && !strncmp(last, "wf-action-", 10)) {
		*action = 1;
		/* A program is the last part, right inside an actions/ directory. */
		if (!in_actions || strncmp(path + strlen(path) - strlen(last) - 9, "/actions/", 9) ||
		    !wf_name_valid(last + 10))
			why = "an action program outside an actions/ directory";
	} else if (!why && !yaml_name(last)) {
		why = "neither a workflow (NAME.yaml) nor an action program (actions/wf-action-NAME)";
	} else if (!why && in_actions) {
		why = "a workflow inside an actions/ directory";
	}
	free(copy);
	return why;
}

/* Note a problem in the bundle's member AT (files[I].KEY); -1. */
static int
bad_member(struct plan *p, struct wf_diag *d, size_t i, const char *key, const char *why)
{
	wf_diag_add(d, p->label, 0, 0, "files[%zu].%s: %s; nothing was written", i, key, why);
	return -1;
}

/* The string member KEY of file entry F (borrowed), or NULL after a message. */
static const char *
member(struct plan *p, struct wf_diag *d, jv f, size_t i, const char *key)
{
	const char *s = wf_jv_str(f, key);
	jv v = wf_jv_get(f, key);

	if (!s)
		bad_member(p, d, i, key, jv_get_kind(v) == JV_KIND_NULL ? "missing" : "not a string");
	jv_free(v);
	return s;
}

/* Check file entry I, F (borrowed), into IT: 0, or -1 after a message. */
static int
read_item(struct plan *p, struct wf_diag *d, jv f, size_t i, struct item *it)
{
	static const char *const known[] = { "path", "kind", "mode", "size", "sha256", "encoding", "content", NULL };
	const char *path, *mode, *sha, *enc, *content, *kind, *why;
	char hex[65], *end;
	unsigned long m;

	if (jv_get_kind(f) != JV_KIND_OBJECT)
		return bad_member(p, d, i, "", "not an object");
	jv_object_foreach(f, k, v) {
		int ok = 0;

		for (int j = 0; known[j]; j++)
			ok |= !strcmp(known[j], jv_string_value(k));
		if (!ok)
			bad_member(p, d, i, jv_string_value(k), "not a member of a bundle's file (wf-json(7))");
		jv_free(k);
		jv_free(v);
		if (!ok)
			return -1;
	}
	if (!(path = member(p, d, f, i, "path")) || !(mode = member(p, d, f, i, "mode")) ||
	    !(sha = member(p, d, f, i, "sha256")) || !(enc = member(p, d, f, i, "encoding")) ||
	    !(content = member(p, d, f, i, "content")))
		return -1;
	if ((why = path_problem(path, &it->action)))
		return bad_member(p, d, i, "path", why);
	kind = wf_jv_str(f, "kind");
	if (kind && strcmp(kind, it->action ? "action" : "workflow"))
		return bad_member(p, d, i, "kind", "does not match its path");
	m = strtoul(mode, &end, 8);
	if (strlen(mode) != 4 || mode[0] != '0' || *end || m > 0777)
		return bad_member(p, d, i, "mode", "not a mode such as \"0644\"");
	/* Permissions only, never writable by others. */
	it->mode = (mode_t)(m & 0755) | 0600;
	if (!strcmp(enc, "utf-8"))
		wf_buf_add(&it->bytes, content, (size_t)jv_string_length_bytes(wf_jv_get(f, "content")));
	else if (strcmp(enc, "base64") || base64_decode(content, strlen(content), &it->bytes) < 0)
		return bad_member(p, d, i, "encoding", strcmp(enc, "base64") ? "neither \"utf-8\" nor \"base64\""
								 : "the content is not Base64");
	if (it->bytes.len > WF_BUNDLE_MAX_FILE)
		return bad_member(p, d, i, "content", "over the limit of a file (8 MiB)");
	wf_sha256_hex(it->bytes.s ? it->bytes.s : "", it->bytes.len, hex);
	if (strcmp(hex, sha))
		return bad_member(p, d, i, "sha256", "does not match the content: the bundle was changed or damaged");
	if (jv_object_has(jv_copy(f), jv_string("size")) && wf_jv_num(f, "size", -1) != (double)it->bytes.len)
		return bad_member(p, d, i, "size", "does not match the content");
	it->path = wf_xstrdup(path);
	return 0;
}

/* Free what P holds. */
static void
plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->items[i].path);
		wf_buf_free(&p->items[i].bytes);
	}
	free(p->items);
	free(p->main);
	free(p->stage);
}

/* The item of P at PATH, or NULL. */
static struct item *
item_at(struct plan *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->items[i].path, path))
			return &p->items[i];
	return NULL;
}

/* The item of P that is its main workflow NAME (workflows/NAME.yaml or .yml), or NULL. */
static struct item *
main_item(struct plan *p, const char *name)
{
	char *a = wf_xasprintf("workflows/%s.yaml", name), *b = wf_xasprintf("workflows/%s.yml", name);
	struct item *it = item_at(p, a);

	if (!it)
		it = item_at(p, b);
	free(a);
	free(b);
	return it;
}

/* Check BUNDLE (borrowed) into P: 0, or 65 after every problem in D. */
static int
read_plan(jv bundle, struct plan *p, struct wf_diag *d)
{
	static const char *const known[] = { "format", "workflow", "created", "files", "requires", NULL };
	const char *fmt = wf_jv_str(bundle, "format"), *name = wf_jv_str(bundle, "workflow");
	jv files = wf_jv_get(bundle, "files");
	size_t before = d->n;
	int n = jv_get_kind(files) == JV_KIND_ARRAY ? jv_array_length(jv_copy(files)) : -1;

	if (jv_get_kind(bundle) != JV_KIND_OBJECT || !fmt) {
		wf_diag_add(d, p->label, 0, 0, "not a wf bundle (a JSON object with \"format\": \"%s\"); nothing was written",
			    WF_BUNDLE_FORMAT);
		jv_free(files);
		return WF_EXIT_DATA;
	}
	if (strcmp(fmt, WF_BUNDLE_FORMAT))
		wf_diag_add(d, p->label, 0, 0, "format '%.40s' is not one this version reads (%s); nothing was written",
			    fmt, WF_BUNDLE_FORMAT);
	jv_object_foreach(bundle, k, v) {
		int ok = 0;

		for (int j = 0; known[j]; j++)
			ok |= !strcmp(known[j], jv_string_value(k));
		if (!ok)
			wf_diag_add(d, p->label, 0, 0, "'%.60s' is not a member of a bundle (wf-json(7)); nothing was written",
				    jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	if (n < 1 || n > WF_BUNDLE_MAX_FILES)
		wf_diag_add(d, p->label, 0, 0, "\"files\" must be a list of 1 to %d files; nothing was written",
			    WF_BUNDLE_MAX_FILES);
	if (jv_object_has(jv_copy(bundle), jv_string("workflow")) && (!name || !wf_name_valid(name)))
		wf_diag_add(d, p->label, 0, 0, "\"workflow\" must be a workflow's name; nothing was written");
	if (d->n > before) {
		jv_free(files);
		return WF_EXIT_DATA;
	}
	p->items = wf_xcalloc((size_t)n, sizeof *p->items);
	for (int i = 0; i < n && d->n == before; i++) {
		jv f = jv_array_get(jv_copy(files), i);

		if (read_item(p, d, f, (size_t)i, &p->items[p->n]) == 0 && item_at(p, p->items[p->n].path))
			bad_member(p, d, (size_t)i, "path", "a second file at the same place");
		if (p->items[p->n].path)
			p->n++;
		else
			wf_buf_free(&p->items[p->n].bytes);
		jv_free(f);
	}
	if (d->n == before && name && !main_item(p, name))
		wf_diag_add(d, p->label, 0, 0, "the workflow '%s' is not among its files (workflows/%s.yaml); nothing was written",
			    name, name);
	p->main = name ? wf_xstrdup(name) : NULL;
	jv_free(files);
	return d->n > before ? WF_EXIT_DATA : 0;
}

int
wf_share_is_git(const char *source)
{
	char *s = wf_xstrdup(source), *hash = strrchr(s, '#'), *colon, *slash;
	struct stat st;
	int git;

	if (!strcmp(source, "-") || stat(source, &st) == 0) {
		free(s);
		return strcmp(source, "-") && S_ISDIR(st.st_mode);
	}
	if (hash)
		*hash = '\0';
	colon = strchr(s, ':');
	slash = strchr(s, '/');
	git = strstr(s, "://") || (strlen(s) > 4 && !strcmp(s + strlen(s) - 4, ".git")) ||
	      (colon && colon > s && (!slash || colon < slash)) || (stat(s, &st) == 0 && S_ISDIR(st.st_mode));
	free(s);
	return git;
}

/* Read the bundle file SOURCE ("-": stdin); the caller owns it (invalid after a message, *CODE set). */
static jv
read_bundle(const char *source, struct wf_diag *d, int *code)
{
	struct wf_buf b = {0};
	char err[512];
	int rc = strcmp(source, "-") ? wf_read_file(source, WF_BUNDLE_MAX_BYTES, &b)
				     : wf_read_fd(0, WF_BUNDLE_MAX_BYTES, &b);
	jv v = jv_invalid();

	if (rc < 0 && errno == EFBIG) {
		wf_diag_add(d, source, 0, 0, "over the %d MiB limit of a bundle; nothing was written", WF_BUNDLE_MAX_BYTES >> 20);
		*code = WF_EXIT_DATA;
	} else if (rc < 0) {
		wf_diag_add(d, source, 0, 0, "cannot read: %s", strerror(errno));
		*code = errno == ENOENT || errno == EACCES ? WF_EXIT_NOINPUT : WF_EXIT_IO;
	} else if (!jv_is_valid(v = wf_json_parse(b.s ? b.s : "", b.len, err, sizeof err))) {
		wf_diag_add(d, source, 0, 0, "not a wf bundle: %s; nothing was written", err);
		*code = WF_EXIT_DATA;
	}
	wf_buf_free(&b);
	return v;
}

/* Remove directory DIR and everything in it, never following a link. */
static void
remove_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd >= 0) {
		(void)wf_remove_tree(fd);
		close(fd);
	}
	(void)rmdir(dir);
}

/*
 * Clone URL (shallow) into a new temporary directory *TMP (the caller
 * removes it and frees the name) and read its workflows as a bundle:
 * every one, or with PICK only that one and what it calls.  The caller
 * owns the bundle (invalid after a message, *CODE set).
 */
static jv
clone_bundle(const char *url, const char *pick, char **tmp, struct wf_diag *d, int *code)
{
	const char *base = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *repo, *dir, *path = NULL;
	struct wf_buf err = {0};
	struct stat st;
	jv bundle = jv_invalid();

	*tmp = wf_xasprintf("%s/wf-import-XXXXXX", base);
	if (!mkdtemp(*tmp)) {
		wf_diag_add(d, *tmp, 0, 0, "cannot create: %s", strerror(errno));
		*code = WF_EXIT_IO;
		return bundle;
	}
	repo = wf_xasprintf("%s/repo", *tmp);
	/* No transport that runs a command (ext::), whatever the user's configuration says. */
	const char *args[] = { "-c", "protocol.ext.allow=never", "clone", "--depth", "1", "--quiet", "--no-tags",
			       "--", url, repo, NULL };
	int rc = wf_git_run(NULL, args, NULL, 0, NULL, &err);

	if (rc != 0) {
		char *why = wf_git_error(&err);

		wf_diag_add(d, NULL, 0, 0, "cannot clone '%s': %s; nothing was written", url, why);
		*code = rc == 130 ? WF_EXIT_INT : WF_EXIT_UNAVAILABLE;
		free(why);
	} else {
		dir = wf_xasprintf("%s/workflows", repo);
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(dir);
			dir = wf_xstrdup(repo);
		}
		if (pick) {
			path = wf_xasprintf("%s/%s.yaml", dir, pick);
			if (access(path, F_OK) < 0) {
				free(path);
				path = wf_xasprintf("%s/%s.yml", dir, pick);
			}
		}
		if (pick && access(path, F_OK) < 0) {
			wf_diag_add(d, NULL, 0, 0, "'%s' has no workflow '%s' (looked for %s.yaml in %s); nothing was written",
				    url, pick, pick, strcmp(dir, repo) ? "workflows/" : "its top directory");
			*code = WF_EXIT_NOINPUT;
		} else {
			*code = pick ? wf_share_export(path, dir, &bundle, d) : wf_share_collect(dir, &bundle, d);
		}
		free(path);
		free(dir);
	}
	wf_buf_free(&err);
	free(repo);
	return bundle;
}

/* In the messages of D from index FROM on, write WITH for each FIND (a temporary directory's name). */
static void
relabel(struct wf_diag *d, size_t from, const char *find, const char *with)
{
	size_t fl = strlen(find);

	for (size_t i = from; i < d->n; i++) {
		struct wf_buf b = {0};
		const char *m = d->msgs[i], *at;

		wf_buf_addstr(&b, "");
		while ((at = strstr(m, find))) {
			wf_buf_add(&b, m, (size_t)(at - m));
			wf_buf_addstr(&b, with);
			m = at + fl;
		}
		wf_buf_addstr(&b, m);
		free(d->msgs[i]);
		d->msgs[i] = wf_buf_detach(&b);
	}
}

/*
 * Rename P's main workflow AS: its place becomes workflows/AS.yaml and
 * its top-level name: line "name: AS" (one is added when it has none).
 * 0, or 2 or 65 after a message.
 */
static int
rename_main(struct plan *p, const char *as, struct wf_diag *d)
{
	struct item *it = p->main ? main_item(p, p->main) : NULL;
	struct wf_buf b = {0};
	char *place;
	int named = 0;

	if (!it) {
		wf_diag_add(d, p->label, 0, 0, "--as needs one main workflow, and this holds several: pick one with GIT-URL#NAME");
		return WF_EXIT_USAGE;
	}
	place = wf_xasprintf("workflows/%s%s", as, strrchr(it->path, '.'));
	if (strcmp(place, it->path) && item_at(p, place)) {
		wf_diag_add(d, p->label, 0, 0, "--as %s: it holds '%s' already; nothing was written", as, place);
		free(place);
		return WF_EXIT_DATA;
	}
	for (const char *l = it->bytes.s; l && *l;) {
		const char *nl = strchr(l, '\n');
		size_t n = nl ? (size_t)(nl - l + 1) : strlen(l);

		if (!named && !strncmp(l, "name:", 5)) {
			wf_buf_printf(&b, "name: %s\n", as);
			named = 1;
		} else {
			wf_buf_add(&b, l, n);
		}
		l += n;
	}
	if (!named) {
		char *rest = wf_buf_detach(&b);

		wf_buf_printf(&b, "name: %s\n%s", as, rest ? rest : "");
		free(rest);
	}
	wf_buf_free(&it->bytes);
	it->bytes = b;
	free(it->path);
	it->path = place;
	free(p->main);
	p->main = wf_xstrdup(as);
	return 0;
}

/* Note why PATH cannot be written, once (a directory is on the way of several files); returns CODE. */
static int
refuse(struct wf_diag *d, const char *path, int code, const char *why)
{
	wf_diag_add(d, path, 0, 0, "%s; nothing was written", why);
	for (size_t i = 0; i + 1 < d->n; i++)
		if (!strcmp(d->msgs[i], d->msgs[d->n - 1])) {
			free(d->msgs[--d->n]);
			break;
		}
	return code;
}

/*
 * Check the place of every file of P: no link and nothing but
 * directories on the way, and no file there unless FORCE (then it is
 * replaced).  0, or 2 (exists), 77 (a link) or 74 after every problem.
 */
static int
check_places(struct plan *p, int force, struct wf_diag *d)
{
	int code = 0;

	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		char *path = wf_xstrdup(it->path);
		struct stat st;
		int c = 0;

		for (char *s = strchr(path, '/'); s && !c; s = strchr(s + 1, '/')) {
			*s = '\0';
			if (lstat(path, &st) < 0)
				break;
			if (S_ISLNK(st.st_mode))
				c = refuse(d, path, WF_EXIT_DENIED, "is a symbolic link: an import never writes through one");
			else if (!S_ISDIR(st.st_mode))
				c = refuse(d, path, WF_EXIT_IO, "is not a directory");
			*s = '/';
		}
		if (!c && lstat(it->path, &st) == 0) {
			it->exists = 1;
			if (!S_ISREG(st.st_mode))
				c = refuse(d, it->path, S_ISLNK(st.st_mode) ? WF_EXIT_DENIED : WF_EXIT_IO,
					   "exists and is not a plain file");
			else if (!force)
				c = refuse(d, it->path, WF_EXIT_USAGE, "exists: not overwritten (use --force to replace it)");
		}
		if (c && (!code || code == WF_EXIT_USAGE))
			code = c;
		free(path);
	}
	return code;
}

/* Make the directories of file PATH that are missing: 0, or -1/errno. */
static int
make_parents(const char *path)
{
	char *p = wf_xstrdup(path);
	int rc = 0;

	for (char *s = strchr(p + 1, '/'); s && !rc; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdir(p, 0777) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	free(p);
	return rc;
}

/* Write every file of P into a new staging directory beside ./workflows (P->stage): 0, or 74 after a message. */
static int
stage(struct plan *p, struct wf_diag *d)
{
	p->stage = wf_xstrdup(".wf-import-XXXXXX");
	if (!mkdtemp(p->stage)) {
		wf_diag_add(d, NULL, 0, 0, "cannot create a directory here to unpack into: %s; nothing was written",
			    strerror(errno));
		free(p->stage);
		p->stage = NULL;
		return WF_EXIT_IO;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		char *f = wf_xasprintf("%s/%s", p->stage, it->path);
		int fd = make_parents(f) < 0 ? -1 : open(f, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);

		if (fd < 0 || wf_write_all(fd, it->bytes.s ? it->bytes.s : "", it->bytes.len) < 0 ||
		    fchmod(fd, it->mode) < 0) {
			wf_diag_add(d, f, 0, 0, "cannot write: %s; nothing was written", strerror(errno));
			if (fd >= 0)
				close(fd);
			free(f);
			return WF_EXIT_IO;
		}
		close(fd);
		free(f);
	}
	return 0;
}

/*
 * Validate every staged workflow of P, with the staged workflows/ first
 * on the search path (for the sub-workflows they call by name), and the
 * main one's name when it was renamed AS.  0, or 65 after every problem.
 */
static int
validate(struct plan *p, const char *as, struct wf_diag *d)
{
	const char *old = getenv("WF_PATH");
	char *keep = old ? wf_xstrdup(old) : NULL;
	char *path = wf_xasprintf("%s/workflows%s%s", p->stage, old ? ":" : "", old ? old : "");
	char *prefix = wf_xasprintf("%s/", p->stage);
	size_t before = d->n;

	setenv("WF_PATH", path, 1);
	for (size_t i = 0; i < p->n; i++) {
		char *f = wf_xasprintf("%s/%s", p->stage, p->items[i].path);
		int code = 0;
		jv wf = p->items[i].action ? jv_null() : wf_workflow_load(f, d, &code);
		const char *name = jv_is_valid(wf) ? wf_jv_str(wf, "name") : NULL;

		if (as && p->items[i].path == main_item(p, as)->path && name && strcmp(name, as))
			wf_diag_add(d, p->items[i].path, 0, 0, "--as %s: its name stays '%s' (a name: the rename does not reach); nothing was written",
				    as, name);
		jv_free(wf);
		free(f);
	}
	if (keep)
		setenv("WF_PATH", keep, 1);
	else
		unsetenv("WF_PATH");
	relabel(d, before, prefix, "");
	free(keep);
	free(path);
	free(prefix);
	return d->n > before ? WF_EXIT_DATA : 0;
}

/*
 * Move every staged file of P into its place, replacing only what
 * check_places found there; each is appended to *WRITTEN (the caller
 * owns it).  0, or 2 (a file came
 * meanwhile) or 74 after a message.
 */
static int
place(struct plan *p, jv *written, struct wf_diag *d)
{
	for (size_t i = 0; i < p->n; i++) {
		struct item *it = &p->items[i];
		char *f = wf_xasprintf("%s/%s", p->stage, it->path);
		int rc = make_parents(it->path);

		if (rc == 0)
			rc = it->exists ? rename(f, it->path) : link(f, it->path);
		if (rc < 0) {
			wf_diag_add(d, it->path, 0, 0, "cannot write: %s%s", strerror(errno),
				    i ? " (the files before it were written)" : "; nothing was written");
			free(f);
			return errno == EEXIST ? WF_EXIT_USAGE : WF_EXIT_IO;
		}
		*written = jv_array_append(*written, jv_object_set(jv_object_set(jv_object_set(jv_object(),
			jv_string("path"), jv_string(it->path)), jv_string("kind"), jv_string(it->action ? "action" : "workflow")),
			jv_string("replaced"), jv_bool(it->exists)));
		free(f);
	}
	return 0;
}

int
wf_share_import(const struct wf_share_import_opts *o, jv *written, struct wf_diag *diag)
{
	struct plan p = { .label = o->source };
	char *url = wf_xstrdup(o->source), *pick = NULL, *tmp = NULL;
	int code = 0;
	jv bundle;

	*written = jv_array();
	if (wf_share_is_git(o->source)) {
		struct stat st;

		if (stat(url, &st) < 0 && (pick = strrchr(url, '#')))
			*pick++ = '\0';
		if (pick && !wf_name_valid(pick)) {
			wf_diag_add(diag, NULL, 0, 0, "'%s' after '#' is not a workflow's name", pick);
			free(url);
			return WF_EXIT_USAGE;
		}
		size_t before = diag->n;

		bundle = clone_bundle(url, pick, &tmp, diag, &code);
		if (tmp) {
			char *repo = wf_xasprintf("%s/repo", tmp);

			/* A file of the clone is named by the URL it came from. */
			relabel(diag, before, repo, url);
			remove_dir(tmp);
			free(repo);
		}
	} else {
		bundle = read_bundle(o->source, diag, &code);
	}
	if (!code)
		code = read_plan(bundle, &p, diag);
	if (!code && o->as)
		code = rename_main(&p, o->as, diag);
	if (!code)
		code = check_places(&p, o->force, diag);
	if (!code && !(code = stage(&p, diag)))
		code = validate(&p, o->as, diag);
	if (!code)
		code = place(&p, written, diag);
	if (p.stage)
		remove_dir(p.stage);
	plan_free(&p);
	jv_free(bundle);
	free(tmp);
	free(url);
	return code;
}
