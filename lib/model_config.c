/*
 * model_config.c: loading the model configuration (wf-model(1)): the
 * built-in providers, the user's models.yaml, a project's Codi
 * codi-models.yaml and the project's .wf/models.yaml, or the one file
 * $WF_MODELS names.  Every file is checked strictly, each problem
 * reported with file:line:col and all of them in one report; the entries
 * are then merged in that order into the registry model.c describes and
 * resolves.  Keys are never written in these files: only the variable or
 * the command that gives one.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"
#include "model_conn.h"


#define CONFIG_MAX_BYTES (1024 * 1024)

/* Out of the box: the usual providers with their standard key variables. */
static const char builtin_yaml[] =
	"providers:\n"
	"  anthropic:\n"
	"    type: anthropic\n"
	"    base_url: https://api.anthropic.com\n"
	"    api_key_env: ANTHROPIC_API_KEY\n"
	"  openai:\n"
	"    type: openai\n"
	"    base_url: https://api.openai.com/v1\n"
	"    api_key_env: OPENAI_API_KEY\n"
	"    quirks: {max_tokens_field: max_completion_tokens}\n"
	"  ollama:\n"
	"    type: ollama\n"
	"    base_url: http://localhost:11434\n"
	"  openrouter:\n"
	"    type: openai\n"
	"    base_url: https://openrouter.ai/api/v1\n"
	"    api_key_env: OPENROUTER_API_KEY\n"
	"  zai:\n"
	"    type: openai\n"
	"    base_url: https://api.z.ai/api/paas/v4\n"
	"    api_key_env: ZAI_API_KEY\n"
	"    quirks: {stream_options: false}\n";

/* One file being checked: where problems are reported. */
struct cfg {
	const char *file;
	jv pos;
	struct wf_diag *diag;
	int bad;
};

static void
path_seg(struct wf_buf *b, const char *seg)
{
	wf_buf_addch(b, '/');
	for (; *seg; seg++) {
		if (*seg == '~')
			wf_buf_addstr(b, "~0");
		else if (*seg == '/')
			wf_buf_addstr(b, "~1");
		else
			wf_buf_addch(b, *seg);
	}
}

/* "/a/b/c" from up to three segments (NULL ends early); malloc'd. */
static char *
path3(const char *a, const char *b, const char *c)
{
	struct wf_buf p = {0};

	wf_buf_addstr(&p, "");
	if (a)
		path_seg(&p, a);
	if (a && b)
		path_seg(&p, b);
	if (a && b && c)
		path_seg(&p, c);
	return wf_buf_detach(&p);
}

/* Position of PATH: the key's (KEY) or the value's. */
static void
pos_of(struct cfg *c, const char *path, int key, int *line, int *col)
{
	jv a = wf_jv_get(c->pos, path);

	*line = *col = 0;
	if (jv_get_kind(a) == JV_KIND_ARRAY && jv_array_length(jv_copy(a)) == 4) {
		jv l = jv_array_get(jv_copy(a), key ? 0 : 2), k = jv_array_get(jv_copy(a), key ? 1 : 3);

		*line = (int)jv_number_value(l);
		*col = (int)jv_number_value(k);
		jv_free(l);
		jv_free(k);
	}
	jv_free(a);
}

static void cfg_err(struct cfg *c, const char *path, int key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
cfg_err(struct cfg *c, const char *path, int key, const char *fmt, ...)
{
	char msg[1024];
	int line, col;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pos_of(c, path, key, &line, &col);
	wf_diag_add(c->diag, c->file, line, col, "%s", msg);
	c->bad = 1;
}

/* Where PATH is, as {file, line, col}; the caller owns it. */
static jv
at_of(struct cfg *c, const char *path)
{
	int line, col;
	jv a = jv_object();

	pos_of(c, path, 1, &line, &col);
	a = jv_object_set(a, jv_string("file"), jv_string(c->file));
	a = jv_object_set(a, jv_string("line"), jv_number(line));
	a = jv_object_set(a, jv_string("col"), jv_number(col));
	return a;
}

/* What V (borrowed) is, for messages. */
static const char *
kind_name(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING: return "a string";
	case JV_KIND_NUMBER: return "a number";
	case JV_KIND_TRUE:
	case JV_KIND_FALSE: return "a boolean";
	case JV_KIND_NULL: return "nothing";
	case JV_KIND_ARRAY: return "a list";
	case JV_KIND_OBJECT: return "a mapping";
	default: return "an invalid value";
	}
}

