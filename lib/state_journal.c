/*
 * state_journal.c: a run's journal, history.jsonl (wf-json(7) "Journal
 * events"): the line format with its checksum, the reducer that says
 * what each event does to the state, appending an event, and replaying
 * the journal into r->state.
 * Layer 2: domain data.
 * Every line is one compact JSON object ending in "crc", written with a
 * single write(2); an event is applied only after its line is on disk.
 * The reducer is pure: the same journal always gives the same state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wf_priv.h"
#include "model_use.h"
#include "jsondump.h"

#define SNAPSHOT_EVERY 256

/* ---- lines ---- */

static uint32_t crc_table[256];

/* Go on with a CRC-32 at C (0 to start) over P, N bytes. */
static uint32_t
crc32_more(uint32_t crc, const char *p, size_t n)
{
	uint32_t c = crc ^ 0xffffffffu;

	if (!crc_table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t k = i;

			for (int j = 0; j < 8; j++)
				k = k & 1 ? 0xedb88320u ^ (k >> 1) : k >> 1;
			crc_table[i] = k;
		}
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ (unsigned char)p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

static uint32_t
crc32_of(const char *p, size_t n)
{
	return crc32_more(0, p, n);
}

/* The text of event EV (consumed) with its checksum, newline-terminated. */
char *
wf_journal_line(jv ev, size_t *len)
{
	size_t n;
	char *txt = wf_json_dump_len(ev, &n);
	uint32_t crc = crc32_of(txt, n);
	char *line = wf_xmalloc(n + 24);

	/* {...} becomes {...,"crc":"xxxxxxxx"} so a line is still plain JSON. */
	memcpy(line, txt, n - 1);
	n = (size_t)((n - 1) + (size_t)snprintf(line + n - 1, 25, ",\"crc\":\"%08x\"}\n", crc));
	free(txt);
	jv_free(ev);
	*len = n;
	return line;
}

/*
 * Check the checksum of one journal line (without its newline): the
 * length of its JSON body before the checksum, or 0 with WHY.
 */
static size_t
journal_check(const char *line, size_t n, char *why, size_t whylen)
{
	static const char tag[] = ",\"crc\":\"";
	size_t tl = sizeof tag - 1, body;
	char want[9];

	if (n < tl + 10 || line[n - 1] != '}' || line[n - 2] != '"' ||
	    memcmp(line + n - 2 - 8 - tl, tag, tl)) {
		snprintf(why, whylen, "no checksum");
		return 0;
	}
	body = n - 2 - 8 - tl;
	/* The checksum is of the line without it: the body closed by '}'. */
	snprintf(want, sizeof want, "%08x", crc32_more(crc32_of(line, body), "}", 1));
	if (memcmp(want, line + n - 10, 8)) {
		snprintf(why, whylen, "checksum mismatch");
		return 0;
	}
	return body;
}

/* Check one journal line (without its newline); the caller owns the event returned, or invalid. */
jv
wf_journal_parse(const char *line, size_t n, char *why, size_t whylen)
{
	size_t body = journal_check(line, n, why, whylen);
	char err[256], *copy;
	jv ev;

	if (!body)
		return jv_invalid();
	copy = wf_xmalloc(body + 2);
	memcpy(copy, line, body);
	copy[body] = '}';
	copy[body + 1] = '\0';
	ev = wf_json_parse(copy, body + 1, err, sizeof err);
	free(copy);
	if (!jv_is_valid(ev) || jv_get_kind(ev) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "not a JSON object");
		jv_free(ev);
		return jv_invalid();
	}
	return ev;
}

/* OBJ[KEY] (OBJ borrowed) as a whole number 0..2^53, or -1 when it is not one. */
double
wf_journal_count(jv obj, const char *key)
{
	double d = wf_jv_num(obj, key, -1);

	return d >= 0 && d <= 9007199254740992.0 && d == (double)(long long)d ? d : -1;
}

/* The checksum of journal line LINE (N bytes, no newline) into OUT. */
static void
line_crc(const char *line, size_t n, char out[9])
{
	memcpy(out, line + n - 10, 8);
	out[8] = '\0';
}

/* ---- the reducer: what an event does to the state ---- */

/* Does OBJ (borrowed) have a non-null KEY? */
static int
present(jv obj, const char *key)
{
	jv v = wf_jv_get(obj, key);
	int yes = jv_get_kind(v) != JV_KIND_NULL;

	jv_free(v);
	return yes;
}

