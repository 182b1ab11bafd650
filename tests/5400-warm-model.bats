#!/usr/bin/env bats
# Warm model connections: one `wf-model --serve` per run, started on the
# run's first model call and kept for every later one, with one
# connection per provider (the fake's "conn" numbers them), over HTTPS
# with a provider's ca_file.  A server killed with a call in flight fails
# that step, never sends the call again; one killed between calls is
# replaced.  Hostile lines on its stdin get one error result each.  The
# kills are synchronised on the fake's log, files and the journal; the
# server's pid comes from this run's own process tree or journal.
load helpers
load fake-provider

teardown() {
	touch "$WORK/go"
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
	fake_provider_stop_all
}

# A shell step that appends the wf-model --serve children of its own
# wf-step (its parent) to $WORK/servers, or "none".
probe() {
	[ -e "$WORK/probe.sh" ] || cat > "$WORK/probe.sh" <<'S'
s=$(ps -o pid=,args= --ppid "$1" | awk '$2 ~ /wf-model$/ && $3 == "--serve" { print $1 }')
echo "${s:-none}" >> "$WORK/servers"
S
	printf '  - {id: %s, action: shell, command: %s}\n' "$1" "'sh \"\$WORK/probe.sh\" \$PPID'"
}

# The distinct connections the fake's requests came on.
connections() {
	fake_provider_requests "$@" | jq -s 'map(.conn) | unique | length'
}

# The process groups run $1 journaled for step $2 (step-pgid), one a line.
step_groups() {
	wf-state history "$1" | jq -r --arg s "$2" 'select(.event == "step-pgid" and .step == $s) | .pgid'
}

# Is process $1 gone (or a zombie nobody reaped yet)?
gone() {
	local st
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case $st in Z*) return 0 ;; esac
	return 1
}

# A self-signed certificate for 127.0.0.1 in $WORK/tls/, and the fake
# provider on HTTPS with it; $WORK/tls/models.yaml names it as ca_file.
tls_provider() {
	mkdir -p "$WORK/tls"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
		-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
		-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null
	FAKE_PROVIDER_ARGS="--tls-cert $WORK/tls/cert.pem --tls-key $WORK/tls/key.pem" fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply {n}"}}
J
	export FAKE_API_KEY=sk-test-tls-0123456789abcdef
	write tls/models.yaml <<EOF
providers:
  tls:
    type: openai
    base_url: https://127.0.0.1:$FAKE_PORT/v1
    api_key_env: FAKE_API_KEY
    ca_file: ${1-cert.pem}
models:
  gpt: {provider: tls, model: gpt-test}
default: gpt
EOF
	export WF_MODELS="$WORK/tls/models.yaml"
}

# Start `wf ARGS...` in its own process group; the reply streams to $WORK/run.err.
start_run() {
	WF_STREAM_FD=2 setsid wf "$@" 2>"$WORK/run.err" >"$WORK/run.out" &
	RUNNER=$!
}

# Wait for the runner started by start_run; RC gets its exit status.
wait_run() {
	RC=0
	wait "$RUNNER" || RC=$?
	RUNNER=
}

@test "one wf-model per run, started by the first model step and kept for every later one" {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply {n}"}}
J
	fake_models
	{
		echo "name: warm"
		echo "steps:"
		probe p0
		echo '  - {id: a1, action: ai-prompt, prompt: "one"}'
		probe p1
		echo '  - {id: a2, action: ai-prompt, prompt: "two", model: claude}'
		probe p2
		echo '  - {id: a3, action: ai-prompt, prompt: "three"}'
	} > warm.yaml
	run wf run warm.yaml --quiet
	assert_success
	run fake_provider_count
	assert_output 3
	# Nothing before the first model step; the same server after each one.
	run sed -n 1p "$WORK/servers"
	assert_output none
	pid=$(sed -n 2p "$WORK/servers")
	[ "$pid" -gt 1 ]
	run sed -n 3p "$WORK/servers"
	assert_output "$pid"
	# Every model step journaled that server's group, so it never outlives a step unseen.
	for s in a1 a2 a3; do
		run step_groups warm "$s"
		assert_output "$pid"
	done
	# One connection for both providers (one host and port), kept alive.
	run connections
	assert_output 1
	# It ended with the run.
	wait_until gone "$pid"
}

