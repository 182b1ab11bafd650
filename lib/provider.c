/*
 * provider.c: one chat call to a model provider, in its own wire format.
 * Three protocols cover every provider we know: OpenAI chat completions
 * (and the servers compatible with it, with per-provider quirks),
 * Anthropic messages, and Ollama's /api/chat.  Each is spoken with and
 * without streaming; streams are parsed as they arrive (SSE for the first
 * two, NDJSON for Ollama), whatever the chunking, and their text can be
 * shown to a person as it comes.  Failures are classified into the exit
 * codes of wf(7), retried with backoff when the provider says so and no
 * text has reached anyone yet, and optionally handed to a fallback model.
 * Every message that leaves is passed through the masker (secret.c).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"

enum ptype { P_OPENAI, P_ANTHROPIC, P_OLLAMA };

/* Where streamed text goes while it arrives. */
struct display {
	int fd, tty;
	struct wf_redactor red;
	size_t shown;		/* bytes written: from here on no retry is safe */
	char last;		/* the last byte written */
};

/* What one HTTP attempt produced, filled in as the body arrives. */
struct attempt {
	enum ptype type;
	int streaming;
	/* framing: the line being read, and an SSE event being built */
	struct wf_buf line, data;
	int skip_lf, have_data;
	char event[64];
	/* results */
	struct wf_buf text;
	jv usage;		/* {input?, output?, cached?}: members only when reported */
	char *finish, *served;
	int done;		/* the protocol's end marker was seen */
	int fail;		/* a failure inside a 200 response (0: none) */
	int fail_retry;
	char fail_msg[768];
	struct display *show;
	double t0, first_text_ms;
};

/* A classified failure. */
struct failure {
	int code;		/* exit status */
	int retry;		/* worth another attempt */
	int model_missing;	/* 404: a fallback model may help */
	long status;
	long retry_after_ms;	/* what the server asked for, or -1 */
	char msg[1024];
	char rid[160];
};

static int
write_display(void *ctx, const char *p, size_t n)
{
	struct display *d = ctx;
	char *clean = NULL;

	if (n == 0)
		return 0;
	if (d->tty) {
		/* A model's reply must not drive the terminal: no escapes or other controls. */
		size_t k = 0;

		clean = wf_xmalloc(n);
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] >= 0x20 || p[i] == '\n' || p[i] == '\t')
				clean[k++] = p[i];
		p = clean;
		n = k;
	}
	if (n && wf_write_all(d->fd, p, n) < 0) {
		free(clean);
		return -1;
	}
	if (n) {
		d->shown += n;
		d->last = p[n - 1];
	}
	free(clean);
	return 0;
}

static void
emit_text(struct attempt *a, const char *s, size_t n)
{
	if (!n)
		return;
	if (!a->text.len)
		a->first_text_ms = wf_now_ms() - a->t0;
	wf_buf_add(&a->text, s, n);
	if (a->show)
		(void)wf_redactor_write(&a->show->red, s, n);
}

