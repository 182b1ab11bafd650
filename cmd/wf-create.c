/*
 * wf-create: build workflows.  Write one from a template, from a
 * description a model drafts (validated, repaired, at most N rounds), or
 * in a dialog at a terminal; list the templates; convert a Codi pipeline;
 * export a workflow as one bundle and import one.  See wf-create(1).
 *
 * Each mode is picked by its option as the first argument (none: create)
 * and has one function below that reads its own options and calls the
 * library.  wf's verbs create, templates, migrate, export and import are
 * these modes (wf(1)).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "create.h"
#include "share.h"
#include "template.h"
#include "migrate.h"

/* TYPED is "wf VERB" when wf ran this program for a verb, else NULL. */
typedef int mode_fn(int argc, char **argv, const char *typed);

static mode_fn run_create, run_list, run_migrate, run_export, run_import;

static const struct mode {
	const char *flag, *operands;
	mode_fn *run;
} modes[] = {
	{ NULL, "NAME [--template T [--var K=V]... | --describe TEXT [--model M] [--attempts N]] [-o FILE|-] [--force]", run_create },
	{ "--list", "[--json]", run_list },
	{ "--migrate", "PIPELINE|--list|--all [--from FILE] [--provider P] [-o FILE|DIR] [--force]", run_migrate },
	{ "--export", "NAME [-o FILE|-] [--force]", run_export },
	{ "--import", "FILE|GIT-URL [--as NAME] [--force]", run_import },
};

#define NMODES (sizeof modes / sizeof *modes)

static void
usage(FILE *fp)
{
	for (size_t i = 0; i < NMODES; i++)
		fprintf(fp, "%s wf-create%s%s %s\n", i ? "      " : "usage:", modes[i].flag ? " " : "",
			modes[i].flag ? modes[i].flag : "", modes[i].operands);
}

/* The usage of mode M alone, in the words wf ran this program as when TYPED is set. */
static void
mode_usage(FILE *fp, const struct mode *m, const char *typed)
{
	if (typed)
		fprintf(fp, "usage: %s %s\n", typed, m->operands);
	else
		fprintf(fp, "usage: wf-create%s%s %s\n", m->flag ? " " : "", m->flag ? m->flag : "",
			m->operands);
}

/* ---- create: NAME from a template, a description or a dialog ---- */

/* Read --attempts ARG into *N: 0, or 2 after a message. */
static int
attempts_arg(const char *arg, int *n)
{
	long v;

	if (wf_parse_long(arg, 1, WF_CREATE_ATTEMPTS_MAX, &v)) {
		wf_warn("--attempts takes a whole number from 1 to %d, got '%s'", WF_CREATE_ATTEMPTS_MAX, arg);
		return WF_EXIT_USAGE;
	}
	*n = (int)v;
	return 0;
}

/*
 * Write template TEMPLATE, filled from VARS (borrowed), as CO->name to
 * CO->target (given with -o when OUT): the exit status.
 */
static int
from_template(const struct wf_create_opts *co, const char *template, jv vars, int out)
{
	struct wf_diag diag = {0};
	char err[2048], *text = NULL;
	size_t len = 0;
	int rc = wf_template_render(template, co->name, vars, &text, &len, &diag);

	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (rc == 0 && (rc = wf_create_save(co->target, text, len, co->force, err, sizeof err)))
		wf_warn("%s", err);
	else if (rc == 0 && strcmp(co->target, "-"))
		fprintf(stderr, "wrote %s; run it with 'wf run %s'\n", co->target, out ? co->target : co->name);
	free(text);
	return rc;
}

/*
 * Build workflow CO->name as the options say: from TEMPLATE filled from
 * VARS (borrowed), by a model, or in the dialog at a terminal (OUT: the
 * target came with -o).  The exit status.
 */
static int
create(const struct wf_create_opts *co, const char *template, jv vars, int out)
{
	char err[2048] = "";
	int rc;

	if (template)
		return from_template(co, template, vars, out);
	if (co->describe)
		rc = wf_create_describe(co, err, sizeof err);
	else if (wf_tty_usable() && isatty(1))
		rc = wf_create_dialog(co, err, sizeof err);
	else {
		wf_warn("no terminal for the dialog: say what to start from with --template T "
			"(see 'wf templates') or --describe TEXT");
		return WF_EXIT_USAGE;
	}
	if (rc && *err)
		wf_warn("%s", err);
	return rc;
}

