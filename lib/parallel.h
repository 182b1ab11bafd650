/*
 * parallel.h: steps of action 'parallel', whose branches run side by
 * side (wf-workflow(5), "Parallel steps"): checking and normalising a
 * parallel step's branches (workflow_par.c, layer 2), and running them,
 * each as a run nested in the caller's, in a process of its own
 * (parallel.c, layer 4: the driver).
 */
#ifndef WF_PARALLEL_H
#define WF_PARALLEL_H

#include "wf_priv.h"

/* The most branches one parallel step may start at once, whatever max-concurrency says. */
#define WF_PARALLEL_MAX_CONCURRENCY 64
/* The most branches one parallel step may have (a for-each list longer than this fails the step). */
#define WF_PARALLEL_MAX_BRANCHES 1000

/* ---- state.c ---- */

/*
 * Open the run of branch BRANCH of parallel step STEP of run PARENT,
 * PARENT->dir/sub/STEP/BRANCH (named as PARENT), with FLAGS as
 * wf_run_open_sub's: 0, or an exit code with ERR (66 when there is none).
 */
int wf_run_open_branch(struct wf_run *parent, const char *step, const char *branch, int flags, struct wf_run **out,
		       char *err, size_t n);
/* Remove what an earlier pass of step STEP left under PARENT->dir/sub/STEP. */
void wf_run_clear_sub(struct wf_run *parent, const char *step);

/* ---- workflow_check.c ---- */

/*
 * STEPS (consumed), a list of raw steps at C's base, checked and
 * normalised with the flow rules over the list and each step's "next".
 * The caller owns the list.
 */
jv wf_check_steps(struct wf_check *c, jv steps);

/* ---- workflow_par.c (layer 2) ---- */

/*
 * The normalised parallel step OUT (consumed; returned) at PATH: its
 * branches (or for-each body) checked as lists of steps of their own,
 * each branch {name, steps} or {name, workflow, with}; problems in C.
 */
jv wf_check_parallel(struct wf_check *c, jv out, const char *path);

/* The branches of parallel step STEP (borrowed) for a run whose view is VIEW (borrowed): for-each expanded.  The caller owns the list; invalid with ERR when the list cannot be made. */
jv wf_parallel_branches(jv step, jv view, char *err, size_t n);

/* ---- parallel.c (layer 4) ---- */

struct driver;

/*
 * Run the parallel step STEP (borrowed) ID of the driver D: its branches
 * side by side, each a run nested in D's, started afresh or, when D
 * resumes at this step, continued where each stopped.  The caller owns
 * the result: ok or failed (with branches, vars and usage_models), or,
 * when a branch waits for a person or the run must stop, "sub_stop"
 * with its stop to mirror (wf_subflow_stopped).
 */
jv wf_parallel_run(struct driver *d, const char *id, jv step);

/* How many branches of parallel step STEP (borrowed) run at once: its max-concurrency, else the cores (at most 8). */
int wf_parallel_concurrency(jv step);

/*
 * Check ANSWER, "BRANCH:VALUE" (or VALUE when one question is pending),
 * against PENDING (borrowed), a parallel step's questions: 0, or -1 with
 * a message in ERR.
 */
int wf_parallel_answer_check(jv pending, const char *answer, char *err, size_t n);

#endif
