/*
 * cond_jq.c: "jq: PROGRAM" conditions.  jq has no interruption hook and
 * can read the environment, so the program is compiled and run in a
 * forked child with a scrubbed environ, CPU, memory and wall-clock
 * limits, and no input, modules or output; the parent reads one verdict
 * through a pipe.  The syntax check compiles in the child too.
 *
 * Layer 1: formats and channels.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jq.h>

#include "cond_lang.h"

/* Limits of the jq child. */
#define JQ_CPU_SECONDS 1
#define JQ_WALL_SECONDS 2
#define JQ_MEMORY_HEADROOM ((rlim_t)128 << 20)

/* The first message jq reports, without its "jq: error: " prefix and trailing lines. */
struct jq_errors {
	char msg[512];
	int n;
};

/* Libjq's error callback: keeps the first message; MSG consumed. */
static void
jq_error_cb(void *data, jv msg)
{
	struct jq_errors *e = data;

	if (e->n++ == 0 && jv_get_kind(msg) == JV_KIND_STRING) {
		const char *s = jv_string_value(msg);

		int n;
		const char *at;

		if (!strncmp(s, "jq: error: ", 11))
			s += 11;
		n = (int)strcspn(s, "\n");
		at = strstr(s, " at <top-level>, line 1:");
		if (at && at - s < n)
			n = (int)(at - s);
		snprintf(e->msg, sizeof e->msg, "jq: %.*s", n, s);
	}
	jv_free(msg);
}

/* The $names a jq condition sees: $vars, $steps, $last, $loops, $iteration, $step (CTX borrowed). */
static jv
jq_args(jv ctx)
{
	static const char *const keys[] = { "vars", "steps", "last", "loops", "step", NULL };
	jv args = jv_object();

	for (int i = 0; keys[i]; i++)
		args = jv_object_set(args, jv_string(keys[i]), wf_jv_get(ctx, keys[i]));
	return jv_object_set(args, jv_string("iteration"), wf_ctx_lookup(ctx, "iteration"));
}

/* Libjq's input callback: there is no input; libjq owns the invalid returned. */
static jv
jq_no_input(jq_state *jq, void *data)
{
	(void)jq;
	(void)data;
	return jv_invalid_with_msg(jv_string("a condition has no input to read"));
}

