#!/usr/bin/env bats
# wf logs: a run's step outputs in order, one step, one pass, --json, and
# -f following a run as it goes.
load helpers
load fake-provider

# A run with a loop of two passes, a step that fails once and is retried,
# and steps whose output is only in the journal (a loop, set-variable).
loop_and_retry() {
	write t.yaml <<'Y'
name: t
steps:
  - id: body
    action: shell
    command: 'echo "pass $(cat n 2>/dev/null || echo 0)"; echo oops >&2; echo $(( $(cat n 2>/dev/null || echo 0) + 1 )) > n'
  - id: back
    action: loop
    to: body
    condition: 'true'
    max-iterations: 2
    on-exhausted: continue
  - id: flaky
    action: shell
    command: 'test -e ok && echo second try || { touch ok; echo first try; echo broke >&2; exit 3; }'
    retry: {attempts: 2, delay: 0}
  - id: sv
    action: set-variable
    name: greeting
    value: hello
Y
	run wf run t.yaml --quiet
	assert_success
}

# The text of wf logs without the times, which differ from run to run.
untimed() {
	sed -E 's/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s$//'
}

# The run directory of run $1, as the state store names it.
run_dir() {
	wf-state status "$1" --json | jq -r .dir
}

# Start run f in the background (its pid in $runpid; "$@" are wf run's
# options): its step "first" prints "before", waits until the test writes
# to the pipe "go", then prints "after" and "late" on stderr; the steps in
# $MORE_STEPS follow.  Returns once "before" is in the run's output log.
start_waiting_run() {
	mkfifo go
	{
		cat <<'Y'
name: f
steps:
  - id: first
    action: shell
    command: 'echo before; read x < go; echo after; echo late >&2'
Y
		printf '%s' "${MORE_STEPS:-}"
	} > f.yaml
	wf run f.yaml "$@" > run.out 2>&1 </dev/null &
	runpid=$!
	wait_until first_printed
}

# Has step "first" of run f written "before" to the run's output log?
first_printed() {
	step_output f first | grep -q before
}

# Let the step of start_waiting_run go on.
release() {
	echo go > go
}

@test "wf logs RUN: every execution in order, loop passes and retries, stdout then stderr, under headers" {
	loop_and_retry
	run sh -c 'wf logs t | sed -E "s/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s\$//"'
	assert_success
	assert_output "== body (shell) pass 1: ok, exit 0
pass 0
oops
== back (loop) pass 1: ok, exit 0
== body (shell) pass 2: ok, exit 0
pass 1
oops
== back (loop) pass 2: ok, exit 0
== flaky (shell) pass 1: failed
first try
broke
== flaky (shell) pass 1 attempt 2: ok, exit 0
second try
== sv (set-variable) pass 1: ok, exit 0
hello"
	# Every header has its start time and duration; nothing but text in a pipe.
	run sh -c 'wf logs t | grep "^== " | grep -cvE ", started [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}, [0-9]+\.[0-9]s$"'
	assert_output 0
	run sh -c "wf logs t | LC_ALL=C grep -c '[[:cntrl:]]'"
	assert_output 0
}

@test "wf logs RUN STEP: all of that step's passes; --pass N only the Nth" {
	loop_and_retry
	run sh -c 'wf logs t body | sed -E "s/, started .*//"'
	assert_success
	assert_output "== body (shell) pass 1: ok, exit 0
pass 0
oops
== body (shell) pass 2: ok, exit 0
pass 1
oops"
	run sh -c 'wf logs t body --pass 2 | sed -E "s/, started .*//"'
	assert_success
	assert_output "== body (shell) pass 2: ok, exit 0
pass 1
oops"
	# A retry is an attempt of the same pass.
	run sh -c 'wf logs t flaky --pass=1 | grep "^=="'
	assert_success
	assert_line --index 0 --partial "== flaky (shell) pass 1: failed"
	assert_line --index 1 --partial "== flaky (shell) pass 1 attempt 2: ok, exit 0"
}

@test "wf logs without RUN shows the run started last, not the last by name" {
	for n in zz aa mm; do
		printf 'name: %s\nsteps:\n  - id: s\n    action: shell\n    command: echo from %s\n' "$n" "$n" > "$n.yaml"
		run wf run "$n.yaml" --quiet
		assert_success
	done
	run wf logs
	assert_success
	assert_line --index 0 --partial "== s (shell) pass 1: ok"
	assert_line --index 1 "from mm"
	assert_equal "${#lines[@]}" 2
}

