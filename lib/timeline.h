/*
 * timeline.h: a run's story as a compact list (timeline.c, wf logs
 * --timeline), and the watch on a run's files that wf logs -f and the
 * timeline follow a running run with (logs.c).  Layer 2: domain data.
 */
#ifndef WF_TIMELINE_H
#define WF_TIMELINE_H

#include "wf_priv.h"

/* ---- timeline.c: the path a run took, one line per step execution or event ---- */

struct wf_timeline_opts {
	int json;		/* the story's timeline entries as JSON lines (wf-json(7) "Story") */
	int follow;		/* go on showing entries as the run writes them, until it stops */
	int color;		/* colour the status column (a terminal, no NO_COLOR) */
	FILE *out;
};

/*
 * Print run R's timeline (wf-state(1) logs --timeline) to o->out: text
 * in aligned columns, control characters of any text escaped, or one
 * JSON object per entry.  0; 74 with ERR when the journal cannot be read.
 */
int wf_timeline_print(struct wf_run *r, const struct wf_timeline_opts *o, char *err, size_t n);

/* ---- logs.c: waiting for a running run to write ---- */

struct wf_run_watch {
	int ifd;		/* inotify, or -1: poll instead */
	int steps_wd;		/* the watch on steps/, once it exists */
};

/* Start watching run R's directory (and steps/) for writes. */
void wf_run_watch_open(struct wf_run *r, struct wf_run_watch *w);

/* Wait until R's files change or a second passes: 1 when something changed. */
int wf_run_watch_wait(struct wf_run *r, struct wf_run_watch *w);

void wf_run_watch_close(struct wf_run_watch *w);

#endif
