/*
 * http.c: the one place libcurl is used.  One request per call, with the
 * safety rules every caller needs and none should have to remember:
 * HTTPS verified, plain http only to loopback hosts, redirects never
 * followed (a 3xx is an error), connect/total/stall timeouts, a response
 * size cap counted as the bytes arrive, response headers kept for
 * Retry-After and request ids, a streaming body callback, a stop flag for
 * signals, and a debug trace with secrets masked.  The retry policy (which
 * statuses, how long to wait) lives here too so that every client backs
 * off the same way; the caller runs the loop because only it knows
 * whether a retry is still safe.
 *
 * Layer 1: formats and channels.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>

#include "wf_priv.h"

#define DEFAULT_MAX_BYTES ((size_t)8 << 20)
#define MAX_HEADER_BYTES (64 * 1024)

/* Seconds from environment variable NAME (decimals allowed), as ms; DEF if unset or bad. */
static long
env_ms(const char *name, long def)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || v < 0 || v > 1e7)
		return def;
	return (long)(v * 1000.0 + 0.5);
}

static long
env_long(const char *name, long def, long min, long max)
{
	const char *s = getenv(name);
	long v;

	if (!s || !*s || wf_parse_long(s, min, max, &v) < 0)
		return def;
	return v;
}

void
wf_http_policy_from_env(struct wf_http_policy *p)
{
	memset(p, 0, sizeof *p);
	p->connect_ms = env_ms("WF_HTTP_CONNECT_TIMEOUT", 10000);
	p->total_ms = env_ms("WF_HTTP_TIMEOUT", 600000);
	p->stall_s = (env_ms("WF_HTTP_STALL_TIMEOUT", 60000) + 999) / 1000;
	p->max_bytes = (size_t)env_long("WF_HTTP_MAX_BYTES", (long)DEFAULT_MAX_BYTES, 1024, 1L << 40);
	p->retries = (int)env_long("WF_RETRY_MAX", 4, 0, 100);
	p->base_ms = env_long("WF_RETRY_BASE_MS", 1000, 0, 3600000);
	p->cap_ms = env_long("WF_RETRY_CAP_MS", 30000, 0, 3600000);
	p->retry_after_max_ms = env_ms("WF_RETRY_AFTER_MAX", 120000);
	p->deadline_ms = env_ms("WF_RETRY_DEADLINE", 900000);
}

long
wf_http_backoff_ms(const struct wf_http_policy *p, int retry, long retry_after_ms)
{
	double d;

	if (retry_after_ms >= 0)
		return retry_after_ms < p->retry_after_max_ms ? retry_after_ms : p->retry_after_max_ms;
	d = (double)p->base_ms * pow(2.0, retry > 30 ? 30 : retry);
	if (d > (double)p->cap_ms)
		d = (double)p->cap_ms;
	/* Jitter: up to a quarter less, so that many clients do not retry in step. */
	d *= 1.0 - 0.25 * ((double)rand() / ((double)RAND_MAX + 1.0));
	return (long)d;
}

int
wf_http_sleep_ms(long ms, volatile int *stop)
{
	double end = wf_now_ms() + (double)ms;

	for (;;) {
		double left = end - wf_now_ms();
		struct timespec ts;

		if (stop && *stop)
			return -1;
		if (left <= 0)
			return 0;
		if (left > 100)
			left = 100;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)(left * 1e6);
		nanosleep(&ts, NULL);
	}
}

