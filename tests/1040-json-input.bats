#!/usr/bin/env bats
# The JSON wf-step and 'wf-run -' read: checked against the schema wf-parse
# uses, refused with 65 and one line naming the field, never crashed on,
# never run.  Each hostile document sits beside a step that would create
# 'marker' if anything ran.
load helpers
bats_require_minimum_version 1.5.0

# Run CMD... with stdin from the file 'in'; assert it refused the input:
# status 65 (so no crash: not 134, 139 or the sanitizers' 86), nothing on
# stdout, one line on stderr holding WANT, and no marker made.
refused() {
	local want=$1 label=$2
	shift 2
	run --separate-stderr "$@" < in
	if [ "$status" -ne 65 ] || [ -n "$output" ] || [ -e marker ] ||
	   [ "$(printf '%s\n' "$stderr" | wc -l)" -ne 1 ] || [[ $stderr != *"$want"* ]]; then
		{
			echo "case: $label"
			echo "input: $(head -c 600 in)"
			echo "status: $status (want 65)"
			echo "stdout: $output"
			echo "stderr: $stderr"
			echo "want on stderr: $want"
			[ -e marker ] && echo "a step ran: marker exists"
		} >&2
		return 1
	fi
}

# A table: lines of "WANT<TAB>STEP-REQUEST", blank lines and '#' lines skipped.
step_cases() {
	cat <<'T'
# missing what the action needs
step 's1': action 'shell' needs 'command'	{"step":{"id":"s1","action":"shell"}}
step 's1': action 'ai-prompt' needs 'prompt'	{"step":{"id":"s1","action":"ai-prompt"}}
step 's1': action 'set-variable' needs 'name'	{"step":{"id":"s1","action":"set-variable","value":"v"}}
step 's1': action 'set-variable' needs 'value'	{"step":{"id":"s1","action":"set-variable","name":"v"}}
step 's1': action 'load-variable' needs 'from'	{"step":{"id":"s1","action":"load-variable","name":"v"}}
step 's1': action 'switch-model' needs 'model'	{"step":{"id":"s1","action":"switch-model"}}
step 's1': action 'interactive' needs 'message'	{"step":{"id":"s1","action":"interactive"}}
step 1 ('s1') has no 'action'	{"step":{"id":"s1","command":"touch marker"}}
# wrong types
step 's1': field 'command': expected a string, got a number	{"step":{"id":"s1","action":"shell","command":5}}
step 's1': field 'command': expected a string, got an array	{"step":{"id":"s1","action":"shell","command":["touch","marker"]}}
step 's1': field 'prompt': expected a string, got an object	{"step":{"id":"s1","action":"ai-prompt","prompt":{"a":1}}}
step 's1': field 'name': expected a string, got a boolean	{"step":{"id":"s1","action":"set-variable","name":true,"value":"x"}}
step 's1': field 'timeout': expected a number of seconds	{"step":{"id":"s1","action":"shell","command":"touch marker","timeout":"abc"}}
step 's1': field 'timeout': expected a number of seconds	{"step":{"id":"s1","action":"shell","command":"touch marker","timeout":-1}}
step 's1': field 'timeout': expected a number of seconds	{"step":{"id":"s1","action":"shell","command":"touch marker","timeout":1e400}}
step 's1': field 'retry': expected a mapping (attempts, delay), got a string	{"step":{"id":"s1","action":"shell","command":"touch marker","retry":"x"}}
step 's1': field 'retry.attempts': expected a whole number	{"step":{"id":"s1","action":"shell","command":"touch marker","retry":{"attempts":1e300}}}
step 's1': field 'continue-on-error': expected true or false	{"step":{"id":"s1","action":"shell","command":"touch marker","continue-on-error":"yes"}}
step 's1': field 'env.A': a value in 'env' must be text	{"step":{"id":"s1","action":"shell","command":"touch marker","env":{"A":{"x":1}}}}
step 's1': field 'format': expected one of text|json	{"step":{"id":"s1","action":"ai-prompt","prompt":"p","format":"yaml"}}
# NUL inside a text: C would cut "touch marker\u0000; x" to "touch marker"
step 's1': field 'command': holds a NUL character	{"step":{"id":"s1","action":"shell","command":"touch marker\u0000; echo hidden"}}
field 'vars.a': a key holds a NUL character	{"step":{"id":"s1","action":"shell","command":"touch marker"},"vars":{"a\u0000b":"x"}}
# ids and action names that would become paths
step id '../x' is not a valid name	{"step":{"id":"../x","action":"shell","command":"touch marker"}}
step id 'a/b' is not a valid name	{"step":{"id":"a/b","action":"shell","command":"touch marker"}}
step 's1': field 'action': '../../../bin/sh' is not	{"step":{"id":"s1","action":"../../../bin/sh"}}
# the request around the step
a step request is an object with "step"	[{"step":{"id":"s1","action":"shell","command":"touch marker"}}]
field 'step': expected an object, got a string	{"step":"touch marker"}
field 'vars': expected a mapping of names to values, got an array	{"step":{"id":"s1","action":"shell","command":"touch marker"},"vars":["x"]}
field 'vars.a': a value in 'vars' must be text, a number or a boolean (or a list), got an object	{"step":{"id":"s1","action":"shell","command":"touch marker"},"vars":{"a":{"b":1}}}
field 'steps': expected an object of objects, got an array	{"step":{"id":"s1","action":"shell","command":"touch marker"},"steps":[1]}
field 'steps.s0': expected an object, got a string	{"step":{"id":"s1","action":"shell","command":"touch marker"},"steps":{"s0":"x"}}
field 'run': expected an object, got a string	{"step":{"id":"s1","action":"shell","command":"touch marker"},"run":"x"}
field 'run.cwd': expected a string, got a number	{"step":{"id":"s1","action":"shell","command":"touch marker"},"run":{"cwd":5}}
field 'run.seq': expected a number >= 0	{"step":{"id":"s1","action":"shell","command":"touch marker"},"run":{"seq":1e300}}
field 'run.echo_fd': expected a whole number	{"step":{"id":"s1","action":"shell","command":"touch marker"},"run":{"echo_fd":-1}}
field 'model': expected a model's name or an object, got a number	{"step":{"id":"s1","action":"shell","command":"touch marker"},"model":5}
field 'transcript': expected an array, got a string	{"step":{"id":"s1","action":"shell","command":"touch marker"},"transcript":"x"}
T
}

