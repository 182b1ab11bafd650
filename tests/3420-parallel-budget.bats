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
{"responses": [], "default": {"text": "reply {n}", "usage": {"input": 1, "output": 40}, "wait_requests": $1, "wait_timeout": ${2:-60}}}
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

# Has the fake had N requests or more?
requests_at_least() {
	[ -s "$FAKE_LOG" ] && [ "$(fake_provider_count)" -ge "$1" ]
}

# Tokens the run's branches used in all, from their states.
branch_tokens() {
	cat "$(rundir fan)"/sub/fan/*/state.json | jq -s '[.[].usage[]? | .input_tokens + .output_tokens] | add // 0'
}

@test "four branches at once share a budget of three calls: three calls in flight together, the fourth refused (exit 4, reason budget)" {
	# Each call: 1 + 40 tokens, $0.000081 (glm: $1 and $2 a million); three fit, not four.
	for budget in '{tokens: 123}' '{usd: 0.00025}'; do
		rm -rf "$BATS_TEST_TMPDIR/fake-provider-fake" "$(rundir fan)"
		start_fake 3
		fan_workflow 4 "$budget"
		run --separate-stderr wf run fan.yaml --quiet
		assert_failure 4
		[[ $stderr == *"would be crossed by step 'ask'"* ]]
		# The three answered calls were all in flight before any answer (the fake held them): the window was real.
		run fake_provider_count
		assert_output 3
		run branch_tokens
		assert_output 123
		run sh -c "jq -r 'select(.event == \"branch-end\") | \"\\(.status) \\(.exit_code) \\(.reason // \"-\")\"' '$(rundir fan)/history.jsonl' | sort | uniq -c | sed 's/^ *//'"
		assert_output $'3 completed 0 -\n1 failed 4 budget'
		run jq -r '.status, .reason' "$(rundir fan)/state.json"
		refute_output --partial completed
		fake_provider_stop
	done
}

@test "kill -9 of a branch while its call holds a reservation: the others go on as if it were not there; resume refuses the call the budget has no room left for, then makes it when raised" {
	fake_provider_start - <<'J'
{"responses": [{"match": {"prompt_contains": "one"}, "text": "held", "wait_requests": 99, "wait_timeout": 120}],
 "default": {"text": "reply {n}", "usage": {"input": 1, "output": 40}}}
J
	fake_models_pair ", output_tokens: 40" free glm
	write fan.yaml <<Y
name: fan
budget: {tokens: 81}
steps:
  - id: fan
    action: parallel
    max-concurrency: 2
    on-failure: wait-all
    branches:
      - name: one
        steps:
          - {id: ask, action: ai-prompt, prompt: "one"}
      - name: two
        steps:
          - {id: wait, action: shell, command: "until [ -e '$WORK/go' ]; do sleep 0.05; done"}
          - {id: ask, action: ai-prompt, prompt: "two"}
Y
	wf run fan.yaml --quiet >out 2>err &
	runner=$!
	wait_until requests_at_least 1
	# Branch one holds its reservation of 41 tokens (1 in, 40 out) while its call is held.
	run jq -r 'select(.dir | endswith("/sub/fan/one")) | .res_tokens' "$(rundir fan)/budget-ledger"
	assert_output 41
	pid=$(jq -r 'select(.event == "branch-start" and .branch == "one") | .pid' "$(rundir fan)/history.jsonl")
	kill -9 "$pid"
	touch go
	rc=0
	wait "$runner" || rc=$?
	[ "$rc" -ne 0 ]
	# Counted, that reservation would have left two 40 tokens: its call (41) was made all the same.
	run sh -c "jq -r 'select(.event == \"branch-end\") | \"\(.branch) \(.exit_code)\"' '$(rundir fan)/history.jsonl' | sort"
	assert_output $'one 137\ntwo 0'
	run fake_provider_count
	assert_output 2
	# Branch one's call again: the budget has 40 tokens left, not the 41 it needs.
	run --separate-stderr wf resume fan --quiet
	assert_failure 4
	[[ $stderr == *"budget of 81 tokens would be crossed by step 'ask' (used 41, this call about 41 more"* ]]
	run fake_provider_count
	assert_output 2
	run --separate-stderr wf resume fan --quiet --budget 82tokens
	assert_success
	run fake_provider_count
	assert_output 3
	run branch_tokens
	assert_output 82
}

