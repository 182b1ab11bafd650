/*
 * wf: the dispatcher.  "wf VERB ARGS..." runs the tool behind VERB (the
 * seed's verbs map onto wf-parse, wf-run and wf-state), and any other
 * VERB runs wf-VERB from this program's directory or PATH, as git does.
 * See wf(1).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf.h"

static const struct verb {
	const char *verb, *tool, *flag, *help;
} verbs[] = {
	{ "run", "wf-run", NULL, "run a workflow: wf run NAME|FILE [STEP-ID] [--var K=V]..." },
	{ "resume", "wf-run", "--resume", "continue a paused, failed or interrupted run" },
	{ "status", "wf-state", "status", "show every run, or one run in detail" },
	{ "pause", "wf-state", "pause", "ask a running workflow to stop after its current step" },
	{ "runs", "wf-state", "runs", "this project's runs, current and past, newest first" },
	{ "gc", "wf-state", "gc", "remove past runs: wf gc [--keep N] [--older-than DURATION]" },
	{ "logs", "wf-state", "logs", "the step outputs of a run, in order; -f follows a running one" },
	{ "graph", "wf-view", "graph", "a workflow as a graph (DOT or Mermaid), with a run's path over it" },
	{ "report", "wf-view", "report", "one self-contained HTML page about a run" },
	{ "rewind", "wf-state", "rewind", "move a run back to a step it reached; wf resume goes on from there" },
	{ "fork", "wf-run", "--fork", "a new run from a step an earlier run reached; the earlier run is untouched" },
	{ "rerun", "wf-model", "rerun", "re-ask one AI step of a past run with another model and compare" },
	{ "list", "wf-parse", "--list", "list the workflows along the search path" },
	{ "show", "wf-parse", "--outline", "show a workflow's steps, models and jumps" },
	{ "validate", "wf-parse", "--check", "check workflow files and report every problem" },
	{ "lint", "wf-parse", "--suggest", "check workflow files and suggest what a reviewer would" },
	{ "trust", "wf-state", "trust", "approve a workflow file's fixed commands once" },
	{ "create", "wf-create", NULL, "write a new workflow from a template or a description" },
	{ "templates", "wf-create", "--list", "list the templates wf create starts from" },
	{ "migrate", "wf-create", "--migrate", "convert a Codi pipeline into a workflow" },
	{ "export", "wf-create", "--export", "write a workflow and what it calls as one bundle" },
	{ "import", "wf-create", "--import", "unpack a bundle or a git repository of workflows" },
	{ "model", "wf-model", NULL, "list, resolve and test models" },
	{ "pr", "wf-pr", NULL, "pull-request client: create, view, diff, comment, review, merge" },
	{ NULL, NULL, NULL, NULL }
};

/*
 * The tools that know wf's verbs: run as "wf VERB" (argv[0]), each prints
 * that verb's usage in those words for --help, so a verb's usage lives
 * once, beside the options it describes.  The others get their own name.
 */
static const char *const speaks_wf[] = { "wf-run", "wf-state", "wf-parse", "wf-create", "wf-view", NULL };

/* The argv[0] to run V's tool with: "wf VERB" (malloc'd) for a tool of speaks_wf[], else NULL. */
static char *
typed_name(const struct verb *v)
{
	for (int i = 0; speaks_wf[i]; i++)
		if (!strcmp(v->tool, speaks_wf[i]))
			return wf_xasprintf("wf %s", v->verb);
	return NULL;
}

/* The mapped verb called NAME, or NULL. */
static const struct verb *
find_verb(const char *name)
{
	for (const struct verb *v = verbs; v->verb; v++)
		if (!strcmp(v->verb, name))
			return v;
	return NULL;
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: wf VERB [ARGS...]\n       wf help | --version\n\nverbs:\n");
	for (const struct verb *v = verbs; v->verb; v++)
		fprintf(fp, "  %-9s %s\n", v->verb, v->help);
	fprintf(fp, "\nAny other VERB runs wf-VERB from wf's directory or PATH.\n"
		    "Each verb takes --help; the manual is wf(1), the overview wf(7).\n");
}

/* Exec PATH (malloc'd, freed on failure) with ARGV; returns 126 after a message if that fails. */
static int
exec_path(char *path, char **argv)
{
	execv(path, argv);
	wf_warn("cannot run '%s':", path);
	free(path);
	return 126;
}

