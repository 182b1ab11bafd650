/*
 * logs.c: a run's step outputs, in order (wf logs): every execution of
 * a step (each pass of a loop, each retry) under a header naming the
 * step, its action, the model that answered, how it ended and when it
 * ran; and a running run followed as it goes, as tail -f does.
 *
 * Layer 2: domain data.
 *
 * The journal says which step ran when and how it ended; the run's
 * output log, steps/output.log, holds its full output (or, in older
 * runs, its files SEQ-ID.out and SEQ-ID.err; read through outlog.h),
 * SEQ-ID.answer a model's reply (SEQ the number of its step-start event),
 * and the step-end event's output stands in where there are none
 * (control steps, pull-request actions).  Everything is read
 * through the open run (r->dirfd, r->dir), never by a path from the
 * state root.  Outputs are masked when they are written; the headers
 * show no variable.  Following waits on inotify(7), never spins.
 *
 * A parallel step's branches are runs of their own (parallel.h): after
 * the step's execution come its branches, in the order of the branches,
 * each under a heading naming STEP/BRANCH and with its steps' headers so
 * named, read from the branch's run the same way.  A branch is shown at
 * the last execution of the step that started it (its last branch-start
 * in the journal), as its run holds only its last start.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "outlog.h"
#include "story.h"
#include "timeline.h"
#include "fallback.h"
#include "parallel.h"

/* How long a follower waits for a change before it checks that the run still has a process. */
#define FOLLOW_CHECK_MS 1000

/* One execution of a step: from its step-start (or a lone step-end) to its end. */
struct exec {
	long seq;		/* its step-start, which names its files; 0 when it has none */
	jv info;		/* the header: step, action, model, pass, attempt, status, exit_code, started, ... */
	jv end;			/* its step-end event, or null */
	off_t shown;		/* bytes of its stdout already printed */
	off_t log_at;		/* where its frames begin in steps/output.log (its step-start's log_at) */
	int headed;		/* its header went out while it ran */
	jv forks;		/* a parallel step's branch-start events of this execution, in order */
	jv joins;		/* their branch-end events by branch name */
};

struct logs {
	struct wf_run *r;
	const struct wf_logs_opts *o;
	jv actions;		/* step id -> its definition in workflow.json, or null without one */
	jv passes;		/* step id -> passes begun */
	int stepsfd;		/* the run's steps/, or -1 while there is none */
	int jfd;		/* history.jsonl */
	off_t jpos;		/* journal bytes read, whole lines only */
	struct exec cur;
	int open;		/* cur is in flight */
	int over;		/* the last event stopped the run (pause, run-end) */
	int bol;		/* the text written so far ends a line */
	int streaming;		/* following, past what the run had written when we began */
	long matched;		/* executions shown */
	const char *prefix;	/* "STEP/BRANCH/" ... of a branch's run; "" at the top */
	const char *branch;	/* with o->step "STEP/BRANCH[/STEP...]": BRANCH, whose rest is REST */
	const char *rest;
	jv last_start;		/* "STEP/BRANCH" -> seq of its last branch-start in the journal */
	int scanning;		/* reading the journal only for last_start */
	int rc;			/* a branch's logs could not be shown: its exit status, with why in ERR */
	char err[1024];
};

static int logs_run(struct wf_run *r, const struct wf_logs_opts *o, const char *prefix, char *err, size_t n);

/* ---- reading ---- */

/* Milliseconds since the epoch of an RFC 3339 UTC time ("2026-11-24T09:46:25.410Z"), or -1. */
static double
iso_ms(const char *t)
{
	struct tm tm = {0};
	int ms = 0;

	if (!t || sscanf(t, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
			 &tm.tm_min, &tm.tm_sec, &ms) < 6)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (double)timegm(&tm) * 1000.0 + ms;
}

/* The steps of the run's workflow.json by id (L->actions), null when it has none. */
static void
load_steps(struct logs *L)
{
	char err[256];
	jv wf = wf_run_workflow(L->r, err, sizeof err), steps;

	steps = jv_is_valid(wf) ? wf_jv_get(wf, "steps") : jv_null();
	jv_free(wf);
	L->actions = jv_null();
	if (jv_get_kind(steps) == JV_KIND_ARRAY) {
		L->actions = jv_object();
		jv_array_foreach(steps, i, s) {
			(void)i;
			if (wf_jv_str(s, "id"))
				L->actions = jv_object_set(L->actions, jv_string(wf_jv_str(s, "id")), jv_copy(s));
			jv_free(s);
		}
	}
	jv_free(steps);
}

