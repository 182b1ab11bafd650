#!/usr/bin/env bats
# One secret masker: every form of a secret, on every path that leaves a program.
load helpers
bats_require_minimum_version 1.5.0
load fake-provider

# The forms a value may take in text: raw, percent-encoded, standard and
# URL-safe Base64 alone (padded and not), and inside a Base64 stream
# behind "x:" (as in a Basic credential), one per line.
secret_forms() {
	local v=$1 b64
	printf '%s\n' "$v"
	jq -rn --arg v "$v" '$v|@uri'
	b64=$(printf %s "$v" | base64 -w0)
	printf '%s\n' "$b64" "${b64%%=*}" "$(tr '+/' '-_' <<<"${b64%%=*}")"
	# Inside "x:VALUE" the value starts at byte 2: characters 3 .. of its encoding
	# up to the last one made only of its bits.
	printf %s "x:$v" | base64 -w0 | cut -c4-$(( (8 * (2 + ${#v})) / 6 ))
	printf %s "ab:$v" | base64 -w0 | cut -c5-$(( (8 * (3 + ${#v})) / 6 ))
}

# Fail when any form of $1 is found anywhere under the state directory or in $2.
assert_no_form() {
	local v=$1 text=${2:-} f
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		if grep -rqF -- "$f" "$WF_STATE_DIR"; then
			echo "form '$f' of the secret found in the state directory:" >&2
			grep -rlF -- "$f" "$WF_STATE_DIR" >&2
			return 1
		fi
		if [[ $text == *"$f"* ]]; then
			echo "form '$f' of the secret found in the output" >&2
			return 1
		fi
	done < <(secret_forms "$v")
}

@test "a shell step's raw, Base64, URL-encoded and split-up secret is masked in files, status and journal" {
	export DEPLOY_TOKEN='tok/9f+Q=zz&0123456789-abcdefXYZ'
	write s.yaml <<'Y'
name: s
steps:
  - id: leak
    action: shell
    secrets: [DEPLOY_TOKEN]
    output: said
    command: |
      printf 'raw %s\n' "$DEPLOY_TOKEN"
      printf 'b64 %s\n' "$(printf %s "$DEPLOY_TOKEN" | base64)"
      printf 'b64url %s\n' "$(printf %s "$DEPLOY_TOKEN" | base64 | tr '+/' '-_' | tr -d =)"
      printf 'basic %s\n' "$(printf %s "x:$DEPLOY_TOKEN" | base64)"
      printf 'url %s\n' "$(jq -rn --arg v "$DEPLOY_TOKEN" '$v|@uri')"
      printf 'split %s' "${DEPLOY_TOKEN%????}"; sleep 0; printf '%s\n' "${DEPLOY_TOKEN#${DEPLOY_TOKEN%????}}"
      t=$DEPLOY_TOKEN; printf 'chars '; while [ -n "$t" ]; do printf %s "${t%"${t#?}"}"; t=${t#?}; done; echo
      printf 'err %s\n' "$DEPLOY_TOKEN" >&2
      printf '%s' "$DEPLOY_TOKEN" | base64 >&2
      exit 3
Y
	run wf run s.yaml
	assert_failure 1
	all=$output
	for line in "raw ***" "b64 ***" "b64url ***" "url ***" "split ***" "chars ***" "err ***"; do
		{ step_output s leak out; step_output s leak err; } | grep -qxF "$line" ||
			{ echo "no '$line' in the step's output" >&2; cat "$(rundir s)"/steps/*; return 1; }
	done
	step_output s leak | grep -q '^basic '
	run wf status s
	all+=$output
	run wf status s --json
	all+=$output
	run wf-state history s
	all+=$output
	assert_no_form "$DEPLOY_TOKEN" "$all"
}

@test "the output variable and a later step's view of it carry the mask, not the secret" {
	export DEPLOY_TOKEN='another-token-0123456789'
	write v.yaml <<'Y'
name: v
steps:
  - id: a
    action: shell
    secrets: [DEPLOY_TOKEN]
    output: got
    command: 'printf %s "$DEPLOY_TOKEN" | base64'
  - id: b
    action: shell
    command: 'echo "got=[$got]"'
Y
	run wf run v.yaml
	assert_success
	assert_line 'got=[***]'
	assert_no_form "$DEPLOY_TOKEN" "$output"
}

@test "a provider's error body quoting the key in any form is masked in the step, the journal and status" {
	export FAKE_API_KEY="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	b64=$(printf %s "$FAKE_API_KEY" | base64 -w0)
	basic=$(printf %s "user:$FAKE_API_KEY" | base64 -w0)
	url=$(jq -rn --arg v "$FAKE_API_KEY" '$v|@uri')
	fake_provider_start - <<J
{"responses": [{"status": 400, "body_text": "{\"error\":{\"message\":\"bad key $FAKE_API_KEY b64 $b64 basic $basic url $url\"}}"}], "default": {"text": "ok"}}
J
	cat > models.yaml <<EOF
providers:
  fake: {type: openai, base_url: $FAKE_URL/v1, api_key_env: FAKE_API_KEY}
models:
  main: {provider: fake, model: main-test}
default: main
EOF
	export WF_MODELS="$WORK/models.yaml"
	write p.yaml <<'Y'
name: p
steps:
  - id: ask
    action: ai-prompt
    prompt: "hello"
Y
	run wf run p.yaml
	assert_failure
	all=$output
	[[ $all == *"bad key ***"* ]] || { echo "$all" >&2; return 1; }
	run wf status p
	all+=$output
	run wf-state history p
	all+=$output
	assert_no_form "$FAKE_API_KEY" "$all"
	[[ $all != *"$basic"* ]]
}

@test "wf-model's own messages mask every form of the key (debug trace and error body)" {
	export FAKE_API_KEY="sk-test-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	basic=$(printf %s "x:$FAKE_API_KEY" | base64 -w0)
	fake_provider_start - <<J
[{"status": 500, "message": "upstream said Basic $basic"}]
J
	fake_models
	export WF_DEBUG_HTTP=1 WF_RETRY_MAX=0
	run --separate-stderr wf-model chat -m gpt "hi"
	assert_failure
	[[ "$output$stderr" == *"upstream said Basic "* ]]
	assert_no_form "$FAKE_API_KEY" "$output$stderr"
}

@test "a secret split by a pause in the middle is masked, on stdout and stderr alike" {
	export DEPLOY_TOKEN='tok/9f+Q=zz&0123456789-abcdefXYZ'
	write w.yaml <<'Y'
name: w
steps:
  - id: slow
    action: shell
    secrets: [DEPLOY_TOKEN]
    command: |
      half=${DEPLOY_TOKEN%????????????????}
      printf 'before %s' "$half"; printf 'err %s' "$half" >&2
      while [ ! -e go ]; do sleep 0.01; done
      printf '%s after\n' "${DEPLOY_TOKEN#"$half"}"; printf '%s after\n' "${DEPLOY_TOKEN#"$half"}" >&2
Y
	wf run w.yaml --quiet > run.log 2>&1 &
	local i pid=$! seen=no
	# wf-step has read the first half once the text before it is in the output log.
	for i in $(seq 1 3000); do
		if step_output w slow out 2>/dev/null | grep -qs '^before $' &&
			step_output w slow err 2>/dev/null | grep -qs '^err $'; then
			seen=yes
			break
		fi
		sleep 0.01
	done
	touch go
	wait "$pid"
	[ "$seen" = yes ]
	run step_output w slow out
	assert_output 'before *** after'
	run step_output w slow err
	assert_output 'err *** after'
	assert_no_form "$DEPLOY_TOKEN" "$(cat run.log)"
}
