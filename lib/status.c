/*
 * status.c: one run described for people (wf status NAME): what it is
 * doing, its variables, loops, model use, what it waits for and its last
 * events, and the command that makes a stopped run go on.  Kept out of
 * cmd/wf-state.c so the command stays glue; lists of runs are runs.c.
 * Layer 2: domain data.
 * What a run shows comes from state.c (wf_run_view, wf_run_status_shown):
 * nothing here decides a status of its own.  Text goes to standard output.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wf_priv.h"
#include "estimate.h"
#include "model_use.h"
#include "prompt_cache.h"
#include "fallback.h"
#include "replay.h"
#include "parallel.h"

/* S is borrowed. */
char *
wf_run_resume_hint(jv s, const char *name)
{
	const char *st = wf_jv_str(s, "status"), *why = wf_jv_str(s, "reason");
	jv pending = wf_jv_get(s, "pending");
	int asks = jv_get_kind(pending) == JV_KIND_OBJECT;

	jv_free(pending);
	if (!st || !strcmp(st, "completed") || asks)
		return NULL;
	if (!why)
		why = "";
	if (!strcmp(why, "loop exhausted"))
		return wf_xasprintf("raise the loop's max-iterations in the workflow, then 'wf resume %s --accept-changes', or make its condition false with 'wf resume %s --var NAME=VALUE'",
				    name, name);
	if (!strcmp(why, "step limit"))
		return wf_xasprintf("allow more steps with 'wf resume %s --max-steps %ld'", name,
				    2 * (long)wf_jv_num(s, "steps_run", WF_DEFAULT_MAX_STEPS / 2) + 1);
	if (!strcmp(why, "budget"))
		return wf_xasprintf("raise the budget with 'wf resume %s --budget AMOUNT'", name);
	if (!strcmp(why, "bad condition"))
		return wf_xasprintf("fix the condition in the workflow, then 'wf resume %s --accept-changes'", name);
	if (!strcmp(why, "step timed out"))
		return wf_xasprintf("raise the step's 'timeout:', then 'wf resume %s --accept-changes', or run it again with 'wf resume %s'",
				    name, name);
	if (!strcmp(st, "declined"))
		return wf_xasprintf("consent to the step with 'wf resume %s --yes'", name);
	{
		jv inflight = wf_jv_get(s, "inflight");
		char *hint = NULL;

		if (jv_get_kind(inflight) == JV_KIND_OBJECT && wf_jv_str(inflight, "step"))
			hint = wf_xasprintf("continue it with 'wf resume %s': step '%s' was in flight and runs again, "
					    "or, if it is marked idempotent: false, add --rerun or --skip",
					    name, wf_jv_str(inflight, "step"));
		jv_free(inflight);
		if (hint)
			return hint;
	}
	return wf_xasprintf("continue it with 'wf resume %s'", name);
}

/* Print where the run of state S (borrowed) came from (wf fork) and its last rewind, if any. */
static void
print_origin(jv s)
{
	jv fork = wf_jv_get(s, "forked_from"), back = wf_jv_get(s, "rewound");

	if (wf_jv_str(fork, "run"))
		printf("forked:   from %s #%g at %s\n", wf_jv_str(fork, "run"), wf_jv_num(fork, "id", 0),
		       wf_jv_str(fork, "step") ? wf_jv_str(fork, "step") : "?");
	if (wf_jv_str(back, "step"))
		printf("rewound:  to %s (pass %g) at %s\n", wf_jv_str(back, "step"), wf_jv_num(back, "pass", 0),
		       wf_jv_str(back, "time") ? wf_jv_str(back, "time") : "?");
	jv_free(fork);
	jv_free(back);
}

/* Print what run of state S (borrowed) replays (wf-run --replay), how many calls it did, and whether it is offline. */
static void
print_replay(jv s)
{
	jv replay = wf_jv_get(s, "replay"), usage = wf_jv_get(s, "usage");
	double n = wf_replay_count(usage);

	if (wf_jv_str(replay, "run"))
		printf("replaying: %s #%g (%s)\n", wf_jv_str(replay, "run"), wf_jv_num(replay, "id", 0),
		       wf_jv_str(replay, "mode") ? wf_jv_str(replay, "mode") : "strict");
	if (n > 0)
		printf("replayed: %g call%s, at no cost\n", n, n == 1 ? "" : "s");
	if (wf_jv_bool(s, "offline", 0))
		printf("offline:  no live model call\n");
	jv_free(replay);
	jv_free(usage);
}

