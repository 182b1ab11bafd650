/*
 * forge_pr.c: the pull-request verbs of wf-pr(1) on the forge client of
 * forge.c: list, find by head branch, view, diff, create (adopting an
 * open one for the same branch), comment and review (with a hidden marker
 * so that a retry finds its earlier post instead of posting twice), and
 * merge (a PR already merged is success).  Each verb checks before it
 * acts, and after a POST whose answer was lost looks whether it arrived.
 * What the forge answers is reshaped into the few fields wf-pr prints.
 *
 * Layer 2: domain data.
 */
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"

/* ---- shapes ---- */

/* FROM[KEY] when it is a string, else null; FROM borrowed, the caller owns the result. */
static jv
pick_str(jv from, const char *key)
{
	jv v = wf_jv_get(from, key);

	return jv_get_kind(v) == JV_KIND_STRING ? v : (jv_free(v), jv_null());
}

/* The login of OBJ's user, or null; OBJ borrowed, the caller owns the result. */
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

/* A comment as wf-pr(1) prints it; C consumed, the caller owns the result. */
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

/* A review as wf-pr(1) prints it; R consumed, the caller owns the result. */
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

/* SHAPE applied to each item of ARR (consumed); the caller owns the result. */
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

/* Pull request #N into *OUT (caller owns). */
int
wf_forge_pr_view(struct wf_forge *f, long n, jv *out, char *err, size_t errlen)
{
	char path[256], what[64];
	jv pr;
	int rc;

	snprintf(path, sizeof path, "/repos/%s/%s/pulls/%ld", f->owner, f->repo, n);
	snprintf(what, sizeof what, "pull request #%ld", n);
	rc = wf_forge_json(f, "GET", path, jv_null(), what, NULL, &pr, NULL, NULL, err, errlen);
	if (rc) {
		*out = jv_null();
		if (rc == WF_EXIT_NOINPUT)
			snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
		return rc;
	}
	*out = pr_shape(pr);
	return 0;
}