# Lines of "WANT<TAB>BAD-STEP<TAB>MORE-TOP-LEVEL-MEMBERS" for a canonical
# workflow whose first step, m, would make the marker.
workflow_cases() {
	cat <<'T'
step 2 ('s1') has no 'action'	{"id":"s1"}
step 's1': action 'ai-prompt' needs 'prompt'	{"id":"s1","action":"ai-prompt"}
step 's1': action 'set-variable' needs 'name'	{"id":"s1","action":"set-variable","value":"x"}
step 's1': field 'command': expected a string, got a number	{"id":"s1","action":"shell","command":5}
step 's1': field 'timeout': expected a number of seconds	{"id":"s1","action":"shell","command":"true","timeout":"abc"}
step 's1': field 'retry': expected a mapping	{"id":"s1","action":"shell","command":"true","retry":"x"}
step 's1': 'next' names no step: 'nope'	{"id":"s1","action":"shell","command":"true","next":"nope"}
step 's1': 'on-error' names no step: 'nope'	{"id":"s1","action":"shell","command":"true","on-error":"nope"}
step 's1': 'to' names no step: 'nope'	{"id":"s1","action":"loop","to":"nope","max-iterations":2}
step 's1': field 'max-iterations': expected a whole number	{"id":"s1","action":"loop","to":"m","max-iterations":"3"}
step id '../x' is not a valid name	{"id":"../x","action":"shell","command":"true"}
step id 'a/b' is not a valid name	{"id":"a/b","action":"shell","command":"true"}
duplicate step id 'm' (first as step 1)	{"id":"m","action":"shell","command":"true"}
step 2: expected a mapping with 'id' and 'action', got a number	5
step 's1': field 'command': holds a NUL character	{"id":"s1","action":"shell","command":"true\u0000; touch marker"}
field 'variables.a': a value in 'variables' must be text	{"id":"s1","action":"shell","command":"true"}	"variables":{"a":{"b":1}}
field 'variables': expected a mapping of names to values	{"id":"s1","action":"shell","command":"true"}	"variables":[1]
field 'max-steps': expected a whole number	{"id":"s1","action":"shell","command":"true"}	"max-steps":1e300
field 'model': expected a string, got a number	{"id":"s1","action":"shell","command":"true"}	"model":5
field 'budget': expected a mapping (tokens, usd), got a string	{"id":"s1","action":"shell","command":"true"}	"budget":"x"
field 'interactive': expected true or false	{"id":"s1","action":"shell","command":"true"}	"interactive":"no"
field 'hash': expected a string, got a number	{"id":"s1","action":"shell","command":"true"}	"hash":5
# parallel steps: their branches are checked as lists of their own
step 's1': field 'branches.0.0.command': expected a string, got a number	{"id":"s1","action":"parallel","branches":[[{"id":"x","action":"shell","command":5,"next":null}]]}
step 's1': field 'branches': expected an array, got a string	{"id":"s1","action":"parallel","branches":"x"}
step 's1': branch 1: 'name' must be a valid name	{"id":"s1","action":"parallel","branches":[{"name":"../x","steps":[{"id":"x","action":"shell","command":"true","next":null}]}]}
step 's1': 'max-concurrency' must be between 1 and 64, got 0	{"id":"s1","action":"parallel","max-concurrency":0,"branches":[[{"id":"x","action":"shell","command":"true","next":null}]]}
step 's1': 'next' names no step: 'm'	{"id":"s1","action":"parallel","branches":[[{"id":"x","action":"shell","command":"true","next":"m"}]]}
step 's1': 'as' must be a variable name	{"id":"s1","action":"parallel","for-each":"a","as":"../v","steps":[{"id":"x","action":"shell","command":"true","next":null}]}
T
}