/* Begin an execution of STEP at event EV (borrowed), whose files are named after SEQ (0: none). */
static void
begin(struct logs *L, const char *step, jv ev, long seq)
{
	jv def = jv_get_kind(L->actions) == JV_KIND_OBJECT ? wf_jv_get(L->actions, step) : jv_null();
	double pass = wf_jv_num(L->passes, step, 0) + (wf_jv_num(ev, "attempt", 1) > 1 ? 0 : 1);
	jv info = jv_object();
	const char *action = wf_jv_str(ev, "action") ? wf_jv_str(ev, "action") : wf_jv_str(def, "action");

	if (pass < 1)
		pass = 1;
	L->passes = jv_object_set(L->passes, jv_string(step), jv_number(pass));
	info = jv_object_set(info, jv_string("type"), jv_string("step"));
	info = jv_object_set(info, jv_string("run"), jv_string(L->r->name));
	info = jv_object_set(info, jv_string("seq"), jv_number((double)wf_jv_num(ev, "seq", 0)));
	info = jv_object_set(info, jv_string("step"), jv_string(step));
	info = jv_object_set(info, jv_string("action"), action ? jv_string(action) : jv_null());
	info = jv_object_set(info, jv_string("pass"), jv_number(pass));
	info = jv_object_set(info, jv_string("attempt"), jv_number(wf_jv_num(ev, "attempt", 1)));
	info = jv_object_set(info, jv_string("status"), jv_string("running"));
	info = jv_object_set(info, jv_string("started"), wf_jv_get(ev, "time"));
	if (*L->prefix)
		info = jv_object_set(info, jv_string("branch"), jv_string_sized(L->prefix, (int)strlen(L->prefix) - 1));
	L->cur = (struct exec){ .seq = seq, .info = info, .end = jv_null(), .log_at = (off_t)wf_jv_num(ev, "log_at", 0),
				.forks = jv_array(), .joins = jv_object() };
	L->open = 1;
	jv_free(def);
}

/* The execution in flight ended with STATUS at event EV (borrowed; its step-end, or what stopped it). */
static void
end_info(struct logs *L, const char *status, jv ev, int is_end)
{
	struct exec *e = &L->cur;
	double t0 = iso_ms(wf_jv_str(e->info, "started")), t1 = iso_ms(wf_jv_str(ev, "time"));
	const char *model = NULL;
	jv usage = wf_jv_get(ev, "usage"), m = wf_jv_get(ev, "model");

	e->info = jv_object_set(e->info, jv_string("status"), jv_string(status));
	if (is_end) {
		if (wf_jv_str(ev, "action"))
			e->info = jv_object_set(e->info, jv_string("action"), wf_jv_get(ev, "action"));
		model = wf_model_name_in(m) ? wf_model_name_in(m) : wf_jv_str(usage, "model");
		if (model)
			e->info = jv_object_set(e->info, jv_string("model"), jv_string(model));
		{
			jv fb = wf_jv_get(usage, "fallbacks");	/* models that stood in for others (fallback.h) */

			if (jv_get_kind(fb) == JV_KIND_ARRAY)
				e->info = jv_object_set(e->info, jv_string("fallbacks"), fb);
			else
				jv_free(fb);
		}
		if (wf_jv_num(ev, "exit_code", -1) >= 0 && strcmp(status, "skipped"))
			e->info = jv_object_set(e->info, jv_string("exit_code"), wf_jv_get(ev, "exit_code"));
		if (wf_jv_str(ev, "error"))
			e->info = jv_object_set(e->info, jv_string("error"), wf_jv_get(ev, "error"));
		if (wf_jv_bool(ev, "replayed", 0))	/* answered from a recording (wf-run --replay) */
			e->info = jv_object_set(e->info, jv_string("replayed"), jv_true());
		jv_free(e->end);
		e->end = jv_copy(ev);
	}
	if (t0 >= 0 && t1 >= t0)
		e->info = jv_object_set(e->info, jv_string("duration_ms"), jv_number(t1 - t0));
	jv_free(usage);
	jv_free(m);
}

