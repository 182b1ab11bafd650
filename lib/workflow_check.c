/*
 * workflow_check.c: turning a workflow file into the canonical workflow
 * JSON (wf-json(7)): every key of the top level and of each step checked
 * against the schema (workflow_schema.c, and the action's row of
 * action.c), Codi's spellings folded into the seed's kebab-case, defaults
 * filled, jumps, loops, conditions and reserved variable names checked,
 * and each step's fall-through "next" resolved.  Every problem is
 * collected with file:line:col, never just the first, and sorted into
 * file order.
 *
 * Rules: no I/O but the custom-action lookup (wf_action_find); problems
 * go to the caller's struct wf_diag.
 *
 * Layer 2: domain data.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "subflow.h"
#include "yaml_load.h"
#include "fallback.h"
#include "parallel.h"

/* KEY (a key, or any short word) as a jv string shared with its other uses (wf_jv_key); the caller owns it. */
static jv
key_string(const char *key)
{
	return wf_jv_key(key, strlen(key));
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

/*
 * STEP (consumed) with "id: 1" and "action: 5" read as text, like every
 * other text field, unless checking JSON; returns it.  *HEAD[0] and
 * *HEAD[1] are set to its id and its action (null when absent; the caller
 * owns them), read once for every check that asks.
 */
static jv
head_values(struct wf_check *c, jv step, jv head[2])
{
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "action" : "id";
		jv kv = wf_jv_get(step, key);
		jv_kind kk = jv_get_kind(kv);

		if (!c->json && (kk == JV_KIND_NUMBER || kk == JV_KIND_TRUE || kk == JV_KIND_FALSE)) {
			char *t = wf_jv_text(kv);

			jv_free(kv);
			kv = jv_string(t);
			step = jv_object_set(step, key_string(key), jv_copy(kv));
			free(t);
		}
		head[k] = kv;
	}
	return step;
}

/*
 * Is V (borrowed), a step's id or action, absent, null or empty?  A value
 * of the wrong type is not: it gets its own message.  *TEXT is set to the
 * value when it is text, else NULL (it lives as long as V).
 */
static int
absent(jv v, const char **text)
{
	*text = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
	return jv_get_kind(v) == JV_KIND_NULL || (*text && !**text);
}

/* The canonical keys a step has, each with the spelling it was written in (wf_check_step). */
struct seen_keys {
	int n, cap;
	struct seen_key {
		const char *canon;	/* a schema name, or the text of SPELLING */
		jv spelling;
	} *e, few[16];
};

/* The spelling under which S holds canonical key CANON (borrowed from S), or NULL. */
static const char *
seen_find(const struct seen_keys *s, const char *canon)
{
	for (int k = 0; k < s->n; k++)
		if (s->e[k].canon[0] == canon[0] && !strcmp(s->e[k].canon, canon))
			return jv_string_value(s->e[k].spelling);
	return NULL;
}

/* Note canonical key CANON (a schema name, or SPELLING's text) written as SPELLING (consumed) in S. */
static void
seen_add(struct seen_keys *s, const char *canon, jv spelling)
{
	if (!s->e) {
		s->e = s->few;
		s->cap = (int)(sizeof s->few / sizeof *s->few);
	}
	if (s->n == s->cap) {
		struct seen_key *bigger = wf_xcalloc((size_t)s->cap * 2, sizeof *bigger);

		memcpy(bigger, s->e, (size_t)s->n * sizeof *bigger);
		if (s->e != s->few)
			free(s->e);
		s->e = bigger;
		s->cap *= 2;
	}
	s->e[s->n].canon = canon;
	s->e[s->n++].spelling = spelling;
}

static void
seen_free(struct seen_keys *s)
{
	for (int k = 0; k < s->n; k++)
		jv_free(s->e[k].spelling);
	if (s->e != s->few)
		free(s->e);
}

/* BASE plus "/KEY" as wf_check_key_path makes it, in BUF of N bytes when it fits, else malloc'd: free it when it is not BUF. */
static char *
key_path_in(char *buf, size_t n, const char *base, const char *key)
{
	size_t bl = strlen(base), kl = strlen(key);
	char *p;

	if (bl + 2 * kl + 2 > n)
		return wf_check_key_path(base, key);
	memcpy(buf, base, bl);
	p = buf + bl;
	*p++ = '/';
	for (; *key; key++) {
		if (*key == '~' || *key == '/') {
			*p++ = '~';
			*p++ = *key == '~' ? '0' : '1';
		} else {
			*p++ = *key;
		}
	}
	*p = '\0';
	return buf;
}

