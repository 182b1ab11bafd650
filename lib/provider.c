/*
 * provider.c: one chat call to a model provider, in its own wire format.
 * Three protocols cover every provider we know: OpenAI chat completions
 * (and the servers compatible with it, with per-provider quirks),
 * Anthropic messages, and Ollama's /api/chat.  Each is spoken with and
 * without streaming.  provider_request.c writes the request,
 * provider_reply.c reads the answer and classifies failures; this file
 * runs the attempts: failures are retried with backoff when the provider
 * says so and no text has reached anyone yet, and optionally handed to a
 * fallback model; usage and cost make the result.  Every message that
 * leaves is passed through the masker (secret.c).
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "estimate.h"
#include "provider_wire.h"
#include "record.h"
#include "replay.h"


static int
write_display(void *ctx, const char *p, size_t n)
{
	struct wf_chat_display *d = ctx;
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

/* ---- one attempt ---- */

struct call {
	enum wf_wire type;
	char *url, *body, **headers;
	const char *ca_file;	/* borrowed from the provider entry */
	int stream;
	const struct wf_chat_opts *o;
	struct wf_http_policy pol;
};

static void
attempt_free(struct wf_chat_attempt *a)
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
run_attempt(struct call *c, struct wf_chat_attempt *a, struct wf_chat_display *show, struct wf_chat_failure *f, char *rid, size_t ridn)
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
	rq.on_data = c->stream ? wf_provider_on_stream : NULL;
	rq.ctx = a;
	rq.stop = c->o->stop;
	rq.ca_file = c->ca_file;
	rc = wf_http_perform(&rq, &rs);
	f->retry_after_ms = rs.retry_after_ms;
	*rid = '\0';
	{
		const char *r = wf_provider_request_id(&rs, jv_null());

		if (r)
			snprintf(rid, ridn, "%s", r);
	}
	if (rc == WF_HTTP_OK && (rs.status < 200 || rs.status >= 300)) {
		wf_provider_classify_status(f, &rs);
		wf_http_response_free(&rs);
		return -1;
	}
	if (rc == WF_HTTP_OK || rc == WF_HTTP_ERR_ABORTED || (rc == WF_HTTP_ERR_PARTIAL && c->stream)) {
		if (!c->stream)
			wf_provider_payload(a, NULL, rs.body.s, rs.body.len);
		else
			wf_provider_stream_eof(a);
		if (!a->fail && !a->done) {
			if (rc == WF_HTTP_ERR_PARTIAL)
				wf_provider_fail(a, WF_EXIT_FAIL, 0, "truncated stream: %s", rs.error);
			else
				wf_provider_fail(a, WF_EXIT_FAIL, 0, "truncated stream: it ended before its end marker (%s)",
					 c->type == WF_WIRE_OPENAI ? "data: [DONE]" : c->type == WF_WIRE_ANTHROPIC ? "message_stop" : "\"done\":true");
		}
		if (a->fail) {
			f->code = a->fail;
			f->retry = a->fail_retry;
			f->model_missing = 0;
			f->spend = 0;
			f->status = rs.status;
			snprintf(f->msg, sizeof f->msg, "%s", a->fail_msg);
			snprintf(f->rid, sizeof f->rid, "%s", rid);
			wf_http_response_free(&rs);
			return -1;
		}
		wf_http_response_free(&rs);
		return 0;
	}
	wf_provider_classify_transport(f, rc, &rs, c->url);
	snprintf(f->rid, sizeof f->rid, "%s", rid);
	wf_http_response_free(&rs);
	return -1;
}

/* ---- cost and result ---- */

static double
round_usd(double x)
{
	return round(x * 1e9) / 1e9;
}

/* The rough size in tokens of request REQ's (borrowed) system text and messages. */
static double
prompt_tokens(jv req)
{
	char *sys = NULL;
	jv conv = wf_provider_conversation(req, &sys);
	size_t bytes = sys ? strlen(sys) : 0;

	jv_array_foreach(conv, i, msg) {
		const char *t = wf_jv_str(msg, "content");

		bytes += t ? strlen(t) : 0;
		jv_free(msg);
	}
	free(sys);
	jv_free(conv);
	return wf_tokens_of_bytes(bytes);
}

