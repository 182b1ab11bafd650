/*
 * json.c: helpers over jq's jv, the only JSON type in wf.  Parsing with
 * bounded input, printing one compact document per line, and borrowed
 * lookups for the common "get a string field" case.
 *
 * Layer 0: base.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"
#include "jsondump.h"

/* The caller owns the result. */
jv
wf_json_parse(const char *buf, size_t len, char *err, size_t errlen)
{
	jv v;
	size_t bad;

	if (len > (size_t)0x7fffffff) {
		snprintf(err, errlen, "JSON input too large");
		return jv_invalid();
	}
	if (memchr(buf, '\0', len)) {
		snprintf(err, errlen, "JSON input contains a NUL byte at offset %zu",
			 (size_t)((const char *)memchr(buf, '\0', len) - buf));
		return jv_invalid();
	}
	if (!wf_utf8_valid(buf, len, &bad)) {
		snprintf(err, errlen, "JSON input is not valid UTF-8 at byte %zu", bad);
		return jv_invalid();
	}
	v = jv_parse_sized(buf, (int)len);
	if (!jv_is_valid(v)) {
		jv msg = jv_invalid_get_msg(v);

		if (jv_get_kind(msg) == JV_KIND_STRING) {
			/* jq quotes the whole input after the position: keep the message one short line. */
			const char *m = jv_string_value(msg), *q = strstr(m, " (while parsing '");

			snprintf(err, errlen, "%.*s", (int)(q ? (size_t)(q - m) : strlen(m)), m);
		} else
			snprintf(err, errlen, "expected one JSON document, got none");
		jv_free(msg);
		return jv_invalid();
	}
	return v;
}

/* The caller owns the result. */
jv
wf_json_read_fd(int fd, size_t max, char *err, size_t errlen)
{
	struct wf_buf b = {0};
	jv v;

	if (wf_read_fd(fd, max, &b) < 0) {
		if (errno == EFBIG)
			snprintf(err, errlen, "input larger than %zu bytes", max);
		else
			snprintf(err, errlen, "cannot read input: %s", strerror(errno));
		wf_buf_free(&b);
		return jv_invalid();
	}
	v = wf_json_parse(b.s, b.len, err, errlen);
	wf_buf_free(&b);
	return v;
}

/* V borrowed. */
char *
wf_json_dump(jv v)
{
	return wf_json_dump_len(v, NULL);
}

/* V consumed. */
int
wf_json_print(FILE *fp, jv v)
{
	size_t n;
	char *s = wf_json_dump_len(v, &n);
	int rc;

	rc = fwrite(s, 1, n, fp) != n || fputc('\n', fp) == EOF ? -1 : 0;
	free(s);
	jv_free(v);
	return rc;
}

/*
 * The caller owns the result.  Lookups and the YAML reader ask for the
 * same few keys ("id", "action", ...) of every step, and a new jv string
 * costs an allocation, a UTF-8 check and a hash each time: short keys are
 * kept, one per slot of a small table, and shared.
 */
jv
wf_jv_key(const char *key, size_t len)
{
	static struct {
		char name[24];
		size_t len;
		jv s;
	} kept[128];
	unsigned h = 2166136261u;

	if (len == 0 || len >= sizeof kept[0].name || memchr(key, '\0', len))
		return jv_string_sized(key, (int)len);
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)key[i]) * 16777619u;
	h %= sizeof kept / sizeof *kept;
	if (kept[h].len != len || memcmp(kept[h].name, key, len)) {
		if (kept[h].len)
			jv_free(kept[h].s);
		memcpy(kept[h].name, key, len);
		kept[h].len = len;
		kept[h].s = jv_string_sized(key, (int)len);
	}
	return jv_copy(kept[h].s);
}

/* OBJ borrowed; the caller owns the result. */
jv
wf_jv_get(jv obj, const char *key)
{
	if (jv_get_kind(obj) != JV_KIND_OBJECT)
		return jv_null();
	jv v = jv_object_get(jv_copy(obj), wf_jv_key(key, strlen(key)));
	if (!jv_is_valid(v)) {
		jv_free(v);
		return jv_null();
	}
	return v;
}

/* OBJ borrowed; the string lives as long as OBJ. */
const char *
wf_jv_str(jv obj, const char *key)
{
	jv v = wf_jv_get(obj, key);
	const char *s = NULL;

	/* The string stays alive through OBJ's reference. */
	if (jv_get_kind(v) == JV_KIND_STRING)
		s = jv_string_value(v);
	jv_free(v);
	return s;
}

/* OBJ borrowed. */
double
wf_jv_num(jv obj, const char *key, double def)
{
	jv v = wf_jv_get(obj, key);
	double d = def;

	if (jv_get_kind(v) == JV_KIND_NUMBER)
		d = jv_number_value(v);
	jv_free(v);
	return d;
}

/* OBJ borrowed. */
int
wf_jv_bool(jv obj, const char *key, int def)
{
	jv v = wf_jv_get(obj, key);
	int b = def;

	if (jv_get_kind(v) == JV_KIND_TRUE)
		b = 1;
	else if (jv_get_kind(v) == JV_KIND_FALSE)
		b = 0;
	jv_free(v);
	return b;
}

/* V borrowed. */
char *
wf_jv_text(jv v)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING:
		return wf_xstrdup(jv_string_value(v));
	case JV_KIND_NULL:
	case JV_KIND_INVALID:
		return wf_xstrdup("");
	default:
		return wf_json_dump(v);
	}
}

/* Follow a dotted PATH (vars.i, steps.s1.output, loops.s10) into V (consumed); the caller owns the result. */
jv
wf_jv_path(jv v, const char *path)
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
