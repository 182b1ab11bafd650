/*
 * wf_priv.h: what the files of lib/ share among themselves and the
 * commands never need.  It includes wf.h (the conventions for errors and
 * jv ownership are there) and adds the rest, one section per file.
 *
 * The library is built in layers; a file calls its own layer and those
 * below it, never one above, and each file's opening comment names its
 * layer (tests/0000-layers.bats checks both with nm(1), and what each
 * program links):
 *
 *   0 base        util.c (messages, memory, buffers, files, atomic
 *                 writes), paths.c (where wf looks), json.c, proc.c
 *                 (children, the stop flag, signals), secret.c (secret
 *                 names, the masker, environments without secrets)
 *   1 formats     yaml.c, cond*.c (the condition language), subst.c,
 *     channels    http.c, git.c (git as a program), keys.c (API keys),
 *                 tty.c (questions at the terminal)
 *   2 domain      action.c (the table of built-in actions), workflow*.c,
 *                 state*.c, status.c, runs.c and logs.c (the run store), consent.c,
 *                 model*.c and provider*.c (models and their wire
 *                 formats), forge*.c (the GitHub REST client)
 *   3 actions     step.c (dispatch), result.c, ai.c, ask.c, pr.c and
 *                 pr_*.c (pull request and git actions): run only inside
 *                 wf-step, and wf-pr for the forge
 *   4 driver      run.c, runstep.c, flow.c, gate.c, stepper.c,
 *                 preflight.c, plan.c (driver.h): wf-run only
 */
#ifndef WF_PRIV_H
#define WF_PRIV_H

#include "wf.h"

/* ---- util.c: messages, memory, buffers, files ---- */

extern const char *wf_progname;

/* wf_warn, then exit with CODE. */
__attribute__((noreturn)) void wf_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* write(2) all of P, retrying on EINTR and short writes; 0 or -1/errno. */
int wf_write_all(int fd, const void *p, size_t n);

/*
 * Replace NAME in directory DIRFD atomically: a temporary file (mode
 * 0600), fsync, rename, fsync of the directory.  0 or -1/errno.
 */
int wf_atomic_write(int dirfd, const char *name, const char *data, size_t len);

/* Current wall-clock time as an RFC 3339 UTC string with milliseconds. */
void wf_now_iso(char out[32]);

/* Milliseconds since the epoch of ISO, a time as wf_now_iso writes it; -1 when it is not one. */
double wf_iso_ms(const char *iso);

/* Monotonic clock in milliseconds. */
double wf_now_ms(void);

/* Hex SHA-256 of P[0..N) into OUT (65 bytes). */
void wf_sha256_hex(const void *p, size_t n, char out[65]);

/* True when S is valid UTF-8 of length N; else *BAD gets the offset. */
int wf_utf8_valid(const char *s, size_t n, size_t *bad);

/* Free a NULL-terminated vector of malloc'd strings and the vector (NULL is fine). */
void wf_strv_free(char **v);

/* ---- paths.c: where wf looks (every string malloc'd; the caller frees it) ---- */

/* The program NAME beside this one when it is executable there, else NAME itself, for PATH. */
char *wf_sibling_exe(const char *name);

/* ${XDG_CONFIG_HOME:-$HOME/.config}/wf; NULL when neither is set. */
char *wf_config_dir(void);

/* NAME in the configuration directory; NULL when there is none. */
char *wf_config_file(const char *name);

/*
 * The project a run belongs to: the nearest of FROM (NULL: the working
 * directory) and its parents that holds .git, else FROM itself.
 */
char *wf_project_root(const char *from);

/*
 * PROJECT's directory name under the state root: its last component,
 * made safe, a dash and 16 hex digits of a hash of the whole path
 * ("app-3f2a..."), so two projects named alike never share one.
 */
char *wf_project_key(const char *project);

/* The nearest of the working directory and its parents holding .wf, codi-models.yaml or .git; NULL if none. */
char *wf_project_dir(void);

/* The workflow search path (wf-workflow(5)), in order, NULL-terminated; free with wf_strv_free. */
char **wf_workflow_search_path(void);

/* ---- json.c: jv helpers ---- */

/* Compact JSON text of V (borrowed) as a malloc'd string. */
char *wf_json_dump(jv v);

/* ---- yaml.c: strict YAML to jv ---- */

#define WF_YAML_MAX_BYTES (1024 * 1024)
#define WF_YAML_MAX_DEPTH 64

/*
 * Load one YAML document from BUF into *OUT, with *POS a map from
 * JSON-pointer paths ("/steps/0/on-true") to [line, col, vline, vcol]
 * (the key's position and the value's, 1-based).  Scalars: plain true/false
 * become booleans, plain null/~/empty become null, a plain number becomes a
 * number only when it reads back the same (so "1.10" stays a string);
 * everything else is a string.  Plain scalars that YAML 1.1 would take as
 * booleans (yes, no, on, off, ...) stay strings; the schema refuses them
 * where it wants a boolean.  A sequence item's position is its start, twice.
 * Rejects anchors, aliases, tags, several documents, duplicate keys,
 * invalid UTF-8, NUL bytes, a UTF-16 byte order mark (a UTF-8 one is
 * skipped) and input over the size or depth limits.  Returns 0, or -1 with
 * every problem added to DIAG under FILE.  *POS is set (and owned by the
 * caller) either way.
 */
