/*
 * run.c: the driver behind wf-run(1).  It walks a canonical workflow
 * step by step: control steps (loop, conditional) and checks are decided
 * here with the condition library; every action runs in a wf-step child.
 * Each step costs two journal appends (start, end) and one fdatasync, so
 * a crash at any point leaves a journal that says exactly which steps
 * finished, and a resume continues from there.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf.h"

#define JOURNAL_OUTPUT_MAX 4096

static volatile int stop_signal;

static void
on_signal(int sig)
{
	stop_signal = sig;
}

struct driver {
	struct wf_run_opts *o;
	struct wf_run *run;
	jv wf;			/* the canonical workflow */
	jv steps;		/* wf.steps */
	jv index;		/* step id -> its index in steps */
	int nsteps;
	char *step_exe;		/* wf-step */
	struct wf_child server;	/* the wf-step --serve child, pid -1 when none */
	int tty_in;		/* a person at a terminal to ask */
	jv patterns;		/* auto-approve patterns */
	char *answer_step;	/* the step the --answer is for */
	jv answer;		/* the checked --answer for it (a question's value) */
	char *consent_answer;	/* yes/no/always from --answer for a consent question */
	struct wf_buf server_buf;
	const char *step_id;	/* the step the child is running */
	jv groups;		/* the process groups it started: [{pgid, start, boot}] */
	int tty, color;
	long max_steps;
	long ran;		/* steps run by this process */
	double t0;
	char err[1024];
};

/* ---- output ---- */

static const char *
signal_reason(int sig)
{
	return sig == SIGINT ? "interrupted (SIGINT)" : sig == SIGHUP ? "interrupted (SIGHUP)" :
	       "interrupted (SIGTERM)";
}

/* The exit status for a run stopped by SIG: 128 + the signal. */
static int
signal_exit(int sig)
{
	return 128 + sig;
}

static void
progress(struct driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
progress(struct driver *d, const char *fmt, ...)
{
	va_list ap;

	if (d->o->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static const char *
col(struct driver *d, const char *code)
{
	return d->color ? code : "";
}

/* Journal EV (consumed); with --json also print it.  0 or 74. */
static int
journal(struct driver *d, jv ev, int durable)
{
	int rc;

	rc = wf_run_append(d->run, ev, durable, d->err, sizeof d->err);
	if (rc) {
		wf_warn("%s", d->err);
		return rc;
	}
	if (d->o->json) {
		jv last = wf_run_read_journal(d->run, d->run->seq, d->err, sizeof d->err);

		if (jv_is_valid(last) && jv_array_length(jv_copy(last)) > 0)
			wf_json_print(stdout, jv_array_get(jv_copy(last), 0));
		jv_free(last);
		fflush(stdout);
	}
	return 0;
}

/* EV (consumed) with RES's (borrowed) text field KEY, shortened for the journal. */
static jv
journal_text(jv ev, jv res, const char *key)
{
	const char *t = wf_jv_str(res, key);
	size_t n = t ? strlen(t) : 0;

	return jv_object_set(ev, jv_string(key), jv_string_sized(t ? t : "",
			     n > JOURNAL_OUTPUT_MAX ? JOURNAL_OUTPUT_MAX : (int)n));
}

static jv
step_at(struct driver *d, int i)
{
	return jv_array_get(jv_copy(d->steps), i);
}

/* ---- conditions ---- */

/* The condition context: the run's state plus the step being decided. */
static jv
cond_ctx(struct driver *d, jv step)
{
	jv ctx = jv_copy(d->run->state);

	return jv_object_set(ctx, jv_string("step"), step);
}

/* The context a check sees after STEP ran with result RES (borrowed): its outcome applied. */
static jv
cond_ctx_after(struct driver *d, jv step, jv res)
{
	jv ctx = cond_ctx(d, jv_copy(step));
	jv last = jv_copy(res), vars = wf_jv_get(ctx, "vars"), steps = wf_jv_get(ctx, "steps");
	jv upd = wf_jv_get(res, "vars");
	const char *id = wf_jv_str(step, "id");

	if (jv_get_kind(vars) != JV_KIND_OBJECT) {
		jv_free(vars);
		vars = jv_object();
	}
	if (jv_get_kind(upd) == JV_KIND_OBJECT)
		jv_object_foreach(upd, k, v)
			vars = jv_object_set(vars, k, v);
	jv_free(upd);
	last = jv_object_set(last, jv_string("id"), jv_string(id ? id : ""));
	if (jv_get_kind(steps) != JV_KIND_OBJECT) {
		jv_free(steps);
		steps = jv_object();
	}
	steps = jv_object_set(steps, jv_string(id ? id : ""), jv_copy(last));
	ctx = jv_object_set(ctx, jv_string("vars"), vars);
	ctx = jv_object_set(ctx, jv_string("steps"), steps);
	return jv_object_set(ctx, jv_string("last"), last);
}

/* Evaluate EXPR for STEP (after its result RES, or before it runs when RES is null). */
static int
decide_with(struct driver *d, jv step, jv res, const char *expr, int *code)
{
	char err[512];
	int result = 0, colno = 0, rc;
	jv ctx = jv_get_kind(res) == JV_KIND_NULL ? cond_ctx(d, jv_copy(step)) : cond_ctx_after(d, step, res);

	rc = wf_cond_eval(expr, ctx, &result, err, sizeof err, &colno);
	jv_free(ctx);
	jv_free(res);
	if (rc) {
		if (colno > 0)
			wf_warn("step '%s': condition '%s': column %d: %s", wf_jv_str(step, "id"), expr, colno, err);
		else
			wf_warn("step '%s': condition '%s': %s", wf_jv_str(step, "id"), expr, err);
		*code = rc;
		return -1;
	}
	return result;
}

/* Evaluate EXPR for STEP before it runs; 0/1, or -1 after a message (*CODE set). */
static int
decide(struct driver *d, jv step, const char *expr, int *code)
{
	return decide_with(d, step, jv_null(), expr, code);
}

/* ---- the step child ---- */

/* The ids named as steps.ID in the step's text, so the request carries only those. */
static jv
referenced_steps(struct driver *d, jv step)
{
	char *txt = wf_json_dump(step);
	jv all = wf_jv_get(d->run->state, "steps"), out = jv_object();

	for (char *p = strstr(txt, "steps."); p; p = strstr(p + 1, "steps.")) {
		char *s = p + 6, *e = s;
		char id[160];

		while (isalnum((unsigned char)*e) || *e == '_' || *e == '-' || *e == '.')
			e++;
		/* steps.ID.field: the id ends at the last dot before a known field. */
		size_t n = (size_t)(e - s);
		if (n >= sizeof id)
			continue;
		memcpy(id, s, n);
		id[n] = '\0';
		for (char *dot = strrchr(id, '.'); dot; dot = strrchr(id, '.')) {
			jv v = wf_jv_get(all, id);
			if (jv_get_kind(v) != JV_KIND_NULL) {
				jv_free(v);
				break;
			}
			jv_free(v);
			*dot = '\0';
		}
		jv v = wf_jv_get(all, id);
		if (jv_get_kind(v) != JV_KIND_NULL)
			out = jv_object_set(out, jv_string(id), v);
		else
			jv_free(v);
	}
	free(txt);
	jv_free(all);
	return out;
}

static jv
build_request(struct driver *d, jv step)
{
	jv st = d->run->state, req = jv_object(), run = jv_object();
	static const char *const keys[] = { "vars", "last", "loops", "iteration", "model",
					    "original_model", "passes", NULL };

	for (int i = 0; keys[i]; i++)
		req = jv_object_set(req, jv_string(keys[i]), wf_jv_get(st, keys[i]));
	req = jv_object_set(req, jv_string("steps"), referenced_steps(d, step));
	{
		const char *a = wf_jv_str(step, "action");

		if (a && strcmp(a, "shell") && strcmp(a, "load-variable") && strcmp(a, "set-variable"))
			req = jv_object_set(req, jv_string("transcript"), wf_jv_get(st, "transcript"));
	}
	run = jv_object_set(run, jv_string("name"), jv_string(d->run->name));
	run = jv_object_set(run, jv_string("dir"), jv_string(d->run->dir));
	run = jv_object_set(run, jv_string("cwd"), wf_jv_get(st, "cwd"));
	run = jv_object_set(run, jv_string("source"), wf_jv_get(d->wf, "source"));
	run = jv_object_set(run, jv_string("seq"), jv_number((double)d->run->seq));
	run = jv_object_set(run, jv_string("strict"), wf_jv_get(d->wf, "strict"));
	run = jv_object_set(run, jv_string("interactive"),
			    jv_bool(wf_jv_bool(d->wf, "interactive", 1) && !d->o->no_input));
	run = jv_object_set(run, jv_string("quiet"), jv_bool(d->o->quiet));
	run = jv_object_set(run, jv_string("tty"), jv_bool(d->tty_in));
	run = jv_object_set(run, jv_string("env"), wf_jv_get(d->wf, "env"));
	if (d->answer_step && wf_jv_str(step, "id") && !strcmp(d->answer_step, wf_jv_str(step, "id")) &&
	    jv_get_kind(d->answer) != JV_KIND_INVALID) {
		char *t = wf_jv_text(d->answer);

		req = jv_object_set(req, jv_string("answer"), jv_string(t));
		free(t);
		jv_free(d->answer);
		d->answer = jv_invalid();
	}
	if (!d->o->json && !d->o->quiet)
		run = jv_object_set(run, jv_string("echo_fd"), jv_number(4));
	req = jv_object_set(req, jv_string("run"), run);
	return jv_object_set(req, jv_string("step"), step);
}

/*
 * The wf-step child.  One "wf-step --serve" process runs every action of
 * the run, one request line in, one result line out, so a step costs a
 * pipe round trip rather than a program start; a crash in an action still
 * cannot touch the driver, and a child that died is simply started again.
 */
static int
server_start(struct driver *d)
{
	char *argv[] = { d->step_exe, (char *)"--serve", NULL };
	int fdmap[3][2] = { { d->run->lockfd, 3 }, { 1, 4 }, { -1, -1 } };

	if (d->o->json || d->o->quiet)
		fdmap[1][0] = -1;
	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_IN | WF_SPAWN_OUT, (const int (*)[2])fdmap, &d->server) < 0)
		return -1;
	d->server_buf.len = 0;
	return 0;
}

static void
server_stop(struct driver *d)
{
	int st;

	if (d->server.pid <= 0)
		return;
	if (d->server.in >= 0)
		close(d->server.in);
	if (d->server.out >= 0)
		close(d->server.out);
	d->server.in = d->server.out = -1;
	wf_wait(d->server.pid, &st);
	d->server.pid = -1;
	wf_buf_free(&d->server_buf);
}

/*
 * A line {"pgid":N,"start":T} from the child: the step started process
 * group N.  It is journaled (step-pgid) before the step goes on, so that
 * a resume can tell whether it still runs, and kept to stop it if the
 * child dies.
 */
static void
note_group(struct driver *d, const char *line, size_t n)
{
	char err[128];
	jv g = wf_json_parse(line, n, err, sizeof err), ev;

	if (!jv_is_valid(g) || jv_get_kind(g) != JV_KIND_OBJECT) {
		jv_free(g);
		return;
	}
	g = jv_object_set(g, jv_string("boot"), jv_string(wf_boot_id()));
	ev = jv_object_set(jv_copy(g), jv_string("event"), jv_string("step-pgid"));
	ev = jv_object_set(ev, jv_string("step"), jv_string(d->step_id ? d->step_id : ""));
	d->groups = jv_array_append(d->groups, g);
	(void)journal(d, ev, 0);
}

/* Stop every process group the step started that is still alive (the child died). */
static void
stop_groups(struct driver *d)
{
	jv_array_foreach(d->groups, i, g) {
		pid_t pgid = (pid_t)wf_jv_num(g, "pgid", 0);

		(void)i;
		if (wf_pgroup_alive(pgid, (unsigned long long)wf_jv_num(g, "start", 0), wf_jv_str(g, "boot")))
			wf_pgroup_stop(pgid, 2);
		jv_free(g);
	}
}

/*
 * Send one request line and read one result line.  -2 when the child was
 * gone before it got the request (nothing ran), -1 when it died after.
 */
static int
server_call(struct driver *d, const char *line, size_t len, struct wf_buf *out)
{
	struct pollfd pf;
	int signalled = 0;
	size_t written = 0;

	while (written < len) {
		ssize_t w = write(d->server.in, line + written, len - written);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return written ? -1 : -2;
		written += (size_t)w;
	}
	for (;;) {
		char *nl = d->server_buf.len ? memchr(d->server_buf.s, '\n', d->server_buf.len) : NULL;
		char tmp[65536];
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - d->server_buf.s);
			int group = n > 8 && !memcmp(d->server_buf.s, "{\"pgid\":", 8);

			if (group)
				note_group(d, d->server_buf.s, n);
			else
				wf_buf_add(out, d->server_buf.s, n);
			memmove(d->server_buf.s, nl + 1, d->server_buf.len - n - 1);
			d->server_buf.len -= n + 1;
			if (group)
				continue;
			return 0;
		}
		if (stop_signal && !signalled) {
			/* Ask the child to stop the command; it still answers. */
			kill(d->server.pid, SIGTERM);
			signalled = 1;
		}
		pf.fd = d->server.out;
		pf.events = POLLIN;
		if (poll(&pf, 1, 200) < 0 && errno != EINTR)
			return -1;
		if (!(pf.revents & (POLLIN | POLLHUP)))
			continue;
		r = read(d->server.out, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		wf_buf_add(&d->server_buf, tmp, (size_t)r);
	}
}

