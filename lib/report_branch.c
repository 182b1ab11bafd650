/*
 * report_branch.c: a parallel step's branches on the report's timeline
 * (report.c): a row for each, its bar from the branch's start to its end
 * on an axis where the step starts at 0, so that branches that ran side
 * by side overlap, with its status and its steps as slices of the bar
 * (read from the branch's run, sub/STEP/BRANCH).  Times come from the
 * branch-start and branch-end events of the run's story.
 *
 * Layer 2: domain data.
 */
#include <string.h>

#include "parallel.h"
#include "report.h"
#include "story.h"

/* Is timeline entry E (borrowed) a step execution? */
static int
is_step(jv e)
{
	return wf_jv_str(e, "event") && !strcmp(wf_jv_str(e, "event"), "step") && wf_jv_str(e, "step");
}

/* S (NULL: "-") masked and escaped into B. */
static void
put(struct wf_buf *b, const char *s)
{
	wf_report_text(b, s ? s : "-", strlen(s ? s : "-"));
}

/* Is timeline entry E (borrowed) a branch-start or branch-end event, which a branch's row shows? */
int
wf_report_is_branch_event(jv e)
{
	const char *ev = wf_jv_str(e, "event");

	return ev && (!strcmp(ev, "branch-start") || !strcmp(ev, "branch-end")) && wf_jv_str(e, "branch");
}

/*
 * The branches of the parallel step execution TL[I] (TL borrowed), from
 * the branch-start and branch-end events after it, before the next step:
 * each {name, start, end?, status?, exit_code?}, in the order they
 * started.  The caller owns the list.
 */
static jv
branch_spans(jv tl, int i)
{
	jv step = jv_array_get(jv_copy(tl), i), spans = jv_array();
	int n = jv_array_length(jv_copy(tl));

	for (int j = i + 1; j < n; j++) {
		jv e = jv_array_get(jv_copy(tl), j);
		const char *name = wf_jv_str(e, "branch"), *ev = wf_jv_str(e, "event");

		if (is_step(e)) {
			jv_free(e);
			break;
		}
		if (wf_report_is_branch_event(e) && !strcmp(wf_jv_str(e, "step"), wf_jv_str(step, "step"))) {
			if (!strcmp(ev, "branch-start")) {
				jv sp = jv_object_set(jv_object(), jv_string("name"), jv_string(name));

				spans = jv_array_append(spans, jv_object_set(sp, jv_string("start"), wf_jv_get(e, "time")));
			} else {
				jv_array_foreach(spans, k, sp) {
					if (!strcmp(wf_jv_str(sp, "name"), name) && !wf_jv_str(sp, "end")) {
						sp = jv_object_set(sp, jv_string("end"), wf_jv_get(e, "time"));
						sp = jv_object_set(sp, jv_string("status"), wf_jv_get(e, "status"));
						sp = jv_object_set(sp, jv_string("exit_code"), wf_jv_get(e, "exit_code"));
						spans = jv_array_set(spans, k, jv_copy(sp));
					}
					jv_free(sp);
				}
			}
		}
		jv_free(e);
	}
	jv_free(step);
	return spans;
}

/*
 * The steps branch NAME of step STEP of run R ran, inside its bar that
 * spans S to F (ms since the epoch): each a slice from its start to its
 * end, titled with its id, status and duration.
 */
