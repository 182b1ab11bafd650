/*
 * model_serve.c: `wf-model --serve` (wf-model(1), "Serve"): one chat
 * request per line on stdin, each answered as `wf-model chat` answers
 * it, one result per line on stdout; the client side is model_conn.c.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "wf_priv.h"
#include "model_conn.h"

/* A --serve error result for line LINENO saying MSG, told on stderr too; the caller owns it. */
static jv
serve_refusal(long lineno, const char *msg, int code)
{
	char *m = wf_xasprintf("--serve: standard input, line %ld: not a chat request: %s", lineno, msg);
	jv res = wf_chat_error(m, code);

	wf_warn("%s", m);
	free(m);
	return res;
}

/*
 * One request line of --serve (N bytes at LINE, line LINENO), as
 * `wf-model chat` would take it on stdin: its result, error or not, with
 * its exit code in it (the caller owns it).
 */
static jv
serve_one(const char *line, size_t n, long lineno)
{
	struct wf_chat_opts o = { -1, &wf_stop };
	struct wf_diag d = {0};
	char err[512];
	int rc;
	jv req = wf_json_parse(line, n, err, sizeof err), reg, res;

	if (!jv_is_valid(req) || jv_get_kind(req) != JV_KIND_OBJECT) {
		jv_free(req);
		return serve_refusal(lineno, jv_is_valid(req) ? "a chat request must be a JSON object" : err, WF_EXIT_DATA);
	}
	if ((o.stream_fd = wf_model_serve_fd(req, err, sizeof err)) == -2) {
		jv_free(req);
		return serve_refusal(lineno, err, WF_EXIT_DATA);
	}
	req = jv_object_delete(jv_object_delete(req, jv_string("stream_fd")), jv_string("quiet"));
	/* Read again for every call, as each `wf-model chat` does: a step may change it. */
	reg = wf_models_load(&d, &rc);
	if (!jv_is_valid(reg)) {
		for (size_t i = 0; i < d.n; i++) {
			char *m = wf_redact(d.msgs[i], strlen(d.msgs[i]));

			wf_warn("%s", m);
			free(m);
		}
		res = wf_chat_error(d.n ? d.msgs[0] : "the model configuration did not load", rc);
		wf_diag_free(&d);
		jv_free(req);
		return res;
	}
	wf_diag_free(&d);
	rc = wf_model_chat(reg, req, &o, &res);
	jv_free(reg);
	if (rc) {
		if (rc == WF_EXIT_INT && wf_stop == SIGTERM)
			rc = WF_EXIT_TERM;
		wf_warn("%s", wf_jv_str(res, "error") ? wf_jv_str(res, "error") : "failed");
		res = jv_object_set(res, jv_string("exit_code"), jv_number(rc));
	}
	return res;
}

/*
 * --serve: one chat request per line on stdin, one result per line on
 * stdout, until end of input or a signal; it dies with its parent.  A
 * line longer than a chat request may be is refused whole.
 */
int
wf_model_serve(void)
{
	struct wf_buf in = {0};
	char buf[65536];
	long lineno = 0;
	int skipping = 0;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	while (!wf_stop) {
		char *nl = in.len ? memchr(in.s, '\n', in.len) : NULL;
		ssize_t r;

		if (nl || in.len > ((size_t)64 << 20)) {
			size_t n = nl ? (size_t)(nl - in.s) : in.len;
			jv res;

			if (!skipping)
				lineno++;
			res = skipping ? jv_invalid() : nl ? serve_one(in.s, n, lineno)
				: serve_refusal(lineno, "longer than 64 MiB", WF_EXIT_DATA);
			skipping = !nl;
			memmove(in.s, in.s + n + !!nl, in.len - n - !!nl);
			in.len -= n + !!nl;
			if (jv_is_valid(res) && (wf_json_print(stdout, res) < 0 || fflush(stdout) == EOF))
				break;
			continue;
		}
		r = read(0, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		wf_buf_add(&in, buf, (size_t)r);
	}
	wf_buf_free(&in);
	return 0;
}