/* INTO (consumed, returned) with the keys of FROM (consumed) set in it; FROM not an object adds nothing. */
static jv
merge_object(jv into, jv from)
{
	if (jv_get_kind(from) != JV_KIND_OBJECT) {
		jv_free(from);
		return into;
	}
	jv_object_foreach(from, k, v)
		into = jv_object_set(into, k, v);
	jv_free(from);
	return into;
}

/* OBJ.KEY (OBJ borrowed) when it is of KIND, else EMPTY; EMPTY is consumed, the caller owns the result. */
static jv
kind_at(jv obj, const char *key, jv_kind kind, jv empty)
{
	jv v = wf_jv_get(obj, key);

	if (jv_get_kind(v) != kind) {
		jv_free(v);
		return empty;
	}
	jv_free(empty);
	return v;
}

/* ST (consumed, returned) with the object FROM (consumed) merged into the object ST.KEY. */
static jv
merge_in(jv st, const char *key, jv from)
{
	jv have = kind_at(st, key, JV_KIND_OBJECT, jv_object());

	st = jv_object_set(st, jv_string(key), jv_null());
	return jv_object_set(st, jv_string(key), merge_object(have, from));
}

/* ST (consumed, returned) with the object EV.KEY (EV borrowed) merged into ST.KEY, when EV has KEY. */
static jv
merge_key(jv st, jv ev, const char *key)
{
	if (jv_get_kind(ev) != JV_KIND_OBJECT || !jv_object_has(jv_copy(ev), jv_string(key)))
		return st;
	return merge_in(st, key, wf_jv_get(ev, key));
}

/*
 * ST (consumed, returned) with ADD (consumed) appended to the array
 * ST.KEY, or its elements when CONCAT; the array keeps its last MAX.
 */
static jv
append_bounded(jv st, const char *key, jv add, int concat, int max)
{
	jv arr = kind_at(st, key, JV_KIND_ARRAY, jv_array());
	int n;

	st = jv_object_set(st, jv_string(key), jv_null());
	arr = concat ? jv_array_concat(arr, add) : jv_array_append(arr, add);
	n = jv_array_length(jv_copy(arr));
	if (n > max)
		arr = jv_array_slice(arr, n - max, n);
	return jv_object_set(st, jv_string(key), arr);
}

/* The usage totals PER (consumed, returned) of one model, after a call that used U (borrowed). */
static jv
usage_add(jv per, jv u)
{
	static const char *const nums[] = { "calls", "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens",
					    NULL };
	jv usd = wf_jv_get(u, "usd");

	/* One call, or a sub-run's totals, which count their calls. */
	for (int i = 0; nums[i]; i++)
		per = jv_object_set(per, jv_string(nums[i]),
			jv_number(wf_jv_num(per, nums[i], 0) + wf_jv_num(u, nums[i], i == 0 ? 1 : 0)));
	/* Calls answered from a recording: counted, at the $0 they cost. */
	if (wf_jv_num(u, "replayed", 0) > 0)
		per = jv_object_set(per, jv_string("replayed"),
			jv_number(wf_jv_num(per, "replayed", 0) + wf_jv_num(u, "replayed", 0)));
	if (jv_get_kind(usd) == JV_KIND_NUMBER) {
		jv prev = wf_jv_get(per, "usd");

		/* Once unknown (null), a model's cost stays unknown. */
		if (jv_get_kind(prev) != JV_KIND_NULL || !jv_object_has(jv_copy(per), jv_string("usd")))
			per = jv_object_set(per, jv_string("usd"),
				jv_number(wf_jv_num(per, "usd", 0) + jv_number_value(usd)));
		jv_free(prev);
	} else {
		per = jv_object_set(per, jv_string("usd"), jv_null());
	}
	jv_free(usd);
	return per;
}

/* TOT consumed and returned; U borrowed. */
jv
wf_usage_total(jv tot, const char *m, jv u)
{
	jv per;

	if (jv_get_kind(tot) != JV_KIND_OBJECT) {
		jv_free(tot);
		tot = jv_object();
	}
	per = kind_at(tot, m, JV_KIND_OBJECT, jv_object());
	return jv_object_set(tot, jv_string(m), usage_add(per, u));
}

