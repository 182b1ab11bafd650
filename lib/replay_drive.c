/*
 * replay_drive.c: the driver's side of replaying and of offline runs
 * (wf-run(1) "Replay and estimates").  A start with --replay RUN finds
 * that run once and journals it in its run-start, with --offline; every
 * step's request then carries both to wf-step, whose model calls hand
 * them to wf-model chat (replay.c decides there).  A resume keeps them:
 * they are the run's, in its state.
 *
 * Layer 4: driver.
 */
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "replay.h"

/* Does the run replay or refuse live calls?  WF_GO_ON, or an exit status after a message. */
int
wf_driver_replay_open(struct driver *d)
{
	struct wf_run_opts *o = d->o;
	char err[1024];
	int code = 0;
	jv replay;

	if (!o->replay)
		return WF_GO_ON;
	replay = wf_replay_locate(o->replay, o->replay_mode, &code, err, sizeof err);
	if (!jv_is_valid(replay)) {
		wf_warn("--replay: %s", err);
		return code;
	}
	if (jv_get_kind(d->start_extra) != JV_KIND_OBJECT) {
		jv_free(d->start_extra);
		d->start_extra = jv_object();
	}
	d->start_extra = jv_object_set(d->start_extra, jv_string("replay"), replay);
	return WF_GO_ON;
}

/*
 * What run D replays: its own run-start's, or, in a sub-run, its
 * caller's with the dir of the same sub-run there (sub/STEP-ID, or
 * sub/STEP-ID/BRANCH for a parallel branch); null
 * when none.  The caller owns it.
 */
static jv
replay_of(struct driver *d)
{
	jv replay = wf_jv_get(d->run->state, "replay");

	if (jv_get_kind(replay) == JV_KIND_OBJECT) {
		jv now = wf_replay_now(d->run->proj, replay);

		jv_free(replay);
		return now;
	}
	jv_free(replay);
	if (!d->parent)
		return jv_null();
	replay = replay_of(d->parent);
	if (jv_get_kind(replay) == JV_KIND_OBJECT && wf_jv_str(replay, "dir"))
		replay = jv_object_set(replay, jv_string("dir"), d->branch ?
				       jv_string_fmt("%s/sub/%s/%s", wf_jv_str(replay, "dir"), d->sub_step, d->branch) :
				       jv_string_fmt("%s/sub/%s", wf_jv_str(replay, "dir"), d->sub_step));
	return replay;
}

/* Is run D, or the run it is a sub-run of, offline? */
static int
offline(struct driver *d)
{
	return d->o->offline || wf_jv_bool(d->run->state, "offline", 0) || (d->parent && offline(d->parent));
}

/* RUN (consumed, returned), a step request's run object, with the run's replay and offline marks. */
jv
wf_driver_replay_run(struct driver *d, jv run)
{
	jv replay = replay_of(d);

	if (jv_get_kind(replay) == JV_KIND_OBJECT) {
		jv gone = wf_jv_get(d->run->state, "abandoned");

		run = jv_object_set(run, jv_string("replay"), replay);
		/* The executions whose recordings a replay does not count (replay.c). */
		if (jv_get_kind(gone) == JV_KIND_ARRAY)
			run = jv_object_set(run, jv_string("abandoned"), gone);
		else
			jv_free(gone);
	} else {
		jv_free(replay);
	}
	if (offline(d))
		run = jv_object_set(run, jv_string("offline"), jv_true());
	return run;
}
