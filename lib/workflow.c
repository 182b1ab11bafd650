/*
 * workflow.c: finding workflow files, and turning one into the canonical
 * workflow JSON (wf-json(7)): every key checked against the schema of its
 * action, Codi's spellings folded into the seed's kebab-case, defaults
 * filled, jumps checked, and each step's fall-through "next" resolved.
 * Every problem is collected with file:line:col, never just the first.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf.h"

#ifndef WF_DATADIR
#define WF_DATADIR "/usr/local/share/wf"
#endif

const char *const wf_builtin_actions[] = {
	"shell", "ai-prompt", "switch-model", "loop", "conditional",
	"interactive", "load-variable", "set-variable", "create-pr",
	"review-pr", "make-changes", "commit-push", "self-review",
	"merge-pr", "sync", NULL
};

int
wf_action_is_builtin(const char *name)
{
	for (const char *const *a = wf_builtin_actions; *a; a++)
		if (!strcmp(*a, name))
			return 1;
	return 0;
}

/* ---- the schema ---- */

enum ftype {
	F_STR,		/* text; a number or boolean is taken as its text */
	F_INT,		/* whole number >= 0 */
	F_NUM,		/* number >= 0 */
	F_BOOL,		/* true or false only */
	F_STEP,		/* the id of a step */
	F_DURATION,	/* seconds, or "500ms", "30s", "5m", "2h" */
	F_MAP,		/* mapping of names to scalars */
	F_STRLIST,	/* a list of texts, or one text */
	F_ANY,
	F_RETRY,	/* {attempts, delay} */
	F_BUDGET	/* {tokens, usd} */
};

struct field {
	const char *name;
	enum ftype type;
	const char *choices;	/* for F_STR: "a|b|c", or NULL */
};

static const struct field top_fields[] = {
	{ "name", F_STR, NULL }, { "description", F_STR, NULL },
	{ "version", F_STR, NULL }, { "interactive", F_BOOL, NULL },
	{ "persistent", F_BOOL, NULL }, { "strict", F_BOOL, NULL },
	{ "variables", F_MAP, NULL }, { "env", F_MAP, NULL },
	{ "model", F_STR, NULL }, { "budget", F_BUDGET, NULL },
	{ "max-steps", F_INT, NULL }, { "steps", F_ANY, NULL },
	{ NULL, 0, NULL }
};

static const struct field common_fields[] = {
	{ "id", F_STR, NULL }, { "action", F_STR, NULL },
	{ "description", F_STR, NULL }, { "if", F_STR, NULL },
	{ "check", F_STR, NULL }, { "variable", F_STR, NULL },
	{ "on-true", F_STEP, NULL }, { "on-false", F_STEP, NULL },
	{ "on-approved", F_STEP, NULL }, { "on-rejected", F_STEP, NULL },
	{ "on-complete", F_STEP, NULL }, { "on-error", F_STEP, NULL },
	{ "timeout", F_DURATION, NULL }, { "retry", F_RETRY, NULL },
	{ "continue-on-error", F_BOOL, NULL }, { "idempotent", F_BOOL, NULL },
	{ "env", F_MAP, NULL },
	{ NULL, 0, NULL }
};

struct action_schema {
	const char *action;
	const char *required;	/* space-separated */
	struct field fields[12];
};

