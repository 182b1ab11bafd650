#!/usr/bin/env bats
# wf-model chat when things go wrong: retries with backoff and
# Retry-After, the exit code of each failure class, truncated and stalled
# streams, size caps, redirects, TLS and plain http, fallback models,
# interrupts, and keys: where they come from and that they never show.
load helpers
load fake-provider
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	export WF_RETRY_BASE_MS=5 WF_RETRY_MAX=2 WF_HTTP_STALL_TIMEOUT=1
	unset WF_STREAM_FD WF_DEBUG_HTTP WF_RETRY_AFTER_MAX
}

# Run a chat of MODEL (default gpt) with a fixed prompt; the result in $output, messages in $stderr.
chat() {
	run --separate-stderr wf-model chat "$@" <<<'{"prompt":"hello","stream":true}'
}

error_of() {
	jq -r .error <<<"$output"
}

@test "429 with Retry-After: 1 waits at least a second, then succeeds; the wait is logged" {
	fake_provider_start - <<'J'
[{"error": "rate_limit", "retry_after": "1"}, {"text": "after the wait"}]
J
	fake_models
	start=$(date +%s%N)
	chat -m claude
	end=$(date +%s%N)
	assert_success
	assert_equal "$(jq -r '[.text, .attempts] | join(" ")' <<<"$output")" "after the wait 2"
	[ $(( (end - start) / 1000000 )) -ge 1000 ]
	assert_equal "$stderr" "wf-model: 'claude': rate-limited: HTTP 429 rate_limit_error: Rate limit reached for requests (request req_fake_1); retry 1 of 2 in 1.0 s"
}

@test "Retry-After-Ms and an HTTP-date Retry-After are honoured too" {
	fake_provider_start - <<'J'
[{"error": "rate_limit", "retry_after_ms": "300", "retry_after": "30"}, {"text": "ms ok"},
 {"error": "rate_limit", "retry_after": "Wed, 21 Oct 2015 07:28:00 GMT"}, {"text": "date ok"}]
J
	fake_models
	chat
	assert_success
	[[ $stderr == *"retry 1 of 2 in 300 ms" ]]
	chat
	assert_success
	# A date in the past means "now".
	[[ $stderr == *"retry 1 of 2 in 0 ms" ]]
}

@test "an absurd Retry-After is clamped to WF_RETRY_AFTER_MAX, ending in 75 after the retries" {
	fake_provider_start - <<'J'
[{"error": "rate_limit", "retry_after": "999999", "repeat": -1}]
J
	fake_models
	start=$(date +%s)
	WF_RETRY_AFTER_MAX=0.2 chat
	assert_failure 75
	[ $(( $(date +%s) - start )) -lt 20 ]
	assert_equal "$(fake_provider_count)" 3
	assert_equal "$(grep -c 'retry .* in 200 ms' <<<"$stderr")" 2
	assert_equal "$(jq -c '[.exit_code, .status, .attempts]' <<<"$output")" '[75,429,3]'
}

@test "529 three times then success: backs off and succeeds on the fourth attempt" {
	fake_provider_start - <<'J'
[{"error": "overloaded", "repeat": 3}, {"text": "finally"}]
J
	fake_models
	WF_RETRY_MAX=3 chat -m claude
	assert_success
	assert_equal "$(jq -r '[.text, .attempts] | join(" ")' <<<"$output")" "finally 4"
	assert_equal "$(grep -c "overloaded: HTTP 529 overloaded_error: Overloaded" <<<"$stderr")" 3
}

