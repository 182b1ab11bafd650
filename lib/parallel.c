/*
 * parallel.c: a step of action 'parallel' (wf-workflow(5), "Parallel
 * steps").  Each branch runs as a run nested in the run, as a workflow
 * step's does (subflow.c), with files under sub/STEP-ID/BRANCH/ and the
 * caller's name, but in a process of its own forked from this one, so
 * that branches run side by side, at most max-concurrency at once.
 *
 * Every branch has its own journal, so its own cursor: a resume of the
 * caller at this step leaves the branches that completed alone, goes on
 * with the ones that stopped where their journals say, and starts only
 * those that never started.  A branch that asks a person waits alone:
 * the others go on, and the step stops with every pending question, each
 * with its branch, answered one at a time with --answer BRANCH:VALUE.
 * At a terminal the questions are asked one at a time, in order, once
 * the other branches are done.
 *
 * The step's status follows on-failure: fail-fast stops the other
 * branches (SIGTERM: each pauses after its step's process group is
 * stopped) and starts no more; wait-all lets them finish; continue
 * lets them finish and the step succeeds whatever they did.
 *
 * A branch process dies with its caller (PR_SET_PDEATHSIG), and the
 * caller waits for each through a pidfd, never for a child not its own.
 *
 * Layer 4: driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "parallel.h"
#include "subflow.h"

enum bstate { B_QUEUED, B_RUNNING, B_DONE, B_HELD, B_CANCELLED };

struct branch {
	jv def;			/* {name, steps | workflow, with, item?} */
	const char *name;	/* borrowed from def */
	pid_t pid;
	int pidfd;
	enum bstate state;
	int fresh;		/* start its run afresh (else go on with it) */
	const char *answer;	/* the --answer for it, or NULL */
	int cancelled;		/* stopped by fail-fast */
	int rc;			/* its process's exit status */
};

/* ---- the branch's process ---- */

/* The log of a branch: each line its progress writes starts with "[STEP/BRANCH] ". */
struct prefixed {
	int fd;
	int bol;
	char pre[300];
};

/* Write all N bytes of BUF to FD. */
static void
write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

/* fopencookie's write: BUF's lines, each after the prefix, each line one write so that branches' lines never mix. */
static ssize_t
prefixed_write(void *cookie, const char *buf, size_t size)
{
	struct prefixed *p = cookie;
	size_t i = 0, pl = strlen(p->pre);

	while (i < size) {
		const char *nl = memchr(buf + i, '\n', size - i);
		size_t len = nl ? (size_t)(nl - (buf + i)) + 1 : size - i;
		char *line = wf_xmalloc(pl + len);

		memcpy(line, p->pre, p->bol ? pl : 0);
		memcpy(line + (p->bol ? pl : 0), buf + i, len);
		write_all(p->fd, line, (p->bol ? pl : 0) + len);
		free(line);
		p->bol = nl != NULL;
		i += len;
	}
	return (ssize_t)size;
}

/* The workflow a branch of steps runs: the caller's definition D->wf with B's steps and the run's variables, its item as STEP's (borrowed) as:.  The caller owns it. */
static jv
branch_workflow(struct driver *d, jv step, struct branch *b)
{
	jv wf = jv_copy(d->wf), vars = wf_jv_get(d->run->state, "vars");
	const char *as = wf_jv_str(step, "as");

	if (jv_get_kind(vars) != JV_KIND_OBJECT) {
		jv_free(vars);
		vars = jv_object();
	}
	if (as && jv_object_has(jv_copy(b->def), jv_string("item"))) {
		jv item = wf_jv_get(b->def, "item");

		/* The item is text for ${AS}: a JSON array's string as it is, anything else as JSON. */
		if (jv_get_kind(item) != JV_KIND_STRING)
			item = jv_dump_string(item, 0);
		vars = jv_object_set(vars, jv_string(as), item);
	}
	wf = jv_object_delete(wf, jv_string("inputs"));
	wf = jv_object_delete(wf, jv_string("outputs"));
	wf = jv_object_set(wf, jv_string("variables"), vars);
	/* Its source and hash are the caller's: never reconciled with that file on a resume (run.c). */
	wf = jv_object_set(wf, jv_string("parallel_branch"), jv_string(b->name));
	return jv_object_set(wf, jv_string("steps"), wf_jv_get(b->def, "steps"));
}

