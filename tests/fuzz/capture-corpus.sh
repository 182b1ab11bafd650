#!/bin/sh
# Refill the fuzz seed corpora from real input: every step request wf-run
# sends, and every canonical workflow a run stores, while some of the
# suite's bats files run (the arguments; a few by default), plus wf-parse's
# output for each shipped workflow.  Runs the tools from a copy of $WF_BIN
# in which wf-step and wf-run are wrapped to keep what they read.
#   WF_BIN=$PWD/bin sh tests/fuzz/capture-corpus.sh [tests/NNNN-x.bats ...]
set -eu
cd "$(dirname "$0")/../.."
root=$PWD
bin=${WF_BIN:-$root/bin}
out=$root/tests/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
[ $# -gt 0 ] || set -- tests/3000-wf-run.bats tests/4100-subst.bats tests/4200-loops.bats \
	tests/5100-ai-steps.bats tests/7020-pr-actions.bats
mkdir -p "$tmp/bin" "$tmp/req" "$tmp/wf" "$out/step-request" "$out/workflow-json"
cp "$bin"/* "$tmp/bin/"
mv "$tmp/bin/wf-step" "$tmp/bin/wf-step.real"
mv "$tmp/bin/wf-run" "$tmp/bin/wf-run.real"
cat > "$tmp/bin/wf-step" <<W
#!/bin/sh
tee -a "$tmp/req/requests.jsonl" | "$tmp/bin/wf-step.real" "\$@"
W
# wf-run keeps its pid (tests signal it): it copies what earlier runs stored, then execs.
cat > "$tmp/bin/wf-run" <<W
#!/bin/sh
for f in "\${WF_STATE_DIR:-/nonexistent}"/runs/*/workflow.json; do
	[ -f "\$f" ] && cp "\$f" "$tmp/wf/\$(cksum < "\$f" | cut -d' ' -f1).json"
done
exec "$tmp/bin/wf-run.real" "\$@"
W
chmod +x "$tmp/bin/wf-step" "$tmp/bin/wf-run"
WF_BIN=$tmp/bin timeout 900 bats "$@" >/dev/null 2>&1 || true
for f in workflows/examples/*.yaml workflows/templates/*.yaml; do
	[ -f "$f" ] && "$bin/wf-parse" "$f" > "$tmp/wf/$(basename "$f" .yaml).json" 2>/dev/null || true
done
# One file per distinct document, named by its checksum, up to 64 KiB each.
keep() {
	sum=$(printf '%s\n' "$2" | cksum | cut -d' ' -f1)
	[ ${#2} -le 65536 ] && printf '%s\n' "$2" > "$out/$1/$sum.json"
}
if [ -f "$tmp/req/requests.jsonl" ]; then
	while IFS= read -r line; do keep step-request "$line"; done < "$tmp/req/requests.jsonl"
fi
for f in "$tmp"/wf/*.json; do
	[ -s "$f" ] && keep workflow-json "$(cat "$f")"
done
echo "corpus: $(ls "$out/step-request" | wc -l) step requests, $(ls "$out/workflow-json" | wc -l) workflows"
