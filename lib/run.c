/*
 * run.c: the driver behind wf-run(1).  wf_run_start and wf_run_resume
 * open the run in phases, then the loop walks the canonical workflow
 * step by step from the cursor in the run's state (one step: runstep.c;
 * its decisions: flow.c; the wf-step child: stepper.c; consent and
 * budget: gate.c; checks before the first step: preflight.c).
 * Each step costs two journal appends (start, end) and one fdatasync, so
 * a crash at any point leaves a journal that says exactly which steps
 * finished, and a resume continues from there.
 *
 * Layer 4: driver.
 *
 * Rules: the journal is the only record; every stop (failure, pause,
 * signal, limit, question) is one journaled event with its reason and
 * exit status, and a stop that leaves a step in flight keeps it in doubt
 * for the resume to settle.  Progress goes to the run's log (o->log),
 * --json events to its output (o->out); nothing here exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "estimate.h"
#include "history.h"
#include "stepthrough.h"
#include "subflow.h"
#include "parallel.h"

/* ---- signals (proc.c catches them; wf_stop says which) ---- */

const char *
wf_driver_signal_reason(int sig)
{
	return sig == SIGINT ? "interrupted (SIGINT)" : sig == SIGHUP ? "interrupted (SIGHUP)" :
	       "interrupted (SIGTERM)";
}

int
wf_driver_interrupted(struct driver *d, int sig)
{
	wf_driver_progress(d, "%s: interrupted; continue with 'wf resume %s'\n", d->run->name, d->run->name);
	return wf_driver_stop(d, "pause", "paused", wf_driver_signal_reason(sig), jv_null(), 128 + sig);
}

/* ---- output ---- */

void
wf_driver_progress(struct driver *d, const char *fmt, ...)
{
	va_list ap;

	if (d->o->quiet)
		return;
	va_start(ap, fmt);
	vfprintf(d->o->log, fmt, ap);
	va_end(ap);
	fflush(d->o->log);
}

const char *
wf_driver_col(struct driver *d, const char *code)
{
	return d->color ? code : "";
}

/* Their short names in this file. */
#define progress wf_driver_progress
#define col wf_driver_col

/* Journal EV (consumed); with --json also print it.  0 or 74. */
int
wf_driver_journal(struct driver *d, jv ev, int durable)
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
			wf_json_print(d->o->out, jv_array_get(jv_copy(last), 0));
		jv_free(last);
		fflush(d->o->out);
	}
	return 0;
}

/* Step I of the workflow; the caller owns it. */
jv
wf_driver_step_at(struct driver *d, int i)
{
	return jv_array_get(jv_copy(d->steps), i);
}

/* The step named SID and its index in *IDX (-1 and null when there is none); the caller owns it. */
static jv
step_named(struct driver *d, const char *sid, int *idx)
{
	*idx = sid ? wf_workflow_step_index(d->wf, sid) : -1;
	return *idx >= 0 ? wf_driver_step_at(d, *idx) : jv_null();
}

/* ---- stopping ---- */

/* Stop with STATUS (paused, waiting, failed) and REASON, EXTRA (consumed) added; returns CODE. */
int
wf_driver_stop(struct driver *d, const char *event, const char *status, const char *reason,
	       jv extra, int code)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string(event)), usage;

	ev = jv_object_set(ev, jv_string("status"), jv_string(status));
	ev = jv_object_set(ev, jv_string("reason"), jv_string(reason));
	/* The exit status this stop gives, for readers of the journal (wf report, wf status). */
	ev = jv_object_set(ev, jv_string("exit_code"), jv_number(code));
	if (jv_get_kind(extra) == JV_KIND_OBJECT)
		jv_object_foreach(extra, k, v)
			ev = jv_object_set(ev, k, v);
	jv_free(extra);
	if (wf_driver_journal(d, ev, 1))
		return WF_EXIT_IO;
	if (wf_run_snapshot(d->run, d->err, sizeof d->err)) {
		wf_warn("%s", d->err);
		return WF_EXIT_IO;
	}
	/* A run that stops having called models says what they cost so far, as a completed one does. */
	usage = wf_jv_get(d->run->state, "usage");
	if (!d->parent && jv_get_kind(usage) == JV_KIND_OBJECT && jv_object_length(jv_copy(usage)) > 0)
		wf_driver_summary(d, d->run->state, status);
	jv_free(usage);
	return code;
}

