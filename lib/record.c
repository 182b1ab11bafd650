/*
 * record.c: a run's model calls, kept in RUNDIR/calls.jsonl for replay
 * and comparison (record.h has the format).  wf-model chat appends a line
 * for every call it answers when the request says where (its "record"
 * member); readers take the whole file and look calls up by fingerprint.
 *
 * Layer 2: domain data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wf_priv.h"
#include "provider_wire.h"
#include "record.h"

#define CALLS_FILE "calls.jsonl"
#define CALLS_MAX ((size_t)256 << 20)

/* M and REQ borrowed; the caller owns the key. */
jv
wf_record_key(jv m, jv req)
{
	char *sys = NULL;
	jv k = jv_object(), conv = wf_provider_conversation(req, &sys), opts = wf_jv_get(req, "options");

	k = jv_object_set(k, jv_string("provider"), wf_jv_get(m, "provider"));
	k = jv_object_set(k, jv_string("model"), wf_jv_get(m, "model"));
	k = jv_object_set(k, jv_string("system"), sys ? jv_string(sys) : jv_null());
	k = jv_object_set(k, jv_string("messages"), conv);
	k = jv_object_set(k, jv_string("options"), jv_get_kind(opts) == JV_KIND_OBJECT ? opts : (jv_free(opts), jv_null()));
	free(sys);
	return k;
}

/* KEY borrowed. */
void
wf_record_fingerprint(jv key, char out[65])
{
	jv text = jv_dump_string(jv_copy(key), JV_PRINT_SORTED);

	wf_sha256_hex(jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)), out);
	jv_free(text);
}

/* REC (borrowed), a chat request's "record" member: 0 when it is {dir, step?, seq?, abandoned?}, else -1 with ERR. */
int
wf_record_check(jv rec, char *err, size_t n)
{
	jv dir = wf_jv_get(rec, "dir"), step = wf_jv_get(rec, "step"), seq = wf_jv_get(rec, "seq");
	jv gone = wf_jv_get(rec, "abandoned");
	int ok = jv_get_kind(rec) == JV_KIND_OBJECT && jv_get_kind(dir) == JV_KIND_STRING &&
		 jv_string_length_bytes(jv_copy(dir)) > 0 &&
		 (jv_get_kind(step) == JV_KIND_NULL || jv_get_kind(step) == JV_KIND_STRING) &&
		 (jv_get_kind(seq) == JV_KIND_NULL || jv_get_kind(seq) == JV_KIND_NUMBER) &&
		 (jv_get_kind(gone) == JV_KIND_NULL || jv_get_kind(gone) == JV_KIND_ARRAY);

	if (ok && jv_get_kind(gone) == JV_KIND_ARRAY)
		jv_array_foreach(gone, i, g) {
			(void)i;
			ok = ok && jv_get_kind(g) == JV_KIND_NUMBER;
			jv_free(g);
		}
	jv_free(dir);
	jv_free(step);
	jv_free(seq);
	jv_free(gone);
	if (!ok)
		snprintf(err, n, "request field 'record' must be {\"dir\": DIR, \"step\": ID, \"seq\": N, \"abandoned\": [N...]}");
	return ok ? 0 : -1;
}

/* LINE borrowed. */
int
wf_record_append(const char *dir, jv line, char *err, size_t errlen)
{
	jv l = jv_copy(line);
	char *path, *text, *masked;
	int fd, rc = 0;

	if (!jv_object_has(jv_copy(l), jv_string("v")))
		l = jv_object_set(l, jv_string("v"), jv_number(1));
	if (!jv_object_has(jv_copy(l), jv_string("fingerprint"))) {
		jv key = wf_jv_get(l, "key");
		char fp[65];

		wf_record_fingerprint(key, fp);
		jv_free(key);
		l = jv_object_set(l, jv_string("fingerprint"), jv_string(fp));
	}
	text = wf_json_dump(l);
	jv_free(l);
	/* One line: a newline inside would end it early, and JSON text has none. */
	masked = wf_redact(text, strlen(text));
	free(text);
	text = wf_xasprintf("%s\n", masked);
	free(masked);
	path = wf_xasprintf("%s/%s", dir, CALLS_FILE);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || wf_write_all(fd, text, strlen(text)) < 0 || fdatasync(fd) < 0) {
		snprintf(err, errlen, "cannot record the call in %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	free(path);
	free(text);
	return rc;
}

/* The caller owns the result. */
jv
wf_record_read(const char *dir)
{
	struct wf_buf b = {0};
	char *path = wf_xasprintf("%s/%s", dir, CALLS_FILE);
	jv calls = jv_array();
	int line = 0;

	if (wf_read_file(path, CALLS_MAX, &b) == 0 && b.s) {
		char *p = b.s, *end = b.s + b.len;

		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
			jv v = jv_parse_sized(p, (int)n);

			line++;
			if (jv_get_kind(v) == JV_KIND_OBJECT && wf_jv_str(v, "fingerprint"))
				calls = jv_array_append(calls, jv_object_set(v, jv_string("line"), jv_number(line)));
			else
				jv_free(v);
			p += n + (nl != NULL);
		}
	}
	wf_buf_free(&b);
	free(path);
	return calls;
}

/* CALLS borrowed; the caller owns the result. */
jv
wf_record_find(jv calls, const char *fp, int n)
{
	int seen = 0;

	jv_array_foreach(calls, i, c) {
		(void)i;
		if (wf_jv_str(c, "fingerprint") && !strcmp(wf_jv_str(c, "fingerprint"), fp) && seen++ == n)
			return c;
		jv_free(c);
	}
	return jv_invalid();
}

/* CALLS borrowed. */
int
wf_record_count(jv calls, const char *fp)
{
	int n = 0;

	jv_array_foreach(calls, i, c) {
		(void)i;
		n += wf_jv_str(c, "fingerprint") && !strcmp(wf_jv_str(c, "fingerprint"), fp);
		jv_free(c);
	}
	return n;
}
