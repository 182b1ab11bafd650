/*
 * report.h: a run's report, one self-contained static HTML page
 * (report.c), the graph in it when Graphviz is not there to draw it
 * (report_svg.c) and a parallel step's branches on its timeline
 * (report_branch.c), for wf-view report (wf-view(1)).  Layer 2: domain data.
 */
#ifndef WF_REPORT_H
#define WF_REPORT_H

#include "wf_priv.h"

/* The most of one step output the page shows; the rest is named, for wf logs. */
#define WF_REPORT_OUTPUT_MAX 65536

/*
 * The report page of run R (borrowed, opened read-only) into OUT: 0, or
 * an exit code with ERR (74 when its files cannot be read).  Every text
 * from the run passes the masker and is escaped; the page loads nothing
 * (a Content-Security-Policy says so) and has no script.  *BY_DOT is set
 * when Graphviz's dot drew the graph.
 */
int wf_report_page(struct wf_run *r, struct wf_buf *out, int *by_dot, char *err, size_t n);

/* The file name a report of R is written to by default: "wf-report-NAME-ID.html", malloc'd. */
char *wf_report_file_name(struct wf_run *r);

/*
 * Write DATA[0..LEN) to file PATH atomically (mode 0600), replacing one
 * that is there only with FORCE: 0, or 2 (there is one, no FORCE), 66
 * (no such directory) or 74, with ERR.
 */
int wf_report_write(const char *path, const char *data, size_t len, int force, char *err, size_t n);

/* TEXT[0..LEN) masked (wf_redact) and escaped for HTML, into B. */
void wf_report_text(struct wf_buf *b, const char *text, size_t len);

/*
 * The steps of canonical workflow WF drawn as an SVG column in file
 * order, with the path of STORY over them (both borrowed): each step's
 * status and passes, each move taken with its count.  Into B.
 */
void wf_report_svg(struct wf_buf *b, jv wf, jv story);

/* MS milliseconds as a person reads them ("40 ms", "2.5 s", "3 min 4 s"), into B; "-" when negative. */
void wf_report_duration(struct wf_buf *b, double ms);

/* A status badge for STATUS (NULL: unknown), into B. */
void wf_report_status(struct wf_buf *b, const char *status);

/* ---- report_branch.c: a parallel step's branches on the timeline ---- */

/* Is timeline entry E (borrowed) a branch-start or branch-end event, which a branch's row shows? */
int wf_report_is_branch_event(jv e);

/* When the step execution E, TL[I] (both borrowed), ended as far as the journal says (ms since the epoch): its end, else its branches' last end; -1 if none. */
double wf_report_span_end(jv tl, int i, jv e);

/*
 * A row for each branch of the step execution E, TL[I] (both borrowed;
 * none unless it forked) of run R, into B: its bar from its start to its
 * end on the axis that has the step's start at 0 and LONGEST ms as the
 * whole track, its steps as slices, its duration and status.
 */
void wf_report_branch_rows(struct wf_buf *b, struct wf_run *r, jv tl, int i, jv e, double longest);

#endif
