/*
 * wf-state: the plain-file state store, for people and scripts.  Lists
 * runs, shows one (the snapshot plus the journal after it), reads and
 * sets variables, prints the journal, asks a run to pause, removes a run,
 * and checks one from scratch.  See wf-state(1).
 *
 * One table of verbs, as git has its commands[]: each verb's name, the
 * operands it takes, its usage and help lines, and its function; main
 * reads the options and calls one.
 */
#include <errno.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"
#include "rewind.h"
#include "timeline.h"

#define MAX_ARGS 64
#define LOGS_USAGE "logs [NAME [STEP]] [-f] [--pass N] [--timeline] [--json]"
#define REWIND_USAGE "rewind RUN STEP-ID [--pass N] [--var NAME=VALUE]..."

/* The options, which may come anywhere on the command line. */
struct opts {
	int json, force, dry_run, all, timeline, follow;
	long pass;		/* logs and rewind --pass N; 0 when not given */
	jv vars;		/* rewind --var NAME=VALUE, an object */
	long keep;		/* gc --keep N; -1 when not given */
	long limit;		/* runs --limit N; 0: every run */
	double older_ms;	/* gc --older-than DURATION; 0 when not given */
};

/* A verb's function: ARGS are its operands (ARGS[0] the run or file, when it takes one). */
typedef int verb_fn(char **args, int nargs, const struct opts *o);

static verb_fn do_list, do_status, do_show, do_get, do_set, do_history, do_pause, do_rm, do_fsck, do_trust,
	do_runs, do_gc, do_path, do_logs, do_rewind;

/*
 * The verbs.  MIN and MAX count the operands after the verb; fewer or
 * more is a usage error (2) naming the verb's usage.
 */
static const struct verb {
	const char *name;
	verb_fn *fn;
	int min, max;
	const char *usage, *help;
} verbs[] = {
	{ "list", do_list, 0, 0, "list [--all] [--json]", "one tab-separated line per run, newest first, or a JSON array" },
	{ "status", do_status, 0, 1, "status [--all] [NAME] [--json]", "the runs as a table, newest first, or one run in detail" },
	{ "show", do_show, 1, 1, "show NAME", "the run's state as one JSON object" },
	{ "get", do_get, 2, 2, "get NAME PATH", "one value of that state, by a dotted path" },
	{ "set", do_set, 3, 3, "set NAME VAR VALUE", "set a variable of a run that is not running" },
	{ "history", do_history, 1, 1, "history NAME", "every event of the journal, in order" },
	{ "logs", do_logs, 0, 2, LOGS_USAGE, "the step outputs of a run, in order; -f follows it" },
	{ "pause", do_pause, 1, 1, "pause NAME", "ask a running run to stop after its current step" },
	{ "rewind", do_rewind, 2, 2, REWIND_USAGE, "move a stopped run back to a step it reached" },
	{ "rm", do_rm, 1, 1, "rm [--force] NAME", "remove a run" },
	{ "fsck", do_fsck, 1, 1, "fsck NAME [--json]", "check a run from scratch" },
	{ "trust", do_trust, 1, 1, "trust NAME|FILE", "let a workflow (or .wf/config.yaml) run without asking" },
	{ "runs", do_runs, 0, 1, "runs [WORKFLOW] [--limit N] [--json]", "this project's runs, current and past, newest first" },
	{ "gc", do_gc, 0, 0, "gc [--keep N] [--older-than DURATION] [--dry-run] [--json]",
	  "remove past runs (never one that may go on)" },
	{ "path", do_path, 0, 1, "path [RUN]", "the directory of a run, or of this project's state" },
};

#define NVERBS (sizeof verbs / sizeof *verbs)

/* The verb called NAME, or NULL. */
static const struct verb *
verb_named(const char *name)
{
	for (size_t i = 0; i < NVERBS; i++)
		if (!strcmp(verbs[i].name, name))
			return &verbs[i];
	return NULL;
}

