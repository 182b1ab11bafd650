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

int
main(int argc, char **argv)
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
	const char *dir = NULL, *slug = NULL, *verb;
	const char *head = NULL, *base = NULL, *title = NULL, *body = NULL, *body_file = NULL;
	const char *state = "open", *marker = NULL, *event = NULL, *comments_file = NULL;
	const char *method = "merge", *sha = NULL;
	int draft = 0, raw = 0, del = 0, debug = 0, c, rc;
	long n = 0;
	struct wf_forge f;
	char err[2048] = "";
	jv out = jv_null();

	wf_set_progname(argv[0]);
	while ((c = getopt_long(argc, argv, "+C:R:h", gopts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'R': slug = optarg; break;
		case 'D': debug = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': puts("wf-pr " WF_VERSION); return 0;
		default: usage(stderr); return WF_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	verb = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start over, with permutation */
	while ((c = getopt_long(argc, argv, "h", vopts, NULL)) != -1) {
		switch (c) {
		case 'H': head = optarg; break;
		case 'B': base = optarg; break;
		case 't': title = optarg; break;
		case 'b': body = optarg; break;
		case 'F': body_file = optarg; break;
		case 'd': draft = 1; break;
		case 's': state = optarg; break;
		case 'r': raw = 1; break;
		case 'm': marker = optarg; break;
		case 'e': event = optarg; break;
		case 'c': comments_file = optarg; break;
		case 'M': method = optarg; break;
		case 'S': sha = optarg; break;
		case 'x': del = 1; break;
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
		if (pr_number(argv[0], &n) < 0)
			return WF_EXIT_USAGE;
	} else if (!strcmp(verb, "find")) {
		if (argc != 1) {
			wf_warn("find: expected one branch name");
			return WF_EXIT_USAGE;
		}
		head = argv[0];
	} else if (!strcmp(verb, "repo") || !strcmp(verb, "list") || !strcmp(verb, "create")) {
		if (argc != 0) {
			wf_warn("%s: unexpected argument '%s'", verb, argv[0]);
			return WF_EXIT_USAGE;
		}
	} else {
		wf_warn("unknown verb '%s' (see wf-pr --help)", verb);
		return WF_EXIT_USAGE;
	}
	if (body && body_file) {
		wf_warn("%s: give --body or --body-file, not both", verb);
		return WF_EXIT_USAGE;
	}
	if (strcmp(state, "open") && strcmp(state, "closed") && strcmp(state, "all")) {
		wf_warn("list: --state must be open, closed or all");
		return WF_EXIT_USAGE;
	}
	wf_catch_signals(0);	/* INT and TERM: a hangup ends wf-pr at once */
	wf_secret_add_env();

	rc = wf_forge_open(&f, dir, slug, strcmp(verb, "repo") != 0, err, sizeof err);
	if (rc) {
		wf_warn("%s", err);
		wf_forge_close(&f);
		return rc;
	}
	f.stop = &wf_stop;
	f.debug = debug;
	if (!strcmp(verb, "repo")) {
		out = jv_object();
		out = jv_object_set(out, jv_string("owner"), jv_string(f.owner));
		out = jv_object_set(out, jv_string("repo"), jv_string(f.repo));
		out = jv_object_set(out, jv_string("api"), jv_string(f.api));
		out = jv_object_set(out, jv_string("remote"), f.remote_url ? jv_string(f.remote_url) : jv_null());
		out = jv_object_set(out, jv_string("token"), jv_bool(f.token != NULL));
	} else if (!strcmp(verb, "list")) {
		rc = wf_forge_pr_list(&f, head, state, &out, err, sizeof err);
	} else if (!strcmp(verb, "find")) {
		rc = wf_forge_pr_find(&f, head, &out, err, sizeof err);
	} else if (!strcmp(verb, "view")) {
		rc = wf_forge_pr_view(&f, n, &out, err, sizeof err);
	} else if (!strcmp(verb, "diff")) {
		char *diff = NULL;

		rc = wf_forge_pr_diff(&f, n, &diff, err, sizeof err);
		if (!rc && raw) {
			rc = fputs(diff, stdout) == EOF || wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
			free(diff);
			wf_forge_close(&f);
			return rc;
		}
		if (!rc)
			out = jv_object_set(jv_object_set(jv_object(), jv_string("number"), jv_number((double)n)),
					    jv_string("diff"), jv_string(diff));
		free(diff);
	} else if (!strcmp(verb, "create")) {
		char *text = read_body(body, body_file);

		if (!head || !base || !title) {
			wf_warn("create: --head, --base and --title are required");
			rc = WF_EXIT_USAGE;
		} else if (body_file && !text) {
			rc = WF_EXIT_NOINPUT;
		} else {
			rc = wf_forge_pr_create(&f, base, head, title, text, draft, &out, err, sizeof err);
		}
		free(text);
	} else if (!strcmp(verb, "comment") || !strcmp(verb, "review")) {
		char *text = read_body(body, body_file);
		jv comments = jv_array();

		if (body_file && !text) {
			rc = WF_EXIT_NOINPUT;
		} else if (!strcmp(verb, "comment")) {
			rc = wf_forge_comment(&f, n, text, marker, &out, err, sizeof err);
		} else if (!event) {
			wf_warn("review: --event approve|request-changes|comment is required");
			rc = WF_EXIT_USAGE;
		} else {
			if (comments_file) {
				struct wf_buf b = {0};

				if (wf_read_file(comments_file, BODY_MAX, &b) < 0) {
					wf_warn("cannot read '%s':", comments_file);
					rc = WF_EXIT_NOINPUT;
				} else {
					jv_free(comments);
					comments = wf_json_parse(b.s ? b.s : "", b.len, err, sizeof err);
					if (!jv_is_valid(comments) || jv_get_kind(comments) != JV_KIND_ARRAY) {
						wf_warn("%s: expected a JSON array of {path, line, body}%s%s", comments_file,
							jv_is_valid(comments) ? "" : ": ", jv_is_valid(comments) ? "" : err);
						rc = WF_EXIT_DATA;
					}
				}
				wf_buf_free(&b);
			}
			if (!rc) {
				rc = wf_forge_review(&f, n, event, text, comments, marker, &out, err, sizeof err);
				comments = jv_null();
			}
		}
		jv_free(comments);
		free(text);
	} else if (!strcmp(verb, "comments")) {
		rc = wf_forge_comments(&f, n, &out, err, sizeof err);
	} else if (!strcmp(verb, "reviews")) {
		rc = wf_forge_reviews(&f, n, &out, err, sizeof err);
	} else if (!strcmp(verb, "merge")) {
		rc = wf_forge_merge(&f, n, method, sha, del, &out, err, sizeof err);
	}
	wf_forge_close(&f);
	if (rc) {
		jv_free(out);
		if (*err)
			wf_warn("%s", err);
		return rc;
	}
	return emit(out);
}
