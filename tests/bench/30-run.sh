#!/bin/sh
# wf-run's cost per step against the least a durable runner can do.
#  1. 1,000 /bin/echo steps through wf run, the state on disk (under this
#     benchmark's mktemp directory), against tests/bench/floor.c on the
#     same disk: each command spawned as wf-step spawns it, then one
#     journal line appended and fdatasync'd.
#  2. The same with the state on a tmpfs (/dev/shm), against a plain sh
#     script running the same commands.
#  3. The cost of a step late in a 10,000-step run against early in it
#     (journal timestamps), and wf-run's peak RSS over that run.
# 1 and 2 take the median of BENCH_RUNS (default 5) interleaved rounds,
# so that a busy machine slows both sides alike.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../bench-lib.sh"
: "${WF_BENCH_BIN:=$here/../../build/bench}"
N=${BENCH_RUNS:-5}
disk=$bench_tmp

steps() {
	echo "name: $1"
	echo "steps:"
	i=1
	while [ "$i" -le "$2" ]; do
		printf '  - id: s%d\n    action: shell\n    command: "%s"\n' "$i" "$(printf "$3" "$i")"
		i=$((i + 1))
	done
}

# ms CMD...: the milliseconds CMD took, its output discarded.
ms() {
	t0=$(bench_now_ms)
	"$@" > /dev/null 2>&1
	echo $(($(bench_now_ms) - t0))
}

ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / ($2 > 0 ? $2 : 0.01) }'; }

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

steps bench1000 1000 '/bin/echo step %d' > bench1000.yaml
i=1; while [ $i -le 1000 ]; do echo "/bin/echo step $i"; i=$((i + 1)); done > bench1000.sh

# One round of side A (a wf run with WF_STATE_DIR=$1) and side B ("$@" after it).
round() {
	st=$1
	shift
	rm -rf "$st" "$disk/floor.jsonl"
	WF_STATE_DIR=$st
	ms wf-run bench1000.yaml --quiet --yes >> wf.ms
	ms "$@" >> base.ms
}

# 1. On disk, against the floor.
rm -f wf.ms base.ms
k=0; while [ $k -lt "$N" ]; do round "$disk/state1" "$WF_BENCH_BIN/floor" bench1000.sh "$disk/floor.jsonl"; k=$((k + 1)); done
ours=$(median < wf.ms); base=$(median < base.ms); r=$(ratio "$ours" "$base")
echo "wf run, 1000 echo steps, state on disk: $ours ms vs floor (spawn, append, fdatasync) on the same disk: $base ms = $r x (median of $N)"
bench_verdict "durable steps on disk vs the floor" "$r" 1.25

# 2. On a tmpfs, against sh.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	shm=$(mktemp -d /dev/shm/wf-bench.XXXXXX)
	rm -f wf.ms base.ms
	k=0; while [ $k -lt "$N" ]; do round "$shm/state" sh bench1000.sh; k=$((k + 1)); done
	rm -rf "$shm"
	ours=$(median < wf.ms); base=$(median < base.ms); r=$(ratio "$ours" "$base")
	echo "wf run, 1000 echo steps, state on tmpfs: $ours ms vs sh script, same commands: $base ms = $r x (median of $N)"
	bench_verdict "durable steps on tmpfs vs sh" "$r" 1.2
else
	echo "wf run on tmpfs: skipped, /dev/shm is not a tmpfs here"
fi

# 3. Flat at 10,000: the mean time between step ends over steps 11-110 and
#    over the last 100, and wf-run's peak resident set.
L=${WF_BENCH_LONG:-10000}
WF_STATE_DIR=$disk/state3
steps "bench$L" "$L" /bin/true > long.yaml
if [ -x /usr/bin/time ]; then
	/usr/bin/time -f %M -o rss.kb wf-run long.yaml --quiet --yes --max-steps 100000 > /dev/null
else
	wf-run long.yaml --quiet --yes --max-steps 100000 > /dev/null
fi
wf-state history "bench$L" | jq -r 'select(.event == "step-end") | .time' |
	awk -F'T' '{ split($2, t, ":"); sub("Z", "", t[3]); print (t[1] * 3600 + t[2] * 60 + t[3]) * 1000 }' > ends.txt
line=$(awk -v n="$L" '
	{ t[NR] = $1 }
	END {
		early = (t[110] - t[10]) / 100
		late = (t[n] - t[n - 100]) / 100
		printf "%.2f %.2f %.2f", late, early, late / (early > 0 ? early : 0.01)
	}' ends.txt)
set -- $line
echo "step cost at step $L: $1 ms vs at step 10: $2 ms = $3 x"
bench_verdict "step cost at step $L vs step 10" "$3" 1.1
if [ -s rss.kb ]; then
	kb=$(tail -1 rss.kb)
	r=$(echo "$kb" | awk '{ printf "%.2f", $1 / 10240 }')
	echo "wf-run peak RSS over $L steps: $kb KiB vs 10 MiB = $r x"
	bench_verdict "wf-run peak RSS at $L steps vs 10 MiB" "$r" 1
else
	echo "wf-run peak RSS: skipped, /usr/bin/time (package time) is not installed"
fi
