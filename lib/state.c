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

/* Go on with a CRC-32 at C (0 to start) over P, N bytes. */
static uint32_t
crc32_more(uint32_t crc, const char *p, size_t n)
{
	uint32_t c = crc ^ 0xffffffffu;

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

static uint32_t
crc32_of(const char *p, size_t n)
{
	return crc32_more(0, p, n);
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

/* ST (consumed) with the object EV.KEY (EV borrowed) merged into ST.KEY. */
static jv
merge_key(jv st, jv ev, const char *key)
{
	jv have = wf_jv_get(st, key);

	if (jv_get_kind(ev) != JV_KIND_OBJECT || !jv_object_has(jv_copy(ev), jv_string(key))) {
		jv_free(have);
		return st;
	}
	if (jv_get_kind(have) != JV_KIND_OBJECT) {
		jv_free(have);
		have = jv_object();
	}
	st = jv_object_set(st, jv_string(key), jv_null());
	return jv_object_set(st, jv_string(key), merge_object(have, wf_jv_get(ev, key)));
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
		keep = jv_object_set(keep, jv_string("passes"), jv_object());
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
						      "error", "duration_ms", "usage", "stderr", "timed_out", NULL };

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
		/* Passes of each loop's body, in its current or last round (wf status shows them). */
		st = merge_key(st, ev, "passes");
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
		st = merge_key(st, ev, "passes");
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

/*
 * Check the checksum of one journal line (without its newline): the
 * length of its JSON body before the checksum, or 0 with WHY.
 */
static size_t
journal_check(const char *line, size_t n, char *why, size_t whylen)
{
	static const char tag[] = ",\"crc\":\"";
	size_t tl = sizeof tag - 1, body;
	char want[9];

	if (n < tl + 10 || line[n - 1] != '}' || line[n - 2] != '"' ||
	    memcmp(line + n - 2 - 8 - tl, tag, tl)) {
		snprintf(why, whylen, "no checksum");
		return 0;
	}
	body = n - 2 - 8 - tl;
	/* The checksum is of the line without it: the body closed by '}'. */
	snprintf(want, sizeof want, "%08x", crc32_more(crc32_of(line, body), "}", 1));
	if (memcmp(want, line + n - 10, 8)) {
		snprintf(why, whylen, "checksum mismatch");
		return 0;
	}
	return body;
}

/* Check one journal line (without its newline); returns the event or invalid. */
static jv
journal_parse(const char *line, size_t n, char *why, size_t whylen)
{
	size_t body = journal_check(line, n, why, whylen);
	char err[256], *copy;
	jv ev;

	if (!body)
		return jv_invalid();
	copy = wf_xmalloc(body + 2);
	memcpy(copy, line, body);
	copy[body] = '}';
	copy[body + 1] = '\0';
	ev = wf_json_parse(copy, body + 1, err, sizeof err);
	free(copy);
	if (!jv_is_valid(ev) || jv_get_kind(ev) != JV_KIND_OBJECT) {
		snprintf(why, whylen, "not a JSON object");
		jv_free(ev);
		return jv_invalid();
	}
	return ev;
}

/* ---- the snapshot, checked against the journal ---- */

/* OBJ[KEY] (OBJ borrowed) as a whole number 0..2^53, or -1 when it is not one. */
static double
count_of(jv obj, const char *key)
{
	double d = wf_jv_num(obj, key, -1);

	return d >= 0 && d <= 9007199254740992.0 && d == (double)(long long)d ? d : -1;
}

/* The checksum of journal line LINE (N bytes, no newline) into OUT. */
static void
line_crc(const char *line, size_t n, char out[9])
{
	memcpy(out, line + n - 10, 8);
	out[8] = '\0';
}

/*
 * state.json as read: the state it holds (without its bookkeeping keys),
 * where in the journal it stands, and whether it carries the checksum
 * wf_run_snapshot gives it (one edited by hand does not).
 */
struct snapshot {
	int present;		/* there is a state.json */
	jv state;		/* invalid when absent or unreadable */
	char why[128];		/* why it is unreadable */
	int sealed;		/* its own checksum is right */
	off_t offset;		/* journal_offset: the journal bytes it reflects */
	long seq, lines;	/* last_seq, journal_line */
	char event_crc[9];	/* journal_crc: the checksum of the event ending at offset */
};

static void
snapshot_read(int dirfd, struct snapshot *s)
{
	struct wf_buf b = {0};
	int fd = openat(dirfd, "state.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	char jerr[256];
	const char *c;
	size_t len;
	jv v;

	memset(s, 0, sizeof *s);
	s->state = jv_invalid();
	if (fd < 0) {
		int saved = errno;

		s->present = saved != ENOENT;
		snprintf(s->why, sizeof s->why, "cannot read it: %s", strerror(saved));
		return;
	}
	s->present = 1;
	if (wf_read_fd(fd, (size_t)256 << 20, &b) < 0) {
		snprintf(s->why, sizeof s->why, "cannot read it: %s", strerror(errno));
		close(fd);
		wf_buf_free(&b);
		return;
	}
	close(fd);
	len = b.len && b.s[b.len - 1] == '\n' ? b.len - 1 : b.len;
	v = journal_parse(b.s, len, jerr, sizeof jerr);
	s->sealed = jv_is_valid(v);
	if (!s->sealed) {
		jv_free(v);
		v = wf_json_parse(b.s, b.len, jerr, sizeof jerr);
	}
	wf_buf_free(&b);
	if (jv_get_kind(v) != JV_KIND_OBJECT) {
		snprintf(s->why, sizeof s->why, "not a JSON object");
		jv_free(v);
		return;
	}
	if (count_of(v, "journal_offset") < 0) {
		snprintf(s->why, sizeof s->why, "no journal_offset");
		jv_free(v);
		return;
	}
	s->offset = (off_t)count_of(v, "journal_offset");
	s->seq = (long)count_of(v, "last_seq");
	s->lines = count_of(v, "journal_line") > 0 ? (long)count_of(v, "journal_line") : 0;
	c = wf_jv_str(v, "journal_crc");
	if (c && strlen(c) == 8)
		memcpy(s->event_crc, c, 9);
	static const char *const books[] = { "journal_offset", "journal_line", "journal_crc", "crc", NULL };
	for (int i = 0; books[i]; i++)
		v = jv_object_delete(v, jv_string(books[i]));
	s->state = v;
}

/*
 * Does the sealed snapshot S stand where the journal has the event it
 * names?  Reads the few bytes before its offset: cheap enough for every
 * reader.
 */
static int
snapshot_at_event(int dirfd, const struct snapshot *s)
{
	char want[32], got[32];
	int len, fd, ok;

	if (!s->sealed)
		return 0;
	if (s->offset == 0)
		return s->seq == 0;
	len = snprintf(want, sizeof want, ",\"crc\":\"%s\"}\n", s->event_crc);
	if (!s->event_crc[0] || s->offset < len)
		return 0;
	fd = openat(dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	ok = pread(fd, got, (size_t)len, s->offset - len) == len && !memcmp(got, want, (size_t)len);
	close(fd);
	return ok;
}

/* V (consumed) as short JSON text for a message, malloc'd. */
static char *
brief(jv v)
{
	char *t = wf_json_dump(v);

	jv_free(v);
	if (strlen(t) > 60)
		strcpy(t + 57, "...");
	return t;
}

/* How A and B (borrowed) differ at KEY, malloc'd; NULL when they do not. */
static char *
key_differs(jv a, jv b, const char *key)
{
	jv x = wf_jv_get(a, key), y = wf_jv_get(b, key);
	char *sx, *sy, *why;

	if (!strcmp(key, "last_seq") || jv_equal(jv_copy(x), jv_copy(y))) {
		jv_free(x);
		jv_free(y);
		return NULL;
	}
	sx = brief(x);
	sy = brief(y);
	why = wf_xasprintf("%s %s, the journal says %s", key, sx, sy);
	free(sx);
	free(sy);
	return why;
}

/*
 * The snapshot's disagreement with the journal, when the journal's state
 * after event SEQ is AT (borrowed): "state.json disagrees with
 * history.jsonl (...)", malloc'd, or NULL when they agree.
 */
static char *
disagreement(const struct snapshot *s, jv at, long seq)
{
	static const char *const first[] = { "status", "cursor", "pending", "inflight", NULL };
	char *why = NULL, *msg;

	if (s->seq != seq)
		why = seq ? wf_xasprintf("last_seq %ld, but the event at its journal_offset is %ld", s->seq, seq) :
			    wf_xasprintf("last_seq %ld, but its journal_offset is the journal's start", s->seq);
	for (int i = 0; first[i] && !why; i++)
		why = key_differs(s->state, at, first[i]);
	for (int side = 0; side < 2 && !why; side++)
		jv_object_foreach(side ? at : s->state, k, v) {
			if (!why)
				why = key_differs(s->state, at, jv_string_value(k));
			jv_free(k);
			jv_free(v);
		}
	if (!why)
		return NULL;
	msg = wf_xasprintf("state.json disagrees with history.jsonl (%s)", why);
	free(why);
	return msg;
}

/*
 * Replaying the journal, at byte AT with state STATE (borrowed) after
 * event SEQ: compare the snapshot S (may be NULL) if it stands here, once.
 * The disagreement, malloc'd, or NULL.
 */
static char *
snapshot_check(const struct snapshot *s, off_t at, jv state, long seq, int *checked)
{
	if (!s || *checked || at != s->offset)
		return NULL;
	*checked = 1;
	return disagreement(s, state, seq);
}

/* The disagreement of a snapshot S whose offset no event of a journal of SIZE bytes ends at. */
static char *
snapshot_unmatched(const struct snapshot *s, off_t size)
{
	if (s->offset > size)
		return wf_xasprintf("state.json disagrees with history.jsonl (its journal_offset %lld is past the journal's end, %lld bytes)",
				    (long long)s->offset, (long long)size);
	return wf_xasprintf("state.json disagrees with history.jsonl (its journal_offset %lld is not where an event ends)",
			    (long long)s->offset);
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
	free(r->name);
	free(r->dir);
	free(r);
}

/*
 * Replay the journal from byte OFFSET, applying every event after r->seq
 * (and line r->lines) to r->state.  A torn last line is set aside (when
 * REPAIR) or ignored; damage before it, or a gap in the numbers, is
 * refused.  When SNAP is given, its state is compared with the journal's
 * where it stands, and r->snapshot_problem says how they disagree.
 * Returns 0 or an exit code with ERR.
 */
static int
replay(struct wf_run *r, off_t offset, int repair, const struct snapshot *snap, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t pos = 0;
	long lineno;
	int rc = 0, checked = 0;
	char *problem;

	if (fd < 0 && errno != ENOENT) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		return WF_EXIT_IO;
	}
	/* No journal reads as an empty one. */
	if (fd >= 0 && (lseek(fd, offset, SEEK_SET) < 0 || wf_read_fd(fd, (size_t)1 << 34, &b) < 0)) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		close(fd);
		wf_buf_free(&b);
		return WF_EXIT_IO;
	}
	if (fd >= 0)
		close(fd);
	r->journal_size = offset;
	lineno = r->lines;
	while (pos < b.len) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		size_t len = nl ? (size_t)(nl - (b.s + pos)) : b.len - pos;
		char why[64];
		jv ev;

		if ((problem = snapshot_check(snap, offset + (off_t)pos, r->state, r->seq, &checked)))
			r->snapshot_problem = problem;
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
		long seq = (long)count_of(ev, "seq");
		if (seq != r->seq + 1) {
			snprintf(err, n, "%s/history.jsonl line %ld: event %ld follows %ld; refusing to continue",
				 r->dir, lineno, seq, r->seq);
			jv_free(ev);
			rc = WF_EXIT_IO;
			break;
		}
		r->seq = seq;
		line_crc(b.s + pos, len, r->last_crc);
		r->state = wf_state_apply(r->state, ev);
		pos += len + 1;
		r->journal_size = offset + (off_t)pos;
		r->lines = lineno;
	}
	if (!rc && snap && !checked) {
		if (!(problem = snapshot_check(snap, r->journal_size, r->state, r->seq, &checked)) && !checked)
			problem = snapshot_unmatched(snap, r->journal_size);
		r->snapshot_problem = problem;
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

/*
 * Check the checksum of every journal line before byte END (what a
 * snapshot covers), so that a reader finds damage anywhere too.
 */
static int
check_prefix(struct wf_run *r, off_t end, char *err, size_t n)
{
	struct wf_buf b = {0};
	int fd = openat(r->dirfd, "history.jsonl", O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;
	size_t pos = 0;
	long line = 0;

	if (fd < 0)
		return 0;
	if (wf_read_fd(fd, (size_t)1 << 34, &b) < 0) {
		snprintf(err, n, "cannot read '%s/history.jsonl': %s", r->dir, strerror(errno));
		rc = WF_EXIT_IO;
	}
	close(fd);
	while (!rc && pos < b.len && pos < (size_t)end) {
		char *nl = memchr(b.s + pos, '\n', b.len - pos);
		char why[64];

		line++;
		if (!nl)
			break;
		if (!journal_check(b.s + pos, (size_t)(nl - (b.s + pos)), why, sizeof why)) {
			snprintf(err, n, "%s/history.jsonl line %ld: %s; refusing to continue (nothing was changed; see wf-state fsck)",
				 r->dir, line, why);
			rc = WF_EXIT_IO;
		}
		pos = (size_t)(nl - b.s) + 1;
	}
	wf_buf_free(&b);
	return rc;
}

/*
 * Fill r->state: the snapshot, then whatever the journal holds after it,
 * but only for a snapshot that is sealed and stands where the journal
 * has the event it names (and every line before it has a good checksum);
 * anything else is rebuilt from the whole journal, comparing the snapshot
 * on the way (see wf_run_open).
 */
static int
load_state(struct wf_run *r, int flags, char *err, size_t n)
{
	int write = flags & WF_RUN_WRITE, rc;
	struct snapshot s;

	snapshot_read(r->dirfd, &s);
	if (s.present && !jv_is_valid(s.state)) {
		r->snapshot_problem = wf_xasprintf("state.json is damaged (%s)", s.why);
		if (write) {
			char kept[64];

			snprintf(kept, sizeof kept, "state.json.corrupt-%ld", (long)time(NULL));
			renameat(r->dirfd, "state.json", r->dirfd, kept);
			wf_warn("%s/state.json is damaged: rebuilding it from the journal (kept as %s)",
				r->dir, kept);
		}
	}
	if (write) {
		r->journalfd = openat(r->dirfd, "history.jsonl",
				      O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (r->journalfd < 0) {
			snprintf(err, n, "cannot open '%s/history.jsonl': %s", r->dir, strerror(errno));
			jv_free(s.state);
			return WF_EXIT_IO;
		}
	}
	if (jv_is_valid(s.state) && snapshot_at_event(r->dirfd, &s)) {
		if ((rc = check_prefix(r, s.offset, err, n))) {
			jv_free(s.state);
			return rc;
		}
		jv_free(r->state);
		r->state = s.state;
		r->seq = s.seq;
		r->lines = s.lines;
		memcpy(r->last_crc, s.event_crc, sizeof r->last_crc);
		return replay(r, s.offset, write, NULL, err, n);
	}
	rc = replay(r, 0, write, jv_is_valid(s.state) ? &s : NULL, err, n);
	if (!rc && write && r->snapshot_problem) {
		char serr[512];

		if (jv_is_valid(s.state))
			wf_warn("run '%s': %s; rebuilt from the journal", r->name, r->snapshot_problem);
		/* A failure leaves a snapshot the next open checks again. */
		(void)wf_run_snapshot(r, serr, sizeof serr);
	}
	jv_free(s.state);
	return rc;
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
	if (!(flags & WF_RUN_BARE) && (rc = load_state(r, flags, err, n)))
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
	size_t len;
	char *txt;

	/* Where in the journal it stands, and sealed like a journal line. */
	s = jv_object_set(s, jv_string("journal_offset"), jv_number((double)r->journal_size));
	s = jv_object_set(s, jv_string("last_seq"), jv_number((double)r->seq));
	s = jv_object_set(s, jv_string("journal_line"), jv_number((double)r->lines));
	s = jv_object_set(s, jv_string("journal_crc"), jv_string(r->last_crc));
	txt = journal_line(s, &len);
	if (wf_atomic_write(r->dirfd, "state.json", txt, len) < 0) {
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
	/* No secret reaches the disk, in any form (secret.c). */
	full = merge_object(full, wf_secret_mask_jv(jv_copy(ev)));
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
	line_crc(line, len - 1, r->last_crc);
	free(line);
	r->seq++;
	r->lines++;
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

/*
 * Append to PROBLEMS (consumed, returned) what is wrong with the entries
 * of directory DFD, named with PREFIX: links, files that are not regular
 * or not private, temporary files left by a writer that died between
 * write and rename; the run's steps/ is checked inside too.
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
		else if (S_ISDIR(st.st_mode) && !*prefix && !strcmp(name, "steps")) {
			if (st.st_mode & 077)
				problems = jv_array_append(problems, jv_string_fmt("steps: mode %04o, expected 0700",
					(unsigned)(st.st_mode & 07777)));
			sub = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub >= 0) {
				problems = entry_problems(sub, "steps/", problems);
				close(sub);
			}
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

int
wf_run_fsck(struct wf_run *r, jv *report)
{
	/* Everything the crash tests rely on, checked from scratch; nothing is changed. */
	struct wf_buf b = {0};
	struct snapshot snap;
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
	snapshot_read(r->dirfd, &snap);
	if (snap.present && !jv_is_valid(snap.state))
		problems = jv_array_append(problems, jv_string_fmt("state.json: %s", snap.why));
	const struct snapshot *sp = jv_is_valid(snap.state) ? &snap : NULL;
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

		if ((why = snapshot_check(sp, (off_t)pos, rebuilt, seq, &checked))) {
			problems = jv_array_append(problems, jv_string(why));
			free(why);
		}
		line++;
		ev = nl ? journal_parse(b.s + pos, (size_t)(nl - (b.s + pos)), why2, sizeof why2) : jv_invalid();
		if (!jv_is_valid(ev)) {
			problems = jv_array_append(problems, jv_string_fmt("history.jsonl line %ld: %s", line, why2));
			jv_free(ev);
			if (!nl)
				break;
		} else {
			long s = (long)count_of(ev, "seq");

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
	if (sp && !(why = snapshot_check(sp, (off_t)pos, rebuilt, seq, &checked)) && !checked)
		why = snapshot_unmatched(sp, (off_t)pos);
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

int
wf_run_remove_forced(const char *name, char *err, size_t n)
{
	struct wf_run *r;
	int rc = wf_run_open(name, WF_RUN_LOCK | WF_RUN_BARE, &r, err, n);

	if (rc == WF_EXIT_DENIED) {
		/* A link planted as the run's directory: remove the link itself. */
		char *root = wf_state_root(), *path = wf_run_path(name), perr[512];
		struct stat st;

		if (wf_state_prepare(root, 0, perr, sizeof perr) == 0 && lstat(path, &st) == 0 &&
		    S_ISLNK(st.st_mode)) {
			rc = 0;
			if (unlink(path) < 0) {
				snprintf(err, n, "cannot remove '%s': %s", path, strerror(errno));
				rc = WF_EXIT_IO;
			}
		}
		free(root);
		free(path);
		return rc;
	}
	if (rc)
		return rc;
	rc = wf_run_remove(r, err, n);
	wf_run_close(r);
	return rc;
}
