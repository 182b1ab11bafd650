/*
 * provider_request.c: what is sent to a provider.  The chat request of
 * wf-model(1) is checked field by field, then written as each wire
 * format wants it: the body (system text, messages, options renamed or
 * dropped per format and per provider quirk, streaming and JSON output
 * switches), the headers (the key only in the one header that carries
 * it, wiped when freed) and the endpoint path.
 *
 * Layer 2: domain data.
 */
#include <stdlib.h>
#include <string.h>

#include "provider_wire.h"
#include "record.h"
#include "replay.h"

/* Quirk K of provider PROV (borrowed), or NULL; it lives as long as PROV. */
static const char *
quirk_str(jv prov, const char *k)
{
	jv q = wf_jv_get(prov, "quirks");
	const char *s = wf_jv_str(q, k);

	jv_free(q);
	return s;	/* alive through PROV */
}

/* Quirk K of provider PROV (borrowed) as true or false, DEF when unset. */
static int
quirk_bool(jv prov, const char *k, int def)
{
	jv q = wf_jv_get(prov, "quirks");
	int b = wf_jv_bool(q, k, def);

	jv_free(q);
	return b;
}

/* The messages of request REQ (borrowed) without system ones, and the system text; both the caller's. */
jv
wf_provider_conversation(jv req, char **system)
{
	jv msgs = wf_jv_get(req, "messages"), out = jv_array();
	struct wf_buf sys = {0};
	const char *s = wf_jv_str(req, "system"), *prompt = wf_jv_str(req, "prompt");

	if (s)
		wf_buf_addstr(&sys, s);
	if (jv_get_kind(msgs) == JV_KIND_ARRAY) {
		jv_array_foreach(msgs, i, m) {
			const char *role = wf_jv_str(m, "role"), *c = wf_jv_str(m, "content");

			if (role && !strcmp(role, "system")) {
				if (sys.len)
					wf_buf_addstr(&sys, "\n\n");
				wf_buf_addstr(&sys, c ? c : "");
			} else {
				jv o = jv_object();

				o = jv_object_set(o, jv_string("role"), jv_string(role));
				o = jv_object_set(o, jv_string("content"), jv_string(c));
				out = jv_array_append(out, o);
			}
			jv_free(m);
		}
	}
	jv_free(msgs);
	if (prompt) {
		jv o = jv_object();

		o = jv_object_set(o, jv_string("role"), jv_string("user"));
		o = jv_object_set(o, jv_string("content"), jv_string(prompt));
		out = jv_array_append(out, o);
	}
	*system = sys.len ? wf_buf_detach(&sys) : NULL;
	wf_buf_free(&sys);
	return out;
}

/*
 * ---- prompt caching (Anthropic) ----
 *
 * Anthropic caches a prompt prefix only up to a block marked with
 * cache_control, and allows four marks.  We mark what stays the same from
 * one call to the next: the last tool, the system text, and the last
 * message before the current user turn (the transcript so far, so the
 * next turn reads it back).  A marked prefix below the model's minimum
 * (1024 to 4096 tokens) is simply not cached, at no extra charge, so no
 * length is guessed here.
 */

/* TEXT (borrowed) as a one-block content array marked for caching; the caller owns it. */
static jv
cached_block(jv text)
{
	jv b = jv_object();

	b = jv_object_set(b, jv_string("type"), jv_string("text"));
	b = jv_object_set(b, jv_string("text"), jv_copy(text));
	b = jv_object_set(b, jv_string("cache_control"),
			  jv_object_set(jv_object(), jv_string("type"), jv_string("ephemeral")));
	return jv_array_append(jv_array(), b);
}