/* The cursor ran off the end: the run completed.  0 or 74. */
static int
finish(struct driver *d)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("run-end")), view = wf_run_view(d->run, 1);

	ev = jv_object_set(ev, jv_string("status"), jv_string("completed"));
	ev = jv_object_set(ev, jv_string("exit_code"), jv_number(0));
	/* Its outputs: (wf-workflow(5)), for wf status and for a run that called it. */
	ev = jv_object_set(ev, jv_string("outputs"), wf_subflow_outputs(d->wf, view));
	jv_free(view);
	wf_run_clear_pause(d->run);
	if (wf_driver_journal(d, ev, 1))
		return WF_EXIT_IO;
	if (wf_run_snapshot(d->run, d->err, sizeof d->err)) {
		wf_warn("%s", d->err);
		return WF_EXIT_IO;
	}
	/* A sub-run's usage is told with its caller's; its files go with its caller's. */
	if (!d->parent)
		wf_driver_summary(d, d->run->state, "completed");
	if (!d->parent && !wf_jv_bool(d->wf, "persistent", 1)) {
		if (wf_run_remove(d->run, d->err, sizeof d->err))
			wf_warn("%s", d->err);
	}
	return 0;
}

/* The main loop: one step at a time from the cursor in the state, until the end or a stop. */
int
wf_driver_drive(struct driver *d)
{
	for (;;) {
		jv cursor = wf_jv_get(d->run->state, "cursor");
		char *id;
		int rc;

		if (jv_get_kind(cursor) != JV_KIND_STRING) {
			jv_free(cursor);
			return finish(d);
		}
		id = wf_xstrdup(jv_string_value(cursor));
		jv_free(cursor);
		rc = wf_driver_run_step(d, id);
		free(id);
		if (rc != WF_GO_ON)
			return rc;
	}
}

/* ---- the driver ---- */

/* Set up D for a run with options O: WF_GO_ON, or 78 after a message (wf_driver_close it either way). */
int
wf_driver_open(struct driver *d, struct wf_run_opts *o)
{
	struct wf_diag diag = {0};

	memset(d, 0, sizeof *d);
	d->wf = jv_null();
	d->steps = jv_null();
	d->index = jv_object();
	d->o = o;
	d->t0 = wf_now_ms();
	d->tty = isatty(fileno(o->log));
	d->color = d->tty && !getenv("NO_COLOR") && !o->json;
	d->step_exe = wf_preflight_step_exe();
	d->server.pid = -1;
	d->server.in = d->server.out = -1;
	d->groups = jv_array();
	d->tty_in = !o->json && wf_tty_usable();
	d->answer = jv_invalid();
	d->start_extra = jv_invalid();
	d->patterns = wf_auto_approve_patterns(&diag);
	if (!jv_is_valid(d->patterns)) {
		wf_diag_print(&diag);
		wf_diag_free(&diag);
		return WF_EXIT_CONFIG;
	}
	wf_diag_free(&diag);
	umask(077);
	/* SIGINT, SIGTERM and SIGHUP ask the run to stop after the step. */
	wf_catch_signals(WF_CATCH_HUP);
	return WF_GO_ON;
}

void
wf_driver_close(struct driver *d)
{
	wf_stepper_stop(d);
	jv_free(d->groups);
	jv_free(d->patterns);
	jv_free(d->answer);
	jv_free(d->start_extra);
	free(d->answer_step);
	free(d->consent_answer);
	free(d->resume_at);
	free(d->step_go);
	free(d->step_answer);
	if (d->run)
		wf_run_close(d->run);
	jv_free(d->wf);
	jv_free(d->steps);
	jv_free(d->index);
	free(d->step_exe);
}

