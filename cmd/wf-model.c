/*
 * wf-model: the model registry and the only HTTP client to model
 * providers.  list, resolve NAME, chat (a request JSON on stdin, a result
 * JSON on stdout, text streamed to the terminal as it arrives) and
 * ping NAME.  See wf-model(1).
 */
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/resource.h>
#include <unistd.h>

#include "wf.h"
#include "rerun.h"
#include "model_conn.h"

static void
usage(FILE *fp)
{
	fputs("usage: wf-model list [--json] [--providers]\n"
	      "       wf-model resolve [--original NAME] [--check] NAME\n"
	      "       wf-model chat [-m NAME] [--original NAME] [-s SYSTEM] [--stream-fd N | -q]\n"
	      "                     [--text] [-v] [PROMPT...] [< REQUEST.json]\n"
	      "       wf-model ping [--json] NAME\n"
	      "       wf-model --serve               one chat request per line in, one result per line out\n"
	      "       wf-model rerun RUN STEP-ID (--model M | --models A,B,...) [--pass N] [--call N] [--diff] [--json]\n"
	      "Model registry and provider client; see wf-model(1).\n", fp);
}

/*
 * Load the registry or exit with its code after printing every problem.
 * The caller owns the registry.
 */
static jv
load(void)
{
	struct wf_diag d = {0};
	int code;
	jv reg = wf_models_load(&d, &code);

	if (!jv_is_valid(reg)) {
		for (size_t i = 0; i < d.n; i++) {
			char *m = wf_redact(d.msgs[i], strlen(d.msgs[i]));

			wf_warn("%s", m);
			free(m);
		}
		wf_diag_free(&d);
		exit(code);
	}
	wf_diag_free(&d);
	return reg;
}

static int
finish(int rc)
{
	if (wf_fshut(stdout, "standard output"))
		return WF_EXIT_IO;
	if (rc == WF_EXIT_INT && wf_stop == SIGTERM)
		return WF_EXIT_TERM;
	return rc;
}

static int
cmd_list(int argc, char **argv)
{
	int json = 0, providers = 0, c;
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
					    { "providers", no_argument, NULL, 'p' },
					    { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 } };
	jv reg, items;

	while ((c = getopt_long(argc, argv, "jph", lo, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else if (c == 'p')
			providers = 1;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : WF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		wf_warn("list: unexpected argument '%s'", argv[optind]);
		return WF_EXIT_USAGE;
	}
	reg = load();
	items = providers ? wf_model_providers(reg) : wf_model_list(reg);
	if (json) {
		jv_array_foreach(items, i, it)
			wf_json_print(stdout, it);
	} else {
		wf_model_print_table(stdout, reg, items, providers);
	}
	jv_free(items);
	jv_free(reg);
	return finish(0);
}

static int
cmd_resolve(int argc, char **argv)
{
	static const struct option lo[] = { { "original", required_argument, NULL, 'o' },
					    { "check", no_argument, NULL, 'c' },
					    { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 } };
	const char *original = NULL;
	char err[512];
	int c, check = 0;
	jv reg, m;

	while ((c = getopt_long(argc, argv, "o:ch", lo, NULL)) != -1) {
		if (c == 'o')
			original = optarg;
		else if (c == 'c')
			check = 1;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : WF_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		wf_warn("resolve: expected one model name");
		return WF_EXIT_USAGE;
	}
	reg = load();
	m = wf_model_resolve(reg, argv[optind], original, err, sizeof err);
	jv_free(reg);
	if (!jv_is_valid(m)) {
		jv_free(m);
		wf_warn("resolve '%s': %s", argv[optind], err);
		return WF_EXIT_CONFIG;
	}
	if (check) {
		/* Can it be called at all: an allowed endpoint and a key? */
		jv prov = wf_jv_get(m, "_provider");
		char *url = wf_xasprintf("%s/", wf_jv_str(m, "base_url") ? wf_jv_str(m, "base_url") : "");
		int loop, code = 0;
		char *key = NULL;

		if (wf_http_url_check(url, &loop, err, sizeof err) < 0)
			code = WF_EXIT_CONFIG;
		else if ((key = wf_api_key(prov, wf_jv_str(m, "provider"), &code, err, sizeof err)))
			explicit_bzero(key, strlen(key));
		free(key);
		free(url);
		jv_free(prov);
		if (code) {
			wf_warn("model '%s' (%s): %s", argv[optind], wf_jv_str(m, "provider"), err);
			jv_free(m);
			return code;
		}
	}
	wf_json_print(stdout, wf_model_public(m));
	return finish(0);
}

/* Is FD open? */
static int
fd_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) >= 0;
}

