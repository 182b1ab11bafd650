#!/usr/bin/env bats
# One contract in code and pages: a timeout is a limit (4), `wf run
# --answer`, resume hints that make progress, what max-iterations counts,
# and what a failing step hands to the next one (output and stderr).
load helpers

# The first 'wf ...' command quoted in the last message that mentions $1.
hint_after() {
	grep -F -- "$1" <<<"$output" | tail -1 | grep -o "'wf [^']*'" | head -1 | tr -d "'"
}

# ---- a timeout is a limit ----

@test "a step that times out ends the run with exit 4, and its result says timed out" {
	write t.yaml <<'Y'
name: t
steps:
  - id: slow
    action: shell
    command: 'test -e done || while :; do sleep 1; done'
    timeout: 0.3
  - id: after
    action: shell
    command: 'echo after'
Y
	run wf run t.yaml
	assert_failure 4
	assert_output --partial "timed out after 0.3s"
	run wf-state get t steps.slow.timed_out
	assert_output true
	run wf-state get t reason
	assert_output "step timed out"
	run sh -c "wf-state history t | jq -c 'select(.event==\"step-end\") | [.step, .exit_code, .timed_out]'"
	assert_output '["slow",124,true]'
	# Any other failure is still 1.
	printf 'name: f\nsteps:\n  - id: bad\n    action: shell\n    command: "exit 3"\n' > f.yaml
	run wf run f.yaml
	assert_failure 1
}

@test "a timeout handled by on-error is not a limit, and the handler sees steps.ID.timed_out" {
	write t.yaml <<'Y'
name: t
steps:
  - id: slow
    action: shell
    command: 'while :; do sleep 1; done'
    timeout: 0.2
    on-error: handled
  - id: never
    action: shell
    command: 'echo never'
  - id: handled
    action: conditional
    condition: 'steps.slow.timed_out == true'
    on-false: never
  - id: end
    action: shell
    command: 'echo handled'
Y
	run wf run t.yaml
	assert_success
	assert_line handled
	refute_line never
}

# ---- what a failing step hands on ----

@test "a failing shell step sets its output variable and its stderr reaches steps.ID.stderr" {
	write fx.yaml <<'Y'
name: fx
steps:
  - id: test
    action: shell
    command: 'echo "3 tests, 1 failed"; echo "test_add: expected 2, got 3" >&2; exit 1'
    output: log
    on-error: fix
  - id: done
    action: shell
    command: 'echo done'
    on-complete: end
  - id: fix
    action: set-variable
    name: prompt
    value: "Fix this. Log: ${log} Errors: ${steps.test.stderr}"
  - id: end
    action: shell
    command: 'true'
Y
	run wf run fx.yaml --quiet
	assert_success
	run wf-state get fx vars.log
	assert_output "3 tests, 1 failed"
	run wf-state get fx steps.test.stderr
	assert_output "test_add: expected 2, got 3"
	run wf-state get fx vars.prompt
	assert_output "Fix this. Log: 3 tests, 1 failed Errors: test_add: expected 2, got 3"
}

@test "steps.ID.stderr works in a condition and is empty for a quiet step" {
	write c.yaml <<'Y'
name: c
steps:
  - id: warn
    action: shell
    command: 'echo "warning: deprecated" >&2'
  - id: quiet
    action: shell
    command: 'true'
  - id: branch
    action: conditional
    condition: 'steps.warn.stderr == "warning: deprecated" && steps.quiet.stderr == ""'
    on-true: yes
  - id: no
    action: shell
    command: 'echo no; exit 1'
  - id: yes
    action: shell
    command: 'echo yes'
Y
	run wf run c.yaml
	assert_success
	assert_line yes
	refute_line no
}

@test "a secret in a failing step's stderr and output is masked in the step context and the journal" {
	export DEMO_API_KEY=sk-demo-0123456789abcdef
	write s.yaml <<'Y'
name: s
steps:
  - id: leak
    action: shell
    secrets: [DEMO_API_KEY]
    command: 'echo "out $DEMO_API_KEY"; echo "err $DEMO_API_KEY" >&2; exit 2'
    output: log
    continue-on-error: true
Y
	run wf run s.yaml --quiet
	assert_success
	run wf-state get s steps.leak.stderr
	assert_output "err ***"
	run wf-state get s vars.log
	assert_output "out ***"
	run grep -rl "sk-demo-0123456789abcdef" "$WF_STATE_DIR"
	assert_failure
}

# ---- max-iterations counts passes of the body ----

@test "max-iterations: 3 runs the body at most 3 times, and wf status says so" {
	write l.yaml <<'Y'
name: l
steps:
  - id: body
    action: shell
    command: 'echo pass >> log'
  - id: again
    action: loop
    to: body
    max-iterations: 3
Y
	run wf run l.yaml --quiet
	assert_failure 4
	run grep -c pass log
	assert_output 3
	run wf status l
	assert_line "  again: 3 passes"
	run wf-state get l passes.again
	assert_output 3
}

@test "the demo reports the passes its loop made" {
	run wf run demo --yes --quiet
	assert_success
	run wf status demo
	assert_line "  again: 3 passes"
	run wf-state get demo loops.again
	assert_output 0
}

@test "\${passes.ID} reaches a later step's text" {
	write p.yaml <<'Y'
name: p
variables: {n: 0}
steps:
  - id: body
    action: shell
    command: 'echo $((n + 1)) > n.txt'
  - id: load
    action: load-variable
    name: n
    from: n.txt
  - id: again
    action: loop
    to: body
    condition: "n < 2"
    max-iterations: 5
  - id: report
    action: set-variable
    name: said
    value: "ran ${passes.again} passes"
Y
	run wf run p.yaml --quiet
	assert_success
	run wf-state get p vars.said
	assert_output "ran 2 passes"
}
