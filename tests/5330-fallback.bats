#!/usr/bin/env bats
# Fallbacks that are visible (wf-model(1), "Fallbacks"): ordered lists in
# models.yaml and on a step, when a call falls back and when it never
# does, each switch in the journal, wf status, the summary, wf logs and
# wf report, the answering model's price in the usage and the budget, a
# review naming the model that gave it, and wf-model killed mid-fallback.
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

# Give model alias $1 of the fake's models.yaml the fallback $2 (YAML).
fallback_of() {
	sed -i "s/^  $1: {/  $1: {fallback: $2, /" "$WF_MODELS"
}

# The fake (restarted) with model $1 failing with error $2 every time and
# model $3 answering as the script fields $4 say; models.yaml on it, with
# alias $5's fallback $6.
one_down() {
	fake_provider_stop
	fake_provider_start - <<J
[{"match": {"model": "$1"}, "error": "$2", "repeat": -1},
 {"match": {"model": "$3"}, $4, "repeat": -1}]
J
	fake_models
	fallback_of "$5" "$6"
}

# A one-step ai-prompt workflow f.yaml whose step has model $1 and the extra line $2.
ask_workflow() {
	write f.yaml <<Y
name: f
steps:
  - id: ask
    action: ai-prompt
    model: $1
    prompt: "who answers?"
${2:+    $2}
Y
}

# The models the fake was asked, in order, on one line.
asked() {
	jq -r .model "$FAKE_LOG" | paste -sd' '
}

# The run's fallback events, one compact line each.
fallback_events() {
	wf-state history "$1" | jq -c 'select(.event=="fallback") | [.step, .from, .to, .reason, .status, .attempts]'
}

@test "a 529 past the retries falls back to the next model of the list; journal, progress, status, summary, logs and report say so" {
	one_down claude-test overloaded llama3.2:latest '"text": "llama here"' claude "[llama, gpt]"
	ask_workflow claude
	run --separate-stderr wf run f.yaml
	assert_success
	assert_output "llama here"
	# Two attempts at claude (one retry), then llama: gpt is never asked.
	assert_equal "$(asked)" "claude-test claude-test llama3.2:latest"
	[[ $stderr == *"ask: 'claude' failed (overloaded: HTTP 529); fell back to 'llama'"* ]]
	[[ $stderr =~ \[1/1\]\ ask\ ok\ [0-9.]+s,\ model\ llama ]]
	[[ $stderr == *"f: completed 1 step in "*", 1 fallback; llama: 1 call"* ]]
	assert_equal "$(fallback_events f)" '["ask","claude","llama","overloaded: HTTP 529",529,2]'
	# Journaled before the step's end.
	run sh -c "wf-state history f | jq -r 'select(.event==\"fallback\" or .event==\"step-end\") | .event' | paste -sd' '"
	assert_output "fallback step-end"
	run wf-state get f fallbacks
	assert_success
	assert_equal "$(jq -c 'map([.step, .from, .to])' <<<"$output")" '[["ask","claude","llama"]]'
	run wf status f
	assert_success
	assert_line "fallbacks:"
	assert_line "  ask: 'claude' failed (overloaded: HTTP 529); fell back to 'llama'"
	run wf logs f
	assert_success
	assert_line "== ask: 'claude' failed (overloaded: HTTP 529); fell back to 'llama'"
	run wf report f -o -
	assert_success
	assert_output --partial "<dt>fallback</dt><dd>&#39;claude&#39; failed (overloaded: HTTP 529); fell back to &#39;llama&#39;</dd>"
}

@test "a bad key, a forbidden model, a bad request and a context too long never fall back" {
	ask_workflow gpt
	for e in auth:78 forbidden:78 bad_request:1 context_length:1; do
		one_down gpt-test "${e%%:*}" claude-test '"text": "must not answer"' gpt "[claude]"
		run --separate-stderr wf run f.yaml --restart
		assert_failure 1
		refute_output --partial "must not answer"
		# One request, to the first model only: not retried, no fallback.
		assert_equal "$(asked)" "gpt-test"
		[[ $stderr != *"fell back"* ]]
		assert_equal "$(fallback_events f)" ""
		run sh -c "wf-state history f | jq -r 'select(.event==\"step-end\") | .exit_code'"
		assert_output "${e##*:}"
	done
}

