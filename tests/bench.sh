#!/bin/sh
# make bench: run every tests/bench/*.sh in order.  Each prints lines of
# the form "WHAT: X ms vs BASELINE: Y ms = R x", the baseline measured in
# the same run on the same machine, so the ratios mean something even on
# a busy machine.  A benchmark with a target also prints a line
# "verdict: WHAT: R x (target: at most L x): met|missed" (bench_verdict in
# tests/bench-lib.sh); they are gathered again at the end.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${WF_BIN:=$here/../bin}"
: "${WF_BENCH_BIN:=$here/../build/bench}"
PATH="$WF_BIN:$PATH"
export PATH WF_BIN WF_BENCH_BIN
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for b in "$here"/bench/*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	{ sh "$b" || echo "failed: $(basename "$b") (exit $?)"; } | tee -a "$out"
done
if grep -q '^verdict: ' "$out"; then
	echo "== verdicts"
	grep '^verdict: ' "$out"
fi
! grep -q '^failed: ' "$out"
