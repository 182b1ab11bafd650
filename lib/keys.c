/*
 * keys.c: API keys for model providers and forges.  A key is looked up
 * from the environment variable a provider names or from the output of a
 * command run without a shell; it is never taken from argv or a file the
 * user shares.  Every key we hold, and every secret-looking variable in
 * our environment, is registered here so that any text we print, and
 * any stream we pass on, has it replaced by ***, also in its Base64 and
 * URL-encoded forms.  No libcurl here, so tools that only redact need
 * not link it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"

extern char **environ;

/* Shorter values are not masked: masking "test" everywhere is a bug too. */
#define SECRET_MIN 8

static char **secrets;
static size_t nsecrets;

static void
add_one(const char *s, size_t n)
{
	for (size_t i = 0; i < nsecrets; i++)
		if (strlen(secrets[i]) == n && !memcmp(secrets[i], s, n))
			return;
	secrets = wf_xrealloc(secrets, (nsecrets + 1) * sizeof *secrets);
	secrets[nsecrets++] = wf_xstrndup(s, n);
}

static char *
base64(const char *s, size_t n)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = (const unsigned char *)s;
	struct wf_buf b = {0};

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t left = n - i;

		if (left > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		wf_buf_addch(&b, al[(v >> 18) & 63]);
		wf_buf_addch(&b, al[(v >> 12) & 63]);
		wf_buf_addch(&b, left > 1 ? al[(v >> 6) & 63] : '=');
		wf_buf_addch(&b, left > 2 ? al[v & 63] : '=');
	}
	return wf_buf_detach(&b);
}

static char *
urlencode(const char *s, size_t n)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~')
			wf_buf_addch(&b, (char)c);
		else
			wf_buf_printf(&b, "%%%02X", c);
	}
	return wf_buf_detach(&b);
}

void
wf_secret_add(const char *value)
{
	size_t n;
	char *e;

	if (!value || (n = strlen(value)) < SECRET_MIN)
		return;
	add_one(value, n);
	e = base64(value, n);
	/* Inside longer Base64 text the tail padding differs: match without it. */
	add_one(e, strcspn(e, "="));
	free(e);
	e = urlencode(value, n);
	add_one(e, strlen(e));
	free(e);
}

void
wf_secret_add_env(void)
{
	for (char **e = environ; *e; e++) {
		char *eq = strchr(*e, '='), name[256];
		size_t k;

		if (!eq || (k = (size_t)(eq - *e)) >= sizeof name)
			continue;
		memcpy(name, *e, k);
		name[k] = '\0';
		if (wf_secret_name(name))
			wf_secret_add(eq + 1);
	}
}

/* The length of the secret that starts at P (N bytes left), or 0. */
static size_t
match_at(const char *p, size_t n)
{
	size_t best = 0;

	for (size_t i = 0; i < nsecrets; i++) {
		size_t k = strlen(secrets[i]);

		if (k <= n && k > best && !memcmp(p, secrets[i], k))
			best = k;
	}
	return best;
}

char *
wf_redact(const char *text, size_t len)
{
	struct wf_buf b = {0};
	size_t i = 0;

	wf_buf_addstr(&b, "");
	while (i < len) {
		size_t k = nsecrets ? match_at(text + i, len - i) : 0;

		if (k) {
			wf_buf_addstr(&b, "***");
			i += k;
		} else {
			wf_buf_addch(&b, text[i] ? text[i] : ' ');
			i++;
		}
	}
	return wf_buf_detach(&b);
}

