#!/usr/bin/env bats
# wf run --estimate: per step and in total, from the prompts or from this
# project's earlier runs, each number with its basis; --budget, journaled
# and shown, raised on resume, and the step where a budget is crossed.
load helpers
load fake-forge
load fake-provider
bats_require_minimum_version 1.5.0

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

point_models() {
	fake_models_pair ", output_tokens: 40" free glm
}

# The estimate EST of a run against its actual usage ACTUAL (state.usage): "within", or the ratios.
within_20() {
	jq -nr --argjson e "$1" --argjson a "$2" '
		($a | [.[] | .input_tokens + .output_tokens] | add) as $at | ($a | [.[].usd] | add) as $au |
		(($e.total.input_tokens + $e.total.output_tokens) / $at) as $rt | ($e.total.cost_usd / $au) as $ru |
		if ($rt - 1 | fabs) <= 0.2 and ($ru - 1 | fabs) <= 0.2 then "within" else "off \($rt) \($ru)" end'
}

setup() {
	wf_setup
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply {n}", "usage": {"input": 100, "output": 20}}}
J
	point_models
	write two.yaml <<'Y'
name: two
steps:
  - id: ask
    action: ai-prompt
    prompt: "${greeting} world, in a sentence"
  - id: again
    action: ai-prompt
    prompt: "Shorter: ${steps.ask.output}"
Y
}

@test "with no earlier run the estimate comes from the prompts, as computed by hand" {
	run --separate-stderr wf run two.yaml --estimate --json --var greeting=hello
	assert_success
	est=$output
	# "hello world, in a sentence": 26 bytes, 4 bytes a token rounded up: 7; output_tokens: 40.
	run jq -r '.basis, (.steps[0] | "\(.step) \(.model) \(.calls) \(.input_tokens) \(.output_tokens) \(.cost_usd) \(.basis)")' <<<"$est"
	assert_output $'prompt\nask glm 1 7 40 8.7e-05 prompt'
	# "Shorter: " is 9 bytes (3 tokens), the unknown output counts 500, the transcript 7 + 40.
	run jq -r '.steps[1] | "\(.input_tokens) \(.output_tokens) \(.why)"' <<<"$est"
	assert_output --regexp '^550 40 prompt: 3 tokens of prompt after substitution with references not known yet \(500 tokens each\), 47 of transcript; output 40 \(output_tokens of model .glm.\); 1 pass$'
	run jq -r '.total | "\(.calls) \(.input_tokens) \(.output_tokens) \(.cost_usd)"' <<<"$est"
	assert_output "2 557 80 0.000717"
	run wf run two.yaml --estimate --var greeting=hello
	assert_line --regexp '^two: estimate before running \(basis: prompts\)$'
	assert_line --regexp '^  ask +ai-prompt +glm +1 +7 +40  \$0\.000087$'
	assert_line --partial "note: no completed run of 'two' in this project"
	# Nothing ran, nothing was asked.
	run fake_provider_count
	assert_output 0
}

@test "after one run the estimate of the next is within 20% of what it uses" {
	fake_provider_script - <<'J'
{"responses": [
  {"usage": {"input": 1000, "output": 200}}, {"usage": {"input": 1500, "output": 260}},
  {"usage": {"input": 1100, "output": 180}}, {"usage": {"input": 1400, "output": 300}}],
 "default": {"status": 500}}
J
	wf run two.yaml --quiet --var greeting=hi
	run wf run two.yaml --estimate --json --var greeting=hi
	assert_success
	est=$output
	run jq -r '.basis, .runs, .steps[0].why' <<<"$est"
	assert_output --regexp $'^history\n1\nhistory: 1 run, mean ± spread: calls 1\\.0 ± 0\\.0, input 1000 ± 0, output 200 ± 0 tokens'
	wf run two.yaml --quiet --var greeting=hi
	run within_20 "$est" "$(wf-state get two usage)"
	assert_output within
	# Two runs now: the mean and its spread.
	run wf run two.yaml --estimate --json --var greeting=hi
	run jq -r '.runs, .steps[0].input_tokens, .steps[0].spread.input_tokens' <<<"$output"
	assert_output $'2\n1050\n71'
}

