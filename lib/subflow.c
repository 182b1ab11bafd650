/*
 * subflow.c: a step of action 'workflow', run as a run nested in the
 * run (wf-workflow(5), "Workflows that call workflows").  The workflow it
 * calls runs in a driver of its own, in this process, on a run whose
 * files (the same as any run's) live in the caller's directory under
 * sub/STEP-ID/ and which bears the caller's name, so that every command
 * it tells (wf resume NAME ...) is about the run a person started.
 *
 * Its end is the step's result: completed gives ok with its outputs and
 * the usage of its models; a failure fails the step (on-error applies).
 * Any other stop (a question, a pause, a signal, a step in doubt, a
 * "no", a crash) stops the caller the same way, its question pending
 * with "sub", and a resume of the caller at this step goes on with the
 * sub-run where it stopped, instead of starting it again.
 *
 * Layer 4: driver.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "subflow.h"
#include "parallel.h"

/* The reasons a sub-run fails for, which fail its step; any other stop stops its caller too. */
static const char *const failures[] = { "step failed", "step timed out", "bad condition", "loop exhausted",
					 "step limit", NULL };

/* The step result for step ID with STATUS; the caller owns it. */
static jv
result(const char *id, const char *status)
{
	jv r = jv_object_set(jv_object(), jv_string("id"), jv_string(id));

	return jv_object_set(r, jv_string("status"), jv_string(status));
}

/* RES (consumed, returned) failed with exit status CODE and the message MSG (freed). */
static jv
failed(jv res, int code, char *msg)
{
	res = jv_object_set(res, jv_string("status"), jv_string("failed"));
	res = jv_object_set(res, jv_string("exit_code"), jv_number(code));
	res = jv_object_set(res, jv_string("error"), jv_string(msg));
	free(msg);
	return res;
}

jv
wf_subflow_with(struct driver *d, jv step)
{
	jv with = wf_jv_get(step, "with"), vars = jv_object(), view = wf_run_view(d->run, 1);
	char err[256];

	if (jv_get_kind(with) == JV_KIND_OBJECT)
		jv_object_foreach(with, k, v) {
			if (jv_get_kind(v) == JV_KIND_STRING) {
				char *t = wf_subst(jv_string_value(v), view, 0, NULL, err, sizeof err);

				jv_free(v);
				v = jv_string(t ? t : "");
				free(t);
			}
			vars = jv_object_set(vars, k, v);
		}
	jv_free(with);
	jv_free(view);
	return vars;
}

jv
wf_subflow_load(struct driver *d, const char *ref, const char *who, int *code)
{
	struct wf_diag diag = {0};
	char err[1024];
	char *file = wf_subflow_resolve(ref ? ref : "", wf_jv_str(d->wf, "source"), code, err, sizeof err);
	jv wf;

	if (!file) {
		wf_warn("%s: %s", who, err);
		return jv_invalid();
	}
	wf = wf_workflow_load(file, &diag, code);
	free(file);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (!jv_is_valid(wf) && !*code)
		*code = WF_EXIT_DATA;
	return wf;
}

int
wf_subflow_begin(struct driver *c, jv wf, struct driver *d, const char *id, const char *branch)
{
	int flags = WF_RUN_CREATE | WF_RUN_LOCK | WF_RUN_WRITE | WF_RUN_FRESH, rc;

	wf_driver_use(c, wf);
	if ((rc = wf_preflight_inputs(c)) || (rc = wf_preflight(c)))
		return rc;
	rc = branch ? wf_run_open_branch(d->run, id, branch, flags, &c->run, c->err, sizeof c->err) :
		      wf_run_open_sub(d->run, id, flags, &c->run, c->err, sizeof c->err);
	if (rc) {
		wf_warn("%s", c->err);
		return rc;
	}
	if ((rc = wf_driver_save_workflow(c)))
		return rc;
	return wf_driver_start_journal(c);
}

/* Start the sub-run of step ID (STEP borrowed) of D in driver C afresh: WF_GO_ON, or an exit status after a message. */
static int
start(struct driver *c, struct driver *d, const char *id, jv step)
{
	char who[200];
	int code = 0;
	jv wf;

	snprintf(who, sizeof who, "step '%.150s'", id);
	wf = wf_subflow_load(d, wf_jv_str(step, "workflow"), who, &code);
	if (!jv_is_valid(wf)) {
		jv_free(wf);
		return code;
	}
	return wf_subflow_begin(c, wf, d, id, NULL);
}

/*
 * Does D resume at step ID with a sub-run there that belongs to this run
 * (its number)?  1 with it opened, locked, in C; 0 to start afresh; or
 * an exit status, negated, after a message.
 */
static int
reopen(struct driver *c, struct driver *d, const char *id)
{
	int rc;

	if (!d->resume_at || strcmp(d->resume_at, id) || d->ran != 1)
		return 0;
	rc = wf_run_open_sub(d->run, id, WF_RUN_LOCK | WF_RUN_WRITE, &c->run, c->err, sizeof c->err);
	if (rc == WF_EXIT_NOINPUT)
		return 0;
	if (rc) {
		wf_warn("%s", c->err);
		return -rc;
	}
	if (!wf_jv_str(c->run->state, "status") ||
	    wf_jv_num(c->run->state, "id", -1) != wf_jv_num(d->run->state, "id", -2)) {
		wf_run_close(c->run);
		c->run = NULL;
		return 0;
	}
	return 1;
}

int
wf_subflow_is_failure(const char *reason)
{
	for (int i = 0; reason && failures[i]; i++)
		if (!strcmp(reason, failures[i]))
			return 1;
	return 0;
}

