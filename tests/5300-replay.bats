#!/usr/bin/env bats
# Replay: wf run --replay RUN answers model calls from that run's
# recordings (calls.jsonl), --replay-mode fill goes live for a miss,
# --offline refuses every live call (wf-run(1) "Replay and estimates").
load helpers
load fake-forge
load fake-provider
load pr-review-loop
bats_require_minimum_version 1.5.0

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

setup() {
	wf_setup
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "answer {n} from {model} to: {prompt}", "usage": {"input": 11, "output": 5}}}
J
	fake_models
}

# A workflow t.yaml of two prompts to model $1, the second naming ${vars.who}.
two_prompts() {
	write t.yaml <<Y
name: t
model: $1
steps:
  - id: ask
    action: ai-prompt
    prompt: "Say hello"
  - id: again
    action: ai-prompt
    prompt: "Say hello to \${vars.who}"
    context: none
Y
}

# k.yaml: the same prompt to gpt twice, with "hold" after WITH "hold":
# a shell step that writes "held" and, while "block" exists, waits.
pick_twice() {
	{
		printf 'name: k\nmodel: gpt\nsteps:\n'
		printf '  - id: first\n    action: ai-prompt\n    prompt: "Pick a number"\n    context: none\n'
		[ "${1:-}" != hold ] ||
			printf '  - id: hold\n    action: shell\n    command: "echo held > held; test ! -e block || exec sleep 600"\n'
		printf '  - id: second\n    action: ai-prompt\n    prompt: "Pick a number"\n    context: none\n'
	} > k.yaml
}

# Run t.yaml of two_prompts to gpt once, live: the run to replay.
record_t() {
	two_prompts gpt
	run wf run t.yaml --var who=ann
	assert_success
}

# The live calls the fake provider has answered.
live_calls() {
	fake_provider_count
}

@test "each protocol: a recorded run replays with the provider stopped, at no cost, with the recorded tokens" {
	for m in gpt claude llama; do
		two_prompts "$m"
		run wf run t.yaml --var who=ann
		assert_success
		first=$(jq -r '.output' <(wf-state history t | jq -c 'select(.event=="step-end")') | paste -sd'|')
		fake_provider_stop
		run --separate-stderr wf run t.yaml --var who=ann --replay t
		assert_success
		# The same answers, shown as a live run shows them.
		assert_equal "$(jq -r '.output' <(wf-state history t | jq -c 'select(.event=="step-end")') | paste -sd'|')" "$first"
		assert_output --partial "answer 2 from"
		[[ "$stderr" == *"2 calls replayed, at no cost"* ]]
		run sh -c "wf-state history t | jq -c 'select(.event==\"step-end\") | [.step, .replayed, .usage.usd, .usage.input_tokens, .usage.output_tokens]'"
		assert_output '["ask",true,0,11,5]
["again",true,0,11,5]'
		# Marked in status (the run, the count, each step) and in the logs.
		run wf status t
		assert_output --partial "replaying: t #"
		assert_output --partial "replayed: 2 calls, at no cost"
		assert_output --partial "ask: $m, 1 replayed, 11 input + 5 output tokens"
		run wf logs t
		assert_output --regexp "== ask \(ai-prompt, model $m\) pass 1: ok, replayed,"
		# The new run's recordings say where each answer came from.
		run jq -c '[.replayed, .from.line, .answer.cost.usd]' "$(rundir t)/calls.jsonl"
		assert_output '[true,1,0]
[true,2,0]'
		fake_provider_start - <<'J'
{"responses": [], "default": {"text": "answer {n} from {model} to: {prompt}", "usage": {"input": 11, "output": 5}}}
J
		fake_models
	done
}

