/*
 * workflow_vars.c: which variables a workflow uses, so that a --var
 * naming none of them can be told apart from a typo.  A workflow uses
 * NAME when (wf-run(1) says the same):
 *  - NAME is a key of its variables;
 *  - a step sets it: the name of load-variable and set-variable, a
 *    step's output, or its variable;
 *  - any text of the workflow refers to it as ${NAME} or ${vars.NAME}
 *    (Codi's {{NAME}} is ${NAME} once the workflow is read);
 *  - a step's command names it as $NAME, ${NAME...}, $WF_VAR_NAME or
 *    ${WF_VAR_NAME...}, since the shell reads variables from the
 *    environment;
 *  - a condition (if, check, condition) names it as NAME or vars.NAME
 *    outside a quoted text, other than a word of the condition language;
 *    a "jq:" condition as .vars.NAME.
 *
 * Layer 2: domain data.
 */
#include <string.h>

#include "wf_priv.h"

/* Is C a character of a shell variable's name? */
static int
shell_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Is C a character of a name in a condition (letters, digits, '_' and '-')? */
static int
word_char(char c)
{
	return shell_char(c) || c == '-';
}

/* NAMES (consumed) with the LEN bytes at S added when they make a valid variable name. */
static jv
add_name(jv names, const char *s, size_t len)
{
	char buf[129];

	if (len == 0 || len >= sizeof buf || (s[0] >= '0' && s[0] <= '9'))
		return names;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (!wf_name_valid(buf))
		return names;
	return jv_object_set(names, jv_string(buf), jv_true());
}

/* NAMES (consumed) with what ${NAME} and ${vars.NAME} in TEXT refer to. */
static jv
add_references(jv names, const char *text)
{
	for (const char *p = strstr(text, "${"); p; p = strstr(p + 2, "${")) {
		const char *name = p + 2, *close = strchr(name, '}');

		/* $${ is a literal ${. */
		if ((p > text && p[-1] == '$') || !close)
			continue;
		if (!strncmp(name, "vars.", 5))
			name += 5;
		if (!memchr(name, '.', (size_t)(close - name)))
			names = add_name(names, name, (size_t)(close - name));
	}
	return names;
}

/* NAMES (consumed) with the variables shell COMMAND reads: $NAME, ${NAME...}, and those with WF_VAR_. */
static jv
add_shell_names(jv names, const char *command)
{
	for (const char *p = strchr(command, '$'); p; p = strchr(p + 1, '$')) {
		const char *s = p + 1 + (p[1] == '{'), *e = s;

		while (shell_char(*e))
			e++;
		if (e - s > 7 && !strncmp(s, "WF_VAR_", 7))
			s += 7;
		names = add_name(names, s, (size_t)(e - s));
	}
	return names;
}

/* Is the LEN bytes at S a word of the condition language (wf-cond(1)), not a name? */
static int
cond_word(const char *s, size_t len)
{
	for (int i = 0; wf_cond_words[i]; i++)
		if (strlen(wf_cond_words[i]) == len && !strncmp(s, wf_cond_words[i], len))
			return 1;
	return 0;
}

/*
 * NAMES (consumed) with the variables condition COND names: its words
 * outside quotes that are neither a word of the language nor part of a
 * dotted name other than vars.NAME.  A "jq:" condition reads vars.NAME only.
 */
static jv
add_condition_names(jv names, const char *cond)
{
	int jq = !strncmp(cond, "jq:", 3);
	char quote = 0;

	for (const char *p = cond; *p; p++) {
		const char *e = p;

		if (quote) {
			quote = *p == quote ? 0 : quote;
			continue;
		}
		if (*p == '\'' || *p == '"') {
			quote = *p;
			continue;
		}
		if (!word_char(*p) || (p > cond && word_char(p[-1])))
			continue;
		while (word_char(*e))
			e++;
		if (e - p == 4 && !strncmp(p, "vars", 4) && e[0] == '.') {
			const char *n = e + 1, *ne = n;

			while (word_char(*ne))
				ne++;
			names = add_name(names, n, (size_t)(ne - n));
			p = ne - 1;
			continue;
		}
		if (!jq && (p == cond || p[-1] != '.') && *e != '.' && !cond_word(p, (size_t)(e - p)))
			names = add_name(names, p, (size_t)(e - p));
		p = e - 1;
	}
	return names;
}

/* NAMES (consumed) with the ${...} references of every text inside V (consumed). */
static jv
add_all_references(jv names, jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		names = add_references(names, jv_string_value(v));
		break;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, e) {
			(void)i;
			names = add_all_references(names, e);
		}
		break;
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, e) {
			jv_free(k);
			names = add_all_references(names, e);
		}
		break;
	default:
		break;
	}
	jv_free(v);
	return names;
}

/*
 * NAMES (consumed) with what step S (borrowed) reads in its command and
 * conditions, and unless READS_ONLY what it sets ('variable', which a
 * check's predicate reads, counts as both).
 */
static jv
add_step_names(jv names, jv s, int reads_only)
{
	static const char *const setters[] = { "output", "variable", NULL };
	static const char *const conditions[] = { "if", "check", "condition", NULL };
	const char *action = wf_jv_str(s, "action"), *v;

	for (int i = reads_only; setters[i]; i++)
		if ((v = wf_jv_str(s, setters[i])))
			names = add_name(names, v, strlen(v));
	if (!reads_only && action && (!strcmp(action, "load-variable") || !strcmp(action, "set-variable")) &&
	    (v = wf_jv_str(s, "name")))
		names = add_name(names, v, strlen(v));
	if ((v = wf_jv_str(s, "command")))
		names = add_shell_names(names, v);
	for (int i = 0; conditions[i]; i++)
		if ((v = wf_jv_str(s, conditions[i])))
			names = add_condition_names(names, v);
	return names;
}

/* The variables canonical workflow WF (borrowed) uses, or only reads when READS_ONLY, sorted; the caller owns the array. */
static jv
var_names(jv wf, int reads_only)
{
	jv names = jv_object(), vars = wf_jv_get(wf, "variables"), steps = wf_jv_get(wf, "steps");

	if (jv_get_kind(vars) == JV_KIND_OBJECT && !reads_only)
		names = jv_object_merge(names, jv_copy(vars));
	jv_free(vars);
	vars = wf_jv_get(wf, "inputs");
	if (jv_get_kind(vars) == JV_KIND_OBJECT)
		names = jv_object_merge(names, jv_copy(vars));
	jv_free(vars);
	if (jv_get_kind(steps) == JV_KIND_ARRAY) {
		jv_array_foreach(steps, i, s) {
			(void)i;
			names = add_step_names(names, s, reads_only);
			jv_free(s);
		}
	}
	jv_free(steps);
	names = add_all_references(names, jv_copy(wf));
	return jv_keys(names);
}

/* The names of the variables canonical workflow WF (borrowed) uses, sorted; the caller owns the array. */
jv
wf_workflow_var_names(jv wf)
{
	return var_names(wf, 0);
}

/*
 * The variables WF (borrowed) reads: as wf_workflow_var_names without
 * the keys of variables and what steps set (wf lint's unused variables).
 * The caller owns the array.
 */
jv
wf_workflow_var_reads(jv wf)
{
	return var_names(wf, 1);
}
