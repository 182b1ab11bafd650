/*
 * fork.c: wf fork RUN STEP-ID --name NEW (wf-run(1) --fork): a new run
 * that starts where an earlier run stood just before a step it reached
 * (rewind.c says where), and goes on from that step as wf resume would.
 *
 * Layer 4: driver.
 *
 * The earlier run is only read, never locked or written: its journal up
 * to the step is fixed, so a fork of a run still going is safe.  The new
 * run's run-start carries "fork" (where it came from) and "restore" (the
 * state it starts from), so a kill right after it leaves a run that
 * 'wf resume NEW' continues from the step.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "rewind.h"

/*
 * Read run o->target, where the fork starts: its definition (driven from
 * now on), the variables then under the --var values (o->vars), and the
 * run-start's extra keys; *PASS (0: the last) becomes the pass it is.
 * WF_GO_ON, or an exit status after a message.
 */
static int
fork_origin(struct driver *d, long *pass)
{
	struct wf_run_opts *o = d->o;
	struct wf_run *from;
	jv point, wf, origin, restore, then;
	int rc = wf_run_open(o->target, 0, &from, d->err, sizeof d->err);

	if (rc) {
		wf_warn("%s", d->err);
		return rc;
	}
	point = wf_rewind_point(from, o->start_step, *pass, &rc, d->err, sizeof d->err);
	wf = jv_is_valid(point) ? wf_run_workflow(from, d->err, sizeof d->err) : jv_invalid();
	if (!jv_is_valid(wf)) {
		wf_warn("%s", d->err);
		jv_free(point);
		jv_free(wf);
		wf_run_close(from);
		return rc ? rc : WF_EXIT_IO;
	}
	wf_driver_use(d, wf);
	then = wf_jv_get(point, "vars");
	o->vars = jv_object_merge(jv_get_kind(then) == JV_KIND_OBJECT ? then : (jv_free(then), jv_object()), o->vars);
	origin = jv_object_set(jv_object(), jv_string("run"), jv_string(from->name));
	origin = jv_object_set(origin, jv_string("id"), jv_number(from->past ? from->id : wf_jv_num(from->state, "id", 0)));
	origin = jv_object_set(origin, jv_string("step"), jv_string(o->start_step));
	origin = jv_object_set(origin, jv_string("seq"), wf_jv_get(point, "seq"));
	/* The run-start's vars are those then with the --var values: restore needs none. */
	restore = jv_object_delete(wf_jv_get(point, "restore"), jv_string("vars"));
	jv_free(d->start_extra);
	d->start_extra = jv_object_set(jv_object(), jv_string("fork"), origin);
	d->start_extra = jv_object_set(d->start_extra, jv_string("original_model"), wf_jv_get(from->state, "original_model"));
	d->start_extra = jv_object_set(d->start_extra, jv_string("loops"), wf_jv_get(point, "loops"));
	d->start_extra = jv_object_set(d->start_extra, jv_string("restore"), restore);
	*pass = (long)wf_jv_num(point, "pass", 0);
	jv_free(point);
	wf_run_close(from);
	return WF_GO_ON;
}

/*
 * Create run o->run_name, locked, with the definition saved (a changed
 * workflow file needs --accept-changes, as for a resume): WF_GO_ON, or an
 * exit status after a message, and no new run left behind.
 */
static int
fork_open(struct driver *d)
{
	const char *name = d->o->run_name;
	struct wf_run *probe;
	int rc;

	/* A run of the name is looked at without its lock, which would write to it. */
	if (wf_run_open(name, 0, &probe, d->err, sizeof d->err) == 0) {
		rc = wf_jv_str(probe->state, "status") != NULL;
		if (rc)
			wf_warn("run '%s' exists (%s); choose another --name, or remove it first with 'wf-state rm %s'", name,
				wf_run_status_shown(probe->state, wf_run_is_live(probe)), name);
		wf_run_close(probe);
		if (rc)
			return WF_EXIT_USAGE;
	}
	if ((rc = wf_run_open(name, WF_RUN_CREATE | WF_RUN_LOCK | WF_RUN_WRITE, &d->run, d->err, sizeof d->err))) {
		wf_warn("%s", d->err);
		return rc;
	}
	if (wf_jv_str(d->run->state, "status")) {
		wf_warn("run '%s' exists (%s); choose another --name, or remove it first with 'wf-state rm %s'", name,
			wf_run_status_shown(d->run->state, 0), name);
		return WF_EXIT_USAGE;
	}
	if ((rc = wf_driver_save_workflow(d)) == 0)
		rc = wf_driver_load_saved(d);
	if (rc && rc != WF_GO_ON) {
		if (wf_run_remove(d->run, d->err, sizeof d->err))
			wf_warn("%s", d->err);
		return rc;
	}
	wf_run_clear_pause(d->run);
	return WF_GO_ON;
}

int
wf_run_fork(struct wf_run_opts *o, long pass)
{
	struct driver d;
	int rc = wf_driver_open(&d, o);

	if (rc == WF_GO_ON)
		rc = fork_origin(&d, &pass);
	if (rc == WF_GO_ON)
		rc = fork_open(&d);
	if (rc == WF_GO_ON) {
		jv from = wf_jv_get(d.start_extra, "fork");

		wf_driver_progress(&d, "%s: forked from run '%s' #%g at step '%s' (pass %ld)\n", o->run_name,
				   wf_jv_str(from, "run"), wf_jv_num(from, "id", 0), o->start_step, pass);
		jv_free(from);
	}
	if (rc == WF_GO_ON)
		rc = wf_driver_start_journal(&d);
	if (rc == WF_GO_ON) {
		/* From here on it is the new run that goes on, as a resume of it. */
		o->target = d.run->name;
		rc = wf_driver_resume_in(&d);
	}
	if (rc == WF_GO_ON)
		rc = wf_driver_drive(&d);
	wf_driver_close(&d);
	return rc;
}