@test "a replayed answer streams to the terminal's descriptor as a live one would; wf-model chat alone replays too" {
	record_t
	dir=$(rundir t)
	n=$(live_calls)
	mkdir rec
	req=$(jq -nc --arg d "$dir" --arg r "$WORK/rec" '{model: "gpt", messages: [{role: "user", content: "Say hello"}],
		record: {dir: $r, step: "ask", seq: 1}, replay: {dir: $d, run: "t", mode: "strict"}}')
	run --separate-stderr sh -c "printf '%s' '$req' | wf-model chat --stream-fd 2"
	assert_success
	assert_equal "$stderr" "$(wf-state history t | jq -r 'select(.event=="step-end" and .step=="ask") | .output')"
	assert_equal "$(jq -r '[.replayed, .streamed, .cost.usd, .from.run, .from.line] | map(tostring) | join(" ")' <<<"$output")" "true true 0 t 1"
	[ "$(live_calls)" -eq "$n" ]
	# A malformed replay member is refused before anything.
	run --separate-stderr sh -c "echo '{\"prompt\": \"hi\", \"replay\": {\"dir\": \"$dir\", \"mode\": \"maybe\"}}' | wf-model chat"
	assert_failure 65
	assert_equal "$stderr" "wf-model: request field 'replay' must be {\"dir\": DIR, \"run\": NAME, \"mode\": \"strict\"|\"fill\"}"
	run --separate-stderr sh -c "echo '{\"prompt\": \"hi\", \"offline\": \"yes\"}' | wf-model chat"
	assert_failure 65
	[ "$(live_calls)" -eq "$n" ]
}

@test "a strict miss fails the step, names it and what differs, and makes no live call" {
	record_t
	n=$(live_calls)
	run --separate-stderr wf run t.yaml --var who=bob --replay t --name t2
	assert_failure 1
	[[ "$stderr" == *"step 'again': no recording answers this call (nearest recording of the step: message 1 differs: recorded 'Say hello to ann', now 'Say hello to bob'); replay with --replay-mode fill to call the model for it"* ]]
	[ "$(live_calls)" -eq "$n" ]
	run sh -c "wf-state history t2 | jq -c 'select(.event==\"step-end\") | [.step, .status, .exit_code]'"
	assert_output '["ask","ok",0]
["again","failed",66]'
	# Another model: the difference names both.
	sed -i 's/^model: gpt/model: claude/' t.yaml
	run --separate-stderr wf run t.yaml --var who=ann --replay t --name t3
	assert_failure 1
	[[ "$stderr" == *"step 'ask': no recording answers this call (nearest recording of the step: another model: recorded fake-openai:gpt-test, now fake-anthropic:claude-test)"* ]]
	[ "$(live_calls)" -eq "$n" ]
}

@test "fill goes live for the miss only, and records it; offline under fill refuses it" {
	record_t
	n=$(live_calls)
	run --separate-stderr wf run t.yaml --var who=bob --replay t --replay-mode fill --name t2
	assert_success
	[ "$(live_calls)" -eq $((n + 1)) ]
	run fake_provider_requests
	assert_line --index "$n" --partial "Say hello to bob"
	run jq -c '[.step, .replayed]' "$(rundir t2)/calls.jsonl"
	assert_output '["ask",true]
["again",null]'
	run wf status t2
	assert_output --partial "replayed: 1 call, at no cost"
	run --separate-stderr wf run t.yaml --var who=cid --replay t --replay-mode fill --offline --name t3
	assert_failure 1
	[[ "$stderr" == *"step 'again': no recording answers this call (nearest recording of the step: message 1 differs: recorded 'Say hello to ann', now 'Say hello to cid') and the run is offline: no live call is made"* ]]
	[ "$(live_calls)" -eq $((n + 1)) ]
	[ "$(wf-state history t3 | jq -r 'select(.event=="step-end" and .step=="again") | .exit_code')" = 69 ]
}

@test "the options: a missing run, one with no recordings, a bad mode, a mode alone, --replay on a resume" {
	two_prompts gpt
	run --separate-stderr wf run t.yaml --var who=a --replay nosuch
	assert_failure 66
	[[ "$stderr" == *"nosuch"* ]]
	write s.yaml <<'Y'
name: s
steps:
  - id: one
    action: shell
    command: "echo hi"
Y
	run wf run s.yaml
	assert_success
	run --separate-stderr wf run t.yaml --var who=a --replay s
	assert_failure 66
	assert_equal "$stderr" "wf-run: --replay: run 's' has no recorded model calls ($(rundir s)/calls.jsonl: No such file or directory); replay a run that made model calls"
	run --separate-stderr wf run t.yaml --var who=a --replay s --replay-mode sometimes
	assert_failure 2
	assert_equal "$stderr" "wf-run: --replay-mode takes strict or fill, got 'sometimes'"
	run --separate-stderr wf run t.yaml --var who=a --replay-mode fill
	assert_failure 2
	assert_equal "$stderr" "wf-run: --replay-mode fill needs --replay RUN, the run to answer model calls from"
	run --separate-stderr wf resume s --replay s
	assert_failure 2
	assert_equal "$stderr" "wf-run: --replay applies to a start only: a resumed run goes on replaying the run it started with"
	[ "$(live_calls)" -eq 0 ]
}

