#!/usr/bin/env bats
# A run's budget shared by the branches of a parallel step (wf-workflow(5),
# "budget:"): checked before each call across branches through the run's
# ledger (a reservation of each call's estimate), never crossed by a window
# of concurrent calls; a dead branch's reservation never blocks; a plain run
# makes no ledger; --estimate counts every branch.
load helpers
load fake-provider
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
}

# The fake answers every call with N_IN in, 40 out, as the estimate says
# (prompt "p": 1 token; output_tokens: 40 of model glm), holding each
# answer until AWAIT requests are in.
start_fake() {
	fake_provider_start - <<J
{"responses": [], "default": {"text": "reply {n}", "usage": {"input": 1, "output": 40}, "await": $1, "await_timeout": ${2:-60}}}
J
	fake_models_pair ", output_tokens: 40" free glm
}

# fan.yaml: a parallel step of N branches, each one ai-prompt, all at once, then a step after it.
fan_workflow() {
	local n=$1 budget=$2 i
	{
		printf 'name: fan\nbudget: %s\nsteps:\n  - id: fan\n    action: parallel\n' "$budget"
		printf '    max-concurrency: %s\n    on-failure: wait-all\n    branches:\n' "$n"
		for i in $(seq 1 "$n"); do
			printf '      - name: b%s\n        steps:\n          - {id: ask, action: ai-prompt, prompt: "p"}\n' "$i"
		done
		printf '  - id: after\n    action: shell\n    command: "echo after"\n'
	} > fan.yaml
}

# Tokens the run's branches used in all, from their states.
branch_tokens() {
	cat "$(rundir fan)"/sub/fan/*/state.json | jq -s '[.[].usage[]? | .input_tokens + .output_tokens] | add // 0'
}

@test "four branches at once share a budget of three calls: three calls in flight together, the fourth refused (exit 4, reason budget)" {
	start_fake 3
	fan_workflow 4 '{tokens: 123}'
	run --separate-stderr wf run fan.yaml --quiet
	assert_failure 4
	run fake_provider_count
	assert_output 3
	# The three answered calls were all in flight before any answer: the window was real.
	run jq -s '[.[].n] | length' "$FAKE_LOG"
	assert_output 3
	run branch_tokens
	assert_output 123
	run sh -c "jq -r 'select(.event == \"branch-end\") | \"\(.status) \(.exit_code) \(.reason // \"-\")\"' '$(rundir fan)/history.jsonl' | sort | uniq -c | sed 's/^ *//'"
	assert_output $'3 completed 0 -\n1 failed 4 budget'
	run jq -r '.status' "$(rundir fan)/state.json"
	refute_output completed
}
