/*
 * jsondump.c: compact JSON text of a jv.  jq 1.6's jv_dump_string
 * appends every character of every string to a jv string on its own,
 * which made printing the run's events and requests the largest cost of
 * a step.  This prints the same bytes (same key order, escapes and
 * number forms) into one growing buffer; whatever it does not print
 * itself (numbers other than plain integers, values nested deeper than
 * jq prints, invalid values) it hands to jq, so the text never differs.
 *
 * Layer 0: base.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"
#include "jsondump.h"

/* Deeper than this, jq prints a marker instead of the value: leave it to jq. */
#define DUMP_MAX_DEPTH 200

struct dumpbuf {
	char *p;
	size_t len, cap;
	int failed;		/* a value this file does not print: use jq */
};

static void
put(struct dumpbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		while (b->len + n + 1 > b->cap)
			b->cap = b->cap ? b->cap * 2 : 256;
		b->p = wf_xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* String S of N bytes (valid UTF-8, as every jv string is), quoted and escaped as jq does. */
static void
put_string(struct dumpbuf *b, const char *s, size_t n)
{
	size_t run = 0;
	char esc[8];

	put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *e = NULL;

		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		put(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': e = "\\\""; break;
		case '\\': e = "\\\\"; break;
		case '\b': e = "\\b"; break;
		case '\f': e = "\\f"; break;
		case '\n': e = "\\n"; break;
		case '\r': e = "\\r"; break;
		case '\t': e = "\\t"; break;
		default:
			snprintf(esc, sizeof esc, "\\u%04x", c);
			e = esc;
		}
		put(b, e, strlen(e));
	}
	put(b, s + run, n - run);
	put(b, "\"", 1);
}

/* Number D: an integer jq prints as plain digits here, anything else by jq itself. */
static void
put_number(struct dumpbuf *b, double d)
{
	char num[32];

	if (d == d && fabs(d) < 1e15 && d == (double)(long long)d && !(d == 0 && signbit(d))) {
		int k = snprintf(num, sizeof num, "%lld", (long long)d);

		put(b, num, (size_t)k);
	} else {
		jv s = jv_dump_string(jv_number(d), 0);

		put(b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
		jv_free(s);
	}
}

/* V borrowed. */
static void
put_value(struct dumpbuf *b, jv v, int depth)
{
	if (b->failed)
		return;
	if (depth > DUMP_MAX_DEPTH) {
		b->failed = 1;
		return;
	}
	switch (jv_get_kind(v)) {
	case JV_KIND_NULL: put(b, "null", 4); break;
	case JV_KIND_TRUE: put(b, "true", 4); break;
	case JV_KIND_FALSE: put(b, "false", 5); break;
	case JV_KIND_NUMBER: put_number(b, jv_number_value(v)); break;
	case JV_KIND_STRING:
		put_string(b, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
		break;
	case JV_KIND_ARRAY: {
		int n = jv_array_length(jv_copy(v));

		put(b, "[", 1);
		for (int i = 0; i < n; i++) {
			jv e = jv_array_get(jv_copy(v), i);

			if (i)
				put(b, ",", 1);
			put_value(b, e, depth + 1);
			jv_free(e);
		}
		put(b, "]", 1);
		break;
	}
	case JV_KIND_OBJECT: {
		int first = 1;

		put(b, "{", 1);
		for (int it = jv_object_iter(v); jv_object_iter_valid(v, it); it = jv_object_iter_next(v, it)) {
			jv k = jv_object_iter_key(v, it), e = jv_object_iter_value(v, it);

			if (!first)
				put(b, ",", 1);
			first = 0;
			put_string(b, jv_string_value(k), (size_t)jv_string_length_bytes(jv_copy(k)));
			put(b, ":", 1);
			put_value(b, e, depth + 1);
			jv_free(k);
			jv_free(e);
		}
		put(b, "}", 1);
		break;
	}
	default:
		b->failed = 1;
	}
}

/* V borrowed; the caller owns the result. */
char *
wf_json_dump_len(jv v, size_t *len)
{
	struct dumpbuf b = { NULL, 0, 0, 0 };

	put_value(&b, v, 0);
	if (b.failed) {
		jv s = jv_dump_string(jv_copy(v), 0);

		b.len = 0;
		put(&b, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
		jv_free(s);
	}
	if (!b.p)
		put(&b, "", 0);
	b.p[b.len] = '\0';
	if (len)
		*len = b.len;
	return b.p;
}
