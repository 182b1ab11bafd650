#!/usr/bin/env bats
# wf-parse's output pinned while it was made fast (#17, "Fast parse"):
# the canonical JSON of every shipped workflow by checksum, and the exact
# message, line:col and exit status of broken workflows, as the parser
# gave them before.  A valid workflow is read without positions and a
# broken one read again with them, and short keys are shared between
# lookups: the cases below are where that could go wrong (an error at the
# far end of a big file, a position that an alias spelling moves, a key
# table overrun with distinct keys).
load helpers
bats_require_minimum_version 1.5.0

# check FILE: run wf-parse --check FILE, stdout and stderr apart.
check() {
	run --separate-stderr wf-parse --check "$1"
}

# refused MESSAGES: wf-parse --check w.yaml exits 65 with exactly
# MESSAGES on stderr and nothing on stdout.
refused() {
	check w.yaml
	assert_failure 65
	[ -z "$output" ]
	[ "$stderr" = "$1" ] || { printf 'got:\n%s\nexpected:\n%s\n' "$stderr" "$1"; return 1; }
}

@test "the canonical JSON of every example and template is what it was (sha256 without the source path)" {
	while read -r f sum; do
		run --separate-stderr wf-parse "$REPO_ROOT/workflows/$f"
		assert_success
		[ -z "$stderr" ]
		got=$(jq -cS 'del(.source)' <<<"$output" | sha256sum | cut -c1-64)
		[ "$got" = "$sum" ] || { echo "$f: $got, expected $sum"; return 1; }
	done <<'E'
examples/demo.yaml 2d4b8dd6d048b7d9fb7821338943dc821f93e1dfa2f43839ee25fdace59dc288
examples/pr-review-loop.yaml 1658aa9d3bd9797d017da79ccd948921a8c84192c04a5b5f47bf7944f669c7ee
examples/test-conditional.yaml 927cf9cb9bd4a78e6d575918d7456031aa619fb1de8b2f4f031be87888806692
examples/test-linear.yaml ad9d708f36d3fae797782277f698055ab8cfab140f7f2330a7963af24c935e7d
examples/test-loop-shell.yaml a2def99597a9a28f310b261bf359aa70c5ef13b693c94e7203bf6ee9f214b8f5
examples/test-loop.yaml 58ea8326aed95d0498d740db2e9e4a5e1d0b1f6d87f866c5d13a2e5acd326ce2
examples/test-model-switch.yaml 73d27feae25a103fb1bd03c6fa83c0321aac7f1bd6ae9da8a0e997e84428e491
templates/docs-update.yaml f3b77cc732bccfc7d17fc81fb05005db18a61b328e25b2204e5387beea2485f6
templates/multi-model-review.yaml 6f62fad23a478432abba595d0dddb8ba1d7aa8de04c03ed9eef7c4bf92f83b3d
templates/pr-review-loop.yaml 1992c3325839e7d66c6f5c069ef7948290a1b01fa7115aaac57121f1ec5d5aa0
templates/release.yaml a259ad22a8957005716854e8c9e57252a6b790a48e06fa38cfbf15da4d4612c9
templates/test-conditional.yaml 6c858799154f315437a10b4384c58b653fddabb00cfdf1ed0c140b6152dbe29e
templates/test-fix-loop.yaml 81d799b71d14ed29dd496181a596f09c3d09e9a77cbfc4fb38006bb3cc12e46f
templates/test-linear.yaml 096afbb9f348e70fe99ef9f56e6e883018da8dc06192477b751c58e4d6abe72c
templates/test-loop.yaml baa09c1bcae321605998cb07be81213e81d1371cac194fc631f396bbbdaf1cd2
templates/test-model-switch.yaml f9ebaf4279c47e060ca2c58f37f8570f8f65f33f0716df402f87d0c68fdc0c06
E
}

