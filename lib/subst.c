/*
 * subst.c: names in a run's context, and ${...} in text fields that are
 * not shell (prompts, messages, titles, bodies, model names, paths).
 *
 * The context is the object wf-cond(1) describes:
 * {"vars":{}, "steps":{ID:{status, exit_code, output}}, "last":{},
 *  "loops":{ID:N}, "passes":{ID:N}, "iteration":N, "step":{}}.  Substitution is one pass:
 * a value put into the text is never scanned again, so a variable holding
 * "${other}" stays exactly that.
 *
 * Layer 1: formats and channels.
 */
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"

/* OBJ[KEY] (OBJ borrowed), or jv_invalid() when OBJ is not an object or has no KEY. */
static jv
member(jv obj, const char *key, size_t keylen)
{
	jv v;

	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_invalid();
	v = jv_object_get(jv_copy(obj), jv_string_sized(key, (int)keylen));
	if (!jv_is_valid(v)) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

/*
 * CONTAINER[KEY] where CONTAINER is CTX's member ROOT; jv_invalid() when
 * missing. CTX borrowed, the caller owns the result.
 */
static jv
nested(jv ctx, const char *root, const char *key, size_t keylen)
{
	jv c = member(ctx, root, strlen(root));
	jv v = member(c, key, keylen);

	jv_free(c);
	return v;
}

/* CTX borrowed; the caller owns the result. */
jv
wf_ctx_lookup(jv ctx, const char *name)
{
	const char *dot = strchr(name, '.');
	jv v;

	if (!strcmp(name, "iteration")) {
		v = nested(ctx, "vars", name, strlen(name));
		if (jv_is_valid(v))
			return v;
		jv_free(v);
		v = member(ctx, "iteration", 9);
		if (jv_get_kind(v) == JV_KIND_NUMBER)
			return v;
		jv_free(v);
		return jv_number(0);
	}
	if (dot && dot[1]) {
		size_t rootlen = (size_t)(dot - name);
		const char *rest = dot + 1;

		if (rootlen == 5 && !strncmp(name, "steps", 5)) {
			/* steps.ID or steps.ID.FIELD; an id may itself hold dots, the field never does. */
			const char *field = strrchr(rest, '.'), *outs = strstr(rest, ".outputs.");
			jv step;

			/* steps.ID.outputs.NAME: an output of a workflow step's sub-workflow. */
			if (outs && outs[9]) {
				step = nested(ctx, "steps", rest, (size_t)(outs - rest));
				v = member(step, "outputs", 7);
				jv_free(step);
				step = member(v, outs + 9, strlen(outs + 9));
				jv_free(v);
				if (jv_is_valid(step))
					return step;
				jv_free(step);
			}
			if (!field)
				return nested(ctx, "steps", rest, strlen(rest));
			step = nested(ctx, "steps", rest, (size_t)(field - rest));
			if (!jv_is_valid(step)) {
				jv_free(step);
				return nested(ctx, "steps", rest, strlen(rest));
			}
			v = member(step, field + 1, strlen(field + 1));
			jv_free(step);
			return v;
		}
		if ((rootlen == 5 && !strncmp(name, "loops", 5)) ||
		    (rootlen == 6 && !strncmp(name, "passes", 6)) ||
		    (rootlen == 4 && !strncmp(name, "last", 4)) ||
		    (rootlen == 4 && !strncmp(name, "vars", 4))) {
			char root[8];

			memcpy(root, name, rootlen);
			root[rootlen] = '\0';
			return nested(ctx, root, rest, strlen(rest));
		}
	}
	return nested(ctx, "vars", name, strlen(name));
}

int
wf_ctx_name_valid(const char *s, size_t n)
{
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return 0;
		if (c == '.' && s[i + 1] == '.')
			return 0;
	}
	return 1;
}

/* Has NAME already been reported in D (a message quoting it)? */
static int
reported(const struct wf_diag *d, const char *msg)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->msgs[i], msg))
			return 1;
	return 0;
}

/* Report MSG once through WARN (may be NULL). */
static void
warn_once(struct wf_diag *warn, const char *msg)
{
	if (warn && !reported(warn, msg))
		wf_diag_add(warn, NULL, 0, 0, "%s", msg);
}

/* CTX borrowed. */
char *
wf_subst(const char *text, jv ctx, int strict, struct wf_diag *warn, char *err, size_t errlen)
{
	struct wf_buf out = {0};
	const char *p = text;

	wf_buf_add(&out, "", 0);
	while (*p) {
		const char *d = strchr(p, '$');
		const char *start, *end, *close;
		char *name, *msg;
		jv v;

		if (!d) {
			wf_buf_addstr(&out, p);
			break;
		}
		wf_buf_add(&out, p, (size_t)(d - p));
		if (d[1] == '$' && d[2] == '{') {
			/* $${ is the escape for a literal ${. */
			wf_buf_add(&out, "${", 2);
			p = d + 3;
			continue;
		}
		if (d[1] != '{') {
			wf_buf_addch(&out, '$');
			p = d + 1;
			continue;
		}
		close = strchr(d + 2, '}');
		if (!close) {
			msg = wf_xasprintf("unterminated '${' at offset %zu (write '$${' for a literal '${')",
					   (size_t)(d - text));
			goto bad;
		}
		start = d + 2;
		end = close;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (!wf_ctx_name_valid(start, (size_t)(end - start))) {
			msg = wf_xasprintf("'%.*s' is not a variable reference (write '$${' for a literal '${')",
					   (int)(close - d + 1 > 80 ? 80 : close - d + 1), d);
			goto bad;
		}
		name = wf_xstrndup(start, (size_t)(end - start));
		v = wf_ctx_lookup(ctx, name);
		if (!jv_is_valid(v)) {
			jv_free(v);
			msg = wf_xasprintf("undefined variable '%s'", name);
			free(name);
			if (strict)
				goto fail;
			warn_once(warn, msg);
			free(msg);
		} else {
			char *t = wf_jv_text(v);

			wf_buf_addstr(&out, t);
			free(t);
			jv_free(v);
			free(name);
		}
		p = close + 1;
		continue;
bad:
		/* Not a reference: keep the text as written, unless strict. */
		if (strict)
			goto fail;
		warn_once(warn, msg);
		free(msg);
		wf_buf_add(&out, d, close ? (size_t)(close - d + 1) : strlen(d));
		p = close ? close + 1 : d + strlen(d);
		continue;
fail:
		snprintf(err, errlen, "%s", msg);
		free(msg);
		wf_buf_free(&out);
		return NULL;
	}
	return wf_buf_detach(&out);
}
