#!/usr/bin/env bats
# kill -9 of the programs a step starts (wf-model, wf-pr, git) at fixed
# points of their work: the step fails with the child's status, the state
# stays sound, nothing the step started lives on, no key reaches the state
# directory, and a resume does the work once, never twice.  The kills are
# synchronised on the fakes' logs, files and journal events, never on the
# clock; the pid killed comes from this test's own journal.
load helpers
load fake-forge
load fake-provider

teardown() {
	touch "$BATS_TEST_TMPDIR/release"
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
	fake_forge_stop
	fake_provider_stop_all
}


# The live leader of a process group journaled by run $1 (step-pgid)
# whose command line holds $2 (and $3, when given) and whose working
# directory is in this test's: a program this test's step started, never
# another test's.
journaled_child() {
	local pg
	for pg in $(wf-state history "$1" 2>/dev/null | jq -r 'select(.event == "step-pgid") | .pgid'); do
		case $(readlink "/proc/$pg/cwd" 2>/dev/null) in "$BATS_TEST_TMPDIR"/*) ;; *) continue ;; esac
		tr '\0' ' ' < "/proc/$pg/cmdline" 2>/dev/null | grep -qF -- "$2" || continue
		[ -z "${3:-}" ] || tr '\0' ' ' < "/proc/$pg/cmdline" | grep -qF -- "$3" || continue
		echo "$pg"
		return 0
	done
	return 1
}

# kill -9 the child found as journaled_child "$@", and wait for the run.
# RC gets the runner's exit status.
kill_child() {
	local pid
	pid=$(journaled_child "$@") || return 1
	kill -9 "$pid"
	RC=0
	wait "$RUNNER" || RC=$?
	RUNNER=
}

# Start `wf ARGS...` (run or resume) in its own process group, as a CI job is;
# its standard error, where wf-model streams the reply, goes to $WORK/run.err.
start_run() {
	WF_STREAM_FD=2 setsid wf "$@" 2>"$WORK/run.err" >"$WORK/run.out" &
	RUNNER=$!
}

# Does any process of run $1's journaled groups still live?
groups_alive() {
	local pg
	for pg in $(wf-state history "$1" | jq -r 'select(.event == "step-pgid") | .pgid'); do
		ps -eo pgid=,stat= | awk -v g="$pg" '$1 == g && $2 !~ /^Z/ { f = 1 } END { exit !f }' && return 0
	done
	return 1
}

# The checks after every kill: the state is sound, nothing of the step
# lives on, and no secret ($1, $2...) is anywhere under the state directory.
after_kill() {
	local name=$1 s
	shift
	run wf-state fsck "$name"
	assert_success
	run groups_alive "$name"
	assert_failure
	for s in "$@"; do
		run grep -rlF -- "$s" "$WF_STATE_DIR"
		assert_failure
	done
}

# Resume run $1 (with ARGS) once the killed step's wf-step has let go of the lock.
resume() {
	local name=$1 i
	shift
	for i in $(seq 1 600); do
		run wf resume "$name" "$@"
		[ "$status" = 75 ] && grep -q "is busy" <<<"$output" || return 0
		sleep 0.05
	done
}

# Step $2 of run $1 failed, saying $3, with exit code $4 (default 137,
# 128 + SIGKILL), and the run with 1.
assert_killed() {
	local name=$1 step=$2 msg=$3 code=${4:-137}
	[ "$RC" = 1 ] || { echo "run exited $RC" >&2; cat "$WORK/run.err" >&2; return 1; }
	run cat "$WORK/run.err"
	assert_output --partial "$step: $msg"
	assert_output --partial "$name: failed at step '$step'; fix the cause, then 'wf resume $name'"
	run sh -c "wf-state history $name | jq -c 'select(.event == \"step-end\" and .step == \"$step\") | [.status, .exit_code]' | tail -1"
	assert_output "[\"failed\",$code]"
}

# ---- wf-model ----

ai_flow() {
	write ai.yaml <<'Y'
name: ai
steps:
  - id: ask
    action: ai-prompt
    prompt: "Say something"
  - id: after
    action: shell
    command: 'echo after >> "$WORK/count"'
Y
}

# The ai run resumed after the kill: the model asked once more, the reply
# kept, the next step run once.
ai_resumed() {
	resume ai --quiet
	assert_success
	run fake_provider_count
	assert_output 2
	run sh -c "wf-state history ai | jq -r 'select(.event == \"step-end\" and .step == \"ask\" and .status == \"ok\") | .output'"
	assert_output "a whole reply"
	run cat "$WORK/count"
	assert_output after
	run wf-state fsck ai
	assert_success
}

@test "wf-model killed mid-stream: the step fails with 137; resume asks again once" {
	fake_provider_start - <<'J'
[{"text": "first second third", "chunks": ["first ", "second ", "third"], "stall": 300, "stall_at": 1},
 {"text": "a whole reply"}]
J
	fake_models
	ai_flow
	start_run run ai.yaml
	wait_until grep -q first "$WORK/run.err"
	kill_child ai wf-model --serve
	assert_killed ai ask "wf-model exited with status 137"
	after_kill ai "$FAKE_API_KEY"
	[ ! -e "$WORK/count" ]
	ai_resumed
}

@test "wf-model killed after the provider got the request, before any answer" {
	fake_provider_start - <<'J'
[{"text": "never sent", "delay": 300}, {"text": "a whole reply"}]
J
	fake_models
	ai_flow
	start_run run ai.yaml
	wait_until test -s "$FAKE_LOG"
	kill_child ai wf-model --serve
	assert_killed ai ask "wf-model exited with status 137"
	after_kill ai "$FAKE_API_KEY"
	ai_resumed
}

@test "wf-model killed before the provider read its request" {
	fake_provider_start - <<'J'
[{"text": "a whole reply"}]
J
	fake_models
	# A server that takes the connection, says so, and never reads from it.
	"$FAKE_PYTHON" -c '
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
open(sys.argv[2], "w").close()
time.sleep(300)
' "$BATS_TEST_TMPDIR/mute.port" "$BATS_TEST_TMPDIR/mute.conn" </dev/null >/dev/null 2>&1 3>&- &
	MUTE=$!
	wait_until test -s "$BATS_TEST_TMPDIR/mute.port"
	sed "s|$FAKE_URL|http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/mute.port")|" "$WF_MODELS" > "$WORK/mute.yaml"
	ai_flow
	WF_MODELS=$WORK/mute.yaml start_run run ai.yaml
	wait_until test -e "$BATS_TEST_TMPDIR/mute.conn"
	kill_child ai wf-model --serve
	kill "$MUTE"
	assert_killed ai ask "wf-model exited with status 137"
	after_kill ai "$FAKE_API_KEY"
	resume ai --quiet
	assert_success
	run fake_provider_count
	assert_output 1
	run cat "$WORK/count"
	assert_output after
}

# ---- wf-pr ----

# A repository with a proposal on main, the forge, and a model never called.
pr_setup() {
	forge_repo
	fake_forge_start "$@"
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	export FAKE_API_KEY=sk-test-never-used-0123456789
	export WF_MODELS=$BATS_TEST_TMPDIR/unused-models.yaml
	printf 'providers:\n  p: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: FAKE_API_KEY}\nmodels:\n  m: {provider: p, model: x}\ndefault: m\n' > "$WF_MODELS"
	write "$BATS_TEST_TMPDIR/open.yaml" <<'Y'
name: open
steps:
  - {id: p, action: create-pr, title: Add farewell, body: Adds farewell().}
  - {id: after, action: shell, command: 'echo after >> "$WORK/count"'}
Y
}

# How many requests METHOD PATH-REGEX the forge got.
forge_count() {
	forge_requests "select(.method == \"$1\" and (.path | test(\"$2\"))) | .n" | wc -l
}

@test "wf-pr killed in create-pr, before and after the forge opened the PR: one PR, never two" {
	pr_setup
	T=$BATS_TEST_TMPDIR
	# Before: the forge holds the request unanswered and has done nothing.
	forge_fault '{"method": "POST", "path": "/pulls$", "delay_before": 300}'
	start_run run "$T/open.yaml" --yes
	wait_until eval '[ "$(forge_count POST "/pulls\$")" = 1 ]'
	kill_child open wf-pr create
	assert_killed open p "wf-pr exited with status 137"
	after_kill open "$GH_TOKEN" "$FAKE_API_KEY"
	run forge_state '.pulls | length'
	assert_output 0
	# After: the forge opened the PR, and the kill lands before the answer.
	forge_fault "{\"method\": \"POST\", \"path\": \"/pulls\$\", \"delay_after\": 300, \"touch\": \"$T/opened\"}"
	start_run resume open --yes
	wait_until test -e "$T/opened"
	kill_child open wf-pr create
	assert_killed open p "wf-pr exited with status 137"
	after_kill open "$GH_TOKEN" "$FAKE_API_KEY"
	run forge_state '.pulls | length'
	assert_output 1
	# The resume finds the PR the killed step opened.
	resume open --yes
	assert_success
	assert_output --partial "found the open pull request #1"
	run forge_state '.pulls | map([.number, .title, .state])'
	assert_output '[[1,"Add farewell","open"]]'
	run forge_count POST '/pulls$'
	assert_output 2
	run cat "$WORK/count"
	assert_output after
	run wf-state fsck open
	assert_success
}

# Kill run $1's wf-pr (its command line holding $2) once the forge has
# done what it does for METHOD PATH ($3 $4), before it answers; $5 the
# step, $6 what the step says before wf-pr's status.
kill_after_effect() {
	local T=$BATS_TEST_TMPDIR
	rm -f "$T/acted"
	forge_fault "{\"method\": \"$3\", \"path\": \"$4\", \"delay_after\": 300, \"touch\": \"$T/acted\"}"
	wait_until test -e "$T/acted"
	kill_child "$1" wf-pr "$2"
	assert_killed "$1" "$5" "${6:-}wf-pr exited with status 137"
	after_kill "$1" "$GH_TOKEN" "$FAKE_API_KEY"
}

@test "wf-pr killed in review-pr after the forge took the review: resume finds its marker, one review" {
	pr_setup --allow-self-review
	wf run "$BATS_TEST_TMPDIR/open.yaml" --yes --quiet
	fake_provider_start - <<'J'
[{"text": "{\"approved\": true, \"summary\": \"Fine.\", \"comments\": []}", "repeat": -1}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write "$BATS_TEST_TMPDIR/rev.yaml" <<'Y'
name: rev
variables: {pr_number: 1}
steps:
  - {id: r, action: review-pr}
  - {id: after, action: shell, command: 'echo reviewed >> "$WORK/count"'}
Y
	start_run run "$BATS_TEST_TMPDIR/rev.yaml" --yes
	kill_after_effect rev review POST '/reviews$' r 'cannot post the review: '
	run forge_state '.reviews["1"] | length'
	assert_output 1
	resume rev --yes --quiet
	assert_success
	run forge_state '.reviews["1"] | map([.state, (.body | split("\n")[0])])'
	assert_output '[["APPROVED","**Approved**"]]'
	run forge_count POST '/reviews$'
	assert_output 1
	run forge_state '.comments | length'
	assert_output 0
	run cat "$WORK/count"
	assert_output $'after\nreviewed'
	run wf-state fsck rev
	assert_success
}

@test "wf-pr killed in merge-pr after the forge merged: resume finds it merged, one merge" {
	pr_setup
	wf run "$BATS_TEST_TMPDIR/open.yaml" --yes --quiet
	write "$BATS_TEST_TMPDIR/merge.yaml" <<'Y'
name: merge
variables: {pr_number: 1, approved: true}
steps:
  - {id: m, action: merge-pr}
  - {id: after, action: shell, command: 'echo merged >> "$WORK/count"'}
Y
	start_run run "$BATS_TEST_TMPDIR/merge.yaml" --yes
	kill_after_effect merge merge PUT '/merge$' m
	run forge_state '.pulls[0].merged'
	assert_output true
	resume merge --yes
	assert_success
	assert_output --partial "pull request #1 was already merged"
	run forge_count PUT '/merge$'
	assert_output 1
	run origin_git rev-list --count --merges main
	assert_output 1
	run cat "$WORK/count"
	assert_output $'after\nmerged'
	run wf-state fsck merge
	assert_success
}

# ---- git ----

# A working branch with a change to commit, and the workflow cp that
# commits and pushes it; a hook HOOK (pre-push here, post-receive in
# origin) that, the first time, touches $T/in-hook and waits for $T/release.
git_setup() {
	local T=$BATS_TEST_TMPDIR hooks
	forge_repo
	git switch -q -c work
	printf 'changed\n' >> README.md
	write "$T/cp.yaml" <<'Y'
name: cp
steps:
  - {id: c, action: commit-push, message: "Change the readme"}
  - {id: after, action: shell, command: 'echo pushed >> "$WORK/count"'}
Y
	hooks=$REPO/.git/hooks
	[ "$1" = pre-push ] || hooks=$ORIGIN/hooks
	printf '#!/bin/sh\nif mkdir "%s/hooked" 2>/dev/null; then touch "%s/in-hook"; while [ ! -e "%s/release" ]; do sleep 0.01; done; fi\n' \
		"$T" "$T" "$T" > "$hooks/$1"
	chmod +x "$hooks/$1"
}

# Kill git push in run cp once the hook runs; resume; one commit, pushed.
git_kill_resume() {
	start_run run "$BATS_TEST_TMPDIR/cp.yaml" --yes
	wait_until test -e "$BATS_TEST_TMPDIR/in-hook"
	kill_child cp git push
	assert_killed cp c "$1" 1
	after_kill cp
	run git log -1 --format=%s work
	assert_output "Change the readme"
	resume cp --yes
	assert_success
	assert_output --partial "$2"
	run git rev-list --count main..work
	assert_output 1
	[ "$(origin_git rev-parse work)" = "$(git rev-parse work)" ]
	run git status --porcelain
	assert_output ""
	run cat "$WORK/count"
	assert_output pushed
	run wf-state fsck cp
	assert_success
}

@test "git push killed in commit-push before origin took the branch: resume pushes the one commit" {
	git_setup pre-push
	git_kill_resume "cannot push 'work' to origin: git push exited with status 137" "pushed 'work' to origin"
}

@test "git push killed in commit-push after origin took the branch: resume finds it pushed" {
	git_setup post-receive
	git_kill_resume "cannot push 'work' to origin: git push exited with status 137" "up to date"
}
