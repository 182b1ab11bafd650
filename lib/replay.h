/*
 * replay.h: answering a run's model calls from another run's recordings
 * (wf-run --replay RUN, --replay-mode, --offline; wf-run(1) "Replay and
 * estimates", wf-json(7) "Recordings").  The recordings themselves are
 * record.h's; this file finds the run that holds them and decides, call
 * by call, between a recorded answer, a live call and a refusal.
 *
 * Layer 2: domain data.
 */
#ifndef WF_REPLAY_H
#define WF_REPLAY_H

#include "wf_priv.h"

/* wf_replay_answer: the call may go to the provider. */
#define WF_REPLAY_LIVE (-1)

/*
 * The run NAME (a run of this project by name, or a past one by number)
 * whose recordings a new run replays with MODE ("strict" or "fill"), as
 * the run-start event keeps it: {"run": NAME, "id": N, "dir": DIR,
 * "mode": MODE}; the caller owns it.  Invalid with *CODE and ERR: 66 when
 * there is no such run or it holds no calls.jsonl, 74 when it cannot be
 * read.
 */
jv wf_replay_locate(const char *name, const char *mode, int *code, char *err, size_t n);

/*
 * Where the recordings of REPLAY (borrowed, from wf_replay_locate) are
 * now in project PROJ: a run retired to the history since moved there.
 * The caller owns the object returned: REPLAY with "dir" brought up to date.
 */
jv wf_replay_now(const char *proj, jv replay);

/*
 * Answer chat request REQ (borrowed: "replay" {dir, run, mode}, "offline",
 * "record" {dir, step}) for model M (borrowed, resolved, before any
 * fallback).  0 with *OUT (the caller owns it) the recorded answer, marked
 * "replayed" with "from" {run, line}, cost $0, the recorded usage;
 * WF_REPLAY_LIVE when the call may go live; or an exit status with *OUT
 * an error result: 66 a strict miss (what differs from the nearest
 * recording of the step), 69 a live call refused offline, 65 a damaged
 * recording.
 */
int wf_replay_answer(jv m, jv req, jv *out);

/* REQ (borrowed), a chat request: 0 when its "replay" and "offline" are well formed, else -1 with ERR. */
int wf_replay_check(jv req, char *err, size_t n);

/* How many calls of state usage USAGE (borrowed: model -> totals) were replayed. */
double wf_replay_count(jv usage);

#endif
