/*
 * state.c: the plain-file state store (wf-state(1), wf-json(7)).  A run
 * lives in ROOT/runs/NAME/: history.jsonl is the append-only journal and
 * the source of truth, one checksummed JSON event per line; state.json is
 * a snapshot of the journal's effect up to a byte offset, rewritten
 * atomically now and then; lock is the flock(2) that keeps one writer.
 * Reading a run is "snapshot, then replay the journal after it", so the
 * cost of a step never depends on how many came before.
 * Layer 2: domain data.
 * This file is the store itself: the state directory and its safety
 * checks, opening a run (lock, then load), archiving and removing one.
 * The journal is state_journal.c, the snapshot state_snapshot.c, the
 * check from scratch state_fsck.c.  Nothing here prints but a warning,
 * nothing exits; every failure is an exit code with a message in ERR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "subflow.h"
#include "parallel.h"

/* ---- the root (paths.c finds it) ---- */

/* mkdir -p with mode 0700 for what we create. */
static int
mkdirs(const char *path)
{
	char *p = wf_xstrdup(path);
	int rc = 0;

	for (char *s = p + 1; ; s++) {
		if (*s == '/' || !*s) {
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) < 0 && errno != EEXIST) {
				rc = -1;
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return rc;
}

/* Refuse a directory that is a link, not ours, or writable by others. */
static int
check_dir(const char *path, char *err, size_t n)
{
	struct stat st;

	if (lstat(path, &st) < 0) {
		snprintf(err, n, "cannot use state directory '%s': %s", path, strerror(errno));
		return WF_EXIT_IO;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, n, "state directory '%s' is a symbolic link; refusing to follow it", path);
		return WF_EXIT_DENIED;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, n, "state path '%s' is not a directory", path);
		return WF_EXIT_IO;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, n, "state directory '%s' is owned by uid %ld, not you (uid %ld); refusing to use it",
			 path, (long)st.st_uid, (long)geteuid());
		return WF_EXIT_DENIED;
	}
	if (st.st_mode & 022) {
		snprintf(err, n, "state directory '%s' has mode %04o: writable by others; run 'chmod go-w %s'",
			 path, (unsigned)(st.st_mode & 07777), path);
		return WF_EXIT_DENIED;
	}
	return 0;
}

int
wf_state_prepare(const char *root, int create, char *err, size_t n)
{
	char *projects = wf_xasprintf("%s/projects", root);
	int rc;

	if (create && mkdirs(projects) < 0) {
		snprintf(err, n, "cannot create state directory '%s': %s", projects, strerror(errno));
		free(projects);
		return errno == EACCES || errno == EROFS ? WF_EXIT_DENIED : WF_EXIT_IO;
	}
	rc = check_dir(root, err, n);
	if (!rc)
		rc = check_dir(projects, err, n);
	free(projects);
	return rc;
}

/*
 * Create (if CREATE) and check PROJ and PROJ/runs for the project at
 * PATH, recording PATH in PROJ/project the first time: 0 or an exit code
 * with ERR.
 */
