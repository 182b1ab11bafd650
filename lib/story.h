/*
 * story.h: the path a run took, read from its journal (story.c), for
 * everything that shows a run after the fact: wf graph's overlay, wf
 * report, wf logs --timeline.  Layer 2: domain data.
 *
 * The story is one JSON object (wf-json(7), "Story"):
 *
 *   {"run": {"name", "id", "project", "workflow_name", "workflow",
 *            "status", "started", "ended", "duration_ms", "exit_code",
 *            "cursor", "models": [NAME...], "usage": {...},
 *            "forked_from": {"run", "id", "step", "seq"}?,
 *            wf_story_of adds "tokens", "cost_usd" and "dir"},
 *    "timeline": [ENTRY...],        every step execution and every other
 *                                   event that changed the path, in order
 *    "passes": {STEP: N},           executions that ended, by step
 *    "last": {STEP: I},             the timeline index of each step's
 *                                   last execution
 *    "edges": [{"from", "to", "count"}],   moves from a step to the next
 *                                   one executed, in first-taken order
 *    "current": STEP|null,          where a run not completed stands
 *    "failed": STEP|null}           the step that ended the run failing
 *
 * A step ENTRY: {"event": "step", "seq", "step", "action", "pass",
 * "attempt", "status" (ok, failed, skipped, waiting, running, in-doubt),
 * "exit_code"?, "started", "ended"?, "duration_ms"?, "model"?, "usage"?,
 * "condition"?, "value"?, "verdict"? (approved, rejected), "answer"?,
 * "jump"? ({"to", ...} as journaled), "next" (the cursor after it, or
 * null), "error"?, "iteration"?, "max_iterations"?, "exhausted"? (a
 * loop's), "timed_out"?, "by"? (who skipped it), "output"?, "stderr"?
 * (the step-end's, as journaled: the step's full text is in its files,
 * steps/SEQ-STEP.out and .err)}.  "seq" is the execution's first
 * step-start, or its step-end when it had none.  "pass" counts the
 * step's executions from 1; a retry is the same execution.
 * Any other ENTRY is the journal event itself with "event" its kind
 * (pause, answer, resume, rewind, consent other than a yes by a standing
 * rule (a trusted file, --yes, auto-approve), var-set, model-switch,
 * run-end, ...), without its crc, vars, outputs, pid, hash and restore
 * (a rewind's state before its step).  A rewind starts no edge: it is no
 * move of the workflow.
 */
#ifndef WF_STORY_H
#define WF_STORY_H

#include "wf_priv.h"

/*
 * The story of a run from its journal EVENTS and its state ST (both
 * borrowed; as wf_run_read_journal and wf_run_open give them).  Pure: no
 * I/O.  The caller owns the result.
 */
jv wf_story(jv events, jv st);

/* The story of run R (borrowed, opened read-only): caller owns; invalid with ERR on a read error. */
jv wf_story_of(struct wf_run *r, char *err, size_t n);

/* The name of the model in V (borrowed: a name, or {name, ...} as journaled), or NULL; it lives as long as V. */
const char *wf_model_name_in(jv v);

#endif
