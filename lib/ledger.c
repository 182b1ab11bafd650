/*
 * ledger.c: the budget ledger that the branches of a parallel step share
 * (wf-workflow(5), "budget:"), so that their calls together never cross
 * the run's budget: branches run in processes of their own, and each
 * sees only what its caller had spent when it was forked.
 *
 * The ledger is one file, budget-ledger, in the top run's directory,
 * locked with flock(2) while a branch checks its next call and reserves
 * the call's estimate: one line per branch process, keyed by its pid and
 * its start time (/proc/PID/stat), so that a reused pid is not taken for
 * it.  A line holds what the process had spent when it last reserved,
 * and that reservation, which stands until it reserves again or dies.
 * What a branch spent is in its own journal and state too: a dead
 * branch's reservation is dropped and its state's usage counted, so
 * nothing settled is lost on a crash, and nothing blocks forever.
 *
 * A plain run (no parallel step) never opens, nor makes, the file.
 *
 * Layer 4: driver.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "driver.h"
#include "ledger.h"
#include "parallel.h"
#include "subflow.h"

#define LEDGER_MAX (4 << 20)

struct wf_ledger {
	int fd;
	char *path;
	jv lines;		/* the entries read, each an object */
	jv keep;		/* those that still count (wf_ledger_others) */
	char *scope;		/* RUNDIR/sub/STEP of the outermost branch: the parallel step under way */
	char *root;		/* this process's branch run's directory */
	char *started;		/* its state's "started" */
	jv hops;		/* its path from the top run (state_at) */
	struct wf_run *top;	/* the top run (borrowed) */
	long long start;	/* this process's start time */
};

struct driver *
wf_ledger_process_root(struct driver *d)
{
	for (struct driver *a = d; a; a = a->parent)
		if (a->branch || !a->parent)
			return a;
	return d;
}

/* The start time of process PID (field 22 of /proc/PID/stat), or -1 when it is gone or a zombie. */
static long long
start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	long long t = -1;
	ssize_t k;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	k = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (k <= 0)
		return -1;
	buf[k] = 0;
	/* The name in parentheses may hold anything: the fields start after its last ')'. */
	if (!(p = strrchr(buf, ')')) || p[1] != ' ' || p[2] == 'Z' || p[2] == 'X')
		return -1;
	p += 2;
	for (int field = 3; field < 22 && p; field++)
		if ((p = strchr(p, ' ')))
			p++;
	if (p)
		t = strtoll(p, NULL, 10);
	return t;
}

/*
 * The state of the run at PATH (borrowed) from the top run TOP, as its
 * journal has it (a dead branch's too, whose snapshot may be behind):
 * PATH lists [STEP, BRANCH] for a branch, [STEP] for a workflow step's
 * sub-run, outermost first.  Null when there is none; the caller owns it.
 */
static jv
state_at(struct wf_run *top, jv path)
{
	struct wf_run *r = top, *next;
	char err[256];
	jv st = jv_null();
	int ok = jv_get_kind(path) == JV_KIND_ARRAY;

	if (ok)
		jv_array_foreach(path, i, hop) {
			jv step = jv_array_get(jv_copy(hop), 0), branch = jv_array_get(jv_copy(hop), 1);

			(void)i;
			if (ok && jv_get_kind(step) == JV_KIND_STRING)
				ok = !(jv_get_kind(branch) == JV_KIND_STRING ?
				       wf_run_open_branch(r, jv_string_value(step), jv_string_value(branch), 0, &next, err, sizeof err) :
				       wf_run_open_sub(r, jv_string_value(step), 0, &next, err, sizeof err));
			else
				ok = 0;
			if (r != top)
				wf_run_close(r);
			r = ok ? next : top;
			jv_free(step);
			jv_free(branch);
			jv_free(hop);
		}
	if (ok && r != top)
		st = jv_copy(r->state);
	if (r != top)
		wf_run_close(r);
	return st;
}

/* The path from the top run to D's run (state_at's); the caller owns it. */
static jv
path_of(struct driver *d)
{
	jv path = jv_array();

	for (struct driver *a = d; a && a->parent; a = a->parent) {
		jv hop = jv_array_append(jv_array(), jv_string(a->sub_step));

		if (a->branch)
			hop = jv_array_append(hop, jv_string(a->branch));
		path = jv_array_concat(jv_array_append(jv_array(), hop), path);
	}
	return path;
}

