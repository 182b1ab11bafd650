/*
 * forge.c: a small client for the GitHub REST API (and the servers that
 * speak the same endpoints: GitHub Enterprise, Gitea, Forgejo), used only
 * by wf-pr, so libcurl stays out of every other program.  Pull requests:
 * list, find by head branch, view, diff, create (adopting an open one for
 * the same branch), comment and review (with a hidden marker so that a
 * retry finds its earlier post instead of posting twice), and merge (a PR
 * already merged is success).  Requests that are safe to repeat are
 * retried with backoff; a POST is repeated only when it surely never
 * arrived, or was refused for the rate limit.  The token never leaves
 * the Authorization header and is masked everywhere else.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

#include "wf.h"

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
static char *
url_encode(const char *s, int keep_slash)
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
static int
forge_send(struct wf_forge *f, const char *method, const char *url, const char *body,
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
static int
status_error(struct wf_forge *f, const struct wf_http_response *rs, const char *what, char *err, size_t errlen)
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
static int
forge_json(struct wf_forge *f, const char *method, const char *path, jv body, const char *what,
	   const long *ok_statuses, jv *out, long *status, struct wf_http_response *keep,
	   char *err, size_t errlen)
{
	struct wf_http_response rs;
	char *url = !strncmp(path, "http", 4) ? wf_xstrdup(path) : wf_xasprintf("%s%s", f->api, path);
	char *text = jv_get_kind(body) == JV_KIND_NULL ? NULL : wf_json_dump(body);
	int rc, accepted = 0;

	jv_free(body);
	*out = jv_null();
	rc = forge_send(f, method, url, text, NULL, &rs, err, errlen);
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
		rc = status_error(f, &rs, what, err, errlen);
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

/* Every page of the list at PATH, concatenated; 0 or an exit code. */
static int
forge_list_all(struct wf_forge *f, const char *path, const char *what, jv *out, char *err, size_t errlen)
{
	char *url = wf_xasprintf("%s%s%sper_page=100", f->api, path, strchr(path, '?') ? "&" : "?");

	*out = jv_array();
	for (int page = 0; url && page < MAX_PAGES; page++) {
		struct wf_http_response rs;
		jv part;
		int rc = forge_json(f, "GET", url, jv_null(), what, NULL, &part, NULL, &rs, err, errlen);
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

/* ---- shapes ---- */

static jv
pick_str(jv from, const char *key)
{
	jv v = wf_jv_get(from, key);

	return jv_get_kind(v) == JV_KIND_STRING ? v : (jv_free(v), jv_null());
}

static jv
login_of(jv obj)
{
	jv u = wf_jv_get(obj, "user");
	jv l = pick_str(u, "login");

	jv_free(u);
	return l;
}

/* A pull request as wf-pr(1) prints it; PR consumed. */
static jv
pr_shape(jv pr)
{
	jv o = jv_object(), head = wf_jv_get(pr, "head"), base = wf_jv_get(pr, "base");
	jv merged = wf_jv_get(pr, "merged");

	o = jv_object_set(o, jv_string("number"), wf_jv_get(pr, "number"));
	o = jv_object_set(o, jv_string("url"), pick_str(pr, "html_url"));
	o = jv_object_set(o, jv_string("api_url"), pick_str(pr, "url"));
	o = jv_object_set(o, jv_string("state"), pick_str(pr, "state"));
	if (jv_get_kind(merged) != JV_KIND_TRUE && jv_get_kind(merged) != JV_KIND_FALSE) {
		/* Lists leave "merged" out; merged_at says the same. */
		jv at = wf_jv_get(pr, "merged_at");

		jv_free(merged);
		merged = jv_bool(jv_get_kind(at) == JV_KIND_STRING);
		jv_free(at);
	}
	o = jv_object_set(o, jv_string("merged"), merged);
	o = jv_object_set(o, jv_string("draft"), jv_bool(wf_jv_bool(pr, "draft", 0)));
	o = jv_object_set(o, jv_string("title"), pick_str(pr, "title"));
	o = jv_object_set(o, jv_string("body"), pick_str(pr, "body"));
	o = jv_object_set(o, jv_string("head"), pick_str(head, "ref"));
	o = jv_object_set(o, jv_string("head_sha"), pick_str(head, "sha"));
	o = jv_object_set(o, jv_string("base"), pick_str(base, "ref"));
	o = jv_object_set(o, jv_string("base_sha"), pick_str(base, "sha"));
	o = jv_object_set(o, jv_string("user"), login_of(pr));
	o = jv_object_set(o, jv_string("mergeable"), wf_jv_get(pr, "mergeable"));
	o = jv_object_set(o, jv_string("merge_commit_sha"), pick_str(pr, "merge_commit_sha"));
	jv_free(head);
	jv_free(base);
	jv_free(pr);
	return o;
}

static jv
comment_shape(jv c)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("id"), wf_jv_get(c, "id"));
	o = jv_object_set(o, jv_string("url"), pick_str(c, "html_url"));
	o = jv_object_set(o, jv_string("user"), login_of(c));
	o = jv_object_set(o, jv_string("body"), pick_str(c, "body"));
	o = jv_object_set(o, jv_string("created_at"), pick_str(c, "created_at"));
	jv_free(c);
	return o;
}