int
wf_state_prepare_project(const char *proj, const char *path, int create, char *err, size_t n)
{
	char *runs = wf_xasprintf("%s/runs", proj);
	int rc = 0;

	if (create && mkdirs(runs) < 0) {
		snprintf(err, n, "cannot create state directory '%s': %s", runs, strerror(errno));
		rc = errno == EACCES || errno == EROFS ? WF_EXIT_DENIED : WF_EXIT_IO;
	}
	if (!rc)
		rc = check_dir(proj, err, n);
	if (!rc)
		rc = check_dir(runs, err, n);
	if (!rc && create && path) {
		int pfd = open(proj, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		char *line = wf_xasprintf("%s\n", path);

		if (pfd >= 0 && faccessat(pfd, "project", F_OK, AT_EACCESS) < 0 &&
		    wf_atomic_write(pfd, "project", line, strlen(line)) < 0) {
			snprintf(err, n, "cannot write '%s/project': %s", proj, strerror(errno));
			rc = WF_EXIT_IO;
		}
		if (pfd >= 0)
			close(pfd);
		free(line);
	}
	free(runs);
	return rc;
}

char *
wf_state_project(const char *path)
{
	char *root = wf_state_root(), *p = path ? wf_xstrdup(path) : wf_project_root(NULL), *key, *dir;

	if (!p) {
		free(root);
		return NULL;
	}
	key = wf_project_key(p);
	dir = wf_xasprintf("%s/projects/%s", root, key);
	free(key);
	free(root);
	free(p);
	return dir;
}

int
wf_state_open_project(int create, char **proj, char *err, size_t n)
{
	char *root = wf_state_root(), *path = wf_project_root(NULL);
	int rc;

	*proj = NULL;
	if (!path) {
		snprintf(err, n, "cannot read the working directory: %s", strerror(errno));
		free(root);
		return WF_EXIT_IO;
	}
	/* The layout before projects first, so that its runs are where they are looked for. */
	if (check_dir(root, err, n) == 0)
		wf_state_migrate(root);
	rc = wf_state_prepare(root, create, err, n);
	if (!rc) {
		*proj = wf_state_project(path);
		rc = wf_state_prepare_project(*proj, path, create, err, n);
	}
	if (rc && !create && errno == ENOENT && rc == WF_EXIT_IO)
		rc = WF_EXIT_NOINPUT;
	if (rc) {
		free(*proj);
		*proj = NULL;
	}
	free(path);
	free(root);
	return rc;
}

/* ---- runs ---- */

static void
run_free(struct wf_run *r)
{
	if (!r)
		return;
	if (r->journalfd >= 0)
		close(r->journalfd);
	if (r->lockfd >= 0)
		close(r->lockfd);
	if (r->dirfd >= 0)
		close(r->dirfd);
	jv_free(r->state);
	free(r->snapshot_problem);
	free(r->proj);
	free(r->name);
	free(r->dir);
	free(r);
}

/*
 * Remove the temporary files that wf_atomic_write left in directory DFD
 * (borrowed) when its writer died between write and rename: named
 * ".NAME.tmp.PID" with PID no longer alive.  Called with the run's lock
 * held, so no live writer of ours can be mid-write in a dead pid's name.
 */
static void
remove_dead_temps(int dfd)
{
	/* A description of its own: a dup would share, and move, DFD's offset. */
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dh = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *de;

	if (!dh) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((de = readdir(dh))) {
		const char *t = de->d_name[0] == '.' ? strstr(de->d_name, ".tmp.") : NULL;
		char *end;
		long pid;

		if (!t)
			continue;
		errno = 0;
		pid = strtol(t + 5, &end, 10);
		if (errno || *end || pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH))
			(void)unlinkat(dfd, de->d_name, 0);
	}
	closedir(dh);
}

int
wf_step_file(char *buf, size_t n, long seq, const char *id, const char *ext)
{
	int k = snprintf(buf, n, "%06ld-%s.%s", seq, id, ext);

	return k < 0 || (size_t)k >= n ? -1 : 0;
}

char *
wf_state_project_path(const char *proj)
{
	char *p = wf_xasprintf("%s/project", proj);
	struct wf_buf b = { 0 };
	char *path;

	if (wf_read_file(p, 4096, &b) == 0 && b.s && b.len > 1 && b.s[0] == '/') {
		b.s[strcspn(b.s, "\n")] = '\0';
		path = wf_xstrdup(b.s);
	} else {
		path = wf_xstrdup(strrchr(proj, '/') + 1);
	}
	wf_buf_free(&b);
	free(p);
	return path;
}

/*
 * ERR (N bytes) says there is no run NAME in this project (PROJ, or NULL
 * when there is no state yet), and names the projects that have one, so
 * that a resume from the wrong directory says where to go.
 */