/*
 * The rate of price K in PRICES (borrowed) for N tokens that need it:
 * the configured one; for a free model (input 0), 0; else -1, unknown,
 * never the input rate guessed.
 */
static double
cache_rate(jv prices, const char *k, double n)
{
	double pin = wf_jv_num(prices, "input", 0);

	if (n <= 0)
		return 0;
	return wf_jv_num(prices, k, pin == 0 ? 0 : -1);
}

/*
 * The cost of usage U (borrowed: input_tokens the whole prompt, of which
 * cached_tokens were read from the cache and cache_write_tokens written
 * to it) at model M's prices; the caller owns it: {usd} or {usd: null,
 * unknown: why}.
 */
static jv
cost_of(jv m, jv u, int est)
{
	jv prices = wf_jv_get(m, "prices"), cost = jv_object();
	double in = wf_jv_num(u, "input_tokens", 0), out = wf_jv_num(u, "output_tokens", 0);
	double cr = wf_jv_num(u, "cached_tokens", 0), cw = wf_jv_num(u, "cache_write_tokens", 0);
	double pcr = cache_rate(prices, "cached", cr), pcw = cache_rate(prices, "cache_write", cw);
	double plain = in - cr - cw > 0 ? in - cr - cw : 0;

	if (jv_get_kind(prices) != JV_KIND_OBJECT) {
		cost = jv_object_set(cost, jv_string("usd"), jv_null());
	} else if (pcr < 0 || pcw < 0) {
		char *why = wf_xasprintf("the model has no '%s' price for its %.0f %s tokens", pcr < 0 ? "cached" : "cache_write",
					 pcr < 0 ? cr : cw, pcr < 0 ? "cached" : "cache-write");

		cost = jv_object_set(cost, jv_string("usd"), jv_null());
		cost = jv_object_set(cost, jv_string("unknown"), jv_string(why));
		free(why);
	} else {
		double usd = (plain * wf_jv_num(prices, "input", 0) + cr * pcr + cw * pcw +
			      out * wf_jv_num(prices, "output", 0)) / 1e6;

		cost = jv_object_set(cost, jv_string("usd"), jv_number(round_usd(usd)));
		if (est)
			cost = jv_object_set(cost, jv_string("estimated"), jv_true());
	}
	jv_free(prices);
	return cost;
}

/*
 * The usage of attempt A for request REQ, and into *COST its price from
 * M's prices; M and REQ borrowed, the caller owns both results.
 */
static jv
usage_and_cost(jv m, struct wf_chat_attempt *a, jv req, jv *cost)
{
	jv u = jv_object();
	double in = wf_jv_num(a->usage, "input", -1), out = wf_jv_num(a->usage, "output", -1);
	int est = 0;

	if (in < 0) {
		in = prompt_tokens(req);
		est = 1;
	}
	if (out < 0) {
		out = wf_tokens_of_bytes(a->text.len);
		est = 1;
	}
	u = jv_object_set(u, jv_string("input_tokens"), jv_number(in));
	u = jv_object_set(u, jv_string("output_tokens"), jv_number(out));
	u = jv_object_set(u, jv_string("cached_tokens"), jv_number(wf_jv_num(a->usage, "cached", 0)));
	u = jv_object_set(u, jv_string("cache_write_tokens"), jv_number(wf_jv_num(a->usage, "cache_write", 0)));
	if (est)
		u = jv_object_set(u, jv_string("estimated"), jv_true());
	*cost = cost_of(m, u, est);
	return u;
}

/* Which model M (borrowed) answered, for the result; the caller owns it. */
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

/* The wire format of model M (borrowed). */
static enum wf_wire
ptype_of(jv m)
{
	const char *t = wf_jv_str(m, "type");

	return !t || !strcmp(t, "openai") ? WF_WIRE_OPENAI : !strcmp(t, "anthropic") ? WF_WIRE_ANTHROPIC : WF_WIRE_OLLAMA;
}

/*
 * Call model M (borrowed) with retries.  Returns 0 with *RESULT, or an
 * exit code with F filled; *ATTEMPTS counts the HTTP requests made.
 */