/* ST (consumed, returned) with U (borrowed) added to model M's totals and to step ID's (ID may be NULL). */
static jv
add_model_usage(jv st, const char *id, const char *m, jv u)
{
	st = jv_object_set(st, jv_string("usage"), wf_usage_total(wf_jv_get(st, "usage"), m, u));
	if (id) {
		jv by = kind_at(st, "step_usage", JV_KIND_OBJECT, jv_object());

		by = jv_object_set(by, jv_string(id), wf_usage_total(wf_jv_get(by, id), m, u));
		st = jv_object_set(st, jv_string("step_usage"), by);
	}
	return st;
}

/*
 * ST (consumed, returned) with the usage of step-end EV (borrowed) added
 * to its model's totals and to its step's: step_usage.ID.MODEL sums every
 * pass of a loop, where steps.ID.usage is the last call's alone.  A
 * workflow step's usage_models are its sub-run's totals of each model.
 */
static jv
add_usage(jv st, jv ev)
{
	jv u = wf_jv_get(ev, "usage");
	const char *id = wf_jv_str(ev, "step");

	if (jv_get_kind(u) == JV_KIND_OBJECT)
		st = add_model_usage(st, id, wf_jv_str(u, "model") ? wf_jv_str(u, "model") : "unknown", u);
	jv_free(u);
	u = wf_jv_get(ev, "usage_models");
	if (jv_get_kind(u) == JV_KIND_OBJECT)
		jv_object_foreach(u, m, per) {
			st = add_model_usage(st, id, jv_string_value(m), per);
			jv_free(m);
			jv_free(per);
		}
	jv_free(u);
	return st;
}

/*
 * rewind and a fork's run-start: ST (consumed, returned) as it was just
 * before the step EV (borrowed) goes back to: EV.restore's keys replace
 * the state's (variables, model, step records, loop passes, transcript),
 * EV.loops the loop counters, and EV.vars (--var) go on top.
 */
static jv
apply_restore(jv st, jv ev)
{
	static const char *const keys[] = { "vars", "model", "iteration", "transcript", "steps", "last",
					    "passes", NULL };
	jv res = wf_jv_get(ev, "restore");

	for (int i = 0; keys[i] && jv_get_kind(res) == JV_KIND_OBJECT; i++)
		if (jv_object_has(jv_copy(res), jv_string(keys[i])))
			st = jv_object_set(st, jv_string(keys[i]), wf_jv_get(res, keys[i]));
	jv_free(res);
	st = jv_object_set(st, jv_string("loops"), kind_at(ev, "loops", JV_KIND_OBJECT, jv_object()));
	return merge_in(st, "vars", wf_jv_get(ev, "vars"));
}

/* run-start: a fresh state from EV (borrowed); ST is consumed and a new one returned. */
static jv
apply_run_start(jv st, jv ev)
{
	static const char *const fields[] = { "name", "id", "project", "workflow_name", "workflow", "hash", "cwd",
					      "cursor", "vars", "model", "original_model", "pid", "budget", NULL };
	jv keep = jv_object();

	/* A replaying or offline run stays one (wf-run --replay, --offline). */
	if (present(ev, "replay"))
		keep = jv_object_set(keep, jv_string("replay"), wf_jv_get(ev, "replay"));
	if (wf_jv_bool(ev, "offline", 0))
		keep = jv_object_set(keep, jv_string("offline"), jv_true());

	for (int i = 0; fields[i]; i++)
		keep = jv_object_set(keep, jv_string(fields[i]), wf_jv_get(ev, fields[i]));
	keep = jv_object_set(keep, jv_string("status"), jv_string("running"));
	keep = jv_object_set(keep, jv_string("started"), wf_jv_get(ev, "time"));
	keep = jv_object_set(keep, jv_string("ended"), jv_null());
	keep = jv_object_set(keep, jv_string("updated"), wf_jv_get(ev, "time"));
	keep = jv_object_set(keep, jv_string("last_seq"), wf_jv_get(ev, "seq"));
	keep = jv_object_set(keep, jv_string("steps"), jv_object());
	keep = jv_object_set(keep, jv_string("loops"), jv_object());
	keep = jv_object_set(keep, jv_string("passes"), jv_object());
	keep = jv_object_set(keep, jv_string("iteration"), jv_number(0));
	keep = jv_object_set(keep, jv_string("last"), jv_null());
	keep = jv_object_set(keep, jv_string("steps_run"), jv_number(0));
	keep = jv_object_set(keep, jv_string("inflight"), jv_null());
	keep = jv_object_set(keep, jv_string("pending"), jv_null());
	keep = jv_object_set(keep, jv_string("usage"), jv_object());
	keep = jv_object_set(keep, jv_string("step_usage"), jv_object());
	keep = jv_object_set(keep, jv_string("trail"), jv_array());
	jv_free(st);
	/* A fork (rewind.c): the earlier run's state just before its step. */
	if (present(ev, "fork")) {
		keep = jv_object_set(keep, jv_string("forked_from"), wf_jv_get(ev, "fork"));
		keep = apply_restore(keep, ev);
	}
	return keep;
}

