/*
 * pr_open.c: the actions that open and merge a pull request, create-pr
 * and merge-pr (wf-workflow(5)).  create-pr looks before it acts: an
 * open pull request for the branch is adopted, never duplicated; the
 * local base goes back to origin's only when no commit is lost.
 * merge-pr merges only what the approving review saw (its head sha),
 * and a pull request merged already counts as merged.  The family's
 * rules are in pr.c.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "wf_priv.h"
#include "branch.h"

/* ---- create-pr ---- */

/* Does refs/remotes/origin/NAME exist? Fetches origin once if not. */
static int
remote_branch(struct wf_pr_ctx *c, const char *name, char **sha)
{
	char *ref = wf_xasprintf("refs/remotes/origin/%s", name);

	*sha = wf_git_rev(c->cwd, ref);
	if (!*sha) {
		const char *args[] = { "fetch", "--quiet", "origin", NULL };

		(void)wf_git_run(c->cwd, args, NULL, 0, NULL, NULL);
		*sha = wf_git_rev(c->cwd, ref);
	}
	free(ref);
	return *sha != NULL;
}

/* Switch to branch NAME, creating it at HEAD when it does not exist; 0 or git's status. */
static int
switch_to(struct wf_pr_ctx *c, const char *name, int *created)
{
	char *ref = wf_xasprintf("refs/heads/%s", name), *sha = wf_git_rev(c->cwd, ref);
	int rc;

	*created = sha == NULL;
	if (sha) {
		const char *args[] = { "switch", "--quiet", "--end-of-options", name, NULL };

		rc = wf_pr_git(c, "cannot switch branches", args, NULL, NULL);
	} else {
		const char *args[] = { "switch", "--quiet", "--create", name, NULL };

		rc = wf_pr_git(c, "cannot create a branch", args, NULL, NULL);
	}
	free(ref);
	free(sha);
	return rc;
}


static const char *const pr_text_system =
	"You write pull request titles and descriptions.  Answer with one JSON object and nothing "
	"else: {\"title\": a title of at most 72 characters, \"body\": a description in Markdown "
	"that says what changes and why}.";

/* Title and body for a new PR: the step's, else the model's, else from the commits. */
static void
pr_text(struct wf_pr_ctx *c, const char *base, char **title, char **body)
{
	char *range = wf_xasprintf("refs/remotes/origin/%s..HEAD", base);
	char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
	const char *lg[] = { "log", "--no-merges", "--format=- %s", range, NULL };
	const char *st[] = { "diff", "--stat", three, NULL };
	const char *df[] = { "diff", three, NULL };
	char *log = wf_pr_git_text(c, lg);

	if (!**title || !**body) {
		char *stat = wf_pr_git_text(c, st), *diff = wf_pr_git_text(c, df), *cd = wf_pr_clip(diff, WF_PR_DIFF_MAX);
		char *prompt = wf_xasprintf("Write a title and a description for a pull request with these commits:\n%s\n%s\n```diff\n%s```\n",
					    log, stat, cd);
		int code;
		char *answer = wf_pr_ask(c, pr_text_system, prompt, &code);
		char perr[256];
		jv v = answer ? wf_json_object_in(answer, perr, sizeof perr) : jv_invalid();

		if (jv_is_valid(v)) {
			if (!**title && wf_jv_str(v, "title") && *wf_jv_str(v, "title")) {
				free(*title);
				*title = wf_xstrndup(wf_jv_str(v, "title"), strcspn(wf_jv_str(v, "title"), "\n"));
			}
			if (!**body && wf_jv_str(v, "body")) {
				free(*body);
				*body = wf_xstrdup(wf_jv_str(v, "body"));
			}
		} else {
			wf_warn("step '%s': no title and description from the model (%s); using the commits", c->id,
				answer ? perr : c->err);
		}
		jv_free(v);
		free(answer);
		free(stat);
		free(diff);
		free(cd);
		free(prompt);
	}
	if (!**title) {
		const char *one[] = { "log", "-1", "--format=%s", NULL };

		free(*title);
		*title = wf_git_line(c->cwd, one);
		if (!*title)
			*title = wf_xasprintf("Changes from workflow run %s", c->run_name ? c->run_name : "?");
	}
	if (!**body) {
		free(*body);
		*body = wf_xasprintf("Commits:\n\n%s", log);
	}
	free(log);
	free(range);
	free(three);
}