@test "HTTPS with the provider's ca_file: 5 model steps over one connection" {
	tls_provider
	{
		echo "name: tls"
		echo "steps:"
		for i in 1 2 3 4 5; do echo "  - {id: a$i, action: ai-prompt, prompt: \"call $i\"}"; done
	} > tls.yaml
	run wf run tls.yaml --quiet
	assert_success
	run fake_provider_count
	assert_output 5
	run connections
	assert_output 1
	run sh -c "wf-state history tls | jq -r 'select(.event == \"step-end\" and .step == \"a5\") | .output'"
	assert_output "reply 5"
}

@test "without the ca_file the certificate does not verify; a ca_file that cannot be read is a configuration error" {
	tls_provider
	sed -i '/ca_file/d' "$WF_MODELS"
	run wf-model chat --text -m gpt hello
	assert_failure
	assert_output --partial "TLS verification failed"
	run fake_provider_count
	assert_output 0
	tls_provider missing.pem
	run wf-model chat --text -m gpt hello
	assert_failure 78
	assert_output --partial "tls/models.yaml:6:14: "
	assert_output --partial "ca_file 'missing.pem': cannot read '$WORK/tls/missing.pem'"
}

@test "the reply streams through the server as it arrives; kill -9 mid-call fails the step once, resume starts a new server" {
	fake_provider_start - <<'J'
[{"text": "first second third", "chunks": ["first ", "second ", "third"], "stall": 300, "stall_at": 1},
 {"text": "a whole reply"}]
J
	fake_models
	write mid.yaml <<'Y'
name: mid
steps:
  - {id: ask, action: ai-prompt, prompt: "Say something"}
  - {id: after, action: shell, command: 'echo after >> "$WORK/count"'}
Y
	start_run run mid.yaml
	# The first words are on the terminal while the provider holds the rest.
	wait_until grep -q first "$WORK/run.err"
	pid=$(step_groups mid ask)
	run ps -o args= -p "$pid"
	assert_output --partial "wf-model --serve"
	kill -9 "$pid"
	wait_run
	[ "$RC" = 1 ]
	run cat "$WORK/run.err"
	assert_output --partial "ask: wf-model exited with status 137"
	run sh -c "wf-state history mid | jq -c 'select(.event == \"step-end\" and .step == \"ask\") | [.status, .exit_code]'"
	assert_output '["failed",137]'
	# The call that may have been billed was made once, never again by itself.
	run fake_provider_count
	assert_output 1
	[ ! -e "$WORK/count" ]
	run wf resume mid --quiet
	assert_success
	run fake_provider_count
	assert_output 2
	run cat "$WORK/count"
	assert_output after
	# The resume's call went through a new server.
	run step_groups mid ask
	[ "${#lines[@]}" = 2 ]
	[ "${lines[0]}" = "$pid" ]
	[ "${lines[1]}" != "$pid" ]
}

@test "kill -9 of the server while it waits between calls: the next call starts a new one and is made once" {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply {n}"}}
J
	fake_models
	write idle.yaml <<'Y'
name: idle
steps:
  - {id: a1, action: ai-prompt, prompt: "one"}
  - id: hold
    action: shell
    command: 'touch "$WORK/waiting"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done'
  - {id: a2, action: ai-prompt, prompt: "two"}
Y
	start_run run idle.yaml --quiet
	wait_until test -e "$WORK/waiting"
	pid=$(step_groups idle a1)
	run ps -o args= -p "$pid"
	assert_output --partial "wf-model --serve"
	kill -9 "$pid"
	wait_until gone "$pid"
	touch "$WORK/go"
	wait_run
	[ "$RC" = 0 ] || { cat "$WORK/run.err" >&2; false; }
	run fake_provider_count
	assert_output 2
	run sh -c "wf-state history idle | jq -r 'select(.event == \"step-end\" and .step == \"a2\") | .output'"
	assert_output "reply 2"
	new=$(step_groups idle a2)
	[ -n "$new" ] && [ "$new" != "$pid" ]
}

