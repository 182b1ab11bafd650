#!/bin/sh
# wf-parse's cost: reading, validating and normalising a generated
# 10,000-step workflow (just under the 1 MiB limit) against only scanning
# the same file's libyaml events (build/bench/yamlscan, from
# tests/bench/yamlscan.c), and the seed's 13-step pr-review-loop against
# cat of the same file.  Runs are interleaved and the median of N taken,
# to resist a busy machine.  Targets (#17): at most 3x the scan, and at
# most 1.2x cat.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${WF_BIN:=$root/bin}"
: "${WF_BENCH_BIN:=$root/build/bench}"
N=${BENCH_RUNS:-15}
scan=$WF_BENCH_BIN/yamlscan
[ -x "$scan" ] || { echo "10-parse: $scan not built (make bench builds it)" >&2; exit 1; }
. "$here/../bench-lib.sh"

# Four kinds of step in turn, with forward and backward jumps and loops,
# so every check (types, required keys, jump targets, loop bounds) runs.
awk 'BEGIN {
	print "name: bench-parse"
	print "description: generated for the parse benchmark"
	print "steps:"
	for (i = 0; i < 10000; i++) {
		k = i % 4
		printf "  - id: s%d\n    action: ", i
		if (k == 0)
			printf "shell\n    command: \"echo step %d\"\n", i
		else if (k == 1)
			printf "ai-prompt\n    prompt: \"Say %d ${x}\"\n    model: glm\n", i
		else if (k == 2)
			printf "conditional\n    condition: \"x == 1\"\n    on-true: s%d\n    on-false: s%d\n", i + 1, i - 2
		else
			printf "loop\n    to: s%d\n    condition: \"true\"\n    max-iterations: 3\n", i - 3
	}
}' >big.yaml
size=$(wc -c <big.yaml)
[ "$size" -le 1048576 ] || { echo "10-parse: generated file is $size bytes, over the limit" >&2; exit 1; }
"$WF_BIN/wf-parse" --check big.yaml >/dev/null
"$scan" big.yaml >/dev/null
cp "$root/workflows/examples/pr-review-loop.yaml" small.yaml
"$WF_BIN/wf-parse" --check small.yaml >/dev/null

now_us() { echo $(($(date +%s%N) / 1000)); }

# once FILE CMD...: append CMD's time in microseconds to FILE.
once() {
	f=$1
	shift
	t0=$(now_us)
	"$@" >/dev/null
	echo $(($(now_us) - t0)) >>"$f"
}

# median FILE: the median of FILE's numbers, in milliseconds to 0.01.
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.2f", v[int((NR + 1) / 2)] / 1000 }'; }

i=0
while [ "$i" -lt "$N" ]; do
	once scan.t "$scan" big.yaml
	once check.t "$WF_BIN/wf-parse" --check big.yaml
	once full.t "$WF_BIN/wf-parse" big.yaml
	once cat.t cat small.yaml
	once small.t "$WF_BIN/wf-parse" --check small.yaml
	i=$((i + 1))
done
s=$(median scan.t) c=$(median check.t) f=$(median full.t) k=$(median cat.t) m=$(median small.t)
r=$(bench_ratio "$c" "$s")
echo "wf-parse --check, 10000 steps ($size bytes): $c ms vs libyaml event scan, same file: $s ms = $r x"
bench_verdict "wf-parse --check of 10,000 steps vs a libyaml event scan" "$r" 3
echo "wf-parse to canonical JSON, 10000 steps: $f ms vs libyaml event scan, same file: $s ms = $(bench_ratio "$f" "$s") x"
r=$(bench_ratio "$m" "$k")
echo "wf-parse --check, the seed's 13-step pr-review-loop: $m ms vs cat, same file: $k ms = $r x"
bench_verdict "wf-parse --check of the 13-step pr-review-loop vs cat" "$r" 1.2