/* Run STEP through wf-step; returns its result (a failed one if it could not run). */
static jv
run_child(struct driver *d, jv step)
{
	struct wf_buf out = {0};
	char *input, err[512];
	jv req = build_request(d, jv_copy(step)), res;
	int rc = -1;

	input = wf_json_dump(req);
	jv_free(req);
	wf_buf_addstr(&out, "");
	d->step_id = wf_jv_str(step, "id");
	jv_free(d->groups);
	d->groups = jv_array();
	{
		size_t n = strlen(input);
		char *line = wf_xmalloc(n + 2);

		memcpy(line, input, n);
		line[n] = '\n';
		line[n + 1] = '\0';
		if (d->server.pid > 0 || server_start(d) == 0) {
			rc = server_call(d, line, n + 1, &out);
			if (rc == -2) {
				/* The child was gone before it got the request: nothing ran; a new one gets it. */
				server_stop(d);
				if (!stop_signal && server_start(d) == 0) {
					out.len = 0;
					rc = server_call(d, line, n + 1, &out);
				}
			}
		}
		free(line);
	}
	free(input);
	if (rc < 0) {
		res = jv_object_set(jv_object(), jv_string("status"), jv_string("failed"));
		res = jv_object_set(res, jv_string("exit_code"), jv_number(70));
		res = jv_object_set(res, jv_string("error"),
				    jv_string_fmt("'%s' died without a result", d->step_exe));
		if (stop_signal)
			res = jv_object_set(res, jv_string("interrupted"), jv_true());
		else if (rc == -1) {
			/* It died with the request: a crash of the step, which is now in doubt. */
			res = jv_object_set(res, jv_string("crashed"), jv_true());
			res = jv_object_set(res, jv_string("error"),
					    jv_string_fmt("'%s' died while running the step", d->step_exe));
		}
		server_stop(d);
		stop_groups(d);
	} else {
		res = wf_json_parse(out.s, out.len, err, sizeof err);
		if (!jv_is_valid(res) || jv_get_kind(res) != JV_KIND_OBJECT || !wf_jv_str(res, "status")) {
			jv_free(res);
			res = jv_object_set(jv_object(), jv_string("status"), jv_string("failed"));
			res = jv_object_set(res, jv_string("exit_code"), jv_number(70));
			res = jv_object_set(res, jv_string("error"),
					    jv_string_fmt("wf-step answered with a malformed result: %s", err));
		}
	}
	wf_buf_free(&out);
	d->step_id = NULL;
	jv_free(step);
	return res;
}

/* ---- flow ---- */

/*
 * Name the cycle in the last steps run: "the run was cycling through s1 ->
 * s2 -> s1", or, when they repeat nothing, "the last steps run were ...".
 */
static char *
describe_cycle(jv trail)
{
	int n = jv_array_length(jv_copy(trail));
	struct wf_buf b = {0};

	for (int len = 1; len <= n / 2 && len <= 8; len++) {
		int ok = 1;

		for (int i = 0; i < len && ok; i++) {
			jv a = jv_array_get(jv_copy(trail), n - 1 - i);
			jv c = jv_array_get(jv_copy(trail), n - 1 - i - len);

			ok = jv_equal(a, c);
		}
		if (ok) {
			wf_buf_addstr(&b, "the run was cycling through ");
			for (int i = n - len; i < n; i++) {
				jv s = jv_array_get(jv_copy(trail), i);

				wf_buf_printf(&b, "%s -> ", jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "?");
				jv_free(s);
			}
			jv s = jv_array_get(jv_copy(trail), n - len);
			wf_buf_addstr(&b, jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "?");
			jv_free(s);
			return wf_buf_detach(&b);
		}
	}
	wf_buf_addstr(&b, "the last steps run were ");
	for (int i = n > 6 ? n - 6 : 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(trail), i);

		wf_buf_printf(&b, "%s%s", jv_get_kind(s) == JV_KIND_STRING ? jv_string_value(s) : "?",
			      i + 1 < n ? " -> " : "");
		jv_free(s);
	}
	return wf_buf_detach(&b);
}

/* Stop with STATUS (paused, waiting, failed) and REASON; returns CODE. */
static int
stop_run(struct driver *d, const char *event, const char *status, const char *reason,
	 jv extra, int code)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string(event));

	ev = jv_object_set(ev, jv_string("status"), jv_string(status));
	ev = jv_object_set(ev, jv_string("reason"), jv_string(reason));
	if (jv_get_kind(extra) == JV_KIND_OBJECT)
		jv_object_foreach(extra, k, v)
			ev = jv_object_set(ev, k, v);
	jv_free(extra);
	if (journal(d, ev, 1))
		return WF_EXIT_IO;
	if (wf_run_snapshot(d->run, d->err, sizeof d->err)) {
		wf_warn("%s", d->err);
		return WF_EXIT_IO;
	}
	return code;
}

/*
 * The run stops (EVENT, STATUS, REASON, exit CODE) while step ID (STEP
 * borrowed) is in flight, WHAT having happened: the step is in doubt.
 * The stop event keeps it (inflight, with the process groups it started)
 * so that the resume decides by the one rule: run it again with a notice,
 * or, for idempotent: false, stop with 3 and ask.
 */
static int
stop_in_doubt(struct driver *d, const char *id, jv step, const char *what, const char *event,
	      const char *status, const char *reason, int code)
{
	jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));

	extra = jv_object_set(extra, jv_string("inflight"), wf_jv_get(d->run->state, "inflight"));
	if (wf_step_repeatable(step))
		wf_warn("run '%s': %s during step '%s'; it is in doubt and runs again on 'wf resume %s'",
			d->run->name, what, id, d->run->name);
	else
		wf_warn("run '%s': %s during step '%s', which is marked idempotent: false; 'wf resume %s' will ask whether to run it again (--rerun) or take it as done (--skip)",
			d->run->name, what, id, d->run->name);
	return stop_run(d, event, status, reason, extra, code);
}

static const char *
short_detail(jv step, char *buf, size_t n)
{
	static const char *const keys[] = { "command", "prompt", "message", "condition", "model", "from", NULL };
	const char *t = NULL;

	for (int i = 0; keys[i] && !t; i++)
		t = wf_jv_str(step, keys[i]);
	if (!t)
		return "";
	size_t len = strcspn(t, "\n");
	snprintf(buf, n, " \"%.*s%s\"", (int)(len > 48 ? 48 : len), t, len > 48 || t[len] ? "..." : "");
	return buf;
}

/*
 * Did a person decline STEP (borrowed), a confirmation, with RES
 * (borrowed)?  A "no" moves only where a jump says a no goes; with none,
 * the run stops as declined (wf-workflow(5), "Interactive steps").
 */
static int
said_no(jv step, jv res)
{
	const char *a = wf_jv_str(step, "action"), *kind = wf_jv_str(step, "kind");
	jv v = wf_jv_get(res, "approved");
	int no = jv_get_kind(v) == JV_KIND_FALSE;

	jv_free(v);
	return no && a && !strcmp(a, "interactive") && (!kind || !strcmp(kind, "confirm"));
}

/*
 * After STEP ran with result RES: where to go next.  Returns the id of the
 * next step (jv string) or null for the end, or invalid with *CODE set:
 * after a message, or 77 (no message) for a declined confirmation.
 * *JUMP gets a description for the journal, or null.
 */
