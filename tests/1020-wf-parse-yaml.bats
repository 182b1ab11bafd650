#!/usr/bin/env bats
# wf-parse's strict YAML: everything a workflow does not need is refused
# with FILE:LINE:COL and exit 65, and no input makes it crash, hang or
# balloon (reliability-and-security.md F02, F04, F09-F11, S04, S05).
load helpers

# bad: parse wf.yaml (written from stdin), expect exit 65 and exactly $1.
bad() {
	cat >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "$1"
}

# Is the wf-parse under test built with AddressSanitizer?  Its memory and
# time are not the product's, so the limits below are not checked there.
sanitized() {
	ldd "$WF_BIN/wf-parse" 2>/dev/null | grep -q 'libasan'
}

# limited FILE: run wf-parse on FILE (or stdin with -), expect exit 65
# using under 1 s of CPU with a peak RSS under 50 MiB (/usr/bin/time,
# package "time").  CPU time, not wall time, so that a busy machine does
# not fail the test; the wall clock only has to show it did not hang.
limited() {
	local start end ms cpu rss
	start=$(date +%s%N)
	if [ -x /usr/bin/time ]; then
		run /usr/bin/time -f '%U %S %M' -o "$BATS_TEST_TMPDIR/usage" wf-parse "$@"
	else
		run wf-parse "$@"
	fi
	end=$(date +%s%N)
	assert_failure 65
	ms=$(((end - start) / 1000000))
	[ "$ms" -lt 10000 ] || fail "took ${ms} ms of wall time"
	sanitized && return 0
	[ -x /usr/bin/time ] || return 0
	read -r cpu rss < <(tail -n 1 "$BATS_TEST_TMPDIR/usage" | awk '{ print ($1 + $2) * 1000, $3 }')
	echo "# ${cpu%.*} ms CPU (${ms} ms wall), peak RSS ${rss} KiB" >&3
	[ "${cpu%.*}" -lt 1000 ] || fail "used ${cpu} ms of CPU"
	[ "$rss" -lt 51200 ] || fail "peak RSS ${rss} KiB"
}