@test "a failure every time gives up after WF_RETRY_MAX retries with the class's exit code" {
	fake_provider_start - <<'J'
[{"error": "overloaded", "repeat": 3}, {"error": "overloaded", "repeat": 3},
 {"error": "rate_limit", "repeat": 3}, {"error": "server", "repeat": 3}, {"error": "server", "repeat": 3}]
J
	fake_models
	# model | exit | requests so far
	while IFS='|' read -r model code n; do
		chat -m "$model"
		assert_failure "$code"
		assert_equal "$(jq -r .attempts <<<"$output")" 3
		assert_equal "$(fake_provider_count)" "$n"
	done <<'T'
claude|75|3
gpt|75|6
gpt|75|9
gpt|69|12
llama|69|15
T
}

@test "errors that a retry cannot fix are not retried, and map to 78 or 1" {
	fake_provider_start - <<'J'
[{"error": "auth"}, {"error": "forbidden"}, {"error": "not_found"}, {"error": "bad_request"},
 {"error": "context_length"}, {"status": 413, "error": "bad_request"}, {"status": 422, "error": "bad_request"},
 {"error": "quota"}, {"error": "spend_limit"},
 {"status": 402, "error": "bad_request", "message": "Insufficient credits"},
 {"error": "server", "headers": {"x-should-retry": "false"}}]
J
	fake_models
	n=0
	# model | exit | message start (the script above, in order)
	while IFS='|' read -r model code msg; do
		n=$((n + 1))
		chat -m "$model"
		assert_failure "$code"
		assert_equal "$(fake_provider_count)" "$n"
		[[ $(error_of) == "chat '$model' "*": $msg"* ]] || { echo "got: $(error_of)" >&2; return 1; }
	done <<'T'
claude|78|authentication failed (check the API key): HTTP 401 authentication_error: invalid x-api-key (request req_fake_1)
gpt|78|permission denied: HTTP 403
gpt|78|model or endpoint not found: HTTP 404 invalid_request_error model_not_found: The model gpt-test does not exist
gpt|1|request rejected: HTTP 400
gpt|1|request rejected: HTTP 400 invalid_request_error context_length_exceeded: This model's maximum context length is 8192 tokens.
claude|1|request rejected: HTTP 413
llama|1|request rejected: HTTP 422
gpt|1|spend limit or credit exhausted, not retried: HTTP 429 insufficient_quota
claude|1|spend limit or credit exhausted, not retried: HTTP 429 rate_limit_error enforced_spend_limit_reached
gpt|1|spend limit or credit exhausted, not retried: HTTP 402
gpt|69|server error: HTTP 500
T
}

@test "an unreachable provider exits 69 after retrying" {
	fake_provider_start - <<<'[]'
	fake_models
	port=$FAKE_PORT
	fake_provider_stop
	chat
	assert_failure 69
	[[ $(error_of) == *"cannot reach 'http://127.0.0.1:$port/v1/chat/completions'"* ]]
	assert_equal "$(jq -r .attempts <<<"$output")" 3
	assert_equal "$(grep -c "retry" <<<"$stderr")" 2
}

@test "a stalled stream times out (75) within the stall limit; a slow drip does not" {
	fake_provider_start - <<'J'
[{"stall": 60, "text": "a b c", "repeat": 2}, {"drip": 0.3, "text": "a b c d e f g"}]
J
	fake_models
	start=$(date +%s)
	WF_RETRY_MAX=1 chat
	assert_failure 75
	[ $(( $(date +%s) - start )) -lt 20 ]
	[[ $(error_of) == *"timed out: no data for 1 s: the response stalled"* ]]
	assert_equal "$(fake_provider_count)" 2
	chat
	assert_success
	assert_equal "$(jq -r .text <<<"$output")" "a b c d e f g"
}

@test "a non-streamed request stops at WF_HTTP_TIMEOUT" {
	fake_provider_start - <<'J'
[{"delay": 60, "text": "late", "repeat": -1}]
J
	fake_models
	start=$(date +%s)
	WF_HTTP_TIMEOUT=0.5 WF_RETRY_MAX=0 run --separate-stderr wf-model chat <<<'{"prompt":"p","stream":false}'
	assert_failure 75
	[ $(( $(date +%s) - start )) -lt 20 ]
	[[ $(jq -r .error <<<"$output") == *"timed out"* ]]
}