/* Report KEY (at PATH) unless it is one of ALLOWED; with a did-you-mean hint. */
static int
check_key(struct cfg *c, const char *path, const char *key, const char *const *allowed, const char *where)
{
	const char *best = NULL;
	int bestd = 3;

	for (int i = 0; allowed[i]; i++) {
		int d;

		if (!strcmp(key, allowed[i]))
			return 1;
		d = wf_edit_distance(key, allowed[i]);
		if (d < bestd) {
			bestd = d;
			best = allowed[i];
		}
	}
	if (!strcmp(key, "api_key") || !strcmp(key, "apiKey") || !strcmp(key, "key"))
		cfg_err(c, path, 1,
			"'%s' in %s: keys are not written in configuration files; name an environment variable with api_key_env or a command with api_key_cmd",
			key, where);
	else if (best)
		cfg_err(c, path, 1, "unknown key '%s' in %s (did you mean '%s'?)", key, where, best);
	else
		cfg_err(c, path, 1, "unknown key '%s' in %s", key, where);
	return 0;
}

/* Is V (borrowed) of kind K?  Reported at PATH when not. */
static int
want_kind(struct cfg *c, const char *path, jv v, jv_kind k, const char *what)
{
	if (jv_get_kind(v) == k || (k == JV_KIND_TRUE && jv_get_kind(v) == JV_KIND_FALSE))
		return 1;
	cfg_err(c, path, 0, "%s must be %s, not %s", what,
		k == JV_KIND_STRING ? "a string" : k == JV_KIND_OBJECT ? "a mapping" :
		k == JV_KIND_NUMBER ? "a number" : k == JV_KIND_TRUE ? "true or false" : "a list",
		kind_name(v));
	return 0;
}

static int
one_of(const char *s, const char *const *set)
{
	for (int i = 0; set[i]; i++)
		if (!strcmp(s, set[i]))
			return 1;
	return 0;
}

static int
provider_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return 0;
	return 1;
}

static int
alias_name_ok(const char *s)
{
	if (!*s || strlen(s) > 128)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return 0;
	return 1;
}

static const char *const reserved_names[] = { "original", "default", NULL };

/* Check the quirks QUIRKS (borrowed) of provider NAME. */
static void
check_quirks(struct cfg *c, const char *name, jv quirks)
{
	static const char *const qkeys[] = { "max_tokens_field", "stream_options", "system_role",
					     "strip_params", "anthropic_version", "auth", NULL };

	jv_object_foreach(quirks, qk, qv) {
		const char *q = jv_string_value(qk);
		char *qp = path3("providers", name, "quirks");
		struct wf_buf qpb = {0};

		wf_buf_addstr(&qpb, qp);
		path_seg(&qpb, q);
		if (check_key(c, qpb.s, q, qkeys, "quirks")) {
			static const char *const mtf[] = { "max_tokens", "max_completion_tokens", NULL };
			static const char *const roles[] = { "system", "developer", NULL };
			static const char *const auths[] = { "bearer", "x-api-key", NULL };

			if (!strcmp(q, "stream_options"))
				want_kind(c, qpb.s, qv, JV_KIND_TRUE, q);
			else if (!strcmp(q, "strip_params")) {
				if (want_kind(c, qpb.s, qv, JV_KIND_ARRAY, q)) {
					jv_array_foreach(qv, i, a) {
						if (jv_get_kind(a) != JV_KIND_STRING)
							cfg_err(c, qpb.s, 0, "strip_params items must be strings");
						jv_free(a);
					}
				}
			} else if (want_kind(c, qpb.s, qv, JV_KIND_STRING, q)) {
				const char *s = jv_string_value(qv);

				if ((!strcmp(q, "max_tokens_field") && !one_of(s, mtf)) ||
				    (!strcmp(q, "system_role") && !one_of(s, roles)) ||
				    (!strcmp(q, "auth") && !one_of(s, auths)))
					cfg_err(c, qpb.s, 0, "invalid %s '%s' (expected %s)", q, s,
						!strcmp(q, "max_tokens_field") ? "max_tokens or max_completion_tokens" :
						!strcmp(q, "system_role") ? "system or developer" : "bearer or x-api-key");
			}
		}
		wf_buf_free(&qpb);
		free(qp);
		jv_free(qk);
		jv_free(qv);
	}
}