/* The cost line of wf-model chat --text on stderr; RES borrowed. */
static void
summary(jv res)
{
	jv u = wf_jv_get(res, "usage"), cost = wf_jv_get(res, "cost"), m = wf_jv_get(res, "model");
	jv usd = wf_jv_get(cost, "usd");
	char c[256], cw[64] = "";

	if (wf_jv_num(u, "cache_write_tokens", 0) > 0)
		snprintf(cw, sizeof cw, ", %.0f cache writes", wf_jv_num(u, "cache_write_tokens", 0));
	if (jv_get_kind(usd) == JV_KIND_NUMBER)
		snprintf(c, sizeof c, "$%.6f%s", jv_number_value(usd), wf_jv_bool(cost, "estimated", 0) ? " (estimated)" : "");
	else
		snprintf(c, sizeof c, "unknown%s%s%s", wf_jv_str(cost, "unknown") ? " (" : "",
			 wf_jv_str(cost, "unknown") ? wf_jv_str(cost, "unknown") : "", wf_jv_str(cost, "unknown") ? ")" : "");
	wf_warn("'%s': %.0f input tokens (%.0f cached%s), %.0f output tokens%s, cost %s, %.0f ms, %.0f attempt%s",
		wf_jv_str(m, "name"), wf_jv_num(u, "input_tokens", 0), wf_jv_num(u, "cached_tokens", 0), cw,
		wf_jv_num(u, "output_tokens", 0), wf_jv_bool(u, "estimated", 0) ? " (estimated)" : "", c,
		wf_jv_num(res, "latency_ms", 0), wf_jv_num(res, "attempts", 0),
		wf_jv_num(res, "attempts", 0) == 1 ? "" : "s");
	jv_free(usd);
	jv_free(u);
	jv_free(cost);
	jv_free(m);
}

static int
cmd_chat(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "model", required_argument, NULL, 'm' }, { "original", required_argument, NULL, 'o' },
		{ "system", required_argument, NULL, 's' }, { "stream-fd", required_argument, NULL, 'F' },
		{ "quiet", no_argument, NULL, 'q' }, { "text", no_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' }, { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 }
	};
	const char *model = NULL, *original = NULL, *system = NULL, *env;
	int c, quiet = 0, text = 0, verbose = 0, fd = -2, rc;
	long v;
	char err[512];
	struct wf_chat_opts o = { -1, &wf_stop };
	jv req, reg, res;

	while ((c = getopt_long(argc, argv, "m:o:s:F:qtvh", lo, NULL)) != -1) {
		switch (c) {
		case 'm': model = optarg; break;
		case 'o': original = optarg; break;
		case 's': system = optarg; break;
		case 'q': quiet = 1; break;
		case 't': text = 1; break;
		case 'v': verbose = 1; break;
		case 'F':
			if (wf_parse_long(optarg, 1, 1 << 20, &v) < 0) {
				wf_warn("chat: --stream-fd wants a descriptor number, not '%s'", optarg);
				return WF_EXIT_USAGE;
			}
			fd = (int)v;
			break;
		default:
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : WF_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		struct wf_buf p = {0};

		for (int i = optind; i < argc; i++) {
			if (i > optind)
				wf_buf_addch(&p, ' ');
			wf_buf_addstr(&p, argv[i]);
		}
		req = jv_object_set(jv_object(), jv_string("prompt"), jv_string(p.s));
		wf_buf_free(&p);
	} else {
		if (isatty(0))
			wf_warn("chat: reading the request JSON from the terminal (end with Ctrl-D)");
		req = wf_json_read_fd(0, (size_t)64 << 20, err, sizeof err);
		if (!jv_is_valid(req)) {
			wf_warn("chat: standard input: not a chat request: %s", err);
			wf_json_print(stdout, wf_chat_error(err, WF_EXIT_DATA));
			return finish(WF_EXIT_DATA);
		}
		if (jv_get_kind(req) != JV_KIND_OBJECT) {
			jv_free(req);
			wf_warn("chat: standard input: a chat request must be a JSON object");
			wf_json_print(stdout, wf_chat_error("a chat request must be a JSON object", WF_EXIT_DATA));
			return finish(WF_EXIT_DATA);
		}
	}
	if (model)
		req = jv_object_set(req, jv_string("model"), jv_string(model));
	if (original)
		req = jv_object_set(req, jv_string("original"), jv_string(original));
	if (system)
		req = jv_object_set(req, jv_string("system"), jv_string(system));
	/* Where streamed text goes: --stream-fd, $WF_STREAM_FD, the terminal on stderr (stdout with --text). */
	env = getenv("WF_STREAM_FD");
	if (fd == -2 && env && *env) {
		if (wf_parse_long(env, -1, 1 << 20, &v) < 0) {
			wf_warn("chat: WF_STREAM_FD wants a descriptor number, not '%s'", env);
			jv_free(req);
			return WF_EXIT_USAGE;
		}
		fd = (int)v;
	}
	if (fd == -2)
		fd = text ? 1 : isatty(2) ? 2 : -1;
	if (quiet)
		fd = -1;
	if (fd >= 0 && !fd_open(fd)) {
		wf_warn("chat: stream descriptor %d is not open", fd);
		jv_free(req);
		return WF_EXIT_USAGE;
	}
	o.stream_fd = fd;
	reg = load();
	rc = wf_model_chat(reg, req, &o, &res);
	jv_free(reg);
	if (rc) {
		char *m = wf_xstrdup(wf_jv_str(res, "error") ? wf_jv_str(res, "error") : "failed");

		wf_warn("%s", m);
		free(m);
		if (!text)
			wf_json_print(stdout, res);
		else
			jv_free(res);
		return finish(rc);
	}
	if (verbose || text)
		summary(res);
	if (text) {
		const char *t = wf_jv_str(res, "text");
		size_t n = strlen(t);

		/* Already on stdout if it streamed there (a terminal got its newline then). */
		if (!(fd == 1 && wf_jv_bool(res, "streamed", 0)))
			fputs(t, stdout);
		if (n && t[n - 1] != '\n' && !(fd == 1 && wf_jv_bool(res, "streamed", 0) && isatty(1)))
			fputc('\n', stdout);
		jv_free(res);
	} else
		wf_json_print(stdout, res);
	return finish(0);
}

