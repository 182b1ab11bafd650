#!/usr/bin/env bats
# Stepping through a run (wf-run(1), "Stepping through"): --step, --break
# and --no-step, at a real terminal (tmux) and without one.
load helpers
load terminal

setup() {
	wf_setup
	SOCK="wf-step-$$-$BATS_TEST_NUMBER" SOCKS=
	write four.yaml <<'Y'
name: four
variables:
  greeting: hello
steps:
  - id: a
    action: shell
    command: 'echo "A-$greeting"'
  - id: b
    action: shell
    command: 'echo "B-$greeting"'
  - id: c
    action: shell
    command: 'echo "C-$greeting"'
  - id: d
    action: shell
    command: 'echo "D-$greeting"'
Y
}

teardown() {
	for s in $SOCKS; do
		tmux -L "$s" kill-server 2>/dev/null || true
	done
}

# ---- a real terminal ----

# Run COMMAND in a fresh terminal (terminal.bash), the last one gone.
term_start() {
	command -v tmux >/dev/null || skip "tmux not installed"
	rm -f "$WORK/rc"
	# A server of its own: the last one may still be going away.
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	SOCK="$SOCK-n"
	SOCKS="$SOCKS $SOCK"
	term_run "$1"
}

# The screen with what scrolled off it.
scrollback() {
	tmux -L "$SOCK" capture-pane -p -S -500 -t t
}

# The terminal has shown TEXT COUNT times or more (default 1).
shows() {
	[ "$(scrollback | grep -cF -- "$1")" -ge "${2:-1}" ]
}

# How many times the question was asked in the terminal.
asked() {
	scrollback | grep -cF -- "$PROMPT"
}

# The journal's events of kind $2 of run $1, as compact JSON lines.
events() {
	wf-state history "$1" | jq -c --arg e "$2" 'select(.event == $e)'
}

# How many step-end events run $1 has journaled.
ends() {
	wf-state history "$1" | jq -s '[.[] | select(.event == "step-end")] | length'
}

PROMPT="[r]un, [s]kip, [e]dit variables, [c]ontinue without stopping, [p]ause"

@test "at a terminal: run, skip, edit a variable (the step shows it and runs with it), continue without stopping" {
	term_start "wf run ./four.yaml --step"
	wait_until shows "step 'a' [1/4] (shell) will run:"
	shows 'greeting=hello'
	keys r Enter
	wait_until shows "step 'b' [2/4]"
	shows "A-hello"
	keys s Enter
	wait_until shows "step 'c' [3/4]"
	keys e Enter
	wait_until shows "one NAME=VALUE a line"
	keys greeting=edited Enter Enter
	# The step is shown again, with the variable as set.
	wait_until shows 'greeting=edited'
	wait_until shows "$PROMPT" 4
	keys c Enter
	run exit_code
	assert_output 0
	run scrollback
	assert_output --partial "C-edited"
	assert_output --partial "D-edited"
	refute_output --partial "B-hello"
	# d ran without a stop: four prompts in all (a, b, c, c again after the edit).
	[ "$(asked)" -eq 4 ]
	run sh -c "wf-state history four | jq -c 'select(.event == \"step-end\" and .step == \"b\") | [.status, .by, .cursor]'"
	assert_output '["skipped","terminal","c"]'
	run sh -c "wf-state history four | jq -c 'select(.event == \"var-set\") | .vars'"
	assert_output '{"greeting":"edited"}'
	run sh -c "wf-state history four | jq -c 'select(.event == \"stepping\") | .step'"
	assert_output $'true\nfalse'
	run sh -c "wf-state history four | jq -c 'select(.event == \"step-start\") | .step' | tr '\n' ' '"
	assert_output '"a" "c" "d" '
}

@test "at a terminal: pause stops with 3, and the resume runs that step and stops before the next" {
	term_start "wf run ./four.yaml --step"
	wait_until shows "step 'a' [1/4]"
	keys p Enter
	run exit_code
	assert_output 3
	run wf-state get four reason
	assert_output step
	[ "$(ends four)" -eq 0 ]
	term_start "wf resume four"
	wait_until shows "step 'b' [2/4]"
	shows "A-hello"
	keys c Enter
	run exit_code
	assert_output 0
	run wf-state get four status
	assert_output completed
	[ "$(ends four)" -eq 4 ]
}

@test "at a terminal: --break stops before the named step only" {
	term_start "wf run ./four.yaml --break c"
	wait_until shows "$PROMPT"
	shows "step 'c' [3/4]"
	shows "B-hello"
	! shows "D-hello"
	keys r Enter
	run exit_code
	assert_output 0
	[ "$(asked)" -eq 1 ]
	run scrollback
	assert_output --partial "D-hello"
}