/*
 * Check the entry E (borrowed) of SECTION named NAME, described as WHERE:
 * a mapping whose keys are among KEYS, each checked by CHECK_ONE, which
 * returns 1 to keep the value as it is (0: it stored its own, or none).
 * Returns the cleaned entry with its "_at"; the caller owns it.
 */
static jv
check_entry(struct cfg *c, const char *section, const char *name, jv e, const char *where,
	    const char *const *keys, int (*check_one)(struct cfg *, const char *, const char *, const char *, jv, jv *))
{
	char *p = path3(section, name, NULL);
	jv out = jv_object();

	if (!want_kind(c, p, e, JV_KIND_OBJECT, where)) {
		free(p);
		return out;
	}
	jv_object_foreach(e, k, v) {
		const char *key = jv_string_value(k);
		char *kp = path3(section, name, key);

		if (check_key(c, kp, key, keys, where) && check_one(c, name, key, kp, v, &out))
			out = jv_object_set(out, jv_copy(k), jv_copy(v));
		free(kp);
		jv_free(k);
		jv_free(v);
	}
	out = jv_object_set(out, jv_string("_at"), at_of(c, p));
	free(p);
	return out;
}

/*
 * One key KEY of provider NAME's entry at KP, its value V borrowed; *OUT
 * (the caller's) may get a cleaned value.
 */
static int
provider_key(struct cfg *c, const char *name, const char *key, const char *kp, jv v, jv *out)
{
	static const char *const types[] = { "openai", "anthropic", "ollama", NULL };

	if (!strcmp(key, "type")) {
		if (want_kind(c, kp, v, JV_KIND_STRING, "type")) {
			if (!one_of(jv_string_value(v), types))
				cfg_err(c, kp, 0, "unknown provider type '%s' (expected openai, anthropic or ollama)",
					jv_string_value(v));
		}
	} else if (!strcmp(key, "base_url")) {
		if (want_kind(c, kp, v, JV_KIND_STRING, "base_url")) {
			const char *u = jv_string_value(v);

			if (strncmp(u, "https://", 8) && strncmp(u, "http://", 7)) {
				cfg_err(c, kp, 0, "base_url '%s' must start with https:// (or http:// for a loopback host)", u);
			} else {
				/* Store without a trailing slash: paths are appended. */
				size_t n = strlen(u);

				while (n > 8 && u[n - 1] == '/')
					n--;
				char *t = wf_xstrndup(u, n);
				*out = jv_object_set(*out, jv_string("base_url"), jv_string(t));
				free(t);
				return 0;
			}
		}
	} else if (!strcmp(key, "api_key_env")) {
		if (want_kind(c, kp, v, JV_KIND_STRING, "api_key_env") && !*jv_string_value(v))
			cfg_err(c, kp, 0, "api_key_env is empty");
	} else if (!strcmp(key, "api_key_cmd")) {
		if (jv_get_kind(v) == JV_KIND_ARRAY) {
			jv_array_foreach(v, i, a) {
				if (jv_get_kind(a) != JV_KIND_STRING)
					cfg_err(c, kp, 0, "api_key_cmd items must be strings");
				jv_free(a);
			}
		} else
			want_kind(c, kp, v, JV_KIND_STRING, "api_key_cmd (a command line or a list of arguments)");
	} else if (!strcmp(key, "description")) {
		want_kind(c, kp, v, JV_KIND_STRING, "description");
	} else if (!strcmp(key, "headers")) {
		if (want_kind(c, kp, v, JV_KIND_OBJECT, "headers")) {
			jv_object_foreach(v, hk, hv) {
				const char *hn = jv_string_value(hk);

				if (jv_get_kind(hv) != JV_KIND_STRING || strpbrk(jv_string_value(hv), "\r\n") ||
				    !*hn || strpbrk(hn, " \t\r\n:"))
					cfg_err(c, kp, 0, "header '%s' must be a name without blanks or ':' and a one-line string value", hn);
				jv_free(hk);
				jv_free(hv);
			}
		}
	} else if (!strcmp(key, "quirks")) {
		if (want_kind(c, kp, v, JV_KIND_OBJECT, "quirks"))
			check_quirks(c, name, v);
	} else if (!strcmp(key, "cache")) {
		want_kind(c, kp, v, JV_KIND_TRUE, "cache");
	} else if (!strcmp(key, "ca_file")) {
		char e[1024];

		if (want_kind(c, kp, v, JV_KIND_STRING, "ca_file") && wf_model_ca_file(c->file, v, out, e, sizeof e) < 0)
			cfg_err(c, kp, 0, "%s", e);
		return 0;
	}
	return 1;
}