@test "a loop's steps count their observed passes; without history one pass is assumed, its maximum stated" {
	write lp.yaml <<'Y'
name: lp
steps:
  - id: think
    action: ai-prompt
    prompt: "again"
  - id: more
    action: loop
    to: think
    condition: "true"
    max-iterations: 3
    on-exhausted: continue
Y
	run wf run lp.yaml --estimate --json
	run jq -r '.steps[0] | "\(.calls) \(.passes) \(.max_passes)", .why' <<<"$output"
	assert_line "1 1 3"
	assert_line --partial "1 pass assumed (at most 3 in its loop)"
	wf run lp.yaml --quiet
	run wf run lp.yaml --estimate --json
	run jq -r '.steps[0] | "\(.calls) \(.passes) \(.input_tokens) \(.output_tokens)"' <<<"$output"
	assert_output "3 3 300 60"
	# The budget is crossed in the loop's third pass, not at its first: 120 tokens a pass.
	run wf run lp.yaml --estimate --budget 300tokens
	assert_line "  the budget of 300 tokens is likely crossed at step 'think' (pass 3)"
	run wf run lp.yaml --estimate --budget 400tokens
	assert_line "  the budget of 400 tokens is likely enough"
}

@test "the budget warning names the step, in dollars too, and --budget stands over the workflow's budget:" {
	sed -i '1a budget: {usd: 5}' two.yaml
	run wf run two.yaml --estimate --var greeting=hi
	assert_line '  the budget of $5.00 is likely enough'
	run wf run two.yaml --estimate --var greeting=hi --budget '$0.0001'
	assert_line "  the budget of \$0.0001 is likely crossed at step 'again' (pass 1)"
	run wf run two.yaml --estimate --json --var greeting=hi --budget 100tokens
	run jq -c '.budget, .crossing' <<<"$output"
	assert_output $'{"usd":5,"tokens":100}\n{"step":"again","pass":1,"budget":"tokens","used":635}'
}

@test "--budget takes \$DOLLARS or N tokens, and refuses anything else with 2" {
	for good in '$2.50' '$0.5' 40000tokens '40k tokens' 1.5Mtokens; do
		run wf run two.yaml --estimate --json --budget "$good" --var greeting=x
		assert_success
	done
	run wf run two.yaml --estimate --json --budget '40k tokens' --var greeting=x
	run jq -c .budget <<<"$output"
	assert_output '{"tokens":40000}'
	for bad in 2.50usd '$' 'k tokens' 12 '-3tokens' '$1e3' '1.5001ktokens' 'tokens' '$2.50 ' ''; do
		run --separate-stderr wf run two.yaml --budget "$bad"
		assert_failure 2
		[[ $stderr == *"--budget takes \$DOLLARS (e.g. \$2.50) or a whole number of tokens"* ]] ||
			{ echo "no message for '$bad': $stderr" >&2; return 1; }
	done
	run fake_provider_count
	assert_output 0
}

@test "--budget is journaled: it survives a pause and kill -9, wf status shows it, a resume raises it" {
	write slow.yaml <<'Y'
name: slow
steps:
  - id: wait
    action: shell
    command: "touch started; while [ ! -e go ]; do sleep 0.01; done"
  - id: ask
    action: ai-prompt
    prompt: "hello"
Y
	wf-run slow.yaml --quiet --budget '$2.50' &
	pid=$!
	wait_until test -e started
	kill -9 "$pid"
	wait "$pid" || true
	run wf status slow
	assert_line 'budget:   $2.50 (--budget)'
	run sh -c "wf-state history slow | jq -c 'select(.event==\"run-start\") | .budget'"
	assert_output '{"usd":2.5}'
	touch go
	# A budget of 10 tokens lets no call through: the run stops before it (4), nothing asked.
	run wf resume slow --budget 10tokens
	assert_failure 4
	assert_output --partial "budget of 10 tokens would be crossed by step 'ask'"
	assert_output --partial "wf resume slow --budget AMOUNT"
	run fake_provider_count
	assert_output 0
	run wf status slow
	assert_line 'budget:   $2.50 and 10 tokens (--budget)'
	run wf resume slow --budget 5ktokens --quiet
	assert_success
	run sh -c "wf-state history slow | jq -c 'select(.event==\"resume\") | .budget'"
	assert_output $'{"tokens":10}\n{"tokens":5000}'
	run fake_provider_count
	assert_output 1
}

@test "a budget in tokens stops the run before the call that would cross it" {
	run wf run two.yaml --var greeting=hi --budget 150tokens
	assert_failure 4
	assert_output --partial "budget of 150 tokens would be crossed by step 'again' (used 120"
	run fake_provider_count
	assert_output 1
	run wf-state get two reason
	assert_output budget
}

