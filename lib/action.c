/*
 * action.c: the one table of built-in actions.  Each row says what an
 * action is: its name, what it touches (consent, a model, git, the
 * forge), whether its result carries a verdict, whether the driver runs
 * it rather than wf-step, what running it twice does, and the keys its
 * steps take (the schema workflow_check.c checks them with).
 *
 * Adding an action is one row here and one function in step.c's array
 * of runners; everything else (validation, consent, preflight, wf-step
 * --actions, wf-parse --schema and the doc tests) reads this table.
 *
 * Rules: data and lookups only.  No I/O, no allocation except in the
 * functions that return a jv for a program to print.
 *
 * Layer 2: domain data.
 */
#include <stdio.h>
#include <string.h>

#include "wf_priv.h"

#define END { NULL, 0, NULL }

/* Indexed by enum wf_action_id: step.c's runners follow the same order. */
const struct wf_action wf_actions[WF_ACT_COUNT + 1] = {
	[WF_ACT_SHELL] = { "shell", WF_ACTION_CONSENT, WF_REPEAT_COMMAND, "command", {
		{ "command", WF_F_STR, NULL }, { "output", WF_F_STR, NULL },
		{ "cwd", WF_F_STR, NULL }, END } },
	[WF_ACT_AI_PROMPT] = { "ai-prompt", WF_ACTION_MODEL, WF_REPEAT_LOCAL, "prompt", {
		{ "prompt", WF_F_STR, NULL }, { "system", WF_F_STR, NULL },
		{ "output", WF_F_STR, NULL }, { "model", WF_F_STR, NULL },
		{ "format", WF_F_STR, "text|json" }, { "context", WF_F_STR, "full|none" },
		{ "options", WF_F_MAP, NULL }, { "models", WF_F_STRLIST, NULL },
		{ "quorum", WF_F_INT, NULL }, { "on-split", WF_F_STEP, NULL }, END } },
	[WF_ACT_SWITCH_MODEL] = { "switch-model", 0, WF_REPEAT_LOCAL, "model", {
		{ "model", WF_F_STR, NULL }, END } },
	[WF_ACT_LOOP] = { "loop", WF_ACTION_DRIVER, WF_REPEAT_LOCAL, "to max-iterations", {
		{ "to", WF_F_STEP, NULL }, { "condition", WF_F_STR, NULL },
		{ "max-iterations", WF_F_INT, NULL },
		{ "on-exhausted", WF_F_STR, "fail|continue|pause" }, END } },
	[WF_ACT_CONDITIONAL] = { "conditional", WF_ACTION_DRIVER, WF_REPEAT_LOCAL, "condition", {
		{ "condition", WF_F_STR, NULL }, END } },
	[WF_ACT_INTERACTIVE] = { "interactive", WF_ACTION_VERDICT, WF_REPEAT_LOCAL, "message", {
		{ "message", WF_F_STR, NULL }, { "kind", WF_F_STR, "confirm|choice|text" },
		{ "options", WF_F_STRLIST, NULL }, { "default", WF_F_STR, NULL }, END } },
	[WF_ACT_LOAD_VARIABLE] = { "load-variable", 0, WF_REPEAT_LOCAL, "name from", {
		{ "name", WF_F_STR, NULL }, { "from", WF_F_STR, NULL }, END } },
	[WF_ACT_SET_VARIABLE] = { "set-variable", 0, WF_REPEAT_LOCAL, "name value", {
		{ "name", WF_F_STR, NULL }, { "value", WF_F_STR, NULL }, END } },
	[WF_ACT_CREATE_PR] = { "create-pr", WF_ACTION_CONSENT | WF_ACTION_MODEL | WF_ACTION_GIT | WF_ACTION_FORGE,
		WF_REPEAT_CHECKS, "", {
		{ "title", WF_F_STR, NULL }, { "body", WF_F_STR, NULL },
		{ "base", WF_F_STR, NULL }, { "branch", WF_F_STR, NULL },
		{ "draft", WF_F_BOOL, NULL }, { "model", WF_F_STR, NULL }, END } },
	[WF_ACT_REVIEW_PR] = { "review-pr",
		WF_ACTION_CONSENT | WF_ACTION_MODEL | WF_ACTION_GIT | WF_ACTION_FORGE | WF_ACTION_VERDICT,
		WF_REPEAT_CHECKS, "", {
		{ "prompt", WF_F_STR, NULL }, { "post", WF_F_STR, "review|comment|none" },
		{ "model", WF_F_STR, NULL }, { "models", WF_F_STRLIST, NULL },
		{ "quorum", WF_F_INT, NULL }, { "on-split", WF_F_STEP, NULL }, END } },
	[WF_ACT_MAKE_CHANGES] = { "make-changes", WF_ACTION_CONSENT | WF_ACTION_MODEL | WF_ACTION_GIT,
		WF_REPEAT_CHECKS, "", {
		{ "prompt", WF_F_STR, NULL }, { "max-attempts", WF_F_INT, NULL },
		{ "agent", WF_F_STR, NULL }, { "model", WF_F_STR, NULL }, END } },
	[WF_ACT_COMMIT_PUSH] = { "commit-push", WF_ACTION_CONSENT | WF_ACTION_MODEL | WF_ACTION_GIT,
		WF_REPEAT_CHECKS, "", {
		{ "message", WF_F_STR, NULL }, { "paths", WF_F_STRLIST, NULL },
		{ "allow-base", WF_F_BOOL, NULL }, { "model", WF_F_STR, NULL }, END } },
	[WF_ACT_SELF_REVIEW] = { "self-review", WF_ACTION_CONSENT | WF_ACTION_MODEL | WF_ACTION_GIT | WF_ACTION_FORGE,
		WF_REPEAT_CHECKS, "", {
		{ "prompt", WF_F_STR, NULL }, { "model", WF_F_STR, NULL }, END } },
	[WF_ACT_MERGE_PR] = { "merge-pr", WF_ACTION_CONSENT | WF_ACTION_GIT | WF_ACTION_FORGE,
		WF_REPEAT_CHECKS, "", {
		{ "method", WF_F_STR, "merge|squash|rebase" },
		{ "require-approval", WF_F_BOOL, NULL }, { "delete-branch", WF_F_BOOL, NULL }, END } },
	[WF_ACT_SYNC] = { "sync", WF_ACTION_CONSENT | WF_ACTION_GIT, WF_REPEAT_CHECKS, "", {
		{ "base", WF_F_STR, NULL }, END } },
	/* A run nested in the run (subflow.c): wf-run runs it, never wf-step. */
	[WF_ACT_WORKFLOW] = { "workflow", WF_ACTION_DRIVER, WF_REPEAT_LOCAL, "workflow", {
		{ "workflow", WF_F_STR, NULL }, { "with", WF_F_MAP, NULL },
		{ "output", WF_F_STR, NULL }, END } },
	/* Branches run side by side, each a run nested in the run (parallel.c): wf-run runs them. */
	[WF_ACT_PARALLEL] = { "parallel", WF_ACTION_DRIVER, WF_REPEAT_LOCAL, "", {
		{ "branches", WF_F_LIST, NULL }, { "for-each", WF_F_STR, NULL }, { "as", WF_F_STR, NULL },
		{ "steps", WF_F_LIST, NULL }, { "max-concurrency", WF_F_INT, NULL },
		{ "on-failure", WF_F_STR, "fail-fast|wait-all|continue" }, END } },
	[WF_ACT_COUNT] = { NULL, 0, WF_REPEAT_COMMAND, NULL, { END } }
};