@test "unknown run, no runs, unknown step, a step that has not run, a pass that is not there: 66 and what to do" {
	run wf logs
	assert_failure 66
	assert_output "wf-state: no runs yet (see 'wf status')"
	loop_and_retry
	run wf logs nosuch
	assert_failure 66
	assert_output "wf-state: no run named 'nosuch' in this project (see 'wf status')"
	run wf logs t nosuch
	assert_failure 66
	assert_output "wf-state: run 't' has no step 'nosuch'; its steps: body, back, flaky, sv"
	run wf logs t body --pass 3
	assert_failure 66
	assert_output "wf-state: step 'body' of run 't' ran 2 passes; there is no pass 3"
	# A step of the workflow that a failed run never reached.
	write u.yaml <<'Y'
name: u
steps:
  - id: a
    action: shell
    command: exit 5
  - id: b
    action: shell
    command: echo never
Y
	run wf run u.yaml --quiet
	assert_failure 1
	run wf logs u b
	assert_failure 66
	assert_output "wf-state: step 'b' of run 'u' has not run"
	run sh -c 'wf logs u a | sed -E "s/, started .*//"'
	assert_success
	assert_output "== a (shell) pass 1: failed, exit 5
error: exited with status 5"
}

@test "wf logs usage errors exit 2 naming the usage" {
	loop_and_retry
	for args in "t --pass 2" "t body --pass 0" "t body --pass x" "t body --pass" "t --tail" "t body extra"; do
		run wf logs $args
		assert_failure 2
		assert_output --regexp "usage: wf(-state)? logs \[NAME \[STEP\]\] \[-f\] \[--pass N\] \[--timeline\] \[--json\]"
	done
	run wf logs t body extra
	assert_output --partial "too many operands for 'logs'"
	run wf logs t --tail
	assert_output --partial "unknown option '--tail'"
}

@test "wf logs --json: one object per execution and one per output, the text as stored" {
	loop_and_retry
	run sh -c 'wf logs t --json | jq -c "select(.type == \"step\") | [.run, .step, .action, .pass, .attempt, .status, .exit_code, (.started | test(\"^[0-9-]+T[0-9:.]+Z$\")), (.duration_ms >= 0)]"'
	assert_success
	assert_output '["t","body","shell",1,1,"ok",0,true,true]
["t","back","loop",1,1,"ok",0,true,true]
["t","body","shell",2,1,"ok",0,true,true]
["t","back","loop",2,1,"ok",0,true,true]
["t","flaky","shell",1,1,"failed",null,true,true]
["t","flaky","shell",1,2,"ok",0,true,true]
["t","sv","set-variable",1,1,"ok",0,true,true]'
	run sh -c 'wf logs t --json | jq -c "select(.type == \"output\") | [.step, .pass, .attempt, .stream, .text]"'
	assert_output '["body",1,1,"stdout","pass 0\n"]
["body",1,1,"stderr","oops\n"]
["body",2,1,"stdout","pass 1\n"]
["body",2,1,"stderr","oops\n"]
["flaky",1,1,"stdout","first try\n"]
["flaky",1,1,"stderr","broke\n"]
["flaky",1,2,"stdout","second try\n"]
["sv",1,1,"output","hello"]'
	# An output object names the execution its header does.
	run sh -c 'wf logs t body --pass 2 --json | jq -s "map(.seq) | unique | length"'
	assert_output 1
}

@test "an AI step's header names the model that answered, and its reply is shown" {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply from {model}"}}
J
	fake_models
	write a.yaml <<'Y'
name: a
steps:
  - id: ask
    action: ai-prompt
    model: llama
    prompt: say something
Y
	run wf run a.yaml --quiet
	assert_success
	run sh -c 'wf logs a | sed -E "s/, started .*//"'
	assert_success
	assert_output "== ask (ai-prompt, model llama) pass 1: ok, exit 0
reply from $(wf-model resolve llama | jq -r .model)"
	run sh -c 'wf logs a --json | jq -r "select(.type == \"output\") | .stream"'
	assert_output answer
}