static int
is_loopback_host(const char *host)
{
	char h[256];
	size_t n = strlen(host);
	struct in_addr a4;
	struct in6_addr a6;

	if (n == 0 || n >= sizeof h)
		return 0;
	if (!strcasecmp(host, "localhost"))
		return 1;
	if (host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return 0;
}

int
wf_http_url_check(const char *url, int *loopback, char *err, size_t errlen)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	int rc = -1;

	*loopback = 0;
	if (!u)
		wf_die(WF_EXIT_SOFTWARE, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		snprintf(err, errlen, "'%s' is not a valid http or https URL", url);
		goto out;
	}
	*loopback = is_loopback_host(host);
	if (!strcmp(scheme, "https"))
		rc = 0;
	else if (!strcmp(scheme, "http")) {
		if (*loopback)
			rc = 0;
		else
			snprintf(err, errlen,
				 "refusing plain http to '%s': use https (http is allowed only for loopback hosts)",
				 host);
	} else
		snprintf(err, errlen, "URL scheme '%s' is not allowed (only https, or http to a loopback host)",
			 scheme);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static void
global_init(void)
{
	static int done;

	if (!done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
			wf_die(WF_EXIT_SOFTWARE, "cannot initialise libcurl");
		done = 1;
	}
}

/*
 * The connections, DNS answers and TLS sessions every transfer of this
 * process shares, so that a program making many requests (wf-model
 * --serve) opens one connection per host and keeps it alive between
 * them; NULL when libcurl cannot share (each transfer then connects).
 */
static CURLSH *
shared(void)
{
	static CURLSH *sh;
	static int tried;

	if (!tried) {
		tried = 1;
		sh = curl_share_init();
		if (sh && (curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK ||
			   curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
			   curl_share_setopt(sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK)) {
			curl_share_cleanup(sh);
			sh = NULL;
		}
	}
	return sh;
}

/* The state one transfer's callbacks share. */
struct xfer {
	CURL *h;
	const struct wf_http_request *rq;
	struct wf_http_response *rs;
	size_t header_bytes;
	size_t sent;		/* how much of the body libcurl has read */
	int too_big, aborted, stopped, stalled;
	double start, last_data;
};

/*
 * The request body, handed to libcurl through a read callback with no
 * way back: when a kept-alive connection dies after the request went
 * out, libcurl would rewind the body and send the request again by
 * itself; without a rewind it fails (CURLE_SEND_FAIL_REWIND) and the
 * caller's own rules decide whether a request that may have arrived is
 * sent again.
 */
static size_t
on_read(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = x->rq->body_len - x->sent;

	if (n > size * nmemb)
		n = size * nmemb;
	memcpy(p, x->rq->body + x->sent, n);
	x->sent += n;
	return n;
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb, k;
	char *name, *val, *end;

	x->header_bytes += n;
	x->last_data = wf_now_ms();
	if (x->header_bytes > MAX_HEADER_BYTES) {
		x->too_big = 1;
		return 0;
	}
	/* A new status line (after 100 Continue, say) starts a new header set. */
	if (n >= 5 && !memcmp(p, "HTTP/", 5)) {
		jv_free(x->rs->headers);
		x->rs->headers = jv_object();
		return n;
	}
	val = memchr(p, ':', n);
	if (!val || val == p)
		return n;
	name = wf_xstrndup(p, (size_t)(val - p));
	for (char *c = name; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	val++;
	end = p + n;
	while (val < end && (*val == ' ' || *val == '\t'))
		val++;
	while (end > val && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	k = (size_t)(end - val);
	{
		char *v = wf_xstrndup(val, k);

		x->rs->headers = jv_object_set(x->rs->headers, jv_string(name), jv_string(v));
		free(v);
	}
	free(name);
	return n;
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *ctx)
{
	struct xfer *x = ctx;
	size_t n = size * nmemb;
	long status = 0;

	if (x->rq->stop && *x->rq->stop) {
		x->stopped = 1;
		return 0;
	}
	if (x->rs->body_bytes == 0 && n > 0)
		x->rs->first_byte_ms = wf_now_ms() - x->start;
	x->last_data = wf_now_ms();
	if (x->rs->body_bytes + n > x->rs->max_bytes) {
		x->too_big = 1;
		return 0;
	}
	x->rs->body_bytes += n;
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &status);
	x->rs->status = status;
	if (x->rq->on_data && status >= 200 && status < 300) {
		if (x->rq->on_data(x->rq->ctx, p, n) != 0) {
			x->aborted = 1;
			return 0;
		}
		return n;
	}
	wf_buf_add(&x->rs->body, p, n);
	return n;
}

static int
on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = ctx;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (x->rq->stop && *x->rq->stop) {
		x->stopped = 1;
		return 1;
	}
	/*
	 * Our own stall detector: curl's low-speed check averages over several
	 * seconds, so a stream that sent a burst and then went silent would
	 * live on for longer than asked.  libcurl calls us about once a second
	 * while nothing arrives.
	 */
	if (x->rq->stall_s > 0 && wf_now_ms() - x->last_data > (double)x->rq->stall_s * 1000.0) {
		x->stalled = 1;
		return 1;
	}
	return 0;
}

/* Header names whose values are credentials: never shown, even in a trace. */
static int
credential_header(const char *line, size_t n)
{
	static const char *const names[] = { "authorization:", "x-api-key:", "api-key:", "cookie:",
					     "set-cookie:", "proxy-authorization:", "x-goog-api-key:", NULL };

	for (int i = 0; names[i]; i++) {
		size_t k = strlen(names[i]);

		if (n >= k && !strncasecmp(line, names[i], k))
			return (int)k;
	}
	return 0;
}

/* --debug-http: headers both ways, one line each, credentials as ***. */
static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
	const char *tag = type == CURLINFO_HEADER_OUT ? "> " : type == CURLINFO_HEADER_IN ? "< " :
			  type == CURLINFO_TEXT ? "* " : NULL;
	const char *p = data, *end = data + size;

	(void)h, (void)ctx;
	if (!tag)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int k;
		char *line, *safe;

		if (n && p[n - 1] == '\r')
			n--;
		if (n) {
			k = credential_header(p, n);
			line = k ? wf_xasprintf("%.*s ***", k, p) : wf_xstrndup(p, n);
			safe = wf_redact(line, strlen(line));
			fprintf(stderr, "%s: http: %s%s\n", wf_progname, tag, safe);
			free(safe);
			free(line);
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

/*
 * Parse Retry-After-Ms, then Retry-After (seconds or an HTTP date); -1
 * when absent. HEADERS borrowed.
 */
static long
retry_after(jv headers)
{
	const char *ms = wf_jv_str(headers, "retry-after-ms");
	const char *s = wf_jv_str(headers, "retry-after");
	char *end;
	double v;

	if (ms) {
		v = strtod(ms, &end);
		if (end != ms && !*end && v >= 0 && v < 1e10)
			return (long)v;
	}
	if (s) {
		v = strtod(s, &end);
		if (end != s && !*end && v >= 0 && v < 1e7)
			return (long)(v * 1000.0);
		{
			time_t t = curl_getdate(s, NULL);

			if (t != -1) {
				/* A date in the past means "now" (older curl gave a negative wait). */
				double d = difftime(t, time(NULL));

				return d > 0 ? (long)(d * 1000.0) : 0;
			}
		}
	}
	return -1;
}

/* What the transfer X came to (CC, curl's EBUF): a WF_HTTP_ code, with the message in X's response. */
static int
outcome(const struct xfer *x, CURLcode cc, const char *ebuf)
{
	struct wf_http_response *rs = x->rs;
	int rc;

	if (x->stopped) {
		snprintf(rs->error, sizeof rs->error, "interrupted");
		rc = WF_HTTP_ERR_STOPPED;
	} else if (x->stalled) {
		snprintf(rs->error, sizeof rs->error, "no data for %ld s: the %s stalled", x->rq->stall_s,
			 rs->status ? "response" : "server");
		rc = WF_HTTP_ERR_TIMEOUT;
	} else if (x->too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(rs->error, sizeof rs->error, "response larger than %zu bytes", rs->max_bytes);
		rc = WF_HTTP_ERR_TOO_BIG;
	} else if (x->aborted) {
		snprintf(rs->error, sizeof rs->error, "stopped by the reader");
		rc = WF_HTTP_ERR_ABORTED;
	} else if (rs->status >= 300 && rs->status < 400) {
		const char *loc = wf_jv_str(rs->headers, "location");
		char *safe = wf_redact(loc ? loc : "", loc ? strlen(loc) : 0);

		snprintf(rs->error, sizeof rs->error, "unexpected redirect (HTTP %ld%s%.200s)", rs->status,
			 loc ? " to " : "", safe);
		free(safe);
		rc = WF_HTTP_ERR_REDIRECT;
	} else if (cc == CURLE_OK) {
		rc = WF_HTTP_OK;
	} else {
		char *safe = wf_redact(*ebuf ? ebuf : curl_easy_strerror(cc),
				       strlen(*ebuf ? ebuf : curl_easy_strerror(cc)));

		snprintf(rs->error, sizeof rs->error, "%s (curl error %d)", safe, (int)cc);
		free(safe);
		switch (cc) {
		case CURLE_OPERATION_TIMEDOUT:
			rc = WF_HTTP_ERR_TIMEOUT;
			break;
		case CURLE_PEER_FAILED_VERIFICATION:
		case CURLE_SSL_CACERT_BADFILE:
			rc = WF_HTTP_ERR_TLS_VERIFY;
			break;
		case CURLE_UNSUPPORTED_PROTOCOL:
		case CURLE_URL_MALFORMAT:
			rc = WF_HTTP_ERR_URL;
			break;
		case CURLE_PARTIAL_FILE:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_SEND_FAIL_REWIND:
			/* A response had begun: the body is cut short.  Before that: transient. */
			rc = rs->status ? WF_HTTP_ERR_PARTIAL : WF_HTTP_ERR_CONNECT;
			break;
		default:
			rc = WF_HTTP_ERR_CONNECT;
		}
	}
	return rc;
}

int
wf_http_perform(const struct wf_http_request *rq, struct wf_http_response *rs)
{
	struct xfer x = {0};
	struct curl_slist *hl = NULL;
	CURLcode cc;
	int loopback, rc;
	char ebuf[CURL_ERROR_SIZE] = "";
	const char *dbg = getenv("WF_DEBUG_HTTP");

	memset(rs, 0, sizeof *rs);
	rs->headers = jv_object();
	rs->retry_after_ms = -1;
	rs->max_bytes = rq->max_bytes ? rq->max_bytes : DEFAULT_MAX_BYTES;
	if (wf_http_url_check(rq->url, &loopback, rs->error, sizeof rs->error) < 0)
		return WF_HTTP_ERR_URL;
	global_init();
	x.h = curl_easy_init();
	if (!x.h)
		wf_die(WF_EXIT_SOFTWARE, "cannot create a libcurl handle");
	x.rq = rq;
	x.rs = rs;
	for (size_t i = 0; rq->headers && rq->headers[i]; i++)
		hl = curl_slist_append(hl, rq->headers[i]);
	/* No "Expect: 100-continue" round trip for large prompts. */
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(x.h, CURLOPT_URL, rq->url);
	curl_easy_setopt(x.h, CURLOPT_PROTOCOLS_STR, loopback ? "http,https" : "https");
	curl_easy_setopt(x.h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(x.h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(x.h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(x.h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (rq->ca_file && *rq->ca_file)
		curl_easy_setopt(x.h, CURLOPT_CAINFO, rq->ca_file);
	else if (getenv("WF_CA_FILE") && *getenv("WF_CA_FILE"))
		curl_easy_setopt(x.h, CURLOPT_CAINFO, getenv("WF_CA_FILE"));
	if (shared()) {
		curl_easy_setopt(x.h, CURLOPT_SHARE, shared());
		/* Servers drop idle connections after a minute or two: do not bet a request on an older one. */
		curl_easy_setopt(x.h, CURLOPT_MAXAGE_CONN, 30L);
	}
	if (loopback)
		curl_easy_setopt(x.h, CURLOPT_PROXY, "");	/* never send loopback traffic to a proxy */
	curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x.h, CURLOPT_USERAGENT, "wf/" WF_VERSION);
	curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, rq->method ? rq->method : "GET");
	if (rq->body) {
		curl_easy_setopt(x.h, CURLOPT_POST, 1L);
		curl_easy_setopt(x.h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(x.h, CURLOPT_READDATA, &x);
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
	} else if (rq->method && strcmp(rq->method, "GET") && strcmp(rq->method, "HEAD"))
		curl_easy_setopt(x.h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	if (rq->method && !strcmp(rq->method, "HEAD"))
		curl_easy_setopt(x.h, CURLOPT_NOBODY, 1L);
	curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_ms > 0 ? rq->connect_ms : 10000L);
	if (rq->total_ms > 0)
		curl_easy_setopt(x.h, CURLOPT_TIMEOUT_MS, rq->total_ms);
	curl_easy_setopt(x.h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)rs->max_bytes);
	curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(x.h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x.h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x.h, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(x.h, CURLOPT_ERRORBUFFER, ebuf);
	if (rq->debug || (dbg && *dbg && strcmp(dbg, "0"))) {
		curl_easy_setopt(x.h, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(x.h, CURLOPT_DEBUGFUNCTION, on_debug);
	}
	x.start = x.last_data = wf_now_ms();
	cc = curl_easy_perform(x.h);
	rs->total_ms = wf_now_ms() - x.start;
	curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &rs->status);
	rs->curl_code = (int)cc;
	rs->retry_after_ms = retry_after(rs->headers);
	if (!rs->body.s)
		wf_buf_add(&rs->body, "", 0);

	rc = outcome(&x, cc, ebuf);
	curl_slist_free_all(hl);
	curl_easy_cleanup(x.h);
	return rc;
}

const char *
wf_http_header(const struct wf_http_response *rs, const char *name)
{
	return wf_jv_str(rs->headers, name);
}

void
wf_http_response_free(struct wf_http_response *rs)
{
	jv_free(rs->headers);
	rs->headers = jv_null();
	wf_buf_free(&rs->body);
}
