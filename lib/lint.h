/*
 * lint.h: what a careful reviewer would say about a valid workflow
 * (workflow_lint.c; wf lint, wf-parse --suggest), and the variables a
 * workflow reads (workflow_vars.c).  Layer 2: domain data.
 */
#ifndef WF_LINT_H
#define WF_LINT_H

#include "wf_priv.h"

/* ---- workflow_vars.c ---- */

/*
 * The variables canonical workflow WF (borrowed) reads: as
 * wf_workflow_var_names, without the keys of variables and what steps
 * set.  The caller owns the array.
 */
jv wf_workflow_var_reads(jv wf);

/* ---- workflow_lint.c ---- */

/*
 * The warnings about the workflow in BUF (LEN bytes, read from FILE)
 * once it validates: [{file, line, col, rule, message, hint}] in file
 * order (wf-parse(1), "Suggestions"), and *NSTEPS its number of steps;
 * the caller owns the array.  An
 * invalid workflow gives an invalid jv with its errors in DIAG, as
 * wf_workflow_parse does.
 */
jv wf_workflow_lint(const char *buf, size_t len, const char *file, struct wf_diag *diag, int *nsteps);

/*
 * Find the workflow ARG names (a path, a name along the search path, or
 * "-" for standard input) and lint it: 0 with *WARNINGS (the caller owns
 * it) and *NSTEPS, or the exit status (65, 66, 74) with its problems printed on
 * stderr and *WARNINGS invalid.
 */
int wf_lint_open(const char *arg, jv *warnings, int *nsteps);

#endif