/* step-start: ST (consumed, returned) with the step of EV (borrowed) in flight. */
static jv
apply_step_start(jv st, jv ev)
{
	jv inf = jv_object();

	inf = jv_object_set(inf, jv_string("step"), wf_jv_get(ev, "step"));
	inf = jv_object_set(inf, jv_string("attempt"), wf_jv_get(ev, "attempt"));
	inf = jv_object_set(inf, jv_string("seq"), wf_jv_get(ev, "seq"));
	st = jv_object_set(st, jv_string("inflight"), inf);
	return jv_object_set(st, jv_string("status"), jv_string("running"));
}

/*
 * step-pgid: ST (consumed, returned) with a process group the step in
 * flight started (EV borrowed), which a resume checks is gone.
 */
static jv
apply_step_pgid(jv st, jv ev)
{
	jv inf = wf_jv_get(st, "inflight"), g = jv_object();

	if (jv_get_kind(inf) != JV_KIND_OBJECT) {
		jv_free(g);
		jv_free(inf);
		return st;
	}
	g = jv_object_set(g, jv_string("pgid"), wf_jv_get(ev, "pgid"));
	g = jv_object_set(g, jv_string("start"), wf_jv_get(ev, "start"));
	g = jv_object_set(g, jv_string("boot"), wf_jv_get(ev, "boot"));
	inf = jv_object_set(inf, jv_string("groups"),
			    jv_array_append(kind_at(inf, "groups", JV_KIND_ARRAY, jv_array()), g));
	return jv_object_set(st, jv_string("inflight"), inf);
}

/* step-end: ST (consumed, returned) with the step's record (EV borrowed) and its effects. */
static jv
apply_step_end(jv st, jv ev)
{
	static const char *const fields[] = { "status", "exit_code", "output", "approved",
					      "error", "duration_ms", "usage", "stderr", "timed_out", "outputs",
					      "branches", NULL };
	const char *id = wf_jv_str(ev, "step");
	jv rec = jv_object(), msgs;

	for (int i = 0; fields[i]; i++) {
		jv v = wf_jv_get(ev, fields[i]);

		if (jv_get_kind(v) != JV_KIND_NULL || i < 3)
			rec = jv_object_set(rec, jv_string(fields[i]), v);
		else
			jv_free(v);
	}
	if (id)
		st = merge_in(st, "steps", jv_object_set(jv_object(), jv_string(id), jv_copy(rec)));
	rec = jv_object_set(rec, jv_string("id"), wf_jv_get(ev, "step"));
	st = jv_object_set(st, jv_string("last"), rec);
	st = merge_in(st, "vars", wf_jv_get(ev, "vars"));
	st = merge_in(st, "loops", wf_jv_get(ev, "loops"));
	/* Passes of each loop's body, in its current or last round (wf status shows them). */
	st = merge_key(st, ev, "passes");
	if (present(ev, "iteration"))
		st = jv_object_set(st, jv_string("iteration"), wf_jv_get(ev, "iteration"));
	if (present(ev, "model"))
		st = jv_object_set(st, jv_string("model"), wf_jv_get(ev, "model"));
	/* The conversation so far, for the next model call (kept bounded). */
	msgs = wf_jv_get(ev, "messages");
	if (jv_get_kind(msgs) == JV_KIND_ARRAY)
		st = append_bounded(st, "transcript", msgs, 1, 50);
	else
		jv_free(msgs);
	st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "cursor"));
	st = jv_object_set(st, jv_string("inflight"), jv_null());
	st = jv_object_set(st, jv_string("steps_run"), jv_number(wf_jv_num(st, "steps_run", 0) + 1));
	/* The last few steps, for naming a cycle at the step limit. */
	st = append_bounded(st, "trail", wf_jv_get(ev, "step"), 0, 32);
	return add_usage(st, ev);
}