/* ---- writing ---- */

/* Is E one the reader asked for (its step, its pass)? */
static int
wanted(struct logs *L, struct exec *e)
{
	const struct wf_logs_opts *o = L->o;

	if (L->branch || (o->step && strcmp(o->step, wf_jv_str(e->info, "step"))))
		return 0;
	return !o->pass || (long)wf_jv_num(e->info, "pass", 0) == o->pass;
}

/* End the text's last line, if it is open, before a line of ours. */
static void
end_line(struct logs *L)
{
	if (!L->o->json && !L->bol) {
		fputc('\n', L->o->out);
		L->bol = 1;
	}
}

/* A line on FP for each switch to a fallback model in step PREFIX STEP's header INFO (borrowed). */
static void
print_fallbacks(FILE *fp, const char *prefix, const char *step, jv info)
{
	jv fb = wf_jv_get(info, "fallbacks");

	if (jv_get_kind(fb) == JV_KIND_ARRAY)
		jv_array_foreach(fb, k, sw) {
			char *line = wf_fallback_line(sw);

			(void)k;
			fprintf(fp, "== %s%s: %s\n", prefix, step, line);
			free(line);
			jv_free(sw);
		}
	jv_free(fb);
}

/*
 * E's header line, or with CLOSING the line that ends an execution whose
 * header went out while it ran: in JSON both are its "step" object.
 */
static void
print_header(struct logs *L, struct exec *e, int closing)
{
	FILE *fp = L->o->out;
	jv i = e->info;
	const char *step = wf_jv_str(i, "step"), *action = wf_jv_str(i, "action"), *model = wf_jv_str(i, "model");
	double ms = iso_ms(wf_jv_str(i, "started"));
	char when[32] = "?";

	if (L->o->json) {
		wf_json_print(fp, jv_copy(i));
		return;
	}
	end_line(L);
	if (ms >= 0) {
		time_t t = (time_t)(ms / 1000);
		struct tm tm;

		strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	}
	if (closing) {
		fprintf(fp, "== %s%s: %s", L->prefix, step, wf_jv_str(i, "status"));
	} else {
		fprintf(fp, "== %s%s (%s", L->prefix, step, action ? action : "?");
		if (model)
			fprintf(fp, ", model %s", model);
		fprintf(fp, ") pass %g", wf_jv_num(i, "pass", 1));
		if (wf_jv_num(i, "attempt", 1) > 1)
			fprintf(fp, " attempt %g", wf_jv_num(i, "attempt", 1));
		fprintf(fp, ": %s", wf_jv_str(i, "status"));
	}
	if (wf_jv_bool(i, "replayed", 0))
		fprintf(fp, ", replayed");
	if (wf_jv_num(i, "exit_code", -1) >= 0)
		fprintf(fp, ", exit %g", wf_jv_num(i, "exit_code", 0));
	if (!closing)
		fprintf(fp, ", started %s", when);
	if (wf_jv_num(i, "duration_ms", -1) >= 0)
		fprintf(fp, ", %.1fs", wf_jv_num(i, "duration_ms", 0) / 1000.0);
	fputc('\n', fp);
	if (!closing)
		print_fallbacks(fp, L->prefix, step, i);
}

/* Write P[0..N), text of E's STREAM (stdout, stderr, answer, output): as it is, or as one JSON object. */
static void
emit(struct logs *L, struct exec *e, const char *stream, const char *p, size_t n)
{
	jv c;

	if (!n)
		return;
	if (!L->o->json) {
		fwrite(p, 1, n, L->o->out);
		L->bol = p[n - 1] == '\n';
		return;
	}
	c = jv_object_set(jv_object(), jv_string("type"), jv_string("output"));
	c = jv_object_set(c, jv_string("seq"), wf_jv_get(e->info, "seq"));
	c = jv_object_set(c, jv_string("step"), wf_jv_get(e->info, "step"));
	if (*L->prefix)
		c = jv_object_set(c, jv_string("branch"), wf_jv_get(e->info, "branch"));
	c = jv_object_set(c, jv_string("pass"), wf_jv_get(e->info, "pass"));
	c = jv_object_set(c, jv_string("attempt"), wf_jv_get(e->info, "attempt"));
	c = jv_object_set(c, jv_string("stream"), jv_string(stream));
	c = jv_object_set(c, jv_string("text"), jv_string_sized(p, (int)n));
	wf_json_print(L->o->out, c);
}