/*
 * ACTION, at SUB, is not built in: 1 when it is a custom action (found
 * beside DIR_FILE or on PATH; in JSON, any valid name, for the program
 * that runs the step looks for it itself), else 0 after a message.
 */
static int
custom_action(struct wf_check *c, const char *sub, const char *action, const char *dir_file)
{
	char *found = c->json ? NULL : wf_action_find(action, dir_file);
	const char *best = NULL;
	int bestd = 3;

	if (c->json && wf_name_valid(action))
		return 1;
	if (c->json) {
		wf_check_field_at(c, sub, "action", "'%.60s' is not a built-in action nor a custom action's name (letters, digits, '.', '_', '-')",
				  action);
		return 0;
	}
	if (found) {
		free(found);
		return 1;
	}
	for (const struct wf_action *a = wf_actions; a->name; a++) {
		int d = wf_edit_distance(action, a->name);

		if (d < bestd) {
			bestd = d;
			best = a->name;
		}
	}
	if (best)
		wf_check_at(c, sub, 1, "unknown action '%s' (did you mean '%s'?)", action, best);
	else
		wf_check_at(c, sub, 1, "unknown action '%s': not built in, and no executable 'wf-action-%s' in actions/ beside the workflow or on PATH",
			    action, action);
	return 0;
}

/*
 * The id and action of step I, HEAD (borrowed, from head_values) at PATH: report one that
 * is absent, an invalid id and an unknown action.  Returns the action's
 * row, or NULL; *CUSTOM is set for a custom action.
 */
static const struct wf_action *
check_step_head(struct wf_check *c, const jv head[2], int i, const char *path, const char *dir_file, int *custom)
{
	const char *id, *action;
	int no_id = absent(head[0], &id), no_action = absent(head[1], &action);
	const struct wf_action *as = NULL;
	char sub[280];

	*custom = 0;
	if (no_id) {
		wf_check_at(c, path, 1, "step %d has no 'id'", i + 1);
	} else if (id && !wf_name_valid(id)) {
		snprintf(sub, sizeof sub, "%s/id", path);
		wf_check_at(c, sub, 1, "step id '%s' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')", id);
	}
	if (no_action) {
		if (id && *id)
			wf_check_at(c, path, 1, "step %d ('%s') has no 'action'", i + 1, id);
		else
			wf_check_at(c, path, 1, "step %d has no 'action'", i + 1);
	} else if (action && !(as = wf_action_get(action))) {
		snprintf(sub, sizeof sub, "%s/action", path);
		*custom = custom_action(c, sub, action, dir_file);
	}
	return as;
}

/*
 * Check each key of step STEP (borrowed) at PATH against the common keys
 * and those of its action AS (NULL: a custom action when CUSTOM, else
 * unknown or absent; ACTION its action's text), adding each good value
 * under its canonical name to OUT (consumed; returned).  Each canonical
 * key present goes into SEEN with the spelling used, valid or not.
 */
