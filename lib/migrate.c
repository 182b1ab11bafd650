/*
 * migrate.c: Codi's pipelines as workflows (wf migrate).  A pipeline of
 * codi-models.yaml,
 *
 *   pipelines:
 *     NAME: {description, provider, model?, steps: [{name, role|model,
 *            prompt, output, condition?}], result}
 *
 * becomes a workflow whose steps are ai-prompts with output:, each
 * {var} of a prompt a ${var} (only names the pipeline defines: input and
 * the steps' outputs; any other braces stay text, as Codi leaves them),
 * each role resolved through model-roles for the provider, {input} a
 * required input, a condition the step's if:, and the result a
 * set-variable plus a shell step that prints it from the environment.
 * The text is YAML written here and checked with the one validator
 * (wf_workflow_parse) before anyone sees it; wf_create_save (template.c)
 * writes it.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"
#include "template.h"

/* ---- reading the Codi file ---- */

/* Is NAME a name Codi's {NAME} can refer to (letters, digits, '_', '-', not starting with a digit)? */
static int
var_char(char c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && ((c >= '0' && c <= '9') || c == '-'));
}

/* Check pipeline NAME, P (borrowed), at PATH: its steps a list of mappings with a prompt. */
static void
check_pipeline(struct wf_check *c, const char *path, jv p)
{
	jv steps = wf_jv_get(p, "steps");
	char *sp = wf_check_key_path(path, "steps");

	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		wf_check_at(c, path, 1, "a pipeline must be a mapping with steps:, not %s", wf_check_kind_name(p));
	} else if (jv_get_kind(steps) != JV_KIND_ARRAY || jv_array_length(jv_copy(steps)) == 0) {
		wf_check_at(c, jv_get_kind(steps) == JV_KIND_NULL ? path : sp, 0,
			    "a pipeline needs 'steps', a list of steps with a prompt");
	} else {
		jv_array_foreach(steps, i, s) {
			char *ip = wf_xasprintf("%s/%d", sp, i);

			if (jv_get_kind(s) != JV_KIND_OBJECT || !wf_jv_str(s, "prompt"))
				wf_check_at(c, ip, 0, "a pipeline step must be a mapping with a 'prompt' text");
			free(ip);
			jv_free(s);
		}
	}
	free(sp);
	jv_free(steps);
}

/* Read FILE into CODI and check its pipelines: 0, or 65/66/74 after adding to DIAG. */
static int
codi_read(const char *file, struct wf_codi *codi, struct wf_diag *diag)
{
	struct wf_buf b = {0};
	size_t before = diag->n;
	jv pipes;

	if (wf_read_file(file, WF_YAML_MAX_BYTES, &b) < 0) {
		int e = errno;

		wf_diag_add(diag, file, 0, 0, "cannot read: %s", e == EFBIG ? "over the 1 MiB limit" : strerror(e));
		wf_buf_free(&b);
		return e == EFBIG ? WF_EXIT_DATA : e == ENOENT || e == EACCES || e == EISDIR ? WF_EXIT_NOINPUT : WF_EXIT_IO;
	}
	codi->file = wf_xstrdup(file);
	if (wf_yaml_load(b.s, b.len, file, &codi->doc, &codi->pos, diag) < 0) {
		wf_buf_free(&b);
		return WF_EXIT_DATA;
	}
	wf_buf_free(&b);
	if (jv_get_kind(codi->doc) != JV_KIND_OBJECT) {
		wf_diag_add(diag, file, 1, 1, "a Codi model map must be a mapping with pipelines:, not %s",
			    wf_check_kind_name(codi->doc));
		return WF_EXIT_DATA;
	}
	pipes = wf_jv_get(codi->doc, "pipelines");
	{
		struct wf_check c = { .file = file, .pos = codi->pos, .diag = diag };

		if (jv_get_kind(pipes) == JV_KIND_OBJECT) {
			jv_object_foreach(pipes, k, p) {
				char *pp = wf_check_key_path("/pipelines", jv_string_value(k));

				check_pipeline(&c, pp, p);
				free(pp);
				jv_free(k);
				jv_free(p);
			}
		} else if (jv_get_kind(pipes) != JV_KIND_NULL) {
			wf_check_at(&c, "/pipelines", 1, "'pipelines' must be a mapping of names to pipelines, not %s",
				    wf_check_kind_name(pipes));
		}
	}
	jv_free(pipes);
	return diag->n > before ? WF_EXIT_DATA : 0;
}

