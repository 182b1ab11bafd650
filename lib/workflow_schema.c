/*
 * workflow_schema.c: the tables every workflow is checked against, other
 * than the actions' own keys (action.c): the top level, the keys every
 * step takes, retry and budget, the other spellings Codi and others use,
 * what wf-parse adds to the canonical JSON, and the members of a step
 * request; and the whole schema as JSON for wf-parse --schema.
 *
 * Rules: data and lookups only, no I/O.
 *
 * Layer 2: domain data.
 */
#include <string.h>

#include "wf_priv.h"

const struct wf_field wf_schema_top[] = {
	{ "name", WF_F_STR, NULL }, { "description", WF_F_STR, NULL },
	{ "version", WF_F_STR, NULL }, { "interactive", WF_F_BOOL, NULL },
	{ "persistent", WF_F_BOOL, NULL }, { "strict", WF_F_BOOL, NULL },
	{ "variables", WF_F_MAP, NULL }, { "env", WF_F_MAP, NULL },
	{ "model", WF_F_STR, NULL }, { "budget", WF_F_BUDGET, NULL },
	{ "max-steps", WF_F_INT, NULL }, { "steps", WF_F_ANY, NULL },
	{ "inputs", WF_F_INPUTS, NULL }, { "outputs", WF_F_MAP, NULL },
	{ NULL, 0, NULL }
};

/* The members of one of a workflow's inputs. */
const struct wf_field wf_schema_input[] = {
	{ "description", WF_F_STR, NULL }, { "default", WF_F_ANY, NULL }, { NULL, 0, NULL }
};

const struct wf_field wf_schema_step[] = {
	{ "id", WF_F_STR, NULL }, { "action", WF_F_STR, NULL },
	{ "description", WF_F_STR, NULL }, { "if", WF_F_STR, NULL },
	{ "check", WF_F_STR, NULL }, { "variable", WF_F_STR, NULL },
	{ "on-true", WF_F_STEP, NULL }, { "on-false", WF_F_STEP, NULL },
	{ "on-approved", WF_F_STEP, NULL }, { "on-rejected", WF_F_STEP, NULL },
	{ "on-complete", WF_F_STEP, NULL }, { "on-error", WF_F_STEP, NULL },
	{ "timeout", WF_F_DURATION, NULL }, { "retry", WF_F_RETRY, NULL },
	{ "continue-on-error", WF_F_BOOL, NULL }, { "idempotent", WF_F_BOOL, NULL },
	{ "env", WF_F_MAP, NULL }, { "secrets", WF_F_STRLIST, NULL },
	{ "fallback", WF_F_STR, "never" },
	{ NULL, 0, NULL }
};

/* The keys of a step that name another step to go to ('to' only in a loop). */
const char *const wf_jump_keys[] = {
	"on-true", "on-false", "on-approved", "on-rejected", "on-complete", "on-error", "to", "on-split", NULL
};

/* The members of a step's 'retry' and of a workflow's 'budget'. */
const struct wf_field wf_schema_retry[] = {
	{ "attempts", WF_F_INT, NULL }, { "delay", WF_F_DURATION, NULL }, { NULL, 0, NULL }
};

const struct wf_field wf_schema_budget[] = {
	{ "tokens", WF_F_INT, NULL }, { "usd", WF_F_NUM, NULL }, { NULL, 0, NULL }
};

/* Codi's (and a few common) spellings, folded into the canonical key. */
static const struct { const char *alias, *canon, *only; } key_aliases[] = {
	{ "onTrue", "on-true", NULL }, { "onFalse", "on-false", NULL },
	{ "onApproved", "on-approved", NULL }, { "onRejected", "on-rejected", NULL },
	{ "onComplete", "on-complete", NULL }, { "onError", "on-error", NULL },
	{ "on-success", "on-complete", NULL }, { "onSuccess", "on-complete", NULL },
	{ "maxIterations", "max-iterations", NULL }, { "onExhausted", "on-exhausted", NULL },
	{ "continueOnError", "continue-on-error", NULL }, { "maxSteps", "max-steps", NULL },
	{ "maxAttempts", "max-attempts", NULL }, { "allowBase", "allow-base", NULL },
	{ "requireApproval", "require-approval", NULL }, { "deleteBranch", "delete-branch", NULL },
	{ "inputType", "kind", "interactive" }, { "choices", "options", "interactive" },
	{ "defaultValue", "default", "interactive" }, { "prompt", "message", "interactive" },
	{ "check", "condition", "conditional" }, { "timeoutMs", "timeout", NULL },
	{ NULL, NULL, NULL }
};

/* What wf-parse adds to the top of the canonical workflow. */
const struct wf_field wf_schema_canonical_top[] = {
	{ "source", WF_F_STR, NULL }, { "hash", WF_F_STR, NULL }, { NULL, 0, NULL }
};

