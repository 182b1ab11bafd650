/*
 * cond_jq.c: "jq: PROGRAM" conditions.  jq has no interruption hook and
 * can read the environment, so programs are compiled and run in a child
 * process with a scrubbed environ and no input, modules or output.
 *
 * One child serves every jq: condition of a process (a run, its
 * sub-runs, a validator): it starts on the first one and lives until the
 * process exits (EOF on its socket, or PR_SET_PDEATHSIG).  It keeps the
 * compiled programs it has seen, so libjq compiles its builtins once per
 * program text, not once per evaluation.  The limits hold per
 * evaluation: before each one the child arms 1 s of CPU time (an
 * ITIMER_PROF, with RLIMIT_CPU behind it), 2 s of wall clock (alarm) and
 * 128 MiB of address space over what it holds now (RLIMIT_AS), and
 * disarms them after; the parent also keeps a wall clock and kills the
 * child when it runs out.  A child that hit a limit, died, or said
 * anything outside the protocol is reaped and the next evaluation gets a
 * fresh one; one found dead between evaluations is replaced without a
 * word.  The evaluation in flight when a child dies gets an error, never
 * a verdict.
 *
 * The protocol (a socketpair, both ends on this machine):
 *   request  = "W" KIND(C compile only, E evaluate) 2 bytes of 0,
 *              u32 program length, u32 input length, program, input
 *              where input is the JSON text [CONTEXT, ITERATION];
 *   reply    = VERDICT(T, F, E error, M out of memory) FLAGS(1: the child
 *              leaves now), u16 text length, text (at most REPLY_MAX).
 *
 * Layer 1: formats and channels.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jq.h>

#include "cond_lang.h"

/* Limits of one evaluation. */
#define JQ_CPU_SECONDS 1
#define JQ_WALL_SECONDS 2
#define JQ_MEMORY_HEADROOM ((rlim_t)128 << 20)

/* The child: compiled programs it keeps, and how much it may grow before it retires. */
#define JQ_CACHE_SIZE 32
#define JQ_RETIRE_GROWTH ((rlim_t)64 << 20)
#define JQ_INPUT_MAX ((uint32_t)1 << 30)
#define REPLY_MAX 600

/*
 * The program libjq compiles: PROG under the names a condition sees,
 * bound from the input [CONTEXT, ITERATION] exactly as jq_compile_args
 * would bind constants, with the context as its input.  No newline, so
 * jq's line numbers and $__loc__ stay those of PROG.
 */
#define JQ_PRELUDE ".[1] as $iteration | .[0] | .vars as $vars | .steps as $steps | " \
	".last as $last | .loops as $loops | .step as $step | "

/* ---------------------------------------------------------------- child */

/* The first message jq reports, without its "jq: error: " prefix and trailing lines. */
struct jq_errors {
	char msg[512];
	int n;
};

static struct jq_errors child_errors;
static int child_fd = -1;

struct cached {
	char *prog;		/* malloc'd program text; NULL: a free slot */
	jq_state *jq;
};

static struct cached cache[JQ_CACHE_SIZE];
static int cache_next;

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

/* Move all N bytes of BUF out to (OUT) or in from blocking FD: 0, or -1 at EOF or on an error. */
static int
move_all(int fd, void *buf, size_t n, int out)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = out ? write(fd, p, n) : read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Child side: send verdict V (T, F, E with MSG, M), saying whether it then leaves (RETIRE). */
static void
reply(char v, const char *msg, int retire)
{
	unsigned char buf[4 + REPLY_MAX];
	size_t n = msg ? strlen(msg) : 0;

	if (n > REPLY_MAX)
		n = REPLY_MAX;
	buf[0] = (unsigned char)v;
	buf[1] = (unsigned char)(retire ? 1 : 0);
	buf[2] = (unsigned char)(n & 0xff);
	buf[3] = (unsigned char)(n >> 8);
	if (n)
		memcpy(buf + 4, msg, n);
	if (move_all(child_fd, buf, 4 + n, 1) < 0)
		_exit(0);
}

/* Libjq's out-of-memory handler: say so, and leave (the parent starts a fresh child). */
static void
jq_nomem(void *data)
{
	(void)data;
	reply('M', NULL, 1);
	_exit(0);
}

