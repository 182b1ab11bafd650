#!/usr/bin/env bats
# The example parallel-review, end to end: a real git repository with a
# bare origin, the fake GitHub merging for real, the fake model provider
# as the three reviewers (and the writer of the title and of a fix).  The
# checks run as a parallel step, the models as a quorum of 2, a split
# goes to a person (answered with --answer), and the merge happens only
# when the pull request is approved.
load helpers
load fake-forge
load fake-provider
bats_require_minimum_version 1.5.0

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

FLOW="$EXAMPLES/parallel-review.yaml"

# One model's review in the provider's script: model $1 (sonnet, gpt5,
# glm) approving or not ($2: true or false), once.
review_entry() {
	jq -n --arg m "$1-test" --argjson ok "$2" \
		'{"match": {"prompt_contains": "Review the change for correctness", "model": $m},
		  "text": ({"approved": $ok, "summary": ("\($m | rtrimstr("-test")) says \($ok)"),
			    "comments": (if $ok then [] else [{"path": "greet.py", "line": 4, "body": "say goodbye"}] end)} | tojson)}'
}

# The script: the title, then one round of reviews per argument (each
# three verdicts, sonnet gpt5 glm, as "true false true"), and a fix.
script_rounds() {
	local patch round entries=()
	patch=$(printf -- '--- a/greet.py\n+++ b/greet.py\n@@ -3,2 +3,2 @@\n def farewell(name):\n-    return "bye " + name\n+    return "goodbye " + name\n')
	entries+=("$(jq -n '{"match": {"prompt_contains": "Write a title and a description"},
		"text": "{\"title\": \"Add farewell\", \"body\": \"Adds farewell().\"}"}')")
	for round in "$@"; do
		set -- $round
		entries+=("$(review_entry sonnet "$1")" "$(review_entry gpt5 "$2")" "$(review_entry glm "$3")")
	done
	entries+=("$(jq -n --arg patch "$patch" '{"match": {"prompt_contains": "Change the code to address the review"},
		"text": ("```diff\n" + $patch + "\n```\n")}')")
	entries+=("$(jq -n '{"match": {"prompt_contains": "Write a git commit message"}, "text": "Say goodbye in farewell()"}')")
	printf '%s\n' "${entries[@]}" | jq -s . > "$BATS_TEST_TMPDIR/script.json"
}

# The repository (a commit on main to propose), the forge, the provider
# scripted with the rounds "$@", and models.yaml naming the example's
# three models (gpt5 the default) on it.
setup_review() {
	forge_repo
	fake_forge_start --allow-self-review
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	script_rounds "$@"
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	fake_models_named gpt5 sonnet glm
}

# Run the example with build and test commands that check greet.py.
run_flow() {
	# -B: no bytecode left in the work tree for commit-push to take.
	run wf run "$FLOW" --yes --var build='python3 -B -c "import greet"' \
		--var test='python3 -B -c "import greet; assert greet.farewell(\"x\").endswith(\"x\")"' "$@" </dev/null
}

# PR #1 merged into origin's main, the reviews posted ($1 of them, each
# naming its model) and the checkout synced.
assert_merged() {
	run forge_state '.pulls | map([.number, .state, .merged])'
	assert_output '[[1,"closed",true]]'
	run forge_state "[.reviews[\"1\"][] | .body | capture(\"_Review by model \`(?<m>[a-z0-9]+)\`\").m] | length"
	assert_output "$1"
	run git rev-parse --abbrev-ref HEAD
	assert_output main
	[ "$(git rev-parse HEAD)" = "$(origin_git rev-parse main)" ]
}

@test "parallel-review: validates, is listed, and shows its branches and the split in a dry run" {
	run wf validate "$FLOW"
	assert_success
	run wf list
	assert_success
	assert_output --partial parallel-review
	run wf run "$FLOW" --dry-run
	assert_success
	assert_output --partial "      on-split -> decide"
}

@test "parallel-review: checks side by side, three approvals, merged" {
	setup_review "true true true"
	run_flow
	assert_success
	assert_output --partial "#1 approved: 3 of 3 approved (quorum 2)"
	# The three branches ran, each a run of its own, and all ended ok.
	run sh -c "wf-state history parallel-review | jq -c 'select(.event == \"step-end\" and .step == \"checks\") | [.branches[] | [.name, .status]]'"
	assert_output '[["build","ok"],["test","ok"],["diff","ok"]]'
	# The diff's summary, from a branch, went into the reviewers' prompt.
	run sh -c "jq -r 'select(.body.messages[-1].content | contains(\"Review the change\")) | .body.messages[-1].content' '$FAKE_LOG' | grep -c 'greet.py |'"
	assert_output 3
	run fake_provider_count
	assert_output 4
	assert_merged 3
	run forge_state '[.reviews["1"][] | .state] | unique'
	assert_output '["APPROVED"]'
	# The run's files, its branches' runs with them, are sound.
	run wf-state fsck parallel-review
	assert_success
}

@test "parallel-review: a failing check stops the run before any review; nothing is merged" {
	setup_review "true true true"
	run_flow --var test='false'
	assert_failure
	run sh -c "wf-state history parallel-review | jq -c 'select(.event == \"step-end\" and .step == \"checks\") | [.status, [.branches[] | [.name, .status]]]'"
	assert_output '["failed",[["build","ok"],["test","failed"],["diff","ok"]]]'
	run fake_provider_count
	assert_output 1
	run forge_state '.pulls | map(.merged)'
	assert_output '[false]'
}

@test "parallel-review: a split waits for a person; --answer yes takes the quorum's approval and merges" {
	setup_review "false true true"
	run_flow
	assert_failure 3
	assert_output --partial "#1 approved: 2 of 3 approved (quorum 2)"
	run forge_state '.pulls | map(.merged)'
	assert_output '[false]'
	run wf resume parallel-review --answer yes </dev/null
	assert_success
	assert_merged 3
	run fake_provider_count
	assert_output 4
}

@test "parallel-review: a split that rejects, answered yes, asks for changes; the fix is checked and reviewed again, then merged" {
	setup_review "true false false" "true true true"
	run_flow
	assert_failure 3
	assert_output --partial "#1 changes requested: 1 of 3 approved (quorum 2)"
	run wf resume parallel-review --answer yes </dev/null
	assert_success
	run origin_git show main:greet.py
	assert_output --partial 'return "goodbye " + name'
	assert_merged 6
	# Title, two rounds of three reviews, the patch and its commit message.
	run fake_provider_count
	assert_output 9
	run sh -c "wf-state history parallel-review | jq -c 'select(.event == \"step-end\" and .step == \"checks\") | .status' | paste -sd' '"
	assert_output '"ok" "ok"'
}

@test "parallel-review: a split answered no stops the run with 77; nothing is merged, no model asked again" {
	setup_review "false true true"
	run_flow
	assert_failure 3
	run wf resume parallel-review --answer no </dev/null
	assert_failure 77
	run forge_state '.pulls | map([.state, .merged])'
	assert_output '[["open",false]]'
	run fake_provider_count
	assert_output 4
	run wf-state get parallel-review vars.pr_merged
	refute_output true
}