/* Open run NAME for writing, locked (creating it with CREATE): WF_GO_ON, or an exit status after a message. */
static int
open_locked(struct driver *d, const char *name, int create)
{
	int rc = wf_run_open(name, (create ? WF_RUN_CREATE : 0) | WF_RUN_LOCK | WF_RUN_WRITE,
			     &d->run, d->err, sizeof d->err);

	if (rc)
		wf_warn("%s", d->err);
	return rc ? rc : WF_GO_ON;
}

/* Drive the canonical workflow WF (consumed) from now on. */
void
wf_driver_use(struct driver *d, jv wf)
{
	jv_free(d->wf);
	jv_free(d->steps);
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

/* Write the definition D drives to the run's workflow.json, with a steps/ beside it: 0, or an exit status after a message. */
int
wf_driver_save_workflow(struct driver *d)
{
	char *txt = wf_json_dump(d->wf);
	int rc = wf_run_write_file(d->run, "workflow.json", txt, strlen(txt), d->err, sizeof d->err);

	free(txt);
	if (rc)
		wf_warn("%s", d->err);
	else if (mkdirat(d->run->dirfd, "steps", 0700) < 0 && errno != EEXIST) {
		wf_warn("cannot create '%s/steps': %s", d->run->dir, strerror(errno));
		rc = WF_EXIT_IO;
	}
	return rc;
}

/* ---- answers ---- */

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
	return wf_driver_journal(d, a, 1);
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
		jv step = wf_driver_step_at(d, i), q = wf_flow_question_of(step, d->o->yes);
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

/* Journal the run's start or resume EV (consumed), then the --answer taken: WF_GO_ON, or an exit status. */
static int
journal_event(struct driver *d, jv ev)
{
	int rc;

	if ((rc = wf_driver_journal(d, ev, 1)) || (rc = journal_answer(d)))
		return rc;
	return WF_GO_ON;
}

/* ---- starting ---- */

/* Load the workflow named by o->target into *WF (the caller owns it); 0 or an exit code after messages. */
static int
load_workflow(struct wf_run_opts *o, jv *wf)
{
	char err[1024];

	if (!strcmp(o->target, "-")) {
		/* wf-parse output on stdin. */
		int code;

		*wf = wf_workflow_stdin(&code, err, sizeof err);
		if (code)
			wf_warn("%s", err);
		return code;
	}
	return wf_workflow_open(o->target, wf);
}

/*
 * Before the run is opened: load the workflow, and answer --estimate and
 * --dry-run (0), or check the --answer and the prerequisites.
 * WF_GO_ON, or an exit status.
 */
static int
start_prepare(struct driver *d)
{
	struct wf_run_opts *o = d->o;
	jv wf = jv_invalid();
	int rc = load_workflow(o, &wf), start;

	if (rc) {
		jv_free(wf);
		return rc;
	}
	wf_driver_use(d, wf);
	start = o->start_step ? wf_workflow_step_index(d->wf, o->start_step) : 0;
	if (start < 0) {
		wf_warn("workflow '%s' has no step '%s'", wf_jv_str(d->wf, "name"), o->start_step);
		return WF_EXIT_USAGE;
	}
	wf_preflight_vars(d);
	if ((rc = wf_preflight_inputs(d)))
		return rc;
	if (o->estimate)
		return wf_run_estimate(o->out, d->wf, o);
	if (o->dry_run)
		return wf_run_dry(o->out, d->wf, o);
	if (o->answer && (rc = answer_first_question(d, start)))
		return rc;
	return (rc = wf_preflight(d)) ? rc : WF_GO_ON;
}

/*
 * A run of the same name is there.  A finished one (completed or failed)
 * goes to the history.  One that may go on (paused, waiting for an
 * answer, declined, interrupted) stays unless --restart, which first
 * stops what its step in flight left running; else name what makes
 * progress from where it stopped.  WF_GO_ON, or an exit status after a
 * message.
 */
static int
start_over(struct driver *d, const char *status)
{
	const char *at = wf_jv_str(d->run->state, "cursor"), *why = wf_jv_str(d->run->state, "reason");
	char *hint, *proj;

	if (!strcmp(status, "completed") || !strcmp(status, "failed"))
		return WF_GO_ON;
	if (d->o->restart) {
		/* Starting over does not start a step beside an old copy still running. */
		jv inflight = wf_jv_get(d->run->state, "inflight");
		int rc = jv_get_kind(inflight) == JV_KIND_OBJECT ? wf_stepper_stale_groups(d, inflight) : 0;

		jv_free(inflight);
		return rc ? rc : WF_GO_ON;
	}
	/* The hint names what makes progress from where it stopped, never a resume that stops again. */
	hint = wf_run_resume_hint(d->run->state, d->run->name);
	if (!hint)
		hint = wf_xasprintf("it waits for an answer (see 'wf status %s')", d->run->name);
	proj = wf_project_root(NULL);
	wf_warn("run '%s' of project %s is %s%s%s%s%s%s; %s, or start over with 'wf run %s%s%s --restart'",
		d->run->name, proj ? proj : ".", wf_run_status_shown(d->run->state, 0), at ? " at step " : "",
		at ? at : "", why ? " (" : "", why ? why : "", why ? ")" : "", hint, d->o->target,
		d->o->run_name ? " --name " : "", d->o->run_name ? d->o->run_name : "");
	free(proj);
	free(hint);
	return WF_EXIT_USAGE;
}

/*
 * Open the run, locked, and start it afresh: an earlier run of the name
 * goes to the history (see start_over), the definition saved with a
 * steps/ directory.  WF_GO_ON, or an exit status after a message.
 */
static int
start_open(struct driver *d)
{
	const char *status;
	int rc;

	if ((rc = open_locked(d, d->o->run_name ? d->o->run_name : wf_jv_str(d->wf, "name"), 1)) != WF_GO_ON)
		return rc;
	status = wf_jv_str(d->run->state, "status");
	if (status && (rc = start_over(d, status)) != WF_GO_ON)
		return rc;
	if (status && (rc = wf_run_reset(d->run, d->err, sizeof d->err))) {
		wf_warn("%s", d->err);
		return rc;
	}
	if ((rc = wf_driver_save_workflow(d)))
		return rc;
	/* A pause asked for during an earlier run's last step is not for this one. */
	wf_run_clear_pause(d->run);
	return WF_GO_ON;
}

/* Journal the run's start (and the --answer taken): WF_GO_ON or 74. */
int
wf_driver_start_journal(struct driver *d)
{
	struct wf_run_opts *o = d->o;
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("run-start")), first;
	char cwd[PATH_MAX], *proj;
	/* A sub-run has its caller's number: it belongs to that run, and goes with it. */
	long id = d->parent ? (long)wf_jv_num(d->parent->run->state, "id", 0) :
		  wf_history_next_id(d->run->proj, d->err, sizeof d->err);

	if (id < 0) {
		wf_warn("%s", d->err);
		jv_free(ev);
		return WF_EXIT_IO;
	}
	if (!getcwd(cwd, sizeof cwd))
		snprintf(cwd, sizeof cwd, ".");
	proj = wf_project_root(NULL);
	first = wf_driver_step_at(d, 0);
	ev = jv_object_set(ev, jv_string("name"), jv_string(d->run->name));
	ev = jv_object_set(ev, jv_string("id"), jv_number(id));
	ev = jv_object_set(ev, jv_string("project"), jv_string(proj ? proj : cwd));
	ev = jv_object_set(ev, jv_string("workflow_name"), wf_jv_get(d->wf, "name"));
	ev = jv_object_set(ev, jv_string("workflow"), wf_jv_get(d->wf, "source"));
	ev = jv_object_set(ev, jv_string("hash"), wf_jv_get(d->wf, "hash"));
	ev = jv_object_set(ev, jv_string("cwd"), jv_string(cwd));
	ev = jv_object_set(ev, jv_string("cursor"), o->start_step ? jv_string(o->start_step) : wf_jv_get(first, "id"));
	ev = jv_object_set(ev, jv_string("vars"), wf_flow_merged_vars(d->wf, o->vars));
	ev = jv_object_set(ev, jv_string("model"), wf_jv_get(d->wf, "model"));
	ev = jv_object_set(ev, jv_string("original_model"), wf_jv_get(d->wf, "model"));
	ev = jv_object_set(ev, jv_string("pid"), jv_number(getpid()));
	ev = wf_budget_event(ev, o->budget);
	if (d->parent)
		ev = jv_object_set(ev, jv_string("parent_step"), jv_string(d->sub_step));
	if (o->offline)
		ev = jv_object_set(ev, jv_string("offline"), jv_true());
	/* A fork's origin and the state it starts from (fork.c). */
	if (jv_get_kind(d->start_extra) == JV_KIND_OBJECT)
		jv_object_foreach(d->start_extra, k, v)
			ev = jv_object_set(ev, k, v);
	jv_free(first);
	free(proj);
	return journal_event(d, ev);
}

