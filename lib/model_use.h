/*
 * model_use.h: a model called from a program other than wf-model (a
 * `wf-model` child, model.c), and what the calls used, totalled
 * (state_journal.c) and shown (status.c), for the actions (ai.c), the
 * end of a run (plan.c) and wf create (create.c).  Layer 2: domain data.
 */
#ifndef WF_MODEL_USE_H
#define WF_MODEL_USE_H

#include "wf_priv.h"

/* {role: ROLE, content: CONTENT}, one message of a chat request, owned by the caller. */
jv wf_chat_message(const char *role, const char *content);

/*
 * Run `wf-model ARGS...` (beside this program, else on PATH; ARGS
 * NULL-terminated, at most 6) in its own process group with INPUT on
 * stdin.  Returns its parsed stdout (the caller owns it), or an invalid
 * jv with *CODE set to its exit status and ERR filled.
 */
jv wf_model_run(char *const args[], const char *input, int *code, char *err, size_t errlen);

/*
 * TOT (consumed and returned; an object of totals by model, or anything
 * for none) with one call of model M that used U (borrowed:
 * {input_tokens, output_tokens, cached_tokens, usd}) added: calls, tokens
 * and dollars, a cost once unknown staying unknown (null).
 */
jv wf_usage_total(jv tot, const char *m, jv u);

/*
 * The totals by model USAGE (borrowed) for the end of a line in B, as
 * "; M: N calls, I input / O output tokens, $U" (or cost unknown) for one
 * model, a line "  M: ..." each for several; nothing for none.
 */
void wf_usage_text(struct wf_buf *b, jv usage);

#endif
