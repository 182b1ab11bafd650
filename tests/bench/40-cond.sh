#!/bin/sh
# Conditions.  1. wf-cond against a bare process start (/bin/true): a
# plain condition, and a jq: condition (start the evaluator child, scrub
# its environment, compile jq's builtins), each N runs.  2. In a run, a
# loop decided by a jq: condition against the same loop decided by a
# plain one: the cost of a pass after the first (the run's one evaluator
# child is started by then), from the total times of a short and a long
# loop, medians of interleaved runs.  A pass is a shell step plus the
# loop step, each journaled, so 3. also gives the raw cost of one
# evaluation of each inside one process (build/bench/cond-evals).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../bench-lib.sh"
N=${WF_BENCH_COND:-200}
SHORT=${WF_BENCH_COND_SHORT:-20}
LONG=${WF_BENCH_COND_LONG:-220}
ROUNDS=${WF_BENCH_COND_ROUNDS:-5}

now_ms() { date +%s%3N; }

# loop CMD...: run CMD N times; print the elapsed milliseconds.
loop() {
	t0=$(now_ms)
	i=0
	while [ "$i" -lt "$N" ]; do
		"$@"
		i=$((i + 1))
	done
	t1=$(now_ms)
	echo $((t1 - t0))
}

ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / ($2 > 0 ? $2 : 1) }'; }

# Warm the page cache first.
wf-cond 'i < 3' --var i=2
wf-cond 'jq: .vars.i == "2"' --var i=2

base=$(loop /bin/true)
plain=$(loop wf-cond 'i < 3' --var i=2)
echo "wf-cond 'i < 3', $N runs: $plain ms vs /bin/true, $N runs: $base ms = $(ratio "$plain" "$base") x"
base=$(loop /bin/true)
jq=$(loop wf-cond 'jq: .vars.i == "2"' --var i=2)
echo "wf-cond 'jq: .vars.i == \"2\"', $N runs: $jq ms vs /bin/true, $N runs: $base ms = $(ratio "$jq" "$base") x"
# For scale: the same test by the jq program itself, which also compiles its builtins.
if command -v jq >/dev/null 2>&1; then
	jq_cli() { jq -n --arg i 2 '$i == "2"' >/dev/null; }
	base=$(loop /bin/true)
	cli=$(loop jq_cli)
	echo "jq -n '\$i == \"2\"' (for scale), $N runs: $cli ms vs /bin/true, $N runs: $base ms = $(ratio "$cli" "$base") x"
fi

# looped KIND PASSES: a workflow file of a loop of PASSES passes of a
# shell step, decided by a jq: (KIND jq) or a plain condition.
looped() {
	if [ "$1" = jq ]; then
		cond="jq: \$iteration < $(($2 - 1)) and \$steps.body.status == \"ok\""
	else
		cond="iteration < $(($2 - 1)) && steps.body.status == \"ok\""
	fi
	f=$1-$2.yaml
	printf 'name: l\nsteps:\n  - id: body\n    action: shell\n    command: "/bin/true"\n' > "$f"
	printf '  - id: back\n    action: loop\n    to: body\n    condition: '"'%s'"'\n    max-iterations: 1000\n' \
		"$cond" >> "$f"
	echo "$f"
}

# timed FILE: milliseconds of one run of FILE, in a state directory of its own.
timed() {
	t0=$(now_ms)
	WF_STATE_DIR="$bench_tmp/s" wf-run "$1" --quiet --yes > /dev/null
	t1=$(now_ms)
	rm -rf "$bench_tmp/s"
	echo $((t1 - t0))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

for k in plain jq; do
	for n in "$SHORT" "$LONG"; do
		looped "$k" "$n" > /dev/null
		timed "$k-$n.yaml" > /dev/null
	done
done
r=0
while [ "$r" -lt "$ROUNDS" ]; do
	for k in plain jq; do
		for n in "$SHORT" "$LONG"; do
			timed "$k-$n.yaml" >> "times-$k-$n"
		done
	done
	r=$((r + 1))
done
per_pass() {
	echo "$(median < "times-$1-$LONG") $(median < "times-$1-$SHORT") $((LONG - SHORT))" |
		awk '{ printf "%.3f", ($1 - $2) / $3 }'
}
jqp=$(per_pass jq)
plainp=$(per_pass plain)
rr=$(echo "$jqp $plainp" | awk '{ printf "%.2f", $1 / ($2 > 0 ? $2 : 0.001) }')
echo "wf run, a loop decided by 'jq: \$iteration < K and ...', per pass after the first: $jqp ms vs the same loop decided by 'iteration < K && ...': $plainp ms = $rr x (passes $SHORT and $LONG, medians of $ROUNDS interleaved runs)"
bench_verdict "a jq: condition per evaluation in a run, against a plain one" "$rr" 2

# 3. The raw cost of one evaluation in one process, no journal around it.
if [ -x "${WF_BENCH_BIN:-}/cond-evals" ]; then
	set -- $("$WF_BENCH_BIN/cond-evals" 2000 'iteration < 5 && steps.body.status == "ok"')
	plain_us=$2
	set -- $("$WF_BENCH_BIN/cond-evals" 2000 'jq: $iteration < 5 and $steps.body.status == "ok"')
	echo "one jq: evaluation in one process, after the first: $2 us vs one plain evaluation: $plain_us us = $(ratio "$2" "$plain_us") x (raw, for scale: the first jq: evaluation, starting the child, took $1 ms)"
fi
