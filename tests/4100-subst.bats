#!/usr/bin/env bats
# ${...} substitution in text fields (prompts, messages, titles, paths),
# through `wf-cond --subst`, which runs the library's wf_subst.
load helpers
bats_require_minimum_version 1.5.0

CTX='{"vars":{"name":"world","n":3,"half":2.5,"flag":true,"nothing":null,"list":[1,"a"],
"run-id":"r-7","iteration":"from-vars"},
"steps":{"s1":{"status":"ok","exit_code":0,"output":"all good\n"},
"run-tests":{"status":"failed","exit_code":2,"output":"2 failures"}},
"loops":{"review":2},"iteration":4}'

# subst TEXT [wf-cond options...]: substitute TEXT over $CTX.
subst() {
	local text=$1
	shift
	run --separate-stderr wf-cond --subst --file-ctx - "$@" -- "$text" <<<"$CTX"
}

@test "\${var} takes a variable's text" {
	subst 'Hello, ${name}!'
	assert_success
	assert_output "Hello, world!"
	[ -z "$stderr" ]
}

@test "numbers, booleans, null and arrays render as text" {
	subst '${n} ${half} ${flag} [${nothing}] ${list}'
	assert_success
	assert_output '3 2.5 true [] [1,"a"]'
	[ -z "$stderr" ]
}

@test "\${steps.ID.output}, \${steps.ID.exit_code}, ids with dashes" {
	subst 'out=${steps.s1.output}|code=${steps.s1.exit_code}|${steps.run-tests.exit_code}: ${steps.run-tests.output}'
	assert_success
	assert_output "out=all good
|code=0|2: 2 failures"
	[ -z "$stderr" ]
}

@test "\${iteration} (a variable of that name wins), \${loops.ID}, \${run-id}, spaces inside braces" {
	subst 'pass ${loops.review}, ${ run-id }, ${vars.name}'
	assert_success
	assert_output "pass 2, r-7, world"
	subst '${iteration}'
	assert_success
	assert_output "from-vars"
	run --separate-stderr wf-cond --subst --file-ctx - 'pass ${iteration}' <<<'{"iteration":4}'
	assert_success
	assert_output "pass 4"
	run --separate-stderr wf-cond --subst 'pass ${iteration}' --var x=1
	assert_success
	assert_output "pass 0"
}

@test "an undefined variable expands to empty, with one warning per name" {
	subst 'a[${nope}]b[${nope}]c[${steps.s9.output}]'
	assert_success
	assert_output "a[]b[]c[]"
	[ "$stderr" = "wf-cond: undefined variable 'nope'
wf-cond: undefined variable 'steps.s9.output'" ]
}

@test "--strict makes an undefined variable an error" {
	subst 'a ${nope} b' --strict
	assert_failure 65
	assert_output ""
	[ "$stderr" = "wf-cond: undefined variable 'nope'" ]
	subst 'a ${name} b' --strict
	assert_success
	assert_output "a world b"
}

@test "\$\${ is a literal \${; other dollars stay as written" {
	subst 'literal $${name}, cost $5, $name, $$, $'
	assert_success
	assert_output 'literal ${name}, cost $5, $name, $$, $'
	[ -z "$stderr" ]
}

@test "a value is never substituted again" {
	run --separate-stderr wf-cond --subst '[${a}]' --var 'a=${b}' --var b=secret
	assert_success
	assert_output '[${b}]'
	run --separate-stderr wf-cond --subst '[${a}]' --var 'a=$${b}'
	assert_success
	assert_output '[$${b}]'
}

@test "shell metacharacters in values pass through untouched" {
	run --separate-stderr wf-cond --subst 'title: ${t}' --var 't="; touch pwned; #$(id)`id`'
	assert_success
	assert_output 'title: "; touch pwned; #$(id)`id`'
	[ ! -e pwned ]
}

@test "unterminated or malformed references stay as written, with a warning" {
	subst 'x ${name'
	assert_success
	assert_output 'x ${name'
	assert_equal "$stderr" "wf-cond: unterminated '\${' at offset 2 (write '\$\${' for a literal '\${')"
	subst 'sh: ${HOME:-/tmp} ${}'
	assert_success
	assert_output 'sh: ${HOME:-/tmp} ${}'
	[ "$stderr" = "wf-cond: '\${HOME:-/tmp}' is not a variable reference (write '\$\${' for a literal '\${')
wf-cond: '\${}' is not a variable reference (write '\$\${' for a literal '\${')" ]
	subst 'x ${name' --strict
	assert_failure 65
	assert_output ""
}

@test "text without references, empty text, and multi-line text" {
	subst 'plain text'
	assert_success
	assert_output "plain text"
	subst ''
	assert_success
	assert_output ""
	subst 'line 1 ${name}
line 2 ${n}'
	assert_success
	assert_output "line 1 world
line 2 3"
}