static const struct action_schema actions[] = {
	{ "shell", "command", {
		{ "command", F_STR, NULL }, { "output", F_STR, NULL },
		{ "cwd", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "ai-prompt", "prompt", {
		{ "prompt", F_STR, NULL }, { "system", F_STR, NULL },
		{ "output", F_STR, NULL }, { "model", F_STR, NULL },
		{ "format", F_STR, "text|json" }, { "context", F_STR, "full|none" },
		{ "options", F_MAP, NULL }, { NULL, 0, NULL } } },
	{ "switch-model", "model", {
		{ "model", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "loop", "to max-iterations", {
		{ "to", F_STEP, NULL }, { "condition", F_STR, NULL },
		{ "max-iterations", F_INT, NULL },
		{ "on-exhausted", F_STR, "fail|continue|pause" }, { NULL, 0, NULL } } },
	{ "conditional", "condition", {
		{ "condition", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "interactive", "message", {
		{ "message", F_STR, NULL }, { "kind", F_STR, "confirm|choice|text" },
		{ "options", F_STRLIST, NULL }, { "default", F_STR, NULL },
		{ NULL, 0, NULL } } },
	{ "load-variable", "name from", {
		{ "name", F_STR, NULL }, { "from", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "set-variable", "name value", {
		{ "name", F_STR, NULL }, { "value", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "create-pr", "", {
		{ "title", F_STR, NULL }, { "body", F_STR, NULL },
		{ "base", F_STR, NULL }, { "branch", F_STR, NULL },
		{ "draft", F_BOOL, NULL }, { "model", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "review-pr", "", {
		{ "prompt", F_STR, NULL }, { "post", F_STR, "review|comment|none" },
		{ "model", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "make-changes", "", {
		{ "prompt", F_STR, NULL }, { "max-attempts", F_INT, NULL },
		{ "agent", F_STR, NULL }, { "model", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "commit-push", "", {
		{ "message", F_STR, NULL }, { "paths", F_STRLIST, NULL },
		{ "allow-base", F_BOOL, NULL }, { "model", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "self-review", "", {
		{ "prompt", F_STR, NULL }, { "model", F_STR, NULL }, { NULL, 0, NULL } } },
	{ "merge-pr", "", {
		{ "method", F_STR, "merge|squash|rebase" },
		{ "require-approval", F_BOOL, NULL }, { "delete-branch", F_BOOL, NULL },
		{ NULL, 0, NULL } } },
	{ "sync", "", {
		{ "base", F_STR, NULL }, { NULL, 0, NULL } } },
	{ NULL, NULL, { { NULL, 0, NULL } } }
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

/* ---- positions and messages ---- */

struct ctx {
	const char *file;
	jv pos;
	struct wf_diag *diag;
};

static void
at(struct ctx *c, const char *path, int value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Report FMT at the position recorded for PATH (the key, or the value when VALUE). */
static void
at(struct ctx *c, const char *path, int value, const char *fmt, ...)
{
	jv p = jv_object_get(jv_copy(c->pos), jv_string(path));
	int line = 1, col = 1;
	char msg[1024];
	va_list ap;

	if (jv_get_kind(p) == JV_KIND_ARRAY) {
		line = (int)jv_number_value(jv_array_get(jv_copy(p), value ? 2 : 0));
		col = (int)jv_number_value(jv_array_get(jv_copy(p), value ? 3 : 1));
	}
	jv_free(p);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wf_diag_add(c->diag, c->file, line, col, "%s", msg);
}

static const char *
kind_name(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL: return "nothing";
	case JV_KIND_TRUE: case JV_KIND_FALSE: return "a boolean";
	case JV_KIND_NUMBER: return "a number";
	case JV_KIND_STRING: return "text";
	case JV_KIND_ARRAY: return "a list";
	case JV_KIND_OBJECT: return "a mapping";
	default: return "nothing";
	}
}

/* Short rendering of V (borrowed) for messages. */
static void
show_value(jv v, char *out, size_t n)
{
	if (jv_get_kind(v) == JV_KIND_STRING)
		snprintf(out, n, "'%.60s'", jv_string_value(v));
	else
		snprintf(out, n, "%s", kind_name(v));
}

/* ---- value checks ---- */

/* Parse a duration in seconds; -1 when malformed. */
static double
parse_duration(jv v)
{
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return jv_number_value(v) >= 0 ? jv_number_value(v) : -1;
	if (jv_get_kind(v) != JV_KIND_STRING)
		return -1;
	const char *s = jv_string_value(v);
	char *end;
	double d;

	errno = 0;
	d = strtod(s, &end);
	if (errno || end == s || d < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return d;
	if (!strcmp(end, "ms"))
		return d / 1000.0;
	if (!strcmp(end, "m"))
		return d * 60;
	if (!strcmp(end, "h"))
		return d * 3600;
	return -1;
}

static int
is_yaml11_bool(const char *s)
{
	static const char *const words[] = {
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off",
		"Off", "OFF", "y", "Y", "n", "N", "True", "TRUE", "False", "FALSE", NULL
	};
	for (const char *const *w = words; *w; w++)
		if (!strcmp(*w, s))
			return 1;
	return 0;
}

/* Check V (consumed) against TYPE; returns the canonical value, or invalid after a message. */
static jv
check_value(struct ctx *c, const char *path, const struct field *f, jv v)
{
	char shown[96];

	show_value(v, shown, sizeof shown);
	switch (f->type) {
	case F_STR:
	case F_STEP:
		if (jv_get_kind(v) == JV_KIND_NUMBER || jv_get_kind(v) == JV_KIND_TRUE ||
		    jv_get_kind(v) == JV_KIND_FALSE) {
			char *t = wf_jv_text(v);

			jv_free(v);
			v = jv_string(t);
			free(t);
		}
		if (jv_get_kind(v) != JV_KIND_STRING) {
			at(c, path, 1, "'%s': expected text, got %s", f->name, kind_name(v));
			jv_free(v);
			return jv_invalid();
		}
		if (f->choices) {
			const char *s = jv_string_value(v);
			size_t n = strlen(s);
			const char *p = f->choices;
			int ok = 0;

			while (*p) {
				const char *bar = strchr(p, '|');
				size_t len = bar ? (size_t)(bar - p) : strlen(p);

				if (len == n && !strncmp(p, s, n))
					ok = 1;
				p += len + (bar ? 1 : 0);
			}
			if (!ok) {
				at(c, path, 1, "'%s': expected one of %s, got %s", f->name,
				   f->choices, shown);
				jv_free(v);
				return jv_invalid();
			}
		}
		return v;
	case F_INT:
	case F_NUM: {
		double d;

		if (jv_get_kind(v) == JV_KIND_STRING) {
			char *end;
			const char *s = jv_string_value(v);

			d = strtod(s, &end);
			if (end == s || *end) {
				at(c, path, 1, "'%s': expected a %s, got %s", f->name,
				   f->type == F_INT ? "whole number" : "number", shown);
				jv_free(v);
				return jv_invalid();
			}
			jv_free(v);
			v = jv_number(d);
		}
		if (jv_get_kind(v) != JV_KIND_NUMBER) {
			at(c, path, 1, "'%s': expected a %s, got %s", f->name,
			   f->type == F_INT ? "whole number" : "number", kind_name(v));
			jv_free(v);
			return jv_invalid();
		}
		d = jv_number_value(v);
		if (d < 0 || (f->type == F_INT && (d != (double)(long)d || d > 1e9))) {
			at(c, path, 1, "'%s': expected a %s, got %g", f->name,
			   f->type == F_INT ? "whole number" : "number >= 0", d);
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case F_BOOL:
		if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
			return v;
		if (jv_get_kind(v) == JV_KIND_STRING && is_yaml11_bool(jv_string_value(v)))
			at(c, path, 1, "'%s': expected true or false, got %s (YAML 1.1 booleans are not read as booleans; write true or false)",
			   f->name, shown);
		else
			at(c, path, 1, "'%s': expected true or false, got %s", f->name, shown);
		jv_free(v);
		return jv_invalid();
	case F_DURATION: {
		double d = parse_duration(v);

		if (d < 0) {
			at(c, path, 1, "'%s': expected a duration such as 30, \"30s\", \"5m\" or \"500ms\", got %s",
			   f->name, shown);
			jv_free(v);
			return jv_invalid();
		}
		jv_free(v);
		return jv_number(d);
	}
	case F_MAP: {
		if (jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			return jv_object();
		}
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			at(c, path, 1, "'%s': expected a mapping of names to values, got %s",
			   f->name, kind_name(v));
			jv_free(v);
			return jv_invalid();
		}
		int bad = 0;
		jv_object_foreach(jv_copy(v), k, val) {
			jv_kind kk = jv_get_kind(val);

			if (kk == JV_KIND_OBJECT || kk == JV_KIND_ARRAY) {
				char *sub = wf_xasprintf("%s/%s", path, jv_string_value(k));

				at(c, sub, 1, "'%s': a value in '%s' must be text, a number or a boolean, got %s",
				   jv_string_value(k), f->name, kind_name(val));
				free(sub);
				bad = 1;
			}
			jv_free(k);
			jv_free(val);
		}
		if (bad) {
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case F_STRLIST: {
		if (jv_get_kind(v) == JV_KIND_STRING)
			return jv_array_append(jv_array(), v);
		if (jv_get_kind(v) != JV_KIND_ARRAY) {
			at(c, path, 1, "'%s': expected a list of texts, got %s", f->name, kind_name(v));
			jv_free(v);
			return jv_invalid();
		}
		jv out = jv_array();
		int i = 0;
		jv_array_foreach(v, idx, item) {
			(void)idx;
			if (jv_get_kind(item) == JV_KIND_NUMBER || jv_get_kind(item) == JV_KIND_STRING ||
			    jv_get_kind(item) == JV_KIND_TRUE || jv_get_kind(item) == JV_KIND_FALSE) {
				char *t = wf_jv_text(item);

				out = jv_array_append(out, jv_string(t));
				free(t);
			} else {
				char *sub = wf_xasprintf("%s/%d", path, i);

				at(c, sub, 1, "'%s': item %d must be text, got %s", f->name, i + 1,
				   kind_name(item));
				free(sub);
			}
			jv_free(item);
			i++;
		}
		jv_free(v);
		return out;
	}
	case F_RETRY:
	case F_BUDGET: {
		int retry = f->type == F_RETRY;
		static const struct field rf[] = {
			{ "attempts", F_INT, NULL }, { "delay", F_DURATION, NULL }, { NULL, 0, NULL } };
		static const struct field bf[] = {
			{ "tokens", F_INT, NULL }, { "usd", F_NUM, NULL }, { NULL, 0, NULL } };
		const struct field *sub = retry ? rf : bf;

		if (retry && jv_get_kind(v) == JV_KIND_NUMBER) {
			jv o = jv_object_set(jv_object(), jv_string("attempts"), v);
			return jv_object_set(o, jv_string("delay"), jv_number(0));
		}
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			at(c, path, 1, "'%s': expected a mapping (%s), got %s", f->name,
			   retry ? "attempts, delay" : "tokens, usd", kind_name(v));
			jv_free(v);
			return jv_invalid();
		}
		jv out = jv_object();
		int bad = 0;
		jv_object_foreach(v, k, val) {
			const struct field *sf = NULL;
			char *sp = wf_xasprintf("%s/%s", path, jv_string_value(k));

			for (const struct field *p = sub; p->name; p++)
				if (!strcmp(p->name, jv_string_value(k)))
					sf = p;
			if (!sf) {
				at(c, sp, 0, "unknown key '%s' in '%s' (expected %s)", jv_string_value(k),
				   f->name, retry ? "attempts, delay" : "tokens, usd");
				bad = 1;
				jv_free(val);
			} else {
				jv cv = check_value(c, sp, sf, val);

				if (!jv_is_valid(cv))
					bad = 1;
				else
					out = jv_object_set(out, jv_copy(k), cv);
			}
			free(sp);
			jv_free(k);
		}
		if (bad) {
			jv_free(out);
			return jv_invalid();
		}
		if (retry) {
			if (!jv_object_has(jv_copy(out), jv_string("attempts")))
				out = jv_object_set(out, jv_string("attempts"), jv_number(1));
			if (!jv_object_has(jv_copy(out), jv_string("delay")))
				out = jv_object_set(out, jv_string("delay"), jv_number(0));
		}
		return out;
	}
	case F_ANY:
		return v;
	}
	return v;
}

static const struct field *
find_field(const struct field *list, const char *name)
{
	for (const struct field *f = list; f && f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

static const struct action_schema *
find_action(const char *name)
{
	for (const struct action_schema *a = actions; a->action; a++)
		if (!strcmp(a->action, name))
			return a;
	return NULL;
}

/* The closest known key to KEY within edit distance 2, for a hint. */
static const char *
closest(const char *key, const struct field *a, const struct field *b)
{
	const char *best = NULL;
	int bestd = 3;

	for (int pass = 0; pass < 2; pass++)
		for (const struct field *f = pass ? b : a; f && f->name; f++) {
			int d = wf_edit_distance(key, f->name);

			if (d < bestd) {
				bestd = d;
				best = f->name;
			}
		}
	return best;
}

static const char *
canon_key(const char *key, const char *action)
{
	for (int i = 0; key_aliases[i].alias; i++)
		if (!strcmp(key_aliases[i].alias, key) &&
		    (!key_aliases[i].only || (action && !strcmp(key_aliases[i].only, action))))
			return key_aliases[i].canon;
	return key;
}

/* Rewrite Codi's {{name}} as ${name} in S (consumed). */
static jv
fold_braces(jv s)
{
	const char *p = jv_string_value(s), *q;
	struct wf_buf b = {0};

	if (!strstr(p, "{{"))
		return s;
	while ((q = strstr(p, "{{"))) {
		const char *n = q + 2, *e;

		while (*n == ' ')
			n++;
		e = n;
		while ((*e >= 'a' && *e <= 'z') || (*e >= 'A' && *e <= 'Z') || *e == '_' ||
		       (e > n && ((*e >= '0' && *e <= '9') || *e == '.' || *e == '-')))
			e++;
		const char *t = e;
		while (*t == ' ')
			t++;
		if (e > n && t[0] == '}' && t[1] == '}') {
			wf_buf_add(&b, p, (size_t)(q - p));
			wf_buf_addstr(&b, "${");
			wf_buf_add(&b, n, (size_t)(e - n));
			wf_buf_addch(&b, '}');
			p = t + 2;
		} else {
			wf_buf_add(&b, p, (size_t)(q - p) + 2);
			p = q + 2;
		}
	}
	wf_buf_addstr(&b, p);
	jv out = jv_string(b.s);
	wf_buf_free(&b);
	jv_free(s);
	return out;
}

/* ---- steps ---- */

static const char *const jump_keys[] = {
	"on-true", "on-false", "on-approved", "on-rejected", "on-complete", "on-error", "to", NULL
};

static jv
check_step(struct ctx *c, jv step, int i, const char *dir_file)
{
	char path[64];
	jv out = jv_object();
	const char *action = NULL;
	const struct action_schema *as = NULL;
	int custom = 0;

	snprintf(path, sizeof path, "/steps/%d", i);
	if (jv_get_kind(step) != JV_KIND_OBJECT) {
		at(c, path, 1, "step %d: expected a mapping with 'id' and 'action', got %s", i + 1,
		   kind_name(step));
		jv_free(step);
		return jv_invalid();
	}
	const char *id = wf_jv_str(step, "id");
	jv idv = wf_jv_get(step, "id");
	if (jv_get_kind(idv) == JV_KIND_NUMBER) {
		char *t = wf_jv_text(idv);
		step = jv_object_set(step, jv_string("id"), jv_string(t));
		free(t);
		id = wf_jv_str(step, "id");
	}
	jv_free(idv);
	if (!id || !*id)
		at(c, path, 1, "step %d has no 'id'", i + 1);
	else if (!wf_name_valid(id)) {
		char sub[80];

		snprintf(sub, sizeof sub, "%s/id", path);
		at(c, sub, 1, "step id '%s' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')", id);
	}
	action = wf_jv_str(step, "action");
	if (!action || !*action) {
		at(c, path, 1, "step %d%s%s%s has no 'action'", i + 1, id ? " ('" : "",
		   id ? id : "", id ? "')" : "");
	} else if (!(as = find_action(action))) {
		char *found = wf_action_find(action, dir_file);
		char sub[80];

		snprintf(sub, sizeof sub, "%s/action", path);
		if (found) {
			custom = 1;
			free(found);
		} else {
			const char *best = NULL;
			int bestd = 3;

			for (const char *const *a = wf_builtin_actions; *a; a++) {
				int d = wf_edit_distance(action, *a);
				if (d < bestd) {
					bestd = d;
					best = *a;
				}
			}
			if (best)
				at(c, sub, 1, "unknown action '%s' (did you mean '%s'?)", action, best);
			else
				at(c, sub, 1, "unknown action '%s': not built in, and no executable 'wf-action-%s' in actions/ beside the workflow or on PATH",
				   action, action);
		}
	}

	jv_object_foreach(jv_copy(step), k, v) {
		const char *key = jv_string_value(k);
		const char *ck = canon_key(key, action);
		char kp[256];
		const struct field *f = find_field(common_fields, ck);

		snprintf(kp, sizeof kp, "%s/%s", path, key);
		if (!f && as)
			f = find_field(as->fields, ck);
		if (!f && custom) {
			out = jv_object_set(out, jv_string(ck), v);
			jv_free(k);
			continue;
		}
		if (!f) {
			if (as || !action) {
				const char *hint = closest(key, common_fields, as ? as->fields : NULL);

				if (hint)
					at(c, kp, 0, "unknown key '%s' (did you mean '%s'?)", key, hint);
				else
					at(c, kp, 0, "unknown key '%s' for action '%s'", key,
					   action ? action : "?");
			}
			jv_free(v);
			jv_free(k);
			continue;
		}
		if (jv_object_has(jv_copy(out), jv_string(ck)) && strcmp(ck, key)) {
			at(c, kp, 0, "'%s' is another spelling of '%s', which is already set", key, ck);
			jv_free(v);
			jv_free(k);
			continue;
		}
		if (!strcmp(key, "timeoutMs") && jv_get_kind(v) == JV_KIND_NUMBER)
			v = jv_number(jv_number_value(v) / 1000.0);
		jv cv = check_value(c, kp, f, v);
		if (jv_is_valid(cv)) {
			if (jv_get_kind(cv) == JV_KIND_STRING)
				cv = fold_braces(cv);
			out = jv_object_set(out, jv_string(ck), cv);
		} else {
			jv_free(cv);
		}
		jv_free(k);
	}
	if (as) {
		const char *r = as->required;

		while (*r) {
			const char *sp = strchr(r, ' ');
			size_t n = sp ? (size_t)(sp - r) : strlen(r);
			char name[64];

			snprintf(name, sizeof name, "%.*s", (int)n, r);
			if (!jv_object_has(jv_copy(out), jv_string(name))) {
				jv had = wf_jv_get(step, name);
				int present = jv_get_kind(had) != JV_KIND_NULL;

				jv_free(had);
				if (!present)
					at(c, path, 1, "step '%s': action '%s' needs '%s'",
					   id ? id : "?", action, name);
			}
			r += n + (sp ? 1 : 0);
		}
	}
	/* Defaults. */
	if (action && as) {
		if (!jv_object_has(jv_copy(out), jv_string("retry")))
			out = jv_object_set(out, jv_string("retry"),
				jv_object_set(jv_object_set(jv_object(), jv_string("attempts"), jv_number(1)),
					      jv_string("delay"), jv_number(0)));
		if (!strcmp(action, "loop")) {
			if (!jv_object_has(jv_copy(out), jv_string("condition")))
				out = jv_object_set(out, jv_string("condition"), jv_string("true"));
			if (!jv_object_has(jv_copy(out), jv_string("on-exhausted")))
				out = jv_object_set(out, jv_string("on-exhausted"), jv_string("fail"));
		} else if (!strcmp(action, "interactive")) {
			if (!jv_object_has(jv_copy(out), jv_string("kind")))
				out = jv_object_set(out, jv_string("kind"), jv_string("confirm"));
		} else if (!strcmp(action, "ai-prompt")) {
			if (!jv_object_has(jv_copy(out), jv_string("format")))
				out = jv_object_set(out, jv_string("format"), jv_string("text"));
			if (!jv_object_has(jv_copy(out), jv_string("context")))
				out = jv_object_set(out, jv_string("context"), jv_string("full"));
		} else if (!strcmp(action, "merge-pr")) {
			if (!jv_object_has(jv_copy(out), jv_string("method")))
				out = jv_object_set(out, jv_string("method"), jv_string("merge"));
			if (!jv_object_has(jv_copy(out), jv_string("require-approval")))
				out = jv_object_set(out, jv_string("require-approval"), jv_true());
		}
	}
	jv_free(step);
	return out;
}

/* The loop and choice rules that need the whole list of steps. */
static void
check_flow(struct ctx *c, jv steps)
{
	int n = jv_array_length(jv_copy(steps));
	jv first = jv_object();

	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *id = wf_jv_str(s, "id");
		char path[80];

		if (id) {
			jv prev = jv_object_get(jv_copy(first), jv_string(id));

			if (jv_is_valid(prev)) {
				int pi = (int)jv_number_value(prev);
				char pp[64];
				jv pos;

				snprintf(pp, sizeof pp, "/steps/%d", pi);
				pos = jv_object_get(jv_copy(c->pos), jv_string(pp));
				snprintf(path, sizeof path, "/steps/%d/id", i);
				at(c, path, 1, "duplicate step id '%s' (first at %d:%d)", id,
				   jv_get_kind(pos) == JV_KIND_ARRAY ? (int)jv_number_value(jv_array_get(jv_copy(pos), 0)) : 0,
				   jv_get_kind(pos) == JV_KIND_ARRAY ? (int)jv_number_value(jv_array_get(jv_copy(pos), 1)) : 0);
				jv_free(pos);
			} else {
				jv_free(prev);
				first = jv_object_set(first, jv_string(id), jv_number(i));
			}
		}
		jv_free(s);
	}
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *action = wf_jv_str(s, "action");

		for (int k = 0; jump_keys[k]; k++) {
			const char *t = wf_jv_str(s, jump_keys[k]);
			char path[80];

			if (!t)
				continue;
			snprintf(path, sizeof path, "/steps/%d/%s", i, jump_keys[k]);
			jv ti = jv_object_get(jv_copy(first), jv_string(t));
			if (!jv_is_valid(ti)) {
				at(c, path, 1, "'%s' names no step: '%s'", jump_keys[k], t);
			} else if (!strcmp(jump_keys[k], "to") && action && !strcmp(action, "loop") &&
				   (int)jv_number_value(ti) >= i) {
				at(c, path, 1, "loop 'to' must name an earlier step: '%s' is %s", t,
				   (int)jv_number_value(ti) == i ? "the loop itself" : "after the loop");
			}
			jv_free(ti);
		}
		if (action && !strcmp(action, "loop")) {
			jv m = wf_jv_get(s, "max-iterations");
			char path[80];

			snprintf(path, sizeof path, "/steps/%d/max-iterations", i);
			if (jv_get_kind(m) == JV_KIND_NUMBER &&
			    (jv_number_value(m) < 1 || jv_number_value(m) > WF_MAX_ITERATIONS_CAP))
				at(c, path, 1, "'max-iterations' must be between 1 and %d, got %g",
				   WF_MAX_ITERATIONS_CAP, jv_number_value(m));
			jv_free(m);
		}
		if (action && !strcmp(action, "interactive")) {
			const char *kind = wf_jv_str(s, "kind");
			jv opts = wf_jv_get(s, "options");
			char path[80];

			snprintf(path, sizeof path, "/steps/%d", i);
			if (kind && !strcmp(kind, "choice") &&
			    (jv_get_kind(opts) != JV_KIND_ARRAY || jv_array_length(jv_copy(opts)) == 0))
				at(c, path, 1, "step '%s': kind 'choice' needs a non-empty 'options' list",
				   wf_jv_str(s, "id") ? wf_jv_str(s, "id") : "?");
			jv_free(opts);
		}
		jv_free(s);
	}
	jv_free(first);
}

jv
wf_workflow_parse(const char *buf, size_t len, const char *file, struct wf_diag *diag)
{
	jv doc, pos, out, steps;
	struct ctx c = { .file = file, .diag = diag };
	size_t before = diag->n;
	char hash[65];

	if (wf_yaml_load(buf, len, file, &doc, &pos, diag) < 0) {
		jv_free(pos);
		return jv_invalid();
	}
	c.pos = pos;
	if (jv_get_kind(doc) == JV_KIND_NULL) {
		wf_diag_add(diag, file, 1, 1, "empty workflow: expected a mapping with 'name' and 'steps'");
		goto fail;
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		wf_diag_add(diag, file, 1, 1, "expected a mapping with 'name' and 'steps' at the top, got %s",
			    kind_name(doc));
		goto fail;
	}
	out = jv_object();
	jv_object_foreach(jv_copy(doc), k, v) {
		const char *key = jv_string_value(k);
		const char *ck = canon_key(key, NULL);
		const struct field *f = find_field(top_fields, ck);
		char kp[256];

		snprintf(kp, sizeof kp, "/%s", key);
		if (!f) {
			const char *hint = closest(key, top_fields, NULL);

			if (hint)
				at(&c, kp, 0, "unknown key '%s' (did you mean '%s'?)", key, hint);
			else
				at(&c, kp, 0, "unknown key '%s' at the top of the workflow", key);
			jv_free(v);
		} else if (!strcmp(ck, "steps")) {
			jv_free(v);
		} else {
			jv cv = check_value(&c, kp, f, v);

			if (jv_is_valid(cv)) {
				if (jv_get_kind(cv) == JV_KIND_STRING && strcmp(ck, "name"))
					cv = fold_braces(cv);
				out = jv_object_set(out, jv_string(ck), cv);
			} else {
				jv_free(cv);
			}
		}
		jv_free(k);
	}
	{
		const char *name = wf_jv_str(out, "name");
		if (!jv_object_has(jv_copy(doc), jv_string("name")))
			wf_diag_add(diag, file, 1, 1, "missing required key 'name'");
		else if (name && !wf_name_valid(name))
			at(&c, "/name", 1, "workflow name '%s' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')", name);
	}
	steps = wf_jv_get(doc, "steps");
	if (!jv_object_has(jv_copy(doc), jv_string("steps"))) {
		wf_diag_add(diag, file, 1, 1, "missing required key 'steps'");
	} else if (jv_get_kind(steps) != JV_KIND_ARRAY) {
		at(&c, "/steps", 1, "'steps': expected a list of steps, got %s", kind_name(steps));
	} else if (jv_array_length(jv_copy(steps)) == 0) {
		at(&c, "/steps", 1, "'steps' is empty: a workflow needs at least one step");
	} else {
		jv norm = jv_array();
		int n = jv_array_length(jv_copy(steps));

		for (int i = 0; i < n; i++) {
			jv s = check_step(&c, jv_array_get(jv_copy(steps), i), i, file);

			norm = jv_array_append(norm, jv_is_valid(s) ? s : jv_object());
		}
		check_flow(&c, norm);
		for (int i = 0; i < n; i++) {
			jv s = jv_array_get(jv_copy(norm), i);
			jv next = jv_null();

			if (i + 1 < n) {
				jv ns = jv_array_get(jv_copy(norm), i + 1);
				next = wf_jv_get(ns, "id");
				jv_free(ns);
			}
			s = jv_object_set(s, jv_string("next"), next);
			norm = jv_array_set(norm, i, s);
		}
		out = jv_object_set(out, jv_string("steps"), norm);
	}
	jv_free(steps);
	if (diag->n > before) {
		jv_free(out);
		goto fail;
	}
	/* Defaults for the top level. */
	if (!jv_object_has(jv_copy(out), jv_string("description")))
		out = jv_object_set(out, jv_string("description"), jv_string(""));
	if (!jv_object_has(jv_copy(out), jv_string("interactive")))
		out = jv_object_set(out, jv_string("interactive"), jv_true());
	if (!jv_object_has(jv_copy(out), jv_string("persistent")))
		out = jv_object_set(out, jv_string("persistent"), jv_true());
	if (!jv_object_has(jv_copy(out), jv_string("strict")))
		out = jv_object_set(out, jv_string("strict"), jv_false());
	if (!jv_object_has(jv_copy(out), jv_string("variables")))
		out = jv_object_set(out, jv_string("variables"), jv_object());
	if (!jv_object_has(jv_copy(out), jv_string("env")))
		out = jv_object_set(out, jv_string("env"), jv_object());
	if (!jv_object_has(jv_copy(out), jv_string("model")))
		out = jv_object_set(out, jv_string("model"), jv_null());
	if (!jv_object_has(jv_copy(out), jv_string("budget")))
		out = jv_object_set(out, jv_string("budget"), jv_null());
	if (!jv_object_has(jv_copy(out), jv_string("max-steps")))
		out = jv_object_set(out, jv_string("max-steps"), jv_number(WF_DEFAULT_MAX_STEPS));
	wf_sha256_hex(buf, len, hash);
	{
		char abs[PATH_MAX];
		const char *src = file;

		if (strcmp(file, "-") && realpath(file, abs))
			src = abs;
		out = jv_object_set(out, jv_string("source"), jv_string(src));
	}
	out = jv_object_set(out, jv_string("hash"), jv_string_fmt("sha256:%s", hash));
	jv_free(doc);
	jv_free(pos);
	return out;
fail:
	jv_free(doc);
	jv_free(pos);
	return jv_invalid();
}

jv
wf_workflow_load(const char *file, struct wf_diag *diag, int *code)
{
	struct wf_buf b = {0};
	jv wf;
	int rc;

	if (!strcmp(file, "-"))
		rc = wf_read_fd(0, WF_YAML_MAX_BYTES, &b);
	else
		rc = wf_read_file(file, WF_YAML_MAX_BYTES, &b);
	if (rc < 0) {
		if (errno == EFBIG) {
			wf_diag_add(diag, file, 0, 0, "file is over the %d byte limit", WF_YAML_MAX_BYTES);
			*code = WF_EXIT_DATA;
		} else if (errno == EISDIR) {
			wf_diag_add(diag, file, 0, 0, "is a directory, not a workflow file");
			*code = WF_EXIT_NOINPUT;
		} else {
			wf_diag_add(diag, file, 0, 0, "cannot read: %s", strerror(errno));
			*code = errno == ENOENT || errno == EACCES ? WF_EXIT_NOINPUT : WF_EXIT_IO;
		}
		wf_buf_free(&b);
		return jv_invalid();
	}
	wf = wf_workflow_parse(b.s, b.len, file, diag);
	wf_buf_free(&b);
	*code = jv_is_valid(wf) ? 0 : WF_EXIT_DATA;
	return wf;
}

int
wf_workflow_step_index(jv wf, const char *id)
{
	jv steps = wf_jv_get(wf, "steps");
	int n = jv_get_kind(steps) == JV_KIND_ARRAY ? jv_array_length(jv_copy(steps)) : 0;
	int found = -1;

	for (int i = 0; i < n && found < 0; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *sid = wf_jv_str(s, "id");

		if (sid && !strcmp(sid, id))
			found = i;
		jv_free(s);
	}
	jv_free(steps);
	return found;
}

/* ---- discovery ---- */

static int
is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

char *
wf_action_find(const char *name, const char *workflow_file)
{
	char *p;

	if (!wf_name_valid(name))
		return NULL;
	if (workflow_file && strcmp(workflow_file, "-")) {
		const char *slash = strrchr(workflow_file, '/');

		if (slash)
			p = wf_xasprintf("%.*s/actions/wf-action-%s",
					 (int)(slash - workflow_file), workflow_file, name);
		else
			p = wf_xasprintf("actions/wf-action-%s", name);
		if (is_exec_file(p))
			return p;
		free(p);
	}
	const char *path = getenv("PATH");
	if (!path)
		return NULL;
	const char *s = path;
	while (*s) {
		const char *e = strchr(s, ':');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		p = wf_xasprintf("%.*s/wf-action-%s", (int)(n ? n : 1), n ? s : ".", name);
		if (is_exec_file(p))
			return p;
		free(p);
		s += n + (e ? 1 : 0);
		if (!e)
			break;
	}
	return NULL;
}

static void
strv_push(char ***v, size_t *n, char *s)
{
	*v = wf_xrealloc(*v, (*n + 2) * sizeof **v);
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

/* The directory holding this program, for finding installed examples. */
static char *
self_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return wf_xstrdup(exe);
}

char **
wf_workflow_search_path(void)
{
	char **v = NULL;
	size_t n = 0;
	const char *e = getenv("WF_PATH"), *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
	char *self;

	if (e && *e) {
		const char *s = e;

		while (*s) {
			const char *c = strchr(s, ':');
			size_t len = c ? (size_t)(c - s) : strlen(s);

			if (len)
				strv_push(&v, &n, wf_xstrndup(s, len));
			s += len + (c ? 1 : 0);
			if (!c)
				break;
		}
	}
	strv_push(&v, &n, wf_xstrdup("./workflows"));
	strv_push(&v, &n, wf_xstrdup("./.wf/workflows"));
	if (xdg && *xdg)
		strv_push(&v, &n, wf_xasprintf("%s/wf/workflows", xdg));
	else if (home && *home)
		strv_push(&v, &n, wf_xasprintf("%s/.config/wf/workflows", home));
	if (home && *home)
		strv_push(&v, &n, wf_xasprintf("%s/.codi/workflows", home));
	self = self_dir();
	if (self) {
		char *inst = wf_xasprintf("%s/../share/wf/workflows", self);
		struct stat st;

		if (stat(inst, &st) == 0 && S_ISDIR(st.st_mode)) {
			strv_push(&v, &n, wf_xasprintf("%s/examples", inst));
			strv_push(&v, &n, wf_xasprintf("%s/templates", inst));
		} else {
			/* Running from the source tree: bin/ beside workflows/. */
			strv_push(&v, &n, wf_xasprintf("%s/../workflows/examples", self));
			strv_push(&v, &n, wf_xasprintf("%s/../workflows/templates", self));
		}
		free(inst);
		free(self);
	} else {
		strv_push(&v, &n, wf_xstrdup(WF_DATADIR "/workflows/examples"));
		strv_push(&v, &n, wf_xstrdup(WF_DATADIR "/workflows/templates"));
	}
	return v;
}

/* Is the regular file at PATH inside directory DIR once links are resolved? */
static int
inside_dir(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	size_t n;

	if (!realpath(path, rp) || !realpath(dir, rd))
		return 0;
	n = strlen(rd);
	return !strncmp(rp, rd, n) && rp[n] == '/' && !strchr(rp + n + 1, '/');
}

static int
is_yaml_name(const char *s)
{
	size_t n = strlen(s);

	return (n > 5 && !strcmp(s + n - 5, ".yaml")) || (n > 4 && !strcmp(s + n - 4, ".yml"));
}

/* The name: field of the workflow file at PATH, malloc'd, or NULL. */
static char *
name_field(const char *path)
{
	struct wf_buf b = {0};
	struct wf_diag d = {0};
	jv doc, pos;
	char *name = NULL;

	if (wf_read_file(path, WF_YAML_MAX_BYTES, &b) == 0 &&
	    wf_yaml_load(b.s, b.len, path, &doc, &pos, &d) == 0) {
		const char *s = wf_jv_str(doc, "name");

		if (s)
			name = wf_xstrdup(s);
		jv_free(doc);
	}
	jv_free(pos);
	wf_diag_free(&d);
	wf_buf_free(&b);
	return name;
}

char *
wf_workflow_find(const char *arg, int *code, char *err, size_t errlen)
{
	char **dirs;
	char *found = NULL;
	struct stat st;

	if (!strcmp(arg, "-"))
		return wf_xstrdup(arg);
	if (strchr(arg, '/') || is_yaml_name(arg)) {
		if (stat(arg, &st) < 0) {
			snprintf(err, errlen, "%s: %s", arg, strerror(errno));
			*code = WF_EXIT_NOINPUT;
			return NULL;
		}
		return wf_xstrdup(arg);
	}
	if (!wf_name_valid(arg)) {
		snprintf(err, errlen, "invalid workflow name '%.80s': use letters, digits, '.', '_' and '-', or give a path to a file",
			 arg);
		*code = WF_EXIT_DATA;
		return NULL;
	}
	dirs = wf_workflow_search_path();
	for (char **d = dirs; *d && !found; d++) {
		static const char *const ext[] = { ".yaml", ".yml" };

		for (int i = 0; i < 2 && !found; i++) {
			char *p = wf_xasprintf("%s/%s%s", *d, arg, ext[i]);

			if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && inside_dir(p, *d))
				found = p;
			else
				free(p);
		}
	}
	for (char **d = dirs; *d && !found; d++) {
		DIR *dh = opendir(*d);
		struct dirent *de;

		if (!dh)
			continue;
		while (!found && (de = readdir(dh))) {
			char *p, *name;

			if (de->d_name[0] == '.' || !is_yaml_name(de->d_name))
				continue;
			p = wf_xasprintf("%s/%s", *d, de->d_name);
			if (!inside_dir(p, *d)) {
				free(p);
				continue;
			}
			name = name_field(p);
			if (name && !strcmp(name, arg))
				found = p;
			else
				free(p);
			free(name);
		}
		closedir(dh);
	}
	wf_strv_free(dirs);
	if (!found) {
		snprintf(err, errlen, "no workflow named '%s' (looked for %s.yaml and a 'name: %s' along the search path; see 'wf list')",
			 arg, arg, arg);
		*code = WF_EXIT_NOINPUT;
	}
	return found;
}

jv
wf_workflow_list(void)
{
	char **dirs = wf_workflow_search_path();
	jv out = jv_array(), seen = jv_object();

	for (char **d = dirs; *d; d++) {
		struct dirent **ents = NULL;
		int n = scandir(*d, &ents, NULL, alphasort);

		for (int i = 0; i < n; i++) {
			const char *fn = ents[i]->d_name;
			char *p;

			if (fn[0] == '.' || !is_yaml_name(fn)) {
				free(ents[i]);
				continue;
			}
			p = wf_xasprintf("%s/%s", *d, fn);
			if (inside_dir(p, *d)) {
				struct wf_diag diag = {0};
				int code = 0;
				jv wf = wf_workflow_load(p, &diag, &code);
				jv e = jv_object();
				size_t fl = strlen(fn);
				char *stem = wf_xstrndup(fn, fl - (fn[fl - 1] == 'l' ? 5 : 4));
				const char *name = jv_is_valid(wf) ? wf_jv_str(wf, "name") : NULL;
				char *fname = name ? wf_xstrdup(name) : name_field(p);

				if (!fname)
					fname = wf_xstrdup(stem);
				e = jv_object_set(e, jv_string("name"), jv_string(fname));
				e = jv_object_set(e, jv_string("path"), jv_string(p));
				if (jv_is_valid(wf)) {
					e = jv_object_set(e, jv_string("description"), wf_jv_get(wf, "description"));
					e = jv_object_set(e, jv_string("steps"),
						jv_number(jv_array_length(wf_jv_get(wf, "steps"))));
					e = jv_object_set(e, jv_string("error"), jv_null());
				} else {
					e = jv_object_set(e, jv_string("description"), jv_string(""));
					e = jv_object_set(e, jv_string("steps"), jv_null());
					e = jv_object_set(e, jv_string("error"),
						jv_string(diag.n ? diag.msgs[0] : "invalid"));
				}
				e = jv_object_set(e, jv_string("shadowed"),
					jv_bool(jv_object_has(jv_copy(seen), jv_string(fname))));
				seen = jv_object_set(seen, jv_string(fname), jv_true());
				out = jv_array_append(out, e);
				jv_free(wf);
				wf_diag_free(&diag);
				free(stem);
				free(fname);
			}
			free(p);
			free(ents[i]);
		}
		free(ents);
	}
	jv_free(seen);
	wf_strv_free(dirs);
	return out;
}
