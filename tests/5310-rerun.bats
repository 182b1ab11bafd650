#!/usr/bin/env bats
# wf rerun (wf-model rerun): one AI step of a run asked again of another
# model, on the fake provider; the run itself is never changed.
load helpers
load fake-provider
load fake-forge

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

# gpt (OpenAI) says yes; claude (Anthropic) says no, in two lines with a
# tab and an escape; llama (Ollama) says yes as well.
script() {
	cat <<'J'
{"responses": [
 {"match": {"model": "gpt-test"}, "text": "yes", "repeat": -1, "usage": {"input": 100, "output": 10}},
 {"match": {"model": "claude-test"}, "text": "no\nthe\ttests \u001b[31mfail\u009b2J", "repeat": -1,
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
	assert_line --index 5 '                             | the\ttests \e[31mfail\u009b2'
	assert_line --index 6 '                             | J'
	assert_line "the run went on to 'ship' (check true)"
	assert_line "claude: would take 'fix' (check false) instead of 'ship'"
	assert_line --regexp '^old  gpt +100 +0 +10  \$0\.000280'
	assert_line --regexp '^new  claude +90 +50 +20  \$0\.000435'
	# no raw escape byte, nor the C1 CSI (U+009B, as UTF-8), reached the output
	[[ $output != *$'\e'* ]]
	[[ $output != *$'\xc2\x9b'* ]]
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
	run jq -c '.new[] | [.model.name, (.text | if startswith("no") then . == "no\nthe\ttests \u001b[31mfail\u009b2J" else . end), .usage.cached_tokens, .cost.usd, .branch]' <<<"$doc"
	assert_line --index 0 '["claude",true,50,0.000435,{"was":"ship","would":"fix","how":"check false","same":false}]'
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
+the\ttests \e[31mfail\u009b2J"
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
		assert_equal "$(replies)" "--call --diff --help --json --model --models --pass"
	done
}

# ---- the seed's pr-review-loop: review-pr, make-changes, self-review ----

LOOP="$EXAMPLES/pr-review-loop.yaml"

# The loop run for real (a repository with a bare origin, the fake forge,
# glm added to the models): glm's first review (s3) asks for a change, the
# patch is applied and pushed, gpt's review (s7) approves, so the run goes
# on to s11 (self-review), merges and syncs.  Every file of the run is
# fingerprinted in $before.
recorded_loop() {
	local patch
	patch=$(printf -- '--- a/greet.py\n+++ b/greet.py\n@@ -3,2 +3,2 @@\n def farewell(name):\n-    return "bye " + name\n+    return "goodbye " + name\n')
	jq -n --arg patch "$patch" '[
	 {"match": {"prompt_contains": "Write a title and a description"},
	  "text": "{\"title\": \"Add farewell\", \"body\": \"Adds farewell().\"}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "glm-test"}, "repeat": -1,
	  "usage": {"input": 400, "output": 40},
	  "text": "{\"approved\": false, \"summary\": \"Say goodbye, not bye.\", \"comments\": [{\"path\": \"greet.py\", \"line\": 4, \"body\": \"use goodbye\"}]}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "gpt-test"},
	  "usage": {"input": 500, "output": 30},
	  "text": "```json\n{\"approved\": true, \"summary\": \"Looks good now.\", \"comments\": []}\n```"},
	 {"match": {"prompt_contains": "Change the code to address the review"},
	  "text": ("Here is the patch:\n```diff\n" + $patch + "\n```\n")},
	 {"match": {"prompt_contains": "Write a git commit message"}, "text": "Say goodbye in farewell()"},
	 {"match": {"prompt_contains": "Write a self-review comment"}, "text": "Changed bye to goodbye, as the review asked."},
	 {"match": {"model": "claude-test"}, "repeat": -1, "usage": {"input": 450, "output": 25},
	  "text": "{\"approved\": true, \"summary\": \"Fine by me.\", \"comments\": []}"}
	]' | fake_provider_script -
	forge_repo
	fake_forge_start
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	sed -i 's/^models:$/models:\n  glm: {provider: fake-openai, model: glm-test, prices: {input: 1, output: 2}}/' "$WF_MODELS"
	run wf run "$LOOP" --yes
	assert_success
	assert_output --partial "#1 approved: Looks good now."
	before=$(fingerprint pr-review-loop)
}

@test "pr-review-loop: gpt's approving review asked of glm requests changes: s8 instead of s11, with the very prompt the run sent" {
	recorded_loop
	n=$(fake_provider_count)
	COLUMNS=100 run wf rerun pr-review-loop s7 --model glm
	assert_success
	assert_line --index 0 "run 'pr-review-loop', step 's7' (review-pr), pass 1 of 1: model call 1 of 1 asked again"
	assert_line --index 1 --regexp '^old: gpt \(fake-openai:gpt-test\) +\| new: glm \(fake-openai:glm-test\)$'
	assert_line --index 3 --regexp '^```json +\| \{"approved": false, "summary": "Say goodbye,'
	assert_line --index 4 --regexp '^\{"approved": true, "summary": "Looks good +\| not bye\.", "comments": '
	assert_line --regexp '^old  gpt +500 +0 +30  \$0\.001240 +approved$'
	assert_line --regexp '^new  glm +400 +0 +40  \$0\.000480 +changes requested$'
	assert_line "the run went on to 's11' (check true)"
	assert_line "glm: would take 's8' (check false) instead of 's11'"
	# One call, to glm, with the recorded system text and messages byte for
	# byte, which are the ones the run itself sent gpt for s7.
	assert_equal "$(fake_provider_count)" $((n + 1))
	rec=$(jq -c 'select(.step == "s7") | [{role: "system", content: .key.system}] + .key.messages' "$(rundir pr-review-loop)/calls.jsonl")
	[ "$(jq -r 'length' <<<"$rec")" = 2 ]
	run sh -c "tail -1 '$FAKE_LOG' | jq -c '[.protocol, .model, .body.messages]'"
	assert_output "[\"openai\",\"glm-test\",$rec]"
	run jq -c 'select(.model == "gpt-test" and (.body.messages[-1].content | contains("Review the pull request below"))) | .body.messages' "$FAKE_LOG"
	assert_output "$rec"
	# --json: both verdicts and branches; claude (Anthropic) approves as gpt did.
	run wf rerun pr-review-loop s7 --models glm,claude --json
	assert_success
	doc=$output
	run jq -c '[.action, .call, .calls, .old.model.name, .old.verdict, .old.branch, .old.usage.input_tokens, .old.cost.usd]' <<<"$doc"
	assert_output '["review-pr",1,1,"gpt","approved",{"was":"s11","how":"check true"},500,0.00124]'
	run jq -c '.new[] | [.model.name, .verdict, .branch, .usage.input_tokens, .usage.output_tokens, .cost.usd]' <<<"$doc"
	assert_line --index 0 '["glm","rejected",{"was":"s11","would":"s8","how":"check false","same":false},400,40,0.00048]'
	assert_line --index 1 '["claude","approved",{"was":"s11","would":"s11","how":"check true","same":true},450,25,0.001725]'
	# the Anthropic request carried the same system text and conversation
	run jq -c --argjson rec "$rec" '[.protocol, .body.messages == $rec[1:], (.body.system | if type == "array" then map(.text) | join("") else . end) == $rec[0].content]' \
		<<<"$(tail -1 "$FAKE_LOG")"
	assert_output '["anthropic",true,true]'
	# Nothing of the run, the repository or the forge changed.
	assert_equal "$(fingerprint pr-review-loop)" "$before"
	run wf-state get pr-review-loop status
	assert_output completed
}

@test "pr-review-loop: make-changes and self-review say their path is unknown and why; a review that does not branch keeps its path" {
	recorded_loop
	reqs=$(forge_requests '.' | wc -l)
	head=$(origin_git rev-parse --all | sort)
	run wf rerun pr-review-loop s4 --model claude
	assert_success
	assert_line --index 0 "run 'pr-review-loop', step 's4' (make-changes), pass 1 of 1: model call 1 of 1 asked again"
	assert_line --regexp '^old  glm +145 +0 +21  \$0\.000[0-9]+$'
	assert_line "the run went on to 's5' (next in order)"
	assert_line "claude: path unknown: make-changes acts on the answer (it applies a patch); a rerun does not, so its result is unknown"
	run wf rerun pr-review-loop s11 --model claude --json
	assert_success
	run jq -c '[.action, .old.model.name, .old.text, (.old | has("verdict")), .old.branch, (.new[0] | has("verdict")), .new[0].branch]' <<<"$output"
	assert_output '["self-review","gpt","Changed bye to goodbye, as the review asked.",false,{"was":"s12","how":"next in order"},false,{"was":"s12","same":null,"why":"self-review acts on the answer (it posts a comment); a rerun does not, so its result is unknown"}]'
	run wf rerun pr-review-loop s11 --model claude
	assert_line "claude: path unknown: self-review acts on the answer (it posts a comment); a rerun does not, so its result is unknown"
	# s3 has no check: glm asked for changes, claude approves, the path is the same
	run wf rerun pr-review-loop s3 --model claude
	assert_success
	assert_line --regexp '^old  glm +400 +0 +40  \$0\.000480 +changes requested$'
	assert_line --regexp '^new  claude +450 +0 +25  \$0\.001725 +approved$'
	assert_line "claude: same path: 's4' (next in order)"
	# nothing applied, pushed, posted or merged
	run git status --porcelain
	assert_output ""
	assert_equal "$(origin_git rev-parse --all | sort)" "$head"
	assert_equal "$(forge_requests '.' | wc -l)" "$reqs"
	assert_equal "$(fingerprint pr-review-loop)" "$before"
}

@test "an execution that asked twice: the last call by default (call 2 of 2), --call 1 the first, --call past the end refused" {
	fake_provider_script - <<'J'
[{"match": {"prompt_contains": "Your answer was not valid JSON"}, "text": "{\"ready\": true}", "usage": {"input": 60, "output": 6}},
 {"match": {"model": "gpt-test"}, "text": "Ready: yes.", "usage": {"input": 40, "output": 4}},
 {"match": {"model": "claude-test"}, "repeat": -1, "text": "{\"ready\": false}", "usage": {"input": 50, "output": 5}}]
J
	write twice.yaml <<'Y'
name: twice
steps:
  - id: ask
    action: ai-prompt
    model: gpt
    prompt: "Is it ready?"
    format: json
    output: verdict
    check: 'vars.verdict == "{\"ready\":true}"'
    on-false: hold
  - id: go
    action: shell
    command: echo go
  - id: hold
    action: shell
    command: echo hold
Y
	run wf run twice.yaml --quiet
	assert_success
	run jq -s -c 'map([.step, .answer.text])' "$(rundir twice)/calls.jsonl"
	assert_output '[["ask","Ready: yes."],["ask","{\"ready\": true}"]]'
	before=$(fingerprint twice)
	n=$(fake_provider_count)
	run wf rerun twice ask --model claude
	assert_success
	assert_line --index 0 "run 'twice', step 'ask' (ai-prompt), pass 1 of 1: model call 2 of 2 asked again"
	assert_line --regexp '^old  gpt +60 +0 +6  '
	assert_line "the run went on to 'go' (check true)"
	assert_line "claude: would take 'hold' (check false) instead of 'go'"
	# the repair request, as the run sent it
	run sh -c "tail -1 '$FAKE_LOG' | jq -r '.body.messages[-1].content'"
	assert_output --partial "Your answer was not valid JSON"
	assert_output --partial "Ready: yes."
	run wf rerun twice ask --model claude --call 1 --json
	assert_success
	run jq -c '[.call, .calls, .old.text, .old.usage.input_tokens, .old.branch.was, .new[0].branch.would]' <<<"$output"
	assert_output '[1,2,"Ready: yes.",40,"go","hold"]'
	run sh -c "tail -1 '$FAKE_LOG' | jq -c '.body.messages | map(.content)'"
	assert_output '["Is it ready?"]'
	run wf rerun twice ask --model claude --call 3
	assert_failure 66
	assert_output "wf-model: rerun: run 'twice': pass 1 of step 'ask' made 2 model calls; --call takes 1 to 2"
	run wf rerun twice ask --model claude --call 0
	assert_failure 2
	assert_output "wf-model: rerun: --call wants a call number from 1, not '0'"
	assert_equal "$(fake_provider_count)" $((n + 2))
	assert_equal "$(fingerprint twice)" "$before"
}
