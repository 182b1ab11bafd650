#!/bin/sh
# wf report on a run of 1,000 shell steps, each printing a line: the page
# with wf's own graph (no Graphviz on PATH) and with Graphviz's, against
# wf logs of the same run (which reads the same journal and step files),
# each the mean of 5 calls.
. "$(dirname "$0")/../bench-lib.sh"

{
	echo "name: thousand"
	echo "steps:"
	i=1
	while [ $i -le 1000 ]; do
		printf '  - id: s%d\n    action: shell\n    command: echo step %d\n' $i $i
		i=$((i + 1))
	done
} > thousand.yaml
wf-run thousand.yaml --quiet --yes > /dev/null
[ "$(wf-state logs thousand | grep -c '^step ')" -eq 1000 ]

base=$(bench_mean_ms 5 wf-state logs thousand)
own=$(bench_mean_ms 5 env PATH="$WF_BIN" wf-view report thousand -o -)
size=$(env PATH="$WF_BIN" wf-view report thousand -o - | wc -c)
echo "wf report, 1000 steps, graph drawn by wf: $own ms vs wf logs of the run: $base ms = $(bench_ratio "$own" "$base") x (page: $size bytes)"
if command -v dot > /dev/null; then
	dot=$(bench_mean_ms 5 wf-view report thousand -o -)
	size=$(wf-view report thousand -o - | wc -c)
	echo "wf report, 1000 steps, graph drawn by Graphviz dot: $dot ms vs wf logs of the run: $base ms = $(bench_ratio "$dot" "$base") x (page: $size bytes)"
fi
