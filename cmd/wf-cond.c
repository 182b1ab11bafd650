/*
 * wf-cond: evaluate a condition over a run's context; exit 0 when true,
 * 1 when false, 65 when the condition is bad.  With --subst, print a text
 * with its ${...} substituted instead.  See wf-cond(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"

#define CTX_MAX_BYTES ((size_t)256 << 20)

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: wf-cond [-p] [--state NAME | --file-ctx FILE|-] [--var K=V]... EXPR\n"
		"       wf-cond --check EXPR\n"
		"       wf-cond --subst [--strict] [--state NAME | --file-ctx FILE|-] [--var K=V]... TEXT\n"
		"Without --state, --file-ctx or --var the context JSON is read from standard input\n"
		"(unless it is a terminal).  Exit 0 true, 1 false, 65 bad condition or context.\n");
}

/* Is B only white space? */
static int
blank(const struct wf_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if (!strchr(" \t\r\n", b->s[i]))
			return 0;
	return 1;
}

/* Read the context object from FD (named NAME in messages); empty input is {}.  The caller owns *CTX. */
static int
read_ctx(int fd, const char *name, jv *ctx)
{
	struct wf_buf b = {0};
	char err[512];

	if (wf_read_fd(fd, CTX_MAX_BYTES, &b) < 0) {
		wf_warn("cannot read %s:", name);
		wf_buf_free(&b);
		return WF_EXIT_IO;
	}
	*ctx = blank(&b) ? jv_object() : wf_json_parse(b.s, b.len, err, sizeof err);
	wf_buf_free(&b);
	if (!jv_is_valid(*ctx)) {
		wf_warn("%s: %s", name, err);
		return WF_EXIT_DATA;
	}
	if (jv_get_kind(*ctx) != JV_KIND_OBJECT) {
		wf_warn("%s: the context must be a JSON object", name);
		jv_free(*ctx);
		*ctx = jv_invalid();
		return WF_EXIT_DATA;
	}
	return 0;
}

/*
 * The context from --state NAME: the run's view as it is now (snapshot
 * plus journal), as wf status NAME --json shows it.  The caller owns *CTX.
 */
static int
state_ctx(const char *name, jv *ctx)
{
	struct wf_run *r;
	char err[512];
	int rc = wf_run_open(name, 0, &r, err, sizeof err);

	if (rc) {
		wf_warn("%s", err);
		return rc;
	}
	*ctx = wf_run_view(r, wf_run_is_live(r));
	wf_run_close(r);
	return 0;
}

/* Set vars.K = V (a string) in CTX (consumed; returned). */
static jv
set_var(jv ctx, const char *kv)
{
	const char *eq = strchr(kv, '=');
	jv vars = wf_jv_get(ctx, "vars");

	if (jv_get_kind(vars) != JV_KIND_OBJECT) {
		jv_free(vars);
		vars = jv_object();
	}
	vars = jv_object_set(vars, jv_string_sized(kv, (int)(eq - kv)), jv_string(eq + 1));
	return jv_object_set(ctx, jv_string("vars"), vars);
}

/* Show where in EXPR column COL is, under the message. */
static void
point_at(const char *expr, int col)
{
	if (col <= 0 || strlen(expr) > 200 || strpbrk(expr, "\n\r") || !expr[strspn(expr, " \t")])
		return;
	fputs("  ", stderr);
	for (const char *p = expr; *p; p++)
		fputc(*p == '\t' ? ' ' : *p, stderr);
	fprintf(stderr, "\n  %*s^\n", col - 1, "");
}

/*
 * The context: from FILE ("-": standard input), the run STATE, or standard
 * input when neither is given and there are no --var options and it is
 * not a terminal; else {}.  Then each of VARS (K=V) sets vars.K.  The
 * caller owns *CTX.
 */
