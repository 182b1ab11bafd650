/*
 * cond_lex.c: the words of the condition language (wf-cond(1)): the
 * lexer, and the values a condition holds: number, string and ${name}
 * literals, names looked up in the context with a did-you-mean for
 * unknown ones, and a predicate's bare argument.  Values read from the
 * context are data: they are compared, never parsed.  Errors are
 * recorded once, at the byte where they start.
 *
 * Layer 1: formats and channels.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cond_lang.h"

/* The 1-based column of byte offset POS in S, counting UTF-8 characters. */
int
wf_cond_column(const char *s, size_t pos)
{
	int col = 1;

	for (size_t i = 0; i < pos; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			col++;
	return col;
}

/* Record the first error, at byte POS; always returns -1. */
int
wf_cond_fail(struct cond *c, size_t pos, const char *fmt, ...)
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

void
wf_cond_val_free(struct val *v)
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

int
wf_cond_is_ident_char(char ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9') || ch == '-';
}

static int
is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

int
wf_cond_is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

/* Is the current token the word W? */
int
wf_cond_is_word(const struct cond *c, const char *w)
{
	size_t n = strlen(w);

	return c->tok == T_WORD && c->te - c->ts == n && !memcmp(c->src + c->ts, w, n);
}

/* A printable excerpt of the current token for messages. */
const char *
wf_cond_tok_text(const struct cond *c, char *buf, size_t n)
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
int
wf_cond_decimal(const char *s, size_t n, double *out)
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
int
wf_cond_next(struct cond *c)
{
	const char *s = c->src;
	size_t p = c->pos;
	char ch;

	while (p < c->len && wf_cond_is_space(s[p]))
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
		return wf_cond_fail(c, p, "'=' is not an operator (did you mean '=='?)");
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
		return wf_cond_fail(c, p, "'&' is not an operator (did you mean '&&'?)");
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
			return wf_cond_fail(c, c->ts, "unterminated string");
		c->tok = T_STR;
		p++;
		break;
	case '$':
		if (p + 1 < c->len && s[p + 1] == '{') {
			size_t e = var_end(s, c->len, p);

			if (!e)
				return wf_cond_fail(c, p, "unterminated '${'");
			c->tok = T_VAR;
			p = e + 1;
			break;
		}
		return wf_cond_fail(c, p, "unexpected '$' (write a variable as ${name} or name)");
	default:
		if (is_digit(ch) || (ch == '-' && p + 1 < c->len && is_digit(s[p + 1]))) {
			double d;

			for (p++; p < c->len && (is_digit(s[p]) || s[p] == '.'); p++)
				;
			if ((p < c->len && wf_cond_is_ident_char(s[p])) || !wf_cond_decimal(s + c->ts, p - c->ts, &d)) {
				while (p < c->len && (wf_cond_is_ident_char(s[p]) || s[p] == '.'))
					p++;
				return wf_cond_fail(c, c->ts, "bad number '%.*s'", (int)(p - c->ts > 40 ? 40 : p - c->ts),
					    s + c->ts);
			}
			c->tok = T_NUM;
			break;
		}
		if (is_ident_start(ch)) {
			/* Letters, digits, '_' and '-', with '.' between parts: steps.run-tests.exit_code. */
			for (p++; p < c->len; p++) {
				if (wf_cond_is_ident_char(s[p]))
					continue;
				if (s[p] == '.' && p + 1 < c->len && wf_cond_is_ident_char(s[p + 1]))
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
				return wf_cond_fail(c, p - 2, "'jq:' must begin the condition");
			return wf_cond_fail(c, p, "unexpected character '%.*s'", (int)n, s + p);
		}
	}
	c->te = c->pos = p;
	return 0;
}

int
wf_cond_is_cmp(enum tok t)
{
	return t >= T_EQ && t <= T_GE;
}

const char *
wf_cond_op_name(enum tok t)
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
		return wf_cond_fail(c, pos, "'%s' is %s, not a value to compare", name,
			    jv_get_kind(v) == JV_KIND_ARRAY ? "an array" : "an object");
	}
	jv_free(v);
	return 0;
}

