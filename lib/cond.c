/*
 * cond.c: the condition language of wf-cond(1), used by the condition:,
 * check: and loop fields of a workflow.
 *
 * A small recursive-descent parser that evaluates as it parses: there is
 * no tree and no allocation beyond the text of string values.  The same
 * parser with evaluation switched off is the syntax check, and is what
 * runs over the side of an && or || that short-circuits.  The words it
 * reads come from cond_lex.c; "jq: PROGRAM" hands the whole condition to
 * cond_jq.c instead.
 *
 * Layer 1: formats and channels.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cond_lang.h"

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
		if (wf_cond_decimal(v->s, v->len, &d))
			return d != 0;
		return 1;
	default:
		return 0;
	}
}

/* Is the context value V (consumed) true or "true"? */
static int
ctx_true(jv v)
{
	int r = jv_get_kind(v) == JV_KIND_TRUE ||
		(jv_get_kind(v) == JV_KIND_STRING && !strcmp(jv_string_value(v), "true"));

	jv_free(v);
	return r;
}

/* Approved: the last step's "approved", else vars.approved; CTX borrowed. */
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

/*
 * success / failure: the status of the step that just ran; both false
 * when none has. CTX borrowed.
 */
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
	int have = wf_cond_pred_arg(c, &arg, &at);
	char *path;
	size_t len;
	struct stat st;

	if (have < 0)
		return -1;
	if (c->checking) {
		wf_cond_val_free(&arg);
		return 0;
	}
	if (have) {
		path = wf_cond_val_text(&arg, &len);
		wf_cond_val_free(&arg);
	} else {
		jv step = wf_jv_get(c->ctx, "step");
		const char *var = wf_jv_str(step, "variable");
		jv v;

		if (!var) {
			jv_free(step);
			return wf_cond_fail(c, pos, "file-exists needs a path: write 'file-exists PATH', "
				    "or give the step a 'variable:' naming the variable that holds it");
		}
		v = wf_ctx_lookup(c->ctx, var);
		if (!jv_is_valid(v)) {
			jv_free(v);
			wf_cond_fail(c, pos, "file-exists: variable '%s' (named by the step's 'variable:') is not set",
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

		while (e < c->len && c->src[e] != '|' && !wf_cond_is_space(c->src[e]))
			e++;
		if (e >= c->len || c->src[e] != '|' || e == a)
			return wf_cond_fail(c, pos, "variable-equals needs a name and a value: variable-equals|NAME|VALUE");
		name.kind = V_STR;
		name.s = wf_xstrndup(c->src + a, e - a);
		name.len = e - a;
		c->pos = e + 1;
		r = c->pos < c->len && !wf_cond_is_space(c->src[c->pos]) ? wf_cond_pred_arg(c, &value, &at) : 0;
		if (r < 0) {
			wf_cond_val_free(&name);
			return -1;
		}
		if (r == 0) {
			value.kind = V_STR;
			value.s = wf_xstrdup("");
		}
	} else {
		if (c->pos < c->len && strchr(" \t\r\n", c->src[c->pos]) &&
		    c->src[c->pos + strspn(c->src + c->pos, " \t\r\n")] == '$')
			return wf_cond_fail(c, c->pos + strspn(c->src + c->pos, " \t\r\n"),
				    "variable-equals takes the variable's name, not its value: "
				    "write variable-equals NAME VALUE");
		r = wf_cond_pred_arg(c, &name, &at);
		if (r <= 0)
			return r < 0 ? -1 : wf_cond_fail(c, at, "variable-equals needs a variable name and a value");
		r = wf_cond_pred_arg(c, &value, &at);
		if (r <= 0) {
			wf_cond_val_free(&name);
			return r < 0 ? -1 : wf_cond_fail(c, at, "variable-equals needs a value after the name");
		}
	}
	if (!c->checking) {
		char *full = wf_xasprintf("vars.%s", name.s ? name.s : "");
		jv v = wf_ctx_lookup(c->ctx, full);
		size_t tl;
		char *t = wf_cond_val_text(&value, &tl);

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
	wf_cond_val_free(&name);
	wf_cond_val_free(&value);
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
			return wf_cond_fail(c, c->ts, "condition nested too deeply (more than %d levels)", COND_MAX_DEPTH);
		if (wf_cond_next(c) || expr_or(c, &r))
			return -1;
		if (c->tok != T_RP)
			return wf_cond_fail(c, c->ts, "expected ')' to close the '(' at column %d, found %s",
				    wf_cond_column(c->src, open), wf_cond_tok_text(c, buf, sizeof buf));
		c->depth--;
		o->v.kind = V_BOOL;
		o->v.b = r;
		break;
	}
	case T_NUM:
		o->v.kind = V_NUM;
		wf_cond_decimal(c->src + c->ts, c->te - c->ts, &o->v.num);
		break;
	case T_STR:
		if (wf_cond_string_lit(c, c->ts, c->te, &o->v))
			return -1;
		break;
	case T_VAR: {
		char *name = wf_cond_var_name(c, c->ts, c->te);

		if (!name || wf_cond_lookup(c, name, c->ts, &o->v)) {
			free(name);
			return -1;
		}
		free(name);
		break;
	}
	case T_WORD:
		if (wf_cond_is_word(c, "true") || wf_cond_is_word(c, "false")) {
			o->v.kind = V_BOOL;
			o->v.b = wf_cond_is_word(c, "true");
		} else if (wf_cond_is_word(c, "approved") || wf_cond_is_word(c, "not-approved")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (!c->checking)
				o->v.b = pred_approved(c->ctx) == wf_cond_is_word(c, "approved");
		} else if (wf_cond_is_word(c, "success") || wf_cond_is_word(c, "failure")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (!c->checking)
				o->v.b = pred_status(c->ctx, wf_cond_is_word(c, "success"));
		} else if (wf_cond_is_word(c, "file-exists")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (pred_file_exists(c, o->pos, &o->v.b))
				return -1;
		} else if (wf_cond_is_word(c, "variable-equals")) {
			o->pred = 1;
			o->v.kind = V_BOOL;
			if (pred_var_equals(c, o->pos, &o->v.b))
				return -1;
		} else if (wf_cond_is_word(c, "and") || wf_cond_is_word(c, "or") || wf_cond_is_word(c, "not")) {
			return wf_cond_fail(c, c->ts, "expected a value, found '%.*s'", (int)(c->te - c->ts),
				    c->src + c->ts);
		} else {
			char *name = wf_xstrndup(c->src + c->ts, c->te - c->ts);

			if (c->te < c->len && c->src[c->te] == ':' && !strcmp(name, "jq")) {
				free(name);
				return wf_cond_fail(c, c->ts, "'jq:' must begin the condition");
			}
			r = wf_cond_lookup(c, name, c->ts, &o->v);
			free(name);
			if (r)
				return -1;
		}
		break;
	case T_EOF:
		return wf_cond_fail(c, c->ts, "expected a value at end of condition");
	default:
		return wf_cond_fail(c, c->ts, "expected a value, found %s", wf_cond_tok_text(c, buf, sizeof buf));
	}
	o->end = c->pos;
	return wf_cond_next(c);
}