static int
cmd_ping(int argc, char **argv)
{
	static const struct option lo[] = { { "json", no_argument, NULL, 'j' },
					    { "help", no_argument, NULL, 'h' }, { 0, 0, 0, 0 } };
	struct wf_chat_opts o = { -1, &wf_stop };
	int c, json = 0, rc;
	jv reg, req, res, opts;

	while ((c = getopt_long(argc, argv, "jh", lo, NULL)) != -1) {
		if (c == 'j')
			json = 1;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : WF_EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		wf_warn("ping: expected one model name");
		return WF_EXIT_USAGE;
	}
	reg = load();
	opts = jv_object_set(jv_object(), jv_string("max_tokens"), jv_number(1));
	req = jv_object();
	req = jv_object_set(req, jv_string("model"), jv_string(argv[optind]));
	req = jv_object_set(req, jv_string("prompt"), jv_string("ping"));
	req = jv_object_set(req, jv_string("options"), opts);
	req = jv_object_set(req, jv_string("stream"), jv_false());
	rc = wf_model_chat(reg, req, &o, &res);
	jv_free(reg);
	if (rc) {
		const char *e = wf_jv_str(res, "error");

		/* The message names the call "chat 'NAME' ...": this was a ping. */
		wf_warn("%s%s", e && !strncmp(e, "chat ", 5) ? "ping " : "", e ? (!strncmp(e, "chat ", 5) ? e + 5 : e) : "failed");
		if (json)
			wf_json_print(stdout, res);
		else
			jv_free(res);
		return finish(rc);
	}
	if (json)
		wf_json_print(stdout, res);
	else {
		jv m = wf_jv_get(res, "model");
		const char *rid = wf_jv_str(res, "request_id");

		printf("ok: '%s' (%s:%s at %s) answered in %.0f ms%s%s%s\n", wf_jv_str(m, "name"),
		       wf_jv_str(m, "provider"), wf_jv_str(m, "model"), wf_jv_str(m, "base_url"),
		       wf_jv_num(res, "latency_ms", 0), rid ? " (request " : "", rid ? rid : "", rid ? ")" : "");
		jv_free(m);
		jv_free(res);
	}
	return finish(0);
}

/*
 * The models of --model and --models (each may repeat; --models splits at
 * commas) into *NAMES (malloc'd, NULL-terminated, pointing into ARGV or
 * COPIES).  0, or -1 after a message.
 */
static int
add_models(char ***names, int *n, char *arg, int split)
{
	char *save = NULL, *tok;

	for (tok = split ? strtok_r(arg, ",", &save) : arg; tok; tok = split ? strtok_r(NULL, ",", &save) : NULL) {
		if (!*tok)
			continue;
		*names = wf_xrealloc(*names, (size_t)(*n + 2) * sizeof **names);
		(*names)[(*n)++] = tok;
		(*names)[*n] = NULL;
	}
	return 0;
}

