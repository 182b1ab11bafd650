#!/bin/sh
# Prompt caching on a five-iteration review loop: an ai-prompt in a loop,
# each pass sending the review rules (the system text, about 1200 words)
# and the transcript so far plus the same request again.  Against the
# loopback fake with its prompt cache (fake-provider.py --cache: 1024-token
# minimum, OpenAI's 128-token steps; tokens are words), in the Anthropic
# and OpenAI formats, with caching and without (Anthropic: the model's
# cache: false; OpenAI, which caches by itself: a server without a cache).
# The figure is the input tokens billed at the full input rate; the
# baseline the same loop without caching.  Anthropic's cache writes are
# billed at 1.25 times that rate and are printed beside it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${WF_BIN:=$root/bin}"
PATH="$WF_BIN:$PATH"
export PATH
py=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
. "$root/tests/bench-lib.sh"
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$bench_tmp"' EXIT INT TERM

words() { i=0; while [ "$i" -lt "$1" ]; do printf '%s%d ' "$2" "$i"; i=$((i + 1)); done; }

# fake NAME [--cache]: a fake provider answering 150 words; sets port_NAME.
fake() {
	name=$1
	shift
	printf '{"default": {"text": "%s", "repeat": -1}}\n' "$(words 150 finding)" > "$bench_tmp/$name.json"
	"$py" "$root/tests/fakes/fake-provider.py" --script "$bench_tmp/$name.json" --port-file "$bench_tmp/$name.port" \
		"$@" </dev/null >/dev/null 2>&1 &
	pids="$pids $!"
	i=0
	while [ ! -s "$bench_tmp/$name.port" ] && [ $i -lt 400 ]; do sleep 0.025; i=$((i + 1)); done
	eval "port_$name=\$(cat \"\$bench_tmp/\$name.port\")"
}
fake cached --cache
fake plain
cat > models.yaml <<EOF
providers:
  a: {type: anthropic, base_url: "http://127.0.0.1:$port_cached", api_key_env: BENCH_API_KEY}
  o: {type: openai, base_url: "http://127.0.0.1:$port_cached/v1", api_key_env: BENCH_API_KEY}
  o-plain: {type: openai, base_url: "http://127.0.0.1:$port_plain/v1", api_key_env: BENCH_API_KEY}
models:
  anthropic-on: {provider: a, model: claude-bench}
  anthropic-off: {provider: a, model: claude-bench-off, cache: false}
  openai-on: {provider: o, model: gpt-bench}
  openai-off: {provider: o-plain, model: gpt-bench}
EOF
export WF_MODELS="$PWD/models.yaml" BENCH_API_KEY=sk-bench-0123456789abcdef
rules=$(words 1200 rule)
ask=$(words 100 please)

# loop MODEL: run the five-pass loop on MODEL; prints "FULL WRITTEN CALLS".
loop() {
	cat > "$1.yaml" <<EOF
name: $1
steps:
  - id: review
    action: ai-prompt
    model: $1
    system: "$rules"
    prompt: "$ask"
  - id: count
    action: shell
    command: "echo \$((\${i:-0} + 1)) > counter.txt"
  - id: load
    action: load-variable
    name: i
    from: counter.txt
  - id: again
    action: loop
    to: review
    condition: "i < 5"
    max-iterations: 5
EOF
	rm -f counter.txt
	wf trust "$1.yaml" >/dev/null 2>&1
	wf run "$1.yaml" --quiet >/dev/null
	wf status "$1" --json | jq -r --arg m "$1" '.usage[$m]
		| "\(.input_tokens - .cached_tokens - .cache_write_tokens) \(.cache_write_tokens) \(.calls)"'
}

for fmt in anthropic openai; do
	set -- $(loop "$fmt-on")
	on=$1 wrote=$2 calls=$3
	set -- $(loop "$fmt-off")
	off=$1
	[ "$calls" = 5 ] || { echo "60-cache: $fmt: $calls calls, not 5" >&2; exit 1; }
	printf '%s five-pass review loop, input tokens at the full rate: %s with caching vs %s without = %s x' \
		"$fmt" "$on" "$off" "$(echo "$on $off" | awk '{ printf "%.2f", $1 / $2 }')"
	[ "$fmt" = anthropic ] && printf ' (%s written to the cache at 1.25 x)' "$wrote"
	echo
done