static int
run_create(int argc, char **argv, const char *typed)
{
	enum { O_TEMPLATE = 256, O_VAR, O_FORCE, O_DESCRIBE, O_MODEL, O_ATTEMPTS };
	static const struct option opts[] = {
		{ "template", required_argument, NULL, O_TEMPLATE }, { "var", required_argument, NULL, O_VAR },
		{ "force", no_argument, NULL, O_FORCE }, { "describe", required_argument, NULL, O_DESCRIBE },
		{ "model", required_argument, NULL, O_MODEL }, { "attempts", required_argument, NULL, O_ATTEMPTS },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct wf_create_opts co = { .attempts = WF_CREATE_ATTEMPTS };
	const char *template = NULL, *out = NULL;
	char err[512], *target = NULL;
	jv vars = jv_object();
	int c, rc = 0;

	while (rc == 0 && (c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case O_TEMPLATE: template = optarg; break;
		case O_VAR: rc = wf_var_arg(&vars, optarg); break;
		case O_FORCE: co.force = 1; break;
		case O_DESCRIBE: co.describe = optarg; break;
		case O_MODEL: co.model = optarg; break;
		case O_ATTEMPTS: rc = attempts_arg(optarg, &co.attempts); break;
		case 'o': out = optarg; break;
		case 'h':
			mode_usage(stdout, &modes[0], typed);
			jv_free(vars);
			return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
		default: rc = WF_EXIT_USAGE;
		}
	}
	if (rc == 0 && optind != argc - 1) {
		wf_warn(optind < argc ? "one workflow NAME, please" : "which workflow? give its NAME");
		rc = WF_EXIT_USAGE;
	}
	if (rc == 0 && template && co.describe) {
		wf_warn("--template and --describe: say one of them");
		rc = WF_EXIT_USAGE;
	}
	if (rc) {
		if (rc == WF_EXIT_USAGE)
			mode_usage(stderr, &modes[0], typed);
		jv_free(vars);
		return rc;
	}
	co.name = argv[optind];
	target = out ? wf_xstrdup(out) : wf_create_target(co.name, err, sizeof err);
	if (!target)
		wf_warn("%s", err);
	else if (!wf_name_valid(co.name))
		wf_warn("invalid workflow name '%s': use letters, digits, '.', '_' and '-'", co.name);
	else {
		co.target = target;
		rc = create(&co, template, vars, out != NULL);
	}
	if (!target || !co.target)
		rc = WF_EXIT_USAGE;
	free(target);
	jv_free(vars);
	return rc;
}

/* ---- --list: the templates with their descriptions ---- */

static int
run_list(int argc, char **argv, const char *typed)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int c, json = 0;
	jv list;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'j') {
			json = 1;
		} else {
			mode_usage(c == 'h' ? stdout : stderr, &modes[1], typed);
			if (c != 'h')
				return WF_EXIT_USAGE;
			return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
		}
	}
	if (optind < argc) {
		wf_warn("unexpected argument '%s'", argv[optind]);
		mode_usage(stderr, &modes[1], typed);
		return WF_EXIT_USAGE;
	}
	list = wf_template_list();
	if (json) {
		wf_json_print(stdout, list);
	} else {
		wf_template_print(stdout, list);
		jv_free(list);
	}
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
}

/* ---- --migrate: Codi pipelines into workflows ---- */

/* Convert pipeline NAME of CODI into TARGET (malloc'd by the caller): 0 or an exit status after saying why. */
static int
migrate_one(const struct wf_codi *codi, const char *name, const char *provider, const char *target, int force)
{
	struct wf_diag diag = {0};
	char err[1024];
	int code;
	char *text = wf_codi_convert(codi, name, provider, strcmp(target, "-") ? target : "-", &diag, &code);

	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (!text)
		return code;
	code = wf_create_save(target, text, strlen(text), force, err, sizeof err);
	if (code)
		wf_warn("%s", err);
	else if (strcmp(target, "-"))
		fprintf(stderr, "%s: pipeline '%s' -> %s\n", wf_progname, name, target);
	free(text);
	return code;
}

static int
run_migrate(int argc, char **argv, const char *typed)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' }, { "all", no_argument, NULL, 'a' },
		{ "from", required_argument, NULL, 'f' }, { "provider", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'F' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char *from = NULL, *provider = NULL, *out = NULL;
	int list = 0, all = 0, force = 0, c, rc = 0;
	struct wf_codi codi;
	struct wf_diag diag = {0};

	while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = 1; break;
		case 'a': all = 1; break;
		case 'f': from = optarg; break;
		case 'p': provider = optarg; break;
		case 'o': out = optarg; break;
		case 'F': force = 1; break;
		case 'h': mode_usage(stdout, &modes[2], typed); return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
		default: mode_usage(stderr, &modes[2], typed); return WF_EXIT_USAGE;
		}
	}
	if (list + all + (argc - optind == 1) != 1 || argc - optind > 1 || (all && out && !strcmp(out, "-"))) {
		mode_usage(stderr, &modes[2], typed);
		return WF_EXIT_USAGE;
	}
	rc = wf_codi_open(from, &codi, &diag);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (rc) {
		wf_codi_free(&codi);
		return rc;
	}
	if (list) {
		jv l = wf_codi_pipelines(&codi);

		jv_array_foreach(l, i, e) {
			(void)i;
			printf("%-24s %3d step%s  %s\n", wf_jv_str(e, "name"), (int)wf_jv_num(e, "steps", 0),
			       wf_jv_num(e, "steps", 0) == 1 ? " " : "s", wf_jv_str(e, "description"));
			jv_free(e);
		}
		jv_free(l);
		rc = wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	} else if (all) {
		jv l = wf_codi_pipelines(&codi);

		jv_array_foreach(l, i, e) {
			char *target = wf_xasprintf("%s/%s.yaml", out ? out : "workflows", wf_jv_str(e, "name"));
			int r = migrate_one(&codi, wf_jv_str(e, "name"), provider, target, force);

			(void)i;
			if (r && (!rc || r == WF_EXIT_DATA))
				rc = r;
			free(target);
			jv_free(e);
		}
		jv_free(l);
	} else {
		char *target = out ? wf_xstrdup(out) : wf_xasprintf("workflows/%s.yaml", argv[optind]);

		rc = migrate_one(&codi, argv[optind], provider, target, force);
		free(target);
	}
	wf_codi_free(&codi);
	return rc;
}