static jv
next_after(struct driver *d, jv step, jv res, jv *jump, int *code)
{
	const char *status = wf_jv_str(res, "status");
	const char *check = wf_jv_str(step, "check");
	jv next = wf_jv_get(step, "next"), approved = wf_jv_get(res, "approved");

	*jump = jv_null();
	if (!strcmp(status, "failed")) {
		const char *onerr = wf_jv_str(step, "on-error");

		if (onerr) {
			*jump = jv_object_set(jv_object_set(jv_object(), jv_string("to"), jv_string(onerr)),
					      jv_string("because"), jv_string("on-error"));
			jv_free(next);
			jv_free(approved);
			return jv_string(onerr);
		}
		if (!wf_jv_bool(step, "continue-on-error", 0)) {
			jv_free(next);
			jv_free(approved);
			/* A timeout is a limit reached (4); any other failure is 1. */
			*code = wf_jv_bool(res, "timed_out", 0) ? WF_EXIT_LIMIT : WF_EXIT_FAIL;
			return jv_invalid();
		}
	}
	if (check || (wf_step_gives_verdict(step) && jv_get_kind(approved) != JV_KIND_NULL)) {
		/* A check decides; without one, a verdict picks on-approved or on-rejected itself. */
		int v = check ? decide_with(d, step, jv_copy(res), check, code) : jv_get_kind(approved) == JV_KIND_TRUE;
		const char *target;

		jv_free(approved);
		if (v < 0) {
			jv_free(next);
			return jv_invalid();
		}
		if (check && v)
			target = wf_jv_str(step, "on-true") ? wf_jv_str(step, "on-true") : wf_jv_str(step, "on-approved");
		else if (check)
			target = wf_jv_str(step, "on-false") ? wf_jv_str(step, "on-false") : wf_jv_str(step, "on-rejected");
		else
			target = wf_jv_str(step, v ? "on-approved" : "on-rejected");
		if (check) {
			*jump = jv_object_set(jv_object(), jv_string("condition"), jv_string(check));
			*jump = jv_object_set(*jump, jv_string("value"), jv_bool(v));
		} else {
			*jump = jv_object_set(jv_object(), jv_string("verdict"), jv_bool(v));
		}
		if (target) {
			*jump = jv_object_set(*jump, jv_string("to"), jv_string(target));
			jv_free(next);
			return jv_string(target);
		}
		if (said_no(step, res)) {
			jv_free(next);
			*code = WF_EXIT_DENIED;
			return jv_invalid();
		}
		if (check) {
			*jump = jv_object_set(*jump, jv_string("to"), jv_copy(next));
		} else {
			jv_free(*jump);
			*jump = jv_null();
		}
	} else {
		jv_free(approved);
	}
	if (wf_jv_str(step, "on-complete")) {
		jv to = wf_jv_get(step, "on-complete");

		if (jv_get_kind(*jump) == JV_KIND_NULL)
			*jump = jv_object_set(jv_object_set(jv_object(), jv_string("to"), jv_copy(to)),
					      jv_string("because"), jv_string("on-complete"));
		else
			*jump = jv_object_set(*jump, jv_string("to"), jv_copy(to));
		jv_free(next);
		return to;
	}
	return next;
}

/*
 * The loop step: returns the next cursor, or invalid with *CODE (4 or 3).
 * max-iterations counts passes of the body: the loop step ends pass
 * COUNT + 1, where COUNT (loops.ID) is how often it has jumped back in
 * this round, so max-iterations: 3 runs the body at most 3 times.
 */
static jv
do_loop(struct driver *d, jv step, jv *ev, int *code)
{
	const char *id = wf_jv_str(step, "id");
	const char *cond = wf_jv_str(step, "condition");
	jv loops = wf_jv_get(d->run->state, "loops");
	long count = (long)wf_jv_num(loops, id, 0);
	long max = (long)wf_jv_num(step, "max-iterations", 1);
	int v = decide(d, step, cond ? cond : "true", code);
	jv next;

	jv_free(loops);
	if (v < 0)
		return jv_invalid();
	*ev = jv_object_set(*ev, jv_string("condition"), jv_string(cond ? cond : "true"));
	*ev = jv_object_set(*ev, jv_string("value"), jv_bool(v));
	*ev = jv_object_set(*ev, jv_string("passes"),
			    jv_object_set(jv_object(), jv_string(id), jv_number((double)count + 1)));
	if (!v) {
		/* Done: the counter starts again if the loop is reached anew. */
		*ev = jv_object_set(*ev, jv_string("loops"),
				    jv_object_set(jv_object(), jv_string(id), jv_number(0)));
		return wf_jv_get(step, "next");
	}
	if (count + 1 >= max) {
		const char *how = wf_jv_str(step, "on-exhausted");

		*ev = jv_object_set(*ev, jv_string("exhausted"), jv_true());
		if (how && !strcmp(how, "continue")) {
			*ev = jv_object_set(*ev, jv_string("loops"),
					    jv_object_set(jv_object(), jv_string(id), jv_number(0)));
			progress(d, "%sloop %s exhausted after %ld passes; continuing%s\n",
				 col(d, "\033[33m"), id, max, col(d, "\033[0m"));
			return wf_jv_get(step, "next");
		}
		*code = how && !strcmp(how, "pause") ? WF_EXIT_WAIT : WF_EXIT_LIMIT;
		return jv_invalid();
	}
	next = wf_jv_get(step, "to");
	*ev = jv_object_set(*ev, jv_string("loops"),
			    jv_object_set(jv_object(), jv_string(id), jv_number((double)count + 1)));
	*ev = jv_object_set(*ev, jv_string("iteration"), jv_number((double)count + 1));
	*ev = jv_object_set(*ev, jv_string("jump"),
			    jv_object_set(jv_object_set(jv_object(), jv_string("to"), jv_copy(next)),
					  jv_string("iteration"), jv_number((double)count + 1)));
	return next;
}

static int
finish(struct driver *d)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("run-end"));
	double secs = (wf_now_ms() - d->t0) / 1000.0;

	ev = jv_object_set(ev, jv_string("status"), jv_string("completed"));
	unlinkat(d->run->dirfd, "pause-request", 0);
	if (journal(d, ev, 1))
		return WF_EXIT_IO;
	if (wf_run_snapshot(d->run, d->err, sizeof d->err)) {
		wf_warn("%s", d->err);
		return WF_EXIT_IO;
	}
	progress(d, "%s%s: completed%s %ld step%s in %.2fs\n", col(d, "\033[1;32m"), d->run->name,
		 col(d, "\033[0m"), d->ran, d->ran == 1 ? "" : "s", secs);
	if (!wf_jv_bool(d->wf, "persistent", 1)) {
		if (wf_run_remove(d->run, d->err, sizeof d->err))
			wf_warn("%s", d->err);
	}
	return 0;
}

/* Does ACTION call a model? */
static int
uses_model(const char *action)
{
	return wf_action_uses_model(action);
}

/*
 * Does step S (borrowed) need a model to run?  A commit-push with a
 * message, a create-pr with a title and a body, a make-changes done by a
 * coding agent, and a self-review (it falls back to a list of the
 * changes) do not.
 */
static int
step_needs_model(jv s)
{
	const char *a = wf_jv_str(s, "action");
	const char *agent = getenv("WF_CODING_AGENT");

	if (!a || !uses_model(a))
		return 0;
	if (!strcmp(a, "commit-push"))
		return !wf_jv_str(s, "message");
	if (!strcmp(a, "create-pr"))
		return !wf_jv_str(s, "title") || !wf_jv_str(s, "body");
	if (!strcmp(a, "make-changes"))
		return !wf_jv_str(s, "agent") && !(agent && *agent);
	return strcmp(a, "self-review") != 0;
}

/* Tokens and dollars used so far by the run (usd -1 when some cost is unknown). */
static void
usage_totals(jv state, double *tokens, double *usd)
{
	jv u = wf_jv_get(state, "usage");

	*tokens = 0;
	*usd = 0;
	if (jv_get_kind(u) == JV_KIND_OBJECT)
		jv_object_foreach(u, k, v) {
			jv c = wf_jv_get(v, "usd");

			*tokens += wf_jv_num(v, "input_tokens", 0) + wf_jv_num(v, "output_tokens", 0);
			if (jv_get_kind(c) == JV_KIND_NUMBER && *usd >= 0)
				*usd += jv_number_value(c);
			else if (jv_get_kind(c) != JV_KIND_NUMBER)
				*usd = -1;
			jv_free(c);
			jv_free(k);
			jv_free(v);
		}
	jv_free(u);
}

/* A rough size of the next call in tokens: its text and the transcript, 4 characters a token. */
static double
call_estimate(jv state, jv step)
{
	char *a = wf_json_dump(step);
	jv t = wf_jv_get(state, "transcript");
	char *b = wf_json_dump(t);
	double n = (double)(strlen(a) + strlen(b)) / 4.0;

	free(a);
	free(b);
	jv_free(t);
	return n;
}

/*
 * Would the next call of STEP cross the workflow's budget?  Returns 0, or
 * fills MSG and returns 1.
 */
static int
over_budget(struct driver *d, jv step, char *msg, size_t n)
{
	jv b = wf_jv_get(d->wf, "budget");
	double tokens, usd, est;
	int over = 0;

	if (jv_get_kind(b) != JV_KIND_OBJECT) {
		jv_free(b);
		return 0;
	}
	usage_totals(d->run->state, &tokens, &usd);
	est = call_estimate(d->run->state, step);
	if (wf_jv_num(b, "tokens", -1) >= 0 && tokens + est > wf_jv_num(b, "tokens", 0)) {
		snprintf(msg, n, "budget of %g tokens would be crossed by step '%s' (used %g, this call about %.0f more)",
			 wf_jv_num(b, "tokens", 0), wf_jv_str(step, "id"), tokens, est);
		over = 1;
	} else if (wf_jv_num(b, "usd", -1) >= 0 && usd >= 0 && usd >= wf_jv_num(b, "usd", 0)) {
		snprintf(msg, n, "budget of $%g reached before step '%s' (used $%.4f)", wf_jv_num(b, "usd", 0),
			 wf_jv_str(step, "id"), usd);
		over = 1;
	}
	jv_free(b);
	return over;
}

/* What a sensitive step will do, for the person asked: the command, or the action and its target. */
static char *
describe_effect(struct driver *d, jv step)
{
	static const char *const keys[] = { "command", "title", "message", "base", "method", "branch", NULL };
	const char *action = wf_jv_str(step, "action");
	jv ctx = cond_ctx(d, jv_copy(step));
	struct wf_buf b = {0};
	char err[256];

	if (!strcmp(action, "shell")) {
		char *t = wf_subst(wf_jv_str(step, "command"), ctx, 0, NULL, err, sizeof err);

		wf_buf_addstr(&b, t ? t : wf_jv_str(step, "command"));
		free(t);
	} else {
		jv vars = wf_jv_get(ctx, "vars");

		wf_buf_printf(&b, "%s", action);
		for (int i = 0; keys[i]; i++)
			if (wf_jv_str(step, keys[i])) {
				char *t = wf_subst(wf_jv_str(step, keys[i]), ctx, 0, NULL, err, sizeof err);

				wf_buf_printf(&b, " %s=\"%s\"", keys[i], t ? t : "");
				free(t);
			}
		jv pr = wf_jv_get(vars, "pr_number");

		if (jv_get_kind(pr) == JV_KIND_STRING || jv_get_kind(pr) == JV_KIND_NUMBER) {
			char *t = wf_jv_text(pr);

			wf_buf_printf(&b, " (PR #%s)", t);
			free(t);
		}
		jv_free(pr);
		jv_free(vars);
	}
	jv_free(ctx);
	return wf_buf_detach(&b);
}