static void
not_here(const char *proj, const char *name, char *err, size_t n)
{
	char *root = wf_state_root(), *projects = wf_xasprintf("%s/projects", root);
	DIR *dh = opendir(projects);
	struct dirent *de;
	size_t len;
	int found = 0;

	snprintf(err, n, "no run named '%s' in this project (see 'wf status')", name);
	while (dh && (de = readdir(dh)) && found < 3) {
		char *dir = wf_xasprintf("%s/%s", projects, de->d_name), *run = wf_xasprintf("%s/runs/%s", dir, name);
		struct stat st;

		if (de->d_name[0] != '.' && (!proj || strcmp(dir, proj)) && lstat(run, &st) == 0 && S_ISDIR(st.st_mode)) {
			char *path = wf_state_project_path(dir);

			len = strlen(err);
			snprintf(err + len, n - len, "%s %s", found++ ? "," : "; there is one in", path);
			free(path);
		}
		free(run);
		free(dir);
	}
	if (found) {
		len = strlen(err);
		snprintf(err + len, n - len, " (run wf there)");
	}
	if (dh)
		closedir(dh);
	free(projects);
	free(root);
}

int
wf_run_open(const char *name, int flags, struct wf_run **out, char *err, size_t n)
{
	char *proj;
	int rc;

	*out = NULL;
	if (!wf_name_valid(name)) {
		snprintf(err, n, "invalid run name '%.80s'", name);
		return WF_EXIT_DATA;
	}
	if ((rc = wf_state_open_project(flags & WF_RUN_CREATE, &proj, err, n))) {
		if (rc == WF_EXIT_NOINPUT)
			not_here(NULL, name, err, n);
		return rc;
	}
	rc = wf_run_open_in(proj, name, flags, out, err, n);
	free(proj);
	return rc;
}

/*
 * A past run of PROJ for R, whose name is all digits: its history
 * directory when R->name is the id of one.  0 with r->dir replaced and
 * r->past set, or -1 (no such past run).
 */
static int
find_past(struct wf_run *r, const char *proj)
{
	long id;
	char *dir;

	if (wf_parse_long(r->name, 1, 1L << 40, &id) < 0 || !(dir = wf_history_dir(proj, id)))
		return -1;
	free(r->dir);
	r->dir = dir;
	free(r->name);
	r->name = wf_xstrdup(strchr(strrchr(dir, '/'), '-') + 1);
	r->past = 1;
	r->id = id;
	return 0;
}

/*
 * A current run of PROJ for R, whose name is all digits: the run in
 * PROJ/runs/ whose snapshot has that number (wf runs lists current runs
 * by number too).  0 with r->dir and r->name replaced, or -1.
 */
