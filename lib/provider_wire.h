/*
 * provider_wire.h: what provider.c, provider_request.c and
 * provider_reply.c share about one call to a model provider, used
 * nowhere else: the wire format, the streamed display, one attempt as its
 * body arrives, and a classified failure.
 *
 * Layer 2: domain.
 */
#ifndef WF_PROVIDER_WIRE_H
#define WF_PROVIDER_WIRE_H

#include "wf_priv.h"

enum wf_wire { WF_WIRE_OPENAI, WF_WIRE_ANTHROPIC, WF_WIRE_OLLAMA };

/* Where streamed text goes while it arrives. */
struct wf_chat_display {
	int fd, tty;
	struct wf_redactor red;
	size_t shown;		/* bytes written: from here on no retry is safe */
	char last;		/* the last byte written */
};

/* What one HTTP attempt produced, filled in as the body arrives. */
struct wf_chat_attempt {
	enum wf_wire type;
	int streaming;
	/* framing: the line being read, and an SSE event being built */
	struct wf_buf line, data;
	int skip_lf, have_data;
	char event[64];
	/* results */
	struct wf_buf text;
	jv usage;		/* {input?, output?, cached?, cache_write?, uncached?}: members only when reported */
	char *finish, *served;
	int done;		/* the protocol's end marker was seen */
	int fail;		/* a failure inside a 200 response (0: none) */
	int fail_retry;
	char fail_msg[768];
	struct wf_chat_display *show;
	double t0, first_text_ms;
};

/* A classified failure. */
struct wf_chat_failure {
	int code;		/* exit status */
	int retry;		/* worth another attempt */
	int model_missing;	/* 404: a fallback model may help */
	int spend;		/* a quota or spend limit: a fallback model may help */
	long status;
	long retry_after_ms;	/* what the server asked for, or -1 */
	char msg[1024];
	char rid[160];
};

/* provider_request.c: REQ and M borrowed; the body and the conversation's messages are the caller's. */
int wf_provider_check_request(jv req, char *err, size_t n);
jv wf_provider_conversation(jv req, char **system);
jv wf_provider_body(enum wf_wire t, jv m, jv req, int stream);
char **wf_provider_headers(enum wf_wire t, jv prov, const char *key, int stream);
void wf_provider_free_headers(char **h);
const char *wf_provider_endpoint(enum wf_wire t);

/* provider_reply.c: reading an answer into an attempt, and classifying failures. */
void wf_provider_fail(struct wf_chat_attempt *a, int code, int retry, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void wf_provider_payload(struct wf_chat_attempt *a, const char *event, const char *p, size_t n);
int wf_provider_on_stream(void *ctx, const char *p, size_t n);
void wf_provider_stream_eof(struct wf_chat_attempt *a);
const char *wf_provider_request_id(const struct wf_http_response *rs, jv body);
void wf_provider_classify_status(struct wf_chat_failure *f, const struct wf_http_response *rs);
void wf_provider_classify_transport(struct wf_chat_failure *f, int rc, const struct wf_http_response *rs,
				    const char *url);

#endif