#define GC_ONLY "--keep, --older-than and --dry-run belong to 'gc'"

static void
usage(FILE *fp)
{
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(fp, "%s wf-state %s\n", i ? "      " : "usage:", verbs[i].usage);
	if (fp == stdout) {
		fprintf(fp, "       wf-state --help | --version\n\nverbs:\n");
		for (size_t i = 0; i < NVERBS; i++)
			fprintf(fp, "  %-8s %s\n", verbs[i].name, verbs[i].help);
	}
}

/*
 * What each option means.  A verb takes those its usage line names; one
 * with WHERE given to any other verb is a usage error saying WHERE
 * (--json and --force are ignored by the verbs that do not use them).
 */
static const struct option_help {
	const char *name, *help, *where;
} options[] = {
	{ "--json", "print JSON (wf-json(7)) instead of text", NULL },
	{ "--force", "remove the run without reading or locking it", NULL },
	{ "--limit", "the N newest runs (20 when not given; 0: every run)", "--limit belongs to 'runs'" },
	{ "--all", "the runs of every project, each with its project",
	  "--all lists the runs of every project: 'wf status --all' or 'wf-state list --all'" },
	{ "--keep", "keep the N newest past runs (100 when neither rule is given)", GC_ONLY },
	{ "--older-than", "remove past runs started longer ago (90m, 12h, 7d, 2w)", GC_ONLY },
	{ "--dry-run", "say what would be removed; remove nothing", GC_ONLY },
	{ "--pass", "which run of the step (1 the first; default the last)", "--pass belongs to 'logs' and 'rewind'" },
	{ "--var", "set a variable of the run after the rewind (repeatable)", "--var belongs to 'rewind'" },
	{ "--timeline", "the path the run took: one line per step and event, with why it went on where it did",
	  "--timeline belongs to 'logs'" },
	{ "-f", "(--follow) go on showing a running run's output as it comes", "-f and --follow belong to 'logs'" },
};

#define NOPTIONS (sizeof options / sizeof *options)

/* 1 when USAGE (after the verb) names option NAME as a word of its own. */
static int
names_option(const char *usage, const char *name)
{
	size_t n = strlen(name);

	for (const char *at = strstr(usage, name); at; at = strstr(at + 1, name))
		if (!at[n] || at[n] == ' ' || at[n] == ']')
			return 1;
	return 0;
}

/* The index of option NAME in options[]: it is there. */
static size_t
option_index(const char *name)
{
	size_t i = 0;

	while (i < NOPTIONS - 1 && strcmp(options[i].name, name))
		i++;
	return i;
}

/*
 * The words that start verb V's usage: "wf-state VERB", or what wf ran
 * this program as ("wf status", see wf(1)), malloc'd.
 */
static char *
verb_words(const struct verb *v, const char *typed)
{
	return typed ? wf_xstrdup(typed) : wf_xasprintf("wf-state %s", v->name);
}

/* Verb V's usage, and the options it takes, on standard output. */
static void
verb_usage(const struct verb *v, const char *typed)
{
	char *words = verb_words(v, typed);
	const char *rest = v->usage + strlen(v->name);
	int heading = 0;

	printf("usage: %s%s\n", words, rest);
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (!names_option(rest, options[i].name))
			continue;
		if (!heading++)
			printf("options:\n");
		printf("  %-12s %s\n", options[i].name, options[i].help);
	}
	free(words);
}

static int
open_run(const char *name, int flags, struct wf_run **r)
{
	char err[1024];
	int rc = wf_run_open(name, flags, r, err, sizeof err);

	if (rc)
		wf_warn("%s", err);
	else if ((*r)->snapshot_problem && !(flags & WF_RUN_WRITE))
		wf_warn("run '%s': %s; showing the journal's view", name, (*r)->snapshot_problem);
	return rc;
}

