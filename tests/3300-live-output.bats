#!/usr/bin/env bats
# What a person sees while a run goes: the elapsed time of a silent step
# on a terminal (and nothing of it in a pipe), AI replies on standard
# output, the model that answered, step times without a person's wait,
# the question and the exact resume command at a pause, and the
# end-of-run line with each model's calls, tokens and cost.
load helpers
load terminal
load fake-provider
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	SOCK="wf-live-$$-$BATS_TEST_NUMBER"
	export WF_RETRY_BASE_MS=5 WF_RETRY_MAX=1
}

teardown() {
	command -v tmux >/dev/null && tmux -L "$SOCK" kill-server 2>/dev/null
	fake_provider_stop_all
}

need_tmux() {
	command -v tmux >/dev/null || skip "tmux not installed"
}


# Wait until a line of the screen matches the extended regexp $1.
wait_for_re() {
	wait_until sh -c "tmux -L '$SOCK' capture-pane -p -t t | grep -qE -- \"\$1\"" _ "$1" || { screen >&2; return 1; }
}

# Milliseconds on the test's own clock.
now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# True once at least $2 ms have passed since $1 (a now_ms reading).
passed() {
	[ $(( $(now_ms) - $1 )) -ge "$2" ]
}

# A workflow whose first step is silent until the file $WORK/go exists.
silent_workflow() {
	write slow.yaml <<'Y'
name: slow
steps:
  - id: build
    action: shell
    command: 'while [ ! -e go ]; do sleep 0.05; done'
  - id: after
    action: shell
    command: 'echo AFTER'
Y
}

# A run's directory, wherever the state keeps it.
run_dir() {
	wf-state status "$1" --json | jq -r .dir
}

@test "a silent step shows its elapsed time on a terminal, one line rewritten in place, replaced by its result" {
	need_tmux
	silent_workflow
	term_run "wf run slow.yaml"
	wait_for_re '^\[1/2\] build shell ".*" \.\.\. [1-9][0-9]*s$'
	touch go
	run exit_code
	assert_output 0
	wait_for_re 'slow: completed 2 steps'
	# The line was rewritten, not repeated: one line for the step, its result on it.
	run sh -c "tmux -L '$SOCK' capture-pane -p -t t | grep -c '^\[1/2\] build'"
	assert_output 1
	run sh -c "tmux -L '$SOCK' capture-pane -p -t t | grep '^\[1/2\] build'"
	assert_output --regexp '^\[1/2\] build shell ".*" \.\.\. ok [0-9]+\.[0-9]s$'
}

@test "a step that printed on the terminal is not overwritten by the elapsed time" {
	need_tmux
	write p.yaml <<'Y'
name: p
steps:
  - id: talk
    action: shell
    command: 'echo PRINTED-FIRST; while [ ! -e go ]; do sleep 0.05; done'
Y
	term_run "wf run p.yaml"
	wait_until sh -c "tmux -L '$SOCK' capture-pane -p -t t | grep -q PRINTED-FIRST"
	seen=$(now_ms)
	# Two seconds of the test's own clock: time enough for the line to be redrawn twice.
	wait_until passed "$seen" 2000
	touch go
	run exit_code
	assert_output 0
	run screen
	assert_line --partial "PRINTED-FIRST"
	refute_output --regexp '\.\.\. [0-9]+s'
	assert_line --regexp '^\[1/1\] talk ok [0-9]+\.[0-9]s$'
}

@test "in a pipe the elapsed time is never drawn: no carriage return, no escape code" {
	silent_workflow
	wf run slow.yaml > out 2> err &
	pid=$!
	wait_until sh -c "wf-state history slow 2>/dev/null | jq -s -e 'any(.[]; .event==\"step-start\" and .step==\"build\")' >/dev/null"
	started=$(now_ms)
	# Longer than the line's first redraw on a terminal.
	wait_until passed "$started" 1500
	touch go
	wait "$pid"
	run cat out
	assert_output AFTER
	run grep -c $'\r' err
	assert_output 0
	run grep -c $'\033' err
	assert_output 0
	run cat err
	assert_line --regexp '^\[1/2\] build ok [0-9]+\.[0-9]s$'
}

ai_setup() {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply from {model}: {prompt}", "usage": {"input": 100, "output": 50}}}
J
	fake_models
	write ai.yaml <<'Y'
name: ai
steps:
  - id: ask
    action: ai-prompt
    prompt: "say hi"
  - id: shell
    action: shell
    command: 'echo SHELL-OUT'
Y
}

@test "an AI reply goes to standard output in a pipe, as a shell step's output does" {
	ai_setup
	run --separate-stderr sh -c 'wf run ai.yaml | cat'
	assert_success
	assert_output $'reply from gpt-test: say hi\nSHELL-OUT'
	# Not on stderr too: one copy, where the step's output goes.
	[[ $stderr != *"reply from gpt-test"* ]]
	run sh -c "cat \"\$(wf-state status ai --json | jq -r .dir)\"/steps/*-ask.answer"
	assert_output "reply from gpt-test: say hi"
}