/* var-set: ST (consumed, returned) with the variables of EV (borrowed) set. */
static jv
apply_var_set(jv st, jv ev)
{
	return merge_in(st, "vars", wf_jv_get(ev, "vars"));
}

/*
 * ST (consumed, returned) with the execution in flight when the run
 * stopped, if any, added to "abandoned": a kill cut it short, and the
 * model calls it recorded were never used (a replay skips them, replay.c).
 */
static jv
note_abandoned(jv st)
{
	jv inf = wf_jv_get(st, "inflight"), list;

	if (jv_get_kind(inf) == JV_KIND_OBJECT && wf_jv_num(inf, "seq", -1) >= 0) {
		list = wf_jv_get(st, "abandoned");
		if (jv_get_kind(list) != JV_KIND_ARRAY) {
			jv_free(list);
			list = jv_array();
		}
		list = jv_array_append(list, wf_jv_get(inf, "seq"));
		st = jv_object_set(st, jv_string("abandoned"), list);
	}
	jv_free(inf);
	return st;
}

/* resume: ST (consumed, returned) running again, with EV's (borrowed) variables, pid, cursor and hash. */
static jv
apply_resume(jv st, jv ev)
{
	st = apply_var_set(st, ev);
	st = jv_object_set(st, jv_string("status"), jv_string("running"));
	st = jv_object_set(st, jv_string("pid"), wf_jv_get(ev, "pid"));
	if (wf_jv_bool(ev, "offline", 0))
		st = jv_object_set(st, jv_string("offline"), jv_true());
	/* A skip past the last step sets the cursor to null: the end. */
	if (jv_object_has(jv_copy(ev), jv_string("cursor")))
		st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "cursor"));
	if (present(ev, "hash"))
		st = jv_object_set(st, jv_string("hash"), wf_jv_get(ev, "hash"));
	/* wf resume --budget: its members replace the run's. */
	if (present(ev, "budget"))
		st = merge_in(st, "budget", wf_jv_get(ev, "budget"));
	st = note_abandoned(st);
	st = jv_object_set(st, jv_string("inflight"), jv_null());
	st = jv_object_set(st, jv_string("ended"), jv_null());
	st = jv_object_set(st, jv_string("exit_code"), jv_null());
	/* Why it stopped is over: a running run has no reason. */
	st = jv_object_set(st, jv_string("reason"), jv_null());
	return jv_object_set(st, jv_string("pending"), jv_null());
}

/* pause and run-end: ST (consumed, returned) stopped as EV (borrowed) says. */
static jv
apply_stop(jv st, jv ev)
{
	const char *s = wf_jv_str(ev, "status"), *event = wf_jv_str(ev, "event");

	st = jv_object_set(st, jv_string("status"),
			   jv_string(s ? s : !strcmp(event, "pause") ? "paused" : "completed"));
	st = jv_object_set(st, jv_string("reason"), wf_jv_get(ev, "reason"));
	/* When it stopped: a listing's duration runs from "started" to here. */
	st = jv_object_set(st, jv_string("ended"), wf_jv_get(ev, "time"));
	st = jv_object_set(st, jv_string("exit_code"), wf_jv_get(ev, "exit_code"));
	if (present(ev, "pending"))
		st = jv_object_set(st, jv_string("pending"), wf_jv_get(ev, "pending"));
	if (present(ev, "cursor"))
		st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "cursor"));
	st = merge_key(st, ev, "passes");
	/* A completed run's outputs (wf-workflow(5), "outputs:"). */
	if (present(ev, "outputs"))
		st = jv_object_set(st, jv_string("outputs"), wf_jv_get(ev, "outputs"));
	/* A stop during a step keeps it in doubt, for the resume to decide. */
	st = jv_object_set(st, jv_string("inflight"), wf_jv_get(ev, "inflight"));
	return jv_object_set(st, jv_string("pid"), jv_null());
}

/* consent: ST (consumed, returned), remembering an "always" (EV borrowed). */
static jv
apply_consent(jv st, jv ev)
{
	const char *dec = wf_jv_str(ev, "decision");

	if (dec && !strcmp(dec, "always"))
		st = jv_object_set(st, jv_string("consent_always"), jv_true());
	return st;
}

