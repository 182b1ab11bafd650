/*
 * model.c: the model registry.  It reads the model configuration (the
 * built-in providers, the user's models.yaml, a project's Codi
 * codi-models.yaml and the project's .wf/models.yaml, or the one file
 * $WF_MODELS names), checks every file strictly with file:line:col, merges
 * them, and resolves the names workflows use (provider:model literals,
 * aliases, roles, "original", the default) into what a provider client
 * needs.  No HTTP here: see provider.c.
 *
 * The registry is a jv object:
 *   {"providers":{NAME:{type,base_url,api_key_env?,api_key_cmd?,quirks,headers,_at}},
 *    "models":{ALIAS:{provider,model,prices?,context?,options?,fallback?,description?,_at}},
 *    "roles":{ROLE:ALIAS | {PROVIDER:ALIAS}}, "_role_at":{ROLE:_at},
 *    "default":ALIAS|null, "_default_at", "files":[PATH...]}
 * where _at is {"file","line","col"} for messages about entries that
 * refer to others.  Members starting with '_' never leave the library.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf.h"

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

static void at_err(struct wf_diag *d, jv at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A problem found after merging, reported where AT (borrowed) says. */
static void
at_err(struct wf_diag *d, jv at, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	const char *file = wf_jv_str(at, "file");

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	wf_diag_add(d, file ? file : "<models>", (int)wf_jv_num(at, "line", 0), (int)wf_jv_num(at, "col", 0),
		    "%s", msg);
}

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

