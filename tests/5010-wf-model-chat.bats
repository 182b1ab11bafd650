#!/usr/bin/env bats
# wf-model chat against the fake provider: the three wire protocols with
# and without streaming, what goes on the wire (headers, body, quirks,
# options), streams in odd framings, usage and cost, and how streamed text
# reaches the terminal while stdout stays one JSON document.
load helpers
load fake-provider
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	export WF_RETRY_BASE_MS=5 WF_RETRY_MAX=2 WF_HTTP_STALL_TIMEOUT=2
	unset WF_STREAM_FD WF_DEBUG_HTTP
}

# The Nth request (1-based) the fake got, filtered by jq FILTER.
req() {
	fake_provider_requests | sed -n "${1}p" | jq -c "$2"
}

# Assert that JSON text $1 equals JSON text $2, whatever the key order.
assert_json() {
	assert_equal "$(jq -cS . <<<"$1")" "$(jq -cS . <<<"$2")"
}

@test "each protocol, streamed and not: text, usage, cost and model in one JSON line" {
	fake_provider_start - <<'J'
{"default": {"text": "Hello from {model}", "usage": {"input": 12, "output": 3, "cached": 0}, "repeat": -1}}
J
	fake_models
	# alias | stream | expected text | expected usd
	while IFS='|' read -r alias stream text usd; do
		run --separate-stderr wf-model chat <<<"{\"model\":\"$alias\",\"prompt\":\"Say hi\",\"stream\":$stream}"
		assert_success
		assert_equal "$stderr" ""
		assert_equal "${#lines[@]}" 1
		run jq -c "[.text, .usage, .cost.usd, .model.name, .attempts]" <<<"$output"
		assert_output "[\"$text\",{\"input_tokens\":12,\"output_tokens\":3,\"cached_tokens\":0,\"cache_write_tokens\":0},$usd,\"$alias\",1]"
	done <<'T'
gpt|false|Hello from gpt-test|4.8e-05
gpt|true|Hello from gpt-test|4.8e-05
claude|false|Hello from claude-test|8.1e-05
claude|true|Hello from claude-test|8.1e-05
llama|false|Hello from llama3.2:latest|null
llama|true|Hello from llama3.2:latest|null
T
	assert_equal "$(fake_provider_count)" 6
}

@test "the result names the provider, model id and base URL, and carries the request id" {
	fake_provider_start - <<'J'
[{"text": "ok"}]
J
	fake_models
	run --separate-stderr wf-model chat -m claude "hello"
	assert_success
	run jq -c '[.model, .request_id, .finish_reason, (.latency_ms >= 0)]' <<<"$output"
	assert_output "[{\"name\":\"claude\",\"provider\":\"fake-anthropic\",\"model\":\"claude-test\",\"base_url\":\"$FAKE_URL\"},\"req_fake_1\",\"end_turn\",true]"
}

@test "OpenAI wire format: path, Bearer key, messages with system, stream_options, max_tokens" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	fake_models
	run wf-model chat <<'J'
{"model":"gpt","system":"Be brief.","messages":[{"role":"user","content":"one"},{"role":"assistant","content":"two"}],"prompt":"three","options":{"temperature":0.2,"max_tokens":50,"stop":["END"]},"stream":true,"format":"json"}
J
	assert_success
	run req 1 '[.method, .path, .headers.authorization, .headers["content-type"], .headers["x-api-key"]]'
	assert_output "[\"POST\",\"/v1/chat/completions\",\"Bearer $FAKE_API_KEY\",\"application/json\",null]"
	assert_json "$(req 1 .body)" '{"model":"gpt-test","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"one"},{"role":"assistant","content":"two"},{"role":"user","content":"three"}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":50,"stop":["END"],"temperature":0.2,"response_format":{"type":"json_object"}}'
}

@test "Anthropic wire format: x-api-key, anthropic-version, top-level system, required max_tokens" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	fake_models
	run wf-model chat <<'J'
{"model":"claude","system":"Be brief.","prompt":"hi","options":{"stop":"END","seed":7,"top_k":5},"stream":false}
J
	assert_success
	run req 1 '[.path, .headers["x-api-key"], .headers["anthropic-version"], .headers.authorization]'
	assert_output "[\"/v1/messages\",\"$FAKE_API_KEY\",\"2023-06-01\",null]"
	assert_json "$(req 1 .body)" '{"model":"claude-test","system":[{"type":"text","text":"Be brief.","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":"hi"}],"stream":false,"max_tokens":4096,"stop_sequences":["END"],"top_k":5}'
}

