#!/usr/bin/env bats
# The jq: condition evaluator: one sandboxed child per process, serving
# every jq: condition of a run, with the limits holding per evaluation,
# replaced after a limit, a death or a protocol error, and gone with the
# run (wf-cond(1), "jq: conditions").
load helpers

# A test that failed while a run waited for "go" must not leave it waiting.
teardown() {
	touch "$WORK/go"
	[ -z "${RUNPID:-}" ] || kill -9 "$RUNPID" 2>/dev/null || true
}

# The jq evaluator children of process $1, from its own process tree.
jq_children() {
	ps -o pid=,comm= --ppid "$1" | awk '$2 == "wf-jq" { print $1 }'
}

# Is process $1 gone (no such process, or a zombie nobody has reaped yet)?
dead() {
	local st
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

# Is process $1 blocked in poll (waiting for an answer)?
in_poll() {
	local nr
	nr=$(cut -d' ' -f1 "/proc/$1/syscall" 2>/dev/null)
	[ "$nr" = 7 ] || [ "$nr" = 271 ]
}

# The step-end events of step $2 in run $1's journal.
ends() {
	jq -c --arg s "$2" 'select(.event == "step-end" and .step == $s)' "$(rundir "$1")/history.jsonl" | wc -l
}

# A shell command for a step: append the run's jq evaluator pid to jqpids
# (the step's parent is wf-step, whose parent is wf-run).
# (ps pads the pid with blanks, which --ppid refuses: $((...)) drops them.)
RECORD='ps -o pid=,comm= --ppid $(($(ps -o ppid= -p $PPID))) | awk "\$2 == \"wf-jq\" { print \$1 }" >> jqpids'

# lp.yaml: a loop of $1 passes decided by a jq: condition; the body logs
# each pass and the evaluator's pid, and on pass $2 (if given) says
# "ready" and waits for a file "go".
loop_yaml() {
	local hold=${2:-0}
	cat > lp.yaml <<EOF
name: lp
steps:
  - id: body
    action: shell
    command: 'echo pass >> log; $RECORD; if [ "\$(wc -l < log)" -eq $hold ]; then touch ready; while [ ! -e go ]; do sleep 0.05; done; fi'
  - id: back
    action: loop
    to: body
    condition: 'jq: \$iteration < $(($1 - 1)) and (\$steps.body.status == "ok")'
    max-iterations: 1000
EOF
}

# Start lp.yaml ($1 passes, held on pass $2) in the background: RUNPID is
# wf-run, OLD its jq child once the body says ready.
start_held() {
	loop_yaml "$1" "$2"
	wf run --quiet lp.yaml > run.out 2>&1 &
	RUNPID=$!
	wait_until test -e ready
	OLD=$(jq_children "$RUNPID")
	[ -n "$OLD" ]
}

@test "one jq child serves every evaluation of a run, and is gone when the run is" {
	loop_yaml 25
	run wf run --quiet lp.yaml
	assert_success
	run wc -l < log
	assert_output 25
	# Every pass saw an evaluator, and always the same one.
	run wc -l < jqpids
	assert_output 25
	run sort -u jqpids
	[ "${#lines[@]}" -eq 1 ]
	dead "${lines[0]}"
	run wf-state get lp passes.back
	assert_output 25
}

@test "forty different conditions, more than the child keeps compiled, each evaluated right twice" {
	{
		echo "name: many"
		echo "steps:"
		for k in $(seq 1 40); do
			echo "  - id: s$k"
			echo "    if: 'jq: (\$loops.again + $k) % 3 == 0 and (\$step.id == \"s$k\")'"
			echo "    action: shell"
			echo "    command: echo $k >> ran"
		done
		echo "  - id: again"
		echo "    action: loop"
		echo "    to: s1"
		echo "    condition: 'jq: \$iteration < 1'"
		echo "    max-iterations: 5"
	} > many.yaml
	run wf run --quiet many.yaml
	assert_success
	# Pass 1 (loops.again 0): the multiples of 3; pass 2 (1): one less.
	expect=$( (seq 3 3 39; seq 2 3 38) | tr '\n' ' ')
	run sh -c "tr '\n' ' ' < ran"
	assert_output "$expect"
}

# workflows/p.yaml: a step that records the evaluator, a sub-run whose
# step's if: is $1 (it fails, and the run goes on), and a step that
# records the evaluator again.
hog_run() {
	mkdir -p workflows
	cat > workflows/hog.yaml <<EOF
name: hog
steps:
  - id: spin
    if: 'jq: $1'
    action: shell
    command: echo spun >> log
EOF
	cat > workflows/p.yaml <<EOF
name: p
steps:
  - id: a
    if: 'jq: \$iteration == 0'
    action: shell
    command: '$RECORD'
  - id: call
    action: workflow
    workflow: hog
    continue-on-error: true
  - id: again
    action: workflow
    workflow: hog
    continue-on-error: true
  - id: b
    if: 'jq: \$steps.call.status == "failed" and \$steps.again.status == "failed"'
    action: shell
    command: '$RECORD'
EOF
}

@test "S03: a runaway condition in a long run hits its limits; the next evaluation gets a fresh child" {
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
	local e
	for e in '[range(infinite)] | length > 0' 'reduce range(40) as $i ("ab"; . + .) | length > 0'; do
		rm -f jqpids log
		hog_run "$e"
		run wf run --quiet p
		assert_success
		assert_output --regexp "step 'spin': condition 'jq: .*': condition exceeded its limits \((1 s of CPU time, 2 s in all|more than 128 MiB of memory)\)"
		[ "$(grep -c 'condition exceeded its limits' <<<"$output")" -eq 2 ]
		[ ! -e log ]
		# Step b ran, after the limits, on a different child than step a.
		run cat jqpids
		echo "evaluators: $output"
		[ "${#lines[@]}" -eq 2 ]
		[ "${lines[0]}" != "${lines[1]}" ]
		wf-state rm p >/dev/null 2>&1 || rm -rf "$(rundir p)"
	done
}

@test "a program that halts fails its evaluation, twice in a row, on the same child, which lives on" {
	hog_run '"x" | halt_error'
	run wf run --quiet p
	assert_success
	[ "$(grep -c "step 'spin': condition 'jq: \"x\" | halt_error': column 5: condition must produce true or false, but it produced no value" <<<"$output")" -eq 2 ]
	run cat jqpids
	[ "${#lines[@]}" -eq 2 ]
	[ "${lines[0]}" = "${lines[1]}" ]
}

@test "S02: in a long run the child still sees no secret, no input and no module" {
	export ANTHROPIC_API_KEY=sk-test-4010-secret GH_TOKEN=ghp_4010secret
	cat > env.yaml <<'EOF'
name: env
steps:
  - id: body
    action: shell
    command: echo pass >> log
  - id: back
    action: loop
    to: body
    condition: 'jq: $iteration < 3 and ($ENV | has("ANTHROPIC_API_KEY") | not) and (env | tostring | test("sk-test|ghp_") | not) and (env | length) < 8'
    max-iterations: 10
EOF
	run wf run --quiet env.yaml
	assert_success
	run wc -l < log
	assert_output 4
	local prog
	for prog in 'input == 1' '[inputs] == []'; do
		printf 'name: in\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n  - id: b\n    if: '"'jq: %s'"'\n    action: shell\n    command: echo read >> log\n' "$prog" > in.yaml
		run wf run --quiet in.yaml
		assert_failure 65
		assert_output --partial "condition 'jq: $prog': column 5: jq: a condition has no input to read"
		wf-state rm in >/dev/null 2>&1 || rm -rf "$(rundir in)"
	done
	printf 'name: mod\nsteps:\n  - id: a\n    if: '"'jq: true | import \"x\" as x; .'"'\n    action: shell\n    command: "true"\n' > mod.yaml
	run wf run --quiet mod.yaml
	assert_failure 65
	assert_output --partial "jq: syntax error"
}

@test "kill -9 of the idle jq child: the next evaluation starts a new one, the run goes on right" {
	local runpid old rc
	start_held 3 2
	runpid=$RUNPID old=$OLD
	kill -9 "$old"
	wait_until dead "$old"
	touch go
	wait "$runpid" && rc=0 || rc=$?
	cat run.out
	[ "$rc" = 0 ]
	run wc -l < log
	assert_output 3
	run cat jqpids
	[ "${lines[0]}" = "$old" ] && [ "${lines[1]}" = "$old" ]
	[ -n "${lines[2]}" ] && [ "${lines[2]}" != "$old" ]
	run wf-state get lp passes.back
	assert_output 3
}

@test "kill -9 of the jq child during an evaluation: that evaluation fails, never a verdict" {
	local runpid old rc
	start_held 3 2
	runpid=$RUNPID old=$OLD
	kill -STOP "$old"
	touch go
	# Pass 2 ended and wf-run waits for the stopped child's verdict.
	# (eval: the count is taken afresh on every try.)
	wait_until eval '[ "$(ends lp body)" -eq 2 ]'
	wait_until in_poll "$runpid"
	kill -9 "$old"
	wait "$runpid" && rc=0 || rc=$?
	run cat run.out
	[ "$rc" = 4 ]
	assert_output --partial "step 'back': condition 'jq: \$iteration < 2 and (\$steps.body.status == \"ok\")': condition exceeded its limits"
	# No third pass, and the loop decided only once (after pass 1).
	run wc -l < log
	assert_output 2
	[ "$(ends lp back)" -eq 1 ]
}

@test "a stopped jq child: the wall clock fails the evaluation and a resumed run gets a new child" {
	local runpid old rc
	start_held 3 2
	runpid=$RUNPID old=$OLD
	kill -STOP "$old"
	touch go
	wait "$runpid" && rc=0 || rc=$?
	run cat run.out
	[ "$rc" = 4 ]
	assert_output --partial "condition exceeded its limits (1 s of CPU time, 2 s in all)"
	dead "$old"
	run wf resume lp --quiet
	assert_success
	run wc -l < log
	assert_output 3
	run tail -1 jqpids
	[ "$output" != "$old" ]
}

# st.yaml: one step with a jq: if:, which records the evaluator, says
# "ready" and waits for a file "go".
held_step_yaml() {
	printf 'name: st\nsteps:\n  - id: a\n    if: '"'"'jq: $iteration == 0'"'"'\n    action: shell\n    command: '"'"'%s; touch ready; while [ ! -e go ]; do sleep 0.05; done'"'"'\n' \
		"$RECORD" > st.yaml
}

@test "kill -9 of wf-run: its jq child goes with it, and so does wf-step's" {
	local runpid old step steps_jq
	held_step_yaml
	wf run --quiet st.yaml > run.out 2>&1 &
	RUNPID=$!
	runpid=$RUNPID
	wait_until test -e ready
	old=$(cat jqpids)
	[ -n "$old" ]
	# wf-step checks each step it is sent, conditions too: it has a jq child of its own.
	step=$(ps -o pid=,comm= --ppid "$runpid" | awk '$2 == "wf-step" { print $1 }')
	steps_jq=$(jq_children "$step")
	[ -n "$steps_jq" ]
	kill -9 "$runpid"
	wait "$runpid" || true
	wait_until dead "$old"
	wait_until dead "$steps_jq"
}

@test "a stopped idle jq child does not hold up the end of its run" {
	held_step_yaml
	wf run --quiet st.yaml > run.out 2>&1 &
	RUNPID=$!
	local runpid=$RUNPID old rc
	wait_until test -e ready
	old=$(cat jqpids)
	[ -n "$old" ]
	kill -STOP "$old"
	touch go
	wait_until dead "$runpid"
	wait "$runpid" && rc=0 || rc=$?
	[ "$rc" = 0 ]
	dead "$old"
}

@test "contexts travel whole: large values, quotes, newlines and protocol-like bytes stay data" {
	local big
	big=$(head -c 1048576 /dev/zero | tr '\0' 'x')
	printf '{"vars":{"big":"%s","odd":"WE\\u0000T\\nF\\"M\\u00e9"},"iteration":7}' "$big" > ctx.json
	run wf-cond --file-ctx ctx.json 'jq: ($vars.big | length) == 1048576 and $vars.odd == "WE\u0000T\nF\"Mé" and $iteration == 7'
	assert_success
	run wf-cond --file-ctx ctx.json 'jq: ($vars.big | length) == 1048575'
	assert_failure 1
	# A program as long as a condition may be.
	run wf-cond "jq: $(printf '%*s' 65000 '') true" </dev/null
	assert_success
}