/* The words wf-step --actions prints for each flag, in this order. */
static const struct { unsigned flag; const char *word; } flag_words[] = {
	{ WF_ACTION_CONSENT, "consent" }, { WF_ACTION_MODEL, "model" },
	{ WF_ACTION_GIT, "git" }, { WF_ACTION_FORGE, "forge" },
	{ WF_ACTION_VERDICT, "verdict" }, { WF_ACTION_DRIVER, "driver" },
	{ 0, NULL }
};

/* The word for each field type, as wf-parse --schema prints it. */
static const char *const type_words[] = {
	[WF_F_STR] = "text", [WF_F_INT] = "whole-number", [WF_F_NUM] = "number",
	[WF_F_BOOL] = "boolean", [WF_F_STEP] = "step-id", [WF_F_DURATION] = "duration",
	[WF_F_MAP] = "mapping", [WF_F_STRLIST] = "text-list", [WF_F_ANY] = "any",
	[WF_F_RETRY] = "retry", [WF_F_BUDGET] = "budget", [WF_F_OBJECT] = "object",
	[WF_F_RECORDS] = "object-of-objects", [WF_F_LIST] = "list", [WF_F_MODEL] = "model",
	[WF_F_VARS] = "variables", [WF_F_INPUTS] = "inputs"
};