int
wf_run_start(struct wf_run_opts *o)
{
	struct driver d;
	int rc = wf_driver_open(&d, o);

	if (rc == WF_GO_ON)
		rc = start_prepare(&d);
	if (rc == WF_GO_ON)
		rc = wf_stepthrough_check(&d);
	if (rc == WF_GO_ON)
		rc = wf_driver_replay_open(&d);
	if (rc == WF_GO_ON)
		rc = start_open(&d);
	if (rc == WF_GO_ON)
		rc = wf_driver_start_journal(&d);
	if (rc == WF_GO_ON)
		rc = wf_stepthrough_begin(&d);
	if (rc == WF_GO_ON)
		rc = wf_driver_drive(&d);
	wf_driver_close(&d);
	return rc;
}

/* ---- resuming ---- */

/* Open run o->target, locked, if it has something to resume: WF_GO_ON, or an exit status after a message. */
static int
resume_lock(struct driver *d)
{
	const char *name = d->o->target, *status;
	int rc;

	if (!wf_name_valid(name)) {
		wf_warn("invalid run name '%.80s'", name);
		return WF_EXIT_DATA;
	}
	if ((rc = open_locked(d, name, 0)) != WF_GO_ON)
		return rc;
	status = wf_jv_str(d->run->state, "status");
	if (!status) {
		wf_warn("run '%s' has no state yet; start it with 'wf run %s'", name, name);
		return WF_EXIT_NOINPUT;
	}
	if (!strcmp(status, "completed")) {
		wf_warn("run '%s' already completed; nothing to resume (start again with 'wf run %s')", name, name);
		return 0;
	}
	return WF_GO_ON;
}