@test "--offline with no recording refuses the call before any network, and holds across resume" {
	write o.yaml <<'Y'
name: o
model: gpt
steps:
  - id: gate
    action: shell
    command: "test ! -e stop"
  - id: ask
    action: ai-prompt
    prompt: "Say hello"
Y
	run --separate-stderr wf run o.yaml --offline
	assert_failure 1
	[[ "$stderr" == *"step 'ask': the run is offline: no live call to 'gpt' (fake-openai:gpt-test) is made"* ]]
	[ "$(live_calls)" -eq 0 ]
	[ "$(wf-state history o | jq -r 'select(.event=="step-end" and .step=="ask") | .exit_code')" = 69 ]
	run wf status o
	assert_output --partial "offline:  no live model call"
	# Offline stays with the run: a plain resume still makes no live call.
	run wf resume o
	assert_failure 1
	[ "$(live_calls)" -eq 0 ]
	# And a resume can add it to a run that started live.
	touch stop
	run wf run o.yaml
	assert_failure 1
	rm stop
	run --separate-stderr wf resume o --offline
	assert_failure 1
	[[ "$stderr" == *"the run is offline"* ]]
	run wf resume o
	assert_failure 1
	[ "$(live_calls)" -eq 0 ]
	run wf-state get o offline
	assert_output true
}

# A loop asking the same question three times, each pass with no context.
same_prompt_loop() {
	write l.yaml <<'Y'
name: l
model: gpt
steps:
  - id: ask
    action: ai-prompt
    prompt: "Pick a number"
    context: none
  - id: back
    action: loop
    to: ask
    condition: 'true'
    max-iterations: 3
    on-exhausted: continue
  - id: done
    action: shell
    command: "echo done"
Y
}

@test "a loop calling the same prompt three times replays the three recorded answers in order" {
	same_prompt_loop
	run wf run l.yaml
	assert_success
	recorded=$(wf-state history l | jq -r 'select(.event=="step-end" and .step=="ask") | .output')
	[ "$(sort -u <<<"$recorded" | wc -l)" -eq 3 ]
	fake_provider_stop
	run wf run l.yaml --replay l
	assert_success
	assert_equal "$(wf-state history l | jq -r 'select(.event=="step-end" and .step=="ask") | .output')" "$recorded"
	run jq -r '.from.line' "$(rundir l)/calls.jsonl"
	assert_output $'1\n2\n3'
}

@test "kill -9 mid-replay, then resume: it goes on replaying and takes the next recording, never a used one" {
	pick_twice hold
	run wf run k.yaml
	assert_success
	want=$(wf-state history k | jq -r 'select(.event=="step-end" and .step!="hold") | .output' | paste -sd'|')
	n=$(live_calls)
	rm -f held
	touch block
	wf run k.yaml --replay k --name k2 >/dev/null 2>&1 &
	pid=$!
	wait_until test -e held
	kill -9 "$pid"
	wait "$pid" || true
	rm block
	run --separate-stderr wf resume k2 --kill-stale
	assert_success
	assert_equal "$(wf-state history k2 | jq -r 'select(.event=="step-end" and .step!="hold") | .output' | paste -sd'|')" "$want"
	[ "$(live_calls)" -eq "$n" ]
	run jq -c '[.step, .from.line]' "$(rundir k2)/calls.jsonl"
	assert_output '["first",1]
["second",2]'
	run wf status k2
	assert_output --partial "replaying: k #"
}