@test "a secret a step printed stays masked in logs, and headers carry no variable" {
	export DEPLOY_TOKEN="tok-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	write s.yaml <<'Y'
name: s
variables: {note: plain-variable-value}
steps:
  - id: leak
    action: shell
    secrets: [DEPLOY_TOKEN]
    command: 'echo "out $DEPLOY_TOKEN ${note}"; echo "err $DEPLOY_TOKEN" >&2'
Y
	run wf run s.yaml --quiet
	assert_success
	for fmt in "" --json; do
		run wf logs s $fmt
		assert_success
		refute_output --partial "$DEPLOY_TOKEN"
		assert_output --partial "out ***"
		assert_output --partial "err ***"
	done
	run sh -c 'wf logs s | grep "^=="'
	refute_output --partial plain-variable-value
}

@test "wf logs on a run whose step is in flight: its header says running and shows its output so far" {
	start_waiting_run --quiet
	run sh -c 'wf logs f | sed -E "s/, started .*//"'
	release
	assert_success
	assert_output "== first (shell) pass 1: running
before"
	wait "$runpid"
	run sh -c 'wf logs f | sed -E "s/, started .*//"'
	assert_output "== first (shell) pass 1: ok, exit 0
before
after
late"
	# The files it read are the run's own.
	run step_output f first
	assert_output "before
after"
}

@test "wf logs -f follows a running run: what exists, then new output as it is written, and exits 0 when the run stops" {
	MORE_STEPS='  - id: second
    action: shell
    command: echo two
  - id: ask
    action: interactive
    message: go on?
'
	start_waiting_run
	wf logs -f f > follow.out 2> follow.err &
	logpid=$!
	wait_until grep -q '^before$' follow.out
	run head -1 follow.out
	assert_output --regexp '^== first \(shell\) pass 1: running, started [0-9-]+ [0-9:]+$'
	# Still following: the run has not stopped.
	kill -0 "$logpid"
	run grep -c '' follow.out
	assert_output 2
	release
	# It stops on its own when the run waits for its answer.
	wait "$logpid"
	status_f=$?
	wait "$runpid" || run_status=$?
	assert_equal "$status_f" 0
	assert_equal "${run_status:-0}" 3
	run untimed < follow.out
	assert_output "== first (shell) pass 1: running
before
after
late
== first: ok, exit 0
== second (shell) pass 1: running
two
== second: ok, exit 0
== ask (interactive) pass 1: running
== ask: waiting"
	run cat follow.err
	assert_output ""
	# Following a run that has stopped prints what there is and exits at once.
	run wf logs -f f
	assert_success
	assert_line --index 0 --partial "== first (shell) pass 1: ok, exit 0"
}

@test "wf logs -f --json: the step in flight is announced running, then again with how it ended" {
	start_waiting_run --quiet
	wf logs -f f --json > follow.out &
	logpid=$!
	wait_until grep -q '"text":"before' follow.out
	release
	wait "$logpid"
	wait "$runpid"
	run jq -c '[.type, .status // .stream, .text]' follow.out
	assert_output '["step","running",null]
["output","stdout","before\n"]
["output","stdout","after\n"]
["output","stderr","late\n"]
["step","ok",null]'
	run jq -s 'map(.seq) | unique | length' follow.out
	assert_output 1
}

@test "completion: wf logs offers the runs, then the steps of the run's workflow, and its options" {
	loop_and_retry
	complete_words() {
		bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
			if [[ $1 == wf ]]; then _wf_words; else _wf_tool_words; fi
			printf "%s\n" "${COMPREPLY[@]}"' _ "$REPO_ROOT/completions/wf.bash" "$@"
	}
	run complete_words wf lo
	assert_output logs
	run complete_words wf logs ''
	assert_output t
	run complete_words wf logs t ''
	assert_output "body
back
flaky
sv"
	run complete_words wf-state logs t body --pass ''
	assert_output ""
	run complete_words wf-state logs t -
	assert_output "-f
--follow
--pass
--timeline
--json
--help"
}

@test "wf logs -f ends when the run's process is gone, and shows the step it was in as interrupted" {
	start_waiting_run --quiet
	wf logs -f f > follow.out &
	logpid=$!
	wait_until grep -q '^before$' follow.out
	kill -KILL "$runpid"
	wait "$logpid"
	run untimed < follow.out
	assert_output "== first (shell) pass 1: running
before
== first: interrupted"
	run sh -c 'wf logs f | sed -E "s/, started .*//"'
	assert_output "== first (shell) pass 1: interrupted
before"
}