static int resume_reconcile(struct driver *d, jv wf);

/* The definition the run started from, its workflow.json, reconciled with its file: WF_GO_ON, or an exit status. */
int
wf_driver_load_saved(struct driver *d)
{
	char err[512];
	jv wf = wf_run_workflow(d->run, err, sizeof err);

	if (!jv_is_valid(wf)) {
		wf_warn("%s/workflow.json is missing or damaged; start over with 'wf run %s --restart'",
			d->run->dir, d->o->target);
		jv_free(wf);
		return WF_EXIT_IO;
	}
	return resume_reconcile(d, wf);
}

/*
 * The run goes on with the definition it started from, WF (consumed),
 * unless its file changed and --accept-changes takes the new one (saved
 * as the run's workflow.json).  WF_GO_ON, or an exit status after a
 * message.
 */
static int
resume_reconcile(struct driver *d, jv wf)
{
	const char *src = wf_jv_str(wf, "source");
	struct wf_diag diag = {0};
	int code = 0, changed, rc = WF_GO_ON;
	/* A parallel branch's steps came from its caller's file, which the caller reconciled: it goes on with them. */
	int branch = wf_jv_str(wf, "parallel_branch") != NULL;
	jv now = !branch && src && strcmp(src, "-") && access(src, R_OK) == 0 ? wf_workflow_load(src, &diag, &code) :
		 jv_invalid();

	changed = jv_is_valid(now) && strcmp(wf_jv_str(now, "hash"), wf_jv_str(wf, "hash"));
	if (changed && !d->o->accept_changes) {
		wf_warn("workflow '%s' changed since the run started (%.19s... -> %.19s...); resume with --accept-changes to use the new definition, or start over with 'wf run %s --restart'",
			src, wf_jv_str(wf, "hash"), wf_jv_str(now, "hash"), d->o->target);
		rc = WF_EXIT_DATA;
	} else if (!jv_is_valid(now) && diag.n && d->o->accept_changes) {
		wf_diag_print(&diag);
		rc = code ? code : WF_EXIT_DATA;
	}
	wf_diag_free(&diag);
	if (rc != WF_GO_ON || !changed) {
		jv_free(now);
		if (rc == WF_GO_ON)
			wf_driver_use(d, wf);
		else
			jv_free(wf);
		return rc;
	}
	jv_free(wf);
	wf_driver_use(d, now);
	return (rc = wf_driver_save_workflow(d)) ? rc : WF_GO_ON;
}

