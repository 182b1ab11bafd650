/*
 * forge.c: a small client for the GitHub REST API (and the servers that
 * speak the same endpoints: GitHub Enterprise, Gitea, Forgejo), used only
 * by wf-pr, so libcurl stays out of every other program.  This file is
 * the client: where the API and the repository are, the token, one
 * request with retries, error statuses as exit codes, JSON bodies and
 * pagination.  The pull-request verbs built on it are in forge_pr.c.
 *
 * Requests that are safe to repeat are retried with backoff; a POST is
 * repeated only when it surely never arrived, or was refused for the rate
 * limit.  The token never leaves the Authorization header and is masked
 * everywhere else.
 *
 * Layer 2: domain data.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "wf_priv.h"

#define MAX_PAGES 100
#define DEFAULT_API "https://api.github.com"

/* ---- set-up ---- */

void
wf_forge_close(struct wf_forge *f)
{
	if (f->token) {
		explicit_bzero(f->token, strlen(f->token));
		free(f->token);
	}
	free(f->api);
	free(f->origin);
	free(f->owner);
	free(f->repo);
	free(f->remote_url);
	memset(f, 0, sizeof *f);
}

/* scheme://host[:port] of URL, malloc'd. */
static char *
url_origin(const char *url)
{
	const char *p = strstr(url, "://");
	const char *e;

	if (!p)
		return wf_xstrdup(url);
	e = strchr(p + 3, '/');
	return e ? wf_xstrndup(url, (size_t)(e - url)) : wf_xstrdup(url);
}

int
wf_forge_open(struct wf_forge *f, const char *cwd, const char *slug, int need_token,
	      char *err, size_t errlen)
{
	const char *api = getenv("GITHUB_API_URL");
	const char *tok = getenv("GH_TOKEN");
	int loopback;
	char why[512];
	size_t n;

	memset(f, 0, sizeof *f);
	wf_http_policy_from_env(&f->policy);
	if (!api || !*api)
		api = DEFAULT_API;
	f->api = wf_xstrdup(api);
	n = strlen(f->api);
	while (n && f->api[n - 1] == '/')
		f->api[--n] = '\0';
	if (wf_http_url_check(f->api, &loopback, why, sizeof why) < 0) {
		snprintf(err, errlen, "GITHUB_API_URL: %s", why);
		return WF_EXIT_CONFIG;
	}
	f->origin = url_origin(f->api);
	/* The repository: -R, else WF_FORGE_REPO, else the origin remote's URL. */
	if (!slug || !*slug)
		slug = getenv("WF_FORGE_REPO");
	if (slug && *slug) {
		if (wf_git_parse_slug(slug, &f->owner, &f->repo) < 0) {
			snprintf(err, errlen, "invalid repository '%.100s': expected OWNER/REPO", slug);
			return WF_EXIT_DATA;
		}
	} else {
		char *top = wf_git_toplevel(cwd);

		if (!top) {
			snprintf(err, errlen, "'%s' is not in a git repository, and no repository was named (-R OWNER/REPO or WF_FORGE_REPO)",
				 cwd ? cwd : ".");
			return WF_EXIT_DATA;
		}
		free(top);
		f->remote_url = wf_git_remote_url(cwd, "origin");
		if (!f->remote_url) {
			snprintf(err, errlen, "the repository has no remote 'origin' to take OWNER/REPO from (add one, or set WF_FORGE_REPO=OWNER/REPO)");
			return WF_EXIT_DATA;
		}
		if (wf_git_parse_remote(f->remote_url, &f->owner, &f->repo) < 0) {
			char *safe = wf_redact(f->remote_url, strlen(f->remote_url));

			snprintf(err, errlen, "cannot tell OWNER/REPO from the remote 'origin' URL '%.200s' (set WF_FORGE_REPO=OWNER/REPO)",
				 safe);
			free(safe);
			return WF_EXIT_DATA;
		}
	}
	if (!tok || !*tok)
		tok = getenv("GITHUB_TOKEN");
	if (tok && *tok) {
		f->token = wf_xstrdup(tok);
		wf_secret_add(f->token);
	} else if (need_token) {
		snprintf(err, errlen, "no forge token: set GH_TOKEN or GITHUB_TOKEN");
		return WF_EXIT_CONFIG;
	}
	return 0;
}

/* ---- requests ---- */

/* Percent-encode S for a query value or a path segment (KEEP_SLASH: '/' stays). */
char *
wf_forge_url_encode(const char *s, int keep_slash)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/'))
			wf_buf_addch(&b, (char)*p);
		else
			wf_buf_printf(&b, "%%%02X", *p);
	}
	return wf_buf_detach(&b);
}

