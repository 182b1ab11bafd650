/*
 * state.c: the plain-file state store (wf-state(1), wf-json(7)).  A run
 * lives in ROOT/runs/NAME/: history.jsonl is the append-only journal and
 * the source of truth, one checksummed JSON event per line; state.json is
 * a snapshot of the journal's effect up to a byte offset, rewritten
 * atomically now and then; lock is the flock(2) that keeps one writer.
 * Reading a run is "snapshot, then replay the journal after it", so the
 * cost of a step never depends on how many came before.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "wf.h"

#define SNAPSHOT_EVERY 256

/* ---- small file helpers ---- */

static uint32_t crc_table[256];

static uint32_t
crc32_of(const char *p, size_t n)
{
	uint32_t c = 0xffffffffu;

	if (!crc_table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t k = i;

			for (int j = 0; j < 8; j++)
				k = k & 1 ? 0xedb88320u ^ (k >> 1) : k >> 1;
			crc_table[i] = k;
		}
	for (size_t i = 0; i < n; i++)
		c = crc_table[(c ^ (unsigned char)p[i]) & 0xff] ^ (c >> 8);
	return c ^ 0xffffffffu;
}

int
wf_atomic_write(int dirfd, const char *name, const char *data, size_t len)
{
	char tmp[PATH_MAX];
	int fd, saved;

	snprintf(tmp, sizeof tmp, ".%s.tmp.%ld", name, (long)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -1;
	if (wf_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		saved = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		saved = errno;
		unlinkat(dirfd, tmp, 0);
		errno = saved;
		return -1;
	}
	return fsync(dirfd);
}

/* ---- the root ---- */

char *
wf_state_root(void)
{
	const char *e = getenv("WF_STATE_DIR"), *x = getenv("XDG_STATE_HOME"), *h = getenv("HOME");

	if (e && *e)
		return wf_xstrdup(e);
	if (x && *x)
		return wf_xasprintf("%s/wf", x);
	return wf_xasprintf("%s/.local/state/wf", h && *h ? h : ".");
}

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
	char *runs = wf_xasprintf("%s/runs", root);
	int rc;

	if (create && mkdirs(runs) < 0) {
		snprintf(err, n, "cannot create state directory '%s': %s", runs, strerror(errno));
		free(runs);
		return errno == EACCES || errno == EROFS ? WF_EXIT_DENIED : WF_EXIT_IO;
	}
	rc = check_dir(root, err, n);
	if (!rc)
		rc = check_dir(runs, err, n);
	free(runs);
	return rc;
}

/* ---- the reducer: what an event does to the state ---- */

/* Does OBJ (borrowed) have a non-null KEY? */
static int
present(jv obj, const char *key)
{
	jv v = wf_jv_get(obj, key);
	int yes = jv_get_kind(v) != JV_KIND_NULL;

	jv_free(v);
	return yes;
}

static jv
merge_object(jv into, jv from)
{
	if (jv_get_kind(from) != JV_KIND_OBJECT) {
		jv_free(from);
		return into;
	}
	jv_object_foreach(from, k, v)
		into = jv_object_set(into, k, v);
	jv_free(from);
	return into;
}

