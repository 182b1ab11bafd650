#!/usr/bin/env bats
# Loops and branches in wf-run: counters, caps, on-exhausted, conditional, check.
load helpers

counter_loop() {
	# $1: max-iterations, $2: on-exhausted (or empty), $3: the loop condition
	{
		echo "name: cl"
		echo "steps:"
		echo "  - id: body"
		echo "    action: shell"
		echo "    command: 'echo pass >> log'"
		echo "  - id: back"
		echo "    action: loop"
		echo "    to: body"
		echo "    condition: '${3:-true}'"
		echo "    max-iterations: $1"
		[ -n "${2:-}" ] && echo "    on-exhausted: $2"
		echo "  - id: after"
		echo "    action: shell"
		echo "    command: 'echo after >> log'"
	} > cl.yaml
}

@test "the shell-only test-loop runs exactly 3 passes and ends with i = 3" {
	run wf run test-loop-shell
	assert_success
	assert_line "pass 1"
	assert_line "pass 2"
	assert_line "pass 3"
	refute_line "pass 4"
	run wf-state get test-loop-shell vars.i
	assert_output 3
	run wf-state get test-loop-shell loops.s4
	assert_output 0
	run wf-state get test-loop-shell passes.s4
	assert_output 3
}

@test "on-exhausted fail (the default): exit 4 with the message, resumable after raising the cap" {
	# max-iterations counts passes of the body: 3 means the body runs 3 times.
	counter_loop 3
	run wf run cl.yaml
	assert_failure 4
	assert_output --partial "loop back exhausted after 3 passes"
	run grep -c pass log
	assert_output 3
	run wf-state get cl status
	assert_output failed
	run wf-state get cl loops.back
	assert_output 2
	run wf-state get cl passes.back
	assert_output 3
	sed -i 's/max-iterations: 3/max-iterations: 5/' cl.yaml
	run wf resume cl --accept-changes --quiet
	assert_failure 4
	run grep -c pass log
	assert_output 5
	run wf-state get cl passes.back
	assert_output 5
}

@test "a loop whose condition turns false after the cap was hit resumes past it" {
	counter_loop 2 "" 'go == "yes"'
	run wf run cl.yaml --var go=yes
	assert_failure 4
	run wf resume cl --var go=no --quiet
	assert_success
	run tail -1 log
	assert_output after
}

@test "on-exhausted continue goes on after the loop" {
	counter_loop 2 continue
	run wf run cl.yaml
	assert_success
	assert_output --partial "loop back exhausted after 2 passes; continuing"
	run cat log
	assert_output $'pass\npass\nafter'
}

@test "on-exhausted pause stops with exit 3" {
	counter_loop 1 pause
	run wf run cl.yaml
	assert_failure 3
	assert_output --partial "loop back exhausted after 1 passes; paused"
	run grep -c pass log
	assert_output 1
	run wf-state get cl status
	assert_output paused
}

@test "the loop counter survives pause and resume" {
	write pl.yaml <<'Y'
name: pl
steps:
  - id: body
    action: shell
    command: 'echo pass >> log; test ! -e stop || { rm stop; exit 1; }'
  - id: back
    action: loop
    to: body
    max-iterations: 4
    on-exhausted: continue
Y
	touch stop
	: > log
	( sleep 0 ) &
	run wf run pl.yaml --quiet
	assert_failure 1
	run wf resume pl --quiet
	assert_success
	# 1 failed pass, then the retried pass and 3 loop-backs: 4 passes after the failure.
	run grep -c pass log
	assert_output 5
	run sh -c "wf-state history pl | jq -c 'select(.event==\"step-end\" and .step==\"back\") | [.loops.back, .passes.back]'"
	assert_output $'[1,1]\n[2,2]\n[3,3]\n[0,4]'
}

@test "nested loops: the inner counter starts again on each outer pass" {
	write nl.yaml <<'Y'
name: nl
variables: {o: 0}
steps:
  - id: outer-body
    action: shell
    command: 'echo "o$o" >> log; echo $((o + 1)) > o.txt'
  - id: inner-body
    action: shell
    command: 'echo inner >> log'
  - id: inner
    action: loop
    to: inner-body
    max-iterations: 2
    on-exhausted: continue
  - id: load
    action: load-variable
    name: o
    from: o.txt
  - id: outer
    action: loop
    to: outer-body
    condition: "o < 3"
    max-iterations: 5
Y
	run wf run nl.yaml --quiet
	assert_success
	run grep -c inner log
	assert_output 6
	run grep -c '^o' log
	assert_output 3
}

