/*
 * prompt_cache.h: the prompt cache as the displays show it.  A call's
 * usage counts the whole prompt in input_tokens, of which cached_tokens
 * were read from the provider's cache and cache_write_tokens written to
 * it (wf-model(1) Prompt caching); status.c writes the note, the report
 * (report.c) shows the same words.  Layer 2: domain data.
 */
#ifndef WF_PROMPT_CACHE_H
#define WF_PROMPT_CACHE_H

#include "wf_priv.h"

/*
 * Into B: " (N cached, W cache writes)", " (N cached)" or
 * " (W cache writes)" for usage U (borrowed) when it used the prompt
 * cache; nothing otherwise, so a run without caching (or from before
 * it) reads as it did.
 */
void wf_usage_cache_note(struct wf_buf *b, jv u);

#endif
