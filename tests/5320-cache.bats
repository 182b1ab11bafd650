#!/usr/bin/env bats
# Prompt caching (wf-model(1) Prompt caching): Anthropic's cache_control
# marks, cached-token accounting in each wire format, prices for cached
# and cache-write tokens, and where the figures are shown.
bats_require_minimum_version 1.5.0
load helpers
load fake-provider

# The fake's prompt cache with small thresholds, so a few words are enough:
# Anthropic caches from one word; OpenAI from 8 words in steps of 4.
cache_script() {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "looks fine", "repeat": -1},
 "cache": {"min_tokens": 1, "increment": 4}}
J
}

# models.yaml on the fake: $1 extra lines under models:.
cache_models() {
	: "${FAKE_API_KEY:=sk-test-cache0123456789}"
	export FAKE_API_KEY
	cat > models.yaml <<EOF
providers:
  fake-openai: {type: openai, base_url: $FAKE_URL/v1, api_key_env: FAKE_API_KEY}
  fake-anthropic: {type: anthropic, base_url: $FAKE_URL, api_key_env: FAKE_API_KEY}
  fake-ollama: {type: ollama, base_url: $FAKE_URL}
  quiet-anthropic: {type: anthropic, base_url: $FAKE_URL, api_key_env: FAKE_API_KEY, cache: false}
models:
  claude: {provider: fake-anthropic, model: claude-test, prices: {input: 3, output: 15, cached: 0.3, cache_write: 3.75}}
  claude-nowrite: {provider: fake-anthropic, model: claude-test, prices: {input: 3, output: 15, cached: 0.3}}
  claude-off: {provider: fake-anthropic, model: claude-off, cache: false}
  claude-quiet: {provider: quiet-anthropic, model: claude-quiet}
  claude-back-on: {provider: quiet-anthropic, model: claude-on, cache: true}
  gpt: {provider: fake-openai, model: gpt-test, prices: {input: 2, output: 8}}
  gpt-cached: {provider: fake-openai, model: gpt-cached, prices: {input: 2, output: 8, cached: 0.5}}
  free: {provider: fake-openai, model: free-test, prices: {input: 0, output: 0}}
  llama: {provider: fake-ollama, model: "llama3.2:latest"}
${1:-}
default: claude
EOF
	export WF_MODELS="$WORK/models.yaml"
}

# A workflow of N ai-prompt steps on model M, each adding a turn to the
# transcript: system 4 words, each prompt 2 words, each answer 2 words.
turns() {
	local n=$1 m=$2 i
	{
		echo "name: turns$n"
		echo "steps:"
		for i in $(seq 1 "$n"); do
			printf '  - id: t%s\n    action: ai-prompt\n    model: %s\n    system: "You are a reviewer"\n    prompt: "review %s"\n' "$i" "$m" "$i"
		done
	} > "turns$n.yaml"
}

# Where request N (1-based) of the fake's log has cache_control, as "system.0 messages.1.content.0".
marks() {
	jq -r --argjson n "$1" 'select(.n == $n) | .body
		| [paths(type == "object" and has("cache_control")) | map(tostring) | join(".")] | join(" ")' "$FAKE_LOG"
}

setup() {
	wf_setup
	cache_script
	cache_models
}

@test "Anthropic: the system text and the turn before the current one are marked, for 1, 2 and 5 turns" {
	turns 5 claude
	run wf run turns5.yaml --quiet
	assert_success
	# one turn: the system only; then the last answer before the new prompt.
	run marks 1
	assert_output "system.0"
	run marks 2
	assert_output "system.0 messages.1.content.0"
	run marks 5
	assert_output "system.0 messages.7.content.0"
	# The marked blocks keep their text; the other messages stay plain strings.
	run jq -c 'select(.n == 5) | .body | [.system[0].text, .system[0].cache_control, .messages[7].content[0].text,
		.messages[7].role, ([.messages[] | .content | type] | unique), (.messages | length)]' "$FAKE_LOG"
	assert_output '["You are a reviewer",{"type":"ephemeral"},"looks fine","assistant",["array","string"],9]'
	# Never more than the four marks Anthropic allows, in any request.
	run jq -s '[.[] | .body | [paths(type == "object" and has("cache_control"))] | length] | max' "$FAKE_LOG"
	assert_output 2
}

