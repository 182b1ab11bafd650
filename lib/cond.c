/*
 * cond.c: the condition language of wf-cond(1), used by the condition:,
 * check: and loop fields of a workflow.
 *
 * A small recursive-descent parser that evaluates as it parses: there is
 * no tree and no allocation beyond the text of string values.  The same
 * parser with evaluation switched off is the syntax check, and is what
 * runs over the side of an && or || that short-circuits.  Values read
 * from the context are data: they are compared, never parsed.
 *
 * "jq: PROGRAM" hands the whole condition to libjq instead.  jq has no
 * interruption hook and can read the environment, so the program is
 * compiled and run in a forked child with a scrubbed environ, CPU,
 * memory and wall-clock limits, and no input, modules or output; the
 * parent reads one verdict through a pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jq.h>

#include "wf.h"

#define COND_MAX_LEN (64 * 1024)
#define COND_MAX_DEPTH 64

/* Limits of the jq child. */
#define JQ_CPU_SECONDS 1
#define JQ_WALL_SECONDS 2
#define JQ_MEMORY_HEADROOM ((rlim_t)128 << 20)

enum tok {
	T_EOF, T_LP, T_RP, T_NOT, T_AND, T_OR, T_PIPE,
	T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
	T_NUM, T_STR, T_VAR, T_WORD
};

enum { V_NULL, V_BOOL, V_NUM, V_STR };

/* A value: a literal, or something read from the context. */
struct val {
	int kind;
	int b;
	double num;
	char *s;		/* V_STR: malloc'd, LEN bytes plus a NUL */
	size_t len;
};

/* One operand of a comparison: a value, or a predicate's verdict. */
struct operand {
	struct val v;
	int pred;		/* a predicate: usable alone, not in a comparison */
	size_t pos, end;	/* its text */
};

struct cond {
	const char *src;
	size_t len, pos;	/* pos: the first byte not yet lexed */
	enum tok tok;		/* the current token, src[ts..te) */
	size_t ts, te;
	jv ctx;			/* borrowed; unused when checking */
	int checking;
	int depth;
	int failed;
	char *err;
	size_t errlen;
	size_t errpos;
};