@test "at a terminal: the runner killed with -9 at the question ran nothing; the resume asks again" {
	term_start "wf run ./four.yaml --step"
	wait_until shows "step 'a' [1/4]"
	pid=$(wf-state get four pid)
	kill -9 "$pid"
	run exit_code
	assert_output 137
	# Nothing ran, nothing was decided: no step started.
	[ -z "$(events four step-start)" ]
	term_start "wf resume four"
	wait_until shows "step 'a' [1/4]"
	shows "$PROMPT"
	keys c Enter
	run exit_code
	assert_output 0
	[ "$(ends four)" -eq 4 ]
}

@test "at a terminal: Ctrl-C at the question stops the run as interrupted, and the resume asks again" {
	term_start "wf run ./four.yaml --step"
	wait_until shows "step 'a' [1/4]"
	keys C-c
	run exit_code
	assert_output 130
	run wf-state get four reason
	assert_output "interrupted (SIGINT)"
	[ -z "$(events four step-start)" ]
	term_start "wf resume four"
	wait_until shows "step 'a' [1/4]"
	keys r Enter
	wait_until shows "step 'b' [2/4]"
	keys p Enter
	run exit_code
	assert_output 3
	[ "$(ends four)" -eq 1 ]
}

@test "at a terminal: a sensitive step answered run is still asked for consent, and its no is final" {
	rm "$XDG_CONFIG_HOME/wf/config.yaml"
	term_start "wf run ./four.yaml --step"
	wait_until shows "step 'a' [1/4]"
	keys r Enter
	wait_until shows "run it? [y]es, [n]o, [a]lways for this run, [p]ause"
	keys n Enter
	run exit_code
	assert_output 77
	[ -z "$(events four step-start)" ]
	run wf-state get four status
	assert_output declined
}

# ---- no terminal ----

@test "without a terminal: exit 3 before each step, and each resume runs exactly one" {
	run wf run ./four.yaml --step </dev/null
	assert_failure 3
	assert_output --partial "four: stopped before step 'a' (stepping through)"
	assert_output --partial 'command: echo "A-$greeting"'
	assert_output --partial "run it with: wf resume four"
	[ "$(ends four)" -eq 0 ]
	run wf status four
	assert_output --partial "status:   paused (step)"
	assert_output --partial "step 'a' [1/4] (shell) will run:"
	assert_output --partial "options: run, skip, continue"
	assert_output --partial "wf resume four --answer skip|continue"
	for n in 1 2 3; do
		run wf resume four </dev/null
		assert_failure 3
		[ "$(ends four)" -eq "$n" ]
		run wf-state get four cursor
		assert_output "$(printf 'b\nc\nd' | sed -n "${n}p")"
	done
	run wf resume four </dev/null
	assert_success
	assert_output --partial "D-hello"
	[ "$(ends four)" -eq 4 ]
	run sh -c "wf-state history four | jq -c 'select(.event == \"pause\") | [.reason, .step]' | tr '\n' ' '"
	assert_output '["step","a"] ["step","b"] ["step","c"] ["step","d"] '
}

@test "without a terminal: --answer skip is final, continue stops stepping, anything else changes nothing" {
	run wf run ./four.yaml --step </dev/null
	assert_failure 3
	run wf resume four --answer maybe </dev/null
	assert_failure 65
	assert_output --partial "'maybe' is not an answer; use run, skip or continue"
	run wf-state get four reason
	assert_output step
	run wf resume four --answer skip </dev/null
	assert_failure 3
	refute_output --partial "A-hello"
	run sh -c "wf-state history four | jq -c 'select(.event == \"step-end\") | [.step, .status, .by, .cursor]'"
	assert_output '["a","skipped","--answer","b"]'
	run wf resume four --answer continue </dev/null
	assert_success
	assert_output --partial "B-hello"
	assert_output --partial "D-hello"
	refute_output --partial "A-hello"
	run sh -c "wf-state history four | jq -c 'select(.event == \"step-start\") | .step' | tr '\n' ' '"
	assert_output '"b" "c" "d" '
}