/* The pull request's branch: the step's branch:, else the current one, else wf/RUN on the base; malloc'd, or NULL with *R (consumed and replaced) failed. */
static char *
pr_branch(struct wf_pr_ctx *c, jv *r, const char *base, const char *cur)
{
	int bad = 0;
	char *want = wf_pr_text(c, "branch", &bad);

	if (bad) {
		*r = wf_result_fail(*r, 1, "'branch': %s", c->err);
		free(want);
		return NULL;
	}
	if (!want || !*want) {
		free(want);
		want = !strcmp(cur, base) ? wf_xasprintf("wf/%s", c->run_name ? c->run_name : "run") : wf_xstrdup(cur);
	}
	if (!wf_git_branch_name_ok(c->cwd, want)) {
		*r = wf_result_fail(*r, WF_EXIT_DATA, "invalid branch name '%.100s' (git check-ref-format refuses it)", want);
		free(want);
		return NULL;
	}
	if (!strcmp(want, base)) {
		*r = wf_result_fail(*r, 1, "the pull request's branch cannot be the base branch '%s'", base);
		free(want);
		return NULL;
	}
	return want;
}

/*
 * Switch from CUR to WANT (made at HEAD when new).  Commits made on the
 * base branch now live on the new branch too; the local base goes back
 * to origin's (ORIGIN_SHA), so that it can later be fast-forwarded to
 * the merged result, only when nothing is lost.  0, or -1 with *R
 * (consumed and replaced) failed.
 */
static int
move_to_branch(struct wf_pr_ctx *c, jv *r, const char *base, const char *cur, const char *want,
	       const char *origin_sha, struct wf_buf *report)
{
	int created = 0;

	if (switch_to(c, want, &created)) {
		*r = wf_result_fail(*r, 1, "%s", c->err);
		return -1;
	}
	*r = wf_result_set_effect(*r, "created_branch", jv_bool(created));
	wf_buf_printf(report, "%s branch '%s'; ", created ? "created" : "switched to", want);
	if (!strcmp(cur, base)) {
		char *lb = wf_xasprintf("refs/heads/%s", base), *lsha = wf_git_rev(c->cwd, lb);
		char *ob = wf_xasprintf("refs/remotes/origin/%s", base);

		if (lsha && strcmp(lsha, origin_sha) && wf_git_is_ancestor(c->cwd, ob, lb) == 1 &&
		    wf_git_is_ancestor(c->cwd, lb, "HEAD") == 1) {
			const char *a[] = { "update-ref", "-m", "wf create-pr: commits moved to the PR branch", lb,
					    origin_sha, lsha, NULL };

			if (wf_pr_git(c, "cannot reset the local base branch", a, NULL, NULL) == 0)
				*r = wf_result_set_effect(*r, "base_moved_from", jv_string(lsha));
		}
		free(lb);
		free(lsha);
		free(ob);
	}
	return 0;
}

/*
 * Nothing committed on WANT yet, but work in the tree: commit and push
 * it (as commit-push would); nothing at all: there is nothing to
 * propose.  0, or -1 with *R (consumed and replaced) failed.
 */
static int
commit_pending(struct wf_pr_ctx *c, jv *r, const char *base, const char *want, struct wf_buf *report)
{
	char *range = wf_xasprintf("refs/remotes/origin/%s..HEAD", base);
	const char *a[] = { "rev-list", "--count", range, NULL };
	char *count = wf_git_line(c->cwd, a);
	int rc = 0;

	if (count && !strcmp(count, "0")) {
		if (wf_git_dirty(c->cwd, 1) != 1) {
			*r = wf_result_fail(*r, 1, "nothing to propose: '%s' has no commits that are not on origin/%s, and no changes to commit",
					    want, base);
			rc = -1;
		} else if (wf_pr_commit_and_push(c, r, want, NULL, jv_null(), report)) {
			*r = wf_result_fail(*r, 1, "%s", c->err);
			rc = -1;
		} else {
			wf_buf_addstr(report, "; ");
		}
	}
	free(count);
	free(range);
	return rc;
}

