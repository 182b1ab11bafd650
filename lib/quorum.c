/*
 * quorum.c: a review quorum (wf-workflow(5), "Review quorum").  A step
 * with `models: [a, b, c]` asks each model the same question at once,
 * one `wf-model chat` child per model; `quorum: N` approves when at
 * least N of them approve, and verdicts that differ make a split, which
 * `on-split: ID` routes (branch.c).  Here: the rules of those keys and
 * the fan-out of the calls; the actions count the verdicts (ai.c).
 *
 * Rules: every child runs in a process group of its own that the step
 * journals (wf_spawn_group_hook), and dies with its parent
 * (PR_SET_PDEATHSIG, proc.c): a killed step leaves none behind.  A call
 * whose child died may have been billed: it fails, never asked again.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf_priv.h"
#include "quorum.h"

/* ---- the rules ---- */

/* Report at /steps/I/KEY of C. */
#define AT(key) (snprintf(path, sizeof path, "/steps/%d/%s", i, key), path)

/* S borrowed. */
void
wf_quorum_check_rules(struct wf_check *c, jv s, int i)
{
	jv models = wf_jv_get(s, "models"), q = wf_jv_get(s, "quorum");
	const char *id = wf_jv_str(s, "id") ? wf_jv_str(s, "id") : "?", *fmt = wf_jv_str(s, "format");
	const char *action = wf_jv_str(s, "action");
	int n = jv_get_kind(models) == JV_KIND_ARRAY ? jv_array_length(jv_copy(models)) : -1;
	char path[96];

	if (n < 0) {
		if (jv_get_kind(q) != JV_KIND_NULL)
			wf_check_at(c, AT("quorum"), 0, "step '%s': 'quorum' counts the verdicts of 'models': list the models", id);
		if (wf_jv_str(s, "on-split"))
			wf_check_at(c, AT("on-split"), 0, "step '%s': 'on-split' needs 'models' to disagree: list the models", id);
		goto out;
	}
	if (wf_jv_str(s, "model"))
		wf_check_at(c, AT("models"), 0, "step '%s': 'models' and 'model' both set: keep one ('models' asks each of them at once, 'model' one model and its fallbacks)", id);
	if (n == 0)
		wf_check_at(c, AT("models"), 1, "step '%s': 'models' lists no model: name at least one", id);
	for (int a = 0; a < n; a++)
		for (int b = 0; b < a; b++) {
			jv x = jv_array_get(jv_copy(models), a), y = jv_array_get(jv_copy(models), b);

			if (jv_equal(jv_copy(x), y)) {
				char *at = wf_xasprintf("/steps/%d/models/%d", i, a);

				wf_check_at(c, at, 1, "step '%s': model '%s' is listed twice in 'models'", id,
					    jv_get_kind(x) == JV_KIND_STRING ? jv_string_value(x) : "?");
				free(at);
			}
			jv_free(x);
		}
	if (jv_get_kind(q) == JV_KIND_NUMBER && n > 0 &&
	    (jv_number_value(q) < 1 || jv_number_value(q) > n || jv_number_value(q) != (int)jv_number_value(q)))
		wf_check_at(c, AT("quorum"), 1, "step '%s': 'quorum' is %g but must be a whole number from 1 to %d (the number of models)",
			    id, jv_number_value(q), n);
	if (action && !strcmp(action, "ai-prompt") && !(fmt && !strcmp(fmt, "json")))
		wf_check_at(c, AT("models"), 0, "step '%s': an ai-prompt with 'models' needs 'format: json' (each answer an object with a boolean 'approved')", id);
out:
	jv_free(models);
	jv_free(q);
}

/* STEP borrowed. */
int
wf_quorum_of(jv step, int n)
{
	double q = wf_jv_num(step, "quorum", 0);

	return q >= 1 && q <= n ? (int)q : n / 2 + 1;
}

/* ---- asking every model at once ---- */

struct call {
	pid_t pid;		/* -1: not started (or reaped) */
	int out;		/* its stdout, -1 once at its end */
	struct wf_buf buf;
	int status;
	char err[256];
	jv res;			/* its result once known, else invalid */
};

/* Start one `wf-model chat -q` child for CREQ (borrowed) into K; -1 with K->err. */
static int
call_start(struct call *k, jv creq)
{
	char *exe = wf_sibling_exe("wf-model");
	char *argv[] = { exe, (char *)"chat", (char *)"-q", NULL };
	char *text = wf_json_dump(creq);
	struct wf_child ch;
	int rc = 0;

	k->pid = -1;
	k->out = -1;
	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_IN | WF_SPAWN_OUT | WF_SPAWN_PGRP, NULL, &ch) < 0) {
		snprintf(k->err, sizeof k->err, "cannot run '%s': %s", exe, strerror(errno));
		rc = -1;
	} else {
		k->pid = ch.pid;
		k->out = ch.out;
		/* It reads its whole request before it answers: no deadlock with the others. */
		(void)wf_write_all(ch.in, text, strlen(text));
		close(ch.in);
	}
	free(text);
	free(exe);
	return rc;
}

