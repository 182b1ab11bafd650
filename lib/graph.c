/*
 * graph.c: a workflow drawn as a graph, in DOT (Graphviz) or Mermaid,
 * with the path a run took over it (wf-view(1), "Graph").
 *
 * One node per step, in file order, an edge for each key of a step that
 * names another step (read from the schema's tables, so a new jump key
 * is drawn without a change here) and for the fall-through to the next
 * step, a start and an end node; a step that calls a workflow is a
 * cluster holding the called workflow's steps.  A story (story.h) marks
 * the steps run (status and passes), the edges taken (thicker, counted),
 * the current and the failed step, dims the rest, and draws a move the
 * workflow has no edge for (a resume elsewhere, a rewind) dashed.
 *
 * Every text from the workflow (ids, models, conditions, descriptions)
 * is escaped for the format, so no workflow can break the output.
 *
 * Rules: no I/O; the same input gives the same bytes.
 *
 * Layer 2: domain data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "subflow.h"

/* The longest piece of workflow text a label shows, in bytes. */
#define LABEL_MAX 60

enum edge_kind { EDGE_FLOW, EDGE_CALL, EDGE_EXTRA };

struct edge {
	char *from, *to;		/* node names */
	char *from_id, *to_id;		/* step ids in the scope; NULL: its start, or its end */
	char *label;			/* static label, or NULL */
	int scope;			/* which workflow drawn (0 the top, k cluster k) */
	enum edge_kind kind;
	long count;			/* times taken (with a story) */
};

/* The look of a node: its overlay class, as Mermaid names it. */
enum look { LOOK_PLAIN, LOOK_OK, LOOK_FAILED, LOOK_CURRENT, LOOK_OTHER, LOOK_DIM, NLOOKS };

static const char *const look_names[NLOOKS] = { "plain", "ok", "failed", "current", "other", "dim" };

/* DOT's attributes for each look (fill, border, border width), and Mermaid's classDef. */
static const struct { const char *fill, *line, *width, *font, *mermaid; } looks[NLOOKS] = {
	[LOOK_PLAIN] = { "#ffffff", "#37474f", "1", "#000000", "fill:#ffffff,stroke:#37474f" },
	[LOOK_OK] = { "#d4f7d4", "#2e7d32", "2", "#000000", "fill:#d4f7d4,stroke:#2e7d32,stroke-width:2px" },
	[LOOK_FAILED] = { "#f8d0d0", "#c62828", "4", "#000000", "fill:#f8d0d0,stroke:#c62828,stroke-width:4px" },
	[LOOK_CURRENT] = { "#fff3c4", "#e65100", "4", "#000000", "fill:#fff3c4,stroke:#e65100,stroke-width:4px" },
	[LOOK_OTHER] = { "#e3e8f0", "#455a64", "2", "#000000", "fill:#e3e8f0,stroke:#455a64,stroke-width:2px" },
	[LOOK_DIM] = { "#f5f5f5", "#bdbdbd", "1", "#9e9e9e", "fill:#f5f5f5,stroke:#bdbdbd,color:#9e9e9e" },
};

struct draw {
	enum wf_graph_format fmt;
	struct wf_buf out;		/* nodes and clusters */
	struct edge *edges;
	size_t nedges, cap;
	int clusters;			/* clusters numbered so far */
	struct wf_buf members[NLOOKS];	/* Mermaid: the nodes of each look */
};

/* One workflow being drawn: the top one or a called one in its cluster. */
struct scope {
	jv wf, story, subs;		/* borrowed */
	int num;			/* 0 the top, else the cluster's number */
	const char *start, *end;	/* node names of where it starts and ends */
	const char *path;		/* ids of the steps that called it, "a/b/", for node ids */
	int depth;
	char **entry, **exit;		/* node names of each step: edges in, edges out */
	int *cluster;			/* each step's cluster number, 0 for none */
	jv index;			/* {ID: its index}, while draw_scope draws it */
	int branch;			/* a parallel step's branch: entered from its fork, not called */
};

/* ---- text ---- */

/* Append S (LEN bytes) to B escaped for FMT's quoted strings; control characters become spaces. */
static void
add_escaped(struct wf_buf *b, enum wf_graph_format fmt, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			wf_buf_addch(b, ' ');
		else if (fmt == WF_GRAPH_DOT && (c == '"' || c == '\\'))
			wf_buf_printf(b, "\\%c", c);
		else if (fmt == WF_GRAPH_MERMAID && strchr("\"#<>&|`", c))
			/* Mermaid's entity codes: #quot; #35; ... keep the label one quoted string. */
			wf_buf_printf(b, "#%d;", c);
		else
			wf_buf_addch(b, (char)c);
	}
}

/* Append user text S to B escaped, cut to LABEL_MAX bytes at a character boundary. */
static void
add_text(struct wf_buf *b, enum wf_graph_format fmt, const char *s)
{
	size_t len = strlen(s);

	if (len <= LABEL_MAX) {
		add_escaped(b, fmt, s, len);
		return;
	}
	len = LABEL_MAX;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	add_escaped(b, fmt, s, len);
	wf_buf_addstr(b, "...");
}

