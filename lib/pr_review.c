/*
 * pr_review.c: the actions that review a pull request, review-pr (a
 * model's verdict, posted as a review or a comment) and self-review (a
 * comment saying what the branch changes) (wf-workflow(5)).  A model's
 * verdict is made regular (approved, summary, comments) or asked for
 * once more; it is saved before it is posted, and every post carries the
 * execution's marker, so a step that runs again reuses the verdict and
 * finds its post instead of asking or posting twice; a quorum saves each
 * model's verdict as it comes, so a crash asks again only those that
 * had not answered.  The family's rules
 * are in pr.c.
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
#include "quorum.h"

/* ---- review-pr ---- */

static const char *const review_system =
	"You are a careful code reviewer.  Answer with one JSON object and nothing else:\n"
	"{\"approved\": true or false, \"summary\": \"what you found, in a few sentences\", "
	"\"comments\": [{\"path\": \"file path as in the diff\", \"line\": line number in the new "
	"version of the file, \"body\": \"what to change and why\"}]}\n"
	"Approve only when the change is ready to merge as it is; when you ask for changes, say "
	"exactly what to change in the comments.";

static const char *const review_default =
	"Review the pull request below for correctness, clarity, error handling and tests.";

/* Markdown of a verdict for humans: the summary and the comments. */
static char *
verdict_text(jv verdict, int list_comments)
{
	struct wf_buf b = {0};
	jv cs = wf_jv_get(verdict, "comments");

	wf_buf_printf(&b, "**%s**\n\n%s", wf_jv_bool(verdict, "approved", 0) ? "Approved" : "Changes requested",
		      wf_jv_str(verdict, "summary") ? wf_jv_str(verdict, "summary") : "");
	if (list_comments && jv_get_kind(cs) == JV_KIND_ARRAY && jv_array_length(jv_copy(cs)) > 0) {
		wf_buf_addstr(&b, "\n");
		jv_array_foreach(cs, i, x) {
			(void)i;
			wf_buf_printf(&b, "\n- `%s", wf_jv_str(x, "path") ? wf_jv_str(x, "path") : "(general)");
			if (wf_jv_num(x, "line", 0) > 0)
				wf_buf_printf(&b, ":%ld", (long)wf_jv_num(x, "line", 0));
			wf_buf_printf(&b, "`: %s", wf_jv_str(x, "body") ? wf_jv_str(x, "body") : "");
			jv_free(x);
		}
	}
	jv_free(cs);
	if (wf_jv_str(verdict, "model"))
		wf_buf_printf(&b, "\n\n_Review by model `%s`%s%s%s_", wf_jv_str(verdict, "model"),
			      wf_jv_str(verdict, "fell_back_from") ? ", standing in for `" : "",
			      wf_jv_str(verdict, "fell_back_from") ? wf_jv_str(verdict, "fell_back_from") : "",
			      wf_jv_str(verdict, "fell_back_from") ? "`, which was unavailable" : "");
	return wf_buf_detach(&b);
}

/*
 * VERDICT (consumed, returned) naming the model that gave it: the one
 * that answered this step's calls (C's usage), the fallback's when the
 * model asked for was down, with the model it stood in for and why.
 */
static jv
with_reviewer(struct wf_pr_ctx *c, jv verdict)
{
	jv fb = wf_jv_get(c->usage, "fallbacks"), last = jv_null();
	int n = jv_get_kind(fb) == JV_KIND_ARRAY ? jv_array_length(jv_copy(fb)) : 0;

	if (n > 0)
		last = jv_array_get(jv_copy(fb), n - 1);
	if (wf_jv_str(last, "to"))
		verdict = jv_object_set(verdict, jv_string("model"), wf_jv_get(last, "to"));
	else if (wf_jv_str(c->usage, "model"))
		verdict = jv_object_set(verdict, jv_string("model"), wf_jv_get(c->usage, "model"));
	if (n > 0)
		verdict = jv_object_set(verdict, jv_string("fell_back_from"), wf_jv_get(last, "from"));
	jv_free(last);
	jv_free(fb);
	return verdict;
}