static jv
check_step_keys(struct wf_check *c, jv step, const char *path, const struct wf_action *as, int custom,
		const char *action, jv out, struct seen_keys *seen)
{
	jv_object_foreach(step, k, v) {
		const char *key = jv_string_value(k);
		const char *ck = c->json ? key : wf_schema_canon_key(key, action);
		char kbuf[400], *kp = key_path_in(kbuf, sizeof kbuf, path, key);
		const struct wf_field *f = wf_field_find(wf_schema_step, ck);
		const char *other = seen_find(seen, ck);

		if (!f && as)
			f = wf_field_find(as->fields, ck);
		if (!f && c->json)
			f = wf_field_find(wf_schema_canonical_step, ck);
		if (!f && c->json && !custom) {
			/* wf-json(7): a reader ignores members it does not know. */
			jv_free(v);
		} else if (f && jv_get_kind(v) == JV_KIND_NULL) {
			/* "command:" with no value is the same as leaving it out. */
			jv_free(v);
		} else if (other) {
			/* An alias and its canonical spelling both set: report the later one. */
			char *op = wf_check_key_path(path, other);
			const char *later = wf_check_pos_after(c, kp, op) ? key : other;

			wf_check_at(c, later == key ? kp : op, 0, "'%s' and '%s' are two spellings of the same key: keep one",
				    later == key ? other : key, later);
			free(op);
			jv_free(v);
		} else if (!f && custom) {
			seen_add(seen, ck, jv_copy(k));
			out = jv_object_set(out, key_string(ck), v);
		} else if (!f) {
			if (as || !action) {
				const char *hint = wf_field_closest(key, wf_schema_step, as ? as->fields : NULL);

				if (hint)
					wf_check_at(c, kp, 0, "unknown key '%s' (did you mean '%s'?)", key, hint);
				else
					wf_check_at(c, kp, 0, "unknown key '%s' for action '%s'", key,
						    action ? action : "?");
			}
			jv_free(v);
		} else {
			seen_add(seen, ck, jv_copy(k));
			if (strcmp(ck, key))
				wf_check_alias_pos(c, path, key, ck);
			if (!strcmp(key, "timeoutMs") && jv_get_kind(v) == JV_KIND_NUMBER)
				v = jv_number(jv_number_value(v) / 1000.0);
			jv cv = jv_invalid();
			if (!strcmp(ck, "model") && jv_get_kind(v) == JV_KIND_ARRAY && as && (as->flags & WF_ACTION_MODEL))
				out = wf_check_model_list(c, kp, v, out);	/* a step's model and its fallbacks */
			else
				cv = wf_check_value(c, kp, f, v);
			if (jv_is_valid(cv)) {
				if (jv_get_kind(cv) == JV_KIND_STRING && !c->json)
					cv = fold_braces(cv);
				out = jv_object_set(out, key_string(ck), cv);
			} else {
				jv_free(cv);
			}
		}
		if (kp != kbuf)
			free(kp);
		jv_free(k);
	}
	return out;
}

/* Report each key ACTION's row AS requires that step I (id ID, at PATH) lacks; SEEN holds the keys present. */
static void
check_required(struct wf_check *c, const char *path, int i, const char *id, const struct wf_action *as,
	       const struct seen_keys *seen)
{
	const char *r = as->required;

	while (*r) {
		const char *sp = strchr(r, ' ');
		size_t n = sp ? (size_t)(sp - r) : strlen(r);
		char name[64];

		if (n >= sizeof name)
			n = sizeof name - 1;
		memcpy(name, r, n);
		name[n] = '\0';
		/* A key that is present but wrong has had its own message. */
		if (!seen_find(seen, name)) {
			if (id && *id)
				wf_check_at(c, path, 1, "step '%s': action '%s' needs '%s'", id, as->name, name);
			else
				wf_check_at(c, path, 1, "step %d: action '%s' needs '%s'", i + 1, as->name, name);
		}
		r += (sp ? (size_t)(sp - r) : strlen(r)) + (sp ? 1 : 0);
	}
}

/* OUT (consumed) with KEY set to V (consumed) unless it has KEY already; returns OUT. */
static jv
set_default(jv out, const char *key, jv v)
{
	if (jv_object_has(jv_copy(out), key_string(key))) {
		jv_free(v);
		return out;
	}
	return jv_object_set(out, key_string(key), v);
}

/* The normalised step OUT (consumed) of built-in action A with its defaults filled; returns it. */
static jv
step_defaults(jv out, enum wf_action_id a)
{
	/* One default retry, shared by every step that has none. */
	static jv retry;

	if (jv_get_kind(retry) != JV_KIND_OBJECT)
		retry = jv_object_set(jv_object_set(jv_object(), key_string("attempts"), jv_number(1)),
				      key_string("delay"), jv_number(0));
	if (!jv_object_has(jv_copy(out), key_string("retry")))
		out = jv_object_set(out, key_string("retry"), jv_copy(retry));
	if (a == WF_ACT_LOOP) {
		out = set_default(out, "condition", key_string("true"));
		out = set_default(out, "on-exhausted", key_string("fail"));
	} else if (a == WF_ACT_INTERACTIVE) {
		out = set_default(out, "kind", key_string("confirm"));
	} else if (a == WF_ACT_AI_PROMPT) {
		out = set_default(out, "format", key_string("text"));
		out = set_default(out, "context", key_string("full"));
	} else if (a == WF_ACT_MERGE_PR) {
		out = set_default(out, "method", key_string("merge"));
		out = set_default(out, "require-approval", jv_true());
	}
	return out;
}

/* BASE "/I" into PATH (at least 256 bytes), without snprintf's cost for each of 10,000 steps. */
static void
step_path(struct wf_check *c, char *path, int i)
{
	char digits[16];
	int n = 0;
	const char *base = WF_CHECK_BASE(c);
	size_t b = strlen(base);

	if (b > 200)
		b = 200;
	do
		digits[n++] = (char)('0' + i % 10);
	while ((i /= 10) > 0 && n < (int)sizeof digits);
	memcpy(path, base, b);
	path[b] = '/';
	for (int k = 0; k < n; k++)
		path[b + 1 + k] = digits[n - 1 - k];
	path[b + 1 + n] = '\0';
}

