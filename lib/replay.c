/*
 * replay.c: a run's model calls answered from another run's recordings
 * (record.h), and the refusal of live calls offline.  wf-run finds the
 * recorded run once (wf_replay_locate) and hands it down with every step;
 * wf-model chat asks wf_replay_answer before it calls a provider.
 *
 * The N-th call with a given fingerprint in the new run takes the N-th
 * recording with that fingerprint in the old one, N counted in the new
 * run's own calls.jsonl, so a resumed run goes on where it stood; the
 * calls of an execution a kill cut short (its step ran again on resume)
 * do not count, since the run never used their answers.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "record.h"
#include "replay.h"

/* Is NAME in directory DIR a directory? */
static int
has_dir(const char *dir, const char *name)
{
	char *p = wf_xasprintf("%s/%s", dir, name);
	struct stat st;
	int yes = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return yes;
}

/* The caller owns the result. */
jv
wf_replay_locate(const char *name, const char *mode, int *code, char *err, size_t n)
{
	struct wf_run *r = NULL;
	char *calls;
	jv out;
	int rc = wf_run_open(name, 0, &r, err, n), e;

	if (rc) {
		*code = rc;
		return jv_invalid();
	}
	calls = wf_xasprintf("%s/calls.jsonl", r->dir);
	/* Its calls are in calls.jsonl, or in its workflow steps' sub-runs' (sub/). */
	e = access(calls, R_OK) < 0 ? errno : 0;
	if (e && !has_dir(r->dir, "sub")) {
		*code = e == ENOENT ? WF_EXIT_NOINPUT : WF_EXIT_IO;
		snprintf(err, n, "run '%s' has no recorded model calls (%s: %s); replay a run that made model calls",
			 name, calls, strerror(e));
		free(calls);
		wf_run_close(r);
		return jv_invalid();
	}
	free(calls);
	out = jv_object_set(jv_object(), jv_string("run"), jv_string(r->name));
	out = jv_object_set(out, jv_string("id"), wf_jv_get(r->state, "id"));
	out = jv_object_set(out, jv_string("dir"), jv_string(r->dir));
	out = jv_object_set(out, jv_string("mode"), jv_string(mode ? mode : "strict"));
	wf_run_close(r);
	*code = 0;
	return out;
}

/* REPLAY borrowed; the caller owns the result. */
jv
wf_replay_now(const char *proj, jv replay)
{
	double id = wf_jv_num(replay, "id", -1);
	char *moved = proj && id >= 0 ? wf_history_dir(proj, (long)id) : NULL;
	jv out = jv_copy(replay);

	if (moved)
		out = jv_object_set(out, jv_string("dir"), jv_string(moved));
	free(moved);
	return out;
}

/* ---- what differs from the nearest recording ---- */

/* A short masked excerpt of A around byte AT, on one line; the caller frees it. */
static char *
excerpt(const char *a, size_t at)
{
	size_t len = strlen(a), from = at > 20 ? at - 20 : 0, k = len - from < 60 ? len - from : 60;
	char *one = wf_xmalloc(k + 1), *safe, *out;

	for (size_t i = 0; i < k; i++)
		one[i] = a[from + i] == '\n' || a[from + i] == '\t' ? ' ' : a[from + i];
	one[k] = '\0';
	safe = wf_redact(one, k);
	out = wf_xasprintf("%s%s%s", from ? "..." : "", safe, from + k < len ? "..." : "");
	free(one);
	free(safe);
	return out;
}

/* Where strings A and B first differ. */
static size_t
first_difference(const char *a, const char *b)
{
	size_t i = 0;

	while (a[i] && a[i] == b[i])
		i++;
	return i;
}

/* Are members K of A and B (both borrowed) the same? */
static int
same_member(jv a, jv b, const char *k)
{
	return jv_equal(wf_jv_get(a, k), wf_jv_get(b, k));
}

/*
 * How the messages of keys WAS and NOW (borrowed) differ, into B; 0 when
 * they do not.
 */
