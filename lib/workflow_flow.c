/*
 * workflow_flow.c: the checks that need the whole list of normalised
 * steps (wf_check_flow): step ids unique, every jump naming a step, a
 * loop's 'to' earlier than the loop, no jump that nothing can take,
 * conditions that parse, a loop's bounds and a choice's options.  Each
 * step's keys are read in one pass (view_step) and step ids found in a C
 * hash table: a 10,000-step workflow is checked in linear time.
 *
 * Rules: no I/O; problems go to the caller's struct wf_check.
 *
 * Layer 2: domain data.
 */
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"
#include "fallback.h"
#include "quorum.h"

/* The loop and choice rules that need the whole list of steps. */

/* The most jumps one step can hold: each of wf_jump_keys once, and "next". */
#define VIEW_JUMPS 16

/* What the flow checks read of one normalised step, from one pass over its keys: the text of each, else NULL. */
struct step_view {
	const char *id, *action, *fallback;
	const char *conds[3];	/* check, condition, if */
	const char *jumps[4];	/* on-true, on-false, on-approved, on-rejected */
	struct {
		const char *key;	/* one of wf_jump_keys, or "next" (borrowed from the step) */
		jv to;			/* its value, a string (borrowed from the step) */
	} jump[VIEW_JUMPS];
	int njump;
};

static const char *const cond_keys[] = { "check", "condition", "if", NULL };
static const char *const dead_jump_keys[] = { "on-true", "on-false", "on-approved", "on-rejected", NULL };

/* The index of K in the NULL-terminated KEYS, or -1; the first letter is compared before the rest. */
static int
key_index(const char *const *keys, const char *k)
{
	for (int n = 0; keys[n]; n++)
		if (keys[n][0] == k[0] && !strcmp(keys[n], k))
			return n;
	return -1;
}

/*
 * Fill V from one pass over the keys of step S (borrowed: V's texts live
 * as long as S).  A jump is a string under one of wf_jump_keys, or under
 * "next" in canonical JSON, which names each step's fall-through; the
 * one step of a request has none, for the steps they name are not at hand.
 */
static void
view_step(struct wf_check *c, jv s, struct step_view *v)
{
	memset(v, 0, sizeof *v);
	jv_object_foreach(s, key, val) {
		const char *k = jv_string_value(key);
		int str = jv_get_kind(val) == JV_KIND_STRING, n;
		const char *t = str ? jv_string_value(val) : NULL;

		if (!strcmp(k, "id"))
			v->id = t;
		else if (!strcmp(k, "action"))
			v->action = t;
		else if (!strcmp(k, "fallback"))
			v->fallback = t;
		else if ((n = key_index(cond_keys, k)) >= 0)
			v->conds[n] = t;
		if ((n = key_index(dead_jump_keys, k)) >= 0)
			v->jumps[n] = t;
		if (str && !c->one_step && v->njump < VIEW_JUMPS &&
		    (n >= 0 || key_index(wf_jump_keys, k) >= 0 || (c->json && !strcmp(k, "next")))) {
			/* S holds KEY and VAL: borrowed from it, they outlive these copies. */
			v->jump[v->njump].key = k;
			v->jump[v->njump++].to = val;
		}
		jv_free(key);
		jv_free(val);
	}
}

/*
 * Refuse the jump keys of step S (borrowed, at index I; V its view) that nothing can
 * ever take: on-true/on-false need a check (or a conditional); on-approved
 * and on-rejected need a check or an action that gives a verdict, and a
 * check's on-true/on-false take precedence over them; a loop takes none.
 */
static void
check_dead_jumps(struct wf_check *c, jv s, int i, const struct step_view *v)
{
	const char *const *keys = dead_jump_keys;
	const char *action = v->action, *id = v->id;
	int cond = action && !strcmp(action, "conditional"), loop = action && !strcmp(action, "loop");
	int check = v->conds[0] != NULL;

	if (!action)
		return;
	for (int k = 0; keys[k]; k++) {
		int verdict_key = k >= 2;
		char path[256], why[160];

		if (!v->jumps[k])
			continue;
		why[0] = '\0';
		if (loop)
			snprintf(why, sizeof why, "a loop goes by its 'condition', 'to' and 'on-exhausted'");
		else if (cond && verdict_key)
			snprintf(why, sizeof why, "a conditional goes to 'on-true' or 'on-false'");
		else if (cond)
			;
		else if (check && verdict_key && v->jumps[k - 2])
			snprintf(why, sizeof why, "'%s' takes precedence (keep one)", keys[k - 2]);
		else if (!check && !verdict_key)
			snprintf(why, sizeof why, "step '%s' has no 'check' (add one, or remove '%s')",
				 id ? id : "?", keys[k]);
		else if (!check && !wf_step_gives_verdict(s))
			snprintf(why, sizeof why, "step '%s' has no 'check' and action '%s' gives no verdict (add a 'check', or remove '%s')",
				 id ? id : "?", action, keys[k]);
		if (!why[0])
			continue;
		snprintf(path, sizeof path, "%s/%d/%s", WF_CHECK_BASE(c), i, keys[k]);
		wf_check_at(c, path, 0, "'%s' can never be taken: %s", keys[k], why);
	}
}