/*
 * Codi reads ~/.codi/models.yaml first and the project's map on top: lay
 * GLOBAL's models (each whole) and model-roles (merged provider by
 * provider) under CODI's own.  Its pipelines are not taken: a pipeline is
 * converted from the file it is written in.  0, or 65/74 after adding to
 * DIAG.
 */
static int
codi_underlay(struct wf_codi *codi, const char *global, struct wf_diag *diag)
{
	struct wf_buf b = {0};
	jv doc = jv_null(), pos = jv_null();
	int rc = 0;

	if (wf_read_file(global, WF_YAML_MAX_BYTES, &b) < 0) {
		int e = errno;

		wf_diag_add(diag, global, 0, 0, "cannot read: %s", e == EFBIG ? "over the 1 MiB limit" : strerror(e));
		rc = e == EFBIG ? WF_EXIT_DATA : WF_EXIT_IO;
	} else if (wf_yaml_load(b.s, b.len, global, &doc, &pos, diag) < 0) {
		rc = WF_EXIT_DATA;
	} else if (jv_get_kind(doc) == JV_KIND_OBJECT) {
		static const char *const keys[] = { "models", "model-roles", NULL };

		for (int i = 0; keys[i]; i++) {
			jv under = wf_jv_get(doc, keys[i]), over = wf_jv_get(codi->doc, keys[i]);

			if (jv_get_kind(under) != JV_KIND_OBJECT) {
				jv_free(under);
				under = jv_object();
			}
			if (jv_get_kind(over) != JV_KIND_OBJECT) {
				jv_free(over);
				over = jv_object();
			}
			under = i ? jv_object_merge_recursive(under, over) : jv_object_merge(under, over);
			codi->doc = jv_object_set(codi->doc, jv_string(keys[i]), under);
		}
	}
	wf_buf_free(&b);
	jv_free(doc);
	jv_free(pos);
	return rc;
}

/* Find and read the Codi file; see migrate.h. */
int
wf_codi_open(const char *from, struct wf_codi *codi, struct wf_diag *diag)
{
	char *places[3] = { NULL, NULL, NULL }, *proj;
	const char *home = getenv("HOME");
	int rc = -1;

	codi->file = NULL;
	codi->doc = jv_null();
	codi->pos = jv_null();
	if (from)
		return codi_read(from, codi, diag);
	proj = wf_project_dir();
	places[0] = wf_xstrdup("codi-models.yaml");
	places[1] = proj ? wf_xasprintf("%s/codi-models.yaml", proj) : NULL;
	places[2] = home && *home ? wf_xasprintf("%s/.codi/models.yaml", home) : NULL;
	for (int i = 0; i < 3 && rc < 0; i++)
		if (places[i] && access(places[i], F_OK) == 0) {
			rc = codi_read(places[i], codi, diag);
			if (rc == 0 && i < 2 && places[2] && access(places[2], F_OK) == 0)
				rc = codi_underlay(codi, places[2], diag);
		}
	if (rc < 0) {
		wf_diag_add(diag, NULL, 0, 0, "no Codi model map: none of ./codi-models.yaml%s%s%s exists (name one with --from FILE)",
			    places[1] ? ", " : "", places[1] ? places[1] : "", places[2] ? " or ~/.codi/models.yaml" : "");
		rc = WF_EXIT_NOINPUT;
	}
	for (int i = 0; i < 3; i++)
		free(places[i]);
	free(proj);
	return rc;
}

void
wf_codi_free(struct wf_codi *codi)
{
	free(codi->file);
	jv_free(codi->doc);
	jv_free(codi->pos);
	codi->file = NULL;
	codi->doc = codi->pos = jv_null();
}