/* *OUT: caller owns. */
int
wf_forge_pr_list(struct wf_forge *f, const char *head, const char *state, jv *out, char *err, size_t errlen)
{
	struct wf_buf path = {0};
	jv arr;
	int rc;

	wf_buf_printf(&path, "/repos/%s/%s/pulls?state=%s", f->owner, f->repo, state ? state : "open");
	if (head && *head) {
		char *h = wf_forge_url_encode(head, 0), *o = wf_forge_url_encode(f->owner, 0);

		/* GitHub wants OWNER:BRANCH here; a bare branch name would be ignored. */
		wf_buf_printf(&path, "&head=%s%%3A%s", o, h);
		free(h);
		free(o);
	}
	rc = wf_forge_list_all(f, path.s, "list pull requests", &arr, err, errlen);
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

/* *OUT: caller owns. */
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

/* *OUT: caller owns. */
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
	rc = wf_forge_json(f, "POST", path, req, "create pull request", ok, &pr, &status, NULL, err, errlen);
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
			/* Re-shape the message the forge gave. */
			char *m = wf_forge_body_message(pr);

			snprintf(err, errlen, "create pull request: the forge refused (HTTP 422: %s)", m);
			free(m);
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
	rc = wf_forge_send(f, "GET", url, NULL, "application/vnd.github.diff", &rs, err, errlen);
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
		rc = wf_forge_status_error(f, &rs, what, err, errlen);
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
marker_ok(const char *m)
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

/*
 * Every post on #N at /repos/OWNER/REPO/COLL/N/LEAF (comments or
 * reviews), each through SHAPE, into *OUT (caller owns).
 */
static int
list_posts(struct wf_forge *f, long n, const char *coll, const char *leaf, jv (*shape)(jv), jv *out,
	   char *err, size_t errlen)
{
	char path[256], what[32];
	int rc;

	snprintf(path, sizeof path, "/repos/%s/%s/%s/%ld/%s", f->owner, f->repo, coll, n, leaf);
	snprintf(what, sizeof what, "list %s", leaf);
	rc = wf_forge_list_all(f, path, what, out, err, errlen);
	if (rc == WF_EXIT_NOINPUT)
		snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
	if (!rc)
		*out = map_shape(*out, shape);
	return rc;
}

/* The comments on #N into *OUT (caller owns). */
int
wf_forge_comments(struct wf_forge *f, long n, jv *out, char *err, size_t errlen)
{
	return list_posts(f, n, "issues", "comments", comment_shape, out, err, errlen);
}

/* The reviews of #N into *OUT (caller owns). */
int
wf_forge_reviews(struct wf_forge *f, long n, jv *out, char *err, size_t errlen)
{
	return list_posts(f, n, "pulls", "reviews", review_shape, out, err, errlen);
}

/*
 * Our earlier post on #N that holds MARKER's line (a review when REVIEWS,
 * else a comment) into *OUT with "existing": true, or null when there is
 * none; the caller owns *OUT.  0, or an exit code with ERR.
 */
static int
find_existing(struct wf_forge *f, long n, int reviews, const char *marker, jv *out, char *err, size_t errlen)
{
	jv all, found;
	int rc = reviews ? wf_forge_reviews(f, n, &all, err, errlen) : wf_forge_comments(f, n, &all, err, errlen);

	*out = jv_null();
	if (rc)
		return rc;
	found = find_marked(all, marker);
	jv_free(all);
	if (jv_get_kind(found) != JV_KIND_NULL)
		*out = jv_object_set(found, jv_string("existing"), jv_true());
	return 0;
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

/* *OUT: caller owns. */
int
wf_forge_comment(struct wf_forge *f, long n, const char *body, const char *marker, jv *out,
		 char *err, size_t errlen)
{
	char path[256];
	char *text;
	jv c;
	int rc;

	*out = jv_null();
	if (marker && !marker_ok(marker)) {
		snprintf(err, errlen, "invalid marker '%.80s' (printable ASCII without '<' or '>')", marker);
		return WF_EXIT_DATA;
	}
	if ((!body || !*body) && !marker) {
		snprintf(err, errlen, "a comment needs a body");
		return WF_EXIT_DATA;
	}
	if (marker) {
		if ((rc = find_existing(f, n, 0, marker, out, err, errlen)) || jv_get_kind(*out) != JV_KIND_NULL)
			return rc;
	}
	snprintf(path, sizeof path, "/repos/%s/%s/issues/%ld/comments", f->owner, f->repo, n);
	text = marked_body(body, marker);
	rc = wf_forge_json(f, "POST", path, jv_object_set(jv_object(), jv_string("body"), jv_string(text)),
			"comment", NULL, &c, NULL, NULL, err, errlen);
	free(text);
	if (rc == WF_EXIT_NOINPUT)
		snprintf(err, errlen, "no pull request #%ld in %s/%s", n, f->owner, f->repo);
	if (rc == WF_EXIT_UNAVAILABLE && marker) {
		/* Did it arrive after all? */
		char e2[256];

		if (find_existing(f, n, 0, marker, out, e2, sizeof e2) == 0 && jv_get_kind(*out) != JV_KIND_NULL)
			return 0;
	}
	if (rc)
		return rc;
	*out = jv_object_set(comment_shape(c), jv_string("existing"), jv_false());
	return 0;
}

/*
 * The lines of DIFF a review comment may be on: {PATH: {LINE: true}} for
 * every added or context line, numbered on the new side; the caller
 * owns the result.
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

/* The review's COMMENTS (borrowed) folded into text, for when the forge will not take them inline. */
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

/* The forge's word for the review EVENT (approve, request-changes, comment), or NULL. */
static const char *
review_event(const char *event)
{
	if (!strcmp(event, "approve"))
		return "APPROVE";
	if (!strcmp(event, "request-changes"))
		return "REQUEST_CHANGES";
	if (!strcmp(event, "comment"))
		return "COMMENT";
	return NULL;
}

/*
 * Sort COMMENTS (borrowed) into *INL, the ones the forge takes inline (a
 * path, a body and a line of #N's diff; it refuses the whole review
 * otherwise), and *OUTSIDE, the rest that have a body, for the text.  The
 * caller owns both.
 */
static void
sort_comments(struct wf_forge *f, long n, jv comments, jv *inl, jv *outside)
{
	jv lines = jv_null();

	*inl = jv_array();
	*outside = jv_array();
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
			*inl = jv_array_append(*inl, one);
		} else if (jv_get_kind(c) == JV_KIND_OBJECT && wf_jv_str(c, "body")) {
			*outside = jv_array_append(*outside, jv_copy(c));
		}
		jv_free(c);
	}
	jv_free(lines);
}

