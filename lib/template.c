/*
 * template.c: the templates wf create starts from, and the writer every
 * new workflow file goes through.  A template is an ordinary workflow
 * whose inputs: are the knobs a user turns; rendering one edits its YAML
 * text in place (the positions wf_yaml_load records say where), so the
 * comments that explain it to a newcomer survive into the new file.
 * Values are always written as double-quoted YAML scalars with escapes,
 * and the edited text is read back to prove each one came out as given.
 *
 * Rules: the library never prints (except the table asked for); problems
 * go to a struct wf_diag or an error buffer with the exit status to use.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"
#include "template.h"

char **
wf_template_dirs(void)
{
	char **path = wf_workflow_search_path(), **v;
	size_t n = 0;

	while (path[n])
		n++;
	v = wf_xcalloc(n + 1, sizeof *v);
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(path[i], '/');
		const char *base = slash ? slash + 1 : path[i];

		v[i] = !strcmp(base, "templates") ? wf_xstrdup(path[i])
			: wf_xasprintf("%s/templates", path[i]);
	}
	wf_strv_free(path);
	return v;
}

/* The list's entries, shadowed ones left out, each with its inputs: the caller owns the array. */
jv
wf_template_list(void)
{
	char **dirs = wf_template_dirs();
	jv all = wf_workflow_list_in(dirs), out = jv_array();

	jv_array_foreach(all, i, e) {
		(void)i;
		if (wf_jv_bool(e, "shadowed", 0)) {
			jv_free(e);
			continue;
		}
		e = jv_object_delete(e, jv_string("shadowed"));
		e = jv_object_delete(e, jv_string("steps"));
		if (!wf_jv_str(e, "error")) {
			struct wf_diag d = {0};
			int code = 0;
			jv wf = wf_workflow_load(wf_jv_str(e, "path"), &d, &code);
			jv in = jv_is_valid(wf) ? wf_jv_get(wf, "inputs") : jv_invalid();

			e = jv_object_set(e, jv_string("inputs"),
				jv_get_kind(in) == JV_KIND_OBJECT ? in : (jv_free(in), jv_object()));
			jv_free(wf);
			wf_diag_free(&d);
		} else {
			e = jv_object_set(e, jv_string("inputs"), jv_object());
		}
		out = jv_array_append(out, e);
	}
	jv_free(all);
	wf_strv_free(dirs);
	return out;
}

/* LIST borrowed. */
void
wf_template_print(FILE *fp, jv list)
{
	fprintf(fp, "%-22s %s\n", "NAME", "DESCRIPTION");
	jv_array_foreach(list, i, t) {
		const char *err = wf_jv_str(t, "error");
		jv inputs = wf_jv_get(t, "inputs");

		(void)i;
		if (err)
			fprintf(fp, "%-22s BROKEN  %s\n", wf_jv_str(t, "name"), err);
		else
			fprintf(fp, "%-22s %s\n", wf_jv_str(t, "name"), wf_jv_str(t, "description"));
		jv_object_foreach(inputs, k, in) {
			jv def = wf_jv_get(in, "default");
			const char *desc = wf_jv_str(in, "description");
			char *d = jv_object_has(jv_copy(in), jv_string("default")) ? wf_jv_text(def) : NULL;

			fprintf(fp, "    %-18s %s%s", jv_string_value(k), desc ? desc : "", desc ? " " : "");
			if (d) {
				/* One line per input, whatever the default holds. */
				struct wf_buf vis = {0};

				wf_buf_add_visible(&vis, d);
				fprintf(fp, "(default: %s)\n", vis.s ? vis.s : "");
				wf_buf_free(&vis);
			} else {
				fputs("(required)\n", fp);
			}
			free(d);
			jv_free(def);
			jv_free(k);
			jv_free(in);
		}
		jv_free(inputs);
		jv_free(t);
	}
}

char *
wf_template_find(const char *arg, int *code, char *err, size_t n)
{
	char **dirs = wf_template_dirs();
	char *path = wf_workflow_find_in(arg, dirs, code, err, n);

	wf_strv_free(dirs);
	if (!path && *code == WF_EXIT_NOINPUT && !strchr(arg, '/')) {
		jv list = wf_template_list();
		struct wf_buf names = {0};

		jv_array_foreach(list, i, t) {
			wf_buf_printf(&names, "%s%s", i ? ", " : "", wf_jv_str(t, "name"));
			jv_free(t);
		}
		jv_free(list);
		snprintf(err, n, "no template named '%s' (the templates: %s; see 'wf templates')", arg,
			 names.len ? names.s : "none");
		wf_buf_free(&names);
	}
	return path;
}

