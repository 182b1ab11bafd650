/*
 * create.c: a workflow drafted by a model from a description (wf create
 * --describe).  The model is told the schema, the built-in actions and
 * two shipped workflows as examples, and asked for the YAML of one
 * workflow; every draft goes through wf_workflow_parse, the validator of
 * wf validate, and its errors, each with line and column, go back to the
 * model for a corrected whole file, a capped number of times.  The calls
 * go through a `wf-model` child, the only program that talks to
 * providers and sees API keys; a draft holds nothing but the model's
 * answer.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "create.h"
#include "model_use.h"
#include "template.h"

/* Shipped workflows shown to the model as examples: the first two found on the search path. */
static const char *const example_names[] = {
	"test-fix-loop", "pr-review-loop", "multi-model-review", "test-loop-shell", "test-conditional", NULL
};

/* ---- the draft file ---- */

/* The directory part of PATH ("." when it has none); malloc'd. */
static char *
dir_of(const char *path)
{
	char *copy = wf_xstrdup(path), *d = wf_xstrdup(dirname(copy));

	free(copy);
	return d;
}

/* ---- the prompt ---- */

/* The built-in actions, one line each: name, what it touches, the keys it needs and takes. */
static void
add_actions(struct wf_buf *b)
{
	wf_buf_addstr(b, "The actions (name [what it touches]: required keys; other keys):\n");
	for (const struct wf_action *a = wf_actions; a->name; a++) {
		char flags[160];

		wf_action_flags_text(a, flags, sizeof flags);
		wf_buf_printf(b, "- %s [%s]: %s;", a->name, flags, *a->required ? a->required : "none");
		for (const struct wf_field *f = a->fields; f->name; f++)
			wf_buf_printf(b, " %s%s%s", f->name, f->choices ? "=" : "", f->choices ? f->choices : "");
		wf_buf_addch(b, '\n');
	}
}

/* Two shipped workflows, as files, for the model to imitate. */
static void
add_examples(struct wf_buf *b)
{
	int shown = 0;

	for (int i = 0; example_names[i] && shown < 2; i++) {
		char err[256], *path;
		struct wf_buf text = {0};
		int code = 0;

		path = wf_workflow_find(example_names[i], &code, err, sizeof err);
		if (path && wf_read_file(path, 64 * 1024, &text) == 0 && text.len) {
			wf_buf_printf(b, "\nExample workflow %s.yaml:\n%s%s", example_names[i], text.s,
				      text.s[text.len - 1] == '\n' ? "" : "\n");
			shown++;
		}
		wf_buf_free(&text);
		free(path);
	}
}

/* The system prompt for drafting workflow NAME; malloc'd. */
static char *
system_prompt(const char *name)
{
	struct wf_buf b = {0};
	jv schema = wf_workflow_schema(), part = jv_object();
	static const char *const keep[] = { "workflow", "step", "retry", "budget", NULL };
	char *json;

	wf_buf_printf(&b,
		"You write workflow files for wf, a runner of declarative YAML workflows.\n"
		"Answer with the YAML of exactly one workflow and nothing else: no prose, no code fence.\n"
		"Its top-level name must be \"%s\". Keys are kebab-case; every step has an id and an action; "
		"steps run in file order and a jump (on-true, on-false, on-approved, on-rejected, on-complete, "
		"on-error, a loop's to) goes to a step id. ${name} in a text is a variable; a shell command "
		"gets the variables in its environment. A loop needs max-iterations.\n\n"
		"The schema, as JSON (the keys of the workflow, of every step, and their types):\n", name);
	for (int i = 0; keep[i]; i++)
		part = jv_object_set(part, jv_string(keep[i]), wf_jv_get(schema, keep[i]));
	json = wf_json_dump(part);
	wf_buf_printf(&b, "%s\n\n", json);
	free(json);
	jv_free(part);
	jv_free(schema);
	add_actions(&b);
	add_examples(&b);
	return wf_buf_detach(&b);
}

/* ---- one draft ---- */

/*
 * The YAML in a model's ANSWER: what a ``` fence holds when there is
 * one, else the whole answer; malloc'd, ending in a newline.
 */