/* BODY (consumed, returned) with its stable prefix marked. */
static jv
anthropic_cache_marks(jv body)
{
	jv sys = wf_jv_get(body, "system"), msgs = wf_jv_get(body, "messages"), tools = wf_jv_get(body, "tools");
	int n = jv_get_kind(msgs) == JV_KIND_ARRAY ? jv_array_length(jv_copy(msgs)) : 0;

	if (jv_get_kind(tools) == JV_KIND_ARRAY && jv_array_length(jv_copy(tools)) > 0) {
		int last = jv_array_length(jv_copy(tools)) - 1;
		jv t = jv_array_get(jv_copy(tools), last);

		if (jv_get_kind(t) == JV_KIND_OBJECT) {
			t = jv_object_set(t, jv_string("cache_control"),
					  jv_object_set(jv_object(), jv_string("type"), jv_string("ephemeral")));
			body = jv_object_set(body, jv_string("tools"), jv_array_set(jv_copy(tools), last, t));
		} else
			jv_free(t);
	}
	if (jv_get_kind(sys) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(sys)) > 0)
		body = jv_object_set(body, jv_string("system"), cached_block(sys));
	/* The current turn is the last user message; the one before it ends the stable part. */
	if (n >= 2) {
		jv m = jv_array_get(jv_copy(msgs), n - 2), c = wf_jv_get(m, "content");

		if (jv_get_kind(c) == JV_KIND_STRING && jv_string_length_bytes(jv_copy(c)) > 0) {
			m = jv_object_set(m, jv_string("content"), cached_block(c));
			body = jv_object_set(body, jv_string("messages"), jv_array_set(jv_copy(msgs), n - 2, m));
		} else
			jv_free(m);
		jv_free(c);
	}
	jv_free(sys);
	jv_free(msgs);
	jv_free(tools);
	return body;
}

/* The request body for model M (borrowed) from chat request REQ (borrowed); the caller owns it. */
jv
wf_provider_body(enum wf_wire t, jv m, jv req, int stream)
{
	jv prov = wf_jv_get(m, "_provider");
	jv ro = wf_jv_get(req, "options");
	jv opts = jv_object_merge(wf_jv_get(m, "_options"), jv_get_kind(ro) == JV_KIND_OBJECT ? ro : (jv_free(ro), jv_object()));
	char *system = NULL;
	jv msgs = wf_provider_conversation(req, &system), body = jv_object(), ol = jv_object();
	const char *fmt = wf_jv_str(req, "format");
	int json = fmt && !strcmp(fmt, "json");

	body = jv_object_set(body, jv_string("model"), wf_jv_get(m, "model"));
	if (t == WF_WIRE_OPENAI || t == WF_WIRE_OLLAMA) {
		if (system) {
			const char *role = t == WF_WIRE_OPENAI ? quirk_str(prov, "system_role") : NULL;
			jv s = jv_object();

			s = jv_object_set(s, jv_string("role"), jv_string(role ? role : "system"));
			s = jv_object_set(s, jv_string("content"), jv_string(system));
			msgs = jv_array_concat(jv_array_append(jv_array(), s), msgs);
		}
	} else if (system)
		body = jv_object_set(body, jv_string("system"), jv_string(system));
	body = jv_object_set(body, jv_string("messages"), msgs);
	body = jv_object_set(body, jv_string("stream"), jv_bool(stream));
	if (t == WF_WIRE_OPENAI && stream && quirk_bool(prov, "stream_options", 1)) {
		jv so = jv_object_set(jv_object(), jv_string("include_usage"), jv_true());

		body = jv_object_set(body, jv_string("stream_options"), so);
	}
	if (t == WF_WIRE_ANTHROPIC && !jv_object_has(jv_copy(opts), jv_string("max_tokens")))
		body = jv_object_set(body, jv_string("max_tokens"), jv_number(4096));
	jv_object_foreach(opts, k, v) {
		const char *key = jv_string_value(k);

		if (t == WF_WIRE_OPENAI && !strcmp(key, "max_tokens")) {
			const char *f = quirk_str(prov, "max_tokens_field");

			body = jv_object_set(body, jv_string(f ? f : "max_tokens"), v);
		} else if (t == WF_WIRE_ANTHROPIC && !strcmp(key, "stop")) {
			body = jv_object_set(body, jv_string("stop_sequences"),
					     jv_get_kind(v) == JV_KIND_ARRAY ? v : jv_array_append(jv_array(), v));
		} else if (t == WF_WIRE_ANTHROPIC && !strcmp(key, "seed")) {
			jv_free(v);	/* Anthropic has no seed and rejects unknown fields */
		} else if (t == WF_WIRE_OLLAMA && !strcmp(key, "max_tokens")) {
			ol = jv_object_set(ol, jv_string("num_predict"), v);
		} else if (t == WF_WIRE_OLLAMA && strcmp(key, "keep_alive") && strcmp(key, "think")) {
			ol = jv_object_set(ol, jv_string(key), v);
		} else
			body = jv_object_set(body, jv_string(key), v);
		jv_free(k);
	}
	if (t == WF_WIRE_OLLAMA && jv_object_length(jv_copy(ol)) > 0)
		body = jv_object_set(body, jv_string("options"), jv_copy(ol));
	if (json && t == WF_WIRE_OPENAI)
		body = jv_object_set(body, jv_string("response_format"),
				     jv_object_set(jv_object(), jv_string("type"), jv_string("json_object")));
	else if (json && t == WF_WIRE_OLLAMA)
		body = jv_object_set(body, jv_string("format"), jv_string("json"));
	{
		jv q = wf_jv_get(prov, "quirks"), strip = wf_jv_get(q, "strip_params");

		if (jv_get_kind(strip) == JV_KIND_ARRAY) {
			jv_array_foreach(strip, i, s) {
				if (jv_get_kind(s) == JV_KIND_STRING)
					body = jv_object_delete(body, jv_copy(s));
				jv_free(s);
			}
		}
		jv_free(strip);
		jv_free(q);
	}
	if (t == WF_WIRE_ANTHROPIC && wf_jv_bool(m, "_cache", 1))
		body = anthropic_cache_marks(body);
	jv_free(ol);
	jv_free(opts);
	jv_free(prov);
	free(system);
	return body;
}