/*
 * Exec TOOL with ARGV: from wf's own directory first, then along PATH, as
 * git runs its dashed commands.  Returns only on failure: 126 when a TOOL
 * was found but could not be run, 127 when there is none.  VERB is what
 * the user typed; MAPPED says it is one of ours whose tool is missing.
 */
static int
run_tool(const char *verb, const char *tool, char **argv, int mapped)
{
	char *p = wf_own_file(tool);
	const char *path = getenv("PATH"), *s;
	char *denied = NULL;
	struct stat st;

	if (p && stat(p, &st) == 0)
		return exec_path(p, argv);
	free(p);
	/* PATH by hand, so that "found but not runnable" (126) is told apart from "none" (127). */
	for (s = path && *path ? path : "/usr/local/bin:/usr/bin:/bin"; ; ) {
		const char *c = strchr(s, ':');
		size_t len = c ? (size_t)(c - s) : strlen(s);

		p = wf_xasprintf("%.*s/%s", (int)(len ? len : 1), len ? s : ".", tool);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(p, X_OK) == 0) {
				free(denied);
				return exec_path(p, argv);
			}
			if (!denied)
				denied = p, p = NULL;
		}
		free(p);
		if (!c)
			break;
		s = c + 1;
	}
	if (denied) {
		errno = EACCES;
		wf_warn("cannot run '%s':", denied);
		free(denied);
		return 126;
	}
	if (mapped) {
		wf_warn("'%s' needs %s, which is not installed beside wf or on PATH", verb, tool);
		return 127;
	}
	const char *best = NULL;
	int bestd = 3;

	for (const struct verb *v = verbs; v->verb; v++) {
		int d = wf_edit_distance(verb, v->verb);

		if (d < bestd && (size_t)d * 2 <= strlen(verb)) {
			bestd = d;
			best = v->verb;
		}
	}
	if (best)
		wf_warn("'%s' is not a wf command (did you mean '%s'?); see 'wf help'", verb, best);
	else
		wf_warn("'%s' is not a wf command (no %s beside wf or on PATH); see 'wf help'",
			verb, tool);
	return 127;
}

/*
 * Run mapped verb V with the LAST - FIRST arguments from ARGV[FIRST], after
 * its flag, as "wf VERB" when its tool speaks wf's words.  Returns only on
 * failure, as run_tool.
 */
static int
run_verb(const struct verb *v, char **argv, int first, int last)
{
	char **args = wf_xcalloc((size_t)(last - first) + 3, sizeof *args);
	char *typed = typed_name(v);
	int k = 0, rc;

	args[k++] = typed ? typed : (char *)v->tool;
	if (v->flag)
		args[k++] = (char *)v->flag;
	for (int i = first; i < last; i++)
		args[k++] = argv[i];
	rc = run_tool(v->verb, v->tool, args, 1);
	free(typed);
	free(args);
	return rc;
}

int
main(int argc, char **argv)
{
	const struct verb *v;
	const char *verb;
	char **args;
	char *tool;
	int k = 0, rc;

	wf_set_progname(argv[0]);
	if (argc >= 3 && !strcmp(argv[1], "help")) {
		char *helpargs[] = { NULL, (char *)"--help", NULL };

		if (argv[2][0] == '-' || !wf_name_valid(argv[2])) {
			wf_warn("unknown verb '%s'; see 'wf help'", argv[2]);
			return WF_EXIT_USAGE;
		}
		/* "wf help VERB" is "wf VERB --help". */
		if ((v = find_verb(argv[2])))
			return run_verb(v, helpargs, 1, 2);
		tool = wf_xasprintf("wf-%s", argv[2]);
		helpargs[0] = tool;
		rc = run_tool(argv[2], tool, helpargs, 0);
		free(tool);
		return rc;
	}
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? WF_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		puts("wf " WF_VERSION);
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	verb = argv[1];
	if (verb[0] == '-' || !wf_name_valid(verb)) {
		wf_warn("unknown option or verb '%s'; see 'wf help'", verb);
		return WF_EXIT_USAGE;
	}
	if ((v = find_verb(verb)))
		return run_verb(v, argv, 2, argc);
	args = wf_xcalloc((size_t)argc + 1, sizeof *args);
	tool = wf_xasprintf("wf-%s", verb);
	args[k++] = tool;
	for (int i = 2; i < argc; i++)
		args[k++] = argv[i];
	rc = run_tool(verb, tool, args, 0);
	free(tool);
	free(args);
	return rc;
}
