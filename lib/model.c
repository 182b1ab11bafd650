/*
 * model.c: the model registry.  model_config.c loads it from the model
 * configuration; here its cross-references are checked, and the names
 * workflows use (provider:model literals, aliases, roles, "original", the
 * default) are resolved into what a provider client needs, listed and
 * printed.  No HTTP here: see provider.c.
 *
 * The registry is a jv object:
 *   {"providers":{NAME:{type,base_url,api_key_env?,api_key_cmd?,quirks,headers,cache?,_at}},
 *    "models":{ALIAS:{provider,model,prices?,context?,options?,fallback?,cache?,description?,_at}},
 *    "roles":{ROLE:ALIAS | {PROVIDER:ALIAS}}, "_role_at":{ROLE:_at},
 *    "default":ALIAS|null, "_default_at", "files":[PATH...]}
 * where _at is {"file","line","col"} for messages about entries that
 * refer to others.  Members starting with '_' never leave the library.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"
#include "model_use.h"
#include "fallback.h"

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

/*
 * V (consumed): a model's "fallback" as a list of names (one name, a
 * list, or none), anything but a name left out (model_config.c has told
 * it); the caller owns it.
 */
jv
wf_model_fallback_list(jv v)
{
	jv out = jv_array();

	if (jv_get_kind(v) == JV_KIND_STRING)
		v = jv_array_append(jv_array(), v);
	if (jv_get_kind(v) == JV_KIND_ARRAY)
		jv_array_foreach(v, i, x) {
			(void)i;
			if (jv_get_kind(x) == JV_KIND_STRING && *jv_string_value(x))
				out = jv_array_append(out, x);
			else
				jv_free(x);
		}
	jv_free(v);
	return out;
}

/*
 * Does a path of fallbacks from model NAME's (in PATH, consumed) lead
 * back to START?  Each name is resolved in REG (borrowed) to the alias
 * it means; the path, "a -> b -> a", goes in BUF.
 */
static int
cycle_from(jv reg, const char *start, const char *name, jv path, char *buf, size_t n)
{
	jv models = wf_jv_get(reg, "models"), e = wf_jv_get(models, name);
	jv fbs = wf_model_fallback_list(wf_jv_get(e, "fallback"));
	int found = 0;

	jv_free(models);
	jv_free(e);
	path = jv_array_append(path, jv_string(name));
	jv_array_foreach(fbs, i, fb) {
		char err[512];
		jv r = found ? jv_invalid() : wf_model_resolve(reg, jv_string_value(fb), NULL, err, sizeof err);
		const char *to = jv_is_valid(r) ? wf_jv_str(r, "name") : NULL;
		int seen = 0;

		(void)i;
		jv_array_foreach(path, j, p) {
			(void)j;
			seen |= to && !strcmp(jv_string_value(p), to);
			jv_free(p);
		}
		if (to && !strcmp(to, start)) {
			struct wf_buf b = {0};

			jv_array_foreach(path, j, p) {
				wf_buf_printf(&b, "%s%s", j ? " -> " : "", jv_string_value(p));
				jv_free(p);
			}
			snprintf(buf, n, "%s -> %s", b.s, start);
			wf_buf_free(&b);
			found = 1;
		} else if (to && !seen)
			found = cycle_from(reg, start, to, jv_copy(path), buf, n);
		jv_free(r);
		jv_free(fb);
	}
	jv_free(fbs);
	jv_free(path);
	return found;
}

/* Model alias NAME's fallbacks lead back to it: told where AT (borrowed) says; 1 then. */
static int
fallback_cycle(jv reg, const char *name, struct wf_diag *diag, jv at)
{
	char path[1024];

	if (!cycle_from(reg, name, name, jv_array(), path, sizeof path))
		return 0;
	at_err(diag, at, "model '%s': fallback: a cycle (%s): a model cannot fall back to itself", name, path);
	return 1;
}

/*
 * The checks that need the whole registry REG (borrowed): references
 * between entries; 1 when one failed.
 */
int
wf_models_check_references(jv reg, struct wf_diag *diag)
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
		const char *prov = wf_jv_str(m, "provider");
		jv fbs = wf_model_fallback_list(wf_jv_get(m, "fallback"));

		if (!prov || !wf_jv_str(m, "model")) {
			at_err(diag, at, "model '%s' needs 'provider' and 'model'", jv_string_value(k));
			bad = 1;
		} else if (!jv_object_has(jv_copy(provs), jv_string(prov))) {
			at_err(diag, at, "model '%s': unknown provider '%s'", jv_string_value(k), prov);
			bad = 1;
		}
		jv_array_foreach(fbs, i, fb) {
			char err[512];
			jv r = wf_model_resolve(reg, jv_string_value(fb), NULL, err, sizeof err);

			(void)i;
			if (!jv_is_valid(r)) {
				at_err(diag, at, "model '%s': fallback: %s", jv_string_value(k), err);
				bad = 1;
			}
			jv_free(r);
			jv_free(fb);
		}
		jv_free(fbs);
		if (!bad && fallback_cycle(reg, jv_string_value(k), diag, at))
			bad = 1;
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

