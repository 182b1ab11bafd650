#!/usr/bin/env bats
# Robustness: a few hundred deterministic mutations of the seed's examples
# (truncated, bytes flipped, YAML punctuation spliced in, lines dropped,
# doubled, swapped or re-indented).  wf-parse must answer every one with 0
# or 65 within a few seconds, never a signal, a sanitizer report (86) or a
# hang; every diagnostic must be one "wf-parse: FILE:LINE:COL: ..." line,
# and every success must print one JSON document.
load helpers
bats_require_minimum_version 1.5.0

CASES=300

# Is the wf-parse under test built with AddressSanitizer?  Each start then
# costs ~100 ms, so the one-process-per-case sweep takes a sample only;
# the single --check run over every case still puts all of them under ASan.
sanitized() {
	ldd "$WF_BIN/wf-parse" 2>/dev/null | grep -q 'libasan'
}

@test "every mutated example exits 0 or 65 with well-formed output" {
	mkdir cases
	python3 - "$EXAMPLES" cases "$CASES" <<'PY'
import os, random, sys
src, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(20240917)
seeds = [open(os.path.join(src, f), 'rb').read() for f in sorted(os.listdir(src)) if f.endswith('.yaml')]
tokens = [b'[', b']', b'{', b'}', b'&a ', b'*a', b'!!str ', b'!x ', b'? ', b': ', b'- ', b'|', b'>',
          b'"', b"'", b'#', b'\t', b'\n', b'\r\n', b'---\n', b'...\n', b'%YAML 1.1\n', b'\\',
          b'\x00', b'\xff', b'\xc3', b'\xef\xbb\xbf', b'yes', b'~', b'-1', b'1e999', b'nan',
          b'{{x}}', b'${x}', b'onTrue: ', b'on-true: s1', b'to: s1', b'max-iterations: 0',
          b'action: loop', b'id: s1', b'x' * 300, b'[' * 100, b'- ' * 80]

def mutate(d):
    lines = d.split(b'\n')
    k = rng.randrange(10)
    if k == 0 and d:
        return d[:rng.randrange(len(d))]
    if k == 1 and d:
        i = rng.randrange(len(d))
        return d[:i] + bytes([rng.randrange(256)]) + d[i + 1:]
    if k == 2:
        i = rng.randrange(len(d) + 1)
        return d[:i] + rng.choice(tokens) + d[i:]
    if k == 3 and len(lines) > 1:
        del lines[rng.randrange(len(lines))]
    elif k == 4:
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif k == 5 and len(lines) > 1:
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif k == 6:
        i = rng.randrange(len(lines))
        lines[i] = b' ' * rng.randrange(7) + lines[i].lstrip(b' ')
    elif k == 7:
        i = rng.randrange(len(lines))
        if b': ' in lines[i]:
            key = lines[i].split(b': ', 1)[0]
            lines[i] = key + b': ' + rng.choice(tokens)
    elif k == 8:
        return d + rng.choice(seeds)
    else:
        i = rng.randrange(len(d) + 1)
        j = min(len(d), i + rng.randrange(200))
        return d[:i] + d[i:j] * rng.randrange(2, 6) + d[j:]
    return b'\n'.join(lines)

for n in range(count):
    d = rng.choice(seeds)
    for _ in range(rng.randrange(1, 4)):
        d = mutate(d)
    with open(os.path.join(out, 'c%03d.yaml' % n), 'wb') as f:
        f.write(d)
PY
	[ "$(ls cases | wc -l)" -eq "$CASES" ]
	# One watchdog for the whole sweep: a per-case timeout(1) would cost
	# more than wf-parse itself.
	cat >sweep.sh <<'SH'
bad=0 ok=0 refused=0
for f in "$@"; do
	rc=0
	wf-parse "$f" >out.json 2>err.txt || rc=$?
	case $rc in
	0)
		ok=$((ok + 1))
		if [ -s err.txt ] || [ "$(wc -l <out.json)" -ne 1 ] || ! jq -e .steps out.json >/dev/null; then
			echo "$f: exit 0 but bad output" >&2
			bad=$((bad + 1))
		fi
		;;
	65)
		refused=$((refused + 1))
		well=1
		[ -s err.txt ] && [ ! -s out.json ] || well=0
		while IFS= read -r line; do
			[[ $line =~ ^wf-parse:\ ${f//./\\.}:[0-9]+:[0-9]+:\ [^\ ] ]] || well=0
		done <err.txt
		if [ "$well" -eq 0 ]; then
			echo "$f: exit 65 but malformed diagnostics:" >&2
			cat err.txt >&2
			bad=$((bad + 1))
		fi
		;;
	*)
		echo "$f: exit $rc" >&2
		head -n 5 err.txt >&2
		bad=$((bad + 1))
		;;
	esac
done
echo "$ok $refused $bad"
SH
	files=(cases/*.yaml)
	sanitized && files=("${files[@]:0:60}")
	run --separate-stderr timeout 300 bash sweep.sh "${files[@]}"
	assert_success
	read -r ok refused bad <<<"$output"
	echo "# $ok valid, $refused refused, $bad bad of ${#files[@]}" >&3
	[ -z "$stderr" ] || fail "$stderr"
	[ "$bad" -eq 0 ]
	# The mutations must exercise both outcomes, or the sweep proves little.
	[ "$ok" -gt $((${#files[@]} / 50)) ]
	[ "$refused" -gt $((${#files[@]} / 2)) ]

	# Every case again in one process: the same verdicts, no crash.
	run --separate-stderr timeout 120 wf-parse --check cases/*.yaml
	assert_failure 65
	if ! sanitized; then
		[ "${#lines[@]}" -eq "$ok" ]
	fi
	[ "$(grep -c ': ok (' <<<"$output")" -eq "${#lines[@]}" ]
}

@test "the same mutations through stdin never crash either" {
	mkdir cases
	for f in "$EXAMPLES"/*.yaml; do
		for n in 1 7 20 50 90 200 400; do
			head -c "$n" "$f" >"cases/$(basename "$f" .yaml)-$n.yaml"
		done
	done
	run timeout 60 bash -c 'for f in cases/*.yaml; do
		rc=0
		wf-parse - <"$f" >/dev/null 2>&1 || rc=$?
		[ "$rc" -eq 0 ] || [ "$rc" -eq 65 ] || echo "$f through stdin: exit $rc"
	done'
	assert_success
	assert_output ""
}