static int
record_consent(struct driver *d, const char *id, const char *what, const char *decision, const char *by)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("consent"));

	ev = jv_object_set(ev, jv_string("step"), jv_string(id));
	ev = jv_object_set(ev, jv_string("command"), jv_string(what));
	ev = jv_object_set(ev, jv_string("decision"), jv_string(decision));
	ev = jv_object_set(ev, jv_string("by"), jv_string(by));
	return journal(d, ev, 0);
}

/*
 * The auto-approve pattern that approves STEP (borrowed), or NULL.  A
 * shell command is matched as written, with the run's variables as the
 * step's environment will carry them: a name the workflow's or the
 * step's env: sets is left out, its value being another.
 */
static const char *
approving_pattern(struct driver *d, jv step, const char *action)
{
	int shell = !strcmp(action, "shell");
	jv vars = shell ? wf_jv_get(d->run->state, "vars") : jv_null();
	jv maps[2] = { wf_jv_get(d->wf, "env"), wf_jv_get(step, "env") };
	const char *pat;

	for (int m = 0; m < 2; m++) {
		if (jv_get_kind(maps[m]) == JV_KIND_OBJECT && jv_get_kind(vars) == JV_KIND_OBJECT)
			jv_object_foreach(maps[m], k, v) {
				vars = jv_object_delete(vars, k);
				jv_free(v);
			}
		jv_free(maps[m]);
	}
	pat = wf_auto_approved(d->patterns, action, shell ? wf_jv_str(step, "command") : NULL, vars);
	jv_free(vars);
	return pat;
}

/*
 * May the sensitive STEP run?  0 yes; otherwise the run has been stopped
 * and the exit code is returned: 3 waiting for consent, 77 declined.
 */
static int
consent(struct driver *d, jv step, const char *id)
{
	const char *action = wf_jv_str(step, "action");
	char *what, *line = NULL;
	const char *pat, *decision = NULL, *by = NULL;
	int rc = 0;

	if (!wf_action_sensitive(action))
		return 0;
	what = describe_effect(d, step);
	if (d->o->yes) {
		decision = "yes";
		by = "--yes";
	} else if (wf_jv_bool(d->run->state, "consent_always", 0)) {
		free(what);
		return 0;
	} else if (d->consent_answer && d->answer_step && !strcmp(d->answer_step, id)) {
		decision = d->consent_answer;
		by = "--answer";
	} else if (wf_jv_str(d->wf, "hash") && wf_trusted(wf_jv_str(d->wf, "hash"))) {
		decision = "yes";
		by = "trust";
	} else if ((pat = approving_pattern(d, step, action))) {
		decision = "yes";
		by = "auto-approve";
	} else if (d->tty_in && wf_jv_bool(d->wf, "interactive", 1)) {
		char *prompt = wf_xasprintf("\nstep '%s' (%s) will run:\n  %s\nrun it? [y]es, [n]o, [a]lways for this run, [p]ause: ",
					    id, action, what);
		int timed_out;

		for (;;) {
			free(line);
			line = wf_tty_ask(prompt, 0, &timed_out);
			if (!line || !strcmp(line, "p") || !strcmp(line, "pause")) {
				decision = "pause";
				break;
			}
			if (!strcmp(line, "y") || !strcmp(line, "yes")) {
				decision = "yes";
				break;
			}
			if (!strcmp(line, "n") || !strcmp(line, "no")) {
				decision = "no";
				break;
			}
			if (!strcmp(line, "a") || !strcmp(line, "always")) {
				decision = "always";
				break;
			}
		}
		free(prompt);
		by = "terminal";
	}
	if (!decision || !strcmp(decision, "pause")) {
		jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));

		extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
		extra = jv_object_set(extra, jv_string("pending"),
			jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("kind"), jv_string("consent")),
				jv_string("step"), jv_string(id)), jv_string("command"), jv_string(what)));
		if (by)
			record_consent(d, id, what, "pause", by);
		wf_warn("step '%s' needs consent to run: %s; approve with 'wf resume %s --yes' (or --answer yes|no|always), or trust the file with 'wf trust %s'",
			id, what, d->run->name,
			wf_jv_str(d->run->state, "workflow") ? wf_jv_str(d->run->state, "workflow") : d->run->name);
		rc = stop_run(d, "pause", "waiting", "consent", extra, WF_EXIT_WAIT);
	} else if (!strcmp(decision, "no")) {
		jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));

		extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
		extra = jv_object_set(extra, jv_string("pending"),
			jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("kind"), jv_string("consent")),
				jv_string("step"), jv_string(id)), jv_string("command"), jv_string(what)));
		record_consent(d, id, what, "no", by);
		wf_warn("step '%s' was declined; the run stops here (continue later with 'wf resume %s --yes')",
			id, d->run->name);
		rc = stop_run(d, "pause", "declined", "declined", extra, WF_EXIT_DENIED);
	} else {
		rc = record_consent(d, id, what, decision, by);
	}
	if (d->consent_answer && d->answer_step && !strcmp(d->answer_step, id)) {
		free(d->consent_answer);
		d->consent_answer = NULL;
	}
	free(line);
	free(what);
	return rc;
}

/*
 * Confirmation ID was answered no and nothing says where a no goes: the
 * step's end EV (consumed) is journaled with the cursor kept on it, and
 * the run stops as declined (77) with the question pending again, so a
 * resume asks it again or takes --answer.  RES (consumed) is the result.
 */
static int
declined(struct driver *d, const char *id, jv ev, jv res)
{
	jv q = jv_object(), extra, ans = wf_jv_get(res, "answer");

	jv_free(res);
	ev = jv_object_set(ev, jv_string("cursor"), jv_string(id));
	if (journal(d, ev, 1)) {
		jv_free(ans);
		return WF_EXIT_IO;
	}
	q = jv_object_set(q, jv_string("kind"), jv_string("question"));
	q = jv_object_set(q, jv_string("step"), jv_string(id));
	q = jv_object_set(q, jv_string("message"), wf_jv_get(ans, "question"));
	q = jv_object_set(q, jv_string("type"), jv_string("confirm"));
	jv_free(ans);
	extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
	extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
	extra = jv_object_set(extra, jv_string("pending"), q);
	wf_warn("step '%s' was answered no, and no 'on-rejected' says where a no goes; the run stops here (go on with 'wf resume %s --answer yes', or give the step an 'on-rejected')",
		id, d->run->name);
	return stop_run(d, "pause", "declined", "declined", extra, WF_EXIT_DENIED);
}