/* ---- rendering: edits of the template's text ---- */

struct edit {
	size_t start, end;	/* the bytes replaced, [start, end) */
	char *text;		/* what goes there (malloc'd) */
};

struct editor {
	const char *buf;
	size_t len;
	const char *file;
	jv pos;			/* borrowed from the caller: wf_yaml_load's positions */
	struct edit *edits;
	size_t n;
	struct wf_diag *diag;
};

/* S as a double-quoted YAML scalar: every character that is not plain printable text escaped; malloc'd. */
char *
wf_yaml_quoted(const char *s)
{
	struct wf_buf b = {0};

	wf_buf_addch(&b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			wf_buf_printf(&b, "\\%c", *p);
		else if (*p == '\n')
			wf_buf_addstr(&b, "\\n");
		else if (*p == '\t')
			wf_buf_addstr(&b, "\\t");
		else if (*p < 0x20 || *p == 0x7f)
			wf_buf_printf(&b, "\\x%02x", *p);
		else if (p[0] == 0xc2 && p[1] == 0x85)	/* NEL, a line break to YAML */
			wf_buf_addstr(&b, "\\N"), p++;
		else if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
			wf_buf_addstr(&b, p[2] == 0xa8 ? "\\L" : "\\P"), p += 2;
		else
			wf_buf_addch(&b, (char)*p);
	}
	wf_buf_addch(&b, '"');
	return wf_buf_detach(&b);
}

/* The byte offset of 1-based LINE and character COL in E's text (the end when past it). */
static size_t
offset_of(const struct editor *e, int line, int col)
{
	size_t i = 0;

	for (; line > 1 && i < e->len; i++)
		if (e->buf[i] == '\n')
			line--;
	for (; col > 1 && i < e->len && e->buf[i] != '\n'; col--) {
		i++;
		while (i < e->len && ((unsigned char)e->buf[i] & 0xc0) == 0x80)
			i++;
	}
	return i;
}

/* Position member WHICH (0 key line, 1 key col, 2 value line, 3 value col) of PATH; 0 when not recorded. */
static int
pos_at(const struct editor *e, const char *path, int which)
{
	jv p = jv_object_get(jv_copy(e->pos), jv_string(path));
	int v = 0;

	if (jv_get_kind(p) == JV_KIND_ARRAY) {
		jv x = jv_array_get(jv_copy(p), which);

		v = jv_get_kind(x) == JV_KIND_NUMBER ? (int)jv_number_value(x) : 0;
		jv_free(x);
	}
	jv_free(p);
	return v;
}

/* The end of the line holding offset I (its '\n', or the end of the text). */
static size_t
line_end(const struct editor *e, size_t i)
{
	while (i < e->len && e->buf[i] != '\n')
		i++;
	return i;
}

/*
 * The end of the scalar written at offset O, for a key whose line is
 * indented INDENT columns; 0 when it is none this editor rewrites (a flow
 * collection, an unterminated quote).
 */
static size_t
scalar_end(const struct editor *e, size_t o, size_t indent)
{
	const char *b = e->buf;
	size_t i = o + 1, last;

	switch (o < e->len ? b[o] : '\n') {
	case '"':
		for (; i < e->len; i++)
			if (b[i] == '\\')
				i++;
			else if (b[i] == '"')
				return i + 1;
		return 0;
	case '\'':
		for (; i < e->len; i++)
			if (b[i] == '\'' && !(i + 1 < e->len && b[i + 1] == '\''))
				return i + 1;
			else if (b[i] == '\'')
				i++;
		return 0;
	case '|':
	case '>':
		/* A block scalar: its lines are blank or indented deeper than its key. */
		for (last = i = line_end(e, o); i < e->len;) {
			size_t s = i + 1, j = s, end = line_end(e, s);

			while (j < end && b[j] == ' ')
				j++;
			if (j < end && j - s <= indent)
				break;
			if (j < end)
				last = end;
			i = end;
		}
		return last;
	case '{':	/* only {}, an input with no keys */
		while (i < e->len && b[i] == ' ')
			i++;
		return i < e->len && b[i] == '}' ? i + 1 : 0;
	case '[':
		return 0;
	case '\n':
	case '#':
		return o;	/* nothing written: an empty value */
	default:
		for (last = i = o; i < e->len && b[i] != '\n'; i++) {
			if (b[i] == '#' && (b[i - 1] == ' ' || b[i - 1] == '\t'))
				break;
			if (b[i] != ' ' && b[i] != '\t')
				last = i + 1;
		}
		return last;
	}
}