/* Close R and check standard output; RC unless writing failed. */
static int
done(struct wf_run *r, int rc)
{
	if (r)
		wf_run_close(r);
	if (wf_fshut(stdout, "standard output") && !rc)
		rc = WF_EXIT_IO;
	return rc;
}

/*
 * The runs: JSON, a table for a person (with a header on a terminal), or
 * tab-separated raw values for a script (RAW, wf-state list).
 */
static int
list_runs(const struct opts *o, int raw)
{
	char err[1024];
	jv l;
	int rc = wf_run_list(o->all, &l, err, sizeof err);

	if (rc) {
		wf_warn("%s", err);
		jv_free(l);
		return rc;
	}
	if (o->json) {
		wf_json_print(stdout, l);
		return done(NULL, 0);
	}
	if (!raw && jv_array_length(jv_copy(l)) == 0)
		printf("no runs\n");
	else
		wf_run_print_list(stdout, l, (raw ? WF_LIST_RAW : isatty(STDOUT_FILENO) ? WF_LIST_HEADER : 0) |
				  (o->all ? WF_LIST_ALL : 0));
	jv_free(l);
	return done(NULL, 0);
}

static int
do_list(char **args, int nargs, const struct opts *o)
{
	return list_runs(o, 1);
}

static int
do_status(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	int rc;
	jv view;

	if (nargs == 0)
		return list_runs(o, 0);
	if (o->all) {
		/* One run in detail is this project's: --all only lists. */
		wf_warn("%s; usage: wf-state %s", options[option_index("--all")].where, verb_named("status")->usage);
		return WF_EXIT_USAGE;
	}
	if ((rc = open_run(args[0], 0, &r)))
		return rc;
	view = wf_run_view(r, wf_run_is_live(r));
	if (o->json) {
		wf_json_print(stdout, view);
	} else {
		wf_run_print_status(r, view);
		jv_free(view);
	}
	return done(r, 0);
}

static int
do_show(char **args, int nargs, const struct opts *o)
{
	struct opts json = *o;

	json.json = 1;

	return do_status(args, 1, &json);
}

static int
do_get(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	int rc;
	jv v;

	if ((rc = open_run(args[0], 0, &r)))
		return rc;
	v = wf_jv_path(wf_run_view(r, wf_run_is_live(r)), args[1]);
	if (!jv_is_valid(v)) {
		wf_warn("run '%s' has nothing at '%s'", args[0], args[1]);
		rc = WF_EXIT_NOINPUT;
	} else if (jv_get_kind(v) == JV_KIND_STRING) {
		printf("%s\n", jv_string_value(v));
	} else {
		wf_json_print(stdout, jv_copy(v));
	}
	jv_free(v);
	return done(r, rc);
}

static int
do_set(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	char err[1024];
	int rc;
	jv ev;

	if ((rc = open_run(args[0], WF_RUN_LOCK | WF_RUN_WRITE, &r)))
		return rc;
	ev = jv_object_set(jv_object(), jv_string("event"), jv_string("var-set"));
	ev = jv_object_set(ev, jv_string("vars"), jv_object_set(jv_object(), jv_string(args[1]), jv_string(args[2])));
	if ((rc = wf_run_append(r, ev, 1, err, sizeof err)) || (rc = wf_run_snapshot(r, err, sizeof err)))
		wf_warn("%s", err);
	return done(r, rc);
}

static int
do_history(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	char err[1024];
	int rc;
	jv evs;

	if ((rc = open_run(args[0], 0, &r)))
		return rc;
	evs = wf_run_read_journal(r, 0, err, sizeof err);
	if (!jv_is_valid(evs)) {
		wf_warn("%s", err);
		return done(r, WF_EXIT_IO);
	}
	jv_array_foreach(evs, i, e) {
		(void)i;
		wf_json_print(stdout, e);
	}
	jv_free(evs);
	return done(r, 0);
}