/* stepping: ST (consumed, returned) stepping through as EV (borrowed) says (stepthrough.h), or no more. */
static jv
apply_stepping(jv st, jv ev)
{
	jv breaks = wf_jv_get(ev, "breaks");
	int step = wf_jv_bool(ev, "step", 0);

	if (!step && (jv_get_kind(breaks) != JV_KIND_ARRAY || jv_array_length(jv_copy(breaks)) == 0)) {
		jv_free(breaks);
		return jv_object_delete(st, jv_string("stepping"));
	}
	if (jv_get_kind(breaks) != JV_KIND_ARRAY) {
		jv_free(breaks);
		breaks = jv_array();
	}
	return jv_object_set(st, jv_string("stepping"),
			     jv_object_set(jv_object_set(jv_object(), jv_string("step"), jv_bool(step)),
					   jv_string("breaks"), breaks));
}

/* loop-reset (older journals): ST (consumed, returned) with the loop counts of EV (borrowed). */
static jv
apply_loop_reset(jv st, jv ev)
{
	return merge_in(st, "loops", wf_jv_get(ev, "loops"));
}

/*
 * rewind: ST (consumed, returned) back at EV's (borrowed) step, stopped
 * (EV.status), as it was before that step (apply_restore); nothing is in
 * flight or asked, and a completed run's outputs are gone.
 */
static jv
apply_rewind(jv st, jv ev)
{
	jv mark = jv_object();

	st = note_abandoned(apply_restore(st, ev));
	st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "step"));
	st = jv_object_set(st, jv_string("status"), kind_at(ev, "status", JV_KIND_STRING, jv_string("paused")));
	st = jv_object_set(st, jv_string("reason"), jv_string("rewound"));
	st = jv_object_set(st, jv_string("ended"), wf_jv_get(ev, "time"));
	st = jv_object_set(st, jv_string("inflight"), jv_null());
	st = jv_object_set(st, jv_string("pending"), jv_null());
	st = jv_object_set(st, jv_string("pid"), jv_null());
	st = jv_object_delete(st, jv_string("outputs"));
	mark = jv_object_set(mark, jv_string("step"), wf_jv_get(ev, "step"));
	mark = jv_object_set(mark, jv_string("pass"), wf_jv_get(ev, "pass"));
	mark = jv_object_set(mark, jv_string("from"), wf_jv_get(ev, "from"));
	mark = jv_object_set(mark, jv_string("time"), wf_jv_get(ev, "time"));
	return jv_object_set(st, jv_string("rewound"), mark);
}

/*
 * fallback: ST (consumed, returned) with EV's (borrowed) switch from one
 * model to another at its step added to "fallbacks", in journal order.
 */
static jv
apply_fallback(jv st, jv ev)
{
	static const char *const fields[] = { "seq", "step", "from", "to", "reason", "status", "attempts", NULL };
	jv sw = jv_object();

	for (int i = 0; fields[i]; i++)
		sw = jv_object_set(sw, jv_string(fields[i]), wf_jv_get(ev, fields[i]));
	return jv_object_set(st, jv_string("fallbacks"),
			     jv_array_append(kind_at(st, "fallbacks", JV_KIND_ARRAY, jv_array()), sw));
}

/* What each event does: ST consumed and returned, EV borrowed. */
static const struct {
	const char *event;
	jv (*apply)(jv st, jv ev);
} reducers[] = {
	{ "run-start", apply_run_start }, { "step-start", apply_step_start },
	{ "step-pgid", apply_step_pgid }, { "step-end", apply_step_end },
	{ "var-set", apply_var_set }, { "resume", apply_resume },
	{ "pause", apply_stop }, { "run-end", apply_stop },
	{ "consent", apply_consent }, { "loop-reset", apply_loop_reset },
	{ "stepping", apply_stepping },
	{ "rewind", apply_rewind }, { "fallback", apply_fallback },
};

/* ST and EV are consumed; the caller owns the state returned. */
jv
wf_state_apply(jv st, jv ev)
{
	const char *event = wf_jv_str(ev, "event");

	st = jv_object_set(st, jv_string("last_seq"), wf_jv_get(ev, "seq"));
	st = jv_object_set(st, jv_string("updated"), wf_jv_get(ev, "time"));
	for (size_t i = 0; event && i < sizeof reducers / sizeof *reducers; i++)
		if (!strcmp(event, reducers[i].event)) {
			st = reducers[i].apply(st, ev);
			break;
		}
	jv_free(ev);
	return st;
}

