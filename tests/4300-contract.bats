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

# t.yaml: step slow runs until its 0.3 s timeout stops it (unless the file
# done exists), then the steps given on stdin.
timeout_flow() {
	{
		printf 'name: t\nsteps:\n  - id: slow\n    action: shell\n'
		printf '    command: %s\n    timeout: 0.3\n' "'test -e done || while :; do sleep 1; done'"
		cat
	} > t.yaml
}

@test "a step that times out ends the run with exit 4, and its result says timed out" {
	timeout_flow <<'Y'
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

# ---- wf run --answer ----

choice_workflow() {
	write q.yaml <<'Y'
name: q
steps:
  - id: prep
    action: set-variable
    name: x
    value: "1"
  - id: pick
    action: interactive
    message: "Which colour?"
    kind: choice
    options: [red, blue]
    variable: color
  - id: show
    action: shell
    command: 'echo "color=$color"'
Y
}

@test "wf run --answer answers the run's first question, with nobody at a terminal" {
	choice_workflow
	run wf run q.yaml --answer 2 </dev/null
	assert_success
	assert_line "color=blue"
	run sh -c "wf-state history q | jq -c 'select(.event==\"answer\") | [.step, .value, .by]'"
	assert_output '["pick","blue","--answer"]'
}

@test "wf run --answer that does not fit the first question is refused before anything runs" {
	choice_workflow
	run wf run q.yaml --answer green </dev/null
	assert_failure 65
	assert_output "wf-run: run 'q', step 'pick': 'green' is not one of the options: 'red', 'blue'; nothing was changed"
	run wf-state get q status
	assert_failure 66
}

@test "wf run --answer gives or refuses the consent a first sensitive step asks" {
	rm "$XDG_CONFIG_HOME/wf/config.yaml"
	write c.yaml <<'Y'
name: c
steps:
  - id: push
    action: shell
    command: 'echo pushed'
Y
	run wf run c.yaml --answer yes </dev/null
	assert_success
	assert_line pushed
	run sh -c "wf-state history c | jq -c 'select(.event==\"consent\") | [.decision, .by]'"
	assert_output '["yes","--answer"]'
	run wf run c.yaml --answer no </dev/null
	assert_failure 77
	refute_line pushed
}

@test "wf run --answer with no step that asks is a usage error" {
	write n.yaml <<'Y'
name: n
steps:
  - id: a
    action: set-variable
    name: x
    value: "1"
Y
	run wf run n.yaml --answer yes
	assert_failure 2
	assert_output --partial "has no step that asks a question"
}

# ---- hints that make progress ----

@test "an exhausted loop's hints are not a plain resume, and following them goes on" {
	write cl.yaml <<'Y'
name: cl
steps:
  - id: body
    action: shell
    command: 'echo pass >> log'
  - id: back
    action: loop
    to: body
    condition: 'go == "yes"'
    max-iterations: 2
  - id: after
    action: shell
    command: 'echo after >> log'
Y
	run wf run cl.yaml --var go=yes
	assert_failure 4
	assert_output --partial "'wf resume cl --accept-changes'"
	run wf status cl
	refute_output --partial "continue it with 'wf resume cl'"
	assert_output --partial "(loop exhausted)"
	assert_line --partial "next:     raise the loop's max-iterations"
	# The first hint: a higher cap, accepted.
	cmd=$(hint_after "next:")
	assert_equal "$cmd" "wf resume cl --accept-changes"
	sed -i 's/max-iterations: 2/max-iterations: 3/' cl.yaml
	run $cmd --quiet
	assert_failure 4
	run grep -c pass log
	assert_output 3
	# The second: the condition made false.
	run wf status cl
	cmd=$(grep -o "'wf resume cl --var [^']*'" <<<"$output" | tr -d "'")
	assert_equal "$cmd" "wf resume cl --var NAME=VALUE"
	run ${cmd/NAME=VALUE/go=no} --quiet
	assert_success
	run tail -1 log
	assert_output after
}

@test "the step limit's hint names a limit that lets the run finish" {
	write sl.yaml <<'Y'
name: sl
steps:
  - id: a
    action: set-variable
    name: x
    value: "1"
  - id: b
    action: set-variable
    name: y
    value: "2"
  - id: c
    action: set-variable
    name: z
    value: "3"
Y
	run wf run sl.yaml --max-steps 2
	assert_failure 4
	cmd=$(hint_after "step limit of 2 reached")
	assert_equal "$cmd" "wf resume sl --max-steps 5"
	run wf status sl
	assert_line "next:     allow more steps with 'wf resume sl --max-steps 5'"
	run $cmd
	assert_success
}

@test "a timed-out step's hint runs it again" {
	timeout_flow </dev/null
	run wf run t.yaml
	assert_failure 4
	cmd=$(grep -o "or run it again with '[^']*'" <<<"$output" | grep -o "'.*'" | tr -d "'")
	assert_equal "$cmd" "wf resume t"
	touch done
	run $cmd
	assert_success
}

@test "a run killed while it asks at a terminal takes wf resume --answer" {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock="wf-contract-$$-$BATS_TEST_NUMBER" pid i
	write k.yaml <<'Y'
name: k
steps:
  - id: ask
    action: interactive
    message: "Ship it?"
    variable: ship
  - id: show
    action: shell
    command: 'echo "ship=$ship"'
Y
	tmux -L "$sock" -f /dev/null new-session -d -s t -x 160 -y 45 \
		"cd '$WORK' && env PATH='$PATH' HOME='$HOME' WF_STATE_DIR='$WF_STATE_DIR' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' wf-run k.yaml; sleep 60"
	for i in $(seq 1 300); do
		tmux -L "$sock" capture-pane -p -t t | grep -qF "Ship it?" && break
		sleep 0.1
	done
	pid=$(wf-state show k | jq -r .pid)
	[ "$pid" -gt 1 ]
	pids="$pid $(pgrep -P "$pid" | tr '\n' ' ')"
	kill -9 $pids
	tmux -L "$sock" kill-server
	for p in $pids; do
		for i in $(seq 1 300); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	done
	run wf-state get k inflight.step
	assert_output ask
	run wf resume k --answer yes </dev/null
	assert_success
	assert_line "ship=true"
}
