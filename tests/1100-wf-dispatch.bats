#!/usr/bin/env bats
# wf, the dispatcher: "wf VERB ARGS..." maps the seed's verbs onto the
# tools, and runs any other wf-VERB found beside wf or on PATH, as git
# does (127: no such command, 126: found but not runnable).
load helpers
bats_require_minimum_version 1.5.0

# fake NAME BODY: an executable wf-NAME in $WORK/fakebin printing BODY.
fake() {
	mkdir -p "$WORK/fakebin"
	printf '#!/bin/sh\n%s\n' "$2" >"$WORK/fakebin/wf-$1"
	chmod +x "$WORK/fakebin/wf-$1"
}

@test "wf with no verb prints usage on stderr and exits 2" {
	run --separate-stderr wf
	assert_failure 2
	assert_output ""
	[[ "$stderr" == "usage: wf VERB [ARGS...]"* ]]
}

@test "wf help and wf --help print the verbs on stdout" {
	for a in help --help -h; do
		run --separate-stderr wf "$a"
		assert_success
		[ -z "$stderr" ]
		assert_line --index 0 "usage: wf VERB [ARGS...]"
		assert_line --regexp '^  validate  check workflow files and report every problem$'
		assert_line --regexp '^  list      list the workflows along the search path$'
		assert_line "Any other VERB runs wf-VERB from wf's directory or PATH."
	done
}

@test "wf --version" {
	run --separate-stderr wf --version
	assert_success
	assert_output --regexp '^wf [0-9]+\.[0-9]+\.[0-9]+$'
	[ "$output" = "wf $(wf-parse --version | cut -d' ' -f2)" ]
}

@test "wf validate, list and show run wf-parse with the matching option" {
	run wf validate "$EXAMPLES/test-linear.yaml"
	assert_success
	assert_output "$EXAMPLES/test-linear.yaml: ok (2 steps)"
	WF_PATH="$EXAMPLES" run wf list --json
	assert_success
	jq -e 'map(.name) | index("pr-review-loop") != null' <<<"$output"
	run wf show --json "$EXAMPLES/test-linear.yaml"
	assert_success
	[ "$output" = "$(wf-parse "$EXAMPLES/test-linear.yaml")" ]
}

@test "wf VERB --help reaches the tool behind the verb" {
	run --separate-stderr wf validate --help
	assert_success
	assert_line --index 0 "usage: wf validate [--suggest] FILE|NAME..."
	run --separate-stderr wf help show
	assert_success
	assert_line --index 0 "usage: wf show [--json] FILE|NAME"
}

@test "an unknown verb runs wf-VERB from PATH with its arguments" {
	fake foo 'echo "foo got $# args: $*"; exit 7'
	PATH="$WORK/fakebin:$PATH" run wf foo a "b c" --flag
	assert_failure 7
	assert_output "foo got 3 args: a b c --flag"
}

@test "wf help VERB runs wf-VERB --help" {
	fake foo 'echo "foo $*"'
	PATH="$WORK/fakebin:$PATH" run wf help foo
	assert_success
	assert_output "foo --help"
}

@test "a tool beside wf wins over one on PATH" {
	mkdir -p side
	cp "$WF_BIN/wf" side/wf
	printf '#!/bin/sh\necho beside\n' >side/wf-where
	chmod +x side/wf-where
	fake where 'echo on-path'
	PATH="$WORK/fakebin:$PATH" run side/wf where
	assert_success
	assert_output "beside"
}

@test "127: no wf-VERB anywhere, with a hint for a near miss" {
	run -127 wf frobnicate
	assert_failure 127
	assert_output "wf: 'frobnicate' is not a wf command (no wf-frobnicate beside wf or on PATH); see 'wf help'"
	run -127 wf lsit
	assert_failure 127
	assert_output "wf: 'lsit' is not a wf command (did you mean 'list'?); see 'wf help'"
}

@test "127: a known verb whose tool is not installed says so" {
	mkdir -p side
	cp "$WF_BIN/wf" side/wf
	PATH=/usr/bin:/bin run -127 side/wf create x
	assert_failure 127
	assert_output "wf: 'create' needs wf-create, which is not installed beside wf or on PATH"
}

@test "126: a wf-VERB that is not executable" {
	fake foo 'echo never'
	chmod -x "$WORK/fakebin/wf-foo"
	PATH="$WORK/fakebin:$PATH" run wf foo
	assert_failure 126
	assert_output "wf: cannot run '$WORK/fakebin/wf-foo': Permission denied"
}

@test "126: a wf-VERB whose interpreter is missing" {
	mkdir -p "$WORK/fakebin"
	printf '#!/nonexistent/interpreter\n' >"$WORK/fakebin/wf-broken"
	chmod +x "$WORK/fakebin/wf-broken"
	PATH="$WORK/fakebin:$PATH" run wf broken
	assert_failure 126
	assert_output "wf: cannot run '$WORK/fakebin/wf-broken': No such file or directory"
}

@test "a non-executable wf-VERB early on PATH does not hide a runnable one later" {
	fake foo 'echo never'
	chmod -x "$WORK/fakebin/wf-foo"
	mkdir -p later
	printf '#!/bin/sh\necho later\n' >later/wf-foo
	chmod +x later/wf-foo
	PATH="$WORK/fakebin:$WORK/later:$PATH" run wf foo
	assert_success
	assert_output "later"
}

@test "verbs that are options or paths are usage errors, never run" {
	mkdir -p "$WORK/fakebin"
	printf '#!/bin/sh\ntouch "%s/pwned"\n' "$WORK" >"$WORK/evil"
	chmod +x "$WORK/evil"
	for v in -x --frob ../evil ./evil /bin/sh 'a b' ''; do
		run wf "$v"
		assert_failure 2
		assert_output "wf: unknown option or verb '$v'; see 'wf help'"
	done
	run wf help ../evil
	assert_failure 2
	assert_output "wf: unknown verb '../evil'; see 'wf help'"
	[ ! -e pwned ]
}