/* How much of P[0..N) ends on a whole UTF-8 character (the rest may be completed by what follows). */
static size_t
utf8_whole(const char *p, size_t n)
{
	for (size_t back = 1; back <= 3 && back <= n; back++) {
		unsigned char c = (unsigned char)p[n - back];

		if ((c & 0xc0) == 0x80)
			continue;
		if (c < 0xc0)
			return n;
		return (size_t)(c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2) > back ? n - back : n;
	}
	return n;
}

/*
 * Show E's output stream EXT (out, err, answer; outlog.h) from byte *AT
 * on as STREAM; *AT moves past what was shown.  MORE: it may still grow,
 * so JSON holds back a character cut in two.  0, or -1 when it has none.
 */
static int
show_file(struct logs *L, struct exec *e, const char *ext, const char *stream, off_t *at, int more)
{
	const char *step = wf_jv_str(e->info, "step");
	struct wf_buf b = {0};
	int found = 0;

	if (L->stepsfd < 0)
		L->stepsfd = openat(L->r->dirfd, "steps", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	/* A few MiB at a time, in pieces of 64 KiB as a file was read. */
	while (wf_step_output(L->stepsfd, e->seq, step, ext, e->log_at, *at, (size_t)4 << 20, &b) >= 0) {
		size_t pos = 0;

		found = 1;
		while (pos < b.len) {
			size_t k = b.len - pos < 65536 ? b.len - pos : 65536;
			size_t use = L->o->json && (more || k == 65536) ? utf8_whole(b.s + pos, k) : k;

			if (!use)
				break;
			emit(L, e, stream, b.s + pos, use);
			pos += use;
		}
		*at += (off_t)pos;
		if (!pos || pos < b.len || b.len < (size_t)4 << 20)
			break;
		b.len = 0;
	}
	wf_buf_free(&b);
	return found ? 0 : -1;
}

/* Everything E wrote after what was shown: its files, else the output its step-end carries. */
static void
show_outputs(struct logs *L, struct exec *e)
{
	off_t from = 0;
	int files = 0;

	files += show_file(L, e, "out", "stdout", &e->shown, 0) == 0;
	files += show_file(L, e, "err", "stderr", &from, 0) == 0;
	if (!files)
		files += show_file(L, e, "answer", "answer", &from, 0) == 0;
	if (!files) {
		const char *out = wf_jv_str(e->end, "output"), *err = wf_jv_str(e->end, "stderr");

		if (out)
			emit(L, e, "output", out, strlen(out));
		if (err)
			emit(L, e, "stderr", err, strlen(err));
	}
	end_line(L);
}

/* ---- a parallel step's branches ---- */

/* How branch NAME of E ended, for its heading: the step-end's word for it (ok, failed, ...), its branch-end's (JOIN, borrowed), or NULL. */
static const char *
branch_status(struct exec *e, const char *name, jv join)
{
	jv list = wf_jv_get(e->end, "branches");
	const char *status = wf_jv_str(join, "status");

	if (jv_get_kind(list) == JV_KIND_ARRAY)
		jv_array_foreach(list, k, b) {
			(void)k;
			if (wf_jv_str(b, "name") && !strcmp(wf_jv_str(b, "name"), name) && wf_jv_str(b, "status"))
				status = wf_jv_str(b, "status");	/* still held by e->end */
			jv_free(b);
		}
	jv_free(list);
	/* A branch-end holds its run's status: a run that completed is a branch that is ok. */
	return status && !strcmp(status, "completed") ? "ok" : status;
}

/* The heading of branch NAME of step STEP, started at FORK and ended at JOIN (both borrowed, JOIN null while it runs), with STATUS. */
static void
branch_heading(struct logs *L, const char *step, const char *name, jv fork, jv join, const char *status)
{
	FILE *fp = L->o->out;
	double t0 = iso_ms(wf_jv_str(fork, "time")), t1 = iso_ms(wf_jv_str(join, "time"));

	if (L->o->json) {
		char *path = wf_xasprintf("%s%s/%s", L->prefix, step, name);
		jv h = jv_object_set(jv_object(), jv_string("type"), jv_string("branch"));

		h = jv_object_set(h, jv_string("run"), jv_string(L->r->name));
		h = jv_object_set(h, jv_string("branch"), jv_string(path));
		h = jv_object_set(h, jv_string("status"), jv_string(status));
		if (wf_jv_num(join, "exit_code", -1) >= 0)
			h = jv_object_set(h, jv_string("exit_code"), wf_jv_get(join, "exit_code"));
		h = jv_object_set(h, jv_string("started"), wf_jv_get(fork, "time"));
		if (t0 >= 0 && t1 >= t0)
			h = jv_object_set(h, jv_string("duration_ms"), jv_number(t1 - t0));
		wf_json_print(fp, h);
		free(path);
		return;
	}
	end_line(L);
	fprintf(fp, "== %s%s/%s (branch): %s", L->prefix, step, name, status);
	if (wf_jv_num(join, "exit_code", -1) >= 0)
		fprintf(fp, ", exit %g", wf_jv_num(join, "exit_code", 0));
	if (t0 >= 0 && t1 >= t0)
		fprintf(fp, ", %.1fs", (t1 - t0) / 1000.0);
	fputc('\n', fp);
}

/* Branch NAME of step STEP, started by FORK (borrowed): its heading, then its run's executions. */
static void
show_branch(struct logs *L, struct exec *e, const char *step, const char *name, jv fork)
{
	jv join = wf_jv_get(e->joins, name);
	const char *status = branch_status(e, name, join);
	struct wf_logs_opts sub = *L->o;
	struct wf_run *br;
	char *prefix, err[1024];
	int rc;

	if (!status)
		status = strcmp(wf_jv_str(e->info, "status"), "running") ? "interrupted" : "running";
	branch_heading(L, step, name, fork, join, status);
	jv_free(join);
	if (L->branch)
		L->matched++;
	sub.step = L->rest;
	sub.follow = 0;		/* the branch has ended, or stopped with the step: what its run holds is all */
	if (!L->rest)
		sub.pass = 0;
	rc = wf_run_open_branch(L->r, step, name, 0, &br, err, sizeof err);
	if (rc == 0) {
		prefix = wf_xasprintf("%s%s/%s/", L->prefix, step, name);
		fflush(sub.out);
		rc = logs_run(br, &sub, prefix, err, sizeof err);
		free(prefix);
		wf_run_close(br);
	}
	if (rc && !L->rc) {
		L->rc = rc;
		snprintf(L->err, sizeof L->err, "%s", err);
	}
}

/* The branches E started, each at the last execution of its step that started it, in the order of the branches. */
static void
show_branches(struct logs *L, struct exec *e)
{
	const char *step = wf_jv_str(e->info, "step");

	if (!jv_array_length(jv_copy(e->forks)) || (L->o->step && strcmp(L->o->step, step)))
		return;
	jv_array_foreach(e->forks, k, fork) {
		const char *name = wf_jv_str(fork, "branch");
		char *key = wf_xasprintf("%s/%s", step, name);

		(void)k;
		if ((!L->branch || !strcmp(L->branch, name)) &&
		    wf_jv_num(fork, "seq", 0) >= wf_jv_num(L->last_start, key, 0))
			show_branch(L, e, step, name, fork);
		free(key);
		jv_free(fork);
	}
}

/* The execution in flight is over: show it (when wanted) and let it go. */
static void
finish(struct logs *L)
{
	struct exec *e = &L->cur;
	const char *status = wf_jv_str(e->info, "status"), *error = wf_jv_str(e->info, "error");

	L->open = 0;
	if (wanted(L, e)) {
		L->matched++;
		if (!e->headed)
			print_header(L, e, 0);
		show_outputs(L, e);
		if (!L->o->json && error && !strcmp(status, "failed"))
			fprintf(L->o->out, "error: %s\n", error);
		if (e->headed)
			print_header(L, e, 1);
	}
	show_branches(L, e);
	jv_free(e->info);
	jv_free(e->end);
	jv_free(e->forks);
	jv_free(e->joins);
	e->info = e->end = e->forks = e->joins = jv_null();
}

/* Show what the execution in flight wrote so far: its header once, then its standard output as it grows. */
static void
show_in_flight(struct logs *L)
{
	struct exec *e = &L->cur;

	if (!L->open || !wanted(L, e))
		return;
	if (!e->headed) {
		print_header(L, e, 0);
		e->headed = 1;
	}
	(void)show_file(L, e, "out", "stdout", &e->shown, 1);
}

/* ---- the journal ---- */

/* Journal event EV (borrowed): an execution begins or ends, or the run stops or goes on. */
static void
on_event(struct logs *L, jv ev)
{
	const char *what = wf_jv_str(ev, "event"), *step = wf_jv_str(ev, "step"), *st = wf_jv_str(ev, "status");
	const char *cur = L->open ? wf_jv_str(L->cur.info, "step") : NULL;

	if (!what)
		return;
	if (!strcmp(what, "branch-start") && step && wf_jv_str(ev, "branch")) {
		char *key = wf_xasprintf("%s/%s", step, wf_jv_str(ev, "branch"));

		L->last_start = jv_object_set(L->last_start, jv_string(key), jv_number(wf_jv_num(ev, "seq", 0)));
		free(key);
		if (!L->scanning && L->open && !strcmp(cur, step))
			L->cur.forks = jv_array_append(L->cur.forks, jv_copy(ev));
		return;
	}
	if (L->scanning)
		return;
	if (!strcmp(what, "branch-end") && step && wf_jv_str(ev, "branch")) {
		if (L->open && !strcmp(cur, step))
			L->cur.joins = jv_object_set(L->cur.joins, jv_string(wf_jv_str(ev, "branch")), jv_copy(ev));
	} else if (!strcmp(what, "step-start") && step) {
		/* A step that starts again at its next attempt failed; any other start cut the last one short. */
		if (L->open) {
			int retry = !strcmp(cur, step) &&
				    wf_jv_num(ev, "attempt", 1) > wf_jv_num(L->cur.info, "attempt", 1);

			end_info(L, retry ? "failed" : "interrupted", ev, 0);
			finish(L);
		}
		begin(L, step, ev, (long)wf_jv_num(ev, "seq", 0));
		/* Followed as it happens, a step is announced when it starts, however soon it ends. */
		if (L->streaming)
			show_in_flight(L);
	} else if (!strcmp(what, "step-end") && step) {
		if (L->open && strcmp(cur, step)) {
			end_info(L, "interrupted", ev, 0);
			finish(L);
		}
		/* Control steps and skipped ones have no step-start: the end is the whole execution. */
		if (!L->open)
			begin(L, step, ev, 0);
		end_info(L, st ? st : "ok", ev, 1);
		finish(L);
	} else if (!strcmp(what, "pause") || !strcmp(what, "run-end") || !strcmp(what, "resume")) {
		if (L->open) {
			int kept = st && strcmp(what, "resume") && (!strcmp(st, "waiting") || !strcmp(st, "failed"));

			end_info(L, kept ? st : "interrupted", ev, 0);
			finish(L);
		}
		L->over = strcmp(what, "resume") != 0;
	} else if (!strcmp(what, "run-start")) {
		L->over = 0;
	}
}

/* Read the journal's whole lines after those read already and apply them: 0, or 74 with ERR. */
static int
read_journal(struct logs *L, char *err, size_t n)
{
	struct wf_buf b = {0};
	char buf[65536];
	size_t pos = 0;

	if (L->jfd < 0 && (L->jfd = openat(L->r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", L->r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	for (;;) {
		ssize_t k = pread(L->jfd, buf, sizeof buf, L->jpos + (off_t)b.len);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			snprintf(err, n, "cannot read '%s/history.jsonl': %s", L->r->dir, strerror(errno));
			wf_buf_free(&b);
			return WF_EXIT_IO;
		}
		if (k == 0)
			break;
		wf_buf_add(&b, buf, (size_t)k);
	}
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos), why[64];
		jv ev;

		if (!nl)
			break;	/* being written: the rest comes with the next read */
		ev = wf_journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why);
		if (jv_is_valid(ev))
			on_event(L, ev);
		jv_free(ev);
		pos = (size_t)(nl - b.s) + 1;
	}
	L->jpos += (off_t)pos;
	wf_buf_free(&b);
	return 0;
}

