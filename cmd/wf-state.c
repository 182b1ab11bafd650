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
#include <stdlib.h>
#include <string.h>

#include "wf.h"

#define MAX_ARGS 8

/* The options, which may come anywhere on the command line. */
struct opts {
	int json, force;
};

/* A verb's function: ARGS are its operands (ARGS[0] the run or file, when it takes one). */
typedef int verb_fn(char **args, int nargs, const struct opts *o);

static verb_fn do_list, do_status, do_show, do_get, do_set, do_history, do_pause, do_rm, do_fsck, do_trust;

/*
 * The verbs.  MIN and MAX count the operands after the verb; a verb with
 * MAX -1 ignores any beyond MIN.
 */
static const struct verb {
	const char *name;
	verb_fn *fn;
	int min, max;
	const char *usage, *help;
} verbs[] = {
	{ "list", do_list, 0, 0, "list [--json]", "one line per run, or a JSON array" },
	{ "status", do_status, 0, 1, "status [NAME] [--json]", "the runs, or one run in detail" },
	{ "show", do_show, 1, 1, "show NAME", "the run's state as one JSON object" },
	{ "get", do_get, 2, 2, "get NAME PATH", "one value of that state, by a dotted path" },
	{ "set", do_set, 3, 3, "set NAME VAR VALUE", "set a variable of a run that is not running" },
	{ "history", do_history, 1, 1, "history NAME", "every event of the journal, in order" },
	{ "pause", do_pause, 1, 1, "pause NAME", "ask a running run to stop after its current step" },
	{ "rm", do_rm, 1, 1, "rm [--force] NAME", "remove a run" },
	{ "fsck", do_fsck, 1, 1, "fsck NAME [--json]", "check a run from scratch" },
	{ "trust", do_trust, 1, 1, "trust NAME|FILE", "let a workflow (or .wf/config.yaml) run without asking" },
};

#define NVERBS (sizeof verbs / sizeof *verbs)

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

/* What each option means; a verb takes those its usage line names. */
static const struct option_help {
	const char *name, *help;
} options[] = {
	{ "--json", "print JSON (wf-json(7)) instead of text" },
	{ "--force", "remove the run without reading or locking it" },
};

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
	for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
		const char *at = strstr(rest, options[i].name);
		size_t n = strlen(options[i].name);

		if (!at || (at[n] && at[n] != ' ' && at[n] != ']'))
			continue;
		if (!heading++)
			printf("options:\n");
		printf("  %-9s %s\n", options[i].name, options[i].help);
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

/* Follow a dotted PATH (vars.i, steps.s1.output, loops.s10) into V (consumed); the caller owns the result. */
static jv
get_path(jv v, const char *path)
{
	char *p = wf_xstrdup(path), *save = NULL;

	for (char *tok = strtok_r(p, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (jv_get_kind(v) == JV_KIND_OBJECT) {
			jv next = jv_object_get(v, jv_string(tok));

			v = jv_is_valid(next) ? next : (jv_free(next), jv_invalid());
		} else if (jv_get_kind(v) == JV_KIND_ARRAY) {
			long idx;

			if (wf_parse_long(tok, 0, 1 << 30, &idx) < 0) {
				jv_free(v);
				v = jv_invalid();
			} else {
				v = jv_array_get(v, (int)idx);
			}
		} else {
			jv_free(v);
			v = jv_invalid();
		}
		if (!jv_is_valid(v))
			break;
	}
	free(p);
	return v;
}

static int
do_list(char **args, int nargs, const struct opts *o)
{
	char *root = wf_state_root(), err[1024];
	int rc = wf_state_prepare(root, 0, err, sizeof err);
	jv l;

	free(root);
	/* No state directory yet is no runs. */
	if (rc && !(rc == WF_EXIT_IO && errno == ENOENT)) {
		wf_warn("%s", err);
		return rc;
	}
	l = wf_run_list();
	if (o->json) {
		wf_json_print(stdout, l);
		return done(NULL, 0);
	}
	if (jv_array_length(jv_copy(l)) == 0)
		printf("no runs\n");
	jv_array_foreach(l, i, e) {
		(void)i;
		printf("%-24s %-11s %-10s %s\n", wf_jv_str(e, "name"), wf_jv_str(e, "status"),
		       wf_jv_str(e, "step") ? wf_jv_str(e, "step") : "-",
		       wf_jv_str(e, "updated") ? wf_jv_str(e, "updated") : "");
		jv_free(e);
	}
	jv_free(l);
	return done(NULL, 0);
}

static int
do_status(char **args, int nargs, const struct opts *o)
{
	struct wf_run *r;
	int rc;
	jv view;

	if (nargs == 0)
		return do_list(args, nargs, o);
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
	const struct opts json = { 1, o->force };

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
	v = get_path(wf_run_view(r, wf_run_is_live(r)), args[1]);
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
	char err[1024];
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

	if (!rc && (rc = wf_trust_add(wf_jv_str(wf, "hash"), wf_jv_str(wf, "source"), err, sizeof err)))
		wf_warn("%s", err);
	else if (!rc)
		fprintf(stderr, "wf-state: trusted '%s' as it is now (%.19s...); any edit to the file asks again\n",
			wf_jv_str(wf, "source"), wf_jv_str(wf, "hash"));
	jv_free(wf);
	return done(NULL, rc);
}

int
main(int argc, char **argv)
{
	/* Run by wf as "wf status": usage speaks of that, messages still of wf-state. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;
	struct opts o = {0};
	char *args[MAX_ARGS];
	int k = 0, help = 0;

	wf_set_progname(typed ? "wf-state" : argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			o.json = 1;
		} else if (!strcmp(argv[i], "--force")) {
			o.force = 1;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			help = 1;
		} else if (!strcmp(argv[i], "--version")) {
			puts("wf-state " WF_VERSION);
			return 0;
		} else if (k < MAX_ARGS) {
			args[k++] = argv[i];
		} else {
			usage(stderr);
			return WF_EXIT_USAGE;
		}
	}
	for (size_t i = 0; k > 0 && i < NVERBS; i++) {
		const struct verb *v = &verbs[i];
		char *words;

		if (strcmp(args[0], v->name))
			continue;
		/* "wf-state VERB --help": that verb's usage alone. */
		if (help) {
			verb_usage(v, typed);
			return done(NULL, 0);
		}
		if (k - 1 >= v->min && k - 1 <= v->max) {
			umask(077);
			return v->fn(args + 1, k - 1, &o);
		}
		words = verb_words(v, typed);
		wf_warn("%s operands for '%s'; usage: %s%s", k - 1 < v->min ? "too few" : "too many",
			v->name, words, v->usage + strlen(v->name));
		free(words);
		return WF_EXIT_USAGE;
	}
	usage(help ? stdout : stderr);
	return help ? done(NULL, 0) : WF_EXIT_USAGE;
}