/*
 * Check before acting: an open PR for WANT is this run's (adopted, never
 * duplicated); else open one.  Returns the PR (owned by the caller), or
 * an invalid jv with *R (consumed and replaced) failed.
 */
static jv
find_or_open(struct wf_pr_ctx *c, jv *r, const char *base, const char *want)
{
	const char *find[] = { "find", want, NULL };
	const char *a[] = { "create", "--head", want, "--base", base, "--title", NULL, "--body-file", "-",
			    NULL, NULL };
	char *title, *body;
	int bad = 0, code;
	jv pr = wf_pr_forge(c, find, NULL, &code);

	if (jv_is_valid(pr))
		return jv_object_set(pr, jv_string("adopted"), jv_true());
	if (code != WF_EXIT_NOINPUT) {
		*r = wf_result_fail(*r, code, "%s", c->err);
		return pr;
	}
	jv_free(pr);
	title = wf_pr_text(c, "title", &bad);
	body = bad ? NULL : wf_pr_text(c, "body", &bad);
	if (bad) {
		*r = wf_result_fail(*r, 1, "%s", c->err);
		free(title);
		free(body);
		return jv_invalid();
	}
	if (!title)
		title = wf_xstrdup("");
	if (!body)
		body = wf_xstrdup("");
	pr_text(c, base, &title, &body);
	a[6] = title;
	if (wf_jv_bool(c->step, "draft", 0))
		a[9] = "--draft";
	pr = wf_pr_forge(c, a, body, &code);
	if (!jv_is_valid(pr))
		*r = wf_result_fail(*r, code, "%s", c->err);
	free(title);
	free(body);
	return pr;
}