static int
messages_differ(jv was, jv now, struct wf_buf *b)
{
	jv wm = wf_jv_get(was, "messages"), nm = wf_jv_get(now, "messages");
	int wn = jv_get_kind(wm) == JV_KIND_ARRAY ? jv_array_length(jv_copy(wm)) : 0;
	int nn = jv_get_kind(nm) == JV_KIND_ARRAY ? jv_array_length(jv_copy(nm)) : 0, diff = 0;

	for (int i = 0; i < wn && i < nn && !diff; i++) {
		jv a = jv_array_get(jv_copy(wm), i), c = jv_array_get(jv_copy(nm), i);
		const char *ta = wf_jv_str(a, "content"), *tc = wf_jv_str(c, "content");

		if (!jv_equal(jv_copy(a), jv_copy(c))) {
			size_t at = first_difference(ta ? ta : "", tc ? tc : "");
			char *ea = excerpt(ta ? ta : "", at), *ec = excerpt(tc ? tc : "", at);

			wf_buf_printf(b, "message %d differs: recorded '%s', now '%s'", i + 1, ea, ec);
			free(ea);
			free(ec);
			diff = 1;
		}
		jv_free(a);
		jv_free(c);
	}
	if (!diff && wn != nn) {
		wf_buf_printf(b, "the recorded call had %d message%s, this one %d", wn, wn == 1 ? "" : "s", nn);
		diff = 1;
	}
	jv_free(wm);
	jv_free(nm);
	return diff;
}

/*
 * What differs between recorded key WAS and key NOW (both borrowed),
 * into B; returns how much (0: nothing; a model outweighs the text,
 * the text the options).
 */
static int
key_difference(jv was, jv now, struct wf_buf *b)
{
	int score = 0;

	if (!same_member(was, now, "provider") || !same_member(was, now, "model")) {
		wf_buf_printf(b, "another model: recorded %s:%s, now %s:%s", wf_jv_str(was, "provider") ? wf_jv_str(was, "provider") : "?",
			      wf_jv_str(was, "model") ? wf_jv_str(was, "model") : "?", wf_jv_str(now, "provider"), wf_jv_str(now, "model"));
		score += 8;
	}
	if (!same_member(was, now, "system")) {
		const char *a = wf_jv_str(was, "system") ? wf_jv_str(was, "system") : "";
		const char *c = wf_jv_str(now, "system") ? wf_jv_str(now, "system") : "";
		size_t at = first_difference(a, c);
		char *ea = excerpt(a, at), *ec = excerpt(c, at);

		wf_buf_printf(b, "%sthe system text differs: recorded '%s', now '%s'", score ? "; " : "", ea, ec);
		free(ea);
		free(ec);
		score += 4;
	}
	{
		struct wf_buf msgs = {0};

		if (messages_differ(was, now, &msgs)) {
			wf_buf_printf(b, "%s%s", score ? "; " : "", msgs.s);
			score += 2;
		}
		wf_buf_free(&msgs);
	}
	if (!same_member(was, now, "options")) {
		char *a = wf_json_dump(wf_jv_get(was, "options")), *c = wf_json_dump(wf_jv_get(now, "options"));
		char *sa = wf_redact(a, strlen(a)), *sc = wf_redact(c, strlen(c));

		wf_buf_printf(b, "%sthe options differ: recorded %s, now %s", score ? "; " : "", sa, sc);
		free(a);
		free(c);
		free(sa);
		free(sc);
		score += 1;
	}
	return score;
}

/*
 * Why CALLS (borrowed, the recorded run RUN's) hold no answer for the
 * N-th call (0 the first) with fingerprint FP and KEY (borrowed) in step
 * STEP; the caller frees it.
 */
static char *
describe_miss(jv calls, jv key, const char *fp, int n, const char *step, const char *run)
{
	int k = wf_record_count(calls, fp), best = -1;
	struct wf_buf why = {0};

	if (k > 0)
		return wf_xasprintf("the recorded run '%s' made only %d such call%s, this is call %d", run, k,
				    k == 1 ? "" : "s", n + 1);
	jv_array_foreach(calls, i, c) {
		const char *s = wf_jv_str(c, "step");
		jv was = wf_jv_get(c, "key");
		struct wf_buf b = {0};
		int score;

		(void)i;
		if (s && step && !strcmp(s, step) && jv_get_kind(was) == JV_KIND_OBJECT &&
		    (score = key_difference(was, key, &b)) > 0 && (best < 0 || score < best)) {
			best = score;
			wf_buf_free(&why);
			why = b;
		} else
			wf_buf_free(&b);
		jv_free(was);
		jv_free(c);
	}
	if (best < 0)
		return wf_xasprintf("the recorded run '%s' made no model call in step '%s'", run, step ? step : "?");
	{
		char *out = wf_xasprintf("nearest recording of the step: %s", why.s);

		wf_buf_free(&why);
		return out;
	}
}

