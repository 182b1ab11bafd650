/*
 * yaml.c: a strict YAML reader built on libyaml's event parser.  It turns
 * one document into a jv and records where every key and item came from,
 * so that later checks can say file:line:col.  Everything YAML can do that
 * a workflow does not need (anchors, aliases, tags, several documents) is
 * refused, which also closes the billion-laughs and tag-execution holes.
 *
 * Layer 1: formats and channels.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "wf_priv.h"

struct loader {
	yaml_parser_t parser;
	const char *buf;	/* the input, for a look at the character an error points at */
	size_t len;
	const char *file;
	struct wf_diag *diag;
	jv pos;
	int record;	/* record each node's position in pos (wf_yaml_load_bare does not) */
	int failed;	/* a fatal parser error: stop reading */
	int errors;	/* any problem at all */
};

/* The byte at 0-based LINE and character COLUMN of the input, or 0. */
static char
char_at(const struct loader *ld, size_t line, size_t column)
{
	const char *p = ld->buf, *end = ld->buf + ld->len;

	for (; line > 0 && p < end; p++)
		if (*p == '\n')
			line--;
	for (; p < end && *p != '\n'; p++)
		if (((unsigned char)*p & 0xc0) != 0x80 && column-- == 0)
			return *p;
	return 0;
}

/* Report the parser's own error once, with its position (and where the construct began). */
static void
parser_error(struct loader *ld)
{
	yaml_parser_t *p = &ld->parser;
	const char *what = p->problem ? p->problem : "syntax error";
	size_t line = p->problem_mark.line + 1, col = p->problem_mark.column + 1;
	const char *hint = "";
	char began[64] = "";

	if (char_at(ld, p->problem_mark.line, p->problem_mark.column) == '\t')
		hint = " (a tab: YAML is indented with spaces only)";
	if (p->context && (p->context_mark.line != p->problem_mark.line ||
			   p->context_mark.column != p->problem_mark.column))
		snprintf(began, sizeof began, " begun at %zu:%zu", p->context_mark.line + 1,
			 p->context_mark.column + 1);
	if (p->context)
		wf_diag_add(ld->diag, ld->file, (int)line, (int)col,
			    "YAML syntax error: %s %s%s%s", what, p->context, began, hint);
	else
		wf_diag_add(ld->diag, ld->file, (int)line, (int)col,
			    "YAML syntax error: %s%s", what, hint);
	ld->failed = 1;
	ld->errors++;
}

static int
next_event(struct loader *ld, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&ld->parser, ev)) {
		parser_error(ld);
		return -1;
	}
	return 0;
}

static void
problem(struct loader *ld, yaml_mark_t m, const char *fmt, const char *arg)
{
	wf_diag_add(ld->diag, ld->file, (int)m.line + 1, (int)m.column + 1, fmt, arg);
	ld->errors++;
}

/* Does TEXT look like a YAML 1.2 core-schema number? */
static int
looks_numeric(const char *s)
{
	const char *p = s;
	int digits = 0;

	if (*p == '-' || *p == '+')
		p++;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++, digits++;
	}
	if (!digits)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return 0;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

/*
 * Type a plain scalar: true/false/null, numbers that read back the same,
 * else text. The caller owns the result.
 */
static jv
plain_scalar(const char *s)
{
	if (!strcmp(s, "true"))
		return jv_true();
	if (!strcmp(s, "false"))
		return jv_false();
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
	    !strcmp(s, "NULL"))
		return jv_null();
	if (looks_numeric(s) && strlen(s) < 32) {
		jv n = jv_number(strtod(s, NULL));
		jv back = jv_dump_string(jv_copy(n), 0);
		int same = !strcmp(jv_string_value(back), s);

		jv_free(back);
		if (same)
			return n;
		jv_free(n);
	}
	return jv_string(s);
}

static void
record_pos(struct loader *ld, const char *path, yaml_mark_t key, yaml_mark_t val)
{
	jv a;

	if (!ld->record)
		return;
	a = jv_array_sized(4);	/* jv_array() reserves 16 slots: 4x the memory for ~50k entries */

	a = jv_array_append(a, jv_number((double)key.line + 1));
	a = jv_array_append(a, jv_number((double)key.column + 1));
	a = jv_array_append(a, jv_number((double)val.line + 1));
	a = jv_array_append(a, jv_number((double)val.column + 1));
	ld->pos = jv_object_set(ld->pos, jv_string(path), a);
}

/* Append a JSON-pointer segment (escaping ~ and /) to PATH. */
static void
path_push(struct wf_buf *path, const char *seg)
{
	wf_buf_addch(path, '/');
	for (; *seg; seg++) {
		if (*seg == '~')
			wf_buf_addstr(path, "~0");
		else if (*seg == '/')
			wf_buf_addstr(path, "~1");
		else
			wf_buf_addch(path, *seg);
	}
}