/* The forge's own words from an error body: "message: errors[0].message". */
static char *
forge_message(const struct wf_http_response *rs)
{
	char perr[128];
	jv v = wf_json_parse(rs->body.s ? rs->body.s : "", rs->body.len, perr, sizeof perr);
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	if (jv_get_kind(v) == JV_KIND_OBJECT) {
		jv errs = wf_jv_get(v, "errors");

		if (wf_jv_str(v, "message"))
			wf_buf_addstr(&b, wf_jv_str(v, "message"));
		if (jv_get_kind(errs) == JV_KIND_ARRAY)
			jv_array_foreach(errs, i, e) {
				const char *m = jv_get_kind(e) == JV_KIND_OBJECT ? wf_jv_str(e, "message") : NULL;
				const char *code = jv_get_kind(e) == JV_KIND_OBJECT ? wf_jv_str(e, "code") : NULL;

				if (jv_get_kind(e) == JV_KIND_STRING)
					m = jv_string_value(e);
				if (i < 3 && (m || code)) {
					wf_buf_addstr(&b, b.len ? ": " : "");
					if (m)
						wf_buf_addstr(&b, m);
					else
						wf_buf_printf(&b, "%s %s", wf_jv_str(e, "field") ? wf_jv_str(e, "field") : "",
							      code);
				}
				jv_free(e);
			}
		jv_free(errs);
	} else if (rs->body.len) {
		/* Not JSON (a proxy's page): its first line, briefly. */
		size_t n = strcspn(rs->body.s, "\r\n");

		wf_buf_add(&b, rs->body.s, n > 160 ? 160 : n);
	}
	jv_free(v);
	{
		char *m = wf_buf_detach(&b), *safe = wf_redact(m, strlen(m));

		free(m);
		return safe;
	}
}

/* As forge_message, from an error body already parsed: BODY (borrowed); malloc'd. */
char *
wf_forge_body_message(jv body)
{
	struct wf_http_response fake = {0};
	char *m;

	fake.body.s = wf_json_dump(body);
	fake.body.len = strlen(fake.body.s);
	m = forge_message(&fake);
	free(fake.body.s);
	return m;
}

/* Is RS a rate-limit refusal (429, or 403 with the rate-limit signs)? */
static int
rate_limited(const struct wf_http_response *rs)
{
	const char *rem = wf_http_header(rs, "x-ratelimit-remaining");

	if (rs->status == 429)
		return 1;
	return rs->status == 403 && ((rem && !strcmp(rem, "0")) || rs->retry_after_ms >= 0);
}

/* How long the forge asks us to wait: Retry-After, else until x-ratelimit-reset; -1 if neither. */
static long
forge_wait_ms(const struct wf_http_response *rs)
{
	const char *reset = wf_http_header(rs, "x-ratelimit-reset");
	long v;

	if (rs->retry_after_ms >= 0)
		return rs->retry_after_ms;
	if (reset && wf_parse_long(reset, 0, 1L << 40, &v) == 0) {
		double d = difftime((time_t)v, time(NULL));

		return d > 0 ? (long)(d * 1000) : 0;
	}
	return -1;
}

/*
 * One request with retries.  Returns 0 with *RS holding a response (any
 * status), or an exit code with ERR: 69 unreachable, 75 rate-limited,
 * 130 interrupted, 1 refused for good (TLS, redirect, too big).
 */
