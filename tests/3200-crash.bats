#!/usr/bin/env bats
# Crashes, signals, locks and faults: nothing finished runs twice, nothing is lost.
load helpers

# Fifty steps; a step with a hold file waits, after logging itself, until
# the file is gone, so the test can kill the runner while that step is in
# flight, whatever the machine's speed.
fifty_held() {
	{
		echo "name: fifty"
		echo "steps:"
		for i in $(seq 1 50); do
			printf '  - id: s%d\n    action: shell\n' "$i"
			printf '    command: "echo s%d >> %s/log; if [ -e %s/hold-s%d ]; then touch %s/at-s%d; while [ -e %s/hold-s%d ]; do sleep 0.01; done; fi"\n' \
				"$i" "$WORK" "$WORK" "$i" "$WORK" "$i" "$WORK" "$i"
		done
	} > fifty.yaml
}

@test "F18: SIGKILL at many points, resume each time: finished steps ran exactly once" {
	fifty_held
	local points="1 4 9 17 18 26 33 41 49 50" p kills=0
	for p in $points; do touch "hold-s$p"; done
	wf-run fifty.yaml --quiet 2>/dev/null &
	pid=$!
	for p in $points; do
		# Step s$p is in flight: its line is in the log, and it waits.
		wait_until test -e "at-s$p"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null || true
		kills=$((kills + 1))
		# Let the step's command (if it outlived the runner) finish, and
		# whatever it left behind (a step child writing its output file,
		# holding the lock) go away before checking the run.
		rm -f "hold-s$p"
		for _ in $(seq 1 600); do
			pgrep -f "$WORK/hold-s$p" >/dev/null || break
			sleep 0.05
		done
		for _ in $(seq 1 600); do
			run wf-state fsck fifty
			[ "$status" != 75 ] && break
			sleep 0.05
		done
		# A kill between a snapshot's write and its rename leaves a
		# temporary file, which the resume removes; nothing else is wrong.
		if [ "$status" != 0 ]; then
			assert_failure 74
			run grep -v "leftover temporary file '.state.json.tmp" <<<"$output"
			assert_output ""
		fi
		run wf-state get fifty status
		refute_output completed
		wf-run --resume fifty --quiet 2>/dev/null &
		pid=$!
	done
	wait "$pid"
	[ "$kills" = 10 ]
	run wf-state get fifty status
	assert_output completed
	run wf-state fsck fifty
	assert_success
	# Every step ran once; a killed step once more, and only because the
	# resume says it was in flight.
	for i in $(seq 1 50); do
		n=$(grep -cx "s$i" log)
		again=$(wf-state history fifty | jq -r "select(.event==\"resume\" and .interrupted_step==\"s$i\") | .seq" | wc -l)
		if [[ " $points " == *" $i "* ]]; then
			[ "$again" = 1 ] || { echo "s$i: $again resumes name it" >&2; return 1; }
		else
			[ "$again" = 0 ]
		fi
		[ "$n" = $((1 + again)) ] || { echo "s$i ran $n times" >&2; return 1; }
	done
	# Each step is recorded as finished exactly once.
	run sh -c "wf-state history fifty | jq -r 'select(.event==\"step-end\") | .step' | sort | uniq -d"
	assert_output ""
	# The same final state as an uninterrupted run.
	run wf-state get fifty cursor
	assert_output null
	run sh -c "wf-state get fifty steps | jq -c 'keys | length'"
	assert_output 50
}

@test "a writer that died between write and rename leaves a temporary file; the next writer removes it" {
	run wf run test-linear --quiet
	assert_success
	R=$(rundir test-linear)
	# pid 2^22 + 1 is above the kernel's pid_max: no such process.
	touch "$R/.state.json.tmp.4194305" "$R/steps/.000003-s1.out.tmp.4194305"
	run wf-state fsck test-linear
	assert_failure 74
	assert_line "test-linear: leftover temporary file '.state.json.tmp.4194305'"
	assert_line "test-linear: leftover temporary file 'steps/.000003-s1.out.tmp.4194305'"
	run wf-state set test-linear x 1
	assert_success
	run wf-state fsck test-linear
	assert_success
	[ ! -e "$R/.state.json.tmp.4194305" ]
}

@test "F22: a second run of the same workflow exits 75 at once, naming the holder" {
	write slow.yaml <<'Y'
name: slow
steps:
  - id: a
    action: shell
    command: "touch started; while [ ! -e go ]; do sleep 0.01; done"
Y
	wf-run slow.yaml --quiet &
	pid=$!
	wait_until test -e started
	run wf-run slow.yaml
	assert_failure 75
	assert_output --partial "run 'slow' is busy: locked by pid $pid"
	run wf-run --resume slow
	assert_failure 75
	touch go
	wait "$pid"
}