jv
wf_state_apply(jv st, jv ev)
{
	const char *e = wf_jv_str(ev, "event");
	char *event = wf_xstrdup(e ? e : "");
	jv t = wf_jv_get(ev, "time");

	st = jv_object_set(st, jv_string("last_seq"), wf_jv_get(ev, "seq"));
	st = jv_object_set(st, jv_string("updated"), t);
	if (!strcmp(event, "run-start")) {
		jv keep = jv_object();
		static const char *const fields[] = { "name", "workflow", "hash", "cwd", "cursor",
						      "vars", "model", "original_model", "pid", NULL };

		for (int i = 0; fields[i]; i++)
			keep = jv_object_set(keep, jv_string(fields[i]), wf_jv_get(ev, fields[i]));
		keep = jv_object_set(keep, jv_string("status"), jv_string("running"));
		keep = jv_object_set(keep, jv_string("started"), wf_jv_get(ev, "time"));
		keep = jv_object_set(keep, jv_string("updated"), wf_jv_get(ev, "time"));
		keep = jv_object_set(keep, jv_string("last_seq"), wf_jv_get(ev, "seq"));
		keep = jv_object_set(keep, jv_string("steps"), jv_object());
		keep = jv_object_set(keep, jv_string("loops"), jv_object());
		keep = jv_object_set(keep, jv_string("iteration"), jv_number(0));
		keep = jv_object_set(keep, jv_string("last"), jv_null());
		keep = jv_object_set(keep, jv_string("steps_run"), jv_number(0));
		keep = jv_object_set(keep, jv_string("inflight"), jv_null());
		keep = jv_object_set(keep, jv_string("pending"), jv_null());
		keep = jv_object_set(keep, jv_string("usage"), jv_object());
		keep = jv_object_set(keep, jv_string("trail"), jv_array());
		jv_free(st);
		st = keep;
	} else if (!strcmp(event, "step-start")) {
		jv inf = jv_object();

		inf = jv_object_set(inf, jv_string("step"), wf_jv_get(ev, "step"));
		inf = jv_object_set(inf, jv_string("attempt"), wf_jv_get(ev, "attempt"));
		inf = jv_object_set(inf, jv_string("seq"), wf_jv_get(ev, "seq"));
		st = jv_object_set(st, jv_string("inflight"), inf);
		st = jv_object_set(st, jv_string("status"), jv_string("running"));
	} else if (!strcmp(event, "step-pgid")) {
		/* A process group the step in flight started: a resume checks it is gone. */
		jv inf = wf_jv_get(st, "inflight"), groups, g = jv_object();

		if (jv_get_kind(inf) == JV_KIND_OBJECT) {
			groups = wf_jv_get(inf, "groups");
			if (jv_get_kind(groups) != JV_KIND_ARRAY) {
				jv_free(groups);
				groups = jv_array();
			}
			g = jv_object_set(g, jv_string("pgid"), wf_jv_get(ev, "pgid"));
			g = jv_object_set(g, jv_string("start"), wf_jv_get(ev, "start"));
			g = jv_object_set(g, jv_string("boot"), wf_jv_get(ev, "boot"));
			inf = jv_object_set(inf, jv_string("groups"), jv_array_append(groups, g));
			st = jv_object_set(st, jv_string("inflight"), inf);
		} else {
			jv_free(g);
			jv_free(inf);
		}
	} else if (!strcmp(event, "step-end")) {
		const char *id = wf_jv_str(ev, "step");
		jv rec = jv_object();
		static const char *const fields[] = { "status", "exit_code", "output", "approved",
						      "error", "duration_ms", "usage", NULL };

		for (int i = 0; fields[i]; i++) {
			jv v = wf_jv_get(ev, fields[i]);

			if (jv_get_kind(v) != JV_KIND_NULL || i < 3)
				rec = jv_object_set(rec, jv_string(fields[i]), v);
			else
				jv_free(v);
		}
		if (id) {
			jv steps = jv_object_get(jv_copy(st), jv_string("steps"));

			if (jv_get_kind(steps) != JV_KIND_OBJECT) {
				jv_free(steps);
				steps = jv_object();
			}
			st = jv_object_set(st, jv_string("steps"), jv_null());
			steps = jv_object_set(steps, jv_string(id), jv_copy(rec));
			st = jv_object_set(st, jv_string("steps"), steps);
		}
		rec = jv_object_set(rec, jv_string("id"), wf_jv_get(ev, "step"));
		st = jv_object_set(st, jv_string("last"), rec);
		{
			jv vars = wf_jv_get(st, "vars");

			if (jv_get_kind(vars) != JV_KIND_OBJECT) {
				jv_free(vars);
				vars = jv_object();
			}
			st = jv_object_set(st, jv_string("vars"), jv_null());
			st = jv_object_set(st, jv_string("vars"), merge_object(vars, wf_jv_get(ev, "vars")));
		}
		{
			jv loops = wf_jv_get(st, "loops");

			if (jv_get_kind(loops) != JV_KIND_OBJECT) {
				jv_free(loops);
				loops = jv_object();
			}
			st = jv_object_set(st, jv_string("loops"), jv_null());
			st = jv_object_set(st, jv_string("loops"), merge_object(loops, wf_jv_get(ev, "loops")));
		}
		if (present(ev, "iteration"))
			st = jv_object_set(st, jv_string("iteration"), wf_jv_get(ev, "iteration"));
		if (present(ev, "model"))
			st = jv_object_set(st, jv_string("model"), wf_jv_get(ev, "model"));
		{
			/* The conversation so far, for the next model call (kept bounded). */
			jv msgs = wf_jv_get(ev, "messages");

			if (jv_get_kind(msgs) == JV_KIND_ARRAY) {
				jv tr = wf_jv_get(st, "transcript");
				int n;

				if (jv_get_kind(tr) != JV_KIND_ARRAY) {
					jv_free(tr);
					tr = jv_array();
				}
				st = jv_object_set(st, jv_string("transcript"), jv_null());
				tr = jv_array_concat(tr, msgs);
				n = jv_array_length(jv_copy(tr));
				if (n > 50)
					tr = jv_array_slice(tr, n - 50, n);
				st = jv_object_set(st, jv_string("transcript"), tr);
			} else {
				jv_free(msgs);
			}
		}
		st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "cursor"));
		st = jv_object_set(st, jv_string("inflight"), jv_null());
		st = jv_object_set(st, jv_string("steps_run"),
				   jv_number(wf_jv_num(st, "steps_run", 0) + 1));
		{
			/* The last few steps, for naming a cycle at the step limit. */
			jv trail = wf_jv_get(st, "trail");
			int n;

			if (jv_get_kind(trail) != JV_KIND_ARRAY) {
				jv_free(trail);
				trail = jv_array();
			}
			st = jv_object_set(st, jv_string("trail"), jv_null());
			trail = jv_array_append(trail, wf_jv_get(ev, "step"));
			n = jv_array_length(jv_copy(trail));
			if (n > 32)
				trail = jv_array_slice(trail, n - 32, n);
			st = jv_object_set(st, jv_string("trail"), trail);
		}
		{
			jv u = wf_jv_get(ev, "usage");

			if (jv_get_kind(u) == JV_KIND_OBJECT) {
				jv tot = wf_jv_get(st, "usage");
				const char *m = wf_jv_str(u, "model");
				char *key = wf_xstrdup(m ? m : "unknown");
				jv per = wf_jv_get(tot, key);

				if (jv_get_kind(per) != JV_KIND_OBJECT) {
					jv_free(per);
					per = jv_object();
				}
				static const char *const nums[] = { "input_tokens", "output_tokens",
								    "cached_tokens", "calls", NULL };
				for (int i = 0; nums[i]; i++)
					per = jv_object_set(per, jv_string(nums[i]),
						jv_number(wf_jv_num(per, nums[i], 0) +
							  (i == 3 ? 1 : wf_jv_num(u, nums[i], 0))));
				jv usd = wf_jv_get(u, "usd");
				if (jv_get_kind(usd) == JV_KIND_NUMBER) {
					jv prev = wf_jv_get(per, "usd");
					if (jv_get_kind(prev) != JV_KIND_NULL || !jv_object_has(jv_copy(per), jv_string("usd")))
						per = jv_object_set(per, jv_string("usd"),
							jv_number(wf_jv_num(per, "usd", 0) + jv_number_value(usd)));
					jv_free(prev);
				} else {
					per = jv_object_set(per, jv_string("usd"), jv_null());
				}
				jv_free(usd);
				tot = jv_object_set(tot, jv_string(key), per);
				st = jv_object_set(st, jv_string("usage"), tot);
				free(key);
			}
			jv_free(u);
		}
	} else if (!strcmp(event, "var-set") || !strcmp(event, "resume")) {
		jv vars = wf_jv_get(st, "vars");

		if (jv_get_kind(vars) != JV_KIND_OBJECT) {
			jv_free(vars);
			vars = jv_object();
		}
		st = jv_object_set(st, jv_string("vars"), jv_null());
		st = jv_object_set(st, jv_string("vars"), merge_object(vars, wf_jv_get(ev, "vars")));
		if (!strcmp(event, "resume")) {
			st = jv_object_set(st, jv_string("status"), jv_string("running"));
			st = jv_object_set(st, jv_string("pid"), wf_jv_get(ev, "pid"));
			/* A skip past the last step sets the cursor to null: the end. */
			if (jv_object_has(jv_copy(ev), jv_string("cursor")))
				st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "cursor"));
			if (present(ev, "hash"))
				st = jv_object_set(st, jv_string("hash"), wf_jv_get(ev, "hash"));
			st = jv_object_set(st, jv_string("inflight"), jv_null());
			st = jv_object_set(st, jv_string("pending"), jv_null());
		}
	} else if (!strcmp(event, "pause") || !strcmp(event, "run-end")) {
		const char *s = wf_jv_str(ev, "status");

		st = jv_object_set(st, jv_string("status"),
				   jv_string(s ? s : !strcmp(event, "pause") ? "paused" : "completed"));
		st = jv_object_set(st, jv_string("reason"), wf_jv_get(ev, "reason"));
		if (present(ev, "pending"))
			st = jv_object_set(st, jv_string("pending"), wf_jv_get(ev, "pending"));
		if (present(ev, "cursor"))
			st = jv_object_set(st, jv_string("cursor"), wf_jv_get(ev, "cursor"));
		/* A stop during a step keeps it in doubt, for the resume to decide. */
		st = jv_object_set(st, jv_string("inflight"), wf_jv_get(ev, "inflight"));
		st = jv_object_set(st, jv_string("pid"), jv_null());
	} else if (!strcmp(event, "consent")) {
		const char *dec = wf_jv_str(ev, "decision");

		if (dec && !strcmp(dec, "always"))
			st = jv_object_set(st, jv_string("consent_always"), jv_true());
	} else if (!strcmp(event, "loop-reset")) {
		jv loops = wf_jv_get(st, "loops");

		st = jv_object_set(st, jv_string("loops"), jv_null());
		st = jv_object_set(st, jv_string("loops"), merge_object(loops, wf_jv_get(ev, "loops")));
	}
	free(event);
	jv_free(ev);
	return st;
}