static void
add_edit(struct editor *e, size_t start, size_t end, char *text)
{
	e->edits = wf_xrealloc(e->edits, (e->n + 1) * sizeof *e->edits);
	e->edits[e->n++] = (struct edit){ start, end, text };
}

/* The indentation (spaces) of the line holding offset O. */
static size_t
indent_of(const struct editor *e, size_t o)
{
	size_t s = o, n = 0;

	while (s > 0 && e->buf[s - 1] != '\n')
		s--;
	while (s + n < e->len && e->buf[s + n] == ' ')
		n++;
	return n;
}

/*
 * Replace the value of the key at PATH (written plainly as KEY) with
 * VALUE, quoted: the span runs from just after the colon, so "key:  x  #
 * note" keeps its note.  0, or -1 after a message.
 */
static int
replace_value(struct editor *e, const char *path, const char *key, const char *value)
{
	size_t k = offset_of(e, pos_at(e, path, 0), pos_at(e, path, 1)), klen = strlen(key), o, end;

	if (k + klen > e->len || memcmp(e->buf + k, key, klen) || e->buf[k + klen] != ':')
		goto cannot;
	for (o = k + klen + 1; o < e->len && (e->buf[o] == ' ' || e->buf[o] == '\t');)
		o++;
	if (!(end = scalar_end(e, o, indent_of(e, k))))
		goto cannot;
	add_edit(e, k + klen + 1, end > o ? end : o, wf_xasprintf(" %s", value));
	return 0;
cannot:
	wf_diag_add(e->diag, e->file, pos_at(e, path, 0), pos_at(e, path, 1),
		    "cannot rewrite '%s' here: write it as 'key: value' on one line, or as a block scalar",
		    path + 1);
	return -1;
}

/*
 * Give input NAME (of INPUT, its mapping in the document, borrowed) a
 * default: written before its first key, in the same layout (block or
 * flow); an input with no keys at all gets "{default: VALUE}".
 */
static int
insert_default(struct editor *e, const char *path, jv input, const char *value)
{
	int line = 0, col = 0;
	size_t o, s;

	if (jv_get_kind(input) == JV_KIND_OBJECT)
		jv_object_foreach(input, k, v) {
			char *p = wf_xasprintf("%s/%s", path, jv_string_value(k));
			int l = pos_at(e, p, 0), c = pos_at(e, p, 1);

			if (l && (!line || l < line || (l == line && c < col)))
				line = l, col = c;
			free(p);
			jv_free(k);
			jv_free(v);
		}
	if (!line) {
		char *flow = wf_xasprintf("{default: %s}", value);
		int rc = replace_value(e, path, strrchr(path, '/') + 1, flow);

		free(flow);
		return rc;
	}
	o = offset_of(e, line, col);
	for (s = o; s > 0 && (e->buf[s - 1] == ' ' || e->buf[s - 1] == '\t');)
		s--;
	if (s > 0 && (e->buf[s - 1] == '{' || e->buf[s - 1] == ','))
		add_edit(e, o, o, wf_xasprintf("default: %s, ", value));
	else
		add_edit(e, o, o, wf_xasprintf("default: %s\n%.*s", value, (int)(o - s), e->buf + s));
	return 0;
}

