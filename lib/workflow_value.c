/*
 * workflow_value.c: one value against one field of the schema, and where
 * to say what is wrong with it.  A struct wf_check carries a check in
 * progress: the file, the line:col recorded for each key and value
 * (yaml.c's positions, by JSON pointer), and the problems found so far.
 * YAML is forgiving where a workflow author expects it (a number where
 * text goes, "30s" for a duration, one text for a list) and every value
 * comes back in its canonical form; canonical JSON (wf-json(7)) is taken
 * with exact types, and its messages name the step and the field.
 *
 * Rules: a problem is reported, never printed, and never stops the
 * check (every problem is collected); each message is one line.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"


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
json_at(struct wf_check *c, const char *path, const char *msg)
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
void
wf_check_at(struct wf_check *c, const char *path, int value, const char *fmt, ...)
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
char *
wf_check_key_path(const char *base, const char *key)
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
pos_rank(struct wf_check *c, const char *path)
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
int
wf_check_pos_after(struct wf_check *c, const char *a, const char *b)
{
	return pos_rank(c, a) > pos_rank(c, b);
}

/*
 * A key spelt as ALIAS under BASE now lives under its canonical name CANON:
 * record the alias's position for the canonical path too, so that later
 * checks on CANON (a jump target, say) point at the line the user wrote.
 * A position the canonical spelling has of its own is kept.
 */
void
wf_check_alias_pos(struct wf_check *c, const char *base, const char *alias, const char *canon)
{
	char *ap = wf_check_key_path(base, alias), *cp = wf_check_key_path(base, canon);
	jv p = jv_object_get(jv_copy(c->pos), jv_string(ap));

	if (jv_is_valid(p) && !jv_object_has(jv_copy(c->pos), jv_string(cp)))
		c->pos = jv_object_set(c->pos, jv_string(cp), p);
	else
		jv_free(p);
	free(ap);
	free(cp);
}

/* V's kind (borrowed) in YAML's words, for messages. */
const char *
wf_check_kind_name(jv v)
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
		snprintf(out, n, "%s", wf_check_kind_name(v));
}

/* V's kind (borrowed) in the words of the document being checked: YAML's, or JSON's. */
const char *
wf_check_kind_of(const struct wf_check *c, jv v)
{
	if (!c->json)
		return wf_check_kind_name(v);
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING: return "a string";
	case JV_KIND_ARRAY: return "an array";
	case JV_KIND_OBJECT: return "an object";
	case JV_KIND_NULL: return "null";
	default: return wf_check_kind_name(v);
	}
}

/*
 * Report FMT about the value of the field NAME at PATH: "'NAME': FMT" at
 * the value's line:col in YAML; "field 'a.b': FMT" in JSON, the field
 * spelt as its path within the step (or the document), dots between keys.
 */
void
wf_check_field_at(struct wf_check *c, const char *path, const char *name, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!c->json) {
		wf_check_at(c, path, 1, "'%s': %s", name, msg);
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
	wf_check_at(c, path, 1, "field '%s': %s", f.s ? f.s : name, msg);
	wf_buf_free(&f);
}

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

/* Parse the duration V (borrowed) in seconds; -1 when malformed or over DURATION_MAX. */
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
bad_members(struct wf_check *c, const char *path, const struct wf_field *f, jv v, int records)
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
			char *sub = wf_check_key_path(path, jv_string_value(k));

			if (records)
				wf_check_field_at(c, sub, jv_string_value(k), "expected an object, got %s", wf_check_kind_of(c, val));
			else
				wf_check_field_at(c, sub, jv_string_value(k), "a value in '%s' must be text, a number or a boolean%s, got %s",
					 f->name, lists ? " (or a list)" : "", wf_check_kind_of(c, val));
			free(sub);
			bad++;
		}
		jv_free(k);
		jv_free(val);
	}
	return bad;
}

/* Report that field F at PATH got V (consumed), which is not WANT; returns invalid. */
static jv
wrong_kind(struct wf_check *c, const char *path, const struct wf_field *f, const char *want, jv v)
{
	wf_check_field_at(c, path, f->name, "expected %s, got %s", want, wf_check_kind_of(c, v));
	jv_free(v);
	return jv_invalid();
}