/* Prompt caching for a model: its entry's "cache", else its provider's, else on.  Both borrowed. */
static int
cache_on(jv entry, jv prov)
{
	jv e = wf_jv_get(entry, "cache"), p = wf_jv_get(prov, "cache");
	int on = jv_get_kind(e) == JV_KIND_FALSE ? 0 : jv_get_kind(e) == JV_KIND_TRUE ? 1 : jv_get_kind(p) != JV_KIND_FALSE;

	jv_free(e);
	jv_free(p);
	return on;
}

/*
 * Build the resolved model for provider PNAME and model ID; ENTRY
 * (borrowed) is the alias's entry or null. The caller owns the result,
 * REG borrowed.
 */
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
	/* What a call is expected to answer, for wf-run --estimate: only when set. */
	if (jv_get_kind(ctx = wf_jv_get(entry, "output_tokens")) == JV_KIND_NUMBER)
		r = jv_object_set(r, jv_string("output_tokens"), ctx);
	else
		jv_free(ctx);
	r = jv_object_set(r, jv_string("_options"), jv_get_kind(opts) == JV_KIND_OBJECT ? opts : (jv_free(opts), jv_object()));
	r = jv_object_set(r, jv_string("_fallback"), wf_model_fallback_list(fb));
	r = jv_object_set(r, jv_string("_cache"), jv_bool(cache_on(entry, p)));
	r = jv_object_set(r, jv_string("_provider"), p);
	return r;
}

/*
 * NAME as a literal or an alias only (what roles and fallbacks may
 * name). REG borrowed; the caller owns the result.
 */
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

/*
 * NAME resolved in REG (borrowed), following defaults and roles DEPTH
 * deep; the caller owns the result.
 */
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

/* REG borrowed; the caller owns the result. */
jv
wf_model_resolve(jv reg, const char *name, const char *original, char *err, size_t errlen)
{
	return resolve_name(reg, name, original, err, errlen, 0);
}

/* M consumed; the caller owns the result. */
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

/* REG borrowed; the caller owns the result. */
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

/* REG borrowed; the caller owns the result. */
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

/* REG and ITEMS borrowed. */
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

/* ---- calling a model from another program ---- */

/* The caller owns the message. */
jv
wf_chat_message(const char *role, const char *content)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("role"), jv_string(role)),
			     jv_string("content"), jv_string(content));
}

/* The caller owns the result. */
jv
wf_model_run(char *const args[], const char *input, int *code, char *err, size_t errlen)
{
	char *exe = wf_sibling_exe("wf-model");
	char *argv[8];
	struct wf_buf out = {0};
	struct wf_io_opts io = { .pgrp = 1, .stop = &wf_stop, .sink = wf_sink_to_buf, .ctx = &out };
	struct wf_child c;
	int status = 0, k = 0;
	jv res;

	argv[k++] = exe;
	for (int i = 0; args[i] && k < 7; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	/* Its own process group, journaled, so that it can never outlive the step unseen. */
	if (wf_spawn(argv, NULL, NULL, WF_SPAWN_IN | WF_SPAWN_OUT | WF_SPAWN_PGRP, NULL, &c) < 0) {
		snprintf(err, errlen, "cannot run '%s': %s", exe, strerror(errno));
		*code = WF_EXIT_UNAVAILABLE;
		free(exe);
		return jv_invalid();
	}
	wf_communicate(&c, input, input ? strlen(input) : 0, &io, &status);
	*code = wf_exit_code(status);
	res = wf_json_parse(out.s ? out.s : "", out.len, err, errlen);
	if (*code && jv_is_valid(res) && wf_jv_str(res, "error"))
		snprintf(err, errlen, "%s", wf_jv_str(res, "error"));
	else if (*code && !jv_is_valid(res))
		snprintf(err, errlen, "wf-model exited with status %d", *code);
	else if (!*code && !jv_is_valid(res)) {
		char msg[300];

		snprintf(msg, sizeof msg, "wf-model gave no result: %s", err);
		snprintf(err, errlen, "%s", msg);
		*code = WF_EXIT_SOFTWARE;
	}
	if (*code) {
		jv_free(res);
		res = jv_invalid();
	}
	wf_buf_free(&out);
	free(exe);
	return res;
}
