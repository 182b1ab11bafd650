#!/usr/bin/env bats
# Humans in the loop at a real terminal: tmux runs wf, send-keys answers.
load helpers
load terminal

setup() {
	wf_setup
	command -v tmux >/dev/null || skip "tmux not installed"
	SOCK="wf-$$-$BATS_TEST_NUMBER"
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	tmux -L "${SOCK%-again}" kill-server 2>/dev/null || true
}

# A second terminal for the next command, the first one closed.
term_again() {
	rm -f "$WORK/rc"
	tmux -L "$SOCK" kill-server
	SOCK="$SOCK-again"
}

# Resume q in a new terminal and answer yes: it must ask again and finish.
resume_q_yes() {
	term_again
	term_run "wf resume q"
	wait_for "Ship it? [y/n]"
	keys y Enter
	run exit_code
	assert_output 0
}

ask_workflow() {
	write q.yaml <<'Y'
name: q
steps:
  - id: ask
    action: interactive
    message: "Ship it?"
    variable: ship
    check: approved
    on-approved: yes-path
    on-rejected: no-path
  - id: no-path
    action: shell
    command: 'echo "NO-PATH"'
    on-complete: end
  - id: yes-path
    action: shell
    command: 'echo "YES-PATH"'
  - id: end
    action: shell
    command: 'true'
Y
}

@test "a confirm answered yes at the terminal, with stdout piped" {
	ask_workflow
	term_run "wf run q.yaml | cat"
	wait_for "Ship it? [y/n]"
	keys y Enter
	run exit_code
	assert_output 0
	wait_for "YES-PATH"
	run sh -c "wf-state history q | jq -r 'select(.event==\"step-end\" and .step==\"ask\") | .answer.by'"
	assert_output terminal
}

@test "a confirm answered no takes the other branch" {
	ask_workflow
	term_run "wf run q.yaml"
	wait_for "Ship it? [y/n]"
	keys n Enter
	run exit_code
	assert_output 0
	wait_for "NO-PATH"
}

@test "an invalid answer is asked again" {
	ask_workflow
	term_run "wf run q.yaml"
	wait_for "Ship it? [y/n]"
	keys maybe Enter
	wait_for "'maybe' is not an answer to a yes/no question"
	keys yes Enter
	run exit_code
	assert_output 0
	wait_for "YES-PATH"
}

@test "p pauses the run with exit 3; resume asks again" {
	ask_workflow
	term_run "wf run q.yaml"
	wait_for "Ship it? [y/n]"
	keys p Enter
	run exit_code
	assert_output 3
	run wf-state get q status
	assert_output waiting
	resume_q_yes
}

@test "a choice and a text answer" {
	write c.yaml <<'Y'
name: c
steps:
  - id: pick
    action: interactive
    kind: choice
    message: "Which one?"
    options: [red, green, blue]
    variable: color
  - id: name
    action: interactive
    kind: text
    message: "Your name?"
    variable: who
  - id: show
    action: shell
    command: 'echo "GOT $color $who"'
Y
	term_run "wf run c.yaml"
	wait_for "3) blue"
	keys 2 Enter
	wait_for "Your name?"
	keys "Ada Lovelace" Enter
	run exit_code
	assert_output 0
	wait_for "GOT green Ada Lovelace"
}

@test "a timeout takes the default" {
	write t.yaml <<'Y'
name: t
steps:
  - id: ask
    action: interactive
    message: "Proceed?"
    default: "yes"
    timeout: 1
    variable: go
  - id: show
    action: shell
    command: 'echo "GO=$go"'
Y
	term_run "wf run t.yaml"
	wait_for "Proceed? [y/n] (default: yes)"
	run exit_code
	assert_output 0
	wait_for "GO=true"
	run sh -c "wf-state history t | jq -r 'select(.event==\"step-end\" and .step==\"ask\") | .answer.by'"
	assert_output timeout
}

@test "a sensitive shell step approved, declined, and approved always" {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
	term_run "wf run test-linear"
	wait_for "echo 'Step 1'"
	wait_for "run it? [y]es, [n]o, [a]lways for this run, [p]ause"
	keys y Enter
	wait_for "echo 'Step 2'"
	keys n Enter
	run exit_code
	assert_output 77
	run sh -c "wf-state history test-linear | jq -r 'select(.event==\"consent\") | .decision + \" \" + .by'"
	assert_output $'yes terminal\nno terminal'
	term_again
	write three.yaml <<'Y'
name: three
steps:
  - {id: a, action: shell, command: "echo A1"}
  - {id: b, action: shell, command: "echo B2"}
  - {id: c, action: shell, command: "echo C3"}
Y
	term_run "wf run three.yaml"
	wait_for "run it?"
	keys a Enter
	run exit_code
	assert_output 0
	wait_for "C3"
	run sh -c "wf-state history three | jq -r 'select(.event==\"consent\") | .decision'"
	assert_output always
}

@test "at a terminal, auto-approve patterns and --yes do not ask" {
	printf 'auto-approve:\n  - "echo *"\n' > "$XDG_CONFIG_HOME/wf/config.yaml"
	term_run "wf run test-linear"
	run exit_code
	assert_output 0
	run screen
	refute_output --partial "run it?"
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
	term_again
	term_run "wf run test-linear --yes"
	run exit_code
	assert_output 0
	run screen
	refute_output --partial "run it?"
	assert_output --partial "Step 2"
}

@test "the consent question at a terminal never shows a secret that a variable carries into the command" {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
	write c.yaml <<'Y'
name: c
steps:
  - id: push
    action: shell
    command: 'echo "Authorization: ${auth}"'
Y
	term_run "env DEPLOY_TOKEN=tok-9f8e7d6c5b4a3921 wf run c.yaml --var auth=tok-9f8e7d6c5b4a3921"
	wait_for "run it?"
	run screen
	assert_output --partial 'echo "Authorization: ***"'
	refute_output --partial "tok-9f8e7d6c5b4a3921"
	keys n Enter
	[ "$(exit_code)" = 77 ]
}

@test "Ctrl-C at the consent question stops the run at once with 130, nothing run, and a resume asks again" {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
	write c.yaml <<'Y'
name: c
steps:
  - {id: a, action: shell, command: "touch ran-a"}
Y
	term_run "wf run c.yaml"
	wait_for "run it? [y]es, [n]o, [a]lways for this run, [p]ause"
	keys C-c
	run exit_code
	assert_output 130
	[ ! -e ran-a ]
	run sh -c "wf status c --json | jq -r .status"
	assert_output paused
	term_again
	term_run "wf resume c"
	wait_for "run it?"
	keys y Enter
	run exit_code
	assert_output 0
	[ -e ran-a ]
}

@test "Ctrl-C at an interactive question stops the run with 130, and a resume asks again" {
	ask_workflow
	term_run "wf run q.yaml"
	wait_for "Ship it? [y/n]"
	keys C-c
	run exit_code
	assert_output 130
	run sh -c "wf status q --json | jq -r .status"
	assert_output paused
	resume_q_yes
	wait_for "YES-PATH"
}