static int
do_pause(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	char err[1024];
	int rc;

	if ((rc = open_run(args[0], 0, &r)))
		return rc;
	if ((rc = wf_run_request_pause(r, err, sizeof err)))
		wf_warn("%s", err);
	else
		fprintf(stderr, "wf-state: run '%s' will pause after its current step\n", args[0]);
	return done(r, rc);
}

static int
do_rm(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	char err[1024];
	int rc;

	if (o->force) {
		if ((rc = wf_run_remove_forced(args[0], err, sizeof err)))
			wf_warn("%s", err);
		return rc;
	}
	if ((rc = open_run(args[0], WF_RUN_LOCK, &r))) {
		if (rc == WF_EXIT_IO)
			wf_warn("'wf-state rm --force %s' removes the run without reading it", args[0]);
		return rc;
	}
	if ((rc = wf_run_remove(r, err, sizeof err)))
		wf_warn("%s", err);
	return done(r, rc);
}

static int
do_fsck(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	int rc;
	jv report, probs;

	if ((rc = open_run(args[0], WF_RUN_LOCK_SHORT | WF_RUN_BARE, &r)))
		return rc;
	rc = wf_run_fsck(r, &report);
	if (o->json) {
		wf_json_print(stdout, report);
		return done(r, rc);
	}
	probs = wf_jv_get(report, "problems");
	jv_array_foreach(probs, i, p) {
		(void)i;
		printf("%s: %s\n", r->name, jv_string_value(p));
		jv_free(p);
	}
	jv_free(probs);
	if (!rc)
		printf("%s: ok (%g events)\n", r->name, wf_jv_num(report, "events", 0));
	jv_free(report);
	return done(r, rc);
}

static int
do_trust(char **args, int nargs, const struct opts *o)
{
	char err[1024], *key;
	jv wf;
	size_t n = strlen(args[0]), k = strlen(WF_PROJECT_CONFIG);
	int rc;

	/* A project's .wf/config.yaml: its content, as it is now. */
	if (n >= k && !strcmp(args[0] + n - k, WF_PROJECT_CONFIG) && (n == k || args[0][n - k - 1] == '/')) {
		if ((rc = wf_trust_config(args[0], err, sizeof err)))
			wf_warn("%s", err);
		else
			fprintf(stderr, "wf-state: trusted the auto-approve patterns of '%s' as they are now; "
				"any edit to the file asks again\n", args[0]);
		return done(NULL, rc);
	}
	rc = wf_workflow_open(args[0], &wf);
	key = rc ? NULL : wf_trust_key(wf);

	if (!rc && (rc = wf_trust_add(key, wf_jv_str(wf, "source"), err, sizeof err)))
		wf_warn("%s", err);
	else if (!rc)
		fprintf(stderr, "wf-state: trusted '%s' as it is now (%.19s...); any edit to the file%s asks again\n",
			wf_jv_str(wf, "source"), key, strcmp(key, wf_jv_str(wf, "hash")) ? " or to a program in actions/ it runs" : "");
	free(key);
	jv_free(wf);
	return done(NULL, rc);
}

/* The project's state directory into *PROJ: 0 (*PROJ NULL when there is none yet), or an exit code after a message. */
static int
project(char **proj)
{
	char err[1024];
	int rc = wf_state_open_project(0, proj, err, sizeof err);

	if (rc == WF_EXIT_NOINPUT)
		return 0;
	if (rc)
		wf_warn("%s", err);
	return rc;
}

static int
do_runs(char **args, int nargs, const struct opts *o)
{
	char *proj;
	int rc = project(&proj);
	jv l;

	if (rc)
		return rc;
	l = proj ? wf_runs_collect(proj, nargs ? args[0] : NULL, (int)o->limit) : jv_array();
	if (o->json)
		wf_json_print(stdout, jv_copy(l));
	else if (jv_array_length(jv_copy(l)) == 0)
		printf("no runs%s%s\n", nargs ? " of " : "", nargs ? args[0] : "");
	else
		wf_run_print_list(stdout, l, WF_LIST_HISTORY | (isatty(STDOUT_FILENO) ? WF_LIST_HEADER : 0));
	jv_free(l);
	free(proj);
	return done(NULL, 0);
}