/* The main loop, from the cursor in the state. */
static int
drive(struct driver *d)
{
	for (;;) {
		jv cursor = wf_jv_get(d->run->state, "cursor");
		jv step, res, next, jump, ev;
		int idx, code = 0, rc;
		char detail[80], *id;
		const char *action;
		double t;

		if (jv_get_kind(cursor) != JV_KIND_STRING) {
			jv_free(cursor);
			return finish(d);
		}
		id = wf_xstrdup(jv_string_value(cursor));
		jv_free(cursor);
		{
			/* A map from id to index, so finding a step costs the same in any workflow. */
			jv at = jv_object_get(jv_copy(d->index), jv_string(id));

			idx = jv_get_kind(at) == JV_KIND_NUMBER ? (int)jv_number_value(at) : -1;
			jv_free(at);
		}
		if (idx < 0) {
			wf_warn("run '%s': step '%s' is not in the workflow (it changed?); start over with 'wf run %s --restart'",
				d->run->name, id, d->run->name);
			free(id);
			return WF_EXIT_DATA;
		}
		if (stop_signal) {
			free(id);
			progress(d, "%s: interrupted; continue with 'wf resume %s'\n", d->run->name, d->run->name);
			return stop_run(d, "pause", "paused", signal_reason(stop_signal), jv_null(), signal_exit(stop_signal));
		}
		if (faccessat(d->run->dirfd, "pause-request", F_OK, 0) == 0) {
			unlinkat(d->run->dirfd, "pause-request", 0);
			progress(d, "%s: paused before step '%s'; continue with 'wf resume %s'\n",
				 d->run->name, id, d->run->name);
			free(id);
			return stop_run(d, "pause", "paused", "wf pause", jv_null(), WF_EXIT_WAIT);
		}
		if ((long)wf_jv_num(d->run->state, "steps_run", 0) >= d->max_steps) {
			jv trail = wf_jv_get(d->run->state, "trail");
			char *cyc = describe_cycle(trail);

			wf_warn("step limit of %ld reached; %s (allow more steps with 'wf resume %s --max-steps %ld')",
				d->max_steps, cyc, d->run->name, 2 * d->max_steps + 1);
			jv_free(trail);
			free(cyc);
			free(id);
			return stop_run(d, "run-end", "failed", "step limit", jv_null(), WF_EXIT_LIMIT);
		}
		step = step_at(d, idx);
		action = wf_jv_str(step, "action");
		t = wf_now_ms();
		ev = jv_object_set(jv_object(), jv_string("event"), jv_string("step-end"));
		ev = jv_object_set(ev, jv_string("step"), jv_string(id));
		ev = jv_object_set(ev, jv_string("action"), jv_string(action));
		d->ran++;

		/* if: skips a step whose condition is false. */
		if (wf_jv_str(step, "if")) {
			int v = decide(d, step, wf_jv_str(step, "if"), &code);

			if (v < 0) {
				jv_free(step);
				jv_free(ev);
				free(id);
				return stop_run(d, "run-end", "failed", "bad condition", jv_null(), code);
			}
			if (!v) {
				progress(d, "%s[%d/%d] %s %s skipped%s\n", col(d, "\033[2m"), idx + 1, d->nsteps,
					 id, action, col(d, "\033[0m"));
				ev = jv_object_set(ev, jv_string("status"), jv_string("skipped"));
				ev = jv_object_set(ev, jv_string("exit_code"), jv_number(0));
				ev = jv_object_set(ev, jv_string("output"), jv_string(""));
				ev = jv_object_set(ev, jv_string("cursor"), wf_jv_get(step, "next"));
				jv_free(step);
				free(id);
				if (journal(d, ev, 1))
					return WF_EXIT_IO;
				continue;
			}
		}
		if (!strcmp(action, "loop") || !strcmp(action, "conditional")) {
			if (!strcmp(action, "loop")) {
				next = do_loop(d, step, &ev, &code);
			} else {
				const char *cond = wf_jv_str(step, "condition");
				int v = decide(d, step, cond, &code);

				if (v < 0) {
					next = jv_invalid();
				} else {
					const char *to = wf_jv_str(step, v ? "on-true" : "on-false");

					ev = jv_object_set(ev, jv_string("condition"), jv_string(cond));
					ev = jv_object_set(ev, jv_string("value"), jv_bool(v));
					next = to ? jv_string(to) : wf_jv_get(step, "next");
					if (to)
						ev = jv_object_set(ev, jv_string("jump"),
							jv_object_set(jv_object(), jv_string("to"), jv_string(to)));
				}
			}
			if (!jv_is_valid(next)) {
				jv_free(next);
				jv_free(step);
				if (code == WF_EXIT_LIMIT || code == WF_EXIT_WAIT) {
					jv ls = step_at(d, idx), passes = wf_jv_get(ev, "passes");
					long max = (long)wf_jv_num(ls, "max-iterations", 0);

					jv_free(ls);

					/* Going on needs a higher cap or a false condition: a plain resume would stop here again. */
					wf_warn("loop %s exhausted after %ld passes%s; raise its max-iterations in the workflow, then 'wf resume %s --accept-changes', or make its condition false with 'wf resume %s --var NAME=VALUE'",
						id, max, code == WF_EXIT_WAIT ? "; paused" : "", d->run->name, d->run->name);
					jv_free(ev);
					ev = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
					ev = jv_object_set(ev, jv_string("passes"), passes);
					free(id);
					return stop_run(d, code == WF_EXIT_WAIT ? "pause" : "run-end",
							code == WF_EXIT_WAIT ? "paused" : "failed",
							"loop exhausted", ev, code);
				}
				jv_free(ev);
				free(id);
				return stop_run(d, "run-end", "failed", "bad condition", jv_null(), code);
			}
			ev = jv_object_set(ev, jv_string("status"), jv_string("ok"));
			ev = jv_object_set(ev, jv_string("exit_code"), jv_number(0));
			ev = jv_object_set(ev, jv_string("output"), jv_string(""));
			ev = jv_object_set(ev, jv_string("cursor"), next);
			progress(d, "%s[%d/%d] %s %s%s -> %s%s\n", col(d, "\033[2m"), idx + 1, d->nsteps, id, action,
				 short_detail(step, detail, sizeof detail),
				 wf_jv_str(ev, "cursor") ? wf_jv_str(ev, "cursor") : "end", col(d, "\033[0m"));
			jv_free(step);
			free(id);
			if (journal(d, ev, 1))
				return WF_EXIT_IO;
			continue;
		}

		/* A model call that would cross the budget is not made. */
		if (uses_model(action)) {
			char msg[512];

			if (over_budget(d, step, msg, sizeof msg)) {
				wf_warn("%s; raise 'budget:' in the workflow, then 'wf resume %s --accept-changes'",
					msg, d->run->name);
				jv_free(step);
				jv_free(ev);
				jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
				free(id);
				return stop_run(d, "run-end", "failed", "budget", extra, WF_EXIT_LIMIT);
			}
		}
		/* Consent first, for what runs a command or changes the world. */
		if ((code = consent(d, step, id))) {
			jv_free(step);
			jv_free(ev);
			free(id);
			return code;
		}
		/* An action: journal the start, run it in wf-step, journal the end. */
		{
			jv retry = wf_jv_get(step, "retry");
			int attempts = (int)wf_jv_num(retry, "attempts", 1);
			double delay = wf_jv_num(retry, "delay", 0);
			int idem = wf_jv_bool(step, "idempotent", 1);

			jv_free(retry);
			if (attempts < 1)
				attempts = 1;
			progress(d, "%s[%d/%d] %s %s%s%s ...%s", col(d, "\033[1m"), idx + 1, d->nsteps, id, action,
				 short_detail(step, detail, sizeof detail), col(d, "\033[0m"), d->tty ? "" : "\n");
			res = jv_null();
			for (int attempt = 1; attempt <= attempts; attempt++) {
				jv se = jv_object_set(jv_object(), jv_string("event"), jv_string("step-start"));

				se = jv_object_set(se, jv_string("step"), jv_string(id));
				se = jv_object_set(se, jv_string("attempt"), jv_number(attempt));
				if (!idem)
					se = jv_object_set(se, jv_string("idempotent"), jv_false());
				if (journal(d, se, !idem)) {
					jv_free(step);
					jv_free(ev);
					free(id);
					return WF_EXIT_IO;
				}
				jv_free(res);
				res = run_child(d, jv_copy(step));
				if (wf_jv_bool(res, "interrupted", 0) || wf_jv_bool(res, "crashed", 0) || stop_signal)
					break;
				if (strcmp(wf_jv_str(res, "status"), "failed") || attempt == attempts)
					break;
				progress(d, "\n%s%s failed (%s); retrying in %gs (attempt %d of %d)%s\n",
					 col(d, "\033[33m"), id, wf_jv_str(res, "error") ? wf_jv_str(res, "error") : "?",
					 delay, attempt + 1, attempts, col(d, "\033[0m"));
				for (double w = 0; w < delay && !stop_signal; w += 0.05)
					usleep(50000);
			}
		}
		if (wf_jv_bool(res, "crashed", 0) && !stop_signal) {
			rc = stop_in_doubt(d, id, step, "'wf-step' died", "run-end", "failed", "step crashed",
					   WF_EXIT_SOFTWARE);
			jv_free(res);
			jv_free(step);
			jv_free(ev);
			free(id);
			return rc;
		}
		if (wf_jv_bool(res, "interrupted", 0) || stop_signal) {
			int sig = stop_signal ? stop_signal : SIGINT;

			if (d->tty)
				progress(d, "\n");
			rc = stop_in_doubt(d, id, step, "interrupted", "pause", "paused", signal_reason(sig),
					   signal_exit(sig));
			jv_free(res);
			jv_free(step);
			jv_free(ev);
			free(id);
			return rc;
		}
		{
			const char *status = wf_jv_str(res, "status");
			double secs = (wf_now_ms() - t) / 1000.0;
			int printed = (int)wf_jv_num(res, "printed", 1);
			const char *c_on = !strcmp(status, "ok") ? col(d, "\033[32m") : !strcmp(status, "waiting") ?
					   col(d, "\033[33m") : col(d, "\033[31m");

			if (d->tty && !printed)
				progress(d, "\r\033[K%s[%d/%d] %s %s%s ... %s%s %.1fs%s\n", col(d, "\033[1m"), idx + 1,
					 d->nsteps, id, action, short_detail(step, detail, sizeof detail), c_on,
					 status, secs, col(d, "\033[0m"));
			else
				progress(d, "%s%s[%d/%d] %s %s %.1fs%s\n", d->tty ? "\n" : "", c_on, idx + 1, d->nsteps,
					 id, status, secs, col(d, "\033[0m"));
			if (!strcmp(status, "failed") && wf_jv_str(res, "error")) {
				/* Failures are told even with --quiet. */
				if (d->o->quiet)
					wf_warn("step '%s': %s", id, wf_jv_str(res, "error"));
				else
					progress(d, "%s%s: %s%s\n", col(d, "\033[31m"), id, wf_jv_str(res, "error"),
						 col(d, "\033[0m"));
			}
		}
		if (!strcmp(wf_jv_str(res, "status"), "waiting")) {
			jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));

			extra = jv_object_set(extra, jv_string("pending"), wf_jv_get(res, "pending"));
			extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
			jv_free(res);
			jv_free(step);
			jv_free(ev);
			progress(d, "%s: waiting at step '%s'; see 'wf status %s'\n", d->run->name, id, d->run->name);
			free(id);
			return stop_run(d, "pause", "waiting", "waiting for an answer", extra, WF_EXIT_WAIT);
		}
		next = next_after(d, step, res, &jump, &code);
		{
			static const char *const keep[] = { "status", "exit_code", "error", "vars", "approved",
							    "model", "usage", "duration_ms", "verdict",
							    "messages", "effects", "pr", "answer", "timed_out",
							    "output_error", NULL };

			for (int i = 0; keep[i]; i++) {
				jv v = wf_jv_get(res, keep[i]);

				if (jv_get_kind(v) != JV_KIND_NULL)
					ev = jv_object_set(ev, jv_string(keep[i]), v);
				else
					jv_free(v);
			}
			ev = journal_text(ev, res, "output");
			if (wf_jv_str(res, "stderr"))
				ev = journal_text(ev, res, "stderr");
		}
		if (!jv_is_valid(next) && code == WF_EXIT_DENIED) {
			jv_free(next);
			jv_free(jump);
			jv_free(step);
			rc = declined(d, id, ev, res);
			free(id);
			return rc;
		}
		if (!jv_is_valid(next)) {
			/* The step failed: the cursor stays on it, so a resume runs it again. */
			jv_free(next);
			jv_free(jump);
			ev = jv_object_set(ev, jv_string("cursor"), jv_string(id));
			jv_free(res);
			if (journal(d, ev, 1)) {
				jv_free(step);
				free(id);
				return WF_EXIT_IO;
			}
			jv_free(step);
			if (code == WF_EXIT_LIMIT)
				progress(d, "%s: step '%s' timed out; raise its 'timeout:' and 'wf resume %s --accept-changes', or run it again with 'wf resume %s'\n",
					 d->run->name, id, d->run->name, d->run->name);
			else
				progress(d, "%s: failed at step '%s'; fix the cause, then 'wf resume %s'\n",
					 d->run->name, id, d->run->name);
			jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
			free(id);
			return stop_run(d, "run-end", "failed", code == WF_EXIT_FAIL ? "step failed" :
					code == WF_EXIT_LIMIT ? "step timed out" : "bad condition", extra, code);
		}
		if (jv_get_kind(jump) != JV_KIND_NULL)
			ev = jv_object_set(ev, jv_string("jump"), jump);
		else
			jv_free(jump);
		ev = jv_object_set(ev, jv_string("cursor"), next);
		jv_free(step);
		if (journal(d, ev, 1)) {
			jv_free(res);
			free(id);
			return WF_EXIT_IO;
		}
		if (wf_jv_str(res, "output_error")) {
			/* Done and journaled, output included: the run stops, and a resume goes on after it. */
			wf_warn("run '%s': step '%s' ran, but %s; the run stops here (its output is in the journal); fix the cause, then 'wf resume %s' goes on after it",
				d->run->name, id, wf_jv_str(res, "output_error"), d->run->name);
			jv_free(res);
			jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
			free(id);
			return stop_run(d, "run-end", "failed", "step output not saved", extra, WF_EXIT_IO);
		}
		jv_free(res);
		free(id);
	}
}

/* ---- preflight ---- */

/* Run ARGV quietly (stdout discarded, stderr shown); its exit code, or -1 if it could not start. */
static int
quiet_run(char *const argv[], const char *cwd)
{
	struct wf_buf sink = {0};
	struct wf_io_opts io = { .sink = wf_sink_to_buf, .ctx = &sink };
	struct wf_child c;
	int status = 0;

	if (wf_spawn(argv, NULL, cwd, WF_SPAWN_OUT | WF_SPAWN_NULL_IN, NULL, &c) < 0)
		return -1;
	wf_communicate(&c, NULL, 0, &io, &status);
	wf_buf_free(&sink);
	return wf_exit_code(status);
}