/* ---- following ---- */

/* Watch R's steps/ for writes once there is one (W->steps_wd); without inotify W polls instead. */
static void
watch_steps(struct wf_run *r, struct wf_run_watch *w)
{
	char *steps;

	if (w->ifd < 0 || w->steps_wd >= 0)
		return;
	steps = wf_xasprintf("%s/steps", r->dir);
	w->steps_wd = inotify_add_watch(w->ifd, steps, IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO);
	free(steps);
}

void
wf_run_watch_open(struct wf_run *r, struct wf_run_watch *w)
{
	w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	w->steps_wd = -1;
	if (w->ifd >= 0 && inotify_add_watch(w->ifd, r->dir, IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO |
					     IN_MOVE_SELF | IN_DELETE_SELF) < 0) {
		close(w->ifd);
		w->ifd = -1;
	}
	watch_steps(r, w);
}

int
wf_run_watch_wait(struct wf_run *r, struct wf_run_watch *w)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = { .fd = w->ifd, .events = POLLIN };
	int k;

	watch_steps(r, w);
	if (w->ifd < 0) {
		/* No inotify: look again in a fifth of a second. */
		(void)poll(NULL, 0, 200);
		return 1;
	}
	k = poll(&p, 1, FOLLOW_CHECK_MS);
	if (k > 0)
		while (read(w->ifd, buf, sizeof buf) > 0)
			;
	return k > 0;
}