@test "wf pause from another process stops after the current step; resume continues" {
	write p.yaml <<'Y'
name: p
steps:
  - id: a
    action: shell
    command: "touch started; while [ ! -e go ]; do sleep 0.01; done; echo a >> log"
  - id: b
    action: shell
    command: "echo b >> log"
Y
	wf-run p.yaml --quiet &
	pid=$!
	wait_until test -e started
	run wf pause p
	assert_success
	assert_output --partial "will pause after its current step"
	touch go
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 3 ]
	run cat log
	assert_output a
	run wf status p
	assert_line "status:   paused (wf pause)"
	run wf resume p --quiet
	assert_success
	run cat log
	assert_output $'a\nb'
	run wf pause p
	assert_failure 66
	assert_output --partial "is not running"
}

@test "F25: SIGINT and SIGTERM stop the step's process tree, save state, exit 130/143" {
	write i.yaml <<'Y'
name: i
steps:
  - id: a
    action: shell
    command: "sleep 35 & echo start >> log; sleep 35"
  - id: b
    action: shell
    command: "echo b >> log"
Y
	for sig in INT TERM; do
		rm -f log
		wf-run i.yaml --quiet --restart &
		pid=$!
		# Signal it once the step is running: its background sleep has started.
		wait_until test -e log
		kill -"$sig" "$pid"
		rc=0
		wait "$pid" || rc=$?
		if [ "$sig" = INT ]; then [ "$rc" = 130 ]; else [ "$rc" = 143 ]; fi
		# The group was signalled before the runner exited; give the
		# kernel time to finish the killed processes off.
		for _ in $(seq 1 600); do
			pgrep -f "sleep 35" >/dev/null || break
			sleep 0.05
		done
		run pgrep -f "sleep 35"
		assert_failure
		run wf-state get i status
		assert_output paused
		run wf-state fsck i
		assert_success
	done
	write i.yaml <<'Y'
name: i
steps:
  - id: a
    action: shell
    command: "echo again >> log"
  - id: b
    action: shell
    command: "echo b >> log"
Y
	run wf resume i --accept-changes --quiet
	assert_success
	run cat log
	assert_output $'start\nagain\nb'
}

@test "F17: a step marked idempotent: false that was in flight pauses and asks" {
	write n.yaml <<'Y'
name: n
steps:
  - id: a
    action: shell
    command: "echo a >> log; while [ ! -e go ]; do sleep 0.01; done"
    idempotent: false
  - id: b
    action: shell
    command: "echo b >> log"
Y
	wf-run n.yaml --quiet &
	pid=$!
	wait_until test -e log
	kill -9 "$pid"
	wait "$pid" || true
	# The step's command may outlive the runner: let it end.
	touch go
	for _ in $(seq 1 600); do
		run wf resume n
		[ "$status" != 75 ] && break
		sleep 0.05
	done
	assert_failure 3
	assert_output --partial "step 'a' was in progress when the run stopped and is marked idempotent: false"
	run wf resume n
	assert_failure 3
	assert_output --partial "--rerun"
	run wf resume n --skip --quiet
	assert_success
	run cat log
	assert_output $'a\nb'
}

@test "F19: a full disk on the journal exits 74, loses nothing, and resume succeeds" {
	command -v strace >/dev/null || skip "strace not installed"
	strace -f -o /dev/null -e trace=fdatasync -e inject=fdatasync:error=ENOSPC:when=3 true 2>/dev/null || skip "ptrace not permitted here"
	# LeakSanitizer cannot work under ptrace: this one run goes without it.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	run strace -f -o /dev/null -e trace=fdatasync -e inject=fdatasync:error=ENOSPC:when=3 wf-run test-linear --quiet
	assert_failure 74
	assert_output --partial "No space left on device"
	run wf-state fsck test-linear
	assert_success
	run wf resume test-linear
	assert_success
	assert_line "Step 2"
	run wf-state get test-linear status
	assert_output completed
}

@test "F12: missing prerequisites are all named before any step runs" {
	unset GH_TOKEN GITHUB_TOKEN WF_MODELS
	run wf run pr-review-loop
	assert_failure 78
	assert_output --partial "resolve 'glm': unknown model 'glm'"
	assert_output --partial "the current directory is not in a git repository"
	assert_output --partial "neither GH_TOKEN nor GITHUB_TOKEN is set"
	assert_output --partial "prerequisites are missing; no step was run"
	[ ! -e "$(rundir pr-review-loop)" ]
}
