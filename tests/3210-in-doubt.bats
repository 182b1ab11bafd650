#!/usr/bin/env bats
# Every decision holds: a "no" never falls through, a step in doubt is
# run again only when it may be, and a command still running is never
# started a second time.  Tests synchronise on files the steps make and
# on journal events, never on the clock.
load helpers

# Wait (up to 30 s) until the shell test "$@" holds.
wait_until() {
	for _ in $(seq 1 600); do
		"$@" && return 0
		sleep 0.05
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# The journal of run $1, one compact event per line.
journal() {
	wf-state history "$1"
}

# Does run $1's journal have an event $2 (for step $3, when given)?
has_event() {
	journal "$1" 2>/dev/null | jq -e --arg e "$2" --arg s "${3:-}" \
		'select(.event == $e and ($s == "" or .step == $s))' >/dev/null
}

# ---- a "no" never falls through ----

release_flow() {
	write rel.yaml <<'Y'
name: rel
steps:
  - id: ask
    action: interactive
    message: "Tag and push the release?"
    on-rejected: cancel
  - id: tag
    action: shell
    command: 'echo tagged >> "$WORK/effects"'
    on-complete: done
  - id: cancel
    action: shell
    command: 'echo cancelled >> "$WORK/effects"'
  - id: done
    action: shell
    command: 'true'
Y
	write bare.yaml <<'Y'
name: bare
steps:
  - id: ask
    action: interactive
    message: "Tag and push the release?"
  - id: tag
    action: shell
    command: 'echo tagged >> "$WORK/effects"'
Y
}

@test "--answer no follows on-rejected, with no check" {
	release_flow
	run wf run rel.yaml < /dev/null
	assert_failure 3
	run wf resume rel --answer no
	assert_success
	run cat effects
	assert_output cancelled
	run sh -c "wf-state history rel | jq -c 'select(.event==\"step-end\" and .step==\"ask\") | .jump'"
	assert_output '{"verdict":false,"to":"cancel"}'
}

@test "--answer no with nothing saying where a no goes stops with 77, and resumes" {
	release_flow
	run wf run bare.yaml < /dev/null
	assert_failure 3
	run wf resume bare --answer no
	assert_failure 77
	assert_output --partial "step 'ask' was answered no, and no 'on-rejected' says where a no goes"
	[ ! -e effects ]
	run wf-state get bare status
	assert_output declined
	run sh -c "wf status bare --json | jq -c '[.pending.kind, .pending.step]'"
	assert_output '["question","ask"]'
	run wf resume bare --answer yes
	assert_success
	run cat effects
	assert_output tagged
}

@test "a confirmation with a check and no target for a no stops with 77" {
	write chk.yaml <<'Y'
name: chk
steps:
  - id: ask
    action: interactive
    message: "Go?"
    check: approved
    on-approved: go
  - id: after
    action: shell
    command: 'echo fell-through >> "$WORK/effects"'
  - id: go
    action: shell
    command: 'echo go >> "$WORK/effects"'
Y
	run wf run chk.yaml < /dev/null
	assert_failure 3
	run wf resume chk --answer no
	assert_failure 77
	[ ! -e effects ]
}

# A terminal in tmux, for the questions asked there.
term_run() {
	tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 160 -y 45 \
		"cd '$WORK' && env PATH='$PATH' HOME='$HOME' WF_STATE_DIR='$WF_STATE_DIR' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' NO_COLOR=1 $1; echo \"EXIT=\$?\" > '$WORK/rc'; sleep 60"
}

screen_has() {
	tmux -L "$SOCK" capture-pane -p -t t | grep -qF -- "$1"
}

term_exit() {
	wait_until test -s "$WORK/rc"
	sed 's/EXIT=//' "$WORK/rc"
}

@test "at a terminal, a no follows on-rejected, or stops with 77" {
	command -v tmux >/dev/null || skip "tmux not installed"
	SOCK="wf-$$-$BATS_TEST_NUMBER"
	release_flow
	term_run "wf run rel.yaml"
	wait_until screen_has "Tag and push the release? [y/n]"
	tmux -L "$SOCK" send-keys -t t n Enter
	run term_exit
	assert_output 0
	run cat effects
	assert_output cancelled
	tmux -L "$SOCK" kill-server
	rm -f rc effects
	SOCK="$SOCK-b"
	term_run "wf run bare.yaml"
	wait_until screen_has "Tag and push the release? [y/n]"
	tmux -L "$SOCK" send-keys -t t n Enter
	run term_exit
	assert_output 77
	tmux -L "$SOCK" kill-server
	[ ! -e effects ]
	run wf-state get bare status
	assert_output declined
}

@test "wf validate refuses jump keys that can never be taken, with line:col" {
	write dead.yaml <<'Y'
name: dead
steps:
  - id: build
    action: shell
    command: make
    on-rejected: fix
    on-true: fix
  - id: pick
    action: interactive
    kind: choice
    options: [a, b]
    message: which?
    on-approved: fix
  - id: gate
    action: conditional
    condition: "true"
    on-approved: fix
  - id: fix
    action: shell
    command: "true"
    check: "true"
    on-false: build
    on-rejected: build
Y
	run wf validate dead.yaml
	assert_failure 65
	assert_output "wf-parse: dead.yaml:6:5: 'on-rejected' can never be taken: step 'build' has no 'check' and action 'shell' gives no verdict (add a 'check', or remove 'on-rejected')
wf-parse: dead.yaml:7:5: 'on-true' can never be taken: step 'build' has no 'check' (add one, or remove 'on-true')
wf-parse: dead.yaml:13:5: 'on-approved' can never be taken: step 'pick' has no 'check' and action 'interactive' gives no verdict (add a 'check', or remove 'on-approved')
wf-parse: dead.yaml:17:5: 'on-approved' can never be taken: a conditional goes to 'on-true' or 'on-false'
wf-parse: dead.yaml:23:5: 'on-rejected' can never be taken: 'on-false' takes precedence (keep one)"
}
