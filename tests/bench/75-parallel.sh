#!/bin/sh
# A parallel step's speed-up (#18): three branches of one 0.3 s sleep
# each, with max-concurrency 2, against the same three steps run one
# after another in the same wf.  Two waves (two at once, then the third)
# should take about two thirds of the serial time.  The median of
# BENCH_RUNS (default 3) interleaved rounds.  Target: at most 0.75 x.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../bench-lib.sh"
: "${WF_BIN:=$here/../../bin}"
N=${BENCH_RUNS:-3}
export XDG_CONFIG_HOME="$bench_tmp/config"
mkdir -p "$XDG_CONFIG_HOME/wf"
printf 'auto-approve:\n  - "*"\n' > "$XDG_CONFIG_HOME/wf/config.yaml"

cat > serial.yaml <<'Y'
name: serial
steps:
  - {id: a, action: shell, command: "sleep 0.3"}
  - {id: b, action: shell, command: "sleep 0.3"}
  - {id: c, action: shell, command: "sleep 0.3"}
Y
cat > fan.yaml <<'Y'
name: fan
steps:
  - id: all
    action: parallel
    max-concurrency: 2
    branches:
      - [{id: a, action: shell, command: "sleep 0.3"}]
      - [{id: b, action: shell, command: "sleep 0.3"}]
      - [{id: c, action: shell, command: "sleep 0.3"}]
Y

ms() {
	t0=$(bench_now_ms)
	"$@" >/dev/null 2>&1
	echo $(($(bench_now_ms) - t0))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: > s.txt
: > f.txt
i=0
while [ $i -lt "$N" ]; do
	ms "$WF_BIN/wf" run --quiet serial.yaml >> s.txt
	ms "$WF_BIN/wf" run --quiet fan.yaml >> f.txt
	i=$((i + 1))
done
s=$(median < s.txt)
f=$(median < f.txt)
r=$(echo "$f $s" | awk '{ printf "%.2f", $1 / $2 }')
echo "parallel: 3 branches of sleep 0.3 at max-concurrency 2: $f ms vs the same 3 steps in a row: $s ms = $r x"
bench_verdict "parallel speed-up (3 branches, max-concurrency 2, vs serial)" "$r" 0.75
