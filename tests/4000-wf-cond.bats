#!/usr/bin/env bats
# wf-cond: the condition language, its contexts and its limits.
#
# Most cases are tables, one row per case:
#     STATUS  CONTEXT-JSON  EXPRESSION
# STATUS is the exit status wf-cond must give (0 true, 1 false, 65 bad),
# CONTEXT-JSON is compact JSON (no spaces) fed on standard input, and the
# expression is the rest of the line.  Every row also checks the output:
# nothing at all for 0 and 1 (wf-cond is silent), and a "column N:"
# message for 65.
load helpers
bats_require_minimum_version 1.5.0

table() {
	local want ctx expr got out fails=0 rows=0

	while read -r want ctx expr; do
		[[ -z $want || $want == \#* ]] && continue
		rows=$((rows + 1))
		got=0
		wf-cond -- "$expr" <<<"$ctx" >"$BATS_TEST_TMPDIR/row" 2>&1 || got=$?
		out=$(<"$BATS_TEST_TMPDIR/row")
		if [[ $got != "$want" ]]; then
			echo "FAIL: wf-cond '$expr' with $ctx: want status $want, got $got: $out"
			fails=$((fails + 1))
		elif [[ $want != 65 && -n $out ]]; then
			echo "FAIL: wf-cond '$expr' with $ctx: want no output, got: $out"
			fails=$((fails + 1))
		elif [[ $want == 65 && $out != "wf-cond: column "[0-9]*": "* ]]; then
			echo "FAIL: wf-cond '$expr' with $ctx: want a 'column N:' message, got: $out"
			fails=$((fails + 1))
		fi
	done
	echo "$rows rows, $fails failed"
	[ "$rows" -gt 0 ] && [ "$fails" -eq 0 ]
}

@test "comparison operators on numbers, strings and numeric strings" {
	table <<'T'
0  {"vars":{"i":2}}        i < 3
1  {"vars":{"i":3}}        i < 3
0  {"vars":{"i":3}}        i <= 3
1  {"vars":{"i":4}}        i <= 3
0  {"vars":{"i":3}}        i >= 3
1  {"vars":{"i":2}}        i >= 3
0  {"vars":{"i":5}}        i > 3
1  {"vars":{"i":3}}        i > 3
0  {"vars":{"i":3}}        i == 3
1  {"vars":{"i":3}}        i != 3
0  {"vars":{"i":4}}        i != 3
0  {"vars":{"i":"2"}}      i<3
0  {"vars":{"i":"3"}}      i == 3
0  {"vars":{"i":3}}        i == "3"
0  {"vars":{"i":"3.0"}}    i == 3
0  {"vars":{"n":"10"}}     n > 9
0  {"vars":{"n":"10"}}     n > "9"
0  {"vars":{"x":-2.5}}     x < -1
0  {}                      -1 < 0
0  {}                      3 == 3
0  {}                      2.50 == 2.5
0  {"vars":{"s":"abc"}}    s < "abd"
1  {"vars":{"s":"b"}}      s < "abc"
0  {"vars":{"s":"Z"}}      s < "a"
0  {"vars":{"s":"abc"}}    s >= "abc"
0  {"vars":{"s":"3a"}}     s > 3
1  {}                      "a" == "b"
0  {"vars":{"e":""}}       e == ""
0  {"vars":{"count":0}}    count == 0
0  {"vars":{"a":"x","b":"x"}}  a == b
1  {"vars":{"a":"x","b":"y"}}  a == b
T
}

@test "&& || ! and or not, parentheses and precedence" {
	table <<'T'
0  {}  true && true
1  {}  true && false
0  {}  false || true
1  {}  false || false
0  {}  true and true
1  {}  true and false
0  {}  false or true
0  {}  not false
1  {}  not true
0  {}  !false
1  {}  !true
0  {}  !!true
0  {}  (false || true) && true
1  {}  false || true && false
0  {}  true || false && false
1  {}  (true || false) && false
0  {}  !(true && false)
0  {}  not (true and false)
0  {"vars":{"i":2}}  ! i == 3
1  {"vars":{"i":5}}  not i > 3
0  {"vars":{"i":2,"j":7}}  i < 3 && j > 5
0  {"vars":{"i":2,"j":7}}  (i < 3) and (j > 5) or false
T
}

@test "&& and || short-circuit: an unknown name on the side not taken is no error" {
	table <<'T'
1   {}  false && nosuch
0   {}  true || nosuch
65  {}  true && nosuch
65  {}  false || nosuch
1   {}  false && (nosuch == 1 || other)
T
}

@test "named predicates: approved, not-approved, success, failure, variable-equals" {
	table <<'T'
0  {"last":{"approved":true}}                        approved
1  {"last":{"approved":false}}                       approved
0  {"vars":{"approved":"true"}}                      approved
0  {"vars":{"approved":true}}                        approved
1  {"vars":{"approved":"yes"}}                       approved
1  {}                                                approved
1  {"last":{"approved":false},"vars":{"approved":true}}  approved
0  {"last":{"id":"s1","approved":true},"vars":{"approved":false}}  approved
0  {"last":{"approved":false}}                       not-approved
0  {"last":{"approved":false}}                       !approved
0  {"last":{"approved":false}}                       not approved
1  {"last":{"approved":true}}                        not-approved
1  {"last":{"approved":true}}                        !approved
0  {}                                                not-approved
0  {"last":{"status":"ok"}}                          success
1  {"last":{"status":"failed"}}                      success
0  {"last":{"status":"failed"}}                      failure
1  {"last":{"status":"ok"}}                          failure
1  {}                                                success
1  {}                                                failure
1  {"last":null}                                     failure
0  {"vars":{"status":"ok"}}                          variable-equals status ok
1  {"vars":{"status":"bad"}}                         variable-equals status ok
1  {}                                                variable-equals status ok
0  {"vars":{"status":"ok"}}                          variable-equals|status|ok
1  {"vars":{"status":"ok"}}                          variable-equals|status|OK
1  {}                                                variable-equals|status|ok
0  {"vars":{"msg":"hello\u0020world"}}              variable-equals msg "hello world"
0  {"vars":{"msg":"hello\u0020world"}}              variable-equals|msg|'hello world'
0  {"vars":{"n":3}}                                  variable-equals n 3
0  {"vars":{"s":"ok"}}                               variable-equals s ok && true
0  {"vars":{"s":"ok"}}                               (variable-equals|s|ok) || false
0  {"vars":{"s":"ok"}}                               !variable-equals s bad
T
}

@test "file-exists: with a path, with \${var}, and with the step's variable:" {
	echo hi > present.txt
	echo hi > 'with space.txt'
	mkdir -p sub/dir
	table <<'T'
0   {}  file-exists present.txt
1   {}  file-exists absent.txt
0   {}  file-exists "present.txt"
0   {}  file-exists 'with space.txt'
0   {}  file-exists sub/dir
0   {}  file-exists ./sub/../present.txt
0   {}  file-exists present.txt && !file-exists absent.txt
0   {}  not file-exists absent.txt
0   {"vars":{"f":"present.txt"}}  file-exists ${f}
1   {"vars":{"f":"absent.txt"}}   file-exists ${f}
1   {"vars":{"f":""}}             file-exists ${f}
65  {}                            file-exists ${f}
0   {"vars":{"file":"present.txt"},"step":{"id":"s1","variable":"file"}}  file-exists
1   {"vars":{"file":"absent.txt"},"step":{"id":"s1","variable":"file"}}   file-exists
0   {"vars":{"file":"present.txt"},"step":{"id":"s1","variable":"file"}}  file-exists && true
0   {"vars":{"file":"present.txt"},"step":{"id":"s1","variable":"file"}}  file-exists and true
65  {"step":{"id":"s1","variable":"file"}}  file-exists
65  {}                                      file-exists
T
}

@test "file-exists explains a missing path and a variable that is not set" {
	run wf-cond file-exists </dev/null
	assert_failure 65
	assert_output --partial "wf-cond: column 1: file-exists needs a path"
	run wf-cond --file-ctx - file-exists <<<'{"step":{"variable":"file"}}'
	assert_failure 65
	assert_output --partial "variable 'file' (named by the step's 'variable:') is not set"
}

@test "values alone: true, non-empty text and non-zero numbers are true" {
	table <<'T'
0   {"vars":{"b":true}}     b
1   {"vars":{"b":false}}    b
0   {"vars":{"b":"true"}}   b
1   {"vars":{"b":"false"}}  b
1   {"vars":{"b":""}}       b
1   {"vars":{"b":0}}        b
1   {"vars":{"b":"0"}}      b
1   {"vars":{"b":"0.0"}}    b
1   {"vars":{"b":null}}     b
0   {"vars":{"b":"no"}}     b
0   {"vars":{"b":2}}        b
0   {"vars":{"b":-1}}       b
0   {}                      1
1   {}                      0
1   {}                      ""
0   {}                      "x"
0   {}                      true
1   {}                      false
65  {"vars":{"o":{"a":1}}}  o == 1
65  {"vars":{"a":[1]}}      a
65  {"steps":{"s1":{"exit_code":0}}}  steps.s1
T
}

@test "booleans compare with true/false and the strings \"true\"/\"false\"" {
	table <<'T'
0  {"vars":{"b":true}}     b == true
0  {"vars":{"b":true}}     b == "true"
0  {"vars":{"b":"true"}}   b == true
1  {"vars":{"b":false}}    b == true
0  {"vars":{"b":false}}    b != true
0  {"vars":{"b":false}}    b == "false"
1  {"vars":{"b":true}}     b == 1
0  {}                      true == true
1  {}                      true == false
T
}

@test "names keep their case; keywords are lower case" {
	table <<'T'
0   {"vars":{"myVar":1}}          myVar == 1
65  {"vars":{"myVar":1}}          myvar == 1
0   {"vars":{"Status":"x"}}       Status == "x"
1   {"vars":{"status":"Approved"}}  status == "approved"
0   {"vars":{"status":"Approved"}}  status == "Approved"
0   {"vars":{"status":"approved"}}  status == "approved"
0   {"vars":{"s1_exitCode":0}}    s1_exitCode == 0
0   {"vars":{"run-id":"7"}}       run-id == 7
65  {}                            TRUE
65  {}                            True && false
65  {}                            true AND true
T
}

@test "\${name} forms, steps.ID.*, loops.ID, last.*, vars.* and iteration" {
	local s='"steps":{"s1":{"status":"ok","exit_code":0,"output":"done"},"run-tests":{"status":"failed","exit_code":2,"output":""}}'
	table <<T
0  {"iteration":1}                       \${iteration} < 5
1  {"iteration":5}                       \${iteration} < 5
0  {}                                    \${iteration} == 0
0  {}                                    iteration == 0
0  {"iteration":4}                       iteration < 5
0  {"vars":{"iteration":2},"iteration":7}  iteration == 2
0  {"vars":{"i":1}}                      \${i} < 3
0  {"vars":{"i":1}}                      \${ i } < 3
0  {$s}                                  steps.s1.exit_code == 0
0  {$s}                                  \${steps.s1.exit_code} == 0
0  {$s}                                  steps.s1.output == "done"
0  {$s}                                  \${steps.s1.output} == "done"
0  {$s}                                  steps.s1.status == "ok"
0  {$s}                                  steps.run-tests.exit_code != 0
0  {$s}                                  steps.run-tests.exit_code == 2 && steps.run-tests.output == ""
0  {"loops":{"l1":2}}                    loops.l1 == 2
0  {"loops":{"l1":2}}                    \${loops.l1} >= 2
0  {"last":{"exit_code":3}}              last.exit_code == 3
0  {"vars":{"x":"a"}}                    vars.x == "a"
0  {"vars":{"x":"a"}}                    "\${x}" == "a"
0  {"vars":{"x":"a"}}                    "pre-\${x}-post" == "pre-a-post"
0  {"vars":{"i":"2"}}                    "\${i}" < 3
0  {"vars":{"x":"a"}}                    '\${x}' == "\$\${x}"
0  {"vars":{"x":"a"}}                    '\${x}' != x
T
}

@test "unknown identifiers are errors, not false" {
	table <<'T'
65  {}                                 x
65  {"vars":{"i":1}}                   j < 3
65  {}                                 ${nope} == 1
65  {}                                 "${nope}" == ""
65  {}                                 steps.s9.exit_code == 0
65  {"steps":{"s1":{"exit_code":0}}}   steps.s1.nosuch == 0
65  {}                                 loops.l1 == 1
65  {}                                 last.status == "ok"
65  {}                                 env.ANTHROPIC_API_KEY != null
T
}

@test "unknown identifier: message names it, points at its column, and suggests" {
	run wf-cond --var count=3 'count > 2 && cuont < 5'
	assert_failure 65
	assert_output - <<'E'
wf-cond: column 14: unknown identifier 'cuont' (did you mean 'count'?)
  count > 2 && cuont < 5
               ^
E
	run wf-cond --var i=1 'TRUE'
	assert_failure 65
	assert_output --partial "column 1: unknown identifier 'TRUE' (did you mean 'true'?)"
}

@test "bad syntax is exit 65 with the column" {
	table <<'T'
65  {}  i <
65  {}  i = 3
65  {}  a & b
65  {}  a | b
65  {}  (true
65  {}  true)
65  {}  ()
65  {}  a == b == c
65  {"vars":{"a":"1","b":"1","c":"1"}}  a == b == c
65  {}  "unterminated
65  {}  'unterminated
65  {}  ${unterminated
65  {}  ${}
65  {}  ${a b}
65  {}  $x
65  {}  1.2.3
65  {}  3abc
65  {}  true true
65  {}  i @ 3
65  {}  == 3
65  {}  and
65  {}  !
65  {}  not
65  {}  "\q"
65  {"vars":{"status":"approved"}}  status == approved
65  {"last":{"approved":true}}      approved == true
65  {}  x > 1 && jq: .a
65  {}  variable-equals
65  {}  variable-equals name
65  {}  variable-equals|name
65  {}  variable-equals||a
65  {"vars":{"x":"1"}}  variable-equals ${x} 1
T
}

@test "syntax errors are reported before unknown names, at the right column" {
	run wf-cond 'nosuch = 3' </dev/null
	assert_failure 65
	assert_output - <<'E'
wf-cond: column 8: '=' is not an operator (did you mean '=='?)
  nosuch = 3
         ^
E
	run wf-cond '(true || false' </dev/null
	assert_failure 65
	assert_output --partial "column 15: expected ')' to close the '(' at column 1, found end of condition"
	run wf-cond 'a == b == c' --var a=1 --var b=1 --var c=1
	assert_failure 65
	assert_output --partial "column 8: comparisons cannot be chained: join them with '&&'"
	run wf-cond 'status == approved' --var status=approved
	assert_failure 65
	assert_output --partial "column 11: 'approved' is a predicate and cannot be compared (to compare text, quote it: \"approved\")"
}

@test "columns count characters, not bytes" {
	run wf-cond '"é" == x' </dev/null
	assert_failure 65
	assert_output --partial "column 8: unknown identifier 'x'"
}

@test "empty, over-long, over-nested and non-UTF-8 conditions are rejected" {
	run wf-cond '' </dev/null
	assert_failure 65
	assert_output "wf-cond: column 1: empty condition"
	run wf-cond '   ' </dev/null
	assert_failure 65
	assert_output --partial "empty condition"
	run wf-cond "$(printf '(%.0s' {1..100})true$(printf ')%.0s' {1..100})" </dev/null
	assert_failure 65
	assert_output --partial "nested too deeply"
	run wf-cond "$(printf '!%.0s' {1..20000})true" </dev/null
	assert_failure 65
	assert_output --partial "nested too deeply"
	run wf-cond "$(printf '(%.0s' {1..60})true$(printf ')%.0s' {1..60})" </dev/null
	assert_success
	assert_output ""
	run wf-cond "$(head -c 70000 /dev/zero | tr '\0' 'a')" </dev/null
	assert_failure 65
	assert_output --partial "condition longer than 65536 bytes"
	run wf-cond "$(printf 'x == "\xff"')" </dev/null
	assert_failure 65
	assert_output "wf-cond: condition is not valid UTF-8"
}

@test "the seed's conditions, with Codi's condition bugs fixed" {
	table <<'T'
# test-loop.yaml: i < 3; the plan's ${iteration} < 5; >= and <= work
0   {"vars":{"i":2}}           i < 3
1   {"vars":{"i":3}}           i < 3
0   {"iteration":1}            ${iteration} < 5
0   {"vars":{"i":3}}           i <= 3
0   {"vars":{"i":3}}           i >= 3
# pr-review-loop.yaml: loop while not-approved
0   {"last":{"approved":false}}  not-approved
1   {"last":{"approved":true}}   not-approved
# Codi lower-cased everything and ignored the rest of a chain
0   {"vars":{"myVar":1}}       myVar
65  {"vars":{"a":"1","b":"1"}}  a == b == c
# the pipe forms Codi could not reach
0   {"vars":{"status":"ok"}}   variable-equals|status|ok
T
}

@test "S02: a variable's value is data, never parsed as a condition" {
	# (spaces inside the JSON are written \u0020: the table splits on spaces)
	table <<'T'
1  {"vars":{"x":"\")\u0020or\u0020true\u0020or\u0020(\""}}  x == "safe"
0  {"vars":{"x":"\")\u0020or\u0020true\u0020or\u0020(\""}}  x == '") or true or ("'
1  {"vars":{"x":"\";\u0020env"}}              x == "safe"
1  {"vars":{"x":"1\u0020==\u00201"}}          x == "safe"
1  {"vars":{"x":"true\u0020||\u0020true"}}    x == "false || false"
0  {"vars":{"x":"true\u0020||\u0020true"}}    x == "true || true"
0  {"vars":{"x":"${y}"}}                      x == '${y}'
1  {"vars":{"x":"${y}","y":"a"}}              x == "a"
0  {"vars":{"x":"i\u0020<\u00203"}}           "${x}" == 'i < 3'
1  {"vars":{"x":")\u0020||\u0020true\u0020||\u0020("}}  "${x}" == "a"
1  {"vars":{"x":"approved"}}                  x == "approved" && false
1  {"vars":{"x":"\")\u0020or\u0020true\u0020or\u0020(\""}}  jq: .vars.x == "safe"
1  {"vars":{"x":"\")\u0020or\u0020true\u0020or\u0020(\""}}  jq: $vars.x == "safe"
0  {"vars":{"x":"\")\u0020or\u0020true\u0020or\u0020(\""}}  jq: $vars.x == "\") or true or (\""
1  {"vars":{"x":"\";\u0020env"}}              jq: .vars.x == "safe"
T
}

@test "S02: with --var, hostile values are still data" {
	run wf-cond 'x == "safe"' --var 'x=") or true or ("'
	assert_failure 1
	assert_output ""
	run wf-cond 'jq: $vars.x == "safe"' --var 'x=") or true or ("'
	assert_failure 1
	assert_output ""
	run wf-cond -p 'x == "$(touch pwned)"' --var 'x=$(touch pwned)'
	assert_success
	assert_output "true"
	[ ! -e pwned ]
}

@test "S02: jq conditions see no secret through env or \$ENV" {
	export ANTHROPIC_API_KEY=sk-test-0123456789abcdef0123456789abcdef0123
	export GH_TOKEN=ghp_secretsecretsecret
	table <<'T'
1  {}  jq: env.ANTHROPIC_API_KEY != null
1  {}  jq: $ENV.ANTHROPIC_API_KEY != null
1  {}  jq: $ENV | has("GH_TOKEN")
1  {}  jq: env | tostring | test("sk-test|ghp_")
0  {}  jq: (env | length) < 8
65 {}  env.ANTHROPIC_API_KEY != null
T
	run wf-cond 'jq: $ENV' </dev/null
	assert_failure 65
	assert_output --partial "condition must produce true or false"
	refute_output --partial "sk-test"
	refute_output --partial "ghp_"
	run wf-cond 'jq: env.ANTHROPIC_API_KEY' </dev/null
	assert_failure 65
	assert_output --partial "condition must produce true or false, not null"
}

@test "jq: conditions: \$vars and friends, non-boolean results, errors, no input, no modules" {
	table <<'T'
0   {"vars":{"i":"2"}}  jq: .vars.i == "2"
1   {"vars":{"i":"2"}}  jq: .vars.i == "3"
0   {"vars":{"i":"2"}}  jq: $vars.i == "2"
0   {"steps":{"s1":{"exit_code":0}}}  jq: $steps.s1.exit_code == 0
0   {"last":{"status":"ok"}}  jq: $last.status == "ok"
0   {"loops":{"l":2}}   jq: $loops.l == 2
0   {"iteration":3}     jq: $iteration == 3
0   {}                  jq: $iteration == 0
0   {"step":{"id":"s1"}}  jq: $step.id == "s1"
0   {"vars":{"i":"2"}}    jq: true, false
0   {}                  jq:true
0   {}                    jq: (1, 2) | . > 0
65  {}                  jq: "true"
65  {}                  jq: 1
65  {}                  jq: null
65  {}                  jq: empty
65  {}                  jq: error("boom")
65  {}                  jq: .a |||
65  {}                  jq: $nope
65  {}                  jq:
65  {}                  jq: input == 1
65  {}                  jq: [inputs] == []
65  {}                  jq: import "x" as x; true
65  {}                  jq: include "x"; true
65  {}                  jq: # comment
T
	run wf-cond 'jq: "x"' </dev/null
	assert_failure 65
	assert_output - <<'E'
wf-cond: column 5: condition must produce true or false, not "x"
  jq: "x"
      ^
E
	run wf-cond 'jq: .a ==' </dev/null
	assert_failure 65
	assert_output --partial "wf-cond: column 5: jq: syntax error"
}

@test "jq: a debug or stderr call prints nothing" {
	run --separate-stderr wf-cond 'jq: ("leak" | stderr | debug) == "leak"' </dev/null
	assert_success
	assert_output ""
	[ -z "$stderr" ]
}

@test "S03: runaway jq conditions hit the limits, exit 4, and return quickly" {
	# Under AddressSanitizer a failed allocation must come back as NULL for jq to see it.
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}allocator_may_return_null=1"
	local e start
	for e in '[range(infinite)] | length > 0' 'last(repeat(.)) == 1' 'def f: f; f' \
		'("a" * 2000000000 | length) > 0' 'reduce range(40) as $i ("ab"; . + .) | length > 0'; do
		start=$SECONDS
		run wf-cond "jq: $e" </dev/null
		assert_failure 4
		assert_output --regexp "^wf-cond: condition exceeded its limits \((1 s of CPU time, 2 s in all|more than 128 MiB of memory)\)$"
		# The evaluator's own 2 s wall limit bounds this; the margin is for a loaded machine.
		[ $((SECONDS - start)) -le 15 ]
	done
}

@test "plain conditions run in-process; only jq: conditions start a child" {
	command -v strace >/dev/null || skip "strace not installed"
	local plain jq
	# Count the processes and threads each starts (a sanitizer may add its own, to both).
	# (LeakSanitizer cannot run under ptrace.)
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	strace -f -qq -e trace=fork,vfork,clone,clone3 -o plain.txt wf-cond 'i < 3' --var i=2
	strace -f -qq -e trace=fork,vfork,clone,clone3 -o jq.txt wf-cond 'jq: $vars.i == "2"' --var i=2
	plain=$(grep -c -E '^[0-9]+ +(fork|vfork|clone|clone3)\(' plain.txt || true)
	jq=$(grep -c -E '^[0-9]+ +(fork|vfork|clone|clone3)\(' jq.txt || true)
	echo "plain: $plain, jq: $jq"
	[ "$jq" -eq $((plain + 1)) ]
}

@test "-p prints the value; without it wf-cond is silent" {
	run wf-cond -p 'i < 3' --var i=2
	assert_success
	assert_output "true"
	run wf-cond -p 'i < 3' --var i=5
	assert_failure 1
	assert_output "false"
	run wf-cond --print 'jq: true' </dev/null
	assert_success
	assert_output "true"
	run wf-cond 'i < 3' --var i=2
	assert_success
	assert_output ""
}

@test "works in a shell if, with --var values as strings" {
	run sh -c 'if wf-cond "i < 3" --var i=2; then echo yes; else echo no; fi'
	assert_success
	assert_output "yes"
	run wf-cond 'i == "02"' --var i=02
	assert_success
	run wf-cond 'i == 2' --var i=02
	assert_success
	run wf-cond 'msg == "a=b"' --var msg=a=b
	assert_success
	run wf-cond 'e == ""' --var e=
	assert_success
}

@test "with --var, standard input is not read (no hang on an open pipe or a terminal)" {
	# Standard input stays open and silent for 20 s: reading it would hang.
	run timeout 5 wf-cond 'i < 3' --var i=2 < <(exec sleep 20 3>&- 2>/dev/null)
	kill $! 2>/dev/null || true
	assert_success
	# A terminal on standard input, as when typed at a prompt.
	run timeout 5 script -qec "wf-cond 'i < 3' --var i=2" /dev/null < <(exec sleep 20 3>&- 2>/dev/null)
	kill $! 2>/dev/null || true
	assert_success
	run timeout 5 script -qec 'wf-cond true' /dev/null < <(exec sleep 20 3>&- 2>/dev/null)
	kill $! 2>/dev/null || true
	assert_success
}

@test "context from standard input, --file-ctx, and --var on top" {
	run wf-cond 'i == 5' <<<'{"vars":{"i":5}}'
	assert_success
	assert_output ""
	echo '{"vars":{"i":5,"j":1}}' > ctx.json
	run wf-cond --file-ctx ctx.json 'i == 5 && j == 1'
	assert_success
	run wf-cond --file-ctx ctx.json --var i=1 'i == 1 && j == 1'
	assert_success
	run wf-cond --file-ctx - --var i=1 'i == 1 && j == 1' <<<'{"vars":{"i":5,"j":1}}'
	assert_success
	run wf-cond true </dev/null
	assert_success
	run wf-cond true <<<'  '
	assert_success
}

@test "bad context: bad JSON 65, not an object 65, missing file 66" {
	run wf-cond true <<<'{"vars":'
	assert_failure 65
	assert_output --regexp "^wf-cond: standard input: "
	run wf-cond true <<<'[1,2]'
	assert_failure 65
	assert_output "wf-cond: standard input: the context must be a JSON object"
	run wf-cond --file-ctx nosuch.json true
	assert_failure 66
	assert_output "wf-cond: cannot open 'nosuch.json': No such file or directory"
	printf '{"vars":{}} {}' > two.json
	run wf-cond --file-ctx two.json true
	assert_failure 65
	assert_output --regexp "^wf-cond: two.json: "
}

@test "--state NAME reads the run's state as the context" {
	mkrundir r1
	# The journal is the truth (a state.json alone would not be believed).
	j="$(rundir r1)/history.jsonl"
	journal_append "$j" '{"seq":1,"time":"2026-01-01T00:00:00.000Z","event":"run-start","name":"r1","cursor":"s1","vars":{"i":2}}'
	journal_append "$j" '{"seq":2,"time":"2026-01-01T00:00:01.000Z","event":"step-end","step":"s1","status":"ok","exit_code":0,"output":"x","cursor":null,"iteration":1,"loops":{"l":1}}'
	chmod 600 "$j"
	run wf-cond --state r1 -p 'i < 3 && steps.s1.exit_code == 0 && iteration == 1 && loops.l == 1'
	assert_success
	assert_output "true"
	run wf-cond --state r1 --var i=9 'i < 3'
	assert_failure 1
	run wf-cond --state nosuch true
	assert_failure 66
	assert_output --partial "no run named 'nosuch'"
}

@test "--check checks syntax without a context" {
	run wf-cond --check 'i < 3 && steps.s1.exit_code == 0'
	assert_success
	assert_output ""
	run wf-cond --check 'i <'
	assert_failure 65
	assert_output --partial "column 4: expected a value after '<'"
	run wf-cond --check 'jq: .a == 1'
	assert_success
	run wf-cond --check 'jq: .a =='
	assert_failure 65
	assert_output --partial "column 5: jq: syntax error"
	# libjq leaks on an unterminated string; the compile happens in a child, so no leak shows here.
	run wf-cond --check 'jq: "abc'
	assert_failure 65
	assert_output --partial "column 5: jq: "
	refute_output --partial "LeakSanitizer"
}

@test "usage errors exit 2" {
	run wf-cond
	assert_failure 2
	assert_output --partial "usage: wf-cond"
	run wf-cond a b
	assert_failure 2
	run wf-cond --var novalue true
	assert_failure 2
	assert_output "wf-cond: --var 'novalue': expected NAME=VALUE"
	run wf-cond --state a --file-ctx b true
	assert_failure 2
	run wf-cond --bogus true
	assert_failure 2
	run wf-cond --help
	assert_success
	assert_output --partial "usage: wf-cond"
}
