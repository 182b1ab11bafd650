#!/usr/bin/env bats
# Recordings: every model call of a run kept in its calls.jsonl (record.h, wf-json(7) "Recordings").
load helpers
load fake-provider
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply from {model} to: {prompt}", "usage": {"input": 7, "output": 3}}}
J
	fake_models_pair
}

@test "each call of a run is kept once, with its step, execution, key, fingerprint and answer" {
	run wf run test-model-switch
	assert_success
	calls="$(rundir test-model-switch)/calls.jsonl"
	[ "$(stat -c %a "$calls")" = 600 ]
	run jq -r '[.v, .step, .name, .key.provider, .key.model, .key.messages[-1].content, .answer.text, .answer.usage.input_tokens] | map(tostring) | join("|")' "$calls"
	assert_success
	assert_output "1|s2|glm|fake|glm-test|You are GLM. Say hello.|reply from glm-test to: You are GLM. Say hello.|7
1|s4|main|fake|main-test|You are back to original model. Confirm.|reply from main-test to: You are back to original model. Confirm.|7"
	# An execution is numbered by the journal event it began with, so a reader can join the two.
	run sh -c "wf-state history test-model-switch | jq -r 'select(.event==\"step-start\" and (.step==\"s2\" or .step==\"s4\")) | .seq'"
	assert_output "$(jq -r .seq "$calls")"
	# The fingerprint is sha256 over the key's sorted compact JSON.
	while IFS= read -r line; do
		want=$(jq -cS .key <<<"$line" | tr -d '\n' | sha256sum | cut -d' ' -f1)
		[ "$(jq -r .fingerprint <<<"$line")" = "$want" ]
	done < "$calls"
	# Never the key, in any form the masker knows.
	! grep -qF "$FAKE_API_KEY" "$calls"
	! grep -qF "$(printf %s "$FAKE_API_KEY" | base64 -w0)" "$calls"
}

@test "a renamed alias or a moved server keeps the fingerprint; another model or prompt changes it" {
	fp() {
		jq -n --arg m "$1" --arg p "$2" '{model: $m, messages: [{role: "user", content: $p}], stream: false,
			record: {dir: env.WORK, step: "s", seq: 1}}' | wf-model chat >/dev/null
		tail -n1 "$WORK/calls.jsonl" | jq -r .fingerprint
	}
	a=$(fp glm hello)
	sed -i 's/^  glm:/  other:/' models.yaml
	b=$(fp other hello)
	[ "$a" = "$b" ]
	c=$(fp main hello)
	[ "$a" != "$c" ]
	d=$(fp other "hello again")
	[ "$a" != "$d" ]
	[ "$(wc -l < "$WORK/calls.jsonl")" -eq 4 ]
}

@test "a chat request without 'record' keeps nothing; a malformed one is refused before any call" {
	run sh -c 'echo "{\"prompt\": \"hi\", \"stream\": false}" | wf-model chat'
	assert_success
	[ ! -e calls.jsonl ]
	n=$(wc -l < "$FAKE_LOG")
	for bad in '"x"' '{}' '{"dir": 3}' '{"dir": "/tmp", "seq": "one"}' '{"dir": "/tmp", "abandoned": ["1"]}'; do
		run --separate-stderr sh -c "echo '{\"prompt\": \"hi\", \"record\": $bad}' | wf-model chat"
		assert_failure 65
		assert_equal "$stderr" "wf-model: request field 'record' must be {\"dir\": DIR, \"step\": ID, \"seq\": N, \"abandoned\": [N...]}"
	done
	[ "$(wc -l < "$FAKE_LOG")" -eq "$n" ]
}

@test "a call that cannot be kept is still answered, with a warning" {
	run --separate-stderr sh -c 'echo "{\"prompt\": \"hi\", \"stream\": false, \"record\": {\"dir\": \"$WORK/none\"}}" | wf-model chat'
	assert_success
	assert_equal "$(jq -r .text <<<"$output")" "reply from main-test to: hi"
	assert_equal "$stderr" "wf-model: cannot record the call in $WORK/none/calls.jsonl: No such file or directory; a replay of this run will not find this call"
}