@test "kill -9 of the whole run while a call is held: the server dies too, and resume asks once more" {
	fake_provider_start - <<'J'
[{"text": "never sent", "delay": 300}, {"text": "a whole reply"}]
J
	fake_models
	write held.yaml <<'Y'
name: held
steps:
  - {id: ask, action: ai-prompt, prompt: "Say something"}
Y
	start_run run held.yaml --quiet
	wait_until test -s "$FAKE_LOG"
	wait_until eval '[ -n "$(step_groups held ask)" ]'
	pid=$(step_groups held ask)
	# What a CI cancel does: SIGKILL to the job's process group (the server has its own).
	kill -9 -- "-$RUNNER"
	wait_run
	wait_until gone "$pid"
	wait_until wf resume held --quiet
	run fake_provider_count
	assert_output 2
	run sh -c "wf-state history held | jq -r 'select(.event == \"step-end\" and .step == \"ask\") | .output'"
	assert_output "a whole reply"
}

@test "wf-model --serve: a malformed or hostile line gets one error result, and the server goes on" {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "reply {n}"}}
J
	fake_models
	{
		echo 'not json'
		echo '[1, 2]'
		echo '{"prompt": "x", "stream_fd": 1}'
		echo '{"prompt": "x", "stream_fd": "2; rm -rf /"}'
		echo '{"prompt": "x", "stream_fd": 77}'
		echo '{"prompt": "x", "stream_fd": 2.5}'
		echo '{"prompt": "x", "model": "no-such-model"}'
		echo '{"prompt": "x", "model": "../../x"}'
		echo ''
		echo '{"prompt": "hello", "model": "gpt", "quiet": true}'
	} > lines
	run sh -c 'wf-model --serve < lines > out 2> err'
	assert_success
	run jq -r '.exit_code // "ok"' out
	assert_output $'65\n65\n65\n65\n65\n65\n78\n78\n65\nok'
	run jq -r 'select(.text) | .text' out
	assert_output "reply 1"
	run cat err
	assert_output --partial "standard input, line 1: not a chat request"
	assert_output --partial "line 3: not a chat request: stream descriptor 1 is the request or result channel"
	assert_output --partial "line 5: not a chat request: stream descriptor 77 is not open"
	assert_output --partial "line 9: not a chat request"
	# Only the last line reached the provider.
	run fake_provider_count
	assert_output 1
	# End of input, or its parent gone: it exits.
	run wf-model --serve < /dev/null
	assert_success
	assert_output ""
}

@test "the API key is never in the server's results or on its stderr, even with the HTTP trace on" {
	fake_provider_start - <<'J'
{"responses": [{"echo_key": true}], "default": {"text": "reply"}}
J
	fake_models
	printf '%s\n' '{"prompt": "a", "model": "gpt"}' '{"prompt": "b", "model": "gpt"}' > lines
	WF_DEBUG_HTTP=1 wf-model --serve < lines > "$WORK/out" 2> "$WORK/err"
	run jq -r '.exit_code // "ok"' "$WORK/out"
	assert_output $'1\nok'
	run grep -c . "$WORK/err"
	[ "$output" -gt 0 ]
	run grep -lF -- "$FAKE_API_KEY" "$WORK/out" "$WORK/err"
	assert_failure
	# And through a run: neither its output nor its state.
	write key.yaml <<'Y'
name: key
steps:
  - {id: a1, action: ai-prompt, prompt: "one"}
Y
	fake_provider_script - <<'J'
{"responses": [{"echo_key": true}], "default": {"text": "reply"}}
J
	WF_DEBUG_HTTP=1 run wf run key.yaml
	assert_failure
	refute_output --partial "$FAKE_API_KEY"
	run grep -rlF -- "$FAKE_API_KEY" "$WF_STATE_DIR"
	assert_failure
}