@test "truncated streams fail with 1 and are not retried, for every protocol and both ways of ending" {
	fake_provider_start - <<'J'
[{"truncate": "clean", "text": "cut short here"}, {"truncate": "clean", "text": "cut short here"},
 {"truncate": "clean", "text": "cut short here"}, {"truncate": "abrupt", "text": "cut short here"},
 {"truncate": "abrupt", "text": "cut short here"}, {"truncate": "abrupt", "text": "cut short here"}]
J
	fake_models
	n=0
	for m in gpt claude llama gpt claude llama; do
		n=$((n + 1))
		chat -m $m
		assert_failure 1
		[[ $(error_of) == *"truncated stream"* ]]
		assert_equal "$(fake_provider_count)" "$n"
	done
}

@test "a server that keeps the connection open after the end marker does not hang us" {
	fake_provider_start - <<'J'
{"default": {"hold_open": 60, "text": "done", "repeat": -1}}
J
	fake_models
	for m in gpt claude llama; do
		start=$(date +%s)
		chat -m $m
		assert_success
		[ $(( $(date +%s) - start )) -lt 20 ]
	done
}

@test "unparseable responses fail with 1 and show the first bytes" {
	fake_provider_start - <<'J'
[{"invalid_json": true}, {"invalid_json": true}, {"invalid_json": true}]
J
	fake_models
	run --separate-stderr wf-model chat <<<'{"prompt":"p","stream":false}'
	assert_failure 1
	[[ $(error_of) == *"unparseable response: "*'{"id": "broken", "choices": ['* ]]
	chat -m claude
	assert_failure 1
	[[ $(error_of) == *"unparseable stream event: "* ]]
	chat -m llama
	assert_failure 1
	assert_equal "$(fake_provider_count)" 3
}

@test "an HTML error page from a proxy is reported by its first bytes" {
	fake_provider_start - <<'J'
[{"html": true, "repeat": -1}]
J
	fake_models
	chat
	assert_failure 69
	[[ $(error_of) == *"server error: HTTP 502: <html><head><title>502 Bad Gateway</title>"* ]]
}

@test "a response over the size cap is cut off at the cap with exit 1, streamed or not" {
	fake_provider_start - <<'J'
{"default": {"huge": 9000000, "repeat": -1}}
J
	fake_models
	start=$(date +%s)
	chat
	assert_failure 1
	[[ $(error_of) == *"response larger than 8388608 bytes"* ]]
	WF_HTTP_MAX_BYTES=100000 run --separate-stderr wf-model chat -m claude <<<'{"prompt":"p","stream":false}'
	assert_failure 1
	[[ $(error_of) == *"response larger than 100000 bytes"* ]]
	[ $(( $(date +%s) - start )) -lt 30 ]
	assert_equal "$(fake_provider_count)" 2
}

@test "a redirect is never followed: exit 1, 'unexpected redirect', one request" {
	fake_provider_start - <<'J'
[{"redirect": "file:///etc/passwd"}, {"redirect": "http://127.0.0.1:9/elsewhere"}]
J
	fake_models
	chat
	assert_failure 1
	[[ $(error_of) == *"unexpected redirect (HTTP 302 to file:///etc/passwd)"* ]]
	chat
	assert_failure 1
	assert_equal "$(fake_provider_count)" 2
}

