#!/bin/sh
# wf status and wf runs with 1,000 past runs in the project's history,
# against ls of the same history directory, each the mean of 50 calls.
. "$(dirname "$0")/../bench-lib.sh"

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

base=$(bench_mean_ms 50 ls "$hist")
status=$(bench_mean_ms 50 wf status)
runs=$(bench_mean_ms 50 wf runs)
every=$(bench_mean_ms 50 wf runs --limit 0)
echo "wf status, 1000 past runs: $status ms vs ls of the history: $base ms = $(bench_ratio "$status" "$base") x (target: under 10 ms)"
echo "wf runs (the newest 20), 1000 past runs: $runs ms vs ls of the history: $base ms = $(bench_ratio "$runs" "$base") x (target: under 50 ms)"
echo "wf runs --limit 0 (all 1001 runs): $every ms vs ls of the history: $base ms = $(bench_ratio "$every" "$base") x"
