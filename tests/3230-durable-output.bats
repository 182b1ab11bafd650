#!/usr/bin/env bats
# Step outputs in the run's one output log, steps/output.log (wf-json(7),
# "Files"): read back whole by every reader, in the old layout too, and
# durable as the journal says: a step whose end is journaled is never run
# again, whatever is killed and whenever, and a full disk while saving
# output loses nothing already journaled.  Synchronised on files the
# steps make and on journal events, never on the clock.
load helpers

teardown() {
	touch "$WORK/go"
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
}

# Does run $1's journal have an event $2 for step $3?
has_event() {
	wf-state history "$1" 2>/dev/null | jq -e --arg e "$2" --arg s "$3" \
		'select(.event == $e and .step == $s)' >/dev/null
}

# Rewrite run $1 in the layout of runs made before the output log: each
# execution's streams in steps/SEQ-ID.out and .err, and no log.
to_old_layout() {
	python3 - "$(rundir "$1")" <<'PY'
import json, os, sys
d = sys.argv[1]
ids = {}
for line in open(os.path.join(d, "history.jsonl"), encoding="utf-8"):
    ev = json.loads(line)
    if ev.get("event") == "step-start":
        ids[ev["seq"]] = ev["step"]
log = os.path.join(d, "steps", "output.log")
data = open(log, "rb").read()
pos = 0
while pos < len(data):
    nl = data.index(b"\n", pos)
    seq, stream, n = data[pos:nl].split(b" ")
    body = data[nl + 1:nl + 1 + int(n)]
    pos = nl + 1 + int(n)
    name = "%06d-%s.%s" % (int(seq), ids[int(seq)], stream.decode())
    fd = os.open(os.path.join(d, "steps", name), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.write(fd, body)
    os.close(fd)
os.unlink(log)
PY
}

# Start run $1 in the background, in a process group of its own (pid in
# $RUNNER), and wait until its step $2 is running: its group journaled
# and $WORK/started made.
start_waiting() {
	setsid wf run "$1.yaml" --quiet 2>"$WORK/run.err" &
	RUNNER=$!
	wait_until test -e "$WORK/started"
	wait_until has_event "$1" step-pgid "$2"
}

# kill -9 the wf-step child of the runner once step $2 of run $1 printed
# $3: the runner stops with 70, the step in doubt.
crash_stepper() {
	local rc=0
	wait_until sh -c "wf logs $1 $2 | grep -q $3"
	kill -9 "$(pgrep -P "$RUNNER" -x wf-step)"
	wait "$RUNNER" || rc=$?
	assert_equal "$rc" 70
}

@test "every step's output goes to steps/output.log, no file per step, and reads back whole, however large" {
	write f.yaml <<'Y'
name: f
steps:
  - id: small
    action: shell
    command: 'echo one; echo two >&2'
  - id: quiet
    action: shell
    command: 'true'
  - id: big
    action: shell
    command: 'seq 1 300000'
Y
	run wf run f.yaml --quiet
	assert_success
	run ls "$(rundir f)/steps"
	assert_output output.log
	run stat -c %a "$(rundir f)/steps/output.log"
	assert_output 600
	seq 1 300000 > want
	step_output f big > got
	cmp want got
	# wf logs shows the whole of it, after its header.
	wf logs f big | tail -n +2 > shown
	cmp want shown
	run wf logs f small
	assert_output --regexp '^== small \(shell\) pass 1: ok, exit 0, started .*
one
two$'
	run wf logs f quiet
	assert_output --regexp '^== quiet \(shell\) pass 1: ok, exit 0'
	assert_equal "$(wc -l <<<"$output")" 1
	run wf-state fsck f
	assert_success
}

@test "NUL bytes, invalid UTF-8 and escapes are kept on disk, and shown as a run in the old layout shows them" {
	write b.yaml <<'Y'
name: b
steps:
  - id: raw
    action: shell
    command: 'printf "a\000b\377c \033[31mred\033[0m\n"; printf "e\001\n" >&2'
  - id: after
    action: shell
    command: 'echo fine'
Y
	run wf run b.yaml --quiet
	assert_success
	step_output b raw | od -An -c > got
	printf 'a\000b\377c \033[31mred\033[0m\n' | od -An -c > want
	cmp want got
	wf logs b > new.txt
	wf logs b --json > new.json
	wf report b -o new.html
	to_old_layout b
	run ls "$(rundir b)/steps"
	assert_output "$(printf '%s\n' 000003-raw.err 000003-raw.out 000007-after.out)"
	wf logs b > old.txt
	wf logs b --json > old.json
	wf report b -o old.html
	cmp new.txt old.txt
	cmp new.json old.json
	cmp new.html old.html
	grep -q 'red' new.txt
	run wf-state fsck b
	assert_success
}

@test "a run in the old layout goes on in the new one: both read back, in order" {
	write m.yaml <<'Y'
name: m
steps:
  - id: first
    action: shell
    command: 'echo old-out; echo old-err >&2; if [ ! -e "$WORK/go" ]; then exit 1; fi'
  - id: second
    action: shell
    command: 'echo new-out'
Y
	run wf run m.yaml --quiet
	assert_failure 1
	to_old_layout m
	touch go
	run wf resume m --quiet
	assert_success
	# The failed execution from its files, its rerun and the next step from the log.
	run sh -c 'wf logs m | grep -v "^=="'
	assert_output "old-out
old-err
error: exited with status 1
old-out
old-err
new-out"
	run sh -c "ls '$(rundir m)/steps'"
	assert_output "$(printf '%s\n' 000003-first.err 000003-first.out output.log)"
}

@test "kill -9 of wf-run after a step's end record: resume never runs it again and its output reads back whole" {
	write k.yaml <<'Y'
name: k
steps:
  - id: done
    action: shell
    command: 'echo done >> "$WORK/count"; seq 1 50000'
  - id: wait
    action: shell
    command: 'echo wait >> "$WORK/count"; echo waiting; touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done'
Y
	start_waiting k wait
	kill -9 "$RUNNER"
	wait "$RUNNER" || true
	touch go
	resume_settled k --quiet
	assert_success
	run cat count
	assert_output $'done\nwait\nwait'
	seq 1 50000 > want
	step_output k done > got
	cmp want got
	run sh -c 'wf logs k wait --pass 2 | tail -n +2'
	assert_output waiting
}

@test "kill -9 of wf-step while its step writes output: the cut execution keeps what it wrote, the rerun reads back whole" {
	write c.yaml <<'Y'
name: c
steps:
  - id: before
    action: shell
    command: 'echo before >> "$WORK/count"; echo A'
  - id: cut
    action: shell
    command: 'echo part1; echo cut >> "$WORK/count"; if [ "$(grep -c cut "$WORK/count")" = 1 ]; then touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done; fi; echo part2'
Y
	start_waiting c cut
	crash_stepper c cut part1
	resume_settled c --quiet
	assert_success
	run cat count
	assert_output $'before\ncut\ncut'
	run step_output c before
	assert_output A
	# Every execution of the cut step, in order: the cut one, then the whole rerun.
	run step_output c cut
	assert_output $'part1\npart1\npart2'
	run sh -c 'wf logs c cut --pass 2 | tail -n +2'
	assert_output $'part1\npart2'
	run sh -c 'wf logs c cut --pass 1 | tail -n +2'
	assert_output part1
}

@test "kill -9 of wf-step during an idempotent: false step: it is in doubt, not run again, its output so far kept" {
	write n.yaml <<'Y'
name: n
steps:
  - id: once
    action: shell
    idempotent: false
    command: 'echo run >> "$WORK/count"; echo so-far; touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done; echo never'
Y
	start_waiting n once
	crash_stepper n once so-far
	touch go
	resume_settled n --quiet
	assert_failure 3
	assert_output --partial "marked idempotent: false"
	run cat count
	assert_output run
	run step_output n once
	assert_output so-far
}

@test "a full disk while saving output (a file-size limit): exit 74, the step done, nothing journaled lost or run again" {
	write d.yaml <<'Y'
name: d
steps:
  - id: first
    action: shell
    command: 'echo first >> "$WORK/count"; echo kept'
  - id: flood
    action: shell
    command: 'echo flood >> "$WORK/count"; head -c 3000000 /dev/zero | tr "\0" x; echo'
  - id: last
    action: shell
    command: 'echo last >> "$WORK/count"'
Y
	run bash -c 'ulimit -f 1024; exec wf run d.yaml --quiet'
	assert_failure 74
	assert_output --partial "step 'flood' ran, but cannot save its output"
	assert_output --partial "too large"
	run sh -c "wf-state history d | jq -c 'select(.event==\"step-end\") | [.step, .status]'"
	assert_output $'["first","ok"]\n["flood","ok"]'
	run wf resume d --quiet
	assert_success
	run cat count
	assert_output $'first\nflood\nlast'
	run step_output d first
	assert_output kept
	run wf-state fsck d
	assert_success
}

@test "a damaged log (cut mid-frame, forged headers) is read up to the damage; the journal's output stands in" {
	write h.yaml <<'Y'
name: h
steps:
  - id: one
    action: shell
    command: 'echo first-step'
  - id: two
    action: shell
    command: 'seq 1 1000'
Y
	run wf run h.yaml --quiet
	assert_success
	log=$(rundir h)/steps/output.log
	truncate -s -100 "$log"
	run wf logs h one
	assert_success
	assert_line first-step
	# The cut frame is not read: the step-end's copy of the output is shown.
	run sh -c 'wf logs h two | tail -n +2'
	assert_success
	assert_output "$(seq 1 1000)"
	printf '99999999999999999999 out -5\n7 err 99999999999\n3 out 5\nforged' >> "$log"
	run wf logs h
	assert_success
	assert_line first-step
	refute_line --partial forged
	refute_line --partial 99999
	run wf report h -o r.html
	assert_success
	run grep -c forged r.html
	assert_output 0
}