@test "Anthropic without a system text: only the previous turn; a lone prompt has no mark at all" {
	write nosys.yaml <<'Y'
name: nosys
steps:
  - id: a
    action: ai-prompt
    prompt: "first"
  - id: b
    action: ai-prompt
    prompt: "second"
Y
	run wf run nosys.yaml --quiet
	assert_success
	run marks 1
	assert_output ""
	run jq -c 'select(.n == 1) | .body | [has("system"), .messages[0].content]' "$FAKE_LOG"
	assert_output '[false,"first"]'
	run marks 2
	assert_output "messages.1.content.0"
}

@test "cache: false on the model or its provider sends no mark; true on the model wins over its provider" {
	for m in claude-off claude-quiet claude-back-on; do
		turns 2 "$m"
		run wf run turns2.yaml --quiet
		assert_success
	done
	run sh -c "jq -c 'select(.model == \"claude-off\" or .model == \"claude-quiet\") | .body | [(.system | type), ([.messages[].content | type] | unique)]' '$FAKE_LOG' | sort -u"
	assert_output '["string",["string"]]'
	run grep -c cache_control "$FAKE_LOG"
	assert_output 2
	run jq -c 'select(.model == "claude-on") | .body | [paths(type == "object" and has("cache_control")) | map(tostring) | join(".")]' "$FAKE_LOG"
	assert_output $'["system.0"]\n["system.0","messages.1.content.0"]'
}

@test "OpenAI and Ollama requests never carry cache_control" {
	turns 3 gpt
	run wf run turns3.yaml --quiet
	assert_success
	turns 3 llama
	run wf run turns3.yaml --quiet
	assert_success
	run fake_provider_count
	assert_output 6
	run grep -c cache_control "$FAKE_LOG"
	assert_output 0
	run jq -c 'select(.n == 3) | .body.messages | [.[0], (map(.content | type) | unique)]' "$FAKE_LOG"
	assert_output '[{"role":"system","content":"You are a reviewer"},["string"]]'
}

# Per call k of the five-turn loop on the fake: input 4k+2 words; Anthropic
# reads all but the last turn and writes 4 (the system at first);
# OpenAI caches what the previous request sent (4k-2) rounded down to 1 + 4n.
@test "Anthropic accounting, streamed and not: reads and writes per call, in step-end, state and cost" {
	turns 5 claude
	for mode in --quiet ""; do
		run wf run turns5.yaml $mode
		assert_success
	done
	for run in 1 2; do
		run sh -c "wf-state history $run | jq -c 'select(.event == \"step-end\") | .usage | [.input_tokens, .cached_tokens, .cache_write_tokens, .output_tokens]' | paste -sd' '"
		if [ "$run" = 1 ]; then
			assert_output '[6,0,4,2] [10,4,4,2] [14,8,4,2] [18,12,4,2] [22,16,4,2]'
		else
			# The second run finds the first one's prefixes already cached.
			assert_output '[6,4,0,2] [10,8,0,2] [14,12,0,2] [18,16,0,2] [22,20,0,2]'
		fi
	done
	run sh -c "wf-state history 1 | jq -c 'select(.event == \"step-end\") | .usage.usd' | paste -sd' '"
	# (2 plain x 3 + cached x 0.3 + written x 3.75 + 2 out x 15) / 1e6
	assert_output '5.1e-05 5.22e-05 5.34e-05 5.46e-05 5.58e-05'
	run sh -c "wf status 1 --json | jq -c '.usage.claude | [.calls, .input_tokens, .cached_tokens, .cache_write_tokens, .output_tokens, .usd]'"
	assert_output '[5,70,40,20,10,0.000267]'
	run sh -c "wf status 2 --json | jq -c '.step_usage.t5.claude | [.cached_tokens, .cache_write_tokens]'"
	assert_output '[20,0]'
	# The fake saw a streamed and a non-streamed run.
	run sh -c "jq -c '.stream' '$FAKE_LOG' | sort | uniq -c | awk '{print \$1, \$2}' | paste -sd' '"
	assert_output "5 false 5 true"
}