/*
 * The review request: EV, and BODY with the comments not sent inline
 * folded in and MARKER's line; INL and OUTSIDE borrowed, the caller owns
 * the result.
 */
static jv
review_request(const char *ev, const char *body, const char *marker, jv inl, jv outside, int with_inline)
{
	struct wf_buf text = {0};
	char *full;
	jv req = jv_object();

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
	return req;
}

/*
 * Post the review of #N, EV, with the sorted comments INL and OUTSIDE
 * (both borrowed), trying again as a comment review or without inline
 * comments when the forge refuses those.  *OUT: caller owns.
 */
static int
post_review(struct wf_forge *f, long n, const char *ev, const char *body, const char *marker,
	    jv inl, jv outside, jv *out, char *err, size_t errlen)
{
	char path[256];
	int inline_ok = 1, rc = 0;

	snprintf(path, sizeof path, "/repos/%s/%s/pulls/%ld/reviews", f->owner, f->repo, n);
	for (int attempt = 0; attempt < 3; attempt++) {
		static const long ok[] = { 422, 0 };
		jv r;
		long status = 0;
		int with_inline = inline_ok && jv_array_length(jv_copy(inl)) > 0;

		rc = wf_forge_json(f, "POST", path, review_request(ev, body, marker, inl, outside, with_inline),
				   "review", ok, &r, &status, NULL, err, errlen);
		if (rc == 0 && status == 422) {
			char *m = wf_forge_body_message(r);

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
			char e2[256];

			if (find_existing(f, n, 1, marker, out, e2, sizeof e2) == 0 && jv_get_kind(*out) != JV_KIND_NULL) {
				rc = 0;
				break;
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
	return rc;
}

/* COMMENTS consumed; *OUT: caller owns. */
int
wf_forge_review(struct wf_forge *f, long n, const char *event, const char *body, jv comments,
		const char *marker, jv *out, char *err, size_t errlen)
{
	const char *ev = review_event(event);
	jv inl, outside;
	int rc;

	*out = jv_null();
	if (!ev) {
		snprintf(err, errlen, "unknown review event '%.40s' (approve, request-changes or comment)", event);
		jv_free(comments);
		return WF_EXIT_DATA;
	}
	if (marker && !marker_ok(marker)) {
		snprintf(err, errlen, "invalid marker '%.80s' (printable ASCII without '<' or '>')", marker);
		jv_free(comments);
		return WF_EXIT_DATA;
	}
	if (jv_get_kind(comments) != JV_KIND_ARRAY) {
		jv_free(comments);
		comments = jv_array();
	}
	/* Check before acting: a review with our marker is already there. */
	if (marker && ((rc = find_existing(f, n, 1, marker, out, err, errlen)) || jv_get_kind(*out) != JV_KIND_NULL)) {
		jv_free(comments);
		return rc;
	}
	sort_comments(f, n, comments, &inl, &outside);
	jv_free(comments);
	rc = post_review(f, n, ev, body, marker, inl, outside, out, err, errlen);
	jv_free(inl);
	jv_free(outside);
	return rc;
}

/* *OUT: caller owns. */
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
		rc = wf_forge_json(f, "PUT", path, req, "merge", ok, &m, &status, NULL, err, errlen);
		if (rc == 0 && status < 300) {
			merge_sha = wf_jv_str(m, "sha") ? wf_xstrdup(wf_jv_str(m, "sha")) : NULL;
			jv_free(m);
		} else {
			/* Refused, or no answer: it may have been merged by an earlier try. */
			char e2[256], *msg = NULL;

			if (rc == 0)
				msg = wf_forge_body_message(m);
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
		char *h = wf_forge_url_encode(head, 1);
		jv d;
		char e2[512];
		static const long gone[] = { 404, 422, 0 };

		snprintf(path, sizeof path, "/repos/%s/%s/git/refs/heads/", f->owner, f->repo);
		{
			char *p = wf_xasprintf("%s%s", path, h);

			rc = wf_forge_json(f, "DELETE", p, jv_null(), "delete branch", gone, &d, &status, NULL, e2, sizeof e2);
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