static int
do_gc(char **args, int nargs, const struct opts *o)
{
	char *proj, err[1024];
	int rc = project(&proj);
	jv gone;

	if (rc)
		return rc;
	if (!proj) {
		if (o->json)
			printf("[]\n");
		return done(NULL, 0);
	}
	rc = wf_history_gc(proj, o->keep < 0 && o->older_ms <= 0 ? 100 : o->keep, o->older_ms, o->dry_run,
			   &gone, err, sizeof err);
	if (rc)
		wf_warn("%s", err);
	if (o->json)
		wf_json_print(stdout, gone);
	else
		wf_gc_print(stdout, gone, o->dry_run);
	free(proj);
	return done(NULL, rc);
}

static int
do_path(char **args, int nargs, const struct opts *o)
{
	char *proj = wf_state_project(NULL), err[1024];
	struct wf_run *r;
	int rc = 0;

	if (!proj) {
		wf_warn("cannot read the working directory");
		return WF_EXIT_IO;
	}
	if (nargs == 0) {
		printf("%s\n", proj);
	} else if (!wf_name_valid(args[0])) {
		wf_warn("invalid run name '%.80s'", args[0]);
		rc = WF_EXIT_DATA;
	} else if ((rc = wf_run_open(args[0], WF_RUN_BARE, &r, err, sizeof err)) == 0) {
		printf("%s\n", r->dir);
		wf_run_close(r);
	} else if (rc != WF_EXIT_NOINPUT) {
		wf_warn("%s", err);
	} else {
		/* Where the run would be: a script may create it, as tests do. */
		printf("%s/runs/%s\n", proj, args[0]);
		rc = 0;
	}
	free(proj);
	return done(NULL, rc);
}

static int
do_logs(char **args, int nargs, const struct opts *o)
{
	struct wf_logs_opts lo = { .json = o->json, .follow = o->follow, .pass = o->pass, .out = stdout };
	const char *ops[2] = { nargs > 0 ? args[0] : NULL, nargs > 1 ? args[1] : NULL };
	struct wf_run *r;
	char err[1024], *latest = NULL;
	int n = nargs, rc;

	if (o->timeline && (n > 1 || lo.pass)) {
		wf_warn("--timeline shows the whole run: it takes no STEP or --pass; usage: wf-state %s", LOGS_USAGE);
		return WF_EXIT_USAGE;
	}
	if (lo.pass && n < 2) {
		wf_warn("--pass needs a STEP; usage: wf-state %s", LOGS_USAGE);
		return WF_EXIT_USAGE;
	}
	if (!n && !(ops[0] = latest = wf_logs_latest_run())) {
		wf_warn("no runs yet (see 'wf status')");
		return WF_EXIT_NOINPUT;
	}
	lo.step = ops[1];
	rc = open_run(ops[0], 0, &r);
	free(latest);
	if (rc)
		return rc;
	if (o->timeline) {
		struct wf_timeline_opts to = { .json = o->json, .follow = lo.follow, .out = stdout,
					      .color = !o->json && isatty(STDOUT_FILENO) && !getenv("NO_COLOR") };

		rc = wf_timeline_print(r, &to, err, sizeof err);
	} else {
		rc = wf_logs_print(r, &lo, err, sizeof err);
	}
	if (rc)
		wf_warn("%s", err);
	return done(r, rc);
}

/*
 * rewind RUN STEP-ID: its options come among its operands, --pass N and
 * --var NAME=VALUE (as wf run reads them).  A past run is never changed:
 * the hint is to fork it.
 */