/* ---- the answer ---- */

/*
 * The answer of recording REC (borrowed) of run RUN, for model M
 * (borrowed) as a wf-model chat result, or invalid when it is damaged.
 * The caller owns it.
 */
static jv
recorded_answer(jv rec, jv m, const char *run)
{
	jv a = wf_jv_get(rec, "answer"), model, from;

	if (jv_get_kind(a) != JV_KIND_OBJECT || !wf_jv_str(a, "text")) {
		jv_free(a);
		return jv_invalid();
	}
	model = wf_jv_get(a, "model");
	if (jv_get_kind(model) != JV_KIND_OBJECT) {
		jv_free(model);
		model = jv_object();
	}
	/* Usage counts under the name this run asked for. */
	model = jv_object_set(model, jv_string("name"), wf_jv_get(m, "name"));
	a = jv_object_set(a, jv_string("model"), model);
	a = jv_object_set(a, jv_string("cost"), jv_object_set(jv_object(), jv_string("usd"), jv_number(0)));
	a = jv_object_set(a, jv_string("latency_ms"), jv_number(0));
	a = jv_object_delete(a, jv_string("first_text_ms"));
	a = jv_object_set(a, jv_string("attempts"), jv_number(0));
	a = jv_object_set(a, jv_string("replayed"), jv_true());
	from = jv_object_set(jv_object(), jv_string("run"), jv_string(run));
	from = jv_object_set(from, jv_string("line"), wf_jv_get(rec, "line"));
	a = jv_object_set(a, jv_string("from"), from);
	return jv_object_delete(a, jv_string("fallback_from"));
}

/* The error result of a call refused with CODE and MSG (freed here); the caller owns it. */
static jv
refusal(char *msg, int code)
{
	jv e = wf_chat_error(msg, code);

	free(msg);
	return e;
}

/* The N-th recording of FP in REPLAY's run, for the call of KEY; see wf_replay_answer.  All borrowed. */
static int
from_recording(jv m, jv replay, jv key, const char *fp, int n, const char *step, int offline, jv *out)
{
	const char *run = wf_jv_str(replay, "run") ? wf_jv_str(replay, "run") : "?";
	const char *mode = wf_jv_str(replay, "mode") ? wf_jv_str(replay, "mode") : "strict";
	jv calls = wf_record_read(wf_jv_str(replay, "dir") ? wf_jv_str(replay, "dir") : "/nonexistent");
	jv rec = wf_record_find(calls, fp, n);
	int rc = 0;

	if (jv_is_valid(rec)) {
		*out = recorded_answer(rec, m, run);
		if (!jv_is_valid(*out)) {
			jv_free(*out);
			*out = refusal(wf_xasprintf("step '%s': the recording of run '%s' at calls.jsonl line %.0f has no answer text; it is damaged",
						    step, run, wf_jv_num(rec, "line", 0)), WF_EXIT_DATA);
			rc = WF_EXIT_DATA;
		}
	} else if (!strcmp(mode, "fill") && !offline) {
		rc = WF_REPLAY_LIVE;
	} else {
		/* A strict miss has no answer (66); a fill miss offline may not be asked for one (69). */
		int fill = !strcmp(mode, "fill");
		char *why = describe_miss(calls, key, fp, n, step, run);

		rc = fill ? WF_EXIT_UNAVAILABLE : WF_EXIT_NOINPUT;
		*out = refusal(fill ? wf_xasprintf("step '%s': no recording answers this call (%s) and the run is offline: no live call is made",
						   step, why) :
			       wf_xasprintf("step '%s': no recording answers this call (%s); replay with --replay-mode fill to call the model for it",
					    step, why), rc);
		free(why);
	}
	jv_free(rec);
	jv_free(calls);
	return rc;
}

