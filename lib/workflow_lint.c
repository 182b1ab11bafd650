/*
 * workflow_lint.c: the suggestions of wf lint (wf-parse --suggest):
 * what a careful reviewer would say about a workflow that validates.
 * Each warning points at the line and column of the YAML it is about,
 * from the same position map the validator reports with (yaml.c), and
 * says what to do.  The rules (wf-parse(1), "Suggestions"):
 *  - loop-exhausted: a loop that does not say what happens when it runs
 *    out (on-exhausted);
 *  - deploy-idempotent: a shell step whose command deploys, pushes,
 *    tags or publishes (one table below), without 'idempotent';
 *  - ai-output-unused: an ai-prompt whose reply nothing reads;
 *  - review-verdict: a review-pr whose verdict decides nothing;
 *  - unused-variable: a key of variables or inputs nothing reads;
 *  - unreachable: a step no path from the first step reaches.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lint.h"

/* A lint in progress. */
struct lint {
	const char *file;
	jv pos;		/* the validator's position map (wf_yaml_load) */
	jv raw;		/* the steps as written, for keys the canonical form fills in */
	jv wf;		/* the canonical workflow */
	jv steps;	/* its steps */
	jv out;		/* the warnings so far */
};

/* The commands that change something outside the run; HOST: only with a host:path argument. */
static const struct deploy_word {
	const char *program, *sub;
	int host;
} deploy_words[] = {
	{ "git", "push", 0 }, { "git", "tag", 0 }, { "gh", "release", 0 },
	{ "kubectl", "apply", 0 }, { "kubectl", "rollout", 0 }, { "kubectl", "delete", 0 },
	{ "terraform", "apply", 0 }, { "terraform", "destroy", 0 }, { "helm", "upgrade", 0 },
	{ "helm", "install", 0 }, { "docker", "push", 0 }, { "podman", "push", 0 },
	{ "npm", "publish", 0 }, { "cargo", "publish", 0 }, { "twine", "upload", 0 },
	{ "gem", "push", 0 }, { "scp", NULL, 1 }, { "rsync", NULL, 1 },
	{ NULL, NULL, 0 }
};

/* Words that run the command after them. */
static const char *const prefixes[] = { "sudo", "env", "exec", "time", "command", "nohup", NULL };

/* Line and column of PATH in L's map (the value's when VALUE); 0 when it is not there. */
static int
position(struct lint *l, const char *path, int value, int *line, int *col)
{
	jv p = jv_object_get(jv_copy(l->pos), jv_string(path));
	int ok = jv_get_kind(p) == JV_KIND_ARRAY;

	if (ok) {
		*line = (int)jv_number_value(jv_array_get(jv_copy(p), value ? 2 : 0));
		*col = (int)jv_number_value(jv_array_get(jv_copy(p), value ? 3 : 1));
	}
	jv_free(p);
	return ok;
}