@test "unknown prices stay unknown, with the priced part apart" {
	write mix.yaml <<'Y'
name: mix
steps:
  - id: a
    action: ai-prompt
    prompt: "priced"
  - id: b
    action: ai-prompt
    model: free
    prompt: "not priced"
Y
	run wf run mix.yaml --estimate --json
	run jq -c '[.steps[].cost_usd], .steps[1].cost_why, .total.cost_usd, (.total.cost_known_part > 0)' <<<"$output"
	assert_output $'[8.2e-05,null]\n"no price in the model configuration"\nnull\ntrue'
	wf run mix.yaml --quiet
	run wf run mix.yaml --estimate
	assert_line --regexp '^  b +ai-prompt +free +1 +100 +20  unknown$'
	assert_line --partial "cost unknown: an earlier run's cost of this step is unknown"
	assert_line --regexp '^  total +2 +200 +40  unknown \(the priced part \$0\.000140\)$'
}

@test "--estimate --json is one document of the documented shape" {
	run --separate-stderr wf run two.yaml --estimate --json --var greeting=hi
	assert_success
	[ "$(wc -l <<<"$output")" -eq 1 ]
	run jq -e '(keys == ["basis","budget","crossing","notes","runs","steps","total","workflow"]) and
		(.steps | length == 2) and
		(.steps[0] | keys == ["action","basis","calls","cost_usd","input_tokens","max_passes","model","output_tokens","passes","spread","step","why"]) and
		(.total | keys == ["calls","cost_known_part","cost_usd","input_tokens","output_tokens","spread"]) and
		(.budget == null) and (.crossing == null) and (.notes | length == 1)' <<<"$output"
	assert_success
}

@test "an earlier run that does not read is skipped with a note, not a crash" {
	wf run two.yaml --quiet --var greeting=hi
	wf run two.yaml --quiet --var greeting=hi --name other
	dir=$(rundir other)
	printf '{"broken' > "$dir/state.json"
	printf 'not json\n' > "$dir/history.jsonl"
	run --separate-stderr wf run two.yaml --estimate --var greeting=hi
	assert_success
	assert_line "  note: run 'other' skipped: it is new, not completed"
	assert_line --partial "history: 1 run,"
}

@test "output_tokens in models.yaml is checked: a whole number of tokens, at its line" {
	sed -i 's/output_tokens: 40/output_tokens: lots/' models.yaml
	run --separate-stderr wf-model list
	assert_failure 78
	[[ $stderr == *"models.yaml:7:"*"output_tokens must be a whole number of tokens, not a string"* ]] ||
		{ echo "$stderr" >&2; return 1; }
}

@test "pr-review-loop: after one run on the fakes the estimate of the second is within 20% of its tokens and cost" {
	# The fake's usage is counted from each request (words in, words out): it grows with the diff.
	jq -n '[
	 {"match": {"prompt_contains": "Write a title and a description"}, "repeat": -1,
	  "text": "{\"title\": \"Change {n}\", \"body\": \"What it changes, and why.\"}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "glm-test"}, "repeat": -1,
	  "text": "{\"approved\": false, \"summary\": \"Document it first.\", \"comments\": [{\"path\": \"greet.py\", \"line\": 2, \"body\": \"add a note\"}]}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "gpt-test"}, "repeat": -1,
	  "text": "{\"approved\": true, \"summary\": \"Good to merge.\", \"comments\": []}"},
	 {"match": {"prompt_contains": "Change the code to address the review"}, "repeat": -1,
	  "text": "```diff\n--- /dev/null\n+++ b/note-{n}.txt\n@@ -0,0 +1 @@\n+greet returns a greeting\n```"},
	 {"match": {"prompt_contains": "Write a git commit message"}, "repeat": -1, "text": "Add a note"},
	 {"match": {"prompt_contains": "Write a self-review comment"}, "repeat": -1, "text": "Added the note the review asked for."}
	]' > "$BATS_TEST_TMPDIR/loop.json"
	forge_repo
	fake_forge_start --allow-self-review
	fake_provider_start "$BATS_TEST_TMPDIR/loop.json" loop
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	sed -i 's/^models:$/models:\n  glm: {provider: fake-openai, model: glm-test, prices: {input: 0.6, output: 2.2}}/' "$WF_MODELS"
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	wf run "$EXAMPLES/pr-review-loop.yaml" --quiet --yes
	# A second, larger change, proposed from main again.
	git branch -q -D wf/pr-review-loop
	git push -q origin --delete wf/pr-review-loop
	printf 'def wave(name, times=1):\n    return " ".join(["wave " + name] * times)\n' >> greet.py
	git commit -q -am "Add wave"
	run --separate-stderr wf run "$EXAMPLES/pr-review-loop.yaml" --estimate --json
	assert_success
	est=$output
	run jq -r '.basis, .runs, ([.steps[] | select(.calls > 0) | "\(.step):\(.model)"] | join(" "))' <<<"$est"
	assert_output $'history\n1\ns1:gpt s3:glm s4:glm s5:glm s7:gpt s11:gpt'
	wf run "$EXAMPLES/pr-review-loop.yaml" --quiet --yes
	run forge_state '.pulls | map([.number, .merged])'
	assert_output '[[1,true],[2,true]]'
	run within_20 "$est" "$(wf-state get pr-review-loop usage)"
	assert_output within
}