static int
find_current(struct wf_run *r, const char *proj)
{
	char *runs = wf_xasprintf("%s/runs", proj), err[128];
	DIR *d;
	struct dirent *de;
	long id;
	int found = -1;

	if (wf_parse_long(r->name, 1, 1L << 40, &id) < 0 || !(d = opendir(runs))) {
		free(runs);
		return -1;
	}
	while (found < 0 && (de = readdir(d))) {
		char *path;
		int fd;
		jv st;

		if (de->d_name[0] == '.' || !wf_name_valid(de->d_name))
			continue;
		path = wf_xasprintf("%s/%s/state.json", runs, de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		free(path);
		if (fd < 0)
			continue;
		st = wf_json_read_fd(fd, (size_t)64 << 20, err, sizeof err);
		close(fd);
		if (jv_get_kind(st) == JV_KIND_OBJECT && wf_jv_num(st, "id", -1) == (double)id) {
			free(r->dir);
			r->dir = wf_xasprintf("%s/%s", runs, de->d_name);
			free(r->name);
			r->name = wf_xstrdup(de->d_name);
			found = 0;
		}
		jv_free(st);
	}
	closedir(d);
	free(runs);
	return found;
}

/* Open run NAME of PROJ in directory DIR (consumed): as wf_run_open_in. */
static int
open_run(const char *proj, const char *name, char *dir, int flags, struct wf_run **out, char *err, size_t n)
{
	struct wf_run *r;
	int rc, missing;
	struct stat st;

	*out = NULL;
	r = wf_xcalloc(1, sizeof *r);
	r->dirfd = r->lockfd = r->journalfd = -1;
	r->name = wf_xstrdup(name);
	r->dir = dir;
	r->proj = wf_xstrdup(proj);
	r->state = jv_object();
	r->seq = 0;
	missing = lstat(r->dir, &st) < 0 ? errno : 0;
	/* A current run by its number is opened below, as by its name. */
	if (missing == ENOENT && !(flags & WF_RUN_CREATE) && find_current(r, proj) == 0)
		missing = 0;
	if (missing) {
		int e = missing;

		if (e == ENOENT && !(flags & WF_RUN_CREATE) && find_past(r, proj) == 0) {
			if (flags & WF_RUN_WRITE) {
				snprintf(err, n, "run %s is in the history and cannot change; start a new one with 'wf run'", name);
				rc = WF_EXIT_NOINPUT;
				goto fail;
			}
		} else if (e == ENOENT && !(flags & WF_RUN_CREATE)) {
			not_here(proj, name, err, n);
			rc = WF_EXIT_NOINPUT;
			goto fail;
		} else if (e != ENOENT) {
			snprintf(err, n, "cannot open run '%s': %s", name, strerror(e));
			rc = WF_EXIT_IO;
			goto fail;
		} else if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
			snprintf(err, n, "cannot create '%s': %s", r->dir, strerror(errno));
			rc = WF_EXIT_IO;
			goto fail;
		}
	}
	if ((rc = check_dir(r->dir, err, n)))
		goto fail;
	r->dirfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (r->dirfd < 0) {
		snprintf(err, n, "cannot open '%s': %s", r->dir, strerror(errno));
		rc = WF_EXIT_IO;
		goto fail;
	}
	if (flags & (WF_RUN_LOCK | WF_RUN_LOCK_SHORT)) {
		r->lockfd = openat(r->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (r->lockfd < 0) {
			snprintf(err, n, "cannot open '%s/lock': %s", r->dir, strerror(errno));
			rc = WF_EXIT_IO;
			goto fail;
		}
		/* A reader may hold it for a moment (wf status checks liveness): retry briefly. */
		int got = flock(r->lockfd, LOCK_EX | LOCK_NB) == 0;

		for (int i = 0; !got && i < 5 && errno == EWOULDBLOCK; i++) {
			usleep(10000);
			got = flock(r->lockfd, LOCK_EX | LOCK_NB) == 0;
		}
		if (!got) {
			char holder[128] = "";
			ssize_t k = pread(r->lockfd, holder, sizeof holder - 1, 0);

			if (k > 0) {
				holder[k] = '\0';
				holder[strcspn(holder, "\n")] = '\0';
			}
			snprintf(err, n, "run '%s' is busy: locked by %s%s (see 'wf status %s')", name,
				 k > 0 ? "pid " : "another process", k > 0 ? holder : "", name);
			rc = WF_EXIT_BUSY;
			goto fail;
		}
	}
	if (!(flags & WF_RUN_BARE) && (rc = wf_run_load(r, flags, err, n)))
		goto fail;
	if (flags & WF_RUN_LOCK) {
		remove_dead_temps(r->dirfd);
		{
			int sfd = openat(r->dirfd, "steps", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sfd >= 0) {
				remove_dead_temps(sfd);
				close(sfd);
			}
		}
	}
	if (flags & WF_RUN_LOCK) {
		/* Who holds it, for the message a second runner gets. */
		char pid[32];
		int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());

		if (ftruncate(r->lockfd, 0) == 0)
			(void)!pwrite(r->lockfd, pid, (size_t)len, 0);
	}
	*out = r;
	return 0;
fail:
	run_free(r);
	return rc;
}

/* G is borrowed. */
pid_t
wf_group_record_alive(jv g)
{
	pid_t pgid = (pid_t)wf_jv_num(g, "pgid", 0);

	return pgid > 0 && wf_pgroup_alive(pgid, (unsigned long long)wf_jv_num(g, "start", 0), wf_jv_str(g, "boot"))
		       ? pgid : 0;
}

int
wf_run_open_in(const char *proj, const char *name, int flags, struct wf_run **out, char *err, size_t n)
{
	return open_run(proj, name, wf_xasprintf("%s/runs/%s", proj, name), flags, out, err, n);
}