static jv
review_shape(jv r)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("id"), wf_jv_get(r, "id"));
	o = jv_object_set(o, jv_string("url"), pick_str(r, "html_url"));
	o = jv_object_set(o, jv_string("user"), login_of(r));
	o = jv_object_set(o, jv_string("state"), pick_str(r, "state"));
	o = jv_object_set(o, jv_string("body"), pick_str(r, "body"));
	o = jv_object_set(o, jv_string("commit_id"), pick_str(r, "commit_id"));
	jv_free(r);
	return o;
}

static jv
map_shape(jv arr, jv (*shape)(jv))
{
	jv out = jv_array();

	jv_array_foreach(arr, i, x) {
		(void)i;
		out = jv_array_append(out, shape(x));
	}
	jv_free(arr);
	return out;
}

/* ---- verbs ---- */

int
wf_forge_pr_view(struct wf_forge *f, long n, jv *out, char *err, size_t errlen)
{
	char path[256], what[64];
	jv pr;
	int rc;

	snprintf(path, sizeof path, "/repos/%s/%s/pulls/%ld", f->owner, f->repo, n);
	snprintf(what, sizeof what, "pull request #%ld", n);
	rc = forge_json(f, "GET", path, jv_null(), what, NULL, &pr, NULL, NULL, err, errlen);
	if (rc) {
		*out = jv_null();
		if (rc == WF_EXIT_NOINPUT)
			snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
		return rc;
	}
	*out = pr_shape(pr);
	return 0;
}

int
wf_forge_pr_list(struct wf_forge *f, const char *head, const char *state, jv *out, char *err, size_t errlen)
{
	struct wf_buf path = {0};
	jv arr;
	int rc;

	wf_buf_printf(&path, "/repos/%s/%s/pulls?state=%s", f->owner, f->repo, state ? state : "open");
	if (head && *head) {
		char *h = url_encode(head, 0), *o = url_encode(f->owner, 0);

		/* GitHub wants OWNER:BRANCH here; a bare branch name would be ignored. */
		wf_buf_printf(&path, "&head=%s%%3A%s", o, h);
		free(h);
		free(o);
	}
	rc = forge_list_all(f, path.s, "list pull requests", &arr, err, errlen);
	wf_buf_free(&path);
	if (rc) {
		*out = jv_null();
		return rc;
	}
	arr = map_shape(arr, pr_shape);
	if (head && *head) {
		/* Servers that ignore the filter (some Gitea versions) get it applied here. */
		jv keep = jv_array();

		jv_array_foreach(arr, i, pr) {
			(void)i;
			if (wf_jv_str(pr, "head") && !strcmp(wf_jv_str(pr, "head"), head))
				keep = jv_array_append(keep, pr);
			else
				jv_free(pr);
		}
		jv_free(arr);
		arr = keep;
	}
	*out = arr;
	return 0;
}

