/*
 * driver.h: the private header of the driver behind wf-run(1), layer 4:
 * run.c (the driver), runstep.c (one step), flow.c (pure decisions),
 * stepper.c (the wf-step child), gate.c (consent and budget),
 * preflight.c, plan.c and replay_drive.c.  Only those files include it; nothing below
 * layer 4 knows a struct driver.
 */
#ifndef WF_DRIVER_H
#define WF_DRIVER_H

#include "wf_priv.h"
#include "branch.h"

/* A phase or a step that lets the run go on; any other value is its exit status. */
#define WF_GO_ON (-1)

/*
 * The elapsed time of a silent step, on a terminal: its progress line
 * redrawn about once a second while the driver waits for the wf-step
 * child (stepper.c), until the step prints something on the terminal.
 */
struct wf_live {
	int on;			/* the line is drawn for the step in flight */
	double t0;		/* when the step started (after its consent) */
	long shown;		/* the last whole second drawn */
	char line[192];		/* the step's progress line, without the time */
	off_t log_at;		/* where steps/output.log stood when it started: its frames follow */
	long seq;		/* its step-start event, which names its frames */
};

struct driver {
	struct wf_run_opts *o;
	struct wf_run *run;
	jv wf;			/* the canonical workflow */
	jv steps;		/* wf.steps */
	jv index;		/* step id -> its index in steps */
	int nsteps;
	char *step_exe;		/* wf-step */
	struct wf_child server;	/* the wf-step --serve child, pid -1 when none */
	int tty_in;		/* a person at a terminal to ask */
	jv patterns;		/* auto-approve patterns */
	char *answer_step;	/* the step the --answer is for */
	jv answer;		/* the checked --answer for it (a question's value) */
	char *consent_answer;	/* yes/no/always from --answer for a consent question */
	struct wf_buf server_buf;
	const char *step_id;	/* the step the child is running */
	jv groups;		/* the process groups it started: [{pgid, start, boot}] */
	int tty, color;
	long max_steps;
	long ran;		/* steps run by this process */
	struct wf_live live;	/* the elapsed-time line of the step in flight */
	double t0;
	char err[1024];
	struct driver *parent;	/* a sub-run's: the driver of the run whose step it is; else NULL */
	const char *sub_step;	/* a sub-run's: that step's id (the parent's) */
	const char *branch;	/* a parallel branch's: its name, which its answers carry (BRANCH:VALUE) */
	char *resume_at;	/* the cursor this process resumed at: a workflow step there goes on with its sub-run */
	char *step_go;		/* the step a resume of a step-through stop answers (stepthrough.c), else NULL */
	char *step_answer;	/* its answer: run, skip or continue */
	jv start_extra;		/* keys the run-start event gets besides its own (a fork's), or invalid */
	int budget_unchecked_said;	/* the dollar budget's unchecked calls were named (gate.c) */
};

/* ---- run.c: the driver ---- */