/* ---- journal lines ---- */

/* The text of event EV (consumed) with its checksum, newline-terminated. */
static char *
journal_line(jv ev, size_t *len)
{
	jv s = jv_dump_string(ev, 0);
	const char *txt = jv_string_value(s);
	size_t n = strlen(txt);
	uint32_t crc = crc32_of(txt, n);
	char *line = wf_xmalloc(n + 24);

	/* {...} becomes {...,"crc":"xxxxxxxx"} so a line is still plain JSON. */
	memcpy(line, txt, n - 1);
	n = (size_t)((n - 1) + (size_t)snprintf(line + n - 1, 25, ",\"crc\":\"%08x\"}\n", crc));
	jv_free(s);
	*len = n;
	return line;
}

/* Check one journal line (without its newline); returns the event or invalid. */
static jv
journal_parse(const char *line, size_t n, char *why, size_t whylen)
{
	static const char tag[] = ",\"crc\":\"";
	size_t tl = sizeof tag - 1;
	char err[256];

	if (n < tl + 10 || line[n - 1] != '}' || line[n - 2] != '"' ||
	    memcmp(line + n - 2 - 8 - tl, tag, tl)) {
		snprintf(why, whylen, "no checksum");
		return jv_invalid();
	}
	char hex[9];
	memcpy(hex, line + n - 10, 8);
	hex[8] = '\0';
	size_t body = n - 2 - 8 - tl;
	char *copy = wf_xmalloc(body + 2);
	memcpy(copy, line, body);
	copy[body] = '}';
	copy[body + 1] = '\0';
	char want[9];
	snprintf(want, sizeof want, "%08x", crc32_of(copy, body + 1));
	if (strcmp(want, hex)) {
		free(copy);
		snprintf(why, whylen, "checksum mismatch");
		return jv_invalid();
	}
	jv ev = wf_json_parse(copy, body + 1, err, sizeof err);
	free(copy);
	if (!jv_is_valid(ev) || jv_get_kind(ev) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "not a JSON object");
		jv_free(ev);
		return jv_invalid();
	}
	return ev;
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
	free(r->name);
	free(r->dir);
	free(r);
}

