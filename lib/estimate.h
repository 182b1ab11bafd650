/*
 * estimate.h: what a run is expected to use before it runs, and the
 * budget it may use (wf-run(1), "Replay and estimates"; wf-workflow(5),
 * "budget:").  budget.c (Layer 2: domain data) reads and shows a budget
 * for the driver, wf-run's options and wf status; estimate.c (Layer 4:
 * driver) makes the estimate wf-run --estimate prints; provider.c keeps
 * the one token approximation both the provider and the estimate use.
 *
 * A budget is a JSON object {"usd"?: N, "tokens"?: N}: the workflow's
 * budget:, with --budget's members on top (the run's state.budget, from
 * its run-start and resume events).
 */
#ifndef WF_ESTIMATE_H
#define WF_ESTIMATE_H

#include "wf_priv.h"

/* ---- provider.c ---- */

/* About how many tokens BYTES bytes of text are: one token for every four bytes, rounded up. */
double wf_tokens_of_bytes(size_t bytes);

/* ---- budget.c ---- */

/*
 * Read --budget's AMOUNT: "$DOLLARS" ($2.50, $0.5) or "N tokens"
 * (40000tokens, 40k tokens, 1.5M tokens; k a thousand, M a million).
 * 0 with *OUT ({"usd": N} or {"tokens": N}, the caller owns it), or -1
 * with ERR saying what is accepted.
 */
int wf_budget_parse(const char *text, jv *out, char *err, size_t n);

/*
 * The budget a run of WF has: WF's budget: with GIVEN's members (an
 * object, or anything for none) on top.  WF and GIVEN borrowed; the
 * caller owns the result, an object (empty: no budget).
 */
jv wf_budget_effective(jv wf, jv given);

/* BUDGET (borrowed) as people read it ("$0.50", "40000 tokens", "$0.50 and 40000 tokens"), malloc'd; NULL for none. */
char *wf_budget_text(jv budget);

/* EV (consumed, returned) with "budget" set from --budget's AMOUNT, already checked, when AMOUNT is not NULL. */
jv wf_budget_event(jv ev, const char *amount);

/* ---- estimate.c ---- */

/*
 * The estimate of a run of WF (borrowed) with variables VARS (borrowed,
 * --var's) under BUDGET (borrowed, wf_budget_effective's): the document
 * wf-json(7) "Estimate" describes.  Reads this project's runs and the
 * model configuration; the caller owns the result.
 */
jv wf_estimate(jv wf, jv vars, jv budget);

/* Print estimate EST (borrowed) on FP for people. */
void wf_estimate_print(FILE *fp, jv est);

#endif