@test "OpenAI accounting, streamed and not: cached_tokens inside prompt_tokens; no cached price means cost unknown, with why" {
	turns 5 gpt
	run --separate-stderr wf run turns5.yaml --quiet
	assert_success
	run sh -c "wf-state history 1 | jq -c 'select(.event == \"step-end\") | .usage | [.input_tokens, .cached_tokens, .cache_write_tokens]' | paste -sd' '"
	assert_output '[6,0,0] [10,5,0] [14,9,0] [18,13,0] [22,17,0]'
	run sh -c "wf-state history 1 | jq -c 'select(.event == \"step-end\") | [.usage.usd, .usage.cost_unknown]' | paste -sd' '"
	# The first call read nothing from the cache and is priced; the others cannot be.
	assert_output "[2.8e-05,null] [null,\"the model has no 'cached' price for its 5 cached tokens\"] [null,\"the model has no 'cached' price for its 9 cached tokens\"] [null,\"the model has no 'cached' price for its 13 cached tokens\"] [null,\"the model has no 'cached' price for its 17 cached tokens\"]"
	run sh -c "wf status 1 --json | jq -c '.usage.gpt | [.cached_tokens, .usd]'"
	assert_output '[44,null]'
	# With a cached price, streamed: (plain x 2 + cached x 0.5 + out x 8) / 1e6.
	turns 5 gpt-cached
	run wf run turns5.yaml
	assert_success
	run sh -c "wf-state history 2 | jq -c 'select(.event == \"step-end\") | [.usage.cached_tokens, .usage.usd]' | paste -sd' '"
	assert_output '[0,2.8e-05] [5,2.85e-05] [9,3.05e-05] [13,3.25e-05] [17,3.45e-05]'
	run jq -c 'select(.model == "gpt-cached") | .stream' "$FAKE_LOG"
	assert_output $'true\ntrue\ntrue\ntrue\ntrue'
}

@test "Ollama accounting, streamed and not: prompt_eval_cached_count inside prompt_eval_count" {
	turns 3 llama
	run wf run turns3.yaml --quiet
	assert_success
	run wf run turns3.yaml
	assert_success
	run sh -c "wf-state history 1 | jq -c 'select(.event == \"step-end\") | .usage | [.input_tokens, .cached_tokens, .usd]' | paste -sd' '"
	assert_output '[6,0,null] [10,6,null] [14,10,null]'
	# The second run starts where the first one's last prompt left the one slot.
	run sh -c "wf-state history 2 | jq -c 'select(.event == \"step-end\") | .usage | [.input_tokens, .cached_tokens]' | paste -sd' '"
	assert_output '[6,6] [10,6] [14,10]'
}

@test "a free model (input price 0) costs 0 for cached tokens too; a missing cache_write price is unknown" {
	turns 3 free
	run wf run turns3.yaml --quiet
	assert_success
	run sh -c "wf-state history 1 | jq -c 'select(.event == \"step-end\") | [.usage.cached_tokens, .usage.usd]' | paste -sd' '"
	assert_output '[0,0] [5,0] [9,0]'
	turns 2 claude-nowrite
	run --separate-stderr wf run turns2.yaml --quiet
	assert_success
	run sh -c "wf-state history 2 | jq -c 'select(.event == \"step-end\") | [.usage.usd, .usage.cost_unknown]' | paste -sd' '"
	assert_output "[null,\"the model has no 'cache_write' price for its 4 cache-write tokens\"] [null,\"the model has no 'cache_write' price for its 4 cache-write tokens\"]"
	run wf status 2
	assert_success
	assert_line "  claude-nowrite: 2 calls, 16 input (4 cached, 8 cache writes) + 4 output tokens, cost unknown"
	# wf-model says why on its summary line.
	run --separate-stderr wf-model chat --text <<<'{"model":"claude-nowrite","system":"You are quite new","prompt":"hi","stream":false}'
	assert_success
	[[ $stderr == *"(0 cached, 4 cache writes)"*"cost unknown (the model has no 'cache_write' price for its 4 cache-write tokens)"* ]] || { echo "$stderr" >&2; return 1; }
}