@test "plain http to a non-loopback host is refused before connecting, exit 78" {
	write remote.yaml <<'Y'
providers:
  remote: {type: openai, base_url: "http://192.0.2.1:8080/v1", api_key_env: FAKE_API_KEY}
  sneaky: {type: openai, base_url: "http://127.0.0.1.example.com/v1"}
  at: {type: openai, base_url: "http://127.0.0.1@192.0.2.1/v1"}
  v6: {type: ollama, base_url: "http://[::1]:9"}
Y
	# A connection attempt to 192.0.2.1 (TEST-NET) would hang for the whole connect timeout.
	export WF_MODELS=$WORK/remote.yaml FAKE_API_KEY=sk-test-0123456789abcdef WF_HTTP_CONNECT_TIMEOUT=60
	for m in remote:m sneaky:m at:m; do
		start=$(date +%s)
		run --separate-stderr wf-model chat -m $m "hi"
		assert_failure 78
		[[ $(error_of) == *"refusing plain http to '"*"': use https (http is allowed only for loopback hosts)"* ]]
		[ $(( $(date +%s) - start )) -lt 20 ]
	done
	# [::1] is loopback: allowed (and nothing listens there, so 69).
	WF_RETRY_MAX=0 run --separate-stderr wf-model chat -m v6:m "hi"
	assert_failure 69
}

@test "https with a self-signed certificate fails verification (exit 1) and sends nothing; a given CA works" {
	command -v openssl >/dev/null || skip "openssl not installed"
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 \
		-addext "subjectAltName=DNS:localhost" -keyout key.pem -out cert.pem 2>/dev/null
	FAKE_PROVIDER_ARGS="--tls-cert $WORK/cert.pem --tls-key $WORK/key.pem" fake_provider_start - <<'J'
{"default": {"text": "secure hello", "repeat": -1}}
J
	write tls.yaml <<Y
providers:
  tls: {type: openai, base_url: "https://localhost:$FAKE_PORT/v1", api_key_env: FAKE_API_KEY}
Y
	export WF_MODELS=$WORK/tls.yaml FAKE_API_KEY=sk-test-0123456789abcdef
	run --separate-stderr wf-model chat -m tls:m "hi"
	assert_failure 1
	[[ $(error_of) == *"TLS verification failed"*"(curl error 60)"* ]]
	assert_equal "$(fake_provider_count)" 0
	WF_CA_FILE=$WORK/cert.pem run --separate-stderr wf-model chat -m tls:m "hi"
	assert_success
	assert_equal "$(jq -r .text <<<"$output")" "secure hello"
}

@test "a mid-stream overload is retried while nothing was shown, never after" {
	for m in gpt claude llama; do
		fake_provider_stop
		fake_provider_start - <<'J'
[{"mid_error": "overloaded", "text": "partial answer"}, {"text": "whole answer"},
 {"mid_error": "overloaded", "text": "partial answer"}, {"text": "never asked for"}]
J
		fake_models
		chat -m $m
		assert_success
		assert_equal "$(jq -r '[.text, .attempts] | join(" ")' <<<"$output")" "whole answer 2"
		# Now the first words reach a reader: no second attempt, and exit 75.
		run --separate-stderr wf-model chat -m $m --stream-fd 3 3>shown.txt <<<'{"prompt":"p"}'
		assert_failure 75
		assert_equal "$(cat shown.txt)" "partial"
		[[ $(error_of) == *"(not retried: part of the answer was already shown)"* ]]
		assert_equal "$(fake_provider_count)" 3
	done
}

@test "a fallback model answers after the primary gives up, and the switch is announced" {
	fake_provider_start - <<'J'
[{"match": {"model": "gpt-test"}, "error": "overloaded", "repeat": -1},
 {"match": {"model": "claude-test"}, "error": "not_found"},
 {"match": {"model": "llama3.2:latest"}, "text": "fallback speaking", "repeat": -1}]
J
	fake_models
	sed -i 's/^  gpt: {provider: fake-openai, model: gpt-test,/  gpt: {provider: fake-openai, model: gpt-test, fallback: claude,/; s/^  claude: {provider: fake-anthropic, model: claude-test,/  claude: {provider: fake-anthropic, model: claude-test, fallback: llama,/' "$WF_MODELS"
	chat -m gpt
	assert_success
	assert_equal "$(jq -c '[.text, .model.name, .fallback_from, .attempts]' <<<"$output")" '["fallback speaking","llama",["gpt","claude"],5]'
	[[ $stderr == *"'gpt' failed: overloaded: HTTP 503"*"; falling back to 'claude'"* ]]
	[[ $stderr == *"'claude' failed: model or endpoint not found: HTTP 404"*"; falling back to 'llama'"* ]]
}

