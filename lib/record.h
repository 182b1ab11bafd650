/*
 * record.h: a run's model calls, kept so that a later run can be answered
 * from them (wf-run --replay) and one call asked again of another model
 * (wf rerun).  See wf-json(7), "Recordings".
 *
 * Every model call an action makes through a `wf-model chat` child of a
 * run is appended, once it has answered, to RUNDIR/calls.jsonl: one JSON
 * object a line, flushed to disk before the step's end is journaled:
 *
 *   {"v": 1,
 *    "step": ID, "seq": N,            the step, and the journal event its
 *                                     execution began with (its step-start)
 *    "fingerprint": HEX,              sha256 of the key, below
 *    "key": {"provider": P, "model": MODEL-ID, "system": S|null,
 *            "messages": [{role, content}...], "options": {...}|null},
 *    "name": ALIAS,                   the name the step asked for
 *    "answer": {...},                 the wf-model chat result: text,
 *                                     model, usage, cost, finish_reason...
 *    "replayed": true,                only when answered from a recording
 *    "from": {"run": NAME, "line": N} where that recording was}
 *
 * The key is what decides the answer: the provider, the model it serves,
 * the conversation and the parameters; not the alias, the URL, streaming
 * or any header, so neither a renamed alias nor a moved server changes a
 * fingerprint.  Nothing here ever holds an API key: the key is not part
 * of a request, and every line is masked before it is written.
 *
 * Layer 2: domain data.
 */
#ifndef WF_RECORD_H
#define WF_RECORD_H

#include "wf_priv.h"

/*
 * The key of a call of resolved model M (borrowed: provider, model) with
 * chat request REQ (borrowed: system, messages or prompt, options), as
 * above; the caller owns it.
 */
jv wf_record_key(jv m, jv req);

/* The fingerprint of KEY (borrowed): 64 hex digits of sha256 over its sorted JSON. */
void wf_record_fingerprint(jv key, char out[65]);

/* REC (borrowed), a chat request's "record" member: 0 when well formed, else -1 with ERR. */
int wf_record_check(jv rec, char *err, size_t errlen);

/*
 * Append LINE (borrowed; "v" and "fingerprint" filled in when missing)
 * to DIR/calls.jsonl, masked, and fdatasync it.  0, or -1 with ERR.
 */
int wf_record_append(const char *dir, jv line, char *err, size_t errlen);

/*
 * Every recorded call of the run in DIR, in order, as an array (empty
 * when none); a line that does not parse is skipped.  The caller owns it.
 */
jv wf_record_read(const char *dir);

/*
 * The recording in CALLS (borrowed, from wf_record_read) that answers the
 * N-th call (0 the first) with fingerprint FP, with "line" (1-based) set;
 * or an invalid jv.  The caller owns it.
 */
jv wf_record_find(jv calls, const char *fp, int n);

/* How many of CALLS (borrowed) have fingerprint FP. */
int wf_record_count(jv calls, const char *fp);

#endif
