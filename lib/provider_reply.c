/*
 * provider_reply.c: reading what a provider answers, in each of the three
 * wire formats (OpenAI chat completions, Anthropic messages, Ollama's
 * /api/chat): the text, the finish reason, the model that served and the
 * token usage, from a whole body or from a stream parsed as it arrives
 * (SSE for the first two, NDJSON for Ollama) whatever the chunking; and
 * what went wrong, as an exit code of wf(7) and whether another attempt
 * may help: an error status, an error inside a 200 body or stream, a
 * transport failure.  Text goes to the display only through its masker.
 *
 * Layer 2: domain data.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "provider_wire.h"

/* Text of the reply: kept, and shown as it comes when someone watches. */
static void
emit_text(struct wf_chat_attempt *a, const char *s, size_t n)
{
	if (!n)
		return;
	if (!a->text.len)
		a->first_text_ms = wf_now_ms() - a->t0;
	wf_buf_add(&a->text, s, n);
	if (a->show)
		(void)wf_redactor_write(&a->show->red, s, n);
}

void
wf_provider_fail(struct wf_chat_attempt *a, int code, int retry, const char *fmt, ...)
{
	va_list ap;

	if (a->fail)
		return;
	a->fail = code;
	a->fail_retry = retry;
	va_start(ap, fmt);
	vsnprintf(a->fail_msg, sizeof a->fail_msg, fmt, ap);
	va_end(ap);
}

/* First N bytes of P as one line, for messages. */
static char *
snippet(const char *p, size_t len, size_t n)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (size_t i = 0; i < len && b.len < n; i++) {
		char c = p[i];

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		if ((unsigned char)c < ' ')
			continue;
		if (c == ' ' && b.len && b.s[b.len - 1] == ' ')
			continue;
		wf_buf_addch(&b, c);
	}
	if (len > n)
		wf_buf_addstr(&b, "...");
	return wf_buf_detach(&b);
}

/* ---- usage ---- */

/* O[K] when it is a number, else null; O borrowed, the caller owns the result. */
static jv
num_or_null(jv o, const char *k)
{
	jv v = wf_jv_get(o, k);

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return v;
	jv_free(v);
	return jv_null();
}

/* Usage K of A becomes V (consumed) when V is a number. */
static void
usage_set(struct wf_chat_attempt *a, const char *k, jv v)
{
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		a->usage = jv_object_set(a->usage, jv_string(k), v);
	else
		jv_free(v);
}

/* OpenAI: prompt_tokens include the cached ones.  U borrowed. */
static void
usage_openai(struct wf_chat_attempt *a, jv u)
{
	jv det;

	if (jv_get_kind(u) != JV_KIND_OBJECT)
		return;
	usage_set(a, "input", num_or_null(u, "prompt_tokens"));
	usage_set(a, "output", num_or_null(u, "completion_tokens"));
	det = wf_jv_get(u, "prompt_tokens_details");
	if (jv_get_kind(det) == JV_KIND_OBJECT && wf_jv_num(det, "cached_tokens", -1) >= 0)
		usage_set(a, "cached", num_or_null(det, "cached_tokens"));
	else if (!jv_object_has(jv_copy(a->usage), jv_string("cached")))
		a->usage = jv_object_set(a->usage, jv_string("cached"), jv_number(0));
	jv_free(det);
}

/*
 * Anthropic: input_tokens leave out the cache reads and writes, which
 * are added to make "input" the whole prompt; a stream gives them in
 * message_start and may repeat some in message_delta, so a field an
 * event leaves out keeps its earlier value.  output_tokens are
 * cumulative.  U borrowed.
 */
