/*
 * keys.c: API keys for model providers and forges.  A key is looked up
 * from the environment variable a provider names or from the output of a
 * command run without a shell; it is never taken from argv or a file the
 * user shares.  Every key we hold is registered with the masker
 * (secret.c), so that any text we print, and any stream we pass on, has
 * it replaced by ***.  No libcurl here.
 *
 * Layer 1: formats and channels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf_priv.h"

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

/*
 * The argument vector of api_key_cmd CMD (borrowed): a command line
 * split at blanks, or a list; NULL when neither.
 */
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

/* PROVIDER borrowed. */
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
