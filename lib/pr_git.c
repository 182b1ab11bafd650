/*
 * pr_git.c: the git actions commit-push and sync (wf-workflow(5)), and
 * the commit-and-push that create-pr also uses for work not yet
 * committed.  History is never rewritten and nothing is forced: a push
 * is a fast-forward, sync brings origin's base in by a merge or a
 * fast-forward, and whatever would need a person (a dirty tree, a
 * diverged base, a conflict) leaves the tree as it was and returns
 * "waiting" with what to do.  The family's rules are in pr.c.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "wf_priv.h"

/* ---- commit and push (commit-push, and create-pr with uncommitted work) ---- */

static const char *const commit_system =
	"You write git commit messages.  Answer with the message only: a summary line of at most "
	"72 characters in the imperative mood, then a blank line and a short body if it helps.  "
	"No quotes, no code fences, no preamble.";

/*
 * Stage (PATHS, or everything), commit with MESSAGE (or one the model
 * writes from the staged diff), and push BRANCH.  R gets effects and vars;
 * *REPORT a sentence.  0, or an exit code with c->err.  PATHS borrowed;
 * *R consumed and replaced.
 */
int
wf_pr_commit_and_push(struct wf_pr_ctx *c, jv *r, const char *branch, const char *message, jv paths,
		struct wf_buf *report)
{
	int npaths = jv_get_kind(paths) == JV_KIND_ARRAY ? jv_array_length(jv_copy(paths)) : 0;
	const char **args = wf_xcalloc((size_t)npaths + 12, sizeof *args);
	char **subst = wf_xcalloc((size_t)npaths + 1, sizeof *subst);
	char *msg = NULL, *sha = NULL, s7[16];
	int k = 0, rc = 0, staged, pushed = 0;

