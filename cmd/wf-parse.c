/*
 * wf-parse: read a workflow (a file, a name on the search path, or stdin)
 * and print its canonical JSON; or check it, list every workflow, or show
 * an outline, or suggest what a reviewer would (wf lint).  See wf-parse(1).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"
#include "lint.h"

/*
 * The ways to run wf-parse: the option that picks each (none: print the
 * canonical JSON) and the operands and options it takes.  wf's verbs
 * list, show and validate are three of them (wf(1)).
 */
enum { M_PARSE, M_CHECK, M_LIST, M_OUTLINE, M_SCHEMA, M_SUGGEST };

static const struct mode {
	const char *flag, *operands;
} modes[] = {
	[M_PARSE] = { NULL, "[--pretty] FILE|NAME|-" },
	[M_CHECK] = { "--check", "[--suggest] FILE|NAME..." },
	[M_LIST] = { "--list", "[--json]" },
	[M_OUTLINE] = { "--outline", "[--json] FILE|NAME" },
	[M_SCHEMA] = { "--schema", NULL },
	[M_SUGGEST] = { "--suggest", "[--check] [--json] FILE|NAME|-..." },
};

#define NMODES (sizeof modes / sizeof *modes)

/* What each option of a mode means. */
static const struct option_help {
	const char *name, *help;
} options[] = {
	{ "--check", "also say which files are valid" },
	{ "--json", "print JSON instead of text" },
	{ "--pretty", "indent the JSON" },
	{ "--suggest", "also warn of what a reviewer would (wf lint)" },
};

static void
usage(FILE *fp)
{
	for (size_t i = 0; i < NMODES; i++)
		fprintf(fp, "%s wf-parse%s%s%s%s\n", i ? "      " : "usage:", modes[i].flag ? " " : "",
			modes[i].flag ? modes[i].flag : "", modes[i].operands ? " " : "",
			modes[i].operands ? modes[i].operands : "");
}

/*
 * The usage of mode M alone, and its options, on standard output; in the
 * words wf ran this program as ("wf list", see wf(1)) when TYPED is set.
 */
static void
mode_usage(const struct mode *m, const char *typed)
{
	const char *ops = m->operands ? m->operands : "";
	int heading = 0;

	if (typed)
		printf("usage: %s%s%s\n", typed, *ops ? " " : "", ops);
	else
		printf("usage: wf-parse%s%s%s%s\n", m->flag ? " " : "", m->flag ? m->flag : "",
		       *ops ? " " : "", ops);
	for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
		if (!strstr(ops, options[i].name))
			continue;
		if (!heading++)
			printf("options:\n");
		printf("  %-9s %s\n", options[i].name, options[i].help);
	}
}

/* The outline's lines for the inputs of WF (borrowed): "NAME=DEFAULT" or "NAME (required)", and what each is. */
static void
outline_inputs(jv wf)
{
	jv inputs = wf_jv_get(wf, "inputs");

	if (jv_get_kind(inputs) == JV_KIND_OBJECT && jv_object_length(jv_copy(inputs)) > 0) {
		printf("  inputs:\n");
		jv_object_foreach(inputs, k, in) {
			jv def = wf_jv_get(in, "default");
			const char *what = wf_jv_str(in, "description");
			char *text = jv_get_kind(def) == JV_KIND_NULL ? NULL : wf_jv_text(def);

			printf("    %s%s%s%s%s\n", jv_string_value(k), text ? "=" : " (required)", text ? text : "",
			       what && *what ? "  " : "", what ? what : "");
			free(text);
			jv_free(def);
			jv_free(k);
			jv_free(in);
		}
	}
	jv_free(inputs);
}

/*
 * Print a readable outline of the canonical workflow WF (borrowed): each
 * step with its action, the model it talks to (the last switch-model above
 * it in file order, else the workflow's model), what it does, and where it
 * jumps.
 */
static void
outline(jv wf)
{
	jv steps = wf_jv_get(wf, "steps");
	int n = jv_array_length(jv_copy(steps));
	const char *desc = wf_jv_str(wf, "description");
	const char *model = wf_jv_str(wf, "model");
	const char *current = model ? model : "default";

	printf("%s", wf_jv_str(wf, "name"));
	if (desc && *desc)
		printf(": %s", desc);
	printf("\n  file: %s\n  steps: %d, starting model: %s\n", wf_jv_str(wf, "source"), n,
	       current);
	outline_inputs(wf);
	for (int i = 0; i < n; i++) {
		jv s = jv_array_get(jv_copy(steps), i);
		const char *action = wf_jv_str(s, "action");
		const char *detail = NULL;
		static const char *const keys[] = { "command", "prompt", "message", "condition", NULL };

		for (int k = 0; keys[k] && !detail; k++)
			detail = wf_jv_str(s, keys[k]);
		if (!detail)
			detail = wf_jv_str(s, "description");
		printf("%3d. %-8s %-13s", i + 1, wf_jv_str(s, "id"), action);
		if (!strcmp(action, "switch-model")) {
			current = wf_jv_str(s, "model");
			printf(" [model -> %s]", current);
		} else if (wf_action_uses_model(action)) {
			printf(" [model %s]", wf_jv_str(s, "model") ? wf_jv_str(s, "model") : current);
		}
		if (!strcmp(action, "load-variable") || !strcmp(action, "set-variable"))
			printf(" %s %s %s", wf_jv_str(s, "name"), action[0] == 'l' ? "<-" : "=",
			       wf_jv_str(s, action[0] == 'l' ? "from" : "value"));
		if (detail) {
			char *nl = strchr(detail, '\n');
			int len = nl ? (int)(nl - detail) : (int)strlen(detail);

			printf(" %.*s%s", len > 60 ? 60 : len, detail, len > 60 || nl ? "..." : "");
		}
		if (wf_jv_str(s, "check"))
			printf("  check: %s", wf_jv_str(s, "check"));
		if (!strcmp(action, "loop"))
			printf("  (at most %g times)", wf_jv_num(s, "max-iterations", 0));
		for (int k = 0; wf_jump_keys[k]; k++)
			if (wf_jv_str(s, wf_jump_keys[k]))
				printf("  %s -> %s", wf_jump_keys[k], wf_jv_str(s, wf_jump_keys[k]));
		putchar('\n');
		jv_free(s);
	}
	jv_free(steps);
}

