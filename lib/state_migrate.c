/*
 * state_migrate.c: the layout before projects, read by moving it.  wf
 * once kept every run of a user in ROOT/runs/NAME/ and set finished ones
 * aside in ROOT/archive/NAME.TIME/.  Each such run now goes to the project
 * it ran in, found from the directory its run-start recorded (a run that
 * recorded none goes to the project "unknown", which 'wf status --all'
 * shows): a current run to PROJ/runs/NAME/ (or to the history when that
 * project already has a run of the name), an archived one to the
 * history, oldest first, so the numbers follow time.  Nothing is copied
 * or rewritten: directories are renamed whole, so a paused run resumes
 * where it stopped.  A run whose lock a live runner holds is left for a
 * later call; one that cannot be moved stays where it was, with a warning.
 * Layer 2: domain data.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"

/* The length of the time an archived run's name ends with: ".2026-11-29T12:34:56.789Z". */
#define STAMP_LEN 25

/* The "cwd" of a run in directory DFD: from state.json, else the journal's first event (malloc'd), or NULL. */
static char *
recorded_cwd(int dfd)
{
	static const char *const files[] = { "state.json", "history.jsonl", NULL };
	char *cwd = NULL;

	for (int i = 0; files[i] && !cwd; i++) {
		int fd = openat(dfd, files[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct wf_buf b = { 0 };

		if (fd >= 0 && wf_read_fd(fd, (size_t)64 << 20, &b) == 0 && b.s) {
			char perr[64];
			size_t len = i ? strcspn(b.s, "\n") : b.len;
			jv v = wf_json_parse(b.s, len, perr, sizeof perr);

			if (jv_get_kind(v) == JV_KIND_OBJECT && wf_jv_str(v, "cwd") && wf_jv_str(v, "cwd")[0] == '/')
				cwd = wf_xstrdup(wf_jv_str(v, "cwd"));
			jv_free(v);
		}
		if (fd >= 0)
			close(fd);
		wf_buf_free(&b);
	}
	return cwd;
}

/* The state directory of the project run DFD ran in, prepared (malloc'd), or NULL after a warning. */
static char *
project_of(int dfd, const char *what)
{
	char *cwd = recorded_cwd(dfd), *path = cwd ? wf_project_root(cwd) : wf_xstrdup("unknown");
	char *proj = wf_state_project(path), err[512];

	if (wf_state_prepare_project(proj, path, 1, err, sizeof err)) {
		wf_warn("cannot move %s to its project: %s", what, err);
		free(proj);
		proj = NULL;
	}
	free(cwd);
	free(path);
	return proj;
}

/* Move current run NAME of directory fd RUNS to its project, unless a live runner holds it. */
static void
move_run(int runs, const char *name)
{
	int dfd = openat(runs, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW), lfd;
	char *proj, *dest, err[512], what[300];
	struct stat st;

	if (dfd < 0)
		return;
	lfd = openat(dfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (lfd >= 0)
			close(lfd);
		close(dfd);
		return;
	}
	snprintf(what, sizeof what, "run '%s'", name);
	proj = project_of(dfd, what);
	dest = proj ? wf_xasprintf("%s/runs/%s", proj, name) : NULL;
	if (dest && lstat(dest, &st) < 0 && errno == ENOENT) {
		if (renameat(runs, name, AT_FDCWD, dest) < 0)
			wf_warn("cannot move run '%s' to '%s': %s", name, dest, strerror(errno));
	} else if (dest && wf_history_adopt(proj, runs, name, name, err, sizeof err)) {
		wf_warn("cannot move run '%s' to its project's history: %s", name, err);
	}
	free(dest);
	free(proj);
	close(lfd);
	close(dfd);
}

/* Move archived run D_NAME ("NAME.TIME") of directory fd ARCH to its project's history. */
static void
move_archived(int arch, const char *d_name)
{
	size_t len = strlen(d_name);
	int dfd = openat(arch, d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	char *name, *proj, err[512], what[300];

	if (dfd < 0 || len <= STAMP_LEN || d_name[len - STAMP_LEN] != '.') {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	name = wf_xstrndup(d_name, len - STAMP_LEN);
	snprintf(what, sizeof what, "archived run '%s'", d_name);
	if (wf_name_valid(name) && (proj = project_of(dfd, what))) {
		if (wf_history_adopt(proj, arch, d_name, name, err, sizeof err))
			wf_warn("cannot move archived run '%s' to its project's history: %s", d_name, err);
		free(proj);
	}
	free(name);
	close(dfd);
}

/* Oldest first: by the time that ends the name. */
static int
by_stamp(const struct dirent **a, const struct dirent **b)
{
	size_t la = strlen((*a)->d_name), lb = strlen((*b)->d_name);
	const char *sa = la > STAMP_LEN ? (*a)->d_name + la - STAMP_LEN : (*a)->d_name;
	const char *sb = lb > STAMP_LEN ? (*b)->d_name + lb - STAMP_LEN : (*b)->d_name;

	return strcmp(sa, sb);
}

static int
not_dot(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* Directory DIR of the old layout, opened when it is ours and safe: the fd, or -1. */
static int
old_dir(const char *root, const char *dir)
{
	char *p = wf_xasprintf("%s/%s", root, dir);
	struct stat st;
	int fd = -1;

	if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (st.st_uid == geteuid() && !(st.st_mode & 022))
			fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		else
			wf_warn("'%s' (runs of an older wf) is not yours or is writable by others; left as it is", p);
	}
	free(p);
	return fd;
}

void
wf_state_migrate(const char *root)
{
	static const char *const dirs[] = { "runs", "archive", NULL };

	for (int i = 0; dirs[i]; i++) {
		int fd = old_dir(root, dirs[i]);
		struct dirent **ents = NULL;
		int k = fd >= 0 ? scandirat(fd, ".", &ents, not_dot, i ? by_stamp : alphasort) : 0;

		for (int j = 0; j < k; j++) {
			if (i)
				move_archived(fd, ents[j]->d_name);
			else
				move_run(fd, ents[j]->d_name);
			free(ents[j]);
		}
		free(ents);
		if (fd >= 0) {
			close(fd);
			/* Gone when empty; kept while a run in it is still running. */
			char *p = wf_xasprintf("%s/%s", root, dirs[i]);

			(void)rmdir(p);
			free(p);
		}
	}
}