@test "a bad key is not a reason to fall back" {
	fake_provider_start - <<'J'
[{"error": "auth", "repeat": -1}]
J
	fake_models
	sed -i 's/^  gpt: {provider: fake-openai, model: gpt-test,/  gpt: {provider: fake-openai, model: gpt-test, fallback: claude,/' "$WF_MODELS"
	chat -m gpt
	assert_failure 78
	assert_equal "$(fake_provider_count)" 1
}

@test "SIGINT during a call stops it promptly with 130, SIGTERM with 143" {
	fake_provider_start - <<'J'
{"default": {"stall": 60, "stall_at": 1, "text": "x y", "repeat": -1}}
J
	fake_models
	export WF_HTTP_STALL_TIMEOUT=60
	for sig in INT TERM; do
		wf-model chat --stream-fd 3 <<<'{"prompt":"p","stream":true}' > out.$sig 2> err.$sig 3> stream.$sig &
		pid=$!
		# Signal it once the first words have arrived and the provider holds the rest.
		for _ in $(seq 1 600); do
			[ -s stream.$sig ] && break
			sleep 0.05
		done
		[ -s stream.$sig ]
		start=$(date +%s)
		kill -$sig $pid
		rc=0
		wait $pid || rc=$?
		[ $(( $(date +%s) - start )) -lt 20 ]
		if [ $sig = INT ]; then assert_equal $rc 130; else assert_equal $rc 143; fi
		assert_equal "$(jq -r .error out.$sig)" "chat 'gpt' (fake-openai:gpt-test): interrupted (request req_fake_$([ $sig = INT ] && echo 1 || echo 2))"
	done
}

# ---- keys ----

@test "a missing key variable is a configuration error naming the variable, before any request" {
	fake_provider_start - <<<'[]'
	fake_models
	unset FAKE_API_KEY
	chat -m claude
	assert_failure 78
	assert_equal "$(error_of)" "chat 'claude' (fake-anthropic:claude-test): provider 'fake-anthropic': API key variable 'FAKE_API_KEY' is not set"
	assert_equal "$(fake_provider_count)" 0
	# Ollama's local API needs no key.
	fake_provider_stop
	fake_provider_start - <<<'[{"text":"no key needed"}]'
	fake_models
	unset FAKE_API_KEY
	chat -m llama
	assert_success
}

@test "api_key_cmd: the key comes from a command run without a shell, as argv list or split string" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	mkdir -p bin
	printf '#!/bin/sh\n[ "$1" = "show" ] && [ "$2" = "my key" ] && echo "  sk-from-command-0123456789  " || exit 3\n' > bin/keytool
	printf '#!/bin/sh\necho sk-from-split-0123456789 "$@"\n' > bin/splitkey
	chmod +x bin/keytool bin/splitkey
	write cmd.yaml <<Y
providers:
  listcmd: {type: openai, base_url: "$FAKE_URL/v1", api_key_cmd: ["$WORK/bin/keytool", show, "my key"]}
  strcmd: {type: anthropic, base_url: "$FAKE_URL", api_key_cmd: "$WORK/bin/splitkey"}
  badcmd: {type: openai, base_url: "$FAKE_URL/v1", api_key_cmd: "$WORK/bin/keytool wrong"}
  nocmd: {type: openai, base_url: "$FAKE_URL/v1", api_key_cmd: "/nonexistent/keytool"}