	/* The paths, substituted; each is one argument after "--". */
	for (int i = 0; i < npaths; i++) {
		jv p = jv_array_get(jv_copy(paths), i);
		struct wf_diag warn = {0};

		subst[i] = jv_get_kind(p) == JV_KIND_STRING ?
			   wf_subst(jv_string_value(p), c->req, 0, &warn, c->err, sizeof c->err) : NULL;
		wf_diag_free(&warn);
		jv_free(p);
		if (!subst[i] || !*subst[i]) {
			snprintf(c->err, sizeof c->err, "paths: entry %d is empty", i + 1);
			rc = WF_EXIT_DATA;
			goto out;
		}
	}
	args[k++] = "add";
	args[k++] = "--all";
	args[k++] = "--";
	for (int i = 0; i < npaths; i++)
		args[k++] = subst[i];
	args[k] = NULL;
	if ((rc = wf_pr_git(c, "cannot stage the changes", args, NULL, NULL)))
		goto out;
	{
		const char *a[] = { "diff", "--cached", "--quiet", NULL };

		staged = wf_git_run(c->cwd, a, NULL, 0, NULL, NULL);
		if (staged > 1) {
			snprintf(c->err, sizeof c->err, "cannot compare the index with HEAD (git diff exited %d)", staged);
			rc = staged;
			goto out;
		}
	}
	if (staged) {
		if (message && *message) {
			msg = wf_xstrdup(message);
		} else {
			const char *st[] = { "diff", "--cached", "--stat", NULL };
			const char *df[] = { "diff", "--cached", NULL };
			char *stat = wf_pr_git_text(c, st), *diff = wf_pr_git_text(c, df), *cd = wf_pr_clip(diff, WF_PR_DIFF_MAX);
			char *prompt = wf_xasprintf("Write a git commit message for these staged changes.\n\n%s\n```diff\n%s```\n",
						    stat, cd);
			int code;

			msg = wf_pr_ask(c, commit_system, prompt, &code);
			if (msg) {
				/* Tidy: no fences or quotes around it, no trailing blank lines. */
				char *p = msg;
				size_t n;

				while (*p == '`' || *p == '"' || isspace((unsigned char)*p))
					p++;
				memmove(msg, p, strlen(p) + 1);
				n = strlen(msg);
				while (n && (msg[n - 1] == '`' || msg[n - 1] == '"' || isspace((unsigned char)msg[n - 1])))
					msg[--n] = '\0';
			}
			if (!msg || !*msg) {
				wf_warn("step '%s': no commit message from the model (%s); using a plain one", c->id,
					msg ? "an empty answer" : c->err);
				free(msg);
				msg = wf_xasprintf("Changes from workflow run %s (step %s)", c->run_name ? c->run_name : "?",
						   c->id ? c->id : "?");
			}
			free(stat);
			free(diff);
			free(cd);
			free(prompt);
		}
		k = 0;
		args[k++] = "commit";
		args[k++] = "--quiet";
		args[k++] = "--file=-";
		if (npaths) {
			args[k++] = "--";
			for (int i = 0; i < npaths; i++)
				args[k++] = subst[i];
		}
		args[k] = NULL;
		if ((rc = wf_pr_git(c, "cannot commit", args, msg, NULL)))
			goto out;
		sha = wf_git_rev(c->cwd, "HEAD");
		*r = wf_result_set_effect(*r, "commit", sha ? jv_string(sha) : jv_null());
		*r = wf_result_set_var(*r, "commit", sha ? jv_string(sha) : jv_null());
		wf_buf_printf(report, "committed %s \"%.*s\"", wf_pr_short_sha(sha, s7), (int)strcspn(msg, "\n"), msg);
	} else {
		wf_buf_addstr(report, "nothing to commit");
		*r = wf_result_set_effect(*r, "commit", jv_null());
	}
	/* Pushed even when nothing was committed now: a commit from a crashed try goes out here. */
	if ((rc = wf_pr_push(c, branch, &pushed)))
		goto out;
	free(sha);
	sha = wf_git_rev(c->cwd, "HEAD");
	*r = wf_result_set_effect(*r, "branch", jv_string(branch));
	*r = wf_result_set_effect(*r, "pushed", pushed && sha ? jv_string(sha) : jv_null());
	wf_buf_printf(report, pushed ? "; pushed '%s' to origin (%s)" : "; '%s' is up to date on origin (%s)", branch,
		      wf_pr_short_sha(sha, s7));
out:
	for (int i = 0; i < npaths; i++)
		free(subst[i]);
	free(subst);
	free(args);
	free(msg);
	free(sha);
	return rc;
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_commit_push(jv req, jv r)
{
	struct wf_pr_ctx c;
	struct wf_buf report = {0};
	char *branch = NULL, *base = NULL, *message = NULL;
	int bad = 0;
	jv paths;

	wf_pr_ctx_open(&c, req);
	paths = wf_jv_get(c.step, "paths");
	if (wf_pr_need_repo(&c, &r, 1))
		goto out;
	message = wf_pr_text(&c, "message", &bad);
	if (bad) {
		r = wf_result_fail(r, 1, "'message': %s", c.err);
		goto out;
	}
	if (!(branch = wf_pr_branch(&c, &r, "to commit to")))
		goto out;
	/* Commits go to the run's branch: the one create-pr made, if it made one. */
	if (wf_pr_var_str(&c, "branch") && *wf_pr_var_str(&c, "branch") && strcmp(wf_pr_var_str(&c, "branch"), branch)) {
		r = wf_result_fail(r, 1, "the run's branch is '%s' but '%s' is checked out; switch back (git switch %s), then resume",
			 wf_pr_var_str(&c, "branch"), branch, wf_pr_var_str(&c, "branch"));
		goto out;
	}
	if (!wf_jv_bool(c.step, "allow-base", 0)) {
		if (!(base = wf_pr_base(&c, &r)))
			goto out;
		if (!strcmp(branch, base)) {
			r = wf_result_fail(r, 1, "refusing to commit to the base branch '%s' (open a branch with create-pr first, or set allow-base: true)",
				 base);
			goto out;
		}
	}
	if (!wf_git_branch_name_ok(c.cwd, branch)) {
		r = wf_result_fail(r, WF_EXIT_DATA, "cannot push branch '%.100s': not a valid branch name", branch);
		goto out;
	}
	if (wf_pr_commit_and_push(&c, &r, branch, message, paths, &report)) {
		r = wf_result_fail(r, 1, "%s", c.err);
		goto out;
	}
	r = wf_result_set_var(r, "branch", jv_string(branch));
	r = wf_result_set_output(r, report.s, strlen(report.s));
out:
	jv_free(paths);
	wf_buf_free(&report);
	free(branch);
	free(base);
	free(message);
	return wf_pr_ctx_close(&c, r);
}

/*
 * A "waiting" result: the run pauses (exit 3) with the message FMT
 * saying what a human should do; KIND names the problem.  R consumed;
 * returns ownership.
 */
static jv
wait_for_human(jv r, const char *kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static jv
wait_for_human(jv r, const char *kind, const char *fmt, ...)
{
	jv p = jv_object(), msg;
	va_list ap;

	va_start(ap, fmt);
	msg = jv_string_vfmt(fmt, ap);
	va_end(ap);
	wf_warn("%s", jv_string_value(msg));
	p = jv_object_set(p, jv_string("kind"), jv_string(kind));
	p = jv_object_set(p, jv_string("message"), jv_copy(msg));
	r = jv_object_set(r, jv_string("exit_code"), jv_number(WF_EXIT_WAIT));
	r = jv_object_set(r, jv_string("error"), msg);
	return wf_result_waiting(r, p);
}

/* ---- sync ---- */

/*
 * The pull request is in (MERGED), or BRANCH is the base: back to the
 * base branch, fast-forwarded to origin's (OB).  R consumed; returns
 * ownership.
 */
static jv
sync_base(struct wf_pr_ctx *c, jv r, const char *base, const char *branch, const char *ob, int merged)
{
	char *lb = wf_xasprintf("refs/heads/%s", base), *lsha = wf_git_rev(c->cwd, lb), *head, *o, s7[16];
	const char *ff[] = { "merge", "--ff-only", "--quiet", ob, NULL };
	int rc;

	if (strcmp(branch, base)) {
		if (lsha) {
			const char *a[] = { "switch", "--quiet", "--end-of-options", base, NULL };

			rc = wf_pr_git(c, "cannot switch to the base branch", a, NULL, NULL);
		} else {
			const char *a[] = { "switch", "--quiet", "--create", base, "--track", ob, NULL };

			rc = wf_pr_git(c, "cannot create the base branch", a, NULL, NULL);
		}
		if (rc) {
			r = wf_result_fail(r, 1, "%s", c->err);
			goto out;
		}
		r = wf_result_set_effect(r, "switched_to", jv_string(base));
	}
	if (wf_pr_git(c, "cannot fast-forward", ff, NULL, NULL)) {
		r = wait_for_human(r, "diverged", "sync: local '%s' has commits that are not on origin/%s, so it cannot be fast-forwarded; nothing was changed. Merge or rebase it yourself (git pull), then 'wf resume %s'",
				   base, base, c->run_name ? c->run_name : "RUN");
		goto out;
	}
	head = wf_git_rev(c->cwd, "HEAD");
	r = wf_result_set_effect(r, "head", head ? jv_string(head) : jv_null());
	o = wf_xasprintf("on '%s' at %s, up to date with origin/%s%s", base, wf_pr_short_sha(head, s7), base,
			 merged && strcmp(branch, base) ? " (the pull request is merged)" : "");
	r = wf_result_set_output(r, o, strlen(o));
	free(o);
	free(head);
out:
	free(lb);
	free(lsha);
	return r;
}

/*
 * Merging origin's base into BRANCH failed (git said ERR): a conflict is
 * aborted and left to a person; anything else waits for one too.  R
 * consumed; returns ownership.
 */
static jv
merge_failed(struct wf_pr_ctx *c, jv r, const char *base, const char *branch, const struct wf_buf *err)
{
	const char *mh[] = { "rev-parse", "--quiet", "--verify", "MERGE_HEAD", NULL };
	const char *u[] = { "diff", "--name-only", "--diff-filter=U", NULL };
	const char *ab[] = { "merge", "--abort", NULL };
	const char *run = c->run_name ? c->run_name : "RUN";
	char *in_merge = wf_git_line(c->cwd, mh), *why = wf_git_error(err), *files;

	if (!in_merge) {
		r = wait_for_human(r, "merge-failed", "sync: cannot merge origin/%s into '%s': %s; nothing changed. Fix it, then 'wf resume %s'",
				   base, branch, why, run);
		free(why);
		return r;
	}
	files = wf_pr_git_text(c, u);
	for (char *p = files; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ' ' : '\0';
	if (wf_git_run(c->cwd, ab, NULL, 0, NULL, NULL) != 0) {
		r = wf_result_fail(r, 1, "merging origin/%s into '%s' conflicts in %s, and 'git merge --abort' failed: resolve it by hand",
				   base, branch, files);
	} else {
		r = wait_for_human(r, "conflict", "sync: merging origin/%s into '%s' conflicts in: %s. The merge was aborted and nothing changed. "
				   "Resolve it by hand (git merge origin/%s, fix the conflicts, git commit), then 'wf resume %s'",
				   base, branch, files, base, run);
		r = wf_result_set_effect(r, "conflicts", jv_string(files));
	}
	free(files);
	free(in_merge);
	free(why);
	return r;
}

/*
 * A working branch: bring origin's base (OB, at ORIGIN_SHA) in by
 * merging; history is never rewritten, nothing is forced.  R consumed;
 * returns ownership.
 */
static jv
merge_base_in(struct wf_pr_ctx *c, jv r, const char *base, const char *branch, const char *ob,
	      const char *origin_sha)
{
	char *msg, *head, *o, s7[16];
	struct wf_buf err = {0};
	int rc;

	if (wf_git_is_ancestor(c->cwd, ob, "HEAD") == 1) {
		o = wf_xasprintf("'%s' already contains origin/%s (%s)", branch, base, wf_pr_short_sha(origin_sha, s7));
		r = wf_result_set_output(r, o, strlen(o));
		free(o);
		return r;
	}
	msg = wf_xasprintf("Merge origin/%s into %s", base, branch);
	{
		const char *a[] = { "merge", "--no-edit", "--quiet", "-m", msg, ob, NULL };

		rc = wf_git_run(c->cwd, a, NULL, 0, NULL, &err);
	}
	free(msg);
	if (rc) {
		r = merge_failed(c, r, base, branch, &err);
		wf_buf_free(&err);
		return r;
	}
	wf_buf_free(&err);
	head = wf_git_rev(c->cwd, "HEAD");
	r = wf_result_set_effect(r, "merged_base", jv_string(origin_sha));
	r = wf_result_set_effect(r, "head", head ? jv_string(head) : jv_null());
	o = wf_xasprintf("merged origin/%s (%s) into '%s'; a commit-push step pushes it", base,
			 wf_pr_short_sha(origin_sha, s7), branch);
	r = wf_result_set_output(r, o, strlen(o));
	free(o);
	free(head);
	return r;
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_sync(jv req, jv r)
{
	struct wf_pr_ctx c;
	const char *fetch[] = { "fetch", "--quiet", "origin", NULL };
	char *base = NULL, *branch = NULL, *origin_sha = NULL, *ob = NULL;

	wf_pr_ctx_open(&c, req);
	if (wf_pr_need_repo(&c, &r, 1))
		goto out;
	if (!(base = wf_pr_base(&c, &r)))
		goto out;
	if (wf_pr_git(&c, "cannot fetch from origin", fetch, NULL, NULL)) {
		r = wf_result_fail(r, WF_EXIT_UNAVAILABLE, "%s", c.err);
		goto out;
	}
	ob = wf_xasprintf("refs/remotes/origin/%s", base);
	origin_sha = wf_git_rev(c.cwd, ob);
	if (!origin_sha) {
		r = wf_result_fail(r, WF_EXIT_DATA, "origin has no branch '%s'", base);
		goto out;
	}
	if (!(branch = wf_pr_branch(&c, &r, "first")))
		goto out;
	if (wf_git_dirty(c.cwd, 0) != 0) {
		r = wait_for_human(r, "dirty", "sync: the work tree has uncommitted changes; nothing was touched. Commit them (a commit-push step) or stash them, then 'wf resume %s'",
				   c.run_name ? c.run_name : "RUN");
		goto out;
	}
	r = wf_result_set_effect(r, "base", jv_string(base));
	r = wf_result_set_effect(r, "fetched", jv_string(origin_sha));
	if (wf_pr_var_bool(&c, "pr_merged") == 1 || !strcmp(branch, base))
		r = sync_base(&c, r, base, branch, ob, wf_pr_var_bool(&c, "pr_merged") == 1);
	else
		r = merge_base_in(&c, r, base, branch, ob, origin_sha);
out:
	free(base);
	free(branch);
	free(origin_sha);
	free(ob);
	return wf_pr_ctx_close(&c, r);
}
