#!/usr/bin/env bats
# Consent cannot be bypassed: auto-approve patterns match one simple
# command word for word, and no workflow variable may change what runs.
load helpers

# A one-step workflow NAME whose shell command is CMD (any text).
one_step() {
	local name=$1 cmd=$2
	write "$name.yaml" <<Y
name: $name
variables:
  v: "hi; touch pwned"
  q: "'"
steps:
  - id: s
    action: shell
    command: $(jq -Rn --arg c "$cmd" '$c')
Y
}

approve() {
	printf 'auto-approve:\n' > "$XDG_CONFIG_HOME/wf/config.yaml"
	for p in "$@"; do
		printf '  - %s\n' "$(jq -Rn --arg p "$p" '$p')" >> "$XDG_CONFIG_HOME/wf/config.yaml"
	done
}

@test "\"echo *\" approves no command that does more than echo: each is asked for, nothing runs" {
	approve "echo *"
	local i=0 cmd
	while IFS= read -r cmd; do
		[ -n "$cmd" ] || continue
		i=$((i + 1))
		cmd=${cmd//\\n/$'\n'}
		one_step "r$i" "$cmd"
		run wf run "r$i.yaml" < /dev/null
		[ "$status" -eq 3 ] || { echo "'$cmd' was not asked for (exit $status): $output" >&2; return 1; }
		[[ $output == *"step 's' needs consent"* ]] || { echo "$output" >&2; return 1; }
		[ ! -e pwned ] || { echo "'$cmd' ran" >&2; return 1; }
	done <<'TABLE'
echo hi; touch pwned
echo hi;touch pwned
echo hi && touch pwned
false || touch pwned
echo hi | touch pwned
echo hi & touch pwned
echo hi\ntouch pwned
echo $(touch pwned)
echo "$(touch pwned)"
echo `touch pwned`
echo "`touch pwned`"
echo hi > pwned
echo hi >> pwned
echo hi 2>pwned
echo hi <pwned
echo hi; (touch pwned)
(touch pwned)
echo $((1+1))
echo $HOME
echo ${v:-$(touch pwned)}
echo ${q}; touch pwned ${q}
echo $'\x3b'
echo 'unterminated
echo hi \\ntouch pwned
PATH=. echo hi
! echo hi
{ echo hi; }
echo hi # comment
echo ${GH_TOKEN}
echo ${undefined_here}
TABLE
	[ "$i" -ge 30 ]
}

@test "\"echo *\" approves echo with any words, quoted as the shell reads them" {
	approve "echo *"
	local i=0 cmd want
	while IFS='~' read -r cmd want; do
		i=$((i + 1))
		one_step "ok$i" "$cmd"
		run wf run "ok$i.yaml" --quiet < /dev/null
		[ "$status" -eq 0 ] || { echo "'$cmd' was not approved (exit $status): $output" >&2; return 1; }
		[ "$(step_output "ok$i" s 2>/dev/null)" = "$want" ] ||
			{ echo "'$cmd' printed '$(step_output "ok$i" s)'" >&2; return 1; }
	done <<'TABLE'
echo hi~hi
echo~
echo 'a; b'~a; b
echo "x | y"~x | y
echo a\;b~a;b
echo "${v}"~hi; touch pwned
echo ${v}~hi; touch pwned
TABLE
	[ ! -e pwned ]
	run sh -c "wf-state history ok1 | jq -r 'select(.event==\"consent\") | .by'"
	assert_output auto-approve
}

@test "a pattern's words match whole words; a last * takes any rest, a glob one word" {
	approve "make test" "git push origin *" "ls -l*"
	local i=0 cmd want f
	# Stand-ins, so that an approved command changes nothing here.
	mkdir -p "$BATS_TEST_TMPDIR/fakebin"
	for f in make git ls; do
		printf '#!/bin/sh\necho "%s $*"\n' "$f" > "$BATS_TEST_TMPDIR/fakebin/$f"
		chmod +x "$BATS_TEST_TMPDIR/fakebin/$f"
	done
	PATH="$BATS_TEST_TMPDIR/fakebin:$PATH"
	while IFS='|' read -r cmd want; do
		i=$((i + 1))
		one_step "w$i" "$cmd"
		run wf run "w$i.yaml" --quiet < /dev/null
		[ "$status" -eq "$want" ] || { echo "'$cmd': exit $status, wanted $want: $output" >&2; return 1; }
	done <<'TABLE'
make test|0
make test extra|3
make|3
make tests|3
git push origin main|0
git push origin main --force|0
git push upstream main|3
ls -la|0
ls -la /tmp|3
TABLE
}

@test "the lone pattern \"*\" is the catch-all: it approves every step, whatever it runs" {
	approve "*"
	one_step all 'echo hi; touch pwned'
	run wf run all.yaml --quiet < /dev/null
	assert_success
	[ -e pwned ]
}

@test "action:NAME patterns approve by action, never by command" {
	approve "action:commit-push" "action:sh*"
	one_step act 'echo hi; touch pwned'
	run wf run act.yaml --quiet < /dev/null
	assert_success
	approve "action:commit-push"
	one_step act2 'echo hi'
	run wf run act2.yaml < /dev/null
	assert_failure 3
}

@test "variables that change what a command runs are refused by wf validate with their position" {
	write rv.yaml <<'Y'
name: rv
variables:
  PATH: /tmp/evil
  fine: 1
env:
  LD_PRELOAD: /x.so
steps:
  - id: a
    action: set-variable
    name: BASH_ENV
    value: x
  - id: b
    action: shell
    command: echo
    output: IFS
    env:
      GCONV_PATH: /x
  - id: c
    action: load-variable
    name: HOME
    from: f
  - id: d
    action: set-variable
    name: "${dyn}"
    value: x
Y
	run wf validate rv.yaml
	assert_failure 65
	assert_line "wf-parse: rv.yaml:3:3: variable 'PATH' would change what commands run, so a workflow may not set it (use another name, such as 'path')"
	assert_line --partial "rv.yaml:6:3: variable 'LD_PRELOAD' would change"
	assert_line --partial "rv.yaml:10:11: 'name': variable 'BASH_ENV' would change"
	assert_line --partial "rv.yaml:15:13: 'output': variable 'IFS' would change"
	assert_line --partial "rv.yaml:17:7: variable 'GCONV_PATH' would change"
	assert_line --partial "rv.yaml:20:11: 'name': variable 'HOME' would change"
	refute_output --partial "dyn"
	local name
	for name in SHELL ENV CDPATH PS4 PROMPT_COMMAND LD_LIBRARY_PATH BASH_FUNC_ls%% SHELLOPTS WF_X; do
		printf 'name: n\nvariables:\n  %s: x\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n' "$name" > n.yaml
		run wf-parse n.yaml
		[ "$status" -eq 65 ] || { echo "$name was accepted" >&2; return 1; }
		[[ $output == *"n.yaml:3:3: variable '$name' would change what commands run"* ]] || { echo "$output" >&2; return 1; }
	done
}

@test "--var cannot set PATH or another reserved name" {
	run wf run test-linear --var PATH=/tmp/evil
	assert_failure 65
	assert_output --partial "--var PATH: variable 'PATH' would change what commands run"
	refute_output --partial "Step 1"
	run wf run test-linear --quiet --var LD_PRELOAD=/x.so
	assert_failure 65
	run wf run test-linear --quiet --var path=/tmp/x
	assert_success
}

@test "a reserved variable that reaches a step at run time is never exported under its name" {
	write e.yaml <<'Y'
name: e
variables:
  target: PATH
steps:
  - id: a
    action: set-variable
    name: "${target}"
    value: /nowhere
  - id: b
    action: shell
    command: 'printf "%s\n" "$PATH" "$WF_VAR_PATH"'
Y
	run wf run e.yaml --quiet
	assert_success
	run step_output e b
	refute_line --index 0 /nowhere
	assert_line --index 1 /nowhere
}
