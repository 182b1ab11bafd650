/*
 * subflow.h: sub-workflows, the steps of action 'workflow' that run
 * another workflow as one step (wf-workflow(5), "Workflows that call
 * workflows"): finding and checking the workflow a step calls and
 * evaluating a workflow's outputs (workflow_sub.c, layer 2), and running
 * it as a run nested in the caller's (subflow.c, layer 4: the driver).
 */
#ifndef WF_SUBFLOW_H
#define WF_SUBFLOW_H

#include "wf_priv.h"

/* How deeply workflows may call workflows: a step of the 8th level may not call a 9th. */
#define WF_SUBFLOW_MAX_DEPTH 8

/* ---- workflow_sub.c (layer 2) ---- */

/*
 * The file of the workflow REF that a step of the workflow read from
 * CALLER (its source path, or "-") calls: REF with a '/' or a .yaml/.yml
 * ending is a file relative to CALLER's directory, anything else a name
 * along the search path.  Malloc'd, or NULL with *CODE (65, 66) and ERR.
 */
char *wf_subflow_resolve(const char *ref, const char *caller, int *code, char *err, size_t n);

/*
 * The checks of WF's (borrowed) workflow steps that need the workflow
 * called, made as C's file is validated: it is found and valid, its
 * with: keys are its inputs, every input it requires is given, no cycle
 * of workflows calling each other, no deeper than WF_SUBFLOW_MAX_DEPTH.
 */
void wf_subflow_check(struct wf_check *c, jv wf);

/*
 * state.c: open the sub-run of step STEP of run PARENT, PARENT->dir/sub/STEP
 * (named as PARENT, whose name every command about it uses), with FLAGS
 * as wf_run_open_in's, and WF_RUN_FRESH to start it afresh: 0, or an
 * exit code with ERR.
 */
int wf_run_open_sub(struct wf_run *parent, const char *step, int flags, struct wf_run **out, char *err, size_t n);

/*
 * WF's (borrowed) outputs: each text of its outputs: substituted from
 * CTX (borrowed; a run's view).  An object the caller owns; {} when WF
 * declares none.
 */
jv wf_subflow_outputs(jv wf, jv ctx);

/* ---- subflow.c (layer 4) ---- */

struct driver;

/*
 * Run the workflow step STEP (borrowed) ID of the driver D: its workflow
 * as a run nested in D's, started afresh or, when D resumes at this
 * step, continued where it stopped.  The caller owns the step result:
 * ok or failed (with outputs and usage_models), or, when the nested run
 * stopped to wait, was interrupted or could not go on, "sub_stop" with
 * its stop to mirror (wf_subflow_stopped).
 */
jv wf_subflow_run(struct driver *d, const char *id, jv step);

/* The with: of STEP (borrowed: a workflow step, or a parallel step's branch), each text substituted from D's run: the sub-run's variables; the caller owns them. */
jv wf_subflow_with(struct driver *d, jv step);

/*
 * The workflow REF names, resolved from D's workflow's file, loaded and
 * checked: the caller owns it; invalid with *CODE after a message that
 * WHO ("step 'ID'", "step 'ID', branch 'B'") begins.
 */
jv wf_subflow_load(struct driver *d, const char *ref, const char *who, int *code);

/*
 * Begin in driver C the run nested in D's at step ID (BRANCH: a parallel
 * branch's, or NULL) afresh, driving WF (consumed): preflight, its
 * directory, its definition and its start.  WF_GO_ON, or an exit status
 * after a message.
 */
int wf_subflow_begin(struct driver *c, jv wf, struct driver *d, const char *id, const char *branch);

/* Is REASON one a sub-run fails for (its step fails) rather than stops for (its caller stops)? */
int wf_subflow_is_failure(const char *reason);

/* The nested run of step ID stopped as RES (consumed) says: stop D the same way; returns its exit status. */
int wf_subflow_stopped(struct driver *d, const char *id, jv res);

#endif
