/*
 * cond-evals: the raw cost of one condition evaluation inside one
 * process, for tests/bench/40-cond.sh.  It evaluates EXPR N times with
 * wf_cond_eval over a context shaped like a run's (a few variables, a
 * step with its output, a loop counter) and prints two numbers: the
 * milliseconds of the first evaluation (for a jq: condition, starting
 * the evaluator child and compiling), and the mean microseconds of each
 * later one.  Exit 1 when an evaluation fails or is not true.
 *
 * usage: cond-evals N EXPR
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "wf.h"

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

int
main(int argc, char **argv)
{
	static const char ctx_text[] =
		"{\"vars\":{\"branch\":\"main\",\"i\":\"2\",\"files\":[\"a.c\",\"b.c\"]},"
		"\"steps\":{\"body\":{\"status\":\"ok\",\"exit_code\":0,\"output\":\"0 failures\\n\"}},"
		"\"last\":{\"status\":\"ok\"},\"loops\":{\"back\":3},\"iteration\":3}";
	char err[512];
	int n, result = 0, col = 0;
	double t0, t1 = 0, t2;
	jv ctx;

	if (argc != 3 || (n = atoi(argv[1])) < 2) {
		fprintf(stderr, "usage: cond-evals N EXPR\n");
		return 2;
	}
	ctx = wf_json_parse(ctx_text, sizeof ctx_text - 1, err, sizeof err);
	t0 = now_us();
	for (int i = 0; i < n; i++) {
		if (i == 1)
			t1 = now_us();
		int rc = wf_cond_eval(argv[2], ctx, &result, err, sizeof err, &col);

		if (rc || !result) {
			fprintf(stderr, "cond-evals: %s\n", rc ? err : "false");
			return 1;
		}
	}
	t2 = now_us();
	jv_free(ctx);
	printf("%.3f %.2f\n", (t1 - t0) / 1e3, (t2 - t1) / (n - 1));
	return 0;
}
