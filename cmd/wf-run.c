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
#include "estimate.h"
#include "rewind.h"

/* Which runs an option applies to: a start (wf run), a resume (wf resume), a fork (wf fork), or none (help). */
enum { START = 1, RESUME = 2, FORK = 4 };

/* The options as --help shows them; wf(1) and wf-run(1) describe the same. */
static const struct option_help {
	const char *name, *help;
	int applies;
} options[] = {
	{ "--var NAME=VALUE", "set a variable (repeatable)", START | RESUME | FORK },
	{ "--json", "print journal events as JSON lines on stdout", START | RESUME | FORK },
	{ "--dry-run", "print the path the run would take; run nothing", START },
	{ "--max-steps N", "stop after N steps (exit 4)", START | RESUME | FORK },
	{ "-q, --quiet", "no progress and no step output", START | RESUME | FORK },
	{ "--name NAME", "name the run (default: the workflow's name), to run it beside others", START | FORK },
	{ "--restart", "start over even if a run is paused or waiting", START },
	{ "--fork", "a new run --name NAME from where run RUN stood just before STEP-ID", 0 },
	{ "--pass N", "fork from that run of the step (1 the first; default the last)", FORK },
	{ "--accept-changes", "resume or fork with a changed workflow definition", RESUME | FORK },
	{ "--rerun", "run again the step that was in doubt", RESUME },
	{ "--skip", "take the step that was in doubt as done and go on", RESUME },
	{ "--kill-stale", "first stop what a step in doubt left running", START | RESUME },
	{ "--estimate", "print the expected calls, tokens and cost of each step, and their basis", START },
	{ "--budget AMOUNT", "this run's budget: $DOLLARS or N tokens (e.g. $2.50, 40k tokens)", START | RESUME | FORK },
	{ "--replay RUN", "answer model calls from that run's recordings", START },
	{ "--replay-mode HOW", "strict (a call with no recording fails; default) or fill (it goes live)", START },
	{ "--offline", "refuse every live model call", START | RESUME | FORK },
	{ "-y, --yes", "consent to every sensitive step (answers no question)", START | RESUME | FORK },
	{ "--answer VALUE", "answer the run's first question (on resume: the pending one)", START | RESUME | FORK },
	{ "--step", "stop before each step: run, skip, edit variables, continue or pause", START | RESUME },
	{ "--break STEP-ID", "stop before that step only (repeatable)", START | RESUME },
	{ "--no-step", "stop stepping through (and forget the --break steps)", RESUME },
	{ "-h, --help", "print this help", 0 },
	{ "--version", "print the version", 0 },
};

/* The usage lines of a start, a resume and a fork, after the command's words. */
static const char *const start_usage = "[options] NAME|FILE|- [STEP-ID]", *const resume_usage = "[options] NAME",
		  *const fork_usage = "[options] RUN STEP-ID --name NEW";

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
	fprintf(fp, "usage: wf-run %s\n       wf-run --resume %s\n       wf-run --fork %s\n", start_usage,
		resume_usage, fork_usage);
	option_lines(fp, 0);
}

/*
 * The usage of a START, RESUME or FORK alone (KIND), with its options: in
 * the words wf ran this program as ("wf resume", see wf(1)) when TYPED is set.
 */
static void
run_usage(int kind, const char *typed)
{
	printf("usage: %s %s\n", typed ? typed : kind == RESUME ? "wf-run --resume" : kind == FORK ? "wf-run --fork" : "wf-run",
	       kind == RESUME ? resume_usage : kind == FORK ? fork_usage : start_usage);
	option_lines(stdout, kind);
}

/*
 * The options given (GIVEN, a bit each of options[]) that a run of KIND
 * does not take: the first one's name, or NULL.
 */
static const char *
not_for(unsigned given, int kind)
{
	for (size_t i = 0; i < sizeof options / sizeof *options; i++)
		if ((given >> i & 1) && options[i].applies && !(options[i].applies & kind))
			return options[i].name;
	return NULL;
}

/* The bit of option LONG (its name without "--") in options[], 0 when it has none. */
static unsigned
option_bit(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
		const char *at = strstr(options[i].name, "--");

		if (at && !strncmp(at + 2, name, n) && (!at[2 + n] || at[2 + n] == ' '))
			return 1u << i;
	}
	return 0;
}

/* Release what the options hold. */
static void
opts_free(struct wf_run_opts *o)
{
	jv_free(o->vars);
	jv_free(o->breaks);
}

/*
 * wf-run --fork RUN STEP-ID --name NEW (NOPS operands OPS): the options
 * given (GIVEN) must be a fork's.  O's values are freed; the exit status.
 */
static int
fork_main(struct wf_run_opts *o, int nops, char **ops, unsigned given, long pass)
{
	const char *wrong = not_for(given, FORK);
	int rc = WF_EXIT_USAGE;

	if (wrong)
		wf_warn("%s does not apply to a fork; usage: wf fork %s", wrong, fork_usage);
	else if (nops != 2)
		wf_warn("a fork takes a RUN and a STEP-ID; usage: wf fork %s", fork_usage);
	else if (!o->run_name)
		wf_warn("a fork needs --name NEW, the new run's name; usage: wf fork %s", fork_usage);
	else if ((o->target = ops[0]), (o->start_step = ops[1]), 1)
		rc = wf_run_fork(o, pass);
	opts_free(o);
	if (wf_fshut(stdout, "standard output") && !rc)
		rc = WF_EXIT_IO;
	return rc;
}