static int
call_model(jv m, jv req, const struct wf_chat_opts *o, struct wf_chat_display *show, double t_start,
	   jv *result, struct wf_chat_failure *f, int *attempts)
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
	c.url = wf_xasprintf("%s%s", wf_jv_str(m, "base_url"), wf_provider_endpoint(c.type));
	c.ca_file = wf_jv_str(prov, "ca_file");
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
	body = wf_provider_body(c.type, m, req, c.stream);
	c.body = wf_json_dump(body);
	jv_free(body);
	c.headers = wf_provider_headers(c.type, prov, key, c.stream);
	if (key) {
		explicit_bzero(key, strlen(key));
		free(key);
	}
	for (int retry = 0;; retry++) {
		struct wf_chat_attempt a;
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
	wf_provider_free_headers(c.headers);
	free(c.body);
	free(c.url);
	jv_free(prov);
	return f->code;
}

/* ---- fallbacks ---- */

/*
 * Why failure F (exit code RC) lets another model try, in BUF: an outage
 * that outlived its retries (overloaded, a server error, a timeout, no
 * connection, a rate limit past its Retry-After budget), a quota or
 * spend limit, or a model the provider does not have.  NULL when another
 * model cannot help or must not be asked: a bad key, a bad request, a
 * refusal, a context too long, an interrupt.
 */
static const char *
fallback_reason(const struct wf_chat_failure *f, int rc, char *buf, size_t n)
{
	const char *what;
	long s = f->status;

	if (f->spend)
		what = "quota or spend limit";
	else if (f->model_missing)
		what = "model not found";
	else if (rc == WF_EXIT_BUSY)
		what = s == 429 ? "rate-limited" : s == 503 || s == 529 ? "overloaded" : s >= 400 ? "busy" :
		       !strncmp(f->msg, "timed out", 9) ? "timed out" : "overloaded";
	else if (rc == WF_EXIT_UNAVAILABLE)
		what = s >= 500 ? "server error" : "unreachable";
	else
		return NULL;
	if (s >= 400)
		snprintf(buf, n, "%s: HTTP %ld", what, s);
	else
		snprintf(buf, n, "%s", what);
	return buf;
}

/*
 * The models to try after the first one, M (borrowed), fails: the
 * request REQ's (borrowed) "fallbacks" when it has them (a step's own
 * list, empty for "fallback: never"), and then *EXPLICIT is 1; else M's
 * configured list.  The caller owns the list.
 */
static jv
first_queue(jv req, jv m, int *explicit)
{
	jv l = wf_jv_get(req, "fallbacks");

	*explicit = jv_get_kind(l) == JV_KIND_ARRAY;
	if (*explicit)
		return l;
	jv_free(l);
	l = wf_jv_get(m, "_fallback");
	return jv_get_kind(l) == JV_KIND_ARRAY ? l : (jv_free(l), jv_array());
}

/* Is NAME in list L (borrowed)? */
static int
listed(jv l, const char *name)
{
	int hit = 0;

	jv_array_foreach(l, i, x) {
		(void)i;
		hit |= jv_get_kind(x) == JV_KIND_STRING && !strcmp(jv_string_value(x), name);
		jv_free(x);
	}
	return hit;
}

/*
 * The next model from *QUEUE (consumed and replaced) that is not in
 * TRIED (borrowed), resolved in REG (borrowed); its own fallbacks join
 * the end of the queue unless the list is EXPLICIT.  A name that does
 * not resolve is told and skipped.  The caller owns the model; invalid
 * when none is left.
 */
static jv
next_model(jv reg, jv *queue, jv tried, int explicit)
{
	while (jv_array_length(jv_copy(*queue)) > 0) {
		jv name = jv_array_get(jv_copy(*queue), 0), m;
		char err[512];

		*queue = jv_array_slice(*queue, 1, jv_array_length(jv_copy(*queue)));
		if (jv_get_kind(name) != JV_KIND_STRING || listed(tried, jv_string_value(name))) {
			jv_free(name);
			continue;
		}
		m = wf_model_resolve(reg, jv_string_value(name), NULL, err, sizeof err);
		jv_free(name);
		if (!jv_is_valid(m)) {
			say("fallback skipped: %s", err);
			jv_free(m);
			continue;
		}
		if (listed(tried, wf_jv_str(m, "name"))) {
			jv_free(m);
			continue;
		}
		if (!explicit) {
			jv more = wf_jv_get(m, "_fallback");

			if (jv_get_kind(more) == JV_KIND_ARRAY)
				*queue = jv_array_concat(*queue, more);
			else
				jv_free(more);
		}
		return m;
	}
	return jv_invalid();
}