@test "with --json standard output holds journal events only, and with --quiet no reply at all" {
	ai_setup
	run --separate-stderr wf run ai.yaml --json
	assert_success
	run jq -e -s 'all(has("event"))' <<<"$output"
	assert_success
	run --separate-stderr wf run ai.yaml --quiet --restart
	assert_success
	assert_output ""
	assert_equal "$stderr" ""
}

@test "the progress line names the model that answered, a fallback when the first one failed" {
	fake_provider_start - <<'J'
[{"match": {"model": "gpt-test"}, "error": "overloaded", "repeat": -1},
 {"match": {"model": "claude-test"}, "text": "claude here", "repeat": -1}]
J
	fake_models
	sed -i 's/^  gpt: {provider: fake-openai, model: gpt-test,/  gpt: {provider: fake-openai, model: gpt-test, fallback: claude,/' "$WF_MODELS"
	write f.yaml <<'Y'
name: f
steps:
  - id: ask
    action: ai-prompt
    prompt: "who?"
Y
	run --separate-stderr sh -c 'wf run f.yaml | cat'
	assert_success
	assert_output "claude here"
	[[ $stderr =~ \[1/1\]\ ask\ ok\ [0-9]+\.[0-9]s,\ model\ claude ]]
	[[ $stderr != *"model gpt"* ]]
}

@test "a question answered at the terminal after a wait: the step's time leaves the wait out" {
	need_tmux
	write q.yaml <<'Y'
name: q
steps:
  - id: ask
    action: interactive
    message: "Ship it?"
Y
	term_run "wf run q.yaml"
	wait_until sh -c "tmux -L '$SOCK' capture-pane -p -t t | grep -qF 'Ship it? [y/n]'"
	seen=$(now_ms)
	wait_until passed "$seen" 2000
	keys y Enter
	run exit_code
	assert_output 0
	run sh -c "wf-state history q | jq -r 'select(.event==\"step-end\" and .step==\"ask\") | .duration_ms'"
	assert_success
	[ "$output" -ge 0 ] && [ "$output" -lt 1500 ]
	run screen
	assert_line --regexp '^\[1/1\] ask ok [01]\.[0-9]s$'
}

# One sensitive step (echo REMOVED) and no auto-approve: consent is asked.
consent_workflow() {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
	write c.yaml <<'Y'
name: c
steps:
  - id: rm
    action: shell
    command: 'echo REMOVED'
Y
}

@test "consent given at the terminal after a wait: the step's time leaves the wait out" {
	need_tmux
	consent_workflow
	term_run "wf run c.yaml"
	wait_until sh -c "tmux -L '$SOCK' capture-pane -p -t t | grep -qF 'run it? [y]es'"
	seen=$(now_ms)
	wait_until passed "$seen" 2000
	keys y Enter
	run exit_code
	assert_output 0
	run sh -c "wf-state history c | jq -r 'select(.event==\"step-end\" and .step==\"rm\") | .duration_ms'"
	assert_success
	[ "$output" -ge 0 ] && [ "$output" -lt 1500 ]
}

@test "a question with nobody at a terminal: the run prints it and the exact commands, quoted for the shell" {
	write q.yaml <<'Y'
name: q
steps:
  - id: ok
    action: interactive
    message: "Ship it?"
  - id: pick
    action: interactive
    kind: choice
    message: "Where to?"
    options: ["staging", "prod eu", "it's $HOME"]
    variable: where
  - id: show
    action: shell
    command: 'printf "WHERE=%s\n" "$where"'
Y
	run --separate-stderr wf run q.yaml </dev/null
	assert_failure 3
	assert_equal "$stderr" "$(printf '%s\n' '[1/3] ok interactive "Ship it?" ...' \
		"[1/3] ok waiting 0.0s" \
		"q: waiting at step 'ok', which asks: Ship it?" \
		"  answer with: wf resume q --answer yes" \
		"           or: wf resume q --answer no")"
	run --separate-stderr wf resume q --answer yes </dev/null
	assert_failure 3
	[[ $stderr == *"q: waiting at step 'pick', which asks: Where to?"* ]]
	[[ $stderr == *"  answer with: wf resume q --answer staging"* ]]
	[[ $stderr == *"           or: wf resume q --answer 'prod eu'"* ]]
	# The printed command, run by a shell as printed, gives the option exactly.
	cmd=$(grep -F "it'" <<<"$stderr" | sed 's/^ *or: //')
	assert_equal "$cmd" "wf resume q --answer 'it'\\''s \$HOME'"
	run --separate-stderr sh -c "$cmd </dev/null"
	assert_success
	assert_output 'WHERE=it'"'"'s $HOME'
}