int
wf_forge_pr_find(struct wf_forge *f, const char *head, jv *out, char *err, size_t errlen)
{
	jv arr;
	int rc = wf_forge_pr_list(f, head, "open", &arr, err, errlen);

	*out = jv_null();
	if (rc)
		return rc;
	if (jv_array_length(jv_copy(arr)) == 0) {
		jv_free(arr);
		snprintf(err, errlen, "no open pull request for branch '%s' in %s/%s", head, f->owner, f->repo);
		return WF_EXIT_NOINPUT;
	}
	*out = jv_array_get(arr, 0);
	return 0;
}

/* Is S a plausible branch name for the API (the caller checked it with git when it could)? */
static int
branch_ok(const char *s)
{
	if (!s || !*s || *s == '-' || strlen(s) > 255)
		return 0;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f || *p == ' ' || *p == ':' || *p == '\\' || *p == '~' ||
		    *p == '^' || *p == '?' || *p == '*' || *p == '[')
			return 0;
	return strstr(s, "..") == NULL;
}

int
wf_forge_pr_create(struct wf_forge *f, const char *base, const char *head, const char *title,
		   const char *body, int draft, jv *out, char *err, size_t errlen)
{
	char path[256];
	jv req, pr;
	long status = 0;
	int rc;
	static const long ok[] = { 422, 0 };

	*out = jv_null();
	if (!branch_ok(head) || !branch_ok(base)) {
		snprintf(err, errlen, "invalid branch name '%.100s'", branch_ok(head) ? base : head);
		return WF_EXIT_DATA;
	}
	if (!title || !*title) {
		snprintf(err, errlen, "a pull request needs a title");
		return WF_EXIT_DATA;
	}
	/* Check before acting: an open PR for this branch is adopted, never duplicated. */
	rc = wf_forge_pr_find(f, head, &pr, err, errlen);
	if (rc == 0) {
		*out = jv_object_set(pr, jv_string("adopted"), jv_true());
		return 0;
	}
	if (rc != WF_EXIT_NOINPUT)
		return rc;
	snprintf(path, sizeof path, "/repos/%s/%s/pulls", f->owner, f->repo);
	req = jv_object();
	req = jv_object_set(req, jv_string("title"), jv_string(title));
	req = jv_object_set(req, jv_string("head"), jv_string(head));
	req = jv_object_set(req, jv_string("base"), jv_string(base));
	req = jv_object_set(req, jv_string("body"), jv_string(body ? body : ""));
	if (draft)
		req = jv_object_set(req, jv_string("draft"), jv_true());
	rc = forge_json(f, "POST", path, req, "create pull request", ok, &pr, &status, NULL, err, errlen);
	if (rc == WF_EXIT_UNAVAILABLE || rc == 0) {
		/* An answer lost on the way, or a refusal: maybe the PR is there after all. */
		jv again;
		char e2[256];

		if ((rc || status == 422) && wf_forge_pr_find(f, head, &again, e2, sizeof e2) == 0) {
			jv_free(pr);
			*out = jv_object_set(again, jv_string("adopted"), jv_true());
			return 0;
		}
		if (rc == 0 && status == 422) {
			struct wf_http_response fake = { .status = 422 };
			char *m;

			/* Re-shape the message the forge gave. */
			fake.body.s = wf_json_dump(pr);
			fake.body.len = strlen(fake.body.s);
			m = forge_message(&fake);
			snprintf(err, errlen, "create pull request: the forge refused (HTTP 422: %s)", m);
			free(m);
			free(fake.body.s);
			jv_free(pr);
			return WF_EXIT_FAIL;
		}
	}
	if (rc)
		return rc;
	*out = jv_object_set(pr_shape(pr), jv_string("adopted"), jv_false());
	return 0;
}

