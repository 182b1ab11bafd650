/*
 * stepper.c: the wf-step child of a run.  One "wf-step --serve" process
 * runs every action of the run, one request line in, one result line
 * out, so a step costs a pipe round trip rather than a program start; a
 * crash in an action still cannot touch the driver, and a child that
 * died is simply started again.
 *
 * Layer 4: driver.
 *
 * Rules: the request carries only what the step reads (its own text, the
 * variables, the steps it names).  Every process group the child reports
 * is journaled (step-pgid) before the step goes on, so that a resume can
 * tell whether it still runs; the driver never starts a step beside a
 * copy of it still running.  A result that is not one is a failed step
 * (70), never a crash of the driver.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "driver.h"
#include "outlog.h"

/* ---- the request ---- */

/* The steps STEP (borrowed) names as steps.ID in its text, from the run's state; the caller owns them. */
static jv
referenced_steps(struct driver *d, jv step)
{
	char *txt = wf_json_dump(step);
	jv all = wf_jv_get(d->run->state, "steps"), out = jv_object();

	for (char *p = strstr(txt, "steps."); p; p = strstr(p + 1, "steps.")) {
		char *s = p + 6, *e = s;
		char id[160];

		while (isalnum((unsigned char)*e) || *e == '_' || *e == '-' || *e == '.')
			e++;
		/* steps.ID.field: the id ends at the last dot before a known field. */
		size_t n = (size_t)(e - s);
		if (n >= sizeof id)
			continue;
		memcpy(id, s, n);
		id[n] = '\0';
		for (char *dot = strrchr(id, '.'); dot; dot = strrchr(id, '.')) {
			jv v = wf_jv_get(all, id);
			if (jv_get_kind(v) != JV_KIND_NULL) {
				jv_free(v);
				break;
			}
			jv_free(v);
			*dot = '\0';
		}
		jv v = wf_jv_get(all, id);
		if (jv_get_kind(v) != JV_KIND_NULL)
			out = jv_object_set(out, jv_string(id), v);
		else
			jv_free(v);
	}
	free(txt);
	jv_free(all);
	return out;
}

/* The run object of a request: who runs and how; the caller owns it. */
static jv
request_run(struct driver *d)
{
	jv st = d->run->state, run = jv_object();

	run = jv_object_set(run, jv_string("name"), jv_string(d->run->name));
	run = jv_object_set(run, jv_string("dir"), jv_string(d->run->dir));
	run = jv_object_set(run, jv_string("cwd"), wf_jv_get(st, "cwd"));
	run = jv_object_set(run, jv_string("source"), wf_jv_get(d->wf, "source"));
	run = jv_object_set(run, jv_string("seq"), jv_number((double)d->run->seq));
	run = jv_object_set(run, jv_string("strict"), wf_jv_get(d->wf, "strict"));
	run = jv_object_set(run, jv_string("interactive"),
			    jv_bool(wf_jv_bool(d->wf, "interactive", 1) && !d->o->no_input));
	run = jv_object_set(run, jv_string("quiet"), jv_bool(d->o->quiet));
	run = jv_object_set(run, jv_string("tty"), jv_bool(d->tty_in));
	if (wf_gate_usd_left(d) >= 0)	/* what a fallback model may spend (wf-model(1), "Fallbacks") */
		run = jv_object_set(run, jv_string("budget"),
				    jv_object_set(jv_object(), jv_string("usd"), jv_number(wf_gate_usd_left(d))));
	run = wf_driver_replay_run(d, run);
	return jv_object_set(run, jv_string("env"), wf_jv_get(d->wf, "env"));
}