@test "Ollama wire format: /api/chat, no key, options inside options, format json" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	fake_models
	run wf-model chat <<'J'
{"model":"llama","system":"S","prompt":"hi","options":{"temperature":0,"max_tokens":9,"num_ctx":4096,"keep_alive":"5m"},"format":"json","stream":false}
J
	assert_success
	run req 1 '[.path, .headers.authorization, .headers["x-api-key"]]'
	assert_output '["/api/chat",null,null]'
	assert_json "$(req 1 .body)" '{"model":"llama3.2:latest","messages":[{"role":"system","content":"S"},{"role":"user","content":"hi"}],"stream":false,"keep_alive":"5m","options":{"num_ctx":4096,"num_predict":9,"temperature":0},"format":"json"}'
}

@test "provider quirks: max_tokens field, no stream_options, dropped params, system role, headers, bearer auth" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	fake_models
	cat > quirks.yaml <<Y
providers:
  zai-like:
    type: openai
    base_url: $FAKE_URL/api/paas/v4
    api_key_env: FAKE_API_KEY
    quirks: {stream_options: false, strip_params: [presence_penalty]}
    headers: {X-Title: wf-tests}
  oai-like:
    type: openai
    base_url: $FAKE_URL/v1
    api_key_env: FAKE_API_KEY
    quirks: {max_tokens_field: max_completion_tokens, system_role: developer}
  anthropic-bearer:
    type: anthropic
    base_url: $FAKE_URL
    api_key_env: FAKE_API_KEY
    quirks: {auth: bearer, anthropic_version: "2099-01-01"}
models:
  glm: {provider: zai-like, model: glm-4.7, options: {presence_penalty: 1, temperature: 0.5}}
  o1: {provider: oai-like, model: o1-test}
  cloud: {provider: anthropic-bearer, model: c}
Y
	export WF_MODELS=$WORK/quirks.yaml
	run wf-model chat <<<'{"model":"glm","prompt":"p","options":{"max_tokens":5},"stream":true}'
	assert_success
	run req 1 '[.path, .headers["x-title"], .body.stream_options, .body.presence_penalty, .body.max_tokens, .body.temperature]'
	assert_output '["/api/paas/v4/chat/completions","wf-tests",null,null,5,0.5]'
	run wf-model chat <<<'{"model":"o1","system":"S","prompt":"p","options":{"max_tokens":5}}'
	assert_success
	run req 2 '[.body.max_completion_tokens, .body.max_tokens, .body.messages[0].role]'
	assert_output '[5,null,"developer"]'
	run wf-model chat <<<'{"model":"cloud","prompt":"p"}'
	assert_success
	run req 3 '[.headers.authorization, .headers["x-api-key"], .headers["anthropic-version"]]'
	assert_output "[\"Bearer $FAKE_API_KEY\",null,\"2099-01-01\"]"
}

@test "a model's default options apply, and the request's options win" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	fake_models
	sed -i 's/^  gpt: {provider: fake-openai, model: gpt-test,/  gpt: {provider: fake-openai, model: gpt-test, options: {temperature: 0.7, seed: 1},/' "$WF_MODELS"
	run wf-model chat <<<'{"model":"gpt","prompt":"p","options":{"temperature":0}}'
	assert_success
	run req 1 '[.body.temperature, .body.seed]'
	assert_output '[0,1]'
}

# The same reply through every framing a real server may use.
@test "streams parse whatever the chunking: 1-byte writes, CRLF, comments, pings, multi-line data" {
	fake_provider_start - <<'J'
{"default": {"text": "one two three four five", "stream_mode": "bytes", "crlf": true, "comments": true, "multiline": true, "repeat": -1}}
J
	fake_models
	for m in gpt claude llama; do
		run --separate-stderr wf-model chat <<<"{\"model\":\"$m\",\"prompt\":\"p\",\"stream\":true}"
		assert_success
		run jq -r .text <<<"$output"
		assert_output "one two three four five"
	done
}

@test "streams parse when several events arrive in one write, or at random split points" {
	fake_provider_start - <<'J'
{"responses": [
  {"stream_mode": "together", "text": "all in one go", "repeat": 3},
  {"stream_mode": "random", "crlf": true, "text": "random splits of a longer reply, with some words", "repeat": 3}]}
J
	fake_models
	for m in gpt claude llama; do
		run wf-model chat <<<"{\"model\":\"$m\",\"prompt\":\"p\",\"stream\":true}"
		assert_success
		assert_equal "$(jq -r .text <<<"$output")" "all in one go"
	done
	for m in gpt claude llama; do
		run wf-model chat <<<"{\"model\":\"$m\",\"prompt\":\"p\",\"stream\":true}"
		assert_success
		assert_equal "$(jq -r .text <<<"$output")" "random splits of a longer reply, with some words"
	done
}

