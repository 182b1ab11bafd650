#!/bin/sh
# wf status and wf runs with 1,000 past runs in the project's history,
# against ls of the same history directory, each the mean of 50 calls.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export WF_STATE_DIR="$tmp/state"
mkdir "$tmp/project"
cd "$tmp/project"

now_ms() { date +%s%3N; }

# Mean milliseconds of 50 runs of the command "$@", output discarded.
mean_ms() {
	t0=$(now_ms)
	i=0
	while [ $i -lt 50 ]; do "$@" > /dev/null; i=$((i + 1)); done
	t1=$(now_ms)
	echo "$t0 $t1" | awk '{ printf "%.2f", ($2 - $1) / 50 }'
}

ratio() { echo "$1 $2" | awk '{ printf "%.1f", $1 / ($2 > 0 ? $2 : 0.01) }'; }

# Two real runs make one real past run; 999 copies of it, each with its own
# number and summary, make the rest, as wf itself would have left them.
wf-run test-linear --quiet --yes
wf-run test-linear --quiet --yes
proj=$(wf-state path)
hist="$proj/history"
one=$(ls "$hist" | grep -- '-test-linear$')
sum=$(cat "$hist/$one/summary.json")
i=2
while [ $i -le 1000 ]; do
	cp -r "$hist/$one" "$hist/$i-test-linear"
	echo "$sum" | jq -c --argjson id "$i" --arg dir "$i-test-linear" '.id = $id | .dir = $dir' > "$hist/$i-test-linear/summary.json"
	i=$((i + 1))
done
echo 1001 > "$proj/next-id"
[ "$(wf-state runs --limit 0 --json | jq length)" -eq 1001 ]

base=$(mean_ms ls "$hist")
status=$(mean_ms wf status)
runs=$(mean_ms wf runs)
every=$(mean_ms wf runs --limit 0)
echo "wf status, 1000 past runs: $status ms vs ls of the history: $base ms = $(ratio "$status" "$base") x (target: under 10 ms)"
echo "wf runs (the newest 20), 1000 past runs: $runs ms vs ls of the history: $base ms = $(ratio "$runs" "$base") x (target: under 50 ms)"
echo "wf runs --limit 0 (all 1001 runs): $every ms vs ls of the history: $base ms = $(ratio "$every" "$base") x"
