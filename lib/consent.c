/*
 * consent.c: what may run without asking.  The user's and the project's
 * configuration list auto-approve patterns; `wf trust` pins a workflow
 * file's content hash as approved.  A pattern other than the catch-all
 * "*" and "action:NAME" approves only a shell command that is exactly one
 * simple command, word for word, so "echo *" never approves
 * "echo hi; touch pwned".  The driver asks for everything else
 * that runs a command or changes something outside the run; which
 * actions do is the action table's consent flag (action.c).
 *
 * Layer 2: domain data.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"

/* The name P[0..N), a project configuration's bytes, is trusted under (malloc'd). */
static char *
config_hash(const char *p, size_t n)
{
	char hex[65];

	wf_sha256_hex(p, n, hex);
	return wf_xasprintf("config-sha256:%s", hex);
}

int
wf_trust_config(const char *file, char *err, size_t n)
{
	struct wf_buf b = {0};
	char *hash;
	int rc;

	if (wf_read_file(file, WF_YAML_MAX_BYTES, &b) < 0) {
		snprintf(err, n, "%s: cannot read: %s", file, strerror(errno));
		wf_buf_free(&b);
		return errno == ENOENT || errno == EACCES ? WF_EXIT_NOINPUT : WF_EXIT_IO;
	}
	hash = config_hash(b.s, b.len);
	rc = wf_trust_add(hash, file, err, n);
	free(hash);
	wf_buf_free(&b);
	return rc;
}

/*
 * Append the auto-approve patterns of config FILE to *PATTERNS (owned by
 * the caller); -1 after a message in DIAG.  With NEED_TRUST (a project's
 * file, which came with the repository) they count only when the file's
 * content is trusted; otherwise a warning says so and none are added.
 */
static int
load_patterns(const char *file, int need_trust, jv *patterns, struct wf_diag *diag)
{
	struct wf_buf b = {0};
	jv doc, pos;
	int rc = 0;

	if (wf_read_file(file, WF_YAML_MAX_BYTES, &b) < 0) {
		wf_buf_free(&b);
		if (errno == ENOENT)
			return 0;
		wf_diag_add(diag, file, 0, 0, "cannot read: %s", strerror(errno));
		return -1;
	}
	if (need_trust) {
		char *hash = config_hash(b.s, b.len);
		int trusted = wf_trusted(hash);

		free(hash);
		if (!trusted) {
			wf_warn("%s: its auto-approve patterns are ignored: a project's file counts only once trusted "
				"(read it, then 'wf trust %s'; any edit asks again)", file, file);
			wf_buf_free(&b);
			return 0;
		}
	}
	if (wf_yaml_load(b.s, b.len, file, &doc, &pos, diag) < 0) {
		wf_buf_free(&b);
		jv_free(pos);
		return -1;
	}
	if (jv_get_kind(doc) == JV_KIND_OBJECT) {
		jv_object_foreach(doc, k, v) {
			if (!strcmp(jv_string_value(k), "auto-approve") && jv_get_kind(v) == JV_KIND_ARRAY) {
				jv_array_foreach(v, i, p) {
					(void)i;
					if (jv_get_kind(p) == JV_KIND_STRING)
						*patterns = jv_array_append(*patterns, p);
					else
						jv_free(p);
				}
			} else if (strcmp(jv_string_value(k), "auto-approve")) {
				wf_diag_add(diag, file, 1, 1, "unknown key '%s' (known: auto-approve)", jv_string_value(k));
				rc = -1;
			} else {
				wf_diag_add(diag, file, 1, 1, "'auto-approve' must be a list of patterns");
				rc = -1;
			}
			jv_free(k);
			jv_free(v);
		}
	} else if (jv_get_kind(doc) != JV_KIND_NULL) {
		wf_diag_add(diag, file, 1, 1, "expected a mapping with 'auto-approve'");
		rc = -1;
	}
	jv_free(doc);
	jv_free(pos);
	wf_buf_free(&b);
	return rc;
}

