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
	{ "list", "wf-parse", "--list", "list the workflows along the search path" },
	{ "show", "wf-parse", "--outline", "show a workflow's steps, models and jumps" },
	{ "validate", "wf-parse", "--check", "check workflow files and report every problem" },
	{ "trust", "wf-state", "trust", "approve a workflow file's fixed commands once" },
	{ "create", "wf-create", NULL, "write a new workflow from a template or a description" },
	{ "migrate", "wf-create", "--migrate", "convert a Codi pipeline into a workflow" },
	{ "model", "wf-model", NULL, "list, resolve and test models" },
	{ "pr", "wf-pr", NULL, "pull-request client: create, view, diff, comment, review, merge" },
	{ NULL, NULL, NULL, NULL }
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: wf VERB [ARGS...]\n       wf help | --version\n\nverbs:\n");
	for (const struct verb *v = verbs; v->verb; v++)
		fprintf(fp, "  %-9s %s\n", v->verb, v->help);
	fprintf(fp, "\nAny other VERB runs wf-VERB from wf's directory or PATH.\n"
		    "Each verb takes --help; the manual is wf(1), the overview wf(7).\n");
}

/* Exec TOOL (from our directory first, then PATH) with ARGV; returns only on failure. */
static int
run_tool(const char *tool, char **argv)
{
	char exe[PATH_MAX], *slash, *path;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	struct stat st;

	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			path = wf_xasprintf("%s/%s", exe, tool);
			if (stat(path, &st) == 0) {
				execv(path, argv);
				wf_warn("cannot run '%s':", path);
				free(path);
				return 126;
			}
			free(path);
		}
	}
	execvp(tool, argv);
	if (errno == ENOENT) {
		wf_warn("'%s' is not a wf command (no %s beside wf or on PATH); see 'wf help'",
			tool + 3, tool);
		return 127;
	}
	wf_warn("cannot run '%s':", tool);
	return 126;
}

int
main(int argc, char **argv)
{
	const char *verb;
	char **args;
	int k = 0;

	wf_set_progname(argv[0]);
	if (argc < 2 || !strcmp(argv[1], "help") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "-h")) {
		if (argc >= 3 && !strcmp(argv[1], "help")) {
			char *helpargs[] = { NULL, (char *)"--help", NULL };
			char *tool = wf_xasprintf("wf-%s", argv[2]);

			for (const struct verb *v = verbs; v->verb; v++)
				if (!strcmp(v->verb, argv[2])) {
					free(tool);
					tool = wf_xstrdup(v->tool);
				}
			helpargs[0] = tool;
			return run_tool(tool, helpargs);
		}
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
	args = wf_xcalloc((size_t)argc + 2, sizeof *args);
	for (const struct verb *v = verbs; v->verb; v++) {
		if (strcmp(v->verb, verb))
			continue;
		args[k++] = (char *)v->tool;
		if (v->flag)
			args[k++] = (char *)v->flag;
		for (int i = 2; i < argc; i++)
			args[k++] = argv[i];
		return run_tool(v->tool, args);
	}
	char *tool = wf_xasprintf("wf-%s", verb);
	args[k++] = tool;
	for (int i = 2; i < argc; i++)
		args[k++] = argv[i];
	return run_tool(tool, args);
}