/* Libjq's debug and stderr callback: MSG consumed and dropped. */
static void
jq_discard(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

/*
 * A jq state that reports errors into E, with no module search path and
 * no input.  libjq 1.6 leaves the debug callback unset and `debug` then
 * jumps through garbage, so it gets one that discards.
 */
static jq_state *
jq_open(struct jq_errors *e)
{
	jq_state *jq = jq_init();

	if (!jq)
		return NULL;
	jq_set_error_cb(jq, jq_error_cb, e);
	jq_set_input_cb(jq, jq_no_input, NULL);
	jq_set_debug_cb(jq, jq_discard, NULL);
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
	return jq;
}

/* Child side: send verdict V (T, F, E text, M) on FD and leave. */
static __attribute__((noreturn)) void
verdict(int fd, char v, const char *msg)
{
	char buf[600];
	int n = snprintf(buf, sizeof buf, "%c%s", v, msg ? msg : "");

	(void)!write(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
	_exit(0);
}

static int verdict_fd = -1;

static void
jq_nomem(void *data)
{
	(void)data;
	verdict(verdict_fd, 'M', NULL);
}

/* Keep only a few harmless variables, so env and $ENV show no secret. */
static void
scrub_environ(void)
{
	static const char *const keep[] = {
		"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "TZ", NULL
	};
	extern char **environ;
	static char *safe[sizeof keep / sizeof keep[0]];
	size_t n = 0;

	for (int i = 0; keep[i]; i++) {
		size_t len = strlen(keep[i]);

		for (char **e = environ; e && *e; e++)
			if (!strncmp(*e, keep[i], len) && (*e)[len] == '=') {
				safe[n++] = *e;
				break;
			}
	}
	safe[n] = NULL;
	environ = safe;
}

/* Address space in use now, from /proc/self/statm; 0 if unknown. */
static rlim_t
vm_size(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned long pages;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu", &pages) != 1)
		return 0;
	return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

/*
 * The evaluator child: limits, a clean environment, compile, run (unless
 * COMPILE_ONLY), one verdict.
 */
static __attribute__((noreturn)) void
jq_child(int fd, const char *prog, jv ctx, int compile_only)
{
	struct jq_errors e = {0};
	struct rlimit rl;
	sigset_t none;
	rlim_t vm = vm_size();
	jq_state *jq;
	jv r;
	int null = open("/dev/null", O_RDWR);

	verdict_fd = fd;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The caller's handlers (an interrupt flag, say) must not keep the child alive. */
	signal(SIGALRM, SIG_DFL);
	signal(SIGXCPU, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	scrub_environ();
	rl.rlim_cur = JQ_CPU_SECONDS;
	rl.rlim_max = JQ_CPU_SECONDS + 1;
	setrlimit(RLIMIT_CPU, &rl);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	setrlimit(RLIMIT_FSIZE, &rl);
	if (vm) {
		rl.rlim_cur = rl.rlim_max = vm + JQ_MEMORY_HEADROOM;
		setrlimit(RLIMIT_AS, &rl);
	}
	alarm(JQ_WALL_SECONDS);

	jq = jq_open(&e);
	if (!jq)
		verdict(fd, 'M', NULL);
	jq_set_nomem_handler(jq, jq_nomem, NULL);
	if (!jq_compile_args(jq, prog, jq_args(ctx)))
		verdict(fd, 'E', e.msg[0] ? e.msg : "jq: cannot compile the program");
	if (compile_only)
		verdict(fd, 'T', NULL);
	jq_start(jq, jv_copy(ctx), 0);
	r = jq_next(jq);
	if (jv_get_kind(r) == JV_KIND_TRUE || jv_get_kind(r) == JV_KIND_FALSE)
		verdict(fd, jv_get_kind(r) == JV_KIND_TRUE ? 'T' : 'F', NULL);
	if (!jv_is_valid(r)) {
		jv msg = jv_invalid_get_msg(r);
		char text[512];

		if (jv_get_kind(msg) == JV_KIND_STRING)
			snprintf(text, sizeof text, "jq: %s", jv_string_value(msg));
		else if (jv_get_kind(msg) != JV_KIND_NULL) {
			jv d = jv_dump_string(msg, 0);

			snprintf(text, sizeof text, "jq: error: %s", jv_string_value(d));
			msg = d;
		} else
			snprintf(text, sizeof text,
				 "condition must produce true or false, but it produced no value");
		verdict(fd, 'E', text);
	}
	{
		jv d = jv_dump_string(r, 0);
		char text[512];

		snprintf(text, sizeof text, "condition must produce true or false, not %.60s%s",
			 jv_string_value(d), jv_string_length_bytes(jv_copy(d)) > 60 ? "..." : "");
		verdict(fd, 'E', text);
	}
}

/*
 * Run PROG over CTX (borrowed) in a limited child; the wf_cond_eval
 * results.  With COMPILE_ONLY, only compile it: even that happens in the
 * child, where libjq 1.6's own leaks (an unterminated string in a program
 * leaks in its parser) and any blow-up stay out of the caller.
 */
int
wf_cond_jq_eval(const char *prog, jv ctx, int compile_only, int *result, char *err, size_t errlen)
{
	int fds[2], status = 0, timed_out = 0;
	char buf[600];
	size_t got = 0;
	double deadline;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot evaluate jq condition: pipe: %s", strerror(errno));
		return WF_EXIT_SOFTWARE;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot evaluate jq condition: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return WF_EXIT_SOFTWARE;
	}
	if (pid == 0) {
		close(fds[0]);
		jq_child(fds[1], prog, ctx, compile_only);
	}
	close(fds[1]);
	deadline = wf_now_ms() + (JQ_WALL_SECONDS + 1) * 1000.0;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		double left = deadline - wf_now_ms();
		ssize_t n;
		int pr;

		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		pr = poll(&pfd, 1, (int)left + 1);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		n = read(fds[0], buf + got, sizeof buf - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= sizeof buf - 1)
			break;
	}
	buf[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got > 0) {
		switch (buf[0]) {
		case 'T':
		case 'F':
			*result = buf[0] == 'T';
			return 0;
		case 'E':
			snprintf(err, errlen, "%s", buf + 1);
			return WF_EXIT_DATA;
		case 'M':
			snprintf(err, errlen, "condition exceeded its limits (more than %d MiB of memory)",
				 (int)(JQ_MEMORY_HEADROOM >> 20));
			return WF_EXIT_LIMIT;
		}
	}
	if (timed_out || (WIFSIGNALED(status) &&
			  (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL ||
			   WTERMSIG(status) == SIGALRM))) {
		snprintf(err, errlen, "condition exceeded its limits (%d s of CPU time, %d s in all)",
			 JQ_CPU_SECONDS, JQ_WALL_SECONDS);
		return WF_EXIT_LIMIT;
	}
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "condition exceeded its limits (the evaluator died of signal %d, %s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
		return WF_EXIT_LIMIT;
	}
	snprintf(err, errlen, "jq condition evaluator failed (exit status %d)", wf_exit_code(status));
	return WF_EXIT_SOFTWARE;
}