/*
 * As wf_check_step (STEP consumed; the caller owns the result); sets *TARGETS when the step has a key that
 * check_reserved_targets reads (a name, output, variable or env), for
 * a step without one needs no look there.
 */
static jv
check_step(struct wf_check *c, jv step, int i, const char *dir_file, int *targets)
{
	char path[256];
	const struct wf_action *as;
	struct seen_keys seen = {0};
	int custom;
	jv out, head[2];

	*targets = 0;
	step_path(c, path, i);
	if (jv_get_kind(step) != JV_KIND_OBJECT) {
		wf_check_at(c, path, 1, "step %d: expected a mapping with 'id' and 'action', got %s", i + 1,
			    wf_check_kind_name(step));
		jv_free(step);
		return jv_invalid();
	}
	step = head_values(c, step, head);
	as = check_step_head(c, head, i, path, dir_file, &custom);
	out = check_step_keys(c, step, path, as, custom,
			      jv_get_kind(head[1]) == JV_KIND_STRING ? jv_string_value(head[1]) : NULL, jv_object(), &seen);
	if (as) {
		check_required(c, path, i, jv_get_kind(head[0]) == JV_KIND_STRING ? jv_string_value(head[0]) : NULL,
			       as, &seen);
		out = step_defaults(out, wf_action_lookup(as->name));
		if (wf_action_lookup(as->name) == WF_ACT_PARALLEL)
			out = wf_check_parallel(c, out, path);
	}
	*targets = seen_find(&seen, "name") || seen_find(&seen, "output") || seen_find(&seen, "variable") ||
		   seen_find(&seen, "env");
	seen_free(&seen);
	jv_free(head[0]);
	jv_free(head[1]);
	jv_free(step);
	return out;
}

/* Step I, STEP (consumed), checked and normalised; invalid after a message (DIR_FILE: where custom actions are). */
jv
wf_check_step(struct wf_check *c, jv step, int i, const char *dir_file)
{
	int targets;

	return check_step(c, step, i, dir_file, &targets);
}

/*
 * BUF read from FILE as the canonical workflow, top-level defaults
 * filled; the caller owns it (invalid after problems in DIAG).  Without
 * POSITIONS no position is recorded, so messages lack their line:col.
 * Without HASH it lacks "hash" (the file's sha256): for a caller that
 * only asks whether the file is valid.
 */
static jv
parse_workflow(const char *buf, size_t len, const char *file, struct wf_diag *diag, int positions, int hash)
{
	jv doc, pos = jv_object(), out;
	struct wf_check c = { .file = file, .diag = diag };
	size_t before = diag->n;
	char hex[65];
	int r;

	if (positions) {
		jv_free(pos);
		r = wf_yaml_load(buf, len, file, &doc, &pos, diag);
	} else {
		r = wf_yaml_load_bare(buf, len, file, &doc, diag);
	}
	if (r < 0) {
		jv_free(pos);
		return jv_invalid();
	}
	c.pos = pos;	/* owned by c.pos from here: wf_check_alias_pos may replace it */
	if (jv_get_kind(doc) == JV_KIND_NULL) {
		wf_diag_add(diag, file, 1, 1, "empty workflow: expected a mapping with 'name' and 'steps'");
		goto fail;
	}
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		wf_diag_add(diag, file, 1, 1, "expected a mapping with 'name' and 'steps' at the top, got %s",
			    wf_check_kind_name(doc));
		goto fail;
	}
	out = wf_check_document(&c, doc);
	doc = jv_null();
	/* The workflows its steps call, once the steps themselves are sound. */
	if (diag->n == before)
		wf_subflow_check(&c, out);
	if (diag->n > before) {
		jv_free(out);
		goto fail;
	}
	/* Defaults for the top level. */
	out = set_default(out, "description", jv_string(""));
	out = set_default(out, "interactive", jv_true());
	out = set_default(out, "persistent", jv_true());
	out = set_default(out, "strict", jv_false());
	out = set_default(out, "variables", jv_object());
	out = set_default(out, "env", jv_object());
	out = set_default(out, "inputs", jv_object());
	out = set_default(out, "outputs", jv_object());
	out = set_default(out, "model", jv_null());
	out = set_default(out, "budget", jv_null());
	out = set_default(out, "max-steps", jv_number(WF_DEFAULT_MAX_STEPS));
	{
		char abs[PATH_MAX];
		const char *src = file;

		if (strcmp(file, "-") && realpath(file, abs))
			src = abs;
		out = jv_object_set(out, jv_string("source"), jv_string(src));
	}
	if (hash) {
		wf_sha256_hex(buf, len, hex);
		out = jv_object_set(out, jv_string("hash"), jv_string_fmt("sha256:%s", hex));
	}
	jv_free(doc);
	jv_free(c.pos);
	return out;
