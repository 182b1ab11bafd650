/*
 * workflow.c: finding workflow files, and turning one into the canonical
 * workflow JSON (wf-json(7)): every key checked against the schema of its
 * action, Codi's spellings folded into the seed's kebab-case, defaults
 * filled, jumps checked, and each step's fall-through "next" resolved.
 * Every problem is collected with file:line:col, never just the first.
 */
#include <dirent.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf.h"

#ifndef WF_DATADIR
#define WF_DATADIR "/usr/local/share/wf"
#endif

/* ---- the schema ---- */

static const struct wf_field top_fields[] = {
	{ "name", WF_F_STR, NULL }, { "description", WF_F_STR, NULL },
	{ "version", WF_F_STR, NULL }, { "interactive", WF_F_BOOL, NULL },
	{ "persistent", WF_F_BOOL, NULL }, { "strict", WF_F_BOOL, NULL },
	{ "variables", WF_F_MAP, NULL }, { "env", WF_F_MAP, NULL },
	{ "model", WF_F_STR, NULL }, { "budget", WF_F_BUDGET, NULL },
	{ "max-steps", WF_F_INT, NULL }, { "steps", WF_F_ANY, NULL },
	{ NULL, 0, NULL }
};

static const struct wf_field common_fields[] = {
	{ "id", WF_F_STR, NULL }, { "action", WF_F_STR, NULL },
	{ "description", WF_F_STR, NULL }, { "if", WF_F_STR, NULL },
	{ "check", WF_F_STR, NULL }, { "variable", WF_F_STR, NULL },
	{ "on-true", WF_F_STEP, NULL }, { "on-false", WF_F_STEP, NULL },
	{ "on-approved", WF_F_STEP, NULL }, { "on-rejected", WF_F_STEP, NULL },
	{ "on-complete", WF_F_STEP, NULL }, { "on-error", WF_F_STEP, NULL },
	{ "timeout", WF_F_DURATION, NULL }, { "retry", WF_F_RETRY, NULL },
	{ "continue-on-error", WF_F_BOOL, NULL }, { "idempotent", WF_F_BOOL, NULL },
	{ "env", WF_F_MAP, NULL }, { "secrets", WF_F_STRLIST, NULL },
	{ NULL, 0, NULL }
};

int
wf_step_repeatable(jv step)
{
	/* Every built-in class may repeat; idempotent: false on the step says otherwise. */
	return wf_jv_bool(step, "idempotent", 1);
}

int
wf_step_gives_verdict(jv step)
{
	const char *a = wf_jv_str(step, "action"), *kind = wf_jv_str(step, "kind");
	const struct wf_action *as = wf_action_get(a);

	if (!a)
		return 0;
	if (!as)
		return 1;	/* a custom action may answer "approved" */
	if (!strcmp(a, "interactive"))
		return !kind || !strcmp(kind, "confirm");
	return (as->flags & WF_ACTION_VERDICT) != 0;
}

/* The members of a step's 'retry' and of a workflow's 'budget'. */
static const struct wf_field retry_fields[] = {
	{ "attempts", WF_F_INT, NULL }, { "delay", WF_F_DURATION, NULL }, { NULL, 0, NULL }
};

static const struct wf_field budget_fields[] = {
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

/* ---- positions and messages ---- */

struct ctx {
	const char *file;
	jv pos;
	struct wf_diag *diag;
	/*
	 * Checking a canonical JSON document (wf-json(7)) rather than YAML:
	 * types are exact (no text for a number, no shorthand), Codi's
	 * spellings are not folded, members the schema does not know are
	 * ignored as wf-json(7) asks of every reader, and messages name the
	 * step by its id and the field by its path instead of a line:col.
	 */
	int json;
	int one_step;	/* json: the single step of a request; its jumps name steps not at hand */
	jv ids;		/* json: each step's id (or null) by index, for messages */
};

static void
at(struct ctx *c, const char *path, int value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The index N of a PATH under "/steps/N", or -1; *REST gets what follows it. */
static int
step_of_path(const char *path, const char **rest)
{
	char *end;
	long i;

	if (strncmp(path, "/steps/", 7) || path[7] < '0' || path[7] > '9')
		return -1;
	i = strtol(path + 7, &end, 10);
	if ((*end && *end != '/') || i > 1000000000)
		return -1;
	*rest = end;
	return (int)i;
}

/* MSG for a JSON document: "step 'ID': " in front when PATH is in a step that MSG does not name. */
static void
json_at(struct ctx *c, const char *path, const char *msg)
{
	const char *rest;
	int i = step_of_path(path, &rest);

	if (i < 0 || !strncmp(msg, "step ", 5)) {
		wf_diag_add(c->diag, NULL, 0, 0, "%s", msg);
		return;
	}
	jv id = jv_get_kind(c->ids) == JV_KIND_ARRAY && i < jv_array_length(jv_copy(c->ids))
		? jv_array_get(jv_copy(c->ids), i) : jv_null();

	if (jv_get_kind(id) == JV_KIND_STRING && wf_name_valid(jv_string_value(id)))
		wf_diag_add(c->diag, NULL, 0, 0, "step '%s': %s", jv_string_value(id), msg);
	else
		wf_diag_add(c->diag, NULL, 0, 0, "step %d: %s", i + 1, msg);
	jv_free(id);
}

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
	if (c->json)
		json_at(c, path, msg);
	else
		wf_diag_add(c->diag, c->file, line, col, "%s", msg);
}

/* BASE plus "/KEY" as a JSON pointer (KEY's '~' and '/' escaped as yaml.c records them); malloc'd. */
static char *
key_path(const char *base, const char *key)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, base);
	wf_buf_addch(&b, '/');
	for (; *key; key++) {
		if (*key == '~')
			wf_buf_addstr(&b, "~0");
		else if (*key == '/')
			wf_buf_addstr(&b, "~1");
		else
			wf_buf_addch(&b, *key);
	}
	return wf_buf_detach(&b);
}

/* Position recorded for PATH as line * 2^24 + col (key position), or 0. */
static double
pos_rank(struct ctx *c, const char *path)
{
	jv p = jv_object_get(jv_copy(c->pos), jv_string(path));
	double r = 0;

	if (jv_get_kind(p) == JV_KIND_ARRAY)
		r = jv_number_value(jv_array_get(jv_copy(p), 0)) * 16777216.0 +
		    jv_number_value(jv_array_get(jv_copy(p), 1));
	jv_free(p);
	return r;
}

/* Does the key at path A come after the one at path B in the file? */
static int
pos_after(struct ctx *c, const char *a, const char *b)
{
	return pos_rank(c, a) > pos_rank(c, b);
}

/*
 * A key spelt as ALIAS under BASE now lives under its canonical name CANON:
 * record the alias's position for the canonical path too, so that later
 * checks on CANON (a jump target, say) point at the line the user wrote.
 * A position the canonical spelling has of its own is kept.
 */