static void
usage_anthropic(struct wf_chat_attempt *a, jv u)
{
	double in, cw, cr;

	if (jv_get_kind(u) != JV_KIND_OBJECT)
		return;
	in = wf_jv_num(u, "input_tokens", wf_jv_num(a->usage, "uncached", -1));
	cw = wf_jv_num(u, "cache_creation_input_tokens", wf_jv_num(a->usage, "cache_write", 0));
	cr = wf_jv_num(u, "cache_read_input_tokens", wf_jv_num(a->usage, "cached", 0));
	cw = cw > 0 ? cw : 0;
	cr = cr > 0 ? cr : 0;
	if (in >= 0) {
		a->usage = jv_object_set(a->usage, jv_string("uncached"), jv_number(in));
		a->usage = jv_object_set(a->usage, jv_string("input"), jv_number(in + cw + cr));
		a->usage = jv_object_set(a->usage, jv_string("cached"), jv_number(cr));
		a->usage = jv_object_set(a->usage, jv_string("cache_write"), jv_number(cw));
	}
	usage_set(a, "output", num_or_null(u, "output_tokens"));
}

/* Ollama: counts in the final object; prompt_eval_count may be missing.  O borrowed. */
static void
usage_ollama(struct wf_chat_attempt *a, jv o)
{
	usage_set(a, "input", num_or_null(o, "prompt_eval_count"));
	usage_set(a, "output", num_or_null(o, "eval_count"));
	if (wf_jv_num(o, "prompt_eval_cached_count", -1) >= 0)
		usage_set(a, "cached", num_or_null(o, "prompt_eval_cached_count"));
	else if (wf_jv_num(o, "prompt_eval_count", -1) >= 0)
		a->usage = jv_object_set(a->usage, jv_string("cached"), jv_number(0));
}

/* ---- errors inside bodies ---- */

static int
contains_any(const char *s, const char *const *words)
{
	if (!s)
		return 0;
	for (int i = 0; words[i]; i++)
		if (strcasestr(s, words[i]))
			return 1;
	return 0;
}

static const char *const spend_words[] = { "insufficient_quota", "enforced_spend_limit", "spend_limit",
					   "spend limit", "billing", "credit balance", "insufficient credits",
					   NULL };
static const char *const busy_words[] = { "overloaded", "rate_limit", "rate limit", "server_busy", NULL };

/* Pieces of a provider error object E (borrowed): "type code: message". */
static void
error_parts(jv body, char *type, size_t tn, char *msg, size_t mn, char *extra, size_t en)
{
	jv e = wf_jv_get(body, "error");

	*type = *msg = *extra = '\0';
	if (jv_get_kind(e) == JV_KIND_STRING) {
		snprintf(msg, mn, "%s", jv_string_value(e));
	} else if (jv_get_kind(e) == JV_KIND_OBJECT) {
		jv code = wf_jv_get(e, "code"), det = wf_jv_get(e, "details");
		const char *t = wf_jv_str(e, "type"), *m = wf_jv_str(e, "message");
		char *cs = jv_get_kind(code) == JV_KIND_NULL ? NULL : wf_jv_text(code);

		if (t && cs && strcmp(t, cs))
			snprintf(type, tn, "%s %s", t, cs);
		else
			snprintf(type, tn, "%s", t ? t : cs ? cs : "");
		snprintf(msg, mn, "%s", m ? m : "");
		if (jv_get_kind(det) == JV_KIND_OBJECT && wf_jv_str(det, "error_code"))
			snprintf(extra, en, "%s", wf_jv_str(det, "error_code"));
		free(cs);
		jv_free(code);
		jv_free(det);
	} else if (wf_jv_str(body, "message"))
		snprintf(msg, mn, "%s", wf_jv_str(body, "message"));
	jv_free(e);
}

/*
 * An error reported inside a 200 response (mid-stream, or a JSON body
 * with "error"). BODY borrowed.
 */
static void
body_error(struct wf_chat_attempt *a, jv body)
{
	char type[160], msg[512], extra[128];
	int busy, retry;

	error_parts(body, type, sizeof type, msg, sizeof msg, extra, sizeof extra);
	busy = contains_any(type, busy_words) || contains_any(msg, busy_words);
	retry = busy && !contains_any(type, spend_words) && !contains_any(msg, spend_words);
	if (!strcmp(type, "api_error"))
		retry = 1;
	wf_provider_fail(a, retry ? WF_EXIT_BUSY : WF_EXIT_FAIL, retry, "provider error%s%s: %s", *type ? " " : "", type,
		 *msg ? msg : "(no message)");
}