static char *
strip_fence(const char *answer)
{
	const char *p = answer, *open = NULL, *body, *close;
	struct wf_buf b = {0};

	for (const char *line = p; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (!strncmp(line, "```", 3)) {
			open = line;
			break;
		}
	if (!open) {
		body = answer;
		close = answer + strlen(answer);
	} else {
		body = strchr(open, '\n') ? strchr(open, '\n') + 1 : open + strlen(open);
		close = body;
		while (*close && strncmp(close, "```", 3))
			close = strchr(close, '\n') ? strchr(close, '\n') + 1 : close + strlen(close);
	}
	while (body < close && (*body == '\n' || *body == '\r'))
		body++;
	wf_buf_add(&b, body, (size_t)(close - body));
	while (b.len && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == ' ' || b.s[b.len - 1] == '\r'))
		b.s[--b.len] = '\0';
	wf_buf_addch(&b, '\n');
	return wf_buf_detach(&b);
}

/*
 * Check DRAFT as the file FILE with wf validate's validator, and that it
 * is named NAME: 0, or -1 with every problem in D.
 */
static int
check_draft(const char *draft, const char *file, const char *name, struct wf_diag *d)
{
	jv wf = wf_workflow_parse(draft, strlen(draft), file, d);
	int rc = jv_is_valid(wf) ? 0 : -1;

	if (!rc && (!wf_jv_str(wf, "name") || strcmp(wf_jv_str(wf, "name"), name))) {
		wf_diag_add(d, file, 1, 1, "the workflow is named '%s': its name must be '%s'",
			    wf_jv_str(wf, "name") ? wf_jv_str(wf, "name") : "", name);
		rc = -1;
	}
	jv_free(wf);
	return rc;
}

/* The errors of D as lines for the model, and the request for the whole file; malloc'd. */
static char *
repair_prompt(const struct wf_diag *d)
{
	struct wf_buf b = {0};

	wf_buf_addstr(&b, "That draft does not validate. The validator (wf validate) says, as FILE:LINE:COL: message:\n");
	for (size_t i = 0; i < d->n; i++)
		wf_buf_printf(&b, "%s\n", d->msgs[i]);
	wf_buf_addstr(&b, "Answer with the whole corrected file, YAML only.");
	return wf_buf_detach(&b);
}

/* ---- the loop ---- */

struct drafting {
	const struct wf_create_opts *o;
	char *system;
	jv msgs;		/* the conversation so far */
	jv usage;		/* totals by model (wf_usage_total) */
	int calls;
};

/*
 * One call: the conversation to the model.  0 with *ANSWER (malloc'd,
 * secrets masked) and the use counted, or wf-model's exit status with ERR.
 */
static int
ask_model(struct drafting *s, char **answer, char *err, size_t n)
{
	jv req = jv_object(), res, u, cost, m;
	char *args[3] = { (char *)"chat", (char *)"-q", NULL }, *input;
	const char *text, *mname;
	int code = 0;

	if (s->o->model)
		req = jv_object_set(req, jv_string("model"), jv_string(s->o->model));
	req = jv_object_set(req, jv_string("system"), jv_string(s->system));
	req = jv_object_set(req, jv_string("messages"), jv_copy(s->msgs));
	req = jv_object_set(req, jv_string("stream"), jv_false());
	input = wf_json_dump(req);
	jv_free(req);
	res = wf_model_run(args, input, &code, err, n);
	free(input);
	if (!jv_is_valid(res))
		return code ? code : WF_EXIT_SOFTWARE;
	text = wf_jv_str(res, "text");
	*answer = wf_redact(text ? text : "", text ? strlen(text) : 0);
	/* What the call used, as a step's usage: tokens and dollars, under the model's name. */
	u = wf_jv_get(res, "usage");
	cost = wf_jv_get(res, "cost");
	m = wf_jv_get(res, "model");
	if (jv_get_kind(u) != JV_KIND_OBJECT) {
		jv_free(u);
		u = jv_object();
	}
	u = jv_object_set(u, jv_string("usd"), wf_jv_get(cost, "usd"));
	mname = jv_get_kind(m) == JV_KIND_OBJECT ? wf_jv_str(m, "name") :
		jv_get_kind(m) == JV_KIND_STRING ? jv_string_value(m) : NULL;
	s->usage = wf_usage_total(s->usage, mname ? mname : "unknown", u);
	s->calls++;
	jv_free(u);
	jv_free(cost);
	jv_free(m);
	jv_free(res);
	return 0;
}