/* wf-model rerun RUN STEP (--model M | --models A,B,C) [--pass N] [--call N] [--diff] [--json]: wf-model(1), "Rerun". */
static int
cmd_rerun(int argc, char **argv)
{
	static const struct option lo[] = { { "model", required_argument, NULL, 'm' },
					    { "models", required_argument, NULL, 'M' },
					    { "pass", required_argument, NULL, 'p' }, { "call", required_argument, NULL, 'c' },
					    { "diff", no_argument, NULL, 'd' },
					    { "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
					    { 0, 0, 0, 0 } };
	struct wf_chat_opts o = { -1, &wf_stop };
	char **names = NULL, err[1024];
	int c, n = 0, diff = 0, json = 0, rc = 0;
	long pass = 0, call = 0;
	jv reg, cs, news;

	while ((c = getopt_long(argc, argv, "m:M:p:c:djh", lo, NULL)) != -1) {
		if (c == 'm' || c == 'M')
			add_models(&names, &n, optarg, c == 'M');
		else if ((c == 'p' || c == 'c') && wf_parse_long(optarg, 1, 1000000, c == 'p' ? &pass : &call) < 0) {
			wf_warn("rerun: --%s wants a %s number from 1, not '%s'", c == 'p' ? "pass" : "call", c == 'p' ? "pass" : "call",
				optarg);
			free(names);
			return WF_EXIT_USAGE;
		} else if (c == 'd')
			diff = 1;
		else if (c == 'j')
			json = 1;
		else if (c != 'p' && c != 'c') {
			usage(c == 'h' ? stdout : stderr);
			free(names);
			return c == 'h' ? 0 : WF_EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || !n) {
		wf_warn(n ? "rerun: expected a run and a step id" : "rerun: which model? give --model M or --models A,B,C");
		free(names);
		return WF_EXIT_USAGE;
	}
	reg = load();
	/* Every model is checked before the first call costs anything. */
	for (int i = 0; i < n; i++) {
		jv m = wf_model_resolve(reg, names[i], NULL, err, sizeof err);

		if (!jv_is_valid(m)) {
			wf_warn("rerun: model '%s': %s", names[i], err);
			jv_free(m), jv_free(reg), free(names);
			return WF_EXIT_CONFIG;
		}
		jv_free(m);
	}
	cs = wf_rerun_case(argv[optind], argv[optind + 1], pass, call, &rc, err, sizeof err);
	if (!jv_is_valid(cs)) {
		wf_warn("rerun: %s", err);
		jv_free(reg), free(names);
		return rc;
	}
	news = jv_array();
	for (int i = 0; i < n && !(rc && rc == WF_EXIT_INT); i++) {
		int code;
		jv a = wf_rerun_ask(reg, cs, names[i], &o, &code);

		if (code) {
			wf_warn("rerun: %s", wf_jv_str(a, "error") ? wf_jv_str(a, "error") : "the call failed");
			rc = rc ? rc : code;
		}
		news = jv_array_append(news, a);
	}
	jv_free(reg);
	free(names);
	cs = wf_rerun_doc(cs, news);
	if (json)
		wf_json_print(stdout, cs);
	else {
		wf_rerun_print(stdout, cs, diff, wf_tty_columns(1));
		jv_free(cs);
	}
	return finish(rc);
}

int
main(int argc, char **argv)
{
	struct rlimit nocore = { 0, 0 };
	const char *verb;

	wf_set_progname(argv[0]);
	if (argc < 2) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	verb = argv[1];
	if (!strcmp(verb, "--help") || !strcmp(verb, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(verb, "--version")) {
		puts("wf-model " WF_VERSION);
		return 0;
	}
	/* A crash must not write a key into a core file. */
	setrlimit(RLIMIT_CORE, &nocore);
	wf_catch_signals(WF_CATCH_HUP);
	wf_secret_add_env();
	argc--, argv++;
	if (!strcmp(verb, "--serve") && argc == 1)
		return wf_model_serve();
	if (!strcmp(verb, "list"))
		return cmd_list(argc, argv);
	if (!strcmp(verb, "resolve"))
		return cmd_resolve(argc, argv);
	if (!strcmp(verb, "chat"))
		return cmd_chat(argc, argv);
	if (!strcmp(verb, "ping"))
		return cmd_ping(argc, argv);
	if (!strcmp(verb, "rerun"))
		return cmd_rerun(argc, argv);
	wf_warn("unknown command '%s' (expected list, resolve, chat, ping or rerun)", verb);
	return WF_EXIT_USAGE;
}