int
wf_forge_pr_diff(struct wf_forge *f, long n, char **diff, char *err, size_t errlen)
{
	char url[512];
	struct wf_http_response rs;
	int rc;

	*diff = NULL;
	snprintf(url, sizeof url, "%s/repos/%s/%s/pulls/%ld", f->api, f->owner, f->repo, n);
	rc = forge_send(f, "GET", url, NULL, "application/vnd.github.diff", &rs, err, errlen);
	if (rc) {
		char tmp[1024];

		snprintf(tmp, sizeof tmp, "diff of pull request #%ld: %s", n, err);
		snprintf(err, errlen, "%s", tmp);
		wf_http_response_free(&rs);
		return rc;
	}
	if (rs.status >= 400) {
		char what[64];

		snprintf(what, sizeof what, "diff of pull request #%ld", n);
		rc = status_error(f, &rs, what, err, errlen);
		if (rc == WF_EXIT_NOINPUT)
			snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
		wf_http_response_free(&rs);
		return rc;
	}
	*diff = wf_buf_detach(&rs.body);
	if (!*diff)
		*diff = wf_xstrdup("");
	wf_http_response_free(&rs);
	return 0;
}

/* The hidden line that marks a post as ours: "<!-- MARKER -->". */
static char *
marker_line(const char *marker)
{
	return wf_xasprintf("<!-- %s -->", marker);
}