const char *const wf_cond_words[] = {
	"true", "false", "and", "or", "not", "approved", "not-approved", "success",
	"failure", "file-exists", "variable-equals", "iteration", NULL
};

/*
 * The closest of the context's variable names and the language's words
 * to NAME, or NULL. CTX borrowed.
 */
static char *
suggest(jv ctx, const char *name)
{
	const char *const *words = wf_cond_words;
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
int
wf_cond_lookup(struct cond *c, const char *name, size_t pos, struct val *out)
{
	jv v;

	memset(out, 0, sizeof *out);
	if (c->checking)
		return 0;
	v = wf_ctx_lookup(c->ctx, name);
	if (!jv_is_valid(v)) {
		char *hint = suggest(c->ctx, name);

		jv_free(v);
		wf_cond_fail(c, pos, "unknown identifier '%s'%s%s%s", name, hint ? " (did you mean '" : "",
		     hint ? hint : "", hint ? "'?)" : "");
		free(hint);
		return -1;
	}
	return from_jv(c, v, name, pos, out);
}

/* ${NAME} at src[pos..end): the name, trimmed and checked; malloc'd, or NULL after an error. */
char *
wf_cond_var_name(struct cond *c, size_t pos, size_t end)
{
	size_t a = pos + 2, b = end - 1;

	while (a < b && wf_cond_is_space(c->src[a]))
		a++;
	while (b > a && wf_cond_is_space(c->src[b - 1]))
		b--;
	if (!wf_ctx_name_valid(c->src + a, b - a)) {
		wf_cond_fail(c, pos, "bad variable reference '%.*s'", (int)(end - pos > 60 ? 60 : end - pos),
		     c->src + pos);
		return NULL;
	}
	return wf_xstrndup(c->src + a, b - a);
}

/* The text of V, for string comparison and substitution; malloc'd. */
char *
wf_cond_val_text(const struct val *v, size_t *len)
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
int
wf_cond_string_lit(struct cond *c, size_t pos, size_t end, struct val *out)
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
				return wf_cond_fail(c, i - 1, "unknown escape '\\%c' in string", e);
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
				return wf_cond_fail(c, i, "unterminated '${' in string (write '$${' for a literal '${')");
			}
			name = wf_cond_var_name(c, i, e + 1);
			if (!name || wf_cond_lookup(c, name, i, &v)) {
				free(name);
				wf_buf_free(&b);
				return -1;
			}
			t = wf_cond_val_text(&v, &tl);
			wf_buf_add(&b, t, tl);
			free(t);
			free(name);
			wf_cond_val_free(&v);
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
int
wf_cond_pred_arg(struct cond *c, struct val *out, size_t *at)
{
	const char *s = c->src;
	size_t p = c->pos, e;

	memset(out, 0, sizeof *out);
	while (p < c->len && wf_cond_is_space(s[p]))
		p++;
	*at = p;
	if (p >= c->len || strchr(")&|<>=!", s[p]))
		return 0;
	if (s[p] == '"' || s[p] == '\'' || (s[p] == '$' && p + 1 < c->len && s[p + 1] == '{')) {
		c->pos = p;
		if (wf_cond_next(c))
			return -1;
		if (c->tok == T_STR) {
			if (wf_cond_string_lit(c, c->ts, c->te, out))
				return -1;
		} else {
			char *name = wf_cond_var_name(c, c->ts, c->te);

			if (!name || wf_cond_lookup(c, name, c->ts, out)) {
				free(name);
				return -1;
			}
			free(name);
		}
		return 1;
	}
	for (e = p; e < c->len && !wf_cond_is_space(s[e]) && !strchr("()\"'&<>=!", s[e]) &&
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