/* Check one provider entry E (borrowed) at PATH; returns the cleaned entry. */
static jv
check_provider(struct cfg *c, const char *name, jv e)
{
	static const char *const keys[] = { "type", "base_url", "api_key_env", "api_key_cmd", "quirks",
					    "headers", "description", NULL };
	static const char *const qkeys[] = { "max_tokens_field", "stream_options", "system_role",
					     "strip_params", "anthropic_version", "auth", NULL };
	static const char *const types[] = { "openai", "anthropic", "ollama", NULL };
	char *p = path3("providers", name, NULL), where[160];
	jv out = jv_object();

	snprintf(where, sizeof where, "provider '%s'", name);
	if (!provider_name_ok(name))
		cfg_err(c, p, 1, "invalid provider name '%s': use letters, digits, '.', '_' and '-'", name);
	if (!want_kind(c, p, e, JV_KIND_OBJECT, where)) {
		free(p);
		return out;
	}
	jv_object_foreach(e, k, v) {
		const char *key = jv_string_value(k);
		char *kp = path3("providers", name, key);

		if (!check_key(c, kp, key, keys, where))
			goto next;
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
					out = jv_object_set(out, jv_string("base_url"), jv_string(t));
					free(t);
					goto next;
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
			if (want_kind(c, kp, v, JV_KIND_OBJECT, "quirks")) {
				jv_object_foreach(v, qk, qv) {
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
		}
		out = jv_object_set(out, jv_copy(k), jv_copy(v));
next:
		free(kp);
		jv_free(k);
		jv_free(v);
	}
	out = jv_object_set(out, jv_string("_at"), at_of(c, p));
	free(p);
	return out;
}

static int
nonneg_number(jv v)
{
	return jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 0;
}

/* Check one model entry E (borrowed) named NAME; returns the cleaned entry. */
static jv
check_model(struct cfg *c, const char *name, jv e)
{
	static const char *const keys[] = { "provider", "model", "prices", "context", "options", "fallback",
					    "description", NULL };
	static const char *const pkeys[] = { "input", "output", "cached", NULL };
	char *p = path3("models", name, NULL), where[200];
	jv out = jv_object();

	snprintf(where, sizeof where, "model '%s'", name);
	if (!alias_name_ok(name))
		cfg_err(c, p, 1, "invalid model name '%s': no blanks or control characters", name);
	else if (one_of(name, reserved_names))
		cfg_err(c, p, 1, "'%s' is a reserved name and cannot be a model alias", name);
	if (!want_kind(c, p, e, JV_KIND_OBJECT, where)) {
		free(p);
		return out;
	}
	jv_object_foreach(e, k, v) {
		const char *key = jv_string_value(k);
		char *kp = path3("models", name, key);

		if (!check_key(c, kp, key, keys, where)) {
			free(kp);
			jv_free(k);
			jv_free(v);
			continue;
		}
		if (!strcmp(key, "provider") || !strcmp(key, "model") || !strcmp(key, "fallback") ||
		    !strcmp(key, "description")) {
			if (want_kind(c, kp, v, JV_KIND_STRING, key) && !*jv_string_value(v))
				cfg_err(c, kp, 0, "%s is empty", key);
		} else if (!strcmp(key, "context")) {
			if (jv_get_kind(v) != JV_KIND_NULL &&
			    (jv_get_kind(v) != JV_KIND_NUMBER || jv_number_value(v) < 1 ||
			     jv_number_value(v) != (double)(long long)jv_number_value(v)))
				cfg_err(c, kp, 0, "context must be a whole number of tokens, not %s", kind_name(v));
		} else if (!strcmp(key, "options")) {
			want_kind(c, kp, v, JV_KIND_OBJECT, "options");
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
		out = jv_object_set(out, jv_copy(k), jv_copy(v));
		free(kp);
		jv_free(k);
		jv_free(v);
	}
	out = jv_object_set(out, jv_string("_at"), at_of(c, p));
	free(p);
	return out;
}

/* A role's value: an alias, or a map PROVIDER -> alias (Codi's model-roles). */
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

/* The registry's starting point. */
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

/* Merge a role: provider maps merge key by key (as Codi does), a plain name replaces. */
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

/* Our own format (built-ins, models.yaml, .wf/models.yaml): DOC borrowed. */
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

/* Read FILE (missing is fine unless REQUIRED) and apply it; 0 or an exit code. */
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

/* The project directory: the nearest of cwd and its parents holding .wf, codi-models.yaml or .git. */
static char *
project_dir(void)
{
	char cwd[PATH_MAX];
	static const char *const marks[] = { ".wf", "codi-models.yaml", ".git", NULL };

	if (!getcwd(cwd, sizeof cwd))
		return NULL;
	for (;;) {
		for (int i = 0; marks[i]; i++) {
			char *p = wf_xasprintf("%s/%s", strcmp(cwd, "/") ? cwd : "", marks[i]);
			struct stat st;
			int hit = stat(p, &st) == 0;

			free(p);
			if (hit)
				return wf_xstrdup(cwd);
		}
		char *slash = strrchr(cwd, '/');

		if (!slash || slash == cwd)
			return NULL;
		*slash = '\0';
	}
}

/* Checks that need the whole registry: references between entries. */
static int
check_references(jv reg, struct wf_diag *diag)
{
	jv provs = wf_jv_get(reg, "providers"), models = wf_jv_get(reg, "models");
	int bad = 0;

	jv_object_foreach(provs, k, p) {
		jv at = wf_jv_get(p, "_at");

		if (!wf_jv_str(p, "type")) {
			at_err(diag, at, "provider '%s' needs a type (openai, anthropic or ollama)", jv_string_value(k));
			bad = 1;
		}
		if (!wf_jv_str(p, "base_url")) {
			at_err(diag, at, "provider '%s' needs a base_url", jv_string_value(k));
			bad = 1;
		}
		jv_free(at);
		jv_free(k);
		jv_free(p);
	}
	jv_object_foreach(models, k, m) {
		jv at = wf_jv_get(m, "_at");
		const char *prov = wf_jv_str(m, "provider"), *fb = wf_jv_str(m, "fallback");

		if (!prov || !wf_jv_str(m, "model")) {
			at_err(diag, at, "model '%s' needs 'provider' and 'model'", jv_string_value(k));
			bad = 1;
		} else if (!jv_object_has(jv_copy(provs), jv_string(prov))) {
			at_err(diag, at, "model '%s': unknown provider '%s'", jv_string_value(k), prov);
			bad = 1;
		}
		if (fb) {
			char err[512];
			jv r = wf_model_resolve(reg, fb, NULL, err, sizeof err);

			if (!jv_is_valid(r)) {
				at_err(diag, at, "model '%s': fallback: %s", jv_string_value(k), err);
				bad = 1;
			}
			jv_free(r);
		}
		jv_free(at);
		jv_free(k);
		jv_free(m);
	}
	{
		jv roles = wf_jv_get(reg, "roles"), ats = wf_jv_get(reg, "_role_at");

		jv_object_foreach(roles, k, v) {
			jv at = wf_jv_get(ats, jv_string_value(k));
			jv targets = jv_get_kind(v) == JV_KIND_OBJECT ? jv_copy(v) : jv_object_set(jv_object(), jv_string(""), jv_copy(v));

			jv_object_foreach(targets, pk, t) {
				char err[512];
				jv r = wf_model_resolve(reg, jv_string_value(t), NULL, err, sizeof err);

				/* A role may name models of providers not configured here (Codi lists all three). */
				if (!jv_is_valid(r) && !(jv_get_kind(v) == JV_KIND_OBJECT &&
							 !jv_object_has(jv_copy(provs), jv_copy(pk)))) {
					at_err(diag, at, "role '%s': %s", jv_string_value(k), err);
					bad = 1;
				}
				jv_free(r);
				jv_free(pk);
				jv_free(t);
			}
			jv_free(targets);
			jv_free(at);
			jv_free(k);
			jv_free(v);
		}
		jv_free(roles);
		jv_free(ats);
	}
	if (wf_jv_str(reg, "default")) {
		char err[512];
		jv r = wf_model_resolve(reg, wf_jv_str(reg, "default"), NULL, err, sizeof err);

		if (!jv_is_valid(r)) {
			jv at = wf_jv_get(reg, "_default_at");

			at_err(diag, at, "default: %s", err);
			jv_free(at);
			bad = 1;
		}
		jv_free(r);
	}
	jv_free(provs);
	jv_free(models);
	return bad;
}

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
		const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
		char *user = xdg && *xdg ? wf_xasprintf("%s/wf/models.yaml", xdg) :
			     home && *home ? wf_xasprintf("%s/.config/wf/models.yaml", home) : NULL;
		char *proj = project_dir();

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
	if ((!rc || rc == WF_EXIT_CONFIG) && check_references(reg, diag))
		rc = WF_EXIT_CONFIG;
	if (rc) {
		*code = rc;
		jv_free(reg);
		return jv_invalid();
	}
	return reg;
}

/* The closest known name to NAME among the registry's aliases, roles and providers, or NULL. */
static char *
suggest(jv reg, const char *name)
{
	static const char *const sections[] = { "models", "roles", NULL };
	char *best = NULL;
	int bestd = strlen(name) > 5 ? 3 : 2;	/* a hint for a typo, not for any short name */

	for (int i = 0; sections[i]; i++) {
		jv sec = wf_jv_get(reg, sections[i]);

		if (jv_get_kind(sec) == JV_KIND_OBJECT) {
			jv_object_foreach(sec, k, v) {
				int d = wf_edit_distance(name, jv_string_value(k));

				if (d < bestd) {
					bestd = d;
					free(best);
					best = wf_xstrdup(jv_string_value(k));
				}
				jv_free(k);
				jv_free(v);
			}
		}
		jv_free(sec);
	}
	return best;
}

/* Build the resolved model for provider PNAME and model ID; ENTRY (borrowed) is the alias's entry or null. */
static jv
resolved(jv reg, const char *name, const char *pname, const char *id, jv entry, char *err, size_t errlen)
{
	jv provs = wf_jv_get(reg, "providers");
	jv p = wf_jv_get(provs, pname);
	jv r = jv_object(), prices = wf_jv_get(entry, "prices"), ctx = wf_jv_get(entry, "context");
	jv opts = wf_jv_get(entry, "options"), fb = wf_jv_get(entry, "fallback");

	jv_free(provs);
	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		snprintf(err, errlen, "unknown provider '%s' for model '%s'", pname, name);
		jv_free(p);
		jv_free(r);
		jv_free(prices);
		jv_free(ctx);
		jv_free(opts);
		jv_free(fb);
		return jv_invalid();
	}
	r = jv_object_set(r, jv_string("name"), jv_string(name));
	r = jv_object_set(r, jv_string("provider"), jv_string(pname));
	r = jv_object_set(r, jv_string("type"), wf_jv_get(p, "type"));
	r = jv_object_set(r, jv_string("model"), jv_string(id));
	r = jv_object_set(r, jv_string("base_url"), wf_jv_get(p, "base_url"));
	r = jv_object_set(r, jv_string("prices"), jv_get_kind(prices) == JV_KIND_OBJECT ? prices : (jv_free(prices), jv_null()));
	r = jv_object_set(r, jv_string("context"), jv_get_kind(ctx) == JV_KIND_NUMBER ? ctx : (jv_free(ctx), jv_null()));
	r = jv_object_set(r, jv_string("_options"), jv_get_kind(opts) == JV_KIND_OBJECT ? opts : (jv_free(opts), jv_object()));
	r = jv_object_set(r, jv_string("_fallback"), fb);
	r = jv_object_set(r, jv_string("_provider"), p);
	return r;
}

