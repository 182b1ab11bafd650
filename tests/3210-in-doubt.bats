#!/usr/bin/env bats
# Every decision holds: a "no" never falls through, a step in doubt is
# run again only when it may be, and a command still running is never
# started a second time.  Tests synchronise on files the steps make and
# on journal events, never on the clock.
load helpers

teardown() {
	# Let any step still waiting finish, and stop what a test left behind.
	touch "$WORK/go"
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
	[ -z "${SOCK:-}" ] || tmux -L "$SOCK" kill-server 2>/dev/null || true
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

# ---- steps in doubt ----

# A workflow NAME whose step s1 appends to $WORK/count and, the first time
# only, touches $WORK/started and waits for $WORK/go (leaving a child of
# its own in its process group when BG is "bg").  IDEM is its idempotent.
waiting_flow() {
	local name=$1 idem=$2 bg=${3:-}
	local body='touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done'
	if [ "$bg" = bg ]; then
		body='(while [ ! -e "$WORK/go" ]; do sleep 0.01; done; echo late >> "$WORK/count") & touch "$WORK/started"; wait'
	fi
	cat > "$name.yaml" <<Y
name: $name
steps:
  - id: s1
    action: shell
    idempotent: $idem
    command: 'echo run >> "\$WORK/count"; if [ "\$(wc -l < "\$WORK/count")" = 1 ]; then $body; fi'
  - id: s2
    action: shell
    command: 'echo s2 >> "\$WORK/count"'
Y
}

# Start run NAME in the background, in a process group of its own as a
# terminal's job or a CI job is (its pid and group in $RUNNER), and wait
# until its step s1 is running and its process group is journaled.
start_waiting() {
	setsid wf run "$1.yaml" --quiet 2>"$WORK/run.err" &
	RUNNER=$!
	wait_until test -e "$WORK/started"
	wait_until has_event "$1" step-pgid s1
	PGID=$(journal "$1" | jq -r 'select(.event=="step-pgid") | .pgid' | tail -1)
}

# The wf-step child of the runner.
stepper() {
	pgrep -P "$RUNNER" -x wf-step
}

# kill -9 the wf-step child: the runner stops with 70, the step in doubt.
crash_stepper() {
	local rc=0
	kill -9 "$(stepper)"
	wait "$RUNNER" || rc=$?
	[ "$rc" = 70 ]
}

# Does process group $1 still have a live (not zombie) member?
group_alive() {
	ps -eo pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

@test "2a: --skip of an idempotent: false last step in doubt ends the run; it is not run again" {
	write last.yaml <<'Y'
name: last
steps:
  - id: only
    action: shell
    idempotent: false
    command: 'echo run >> "$WORK/count"; if [ "$(wc -l < "$WORK/count")" = 1 ]; then touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done; fi'
Y
	wf run last.yaml --quiet 2>/dev/null &
	RUNNER=$!
	wait_until test -e started
	kill -9 "$RUNNER"
	wait "$RUNNER" || true
	resume_settled last
	assert_failure 3
	assert_output --partial "step 'only' was in progress when the run stopped and is marked idempotent: false"
	run wf resume last --skip --quiet
	assert_success
	run cat count
	assert_output run
	run wf-state get last status
	assert_output completed
	run sh -c "wf-state history last | jq -r 'select(.event==\"resume\") | .skipped // empty'"
	assert_output only
}

@test "2b: wf-step dying mid-step is a crash of the step, never a quiet second copy" {
	waiting_flow crash false
	start_waiting crash
	crash_stepper
	run cat run.err
	assert_output --partial "'wf-step' died during step 's1', which is marked idempotent: false"
	run group_alive "$PGID"
	assert_failure
	run cat count
	assert_output run
	# The journal: one start, no end, and the stop keeps the step in doubt.
	run sh -c "wf-state history crash | jq -r 'select(.event | test(\"^(step-|run-end)\")) | .event' | tr '\n' ' '"
	assert_output "step-start step-pgid run-end "
	run sh -c "wf-state history crash | jq -r 'select(.event==\"run-end\") | .inflight.step + \" \" + .reason'"
	assert_output "s1 step crashed"
	resume_settled crash
	assert_failure 3
	run wf resume crash --answer rerun --quiet
	assert_success
	run cat count
	assert_output $'run\nrun\ns2'
}

@test "2b: an at-least-once step after a wf-step crash runs again on resume, with a notice" {
	waiting_flow again true
	start_waiting again
	crash_stepper
	resume_settled again
	assert_success
	assert_output --partial "run 'again': step 's1' was in flight when the run stopped; running it again (at least once"
	run cat count
	assert_output $'run\nrun\ns2'
	run sh -c "wf-state history again | jq -r 'select(.event==\"resume\") | .rerun'"
	assert_output s1
}

@test "2c: a step whose output file cannot be written is done, not run again" {
	write out.yaml <<'Y'
name: out
steps:
  - id: s1
    action: shell
    idempotent: false
    command: 'echo run >> "$WORK/count"; rm -rf "$WF_RUN_DIR/steps"; ln -s steps "$WF_RUN_DIR/steps"; echo hello'
  - id: s2
    action: shell
    command: 'echo s2 >> "$WORK/count"'
Y
	run wf run out.yaml --quiet
	assert_failure 74
	assert_output --partial "step 's1' ran, but cannot save its output under"
	assert_output --partial "Too many levels of symbolic links"
	run sh -c "wf-state history out | jq -c 'select(.event==\"step-end\") | [.step, .status, .output]'"
	assert_output '["s1","ok","hello"]'
	rm "$(rundir out)/steps"
	mkdir -m 700 "$(rundir out)/steps"
	run wf resume out --quiet
	assert_success
	run cat count
	assert_output $'run\ns2'
}

@test "2d: SIGINT, SIGTERM or SIGHUP during an idempotent: false step: resume asks, never re-runs" {
	for sig in INT TERM HUP; do
		rm -f count started
		waiting_flow "sig$sig" false
		start_waiting "sig$sig"
		kill -"$sig" "$RUNNER"
		rc=0
		wait "$RUNNER" || rc=$?
		case $sig in INT) [ "$rc" = 130 ] ;; TERM) [ "$rc" = 143 ] ;; HUP) [ "$rc" = 129 ] ;; esac
		run wf resume "sig$sig"
		assert_failure 3
		assert_output --partial "step 's1' was in progress when the run stopped and is marked idempotent: false"
		run cat count
		assert_output run
		run wf resume "sig$sig" --skip --quiet
		assert_success
		run cat count
		assert_output $'run\ns2'
	done
}