/*
 * A jq state for PROG that reports errors into child_errors, with no
 * module search path and no input.  libjq 1.6 leaves the debug callback
 * unset and `debug` then jumps through garbage, so it gets one that
 * discards.  NULL with child_errors set when PROG does not compile.
 */
static jq_state *
jq_open(const char *prog)
{
	jq_state *jq = jq_init();
	char *text;
	int ok;

	if (!jq)
		jq_nomem(NULL);
	jq_set_error_cb(jq, jq_error_cb, &child_errors);
	jq_set_input_cb(jq, jq_no_input, NULL);
	jq_set_debug_cb(jq, jq_discard, NULL);
	jq_set_nomem_handler(jq, jq_nomem, NULL);
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
	text = malloc(sizeof JQ_PRELUDE + strlen(prog));
	if (!text)
		jq_nomem(NULL);
	memcpy(text, JQ_PRELUDE, sizeof JQ_PRELUDE - 1);
	strcpy(text + sizeof JQ_PRELUDE - 1, prog);
	ok = jq_compile(jq, text);
	free(text);
	if (!ok) {
		jq_teardown(&jq);
		return NULL;
	}
	return jq;
}

/* The compiled PROG, from the cache or compiled now (evicting the oldest); NULL when it does not compile. */
static jq_state *
cache_get(const char *prog)
{
	jq_state *jq;
	struct cached *c;

	for (int i = 0; i < JQ_CACHE_SIZE; i++)
		if (cache[i].prog && !strcmp(cache[i].prog, prog))
			return cache[i].jq;
	jq = jq_open(prog);
	if (!jq)
		return NULL;
	c = &cache[cache_next];
	cache_next = (cache_next + 1) % JQ_CACHE_SIZE;
	if (c->prog) {
		free(c->prog);
		jq_teardown(&c->jq);
	}
	c->prog = strdup(prog);
	c->jq = jq;
	if (!c->prog)
		jq_nomem(NULL);
	return jq;
}

/*
 * Forget PROG's compiled state.  After `halt_error` libjq 1.6 keeps the
 * exit code and message it already freed once, so a state that halted
 * is torn down (one reset) rather than started again (a second free).
 */