static int
do_rewind(char **args, int nargs, const struct opts *o)
{
	const char *ops[2] = { args[0], args[1] };
	struct wf_run *r;
	char err[1024];
	int rc = 0;

	(void)nargs;
	if (!rc && !(rc = open_run(ops[0], WF_RUN_BARE, &r))) {
		int past = r->past;

		wf_run_close(r);
		if (past) {
			wf_warn("run %s is in the history and cannot change; fork it instead: wf fork %s %s --name NEW",
				ops[0], ops[0], ops[1]);
			rc = WF_EXIT_NOINPUT;
		}
	}
	if (rc || (rc = open_run(ops[0], WF_RUN_LOCK | WF_RUN_WRITE, &r)))
		return rc;
	if ((rc = wf_run_rewind(r, ops[1], o->pass, o->vars, err, sizeof err))) {
		wf_warn("%s", err);
	} else {
		jv back = wf_jv_get(r->state, "rewound");

		fprintf(stderr, "wf-state: run '%s' is back at step '%s' (pass %g); continue it with 'wf resume %s'\n",
			r->name, ops[1], wf_jv_num(back, "pass", 0), r->name);
		jv_free(back);
	}
	return done(r, rc);
}

/*
 * The value of option NAME at ARGV[*I]: INL (what followed "NAME="),
 * else the next word (advancing *I); NULL with MSG filled.
 */
static const char *
take_value(int argc, char **argv, int *i, const char *name, const char *inl, char *msg, size_t n)
{
	if (inl)
		return inl;
	if (*i + 1 < argc)
		return argv[++*i];
	snprintf(msg, n, "%s needs a value", name);
	return NULL;
}

/*
 * Option ARGV[*I] (NAME, with INL what followed "NAME=" or NULL) into O,
 * advancing *I past its value: 0, -1 when it is no option of the table,
 * or an exit status with MSG filled (wf_var_arg prints its own).
 */
static int
take_option(int argc, char **argv, int *i, const char *name, const char *inl, struct opts *o, char *msg, size_t n)
{
	static const struct { const char *name; size_t flag; } flags[] = {
		{ "--json", offsetof(struct opts, json) }, { "--force", offsetof(struct opts, force) },
		{ "--all", offsetof(struct opts, all) }, { "--dry-run", offsetof(struct opts, dry_run) },
		{ "--timeline", offsetof(struct opts, timeline) }, { "--follow", offsetof(struct opts, follow) },
		{ "-f", offsetof(struct opts, follow) },
	};
	const char *v;
	long *num = !strcmp(name, "--limit") ? &o->limit : !strcmp(name, "--keep") ? &o->keep :
		    !strcmp(name, "--pass") ? &o->pass : NULL;

	for (size_t k = 0; k < sizeof flags / sizeof *flags; k++)
		if (!strcmp(name, flags[k].name)) {
			if (inl) {
				snprintf(msg, n, "%s takes no value, got '%.80s'", name, argv[*i]);
				return WF_EXIT_USAGE;
			}
			*(int *)((char *)o + flags[k].flag) = 1;
			return 0;
		}
	if (num) {
		long lo = num == &o->pass;

		if (!(v = take_value(argc, argv, i, name, inl, msg, n)))
			return WF_EXIT_USAGE;
		if (wf_parse_long(v, lo, 1L << 30, num) == 0)
			return 0;
		snprintf(msg, n, "%s takes %s, got '%.80s'", name,
			 lo ? "a pass number from 1 on" : num == &o->limit ? "a whole number of runs (0 for all)" :
			 "a whole number of runs", v);
		return WF_EXIT_USAGE;
	}
	if (!strcmp(name, "--older-than")) {
		if (!(v = take_value(argc, argv, i, name, inl, msg, n)))
			return WF_EXIT_USAGE;
		if (wf_parse_duration(v, &o->older_ms) == 0 && o->older_ms > 0)
			return 0;
		snprintf(msg, n, "--older-than takes a duration such as 90m, 12h, 7d or 2w, got '%.80s'", v);
		return WF_EXIT_USAGE;
	}
	if (!strcmp(name, "--var")) {
		if (!(v = take_value(argc, argv, i, name, inl, msg, n)))
			return WF_EXIT_USAGE;
		return wf_var_arg(&o->vars, v);
	}
	if (name[0] == '-' && name[1] == '-' && name[2] && strcmp(name, "--help") && strcmp(name, "--version")) {
		snprintf(msg, n, "unknown option '%.80s'", argv[*i]);
		return WF_EXIT_USAGE;
	}
	return -1;
}