static int
edit_cmp(const void *a, const void *b)
{
	const struct edit *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* The text with E's edits made; malloc'd, its length in *LEN. */
static char *
apply_edits(struct editor *e, size_t *len)
{
	struct wf_buf b = {0};
	size_t at = 0;

	qsort(e->edits, e->n, sizeof *e->edits, edit_cmp);
	for (size_t i = 0; i < e->n; i++) {
		wf_buf_add(&b, e->buf + at, e->edits[i].start - at);
		wf_buf_addstr(&b, e->edits[i].text);
		at = e->edits[i].end;
	}
	wf_buf_add(&b, e->buf + at, e->len - at);
	*len = b.len;
	return wf_buf_detach(&b);
}

/* Each member of VARS (borrowed) an input of WF (borrowed)? 0, or 2 with the inputs there are in DIAG. */
static int
check_vars(jv wf, jv vars, const char *template, struct wf_diag *diag)
{
	jv inputs = wf_jv_get(wf, "inputs");
	int rc = 0;

	jv_object_foreach(vars, k, v) {
		if (!jv_is_valid(inputs) || !jv_object_has(jv_copy(inputs), jv_copy(k))) {
			struct wf_buf names = {0};

			if (jv_is_valid(inputs))
				jv_object_foreach(inputs, n, x) {
					wf_buf_printf(&names, "%s%s", names.len ? ", " : "", jv_string_value(n));
					jv_free(n);
					jv_free(x);
				}
			wf_diag_add(diag, NULL, 0, 0, "--var %s: template '%s' has no input '%s' (its inputs: %s)",
				    jv_string_value(k), template, jv_string_value(k), names.len ? names.s : "none");
			wf_buf_free(&names);
			rc = WF_EXIT_USAGE;
		}
		jv_free(k);
		jv_free(v);
	}
	jv_free(inputs);
	return rc;
}

/* Did every edit come out as meant?  TEXT read back as YAML (VARS borrowed): 0, or -1 after a message. */
static int
check_rendered(const char *text, size_t len, const char *file, const char *name, jv vars, struct wf_diag *diag)
{
	jv doc, pos;
	int bad = wf_yaml_load(text, len, file, &doc, &pos, diag) < 0;

	if (!bad && (!wf_jv_str(doc, "name") || strcmp(wf_jv_str(doc, "name"), name)))
		bad = 1;
	if (!bad)
		jv_object_foreach(vars, k, v) {
			jv inputs = wf_jv_get(doc, "inputs");
			jv in = wf_jv_get(inputs, jv_string_value(k));
			const char *d = wf_jv_str(in, "default");

			if (!d || strcmp(d, jv_string_value(v)))
				bad = 1;
			jv_free(in);
			jv_free(inputs);
			jv_free(k);
			jv_free(v);
		}
	if (bad)
		wf_diag_add(diag, file, 0, 0,
			    "the edited template did not read back as written; write its name: and each input's default: as 'key: value' on one line");
	jv_free(doc);
	jv_free(pos);
	return bad ? -1 : 0;
}

/* Plan the edits of name: and of each default into E (DOC and VARS borrowed); 0, or -1 after a message. */
static int
plan_edits(struct editor *e, jv doc, const char *name, jv vars)
{
	char *q = wf_yaml_quoted(name);
	int rc = replace_value(e, "/name", "name", q);

	free(q);
	jv_object_foreach(vars, k, v) {
		char *path = wf_xasprintf("/inputs/%s", jv_string_value(k));
		char *dpath = wf_xasprintf("%s/default", path);
		jv inputs = wf_jv_get(doc, "inputs");
		jv input = wf_jv_get(inputs, jv_string_value(k));

		q = wf_yaml_quoted(jv_string_value(v));
		if (rc == 0 && pos_at(e, dpath, 0))
			rc = replace_value(e, dpath, "default", q);
		else if (rc == 0)
			rc = insert_default(e, path, input, q);
		free(q);
		free(path);
		free(dpath);
		jv_free(input);
		jv_free(inputs);
		jv_free(k);
		jv_free(v);
	}
	return rc;
}

/* VARS borrowed. */
int
wf_template_render(const char *template, const char *new_name, jv vars,
		   char **text, size_t *len, struct wf_diag *diag)
{
	struct wf_buf b = {0};
	struct editor e = { .diag = diag };
	char err[1024];
	int code = 0, rc;
	char *path = wf_template_find(template, &code, err, sizeof err);
	jv wf = jv_invalid(), doc = jv_invalid(), pos = jv_invalid();

	*text = NULL;
	*len = 0;
	if (!path) {
		wf_diag_add(diag, NULL, 0, 0, "%s", err);
		return code;
	}
	if (wf_read_file(path, WF_YAML_MAX_BYTES, &b) < 0) {
		wf_diag_add(diag, path, 0, 0, "cannot read: %s", strerror(errno));
		rc = errno == ENOENT || errno == EACCES ? WF_EXIT_NOINPUT : WF_EXIT_IO;
		goto out;
	}
	wf = wf_workflow_parse(b.s, b.len, path, diag);
	if (!jv_is_valid(wf)) {
		rc = WF_EXIT_DATA;
		goto out;
	}
	if ((rc = check_vars(wf, vars, template, diag)))
		goto out;
	rc = WF_EXIT_DATA;
	if (wf_yaml_load(b.s, b.len, path, &doc, &pos, diag) < 0)
		goto out;
	/* wf_yaml_load skips a UTF-8 byte order mark: so do the positions. */
	e.buf = b.s + (b.len >= 3 && !memcmp(b.s, "\xef\xbb\xbf", 3) ? 3 : 0);
	e.len = b.len - (size_t)(e.buf - b.s);
	e.file = path;
	e.pos = pos;
	if (plan_edits(&e, doc, new_name, vars) < 0)
		goto out;
	*text = apply_edits(&e, len);
	if (check_rendered(*text, *len, path, new_name, vars, diag) < 0)
		goto out;
	jv_free(wf);
	wf = wf_workflow_parse(*text, *len, path, diag);
	rc = jv_is_valid(wf) ? 0 : WF_EXIT_DATA;
out:
	if (rc) {
		free(*text);
		*text = NULL;
		*len = 0;
	}
	for (size_t i = 0; i < e.n; i++)
		free(e.edits[i].text);
	free(e.edits);
	jv_free(wf);
	jv_free(doc);
	jv_free(pos);
	wf_buf_free(&b);
	free(path);
	return rc;
}

/* ---- writing a new workflow ---- */

char *
wf_create_target(const char *name, char *err, size_t n)
{
	if (!wf_name_valid(name)) {
		snprintf(err, n, "invalid workflow name '%.80s%s': use letters, digits, '.', '_' and '-' (not first: '.' or '-'), at most 128",
			 name, strlen(name) > 80 ? "..." : "");
		return NULL;
	}
	return wf_xasprintf("workflows/%s.yaml", name);
}

/* Write TEXT to a new file in DIR and put it at BASE there (over an old one only with FORCE): 0 or -1/errno. */
static int
write_new(const char *dir, const char *base, const char *text, size_t len, int force)
{
	char *tmp = wf_xasprintf("%s/.%s.tmp.%ld", dir, base, (long)getpid());
	char *dest = wf_xasprintf("%s/%s", dir, base);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0666), rc = -1, saved;

	if (fd >= 0 && wf_write_all(fd, text, len) == 0 && fsync(fd) == 0 && close(fd) == 0) {
		fd = -1;
		/* link(2) never replaces: the refusal holds even against a file made meanwhile. */
		rc = force ? rename(tmp, dest) : link(tmp, dest);
	}
	saved = errno;
	if (fd >= 0)
		close(fd);
	if (rc < 0 || !force)
		unlink(tmp);
	if (rc == 0 && (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		fsync(fd);
		close(fd);
	}
	free(tmp);
	free(dest);
	errno = saved;
	return rc;
}

/* Make directory DIR and those above it that are missing (mkdir -p); 0, or -1 with errno. */
static int
make_dirs(const char *dir)
{
	char *p = wf_xstrdup(dir);
	int rc = 0;

	for (char *s = p + 1; *s && !rc; s++)
		if (*s == '/') {
			*s = '\0';
			if (mkdir(p, 0777) < 0 && errno != EEXIST)
				rc = -1;
			*s = '/';
		}
	if (!rc && mkdir(p, 0777) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

int
wf_create_save(const char *target, const char *text, size_t len, int force, char *err, size_t n)
{
	struct wf_diag d = {0};
	jv wf = wf_workflow_parse(text, len, target, &d);

	if (!jv_is_valid(wf)) {
		if (d.n > 1)
			snprintf(err, n, "%s (and %zu more problems)", d.msgs[0], d.n - 1);
		else
			snprintf(err, n, "%s", d.n ? d.msgs[0] : "the workflow does not validate");
		wf_diag_free(&d);
		return WF_EXIT_DATA;
	}
	jv_free(wf);
	wf_diag_free(&d);
	return wf_create_write(target, text, len, force, err, n);
}

int
wf_create_write(const char *target, const char *text, size_t len, int force, char *err, size_t n)
{
	char *dir, *slash;
	int rc = 0;

	if (!strcmp(target, "-")) {
		if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
			snprintf(err, n, "standard output: %s", strerror(errno));
			return WF_EXIT_IO;
		}
		return 0;
	}
	slash = strrchr(target, '/');
	dir = slash ? wf_xstrndup(target, (size_t)(slash - target)) : wf_xstrdup(".");
	if (!*dir) {
		free(dir);
		dir = wf_xstrdup("/");
	}
	if (make_dirs(dir) < 0) {
		snprintf(err, n, "cannot make directory '%s': %s", dir, strerror(errno));
		rc = WF_EXIT_IO;
	} else if (write_new(dir, slash ? slash + 1 : target, text, len, force) < 0) {
		if (errno == EEXIST)
			snprintf(err, n, "'%s' exists; add --force to overwrite it", target);
		else
			snprintf(err, n, "cannot write '%s': %s", target, strerror(errno));
		rc = errno == EEXIST ? WF_EXIT_USAGE : WF_EXIT_IO;
	}
	free(dir);
	return rc;
}