/* CODI's pipelines with their step counts and descriptions; the caller owns the array. */
jv
wf_codi_pipelines(const struct wf_codi *codi)
{
	jv out = jv_array(), pipes = wf_jv_get(codi->doc, "pipelines");

	if (jv_get_kind(pipes) == JV_KIND_OBJECT) {
		jv_object_foreach(pipes, k, p) {
			jv e = jv_object_set(jv_object(), jv_string("name"), k);
			const char *d = wf_jv_str(p, "description");

			jv steps = wf_jv_get(p, "steps");

			/* wf_codi_open checked that steps is a list. */
			e = jv_object_set(e, jv_string("steps"), jv_number(jv_array_length(steps)));
			e = jv_object_set(e, jv_string("description"), jv_string(d ? d : ""));
			out = jv_array_append(out, e);
			jv_free(p);
		}
	}
	jv_free(pipes);
	return out;
}

/* ---- writing YAML ---- */

/* S as a YAML scalar that reads back exactly: a block when it has lines, else double-quoted. */
static void
yaml_text(struct wf_buf *b, const char *s, int indent)
{
	size_t n = strlen(s);
	int block = strchr(s, '\n') != NULL && s[0] != ' ' && s[0] != '\n';

	for (const char *p = s; block && *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\n')
			block = 0;
	if (block) {
		int trailing = 0;

		while (trailing < (int)n && s[n - 1 - trailing] == '\n')
			trailing++;
		wf_buf_addstr(b, trailing == 0 ? "|-\n" : trailing == 1 ? "|\n" : "|+\n");
		for (const char *p = s; *p;) {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p) : strlen(p);

			if (len)
				wf_buf_printf(b, "%*s%.*s", indent, "", (int)len, p);
			wf_buf_addch(b, '\n');
			p += len + (e ? 1 : 0);
		}
		if (trailing == 0)
			return;
		b->len--;	/* the caller ends the line */
		b->s[b->len] = '\0';
		return;
	}
	{
		char *q = wf_yaml_quoted(s);

		wf_buf_addstr(b, q);
		free(q);
	}
}

/* "KEY: TEXT\n" at INDENT spaces. */
static void
yaml_field(struct wf_buf *b, int indent, const char *key, const char *text)
{
	wf_buf_printf(b, "%*s%s: ", indent, "", key);
	yaml_text(b, text, indent + 2);
	wf_buf_addch(b, '\n');
}

/* A comment line of free TEXT: newlines and control characters become spaces. */
static void
yaml_comment(struct wf_buf *b, int indent, const char *text)
{
	wf_buf_printf(b, "%*s# ", indent, "");
	for (const char *p = text; *p; p++)
		wf_buf_addch(b, (unsigned char)*p < 0x20 ? ' ' : *p);
	wf_buf_addch(b, '\n');
}

/* ---- converting ---- */

/* A pipeline being converted. */
struct conv {
	const struct wf_codi *codi;
	const char *provider;
	jv known;		/* the names {NAME} may refer to: {NAME: true} */
	int uses_input;
	struct wf_buf notes;	/* comments for the header */
};

/* TEXT with Codi's {NAME} as ${NAME} for the names CV knows, and every literal ${ kept as $${; malloc'd. */
static char *
convert_text(struct conv *cv, const char *text)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "");
	for (const char *p = text; *p; p++) {
		if (p[0] == '$' && p[1] == '{') {
			wf_buf_addstr(&b, "$${");
			p++;
			continue;
		}
		if (*p == '{' && var_char(p[1], 1)) {
			const char *e = p + 1;

			while (var_char(*e, 0))
				e++;
			if (*e == '}') {
				char *name = wf_xstrndup(p + 1, (size_t)(e - p - 1));
				int known = jv_object_has(jv_copy(cv->known), jv_string(name));

				if (known) {
					wf_buf_printf(&b, "${%s}", name);
					cv->uses_input |= !strcmp(name, "input");
					p = e;
				}
				free(name);
				if (known)
					continue;
			}
		}
		wf_buf_addch(&b, *p);
	}
	return wf_buf_detach(&b);
}