static jv call_result(struct call *k);

/*
 * Read every child's output to its end, telling EACH (may be NULL) of
 * each result as its child ends; asked to stop (wf_stop), TERM their
 * groups, KILL 2 s later.
 */
static void
calls_drain(struct call *k, int n, wf_quorum_each *each, void *arg)
{
	struct pollfd *pf = wf_xrealloc(NULL, (size_t)(n ? n : 1) * sizeof *pf);
	double kill_at = 0;

	for (;;) {
		int open = 0;

		for (int i = 0; i < n; i++) {
			pf[i].fd = k[i].out;
			pf[i].events = POLLIN;
			pf[i].revents = 0;
			open += k[i].out >= 0;
		}
		if (!open)
			break;
		if (wf_stop && !kill_at) {
			for (int i = 0; i < n; i++)
				if (k[i].pid > 0)
					kill(-k[i].pid, SIGTERM);
			kill_at = wf_now_ms() + 2000;
		} else if (kill_at && wf_now_ms() >= kill_at) {
			for (int i = 0; i < n; i++)
				if (k[i].pid > 0)
					kill(-k[i].pid, SIGKILL);
			kill_at = 1e300;
		}
		if (poll(pf, (nfds_t)n, 200) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			char tmp[65536];
			ssize_t r;

			if (k[i].out < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(k[i].out, tmp, sizeof tmp);
			if (r < 0 && errno == EINTR)
				continue;
			if (r > 0) {
				wf_buf_add(&k[i].buf, tmp, (size_t)r);
				continue;
			}
			close(k[i].out);
			k[i].out = -1;
			k[i].res = call_result(&k[i]);
			k[i].pid = 0;	/* reaped: its group is no longer ours to signal */
			if (each)
				each(i, k[i].res, arg);
		}
	}
	for (int i = 0; i < n; i++)
		if (k[i].out >= 0)
			close(k[i].out);
	free(pf);
}

/* K's answer, once it is reaped: its result, or {"error", "exit_code"}; the caller owns it. */
static jv
call_result(struct call *k)
{
	char err[512];
	int code;
	jv res;

	if (k->pid < 0)
		return jv_object_set(jv_object_set(jv_object(), jv_string("error"), jv_string(k->err)),
				     jv_string("exit_code"), jv_number(WF_EXIT_UNAVAILABLE));
	(void)wf_wait(k->pid, &k->status);
	code = wf_exit_code(k->status);
	res = wf_json_parse(k->buf.s ? k->buf.s : "", k->buf.len, err, sizeof err);
	if (!code && jv_is_valid(res) && jv_get_kind(res) == JV_KIND_OBJECT && !wf_jv_str(res, "error"))
		return res;
	if (!(jv_is_valid(res) && wf_jv_str(res, "error"))) {
		jv_free(res);
		res = jv_object_set(jv_object(), jv_string("error"),
				    code ? jv_string_fmt("wf-model exited with status %d", code) :
					   jv_string_fmt("wf-model gave no result: %s", err));
	}
	return jv_object_set(res, jv_string("exit_code"), jv_number(code ? code : WF_EXIT_SOFTWARE));
}

/* CREQS consumed; the caller owns the result. */
jv
wf_quorum_chat(jv creqs, wf_quorum_each *each, void *arg)
{
	int n = jv_array_length(jv_copy(creqs));
	struct call *k = wf_xrealloc(NULL, (size_t)(n ? n : 1) * sizeof *k);
	jv out = jv_array();

	memset(k, 0, (size_t)(n ? n : 1) * sizeof *k);
	jv_array_foreach(creqs, i, creq) {
		k[i].res = jv_invalid();
		(void)call_start(&k[i], creq);
		jv_free(creq);
	}
	jv_free(creqs);
	calls_drain(k, n, each, arg);
	for (int i = 0; i < n; i++) {
		/* A call that never started, or whose output was cut short, ends here. */
		if (!jv_is_valid(k[i].res)) {
			jv_free(k[i].res);
			k[i].res = call_result(&k[i]);
			if (each)
				each(i, k[i].res, arg);
		}
		out = jv_array_append(out, k[i].res);
		wf_buf_free(&k[i].buf);
	}
	free(k);
	return out;
}