/* The request line for STEP (consumed); the caller owns it.  It takes the --answer kept for the step. */
static jv
build_request(struct driver *d, jv step)
{
	jv st = d->run->state, req = jv_object(), run = request_run(d);
	static const char *const keys[] = { "vars", "last", "loops", "iteration", "model",
					    "original_model", "passes", NULL };
	const char *a = wf_jv_str(step, "action");

	for (int i = 0; keys[i]; i++)
		req = jv_object_set(req, jv_string(keys[i]), wf_jv_get(st, keys[i]));
	req = jv_object_set(req, jv_string("steps"), referenced_steps(d, step));
	if (a && strcmp(a, "shell") && strcmp(a, "load-variable") && strcmp(a, "set-variable"))
		req = jv_object_set(req, jv_string("transcript"), wf_jv_get(st, "transcript"));
	if (d->answer_step && wf_jv_str(step, "id") && !strcmp(d->answer_step, wf_jv_str(step, "id")) &&
	    jv_get_kind(d->answer) != JV_KIND_INVALID) {
		char *t = wf_jv_text(d->answer);

		req = jv_object_set(req, jv_string("answer"), jv_string(t));
		free(t);
		jv_free(d->answer);
		d->answer = jv_invalid();
	}
	if (!d->o->json && !d->o->quiet)
		run = jv_object_set(run, jv_string("echo_fd"), jv_number(4));
	req = jv_object_set(req, jv_string("run"), run);
	return jv_object_set(req, jv_string("step"), step);
}

/* ---- the child ---- */

/* Start "wf-step --serve" with the run's lock on fd 3 and, unless --json or --quiet, our output on fd 4. */
static int
server_start(struct driver *d)
{
	char *argv[] = { d->step_exe, (char *)"--serve", NULL };
	int fdmap[3][2] = { { d->run->lockfd, 3 }, { fileno(d->o->out), 4 }, { -1, -1 } };

	if (d->o->json || d->o->quiet)
		fdmap[1][0] = -1;
	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_IN | WF_SPAWN_OUT, (const int (*)[2])fdmap, &d->server) < 0)
		return -1;
	d->server_buf.len = 0;
	return 0;
}

void
wf_stepper_stop(struct driver *d)
{
	int st;

	if (d->server.pid <= 0)
		return;
	if (d->server.in >= 0)
		close(d->server.in);
	if (d->server.out >= 0)
		close(d->server.out);
	d->server.in = d->server.out = -1;
	wf_wait(d->server.pid, &st);
	d->server.pid = -1;
	wf_buf_free(&d->server_buf);
}

/*
 * A line {"pgid":N,"start":T} from the child: the step started process
 * group N.  It is journaled (step-pgid) before the step goes on, so that
 * a resume can tell whether it still runs, and kept to stop it if the
 * child dies.
 */
static void
note_group(struct driver *d, const char *line, size_t n)
{
	char err[128];
	jv g = wf_json_parse(line, n, err, sizeof err), ev;

	if (!jv_is_valid(g) || jv_get_kind(g) != JV_KIND_OBJECT) {
		jv_free(g);
		return;
	}
	g = jv_object_set(g, jv_string("boot"), jv_string(wf_boot_id()));
	ev = jv_object_set(jv_copy(g), jv_string("event"), jv_string("step-pgid"));
	ev = jv_object_set(ev, jv_string("step"), jv_string(d->step_id ? d->step_id : ""));
	d->groups = jv_array_append(d->groups, g);
	(void)wf_driver_journal(d, ev, 0);
}

/* Stop every process group the step started that is still alive (the child died). */
static void
stop_groups(struct driver *d)
{
	jv_array_foreach(d->groups, i, g) {
		pid_t pgid = wf_group_record_alive(g);

		(void)i;
		if (pgid)
			wf_pgroup_stop(pgid, 2);
		jv_free(g);
	}
}

/*
 * Take one line from what the child sent: 1 for a result line (added to
 * OUT), 0 for a process group (noted), -1 when there is no whole line yet.
 */