/* Each step's id and index: open addressing over texts borrowed from the steps. */
struct id_table {
	size_t cap;	/* a power of two, at least twice the number of steps */
	struct id_slot {
		const char *id;	/* NULL: free */
		size_t len;
		int index;
	} *slot;
};

/* The slot of the id S of LEN bytes in T: where it is, or the free one where it would go. */
static struct id_slot *
id_slot(const struct id_table *t, const char *s, size_t len)
{
	size_t h = 2166136261u;

	for (size_t k = 0; k < len; k++)
		h = (h ^ (unsigned char)s[k]) * 16777619u;
	for (h &= t->cap - 1; t->slot[h].id; h = (h + 1) & (t->cap - 1))
		if (t->slot[h].len == len && !memcmp(t->slot[h].id, s, len))
			break;
	return &t->slot[h];
}

/* The index of the step whose id is the string TO (borrowed), or -1. */
static int
id_find(const struct id_table *t, jv to)
{
	struct id_slot *e = id_slot(t, jv_string_value(to), (size_t)jv_string_length_bytes(jv_copy(to)));

	return e->id ? e->index : -1;
}

/* The index of each step id of STEPS (borrowed; T's texts live as long as it) into T, reporting a duplicate. */
static void
step_ids(struct wf_check *c, jv steps, struct id_table *t)
{
	int n = jv_array_length(jv_copy(steps));

	t->cap = 16;
	while (t->cap < (size_t)n * 2)
		t->cap *= 2;
	t->slot = wf_xcalloc(t->cap, sizeof *t->slot);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		jv idv = wf_jv_get(s, "id");
		struct id_slot *e;
		char path[256];

		if (jv_get_kind(idv) != JV_KIND_STRING) {
			jv_free(idv);
			jv_free(s);
			continue;
		}
		e = id_slot(t, jv_string_value(idv), (size_t)jv_string_length_bytes(jv_copy(idv)));
		if (e->id) {
			const char *id = jv_string_value(idv);
			int pi = e->index;
			char pp[256];
			jv pos;

			snprintf(pp, sizeof pp, "%s/%d/id", WF_CHECK_BASE(c), pi);
			pos = jv_object_get(jv_copy(c->pos), jv_string(pp));
			snprintf(path, sizeof path, "%s/%d/id", WF_CHECK_BASE(c), i);
			if (c->json)
				wf_check_at(c, path, 1, "duplicate step id '%s' (first as step %d)", id, pi + 1);
			else
				wf_check_at(c, path, 1, "duplicate step id '%s' (first at %d:%d)", id,
				   jv_get_kind(pos) == JV_KIND_ARRAY ? (int)jv_number_value(jv_array_get(jv_copy(pos), 2)) : 0,
				   jv_get_kind(pos) == JV_KIND_ARRAY ? (int)jv_number_value(jv_array_get(jv_copy(pos), 3)) : 0);
			jv_free(pos);
		} else {
			/* STEPS holds the id: borrowed from it, it outlives this copy. */
			e->id = jv_string_value(idv);
			e->len = (size_t)jv_string_length_bytes(jv_copy(idv));
			e->index = i;
		}
		jv_free(idv);
		jv_free(s);
	}
}

