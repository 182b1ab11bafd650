/*
 * secret.c: which environment variables hold secrets, which ones a
 * workflow may not set, the one builder of a child's environment without
 * them, and the one masker every program uses.
 *
 * The registry holds the values of the secret-named variables of our
 * environment (read on first use) and every key or token added with
 * wf_secret_add.  Any text that leaves a program (a step's output, a
 * journal event, a provider's error body, a debug trace, a message) goes
 * through wf_redact, wf_redactor_write or wf_secret_mask_jv, which replace
 * each registered value by *** in every form it is likely to take: raw,
 * percent-encoded (upper- or lowercase hex), and in standard and URL-safe
 * Base64, encoded alone (with or without padding) and at each of the
 * three alignments it can have inside a longer Base64 stream (there only
 * the characters that depend on the value alone are matched, so
 * "Basic base64(user:token)" is caught too).
 *
 * Layer 0: base.
 * It calls only util.c.
 */
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"

extern char **environ;

/* Shorter values are not masked: masking "test" everywhere is a bug too. */
#define SECRET_MIN 8

static char **forms;		/* every form of every secret, longest match wins */
static size_t nforms;
static unsigned char first_byte[256];	/* does some form start with this byte? */
static int env_loaded;

/* The secret names: these, the names ending in one of SUFFIXES, and those holding "SECRET". */
static const char *const secret_exact[] = { "GH_TOKEN", "GITHUB_TOKEN", NULL };
static const char *const suffixes[] = { "_API_KEY", "_TOKEN", "_SECRET", "_PASSWORD",
					"_ACCESS_KEY", NULL };

int
wf_secret_name(const char *name)
{
	size_t n = strlen(name);

	for (int i = 0; secret_exact[i]; i++)
		if (!strcmp(name, secret_exact[i]))
			return 1;
	for (int i = 0; suffixes[i]; i++) {
		size_t k = strlen(suffixes[i]);

		if (n >= k && !strcmp(name + n - k, suffixes[i]))
			return 1;
	}
	return strstr(name, "SECRET") != NULL;
}

/* The names a workflow may not set: these, and those starting with one of PREFIXES. */
static const char *const exact[] = {
	"PATH", "HOME", "SHELL", "ENV", "BASH_ENV", "IFS", "CDPATH", "PS1", "PS2", "PS3",
	"PS4", "PROMPT_COMMAND", "SHELLOPTS", "BASHOPTS", "GLOBIGNORE", "BASH_XTRACEFD",
	"GCONV_PATH", "HOSTALIASES", "LOCPATH", "NLSPATH", "PYTHONPATH", "PYTHONHOME",
	"PYTHONSTARTUP", "PERL5LIB", "PERL5OPT", "PERLLIB", "RUBYLIB", "RUBYOPT",
	"NODE_OPTIONS", "NODE_PATH", "EDITOR", "VISUAL", "PAGER", "SSH_ASKPASS", "GIT_SSH",
	"GIT_SSH_COMMAND", "GIT_ASKPASS", "GIT_EXEC_PATH", "GIT_EDITOR", "GIT_PAGER",
	"GIT_SEQUENCE_EDITOR", "GIT_EXTERNAL_DIFF", "GIT_PROXY_COMMAND", "GIT_DIR",
	"GIT_WORK_TREE", NULL
};
static const char *const prefixes[] = { "LD_", "DYLD_", "BASH_FUNC_", "GIT_CONFIG", "WF_", NULL };

int
wf_var_arg(jv *vars, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name;
	int rc = 0;

	if (!eq || eq == arg) {
		wf_warn("--var takes NAME=VALUE, got '%s'", arg);
		return WF_EXIT_USAGE;
	}
	name = wf_xstrndup(arg, (size_t)(eq - arg));
	if (wf_env_name_reserved(name)) {
		wf_warn("--var %s: variable '%s' would change what commands run, so a workflow may not set it (use another name)",
			name, name);
		rc = WF_EXIT_DATA;
	} else {
		*vars = jv_object_set(*vars, jv_string(name), jv_string(eq + 1));
	}
	free(name);
	return rc;
}