/* NAME as a literal or an alias only (what roles and fallbacks may name). */
static jv
resolve_direct(jv reg, const char *name, char *err, size_t errlen, int *found)
{
	const char *colon = strchr(name, ':');
	jv provs = wf_jv_get(reg, "providers"), models = wf_jv_get(reg, "models");
	jv r = jv_invalid();

	*found = 0;
	if (colon && colon > name && colon[1]) {
		char *pn = wf_xstrndup(name, (size_t)(colon - name));

		if (jv_object_has(jv_copy(provs), jv_string(pn))) {
			*found = 1;
			r = resolved(reg, name, pn, colon + 1, jv_null(), err, errlen);
		}
		free(pn);
	}
	if (!*found && jv_object_has(jv_copy(models), jv_string(name))) {
		jv e = wf_jv_get(models, name);

		*found = 1;
		r = resolved(reg, name, wf_jv_str(e, "provider"), wf_jv_str(e, "model"), e, err, errlen);
		jv_free(e);
	}
	jv_free(provs);
	jv_free(models);
	return r;
}

static jv
resolve_name(jv reg, const char *name, const char *original, char *err, size_t errlen, int depth)
{
	int found;
	jv r, roles, role;

	if (depth > 4) {
		snprintf(err, errlen, "model name '%s' refers to itself", name);
		return jv_invalid();
	}
	if (!name || !*name || !strcmp(name, "default")) {
		const char *def = wf_jv_str(reg, "default");

		if (!def) {
			snprintf(err, errlen, "no model named and no default: set 'default:' in models.yaml (wf-model(1))");
			return jv_invalid();
		}
		return resolve_name(reg, def, NULL, err, errlen, depth + 1);
	}
	if (!strcmp(name, "original")) {
		if (original && *original && strcmp(original, "original"))
			return resolve_name(reg, original, NULL, err, errlen, depth + 1);
		return resolve_name(reg, "default", NULL, err, errlen, depth + 1);
	}
	r = resolve_direct(reg, name, err, errlen, &found);
	if (found)
		return r;
	jv_free(r);
	roles = wf_jv_get(reg, "roles");
	role = wf_jv_get(roles, name);
	jv_free(roles);
	if (jv_get_kind(role) == JV_KIND_STRING) {
		r = resolve_name(reg, jv_string_value(role), original, err, errlen, depth + 1);
		jv_free(role);
		return r;
	}
	if (jv_get_kind(role) == JV_KIND_OBJECT) {
		/* Codi's per-provider roles: the provider of the original model, else of the default. */
		char ctxp[128] = "";
		const char *pick = NULL;
		const char *ctxn = original && *original && strcmp(original, "original") ? original :
				   wf_jv_str(reg, "default");

		if (ctxn) {
			char e2[256];
			jv c = resolve_direct(reg, ctxn, e2, sizeof e2, &found);

			if (jv_is_valid(c) && wf_jv_str(c, "provider"))
				snprintf(ctxp, sizeof ctxp, "%s", wf_jv_str(c, "provider"));
			jv_free(c);
		}
		if (*ctxp)
			pick = wf_jv_str(role, ctxp);
		if (!pick && jv_object_length(jv_copy(role)) == 1) {
			jv keys = jv_keys(jv_copy(role));
			jv k0 = jv_array_get(keys, 0);

			pick = wf_jv_str(role, jv_string_value(k0));
			jv_free(k0);
		}
		if (!pick) {
			snprintf(err, errlen, "role '%s' has no model for provider '%s'", name,
				 *ctxp ? ctxp : "(none: no original or default model)");
			jv_free(role);
			return jv_invalid();
		}
		r = resolve_direct(reg, pick, err, errlen, &found);
		if (!found)
			snprintf(err, errlen, "role '%s' names unknown model '%s'", name, pick);
		jv_free(role);
		return r;
	}
	jv_free(role);
	{
		char *hint = suggest(reg, name);

		if (hint)
			snprintf(err, errlen, "unknown model '%s' (did you mean '%s'?)", name, hint);
		else if (strchr(name, ':'))
			snprintf(err, errlen, "unknown model '%s': no provider named '%.*s'", name,
				 (int)(strchr(name, ':') - name), name);
		else
			snprintf(err, errlen, "unknown model '%s': not an alias or role, and not PROVIDER:MODEL", name);
		free(hint);
	}
	return jv_invalid();
}