/* The user's and the project's auto-approve patterns; returns ownership to the caller (invalid after problems in DIAG). */
jv
wf_auto_approve_patterns(struct wf_diag *diag)
{
	char *user = wf_config_file("config.yaml");
	jv pats = jv_array();
	int bad = 0;

	if (user)
		bad |= load_patterns(user, 0, &pats, diag) < 0;
	bad |= load_patterns(WF_PROJECT_CONFIG, 1, &pats, diag) < 0;
	free(user);
	if (bad) {
		jv_free(pats);
		return jv_invalid();
	}
	return pats;
}

/* Is S[0..N) a shell variable name? */
static int
shell_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

/* A command as the words the shell would pass, or the reason it is not one simple command. */
struct words {
	char **v;
	size_t n;
	struct wf_buf cur;
	int in_word;		/* the current word has begun (even if empty: "") */
};

static void
word_end(struct words *w)
{
	if (!w->in_word)
		return;
	w->v = wf_xrealloc(w->v, (w->n + 2) * sizeof *w->v);
	w->v[w->n++] = wf_xstrndup(w->cur.s ? w->cur.s : "", w->cur.len);
	w->v[w->n] = NULL;
	w->cur.len = 0;
	w->in_word = 0;
}

static void
word_add(struct words *w, char c)
{
	wf_buf_addch(&w->cur, c);
	w->in_word = 1;
}

/*
 * The value the shell gives the expansion "${NAME}" at *P (advanced past
 * it): a variable of VARS (borrowed) that the step's environment carries
 * under that name.  NULL for any other use of '$', and for names the
 * environment does not carry as they are (secret, reserved, not set here):
 * their value is not known, so the command is not matched.
 */