# style | expected usage
@test "OpenAI stream usage is found wherever it comes: last chunk, choices null, finish chunk" {
	fake_provider_start - <<'J'
{"responses": [
  {"usage_style": "final", "text": "a b", "usage": {"input": 20, "output": 2, "cached": 5}},
  {"usage_style": "null_choices", "text": "a b", "usage": {"input": 21, "output": 2, "cached": 0}},
  {"usage_style": "finish", "text": "a b", "usage": {"input": 22, "output": 2, "cached": 1}}]}
J
	fake_models
	for want in '[20,2,5]' '[21,2,0]' '[22,2,1]'; do
		run wf-model chat <<<'{"model":"gpt","prompt":"p","stream":true}'
		assert_success
		run jq -c '[.usage.input_tokens, .usage.output_tokens, .usage.cached_tokens]' <<<"$output"
		assert_output "$want"
	done
}

@test "no usage from the server: tokens are estimated and marked so; an unpriced model costs null" {
	fake_provider_start - <<'J'
{"default": {"text": "twelve chars", "usage": null, "repeat": -1}}
J
	fake_models
	run wf-model chat <<<'{"model":"gpt","prompt":"sixteen chars ok","stream":true}'
	assert_success
	run jq -c '[.usage, .cost]' <<<"$output"
	assert_output '[{"input_tokens":4,"output_tokens":3,"cached_tokens":0,"cache_write_tokens":0,"estimated":true},{"usd":3.2e-05,"estimated":true}]'
	run wf-model chat <<<'{"model":"llama","prompt":"sixteen chars ok"}'
	assert_success
	run jq -c '[.usage.estimated, .cost.usd]' <<<"$output"
	assert_output '[true,null]'
}

@test "Anthropic cached tokens count as input and are priced at the cached price" {
	fake_provider_start - <<'J'
{"default": {"text": "x", "usage": {"input": 1000000, "output": 1000000, "cached": 500000}, "repeat": -1}}
J
	fake_models
	for s in true false; do
		run wf-model chat <<<"{\"model\":\"claude\",\"prompt\":\"p\",\"stream\":$s}"
		assert_success
		# 500k fresh at \$3/M + 500k cached at \$0.3/M + 1M out at \$15/M
		run jq -c '[.usage.input_tokens, .usage.cached_tokens, .cost.usd]' <<<"$output"
		assert_output '[1000000,500000,16.65]'
	done
}

@test "streamed text goes to --stream-fd as it arrives; stdout stays one JSON line" {
	fake_provider_start - <<'J'
{"default": {"text": "streamed words arrive here", "repeat": -1}}
J
	fake_models
	run --separate-stderr wf-model chat --stream-fd 3 3>stream.txt <<<'{"model":"claude","prompt":"p"}'
	assert_success
	assert_equal "$(cat stream.txt)" "streamed words arrive here"
	assert_equal "${#lines[@]}" 1
	assert_equal "$(jq -r '[.text, .streamed] | join(" ")' <<<"$output")" "streamed words arrive here true"
	assert_equal "$(req 1 .body.stream)" true
	# WF_STREAM_FD does the same; "stream": false sends nothing there.
	WF_STREAM_FD=4 run wf-model chat 4>stream2.txt <<<'{"model":"gpt","prompt":"p"}'
	assert_success
	assert_equal "$(cat stream2.txt)" "streamed words arrive here"
	run wf-model chat --stream-fd 3 3>stream3.txt <<<'{"model":"gpt","prompt":"p","stream":false}'
	assert_success
	assert_equal "$(wc -c < stream3.txt)" 0
	assert_equal "$(req 3 .body.stream)" false
}

@test "on a terminal, text streams to stderr and ends with a newline; piped stdout gets the JSON" {
	command -v script >/dev/null || skip "script(1) not installed"
	fake_provider_start - <<'J'
{"default": {"text": "hello \u001b[2Jterminal", "drip": 0.05, "repeat": -1}}
J
	fake_models
	run script -qec "wf-model chat 'say hello' > out.json" /dev/null
	assert_success
	# The escape sequence reaches the result, but not the terminal.
	assert_output $'hello [2Jterminal\r'
	run jq -r .text out.json
	assert_output $'hello \e[2Jterminal'
	assert_equal "$(req 1 .body.stream)" true
	# -q keeps the terminal quiet, and then the request is not streamed.
	run script -qec "wf-model chat -q 'say hello' > out2.json" /dev/null
	assert_success
	assert_output ""
	assert_equal "$(req 2 .body.stream)" false
}