@test "consecutive loops keep separate counters" {
	write cl2.yaml <<'Y'
name: cl2
steps:
  - id: a
    action: shell
    command: 'echo a >> log'
  - id: la
    action: loop
    to: a
    max-iterations: 2
    on-exhausted: continue
  - id: b
    action: shell
    command: 'echo b >> log'
  - id: lb
    action: loop
    to: b
    max-iterations: 3
    on-exhausted: continue
Y
	run wf run cl2.yaml --quiet
	assert_success
	run grep -c a log
	assert_output 2
	run grep -c b log
	assert_output 3
}

@test "a loop whose target is after it is rejected by wf-parse" {
	write bad.yaml <<'Y'
name: bad
steps:
  - id: l
    action: loop
    to: s
    max-iterations: 2
  - id: s
    action: shell
    command: "true"
Y
	run wf run bad.yaml
	assert_failure 65
	assert_output --partial "loop 'to' must name an earlier step: 's' is after the loop"
}

@test "the conditional action jumps on true and on false, and falls through without a target" {
	write c.yaml <<'Y'
name: c
steps:
  - id: decide
    action: conditional
    condition: "n > 5"
    on-true: big
  - id: small
    action: shell
    command: 'echo small'
    on-complete: end
  - id: big
    action: shell
    command: 'echo big'
  - id: end
    action: shell
    command: 'echo end'
Y
	run wf run c.yaml --var n=10 --quiet
	run wf run c.yaml --var n=10
	assert_success
	assert_line big
	refute_line small
	run wf run c.yaml --var n=2
	assert_success
	assert_line small
	refute_line big
	assert_line end
	run sh -c "wf-state history c | jq -c 'select(.step==\"decide\" and .event==\"step-end\") | [.condition, .value, .cursor]'"
	assert_output '["n > 5",false,"small"]'
}

@test "check with on-approved / on-rejected on an action step" {
	write a.yaml <<'Y'
name: a
steps:
  - id: review
    action: set-variable
    name: approved
    value: "${verdict}"
    check: approved
    on-approved: merge
    on-rejected: fix
  - id: fix
    action: shell
    command: 'echo fix'
    on-complete: done
  - id: merge
    action: shell
    command: 'echo merge'
  - id: done
    action: shell
    command: 'echo done'
Y
	run wf run a.yaml --var verdict=true
	assert_success
	assert_line merge
	refute_line fix
	run wf run a.yaml --var verdict=false
	assert_success
	assert_line fix
	refute_line merge
	run sh -c "wf-state history a | jq -c 'select(.step==\"review\" and .event==\"step-end\") | .jump'"
	assert_output '{"condition":"approved","value":false,"to":"fix"}'
}

@test "if: skips a step whose condition is false" {
	write i.yaml <<'Y'
name: i
steps:
  - id: maybe
    action: shell
    command: 'echo ran'
    if: "mode == 'full'"
  - id: always
    action: shell
    command: 'echo always'
Y
	run wf run i.yaml --var mode=quick
	assert_success
	refute_line ran
	assert_line always
	run wf-state get i steps.maybe.status
	assert_output skipped
}

@test "a bad condition at run time stops with 65 and names the step" {
	write b.yaml <<'Y'
name: b
steps:
  - id: c
    action: conditional
    condition: "nosuchvar > 1"
    on-true: c
Y
	run wf run b.yaml
	assert_failure 65
	assert_output --partial "step 'c': condition 'nosuchvar > 1'"
	assert_output --partial "unknown identifier"
}

@test "wf-parse rejects a condition it cannot parse, with its column" {
	write bc.yaml <<'Y'
name: bc
steps:
  - id: a
    action: conditional
    condition: "i <<< 3"
    on-true: a
Y
	run wf validate bc.yaml
	assert_failure 65
	assert_output "wf-parse: bc.yaml:5:16: 'condition': bad condition 'i <<< 3': column 4: expected a value, found '<'"
}