int
wf_forge_marker_ok(const char *m)
{
	if (!m || !*m || strlen(m) > 200)
		return 0;
	for (const char *p = m; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/* The first item of ARR (borrowed) whose body holds MARKER's line, or null. */
static jv
find_marked(jv arr, const char *marker)
{
	char *line = marker_line(marker);
	jv found = jv_null();

	jv_array_foreach(arr, i, x) {
		(void)i;
		if (jv_get_kind(found) == JV_KIND_NULL && wf_jv_str(x, "body") && strstr(wf_jv_str(x, "body"), line))
			found = x;
		else
			jv_free(x);
	}
	free(line);
	return found;
}

int
wf_forge_comments(struct wf_forge *f, long n, jv *out, char *err, size_t errlen)
{
	char path[256];
	int rc;

	snprintf(path, sizeof path, "/repos/%s/%s/issues/%ld/comments", f->owner, f->repo, n);
	rc = forge_list_all(f, path, "list comments", out, err, errlen);
	if (rc == WF_EXIT_NOINPUT)
		snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
	if (!rc)
		*out = map_shape(*out, comment_shape);
	return rc;
}

int
wf_forge_reviews(struct wf_forge *f, long n, jv *out, char *err, size_t errlen)
{
	char path[256];
	int rc;

	snprintf(path, sizeof path, "/repos/%s/%s/pulls/%ld/reviews", f->owner, f->repo, n);
	rc = forge_list_all(f, path, "list reviews", out, err, errlen);
	if (rc == WF_EXIT_NOINPUT)
		snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
	if (!rc)
		*out = map_shape(*out, review_shape);
	return rc;
}

/* BODY with MARKER's hidden line after it (MARKER may be NULL); malloc'd. */
static char *
marked_body(const char *body, const char *marker)
{
	char *line, *r;

	if (!marker)
		return wf_xstrdup(body ? body : "");
	line = marker_line(marker);
	r = wf_xasprintf("%s%s%s", body ? body : "", body && *body ? "\n\n" : "", line);
	free(line);
	return r;
}

int
wf_forge_comment(struct wf_forge *f, long n, const char *body, const char *marker, jv *out,
		 char *err, size_t errlen)
{
	char path[256];
	char *text;
	jv c;
	int rc;

	*out = jv_null();
	if (marker && !wf_forge_marker_ok(marker)) {
		snprintf(err, errlen, "invalid marker '%.80s' (printable ASCII without '<' or '>')", marker);
		return WF_EXIT_DATA;
	}
	if ((!body || !*body) && !marker) {
		snprintf(err, errlen, "a comment needs a body");
		return WF_EXIT_DATA;
	}
	if (marker) {
		jv all, found;

		if ((rc = wf_forge_comments(f, n, &all, err, errlen)))
			return rc;
		found = find_marked(all, marker);
		jv_free(all);
		if (jv_get_kind(found) != JV_KIND_NULL) {
			*out = jv_object_set(found, jv_string("existing"), jv_true());
			return 0;
		}
		jv_free(found);
	}
	snprintf(path, sizeof path, "/repos/%s/%s/issues/%ld/comments", f->owner, f->repo, n);
	text = marked_body(body, marker);
	rc = forge_json(f, "POST", path, jv_object_set(jv_object(), jv_string("body"), jv_string(text)),
			"comment", NULL, &c, NULL, NULL, err, errlen);
	free(text);
	if (rc == WF_EXIT_NOINPUT)
		snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
	if (rc == WF_EXIT_UNAVAILABLE && marker) {
		/* Did it arrive after all? */
		jv all, found;
		char e2[256];

		if (wf_forge_comments(f, n, &all, e2, sizeof e2) == 0) {
			found = find_marked(all, marker);
			jv_free(all);
			if (jv_get_kind(found) != JV_KIND_NULL) {
				*out = jv_object_set(found, jv_string("existing"), jv_true());
				return 0;
			}
			jv_free(found);
		}
	}
	if (rc)
		return rc;
	*out = jv_object_set(comment_shape(c), jv_string("existing"), jv_false());
	return 0;
}

/*
 * The lines of DIFF a review comment may be on: {PATH: {LINE: true}} for
 * every added or context line, numbered on the new side.
 */
static jv
diff_lines(const char *diff)
{
	jv out = jv_object(), cur = jv_null();
	char *path = NULL;
	long line = 0;

	for (const char *p = diff; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		if (n >= 4 && !strncmp(p, "+++ ", 4)) {
			if (path) {
				out = jv_object_set(out, jv_string(path), cur);
				free(path);
				path = NULL;
				cur = jv_null();
			}
			if (n > 6 && !strncmp(p, "+++ b/", 6)) {
				path = wf_xstrndup(p + 6, n - 6);
				while (*path && path[strlen(path) - 1] == '\r')
					path[strlen(path) - 1] = '\0';
				cur = wf_jv_get(out, path);
				if (jv_get_kind(cur) != JV_KIND_OBJECT) {
					jv_free(cur);
					cur = jv_object();
				}
			}
		} else if (n >= 2 && !strncmp(p, "@@", 2)) {
			const char *plus = memchr(p, '+', n);

			line = plus ? strtol(plus + 1, NULL, 10) : 0;
		} else if (path && line > 0 && n >= 1 && (*p == '+' || *p == ' ')) {
			char k[32];

			snprintf(k, sizeof k, "%ld", line++);
			cur = jv_object_set(cur, jv_string(k), jv_true());
		} else if (!strncmp(p, "diff ", 5) && path) {
			out = jv_object_set(out, jv_string(path), cur);
			free(path);
			path = NULL;
			cur = jv_null();
			line = 0;
		}
		p = nl ? nl + 1 : NULL;
	}
	if (path)
		out = jv_object_set(out, jv_string(path), cur);
	else
		jv_free(cur);
	free(path);
	return out;
}

/* Is comment C (borrowed) on a line of the diff LINES (borrowed)? */
static int
on_diff(jv lines, jv c)
{
	jv file = wf_jv_get(lines, wf_jv_str(c, "path"));
	char k[32];
	int ok;

	snprintf(k, sizeof k, "%ld", (long)wf_jv_num(c, "line", 0));
	ok = jv_get_kind(file) == JV_KIND_OBJECT && wf_jv_bool(file, k, 0);
	jv_free(file);
	return ok;
}

/* The review's inline comments folded into text, for when the forge will not take them inline. */
static void
fold_comments(struct wf_buf *b, jv comments)
{
	int n = jv_get_kind(comments) == JV_KIND_ARRAY ? jv_array_length(jv_copy(comments)) : 0;

	if (n == 0)
		return;
	wf_buf_addstr(b, "\n\n");
	jv_array_foreach(comments, i, c) {
		(void)i;
		wf_buf_printf(b, "- `%s", wf_jv_str(c, "path") ? wf_jv_str(c, "path") : "?");
		if (wf_jv_num(c, "line", 0) > 0)
			wf_buf_printf(b, ":%ld", (long)wf_jv_num(c, "line", 0));
		wf_buf_printf(b, "`: %s\n", wf_jv_str(c, "body") ? wf_jv_str(c, "body") : "");
		jv_free(c);
	}
}

int
wf_forge_review(struct wf_forge *f, long n, const char *event, const char *body, jv comments,
		const char *marker, jv *out, char *err, size_t errlen)
{
	char path[256];
	const char *ev;
	int inline_ok = 1, rc = 0;
	jv inl = jv_array(), outside = jv_array(), lines = jv_null();

	*out = jv_null();
	if (!strcmp(event, "approve"))
		ev = "APPROVE";
	else if (!strcmp(event, "request-changes"))
		ev = "REQUEST_CHANGES";
	else if (!strcmp(event, "comment"))
		ev = "COMMENT";
	else {
		snprintf(err, errlen, "unknown review event '%.40s' (approve, request-changes or comment)", event);
		rc = WF_EXIT_DATA;
		goto out;
	}
	if (marker && !wf_forge_marker_ok(marker)) {
		snprintf(err, errlen, "invalid marker '%.80s' (printable ASCII without '<' or '>')", marker);
		rc = WF_EXIT_DATA;
		goto out;
	}
	if (jv_get_kind(comments) != JV_KIND_ARRAY) {
		jv_free(comments);
		comments = jv_array();
	}
	/* Check before acting: a review with our marker is already there. */
	if (marker) {
		jv all, found;

		if ((rc = wf_forge_reviews(f, n, &all, err, errlen)))
			goto out;
		found = find_marked(all, marker);
		jv_free(all);
		if (jv_get_kind(found) != JV_KIND_NULL) {
			*out = jv_object_set(found, jv_string("existing"), jv_true());
			goto out;
		}
		jv_free(found);
	}
	/*
	 * Inline comments need a path, a body and a line of the diff (the
	 * forge refuses the whole review otherwise); the rest go in the text.
	 */
	if (jv_array_length(jv_copy(comments)) > 0) {
		char *diff = NULL, e2[256];

		if (wf_forge_pr_diff(f, n, &diff, e2, sizeof e2) == 0)
			lines = diff_lines(diff);
		free(diff);
	}
	jv_array_foreach(comments, i, c) {
		(void)i;
		if (jv_get_kind(c) == JV_KIND_OBJECT && wf_jv_str(c, "path") && wf_jv_str(c, "body") &&
		    wf_jv_num(c, "line", 0) >= 1 && (jv_get_kind(lines) != JV_KIND_OBJECT || on_diff(lines, c))) {
			jv one = jv_object();

			one = jv_object_set(one, jv_string("path"), wf_jv_get(c, "path"));
			one = jv_object_set(one, jv_string("line"), jv_number((double)(long)wf_jv_num(c, "line", 1)));
			one = jv_object_set(one, jv_string("side"), jv_string("RIGHT"));
			one = jv_object_set(one, jv_string("body"), wf_jv_get(c, "body"));
			inl = jv_array_append(inl, one);
		} else if (jv_get_kind(c) == JV_KIND_OBJECT && wf_jv_str(c, "body")) {
			outside = jv_array_append(outside, jv_copy(c));
		}
		jv_free(c);
	}
	snprintf(path, sizeof path, "/repos/%s/%s/pulls/%ld/reviews", f->owner, f->repo, n);
	for (int attempt = 0; attempt < 3; attempt++) {
		static const long ok[] = { 422, 0 };
		struct wf_buf text = {0};
		char *full;
		jv req = jv_object(), r;
		long status = 0;
		int with_inline = inline_ok && jv_array_length(jv_copy(inl)) > 0;

		wf_buf_addstr(&text, body ? body : "");
		if (!with_inline)
			fold_comments(&text, inl);
		fold_comments(&text, outside);
		while (text.len && text.s[text.len - 1] == '\n')
			text.s[--text.len] = '\0';
		full = marked_body(text.s, marker);
		wf_buf_free(&text);
		req = jv_object_set(req, jv_string("event"), jv_string(ev));
		req = jv_object_set(req, jv_string("body"), jv_string(full));
		if (with_inline)
			req = jv_object_set(req, jv_string("comments"), jv_copy(inl));
		free(full);
		rc = forge_json(f, "POST", path, req, "review", ok, &r, &status, NULL, err, errlen);
		if (rc == 0 && status == 422) {
			struct wf_http_response fake = { .status = 422 };
			char *m;

			fake.body.s = wf_json_dump(r);
			fake.body.len = strlen(fake.body.s);
			m = forge_message(&fake);
			free(fake.body.s);
			jv_free(r);
			if (strstr(m, "own pull request") && strcmp(ev, "COMMENT")) {
				/* The forge does not let an author approve or reject their own PR: say it in a comment review. */
				wf_warn("review of #%ld: %s; posting it as a comment review", n, m);
				ev = "COMMENT";
				free(m);
				continue;
			}
			if (with_inline) {
				wf_warn("review of #%ld: inline comments refused (%s); putting them in the review text", n, m);
				inline_ok = 0;
				free(m);
				continue;
			}
			snprintf(err, errlen, "review: the forge refused (HTTP 422: %s)", m);
			free(m);
			rc = WF_EXIT_FAIL;
			break;
		}
		if (rc == WF_EXIT_UNAVAILABLE && marker) {
			jv all, found;
			char e2[256];

			if (wf_forge_reviews(f, n, &all, e2, sizeof e2) == 0) {
				found = find_marked(all, marker);
				jv_free(all);
				if (jv_get_kind(found) != JV_KIND_NULL) {
					*out = jv_object_set(found, jv_string("existing"), jv_true());
					rc = 0;
					break;
				}
				jv_free(found);
			}
		}
		if (rc) {
			if (rc == WF_EXIT_NOINPUT)
				snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
			break;
		}
		*out = review_shape(r);
		*out = jv_object_set(*out, jv_string("existing"), jv_false());
		*out = jv_object_set(*out, jv_string("event"), jv_string(ev));
		*out = jv_object_set(*out, jv_string("inline"), jv_bool(with_inline));
		break;
	}
out:
	jv_free(comments);
	jv_free(inl);
	jv_free(outside);
	jv_free(lines);
	return rc;
}

int
wf_forge_merge(struct wf_forge *f, long n, const char *method, const char *sha, int delete_branch,
	       jv *out, char *err, size_t errlen)
{
	char path[256];
	jv pr, req, m;
	int rc, already = 0;
	char *head = NULL, *merge_sha = NULL;
	static const long ok[] = { 405, 409, 422, 0 };
	long status = 0;

	*out = jv_null();
	if (strcmp(method, "merge") && strcmp(method, "squash") && strcmp(method, "rebase")) {
		snprintf(err, errlen, "unknown merge method '%.40s' (merge, squash or rebase)", method);
		return WF_EXIT_DATA;
	}
	/* Check before acting: a merged PR is done; a closed one is not ours to merge. */
	if ((rc = wf_forge_pr_view(f, n, &pr, err, errlen)))
		return rc;
	head = wf_jv_str(pr, "head") ? wf_xstrdup(wf_jv_str(pr, "head")) : NULL;
	if (wf_jv_bool(pr, "merged", 0)) {
		already = 1;
		merge_sha = wf_jv_str(pr, "merge_commit_sha") ? wf_xstrdup(wf_jv_str(pr, "merge_commit_sha")) : NULL;
	} else if (wf_jv_str(pr, "state") && !strcmp(wf_jv_str(pr, "state"), "closed")) {
		snprintf(err, errlen, "pull request #%ld is closed without being merged", n);
		jv_free(pr);
		free(head);
		return WF_EXIT_FAIL;
	}
	jv_free(pr);
	if (!already) {
		snprintf(path, sizeof path, "/repos/%s/%s/pulls/%ld/merge", f->owner, f->repo, n);
		req = jv_object_set(jv_object(), jv_string("merge_method"), jv_string(method));
		if (sha && *sha)
			req = jv_object_set(req, jv_string("sha"), jv_string(sha));
		rc = forge_json(f, "PUT", path, req, "merge", ok, &m, &status, NULL, err, errlen);
		if (rc == 0 && status < 300) {
			merge_sha = wf_jv_str(m, "sha") ? wf_xstrdup(wf_jv_str(m, "sha")) : NULL;
			jv_free(m);
		} else {
			/* Refused, or no answer: it may have been merged by an earlier try. */
			char e2[256], *msg = NULL;

			if (rc == 0) {
				struct wf_http_response fake = { .status = status };

				fake.body.s = wf_json_dump(m);
				fake.body.len = strlen(fake.body.s);
				msg = forge_message(&fake);
				free(fake.body.s);
			}
			jv_free(m);
			if (wf_forge_pr_view(f, n, &pr, e2, sizeof e2) == 0 && wf_jv_bool(pr, "merged", 0)) {
				already = 1;
				merge_sha = wf_jv_str(pr, "merge_commit_sha") ? wf_xstrdup(wf_jv_str(pr, "merge_commit_sha")) : NULL;
				jv_free(pr);
				free(msg);
			} else {
				jv_free(pr);
				if (msg) {
					snprintf(err, errlen, "merge of pull request #%ld refused (HTTP %ld: %s)%s", n, status, msg,
						 status == 409 ? "; the branch moved since it was reviewed" :
						 status == 405 ? "; it is not mergeable (a conflict, or a required check or review is missing)" : "");
					rc = WF_EXIT_FAIL;
				}
				free(msg);
				free(head);
				return rc;
			}
		}
	}
	*out = jv_object();
	*out = jv_object_set(*out, jv_string("number"), jv_number((double)n));
	*out = jv_object_set(*out, jv_string("merged"), jv_true());
	*out = jv_object_set(*out, jv_string("already"), jv_bool(already));
	*out = jv_object_set(*out, jv_string("method"), jv_string(method));
	*out = jv_object_set(*out, jv_string("sha"), merge_sha ? jv_string(merge_sha) : jv_null());
	*out = jv_object_set(*out, jv_string("head"), head ? jv_string(head) : jv_null());
	if (delete_branch && head && branch_ok(head)) {
		char *h = url_encode(head, 1);
		jv d;
		char e2[512];
		static const long gone[] = { 404, 422, 0 };

		snprintf(path, sizeof path, "/repos/%s/%s/git/refs/heads/", f->owner, f->repo);
		{
			char *p = wf_xasprintf("%s%s", path, h);

			rc = forge_json(f, "DELETE", p, jv_null(), "delete branch", gone, &d, &status, NULL, e2, sizeof e2);
			free(p);
		}
		jv_free(d);
		free(h);
		if (rc)
			wf_warn("merged #%ld, but could not delete branch '%s': %s", n, head, e2);
		*out = jv_object_set(*out, jv_string("branch_deleted"), jv_bool(rc == 0));
	}
	free(head);
	free(merge_sha);
	return 0;
}