@test "a dollar budget the next call would cross stops the run before it, with the figures; a resume with more goes on" {
	# ask: 6 tokens of prompt and 40 of output at $1/$2 a million: $0.000086, under $0.0002.
	# again, after ask cost $0.00014: 4 tokens of prompt, 8 of transcript, 40 out: $0.000092 more.
	run --separate-stderr wf run two.yaml --var greeting=hi --budget '$0.0002'
	assert_failure 4
	[[ $stderr == *"budget of \$0.0002 would be crossed by step 'again' (used \$0.000140, this call about \$0.000092 more: 12 tokens in, 40 out to model 'glm', from the prompt after substitution"* ]] ||
		{ echo "$stderr" >&2; return 1; }
	[[ $stderr == *"wf resume two --budget AMOUNT"* ]] || { echo "$stderr" >&2; return 1; }
	# The fake got the first call only: none for 'again'.
	run fake_provider_count
	assert_output 1
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG'"
	assert_output "hi world, in a sentence"
	run wf-state get two reason
	assert_output budget
	run wf resume two --budget '$0.001' --quiet
	assert_success
	run fake_provider_count
	assert_output 2
	run wf-state get two status
	assert_output completed
}

@test "a token budget exactly met is not crossed; one token less stops the run" {
	run --separate-stderr wf run two.yaml --var greeting=hi --budget 171tokens
	assert_failure 4
	[[ $stderr == *"budget of 171 tokens would be crossed by step 'again' (used 120, this call about 52 more: 12 in, 40 out, from the prompt"* ]] ||
		{ echo "$stderr" >&2; return 1; }
	run fake_provider_count
	assert_output 1
	# 120 used and 52 expected meet 172 exactly: the call is made.
	run wf resume two --budget 172tokens --quiet
	assert_success
	run fake_provider_count
	assert_output 2
}

@test "with an earlier run the gate takes the step's mean per call from it, the same figure the estimate shows" {
	wf run two.yaml --quiet --var greeting=hi
	run wf run two.yaml --estimate --json --var greeting=hi
	run jq -r '.steps[1] | "\(.calls) \(.input_tokens + .output_tokens)"' <<<"$output"
	assert_output "1 120"
	# 120 used by 'ask' and 120 expected of 'again' cross 239 tokens, not 240.
	run --separate-stderr wf run two.yaml --quiet --var greeting=hi --budget 239tokens
	assert_failure 4
	[[ $stderr == *"budget of 239 tokens would be crossed by step 'again' (used 120, this call about 120 more: 100 in, 20 out, from the mean per call of this step in 1 earlier run)"* ]] ||
		{ echo "$stderr" >&2; return 1; }
	run wf run two.yaml --quiet --var greeting=hi --budget 240tokens
	assert_success
}

@test "a call whose price is unknown is not checked in dollars, and the run says so once" {
	sed -i 's/^default: glm$/default: free/' models.yaml
	run --separate-stderr wf run two.yaml --var greeting=hi --budget '$0.000001'
	assert_success
	[ "$(grep -c 'cannot be checked' <<<"$stderr")" -eq 1 ] || { echo "$stderr" >&2; return 1; }
	[[ $stderr == *"the dollar budget of \$0.000001 cannot be checked for step 'ask': the cost of its calls to model 'free' is unknown (no price in the model configuration); their tokens still count against a token budget"* ]] ||
		{ echo "$stderr" >&2; return 1; }
	run fake_provider_count
	assert_output 2
	# Its tokens do count: a token budget stops it.
	sed -i '1a budget: {usd: 0.000001}' two.yaml
	run --separate-stderr wf run two.yaml --var greeting=hi --budget 150tokens
	assert_failure 4
	[[ $stderr == *"budget of 150 tokens would be crossed by step 'again' (used 120,"* ]] || { echo "$stderr" >&2; return 1; }
	run fake_provider_count
	assert_output 3
}
