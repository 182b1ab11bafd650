#!/usr/bin/env bats
# Rewind and fork (wf-state(1) rewind, wf-run(1) --fork): a run goes back
# to a step it reached as one more journal event, with the variables and
# loop counters it had then; a fork starts a new run from there and leaves
# the earlier run's files as they were.  Tests synchronise on files the
# steps make and on journal events, never on the clock.
load helpers

teardown() {
	touch "$WORK/go"
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
}

# Does run $1's journal have an event $2 (for step $3, when given),
# wherever it is in the journal (jq -e alone goes by the last line)?
has_event() {
	wf-state history "$1" 2>/dev/null | jq -s -e --arg e "$2" --arg s "${3:-}" \
		'any(.[]; .event == $e and ($s == "" or .step == $s))' >/dev/null
}

# A loop inside a loop: the outer one counts i to 3, the inner one runs
# its body twice a round; the inner body fails where a file stop-I-N
# says (round I, its Nth run).
nest_flow() {
	write nest.yaml <<'Y'
name: nest
steps:
  - id: a
    action: shell
    command: 'echo a >> log'
  - id: body
    action: shell
    command: 'echo "body ${i:-0}" >> log; echo $((${i:-0} + 1)) > i.txt'
  - id: load
    action: load-variable
    name: i
    from: i.txt
  - id: inner-body
    action: shell
    command: 'echo "inner $i" >> log; n=$(grep -c "inner $i" log); [ ! -e "stop-$i-$n" ]'
  - id: inner
    action: loop
    to: inner-body
    condition: 'true'
    max-iterations: 2
    on-exhausted: continue
  - id: outer
    action: loop
    to: body
    condition: 'i < 3'
    max-iterations: 5
  - id: after
    action: shell
    command: 'echo "after $i ${note:-}" >> log'
    on-complete: fin
  - id: never
    action: shell
    command: 'echo never >> log'
  - id: fin
    action: shell
    command: 'true'
Y
}