Y
	export WF_MODELS=$WORK/cmd.yaml
	run --separate-stderr wf-model chat -m listcmd:m "hi"
	assert_success
	assert_equal "$(fake_provider_requests | sed -n 1p | jq -r .headers.authorization)" "Bearer sk-from-command-0123456789"
	run --separate-stderr wf-model chat -m strcmd:m "hi"
	assert_success
	assert_equal "$(fake_provider_requests | sed -n 2p | jq -r '.headers["x-api-key"]')" "sk-from-split-0123456789"
	run --separate-stderr wf-model chat -m badcmd:m "hi"
	assert_failure 78
	assert_equal "$(error_of)" "chat 'badcmd:m' (badcmd:m): provider 'badcmd': api_key_cmd '$WORK/bin/keytool' failed with status 3"
	run --separate-stderr wf-model chat -m nocmd:m "hi"
	assert_failure 78
	assert_equal "$(error_of)" "chat 'nocmd:m' (nocmd:m): provider 'nocmd': cannot run api_key_cmd '/nonexistent/keytool': No such file or directory"
	assert_equal "$(fake_provider_count)" 2
}

@test "a key never follows a provider moved to another base_url unless named again" {
	fake_provider_start - <<'J'
{"default": {"text": "ok", "repeat": -1}}
J
	export OPENAI_API_KEY=sk-real-openai-key-0123456789
	write moved.yaml <<Y
providers:
  openai: {base_url: "$FAKE_URL/v1"}
  anthropic: {base_url: "$FAKE_URL", api_key_env: FAKE_KEY_AGAIN}
Y
	export WF_MODELS=$WORK/moved.yaml FAKE_KEY_AGAIN=sk-named-again-0123456789
	run wf-model chat -m openai:gpt-4o "hi"
	assert_success
	assert_equal "$(fake_provider_requests | sed -n 1p | jq -r .headers.authorization)" null
	run wf-model chat -m anthropic:claude "hi"
	assert_success
	assert_equal "$(fake_provider_requests | sed -n 2p | jq -r '.headers["x-api-key"]')" "sk-named-again-0123456789"
	! grep -q sk-real-openai "$FAKE_LOG"
}

@test "the key appears nowhere in output: echoed error bodies, streamed text, debug traces, failures" {
	export FAKE_API_KEY="sk-test-$RANDOM$RANDOM-0123456789abcdefghij"
	b64=$(printf %s "$FAKE_API_KEY" | base64 -w0 | tr -d =)
	fake_provider_start - <<J
[{"echo_key": true}, {"echo_key": true}, {"echo_key": true},
 {"stream_mode": "bytes", "text": "leaked: $FAKE_API_KEY and base64 $b64 end"},
 {"error": "overloaded", "message": "overloaded for $FAKE_API_KEY"}, {"text": "fine"}]
J
	fake_models
	export WF_DEBUG_HTTP=1
	all=""
	for m in gpt claude llama; do
		chat -m $m --stream-fd 3 3>>shown.txt
		assert_failure 1
		all+="$output$stderr"
	done
	chat -m claude --stream-fd 3 3>>shown.txt
	assert_success
	all+="$output$stderr"
	assert_equal "$(jq -r .text <<<"$output")" "leaked: *** and base64 *** end"
	chat -m gpt
	assert_success
	all+="$output$stderr"
	# The trace shows the auth headers, masked.
	[[ $all == *"> Authorization: ***"* ]]
	[[ $all == *"> x-api-key: ***"* ]]
	[[ $all == *"Incorrect API key provided: ***."* ]]
	[[ $all == *"overloaded for ***"* ]]
	all+="$(cat shown.txt)"
	[[ $all != *"$FAKE_API_KEY"* ]]
	[[ $all != *"$b64"* ]]
	[[ $all != *"${FAKE_API_KEY:8}"* ]]
	# ... and it did reach the server where it belongs.
	grep -q "Bearer $FAKE_API_KEY" "$FAKE_LOG"
}