/*
 * Would asking model M (borrowed) for request REQ (borrowed) cross what
 * is left of the run's budget, REQ's "budget": {"usd": LEFT}?  The
 * prompt alone is counted, at M's input price; a model without prices
 * is not held back.  0, or 1 with the reason in BUF.
 */
static int
fallback_over_budget(jv req, jv m, char *buf, size_t n)
{
	jv b = wf_jv_get(req, "budget"), prices = wf_jv_get(m, "prices");
	double left = wf_jv_num(b, "usd", -1), usd = 0;
	int over = 0;

	if (left >= 0 && jv_get_kind(prices) == JV_KIND_OBJECT) {
		usd = prompt_tokens(req) * wf_jv_num(prices, "input", 0) / 1e6;
		over = usd > left;
		if (over)
			snprintf(buf, n, "fallback to '%s' not tried: at its price the prompt alone would cost about $%.6f, more than the $%.6f left of the budget",
				 wf_jv_str(m, "name"), usd, left);
	}
	jv_free(b);
	jv_free(prices);
	return over;
}

/* One switch from model FROM to TO (both borrowed) after failure F, for the result; the caller owns it. */
static jv
switch_record(jv from, jv to, const char *reason, const struct wf_chat_failure *f, int attempts)
{
	jv s = jv_object();

	s = jv_object_set(s, jv_string("from"), wf_jv_get(from, "name"));
	s = jv_object_set(s, jv_string("to"), wf_jv_get(to, "name"));
	s = jv_object_set(s, jv_string("reason"), jv_string(reason));
	s = jv_object_set(s, jv_string("status"), f->status >= 400 ? jv_number(f->status) : jv_null());
	s = jv_object_set(s, jv_string("attempts"), jv_number(attempts));
	return s;
}

/* OUT (consumed, returned) with the attempts, and the models tried before (TRIED and SWITCHES, borrowed). */
static jv
with_fallbacks(jv out, int attempts, jv tried, jv switches)
{
	out = jv_object_set(out, jv_string("attempts"), jv_number(attempts));
	if (jv_array_length(jv_copy(tried)) > 0) {
		out = jv_object_set(out, jv_string("fallback_from"), jv_copy(tried));
		out = jv_object_set(out, jv_string("fallbacks"), jv_copy(switches));
	}
	return out;
}

/* The failure F of model M (borrowed) with exit code RC as a chat error; the caller owns it. */
static jv
chat_failure(jv m, const struct wf_chat_failure *f, int rc)
{
	char *full = wf_xasprintf("chat '%s' (%s:%s): %s%s%s%s", wf_jv_str(m, "name"), wf_jv_str(m, "provider"),
				  wf_jv_str(m, "model"), f->msg, *f->rid ? " (request " : "", f->rid,
				  *f->rid ? ")" : "");
	jv out = wf_chat_error(full, rc);

	free(full);
	out = jv_object_set(out, jv_string("status"), f->status ? jv_number(f->status) : jv_null());
	if (*f->rid)
		out = jv_object_set(out, jv_string("request_id"), jv_string(f->rid));
	return jv_object_set(out, jv_string("model"), model_brief(m));
}

/*
 * Keep the call that REQ (borrowed) made under KEY (borrowed) and its
 * answer OUT (borrowed) where REQ's "record" member says (record.h).  A
 * call that cannot be kept is still answered: it was made, and may have
 * been billed; the warning says why a replay will miss it.
 */
static void
record_call(jv req, jv key, jv out)
{
	jv rec = wf_jv_get(req, "record"), line = jv_object();
	char err[512];

	line = jv_object_set(line, jv_string("step"), wf_jv_get(rec, "step"));
	line = jv_object_set(line, jv_string("seq"), wf_jv_get(rec, "seq"));
	line = jv_object_set(line, jv_string("key"), jv_copy(key));
	line = jv_object_set(line, jv_string("name"), wf_jv_get(req, "model"));
	line = jv_object_set(line, jv_string("answer"), jv_copy(out));
	if (wf_jv_bool(out, "replayed", 0)) {	/* answered from a recording (replay.c) */
		line = jv_object_set(line, jv_string("replayed"), jv_true());
		line = jv_object_set(line, jv_string("from"), wf_jv_get(out, "from"));
	}
	if (wf_record_append(wf_jv_str(rec, "dir"), line, err, sizeof err) < 0)
		say("%s; a replay of this run will not find this call", err);
	jv_free(line);
	jv_free(rec);
}