/* Write the JSON V (borrowed) to a new temporary file; its path (malloc'd) or NULL. */
static char *
temp_json(jv v)
{
	const char *dir = getenv("TMPDIR");
	char *path = wf_xasprintf("%s/wf-pr-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	char *text;

	if (fd < 0) {
		free(path);
		return NULL;
	}
	text = wf_json_dump(v);
	if (wf_write_all(fd, text, strlen(text)) < 0) {
		close(fd);
		unlink(path);
		free(path);
		free(text);
		return NULL;
	}
	close(fd);
	free(text);
	return path;
}

/* A verdict this execution saved at SAVED before (a crash): an object (owned by the caller), or invalid. */
static jv
saved_verdict(const char *saved)
{
	struct wf_buf text = {0};
	jv verdict = jv_invalid();

	if (saved && wf_read_file(saved, 1 << 20, &text) == 0 && text.s) {
		char perr[128];

		verdict = wf_json_parse(text.s, text.len, perr, sizeof perr);
		if (!jv_is_valid(verdict) || jv_get_kind(verdict) != JV_KIND_OBJECT) {
			jv_free(verdict);
			verdict = jv_invalid();
		}
	}
	wf_buf_free(&text);
	return verdict;
}

/*
 * The prompt that asks for a review of PR N (its VIEW borrowed) with its
 * diff: malloc'd, or NULL with *R (consumed and replaced) failed.
 */
static char *
review_prompt(struct wf_pr_ctx *c, jv *r, long n, const char *num, jv view)
{
	const char *a[] = { "diff", num, NULL };
	char *diff, *prompt, *instructions;
	int bad = 0, code;
	jv d = wf_pr_forge(c, a, NULL, &code);

	if (!jv_is_valid(d)) {
		*r = wf_result_fail(*r, code, "%s", c->err);
		jv_free(d);
		return NULL;
	}
	instructions = wf_pr_text(c, "prompt", &bad);
	if (bad) {
		jv_free(d);
		free(instructions);
		*r = wf_result_fail(*r, 1, "'prompt': %s", c->err);
		return NULL;
	}
	diff = wf_pr_clip(wf_jv_str(d, "diff") ? wf_jv_str(d, "diff") : "", WF_PR_DIFF_MAX);
	jv_free(d);
	prompt = wf_xasprintf("%s\n\nPull request #%ld: %s\n\n%s\n\nThe diff:\n```diff\n%s```\n",
			      instructions && *instructions ? instructions : review_default, n,
			      wf_jv_str(view, "title") ? wf_jv_str(view, "title") : "",
			      wf_jv_str(view, "body") ? wf_jv_str(view, "body") : "", diff);
	free(diff);
	free(instructions);
	return prompt;
}

/*
 * The verdict in a model's ANSWER, or, when it is not a usable one, in
 * its answer when asked once more (of MODEL, NULL: the step's): owned by
 * the caller, or invalid with *R (consumed and replaced) failed.
 */
static jv
verdict_or_repair(struct wf_pr_ctx *c, jv *r, const char *answer, const char *model)
{
	char perr[512], *again, *answer2 = NULL;
	int code = 0;
	jv verdict = wf_verdict_of(answer, perr, sizeof perr);

	if (jv_is_valid(verdict))
		return verdict;
	/* One repair attempt, with what was wrong. */
	again = wf_xasprintf("Your review could not be used (%s). It was:\n\n%s\n\nAnswer again with only the JSON object "
			     "{\"approved\": true|false, \"summary\": ..., \"comments\": [{\"path\", \"line\", \"body\"}]}.",
			     perr, answer);
	jv_free(verdict);
	if (!model)
		answer2 = wf_pr_ask(c, review_system, again, &code);
	else {
		jv res = wf_ai_chat(c->req, model, review_system, again, 0, c->err, sizeof c->err, &code);

		if (jv_is_valid(res)) {
			c->usage = wf_quorum_usage(c->usage, res);
			answer2 = wf_xstrdup(wf_jv_str(res, "text") ? wf_jv_str(res, "text") : "");
		}
		jv_free(res);
	}
	free(again);
	verdict = answer2 ? wf_verdict_of(answer2, perr, sizeof perr) : jv_invalid();
	if (!jv_is_valid(verdict))
		*r = wf_result_fail(*r, 1, "the model's review is not a usable verdict, even when asked again: %s",
				    answer2 || !code ? perr : c->err);
	free(answer2);
	return verdict;
}

/*
 * Ask the model to review PR N (its VIEW borrowed) from its diff, once
 * more when the answer is not a usable verdict, and save the verdict at
 * SAVED before it is used.  The verdict (owned by the caller), or an
 * invalid jv with *R (consumed and replaced) failed.
 */
static jv
ask_verdict(struct wf_pr_ctx *c, jv *r, long n, const char *num, jv view, const char *saved)
{
	char *prompt = review_prompt(c, r, n, num, view), *answer, *t;
	int code;
	jv verdict;

	if (!prompt)
		return jv_invalid();
	answer = wf_pr_ask(c, review_system, prompt, &code);
	free(prompt);
	if (!answer) {
		*r = wf_result_fail(*r, code, "cannot get a review from the model: %s", c->err);
		return jv_invalid();
	}
	verdict = verdict_or_repair(c, r, answer, NULL);
	free(answer);
	if (jv_is_valid(verdict)) {
		verdict = with_reviewer(c, verdict);
		t = wf_json_dump(verdict);
		(void)wf_pr_save_file(saved, t);
		free(t);
	}
	return verdict;
}

/*
 * Post VERDICT (borrowed) on PR NUM as POST says (review or comment),
 * once: the MARKER finds an earlier post of this execution.  0, or -1
 * with *R (consumed and replaced) failed.
 */
static int
post_verdict(struct wf_pr_ctx *c, jv *r, jv verdict, const char *post, const char *num, const char *marker)
{
	char *text = verdict_text(verdict, !strcmp(post, "comment"));
	jv posted = jv_invalid();
	int code;

	if (!strcmp(post, "comment")) {
		const char *a[] = { "comment", num, "--body-file", "-", "--marker", marker, NULL };

		posted = wf_pr_forge(c, a, text, &code);
	} else {
		jv cs = wf_jv_get(verdict, "comments");
		char *file = temp_json(cs);
		const char *a[] = { "review", num, "--event",
				    wf_jv_bool(verdict, "approved", 0) ? "approve" : "request-changes",
				    "--body-file", "-", "--marker", marker, "--comments-file", file, NULL };

		jv_free(cs);
		if (!file) {
			snprintf(c->err, sizeof c->err, "cannot write a temporary file: %s", strerror(errno));
			code = WF_EXIT_IO;
		} else {
			posted = wf_pr_forge(c, a, text, &code);
			unlink(file);
			free(file);
		}
	}
	free(text);
	if (!jv_is_valid(posted)) {
		*r = wf_result_fail(*r, code, "cannot post the review: %s", c->err);
		jv_free(posted);
		return -1;
	}
	*r = wf_result_set_effect(*r, !strcmp(post, "comment") ? "comment_id" : "review_id", wf_jv_get(posted, "id"));
	*r = wf_result_set_effect(*r, "url", wf_jv_get(posted, "url"));
	*r = wf_result_set_effect(*r, "existing", jv_bool(wf_jv_bool(posted, "existing", 0)));
	jv_free(posted);
	return 0;
}

/* R consumed and returned with the verdict's vars, effects, output and messages; VERDICT and VIEW borrowed. */
static jv
report_verdict(jv r, jv verdict, jv view, long n, const char *marker)
{
	int ok = wf_jv_bool(verdict, "approved", 0);
	jv cs = wf_jv_get(verdict, "comments");
	int ncs = jv_array_length(jv_copy(cs));
	char *line = wf_xasprintf("#%ld %s: %s", n, ok ? "approved" : "changes requested",
				  wf_jv_str(verdict, "summary") ? wf_jv_str(verdict, "summary") : "");
	char *full = ncs ? wf_xasprintf("%s (%d comment%s)", line, ncs, ncs == 1 ? "" : "s") : wf_xstrdup(line);

	if (wf_jv_str(verdict, "model")) {
		char *by = wf_xasprintf("%s [model %s]", full, wf_jv_str(verdict, "model"));

		free(full);
		full = by;
	}
	char *vt = wf_json_dump(verdict), ask_line[64];

	r = jv_object_set(r, jv_string("approved"), jv_bool(ok));
	r = wf_result_set_var(r, "approved", jv_bool(ok));
	r = wf_result_set_var(r, "review_comments", cs);
	r = wf_result_set_var(r, "review_summary", wf_jv_get(verdict, "summary"));
	r = wf_result_set_var(r, "reviewed_sha", wf_jv_get(view, "head_sha"));
	r = wf_result_set_var(r, "review_model", wf_jv_get(verdict, "model"));
	r = wf_result_set_effect(r, "approved", jv_bool(ok));
	r = wf_result_set_effect(r, "marker", jv_string(marker));
	r = wf_result_set_output(r, full, strlen(full));
	snprintf(ask_line, sizeof ask_line, "Review pull request #%ld.", n);
	r = wf_result_exchange(r, ask_line, vt);
	free(vt);
	free(line);
	free(full);
	return r;
}

/* ---- review-pr with a quorum of models ---- */

/* What the verdicts of a quorum are gathered in as the models answer. */
struct gather {
	struct wf_pr_ctx *c;
	jv ask;			/* the models asked, in the order of the calls */
	jv got;			/* {model: verdict}: saved ones and those come in */
	jv failed;		/* [{model, error}] */
	const char *saved;
	int unsaved;		/* a verdict could not be saved */
};

/*
 * wf_quorum_each for review-pr: call I's result RES (borrowed) made a
 * verdict (asked once more when it is not a usable one) and saved at
 * once with those before it, so a crash while the others answer asks
 * only those again; a model that fails goes into the failed list.
 */
static void
gather_one(int i, jv res, void *arg)
{
	struct gather *g = arg;
	jv m = jv_array_get(jv_copy(g->ask), i), v = jv_invalid(), rr = jv_object();
	char *t;

	if (wf_jv_str(res, "error"))
		g->failed = jv_array_append(g->failed, jv_object_set(jv_object_set(jv_object(), jv_string("model"), jv_copy(m)),
								  jv_string("error"), wf_jv_get(res, "error")));
	else {
		g->c->usage = wf_quorum_usage(g->c->usage, res);
		v = verdict_or_repair(g->c, &rr, wf_jv_str(res, "text") ? wf_jv_str(res, "text") : "", jv_string_value(m));
		if (!jv_is_valid(v))
			g->failed = jv_array_append(g->failed, jv_object_set(jv_object_set(jv_object(), jv_string("model"),
									  jv_copy(m)), jv_string("error"), wf_jv_get(rr, "error")));
	}
	if (jv_is_valid(v)) {
		v = jv_object_set(v, jv_string("model"), jv_copy(m));
		g->got = jv_object_set(g->got, jv_copy(m), jv_object_set(v, jv_string("usage"), wf_usage_add(jv_null(), res)));
		t = wf_json_dump(g->got);
		if (wf_pr_save_file(g->saved, t) < 0)
			g->unsaved = 1;
		free(t);
	} else
		jv_free(v);
	jv_free(rr);
	jv_free(m);
}

/*
 * The verdicts of every model of MODELS (borrowed) on PR N (VIEW
 * borrowed), in their order: those this execution saved at SAVED before
 * a crash, the others asked of all the models at once (each once more
 * when its answer is not a usable verdict), each saved as it comes.
 * Their usage goes into c->usage by model.  A model that fails gives
 * none: it goes into *FAILED ({model, error}).  An array (owned by the
 * caller), or invalid with *R (consumed and replaced) failed.
 */
static jv
quorum_verdicts(struct wf_pr_ctx *c, jv *r, long n, const char *num, jv view, jv models, const char *saved, jv *failed)
{
	struct gather g = { c, jv_array(), saved_verdict(saved), *failed, saved, 0 };
	jv out = jv_array();
	char *prompt = NULL;

	if (!jv_is_valid(g.got)) {
		jv_free(g.got);
		g.got = jv_object();
	}
	jv_array_foreach(models, i, m) {
		jv had = jv_object_get(jv_copy(g.got), jv_copy(m)), yes = wf_jv_get(had, "approved");

		(void)i;
		/* Only a saved verdict that is one is used again; anything else there is asked again. */
		if (jv_get_kind(yes) == JV_KIND_TRUE || jv_get_kind(yes) == JV_KIND_FALSE)
			jv_free(m);
		else {
			g.got = jv_object_delete(g.got, jv_copy(m));
			g.ask = jv_array_append(g.ask, m);
		}
		jv_free(had);
		jv_free(yes);
	}
	if (jv_array_length(jv_copy(g.ask)) > 0) {
		if (!(prompt = review_prompt(c, r, n, num, view))) {
			jv_free(g.ask);
			jv_free(g.got);
			*failed = g.failed;
			jv_free(out);
			return jv_invalid();
		}
		jv_free(wf_ai_quorum_chat(c->req, g.ask, review_system, prompt, gather_one, &g));
	}
	jv_free(g.ask);
	free(prompt);
	*failed = g.failed;
	if (g.unsaved) {
		/* Unsaved, a verdict could be asked again after a crash and differ from the one posted. */
		*r = wf_result_fail(*r, WF_EXIT_IO, "cannot save the models' verdicts in '%s' before posting them", saved);
		jv_free(g.got);
		jv_free(out);
		return jv_invalid();
	}
	jv_array_foreach(models, i, m) {
		jv v = jv_object_get(jv_copy(g.got), jv_copy(m));

		(void)i;
		/* Named by the model it was asked of, whatever a saved file says. */
		if (jv_is_valid(v))
			out = jv_array_append(out, jv_object_set(v, jv_string("model"), m));
		else {
			jv_free(v);
			jv_free(m);
		}
	}
	jv_free(g.got);
	return out;
}

/*
 * Post each verdict of VERDICTS (borrowed) on PR NUM as POST says, each
 * with its own marker, MARKER and its model: a post found there is not
 * made again.  0, or -1 with *R (consumed and replaced) failed.
 */
static int
post_verdicts(struct wf_pr_ctx *c, jv *r, jv verdicts, const char *post, const char *num, const char *marker)
{
	int rc = 0;
	jv ids = jv_array();

	jv_array_foreach(verdicts, i, v) {
		char *mine = wf_xasprintf("%s model %s", marker, wf_jv_str(v, "model") ? wf_jv_str(v, "model") : "?");
		jv one = jv_object();

		(void)i;
		for (char *p = mine; *p; p++)
			if (*p == '<' || *p == '>' || (unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '_';
		if (!rc && post_verdict(c, &one, v, post, num, mine)) {
			*r = wf_result_fail(*r, (int)wf_jv_num(one, "exit_code", 1), "%s", wf_jv_str(one, "error"));
			rc = -1;
		} else if (!rc)
			ids = jv_array_append(ids, wf_jv_get(one, "effects"));
		free(mine);
		jv_free(one);
		jv_free(v);
	}
	*r = wf_result_set_effect(*r, "posts", ids);
	return rc;
}

/*
 * R (consumed, returned) with the count of VERDICTS (borrowed) of N models
 * as the step's verdict: "approved", the vars a single review sets (the
 * summary its line, the comments all of theirs), and its output.
 */
static jv
report_quorum(jv r, jv verdicts, jv view, long n, const char *line, const char *marker)
{
	struct wf_buf b = {0};
	jv cs = jv_array(), names = jv_array();
	int ok = wf_jv_bool(r, "approved", 0);

	wf_buf_printf(&b, "#%ld %s: %s", n, ok ? "approved" : "changes requested", line);
	jv_array_foreach(verdicts, i, v) {
		jv more = wf_jv_get(v, "comments");

		wf_buf_printf(&b, "%s%s %s", i ? ", " : "; ", wf_jv_str(v, "model") ? wf_jv_str(v, "model") : "?",
			      wf_jv_bool(v, "approved", 0) ? "approved" : "requested changes");
		names = jv_array_append(names, wf_jv_get(v, "model"));
		cs = jv_array_concat(cs, jv_get_kind(more) == JV_KIND_ARRAY ? more : (jv_free(more), jv_array()));
		jv_free(v);
	}
	if (wf_jv_bool(r, "split", 0))
		wf_buf_addstr(&b, " (split)");
	r = wf_result_set_var(r, "approved", jv_bool(ok));
	r = wf_result_set_var(r, "review_comments", cs);
	r = wf_result_set_var(r, "review_summary", jv_string(line));
	r = wf_result_set_var(r, "reviewed_sha", wf_jv_get(view, "head_sha"));
	r = wf_result_set_var(r, "review_models", names);
	r = jv_object_set(r, jv_string("verdict"), jv_string(line));
	r = wf_result_set_effect(r, "approved", jv_bool(ok));
	r = wf_result_set_effect(r, "marker", jv_string(marker));
	r = wf_result_set_output(r, b.s, b.len);
	wf_buf_free(&b);
	return r;
}

/*
 * review-pr with 'models' (MODELS borrowed): every model's verdict,
 * counted against the quorum, each posted as its own review or comment.
 * R consumed and returned.
 */
static jv
review_quorum(struct wf_pr_ctx *c, jv r, long n, const char *num, jv view, jv models, const char *post)
{
	char *marker = wf_pr_marker(c), *saved = wf_pr_saved_path(c, "review", "json"), *line = NULL;
	int count = jv_array_length(jv_copy(models));
	jv failed = jv_array(), verdicts = quorum_verdicts(c, &r, n, num, view, models, saved, &failed);

	if (jv_array_length(jv_copy(failed)) > 0)
		r = jv_object_set(r, jv_string("failed_models"), jv_copy(failed));
	if (jv_is_valid(verdicts) && wf_quorum_count(&r, verdicts, count, wf_quorum_of(c->step, count), &line) == 0 &&
	    !(strcmp(post, "none") && post_verdicts(c, &r, verdicts, post, num, marker)))
		r = report_quorum(r, verdicts, view, n, line, marker);
	/* Every model's calls, counted by model for budgets and wf status. */
	if (jv_get_kind(c->usage) == JV_KIND_OBJECT)
		r = jv_object_set(r, jv_string("usage_models"), jv_copy(c->usage));
	jv_free(c->usage);
	c->usage = jv_null();
	jv_free(verdicts);
	jv_free(failed);
	free(line);
	free(marker);
	free(saved);
	return r;
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_review_pr(jv req, jv r)
{
	struct wf_pr_ctx c;
	long n;
	char *marker = NULL, *saved = NULL, num[32];
	const char *post;
	int code;
	jv verdict = jv_invalid(), view = jv_invalid(), models;

	wf_pr_ctx_open(&c, req);
	models = wf_jv_get(c.step, "models");
	n = wf_pr_number(&c);
	if (n <= 0) {
		r = wf_result_fail(r, WF_EXIT_DATA, "no pull request to review: vars.pr_number is not set (a create-pr step sets it)");
		goto out;
	}
	snprintf(num, sizeof num, "%ld", n);
	post = wf_jv_str(c.step, "post") ? wf_jv_str(c.step, "post") : "review";
	marker = wf_pr_marker(&c);
	saved = wf_pr_saved_path(&c, "review", "json");
	{
		const char *a[] = { "view", num, NULL };

		view = wf_pr_forge(&c, a, NULL, &code);
		if (!jv_is_valid(view)) {
			r = wf_result_fail(r, code, "%s", c.err);
			goto out;
		}
	}
	if (jv_get_kind(models) == JV_KIND_ARRAY) {
		r = review_quorum(&c, r, n, num, view, models, post);
		goto out;
	}
	/* A verdict this execution already got (before a crash) is used again, not asked for again. */
	verdict = saved_verdict(saved);
	if (!jv_is_valid(verdict)) {
		jv_free(verdict);
		verdict = ask_verdict(&c, &r, n, num, view, saved);
		if (!jv_is_valid(verdict))
			goto out;
	}
	/* Post it (unless post: none). */
	if (strcmp(post, "none") && post_verdict(&c, &r, verdict, post, num, marker))
		goto out;
	r = report_verdict(r, verdict, view, n, marker);
out:
	jv_free(models);
	jv_free(verdict);
	jv_free(view);
	free(marker);
	free(saved);
	return wf_pr_ctx_close(&c, r);
}

/* ---- self-review ---- */

static const char *const self_review_default =
	"Write a self-review comment for this pull request: summarise what changed and why, how "
	"the review comments were addressed, and what a human reviewer should look at.";

/*
 * This execution's self-review on PR NUM, found by its MARKER among the
 * PR's comments: 0 with *POSTED the comment (owned by the caller;
 * "existing": true) or an invalid jv when there is none, or -1 with *R
 * (consumed and replaced) failed.
 */
static int
find_posted(struct wf_pr_ctx *c, jv *r, const char *num, const char *marker, jv *posted)
{
	const char *a[] = { "comments", num, NULL };
	char *line = wf_xasprintf("<!-- %s -->", marker);
	int code;
	jv all = wf_pr_forge(c, a, NULL, &code);

	*posted = jv_invalid();
	if (jv_is_valid(all) && jv_get_kind(all) != JV_KIND_ARRAY) {
		jv_free(all);
		all = jv_invalid();
		code = WF_EXIT_SOFTWARE;
		snprintf(c->err, sizeof c->err, "wf-pr comments did not answer with a list");
	}
	if (!jv_is_valid(all)) {
		free(line);
		jv_free(all);
		*r = wf_result_fail(*r, code, "%s", c->err);
		return -1;
	}
	jv_array_foreach(all, i, x) {
		(void)i;
		if (!jv_is_valid(*posted) && wf_jv_str(x, "body") && strstr(wf_jv_str(x, "body"), line))
			*posted = jv_object_set(jv_copy(x), jv_string("existing"), jv_true());
		jv_free(x);
	}
	jv_free(all);
	free(line);
	return 0;
}

/*
 * The self-review's text: the model's (asked with the branch's commits,
 * stat and diff against the base), else a plain heading, then the
 * commits and the stat.  Malloc'd, or NULL with *R (consumed and
 * replaced) failed.
 */
static char *
self_review_text(struct wf_pr_ctx *c, jv *r)
{
	jv scratch = jv_object();
	char *base = wf_pr_base(c, &scratch), *lg = NULL, *stat = NULL, *diff = NULL, *instructions, *text = NULL;
	const char *summary = wf_pr_var_str(c, "review_summary");
	struct wf_buf body = {0};
	int bad = 0, code;

	jv_free(scratch);
	if (base) {
		char *range = wf_xasprintf("refs/remotes/origin/%s..HEAD", base);
		char *three = wf_xasprintf("refs/remotes/origin/%s...HEAD", base);
		const char *a1[] = { "log", "--no-merges", "--format=- %h %s", range, NULL };
		const char *a2[] = { "diff", "--stat", three, NULL };
		const char *a3[] = { "diff", three, NULL };
		char *d;

		lg = wf_pr_git_text(c, a1);
		stat = wf_pr_git_text(c, a2);
		d = wf_pr_git_text(c, a3);
		diff = wf_pr_clip(d, WF_PR_DIFF_MAX);
		free(d);
		free(range);
		free(three);
	}
	instructions = wf_pr_text(c, "prompt", &bad);
	if (bad) {
		*r = wf_result_fail(*r, 1, "'prompt': %s", c->err);
	} else {
		char *prompt = wf_xasprintf("%s\n\nCommits:\n%s\n%s\n%s%s%s\nThe diff:\n```diff\n%s```\n",
					    instructions && *instructions ? instructions : self_review_default,
					    lg ? lg : "", stat ? stat : "",
					    summary ? "The last review said: " : "", summary ? summary : "",
					    summary ? "\n" : "", diff ? diff : "");

		text = wf_pr_ask(c, NULL, prompt, &code);
		free(prompt);
		if (!text)
			wf_warn("step '%s': no self-review from the model (%s); posting the list of changes", c->id, c->err);
		for (size_t k; lg && (k = strlen(lg)) && lg[k - 1] == '\n';)
			lg[k - 1] = '\0';
		wf_buf_printf(&body, "### Self-review\n\n%s", text && *text ? text : "What this pull request changes:");
		if (lg && *lg)
			wf_buf_printf(&body, "\n\n**Commits**\n\n%s", lg);
		if (stat && *stat)
			wf_buf_printf(&body, "\n\n```\n%s```", stat);
	}
	free(base);
	free(instructions);
	free(text);
	free(lg);
	free(stat);
	free(diff);
	return bad ? NULL : wf_buf_detach(&body);
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_self_review(jv req, jv r)
{
	struct wf_pr_ctx c;
	long n;
	char *marker = NULL, *body = NULL, *o, num[32];
	int code;
	jv posted = jv_invalid();

	wf_pr_ctx_open(&c, req);
	n = wf_pr_number(&c);
	if (n <= 0) {
		r = wf_result_fail(r, WF_EXIT_DATA, "no pull request to comment on: vars.pr_number is not set (a create-pr step sets it)");
		goto out;
	}
	if (wf_pr_need_repo(&c, &r, 0))
		goto out;
	snprintf(num, sizeof num, "%ld", n);
	marker = wf_pr_marker(&c);
	/* Check before asking the model: this execution's comment may be there already. */
	if (find_posted(&c, &r, num, marker, &posted))
		goto out;
	if (!jv_is_valid(posted)) {
		const char *a[] = { "comment", num, "--body-file", "-", "--marker", marker, NULL };

		jv_free(posted);
		if (!(body = self_review_text(&c, &r)))
			goto out;
		posted = wf_pr_forge(&c, a, body, &code);
		if (!jv_is_valid(posted)) {
			r = wf_result_fail(r, code, "cannot post the self-review: %s", c.err);
			goto out;
		}
	}
	r = wf_result_set_effect(r, "comment_id", wf_jv_get(posted, "id"));
	r = wf_result_set_effect(r, "url", wf_jv_get(posted, "url"));
	r = wf_result_set_effect(r, "existing", jv_bool(wf_jv_bool(posted, "existing", 0)));
	r = wf_result_set_effect(r, "marker", jv_string(marker));
	o = wf_xasprintf("%s the self-review on #%ld: %s", wf_jv_bool(posted, "existing", 0) ? "found" : "posted", n,
			 wf_jv_str(posted, "url") ? wf_jv_str(posted, "url") : "");
	r = wf_result_set_output(r, o, strlen(o));
	free(o);
out:
	jv_free(posted);
	free(marker);
	free(body);
	return wf_pr_ctx_close(&c, r);
}
