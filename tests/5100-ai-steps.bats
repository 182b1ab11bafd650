#!/usr/bin/env bats
# AI steps in a run: switch-model, ai-prompt, transcript, usage, budget, keys.
load helpers
load fake-provider

point_models() {
	fake_models_pair
}

setup() {
	wf_setup
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply from {model} to: {prompt}"}}
J
	point_models
}

restart_provider() {
	fake_provider_stop
	fake_provider_start -
	point_models
}

@test "the seed's test-model-switch: two prompts to two models in order, then back to the original" {
	run wf run test-model-switch
	assert_success
	run sh -c "jq -r '.model + \" | \" + .body.messages[-1].content' '$FAKE_LOG'"
	assert_output $'glm-test | You are GLM. Say hello.\nmain-test | You are back to original model. Confirm.'
	run wf-state get test-model-switch model.name
	assert_output main
	run sh -c "wf-state history test-model-switch | jq -r 'select(.event==\"step-end\" and .action==\"switch-model\") | .model.name + \" \" + .model.provider + \" \" + .model.base_url'"
	assert_output "glm fake $FAKE_URL/v1
main fake $FAKE_URL/v1"
}

@test "the conversation carries over a model switch; context: none starts fresh" {
	write t.yaml <<'Y'
name: t
steps:
  - id: a
    action: ai-prompt
    prompt: "first"
  - id: b
    action: switch-model
    model: glm
  - id: c
    action: ai-prompt
    prompt: "second"
  - id: d
    action: ai-prompt
    prompt: "alone"
    context: none
Y
	run wf run t.yaml --quiet
	assert_success
	run sh -c "jq -c '[.model, (.body.messages | map(.content))]' '$FAKE_LOG'"
	assert_line --index 0 '["main-test",["first"]]'
	assert_line --index 1 '["glm-test",["first","reply from main-test to: first","second"]]'
	assert_line --index 2 '["glm-test",["alone"]]'
}

@test "ai-prompt: output variable, substitution, the answer saved and shown in status" {
	write p.yaml <<'Y'
name: p
variables: {topic: tests}
steps:
  - id: ask
    action: ai-prompt
    prompt: "write about ${topic}"
    output: answer
    model: glm
  - id: use
    action: shell
    command: 'echo "got: $answer"'
Y
	run wf run p.yaml
	assert_success
	assert_line "got: reply from glm-test to: write about tests"
	run sh -c "cat '$(rundir p)'/steps/*-ask.answer"
	assert_output "reply from glm-test to: write about tests"
	run wf status p
	assert_line --partial "glm: 1 calls"
	run wf-state get p steps.ask.output
	assert_output "reply from glm-test to: write about tests"
}

@test "usage: a model without a price shows cost unknown, never \$0" {
	write u.yaml <<'Y'
name: u
steps:
  - id: a
    action: ai-prompt
    prompt: "hi"
Y
	run wf run u.yaml --quiet
	assert_success
	run wf status u
	assert_line --partial "main: 1 calls"
	assert_line --partial "cost unknown"
	run sh -c "wf status u --json | jq -c '.usage.main.usd'"
	assert_output null
}

@test "format: json asks again once with the parse error, then fails" {
	restart_provider <<'J'
{"responses": [{"text": "not json at all"}, {"text": "{\"ok\": true}"}, {"text": "still not"}, {"text": "nope"}]}
J
	write j.yaml <<'Y'
name: j
steps:
  - id: a
    action: ai-prompt
    prompt: "give json"
    format: json
    output: data
  - id: b
    action: ai-prompt
    prompt: "give json again"
    format: json
Y
	run wf run j.yaml --quiet
	assert_failure 1
	assert_output --partial "the model did not answer with JSON, even when asked again"
	run wf-state get j vars.data
	assert_output '{"ok":true}'
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG' | grep -c 'Your answer was not valid JSON'"
	assert_output 2
}

@test "budget: a call that would cross it is not made; exit 4, resumable after raising it" {
	write b.yaml <<'Y'
name: b
budget: {tokens: 520}
steps:
  - id: a
    action: ai-prompt
    prompt: "one"
  - id: b
    action: ai-prompt
    prompt: "two, a longer prompt that will not fit in what is left of the budget at all"
Y
	run wf run b.yaml --quiet
	assert_failure 4
	# Each call counts its output too: 500 tokens, models.yaml giving no output_tokens.
	assert_output --partial "budget of 520 tokens would be crossed by step 'b'"
	run fake_provider_count
	assert_output 1
	sed -i 's/tokens: 520/tokens: 100000/' b.yaml
	run wf resume b --accept-changes --quiet
	assert_success
	run fake_provider_count
	assert_output 2
}

@test "--estimate prints the model calls from the prompts, then from earlier runs" {
	run wf run test-model-switch --estimate
	assert_success
	assert_line --regexp '^  total +2 '
	assert_line --partial "no completed run of 'test-model-switch'"
	wf run test-model-switch --quiet
	wf run test-model-switch --quiet
	run wf run test-model-switch --estimate
	assert_line --partial "history: 2 runs"
}

@test "an unknown model is found before the run; one named by a variable fails its step with 78" {
	write x.yaml <<'Y'
name: x
steps:
  - id: a
    action: switch-model
    model: nosuchmodel
Y
	run wf run x.yaml
	assert_failure 78
	assert_output --partial "unknown model 'nosuchmodel'"
	assert_output --partial "1 prerequisite is missing; no step was run"
	write y.yaml <<'Y'
name: y
steps:
  - id: a
    action: switch-model
    model: "${m}"
Y
	run wf run y.yaml --var m=nosuchmodel
	assert_failure 1
	assert_output --partial "nosuchmodel"
	run wf-state get y steps.a.exit_code
	assert_output 78
}

@test "the API key appears nowhere under the state directory or on stderr" {
	restart_provider <<J
{"responses": [{"status": 400, "body_text": "{\"error\":{\"message\":\"bad key $FAKE_API_KEY\"}}"}], "default": {"text": "ok"}}
J
	write k.yaml <<'Y'
name: k
steps:
  - id: a
    action: ai-prompt
    prompt: "hello"
Y
	run wf run k.yaml
	assert_failure 1
	refute_output --partial "$FAKE_API_KEY"
	run grep -rF "$FAKE_API_KEY" "$WF_STATE_DIR"
	assert_failure
	run grep -rF "$(printf %s "$FAKE_API_KEY" | base64)" "$WF_STATE_DIR"
	assert_failure
}

@test "the seed's test-loop runs unchanged with a configured model" {
	# The seed writes /tmp/counter.txt and loads counter.txt: run it from /tmp.
	rm -f /tmp/counter.txt
	cd /tmp
	run wf run test-loop --quiet
	assert_success
	run wf-state get test-loop vars.i
	assert_output 3
	run fake_provider_count
	assert_output 3
	rm -f /tmp/counter.txt
}

@test "wf status shows each model step's usage and the last answer" {
	write s.yaml <<'Y'
name: s
steps:
  - id: one
    action: ai-prompt
    prompt: "first question"
    model: glm
  - id: two
    action: ai-prompt
    prompt: "second question"
Y
	run wf run s.yaml --quiet
	assert_success
	run wf status s
	assert_line "usage by step:"
	assert_line --regexp "^  one: glm, [0-9]+ input \+ [0-9]+ output tokens, \\\$[0-9.]+$"
	assert_line --regexp "^  two: main, [0-9]+ input \+ [0-9]+ output tokens, cost unknown$"
	assert_line "last output (two): reply from main-test to: second question"
}