/* ---- the three protocols: one parsed event or line each ---- */

/* The text of an OpenAI message's CONTENT (borrowed): a string or a list of parts. */
static void
openai_message_text(struct wf_chat_attempt *a, jv content)
{
	if (jv_get_kind(content) == JV_KIND_STRING)
		emit_text(a, jv_string_value(content), (size_t)jv_string_length_bytes(jv_copy(content)));
	else if (jv_get_kind(content) == JV_KIND_ARRAY) {
		jv_array_foreach(content, i, part) {
			const char *t = wf_jv_str(part, "text");

			if (t)
				emit_text(a, t, strlen(t));
			jv_free(part);
		}
	}
}

/* One OpenAI stream chunk or non-streamed body V (borrowed). */
static void
openai_object(struct wf_chat_attempt *a, jv v, int streamed)
{
	jv choices, c0, err = wf_jv_get(v, "error"), u;

	if (jv_get_kind(err) != JV_KIND_NULL) {
		jv_free(err);
		body_error(a, v);
		return;
	}
	jv_free(err);
	if (wf_jv_str(v, "model")) {
		free(a->served);
		a->served = wf_xstrdup(wf_jv_str(v, "model"));
	}
	/* Usage may come in any chunk (llama.cpp: the finish chunk): keep the last. */
	u = wf_jv_get(v, "usage");
	usage_openai(a, u);
	jv_free(u);
	choices = wf_jv_get(v, "choices");
	if (jv_get_kind(choices) != JV_KIND_ARRAY || jv_array_length(jv_copy(choices)) == 0) {
		if (!streamed)
			wf_provider_fail(a, WF_EXIT_FAIL, 0, "unparseable response: no choices");
		jv_free(choices);
		return;
	}
	c0 = jv_array_get(choices, 0);
	{
		jv part = wf_jv_get(c0, streamed ? "delta" : "message");
		jv content = wf_jv_get(part, "content");

		openai_message_text(a, content);
		jv_free(content);
		jv_free(part);
	}
	if (wf_jv_str(c0, "finish_reason")) {
		free(a->finish);
		a->finish = wf_xstrdup(wf_jv_str(c0, "finish_reason"));
		if (!strcmp(a->finish, "error"))
			wf_provider_fail(a, WF_EXIT_FAIL, 0, "provider error: the model stopped with finish_reason \"error\"");
	}
	if (!streamed)
		a->done = 1;
	jv_free(c0);
}

/*
 * One Anthropic stream event or whole body V (borrowed), typed by its
 * "type" or else the SSE EVENT.
 */