/* REQ borrowed. */
int
wf_replay_check(jv req, char *err, size_t n)
{
	jv replay = wf_jv_get(req, "replay"), off = wf_jv_get(req, "offline");
	const char *mode = wf_jv_str(replay, "mode");
	int bad_replay = jv_get_kind(replay) != JV_KIND_NULL &&
			 (jv_get_kind(replay) != JV_KIND_OBJECT || !wf_jv_str(replay, "dir") || !*wf_jv_str(replay, "dir") ||
			  (mode && strcmp(mode, "strict") && strcmp(mode, "fill")));
	int bad_off = jv_get_kind(off) != JV_KIND_NULL && jv_get_kind(off) != JV_KIND_TRUE && jv_get_kind(off) != JV_KIND_FALSE;

	jv_free(replay);
	jv_free(off);
	if (bad_replay)
		snprintf(err, n, "request field 'replay' must be {\"dir\": DIR, \"run\": NAME, \"mode\": \"strict\"|\"fill\"}");
	else if (bad_off)
		snprintf(err, n, "request field 'offline' must be true or false");
	return bad_replay || bad_off ? -1 : 0;
}

/*
 * CALLS (consumed) without those made by the executions in GONE
 * (borrowed): the seqs of the run's executions a kill cut short (the
 * state's "abandoned", which the driver passes in the request's
 * "record"), whose answers were never used: the execution that ran again
 * in their place asks anew.  The caller owns the result.
 */
static jv
without(jv calls, jv gone)
{
	jv kept = jv_array();
	int n = jv_get_kind(gone) == JV_KIND_ARRAY ? jv_array_length(jv_copy(gone)) : 0;

	jv_array_foreach(calls, i, c) {
		double seq = wf_jv_num(c, "seq", -1);
		int cut = 0;

		(void)i;
		for (int k = 0; k < n && !cut; k++) {
			jv g = jv_array_get(jv_copy(gone), k);

			cut = jv_get_kind(g) == JV_KIND_NUMBER && jv_number_value(g) == seq;
			jv_free(g);
		}
		if (cut)
			jv_free(c);
		else
			kept = jv_array_append(kept, c);
	}
	jv_free(calls);
	return kept;
}

/* M and REQ borrowed; *OUT: the caller owns it. */
int
wf_replay_answer(jv m, jv req, jv *out)
{
	jv replay = wf_jv_get(req, "replay"), record = wf_jv_get(req, "record"), key, mine;
	int offline = wf_jv_bool(req, "offline", 0), rc;
	const char *step = wf_jv_str(record, "step") ? wf_jv_str(record, "step") : "?";
	char fp[65];

	if (jv_get_kind(replay) != JV_KIND_OBJECT) {
		rc = WF_REPLAY_LIVE;
		if (offline) {
			*out = refusal(wf_xasprintf("step '%s': the run is offline: no live call to '%s' (%s:%s) is made",
						    step, wf_jv_str(m, "name"), wf_jv_str(m, "provider"), wf_jv_str(m, "model")),
				       WF_EXIT_UNAVAILABLE);
			rc = WF_EXIT_UNAVAILABLE;
		}
		jv_free(replay);
		jv_free(record);
		return rc;
	}
	key = wf_record_key(m, req);
	wf_record_fingerprint(key, fp);
	if (wf_jv_str(record, "dir")) {
		jv gone = wf_jv_get(record, "abandoned");

		mine = without(wf_record_read(wf_jv_str(record, "dir")), gone);
		jv_free(gone);
	} else {
		mine = jv_array();
	}
	rc = from_recording(m, replay, key, fp, wf_record_count(mine, fp), step, offline, out);
	jv_free(mine);
	jv_free(key);
	jv_free(replay);
	jv_free(record);
	return rc;
}

/* USAGE borrowed. */
double
wf_replay_count(jv usage)
{
	double n = 0;

	if (jv_get_kind(usage) == JV_KIND_OBJECT)
		jv_object_foreach(usage, k, per) {
			n += wf_jv_num(per, "replayed", 0);
			jv_free(k);
			jv_free(per);
		}
	return n;
}