/* The 1-based column of byte offset POS in S, counting UTF-8 characters. */
static int
column(const char *s, size_t pos)
{
	int col = 1;

	for (size_t i = 0; i < pos; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	return col;
}

/* Record the first error, at byte POS; always returns -1. */
static int
fail(struct cond *c, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int
fail(struct cond *c, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (c->failed)
		return -1;
	c->failed = 1;
	c->errpos = pos;
	va_start(ap, fmt);
	vsnprintf(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void
val_free(struct val *v)
{
	if (v->kind == V_STR)
		free(v->s);
	v->kind = V_NULL;
	v->s = NULL;
}

static int
is_ident_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_';
}

static int
is_ident_char(char ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '-';
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static int
is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Is the current token the word W? */
static int
is_word(const struct cond *c, const char *w)
{
	size_t n = strlen(w);

	return c->tok == T_WORD && c->te - c->ts == n && !memcmp(c->src + c->ts, w, n);
}

/* A printable excerpt of the current token for messages. */
static const char *
tok_text(const struct cond *c, char *buf, size_t n)
{
	size_t len = c->te - c->ts;

	if (c->tok == T_EOF)
		return "end of condition";
	if (len > 40)
		len = 40;
	snprintf(buf, n, "'%.*s'", (int)len, c->src + c->ts);
	return buf;
}

/* Is S[0..N) a decimal number (-?digits(.digits)?)?  Its value into *OUT. */
static int
decimal(const char *s, size_t n, double *out)
{
	size_t i = 0;
	char tmp[64];

	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return 0;
	while (i < n && is_digit(s[i]))
		i++;
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return 0;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i != n)
		return 0;
	if (n >= sizeof tmp) {
		char *t = wf_xstrndup(s, n);

		*out = strtod(t, NULL);
		free(t);
	} else {
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		*out = strtod(tmp, NULL);
	}
	return 1;
}

/* Find the '}' closing "${" at S[POS]; the byte offset of '}', or 0 if none. */
static size_t
var_end(const char *s, size_t len, size_t pos)
{
	for (size_t i = pos + 2; i < len; i++)
		if (s[i] == '}')
			return i;
	return 0;
}

/* Lex the next token into c->tok; -1 on a lexical error. */
static int
next(struct cond *c)
{
	const char *s = c->src;
	size_t p = c->pos;
	char ch;

	while (p < c->len && is_space(s[p]))
		p++;
	c->ts = p;
	if (p >= c->len) {
		c->tok = T_EOF;
		c->te = c->pos = p;
		return 0;
	}
	ch = s[p];
	switch (ch) {
	case '(': c->tok = T_LP; p++; break;
	case ')': c->tok = T_RP; p++; break;
	case '!':
		if (p + 1 < c->len && s[p + 1] == '=') {
			c->tok = T_NE;
			p += 2;
		} else {
			c->tok = T_NOT;
			p++;
		}
		break;
	case '=':
		if (p + 1 < c->len && s[p + 1] == '=') {
			c->tok = T_EQ;
			p += 2;
			break;
		}
		return fail(c, p, "'=' is not an operator (did you mean '=='?)");
	case '<':
	case '>':
		if (p + 1 < c->len && s[p + 1] == '=') {
			c->tok = ch == '<' ? T_LE : T_GE;
			p += 2;
		} else {
			c->tok = ch == '<' ? T_LT : T_GT;
			p++;
		}
		break;
	case '&':
		if (p + 1 < c->len && s[p + 1] == '&') {
			c->tok = T_AND;
			p += 2;
			break;
		}
		return fail(c, p, "'&' is not an operator (did you mean '&&'?)");
	case '|':
		if (p + 1 < c->len && s[p + 1] == '|') {
			c->tok = T_OR;
			p += 2;
		} else {
			c->tok = T_PIPE;
			p++;
		}
		break;
	case '"':
	case '\'':
		for (p++; p < c->len && s[p] != ch; p++)
			if (s[p] == '\\' && p + 1 < c->len)
				p++;
		if (p >= c->len)
			return fail(c, c->ts, "unterminated string");
		c->tok = T_STR;
		p++;
		break;
	case '$':
		if (p + 1 < c->len && s[p + 1] == '{') {
			size_t e = var_end(s, c->len, p);

			if (!e)
				return fail(c, p, "unterminated '${'");
			c->tok = T_VAR;
			p = e + 1;
			break;
		}
		return fail(c, p, "unexpected '$' (write a variable as ${name} or name)");
	default:
		if (is_digit(ch) || (ch == '-' && p + 1 < c->len && is_digit(s[p + 1]))) {
			double d;

			for (p++; p < c->len && (is_digit(s[p]) || s[p] == '.'); p++)
				;
			if ((p < c->len && is_ident_char(s[p])) || !decimal(s + c->ts, p - c->ts, &d)) {
				while (p < c->len && (is_ident_char(s[p]) || s[p] == '.'))
					p++;
				return fail(c, c->ts, "bad number '%.*s'", (int)(p - c->ts > 40 ? 40 : p - c->ts),
					    s + c->ts);
			}
			c->tok = T_NUM;
			break;
		}
		if (is_ident_start(ch)) {
			/* Letters, digits, '_' and '-', with '.' between parts: steps.run-tests.exit_code. */
			for (p++; p < c->len; p++) {
				if (is_ident_char(s[p]))
					continue;
				if (s[p] == '.' && p + 1 < c->len && is_ident_char(s[p + 1]))
					continue;
				break;
			}
			c->tok = T_WORD;
			break;
		}
		{
			size_t n = 1;

			while (p + n < c->len && ((unsigned char)s[p + n] & 0xc0) == 0x80 && n < 4)
				n++;
			if (ch == ':' && p >= 2 && !memcmp(s + p - 2, "jq", 2))
				return fail(c, p - 2, "'jq:' must begin the condition");
			return fail(c, p, "unexpected character '%.*s'", (int)n, s + p);
		}
	}
	c->te = c->pos = p;
	return 0;
}

static int
is_cmp(enum tok t)
{
	return t >= T_EQ && t <= T_GE;
}

static const char *
op_name(enum tok t)
{
	static const char *const names[] = { "==", "!=", "<", "<=", ">", ">=" };

	return names[t - T_EQ];
}

/*
 * Convert the context value V (consumed) into *OUT.  Objects and arrays
 * are not values a condition can compare: -1 with an error naming NAME.
 */
static int
from_jv(struct cond *c, jv v, const char *name, size_t pos, struct val *out)
{
	memset(out, 0, sizeof *out);
	switch (jv_get_kind(v)) {
	case JV_KIND_TRUE:
	case JV_KIND_FALSE:
		out->kind = V_BOOL;
		out->b = jv_get_kind(v) == JV_KIND_TRUE;
		break;
	case JV_KIND_NUMBER:
		out->kind = V_NUM;
		out->num = jv_number_value(v);
		break;
	case JV_KIND_STRING:
		out->kind = V_STR;
		out->len = (size_t)jv_string_length_bytes(jv_copy(v));
		out->s = wf_xmalloc(out->len + 1);
		memcpy(out->s, jv_string_value(v), out->len);
		out->s[out->len] = '\0';
		break;
	case JV_KIND_NULL:
		out->kind = V_NULL;
		break;
	default:
		jv_free(v);
		return fail(c, pos, "'%s' is %s, not a value to compare", name,
			    jv_get_kind(v) == JV_KIND_ARRAY ? "an array" : "an object");
	}
	jv_free(v);
	return 0;
}

/* The closest of the context's variable names and the language's words to NAME, or NULL. */
static char *
suggest(jv ctx, const char *name)
{
	static const char *const words[] = {
		"true", "false", "and", "or", "not", "approved", "not-approved", "success",
		"failure", "file-exists", "variable-equals", "iteration", NULL
	};
	char *best = NULL;
	int bestd = 3;
	jv vars = wf_jv_get(ctx, "vars");
	size_t len = strlen(name);

	for (int i = 0; words[i]; i++) {
		int d = strcasecmp(name, words[i]) ? wf_edit_distance(name, words[i]) : 0;

		if (d < bestd && (size_t)d * 2 <= len) {
			free(best);
			best = wf_xstrdup(words[i]);
			bestd = d;
		}
	}
	if (jv_get_kind(vars) == JV_KIND_OBJECT) {
		jv_object_foreach(vars, k, v) {
			int d = wf_edit_distance(name, jv_string_value(k));

			if (d < bestd && (size_t)d * 2 <= len) {
				free(best);
				best = wf_xstrdup(jv_string_value(k));
				bestd = d;
			}
			jv_free(k);
			jv_free(v);
		}
	}
	jv_free(vars);
	return best;
}

/* Look NAME up in the context into *OUT; an unknown name is an error at POS. */
static int
lookup(struct cond *c, const char *name, size_t pos, struct val *out)
{
	jv v;

	memset(out, 0, sizeof *out);
	if (c->checking)
		return 0;
	v = wf_ctx_lookup(c->ctx, name);
	if (!jv_is_valid(v)) {
		char *hint = suggest(c->ctx, name);

		jv_free(v);
		fail(c, pos, "unknown identifier '%s'%s%s%s", name, hint ? " (did you mean '" : "",
		     hint ? hint : "", hint ? "'?)" : "");
		free(hint);
		return -1;
	}
	return from_jv(c, v, name, pos, out);
}

/* ${NAME} at src[pos..end): the name, trimmed and checked; malloc'd, or NULL after an error. */
static char *
var_name(struct cond *c, size_t pos, size_t end)
{
	size_t a = pos + 2, b = end - 1;

	while (a < b && is_space(c->src[a]))
		a++;
	while (b > a && is_space(c->src[b - 1]))
		b--;
	if (!wf_ctx_name_valid(c->src + a, b - a)) {
		fail(c, pos, "bad variable reference '%.*s'", (int)(end - pos > 60 ? 60 : end - pos),
		     c->src + pos);
		return NULL;
	}
	return wf_xstrndup(c->src + a, b - a);
}

/* The text of V, for string comparison and substitution; malloc'd. */
static char *
val_text(const struct val *v, size_t *len)
{
	char *t;

	switch (v->kind) {
	case V_BOOL:
		t = wf_xstrdup(v->b ? "true" : "false");
		break;
	case V_NUM:
		t = wf_jv_text(jv_number(v->num));
		break;
	case V_STR:
		t = wf_xmalloc(v->len + 1);
		memcpy(t, v->s, v->len + 1);
		*len = v->len;
		return t;
	default:
		t = wf_xstrdup("");
	}
	*len = strlen(t);
	return t;
}

/*
 * Decode the string literal src[pos..end) into *OUT.  Single quotes take
 * the text as written (\' and \\ aside); double quotes also know \n, \t,
 * \r, \$ and \" and expand ${name} (a value, never re-read), with $${
 * for a literal ${.
 */
static int
string_lit(struct cond *c, size_t pos, size_t end, struct val *out)
{
	const char *s = c->src;
	char q = s[pos];
	struct wf_buf b = {0};

	memset(out, 0, sizeof *out);
	wf_buf_add(&b, "", 0);
	for (size_t i = pos + 1; i < end - 1; i++) {
		char ch = s[i];

		if (ch == '\\' && i + 1 < end - 1) {
			char e = s[++i];

			if (q == '\'') {
				if (e != '\'' && e != '\\')
					wf_buf_addch(&b, '\\');
				wf_buf_addch(&b, e);
				continue;
			}
			switch (e) {
			case 'n': wf_buf_addch(&b, '\n'); break;
			case 't': wf_buf_addch(&b, '\t'); break;
			case 'r': wf_buf_addch(&b, '\r'); break;
			case '"': case '\\': case '$': case '\'': wf_buf_addch(&b, e); break;
			default:
				wf_buf_free(&b);
				return fail(c, i - 1, "unknown escape '\\%c' in string", e);
			}
			continue;
		}
		if (q == '"' && ch == '$' && i + 2 < end - 1 && s[i + 1] == '$' && s[i + 2] == '{') {
			wf_buf_add(&b, "${", 2);
			i += 2;
			continue;
		}
		if (q == '"' && ch == '$' && i + 1 < end - 1 && s[i + 1] == '{') {
			size_t e = var_end(s, end - 1, i);
			char *name, *t;
			struct val v;
			size_t tl;

			if (!e) {
				wf_buf_free(&b);
				return fail(c, i, "unterminated '${' in string (write '$${' for a literal '${')");
			}
			name = var_name(c, i, e + 1);
			if (!name || lookup(c, name, i, &v)) {
				free(name);
				wf_buf_free(&b);
				return -1;
			}
			t = val_text(&v, &tl);
			wf_buf_add(&b, t, tl);
			free(t);
			free(name);
			val_free(&v);
			i = e;
			continue;
		}
		wf_buf_addch(&b, ch);
	}
	out->kind = V_STR;
	out->len = b.len;
	out->s = wf_buf_detach(&b);
	return 0;
}

/*
 * A predicate's argument (file-exists PATH, variable-equals NAME VALUE),
 * read straight from the source at c->pos: a quoted string, ${name}, or a
 * bare word running to a space, a parenthesis, a quote or an operator
 * character.  Returns 1 with *OUT set, 0 when there is no argument here
 * (end, ')', an operator, or the words and/or), -1 after an error.
 */
static int
pred_arg(struct cond *c, struct val *out, size_t *at)
{
	const char *s = c->src;
	size_t p = c->pos, e;

	memset(out, 0, sizeof *out);
	while (p < c->len && is_space(s[p]))
		p++;
	*at = p;
	if (p >= c->len || strchr(")&|<>=!", s[p]))
		return 0;
	if (s[p] == '"' || s[p] == '\'' || (s[p] == '$' && p + 1 < c->len && s[p + 1] == '{')) {
		c->pos = p;
		if (next(c))
			return -1;
		if (c->tok == T_STR) {
			if (string_lit(c, c->ts, c->te, out))
				return -1;
		} else {
			char *name = var_name(c, c->ts, c->te);

			if (!name || lookup(c, name, c->ts, out)) {
				free(name);
				return -1;
			}
			free(name);
		}
		return 1;
	}
	for (e = p; e < c->len && !is_space(s[e]) && !strchr("()\"'&<>=!", s[e]) &&
		    !(s[e] == '|' && e + 1 < c->len && s[e + 1] == '|');
	     e++)
		;
	if ((e - p == 3 && !memcmp(s + p, "and", 3)) || (e - p == 2 && !memcmp(s + p, "or", 2)))
		return 0;
	if (e == p)
		return 0;
	out->kind = V_STR;
	out->s = wf_xstrndup(s + p, e - p);
	out->len = e - p;
	c->pos = e;
	return 1;
}

/* Is V true as a lone condition?  true, non-empty text and non-zero numbers are. */
static int
truth(const struct val *v)
{
	double d;

	switch (v->kind) {
	case V_BOOL:
		return v->b;
	case V_NUM:
		return v->num != 0;
	case V_STR:
		if (v->len == 0 || (v->len == 5 && !memcmp(v->s, "false", 5)))
			return 0;
		if (decimal(v->s, v->len, &d))
			return d != 0;
		return 1;
	default:
		return 0;
	}
}

/* Is the context value at NAME true or "true"? */
static int
ctx_true(jv v)
{
	int r = jv_get_kind(v) == JV_KIND_TRUE ||
		(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "true"));

	jv_free(v);
	return r;
}

static int
pred_approved(jv ctx)
{
	jv last = wf_jv_get(ctx, "last");
	int r;

	if (jv_get_kind(last) == JV_KIND_OBJECT && jv_object_has(jv_copy(last), jv_string("approved")))
		r = ctx_true(jv_object_get(last, jv_string("approved")));
	else {
		jv_free(last);
		r = ctx_true(wf_ctx_lookup(ctx, "vars.approved"));
	}
	return r;
}

/* success / failure: the status of the step that just ran; both false when none has. */
static int
pred_status(jv ctx, int want_ok)
{
	jv last = wf_jv_get(ctx, "last");
	const char *st = wf_jv_str(last, "status");
	int r = st && (want_ok ? !strcmp(st, "ok") : strcmp(st, "ok") != 0);

	jv_free(last);
	return r;
}

/* file-exists: the path from the argument, or from the variable the step's variable: names. */
static int
pred_file_exists(struct cond *c, size_t pos, int *out)
{
	struct val arg;
	size_t at;
	int have = pred_arg(c, &arg, &at);
	char *path;
	size_t len;
	struct stat st;

	if (have < 0)
		return -1;
	if (c->checking) {
		val_free(&arg);
		return 0;
	}
	if (have) {
		path = val_text(&arg, &len);
		val_free(&arg);
	} else {
		jv step = wf_jv_get(c->ctx, "step");
		const char *var = wf_jv_str(step, "variable");
		jv v;

		if (!var) {
			jv_free(step);
			return fail(c, pos, "file-exists needs a path: write 'file-exists PATH', "
				    "or give the step a 'variable:' naming the variable that holds it");
		}
		v = wf_ctx_lookup(c->ctx, var);
		if (!jv_is_valid(v)) {
			jv_free(v);
			fail(c, pos, "file-exists: variable '%s' (named by the step's 'variable:') is not set",
			     var);
			jv_free(step);
			return -1;
		}
		path = wf_jv_text(v);
		len = strlen(path);
		jv_free(v);
		jv_free(step);
	}
	*out = len > 0 && strlen(path) == len && stat(path, &st) == 0;
	free(path);
	return 0;
}

/* variable-equals NAME VALUE, or Codi's variable-equals|NAME|VALUE. */
static int
pred_var_equals(struct cond *c, size_t pos, int *out)
{
	struct val name = {0}, value = {0};
	size_t at;
	int r;

	if (c->pos < c->len && c->src[c->pos] == '|' &&
	    !(c->pos + 1 < c->len && c->src[c->pos + 1] == '|')) {
		size_t a = c->pos + 1, e = a;

		while (e < c->len && c->src[e] != '|' && !is_space(c->src[e]))
			e++;
		if (e >= c->len || c->src[e] != '|' || e == a)
			return fail(c, pos, "variable-equals needs a name and a value: variable-equals|NAME|VALUE");
		name.kind = V_STR;
		name.s = wf_xstrndup(c->src + a, e - a);
		name.len = e - a;
		c->pos = e + 1;
		r = c->pos < c->len && !is_space(c->src[c->pos]) ? pred_arg(c, &value, &at) : 0;
		if (r < 0) {
			val_free(&name);
			return -1;
		}
		if (r == 0) {
			value.kind = V_STR;
			value.s = wf_xstrdup("");
		}
	} else {
		if (c->pos < c->len && strchr(" \t\r\n", c->src[c->pos]) &&
		    c->src[c->pos + strspn(c->src + c->pos, " \t\r\n")] == '$')
			return fail(c, c->pos + strspn(c->src + c->pos, " \t\r\n"),
				    "variable-equals takes the variable's name, not its value: "
				    "write variable-equals NAME VALUE");
		r = pred_arg(c, &name, &at);
		if (r <= 0)
			return r < 0 ? -1 : fail(c, at, "variable-equals needs a variable name and a value");
		r = pred_arg(c, &value, &at);
		if (r <= 0) {
			val_free(&name);
			return r < 0 ? -1 : fail(c, at, "variable-equals needs a value after the name");
		}
	}
	if (!c->checking) {
		char *full = wf_xasprintf("vars.%s", name.s ? name.s : "");
		jv v = wf_ctx_lookup(c->ctx, full);
		size_t tl;
		char *t = val_text(&value, &tl);

		free(full);
		if (jv_is_valid(v)) {
			char *vt = wf_jv_text(v);

			*out = strlen(vt) == tl && !memcmp(vt, t, tl);
			free(vt);
		} else {
			*out = 0;
		}
		jv_free(v);
		free(t);
	}
	val_free(&name);
	val_free(&value);
	return 0;
}

static int expr_or(struct cond *c, int *out);

/* Parse one operand into *O: a literal, a name, a predicate or a parenthesised condition. */
static int
operand(struct cond *c, struct operand *o)
{
	char buf[64];
	int r = 0;

	memset(o, 0, sizeof *o);
	o->pos = c->ts;
	switch (c->tok) {
	case T_LP: {
		size_t open = c->ts;

		if (++c->depth > COND_MAX_DEPTH)
			return fail(c, c->ts, "condition nested too deeply (more than %d levels)", COND_MAX_DEPTH);
		if (next(c) || expr_or(c, &r))
			return -1;
		if (c->tok != T_RP)
			return fail(c, c->ts, "expected ')' to close the '(' at column %d, found %s",
				    column(c->src, open), tok_text(c, buf, sizeof buf));
		c->depth--;
		o->v.kind = V_BOOL;
		o->v.b = r;
		break;
	}
	case T_NUM:
		o->v.kind = V_NUM;
		decimal(c->src + c->ts, c->te - c->ts, &o->v.num);
		break;
	case T_STR:
		if (string_lit(c, c->ts, c->te, &o->v))
			return -1;
		break;
	case T_VAR: {
		char *name = var_name(c, c->ts, c->te);

		if (!name || lookup(c, name, c->ts, &o->v)) {
			free(name);
			return -1;
		}
		free(name);
		break;
	}
	case T_WORD:
		if (is_word(c, "true") || is_word(c, "false")) {
			o->v.kind = V_BOOL;
			o->v.b = is_word(c, "true");
		} else if (is_word(c, "approved") || is_word(c, "not-approved")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (!c->checking)
				o->v.b = pred_approved(c->ctx) == is_word(c, "approved");
		} else if (is_word(c, "success") || is_word(c, "failure")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (!c->checking)
				o->v.b = pred_status(c->ctx, is_word(c, "success"));
		} else if (is_word(c, "file-exists")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (pred_file_exists(c, o->pos, &o->v.b))
				return -1;
		} else if (is_word(c, "variable-equals")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (pred_var_equals(c, o->pos, &o->v.b))
				return -1;
		} else if (is_word(c, "and") || is_word(c, "or") || is_word(c, "not")) {
			return fail(c, c->ts, "expected a value, found '%.*s'", (int)(c->te - c->ts),
				    c->src + c->ts);
		} else {
			char *name = wf_xstrndup(c->src + c->ts, c->te - c->ts);

			if (c->te < c->len && c->src[c->te] == ':' && !strcmp(name, "jq")) {
				free(name);
				return fail(c, c->ts, "'jq:' must begin the condition");
			}
			r = lookup(c, name, c->ts, &o->v);
			free(name);
			if (r)
				return -1;
		}
		break;
	case T_EOF:
		return fail(c, c->ts, "expected a value at end of condition");
	default:
		return fail(c, c->ts, "expected a value, found %s", tok_text(c, buf, sizeof buf));
	}
	o->end = c->pos;
	return next(c);
}

/* Compare A and B: numerically when both are numbers, else as text (byte order). */
static int
compare(const struct val *a, const struct val *b)
{
	double x, y;
	int xn = a->kind == V_NUM ? (x = a->num, 1) : a->kind == V_STR && decimal(a->s, a->len, &x);
	int yn = b->kind == V_NUM ? (y = b->num, 1) : b->kind == V_STR && decimal(b->s, b->len, &y);
	char *s, *t;
	size_t sl, tl;
	int r;

	if (xn && yn)
		return x < y ? -1 : x > y;
	s = val_text(a, &sl);
	t = val_text(b, &tl);
	r = memcmp(s, t, sl < tl ? sl : tl);
	if (r == 0)
		r = sl < tl ? -1 : sl > tl;
	free(s);
	free(t);
	return r < 0 ? -1 : r > 0;
}

static int
apply(enum tok op, int r)
{
	switch (op) {
	case T_EQ: return r == 0;
	case T_NE: return r != 0;
	case T_LT: return r < 0;
	case T_LE: return r <= 0;
	case T_GT: return r > 0;
	default: return r >= 0;
	}
}

/* A predicate can stand alone or be negated, but comparing it is almost surely a mistake. */
static int
no_predicate(struct cond *c, const struct operand *o)
{
	if (!o->pred)
		return 0;
	return fail(c, o->pos, "'%.*s' is a predicate and cannot be compared "
		    "(to compare text, quote it: \"%.*s\")", (int)(o->end - o->pos), c->src + o->pos,
		    (int)(o->end - o->pos), c->src + o->pos);
}

/* comparison := operand [op operand] */
static int
expr_cmp(struct cond *c, int *out)
{
	struct operand a, b;
	enum tok op;
	char buf[64];
	int r = -1;

	if (operand(c, &a))
		goto done_a;
	if (!is_cmp(c->tok)) {
		*out = c->checking ? 0 : truth(&a.v);
		r = 0;
		goto done_a;
	}
	op = c->tok;
	if (no_predicate(c, &a) || next(c))
		goto done_a;
	if (c->tok == T_EOF) {
		fail(c, c->ts, "expected a value after '%s'", op_name(op));
		goto done_a;
	}
	if (operand(c, &b))
		goto done_b;
	if (no_predicate(c, &b))
		goto done_b;
	if (is_cmp(c->tok)) {
		fail(c, c->ts, "comparisons cannot be chained: join them with '&&' (found %s)",
		     tok_text(c, buf, sizeof buf));
		goto done_b;
	}
	*out = c->checking ? 0 : apply(op, compare(&a.v, &b.v));
	r = 0;
done_b:
	val_free(&b.v);
done_a:
	val_free(&a.v);
	return r;
}

/* unary := ('!' | 'not') unary | comparison.  A negation covers the whole comparison after it. */
static int
expr_unary(struct cond *c, int *out)
{
	int r;

	if (c->tok == T_NOT || is_word(c, "not")) {
		if (++c->depth > COND_MAX_DEPTH)
			return fail(c, c->ts, "condition nested too deeply (more than %d levels)", COND_MAX_DEPTH);
		if (next(c) || expr_unary(c, &r))
			return -1;
		c->depth--;
		*out = !r;
		return 0;
	}
	return expr_cmp(c, out);
}

/*
 * Parse the right side of an && or ||; when LEFT already decides the
 * result it is only checked, so an unknown name there is no error.
 */
static int
right_side(struct cond *c, int decided, int (*parse)(struct cond *, int *), int *out)
{
	int saved = c->checking, r;

	if (decided)
		c->checking = 1;
	r = parse(c, out);
	c->checking = saved;
	return r;
}

static int
expr_and(struct cond *c, int *out)
{
	int v, r;

	if (expr_unary(c, &v))
		return -1;
	while (c->tok == T_AND || is_word(c, "and")) {
		if (next(c) || right_side(c, !v, expr_unary, &r))
			return -1;
		v = v && r;
	}
	*out = v;
	return 0;
}

static int
expr_or(struct cond *c, int *out)
{
	int v, r;

	if (expr_and(c, &v))
		return -1;
	while (c->tok == T_OR || is_word(c, "or")) {
		if (next(c) || right_side(c, v, expr_and, &r))
			return -1;
		v = v || r;
	}
	*out = v;
	return 0;
}

/* Parse (and, unless checking, evaluate) the whole of a non-jq condition. */
static int
run_parser(const char *expr, jv ctx, int checking, int *result, char *err, size_t errlen, int *col)
{
	struct cond c = {0};
	char buf[64];
	int r = 0;

	c.src = expr;
	c.len = strlen(expr);
	c.ctx = ctx;
	c.checking = checking;
	c.err = err;
	c.errlen = errlen;
	if (next(&c))
		goto bad;
	if (c.tok == T_EOF) {
		fail(&c, 0, "empty condition");
		goto bad;
	}
	if (expr_or(&c, &r))
		goto bad;
	if (c.tok != T_EOF) {
		if (c.tok == T_RP)
			fail(&c, c.ts, "unmatched ')'");
		else
			fail(&c, c.ts, "expected '&&', '||' or the end, found %s", tok_text(&c, buf, sizeof buf));
		goto bad;
	}
	*result = checking ? 0 : r;
	return 0;
bad:
	if (col)
		*col = column(expr, c.errpos);
	return WF_EXIT_DATA;
}

/* ---- jq: conditions ---- */

/* If EXPR is "jq: PROGRAM" (leading space allowed), point *PROG at PROGRAM. */
static int
jq_prefix(const char *expr, const char **prog)
{
	const char *p = expr;

	while (is_space(*p))
		p++;
	if (strncmp(p, "jq:", 3))
		return 0;
	*prog = p + 3;
	return 1;
}

/*
 * Does PROG begin with a module directive (import, include, module)?  jq
 * only allows them at the top, so looking past spaces and comments at the
 * first word is enough.  They would read files, so conditions refuse them.
 */
static int
module_directive(const char *prog)
{
	static const char *const words[] = { "import", "include", "module", NULL };
	const char *p = prog;

	for (;;) {
		while (is_space(*p))
			p++;
		if (*p != '#')
			break;
		p += strcspn(p, "\n");
	}
	for (int i = 0; words[i]; i++) {
		size_t n = strlen(words[i]);

		if (!strncmp(p, words[i], n) && !is_ident_char(p[n]))
			return 1;
	}
	return 0;
}

/* The first message jq reports, without its "jq: error: " prefix and trailing lines. */
struct jq_errors {
	char msg[512];
	int n;
};

static void
jq_error_cb(void *data, jv msg)
{
	struct jq_errors *e = data;

	if (e->n++ == 0 && jv_get_kind(msg) == JV_KIND_STRING) {
		const char *s = jv_string_value(msg);

		int n;
		const char *at;

		if (!strncmp(s, "jq: error: ", 11))
			s += 11;
		n = (int)strcspn(s, "\n");
		at = strstr(s, " at <top-level>, line 1:");
		if (at && at - s < n)
			n = (int)(at - s);
		snprintf(e->msg, sizeof e->msg, "jq: %.*s", n, s);
	}
	jv_free(msg);
}

/* The $names a jq condition sees: $vars, $steps, $last, $loops, $iteration, $step (CTX borrowed). */
static jv
jq_args(jv ctx)
{
	static const char *const keys[] = { "vars", "steps", "last", "loops", "step", NULL };
	jv args = jv_object();

	for (int i = 0; keys[i]; i++)
		args = jv_object_set(args, jv_string(keys[i]), wf_jv_get(ctx, keys[i]));
	return jv_object_set(args, jv_string("iteration"), wf_ctx_lookup(ctx, "iteration"));
}

static jv
jq_no_input(jq_state *jq, void *data)
{
	(void)jq;
	(void)data;
	return jv_invalid_with_msg(jv_string("a condition has no input to read"));
}

static void
jq_discard(void *data, jv msg)
{
	(void)data;
	jv_free(msg);
}

/*
 * A jq state that reports errors into E, with no module search path and
 * no input.  libjq 1.6 leaves the debug callback unset and `debug` then
 * jumps through garbage, so it gets one that discards.
 */
static jq_state *
jq_open(struct jq_errors *e)
{
	jq_state *jq = jq_init();

	if (!jq)
		return NULL;
	jq_set_error_cb(jq, jq_error_cb, e);
	jq_set_input_cb(jq, jq_no_input, NULL);
	jq_set_debug_cb(jq, jq_discard, NULL);
	jq_set_attr(jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
	return jq;
}

/* Child side: send verdict V (T, F, E text, M) on FD and leave. */
static __attribute__((noreturn)) void
verdict(int fd, char v, const char *msg)
{
	char buf[600];
	int n = snprintf(buf, sizeof buf, "%c%s", v, msg ? msg : "");

	(void)!write(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
	_exit(0);
}

static int verdict_fd = -1;

static void
jq_nomem(void *data)
{
	(void)data;
	verdict(verdict_fd, 'M', NULL);
}

/* Keep only a few harmless variables, so env and $ENV show no secret. */
static void
scrub_environ(void)
{
	static const char *const keep[] = {
		"PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "LC_COLLATE", "TZ", NULL
	};
	extern char **environ;
	static char *safe[sizeof keep / sizeof keep[0]];
	size_t n = 0;

	for (int i = 0; keep[i]; i++) {
		size_t len = strlen(keep[i]);

		for (char **e = environ; e && *e; e++)
			if (!strncmp(*e, keep[i], len) && (*e)[len] == '=') {
				safe[n++] = *e;
				break;
			}
	}
	safe[n] = NULL;
	environ = safe;
}

/* Address space in use now, from /proc/self/statm; 0 if unknown. */
static rlim_t
vm_size(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n;
	unsigned long pages;

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	if (sscanf(buf, "%lu", &pages) != 1)
		return 0;
	return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

/*
 * The evaluator child: limits, a clean environment, compile, run (unless
 * COMPILE_ONLY), one verdict.
 */
static __attribute__((noreturn)) void
jq_child(int fd, const char *prog, jv ctx, int compile_only)
{
	struct jq_errors e = {0};
	struct rlimit rl;
	sigset_t none;
	rlim_t vm = vm_size();
	jq_state *jq;
	jv r;
	int null = open("/dev/null", O_RDWR);

	verdict_fd = fd;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* The caller's handlers (an interrupt flag, say) must not keep the child alive. */
	signal(SIGALRM, SIG_DFL);
	signal(SIGXCPU, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	scrub_environ();
	rl.rlim_cur = JQ_CPU_SECONDS;
	rl.rlim_max = JQ_CPU_SECONDS + 1;
	setrlimit(RLIMIT_CPU, &rl);
	rl.rlim_cur = rl.rlim_max = 0;
	setrlimit(RLIMIT_CORE, &rl);
	setrlimit(RLIMIT_FSIZE, &rl);
	if (vm) {
		rl.rlim_cur = rl.rlim_max = vm + JQ_MEMORY_HEADROOM;
		setrlimit(RLIMIT_AS, &rl);
	}
	alarm(JQ_WALL_SECONDS);

	jq = jq_open(&e);
	if (!jq)
		verdict(fd, 'M', NULL);
	jq_set_nomem_handler(jq, jq_nomem, NULL);
	if (!jq_compile_args(jq, prog, jq_args(ctx)))
		verdict(fd, 'E', e.msg[0] ? e.msg : "jq: cannot compile the program");
	if (compile_only)
		verdict(fd, 'T', NULL);
	jq_start(jq, jv_copy(ctx), 0);
	r = jq_next(jq);
	if (jv_get_kind(r) == JV_KIND_TRUE || jv_get_kind(r) == JV_KIND_FALSE)
		verdict(fd, jv_get_kind(r) == JV_KIND_TRUE ? 'T' : 'F', NULL);
	if (!jv_is_valid(r)) {
		jv msg = jv_invalid_get_msg(r);
		char text[512];

		if (jv_get_kind(msg) == JV_KIND_STRING)
			snprintf(text, sizeof text, "jq: %s", jv_string_value(msg));
		else if (jv_get_kind(msg) != JV_KIND_NULL) {
			jv d = jv_dump_string(msg, 0);

			snprintf(text, sizeof text, "jq: error: %s", jv_string_value(d));
			msg = d;
		} else
			snprintf(text, sizeof text,
				 "condition must produce true or false, but it produced no value");
		verdict(fd, 'E', text);
	}
	{
		jv d = jv_dump_string(r, 0);
		char text[512];

		snprintf(text, sizeof text, "condition must produce true or false, not %.60s%s",
			 jv_string_value(d), jv_string_length_bytes(jv_copy(d)) > 60 ? "..." : "");
		verdict(fd, 'E', text);
	}
}

/*
 * Run PROG over CTX (borrowed) in a limited child; the wf_cond_eval
 * results.  With COMPILE_ONLY, only compile it: even that happens in the
 * child, where libjq 1.6's own leaks (an unterminated string in a program
 * leaks in its parser) and any blow-up stay out of the caller.
 */
static int
jq_eval(const char *prog, jv ctx, int compile_only, int *result, char *err, size_t errlen)
{
	int fds[2], status = 0, timed_out = 0;
	char buf[600];
	size_t got = 0;
	double deadline;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot evaluate jq condition: pipe: %s", strerror(errno));
		return WF_EXIT_SOFTWARE;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot evaluate jq condition: fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return WF_EXIT_SOFTWARE;
	}
	if (pid == 0) {
		close(fds[0]);
		jq_child(fds[1], prog, ctx, compile_only);
	}
	close(fds[1]);
	deadline = wf_now_ms() + (JQ_WALL_SECONDS + 1) * 1000.0;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		double left = deadline - wf_now_ms();
		ssize_t n;
		int pr;

		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		pr = poll(&pfd, 1, (int)left + 1);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		n = read(fds[0], buf + got, sizeof buf - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got >= sizeof buf - 1)
			break;
	}
	buf[got] = '\0';
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (got > 0) {
		switch (buf[0]) {
		case 'T':
		case 'F':
			*result = buf[0] == 'T';
			return 0;
		case 'E':
			snprintf(err, errlen, "%s", buf + 1);
			return WF_EXIT_DATA;
		case 'M':
			snprintf(err, errlen, "condition exceeded its limits (more than %d MiB of memory)",
				 (int)(JQ_MEMORY_HEADROOM >> 20));
			return WF_EXIT_LIMIT;
		}
	}
	if (timed_out || (WIFSIGNALED(status) &&
			  (WTERMSIG(status) == SIGXCPU || WTERMSIG(status) == SIGKILL ||
			   WTERMSIG(status) == SIGALRM))) {
		snprintf(err, errlen, "condition exceeded its limits (%d s of CPU time, %d s in all)",
			 JQ_CPU_SECONDS, JQ_WALL_SECONDS);
		return WF_EXIT_LIMIT;
	}
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "condition exceeded its limits (the evaluator died of signal %d, %s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
		return WF_EXIT_LIMIT;
	}
	snprintf(err, errlen, "jq condition evaluator failed (exit status %d)", wf_exit_code(status));
	return WF_EXIT_SOFTWARE;
}

/* The shared front of wf_cond_eval and wf_cond_check. */
static int
cond(const char *expr, jv ctx, int checking, int *result, char *err, size_t errlen, int *col)
{
	const char *prog;
	int rc, r = 0;

	if (col)
		*col = 0;
	if (result)
		*result = 0;
	if (!expr || strlen(expr) > COND_MAX_LEN) {
		snprintf(err, errlen, "condition longer than %d bytes", COND_MAX_LEN);
		return WF_EXIT_DATA;
	}
	if (!wf_utf8_valid(expr, strlen(expr), NULL)) {
		snprintf(err, errlen, "condition is not valid UTF-8");
		return WF_EXIT_DATA;
	}
	if (!jq_prefix(expr, &prog)) {
		/* Syntax first, so a typo late in the condition wins over an unknown name early. */
		rc = run_parser(expr, ctx, 1, &r, err, errlen, col);
		if (rc == 0 && !checking)
			rc = run_parser(expr, ctx, 0, &r, err, errlen, col);
		if (rc == 0 && result)
			*result = r;
		return rc;
	}
	while (is_space(*prog))
		prog++;
	if (!*prog || module_directive(prog)) {
		snprintf(err, errlen, *prog ? "jq conditions cannot import or include modules"
				    : "empty jq program after 'jq:'");
		if (col)
			*col = column(expr, (size_t)(prog - expr));
		return WF_EXIT_DATA;
	}
	rc = jq_eval(prog, checking ? jv_null() : ctx, checking, &r, err, errlen);
	if (rc == 0 && result)
		*result = checking ? 0 : r;
	if (rc == WF_EXIT_DATA && col)
		*col = column(expr, (size_t)(prog - expr));
	return rc;
}

int
wf_cond_eval(const char *expr, jv ctx, int *result, char *err, size_t errlen, int *col)
{
	return cond(expr, ctx, 0, result, err, errlen, col);
}

int
wf_cond_check(const char *expr, char *err, size_t errlen, int *col)
{
	return cond(expr, jv_null(), 1, NULL, err, errlen, col);
}
