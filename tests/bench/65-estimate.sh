#!/bin/sh
# The estimate against what a run uses, for the seed's two model
# workflows on the loopback fakes: each run once, then the estimate of a
# second run (wf run --estimate --json) against that second run's actual
# tokens and cost (state.usage).  Prints the ratio estimate/actual of
# each; the target is within 20% (0.80 to 1.20).
#
# test-model-switch: the fake provider answers with a fixed sequence of
# usages that differ from call to call by up to about 15%.
# pr-review-loop: a bare repository as origin, the fake forge, and the
# fake provider as reviewer (glm rejects once, gpt approves) and coder;
# its usage is counted from each request and answer (the words of the
# messages in, the words of the answer out), so it grows with the diff
# and the transcript as a real provider's does.  The second run proposes
# another, larger change than the first.
root=$(cd "$(dirname "$0")/../.." && pwd)
. "$root/tests/bench-lib.sh"
: "${WF_BIN:=$root/bin}"
export PATH="$WF_BIN:$PATH"
py=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)
pids=
trap 'for p in $pids; do kill "$p" 2>/dev/null; done; rm -rf "$bench_tmp"' EXIT INT TERM

# Start fake-NAME.py with ARGS, its port in $bench_tmp/NAME.port; prints the port.
start_fake() {
	name=$1 fake=$2
	shift 2
	"$py" "$root/tests/fakes/$fake" --port-file "$bench_tmp/$name.port" "$@" </dev/null >"$bench_tmp/$name.out" 2>&1 &
	pids="$pids $!"
	i=0
	while [ ! -s "$bench_tmp/$name.port" ] && [ $i -lt 400 ]; do sleep 0.025; i=$((i + 1)); done
	[ -s "$bench_tmp/$name.port" ] || { echo "65-estimate: $fake did not start:" >&2; cat "$bench_tmp/$name.out" >&2; exit 1; }

}

# The estimate EST (JSON) of run W against its actual usage ACTUAL (state.usage), in the house form.
ratios() {
	jq -nr --arg w "$1" --argjson e "$2" --argjson a "$3" '
		($a | [.[] | .input_tokens + .output_tokens] | add) as $at | ($a | [.[].usd] | add) as $au |
		($e.total.input_tokens + $e.total.output_tokens) as $et | ($e.total.cost_usd) as $eu |
		def r: . * 100 | round / 100;
		"\($w) estimate: \($et) tokens vs actual: \($at) tokens = \($et / $at | r) x (target: 0.80 to 1.20)",
		"\($w) estimate: $\($eu * 1e6 | round / 1e6) vs actual: $\($au * 1e6 | round / 1e6) = \($eu / $au | r) x (target: 0.80 to 1.20)"'
}

# ---- test-model-switch: two calls a run ----
cat > "$bench_tmp/switch.json" <<'J'
{"responses": [
  {"usage": {"input": 820, "output": 140}}, {"usage": {"input": 1210, "output": 95}},
  {"usage": {"input": 905, "output": 122}}, {"usage": {"input": 1080, "output": 110}}],
 "default": {"usage": {"input": 1000, "output": 120}, "repeat": -1}}
J
start_fake switch fake-provider.py --script "$bench_tmp/switch.json"
cat > "$bench_tmp/switch.yaml" <<EOF
providers:
  bench: {type: openai, base_url: "http://127.0.0.1:$(cat "$bench_tmp/switch.port")/v1", api_key_env: BENCH_API_KEY}
models:
  main: {provider: bench, model: main-model, prices: {input: 3, output: 15}}
  glm: {provider: bench, model: glm-model, prices: {input: 0.6, output: 2.2}}
default: main
EOF
export WF_MODELS="$bench_tmp/switch.yaml" BENCH_API_KEY=sk-bench-0123456789abcdef
git init -q .
w=test-model-switch
wf run "$root/workflows/examples/$w.yaml" --quiet
est=$(wf run "$root/workflows/examples/$w.yaml" --estimate --json)
wf run "$root/workflows/examples/$w.yaml" --quiet
ratios "$w" "$est" "$(wf-state get "$w" usage)"

# ---- pr-review-loop: a PR reviewed twice, fixed once, merged; twice ----
repo="$bench_tmp/repo" origin="$bench_tmp/origin.git"
git init -q --bare -b main "$origin"
git init -q -b main "$repo"
cd "$repo"
git config user.name "Bench"
git config user.email "bench@example.invalid"
printf 'def greet(name):\n    return "hello " + name\n' > greet.py
git add greet.py
git commit -q -m "initial commit"
git remote add origin "$origin"
git push -q origin main
git branch -q -u origin/main
start_fake forge fake-forge.py --git-dir "$origin" --owner acme --repo widgets --token ghp_bench0123456789 --log "$bench_tmp/forge.log" --allow-self-review
export GITHUB_API_URL="http://127.0.0.1:$(cat "$bench_tmp/forge.port")" GH_TOKEN=ghp_bench0123456789 WF_FORGE_REPO=acme/widgets
cat > "$bench_tmp/loop.json" <<'J'
{"responses": [
 {"match": {"prompt_contains": "Write a title and a description"}, "repeat": -1,
  "text": "{\"title\": \"Change {n}\", \"body\": \"What this pull request changes, and why it is needed.\"}"},
 {"match": {"prompt_contains": "Review the pull request below", "model": "glm-model"}, "repeat": -1,
  "text": "{\"approved\": false, \"summary\": \"Document the new function before this goes in.\", \"comments\": [{\"path\": \"greet.py\", \"line\": 2, \"body\": \"add a note on what it returns\"}]}"},
 {"match": {"prompt_contains": "Review the pull request below", "model": "main-model"}, "repeat": -1,
  "text": "Here is my review:\n```json\n{\"approved\": true, \"summary\": \"The note covers it; good to merge.\", \"comments\": []}\n```"},
 {"match": {"prompt_contains": "Change the code to address the review"}, "repeat": -1,
  "text": "Here is the patch:\n```diff\n--- /dev/null\n+++ b/note-{n}.txt\n@@ -0,0 +1 @@\n+greet and its friends return a greeting for the name given\n```\n"},
 {"match": {"prompt_contains": "Write a git commit message"}, "repeat": -1, "text": "Add a note on what the greetings return"},
 {"match": {"prompt_contains": "Write a self-review comment"}, "repeat": -1,
  "text": "Added the note the first review asked for; the second review approved it."}
]}
J
start_fake loop fake-provider.py --script "$bench_tmp/loop.json"
sed "s/:$(cat "$bench_tmp/switch.port")\//:$(cat "$bench_tmp/loop.port")\//" "$bench_tmp/switch.yaml" > "$bench_tmp/loop.yaml"
export WF_MODELS="$bench_tmp/loop.yaml"
w=pr-review-loop
# Consent is given by --yes; the first change is small, the second larger.
printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
git commit -q -am "Add farewell"
wf run "$root/workflows/examples/$w.yaml" --quiet --yes
git branch -q -D "wf/$w"
git push -q origin --delete "wf/$w"
printf 'def wave(name, times=1):\n    """Wave at NAME, TIMES times."""\n    return " ".join(["wave " + name] * times)\n' >> greet.py
git commit -q -am "Add wave"
est=$(wf run "$root/workflows/examples/$w.yaml" --estimate --json)
wf run "$root/workflows/examples/$w.yaml" --quiet --yes
ratios "$w" "$est" "$(wf-state get "$w" usage)"