/* The end line: NAME, HOW it ended after the drafts, and what each model used, on stderr. */
static void
print_summary(struct drafting *s, const char *how)
{
	struct wf_buf b = {0};

	wf_buf_printf(&b, "%s: %s after %d draft%s", s->o->name, how, s->calls, s->calls == 1 ? "" : "s");
	wf_usage_text(&b, s->usage);
	fprintf(stderr, "%s\n", b.s);
	wf_buf_free(&b);
}

/* NAME.draft.yaml beside TARGET (in the working directory for "-"); malloc'd. */
static char *
draft_path(const char *target, const char *name)
{
	char *dir = strcmp(target, "-") ? dir_of(target) : wf_xstrdup(".");
	char *p = wf_xasprintf("%s/%s.draft.yaml", dir, name);

	free(dir);
	return p;
}

/* Keep DRAFT as the draft file, with its errors printed under that name: 65 or 74 with ERR. */
static int
give_up(struct drafting *s, const char *draft, char *err, size_t n)
{
	char *path = draft_path(s->o->target, s->o->name);
	struct wf_diag d = {0};
	int rc = WF_EXIT_DATA;

	print_summary(s, "no valid workflow");
	if (wf_create_write(path, draft, strlen(draft), 1, err, n)) {
		rc = WF_EXIT_IO;
	} else {
		check_draft(draft, path, s->o->name, &d);
		wf_diag_print(&d);
		snprintf(err, n, "the last draft is in '%s': fix it, or try again with another --model or more --attempts",
			 path);
	}
	wf_diag_free(&d);
	free(path);
	return rc;
}

int
wf_create_describe(const struct wf_create_opts *o, char *err, size_t n)
{
	struct drafting s = { .o = o, .msgs = jv_array(), .usage = jv_null() };
	char *file = strcmp(o->target, "-") ? wf_xstrdup(o->target) : wf_xasprintf("%s.yaml", o->name);
	char *prompt = wf_xasprintf("Write the workflow %s. What it should do:\n%s", o->name, o->describe);
	char *draft = NULL;
	int rc = 0;

	*err = '\0';
	if (!o->force && strcmp(o->target, "-") && access(o->target, F_OK) == 0) {
		snprintf(err, n, "'%s' exists: use --force to overwrite it", o->target);
		free(file);
		free(prompt);
		jv_free(s.msgs);
		return WF_EXIT_USAGE;
	}
	s.system = system_prompt(o->name);
	s.msgs = jv_array_append(s.msgs, wf_chat_message("user", prompt));
	free(prompt);
	for (int i = 0; i < o->attempts; i++) {
		struct wf_diag d = {0};
		char *answer = NULL;

		wf_warn("asking %s for %s of '%s' (%d of at most %d)", o->model ? o->model : "the default model",
			i ? "a corrected draft" : "a draft", o->name, i + 1, o->attempts);
		rc = ask_model(&s, &answer, err, n);
		if (rc) {
			if (s.calls)
				print_summary(&s, "stopped");
			break;
		}
		free(draft);
		draft = strip_fence(answer);
		if (check_draft(draft, file, o->name, &d) == 0) {
			free(answer);
			rc = wf_create_save(o->target, draft, strlen(draft), o->force, err, n);
			print_summary(&s, rc ? "not written" : strcmp(o->target, "-") ? "written" : "printed");
			break;
		}
		wf_warn("draft %d of '%s' does not validate (%zu problem%s)", i + 1, o->name, d.n, d.n == 1 ? "" : "s");
		s.msgs = jv_array_append(s.msgs, wf_chat_message("assistant", answer));
		prompt = repair_prompt(&d);
		s.msgs = jv_array_append(s.msgs, wf_chat_message("user", prompt));
		free(prompt);
		free(answer);
		wf_diag_free(&d);
		if (i + 1 == o->attempts)
			rc = give_up(&s, draft, err, n);
	}
	free(draft);
	free(file);
	free(s.system);
	jv_free(s.msgs);
	jv_free(s.usage);
	return rc;
}