void
wf_run_watch_close(struct wf_run_watch *w)
{
	if (w->ifd >= 0)
		close(w->ifd);
	w->ifd = -1;
}

/*
 * Follow the run: show what it writes as it writes it, until it stops
 * (an event that ends or pauses it) or no process runs it any more.
 */
static int
follow(struct logs *L, char *err, size_t n)
{
	struct wf_run_watch w;
	int rc = 0, changed = 0;
	double checked = -1;

	wf_run_watch_open(L->r, &w);
	for (;;) {
		if ((rc = read_journal(L, err, n)))
			break;
		show_in_flight(L);
		L->streaming = 1;
		if (fflush(L->o->out) || ferror(L->o->out) || L->over)
			break;
		/* Whether a process still runs it, after a quiet while or at most once every FOLLOW_CHECK_MS. */
		if (!changed || checked < 0 || wf_now_ms() - checked >= FOLLOW_CHECK_MS) {
			checked = wf_now_ms();
			if (!wf_run_is_live(L->r)) {
				rc = read_journal(L, err, n);	/* what it wrote before it let go */
				break;
			}
		}
		changed = wf_run_watch_wait(L->r, &w);
	}
	if (L->open && !rc) {
		end_info(L, "interrupted", jv_null(), 0);
		finish(L);
	}
	wf_run_watch_close(&w);
	return rc;
}