/* Start branch B's run of step ID (STEP borrowed) afresh in driver C: WF_GO_ON, or an exit status after a message. */
static int
branch_start(struct driver *c, struct driver *d, const char *id, jv step, struct branch *b)
{
	char who[300];
	int code = 0;
	jv wf;

	if (!wf_jv_str(b->def, "workflow"))
		return wf_subflow_begin(c, branch_workflow(d, step, b), d, id, b->name);
	snprintf(who, sizeof who, "step '%.120s', branch '%.120s'", id, b->name);
	wf = wf_subflow_load(d, wf_jv_str(b->def, "workflow"), who, &code);
	if (!jv_is_valid(wf)) {
		jv_free(wf);
		return code;
	}
	jv_free(c->o->vars);
	c->o->vars = wf_subflow_with(d, b->def);
	return wf_subflow_begin(c, wf, d, id, b->name);
}

/* Go on with branch B's run in driver C where it stopped: WF_GO_ON, 0 when it completed, or an exit status. */
static int
branch_again(struct driver *c, struct driver *d, const char *id, struct branch *b)
{
	int rc = wf_run_open_branch(d->run, id, b->name, WF_RUN_LOCK | WF_RUN_WRITE, &c->run, c->err, sizeof c->err);

	if (rc) {
		wf_warn("%s", c->err);
		return rc;
	}
	if (!strcmp(wf_jv_str(c->run->state, "status") ? wf_jv_str(c->run->state, "status") : "", "completed"))
		return 0;
	rc = wf_driver_resume_in(c);
	return rc;
}

/* The process of branch B of step ID (STEP borrowed) of D: runs it and exits with its run's exit status. */
static void __attribute__((noreturn))
branch_main(struct driver *d, const char *id, jv step, struct branch *b, int tty_in, pid_t parent)
{
	struct wf_run_opts o = *d->o;
	struct prefixed pre = { .fd = fileno(d->o->log), .bol = 1 };
	cookie_io_functions_t io = { .write = prefixed_write };
	struct driver c;
	FILE *log;
	int rc;

	/* It dies with its caller, as every process a step starts does. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(WF_EXIT_SOFTWARE);
	wf_stop = 0;
	/* The caller's wf-step child is the caller's: this process starts its own. */
	if (d->server.in >= 0)
		close(d->server.in);
	if (d->server.out >= 0)
		close(d->server.out);
	snprintf(pre.pre, sizeof pre.pre, "[%s/%s] ", id, b->name);
	log = tty_in ? NULL : fopencookie(&pre, "w", io);
	if (log) {
		setvbuf(log, NULL, _IOLBF, 0);
		/* Its messages on stderr name the branch too, as its progress lines do. */
		wf_progname = wf_xasprintf("%s%s", pre.pre, wf_progname);
	}
	o.log = log ? log : d->o->log;
	o.target = d->run->name;
	o.run_name = o.start_step = NULL;
	o.max_steps = 0;
	o.json = o.estimate = o.dry_run = o.restart = 0;
	o.answer = b->answer;
	o.rerun = o.skip = 0;
	if (b->fresh)
		o.accept_changes = 0;
	o.vars = jv_object();
	rc = wf_driver_open(&c, &o);
	c.parent = d;
	c.sub_step = id;
	c.branch = b->name;
	c.tty_in = tty_in;
	if (rc == WF_GO_ON)
		rc = b->fresh ? branch_start(&c, d, id, step, b) : branch_again(&c, d, id, b);
	if (rc == WF_GO_ON)
		rc = wf_driver_drive(&c);
	wf_driver_close(&c);
	if (log)
		fclose(log);
	fflush(NULL);
	/*
	 * _exit: what this process holds of its caller's (forked with it) is
	 * the caller's to free, and the atexit handlers are the caller's too
	 * (its own jq child dies with it, as every child of wf does).
	 */
	_exit(rc & 0xff);
}