static int
build_ctx(const char *file, const char *state, const char **vars, int nvars, jv *ctx)
{
	int rc = 0;

	*ctx = jv_invalid();
	if (file && strcmp(file, "-")) {
		int fd = open(file, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			wf_warn("cannot open '%s':", file);
			return errno == ENOENT ? WF_EXIT_NOINPUT : WF_EXIT_IO;
		}
		rc = read_ctx(fd, file, ctx);
		close(fd);
	} else if (file) {
		rc = read_ctx(0, "standard input", ctx);
	} else if (state) {
		rc = state_ctx(state, ctx);
	} else if (nvars || isatty(0)) {
		*ctx = jv_object();
	} else {
		rc = read_ctx(0, "standard input", ctx);
	}
	if (rc)
		return rc;
	for (int i = 0; i < nvars; i++)
		*ctx = set_var(*ctx, vars[i]);
	return 0;
}

/* Print TEXT with its ${...} substituted from CTX (consumed). */
static int
substitute(const char *text, jv ctx, int strict)
{
	struct wf_diag warn = {0};
	char err[1024];
	char *out = wf_subst(text, ctx, strict, &warn, err, sizeof err);

	jv_free(ctx);
	wf_diag_print(&warn);
	wf_diag_free(&warn);
	if (!out) {
		wf_warn("%s", err);
		return WF_EXIT_DATA;
	}
	printf("%s\n", out);
	free(out);
	return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "print", no_argument, NULL, 'p' }, { "state", required_argument, NULL, 's' },
		{ "var", required_argument, NULL, 'v' }, { "file-ctx", required_argument, NULL, 'f' },
		{ "subst", no_argument, NULL, 'S' }, { "strict", no_argument, NULL, 'x' },
		{ "check", no_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 }
	};
	const char *state = NULL, *file = NULL, *expr;
	const char **vars;
	int print = 0, subst = 0, strict = 0, check = 0, nvars = 0, c, rc, result = 0, col = 0;
	char err[1024];
	jv ctx;

	wf_set_progname(argv[0]);
	vars = wf_xcalloc((size_t)argc + 1, sizeof *vars);
	/* getopt permutes, so options may follow the expression: wf-cond 'i < 3' --var i=2. */
	while ((c = getopt_long(argc, argv, "ps:v:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': print = 1; break;
		case 's': state = optarg; break;
		case 'f': file = optarg; break;
		case 'S': subst = 1; break;
		case 'x': strict = 1; break;
		case 'c': check = 1; break;
		case 'v':
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				wf_warn("--var '%s': expected NAME=VALUE", optarg);
				free(vars);
				return WF_EXIT_USAGE;
			}
			vars[nvars++] = optarg;
			break;
		case 'h': usage(stdout); free(vars); return 0;
		case 'V': puts("wf-cond " WF_VERSION); free(vars); return 0;
		default: usage(stderr); free(vars); return WF_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || (state && file) || (check && (subst || state || file || nvars))) {
		usage(stderr);
		free(vars);
		return WF_EXIT_USAGE;
	}
	expr = argv[optind];
	if (check) {
		rc = wf_cond_check(expr, err, sizeof err, &col);
	} else {
		rc = build_ctx(file, state, vars, nvars, &ctx);
		free(vars);
		vars = NULL;
		if (rc)
			return rc;
		if (subst)
			return substitute(expr, ctx, strict);
		rc = wf_cond_eval(expr, ctx, &result, err, sizeof err, &col);
		jv_free(ctx);
	}
	free(vars);
	if (rc) {
		if (col > 0)
			wf_warn("column %d: %s", col, err);
		else
			wf_warn("%s", err);
		if (rc == WF_EXIT_DATA)
			point_at(expr, col);
		return rc;
	}
	if (print && !check) {
		puts(result ? "true" : "false");
		if (wf_fshut(stdout, "standard output"))
			return WF_EXIT_IO;
	}
	return result || check ? 0 : WF_EXIT_FAIL;
}