/* ---- the entry points ---- */

/* Does the workflow of the run have step ID?  0 with ERR naming its steps when not; 1 when there is no workflow.json to say. */
static int
known_step(struct logs *L, const char *id, char *err, size_t n)
{
	struct wf_buf names = {0};

	if (jv_get_kind(L->actions) != JV_KIND_OBJECT || jv_object_has(jv_copy(L->actions), jv_string(id)))
		return 1;
	jv_object_foreach(L->actions, k, v) {
		wf_buf_printf(&names, "%s%s", names.len ? ", " : "", jv_string_value(k));
		jv_free(k);
		jv_free(v);
	}
	snprintf(err, n, "run '%s' has no step '%s%s'; its steps: %s", L->r->name, L->prefix, id, names.s ? names.s : "none");
	wf_buf_free(&names);
	return 0;
}

/* Is step ID of the run a parallel step (or is there no workflow.json to say)?  0 with ERR when not. */
static int
forks(struct logs *L, const char *id, char *err, size_t n)
{
	jv def = jv_get_kind(L->actions) == JV_KIND_OBJECT ? wf_jv_get(L->actions, id) : jv_null();
	int yes = jv_get_kind(def) != JV_KIND_OBJECT || !wf_jv_str(def, "action") ||
		  !strcmp(wf_jv_str(def, "action"), "parallel");

	if (!yes)
		snprintf(err, n, "step '%s%s' of run '%s' is a %s step: it has no branches (STEP/BRANCH names a branch "
			 "of a parallel step)", L->prefix, id, L->r->name, wf_jv_str(def, "action"));
	jv_free(def);
	return yes;
}

