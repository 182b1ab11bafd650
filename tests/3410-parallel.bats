#!/usr/bin/env bats
# Parallel steps: action 'parallel' runs branches side by side, each a run
# nested in the run, in a process of its own (wf-workflow(5), "PARALLEL
# STEPS").  Concurrency, failure policies, kills of the runner and of a
# branch, SIGINT, questions per branch, and validation.  Branches hold on
# files this test creates ("go"), never on the clock.
load helpers
load terminal

setup() {
	wf_setup
	SOCK="wf-par-$$-$BATS_TEST_NUMBER"
}

teardown() {
	touch "$WORK/go"
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
	tmux -L "$SOCK" kill-server 2>/dev/null || true
}

# Start `wf ARGS...` in its own process group, as a CI job is.
start_run() {
	setsid wf "$@" 2>"$WORK/run.err" >"$WORK/run.out" &
	RUNNER=$!
}

# Wait for the run started by start_run; RC gets its exit status.
wait_run() {
	RC=0
	wait "$RUNNER" || RC=$?
	RUNNER=
}

# The number of files in directory $1 (0 when there is none).
count() {
	local n=0 f
	for f in "$1"/*; do [ -e "$f" ] && n=$((n + 1)); done
	echo "$n"
}

# A shell command for branch $1: note its start in live/ and in log, wait for "go", note its end.
held() {
	printf 'mkdir -p live; touch live/%s; echo start-%s >> log; while [ ! -e go ]; do sleep 0.02; done; echo end-%s >> log; rm -f live/%s' "$1" "$1" "$1" "$1"
}

# par.yaml: a parallel step with max-concurrency $1 and on-failure $2 over three held branches a, b, c.
par_yaml() {
	cat > par.yaml <<EOF
name: par
steps:
  - id: fan
    action: parallel
    max-concurrency: $1
    on-failure: $2
    branches:
      - name: a
        steps:
          - {id: s, action: shell, command: '$(held a)'}
      - name: b
        steps:
          - {id: s, action: shell, command: '$(held b)'}
      - name: c
        steps:
          - {id: s, action: shell, command: '$(held c)'}
  - id: after
    action: shell
    command: echo after >> log
EOF
}

@test "branches run side by side, never more than max-concurrency at once, and all finish" {
	par_yaml 2 fail-fast
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 2 ]'
	# Two run; the third has not started while they hold.
	[ "$(count live)" -eq 2 ]
	run grep -c '^start-' log
	assert_output 2
	touch go
	wait_run
	[ "$RC" = 0 ]
	run grep -c '^end-' log
	assert_output 3
	[ "$(tail -1 log)" = after ]
	# Each branch is a run of its own in the run's directory; the journal says when each began and ended.
	d=$(rundir par)
	for b in a b c; do
		run jq -r 'select(.event == "run-end") | .status' "$d/sub/fan/$b/history.jsonl"
		assert_output completed
	done
	run sh -c "wf-state history par | jq -r 'select(.event == \"branch-end\") | .branch' | sort | tr '\n' ' '"
	assert_output "a b c "
	run sh -c "wf-state get par steps.fan.branches | jq -c 'map([.name, .status])'"
	assert_output '[["a","ok"],["b","ok"],["c","ok"]]'
	# Progress lines name their branch.
	grep -q '^\[fan/a\] ' run.err
	grep -q '^\[fan/c\] ' run.err
}

@test "for-each runs the body once per item, as a JSON array or as lines, with the item in its variable" {
	cat > fe.yaml <<'EOF'
name: fe
variables:
  list: '["x y", "z"]'
  lines: "one\ntwo\n\nthree"
steps:
  - id: arr
    action: parallel
    for-each: ${list}
    as: it
    steps:
      - {id: s, action: shell, command: 'echo "arr:$it" >> "$WORK/out"', env: {it: "${it}"}}
  - id: lns
    action: parallel
    for-each: ${lines}
    steps:
      - {id: s, action: shell, command: 'echo "line:$x" >> "$WORK/out"', env: {x: "${item}"}}
EOF
	export WORK
	run wf run fe.yaml
	assert_success
	run sort out
	assert_output $'arr:x y\narr:z\nline:one\nline:three\nline:two'
	run sh -c "wf-state get fe steps.lns.branches | jq -c 'map([.name, .item])'"
	assert_output '[["1","one"],["2","two"],["3","three"]]'
}

@test "variables a branch sets come back per branch and merged into the run" {
	cat > v.yaml <<'EOF'
name: v
variables:
  keep: same
steps:
  - id: fan
    action: parallel
    branches:
      - name: one
        steps:
          - {id: s, action: set-variable, name: r1, value: "from one"}
      - - {id: s, action: set-variable, name: r2, value: "from two"}
  - id: show
    action: shell
    command: 'echo "$a|$b|$c" > got'
    env: {a: "${r1}", b: "${r2}", c: "${keep}"}
EOF
	run wf run v.yaml
	assert_success
	run cat got
	assert_output 'from one|from two|same'
	run sh -c "wf-state get v steps.fan.branches | jq -c 'map([.name, .vars])'"
	assert_output '[["one",{"r1":"from one"}],["2",{"r2":"from two"}]]'
}

@test "fail-fast: the first failure stops the running branches after their step and starts no more" {
	cat > ff.yaml <<EOF
name: ff
steps:
  - id: fan
    action: parallel
    max-concurrency: 2
    branches:
      - name: slow
        steps:
          - {id: s, action: shell, command: '$(held slow)'}
          - {id: t, action: shell, command: 'echo never-slow >> log'}
      - name: bad
        steps:
          - {id: s, action: shell, command: 'while ! grep -qs start-slow log; do sleep 0.02; done; exit 7'}
      - name: late
        steps:
          - {id: s, action: shell, command: 'echo late >> log'}
  - id: after
    action: shell
    command: echo after >> log
EOF
	run wf run ff.yaml
	assert_failure 1
	assert_output --partial "branch 'bad' failed at step 's'"
	run cat log
	assert_output start-slow
	run sh -c "wf-state get ff steps.fan.branches | jq -c 'map([.name, .status])'"
	assert_output '[["slow","cancelled"],["bad","failed"],["late","cancelled"]]'
	# The stopped branch's step process is gone with it.
	run count live
	[ "$output" -le 1 ]
}

@test "wait-all lets every branch finish and fails the step; continue lets the run go on" {
	for policy in wait-all continue; do
		rm -f log
		cat > w.yaml <<EOF
name: w
steps:
  - id: fan
    action: parallel
    on-failure: $policy
    branches:
      - - {id: s, action: shell, command: 'exit 3'}
      - - {id: s, action: shell, command: 'echo two >> log'}
      - - {id: s, action: shell, command: 'echo three >> log'}
  - id: after
    action: shell
    command: echo after >> log
EOF
		run wf run w.yaml
		if [ $policy = wait-all ]; then
			assert_failure 1
			[ "$(sort log | tr '\n' ' ')" = "three two " ]
		else
			assert_success
			[ "$(sort log | tr '\n' ' ')" = "after three two " ]
		fi
		run sh -c "wf-state get w steps.fan.branches | jq -c 'map(.status)'"
		assert_output '["failed","ok","ok"]'
		wf-state rm w >/dev/null
	done
}

@test "kill -9 of wf-run during a fan-out: resume runs only the unfinished branches, a completed one never twice" {
	cat > k.yaml <<EOF
name: k
steps:
  - id: fan
    action: parallel
    branches:
      - name: quick
        steps:
          - {id: s, action: shell, command: 'echo quick >> log'}
      - name: held
        steps:
          - {id: one, action: shell, command: 'echo held-one >> log'}
          - {id: two, action: shell, command: '$(held held)'}
          - {id: three, action: shell, command: 'echo held-three >> log'}
  - id: after
    action: shell
    command: echo after >> log
EOF
	start_run run k.yaml
	wait_until test -e live/held
	wait_until grep -q '^quick$' log
	kill -9 "$RUNNER"
	wait_run
	[ "$RC" = 137 ]
	touch go
	resume_settled k
	assert_success
	# quick ran once; held's first step once, its second again (it was in flight), its third once.
	run grep -c '^quick$' log
	assert_output 1
	run grep -c '^held-one$' log
	assert_output 1
	run grep -c '^start-held$' log
	assert_output 2
	run grep -c '^held-three$' log
	assert_output 1
	run grep -c '^after$' log
	assert_output 1
}

@test "a step marked idempotent: false in flight in a branch at kill -9 is never run again without a word" {
	cat > idem.yaml <<EOF
name: idem
steps:
  - id: fan
    action: parallel
    branches:
      - name: pay
        steps:
          - {id: charge, action: shell, idempotent: false, command: '$(held pay)'}
      - name: other
        steps:
          - {id: s, action: shell, command: 'echo other >> log'}
EOF
	start_run run idem.yaml
	wait_until test -e live/pay
	wait_until grep -q '^other$' log
	kill -9 "$RUNNER"
	wait_run
	touch go
	resume_settled idem
	assert_failure 3
	assert_output --partial "idempotent: false"
	run grep -c '^start-pay$' log
	assert_output 1
	run wf status idem
	assert_output --partial "[pay]"
	# Skipping it is one answer for one branch; the run then completes.
	run wf resume idem --answer pay:skip
	assert_success
	run grep -c '^start-pay$' log
	assert_output 1
	run grep -c '^other$' log
	assert_output 1
}

@test "kill -9 of one branch's process: the run stops, and resume goes on with that branch alone" {
	par_yaml 3 wait-all
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 3 ]'
	pid=$(wf-state history par | jq -r 'select(.event == "branch-start" and .branch == "b") | .pid')
	[ -n "$pid" ]
	kill -9 "$pid"
	wait_until eval "wf-state history par | jq -e 'select(.event == \"branch-end\" and .branch == \"b\")' >/dev/null"
	touch go
	wait_run
	# The run pauses with the branch's death as its reason, and the killed branch's exit status.
	[ "$RC" = 137 ]
	run wf status par
	assert_output --partial "paused (branch 'b' died (exit status 137))"
	run grep -c '^end-' log
	# a and c finished (b's step may or may not have ended: it was in flight).
	[ "$output" -ge 2 ]
	before_a=$(grep -c '^start-a$' log)
	resume_settled par
	assert_success
	[ "$(grep -c '^start-a$' log)" = "$before_a" ]
	[ "$(grep -c '^start-c$' log)" = 1 ]
	[ "$(grep -c '^start-b$' log)" = 2 ]
	[ "$(grep -c '^after$' log)" = 1 ]
}

@test "SIGINT during a fan-out pauses every branch after its step; resume completes the run" {
	par_yaml 2 fail-fast
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 2 ]'
	kill -INT "$RUNNER"
	touch go
	wait_run
	[ "$RC" = 130 ]
	run wf status par
	assert_output --partial paused
	run wf resume par
	assert_success
	[ "$(grep -c '^after$' log)" = 1 ]
	[ "$(grep -c '^start-c$' log)" = 1 ]
}

# two.yaml: branches a and b each ask a question; c works.
two_yaml() {
	cat > two.yaml <<'EOF'
name: two
steps:
  - id: fan
    action: parallel
    branches:
      - name: a
        steps:
          - {id: ask, action: interactive, message: "Ship a?", kind: confirm}
          - {id: done, action: shell, command: "echo a-done >> log"}
      - name: b
        steps:
          - {id: ask, action: interactive, message: "Pick for b", kind: choice, options: [red, blue]}
          - {id: done, action: shell, command: 'echo "b-$v" >> log', env: {v: "${steps.ask.output}"}}
      - name: c
        steps:
          - {id: work, action: shell, command: "echo c-done >> log"}
  - id: end
    action: shell
    command: echo end >> log
EOF
}

@test "two branches waiting for answers: each waits alone, answered in either order, the others untouched" {
	two_yaml
	for order in ab ba; do
		rm -f log
		run wf run two.yaml < /dev/null
		assert_failure 3
		run cat log
		assert_output c-done
		run wf status two
		assert_output --partial "[a] Ship a? [yes/no]"
		assert_output --partial "[b] Pick for b"
		assert_output --partial "--answer a:VALUE"
		# An answer that names no waiting branch, or a bad value, changes nothing.
		run wf resume two --answer yes
		assert_failure
		assert_output --partial "answer one as BRANCH:VALUE"
		run wf resume two --answer b:green
		assert_failure 65
		if [ $order = ab ]; then
			run wf resume two --answer a:yes
			assert_failure 3
			run wf status two
			refute_output --partial "[a]"
			assert_output --partial "[b] Pick for b"
			run wf resume two --answer fan/b:blue
			assert_success
		else
			run wf resume two --answer b:2
			assert_failure 3
			run wf resume two --answer yes
			assert_success
		fi
		run sort log
		assert_output $'a-done\nb-blue\nc-done\nend'
		wf-state rm two >/dev/null
	done
}

@test "validation: a jump out of a branch, both branches and for-each, bad limits and names, with line:col" {
	cat > bad.yaml <<'EOF'
name: bad
steps:
  - id: fan
    action: parallel
    max-concurrency: 0
    branches:
      - name: x
        steps:
          - {id: s, action: shell, command: "true", on-error: after}
      - name: x
        steps: []
      - {name: y, steps: [{id: s, action: shell, command: "true"}], with: {a: 1}}
      - {name: "../z", workflow: child}
      - 42
  - id: after
    action: shell
    command: "true"
  - id: both
    action: parallel
    for-each: "a"
    branches: [[{id: s, action: shell, command: "true"}]]
  - id: none
    action: parallel
    for-each: "a"
EOF
	run wf-parse bad.yaml
	assert_failure 65
	assert_output --partial "bad.yaml:5:"
	assert_output --partial "'max-concurrency' must be between 1 and 64"
	assert_output --partial "bad.yaml:9:"
	assert_output --partial "'on-error' names no step: 'after'"
	assert_output --partial "duplicate branch name 'x'"
	assert_output --partial "expected a non-empty list of steps"
	assert_output --partial "'with' goes with 'workflow'"
	assert_output --partial "'name' must be a valid name"
	assert_output --partial "branch 5: expected a list of steps or a mapping"
	assert_output --partial "give it either 'branches' or 'for-each'"
	assert_output --partial "'for-each' needs 'steps'"
}

@test "for-each over more items than the limit fails the step with 65, and hostile items stay data" {
	python3 -c 'import json; print(json.dumps([str(i) for i in range(1001)]))' > many.json
	cat > many.yaml <<'EOF'
name: many
steps:
  - {id: load, action: load-variable, name: list, from: many.json}
  - id: fan
    action: parallel
    for-each: ${list}
    steps:
      - {id: s, action: shell, command: "true"}
EOF
	run wf run many.yaml
	assert_failure
	assert_output --partial "at most 1000 branches"
	printf '["$(touch pwned)", "; touch pwned2", "`touch pwned3`"]' > hostile.json
	sed 's/many.json/hostile.json/' many.yaml | sed 's/"true"/'"'"'printf "%s\\n" "$v" >> items'"'"', env: {v: "${item}"}/' > h.yaml
	run wf run h.yaml
	assert_success
	[ ! -e pwned ] && [ ! -e pwned2 ] && [ ! -e pwned3 ]
	run sort items
	assert_output $'$(touch pwned)\n; touch pwned2\n`touch pwned3`'
}

@test "wf pause stops every branch after its current step; resume finishes them" {
	par_yaml 3 fail-fast
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 3 ]'
	run wf pause par
	assert_success
	touch go
	wait_run
	[ "$RC" = 3 ]
	run wf status par
	assert_output --partial paused
	# Each branch ran its one step and stopped before nothing more; the step after the fan-out did not run.
	[ "$(grep -c '^end-' log)" = 3 ]
	! grep -q '^after$' log
	run wf resume par
	assert_success
	[ "$(grep -c '^start-' log)" = 3 ]
	[ "$(grep -c '^after$' log)" = 1 ]
}

@test "consent per branch: without a person or --yes each branch waits, and resume --yes consents for all" {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
	cat > cons.yaml <<'EOF'
name: cons
steps:
  - id: fan
    action: parallel
    branches:
      - name: a
        steps:
          - {id: set, action: set-variable, name: x, value: "1"}
          - {id: s, action: shell, command: "echo a >> log"}
      - name: b
        steps:
          - {id: s, action: shell, command: "echo b >> log"}
EOF
	run wf run cons.yaml < /dev/null
	assert_failure 3
	[ ! -e log ]
	run wf status cons
	assert_output --partial "[a] consent to run: echo a >> log"
	assert_output --partial "--answer a:yes"
	# A "no" for one branch holds: that branch is declined, the run stops, nothing ran there.
	run wf resume cons --answer a:no
	assert_failure 77
	[ ! -e log ]
	run wf resume cons --yes
	assert_success
	run sort log
	assert_output $'a\nb'
}

@test "at a terminal the branches' questions are asked one at a time, in the order of the branches" {
	two_yaml
	term_run "wf run two.yaml"
	wait_for "Ship a? [y/n]"
	# One question at a time: b's waits until a's is answered; c has already done its work.
	! on_screen "Pick for b"
	[ "$(cat log)" = c-done ]
	keys y Enter
	wait_for "Pick for b"
	keys blue Enter
	run exit_code
	assert_output 0
	run sort log
	assert_output $'a-done\nb-blue\nc-done\nend'
}

@test "kill -9 of a branch's wf-step child: that branch stops with its step in doubt, the others finish, resume completes it" {
	par_yaml 3 wait-all
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 3 ]'
	bpid=$(wf-state history par | jq -r 'select(.event == "branch-start" and .branch == "a") | .pid')
	step=$(ps -o pid=,comm= --ppid "$bpid" | awk '$2 == "wf-step" { print $1 }')
	[ -n "$step" ]
	kill -9 "$step"
	wait_until eval "wf-state history par | jq -e 'select(.event == \"branch-end\" and .branch == \"a\")' >/dev/null"
	touch go
	wait_run
	[ "$RC" != 0 ]
	assert_equal "$(grep -c '^end-b$' log)" 1
	assert_equal "$(grep -c '^end-c$' log)" 1
	! grep -q '^after$' log
	resume_settled par
	assert_success
	# Only a ran again; b and c are never run twice.
	assert_equal "$(grep -c '^start-a$' log)" 2
	assert_equal "$(grep -c '^start-b$' log)" 1
	assert_equal "$(grep -c '^start-c$' log)" 1
	assert_equal "$(grep -c '^after$' log)" 1
}

@test "a dry run shows each branch's steps, the for-each body, the limit and the policy, and runs nothing" {
	par_yaml 2 wait-all
	run wf run --dry-run par.yaml
	assert_success
	assert_output --partial "at most 2 branches at once, on failure: wait-all"
	assert_output --partial "branch a: s (shell)"
	assert_output --partial "branch c: s (shell)"
	[ ! -e log ]
	cat > fe.yaml <<'EOF'
name: fe
steps:
  - id: each
    action: parallel
    for-each: '["x"]'
    as: f
    steps:
      - {id: one, action: shell, command: "true"}
      - {id: two, action: set-variable, name: v, value: "1"}
EOF
	run wf run --dry-run fe.yaml
	assert_success
	assert_output --partial "for each item of [\"x\"] as f: one (shell), two (set-variable)"
}

@test "a branch can run a workflow with inputs: its outputs come back with the branch; a missing one fails its branch" {
	mkdir -p workflows
	cat > workflows/child.yaml <<'EOF'
name: child
inputs:
  who: {description: who}
outputs:
  said: "hello ${who}"
steps:
  - {id: s, action: shell, command: 'echo "child $who" >> "$LOGF"', env: {who: "${who}"}}
EOF
	cat > wb.yaml <<'EOF'
name: wb
variables:
  name: ann
steps:
  - id: fan
    action: parallel
    on-failure: wait-all
    branches:
      - {name: greet, workflow: workflows/child.yaml, with: {who: "${name}"}}
      - - {id: s, action: shell, command: 'echo inline >> "$LOGF"'}
EOF
	export LOGF=$WORK/log
	run wf run wb.yaml
	assert_success
	run sort log
	assert_output $'child ann\ninline'
	run sh -c "wf-state get wb steps.fan.branches | jq -c '.[0] | [.name, .status, .outputs]'"
	assert_output '["greet","ok",{"said":"hello ann"}]'
	# What a branch calls is checked before anything runs, as a workflow step's is, inside branches too.
	sed -i 's|workflows/child.yaml|workflows/nope.yaml|' wb.yaml
	run wf run wb.yaml
	assert_failure 65
	assert_output --partial "wb.yaml:9:"
	assert_output --partial "branch 'greet': cannot open workflow file"
	rm -f log
	cat > wb2.yaml <<'EOF'
name: wb2
steps:
  - id: fan
    action: parallel
    branches:
      - {name: two, workflow: workflows/child.yaml, with: {whom: x}}
      - - {id: inner, action: workflow, workflow: workflows/child.yaml}
EOF
	run wf run wb2.yaml
	assert_failure 65
	assert_output --partial "wb2.yaml:6:"
	assert_output --partial "branch 'two': 'whom' is not an input of workflow"
	assert_output --partial "wb2.yaml:7:"
	assert_output --partial "step 'inner': workflow 'workflows/child.yaml' requires input 'who'"
	[ ! -e log ]
}

@test "wf status during a fan-out lists each branch with its status and the step it is at" {
	par_yaml 2 fail-fast
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 2 ]'
	run wf status par
	assert_output --partial "branches: of step 'fan'"
	assert_output --regexp "  a +running at step 's'"
	assert_output --regexp "  b +running at step 's'"
	touch go
	wait_run
	[ "$RC" = 0 ]
}

@test "completion: wf resume RUN --answer TAB offers BRANCH:ANSWER for each branch's question" {
	two_yaml
	run wf run two.yaml < /dev/null
	assert_failure 3
	source "$REPO_ROOT/completions/wf.bash"
	complete_line wf resume two --answer ''
	assert_equal "$(replies)" "a:no a:yes b:blue b:red"
	complete_line wf resume two --answer b:
	assert_equal "$(replies)" "b:blue b:red"
}

@test "a file changed while the run waits: --accept-changes is the caller's; each branch goes on with the steps it started with" {
	par_yaml 2 fail-fast
	start_run run par.yaml
	wait_until eval '[ "$(count live)" -ge 2 ]'
	kill -INT "$RUNNER"
	touch go
	wait_run
	[ "$RC" = 130 ]
	sed -i 's/echo after >> log/echo changed-after >> log/' par.yaml
	run wf resume par
	assert_failure 65
	assert_output --partial "changed since the run started"
	run wf resume par --accept-changes
	assert_success
	# The branches kept their own steps (the two interrupted ran again, as a step in flight does); the step after the fan-out is the new one.
	[ "$(grep -c '^start-' log)" = 5 ]
	[ "$(grep -c '^start-c' log)" = 1 ]
	[ "$(tail -1 log)" = changed-after ]
	[ "$(jq -r .parallel_branch "$(rundir par)/sub/fan/c/workflow.json")" = c ]
}

@test "a full disk at any of the first durable writes of a fan-out: the run stops, its files stay sound, and resume completes every branch once" {
	command -v strace >/dev/null || skip "strace not installed"
	strace -f -o /dev/null -e trace=fdatasync -e inject=fdatasync:error=ENOSPC:when=3 true 2>/dev/null || skip "ptrace not permitted here"
	cat > fd.yaml <<'EOF'
name: fd
steps:
  - id: fan
    action: parallel
    branches:
      - [{id: s, action: shell, command: "echo a >> log"}]
      - [{id: s, action: shell, command: "echo b >> log"}]
      - [{id: s, action: shell, command: "echo c >> log"}]
  - id: after
    action: shell
    command: echo after >> log
EOF
	local when stopped=0
	# strace counts each process's calls: the Nth durable write of wf-run and of every branch fails.
	for when in 1 2 3 4 5 6 7 8; do
		rm -f log
		wf-state rm fd >/dev/null 2>&1 || true
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		run strace -f -o /dev/null -e trace=fdatasync,fsync -e "inject=fdatasync,fsync:error=ENOSPC:when=$when" wf-run fd.yaml --quiet
		if [ "$status" != 0 ]; then
			stopped=$((stopped + 1))
			[ "$status" = 74 ] && [[ $output == *"No space left on device"* ]] || { echo "when=$when: $status $output" >&2; return 1; }
			run wf-state fsck fd
			[ "$status" = 0 ] || [ "$status" = 66 ] || { echo "when=$when: fsck: $output" >&2; return 1; }
			resume_settled fd
			if [ "$status" = 66 ] || [[ $output == *"has no state yet"* ]]; then
				# The run could not even begin: nothing ran, and it starts again clean.
				[ ! -e log ]
				run wf-run fd.yaml --quiet
			fi
			[ "$status" = 0 ] || { echo "when=$when: then: $output" >&2; return 1; }
		fi
		# Every branch ran its step (at least once, twice at most when it was in flight), the step after once.
		for b in a b c; do
			n=$(grep -c "^$b\$" log)
			[ "$n" -ge 1 ] && [ "$n" -le 2 ] || { echo "when=$when: $b ran $n times" >&2; return 1; }
		done
		[ "$(grep -c '^after$' log)" = 1 ]
	done
	[ "$stopped" -ge 4 ]
}
