/*
 * report_svg.c: the graph of a report page when Graphviz's dot is not
 * installed: the steps as a column of boxes in file order, top to
 * bottom, each coloured by how its last execution ended and labelled
 * with its passes; a thin arrow for each step's next one in file order;
 * every move the run took drawn thick and counted, a move to anything
 * but the next box along a lane of its own on the right.  Plain, but
 * every count is the story's.
 *
 * Layer 2: domain data.
 */
#include <string.h>

#include "report.h"

#define BOX_W 260
#define BOX_H 40
#define GAP 34
#define LEFT 16
#define TOP 12
#define LANE 18
#define LABEL_ROOM 44
#define ID_MAX 30

/* Where each step is in STEPS (borrowed): {ID: index}, the caller owns it. */
static jv
step_places(jv steps)
{
	jv at = jv_object();

	if (jv_get_kind(steps) == JV_KIND_ARRAY)
		jv_array_foreach(steps, i, s) {
			if (wf_jv_str(s, "id"))
				at = jv_object_set(at, jv_string(wf_jv_str(s, "id")), jv_number(i));
			jv_free(s);
		}
	return at;
}

/* Where step ID is by AT (borrowed, from step_places), or -1. */
static int
step_index(jv at, const char *id)
{
	return id ? (int)wf_jv_num(at, id, -1) : -1;
}

/* The fill of a box whose step last ended STATUS (NULL: never ran). */
static const char *
fill_of(const char *status)
{
	if (!status)
		return "#eceff1";
	if (!strcmp(status, "ok"))
		return "#c8e6c9";
	if (!strcmp(status, "failed"))
		return "#ffcdd2";
	if (!strcmp(status, "skipped"))
		return "#e0e0e0";
	return "#fff59d";	/* waiting, running, in doubt */
}

/* The status of the last execution of each step in STORY's timeline (borrowed): an object the caller owns. */
static jv
last_status(jv story)
{
	jv tl = wf_jv_get(story, "timeline"), last = jv_object();

	if (jv_get_kind(tl) == JV_KIND_ARRAY)
		jv_array_foreach(tl, i, e) {
			(void)i;
			if (wf_jv_str(e, "event") && !strcmp(wf_jv_str(e, "event"), "step") && wf_jv_str(e, "step") &&
			    wf_jv_str(e, "status"))
				last = jv_object_set(last, jv_string(wf_jv_str(e, "step")), wf_jv_get(e, "status"));
			jv_free(e);
		}
	jv_free(tl);
	return last;
}

/* Step S (borrowed), the Ith box, with its passes and the status its last execution ended with (LAST, borrowed). */
static void
draw_box(struct wf_buf *b, jv s, int i, jv story, jv last)
{
	const char *id = wf_jv_str(s, "id") ? wf_jv_str(s, "id") : "?";
	const char *action = wf_jv_str(s, "action") ? wf_jv_str(s, "action") : "?";
	const char *status = wf_jv_str(last, id), *cur = wf_jv_str(story, "current"), *failed = wf_jv_str(story, "failed");
	jv passes = wf_jv_get(story, "passes");
	double n = wf_jv_num(passes, id, 0);
	int y = TOP + i * (BOX_H + GAP), marked = (cur && !strcmp(cur, id)) || (failed && !strcmp(failed, id));
	size_t len = strlen(id), shown = len > ID_MAX ? ID_MAX : len;

	wf_buf_printf(b, "<g><title>");
	wf_report_text(b, id, len);
	wf_buf_addstr(b, " (");
	wf_report_text(b, action, strlen(action));
	wf_buf_printf(b, ")</title><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\" stroke=\"%s\" stroke-width=\"%d\"/>",
		      LEFT, y, BOX_W, BOX_H, fill_of(status), marked ? "#b71c1c" : "#455a64", marked ? 3 : 1);
	wf_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"13\" font-weight=\"bold\">", LEFT + 8, y + 16);
	while (shown < len && shown > 0 && ((unsigned char)id[shown] & 0xc0) == 0x80)
		shown--;	/* never half a character */
	wf_report_text(b, id, shown);
	wf_buf_printf(b, "%s <tspan font-weight=\"normal\">(", shown < len ? "\xe2\x80\xa6" : "");
	wf_report_text(b, action, strlen(action));
	wf_buf_printf(b, ")</tspan></text><text x=\"%d\" y=\"%d\" font-size=\"12\">", LEFT + 8, y + 32);
	if (n > 0 || status)
		wf_buf_printf(b, "%s, %g pass%s%s", status ? status : "begun", n, n == 1 ? "" : "es",
			      marked ? (cur && !strcmp(cur, id) ? ", current" : ", failed here") : "");
	else
		wf_buf_addstr(b, "not reached");
	wf_buf_addstr(b, "</text></g>\n");
	jv_free(passes);
}

