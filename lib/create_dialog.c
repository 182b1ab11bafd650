/*
 * create_dialog.c: wf create NAME at a terminal.  A short dialog on
 * /dev/tty (tty.c): start from a template, from a description (the model
 * drafts it, create.c) or from nothing; then steps, one at a time, by
 * action, asking the keys each action needs (the action table), models
 * from the configured ones, a loop's cap and what happens when it is
 * reached; a preview, the validator, and the file written only when the
 * person says so.  The end of input or an interrupt writes nothing.
 *
 * Layer 2: domain data.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "create.h"
#include "template.h"

struct dialog {
	const struct wf_create_opts *o;
	struct wf_buf yaml;	/* the workflow so far */
	jv models;		/* the configured model names (an array) */
	jv ids;			/* the step ids so far (an array) */
	int end;		/* set when the dialog ended: 2 end of input, 130 interrupted */
};

static char *ask(struct dialog *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Ask a question at the terminal: the answer without surrounding blanks
 * (malloc'd), or NULL with d->end set at the end of input or a stop.
 */
static char *
ask(struct dialog *d, const char *fmt, ...)
{
	char prompt[1024], *line, *p, *e;
	int timed_out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prompt, sizeof prompt, fmt, ap);
	va_end(ap);
	line = wf_tty_ask(prompt, 0, &timed_out);
	if (!line) {
		d->end = wf_stop ? WF_EXIT_INT : WF_EXIT_USAGE;
		return NULL;
	}
	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	for (e = p + strlen(p); e > p && (e[-1] == ' ' || e[-1] == '\t'); e--)
		;
	p = wf_xstrndup(p, (size_t)(e - p));
	free(line);
	return p;
}

/* The texts of array A (borrowed) joined by ", " into BUF of N bytes. */
static void
join(jv a, char *buf, size_t n)
{
	size_t used = 0;

	*buf = '\0';
	jv_array_foreach(a, i, v) {
		used += (size_t)snprintf(buf + used, used < n ? n - used : 0, "%s%s", i ? ", " : "", jv_string_value(v));
		jv_free(v);
	}
}

/* Is TEXT one of the texts of array A (borrowed)? */
static int
listed(jv a, const char *text)
{
	int found = 0;

	jv_array_foreach(a, i, v) {
		(void)i;
		found |= !strcmp(jv_string_value(v), text);
		jv_free(v);
	}
	return found;
}

/*
 * Ask until the answer is one of CHOICES (borrowed; Enter gives DEF when
 * not NULL, "" when OPTIONAL): malloc'd, or NULL when the dialog ended.
 */
static char *
ask_choice(struct dialog *d, const char *what, jv choices, const char *def, int optional)
{
	char list[1024];

	join(choices, list, sizeof list);
	for (;;) {
		char *a = ask(d, "%s (%s)%s%s%s: ", what, list, def ? " [" : optional ? " [none]" : "",
			      def ? def : "", def ? "]" : "");

		if (!a)
			return NULL;
		if (!*a && def) {
			free(a);
			return wf_xstrdup(def);
		}
		if ((!*a && optional) || listed(choices, a) || (*a && strchr(a, ':')))
			return a;
		wf_tty_say(*a ? "  not one of those" : "  one of those, please");
		free(a);
	}
}

/* TEXT as a YAML double-quoted scalar, added to B. */
static void
add_quoted(struct wf_buf *b, const char *text)
{
	char *q = wf_yaml_quoted(text);

	wf_buf_addstr(b, q);
	free(q);
}

/* The line "    KEY: VALUE" of a step (a number or a word bare when BARE, else quoted). */
static void
add_key(struct dialog *d, const char *key, const char *value, int bare)
{
	wf_buf_printf(&d->yaml, "    %s: ", key);
	if (bare)
		wf_buf_addstr(&d->yaml, value);
	else
		add_quoted(&d->yaml, value);
	wf_buf_addch(&d->yaml, '\n');
}

/* Ask key KEY of a step and add it: 0, or -1 when the dialog ended. */
static int
ask_key(struct dialog *d, const char *key)
{
	char *v = NULL;
	int bare = 0;

	if (!strcmp(key, "model") && jv_array_length(jv_copy(d->models)) > 0)
		v = ask_choice(d, "  model", d->models, NULL, 0);
	else if (!strcmp(key, "to"))
		v = ask_choice(d, "  back to step", d->ids, NULL, 0);
	else if (!strcmp(key, "max-iterations")) {
		long n;

		bare = 1;
		while ((v = ask(d, "  max-iterations, the cap on passes [3]: "))) {
			if (!*v || !wf_parse_long(v, 1, 1000000, &n))
				break;
			wf_tty_say("  a whole number from 1, please");
			free(v);
		}
		if (v && !*v) {
			free(v);
			v = wf_xstrdup("3");
		}
	} else {
		while ((v = ask(d, "  %s: ", key)) && !*v) {
			wf_tty_say("  this action needs it");
			free(v);
		}
	}
	if (!v)
		return -1;
	add_key(d, key, v, bare);
	free(v);
	return 0;
}

/* The keys a step of action A may have that the dialog offers besides the required ones: 0, or -1 when it ended. */
static int
ask_extras(struct dialog *d, const struct wf_action *a)
{
	jv exhausted;
	char *v;

	if (a - wf_actions == WF_ACT_AI_PROMPT && jv_array_length(jv_copy(d->models)) > 0) {
		if (!(v = ask_choice(d, "  model, Enter for the run's", d->models, NULL, 1)))
			return -1;
		if (*v)
			add_key(d, "model", v, 0);
		free(v);
	}
	if (a - wf_actions != WF_ACT_LOOP)
		return 0;
	if (!(v = ask(d, "  condition to go back while true [always]: ")))
		return -1;
	if (*v)
		add_key(d, "condition", v, 0);
	free(v);
	exhausted = jv_array_append(jv_array_append(jv_array_append(jv_array(), jv_string("fail")),
						    jv_string("continue")), jv_string("pause"));
	v = ask_choice(d, "  on-exhausted, when the cap is reached", exhausted, "fail", 0);
	jv_free(exhausted);
	if (!v)
		return -1;
	add_key(d, "on-exhausted", v, 1);
	free(v);
	return 0;
}

/* Ask the id of step N (unique, a plain name): malloc'd, or NULL when the dialog ended. */
static char *
ask_id(struct dialog *d, int n)
{
	char def[32], *v;

	snprintf(def, sizeof def, "step%d", n);
	while ((v = ask(d, "  id [%s]: ", def))) {
		if (!*v) {
			free(v);
			v = wf_xstrdup(def);
		}
		if (wf_name_valid(v) && !listed(d->ids, v))
			return v;
		wf_tty_say(listed(d->ids, v) ? "  a step has that id already" :
			   "  letters, digits, '.', '_' and '-', please");
		free(v);
	}
	return NULL;
}

/* Ask step N: 1 added, 0 when the person is done, -1 when the dialog ended. */
static int
ask_step(struct dialog *d, int n)
{
	char *name, *id, keys[256], *save = NULL;
	enum wf_action_id ai;

	for (;;) {
		name = ask(d, "Step %d: action%s: ", n, n > 1 ? " (Enter to finish)" : "");
		if (!name)
			return -1;
		if (!*name && n > 1) {
			free(name);
			return 0;
		}
		if ((ai = wf_action_lookup(name)) != WF_ACT_CUSTOM)
			break;
		wf_tty_say(*name ? "  not a built-in action" : "  a workflow needs a step");
		free(name);
	}
	free(name);
	if (!(id = ask_id(d, n)))
		return -1;
	wf_buf_printf(&d->yaml, "  - id: %s\n    action: %s\n", id, wf_actions[ai].name);
	d->ids = jv_array_append(d->ids, jv_string(id));
	free(id);
	snprintf(keys, sizeof keys, "%s", wf_actions[ai].required);
	for (char *k = strtok_r(keys, " ", &save); k; k = strtok_r(NULL, " ", &save))
		if (ask_key(d, k))
			return -1;
	return ask_extras(d, &wf_actions[ai]) ? -1 : 1;
}

/* The configured model names (an array, owned by the caller; empty when the configuration does not load). */
static jv
model_names(void)
{
	struct wf_diag diag = {0};
	int code = 0;
	jv reg = wf_models_load(&diag, &code), names = jv_array(), list;

	wf_diag_free(&diag);
	if (!jv_is_valid(reg))
		return names;
	list = wf_model_list(reg);
	jv_array_foreach(list, i, m) {
		(void)i;
		if (wf_jv_str(m, "name"))
			names = jv_array_append(names, jv_string(wf_jv_str(m, "name")));
		jv_free(m);
	}
	jv_free(list);
	jv_free(reg);
	return names;
}

/* Show the workflow, check it and ask before writing it: the exit status, message in ERR. */
static int
preview_and_save(struct dialog *d, char *err, size_t n)
{
	struct wf_diag diag = {0};
	jv wf = wf_workflow_parse(d->yaml.s, d->yaml.len, d->o->target, &diag);
	int valid = jv_is_valid(wf), rc;
	char *line, *save = NULL, *text = wf_xstrdup(d->yaml.s), *yes;

	jv_free(wf);
	wf_tty_say("--- preview ---");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		wf_tty_say(line);
	wf_tty_say("---");
	free(text);
	if (!valid) {
		for (size_t i = 0; i < diag.n; i++)
			wf_tty_say(diag.msgs[i]);
		snprintf(err, n, "the workflow does not validate: nothing written");
		wf_diag_free(&diag);
		return WF_EXIT_DATA;
	}
	wf_diag_free(&diag);
	wf_tty_say("valid");
	if (!(yes = ask(d, "Save it as %s? [y/n]: ", d->o->target)))
		return d->end;
	rc = (*yes == 'y' || *yes == 'Y') ? wf_create_save(d->o->target, d->yaml.s, d->yaml.len, d->o->force, err, n) : 1;
	if (rc == 1)
		snprintf(err, n, "not saved: nothing written");
	else if (!rc && strcmp(d->o->target, "-"))
		wf_tty_say("saved");
	free(yes);
	return rc;
}

/* Start from a template, its inputs' defaults as they are: 0 with D's YAML set, 1 when there is none, -1 when the dialog ended. */
static int
from_template(struct dialog *d)
{
	jv all = wf_template_list(), names = jv_array(), none = jv_object();
	struct wf_diag diag = {0};
	char *pick, *text = NULL;
	size_t len = 0;
	int rc = -1;

	jv_array_foreach(all, i, t) {
		(void)i;
		if (wf_jv_str(t, "name") && !wf_jv_str(t, "error"))
			names = jv_array_append(names, jv_string(wf_jv_str(t, "name")));
		jv_free(t);
	}
	jv_free(all);
	if (jv_array_length(jv_copy(names)) == 0) {
		wf_tty_say("no templates are installed: starting empty");
		rc = 1;
	} else if ((pick = ask_choice(d, "Template", names, NULL, 0))) {
		if (wf_template_render(pick, d->o->name, none, &text, &len, &diag) == 0) {
			wf_buf_add(&d->yaml, text, len);
			rc = 0;
		} else {
			for (size_t i = 0; i < diag.n; i++)
				wf_tty_say(diag.msgs[i]);
			wf_tty_say("starting empty");
			rc = 1;
		}
		free(pick);
	}
	wf_diag_free(&diag);
	free(text);
	jv_free(none);
	jv_free(names);
	return rc;
}

/* Have the model draft it from a description asked here: the exit status. */
static int
from_description(struct dialog *d, char *err, size_t n)
{
	struct wf_create_opts o = *d->o;
	char *text, *model = NULL;
	int rc;

	while ((text = ask(d, "Describe what it should do: ")) && !*text)
		free(text);
	if (text && !o.model && jv_array_length(jv_copy(d->models)) > 0)
		model = ask_choice(d, "Model, Enter for the default", d->models, NULL, 1);
	if (!text || (!o.model && jv_array_length(jv_copy(d->models)) > 0 && !model)) {
		free(text);
		return d->end;
	}
	o.describe = text;
	if (model && *model)
		o.model = model;
	rc = wf_create_describe(&o, err, n);
	free(text);
	free(model);
	return rc;
}

/* The steps asked one by one after an optional description: 0, or the exit status when the dialog ended. */
static int
from_steps(struct dialog *d)
{
	char *desc = ask(d, "Description, one line (Enter for none): ");
	int r = 1;

	if (!desc)
		return d->end;
	wf_buf_printf(&d->yaml, "name: %s\n", d->o->name);
	if (*desc) {
		wf_buf_addstr(&d->yaml, "description: ");
		add_quoted(&d->yaml, desc);
		wf_buf_addch(&d->yaml, '\n');
	}
	free(desc);
	wf_buf_addstr(&d->yaml, "steps:\n");
	/* The actions, once, from the table. */
	{
		struct wf_buf b = {0};

		wf_buf_addstr(&b, "The actions:");
		for (const struct wf_action *a = wf_actions; a->name; a++)
			wf_buf_printf(&b, " %s%s", a->name, a[1].name ? "," : "");
		wf_tty_say(b.s);
		wf_buf_free(&b);
	}
	for (int i = 1; r == 1; i++)
		r = ask_step(d, i);
	return r < 0 ? d->end : 0;
}

int
wf_create_dialog(const struct wf_create_opts *o, char *err, size_t n)
{
	struct dialog d = { .o = o, .models = model_names(), .ids = jv_array() };
	jv starts = jv_array_append(jv_array_append(jv_array_append(jv_array(), jv_string("template")),
						    jv_string("describe")), jv_string("empty"));
	char *start;
	int rc;

	*err = '\0';
	wf_catch_signals(0);
	wf_tty_say("New workflow; Ctrl-D or Ctrl-C stops without writing anything.");
	start = ask_choice(&d, "Start from", starts, "empty", 0);
	if (!start)
		rc = d.end;
	else if (!strcmp(start, "describe"))
		rc = from_description(&d, err, n);
	else {
		rc = strcmp(start, "template") ? 1 : from_template(&d);
		if (rc == 1)
			rc = from_steps(&d);
		else if (rc < 0)
			rc = d.end;
		if (rc == 0)
			rc = preview_and_save(&d, err, n);
	}
	if (d.end && !*err)
		snprintf(err, n, "%s: nothing written", d.end == WF_EXIT_INT ? "interrupted" : "end of input");
	free(start);
	jv_free(starts);
	jv_free(d.models);
	jv_free(d.ids);
	wf_buf_free(&d.yaml);
	return rc;
}
