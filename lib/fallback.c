/*
 * fallback.c: a step's own fallback list, checked into the canonical
 * step, and a switch from one model to another told in words.  The
 * switching itself is wf-model's (provider.c); see fallback.h.
 *
 * Layer 2: domain data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fallback.h"

/* V (consumed, a list): "model: [a, b, c]" as "model": a and "fallbacks": [b, c] in OUT (consumed, returned). */
jv
wf_check_model_list(struct wf_check *c, const char *path, jv v, jv out)
{
	jv rest = jv_array();
	int n = jv_array_length(jv_copy(v)), bad = 0;

	if (n == 0) {
		wf_check_at(c, path, 1, "'model' lists no model: name one, or list them in the order to try them");
		bad = 1;
	}
	jv_array_foreach(v, i, x) {
		if (jv_get_kind(x) != JV_KIND_STRING || !*jv_string_value(x)) {
			char *at = wf_xasprintf("%s/%d", path, i);

			wf_check_at(c, at, 1, "'model': item %d must be a model name, not %s", i + 1,
				    wf_check_kind_of(c, x));
			free(at);
			bad = 1;
			jv_free(x);
		} else if (i == 0)
			out = jv_object_set(out, jv_string("model"), x);
		else
			rest = jv_array_append(rest, x);
	}
	jv_free(v);
	if (bad) {
		jv_free(rest);
		return out;
	}
	return jv_object_set(out, jv_string("fallbacks"), rest);
}

/* Step S (borrowed, at index I): "fallback: never" only where a model is called, and not beside a list of models. */
void
wf_check_fallback_rules(struct wf_check *c, jv s, int i)
{
	char path[256];

	if (!wf_jv_str(s, "fallback"))
		return;
	snprintf(path, sizeof path, "%s/%d/fallback", WF_CHECK_BASE(c), i);
	if (!wf_action_has(wf_jv_str(s, "action"), WF_ACTION_MODEL))
		wf_check_at(c, path, 0, "'fallback' is for a step that calls a model; action '%s' calls none",
			    wf_jv_str(s, "action") ? wf_jv_str(s, "action") : "?");
	else if (jv_object_has(jv_copy(s), jv_string("fallbacks")))
		wf_check_at(c, path, 0, "'fallback: never' and a list of models in 'model' say opposite things: keep one");
}

/* SW borrowed. */
char *
wf_fallback_line(jv sw)
{
	const char *from = wf_jv_str(sw, "from"), *to = wf_jv_str(sw, "to"), *why = wf_jv_str(sw, "reason");

	return wf_xasprintf("'%s' failed (%s); fell back to '%s'", from ? from : "?", why ? why : "?", to ? to : "?");
}
