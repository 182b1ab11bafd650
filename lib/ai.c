/*
 * ai.c: model calls from actions, and the actions that are nothing but
 * model calls (ai-prompt, switch-model).  Every call goes through the
 * process's one `wf-model --serve` child (model_conn.c), the only program
 * that links libcurl and sees API keys; this file only builds requests
 * and reads results.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf_priv.h"
#include "model_use.h"
#include "model_conn.h"
#include "quorum.h"

#define TRANSCRIPT_KEEP 50

/* A model given as a name or as a resolved object (M borrowed): its name, borrowed from M, or NULL. */
static const char *
model_name(jv m)
{
	if (jv_get_kind(m) == JV_KIND_STRING)
		return jv_string_value(m);
	if (jv_get_kind(m) == JV_KIND_OBJECT)
		return wf_jv_str(m, "name");
	return NULL;
}

/*
 * CREQ (consumed, returned) with where a reply shows as it streams, as
 * wf-model --serve members: onto standard output ("stream_fd") when it
 * is a terminal, as a shell step's output goes; nowhere ("quiet") for an
 * ai-prompt whose standard output is not one (it writes the whole reply
 * there once done); else, or when $WF_STREAM_FD says where, where
 * wf-model shows it by itself (that descriptor, or stderr on a terminal).
 * REQ borrowed.
 */
static jv
stream_members(jv creq, jv req)
{
	jv run = wf_jv_get(req, "run"), step = wf_jv_get(req, "step");
	int efd = (int)wf_jv_num(run, "echo_fd", -1);
	const char *a = wf_jv_str(step, "action"), *env = getenv("WF_STREAM_FD");
	int told = env && *env;

	if (!told && efd >= 0 && isatty(efd))
		creq = jv_object_set(creq, jv_string("stream_fd"), jv_number(efd));
	else if (!told && efd >= 0 && a && !strcmp(a, "ai-prompt"))
		creq = jv_object_set(creq, jv_string("quiet"), jv_true());
	jv_free(run);
	jv_free(step);
	return creq;
}

/*
 * The chat request CREQ (consumed, returned) with what the step request
 * REQ (borrowed) says beyond the prompt, from its step and its run:
 *  - fallbacks: the step's own list ("model: [a, b]" in the workflow),
 *    none for "fallback: never", and what is left of the run's budget in
 *    dollars, for a pricier fallback (wf-model(1), "Fallbacks");
 *  - "record" {dir, step, seq, abandoned}: where wf-model keeps the call
 *    (record.h), none outside a run;
 *  - "replay" {run, dir, mode} and "offline" (wf-model(1) CHAT; replay.c).
 */
static jv
run_members(jv creq, jv req)
{
	jv step = wf_jv_get(req, "step"), run = wf_jv_get(req, "run");
	jv list = wf_jv_get(step, "fallbacks"), budget = wf_jv_get(run, "budget");
	jv replay = wf_jv_get(run, "replay");
	const char *fb = wf_jv_str(step, "fallback");

	if (fb && !strcmp(fb, "never"))
		creq = jv_object_set(creq, jv_string("fallbacks"), jv_array());
	else if (jv_get_kind(list) == JV_KIND_ARRAY)
		creq = jv_object_set(creq, jv_string("fallbacks"), jv_copy(list));
	if (jv_get_kind(budget) == JV_KIND_OBJECT)
		creq = jv_object_set(creq, jv_string("budget"), jv_copy(budget));
	if (wf_jv_str(run, "dir")) {
		jv rec = jv_object(), gone = wf_jv_get(run, "abandoned");

		rec = jv_object_set(rec, jv_string("dir"), wf_jv_get(run, "dir"));
		rec = jv_object_set(rec, jv_string("step"), wf_jv_get(step, "id"));
		rec = jv_object_set(rec, jv_string("seq"), wf_jv_get(run, "seq"));
		if (jv_get_kind(gone) == JV_KIND_ARRAY)
			rec = jv_object_set(rec, jv_string("abandoned"), jv_copy(gone));
		jv_free(gone);
		creq = jv_object_set(creq, jv_string("record"), rec);
	}
	if (jv_get_kind(replay) == JV_KIND_OBJECT)
		creq = jv_object_set(creq, jv_string("replay"), jv_copy(replay));
	if (wf_jv_bool(run, "offline", 0))
		creq = jv_object_set(creq, jv_string("offline"), jv_true());
	jv_free(replay);
	jv_free(list);
	jv_free(budget);
	jv_free(step);
	jv_free(run);
	return creq;
}

