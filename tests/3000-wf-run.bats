#!/usr/bin/env bats
# wf-run: running workflows, flow rules, progress, variables and step actions.
load helpers
bats_require_minimum_version 1.5.0

@test "the seed's test-linear prints Step 1 and Step 2 and exits 0" {
	run wf run test-linear
	assert_success
	assert_line "Step 1"
	assert_line "Step 2"
	run wf-state get test-linear status
	assert_success
	assert_output "completed"
	run wf-state get test-linear steps_run
	assert_output "2"
}

@test "step output goes to stdout, progress to stderr" {
	wf run test-linear > out.txt 2> err.txt
	run cat out.txt
	assert_output $'Step 1\nStep 2'
	run cat err.txt
	assert_line --partial "[1/2] s1 shell"
	assert_line --partial "test-linear: completed 2 steps"
}

@test "--quiet prints nothing at all" {
	run wf run test-linear --quiet
	assert_success
	assert_output ""
}

@test "--json prints the journal's events as JSON lines on stdout" {
	wf run test-linear --json > events.jsonl 2>/dev/null
	run jq -r .event events.jsonl
	assert_output $'run-start\nconsent\nstep-start\nstep-pgid\nstep-end\nconsent\nstep-start\nstep-pgid\nstep-end\nrun-end'
	run jq -r 'select(.event=="step-end") | .output' events.jsonl
	assert_output $'Step 1\nStep 2'
}

@test "wf-parse output piped into wf-run - runs the same workflow" {
	run sh -c "wf-parse '$EXAMPLES/test-linear.yaml' | wf-run - --quiet"
	assert_success
	run wf-state get test-linear status
	assert_output completed
}

@test "wf-run - refuses JSON that is not a canonical workflow" {
	run sh -c "echo '{\"a\":1}' | wf-run -"
	assert_failure 65
	assert_output --partial "not a canonical workflow"
	run sh -c "echo 'nope' | wf-run -"
	assert_failure 65
	assert_output --partial "standard input"
}

@test "test-conditional goes s1 -> s3 when the file exists" {
	touch present
	run wf run test-conditional --var file="$WORK/present"
	assert_success
	assert_line "exists"
	assert_line "done"
	refute_line "create file"
}

@test "test-conditional cycles s1 -> s2 -> s1 until the step limit, exit 4" {
	run wf run test-conditional --var file="$WORK/absent" --max-steps 12
	assert_failure 4
	assert_output --partial "step limit of 12 reached; the run was cycling through s1 -> s2 -> s1"
	run wf-state get test-conditional status
	assert_output failed
}

@test "a shell step sees variables in its environment, never spliced into its text" {
	write inj.yaml <<'Y'
name: inj
variables:
  payload: "x\"; touch pwned1; echo \""
steps:
  - id: s1
    action: shell
    command: 'echo "[$payload]"; echo "[$WF_VAR_payload]"'
  - id: s2
    action: shell
    command: 'test "$evil" = "$(printf %s "\$(touch pwned2)")" && echo same'
Y
	run wf run inj.yaml --var 'evil=$(touch pwned2)'
	assert_success
	assert_line '[x"; touch pwned1; echo "]'
	assert_line 'same'
	[ ! -e pwned1 ]
	[ ! -e pwned2 ]
}

@test "S01: injection payloads in variables never run" {
	write s01.yaml <<'Y'
name: s01
steps:
  - id: s1
    action: shell
    command: 'printf "%s|" "$v"'
Y
	for p in '"; touch $T/pwned; #' '$(touch pwned)' '`touch pwned`' 'zzz";echo${IFS}pwned;#' $'a\nPATH=/evil'; do
		run wf run s01.yaml --restart --var "v=$p" --var T="$WORK"
		assert_success
		assert_output --partial "$p|"
		[ ! -e pwned ]
	done
}

@test "output: stores trimmed stdout in a variable" {
	write o.yaml <<'Y'
name: o
steps:
  - id: s1
    action: shell
    command: "printf 'hello world\n\n'"
    output: greeting
  - id: s2
    action: shell
    command: 'echo "got [$greeting]"'
Y
	run wf run o.yaml
	assert_success
	assert_line "got [hello world]"
	run wf-state get o vars.greeting
	assert_output "hello world"
}

@test "load-variable and set-variable" {
	echo "  42  " > n.txt
	write lv.yaml <<'Y'
name: lv
steps:
  - id: a
    action: load-variable
    name: n
    from: n.txt
  - id: b
    action: set-variable
    name: m
    value: "n was ${n}"
  - id: c
    action: shell
    command: 'echo "$n/$m"'
Y
	run wf run lv.yaml
	assert_success
	assert_line "42/n was 42"
}

