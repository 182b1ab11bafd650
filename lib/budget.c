/*
 * budget.c: a run's budget for its model use: --budget's AMOUNT read and
 * journaled, the workflow's budget: with the run's on top, and a budget
 * as people read it (wf-run(1) --budget; wf-workflow(5) "budget:").
 *
 * Layer 2: domain data.
 *
 * Rules: an AMOUNT is read whole or refused; nothing here prints.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "estimate.h"

/* A number at *P (digits, at most one '.'), moved past: 0, or -1 when there is none. */
static int
read_number(const char **p, double *v)
{
	const char *s = *p;
	char *end;
	int dots = 0;

	while (isdigit((unsigned char)*s) || (*s == '.' && !dots++))
		s++;
	if (s == *p || !isdigit((unsigned char)s[-1]) || !isdigit((unsigned char)**p))
		return -1;
	*v = strtod(*p, &end);
	if (end != s)
		return -1;
	*p = s;
	return 0;
}

int
wf_budget_parse(const char *text, jv *out, char *err, size_t n)
{
	const char *p = text;
	double v = 0;

	*out = jv_invalid();
	if (*p == '$') {
		p++;
		if (!read_number(&p, &v) && !*p) {
			*out = jv_object_set(jv_object(), jv_string("usd"), jv_number(v));
			return 0;
		}
	} else if (!read_number(&p, &v)) {
		if (*p == 'k' || *p == 'M')
			v *= *p++ == 'k' ? 1e3 : 1e6;
		if (*p == ' ')
			p++;
		if (!strcmp(p, "tokens") && v == (double)(long long)v) {
			*out = jv_object_set(jv_object(), jv_string("tokens"), jv_number(v));
			return 0;
		}
	}
	snprintf(err, n, "--budget takes $DOLLARS (e.g. $2.50) or a whole number of tokens (e.g. 40000tokens, '40k tokens', 1.5Mtokens), got '%.80s'",
		 text);
	return -1;
}

jv
wf_budget_effective(jv wf, jv given)
{
	jv set = wf_jv_get(wf, "budget"), b = jv_object();
	jv layers[2] = { set, given };

	/* Only the members set: a workflow's budget: holds nulls for the ones it leaves out. */
	for (int i = 0; i < 2; i++)
		if (jv_get_kind(layers[i]) == JV_KIND_OBJECT)
			jv_object_foreach(layers[i], k, v) {
				if (jv_get_kind(v) == JV_KIND_NUMBER)
					b = jv_object_set(b, k, v);
				else {
					jv_free(k);
					jv_free(v);
				}
			}
	jv_free(set);
	return b;
}

/* USD dollars into BUF: cents as cents ($2.50), a smaller amount to its last digit ($0.005, $0.000001). */
static const char *
dollars(double usd, char *buf, size_t n)
{
	size_t len;

	if (usd * 100 == (double)(long long)(usd * 100))
		snprintf(buf, n, "$%.2f", usd);
	else {
		snprintf(buf, n, "$%.9f", usd);
		len = strlen(buf);
		while (len > 1 && buf[len - 1] == '0')
			buf[--len] = 0;
	}
	return buf;
}

char *
wf_budget_text(jv budget)
{
	double usd = wf_jv_num(budget, "usd", -1), tok = wf_jv_num(budget, "tokens", -1);
	char d[64];

	if (usd < 0 && tok < 0)
		return NULL;
	if (usd >= 0 && tok >= 0)
		return wf_xasprintf("%s and %.0f tokens", dollars(usd, d, sizeof d), tok);
	return usd >= 0 ? wf_xstrdup(dollars(usd, d, sizeof d)) : wf_xasprintf("%.0f tokens", tok);
}

jv
wf_budget_event(jv ev, const char *amount)
{
	char err[256];
	jv b;

	if (!amount)
		return ev;
	if (wf_budget_parse(amount, &b, err, sizeof err)) {
		jv_free(b);
		return ev;
	}
	return jv_object_set(ev, jv_string("budget"), b);
}