/* Report each jump of step I (V its view, ACTION its action) that names no step, or a loop's 'to' that is not earlier; T from step_ids. */
static void
check_jumps(struct wf_check *c, int i, const struct id_table *t, const struct step_view *v)
{
	int loop = v->action && !strcmp(v->action, "loop");

	for (int j = 0; j < v->njump; j++) {
		const char *kn = v->jump[j].key, *to = jv_string_value(v->jump[j].to);
		int to_loop = loop && !strcmp(kn, "to"), ti;
		char path[256];

		/* 'to' jumps only in a loop; a custom action may use the word for itself. */
		if (!strcmp(kn, "to") && !loop)
			continue;
		ti = id_find(t, v->jump[j].to);
		if (ti >= 0 && !(to_loop && ti >= i))
			continue;
		snprintf(path, sizeof path, "%s/%d/%s", WF_CHECK_BASE(c), i, kn);
		if (ti < 0)
			wf_check_at(c, path, 1, "'%s' names no step: '%s'", kn, to);
		else
			wf_check_at(c, path, 1, "loop 'to' must name an earlier step: '%s' is %s", to,
			   ti == i ? "the loop itself" : "after the loop");
	}
}

/* Report a condition of step I (V its view) that does not parse: found before the run, not during it. */
static void
check_conditions(struct wf_check *c, int i, const struct step_view *v)
{
	const char *const *conds = cond_keys;

	for (int k = 0; conds[k]; k++) {
		const char *expr = v->conds[k];
		char err[512], path[80];
		int colno = 0;

		if (!expr || wf_cond_check(expr, err, sizeof err, &colno) != WF_EXIT_DATA)
			continue;
		snprintf(path, sizeof path, "%s/%d/%s", WF_CHECK_BASE(c), i, conds[k]);
		if (!jv_object_has(jv_copy(c->pos), jv_string(path))) {
			/* Written in a Codi spelling: find the key it came from. */
			snprintf(path, sizeof path, "%s/%d/check", WF_CHECK_BASE(c), i);
		}
		if (colno > 0)
			wf_check_at(c, path, 1, "'%s': bad condition '%s': column %d: %s", conds[k], expr, colno, err);
		else
			wf_check_at(c, path, 1, "'%s': bad condition '%s': %s", conds[k], expr, err);
	}
}

/* The rules of one ACTION over its own keys: a loop's bounds, a choice's options (S borrowed, at index I; V its view). */
static void
check_action_rules(struct wf_check *c, jv s, int i, const struct step_view *v)
{
	enum wf_action_id a = wf_action_lookup(v->action);
	char path[256];

	if (a == WF_ACT_LOOP) {
		jv m = wf_jv_get(s, "max-iterations");

		if (jv_get_kind(m) == JV_KIND_NUMBER &&
		    (jv_number_value(m) < 1 || jv_number_value(m) > WF_MAX_ITERATIONS_CAP)) {
			snprintf(path, sizeof path, "%s/%d/max-iterations", WF_CHECK_BASE(c), i);
			wf_check_at(c, path, 1, "'max-iterations' must be between 1 and %d, got %g",
			   WF_MAX_ITERATIONS_CAP, jv_number_value(m));
		}
		jv_free(m);
	} else if (a == WF_ACT_INTERACTIVE) {
		const char *kind = wf_jv_str(s, "kind");
		jv opts = wf_jv_get(s, "options");

		snprintf(path, sizeof path, "%s/%d", WF_CHECK_BASE(c), i);
		if (kind && !strcmp(kind, "choice") &&
		    (jv_get_kind(opts) != JV_KIND_ARRAY || jv_array_length(jv_copy(opts)) == 0))
			wf_check_at(c, path, 1, "step '%s': kind 'choice' needs a non-empty 'options' list",
			   wf_jv_str(s, "id") ? wf_jv_str(s, "id") : "?");
		jv_free(opts);
	}
	/* Only a step with a 'fallback' has a rule about it. */
	if (v->fallback)
		wf_check_fallback_rules(c, s, i);
	/* Only a step that can hold them has rules about 'models', 'quorum' and 'on-split'. */
	if (a == WF_ACT_REVIEW_PR || a == WF_ACT_AI_PROMPT)
		wf_quorum_check_rules(c, s, i);
}

/* The rules over the whole list of normalised STEPS (borrowed): ids, jumps, loops, conditions. */
void
wf_check_flow(struct wf_check *c, jv steps)
{
	int n = jv_array_length(jv_copy(steps));
	struct id_table ids;

	step_ids(c, steps, &ids);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		struct step_view v;

		view_step(c, s, &v);
		check_jumps(c, i, &ids, &v);
		check_dead_jumps(c, s, i, &v);
		check_conditions(c, i, &v);
		check_action_rules(c, s, i, &v);
		jv_free(s);
	}
	free(ids.slot);
}