@test "kill -9 after a replayed call was kept but before its step ended: the step runs again and takes the same recording" {
	# An answer longer than a pipe holds: the step blocks writing it to a
	# run's standard output nobody reads, after wf-model kept the call.
	fake_provider_stop
	jq -n '{responses: [], default: {text: ("answer {n} " + ("x" * 70000)), usage: {input: 11, output: 5}}}' > long.json
	fake_provider_start long.json
	fake_models
	pick_twice
	run wf run k.yaml
	assert_success
	want=$(wf-state history k | jq -r 'select(.event=="step-end") | .output[0:8]' | paste -sd'|')
	[ "$want" = "answer 1|answer 2" ]
	n=$(live_calls)
	mkfifo out
	exec 8<>out
	wf run k.yaml --replay k --name k2 >out 2>/dev/null 3>&- 8>&- &
	pid=$!
	wait_until test -s "$(rundir k2)/calls.jsonl"
	kill -9 "$pid"
	wait "$pid" || true
	exec 8<&-
	[ "$(wf-state history k2 | jq -c 'select(.event=="step-end")' | wc -l)" -eq 0 ]
	run --separate-stderr sh -c 'wf resume k2 --kill-stale > /dev/null'
	assert_success
	assert_equal "$(wf-state history k2 | jq -r 'select(.event=="step-end") | .output[0:8]' | paste -sd'|')" "$want"
	[ "$(live_calls)" -eq "$n" ]
	# Three kept calls: the one the kill cut short, and the two the run used.
	run jq -c '[.step, .from.line]' "$(rundir k2)/calls.jsonl"
	assert_output '["first",1]
["first",1]
["second",2]'
}

@test "a hostile calls.jsonl: garbage lines and a huge one are passed over; a matching line with a broken answer fails clearly" {
	record_t
	calls="$(rundir t)/calls.jsonl"
	good=$(cat "$calls")
	{
		echo 'not json at all'
		head -c 3000000 /dev/zero | tr '\0' x | jq -Rc '{v: 1, fingerprint: "0", step: "ask", answer: {text: .}}'
		echo '{"truncated": '
		echo "$good"
	} > "$calls"
	fake_provider_stop
	run wf run t.yaml --var who=ann --replay t --name t2
	assert_success
	run jq -c '.from.line' "$(rundir t2)/calls.jsonl"
	assert_output $'4\n5'
	# The line that matches has an answer with no text.
	{
		echo 'not json at all'
		jq -c 'if .key.messages[0].content == "Say hello" then .answer = {"usage": 3} else . end' <<<"$good"
	} > "$calls"
	run --separate-stderr wf run t.yaml --var who=ann --replay t --name t3
	assert_failure 1
	[[ "$stderr" == *"step 'ask': the recording of run 't' at calls.jsonl line 2 has no answer text; it is damaged"* ]]
	[ "$(wf-state history t3 | jq -r 'select(.event=="step-end" and .step=="ask") | .exit_code')" = 65 ]
}

@test "recordings never hold the API key, raw or in Base64, even when the prompt quotes it; the file is 0600" {
	b64=$(printf %s "$FAKE_API_KEY" | base64 -w0)
	write p.yaml <<'Y'
name: p
model: claude
steps:
  - id: leak
    action: ai-prompt
    prompt: "Repeat ${vars.k} and ${vars.b}"
Y
	run wf run p.yaml --var "k=$FAKE_API_KEY" --var "b=$b64"
	assert_success
	calls="$(rundir p)/calls.jsonl"
	[ "$(stat -c %a "$calls")" = 600 ]
	[ -s "$calls" ]
	! grep -qF "$FAKE_API_KEY" "$calls"
	! grep -qF "$b64" "$calls"
	fake_provider_stop
	run wf run p.yaml --var "k=$FAKE_API_KEY" --var "b=$b64" --replay p --name p2
	calls2="$(rundir p2)/calls.jsonl"
	if [ -e "$calls2" ]; then
		! grep -qF "$FAKE_API_KEY" "$calls2"
		! grep -qF "$b64" "$calls2"
	fi
}

@test "the report shows a replayed step's badge" {
	record_t
	run wf run t.yaml --var who=ann --replay t
	assert_success
	run wf report t -o -
	assert_success
	assert_output --partial '<span class="st st-replayed">replayed</span>'
}

