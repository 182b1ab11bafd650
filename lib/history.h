/*
 * history.h: the run store's history and the layout it replaced
 * (state_history.c, state_migrate.c), for the store itself and the few
 * that read past runs (runs.c, plan.c).  Layer 2: domain data.
 */
#ifndef WF_HISTORY_H
#define WF_HISTORY_H

#include "wf_priv.h"

/* ---- state_history.c: past runs (PROJ/history/ID-NAME, index.jsonl, next-id) ---- */

/* The next run number of project PROJ: it, or -1 with ERR. */
long wf_history_next_id(const char *proj, char *err, size_t n);

/* The directory of past run ID of PROJ (malloc'd), or NULL when there is none. */
char *wf_history_dir(const char *proj, long id);

/* Move R's files to PROJ/history/ID-NAME with its summary: 0 or an exit code with ERR. */
int wf_history_retire(struct wf_run *r, char *err, size_t n);

/* The newest LIMIT (0: all) past runs of PROJ, newest first, only WORKFLOW's when not NULL; the caller owns the array. */
jv wf_history_list(const char *proj, const char *workflow, int limit);


/*
 * Make directory FROM of directory fd FROMFD (a run of NAME from
 * elsewhere) a past run of PROJ under a new number, with its summary:
 * 0, or an exit code with ERR (FROM is where it was unless it moved).
 */
int wf_history_adopt(const char *proj, int fromfd, const char *from, const char *name, char *err, size_t n);

/* ---- state_migrate.c: the layout before projects ---- */

/*
 * Move the runs of ROOT/runs/ and ROOT/archive/ (the layout of wf before
 * projects) into the project each ran in, found from the directory its
 * run-start recorded.  A run locked by a live runner is left for later.
 */
void wf_state_migrate(const char *root);

#endif
