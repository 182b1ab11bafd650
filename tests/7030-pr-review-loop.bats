#!/usr/bin/env bats
# The seed's pr-review-loop, unchanged, end to end: a real git repository
# with a bare origin, the fake GitHub merging for real, and the fake model
# provider scripted as reviewer and coder.
load helpers
load fake-forge
load fake-provider
load pr-review-loop

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

LOOP="$EXAMPLES/pr-review-loop.yaml"

# The repository (a local commit on main to propose), the forge, and a
# models.yaml with gpt (the default, "original") and glm on the fake provider.
loop_setup() {
	forge_repo
	fake_forge_start "$@"
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	sed -i 's/^models:$/models:\n  glm: {provider: fake-openai, model: glm-test}/' "$WF_MODELS"
}

@test "pr-review-loop: one PR, two review rounds, one fix, approved, self-reviewed, merged, synced" {
	script_reject_then_approve
	loop_setup
	run wf run "$LOOP" --yes
	assert_success
	assert_output --partial "opened pull request #1"
	assert_output --partial "#1 changes requested: Say goodbye, not bye. (1 comment)"
	assert_output --partial "#1 approved: Looks good now."
	assert_output --partial "merged pull request #1 (merge)"
	assert_output --partial "pr-review-loop: completed"
	# One PR, merged.
	run forge_state '.pulls | map([.number, .title, .state, .merged, .head])'
	assert_output '[[1,"Add farewell","closed",true,"wf/pr-review-loop"]]'
	# Two review rounds: glm asked for changes, gpt approved; each posted once.
	run forge_state '.reviews["1"] | map(.body | split("\n")[0])'
	assert_output '["**Changes requested**","**Approved**"]'
	run forge_state '.reviews["1"][0].comments | map([.path, .line, .body])'
	assert_output '[["greet.py",4,"use goodbye"]]'
	run sh -c "jq -r 'select(.body.messages[-1].content | contains(\"Review the pull request below\")) | .model' '$FAKE_LOG' | tr '\n' ' '"
	assert_output "glm-test gpt-test "
	# One patch applied, committed and pushed: the branch has the proposal and the fix.
	run origin_git log --format=%s main^2 -2
	assert_output "Say goodbye in farewell()
Add farewell"
	run origin_git show main:greet.py
	assert_output --partial 'return "goodbye " + name'
	# The self-review comment.
	run forge_state '.comments["1"] | map(.body | startswith("### Self-review\n\nChanged bye to goodbye"))'
	assert_output '[true]'
	# The base is synced: on main, at origin's merge commit.
	run git rev-parse --abbrev-ref HEAD
	assert_output main
	[ "$(git rev-parse HEAD)" = "$(origin_git rev-parse main)" ]
	run git log -1 --format=%s
	assert_output "Merge pull request #1 from acme/wf/pr-review-loop"
	run wf-state get pr-review-loop vars
	assert_output --partial '"approved":true'
	assert_output --partial '"pr_merged":true'
	run wf-state fsck pr-review-loop
	assert_success
}

@test "pr-review-loop: a reviewer that never approves stops at max-iterations (exit 4); nothing is merged" {
	jq -n '[
	 {"match": {"prompt_contains": "Write a title and a description"}, "text": "{\"title\": \"T\", \"body\": \"B\"}", "repeat": -1},
	 {"match": {"prompt_contains": "Review the pull request below"}, "repeat": -1,
	  "text": "{\"approved\": false, \"summary\": \"Still not right.\", \"comments\": []}"},
	 {"match": {"prompt_contains": "Change the code to address the review"}, "repeat": -1,
	  "text": "```diff\n--- /dev/null\n+++ b/round-{n}.txt\n@@ -0,0 +1 @@\n+round {n}\n```"},
	 {"match": {"prompt_contains": "Write a git commit message"}, "repeat": -1, "text": "Another round"}
	]' > "$BATS_TEST_TMPDIR/script.json"
	loop_setup
	run wf run "$LOOP" --yes
	assert_failure 4
	assert_output --partial "loop s10 exhausted after 5 passes"
	run forge_state '.pulls | map([.state, .merged])'
	assert_output '[["open",false]]'
	# max-iterations: 5 is five passes of the body: ten reviews, ten fixes, nothing merged.
	run forge_state '.reviews["1"] | length'
	assert_output 10
	run git rev-list --count origin/main..origin/wf/pr-review-loop
	assert_output 11
	run forge_requests 'select(.method == "PUT")'
	assert_output ""
	run forge_state '.comments | length'
	assert_output 0
}

