/*
 * wf-run: the thin driver.  Runs a workflow (a name, a file, or wf-parse
 * output on stdin) step by step, or resumes a run where it stopped.
 * Progress goes to stderr; --json prints the journal's events on stdout.
 * See wf-run(1).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "wf.h"

/* Which runs an option applies to: a start (wf run), a resume (wf resume), or neither (help). */
enum { START = 1, RESUME = 2 };

/* The options as --help shows them; wf(1) and wf-run(1) describe the same. */
static const struct option_help {
	const char *name, *help;
	int applies;
} options[] = {
	{ "--var NAME=VALUE", "set a variable (repeatable)", START | RESUME },
	{ "--json", "print journal events as JSON lines on stdout", START | RESUME },
	{ "--dry-run", "print the path the run would take; run nothing", START },
	{ "--max-steps N", "stop after N steps (exit 4)", START | RESUME },
	{ "-q, --quiet", "no progress and no step output", START | RESUME },
	{ "--name NAME", "name the run (default: the workflow's name), to run it beside others", START },
	{ "--restart", "start over even if a run is paused or waiting", START },
	{ "--accept-changes", "resume with a changed workflow definition", RESUME },
	{ "--rerun", "run again the step that was in doubt", RESUME },
	{ "--skip", "take the step that was in doubt as done and go on", RESUME },
	{ "--kill-stale", "first stop what a step in doubt left running", START | RESUME },
	{ "--estimate", "print the expected model use, and earlier runs' averages", START },
	{ "-y, --yes", "consent to every sensitive step (answers no question)", START | RESUME },
	{ "--answer VALUE", "answer the run's first question (on resume: the pending one)", START | RESUME },
	{ "--step", "stop before each step: run, skip, edit variables, continue or pause", START | RESUME },
	{ "--break STEP-ID", "stop before that step only (repeatable)", START | RESUME },
	{ "--no-step", "stop stepping through (and forget the --break steps)", RESUME },
	{ "-h, --help", "print this help", 0 },
	{ "--version", "print the version", 0 },
};

/* The usage lines of a start and of a resume, after the command's words. */
static const char *const start_usage = "[options] NAME|FILE|- [STEP-ID]", *const resume_usage = "[options] NAME";

/* The options that apply to the runs in APPLIES (0: every option). */
static void
option_lines(FILE *fp, int applies)
{
	fprintf(fp, "options:\n");
	for (size_t i = 0; i < sizeof options / sizeof *options; i++)
		if (!applies || (options[i].applies & applies))
			fprintf(fp, "  %-18s %s\n", options[i].name, options[i].help);
}

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: wf-run %s\n       wf-run --resume %s\n", start_usage, resume_usage);
	option_lines(fp, 0);
}

/*
 * The usage of a start or (RESUME) a resume alone, with its options: in
 * the words wf ran this program as ("wf resume", see wf(1)) when TYPED is set.
 */
static void
run_usage(int resume, const char *typed)
{
	printf("usage: %s %s\n", typed ? typed : resume ? "wf-run --resume" : "wf-run",
	       resume ? resume_usage : start_usage);
	option_lines(stdout, resume ? RESUME : START);
}

/* Release what the options hold. */
static void
opts_free(struct wf_run_opts *o)
{
	jv_free(o->vars);
	jv_free(o->breaks);
}