int
wf_forge_send(struct wf_forge *f, const char *method, const char *url, const char *body,
	   const char *accept, struct wf_http_response *rs, char *err, size_t errlen)
{
	char auth[1024], acc[160];
	const char *headers[6];
	int k = 0, safe_to_repeat = strcmp(method, "POST") != 0;
	double start = wf_now_ms();
	struct wf_http_request rq = {0};

	snprintf(acc, sizeof acc, "Accept: %s", accept ? accept : "application/vnd.github+json");
	headers[k++] = acc;
	headers[k++] = "X-GitHub-Api-Version: 2022-11-28";
	if (f->token) {
		snprintf(auth, sizeof auth, "Authorization: Bearer %s", f->token);
		headers[k++] = auth;
	}
	if (body)
		headers[k++] = "Content-Type: application/json";
	headers[k] = NULL;
	rq.method = method;
	rq.url = url;
	rq.headers = headers;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.connect_ms = f->policy.connect_ms;
	rq.total_ms = f->policy.total_ms;
	rq.max_bytes = f->policy.max_bytes;
	rq.stop = f->stop;
	rq.debug = f->debug;
	for (int attempt = 0;; attempt++) {
		int rc = wf_http_perform(&rq, rs), again = 0;
		long wait = -1;

		if (rc == WF_HTTP_ERR_STOPPED) {
			snprintf(err, errlen, "interrupted");
			explicit_bzero(auth, sizeof auth);
			return WF_EXIT_INT;
		}
		if (rc == WF_HTTP_OK) {
			if (rate_limited(rs)) {
				again = 1;
				wait = forge_wait_ms(rs);
			} else if (rs->status >= 500 && safe_to_repeat) {
				again = 1;
			} else {
				explicit_bzero(auth, sizeof auth);
				return 0;
			}
		} else if (rc == WF_HTTP_ERR_CONNECT || rc == WF_HTTP_ERR_TIMEOUT || rc == WF_HTTP_ERR_PARTIAL) {
			/* A POST that may have arrived is not sent again: the caller checks instead. */
			again = safe_to_repeat || rs->curl_code == CURLE_COULDNT_CONNECT ||
				rs->curl_code == CURLE_COULDNT_RESOLVE_HOST;
		}
		if (!again || attempt >= f->policy.retries ||
		    wf_now_ms() - start > (double)f->policy.deadline_ms) {
			explicit_bzero(auth, sizeof auth);
			if (rc == WF_HTTP_OK && rate_limited(rs)) {
				char *m = forge_message(rs);

				snprintf(err, errlen, "rate-limited by the forge (HTTP %ld%s%s) after %d attempt%s",
					 rs->status, *m ? ": " : "", m, attempt + 1, attempt ? "s" : "");
				free(m);
				return WF_EXIT_BUSY;
			}
			if (rc == WF_HTTP_OK) {
				if (rs->status >= 500) {
					char *m = forge_message(rs);

					snprintf(err, errlen, "the forge at %s failed: HTTP %ld%s%s (after %d attempt%s)",
						 f->origin, rs->status, *m ? ": " : "", m, attempt + 1, attempt ? "s" : "");
					free(m);
					return WF_EXIT_UNAVAILABLE;
				}
				return 0;
			}
			if (rc == WF_HTTP_ERR_TLS_VERIFY || rc == WF_HTTP_ERR_REDIRECT || rc == WF_HTTP_ERR_TOO_BIG ||
			    rc == WF_HTTP_ERR_URL) {
				snprintf(err, errlen, "%s %s: %s", method, f->origin, rs->error);
				return WF_EXIT_FAIL;
			}
			snprintf(err, errlen, "cannot reach the forge at %s: %s (after %d attempt%s)", f->origin,
				 rs->error, attempt + 1, attempt ? "s" : "");
			return WF_EXIT_UNAVAILABLE;
		}
		{
			long ms = wf_http_backoff_ms(&f->policy, attempt, wait);

			if (rc == WF_HTTP_OK)
				wf_warn("%s %s: HTTP %ld; retrying in %.1f s", method, f->origin, rs->status, ms / 1000.0);
			else
				wf_warn("%s %s: %s; retrying in %.1f s", method, f->origin, rs->error, ms / 1000.0);
			wf_http_response_free(rs);
			if (wf_http_sleep_ms(ms, f->stop) < 0) {
				snprintf(err, errlen, "interrupted");
				explicit_bzero(auth, sizeof auth);
				memset(rs, 0, sizeof *rs);
				rs->headers = jv_object();
				return WF_EXIT_INT;
			}
		}
	}
}

/* An HTTP error status as an exit code and a message naming WHAT. */
int
wf_forge_status_error(struct wf_forge *f, const struct wf_http_response *rs, const char *what, char *err, size_t errlen)
{
	char *m = forge_message(rs);
	int code;

	switch (rs->status) {
	case 401:
		snprintf(err, errlen, "%s: the forge refused the token (HTTP 401%s%s); check GH_TOKEN or GITHUB_TOKEN",
			 what, *m ? ": " : "", m);
		code = WF_EXIT_CONFIG;
		break;
	case 403:
		snprintf(err, errlen, "%s: permission denied (HTTP 403%s%s)", what, *m ? ": " : "", m);
		code = WF_EXIT_DENIED;
		break;
	case 404:
		snprintf(err, errlen, "%s: not found in %s/%s (HTTP 404%s%s)", what, f->owner, f->repo,
			 *m ? ": " : "", m);
		code = WF_EXIT_NOINPUT;
		break;
	default:
		snprintf(err, errlen, "%s: the forge refused (HTTP %ld%s%s)", what, rs->status, *m ? ": " : "", m);
		code = WF_EXIT_FAIL;
	}
	free(m);
	return code;
}