int
wf_env_name_reserved(const char *name)
{
	for (int i = 0; exact[i]; i++)
		if (!strcmp(name, exact[i]))
			return 1;
	for (int i = 0; prefixes[i]; i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return 1;
	return 0;
}

/* The lists above, for wf-parse --schema; returns ownership to the caller. */
jv
wf_env_name_lists(void)
{
	const char *const *lists[] = { secret_exact, suffixes, exact, prefixes };
	const char *const keys[] = { "secret", "secret-suffixes", "reserved", "reserved-prefixes" };
	jv out = jv_object_set(jv_object(), jv_string("secret-infix"), jv_string("SECRET"));

	for (int l = 0; l < 4; l++) {
		jv a = jv_array();

		for (int i = 0; lists[l][i]; i++)
			a = jv_array_append(a, jv_string(lists[l][i]));
		out = jv_object_set(out, jv_string(keys[l]), a);
	}
	return out;
}

/* ---- the registry ---- */

static void
add_form(const char *s, size_t n)
{
	if (n < SECRET_MIN)
		return;
	for (size_t i = 0; i < nforms; i++)
		if (strlen(forms[i]) == n && !memcmp(forms[i], s, n))
			return;
	forms = wf_xrealloc(forms, (nforms + 1) * sizeof *forms);
	forms[nforms++] = wf_xstrndup(s, n);
	first_byte[(unsigned char)s[0]] = 1;
}

/* P[0..N) in Base64 without padding, standard or URL-safe alphabet; malloc'd. */
static char *
base64_bare(const unsigned char *p, size_t n, int urlsafe)
{
	static const char std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *al = urlsafe ? url : std;
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		wf_buf_addch(&b, al[(v >> 18) & 63]);
		wf_buf_addch(&b, al[(v >> 12) & 63]);
		if (left > 1)
			wf_buf_addch(&b, al[(v >> 6) & 63]);
		if (left > 2)
			wf_buf_addch(&b, al[v & 63]);
	}
	return wf_buf_detach(&b);
}

/* Register the Base64 forms of VALUE[0..N) in one alphabet. */
static void
add_base64(const char *value, size_t n, int urlsafe)
{
	char *alone = base64_bare((const unsigned char *)value, n, urlsafe);
	size_t k = strlen(alone);

	/* Alone: with its padding, and without. */
	{
		char *padded = wf_xasprintf("%s%s", alone, k % 4 == 2 ? "==" : k % 4 == 3 ? "=" : "");

		add_form(padded, strlen(padded));
		free(padded);
	}
	add_form(alone, k);
	free(alone);
	/*
	 * Inside a longer stream the value starts at bit 8A of some group of
	 * three bytes: encode it behind A filler bytes and keep the 6-bit
	 * characters that lie wholly within its own bits.
	 */
	for (size_t a = 0; a < 3; a++) {
		unsigned char *buf = wf_xcalloc(n + a + 2, 1);
		char *enc;
		size_t from = (8 * a + 5) / 6, to = (8 * a + 8 * n) / 6;

		memcpy(buf + a, value, n);
		enc = base64_bare(buf, n + a + 2, urlsafe);
		if (to > from && to <= strlen(enc))
			add_form(enc + from, to - from);
		free(enc);
		free(buf);
	}
}

/* Register VALUE[0..N) percent-encoded with upper- or lowercase hex digits. */
static void
add_percent(const char *value, size_t n, int lower)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)value[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			wf_buf_addch(&b, (char)c);
		else
			wf_buf_printf(&b, lower ? "%%%02x" : "%%%02X", c);
	}
	add_form(b.s, b.len);
	wf_buf_free(&b);
}

static void
add_value(const char *value)
{
	size_t n;

	if (!value || (n = strlen(value)) < SECRET_MIN)
		return;
	add_form(value, n);
	add_percent(value, n, 0);
	add_percent(value, n, 1);
	add_base64(value, n, 0);
	add_base64(value, n, 1);
}

/* The NAME of the environment entry E ("NAME=value"); 0, or -1 when it has no '=' or a name too long. */
static int
env_name(const char *e, char name[256])
{
	const char *eq = strchr(e, '=');
	size_t k;

	if (!eq || (k = (size_t)(eq - e)) >= 256)
		return -1;
	memcpy(name, e, k);
	name[k] = '\0';
	return 0;
}

static void
load_env(void)
{
	char name[256];

	env_loaded = 1;
	for (char **e = environ; *e; e++)
		if (env_name(*e, name) == 0 && wf_secret_name(name))
			add_value(strchr(*e, '=') + 1);
}

static void
ensure_loaded(void)
{
	if (!env_loaded)
		load_env();
}

void
wf_secret_add(const char *value)
{
	ensure_loaded();
	add_value(value);
}

void
wf_secret_add_env(void)
{
	load_env();
}

/* ---- the environment children get ---- */

/* Is NAME one of the strings in the array LIST (borrowed; anything else holds none)? */
static int
listed(jv list, const char *name)
{
	int found = 0;

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, i, a) {
			(void)i;
			if (jv_get_kind(a) == JV_KIND_STRING && !strcmp(jv_string_value(a), name))
				found = 1;
			jv_free(a);
		}
	return found;
}