int
main(int argc, char **argv)
{
	enum { O_VAR = 256, O_JSON, O_DRY, O_MAX, O_QUIET, O_RESTART, O_ACCEPT, O_RERUN, O_SKIP, O_RESUME, O_ESTIMATE, O_YES, O_ANSWER, O_KILL_STALE, O_NAME, O_STEP, O_BREAK, O_NO_STEP };
	static const struct option opts[] = {
		{ "var", required_argument, NULL, O_VAR }, { "json", no_argument, NULL, O_JSON },
		{ "dry-run", no_argument, NULL, O_DRY }, { "max-steps", required_argument, NULL, O_MAX },
		{ "quiet", no_argument, NULL, O_QUIET }, { "restart", no_argument, NULL, O_RESTART },
		{ "accept-changes", no_argument, NULL, O_ACCEPT }, { "rerun", no_argument, NULL, O_RERUN },
		{ "skip", no_argument, NULL, O_SKIP }, { "resume", no_argument, NULL, O_RESUME },
		{ "estimate", no_argument, NULL, O_ESTIMATE }, { "yes", no_argument, NULL, O_YES },
		{ "answer", required_argument, NULL, O_ANSWER },
		{ "kill-stale", no_argument, NULL, O_KILL_STALE }, { "name", required_argument, NULL, O_NAME },
		{ "step", no_argument, NULL, O_STEP }, { "break", required_argument, NULL, O_BREAK },
		{ "no-step", no_argument, NULL, O_NO_STEP },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct wf_run_opts o = { .vars = jv_object(), .breaks = jv_array(), .out = stdout, .log = stderr };
	/* Run by wf as "wf resume": usage speaks of that, messages still of wf-run. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;
	int c, resume = 0, help = 0, rc;
	long n;

	if (typed)
		argv[0] = (char *)"wf-run";	/* getopt's messages name argv[0] */
	wf_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "hqy", opts, NULL)) != -1) {
		switch (c) {
		case O_VAR:
			if ((rc = wf_var_arg(&o.vars, optarg))) {
				opts_free(&o);
				return rc;
			}
			break;
		case O_JSON: o.json = 1; break;
		case O_DRY: o.dry_run = 1; break;
		case O_MAX:
			if (wf_parse_long(optarg, 1, 100000000, &n) < 0) {
				wf_warn("--max-steps takes a positive whole number, got '%s'", optarg);
				opts_free(&o);
				return WF_EXIT_USAGE;
			}
			o.max_steps = n;
			break;
		case 'q':
		case O_QUIET: o.quiet = 1; break;
		case O_RESTART: o.restart = 1; break;
		case O_ACCEPT: o.accept_changes = 1; break;
		case O_RERUN: o.rerun = 1; break;
		case O_SKIP: o.skip = 1; break;
		case O_RESUME: resume = 1; break;
		case O_ESTIMATE: o.estimate = 1; break;
		case 'y':
		case O_YES: o.yes = 1; break;
		case O_ANSWER: o.answer = optarg; break;
		case O_KILL_STALE: o.kill_stale = 1; break;
		case O_STEP: o.step = 1; break;
		case O_NO_STEP: o.no_step = 1; break;
		case O_BREAK:
			o.breaks = jv_array_append(o.breaks, jv_string(optarg));
			break;
		case O_NAME:
			if (!wf_name_valid(optarg) || wf_parse_long(optarg, 0, 1L << 40, &n) == 0) {
				wf_warn("--name takes a run name of letters, digits, '.', '_' and '-' (not all digits: those number past runs), got '%.80s'",
					optarg);
				opts_free(&o);
				return WF_EXIT_USAGE;
			}
			o.run_name = optarg;
			break;
		case 'h': help = 1; break;
		case 'V': puts("wf-run " WF_VERSION); opts_free(&o); return 0;
		default: usage(stderr); opts_free(&o); return WF_EXIT_USAGE;
		}
	}
	if (help) {
		/* "wf-run --resume --help", or wf's "wf run --help": that one usage. */
		if (resume || typed)
			run_usage(resume, typed);
		else
			usage(stdout);
		opts_free(&o);
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	if (optind >= argc || argc - optind > 2 || (resume && argc - optind != 1) ||
	    (o.rerun && o.skip)) {
		usage(stderr);
		opts_free(&o);
		return WF_EXIT_USAGE;
	}
	if (resume && o.run_name) {
		wf_warn("--name names a new run; to continue run '%s', use: wf resume %s", o.run_name, o.run_name);
		opts_free(&o);
		return WF_EXIT_USAGE;
	}
	if (o.step && o.no_step) {
		wf_warn("--step and --no-step say opposite things; give one");
		opts_free(&o);
		return WF_EXIT_USAGE;
	}
	if (!resume && (o.accept_changes || o.rerun || o.skip || o.no_step)) {
		const char *opt = o.accept_changes ? "--accept-changes" : o.rerun ? "--rerun" : o.skip ? "--skip" : "--no-step";

		wf_warn("%s applies to a resume only: wf resume %s %s", opt, argv[optind], opt);
		opts_free(&o);
		return WF_EXIT_USAGE;
	}
	o.target = argv[optind];
	o.start_step = argc - optind == 2 ? argv[optind + 1] : NULL;
	rc = resume ? wf_run_resume(&o) : wf_run_start(&o);
	opts_free(&o);
	if (wf_fshut(stdout, "standard output") && !rc)
		rc = WF_EXIT_IO;
	return rc;
}
