/*
 * cond_lang.h: the inside of the condition language, shared by its three
 * files and included by nothing else: cond_lex.c reads the words (tokens,
 * literals, variables and the values they name in the context), cond.c
 * parses and evaluates them, cond_jq.c runs "jq:" conditions.  What the
 * rest of wf sees is wf_cond_eval and wf_cond_check in wf.h.
 *
 * Layer 1: formats and channels.
 */
#ifndef WF_COND_LANG_H
#define WF_COND_LANG_H

#include "wf_priv.h"

#define COND_MAX_LEN (64 * 1024)
#define COND_MAX_DEPTH 64

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

/* cond_lex.c: characters, tokens and errors. */
int wf_cond_column(const char *s, size_t pos);
int wf_cond_fail(struct cond *c, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int wf_cond_is_space(char ch);
int wf_cond_is_ident_char(char ch);
int wf_cond_decimal(const char *s, size_t n, double *out);
int wf_cond_next(struct cond *c);
int wf_cond_is_word(const struct cond *c, const char *w);
const char *wf_cond_tok_text(const struct cond *c, char *buf, size_t n);
int wf_cond_is_cmp(enum tok t);
const char *wf_cond_op_name(enum tok t);

/* cond_lex.c: values, literal or read from the context (c->ctx, borrowed). */
void wf_cond_val_free(struct val *v);
char *wf_cond_val_text(const struct val *v, size_t *len);
int wf_cond_lookup(struct cond *c, const char *name, size_t pos, struct val *out);
char *wf_cond_var_name(struct cond *c, size_t pos, size_t end);
int wf_cond_string_lit(struct cond *c, size_t pos, size_t end, struct val *out);
int wf_cond_pred_arg(struct cond *c, struct val *out, size_t *at);

/* cond_jq.c: PROG run over CTX (borrowed) in a limited child, with wf_cond_eval's results. */
int wf_cond_jq_eval(const char *prog, jv ctx, int compile_only, int *result, char *err, size_t errlen);

#endif