/* A move from box FROM to box TO taken COUNT times (0: the file order, not taken); LANE numbers the lanes. */
static void
draw_edge(struct wf_buf *b, int from, int to, double count, int *lane)
{
	int x = LEFT + BOX_W / 2, y0 = TOP + from * (BOX_H + GAP) + BOX_H, y1 = TOP + to * (BOX_H + GAP);
	const char *style = count > 0 ? "stroke=\"#1565c0\" stroke-width=\"3\"" : "stroke=\"#90a4ae\" stroke-width=\"1\"";

	if (to == from + 1) {
		wf_buf_printf(b, "<path d=\"M%d,%d L%d,%d\" fill=\"none\" %s marker-end=\"url(#wf-arrow)\"/>", x, y0, x,
			      y1 - 2, style);
		if (count > 0)
			wf_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#1565c0\">&#215;%g</text>", x + 8,
				      (y0 + y1) / 2 + 4, count);
		wf_buf_addch(b, '\n');
		return;
	}
	/* Any other move: out of the right side of FROM, along its own lane, into the right side of TO. */
	{
		int right = LEFT + BOX_W, lx = right + LANE * (1 + (*lane)++);
		int ya = TOP + from * (BOX_H + GAP) + BOX_H / 2 + (to == from ? -8 : 0);
		int yb = TOP + to * (BOX_H + GAP) + BOX_H / 2 + (to == from ? 8 : 0);

		wf_buf_printf(b, "<path d=\"M%d,%d H%d V%d H%d\" fill=\"none\" %s marker-end=\"url(#wf-arrow)\"/>", right,
			      ya, lx, yb, right + 2, style);
		wf_buf_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#1565c0\">&#215;%g</text>\n", lx + 4,
			      (ya + yb) / 2 + 4, count);
	}
}

/* WF and STORY are borrowed. */
void
wf_report_svg(struct wf_buf *b, jv wf, jv story)
{
	jv steps = wf_jv_get(wf, "steps"), edges = wf_jv_get(story, "edges"), last = last_status(story);
	jv at = step_places(steps);
	int nsteps = jv_get_kind(steps) == JV_KIND_ARRAY ? jv_array_length(jv_copy(steps)) : 0, lanes = 0, lane = 0;
	int height, width;

	if (jv_get_kind(edges) != JV_KIND_ARRAY) {
		jv_free(edges);
		edges = jv_array();
	}
	/* A lane for every move that is not to the next box. */
	jv_array_foreach(edges, i, e) {
		int f = step_index(at, wf_jv_str(e, "from")), t = step_index(at, wf_jv_str(e, "to"));

		(void)i;
		lanes += f >= 0 && t >= 0 && t != f + 1;
		jv_free(e);
	}
	width = LEFT + BOX_W + LANE * (lanes + 1) + LABEL_ROOM;
	height = TOP * 2 + (nsteps ? nsteps * BOX_H + (nsteps - 1) * GAP : BOX_H);
	wf_buf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		      "font-family=\"sans-serif\" role=\"img\" aria-label=\"the workflow's steps and the path the run took\">\n"
		      "<defs><marker id=\"wf-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
		      "markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#455a64\"/></marker></defs>\n",
		      width, height, width, height);
	/* The file order, then the moves taken over it. */
	for (int i = 0; i + 1 < nsteps; i++)
		draw_edge(b, i, i + 1, 0, &lane);
	jv_array_foreach(edges, i, e) {
		int f = step_index(at, wf_jv_str(e, "from")), t = step_index(at, wf_jv_str(e, "to"));

		(void)i;
		if (f >= 0 && t >= 0)
			draw_edge(b, f, t, wf_jv_num(e, "count", 1), &lane);
		jv_free(e);
	}
	for (int i = 0; i < nsteps; i++) {
		jv s = jv_array_get(jv_copy(steps), i);

		draw_box(b, s, i, story, last);
		jv_free(s);
	}
	wf_buf_addstr(b, "</svg>");
	jv_free(at);
	jv_free(last);
	jv_free(edges);
	jv_free(steps);
}