static void
alias_pos(struct ctx *c, const char *base, const char *alias, const char *canon)
{
	char *ap = key_path(base, alias), *cp = key_path(base, canon);
	jv p = jv_object_get(jv_copy(c->pos), jv_string(ap));

	if (jv_is_valid(p) && !jv_object_has(jv_copy(c->pos), jv_string(cp)))
		c->pos = jv_object_set(c->pos, jv_string(cp), p);
	else
		jv_free(p);
	free(ap);
	free(cp);
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

/* V's kind (borrowed) in the words of the document being checked: YAML's, or JSON's. */
static const char *
kind_of(const struct ctx *c, jv v)
{
	if (!c->json)
		return kind_name(v);
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING: return "a string";
	case JV_KIND_ARRAY: return "an array";
	case JV_KIND_OBJECT: return "an object";
	case JV_KIND_NULL: return "null";
	default: return kind_name(v);
	}
}

static void
field_at(struct ctx *c, const char *path, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * Report FMT about the value of the field NAME at PATH: "'NAME': FMT" at
 * the value's line:col in YAML; "field 'a.b': FMT" in JSON, the field
 * spelt as its path within the step (or the document), dots between keys.
 */
static void
field_at(struct ctx *c, const char *path, const char *name, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!c->json) {
		at(c, path, 1, "'%s': %s", name, msg);
		return;
	}
	struct wf_buf f = {0};
	const char *rest = path;

	if (step_of_path(path, &rest) < 0)
		rest = path;
	for (const char *p = *rest == '/' ? rest + 1 : rest; *p; p++) {
		if (p[0] == '~' && (p[1] == '0' || p[1] == '1'))
			wf_buf_addch(&f, *++p == '0' ? '~' : '/');
		else
			wf_buf_addch(&f, *p == '/' ? '.' : *p);
	}
	at(c, path, 1, "field '%s': %s", f.s ? f.s : name, msg);
	wf_buf_free(&f);
}

/* ---- value checks ---- */

/*
 * Length of the plain decimal number at the start of S ("5", "-2", "0.5",
 * "1e3"), or 0.  strtod alone would also take " 5", "0x10", "inf" and
 * "nan", which are not numbers a workflow author means.
 */