@test "without a terminal: --break stops at its step only, on resume too; --no-step ends stepping" {
	run wf run ./four.yaml --break b --break d </dev/null
	assert_failure 3
	assert_output --partial "A-hello"
	[ "$(ends four)" -eq 1 ]
	run wf resume four </dev/null
	assert_failure 3
	assert_output --partial "B-hello"
	assert_output --partial "C-hello"
	run wf-state get four cursor
	assert_output d
	run wf resume four --no-step </dev/null
	assert_success
	assert_output --partial "D-hello"
	# A new run stepping from a resume that asks for it.
	run wf run ./four.yaml --break c </dev/null
	assert_failure 3
	run wf resume four --step </dev/null
	assert_failure 3
	run wf-state get four cursor
	assert_output d
	run wf-state get four stepping
	assert_output '{"step":true,"breaks":["c"]}'
}

@test "--break with a step the workflow does not have, or a loop, is a usage error that runs nothing" {
	run wf run ./four.yaml --break nope </dev/null
	assert_failure 2
	assert_output --partial "--break: workflow 'four' has no step 'nope'; its steps are: a, b, c, d"
	# Nothing was started: there is no run.
	run wf-state get four status
	assert_failure 66
	run wf run "$EXAMPLES/test-loop-shell.yaml" --break s4 </dev/null
	assert_failure 2
	assert_output --partial "step 's4' is a loop"
	run wf run ./four.yaml --break b </dev/null
	assert_failure 3
	run wf resume four --break zzz </dev/null
	assert_failure 2
	assert_output --partial "its steps are: a, b, c, d"
	run wf-state get four reason
	assert_output step
	run wf run ./four.yaml --no-step </dev/null
	assert_failure 2
	run wf resume four --step --no-step </dev/null
	assert_failure 2
}

@test "what is shown is substituted where the step substitutes, the command as written, secrets masked" {
	export DEPLOY_API_KEY="s3cr3t-deploy-value-0123456789"
	write show.yaml <<'Y'
name: show
variables:
  target: prod
env:
  WHERE: "region-${target}"
steps:
  - id: sh
    action: shell
    command: 'deploy --to "$target" --key "$tok"'
  - id: ask
    action: interactive
    message: "Deploy to ${target}?"
Y
	run wf run ./show.yaml --step --var tok="$DEPLOY_API_KEY" </dev/null
	assert_failure 3
	assert_output --partial "command: deploy --to \"\$target\" --key \"\$tok\""
	assert_output --partial "target=prod"
	assert_output --partial "WHERE=region-prod"
	assert_output --partial "tok=***"
	refute_output --partial "$DEPLOY_API_KEY"
	run sh -c "cat '$(rundir show)'/history.jsonl '$(rundir show)'/state.json"
	refute_output --partial "$DEPLOY_API_KEY"
	run wf resume show --answer skip </dev/null
	assert_failure 3
	assert_output --partial "message: Deploy to prod?"
}

@test "a model step shows its model as resolved and its prompt substituted" {
	cat > models.yaml <<'M'
providers:
  fake:
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_key_env: FAKE_API_KEY
models:
  main: {provider: fake, model: main-test}
default: main
M
	export WF_MODELS="$WORK/models.yaml" FAKE_API_KEY=sk-test-0123456789abcdef
	write ai.yaml <<'Y'
name: ai
variables:
  topic: stepping
steps:
  - id: ask
    action: ai-prompt
    prompt: "Say something about ${topic}"
Y
	run wf run ./ai.yaml --step </dev/null
	assert_failure 3
	assert_output --partial "model: default -> fake:main-test"
	assert_output --partial "prompt: Say something about stepping"
}

@test "--step with a loop stops before its steps on every pass" {
	run wf run "$EXAMPLES/test-loop-shell.yaml" --break s1 </dev/null
	assert_failure 3
	for pass in 1 2 3; do
		run wf resume test-loop-shell </dev/null
		[ "$pass" -lt 3 ] && assert_failure 3 || assert_success
		assert_output --partial "pass $pass"
	done
	run sh -c "wf-state history test-loop-shell | jq -c 'select(.event == \"pause\") | .step' | tr '\n' ' '"
	assert_output '"s1" "s1" "s1" '
}

@test "without a terminal: consent is still asked after the step stop, and a no is final" {
	rm "$XDG_CONFIG_HOME/wf/config.yaml"
	run wf run ./four.yaml --step </dev/null
	assert_failure 3
	run wf resume four </dev/null
	assert_failure 3
	assert_output --partial "step 'a' needs consent to run"
	run wf-state get four pending.kind
	assert_output consent
	run wf resume four --answer no </dev/null
	assert_failure 77
	[ -z "$(events four step-start)" ]
	# Consent given: the step runs, with no second step-through stop before it.
	run wf resume four --answer yes </dev/null
	assert_failure 3
	assert_output --partial "A-hello"
	run wf-state get four cursor
	assert_output b
}