/*
 * Check one provider entry E (borrowed) named NAME; returns the cleaned
 * entry, which the caller owns.
 */
static jv
check_provider(struct cfg *c, const char *name, jv e)
{
	static const char *const keys[] = { "type", "base_url", "api_key_env", "api_key_cmd", "quirks",
					    "headers", "description", "cache", "ca_file", NULL };
	char *p = path3("providers", name, NULL), where[160];
	jv out;

	snprintf(where, sizeof where, "provider '%s'", name);
	if (!provider_name_ok(name))
		cfg_err(c, p, 1, "invalid provider name '%s': use letters, digits, '.', '_' and '-'", name);
	out = check_entry(c, "providers", name, e, where, keys, provider_key);
	free(p);
	return out;
}

/* V borrowed. */
static int
nonneg_number(jv v)
{
	return jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 0;
}

/* A model's fallback list V (borrowed) at KP: model names, in the order they are tried. */
static void
check_fallback_list(struct cfg *c, const char *kp, jv v)
{
	if (jv_get_kind(v) != JV_KIND_ARRAY) {
		cfg_err(c, kp, 0, "fallback must name a model, or list models in the order to try them, not %s",
			kind_name(v));
		return;
	}
	jv_array_foreach(v, i, x) {
		if (jv_get_kind(x) != JV_KIND_STRING || !*jv_string_value(x)) {
			struct wf_buf pp = {0};

			wf_buf_printf(&pp, "%s/%d", kp, i);
			cfg_err(c, pp.s, 0, "fallback: item %d must be a model name, not %s", i + 1, kind_name(x));
			wf_buf_free(&pp);
		}
		jv_free(x);
	}
}

/* One key KEY of model NAME's entry at KP, its value V borrowed; always kept. */
static int
model_key(struct cfg *c, const char *name, const char *key, const char *kp, jv v, jv *out)
{
	static const char *const pkeys[] = { "input", "output", "cached", "cache_write", NULL };

	if (!strcmp(key, "fallback") && jv_get_kind(v) != JV_KIND_STRING) {
		check_fallback_list(c, kp, v);
	} else if (!strcmp(key, "provider") || !strcmp(key, "model") || !strcmp(key, "fallback") ||
		   !strcmp(key, "description")) {
		if (want_kind(c, kp, v, JV_KIND_STRING, key) && !*jv_string_value(v))
			cfg_err(c, kp, 0, "%s is empty", key);
	} else if (!strcmp(key, "context") || !strcmp(key, "output_tokens")) {
		if (jv_get_kind(v) != JV_KIND_NULL &&
		    (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < 1 ||
		     jv_number_value(v) != (double)(long long)jv_number_value(v)))
			cfg_err(c, kp, 0, "%s must be a whole number of tokens, not %s", key, kind_name(v));
	} else if (!strcmp(key, "options")) {
		want_kind(c, kp, v, JV_KIND_OBJECT, "options");
	} else if (!strcmp(key, "cache")) {
		want_kind(c, kp, v, JV_KIND_TRUE, "cache");
	} else if (!strcmp(key, "prices")) {
		if (jv_get_kind(v) != JV_KIND_NULL && want_kind(c, kp, v, JV_KIND_OBJECT, "prices")) {
			jv_object_foreach(v, pk, pv) {
				struct wf_buf pp = {0};

				wf_buf_addstr(&pp, kp);
				path_seg(&pp, jv_string_value(pk));
				if (check_key(c, pp.s, jv_string_value(pk), pkeys, "prices") && !nonneg_number(pv))
					cfg_err(c, pp.s, 0, "price '%s' must be a number of US dollars per million tokens, not %s",
						jv_string_value(pk), kind_name(pv));
				wf_buf_free(&pp);
				jv_free(pk);
				jv_free(pv);
			}
			if (!jv_object_has(jv_copy(v), jv_string("input")) ||
			    !jv_object_has(jv_copy(v), jv_string("output")))
				cfg_err(c, kp, 0, "prices need both 'input' and 'output' (USD per million tokens)");
		}
	}
	return 1;
}