/* A replayed answer *OUT (consumed and returned, updated) shows on SHOW's stream as a live one would. */
static void
replay_show(struct wf_chat_display *show, jv *out)
{
	const char *t = wf_jv_str(*out, "text");

	if (show->red.out && t && *t)
		(void)wf_redactor_write(&show->red, t, strlen(t));
	*out = jv_object_set(*out, jv_string("streamed"), jv_bool(show->red.out && t && *t));
}

/* REQ consumed, REG borrowed; *OUT: caller owns. */
int
wf_model_chat(jv reg, jv req, const struct wf_chat_opts *o, jv *out)
{
	char err[1024];
	jv m, key, tried = jv_array(), switches = jv_array(), queue;
	struct wf_chat_display show = {0};
	struct wf_chat_failure f;
	int attempts = 0, rc, explicit, live;
	double t0 = wf_now_ms();
	const char *name, *orig;

	if (wf_provider_check_request(req, err, sizeof err) < 0) {
		*out = wf_chat_error(err, WF_EXIT_DATA);
		jv_free(req);
		jv_free(tried);
		jv_free(switches);
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
		jv_free(switches);
		return WF_EXIT_CONFIG;
	}
	/* A recorded call is known by the model the request named, before any fallback. */
	key = jv_object_has(jv_copy(req), jv_string("record")) ? wf_record_key(m, req) : jv_null();
	if (o->stream_fd >= 0) {
		show.fd = o->stream_fd;
		show.tty = isatty(o->stream_fd);
		show.red.out = write_display;
		show.red.ctx = &show;
	}
	/* A replaying or offline run: the recorded answer, or a refusal, before any network (replay.c). */
	live = (rc = wf_replay_answer(m, req, out)) == WF_REPLAY_LIVE;
	if (rc == 0) {
		replay_show(&show, out);
		if (jv_get_kind(key) == JV_KIND_OBJECT)
			record_call(req, key, *out);
	}
	queue = first_queue(req, m, &explicit);
	while (live) {
		char why[128], over[512];
		const char *reason;
		int before = attempts;
		jv next = jv_invalid();

		rc = call_model(m, req, o, o->stream_fd >= 0 ? &show : NULL, t0, out, &f, &attempts);
		if (rc == 0) {
			*out = with_fallbacks(*out, attempts, tried, switches);
			if (jv_get_kind(key) == JV_KIND_OBJECT)
				record_call(req, key, *out);
			break;
		}
		/* Fall back only where another model can help, and never after text was shown. */
		reason = show.shown == 0 && rc != WF_EXIT_INT ? fallback_reason(&f, rc, why, sizeof why) : NULL;
		tried = jv_array_append(tried, wf_jv_get(m, "name"));
		if (reason)
			next = next_model(reg, &queue, tried, explicit);
		if (jv_is_valid(next) && fallback_over_budget(req, next, over, sizeof over)) {
			snprintf(f.msg + strlen(f.msg), sizeof f.msg - strlen(f.msg), " (%s)", over);
			jv_free(next);
			next = jv_invalid();
		}
		if (jv_is_valid(next)) {
			say("'%s' failed: %s; falling back to '%s'", wf_jv_str(m, "name"), f.msg, wf_jv_str(next, "name"));
			switches = jv_array_append(switches, switch_record(m, next, reason, &f, attempts - before));
			jv_free(m);
			m = next;
			continue;
		}
		jv_free(next);
		tried = jv_array_slice(tried, 0, jv_array_length(jv_copy(tried)) - 1);
		*out = with_fallbacks(chat_failure(m, &f, rc), attempts, tried, switches);
		break;
	}
	if (show.red.pending.s)
		(void)wf_redactor_flush(&show.red);
	/* End the streamed text on its own line, so what follows does not run on. */
	if (show.shown && show.tty && show.last != '\n')
		(void)wf_write_all(show.fd, "\n", 1);
	jv_free(m);
	jv_free(key);
	jv_free(tried);
	jv_free(switches);
	jv_free(queue);
	jv_free(req);
	return rc;
}