enum wf_action_id
wf_action_lookup(const char *name)
{
	for (int i = 0; i < WF_ACT_COUNT; i++)
		if (name && !strcmp(wf_actions[i].name, name))
			return (enum wf_action_id)i;
	return WF_ACT_CUSTOM;
}

const struct wf_action *
wf_action_get(const char *name)
{
	enum wf_action_id id = wf_action_lookup(name);

	return id == WF_ACT_CUSTOM ? NULL : &wf_actions[id];
}

int
wf_action_has(const char *name, unsigned flag)
{
	const struct wf_action *a = wf_action_get(name);

	return a && (a->flags & flag) == flag;
}

int
wf_action_uses_model(const char *name)
{
	return wf_action_has(name, WF_ACTION_MODEL);
}

int
wf_action_sensitive(const char *action)
{
	const struct wf_action *a = wf_action_get(action);

	/* A custom action runs a program: it asks, like a shell step. */
	return !a || (a->flags & WF_ACTION_CONSENT);
}

const char *
wf_action_repeat_why(const char *action)
{
	const struct wf_action *a = wf_action_get(action);

	if (a && !strcmp(a->name, "workflow"))
		return "it goes on with its sub-workflow where the sub-run's journal says it stopped";
	if (a && !strcmp(a->name, "parallel"))
		return "it goes on with each unfinished branch where its journal says it stopped";
	if (!a || a->repeat == WF_REPEAT_COMMAND)
		return "running it twice is safe unless it is marked idempotent: false";
	if (a->repeat == WF_REPEAT_LOCAL)
		return "it has no effect outside the run";
	return "it looks before it acts, so a second run finds the first one's work";
}

/* The fields of LIST as {name: {type, choices?}}; returns ownership to the caller. */
jv
wf_fields_json(const struct wf_field *list)
{
	jv out = jv_object();

	for (const struct wf_field *f = list; f && f->name; f++) {
		jv o = jv_object_set(jv_object(), jv_string("type"), jv_string(type_words[f->type]));

		if (f->choices)
			o = jv_object_set(o, jv_string("choices"),
					  jv_string_split(jv_string(f->choices), jv_string("|")));
		out = jv_object_set(out, jv_string(f->name), o);
	}
	return out;
}

/* Append WORD to the comma-separated list in BUF of N bytes (truncated when full). */
static void
add_word(char *buf, size_t n, const char *word)
{
	size_t len = strlen(buf);

	snprintf(buf + len, n - len, "%s%s", len ? "," : "", word);
}

void
wf_action_flags_text(const struct wf_action *a, char *buf, size_t n)
{
	buf[0] = '\0';
	for (int i = 0; flag_words[i].word; i++)
		if (a->flags & flag_words[i].flag)
			add_word(buf, n, flag_words[i].word);
	if (a->repeat != WF_REPEAT_COMMAND)
		add_word(buf, n, a->repeat == WF_REPEAT_LOCAL ? "local" : "looks-first");
	if (!buf[0])
		snprintf(buf, n, "-");
}

/* Row A of the table as {name, flags, required, keys}; returns ownership to the caller. */
jv
wf_action_json(const struct wf_action *a)
{
	jv o = jv_object_set(jv_object(), jv_string("name"), jv_string(a->name));
	jv req = *a->required ? jv_string_split(jv_string(a->required), jv_string(" ")) : jv_array();
	char flags[160];

	wf_action_flags_text(a, flags, sizeof flags);
	o = jv_object_set(o, jv_string("flags"),
			  strcmp(flags, "-") ? jv_string_split(jv_string(flags), jv_string(",")) : jv_array());
	o = jv_object_set(o, jv_string("required"), req);
	return jv_object_set(o, jv_string("keys"), wf_fields_json(a->fields));
}
