/*
 * estimate.h: what a run is expected to use before it runs, and the
 * budget it may use (wf-run(1), "Replay and estimates"; wf-workflow(5),
 * "budget:").  budget.c (Layer 2: domain data) reads and shows a budget
 * for the driver, wf-run's options and wf status; estimate.c (Layer 4:
 * driver) makes the estimate wf-run --estimate prints; this header keeps
 * the one token approximation both the provider and the estimate use.
 *
 * A budget is a JSON object {"usd"?: N, "tokens"?: N}: the workflow's
 * budget:, with --budget's members on top (the run's state.budget, from
 * its run-start and resume events).
 */
#ifndef WF_ESTIMATE_H
#define WF_ESTIMATE_H

#include "wf_priv.h"

/*
 * About how many tokens BYTES bytes of text are: one token for every four
 * bytes, rounded up.  Inline, so that wf-run's estimate does not link the
 * provider client (and libcurl with it) into the driver.
 */
static inline double
wf_tokens_of_bytes(size_t bytes)
{
	return (double)((bytes + 3) / 4);
}

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

/* One model call, as the budget gate sees it before making it. */
struct wf_call_estimate {
	double input, output;	/* tokens */
	double usd;		/* dollars, when usd_known */
	int usd_known;		/* 0: the model has no price (cost_why says so) */
	char model[128];
	char basis[160];	/* where the numbers come from */
	char cost_why[256];
};

/*
 * The next call of STEP, about to run in a run of WF whose state is
 * STATE, with CTX its substitution context (all borrowed), estimated as
 * wf_estimate estimates a step: this step's mean per call in this
 * project's completed runs of WF (read on the first call of a process,
 * then kept); else its prompt after substitution,
 * the transcript in STATE and the model's output_tokens, at the model's
 * prices.  Fills *C; 0.
 */
int wf_estimate_call(jv wf, jv step, jv state, jv ctx, struct wf_call_estimate *c);

/* Print estimate EST (borrowed) on FP for people. */
void wf_estimate_print(FILE *fp, jv est);

#endif