/*
 * Replay the journal from byte OFFSET, applying every event after SEQ to
 * r->state.  A torn last line is set aside (when REPAIR) or ignored;
 * damage before it is refused.  Returns 0 or an exit code with ERR.
 */
static int
replay(struct wf_run *r, off_t offset, int repair, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t pos = 0;
	long lineno;
	int rc = 0;

	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	if (lseek(fd, offset, SEEK_SET) < 0 || wf_read_fd(fd, (size_t)1 << 34, &b) < 0) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		close(fd);
		wf_buf_free(&b);
		return WF_EXIT_IO;
	}
	close(fd);
	r->journal_size = offset;
	lineno = (long)wf_jv_num(r->state, "journal_line", 0);
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		size_t len = nl ? (size_t)(nl - (b.s + pos)) : b.len - pos;
		char why[64];
		jv ev;

		lineno++;
		ev = nl ? journal_parse(b.s + pos, len, why, sizeof why) : jv_invalid();
		if (!nl)
			snprintf(why, sizeof why, "no newline");
		if (!jv_is_valid(ev)) {
			jv_free(ev);
			if (!nl || !memchr(nl + 1, '\n', b.len - (size_t)(nl + 1 - b.s))) {
				/* The last line: a crash in the middle of an append. */
				if (repair) {
					char name[64];
					int tfd;

					snprintf(name, sizeof name, "history.jsonl.torn-%ld", (long)time(NULL));
					tfd = openat(r->dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
					if (tfd >= 0) {
						wf_write_all(tfd, b.s + pos, b.len - pos);
						fsync(tfd);
						close(tfd);
					}
					if (ftruncate(r->journalfd, offset + (off_t)pos) < 0 ||
					    fsync(r->journalfd) < 0) {
						snprintf(err, n, "cannot repair '%s/history.jsonl': %s", r->dir,
							 strerror(errno));
						rc = WF_EXIT_IO;
						break;
					}
					wf_warn("%s/history.jsonl line %ld: discarding an incomplete final record (%s; saved to %s)",
						r->dir, lineno, why, name);
				}
				r->journal_size = offset + (off_t)pos;
				break;
			}
			snprintf(err, n, "%s/history.jsonl line %ld: %s; refusing to continue (nothing was changed; see wf-state fsck)",
				 r->dir, lineno, why);
			rc = WF_EXIT_IO;
			break;
		}
		long seq = (long)wf_jv_num(ev, "seq", -1);
		if (seq != r->seq + 1) {
			snprintf(err, n, "%s/history.jsonl line %ld: event %ld follows %ld; refusing to continue",
				 r->dir, lineno, seq, r->seq);
			jv_free(ev);
			rc = WF_EXIT_IO;
			break;
		}
		r->seq = seq;
		r->state = wf_state_apply(r->state, ev);
		pos += len + 1;
		r->journal_size = offset + (off_t)pos;
	}
	r->state = jv_object_set(r->state, jv_string("journal_line"), jv_number((double)lineno - (rc || pos < b.len ? 1 : 0)));
	wf_buf_free(&b);
	return rc;
}