/* ---- the caller's side ---- */

/* Journal for step ID the event EVENT of branch B with EXTRA (consumed): 0 or 74. */
static int
journal_branch(struct driver *d, const char *id, const char *event, struct branch *b, jv extra)
{
	jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string(event));

	ev = jv_object_set(ev, jv_string("step"), jv_string(id));
	ev = jv_object_set(ev, jv_string("branch"), jv_string(b->name));
	if (jv_get_kind(extra) == JV_KIND_OBJECT)
		jv_object_foreach(extra, k, v)
			ev = jv_object_set(ev, k, v);
	jv_free(extra);
	return wf_driver_journal(d, ev, 0);
}

/* Fork the process of branch B of step ID (STEP borrowed): 0, or -1 after a message. */
static int
branch_fork(struct driver *d, const char *id, jv step, struct branch *b, int tty_in)
{
	pid_t parent = getpid();

	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0) {
		wf_warn("step '%s': cannot start branch '%s': %s", id, b->name, strerror(errno));
		return -1;
	}
	if (b->pid == 0)
		branch_main(d, id, step, b, tty_in, parent);
	b->pidfd = pidfd_open(b->pid, 0);
	b->state = B_RUNNING;
	return 0;
}

/* Send SIG to every running branch of BS[N]. */
static void
signal_all(struct branch *bs, int n, int sig)
{
	for (int i = 0; i < n; i++)
		if (bs[i].state == B_RUNNING)
			kill(bs[i].pid, sig);
}

/* The state of branch B's run (the caller owns it), or null when it has none. */
static jv
branch_state(struct driver *d, const char *id, struct branch *b)
{
	struct wf_run *r = NULL;
	char err[512];
	jv st;

	if (wf_run_open_branch(d->run, id, b->name, 0, &r, err, sizeof err))
		return jv_null();
	st = jv_copy(r->state);
	wf_run_close(r);
	if (wf_jv_num(st, "id", -1) != wf_jv_num(d->run->state, "id", -2)) {
		jv_free(st);
		return jv_null();
	}
	return st;
}

/* Does branch state ST (borrowed) wait for a person's answer: a question, consent, or rerun|skip for a step in doubt? */
static int
asks(jv st)
{
	jv p = wf_jv_get(st, "pending");
	const char *kind = wf_jv_str(p, "kind");
	int q = wf_jv_str(st, "status") && !strcmp(wf_jv_str(st, "status"), "waiting") && kind;

	jv_free(p);
	return q;
}

/* Does branch state ST (borrowed) wait for consent (which --yes gives)? */
static int
consent_pending(jv st)
{
	jv p = wf_jv_get(st, "pending");
	int c = wf_jv_str(p, "kind") && !strcmp(wf_jv_str(p, "kind"), "consent");

	jv_free(p);
	return c;
}

/* Has branch state ST (borrowed) completed? */
static int
completed(jv st)
{
	return wf_jv_str(st, "status") && !strcmp(wf_jv_str(st, "status"), "completed");
}

/*
 * The branch ANSWER is for among the NAMES of branches that ask (a JSON
 * array, borrowed): "BRANCH:VALUE" or "STEP/BRANCH:VALUE" (STEP being
 * ID), or VALUE alone when one branch asks.  Its index, with *VALUE
 * pointing into ANSWER; -1 when it names none.
 */
static int
answer_target(const char *id, jv names, const char *answer, const char **value)
{
	int n = jv_array_length(jv_copy(names));
	size_t il = strlen(id);
	const char *a = answer;

	if (!strncmp(a, id, il) && a[il] == '/')
		a += il + 1;
	for (int i = 0; i < n; i++) {
		jv nm = jv_array_get(jv_copy(names), i);
		size_t ln = (size_t)jv_string_length_bytes(jv_copy(nm));
		int hit = !strncmp(a, jv_string_value(nm), ln) && a[ln] == ':';

		jv_free(nm);
		if (hit) {
			*value = a + ln + 1;
			return i;
		}
	}
	if (n == 1) {
		*value = answer;
		return 0;
	}
	return -1;
}