@test "F02: YAML syntax errors give libyaml's problem, where, and a hint for tabs" {
	bad "wf-parse: wf.yaml:3:1: YAML syntax error: found character that cannot start any token while scanning for the next token (a tab: YAML is indented with spaces only)" < <(printf 'name: x\nsteps:\n\t- id: a\n')
	bad "wf-parse: wf.yaml:3:1: YAML syntax error: found unexpected end of stream while scanning a quoted scalar begun at 1:7" <<'Y'
name: "x
steps: []
Y
	bad "wf-parse: wf.yaml:4:4: YAML syntax error: did not find expected '-' indicator while parsing a block collection begun at 3:3" <<'Y'
name: x
steps:
  - id: a
   action: shell
Y
	bad "wf-parse: wf.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence begun at 2:8" <<'Y'
name: x
steps: [a, b
Y
}

@test "F04: duplicate keys, at the top and in a step, with both positions" {
	bad "wf-parse: wf.yaml:6:5: duplicate key 'command' (first at 5:5)
wf-parse: wf.yaml:7:1: duplicate key 'steps' (first at 2:1)" <<'Y'
name: x
steps:
  - id: a
    action: shell
    command: ls
    command: rm -rf /
steps: []
Y
}

@test "S04: anchors and aliases are refused where they stand" {
	bad "wf-parse: wf.yaml:2:6: anchors and aliases are not supported ('&e'): write the value out
wf-parse: wf.yaml:7:10: anchors and aliases are not supported ('*e'): write the value out" <<'Y'
name: x
env: &e {A: 1}
steps:
  - id: a
    action: shell
    command: ls
    env: *e
Y
}

@test "S04: a billion laughs is refused at the first anchor, fast and small" {
	{
		echo 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
		for i in 1 2 3 4 5 6 7 8 9; do
			p=$((i - 1))
			echo "a$i: &a$i [*a$p,*a$p,*a$p,*a$p,*a$p,*a$p,*a$p,*a$p,*a$p]"
		done
		echo 'name: laughs'
		echo 'steps: *a9'
	} >laughs.yaml
	limited laughs.yaml
	assert_line --index 0 "wf-parse: laughs.yaml:1:5: anchors and aliases are not supported ('&a0'): write the value out"
}

@test "S05: explicit tags are refused and never acted on" {
	bad "wf-parse: wf.yaml:1:7: explicit YAML tags are not allowed ('tag:yaml.org,2002:binary')
wf-parse: wf.yaml:2:14: explicit YAML tags are not allowed ('tag:yaml.org,2002:python/object/apply:os.system')
wf-parse: wf.yaml:6:14: explicit YAML tags are not allowed ('!include')
wf-parse: wf.yaml:7:13: explicit YAML tags are not allowed ('!ref')
wf-parse: wf.yaml:8:13: explicit YAML tags are not allowed ('tag:yaml.org,2002:str')" <<'Y'
name: !!binary aGVsbG8=
description: !!python/object/apply:os.system ["touch pwned"]
steps:
  - id: a
    action: shell
    command: !include /etc/passwd
    output: !ref other
    system: !!str plain
Y
	[ ! -e pwned ]
}

@test "more than one document is refused" {
	bad "wf-parse: wf.yaml:4:1: more than one YAML document: a workflow file holds exactly one" <<'Y'
name: x
steps:
  - {id: a, action: shell, command: ls}
---
name: y
Y
}

@test "one document with explicit start and end markers is fine" {
	write wf.yaml <<'Y'
---
name: x
steps:
  - {id: a, action: shell, command: ls}
...
Y
	run wf-parse --check wf.yaml
	assert_success
	assert_output "wf.yaml: ok (1 step)"
}

@test "F10: invalid UTF-8 is refused with its line, column and byte offset" {
	printf 'name: x\nsteps:\n  - id: caf\xe9\n' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:3:12: invalid UTF-8 at byte offset 26: save the file as UTF-8"
	printf 'name: \xed\xa0\x80\n' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:1:7: invalid UTF-8 at byte offset 6: save the file as UTF-8"
}

@test "F10: a NUL byte in the file, or decoded from an escape, is refused" {
	printf 'name: x\nsteps:\n  - id: a\x00\n' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:3:10: NUL byte at offset 24: a workflow is UTF-8 text"
	bad "wf-parse: wf.yaml:5:14: a value contains a NUL character" <<'Y'
name: x
steps:
  - id: a
    action: shell
    command: "ls\0; rm -rf /"
Y
	bad "wf-parse: wf.yaml:1:1: a key contains a NUL character" <<'Y'
"a\0b": 1
name: x
steps:
  - {id: a, action: shell, command: ls}
Y
}

@test "F10: a UTF-16 byte order mark is refused; a UTF-8 one is skipped" {
	printf '\xff\xfen\x00a\x00' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:1:1: UTF-16 byte order mark: a workflow is UTF-8 text; save the file as UTF-8"
	printf '\xfe\xff\x00n\x00a' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:1:1: UTF-16 byte order mark: a workflow is UTF-8 text; save the file as UTF-8"
	printf '\xef\xbb\xbfname: bom\nsteps:\n  - id: a\n    action: shell\n    comand: ls\n' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:3:5: step 'a': action 'shell' needs 'command'
wf-parse: wf.yaml:5:5: unknown key 'comand' (did you mean 'command'?)"
	sed -i 's/comand/command/' wf.yaml
	run wf-parse --check wf.yaml
	assert_success
	assert_output "wf.yaml: ok (1 step)"
}

@test "CRLF line endings are read like LF" {
	printf 'name: x\r\nsteps:\r\n  - id: a\r\n    action: shell\r\n    command: ls\r\n' >wf.yaml
	run wf-parse wf.yaml
	assert_success
	run jq -c '.steps[0] | [.id, .command]' <<<"$output"
	assert_output '["a","ls"]'
}

@test "a key that is not a scalar is refused" {
	bad "wf-parse: wf.yaml:1:3: a mapping key must be a plain word" <<'Y'
? [a, b]
: c
name: x
Y
}

@test "control characters quoted from the file cannot break the one-line message" {
	bad "wf-parse: wf.yaml:1:1: unknown key 'a?b c?[31m' at the top of the workflow
wf-parse: wf.yaml:3:8: 'steps' is empty: a workflow needs at least one step" <<'Y'
"a\x01b\nc\e[31m": 1
name: x
steps: []
Y
}

@test "F11: nesting up to 64 levels is read; deeper is refused where it starts" {
	printf 'name: x\nsteps: [{id: a, action: shell, command: ls}]\nvariables: %s%s\n' \
		"$(printf '[%.0s' $(seq 64))" "$(printf ']%.0s' $(seq 64))" >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:3:12: 'variables': expected a mapping of names to values, got a list"
	printf 'name: x\nsteps: [{id: a, action: shell, command: ls}]\nvariables: %s%s\n' \
		"$(printf '[%.0s' $(seq 65))" "$(printf ']%.0s' $(seq 65))" >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:3:76: nesting deeper than 64 levels"
}

@test "F11: 10,000 nested '[' exit 65 in under 1 s and 50 MiB" {
	printf '%.0s[' $(seq 10000) >deep.yaml
	limited deep.yaml
	assert_output "wf-parse: deep.yaml:1:66: nesting deeper than 64 levels"
}

@test "F11: a 5 MiB file exits 65 in under 1 s and 50 MiB" {
	{
		echo 'name: big'
		echo 'steps:'
		yes '  - {id: s, action: shell, command: "echo a long enough line of text"}' | head -c 5242880
	} >big.yaml
	limited big.yaml
	assert_output "wf-parse: big.yaml:1:1: file is over the 1 MiB (1048576 byte) limit"
}

@test "F11: an endless stdin stops at the size limit" {
	run bash -c 'yes "# filler" | wf-parse -'
	assert_failure 65
	assert_output "wf-parse: -:1:1: file is over the 1 MiB (1048576 byte) limit"
}

@test "F11: a file of exactly 1 MiB is read in full" {
	printf 'name: nearly-full\nsteps:\n  - {id: a, action: shell, command: ls}\n' >full.yaml
	yes '# padding line' | head -c $((1048576 - $(stat -c %s full.yaml))) >>full.yaml
	[ "$(stat -c %s full.yaml)" -eq 1048576 ]
	run wf-parse --check full.yaml
	assert_success
	assert_output "full.yaml: ok (1 step)"
}
