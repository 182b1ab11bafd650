#!/usr/bin/env bats
# wf status as a list of runs (columns, order, local times, durations,
# cost), wf-state list for scripts, usage summed over a loop's passes,
# and the money in wf run --estimate.
load helpers
load fake-provider

setup() {
	wf_setup
	SOCK="wf-$$-$BATS_TEST_NUMBER"
	export FAKE_API_KEY="sk-test-$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')"
}

teardown() {
	tmux -L "$SOCK" kill-server 2>/dev/null || true
	fake_provider_stop_all
}

# models.yaml on the fake provider: glm priced (USD per million tokens), main not.
point_models() {
	cat > models.yaml <<EOF
providers:
  fake:
    type: openai
    base_url: ${FAKE_URL:-http://127.0.0.1:9}/v1
    api_key_env: FAKE_API_KEY
models:
  glm: {provider: fake, model: glm-test, prices: {input: ${1:-1}, output: 2}}
  main: {provider: fake, model: main-test}
default: main
EOF
	export WF_MODELS="$WORK/models.yaml"
}

# A one-step shell workflow NAME, run to the end.
shell_run() {
	printf 'name: %s\nsteps:\n  - id: only\n    action: shell\n    command: "true"\n' "$1" > "$1.yaml"
	wf run "$1.yaml" --quiet
}

# The journal of run $1 rewritten as if it had started at $2 and every
# later event happened at $3 (each line checksummed again); the snapshot,
# a cache, goes, so readers replay the journal.
retime() {
	local dir line
	dir=$(wf-state status "$1" --json | jq -r .dir)
	: > "$dir/history.new"
	while IFS= read -r line; do
		journal_append "$dir/history.new" "$(jq -c --arg s "$2" --arg e "$3" \
			'del(.crc) | .time = (if .event == "run-start" then $s else $e end)' <<<"$line")"
	done < "$dir/history.jsonl"
	chmod 600 "$dir/history.new"
	mv "$dir/history.new" "$dir/history.jsonl"
	rm -f "$dir/state.json"
}

# Five finished runs with known start and end times, the newest last here.
timed_runs() {
	shell_run slow && retime slow 2024-02-01T00:00:00.000Z 2024-02-03T03:00:00.000Z
	shell_run blink && retime blink 2024-03-01T09:00:00.000Z 2024-03-01T09:00:00.250Z
	shell_run quick && retime quick 2024-03-01T10:00:00.000Z 2024-03-01T10:00:04.500Z
	shell_run medium && retime medium 2024-03-02T10:00:00.000Z 2024-03-02T10:02:03.000Z
	shell_run long && retime long 2024-03-03T22:00:00.000Z 2024-03-03T23:02:59.000Z
}

@test "the list: newest first, one run a line, short durations, no header in a pipe" {
	timed_runs
	run env TZ=UTC0 wf status
	assert_success
	assert_equal "${#lines[@]}" 5
	assert_line --index 0 --regexp '^long +long +completed +- +2024-03-03 22:00:00 +1h02m +-$'
	assert_line --index 1 --regexp '^medium +medium +completed +- +2024-03-02 10:00:00 +2m03s +-$'
	assert_line --index 2 --regexp '^quick +quick +completed +- +2024-03-01 10:00:00 +4s +-$'
	assert_line --index 3 --regexp '^blink +blink +completed +- +2024-03-01 09:00:00 +<1s +-$'
	assert_line --index 4 --regexp '^slow +slow +completed +- +2024-02-01 00:00:00 +2d03h +-$'
	refute_output --partial NAME
}

@test "the list shows local time: TZ moves the start, even across midnight" {
	timed_runs
	run env TZ=UTC0 wf status
	assert_line --index 0 --partial "2024-03-03 22:00:00"
	run env TZ=IST-5:30 wf status
	assert_success
	assert_line --index 0 --partial "2024-03-04 03:30:00"
	assert_line --index 4 --partial "2024-02-01 05:30:00"
	# The script form keeps the journal's UTC time whatever TZ says.
	run env TZ=IST-5:30 wf-state list
	assert_line --index 0 "$(printf 'long\tlong\tcompleted\t-\t2024-03-03T22:00:00.000Z\t3779000\t-')"
}

@test "--json has the fields the table shows, and wf-state list the same runs in the same order" {
	timed_runs
	run sh -c "wf status --json | jq -c '.[] | [.name, .workflow, .status, .started, .ended, .duration_ms, .calls, .cost_usd]'"
	assert_success
	assert_line --index 0 '["long","long","completed","2024-03-03T22:00:00.000Z","2024-03-03T23:02:59.000Z",3779000,0,0]'
	assert_line --index 2 '["quick","quick","completed","2024-03-01T10:00:00.000Z","2024-03-01T10:00:04.500Z",4500,0,0]'
	assert_line --index 3 '["blink","blink","completed","2024-03-01T09:00:00.000Z","2024-03-01T09:00:00.250Z",250,0,0]'
	run sh -c "wf status --json | jq -r '.[0].source'"
	assert_output "$WORK/long.yaml"
	run sh -c "wf-state list | cut -f1 | paste -sd' '"
	assert_output "long medium quick blink slow"
	run sh -c "wf-state list --json | jq -r '[.[].name] | join(\" \")'"
	assert_output "long medium quick blink slow"
}

@test "a waiting run is listed with its step, and its duration ends where it stopped" {
	write q.yaml <<'Y'
name: q
steps:
  - id: first
    action: shell
    command: "true"
  - id: ask
    action: interactive
    message: "Ship it?"
Y
	run wf run q.yaml < /dev/null
	assert_failure 3
	retime q 2024-05-01T08:00:00.000Z 2024-05-01T08:00:07.000Z
	run env TZ=UTC0 wf status
	assert_success
	assert_output --regexp '^q +q +waiting +ask +2024-05-01 08:00:00 +7s +-$'
	run sh -c "wf status --json | jq -c '.[0] | [.status, .step, .ended, .duration_ms]'"
	assert_output '["waiting","ask","2024-05-01T08:00:07.000Z",7000]'
}

@test "a damaged run is listed last with dashes, never hidden, and its error in JSON" {
	timed_runs
	shell_run broken
	dir=$(wf-state status broken --json | jq -r .dir)
	sed -i '1s/"event":"run-start"/"event":"run-stArt"/' "$dir/history.jsonl"
	run wf status
	assert_success
	assert_equal "${#lines[@]}" 6
	assert_line --index 5 --regexp '^broken +- +damaged +- +- +- +-$'
	run wf-state list
	assert_line --index 5 "$(printf 'broken\t-\tdamaged\t-\t-\t-\t-')"
	run sh -c "wf status --json | jq -r '.[5] | .name, .status, .error'"
	assert_line --index 0 broken
	assert_line --index 1 damaged
	assert_line --index 2 --partial "checksum mismatch"
}

@test "no runs: wf status says so, wf-state list prints nothing, --json an empty array" {
	run wf status
	assert_success
	assert_output "no runs"
	run wf-state list
	assert_success
	assert_output ""
	run wf status --json
	assert_output "[]"
}

@test "on a terminal the list has a header line above the runs" {
	command -v tmux >/dev/null || skip "tmux not installed"
	timed_runs
	tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 160 -y 20 \
		"cd '$WORK' && env PATH='$PATH' WF_STATE_DIR='$WF_STATE_DIR' TZ=UTC0 wf status > /dev/tty; echo done > '$WORK/rc'; sleep 60"
	wait_until test -s "$WORK/rc"
	run tmux -L "$SOCK" capture-pane -p -t t
	assert_line --index 0 --regexp '^NAME +WORKFLOW +STATUS +STEP +STARTED +DURATION +COST$'
	assert_line --index 1 --regexp '^long +long +completed +- +2024-03-03 22:00:00 +1h02m +-$'
}

# A loop whose body asks glm (priced) three times, and one call to main (no price) before it.
loop_of_ai_steps() {
	fake_provider_start - <<'J'
{"responses": [
  {"match": {"model": "main-test"}, "text": "once", "usage": {"input": 7, "output": 3}},
  {"match": {"model": "glm-test"}, "text": "pass one", "usage": {"input": 100, "output": 10}},
  {"match": {"model": "glm-test"}, "text": "pass two", "usage": {"input": 200, "output": 20}},
  {"match": {"model": "glm-test"}, "text": "pass three", "usage": {"input": 300, "output": 30}}
], "default": {"text": "unexpected"}}
J
	point_models
	write l.yaml <<'Y'
name: l
steps:
  - id: once
    action: ai-prompt
    prompt: "hello"
  - id: ask
    action: ai-prompt
    prompt: "again"
    model: glm
  - id: count
    action: shell
    command: "echo $((${i:-0} + 1)) > counter.txt"
  - id: load
    action: load-variable
    name: i
    from: counter.txt
  - id: back
    action: loop
    to: ask
    condition: "i < 3"
    max-iterations: 5
Y
	run wf run l.yaml --quiet
	assert_success
	run fake_provider_count
	assert_output 4
}

@test "usage by step sums every pass of a loop; the per-model totals stay right" {
	loop_of_ai_steps
	run wf status l
	assert_success
	# 600 input and 60 output tokens at $1 and $2 a million: $0.00072.
	assert_line "  ask: glm, 3 calls, 600 input + 60 output tokens, \$0.000720"
	assert_line "  once: main, 7 input + 3 output tokens, cost unknown"
	assert_line "  glm: 3 calls, 600 input + 60 output tokens, \$0.000720"
	assert_line "  main: 1 calls, 7 input + 3 output tokens, cost unknown"
	run sh -c "wf status l --json | jq -c '[.step_usage.ask.glm.calls, .step_usage.ask.glm.input_tokens, .step_usage.ask.glm.output_tokens, .steps.ask.usage.input_tokens]'"
	assert_output '[3,600,60,300]'
}

@test "the loop's sums are the journal's: the same after the snapshot is rebuilt" {
	loop_of_ai_steps
	before=$(wf status l | sed -n '/^usage by step:/,/^last output/p')
	[ -n "$before" ]
	dir=$(wf-state status l --json | jq -r .dir)
	rm "$dir/state.json"
	run sh -c "wf status l | sed -n '/^usage by step:/,/^last output/p'"
	assert_output "$before"
	assert_line "  ask: glm, 3 calls, 600 input + 60 output tokens, \$0.000720"
}

@test "the list's cost: unknown when any price is, the sum when all are known" {
	loop_of_ai_steps
	run wf status
	assert_output --regexp '^l +l +completed +- +[0-9-]+ [0-9:]+ +[^ ]+ +unknown$'
	run sh -c "wf status --json | jq -c '.[0] | [.calls, .tokens, .cost_usd]'"
	assert_output '[4,670,null]'
	run wf-state list
	assert_output --regexp $'\tunknown$'
	# A price for main too: now every cost of a new run is known.
	fake_provider_stop
	fake_provider_start - <<'J'
{"default": {"text": "fine", "usage": {"input": 7, "output": 3}}}
J
	point_models
	sed -i 's/model: main-test}/model: main-test, prices: {input: 1000, output: 1000}}/' models.yaml
	printf 'name: p\nsteps:\n  - id: a\n    action: ai-prompt\n    prompt: "hi"\n' > p.yaml
	run wf run p.yaml --quiet
	assert_success
	run env TZ=UTC0 wf status
	# 10 tokens at $1000 a million: one cent.
	assert_line --regexp '^p +p +completed +- +[0-9-]+ [0-9:]+ +[^ ]+ +\$0\.0100$'
	run wf-state list
	assert_line --regexp $'^p\tp\tcompleted\t-\t[^\t]+\t[0-9]+\t0\\.010000$'
}

@test "--estimate prices each model's input tokens, per model and in total" {
	# $1,000,000 a million tokens: the dollars are the tokens.
	point_models 1000000
	sed -i 's/model: main-test}/model: main-test, prices: {input: 1000000, output: 1}}/' models.yaml
	write e.yaml <<'Y'
name: e
steps:
  - id: a
    action: ai-prompt
    prompt: "the first question, for the default model"
  - id: s
    action: switch-model
    model: glm
  - id: b
    action: ai-prompt
    prompt: "second"
  - id: c
    action: ai-prompt
    prompt: "third"
    model: main
Y
	run wf run e.yaml --estimate --json
	assert_success
	# Each step's dollars are its input tokens plus its output tokens at $1 (main) or $2 (glm) a million.
	run jq -r '.steps[] | "\(.step) \(.model) \(.input_tokens) \(.output_tokens) \(.cost_usd)"' <<<"$output"
	assert_success
	assert_line --regexp '^a main [0-9]+ 500 [0-9.]+$'
	assert_line --regexp '^b glm [0-9]+ 500 [0-9.]+$'
	assert_line --regexp '^c main [0-9]+ 500 [0-9.]+$'
	run awk '{ want = $3 + $4 * ($2 == "glm" ? 2 : 1) / 1000000; d = $5 - want; if (d > 1e-6 || d < -1e-6) { print "bad " $0; exit 1 } } END { print "ok" }' <<<"$output"
	assert_output ok
	run wf run e.yaml --estimate --json
	run jq -e '.total.cost_usd - ([.steps[].cost_usd] | add) | fabs < 1e-6' <<<"$output"
	assert_success
	run wf run e.yaml --estimate
	assert_line --regexp '^  total +3 +[0-9]+ +1500  \$[0-9]+\.[0-9]{6}$'
	refute_output --partial unknown
	# Nothing ran and nothing was asked of a provider.
	run wf-state list
	assert_output ""
}

@test "--estimate says unknown for a model with no price, and why when the models file is bad" {
	point_models
	printf 'name: e\nsteps:\n  - id: a\n    action: ai-prompt\n    prompt: "hi"\n  - id: b\n    action: ai-prompt\n    prompt: "hi"\n    model: glm\n' > e.yaml
	run wf run e.yaml --estimate
	assert_success
	assert_line --regexp '^  a +ai-prompt +main +1 +[0-9]+ +500  unknown$'
	assert_line --regexp '^  b +ai-prompt +glm +1 +[0-9]+ +500  \$0\.00[0-9]+$'
	assert_line --partial 'cost unknown: no price in the model configuration'
	assert_line --regexp '^  total +2 +[0-9]+ +1000  unknown \(the priced part \$0\.00[0-9]+\)$'
	WF_MODELS=$WORK/missing.yaml run wf run e.yaml --estimate
	assert_success
	assert_line --regexp '^  a +ai-prompt +default +1 +[0-9]+ +500  unknown$'
	assert_line --regexp "cost unknown: .*missing.yaml: cannot read"
	assert_line --regexp '^  total +2 +[0-9]+ +1000  unknown$'
	refute_output --partial '$0.0000'
}