/*
 * wf-run [--resume] with NOPS operands OPS: a start or (RESUME) a
 * resume, once the options agree.  O's values are freed; the exit status.
 */
static int
run_main(struct wf_run_opts *o, int resume, int nops, char **ops)
{
	const char *opt = o->accept_changes ? "--accept-changes" : o->rerun ? "--rerun" : o->skip ? "--skip" : "--no-step";
	int rc = WF_EXIT_USAGE;

	if (nops < 1 || nops > 2 || (resume && nops != 1) || (o->rerun && o->skip))
		usage(stderr);
	else if (resume && o->run_name)
		wf_warn("--name names a new run; to continue run '%s', use: wf resume %s", o->run_name, o->run_name);
	else if (o->step && o->no_step)
		wf_warn("--step and --no-step say opposite things; give one");
	else if (!resume && (o->accept_changes || o->rerun || o->skip || o->no_step))
		wf_warn("%s applies to a resume only: wf resume %s %s", opt, ops[0], opt);
	else {
		o->target = ops[0];
		o->start_step = nops == 2 ? ops[1] : NULL;
		rc = resume ? wf_run_resume(o) : wf_run_start(o);
		if (wf_fshut(stdout, "standard output") && !rc)
			rc = WF_EXIT_IO;
	}
	opts_free(o);
	return rc;
}

/* Do --replay and --replay-mode agree, and apply (to a start, not a RESUME)?  0, or 2 after a message. */
static int
replay_args(const struct wf_run_opts *o, int resume)
{
	if (resume && (o->replay || o->replay_mode))
		wf_warn("%s applies to a start only: a resumed run goes on replaying the run it started with",
			o->replay ? "--replay" : "--replay-mode");
	else if (o->replay_mode && strcmp(o->replay_mode, "strict") && strcmp(o->replay_mode, "fill"))
		wf_warn("--replay-mode takes strict or fill, got '%.80s'", o->replay_mode);
	else if (o->replay_mode && !o->replay)
		wf_warn("--replay-mode %s needs --replay RUN, the run to answer model calls from", o->replay_mode);
	else
		return 0;
	return WF_EXIT_USAGE;
}

/* Is --budget's AMOUNT one wf-run(1) takes?  It says what is when not.  Read again where it is journaled (budget.c). */
static int
budget_ok(const char *amount)
{
	char err[256];
	jv b;
	int rc = wf_budget_parse(amount, &b, err, sizeof err);

	jv_free(b);
	if (rc)
		wf_warn("%s", err);
	return !rc;
}

int
main(int argc, char **argv)
{
	enum { O_VAR = 256, O_JSON, O_DRY, O_MAX, O_QUIET, O_RESTART, O_ACCEPT, O_RERUN, O_SKIP, O_RESUME, O_ESTIMATE, O_YES, O_ANSWER, O_KILL_STALE, O_NAME, O_STEP, O_BREAK, O_NO_STEP, O_FORK, O_PASS, O_BUDGET, O_REPLAY, O_REPLAY_MODE, O_OFFLINE };
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
		{ "fork", no_argument, NULL, O_FORK }, { "pass", required_argument, NULL, O_PASS },
		{ "budget", required_argument, NULL, O_BUDGET }, { "replay", required_argument, NULL, O_REPLAY },
		{ "replay-mode", required_argument, NULL, O_REPLAY_MODE }, { "offline", no_argument, NULL, O_OFFLINE },
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct wf_run_opts o = { .vars = jv_object(), .breaks = jv_array(), .out = stdout, .log = stderr };
	/* Run by wf as "wf resume": usage speaks of that, messages still of wf-run. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;
	int c, li, resume = 0, fork = 0, help = 0, rc;
	unsigned given = 0;	/* options[] given, a bit each */
	long n, pass = 0;

	if (typed)
		argv[0] = (char *)"wf-run";	/* getopt's messages name argv[0] */
	wf_set_progname(argv[0]);
	while ((li = -1, c = getopt_long(argc, argv, "hqy", opts, &li)) != -1) {
		given |= option_bit(li >= 0 ? opts[li].name : c == 'q' ? "quiet" : c == 'y' ? "yes" : "");
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
		case O_FORK: fork = 1; break;
		case O_PASS:
			if (wf_parse_long(optarg, 1, 1L << 30, &pass) < 0) {
				wf_warn("--pass takes a pass number from 1 on, got '%s'", optarg);
				opts_free(&o);
				return WF_EXIT_USAGE;
			}
			break;
		case O_ESTIMATE: o.estimate = 1; break;
		case O_BUDGET:
			if (!budget_ok(optarg)) {
				opts_free(&o);
				return WF_EXIT_USAGE;
			}
			o.budget = optarg;
			break;
		case O_REPLAY: o.replay = optarg; break;
		case O_REPLAY_MODE: o.replay_mode = optarg; break;
		case O_OFFLINE: o.offline = 1; break;
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
		if (resume || fork || typed)
			run_usage(resume ? RESUME : fork ? FORK : START, typed);
		else
			usage(stdout);
		opts_free(&o);
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	if (fork)
		return fork_main(&o, argc - optind, argv + optind, given, pass);
	if (pass) {
		wf_warn("--pass applies to a fork only: wf fork RUN STEP-ID --pass N --name NEW");
		opts_free(&o);
		return WF_EXIT_USAGE;
	}
	if ((rc = replay_args(&o, resume))) {
		opts_free(&o);
		return rc;
	}
	return run_main(&o, resume, argc - optind, argv + optind);
}