/*
 * Lint the N workflows ARGS: with CHECK, "ARG: ok (N steps)" for each
 * valid one first, as --check says it; each warning as "FILE:LINE:COL: warning: TEXT (HINT)",
 * or with JSON as one object per line.  Returns 0 when there is nothing
 * to say, 1 when there are warnings, else the worst exit status of a
 * workflow that could not be read or is invalid (65 first).
 */
static int
lint(int n, char **args, int check, int json)
{
	int rc = 0, warned = 0;

	for (int i = 0; i < n; i++) {
		jv w;
		int steps = 0, r = wf_lint_open(args[i], &w, &steps);

		if (r) {
			if (!rc || r == WF_EXIT_DATA)
				rc = r;
			continue;
		}
		if (check)
			printf("%s: ok (%d step%s)\n", args[i], steps, steps == 1 ? "" : "s");
		jv_array_foreach(w, k, e) {
			(void)k;
			warned = 1;
			if (json)
				wf_json_print(stdout, e);
			else {
				printf("%s:%d:%d: warning: %s (%s)\n", wf_jv_str(e, "file"), (int)wf_jv_num(e, "line", 0),
				       (int)wf_jv_num(e, "col", 0), wf_jv_str(e, "message"), wf_jv_str(e, "hint"));
				jv_free(e);
			}
		}
		jv_free(w);
	}
	if (wf_fshut(stdout, "standard output"))
		return WF_EXIT_IO;
	return rc ? rc : warned ? WF_EXIT_FAIL : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "check", no_argument, NULL, 'c' }, { "list", no_argument, NULL, 'l' },
		{ "outline", no_argument, NULL, 'o' }, { "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' }, { "help", no_argument, NULL, 'h' },
		{ "schema", no_argument, NULL, 's' }, { "version", no_argument, NULL, 'V' },
		{ "suggest", no_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 }
	};
	/* Run by wf as "wf list": usage speaks of that, messages still of wf-parse. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;
	int check = 0, list = 0, show = 0, json = 0, pretty = 0, schema = 0, help = 0, suggest = 0, c, rc = 0;

	if (typed)
		argv[0] = (char *)"wf-parse";	/* getopt's messages name argv[0] */
	wf_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "cljophs", opts, NULL)) != -1) {
		switch (c) {
		case 'c': check = 1; break;
		case 'l': list = 1; break;
		case 'o': show = 1; break;
		case 'j': json = 1; break;
		case 'p': pretty = 1; break;
		case 's': schema = 1; break;
		case 'S': suggest = 1; break;
		case 'h': help = 1; break;
		case 'V': puts("wf-parse " WF_VERSION); return 0;
		default: usage(stderr); return WF_EXIT_USAGE;
		}
	}
	if (help) {
		/* With the option of a mode ("--list --help"), that mode's usage alone. */
		int m = suggest ? M_SUGGEST : check ? M_CHECK : list ? M_LIST : show ? M_OUTLINE : schema ? M_SCHEMA :
			typed ? M_PARSE : -1;

		if (m >= 0)
			mode_usage(&modes[m], typed);
		else
			usage(stdout);
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	if (schema) {
		if (optind < argc) {
			usage(stderr);
			return WF_EXIT_USAGE;
		}
		wf_json_print(stdout, wf_workflow_schema());
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	if (list) {
		jv l = wf_workflow_list();

		if (json) {
			wf_json_print(stdout, l);
		} else {
			jv_array_foreach(l, i, e) {
				const char *err = wf_jv_str(e, "error");

				(void)i;
				if (wf_jv_bool(e, "shadowed", 0)) {
					jv_free(e);
					continue;
				}
				if (err)
					printf("%-24s BROKEN  %s\n", wf_jv_str(e, "name"), err);
				else
					printf("%-24s %3d step%s  %s%s(%s)\n", wf_jv_str(e, "name"),
					       (int)wf_jv_num(e, "steps", 0),
					       wf_jv_num(e, "steps", 0) == 1 ? " " : "s",
					       wf_jv_str(e, "description"),
					       *wf_jv_str(e, "description") ? "  " : "", wf_jv_str(e, "path"));
				jv_free(e);
			}
			jv_free(l);
		}
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	if (optind >= argc) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	if (suggest)
		return lint(argc - optind, argv + optind, check, json);
	if (check) {
		for (int i = optind; i < argc; i++) {
			int n, r = wf_workflow_validate(argv[i], &n);

			if (r == 0)
				printf("%s: ok (%d step%s)\n", argv[i], n, n == 1 ? "" : "s");
			else if (!rc || r == WF_EXIT_DATA)
				rc = r;
		}
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : rc;
	}
	if (argc - optind != 1) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	jv wf;
	rc = wf_workflow_open(argv[optind], &wf);
	if (rc)
		return rc;
	if (show && !json) {
		outline(wf);
		jv_free(wf);
	} else if (pretty) {
		jv s = jv_dump_string(wf, JV_PRINT_INDENT_FLAGS(2));
		puts(jv_string_value(s));
		jv_free(s);
	} else {
		wf_json_print(stdout, wf);
	}
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
}
