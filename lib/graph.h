/*
 * graph.h: a workflow as a graph, with the path a run took over it (wf
 * graph, wf-view(1) "Graph"; wf report draws its picture with it).
 * Layer 2: domain data.
 *
 * graph.c draws: from the canonical workflow, optionally a story
 * (story.h) and the workflows its steps call, DOT or Mermaid text, with
 * no I/O.  graph_src.c finds what to draw: a workflow file or name, or a
 * run (the workflow.json it started from, its story, its sub-runs).
 *
 * SUBS, the workflows the steps of action 'workflow' call, is an object
 * by step id, each member one of
 *   {"workflow": WF, "story": STORY|null, "subs": SUBS}
 *   {"error": TEXT}     not drawn: why (not found, invalid, too deep)
 * and a step missing from SUBS is drawn as one node.
 */
#ifndef WF_GRAPH_H
#define WF_GRAPH_H

#include "wf_priv.h"

enum wf_graph_format { WF_GRAPH_DOT, WF_GRAPH_MERMAID };

/*
 * WF (the canonical workflow) drawn in FORMAT, with STORY's path over
 * it (jv_null() for none) and SUBS's workflows as clusters (jv_null()
 * or {} for none); all three borrowed.  The same input gives the same
 * text, byte for byte.  Returns the text, malloc'd.
 */
char *wf_graph_draw(enum wf_graph_format format, jv wf, jv story, jv subs);

/* wf_graph_draw in DOT (Graphviz); WF, STORY and SUBS borrowed, the caller frees the text. */
char *wf_graph_dot(jv wf, jv story, jv subs);

/* wf_graph_draw in Mermaid; WF, STORY and SUBS borrowed, the caller frees the text. */
char *wf_graph_mermaid(jv wf, jv story, jv subs);

/* ---- graph_src.c: what to draw ---- */

/* A workflow to draw: each jv owned by the struct (wf_graph_src_free); STORY null without a run. */
struct wf_graph_src {
	jv wf, story, subs;
};

/*
 * What ARG names, as wf graph takes it (wf-view(1)): a run when AS_RUN,
 * when ARG is a run's number, or when it names a run of this project
 * and no workflow; else a workflow file (ARG has a '/', ends .yaml,
 * .yml or .json, or is a file) or a workflow name along the search
 * path.  A run is drawn from the workflow.json it started from.  0 with
 * *OUT filled, or an exit status: 66 nothing by that name (ERR says what
 * was looked for), 65 a workflow with problems (each in DIAG, with its
 * file and line), 74 I/O; ERR set unless DIAG has the messages.
 */
int wf_graph_open(const char *arg, int as_run, struct wf_graph_src *out, struct wf_diag *diag,
		  char *err, size_t n);

/*
 * The SUBS (above) of run R (borrowed, may be NULL for no run) whose
 * workflow is WF (borrowed): a step's sub-run when it has one, else the
 * workflow it calls found as a run would find it; DEPTH levels deep at
 * most (WF_SUBFLOW_MAX_DEPTH).  The caller owns the result.
 */
jv wf_graph_subs(jv wf, struct wf_run *r, int depth);

void wf_graph_src_free(struct wf_graph_src *s);

#endif
