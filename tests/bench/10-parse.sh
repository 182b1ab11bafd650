#!/bin/sh
# wf-parse's cost: reading, validating and normalising a generated
# 10,000-step workflow (just under the 1 MiB limit) against merely reading
# the same file with cat, both measured here, best of 5 runs each.
set -eu
examples=$(cd "$(dirname "$0")/../../workflows/examples" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

now_ns() { date +%s%N; }

# best N CMD...: the fastest of N runs of CMD, in microseconds.
best() {
	n=$1
	shift
	b=
	i=0
	while [ "$i" -lt "$n" ]; do
		t0=$(now_ns)
		"$@" >/dev/null
		t1=$(now_ns)
		t=$(((t1 - t0) / 1000))
		if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; fi
		i=$((i + 1))
	done
	echo "$b"
}

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
wf-parse --check big.yaml >/dev/null

ratio() { echo "$1 $2" | awk '{ printf "%.1f", $1 / $2 }'; }
ms() { echo "$1" | awk '{ printf "%.1f", $1 / 1000 }'; }

base=$(best 5 cat big.yaml)
check=$(best 5 wf-parse --check big.yaml)
full=$(best 5 wf-parse big.yaml)
echo "wf-parse --check, 10000 steps ($size bytes): $(ms "$check") ms vs cat, same file: $(ms "$base") ms = $(ratio "$check" "$base") x"
echo "wf-parse to canonical JSON, 10000 steps: $(ms "$full") ms vs cat, same file: $(ms "$base") ms = $(ratio "$full" "$base") x"

# A workflow of the size people write: the seed's pr-review-loop.  Here the
# cost is mostly starting the process.
ex=$examples/pr-review-loop.yaml
if [ -f "$ex" ]; then
	cp "$ex" small.yaml
	base=$(best 10 cat small.yaml)
	small=$(best 10 wf-parse --check small.yaml)
	echo "wf-parse --check, the seed's 13-step pr-review-loop: $(ms "$small") ms vs cat, same file: $(ms "$base") ms = $(ratio "$small" "$base") x"
fi
