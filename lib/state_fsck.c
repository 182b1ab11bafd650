/*
 * state_fsck.c: wf-state fsck, a run checked from scratch: its
 * directory's entries and modes, every journal line, the numbering of
 * the events, the snapshot against the journal, and its workflow.json.
 * Layer 2: domain data.
 * It reads the files directly (a run the other verbs refuse can be
 * checked) and changes nothing; it reports every problem, not the first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wf_priv.h"

/*
 * May NAME in the directory PREFIX names be a directory of runs nested in
 * the run: its sub/ (workflow steps' and parallel steps' runs), each
 * entry of a sub/ (a run, or a parallel step's branches), and each
 * entry of those (a branch's run), with their own steps/ and sub/?
 */
static int
nested_dir(const char *prefix, const char *name)
{
	const char *last = NULL;
	size_t n = strlen(prefix);

	if (!strcmp(name, "sub") || (!strcmp(name, "steps") && n >= 4 && strstr(prefix, "sub/")))
		return 1;
	/* The last component of PREFIX: "sub" itself, or an entry whose parent is "sub". */
	for (const char *p = prefix; n && p < prefix + n - 1; p++)
		if (*p == '/')
			last = p;
	if (n >= 4 && !strcmp(prefix + n - 4, "sub/"))
		return 1;
	return last && last >= prefix + 3 && !strncmp(last - 3, "sub/", 4);
}

/*
 * Append to PROBLEMS (consumed, returned) what is wrong with the entries
 * of directory DFD, named with PREFIX: links, files that are not regular
 * or not private, temporary files left by a writer that died between
 * write and rename; the run's steps/ and the runs nested in it (sub/)
 * are checked inside too.
 */
static jv
entry_problems(int dfd, const char *prefix, jv problems)
{
	int fd = dup(dfd);
	DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
	jv names = jv_array();
	struct dirent *de;

	if (!dh) {
		if (fd >= 0)
			close(fd);
		jv_free(names);
		return jv_array_append(problems, jv_string_fmt("%s.: cannot list: %s", prefix, strerror(errno)));
	}
	rewinddir(dh);
	while ((de = readdir(dh)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			names = jv_array_append(names, jv_string(de->d_name));
	closedir(dh);
	names = jv_sort(names, jv_copy(names));
	jv_array_foreach(names, i, nm) {
		const char *name = jv_string_value(nm);
		struct stat st;
		int sub;

		(void)i;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			jv_free(nm);
			continue;
		}
		if (name[0] == '.' && strstr(name, ".tmp."))
			problems = jv_array_append(problems, jv_string_fmt("leftover temporary file '%s%s'", prefix, name));
		else if (S_ISLNK(st.st_mode))
			problems = jv_array_append(problems, jv_string_fmt("%s%s: a symbolic link", prefix, name));
		else if (S_ISDIR(st.st_mode) && (nested_dir(prefix, name) || (!*prefix && !strcmp(name, "steps")))) {
			char *inner = wf_xasprintf("%s%s/", prefix, name);

			if (st.st_mode & 077)
				problems = jv_array_append(problems, jv_string_fmt("%s%s: mode %04o, expected 0700",
					prefix, name, (unsigned)(st.st_mode & 07777)));
			sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				problems = entry_problems(sub, inner, problems);
				close(sub);
			}
			free(inner);
		} else if (!S_ISREG(st.st_mode))
			problems = jv_array_append(problems, jv_string_fmt("%s%s: not a regular file", prefix, name));
		else if (st.st_mode & 077)
			problems = jv_array_append(problems, jv_string_fmt("%s%s: mode %04o, expected 0600",
				prefix, name, (unsigned)(st.st_mode & 07777)));
		jv_free(nm);
	}
	jv_free(names);
	return problems;
}

/*
 * Everything the crash tests rely on, checked from scratch; nothing is
 * changed.  The caller owns *REPORT.
 */
int
wf_run_fsck(struct wf_run *r, jv *report)
{
	struct wf_buf b = {0};
	struct wf_snapshot snap;
	jv problems = jv_array(), rebuilt = jv_object();
	int fd, checked = 0;
	long seq = 0, line = 0;
	struct stat st;
	size_t pos = 0;
	char *why;

	if (fstat(r->dirfd, &st) == 0 && (st.st_mode & 077))
		problems = jv_array_append(problems, jv_string_fmt("%s: mode %04o, expected 0700",
			r->dir, (unsigned)(st.st_mode & 07777)));
	problems = entry_problems(r->dirfd, "", problems);
	wf_snapshot_read(r->dirfd, &snap);
	if (snap.present && !jv_is_valid(snap.state))
		problems = jv_array_append(problems, jv_string_fmt("state.json: %s", snap.why));
	const struct wf_snapshot *sp = jv_is_valid(snap.state) ? &snap : NULL;
	fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		if (wf_read_fd(fd, (size_t)1 << 34, &b) < 0)
			problems = jv_array_append(problems, jv_string_fmt("history.jsonl: cannot read: %s", strerror(errno)));
		close(fd);
	}
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why2[64] = "no newline";
		jv ev;

		if ((why = wf_snapshot_check(sp, (off_t)pos, rebuilt, seq, &checked))) {
			problems = jv_array_append(problems, jv_string(why));
			free(why);
		}
		line++;
		ev = nl ? wf_journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why2, sizeof why2) : jv_invalid();
		if (!jv_is_valid(ev)) {
			problems = jv_array_append(problems, jv_string_fmt("history.jsonl line %ld: %s", line, why2));
			jv_free(ev);
			if (!nl)
				break;
		} else {
			long s = (long)wf_journal_count(ev, "seq");

			if (s != seq + 1)
				problems = jv_array_append(problems,
					jv_string_fmt("history.jsonl line %ld: event %ld follows %ld", line, s, seq));
			seq = s;
			rebuilt = wf_state_apply(rebuilt, ev);
		}
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	/* The snapshot must agree with the journal where it says it stands. */
	if (sp && !(why = wf_snapshot_check(sp, (off_t)pos, rebuilt, seq, &checked)) && !checked)
		why = wf_snapshot_unmatched(sp, (off_t)pos);
	if (sp && why) {
		problems = jv_array_append(problems, jv_string(why));
		free(why);
	}
	jv_free(snap.state);
	/* A run with events has the workflow it goes by. */
	fd = openat(r->dirfd, "workflow.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT && seq > 0) {
		problems = jv_array_append(problems, jv_string("workflow.json: missing"));
	} else if (fd >= 0) {
		char jerr[256];
		jv wf = wf_json_read_fd(fd, (size_t)64 << 20, jerr, sizeof jerr);

		if (jv_get_kind(wf) != JV_KIND_OBJECT)
			problems = jv_array_append(problems, jv_string("workflow.json: not a JSON object"));
		jv_free(wf);
		close(fd);
	}
	*report = jv_object_set(jv_object_set(jv_object_set(jv_object(),
		jv_string("run"), jv_string(r->name)), jv_string("events"), jv_number((double)seq)),
		jv_string("problems"), jv_copy(problems));
	int bad = jv_array_length(problems) > 0;
	jv_free(rebuilt);
	return bad ? WF_EXIT_IO : 0;
}