static void
anthropic_object(struct wf_chat_attempt *a, const char *event, jv v)
{
	const char *type = wf_jv_str(v, "type");

	if (!type)
		type = event;
	if (!type)
		return;
	if (!strcmp(type, "message_start")) {
		jv m = wf_jv_get(v, "message"), u = wf_jv_get(m, "usage");

		usage_anthropic(a, u);
		if (wf_jv_str(m, "model")) {
			free(a->served);
			a->served = wf_xstrdup(wf_jv_str(m, "model"));
		}
		jv_free(u);
		jv_free(m);
	} else if (!strcmp(type, "content_block_delta")) {
		jv d = wf_jv_get(v, "delta");
		const char *dt = wf_jv_str(d, "type"), *t = wf_jv_str(d, "text");

		if (dt && !strcmp(dt, "text_delta") && t)
			emit_text(a, t, strlen(t));
		jv_free(d);
	} else if (!strcmp(type, "message_delta")) {
		jv d = wf_jv_get(v, "delta"), u = wf_jv_get(v, "usage");

		if (wf_jv_str(d, "stop_reason")) {
			free(a->finish);
			a->finish = wf_xstrdup(wf_jv_str(d, "stop_reason"));
		}
		usage_anthropic(a, u);
		jv_free(d);
		jv_free(u);
	} else if (!strcmp(type, "message_stop")) {
		a->done = 1;
	} else if (!strcmp(type, "error")) {
		body_error(a, v);
	} else if (!strcmp(type, "message")) {
		/* The non-streamed body. */
		jv content = wf_jv_get(v, "content"), u = wf_jv_get(v, "usage");

		if (jv_get_kind(content) != JV_KIND_ARRAY)
			wf_provider_fail(a, WF_EXIT_FAIL, 0, "unparseable response: no content");
		else {
			jv_array_foreach(content, i, blk) {
				const char *bt = wf_jv_str(blk, "type"), *t = wf_jv_str(blk, "text");

				if (bt && !strcmp(bt, "text") && t)
					emit_text(a, t, strlen(t));
				jv_free(blk);
			}
		}
		usage_anthropic(a, u);
		if (wf_jv_str(v, "stop_reason")) {
			free(a->finish);
			a->finish = wf_xstrdup(wf_jv_str(v, "stop_reason"));
		}
		if (wf_jv_str(v, "model")) {
			free(a->served);
			a->served = wf_xstrdup(wf_jv_str(v, "model"));
		}
		a->done = 1;
		jv_free(content);
		jv_free(u);
	}
	/* ping, content_block_start/stop and types added later: nothing to do. */
}

/* One Ollama stream line or whole body V (borrowed). */
static void
ollama_object(struct wf_chat_attempt *a, jv v)
{
	jv m;

	if (jv_object_has(jv_copy(v), jv_string("error"))) {
		body_error(a, v);
		return;
	}
	m = wf_jv_get(v, "message");
	if (jv_get_kind(m) == JV_KIND_OBJECT) {
		jv c = wf_jv_get(m, "content");

		if (jv_get_kind(c) == JV_KIND_STRING)
			emit_text(a, jv_string_value(c), (size_t)jv_string_length_bytes(jv_copy(c)));
		jv_free(c);
	} else if (!a->streaming)
		wf_provider_fail(a, WF_EXIT_FAIL, 0, "unparseable response: no message");
	jv_free(m);
	if (wf_jv_str(v, "model")) {
		free(a->served);
		a->served = wf_xstrdup(wf_jv_str(v, "model"));
	}
	if (wf_jv_bool(v, "done", 0)) {
		if (wf_jv_str(v, "done_reason")) {
			free(a->finish);
			a->finish = wf_xstrdup(wf_jv_str(v, "done_reason"));
		}
		usage_ollama(a, v);
		a->done = 1;
	}
}

/* Parse one JSON payload P[0..N) and hand it to the protocol. */
void
wf_provider_payload(struct wf_chat_attempt *a, const char *event, const char *p, size_t n)
{
	char err[256];
	jv v;

	if (a->type == WF_WIRE_OPENAI && n == 6 && !memcmp(p, "[DONE]", 6)) {
		a->done = 1;
		return;
	}
	v = wf_json_parse(p, n, err, sizeof err);
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		char *s = snippet(p, n, 200);

		wf_provider_fail(a, WF_EXIT_FAIL, 0, "unparseable %s: %s: %s", a->streaming ? "stream event" : "response",
			 jv_is_valid(v) ? "not a JSON object" : err, s);
		free(s);
		jv_free(v);
		return;
	}
	if (a->type == WF_WIRE_OPENAI)
		openai_object(a, v, a->streaming);
	else if (a->type == WF_WIRE_ANTHROPIC)
		anthropic_object(a, event, v);
	else
		ollama_object(a, v);
	jv_free(v);
}

/* ---- framing: SSE (WHATWG rules) and NDJSON, across any chunking ---- */