/* Print the budget --budget set for the run of state S (borrowed), if any: it stands over the workflow's budget:. */
static void
print_budget(jv s)
{
	jv b = wf_jv_get(s, "budget");
	char *t = wf_budget_text(b);

	if (t)
		printf("budget:   %s (--budget)\n", t);
	free(t);
	jv_free(b);
}

/* Print the first lines of state S (borrowed): what the run is and where it stands. */
static void
print_header(struct wf_run *r, jv s, int live)
{
	const char *why = wf_jv_str(s, "reason");
	jv model = wf_jv_get(s, "model");

	printf("run:      %s\n", r->name);
	printf("status:   %s%s%s%s\n", wf_run_status_shown(s, live), why ? " (" : "", why ? why : "", why ? ")" : "");
	if (wf_jv_str(s, "cursor"))
		printf("step:     %s\n", wf_jv_str(s, "cursor"));
	print_origin(s);
	print_replay(s);
	printf("workflow: %s\n", wf_jv_str(s, "workflow") ? wf_jv_str(s, "workflow") : "?");
	printf("started:  %s\nupdated:  %s\nsteps run: %g\n", wf_jv_str(s, "started") ? wf_jv_str(s, "started") : "?",
	       wf_jv_str(s, "updated") ? wf_jv_str(s, "updated") : "?", wf_jv_num(s, "steps_run", 0));
	if (jv_get_kind(model) != JV_KIND_NULL) {
		char *m = jv_get_kind(model) == JV_KIND_STRING ? wf_jv_text(model) : wf_json_dump(model);

		printf("model:    %s\n", m);
		free(m);
	}
	jv_free(model);
	print_budget(s);
}