@test "load-variable from a missing file fails the step with a clear message" {
	write lv.yaml <<'Y'
name: lv2
steps:
  - id: a
    action: load-variable
    name: n
    from: missing.txt
Y
	run wf run lv.yaml
	assert_failure 1
	assert_output --partial "cannot load 'missing.txt': No such file or directory"
}

@test "a failing step stops the run with exit 1, and resume retries it" {
	write f.yaml <<'Y'
name: f
steps:
  - id: a
    action: shell
    command: "echo a >> log"
  - id: b
    action: shell
    command: "test -e ok || exit 3; echo b >> log"
  - id: c
    action: shell
    command: "echo c >> log"
Y
	run wf run f.yaml
	assert_failure 1
	assert_output --partial "b: exited with status 3"
	assert_output --partial "failed at step 'b'"
	run wf status f
	assert_output --partial "continue it with 'wf resume f'"
	touch ok
	run wf resume f
	assert_success
	run cat log
	assert_output $'a\nb\nc'
}

@test "on-error jumps, continue-on-error goes on" {
	write e.yaml <<'Y'
name: e
steps:
  - id: a
    action: shell
    command: "exit 1"
    on-error: c
  - id: b
    action: shell
    command: "echo never"
  - id: c
    action: shell
    command: "exit 2"
    continue-on-error: true
  - id: d
    action: shell
    command: "echo reached d"
Y
	run wf run e.yaml
	assert_success
	refute_line "never"
	assert_line "reached d"
}

@test "retry runs a failing step again" {
	write r.yaml <<'Y'
name: r
steps:
  - id: a
    action: shell
    command: 'echo x >> tries; test $(wc -l < tries) -ge 3'
    retry: {attempts: 3, delay: 0}
Y
	run wf run r.yaml
	assert_success
	assert_output --partial "attempt 2 of 3"
	run wc -l < tries
	assert_output 3
}

@test "timeout kills the whole process group" {
	write t.yaml <<'Y'
name: t
steps:
  - id: a
    action: shell
    command: "sleep 33 & sleep 33; echo late"
    timeout: 0.3
Y
	run wf run t.yaml
	# A timeout is a limit reached: exit 4 (wf(7)).
	assert_failure 4
	assert_output --partial "timed out after 0.3s"
	# The group was killed before wf returned; wait for the kernel to reap it.
	for _ in $(seq 1 600); do
		pgrep -f "sleep 33" >/dev/null || break
		sleep 0.05
	done
	run pgrep -f "sleep 33"
	assert_failure
}

@test "on-complete jumps after a step" {
	write j.yaml <<'Y'
name: j
steps:
  - id: a
    action: shell
    command: "echo a"
    on-complete: c
  - id: b
    action: shell
    command: "echo b"
  - id: c
    action: shell
    command: "echo c"
Y
	run wf run j.yaml
	assert_success
	assert_output --partial "a"
	refute_line "b"
	assert_line "c"
}

@test "starting at a step id, and an unknown step id" {
	run wf run test-linear s2
	assert_success
	refute_line "Step 1"
	assert_line "Step 2"
	run wf run test-linear s9 --restart
	assert_failure 2
	assert_output --partial "workflow 'test-linear' has no step 's9'"
}

@test "--dry-run prints the path and runs nothing" {
	write d.yaml <<'Y'
name: d
variables: {who: world}
steps:
  - id: a
    action: shell
    command: "touch ran"
  - id: b
    action: set-variable
    name: x
    value: "hello ${who}"
    on-complete: a
Y
	run wf run d.yaml --dry-run
	assert_success
	assert_line --partial "[1/2] a shell"
	assert_line --partial "command: touch ran"
	assert_line --partial "on-complete -> a"
	[ ! -e ran ]
	[ ! -d "$(rundir d)" ]
}

@test "--dry-run and --estimate on a full standard output: exit 74, said once" {
	[ -w /dev/full ] || skip "no /dev/full"
	write d.yaml <<'Y'
name: d
steps:
  - id: a
    action: shell
    command: "true"
Y
	for o in --dry-run --estimate; do
		run bash -c 'wf-run "$1" d.yaml >/dev/full' _ "$o"
		assert_failure 74
		assert_output "wf-run: cannot write standard output: No space left on device"
	done
}

@test "persistent: false removes the run's state after success" {
	write p.yaml <<'Y'
name: p
persistent: false
steps:
  - id: a
    action: shell
    command: "true"
Y
	run wf run p.yaml
	assert_success
	[ ! -e "$(rundir p)" ]
}