/* Compare A and B: numerically when both are numbers, else as text (byte order). */
static int
compare(const struct val *a, const struct val *b)
{
	double x, y;
	int xn = a->kind == V_NUM ? (x = a->num, 1) : a->kind == V_STR && wf_cond_decimal(a->s, a->len, &x);
	int yn = b->kind == V_NUM ? (y = b->num, 1) : b->kind == V_STR && wf_cond_decimal(b->s, b->len, &y);
	char *s, *t;
	size_t sl, tl;
	int r;

	if (xn && yn)
		return x < y ? -1 : x > y;
	s = wf_cond_val_text(a, &sl);
	t = wf_cond_val_text(b, &tl);
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
	return wf_cond_fail(c, o->pos, "'%.*s' is a predicate and cannot be compared "
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
	if (!wf_cond_is_cmp(c->tok)) {
		*out = c->checking ? 0 : truth(&a.v);
		r = 0;
		goto done_a;
	}
	op = c->tok;
	if (no_predicate(c, &a) || wf_cond_next(c))
		goto done_a;
	if (c->tok == T_EOF) {
		wf_cond_fail(c, c->ts, "expected a value after '%s'", wf_cond_op_name(op));
		goto done_a;
	}
	if (operand(c, &b))
		goto done_b;
	if (no_predicate(c, &b))
		goto done_b;
	if (wf_cond_is_cmp(c->tok)) {
		wf_cond_fail(c, c->ts, "comparisons cannot be chained: join them with '&&' (found %s)",
		     wf_cond_tok_text(c, buf, sizeof buf));
		goto done_b;
	}
	*out = c->checking ? 0 : apply(op, compare(&a.v, &b.v));
	r = 0;
done_b:
	wf_cond_val_free(&b.v);
done_a:
	wf_cond_val_free(&a.v);
	return r;
}

/* unary := ('!' | 'not') unary | comparison.  A negation covers the whole comparison after it. */
static int
expr_unary(struct cond *c, int *out)
{
	int r;

	if (c->tok == T_NOT || wf_cond_is_word(c, "not")) {
		if (++c->depth > COND_MAX_DEPTH)
			return wf_cond_fail(c, c->ts, "condition nested too deeply (more than %d levels)", COND_MAX_DEPTH);
		if (wf_cond_next(c) || expr_unary(c, &r))
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
	while (c->tok == T_AND || wf_cond_is_word(c, "and")) {
		if (wf_cond_next(c) || right_side(c, !v, expr_unary, &r))
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
	while (c->tok == T_OR || wf_cond_is_word(c, "or")) {
		if (wf_cond_next(c) || right_side(c, v, expr_and, &r))
			return -1;
		v = v || r;
	}
	*out = v;
	return 0;
}

/* Parse (and, unless checking, evaluate) the whole of a non-jq condition. CTX borrowed. */
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
	if (wf_cond_next(&c))
		goto bad;
	if (c.tok == T_EOF) {
		wf_cond_fail(&c, 0, "empty condition");
		goto bad;
	}
	if (expr_or(&c, &r))
		goto bad;
	if (c.tok != T_EOF) {
		if (c.tok == T_RP)
			wf_cond_fail(&c, c.ts, "unmatched ')'");
		else
			wf_cond_fail(&c, c.ts, "expected '&&', '||' or the end, found %s", wf_cond_tok_text(&c, buf, sizeof buf));
		goto bad;
	}
	*result = checking ? 0 : r;
	return 0;
bad:
	if (col)
		*col = wf_cond_column(expr, c.errpos);
	return WF_EXIT_DATA;
}

/* ---- jq: conditions ---- */

/* If EXPR is "jq: PROGRAM" (leading space allowed), point *PROG at PROGRAM. */
static int
jq_prefix(const char *expr, const char **prog)
{
	const char *p = expr;

	while (wf_cond_is_space(*p))
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
		while (wf_cond_is_space(*p))
			p++;
		if (*p != '#')
			break;
		p += strcspn(p, "\n");
	}
	for (int i = 0; words[i]; i++) {
		size_t n = strlen(words[i]);

		if (!strncmp(p, words[i], n) && !wf_cond_is_ident_char(p[n]))
			return 1;
	}
	return 0;
}


/* The shared front of wf_cond_eval and wf_cond_check. CTX borrowed. */
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
	while (wf_cond_is_space(*prog))
		prog++;
	if (!*prog || module_directive(prog)) {
		snprintf(err, errlen, *prog ? "jq conditions cannot import or include modules"
				    : "empty jq program after 'jq:'");
		if (col)
			*col = wf_cond_column(expr, (size_t)(prog - expr));
		return WF_EXIT_DATA;
	}
	rc = wf_cond_jq_eval(prog, checking ? jv_null() : ctx, checking, &r, err, errlen);
	if (rc == 0 && result)
		*result = checking ? 0 : r;
	if (rc == WF_EXIT_DATA && col)
		*col = wf_cond_column(expr, (size_t)(prog - expr));
	return rc;
}

/* CTX borrowed. */
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