int
wf_parallel_answer_check(jv pending, const char *answer, char *err, size_t n)
{
	jv qs = wf_jv_get(pending, "questions"), names = jv_array(), q;
	const char *id = wf_jv_str(pending, "step") ? wf_jv_str(pending, "step") : "", *value = NULL;
	int nq = jv_get_kind(qs) == JV_KIND_ARRAY ? jv_array_length(jv_copy(qs)) : 0, i, rc = 0;

	for (i = 0; i < nq; i++) {
		q = jv_array_get(jv_copy(qs), i);
		names = jv_array_append(names, wf_jv_get(q, "branch"));
		jv_free(q);
	}
	i = answer_target(id, names, answer, &value);
	if (i < 0) {
		char *list = wf_json_dump(names);

		snprintf(err, n, "several branches wait for an answer (%s): answer one as BRANCH:VALUE", list);
		free(list);
		rc = -1;
	} else {
		jv v = jv_invalid();

		q = jv_array_get(jv_copy(qs), i);
		/* A branch's step in doubt takes rerun or skip, as --rerun and --skip say for a run's. */
		if (wf_jv_str(q, "kind") && !strcmp(wf_jv_str(q, "kind"), "in-doubt")) {
			if (strcmp(value, "rerun") && strcmp(value, "skip")) {
				snprintf(err, n, "branch '%s' has a step in doubt: answer %s:rerun or %s:skip",
					 wf_jv_str(q, "branch"), wf_jv_str(q, "branch"), wf_jv_str(q, "branch"));
				rc = -1;
			}
		} else if (wf_answer_check(q, value, &v, err, n) < 0) {
			rc = -1;
		}
		jv_free(v);
		jv_free(q);
	}
	jv_free(names);
	jv_free(qs);
	return rc;
}

/*
 * The branches of step ID of D as they stand on a resume at this step
 * (AGAIN) or not: a fresh step clears what an earlier pass left; a
 * resume leaves the completed alone, holds those waiting for an answer
 * that is not for them, and goes on with the rest.  ANSWER: for one of
 * the branches that ask (answer_target).
 */
static void
settle(struct driver *d, const char *id, struct branch *bs, int n, int again, const char *answer)
{
	jv names = jv_array(), idx = jv_array();
	const char *value = NULL;
	int t;

	if (!again)
		wf_run_clear_sub(d->run, id);
	for (int i = 0; i < n; i++) {
		jv st = again ? branch_state(d, id, &bs[i]) : jv_null();

		bs[i].fresh = jv_get_kind(st) != JV_KIND_OBJECT;
		if (!bs[i].fresh && completed(st)) {
			bs[i].state = B_DONE;
		} else if (!bs[i].fresh && asks(st) && !(d->o->yes && consent_pending(st))) {
			bs[i].state = B_HELD;
			names = jv_array_append(names, jv_string(bs[i].name));
			idx = jv_array_append(idx, jv_number(i));
		}
		jv_free(st);
	}
	t = answer ? answer_target(id, names, answer, &value) : -1;
	if (t >= 0) {
		struct branch *b = &bs[(int)jv_number_value(jv_array_get(jv_copy(idx), t))];

		b->state = B_QUEUED;
		b->answer = value;
	}
	jv_free(names);
	jv_free(idx);
}

/*
 * Branch B of step ID has ended: journal it; with FAILFAST, a failure
 * marks the others cancelled and stops them after their step.  0, or -1
 * when the journal could not be written.
 */
static int
branch_ended(struct driver *d, const char *id, struct branch *b, struct branch *bs, int n, int failfast, int *stop_new)
{
	jv st = branch_state(d, id, b), extra;
	const char *status = wf_jv_str(st, "status");
	int rc = 0;

	extra = jv_object_set(jv_object(), jv_string("status"), jv_string(status ? status : "failed"));
	extra = jv_object_set(extra, jv_string("exit_code"), jv_number(b->rc));
	if (wf_jv_str(st, "reason"))
		extra = jv_object_set(extra, jv_string("reason"), wf_jv_get(st, "reason"));
	if (journal_branch(d, id, "branch-end", b, extra))
		rc = -1;
	if (failfast && !*stop_new &&
	    (!status || (!strcmp(status, "failed") && wf_subflow_is_failure(wf_jv_str(st, "reason"))))) {
		*stop_new = 1;
		for (int i = 0; i < n; i++)
			if (bs[i].state == B_RUNNING || bs[i].state == B_QUEUED)
				bs[i].cancelled = 1;
		signal_all(bs, n, SIGTERM);
	}
	jv_free(st);
	return rc;
}

