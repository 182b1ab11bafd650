# A scripted fake LLM provider for bats tests (tests/fakes/fake-provider.py).
# Load it after helpers:   load helpers; load fake-provider
#
#   fake_provider_start SCRIPT [NAME]   start a server on 127.0.0.1 (free port);
#                                       SCRIPT is a JSON file, or - to read it
#                                       from stdin.  Sets FAKE_PORT, FAKE_URL
#                                       (http://127.0.0.1:PORT), FAKE_LOG.
#   fake_provider_stop [NAME]           stop it (teardown does this for all)
#   fake_provider_requests [NAME]       the requests it got, one JSON per line
#   fake_provider_count [NAME]          how many requests it got
#   fake_provider_script SCRIPT [NAME]  replace the running server's script
#                                       (a file, or - for stdin)
#   fake_models [FILE]                  write a models.yaml (default
#                                       $WORK/models.yaml) with one provider per
#                                       protocol on the fake, export WF_MODELS and
#                                       FAKE_API_KEY (a random sk-test-... key,
#                                       unless already set)
#   fake_models_pair [EXTRA [OTHER [DEFAULT]]]
#                                       the same for the seed's model-switch
#                                       workflows: $WORK/models.yaml with one
#                                       openai provider "fake" and models glm
#                                       (priced 1/2, EXTRA appended to its
#                                       fields, e.g. ", output_tokens: 40") on
#                                       line 7, and OTHER (main) unpriced;
#                                       default DEFAULT (main)
#
# Models in that file: gpt (openai protocol, priced), claude (anthropic,
# priced, with cached price), llama (ollama, no price), and default: gpt.
# Several servers can run at once under different NAMEs (say one per model
# for a model-switching workflow); the variables then describe the last one
# started.  This file defines teardown() to stop them all; a test file with
# its own teardown() must call fake_provider_stop_all in it.

FAKE_PROVIDER_PY="$REPO_ROOT/tests/fakes/fake-provider.py"
# Debian's python3 (make deps) starts faster than wrappers such as pyenv shims.
FAKE_PYTHON=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)

fake_provider_start() {
	local script=$1 name=${2:-fake} dir i
	dir="$BATS_TEST_TMPDIR/fake-provider-$name"
	mkdir -p "$dir"
	rm -f "$dir/port" "$dir/requests.jsonl"
	if [ "$script" = - ]; then
		cat > "$dir/script.json"
		script="$dir/script.json"
	fi
	# fd 3 closed: bats would otherwise wait for the server to exit.
	"$FAKE_PYTHON" "$FAKE_PROVIDER_PY" --script "$script" --log "$dir/requests.jsonl" \
		--port-file "$dir/port" ${FAKE_PROVIDER_ARGS:-} </dev/null >"$dir/out" 2>&1 3>&- &
	echo $! > "$dir/pid"
	for i in $(seq 1 400); do
		[ -s "$dir/port" ] && break
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			echo "fake provider '$name' did not start:" >&2
			cat "$dir/out" >&2
			return 1
		fi
		sleep 0.025
	done
	[ -s "$dir/port" ] || { echo "fake provider '$name' wrote no port" >&2; return 1; }
	FAKE_PORT=$(cat "$dir/port")
	FAKE_URL="http://127.0.0.1:$FAKE_PORT"
	FAKE_LOG="$dir/requests.jsonl"
	export FAKE_PORT FAKE_URL FAKE_LOG
}

fake_provider_stop() {
	local name=${1:-fake} dir pid
	dir="$BATS_TEST_TMPDIR/fake-provider-$name"
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/pid"
}

fake_provider_stop_all() {
	local d
	for d in "$BATS_TEST_TMPDIR"/fake-provider-*; do
		[ -d "$d" ] && fake_provider_stop "${d##*/fake-provider-}"
	done
	return 0
}

fake_provider_requests() {
	cat "$BATS_TEST_TMPDIR/fake-provider-${1:-fake}/requests.jsonl"
}

fake_provider_script() {
	local script=$1 name=${2:-fake} port
	port=$(cat "$BATS_TEST_TMPDIR/fake-provider-$name/port")
	[ "$script" = - ] && script=/dev/stdin
	"$FAKE_PYTHON" -c '
import sys, urllib.request
data = open(sys.argv[2], "rb").read()
req = urllib.request.Request("http://127.0.0.1:%s/_fake/script" % sys.argv[1], data=data,
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=10).read()
' "$port" "$script"
}

fake_provider_count() {
	wc -l < "$BATS_TEST_TMPDIR/fake-provider-${1:-fake}/requests.jsonl" | tr -d ' '
}

fake_models() {
	local file=${1:-$WORK/models.yaml}
	: "${FAKE_API_KEY:=sk-test-$(head -c 30 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 40)}"
	export FAKE_API_KEY
	cat > "$file" <<EOF
providers:
  fake-openai:
    type: openai
    base_url: $FAKE_URL/v1
    api_key_env: FAKE_API_KEY
  fake-anthropic:
    type: anthropic
    base_url: $FAKE_URL
    api_key_env: FAKE_API_KEY
  fake-ollama:
    type: ollama
    base_url: $FAKE_URL
models:
  gpt: {provider: fake-openai, model: gpt-test, prices: {input: 2, output: 8}, context: 128000}
  claude: {provider: fake-anthropic, model: claude-test, prices: {input: 3, output: 15, cached: 0.3}}
  llama: {provider: fake-ollama, model: "llama3.2:latest"}
default: gpt
EOF
	export WF_MODELS="$file"
}

fake_models_pair() {
	: "${FAKE_API_KEY:=sk-test-$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
	export FAKE_API_KEY
	cat > "$WORK/models.yaml" <<EOF
providers:
  fake:
    type: openai
    base_url: $FAKE_URL/v1
    api_key_env: FAKE_API_KEY
models:
  glm: {provider: fake, model: glm-test, prices: {input: 1, output: 2}${1:-}}
  ${2:-main}: {provider: fake, model: ${2:-main}-test}
default: ${3:-main}
EOF
	export WF_MODELS="$WORK/models.yaml"
}

# models.yaml with the models "$@" (each NAME served as NAME-test by the
# fake's OpenAI endpoint), the first of them the default.
fake_models_named() {
	local m
	: "${FAKE_API_KEY:=sk-test-$(head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
	export FAKE_API_KEY
	{
		printf 'providers:\n  fake: {type: openai, base_url: "%s/v1", api_key_env: FAKE_API_KEY}\nmodels:\n' "$FAKE_URL"
		for m in "$@"; do
			printf '  %s: {provider: fake, model: %s-test}\n' "$m" "$m"
		done
		printf 'default: %s\n' "$1"
	} > "$WORK/models.yaml"
	export WF_MODELS="$WORK/models.yaml"
}

teardown() {
	fake_provider_stop_all
}