/*
 * Check one model entry E (borrowed) named NAME; returns the cleaned
 * entry, which the caller owns.
 */
static jv
check_model(struct cfg *c, const char *name, jv e)
{
	static const char *const keys[] = { "provider", "model", "prices", "context", "options", "fallback",
					    "description", "output_tokens", "cache", NULL };
	char *p = path3("models", name, NULL), where[200];
	jv out;

	snprintf(where, sizeof where, "model '%s'", name);
	if (!alias_name_ok(name))
		cfg_err(c, p, 1, "invalid model name '%s': no blanks or control characters", name);
	else if (one_of(name, reserved_names))
		cfg_err(c, p, 1, "'%s' is a reserved name and cannot be a model alias", name);
	out = check_entry(c, "models", name, e, where, keys, model_key);
	free(p);
	return out;
}

/*
 * A role's value: an alias, or a map PROVIDER -> alias (Codi's model-
 * roles). V borrowed; the caller owns the result, invalid after an
 * error.
 */
static jv
check_role(struct cfg *c, const char *top, const char *role, jv v)
{
	char *p = path3(top, role, NULL);
	jv out = jv_invalid();

	if (one_of(role, reserved_names))
		cfg_err(c, p, 1, "'%s' is a reserved name and cannot be a role", role);
	else if (jv_get_kind(v) == JV_KIND_STRING && *jv_string_value(v))
		out = jv_copy(v);
	else if (jv_get_kind(v) == JV_KIND_OBJECT) {
		int ok = 1;

		jv_object_foreach(v, k, x) {
			if (jv_get_kind(x) != JV_KIND_STRING || !*jv_string_value(x)) {
				char *kp = path3(top, role, jv_string_value(k));

				cfg_err(c, kp, 0, "role '%s': the model for provider '%s' must be a name, not %s", role,
					jv_string_value(k), kind_name(x));
				free(kp);
				ok = 0;
			}
			jv_free(k);
			jv_free(x);
		}
		if (ok)
			out = jv_copy(v);
	} else
		cfg_err(c, p, 0, "role '%s' must name a model, or map providers to models, not %s", role,
			kind_name(v));
	free(p);
	return out;
}

/* The registry's starting point. The caller owns it. */
static jv
empty_registry(void)
{
	jv r = jv_object();

	r = jv_object_set(r, jv_string("providers"), jv_object());
	r = jv_object_set(r, jv_string("models"), jv_object());
	r = jv_object_set(r, jv_string("roles"), jv_object());
	r = jv_object_set(r, jv_string("_role_at"), jv_object());
	r = jv_object_set(r, jv_string("default"), jv_null());
	r = jv_object_set(r, jv_string("files"), jv_array());
	return r;
}

/* O[K] when it is a mapping, else an empty one; O borrowed, the caller owns the result. */
static jv
obj_at(jv o, const char *k)
{
	jv v = wf_jv_get(o, k);

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_object();
	}
	return v;
}

/*
 * Merge provider entry NEW (consumed) into REG under NAME.  A later entry
 * replaces the fields it names; one that moves base_url elsewhere without
 * naming a key source again loses the old one, so a key never follows a
 * changed endpoint by accident.
 * REG consumed too; the caller owns the result.
 */