/*
 * The question --answer answers: the one pending, or, when the run
 * stopped before it could ask (killed while asking), the question of the
 * step it goes on with.  The caller owns it.
 */
static jv
pending_question(struct driver *d)
{
	jv pending = wf_jv_get(d->run->state, "pending"), doing, step;
	const char *sid;
	int idx;

	if (jv_get_kind(pending) == JV_KIND_OBJECT)
		return pending;
	jv_free(pending);
	doing = wf_jv_get(d->run->state, "inflight");
	sid = wf_jv_str(doing, "step") ? wf_jv_str(doing, "step") : wf_jv_str(d->run->state, "cursor");
	step = step_named(d, sid, &idx);
	pending = wf_flow_question_of(step, d->o->yes);
	jv_free(step);
	jv_free(doing);
	return pending;
}

/*
 * Take --answer for the question pending: an answer must fit it, or
 * nothing changes.  For a step in doubt, --answer rerun|skip says what
 * --rerun|--skip say.  WF_GO_ON, or an exit status after a message.
 */
static int
resume_answer(struct driver *d)
{
	struct wf_run_opts *o = d->o;
	jv pending;
	const char *kind;
	int rc;

	if (o->answer && !o->rerun && !o->skip && (!strcmp(o->answer, "rerun") || !strcmp(o->answer, "skip"))) {
		pending = wf_jv_get(d->run->state, "pending");
		kind = wf_jv_str(pending, "kind");
		if (kind && !strcmp(kind, "in-doubt")) {
			o->rerun = !strcmp(o->answer, "rerun");
			o->skip = !o->rerun;
			o->answer = NULL;
		}
		jv_free(pending);
	}
	if (!o->answer)
		return WF_GO_ON;
	pending = pending_question(d);
	kind = wf_jv_str(pending, "kind");
	if (jv_get_kind(pending) != JV_KIND_OBJECT || !kind || !strcmp(kind, "in-doubt")) {
		wf_warn("run '%s' has no question pending; nothing was changed%s", o->target,
			kind ? " (for a step in doubt answer rerun or skip)" : "");
		rc = WF_EXIT_USAGE;
	} else if (jv_object_has(jv_copy(pending), jv_string("sub"))) {
		/* A sub-run's question: checked here, taken by the sub-run when its step goes on. */
		jv value = jv_invalid();
		char err[512];
		int branches = !strcmp(kind, "branches");

		rc = 0;
		if (branches ? wf_parallel_answer_check(pending, o->answer, err, sizeof err) :
		    wf_answer_check(pending, o->answer, &value, err, sizeof err) < 0) {
			wf_warn("run '%s', step '%s': %s; nothing was changed", o->target, wf_jv_str(pending, "step"), err);
			rc = WF_EXIT_DATA;
		}
		jv_free(value);
	} else {
		rc = take_answer(d, pending, o->target, o->answer);
	}
	jv_free(pending);
	return rc ? rc : WF_GO_ON;
}