/* Print the variables of state S (borrowed), the first line of each cut at 70 characters. */
static void
print_vars(jv s)
{
	jv vars = wf_jv_get(s, "vars");

	if (jv_get_kind(vars) == JV_KIND_OBJECT && jv_object_length(jv_copy(vars)) > 0) {
		printf("variables:\n");
		jv_object_foreach(vars, k, v) {
			char *t = wf_jv_text(v);
			size_t len = strcspn(t, "\n");

			printf("  %s = %.*s%s\n", jv_string_value(k), (int)(len > 70 ? 70 : len), t,
			       len > 70 || t[len] ? "..." : "");
			free(t);
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(vars);
}

/*
 * Print the passes of each loop's body in state S (borrowed), as
 * max-iterations counts them; older runs kept only jumps back.
 */
static void
print_loops(jv s)
{
	jv passes = wf_jv_get(s, "passes"), loops = wf_jv_get(s, "loops");
	int header = 0;

	if (jv_get_kind(passes) == JV_KIND_OBJECT)
		jv_object_foreach(passes, k, v) {
			if (!header++)
				printf("loops:\n");
			printf("  %s: %g pass%s\n", jv_string_value(k), jv_number_value(v),
			       jv_number_value(v) == 1 ? "" : "es");
			jv_free(k);
			jv_free(v);
		}
	if (jv_get_kind(loops) == JV_KIND_OBJECT)
		jv_object_foreach(loops, k, v) {
			if (!jv_object_has(jv_copy(passes), jv_copy(k))) {
				if (!header++)
					printf("loops:\n");
				printf("  %s: jumped back %g time%s\n", jv_string_value(k), jv_number_value(v),
				       jv_number_value(v) == 1 ? "" : "s");
			}
			jv_free(k);
			jv_free(v);
		}
	jv_free(passes);
	jv_free(loops);
}

/* Print the cost in usage U (borrowed), never $0 for an unknown price, and end the line. */
static void
print_cost(jv u)
{
	jv usd = wf_jv_get(u, "usd");

	if (jv_get_kind(usd) == JV_KIND_NUMBER)
		printf("$%.6f\n", jv_number_value(usd));
	else if (wf_jv_str(u, "cost_unknown"))
		printf("cost unknown: %s\n", wf_jv_str(u, "cost_unknown"));
	else
		printf("cost unknown\n");
	jv_free(usd);
}

/* U borrowed (prompt_cache.h). */
void
wf_usage_cache_note(struct wf_buf *b, jv u)
{
	double cr = wf_jv_num(u, "cached_tokens", 0), cw = wf_jv_num(u, "cache_write_tokens", 0);

	if (cr > 0 && cw > 0)
		wf_buf_printf(b, " (%.0f cached, %.0f cache writes)", cr, cw);
	else if (cr > 0 || cw > 0)
		wf_buf_printf(b, cr > 0 ? " (%.0f cached)" : " (%.0f cache writes)", cr > 0 ? cr : cw);
}

/* Print "I input (N cached) + O output tokens, " for usage U (borrowed). */
static void
print_tokens(jv u)
{
	struct wf_buf b = {0};

	wf_buf_printf(&b, "%g input", wf_jv_num(u, "input_tokens", 0));
	wf_usage_cache_note(&b, u);
	wf_buf_printf(&b, " + %g output tokens, ", wf_jv_num(u, "output_tokens", 0));
	fputs(b.s, stdout);
	wf_buf_free(&b);
}

/* Print one line of "usage by step": step ID's use of model M, U (borrowed) its totals or, in older runs, its last call. */
static void
print_step_line(int *header, const char *id, const char *m, jv u)
{
	double calls = wf_jv_num(u, "calls", 1);

	if (!(*header)++)
		printf("usage by step:\n");
	printf("  %s: %s, ", id, m ? m : "?");
	if (calls != 1)
		printf("%g calls, ", calls);
	if (wf_jv_num(u, "replayed", 0) > 0)
		printf("%g replayed, ", wf_jv_num(u, "replayed", 0));
	print_tokens(u);
	print_cost(u);
}

/*
 * Print what each model step of state S (borrowed) used, over every pass
 * of a loop (step_usage); a run from before step_usage shows each step's
 * last call.
 */
static void
print_step_usage(jv s)
{
	jv by = wf_jv_get(s, "step_usage"), steps = wf_jv_get(s, "steps");
	int header = 0;

	if (jv_get_kind(by) == JV_KIND_OBJECT) {
		jv ids = jv_keys(jv_copy(by));

		/* Each step, then each model it used, in name order. */
		jv_array_foreach(ids, i, id) {
			jv models = wf_jv_get(by, jv_string_value(id));
			jv names = jv_get_kind(models) == JV_KIND_OBJECT ? jv_keys(jv_copy(models)) : jv_array();

			(void)i;
			jv_array_foreach(names, j, m) {
				jv u = wf_jv_get(models, jv_string_value(m));

				(void)j;
				print_step_line(&header, jv_string_value(id), jv_string_value(m), u);
				jv_free(u);
				jv_free(m);
			}
			jv_free(names);
			jv_free(models);
			jv_free(id);
		}
		jv_free(ids);
	} else if (jv_get_kind(steps) == JV_KIND_OBJECT)
		jv_object_foreach(steps, k, v) {
			jv u = wf_jv_get(v, "usage");

			if (jv_get_kind(u) == JV_KIND_OBJECT)
				print_step_line(&header, jv_string_value(k), wf_jv_str(u, "model"), u);
			jv_free(u);
			jv_free(k);
			jv_free(v);
		}
	jv_free(by);
	jv_free(steps);
}

/* Print the model use of state S (borrowed): per model, then per step, and the last output. */
static void
print_usage(jv s)
{
	jv usage = wf_jv_get(s, "usage"), last = wf_jv_get(s, "last");

	if (jv_get_kind(usage) == JV_KIND_OBJECT && jv_object_length(jv_copy(usage)) > 0) {
		printf("usage:\n");
		jv_object_foreach(usage, k, v) {
			printf("  %s: %g calls, ", jv_string_value(k), wf_jv_num(v, "calls", 0));
			print_tokens(v);
			print_cost(v);
			jv_free(k);
			jv_free(v);
		}
	}
	print_step_usage(s);
	if (wf_jv_str(last, "output") && *wf_jv_str(last, "output")) {
		const char *o = wf_jv_str(last, "output");
		size_t len = strcspn(o, "\n");

		printf("last output (%s): %.*s%s\n", wf_jv_str(last, "id") ? wf_jv_str(last, "id") : "?",
		       (int)(len > 100 ? 100 : len), o, len > 100 || o[len] ? "..." : "");
	}
	jv_free(usage);
	jv_free(last);
}

/* Print each switch of state S (borrowed) to a fallback model, by step, in order. */
static void
print_fallbacks(jv s)
{
	jv fb = wf_jv_get(s, "fallbacks");

	if (jv_get_kind(fb) == JV_KIND_ARRAY && jv_array_length(jv_copy(fb)) > 0) {
		printf("fallbacks:\n");
		jv_array_foreach(fb, i, sw) {
			char *line = wf_fallback_line(sw);

			(void)i;
			printf("  %s: %s\n", wf_jv_str(sw, "step") ? wf_jv_str(sw, "step") : "?", line);
			free(line);
			jv_free(sw);
		}
	}
	jv_free(fb);
}

/* Print the question PENDING (borrowed) of the run R of state S (borrowed) and how to answer it; BRANCH: the parallel branch that asks, or NULL. */
static void
print_question(struct wf_run *r, jv s, jv pending, const char *branch)
{
	const char *kind = wf_jv_str(pending, "kind");
	jv opts = wf_jv_get(pending, "options");
	char pre[160] = "", ans[160] = "";

	if (branch) {
		snprintf(pre, sizeof pre, "[%s] ", branch);
		snprintf(ans, sizeof ans, "%s:", branch);
	}
	printf("waiting:  %s%s%s%s\n", pre, wf_jv_str(pending, "message") ? wf_jv_str(pending, "message") :
	       kind && !strcmp(kind, "consent") ? "consent to run: " : kind ? kind : "an answer",
	       wf_jv_str(pending, "command") ? wf_jv_str(pending, "command") : "",
	       wf_jv_str(pending, "type") && !strcmp(wf_jv_str(pending, "type"), "confirm") ? " [yes/no]" : "");
	if (jv_get_kind(opts) == JV_KIND_ARRAY) {
		printf("  options:");
		jv_array_foreach(opts, i, o) {
			printf("%s %s", i ? "," : "", jv_string_value(o));
			jv_free(o);
		}
		printf("\n");
	}
	jv_free(opts);
	if (kind && !strcmp(kind, "consent") && !branch)
		printf("  approve with 'wf resume %s --yes' (or --answer yes|no|always), or 'wf trust %s'\n",
		       r->name, wf_jv_str(s, "workflow") ? wf_jv_str(s, "workflow") : r->name);
	else if (kind && !strcmp(kind, "consent"))
		printf("  approve with 'wf resume %s --answer %syes' (or no, always)\n", r->name, ans);
	else if (kind && !strcmp(kind, "step"))
		printf("  run it with 'wf resume %s', or answer with 'wf resume %s --answer skip|continue'\n",
		       r->name, r->name);
	else if (kind && !strcmp(kind, "in-doubt") && branch)
		printf("  step '%s' is in doubt: continue with 'wf resume %s --answer %srerun' or '... --answer %sskip'\n",
		       wf_jv_str(pending, "step") ? wf_jv_str(pending, "step") : "?", r->name, ans, ans);
	else if (kind && !strcmp(kind, "in-doubt"))
		printf("  continue with 'wf resume %s --rerun' or 'wf resume %s --skip'\n", r->name, r->name);
	else
		printf("  answer with 'wf resume %s --answer %sVALUE'\n", r->name, ans);
}

/* Print what the run of state S (borrowed) waits for and how to answer, or what makes it go on. */
static void
print_waiting(struct wf_run *r, jv s, int live)
{
	jv pending = wf_jv_get(s, "pending"), qs = wf_jv_get(pending, "questions");
	const char *kind = wf_jv_str(pending, "kind");

	if (kind && !strcmp(kind, "branches") && jv_get_kind(qs) == JV_KIND_ARRAY) {
		/* A parallel step's branches, each waiting for its own answer. */
		jv_array_foreach(qs, i, q) {
			(void)i;
			print_question(r, s, q, wf_jv_str(q, "branch") ? wf_jv_str(q, "branch") : "?");
			jv_free(q);
		}
	} else if (jv_get_kind(pending) == JV_KIND_OBJECT) {
		print_question(r, s, pending, NULL);
	} else if (!live) {
		char *hint = wf_run_resume_hint(s, r->name);

		if (hint)
			printf("next:     %s\n", hint);
		free(hint);
	}
	jv_free(qs);
	jv_free(pending);
}

/* Print the run's last five events. */
static void
print_last_events(struct wf_run *r)
{
	char err[256];
	long from = r->seq > 5 ? r->seq - 4 : 1;
	jv evs = wf_run_read_journal(r, from, err, sizeof err);

	if (jv_is_valid(evs) && jv_array_length(jv_copy(evs)) > 0) {
		printf("last events:\n");
		jv_array_foreach(evs, i, e) {
			(void)i;
			printf("  %s %-9s %s%s%s\n", wf_jv_str(e, "time") ? wf_jv_str(e, "time") : "",
			       wf_jv_str(e, "event") ? wf_jv_str(e, "event") : "?",
			       wf_jv_str(e, "step") ? wf_jv_str(e, "step") : "",
			       wf_jv_str(e, "status") ? " " : "", wf_jv_str(e, "status") ? wf_jv_str(e, "status") : "");
			jv_free(e);
		}
	}
	jv_free(evs);
}

/* qsort's order of the texts A and B (each a char *). */
static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The branches of the parallel step at the cursor of run R (state S
 * borrowed), when it is one: each branch's run under sub/STEP/, with its
 * status and the step it is at.
 */
static void
print_branches(struct wf_run *r, jv s)
{
	const char *id = wf_jv_str(s, "cursor");
	char path[300], *names[WF_PARALLEL_MAX_BRANCHES];
	int fd, n = 0;
	DIR *dir;
	struct dirent *e;

	if (!id || !wf_name_valid(id))
		return;
	snprintf(path, sizeof path, "sub/%s", id);
	/* A workflow step's sub-run has its journal right there; a parallel step's branches each have a directory. */
	if ((fd = openat(r->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return;
	if (faccessat(fd, "history.jsonl", F_OK, 0) == 0 || !(dir = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((e = readdir(dir)) && n < WF_PARALLEL_MAX_BRANCHES)
		if (e->d_name[0] != '.' && wf_name_valid(e->d_name))
			names[n++] = wf_xstrdup(e->d_name);
	closedir(dir);
	qsort(names, (size_t)n, sizeof *names, by_name);
	if (n)
		printf("branches: of step '%s'\n", id);
	for (int i = 0; i < n; i++) {
		struct wf_run *b = NULL;
		char err[256];

		if (!wf_run_open_branch(r, id, names[i], 0, &b, err, sizeof err)) {
			const char *st = wf_jv_str(b->state, "status"), *at = wf_jv_str(b->state, "cursor");

			printf("  %-16s %s%s%s%s\n", names[i], st ? wf_run_status_shown(b->state, wf_run_is_live(b)) : "new",
			       at && st && strcmp(st, "completed") ? " at step '" : "", at && st && strcmp(st, "completed") ? at : "",
			       at && st && strcmp(st, "completed") ? "'" : "");
			wf_run_close(b);
		}
		free(names[i]);
	}
}

/* S is borrowed. */
void
wf_run_print_status(struct wf_run *r, jv s)
{
	int live = wf_run_is_live(r);

	print_header(r, s, live);
	print_vars(s);
	print_loops(s);
	print_usage(s);
	print_fallbacks(s);
	print_branches(r, s);
	print_waiting(r, s, live);
	print_last_events(r);
}

/* One model's use PER (borrowed), as "N calls, I input / O output tokens, $U" (or cost unknown), into B. */
static void
model_use(struct wf_buf *b, jv per)
{
	double calls = wf_jv_num(per, "calls", 0);
	jv usd = wf_jv_get(per, "usd");

	wf_buf_printf(b, "%.0f call%s", calls, calls == 1 ? "" : "s");
	if (wf_jv_num(per, "replayed", 0) > 0)
		wf_buf_printf(b, " (%.0f replayed)", wf_jv_num(per, "replayed", 0));
	wf_buf_printf(b, ", %.0f input", wf_jv_num(per, "input_tokens", 0));
	wf_usage_cache_note(b, per);
	wf_buf_printf(b, " / %.0f output tokens, ", wf_jv_num(per, "output_tokens", 0));
	if (jv_get_kind(usd) == JV_KIND_NUMBER)
		wf_buf_printf(b, "$%.4f", jv_number_value(usd));
	else
		wf_buf_addstr(b, "cost unknown");
	jv_free(usd);
}

/* USAGE is borrowed. */
void
wf_usage_text(struct wf_buf *b, jv usage)
{
	int models = jv_get_kind(usage) == JV_KIND_OBJECT ? jv_object_length(jv_copy(usage)) : 0;

	if (models > 0)
		jv_object_foreach(usage, k, per) {
			wf_buf_printf(b, models == 1 ? "; %s: " : "\n  %s: ", jv_string_value(k));
			model_use(b, per);
			jv_free(k);
			jv_free(per);
		}
}
