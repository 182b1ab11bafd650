#!/bin/sh
# wf-cond against a bare process start (/bin/true): the cost of a plain
# condition, and of a jq: condition (fork, scrubbed environment, limits,
# and jq compiling its builtins), each as a ratio to N runs of /bin/true.
set -eu
N=${WF_BENCH_COND:-200}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

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