/* REQ borrowed; the caller owns the result. */
jv
wf_ai_chat_request(jv req, const char *model, const char *system, const char *prompt, int with_transcript)
{
	jv creq = jv_object(), msgs = jv_array(), cur = wf_jv_get(req, "model");
	jv orig = wf_jv_get(req, "original_model"), run = wf_jv_get(req, "run");
	jv step = wf_jv_get(req, "step"), opts = wf_jv_get(step, "options");

	if (model)
		creq = jv_object_set(creq, jv_string("model"), jv_string(model));
	else if (model_name(cur))
		creq = jv_object_set(creq, jv_string("model"), jv_string(model_name(cur)));
	if (model_name(orig))
		creq = jv_object_set(creq, jv_string("original"), jv_string(model_name(orig)));
	if (system && *system)
		creq = jv_object_set(creq, jv_string("system"), jv_string(system));
	if (with_transcript) {
		jv t = wf_jv_get(req, "transcript");

		if (jv_get_kind(t) == JV_KIND_ARRAY)
			jv_array_foreach(t, i, m) {
				(void)i;
				msgs = jv_array_append(msgs, m);
			}
		jv_free(t);
	}
	msgs = jv_array_append(msgs, wf_chat_message("user", prompt));
	creq = jv_object_set(creq, jv_string("messages"), msgs);
	creq = jv_object_set(creq, jv_string("stream"), jv_bool(!wf_jv_bool(run, "quiet", 0)));
	creq = run_members(creq, req);
	if (jv_get_kind(opts) == JV_KIND_OBJECT)
		creq = jv_object_set(creq, jv_string("options"), opts);
	else
		jv_free(opts);
	jv_free(step);
	jv_free(cur);
	jv_free(orig);
	jv_free(run);
	return creq;
}

/* REQ borrowed; the caller owns the result. */
jv
wf_ai_chat(jv req, const char *model, const char *system, const char *prompt,
	   int with_transcript, char *err, size_t errlen, int *code)
{
	jv creq = wf_ai_chat_request(req, model, system, prompt, with_transcript), run = wf_jv_get(req, "run");
	long seq = (long)wf_jv_num(run, "seq", -1);

	jv_free(run);
	return wf_model_warm_chat(stream_members(creq, req), seq, code, err, errlen);
}

/* Save the answer as steps/SEQ-ID.answer in the run directory.  REQ borrowed. */
static void
save_answer(jv req, const char *text)
{
	jv run = wf_jv_get(req, "run"), step = wf_jv_get(req, "step");
	const char *dir = wf_jv_str(run, "dir");
	char name[512];

	if (dir && wf_step_file(name, sizeof name, (long)wf_jv_num(run, "seq", 0), wf_jv_str(step, "id"), "answer") == 0) {
		char *path = wf_xasprintf("%s/steps/%s", dir, name);
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd >= 0) {
			wf_write_all(fd, text, strlen(text));
			close(fd);
		}
		free(path);
	}
	jv_free(run);
	jv_free(step);
}

/*
 * Show the reply TEXT as the step's output: written whole to the run's
 * standard output when it is not a terminal (a terminal had it streamed),
 * ending in a newline.  R (consumed, returned) says how much the step
 * printed there, as a shell step's result does.  REQ and RES borrowed.
 */