/* The step result RES (consumed, returned) of the sub-run in C of STEP (borrowed), which ended with exit status RC. */
static jv
outcome(struct driver *c, jv step, int rc, jv res)
{
	jv st = c->run ? jv_copy(c->run->state) : jv_null(), usage = wf_jv_get(st, "usage");
	const char *status = wf_jv_str(st, "status"), *why = wf_jv_str(st, "reason");
	const char *ref = wf_jv_str(step, "workflow") ? wf_jv_str(step, "workflow") : "?";

	if (jv_get_kind(usage) == JV_KIND_OBJECT && jv_object_length(jv_copy(usage)) > 0)
		res = jv_object_set(res, jv_string("usage_models"), jv_copy(usage));
	if (status && !strcmp(status, "completed")) {
		jv outs = wf_jv_get(st, "outputs");
		char *txt;

		if (jv_get_kind(outs) != JV_KIND_OBJECT) {
			jv_free(outs);
			outs = jv_object();
		}
		txt = wf_json_dump(outs);
		res = jv_object_set(res, jv_string("exit_code"), jv_number(0));
		res = jv_object_set(res, jv_string("output"), jv_string(txt));
		res = jv_object_set(res, jv_string("outputs"), outs);
		/* output: VAR keeps the step's output, the outputs as one JSON object, in a variable. */
		if (wf_jv_str(step, "output"))
			res = jv_object_set(res, jv_string("vars"),
					    jv_object_set(jv_object(), jv_string(wf_jv_str(step, "output")), jv_string(txt)));
		free(txt);
	} else if (!status) {
		res = failed(res, rc ? rc : WF_EXIT_SOFTWARE,
			     wf_xasprintf("workflow '%s' could not start (exit status %d)", ref, rc));
	} else if (!strcmp(status, "failed") && wf_subflow_is_failure(why)) {
		res = failed(res, rc ? rc : WF_EXIT_FAIL, wf_xasprintf("workflow '%s' failed at step '%s' (%s)", ref,
			     wf_jv_str(st, "cursor") ? wf_jv_str(st, "cursor") : "?", why));
	} else {
		jv stop = jv_object_set(jv_object(), jv_string("status"), jv_string(status));

		stop = jv_object_set(stop, jv_string("reason"), jv_string(why ? why : status));
		stop = jv_object_set(stop, jv_string("pending"), wf_jv_get(st, "pending"));
		res = jv_object_set(res, jv_string("status"), jv_string("waiting"));
		res = jv_object_set(res, jv_string("sub_stop"), jv_number(rc ? rc : WF_EXIT_SOFTWARE));
		res = jv_object_set(res, jv_string("stop"), stop);
	}
	jv_free(usage);
	jv_free(st);
	return res;
}

jv
wf_subflow_run(struct driver *d, const char *id, jv step)
{
	struct wf_run_opts o = *d->o;
	struct driver c;
	jv res = result(id, "ok");
	int depth = 1, rc, again = 0;

	for (struct driver *a = d; a->parent; a = a->parent)
		depth++;
	if (depth >= WF_SUBFLOW_MAX_DEPTH)
		return failed(res, WF_EXIT_LIMIT, wf_xasprintf("workflows nest deeper than %d levels at step '%s'",
			      WF_SUBFLOW_MAX_DEPTH, id));
	/* The sub-run's commands name the run a person started; its events are its own journal's. */
	o.target = d->run->name;
	o.run_name = o.start_step = NULL;
	o.max_steps = 0;
	o.json = o.estimate = o.dry_run = o.restart = 0;
	o.vars = jv_object();
	rc = wf_driver_open(&c, &o);
	c.parent = d;
	c.sub_step = id;
	c.tty_in = d->tty_in;
	if (rc == WF_GO_ON && (again = reopen(&c, d, id)) < 0) {
		rc = -again;
	} else if (again) {
		/* What the resume was given (--answer, --rerun, --skip) is for the sub-run, once. */
		d->o->answer = NULL;
		d->o->rerun = d->o->skip = 0;
		if (strcmp(wf_jv_str(c.run->state, "status"), "completed"))
			rc = wf_driver_resume_in(&c);
		else
			rc = 0;
	} else if (rc == WF_GO_ON) {
		o.answer = NULL;
		o.rerun = o.skip = o.accept_changes = 0;
		jv_free(o.vars);
		o.vars = wf_subflow_with(d, step);
		rc = start(&c, d, id, step);
	}
	if (rc == WF_GO_ON)
		rc = wf_driver_drive(&c);
	res = outcome(&c, step, rc, res);
	wf_driver_close(&c);
	jv_free(o.vars);
	return res;
}

int
wf_subflow_stopped(struct driver *d, const char *id, jv res)
{
	jv stop = wf_jv_get(res, "stop"), pending = wf_jv_get(stop, "pending");
	jv extra = jv_object_set(jv_object(), jv_string("step"), jv_string(id));
	const char *status = wf_jv_str(stop, "status");
	int code = (int)wf_jv_num(res, "sub_stop", WF_EXIT_SOFTWARE), rc;

	extra = jv_object_set(extra, jv_string("cursor"), jv_string(id));
	/* Its question is the run's: answered with 'wf resume NAME --answer', taken by the sub-run. */
	if (jv_get_kind(pending) == JV_KIND_OBJECT)
		extra = jv_object_set(extra, jv_string("pending"),
				      jv_object_set(jv_copy(pending), jv_string("sub"), jv_string(id)));
	rc = wf_driver_stop(d, strcmp(status, "failed") ? "pause" : "run-end", status, wf_jv_str(stop, "reason"),
			    extra, code);
	jv_free(pending);
	jv_free(stop);
	jv_free(res);
	return rc;
}