/*
 * Before any step runs: can every model the workflow names be called (it
 * resolves, its endpoint is allowed, its key is there), and do git and PR
 * steps have a repository and a token?  Every missing prerequisite is
 * named at once; returns 0 or the exit status of the first kind found.
 */
static int
preflight(struct driver *d)
{
	jv names = jv_object();
	int rc = 0, git = 0, forge = 0, problems = 0;
	const char *m = wf_jv_str(d->wf, "model");
	char *model_exe = NULL;

	if (m && !strchr(m, '$'))
		names = jv_object_set(names, jv_string(m), jv_true());
	jv_array_foreach(d->steps, i, s) {
		const char *a = wf_jv_str(s, "action"), *sm = wf_jv_str(s, "model");

		(void)i;
		if (sm && !strchr(sm, '$') && strcmp(sm, "original"))
			names = jv_object_set(names, jv_string(sm), jv_true());
		if (a && (step_needs_model(s) || !strcmp(a, "switch-model")) && !m && !sm)
			names = jv_object_set(names, jv_string("default"), jv_true());
		if (a && (!strcmp(a, "commit-push") || !strcmp(a, "sync") || !strcmp(a, "make-changes")))
			git = 1;
		if (a && (!strcmp(a, "create-pr") || !strcmp(a, "review-pr") || !strcmp(a, "self-review") ||
			  !strcmp(a, "merge-pr")))
			git = forge = 1;
		jv_free(s);
	}
	if (jv_object_length(jv_copy(names)) > 0) {
		char *slash = strrchr(d->step_exe, '/');

		model_exe = slash ? wf_xasprintf("%.*s/wf-model", (int)(slash - d->step_exe), d->step_exe) :
				    wf_xstrdup("wf-model");
	}
	jv_object_foreach(names, k, v) {
		const char *name = jv_string_value(k);
		char *argv[] = { model_exe, (char *)"resolve", (char *)"--check", (char *)name, NULL };
		int code;

		/* "default" stands for "whatever the configuration's default is". */
		if (!strcmp(name, "default")) {
			argv[3] = (char *)"original";
		}
		code = quiet_run(argv, NULL);
		if (code) {
			problems++;
			if (!rc)
				rc = code < 0 ? WF_EXIT_UNAVAILABLE : code;
		}
		jv_free(k);
		jv_free(v);
	}
	jv_free(names);
	free(model_exe);
	if (git) {
		char *argv[] = { (char *)"git", (char *)"rev-parse", (char *)"--is-inside-work-tree", NULL };
		int code = quiet_run(argv, wf_jv_str(d->run ? d->run->state : jv_null(), "cwd"));

		if (code < 0 || code == 127) {
			wf_warn("this workflow has git steps, but git is not installed");
			problems++;
			if (!rc)
				rc = WF_EXIT_UNAVAILABLE;
		} else if (code) {
			wf_warn("this workflow has git steps, but the current directory is not in a git repository");
			problems++;
			if (!rc)
				rc = WF_EXIT_DATA;
		}
	}
	if (forge && !(getenv("GH_TOKEN") && *getenv("GH_TOKEN")) &&
	    !(getenv("GITHUB_TOKEN") && *getenv("GITHUB_TOKEN"))) {
		wf_warn("this workflow has pull-request steps, but neither GH_TOKEN nor GITHUB_TOKEN is set");
		problems++;
		if (!rc)
			rc = WF_EXIT_CONFIG;
	}
	if (problems)
		wf_warn("%d prerequisite%s missing; no step was run", problems, problems == 1 ? " is" : "s are");
	return rc;
}

/* ---- starting and resuming ---- */

/*
 * The question STEP (borrowed) asks before it can run, as a pending
 * object: an interactive step's question, or consent for a sensitive
 * step (none with --yes); null when it asks none.
 */
static jv
question_of(struct driver *d, jv step)
{
	const char *a = wf_jv_str(step, "action"), *id = wf_jv_str(step, "id");
	jv q = jv_object();

	if (!a || !id || (strcmp(a, "interactive") && (!wf_action_sensitive(a) || d->o->yes))) {
		jv_free(q);
		return jv_null();
	}
	q = jv_object_set(q, jv_string("step"), jv_string(id));
	if (strcmp(a, "interactive"))
		return jv_object_set(q, jv_string("kind"), jv_string("consent"));
	q = jv_object_set(q, jv_string("kind"), jv_string("question"));
	q = jv_object_set(q, jv_string("type"), wf_jv_get(step, "kind"));
	return jv_object_set(q, jv_string("options"), wf_jv_get(step, "options"));
}

/*
 * Check ANSWER against PENDING (borrowed) and keep it for its step:
 * 0, or 65 after a message (nothing has changed).
 */
static int
take_answer(struct driver *d, jv pending, const char *run, const char *answer)
{
	jv value;
	char err[512];

	if (wf_answer_check(pending, answer, &value, err, sizeof err) < 0) {
		wf_warn("run '%s', step '%s': %s; nothing was changed", run, wf_jv_str(pending, "step"), err);
		return WF_EXIT_DATA;
	}
	d->answer_step = wf_xstrdup(wf_jv_str(pending, "step"));
	if (!strcmp(wf_jv_str(pending, "kind"), "consent")) {
		d->consent_answer = wf_xstrdup(jv_string_value(value));
		jv_free(value);
	} else {
		d->answer = value;
	}
	return 0;
}

/* Journal the answer taken with --answer, if any: 0 or 74. */
static int
journal_answer(struct driver *d)
{
	jv a;

	if (!d->answer_step)
		return 0;
	a = jv_object_set(jv_object(), jv_string("event"), jv_string("answer"));
	a = jv_object_set(a, jv_string("step"), jv_string(d->answer_step));
	a = jv_object_set(a, jv_string("value"), d->consent_answer ? jv_string(d->consent_answer) : jv_copy(d->answer));
	a = jv_object_set(a, jv_string("by"), jv_string("--answer"));
	return journal(d, a, 1);
}

/*
 * wf run --answer: the answer is for the run's first question, the first
 * step from START in file order that asks one; checked before anything
 * runs.  0, or 2 (no step asks) or 65 after a message.
 */
static int
answer_first_question(struct driver *d, int start)
{
	for (int i = start; i < d->nsteps; i++) {
		jv step = step_at(d, i), q = question_of(d, step);
		int rc;

		jv_free(step);
		if (jv_get_kind(q) == JV_KIND_OBJECT) {
			rc = take_answer(d, q, wf_jv_str(d->wf, "name"), d->o->answer);
			jv_free(q);
			return rc;
		}
		jv_free(q);
	}
	wf_warn("workflow '%s' has no step that asks a question%s; --answer has nothing to answer",
		wf_jv_str(d->wf, "name"), d->o->yes ? " (--yes gives every consent)" : "");
	return WF_EXIT_USAGE;
}

static char *
find_step_exe(void)
{
	return wf_sibling_exe("wf-step");
}

/* Load the workflow named by o->target; 0 or an exit code after messages. */
static int
load_workflow(struct wf_run_opts *o, jv *wf)
{
	struct wf_diag diag = {0};
	char err[1024];
	int code = 0;
	char *path;

	if (!strcmp(o->target, "-")) {
		/* wf-parse output on stdin. */
		*wf = wf_json_read_fd(0, (size_t)64 << 20, err, sizeof err);
		if (!jv_is_valid(*wf)) {
			wf_warn("standard input: %s", err);
			return WF_EXIT_DATA;
		}
		/* Something else altogether gets a hint; a workflow with a fault, the fault. */
		if (jv_get_kind(*wf) != JV_KIND_OBJECT ||
		    (!jv_object_has(jv_copy(*wf), jv_string("steps")) && !jv_object_has(jv_copy(*wf), jv_string("hash")))) {
			wf_warn("standard input: not a canonical workflow (use 'wf-parse FILE | wf-run -')");
			return WF_EXIT_DATA;
		}
		/* The schema wf-parse checks YAML with, on the JSON: nothing runs when it fails. */
		if (wf_workflow_check_json(*wf, err, sizeof err)) {
			wf_warn("%s", err);
			return WF_EXIT_DATA;
		}
		return 0;
	}
	path = wf_workflow_find(o->target, &code, err, sizeof err);
	if (!path) {
		wf_warn("%s", err);
		return code;
	}
	*wf = wf_workflow_load(path, &diag, &code);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	free(path);
	return code;
}

static jv
merged_vars(jv wf, jv overrides)
{
	jv vars = wf_jv_get(wf, "variables");

	if (jv_get_kind(vars) != JV_KIND_OBJECT) {
		jv_free(vars);
		vars = jv_object();
	}
	if (jv_get_kind(overrides) == JV_KIND_OBJECT)
		jv_object_foreach(overrides, k, v)
			vars = jv_object_set(vars, k, v);
	return vars;
}

static void
setup_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int
open_driver(struct driver *d, struct wf_run_opts *o)
{
	memset(d, 0, sizeof *d);
	d->wf = jv_null();
	d->steps = jv_null();
	d->index = jv_object();
	d->patterns = jv_array();
	d->o = o;
	d->t0 = wf_now_ms();
	d->tty = isatty(2);
	d->color = d->tty && !getenv("NO_COLOR") && !o->json;
	d->step_exe = find_step_exe();
	d->server.pid = -1;
	d->server.in = d->server.out = -1;
	d->groups = jv_array();
	d->tty_in = !o->json && wf_tty_usable();
	d->answer = jv_invalid();
	{
		struct wf_diag diag = {0};

		jv_free(d->patterns);
		d->patterns = wf_auto_approve_patterns(&diag);
		if (!jv_is_valid(d->patterns)) {
			wf_diag_print(&diag);
			wf_diag_free(&diag);
			return WF_EXIT_CONFIG;
		}
		wf_diag_free(&diag);
	}
	umask(077);
	setup_signals();
	return 0;
}

static void
close_driver(struct driver *d)
{
	server_stop(d);
	jv_free(d->groups);
	jv_free(d->patterns);
	jv_free(d->answer);
	free(d->answer_step);
	free(d->consent_answer);
	if (d->run)
		wf_run_close(d->run);
	jv_free(d->wf);
	jv_free(d->steps);
	jv_free(d->index);
	free(d->step_exe);
}

static int
open_locked(struct driver *d, const char *name, int create)
{
	int rc = wf_run_open(name, (create ? WF_RUN_CREATE : 0) | WF_RUN_LOCK | WF_RUN_WRITE,
			     &d->run, d->err, sizeof d->err);

	if (rc)
		wf_warn("%s", d->err);
	return rc;
}