/*
 * METHOD PATH (relative to the API, or a full URL on its origin) with the
 * JSON BODY (consumed; null for none).  Returns 0 with *OUT the parsed
 * answer (null for an empty one) and *STATUS, or an exit code with ERR.
 * A status >= 400 is an error unless it is listed in OK_STATUSES
 * (0-terminated); then *OUT is the parsed error body.
 */
int
wf_forge_json(struct wf_forge *f, const char *method, const char *path, jv body, const char *what,
	   const long *ok_statuses, jv *out, long *status, struct wf_http_response *keep,
	   char *err, size_t errlen)
{
	struct wf_http_response rs;
	char *url = !strncmp(path, "http", 4) ? wf_xstrdup(path) : wf_xasprintf("%s%s", f->api, path);
	char *text = jv_get_kind(body) == JV_KIND_NULL ? NULL : wf_json_dump(body);
	int rc, accepted = 0;

	jv_free(body);
	*out = jv_null();
	rc = wf_forge_send(f, method, url, text, NULL, &rs, err, errlen);
	free(url);
	free(text);
	if (status)
		*status = rs.status;
	if (rc) {
		char tmp[1024];

		snprintf(tmp, sizeof tmp, "%s: %s", what, err);
		snprintf(err, errlen, "%s", tmp);
		wf_http_response_free(&rs);
		return rc;
	}
	for (int i = 0; ok_statuses && ok_statuses[i]; i++)
		if (rs.status == ok_statuses[i])
			accepted = 1;
	if (rs.status >= 400 && !accepted) {
		rc = wf_forge_status_error(f, &rs, what, err, errlen);
		wf_http_response_free(&rs);
		return rc;
	}
	if (rs.body.len) {
		char perr[256];

		*out = wf_json_parse(rs.body.s, rs.body.len, perr, sizeof perr);
		if (!jv_is_valid(*out)) {
			jv_free(*out);
			*out = jv_null();
			snprintf(err, errlen, "%s: the forge answered HTTP %ld with a body that is not JSON: %s", what,
				 rs.status, perr);
			wf_http_response_free(&rs);
			return WF_EXIT_FAIL;
		}
	}
	if (keep)
		*keep = rs;
	else
		wf_http_response_free(&rs);
	return 0;
}

/* The rel="next" URL of a Link header, if it is on our API's origin; malloc'd or NULL. */
static char *
next_link(struct wf_forge *f, const char *link)
{
	const char *p = link;

	while (p && *p) {
		const char *lt = strchr(p, '<'), *gt = lt ? strchr(lt, '>') : NULL;
		const char *end;

		if (!lt || !gt)
			return NULL;
		end = strchr(gt, ',');
		{
			size_t n = end ? (size_t)(end - gt) : strlen(gt);
			char *params = wf_xstrndup(gt, n);
			int is_next = strstr(params, "rel=\"next\"") != NULL;

			free(params);
			if (is_next) {
				char *u = wf_xstrndup(lt + 1, (size_t)(gt - lt - 1));
				size_t k = strlen(f->origin);

				if (!strncmp(u, f->origin, k) && (u[k] == '/' || u[k] == '\0'))
					return u;
				free(u);
				return NULL;
			}
		}
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

/* Every page of the list at PATH, concatenated; 0 or an exit code. *OUT: caller owns. */
int
wf_forge_list_all(struct wf_forge *f, const char *path, const char *what, jv *out, char *err, size_t errlen)
{
	char *url = wf_xasprintf("%s%s%sper_page=100", f->api, path, strchr(path, '?') ? "&" : "?");

	*out = jv_array();
	for (int page = 0; url && page < MAX_PAGES; page++) {
		struct wf_http_response rs;
		jv part;
		int rc = wf_forge_json(f, "GET", url, jv_null(), what, NULL, &part, NULL, &rs, err, errlen);
		const char *link;

		free(url);
		url = NULL;
		if (rc) {
			jv_free(*out);
			*out = jv_null();
			return rc;
		}
		if (jv_get_kind(part) != JV_KIND_ARRAY) {
			jv_free(part);
			wf_http_response_free(&rs);
			snprintf(err, errlen, "%s: the forge did not answer with a list", what);
			jv_free(*out);
			*out = jv_null();
			return WF_EXIT_FAIL;
		}
		*out = jv_array_concat(*out, part);
		link = wf_http_header(&rs, "link");
		if (link)
			url = next_link(f, link);
		wf_http_response_free(&rs);
	}
	free(url);
	return 0;
}
