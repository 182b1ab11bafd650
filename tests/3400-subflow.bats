#!/usr/bin/env bats
# Sub-workflows: action 'workflow' runs another workflow as a run nested
# in the run (wf-workflow(5), "Workflows that call workflows").
load helpers
load fake-provider

# A child with a required and a defaulted input, an output, and a side
# effect per step counted in $WORK/count.
child_yaml() {
	write workflows/child.yaml <<'EOF2'
name: child
inputs:
  branch:
    description: the branch to look at
  greeting:
    default: hello
outputs:
  verdict: "${greeting} ${branch}: ${steps.look.output}"
steps:
  - id: look
    action: shell
    command: echo "looked at $branch" | tee -a count
EOF2
}

# workflows/p.yaml: step 'call' runs workflow $1; its further keys and steps on stdin.
caller() {
	{ printf 'name: p\nsteps:\n  - id: call\n    action: workflow\n    workflow: %s\n' "$1"; cat; } > workflows/p.yaml
}

@test "a parent calls a child with inputs and reads its outputs" {
	child_yaml
	write workflows/parent.yaml <<'EOF2'
name: parent
variables:
  b: main
outputs:
  final: "${steps.review.outputs.verdict}"
steps:
  - id: review
    action: workflow
    workflow: child
    with:
      branch: "${b}-x"
    output: got
  - id: after
    action: shell
    command: echo "after $got" >> count
EOF2
	run wf validate parent
	assert_success
	run wf run parent
	assert_success
	run cat count
	assert_output $'looked at main-x\nafter {"verdict":"hello main-x: looked at main-x"}'
	run sh -c "wf status parent --json | jq -c '[.outputs, .vars.got, .steps.review.outputs]'"
	assert_output '[{"final":"hello main-x: looked at main-x"},"{\"verdict\":\"hello main-x: looked at main-x\"}",{"verdict":"hello main-x: looked at main-x"}]'
	# The child's run lives in the parent's directory, with the files of any run.
	d=$(rundir parent)
	run jq -r 'select(.event=="run-end") | .outputs.verdict' "$d/sub/review/history.jsonl"
	assert_output "hello main-x: looked at main-x"
	run sh -c "wf-state history parent | jq -c 'select(.event==\"run-end\") | .outputs'"
	assert_output '{"final":"hello main-x: looked at main-x"}'
}

@test "a file path is relative to the calling workflow's directory" {
	child_yaml
	mkdir -p elsewhere
	write workflows/p.yaml <<'EOF2'
name: p
steps:
  - id: c
    action: workflow
    workflow: child.yaml
    with: {branch: dev}
EOF2
	cd elsewhere
	run wf run ../workflows/p.yaml
	assert_success
	run cat count
	assert_output "looked at dev"
}

@test "the child's failure fails the step: on-error routes it, without one the parent fails" {
	write workflows/bad.yaml <<'EOF2'
name: bad
steps:
  - id: boom
    action: shell
    command: "echo boom >> count; exit 3"
  - id: never
    action: shell
    command: echo never >> count
EOF2
	caller bad <<'EOF2'
    on-error: rescue
  - id: skipped
    action: shell
    command: echo skipped >> count
  - id: rescue
    action: shell
    command: echo rescued >> count
EOF2
	run wf run p
	assert_success
	run cat count
	assert_output $'boom\nrescued'
	run sh -c "wf status p --json | jq -r '.steps.call | .status + \" \" + .error'"
	assert_output "failed workflow 'bad' failed at step 'boom' (step failed)"
	write workflows/q.yaml <<'EOF2'
name: q
steps:
  - id: call
    action: workflow
    workflow: bad
EOF2
	run wf run q
	assert_failure 1
	run wf-state get q status
	assert_output failed
}

ask_child() {
	write workflows/asker.yaml <<'EOF2'
name: asker
steps:
  - id: one
    action: shell
    command: echo one >> count
  - id: ok
    action: interactive
    message: ship it?
  - id: two
    action: shell
    command: echo two >> count
EOF2
	caller asker <<'EOF2'
  - id: after
    action: shell
    command: echo after >> count
EOF2
}

@test "a question inside the child pauses the parent (3); resume with an answer finishes both" {
	ask_child
	run wf run p </dev/null
	assert_failure 3
	assert_output --partial "answer with: wf resume p --answer yes"
	run wf-state get p status
	assert_output waiting
	run sh -c "wf status p --json | jq -c '[.pending.step, .pending.sub, .cursor]'"
	assert_output '["ok","call","call"]'
	# An answer that does not fit changes nothing.
	run wf resume p --answer maybe </dev/null
	assert_failure 65
	run wf-state get p status
	assert_output waiting
	run wf resume p --answer yes </dev/null
	assert_success
	run cat count
	assert_output $'one\ntwo\nafter'
	run jq -r 'select(.event=="answer") | .value' "$(rundir p)/sub/call/history.jsonl"
	assert_output true
}