fail:
	jv_free(doc);
	jv_free(c.pos);
	return jv_invalid();
}

/*
 * As parse_workflow, with the new messages in file order; returns
 * ownership to the caller.  Recording where each of a big file's nodes
 * was costs as much as checking them, and only messages need it: read
 * without positions first, and again with them when there is a message.
 */
static jv
parse_twice(const char *buf, size_t len, const char *file, struct wf_diag *diag, int hash)
{
	struct wf_diag quick = {0};
	size_t before = diag->n;
	jv wf = parse_workflow(buf, len, file, &quick, 0, hash);
	int clean = quick.n == 0 && jv_is_valid(wf);

	wf_diag_free(&quick);
	if (clean)
		return wf;
	jv_free(wf);
	wf = parse_workflow(buf, len, file, diag, 1, hash);
	wf_check_finish_diags(diag, before, file);
	return wf;
}

/* The caller owns the workflow returned. */
jv
wf_workflow_parse(const char *buf, size_t len, const char *file, struct wf_diag *diag)
{
	return parse_twice(buf, len, file, diag, 1);
}

/* The caller owns the workflow returned. */
jv
wf_workflow_parse_unhashed(const char *buf, size_t len, const char *file, struct wf_diag *diag)
{
	return parse_twice(buf, len, file, diag, 0);
}

/*
 * Refuse NAME, a variable that would change what a step's commands run
 * (wf_env_name_reserved), set by the key at path KP: a name of
 * "variables" or "env" (FIELD NULL), or the value of a step's FIELD.
 * The hint is NAME in lowercase (the reserved names are all uppercase).
 */
static void
refuse_reserved(struct wf_check *c, const char *kp, const char *field, const char *name)
{
	char *low = wf_xstrdup(name);

	for (char *p = low; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	wf_check_at(c, kp, field != NULL, "%s%s%svariable '%s' would change what commands run, so a workflow may not set it (use another name, such as '%s')",
		    field ? "'" : "", field ? field : "", field ? "': " : "", name, low);
	free(low);
}

/* Refuse a name that is both one of INPUTS and one of VARS (both borrowed): which would win is not obvious. */
static void
check_input_clash(struct wf_check *c, jv inputs, jv vars)
{
	if (jv_get_kind(inputs) != JV_KIND_OBJECT || jv_get_kind(vars) != JV_KIND_OBJECT)
		return;
	jv_object_foreach(inputs, k, v) {
		if (jv_object_has(jv_copy(vars), jv_copy(k))) {
			char *kp = wf_check_key_path("/inputs", jv_string_value(k));

			wf_check_at(c, kp, 0, "'%s' is both an input and a variable: keep one (an input's default is its value when none is given)",
				    jv_string_value(k));
			free(kp);
		}
		jv_free(k);
		jv_free(v);
	}
}

/* Refuse the reserved names among the keys of MAP (borrowed; "variables" or "env" at BASE, or "inputs"). */
static void
check_reserved_names(struct wf_check *c, jv map, const char *base)
{
	if (jv_get_kind(map) != JV_KIND_OBJECT)
		return;
	jv_object_foreach(map, k, v) {
		if (wf_env_name_reserved(jv_string_value(k))) {
			char *kp = wf_check_key_path(base, jv_string_value(k));

			refuse_reserved(c, kp, NULL, jv_string_value(k));
			free(kp);
		}
		jv_free(k);
		jv_free(v);
	}
}

/* Refuse a reserved variable name as the literal target of step I's name, output or variable, or in its env (STEP borrowed). */
static void
check_reserved_targets(struct wf_check *c, jv step, int i)
{
	static const char *const keys[] = { "name", "output", "variable", NULL };
	char base[256];
	jv env = wf_jv_get(step, "env");
	char *ep;

	snprintf(base, sizeof base, "%s/%d", WF_CHECK_BASE(c), i);
	for (int k = 0; keys[k]; k++) {
		const char *t = wf_jv_str(step, keys[k]);

		if (t && !strstr(t, "${") && wf_env_name_reserved(t)) {
			char *kp = wf_check_key_path(base, keys[k]);

			refuse_reserved(c, kp, keys[k], t);
			free(kp);
		}
	}
	ep = wf_check_key_path(base, "env");
	check_reserved_names(c, env, ep);
	free(ep);
	jv_free(env);
}

/*
 * STEPS (consumed), a non-empty list of raw steps at C's base, checked
 * and normalised: each step's keys, the flow rules over the list, and
 * each step's fall-through ("next": the next step, or null at the end).
 * The caller owns the list; a step found wrong is {} in it.
 */
jv
wf_check_steps(struct wf_check *c, jv steps)
{
	jv norm = jv_array();
	int n = jv_array_length(jv_copy(steps));

	for (int i = 0; i < n; i++) {
		jv raw = jv_array_get(jv_copy(steps), i);
		int targets = 0;
		jv s;

		steps = jv_array_set(steps, i, jv_null());
		s = check_step(c, raw, i, c->file, &targets);
		if (jv_is_valid(s) && targets)
			check_reserved_targets(c, s, i);
		norm = jv_array_append(norm, jv_is_valid(s) ? s : jv_object());
	}
	wf_check_flow(c, norm);
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
		s = jv_object_set(s, key_string("next"), next);
		norm = jv_array_set(norm, i, s);
	}
	jv_free(steps);
	return norm;
}