/* The entries of the ledger's text BUF[LEN], one JSON object a line; a torn or foreign line is skipped.  The caller owns them. */
static jv
parse_lines(const char *buf, size_t len)
{
	jv out = jv_array();
	size_t i = 0;
	char err[64];

	while (i < len) {
		const char *nl = memchr(buf + i, '\n', len - i);
		size_t l = nl ? (size_t)(nl - (buf + i)) : len - i;
		jv e = nl ? wf_json_parse(buf + i, l, err, sizeof err) : jv_invalid();

		if (jv_get_kind(e) == JV_KIND_OBJECT && wf_jv_num(e, "pid", 0) > 0 && wf_jv_str(e, "dir"))
			out = jv_array_append(out, e);
		else
			jv_free(e);
		i += l + 1;
	}
	return out;
}

int
wf_ledger_open(struct driver *d, struct wf_ledger **out, char *err, size_t n)
{
	struct driver *top = d, *outer = NULL, *root = wf_ledger_process_root(d);
	struct wf_ledger *l;
	struct wf_buf b = {0};
	const char *slash;

	*out = NULL;
	for (struct driver *a = d; a; a = a->parent) {
		if (a->branch)
			outer = a;
		top = a;
	}
	if (!outer)
		return 0;
	l = wf_xcalloc(1, sizeof *l);
	l->path = wf_xasprintf("%s/budget-ledger", top->run->dir);
	slash = strrchr(outer->run->dir, '/');
	l->scope = wf_xstrndup(outer->run->dir, slash ? (size_t)(slash - outer->run->dir) : strlen(outer->run->dir));
	l->root = wf_xstrdup(root->run->dir);
	l->started = wf_xstrdup(wf_jv_str(root->run->state, "started") ? wf_jv_str(root->run->state, "started") : "");
	l->start = start_time(getpid());
	l->lines = jv_array();
	l->keep = jv_array();
	l->hops = path_of(root);
	l->top = top->run;
	l->fd = open(l->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->fd < 0 || flock(l->fd, LOCK_EX) < 0 || wf_read_fd(l->fd, LEDGER_MAX, &b) < 0) {
		snprintf(err, n, "cannot use the budget ledger '%s': %s", l->path, strerror(errno));
		wf_buf_free(&b);
		wf_ledger_close(l);
		return -1;
	}
	jv_free(l->lines);
	l->lines = parse_lines(b.s ? b.s : "", b.len);
	wf_buf_free(&b);
	*out = l;
	return 0;
}

/* Is entry E (borrowed) this process's own? */
static int
mine(struct wf_ledger *l, jv e)
{
	return wf_jv_num(e, "pid", 0) == (double)getpid() && wf_jv_num(e, "start", -2) == (double)l->start;
}

/*
 * Is entry E (borrowed) of the parallel step under way, and another
 * branch's?  Not when it is of another step, nor this branch's own run
 * (from a process before this one: this process's usage has it) or a
 * branch nested in it (whose usage this process's state holds).
 */
static int
relevant(struct wf_ledger *l, jv e)
{
	const char *dir = wf_jv_str(e, "dir"), *scope = wf_jv_str(e, "scope");
	size_t rl = strlen(l->root);

	return !mine(l, e) && scope && !strcmp(scope, l->scope) &&
	       !(!strncmp(dir, l->root, rl) && (dir[rl] == '/' || !dir[rl]));
}

/* Is the process of entry E (borrowed) alive, the same process (its start time), not a zombie? */
static int
alive(jv e)
{
	return start_time((pid_t)wf_jv_num(e, "pid", 0)) == (long long)wf_jv_num(e, "start", -2);
}

/*
 * Does the dead branch of relevant entry E (borrowed) count, its run
 * being of this pass of the step (not started afresh since)?  *ST gets
 * its run's state, from its journal (the caller owns it).
 */
static int
stands(struct wf_ledger *l, jv e, jv *st)
{
	const char *started;
	jv path = wf_jv_get(e, "path");

	*st = state_at(l->top, path);
	jv_free(path);
	started = wf_jv_str(*st, "started");
	return started && wf_jv_str(e, "started") && !strcmp(started, wf_jv_str(e, "started"));
}