int wf_yaml_load(const char *buf, size_t len, const char *file,
		 jv *out, jv *pos, struct wf_diag *diag);

/* ---- action.c: the table of built-in actions ---- */

/* NAME's row of the table, or NULL when it is not built in. */
const struct wf_action *wf_action_get(const char *name);

/* Is NAME built in with every flag of FLAGS set? */
int wf_action_has(const char *name, unsigned flags);

/* Does ACTION run a command or change something outside the run (a custom action does)? */
int wf_action_sensitive(const char *action);

/* Why a step of ACTION may run again, for the notice printed when it does. */
const char *wf_action_repeat_why(const char *action);

/* The fields of LIST as {name: {type, choices?}}; caller owns the result. */
jv wf_fields_json(const struct wf_field *list);

/* ---- workflow.c: finding and loading workflows ---- */

/*
 * Find the workflow named ARG: a path (contains '/' or ends .yaml/.yml) is
 * used as is; a name is looked up along the search path (wf-workflow(5)),
 * file stem first, then the name: field.  Returns a malloc'd path, or NULL
 * with *CODE set (66 not found, 65 invalid name) and a message in ERR.
 */
char *wf_workflow_find(const char *arg, int *code, char *err, size_t errlen);

/* The name of NAMES (borrowed array) near enough to WORD to be a typo, borrowed from NAMES; or NULL. */
const char *wf_workflow_nearest(const char *word, jv names);

#define WF_MAX_ITERATIONS_CAP 1000
#define WF_DEFAULT_MAX_STEPS 1000

/*
 * May step STEP (borrowed) run again when it was in doubt?  Its
 * 'idempotent', default true for every action (the classes in the action
 * table: the PR and git actions look before they act).
 */
int wf_step_repeatable(jv step);

/* Does STEP (borrowed) give a verdict ("approved") that on-approved/on-rejected follow without a check? */
int wf_step_gives_verdict(jv step);

/* Index of step ID in the canonical workflow WF (borrowed), or -1. */
int wf_workflow_step_index(jv wf, const char *id);

/* Look for an executable wf-action-NAME beside FILE (actions/) or on PATH; malloc'd path or NULL. */
char *wf_action_find(const char *name, const char *workflow_file);

/* ---- workflow_vars.c: the variables a workflow uses ---- */

/* The names of the variables canonical workflow WF (borrowed) uses (wf-run(1)), sorted; the caller owns the array. */
jv wf_workflow_var_names(jv wf);

/* ---- workflow_schema.c: the tables a workflow is checked against ---- */

/* Each a list of fields ending with a NULL name. */
extern const struct wf_field wf_schema_top[];		/* the top level of a workflow */
extern const struct wf_field wf_schema_step[];		/* every step, whatever its action */
extern const struct wf_field wf_schema_retry[];	/* a step's 'retry' */
extern const struct wf_field wf_schema_budget[];	/* a workflow's 'budget' */
extern const struct wf_field wf_schema_input[];	/* one of a workflow's 'inputs' */
extern const struct wf_field wf_schema_canonical_top[];	/* what wf-parse adds to the top */
extern const struct wf_field wf_schema_canonical_step[];	/* what wf-parse adds to each step */
extern const struct wf_field wf_schema_request[];	/* the members of a step request */
extern const struct wf_field wf_schema_request_run[];	/* the members of its "run" */

/* The field NAME of LIST (may be NULL), or NULL. */
const struct wf_field *wf_field_find(const struct wf_field *list, const char *name);

/* The name in list A or B (either may be NULL) within edit distance 2 of KEY, for a hint; or NULL. */
const char *wf_field_closest(const char *key, const struct wf_field *a, const struct wf_field *b);

/* The canonical spelling of KEY in a step of ACTION (NULL: the top level); KEY itself when it is one. */
const char *wf_schema_canon_key(const char *key, const char *action);

/* ---- workflow_value.c: one value against one field, and where to report ---- */

/* A check in progress (workflow_check.c and workflow_json.c). */
struct wf_check {
	const char *file;
	jv pos;
	struct wf_diag *diag;
	/*
	 * Checking a canonical JSON document (wf-json(7)) rather than YAML:
	 * types are exact (no text for a number, no shorthand), Codi's
	 * spellings are not folded, members the schema does not know are
	 * ignored as wf-json(7) asks of every reader, and messages name the
	 * step by its id and the field by its path instead of a line:col.
	 */
	int json;
	int one_step;	/* json: the single step of a request; its jumps name steps not at hand */
	jv ids;		/* json: each step's id (or null) by index, for messages */
	const char *base;	/* the path of the list of steps checked (a parallel step's branch), or NULL: "/steps" */
};
#define WF_CHECK_BASE(c) ((c)->base ? (c)->base : "/steps")