/*
 * The view V (consumed) as a condition after step ID sees it, before the
 * step's end is journaled: as the reducer will make it, from the result
 * RES (borrowed) whole.  The caller owns the result.
 */
jv
wf_run_view_after(jv v, const char *id, jv res)
{
	jv last = jv_object_set(jv_copy(res), jv_string("id"), jv_string(id ? id : ""));

	v = merge_in(v, "vars", wf_jv_get(res, "vars"));

	v = merge_in(v, "steps", jv_object_set(jv_object(), jv_string(id ? id : ""), jv_copy(last)));
	return jv_object_set(v, jv_string("last"), last);
}

/* ---- appending and reading ---- */

/* EV is consumed: masked, numbered and timed, it is applied to r->state. */
int
wf_run_append(struct wf_run *r, jv ev, int durable, char *err, size_t n)
{
	char now[32];
	size_t len;
	char *line;
	jv full = jv_object();

	wf_now_iso(now);
	full = jv_object_set(full, jv_string("seq"), jv_number((double)(r->seq + 1)));
	full = jv_object_set(full, jv_string("time"), jv_string(now));
	/* No secret reaches the disk, in any form (secret.c). */
	full = merge_object(full, wf_secret_mask_jv(jv_copy(ev)));
	line = wf_journal_line(jv_copy(full), &len);
	if (wf_write_all(r->journalfd, line, len) < 0 ||
	    (durable && fdatasync(r->journalfd) < 0)) {
		int saved = errno;

		/* Never leave half a record behind. */
		if (ftruncate(r->journalfd, r->journal_size) == 0)
			fdatasync(r->journalfd);
		snprintf(err, n, "cannot write '%s/history.jsonl': %s", r->dir, strerror(saved));
		free(line);
		jv_free(full);
		jv_free(ev);
		errno = saved;
		return WF_EXIT_IO;
	}
	line_crc(line, len - 1, r->last_crc);
	free(line);
	r->seq++;
	r->lines++;
	r->journal_size += (off_t)len;
	r->state = wf_state_apply(r->state, full);
	jv_free(ev);
	/*
	 * Every SNAPSHOT_EVERY events, but never before the journal grew by
	 * as much as the last snapshot's size: a long run's snapshot costs
	 * the same per step at step 10,000 as at step 10.
	 */
	if (++r->events_since_snapshot >= SNAPSHOT_EVERY && r->journal_size - r->snapshot_at >= r->snapshot_len)
		return wf_run_snapshot(r, err, n);
	return 0;
}

/* The caller owns the array returned (invalid on a read error). */
jv
wf_run_read_journal(struct wf_run *r, long from_seq, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	jv out = jv_array();
	size_t pos = 0;

	if (fd < 0)
		return out;
	if (wf_read_fd(fd, (size_t)1 << 34, &b) < 0) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		close(fd);
		wf_buf_free(&b);
		jv_free(out);
		return jv_invalid();
	}
	close(fd);
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why[64];

		if (!nl)
			break;
		jv ev = wf_journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why);
		if (jv_is_valid(ev) && wf_jv_num(ev, "seq", 0) >= (double)from_seq)
			out = jv_array_append(out, ev);
		else
			jv_free(ev);
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	return out;
}