static jv
merge_provider(jv reg, const char *name, jv new)
{
	jv provs = obj_at(reg, "providers");
	jv old = wf_jv_get(provs, name);

	if (jv_get_kind(old) == JV_KIND_OBJECT) {
		const char *ou = wf_jv_str(old, "base_url"), *nu = wf_jv_str(new, "base_url");
		int moved = nu && (!ou || strcmp(ou, nu));
		int names_key = jv_object_has(jv_copy(new), jv_string("api_key_env")) ||
				jv_object_has(jv_copy(new), jv_string("api_key_cmd"));

		if (moved && !names_key) {
			old = jv_object_delete(old, jv_string("api_key_env"));
			old = jv_object_delete(old, jv_string("api_key_cmd"));
		}
		/* A new key source replaces the other kind too. */
		if (names_key) {
			old = jv_object_delete(old, jv_string("api_key_env"));
			old = jv_object_delete(old, jv_string("api_key_cmd"));
		}
		new = jv_object_merge(old, new);
	} else
		jv_free(old);
	provs = jv_object_set(provs, jv_string(name), new);
	return jv_object_set(reg, jv_string("providers"), provs);
}

/* Merge model entry NEW into REG under NAME; both consumed, the caller owns the result. */
static jv
merge_model(jv reg, const char *name, jv new)
{
	jv models = obj_at(reg, "models");
	jv old = wf_jv_get(models, name);

	if (jv_get_kind(old) == JV_KIND_OBJECT)
		new = jv_object_merge(old, new);
	else
		jv_free(old);
	models = jv_object_set(models, jv_string(name), new);
	return jv_object_set(reg, jv_string("models"), models);
}

/*
 * Merge a role: provider maps merge key by key (as Codi does), a plain
 * name replaces. REG, VAL and AT consumed; the caller owns the result.
 */
static jv
merge_role(jv reg, const char *role, jv val, jv at)
{
	jv roles = obj_at(reg, "roles"), ats = obj_at(reg, "_role_at");
	jv old = wf_jv_get(roles, role);

	if (jv_get_kind(old) == JV_KIND_OBJECT && jv_get_kind(val) == JV_KIND_OBJECT)
		val = jv_object_merge(old, val);
	else
		jv_free(old);
	roles = jv_object_set(roles, jv_string(role), val);
	ats = jv_object_set(ats, jv_string(role), at);
	reg = jv_object_set(reg, jv_string("roles"), roles);
	return jv_object_set(reg, jv_string("_role_at"), ats);
}

/*
 * Our own format (built-ins, models.yaml, .wf/models.yaml): DOC
 * borrowed. REG consumed and returned.
 */
static jv
apply_wf_file(jv reg, struct cfg *c, jv doc)
{
	static const char *const top[] = { "providers", "models", "roles", "default", "version", NULL };

	if (jv_get_kind(doc) == JV_KIND_NULL)
		return reg;
	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		cfg_err(c, "", 0, "the model configuration must be a mapping with providers:, models:, roles: and default:, not %s",
			kind_name(doc));
		return reg;
	}
	jv_object_foreach(doc, k, v) {
		const char *key = jv_string_value(k);
		char *kp = path3(key, NULL, NULL);

		if (!check_key(c, kp, key, top, "the model configuration"))
			;
		else if (!strcmp(key, "version"))
			;
		else if (!strcmp(key, "default")) {
			if (jv_get_kind(v) != JV_KIND_NULL && want_kind(c, kp, v, JV_KIND_STRING, "default")) {
				reg = jv_object_set(reg, jv_string("default"), jv_copy(v));
				reg = jv_object_set(reg, jv_string("_default_at"), at_of(c, kp));
			}
		} else if (jv_get_kind(v) == JV_KIND_NULL)
			;
		else if (want_kind(c, kp, v, JV_KIND_OBJECT, key)) {
			jv_object_foreach(v, nk, nv) {
				const char *name = jv_string_value(nk);

				if (!strcmp(key, "providers"))
					reg = merge_provider(reg, name, check_provider(c, name, nv));
				else if (!strcmp(key, "models"))
					reg = merge_model(reg, name, check_model(c, name, nv));
				else {
					jv r = check_role(c, "roles", name, nv);

					if (jv_is_valid(r)) {
						char *rp = path3("roles", name, NULL);

						reg = merge_role(reg, name, r, at_of(c, rp));
						free(rp);
					} else
						jv_free(r);
				}
				jv_free(nk);
				jv_free(nv);
			}
		}
		free(kp);
		jv_free(k);
		jv_free(v);
	}
	return reg;
}