static jv load_node(struct loader *ld, yaml_event_t *ev, struct wf_buf *path, int depth);

/* Refuse an anchor or tag on EV; returns nonzero if one was there. */
static int
check_props(struct loader *ld, yaml_event_t *ev)
{
	yaml_char_t *anchor = NULL, *tag = NULL;
	int implicit = 1;

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
		implicit = ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit;
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
		implicit = ev->data.mapping_start.implicit;
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
		implicit = ev->data.sequence_start.implicit;
		break;
	default:
		return 0;
	}
	if (anchor) {
		problem(ld, ev->start_mark,
			"anchors and aliases are not supported ('&%s'): write the value out", (char *)anchor);
		return 1;
	}
	if (tag && !(implicit && ev->type != YAML_SCALAR_EVENT)) {
		problem(ld, ev->start_mark,
			"explicit YAML tags are not allowed ('%s')", (char *)tag);
		return 1;
	}
	return 0;
}

/* The mapping that START opened; the caller owns it. */
static jv
load_mapping(struct loader *ld, yaml_event_t *start, struct wf_buf *path, int depth)
{
	jv obj = jv_object();
	yaml_event_t kev, vev;
	size_t base = path->len;

	(void)start;
	for (;;) {
		if (next_event(ld, &kev) < 0)
			break;
		if (kev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&kev);
			break;
		}
		if (kev.type == YAML_ALIAS_EVENT) {
			problem(ld, kev.start_mark,
				"anchors and aliases are not supported ('*%s'): write the value out",
				(char *)kev.data.alias.anchor);
			yaml_event_delete(&kev);
			ld->failed = 1;
			break;
		}
		if (kev.type != YAML_SCALAR_EVENT) {
			problem(ld, kev.start_mark, "%s", "a mapping key must be a plain word");
			yaml_event_delete(&kev);
			ld->failed = 1;
			break;
		}
		check_props(ld, &kev);
		if (memchr(kev.data.scalar.value, '\0', kev.data.scalar.length))
			problem(ld, kev.start_mark, "%s", "a key contains a NUL character");
		/* One jv string serves the duplicate check and the object key. */
		jv kj = wf_jv_key((const char *)kev.data.scalar.value, kev.data.scalar.length);
		const char *key = jv_string_value(kj);
		yaml_mark_t kmark = kev.start_mark;

		yaml_event_delete(&kev);
		if (ld->record) {
			path->len = base;
			path->s[base] = '\0';
			path_push(path, key);
		}
		if (next_event(ld, &vev) < 0) {
			jv_free(kj);
			break;
		}
		yaml_mark_t vmark = vev.start_mark;
		jv val = load_node(ld, &vev, path, depth + 1);

		if (jv_object_has(jv_copy(obj), jv_copy(kj))) {
			jv prev = jv_object_get(jv_copy(ld->pos), jv_string(path->s));
			char first[64] = "";

			if (jv_get_kind(prev) == JV_KIND_ARRAY)
				snprintf(first, sizeof first, " (first at %d:%d)",
					 (int)jv_number_value(jv_array_get(jv_copy(prev), 0)),
					 (int)jv_number_value(jv_array_get(jv_copy(prev), 1)));
			jv_free(prev);
			char *msg = wf_xasprintf("duplicate key '%s'%s", key, first);
			problem(ld, kmark, "%s", msg);
			free(msg);
			jv_free(val);
			jv_free(kj);
		} else {
			record_pos(ld, path->s, kmark, vmark);
			obj = jv_object_set(obj, kj, val);
		}
		if (ld->failed)
			break;
	}
	path->len = base;
	path->s[base] = '\0';
	return obj;
}

/* The sequence being read; the caller owns it. */
static jv
load_sequence(struct loader *ld, struct wf_buf *path, int depth)
{
	jv arr = jv_array();
	yaml_event_t ev;
	size_t base = path->len;
	int i = 0;
	char idx[32];

	for (;;) {
		if (next_event(ld, &ev) < 0)
			break;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ld->record) {
			path->len = base;
			path->s[base] = '\0';
			snprintf(idx, sizeof idx, "%d", i++);
			path_push(path, idx);
			record_pos(ld, path->s, ev.start_mark, ev.start_mark);
		}
		arr = jv_array_append(arr, load_node(ld, &ev, path, depth + 1));
		if (ld->failed)
			break;
	}
	path->len = base;
	path->s[base] = '\0';
	return arr;
}