@test "chat --text prints the reply itself (streamed to stdout) and a cost line" {
	fake_provider_start - <<'J'
{"default": {"text": "just the text", "repeat": -1}}
J
	fake_models
	run --separate-stderr wf-model chat --text -m llama "hi"
	assert_success
	assert_output "just the text"
	[[ $stderr =~ ^"wf-model: 'llama': 1 input tokens (0 cached), 3 output tokens, cost unknown, "[0-9]+" ms, 1 attempt"$ ]]
	assert_equal "$(req 1 .body.stream)" true
	run --separate-stderr wf-model chat --text -m gpt "hi"
	assert_success
	assert_output "just the text"
	[[ $stderr == *"cost \$0.000026,"* ]]
}

@test "different models get their own prompts: the log says which model got which" {
	fake_provider_start - <<'J'
{"default": {"text": "{model} answers: {prompt}", "repeat": -1}}
J
	fake_models
	run wf-model chat -m claude "review this"
	assert_equal "$(jq -r .text <<<"$output")" "claude-test answers: review this"
	run wf-model chat -m llama "now code it"
	assert_equal "$(jq -r .text <<<"$output")" "llama3.2:latest answers: now code it"
	run wf-model chat --original claude -m original "back again"
	assert_equal "$(jq -r .text <<<"$output")" "claude-test answers: back again"
	run fake_provider_requests
	run jq -rc '[.model, .body.messages[-1].content] | join(": ")' "$FAKE_LOG"
	assert_output $'claude-test: review this\nllama3.2:latest: now code it\nclaude-test: back again'
}

@test "bad requests exit 65 with a JSON error on stdout" {
	fake_provider_start - <<'J'
[]
J
	fake_models
	# input | message
	while IFS='|' read -r input msg; do
		run --separate-stderr wf-model chat <<<"$input"
		assert_failure 65
		assert_equal "$(jq -r .error <<<"$output")" "$msg"
		assert_equal "$(jq -r .exit_code <<<"$output")" 65
	done <<'T'
{"model":"gpt"}|a chat request needs a "prompt" or a user message in "messages"
{"prompt":"x","temprature":1}|unknown request field 'temprature'
{"prompt":"x","messages":[{"role":"robot","content":"x"}]}|messages[0] needs "role" user, assistant or system and a string "content"
{"prompt":5}|request field 'prompt' must be a string
{"prompt":"x","format":"yaml"}|request field 'format' can only be "json"
{"prompt":"x","options":[]}|request field 'options' must be an object
T
	run --separate-stderr wf-model chat <<<'{"prompt": '
	assert_failure 65
	run --separate-stderr wf-model chat <<<'[1]'
	assert_failure 65
	assert_equal "$(fake_provider_count)" 0
}

@test "ping makes a one-token call and says whether the endpoint and key work" {
	fake_provider_start - <<'J'
[{"text": "p"}, {"error": "auth"}]
J
	fake_models
	run --separate-stderr wf-model ping claude
	assert_success
	assert_output --regexp "^ok: 'claude' \(fake-anthropic:claude-test at $FAKE_URL\) answered in [0-9]+ ms \(request req_fake_1\)$"
	assert_equal "$(req 1 .body.max_tokens)" 1
	run --separate-stderr wf-model ping claude
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "wf-model: ping 'claude' (fake-anthropic:claude-test): authentication failed (check the API key): HTTP 401 authentication_error: invalid x-api-key (request req_fake_2)"
}

@test "the fake's script can be replaced while it runs, and a request it has no answer for gets a 500" {
	fake_provider_start - <<'J'
[{"text": "first script"}]
J
	fake_models
	run wf-model chat -m gpt "a"
	assert_equal "$(jq -r .text <<<"$output")" "first script"
	WF_RETRY_MAX=0 run --separate-stderr wf-model chat -m gpt "b"
	assert_failure 69
	[[ $(jq -r .error <<<"$output") == *"fake provider: script exhausted"* ]]
	fake_provider_script - <<'J'
[{"text": "second script"}]
J
	run wf-model chat -m gpt "c"
	assert_success
	assert_equal "$(jq -r .text <<<"$output")" "second script"
}