/* The key of step I as written for canonical KEY (an alias, say onExhausted), or NULL; malloc'd. */
static char *
raw_key(struct lint *l, int i, const char *key)
{
	jv step = jv_array_get(jv_copy(l->raw), i);
	const char *action = wf_jv_str(step, "action");
	char *found = NULL;

	if (jv_get_kind(step) == JV_KIND_OBJECT) {
		jv_object_foreach(step, k, v) {
			if (!found && !strcmp(wf_schema_canon_key(jv_string_value(k), action), key))
				found = wf_xstrdup(jv_string_value(k));
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(step);
	return found;
}

/*
 * Add a warning of RULE about step I's KEY (its value's position when
 * VALUE; NULL: the step itself), or about the top-level PATH when I < 0.
 */
static void
warn(struct lint *l, int i, const char *key, int value, const char *rule, const char *hint,
     const char *fmt, ...) __attribute__((format(printf, 7, 8)));

static void
warn(struct lint *l, int i, const char *key, int value, const char *rule, const char *hint,
     const char *fmt, ...)
{
	char msg[1024], path[512];
	int line = 1, col = 1;
	va_list ap;

	if (i < 0) {
		snprintf(path, sizeof path, "%s", key);
		position(l, path, value, &line, &col);
	} else {
		char *rk = key ? raw_key(l, i, key) : NULL;
		char *kp;

		snprintf(path, sizeof path, "/steps/%d", i);
		kp = rk ? wf_check_key_path(path, rk) : NULL;
		if (!kp || !position(l, kp, value, &line, &col))
			position(l, path, 0, &line, &col);
		free(kp);
		free(rk);
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	jv w = jv_object();
	w = jv_object_set(w, jv_string("file"), jv_string(l->file));
	w = jv_object_set(w, jv_string("line"), jv_number(line));
	w = jv_object_set(w, jv_string("col"), jv_number(col));
	w = jv_object_set(w, jv_string("rule"), jv_string(rule));
	w = jv_object_set(w, jv_string("message"), jv_string(msg));
	w = jv_object_set(w, jv_string("hint"), jv_string(hint));
	l->out = jv_array_append(l->out, w);
}

/* Does any text inside V (borrowed) contain NEEDLE? */
static int
mentions(jv v, const char *needle)
{
	int found = 0;

	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return strstr(jv_string_value(v), needle) != NULL;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, e) {
			(void)i;
			found = found || mentions(e, needle);
			jv_free(e);
		}
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, e) {
			found = found || mentions(e, needle);
			jv_free(k);
			jv_free(e);
		}
		break;
	default:
		break;
	}
	return found;
}

/* Is NAME an element of the array NAMES (borrowed)? */
static int
listed(jv names, const char *name)
{
	int found = 0;

	jv_array_foreach(names, i, e) {
		(void)i;
		found = found || !strcmp(jv_string_value(e), name);
		jv_free(e);
	}
	return found;
}

/* ---- loop-exhausted ---- */

/* Step I, S (borrowed). */
static void
rule_loop(struct lint *l, int i, jv s)
{
	char *written = raw_key(l, i, "on-exhausted");

	if (!strcmp(wf_jv_str(s, "action"), "loop") && !written)
		warn(l, i, "max-iterations", 0, "loop-exhausted",
		     "add 'on-exhausted: fail', 'continue' or 'pause' to say what happens then",
		     "loop '%s' does not say what happens when it has run %g times and its condition still holds",
		     wf_jv_str(s, "id"), wf_jv_num(s, "max-iterations", 0));
	free(written);
}

/* ---- deploy-idempotent ---- */

/* Is C a character that ends a simple command in the shell? */
static int
separator(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '\n' || c == '(' || c == ')' || c == '`' || c == '{' ||
	       c == '}';
}

/*
 * The next word of the simple command at *P (quotes dropped) into W,
 * advancing *P; 0 at the end of the simple command.
 */
static int
next_word(const char **p, char *w, size_t n)
{
	size_t len = 0;
	const char *s = *p;

	while (*s == ' ' || *s == '\t' || *s == '\\')
		s++;
	if (!*s || separator(*s)) {
		*p = s;
		return 0;
	}
	for (; *s && *s != ' ' && *s != '\t' && !separator(*s); s++)
		if (*s != '\'' && *s != '"' && len + 1 < n)
			w[len++] = *s;
	w[len] = '\0';
	*p = s;
	return 1;
}

/* The entry of deploy_words the simple command at P (up to its end) runs, or NULL. */
static const struct deploy_word *
deploys(const char *p)
{
	char w[256], sub[256];

	while (next_word(&p, w, sizeof w)) {
		int prefix = strchr(w, '=') != NULL;

		for (int k = 0; prefixes[k]; k++)
			prefix = prefix || !strcmp(w, prefixes[k]);
		if (prefix)
			continue;
		for (const struct deploy_word *d = deploy_words; d->program; d++) {
			const char *q = p;
			int hit = !d->sub && !d->host;

			if (strcmp(w, d->program))
				continue;
			/* The first word after the options: git -C DIR push, git -c k=v tag. */
			while (!hit && next_word(&q, sub, sizeof sub)) {
				if (d->host && strchr(sub, ':') && sub[0] != '-')
					hit = 1;
				else if (d->sub && (!strcmp(sub, "-C") || !strcmp(sub, "-c")))
					next_word(&q, sub, sizeof sub);
				else if (d->sub && sub[0] != '-')
					break;
			}
			if (hit || (d->sub && !strcmp(sub, d->sub)))
				return d;
		}
		return NULL;
	}
	return NULL;
}

