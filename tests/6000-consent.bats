#!/usr/bin/env bats
# Humans in the loop without a terminal: pending questions, --answer, consent.
load helpers

no_auto_approve() {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
}

question_flow() {
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
    command: 'echo "no path ($ship)"'
    on-complete: end
  - id: yes-path
    action: shell
    command: 'echo "yes path ($ship)"'
  - id: end
    action: shell
    command: 'echo end'
Y
}

@test "without a terminal a question pauses with exit 3 and shows in status" {
	question_flow
	run wf run q.yaml < /dev/null
	assert_failure 3
	assert_output --partial "waiting at step 'ask'"
	run sh -c "wf status q --json | jq -c '[.status, .pending.kind, .pending.step, .pending.message, .pending.type]'"
	assert_output '["waiting","question","ask","Ship it?","confirm"]'
	run wf status q
	assert_line "waiting:  Ship it? [yes/no]"
	assert_line --partial "answer with 'wf resume q --answer VALUE'"
}

@test "--answer continues to the right branch, and the journal says who answered" {
	question_flow
	run wf run q.yaml
	assert_failure 3
	run wf resume q --answer yes
	assert_success
	assert_line "yes path (true)"
	refute_line --partial "no path"
	run sh -c "wf-state history q | jq -c 'select(.event==\"answer\") | [.step, .value, .by]'"
	assert_output '["ask",true,"--answer"]'
	run sh -c "wf-state history q | jq -c 'select(.event==\"step-end\" and .step==\"ask\") | .answer.by'"
	assert_output '"--answer"'
	run wf run q.yaml --restart
	run wf resume q --answer no
	assert_success
	assert_line "no path (false)"
}

@test "a wrong answer is refused and changes nothing; so is an answer with nothing pending" {
	question_flow
	run wf run q.yaml
	assert_failure 3
	before=$(sha256sum "$(rundir q)/history.jsonl")
	run wf resume q --answer maybe
	assert_failure 65
	assert_output --partial "'maybe' is not an answer to a yes/no question: use yes or no; nothing was changed"
	[ "$before" = "$(sha256sum "$(rundir q)/history.jsonl")" ]
	run wf resume q --answer yes --quiet
	assert_success
	run wf run test-linear --quiet
	run wf resume test-linear --answer yes
	assert_success
	assert_output --partial "already completed"
}

@test "choice questions take one of the options, or its number" {
	write c.yaml <<'Y'
name: c
steps:
  - id: pick
    action: interactive
    kind: choice
    message: "Which environment?"
    options: [staging, production]
    variable: env
  - id: show
    action: shell
    command: 'echo "env=$env"'
Y
	run wf run c.yaml
	assert_failure 3
	run wf status c
	assert_line "  options: staging, production"
	run wf resume c --answer qa
	assert_failure 65
	assert_output --partial "'qa' is not one of the options: 'staging', 'production'"
	run wf resume c --answer 2
	assert_success
	assert_line "env=production"
}

@test "interactive: false takes the default, and fails without one" {
	write d.yaml <<'Y'
name: d
interactive: false
steps:
  - id: a
    action: interactive
    kind: text
    message: "Name?"
    default: anon
    variable: who
  - id: b
    action: shell
    command: 'echo "hi $who"'
  - id: c
    action: interactive
    message: "Really?"
Y
	run wf run d.yaml
	assert_failure 1
	assert_line "hi anon"
	assert_output --partial "interactive: false and this question has no default"
}

@test "a sensitive step without approval pauses with exit 3; --yes approves it" {
	no_auto_approve
	run wf run test-linear
	assert_failure 3
	assert_output --partial "step 's1' needs consent to run: echo 'Step 1'"
	refute_line "Step 1"
	run sh -c "wf status test-linear --json | jq -c '[.status, .pending.kind, .pending.command]'"
	assert_output "[\"waiting\",\"consent\",\"echo 'Step 1'\"]"
	run wf resume test-linear --yes
	assert_success
	assert_line "Step 1"
	assert_line "Step 2"
	run sh -c "wf-state history test-linear | jq -r 'select(.event==\"consent\") | .decision + \" \" + .by'"
	assert_output $'yes --yes\nyes --yes'
}

@test "a declined step stops with exit 77 and resumes once approved" {
	no_auto_approve
	run wf run test-linear
	assert_failure 3
	run wf resume test-linear --answer no
	assert_failure 77
	assert_output --partial "step 's1' was declined"
	run wf-state get test-linear status
	assert_output declined
	run wf resume test-linear --answer always
	assert_success
	assert_line "Step 2"
	run sh -c "wf-state history test-linear | jq -r 'select(.event==\"consent\") | .decision + \" \" + .by'"
	assert_output $'no --answer\nalways --answer'
}

@test "--yes grants consent only: it never answers a question" {
	no_auto_approve
	write y.yaml <<'Y'
name: y
steps:
  - id: a
    action: shell
    command: "echo before"
  - id: q
    action: interactive
    message: "Continue?"
Y
	run wf run y.yaml --yes
	assert_failure 3
	assert_line before
	assert_output --partial "waiting at step 'q'"
}