static void
use_workflow(struct driver *d, jv wf)
{
	d->wf = wf;
	d->steps = wf_jv_get(wf, "steps");
	d->nsteps = jv_array_length(jv_copy(d->steps));
	jv_free(d->index);
	d->index = jv_object();
	jv_array_foreach(d->steps, i, s) {
		const char *sid = wf_jv_str(s, "id");

		if (sid && !jv_object_has(jv_copy(d->index), jv_string(sid)))
			d->index = jv_object_set(d->index, jv_string(sid), jv_number(i));
		jv_free(s);
	}
	d->max_steps = d->o->max_steps > 0 ? d->o->max_steps : (long)wf_jv_num(wf, "max-steps", WF_DEFAULT_MAX_STEPS);
}

/*
 * Are process groups the step in flight (INFLIGHT, borrowed) started still
 * running?  Then a resume must not start it beside them: 75 after naming
 * the first, or, with --kill-stale, stop them all and go on (0).
 */
static int
stale_groups(struct driver *d, jv inflight, struct wf_run_opts *o)
{
	jv groups = wf_jv_get(inflight, "groups");
	const char *sid = wf_jv_str(inflight, "step");
	int rc = 0;

	if (jv_get_kind(groups) == JV_KIND_ARRAY)
		jv_array_foreach(groups, i, g) {
			pid_t pgid = (pid_t)wf_jv_num(g, "pgid", 0);

			(void)i;
			if (!rc && wf_pgroup_alive(pgid, (unsigned long long)wf_jv_num(g, "start", 0), wf_jv_str(g, "boot"))) {
				if (!o->kill_stale) {
					wf_warn("run '%s': step '%s' is still running as process group %d; stop it with 'kill -TERM -- -%d' or 'wf %s %s%s --kill-stale'",
						d->run->name, sid ? sid : "?", (int)pgid, (int)pgid,
						o->restart ? "run" : "resume", o->restart ? o->target : d->run->name,
						o->restart ? " --restart" : "");
					rc = WF_EXIT_BUSY;
				} else if (wf_pgroup_stop(pgid, 2) < 0) {
					wf_warn("run '%s': step '%s': process group %d did not stop, even after SIGKILL",
						d->run->name, sid ? sid : "?", (int)pgid);
					rc = WF_EXIT_BUSY;
				} else {
					wf_warn("run '%s': stopped process group %d, left running by step '%s'",
						d->run->name, (int)pgid, sid ? sid : "?");
				}
			}
			jv_free(g);
		}
	jv_free(groups);
	return rc;
}

int
wf_run_start(struct wf_run_opts *o)
{
	struct driver d;
	jv wf = jv_invalid(), ev;
	int rc;
	char cwd[PATH_MAX];
	const char *status;

	if ((rc = open_driver(&d, o))) {
		close_driver(&d);
		return rc;
	}
	rc = load_workflow(o, &wf);
	if (rc) {
		jv_free(wf);
		close_driver(&d);
		return rc;
	}
	jv_free(d.wf);
	jv_free(d.steps);
	use_workflow(&d, wf);
	if (o->start_step && wf_workflow_step_index(wf, o->start_step) < 0) {
		wf_warn("workflow '%s' has no step '%s'", wf_jv_str(wf, "name"), o->start_step);
		close_driver(&d);
		return WF_EXIT_USAGE;
	}
	if (o->estimate) {
		rc = wf_run_estimate(wf);
		close_driver(&d);
		return rc;
	}
	if (o->dry_run) {
		rc = wf_run_dry(wf, o);
		close_driver(&d);
		return rc;
	}
	if (o->answer && (rc = answer_first_question(&d, o->start_step ? wf_workflow_step_index(wf, o->start_step) : 0))) {
		close_driver(&d);
		return rc;
	}
	if ((rc = preflight(&d))) {
		close_driver(&d);
		return rc;
	}
	if ((rc = open_locked(&d, wf_jv_str(wf, "name"), 1))) {
		close_driver(&d);
		return rc;
	}
	status = wf_jv_str(d.run->state, "status");
	if (status && o->restart) {
		/* Starting over does not start a step beside an old copy still running. */
		jv inflight = wf_jv_get(d.run->state, "inflight");

		rc = jv_get_kind(inflight) == JV_KIND_OBJECT ? stale_groups(&d, inflight, o) : 0;
		jv_free(inflight);
		if (rc) {
			close_driver(&d);
			return rc;
		}
	}
	if (status && strcmp(status, "completed") && !o->restart) {
		const char *at = wf_jv_str(d.run->state, "cursor"), *why = wf_jv_str(d.run->state, "reason");
		char *hint = wf_run_resume_hint(d.run->state, d.run->name);

		/* The hint names what makes progress from where it stopped, never a resume that stops again. */
		if (!hint)
			hint = wf_xasprintf("it waits for an answer (see 'wf status %s')", d.run->name);
		wf_warn("run '%s' is %s%s%s%s%s%s; %s, or start over with 'wf run %s --restart'",
			d.run->name, !strcmp(status, "running") ? "interrupted" : status, at ? " at step " : "",
			at ? at : "", why ? " (" : "", why ? why : "", why ? ")" : "", hint, d.run->name);
		free(hint);
		close_driver(&d);
		return WF_EXIT_USAGE;
	}
	if (status && (rc = wf_run_reset(d.run, d.err, sizeof d.err))) {
		wf_warn("%s", d.err);
		close_driver(&d);
		return rc;
	}
	{
		char *txt = wf_json_dump(wf);

		rc = wf_run_write_file(d.run, "workflow.json", txt, strlen(txt), d.err, sizeof d.err);
		free(txt);
		if (!rc && mkdirat(d.run->dirfd, "steps", 0700) < 0 && errno != EEXIST) {
			snprintf(d.err, sizeof d.err, "cannot create '%s/steps': %s", d.run->dir, strerror(errno));
			rc = WF_EXIT_IO;
		}
		if (rc) {
			wf_warn("%s", d.err);
			close_driver(&d);
			return rc;
		}
	}
	/* A pause asked for during an earlier run's last step is not for this one. */
	unlinkat(d.run->dirfd, "pause-request", 0);
	if (!getcwd(cwd, sizeof cwd))
		snprintf(cwd, sizeof cwd, ".");
	ev = jv_object_set(jv_object(), jv_string("event"), jv_string("run-start"));
	ev = jv_object_set(ev, jv_string("name"), jv_string(d.run->name));
	ev = jv_object_set(ev, jv_string("workflow"), wf_jv_get(wf, "source"));
	ev = jv_object_set(ev, jv_string("hash"), wf_jv_get(wf, "hash"));
	ev = jv_object_set(ev, jv_string("cwd"), jv_string(cwd));
	{
		jv first = step_at(&d, 0);

		ev = jv_object_set(ev, jv_string("cursor"),
				   o->start_step ? jv_string(o->start_step) : wf_jv_get(first, "id"));
		jv_free(first);
	}
	ev = jv_object_set(ev, jv_string("vars"), merged_vars(wf, o->vars));
	ev = jv_object_set(ev, jv_string("model"), wf_jv_get(wf, "model"));
	ev = jv_object_set(ev, jv_string("original_model"), wf_jv_get(wf, "model"));
	ev = jv_object_set(ev, jv_string("pid"), jv_number(getpid()));
	if ((rc = journal(&d, ev, 1)) || (rc = journal_answer(&d))) {
		close_driver(&d);
		return rc;
	}
	rc = drive(&d);
	close_driver(&d);
	return rc;
}

