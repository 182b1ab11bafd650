/*
 * result.c: the one set of helpers that build a step result (wf-json(7)):
 * a new result, a failed one, a waiting one, its vars, effects, output,
 * model usage and messages, and a step's text field with ${...}
 * substituted.  Every action builds its result with these, so a result
 * has one shape whichever action made it.
 *
 * Rules: every helper takes the result R and gives it back (R consumed,
 * the return owned by the caller), so calls chain as r = f(r, ...); the
 * step request is only ever borrowed.  Nothing here prints but the
 * warnings of a substitution, and nothing runs anything.
 *
 * Layer 3: actions.
 * It runs only inside wf-step.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"
#include "model_use.h"

/* REQ is borrowed; the caller owns the result. */
jv
wf_result_new(jv req)
{
	jv step = wf_jv_get(req, "step");
	jv r = jv_object();
	char now[32];

	wf_now_iso(now);
	r = jv_object_set(r, jv_string("id"), wf_jv_get(step, "id"));
	r = jv_object_set(r, jv_string("status"), jv_string("ok"));
	r = jv_object_set(r, jv_string("exit_code"), jv_number(0));
	r = jv_object_set(r, jv_string("output"), jv_string(""));
	r = jv_object_set(r, jv_string("vars"), jv_object());
	r = jv_object_set(r, jv_string("started"), jv_string(now));
	jv_free(step);
	return r;
}

/* Consumes R; returns ownership. */
jv
wf_result_fail(jv r, int code, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r = jv_object_set(r, jv_string("status"), jv_string("failed"));
	r = jv_object_set(r, jv_string("exit_code"), jv_number(code));
	return jv_object_set(r, jv_string("error"), jv_string(msg));
}

/* Consumes R and PENDING; returns ownership. */
jv
wf_result_waiting(jv r, jv pending)
{
	r = jv_object_set(r, jv_string("status"), jv_string("waiting"));
	return jv_object_set(r, jv_string("pending"), pending);
}

/* Consumes R and VALUE; returns ownership.  KEY's object (vars, effects) is made when missing. */
static jv
set_member(jv r, const char *key, const char *name, jv value)
{
	jv o = wf_jv_get(r, key);

	if (jv_get_kind(o) != JV_KIND_OBJECT) {
		jv_free(o);
		o = jv_object();
	}
	/* Taken out first, so that the object is not shared and is changed in place. */
	r = jv_object_set(r, jv_string(key), jv_null());
	return jv_object_set(r, jv_string(key), jv_object_set(o, jv_string(name), value));
}

/* Consumes R and VALUE; returns ownership. */
jv
wf_result_set_var(jv r, const char *name, jv value)
{
	return set_member(r, "vars", name, value);
}

/* Consumes R and VALUE; returns ownership. */
jv
wf_result_set_effect(jv r, const char *name, jv value)
{
	return set_member(r, "effects", name, value);
}

/* Consumes R; returns ownership. */
jv
wf_result_set_output(jv r, const char *text, size_t n)
{
	return jv_object_set(r, jv_string("output"),
			     jv_string_sized(text, n > WF_OUTPUT_EXCERPT ? WF_OUTPUT_EXCERPT : (int)n));
}

/* Consumes R; returns ownership. */
jv
wf_result_exchange(jv r, const char *prompt, const char *answer)
{
	jv msgs = jv_array();

	msgs = jv_array_append(msgs, wf_chat_message("user", prompt));
	msgs = jv_array_append(msgs, wf_chat_message("assistant", answer));
	return jv_object_set(r, jv_string("messages"), msgs);
}

/* Consumes ACC, borrows RES; returns ownership. */
jv
wf_usage_add(jv acc, jv res)
{
	static const char *const keys[] = { "input_tokens", "output_tokens", "cached_tokens", "cache_write_tokens", NULL };
	jv u = wf_jv_get(res, "usage"), cost = wf_jv_get(res, "cost"), m = wf_jv_get(res, "model");
	jv usd = wf_jv_get(cost, "usd");

	if (jv_get_kind(acc) != JV_KIND_OBJECT) {
		const char *name = jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) :
				   jv_get_kind(m) == JV_KIND_OBJECT ? wf_jv_str(m, "name") : NULL;

		jv_free(acc);
		acc = jv_object_set(jv_object(), jv_string("model"), jv_string(name ? name : "unknown"));
		for (int i = 0; keys[i]; i++)
			acc = jv_object_set(acc, jv_string(keys[i]), jv_number(0));
		acc = jv_object_set(acc, jv_string("usd"), jv_number(0));
	}
	for (int i = 0; keys[i]; i++)
		acc = jv_object_set(acc, jv_string(keys[i]),
				    jv_number(wf_jv_num(acc, keys[i], 0) + wf_jv_num(u, keys[i], 0)));
	/* One call of unknown cost makes the sum unknown (null), with the reason when the price gave one. */
	if (jv_get_kind(usd) != JV_KIND_NUMBER) {
		acc = jv_object_set(acc, jv_string("usd"), jv_null());
		if (wf_jv_str(cost, "unknown"))
			acc = jv_object_set(acc, jv_string("cost_unknown"), wf_jv_get(cost, "unknown"));
	} else if (wf_jv_num(acc, "usd", -1) >= 0)
		acc = jv_object_set(acc, jv_string("usd"), jv_number(wf_jv_num(acc, "usd", 0) + jv_number_value(usd)));
	{
		/* The models these calls fell back from (fallback.h), in order. */
		jv fb = wf_jv_get(res, "fallbacks"), had = wf_jv_get(acc, "fallbacks");

		if (jv_get_kind(fb) == JV_KIND_ARRAY)
			acc = jv_object_set(acc, jv_string("fallbacks"),
					    jv_array_concat(jv_get_kind(had) == JV_KIND_ARRAY ? had : (jv_free(had), jv_array()), fb));
		else {
			jv_free(fb);
			jv_free(had);
		}
	}
	jv_free(usd);
	jv_free(u);
	jv_free(cost);
	jv_free(m);
	return acc;
}

/* REQ is borrowed; the caller owns the string. */
char *
wf_step_text(jv req, const char *key, int *bad, char *err, size_t errlen)
{
	jv step = wf_jv_get(req, "step"), run = wf_jv_get(req, "run");
	const char *t = wf_jv_str(step, key);
	struct wf_diag warn = {0};
	char *out = NULL;

	if (t) {
		out = wf_subst(t, req, wf_jv_bool(run, "strict", 0), &warn, err, errlen);
		for (size_t i = 0; i < warn.n; i++)
			wf_warn("step '%s': %s", wf_jv_str(step, "id"), warn.msgs[i]);
		if (!out && bad)
			*bad = 1;
	}
	wf_diag_free(&warn);
	jv_free(step);
	jv_free(run);
	return out;
}
