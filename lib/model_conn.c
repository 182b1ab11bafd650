/*
 * model_conn.c: warm model connections.  A process that makes many model
 * calls (wf-step, for a whole run) keeps one `wf-model --serve` child
 * and sends it one chat request per line; the child keeps libcurl loaded
 * and its connections to each provider open (http.c shares them), so a
 * call costs a pipe round trip, not a program start and a handshake.
 *
 * Rules: the child is started on the first call, in a process group of
 * its own that is reported (wf_spawn_group_hook) for every execution
 * that uses it, so it never outlives a step unseen; it dies with its
 * parent (end of input, PR_SET_PDEATHSIG).  A call the child never got
 * (it was gone when the line was written) goes to a new child; a call it
 * died with may have reached the provider and been billed: it fails with
 * the child's status and is never sent again.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wf_priv.h"
#include "model_conn.h"

/* ---- the provider's CA file ---- */

int
wf_model_ca_file(const char *cfgfile, jv v, jv *out, char *err, size_t errlen)
{
	const char *p = jv_string_value(v), *slash = cfgfile ? strrchr(cfgfile, '/') : NULL;
	char *path;
	int rc = 0;

	if (!*p) {
		snprintf(err, errlen, "ca_file is empty");
		return -1;
	}
	if (*p == '/' || !slash)
		path = wf_xstrdup(p);
	else
		path = wf_xasprintf("%.*s/%s", (int)(slash - cfgfile), cfgfile, p);
	if (access(path, R_OK) < 0) {
		snprintf(err, errlen, "ca_file '%s': cannot read '%s': %s", p, path, strerror(errno));
		rc = -1;
	} else
		*out = jv_object_set(*out, jv_string("ca_file"), jv_string(path));
	free(path);
	return rc;
}

/* ---- the server's side ---- */

/* REQ borrowed. */
int
wf_model_serve_fd(jv req, char *err, size_t errlen)
{
	jv v = wf_jv_get(req, "stream_fd");
	const char *env = getenv("WF_STREAM_FD");
	long fd = -1;
	int kind = jv_get_kind(v);

	if (kind == JV_KIND_NUMBER)
		fd = (long)jv_number_value(v);
	jv_free(v);
	if (kind != JV_KIND_NULL && kind != JV_KIND_INVALID &&
	    (kind != JV_KIND_NUMBER || fd < 0 || fd > INT_MAX || (double)fd != wf_jv_num(req, "stream_fd", -1))) {
		snprintf(err, errlen, "stream_fd must be a descriptor number");
		return -2;
	}
	if (wf_jv_bool(req, "quiet", 0))
		return -1;
	if (kind != JV_KIND_NUMBER) {
		if (env && *env && wf_parse_long(env, -1, 1 << 20, &fd) < 0) {
			snprintf(err, errlen, "WF_STREAM_FD wants a descriptor number, not '%s'", env);
			return -2;
		}
		if (!(env && *env))
			fd = isatty(2) ? 2 : -1;
	}
	if (fd == 0 || fd == 1) {
		snprintf(err, errlen, "stream descriptor %ld is the request or result channel", fd);
		return -2;
	}
	if (fd >= 0 && fcntl((int)fd, F_GETFD) < 0) {
		snprintf(err, errlen, "stream descriptor %ld is not open", fd);
		return -2;
	}
	return (int)fd;
}

/* ---- the client's side ---- */

static struct {
	pid_t pid;
	int in, out;
	long seq;		/* the execution its group was last reported for */
	struct wf_buf buf;	/* what it sent past the last whole line */
} srv = { -1, -1, -1, -1, { 0 } };

/* Forget the child, reaping it into *STATUS (when not NULL). */
static void
srv_forget(int *status)
{
	int st = 0;

	if (srv.in >= 0)
		close(srv.in);
	if (srv.out >= 0)
		close(srv.out);
	srv.in = srv.out = -1;
	if (srv.pid > 0 && wf_wait(srv.pid, &st) == 0 && status)
		*status = st;
	srv.pid = -1;
	srv.buf.len = 0;
}

/* Is the child still there?  One that died between calls is reaped and forgotten. */
static int
srv_alive(void)
{
	int st;

	if (srv.pid <= 0)
		return 0;
	if (waitpid(srv.pid, &st, WNOHANG) == srv.pid) {
		srv.pid = -1;
		srv_forget(NULL);
		return 0;
	}
	return 1;
}

