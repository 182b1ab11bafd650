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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf.h"
#include "graph.h"
#include "report.h"

/* TYPED is "wf VERB" when wf ran this program for a verb, else NULL. */
typedef int verb_fn(int argc, char **argv, const char *typed);

static verb_fn run_graph, run_report;

static const struct verb {
	const char *name, *operands, *help;
	verb_fn *run;
} verbs[] = {
	{ "graph", "[--run] NAME|FILE|RUN|- [--format dot|mermaid]", "a workflow as a graph; a run's path over it", run_graph },
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

/* Write the page PAGE of run R to OUT ("-": standard output; NULL: wf_report_file_name) and say where on stderr. */
static int
write_report(struct wf_run *r, struct wf_buf *page, const char *out, int force, int by_dot)
{
	char err[1024], *name = out ? NULL : wf_report_file_name(r);
	const char *path = out ? out : name;
	int rc = 0;

	if (out && !strcmp(out, "-")) {
		fwrite(page->s, 1, page->len, stdout);
		rc = wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	} else if ((rc = wf_report_write(path, page->s, page->len, force, err, sizeof err))) {
		wf_warn("%s", err);
	} else {
		fprintf(stderr, "wf-view: wrote %s (%zu bytes; graph drawn by %s)\n", path, page->len,
			by_dot ? "Graphviz dot" : "wf");
	}
	free(name);
	return rc;
}

static int
run_report(int argc, char **argv, const char *typed)
{
	static const struct option longs[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct wf_buf page = {0};
	struct wf_run *r;
	char err[1024];
	int c, force = 0, by_dot = 0, rc;

	while ((c = getopt_long(argc, argv, "+o:fh", longs, NULL)) != -1) {
		if (c == 'o') {
			out = optarg;
		} else if (c == 'f') {
			force = 1;
		} else if (c == 'h') {
			verb_usage(stdout, &verbs[1], typed);
			return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
		} else {
			verb_usage(stderr, &verbs[1], typed);
			return WF_EXIT_USAGE;
		}
	}
	/* Options may come after the run too, as the usage line shows them. */
	if (optind < argc && argv[optind][0] != '-') {
		const char *run = argv[optind];

		optind++;
		while ((c = getopt_long(argc, argv, "+o:fh", longs, NULL)) != -1 && c != '?' && c != 'h')
			c == 'o' ? (void)(out = optarg) : (void)(force = 1);
		if (c != -1 || optind != argc) {
			verb_usage(stderr, &verbs[1], typed);
			return WF_EXIT_USAGE;
		}
		argv[--optind] = (char *)run;
	}
	if (optind + 1 != argc) {
		verb_usage(stderr, &verbs[1], typed);
		return WF_EXIT_USAGE;
	}
	/* A dot that exits before reading its input is an error to report, not a reason to die. */
	signal(SIGPIPE, SIG_IGN);
	if ((rc = wf_run_open(argv[optind], 0, &r, err, sizeof err))) {
		wf_warn("%s", err);
		return rc;
	}
	if (r->snapshot_problem)
		wf_warn("run '%s': %s; showing the journal's view", r->name, r->snapshot_problem);
	if ((rc = wf_report_page(r, &page, &by_dot, err, sizeof err)))
		wf_warn("%s", err);
	else
		rc = write_report(r, &page, out, force, by_dot);
	wf_buf_free(&page);
	wf_run_close(r);
	return rc;
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