/* What wf-parse adds to each step of the canonical workflow. */
const struct wf_field wf_schema_canonical_step[] = {
	{ "next", WF_F_STEP, NULL }, { "fallbacks", WF_F_STRLIST, NULL }, { NULL, 0, NULL }
};

/* The members of a step request (wf-json(7)) that wf-step reads; "step" has its own schema. */
const struct wf_field wf_schema_request[] = {
	{ "step", WF_F_OBJECT, NULL }, { "vars", WF_F_VARS, NULL }, { "steps", WF_F_RECORDS, NULL },
	{ "last", WF_F_OBJECT, NULL }, { "loops", WF_F_OBJECT, NULL }, { "iteration", WF_F_INT, NULL },
	{ "model", WF_F_MODEL, NULL }, { "original_model", WF_F_MODEL, NULL },
	{ "transcript", WF_F_LIST, NULL }, { "run", WF_F_OBJECT, NULL }, { "answer", WF_F_STR, NULL },
	{ NULL, 0, NULL }
};

const struct wf_field wf_schema_request_run[] = {
	{ "name", WF_F_STR, NULL }, { "dir", WF_F_STR, NULL }, { "cwd", WF_F_STR, NULL },
	{ "source", WF_F_STR, NULL }, { "seq", WF_F_NUM, NULL }, { "strict", WF_F_BOOL, NULL },
	{ "interactive", WF_F_BOOL, NULL }, { "quiet", WF_F_BOOL, NULL }, { "tty", WF_F_BOOL, NULL },
	{ "env", WF_F_MAP, NULL }, { "echo_fd", WF_F_INT, NULL }, { "budget", WF_F_OBJECT, NULL },
	{ NULL, 0, NULL }
};

const struct wf_field *
wf_field_find(const struct wf_field *list, const char *name)
{
	for (const struct wf_field *f = list; f && f->name; f++)
		if (f->name[0] == name[0] && !strcmp(f->name, name))
			return f;
	return NULL;
}

/* The closest known key to KEY within edit distance 2, for a hint. */
const char *
wf_field_closest(const char *key, const struct wf_field *a, const struct wf_field *b)
{
	const char *best = NULL;
	int bestd = 3;

	for (int pass = 0; pass < 2; pass++)
		for (const struct wf_field *f = pass ? b : a; f && f->name; f++) {
			int d = wf_edit_distance(key, f->name);

			if (d < bestd) {
				bestd = d;
				best = f->name;
			}
		}
	return best;
}

const char *
wf_schema_canon_key(const char *key, const char *action)
{
	/* The first letter first: most keys are spelt no other way. */
	for (int i = 0; key_aliases[i].alias; i++)
		if (key_aliases[i].alias[0] == key[0] && !strcmp(key_aliases[i].alias, key) &&
		    (!key_aliases[i].only || (action && !strcmp(key_aliases[i].only, action))))
			return key_aliases[i].canon;
	return key;
}

/* Every table of the schema as one JSON object (wf-parse --schema); returns ownership to the caller. */
jv
wf_workflow_schema(void)
{
	jv acts = jv_object(), aliases = jv_array(), o;

	for (const struct wf_action *a = wf_actions; a->name; a++) {
		jv row = wf_action_json(a);

		acts = jv_object_set(acts, jv_string(a->name), jv_object_delete(row, jv_string("name")));
	}
	for (int i = 0; key_aliases[i].alias; i++) {
		jv al = jv_object_set(jv_object(), jv_string("alias"), jv_string(key_aliases[i].alias));

		al = jv_object_set(al, jv_string("key"), jv_string(key_aliases[i].canon));
		al = jv_object_set(al, jv_string("action"),
				   key_aliases[i].only ? jv_string(key_aliases[i].only) : jv_null());
		aliases = jv_array_append(aliases, al);
	}
	o = jv_object_set(jv_object(), jv_string("workflow"), wf_fields_json(wf_schema_top));
	o = jv_object_set(o, jv_string("step"), wf_fields_json(wf_schema_step));
	o = jv_object_set(o, jv_string("retry"), wf_fields_json(wf_schema_retry));
	o = jv_object_set(o, jv_string("budget"), wf_fields_json(wf_schema_budget));
	o = jv_object_set(o, jv_string("actions"), acts);
	o = jv_object_set(o, jv_string("aliases"), aliases);
	o = jv_object_set(o, jv_string("canonical"),
		jv_object_set(jv_object_set(jv_object(), jv_string("workflow"), wf_fields_json(wf_schema_canonical_top)),
			      jv_string("step"), wf_fields_json(wf_schema_canonical_step)));
	o = jv_object_set(o, jv_string("request"),
		jv_object_set(jv_object_set(jv_object(), jv_string("members"), wf_fields_json(wf_schema_request)),
			      jv_string("run"), wf_fields_json(wf_schema_request_run)));
	return jv_object_set(o, jv_string("names"), wf_env_name_lists());
}
