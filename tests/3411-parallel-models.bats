#!/usr/bin/env bats
# Parallel branches that call models: each branch's calls are recorded
# in its own run, counted in the run's usage, and replayed from there
# (wf-workflow(5), "PARALLEL STEPS"; wf-run(1), --replay).
load helpers
load fake-provider

teardown() {
	fake_provider_stop_all
}

setup() {
	wf_setup
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "answer {n} from {model} to: {prompt}", "usage": {"input": 11, "output": 5}}}
J
	fake_models
}

# pm.yaml: two branches, each one prompt to gpt, and a for-each of two more.
pm_yaml() {
	write pm.yaml <<'Y'
name: pm
model: gpt
steps:
  - id: fan
    action: parallel
    branches:
      - name: one
        steps:
          - {id: ask, action: ai-prompt, prompt: "Say one", context: none}
      - name: two
        steps:
          - {id: ask, action: ai-prompt, prompt: "Say two", context: none}
  - id: each
    action: parallel
    for-each: '["x", "y"]'
    as: w
    steps:
      - {id: ask, action: ai-prompt, prompt: "Say ${w}", context: none}
Y
}

@test "model calls in branches: recorded per branch, all counted in the run's usage, and replayed offline with no live call" {
	pm_yaml
	run wf run pm.yaml
	assert_success
	run fake_provider_count
	assert_output 4
	# The run's usage counts every branch's call.
	run sh -c "wf status pm --json | jq -c '[.usage.gpt.calls, .usage.gpt.input_tokens]'"
	assert_output '[4,44]'
	d=$(rundir pm)
	for b in fan/one fan/two each/1 each/2; do
		[ -s "$d/sub/$b/calls.jsonl" ]
	done
	# Replayed offline: the same answers, no call reaches the provider.
	run wf run pm.yaml --replay pm --offline --name again
	assert_success
	run fake_provider_count
	assert_output 4
	run sh -c "wf-state get again steps.fan.branches | jq -r '.[].status' | sort -u"
	assert_output ok
	a=$(jq -r 'select(.event == "step-end") | .output' "$d/sub/fan/two/history.jsonl")
	b=$(jq -r 'select(.event == "step-end") | .output' "$(rundir again)/sub/fan/two/history.jsonl")
	[ -n "$a" ] && [ "$a" = "$b" ]
}
