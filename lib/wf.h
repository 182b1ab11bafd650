/*
 * wf.h: libwf as the commands in cmd/ see it.  The library's own
 * declarations, shared between files of lib/ only, are in wf_priv.h,
 * with the map of its layers; three rooms keep a header of their own
 * (driver.h, the driver; cond_lang.h, the condition language;
 * provider_wire.h, one call to a provider).  Every exported name starts
 * with wf_; everything else in lib/ is static.
 *
 * Ownership: JSON values are jq's jv, and every function that takes or
 * returns one says who owns it.  A jv parameter is consumed unless the
 * comment says "borrowed"; a jv returned is the caller's.
 *
 * Errors come back in one of four ways, and each function's comment says
 * which:
 *  - an exit status: 0, or a code of the table below with a one-line
 *    message in the caller's ERR buffer (char *err, size_t n), which the
 *    caller prints once as "PROG: MSG" (state, runs, forge, providers);
 *  - 0 or -1 with errno set, as a system call does (files, processes);
 *  - every problem gathered in a struct wf_diag, each "FILE:LINE:COL:
 *    what (what to do)", and -1 or an invalid jv returned; the caller
 *    prints them all (YAML, workflows, models.yaml, conditions);
 *  - a result rather than an error: an action returns a step result with
 *    status "failed" and its exit_code, wf_model_chat {error, exit_code}.
 * The library prints warnings on stderr but exits only when memory runs
 * out or the build is broken (70); the commands decide everything else.
 */
#ifndef WF_H
#define WF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <jv.h>

#define WF_VERSION "0.1.0"

/* Exit statuses: one table for every program (wf(7)). */
enum {
	WF_EXIT_OK = 0,		/* done; a condition is true */
	WF_EXIT_FAIL = 1,	/* a step failed; a condition is false */
	WF_EXIT_USAGE = 2,
	WF_EXIT_WAIT = 3,	/* paused or waiting for a human */
	WF_EXIT_LIMIT = 4,	/* loop cap, step limit, budget, timeout */
	WF_EXIT_DATA = 65,	/* bad workflow, YAML, JSON or condition */
	WF_EXIT_NOINPUT = 66,	/* no such workflow, file or run */
	WF_EXIT_UNAVAILABLE = 69,
	WF_EXIT_SOFTWARE = 70,
	WF_EXIT_IO = 74,
	WF_EXIT_BUSY = 75,	/* locked, or rate-limited after retries */
	WF_EXIT_DENIED = 77,
	WF_EXIT_CONFIG = 78,
	WF_EXIT_INT = 130,
	WF_EXIT_TERM = 143
};

/* ---- util.c: messages, memory, buffers, files ---- */

/* Set wf_progname from argv[0] (its basename). */
void wf_set_progname(const char *argv0);

/* Print "PROG: MSG" on stderr; a message ending in ':' gets strerror(errno). */
void wf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wf_vwarn(const char *fmt, va_list ap);