static int
take_line(struct driver *d, struct wf_buf *out)
{
	char *nl = d->server_buf.len ? memchr(d->server_buf.s, '\n', d->server_buf.len) : NULL;
	size_t n;
	int group;

	if (!nl)
		return -1;
	n = (size_t)(nl - d->server_buf.s);
	group = n > 8 && !memcmp(d->server_buf.s, "{\"pgid\":", 8);
	if (group)
		note_group(d, d->server_buf.s, n);
	else
		wf_buf_add(out, d->server_buf.s, n);
	memmove(d->server_buf.s, nl + 1, d->server_buf.len - n - 1);
	d->server_buf.len -= n + 1;
	return !group;
}

/* ---- the elapsed time of a silent step ---- */

/* Has the step in flight (or the last one) printed on the terminal?  Its frames in steps/output.log say so. */
int
wf_stepper_printed(struct driver *d)
{
	int sfd, seen;

	if (wf_outlog_size(d->run->dirfd) <= d->live.log_at)
		return 0;
	sfd = openat(d->run->dirfd, "steps", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	seen = wf_outlog_streams(sfd, d->live.seq, d->live.log_at);
	if (sfd >= 0)
		close(sfd);
	return (seen & 2) || ((seen & 1) && isatty(fileno(d->o->out)));
}

/*
 * Redraw the step's progress line with its elapsed time when a new
 * second began, unless it printed on the terminal (then its output, not
 * the line, is at the cursor, and the line is drawn no more).
 */
static void
live_tick(struct driver *d)
{
	long secs;

	if (!d->live.on)
		return;
	secs = (long)((wf_now_ms() - d->live.t0) / 1000);
	if (secs < 1 || secs == d->live.shown)
		return;
	if (wf_stepper_printed(d)) {
		d->live.on = 0;
		return;
	}
	d->live.shown = secs;
	wf_driver_progress(d, "\r\033[K%s%s ... %lds%s", wf_driver_col(d, "\033[1m"), d->live.line, secs,
			   wf_driver_col(d, "\033[0m"));
}

/* How long to wait for the child before looking again (ms): 200 at most, less when the line's next second is nearer. */
static int
live_wait(struct driver *d)
{
	long left;

	if (!d->live.on)
		return 200;
	left = 1000 - (long)(wf_now_ms() - d->live.t0) % 1000;
	return left < 200 ? (int)left + 1 : 200;
}

/*
 * Send one request line and read one result line.  -2 when the child was
 * gone before it got the request (nothing ran), -1 when it died after.
 */
static int
server_call(struct driver *d, const char *line, size_t len, struct wf_buf *out)
{
	struct pollfd pf;
	int signalled = 0;
	size_t written = 0;

	while (written < len) {
		ssize_t w = write(d->server.in, line + written, len - written);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return written ? -1 : -2;
		written += (size_t)w;
	}
	for (;;) {
		char tmp[65536];
		ssize_t r;
		int got;

		while ((got = take_line(d, out)) == 0)
			;
		if (got > 0)
			return 0;
		if (wf_stop && !signalled) {
			/* Ask the child to stop the command; it still answers. */
			kill(d->server.pid, SIGTERM);
			signalled = 1;
		}
		pf.fd = d->server.out;
		pf.events = POLLIN;
		pf.revents = 0;
		if (poll(&pf, 1, live_wait(d)) < 0 && errno != EINTR)
			return -1;
		live_tick(d);
		if (!(pf.revents & (POLLIN | POLLHUP)))
			continue;
		r = read(d->server.out, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		wf_buf_add(&d->server_buf, tmp, (size_t)r);
	}
}

/* Send LINE (LEN bytes) to the child, starting it (again, if it was gone before it got it): as server_call. */
static int
send_request(struct driver *d, const char *line, size_t len, struct wf_buf *out)
{
	int rc;

	if (d->server.pid <= 0 && server_start(d) != 0)
		return -1;
	rc = server_call(d, line, len, out);
	if (rc == -2) {
		/* The child was gone before it got the request: nothing ran; a new one gets it. */
		wf_stepper_stop(d);
		if (!wf_stop && server_start(d) == 0) {
			out->len = 0;
			rc = server_call(d, line, len, out);
		}
	}
	return rc;
}

/* A failed result with exit code 70 and ERROR (consumed); the caller owns it. */
static jv
failed_result(jv error)
{
	jv res = jv_object_set(jv_object(), jv_string("status"), jv_string("failed"));

	res = jv_object_set(res, jv_string("exit_code"), jv_number(70));
	return jv_object_set(res, jv_string("error"), error);
}

/* Run STEP (consumed) through wf-step; the caller owns its result (a failed one if it could not run). */
jv
wf_stepper_run(struct driver *d, jv step)
{
	struct wf_buf out = {0};
	char err[512], *input, *line;
	jv req = build_request(d, jv_copy(step)), res;
	size_t n;
	int rc;

	input = wf_json_dump(req);
	jv_free(req);
	wf_buf_addstr(&out, "");
	d->step_id = wf_jv_str(step, "id");
	/* Its frames in the run's output log follow this point (step.c, outlog.h). */
	d->live.log_at = wf_outlog_size(d->run->dirfd);
	d->live.seq = (long)d->run->seq;
	jv_free(d->groups);
	d->groups = jv_array();
	n = strlen(input);
	line = wf_xasprintf("%s\n", input);
	rc = send_request(d, line, n + 1, &out);
	free(line);
	free(input);
	if (rc < 0) {
		res = failed_result(jv_string_fmt("'%s' died without a result", d->step_exe));
		if (wf_stop)
			res = jv_object_set(res, jv_string("interrupted"), jv_true());
		else if (rc == -1) {
			/* It died with the request: a crash of the step, which is now in doubt. */
			res = jv_object_set(res, jv_string("crashed"), jv_true());
			res = jv_object_set(res, jv_string("error"),
					    jv_string_fmt("'%s' died while running the step", d->step_exe));
		}
		wf_stepper_stop(d);
		stop_groups(d);
	} else {
		res = wf_json_parse(out.s, out.len, err, sizeof err);
		if (!jv_is_valid(res) || jv_get_kind(res) != JV_KIND_OBJECT || !wf_jv_str(res, "status")) {
			jv_free(res);
			res = failed_result(jv_string_fmt("wf-step answered with a malformed result: %s", err));
		}
	}
	wf_buf_free(&out);
	d->step_id = NULL;
	jv_free(step);
	return res;
}

/*
 * Are process groups the step in flight (INFLIGHT, borrowed) started still
 * running?  Then a resume must not start it beside them: 75 after naming
 * the first, or, with --kill-stale, stop them all and go on (0).
 */
int
wf_stepper_stale_groups(struct driver *d, jv inflight)
{
	struct wf_run_opts *o = d->o;
	jv groups = wf_jv_get(inflight, "groups");
	const char *sid = wf_jv_str(inflight, "step");
	int rc = 0;

	if (jv_get_kind(groups) == JV_KIND_ARRAY)
		jv_array_foreach(groups, i, g) {
			pid_t pgid = (pid_t)wf_jv_num(g, "pgid", 0);

			(void)i;
			if (!rc && wf_group_record_alive(g)) {
				if (!o->kill_stale) {
					wf_warn("run '%s': step '%s' is still running as process group %d; stop it with 'kill -TERM -- -%d' or 'wf %s %s%s --kill-stale'",
						d->run->name, sid ? sid : "?", (int)pgid, (int)pgid,
						o->restart ? "run" : "resume", o->restart ? o->target : d->run->name,
						o->restart ? " --restart" : "");
					rc = WF_EXIT_BUSY;
				} else if (wf_pgroup_stop(pgid, 2) < 0) {
					wf_warn("run '%s': step '%s': process group %d did not stop, even after SIGKILL",
						d->run->name, sid ? sid : "?", (int)pgid);
					rc = WF_EXIT_BUSY;
				} else {
					wf_warn("run '%s': stopped process group %d, left running by step '%s'",
						d->run->name, (int)pgid, sid ? sid : "?");
				}
			}
			jv_free(g);
		}
	jv_free(groups);
	return rc;
}