/* Is the text S one of CHOICES ("a|b|c")? */
static int
one_of(const char *s, const char *choices)
{
	size_t n = strlen(s);
	const char *p = choices;
	int ok = 0;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && !strncmp(p, s, n))
			ok = 1;
		p += len + (bar ? 1 : 0);
	}
	return ok;
}

/* A text or a step id: V (consumed), a number or boolean taken as its text in YAML; the text, or invalid. */
static jv
check_text(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	char shown[96];

	if (!c->json && (jv_get_kind(v) == JV_KIND_NUMBER || jv_get_kind(v) == JV_KIND_TRUE ||
			 jv_get_kind(v) == JV_KIND_FALSE)) {
		char *t = wf_jv_text(v);

		jv_free(v);
		v = jv_string(t);
		free(t);
	}
	if (jv_get_kind(v) != JV_KIND_STRING)
		return wrong_kind(c, path, f, c->json ? "a string" : "text", v);
	if (f->choices && !one_of(jv_string_value(v), f->choices)) {
		show_value(v, shown, sizeof shown);
		wf_check_field_at(c, path, f->name, "expected one of %s, got %s", f->choices, shown);
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* A whole number or a number >= 0: V (consumed), a decimal text allowed in YAML; the number, or invalid. */
static jv
check_number(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	const char *what = f->type == WF_F_INT ? "whole number" : "number";
	char shown[96];
	double d;

	if (!c->json && jv_get_kind(v) == JV_KIND_STRING) {
		char *end;
		const char *s = jv_string_value(v);
		size_t span = decimal_span(s);

		d = span ? strtod(s, &end) : 0;
		if (!span || s[span] || end != s + span) {
			show_value(v, shown, sizeof shown);
			wf_check_field_at(c, path, f->name, "expected a %s, got %s", what, shown);
			jv_free(v);
			return jv_invalid();
		}
		jv_free(v);
		v = jv_number(d);
	}
	if (jv_get_kind(v) != JV_KIND_NUMBER) {
		wf_check_field_at(c, path, f->name, "expected a %s, got %s", what, wf_check_kind_of(c, v));
		jv_free(v);
		return jv_invalid();
	}
	d = jv_number_value(v);
	/* Range first: casting a huge or non-finite double to long is undefined. */
	if (!isfinite(d) || d < 0 || d > 1e15 ||
	    (f->type == WF_F_INT && (d > 1e9 || d != (double)(long)d))) {
		wf_check_field_at(c, path, f->name, "expected a %s, got %g",
				  f->type == WF_F_INT ? "whole number" : "number >= 0", d);
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* true or false only: V (consumed), returned, or invalid after a message. */
static jv
check_bool(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	char shown[96];

	if (jv_get_kind(v) == JV_KIND_TRUE || jv_get_kind(v) == JV_KIND_FALSE)
		return v;
	show_value(v, shown, sizeof shown);
	if (!c->json && jv_get_kind(v) == JV_KIND_STRING && is_yaml11_bool(jv_string_value(v)))
		wf_check_field_at(c, path, f->name, "expected true or false, got %s (YAML 1.1 booleans are not read as booleans; write true or false)",
				  shown);
	else
		wf_check_field_at(c, path, f->name, "expected true or false, got %s", shown);
	jv_free(v);
	return jv_invalid();
}

/* A duration: V (consumed); the number of seconds, or invalid.  Canonical JSON holds seconds only. */
static jv
check_duration(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	double d = c->json && jv_get_kind(v) != JV_KIND_NUMBER ? -1 : parse_duration(v);
	char shown[96];

	if (d < 0) {
		show_value(v, shown, sizeof shown);
		if (c->json)
			wf_check_field_at(c, path, f->name, "expected a number of seconds from 0 to %g, got %s", DURATION_MAX,
					  jv_get_kind(v) == JV_KIND_NUMBER ? "a larger or negative number" : shown);
		else
			wf_check_field_at(c, path, f->name, "expected a duration such as 30, \"30s\", \"5m\" or \"500ms\", got %s",
					  shown);
		jv_free(v);
		return jv_invalid();
	}
	jv_free(v);
	return jv_number(d);
}

/* A mapping of names to scalars (or lists, for WF_F_VARS): V (consumed), null as {}; or invalid. */
static jv
check_map(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return jv_object();
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return wrong_kind(c, path, f, "a mapping of names to values", v);
	if (bad_members(c, path, f, v, 0)) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/* A list of texts (one text, in YAML): V (consumed); the list with each item as text; a bad item is left out after a message. */
static jv
check_strlist(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	jv out = jv_array();
	int i = 0;

	if (!c->json && jv_get_kind(v) == JV_KIND_STRING)
		return jv_array_append(out, v);
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		jv_free(out);
		return wrong_kind(c, path, f, "a list of texts", v);
	}
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

			wf_check_field_at(c, sub, f->name, "item %d must be text, got %s", i + 1,
					  wf_check_kind_of(c, item));
			free(sub);
		}
		jv_free(item);
		i++;
	}
	jv_free(v);
	return out;
}

/* The end of a walk over the members of V (consumed): OUT (consumed) when nothing was BAD, else invalid. */
static jv
members_done(jv out, jv v, int bad)
{
	jv_free(v);
	if (bad) {
		jv_free(out);
		return jv_invalid();
	}
	return out;
}

/* The members of the mapping V (consumed) checked against SUB, named in EXPECTED; the checked mapping, or invalid. */
static jv
check_members_of(struct wf_check *c, const char *path, const struct wf_field *f, jv v,
		 const struct wf_field *sub, const char *expected)
{
	jv out = jv_object();
	int bad = 0;

	jv_object_foreach(v, k, val) {
		const struct wf_field *sf = wf_field_find(sub, jv_string_value(k));
		char *sp = wf_check_key_path(path, jv_string_value(k));

		if (!sf) {
			wf_check_at(c, sp, 0, "unknown key '%s' in '%s' (expected %s)", jv_string_value(k),
				    f->name, expected);
			bad = 1;
			jv_free(val);
		} else {
			jv cv = wf_check_value(c, sp, sf, val);

			if (!jv_is_valid(cv))
				bad = 1;
			else
				out = jv_object_set(out, jv_copy(k), cv);
		}
		free(sp);
		jv_free(k);
	}
	return members_done(out, v, bad);
}

/* A step's retry or a workflow's budget: V (consumed); the mapping with retry's defaults filled, or invalid. */
static jv
check_retry_budget(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	int retry = f->type == WF_F_RETRY;
	const char *expected = retry ? "attempts, delay" : "tokens, usd";
	char want[64];
	jv out;

	if (!c->json && retry && jv_get_kind(v) == JV_KIND_NUMBER) {
		/* "retry: 3" is the number of attempts, checked as one. */
		const struct wf_field attempts = { f->name, WF_F_INT, NULL };

		v = wf_check_value(c, path, &attempts, v);
		if (!jv_is_valid(v))
			return v;
		out = jv_object_set(jv_object(), jv_string("attempts"), v);
		return jv_object_set(out, jv_string("delay"), jv_number(0));
	}
	snprintf(want, sizeof want, "a mapping (%s)", expected);
	if (jv_get_kind(v) != JV_KIND_OBJECT)
		return wrong_kind(c, path, f, want, v);
	out = check_members_of(c, path, f, v, retry ? wf_schema_retry : wf_schema_budget, expected);
	if (retry && jv_is_valid(out)) {
		if (!jv_object_has(jv_copy(out), jv_string("attempts")))
			out = jv_object_set(out, jv_string("attempts"), jv_number(1));
		if (!jv_object_has(jv_copy(out), jv_string("delay")))
			out = jv_object_set(out, jv_string("delay"), jv_number(0));
	}
	return out;
}

/* Is S a name a shell can read as a variable: letters, digits and '_', not starting with a digit? */
static int
input_name_valid(const char *s)
{
	if (!*s || (*s >= '0' && *s <= '9') || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/*
 * A workflow's inputs: V (consumed), null as {}; each member a mapping of
 * description and default (a scalar), or null for a required input with
 * no description; the canonical {NAME: {description, default?}}, or
 * invalid after a message.
 */
static jv
check_inputs(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	jv out = jv_object();
	int bad = 0;

	if (jv_get_kind(v) == JV_KIND_NULL) {
		jv_free(v);
		return out;
	}
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(out);
		return wrong_kind(c, path, f, "a mapping of input names to {description, default}", v);
	}
	jv_object_foreach(v, k, val) {
		char *sp = wf_check_key_path(path, jv_string_value(k));
		jv in = jv_get_kind(val) == JV_KIND_NULL ? (jv_free(val), jv_object()) :
			jv_get_kind(val) == JV_KIND_OBJECT ?
			check_members_of(c, sp, f, val, wf_schema_input, "description, default") :
			wrong_kind(c, sp, f, "a mapping (description, default)", val);
		jv def = jv_is_valid(in) ? wf_jv_get(in, "default") : jv_null();
		jv_kind dk = jv_get_kind(def);

		if (!input_name_valid(jv_string_value(k))) {
			wf_check_at(c, sp, 0, "input name '%s' is not a valid name (letters, digits and '_', not starting with a digit), since commands see it as $%s",
				    jv_string_value(k), jv_string_value(k));
			bad = 1;
		}
		if (dk == JV_KIND_OBJECT || dk == JV_KIND_ARRAY) {
			char *dp = wf_check_key_path(sp, "default");

			wf_check_field_at(c, dp, "default", "an input's default must be text, a number or a boolean, got %s",
					  wf_check_kind_of(c, def));
			free(dp);
			bad = 1;
		}
		jv_free(def);
		if (!jv_is_valid(in)) {
			bad = 1;
			jv_free(in);
		} else {
			if (!jv_object_has(jv_copy(in), jv_string("description")))
				in = jv_object_set(in, jv_string("description"), jv_string(""));
			out = jv_object_set(out, jv_copy(k), in);
		}
		free(sp);
		jv_free(k);
	}
	return members_done(out, v, bad);
}

/* Check V (consumed) against field F at PATH; returns the canonical value, or invalid after a message. */
jv
wf_check_value(struct wf_check *c, const char *path, const struct wf_field *f, jv v)
{
	switch (f->type) {
	case WF_F_STR:
	case WF_F_STEP:
		return check_text(c, path, f, v);
	case WF_F_INT:
	case WF_F_NUM:
		return check_number(c, path, f, v);
	case WF_F_BOOL:
		return check_bool(c, path, f, v);
	case WF_F_DURATION:
		return check_duration(c, path, f, v);
	case WF_F_MAP:
	case WF_F_VARS:
		return check_map(c, path, f, v);
	case WF_F_STRLIST:
		return check_strlist(c, path, f, v);
	case WF_F_RETRY:
	case WF_F_BUDGET:
		return check_retry_budget(c, path, f, v);
	case WF_F_OBJECT:
	case WF_F_RECORDS:
		if (jv_get_kind(v) != JV_KIND_OBJECT)
			return wrong_kind(c, path, f, f->type == WF_F_OBJECT ? "an object" : "an object of objects", v);
		if (f->type == WF_F_RECORDS && bad_members(c, path, f, v, 1)) {
			jv_free(v);
			return jv_invalid();
		}
		return v;
	case WF_F_LIST:
		return jv_get_kind(v) == JV_KIND_ARRAY ? v : wrong_kind(c, path, f, "an array", v);
	case WF_F_MODEL:
		return jv_get_kind(v) == JV_KIND_STRING || jv_get_kind(v) == JV_KIND_OBJECT ? v :
		       wrong_kind(c, path, f, "a model's name or an object", v);
	case WF_F_INPUTS:
		return check_inputs(c, path, f, v);
	case WF_F_ANY:
		return v;
	}
	return v;
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
void
wf_check_finish_diags(struct wf_diag *d, size_t from, const char *file)
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