static jv
show_reply(jv req, jv res, jv r, const char *text)
{
	jv run = wf_jv_get(req, "run");
	int efd = (int)wf_jv_num(run, "echo_fd", -1);
	size_t n = strlen(text), printed = 0;

	if (efd >= 0 && !isatty(efd)) {
		/* Masked as a shell step's output is on its way out. */
		char *shown = wf_redact(text, n);
		size_t len = strlen(shown);

		if (wf_write_all(efd, shown, len) == 0 && (!len || shown[len - 1] == '\n' || wf_write_all(efd, "\n", 1) == 0))
			printed = len;
		free(shown);
	} else if (wf_jv_bool(res, "streamed", 0)) {
		printed = n;
	}
	jv_free(run);
	return jv_object_set(r, jv_string("printed"), jv_number((double)printed));
}

/* ---- a quorum of models (quorum.h) ---- */

/* R consumed and returned; VERDICTS borrowed. */
int
wf_quorum_count(jv *r, jv verdicts, int n, int quorum, char **line)
{
	int answered = jv_array_length(jv_copy(verdicts)), yes = 0;
	jv q;

	jv_array_foreach(verdicts, i, v) {
		(void)i;
		yes += wf_jv_bool(v, "approved", 0);
		jv_free(v);
	}
	*line = wf_xasprintf("%d of %d approved (quorum %d)", yes, n, quorum);
	q = jv_object_set(jv_object(), jv_string("models"), jv_number(n));
	q = jv_object_set(q, jv_string("answered"), jv_number(answered));
	q = jv_object_set(q, jv_string("approvals"), jv_number(yes));
	q = jv_object_set(q, jv_string("quorum"), jv_number(quorum));
	*r = jv_object_set(*r, jv_string("quorum"), q);
	*r = jv_object_set(*r, jv_string("verdicts"), jv_copy(verdicts));
	if (answered < quorum) {
		*r = wf_result_fail(*r, WF_EXIT_UNAVAILABLE, "only %d of %d models gave a verdict; quorum %d needs %d",
				    answered, n, quorum, quorum);
		return -1;
	}
	*r = jv_object_set(*r, jv_string("approved"), jv_bool(yes >= quorum));
	*r = jv_object_set(*r, jv_string("split"), jv_bool(yes > 0 && yes < answered));
	return 0;
}

/* TOTALS consumed, RES borrowed; the caller owns the result. */
jv
wf_quorum_usage(jv totals, jv res)
{
	jv u = wf_usage_add(jv_null(), res);

	totals = wf_usage_total(totals, wf_jv_str(u, "model") ? wf_jv_str(u, "model") : "unknown", u);
	jv_free(u);
	return totals;
}

/* REQ and MODELS borrowed; the caller owns the result. */
jv
wf_ai_quorum_chat(jv req, jv models, const char *system, const char *prompt, wf_quorum_each *each, void *arg)
{
	jv creqs = jv_array();

	jv_array_foreach(models, i, m) {
		jv creq = wf_ai_chat_request(req, jv_string_value(m), system, prompt, 0);

		(void)i;
		/* No fallback: a quorum of distinct models must not become two answers of one. */
		creq = jv_object_set(creq, jv_string("fallbacks"), jv_array());
		creqs = jv_array_append(creqs, jv_object_set(creq, jv_string("stream"), jv_false()));
		jv_free(m);
	}
	return wf_quorum_chat(creqs, each, arg);
}

/*
 * One model's JSON answer RES (borrowed) to a quorum's ai-prompt as a
 * verdict of model M: {model, approved, answer, usage}, or, for an answer
 * that is not an object with a boolean "approved", {model, approved:
 * false, unusable: why}.  The caller owns it.
 */
