/*
 * rewind.h: going back in a run (wf-state(1) rewind, wf-run(1) --fork):
 * where a run stood just before a step it reached (rewind.c, layer 2:
 * domain data), and the fork that starts a new run from there (fork.c,
 * layer 4: the driver).
 *
 * A rewind is one journal event (wf-json(7) "rewind"): history is never
 * rewritten.  It and a fork's run-start carry what the reducer
 * (state_journal.c) restores: the variables, model, step records, loop
 * passes and transcript as they were just before the step, and the loop
 * counters then (a loop entered after that point is back at 0).
 */
#ifndef WF_REWIND_H
#define WF_REWIND_H

#include "wf_priv.h"

/*
 * Where run R (borrowed, opened) stood just before pass PASS (0: the
 * last) of step STEP, as the journal's prefix before that pass gives it:
 * {"step", "pass", "seq" (the first event of that pass), "vars" (every
 * variable then), "loops", "restore"}.  The caller owns it; invalid with
 * *CODE and ERR: 2 for a step not in the run's workflow (ERR names its
 * steps), 66 for one the run never reached or a pass it did not run (ERR
 * names the steps it reached or its passes), 74 for a read error.
 */
jv wf_rewind_point(struct wf_run *r, const char *step, long pass, int *code, char *err, size_t n);

/* The state of a run before event SEQ, its journal EVENTS (borrowed) replayed by the one reducer; the caller owns it. */
jv wf_state_before(jv events, long seq);

/*
 * Move run R (borrowed, opened locked for writing, not a past run) back
 * to pass PASS (0: the last) of step STEP, VARS (borrowed, an object: the
 * --var values) set on top: one rewind event, the run paused there.
 * 0, or an exit status with ERR (as wf_rewind_point; 75 when a process
 * its step in flight started still runs).
 */
int wf_run_rewind(struct wf_run *r, const char *step, long pass, jv vars, char *err, size_t n);

/*
 * wf fork (fork.c, layer 4): a new run o->run_name from where run
 * o->target stood just before pass PASS (0: the last) of step
 * o->start_step, run from that step on as wf resume would; o->target's
 * files are only read.  Returns the exit status.
 */
int wf_run_fork(struct wf_run_opts *o, long pass);

#endif