/*
 * Wait until a running branch of BS[N] ends, or a signal asks the run to
 * stop (wf_stop).  The stop signals are blocked but while waiting, so
 * that one arriving just before the wait is never missed.  A branch
 * without a pidfd is looked at every 50 ms.
 */
static void
wait_some(struct branch *bs, int n)
{
	struct pollfd pf[WF_PARALLEL_MAX_CONCURRENCY];
	sigset_t block, old;
	int np = 0, blind = 0;
	struct timespec tick = { 0, 50 * 1000 * 1000 };

	for (int i = 0; i < n && np < WF_PARALLEL_MAX_CONCURRENCY; i++)
		if (bs[i].state == B_RUNNING) {
			pf[np].fd = bs[i].pidfd;
			pf[np++].events = POLLIN;
			blind |= bs[i].pidfd < 0;
		}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (!wf_stop)
		(void)ppoll(pf, (nfds_t)np, blind ? &tick : NULL, &old);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* Has the process of running branch B ended (reaped, then)? */
static int
branch_gone(struct branch *b)
{
	int status = 0;
	pid_t w = waitpid(b->pid, &status, WNOHANG);

	if (w != b->pid)
		return 0;
	b->rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	if (b->pidfd >= 0)
		close(b->pidfd);
	b->pidfd = -1;
	b->pid = -1;
	b->state = B_DONE;
	return 1;
}

/* Run the queued branches BS[N] of step ID (STEP borrowed), at most MAXC at once; FAILFAST stops the rest at a failure.  0, or -1 (could not start one). */
static int
schedule(struct driver *d, const char *id, jv step, struct branch *bs, int n, int maxc, int failfast)
{
	int running = 0, stop_new = 0, bad = 0, told = 0;

	for (;;) {
		for (int i = 0; i < n && running < maxc && !stop_new && !wf_stop; i++)
			if (bs[i].state == B_QUEUED) {
				if (branch_fork(d, id, step, &bs[i], 0) < 0) {
					stop_new = bad = 1;
					break;
				}
				running++;
				if (journal_branch(d, id, "branch-start", &bs[i],
						   jv_object_set(jv_object(), jv_string("pid"), jv_number(bs[i].pid))))
					stop_new = bad = 1;
			}
		if (!running)
			break;
		wait_some(bs, n);
		if (wf_stop && !told) {
			/* Stop asked of the run: each branch pauses after its step, and no more start. */
			signal_all(bs, n, wf_stop);
			stop_new = told = 1;
		}
		for (int i = 0; i < n; i++)
			if (bs[i].state == B_RUNNING && branch_gone(&bs[i])) {
				running--;
				if (branch_ended(d, id, &bs[i], bs, n, failfast, &stop_new))
					stop_new = bad = 1;
			}
	}
	/* Branches fail-fast kept from starting are cancelled; those a stop of the run kept back start on resume. */
	for (int i = 0; i < n; i++)
		if (bs[i].state == B_QUEUED && stop_new && !told)
			bs[i].state = B_CANCELLED;
	return bad ? -1 : 0;
}

/*
 * At a terminal: ask each branch of BS[N] (of step ID, STEP borrowed)
 * that waits for an answer, one at a time, in order, running it in the
 * foreground until it completes or stops for something other than a
 * question.
 */
static void
ask_in_turn(struct driver *d, const char *id, jv step, struct branch *bs, int n)
{
	for (int i = 0; i < n && !wf_stop; i++) {
		jv st = branch_state(d, id, &bs[i]);

		while (bs[i].state == B_DONE && !bs[i].cancelled && asks(st) && !wf_stop) {
			bs[i].fresh = 0;
			bs[i].answer = NULL;
			if (branch_fork(d, id, step, &bs[i], 1) < 0)
				break;
			while (!branch_gone(&bs[i])) {
				wait_some(&bs[i], 1);
				if (wf_stop)
					kill(bs[i].pid, wf_stop);
			}
			jv_free(st);
			st = branch_state(d, id, &bs[i]);
		}
		jv_free(st);
	}
}

/* The variables of branch state ST (borrowed) that differ from what the branch began with, BEGAN (borrowed); the caller owns them. */
static jv
changed_vars(jv st, jv began)
{
	jv vars = wf_jv_get(st, "vars"), out = jv_object();

	if (jv_get_kind(vars) == JV_KIND_OBJECT)
		jv_object_foreach(vars, k, v) {
			jv was = jv_get_kind(began) == JV_KIND_OBJECT ? jv_object_get(jv_copy(began), jv_copy(k)) : jv_invalid();

			if (!jv_is_valid(was) || !jv_equal(jv_copy(was), jv_copy(v)))
				out = jv_object_set(out, jv_copy(k), jv_copy(v));
			jv_free(was);
			jv_free(k);
			jv_free(v);
		}
	jv_free(vars);
	return out;
}

/* The caller owns the result: RES (consumed, returned) with a usage_models that adds USAGE (borrowed) to it. */
static jv
add_usage(jv res, jv usage)
{
	jv all = wf_jv_get(res, "usage_models");

	if (jv_get_kind(usage) != JV_KIND_OBJECT) {
		jv_free(all);
		return res;
	}
	if (jv_get_kind(all) != JV_KIND_OBJECT) {
		jv_free(all);
		all = jv_object();
	}
	jv_object_foreach(usage, model, u) {
		jv had = jv_object_get(jv_copy(all), jv_copy(model));

		if (jv_get_kind(had) == JV_KIND_OBJECT && jv_get_kind(u) == JV_KIND_OBJECT) {
			jv_object_foreach(u, k, v) {
				jv h = jv_object_get(jv_copy(had), jv_copy(k));

				if (jv_get_kind(h) == JV_KIND_NUMBER && jv_get_kind(v) == JV_KIND_NUMBER)
					had = jv_object_set(had, jv_copy(k), jv_number(jv_number_value(h) + jv_number_value(v)));
				else
					had = jv_object_set(had, jv_copy(k), jv_copy(v));
				jv_free(h);
				jv_free(k);
				jv_free(v);
			}
			all = jv_object_set(all, model, had);
		} else {
			jv_free(had);
			all = jv_object_set(all, model, jv_copy(u));
		}
		jv_free(u);
	}
	return jv_object_set(res, jv_string("usage_models"), all);
}

/* A stop of the caller, RES (consumed, returned) made one: with STATUS, REASON, PENDING (consumed) and exit status CODE. */
static jv
as_stop(jv res, const char *status, const char *reason, jv pending, int code)
{
	jv stop = jv_object_set(jv_object(), jv_string("status"), jv_string(status));

	stop = jv_object_set(stop, jv_string("reason"), jv_string(reason));
	stop = jv_object_set(stop, jv_string("pending"), pending);
	res = jv_object_set(res, jv_string("status"), jv_string("waiting"));
	res = jv_object_set(res, jv_string("sub_stop"), jv_number(code));
	return jv_object_set(res, jv_string("stop"), stop);
}

/* The step result of step ID (STEP borrowed) from its branches BS[N]; the caller owns it. */
static jv
outcome(struct driver *d, const char *id, jv step, struct branch *bs, int n)
{
	const char *policy = wf_jv_str(step, "on-failure") ? wf_jv_str(step, "on-failure") : "fail-fast";
	jv res = jv_object_set(jv_object(), jv_string("id"), jv_string(id)), list = jv_array(), merged = jv_object();
	jv questions = jv_array(), began = wf_jv_get(d->run->state, "vars"), stop = jv_null();
	int failed = 0, code = 0;
	char *first_fail = NULL;

	for (int i = 0; i < n; i++) {
		jv st = branch_state(d, id, &bs[i]), e = jv_object_set(jv_object(), jv_string("name"), jv_string(bs[i].name));
		const char *status = wf_jv_str(st, "status"), *why = wf_jv_str(st, "reason");
		const char *word;
		jv vars = changed_vars(st, began), usage = wf_jv_get(st, "usage");

		if (jv_object_has(jv_copy(bs[i].def), jv_string("item")))
			e = jv_object_set(e, jv_string("item"), wf_jv_get(bs[i].def, "item"));
		if (bs[i].state == B_QUEUED)
			word = "queued";
		else if (bs[i].state == B_CANCELLED || (bs[i].cancelled && !completed(st) &&
		    !(status && !strcmp(status, "failed") && wf_subflow_is_failure(why))))
			word = "cancelled";
		else if (!status)
			word = "failed";
		else if (!strcmp(status, "completed"))
			word = "ok";
		else if (!strcmp(status, "failed") && wf_subflow_is_failure(why))
			word = "failed";
		else if (asks(st))
			word = "waiting";
		else
			word = "stopped";
		e = jv_object_set(e, jv_string("status"), jv_string(word));
		e = jv_object_set(e, jv_string("exit_code"), jv_number(!strcmp(word, "ok") ? 0 : bs[i].rc ? bs[i].rc :
				  !strcmp(word, "waiting") ? WF_EXIT_WAIT : WF_EXIT_FAIL));
		if (why && strcmp(word, "ok"))
			e = jv_object_set(e, jv_string("reason"), jv_string(why));
		e = jv_object_set(e, jv_string("vars"), jv_copy(vars));
		{
			jv outs = wf_jv_get(st, "outputs");

			if (jv_get_kind(outs) == JV_KIND_OBJECT)
				e = jv_object_set(e, jv_string("outputs"), outs);
			else
				jv_free(outs);
		}
		jv_object_foreach(vars, k, v)
			merged = jv_object_set(merged, k, v);
		jv_free(vars);
		res = add_usage(res, usage);
		jv_free(usage);
		if (!strcmp(word, "failed")) {
			failed++;
			if (!first_fail)
				first_fail = wf_xasprintf("branch '%s' failed at step '%s' (%s)", bs[i].name,
							  wf_jv_str(st, "cursor") ? wf_jv_str(st, "cursor") : "?",
							  why ? why : "did not start");
		} else if (!strcmp(word, "waiting")) {
			jv p = wf_jv_get(st, "pending");

			questions = jv_array_append(questions, jv_object_set(p, jv_string("branch"), jv_string(bs[i].name)));
		} else if (!strcmp(word, "stopped") && jv_get_kind(stop) == JV_KIND_NULL) {
			/* A branch stopped by a signal, a "no" or a step in doubt stops the run the same way. */
			jv p = wf_jv_get(st, "pending");

			/* One whose process died mid-run (kill -9) left its run "running": the caller pauses, and a resume settles it. */
			int died = !strcmp(status, "running");

			jv_free(stop);
			stop = jv_object_set(jv_object(), jv_string("status"), jv_string(died ? "paused" : status));
			stop = jv_object_set(stop, jv_string("reason"), died ?
					     jv_string_fmt("branch '%s' died (exit status %d)", bs[i].name, bs[i].rc) :
					     jv_string(why ? why : status));
			stop = jv_object_set(stop, jv_string("pending"), jv_get_kind(p) == JV_KIND_OBJECT ?
					     jv_object_set(p, jv_string("branch"), jv_string(bs[i].name)) : p);
			code = bs[i].rc ? bs[i].rc : WF_EXIT_WAIT;
		}
		list = jv_array_append(list, e);
		jv_free(st);
	}
	jv_free(began);
	res = jv_object_set(res, jv_string("branches"), list);
	res = jv_object_set(res, jv_string("vars"), merged);
	if (jv_get_kind(stop) == JV_KIND_OBJECT && !(failed && strcmp(policy, "continue"))) {
		res = as_stop(res, wf_jv_str(stop, "status"), wf_jv_str(stop, "reason"), wf_jv_get(stop, "pending"), code);
	} else if (jv_array_length(jv_copy(questions)) > 0 && !(failed && !strcmp(policy, "fail-fast"))) {
		jv p = jv_object_set(jv_object(), jv_string("kind"), jv_string("branches"));

		p = jv_object_set(p, jv_string("step"), jv_string(id));
		p = jv_object_set(p, jv_string("questions"), jv_copy(questions));
		res = as_stop(res, "waiting", "waiting for answers", p, WF_EXIT_WAIT);
	} else if (failed && strcmp(policy, "continue")) {
		res = jv_object_set(res, jv_string("status"), jv_string("failed"));
		res = jv_object_set(res, jv_string("exit_code"), jv_number(WF_EXIT_FAIL));
		res = jv_object_set(res, jv_string("error"), jv_string_fmt("%s%s", first_fail,
				    failed > 1 ? " and more" : ""));
	} else {
		res = jv_object_set(res, jv_string("status"), jv_string("ok"));
		res = jv_object_set(res, jv_string("exit_code"), jv_number(0));
	}
	if (!jv_object_has(jv_copy(res), jv_string("sub_stop"))) {
		jv bl = wf_jv_get(res, "branches");
		char *txt = wf_json_dump(bl);

		jv_free(bl);
		res = jv_object_set(res, jv_string("output"), jv_string(txt));
		free(txt);
	}
	free(first_fail);
	jv_free(stop);
	jv_free(questions);
	return res;
}

int
wf_parallel_concurrency(jv step)
{
	int maxc = (int)wf_jv_num(step, "max-concurrency", 0);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (maxc < 1)
		maxc = cores < 1 ? 1 : cores > 8 ? 8 : (int)cores;
	return maxc > WF_PARALLEL_MAX_CONCURRENCY ? WF_PARALLEL_MAX_CONCURRENCY : maxc;
}

jv
wf_parallel_run(struct driver *d, const char *id, jv step)
{
	jv view = wf_run_view(d->run, 1), defs;
	char err[512];
	int n, maxc, again;
	const char *policy = wf_jv_str(step, "on-failure");
	struct branch *bs;
	jv res;

	defs = wf_parallel_branches(step, view, err, sizeof err);
	jv_free(view);
	if (!jv_is_valid(defs)) {
		res = jv_object_set(jv_object(), jv_string("id"), jv_string(id));
		res = jv_object_set(res, jv_string("status"), jv_string("failed"));
		res = jv_object_set(res, jv_string("exit_code"), jv_number(WF_EXIT_DATA));
		return jv_object_set(res, jv_string("error"), jv_string(err));
	}
	maxc = wf_parallel_concurrency(step);
	n = jv_array_length(jv_copy(defs));
	bs = wf_xcalloc((size_t)(n ? n : 1), sizeof *bs);
	for (int i = 0; i < n; i++) {
		bs[i].def = jv_array_get(jv_copy(defs), i);
		bs[i].name = wf_jv_str(bs[i].def, "name");
		bs[i].pid = bs[i].pidfd = -1;
	}
	/* A resume at this step goes on with the branches' runs, with what it was given once. */
	again = d->resume_at && !strcmp(d->resume_at, id) && d->ran == 1;
	settle(d, id, bs, n, again, again ? d->o->answer : NULL);
	if (again) {
		d->o->answer = NULL;
		d->o->rerun = d->o->skip = 0;
	}
	if (schedule(d, id, step, bs, n, maxc, !policy || !strcmp(policy, "fail-fast")) == 0 && d->tty_in && !wf_stop)
		ask_in_turn(d, id, step, bs, n);
	res = outcome(d, id, step, bs, n);
	/* A wf pause the branches stopped for is this run's: taken, so that a resume does not pause again at once. */
	if (jv_object_has(jv_copy(res), jv_string("sub_stop"))) {
		struct driver *top = d;

		while (top->parent)
			top = top->parent;
		wf_run_clear_pause(top->run);
	}
	if (wf_stop && !jv_object_has(jv_copy(res), jv_string("sub_stop")) && strcmp(wf_jv_str(res, "status"), "ok"))
		res = jv_object_set(res, jv_string("interrupted"), jv_true());
	for (int i = 0; i < n; i++)
		jv_free(bs[i].def);
	free(bs);
	jv_free(defs);
	return res;
}