static void
set_fail(struct attempt *a, int code, int retry, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_fail(struct attempt *a, int code, int retry, const char *fmt, ...)
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

static jv
num_or_null(jv o, const char *k)
{
	jv v = wf_jv_get(o, k);

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return v;
	jv_free(v);
	return jv_null();
}

static void
usage_set(struct attempt *a, const char *k, jv v)
{
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		a->usage = jv_object_set(a->usage, jv_string(k), v);
	else
		jv_free(v);
}

/* OpenAI: prompt_tokens include the cached ones.  U borrowed. */
static void
usage_openai(struct attempt *a, jv u)
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

/* Anthropic: input_tokens leave out the cache; output_tokens are cumulative.  U borrowed. */
static void
usage_anthropic(struct attempt *a, jv u)
{
	double in, cw, cr;

	if (jv_get_kind(u) != JV_KIND_OBJECT)
		return;
	in = wf_jv_num(u, "input_tokens", -1);
	cw = wf_jv_num(u, "cache_creation_input_tokens", 0);
	cr = wf_jv_num(u, "cache_read_input_tokens", 0);
	if (in >= 0) {
		a->usage = jv_object_set(a->usage, jv_string("input"), jv_number(in + (cw > 0 ? cw : 0) + (cr > 0 ? cr : 0)));
		a->usage = jv_object_set(a->usage, jv_string("cached"), jv_number(cr > 0 ? cr : 0));
	}
	usage_set(a, "output", num_or_null(u, "output_tokens"));
}

/* Ollama: counts in the final object; prompt_eval_count may be missing.  O borrowed. */
static void
usage_ollama(struct attempt *a, jv o)
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

/* An error reported inside a 200 response (mid-stream, or a JSON body with "error"). */
static void
body_error(struct attempt *a, jv body)
{
	char type[160], msg[512], extra[128];
	int busy, retry;

	error_parts(body, type, sizeof type, msg, sizeof msg, extra, sizeof extra);
	busy = contains_any(type, busy_words) || contains_any(msg, busy_words);
	retry = busy && !contains_any(type, spend_words) && !contains_any(msg, spend_words);
	if (!strcmp(type, "api_error"))
		retry = 1;
	set_fail(a, retry ? WF_EXIT_BUSY : WF_EXIT_FAIL, retry, "provider error%s%s: %s", *type ? " " : "", type,
		 *msg ? msg : "(no message)");
}

/* ---- the three protocols: one parsed event or line each ---- */

static void
openai_message_text(struct attempt *a, jv content)
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
openai_object(struct attempt *a, jv v, int streamed)
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
			set_fail(a, WF_EXIT_FAIL, 0, "unparseable response: no choices");
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
			set_fail(a, WF_EXIT_FAIL, 0, "provider error: the model stopped with finish_reason \"error\"");
	}
	if (!streamed)
		a->done = 1;
	jv_free(c0);
}

static void
anthropic_object(struct attempt *a, const char *event, jv v)
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
			set_fail(a, WF_EXIT_FAIL, 0, "unparseable response: no content");
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

static void
ollama_object(struct attempt *a, jv v)
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
		set_fail(a, WF_EXIT_FAIL, 0, "unparseable response: no message");
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
static void
payload(struct attempt *a, const char *event, const char *p, size_t n)
{
	char err[256];
	jv v;

	if (a->type == P_OPENAI && n == 6 && !memcmp(p, "[DONE]", 6)) {
		a->done = 1;
		return;
	}
	v = wf_json_parse(p, n, err, sizeof err);
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		char *s = snippet(p, n, 200);

		set_fail(a, WF_EXIT_FAIL, 0, "unparseable %s: %s: %s", a->streaming ? "stream event" : "response",
			 jv_is_valid(v) ? "not a JSON object" : err, s);
		free(s);
		jv_free(v);
		return;
	}
	if (a->type == P_OPENAI)
		openai_object(a, v, a->streaming);
	else if (a->type == P_ANTHROPIC)
		anthropic_object(a, event, v);
	else
		ollama_object(a, v);
	jv_free(v);
}

/* ---- framing: SSE (WHATWG rules) and NDJSON, across any chunking ---- */

static void
sse_dispatch(struct attempt *a)
{
	if (a->have_data) {
		if (a->data.len && a->data.s[a->data.len - 1] == '\n')
			a->data.len--;
		payload(a, *a->event ? a->event : NULL, a->data.s ? a->data.s : "", a->data.len);
	}
	wf_buf_reset(&a->data);
	a->have_data = 0;
	a->event[0] = '\0';
}