jv
wf_model_resolve(jv reg, const char *name, const char *original, char *err, size_t errlen)
{
	return resolve_name(reg, name, original, err, errlen, 0);
}

jv
wf_model_public(jv m)
{
	jv out = jv_object();

	jv_object_foreach(m, k, v) {
		if (jv_string_value(k)[0] != '_')
			out = jv_object_set(out, k, v);
		else {
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(m);
	return out;
}

jv
wf_model_list(jv reg)
{
	jv out = jv_array(), models = wf_jv_get(reg, "models"), roles = wf_jv_get(reg, "roles");
	const char *def = wf_jv_str(reg, "default");

	jv_object_foreach(models, k, e) {
		char err[256];
		jv r = wf_model_resolve(reg, jv_string_value(k), NULL, err, sizeof err);

		if (jv_is_valid(r)) {
			jv rl = jv_array();

			jv_object_foreach(roles, rk, rv) {
				int hit = 0;

				if (jv_get_kind(rv) == JV_KIND_STRING)
					hit = !strcmp(jv_string_value(rv), jv_string_value(k));
				else if (jv_get_kind(rv) == JV_KIND_OBJECT) {
					jv_object_foreach(rv, pk, pv) {
						if (jv_get_kind(pv) == JV_KIND_STRING && !strcmp(jv_string_value(pv), jv_string_value(k)))
							hit = 1;
						jv_free(pk);
						jv_free(pv);
					}
				}
				rl = hit ? jv_array_append(rl, rk) : (jv_free(rk), rl);
				jv_free(rv);
			}
			r = jv_object_set(r, jv_string("default"), jv_bool(def && !strcmp(def, jv_string_value(k))));
			r = jv_object_set(r, jv_string("roles"), rl);
			if (wf_jv_str(e, "description"))
				r = jv_object_set(r, jv_string("description"), wf_jv_get(e, "description"));
			if (wf_jv_str(e, "fallback"))
				r = jv_object_set(r, jv_string("fallback"), wf_jv_get(e, "fallback"));
			out = jv_array_append(out, wf_model_public(r));
		} else
			jv_free(r);
		jv_free(k);
		jv_free(e);
	}
	jv_free(models);
	jv_free(roles);
	return out;
}

jv
wf_model_providers(jv reg)
{
	jv out = jv_array(), provs = wf_jv_get(reg, "providers");

	jv_object_foreach(provs, k, p) {
		jv o = jv_object();

		o = jv_object_set(o, jv_string("name"), k);
		o = jv_object_set(o, jv_string("type"), wf_jv_get(p, "type"));
		o = jv_object_set(o, jv_string("base_url"), wf_jv_get(p, "base_url"));
		o = jv_object_set(o, jv_string("api_key_env"), wf_jv_get(p, "api_key_env"));
		o = jv_object_set(o, jv_string("api_key_cmd"), jv_bool(jv_object_has(jv_copy(p), jv_string("api_key_cmd"))));
		out = jv_array_append(out, o);
		jv_free(p);
	}
	jv_free(provs);
	return out;
}

/* A price per million tokens for the table, or "unknown". PRICES borrowed. */
static void
price_text(char *buf, size_t n, jv prices, const char *k)
{
	if (jv_get_kind(prices) == JV_KIND_OBJECT && wf_jv_num(prices, k, -1) >= 0)
		snprintf(buf, n, "%g", wf_jv_num(prices, k, 0));
	else
		snprintf(buf, n, "unknown");
}

/* The providers' table: name, type, base URL and where the key comes from. ITEMS borrowed. */
static void
print_providers(FILE *fp, jv items)
{
	fprintf(fp, "%-14s %-10s %-44s %s\n", "PROVIDER", "TYPE", "BASE URL", "KEY");
	jv_array_foreach(items, i, it) {
		const char *env = wf_jv_str(it, "api_key_env");

		fprintf(fp, "%-14s %-10s %-44s %s\n", wf_jv_str(it, "name"), wf_jv_str(it, "type"),
			wf_jv_str(it, "base_url"),
			wf_jv_bool(it, "api_key_cmd", 0) ? "api_key_cmd" : env ? env : "none");
		jv_free(it);
	}
}

/* One line of the models' table. IT borrowed. */
static void
print_model(FILE *fp, jv it)
{
	jv prices = wf_jv_get(it, "prices"), rl = wf_jv_get(it, "roles");
	char in[32], out[32], ctx[32];
	struct wf_buf r = {0};

	price_text(in, sizeof in, prices, "input");
	price_text(out, sizeof out, prices, "output");
	if (wf_jv_num(it, "context", -1) > 0)
		snprintf(ctx, sizeof ctx, "%.0f", wf_jv_num(it, "context", 0));
	else
		snprintf(ctx, sizeof ctx, "-");
	wf_buf_addstr(&r, wf_jv_bool(it, "default", 0) ? "default" : "");
	jv_array_foreach(rl, j, x) {
		if (r.len)
			wf_buf_addch(&r, ' ');
		wf_buf_addstr(&r, jv_string_value(x));
		jv_free(x);
	}
	fprintf(fp, "%-16s %-12s %-32s %8s %8s %8s  %s\n", wf_jv_str(it, "name"), wf_jv_str(it, "provider"),
		wf_jv_str(it, "model"), in, out, ctx, r.s ? r.s : "");
	wf_buf_free(&r);
	jv_free(prices);
	jv_free(rl);
}

void
wf_model_print_table(FILE *fp, jv reg, jv items, int providers)
{
	jv roles;

	if (providers) {
		print_providers(fp, items);
		return;
	}
	fprintf(fp, "%-16s %-12s %-32s %8s %8s %8s  %s\n", "NAME", "PROVIDER", "MODEL", "IN$/1M", "OUT$/1M",
		"CONTEXT", "ROLES");
	jv_array_foreach(items, i, it) {
		print_model(fp, it);
		jv_free(it);
	}
	roles = wf_jv_get(reg, "roles");
	jv_object_foreach(roles, k, v) {
		char *t = wf_json_dump(v);

		fprintf(fp, "role %s: %s\n", jv_string_value(k), jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : t);
		free(t);
		jv_free(k);
		jv_free(v);
	}
	jv_free(roles);
}
