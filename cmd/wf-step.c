/*
 * wf-step: run exactly one step.  A step request JSON comes in on stdin,
 * one step result JSON goes out on stdout (wf-json(7)).  Custom actions
 * are executables wf-action-NAME speaking the same JSON.  See wf-step(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "wf.h"

/*
 * In --serve, each process group a step starts is told to wf-run on a
 * line of its own before the result, so that it is journaled while it
 * may still be running (wf-step(1)).
 */
static void
report_group(pid_t pgid)
{
	printf("{\"pgid\":%d,\"start\":%llu}\n", (int)pgid, wf_proc_start(pgid));
	fflush(stdout);
}

/*
 * --actions: the table of built-in actions, one per line: its name, a
 * tab and its flags joined by commas ("-" for none); with --json, each
 * row as a JSON object.  An action the table gives wf-step but that
 * wf-step cannot run (or the other way round) is a bug, refused here so
 * that the tests reading this list find it.
 */
static int
print_actions(int json)
{
	char flags[160];

	for (const struct wf_action *a = wf_actions; a->name; a++) {
		if (!!(a->flags & WF_ACTION_DRIVER) == wf_step_runs(wf_action_lookup(a->name))) {
			wf_warn("action '%s': the action table and wf-step's runners disagree", a->name);
			return WF_EXIT_SOFTWARE;
		}
		if (json) {
			wf_json_print(stdout, wf_action_json(a));
		} else {
			wf_action_flags_text(a, flags, sizeof flags);
			printf("%s\t%s\n", a->name, flags);
		}
	}
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
}

/*
 * --serve: one request per line on stdin, one result per line on stdout,
 * until end of input.  wf-run keeps one of these for a whole run.
 */
static int
serve(void)
{
	struct wf_buf in = {0};
	char buf[65536], err[1024];

	wf_spawn_group_hook = report_group;
	for (;;) {
		char *nl = in.len ? memchr(in.s, '\n', in.len) : NULL;
		ssize_t r;

		if (nl) {
			size_t n = (size_t)(nl - in.s);
			jv req = wf_json_parse(in.s, n, err, sizeof err), res;

			memmove(in.s, nl + 1, in.len - n - 1);
			in.len -= n + 1;
			if (!jv_is_valid(req) || wf_step_request_check(req, err, sizeof err)) {
				/* Refused before anything runs, like wf-step without --serve. */
				jv_free(req);
				res = wf_result_fail(jv_object(), WF_EXIT_DATA, "not a step request: %s", err);
			} else {
				res = wf_step_execute(req);
			}
			wf_stop = 0;
			if (wf_json_print(stdout, res) < 0 || fflush(stdout) == EOF)
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

int
main(int argc, char **argv)
{
	char err[1024];
	jv req, res;
	const char *status;
	int rc;

	wf_set_progname(argv[0]);
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		puts("usage: wf-step < REQUEST.json > RESULT.json\n"
		     "       wf-step --serve             one request per line in, one result per line out\n"
		     "       wf-step --actions [--json]  the built-in actions and their flags\n"
		     "       wf-step --help | --version\n"
		     "Runs one step request (wf-json(7)); see wf-step(1).");
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		puts("wf-step " WF_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--actions")) {
		if (argc == 2 || (argc == 3 && !strcmp(argv[2], "--json")))
			return print_actions(argc == 3);
		wf_warn("unexpected argument '%s' after --actions (only --json)", argv[2]);
		return WF_EXIT_USAGE;
	}
	if (argc > 1 && strcmp(argv[1], "--serve")) {
		wf_warn("unexpected argument '%s'; the request comes on standard input", argv[1]);
		return WF_EXIT_USAGE;
	}
	/* Stop the command cleanly on Ctrl-C, SIGTERM, or the driver dying. */
	wf_catch_signals(WF_CATCH_HUP);
	/* A file-size limit reached while saving output is an error to report (EFBIG), not a crash of the step. */
	signal(SIGXFSZ, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* fd 3, when given, is the run's lock: keep it only for as long as we live. */
	if (fcntl(3, F_GETFD) >= 0)
		fcntl(3, F_SETFD, FD_CLOEXEC);
	if (argc > 1 && !strcmp(argv[1], "--serve"))
		return serve();
	req = wf_json_read_fd(0, (size_t)64 << 20, err, sizeof err);
	if (!jv_is_valid(req)) {
		if (wf_stop)
			return WF_EXIT_INT;	/* the driver died before sending anything */
		wf_warn("standard input: not a step request: %s", err);
		return WF_EXIT_DATA;
	}
	/* Checked against the schema wf-parse uses: a bad request runs nothing. */
	if (wf_step_request_check(req, err, sizeof err)) {
		jv_free(req);
		wf_warn("%s", err);
		return WF_EXIT_DATA;
	}
	res = wf_step_execute(req);
	status = wf_jv_str(res, "status");
	rc = !strcmp(status, "ok") ? 0 : !strcmp(status, "waiting") ? WF_EXIT_WAIT : WF_EXIT_FAIL;
	if (wf_jv_bool(res, "interrupted", 0))
		rc = WF_EXIT_INT;
	wf_json_print(stdout, res);
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : rc;
}
