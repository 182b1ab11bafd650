/*
 * wf-pr: a small forge client for pull requests (the GitHub REST API, and
 * the servers that speak it).  Each verb prints one JSON document; the
 * wf-step actions create-pr, review-pr, self-review and merge-pr use it,
 * and so can shell scripts.  See wf-pr(1).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"

#define BODY_MAX ((size_t)1 << 20)

static void
usage(FILE *fp)
{
	fputs("usage: wf-pr [-C DIR] [-R OWNER/REPO] [--debug-http] VERB [ARGS]\n"
	      "  repo                          the repository and API the verbs use\n"
	      "  list [--head BRANCH] [--state open|closed|all]\n"
	      "  find BRANCH                   the open pull request for BRANCH (66 if none)\n"
	      "  view N\n"
	      "  diff N [--raw]\n"
	      "  create --head BRANCH --base BRANCH --title TITLE [--body TEXT | --body-file FILE] [--draft]\n"
	      "  comment N (--body TEXT | --body-file FILE) [--marker TEXT]\n"
	      "  comments N\n"
	      "  review N --event approve|request-changes|comment (--body TEXT | --body-file FILE)\n"
	      "         [--comments-file FILE] [--marker TEXT]\n"
	      "  reviews N\n"
	      "  merge N [--method merge|squash|rebase] [--sha SHA] [--delete-branch]\n"
	      "Token from GH_TOKEN or GITHUB_TOKEN; API from GITHUB_API_URL.  See wf-pr(1).\n", fp);
}

/* The text of --body TEXT or --body-file FILE ("-": standard input); malloc'd, or NULL after a message. */
static char *
read_body(const char *text, const char *file)
{
	struct wf_buf b = {0};
	int rc;

	if (text)
		return wf_xstrdup(text);
	if (!file)
		return NULL;
	rc = !strcmp(file, "-") ? wf_read_fd(0, BODY_MAX, &b) : wf_read_file(file, BODY_MAX, &b);
	if (rc < 0) {
		wf_warn("cannot read '%s':", file);
		wf_buf_free(&b);
		return NULL;
	}
	wf_buf_addstr(&b, "");
	return wf_buf_detach(&b);
}

static int
pr_number(const char *s, long *n)
{
	if (s && *s == '#')
		s++;
	if (!s || wf_parse_long(s, 1, 1000000000L, n) < 0) {
		wf_warn("invalid pull request number '%.40s'", s ? s : "");
		return -1;
	}
	return 0;
}

/* Print V (consumed) and finish: the exit status. */
static int
emit(jv v)
{
	if (wf_json_print(stdout, v) < 0 || wf_fshut(stdout, "standard output"))
		return WF_EXIT_IO;
	return 0;
}

/* The command line: the global options, the verb and its options and operand. */
struct args {
	const char *dir, *slug, *verb;
	const char *head, *base, *title, *body, *body_file;
	const char *state, *marker, *event, *comments_file, *method, *sha;
	int draft, raw, del, debug;
	long n;
};

