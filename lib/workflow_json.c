/*
 * workflow_json.c: checking the canonical JSON that wf-run - and wf-step
 * read (wf-json(7)): a whole workflow, or one step request.  The same
 * schema and the same checks as a YAML workflow, with exact types; no
 * text may hold a NUL.  The first problem comes back as one line.
 *
 * Rules: nothing is run or printed; the caller decides what to do.
 *
 * Layer 2: domain data.
 */
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"

/* Check OBJ's (borrowed) members named in FIELDS; a member that is absent or null is left out. */
static void
check_members(struct wf_check *c, const char *path, jv obj, const struct wf_field *fields)
{
	for (const struct wf_field *f = fields; f->name; f++) {
		jv v = wf_jv_get(obj, f->name);

		if (jv_get_kind(v) == JV_KIND_NULL) {
			jv_free(v);
		} else {
			char *kp = wf_check_key_path(path, f->name);

			jv_free(wf_check_value(c, kp, f, v));
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
check_nul(struct wf_check *c, const char *path, jv v, int depth)
{
	jv_kind k = jv_get_kind(v);

	if (depth > 512)
		return;
	if (k == JV_KIND_STRING && strlen(jv_string_value(v)) != (size_t)jv_string_length_bytes(jv_copy(v))) {
		wf_check_field_at(c, path, path, "holds a NUL character (\\u0000), which no command, name or file can carry");
	} else if (k == JV_KIND_ARRAY) {
		jv_array_foreach(v, i, item) {
			char *sub = wf_xasprintf("%s/%d", path, i);

			check_nul(c, sub, item, depth + 1);
			free(sub);
			jv_free(item);
		}
	} else if (k == JV_KIND_OBJECT) {
		jv_object_foreach(v, key, item) {
			char *sub = wf_check_key_path(path, jv_string_value(key));

			if (strlen(jv_string_value(key)) != (size_t)jv_string_length_bytes(jv_copy(key)))
				wf_check_field_at(c, sub, path, "a key holds a NUL character (\\u0000)");
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
json_ctx(struct wf_check *c, struct wf_diag *diag, jv steps)
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
json_verdict(struct wf_check *c, char *err, size_t errlen)
{
	struct wf_diag *d = c->diag;
	int rc = d->n ? WF_EXIT_DATA : 0;

	jv_free(c->pos);
	jv_free(c->ids);
	if (d->n) {
		wf_check_finish_diags(d, 0, "");
		if (d->n > 1)
			snprintf(err, errlen, "%s (and %zu more problem%s)", d->msgs[0], d->n - 1,
				 d->n > 2 ? "s" : "");
		else
			snprintf(err, errlen, "%s", d->msgs[0]);
	}
	wf_diag_free(d);
	return rc;
}

/* The canonical workflow WF (borrowed) against the schema; 0, or WF_EXIT_DATA with the first problem in ERR. */
int
wf_workflow_check_json(jv wf, char *err, size_t errlen)
{
	struct wf_diag diag = {0};
	struct wf_check c;
	jv steps = wf_jv_get(wf, "steps");

	json_ctx(&c, &diag, steps);
	jv_free(steps);
	if (jv_get_kind(wf) != JV_KIND_OBJECT) {
		wf_diag_add(&diag, NULL, 0, 0, "expected a canonical workflow, an object with 'name', 'hash' and 'steps', got %s",
			    wf_check_kind_of(&c, wf));
		return json_verdict(&c, err, errlen);
	}
	check_nul(&c, "", wf, 0);
	jv_free(wf_check_document(&c, jv_copy(wf)));
	return json_verdict(&c, err, errlen);
}

/* The step request REQ (borrowed) against the schema; 0, or WF_EXIT_DATA with the first problem in ERR. */
int
wf_step_request_check(jv req, char *err, size_t errlen)
{
	struct wf_diag diag = {0};
	struct wf_check c;
	jv step = wf_jv_get(req, "step");
	jv one = jv_array_append(jv_array(), jv_copy(step));

	json_ctx(&c, &diag, one);
	jv_free(one);
	c.one_step = 1;
	if (jv_get_kind(req) != JV_KIND_OBJECT) {
		wf_diag_add(&diag, NULL, 0, 0, "a step request is an object with \"step\" (wf-json(7)), got %s",
			    wf_check_kind_of(&c, req));
	} else if (jv_get_kind(step) == JV_KIND_NULL) {
		wf_diag_add(&diag, NULL, 0, 0, "missing required key 'step' (wf-json(7))");
	} else {
		/* The step is "/steps/0", so that messages name it by its id. */
		jv_object_foreach(req, k, v) {
			char *kp = strcmp(jv_string_value(k), "step") ? wf_check_key_path("", jv_string_value(k))
								       : wf_xstrdup("/steps/0");

			check_nul(&c, kp, v, 0);
			free(kp);
			jv_free(k);
			jv_free(v);
		}
		check_members(&c, "", req, wf_schema_request);
		if (jv_get_kind(step) == JV_KIND_OBJECT) {
			jv s = wf_check_step(&c, jv_copy(step), 0, NULL);
			jv list = jv_array_append(jv_array(), jv_is_valid(s) ? s : jv_object());

			wf_check_flow(&c, list);
			jv_free(list);
		}
		{
			jv run = wf_jv_get(req, "run");

			if (jv_get_kind(run) == JV_KIND_OBJECT)
				check_members(&c, "/run", run, wf_schema_request_run);
			jv_free(run);
		}
	}
	jv_free(step);
	return json_verdict(&c, err, errlen);
}