/* Step I, S (borrowed). */
static void
rule_deploy(struct lint *l, int i, jv s)
{
	const char *cmd = wf_jv_str(s, "command");
	const struct deploy_word *d = NULL;
	char *written;

	if (strcmp(wf_jv_str(s, "action"), "shell") || !cmd)
		return;
	for (const char *p = cmd; *p && !d; p++)
		if (p == cmd || separator(p[-1]) || (p[-1] == '$' && *p == '('))
			d = deploys(p);
	if (!d || (written = raw_key(l, i, "idempotent"))) {
		if (d)
			free(written);
		return;
	}
	warn(l, i, "command", 1, "deploy-idempotent",
	     "add 'idempotent: false' so that a resume after a crash asks before running it again, or 'idempotent: true' if a second run is harmless",
	     "shell step '%s' runs '%s%s%s', which changes something outside this run", wf_jv_str(s, "id"),
	     d->program, d->sub ? " " : "", d->sub ? d->sub : "");
}

/* ---- the flow: what can run after step I ---- */

/* Add index of step ID (may be NULL) to the work list TODO of N, when not SEEN. */
static void
reach(struct lint *l, const char *id, char *seen, int *todo, int *n)
{
	int j = id ? wf_workflow_step_index(l->wf, id) : -1;

	if (j >= 0 && !seen[j]) {
		seen[j] = 1;
		todo[(*n)++] = j;
	}
}

/*
 * Does step S (borrowed) always leave by one of its own targets after it
 * ran, so that neither on-complete nor the next step follows it?
 */
static int
outcomes_covered(jv s)
{
	const char *action = wf_jv_str(s, "action");
	int yes, no;

	if (wf_jv_str(s, "if"))
		return 0;	/* skipped: falls through */
	yes = wf_jv_str(s, "on-true") || wf_jv_str(s, "on-approved");
	no = wf_jv_str(s, "on-false") || wf_jv_str(s, "on-rejected");
	if (!strcmp(action, "conditional"))
		return wf_jv_str(s, "on-true") && wf_jv_str(s, "on-false");
	if (wf_jv_str(s, "check") || wf_step_gives_verdict(s))
		return yes && no;
	return 0;
}

/* SEEN[i] set for every step reachable from the first; caller frees. */
static char *
reachable(struct lint *l)
{
	int n = jv_array_length(jv_copy(l->steps)), top = 0;
	char *seen = wf_xcalloc((size_t)n + 1, 1);
	int *todo = wf_xcalloc((size_t)n + 1, sizeof *todo);

	if (n > 0) {
		seen[0] = 1;
		todo[top++] = 0;
	}
	while (top > 0) {
		jv s = jv_array_get(jv_copy(l->steps), todo[--top]);

		for (int k = 0; wf_jump_keys[k]; k++)
			reach(l, wf_jv_str(s, wf_jump_keys[k]), seen, todo, &top);
		if (!outcomes_covered(s) || !strcmp(wf_jv_str(s, "action"), "loop"))
			reach(l, wf_jv_str(s, "on-complete") ? wf_jv_str(s, "on-complete") : wf_jv_str(s, "next"),
			      seen, todo, &top);
		if (wf_jv_str(s, "if") || !strcmp(wf_jv_str(s, "action"), "loop"))
			reach(l, wf_jv_str(s, "next"), seen, todo, &top);
		jv_free(s);
	}
	free(todo);
	return seen;
}