@test "a 'no' inside the child is the parent's no: declined (77), and an answer yes goes on" {
	ask_child
	run wf run p </dev/null
	assert_failure 3
	run wf resume p --answer no </dev/null
	assert_failure 77
	run wf-state get p status
	assert_output declined
	run cat count
	assert_output one
	run wf resume p --answer yes </dev/null
	assert_success
	run cat count
	assert_output $'one\ntwo\nafter'
}

# No command of step $1 outlived the runner killed during it.
gone() {
	! pgrep -f "$WORK/hold-$1" >/dev/null
}

# Kill runner $2 with SIGKILL while step $1 (held) is in flight; let the step go.
kill_at() {
	wait_until test -e "at-$1"
	kill -9 "$2"
	wait "$2" 2>/dev/null || true
	rm -f "hold-$1"
	wait_until gone "$1"
}

# A child of six steps; step cN waits, after counting itself, while
# hold-cN exists, so the test can kill at that point.
held_child() {
	mkdir -p workflows
	{
		echo "name: held"
		echo "steps:"
		for i in 1 2 3 4 5 6; do
			printf '  - id: c%d\n    action: shell\n' "$i"
			printf '    command: "echo c%d >> %s/count; if [ -e %s/hold-c%d ]; then touch %s/at-c%d; while [ -e %s/hold-c%d ]; do sleep 0.01; done; fi"\n' \
				"$i" "$WORK" "$WORK" "$i" "$WORK" "$i" "$WORK" "$i"
		done
	} > workflows/held.yaml
	caller held <<'EOF2'
  - id: after
    action: shell
    command: echo after >> count
EOF2
}

@test "kill -9 of wf-run at several points inside the child: resume runs no completed child step again" {
	held_child
	touch hold-c2 hold-c5
	wf-run p --quiet 2>/dev/null &
	pid=$!
	for p in c2 c5; do
		kill_at "$p" "$pid"
		run wf-state get p status
		refute_output completed
		wf-run --resume p --quiet 2>/dev/null &
		pid=$!
	done
	wait "$pid"
	run wf-state get p status
	assert_output completed
	# The step in flight at each kill ran again (at least once); no other ran twice.
	run cat count
	assert_output $'c1\nc2\nc2\nc3\nc4\nc5\nc5\nc6\nafter'
}

@test "kill -9 of the wf-step child inside the child: the run stops, resume finishes it" {
	held_child
	touch hold-c3
	wf-run p --quiet 2>err &
	pid=$!
	wait_until test -e at-c3
	# The wf-step serving the child's steps: this runner's own child (tests
	# run in parallel, so never just the newest wf-step of the machine).
	step=$(pgrep -n -P "$pid" -f "wf-step --serve")
	[ -n "$step" ]
	kill -9 "$step"
	rm -f hold-c3
	rc=0
	wait "$pid" || rc=$?
	[ "$rc" = 70 ]
	run wf-state get p status
	assert_output failed
	run wf resume p --quiet
	assert_success
	run cat count
	assert_output $'c1\nc2\nc3\nc3\nc4\nc5\nc6\nafter'
}

@test "a child step marked idempotent: false in doubt after a kill asks on resume, and --skip answers inside the child" {
	held_child
	sed -i '/- id: c3/a\    idempotent: false' workflows/held.yaml
	touch hold-c3
	wf-run p --quiet 2>/dev/null &
	kill_at c3 $!
	run wf resume p --quiet
	assert_failure 3
	assert_output --partial "wf resume p --rerun"
	run wf resume p --quiet
	assert_failure 3
	run wf resume p --skip --quiet
	assert_success
	run cat count
	assert_output $'c1\nc2\nc3\nc4\nc5\nc6\nafter'
}