@test "the same workflow read from a file and from stdin gives the same JSON but for its source" {
	for f in "$EXAMPLES"/*.yaml; do
		a=$(wf-parse "$f" | jq -cS 'del(.source)')
		b=$(wf-parse - <"$f" | jq -cS 'del(.source)')
		[ -n "$a" ] && [ "$a" = "$b" ]
	done
}

# Each broken workflow: its text, then the exact messages (exit 65 each).
@test "an unknown key and the key it leaves missing: both, at their line:col" {
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    comand: echo hi\n' >w.yaml
	refused "wf-parse: w.yaml:3:5: step 'a': action 'shell' needs 'command'
wf-parse: w.yaml:5:5: unknown key 'comand' (did you mean 'command'?)"
}

@test "a jump to no step, written in the canonical spelling and in an alias: the value's line:col" {
	printf 'name: w\nsteps:\n  - id: a\n    action: conditional\n    condition: "1 == 1"\n    on-true: nowhere\n    on-false: a\n' >w.yaml
	refused "wf-parse: w.yaml:6:14: 'on-true' names no step: 'nowhere'"
	# onTrue is folded into on-true: the message points at what was written.
	sed -i 's/on-true:/onTrue:/' w.yaml
	refused "wf-parse: w.yaml:6:13: 'on-true' names no step: 'nowhere'"
}

@test "a duplicate step id and a duplicate key name where the first one was" {
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n  - id: a\n    action: shell\n    command: "true"\n' >w.yaml
	refused "wf-parse: w.yaml:6:9: duplicate step id 'a' (first at 3:9)"
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n    command: "false"\n' >w.yaml
	refused "wf-parse: w.yaml:6:5: duplicate key 'command' (first at 5:5)"
}

@test "a loop bound out of range and a condition that does not parse" {
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n  - id: l\n    action: loop\n    to: a\n    max-iterations: 0\n' >w.yaml
	refused "wf-parse: w.yaml:9:21: 'max-iterations' must be between 1 and 1000, got 0"
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n    if: "1 =="\n' >w.yaml
	refused "wf-parse: w.yaml:6:9: 'if': bad condition '1 ==': column 5: expected a value after '=='"
}

@test "YAML syntax errors, a key with a NUL, nesting past the limit" {
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: [unclosed\n' >w.yaml
	refused "wf-parse: w.yaml:6:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence begun at 5:14"
	printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n    "k\\0ey": x\n' >w.yaml
	refused "wf-parse: w.yaml:6:5: a key contains a NUL character"
	python3 -c "print('name: w\nsteps:\n  - id: a\n    action: shell\n    command: ' + '['*200 + ']'*200)" >w.yaml
	refused "wf-parse: w.yaml:5:76: nesting deeper than 64 levels"
}

@test "an alias bomb is refused at its first anchor, and a file over 1 MiB before it is read" {
	printf 'a: &a ["x","x"]\nb: &b [*a,*a]\nc: &c [*b,*b]\nd: [*c,*c]\nname: w\nsteps: []\n' >w.yaml
	refused "wf-parse: w.yaml:1:4: anchors and aliases are not supported ('&a'): write the value out
wf-parse: w.yaml:2:4: anchors and aliases are not supported ('&b'): write the value out
wf-parse: w.yaml:2:8: anchors and aliases are not supported ('*a'): write the value out"
	{ printf 'name: w\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n'; yes '# padding line' | head -c 1048600; } >w.yaml
	refused "wf-parse: w.yaml:1:1: file is over the 1 MiB (1048576 byte) limit"
}

@test "the errors at the far end of a 10,001-step file keep their line:col" {
	awk 'BEGIN { print "name: w"; print "steps:"
		for (i = 0; i < 10000; i++) printf "  - id: s%d\n    action: shell\n    command: \"echo %d\"\n", i, i
		print "  - id: s9999\n    action: shell\n    comand: x" }' >w.yaml
	refused "wf-parse: w.yaml:30003:5: step 's9999': action 'shell' needs 'command'
wf-parse: w.yaml:30003:9: duplicate step id 's9999' (first at 30000:9)
wf-parse: w.yaml:30005:5: unknown key 'comand' (did you mean 'command'?)"
	# The same file without its last step is valid: one line on stdout, nothing on stderr.
	head -n 30002 w.yaml >ok.yaml
	check ok.yaml
	assert_success
	[ "$output" = "ok.yaml: ok (10000 steps)" ]
	[ -z "$stderr" ]
}

@test "300 distinct keys, more than the table of shared keys holds: each reported under its own name" {
	awk 'BEGIN { print "name: w"; print "steps:"; print "  - id: a"; print "    action: shell"; print "    command: \"true\""
		for (i = 0; i < 300; i++) printf "    unknown-key-number-%d: x\n", i }' >w.yaml
	expected=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "wf-parse: w.yaml:%d:5: unknown key '"'"'unknown-key-number-%d'"'"' for action '"'"'shell'"'"'\n", i + 6, i }')
	refused "$expected"
}

@test "300 distinct variable names in a valid workflow: every name and value in the canonical JSON" {
	awk 'BEGIN { print "name: w"; print "variables:"
		for (i = 0; i < 300; i++) printf "  v%d_name: value %d\n", i, i
		print "steps:"; print "  - id: a"; print "    action: shell"; print "    command: \"echo ${v7_name}\"" }' >w.yaml
	run --separate-stderr wf-parse w.yaml
	assert_success
	[ -z "$stderr" ]
	run jq -r '.variables | to_entries | map("\(.key)=\(.value)") | join(",")' <<<"$output"
	assert_success
	expected=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "%sv%d_name=value %d", i ? "," : "", i, i }')
	[ "$output" = "$expected" ]
}