/*
 * Codi's codi-models.yaml: only models: and model-roles: are read; other
 * sections (tasks, commands, pipelines, fallbacks) belong to Codi.  A model
 * with a baseUrl gets a provider of its own, without a key: a key never
 * follows a custom endpoint (name one in .wf/models.yaml).
 * REG consumed and returned, DOC borrowed.
 */
static jv
apply_codi_file(jv reg, struct cfg *c, jv doc)
{
	jv models, roles, provs;

	if (jv_get_kind(doc) != JV_KIND_OBJECT) {
		if (jv_get_kind(doc) != JV_KIND_NULL)
			cfg_err(c, "", 0, "a Codi model map must be a mapping, not %s", kind_name(doc));
		return reg;
	}
	models = wf_jv_get(doc, "models");
	provs = obj_at(reg, "providers");
	if (jv_get_kind(models) == JV_KIND_OBJECT) {
		jv_object_foreach(models, nk, nv) {
			const char *name = jv_string_value(nk);
			char *p = path3("models", name, NULL);
			const char *prov = wf_jv_str(nv, "provider"), *id = wf_jv_str(nv, "model");
			const char *base = wf_jv_str(nv, "baseUrl");
			jv pe = prov ? wf_jv_get(provs, prov) : jv_null();
			jv m = jv_object(), opts = jv_object();

			if (jv_get_kind(nv) != JV_KIND_OBJECT || !prov || !id)
				cfg_err(c, p, 1, "Codi model '%s' needs 'provider' and 'model'", name);
			else if (!alias_name_ok(name) || one_of(name, reserved_names))
				cfg_err(c, p, 1, "invalid model name '%s'", name);
			else if (jv_get_kind(pe) == JV_KIND_OBJECT) {
				/* Providers we cannot serve (Codi has more) are skipped, not errors. */
				m = jv_object_set(m, jv_string("provider"), jv_string(prov));
				m = jv_object_set(m, jv_string("model"), jv_string(id));
				if (wf_jv_num(nv, "maxTokens", -1) > 0)
					opts = jv_object_set(opts, jv_string("max_tokens"),
							     jv_number(wf_jv_num(nv, "maxTokens", 0)));
				if (wf_jv_num(nv, "temperature", -1) >= 0)
					opts = jv_object_set(opts, jv_string("temperature"),
							     jv_number(wf_jv_num(nv, "temperature", 0)));
				if (wf_jv_str(nv, "description"))
					m = jv_object_set(m, jv_string("description"), jv_string(wf_jv_str(nv, "description")));
				if (base) {
					char *pn = wf_xasprintf("codi-%s", name);
					jv np = jv_object();
					const char *type = wf_jv_str(pe, "type");
					size_t n = strlen(base);

					while (n > 8 && base[n - 1] == '/')
						n--;
					/* Codi reaches Ollama through its OpenAI-compatible /v1. */
					if (type && !strcmp(type, "ollama") && n >= 3 && !strncmp(base + n - 3, "/v1", 3))
						type = "openai";
					np = jv_object_set(np, jv_string("type"), jv_string(type ? type : "openai"));
					{
						char *u = wf_xstrndup(base, n);
						np = jv_object_set(np, jv_string("base_url"), jv_string(u));
						free(u);
					}
					np = jv_object_set(np, jv_string("_at"), at_of(c, p));
					if (strncmp(base, "https://", 8) && strncmp(base, "http://", 7))
						cfg_err(c, p, 1, "Codi model '%s': baseUrl '%s' must start with https:// or http://", name, base);
					else {
						jv_free(provs);
						reg = merge_provider(reg, pn, np);
						provs = obj_at(reg, "providers");
						np = jv_invalid();
					}
					jv_free(np);
					m = jv_object_set(m, jv_string("provider"), jv_string(pn));
					free(pn);
				}
				if (jv_object_length(jv_copy(opts)) > 0)
					m = jv_object_set(m, jv_string("options"), jv_copy(opts));
				m = jv_object_set(m, jv_string("_at"), at_of(c, p));
				reg = merge_model(reg, name, m);
				m = jv_invalid();
			}
			jv_free(m);
			jv_free(opts);
			jv_free(pe);
			free(p);
			jv_free(nk);
			jv_free(nv);
		}
	}
	jv_free(provs);
	jv_free(models);
	roles = wf_jv_get(doc, "model-roles");
	if (jv_get_kind(roles) == JV_KIND_OBJECT) {
		jv_object_foreach(roles, rk, rv) {
			jv r = check_role(c, "model-roles", jv_string_value(rk), rv);

			if (jv_is_valid(r)) {
				char *rp = path3("model-roles", jv_string_value(rk), NULL);

				reg = merge_role(reg, jv_string_value(rk), r, at_of(c, rp));
				free(rp);
			} else
				jv_free(r);
			jv_free(rk);
			jv_free(rv);
		}
	}
	jv_free(roles);
	return reg;
}