@test "consent with nobody at a terminal: the run prints the step's command and how to answer" {
	consent_workflow
	run --separate-stderr wf run c.yaml </dev/null
	assert_failure 3
	[[ $stderr == *"step 'rm' needs consent to run: echo REMOVED"* ]]
	[[ $stderr == *"  answer with: wf resume c --answer yes"* ]]
	[[ $stderr == *"           or: wf resume c --answer no"* ]]
	[[ $stderr == *"           or: wf resume c --answer always"* ]]
	[[ $stderr == *"  or trust the workflow file with: wf trust $WORK/c.yaml"* ]]
	cmd=$(grep -F "answer with:" <<<"$stderr" | sed 's/^ *answer with: //')
	run --separate-stderr sh -c "$cmd </dev/null"
	assert_success
	assert_output REMOVED
}

@test "wf pause: the run stops before the next step and prints the command that goes on" {
	write pz.yaml <<'Y'
name: pz
steps:
  - id: a
    action: shell
    command: 'while [ ! -e go ]; do sleep 0.05; done'
  - id: b
    action: shell
    command: 'echo B-RAN'
Y
	wf run pz.yaml > out 2> err &
	pid=$!
	wait_until sh -c "wf-state history pz 2>/dev/null | jq -s -e 'any(.[]; .event==\"step-start\" and .step==\"a\")' >/dev/null"
	wf pause pz
	touch go
	rc=0
	wait "$pid" || rc=$?
	assert_equal "$rc" 3
	run cat err
	assert_line "pz: paused before step 'b'; continue with: wf resume pz"
	run wf resume pz
	assert_success
	assert_output --partial B-RAN
}

summary_workflow() {
	write s.yaml <<'Y'
name: s
steps:
  - id: one
    action: ai-prompt
    prompt: "first"
  - id: two
    action: ai-prompt
    prompt: "second"
Y
}

@test "the end-of-run line: steps, time, and one model's calls, tokens and cost on one line" {
	ai_setup
	summary_workflow
	run --separate-stderr wf run s.yaml
	assert_success
	# gpt costs $2 and $8 per million input and output tokens: 200 in, 100 out.
	last=$(tail -n 1 <<<"$stderr")
	[[ $last =~ ^s:\ completed\ 2\ steps\ in\ [0-9]+\.[0-9]{2}s\;\ gpt:\ 2\ calls,\ 200\ input\ /\ 100\ output\ tokens,\ \$0\.0012$ ]]
}

@test "the end-of-run line of a resumed run counts this invocation's steps and the run's in all" {
	write r.yaml <<'Y'
name: r
steps:
  - id: a
    action: shell
    command: "true"
  - id: b
    action: shell
    command: "test -e go"
  - id: c
    action: shell
    command: "true"
Y
	run --separate-stderr wf run r.yaml --yes
	assert_failure 1
	assert_equal "$(tail -n 1 <<<"$stderr")" "r: failed at step 'b'; fix the cause, then 'wf resume r'"
	touch go
	run --separate-stderr wf resume r --yes
	assert_success
	[[ $(tail -n 1 <<<"$stderr") =~ ^r:\ completed\ 2\ steps\ in\ [0-9]+\.[0-9]{2}s\ \(4\ in\ all\)$ ]]
}

@test "the end-of-run line: a block with a line per model, cost unknown where no price is known" {
	ai_setup
	summary_workflow
	# The second prompt to llama, which has no price.
	echo "    model: llama" >> s.yaml
	run --separate-stderr wf run s.yaml
	assert_success
	run tail -n 3 <<<"$stderr"
	assert_line --index 0 --regexp '^s: completed 2 steps in [0-9]+\.[0-9]{2}s$'
	assert_line --index 1 '  gpt: 1 call, 100 input / 50 output tokens, $0.0006'
	assert_line --index 2 '  llama: 1 call, 100 input / 50 output tokens, cost unknown'
}

@test "the end-of-run line without model calls says steps and time only; --quiet prints none" {
	write plain.yaml <<'Y'
name: plain
steps:
  - id: a
    action: shell
    command: 'echo A'
Y
	run --separate-stderr wf run plain.yaml
	assert_success
	[[ $(tail -n 1 <<<"$stderr") =~ ^plain:\ completed\ 1\ step\ in\ [0-9]+\.[0-9]{2}s$ ]]
	ai_setup
	summary_workflow
	run --separate-stderr wf run s.yaml --quiet
	assert_success
	assert_equal "$stderr" ""
}

@test "a run that fails after model calls says what they cost so far; one without model calls does not" {
	ai_setup
	summary_workflow
	cat >> s.yaml <<'Y'
  - id: three
    action: shell
    command: 'exit 5'
Y
	run --separate-stderr wf run s.yaml
	assert_failure 1
	run grep -E '^s: failed 3 steps in [0-9]+\.[0-9]{2}s; gpt: 2 calls, 200 input / 100 output tokens, \$0\.0012$' <<<"$stderr"
	assert_success
	write f.yaml <<'Y'
name: f
steps:
  - id: a
    action: shell
    command: 'exit 5'
Y
	run --separate-stderr wf run f.yaml
	assert_failure 1
	refute_output --partial "f: failed 1 step"
	run grep -c ' step.* in [0-9.]*s' <<<"$stderr"
	assert_output 0
}