@test "a quota or a spend limit falls back at once, without retrying the model that has none left" {
	for e in quota spend_limit; do
		one_down gpt-test "$e" claude-test '"text": "claude pays"' gpt claude
		ask_workflow gpt
		run --separate-stderr wf run f.yaml --restart
		assert_success
		assert_output "claude pays"
		assert_equal "$(asked)" "gpt-test claude-test"
		assert_equal "$(fallback_events f)" '["ask","gpt","claude","quota or spend limit: HTTP 429",429,1]'
	done
}

@test "fallback: never on a step stops at the first model, whatever models.yaml lists" {
	one_down gpt-test overloaded claude-test '"text": "must not answer"' gpt "[claude]"
	ask_workflow gpt "fallback: never"
	run --separate-stderr wf run f.yaml
	assert_failure 1
	assert_equal "$(asked)" "gpt-test gpt-test"
	assert_equal "$(fallback_events f)" ""
	run wf status f
	refute_output --partial "fallbacks:"
	# Only "never" is a value of fallback, only on a step that calls a model, never beside a list.
	ask_workflow gpt "fallback: sometimes"
	run --separate-stderr wf-parse f.yaml
	assert_failure 65
	[[ $stderr == *"f.yaml:7:"*"never"* ]]
	ask_workflow "[gpt, claude]" "fallback: never"
	run --separate-stderr wf-parse f.yaml
	assert_failure 65
	[[ $stderr == *"f.yaml:7:5: 'fallback: never' and a list of models in 'model' say opposite things: keep one"* ]]
	write s.yaml <<'Y'
name: s
steps:
  - {id: sh, action: shell, command: "true", fallback: never}
Y
	run --separate-stderr wf-parse s.yaml
	assert_failure 65
	[[ $stderr == *"s.yaml:3:"*"'fallback' is for a step that calls a model; action 'shell' calls none"* ]]
}

@test "a step's model: [a, b, c] replaces the configured list; a and b down, c answers; each protocol fails once" {
	fake_provider_start - <<'J'
[{"match": {"model": "llama3.2:latest"}, "error": "server", "repeat": -1},
 {"match": {"model": "gpt-test"}, "error": "overloaded", "repeat": -1},
 {"match": {"model": "claude-test"}, "text": "third time", "repeat": -1}]
J
	fake_models
	# llama's own list would go straight to claude: the step's list goes by gpt first.
	fallback_of llama "[claude]"
	ask_workflow "[llama, gpt, claude]"
	run wf-parse f.yaml
	assert_success
	assert_equal "$(jq -c '.steps[0] | [.model, .fallbacks]' <<<"$output")" '["llama",["gpt","claude"]]'
	run --separate-stderr wf run f.yaml
	assert_success
	assert_output "third time"
	assert_equal "$(asked)" "llama3.2:latest llama3.2:latest gpt-test gpt-test claude-test"
	assert_equal "$(fallback_events f)" '["ask","llama","gpt","server error: HTTP 500",500,2]
["ask","gpt","claude","overloaded: HTTP 503",503,2]'
	[[ $stderr == *"f: completed 1 step in "*", 2 fallbacks; claude: 1 call"* ]]
}

@test "a step's model list must hold model names: an empty list or a number is refused at its line" {
	ask_workflow "[]"
	run --separate-stderr wf-parse f.yaml
	assert_failure 65
	[[ $stderr == *"f.yaml:5:"*"'model' lists no model"* ]]
	ask_workflow "[gpt, 3]"
	run --separate-stderr wf-parse f.yaml
	assert_failure 65
	[[ $stderr == *"f.yaml:5:"*"'model': item 2 must be a model name, not a number"* ]]
}

@test "models.yaml: a fallback cycle is refused with its path and line:col; so is a list item that is no name" {
	fake_provider_start - <<'J'
{"default": {"text": "never asked", "repeat": -1}}
J
	fake_models
	fallback_of gpt "[claude]"
	fallback_of claude llama
	fallback_of llama "[gpt]"
	run --separate-stderr wf-model list
	assert_failure 78
	line=$(grep -n '^  gpt:' "$WF_MODELS" | cut -d: -f1)
	[[ $stderr == *"models.yaml:$line:3: model 'gpt': fallback: a cycle (gpt -> claude -> llama -> gpt)"* ]]
	ask_workflow gpt
	run --separate-stderr wf run f.yaml
	assert_failure 78
	[[ $stderr == *"a cycle (gpt -> claude -> llama -> gpt)"* ]]
	assert_equal "$(fake_provider_count)" 0
	fake_models
	fallback_of gpt "[claude, 7]"
	run --separate-stderr wf-model list
	assert_failure 78
	[[ $stderr == *"models.yaml:$line:"*"fallback: item 2 must be a model name, not a number"* ]]
}