/* Could a step that runs right after step I (S borrowed) read its reply as ${last.output}? */
static int
last_read_after(struct lint *l, jv s)
{
	const char *ids[8] = { wf_jv_str(s, "next"), wf_jv_str(s, "on-complete") };
	int n = 2, found = 0;

	for (int k = 0; wf_jump_keys[k] && n < 8; k++)
		ids[n++] = wf_jv_str(s, wf_jump_keys[k]);
	for (int k = 0; k < n && !found; k++) {
		int j = ids[k] ? wf_workflow_step_index(l->wf, ids[k]) : -1;

		if (j >= 0) {
			jv t = jv_array_get(jv_copy(l->steps), j);
			found = mentions(t, "last.output");
			jv_free(t);
		}
	}
	return found;
}

/* ---- ai-output-unused, review-verdict ---- */

/* Step I, S, of WF, which reads READS (all borrowed). */
static void
rule_ai_output(struct lint *l, int i, jv s, jv wf, jv reads)
{
	const char *id = wf_jv_str(s, "id"), *out = wf_jv_str(s, "output");
	char *ref;
	int read;

	if (strcmp(wf_jv_str(s, "action"), "ai-prompt"))
		return;
	ref = wf_xasprintf("steps.%s.output", id);
	read = mentions(wf, ref) || (out && listed(reads, out)) || last_read_after(l, s);
	free(ref);
	if (read)
		return;
	if (out)
		warn(l, i, "output", 1, "ai-output-unused",
		     "use it as ${NAME} in a later step, or remove the step",
		     "the reply of AI step '%s' goes to variable '%s', which nothing reads", id, out);
	else
		warn(l, i, NULL, 0, "ai-output-unused",
		     "give the step 'output: NAME' and use ${NAME} in a later step, or ${steps.ID.output}",
		     "nothing reads the reply of AI step '%s'", id);
}

/* Step I, S, of WF (both borrowed). */
static void
rule_review(struct lint *l, int i, jv s, jv wf)
{
	const char *id = wf_jv_str(s, "id");
	char *ref;

	if (strcmp(wf_jv_str(s, "action"), "review-pr") || wf_jv_str(s, "check") || wf_jv_str(s, "on-approved") ||
	    wf_jv_str(s, "on-rejected"))
		return;
	ref = wf_xasprintf("steps.%s.", id);
	if (!mentions(wf, ref))
		warn(l, i, NULL, 0, "review-verdict",
		     "add 'check: approved' with 'on-approved' and 'on-rejected' to act on the verdict",
		     "review step '%s' has no check: its verdict decides nothing", id);
	free(ref);
}

/* ---- unused-variable ---- */