static size_t
decimal_span(const char *s)
{
	const char *p = s;
	int digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (!digits)
		return 0;
	if ((*p == 'e' || *p == 'E') &&
	    ((p[1] >= '0' && p[1] <= '9') ||
	     ((p[1] == '-' || p[1] == '+') && p[2] >= '0' && p[2] <= '9'))) {
		p += 2;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return (size_t)(p - s);
}

/* The longest duration taken, in seconds (about 31 years): more is a typo, or an attack on the arithmetic. */
#define DURATION_MAX 1e9

/* Parse a duration in seconds; -1 when malformed or over DURATION_MAX. */
static double
parse_duration(jv v)
{
	if (jv_get_kind(v) == JV_KIND_NUMBER)
		return isfinite(jv_number_value(v)) && jv_number_value(v) >= 0 &&
		       jv_number_value(v) <= DURATION_MAX ? jv_number_value(v) : -1;
	if (jv_get_kind(v) != JV_KIND_STRING)
		return -1;
	const char *s = jv_string_value(v);
	char *end;
	double d;

	if (!decimal_span(s))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno || end != s + decimal_span(s) || !isfinite(d) || d < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		;
	else if (!strcmp(end, "ms"))
		d /= 1000.0;
	else if (!strcmp(end, "m"))
		d *= 60;
	else if (!strcmp(end, "h"))
		d *= 3600;
	else
		return -1;
	return d <= DURATION_MAX ? d : -1;
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

/*
 * Report each member of the mapping V (borrowed), the value of field F at
 * PATH, that is not a scalar (or a list, for WF_F_VARS; or, for RECORDS, not
 * a mapping); the count.
 */
static int
bad_members(struct ctx *c, const char *path, const struct wf_field *f, jv v, int records)
{
	int lists = f->type == WF_F_VARS;
	int bad = 0;

	/*
	 * jv_object_foreach borrows its object and evaluates the argument at
	 * every turn: never pass it jv_copy(...), which would leak references.
	 */
	jv_object_foreach(v, k, val) {
		jv_kind kk = jv_get_kind(val);

		if (records ? kk != JV_KIND_OBJECT : kk == JV_KIND_OBJECT || (kk == JV_KIND_ARRAY && !lists)) {
			char *sub = key_path(path, jv_string_value(k));

			if (records)
				field_at(c, sub, jv_string_value(k), "expected an object, got %s", kind_of(c, val));
			else
				field_at(c, sub, jv_string_value(k), "a value in '%s' must be text, a number or a boolean%s, got %s",
					 f->name, lists ? " (or a list)" : "", kind_of(c, val));
			free(sub);
			bad++;
		}
		jv_free(k);
		jv_free(val);
	}
	return bad;
}

/* Check V (consumed) against TYPE; returns the canonical value, or invalid after a message. */
static jv
check_value(struct ctx *c, const char *path, const struct wf_field *f, jv v)
{
	char shown[96];

	switch (f->type) {
	case WF_F_STR:
	case WF_F_STEP:
		if (!c->json && (jv_get_kind(v) == JV_KIND_NUMBER || jv_get_kind(v) == JV_KIND_TRUE ||
				 jv_get_kind(v) == JV_KIND_FALSE)) {
			char *t = wf_jv_text(v);

			jv_free(v);
			v = jv_string(t);
			free(t);
		}
		if (jv_get_kind(v) != JV_KIND_STRING) {
			field_at(c, path, f->name, "expected %s, got %s", c->json ? "a string" : "text",
				 kind_of(c, v));
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
				show_value(v, shown, sizeof shown);
				field_at(c, path, f->name, "expected one of %s, got %s", f->choices, shown);
				jv_free(v);
				return jv_invalid();
			}
		}
		return v;
	case WF_F_INT:
	case WF_F_NUM: {
		double d;

		if (!c->json && jv_get_kind(v) == JV_KIND_STRING) {
			char *end;
			const char *s = jv_string_value(v);

			size_t span = decimal_span(s);

			d = span ? strtod(s, &end) : 0;
			if (!span || s[span] || end != s + span) {
				show_value(v, shown, sizeof shown);
				field_at(c, path, f->name, "expected a %s, got %s",
					 f->type == WF_F_INT ? "whole number" : "number", shown);
				jv_free(v);
				return jv_invalid();
			}
			jv_free(v);
			v = jv_number(d);
		}
		if (jv_get_kind(v) != JV_KIND_NUMBER) {
			field_at(c, path, f->name, "expected a %s, got %s",
				 f->type == WF_F_INT ? "whole number" : "number", kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		d = jv_number_value(v);
		/* Range first: casting a huge or non-finite double to long is undefined. */
		if (!isfinite(d) || d < 0 || d > 1e15 ||
		    (f->type == WF_F_INT && (d > 1e9 || d != (double)(long)d))) {
			field_at(c, path, f->name, "expected a %s, got %g",
				 f->type == WF_F_INT ? "whole number" : "number >= 0", d);
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case WF_F_BOOL:
		if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
			return v;
		show_value(v, shown, sizeof shown);
		if (!c->json && jv_get_kind(v) == JV_KIND_STRING && is_yaml11_bool(jv_string_value(v)))
			field_at(c, path, f->name, "expected true or false, got %s (YAML 1.1 booleans are not read as booleans; write true or false)",
				 shown);
		else
			field_at(c, path, f->name, "expected true or false, got %s", shown);
		jv_free(v);
		return jv_invalid();
	case WF_F_DURATION: {
		/* Canonical JSON holds seconds only. */
		double d = c->json && jv_get_kind(v) != JV_KIND_NUMBER ? -1 : parse_duration(v);

		if (d < 0) {
			show_value(v, shown, sizeof shown);
			if (c->json)
				field_at(c, path, f->name, "expected a number of seconds from 0 to %g, got %s", DURATION_MAX,
					 jv_get_kind(v) == JV_KIND_NUMBER ? "a larger or negative number" : shown);
			else
				field_at(c, path, f->name, "expected a duration such as 30, \"30s\", \"5m\" or \"500ms\", got %s",
					 shown);
			jv_free(v);
			return jv_invalid();
		}
		jv_free(v);
		return jv_number(d);
	}
	case WF_F_MAP:
	case WF_F_VARS: {
		if (jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
			return jv_object();
		}
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			field_at(c, path, f->name, "expected a mapping of names to values, got %s",
				 kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		if (bad_members(c, path, f, v, 0)) {
			jv_free(v);
			return jv_invalid();
		}
		return v;
	}
	case WF_F_STRLIST: {
		if (!c->json && jv_get_kind(v) == JV_KIND_STRING)
			return jv_array_append(jv_array(), v);
		if (jv_get_kind(v) != JV_KIND_ARRAY) {
			field_at(c, path, f->name, "expected a list of texts, got %s", kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		jv out = jv_array();
		int i = 0;
		jv_array_foreach(v, idx, item) {
			(void)idx;
			if (jv_get_kind(item) == JV_KIND_STRING || (!c->json &&
			    (jv_get_kind(item) == JV_KIND_NUMBER || jv_get_kind(item) == JV_KIND_TRUE ||
			     jv_get_kind(item) == JV_KIND_FALSE))) {
				char *t = wf_jv_text(item);

				out = jv_array_append(out, jv_string(t));
				free(t);
			} else {
				char *sub = wf_xasprintf("%s/%d", path, i);

				field_at(c, sub, f->name, "item %d must be text, got %s", i + 1,
					 kind_of(c, item));
				free(sub);
			}
			jv_free(item);
			i++;
		}
		jv_free(v);
		return out;
	}
	case WF_F_RETRY:
	case WF_F_BUDGET: {
		int retry = f->type == WF_F_RETRY;
		const struct wf_field *sub = retry ? retry_fields : budget_fields;

		if (!c->json && retry && jv_get_kind(v) == JV_KIND_NUMBER) {
			/* "retry: 3" is the number of attempts, checked as one. */
			const struct wf_field attempts = { f->name, WF_F_INT, NULL };
			jv o;

			v = check_value(c, path, &attempts, v);
			if (!jv_is_valid(v))
				return v;
			o = jv_object_set(jv_object(), jv_string("attempts"), v);
			return jv_object_set(o, jv_string("delay"), jv_number(0));
		}
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			field_at(c, path, f->name, "expected a mapping (%s), got %s",
				 retry ? "attempts, delay" : "tokens, usd", kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		jv out = jv_object();
		int bad = 0;
		jv_object_foreach(v, k, val) {
			const struct wf_field *sf = NULL;
			char *sp = key_path(path, jv_string_value(k));

			for (const struct wf_field *p = sub; p->name; p++)
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
		jv_free(v);
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
	case WF_F_OBJECT:
	case WF_F_RECORDS:
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			field_at(c, path, f->name, "expected %s, got %s",
				 f->type == WF_F_OBJECT ? "an object" : "an object of objects", kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		if (f->type == WF_F_RECORDS && bad_members(c, path, f, v, 1)) {
			jv_free(v);
			return jv_invalid();
		}
		return v;
	case WF_F_LIST:
		if (jv_get_kind(v) != JV_KIND_ARRAY) {
			field_at(c, path, f->name, "expected an array, got %s", kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		return v;
	case WF_F_MODEL:
		if (jv_get_kind(v) != JV_KIND_STRING && jv_get_kind(v) != JV_KIND_OBJECT) {
			field_at(c, path, f->name, "expected a model's name or an object, got %s",
				 kind_of(c, v));
			jv_free(v);
			return jv_invalid();
		}
		return v;
	case WF_F_ANY:
		return v;
	}
	return v;
}

static const struct wf_field *
find_field(const struct wf_field *list, const char *name)
{
	for (const struct wf_field *f = list; f && f->name; f++)
		if (!strcmp(f->name, name))
			return f;
	return NULL;
}

/* The closest known key to KEY within edit distance 2, for a hint. */
static const char *
closest(const char *key, const struct wf_field *a, const struct wf_field *b)
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

/* What wf-parse adds to the top of the canonical workflow. */
static const struct wf_field canonical_top_fields[] = {
	{ "source", WF_F_STR, NULL }, { "hash", WF_F_STR, NULL }, { NULL, 0, NULL }
};

/* What wf-parse adds to each step of the canonical workflow. */
static const struct wf_field canonical_step_fields[] = {
	{ "next", WF_F_STEP, NULL }, { NULL, 0, NULL }
};

static const char *const jump_keys[] = {
	"on-true", "on-false", "on-approved", "on-rejected", "on-complete", "on-error", "to", NULL
};

static jv
check_step(struct ctx *c, jv step, int i, const char *dir_file)
{
	char path[64];
	jv out = jv_object();
	const char *action = NULL;
	const struct wf_action *as = NULL;
	int custom = 0;

	snprintf(path, sizeof path, "/steps/%d", i);
	if (jv_get_kind(step) != JV_KIND_OBJECT) {
		at(c, path, 1, "step %d: expected a mapping with 'id' and 'action', got %s", i + 1,
		   kind_name(step));
		jv_free(out);
		jv_free(step);
		return jv_invalid();
	}
	/* "id: 1" and "action: 5" are read as text, like every other text field. */
	for (int k = 0; k < 2 && !c->json; k++) {
		const char *key = k ? "action" : "id";
		jv kv = wf_jv_get(step, key);
		jv_kind kk = jv_get_kind(kv);

		if (kk == JV_KIND_NUMBER || kk == JV_KIND_TRUE || kk == JV_KIND_FALSE) {
			char *t = wf_jv_text(kv);

			step = jv_object_set(step, jv_string(key), jv_string(t));
			free(t);
		}
		jv_free(kv);
	}
	const char *id = wf_jv_str(step, "id");
	jv idv = wf_jv_get(step, "id");
	/* An id of the wrong type gets its own message from the key loop below. */
	int id_absent = jv_get_kind(idv) == JV_KIND_NULL || (id && !*id);
	jv_free(idv);
	if (id_absent)
		at(c, path, 1, "step %d has no 'id'", i + 1);
	else if (id && !wf_name_valid(id)) {
		char sub[80];

		snprintf(sub, sizeof sub, "%s/id", path);
		at(c, sub, 1, "step id '%s' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')", id);
	}
	action = wf_jv_str(step, "action");
	jv av = wf_jv_get(step, "action");
	int action_absent = jv_get_kind(av) == JV_KIND_NULL || (action && !*action);
	jv_free(av);
	if (action_absent) {
		if (id && *id)
			at(c, path, 1, "step %d ('%s') has no 'action'", i + 1, id);
		else
			at(c, path, 1, "step %d has no 'action'", i + 1);
	} else if (action && !(as = wf_action_get(action))) {
		/* In JSON the program that runs the step looks for a custom action itself. */
		char *found = c->json ? NULL : wf_action_find(action, dir_file);
		char sub[80];

		snprintf(sub, sizeof sub, "%s/action", path);
		if (c->json && wf_name_valid(action)) {
			custom = 1;
		} else if (c->json) {
			field_at(c, sub, "action", "'%.60s' is not a built-in action nor a custom action's name (letters, digits, '.', '_', '-')",
				 action);
		} else if (found) {
			custom = 1;
			free(found);
		} else {
			const char *best = NULL;
			int bestd = 3;

			for (const struct wf_action *a = wf_actions; a->name; a++) {
				int d = wf_edit_distance(action, a->name);
				if (d < bestd) {
					bestd = d;
					best = a->name;
				}
			}
			if (best)
				at(c, sub, 1, "unknown action '%s' (did you mean '%s'?)", action, best);
			else
				at(c, sub, 1, "unknown action '%s': not built in, and no executable 'wf-action-%s' in actions/ beside the workflow or on PATH",
				   action, action);
		}
	}

	/* SEEN maps each canonical key present to the spelling used, valid or not. */
	jv seen = jv_object();
	jv_object_foreach(step, k, v) {
		const char *key = jv_string_value(k);
		const char *ck = c->json ? key : canon_key(key, action);
		char *kp = key_path(path, key);
		const struct wf_field *f = find_field(common_fields, ck);
		jv other = jv_object_get(jv_copy(seen), jv_string(ck));

		if (!f && as)
			f = find_field(as->fields, ck);
		if (!f && c->json)
			f = find_field(canonical_step_fields, ck);
		if (!f && c->json && !custom) {
			/* wf-json(7): a reader ignores members it does not know. */
			jv_free(other);
			jv_free(v);
		} else if (f && jv_get_kind(v) == JV_KIND_NULL) {
			/* "command:" with no value is the same as leaving it out. */
			jv_free(other);
			jv_free(v);
		} else if (jv_is_valid(other)) {
			/* An alias and its canonical spelling both set: report the later one. */
			char *op = key_path(path, jv_string_value(other));
			const char *later = pos_after(c, kp, op) ? key : jv_string_value(other);

			at(c, later == key ? kp : op, 0, "'%s' and '%s' are two spellings of the same key: keep one",
			   later == key ? jv_string_value(other) : key, later);
			free(op);
			jv_free(other);
			jv_free(v);
		} else if (!f && custom) {
			jv_free(other);
			seen = jv_object_set(seen, jv_string(ck), jv_copy(k));
			out = jv_object_set(out, jv_string(ck), v);
		} else if (!f) {
			jv_free(other);
			if (as || !action) {
				const char *hint = closest(key, common_fields, as ? as->fields : NULL);

				if (hint)
					at(c, kp, 0, "unknown key '%s' (did you mean '%s'?)", key, hint);
				else
					at(c, kp, 0, "unknown key '%s' for action '%s'", key,
					   action ? action : "?");
			}
			jv_free(v);
		} else {
			jv_free(other);
			seen = jv_object_set(seen, jv_string(ck), jv_copy(k));
			if (strcmp(ck, key))
				alias_pos(c, path, key, ck);
			if (!strcmp(key, "timeoutMs") && jv_get_kind(v) == JV_KIND_NUMBER)
				v = jv_number(jv_number_value(v) / 1000.0);
			jv cv = check_value(c, kp, f, v);
			if (jv_is_valid(cv)) {
				if (jv_get_kind(cv) == JV_KIND_STRING && !c->json)
					cv = fold_braces(cv);
				out = jv_object_set(out, jv_string(ck), cv);
			} else {
				jv_free(cv);
			}
		}
		free(kp);
		jv_free(k);
	}
	if (as) {
		const char *r = as->required;

		while (*r) {
			const char *sp = strchr(r, ' ');
			size_t n = sp ? (size_t)(sp - r) : strlen(r);
			char name[64];

			snprintf(name, sizeof name, "%.*s", (int)n, r);
			/* A key that is present but wrong has had its own message. */
			if (!jv_object_has(jv_copy(seen), jv_string(name))) {
				if (id && *id)
					at(c, path, 1, "step '%s': action '%s' needs '%s'", id, action, name);
				else
					at(c, path, 1, "step %d: action '%s' needs '%s'", i + 1, action, name);
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
	jv_free(seen);
	jv_free(step);
	return out;
}

/* The loop and choice rules that need the whole list of steps. */
/*
 * Refuse the jump keys of step S (borrowed, at index I) that nothing can
 * ever take: on-true/on-false need a check (or a conditional); on-approved
 * and on-rejected need a check or an action that gives a verdict, and a
 * check's on-true/on-false take precedence over them; a loop takes none.
 */
static void
check_dead_jumps(struct ctx *c, jv s, int i)
{
	static const char *const keys[] = { "on-true", "on-false", "on-approved", "on-rejected", NULL };
	const char *action = wf_jv_str(s, "action"), *id = wf_jv_str(s, "id");
	int cond = action && !strcmp(action, "conditional"), loop = action && !strcmp(action, "loop");
	int check = wf_jv_str(s, "check") != NULL;

	if (!action)
		return;
	for (int k = 0; keys[k]; k++) {
		int verdict_key = k >= 2;
		char path[80], why[160];

		if (!wf_jv_str(s, keys[k]))
			continue;
		why[0] = '\0';
		if (loop)
			snprintf(why, sizeof why, "a loop goes by its 'condition', 'to' and 'on-exhausted'");
		else if (cond && verdict_key)
			snprintf(why, sizeof why, "a conditional goes to 'on-true' or 'on-false'");
		else if (cond)
			;
		else if (check && verdict_key && wf_jv_str(s, keys[k - 2]))
			snprintf(why, sizeof why, "'%s' takes precedence (keep one)", keys[k - 2]);
		else if (!check && !verdict_key)
			snprintf(why, sizeof why, "step '%s' has no 'check' (add one, or remove '%s')",
				 id ? id : "?", keys[k]);
		else if (!check && !wf_step_gives_verdict(s))
			snprintf(why, sizeof why, "step '%s' has no 'check' and action '%s' gives no verdict (add a 'check', or remove '%s')",
				 id ? id : "?", action, keys[k]);
		if (!why[0])
			continue;
		snprintf(path, sizeof path, "/steps/%d/%s", i, keys[k]);
		at(c, path, 0, "'%s' can never be taken: %s", keys[k], why);
	}
}

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

				snprintf(pp, sizeof pp, "/steps/%d/id", pi);
				pos = jv_object_get(jv_copy(c->pos), jv_string(pp));
				snprintf(path, sizeof path, "/steps/%d/id", i);
				if (c->json)
					at(c, path, 1, "duplicate step id '%s' (first as step %d)", id, pi + 1);
				else
					at(c, path, 1, "duplicate step id '%s' (first at %d:%d)", id,
					   jv_get_kind(pos) == JV_KIND_ARRAY ? (int)jv_number_value(jv_array_get(jv_copy(pos), 2)) : 0,
					   jv_get_kind(pos) == JV_KIND_ARRAY ? (int)jv_number_value(jv_array_get(jv_copy(pos), 3)) : 0);
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

		int loop = action && !strcmp(action, "loop");

		/* Over the step's own keys: cheaper than a lookup per jump key. */
		jv_object_foreach(s, key, val) {
			const char *kn = jv_string_value(key), *t;
			int jump = 0;

			for (int k = 0; jump_keys[k] && !jump; k++)
				jump = !strcmp(kn, jump_keys[k]);
			/* 'to' jumps only in a loop; a custom action may use the word for itself. */
			if (!strcmp(kn, "to") && !loop)
				jump = 0;
			/* Canonical JSON names each step's fall-through, which must exist too. */
			if (c->json && !strcmp(kn, "next"))
				jump = 1;
			/* The one step of a request: the steps its jumps name are not at hand. */
			if (c->one_step)
				jump = 0;
			if (jump && jv_get_kind(val) == JV_KIND_STRING) {
				char path[80];
				jv ti;

				t = jv_string_value(val);
				snprintf(path, sizeof path, "/steps/%d/%s", i, kn);
				ti = jv_object_get(jv_copy(first), jv_copy(val));
				if (!jv_is_valid(ti)) {
					at(c, path, 1, "'%s' names no step: '%s'", kn, t);
				} else if (loop && !strcmp(kn, "to") && (int)jv_number_value(ti) >= i) {
					at(c, path, 1, "loop 'to' must name an earlier step: '%s' is %s", t,
					   (int)jv_number_value(ti) == i ? "the loop itself" : "after the loop");
				}
				jv_free(ti);
			}
			jv_free(key);
			jv_free(val);
		}
		check_dead_jumps(c, s, i);
		/* Conditions are checked here, so a typo is found before the run. */
		static const char *const conds[] = { "check", "condition", "if", NULL };
		for (int k = 0; conds[k]; k++) {
			const char *expr = wf_jv_str(s, conds[k]);
			char err[512], path[80];
			int colno = 0;

			if (!expr)
				continue;
			snprintf(path, sizeof path, "/steps/%d/%s", i, conds[k]);
			if (!jv_object_has(jv_copy(c->pos), jv_string(path))) {
				/* Written in a Codi spelling: find the key it came from. */
				snprintf(path, sizeof path, "/steps/%d/check", i);
			}
			if (wf_cond_check(expr, err, sizeof err, &colno) == WF_EXIT_DATA) {
				if (colno > 0)
					at(c, path, 1, "'%s': bad condition '%s': column %d: %s", conds[k], expr, colno, err);
				else
					at(c, path, 1, "'%s': bad condition '%s': %s", conds[k], expr, err);
			}
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

struct diag_key {
	long line, col;
	size_t idx;
	char *msg;
};

static int
diag_key_cmp(const void *a, const void *b)
{
	const struct diag_key *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Put the messages DIAG gained from index FROM on into file order (line,
 * then column; messages without a position first; ties keep the order they
 * were found in), and make each one a single printable line: a key or value
 * quoted from the file may hold control characters or newlines.
 */
static void
finish_diags(struct wf_diag *d, size_t from, const char *file)
{
	size_t n = d->n - from, flen = strlen(file);
	struct diag_key *k;

	if (d->n <= from)
		return;
	k = wf_xcalloc(n, sizeof *k);
	for (size_t i = 0; i < n; i++) {
		char *m = d->msgs[from + i], *e;

		k[i].idx = i;
		k[i].msg = m;
		if (!strncmp(m, file, flen) && m[flen] == ':') {
			k[i].line = strtol(m + flen + 1, &e, 10);
			if (*e == ':')
				k[i].col = strtol(e + 1, NULL, 10);
			else
				k[i].line = 0;
		}
		for (unsigned char *p = (unsigned char *)m; *p; p++)
			if (*p < 0x20 || *p == 0x7f)
				*p = *p == '\n' || *p == '\t' || *p == '\r' ? ' ' : '?';
	}
	qsort(k, n, sizeof *k, diag_key_cmp);
	for (size_t i = 0; i < n; i++)
		d->msgs[from + i] = k[i].msg;
	free(k);
}

static jv parse_workflow(const char *buf, size_t len, const char *file, struct wf_diag *diag);

jv
wf_workflow_parse(const char *buf, size_t len, const char *file, struct wf_diag *diag)
{
	size_t before = diag->n;
	jv wf = parse_workflow(buf, len, file, diag);

	finish_diags(diag, before, file);
	return wf;
}

/* S in lowercase (the reserved names are all uppercase); malloc'd. */
static char *
lowercase(const char *s)
{
	char *l = wf_xstrdup(s);

	for (char *p = l; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return l;
}

/*
 * Refuse a variable name that would change what a step's commands run
 * (wf_env_name_reserved): the names of MAP (borrowed; "variables" or
 * "env" at BASE), or the literal target of a step's KEY field.
 */
static void
check_reserved_names(struct ctx *c, jv map, const char *base)
{
	if (jv_get_kind(map) != JV_KIND_OBJECT)
		return;
	jv_object_foreach(map, k, v) {
		if (wf_env_name_reserved(jv_string_value(k))) {
			char *kp = key_path(base, jv_string_value(k));

			char *low = lowercase(jv_string_value(k));

			at(c, kp, 0, "variable '%s' would change what commands run, so a workflow may not set it (use another name, such as '%s')",
			   jv_string_value(k), low);
			free(low);
			free(kp);
		}
		jv_free(k);
		jv_free(v);
	}
}

static void
check_reserved_targets(struct ctx *c, jv step, int i)
{
	static const char *const keys[] = { "name", "output", "variable", NULL };
	char base[64];
	jv env = wf_jv_get(step, "env");

	snprintf(base, sizeof base, "/steps/%d", i);
	for (int k = 0; keys[k]; k++) {
		const char *t = wf_jv_str(step, keys[k]);

		if (t && !strstr(t, "${") && wf_env_name_reserved(t)) {
			char *kp = key_path(base, keys[k]);

			char *low = lowercase(t);

			at(c, kp, 1, "'%s': variable '%s' would change what commands run, so a workflow may not set it (use another name, such as '%s')",
			   keys[k], t, low);
			free(low);
			free(kp);
		}
	}
	{
		char *ep = key_path(base, "env");

		check_reserved_names(c, env, ep);
		free(ep);
	}
	jv_free(env);
}

/*
 * The top level and the steps of DOC (consumed), a mapping: each key
 * checked against the schema, problems in C's diag.  Returns the
 * normalised workflow, without the top level's defaults, whatever was
 * found wrong.
 */
static jv
check_document(struct ctx *c, jv doc)
{
	jv out, steps;
	int has_steps;

	out = jv_object();
	jv_object_foreach(doc, k, v) {
		const char *key = jv_string_value(k);
		const char *ck = c->json ? key : canon_key(key, NULL);
		const struct wf_field *f = find_field(top_fields, ck);
		char *kp = key_path("", key);

		if (!f && c->json)
			f = find_field(canonical_top_fields, ck);
		if (!f && c->json) {
			/* wf-json(7): a reader ignores members it does not know. */
			jv_free(v);
		} else if (f && jv_get_kind(v) == JV_KIND_NULL && strcmp(ck, "steps")) {
			/* "description:" with no value is the same as leaving it out. */
			jv_free(v);
		} else if (f && strcmp(ck, key) && jv_object_has(jv_copy(doc), jv_string(ck))) {
			at(c, kp, 0, "'%s' and '%s' are two spellings of the same key: keep one", ck, key);
			jv_free(v);
		} else if (!f) {
			const char *hint = closest(key, top_fields, NULL);

			if (hint)
				at(c, kp, 0, "unknown key '%s' (did you mean '%s'?)", key, hint);
			else
				at(c, kp, 0, "unknown key '%s' at the top of the workflow", key);
			jv_free(v);
		} else if (!strcmp(ck, "steps")) {
			jv_free(v);
		} else {
			jv cv = check_value(c, kp, f, v);

			if (jv_is_valid(cv)) {
				if (jv_get_kind(cv) == JV_KIND_STRING && strcmp(ck, "name") && !c->json)
					cv = fold_braces(cv);
				out = jv_object_set(out, jv_string(ck), cv);
			} else {
				jv_free(cv);
			}
		}
		free(kp);
		jv_free(k);
	}
	{
		const char *name = wf_jv_str(out, "name");
		jv nv = wf_jv_get(doc, "name");

		if (jv_get_kind(nv) == JV_KIND_NULL)
			at(c, "/name", 0, "missing required key 'name'");
		else if (name && !wf_name_valid(name))
			at(c, "/name", 1, "workflow name '%s' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')", name);
		jv_free(nv);
	}
	{
		jv vars = wf_jv_get(out, "variables"), env = wf_jv_get(out, "env");

		check_reserved_names(c, vars, "/variables");
		check_reserved_names(c, env, "/env");
		jv_free(vars);
		jv_free(env);
	}
	if (c->json && !wf_jv_str(doc, "hash"))
		wf_diag_add(c->diag, NULL, 0, 0, "missing required key 'hash'");
	steps = wf_jv_get(doc, "steps");
	has_steps = jv_object_has(jv_copy(doc), jv_string("steps"));
	/* Hold the steps once, so that each raw step is freed as soon as it is checked. */
	doc = jv_object_delete(doc, jv_string("steps"));
	if (!has_steps) {
		wf_diag_add(c->diag, c->file, 1, 1, "missing required key 'steps'");
	} else if (jv_get_kind(steps) != JV_KIND_ARRAY) {
		at(c, "/steps", 1, "'steps': expected a list of steps, got %s", kind_of(c, steps));
	} else if (jv_array_length(jv_copy(steps)) == 0) {
		at(c, "/steps", 1, "'steps' is empty: a workflow needs at least one step");
	} else {
		jv norm = jv_array();
		int n = jv_array_length(jv_copy(steps));

		for (int i = 0; i < n; i++) {
			jv raw = jv_array_get(jv_copy(steps), i);
			jv s;

			steps = jv_array_set(steps, i, jv_null());
			s = check_step(c, raw, i, c->file);
			if (jv_is_valid(s))
				check_reserved_targets(c, s, i);
			norm = jv_array_append(norm, jv_is_valid(s) ? s : jv_object());
		}
		check_flow(c, norm);
		/* Each step's fall-through: the next step in the file, or null at the end. */
		for (int i = 0; i < n; i++) {
			jv s = jv_array_get(jv_copy(norm), i);
			jv next = jv_null();

			if (i + 1 < n) {
				jv ns = jv_array_get(jv_copy(norm), i + 1);
				next = wf_jv_get(ns, "id");
				jv_free(ns);
			}
			/* Unshare S first, or jv_object_set would copy it. */
			norm = jv_array_set(norm, i, jv_null());
			s = jv_object_set(s, jv_string("next"), next);
			norm = jv_array_set(norm, i, s);
		}
		out = jv_object_set(out, jv_string("steps"), norm);
	}
	jv_free(steps);
	jv_free(doc);
	return out;
}

static jv
parse_workflow(const char *buf, size_t len, const char *file, struct wf_diag *diag)
{
	jv doc, pos, out;
	struct ctx c = { .file = file, .diag = diag };
	size_t before = diag->n;
	char hash[65];

	if (wf_yaml_load(buf, len, file, &doc, &pos, diag) < 0) {
		jv_free(pos);
		return jv_invalid();
	}
	c.pos = pos;	/* owned by c.pos from here: alias_pos may replace it */
	if (jv_get_kind(doc) == JV_KIND_NULL) {
		wf_diag_add(diag, file, 1, 1, "empty workflow: expected a mapping with 'name' and 'steps'");
		goto fail;
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		wf_diag_add(diag, file, 1, 1, "expected a mapping with 'name' and 'steps' at the top, got %s",
			    kind_name(doc));
		goto fail;
	}
	out = check_document(&c, doc);
	doc = jv_null();
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
	jv_free(c.pos);
	return out;
fail:
	jv_free(doc);
	jv_free(c.pos);
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
			wf_diag_add(diag, file, 1, 1, "file is over the 1 MiB (%d byte) limit", WF_YAML_MAX_BYTES);
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

/* ---- canonical JSON: what wf-run - and wf-step read ---- */

/* The members of a step request (wf-json(7)) that wf-step reads; "step" has its own schema. */
static const struct wf_field request_fields[] = {
	{ "step", WF_F_OBJECT, NULL }, { "vars", WF_F_VARS, NULL }, { "steps", WF_F_RECORDS, NULL },
	{ "last", WF_F_OBJECT, NULL }, { "loops", WF_F_OBJECT, NULL }, { "iteration", WF_F_INT, NULL },
	{ "model", WF_F_MODEL, NULL }, { "original_model", WF_F_MODEL, NULL },
	{ "transcript", WF_F_LIST, NULL }, { "run", WF_F_OBJECT, NULL }, { "answer", WF_F_STR, NULL },
	{ NULL, 0, NULL }
};

static const struct wf_field request_run_fields[] = {
	{ "name", WF_F_STR, NULL }, { "dir", WF_F_STR, NULL }, { "cwd", WF_F_STR, NULL },
	{ "source", WF_F_STR, NULL }, { "seq", WF_F_NUM, NULL }, { "strict", WF_F_BOOL, NULL },
	{ "interactive", WF_F_BOOL, NULL }, { "quiet", WF_F_BOOL, NULL }, { "tty", WF_F_BOOL, NULL },
	{ "env", WF_F_MAP, NULL }, { "echo_fd", WF_F_INT, NULL }, { NULL, 0, NULL }
};

/* Check OBJ's (borrowed) members named in FIELDS; a member that is absent or null is left out. */
static void
check_members(struct ctx *c, const char *path, jv obj, const struct wf_field *fields)
{
	for (const struct wf_field *f = fields; f->name; f++) {
		jv v = wf_jv_get(obj, f->name);

		if (jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
		} else {
			char *kp = key_path(path, f->name);

			jv_free(check_value(c, kp, f, v));
			free(kp);
		}
	}
}

/*
 * Report a text or a key anywhere in V (borrowed), at PATH, that holds a
 * NUL: C strings would end there, so "rm x\u0000 -rf /" would silently
 * run as "rm x".  The parser bounds the depth; so does DEPTH, for safety.
 */
static void
check_nul(struct ctx *c, const char *path, jv v, int depth)
{
	jv_kind k = jv_get_kind(v);

	if (depth > 512)
		return;
	if (k == JV_KIND_STRING && strlen(jv_string_value(v)) != (size_t)jv_string_length_bytes(jv_copy(v))) {
		field_at(c, path, path, "holds a NUL character (\\u0000), which no command, name or file can carry");
	} else if (k == JV_KIND_ARRAY) {
		jv_array_foreach(v, i, item) {
			char *sub = wf_xasprintf("%s/%d", path, i);

			check_nul(c, sub, item, depth + 1);
			free(sub);
			jv_free(item);
		}
	} else if (k == JV_KIND_OBJECT) {
		jv_object_foreach(v, key, item) {
			char *sub = key_path(path, jv_string_value(key));

			if (strlen(jv_string_value(key)) != (size_t)jv_string_length_bytes(jv_copy(key)))
				field_at(c, sub, path, "a key holds a NUL character (\\u0000)");
			else
				check_nul(c, sub, item, depth + 1);
			free(sub);
			jv_free(key);
			jv_free(item);
		}
	}
}

/* A context for checking a JSON document whose steps are STEPS (borrowed; any kind). */
static void
json_ctx(struct ctx *c, struct wf_diag *diag, jv steps)
{
	memset(c, 0, sizeof *c);
	c->diag = diag;
	c->json = 1;
	c->pos = jv_object();
	c->ids = jv_array();
	if (jv_get_kind(steps) == JV_KIND_ARRAY)
		jv_array_foreach(steps, i, s) {
			(void)i;
			c->ids = jv_array_append(c->ids, wf_jv_get(s, "id"));
			jv_free(s);
		}
}

/* End the check of C: the first problem as one line in ERR, and 0 or WF_EXIT_DATA. */
static int
json_verdict(struct ctx *c, char *err, size_t errlen)
{
	struct wf_diag *d = c->diag;
	int rc = d->n ? WF_EXIT_DATA : 0;

	jv_free(c->pos);
	jv_free(c->ids);
	if (d->n) {
		finish_diags(d, 0, "");
		if (d->n > 1)
			snprintf(err, errlen, "%s (and %zu more problem%s)", d->msgs[0], d->n - 1,
				 d->n > 2 ? "s" : "");
		else
			snprintf(err, errlen, "%s", d->msgs[0]);
	}
	wf_diag_free(d);
	return rc;
}

int
wf_workflow_check_json(jv wf, char *err, size_t errlen)
{
	struct wf_diag diag = {0};
	struct ctx c;
	jv steps = wf_jv_get(wf, "steps");

	json_ctx(&c, &diag, steps);
	jv_free(steps);
	if (jv_get_kind(wf) != JV_KIND_OBJECT) {
		wf_diag_add(&diag, NULL, 0, 0, "expected a canonical workflow, an object with 'name', 'hash' and 'steps', got %s",
			    kind_of(&c, wf));
		return json_verdict(&c, err, errlen);
	}
	check_nul(&c, "", wf, 0);
	jv_free(check_document(&c, jv_copy(wf)));
	return json_verdict(&c, err, errlen);
}

int
wf_step_request_check(jv req, char *err, size_t errlen)
{
	struct wf_diag diag = {0};
	struct ctx c;
	jv step = wf_jv_get(req, "step");
	jv one = jv_array_append(jv_array(), jv_copy(step));

	json_ctx(&c, &diag, one);
	jv_free(one);
	c.one_step = 1;
	if (jv_get_kind(req) != JV_KIND_OBJECT) {
		wf_diag_add(&diag, NULL, 0, 0, "a step request is an object with \"step\" (wf-json(7)), got %s",
			    kind_of(&c, req));
	} else if (jv_get_kind(step) == JV_KIND_NULL) {
		wf_diag_add(&diag, NULL, 0, 0, "missing required key 'step' (wf-json(7))");
	} else {
		/* The step is "/steps/0", so that messages name it by its id. */
		jv_object_foreach(req, k, v) {
			char *kp = strcmp(jv_string_value(k), "step") ? key_path("", jv_string_value(k))
								       : wf_xstrdup("/steps/0");

			check_nul(&c, kp, v, 0);
			free(kp);
			jv_free(k);
			jv_free(v);
		}
		check_members(&c, "", req, request_fields);
		if (jv_get_kind(step) == JV_KIND_OBJECT) {
			jv s = check_step(&c, jv_copy(step), 0, NULL);
			jv list = jv_array_append(jv_array(), jv_is_valid(s) ? s : jv_object());

			check_flow(&c, list);
			jv_free(list);
		}
		{
			jv run = wf_jv_get(req, "run");

			if (jv_get_kind(run) == JV_KIND_OBJECT)
				check_members(&c, "/run", run, request_run_fields);
			jv_free(run);
		}
	}
	jv_free(step);
	return json_verdict(&c, err, errlen);
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
	o = jv_object_set(jv_object(), jv_string("workflow"), wf_fields_json(top_fields));
	o = jv_object_set(o, jv_string("step"), wf_fields_json(common_fields));
	o = jv_object_set(o, jv_string("retry"), wf_fields_json(retry_fields));
	o = jv_object_set(o, jv_string("budget"), wf_fields_json(budget_fields));
	o = jv_object_set(o, jv_string("actions"), acts);
	o = jv_object_set(o, jv_string("aliases"), aliases);
	o = jv_object_set(o, jv_string("canonical"),
		jv_object_set(jv_object_set(jv_object(), jv_string("workflow"), wf_fields_json(canonical_top_fields)),
			      jv_string("step"), wf_fields_json(canonical_step_fields)));
	o = jv_object_set(o, jv_string("request"),
		jv_object_set(jv_object_set(jv_object(), jv_string("members"), wf_fields_json(request_fields)),
			      jv_string("run"), wf_fields_json(request_run_fields)));
	return jv_object_set(o, jv_string("names"), wf_env_name_lists());
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
		/*
		 * Installed: bin/../share/wf/workflows.  Running from the source
		 * tree: bin/ beside workflows/, or a separate build directory such
		 * as build/asan/bin three levels down.  Shown resolved, without "..".
		 */
		static const char *const rel[] = {
			"../share/wf/workflows", "../workflows", "../../../workflows"
		};
		char real[PATH_MAX];
		int found = 0;

		for (size_t i = 0; i < sizeof rel / sizeof *rel && !found; i++) {
			char *cand = wf_xasprintf("%s/%s%s", self, rel[i], i ? "/examples" : "");

			if (realpath(cand, real)) {
				char *slash = i ? strrchr(real, '/') : NULL;

				if (slash)
					*slash = '\0';
				strv_push(&v, &n, wf_xasprintf("%s/examples", real));
				strv_push(&v, &n, wf_xasprintf("%s/templates", real));
				found = 1;
			}
			free(cand);
		}
		free(self);
		if (found)
			return v;
	}
	strv_push(&v, &n, wf_xstrdup(WF_DATADIR "/workflows/examples"));
	strv_push(&v, &n, wf_xstrdup(WF_DATADIR "/workflows/templates"));
	return v;
}

/* Is the regular file at PATH inside directory DIR once links are resolved? */
static int
inside_dir(const char *path, const char *dir)
{
	char rp[PATH_MAX], rd[PATH_MAX];
	size_t n;

	struct stat st;

	/* A FIFO or a device would block or never end: only regular files. */
	if (!realpath(path, rp) || !realpath(dir, rd) || stat(rp, &st) < 0 || !S_ISREG(st.st_mode))
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
	jv doc, pos = jv_null();	/* set by wf_yaml_load; a file that cannot be read leaves it null */
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
	char *found = NULL, *escaped = NULL;
	struct stat st;

	if (!strcmp(arg, "-"))
		return wf_xstrdup(arg);
	if (strchr(arg, '/') || is_yaml_name(arg)) {
		if (stat(arg, &st) < 0) {
			snprintf(err, errlen, "cannot open '%s': %s", arg, strerror(errno));
			*code = WF_EXIT_NOINPUT;
			return NULL;
		}
		return wf_xstrdup(arg);
	}
	if (!wf_name_valid(arg)) {
		snprintf(err, errlen, "invalid workflow name '%.80s%s': use letters, digits, '.', '_' and '-' (at most 128), or give a path to a file",
			 arg, strlen(arg) > 80 ? "..." : "");
		*code = WF_EXIT_DATA;
		return NULL;
	}
	dirs = wf_workflow_search_path();
	/* File stem first, in search order. */
	for (char **d = dirs; *d && !found; d++) {
		static const char *const ext[] = { ".yaml", ".yml" };

		for (int i = 0; i < 2 && !found; i++) {
			char *p = wf_xasprintf("%s/%s%s", *d, arg, ext[i]);

			if (stat(p, &st) < 0 || !S_ISREG(st.st_mode)) {
				free(p);
			} else if (!inside_dir(p, *d)) {
				/* A link out of its directory is never followed. */
				if (!escaped)
					escaped = p;
				else
					free(p);
			} else {
				found = p;
			}
		}
	}
	/* Then the name: field, each directory in file-name order. */
	for (char **d = dirs; *d && !found; d++) {
		struct dirent **ents = NULL;
		int n = scandir(*d, &ents, NULL, alphasort);

		for (int i = 0; i < n; i++) {
			const char *fn = ents[i]->d_name;

			if (!found && fn[0] != '.' && is_yaml_name(fn)) {
				char *p = wf_xasprintf("%s/%s", *d, fn), *name = NULL;

				if (inside_dir(p, *d))
					name = name_field(p);
				if (name && !strcmp(name, arg))
					found = p;
				else
					free(p);
				free(name);
			}
			free(ents[i]);
		}
		free(ents);
	}
	wf_strv_free(dirs);
	if (!found && escaped) {
		snprintf(err, errlen, "no workflow named '%s': '%.200s' points outside its directory and is ignored",
			 arg, escaped);
		*code = WF_EXIT_NOINPUT;
	} else if (!found) {
		snprintf(err, errlen, "no workflow named '%s' (looked for %s.yaml and a 'name: %s' along the search path; see 'wf list')",
			 arg, arg, arg);
		*code = WF_EXIT_NOINPUT;
	}
	free(escaped);
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
			} else {
				/* Listed, not hidden: a dangling link, or one out of its directory. */
				char rp[PATH_MAX];
				jv e = jv_object();
				size_t fl = strlen(fn);
				char *stem = wf_xstrndup(fn, fl - (fn[fl - 1] == 'l' ? 5 : 4));
				struct stat st;
				char *msg = !realpath(p, rp)
					? wf_xasprintf("%s: cannot read: %s", p, strerror(errno))
					: stat(rp, &st) == 0 && !S_ISREG(st.st_mode)
					? wf_xasprintf("%s: not a regular file; ignored", p)
					: wf_xasprintf("%s: points outside its directory and is ignored", p);

				e = jv_object_set(e, jv_string("name"), jv_string(stem));
				e = jv_object_set(e, jv_string("path"), jv_string(p));
				e = jv_object_set(e, jv_string("description"), jv_string(""));
				e = jv_object_set(e, jv_string("steps"), jv_null());
				e = jv_object_set(e, jv_string("error"), jv_string(msg));
				e = jv_object_set(e, jv_string("shadowed"),
					jv_bool(jv_object_has(jv_copy(seen), jv_string(stem))));
				out = jv_array_append(out, e);
				free(msg);
				free(stem);
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