/* Report FMT at the position recorded for PATH (the key's, or the value's when VALUE). */
void wf_check_at(struct wf_check *c, const char *path, int value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report FMT about the value of field NAME at PATH ("'NAME': ..." in YAML, "field 'a.b': ..." in JSON). */
void wf_check_field_at(struct wf_check *c, const char *path, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* BASE plus "/KEY" as a JSON pointer; malloc'd. */
char *wf_check_key_path(const char *base, const char *key);

/* Does the key at path A come after the one at path B in the file? */
int wf_check_pos_after(struct wf_check *c, const char *a, const char *b);

/* Record the position of key ALIAS under BASE for its canonical spelling CANON too. */
void wf_check_alias_pos(struct wf_check *c, const char *base, const char *alias, const char *canon);

/* V's kind (borrowed) in YAML's words ("text", "a mapping", ...). */
const char *wf_check_kind_name(jv v);

/* V's kind (borrowed) in the words of the document being checked: YAML's, or JSON's. */
const char *wf_check_kind_of(const struct wf_check *c, jv v);

/* Check V (consumed) against field F at PATH; the canonical value, or invalid after a message. */
jv wf_check_value(struct wf_check *c, const char *path, const struct wf_field *f, jv v);

/* Sort the messages D gained from index FROM on into FILE's order (wf_diag_add made each one printable line). */
void wf_check_finish_diags(struct wf_diag *d, size_t from, const char *file);

/* ---- workflow_check.c: a workflow file to canonical JSON ---- */

/*
 * Load, validate and normalise the workflow in BUF (read from FILE, "-"
 * for stdin; custom actions are looked up in actions/ beside FILE, then on
 * PATH).  Returns the canonical workflow (wf-json(7)), or an invalid jv
 * with every problem in DIAG as "FILE:LINE:COL: message", sorted by line
 * and column, each a single printable line.
 */
jv wf_workflow_parse(const char *buf, size_t len, const char *file,
		     struct wf_diag *diag);

/* Step I, STEP (consumed), checked and normalised; invalid after a message (DIR_FILE: where custom actions are). */
jv wf_check_step(struct wf_check *c, jv step, int i, const char *dir_file);

/* The rules over the whole list of normalised STEPS (borrowed): ids, jumps, loops, conditions. */
void wf_check_flow(struct wf_check *c, jv steps);

/* The top level and the steps of DOC (consumed), normalised, without the top level's defaults. */
jv wf_check_document(struct wf_check *c, jv doc);

/* ---- workflow_json.c: canonical JSON and step requests ---- */

/*
 * Check a canonical workflow as wf-parse prints it (WF borrowed) against
 * the same schema wf-parse checks YAML with, types exact, every jump
 * target and "next" naming a step, no text holding a NUL.  Returns 0, or
 * WF_EXIT_DATA with the first problem as one line in ERR, such as
 * "step 's1': field 'command': expected a string, got a number".
 */
int wf_workflow_check_json(jv wf, char *err, size_t errlen);

/* ---- cond_lex.c: the words of the condition language, NULL-terminated (wf-cond(1)) ---- */

extern const char *const wf_cond_words[];

/* ---- subst.c: ${...} in text fields ---- */

/*
 * The value NAME names in CTX (borrowed): x (vars.x), vars.x, steps.ID,
 * steps.ID.FIELD, loops.ID, last.FIELD, iteration (vars.iteration, else
 * .iteration, else 0).  Owned; jv_invalid() when undefined.
 */
jv wf_ctx_lookup(jv ctx, const char *name);

/* Is S[0..N) a name ${...} may hold ([A-Za-z0-9_-] parts joined by single dots)? */
int wf_ctx_name_valid(const char *s, size_t n);

/* ---- proc.c: children without a shell ---- */

struct wf_child {
	pid_t pid;
	int in, out, err;	/* our ends of the pipes, or -1 */
};

enum {
	WF_SPAWN_IN = 1,	/* a pipe to the child's stdin */
	WF_SPAWN_OUT = 2,	/* a pipe from its stdout */
	WF_SPAWN_ERR = 4,	/* a pipe from its stderr */
	WF_SPAWN_PGRP = 8,	/* its own process group */
	WF_SPAWN_NULL_IN = 16	/* stdin from /dev/null */
};

/*
 * Start ARGV[0] (a path when ENVP is given, else looked up on PATH) in CWD
 * (NULL: ours).  FDMAP is a {-1,-1}-terminated list of {from, to}: the
 * child gets FROM as descriptor TO (FROM == TO keeps an inherited one).
 * Every other descriptor of ours is close-on-exec.  Returns 0, or -1 with
 * errno (the exec's own errno when the program could not be run).
 */
int wf_spawn(char *const argv[], char *const envp[], const char *cwd, int flags,
	     const int (*fdmap)[2], struct wf_child *c);

/* This boot's id (/proc/sys/kernel/random/boot_id), "" when unknown; a static buffer. */
const char *wf_boot_id(void);

/*
 * Is process group PGID, started at START (0: unknown) during boot BOOT
 * (NULL or "": unknown), still alive, with a member that is not a zombie?
 * A group of another boot, or whose leader's start time differs (the
 * number reused), is not.  1 alive, 0 gone.
 */
int wf_pgroup_alive(pid_t pgid, unsigned long long start, const char *boot);

/* The process group a journaled group record G (borrowed: {pgid, start, boot}) names, while alive; else 0 (state.c). */
pid_t wf_group_record_alive(jv g);

/*
 * Stop process group PGID: SIGTERM, up to GRACE_S seconds for it to go,
 * then SIGKILL and up to 5 s more.  0 when it is gone, -1 when not.
 */
int wf_pgroup_stop(pid_t pgid, double grace_s);

/*
 * PROG as given when it holds a '/', else the first executable PROG in
 * the directories of PATH (':'-separated, empty parts skipped); malloc'd,
 * or NULL when there is none.
 */
char *wf_find_program(const char *prog, const char *path);

/* waitpid, retried on EINTR: 0 or -1. */
int wf_wait(pid_t pid, int *status);

/* A wait status as a shell would show it: the exit code, or 128+signal. */
int wf_exit_code(int status);

struct wf_io_opts {
	double timeout_s;		/* 0: none; then TERM, GRACE_S, KILL */
	double grace_s;			/* default 2 s */
	int pgrp;			/* signal the child's whole process group */
	volatile int *stop;		/* when set (by a signal handler), stop the child */
	void (*sink)(void *ctx, int stream, const char *buf, size_t n);	/* 1 stdout, 2 stderr */
	void *ctx;
};
enum { WF_COMM_TIMEOUT = 1, WF_COMM_STOPPED = 2 };

/*
 * Write INPUT to the child's stdin, pass what it prints to O->sink, and
 * reap it into *STATUS.  Returns 0, WF_COMM_TIMEOUT or WF_COMM_STOPPED
 * (the child was then killed), or -1 on a poll error.  Closes C's pipes.
 */
int wf_communicate(struct wf_child *c, const char *input, size_t inlen,
		   const struct wf_io_opts *o, int *status);

/* A wf_io_opts sink: stdout into the wf_buf CTX, stderr passed to ours. */
void wf_sink_to_buf(void *ctx, int stream, const char *buf, size_t n);

/* ---- secret.c: secret names, reserved names, the one masker ---- */

/* Is NAME an environment variable that holds a secret (wf-step(1))? */
int wf_secret_name(const char *name);

/* The names and parts of names the two above go by, as {secret, secret-suffixes, secret-infix, reserved, reserved-prefixes}; caller owns it. */
jv wf_env_name_lists(void);

/* Mask VALUE (>= 8 bytes) from now on, in every form secret.c lists. */
void wf_secret_add(const char *value);

/*
 * Our environment (malloc'd, NULL-terminated; free with wf_strv_free)
 * without the secret-named variables other than those KEEP names (a
 * borrowed array of names, or null), and without the variables DROP names
 * (NULL-terminated, or NULL).  The one walk over environ that builds what
 * a child gets: shell steps, custom actions, coding agents and git.
 */
char **wf_env_without_secrets(jv keep, const char *const drop[]);

/* V (consumed) with every string in it, keys included, masked; returns ownership. */
jv wf_secret_mask_jv(jv v);

/*
 * A streaming filter: bytes go in with wf_redactor_write and come out
 * through OUT masked, holding back only a tail that could be the start
 * of a secret, so a secret split across writes is still caught;
 * wf_redactor_flush emits the rest and frees the buffer.  OUT returns 0,
 * or -1 (passed back).
 */
struct wf_redactor {
	struct wf_buf pending;
	int (*out)(void *ctx, const char *p, size_t n);
	void *ctx;
};
int wf_redactor_write(struct wf_redactor *r, const char *p, size_t n);
int wf_redactor_flush(struct wf_redactor *r);

/* ---- result.c: building a step result ---- */

/* The most of a step's output a result carries ("output"). */
#define WF_OUTPUT_EXCERPT (64 * 1024)

/* vars.NAME or effects.NAME set to VALUE (consumed). */
jv wf_result_set_var(jv r, const char *name, jv value);
jv wf_result_set_effect(jv r, const char *name, jv value);

/* "output": TEXT[0..N), at most WF_OUTPUT_EXCERPT bytes of it. */
jv wf_result_set_output(jv r, const char *text, size_t n);

/* "messages": the user's PROMPT and the model's ANSWER, for the run's transcript. */
jv wf_result_exchange(jv r, const char *prompt, const char *answer);

/*
 * The usage record ACC (consumed; null to start one) plus the usage and
 * cost of the wf-model result RES (borrowed): {model, input_tokens,
 * output_tokens, cached_tokens, usd}.
 */
jv wf_usage_add(jv acc, jv res);

/*
 * The step's text field KEY (REQ borrowed) with ${...} substituted
 * (strictly when the run says so; warnings printed with the step's id).
 * Malloc'd; NULL when absent, or with *BAD set (BAD may be NULL) and a
 * message in ERR after a strict-mode error.
 */
char *wf_step_text(jv req, const char *key, int *bad, char *err, size_t errlen);

/* ---- ai.c: model calls from actions ---- */

/*
 * Ask a model through `wf-model chat` (the only program that talks to
 * providers).  REQ is the step request (borrowed): its "model" (the run's
 * current model), "original_model" and "transcript" are used; MODEL, when
 * not NULL, overrides the model for this call.  SYSTEM may be NULL.  With
 * WITH_TRANSCRIPT the run's conversation so far goes before PROMPT.
 * Returns wf-model's result object ({text, model, usage, cost, ...}), or an
 * invalid jv with *CODE set to wf-model's exit status and ERR filled.
 */
jv wf_ai_chat(jv req, const char *model, const char *system, const char *prompt,
	      int with_transcript, char *err, size_t errlen, int *code);

/* The ai-prompt and switch-model actions (step.c's table): REQ and R consumed. */
jv wf_action_ai_prompt(jv req, jv r);
jv wf_action_switch_model(jv req, jv r);

/* ---- tty.c: questions at the terminal ---- */

/* Is there a person at a terminal: stdin a tty and /dev/tty usable? */
int wf_tty_usable(void);

/*
 * Print PROMPT on /dev/tty and read one line within TIMEOUT seconds (0:
 * no limit).  Returns the line (malloc'd, no newline), or NULL on end of
 * input, a stop signal, or a timeout (*TIMED_OUT set).
 */
char *wf_tty_ask(const char *prompt, double timeout, int *timed_out);

/*
 * Check ANSWER against the pending question PENDING (borrowed): yes/no
 * for confirm (a boolean), one of the options (or its number) for choice,
 * yes/no/always for consent, anything for text.  0 with *VALUE, or -1
 * with a message in ERR.
 */
int wf_answer_check(jv pending, const char *answer, jv *value, char *err, size_t n);

/* Print LINE and a newline on /dev/tty (nothing when there is none). */
void wf_tty_say(const char *line);

/* ---- ask.c: questions for a person ---- */

/* The interactive action (step.c's table): REQ and R consumed. */
jv wf_action_interactive(jv req, jv r);

/* ---- consent.c: what may run without asking ---- */

/*
 * The auto-approve patterns of ${XDG_CONFIG_HOME:-~/.config}/wf/config.yaml
 * and, once its content is trusted, the project's ./.wf/config.yaml, as an
 * array the caller owns; invalid after problems in DIAG.
 */
jv wf_auto_approve_patterns(struct wf_diag *diag);

/*
 * The pattern in PATTERNS (borrowed) that approves a step, or NULL: "*"
 * approves every step; "action:GLOB" matches "action:ACTION"; any other
 * pattern is split on blanks and matches the shell command COMMAND (as
 * written, or NULL for other actions) only when COMMAND is one simple
 * command whose words, after quote removal and "${NAME}" taken from VARS
 * (borrowed object of the variables the step's environment carries),
 * match it word for word, a last "*" matching any remaining words.
 */
const char *wf_auto_approved(jv patterns, const char *action, const char *command, jv vars);

/* Has the workflow content with HASH been trusted with `wf trust`? */
int wf_trusted(const char *hash);

/* ---- state.c: the plain-file state store: directory, runs, view, pause request ---- */

/* Move the run's journal, snapshot and outputs to the project's history and start empty. */
int wf_run_reset(struct wf_run *r, char *err, size_t n);

/*
 * Create (if CREATE) and check the project state directory PROJ and
 * PROJ/runs, recording the project's PATH in PROJ/project the first
 * time: 0, or an exit code with ERR.
 */
int wf_state_prepare_project(const char *proj, const char *path, int create, char *err, size_t n);

/* The name in a run's steps/ of the output EXT (out, err, answer) of step ID begun by event SEQ: 0, or -1 when it does not fit in N. */
int wf_step_file(char *buf, size_t n, long seq, const char *id, const char *ext);

/* The path of the project whose state directory is PROJ, from PROJ/project (malloc'd); its key when unrecorded. */
char *wf_state_project_path(const char *proj);

/* Remove everything below directory fd DFD, never following links: 0 or -1. */
int wf_remove_tree(int dfd);


/* Write NAME in the run directory atomically (mode 0600). */
int wf_run_write_file(struct wf_run *r, const char *name, const char *data, size_t len,
		      char *err, size_t n);

/*
 * The interrupted rule: the status readers show for state S (borrowed)
 * of a run that a live process holds (LIVE) or not: a "running" that no
 * process holds is "interrupted", no status at all is "new".
 */
const char *wf_run_status_shown(jv s, int live);

/* The driver, between steps: was a pause asked for?  Takes the request: 1 or 0. */
int wf_run_take_pause(struct wf_run *r);

/* Forget a pause request (one left for an earlier run that has ended). */
void wf_run_clear_pause(struct wf_run *r);

/* ---- state_journal.c: a run's journal: lines, the reducer, append, replay ---- */

struct wf_snapshot;		/* state_snapshot.c */

/* The reducer: state ST after event EV (both consumed; the caller owns the result). */
jv wf_state_apply(jv st, jv ev);

/* Event EV (consumed) as a journal line with its checksum and newline, malloc'd; *LEN its length. */
char *wf_journal_line(jv ev, size_t *len);

/* One journal line (N bytes, no newline) checked and parsed: the event (caller owns it), or invalid with WHY. */
jv wf_journal_parse(const char *line, size_t n, char *why, size_t whylen);

/* OBJ.KEY (OBJ borrowed) as a whole number 0..2^53, or -1 when it is not one. */
double wf_journal_count(jv obj, const char *key);

/*
 * The view V (consumed; from wf_run_view) as a condition after step ID
 * sees it, before its step-end is journaled: the result RES (borrowed) as
 * last and steps.ID, its vars set.  The caller owns it.
 */
jv wf_run_view_after(jv v, const char *id, jv res);

/*
 * Apply the journal from byte OFFSET to r->state (see state_journal.c);
 * REPAIR sets a torn last line aside; SNAP (may be NULL) is compared on
 * the way.  0 or 74 with ERR.
 */
int wf_journal_replay(struct wf_run *r, off_t offset, int repair, const struct wf_snapshot *snap,
		      char *err, size_t n);

/* Check the checksum of every journal line before byte END: 0 or 74 with ERR. */
int wf_journal_check_prefix(struct wf_run *r, off_t end, char *err, size_t n);

/* ---- state_snapshot.c: a run's snapshot: read, checked, written; loading a run ---- */

/*
 * state.json as read: the state it holds (without its bookkeeping keys),
 * where in the journal it stands, and whether it carries the checksum
 * wf_run_snapshot gives it (one edited by hand does not).
 */
struct wf_snapshot {
	int present;		/* there is a state.json */
	jv state;		/* invalid when absent or unreadable */
	char why[128];		/* why it is unreadable */
	int sealed;		/* its own checksum is right */
	off_t offset;		/* journal_offset: the journal bytes it reflects */
	long seq, lines;	/* last_seq, journal_line */
	char event_crc[9];	/* journal_crc: the checksum of the event ending at offset */
};

/* Read DIRFD's state.json into S (S->state: caller owns it, invalid when unusable). */
void wf_snapshot_read(int dirfd, struct wf_snapshot *s);

/*
 * Replaying at journal byte AT with STATE (borrowed) after event SEQ:
 * compare the snapshot S (may be NULL) if it stands there, once (*CHECKED).
 * The disagreement, malloc'd, or NULL.
 */
char *wf_snapshot_check(const struct wf_snapshot *s, off_t at, jv state, long seq, int *checked);

/* The disagreement of a snapshot S no event of a journal of SIZE bytes ends at, malloc'd. */
char *wf_snapshot_unmatched(const struct wf_snapshot *s, off_t size);

/* Fill r->state from the snapshot and the journal (FLAGS as for wf_run_open): 0 or an exit code. */
int wf_run_load(struct wf_run *r, int flags, char *err, size_t n);

/* ---- status.c: one run described for people (wf status NAME) ---- */

/*
 * The command that makes a stopped run NAME go on, for its state S
 * (borrowed): a plain resume only where that makes progress (an
 * exhausted loop, a step limit, a budget or a bad condition would stop
 * again).  Returns a new string, or NULL for a run waiting for an answer
 * (its pending question says what to do) or one that is done.
 */
char *wf_run_resume_hint(jv s, const char *name);

/* ---- plan.c: what a run would do ---- */

/* estimate.c: print on FP the estimate of a run of WF (borrowed) with O's variables and --budget, as text or (--json) JSON: 0, or 74. */
int wf_run_estimate(FILE *fp, jv wf, struct wf_run_opts *o);

/* Print on FP the path a run of WF (borrowed) would take, running nothing: 0, or 74. */
int wf_run_dry(FILE *fp, jv wf, struct wf_run_opts *o);

/* ---- http.c / model_config.c / model.c / provider*.c: providers ---- */

/*
 * http.c: the only user of libcurl; link it only into programs that talk
 * HTTP (wf-model, wf-pr).  One request per wf_http_perform:
 *  - https with verification always on ($WF_CA_FILE names an extra CA
 *    bundle for tests); plain http only to loopback hosts (127.0.0.0/8,
 *    localhost, ::1), never through a proxy; any other scheme refused;
 *  - redirects are never followed: a 3xx is WF_HTTP_ERR_REDIRECT;
 *  - connect and total timeouts, and for streams a stall limit (less than
 *    1 byte/s for STALL_S seconds);
 *  - at most MAX_BYTES of body (default 8 MiB), counted as it arrives;
 *  - with ON_DATA, a 2xx body goes to it chunk by chunk (return nonzero to
 *    stop: WF_HTTP_ERR_ABORTED) and is not kept; any other body is kept in
 *    the response for the error message;
 *  - *STOP set (by a signal handler) ends the transfer: WF_HTTP_ERR_STOPPED;
 *  - DEBUG or $WF_DEBUG_HTTP=1: request and response headers on stderr,
 *    credential headers and registered secrets shown as ***.
 */
struct wf_http_request {
	const char *method;		/* "GET", "POST", ...; NULL is GET */
	const char *url;
	const char *const *headers;	/* "Name: value", NULL-terminated, or NULL */
	const char *body;		/* NULL: none */
	size_t body_len;
	long connect_ms, total_ms;	/* 0: 10 s connect, no total limit */
	long stall_s;			/* 0: no stall limit */
	size_t max_bytes;		/* 0: 8 MiB */
	int (*on_data)(void *ctx, const char *p, size_t n);
	void *ctx;
	volatile int *stop;
	int debug;
	const char *ca_file;		/* the CA bundle to verify with, else $WF_CA_FILE, else the system's */
};
struct wf_http_response {
	long status;			/* 0 when no response arrived */
	jv headers;			/* {lower-case name: last value} */
	struct wf_buf body;		/* kept unless streamed to on_data */
	size_t body_bytes, max_bytes;
	long retry_after_ms;		/* Retry-After-Ms, else Retry-After (seconds or HTTP date); -1 if none */
	double first_byte_ms, total_ms;
	int curl_code;
	char error[512];		/* why, for every result but WF_HTTP_OK; secrets masked */
};
enum {
	WF_HTTP_OK = 0,			/* a response (any status but 3xx): see status */
	WF_HTTP_ERR_URL,		/* refused before sending: URL, scheme, plain http to a remote host */
	WF_HTTP_ERR_CONNECT,		/* DNS, connect, TLS handshake, reset: worth a retry */
	WF_HTTP_ERR_TLS_VERIFY,		/* the certificate did not verify: never retried */
	WF_HTTP_ERR_TIMEOUT,		/* connect, total or stall timeout */
	WF_HTTP_ERR_TOO_BIG,		/* the body passed max_bytes */
	WF_HTTP_ERR_REDIRECT,		/* a 3xx, not followed */
	WF_HTTP_ERR_ABORTED,		/* on_data asked to stop */
	WF_HTTP_ERR_STOPPED,		/* *stop was set */
	WF_HTTP_ERR_PARTIAL		/* the connection ended in the middle of the body */
};

/* Perform RQ; RS is always filled (free it with wf_http_response_free). */
int wf_http_perform(const struct wf_http_request *rq, struct wf_http_response *rs);
void wf_http_response_free(struct wf_http_response *rs);

/* Response header NAME (lower case), borrowed from RS, or NULL. */
const char *wf_http_header(const struct wf_http_response *rs, const char *name);

/*
 * The wait before retry number RETRY (0-based): the server's
 * RETRY_AFTER_MS (>= 0) clamped to retry_after_max_ms, else
 * min(base * 2^RETRY, cap) less up to 25% jitter.
 */
long wf_http_backoff_ms(const struct wf_http_policy *p, int retry, long retry_after_ms);

/* Sleep MS, waking early when *STOP is set (then -1). */
int wf_http_sleep_ms(long ms, volatile int *stop);

/* model.c: the cross-references of REG (borrowed) into DIAG; 1 when one does not resolve. */
int wf_models_check_references(jv reg, struct wf_diag *diag);

/* ---- git.c / forge.c / forge_pr.c / pr*.c ---- */

/*
 * git.c: git run as a program with an argument vector, never through a
 * shell.  $WF_GIT names the program (default: git on PATH); it runs with
 * GIT_TERMINAL_PROMPT=0, LC_ALL=C, no editor, stdin from INPUT or
 * /dev/null, a timeout of $WF_GIT_TIMEOUT seconds (600), and our
 * environment minus secret variables other than GH_TOKEN/GITHUB_TOKEN.
 */
/* When set (by a signal handler), a running git is stopped. */
extern volatile int *wf_git_stop;

/*
 * Run git ARGS (NULL-terminated, without "git") in CWD, with INPUT[0..INLEN)
 * on stdin when INPUT is not NULL.  OUT and ERR (either may be NULL) get
 * stdout and stderr.  Returns git's exit status, 124 on timeout, 130 when
 * stopped, 127 (with a message in ERR) when git cannot be run.
 */
int wf_git_run(const char *cwd, const char *const args[], const char *input, size_t inlen,
	       struct wf_buf *out, struct wf_buf *err);

/* The first line git ARGS prints, trimmed, when it succeeds and prints one; malloc'd or NULL. */
char *wf_git_line(const char *cwd, const char *const args[]);

/* What git's stderr ERR says went wrong, in one line (no hints or progress); malloc'd. */
char *wf_git_error(const struct wf_buf *err);

/* Is NAME a branch name git accepts (git check-ref-format), and never an option? */
int wf_git_branch_name_ok(const char *cwd, const char *name);

/* The top of the work tree CWD is in, the current branch (NULL when detached), a commit's sha, a remote's URL; malloc'd or NULL. */
char *wf_git_toplevel(const char *cwd);
char *wf_git_current_branch(const char *cwd);
char *wf_git_rev(const char *cwd, const char *rev);
char *wf_git_remote_url(const char *cwd, const char *remote);

/* 1 when the work tree has changes (with UNTRACKED: untracked files count), 0 when clean, -1 on error. */
int wf_git_dirty(const char *cwd, int untracked);

/* 1 when commit A is an ancestor of B (or equal), 0 when not, -1 on error. */
int wf_git_is_ancestor(const char *cwd, const char *a, const char *b);

/* The branch REMOTE's HEAD names (origin/HEAD, ls-remote, then main/master/trunk); malloc'd or NULL. */
char *wf_git_default_base(const char *cwd, const char *remote);

/* OWNER and REPO from "OWNER/REPO" or a remote URL (https, ssh://, scp-like); 0 or -1. Malloc'd. */
int wf_git_parse_slug(const char *slug, char **owner, char **repo);
int wf_git_parse_remote(const char *url, char **owner, char **repo);

/*
 * The client's pieces that forge_pr.c builds its verbs on.  One request
 * with retries (its response, any status, in *RS); an error status as an
 * exit code and a message naming WHAT; METHOD PATH (relative to the API,
 * or a full URL on its origin) with the JSON BODY (consumed; null for
 * none), whose parsed answer goes to *OUT (caller owns), a status >= 400
 * being an error unless listed in OK_STATUSES (0-terminated); every page
 * of the list at PATH.
 */
int wf_forge_send(struct wf_forge *f, const char *method, const char *url, const char *body,
		  const char *accept, struct wf_http_response *rs, char *err, size_t errlen);
int wf_forge_status_error(struct wf_forge *f, const struct wf_http_response *rs, const char *what,
			  char *err, size_t errlen);
int wf_forge_json(struct wf_forge *f, const char *method, const char *path, jv body, const char *what,
		  const long *ok_statuses, jv *out, long *status, struct wf_http_response *keep,
		  char *err, size_t errlen);
int wf_forge_list_all(struct wf_forge *f, const char *path, const char *what, jv *out, char *err, size_t errlen);

/* The forge's own words from its parsed error BODY (borrowed); malloc'd, secrets masked. */
char *wf_forge_body_message(jv body);

/* S percent-encoded for a query value or a path segment (KEEP_SLASH: '/' stays); malloc'd. */
char *wf_forge_url_encode(const char *s, int keep_slash);

/*
 * pr.c: what the git and pull-request actions share.  Each action opens
 * a context with wf_pr_ctx_open (REQ consumed: the context owns it) and
 * returns wf_pr_ctx_close(c, r) (R consumed and returned, with the
 * summed model usage; the context and its request freed).  Helpers that
 * fail leave the reason in c->err.
 */
#define WF_PR_DIFF_MAX (100 * 1024)	/* the most of a diff a prompt carries */
struct wf_pr_ctx {
	jv req;			/* the step request (owned) */
	jv step;		/* req.step (owned) */
	const char *id;		/* the step id */
	const char *run_name;
	const char *run_dir;	/* NULL when run alone */
	char *cwd;		/* run.cwd, or "." */
	long iteration;
	char stamp[40];		/* the run's start, compact: this run, not an earlier one of the same name */
	long execution;		/* steps finished before this one: the same when a crashed step runs again */
	jv usage;		/* summed over this step's model calls, or null */
	char err[2048];
};
void wf_pr_ctx_open(struct wf_pr_ctx *c, jv req);
jv wf_pr_ctx_close(struct wf_pr_ctx *c, jv r);

/* The step's text field KEY, substituted (wf_step_text); *BAD and c->err on a strict-mode error. */
char *wf_pr_text(struct wf_pr_ctx *c, const char *key, int *bad);

/* vars.NAME: a string (borrowed through the request) or NULL; any value (owned); a boolean (true, "true", "yes", 1) or -1 when unset. */
const char *wf_pr_var_str(struct wf_pr_ctx *c, const char *name);
jv wf_pr_var(struct wf_pr_ctx *c, const char *name);
int wf_pr_var_bool(struct wf_pr_ctx *c, const char *name);

/* The PR this run works on: vars.pr_number (a number or a numeric string); 0 if none. */
long wf_pr_number(struct wf_pr_ctx *c);

/* TEXT cut to MAX bytes (at a line end when possible) with a note; malloc'd. */
char *wf_pr_clip(const char *text, size_t max);

/* The first 7 characters of SHA ("?" for NULL), in BUF. */
const char *wf_pr_short_sha(const char *sha, char buf[16]);

/* "wf:RUN/STEP/ITERATION run-STAMP.N": the hidden marker of this execution's posts; malloc'd. */
char *wf_pr_marker(struct wf_pr_ctx *c);

/* steps/WHAT-STEP-STAMP-N.EXT in the run directory (NULL outside a run); malloc'd. */
char *wf_pr_saved_path(struct wf_pr_ctx *c, const char *what, const char *ext);

/* Write TEXT to PATH (NULL: nothing) atomically, warning on failure; 0 or -1. */
int wf_pr_save_file(const char *path, const char *text);

/*
 * Run wf-pr -C CWD ARGS with INPUT on stdin.  Returns its JSON answer
 * (owned by the caller), or an invalid jv with *CODE (wf-pr's exit
 * status, never 0) and c->err.
 */
jv wf_pr_forge(struct wf_pr_ctx *c, const char *const args[], const char *input, int *code);

/* Ask the step's model (its model: field, else the run's); the answer (malloc'd), or NULL with *CODE (never 0) and c->err. */
char *wf_pr_ask(struct wf_pr_ctx *c, const char *system, const char *prompt, int *code);

/* git ARGS in c->cwd: 0, or git's status with c->err "WHAT: why". */
int wf_pr_git(struct wf_pr_ctx *c, const char *what, const char *const args[], const char *input, struct wf_buf *out);

/* git's stdout of ARGS, or "" when it fails; malloc'd. */
char *wf_pr_git_text(struct wf_pr_ctx *c, const char *const args[]);

/* The work tree is a git repository (with an 'origin' remote when NEED_ORIGIN): 0, or -1 with *R failed. */
int wf_pr_need_repo(struct wf_pr_ctx *c, jv *r, int need_origin);

/* The base branch: the step's base:, vars.base, origin's HEAD; malloc'd, or NULL with *R failed. */
char *wf_pr_base(struct wf_pr_ctx *c, jv *r);

/* The current branch (malloc'd), or NULL with *R failed "HEAD is detached: check out a branch THEN". */
char *wf_pr_branch(struct wf_pr_ctx *c, jv *r, const char *then);

/* Push BRANCH to origin, never forced; *PUSHED 1 when the remote moved.  0, or git's status with c->err. */
int wf_pr_push(struct wf_pr_ctx *c, const char *branch, int *pushed);

/*
 * The actions (wf-workflow(5)), each in the file of its family:
 * pr_git.c commit-push and sync, pr_open.c create-pr and merge-pr,
 * pr_review.c review-pr and self-review, pr_changes.c make-changes.
 * Each takes the step request and the result so far (both consumed) and
 * returns the result.  Forge calls go through a wf-pr child.
 */
jv wf_action_create_pr(jv req, jv r);
jv wf_action_review_pr(jv req, jv r);
jv wf_action_make_changes(jv req, jv r);
jv wf_action_commit_push(jv req, jv r);
jv wf_action_self_review(jv req, jv r);
jv wf_action_merge_pr(jv req, jv r);
jv wf_action_sync(jv req, jv r);

/*
 * pr_git.c: stage PATHS (borrowed; null: everything), commit with
 * MESSAGE (NULL: the model writes one), push BRANCH; *R (consumed and
 * replaced) gets effects and vars, REPORT a sentence.  0, or an exit
 * code with c->err.
 */
int wf_pr_commit_and_push(struct wf_pr_ctx *c, jv *r, const char *branch, const char *message, jv paths,
			  struct wf_buf *report);

#endif