# Kill the run while the forge or git is in the middle of STEP's side
# effect, then resume until done.  WAIT_FOR is a file that appears then.
kill_when() {
	local pid=$1 file=$2 i
	for i in $(seq 1 600); do
		[ -e "$file" ] && break
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	[ -e "$file" ] || return 1
	kill -9 "$pid"
	wait "$pid" 2>/dev/null || true
}

# Resume (in the background), waiting out the lock of a step child still stopping.
resume_bg() {
	local i
	for i in $(seq 1 300); do
		run wf-state fsck pr-review-loop
		[ "$status" != 75 ] && break
		sleep 0.1
	done
	wf resume pr-review-loop --yes >>"$BATS_TEST_TMPDIR/resume.log" 2>&1 3>&- &
	PID=$!
}

@test "pr-review-loop: killed at four points and resumed, it never duplicates a PR, a commit, a review or a merge" {
	script_reject_then_approve
	# Reviews under another account: the first POST of a review is the one that posts it.
	loop_setup --allow-self-review
	# A push that pauses while the flag exists: the kill lands after the commit, before the push.
	printf '#!/bin/sh\nif [ -e "%s/slow-push" ]; then rm -f "%s/slow-push"; touch "%s/in-push"; sleep 30; fi\n' \
		"$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" "$BATS_TEST_TMPDIR" > .git/hooks/pre-push
	chmod +x .git/hooks/pre-push
	# The forge acts at once, touches a file, then holds its answer: the kills land after the effect.
	T=$BATS_TEST_TMPDIR
	forge_fault "{\"method\": \"POST\", \"path\": \"/pulls\$\", \"delay_after\": 30, \"touch\": \"$T/k1\"}"
	forge_fault "{\"method\": \"POST\", \"path\": \"/reviews\$\", \"delay_after\": 30, \"touch\": \"$T/k2\"}"
	forge_fault "{\"method\": \"PUT\", \"path\": \"/merge\$\", \"delay_after\": 30, \"touch\": \"$T/k4\"}"

	# 1: create-pr has opened the PR when the run dies.
	wf run "$LOOP" --yes >"$T/run.log" 2>&1 3>&- &
	kill_when $! "$T/k1"
	run forge_state '.pulls | length'
	assert_output 1

	# 2: the first review is posted, then the run dies.
	resume_bg
	kill_when "$PID" "$T/k2"
	run forge_state '.reviews["1"] | length'
	assert_output 1

	# 3: s5 commits, and dies in the push.
	touch "$T/slow-push"
	resume_bg
	kill_when "$PID" "$T/in-push"
	run git log -1 --format=%s wf/pr-review-loop
	assert_output "Say goodbye in farewell()"
	[ "$(git rev-parse wf/pr-review-loop)" != "$(origin_git rev-parse wf/pr-review-loop)" ]

	# 4: the merge happens in the forge, then the run dies.
	resume_bg
	kill_when "$PID" "$T/k4"
	run forge_state '.pulls[0].merged'
	assert_output true

	resume_bg
	wait "$PID"
	run wf-state get pr-review-loop status
	assert_output completed
	# Exactly one of everything.
	run forge_state '.pulls | length'
	assert_output 1
	run forge_requests 'select(.method == "POST" and (.path | test("/pulls$"))) | .n'
	[ "${#lines[@]}" = 1 ]
	run forge_state '.reviews["1"] | map(.body | split("\n")[0])'
	assert_output '["**Changes requested**","**Approved**"]'
	run forge_state '.comments["1"] | length'
	assert_output 1
	run origin_git log --format=%s main^2 -3
	assert_output "Say goodbye in farewell()
Add farewell
initial commit"
	run origin_git rev-list --count --merges main
	assert_output 1
	# The model was asked once per question: the review verdict saved before the crash was used again.
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG' | grep -c 'Review the pull request below'"
	assert_output 2
	run git rev-parse --abbrev-ref HEAD
	assert_output main
	run wf-state fsck pr-review-loop
	assert_success
}