static char *
expansion(const char **p, jv vars)
{
	const char *s = *p, *close;
	char name[256];
	size_t n;
	jv v;
	char *text = NULL;

	if (s[1] != '{' || !(close = strchr(s + 2, '}')))
		return NULL;
	n = (size_t)(close - (s + 2));
	if (n >= sizeof name || !shell_name(s + 2, n))
		return NULL;
	memcpy(name, s + 2, n);
	name[n] = '\0';
	if (wf_secret_name(name) || wf_env_name_reserved(name) || jv_get_kind(vars) != JV_KIND_OBJECT)
		return NULL;
	v = jv_object_get(jv_copy(vars), jv_string(name));
	if (jv_get_kind(v) == JV_KIND_STRING || jv_get_kind(v) == JV_KIND_NUMBER ||
	    jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
		text = wf_jv_text(v);
	jv_free(v);
	if (text)
		*p = close + 1;
	return text;
}

/*
 * Split the shell command CMD into the words the shell would pass to the
 * one program it runs, with the quoting rules of sh(1): '...', "..." and
 * backslash; "${NAME}" is replaced by its value from VARS (borrowed),
 * split on blanks when unquoted.  NULL when CMD is not exactly one simple
 * command: an operator or separator (; & | < > ( ) and newlines), a
 * command substitution, any other use of $, a comment, an assignment or
 * a reserved word in front, an unterminated quote, or no word at all.
 */
static char **
simple_command_words(const char *cmd, jv vars)
{
	static const char *const reserved[] = { "!", "{", "}", "[[", "]]", "if", "then", "else", "elif",
						"fi", "case", "esac", "for", "while", "until", "do", "done",
						"function", "select", "time", "in", "coproc", NULL };
	struct words w = {0};
	const char *p = cmd;

	while (*p) {
		char c = *p;

		if (c == ' ' || c == '\t') {
			word_end(&w);
			p++;
		} else if (strchr("\n;&|<>()`", c) || (c == '#' && !w.in_word)) {
			goto no;
		} else if (c == '\\') {
			if (!p[1] || p[1] == '\n')
				goto no;
			word_add(&w, p[1]);
			p += 2;
		} else if (c == '\'') {
			const char *end = strchr(p + 1, '\'');

			if (!end || memchr(p + 1, '\n', (size_t)(end - p - 1)))
				goto no;
			w.in_word = 1;
			wf_buf_add(&w.cur, p + 1, (size_t)(end - p - 1));
			p = end + 1;
		} else if (c == '"') {
			w.in_word = 1;
			for (p++; *p != '"'; ) {
				if (!*p || *p == '`' || *p == '\n')
					goto no;
				if (*p == '\\' && p[1] && strchr("$`\"\\", p[1])) {
					wf_buf_addch(&w.cur, p[1]);
					p += 2;
				} else if (*p == '\\' && p[1] == '\n') {
					goto no;
				} else if (*p == '$') {
					char *val = expansion(&p, vars);

					if (!val)
						goto no;
					wf_buf_addstr(&w.cur, val);
					free(val);
				} else {
					wf_buf_addch(&w.cur, *p++);
				}
			}
			p++;
		} else if (c == '$') {
			char *val = expansion(&p, vars);

			if (!val)
				goto no;
			/* Unquoted: field splitting on blanks, as the shell does. */
			for (const char *q = val; *q; q++)
				if (*q == ' ' || *q == '\t' || *q == '\n')
					word_end(&w);
				else
					word_add(&w, *q);
			free(val);
		} else {
			word_add(&w, c);
			p++;
		}
	}
	word_end(&w);
	if (!w.n)
		goto no;
	for (int i = 0; reserved[i]; i++)
		if (!strcmp(w.v[0], reserved[i]))
			goto no;
	{
		size_t k = strcspn(w.v[0], "=");

		if (w.v[0][k] == '=' && shell_name(w.v[0], k))
			goto no;
	}
	wf_buf_free(&w.cur);
	return w.v;
no:
	wf_buf_free(&w.cur);
	wf_strv_free(w.v);
	return NULL;
}

/* Does PATTERN, split on blanks, match WORDS: each word a glob against one word, a last "*" any rest? */
static int
words_match(const char *pattern, char **words)
{
	char *copy = wf_xstrdup(pattern), *save = NULL;
	size_t i = 0;
	int ok = 1, any_pattern = 0;

	for (char *pw = strtok_r(copy, " \t", &save); pw && ok; pw = strtok_r(NULL, " \t", &save)) {
		any_pattern = 1;
		if (!strcmp(pw, "*") && !strtok_r(NULL, " \t", &save)) {
			/* The last word "*": any remaining words, or none. */
			free(copy);
			return 1;
		}
		if (!words[i] || fnmatch(pw, words[i], 0) != 0)
			ok = 0;
		else
			i++;
	}
	free(copy);
	return ok && any_pattern && !words[i];
}

/* The first of PATTERNS (borrowed) approving ACTION running COMMAND with VARS (borrowed), or NULL; the text lives in PATTERNS. */
const char *
wf_auto_approved(jv patterns, const char *action, const char *command, jv vars)
{
	char label[160];
	char **words = command ? simple_command_words(command, vars) : NULL;
	const char *hit = NULL;

	snprintf(label, sizeof label, "action:%s", action);
	jv_array_foreach(patterns, i, p) {
		const char *pat = jv_string_value(p);
		int yes;

		if (!strcmp(pat, "*"))
			yes = 1;	/* the catch-all: every step, whatever it runs */
		else if (!strncmp(pat, "action:", 7))
			yes = fnmatch(pat, label, 0) == 0;
		else
			yes = words && words_match(pat, words);
		jv_free(p);
		if (yes && !hit) {
			/* The pattern string lives on in PATTERNS. */
			jv kept = jv_array_get(jv_copy(patterns), i);

			hit = jv_string_value(kept);
			jv_free(kept);
		}
	}
	wf_strv_free(words);
	return hit;
}

int
wf_trusted(const char *hash)
{
	char *f = wf_config_file("trusted");
	struct wf_buf b = {0};
	int yes = 0;

	if (f && wf_read_file(f, (size_t)4 << 20, &b) == 0 && b.s) {
		size_t n = strlen(hash);

		for (char *l = b.s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
			if (!strncmp(l, hash, n) && (l[n] == ' ' || l[n] == '\n' || !l[n]))
				yes = 1;
	}
	wf_buf_free(&b);
	free(f);
	return yes;
}

/* NAMES (consumed) with each custom action of WF's (borrowed) steps whose program lies in actions/ beside SRC, as NAME: path. */
static jv
programs_beside(jv wf, const char *src, jv names)
{
	const char *slash = strrchr(src, '/');
	char *dir = slash ? wf_xasprintf("%.*s/actions/", (int)(slash - src), src) : wf_xstrdup("actions/");
	jv steps = wf_jv_get(wf, "steps");

	if (jv_get_kind(steps) == JV_KIND_ARRAY)
		jv_array_foreach(steps, i, s) {
			const char *a = wf_jv_str(s, "action");
			char *exe = a && wf_action_lookup(a) == WF_ACT_CUSTOM ? wf_action_find(a, src) : NULL;

			(void)i;
			if (exe && !strncmp(exe, dir, strlen(dir)))
				names = jv_object_set(names, jv_string(a), jv_string(exe));
			free(exe);
			jv_free(s);
		}
	jv_free(steps);
	free(dir);
	return names;
}

char *
wf_trust_key(jv wf)
{
	const char *hash = wf_jv_str(wf, "hash"), *src = wf_jv_str(wf, "source");
	jv progs, keys;
	struct wf_buf all = {0};
	char hex[65];

	if (!hash)
		return NULL;
	if (!src || !strcmp(src, "-"))
		return wf_xstrdup(hash);
	progs = programs_beside(wf, src, jv_object());
	if (jv_object_length(jv_copy(progs)) == 0) {
		jv_free(progs);
		return wf_xstrdup(hash);
	}
	wf_buf_addstr(&all, hash);
	keys = jv_keys(jv_copy(progs));
	jv_array_foreach(keys, i, k) {
		struct wf_buf b = {0};
		const char *path = wf_jv_str(progs, jv_string_value(k));

		(void)i;
		/* A program that cannot be read pins as unreadable: once it can be, it asks again. */
		if (wf_read_file(path, (size_t)256 << 20, &b) == 0)
			wf_sha256_hex(b.s ? b.s : "", b.len, hex);
		else
			snprintf(hex, sizeof hex, "unreadable");
		wf_buf_addstr(&all, "\n");
		wf_buf_addstr(&all, jv_string_value(k));
		wf_buf_addstr(&all, " ");
		wf_buf_addstr(&all, hex);
		wf_buf_free(&b);
		jv_free(k);
	}
	jv_free(keys);
	jv_free(progs);
	wf_sha256_hex(all.s, all.len, hex);
	wf_buf_free(&all);
	return wf_xasprintf("sha256:%s", hex);
}

int
wf_trust_add(const char *hash, const char *path, char *err, size_t n)
{
	char *dir = wf_config_dir(), *f = wf_config_file("trusted");
	struct wf_buf b = {0};
	int dfd, rc = 0;

	if (!dir) {
		snprintf(err, n, "no configuration directory to record trust in: set HOME or XDG_CONFIG_HOME");
		return WF_EXIT_CONFIG;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		char *parent = wf_xstrdup(dir), *slash = strrchr(parent, '/');

		if (slash) {
			*slash = '\0';
			mkdir(parent, 0700);
		}
		free(parent);
		if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			snprintf(err, n, "cannot create '%s': %s", dir, strerror(errno));
			free(dir);
			free(f);
			return WF_EXIT_IO;
		}
	}
	if (wf_read_file(f, (size_t)4 << 20, &b) < 0 && errno != ENOENT) {
		snprintf(err, n, "cannot read '%s': %s", f, strerror(errno));
		rc = WF_EXIT_IO;
	} else if (!wf_trusted(hash)) {
		wf_buf_printf(&b, "%s %s\n", hash, path);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || wf_atomic_write(dfd, "trusted", b.s, b.len) < 0) {
			snprintf(err, n, "cannot write '%s': %s", f, strerror(errno));
			rc = WF_EXIT_IO;
		}
		if (dfd >= 0)
			close(dfd);
	}
	wf_buf_free(&b);
	free(dir);
	free(f);
	return rc;
}