int
wf_run_open_sub(struct wf_run *parent, const char *step, int flags, struct wf_run **out, char *err, size_t n)
{
	int fd;

	*out = NULL;
	if (!wf_name_valid(step)) {
		snprintf(err, n, "step id '%.80s' cannot name a sub-run's directory", step);
		return WF_EXIT_DATA;
	}
	if (mkdirat(parent->dirfd, "sub", 0700) < 0 && errno != EEXIST) {
		snprintf(err, n, "cannot create '%s/sub': %s", parent->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	fd = openat(parent->dirfd, "sub", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, n, "cannot open '%s/sub': %s", parent->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	if (flags & WF_RUN_FRESH) {
		/* A fresh sub-run: whatever an earlier pass of the step left goes. */
		int old = openat(fd, step, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

		if (old >= 0) {
			wf_remove_tree(old);
			close(old);
		}
		(void)unlinkat(fd, step, AT_REMOVEDIR);
	}
	close(fd);
	return open_run(parent->proj, parent->name, wf_xasprintf("%s/sub/%s", parent->dir, step),
			flags & ~WF_RUN_FRESH, out, err, n);
}

/* Open (creating with FLAGS' WF_RUN_CREATE) directory NAME under the directory FD; the new fd, or -1 with errno. */
static int
open_subdir(int fd, const char *name, int create)
{
	if (create && mkdirat(fd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
}

int
wf_run_open_branch(struct wf_run *parent, const char *step, const char *branch, int flags, struct wf_run **out,
		   char *err, size_t n)
{
	int sub, fd, create = flags & WF_RUN_CREATE;

	*out = NULL;
	if (!wf_name_valid(step) || !wf_name_valid(branch)) {
		snprintf(err, n, "step id '%.80s' or branch '%.80s' cannot name a sub-run's directory", step, branch);
		return WF_EXIT_DATA;
	}
	sub = open_subdir(parent->dirfd, "sub", create);
	fd = sub < 0 ? -1 : open_subdir(sub, step, create);
	if (sub >= 0)
		close(sub);
	if (fd < 0) {
		int e = errno;

		snprintf(err, n, "cannot open '%s/sub/%s': %s", parent->dir, step, strerror(e));
		return e == ENOENT ? WF_EXIT_NOINPUT : WF_EXIT_IO;
	}
	if (flags & WF_RUN_FRESH) {
		int old = openat(fd, branch, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

		if (old >= 0) {
			wf_remove_tree(old);
			close(old);
		}
		(void)unlinkat(fd, branch, AT_REMOVEDIR);
	}
	close(fd);
	return open_run(parent->proj, parent->name, wf_xasprintf("%s/sub/%s/%s", parent->dir, step, branch),
			flags & ~WF_RUN_FRESH, out, err, n);
}

void
wf_run_clear_sub(struct wf_run *parent, const char *step)
{
	int sub, fd;

	if (!wf_name_valid(step) || (sub = open_subdir(parent->dirfd, "sub", 0)) < 0)
		return;
	fd = openat(sub, step, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		wf_remove_tree(fd);
		close(fd);
	}
	(void)unlinkat(sub, step, AT_REMOVEDIR);
	close(sub);
}

void
wf_run_close(struct wf_run *r)
{
	run_free(r);
}

int
wf_run_reset(struct wf_run *r, char *err, size_t n)
{
	/* A fresh run in the same directory: the old one goes to the history. */
	int rc = wf_history_retire(r, err, n);

	if (rc)
		return rc;
	if (r->journalfd >= 0)
		close(r->journalfd);
	r->journalfd = openat(r->dirfd, "history.jsonl",
			      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (r->journalfd < 0) {
		snprintf(err, n, "cannot open '%s/history.jsonl': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	jv_free(r->state);
	r->state = jv_object();
	r->seq = 0;
	r->lines = 0;
	r->last_crc[0] = '\0';
	r->journal_size = 0;
	return 0;
}

int
wf_run_write_file(struct wf_run *r, const char *name, const char *data, size_t len,
		  char *err, size_t n)
{
	if (wf_atomic_write(r->dirfd, name, data, len) < 0) {
		snprintf(err, n, "cannot write '%s/%s': %s", r->dir, name, strerror(errno));
		return WF_EXIT_IO;
	}
	return 0;
}

int
wf_remove_tree(int dfd)
{
	int dup_fd = dup(dfd), rc = 0;
	DIR *dh = dup_fd >= 0 ? fdopendir(dup_fd) : NULL;
	struct dirent *de;

	if (!dh)
		return -1;
	while ((de = readdir(dh))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub < 0 || wf_remove_tree(sub) < 0)
				rc = -1;
			if (sub >= 0)
				close(sub);
			if (unlinkat(dfd, de->d_name, AT_REMOVEDIR) < 0)
				rc = -1;
		} else if (unlinkat(dfd, de->d_name, 0) < 0) {
			rc = -1;
		}
	}
	closedir(dh);
	return rc;
}

int
wf_run_remove(struct wf_run *r, char *err, size_t n)
{
	if (wf_remove_tree(r->dirfd) < 0 || rmdir(r->dir) < 0) {
		snprintf(err, n, "cannot remove '%s': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	return 0;
}

int
wf_run_remove_forced(const char *name, char *err, size_t n)
{
	struct wf_run *r;
	int rc = wf_run_open(name, WF_RUN_LOCK | WF_RUN_BARE, &r, err, n);

	if (rc == WF_EXIT_DENIED) {
		/* A link planted as the run's directory: remove the link itself. */
		char *proj = NULL, *path = NULL, perr[512];
		struct stat st;

		if (wf_state_open_project(0, &proj, perr, sizeof perr) == 0 &&
		    lstat((path = wf_xasprintf("%s/runs/%s", proj, name)), &st) == 0 && S_ISLNK(st.st_mode)) {
			rc = 0;
			if (unlink(path) < 0) {
				snprintf(err, n, "cannot remove '%s': %s", path, strerror(errno));
				rc = WF_EXIT_IO;
			}
		}
		free(proj);
		free(path);
		return rc;
	}
	if (rc)
		return rc;
	rc = wf_run_remove(r, err, n);
	wf_run_close(r);
	return rc;
}

/* ---- what readers see ---- */

int
wf_run_is_live(struct wf_run *r)
{
	char err[256];
	struct wf_run *probe;
	int rc;

	if (r->past)
		return 0;
	rc = wf_run_open_in(r->proj, r->name, WF_RUN_LOCK_SHORT | WF_RUN_BARE, &probe, err, sizeof err);

	if (rc == 0)
		wf_run_close(probe);
	return rc == WF_EXIT_BUSY;
}

/* S is borrowed; the string returned lives as long as S. */
const char *
wf_run_status_shown(jv s, int live)
{
	const char *st = wf_jv_str(s, "status");

	if (!st)
		return "new";
	return !strcmp(st, "running") && !live ? "interrupted" : st;
}

/* The caller owns the view returned; r->state is not changed. */
jv
wf_run_view(struct wf_run *r, int live)
{
	jv v = jv_copy(r->state);

	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		v = jv_object();
	}
	v = jv_object_delete(v, jv_string("journal_offset"));
	v = jv_object_delete(v, jv_string("journal_line"));
	v = jv_object_set(v, jv_string("name"), jv_string(r->name));
	v = jv_object_set(v, jv_string("dir"), jv_string(r->dir));
	if (r->past)
		v = jv_object_set(v, jv_string("id"), jv_number(r->id));
	if (wf_jv_str(v, "status"))
		v = jv_object_set(v, jv_string("status"), jv_string(wf_run_status_shown(r->state, live)));
	return v;
}

/* ---- the pause request: a file pause-request in the run's directory ---- */

int
wf_run_request_pause(struct wf_run *r, char *err, size_t n)
{
	if (!wf_run_is_live(r)) {
		snprintf(err, n, "run '%s' is not running (status %s); nothing to pause", r->name,
			 wf_jv_str(r->state, "status") ? wf_jv_str(r->state, "status") : "new");
		return WF_EXIT_NOINPUT;
	}
	if (wf_atomic_write(r->dirfd, "pause-request", "pause\n", 6) < 0) {
		snprintf(err, n, "cannot write '%s/pause-request': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	return 0;
}

int
wf_run_take_pause(struct wf_run *r)
{
	if (faccessat(r->dirfd, "pause-request", F_OK, 0) < 0)
		return 0;
	wf_run_clear_pause(r);
	return 1;
}

void
wf_run_clear_pause(struct wf_run *r)
{
	unlinkat(r->dirfd, "pause-request", 0);
}
