#!/bin/sh
# Warm model connections: a run of 50 ai-prompt steps against the fake
# provider on loopback HTTPS (a self-signed certificate made here, given
# to wf as the provider's ca_file), against one curl invocation sending
# the same 50 request bodies (taken from the fake's log of a run) over
# one kept-alive connection.  Reports the connections each side opened
# (the fake numbers them; curl's own %{num_connects}) and the time of a
# whole run (wf run --quiet, from start to exit) against curl's, medians
# of interleaved runs.  Targets: 1 connection per run, at most 1.2 x.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
for tool in curl openssl; do
	command -v $tool >/dev/null || { echo "70-connections: $tool not installed, skipped"; exit 0; }
done
. "$root/tests/bench-lib.sh"
: "${WF_BIN:=$root/bin}"
py=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
tmp=$bench_tmp
pid=
trap '[ -z "$pid" ] || kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
	-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
	-keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
printf '{"default": {"text": "a short reply from {model}", "repeat": -1}}\n' > "$tmp/script.json"
"$py" "$root/tests/fakes/fake-provider.py" --script "$tmp/script.json" --log "$tmp/requests.jsonl" \
	--port-file "$tmp/port" --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem" </dev/null >/dev/null 2>&1 &
pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 400 ]; do sleep 0.025; i=$((i + 1)); done
port=$(cat "$tmp/port")
cat > "$tmp/models.yaml" <<EOF
providers:
  bench: {type: openai, base_url: "https://127.0.0.1:$port/v1", api_key_env: BENCH_API_KEY, ca_file: cert.pem}
models:
  m: {provider: bench, model: bench-model, prices: {input: 1, output: 2}}
default: m
EOF
{
	echo "name: connections"
	echo "steps:"
	i=1
	while [ $i -le 50 ]; do
		echo "  - {id: ask$i, action: ai-prompt, prompt: \"question $i\", context: none}"
		i=$((i + 1))
	done
} > "$tmp/connections.yaml"
export WF_MODELS="$tmp/models.yaml" BENCH_API_KEY=sk-bench-0123456789abcdef

"$py" - "${BENCH_RUNS:-5}" "$WF_BIN/wf" "$tmp" "$port" <<'PY'
import json, os, subprocess, sys, time
n, wf, tmp, port = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
log = os.path.join(tmp, "requests.jsonl")
runs = [0]

def requests():
    with open(log) as f:
        return [json.loads(l) for l in f if l.strip()]

def wf_run():
    """Milliseconds of one whole run in a state directory of its own, and the connections it opened."""
    runs[0] += 1
    before = len(requests())
    env = dict(os.environ, WF_STATE_DIR=os.path.join(tmp, "state%d" % runs[0]))
    t0 = time.perf_counter()
    p = subprocess.run([wf, "run", os.path.join(tmp, "connections.yaml"), "--quiet"], env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - t0) * 1000
    new = requests()[before:]
    if p.returncode != 0 or len(new) != 50:
        sys.exit("70-connections: wf run failed (exit %d, %d requests): %s"
                 % (p.returncode, len(new), p.stderr.decode()[-500:]))
    return ms, len(set(r["conn"] for r in new))

ms, conns = wf_run()                 # warm up, and the bodies curl sends
bodies = [r["body"] for r in requests()[-50:]]
argv = ["curl"]
for i, b in enumerate(bodies):
    path = os.path.join(tmp, "body%d.json" % i)
    with open(path, "w") as f:
        json.dump(b, f, separators=(",", ":"))
    if i:
        argv.append("--next")
    # Options end at --next: each URL gets its own.
    argv += ["-sS", "--fail", "--cacert", os.path.join(tmp, "cert.pem"), "-X", "POST", "-H", "Content-Type: application/json",
             "-H", "Authorization: Bearer " + os.environ["BENCH_API_KEY"],
             "--data-binary", "@" + path, "-o", "/dev/null", "-w", "%{num_connects}\\n",
             "https://127.0.0.1:%s/v1/chat/completions" % port]

def curl_run():
    t0 = time.perf_counter()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ms = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        sys.exit("70-connections: curl failed (exit %d): %s" % (p.returncode, p.stderr.decode()[-300:]))
    return ms, sum(int(x) for x in p.stdout.split())

def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]

curl_run()
a, b = [], []
for _ in range(n):                   # interleaved, so load changes hit both alike
    a.append(wf_run())
    b.append(curl_run())
x, y = median([r[0] for r in a]), median([r[0] for r in b])
conns = max(r[1] for r in a)
print("wf run, 50 AI steps over HTTPS: %d connection%s per run vs curl: %d"
      % (conns, "" if conns == 1 else "s", max(r[1] for r in b)))
print("wf run, 50 AI steps over HTTPS: %.1f ms vs curl, the same 50 requests on one connection: %.1f ms = %.2f x"
      % (x, y, x / y))
with open(os.path.join(tmp, "figures"), "w") as f:
    f.write("%d %.2f\n" % (conns, x / y))
PY
read conns ratio < "$tmp/figures"
bench_verdict "model connections opened per run of 50 AI steps (vs 1)" "$conns" 1
bench_verdict "50 AI steps over HTTPS vs curl on one connection" "$ratio" 1.2