@test "a completed run moves to the project's history when started again" {
	wf run test-linear --quiet
	wf run test-linear --quiet
	run sh -c "ls '$(wf-state path)/history' | grep -c -- '^1-test-linear$'"
	assert_output 1
}

@test "custom action: wf-action-NAME beside the workflow answers with a result" {
	mkdir -p actions
	write actions/wf-action-greet <<'S'
#!/bin/sh
req=$(cat)
who=$(printf '%s' "$req" | jq -r .step.who)
printf '{"status":"ok","output":"hi %s","vars":{"greeted":"%s"}}\n' "$who" "$who"
S
	chmod +x actions/wf-action-greet
	write c.yaml <<'Y'
name: c
steps:
  - id: a
    action: greet
    who: bob
  - id: b
    action: shell
    command: 'echo "greeted=$greeted"'
Y
	run wf run c.yaml
	assert_success
	assert_line "greeted=bob"
	run wf-state get c steps.a.output
	assert_output "hi bob"
}

@test "custom action with a malformed answer fails the step clearly" {
	mkdir -p actions
	printf '#!/bin/sh\ncat >/dev/null; echo not-json\n' > actions/wf-action-bad
	chmod +x actions/wf-action-bad
	write c.yaml <<'Y'
name: c2
steps:
  - id: a
    action: bad
Y
	run wf run c.yaml
	assert_failure 1
	assert_output --partial "custom action 'bad'"
	assert_output --partial "did not answer with a result JSON object"
}

@test "wf-step runs one request from stdin" {
	run sh -c 'echo "{\"step\":{\"id\":\"x\",\"action\":\"shell\",\"command\":\"echo \$v\"},\"vars\":{\"v\":\"hi\"}}" | wf-step'
	assert_success
	assert_output --partial '"status":"ok"'
	assert_output --partial '"output":"hi"'
	run sh -c 'echo "{\"step\":{\"id\":\"x\",\"action\":\"shell\",\"command\":\"exit 4\"}}" | wf-step'
	assert_failure 1
	assert_output --partial '"exit_code":4'
	run sh -c 'echo "[1" | wf-step'
	assert_failure 65
	assert_output --partial "standard input: not a step request"
}

@test "secrets are not inherited by shell steps unless listed, and masked in output" {
	export DEMO_API_KEY="sk-test-0123456789abcdef"
	write s.yaml <<'Y'
name: s
steps:
  - id: a
    action: shell
    command: 'echo "key=[$DEMO_API_KEY]"'
  - id: b
    action: shell
    command: 'printf %s "${DEMO_API_KEY%%89*}"; sleep 0.1; printf "%s\n" "89${DEMO_API_KEY#*89}"'
    secrets: [DEMO_API_KEY]
Y
	run wf run s.yaml
	assert_success
	assert_line "key=[]"
	assert_line "***"
	run grep -rF "$DEMO_API_KEY" "$WF_STATE_DIR"
	assert_failure
}

@test "the options of a resume are refused on a fresh run, naming the command that takes them" {
	for o in --accept-changes --rerun --skip; do
		run wf run test-linear "$o"
		assert_failure 2
		assert_output "wf-run: $o applies to a resume only: wf resume test-linear $o"
	done
	[ ! -e "$(rundir test-linear)" ]
}

@test "a run stopped by a signal during a step: wf status says the step runs again, or how to decide" {
	write sig.yaml <<'Y'
name: sig
steps:
  - id: a
    action: shell
    command: "touch started; while [ ! -e go ]; do sleep 0.01; done"
Y
	wf run sig.yaml --quiet &
	pid=$!
	for _ in $(seq 1 600); do [ -e started ] && break; sleep 0.05; done
	kill -TERM "$pid"
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 143 ]
	run wf status sig
	assert_line "next:     continue it with 'wf resume sig': step 'a' was in flight and runs again, or, if it is marked idempotent: false, add --rerun or --skip"
	touch go
	run wf resume sig --quiet
	assert_success
}

@test "a step's text in the progress lines cannot drive the terminal: control bytes are shown, not sent" {
	printf 'name: esc\nsteps:\n  - id: a\n    action: shell\n    command: "echo hi # \\e]0;owned\\a\\e[2J"\n' > esc.yaml
	run --separate-stderr wf run esc.yaml --yes
	assert_success
	assert_output hi
	[[ "$stderr" == *'[1/1] a shell "echo hi # \e]0;owned\x07\e[2J" ...'* ]]
	! grep -q $'\e' <<<"$stderr"
	! grep -q $'\a' <<<"$stderr"
}