/* The larger of A and B. */
static double
larger(double a, double b)
{
	return a > b ? a : b;
}

void
wf_ledger_others(struct wf_ledger *l, struct wf_spend *out)
{
	memset(out, 0, sizeof *out);
	jv_array_foreach(l->lines, i, e) {
		struct wf_spend used;
		jv st = jv_null();

		(void)i;
		/* A live branch: what it had used when it reserved, and its reservation (a live process is of this pass). */
		if (relevant(l, e) && alive(e)) {
			l->keep = jv_array_append(l->keep, jv_copy(e));
			out->tokens += wf_jv_num(e, "tokens", 0) + wf_jv_num(e, "res_tokens", 0);
			out->usd += wf_jv_num(e, "usd", 0) + wf_jv_num(e, "res_usd", 0);
			out->unknown += (int)wf_jv_num(e, "unknown", 0);
		} else if (relevant(l, e) && stands(l, e, &st)) {
			/* A dead one: its reservation dropped, what it used from its journal (or when it last reserved). */
			l->keep = jv_array_append(l->keep, jv_copy(e));
			wf_gate_usage_totals(st, &used.tokens, &used.usd, &used.unknown);
			out->tokens += larger(wf_jv_num(e, "tokens", 0), used.tokens);
			out->usd += larger(wf_jv_num(e, "usd", 0), used.usd);
			out->unknown += (int)larger(wf_jv_num(e, "unknown", 0), used.unknown);
		}
		jv_free(st);
		jv_free(e);
	}
}

/* Entry E (borrowed) as a line of text (malloc'd). */
static char *
line_of(jv e)
{
	char *t = wf_json_dump(e), *line = wf_xasprintf("%s\n", t);

	free(t);
	return line;
}

int
wf_ledger_reserve(struct wf_ledger *l, const struct wf_spend *own, const struct wf_spend *est, char *err, size_t n)
{
	struct wf_buf b = {0};
	jv e = jv_object();
	char *line;
	int rc = 0;

	e = jv_object_set(e, jv_string("pid"), jv_number(getpid()));
	e = jv_object_set(e, jv_string("start"), jv_number((double)l->start));
	e = jv_object_set(e, jv_string("scope"), jv_string(l->scope));
	e = jv_object_set(e, jv_string("dir"), jv_string(l->root));
	e = jv_object_set(e, jv_string("path"), jv_copy(l->hops));
	e = jv_object_set(e, jv_string("started"), jv_string(l->started));
	e = jv_object_set(e, jv_string("tokens"), jv_number(own->tokens));
	e = jv_object_set(e, jv_string("usd"), jv_number(own->usd));
	e = jv_object_set(e, jv_string("unknown"), jv_number(own->unknown));
	e = jv_object_set(e, jv_string("res_tokens"), jv_number(est->tokens));
	e = jv_object_set(e, jv_string("res_usd"), jv_number(est->usd));
	line = line_of(e);
	wf_buf_addstr(&b, line);
	free(line);
	jv_free(e);
	/* The lines that still count are kept (wf_ledger_others, called first); this branch's old ones and what no longer counts go. */
	jv_array_foreach(l->keep, i, o) {
		(void)i;
		line = line_of(o);
		wf_buf_addstr(&b, line);
		free(line);
		jv_free(o);
	}
	/* Written whole, then cut to length: a torn end is a line that does not parse, skipped. */
	if (pwrite(l->fd, b.s, b.len, 0) != (ssize_t)b.len || ftruncate(l->fd, (off_t)b.len) < 0) {
		snprintf(err, n, "cannot write the budget ledger '%s': %s", l->path, strerror(errno ? errno : EIO));
		rc = -1;
	}
	wf_buf_free(&b);
	return rc;
}

void
wf_ledger_close(struct wf_ledger *l)
{
	if (!l)
		return;
	if (l->fd >= 0)
		close(l->fd);
	jv_free(l->lines);
	jv_free(l->keep);
	jv_free(l->hops);
	free(l->path);
	free(l->scope);
	free(l->root);
	free(l->started);
	free(l);
}
