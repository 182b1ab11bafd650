/*
 * wf-state: the plain-file state store, for people and scripts.  Lists
 * runs, shows one (the snapshot plus the journal after it), reads and
 * sets variables, prints the journal, asks a run to pause, removes a run,
 * and checks one from scratch.  See wf-state(1).
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf.h"

static void
usage(FILE *fp)
{
	fprintf(fp,
		"usage: wf-state list [--json]\n"
		"       wf-state status [NAME] [--json]\n"
		"       wf-state show NAME\n"
		"       wf-state get NAME PATH\n"
		"       wf-state set NAME VAR VALUE\n"
		"       wf-state history NAME\n"
		"       wf-state pause NAME\n"
		"       wf-state rm [--force] NAME\n"
		"       wf-state fsck NAME [--json]\n"
		"       wf-state trust NAME|FILE\n");
}

static int
open_run(const char *name, int flags, struct wf_run **r)
{
	char err[1024];
	int rc = wf_run_open(name, flags, r, err, sizeof err);

	if (rc)
		wf_warn("%s", err);
	else if ((*r)->snapshot_problem && !(flags & WF_RUN_WRITE))
		wf_warn("run '%s': %s; showing the journal's view", name, (*r)->snapshot_problem);
	return rc;
}

/* The run's state as the condition context and `wf status --json` show it. */
static jv
public_state(struct wf_run *r)
{
	jv s = jv_copy(r->state);

	s = jv_object_delete(s, jv_string("journal_offset"));
	s = jv_object_delete(s, jv_string("journal_line"));
	s = jv_object_set(s, jv_string("name"), jv_string(r->name));
	s = jv_object_set(s, jv_string("dir"), jv_string(r->dir));
	return s;
}

static jv
list_runs(void)
{
	char *root = wf_state_root();
	char *runs = wf_xasprintf("%s/runs", root);
	struct dirent **ents = NULL;
	int n = scandir(runs, &ents, NULL, alphasort);
	jv out = jv_array();

	for (int i = 0; i < n; i++) {
		struct wf_run *r;
		char err[512];

		if (ents[i]->d_name[0] == '.') {
			/* not a run */
		} else if (wf_run_open(ents[i]->d_name, 0, &r, err, sizeof err) != 0) {
			/* Listed, never hidden: fsck says what is wrong, rm --force removes it. */
			jv e = jv_object_set(jv_object(), jv_string("name"), jv_string(ents[i]->d_name));

			e = jv_object_set(e, jv_string("status"), jv_string("damaged"));
			e = jv_object_set(e, jv_string("error"), jv_string(err));
			out = jv_array_append(out, e);
		} else {
			jv e = jv_object();
			const char *st = wf_jv_str(r->state, "status");

			e = jv_object_set(e, jv_string("name"), jv_string(r->name));
			e = jv_object_set(e, jv_string("status"),
					  jv_string(st && !strcmp(st, "running") && !wf_run_is_live(r) ? "interrupted" :
						    st ? st : "new"));
			e = jv_object_set(e, jv_string("step"), wf_jv_get(r->state, "cursor"));
			e = jv_object_set(e, jv_string("started"), wf_jv_get(r->state, "started"));
			e = jv_object_set(e, jv_string("updated"), wf_jv_get(r->state, "updated"));
			e = jv_object_set(e, jv_string("steps_run"), wf_jv_get(r->state, "steps_run"));
			out = jv_array_append(out, e);
			wf_run_close(r);
		}
		free(ents[i]);
	}
	free(ents);
	free(runs);
	free(root);
	return out;
}