static void
put_segments(struct wf_buf *b, struct wf_run *r, const char *step, const char *name, double s, double f)
{
	struct wf_run *br;
	char err[512];
	jv story, tl;

	if (f <= s || wf_run_open_branch(r, step, name, 0, &br, err, sizeof err))
		return;
	story = wf_story_of(br, err, sizeof err);
	tl = wf_jv_get(story, "timeline");
	if (jv_get_kind(tl) == JV_KIND_ARRAY)
		jv_array_foreach(tl, k, e) {
			double a = wf_iso_ms(wf_jv_str(e, "started")), z = wf_iso_ms(wf_jv_str(e, "ended"));

			(void)k;
			if (is_step(e) && a >= s && z >= a) {
				double left = (a - s) * 100 / (f - s), width = (z - a) * 100 / (f - s);

				wf_buf_printf(b, "<span class=\"seg\" style=\"left:%.2f%%;width:%.2f%%\" title=\"",
					      left > 100 ? 100 : left, left + width > 100 ? (left > 100 ? 0 : 100 - left) : width);
				put(b, wf_jv_str(e, "step"));
				wf_buf_addch(b, ' ');
				put(b, wf_jv_str(e, "status"));
				wf_buf_addch(b, ' ');
				wf_report_duration(b, z - a);
				wf_buf_addstr(b, "\"></span>");
			}
			jv_free(e);
		}
	jv_free(tl);
	jv_free(story);
	wf_run_close(br);
}

/* When the step execution E, TL[I] (both borrowed), ended as far as the journal says (ms): its end, else its branches' last end; -1 if none. */
double
wf_report_span_end(jv tl, int i, jv e)
{
	double end = wf_iso_ms(wf_jv_str(e, "ended"));
	jv spans = end >= 0 ? jv_array() : branch_spans(tl, i);

	jv_array_foreach(spans, k, sp) {
		double f = wf_iso_ms(wf_jv_str(sp, "end"));

		(void)k;
		end = f > end ? f : end;
		jv_free(sp);
	}
	jv_free(spans);
	return end;
}

/*
 * A row for each branch of the parallel step execution E, TL[I] (both
 * borrowed): its bar from its start to its end, on the axis that has the
 * step's start at 0 and LONGEST ms as the whole track.
 */
void
wf_report_branch_rows(struct wf_buf *b, struct wf_run *r, jv tl, int i, jv e, double longest)
{
	double t0 = wf_iso_ms(wf_jv_str(e, "started")), t_end = wf_report_span_end(tl, i, e);
	jv spans = branch_spans(tl, i);
	int live = wf_run_is_live(r);

	jv_array_foreach(spans, k, sp) {
		double s = wf_iso_ms(wf_jv_str(sp, "start")), f = wf_iso_ms(wf_jv_str(sp, "end"));
		const char *status = wf_jv_str(sp, "status");
		double left, width, ms;

		(void)k;
		if (f < 0)	/* still running, or cut short: up to the step's end as far as it is known */
			f = t_end >= s ? t_end : s;
		ms = s >= 0 ? f - s : -1;
		left = t0 >= 0 && s >= t0 && longest > 0 ? (s - t0) * 100 / longest : 0;
		left = left > 100 ? 100 : left;
		width = longest > 0 && ms > 0 ? ms * 100 / longest : 0;
		width = left + width > 100 ? 100 - left : width;
		if (!status)
			status = live && !strcmp(wf_jv_str(e, "status") ? wf_jv_str(e, "status") : "", "running") ? "running" :
				 "interrupted";
		else if (!strcmp(status, "completed"))
			status = "ok";	/* its run completed: the branch is ok, as the step's result says */
		wf_buf_printf(b, "<a class=\"br\" href=\"#e%d\">", i);
		put(b, wf_jv_str(e, "step"));
		wf_buf_addch(b, '/');
		put(b, wf_jv_str(sp, "name"));
		wf_buf_addstr(b, "</a><div class=\"track\"><div class=\"bar branch st-");
		put(b, status);
		wf_buf_addstr(b, "\" data-branch=\"");
		put(b, wf_jv_str(e, "step"));
		wf_buf_addch(b, '/');
		put(b, wf_jv_str(sp, "name"));
		wf_buf_printf(b, "\" style=\"margin-left:%.2f%%;width:%.2f%%\">", left, width);
		put_segments(b, r, wf_jv_str(e, "step"), wf_jv_str(sp, "name"), s, f);
		wf_buf_addstr(b, "</div></div><span class=\"dur\">");
		wf_report_duration(b, ms);
		wf_buf_addch(b, ' ');
		wf_report_status(b, status);
		wf_buf_addstr(b, "</span>\n");
		jv_free(sp);
	}
	jv_free(spans);
}
