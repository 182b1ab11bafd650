#!/usr/bin/env bats
# wf rerun (wf-model rerun): one AI step of a run asked again of another
# model, on the fake provider; the run itself is never changed.
load helpers
load fake-provider

# gpt (OpenAI) says yes; claude (Anthropic) says no, in two lines with a
# tab and an escape; llama (Ollama) says yes as well.
script() {
	cat <<'J'
{"responses": [
 {"match": {"model": "gpt-test"}, "text": "yes", "repeat": -1, "usage": {"input": 100, "output": 10}},
 {"match": {"model": "claude-test"}, "text": "no\nthe\ttests \u001b[31mfail", "repeat": -1,
  "usage": {"input": 90, "output": 20, "cached": 50}},
 {"match": {"model": "llama3.2:latest"}, "text": "yes", "repeat": -1}],
 "default": {"text": "maybe"}}
J
}

setup() {
	wf_setup
	fake_provider_start - < <(script)
	fake_models
	# judge's check sends the run to ship on a yes, to fix on anything else;
	# the run then waits at the question, paused.
	write gate.yaml <<'Y'
name: gate
steps:
  - id: prep
    action: shell
    command: echo prep
  - id: judge
    action: ai-prompt
    model: gpt
    prompt: "Is the change ready?"
    output: answer
    check: 'vars.answer == "yes"'
    on-true: ship
    on-false: fix
  - id: fix
    action: shell
    command: echo fixing
  - id: ship
    action: shell
    command: echo shipping
  - id: ok
    action: interactive
    message: "Merge?"
Y
}

# Every file of run $1 with its sha256, and the list of them.
fingerprint() {
	(cd "$(rundir "$1")" && find . -type f | LC_ALL=C sort | xargs sha256sum)
}

recorded_gate() {
	run wf run gate.yaml --quiet < /dev/null
	assert_failure 3
	[ -s "$(rundir gate)/calls.jsonl" ]
	before=$(fingerprint gate)
}

@test "a changed answer says where the run would have gone instead, and the paused run is byte for byte unchanged" {
	recorded_gate
	COLUMNS=60 run wf rerun gate judge --model claude
	assert_success
	assert_line --index 0 "run 'gate', step 'judge' (ai-prompt), pass 1 of 1: model call 1 of 1 asked again"
	assert_line --index 1 "old: gpt (fake-openai:gpt-te | new: claude (fake-anthropic:"
	assert_line --index 2 "st)                          | claude-test)"
	assert_line --index 3 "-----------------------------+------------------------------"
	assert_line --index 4 "yes                          | no"
	assert_line --index 5 '                             | the    tests \x1b[31mfail'
	assert_line "the run went on to 'ship' (check true)"
	assert_line "claude: would take 'fix' (check false) instead of 'ship'"
	assert_line --regexp '^old  gpt +100 +0 +10  \$0\.000280'
	assert_line --regexp '^new  claude +90 +50 +20  \$0\.000435'
	# no raw escape byte reached the output
	[[ $output != *$'\e'* ]]
	# the re-ask had the recorded context, on the other protocol
	run sh -c "tail -1 '$FAKE_LOG' | jq -c '[.protocol, .model, (.body.messages | map(.content))]'"
	assert_output '["anthropic","claude-test",["Is the change ready?"]]'
	assert_equal "$(fingerprint gate)" "$before"
	run wf-state get gate status
	assert_output waiting
}

@test "the same answer from another model keeps the same path; --models compares several, one per protocol" {
	recorded_gate
	run wf rerun gate judge --model llama
	assert_success
	assert_line "llama: same path: 'ship' (check true)"
	n=$(fake_provider_count)
	run wf-model rerun gate judge --models claude,gpt,llama
	assert_success
	assert_line --regexp '^new  claude '
	assert_line --regexp '^new  gpt +100 +0 +10  \$0\.000280'
	assert_line --regexp '^new  llama +[0-9]+~? .* unknown'
	assert_line "claude: would take 'fix' (check false) instead of 'ship'"
	assert_line "gpt: same path: 'ship' (check true)"
	assert_line "llama: same path: 'ship' (check true)"
	run sh -c "tail -n +$((n + 1)) '$FAKE_LOG' | jq -r .protocol | paste -sd,"
	assert_output anthropic,openai,ollama
	assert_equal "$(fingerprint gate)" "$before"
}

@test "--json: one document with the old answer and each new one, usage, cost and branch" {
	recorded_gate
	run wf rerun gate judge --models claude,llama --json
	assert_success
	doc=$output
	run jq -c '[.run, .step, .action, .pass, .call, .old.model.name, .old.text, .old.usage.input_tokens, .old.cost.usd, .old.branch.was]' <<<"$doc"
	assert_output '["gate","judge","ai-prompt",1,1,"gpt","yes",100,0.00028,"ship"]'
	run jq -c '.new[] | [.model.name, .text, .usage.cached_tokens, .cost.usd, .branch]' <<<"$doc"
	assert_line --index 0 '["claude","no\nthe\ttests \u001b[31mfail",50,0.000435,{"was":"ship","would":"fix","how":"check false","same":false}]'
	assert_line --index 1 '["llama","yes",0,null,{"was":"ship","would":"ship","how":"check true","same":true}]'
	run jq -e 'keys | map(startswith("_")) | any | not' <<<"$doc"
	assert_success
}

