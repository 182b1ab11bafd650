/*
 * wf.h: the one public header of libwf, the library shared by the wf-*
 * commands.  Every exported name starts with wf_; everything else in lib/
 * is static.
 *
 * JSON values are jq's jv.  Ownership follows libjq: every function that
 * takes a jv consumes it unless its comment says "borrowed"; every jv
 * returned is owned by the caller.
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

extern const char *wf_progname;
/* Set wf_progname from argv[0] (its basename). */
void wf_set_progname(const char *argv0);
/* Print "PROG: MSG" on stderr; a message ending in ':' gets strerror(errno). */
void wf_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void wf_vwarn(const char *fmt, va_list ap);
/* wf_warn, then exit with CODE. */
__attribute__((noreturn)) void wf_die(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

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

/*
 * Read all of FD (or the file at PATH) into OUT, at most MAX bytes.
 * Returns 0, or -1 with errno set (EFBIG when the input is larger than MAX).
 */
int wf_read_fd(int fd, size_t max, struct wf_buf *out);
int wf_read_file(const char *path, size_t max, struct wf_buf *out);
/* write(2) all of P, retrying on EINTR and short writes; 0 or -1/errno. */
int wf_write_all(int fd, const void *p, size_t n);
/* Flush and check FP (stdout): 0, or -1 after a warning naming NAME. */
int wf_fshut(FILE *fp, const char *name);
/* Parse a whole decimal integer in [MIN, MAX]; 0 ok, -1 otherwise. */
int wf_parse_long(const char *s, long min, long max, long *out);
/* Current wall-clock time as an RFC 3339 UTC string with milliseconds. */
void wf_now_iso(char out[32]);
/* Monotonic clock in milliseconds. */
double wf_now_ms(void);
/* Hex SHA-256 of P[0..N) into OUT (65 bytes). */
void wf_sha256_hex(const void *p, size_t n, char out[65]);
/* True when S is valid UTF-8 of length N; else *BAD gets the offset. */
int wf_utf8_valid(const char *s, size_t n, size_t *bad);
/* Levenshtein distance, for "did you mean" hints. */
int wf_edit_distance(const char *a, const char *b);
/* Is NAME a safe single path component for runs and workflows ([A-Za-z0-9._-], no leading '.' or '-', <= 128)? */
int wf_name_valid(const char *name);

/* Collected diagnostics: every problem in one report. */
struct wf_diag {
	char **msgs;
	size_t n, cap;
};
void wf_diag_add(struct wf_diag *d, const char *file, int line, int col,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Print each message as "PROG: MSG" on stderr. */
void wf_diag_print(const struct wf_diag *d);
void wf_diag_free(struct wf_diag *d);

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
/* Compact JSON text of V (borrowed) as a malloc'd string. */
char *wf_json_dump(jv v);
/* Borrowed lookups on OBJ (borrowed).  NULL / DEF when missing or wrong type. */
const char *wf_jv_str(jv obj, const char *key);
double wf_jv_num(jv obj, const char *key, double def);
int wf_jv_bool(jv obj, const char *key, int def);
/* OBJ[KEY] (OBJ borrowed); jv_null() when absent. */
jv wf_jv_get(jv obj, const char *key);
/* Render a scalar as text (strings as is, numbers canonical, true/false, null as ""); V borrowed. */
char *wf_jv_text(jv v);

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
 * booleans (yes, no, on, off, ...) stay strings and are listed in the
 * object *POS under "/yaml11bool" paths for the schema to warn about.
 * Rejects anchors, aliases, tags, several documents, duplicate keys,
 * invalid UTF-8, NUL bytes and input over the size or depth limits.
 * Returns 0, or -1 with every problem added to DIAG under FILE.
 */
int wf_yaml_load(const char *buf, size_t len, const char *file,
		 jv *out, jv *pos, struct wf_diag *diag);

/* ---- workflow.c: discovery, validation, normalisation ---- */

#define WF_MAX_ITERATIONS_CAP 1000
#define WF_DEFAULT_MAX_STEPS 1000

/* The built-in actions, NULL-terminated. */
extern const char *const wf_builtin_actions[];
int wf_action_is_builtin(const char *name);

/*
 * Find the workflow named ARG: a path (contains '/' or ends .yaml/.yml) is
 * used as is; a name is looked up along the search path (wf-workflow(5)),
 * file stem first, then the name: field.  Returns a malloc'd path, or NULL
 * with *CODE set (66 not found, 65 invalid name) and a message in ERR.
 */
char *wf_workflow_find(const char *arg, int *code, char *err, size_t errlen);
/* The search path directories, in order, NULL-terminated; caller frees with wf_strv_free. */
char **wf_workflow_search_path(void);
void wf_strv_free(char **v);

/*
 * Load, validate and normalise the workflow in BUF (read from FILE; DIR is
 * the directory custom actions are looked up in).  Returns the canonical
 * workflow (wf-json(7)), or an invalid jv with every problem in DIAG.
 */
jv wf_workflow_parse(const char *buf, size_t len, const char *file,
		     struct wf_diag *diag);
/* Read FILE and wf_workflow_parse it; I/O errors go to DIAG with *CODE 66/74. */
jv wf_workflow_load(const char *file, struct wf_diag *diag, int *code);
/* Index of step ID in the canonical workflow WF (borrowed), or -1. */
int wf_workflow_step_index(jv wf, const char *id);
/*
 * Every workflow file along the search path: [{name, description, steps,
 * path, error, shadowed}], in search order; a broken file is listed with
 * its first error, and a name already seen earlier is marked shadowed.
 */
jv wf_workflow_list(void);
/* Look for an executable wf-action-NAME beside FILE (actions/) or on PATH; malloc'd path or NULL. */
char *wf_action_find(const char *name, const char *workflow_file);

#endif