@test "status, the end-of-run line and the report show cached tokens" {
	turns 5 claude
	run --separate-stderr wf run turns5.yaml
	assert_success
	[[ $stderr == *"claude: 5 calls, 70 input (40 cached, 20 cache writes) / 10 output tokens, \$0.0003"* ]] || { echo "$stderr" >&2; return 1; }
	run wf status 1
	assert_success
	assert_line "  claude: 5 calls, 70 input (40 cached, 20 cache writes) + 10 output tokens, \$0.000267"
	assert_line "  t1: claude, 6 input (4 cache writes) + 2 output tokens, \$0.000051"
	assert_line "  t5: claude, 22 input (16 cached, 4 cache writes) + 2 output tokens, \$0.000056"
	run wf report 1 -o -
	assert_success
	assert_output --partial "70 input (40 cached, 20 cache writes) / 10 output"
	assert_output --partial "22 input (16 cached, 4 cache writes) / 2 output"
}

@test "a run from before cache_write_tokens still shows, the same after its snapshot is rebuilt" {
	turns 2 claude
	run wf run turns2.yaml --quiet
	assert_success
	dir=$(rundir turns2)
	# Rewrite the journal as an older wf wrote it, each line with its checksum.
	jq -c 'del(.crc) | if .event == "step-end" and .usage then .usage |= del(.cache_write_tokens, .cached_tokens, .cost_unknown) else . end' \
		"$dir/history.jsonl" > old.jsonl
	: > "$dir/history.jsonl"
	while IFS= read -r line; do
		journal_append "$dir/history.jsonl" "$line"
	done < old.jsonl
	run grep -c cache_write "$dir/history.jsonl"
	assert_output 0
	rm "$dir/state.json"
	run wf status turns2
	assert_success
	assert_line "  claude: 2 calls, 16 input + 4 output tokens, \$0.000103"
	refute_output --partial "cached"
	run wf report turns2 -o -
	assert_success
	assert_output --partial "16 input / 4 output"
}

@test "a bad cache value or a negative cache price: file:line:col, exit 78" {
	cache_models '  odd: {provider: fake-anthropic, model: x, cache: maybe}'
	run --separate-stderr wf-model list
	assert_failure 78
	[[ $stderr == *"models.yaml:"*":"*": cache must be true or false, not a string"* ]] || { echo "$stderr" >&2; return 1; }
	cache_models '  odd: {provider: fake-anthropic, model: x, prices: {input: 1, output: 1, cache_write: -2}}'
	run --separate-stderr wf-model list
	assert_failure 78
	[[ $stderr =~ models\.yaml:[0-9]+:[0-9]+:\ price\ \'cache_write\'\ must\ be\ a\ number ]] || { echo "$stderr" >&2; return 1; }
	cache_models '  odd: {provider: fake-anthropic, model: x, prices: {input: 1, output: 1, cahced: 0.1}}'
	run --separate-stderr wf-model list
	assert_failure 78
	[[ $stderr == *"unknown key 'cahced' in prices (did you mean 'cached'?)"* ]] || { echo "$stderr" >&2; return 1; }
	sed -i 's/^  quiet-anthropic: .*/  quiet-anthropic: {type: anthropic, base_url: http:\/\/127.0.0.1:1, cache: [1]}/' models.yaml
	sed -i '/^  odd:/d' models.yaml
	run --separate-stderr wf-model list
	assert_failure 78
	[[ $stderr =~ models\.yaml:5:[0-9]+:\ cache\ must\ be\ true\ or\ false,\ not\ a\ list ]] || { echo "$stderr" >&2; return 1; }
}