/* The longest tail of P[0..N) that is a proper prefix of a secret. */
static size_t
held_tail(const char *p, size_t n)
{
	size_t hold = 0;

	for (size_t i = 0; i < nsecrets; i++) {
		size_t k = strlen(secrets[i]);

		for (size_t t = k - 1 < n ? k - 1 : n; t > hold; t--)
			if (!memcmp(p + n - t, secrets[i], t)) {
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
		char *m = wf_redact(r->pending.s, r->pending.len);

		rc = r->out(r->ctx, m, strlen(m));
		free(m);
	}
	wf_buf_free(&r->pending);
	return rc;
}

/* Split a command line on blanks: no quotes, no expansion, no shell. */
static char **
split_blanks(const char *s)
{
	char **v = NULL;
	size_t n = 0;

	while (*s) {
		size_t k;

		s += strspn(s, " \t");
		if (!*s)
			break;
		k = strcspn(s, " \t");
		v = wf_xrealloc(v, (n + 2) * sizeof *v);
		v[n++] = wf_xstrndup(s, k);
		v[n] = NULL;
		s += k;
	}
	return v;
}

static char **
cmd_argv(jv cmd)
{
	char **v = NULL;
	size_t n = 0;

	if (jv_get_kind(cmd) == JV_KIND_STRING)
		return split_blanks(jv_string_value(cmd));
	if (jv_get_kind(cmd) != JV_KIND_ARRAY)
		return NULL;
	jv_array_foreach(cmd, i, item) {
		if (jv_get_kind(item) == JV_KIND_STRING) {
			v = wf_xrealloc(v, (n + 2) * sizeof *v);
			v[n++] = wf_xstrdup(jv_string_value(item));
			v[n] = NULL;
		}
		jv_free(item);
	}
	return v;
}

/* Run the key command ARGV; its first output line, trimmed, or NULL with ERR. */
static char *
run_key_cmd(char **argv, const char *pname, char *err, size_t errlen)
{
	struct wf_child c;
	struct wf_buf out = {0};
	struct wf_io_opts o = {0};
	const char *t = getenv("WF_KEY_CMD_TIMEOUT");
	double timeout = t ? strtod(t, NULL) : 30;
	int status, rc;
	char *key, *p, *end;

	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_OUT | WF_SPAWN_NULL_IN | WF_SPAWN_PGRP, NULL, &c) < 0) {
		snprintf(err, errlen, "provider '%s': cannot run api_key_cmd '%s': %s", pname, argv[0],
			 strerror(errno));
		return NULL;
	}
	o.timeout_s = timeout > 0 ? timeout : 30;
	o.pgrp = 1;
	o.sink = wf_sink_to_buf;
	o.ctx = &out;
	rc = wf_communicate(&c, NULL, 0, &o, &status);
	if (rc != 0 || wf_exit_code(status) != 0) {
		if (rc == WF_COMM_TIMEOUT)
			snprintf(err, errlen, "provider '%s': api_key_cmd '%s' timed out after %g s", pname,
				 argv[0], o.timeout_s);
		else
			snprintf(err, errlen, "provider '%s': api_key_cmd '%s' failed with status %d", pname,
				 argv[0], rc ? -1 : wf_exit_code(status));
		if (out.s)
			explicit_bzero(out.s, out.len);
		wf_buf_free(&out);
		return NULL;
	}
	p = out.s ? out.s : "";
	p += strspn(p, " \t\r\n");
	end = p + strcspn(p, "\r\n");
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	key = end > p ? wf_xstrndup(p, (size_t)(end - p)) : NULL;
	if (out.s)
		explicit_bzero(out.s, out.len);
	wf_buf_free(&out);
	if (!key)
		snprintf(err, errlen, "provider '%s': api_key_cmd '%s' printed no key", pname, argv[0]);
	return key;
}

char *
wf_api_key(jv provider, const char *pname, int *code, char *err, size_t errlen)
{
	const char *env = wf_jv_str(provider, "api_key_env");
	jv cmd = wf_jv_get(provider, "api_key_cmd");
	char *key = NULL;

	*code = 0;
	if (jv_get_kind(cmd) != JV_KIND_NULL) {
		char **argv = cmd_argv(cmd);

		if (!argv || !argv[0])
			snprintf(err, errlen, "provider '%s': api_key_cmd is empty", pname);
		else
			key = run_key_cmd(argv, pname, err, errlen);
		wf_strv_free(argv);
		if (!key)
			*code = WF_EXIT_CONFIG;
	} else if (env) {
		const char *v = getenv(env);

		if (!v || !*v) {
			snprintf(err, errlen, "provider '%s': API key variable '%s' is not set", pname, env);
			*code = WF_EXIT_CONFIG;
		} else
			key = wf_xstrdup(v);
	}
	jv_free(cmd);
	if (key && strpbrk(key, "\r\n")) {
		snprintf(err, errlen, "provider '%s': the API key contains a line break", pname);
		explicit_bzero(key, strlen(key));
		free(key);
		key = NULL;
		*code = WF_EXIT_CONFIG;
	}
	if (key)
		wf_secret_add(key);
	return key;
}