/* Request headers ("Name: value", NULL-terminated); the key is only in here. PROV borrowed. */
char **
wf_provider_headers(enum wf_wire t, jv prov, const char *key, int stream)
{
	char **h = wf_xcalloc(16, sizeof *h);
	int n = 0;
	const char *auth = quirk_str(prov, "auth");
	jv extra = wf_jv_get(prov, "headers");

	h[n++] = wf_xstrdup("Content-Type: application/json");
	h[n++] = wf_xstrdup(stream ? (t == WF_WIRE_OLLAMA ? "Accept: application/x-ndjson" : "Accept: text/event-stream")
				   : "Accept: application/json");
	if (t == WF_WIRE_ANTHROPIC) {
		const char *ver = quirk_str(prov, "anthropic_version");

		h[n++] = wf_xasprintf("anthropic-version: %s", ver ? ver : "2023-06-01");
		if (key)
			h[n++] = auth && !strcmp(auth, "bearer") ? wf_xasprintf("Authorization: Bearer %s", key)
								 : wf_xasprintf("x-api-key: %s", key);
	} else if (key) {
		h[n++] = auth && !strcmp(auth, "x-api-key") ? wf_xasprintf("x-api-key: %s", key)
							    : wf_xasprintf("Authorization: Bearer %s", key);
	}
	if (jv_get_kind(extra) == JV_KIND_OBJECT) {
		jv_object_foreach(extra, k, v) {
			if (n < 15 && jv_get_kind(v) == JV_KIND_STRING)
				h[n++] = wf_xasprintf("%s: %s", jv_string_value(k), jv_string_value(v));
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(extra);
	h[n] = NULL;
	return h;
}

void
wf_provider_free_headers(char **h)
{
	for (int i = 0; h && h[i]; i++) {
		explicit_bzero(h[i], strlen(h[i]));
		free(h[i]);
	}
	free(h);
}

const char *
wf_provider_endpoint(enum wf_wire t)
{
	return t == WF_WIRE_OPENAI ? "/chat/completions" : t == WF_WIRE_ANTHROPIC ? "/v1/messages" : "/api/chat";
}

/* ---- the request, validated ---- */

/*
 * The request REQ's (borrowed) "fallbacks" (a list of model names, []
 * for none) and "budget" ({"usd": what is left}): 0, or -1 with ERR.
 */
static int
check_fallback_fields(jv req, char *err, size_t n)
{
	jv l = wf_jv_get(req, "fallbacks"), b = wf_jv_get(req, "budget");
	int bad = 0;

	if (jv_get_kind(l) == JV_KIND_ARRAY) {
		jv_array_foreach(l, i, x) {
			(void)i;
			bad |= jv_get_kind(x) != JV_KIND_STRING || !*jv_string_value(x);
			jv_free(x);
		}
	} else
		bad = jv_get_kind(l) != JV_KIND_NULL;
	if (bad)
		snprintf(err, n, "request field 'fallbacks' must be a list of model names");
	else if (jv_get_kind(b) != JV_KIND_NULL &&
		 (jv_get_kind(b) != JV_KIND_OBJECT || wf_jv_num(b, "usd", 0) < 0)) {
		snprintf(err, n, "request field 'budget' must be an object {\"usd\": DOLLARS LEFT}");
		bad = 1;
	}
	jv_free(l);
	jv_free(b);
	return bad ? -1 : 0;
}

/* Is the chat request REQ (borrowed) one wf-model(1) accepts?  0, or -1 with ERR. */
int
wf_provider_check_request(jv req, char *err, size_t n)
{
	static const char *const keys[] = { "model", "original", "system", "messages", "prompt", "options",
					    "stream", "format", "record", "replay", "offline", "fallbacks", "budget", NULL };
	jv msgs;
	int users = 0;

	if (jv_get_kind(req) != JV_KIND_OBJECT) {
		snprintf(err, n, "a chat request must be a JSON object");
		return -1;
	}
	jv_object_keys_foreach(req, k) {
		int ok = 0;

		for (int i = 0; keys[i]; i++)
			ok |= !strcmp(jv_string_value(k), keys[i]);
		if (!ok) {
			snprintf(err, n, "unknown request field '%s'", jv_string_value(k));
			jv_free(k);
			return -1;
		}
		jv_free(k);
	}
	{
		static const char *const strs[] = { "model", "original", "system", "prompt", "format", NULL };

		for (int i = 0; strs[i]; i++) {
			jv v = wf_jv_get(req, strs[i]);
			int bad = jv_get_kind(v) != JV_KIND_NULL && jv_get_kind(v) != JV_KIND_STRING;

			jv_free(v);
			if (bad) {
				snprintf(err, n, "request field '%s' must be a string", strs[i]);
				return -1;
			}
		}
	}
	if (wf_jv_str(req, "format") && strcmp(wf_jv_str(req, "format"), "json")) {
		snprintf(err, n, "request field 'format' can only be \"json\"");
		return -1;
	}
	{
		jv o = wf_jv_get(req, "options"), s = wf_jv_get(req, "stream");
		int bad = (jv_get_kind(o) != JV_KIND_NULL && jv_get_kind(o) != JV_KIND_OBJECT);
		int bads = (jv_get_kind(s) != JV_KIND_NULL && jv_get_kind(s) != JV_KIND_TRUE &&
			    jv_get_kind(s) != JV_KIND_FALSE);

		jv_free(o);
		jv_free(s);
		if (bad || bads) {
			snprintf(err, n, bad ? "request field 'options' must be an object" : "request field 'stream' must be true or false");
			return -1;
		}
	}
	if (check_fallback_fields(req, err, n) < 0)
		return -1;
	if (jv_object_has(jv_copy(req), jv_string("record"))) {
		jv rec = wf_jv_get(req, "record");
		int bad = wf_record_check(rec, err, n);

		jv_free(rec);
		if (bad)
			return -1;
	}
	if (wf_replay_check(req, err, n) < 0)
		return -1;
	msgs = wf_jv_get(req, "messages");
	if (jv_get_kind(msgs) != JV_KIND_NULL && jv_get_kind(msgs) != JV_KIND_ARRAY) {
		jv_free(msgs);
		snprintf(err, n, "request field 'messages' must be an array");
		return -1;
	}
	if (jv_get_kind(msgs) == JV_KIND_ARRAY) {
		jv_array_foreach(msgs, i, m) {
			const char *role = wf_jv_str(m, "role");
			int bad = !role || !wf_jv_str(m, "content") ||
				  (strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "system"));

			users += role && !strcmp(role, "user");
			jv_free(m);
			if (bad) {
				jv_free(msgs);
				snprintf(err, n, "messages[%d] needs \"role\" user, assistant or system and a string \"content\"", i);
				return -1;
			}
		}
	}
	jv_free(msgs);
	if (wf_jv_str(req, "prompt"))
		users++;
	if (!users) {
		snprintf(err, n, "a chat request needs a \"prompt\" or a user message in \"messages\"");
		return -1;
	}
	return 0;
}

/* The caller owns the result.  Here, not in provider.c, so that a replay links no HTTP client. */
jv
wf_chat_error(const char *msg, int code)
{
	jv e = jv_object();
	char *safe = wf_redact(msg, strlen(msg));

	e = jv_object_set(e, jv_string("error"), jv_string(safe));
	e = jv_object_set(e, jv_string("exit_code"), jv_number(code));
	free(safe);
	return e;
}