/* Start a new line of a label in FMT. */
static void
add_break(struct wf_buf *b, enum wf_graph_format fmt)
{
	wf_buf_addstr(b, fmt == WF_GRAPH_DOT ? "\\n" : "<br/>");
}

/* ---- edges ---- */

/* Add an edge of scope SC; every string is copied (FROM_ID, TO_ID and LABEL may be NULL). */
static struct edge *
add_edge(struct draw *D, const struct scope *sc, const char *from, const char *to,
	 const char *from_id, const char *to_id, const char *label, enum edge_kind kind)
{
	struct edge *e;

	if (D->nedges == D->cap) {
		D->cap = D->cap ? 2 * D->cap : 32;
		D->edges = wf_xrealloc(D->edges, D->cap * sizeof *D->edges);
	}
	e = &D->edges[D->nedges++];
	e->from = wf_xstrdup(from);
	e->to = wf_xstrdup(to);
	e->from_id = from_id ? wf_xstrdup(from_id) : NULL;
	e->to_id = to_id ? wf_xstrdup(to_id) : NULL;
	e->label = label ? wf_xstrdup(label) : NULL;
	e->scope = sc->num;
	e->kind = kind;
	e->count = 0;
	return e;
}

/* Do A and B (either may be NULL) name the same step, or both the scope's start or end? */
static int
same_id(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* The index of step ID in SC's workflow, or -1. */
static int
step_index(const struct scope *sc, const char *id)
{
	return id ? (int)wf_jv_num(sc->index, id, -1) : -1;
}

/* Is FIELD a key of a step that names another step? */
static int
is_jump(const struct wf_field *f)
{
	return f->type == WF_F_STEP;
}

/* Does STEP (borrowed) name a step for every outcome, so that it never falls through to the next? */
static int
never_falls_through(jv step)
{
	int yes = wf_jv_str(step, "on-true") || wf_jv_str(step, "on-approved");
	int no = wf_jv_str(step, "on-false") || wf_jv_str(step, "on-rejected");

	return wf_jv_str(step, "on-complete") || (yes && no);
}

/* The edge of step I (STEP borrowed) to TARGET (NULL: the end) with LABEL, in scope SC. */
static void
edge_to(struct draw *D, const struct scope *sc, int i, jv step, const char *target, const char *label)
{
	int t = step_index(sc, target);

	if (target && t < 0)
		return;		/* the validator allows none; a planted workflow.json might */
	add_edge(D, sc, sc->exit[i], target ? sc->entry[t] : sc->end, wf_jv_str(step, "id"),
		 target, label, EDGE_FLOW);
}

/* The edges out of step I of SC (STEP borrowed): each jump key, the schema's, then the fall-through. */
static void
step_edges(struct draw *D, const struct scope *sc, int i, jv step)
{
	const struct wf_action *a = wf_action_get(wf_jv_str(step, "action"));
	const struct wf_field *lists[2] = { wf_schema_step, a ? a->fields : NULL };

	for (int l = 0; l < 2; l++)
		for (const struct wf_field *f = lists[l]; f && f->name; f++) {
			const char *target = is_jump(f) ? wf_jv_str(step, f->name) : NULL;
			char *label;

			if (!target)
				continue;
			if (wf_jv_num(step, "max-iterations", -1) >= 0 && !strcmp(f->name, "to"))
				label = wf_xasprintf("%s (max %.0f)", f->name, wf_jv_num(step, "max-iterations", 0));
			else
				label = wf_xstrdup(f->name);
			edge_to(D, sc, i, step, target, label);
			free(label);
		}
	if (never_falls_through(step))
		return;
	for (const struct wf_field *f = wf_schema_canonical_step; f->name; f++) {
		jv next = is_jump(f) ? wf_jv_get(step, f->name) : jv_invalid();

		if (jv_get_kind(next) == JV_KIND_STRING)
			edge_to(D, sc, i, step, jv_string_value(next), NULL);
		else if (jv_get_kind(next) == JV_KIND_NULL)
			edge_to(D, sc, i, step, NULL, NULL);
		jv_free(next);
	}
}

/* Count the story's move FROM -> TO of scope SC on the first edge drawn for it, or draw it dashed. */
static void
mark_move(struct draw *D, const struct scope *sc, const char *from, const char *to, long count)
{
	int f = step_index(sc, from), t = step_index(sc, to);

	if ((from && f < 0) || (to && t < 0))
		return;		/* a step the workflow does not have */
	for (size_t k = 0; k < D->nedges; k++) {
		struct edge *e = &D->edges[k];

		if (e->scope == sc->num && e->kind != EDGE_EXTRA && !e->count &&
		    same_id(e->from_id, from) && same_id(e->to_id, to)) {
			e->count = count;
			return;
		}
	}
	add_edge(D, sc, from ? sc->exit[f] : sc->start, to ? sc->entry[t] : sc->end, from, to, NULL,
		 EDGE_EXTRA)->count = count;
}

/* Does the step ENTRY (borrowed) of a story end where the workflow ends, its "next" null after a pass that did not stop the run? */
static int
ends_run(jv entry)
{
	const char *status = wf_jv_str(entry, "status");
	jv next = jv_object_get(jv_copy(entry), jv_string("next"));
	int end = jv_get_kind(next) == JV_KIND_NULL && status && (!strcmp(status, "ok") || !strcmp(status, "skipped"));

	jv_free(next);
	return end;
}

/*
 * The story's moves over SC's edges: its "edges", the move from the
 * start to the first step run, and each step's moves to the end (a step
 * entry whose "next" is null).
 */
static void
mark_moves(struct draw *D, const struct scope *sc)
{
	jv moves = wf_jv_get(sc->story, "edges"), timeline = wf_jv_get(sc->story, "timeline");
	jv ends = jv_object();
	int first = 1;

	if (jv_get_kind(moves) == JV_KIND_ARRAY)
		jv_array_foreach(moves, k, m) {
			(void)k;
			mark_move(D, sc, wf_jv_str(m, "from"), wf_jv_str(m, "to"), (long)wf_jv_num(m, "count", 1));
			jv_free(m);
		}
	if (jv_get_kind(timeline) == JV_KIND_ARRAY)
		jv_array_foreach(timeline, k, e) {
			const char *step = wf_jv_str(e, "step");

			(void)k;
			if (step && !strcmp(wf_jv_str(e, "event") ? wf_jv_str(e, "event") : "", "step")) {
				if (first)
					mark_move(D, sc, NULL, step, 1);
				first = 0;
				if (ends_run(e))
					ends = jv_object_set(ends, jv_string(step), jv_number(wf_jv_num(ends, step, 0) + 1));
			}
			jv_free(e);
		}
	jv_object_foreach(ends, step, count) {
		mark_move(D, sc, jv_string_value(step), NULL, (long)jv_number_value(count));
		jv_free(step);
		jv_free(count);
	}
	jv_free(ends);
	jv_free(moves);
	jv_free(timeline);
}

/* ---- nodes ---- */

/* The model step STEP of WF (both borrowed) talks to, borrowed from them; NULL when none applies. */
static const char *
step_model(jv wf, jv step)
{
	const char *m = wf_jv_str(step, "model");

	if (m)
		return m;
	return wf_action_uses_model(wf_jv_str(step, "action")) ? wf_jv_str(wf, "model") : NULL;
}

/* What the overlay says of step ID of SC's story, and how it looks. */
static enum look
overlay(const struct scope *sc, const char *id, struct wf_buf *words)
{
	jv story = sc->story, passes = wf_jv_get(story, "passes"), timeline = wf_jv_get(story, "timeline");
	long n = (long)wf_jv_num(passes, id, 0);
	const char *status = NULL, *current = wf_jv_str(story, "current"), *failed = wf_jv_str(story, "failed");
	jv at = wf_jv_get(story, "last"), last = jv_null();
	double i = wf_jv_num(at, id, -1);
	enum look look;

	/* The step's last execution, by the index the story keeps. */
	if (i >= 0 && jv_get_kind(timeline) == JV_KIND_ARRAY && i < jv_array_length(jv_copy(timeline)))
		last = jv_array_get(jv_copy(timeline), (int)i);
	jv_free(at);
	status = wf_jv_str(last, "status");
	if (failed && !strcmp(failed, id)) {
		look = LOOK_FAILED;
		wf_buf_printf(words, "FAILED x%ld", n);
	} else if (current && !strcmp(current, id)) {
		jv run = wf_jv_get(story, "run");

		look = LOOK_CURRENT;
		wf_buf_printf(words, "%s here", wf_jv_str(run, "status") ? wf_jv_str(run, "status") : "stopped");
		if (n)
			wf_buf_printf(words, " x%ld", n);
		jv_free(run);
	} else if (status) {
		look = !strcmp(status, "ok") ? LOOK_OK : !strcmp(status, "failed") ? LOOK_FAILED : LOOK_OTHER;
		wf_buf_printf(words, "%s x%ld", status, n);
	} else {
		look = n ? LOOK_OK : LOOK_DIM;
		if (n)
			wf_buf_printf(words, "x%ld", n);
	}
	jv_free(last);
	jv_free(passes);
	jv_free(timeline);
	return look;
}

/* Step STEP's (borrowed) label in SC (escaped for the format, lines broken) into B; its look returned. */
static enum look
step_label(struct draw *D, const struct scope *sc, jv step, struct wf_buf *b)
{
	const char *id = wf_jv_str(step, "id"), *action = wf_jv_str(step, "action");
	const char *model = step_model(sc->wf, step);
	const char *cond = wf_jv_str(step, "check") ? wf_jv_str(step, "check") : wf_jv_str(step, "condition");
	enum look look = LOOK_PLAIN;

	add_text(b, D->fmt, id ? id : "?");
	add_break(b, D->fmt);
	add_text(b, D->fmt, action ? action : "?");
	if (wf_jv_str(step, "workflow")) {
		wf_buf_addstr(b, ": ");
		add_text(b, D->fmt, wf_jv_str(step, "workflow"));
	}
	if (model) {
		add_break(b, D->fmt);
		wf_buf_addstr(b, "model: ");
		add_text(b, D->fmt, model);
	}
	if (cond) {
		add_break(b, D->fmt);
		wf_buf_addstr(b, wf_jv_str(step, "check") ? "check: " : "if: ");
		add_text(b, D->fmt, cond);
	}
	if (id && jv_get_kind(sc->subs) == JV_KIND_OBJECT) {
		jv sub = wf_jv_get(sc->subs, id);

		if (wf_jv_str(sub, "error")) {
			add_break(b, D->fmt);
			wf_buf_addstr(b, "not drawn: ");
			add_text(b, D->fmt, wf_jv_str(sub, "error"));
		}
		jv_free(sub);
	}
	if (jv_get_kind(sc->story) == JV_KIND_OBJECT && id) {
		struct wf_buf words = {0};

		look = overlay(sc, id, &words);
		if (words.len) {
			add_break(b, D->fmt);
			add_text(b, D->fmt, words.s);
		}
		wf_buf_free(&words);
	}
	return look;
}

/* The node ids for graphics (an SVG's element ids): "step-" and the path of step ids. */
static void
add_node_id(struct draw *D, const struct scope *sc, const char *id)
{
	wf_buf_addstr(&D->out, "step-");
	add_text(&D->out, D->fmt, sc->path);
	add_text(&D->out, D->fmt, id ? id : "?");
}

/* Node NAME of shape SHAPE (DOT's name) with label LABEL (escaped already), looking LOOK; STEP borrowed (null for none). */
static void
emit_node(struct draw *D, const struct scope *sc, const char *name, const char *id, const char *shape,
	  const char *label, enum look look, jv step)
{
	static const struct { const char *dot, *open, *close; } shapes[] = {
		{ "box", "(\"", "\")" }, { "diamond", "{\"", "\"}" }, { "hexagon", "{{\"", "\"}}" },
		{ "folder", "[[\"", "\"]]" }, { "circle", "((\"", "\"))" }, { "doublecircle", "(((\"", "\")))" },
		{ "oval", "([\"", "\"])" }, { "invtrapezium", "[/\"", "\"\\]" }, { "trapezium", "[\\\"", "\"/]" },
	};
	size_t s = 0;

	while (s + 1 < sizeof shapes / sizeof *shapes && strcmp(shapes[s].dot, shape))
		s++;
	if (D->fmt == WF_GRAPH_MERMAID) {
		wf_buf_printf(&D->out, "%*s%s%s%s%s\n", 4 + 2 * sc->depth, "", name, shapes[s].open, label,
			      shapes[s].close);
		if (look != LOOK_PLAIN)
			wf_buf_printf(&D->members[look], "%s%s", D->members[look].len ? "," : "", name);
		return;
	}
	wf_buf_printf(&D->out, "%*s%s [", 2 + 2 * sc->depth, "", name);
	if (id) {
		wf_buf_addstr(&D->out, "id=\"");
		add_node_id(D, sc, id);
		wf_buf_addstr(&D->out, "\", ");
	}
	wf_buf_printf(&D->out, "label=\"%s\", shape=%s, style=\"%sfilled\", fillcolor=\"%s\", color=\"%s\", "
		      "fontcolor=\"%s\", penwidth=%s", label, shape, !strcmp(shape, "box") ? "rounded," : "",
		      looks[look].fill, looks[look].line, looks[look].font, looks[look].width);
	if (wf_jv_str(step, "description")) {
		wf_buf_addstr(&D->out, ", tooltip=\"");
		add_text(&D->out, D->fmt, wf_jv_str(step, "description"));
		wf_buf_addch(&D->out, '"');
	}
	wf_buf_addstr(&D->out, "];\n");
}

/* The DOT shape of a step of ACTION. */
static const char *
step_shape(const char *action)
{
	if (!action)
		return "box";
	return !strcmp(action, "conditional") ? "diamond" : !strcmp(action, "loop") ? "hexagon" : "box";
}

static void draw_scope(struct draw *D, struct scope *sc);

/* Is STEP (borrowed) a parallel step? */
static int
is_parallel(jv step)
{
	return wf_jv_str(step, "action") && !strcmp(wf_jv_str(step, "action"), "parallel");
}

/* Open a cluster (DOT) or subgraph (Mermaid) numbered K at PAD, labelled LABEL (user text), its border as LOOK. */
static void
open_cluster(struct draw *D, int k, int pad, const char *label, const char *more, enum look look)
{
	if (D->fmt == WF_GRAPH_DOT) {
		wf_buf_printf(&D->out, "%*ssubgraph cluster_%d {\n%*s  label=\"", pad, "", k, pad, "");
		add_text(&D->out, D->fmt, label);
		if (more)
			add_text(&D->out, D->fmt, more);
		wf_buf_printf(&D->out, "\";\n%*s  style=\"rounded,dashed\";\n%*s  color=\"%s\";\n", pad, "", pad, "",
			      look == LOOK_PLAIN ? "#546e7a" : looks[look].line);
	} else {
		wf_buf_printf(&D->out, "%*ssubgraph c%d [\"", pad, "", k);
		add_text(&D->out, D->fmt, label);
		if (more)
			add_text(&D->out, D->fmt, more);
		wf_buf_printf(&D->out, "\"]\n%*s  direction TB\n", pad, "");
	}
}

/* The look of an end node: plain without an overlay (OVERLAY, borrowed, not an object), else whether STORY's (borrowed) run completed. */
static enum look
end_look(jv overlay, jv story)
{
	jv run = wf_jv_get(story, "run");
	const char *status = wf_jv_str(run, "status");
	enum look look = jv_get_kind(overlay) != JV_KIND_OBJECT ? LOOK_PLAIN :
			 status && !strcmp(status, "completed") ? LOOK_OK : LOOK_DIM;

	jv_free(run);
	return look;
}

/* SC's SUBS entry for STEP (borrowed) when it has a workflow to draw; else null.  The caller owns it. */
static jv
sub_of(const struct scope *sc, jv step)
{
	const char *id = wf_jv_str(step, "id");
	jv sub = id && jv_get_kind(sc->subs) == JV_KIND_OBJECT ? wf_jv_get(sc->subs, id) : jv_null();
	jv wf = wf_jv_get(sub, "workflow");
	int drawn = jv_get_kind(wf) == JV_KIND_OBJECT;

	jv_free(wf);
	if (drawn)
		return sub;
	jv_free(sub);
	return jv_null();
}

/* Step I of SC that calls workflow SUB (borrowed, {workflow, story, subs}): its cluster. */
static void
emit_cluster(struct draw *D, struct scope *sc, int i, jv step, jv sub, const char *label, enum look look)
{
	const char *id = wf_jv_str(step, "id");
	int k = sc->cluster[i];
	char *path = wf_xasprintf("%s%s/", sc->path, id ? id : "?");
	jv story = wf_jv_get(sub, "story"), subwf = wf_jv_get(sub, "workflow"), subs = wf_jv_get(sub, "subs");
	struct scope in = { subwf, story, subs, k, sc->entry[i], sc->exit[i], path, sc->depth + 1, NULL, NULL, NULL, jv_null(), 0 };
	int pad = 2 + 2 * sc->depth + (D->fmt == WF_GRAPH_MERMAID ? 2 : 0);

	open_cluster(D, k, pad, wf_jv_str(subwf, "name") ? wf_jv_str(subwf, "name") : "workflow", NULL, LOOK_PLAIN);
	struct scope head = *sc;	/* the calling step is the caller's, drawn inside the cluster */

	head.depth = sc->depth + 1;
	emit_node(D, &head, sc->entry[i], id, "folder", label, look, step);
	draw_scope(D, &in);
	emit_node(D, &in, sc->exit[i], NULL, "circle", "return", end_look(sc->story, story), jv_null());
	wf_buf_printf(&D->out, "%*s%s\n", pad, "", D->fmt == WF_GRAPH_DOT ? "}" : "end");
	jv_free(story);
	jv_free(subwf);
	jv_free(subs);
	free(path);
}

/* How a branch's run (STORY borrowed, null for none) stands, as a look and a word: plain and NULL without an overlay. */
static enum look
branch_look(const struct scope *sc, jv story, const char **word)
{
	jv run = wf_jv_get(story, "run");
	const char *st = wf_jv_str(run, "status");
	enum look look;

	*word = NULL;
	if (jv_get_kind(sc->story) != JV_KIND_OBJECT) {
		jv_free(run);
		return LOOK_PLAIN;
	}
	look = !st ? LOOK_DIM : !strcmp(st, "completed") ? LOOK_OK : !strcmp(st, "failed") || !strcmp(st, "interrupted") ? LOOK_FAILED :
	       !strcmp(st, "waiting") || !strcmp(st, "running") || !strcmp(st, "paused") ? LOOK_CURRENT : LOOK_OTHER;
	*word = !st ? ": not run" : !strcmp(st, "completed") ? ": ok" : !strcmp(st, "failed") ? ": failed" :
		!strcmp(st, "waiting") ? ": waiting" : !strcmp(st, "running") ? ": running" :
		!strcmp(st, "interrupted") ? ": interrupted" : ": stopped";
	jv_free(run);
	return look;
}

/*
 * Branch B (borrowed: {name, steps} or {name, workflow}) of the parallel
 * step I of SC, with PAR (borrowed) its entry of SUBS' "branches", or
 * its for-each body (LABEL given): a cluster from the step's fork node
 * to its join node.  A workflow branch is drawn as a step calling it.
 */
static void
emit_branch(struct draw *D, struct scope *sc, int i, jv b, jv par, const char *label)
{
	const char *name = wf_jv_str(b, "name") ? wf_jv_str(b, "name") : "?";
	jv story = wf_jv_get(par, "story"), subs = wf_jv_get(par, "subs"), bwf = jv_object(), steps;
	jv step = jv_array_get(wf_jv_get(sc->wf, "steps"), i);
	char *path = wf_xasprintf("%s%s/%s/", sc->path, wf_jv_str(step, "id") ? wf_jv_str(step, "id") : "?", name);
	int m = ++D->clusters, pad = 4 + 2 * sc->depth + (D->fmt == WF_GRAPH_MERMAID ? 2 : 0);
	const char *word;
	enum look look = branch_look(sc, story, &word);
	struct scope in = { jv_null(), story, subs, m, sc->entry[i], sc->exit[i], path, sc->depth + 2, NULL, NULL,
			    NULL, jv_null(), 1 };

	if (wf_jv_str(b, "workflow")) {
		jv call = jv_object_set(jv_object(), jv_string("id"), jv_string(name));

		call = jv_object_set(call, jv_string("action"), jv_string("workflow"));
		call = jv_object_set(call, jv_string("workflow"), wf_jv_get(b, "workflow"));
		steps = jv_array_append(jv_array(), jv_object_set(call, jv_string("next"), jv_null()));
	} else {
		steps = wf_jv_get(b, "steps");
	}
	bwf = jv_object_set(bwf, jv_string("steps"), steps);
	bwf = jv_object_set(bwf, jv_string("model"), wf_jv_get(sc->wf, "model"));
	in.wf = bwf;
	open_cluster(D, m, pad, label ? label : name, label ? NULL : word, look);
	draw_scope(D, &in);
	wf_buf_printf(&D->out, "%*s%s\n", pad, "", D->fmt == WF_GRAPH_DOT ? "}" : "end");
	jv_free(step);
	jv_free(bwf);
	jv_free(story);
	jv_free(subs);
	free(path);
}

/* The parallel step I of SC (STEP borrowed): a cluster from its fork node through each branch to its join node. */
static void
emit_parallel(struct draw *D, struct scope *sc, int i, jv step, const char *label, enum look look)
{
	const char *id = wf_jv_str(step, "id") ? wf_jv_str(step, "id") : "?";
	int k = sc->cluster[i], pad = 2 + 2 * sc->depth + (D->fmt == WF_GRAPH_MERMAID ? 2 : 0);
	jv branches = wf_jv_get(step, "branches"), sub = jv_get_kind(sc->subs) == JV_KIND_OBJECT ?
		wf_jv_get(sc->subs, id) : jv_null(), par = wf_jv_get(sub, "branches");
	struct scope head = *sc;	/* the fork and the join are the caller's, drawn inside the cluster */
	struct wf_buf join = {0};

	head.depth = sc->depth + 1;
	open_cluster(D, k, pad, id, ": parallel", LOOK_PLAIN);
	emit_node(D, &head, sc->entry[i], id, "invtrapezium", label, look, step);
	if (jv_get_kind(branches) == JV_KIND_ARRAY) {
		jv_array_foreach(branches, j, b) {
			jv p = wf_jv_get(par, wf_jv_str(b, "name") ? wf_jv_str(b, "name") : "");

			(void)j;
			emit_branch(D, sc, i, b, p, NULL);
			jv_free(p);
			jv_free(b);
		}
	} else {
		struct wf_buf each = {0};
		jv body = jv_object_set(jv_object(), jv_string("name"), jv_string(wf_jv_str(step, "as") ? wf_jv_str(step, "as") : "item"));

		wf_buf_printf(&each, "for each %s as %s", wf_jv_str(step, "for-each") ? wf_jv_str(step, "for-each") : "?",
			      wf_jv_str(step, "as") ? wf_jv_str(step, "as") : "item");
		body = jv_object_set(body, jv_string("steps"), wf_jv_get(step, "steps"));
		emit_branch(D, sc, i, body, jv_null(), each.s);
		jv_free(body);
		wf_buf_free(&each);
	}
	wf_buf_addstr(&join, "join");
	if (wf_jv_str(step, "on-failure")) {
		add_break(&join, D->fmt);
		add_text(&join, D->fmt, wf_jv_str(step, "on-failure"));
	}
	emit_node(D, &head, sc->exit[i], NULL, "trapezium", join.s, jv_get_kind(sc->story) == JV_KIND_OBJECT ?
		  look : LOOK_PLAIN, jv_null());
	wf_buf_printf(&D->out, "%*s%s\n", pad, "", D->fmt == WF_GRAPH_DOT ? "}" : "end");
	wf_buf_free(&join);
	jv_free(branches);
	jv_free(sub);
	jv_free(par);
}

/* Name each step's nodes (SC->entry, SC->exit): a step calling a drawn workflow gets a cluster's two, a parallel step its fork and join. */
static void
name_nodes(struct draw *D, struct scope *sc, int n)
{
	char pre[32];

	if (sc->num)
		snprintf(pre, sizeof pre, "c%d_", sc->num);
	else
		snprintf(pre, sizeof pre, "n");
	sc->entry = wf_xcalloc((size_t)n + 1, sizeof *sc->entry);
	sc->exit = wf_xcalloc((size_t)n + 1, sizeof *sc->exit);
	sc->cluster = wf_xcalloc((size_t)n + 1, sizeof *sc->cluster);
	sc->index = jv_object();
	for (int i = 0; i < n; i++) {
		jv step = jv_array_get(wf_jv_get(sc->wf, "steps"), i), sub = sub_of(sc, step);

		if (wf_jv_str(step, "id") && !jv_object_has(jv_copy(sc->index), jv_string(wf_jv_str(step, "id"))))
			sc->index = jv_object_set(sc->index, jv_string(wf_jv_str(step, "id")), jv_number(i));

		if ((jv_get_kind(sub) == JV_KIND_OBJECT || is_parallel(step)) && sc->depth < WF_SUBFLOW_MAX_DEPTH) {
			int k = sc->cluster[i] = ++D->clusters;

			sc->entry[i] = wf_xasprintf(is_parallel(step) ? "c%d_fork" : "c%d_call", k);
			sc->exit[i] = wf_xasprintf(is_parallel(step) ? "c%d_join" : "c%d_end", k);
		} else {
			sc->entry[i] = wf_xasprintf("%s%d", pre, i);
			sc->exit[i] = wf_xstrdup(sc->entry[i]);
		}
		jv_free(sub);
		jv_free(step);
	}
}

/* The steps of SC, and their edges, into D: nodes now, edges to D->edges (SC's start and end drawn by its caller). */
static void
draw_scope(struct draw *D, struct scope *sc)
{
	jv steps = wf_jv_get(sc->wf, "steps");
	int n = jv_get_kind(steps) == JV_KIND_ARRAY ? jv_array_length(jv_copy(steps)) : 0;

	name_nodes(D, sc, n);
	for (int i = 0; i < n; i++) {
		jv step = jv_array_get(jv_copy(steps), i), sub = sub_of(sc, step);
		struct wf_buf label = {0};
		enum look look = step_label(D, sc, step, &label);

		if (sc->cluster[i] && is_parallel(step))
			emit_parallel(D, sc, i, step, label.s, look);
		else if (sc->cluster[i])
			emit_cluster(D, sc, i, step, sub, label.s, look);
		else
			emit_node(D, sc, sc->entry[i], wf_jv_str(step, "id") ? wf_jv_str(step, "id") : "?",
				  step_shape(wf_jv_str(step, "action")), label.s, look, step);
		wf_buf_free(&label);
		jv_free(sub);
		jv_free(step);
	}
	if (n) {
		jv first = jv_array_get(jv_copy(steps), 0);

		add_edge(D, sc, sc->start, sc->entry[0], NULL, wf_jv_str(first, "id"), sc->num && !sc->branch ? "calls" : NULL,
			 sc->num && !sc->branch ? EDGE_CALL : EDGE_FLOW);
		jv_free(first);
	} else if (sc->branch) {
		add_edge(D, sc, sc->start, sc->end, NULL, NULL, NULL, EDGE_FLOW);
	}
	for (int i = 0; i < n; i++) {
		jv step = jv_array_get(jv_copy(steps), i);

		step_edges(D, sc, i, step);
		jv_free(step);
	}
	if (jv_get_kind(sc->story) == JV_KIND_OBJECT)
		mark_moves(D, sc);
	for (int i = 0; i < n; i++) {
		free(sc->entry[i]);
		free(sc->exit[i]);
	}
	free(sc->entry);
	free(sc->exit);
	free(sc->cluster);
	jv_free(sc->index);
	sc->index = jv_null();
	jv_free(steps);
}

/* Edge E's label, escaped, into B: its static label and, when taken, its count. */
static void
edge_label(struct draw *D, const struct edge *e, struct wf_buf *b)
{
	if (e->label)
		add_text(b, D->fmt, e->label);
	if (e->count)
		wf_buf_printf(b, "%sx%ld", e->label ? " " : "", e->count);
	if (e->kind == EDGE_EXTRA)
		wf_buf_addstr(b, " (no such edge in the workflow)");
}

/* Every edge, after the nodes: DOT attributes, or Mermaid arrows and their linkStyle. */
static void
emit_edges(struct draw *D, int overlaid)
{
	struct wf_buf taken = {0}, extra = {0};

	for (size_t k = 0; k < D->nedges; k++) {
		const struct edge *e = &D->edges[k];
		struct wf_buf label = {0};

		edge_label(D, e, &label);
		if (D->fmt == WF_GRAPH_MERMAID) {
			const char *arrow = e->kind == EDGE_EXTRA ? "-.->" : e->count ? "==>" : e->kind == EDGE_CALL ? "-.->" : "-->";

			wf_buf_printf(&D->out, "    %s %s%s%s%s %s\n", e->from, arrow, label.len ? "|\"" : "",
				      label.len ? label.s : "", label.len ? "\"|" : "", e->to);
			if (e->count)
				wf_buf_printf(e->kind == EDGE_EXTRA ? &extra : &taken, "%s%zu",
					      (e->kind == EDGE_EXTRA ? extra.len : taken.len) ? "," : "", k);
		} else {
			wf_buf_printf(&D->out, "  %s -> %s [", e->from, e->to);
			if (label.len)
				wf_buf_printf(&D->out, "label=\"%s\", ", label.s);
			if (e->kind == EDGE_EXTRA)
				wf_buf_addstr(&D->out, "style=dashed, color=\"#6a1b9a\", fontcolor=\"#6a1b9a\", penwidth=2");
			else if (e->count)
				wf_buf_printf(&D->out, "%scolor=\"#2e7d32\", fontcolor=\"#2e7d32\", penwidth=%d",
					      e->kind == EDGE_CALL ? "style=dotted, " : "", e->count > 2 ? 4 : 3);
			else
				wf_buf_printf(&D->out, "%scolor=\"%s\", penwidth=1", e->kind == EDGE_CALL ? "style=dotted, " : "",
					      overlaid ? "#bdbdbd" : "#37474f");
			wf_buf_addstr(&D->out, "];\n");
		}
		wf_buf_free(&label);
	}
	if (taken.len)
		wf_buf_printf(&D->out, "    linkStyle %s stroke:#2e7d32,stroke-width:4px\n", taken.s);
	if (extra.len)
		wf_buf_printf(&D->out, "    linkStyle %s stroke:#6a1b9a,stroke-width:2px\n", extra.s);
	wf_buf_free(&taken);
	wf_buf_free(&extra);
}

/* The graph's title: WF's name and, with STORY (both borrowed), the run and how it stands. */
static void
add_title(struct draw *D, struct wf_buf *b, jv wf, jv story)
{
	jv run = wf_jv_get(story, "run");

	add_text(b, D->fmt, wf_jv_str(wf, "name") ? wf_jv_str(wf, "name") : "workflow");
	if (wf_jv_str(run, "name")) {
		wf_buf_addstr(b, ": run ");
		add_text(b, D->fmt, wf_jv_str(run, "name"));
		if (wf_jv_str(run, "status")) {
			wf_buf_addstr(b, ", ");
			add_text(b, D->fmt, wf_jv_str(run, "status"));
		}
	}
	jv_free(run);
}

char *
wf_graph_draw(enum wf_graph_format fmt, jv wf, jv story, jv subs)
{
	struct draw D = { .fmt = fmt };
	int overlaid = jv_get_kind(story) == JV_KIND_OBJECT;
	struct scope top = { wf, overlaid ? story : jv_null(), subs, 0, "n_start", "n_end", "", 0, NULL, NULL, NULL, jv_null(), 0 };
	struct wf_buf b = {0};

	if (fmt == WF_GRAPH_DOT) {
		wf_buf_addstr(&b, "digraph workflow {\n  graph [label=\"");
		add_title(&D, &b, wf, story);
		wf_buf_addstr(&b, "\", labelloc=t, fontname=\"Helvetica\", rankdir=TB");
		if (wf_jv_str(wf, "description") && *wf_jv_str(wf, "description")) {
			wf_buf_addstr(&b, ", tooltip=\"");
			add_text(&b, fmt, wf_jv_str(wf, "description"));
			wf_buf_addch(&b, '"');
		}
		wf_buf_addstr(&b, "];\n  node [fontname=\"Helvetica\", fontsize=11];\n"
			      "  edge [fontname=\"Helvetica\", fontsize=10];\n");
	} else {
		wf_buf_addstr(&b, "flowchart TD\n");
	}
	emit_node(&D, &top, "n_start", NULL, "oval", "start", overlaid ? LOOK_OK : LOOK_PLAIN, jv_null());
	draw_scope(&D, &top);
	emit_node(&D, &top, "n_end", NULL, "doublecircle", "end", end_look(top.story, story), jv_null());
	emit_edges(&D, overlaid);
	wf_buf_add(&b, D.out.s, D.out.len);
	for (int l = LOOK_OK; fmt == WF_GRAPH_MERMAID && l < NLOOKS; l++)
		if (D.members[l].len)
			wf_buf_printf(&b, "    classDef %s %s\n    class %s %s\n", look_names[l],
				      looks[l].mermaid, D.members[l].s, look_names[l]);
	if (fmt == WF_GRAPH_DOT)
		wf_buf_addstr(&b, "}\n");
	for (size_t k = 0; k < D.nedges; k++) {
		free(D.edges[k].from);
		free(D.edges[k].to);
		free(D.edges[k].from_id);
		free(D.edges[k].to_id);
		free(D.edges[k].label);
	}
	for (int l = 0; l < NLOOKS; l++)
		wf_buf_free(&D.members[l]);
	free(D.edges);
	wf_buf_free(&D.out);
	return wf_buf_detach(&b);
}

char *
wf_graph_dot(jv wf, jv story, jv subs)
{
	return wf_graph_draw(WF_GRAPH_DOT, wf, story, subs);
}

char *
wf_graph_mermaid(jv wf, jv story, jv subs)
{
	return wf_graph_draw(WF_GRAPH_MERMAID, wf, story, subs);
}