/* Warn of each key of WF's SECTION ("variables", "inputs") not in READS (both borrowed). */
static void
rule_unused(struct lint *l, jv wf, const char *section, jv reads)
{
	jv map = wf_jv_get(wf, section);

	if (jv_get_kind(map) == JV_KIND_OBJECT) {
		jv_object_foreach(map, k, v) {
			const char *name = jv_string_value(k);

			if (!listed(reads, name)) {
				char *base = wf_xasprintf("/%s", section);
				char *kp = wf_check_key_path(base, name);

				warn(l, -1, kp, 0, "unused-variable",
				     "remove it, or use it as ${NAME} in a text or $NAME in a command; ignore this if a program a command runs reads it from the environment",
				     "%s '%s' is never read", !strcmp(section, "inputs") ? "input" : "variable", name);
				free(kp);
				free(base);
			}
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(map);
}

/* Do STEPS (borrowed) have one of a custom action, which gets every variable? */
static int
has_custom(jv steps)
{
	int found = 0;

	jv_array_foreach(steps, i, s) {
		(void)i;
		found = found || wf_action_lookup(wf_jv_str(s, "action")) == WF_ACT_CUSTOM;
		jv_free(s);
	}
	return found;
}

/* Order A and B, each {line, col, index}, by line, then column, then index. */
static int
by_place(const void *a, const void *b)
{
	const double *x = a, *y = b;

	return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : x[1] != y[1] ? (x[1] < y[1] ? -1 : 1) : (x[2] < y[2] ? -1 : 1);
}

/* OUT (consumed) sorted into file order, stable; the caller owns the result. */
static jv
sorted(jv out)
{
	int n = jv_array_length(jv_copy(out));
	double *keys = wf_xcalloc((size_t)n + 1, 3 * sizeof *keys);
	jv res = jv_array();

	for (int i = 0; i < n; i++) {
		jv w = jv_array_get(jv_copy(out), i);

		keys[3 * i] = wf_jv_num(w, "line", 0);
		keys[3 * i + 1] = wf_jv_num(w, "col", 0);
		keys[3 * i + 2] = i;
		jv_free(w);
	}
	qsort(keys, (size_t)n, 3 * sizeof *keys, by_place);
	for (int i = 0; i < n; i++)
		res = jv_array_append(res, jv_array_get(jv_copy(out), (int)keys[3 * i + 2]));
	free(keys);
	jv_free(out);
	return res;
}

/* The warnings about the workflow in BUF (*NSTEPS its steps), or invalid with its errors in DIAG; the caller owns the result. */
jv
wf_workflow_lint(const char *buf, size_t len, const char *file, struct wf_diag *diag, int *nsteps)
{
	jv wf = wf_workflow_parse(buf, len, file, diag), doc, reads;
	struct lint l = { file, jv_null(), jv_null(), jv_null(), jv_null(), jv_array() };
	char *seen;
	int n;

	if (!jv_is_valid(wf)) {
		jv_free(l.out);
		return wf;
	}
	{
		struct wf_diag ignore = {0};	/* it loaded once already */

		wf_yaml_load(buf, len, file, &doc, &l.pos, &ignore);
		wf_diag_free(&ignore);
	}
	l.raw = wf_jv_get(doc, "steps");
	l.wf = wf;
	l.steps = wf_jv_get(wf, "steps");
	reads = wf_workflow_var_reads(wf);
	n = jv_array_length(jv_copy(l.steps));
	*nsteps = n;
	seen = reachable(&l);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(l.steps), i);

		rule_loop(&l, i, s);
		rule_deploy(&l, i, s);
		if (seen[i]) {
			rule_ai_output(&l, i, s, wf, reads);
			rule_review(&l, i, s, wf);
		} else {
			warn(&l, i, NULL, 0, "unreachable",
			     "jump to it (on-complete, on-true, on-false, on-error, to), or remove it",
			     "step '%s' can never run: no path from the first step reaches it", wf_jv_str(s, "id"));
		}
		jv_free(s);
	}
	free(seen);
	if (!has_custom(l.steps)) {
		rule_unused(&l, wf, "variables", reads);
		rule_unused(&l, wf, "inputs", reads);
	}
	jv_free(reads);
	jv_free(doc);
	jv_free(l.pos);
	jv_free(l.raw);
	jv_free(l.steps);
	jv_free(wf);
	return sorted(l.out);
}

/* Lint the workflow ARG names; 0 with *WARNINGS (the caller owns it), or an exit status after printing why. */
int
wf_lint_open(const char *arg, jv *warnings, int *nsteps)
{
	struct wf_diag diag = {0};
	struct wf_buf b = {0};
	char err[1024];
	int code = WF_EXIT_DATA;
	char *path = !strcmp(arg, "-") ? wf_xstrdup("-") : wf_workflow_find(arg, &code, err, sizeof err);
	int rc;

	*warnings = jv_invalid();
	if (!path) {
		wf_warn("%s", err);
		return code;
	}
	rc = strcmp(path, "-") ? wf_read_file(path, WF_YAML_MAX_BYTES, &b) : wf_read_fd(0, WF_YAML_MAX_BYTES, &b);
	if (rc < 0) {
		code = errno == EFBIG ? WF_EXIT_DATA : errno == ENOENT || errno == EACCES || errno == EISDIR ?
			WF_EXIT_NOINPUT : WF_EXIT_IO;
		wf_warn("%s: cannot read: %s", path, errno == EFBIG ? "over the 1 MiB limit" : strerror(errno));
	} else {
		*warnings = wf_workflow_lint(b.s, b.len, path, &diag, nsteps);
		wf_diag_print(&diag);
		code = jv_is_valid(*warnings) ? 0 : WF_EXIT_DATA;
	}
	wf_diag_free(&diag);
	wf_buf_free(&b);
	free(path);
	return code;
}
