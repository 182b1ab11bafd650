#!/bin/sh
# make bench: run every tests/bench/*.sh in order.  Each prints lines of
# the form "WHAT: X ms vs BASELINE: Y ms = R x", the baseline measured in
# the same run on the same machine, so the ratios mean something even on
# a busy machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${WF_BIN:=$here/../bin}"
PATH="$WF_BIN:$PATH"
export PATH WF_BIN
for b in "$here"/bench/*.sh; do
	[ -e "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	sh "$b"
done