/* ---- --export: one bundle of a workflow and what it calls ---- */

/* Options of export and import: -o FILE, --force, --as NAME, --help; 0, or the exit status. */
static int
share_options(int argc, char **argv, const struct mode *m, const char *typed, const char **out, const char **as,
	      int *force)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' }, { "as", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, out ? "o:h" : "h", longopts, NULL)) != -1) {
		if (c == 'o') {
			*out = optarg;
		} else if (c == 'f') {
			*force = 1;
		} else if (c == 'a' && as) {
			*as = optarg;
		} else if (c == 'h') {
			mode_usage(stdout, m, typed);
			return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : -1;
		} else {
			if (c == 'a')
				wf_warn("--as is an option of import only");
			mode_usage(stderr, m, typed);
			return WF_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		mode_usage(stderr, m, typed);
		return WF_EXIT_USAGE;
	}
	return 0;
}

static int
run_export(int argc, char **argv, const char *typed)
{
	const char *out = NULL;
	struct wf_diag diag = {0};
	char err[1024], *file;
	int force = 0, rc = share_options(argc, argv, &modes[3], typed, &out, NULL, &force);
	jv bundle;

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = wf_share_export(argv[optind], NULL, &bundle, &diag);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (rc)
		return rc;
	file = out ? wf_xstrdup(out) : wf_xasprintf("%s.wfb.json", wf_jv_str(bundle, "workflow"));
	rc = wf_share_write(bundle, file, force, err, sizeof err);
	if (rc)
		wf_warn("%s", err);
	else if (!strcmp(file, "-"))
		rc = wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	if (!rc)
		wf_share_report(bundle, file);
	jv_free(bundle);
	free(file);
	return rc;
}

/* ---- --import: a bundle or a git repository of workflows into ./workflows ---- */

static int
run_import(int argc, char **argv, const char *typed)
{
	struct wf_share_import_opts o = {0};
	struct wf_diag diag = {0};
	int rc = share_options(argc, argv, &modes[4], typed, NULL, &o.as, &o.force);
	jv written;

	if (rc)
		return rc < 0 ? 0 : rc;
	if (o.as && !wf_name_valid(o.as)) {
		wf_warn("--as '%s': a workflow's name is letters, digits, '.', '_' and '-' (at most 128)", o.as);
		return WF_EXIT_USAGE;
	}
	o.source = argv[optind];
	rc = wf_share_import(&o, &written, &diag);
	wf_diag_print(&diag);
	wf_diag_free(&diag);
	if (!rc) {
		jv_array_foreach(written, i, w) {
			(void)i;
			printf("%s\n", wf_jv_str(w, "path"));
			jv_free(w);
		}
		rc = wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
		int n = jv_array_length(jv_copy(written));

		wf_warn("imported %d file%s; its workflows are not trusted: each step that runs a command asks for consent until you read it and 'wf trust FILE'",
			n, n == 1 ? "" : "s");
	}
	jv_free(written);
	return rc;
}

int
main(int argc, char **argv)
{
	/* Run by wf as "wf create": usage speaks of that, messages still of wf-create. */
	const char *typed = !strncmp(argv[0], "wf ", 3) ? argv[0] : NULL;
	const struct mode *m = &modes[0];

	if (typed)
		argv[0] = (char *)"wf-create";	/* getopt's messages name argv[0] */
	wf_set_progname(argv[0]);
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		puts("wf-create " WF_VERSION);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--help") && !typed) {
		usage(stdout);
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	for (size_t i = 1; argc > 1 && i < NMODES; i++)
		if (!strcmp(argv[1], modes[i].flag)) {
			m = &modes[i];
			argc--;
			argv++;
			argv[0] = (char *)"wf-create";
			break;
		}
	return m->run(argc, argv, typed);
}
