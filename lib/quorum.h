/*
 * quorum.h: a review quorum: one step asking several models the same
 * question at once (`models:` with `quorum:` and `on-split:` in review-pr
 * and ai-prompt, wf-workflow(5), "Review quorum").  quorum.c (layer 2)
 * has the rules of those keys and the calls' fan-out; the actions
 * (ai.c, pr_review.c; layer 3) build the requests, read the answers and
 * count the verdicts.  Layer 2: domain data.
 */
#ifndef WF_QUORUM_H
#define WF_QUORUM_H

#include "wf_priv.h"

/*
 * Step S (borrowed, at index I of a normalised workflow): 'models' a list
 * of distinct model names and not beside 'model'; 'quorum' from 1 to the
 * number of models; 'quorum' and 'on-split' only with 'models'; an
 * ai-prompt with 'models' answers with 'format: json'.  Problems go to C.
 */
void wf_quorum_check_rules(struct wf_check *c, jv s, int i);

/* The step's quorum: its 'quorum' (STEP borrowed), else a majority of its N models, floor(N/2)+1. */
int wf_quorum_of(jv step, int n);

/*
 * Told of call I's result RES (borrowed) as soon as it is known, while
 * the other calls go on: what the caller must keep at once (a verdict a
 * crash must not make it ask again) it saves there.
 */
typedef void wf_quorum_each(int i, jv res, void *arg);

/*
 * Ask every chat request of CREQS (consumed, an array of wf-model(1) chat
 * requests) of its own `wf-model chat -q` child, all of them at once:
 * each child in a process group of its own, reported (wf_spawn_group_hook)
 * and killed with the step, as the warm child is.  EACH (may be NULL) is
 * called with ARG for each call as it ends.  Returns an array of the
 * same length, owned by the caller: each call's result, or
 * {"error": MESSAGE, "exit_code": N} for a call that failed.
 */
jv wf_quorum_chat(jv creqs, wf_quorum_each *each, void *arg);

/* ---- the actions' side (ai.c, pr_review.c): layer 3 ---- */

/*
 * VERDICTS (borrowed: [{model, approved, ...}], one per model that
 * answered) counted against QUORUM of N models asked: R (consumed,
 * returned) with "approved", "split" (the verdicts differ), "quorum"
 * {models, answered, approvals, quorum} and "verdicts"; *LINE (malloc'd)
 * says "A of N approved (quorum Q)".  Fewer answers than QUORUM fail R
 * with 69 and return -1; else 0.
 */
int wf_quorum_count(jv *r, jv verdicts, int n, int quorum, char **line);

/* The usage of the call result RES (borrowed) added to TOTALS (consumed, returned) under its model: a step's usage_models. */
jv wf_quorum_usage(jv totals, jv res);

/*
 * The chat request wf_ai_chat sends (the caller owns it), without where
 * its reply streams: REQ (borrowed) the step request, MODEL (NULL: the
 * run's current one), SYSTEM (may be NULL), PROMPT, after the run's
 * conversation with WITH_TRANSCRIPT.
 */
jv wf_ai_chat_request(jv req, const char *model, const char *system, const char *prompt, int with_transcript);

/*
 * Ask each model of the list MODELS (borrowed) SYSTEM and PROMPT at once
 * for step request REQ (borrowed), as wf_quorum_chat does (EACH and ARG
 * as there): the results, one per model, owned by the caller.
 */
jv wf_ai_quorum_chat(jv req, jv models, const char *system, const char *prompt, wf_quorum_each *each, void *arg);

#endif