/*
 * The model a Codi model name (or model id) NAME stands for: its
 * PROVIDER:MODEL from models: when it has no baseUrl of its own, else the
 * name, which wf's model registry reads from the same file; malloc'd.
 */
static char *
model_name(struct conv *cv, const char *name, const char *provider)
{
	jv models = wf_jv_get(cv->codi->doc, "models"), m = wf_jv_get(models, name);
	const char *p = wf_jv_str(m, "provider"), *id = wf_jv_str(m, "model");
	char *out;

	if (p && id && !wf_jv_str(m, "baseUrl"))
		out = wf_xasprintf("%s:%s", p, id);
	else if (jv_get_kind(m) == JV_KIND_OBJECT || !provider || strchr(name, ':'))
		out = wf_xstrdup(name);
	else
		out = wf_xasprintf("%s:%s", provider, name);
	jv_free(m);
	jv_free(models);
	return out;
}

/* The model of pipeline step S (borrowed, named SNAME): its model, its role for the provider, or NULL. */
static char *
step_model(struct conv *cv, jv s, const char *sname)
{
	const char *model = wf_jv_str(s, "model"), *role = wf_jv_str(s, "role");
	jv roles, r;
	char *out = NULL;

	if (model)
		return model_name(cv, model, cv->provider);
	if (!role)
		return NULL;
	roles = wf_jv_get(cv->codi->doc, "model-roles");
	r = wf_jv_get(roles, role);
	if (jv_get_kind(r) == JV_KIND_STRING) {
		out = model_name(cv, jv_string_value(r), cv->provider);
	} else if (cv->provider && wf_jv_str(r, cv->provider)) {
		out = model_name(cv, wf_jv_str(r, cv->provider), cv->provider);
	} else {
		out = wf_xstrdup(role);
		wf_buf_printf(&cv->notes, "step '%s': role '%s' has no model for provider '%s' in model-roles; left as the role, which wf's model registry resolves at run time\n",
			      sname, role, cv->provider ? cv->provider : "(none)");
	}
	jv_free(r);
	jv_free(roles);
	return out;
}

/*
 * Codi's step condition COND as a wf condition: NAME, !NAME (or {NAME}),
 * where NAME is one the pipeline defines; else NULL with a note.  *NAME
 * gets the name (malloc'd), for a variable declared empty so that the
 * condition is false, not an error, while no step has set it.
 */
