#!/usr/bin/env bats
# A review quorum (wf-workflow(5), "Review quorum"): review-pr and
# ai-prompt with models: [a, b, c], quorum: N and on-split: ID.  The
# models are asked at once, each verdict is kept with its model, the
# count decides, a split is routed, each posted review names its model
# and is never posted twice, a failing or hostile model is counted as
# documented, and the keys are validated with line:col.
load helpers
load fake-provider
load fake-forge
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	export WF_RETRY_BASE_MS=5 WF_RETRY_MAX=1
	unset WF_STREAM_FD
}

teardown() {
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
	fake_forge_stop
	fake_provider_stop_all
}

# The fake answering gpt, claude and llama (gpt-test, claude-test,
# llama3.2:latest) with the verdicts $1, $2 and $3 (true or false) of an
# ai-prompt; models.yaml on it.
three_verdicts() {
	fake_provider_start - <<J
[{"match": {"model": "gpt-test"}, "text": "{\"approved\": $1, \"summary\": \"gpt says $1\"}", "repeat": -1},
 {"match": {"model": "claude-test"}, "text": "{\"approved\": $2, \"summary\": \"claude says $2\"}", "repeat": -1},
 {"match": {"model": "llama3.2:latest"}, "text": "{\"approved\": $3, \"summary\": \"llama says $3\"}", "repeat": -1}]
J
	fake_models
}

# q.yaml: an ai-prompt asking gpt, claude and llama with the extra step
# lines $1 (YAML, indented by the caller), then where a verdict goes.
quorum_workflow() {
	write q.yaml <<Y
name: q
steps:
  - id: ask
    action: ai-prompt
    format: json
    prompt: "is it ready?"
    models: [gpt, claude, llama]
$1
    on-approved: yes
    on-rejected: no
  - {id: no, action: shell, command: 'echo REJECTED', on-complete: end}
  - {id: yes, action: shell, command: 'echo APPROVED', on-complete: end}
  - {id: split, action: shell, command: 'echo SPLIT', on-complete: end}
  - {id: end, action: shell, command: 'true'}
Y
}

# The step-end event of step $2 of run $1, filtered through jq $3.
step_end() {
	wf-state history "$1" | jq -c "select(.event == \"step-end\" and .step == \"$2\") | $3"
}

@test "quorum: one dissent of three approves with quorum 2, not with quorum 3; each verdict is kept with its model" {
	three_verdicts true false true
	while IFS='|' read -r q want line; do
		quorum_workflow "${q:+    quorum: $q}"
		run wf run q.yaml --yes --restart
		assert_success
		assert_output --partial "$want"
		run step_end q ask '[.approved, .split, .quorum.approvals, .quorum.quorum]'
		assert_output "$line"
	done <<-'T'
	|APPROVED|[true,true,2,2]
	2|APPROVED|[true,true,2,2]
	3|REJECTED|[false,true,2,3]
	1|APPROVED|[true,true,2,1]
	T
	run step_end q ask '[.verdicts[] | [.model, .approved, .summary]]'
	assert_output '[["gpt",true,"gpt says true"],["claude",false,"claude says false"],["llama",true,"llama says true"]]'
	run step_end q ask '.verdict'
	assert_output '"2 of 3 approved (quorum 1)"'
	# Every model's call is counted, by model: budgets and wf status see them all.
	run step_end q ask '.usage_models | keys'
	assert_output '["claude","gpt","llama"]'
	run sh -c "wf-state get q usage | jq -c '[.gpt.calls, .claude.calls, .llama.calls]'"
	assert_output '[1,1,1]'
}