/* Follow a dotted PATH (vars.i, steps.s1.output, loops.s10) into V (consumed). */
static jv
get_path(jv v, const char *path)
{
	char *p = wf_xstrdup(path), *save = NULL;

	for (char *tok = strtok_r(p, ".", &save); tok; tok = strtok_r(NULL, ".", &save)) {
		if (jv_get_kind(v) == JV_KIND_OBJECT) {
			jv next = jv_object_get(v, jv_string(tok));

			v = jv_is_valid(next) ? next : (jv_free(next), jv_invalid());
		} else if (jv_get_kind(v) == JV_KIND_ARRAY) {
			long idx;

			if (wf_parse_long(tok, 0, 1 << 30, &idx) < 0) {
				jv_free(v);
				v = jv_invalid();
			} else {
				v = jv_array_get(v, (int)idx);
			}
		} else {
			jv_free(v);
			v = jv_invalid();
		}
		if (!jv_is_valid(v))
			break;
	}
	free(p);
	return v;
}

int
main(int argc, char **argv)
{
	struct wf_run *r = NULL;
	const char *verb;
	int json = 0, force = 0, rc = 0, k = 0;
	char *args[8];

	wf_set_progname(argv[0]);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--force"))
			force = 1;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--version")) {
			puts("wf-state " WF_VERSION);
			return 0;
		} else if (k < 8)
			args[k++] = argv[i];
		else {
			usage(stderr);
			return WF_EXIT_USAGE;
		}
	}
	if (k < 1) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	verb = args[0];
	umask(077);
	if (!strcmp(verb, "list") || (!strcmp(verb, "status") && k == 1)) {
		char *root = wf_state_root(), err[1024];
		int prc = wf_state_prepare(root, 0, err, sizeof err);

		free(root);
		if (prc && !(prc == WF_EXIT_IO && errno == ENOENT)) {
			wf_warn("%s", err);
			return prc;
		}
		jv l = list_runs();

		if (json) {
			wf_json_print(stdout, l);
		} else {
			if (jv_array_length(jv_copy(l)) == 0)
				printf("no runs\n");
			jv_array_foreach(l, i, e) {
				(void)i;
				printf("%-24s %-11s %-10s %s\n", wf_jv_str(e, "name"), wf_jv_str(e, "status"),
				       wf_jv_str(e, "step") ? wf_jv_str(e, "step") : "-",
				       wf_jv_str(e, "updated") ? wf_jv_str(e, "updated") : "");
				jv_free(e);
			}
			jv_free(l);
		}
		return wf_fshut(stdout, "standard output") ? WF_EXIT_IO : 0;
	}
	if (k < 2) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	if (!strcmp(verb, "status") || !strcmp(verb, "show")) {
		if ((rc = open_run(args[1], 0, &r)))
			return rc;
		jv s = public_state(r);
		if (!strcmp(wf_jv_str(s, "status") ? wf_jv_str(s, "status") : "", "running") && !wf_run_is_live(r))
			s = jv_object_set(s, jv_string("status"), jv_string("interrupted"));
		if (json || !strcmp(verb, "show")) {
			wf_json_print(stdout, s);
		} else {
			wf_run_print_status(r, s);
			jv_free(s);
		}
	} else if (!strcmp(verb, "get") && k == 3) {
		if ((rc = open_run(args[1], 0, &r)))
			return rc;
		jv ps = public_state(r);

		if (!strcmp(wf_jv_str(ps, "status") ? wf_jv_str(ps, "status") : "", "running") && !wf_run_is_live(r))
			ps = jv_object_set(ps, jv_string("status"), jv_string("interrupted"));
		jv v = get_path(ps, args[2]);

		if (!jv_is_valid(v)) {
			wf_warn("run '%s' has nothing at '%s'", args[1], args[2]);
			rc = WF_EXIT_NOINPUT;
		} else if (jv_get_kind(v) == JV_KIND_STRING) {
			printf("%s\n", jv_string_value(v));
		} else {
			wf_json_print(stdout, jv_copy(v));
		}
		jv_free(v);
	} else if (!strcmp(verb, "set") && k == 4) {
		char err[1024];

		if ((rc = open_run(args[1], WF_RUN_LOCK | WF_RUN_WRITE, &r)))
			return rc;
		jv ev = jv_object_set(jv_object(), jv_string("event"), jv_string("var-set"));
		ev = jv_object_set(ev, jv_string("vars"),
				   jv_object_set(jv_object(), jv_string(args[2]), jv_string(args[3])));
		if ((rc = wf_run_append(r, ev, 1, err, sizeof err)) ||
		    (rc = wf_run_snapshot(r, err, sizeof err)))
			wf_warn("%s", err);
	} else if (!strcmp(verb, "history")) {
		char err[1024];

		if ((rc = open_run(args[1], 0, &r)))
			return rc;
		jv evs = wf_run_read_journal(r, 0, err, sizeof err);
		if (!jv_is_valid(evs)) {
			wf_warn("%s", err);
			rc = WF_EXIT_IO;
		} else {
			jv_array_foreach(evs, i, e) {
				(void)i;
				wf_json_print(stdout, e);
			}
			jv_free(evs);
		}
	} else if (!strcmp(verb, "pause")) {
		char err[1024];

		if ((rc = open_run(args[1], 0, &r)))
			return rc;
		if (!wf_run_is_live(r)) {
			wf_warn("run '%s' is not running (status %s); nothing to pause", args[1],
				wf_jv_str(r->state, "status") ? wf_jv_str(r->state, "status") : "new");
			rc = WF_EXIT_NOINPUT;
		} else if (wf_atomic_write(r->dirfd, "pause-request", "pause\n", 6) < 0) {
			snprintf(err, sizeof err, "cannot write '%s/pause-request': %s", r->dir, strerror(errno));
			wf_warn("%s", err);
			rc = WF_EXIT_IO;
		} else {
			fprintf(stderr, "wf-state: run '%s' will pause after its current step\n", args[1]);
		}
	} else if (!strcmp(verb, "rm")) {
		char err[1024];

		if (force) {
			if ((rc = wf_run_remove_forced(args[1], err, sizeof err)))
				wf_warn("%s", err);
			return rc;
		}
		if ((rc = open_run(args[1], WF_RUN_LOCK, &r))) {
			if (rc == WF_EXIT_IO)
				wf_warn("'wf-state rm --force %s' removes the run without reading it", args[1]);
			return rc;
		}
		if ((rc = wf_run_remove(r, err, sizeof err)))
			wf_warn("%s", err);
	} else if (!strcmp(verb, "trust")) {
		struct wf_diag diag = {0};
		char err[1024];
		int code = 0;
		char *path = wf_workflow_find(args[1], &code, err, sizeof err);
		jv wf = path ? wf_workflow_load(path, &diag, &code) : jv_invalid();

		wf_diag_print(&diag);
		wf_diag_free(&diag);
		if (!path) {
			wf_warn("%s", err);
			rc = code;
		} else if (!jv_is_valid(wf)) {
			rc = code;
		} else if ((rc = wf_trust_add(wf_jv_str(wf, "hash"), wf_jv_str(wf, "source"), err, sizeof err))) {
			wf_warn("%s", err);
		} else {
			fprintf(stderr, "wf-state: trusted '%s' as it is now (%.19s...); any edit to the file asks again\n",
				wf_jv_str(wf, "source"), wf_jv_str(wf, "hash"));
		}
		jv_free(wf);
		free(path);
	} else if (!strcmp(verb, "fsck")) {
		jv report;

		if ((rc = open_run(args[1], WF_RUN_LOCK_SHORT | WF_RUN_BARE, &r)))
			return rc;
		rc = wf_run_fsck(r, &report);
		if (json) {
			wf_json_print(stdout, report);
		} else {
			jv probs = wf_jv_get(report, "problems");

			jv_array_foreach(probs, i, p) {
				(void)i;
				printf("%s: %s\n", r->name, jv_string_value(p));
				jv_free(p);
			}
			jv_free(probs);
			if (!rc)
				printf("%s: ok (%g events)\n", r->name, wf_jv_num(report, "events", 0));
			jv_free(report);
		}
	} else {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	if (r)
		wf_run_close(r);
	if (wf_fshut(stdout, "standard output") && !rc)
		rc = WF_EXIT_IO;
	return rc;
}
