/*
 * branch.h: where a step's result sends the run, and a model's review
 * read as a verdict (branch.c).  The driver, the review actions and
 * wf rerun share them, so a rerun judges a new answer exactly as the run
 * judged the old one.  Layer 2: domain data.
 */
#ifndef WF_BRANCH_H
#define WF_BRANCH_H

#include "wf_priv.h"

/*
 * The JSON object in a model's TEXT: the whole text, or what a ```json
 * fence holds, or the span from the first '{' to the last '}'.  The
 * caller owns the object; invalid with ERR.
 */
jv wf_json_object_in(const char *text, char *err, size_t errlen);

/*
 * A model's review verdict in TEXT, made regular: {approved, summary,
 * comments: [{path, line, body}]} owned by the caller; invalid with ERR
 * when it says neither yes nor no.
 */
jv wf_verdict_of(const char *text, char *err, size_t errlen);

/*
 * Is EXPR true for STEP (borrowed) in the run's VIEW (borrowed; as
 * wf_run_view gives it), before it runs when RES (consumed) is null, or
 * after it ran with result RES?  0/1, or -1 with *CODE and *MSG (the
 * caller frees it).
 */
int wf_branch_decide(jv view, jv step, jv res, const char *expr, int *code, char **msg);

/*
 * After STEP ran with result RES (VIEW, STEP and RES borrowed): the id of
 * the next step (a string), null for the end, or invalid with *CODE: after
 * a message in *MSG (the caller frees it), 77 for a declined
 * confirmation, 1 or 4 for a failure.  *JUMP describes the decision for
 * the journal ({"to", "verdict"|"condition","value"|"because"}), or null;
 * the caller owns it and the result.
 */
jv wf_branch_after(jv view, jv step, jv res, jv *jump, int *code, char **msg);

#endif