/* EV (consumed) with the cursor after STEP (borrowed) SID, which --skip takes as done. */
static jv
skip_step(jv ev, jv step, const char *sid)
{
	ev = jv_object_set(ev, jv_string("cursor"), wf_jv_get(step, "next"));
	return jv_object_set(ev, jv_string("skipped"), jv_string(sid));
}

/*
 * The step INFLIGHT (borrowed) when the run stopped: never a second copy
 * beside one still running; one marked idempotent: false waits for
 * --rerun or --skip; any other runs again with a notice.  The resume
 * event *EV (borrowed, updated) says which.  WF_GO_ON, or an exit status.
 */
static int
settle_inflight(struct driver *d, jv inflight, jv *ev)
{
	struct wf_run_opts *o = d->o;
	const char *sid = wf_jv_str(inflight, "step"), *b = d->branch;
	int idx, rc;
	jv step = step_named(d, sid, &idx);

	*ev = jv_object_set(*ev, jv_string("interrupted_step"), wf_jv_get(inflight, "step"));
	if ((rc = wf_stepper_stale_groups(d, inflight))) {
		jv_free(step);
		return rc;
	}
	if (idx >= 0 && !wf_step_repeatable(step) && !o->rerun && !o->skip) {
		jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(sid));

		extra = jv_object_set(extra, jv_string("inflight"), jv_copy(inflight));

		extra = jv_object_set(extra, jv_string("pending"),
			jv_object_set(jv_object_set(jv_object(), jv_string("kind"), jv_string("in-doubt")),
				      jv_string("step"), jv_string(sid)));
		/* In a parallel branch B, rerun and skip are the branch's answers: --answer B:rerun. */
		wf_warn("%s%s%sstep '%s' was in progress when the run stopped and is marked idempotent: false; run it again with 'wf resume %s --%s%s%srerun' or skip it with 'wf resume %s --%s%s%sskip'",
			b ? "branch '" : "", b ? b : "", b ? "': " : "", sid, o->target, b ? "answer " : "", b ? b : "",
			b ? ":" : "", o->target, b ? "answer " : "", b ? b : "", b ? ":" : "");
		jv_free(step);
		return wf_driver_stop(d, "pause", "waiting", "step in doubt", extra, WF_EXIT_WAIT);
	}
	if (idx >= 0 && o->skip) {
		*ev = skip_step(*ev, step, sid);
	} else if (idx >= 0 && !o->rerun) {
		wf_warn("run '%s': step '%s' was in flight when the run stopped; running it again (at least once: %s)",
			o->target, sid, wf_action_repeat_why(wf_jv_str(step, "action")));
		*ev = jv_object_set(*ev, jv_string("rerun"), jv_string(sid));
	}
	jv_free(step);
	return WF_GO_ON;
}

/* Does the run wait for a question of one of its sub-runs? */
static int
sub_pending(struct driver *d)
{
	jv pending = wf_jv_get(d->run->state, "pending");
	int sub = jv_get_kind(pending) == JV_KIND_OBJECT && jv_object_has(jv_copy(pending), jv_string("sub"));

	jv_free(pending);
	return sub;
}

/*
 * No step was in flight: --rerun and --skip answer only a step the run
 * stopped in doubt about (which waits for one of them); --skip moves the
 * cursor of the resume event *EV (borrowed, updated) past it.  WF_GO_ON,
 * or an exit status.
 */