/* R consumed and returned with the PR's vars, effects and output; PR borrowed. */
static jv
report_pr(jv r, jv pr, const char *base, const char *want, const char *head, struct wf_buf *report)
{
	double n = wf_jv_num(pr, "number", 0);
	const char *url = wf_jv_str(pr, "url");
	int adopted = wf_jv_bool(pr, "adopted", 0);
	char s7[16];

	r = wf_result_set_var(r, "pr_number", jv_number(n));
	r = wf_result_set_var(r, "pr_url", url ? jv_string(url) : jv_null());
	r = wf_result_set_effect(r, "pr_number", jv_number(n));
	r = wf_result_set_effect(r, "pr_url", url ? jv_string(url) : jv_null());
	r = wf_result_set_effect(r, "adopted", jv_bool(adopted));
	wf_buf_printf(report, "%s pull request #%ld %s (%s into %s, head %s)",
		      adopted ? "found the open" : "opened", (long)n, url ? url : "", want, base,
		      wf_pr_short_sha(head, s7));
	r = jv_object_set(r, jv_string("pr"), jv_copy(pr));
	return wf_result_set_output(r, report->s, strlen(report->s));
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_create_pr(jv req, jv r)
{
	struct wf_pr_ctx c;
	char *base = NULL, *cur = NULL, *want = NULL, *origin_sha = NULL, *head = NULL;
	int pushed = 0;
	struct wf_buf report = {0};
	jv pr = jv_invalid();

	wf_pr_ctx_open(&c, req);
	if (wf_pr_need_repo(&c, &r, 1))
		goto out;
	if (!(base = wf_pr_base(&c, &r)))
		goto out;
	if (!remote_branch(&c, base, &origin_sha)) {
		r = wf_result_fail(r, WF_EXIT_DATA, "origin has no branch '%s' to open a pull request against", base);
		goto out;
	}
	if (!(cur = wf_pr_branch(&c, &r, "first")))
		goto out;
	if (!(want = pr_branch(&c, &r, base, cur)))
		goto out;
	if (strcmp(cur, want) && move_to_branch(&c, &r, base, cur, want, origin_sha, &report))
		goto out;
	r = wf_result_set_var(r, "branch", jv_string(want));
	r = wf_result_set_var(r, "base", jv_string(base));
	r = wf_result_set_effect(r, "branch", jv_string(want));
	if (commit_pending(&c, &r, base, want, &report))
		goto out;
	if (wf_pr_push(&c, want, &pushed)) {
		r = wf_result_fail(r, 1, "%s", c.err);
		goto out;
	}
	head = wf_git_rev(c.cwd, "HEAD");
	if (pushed)
		r = wf_result_set_effect(r, "pushed", head ? jv_string(head) : jv_null());
	pr = find_or_open(&c, &r, base, want);
	if (jv_is_valid(pr))
		r = report_pr(r, pr, base, want, head, &report);
out:
	jv_free(pr);
	wf_buf_free(&report);
	free(base);
	free(cur);
	free(want);
	free(origin_sha);
	free(head);
	return wf_pr_ctx_close(&c, r);
}

/* ---- merge-pr ---- */

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_merge_pr(jv req, jv r)
{
	struct wf_pr_ctx c;
	long n;
	const char *method;
	const char *sha;
	char num[32], s7[16];
	int code;
	jv m = jv_invalid();

	wf_pr_ctx_open(&c, req);
	n = wf_pr_number(&c);
	method = wf_jv_str(c.step, "method") ? wf_jv_str(c.step, "method") : "merge";
	if (n <= 0) {
		r = wf_result_fail(r, WF_EXIT_DATA, "no pull request to merge: vars.pr_number is not set (a create-pr step sets it)");
		goto out;
	}
	snprintf(num, sizeof num, "%ld", n);
	if (wf_jv_bool(c.step, "require-approval", 1) && wf_pr_var_bool(&c, "approved") != 1) {
		r = wf_result_fail(r, 1, "refusing to merge pull request #%ld: the last review did not approve it (set require-approval: false to merge anyway)",
			 n);
		goto out;
	}
	/* Merge what was reviewed: the head the approving review saw, when known. */
	sha = wf_jv_bool(c.step, "require-approval", 1) ? wf_pr_var_str(&c, "reviewed_sha") : NULL;
	{
		const char *a[12];
		int k = 0;

		a[k++] = "merge";
		a[k++] = num;
		a[k++] = "--method";
		a[k++] = method;
		if (sha && *sha) {
			a[k++] = "--sha";
			a[k++] = sha;
		}
		if (wf_jv_bool(c.step, "delete-branch", 0))
			a[k++] = "--delete-branch";
		a[k] = NULL;
		m = wf_pr_forge(&c, a, NULL, &code);
	}
	if (!jv_is_valid(m)) {
		r = wf_result_fail(r, code, "%s", c.err);
		goto out;
	}
	{
		int already = wf_jv_bool(m, "already", 0);
		char *o = already ? wf_xasprintf("pull request #%ld was already merged (%s)", n, wf_pr_short_sha(wf_jv_str(m, "sha"), s7))
				  : wf_xasprintf("merged pull request #%ld (%s) as %s", n, method, wf_pr_short_sha(wf_jv_str(m, "sha"), s7));

		r = wf_result_set_var(r, "pr_merged", jv_true());
		r = wf_result_set_var(r, "merge_sha", wf_jv_get(m, "sha"));
		r = wf_result_set_effect(r, "merged", jv_true());
		r = wf_result_set_effect(r, "already", jv_bool(already));
		r = wf_result_set_effect(r, "sha", wf_jv_get(m, "sha"));
		{
			jv bd = wf_jv_get(m, "branch_deleted");

			if (jv_get_kind(bd) != JV_KIND_NULL)
				r = wf_result_set_effect(r, "branch_deleted", bd);
			else
				jv_free(bd);
		}
		r = wf_result_set_output(r, o, strlen(o));
		free(o);
	}
out:
	jv_free(m);
	return wf_pr_ctx_close(&c, r);
}