@test "the fallback's price: its tokens and dollars in the usage; a budget it would cross stops the run before the call" {
	one_down gpt-test overloaded claude-test '"text": "priced", "usage": {"input": 1000, "output": 100}' gpt "[claude]"
	ask_workflow gpt
	run --separate-stderr wf run f.yaml
	assert_success
	# claude at 3 and 15 dollars a million: 0.003 + 0.0015.
	run wf-state get f usage
	assert_equal "$(jq -c 'to_entries | map([.key, .value.input_tokens, .value.output_tokens, .value.usd])' <<<"$output")" '[["claude",1000,100,0.0045]]'
	run wf-state get f step_usage
	assert_equal "$(jq -c '.ask | keys' <<<"$output")" '["claude"]'
	# A long prompt: about 750 tokens, $0.00225 at claude's input price, more than the $0.002 budget.
	long=$(head -c 3000 /dev/zero | tr '\0' x)
	# gpt's own call fits the budget's gate: 750 tokens in and 10 out, $0.00158.
	sed -i 's/model: gpt-test, /model: gpt-test, output_tokens: 10, /' "$WF_MODELS"
	write b.yaml <<Y
name: b
budget: {usd: 0.002}
steps:
  - id: ask
    action: ai-prompt
    model: gpt
    prompt: "$long"
Y
	before=$(fake_provider_count)
	run --separate-stderr wf run b.yaml
	assert_failure 1
	[[ $stderr == *"fallback to 'claude' not tried: at its price the prompt alone would cost about \$0.002250, more than the \$0.002000 left of the budget"* ]]
	# gpt was asked (twice); claude never.
	assert_equal "$(tail -n +$((before + 1)) "$FAKE_LOG" | jq -r .model | paste -sd' ')" "gpt-test gpt-test"
	assert_equal "$(fallback_events b)" ""
	# With room in the budget the same run falls back.
	sed -i 's/usd: 0.002/usd: 0.01/' b.yaml
	run --separate-stderr wf run b.yaml --restart
	assert_success
	assert_equal "$(fallback_events b)" '["ask","gpt","claude","overloaded: HTTP 503",503,2]'
}

@test "a review-pr verdict from the fallback model names it: in the review posted, the step's output and review_model" {
	forge_repo
	fake_forge_start
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	write open.yaml <<'Y'
name: open
steps:
  - {id: p, action: create-pr, title: Add farewell, body: Adds farewell().}
Y
	one_down gpt-test overloaded claude-test \
		'"text": "{\"approved\": false, \"summary\": \"Needs a test.\", \"comments\": []}"' gpt "[claude]"
	wf run open.yaml --yes --quiet
	write rev.yaml <<'Y'
name: rev
steps:
  - id: r
    action: review-pr
    model: gpt
Y
	run --separate-stderr wf run rev.yaml --yes --var pr_number=1
	assert_success
	assert_output --partial "#1 changes requested: Needs a test. [model claude]"
	run forge_state '.reviews["1"][0].body'
	assert_output --partial 'Review by model `claude`, standing in for `gpt`, which was unavailable'
	run wf-state get rev vars.review_model
	assert_output claude
	assert_equal "$(fallback_events rev)" '["r","gpt","claude","overloaded: HTTP 503",503,2]'
}

@test "kill -9 of wf-model while its fallback is asked: the step fails as any model crash does, never retried in silence" {
	one_down gpt-test overloaded claude-test '"delay": 60, "text": "too late"' gpt "[claude]"
	ask_workflow gpt
	wf run f.yaml --quiet 2>"$BATS_TEST_TMPDIR/run.err" &
	RUNNER=$!
	# The fallback has been asked: the fake has its request.
	wait_until grep -q '"model": *"claude-test"' "$FAKE_LOG"
	stepper=$(pgrep -P "$RUNNER" -x wf-step)
	model=$(pgrep -P "$stepper" -x wf-model)
	[ -n "$model" ]
	kill -9 "$model"
	rc=0
	wait "$RUNNER" || rc=$?
	RUNNER=
	[ "$rc" = 1 ]
	# Nothing asked after the kill: no second try of either model.
	assert_equal "$(asked)" "gpt-test gpt-test claude-test"
	run sh -c "wf-state history f | jq -r 'select(.event==\"step-end\") | [.status, .error] | join(\" \")'"
	assert_output --partial "failed"
	assert_output --partial "wf-model"
	run grep -c "falling back to 'claude'" "$BATS_TEST_TMPDIR/run.err"
	assert_output 1
	assert_equal "$(fallback_events f)" ""
}