/* Say MSG about the command line ARGV, with the usage of the verb it names (as TYPED, if given), if any. */
static void
usage_error(int argc, char **argv, const char *typed, const char *msg)
{
	const struct verb *v = NULL;

	for (int i = 1; i < argc && !v; i++)
		v = verb_named(argv[i]);
	if (v) {
		char *words = verb_words(v, typed);

		wf_warn("%s; usage: %s%s", msg, words, v->usage + strlen(v->name));
		free(words);
	} else
		wf_warn("%s; see 'wf-state --help'", msg);
}

int
main(int argc, char **argv)
{
	/* Run by wf as "wf status": usage speaks of that, messages still of wf-state. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;
	struct opts o = { .keep = -1, .limit = 20, .vars = jv_object() };
	unsigned given = 0;	/* options[] given, a bit each */
	const struct verb *v;
	char *args[MAX_ARGS];
	int k = 0, help = 0, rc;

	wf_set_progname(typed ? "wf-state" : argv[0]);
	for (int i = 1; i < argc; i++) {
		char name[32], msg[256];
		const char *eq = argv[i][0] == '-' && argv[i][1] == '-' ? strchr(argv[i], '=') : NULL, *canon;

		/* "--pass=2" is "--pass 2"; -f is --follow. */
		snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - argv[i]) : (int)strlen(argv[i]), argv[i]);
		canon = !strcmp(name, "--follow") ? "-f" : name;
		if (!strcmp(options[option_index(canon)].name, canon))
			given |= 1u << option_index(canon);
		*msg = 0;
		if ((rc = take_option(argc, argv, &i, name, eq ? eq + 1 : NULL, &o, msg, sizeof msg)) >= 0) {
			if (rc) {
				if (*msg)
					usage_error(argc, argv, typed, msg);
				jv_free(o.vars);
				return rc;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help = 1;
		} else if (!strcmp(argv[i], "--version")) {
			puts("wf-state " WF_VERSION);
			jv_free(o.vars);
			return 0;
		} else if (k < MAX_ARGS) {
			args[k++] = argv[i];
		} else {
			usage(stderr);
			jv_free(o.vars);
			return WF_EXIT_USAGE;
		}
	}
	if (k > 0 && (v = verb_named(args[0]))) {
		char *words;

		/* "wf-state VERB --help": that verb's usage alone. */
		if (help) {
			verb_usage(v, typed);
			rc = done(NULL, 0);
		} else if (k - 1 >= v->min && k - 1 <= v->max) {
			rc = 0;
			for (size_t j = 0; j < NOPTIONS && !rc; j++)
				if ((given >> j & 1) && options[j].where &&
				    !names_option(v->usage + strlen(v->name), options[j].name)) {
					wf_warn("%s; usage: wf-state %s", options[j].where, v->usage);
					rc = WF_EXIT_USAGE;
				}
			umask(077);
			if (!rc)
				rc = v->fn(args + 1, k - 1, &o);
		} else {
			words = verb_words(v, typed);
			wf_warn("%s operands for '%s'; usage: %s%s", k - 1 < v->min ? "too few" : "too many",
				v->name, words, v->usage + strlen(v->name));
			free(words);
			rc = WF_EXIT_USAGE;
		}
	} else {
		usage(help ? stdout : stderr);
		rc = help ? done(NULL, 0) : WF_EXIT_USAGE;
	}
	jv_free(o.vars);
	return rc;
}