static void
cache_drop(const char *prog)
{
	for (int i = 0; i < JQ_CACHE_SIZE; i++)
		if (cache[i].prog && !strcmp(cache[i].prog, prog)) {
			free(cache[i].prog);
			cache[i].prog = NULL;
			jq_teardown(&cache[i].jq);
		}
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

/* Close every descriptor from LOW up: the child holds no lock, journal or pipe of its parent. */
static void
close_from(int low)
{
	DIR *d;
	struct dirent *de;

	if (close_range((unsigned)low, ~0U, 0) == 0)
		return;
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd >= low && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

/*
 * The child's one-time setup: its socket on descriptor 3 and nothing
 * else open, default signal handling, a scrubbed environment, no core
 * or written file, dead with its parent, named "wf-jq" in ps.
 */
static void
child_setup(int fd, pid_t parent)
{
	struct rlimit rl = { 0, 0 };
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(0);
	prctl(PR_SET_NAME, "wf-jq");
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The caller's handlers (an interrupt flag, say) must not keep the child alive. */
	signal(SIGALRM, SIG_DFL);
	signal(SIGXCPU, SIG_DFL);
	signal(SIGPROF, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
	}
	if (fd != 3 && (dup2(fd, 3) < 0))
		_exit(0);
	child_fd = 3;
	close_from(4);
	scrub_environ();
	setrlimit(RLIMIT_CORE, &rl);
	setrlimit(RLIMIT_FSIZE, &rl);
}

/* Arm (ON) or disarm the limits of one evaluation: CPU time, wall clock, address space. */
static void
limits(int on)
{
	struct itimerval cpu = { { 0, 0 }, { on ? JQ_CPU_SECONDS : 0, 0 } };
	struct rusage ru;
	struct rlimit rl;
	rlim_t vm = on ? vm_size() : 0;

	if (getrlimit(RLIMIT_CPU, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		if (on && getrusage(RUSAGE_SELF, &ru) == 0) {
			rlim_t used = (rlim_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec);

			if (rl.rlim_max == RLIM_INFINITY || used + JQ_CPU_SECONDS + 2 < rl.rlim_max)
				rl.rlim_cur = used + JQ_CPU_SECONDS + 2;
		}
		setrlimit(RLIMIT_CPU, &rl);
	}
	if (getrlimit(RLIMIT_AS, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		if (vm && (rl.rlim_max == RLIM_INFINITY || vm + JQ_MEMORY_HEADROOM < rl.rlim_max))
			rl.rlim_cur = vm + JQ_MEMORY_HEADROOM;
		setrlimit(RLIMIT_AS, &rl);
	}
	setitimer(ITIMER_PROF, &cpu, NULL);
	alarm(on ? JQ_WALL_SECONDS : 0);
}

/* Run compiled JQ over INPUT (consumed): the verdict and its text in TEXT. */
static char
run_program(jq_state *jq, jv input, char *text, size_t n)
{
	jv r;
	char v = 'E';

	jq_start(jq, input, 0);
	r = jq_next(jq);
	if (jv_get_kind(r) == JV_KIND_TRUE || jv_get_kind(r) == JV_KIND_FALSE) {
		v = jv_get_kind(r) == JV_KIND_TRUE ? 'T' : 'F';
		jv_free(r);
	} else if (!jv_is_valid(r)) {
		jv msg = jv_invalid_get_msg(r);

		if (jv_get_kind(msg) == JV_KIND_STRING)
			snprintf(text, n, "jq: %s", jv_string_value(msg));
		else if (jv_get_kind(msg) != JV_KIND_NULL) {
			jv d = jv_dump_string(jv_copy(msg), 0);

			snprintf(text, n, "jq: error: %s", jv_string_value(d));
			jv_free(d);
		} else
			snprintf(text, n, "condition must produce true or false, but it produced no value");
		jv_free(msg);
	} else {
		jv d = jv_dump_string(r, 0);

		snprintf(text, n, "condition must produce true or false, not %.60s%s",
			 jv_string_value(d), jv_string_length_bytes(jv_copy(d)) > 60 ? "..." : "");
		jv_free(d);
	}
	return v;
}

/* One request: compile PROG (cached), and unless COMPILE_ONLY run it over INPUT (consumed). */
static void
serve_one(const char *prog, jv input, int compile_only, rlim_t born)
{
	char text[512] = "";
	char v = 'T';
	int halted = 0, retire;
	jq_state *jq;

	memset(&child_errors, 0, sizeof child_errors);
	limits(1);
	jq = cache_get(prog);
	if (!jq) {
		v = 'E';
		snprintf(text, sizeof text, "%s",
			 child_errors.msg[0] ? child_errors.msg : "jq: cannot compile the program");
		jv_free(input);
	} else if (compile_only) {
		jv_free(input);
	} else {
		v = run_program(jq, input, text, sizeof text);
		halted = jq_halted(jq);
		/* Let go of this evaluation's values now, not at the next start. */
		if (!halted)
			jq_start(jq, jv_null(), 0);
	}
	limits(0);
	if (halted)
		cache_drop(prog);
	/* Memory a program took and malloc kept would raise the next limit: past a bound, leave. */
	retire = born && vm_size() > born + JQ_RETIRE_GROWTH;
	reply(v, text, retire);
	if (retire)
		_exit(0);
}

/* The child: serve requests on FD until EOF or a malformed request, then leave. */
static __attribute__((noreturn)) void
serve(int fd, pid_t parent)
{
	rlim_t born;

	child_setup(fd, parent);
	born = vm_size();
	for (;;) {
		unsigned char h[12];
		uint32_t plen, ilen;
		char *prog, *in;
		jv input;

		if (move_all(child_fd, h, sizeof h, 0) < 0 || h[0] != 'W' || (h[1] != 'C' && h[1] != 'E'))
			_exit(0);
		memcpy(&plen, h + 4, 4);
		memcpy(&ilen, h + 8, 4);
		if (plen == 0 || plen > COND_MAX_LEN || ilen > JQ_INPUT_MAX)
			_exit(0);
		prog = malloc(plen + 1);
		in = malloc((size_t)ilen + 1);
		if (!prog || !in || move_all(child_fd, prog, plen, 0) < 0 ||
		    move_all(child_fd, in, ilen, 0) < 0)
			_exit(0);
		prog[plen] = in[ilen] = '\0';
		input = jv_parse_sized(in, (int)ilen);
		free(in);
		if (strlen(prog) != plen || !jv_is_valid(input))
			_exit(0);
		serve_one(prog, input, h[1] == 'C', born);
		free(prog);
	}
}

/* --------------------------------------------------------------- parent */

/* The one evaluator child of this process, if started. */
static struct {
	pid_t pid;		/* -1: none */
	int fd;
	pid_t owner;		/* the process that started it */
	int at_exit;
} ev = { -1, -1, 0, 0 };

/*
 * Forget the child: kill it, close its socket, reap it; its wait status.
 * It is idle, dying or dead by now (a child that already exited keeps
 * its own status), and one stopped by a signal must not hold the caller
 * up, so it is never left to exit by itself.
 */
static int
evaluator_stop(void)
{
	int status = 0;

	if (ev.pid < 0)
		return 0;
	kill(ev.pid, SIGKILL);
	close(ev.fd);
	while (waitpid(ev.pid, &status, 0) < 0 && errno == EINTR)
		;
	ev.pid = -1;
	ev.fd = -1;
	return status;
}

/* At exit: stop and reap the child, so it is gone when the process is. */
static void
evaluator_at_exit(void)
{
	if (ev.pid >= 0 && ev.owner == getpid())
		evaluator_stop();
}

/*
 * The child, ready for a request: the running one, or a new one when
 * there is none, it died while idle, or it belongs to the process this
 * one was forked from.  0, or WF_EXIT_SOFTWARE with ERR.
 */
static int
evaluator_ready(char *err, size_t errlen)
{
	int fds[2];
	pid_t parent = getpid();

	if (ev.pid >= 0 && ev.owner != parent) {
		close(ev.fd);
		ev.pid = -1;
	}
	if (ev.pid >= 0 && waitpid(ev.pid, NULL, WNOHANG) == ev.pid) {
		close(ev.fd);
		ev.pid = -1;
	}
	if (ev.pid >= 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
		snprintf(err, errlen, "cannot evaluate jq condition: socketpair: %s", strerror(errno));
		return WF_EXIT_SOFTWARE;
	}
	ev.pid = fork();
	if (ev.pid < 0) {
		snprintf(err, errlen, "cannot evaluate jq condition: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return WF_EXIT_SOFTWARE;
	}
	if (ev.pid == 0) {
		close(fds[0]);
		serve(fds[1], parent);
	}
	close(fds[1]);
	ev.fd = fds[0];
	ev.owner = parent;
	fcntl(ev.fd, F_SETFL, fcntl(ev.fd, F_GETFL) | O_NONBLOCK);
	if (!ev.at_exit)
		ev.at_exit = atexit(evaluator_at_exit) == 0;
	return 0;
}

/* Wait until the socket is ready for EVENTS or DEADLINE passes: 1 ready, 0 timed out, -1 error. */
static int
wait_fd(short events, double deadline)
{
	for (;;) {
		struct pollfd p = { ev.fd, events, 0 };
		double left = deadline - wf_now_ms();
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, (int)left + 1);
		if (r < 0 && errno != EINTR)
			return -1;
		if (r > 0)
			return 1;
	}
}

/* Send the N bytes of BUF by DEADLINE: 0, 1 timed out, -1 the child is gone. */
static int
send_all(const char *buf, size_t n, double deadline)
{
	while (n > 0) {
		ssize_t w = send(ev.fd, buf, n, MSG_NOSIGNAL);

		if (w > 0) {
			buf += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		w = wait_fd(POLLOUT, deadline);
		if (w <= 0)
			return w == 0 ? 1 : -1;
	}
	return 0;
}

/* Receive N bytes into BUF by DEADLINE: 0, 1 timed out, -1 EOF or an error. */
static int
recv_all(char *buf, size_t n, double deadline)
{
	while (n > 0) {
		ssize_t r = recv(ev.fd, buf, n, 0);

		if (r > 0) {
			buf += r;
			n -= (size_t)r;
			continue;
		}
		if (r == 0)
			return -1;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		r = wait_fd(POLLIN, deadline);
		if (r <= 0)
			return r == 0 ? 1 : -1;
	}
	return 0;
}

/*
 * The request for PROG over CTX (borrowed; null when only compiling):
 * malloc'd, its length in *N; NULL when CTX cannot be sent.
 */
static char *
request(const char *prog, jv ctx, int compile_only, size_t *n)
{
	jv input = JV_ARRAY(jv_copy(ctx), wf_ctx_lookup(ctx, "iteration"));
	jv text = jv_dump_string(input, 0);
	size_t plen = strlen(prog), ilen = (size_t)jv_string_length_bytes(jv_copy(text));
	uint32_t p32 = (uint32_t)plen, i32 = (uint32_t)ilen;
	char *buf = NULL;

	if (ilen <= JQ_INPUT_MAX && (buf = malloc(12 + plen + ilen))) {
		memcpy(buf, compile_only ? "WC\0\0" : "WE\0\0", 4);
		memcpy(buf + 4, &p32, 4);
		memcpy(buf + 8, &i32, 4);
		memcpy(buf + 12, prog, plen);
		memcpy(buf + 12 + plen, jv_string_value(text), ilen);
		*n = 12 + plen + ilen;
	}
	jv_free(text);
	return buf;
}

/* Why the child left without a verdict (STATUS its wait status, TIMED_OUT by the parent's clock): the result. */
static int
lost_child(int status, int timed_out, char *err, size_t errlen)
{
	if (timed_out || (WIFSIGNALED(status) &&
			  (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL ||
			   WTERMSIG(status) == SIGALRM || WTERMSIG(status) == SIGPROF))) {
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

/*
 * Run PROG over CTX (borrowed) in the evaluator child; the wf_cond_eval
 * results.  With COMPILE_ONLY, only compile it: even that happens in the
 * child, where libjq 1.6's own leaks (an unterminated string in a program
 * leaks in its parser) and any blow-up stay out of the caller.
 */
int
wf_cond_jq_eval(const char *prog, jv ctx, int compile_only, int *result, char *err, size_t errlen)
{
	unsigned char h[4];
	char text[REPLY_MAX + 1];
	size_t n = 0, len;
	char *req;
	double deadline;
	int rc;

	rc = evaluator_ready(err, errlen);
	if (rc)
		return rc;
	req = request(prog, ctx, compile_only, &n);
	if (!req) {
		snprintf(err, errlen, "cannot evaluate jq condition: its context is too large");
		return WF_EXIT_SOFTWARE;
	}
	/* The child's own clocks start once it has the request; a second per 16 MiB covers the transfer. */
	deadline = wf_now_ms() + (JQ_WALL_SECONDS + 1 + (double)(n >> 24)) * 1000.0;
	rc = send_all(req, n, deadline);
	free(req);
	if (rc == 0)
		rc = recv_all((char *)h, 4, deadline);
	len = rc == 0 ? (size_t)h[2] | (size_t)h[3] << 8 : 0;
	if (rc == 0 && (len > REPLY_MAX || !strchr("TFEM", h[0]) || h[0] == '\0' || h[1] > 1)) {
		evaluator_stop();
		snprintf(err, errlen, "jq condition evaluator failed (a malformed reply)");
		return WF_EXIT_SOFTWARE;
	}
	if (rc == 0)
		rc = recv_all(text, len, deadline);
	if (rc != 0)
		return lost_child(evaluator_stop(), rc > 0, err, errlen);
	text[len] = '\0';
	if (h[1] || h[0] == 'M')
		evaluator_stop();
	switch (h[0]) {
	case 'T':
	case 'F':
		*result = h[0] == 'T';
		return 0;
	case 'E':
		snprintf(err, errlen, "%s", text);
		return WF_EXIT_DATA;
	default:
		snprintf(err, errlen, "condition exceeded its limits (more than %d MiB of memory)",
			 (int)(JQ_MEMORY_HEADROOM >> 20));
		return WF_EXIT_LIMIT;
	}
}