@test "--diff prints a unified diff of the two answers; the same answer says so" {
	recorded_gate
	run wf rerun gate judge --model claude --diff
	assert_success
	assert_output --partial "--- old: gpt (fake-openai:gpt-test)
+++ new: claude (fake-anthropic:claude-test)
@@ -1,1 +1,2 @@
-yes
+no
+the    tests \x1b[31mfail"
	run wf rerun gate judge --model gpt --diff
	assert_success
	assert_output --partial "+++ new: gpt (fake-openai:gpt-test)
(the answers are the same)"
}

@test "not an AI step (65), a step never reached or not in the workflow, an unknown model (78)" {
	recorded_gate
	run wf rerun gate prep --model claude
	assert_failure 65
	assert_output "wf-model: rerun: step 'prep' of run 'gate' is a shell step, not an AI step (ai-prompt, review-pr, make-changes, self-review): it asks no model"
	write never.yaml <<'Y'
name: never
steps:
  - id: first
    action: shell
    command: exit 1
  - id: later
    action: ai-prompt
    prompt: "never asked"
Y
	run wf run never.yaml --quiet
	assert_failure 1
	run wf rerun never later --model claude
	assert_failure 66
	assert_output "wf-model: rerun: run 'never' never reached step 'later'; the steps it reached are 'first'"
	run wf rerun gate nosuch --model claude
	assert_failure 2
	assert_output --partial "has no step 'nosuch'"
	n=$(fake_provider_count)
	run wf rerun gate judge --models claude,nosuch
	assert_failure 78
	assert_output --partial "model 'nosuch'"
	assert_equal "$(fake_provider_count)" "$n"
	run wf rerun nosuchrun judge --model claude
	assert_failure 66
	run wf rerun gate judge
	assert_failure 2
	assert_output --partial "give --model M or --models A,B,C"
	assert_equal "$(fingerprint gate)" "$before"
}

@test "a run without recordings is told how to get them (66)" {
	recorded_gate
	# as a run from before recordings has it
	rm "$(rundir gate)/calls.jsonl"
	run wf rerun gate judge --model claude
	assert_failure 66
	assert_output "wf-model: rerun: run 'gate' has no recordings of its model calls (no $(rundir gate)/calls.jsonl: it ran before wf recorded them); run the workflow again to record them"
}

@test "a provider failure during a rerun: wf-model chat's exit status and message, nothing written" {
	recorded_gate
	fake_provider_script - <<'J'
[{"error": "bad_request", "repeat": -1}]
J
	run wf rerun gate judge --model claude
	assert_failure 1
	assert_line --partial "chat 'claude' (fake-anthropic:claude-test): request rejected: HTTP 400"
	assert_line --regexp '^new  claude +failed \(exit 1\)'
	run sh -c 'wf rerun gate judge --model claude --json 2>/dev/null'
	assert_failure 1
	run jq -c '.new[0] | [.model.name, .exit_code, (.error | startswith("chat '"'"'claude'"'"'"))]' <<<"$output"
	assert_output '["claude",1,true]'
	assert_equal "$(fingerprint gate)" "$before"
}

@test "--pass picks an execution inside a loop: its own context, the conversation as it was then" {
	write loop.yaml <<'Y'
name: loop
steps:
  - id: body
    action: ai-prompt
    model: gpt
    prompt: "Once more."
  - id: again
    action: loop
    to: body
    max-iterations: 3
    on-exhausted: continue
Y
	run wf run loop.yaml --quiet
	assert_success
	before=$(fingerprint loop)
	n=$(fake_provider_count)
	run wf rerun loop body --model claude --pass 2 --json
	assert_success
	assert_equal "$(jq -c '[.pass, .passes]' <<<"$output")" '[2,3]'
	run wf rerun loop body --model claude
	assert_success
	assert_line --index 0 "run 'loop', step 'body' (ai-prompt), pass 3 of 3: model call 1 of 1 asked again"
	run sh -c "tail -n +$((n + 1)) '$FAKE_LOG' | jq -c '.body.messages | map(if (.content | type) == \"array\" then (.content | map(.text) | add) else .content end)'"
	assert_line --index 0 '["Once more.","yes","Once more."]'
	assert_line --index 1 '["Once more.","yes","Once more.","yes","Once more."]'
	run wf rerun loop body --model claude --pass 4
	assert_failure 66
	assert_output "wf-model: rerun: step 'body' of run 'loop' ran 3 times; --pass takes 1 to 3"
	run wf rerun loop body --model claude --pass 0
	assert_failure 2
	assert_equal "$(fingerprint loop)" "$before"
}

@test "a past run, by its number, is read the same way" {
	write once.yaml <<'Y'
name: once
steps:
  - id: judge
    action: ai-prompt
    model: gpt
    prompt: "Ready?"
    output: answer
    check: 'vars.answer == "yes"'
    on-false: stop
  - id: go
    action: shell
    command: echo go
  - id: stop
    action: shell
    command: echo stop
Y
	run wf run once.yaml --quiet
	assert_success
	id=$(wf-state runs --json | jq -r '.[] | select(.name == "once") | .id' | head -1)
	[ -n "$id" ]
	run wf rerun "$id" judge --model claude
	assert_success
	assert_line "the run went on to 'go' (check true)"
	assert_line "claude: would take 'stop' (check false) instead of 'go'"
}

@test "completion: wf rerun and wf-model rerun offer runs, the AI steps a run reached, model names and the options" {
	recorded_gate
	source "$REPO_ROOT/completions/wf.bash"
	for cmd in "wf rerun" "wf-model rerun"; do
		read -ra w <<<"$cmd"
		complete_line "${w[@]}" ""
		has_reply gate
		complete_line "${w[@]}" gate ""
		assert_equal "$(replies)" judge
		complete_line "${w[@]}" gate judge --model c
		assert_equal "$(replies)" claude
		complete_line "${w[@]}" gate judge --models gpt,l
		assert_equal "$(replies)" gpt,llama
		complete_line "${w[@]}" gate judge --
		assert_equal "$(replies)" "--diff --help --json --model --models --pass"
	done
}
