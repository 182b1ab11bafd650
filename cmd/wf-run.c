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

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: wf-run [options] NAME|FILE|- [STEP-ID]\n"
		"       wf-run --resume [options] NAME\n"
		"options:\n"
		"  --var KEY=VALUE    set a variable (repeatable)\n"
		"  --json             print journal events as JSON lines on stdout\n"
		"  --dry-run          print the path the run would take; run nothing\n"
		"  --max-steps N      stop after N steps (exit 4)\n"
		"  -q, --quiet        no progress and no step output\n"
		"  --name NAME        name the run (default: the workflow's name), to run it beside others\n"
		"  --restart          start over even if a run is paused or waiting\n"
		"  --accept-changes   resume with a changed workflow definition\n"
		"  --rerun | --skip   on resume, run again or skip a step that was in doubt\n"
		"  --kill-stale       on resume or restart, first stop what a step in doubt left running\n"
		"  --estimate         print the expected model use, and earlier runs' averages\n"
		"  -y, --yes          consent to every sensitive step (answers no question)\n"
		"  --answer VALUE     answer the run's first question (on resume: the pending one)\n"
		"  -h, --help         print this help\n"
		"  --version          print the version\n");
}

int
main(int argc, char **argv)
{
	enum { O_VAR = 256, O_JSON, O_DRY, O_MAX, O_QUIET, O_RESTART, O_ACCEPT, O_RERUN, O_SKIP, O_RESUME, O_ESTIMATE, O_YES, O_ANSWER, O_KILL_STALE, O_NAME };
	static const struct option opts[] = {
		{ "var", required_argument, NULL, O_VAR }, { "json", no_argument, NULL, O_JSON },
		{ "dry-run", no_argument, NULL, O_DRY }, { "max-steps", required_argument, NULL, O_MAX },
		{ "quiet", no_argument, NULL, O_QUIET }, { "restart", no_argument, NULL, O_RESTART },
		{ "accept-changes", no_argument, NULL, O_ACCEPT }, { "rerun", no_argument, NULL, O_RERUN },
		{ "skip", no_argument, NULL, O_SKIP }, { "resume", no_argument, NULL, O_RESUME },
		{ "estimate", no_argument, NULL, O_ESTIMATE }, { "yes", no_argument, NULL, O_YES },
		{ "answer", required_argument, NULL, O_ANSWER },
		{ "kill-stale", no_argument, NULL, O_KILL_STALE }, { "name", required_argument, NULL, O_NAME },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct wf_run_opts o = { .vars = jv_object(), .out = stdout, .log = stderr };
	int c, resume = 0, rc;
	long n;

	wf_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "hqy", opts, NULL)) != -1) {
		switch (c) {
		case O_VAR: {
			char *eq = strchr(optarg, '=');

			if (!eq || eq == optarg) {
				wf_warn("--var takes KEY=VALUE, got '%s'", optarg);
				jv_free(o.vars);
				return WF_EXIT_USAGE;
			}
			*eq = '\0';
			if (wf_env_name_reserved(optarg)) {
				wf_warn("--var %s: variable '%s' would change what commands run, so a workflow may not set it (use another name)",
					optarg, optarg);
				jv_free(o.vars);
				return WF_EXIT_DATA;
			}
			o.vars = jv_object_set(o.vars, jv_string(optarg), jv_string(eq + 1));
			break;
		}
		case O_JSON: o.json = 1; break;
		case O_DRY: o.dry_run = 1; break;
		case O_MAX:
			if (wf_parse_long(optarg, 1, 100000000, &n) < 0) {
				wf_warn("--max-steps takes a positive whole number, got '%s'", optarg);
				jv_free(o.vars);
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
		case O_NAME:
			if (!wf_name_valid(optarg) || wf_parse_long(optarg, 0, 1L << 40, &n) == 0) {
				wf_warn("--name takes a run name of letters, digits, '.', '_' and '-' (not all digits: those number past runs), got '%.80s'",
					optarg);
				jv_free(o.vars);
				return WF_EXIT_USAGE;
			}
			o.run_name = optarg;
			break;
		case 'h': usage(stdout); jv_free(o.vars); return 0;
		case 'V': puts("wf-run " WF_VERSION); jv_free(o.vars); return 0;
		default: usage(stderr); jv_free(o.vars); return WF_EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2 || (resume && argc - optind != 1) ||
	    (o.rerun && o.skip)) {
		usage(stderr);
		jv_free(o.vars);
		return WF_EXIT_USAGE;
	}
	if (resume && o.run_name) {
		wf_warn("--name names a new run; to continue run '%s', use: wf resume %s", o.run_name, o.run_name);
		jv_free(o.vars);
		return WF_EXIT_USAGE;
	}
	if (!resume && (o.accept_changes || o.rerun || o.skip)) {
		wf_warn("%s applies to a resume only: wf resume %s %s", o.accept_changes ? "--accept-changes" : o.rerun ? "--rerun" : "--skip",
			argv[optind], o.accept_changes ? "--accept-changes" : o.rerun ? "--rerun" : "--skip");
		jv_free(o.vars);
		return WF_EXIT_USAGE;
	}
	o.target = argv[optind];
	o.start_step = argc - optind == 2 ? argv[optind + 1] : NULL;
	rc = resume ? wf_run_resume(&o) : wf_run_start(&o);
	jv_free(o.vars);
	if (wf_fshut(stdout, "standard output") && !rc)
		rc = WF_EXIT_IO;
	return rc;
}