static int
settle_stopped(struct driver *d, jv *ev)
{
	struct wf_run_opts *o = d->o;
	const char *why = wf_jv_str(d->run->state, "reason"), *sid = wf_jv_str(d->run->state, "cursor");
	int in_doubt = why && !strcmp(why, "step in doubt"), idx;
	jv step;

	if (in_doubt && !o->skip && !o->rerun) {
		wf_warn("step '%s' of run '%s' is in doubt: it may or may not have run; run it again with 'wf resume %s --rerun' or skip it with 'wf resume %s --skip'",
			sid, o->target, o->target, o->target);
		return WF_EXIT_WAIT;
	}
	if ((o->skip || o->rerun) && !in_doubt) {
		wf_warn("no step of run '%s' is in doubt; --rerun and --skip answer that question only", o->target);
		return WF_EXIT_USAGE;
	}
	/* A step in doubt inside a sub-run: the sub-run skips it, not this one's step. */
	if (!o->skip || sub_pending(d))
		return WF_GO_ON;
	step = step_named(d, sid, &idx);
	if (idx >= 0)
		*ev = skip_step(*ev, step, sid);
	jv_free(step);
	return WF_GO_ON;
}

/* The resume event so far (who resumes, with which variables and definition, from which status); the caller owns it. */
static jv
resume_event(struct driver *d)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("resume"));
	jv vars = d->o->vars;

	ev = jv_object_set(ev, jv_string("vars"), jv_get_kind(vars) == JV_KIND_OBJECT ? jv_copy(vars) : jv_object());
	ev = jv_object_set(ev, jv_string("pid"), jv_number(getpid()));
	ev = jv_object_set(ev, jv_string("hash"), wf_jv_get(d->wf, "hash"));
	if (d->o->offline)	/* from now on, in later resumes too */
		ev = jv_object_set(ev, jv_string("offline"), jv_true());
	ev = wf_budget_event(ev, d->o->budget);
	return jv_object_set(ev, jv_string("from"), wf_jv_get(d->run->state, "status"));
}

/* Settle the step the run stopped in (in flight or in doubt) and journal the resume: WF_GO_ON, or an exit status. */
static int
resume_settle(struct driver *d)
{
	jv ev = resume_event(d), inflight = wf_jv_get(d->run->state, "inflight");
	int rc = jv_get_kind(inflight) == JV_KIND_OBJECT ? settle_inflight(d, inflight, &ev) : settle_stopped(d, &ev);
	/* Stopped by a rewind (wf-state rewind) and not run since: the step starts afresh. */
	const char *why = wf_jv_str(d->run->state, "reason"), *was = wf_jv_str(d->run->state, "status");
	int rewound = why && was && !strcmp(why, "rewound") && !strcmp(was, "paused");

	jv_free(inflight);
	if (rc != WF_GO_ON) {
		jv_free(ev);
		return rc;
	}
	if ((rc = journal_event(d, ev)) != WF_GO_ON)
		return rc;
	/* A workflow step here goes on with its sub-run rather than start another (subflow.c), unless rewound to. */
	if (wf_jv_str(d->run->state, "cursor") && !rewound)
		d->resume_at = wf_xstrdup(wf_jv_str(d->run->state, "cursor"));
	progress(d, "%s: resuming at step '%s'\n", d->run->name,
		 wf_jv_str(d->run->state, "cursor") ? wf_jv_str(d->run->state, "cursor") : "(end)");
	return WF_GO_ON;
}

int
wf_driver_resume_in(struct driver *d)
{
	int rc = wf_driver_load_saved(d);

	if (rc == WF_GO_ON)
		wf_preflight_vars(d);
	/* Stepping is the run's own, not a sub-run's (stepthrough.c). */
	if (rc == WF_GO_ON && !d->parent)
		rc = wf_stepthrough_check(d);
	if (rc == WF_GO_ON)
		rc = wf_stepthrough_resume(d);
	if (rc == WF_GO_ON)
		rc = resume_answer(d);
	if (rc == WF_GO_ON)
		rc = resume_settle(d);
	return rc;
}

int
wf_run_resume(struct wf_run_opts *o)
{
	struct driver d;
	int rc = wf_driver_open(&d, o);

	if (rc == WF_GO_ON)
		rc = resume_lock(&d);
	if (rc == WF_GO_ON)
		rc = wf_driver_resume_in(&d);
	if (rc == WF_GO_ON)
		rc = wf_stepthrough_begin(&d);
	if (rc == WF_GO_ON)
		rc = wf_driver_drive(&d);
	wf_driver_close(&d);
	return rc;
}