/* Which execution started each branch last (L->last_start): the journal read once for its branch-starts.  0, or 74 with ERR. */
static int
scan_forks(struct logs *L, char *err, size_t n)
{
	int rc;

	L->scanning = 1;
	rc = read_journal(L, err, n);
	L->scanning = 0;
	L->jpos = 0;
	return rc;
}

int
wf_logs_print(struct wf_run *r, const struct wf_logs_opts *o, char *err, size_t n)
{
	return logs_run(r, o, "", err, n);
}

/*
 * wf_logs_print for run R, a branch's run at PREFIX ("STEP/BRANCH/"...)
 * or the top one at "": O->step may name a branch's step, STEP/BRANCH
 * or STEP/BRANCH/STEP..., and then only that branch is shown.
 */
static int
logs_run(struct wf_run *r, const struct wf_logs_opts *top, const char *prefix, char *err, size_t n)
{
	struct wf_logs_opts own = *top, *o = &own;
	struct logs L = { .r = r, .o = o, .passes = jv_object(), .stepsfd = -1, .jfd = -1, .bol = 1, .prefix = prefix,
			  .last_start = jv_object() };
	char *step = top->step ? wf_xstrdup(top->step) : NULL, *slash = step ? strchr(step, '/') : NULL;
	int rc = 0;

	if (slash) {
		/* STEP/BRANCH[/REST]: the branch's run shows REST (and --pass), this one nothing of its own. */
		*slash = '\0';
		L.branch = slash + 1;
		if ((slash = strchr(L.branch, '/'))) {
			*slash = '\0';
			L.rest = slash + 1;
		}
		o->step = step;
	}
	L.cur.info = L.cur.end = L.cur.forks = L.cur.joins = jv_null();
	load_steps(&L);
	if (o->step && (!known_step(&L, o->step, err, n) || (L.branch && !forks(&L, o->step, err, n))))
		rc = WF_EXIT_NOINPUT;
	else if (L.branch && (!*L.branch || !wf_name_valid(L.branch) || (L.rest && !*L.rest)))
		rc = (snprintf(err, n, "'%s%s' is not STEP/BRANCH[/STEP]", prefix, top->step), WF_EXIT_NOINPUT);
	else
		rc = scan_forks(&L, err, n);
	if (rc)
		;
	else if (o->follow)
		rc = follow(&L, err, n);
	else if (!(rc = read_journal(&L, err, n)) && L.open) {
		/* The step in flight, as far as it got. */
		if (!wf_run_is_live(r))
			end_info(&L, "interrupted", jv_null(), 0);
		finish(&L);
	}
	if (!rc && L.rc) {
		rc = L.rc;
		snprintf(err, n, "%s", L.err);
	}
	if (!rc && !o->follow && o->step && !L.matched) {
		long passes = (long)wf_jv_num(L.passes, o->step, 0);

		if (L.branch)
			snprintf(err, n, "branch '%s%s/%s' of run '%s' has not run", prefix, o->step, L.branch, r->name);
		else if (o->pass && passes)
			snprintf(err, n, "step '%s%s' of run '%s' ran %ld pass%s; there is no pass %ld", prefix, o->step, r->name,
				 passes, passes == 1 ? "" : "es", o->pass);
		else
			snprintf(err, n, "step '%s%s' of run '%s' has not run", prefix, o->step, r->name);
		rc = WF_EXIT_NOINPUT;
	}
	if (L.open) {
		jv_free(L.cur.info);
		jv_free(L.cur.end);
		jv_free(L.cur.forks);
		jv_free(L.cur.joins);
	}
	free(step);
	jv_free(L.last_start);
	jv_free(L.passes);
	jv_free(L.actions);
	if (L.stepsfd >= 0)
		close(L.stepsfd);
	if (L.jfd >= 0)
		close(L.jfd);
	return rc;
}

/* The caller frees the name returned. */
char *
wf_logs_latest_run(void)
{
	char err[256], *best = NULL;
	jv runs;

	/* Newest first: the first that started is the one. */
	wf_run_list(0, &runs, err, sizeof err);
	jv_array_foreach(runs, i, e) {
		(void)i;
		if (!best && wf_jv_str(e, "started") && wf_jv_str(e, "name"))
			best = wf_xstrdup(wf_jv_str(e, "name"));
		jv_free(e);
	}
	jv_free(runs);
	return best;
}