/*
 * Read FILE (missing is fine unless REQUIRED) and apply it; 0 or an exit
 * code. *REG is replaced (the caller owns it).
 */
static int
load_file(jv *reg, const char *file, int codi, int required, struct wf_diag *diag)
{
	struct wf_buf b = {0};
	struct cfg c = { file, jv_null(), diag, 0 };
	jv doc;

	if (wf_read_file(file, CONFIG_MAX_BYTES, &b) < 0) {
		int e = errno;

		wf_buf_free(&b);
		if (e == ENOENT && !required)
			return 0;
		if (e == EFBIG)
			wf_diag_add(diag, file, 0, 0, "model configuration larger than %d bytes", CONFIG_MAX_BYTES);
		else
			wf_diag_add(diag, file, 0, 0, "cannot read the model configuration: %s", strerror(e));
		return e == ENOENT ? WF_EXIT_NOINPUT : e == EFBIG ? WF_EXIT_CONFIG : WF_EXIT_IO;
	}
	if (wf_yaml_load(b.s, b.len, file, &doc, &c.pos, diag) < 0) {
		wf_buf_free(&b);
		jv_free(doc);
		jv_free(c.pos);
		return WF_EXIT_CONFIG;
	}
	wf_buf_free(&b);
	*reg = codi ? apply_codi_file(*reg, &c, doc) : apply_wf_file(*reg, &c, doc);
	{
		jv files = wf_jv_get(*reg, "files");

		files = jv_array_append(files, jv_string(file));
		*reg = jv_object_set(*reg, jv_string("files"), files);
	}
	jv_free(doc);
	jv_free(c.pos);
	return c.bad ? WF_EXIT_CONFIG : 0;
}

/* The caller owns the registry. */
jv
wf_models_load(struct wf_diag *diag, int *code)
{
	jv reg = empty_registry();
	const char *one = getenv("WF_MODELS");
	int rc = 0, r;

	*code = 0;
	{
		struct cfg c = { "<built-in>", jv_null(), diag, 0 };
		jv doc;

		if (wf_yaml_load(builtin_yaml, sizeof builtin_yaml - 1, "<built-in>", &doc, &c.pos, diag) < 0)
			wf_die(WF_EXIT_SOFTWARE, "the built-in model configuration does not load");
		reg = apply_wf_file(reg, &c, doc);
		jv_free(doc);
		jv_free(c.pos);
		reg = jv_object_set(reg, jv_string("files"), jv_array());
	}
	if (one && *one) {
		rc = load_file(&reg, one, 0, 1, diag);
	} else {
		char *user = wf_config_file("models.yaml");
		char *proj = wf_project_dir();

		if (user && (r = load_file(&reg, user, 0, 0, diag)))
			rc = rc ? rc : r;
		if (proj) {
			char *codi = wf_xasprintf("%s/codi-models.yaml", proj);
			char *ours = wf_xasprintf("%s/.wf/models.yaml", proj);

			if ((r = load_file(&reg, codi, 1, 0, diag)))
				rc = rc ? rc : r;
			if ((r = load_file(&reg, ours, 0, 0, diag)))
				rc = rc ? rc : r;
			free(codi);
			free(ours);
		}
		free(user);
		free(proj);
	}
	if ((!rc || rc == WF_EXIT_CONFIG) && wf_models_check_references(reg, diag))
		rc = WF_EXIT_CONFIG;
	if (rc) {
		*code = rc;
		jv_free(reg);
		return jv_invalid();
	}
	return reg;
}