/*
 * Check the checksum of every line before byte END (what the snapshot
 * already covers), so that damage anywhere is found before we write.
 */
static int
verify_prefix(struct wf_run *r, off_t end, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t pos = 0;
	long line = 0;
	int rc = 0;

	if (fd < 0 || end <= 0) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (wf_read_fd(fd, (size_t)1 << 34, &b) < 0) {
		close(fd);
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	close(fd);
	while (pos < (size_t)end && pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why[64];
		jv ev;

		line++;
		if (!nl)
			break;
		ev = journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why);
		if (!jv_is_valid(ev)) {
			snprintf(err, n, "%s/history.jsonl line %ld: %s; refusing to continue (nothing was changed; see wf-state fsck)",
				 r->dir, line, why);
			rc = WF_EXIT_IO;
			jv_free(ev);
			break;
		}
		jv_free(ev);
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	return rc;
}

char *
wf_run_path(const char *name)
{
	char *root = wf_state_root();
	char *p = wf_xasprintf("%s/runs/%s", root, name);

	free(root);
	return p;
}

int
wf_run_open(const char *name, int flags, struct wf_run **out, char *err, size_t n)
{
	struct wf_run *r;
	char *root;
	int rc;
	struct stat st;

	*out = NULL;
	if (!wf_name_valid(name)) {
		snprintf(err, n, "invalid run name '%.80s'", name);
		return WF_EXIT_DATA;
	}
	root = wf_state_root();
	rc = wf_state_prepare(root, flags & WF_RUN_CREATE, err, n);
	if (rc) {
		if (!(flags & WF_RUN_CREATE) && errno == ENOENT && rc == WF_EXIT_IO) {
			snprintf(err, n, "no run named '%s' (see 'wf status')", name);
			rc = WF_EXIT_NOINPUT;
		}
		free(root);
		return rc;
	}
	r = wf_xcalloc(1, sizeof *r);
	r->dirfd = r->lockfd = r->journalfd = -1;
	r->name = wf_xstrdup(name);
	r->dir = wf_xasprintf("%s/runs/%s", root, name);
	r->state = jv_object();
	r->seq = 0;
	free(root);
	if (lstat(r->dir, &st) < 0) {
		if (errno != ENOENT || !(flags & WF_RUN_CREATE)) {
			snprintf(err, n, errno == ENOENT ? "no run named '%s' (see 'wf status')" : "cannot open run '%s': %s",
				 name, strerror(errno));
			rc = errno == ENOENT ? WF_EXIT_NOINPUT : WF_EXIT_IO;
			goto fail;
		}
		if (mkdir(r->dir, 0700) < 0 && errno != EEXIST) {
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
	/* The snapshot, then whatever the journal holds after it. */
	{
		struct wf_buf b = {0};
		int fd = openat(r->dirfd, "state.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		off_t off = 0;

		if (fd >= 0) {
			char jerr[256];
			int ok = wf_read_fd(fd, (size_t)256 << 20, &b) == 0;
			jv s = ok ? wf_json_parse(b.s, b.len, jerr, sizeof jerr) : jv_invalid();

			close(fd);
			if (jv_get_kind(s) == JV_KIND_OBJECT &&
			    jv_get_kind(wf_jv_get(s, "journal_offset")) == JV_KIND_NUMBER) {
				jv_free(r->state);
				r->state = s;
				off = (off_t)wf_jv_num(s, "journal_offset", 0);
				r->seq = (long)wf_jv_num(s, "last_seq", 0);
			} else {
				jv_free(s);
				if (flags & WF_RUN_WRITE) {
					char name2[64];

					snprintf(name2, sizeof name2, "state.json.corrupt-%ld", (long)time(NULL));
					renameat(r->dirfd, "state.json", r->dirfd, name2);
					wf_warn("%s/state.json is damaged: rebuilding it from the journal (kept as %s)",
						r->dir, name2);
				}
			}
			wf_buf_free(&b);
		}
		if (flags & WF_RUN_WRITE) {
			r->journalfd = openat(r->dirfd, "history.jsonl",
					      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
			if (r->journalfd < 0) {
				snprintf(err, n, "cannot open '%s/history.jsonl': %s", r->dir, strerror(errno));
				rc = WF_EXIT_IO;
				goto fail;
			}
		}
		if (fstatat(r->dirfd, "history.jsonl", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size < off) {
			/* A snapshot ahead of its journal: trust the journal. */
			jv_free(r->state);
			r->state = jv_object();
			r->seq = 0;
			off = 0;
		}
		if ((flags & WF_RUN_WRITE) && (rc = verify_prefix(r, off, err, n)))
			goto fail;
		rc = replay(r, off, flags & WF_RUN_WRITE, err, n);
		if (rc)
			goto fail;
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

void
wf_run_close(struct wf_run *r)
{
	run_free(r);
}

int
wf_run_exists(const char *name)
{
	char *p = wf_run_path(name);
	struct stat st;
	int ok = lstat(p, &st) == 0 && S_ISDIR(st.st_mode);

	free(p);
	return ok;
}

int
wf_run_snapshot(struct wf_run *r, char *err, size_t n)
{
	jv s = jv_copy(r->state);
	char *txt;

	s = jv_object_set(s, jv_string("journal_offset"), jv_number((double)r->journal_size));
	s = jv_object_set(s, jv_string("last_seq"), jv_number((double)r->seq));
	txt = wf_json_dump(s);
	jv_free(s);
	if (wf_atomic_write(r->dirfd, "state.json", txt, strlen(txt)) < 0) {
		snprintf(err, n, "cannot write '%s/state.json': %s", r->dir, strerror(errno));
		free(txt);
		return WF_EXIT_IO;
	}
	free(txt);
	r->events_since_snapshot = 0;
	return 0;
}

int
wf_run_append(struct wf_run *r, jv ev, int durable, char *err, size_t n)
{
	char now[32];
	size_t len;
	char *line;
	jv full = jv_object();

	wf_now_iso(now);
	full = jv_object_set(full, jv_string("seq"), jv_number((double)(r->seq + 1)));
	full = jv_object_set(full, jv_string("time"), jv_string(now));
	full = merge_object(full, jv_copy(ev));
	line = journal_line(jv_copy(full), &len);
	if (wf_write_all(r->journalfd, line, len) < 0 ||
	    (durable && fdatasync(r->journalfd) < 0)) {
		int saved = errno;

		/* Never leave half a record behind. */
		if (ftruncate(r->journalfd, r->journal_size) == 0)
			fdatasync(r->journalfd);
		snprintf(err, n, "cannot write '%s/history.jsonl': %s", r->dir, strerror(saved));
		free(line);
		jv_free(full);
		jv_free(ev);
		errno = saved;
		return WF_EXIT_IO;
	}
	free(line);
	r->seq++;
	r->journal_size += (off_t)len;
	r->state = wf_state_apply(r->state, full);
	jv_free(ev);
	if (++r->events_since_snapshot >= SNAPSHOT_EVERY)
		return wf_run_snapshot(r, err, n);
	return 0;
}

int
wf_run_reset(struct wf_run *r, char *err, size_t n)
{
	/* A fresh run in the same directory: old journal and outputs go to archive/. */
	char *root = wf_state_root();
	char *arch = wf_xasprintf("%s/archive", root);
	char stamp[32];
	char *dest;

	wf_now_iso(stamp);
	dest = wf_xasprintf("%s/%s.%s", arch, r->name, stamp);
	free(root);
	if ((mkdir(arch, 0700) < 0 && errno != EEXIST)) {
		snprintf(err, n, "cannot create '%s': %s", arch, strerror(errno));
		free(arch);
		free(dest);
		return WF_EXIT_IO;
	}
	if (mkdir(dest, 0700) < 0) {
		snprintf(err, n, "cannot create '%s': %s", dest, strerror(errno));
		free(arch);
		free(dest);
		return WF_EXIT_IO;
	}
	static const char *const files[] = { "history.jsonl", "state.json", "workflow.json", "steps", NULL };
	for (int i = 0; files[i]; i++) {
		char *to = wf_xasprintf("%s/%s", dest, files[i]);

		if (renameat(r->dirfd, files[i], AT_FDCWD, to) < 0 && errno != ENOENT) {
			snprintf(err, n, "cannot archive '%s/%s': %s", r->dir, files[i], strerror(errno));
			free(to);
			free(arch);
			free(dest);
			return WF_EXIT_IO;
		}
		free(to);
	}
	fsync(r->dirfd);
	free(arch);
	free(dest);
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

jv
wf_run_read_journal(struct wf_run *r, long from_seq, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	jv out = jv_array();
	size_t pos = 0;

	if (fd < 0)
		return out;
	if (wf_read_fd(fd, (size_t)1 << 34, &b) < 0) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		close(fd);
		wf_buf_free(&b);
		jv_free(out);
		return jv_invalid();
	}
	close(fd);
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why[64];

		if (!nl)
			break;
		jv ev = journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why);
		if (jv_is_valid(ev) && wf_jv_num(ev, "seq", 0) >= (double)from_seq)
			out = jv_array_append(out, ev);
		else
			jv_free(ev);
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	return out;
}

int
wf_run_fsck(struct wf_run *r, jv *report)
{
	/* Everything the crash tests rely on, checked from scratch. */
	struct wf_buf b = {0};
	jv problems = jv_array(), rebuilt = jv_object();
	int fd;
	long seq = 0, line = 0;
	struct stat st;
	size_t pos = 0;

	if (fstat(r->dirfd, &st) == 0 && (st.st_mode & 077))
		problems = jv_array_append(problems, jv_string_fmt("%s: mode %04o, expected 0700",
			r->dir, (unsigned)(st.st_mode & 07777)));
	static const char *const files[] = { "history.jsonl", "state.json", "workflow.json", "lock", NULL };
	for (int i = 0; files[i]; i++)
		if (fstatat(r->dirfd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISREG(st.st_mode))
				problems = jv_array_append(problems, jv_string_fmt("%s: not a regular file", files[i]));
			else if (st.st_mode & 077)
				problems = jv_array_append(problems, jv_string_fmt("%s: mode %04o, expected 0600",
					files[i], (unsigned)(st.st_mode & 07777)));
		}
	fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		wf_read_fd(fd, (size_t)1 << 34, &b);
		close(fd);
	}
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why[64] = "no newline";
		jv ev;

		line++;
		ev = nl ? journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why) : jv_invalid();
		if (!jv_is_valid(ev)) {
			problems = jv_array_append(problems, jv_string_fmt("history.jsonl line %ld: %s", line, why));
			jv_free(ev);
			if (!nl)
				break;
		} else {
			long s = (long)wf_jv_num(ev, "seq", -1);

			if (s != seq + 1)
				problems = jv_array_append(problems,
					jv_string_fmt("history.jsonl line %ld: event %ld follows %ld", line, s, seq));
			seq = s;
			rebuilt = wf_state_apply(rebuilt, ev);
		}
		if (!nl)
			break;
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	/* The snapshot must agree with the journal it claims to reflect. */
	{
		jv a = jv_copy(r->state), c = jv_copy(rebuilt);
		static const char *const keys[] = { "cursor", "vars", "loops", "status", "steps_run", NULL };

		for (int i = 0; keys[i]; i++) {
			jv x = wf_jv_get(a, keys[i]), y = wf_jv_get(c, keys[i]);

			if (!jv_equal(x, y))
				problems = jv_array_append(problems,
					jv_string_fmt("state and journal disagree on '%s'", keys[i]));
		}
		jv_free(a);
		jv_free(c);
	}
	/* Leftover temporary files mean a writer died between write and rename. */
	{
		int dfd = dup(r->dirfd);
		DIR *dh = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;

		if (dh) {
			rewinddir(dh);
			while ((de = readdir(dh)))
				if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp."))
					problems = jv_array_append(problems,
						jv_string_fmt("leftover temporary file '%s'", de->d_name));
			closedir(dh);
		}
	}
	*report = jv_object_set(jv_object_set(jv_object_set(jv_object(),
		jv_string("run"), jv_string(r->name)), jv_string("events"), jv_number((double)seq)),
		jv_string("problems"), jv_copy(problems));
	int bad = jv_array_length(problems) > 0;
	jv_free(rebuilt);
	return bad ? WF_EXIT_IO : 0;
}

/* Remove everything below directory fd DFD, never following links. */
static int
remove_tree(int dfd)
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

			if (sub < 0 || remove_tree(sub) < 0)
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
	if (remove_tree(r->dirfd) < 0 || rmdir(r->dir) < 0) {
		snprintf(err, n, "cannot remove '%s': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	return 0;
}