void *wf_xmalloc(size_t n);
void *wf_xcalloc(size_t n, size_t size);
void *wf_xrealloc(void *p, size_t n);
char *wf_xstrdup(const char *s);
char *wf_xstrndup(const char *s, size_t n);
char *wf_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A growable byte buffer, always NUL-terminated after any add. */
struct wf_buf {
	char *s;
	size_t len, cap;
};
void wf_buf_add(struct wf_buf *b, const void *p, size_t n);
void wf_buf_addstr(struct wf_buf *b, const char *s);
void wf_buf_addch(struct wf_buf *b, char c);
void wf_buf_printf(struct wf_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void wf_buf_reset(struct wf_buf *b);
void wf_buf_free(struct wf_buf *b);

/* Take the string out of B (caller frees), leaving B empty. */
char *wf_buf_detach(struct wf_buf *b);
/* Append S to B with every control character made visible (\n, \t, \e, \xNN, \u0080...): one printable line. */
void wf_buf_add_visible(struct wf_buf *b, const char *s);

/*
 * Read all of FD (or the file at PATH) into OUT, at most MAX bytes.
 * Returns 0, or -1 with errno set (EFBIG when the input is larger than MAX).
 */
int wf_read_fd(int fd, size_t max, struct wf_buf *out);
int wf_read_file(const char *path, size_t max, struct wf_buf *out);

/* Flush and check FP (stdout): 0, or -1 after a warning naming NAME. */
int wf_fshut(FILE *fp, const char *name);

/* ISO (as wf_now_iso writes it) as a local time "YYYY-MM-DD HH:MM:SS" (TZ honoured); "-" when it is not one. */
void wf_local_time(const char *iso, char out[32]);

/* A duration of MS milliseconds for people: "<1s", "4s", "2m03s", "1h02m", "3d04h"; "-" when negative. */
void wf_human_ms(double ms, char out[24]);

/* A duration such as "90s", "30m", "12h", "7d", "2w" (decimals allowed) in milliseconds: 0, or -1. */
int wf_parse_duration(const char *s, double *ms);

/* Parse a whole decimal integer in [MIN, MAX]; 0 ok, -1 otherwise. */
int wf_parse_long(const char *s, long min, long max, long *out);

/* Levenshtein distance, for "did you mean" hints. */
int wf_edit_distance(const char *a, const char *b);

/* Is NAME a safe single path component for runs and workflows ([A-Za-z0-9._-], no leading '.' or '-', <= 128)? */
int wf_name_valid(const char *name);

/* Collected diagnostics: every problem in one report, each message one printable line (control characters become ' ' or '?'). */
struct wf_diag {
	char **msgs;
	size_t n, cap;
};
void wf_diag_add(struct wf_diag *d, const char *file, int line, int col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Print each message as "PROG: MSG" on stderr. */
void wf_diag_print(const struct wf_diag *d);
void wf_diag_free(struct wf_diag *d);

/* ---- paths.c: where wf looks (every string malloc'd; the caller frees it) ---- */

/* NAME in the directory of the running program (whether or not it exists); NULL when /proc/self/exe cannot be read. */
char *wf_own_file(const char *name);

/* ${WF_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/wf}. */
char *wf_state_root(void);

/* ---- json.c: jv helpers ---- */

/*
 * Parse one JSON document from BUF (LEN bytes).  On error returns an
 * invalid jv and writes a message (with line:col when known) into ERR.
 */
jv wf_json_parse(const char *buf, size_t len, char *err, size_t errlen);

/* Read one JSON document from FD, at most MAX bytes; as wf_json_parse. */
jv wf_json_read_fd(int fd, size_t max, char *err, size_t errlen);

/* Print V compactly with a newline to FP; consumes V.  0 or -1. */
int wf_json_print(FILE *fp, jv v);

/*
 * The value at a dotted PATH in V (consumed): object members by name,
 * array elements by number (vars.i, steps.s1.output, trail.0); the
 * caller owns it, invalid when there is nothing there.
 */
jv wf_jv_path(jv v, const char *path);

/* Borrowed lookups on OBJ (borrowed).  NULL / DEF when missing or wrong type. */
const char *wf_jv_str(jv obj, const char *key);
/* Render a scalar as text (strings as is, numbers canonical, true/false, null as ""); V borrowed, the caller frees the text. */
char *wf_jv_text(jv v);
double wf_jv_num(jv obj, const char *key, double def);
int wf_jv_bool(jv obj, const char *key, int def);

/* OBJ[KEY] (OBJ borrowed); jv_null() when absent. */
jv wf_jv_get(jv obj, const char *key);
/* KEY[0..LEN) as a jv string, shared with earlier asks for the same short key; the caller owns it. */
jv wf_jv_key(const char *key, size_t len);

/* ---- action.c: the table of built-in actions ---- */

/* The type of a workflow field, for the schema (wf-workflow(5)). */
enum wf_ftype {
	WF_F_STR,	/* text; a number or boolean is taken as its text */
	WF_F_INT,	/* whole number >= 0 */
	WF_F_NUM,	/* number >= 0 */
	WF_F_BOOL,	/* true or false only */
	WF_F_STEP,	/* the id of a step */
	WF_F_DURATION,	/* seconds, or "500ms", "30s", "5m", "2h" */
	WF_F_MAP,	/* mapping of names to scalars */
	WF_F_STRLIST,	/* a list of texts, or one text */
	WF_F_ANY,
	WF_F_RETRY,	/* {attempts, delay} */
	WF_F_BUDGET,	/* {tokens, usd} */
	WF_F_OBJECT,	/* a mapping whose members its reader checks */
	WF_F_RECORDS,	/* a mapping of names to mappings */
	WF_F_LIST,	/* a list of anything */
	WF_F_MODEL,	/* a model's name, or its description as a mapping */
	WF_F_VARS,	/* a run's variables: as WF_F_MAP, and lists too (review-pr's comments) */
	WF_F_INPUTS	/* a workflow's inputs: names to {description, default} */
};

/* One key of the schema; a list of them ends with a NULL name. */
struct wf_field {
	const char *name;
	enum wf_ftype type;
	const char *choices;	/* for WF_F_STR: "a|b|c", or NULL */
};

/* The built-in actions: the index of each in wf_actions[]. */
enum wf_action_id {
	WF_ACT_CUSTOM = -1,	/* not built in: an executable wf-action-NAME */
	WF_ACT_SHELL, WF_ACT_AI_PROMPT, WF_ACT_SWITCH_MODEL, WF_ACT_LOOP,
	WF_ACT_CONDITIONAL, WF_ACT_INTERACTIVE, WF_ACT_LOAD_VARIABLE,
	WF_ACT_SET_VARIABLE, WF_ACT_CREATE_PR, WF_ACT_REVIEW_PR,
	WF_ACT_MAKE_CHANGES, WF_ACT_COMMIT_PUSH, WF_ACT_SELF_REVIEW,
	WF_ACT_MERGE_PR, WF_ACT_SYNC, WF_ACT_WORKFLOW, WF_ACT_PARALLEL,
	WF_ACT_COUNT
};

/* What an action touches and how it runs (struct wf_action's flags). */
enum {
	WF_ACTION_CONSENT = 1 << 0,	/* runs a command or changes something outside the run: asks first */
	WF_ACTION_MODEL = 1 << 1,	/* may talk to a model */
	WF_ACTION_GIT = 1 << 2,		/* needs a git repository */
	WF_ACTION_FORGE = 1 << 3,	/* talks to the forge (pull requests) */
	WF_ACTION_VERDICT = 1 << 4,	/* its result may carry "approved" */
	WF_ACTION_DRIVER = 1 << 5	/* wf-run decides it in-process; wf-step does not run it */
};

/*
 * What running a step of an action twice does, for a step in doubt
 * (wf-workflow(5), "Steps in doubt"): COMMAND, the step's 'idempotent'
 * decides (default true); LOCAL, no effect outside the run (safe);
 * CHECKS, it looks before it acts (a marker, the remote's state) so a
 * second run finds the first one's work (safe).
 */
enum wf_repeat { WF_REPEAT_COMMAND, WF_REPEAT_LOCAL, WF_REPEAT_CHECKS };

struct wf_action {
	const char *name;
	unsigned flags;			/* WF_ACTION_* */
	enum wf_repeat repeat;
	const char *required;		/* the keys a step must have, space-separated */
	struct wf_field fields[12];	/* the keys it takes besides the common ones */
};

/* The table, indexed by enum wf_action_id; a NULL name ends it. */
extern const struct wf_action wf_actions[WF_ACT_COUNT + 1];

/* NAME's index in wf_actions[], or WF_ACT_CUSTOM (NAME may be NULL). */
enum wf_action_id wf_action_lookup(const char *name);

/* Does the built-in ACTION talk to a model? */
int wf_action_uses_model(const char *name);

/* A's flags as words joined by commas ("consent,model,..."), or "-" for none, in BUF of N bytes (160 hold them all). */
void wf_action_flags_text(const struct wf_action *a, char *buf, size_t n);

/* Row A as {name, flags: [words], required: [keys], keys: {...}}; caller owns the result. */
jv wf_action_json(const struct wf_action *a);

/* ---- workflow.c: finding and loading workflows ---- */

/* Read FILE and wf_workflow_parse it; I/O errors go to DIAG with *CODE 66/74. */
jv wf_workflow_load(const char *file, struct wf_diag *diag, int *code);

/*
 * Find the workflow ARG names (a path, or a name along the search path,
 * wf-workflow(5)) and load it, with every problem printed on stderr: 0 and *WF the canonical workflow (the caller owns it), or the
 * exit status with *WF invalid.
 */
int wf_workflow_open(const char *arg, jv *wf);

/*
 * As wf_workflow_open, for a caller that only asks whether ARG is valid
 * (wf-parse --check): the same checks and messages, 0 with its number of
 * steps in *STEPS, or the exit status.  Skips what only the canonical
 * output needs (the file's sha256).
 */
int wf_workflow_validate(const char *arg, int *steps);

/*
 * A canonical workflow (wf-parse's output) read from standard input and
 * checked against the schema: it (the caller owns it), or invalid with
 * ERR and 65 as *CODE (74 when it cannot be read).
 */
jv wf_workflow_stdin(int *code, char *err, size_t n);

/*
 * Every workflow file along the search path: [{name, description, steps,
 * path, error, shadowed}], in search order; a broken file is listed with
 * its first error, and a name already seen earlier is marked shadowed.
 */
jv wf_workflow_list(void);

/* ---- workflow_schema.c: the tables a workflow is checked against ---- */

/* The keys of a step that name a step to go to, NULL-terminated ('to' only in a loop). */
extern const char *const wf_jump_keys[];

/*
 * The schema as one object (wf-parse --schema): {workflow, step, retry,
 * budget} keys, {actions} from the action table, {aliases}, the members
 * wf-parse adds ({canonical}) and a step request's ({request}), and the
 * variable {names} a workflow may not set or that hold secrets.  Caller
 * owns it.
 */
jv wf_workflow_schema(void);

/* ---- workflow_json.c: canonical JSON and step requests ---- */

/*
 * The same for a step request (wf-json(7)), REQ borrowed: its "step"
 * against its action's schema (jump targets are not checked: the other
 * steps are not at hand), and the types of "vars", "steps", "model",
 * "run" and the other members wf-step reads.  Nothing is run.
 */
int wf_step_request_check(jv req, char *err, size_t errlen);

/* ---- cond.c (cond_lex.c, cond_jq.c, cond_lang.h inside): conditions ---- */

/*
 * Evaluate EXPR over the context CTX (borrowed; wf-cond(1)).  Returns 0
 * with *RESULT 0 or 1; WF_EXIT_DATA with a message in ERR and the 1-based
 * column in *COL (0 if none); WF_EXIT_LIMIT when a jq: condition exceeded
 * its CPU, memory or time limits; WF_EXIT_SOFTWARE when its evaluator
 * could not be started.  Never prints, never exits; reentrant.  The first
 * jq: condition forks one evaluator child that serves the process's later
 * ones and is gone when the process is (call it from a single-threaded
 * process).
 */
int wf_cond_eval(const char *expr, jv ctx, int *result, char *err, size_t errlen, int *col);

/* Check EXPR's syntax only; returns as wf_cond_eval. */
int wf_cond_check(const char *expr, char *err, size_t errlen, int *col);

/* ---- subst.c: ${...} in text fields ---- */

/*
 * TEXT with ${name}, ${steps.ID.output}, ... replaced from CTX (borrowed).
 * Undefined names become "" and are reported through WARN (may be NULL);
 * when STRICT, returns NULL with a message in ERR instead.  Malloc'd.
 */
char *wf_subst(const char *text, jv ctx, int strict, struct wf_diag *warn, char *err, size_t errlen);

/* ---- proc.c: children without a shell ---- */

/*
 * Every child wf_spawn starts dies (SIGKILL) when the process that started
 * it dies.  When set, wf_spawn_group_hook is told of each new process
 * group (WF_SPAWN_PGRP) right after the child starts: wf-step --serve
 * reports them to wf-run, which journals them (step-pgid).
 */
extern void (*wf_spawn_group_hook)(pid_t pgid);

/* The start time of process PID (field 22 of /proc/PID/stat), 0 when unknown. */
unsigned long long wf_proc_start(pid_t pid);

/*
 * The program's one stop flag: 0, or the number of the last signal that
 * asked it to stop.  wf_catch_signals makes SIGINT and SIGTERM (and with
 * WF_CATCH_HUP, SIGHUP) set it, and ignores SIGPIPE; pass &wf_stop as the
 * stop of wf_io_opts, http requests and the like, and clear it to go on.
 */
extern volatile int wf_stop;
enum { WF_CATCH_HUP = 1 };
void wf_catch_signals(int flags);

/* ---- secret.c: secret names, reserved names, the one masker ---- */

/*
 * Is NAME a variable a workflow may not set, because it changes what a
 * command runs or how the shell reads it (PATH, HOME, IFS, LD_*, ...;
 * wf-workflow(5))?
 */
int wf_env_name_reserved(const char *name);

/*
 * Add the argument of --var, ARG ("NAME=VALUE"), to *VARS (an object the
 * caller owns): 0; 2 when it is not NAME=VALUE, 65 when NAME is reserved
 * (wf_env_name_reserved), each after a message.
 */
int wf_var_arg(jv *vars, const char *arg);

/* Register the value of every secret-named variable in our environment (done on first use anyway). */
void wf_secret_add_env(void);

/* TEXT[0..LEN) with every registered secret replaced by ***; malloc'd, NUL-terminated, NULs as spaces. */
char *wf_redact(const char *text, size_t len);

/* ---- step.c: running one step ---- */

/*
 * Run the step request REQ (consumed; wf-json(7)) and return its result:
 * {id, status ok|failed|waiting, exit_code, output, vars, error?, files?,
 * started, ended, duration_ms}.  Never exits; failures are results.
 */
jv wf_step_execute(jv req);

/* ---- result.c: building a step result ---- */

/*
 * Each takes the result R (consumed) and returns it (owned by the
 * caller); the request is borrowed.  wf_result_new: a fresh "ok" result
 * for step request REQ, {id, status, exit_code 0, output "", vars {},
 * started}.  wf_result_fail: status failed, exit_code CODE and the error.
 * wf_result_waiting: status waiting with the question PENDING (consumed).
 */
jv wf_result_new(jv req);
jv wf_result_fail(jv r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
jv wf_result_waiting(jv r, jv pending);

/* Does wf-step run built-in action ID itself (all but the driver's, WF_ACTION_DRIVER)? */
int wf_step_runs(enum wf_action_id id);

/* ---- consent.c: what may run without asking ---- */

/* Trust HASH (recording PATH beside it): 0, or 74 or 78 (no configuration directory) with ERR. */
int wf_trust_add(const char *hash, const char *path, char *err, size_t n);

/*
 * What trusting canonical workflow WF (borrowed) pins: its file's hash,
 * or, when steps run programs from actions/ beside the file, a hash of
 * that and of each such program, so that replacing one asks again.
 * malloc'd "sha256:HEX"; NULL when WF has no hash.
 */
char *wf_trust_key(jv wf);

/* The project's configuration file, whose auto-approve patterns count only once trusted. */
#define WF_PROJECT_CONFIG ".wf/config.yaml"

/* Trust the content of configuration FILE as it is now: 0, or 66, 74 or 78 with ERR. */
int wf_trust_config(const char *file, char *err, size_t n);

/* ---- runs.c: runs in lists (wf status, wf runs) ---- */

struct wf_run;

/* PROJ's newest LIMIT (0: all) runs, current and past, newest first (only WORKFLOW's when not NULL); the caller owns the array. */
jv wf_runs_collect(const char *proj, const char *workflow, int limit);

/* What a run is in a list (wf status, wf runs; wf-json(7) "Run list"), R borrowed, LIVE when its runner is; the caller owns it. */
jv wf_run_summary(struct wf_run *r, int live);

/* How wf_run_print_list prints: a header line; tab-separated raw values for scripts; wf runs' columns. */
enum { WF_LIST_HEADER = 1, WF_LIST_RAW = 2, WF_LIST_HISTORY = 4, WF_LIST_ALL = 8 };

/*
 * Print LIST (borrowed, from wf_run_list or wf_runs_collect) on FP, one
 * run a line: name, workflow, status, step, started, duration, cost (wf
 * status), or id, name, workflow, status, started, duration, steps,
 * tokens, cost (WF_LIST_HISTORY), in aligned columns with local times
 * and short durations, or raw (WF_LIST_RAW); WF_LIST_ALL adds the
 * project last.
 */
void wf_run_print_list(FILE *fp, jv list, int flags);

/*
 * LIST (consumed, returned) with the current runs of project state PROJ,
 * each as wf_run_summary gives it (one that cannot be read as "damaged",
 * with its "error": never hidden), only WORKFLOW's when not NULL, each
 * naming PATH as its "project" when not NULL.
 */
jv wf_runs_current(jv list, const char *proj, const char *workflow, const char *path);

/*
 * This project's current runs (with EVERY, every project's, each with
 * its "project") into *OUT (the caller owns it), newest first, as
 * wf-state list --json shows them: 0 (no state yet is no runs), or an
 * exit code with ERR.
 */
int wf_run_list(int every, jv *out, char *err, size_t n);

/* Print GONE (consumed), the past runs wf_history_gc removed (or, with DRY, would): one line each. */
void wf_gc_print(FILE *fp, jv gone, int dry);

/* LIST (consumed) newest first: the later start, then the higher id, then the name; the caller owns the array returned. */
jv wf_runs_sorted(jv list);

/* ---- state_history.c: past runs ---- */

/*
 * Prune PROJ's history: a completed or failed past run goes when it is
 * beyond the KEEP newest (KEEP < 0: no such rule) or started more than
 * OLDER_MS ago (0: no such rule); nothing else ever does.  With DRY
 * nothing is removed.  *REMOVED (the caller owns it) lists what went or
 * would go.  0, or 74 with ERR.
 */
int wf_history_gc(const char *proj, long keep, double older_ms, int dry, jv *removed, char *err, size_t n);

/* ---- state.c: the plain-file state store: directory, runs, view, pause request ---- */

/*
 * An open run directory PROJ/runs/NAME, or PROJ/history/ID-NAME for a past
 * run (wf-json(7) "Files"); PROJ is ROOT/projects/KEY.
 */
struct wf_run {
	char *name, *dir, *proj;
	int past;		/* a past run, from the history: never written */
	long id;		/* a past run's number */
	int dirfd, lockfd, journalfd;
	jv state;		/* snapshot + replayed journal: the run as it is now */
	long seq;		/* seq of the last journal event */
	off_t journal_size;	/* bytes of history.jsonl that hold whole events */
	int events_since_snapshot;
	off_t snapshot_at, snapshot_len;	/* where the last snapshot written stands, and its size */
	long lines;		/* journal lines up to journal_size */
	char last_crc[9];	/* checksum of the last event, as its line has it */
	/*
	 * Set when state.json did not agree with the journal (or could not
	 * be read) and r->state was rebuilt from the journal alone: what was
	 * wrong, e.g. "state.json disagrees with history.jsonl (...)".  A
	 * writing open has already warned and rewritten state.json.
	 */
	char *snapshot_problem;
};
enum {
	WF_RUN_CREATE = 1,	/* create the run directory if missing */
	WF_RUN_LOCK = 2,	/* take the run's flock and record our pid (75 if held) */
	WF_RUN_WRITE = 4,	/* open the journal for appending; set aside a torn tail */
	WF_RUN_LOCK_SHORT = 8,	/* take the flock briefly, without claiming the run */
	WF_RUN_BARE = 16,	/* read neither snapshot nor journal (fsck, rm --force, probes) */
	WF_RUN_FRESH = 32	/* wf_run_open_sub: remove an earlier sub-run of the step first */
};

/* Create (if CREATE) and check ROOT and ROOT/projects: 0, 77 unsafe, 74 I/O; message in ERR. */
int wf_state_prepare(const char *root, int create, char *err, size_t n);

/*
 * The state of the working directory's project, checked (made with
 * CREATE), runs of the layout before projects moved into their projects
 * first: 0 with *PROJ (the caller frees it), or an exit code with ERR
 * (66 when there is no state yet).
 */
int wf_state_open_project(int create, char **proj, char *err, size_t n);

/* ROOT/projects/KEY of the project at PATH (NULL: the working directory's); NULL if the cwd is unreadable. */
char *wf_state_project(const char *path);

/*
 * Open run NAME with FLAGS; r->state is the snapshot plus the journal
 * replayed after it.  The snapshot never overrides the journal: it is
 * used only when it carries its own checksum and ends where the journal
 * has the event it names, and the events after it follow its last_seq;
 * otherwise the state is rebuilt from the whole journal and
 * r->snapshot_problem says what disagreed (a writing open warns and
 * rewrites state.json, a reading one writes nothing).  Every line's
 * checksum is checked.  Returns 0, 66 no such run, 75 locked (ERR names
 * the holder), 77 unsafe permissions or a symlink, 74 I/O or a damaged
 * journal.
 */
int wf_run_open(const char *name, int flags, struct wf_run **out, char *err, size_t n);

/*
 * wf_run_open in the project state directory PROJ.  NAME may also be the
 * number of a past run (when no current run has that name): it opens
 * PROJ/history/ID-NAME, read-only (a WF_RUN_WRITE open is 66).
 */
int wf_run_open_in(const char *proj, const char *name, int flags, struct wf_run **out, char *err, size_t n);
void wf_run_close(struct wf_run *r);

/* Remove the run directory and everything in it (never following links). */
int wf_run_remove(struct wf_run *r, char *err, size_t n);

/*
 * wf-state rm --force: remove run NAME without reading its state, so a
 * damaged run can go; a link planted as its directory is removed, never
 * followed.  0, 65, 66, 75 while a process holds it, 77, 74 with ERR.
 */
int wf_run_remove_forced(const char *name, char *err, size_t n);

/* Is run R locked by a live wf-run (or its step) right now? */
int wf_run_is_live(struct wf_run *r);

/*
 * The run's public view (wf-json(7) "Run state"), the one JSON every
 * reader shows: wf-state show, status --json and get, wf-cond --state,
 * and the driver's condition context.  r->state without the snapshot's
 * bookkeeping, with the run's name and dir, its status as
 * wf_run_status_shown gives it for LIVE.  The caller owns it.
 */
jv wf_run_view(struct wf_run *r, int live);

/*
 * wf pause: ask the live process running R to stop before its next step.
 * 0; 66 when no process runs it; 74; message in ERR.
 */
int wf_run_request_pause(struct wf_run *r, char *err, size_t n);

/* ---- state_journal.c: a run's journal: lines, the reducer, append, replay ---- */

/*
 * Append event EV (consumed; seq and time are added) as one checksummed
 * line with a single write, fdatasync when DURABLE, and apply it to
 * r->state.  A failed write is truncated away: 0 or 74 with ERR.
 */
int wf_run_append(struct wf_run *r, jv ev, int durable, char *err, size_t n);

/* Journal events with seq >= FROM_SEQ, as an array; invalid on I/O error. */
jv wf_run_read_journal(struct wf_run *r, long from_seq, char *err, size_t n);

/* The workflow.json run R started from (caller owns it): invalid with ERR when it is missing, unreadable or no object. */
jv wf_run_workflow(struct wf_run *r, char *err, size_t n);

/* ---- state_snapshot.c: a run's snapshot: read, checked, written; loading a run ---- */

/* Rewrite state.json atomically from r->state: 0 or 74. */
int wf_run_snapshot(struct wf_run *r, char *err, size_t n);

/* ---- state_fsck.c: a run checked from scratch ---- */

/* Check the run from scratch; *REPORT gets {run, events, problems[]}. 0 or 74. */
int wf_run_fsck(struct wf_run *r, jv *report);

/* ---- status.c: one run described for people (wf status NAME) ---- */

/* Print run R's state S (borrowed) for a person, as wf status NAME shows it. */
void wf_run_print_status(struct wf_run *r, jv s);



/* ---- logs.c: a run's step outputs, in order (wf logs) ---- */

struct wf_logs_opts {
	const char *step;	/* only this step's executions, or NULL for every step */
	long pass;		/* with STEP, only its pass PASS (0: every pass) */
	int follow;		/* go on showing what the run writes until it stops */
	int json;		/* JSON lines (wf-json(7) "Logs") instead of text */
	FILE *out;
};

/*
 * Print the executions of run R's steps in order, each under a header
 * (wf-state(1) logs), to o->out.  0; 66 when o->step is not one of the
 * run's steps, has not run, or has no pass o->pass (ERR names the steps
 * or the passes); 74 with ERR when the journal cannot be read.
 */
int wf_logs_print(struct wf_run *r, const struct wf_logs_opts *o, char *err, size_t n);

/* The name of the run started last (malloc'd), or NULL when there is none. */
char *wf_logs_latest_run(void);

/* ---- run.c: the driver (wf-run) ---- */

struct wf_run_opts {
	const char *target;	/* NAME|FILE|- for a run, the run name to resume */
	const char *run_name;	/* --name: the new run's name (NULL: the workflow's) */
	const char *start_step;	/* STEP-ID, or NULL for the first step */
	jv vars;		/* --var K=V overrides (an object) */
	long max_steps;		/* 0: the workflow's max-steps */
	int json, dry_run, quiet, restart, accept_changes, rerun, skip, no_input, estimate;
	int yes;		/* --yes: consent to every sensitive step (answers no question) */
	const char *answer;	/* --answer VALUE for the pending question or consent */
	int kill_stale;		/* --kill-stale: stop a step's process groups still running, then resume */
	int step, no_step;	/* --step, --no-step: stop before each step, or no more (wf-run(1), "Stepping through") */
	jv breaks;		/* --break STEP-ID: an array of ids (empty: none) */
	const char *budget;	/* --budget AMOUNT as given, or NULL (wf-run(1)) */
	const char *replay;	/* --replay RUN: answer model calls from its recordings, or NULL */
	const char *replay_mode;	/* --replay-mode strict|fill, or NULL (strict) */
	int offline;		/* --offline: refuse every live model call */
	FILE *out;		/* data: --json events, step output, --dry-run and --estimate (stdout) */
	FILE *log;		/* progress (stderr) */
};

/* Start a run of o->target (wf run); returns the exit status. */
int wf_run_start(struct wf_run_opts *o);

/* Continue run o->target where it stopped (wf resume); returns the exit status. */
int wf_run_resume(struct wf_run_opts *o);

/* ---- http.c / model_config.c / model.c / provider*.c: providers ---- */

/*
 * keys.c: API keys (no libcurl; masking is secret.c).  Keys come from the
 * environment variable a provider names (api_key_env) or from the first
 * line a command prints (api_key_cmd: a list is the exact argv, a string
 * is split on blanks with no quoting or expansion; run without a shell,
 * stdin /dev/null, $WF_KEY_CMD_TIMEOUT seconds, default 30).
 */
/*
 * The key of provider PNAME (PROVIDER borrowed: api_key_env / api_key_cmd).
 * Returns a malloc'd key (registered with wf_secret_add; the caller
 * explicit_bzero's and frees it), or NULL: with *CODE 0 when the provider
 * needs no key, with *CODE 78 and a message in ERR when it cannot be had.
 */
char *wf_api_key(jv provider, const char *pname, int *code, char *err, size_t errlen);

/* 0 when URL may be used (see above), else -1 with ERR; *LOOPBACK set either way. */
int wf_http_url_check(const char *url, int *loopback, char *err, size_t errlen);

/*
 * Timeouts, the size cap and the retry policy, from the environment
 * (seconds may have decimals): WF_HTTP_CONNECT_TIMEOUT (10),
 * WF_HTTP_TIMEOUT (600, the whole request), WF_HTTP_STALL_TIMEOUT (60,
 * streams, whole seconds), WF_HTTP_MAX_BYTES (8388608), WF_RETRY_MAX
 * (retries after the first attempt, 4), WF_RETRY_BASE_MS (1000),
 * WF_RETRY_CAP_MS (30000), WF_RETRY_AFTER_MAX (120 s: a longer
 * Retry-After is cut to this), WF_RETRY_DEADLINE (900 s for all attempts).
 */
struct wf_http_policy {
	long connect_ms, total_ms, stall_s;
	size_t max_bytes;
	int retries;
	long base_ms, cap_ms, retry_after_max_ms, deadline_ms;
};
void wf_http_policy_from_env(struct wf_http_policy *p);

/*
 * model_config.c / model.c: the model registry (wf-model(1)).
 * wf_models_load (model_config.c) reads the
 * built-in providers, then $WF_MODELS alone, or else
 * ${XDG_CONFIG_HOME:-~/.config}/wf/models.yaml, the project's
 * codi-models.yaml and the project's .wf/models.yaml (the project is the
 * nearest of the working directory and its parents holding .wf,
 * codi-models.yaml or .git).  Returns the registry, or an invalid jv with
 * every problem in DIAG (file:line:col) and *CODE 78 (bad configuration),
 * 66 ($WF_MODELS missing) or 74 (unreadable).
 */
jv wf_models_load(struct wf_diag *diag, int *code);

/*
 * Resolve NAME in REG (borrowed): PROVIDER:MODEL (split at the first
 * colon, when the part before it names a provider), an alias, a role, the
 * word "original" (ORIGINAL, a name, or the default when NULL), or an
 * empty/NULL name or "default" for the default.  Returns
 * {name, provider, type, model, base_url, prices|null, context|null, plus
 * internal _members}, or an invalid jv with ERR (exit 78).
 */
jv wf_model_resolve(jv reg, const char *name, const char *original, char *err, size_t errlen);

/* M (consumed) without its internal members: what wf-model resolve prints. */
jv wf_model_public(jv m);

/* Every alias, resolved, with "default" and "roles": an array. REG borrowed. */
jv wf_model_list(jv reg);

/* The providers: [{name, type, base_url, api_key_env, api_key_cmd: bool}]. REG borrowed. */
jv wf_model_providers(jv reg);

/* The human table of wf-model list: ITEMS from wf_model_list (or, with
 * PROVIDERS, wf_model_providers) and the roles of REG; both borrowed. */
void wf_model_print_table(FILE *fp, jv reg, jv items, int providers);

/*
 * provider.c: one chat call (wf-model chat).  REQ (consumed) is the chat
 * request of wf-model(1); REG is borrowed.  Returns 0 with the result in
 * *OUT, or an exit code (65 bad request, 78 configuration, key or model,
 * 69 unreachable, 75 rate-limited or overloaded, 1 rejected or broken
 * response, 130 interrupted) with *OUT an error object
 * {error, exit_code, status, request_id?, model, attempts}.  Streamed text
 * is written to STREAM_FD (-1: nowhere) as it arrives, secrets masked.
 * Messages about retries and fallbacks go to stderr.
 */
struct wf_chat_opts {
	int stream_fd;
	volatile int *stop;
};
int wf_model_chat(jv reg, jv req, const struct wf_chat_opts *o, jv *out);

/* {error: MSG with secrets masked, exit_code: CODE}. */
jv wf_chat_error(const char *msg, int code);

/* ---- git.c / forge.c / forge_pr.c / pr*.c ---- */

/*
 * forge.c: the GitHub REST client behind wf-pr(1) (links libcurl: only
 * wf-pr uses it).  API from $GITHUB_API_URL (default
 * https://api.github.com; plain http only to loopback), token from
 * $GH_TOKEN or $GITHUB_TOKEN, repository from -R, $WF_FORGE_REPO or the
 * 'origin' remote.  Every function returns 0, or an exit code with a
 * message in ERR: 1 refused by the forge, 65 bad input or no repository,
 * 66 no such pull request, 69 unreachable after retries, 75 rate-limited,
 * 77 permission denied (403), 78 no token or token refused (401), 130
 * interrupted.  Results (*OUT) are owned by the caller.
 */
struct wf_forge {
	char *api, *origin, *token, *owner, *repo, *remote_url;
	struct wf_http_policy policy;
	volatile int *stop;
	int debug;
};
int wf_forge_open(struct wf_forge *f, const char *cwd, const char *slug, int need_token,
		  char *err, size_t errlen);
void wf_forge_close(struct wf_forge *f);

/* forge_pr.c: the pull-request verbs. */
int wf_forge_pr_view(struct wf_forge *f, long n, jv *out, char *err, size_t errlen);

/* Pull requests in STATE (open, closed, all) whose head branch is HEAD (NULL: any). */
int wf_forge_pr_list(struct wf_forge *f, const char *head, const char *state, jv *out, char *err, size_t errlen);

/* The open pull request for branch HEAD, or 66. */
int wf_forge_pr_find(struct wf_forge *f, const char *head, jv *out, char *err, size_t errlen);

/* Open a pull request, or adopt the open one for HEAD ("adopted": true). */
int wf_forge_pr_create(struct wf_forge *f, const char *base, const char *head, const char *title,
		       const char *body, int draft, jv *out, char *err, size_t errlen);

/* The PR's unified diff (application/vnd.github.diff); *DIFF malloc'd. */
int wf_forge_pr_diff(struct wf_forge *f, long n, char **diff, char *err, size_t errlen);
int wf_forge_comments(struct wf_forge *f, long n, jv *out, char *err, size_t errlen);
int wf_forge_reviews(struct wf_forge *f, long n, jv *out, char *err, size_t errlen);

/*
 * Post BODY as a comment; with MARKER, "<!-- MARKER -->" is appended and
 * a comment that already holds it is returned instead ("existing": true).
 */
int wf_forge_comment(struct wf_forge *f, long n, const char *body, const char *marker, jv *out,
		     char *err, size_t errlen);

/*
 * Post a review: EVENT approve, request-changes or comment; COMMENTS
 * (consumed) [{path, line, body}] go inline.  An author's own PR cannot be
 * approved or rejected on GitHub: the review is then posted as a comment
 * review; inline comments the forge refuses go into the text.  MARKER as
 * for wf_forge_comment.
 */
int wf_forge_review(struct wf_forge *f, long n, const char *event, const char *body, jv comments,
		    const char *marker, jv *out, char *err, size_t errlen);

/* Merge with METHOD (merge, squash, rebase), if the head is still SHA (when given); merged already is success. */
int wf_forge_merge(struct wf_forge *f, long n, const char *method, const char *sha, int delete_branch,
		   jv *out, char *err, size_t errlen);

#endif
