/*
 * wf-view: see a workflow and a run.  Draws a workflow as a graph (DOT or
 * Mermaid), with the path a run took over it, and writes a run's report:
 * one self-contained HTML page.  See wf-view(1).
 *
 * Each verb is the first argument and has one function below that reads
 * its own options and calls the library.  wf's verbs graph and report are
 * these verbs (wf(1)).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf.h"

/* TYPED is "wf VERB" when wf ran this program for a verb, else NULL. */
typedef int verb_fn(int argc, char **argv, const char *typed);

static verb_fn run_graph, run_report;

static const struct verb {
	const char *name, *operands, *help;
	verb_fn *run;
} verbs[] = {
	{ "graph", "[--run] NAME|FILE|RUN [--format dot|mermaid]", "a workflow as a graph; a run's path over it", run_graph },
	{ "report", "RUN [-o FILE|-] [--force]", "one self-contained HTML page about a run", run_report },
};

#define NVERBS (sizeof verbs / sizeof *verbs)

static void
usage(FILE *fp)
{
	for (size_t i = 0; i < NVERBS; i++)
		fprintf(fp, "%s wf-view %s %s\n", i ? "      " : "usage:", verbs[i].name, verbs[i].operands);
	if (fp == stdout) {
		fprintf(fp, "       wf-view --help | --version\n\nverbs:\n");
		for (size_t i = 0; i < NVERBS; i++)
			fprintf(fp, "  %-8s %s\n", verbs[i].name, verbs[i].help);
	}
}

/* The usage of verb V alone, in the words wf ran this program as when TYPED is set. */
static void
verb_usage(FILE *fp, const struct verb *v, const char *typed)
{
	if (typed)
		fprintf(fp, "usage: %s %s\n", typed, v->operands);
	else
		fprintf(fp, "usage: wf-view %s %s\n", v->name, v->operands);
}

/* ---- graph ---- */

static int
run_graph(int argc, char **argv, const char *typed)
{
	(void)argc;
	(void)argv;
	verb_usage(stderr, &verbs[0], typed);
	return WF_EXIT_SOFTWARE;
}

/* ---- report ---- */

static int
run_report(int argc, char **argv, const char *typed)
{
	(void)argc;
	(void)argv;
	verb_usage(stderr, &verbs[1], typed);
	return WF_EXIT_SOFTWARE;
}

int
main(int argc, char **argv)
{
	/* Run by wf as "wf graph": usage speaks of that, messages still of wf-view. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;

	if (typed)
		argv[0] = (char *)"wf-view";	/* getopt's messages name argv[0] */
	wf_set_progname(argv[0]);
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		puts("wf-view " WF_VERSION);
		return 0;
	}
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	for (size_t i = 0; argc > 1 && i < NVERBS; i++)
		if (!strcmp(argv[1], verbs[i].name)) {
			argc--;
			argv++;
			argv[0] = (char *)"wf-view";
			return verbs[i].run(argc, argv, typed);
		}
	if (argc > 1)
		wf_warn("'%s' is not a verb of wf-view", argv[1]);
	usage(stderr);
	return WF_EXIT_USAGE;
}
