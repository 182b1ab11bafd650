/*
 * fallback.h: the models a call falls back to when its model is down
 * (wf-model(1), "Fallbacks"): a model's configured list (model.c), a
 * step's own list, "model: [a, b, c]", checked into the canonical step
 * (fallback.c), and one switch told in words for the progress line, wf
 * status, wf logs and wf report.  Layer 2: domain data.
 *
 * A switch, as a chat result's "fallbacks" and a step's usage.fallbacks
 * hold it and as the journal's fallback event tells it (wf-json(7)):
 *   {"from": MODEL, "to": MODEL, "reason": "overloaded: HTTP 529",
 *    "status": 529|null, "attempts": N}
 */
#ifndef WF_FALLBACK_H
#define WF_FALLBACK_H

#include "wf_priv.h"

/* V (consumed): a model's "fallback" as a list of names (one name, a list, or none); the caller owns it. */
jv wf_model_fallback_list(jv v);

/*
 * A step's "model: [a, b, c]", V (consumed), at PATH: OUT (consumed,
 * returned) with "model": a and "fallbacks": [b, c]; each item must be
 * a model name.  Messages through C.
 */
jv wf_check_model_list(struct wf_check *c, const char *path, jv v, jv out);

/*
 * Step S (borrowed; canonical, at index I): "fallback" only on a step
 * that calls a model, and never beside a list of models.  Messages
 * through C.
 */
void wf_check_fallback_rules(struct wf_check *c, jv s, int i);

/* "'a' failed (overloaded: HTTP 529); fell back to 'b'" for switch SW (borrowed); malloc'd. */
char *wf_fallback_line(jv sw);

#endif