/* KEEP is borrowed. */
char **
wf_env_without_secrets(jv keep, const char *const drop[])
{
	char **env = wf_xcalloc(1, sizeof *env), name[256];
	size_t n = 0;

	for (char **e = environ; *e; e++) {
		int skip = 0;

		if (env_name(*e, name) < 0)
			continue;
		if (wf_secret_name(name) && !listed(keep, name))
			skip = 1;
		for (int i = 0; drop && drop[i] && !skip; i++)
			if (!strcmp(drop[i], name))
				skip = 1;
		if (skip)
			continue;
		env = wf_xrealloc(env, (n + 2) * sizeof *env);
		env[n++] = wf_xstrdup(*e);
		env[n] = NULL;
	}
	return env;
}

/* ---- matching ---- */

/* The length of the longest secret form that starts at P (N bytes left), or 0. */
static size_t
match_at(const char *p, size_t n)
{
	size_t best = 0;

	if (!first_byte[(unsigned char)*p])
		return 0;
	for (size_t i = 0; i < nforms; i++) {
		size_t k = strlen(forms[i]);

		if (k <= n && k > best && !memcmp(p, forms[i], k))
			best = k;
	}
	return best;
}

/* Append P[0..N) to OUT masked; NUL bytes become spaces when NUL_TO_SPACE. */
static void
mask_into(struct wf_buf *out, const char *p, size_t n, int nul_to_space)
{
	size_t i = 0;

	while (i < n) {
		size_t k = nforms ? match_at(p + i, n - i) : 0;

		if (k) {
			wf_buf_addstr(out, "***");
			i += k;
		} else {
			wf_buf_addch(out, nul_to_space && !p[i] ? ' ' : p[i]);
			i++;
		}
	}
}

char *
wf_redact(const char *text, size_t len)
{
	struct wf_buf b = {0};

	ensure_loaded();
	wf_buf_addstr(&b, "");
	mask_into(&b, text, len, 1);
	return wf_buf_detach(&b);
}

/* V consumed; returns ownership. */
jv
wf_secret_mask_jv(jv v)
{
	ensure_loaded();
	if (!nforms)
		return v;
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING: {
		struct wf_buf b = {0};
		jv out;

		wf_buf_addstr(&b, "");
		mask_into(&b, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)), 0);
		out = jv_string_sized(b.s, (int)b.len);
		wf_buf_free(&b);
		jv_free(v);
		return out;
	}
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));

		for (int i = 0; i < n; i++) {
			jv item = jv_array_get(jv_copy(v), i);

			v = jv_array_set(v, i, wf_secret_mask_jv(item));
		}
		return v;
	}
	case JV_KIND_OBJECT: {
		jv out = jv_object();

		jv_object_foreach(v, k, item)
			out = jv_object_set(out, wf_secret_mask_jv(k), wf_secret_mask_jv(item));
		jv_free(v);
		return out;
	}
	default:
		return v;
	}
}

/* The longest tail of P[0..N) that is a proper prefix of a secret form. */
static size_t
held_tail(const char *p, size_t n)
{
	size_t hold = 0;

	for (size_t i = 0; i < nforms; i++) {
		size_t k = strlen(forms[i]);

		for (size_t t = k - 1 < n ? k - 1 : n; t > hold; t--)
			if (!memcmp(p + n - t, forms[i], t)) {
				hold = t;
				break;
			}
	}
	return hold;
}

int
wf_redactor_write(struct wf_redactor *r, const char *p, size_t n)
{
	struct wf_buf out = {0};
	size_t i = 0, hold, len;
	int rc = 0;

	ensure_loaded();
	if (!nforms && !r->pending.len)
		return n ? r->out(r->ctx, p, n) : 0;
	wf_buf_add(&r->pending, p, n);
	len = r->pending.len;
	hold = held_tail(r->pending.s, len);
	while (i < len - hold) {
		size_t k = match_at(r->pending.s + i, len - i);

		if (k) {
			wf_buf_addstr(&out, "***");
			i += k;
		} else
			wf_buf_addch(&out, r->pending.s[i++]);
	}
	if (out.len)
		rc = r->out(r->ctx, out.s, out.len);
	wf_buf_free(&out);
	memmove(r->pending.s, r->pending.s + i, len - i);
	r->pending.len = len - i;
	r->pending.s[r->pending.len] = '\0';
	return rc;
}

int
wf_redactor_flush(struct wf_redactor *r)
{
	int rc = 0;

	if (r->pending.len) {
		struct wf_buf b = {0};

		mask_into(&b, r->pending.s, r->pending.len, 0);
		rc = r->out(r->ctx, b.s, b.len);
		wf_buf_free(&b);
	}
	wf_buf_free(&r->pending);
	return rc;
}