static jv
json_verdict(const char *m, jv res)
{
	const char *text = wf_jv_str(res, "text") ? wf_jv_str(res, "text") : "";
	char perr[256];
	jv v = jv_object_set(jv_object(), jv_string("model"), jv_string(m));
	jv a = wf_json_parse(text, strlen(text), perr, sizeof perr), ok = wf_jv_get(a, "approved");

	if (!jv_is_valid(a) || jv_get_kind(a) != JV_KIND_OBJECT ||
	    (jv_get_kind(ok) != JV_KIND_TRUE && jv_get_kind(ok) != JV_KIND_FALSE)) {
		v = jv_object_set(v, jv_string("approved"), jv_false());
		v = jv_object_set(v, jv_string("unusable"), jv_string(!jv_is_valid(a) ? "not JSON" :
				  jv_get_kind(a) != JV_KIND_OBJECT ? "not an object" : "'approved' is not a boolean"));
		jv_free(ok);
	} else {
		v = jv_object_set(v, jv_string("approved"), ok);
		v = jv_object_set(v, jv_string("summary"), wf_jv_get(a, "summary"));
		v = jv_object_set(v, jv_string("answer"), jv_copy(a));
	}
	jv_free(a);
	return jv_object_set(v, jv_string("usage"), wf_usage_add(jv_null(), res));
}

/*
 * ai-prompt with 'models': each model asked at once, each answer a
 * verdict, counted against the quorum.  R (consumed) returned; REQ and
 * STEP borrowed.
 */