/* R is borrowed; the caller owns the workflow returned. */
jv
wf_run_workflow(struct wf_run *r, char *err, size_t n)
{
	int fd = openat(r->dirfd, "workflow.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char why[256] = "";
	jv wf;

	if (fd < 0) {
		snprintf(err, n, "cannot read '%s/workflow.json': %s", r->dir, strerror(errno));
		return jv_invalid();
	}
	wf = wf_json_read_fd(fd, (size_t)64 << 20, why, sizeof why);
	close(fd);
	if (jv_get_kind(wf) != JV_KIND_OBJECT) {
		snprintf(err, n, "'%s/workflow.json' is damaged: %s", r->dir, *why ? why : "not a JSON object");
		jv_free(wf);
		return jv_invalid();
	}
	return wf;
}

/*
 * Replay the journal from byte OFFSET, applying every event after r->seq
 * (and line r->lines) to r->state.  A torn last line is set aside (when
 * REPAIR) or ignored; damage before it, or a gap in the numbers, is
 * refused.  When SNAP is given, its state is compared with the journal's
 * where it stands, and r->snapshot_problem says how they disagree.
 * Returns 0 or an exit code with ERR.
 */
int
wf_journal_replay(struct wf_run *r, off_t offset, int repair, const struct wf_snapshot *snap, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t pos = 0;
	long lineno;
	int rc = 0, checked = 0;
	char *problem;

	if (fd < 0 && errno != ENOENT) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	/* No journal reads as an empty one. */
	if (fd >= 0 && (lseek(fd, offset, SEEK_SET) < 0 || wf_read_fd(fd, (size_t)1 << 34, &b) < 0)) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		close(fd);
		wf_buf_free(&b);
		return WF_EXIT_IO;
	}
	if (fd >= 0)
		close(fd);
	r->journal_size = offset;
	lineno = r->lines;
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		size_t len = nl ? (size_t)(nl - (b.s + pos)) : b.len - pos;
		char why[64];
		jv ev;

		if ((problem = wf_snapshot_check(snap, offset + (off_t)pos, r->state, r->seq, &checked)))
			r->snapshot_problem = problem;
		lineno++;
		ev = nl ? wf_journal_parse(b.s + pos, len, why, sizeof why) : jv_invalid();
		if (!nl)
			snprintf(why, sizeof why, "no newline");
		if (!jv_is_valid(ev)) {
			jv_free(ev);
			if (!nl || !memchr(nl + 1, '\n', b.len - (size_t)(nl + 1 - b.s))) {
				/* The last line: a crash in the middle of an append. */
				if (repair) {
					char name[64];
					int tfd;

					snprintf(name, sizeof name, "history.jsonl.torn-%ld", (long)time(NULL));
					tfd = openat(r->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
					if (tfd >= 0) {
						wf_write_all(tfd, b.s + pos, b.len - pos);
						fsync(tfd);
						close(tfd);
					}
					if (ftruncate(r->journalfd, offset + (off_t)pos) < 0 ||
					    fsync(r->journalfd) < 0) {
						snprintf(err, n, "cannot repair '%s/history.jsonl': %s", r->dir,
							 strerror(errno));
						rc = WF_EXIT_IO;
						break;
					}
					wf_warn("%s/history.jsonl line %ld: discarding an incomplete final record (%s; saved to %s)",
						r->dir, lineno, why, name);
				}
				r->journal_size = offset + (off_t)pos;
				break;
			}
			snprintf(err, n, "%s/history.jsonl line %ld: %s; refusing to continue (nothing was changed; see wf-state fsck)",
				 r->dir, lineno, why);
			rc = WF_EXIT_IO;
			break;
		}
		long seq = (long)wf_journal_count(ev, "seq");
		if (seq != r->seq + 1) {
			snprintf(err, n, "%s/history.jsonl line %ld: event %ld follows %ld; refusing to continue",
				 r->dir, lineno, seq, r->seq);
			jv_free(ev);
			rc = WF_EXIT_IO;
			break;
		}
		r->seq = seq;
		line_crc(b.s + pos, len, r->last_crc);
		r->state = wf_state_apply(r->state, ev);
		pos += len + 1;
		r->journal_size = offset + (off_t)pos;
		r->lines = lineno;
	}
	if (!rc && snap && !checked) {
		if (!(problem = wf_snapshot_check(snap, r->journal_size, r->state, r->seq, &checked)) && !checked)
			problem = wf_snapshot_unmatched(snap, r->journal_size);
		r->snapshot_problem = problem;
	}
	wf_buf_free(&b);
	return rc;
}

/*
 * Check the checksum of every journal line before byte END (what a
 * snapshot covers), so that a reader finds damage anywhere too.
 */
int
wf_journal_check_prefix(struct wf_run *r, off_t end, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;
	size_t pos = 0;
	long line = 0;

	if (fd < 0)
		return 0;
	if (wf_read_fd(fd, (size_t)1 << 34, &b) < 0) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		rc = WF_EXIT_IO;
	}
	close(fd);
	while (!rc && pos < b.len && pos < (size_t)end) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why[64];

		line++;
		if (!nl)
			break;
		if (!journal_check(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why)) {
			snprintf(err, n, "%s/history.jsonl line %ld: %s; refusing to continue (nothing was changed; see wf-state fsck)",
				 r->dir, line, why);
			rc = WF_EXIT_IO;
		}
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	return rc;
}