static void
sse_dispatch(struct wf_chat_attempt *a)
{
	if (a->have_data) {
		if (a->data.len && a->data.s[a->data.len - 1] == '\n')
			a->data.len--;
		wf_provider_payload(a, *a->event ? a->event : NULL, a->data.s ? a->data.s : "", a->data.len);
	}
	wf_buf_reset(&a->data);
	a->have_data = 0;
	a->event[0] = '\0';
}

static void
line_end(struct wf_chat_attempt *a)
{
	const char *l = a->line.s ? a->line.s : "";
	size_t n = a->line.len;

	if (a->type == WF_WIRE_OLLAMA) {
		size_t i = 0;

		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i < n)
			wf_provider_payload(a, NULL, l, n);
	} else if (n == 0) {
		sse_dispatch(a);
	} else if (l[0] != ':') {
		const char *colon = memchr(l, ':', n);
		size_t fn = colon ? (size_t)(colon - l) : n;
		const char *val = colon ? colon + 1 : l + n;
		size_t vn = (size_t)(l + n - val);

		if (vn && *val == ' ')
			val++, vn--;
		if (fn == 4 && !memcmp(l, "data", 4)) {
			wf_buf_add(&a->data, val, vn);
			wf_buf_addch(&a->data, '\n');
			a->have_data = 1;
		} else if (fn == 5 && !memcmp(l, "event", 5)) {
			snprintf(a->event, sizeof a->event, "%.*s", (int)vn, val);
		}
		/* id, retry and unknown fields are ignored; ':' lines are comments. */
	}
	wf_buf_reset(&a->line);
}

/* The libcurl body callback for streams: 0 to go on, 1 to stop reading. */
int
wf_provider_on_stream(void *ctx, const char *p, size_t n)
{
	struct wf_chat_attempt *a = ctx;
	size_t i = 0;

	while (i < n && !a->done && !a->fail) {
		if (a->skip_lf) {
			a->skip_lf = 0;
			if (p[i] == '\n') {
				i++;
				continue;
			}
		}
		size_t j = i;

		while (j < n && p[j] != '\n' && p[j] != '\r')
			j++;
		wf_buf_add(&a->line, p + i, j - i);
		if (j == n)
			break;
		if (p[j] == '\r')
			a->skip_lf = 1;
		if (a->type == WF_WIRE_OLLAMA && a->line.len && a->line.s[a->line.len - 1] == '\r')
			a->line.len--;
		line_end(a);
		i = j + 1;
	}
	/* Stop at the end marker: some servers keep the connection open after it. */
	return a->done || a->fail ? 1 : 0;
}

/* At the end of the body: a last line without its newline still counts. */
void
wf_provider_stream_eof(struct wf_chat_attempt *a)
{
	if (a->done || a->fail)
		return;
	if (a->line.len)
		line_end(a);
	if (a->type != WF_WIRE_OLLAMA && a->have_data)
		sse_dispatch(a);
}

/* ---- classifying an attempt ---- */

/* The request id from RS's headers, else from BODY (borrowed); it lives as long as both. */
const char *
wf_provider_request_id(const struct wf_http_response *rs, jv body)
{
	static const char *const names[] = { "x-request-id", "request-id", "x-generation-id", "x-amzn-requestid", NULL };

	for (int i = 0; names[i]; i++) {
		const char *v = wf_http_header(rs, names[i]);

		if (v && *v)
			return v;
	}
	return wf_jv_str(body, "request_id");
}

