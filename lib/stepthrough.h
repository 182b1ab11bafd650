/*
 * stepthrough.h: stepping through a run (stepthrough.c), wf-run(1)
 * "Stepping through": --step, --break STEP-ID, --no-step, and the stop
 * before a step with its question (run, skip, edit, continue, pause).
 * Layer 4: driver; only run.c and runstep.c include it.
 *
 * What is remembered in the run's state (a "stepping" event sets it):
 * "stepping": {"step": BOOL, "breaks": [STEP-ID...]}, or absent.
 * A stop without a terminal is a pause with reason "step" and
 * "pending": {"kind": "step", "step", "message", "command" (what the
 * step will run, masked), "options": ["run", "skip", "continue"]}.
 */
#ifndef WF_STEPTHROUGH_H
#define WF_STEPTHROUGH_H

#include "driver.h"

/* Does every --break name a step of the workflow that runs an action?  WF_GO_ON, or 2 after a message. */
int wf_stepthrough_check(struct driver *d);

/*
 * A resume of a run stopped before a step: take the --answer for it
 * (run, skip or continue; none means run), used up here.  WF_GO_ON, or
 * 65 after a message.  Nothing is done for any other stop.
 */
int wf_stepthrough_resume(struct driver *d);

/* Journal the stepping the options ask for (--step, --break, --no-step), if any: WF_GO_ON or 74. */
int wf_stepthrough_begin(struct driver *d);

/*
 * Before the action STEP (borrowed) ID at IDX runs: stop there when the
 * run steps through or breaks at it.  Returns 0 to run it; 1 when it
 * was handled, with *EV (its end event) consumed and *RC set: WF_GO_ON
 * after a skip journaled, or the run stopped and its exit status.
 */
int wf_stepthrough(struct driver *d, const char *id, int idx, jv step, jv *ev, int *rc);

#endif