static void
line_end(struct attempt *a)
{
	const char *l = a->line.s ? a->line.s : "";
	size_t n = a->line.len;

	if (a->type == P_OLLAMA) {
		size_t i = 0;

		while (i < n && (l[i] == ' ' || l[i] == '\t'))
			i++;
		if (i < n)
			payload(a, NULL, l, n);
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
static int
on_stream(void *ctx, const char *p, size_t n)
{
	struct attempt *a = ctx;
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
		if (a->type == P_OLLAMA && a->line.len && a->line.s[a->line.len - 1] == '\r')
			a->line.len--;
		line_end(a);
		i = j + 1;
	}
	/* Stop at the end marker: some servers keep the connection open after it. */
	return a->done || a->fail ? 1 : 0;
}

/* At the end of the body: a last line without its newline still counts. */
static void
stream_eof(struct attempt *a)
{
	if (a->done || a->fail)
		return;
	if (a->line.len)
		line_end(a);
	if (a->type != P_OLLAMA && a->have_data)
		sse_dispatch(a);
}

/* ---- requests ---- */

static const char *
quirk_str(jv prov, const char *k)
{
	jv q = wf_jv_get(prov, "quirks");
	const char *s = wf_jv_str(q, k);

	jv_free(q);
	return s;	/* alive through PROV */
}

static int
quirk_bool(jv prov, const char *k, int def)
{
	jv q = wf_jv_get(prov, "quirks");
	int b = wf_jv_bool(q, k, def);

	jv_free(q);
	return b;
}

/* The messages of request REQ (borrowed) without system ones, and the system text. */
static jv
conversation(jv req, char **system)
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

/* The request body for model M (borrowed) from chat request REQ (borrowed). */
static jv
build_body(enum ptype t, jv m, jv req, int stream)
{
	jv prov = wf_jv_get(m, "_provider");
	jv ro = wf_jv_get(req, "options");
	jv opts = jv_object_merge(wf_jv_get(m, "_options"), jv_get_kind(ro) == JV_KIND_OBJECT ? ro : (jv_free(ro), jv_object()));
	char *system = NULL;
	jv msgs = conversation(req, &system), body = jv_object(), ol = jv_object();
	const char *fmt = wf_jv_str(req, "format");
	int json = fmt && !strcmp(fmt, "json");

	body = jv_object_set(body, jv_string("model"), wf_jv_get(m, "model"));
	if (t == P_OPENAI || t == P_OLLAMA) {
		if (system) {
			const char *role = t == P_OPENAI ? quirk_str(prov, "system_role") : NULL;
			jv s = jv_object();

			s = jv_object_set(s, jv_string("role"), jv_string(role ? role : "system"));
			s = jv_object_set(s, jv_string("content"), jv_string(system));
			msgs = jv_array_concat(jv_array_append(jv_array(), s), msgs);
		}
	} else if (system)
		body = jv_object_set(body, jv_string("system"), jv_string(system));
	body = jv_object_set(body, jv_string("messages"), msgs);
	body = jv_object_set(body, jv_string("stream"), jv_bool(stream));
	if (t == P_OPENAI && stream && quirk_bool(prov, "stream_options", 1)) {
		jv so = jv_object_set(jv_object(), jv_string("include_usage"), jv_true());

		body = jv_object_set(body, jv_string("stream_options"), so);
	}
	if (t == P_ANTHROPIC && !jv_object_has(jv_copy(opts), jv_string("max_tokens")))
		body = jv_object_set(body, jv_string("max_tokens"), jv_number(4096));
	jv_object_foreach(opts, k, v) {
		const char *key = jv_string_value(k);

		if (t == P_OPENAI && !strcmp(key, "max_tokens")) {
			const char *f = quirk_str(prov, "max_tokens_field");

			body = jv_object_set(body, jv_string(f ? f : "max_tokens"), v);
		} else if (t == P_ANTHROPIC && !strcmp(key, "stop")) {
			body = jv_object_set(body, jv_string("stop_sequences"),
					     jv_get_kind(v) == JV_KIND_ARRAY ? v : jv_array_append(jv_array(), v));
		} else if (t == P_ANTHROPIC && !strcmp(key, "seed")) {
			jv_free(v);	/* Anthropic has no seed and rejects unknown fields */
		} else if (t == P_OLLAMA && !strcmp(key, "max_tokens")) {
			ol = jv_object_set(ol, jv_string("num_predict"), v);
		} else if (t == P_OLLAMA && strcmp(key, "keep_alive") && strcmp(key, "think")) {
			ol = jv_object_set(ol, jv_string(key), v);
		} else
			body = jv_object_set(body, jv_string(key), v);
		jv_free(k);
	}
	if (t == P_OLLAMA && jv_object_length(jv_copy(ol)) > 0)
		body = jv_object_set(body, jv_string("options"), jv_copy(ol));
	if (json && t == P_OPENAI)
		body = jv_object_set(body, jv_string("response_format"),
				     jv_object_set(jv_object(), jv_string("type"), jv_string("json_object")));
	else if (json && t == P_OLLAMA)
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
	jv_free(ol);
	jv_free(opts);
	jv_free(prov);
	free(system);
	return body;
}

/* Request headers ("Name: value", NULL-terminated); the key is only in here. */
static char **
build_headers(enum ptype t, jv prov, const char *key, int stream)
{
	char **h = wf_xcalloc(16, sizeof *h);
	int n = 0;
	const char *auth = quirk_str(prov, "auth");
	jv extra = wf_jv_get(prov, "headers");

	h[n++] = wf_xstrdup("Content-Type: application/json");
	h[n++] = wf_xstrdup(stream ? (t == P_OLLAMA ? "Accept: application/x-ndjson" : "Accept: text/event-stream")
				   : "Accept: application/json");
	if (t == P_ANTHROPIC) {
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

static void
free_headers(char **h)
{
	for (int i = 0; h && h[i]; i++) {
		explicit_bzero(h[i], strlen(h[i]));
		free(h[i]);
	}
	free(h);
}

static const char *
endpoint(enum ptype t)
{
	return t == P_OPENAI ? "/chat/completions" : t == P_ANTHROPIC ? "/v1/messages" : "/api/chat";
}

/* ---- classifying an attempt ---- */

static const char *
request_id(const struct wf_http_response *rs, jv body)
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
static void
classify_status(struct failure *f, const struct wf_http_response *rs)
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
	rid = request_id(rs, body);
	snprintf(f->rid, sizeof f->rid, "%s", rid ? rid : "");
	snprintf(f->msg, sizeof f->msg, "%s: HTTP %ld%s%s%s%s: %s", label, s, *type ? " " : "", type,
		 *extra ? " " : "", extra, msg);
	jv_free(body);
}

static void
classify_transport(struct failure *f, int rc, const struct wf_http_response *rs, const char *url)
{
	f->status = rs->status;
	f->retry = 0;
	f->model_missing = 0;
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

/* ---- one attempt ---- */

struct call {
	enum ptype type;
	char *url, *body, **headers;
	int stream;
	const struct wf_chat_opts *o;
	struct wf_http_policy pol;
};

static void
attempt_free(struct attempt *a)
{
	wf_buf_free(&a->line);
	wf_buf_free(&a->data);
	wf_buf_free(&a->text);
	jv_free(a->usage);
	free(a->finish);
	free(a->served);
}

/* Run one attempt into A; returns 0 on success or fills F. */
static int
run_attempt(struct call *c, struct attempt *a, struct display *show, struct failure *f, char *rid, size_t ridn)
{
	struct wf_http_request rq = {0};
	struct wf_http_response rs;
	int rc;

	memset(a, 0, sizeof *a);
	a->type = c->type;
	a->streaming = c->stream;
	a->usage = jv_object();
	a->show = c->stream ? show : NULL;
	a->t0 = wf_now_ms();
	rq.method = "POST";
	rq.url = c->url;
	rq.headers = (const char *const *)c->headers;
	rq.body = c->body;
	rq.body_len = strlen(c->body);
	rq.connect_ms = c->pol.connect_ms;
	rq.total_ms = c->pol.total_ms;
	/* A non-streamed answer may be silent for minutes: only streams have a stall limit. */
	rq.stall_s = c->stream ? c->pol.stall_s : 0;
	rq.max_bytes = c->pol.max_bytes;
	rq.on_data = c->stream ? on_stream : NULL;
	rq.ctx = a;
	rq.stop = c->o->stop;
	rc = wf_http_perform(&rq, &rs);
	f->retry_after_ms = rs.retry_after_ms;
	*rid = '\0';
	{
		const char *r = request_id(&rs, jv_null());

		if (r)
			snprintf(rid, ridn, "%s", r);
	}
	if (rc == WF_HTTP_OK && (rs.status < 200 || rs.status >= 300)) {
		classify_status(f, &rs);
		wf_http_response_free(&rs);
		return -1;
	}
	if (rc == WF_HTTP_OK || rc == WF_HTTP_ERR_ABORTED || (rc == WF_HTTP_ERR_PARTIAL && c->stream)) {
		if (!c->stream)
			payload(a, NULL, rs.body.s, rs.body.len);
		else
			stream_eof(a);
		if (!a->fail && !a->done) {
			if (rc == WF_HTTP_ERR_PARTIAL)
				set_fail(a, WF_EXIT_FAIL, 0, "truncated stream: %s", rs.error);
			else
				set_fail(a, WF_EXIT_FAIL, 0, "truncated stream: it ended before its end marker (%s)",
					 c->type == P_OPENAI ? "data: [DONE]" : c->type == P_ANTHROPIC ? "message_stop" : "\"done\":true");
		}
		if (a->fail) {
			f->code = a->fail;
			f->retry = a->fail_retry;
			f->model_missing = 0;
			f->status = rs.status;
			snprintf(f->msg, sizeof f->msg, "%s", a->fail_msg);
			snprintf(f->rid, sizeof f->rid, "%s", rid);
			wf_http_response_free(&rs);
			return -1;
		}
		wf_http_response_free(&rs);
		return 0;
	}
	classify_transport(f, rc, &rs, c->url);
	snprintf(f->rid, sizeof f->rid, "%s", rid);
	wf_http_response_free(&rs);
	return -1;
}

/* ---- the request, validated ---- */

static int
check_request(jv req, char *err, size_t n)
{
	static const char *const keys[] = { "model", "original", "system", "messages", "prompt", "options",
					    "stream", "format", NULL };
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

/* ---- cost and result ---- */

static double
round_usd(double x)
{
	return round(x * 1e9) / 1e9;
}

/* Rough count for providers that report no usage: about four bytes a token. */
static double
estimate_tokens(size_t bytes)
{
	return ceil((double)bytes / 4.0);
}

static jv
usage_and_cost(jv m, struct attempt *a, jv req, jv *cost)
{
	jv u = jv_object(), prices = wf_jv_get(m, "prices");
	double in = wf_jv_num(a->usage, "input", -1), out = wf_jv_num(a->usage, "output", -1);
	double cached = wf_jv_num(a->usage, "cached", 0);
	int est = 0;

	if (in < 0) {
		char *sys = NULL;
		jv conv = conversation(req, &sys);
		size_t bytes = sys ? strlen(sys) : 0;

		jv_array_foreach(conv, i, msg) {
			const char *t = wf_jv_str(msg, "content");

			bytes += t ? strlen(t) : 0;
			jv_free(msg);
		}
		in = estimate_tokens(bytes);
		free(sys);
		jv_free(conv);
		est = 1;
	}
	if (out < 0) {
		out = estimate_tokens(a->text.len);
		est = 1;
	}
	u = jv_object_set(u, jv_string("input_tokens"), jv_number(in));
	u = jv_object_set(u, jv_string("output_tokens"), jv_number(out));
	u = jv_object_set(u, jv_string("cached_tokens"), jv_number(cached));
	if (est)
		u = jv_object_set(u, jv_string("estimated"), jv_true());
	*cost = jv_object();
	if (jv_get_kind(prices) == JV_KIND_OBJECT) {
		double pin = wf_jv_num(prices, "input", 0), pout = wf_jv_num(prices, "output", 0);
		double pc = wf_jv_num(prices, "cached", pin);
		double usd = ((in - cached) * pin + cached * pc + out * pout) / 1e6;

		*cost = jv_object_set(*cost, jv_string("usd"), jv_number(round_usd(usd)));
		if (est)
			*cost = jv_object_set(*cost, jv_string("estimated"), jv_true());
	} else
		*cost = jv_object_set(*cost, jv_string("usd"), jv_null());
	jv_free(prices);
	return u;
}

static jv
model_brief(jv m)
{
	jv o = jv_object();

	o = jv_object_set(o, jv_string("name"), wf_jv_get(m, "name"));
	o = jv_object_set(o, jv_string("provider"), wf_jv_get(m, "provider"));
	o = jv_object_set(o, jv_string("model"), wf_jv_get(m, "model"));
	o = jv_object_set(o, jv_string("base_url"), wf_jv_get(m, "base_url"));
	return o;
}

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A diagnostic on stderr, through the masker. */
static void
say(const char *fmt, ...)
{
	char buf[2048], *safe;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	safe = wf_redact(buf, strlen(buf));
	wf_warn("%s", safe);
	free(safe);
}

static enum ptype
ptype_of(jv m)
{
	const char *t = wf_jv_str(m, "type");

	return !t || !strcmp(t, "openai") ? P_OPENAI : !strcmp(t, "anthropic") ? P_ANTHROPIC : P_OLLAMA;
}

/*
 * Call model M (borrowed) with retries.  Returns 0 with *RESULT, or an
 * exit code with F filled; *ATTEMPTS counts the HTTP requests made.
 */
static int
call_model(jv m, jv req, const struct wf_chat_opts *o, struct display *show, double t_start,
	   jv *result, struct failure *f, int *attempts)
{
	struct call c = {0};
	char err[512], rid[160] = "";
	jv prov = wf_jv_get(m, "_provider"), body;
	jv sv = wf_jv_get(req, "stream");
	char *key;
	int code, loop;
	const char *mname = wf_jv_str(m, "name");

	c.type = ptype_of(m);
	c.o = o;
	wf_http_policy_from_env(&c.pol);
	c.stream = jv_get_kind(sv) == JV_KIND_TRUE ? 1 : jv_get_kind(sv) == JV_KIND_FALSE ? 0 : show != NULL;
	jv_free(sv);
	c.url = wf_xasprintf("%s%s", wf_jv_str(m, "base_url"), endpoint(c.type));
	memset(f, 0, sizeof *f);
	f->retry_after_ms = -1;
	if (wf_http_url_check(c.url, &loop, err, sizeof err) < 0) {
		f->code = WF_EXIT_CONFIG;
		snprintf(f->msg, sizeof f->msg, "provider '%s': %s", wf_jv_str(m, "provider"), err);
		free(c.url);
		jv_free(prov);
		return f->code;
	}
	key = wf_api_key(prov, wf_jv_str(m, "provider"), &code, err, sizeof err);
	if (code) {
		f->code = code;
		snprintf(f->msg, sizeof f->msg, "%s", err);
		free(c.url);
		jv_free(prov);
		return code;
	}
	body = build_body(c.type, m, req, c.stream);
	c.body = wf_json_dump(body);
	jv_free(body);
	c.headers = build_headers(c.type, prov, key, c.stream);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	for (int retry = 0;; retry++) {
		struct attempt a;
		long wait;

		(*attempts)++;
		if (run_attempt(&c, &a, show, f, rid, sizeof rid) == 0) {
			jv r = jv_object(), cost, u;

			if (show && a.text.len) {
				(void)wf_redactor_flush(&show->red);
				show->red.pending = (struct wf_buf){0};
			}
			{
				char *t = wf_redact(a.text.s ? a.text.s : "", a.text.len);

				r = jv_object_set(r, jv_string("text"), jv_string(t));
				free(t);
			}
			r = jv_object_set(r, jv_string("model"), model_brief(m));
			u = usage_and_cost(m, &a, req, &cost);
			r = jv_object_set(r, jv_string("usage"), u);
			r = jv_object_set(r, jv_string("cost"), cost);
			r = jv_object_set(r, jv_string("latency_ms"), jv_number(round(wf_now_ms() - t_start)));
			if (c.stream && a.text.len)
				r = jv_object_set(r, jv_string("first_text_ms"), jv_number(round(a.first_text_ms)));
			if (*rid)
				r = jv_object_set(r, jv_string("request_id"), jv_string(rid));
			if (a.finish)
				r = jv_object_set(r, jv_string("finish_reason"), jv_string(a.finish));
			if (a.served && strcmp(a.served, wf_jv_str(m, "model")))
				r = jv_object_set(r, jv_string("served_model"), jv_string(a.served));
			r = jv_object_set(r, jv_string("streamed"), jv_bool(show && show->shown > 0));
			*result = r;
			attempt_free(&a);
			f->code = 0;
			break;
		}
		attempt_free(&a);
		if (show && show->shown == 0)
			wf_buf_reset(&show->red.pending);	/* held-back bytes of a failed attempt */
		if (f->code == WF_EXIT_INT)
			break;
		if (show && show->shown > 0) {
			/* Text is on someone's screen: a silent retry would show it twice. */
			if (f->retry)
				snprintf(f->msg + strlen(f->msg), sizeof f->msg - strlen(f->msg),
					 " (not retried: part of the answer was already shown)");
			break;
		}
		if (!f->retry || retry >= c.pol.retries)
			break;
		wait = wf_http_backoff_ms(&c.pol, retry, f->retry_after_ms);
		if (wf_now_ms() - t_start + (double)wait > (double)c.pol.deadline_ms) {
			snprintf(f->msg + strlen(f->msg), sizeof f->msg - strlen(f->msg),
				 " (not retried: the retry deadline of %.0f s would pass)", (double)c.pol.deadline_ms / 1000);
			break;
		}
		{
			char when[32];

			if (wait < 1000)
				snprintf(when, sizeof when, "%ld ms", wait);
			else
				snprintf(when, sizeof when, "%.1f s", (double)wait / 1000.0);
			say("'%s': %s%s%s%s; retry %d of %d in %s", mname, f->msg, *f->rid ? " (request " : "",
			    f->rid, *f->rid ? ")" : "", retry + 1, c.pol.retries, when);
		}
		if (wf_http_sleep_ms(wait, o->stop) < 0) {
			f->code = WF_EXIT_INT;
			snprintf(f->msg, sizeof f->msg, "interrupted");
			break;
		}
	}
	free_headers(c.headers);
	free(c.body);
	free(c.url);
	jv_free(prov);
	return f->code;
}

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

int
wf_model_chat(jv reg, jv req, const struct wf_chat_opts *o, jv *out)
{
	char err[1024];
	jv m, tried = jv_array();
	struct display show = {0};
	struct failure f;
	int attempts = 0, rc;
	double t0 = wf_now_ms();
	const char *name, *orig;

	if (check_request(req, err, sizeof err) < 0) {
		*out = wf_chat_error(err, WF_EXIT_DATA);
		jv_free(req);
		jv_free(tried);
		return WF_EXIT_DATA;
	}
	name = wf_jv_str(req, "model");
	orig = wf_jv_str(req, "original");
	m = wf_model_resolve(reg, name, orig, err, sizeof err);
	if (!jv_is_valid(m)) {
		jv_free(m);
		*out = wf_chat_error(err, WF_EXIT_CONFIG);
		jv_free(req);
		jv_free(tried);
		return WF_EXIT_CONFIG;
	}
	if (o->stream_fd >= 0) {
		show.fd = o->stream_fd;
		show.tty = isatty(o->stream_fd);
		show.red.out = write_display;
		show.red.ctx = &show;
	}
	for (;;) {
		jv fb;

		rc = call_model(m, req, o, o->stream_fd >= 0 ? &show : NULL, t0, out, &f, &attempts);
		if (rc == 0) {
			*out = jv_object_set(*out, jv_string("attempts"), jv_number(attempts));
			if (jv_array_length(jv_copy(tried)) > 0)
				*out = jv_object_set(*out, jv_string("fallback_from"), jv_copy(tried));
			break;
		}
		fb = wf_jv_get(m, "_fallback");
		/* Fall back only where another model can help, and never after text was shown. */
		if (jv_get_kind(fb) == JV_KIND_STRING && show.shown == 0 &&
		    (rc == WF_EXIT_BUSY || rc == WF_EXIT_UNAVAILABLE || f.model_missing) &&
		    jv_array_length(jv_copy(tried)) < 3) {
			jv next = wf_model_resolve(reg, jv_string_value(fb), NULL, err, sizeof err);

			if (jv_is_valid(next)) {
				say("'%s' failed: %s; falling back to '%s'", wf_jv_str(m, "name"), f.msg, wf_jv_str(next, "name"));
				tried = jv_array_append(tried, wf_jv_get(m, "name"));
				jv_free(m);
				m = next;
				jv_free(fb);
				continue;
			}
			jv_free(next);
		}
		jv_free(fb);
		{
			char *full = wf_xasprintf("chat '%s' (%s:%s): %s%s%s%s", wf_jv_str(m, "name"), wf_jv_str(m, "provider"),
						  wf_jv_str(m, "model"), f.msg, *f.rid ? " (request " : "", f.rid,
						  *f.rid ? ")" : "");

			*out = wf_chat_error(full, rc);
			free(full);
		}
		*out = jv_object_set(*out, jv_string("status"), f.status ? jv_number(f.status) : jv_null());
		if (*f.rid)
			*out = jv_object_set(*out, jv_string("request_id"), jv_string(f.rid));
		*out = jv_object_set(*out, jv_string("model"), model_brief(m));
		*out = jv_object_set(*out, jv_string("attempts"), jv_number(attempts));
		if (jv_array_length(jv_copy(tried)) > 0)
			*out = jv_object_set(*out, jv_string("fallback_from"), jv_copy(tried));
		break;
	}
	if (show.red.pending.s)
		(void)wf_redactor_flush(&show.red);
	/* End the streamed text on its own line, so what follows does not run on. */
	if (show.shown && show.tty && show.last != '\n')
		(void)wf_write_all(show.fd, "\n", 1);
	jv_free(m);
	jv_free(tried);
	jv_free(req);
	return rc;
}