@test "a plain run with a budget, and a parallel step without one, make no ledger" {
	start_fake 1
	write plain.yaml <<'Y'
name: plain
budget: {tokens: 1000}
steps:
  - {id: ask, action: ai-prompt, prompt: "p"}
Y
	run wf run plain.yaml --quiet
	assert_success
	[ -f "$(rundir plain)/state.json" ]
	[ ! -e "$(rundir plain)/budget-ledger" ]
	fan_workflow 2 null
	run wf run fan.yaml --quiet
	assert_success
	run fake_provider_count
	assert_output 3
	[ ! -e "$(rundir fan)/budget-ledger" ]
}

@test "a hostile ledger (torn lines, foreign JSON, a live pid with another start time, a huge reservation of another step) does not count and does not block" {
	start_fake 1
	fan_workflow 2 '{tokens: 82}'
	# The run first waits at a step before the fan, for the ledger to be written over.
	sed -i "s|^steps:|steps:\n  - {id: hold, action: shell, command: \"until [ -e '$WORK/go' ]; do sleep 0.05; done\"}|" fan.yaml
	wf run fan.yaml --quiet >out 2>err &
	runner=$!
	wait_until [ -f "$(rundir fan)/history.jsonl" ]
	dir=$(rundir fan)
	{
		printf '{"pid": %d, "start": 1, "scope": "%s/sub/fan", "dir": "%s/sub/fan/b9", "path": [["fan", "b9"]], "started": "x", "tokens": 1e9, "res_tokens": 1e9}\n' $$ "$dir" "$dir"
		printf '{"pid": %d, "start": %s, "scope": "%s/sub/other", "dir": "%s/sub/other/b1", "path": [["other", "b1"]], "started": "x", "tokens": 1e9, "res_tokens": 1e9}\n' \
			$$ "$(awk '{print $22}' /proc/$$/stat)" "$dir" "$dir"
		printf '[1, 2]\n{"pid": -5}\n"text"\n{"pid": 1, "dir": 7}\n\x01\x02 not json\n'
		head -c 70000 /dev/zero | tr '\0' 'x'
		printf '\n{"pid": 1, "start": 1, "scope": "%s/sub/fan", "dir": "/etc", "path": [["..", "x"]], "started": "x", "res_tokens": 1e9' "$dir"
	} > "$dir/budget-ledger"
	touch go
	rc=0
	wait "$runner" || rc=$?
	cat err >&2
	[ "$rc" -eq 0 ]
	run fake_provider_count
	assert_output 2
	# What no longer counts is gone from the ledger: the two branches' own lines are left.
	run jq -r '.dir | sub(".*/"; "")' "$dir/budget-ledger"
	assert_output --regexp '^b[12]'$'\n''b[12]$'
}

@test "a full disk while writing the ledger: the call is not made, exit 74, and resume makes it" {
	strace -f -o /dev/null -e trace=pwrite64 -e inject=pwrite64:error=ENOSPC true 2>/dev/null || skip "ptrace not permitted here"
	start_fake 1
	fan_workflow 2 '{tokens: 1000}'
	ledger="$(rundir fan)/budget-ledger"
	# LeakSanitizer cannot work under ptrace: this one run goes without it.
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	run strace -f -o /dev/null -P "$ledger" -e trace=pwrite64 -e inject=pwrite64:error=ENOSPC wf run fan.yaml --quiet
	assert_failure
	assert_output --partial "cannot write the budget ledger"
	run fake_provider_count
	assert_output 0
	run sh -c "jq -r 'select(.event == \"branch-end\") | \"\(.exit_code) \(.reason)\"' '$(rundir fan)/history.jsonl' | sort -u"
	assert_output "74 budget ledger"
	run wf resume fan --quiet
	assert_success
	run fake_provider_count
	assert_output 2
}