@test "auto-approve patterns match the command or action:NAME" {
	printf 'auto-approve:\n  - "echo *"\n' > "$XDG_CONFIG_HOME/wf/config.yaml"
	write p.yaml <<'Y'
name: p
steps:
  - id: a
    action: shell
    command: "echo fine"
  - id: b
    action: shell
    command: "touch nope"
Y
	run wf run p.yaml
	assert_failure 3
	assert_line fine
	assert_output --partial "step 'b' needs consent"
	[ ! -e nope ]
	mkdir -p .wf
	printf 'auto-approve:\n  - "touch *"\n' > .wf/config.yaml
	run wf trust .wf/config.yaml
	assert_success
	run wf resume p --quiet
	assert_success
	[ -e nope ]
	run sh -c "wf-state history p | jq -r 'select(.event==\"consent\") | .by' | sort -u"
	assert_output "auto-approve"
}

@test "a broken config file is a configuration error with its position" {
	printf 'auto-aprove: [x]\n' > "$XDG_CONFIG_HOME/wf/config.yaml"
	run wf run test-linear
	assert_failure 78
	assert_output --partial "config.yaml:1:1: unknown key 'auto-aprove'"
}

@test "wf trust approves a workflow file as it is; any edit asks again" {
	no_auto_approve
	cp "$EXAMPLES/test-linear.yaml" t.yaml
	run wf trust t.yaml
	assert_success
	assert_output --partial "any edit to the file asks again"
	run wf run t.yaml
	assert_success
	assert_line "Step 2"
	echo "# edited" >> t.yaml
	run wf run t.yaml
	assert_failure 3
	assert_output --partial "needs consent"
}

@test "trust covers the programs in actions/ a workflow runs: replacing one (as wf import --force may) asks again" {
	no_auto_approve
	mkdir -p flows/actions
	write flows/w.yaml <<'Y'
name: w
steps:
  - id: a
    action: stamp
Y
	printf '#!/bin/sh\ncat >/dev/null\necho one >> stamped\necho %s\n' "'{\"status\":\"ok\"}'" > flows/actions/wf-action-stamp
	chmod +x flows/actions/wf-action-stamp
	run wf run flows/w.yaml < /dev/null
	assert_failure 3
	run wf trust flows/w.yaml
	assert_success
	assert_output --partial "any edit to the file or to a program in actions/ it runs asks again"
	run wf run flows/w.yaml --restart < /dev/null
	assert_success
	[ "$(cat stamped)" = one ]
	# The workflow file is unchanged; the program beside it is not.
	printf '#!/bin/sh\ncat >/dev/null\necho two >> stamped\necho %s\n' "'{\"status\":\"ok\"}'" > flows/actions/wf-action-stamp
	run wf run flows/w.yaml --restart < /dev/null
	assert_failure 3
	assert_output --partial "needs consent"
	[ "$(cat stamped)" = one ]
	# A workflow with no program beside it keeps the file's own hash, so older trust still holds.
	cp "$EXAMPLES/test-linear.yaml" t.yaml
	run wf trust t.yaml
	assert_output --partial "any edit to the file asks again"
	grep -q "^$(wf-parse t.yaml | jq -r .hash) " "$XDG_CONFIG_HOME/wf/trusted"
}

@test "with neither HOME nor XDG_CONFIG_HOME set, no configuration is read from the working directory and trust refuses with 78" {
	no_auto_approve
	mkdir -p .config/wf
	printf 'auto-approve:\n  - "*"\n' > .config/wf/config.yaml
	write w.yaml <<'Y'
name: w
steps:
  - id: a
    action: shell
    command: 'touch ran'
Y
	run env -u HOME -u XDG_CONFIG_HOME wf run w.yaml < /dev/null
	assert_failure 3
	assert_output --partial "step 'a' needs consent"
	[ ! -e ran ]
	run env -u HOME -u XDG_CONFIG_HOME wf trust w.yaml
	assert_failure 78
	assert_output "wf-state: no configuration directory to record trust in: set HOME or XDG_CONFIG_HOME"
	[ ! -e .config/wf/trusted ]
}

@test "a project's .wf/config.yaml approves nothing until trusted, and any edit takes the trust away" {
	no_auto_approve
	mkdir -p .wf
	printf 'auto-approve:\n  - "*"\n' > .wf/config.yaml
	write w.yaml <<'Y'
name: w
steps:
  - id: a
    action: shell
    command: 'touch pwned'
Y
	run wf run w.yaml < /dev/null
	assert_failure 3
	assert_line "wf-run: .wf/config.yaml: its auto-approve patterns are ignored: a project's file counts only once trusted (read it, then 'wf trust .wf/config.yaml'; any edit asks again)"
	assert_output --partial "step 'a' needs consent"
	[ ! -e pwned ]
	run wf trust .wf/config.yaml
	assert_success
	assert_output "wf-state: trusted the auto-approve patterns of '.wf/config.yaml' as they are now; any edit to the file asks again"
	run wf resume w < /dev/null
	assert_success
	refute_output --partial "ignored"
	[ -e pwned ]
	run sh -c "wf-state history w | jq -r 'select(.event==\"consent\") | .by'"
	assert_output auto-approve
	rm pwned
	printf 'auto-approve:\n  - "*"\n  - "true"\n' > .wf/config.yaml
	run wf run w.yaml < /dev/null
	assert_failure 3
	assert_output --partial "its auto-approve patterns are ignored"
	[ ! -e pwned ]
	run wf trust missing/.wf/config.yaml
	assert_failure 66
	assert_output --partial "missing/.wf/config.yaml: cannot read"
}