/* Build the value that starts with EV (consumed). */
static jv
load_node(struct loader *ld, yaml_event_t *ev, struct wf_buf *path, int depth)
{
	jv v = jv_null();

	if (depth > WF_YAML_MAX_DEPTH) {
		char lim[16];

		snprintf(lim, sizeof lim, "%d", WF_YAML_MAX_DEPTH);
		problem(ld, ev->start_mark, "nesting deeper than %s levels", lim);
		ld->failed = 1;
		yaml_event_delete(ev);
		return v;
	}
	check_props(ld, ev);
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t n = ev->data.scalar.length;

		if (memchr(s, '\0', n)) {
			problem(ld, ev->start_mark, "%s", "a value contains a NUL character");
			break;
		}
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			v = plain_scalar(s);
		else
			v = jv_string_sized(s, (int)n);
		break;
	}
	case YAML_MAPPING_START_EVENT:
		v = load_mapping(ld, ev, path, depth);
		break;
	case YAML_SEQUENCE_START_EVENT:
		v = load_sequence(ld, path, depth);
		break;
	case YAML_ALIAS_EVENT:
		problem(ld, ev->start_mark,
			"anchors and aliases are not supported ('*%s'): write the value out",
			(char *)ev->data.alias.anchor);
		ld->failed = 1;
		break;
	default:
		problem(ld, ev->start_mark, "%s", "unexpected YAML structure");
		ld->failed = 1;
		break;
	}
	yaml_event_delete(ev);
	return v;
}

/* Line and column (1-based) of byte offset OFF in BUF. */
static void
offset_pos(const char *buf, size_t off, int *line, int *col)
{
	*line = 1;
	*col = 1;
	for (size_t i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

/* As wf_yaml_load, recording positions in *POS only when RECORD; *OUT and *POS: the caller owns them. */
static int
load(const char *buf, size_t len, const char *file, jv *out, jv *pos, struct wf_diag *diag, int record)
{
	struct loader ld = { .file = file, .diag = diag, .record = record };
	struct wf_buf path = {0};
	yaml_event_t ev;
	jv doc = jv_null();
	int docs = 0, line, col;
	size_t bad;
	const char *nul;

	*out = jv_invalid();
	*pos = jv_object();
	if (len > WF_YAML_MAX_BYTES) {
		wf_diag_add(diag, file, 1, 1, "file is %zu bytes, over the 1 MiB (%d byte) limit",
			    len, WF_YAML_MAX_BYTES);
		return -1;
	}
	if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
			 (buf[0] == '\xfe' && buf[1] == '\xff'))) {
		wf_diag_add(diag, file, 1, 1,
			    "UTF-16 byte order mark: a workflow is UTF-8 text; save the file as UTF-8");
		return -1;
	}
	/* A UTF-8 byte order mark is harmless: skip it, so positions match what an editor shows. */
	if (len >= 3 && !memcmp(buf, "\xef\xbb\xbf", 3)) {
		buf += 3;
		len -= 3;
	}
	if ((nul = memchr(buf, '\0', len))) {
		offset_pos(buf, (size_t)(nul - buf), &line, &col);
		wf_diag_add(diag, file, line, col, "NUL byte at offset %zu: a workflow is UTF-8 text",
			    (size_t)(nul - buf));
		return -1;
	}
	if (!wf_utf8_valid(buf, len, &bad)) {
		offset_pos(buf, bad, &line, &col);
		wf_diag_add(diag, file, line, col,
			    "invalid UTF-8 at byte offset %zu: save the file as UTF-8", bad);
		return -1;
	}
	if (!yaml_parser_initialize(&ld.parser)) {
		wf_diag_add(diag, file, 0, 0, "cannot start the YAML parser");
		return -1;
	}
	ld.pos = jv_object();
	ld.buf = buf;
	ld.len = len;
	yaml_parser_set_encoding(&ld.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&ld.parser, (const unsigned char *)buf, len);
	wf_buf_addstr(&path, "");
	for (;;) {
		if (next_event(&ld, &ev) < 0)
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type == YAML_STREAM_START_EVENT || ev.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&ev);
			continue;
		}
		if (ev.type == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				problem(&ld, ev.start_mark, "%s",
					"more than one YAML document: a workflow file holds exactly one");
				yaml_event_delete(&ev);
				break;
			}
			yaml_event_delete(&ev);
			continue;
		}
		path.len = 0;
		path.s[0] = '\0';
		doc = load_node(&ld, &ev, &path, 0);
		if (ld.failed)
			break;
	}
	yaml_parser_delete(&ld.parser);
	wf_buf_free(&path);
	jv_free(*pos);
	*pos = ld.pos;
	if (ld.errors) {
		jv_free(doc);
		return -1;
	}
	*out = doc;
	return 0;
}

/* *OUT and *POS: the caller owns them. */
int
wf_yaml_load(const char *buf, size_t len, const char *file, jv *out, jv *pos,
	     struct wf_diag *diag)
{
	return load(buf, len, file, out, pos, diag, 1);
}

/* *OUT: the caller owns it. */
int
wf_yaml_load_bare(const char *buf, size_t len, const char *file, jv *out, struct wf_diag *diag)
{
	jv pos;
	int r = load(buf, len, file, out, &pos, diag, 0);

	jv_free(pos);
	return r;
}
