# Shared by the benchmarks in tests/bench/ that source it: a scratch
# project with its own state (removed on exit; cd'd into), and timing.
# bench_mean_ms N CMD... : mean milliseconds of N runs of CMD, its output
# and messages discarded.  bench_ratio A B : A / B to one decimal.
set -eu
bench_tmp=$(mktemp -d)
trap 'rm -rf "$bench_tmp"' EXIT
export WF_STATE_DIR="$bench_tmp/state"
mkdir "$bench_tmp/project"
cd "$bench_tmp/project"

bench_now_ms() { date +%s%3N; }

bench_mean_ms() {
	bench_n=$1
	shift
	bench_t0=$(bench_now_ms)
	bench_i=0
	while [ $bench_i -lt "$bench_n" ]; do "$@" > /dev/null 2>&1; bench_i=$((bench_i + 1)); done
	echo "$bench_t0 $(bench_now_ms) $bench_n" | awk '{ printf "%.2f", ($2 - $1) / $3 }'
}

bench_ratio() { echo "$1 $2" | awk '{ printf "%.1f", $1 / ($2 > 0 ? $2 : 0.01) }'; }

# bench_verdict WHAT RATIO LIMIT: the one-line verdict on a target,
# "verdict: WHAT: RATIO x (target: at most LIMIT x): met" (or "missed").
# tests/bench.sh gathers these lines at the end of make bench.
bench_verdict() {
	if echo "$2 $3" | awk '{ exit !($1 <= $2) }'; then bench_v=met; else bench_v=missed; fi
	echo "verdict: $1: $2 x (target: at most $3 x): $bench_v"
}