@test "validation: a cycle of workflows (A->B->A, A->A) is refused with the chain, by wf validate and wf run" {
	write workflows/a.yaml <<'EOF2'
name: a
steps:
  - id: to-b
    action: workflow
    workflow: b.yaml
EOF2
	write workflows/b.yaml <<'EOF2'
name: b
steps:
  - id: to-a
    action: workflow
    workflow: a
EOF2
	write workflows/self.yaml <<'EOF2'
name: self
steps:
  - id: me
    action: workflow
    workflow: self
EOF2
	run wf validate a
	assert_failure 65
	assert_output --partial "b.yaml:5:15: step 'to-a': workflows call each other in a cycle: a.yaml -> b.yaml -> a.yaml"
	assert_output --partial "a.yaml:5:15: step 'to-b': workflow 'b.yaml'"
	run wf validate self
	assert_failure 65
	assert_output --partial "self.yaml:5:15: step 'me': workflows call each other in a cycle: self.yaml -> self.yaml"
	run wf run self
	assert_failure 65
	run wf-state get self status
	assert_failure
}

@test "validation: a missing child, an unknown with: key and a missing required input, each at the parent's line:col" {
	child_yaml
	write workflows/m.yaml <<'EOF2'
name: m
steps:
  - id: x
    action: workflow
    workflow: nosuch
EOF2
	run wf validate m
	assert_failure 65
	assert_output --partial "m.yaml:5:15: step 'x': no workflow named 'nosuch'"
	write workflows/u.yaml <<'EOF2'
name: u
steps:
  - id: x
    action: workflow
    workflow: child
    with:
      branch: main
      brnach: oops
EOF2
	run wf validate u
	assert_failure 65
	assert_output --partial "u.yaml:8:7: step 'x': 'brnach' is not an input of workflow 'child' (its inputs: branch, greeting)"
	write workflows/r.yaml <<'EOF2'
name: r
steps:
  - id: x
    action: workflow
    workflow: child
    with: {greeting: hi}
EOF2
	run wf validate r
	assert_failure 65
	assert_output --partial "r.yaml:5:15: step 'x': workflow 'child' requires input 'branch': give it under 'with:'"
	write workflows/f.yaml <<'EOF2'
name: f
steps:
  - id: x
    action: workflow
    workflow: ./gone.yaml
EOF2
	run wf validate f
	assert_failure 65
	assert_output --partial "f.yaml:5:15: step 'x': cannot open workflow file"
}

@test "depth: nine levels of workflows are refused, eight run" {
	mkdir -p workflows
	for i in $(seq 1 9); do
		printf 'name: l%d\nsteps:\n  - id: s\n    action: workflow\n    workflow: l%d\n' "$i" "$((i + 1))" > workflows/l$i.yaml
	done
	printf 'name: l10\nsteps:\n  - id: s\n    action: shell\n    command: echo deep >> count\n' > workflows/l10.yaml
	run wf validate l1
	assert_failure 65
	assert_output --partial "workflows nest deeper than 8 levels: l1.yaml -> l2.yaml -> l3.yaml -> l4.yaml -> l5.yaml -> l6.yaml -> l7.yaml -> l8.yaml -> l9.yaml"
	run wf validate l2
	assert_failure 65
	assert_output --partial "l9.yaml:5:15: step 's': workflows nest deeper than 8 levels: l2.yaml -> l3.yaml"
	run wf validate l3
	assert_success
	run wf run l3
	assert_success
	run cat count
	assert_output deep
	[ -d "$(rundir l3)/sub/s/sub/s/sub/s/sub/s/sub/s/sub/s/sub/s" ]
}

@test "the child's model usage adds to the parent's and counts against the parent's budget" {
	fake_provider_start - <<'J'
{"responses": [], "default": {"text": "fine"}}
J
	fake_models
	write workflows/thinker.yaml <<'EOF2'
name: thinker
steps:
  - id: think
    action: ai-prompt
    model: gpt
    prompt: think about it
EOF2
	write workflows/p.yaml <<'EOF2'
name: p
steps:
  - id: first
    action: ai-prompt
    model: gpt
    prompt: hello
  - id: call
    action: workflow
    workflow: thinker
EOF2
	run wf run p
	assert_success
	child=$(jq -c '.usage.gpt | [.input_tokens, .output_tokens, .calls]' "$(rundir p)/sub/call/state.json")
	run sh -c "wf status p --json | jq -c '[.usage.gpt.calls, (.step_usage.call.gpt | [.input_tokens, .output_tokens, .calls])]'"
	assert_output "[2,$child]"
	# A budget the parent has already spent stops the child's model call.
	sed -i '1a budget: {tokens: 1}' workflows/p.yaml
	sed -i 's/  - id: first/  - id: first\n    if: "false"/' workflows/p.yaml
	run wf run p
	assert_failure 4
	assert_output --partial "budget of 1 tokens would be crossed by step 'think'"
	run fake_provider_count
	assert_output 2
}