static char *
convert_condition(struct conv *cv, const char *cond, const char *sname, char **name)
{
	const char *p = cond;
	int neg = 0;
	size_t len;

	*name = NULL;
	while (*p == ' ')
		p++;
	if (*p == '!') {
		neg = 1;
		p++;
	}
	len = strlen(p);
	while (len && p[len - 1] == ' ')
		len--;
	if (len > 2 && p[0] == '{' && p[len - 1] == '}') {
		p++;
		len -= 2;
	}
	*name = wf_xstrndup(p, len);
	if (len && var_char(p[0], 1) && strspn(*name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == len &&
	    jv_object_has(jv_copy(cv->known), jv_string(*name)))
		return wf_xasprintf("%s%s", neg ? "!" : "", *name);
	wf_buf_printf(&cv->notes, "step '%s': Codi condition '%s' was not converted (only NAME and !NAME of the pipeline's variables are); the step always runs: add an 'if:' (wf-cond(1))\n",
		      sname, cond);
	free(*name);
	*name = NULL;
	return NULL;
}

/* A step id from Codi step name NAME (or step-N), unique in IDS (consumed, returned). */
static jv
unique_id(jv ids, const char *name, int i, char **id)
{
	struct wf_buf b = {0};

	if (name && wf_name_valid(name)) {
		wf_buf_addstr(&b, name);
	} else {
		for (const char *p = name ? name : ""; *p && b.len < 60; p++)
			wf_buf_addch(&b, var_char(*p, 0) || *p == '.' ? *p : '-');
		if (!b.len || !wf_name_valid(b.s)) {
			wf_buf_reset(&b);
			wf_buf_printf(&b, "step-%d", i + 1);
		}
	}
	for (int k = 2; jv_object_has(jv_copy(ids), jv_string(b.s)); k++) {
		char *base = wf_xstrdup(b.s);

		wf_buf_reset(&b);
		wf_buf_printf(&b, "%s-%d", base, k);
		free(base);
	}
	*id = wf_buf_detach(&b);
	return jv_object_set(ids, jv_string(*id), jv_true());
}

/* The steps of pipeline P (borrowed) into B; EMPTY (consumed, returned) gains the names conditions read and conditional steps set. */
static jv
convert_steps(struct conv *cv, jv p, struct wf_buf *b, jv empty)
{
	jv steps = wf_jv_get(p, "steps"), ids = jv_object();

	jv_array_foreach(steps, i, s) {
		const char *sname = wf_jv_str(s, "name"), *out = wf_jv_str(s, "output");
		const char *cond = wf_jv_str(s, "condition");
		char *id, *model, *prompt, *cname = NULL, *wcond = NULL;

		ids = unique_id(ids, sname, i, &id);
		model = step_model(cv, s, id);
		if (cond)
			wcond = convert_condition(cv, cond, id, &cname);
		prompt = convert_text(cv, wf_jv_str(s, "prompt"));
		/* Codi sends each step's prompt alone, not the conversation so far. */
		wf_buf_printf(b, "  - id: %s\n    action: ai-prompt\n    context: none\n", id);
		if (model)
			yaml_field(b, 4, "model", model);
		if (wcond)
			yaml_field(b, 4, "if", wcond);
		if (cname)
			empty = jv_object_set(empty, jv_string(cname), jv_true());
		/* A skipped step leaves its output empty, not undefined. */
		if (cond && out)
			empty = jv_object_set(empty, jv_string(out), jv_true());
		yaml_field(b, 4, "prompt", prompt);
		if (out)
			yaml_field(b, 4, "output", out);
		free(id);
		free(model);
		free(prompt);
		free(cname);
		free(wcond);
		jv_free(s);
	}
	jv_free(ids);
	jv_free(steps);
	return empty;
}

/* The names pipeline P (borrowed) defines: input, and its steps' outputs; the caller owns them. */
static jv
known_names(jv p)
{
	jv known = jv_object_set(jv_object(), jv_string("input"), jv_true()), steps = wf_jv_get(p, "steps");

	jv_array_foreach(steps, i, s) {
		const char *out = wf_jv_str(s, "output");

		(void)i;
		if (out)
			known = jv_object_set(known, jv_string(out), jv_true());
		jv_free(s);
	}
	jv_free(steps);
	return known;
}

/* The final steps of pipeline P (borrowed): its result (else the last step's output) set and printed. */
static void
convert_result(struct conv *cv, jv p, struct wf_buf *b)
{
	const char *result = wf_jv_str(p, "result");
	const char *var = jv_object_has(jv_copy(cv->known), jv_string("result")) ? "pipeline_result" : "result";
	char *text = NULL;

	if (result) {
		text = convert_text(cv, result);
	} else {
		jv steps = wf_jv_get(p, "steps");
		jv last = jv_array_get(jv_copy(steps), jv_array_length(jv_copy(steps)) - 1);
		const char *out = wf_jv_str(last, "output");

		text = out ? wf_xasprintf("${%s}", out) : wf_xstrdup("${last.output}");
		jv_free(last);
		jv_free(steps);
	}
	wf_buf_printf(b, "  - id: %s\n    action: set-variable\n    name: %s\n", var, var);
	yaml_field(b, 4, "value", text);
	/* The text reaches the shell as an environment variable, never as code. */
	wf_buf_printf(b, "  - id: print-%s\n    action: shell\n    command: 'printf ''%%s\\n'' \"$%s\"'\n", var, var);
	free(text);
}

/* Pipeline P (borrowed) named NAME as workflow text; malloc'd. */
static char *
convert(struct conv *cv, const char *name, jv p)
{
	struct wf_buf head = {0}, body = {0};
	const char *desc = wf_jv_str(p, "description"), *model = wf_jv_str(p, "model");
	jv empty = jv_object();
	char *top = NULL;

	cv->known = known_names(p);
	empty = convert_steps(cv, p, &body, empty);
	if (model)
		top = model_name(cv, model, cv->provider);
	convert_result(cv, p, &body);
	yaml_comment(&head, 0, "Converted by wf migrate from a Codi pipeline; check it, then wf validate and wf run it.");
	{
		char *src = wf_xasprintf("source: %s, pipeline '%s'%s%s", cv->codi->file, name,
					 cv->provider ? ", roles for provider " : "", cv->provider ? cv->provider : "");

		yaml_comment(&head, 0, src);
		free(src);
	}
	for (char *l = cv->notes.s, *e; l && *l; l = e + 1) {
		e = strchr(l, '\n');
		*e = '\0';
		yaml_comment(&head, 0, l);
	}
	wf_buf_printf(&head, "name: %s\n", name);
	yaml_field(&head, 0, "description", desc ? desc : "");
	if (top)
		yaml_field(&head, 0, "model", top);
	if (cv->uses_input)
		wf_buf_addstr(&head, "inputs:\n  input:\n    description: The text the pipeline works on (Codi's {input})\n");
	if (jv_object_length(jv_copy(empty)) > 0) {
		wf_buf_addstr(&head, "variables:\n");
		jv_object_foreach(empty, k, v) {
			wf_buf_printf(&head, "  %s: \"\"\n", jv_string_value(k));
			jv_free(k);
			jv_free(v);
		}
	}
	wf_buf_addstr(&head, "steps:\n");
	wf_buf_add(&head, body.s, body.len);
	wf_buf_free(&body);
	jv_free(empty);
	jv_free(cv->known);
	free(top);
	return wf_buf_detach(&head);
}

/* Pipeline NAME as a validated workflow; see migrate.h. */
char *
wf_codi_convert(const struct wf_codi *codi, const char *name, const char *provider, const char *target,
		struct wf_diag *diag, int *code)
{
	jv pipes = wf_jv_get(codi->doc, "pipelines"), p = wf_jv_get(pipes, name), wf;
	struct conv cv = { codi, provider, jv_null(), 0, {0} };
	char *text;

	if (jv_get_kind(p) != JV_KIND_OBJECT) {
		jv names = wf_codi_pipelines(codi);
		struct wf_buf l = {0};

		jv_array_foreach(names, i, e) {
			wf_buf_printf(&l, "%s%s", i ? ", " : "", wf_jv_str(e, "name"));
			jv_free(e);
		}
		wf_diag_add(diag, NULL, 0, 0, "no pipeline '%s' in %s (%s%s)", name, codi->file,
			    l.len ? "there are: " : "it has none", l.len ? l.s : "");
		wf_buf_free(&l);
		jv_free(names);
		jv_free(pipes);
		jv_free(p);
		*code = WF_EXIT_NOINPUT;
		return NULL;
	}
	if (!wf_name_valid(name)) {
		wf_diag_add(diag, NULL, 0, 0, "pipeline name '%s' cannot be a workflow's name (letters, digits, '.', '_', '-')", name);
		jv_free(pipes);
		jv_free(p);
		*code = WF_EXIT_DATA;
		return NULL;
	}
	if (!cv.provider)
		cv.provider = wf_jv_str(p, "provider");
	text = convert(&cv, name, p);
	wf_buf_free(&cv.notes);
	wf = wf_workflow_parse(text, strlen(text), target, diag);
	jv_free(pipes);
	jv_free(p);
	if (!jv_is_valid(wf)) {
		free(text);
		*code = WF_EXIT_DATA;
		return NULL;
	}
	jv_free(wf);
	*code = 0;
	return text;
}