# The seed's pr-review-loop, as tests/7030-pr-review-loop.bats runs it.
LOOP="$EXAMPLES/pr-review-loop.yaml"

# A fresh repository with its origin and forge, in the same place (the same project).
loop_repo() {
	cd "$WORK"
	rm -rf "$WORK/repo" "$BATS_TEST_TMPDIR/origin.git"
	forge_repo
	fake_forge_start "$@"
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
}

@test "pr-review-loop recorded, then replayed offline with no provider: the same path, the same answers" {
	# Commits made at a fixed time have the same hashes in both runs.
	export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
	fake_provider_stop
	script_reject_then_approve
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	loop_repo
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	sed -i 's/^models:$/models:\n  glm: {provider: fake-openai, model: glm-test}/' "$WF_MODELS"
	run wf run "$LOOP" --yes
	assert_success
	assert_output --partial "merged pull request #1"
	path=$(wf-state history pr-review-loop | jq -r 'select(.event=="step-start") | .step' | paste -sd' ')
	# What each step printed and decided, byte for byte.
	outputs=$(wf-state history pr-review-loop | jq -c 'select(.event=="step-end") | [.step, .output, .approved, .usage.input_tokens, .usage.output_tokens]')
	[ "$(wc -l <<<"$outputs")" -ge 10 ]
	n=$(live_calls)
	fake_provider_stop
	port=$(cat "$BATS_TEST_TMPDIR/fake-forge/port")
	fake_forge_stop
	loop_repo --port "$port"
	run wf run "$LOOP" --yes --replay pr-review-loop --offline
	assert_success
	assert_output --partial "merged pull request #1"
	assert_equal "$(wf-state history pr-review-loop | jq -r 'select(.event=="step-start") | .step' | paste -sd' ')" "$path"
	assert_equal "$(wf-state history pr-review-loop | jq -c 'select(.event=="step-end") | [.step, .output, .approved, .usage.input_tokens, .usage.output_tokens]')" "$outputs"
	[ "$(live_calls)" -eq "$n" ]
	run wf status pr-review-loop
	assert_output --partial "replaying: pr-review-loop #"
	assert_output --regexp "replayed: [0-9]+ calls, at no cost"
}

@test "a workflow step's sub-run replays from the recorded run's sub-run" {
	mkdir -p workflows
	write workflows/child.yaml <<'Y'
name: child
model: gpt
steps:
  - id: inner
    action: ai-prompt
    prompt: "Say hello from the child"
Y
	write workflows/p.yaml <<'Y'
name: p
model: gpt
steps:
  - id: call
    action: workflow
    workflow: child
Y
	run wf run p
	assert_success
	want=$(jq -r .answer.text "$(rundir p)/sub/call/calls.jsonl")
	fake_provider_stop
	run wf run p --replay p
	assert_success
	run jq -r '[.replayed, .answer.text] | map(tostring) | join(" ")' "$(rundir p)/sub/call/calls.jsonl"
	assert_output "true $want"
}

@test "the completion offers run names and numbers after --replay, and the modes after --replay-mode" {
	record_t
	record_t	# the first run goes to the history, under its number
	source "$REPO_ROOT/completions/wf.bash"
	complete_line wf run t.yaml --replay ''
	has_reply t
	has_reply 1
	complete_line wf run t.yaml --replay t --replay-mode ''
	assert_equal "$(replies)" "fill strict"
	complete_line wf-run t.yaml --replay t --replay-mode f
	assert_equal "$(replies)" "fill"
}

@test "a budget counts a replayed call at \$0 but with its tokens" {
	record_t
	printf 'budget: {usd: 0.0001}\n' >> t.yaml
	# Live, the second call would cross it: each costs $0.000062.
	run --separate-stderr wf run t.yaml --var who=ann --name live
	assert_failure 4
	[[ "$stderr" == *'budget of $0.0001 would be crossed by step '"'again'"* ]]
	n=$(live_calls)
	run wf run t.yaml --var who=ann --replay t --name again
	assert_success
	[ "$(live_calls)" -eq "$n" ]
	run wf-state get again usage.gpt
	assert_equal "$(jq -c '[.calls, .replayed, .input_tokens, .output_tokens, .usd]' <<<"$output")" '[2,2,22,10,0]'
}