@test "3: after kill -9 of the runner and wf-step together, resume exits 75 while the step's group lives" {
	waiting_flow orphan true bg
	start_waiting orphan
	# What a CI cancel does: SIGKILL to the job's process group, all at once.
	kill -9 -- "-$RUNNER"
	wait "$RUNNER" || true
	run group_alive "$PGID"
	assert_success
	run wf resume orphan
	assert_failure 75
	assert_output "wf-run: run 'orphan': step 's1' is still running as process group $PGID; stop it with 'kill -TERM -- -$PGID' or 'wf resume orphan --kill-stale'"
	run wf resume orphan
	assert_failure 75
	run cat count
	assert_output run
	run wf resume orphan --kill-stale --quiet
	assert_success
	assert_output --partial "stopped process group $PGID, left running by step 's1'"
	run group_alive "$PGID"
	assert_failure
	touch go
	run cat count
	assert_output $'run\nrun\ns2'
}

# ---- every program a step starts dies with it ----

# Put a stand-in for PROG first on PATH (the programs are copied beside
# it, as wf-step finds its siblings): the first call with an argument
# CALL appends PROG to $WORK/count, saves its pid, touches
# $WORK/started, waits for $WORK/go, then appends "late"; every other
# call goes to the real program.
fake_child() {
	local prog=$1 call=$2 dir="$BATS_TEST_TMPDIR/bin" real
	mkdir -p "$dir"
	cp "$WF_BIN"/wf* "$dir"/
	real=$(command -v "$prog")
	[ "$prog" = git ] || { mv "$dir/$prog" "$dir/$prog.real"; real="$dir/$prog.real"; }
	cat > "$dir/$prog" <<EOF
#!/bin/sh
for a in "\$@"; do
	if [ "\$a" = "$call" ] && [ ! -e "$WORK/started" ]; then
		echo $prog >> "$WORK/count"
		echo \$\$ > "$WORK/child.pid"
		touch "$WORK/started"
		while [ ! -e "$WORK/go" ]; do sleep 0.01; done
		echo late >> "$WORK/count"
		exit 1
	fi
done
exec "$real" "\$@"
EOF
	chmod +x "$dir/$prog"
	export PATH="$dir:$PATH"
}

# Run NAME until the stand-in runs and its process group is journaled.
start_child() {
	setsid wf run "$WORK/$1.yaml" --quiet 2>"$WORK/run.err" &
	RUNNER=$!
	wait_until test -s "$WORK/child.pid" || { cat "$WORK/run.err" >&2; return 1; }
	CHILD=$(cat "$WORK/child.pid")
	wait_until eval "journal $1 | jq -e 'select(.event==\"step-pgid\" and .pgid==$CHILD)' >/dev/null"
}

@test "3: kill -9 of wf-step while its wf-model, wf-pr or git runs: the child dies with it" {
	write models.yaml <<'Y'
providers:
  fake: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: FAKE_API_KEY}
models:
  main: {provider: fake, model: main-test}
default: main
Y
	export WF_MODELS="$PWD/models.yaml" FAKE_API_KEY=sk-test-unused-0123456789
	write ai.yaml <<'Y'
name: ai
steps:
  - {id: s1, action: ai-prompt, prompt: "hello"}
Y
	write pr.yaml <<'Y'
name: pr
steps:
  - {id: s1, action: create-pr, title: "A title", body: "A body"}
Y
	write sy.yaml <<'Y'
name: sy
steps:
  - {id: s1, action: sync}
Y
	load fake-forge
	forge_repo
	git switch -q -c work
	echo change > change.txt
	git add change.txt
	git commit -q -m "a change"
	export GH_TOKEN=ghp_unused GITHUB_API_URL=http://127.0.0.1:9 WF_FORGE_REPO=acme/widgets
	for case in "wf-model --serve ai" "wf-pr -C pr" "git fetch sy"; do
		set -- $case
		rm -f "$WORK/count" "$WORK/started" "$WORK/child.pid" "$WORK/go"
		PATH=${PATH#"$BATS_TEST_TMPDIR/bin:"}
		fake_child "$1" "$2"
		start_child "$3"
		crash_stepper
		run group_alive "$CHILD"
		assert_failure
		touch "$WORK/go"
		run cat "$WORK/count"
		assert_output "$1"
		run sh -c "wf-state history $3 | jq -r 'select(.event==\"run-end\") | .reason'"
		assert_output "step crashed"
	done
}