/* Start `wf-model --serve`; 0, or -1 with ERR. */
static int
srv_start(long seq, char *err, size_t errlen)
{
	char *exe = wf_sibling_exe("wf-model");
	char *argv[] = { exe, (char *)"--serve", NULL };
	struct wf_child c;

	/* Its own process group, reported by wf_spawn: it can never outlive the step unseen. */
	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_IN | WF_SPAWN_OUT | WF_SPAWN_PGRP, NULL, &c) < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", exe, strerror(errno));
		free(exe);
		return -1;
	}
	free(exe);
	srv.pid = c.pid;
	srv.in = c.in;
	srv.out = c.out;
	srv.seq = seq;
	srv.buf.len = 0;
	return 0;
}

/* Write LINE whole to the child: 0, or -1 when it is gone (it cannot have read a whole line then). */
static int
srv_write(const char *line, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t w = write(srv.in, line + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return 0;
}

/*
 * Read the child's result line into *LINE (malloc'd).  0, or -1 when it
 * died first (reaped into *STATUS).  Asked to stop (wf_stop), the child's
 * group gets SIGTERM, and SIGKILL 2 s later; it answers, then exits.
 */
static int
srv_read(char **line, int *status)
{
	double kill_at = 0;

	for (;;) {
		char *nl = srv.buf.len ? memchr(srv.buf.s, '\n', srv.buf.len) : NULL;
		char tmp[65536];
		struct pollfd pf = { srv.out, POLLIN, 0 };
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - srv.buf.s);

			*line = wf_xstrndup(srv.buf.s, n);
			memmove(srv.buf.s, nl + 1, srv.buf.len - n - 1);
			srv.buf.len -= n + 1;
			return 0;
		}
		if (wf_stop && !kill_at) {
			kill(-srv.pid, SIGTERM);
			kill_at = wf_now_ms() + 2000;
		} else if (kill_at && wf_now_ms() >= kill_at) {
			kill(-srv.pid, SIGKILL);
			kill_at = 1e300;
		}
		if (poll(&pf, 1, 200) < 0 && errno != EINTR)
			break;
		if (!(pf.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = read(srv.out, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		wf_buf_add(&srv.buf, tmp, (size_t)r);
	}
	srv_forget(status);
	return -1;
}

/* CREQ consumed; the caller owns the result. */
jv
wf_model_warm_chat(jv creq, long seq, int *code, char *err, size_t errlen)
{
	char *input = wf_json_dump(creq), *line = NULL, *msg;
	size_t n = strlen(input);
	int status = 0, sent = -1;
	jv res;

	jv_free(creq);
	input = wf_xrealloc(input, n + 2);
	input[n++] = '\n';
	input[n] = '\0';
	*code = 0;
	/* Twice at most: a child that was gone before it read the line never got the call. */
	for (int i = 0; i < 2 && sent < 0 && !wf_stop; i++) {
		if (!srv_alive() && srv_start(seq, err, errlen) < 0) {
			free(input);
			*code = WF_EXIT_UNAVAILABLE;
			return jv_invalid();
		}
		if (srv.seq != seq && wf_spawn_group_hook)
			wf_spawn_group_hook(srv.pid);
		srv.seq = seq;
		if ((sent = srv_write(input, n)) < 0)
			srv_forget(NULL);
	}
	free(input);
	if (sent < 0) {
		snprintf(err, errlen, wf_stop ? "interrupted" : "wf-model --serve did not take the call");
		*code = wf_stop ? WF_EXIT_INT : WF_EXIT_UNAVAILABLE;
		return jv_invalid();
	}
	if (srv_read(&line, &status) < 0) {
		*code = wf_exit_code(status);
		if (!*code)
			*code = WF_EXIT_SOFTWARE;
		snprintf(err, errlen, "wf-model exited with status %d", wf_exit_code(status));
		return jv_invalid();
	}
	if (wf_stop)
		srv_forget(NULL);	/* told to stop: it exits after this answer */
	res = wf_json_parse(line, strlen(line), err, errlen);
	free(line);
	if (!jv_is_valid(res) || jv_get_kind(res) != JV_KIND_OBJECT) {
		msg = wf_xasprintf("wf-model gave no result: %s", jv_is_valid(res) ? "not an object" : err);
		snprintf(err, errlen, "%s", msg);
		free(msg);
		jv_free(res);
		*code = WF_EXIT_SOFTWARE;
		return jv_invalid();
	}
	if (wf_jv_str(res, "error")) {
		snprintf(err, errlen, "%s", wf_jv_str(res, "error"));
		*code = (int)wf_jv_num(res, "exit_code", 1);
		if (!*code)
			*code = 1;
		jv_free(res);
		return jv_invalid();
	}
	return res;
}