@test "wf-step refuses each hostile request with 65 and the field, and runs nothing" {
	local n=0
	while IFS=$'\t' read -r want req; do
		[ -z "$want" ] || [ "${want:0:1}" = "#" ] && continue
		printf '%s\n' "$req" > in
		refused "$want" "$req" wf-step
		n=$((n + 1))
	done < <(step_cases)
	[ "$n" -ge 30 ]
}

@test "wf-step runs a request whose variables hold a list, as review-pr's comments do" {
	echo '{"step":{"id":"s1","action":"shell","command":"touch marker"},"vars":{"l":[{"path":"a.c","line":1}],"n":null}}' > in
	run --separate-stderr wf-step < in
	assert_success
	[ -e marker ]
}

@test "wf-step --serve answers a hostile request with a 65 result naming the field, and goes on" {
	{
		echo '{"step":{"id":"s1","action":"shell","command":5}}'
		echo '{"step":{"id":"s2","action":"shell","command":"touch marker","timeout":"abc"}}'
		echo '{"step":{"id":"s3","action":"shell","command":"echo fine"}}'
	} > in
	run --separate-stderr wf-step --serve < in
	assert_success
	[ ! -e marker ]
	run jq -sc 'map(select(has("pgid") | not) | [.status, .exit_code, .error])' <<<"$output"
	assert_output '[["failed",65,"not a step request: step '"'s1'"': field '"'command'"': expected a string, got a number"],["failed",65,"not a step request: step '"'s2'"': field '"'timeout'"': expected a number of seconds from 0 to 1e+09, got '"'abc'"'"],["ok",0,null]]'
}

@test "wf-run - refuses each hostile canonical workflow with 65 and the field, and runs no step" {
	local n=0
	while IFS=$'\t' read -r want step more; do
		[ -z "$want" ] || [ "${want:0:1}" = "#" ] && continue
		# Members given later win in jq's parser, so MORE may replace one.
		printf '{"name":"t","hash":"sha256:0","source":"-","steps":[{"id":"m","action":"shell","command":"touch marker"},%s]%s}\n' \
			"$step" "${more:+,$more}" > in
		refused "$want" "$step $more" wf-run --quiet -
		n=$((n + 1))
	done < <(workflow_cases)
	[ "$n" -ge 20 ]
	# Nothing was started either: no run exists.
	run wf-state list
	refute_output --partial '"t"'
}

@test "hostile JSON in general: deep nesting and broken documents are one line, 65" {
	# jq's parser stops at depth 256; its message must not quote the input back.
	{ printf '{"step":{"id":"s1","action":"shell","command":"touch marker"},"vars":'; printf '[%.0s' $(seq 300); printf ']%.0s' $(seq 300); echo '}'; } > in
	refused "Exceeds depth limit for parsing" "deep" wf-step
	printf '{"step":\n{"id":\n"s1",,\n}' > in
	refused "not a step request: Expected value before ','" "broken" wf-step
	printf '{"name":\n"t",,\n}' > in
	refused "standard input: Expected value before ','" "broken" wf-run -
}

@test "every example's canonical form passes the same check (wf-run - --dry-run)" {
	local f n=0
	for f in "$EXAMPLES"/*.yaml "$REPO_ROOT"/workflows/templates/*.yaml; do
		[ -e "$f" ] || continue
		wf-parse "$f" > wf.json
		# A required input (a template's) is given a value.
		run --separate-stderr wf-run --dry-run $(jq -r '.inputs | to_entries[] | select(.value | has("default") | not) | "--var=\(.key)=x"' wf.json) - < wf.json
		[ "$status" -eq 0 ] || { echo "$f: $status: $stderr" >&2; return 1; }
		n=$((n + 1))
	done
	[ "$n" -ge 5 ]
}