/* The reason journaled for a run stopped by signal SIG. */
const char *wf_driver_signal_reason(int sig);
/* Stop the run as paused by signal SIG; returns its exit status, 128 + SIG. */
int wf_driver_interrupted(struct driver *d, int sig);
/* Journal EV (consumed); with --json also print it.  0 or 74. */
int wf_driver_journal(struct driver *d, jv ev, int durable);
/* Step I of the workflow; the caller owns it. */
jv wf_driver_step_at(struct driver *d, int i);
/* Progress on the run's log, unless --quiet. */
void wf_driver_progress(struct driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* CODE, an ANSI colour, when the log is a colour terminal; "" otherwise. */
const char *wf_driver_col(struct driver *d, const char *code);
/* Stop with EVENT, STATUS and REASON, EXTRA (consumed) added to the event; returns CODE or 74. */
int wf_driver_stop(struct driver *d, const char *event, const char *status, const char *reason,
		   jv extra, int code);

/* Set up D for a run with options O: WF_GO_ON, or 78 after a message (wf_driver_close it either way). */
int wf_driver_open(struct driver *d, struct wf_run_opts *o);
/* Release what D holds, its run closed (unlocked). */
void wf_driver_close(struct driver *d);
/* Drive the canonical workflow WF (consumed) from now on. */
void wf_driver_use(struct driver *d, jv wf);
/* Write the definition D drives to the run's workflow.json, with a steps/ beside it: 0, or an exit status after a message. */
int wf_driver_save_workflow(struct driver *d);
/* Journal the run's start (and the --answer taken): WF_GO_ON or 74. */
int wf_driver_start_journal(struct driver *d);
/* Read the definition D's run started from, reconciled with its file (--accept-changes): WF_GO_ON, or an exit status. */
int wf_driver_load_saved(struct driver *d);
/* Go on with D's run, opened and locked: its definition, the --answer, the step it stopped in; WF_GO_ON, or an exit status. */
int wf_driver_resume_in(struct driver *d);
/* Run steps from the cursor until the end or a stop: the exit status. */
int wf_driver_drive(struct driver *d);

/* ---- runstep.c: one step ---- */

/* Run step ID, the cursor: WF_GO_ON, or the run stopped and its exit status. */
int wf_driver_run_step(struct driver *d, const char *id);
/* S as one shell word, quoted only when it needs to be; the caller frees it. */
char *wf_driver_shell_word(const char *s);
/* Print on the log a command that answers the run's question with ANSWER (quoted), the FIRST of a list, NOTE after it. */
void wf_driver_answer_line(struct driver *d, int first, const char *answer, const char *note);
/* Tell on the log the end of the run: steps, time and the use of each model (STATE borrowed). */
void wf_driver_summary(struct driver *d, jv state, const char *how);

/* ---- flow.c: pure decisions ---- */

/* The condition context: STATE (borrowed) plus STEP (consumed); the caller owns it. */
jv wf_flow_ctx(jv view, jv step);
/* Is EXPR true for STEP (borrowed) before it runs?  0/1, or -1 with *CODE and *MSG (caller frees). */
int wf_flow_decide(jv view, jv step, const char *expr, int *code, char **msg);
/* The loop STEP (borrowed): the next cursor, or invalid with *CODE; see flow.c. */
jv wf_flow_loop(jv view, jv step, jv *ev, int *code, char **msg);
/* The conditional STEP (borrowed): the next cursor, or invalid with *CODE and *MSG. */
jv wf_flow_conditional(jv view, jv step, jv *ev, int *code, char **msg);
/* EV (consumed) with what the journal keeps of result RES (borrowed). */
jv wf_flow_step_end(jv ev, jv res);
/* Name the cycle in TRAIL (borrowed), the last steps run; the caller frees it. */
char *wf_flow_describe_cycle(jv trail);
/* The question STEP (borrowed) asks before it runs, or null; the caller owns it. */
jv wf_flow_question_of(jv step, int yes);
/* WF's (borrowed) variables with OVERRIDES (borrowed) over them; the caller owns them. */
jv wf_flow_merged_vars(jv wf, jv overrides);
const char *wf_flow_missing_input(jv wf, jv overrides);

/* ---- stepper.c: the wf-step child ---- */

/* Run STEP (consumed) through wf-step; the caller owns the result. */
jv wf_stepper_run(struct driver *d, jv step);
/* Has the step run last printed on the terminal (its output files under steps/ say)? */
int wf_stepper_printed(struct driver *d);
/* Stop the wf-step child, if one runs. */
void wf_stepper_stop(struct driver *d);
/* Are process groups of the step in flight INFLIGHT (borrowed) still running?  0, or 75. */
int wf_stepper_stale_groups(struct driver *d, jv inflight);

/* ---- gate.c: consent and budget ---- */

/* Does step S (borrowed) need a model to run? */
int wf_gate_step_needs_model(jv s);
/* Tokens and known dollars used so far by STATE (borrowed); *UNKNOWN: models of unknown cost. */
void wf_gate_usage_totals(jv state, double *tokens, double *usd, int *unknown);
/* May STEP (borrowed), a model call, run within the budget?  0, or the run stopped (4, 74). */
int wf_gate_budget(struct driver *d, jv step, const char *id);
/* The dollars left of the tightest USD budget over this run and those above it, or -1 (none, or unknown). */
double wf_gate_usd_left(struct driver *d);
/* May the sensitive STEP (borrowed) run?  0, or the run stopped (3, 77). */
int wf_gate_consent(struct driver *d, jv step, const char *id);
/* A confirmation was answered no: stop as declined; EV and RES consumed. */
int wf_gate_declined(struct driver *d, const char *id, jv ev, jv res);

/* ---- replay_drive.c: --replay and --offline ---- */

/* Journal --replay's run and --offline with the run's start: WF_GO_ON, or an exit status after a message. */
int wf_driver_replay_open(struct driver *d);
/* RUN (consumed, returned), a step request's run object, with "replay" and "offline" when the run has them. */
jv wf_driver_replay_run(struct driver *d, jv run);

/* ---- preflight.c: before any step runs ---- */

/* The wf-step program beside this one; the caller frees it. */
char *wf_preflight_step_exe(void);
/* Can every model, git and PR step of the workflow run?  0, or an exit status after messages. */
int wf_preflight(struct driver *d);
/* Warn of each --var that names no variable the workflow uses; the run goes on. */
void wf_preflight_vars(struct driver *d);
int wf_preflight_inputs(struct driver *d);

#endif