static jv
quorum_prompt(jv req, jv step, jv r, const char *system, const char *prompt)
{
	jv models = wf_jv_get(step, "models"), res = wf_ai_quorum_chat(req, models, system, prompt, NULL, NULL);
	jv verdicts = jv_array(), failed = jv_array(), totals = jv_null();
	int n = jv_array_length(jv_copy(models));
	char *line = NULL, *text;

	jv_array_foreach(res, i, x) {
		jv m = jv_array_get(jv_copy(models), i);

		if (wf_jv_str(x, "error"))
			failed = jv_array_append(failed, jv_object_set(jv_object_set(jv_object(), jv_string("model"), jv_copy(m)),
								  jv_string("error"), wf_jv_get(x, "error")));
		else {
			totals = wf_quorum_usage(totals, x);
			verdicts = jv_array_append(verdicts, json_verdict(jv_string_value(m), x));
		}
		jv_free(m);
		jv_free(x);
	}
	if (jv_get_kind(totals) == JV_KIND_OBJECT)
		r = jv_object_set(r, jv_string("usage_models"), totals);
	else
		jv_free(totals);
	if (jv_array_length(jv_copy(failed)) > 0)
		r = jv_object_set(r, jv_string("failed_models"), jv_copy(failed));
	if (wf_quorum_count(&r, verdicts, n, wf_quorum_of(step, n), &line) == 0) {
		jv doc = jv_object_set(jv_object(), jv_string("approved"), wf_jv_get(r, "approved"));

		doc = jv_object_set(doc, jv_string("split"), wf_jv_get(r, "split"));
		doc = jv_object_set(doc, jv_string("verdicts"), jv_copy(verdicts));
		text = wf_json_dump(doc);
		jv_free(doc);
		r = jv_object_set(r, jv_string("output"), jv_string(text));
		if (wf_jv_str(step, "output"))
			r = wf_result_set_var(r, wf_jv_str(step, "output"), jv_string(text));
		r = wf_result_set_var(r, "approved", wf_jv_get(r, "approved"));
		r = jv_object_set(r, jv_string("verdict"), jv_string(line));
		save_answer(req, text);
		free(text);
	}
	free(line);
	jv_free(failed);
	jv_free(verdicts);
	jv_free(res);
	jv_free(models);
	return r;
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_ai_prompt(jv req, jv r)
{
	char err[1024];
	int bad = 0, code = 0;
	char *prompt = wf_step_text(req, "prompt", &bad, err, sizeof err);
	char *system = bad ? NULL : wf_step_text(req, "system", &bad, err, sizeof err);
	char *model = bad ? NULL : wf_step_text(req, "model", &bad, err, sizeof err);
	jv step = wf_jv_get(req, "step");
	const char *format = wf_jv_str(step, "format"), *ctx = wf_jv_str(step, "context");
	int json = format && !strcmp(format, "json");
	int with_t = !(ctx && !strcmp(ctx, "none"));
	jv res = jv_invalid();
	char *text = NULL;

	if (bad) {
		r = wf_result_fail(r, 1, "%s", err);
		goto out;
	}
	if (json) {
		char *s = wf_xasprintf("%s%sAnswer with one JSON document and nothing else: no prose, no code fences.",
				       system ? system : "", system ? "\n\n" : "");
		free(system);
		system = s;
	}
	if (json && jv_get_kind(jv_object_get(jv_copy(step), jv_string("models"))) == JV_KIND_ARRAY) {
		r = quorum_prompt(req, step, r, system, prompt);
		goto out;
	}
	res = wf_ai_chat(req, model, system, prompt, with_t, err, sizeof err, &code);
	if (!jv_is_valid(res)) {
		r = wf_result_fail(r, code ? code : 1, "%s", err);
		goto out;
	}
	text = wf_xstrdup(wf_jv_str(res, "text") ? wf_jv_str(res, "text") : "");
	if (json) {
		char perr[512];
		jv parsed = wf_json_parse(text, strlen(text), perr, sizeof perr);

		if (!jv_is_valid(parsed)) {
			/* One repair attempt, with the parse error. */
			char *again = wf_xasprintf("Your answer was not valid JSON (%s). Here it is:\n\n%s\n\nAnswer again with only the corrected JSON document.",
						   perr, text);
			jv res2 = wf_ai_chat(req, model, system, again, 0, err, sizeof err, &code);

			free(again);
			jv_free(parsed);
			if (jv_is_valid(res2)) {
				free(text);
				text = wf_xstrdup(wf_jv_str(res2, "text") ? wf_jv_str(res2, "text") : "");
				parsed = wf_json_parse(text, strlen(text), perr, sizeof perr);
				jv_free(res);
				res = res2;
			}
			if (!jv_is_valid(parsed)) {
				r = wf_result_fail(r, 1, "the model did not answer with JSON, even when asked again: %s", perr);
				jv_free(parsed);
				goto out;
			}
		}
		free(text);
		text = wf_json_dump(parsed);
		jv_free(parsed);
	}
	save_answer(req, text);
	r = show_reply(req, res, r, text);
	r = jv_object_set(r, jv_string("output"), jv_string(text));
	if (wf_jv_str(step, "output"))
		r = wf_result_set_var(r, wf_jv_str(step, "output"), jv_string(text));
	r = jv_object_set(r, jv_string("usage"), wf_usage_add(jv_null(), res));
	r = wf_result_exchange(r, prompt, text);
	if (!with_t)
		r = jv_object_set(r, jv_string("transcript_reset"), jv_true());
out:
	jv_free(res);
	jv_free(step);
	free(text);
	free(prompt);
	free(system);
	free(model);
	jv_free(req);
	return r;
}

/* REQ and R consumed; returns ownership of the result. */
jv
wf_action_switch_model(jv req, jv r)
{
	char err[1024];
	int bad = 0, code = 0;
	char *name = wf_step_text(req, "model", &bad, err, sizeof err);
	jv orig = wf_jv_get(req, "original_model");
	char *args[6];
	int k = 0;
	jv res;

	if (bad || !name || !*name) {
		r = wf_result_fail(r, bad ? 1 : WF_EXIT_CONFIG, "%s", bad ? err : "switch-model: the model name is empty");
		goto out;
	}
	args[k++] = (char *)"resolve";
	if (model_name(orig)) {
		args[k++] = (char *)"--original";
		args[k++] = (char *)model_name(orig);
	}
	args[k++] = name;
	args[k] = NULL;
	res = wf_model_run(args, NULL, &code, err, sizeof err);
	if (!jv_is_valid(res)) {
		r = wf_result_fail(r, code ? code : 1, "%s", err);
		goto out;
	}
	r = jv_object_set(r, jv_string("output"), jv_string_fmt("%s (%s:%s)",
		wf_jv_str(res, "name") ? wf_jv_str(res, "name") : name,
		wf_jv_str(res, "provider") ? wf_jv_str(res, "provider") : "?",
		wf_jv_str(res, "model") ? wf_jv_str(res, "model") : "?"));
	r = jv_object_set(r, jv_string("model"), res);
out:
	free(name);
	jv_free(orig);
	jv_free(req);
	return r;
}
