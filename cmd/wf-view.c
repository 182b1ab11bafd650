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
#include "graph.h"

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
	static const struct option longopts[] = {
		{ "format", required_argument, NULL, 'f' }, { "run", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	enum wf_graph_format fmt = WF_GRAPH_DOT;
	struct wf_graph_src src;
	struct wf_diag diag = {0};
	char err[2048], *text;
	int as_run = 0, c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'f' && (!strcmp(optarg, "dot") || !strcmp(optarg, "mermaid"))) {
			fmt = !strcmp(optarg, "dot") ? WF_GRAPH_DOT : WF_GRAPH_MERMAID;
		} else if (c == 'f') {
			wf_warn("--format takes dot or mermaid, not '%s'", optarg);
			verb_usage(stderr, &verbs[0], typed);
			return WF_EXIT_USAGE;
		} else if (c == 'r') {
			as_run = 1;
		} else if (c == 'h') {
			verb_usage(stdout, &verbs[0], typed);
			return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
		} else {
			verb_usage(stderr, &verbs[0], typed);
			return WF_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		wf_warn("%s", optind < argc ? "one workflow or run at a time" : "name a workflow, a file or a run");
		verb_usage(stderr, &verbs[0], typed);
		return WF_EXIT_USAGE;
	}
	rc = wf_graph_open(argv[optind], as_run, &src, &diag, err, sizeof err);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (rc) {
		if (*err)
			wf_warn("%s", err);
		return rc;
	}
	text = wf_graph_draw(fmt, src.wf, src.story, src.subs);
	wf_graph_src_free(&src);
	fputs(text, stdout);
	free(text);
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
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
