#!/bin/sh
# wf-model chat against curl on the same loopback stream from the fake
# provider: time to the first streamed byte and to the end, from process
# start, median of N runs each.  curl prints the raw SSE bytes; wf-model
# parses them and prints the text deltas (--text streams to stdout), so
# the ratio is the cost of process start, config loading, parsing and
# redaction over a bare HTTP client.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${WF_BIN:=$root/bin}"
N=${BENCH_RUNS:-15}
py=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
command -v curl >/dev/null || { echo "50-model: curl not installed, skipped"; exit 0; }

tmp=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
words=$(i=0; while [ $i -lt 400 ]; do printf 'word%d ' $i; i=$((i + 1)); done)
printf '{"default": {"text": "%s", "repeat": -1}}\n' "$words" > "$tmp/script.json"
"$py" "$root/tests/fakes/fake-provider.py" --script "$tmp/script.json" --port-file "$tmp/port" \
	</dev/null >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 400 ]; do sleep 0.025; i=$((i + 1)); done
port=$(cat "$tmp/port")
cat > "$tmp/models.yaml" <<EOF
providers:
  bench: {type: openai, base_url: "http://127.0.0.1:$port/v1", api_key_env: BENCH_API_KEY}
models:
  m: {provider: bench, model: bench-model, prices: {input: 1, output: 2}}
EOF
export WF_MODELS="$tmp/models.yaml" BENCH_API_KEY=sk-bench-0123456789abcdef
body='{"model":"bench-model","messages":[{"role":"user","content":"go"}],"stream":true,"stream_options":{"include_usage":true}}'

"$py" - "$N" "$WF_BIN/wf-model" "$port" "$body" <<'PY'
import os, subprocess, sys, time
n, wfmodel, port, body = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

def measure(argv):
    """Milliseconds from start to the first byte on stdout, and to exit."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL)
    first = p.stdout.read(1)
    t1 = time.perf_counter()
    rest = p.stdout.read()
    p.wait()
    t2 = time.perf_counter()
    if p.returncode != 0 or not first or len(rest) < 1000:
        sys.exit("50-model: %s failed (exit %d)" % (argv[0], p.returncode))
    return (t1 - t0) * 1000, (t2 - t0) * 1000

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

wf = [wfmodel, "chat", "--text", "-m", "m", "go"]
curl = ["curl", "-sSN", "--fail", "-X", "POST", "-H", "Content-Type: application/json",
        "-H", "Authorization: Bearer " + os.environ["BENCH_API_KEY"], "--data-binary", body,
        "http://127.0.0.1:%s/v1/chat/completions" % port]
measure(wf), measure(curl)          # warm up caches and the server
a, b = [], []
for _ in range(n):                  # interleaved, so load changes hit both alike
    a.append(measure(wf))
    b.append(measure(curl))
for k, what in ((0, "first streamed byte"), (1, "whole stream (400 deltas)")):
    x, y = median([r[k] for r in a]), median([r[k] for r in b])
    print("wf-model chat %s: %.1f ms vs curl: %.1f ms = %.2f x" % (what, x, y, x / y))
PY