/* A non-2xx response RS as a failure. */
void
wf_provider_classify_status(struct wf_chat_failure *f, const struct wf_http_response *rs)
{
	long s = rs->status;
	char type[160], msg[512], extra[128], err[128];
	jv body = wf_json_parse(rs->body.s, rs->body.len, err, sizeof err);
	const char *label, *rid, *sr = wf_http_header(rs, "x-should-retry");
	int spend;

	if (!jv_is_valid(body) || jv_get_kind(body) != JV_KIND_OBJECT) {
		char *sn = snippet(rs->body.s, rs->body.len, 200);

		jv_free(body);
		body = jv_object();
		*type = *extra = '\0';
		snprintf(msg, sizeof msg, "%s", *sn ? sn : "(empty body)");
		free(sn);
	} else
		error_parts(body, type, sizeof type, msg, sizeof msg, extra, sizeof extra);
	if (!*msg) {
		char *sn = snippet(rs->body.s, rs->body.len, 200);

		snprintf(msg, sizeof msg, "%s", *sn ? sn : "(empty body)");
		free(sn);
	}
	spend = contains_any(type, spend_words) || contains_any(extra, spend_words) ||
		(s == 429 && contains_any(msg, spend_words));
	f->status = s;
	f->retry = 0;
	f->model_missing = 0;
	f->spend = s == 402 || (s == 429 && spend);
	if (s == 401 || s == 403) {
		f->code = WF_EXIT_CONFIG;
		label = s == 401 ? "authentication failed (check the API key)" : "permission denied";
	} else if (s == 404) {
		f->code = WF_EXIT_CONFIG;
		f->model_missing = 1;
		label = "model or endpoint not found";
	} else if (s == 402 || (s == 429 && spend)) {
		f->code = WF_EXIT_FAIL;
		label = "spend limit or credit exhausted, not retried";
	} else if (s == 408 || s == 409 || s == 429 || s == 503 || s == 529) {
		f->code = WF_EXIT_BUSY;
		f->retry = 1;
		label = s == 429 ? "rate-limited" : s == 529 || s == 503 ? "overloaded" : "busy";
	} else if (s >= 500) {
		f->code = WF_EXIT_UNAVAILABLE;
		f->retry = 1;
		label = "server error";
	} else {
		f->code = WF_EXIT_FAIL;
		label = "request rejected";
	}
	if (sr && !strcasecmp(sr, "false"))
		f->retry = 0;
	else if (sr && !strcasecmp(sr, "true") && !spend)
		f->retry = 1;
	rid = wf_provider_request_id(rs, body);
	snprintf(f->rid, sizeof f->rid, "%s", rid ? rid : "");
	snprintf(f->msg, sizeof f->msg, "%s: HTTP %ld%s%s%s%s: %s", label, s, *type ? " " : "", type,
		 *extra ? " " : "", extra, msg);
	jv_free(body);
}

void
wf_provider_classify_transport(struct wf_chat_failure *f, int rc, const struct wf_http_response *rs, const char *url)
{
	f->status = rs->status;
	f->retry = 0;
	f->model_missing = 0;
	f->spend = 0;
	f->rid[0] = '\0';
	switch (rc) {
	case WF_HTTP_ERR_CONNECT:
		f->code = WF_EXIT_UNAVAILABLE;
		f->retry = 1;
		snprintf(f->msg, sizeof f->msg, "cannot reach '%s': %s", url, rs->error);
		break;
	case WF_HTTP_ERR_TIMEOUT:
		f->code = WF_EXIT_BUSY;
		f->retry = 1;
		snprintf(f->msg, sizeof f->msg, "timed out: %s", rs->error);
		break;
	case WF_HTTP_ERR_TLS_VERIFY:
		f->code = WF_EXIT_FAIL;
		snprintf(f->msg, sizeof f->msg, "TLS verification failed for '%s': %s", url, rs->error);
		break;
	case WF_HTTP_ERR_URL:
		f->code = WF_EXIT_CONFIG;
		snprintf(f->msg, sizeof f->msg, "%s", rs->error);
		break;
	case WF_HTTP_ERR_PARTIAL:
		f->code = WF_EXIT_FAIL;
		snprintf(f->msg, sizeof f->msg, "truncated response: %s", rs->error);
		break;
	case WF_HTTP_ERR_STOPPED:
		f->code = WF_EXIT_INT;
		snprintf(f->msg, sizeof f->msg, "interrupted");
		break;
	default:	/* too big, redirect, anything else */
		f->code = WF_EXIT_FAIL;
		snprintf(f->msg, sizeof f->msg, "%s", rs->error);
	}
}
