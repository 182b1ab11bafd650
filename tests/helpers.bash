# Shared setup for every bats file: the programs under test come from
# $WF_BIN (set by make), each test gets its own state directory and
# working directory, and nothing touches the user's real state.
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

WF_BIN=${WF_BIN:-$(cd "$BATS_TEST_DIRNAME/../bin" && pwd)}
export PATH="$WF_BIN:$PATH"
export REPO_ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
export EXAMPLES="$REPO_ROOT/workflows/examples"

wf_setup() {
	export WF_STATE_DIR="$BATS_TEST_TMPDIR/state"
	export XDG_CONFIG_HOME="$BATS_TEST_TMPDIR/config"
	export HOME="$BATS_TEST_TMPDIR/home"
	mkdir -p "$HOME"
	unset WF_PATH WF_MODELS NO_COLOR
	# Tests approve every sensitive step through the real auto-approve
	# mechanism; the consent tests take this file away.
	mkdir -p "$XDG_CONFIG_HOME/wf"
	printf 'auto-approve:\n  - "*"\n' > "$XDG_CONFIG_HOME/wf/config.yaml"
	export WORK="$BATS_TEST_TMPDIR/work"
	mkdir -p "$WORK"
	cd "$WORK"
}

setup() {
	wf_setup
}

# Write stdin to FILE (relative to $WORK).
write() {
	mkdir -p "$(dirname "$1")"
	cat > "$1"
}

# Append event $2 (compact JSON, no crc) to the journal $1 as wf-state
# writes it: with its CRC-32 in a last "crc" member (wf-json(7)).
journal_append() {
	local crc
	crc=$(printf '%s' "$2" | gzip -c | tail -c8 | head -c4 | od -An -tx4 | tr -d ' \n')
	printf '%s,"crc":"%s"}\n' "${2%\}}" "$crc" >> "$1"
}

# Wait (up to 30 s) until the command "$@" succeeds: tests synchronise on
# files, journal events and logs this way, never on a fixed sleep.
wait_until() {
	local i
	for i in $(seq 1 600); do
		"$@" && return 0
		sleep 0.05
	done
	echo "gave up waiting for: $*" >&2
	return 1
}

# The directory of run $1 of the working directory's project (where it
# would be, when there is none yet): state lives per project (wf-state(1)).
rundir() {
	wf-state path "$1"
}

# The bytes step $2 of run $1 wrote on stream $3 (out, the default, or
# err), every execution of it in order, as saved on disk: its frames in
# steps/output.log (wf-json(7), "Files"), or its files in steps/ in a
# run made before the log.
step_output() {
	python3 - "$(rundir "$1")" "$2" "${3:-out}" <<'PY'
import glob, json, os, sys
d, step, stream = sys.argv[1:4]
seqs = set()
with open(os.path.join(d, "history.jsonl"), encoding="utf-8", errors="replace") as h:
    for line in h:
        try:
            ev = json.loads(line)
        except ValueError:
            continue
        if ev.get("event") == "step-start" and ev.get("step") == step:
            seqs.add(ev["seq"])
out = sys.stdout.buffer
log = os.path.join(d, "steps", "output.log")
if not os.path.exists(log):
    for f in sorted(glob.glob(os.path.join(d, "steps", "*-%s.%s" % (step, stream)))):
        out.write(open(f, "rb").read())
    sys.exit(0)
data = open(log, "rb").read()
pos = 0
while pos < len(data):
    nl = data.find(b"\n", pos)
    if nl < 0:
        break
    seq, st, n = data[pos:nl].split(b" ")
    body = data[nl + 1:nl + 1 + int(n)]
    pos = nl + 1 + int(n)
    if int(seq) in seqs and st.decode() == stream:
        out.write(body)
PY
}

# Resume run NAME with ARGS, waiting out the lock of a step child still stopping.
resume_settled() {
	local name=$1
	shift
	for _ in $(seq 1 600); do
		run wf resume "$name" "$@"
		[ "$status" != 75 ] || ! grep -q "is busy" <<<"$output" && return 0
		sleep 0.05
	done
}

# Make the state directories down to run $1's directory by hand, mode
# 0700 as wf makes them, for tests that plant a run's files themselves.
mkrundir() {
	local d
	d=$(rundir "$1")
	mkdir -p "$d"
	chmod 700 "$WF_STATE_DIR" "$WF_STATE_DIR/projects" "${d%/runs/*}" "${d%/*}" "$d"
}

# Complete the command line "$@" with the cursor on its last word;
# COMPREPLY holds the answer.
complete_line() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	if [[ ${1##*/} == wf ]]; then _wf; else _wf_cmd; fi
}

# The candidates, sorted, on one line.
replies() {
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

has_reply() {
	local w
	for w in "${COMPREPLY[@]}"; do [[ $w == "$1" ]] && return 0; done
	echo "'$1' not offered; offered: $(replies)" >&2
	return 1
}
