#!/bin/sh
# wf-run's cost per step against the cost of the step's own process.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export WF_STATE_DIR="$tmp/state"
cd "$tmp"

now_ms() { date +%s%3N; }

steps() {
	n=$1
	echo "name: bench$n"
	echo "steps:"
	i=1
	while [ "$i" -le "$n" ]; do
		printf '  - id: s%d\n    action: shell\n    command: "/bin/true"\n' "$i"
		i=$((i + 1))
	done
}

# 1. 1,000 shell steps through wf run, every step made durable (fdatasync),
#    against a plain sh script running the same 1,000 commands.
steps 1000 > bench1000.yaml
i=0; while [ $i -lt 1000 ]; do echo /bin/true; i=$((i + 1)); done > bench1000.sh
t0=$(now_ms); sh bench1000.sh; t1=$(now_ms)
wf-run bench1000.yaml --quiet --yes
t2=$(now_ms)
base=$((t1 - t0)); ours=$((t2 - t1))
echo "wf run, 1000 shell steps: $ours ms vs sh script, same 1000 commands: $base ms = $(echo "$ours $base" | awk '{printf "%.2f", $1 / $2}') x (target: at most 2 x)"

# 2. The cost of a step late in a long run against early in it: the mean
#    time between step ends over steps 11-110 and over the last 100.
N=${WF_BENCH_LONG:-10000}
steps "$N" > long.yaml
wf-run long.yaml --quiet --yes --max-steps 100000
wf-state history "bench$N" | jq -r 'select(.event == "step-end") | .time' |
	awk -F'T' '{ split($2, t, ":"); sub("Z", "", t[3]); print (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }' > ends.txt
awk -v n="$N" '
	{ t[NR] = $1 }
	END {
		early = (t[110] - t[10]) / 100
		late = (t[n] - t[n - 100]) / 100
		printf "step cost at step %d: %.2f ms vs at step 10: %.2f ms = %.2f x (target: flat, about 1 x)\n", n, late, early, late / early
	}' ends.txt