@test "--estimate counts every branch: branches' steps, a for-each body once per item of a list known before the run, once with a note when it is not; then the history" {
	start_fake 1
	write est.yaml <<'Y'
name: est
budget: {tokens: 300}
variables:
  files: '["a.c", "b.c", "c.c"]'
steps:
  - id: first
    action: ai-prompt
    prompt: "pp"
  - id: fan
    action: parallel
    branches:
      - name: x
        steps:
          - {id: p1, action: ai-prompt, prompt: "12345678"}
          - {id: p2, action: shell, command: "true"}
          - {id: p3, action: ai-prompt, prompt: "1234", context: none}
      - name: y
        steps:
          - {id: q, action: ai-prompt, prompt: "1"}
  - id: each
    action: parallel
    for-each: ${files}
    as: f
    steps:
      - {id: r, action: ai-prompt, prompt: "check ${f}"}
  - id: later
    action: parallel
    for-each: ${steps.first.output}
    steps:
      - {id: s, action: ai-prompt, prompt: "z"}
Y
	run --separate-stderr wf run est.yaml --estimate --json
	assert_success
	# fan: x: p1 2 in, p3 1 in (no transcript), y: 1 in; 40 out each.  each: "check a.c" 3 in, three times.
	run jq -r '.steps[] | "\(.step) \(.calls) \(.input_tokens) \(.output_tokens) \(.branches)"' <<<"$output"
	assert_output $'first 1 1 40 null\nfan 3 4 120 2\neach 3 9 120 3\nlater 1 1 40 null'
	run wf run est.yaml --estimate
	assert_success
	assert_line --regexp '^  fan +parallel +glm +3 +4 +120  \$0\.000244$'
	assert_line --partial "prompts of the steps of its 2 branches, each a run of its own"
	assert_line --partial "note: step 'later': the list of its for-each is not known before the run; its branch is counted once"
	# 41, then 124 (165), 129 (294), 41 (335): the budget of 300 is crossed at 'later'.
	assert_line --partial "the budget of 300 tokens is likely crossed at step 'later' (pass 1)"
	# After a run, the history: the parallel step's usage is its branches' together.
	sed -i 's/tokens: 300/tokens: 100000/' est.yaml
	run wf run est.yaml --quiet
	assert_success
	run --separate-stderr wf run est.yaml --estimate --json
	assert_success
	run jq -r '.basis, (.steps[] | select(.step == "fan" or .step == "each") | "\(.step) \(.calls) \(.basis)")' <<<"$output"
	assert_output $'history\nfan 3 history\neach 3 history'
}

@test "a review quorum is weighed as one call per model: --estimate counts them, and a budget that fits one call but not three refuses it before any call" {
	FAKE_URL=http://127.0.0.1:9 fake_models
	write q.yaml <<'Y'
name: q
budget: {tokens: 1000}
steps:
  - id: judge
    action: ai-prompt
    format: json
    prompt: "Is it good? Answer with approved true or false"
    models: [gpt, claude, llama]
    quorum: 2
Y
	run wf run q.yaml --estimate
	assert_success
	assert_output --regexp "judge +ai-prompt +[a-z]+ +3 "
	assert_output --partial "one call to each of the 3 models of its quorum"
	# One call is about 510 tokens (500 of them the default output_tokens) and fits 1,000; three do not.
	run wf run q.yaml --quiet
	assert_failure 4
	assert_output --partial "budget of 1000 tokens would be crossed by step 'judge'"
	run wf-state get q usage
	assert_output '{}'
}