/* Parse the command line into A: -1 to go on, else the exit status (help, version, a usage error). */
static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option gopts[] = {
		{ "help", no_argument, NULL, 'h' }, { "version", no_argument, NULL, 'V' },
		{ "debug-http", no_argument, NULL, 'D' }, { NULL, 0, NULL, 0 }
	};
	static const struct option vopts[] = {
		{ "head", required_argument, NULL, 'H' }, { "base", required_argument, NULL, 'B' },
		{ "title", required_argument, NULL, 't' }, { "body", required_argument, NULL, 'b' },
		{ "body-file", required_argument, NULL, 'F' }, { "draft", no_argument, NULL, 'd' },
		{ "state", required_argument, NULL, 's' }, { "raw", no_argument, NULL, 'r' },
		{ "marker", required_argument, NULL, 'm' }, { "event", required_argument, NULL, 'e' },
		{ "comments-file", required_argument, NULL, 'c' }, { "method", required_argument, NULL, 'M' },
		{ "sha", required_argument, NULL, 'S' }, { "delete-branch", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	const char *verb;
	int c;

	memset(a, 0, sizeof *a);
	a->state = "open";
	a->method = "merge";
	while ((c = getopt_long(argc, argv, "+C:R:h", gopts, NULL)) != -1) {
		switch (c) {
		case 'C': a->dir = optarg; break;
		case 'R': a->slug = optarg; break;
		case 'D': a->debug = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts("wf-pr " WF_VERSION); return 0;
		default: usage(stderr); return WF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	verb = a->verb = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start over, with permutation */
	while ((c = getopt_long(argc, argv, "h", vopts, NULL)) != -1) {
		switch (c) {
		case 'H': a->head = optarg; break;
		case 'B': a->base = optarg; break;
		case 't': a->title = optarg; break;
		case 'b': a->body = optarg; break;
		case 'F': a->body_file = optarg; break;
		case 'd': a->draft = 1; break;
		case 's': a->state = optarg; break;
		case 'r': a->raw = 1; break;
		case 'm': a->marker = optarg; break;
		case 'e': a->event = optarg; break;
		case 'c': a->comments_file = optarg; break;
		case 'M': a->method = optarg; break;
		case 'S': a->sha = optarg; break;
		case 'x': a->del = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return WF_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	/* Verbs that take a PR number take exactly one operand. */
	if (!strcmp(verb, "view") || !strcmp(verb, "diff") || !strcmp(verb, "comment") ||
	    !strcmp(verb, "comments") || !strcmp(verb, "review") || !strcmp(verb, "reviews") ||
	    !strcmp(verb, "merge")) {
		if (argc != 1) {
			wf_warn("%s: expected one pull request number", verb);
			return WF_EXIT_USAGE;
		}
		if (pr_number(argv[0], &a->n) < 0)
			return WF_EXIT_USAGE;
	} else if (!strcmp(verb, "find")) {
		if (argc != 1) {
			wf_warn("find: expected one branch name");
			return WF_EXIT_USAGE;
		}
		a->head = argv[0];
	} else if (!strcmp(verb, "repo") || !strcmp(verb, "list") || !strcmp(verb, "create")) {
		if (argc != 0) {
			wf_warn("%s: unexpected argument '%s'", verb, argv[0]);
			return WF_EXIT_USAGE;
		}
	} else {
		wf_warn("unknown verb '%s' (see wf-pr --help)", verb);
		return WF_EXIT_USAGE;
	}
	if (a->body && a->body_file) {
		wf_warn("%s: give --body or --body-file, not both", verb);
		return WF_EXIT_USAGE;
	}
	if (strcmp(a->state, "open") && strcmp(a->state, "closed") && strcmp(a->state, "all")) {
		wf_warn("list: --state must be open, closed or all");
		return WF_EXIT_USAGE;
	}
	return -1;
}

/* The inline comments of --comments-file FILE into *COMMENTS (owned by the caller): 0, or an exit status after a message. */
static int
read_comments(const char *file, jv *comments, char *err, size_t errlen)
{
	struct wf_buf b = {0};
	int rc = 0;

	if (wf_read_file(file, BODY_MAX, &b) < 0) {
		wf_warn("cannot read '%s':", file);
		wf_buf_free(&b);
		return WF_EXIT_NOINPUT;
	}
	jv_free(*comments);
	*comments = wf_json_parse(b.s ? b.s : "", b.len, err, errlen);
	if (!jv_is_valid(*comments) || jv_get_kind(*comments) != JV_KIND_ARRAY) {
		wf_warn("%s: expected a JSON array of {path, line, body}%s%s", file,
			jv_is_valid(*comments) ? "" : ": ", jv_is_valid(*comments) ? "" : err);
		rc = WF_EXIT_DATA;
	}
	wf_buf_free(&b);
	return rc;
}

/* The comment and review verbs: 0 with *OUT (owned by the caller), or an exit status. */
static int
post(struct wf_forge *f, const struct args *a, jv *out, char *err, size_t errlen)
{
	char *text = read_body(a->body, a->body_file);
	jv comments = jv_array();
	int rc = 0;

	if (a->body_file && !text) {
		rc = WF_EXIT_NOINPUT;
	} else if (!strcmp(a->verb, "comment")) {
		rc = wf_forge_comment(f, a->n, text, a->marker, out, err, errlen);
	} else if (!a->event) {
		wf_warn("review: --event approve|request-changes|comment is required");
		rc = WF_EXIT_USAGE;
	} else {
		if (a->comments_file)
			rc = read_comments(a->comments_file, &comments, err, errlen);
		if (!rc) {
			rc = wf_forge_review(f, a->n, a->event, text, comments, a->marker, out, err, errlen);
			comments = jv_null();
		}
	}
	jv_free(comments);
	free(text);
	return rc;
}

/*
 * Run the verb: 0 with *OUT (owned by the caller) to print, or an exit
 * status.  diff --raw prints the diff itself and sets *PRINTED.
 */
static int
run_verb(struct wf_forge *f, const struct args *a, jv *out, int *printed, char *err, size_t errlen)
{
	const char *verb = a->verb;
	int rc = 0;

	if (!strcmp(verb, "repo")) {
		*out = jv_object();
		*out = jv_object_set(*out, jv_string("owner"), jv_string(f->owner));
		*out = jv_object_set(*out, jv_string("repo"), jv_string(f->repo));
		*out = jv_object_set(*out, jv_string("api"), jv_string(f->api));
		*out = jv_object_set(*out, jv_string("remote"), f->remote_url ? jv_string(f->remote_url) : jv_null());
		*out = jv_object_set(*out, jv_string("token"), jv_bool(f->token != NULL));
	} else if (!strcmp(verb, "list")) {
		rc = wf_forge_pr_list(f, a->head, a->state, out, err, errlen);
	} else if (!strcmp(verb, "find")) {
		rc = wf_forge_pr_find(f, a->head, out, err, errlen);
	} else if (!strcmp(verb, "view")) {
		rc = wf_forge_pr_view(f, a->n, out, err, errlen);
	} else if (!strcmp(verb, "diff")) {
		char *diff = NULL;

		rc = wf_forge_pr_diff(f, a->n, &diff, err, errlen);
		if (!rc && a->raw) {
			rc = fputs(diff, stdout) == EOF || wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
			*printed = 1;
		} else if (!rc) {
			*out = jv_object_set(jv_object_set(jv_object(), jv_string("number"), jv_number((double)a->n)),
					     jv_string("diff"), jv_string(diff));
		}
		free(diff);
	} else if (!strcmp(verb, "create")) {
		char *text = read_body(a->body, a->body_file);

		if (!a->head || !a->base || !a->title) {
			wf_warn("create: --head, --base and --title are required");
			rc = WF_EXIT_USAGE;
		} else if (a->body_file && !text) {
			rc = WF_EXIT_NOINPUT;
		} else {
			rc = wf_forge_pr_create(f, a->base, a->head, a->title, text, a->draft, out, err, errlen);
		}
		free(text);
	} else if (!strcmp(verb, "comment") || !strcmp(verb, "review")) {
		rc = post(f, a, out, err, errlen);
	} else if (!strcmp(verb, "comments")) {
		rc = wf_forge_comments(f, a->n, out, err, errlen);
	} else if (!strcmp(verb, "reviews")) {
		rc = wf_forge_reviews(f, a->n, out, err, errlen);
	} else if (!strcmp(verb, "merge")) {
		rc = wf_forge_merge(f, a->n, a->method, a->sha, a->del, out, err, errlen);
	}
	return rc;
}

int
main(int argc, char **argv)
{
	struct args a;
	struct wf_forge f;
	char err[2048] = "";
	jv out = jv_null();
	int rc, printed = 0;

	wf_set_progname(argv[0]);
	if ((rc = parse_args(argc, argv, &a)) >= 0)
		return rc;
	wf_catch_signals(0);	/* INT and TERM: a hangup ends wf-pr at once */
	wf_secret_add_env();
	rc = wf_forge_open(&f, a.dir, a.slug, strcmp(a.verb, "repo") != 0, err, sizeof err);
	if (rc) {
		wf_warn("%s", err);
		wf_forge_close(&f);
		return rc;
	}
	f.stop = &wf_stop;
	f.debug = a.debug;
	rc = run_verb(&f, &a, &out, &printed, err, sizeof err);
	wf_forge_close(&f);
	if (printed) {
		jv_free(out);
		return rc;
	}
	if (rc) {
		jv_free(out);
		if (*err)
			wf_warn("%s", err);
		return rc;
	}
	return emit(out);
}
