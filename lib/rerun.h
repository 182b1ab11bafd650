/*
 * rerun.h: one AI step of a run asked again of other models, and what
 * that would have changed (wf-model(1) "Rerun", wf-json(7) "Rerun").
 * rerun.c finds the call and asks it again; rerun_show.c prints the
 * comparison.  Layer 2: domain data.
 *
 * The run is only read: its journal, its workflow and its recordings
 * (record.h).  The call asked again is by default the last recorded
 * model call of the chosen execution of the step, the one whose answer
 * the run used (or the one --call names), with exactly its system text,
 * messages and options; only the model differs.  Nothing of a rerun is recorded or journaled anywhere.
 */
#ifndef WF_RERUN_H
#define WF_RERUN_H

#include <stdio.h>

#include "wf_priv.h"

/*
 * The case of step STEP, pass PASS (0: the last) of run RUN (a name or a
 * past run's number), its model call CALL (from 1; 0: the last):
 * {"run", "step", "action", "pass", "passes", "call", "calls", "old":
 * {"model", "name", "text", "usage", "cost" of that call, and the run's
 * "verdict"? and "branch"}} plus what wf_rerun_ask needs (members
 * starting with "_").  The caller owns it; invalid with *CODE and ERR: 2
 * a step not in the workflow, 65 not an AI step, 66 no such run, a step
 * never reached, a pass it did not run, no recording of its call or
 * fewer calls than CALL, 74.
 */
jv wf_rerun_case(const char *run, const char *step, long pass, long call, int *code, char *err, size_t n);

/*
 * Ask the case C's call (borrowed) again of model NAME through the
 * registry REG (borrowed), with O: {"model", "text", "usage", "cost",
 * "verdict"?, "branch": {"same", "was", "would", ...}}, or on a failure
 * {"model", "error", "exit_code"} with *CODE the failure's exit status
 * (0 on success).  The caller owns it.
 */
jv wf_rerun_ask(jv reg, jv c, const char *name, const struct wf_chat_opts *o, int *code);

/* The document wf rerun --json prints: case C (consumed) with NEW (consumed), the models' answers; the caller owns it. */
jv wf_rerun_doc(jv c, jv new);

/*
 * Print DOC (borrowed, from wf_rerun_doc) for a person on FP: the old and
 * each new answer side by side in WIDTH columns, or as a unified diff
 * when DIFF, then the usages, costs, verdicts and paths.
 */
void wf_rerun_print(FILE *fp, jv doc, int diff, int width);

/* The width of the terminal on FD for text: $COLUMNS, else the terminal's, else 80 (tty.c). */
int wf_tty_columns(int fd);

#endif