/*
 * The top level and the steps of DOC (consumed), a mapping: each key
 * checked against the schema, problems in C's diag.  Returns the
 * normalised workflow, without the top level's defaults, whatever was
 * found wrong.
 */
jv
wf_check_document(struct wf_check *c, jv doc)
{
	jv out, steps;
	int has_steps;

	out = jv_object();
	jv_object_foreach(doc, k, v) {
		const char *key = jv_string_value(k);
		const char *ck = c->json ? key : wf_schema_canon_key(key, NULL);
		const struct wf_field *f = wf_field_find(wf_schema_top, ck);
		char *kp = wf_check_key_path("", key);

		if (!f && c->json)
			f = wf_field_find(wf_schema_canonical_top, ck);
		if (!f && c->json) {
			/* wf-json(7): a reader ignores members it does not know. */
			jv_free(v);
		} else if (f && jv_get_kind(v) == JV_KIND_NULL && strcmp(ck, "steps")) {
			/* "description:" with no value is the same as leaving it out. */
			jv_free(v);
		} else if (f && strcmp(ck, key) && jv_object_has(jv_copy(doc), jv_string(ck))) {
			wf_check_at(c, kp, 0, "'%s' and '%s' are two spellings of the same key: keep one", ck, key);
			jv_free(v);
		} else if (!f) {
			const char *hint = wf_field_closest(key, wf_schema_top, NULL);

			if (hint)
				wf_check_at(c, kp, 0, "unknown key '%s' (did you mean '%s'?)", key, hint);
			else
				wf_check_at(c, kp, 0, "unknown key '%s' at the top of the workflow", key);
			jv_free(v);
		} else if (!strcmp(ck, "steps")) {
			jv_free(v);
		} else {
			jv cv = wf_check_value(c, kp, f, v);

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
			wf_check_at(c, "/name", 0, "missing required key 'name'");
		else if (name && !wf_name_valid(name))
			wf_check_at(c, "/name", 1, "workflow name '%s' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')", name);
		jv_free(nv);
	}
	{
		jv vars = wf_jv_get(out, "variables"), env = wf_jv_get(out, "env");

		jv inputs = wf_jv_get(out, "inputs");

		check_reserved_names(c, vars, "/variables");
		check_reserved_names(c, env, "/env");
		check_reserved_names(c, inputs, "/inputs");
		check_input_clash(c, inputs, vars);
		jv_free(vars);
		jv_free(env);
		jv_free(inputs);
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
		wf_check_at(c, "/steps", 1, "'steps': expected a list of steps, got %s", wf_check_kind_of(c, steps));
	} else if (jv_array_length(jv_copy(steps)) == 0) {
		wf_check_at(c, "/steps", 1, "'steps' is empty: a workflow needs at least one step");
	} else {
		steps = wf_check_steps(c, steps);
		out = jv_object_set(out, jv_string("steps"), jv_copy(steps));
	}
	jv_free(steps);
	jv_free(doc);
	return out;
}
