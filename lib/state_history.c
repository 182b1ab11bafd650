/*
 * state_history.c: a project's past runs (wf runs, wf gc; wf-state(1),
 * wf-json(7)).  A run gets its number in its project when it starts,
 * from PROJ/next-id under that file's flock.  When a run of the same
 * name starts over, the finished one moves from PROJ/runs/NAME/ to
 * PROJ/history/ID-NAME/ with a summary.json: what 'wf runs' shows of
 * it.  The directories are the only record: listing reads them newest
 * first (by number) and stops at the limit asked for, so the newest
 * twenty of a thousand cost twenty small reads.
 * Layer 2: domain data.
 * Nothing here prints; every failure is an exit code with a message in ERR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "history.h"

/* The largest summary.json read; a bigger one is not ours. */
#define SUMMARY_MAX (64 * 1024)


/* The id of history entry D_NAME ("ID-NAME"), or -1 when it is not one. */
static long
entry_id(const char *d_name)
{
	char *end;
	long id;

	if (d_name[0] < '1' || d_name[0] > '9')
		return -1;
	errno = 0;
	id = strtol(d_name, &end, 10);
	return errno || *end != '-' || !wf_name_valid(end + 1) ? -1 : id;
}

char *
wf_history_dir(const char *proj, long id)
{
	char *hist = wf_xasprintf("%s/history", proj), *found = NULL;
	DIR *dh = opendir(hist);
	struct dirent *de;

	while (dh && !found && (de = readdir(dh)))
		if (entry_id(de->d_name) == id)
			found = wf_xasprintf("%s/%s", hist, de->d_name);
	if (dh)
		closedir(dh);
	free(hist);
	return found;
}

/* The highest number of a past run of PROJ, 0 when there is none. */
static long
max_past_id(const char *proj)
{
	char *hist = wf_xasprintf("%s/history", proj);
	DIR *dh = opendir(hist);
	struct dirent *de;
	long max = 0;

	while (dh && (de = readdir(dh)))
		if (entry_id(de->d_name) > max)
			max = entry_id(de->d_name);
	if (dh)
		closedir(dh);
	free(hist);
	return max;
}

long
wf_history_next_id(const char *proj, char *err, size_t n)
{
	char *path = wf_xasprintf("%s/next-id", proj), buf[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600), len;
	long id = 0, past;
	ssize_t k;

	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		snprintf(err, n, "cannot use '%s': %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	k = pread(fd, buf, sizeof buf - 1, 0);
	if (k > 0) {
		buf[k] = '\0';
		id = strtol(buf, NULL, 10);
	}
	/* Never a number a past run has, even when next-id was lost or torn. */
	past = max_past_id(proj);
	id = (id > past ? id : past) + 1;
	len = snprintf(buf, sizeof buf, "%ld\n", id);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len || fsync(fd) < 0) {
		snprintf(err, n, "cannot write '%s': %s", path, strerror(errno));
		id = -1;
	}
	close(fd);
	free(path);
	return id;
}