int
wf_run_resume(struct wf_run_opts *o)
{
	struct driver d;
	jv wf, ev, inflight;
	const char *status;
	int rc;

	if ((rc = open_driver(&d, o))) {
		close_driver(&d);
		return rc;
	}
	if (!wf_name_valid(o->target)) {
		wf_warn("invalid run name '%.80s'", o->target);
		close_driver(&d);
		return WF_EXIT_DATA;
	}
	if ((rc = open_locked(&d, o->target, 0))) {
		close_driver(&d);
		return rc;
	}
	status = wf_jv_str(d.run->state, "status");
	if (!status) {
		wf_warn("run '%s' has no state yet; start it with 'wf run %s'", o->target, o->target);
		close_driver(&d);
		return WF_EXIT_NOINPUT;
	}
	if (!strcmp(status, "completed")) {
		wf_warn("run '%s' already completed; nothing to resume (start again with 'wf run %s')",
			o->target, o->target);
		close_driver(&d);
		return 0;
	}
	/* The definition the run started from, unless the user accepts the new one. */
	{
		struct wf_buf b = {0};
		int fd = openat(d.run->dirfd, "workflow.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		char err[256];

		wf = jv_invalid();
		if (fd >= 0 && wf_read_fd(fd, (size_t)64 << 20, &b) == 0)
			wf = wf_json_parse(b.s, b.len, err, sizeof err);
		if (fd >= 0)
			close(fd);
		wf_buf_free(&b);
		if (!jv_is_valid(wf)) {
			wf_warn("%s/workflow.json is missing or damaged; start over with 'wf run %s --restart'",
				d.run->dir, o->target);
			jv_free(wf);
			close_driver(&d);
			return WF_EXIT_IO;
		}
	}
	{
		const char *src = wf_jv_str(wf, "source");
		struct wf_diag diag = {0};
		int code = 0;
		jv now = src && strcmp(src, "-") && access(src, R_OK) == 0 ? wf_workflow_load(src, &diag, &code) : jv_invalid();

		if (jv_is_valid(now) && strcmp(wf_jv_str(now, "hash"), wf_jv_str(wf, "hash"))) {
			if (!o->accept_changes) {
				wf_warn("workflow '%s' changed since the run started (%.19s... -> %.19s...); resume with --accept-changes to use the new definition, or start over with 'wf run %s --restart'",
					src, wf_jv_str(wf, "hash"), wf_jv_str(now, "hash"), o->target);
				jv_free(now);
				jv_free(wf);
				wf_diag_free(&diag);
				close_driver(&d);
				return WF_EXIT_DATA;
			}
			char *txt = wf_json_dump(now);
			rc = wf_run_write_file(d.run, "workflow.json", txt, strlen(txt), d.err, sizeof d.err);
			free(txt);
			jv_free(wf);
			wf = now;
			if (rc) {
				wf_warn("%s", d.err);
				wf_diag_free(&diag);
				close_driver(&d);
				return rc;
			}
		} else {
			if (!jv_is_valid(now) && diag.n && o->accept_changes) {
				wf_diag_print(&diag);
				wf_diag_free(&diag);
				jv_free(wf);
				jv_free(now);
				close_driver(&d);
				return code ? code : WF_EXIT_DATA;
			}
			jv_free(now);
		}
		wf_diag_free(&diag);
	}
	jv_free(d.wf);
	jv_free(d.steps);
	use_workflow(&d, wf);
	/* The question of a step in doubt: --answer rerun|skip says what --rerun|--skip say. */
	if (o->answer && !o->rerun && !o->skip && (!strcmp(o->answer, "rerun") || !strcmp(o->answer, "skip"))) {
		jv pending = wf_jv_get(d.run->state, "pending");
		const char *kind = wf_jv_str(pending, "kind");

		if (kind && !strcmp(kind, "in-doubt")) {
			o->rerun = !strcmp(o->answer, "rerun");
			o->skip = !o->rerun;
			o->answer = NULL;
		}
		jv_free(pending);
	}
	/* An answer must fit the question that is pending, or nothing changes. */
	if (o->answer) {
		jv pending = wf_jv_get(d.run->state, "pending");
		const char *kind = wf_jv_str(pending, "kind");

		if (jv_get_kind(pending) != JV_KIND_OBJECT) {
			/* Stopped before it could ask (killed while asking): the question of the step it goes on with. */
			jv doing = wf_jv_get(d.run->state, "inflight");
			const char *sid = wf_jv_str(doing, "step") ? wf_jv_str(doing, "step") :
					  wf_jv_str(d.run->state, "cursor");
			int idx = sid ? wf_workflow_step_index(wf, sid) : -1;
			jv step = idx >= 0 ? step_at(&d, idx) : jv_null();

			jv_free(pending);
			pending = question_of(&d, step);
			kind = wf_jv_str(pending, "kind");
			jv_free(step);
			jv_free(doing);
		}
		if (jv_get_kind(pending) != JV_KIND_OBJECT || !kind || !strcmp(kind, "in-doubt")) {
			wf_warn("run '%s' has no question pending; nothing was changed%s", o->target,
				kind ? " (for a step in doubt answer rerun or skip)" : "");
			jv_free(pending);
			close_driver(&d);
			return WF_EXIT_USAGE;
		}
		if ((rc = take_answer(&d, pending, o->target, o->answer))) {
			jv_free(pending);
			close_driver(&d);
			return rc;
		}
		jv_free(pending);
	}
	ev = jv_object_set(jv_object(), jv_string("event"), jv_string("resume"));
	ev = jv_object_set(ev, jv_string("vars"), jv_get_kind(o->vars) == JV_KIND_OBJECT ? jv_copy(o->vars) : jv_object());
	ev = jv_object_set(ev, jv_string("pid"), jv_number(getpid()));
	ev = jv_object_set(ev, jv_string("hash"), wf_jv_get(wf, "hash"));
	ev = jv_object_set(ev, jv_string("from"), jv_string(status));
	inflight = wf_jv_get(d.run->state, "inflight");
	if (jv_get_kind(inflight) == JV_KIND_OBJECT) {
		const char *sid = wf_jv_str(inflight, "step");
		int idx = sid ? wf_workflow_step_index(wf, sid) : -1;
		jv step = idx >= 0 ? step_at(&d, idx) : jv_null();

		ev = jv_object_set(ev, jv_string("interrupted_step"), wf_jv_get(inflight, "step"));
		/* Never a second copy beside one still running. */
		if ((rc = stale_groups(&d, inflight, o))) {
			jv_free(step);
			jv_free(inflight);
			jv_free(ev);
			close_driver(&d);
			return rc;
		}
		if (idx >= 0 && !wf_step_repeatable(step) && !o->rerun && !o->skip) {
			jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(sid));

			extra = jv_object_set(extra, jv_string("inflight"), jv_copy(inflight));
			extra = jv_object_set(extra, jv_string("pending"),
				jv_object_set(jv_object_set(jv_object(), jv_string("kind"), jv_string("in-doubt")),
					      jv_string("step"), jv_string(sid)));
			wf_warn("step '%s' was in progress when the run stopped and is marked idempotent: false; run it again with 'wf resume %s --rerun' or skip it with 'wf resume %s --skip'",
				sid, o->target, o->target);
			jv_free(step);
			jv_free(inflight);
			jv_free(ev);
			rc = stop_run(&d, "pause", "waiting", "step in doubt", extra, WF_EXIT_WAIT);
			close_driver(&d);
			return rc;
		}
		if (idx >= 0 && o->skip) {
			ev = jv_object_set(ev, jv_string("cursor"), wf_jv_get(step, "next"));
			ev = jv_object_set(ev, jv_string("skipped"), jv_string(sid));
		} else if (idx >= 0 && !o->rerun) {
			wf_warn("run '%s': step '%s' was in flight when the run stopped; running it again (at least once: %s)",
				o->target, sid, wf_action_repeat_why(wf_jv_str(step, "action")));
			ev = jv_object_set(ev, jv_string("rerun"), jv_string(sid));
		}
		jv_free(step);
	} else {
		const char *why = wf_jv_str(d.run->state, "reason");
		int in_doubt = why && !strcmp(why, "step in doubt");

		if (in_doubt && !o->skip && !o->rerun) {
			wf_warn("step '%s' of run '%s' is in doubt: it may or may not have run; run it again with 'wf resume %s --rerun' or skip it with 'wf resume %s --skip'",
				wf_jv_str(d.run->state, "cursor"), o->target, o->target, o->target);
			jv_free(inflight);
			jv_free(ev);
			close_driver(&d);
			return WF_EXIT_WAIT;
		}
		if ((o->skip || o->rerun) && !in_doubt) {
			wf_warn("no step of run '%s' is in doubt; --rerun and --skip answer that question only",
				o->target);
			jv_free(inflight);
			jv_free(ev);
			close_driver(&d);
			return WF_EXIT_USAGE;
		}
	}
	if (o->skip && jv_get_kind(inflight) != JV_KIND_OBJECT) {
		const char *sid = wf_jv_str(d.run->state, "cursor");
		int idx = sid ? wf_workflow_step_index(wf, sid) : -1;

		if (idx >= 0) {
			jv step = step_at(&d, idx);
			ev = jv_object_set(ev, jv_string("cursor"), wf_jv_get(step, "next"));
			ev = jv_object_set(ev, jv_string("skipped"), jv_string(sid));
			jv_free(step);
		}
	}
	jv_free(inflight);
	if ((rc = journal(&d, ev, 1)) || (rc = journal_answer(&d))) {
		close_driver(&d);
		return rc;
	}
	progress(&d, "%s: resuming at step '%s'\n", d.run->name,
		 wf_jv_str(d.run->state, "cursor") ? wf_jv_str(d.run->state, "cursor") : "(end)");
	rc = drive(&d);
	close_driver(&d);
	return rc;
}

int
wf_run_dry(jv wf, struct wf_run_opts *o)
{
	jv steps = wf_jv_get(wf, "steps");
	int n = jv_array_length(jv_copy(steps));
	jv ctx = jv_object_set(jv_object(), jv_string("vars"), merged_vars(wf, o->vars));
	int i = o->start_step ? wf_workflow_step_index(wf, o->start_step) : 0;
	static const char *const texts[] = { "command", "prompt", "message", "model", "title", "body",
					     "from", "value", "condition", "to", NULL };
	static const char *const jumps[] = { "on-true", "on-false", "on-approved", "on-rejected",
					     "on-complete", "on-error", NULL };

	printf("%s: dry run, nothing is executed (%d steps)\n", wf_jv_str(wf, "name"), n);
	for (; i >= 0 && i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *action = wf_jv_str(s, "action");

		printf("[%d/%d] %s %s\n", i + 1, n, wf_jv_str(s, "id"), action);
		for (int k = 0; texts[k]; k++) {
			const char *t = wf_jv_str(s, texts[k]);
			char err[256];
			char *sub;

			if (!t)
				continue;
			/* Shell text is shown as written: the shell expands it, from the environment. */
			sub = !strcmp(texts[k], "command") ? wf_xstrdup(t) : wf_subst(t, ctx, 0, NULL, err, sizeof err);
			printf("      %s: %s\n", texts[k], sub ? sub : t);
			free(sub);
		}
		if (wf_jv_str(s, "check"))
			printf("      check: %s\n", wf_jv_str(s, "check"));
		for (int k = 0; jumps[k]; k++)
			if (wf_jv_str(s, jumps[k]))
				printf("      %s -> %s\n", jumps[k], wf_jv_str(s, jumps[k]));
		if (!strcmp(action, "loop"))
			printf("      loops back to %s while '%s'; its body runs at most %g times\n", wf_jv_str(s, "to"),
			       wf_jv_str(s, "condition"), wf_jv_num(s, "max-iterations", 0));
		jv_free(s);
	}
	jv_free(steps);
	jv_free(ctx);
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
}

int
wf_run_estimate(jv wf)
{
	jv steps = wf_jv_get(wf, "steps");
	double total = 0;
	int calls = 0;
	char *root = wf_state_root();
	const char *name = wf_jv_str(wf, "name");

	printf("%s: estimate before running\n", name);
	jv_array_foreach(steps, i, s) {
		const char *a = wf_jv_str(s, "action");

		(void)i;
		if (a && uses_model(a)) {
			double est = call_estimate(jv_null(), s);

			printf("  %-10s %-13s about %.0f input tokens%s\n", wf_jv_str(s, "id"), a, est,
			       strcmp(a, "ai-prompt") ? " plus the diff and files it reads" : "");
			total += est;
			calls++;
		}
		jv_free(s);
	}
	printf("  %d model call%s per pass, about %.0f input tokens before any loop repeats\n", calls,
	       calls == 1 ? "" : "s", total);
	/* Earlier runs of the same workflow, from the archive and the current run. */
	{
		char *arch = wf_xasprintf("%s/archive", root);
		struct dirent **ents = NULL;
		int n = scandir(arch, &ents, NULL, alphasort), runs = 0;
		double tok = 0, usd = 0;
		int usd_known = 1;
		size_t nl = strlen(name);

		for (int i = 0; i < n; i++) {
			if (!strncmp(ents[i]->d_name, name, nl) && ents[i]->d_name[nl] == '.') {
				char *p = wf_xasprintf("%s/%s/state.json", arch, ents[i]->d_name);
				struct wf_buf b = {0};
				char err[128];

				if (wf_read_file(p, (size_t)64 << 20, &b) == 0) {
					jv st = wf_json_parse(b.s, b.len, err, sizeof err);
					double t, u;

					if (jv_is_valid(st)) {
						usage_totals(st, &t, &u);
						tok += t;
						if (u < 0)
							usd_known = 0;
						else
							usd += u;
						runs++;
					}
					jv_free(st);
				}
				wf_buf_free(&b);
				free(p);
			}
			free(ents[i]);
		}
		free(ents);
		free(arch);
		if (runs)
			printf("  earlier runs (%d): on average %.0f tokens, %s%.4f\n", runs, tok / runs,
			       usd_known ? "$" : "cost unknown, known part $", usd / runs);
		else
			printf("  no earlier runs of '%s' to average\n", name);
	}
	free(root);
	jv_free(steps);
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
}