# The sha256 of every file under directory $1, by path.
tree_sums() {
	(cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# The sha256 of run $1's journal and state (a refused rewind may have
# taken the run's lock, which records its pid in the lock file).
run_sums() {
	(cd "$(rundir "$1")" && sha256sum history.jsonl state.json)
}

@test "rewind inside a loop: the loop counting then keeps its count, the one entered after is back at 0" {
	nest_flow
	touch stop-3-2
	run wf run nest.yaml --quiet
	assert_failure 1
	run wf-state show nest
	assert_equal "$(jq -c '{status, cursor, loops}' <<<"$output")" \
		'{"status":"failed","cursor":"inner-body","loops":{"inner":1,"outer":2}}'
	lines_before=$(wc -l < "$(rundir nest)/history.jsonl")
	cp "$(rundir nest)/history.jsonl" journal.before
	run wf rewind nest body --pass 2
	assert_success
	assert_output --partial "run 'nest' is back at step 'body' (pass 2); continue it with 'wf resume nest'"
	run wf-state show nest
	assert_equal "$(jq -c '{status, reason, cursor, loops, vars}' <<<"$output")" \
		'{"status":"paused","reason":"rewound","cursor":"body","loops":{"inner":0,"outer":1},"vars":{"i":"1"}}'
	# The journal keeps every old event, byte for byte, plus the rewind.
	[ "$(wc -l < "$(rundir nest)/history.jsonl")" -eq $((lines_before + 1)) ]
	cmp journal.before <(head -n "$lines_before" "$(rundir nest)/history.jsonl")
	run sh -c "wf-state history nest | tail -1 | jq -c '{event, step, pass, from, from_status, vars, loops, status}'"
	assert_output '{"event":"rewind","step":"body","pass":2,"from":"inner-body","from_status":"failed","vars":{},"loops":{"inner":0,"outer":1},"status":"paused"}'
	# The state the journal gives from scratch is the same.
	run wf-state fsck nest
	assert_success
	# Resume goes on from body with i = 1: rounds 2 and 3 again, then after.
	rm stop-3-2
	: > log
	run wf resume nest --quiet
	assert_success
	run cat log
	assert_output "$(printf '%s\n' 'body 1' 'inner 2' 'inner 2' 'body 2' 'inner 3' 'inner 3' 'after 3 ')"
	run wf-state get nest passes.outer
	assert_output 3
}

@test "rewind after a loop, to a step before it: every loop is back at 0 and --var reaches the step" {
	nest_flow
	run wf run nest.yaml --quiet
	assert_success
	run wf-state get nest status
	assert_output completed
	# A completed run goes back too; its outputs and end are gone.
	run wf rewind nest after --var 'note=$(touch pwned) `touch pwned2`; rm -rf /'
	assert_success
	run wf-state show nest
	assert_equal "$(jq -c '{status, cursor, loops, i: .vars.i}' <<<"$output")" \
		'{"status":"paused","cursor":"after","loops":{"inner":0,"outer":0},"i":"3"}'
	: > log
	run wf resume nest --quiet
	assert_success
	run cat log
	assert_output 'after 3 $(touch pwned) `touch pwned2`; rm -rf /'
	[ ! -e pwned ] && [ ! -e pwned2 ]
	# Back to the first step: the variable set later is unset again.
	run wf rewind nest a
	assert_success
	run wf-state show nest
	assert_equal "$(jq -c '{cursor, loops, vars}' <<<"$output")" '{"cursor":"a","loops":{"inner":0,"outer":0},"vars":{}}'
	run wf status nest
	assert_success
	assert_output --partial "rewound:  to a (pass 1) at "
}

@test "a step never reached, a pass not run, a step not in the workflow, a bad name: refused, nothing written" {
	nest_flow
	run wf run nest.yaml --quiet
	assert_success
	sum=$(run_sums nest)
	run wf rewind nest never
	assert_failure 66
	assert_output --partial "run 'nest' never reached step 'never'; the steps it reached are 'a', 'body', 'load', 'inner-body', 'inner', 'outer', 'after', 'fin'"
	run wf rewind nest after --pass 2
	assert_failure 66
	assert_output --partial "step 'after' of run 'nest' ran 1 time; --pass takes 1 to 1"
	run wf rewind nest nosuch
	assert_failure 2
	assert_output --partial "has no step 'nosuch'; its steps are 'a', 'body', 'load', 'inner-body', 'inner', 'outer', 'after', 'never', 'fin'"
	run wf rewind nest a --pass 0
	assert_failure 2
	run wf rewind nest
	assert_failure 2
	run wf rewind ../nest a
	assert_failure 65
	run wf rewind nest a --var PATH=/tmp
	assert_failure 65
	run wf rewind nosuch a
	assert_failure 66
	[ "$(run_sums nest)" = "$sum" ]
}

@test "a waiting run rewinds: the question is gone, and asked again when the run gets back to it" {
	write ask.yaml <<'Y'
name: ask
steps:
  - id: prep
    action: shell
    command: 'echo "prep ${v:-none}" >> log'
  - id: ok
    action: interactive
    message: "Go on?"
  - id: done
    action: shell
    command: 'echo done >> log'
Y
	run wf run ask.yaml --quiet < /dev/null
	assert_failure 3
	run wf-state get ask status
	assert_output waiting
	run wf rewind ask prep --var v=again
	assert_success
	run wf-state show ask
	assert_equal "$(jq -c '{status, cursor, pending}' <<<"$output")" '{"status":"paused","cursor":"prep","pending":null}'
	run wf resume ask --quiet < /dev/null
	assert_failure 3
	run wf-state get ask pending.step
	assert_output ok
	run wf resume ask --answer yes --quiet
	assert_success
	run cat log
	assert_output "$(printf '%s\n' 'prep none' 'prep again' done)"
}

@test "a running run is refused (75), and a past run is never changed: the hint is to fork it" {
	write hold.yaml <<'Y'
name: hold
steps:
  - id: first
    action: shell
    command: 'echo first >> log'
  - id: wait
    action: shell
    command: 'touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done'
Y
	setsid wf run hold.yaml --quiet 2>"$WORK/run.err" &
	RUNNER=$!
	wait_until test -e started
	wait_until has_event hold step-pgid wait
	run wf rewind hold first
	assert_failure 75
	assert_output --partial "run 'hold' is busy"
	# A fork reads the running run without its lock, and both go on.
	wf fork hold wait --name side --quiet 2>"$WORK/fork.err" &
	FORKER=$!
	wait_until has_event side step-start wait
	run wf-state get hold status
	assert_output running
	touch go
	wait "$RUNNER"
	RUNNER=
	wait "$FORKER"
	run wf-state get hold status
	assert_output completed
	run wf-state get side status
	assert_output completed
	# A second run of the name sends the first to the history, as run 1.
	run wf run hold.yaml --quiet
	assert_success
	run wf rewind 1 first
	assert_failure 66
	assert_output --partial "run 1 is in the history and cannot change; fork it instead: wf fork 1 first --name NEW"
	run wf fork 1 first --name again --quiet
	assert_success
	run wf status again
	assert_output --partial "forked:   from hold #1 at first"
}

@test "a failed run rewinds to the failing step and --var makes it pass" {
	write fl.yaml <<'Y'
name: fl
steps:
  - id: set
    action: shell
    command: 'echo set'
  - id: check
    action: shell
    command: 'echo "check ${mode:-strict}" >> log; [ "${mode:-strict}" = lax ]'
Y
	run wf run fl.yaml --quiet
	assert_failure 1
	run wf rewind fl check --var mode=lax
	assert_success
	run wf-state get fl vars.mode
	assert_output lax
	run wf resume fl --quiet
	assert_success
	run cat log
	assert_output "$(printf '%s\n' 'check strict' 'check lax')"
}

@test "fork leaves the original byte-identical and runs from the step with the variables then" {
	nest_flow
	touch stop-3-2
	run wf run nest.yaml --quiet
	assert_failure 1
	before=$(tree_sums "$(rundir nest)")
	rm stop-3-2
	echo 1 > i.txt
	: > log
	run wf fork nest load --pass 2 --name nest2 --var 'note=$(touch pwned)'
	assert_success
	assert_output --partial "nest2: forked from run 'nest' #1 at step 'load' (pass 2)"
	[ "$(tree_sums "$(rundir nest)")" = "$before" ]
	# From load (i.txt says 1 again), with the outer loop at 1 jump back.
	run cat log
	assert_output "$(printf '%s\n' 'inner 1' 'inner 1' 'body 1' 'inner 2' 'inner 2' 'body 2' 'inner 3' 'inner 3' 'after 3 $(touch pwned)')"
	[ ! -e pwned ]
	run sh -c "wf-state history nest2 | head -1 | jq -c '{event, cursor, fork, loops, vars}'"
	assert_output '{"event":"run-start","cursor":"load","fork":{"run":"nest","id":1,"step":"load","seq":27},"loops":{"inner":0,"outer":1},"vars":{"i":"1","note":"$(touch pwned)"}}'
	run wf-state get nest2 forked_from.run
	assert_output nest
	run wf status nest2
	assert_output --partial "forked:   from nest #1 at load"
	run wf-state get nest status
	assert_output failed
}

@test "fork inside a loop: the loop keeps its count; a name clash is refused (2) and leaves both runs as they were" {
	nest_flow
	run wf run nest.yaml --quiet
	assert_success
	: > log
	run wf fork nest inner-body --pass 4 --name deep --quiet
	assert_success
	run cat log
	# Pass 4 of inner-body is round 2's second: the inner loop had jumped back once.
	assert_output "$(printf '%s\n' 'inner 2' 'body 2' 'inner 3' 'inner 3' 'after 3 ')"
	run sh -c "wf-state history deep | head -1 | jq -c .loops"
	assert_output '{"inner":1,"outer":1}'
	a=$(tree_sums "$(rundir nest)")
	b=$(tree_sums "$(rundir deep)")
	run wf fork nest a --name deep
	assert_failure 2
	assert_output --partial "run 'deep' exists (completed); choose another --name"
	run wf fork nest a --name nest
	assert_failure 2
	run wf fork nest a --name ../x
	assert_failure 2
	run wf fork nest a
	assert_failure 2
	assert_output --partial "a fork needs --name NEW"
	run wf fork nest a --name y --dry-run
	assert_failure 2
	assert_output --partial "--dry-run does not apply to a fork"
	run wf fork nest never --name y
	assert_failure 66
	[ ! -e "$(rundir y)" ]
	[ "$(tree_sums "$(rundir nest)")" = "$a" ]
	[ "$(tree_sums "$(rundir deep)")" = "$b" ]
}

@test "kill -9 of a fork once its run has started: wf resume NEW goes on from the step" {
	write slow.yaml <<'Y'
name: slow
steps:
  - id: one
    action: shell
    command: 'echo "one ${v:-}" >> log'
  - id: two
    action: shell
    command: 'echo "two ${v:-}" >> log; if [ ! -e "$WORK/started" ]; then touch "$WORK/started"; while [ ! -e "$WORK/go" ]; do sleep 0.01; done; fi'
  - id: three
    action: shell
    command: 'echo "three ${v:-}" >> log'
Y
	touch started go
	run wf run slow.yaml --quiet --var v=old
	assert_success
	rm started go
	: > log
	setsid wf fork slow two --name newer --quiet 2>"$WORK/fork.err" &
	RUNNER=$!
	wait_until test -e started
	wait_until has_event newer step-pgid two
	pgid=$(wf-state history newer | jq -r 'select(.event=="step-pgid") | .pgid' | tail -1)
	kill -9 "$RUNNER"
	wait "$RUNNER" || true
	RUNNER=
	touch go
	wait_until sh -c "! kill -0 -$pgid 2>/dev/null"
	run wf-state get newer status
	assert_output interrupted
	run wf resume newer --quiet
	assert_success
	run cat log
	assert_output "$(printf '%s\n' 'two old' 'two old' 'three old')"
	run wf status newer
	assert_output --partial "forked:   from slow #1 at two"
}

@test "rewound to a step that calls a workflow, the resume runs the called workflow afresh" {
	write workflows/child.yaml <<'Y'
name: child
inputs:
  who:
    description: who calls
steps:
  - id: look
    action: shell
    command: 'echo "child ${who:-}" >> "$WORK/log"'
Y
	write workflows/parent.yaml <<'Y'
name: parent
steps:
  - id: call
    action: workflow
    workflow: child
    with:
      who: "${who}"
  - id: after
    action: shell
    command: 'echo after >> "$WORK/log"'
Y
	run wf run parent --var who=first --quiet
	assert_success
	run wf rewind parent call --var who=second
	assert_success
	run wf resume parent --quiet
	assert_success
	run cat log
	assert_output "$(printf '%s\n' 'child first' after 'child second' after)"
}

# ---- completion ----

@test "completion: wf rewind RUN and wf fork RUN offer the steps the run reached, and their options" {
	source "$REPO_ROOT/completions/wf.bash"
	nest_flow
	run wf run nest.yaml --quiet
	assert_success
	complete_line wf rewind ''
	assert_equal "$(replies)" nest
	complete_line wf rewind nest ''
	assert_equal "$(replies)" "a after body fin inner inner-body load outer"
	complete_line wf fork nest in
	assert_equal "$(replies)" "inner inner-body"
	complete_line wf fork nest a --
	for o in --name --pass --var --accept-changes; do
		has_reply "$o"
	done
	complete_line wf rewind nest --pass ''
	assert_equal "$(replies)" ""
	complete_line wf-state rewind nest b
	assert_equal "$(replies)" body
	complete_line wf-run --fork nest ''
	has_reply after
	complete_line wf-state re
	assert_equal "$(replies)" rewind
}

@test "a rewind and a fork are in wf status, the report and the graph: the rewind as an event and no move, the fork's origin" {
	nest_flow
	touch stop-3-2
	run wf run nest.yaml --quiet
	assert_failure 1
	run wf rewind nest body --pass 2
	assert_success
	run wf status nest
	assert_output --partial "rewound:  to body (pass 2)"
	run wf report nest -o nest.html
	assert_success
	grep -q '<b>rewind</b>' nest.html
	grep -q 'step body' nest.html
	# The rewind draws no move from where the run stood back to body.
	run wf graph --run nest
	assert_success
	refute_output --partial 'no such edge in the workflow'
	rm stop-3-2
	run wf fork nest load --name nest2 --quiet
	assert_success
	run wf report nest2 -o nest2.html
	assert_success
	grep -q 'forked from' nest2.html
	grep -q 'at step load' nest2.html
}