/* PROJ/history, made if missing and opened (O_DIRECTORY, no links): the fd, or -1 with ERR. */
static int
open_history(const char *proj, int create, char *err, size_t n)
{
	char *hist = wf_xasprintf("%s/history", proj);
	int fd;

	if (create && mkdir(hist, 0700) < 0 && errno != EEXIST) {
		snprintf(err, n, "cannot create '%s': %s", hist, strerror(errno));
		free(hist);
		return -1;
	}
	fd = open(hist, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		snprintf(err, n, "cannot open '%s': %s", hist, strerror(errno));
	free(hist);
	return fd;
}

/* Make the directory ID-NAME in HFD for R, taking a new id when R has none or its own is taken: the id, or -1. */
static long
make_entry(int hfd, struct wf_run *r, char *dname, size_t dn, char *err, size_t n)
{
	long id = (long)wf_jv_num(r->state, "id", 0);

	for (int tries = 0; tries < 100; tries++) {
		char *taken = id > 0 ? wf_history_dir(r->proj, id) : NULL;

		/* A number another past run has (next-id lost) is not reused. */
		if (taken)
			id = 0;
		free(taken);
		if (id <= 0 && (id = wf_history_next_id(r->proj, err, n)) < 0)
			return -1;
		snprintf(dname, dn, "%ld-%s", id, r->name);
		if (mkdirat(hfd, dname, 0700) == 0)
			return id;
		if (errno != EEXIST) {
			snprintf(err, n, "cannot create '%s/history/%s': %s", r->proj, dname, strerror(errno));
			return -1;
		}
		id = 0;
	}
	snprintf(err, n, "cannot find a free run number in '%s/history'", r->proj);
	return -1;
}

int
wf_history_retire(struct wf_run *r, char *err, size_t n)
{
	/* The journal last: while it is in runs/NAME, the run is still there. */
	static const char *const files[] = { "workflow.json", "steps", "sub", "state.json", "calls.jsonl",
					     "history.jsonl", NULL };
	char dname[256];
	int hfd = open_history(r->proj, 1, err, n), dfd = -1, rc = WF_EXIT_IO;
	long id;
	jv sum = jv_invalid();

	if (hfd < 0)
		return WF_EXIT_IO;
	flock(hfd, LOCK_EX);
	if ((id = make_entry(hfd, r, dname, sizeof dname, err, n)) < 0)
		goto out;
	/* Summed up before its files move: an older run names its workflow only in workflow.json. */
	sum = wf_run_summary(r, 0);
	sum = jv_object_set(sum, jv_string("id"), jv_number(id));
	sum = jv_object_set(sum, jv_string("dir"), jv_string(dname));
	dfd = openat(hfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	for (int i = 0; dfd >= 0 && files[i]; i++)
		if (renameat(r->dirfd, files[i], dfd, files[i]) < 0 && errno != ENOENT) {
			snprintf(err, n, "cannot move '%s/%s' to the history: %s", r->dir, files[i], strerror(errno));
			goto out;
		}
	{
		char *txt = wf_json_dump(sum);

		if (dfd < 0 || wf_atomic_write(dfd, "summary.json", txt, strlen(txt)) < 0) {
			snprintf(err, n, "cannot write the summary of '%s/history/%s': %s", r->proj, dname, strerror(errno));
			free(txt);
			goto out;
		}
		free(txt);
	}
	fsync(r->dirfd);
	rc = 0;
out:
	jv_free(sum);
	if (dfd >= 0)
		close(dfd);
	close(hfd);
	return rc;
}

/* The summary of history entry D_NAME (id ID) of HFD, from its summary.json; the caller owns it. */
static jv
read_summary(int hfd, const char *d_name, long id)
{
	char *p = wf_xasprintf("%s/summary.json", d_name), perr[64];
	int fd = openat(hfd, p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct wf_buf b = { 0 };
	jv e = jv_invalid();

	if (fd >= 0 && wf_read_fd(fd, SUMMARY_MAX, &b) == 0 && b.s)
		e = wf_json_parse(b.s, b.len, perr, sizeof perr);
	if (fd >= 0)
		close(fd);
	wf_buf_free(&b);
	free(p);
	if (jv_get_kind(e) != JV_KIND_OBJECT) {
		/* Listed, never hidden: its files are there for fsck to say what is wrong. */
		jv_free(e);
		e = jv_object_set(jv_object(), jv_string("name"), jv_string(strchr(d_name, '-') + 1));
		e = jv_object_set(e, jv_string("status"), jv_string("damaged"));
	}
	e = jv_object_set(e, jv_string("id"), jv_number(id));
	return jv_object_set(e, jv_string("dir"), jv_string(d_name));
}

/* Newest first: by id, descending. */
static int
by_id_desc(const struct dirent **a, const struct dirent **b)
{
	long x = entry_id((*a)->d_name), y = entry_id((*b)->d_name);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int
is_entry(const struct dirent *de)
{
	return entry_id(de->d_name) > 0;
}

/* The newest LIMIT (0: all) past runs of PROJ, only WORKFLOW's when not NULL; the caller owns the array. */
jv
wf_history_list(const char *proj, const char *workflow, int limit)
{
	char err[256];
	int hfd = open_history(proj, 0, err, sizeof err);
	struct dirent **ents = NULL;
	int k = hfd >= 0 ? scandirat(hfd, ".", &ents, is_entry, by_id_desc) : 0, got = 0;
	jv out = jv_array();

	for (int i = 0; i < k; i++) {
		const char *d = ents[i]->d_name;

		if (!limit || got < limit) {
			jv e = read_summary(hfd, d, entry_id(d));

			if (!workflow || !strcmp(wf_jv_str(e, "workflow") ? wf_jv_str(e, "workflow") : "", workflow)) {
				out = jv_array_append(out, jv_object_set(e, jv_string("past"), jv_true()));
				got++;
			} else {
				jv_free(e);
			}
		}
		free(ents[i]);
	}
	free(ents);
	if (hfd >= 0)
		close(hfd);
	return out;
}

/*
 * 1 when past run E (borrowed) is never pruned: only a completed or
 * failed run is; one set aside by --restart while it was paused, waiting
 * for an answer, declined or interrupted stays until 'wf-state rm'.
 */
static int
kept_always(jv e)
{
	const char *st = wf_jv_str(e, "status");

	return !st || (strcmp(st, "completed") && strcmp(st, "failed"));
}

int
wf_history_gc(const char *proj, long keep, double older_ms, int dry, jv *removed, char *err, size_t n)
{
	jv list = wf_history_list(proj, NULL, 0);
	double now = (double)time(NULL) * 1000.0;
	int hfd, rc = 0;
	long seen = 0;

	*removed = jv_array();
	hfd = open_history(proj, 0, err, n);
	if (hfd < 0) {
		jv_free(list);
		return errno == ENOENT ? 0 : WF_EXIT_IO;
	}
	flock(hfd, LOCK_EX);
	jv_array_foreach(list, i, e) {
		double t = wf_iso_ms(wf_jv_str(e, "started"));
		int go = !kept_always(e) && ((keep >= 0 && seen >= keep) || (older_ms > 0 && t >= 0 && t < now - older_ms));

		(void)i;
		if (!kept_always(e))
			seen++;
		if (go && !dry) {
			int dfd = openat(hfd, wf_jv_str(e, "dir"), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (dfd < 0 || wf_remove_tree(dfd) < 0 || unlinkat(hfd, wf_jv_str(e, "dir"), AT_REMOVEDIR) < 0) {
				snprintf(err, n, "cannot remove '%s/history/%s': %s", proj, wf_jv_str(e, "dir"), strerror(errno));
				rc = WF_EXIT_IO;
				go = 0;
			}
			if (dfd >= 0)
				close(dfd);
		}
		if (go)
			*removed = jv_array_append(*removed, e);
		else
			jv_free(e);
	}
	jv_free(list);
	close(hfd);
	return rc;
}

int
wf_history_adopt(const char *proj, int fromfd, const char *from, const char *name, char *err, size_t n)
{
	char dname[256], *num;
	int hfd = open_history(proj, 1, err, n), rc = WF_EXIT_IO;
	long id = -1;
	struct wf_run *r = NULL;

	if (hfd < 0)
		return WF_EXIT_IO;
	flock(hfd, LOCK_EX);
	for (int tries = 0; tries < 100 && id < 0; tries++) {
		if ((id = wf_history_next_id(proj, err, n)) < 0)
			goto out;
		snprintf(dname, sizeof dname, "%ld-%s", id, name);
		if (renameat(fromfd, from, hfd, dname) < 0) {
			if (errno != EEXIST && errno != ENOTEMPTY) {
				snprintf(err, n, "cannot move '%s' to '%s/history/%s': %s", from, proj, dname, strerror(errno));
				goto out;
			}
			id = -1;
		}
	}
	if (id < 0)
		goto out;
	num = wf_xasprintf("%ld", id);
	rc = wf_run_open_in(proj, num, 0, &r, err, n);
	free(num);
	if (rc == 0) {
		jv sum = wf_run_summary(r, 0);
		char *txt;

		sum = jv_object_set(sum, jv_string("id"), jv_number(id));
		sum = jv_object_set(sum, jv_string("name"), jv_string(name));
		sum = jv_object_set(sum, jv_string("dir"), jv_string(dname));
		txt = wf_json_dump(sum);
		if (wf_atomic_write(r->dirfd, "summary.json", txt, strlen(txt)) < 0) {
			snprintf(err, n, "cannot write the summary of '%s/history/%s': %s", proj, dname, strerror(errno));
			rc = WF_EXIT_IO;
		}
		free(txt);
		jv_free(sum);
		wf_run_close(r);
	}
out:
	close(hfd);
	return rc;
}
