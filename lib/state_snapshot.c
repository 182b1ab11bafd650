/*
 * state_snapshot.c: a run's snapshot, state.json: writing it, reading it,
 * and loading a run's state from it and the journal after it.
 * Layer 2: domain data.
 * The snapshot is a cache and never overrides the journal: it is used
 * only when it is sealed (its own checksum) and stands where the journal
 * has the event it names; any other is compared with the state rebuilt
 * from the whole journal, and r->snapshot_problem says how they differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wf_priv.h"

void
wf_snapshot_read(int dirfd, struct wf_snapshot *s)
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
	v = wf_journal_parse(b.s, len, jerr, sizeof jerr);
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
	if (wf_journal_count(v, "journal_offset") < 0) {
		snprintf(s->why, sizeof s->why, "no journal_offset");
		jv_free(v);
		return;
	}
	s->offset = (off_t)wf_journal_count(v, "journal_offset");
	s->seq = (long)wf_journal_count(v, "last_seq");
	s->lines = wf_journal_count(v, "journal_line") > 0 ? (long)wf_journal_count(v, "journal_line") : 0;
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
snapshot_at_event(int dirfd, const struct wf_snapshot *s)
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
disagreement(const struct wf_snapshot *s, jv at, long seq)
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
char *
wf_snapshot_check(const struct wf_snapshot *s, off_t at, jv state, long seq, int *checked)
{
	if (!s || *checked || at != s->offset)
		return NULL;
	*checked = 1;
	return disagreement(s, state, seq);
}

/* The disagreement of a snapshot S whose offset no event of a journal of SIZE bytes ends at. */
char *
wf_snapshot_unmatched(const struct wf_snapshot *s, off_t size)
{
	if (s->offset > size)
		return wf_xasprintf("state.json disagrees with history.jsonl (its journal_offset %lld is past the journal's end, %lld bytes)",
				    (long long)s->offset, (long long)size);
	return wf_xasprintf("state.json disagrees with history.jsonl (its journal_offset %lld is not where an event ends)",
			    (long long)s->offset);
}

/*
 * Fill r->state: the snapshot, then whatever the journal holds after it,
 * but only for a snapshot that is sealed and stands where the journal
 * has the event it names (and every line before it has a good checksum);
 * anything else is rebuilt from the whole journal, comparing the snapshot
 * on the way (see wf_run_open).
 */
int
wf_run_load(struct wf_run *r, int flags, char *err, size_t n)
{
	int write = flags & WF_RUN_WRITE, rc;
	struct wf_snapshot s;

	wf_snapshot_read(r->dirfd, &s);
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
		if ((rc = wf_journal_check_prefix(r, s.offset, err, n))) {
			jv_free(s.state);
			return rc;
		}
		jv_free(r->state);
		r->state = s.state;
		r->seq = s.seq;
		r->lines = s.lines;
		memcpy(r->last_crc, s.event_crc, sizeof r->last_crc);
		return wf_journal_replay(r, s.offset, write, NULL, err, n);
	}
	rc = wf_journal_replay(r, 0, write, jv_is_valid(s.state) ? &s : NULL, err, n);
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
	txt = wf_journal_line(s, &len);
	if (wf_atomic_write(r->dirfd, "state.json", txt, len) < 0) {
		snprintf(err, n, "cannot write '%s/state.json': %s", r->dir, strerror(errno));
		free(txt);
		return WF_EXIT_IO;
	}
	free(txt);
	r->events_since_snapshot = 0;
	r->snapshot_at = r->journal_size;
	r->snapshot_len = (off_t)len;
	return 0;
}
