#!/usr/bin/env bats
# wf graph (wf-view graph): a workflow as a graph in DOT or Mermaid, with
# the path a run took over it (wf-view(1), "Graph").
load helpers

need_dot() {
	command -v dot >/dev/null || skip "Graphviz's dot is not installed ('make deps' installs it)"
}

# "STEP COUNT" for each step the DOT on stdin shows a pass count for, sorted.
dot_passes() {
	sed -n 's/.*id="step-\([^"]*\)", label="[^"]* x\([0-9][0-9]*\)".*/\1 \2/p' | sort
}

# "STEP COUNT" for each step of run $1's journal with step-end events, sorted.
journal_passes() {
	jq -r 'select(.event=="step-end") | .step' "$(rundir "$1")/history.jsonl" | sort | uniq -c |
		awk '{print $2, $1}' | sort
}

# workflows/child.yaml: one shell step, look.
child_yaml() {
	write workflows/child.yaml <<'EOF2'
name: child
steps:
  - id: look
    action: shell
    command: echo look
EOF2
}

@test "dot accepts the graph of every shipped workflow, and Mermaid draws each" {
	need_dot
	local n=0 f
	for f in "$REPO_ROOT"/workflows/*.yaml "$REPO_ROOT"/workflows/*/*.yaml "$REPO_ROOT"/examples/*.yaml \
		"$REPO_ROOT"/examples/*/*.yaml; do
		# Workflow files only: the model maps beside them are no workflows.
		[ -f "$f" ] && grep -q '^steps:' "$f" || continue
		run wf graph "$f"
		[ "$status" -eq 0 ] || { echo "wf graph $f: $output" >&2; return 1; }
		printf '%s\n' "$output" > g.dot
		run dot -Tsvg -o g.svg g.dot
		[ "$status" -eq 0 ] || { echo "dot refused the graph of $f: $output" >&2; return 1; }
		grep -q '<svg' g.svg
		run wf graph --format mermaid "$f"
		[ "$status" -eq 0 ] && [[ "${lines[0]}" == "flowchart TD" ]] || { echo "mermaid of $f: $output" >&2; return 1; }
		n=$((n + 1))
	done
	# The glob found the examples and the templates both.
	[ "$n" -ge 10 ]
}

@test "the Mermaid of the seed's pr-review-loop is the checked-in one, byte for byte" {
	run wf graph --format mermaid "$EXAMPLES/pr-review-loop.yaml"
	assert_success
	wf graph --format mermaid "$EXAMPLES/pr-review-loop.yaml" > got.mmd
	diff -u "$REPO_ROOT/tests/expected/pr-review-loop.mmd" got.mmd
	# Every jump key drawn and labelled: the verdicts and the loop's to with its cap.
	assert_output --partial 'n6 -->|"on-approved"| n10'
	assert_output --partial 'n6 -->|"on-rejected"| n7'
	assert_output --partial 'n9 -->|"to (max 5)"| n1'
	assert_output --partial 'n1("s2<br/>switch-model<br/>model: glm")'
}

@test "a run whose loop went round 3 times: the overlay's counts are the journal's" {
	need_dot
	cp "$EXAMPLES/test-loop-shell.yaml" loop.yaml
	run wf run loop.yaml
	assert_success
	run wf graph --run test-loop-shell
	assert_success
	printf '%s\n' "$output" > g.dot
	dot -Tsvg -o g.svg g.dot
	[ "$(dot_passes < g.dot)" = "$(journal_passes test-loop-shell)" ]
	[ "$(dot_passes < g.dot | grep -c ' 3$')" -eq 4 ]
	# The loop's edge back, taken twice, thicker and counted; the way out once.
	assert_output --partial 'n3 -> n0 [label="to (max 5) x2", color="#2e7d32", fontcolor="#2e7d32", penwidth=3]'
	assert_output --partial 'n3 -> n_end [label="x1"'
	assert_output --partial 'graph [label="test-loop-shell: run test-loop-shell, completed"'
}

@test "a failed run: the failed step marked in words, the steps after it dimmed, counts as journaled" {
	write workflows/fails.yaml <<'EOF2'
name: fails
steps:
  - id: a
    action: shell
    command: echo a
  - id: b
    action: shell
    command: exit 3
  - id: c
    action: shell
    command: echo c
EOF2
	run wf run fails
	assert_failure 1
	run wf graph fails --run
	assert_success
	printf '%s\n' "$output" > g.dot
	[ "$(dot_passes < g.dot)" = "$(journal_passes fails)" ]
	assert_output --partial 'id="step-b", label="b\nshell\nFAILED x1", shape=box, style="rounded,filled", fillcolor="#f8d0d0", color="#c62828"'
	assert_output --partial 'id="step-c", label="c\nshell", shape=box, style="rounded,filled", fillcolor="#f5f5f5"'
	run wf graph fails --run --format mermaid
	assert_success
	assert_output --partial 'n1("b<br/>shell<br/>FAILED x1")'
	assert_output --partial 'class n1 failed'
	assert_output --partial 'class n2,n_end dim'
}

@test "a run waiting for an answer: the current step says so; resumed, it is counted" {
	write workflows/asks.yaml <<'EOF2'
name: asks
steps:
  - id: a
    action: shell
    command: echo a
  - id: q
    action: interactive
    message: Go on?
  - id: c
    action: shell
    command: echo c
EOF2
	run wf run asks < /dev/null
	assert_failure 3
	run wf graph asks
	assert_success
	# A name of both a workflow and a run is the workflow: no overlay.
	refute_output --partial 'here'
	run wf graph asks --run
	assert_success
	assert_output --partial 'id="step-q", label="q\ninteractive\nwaiting here", shape=box, style="rounded,filled", fillcolor="#fff3c4", color="#e65100"'
	printf '%s\n' "$output" > g.dot
	[ "$(dot_passes < g.dot)" = "$(journal_passes asks)" ]
	run wf resume asks --answer yes
	assert_success
	run wf graph asks --run
	assert_success
	refute_output --partial 'here'
	printf '%s\n' "$output" > g.dot
	[ "$(dot_passes < g.dot)" = "$(journal_passes asks)" ]
	[ "$(dot_passes < g.dot)" = $'a 1\nc 1\nq 1' ]
}

@test "a sub-workflow is a cluster, with its sub-run's path; one that cannot be found is a node saying so" {
	need_dot
	child_yaml
	write workflows/parent.yaml <<'EOF2'
name: parent
steps:
  - id: first
    action: shell
    command: test -f go
  - id: call
    action: workflow
    workflow: child
  - id: after
    action: shell
    command: echo after
EOF2
	run wf graph parent
	assert_success
	assert_output --partial 'subgraph cluster_1 {'
	assert_output --partial 'c1_call [id="step-call", label="call\nworkflow: child"'
	assert_output --partial 'c1_0 [id="step-call/look", label="look\nshell"'
	printf '%s\n' "$output" | dot -Tsvg > g.svg
	run wf graph parent --format mermaid
	assert_success
	assert_output --partial 'subgraph c1 ["child"]'
	# A run that stopped before the call, its child gone since: drawn as one node, not a failure.
	run wf run parent
	assert_failure 1
	rm workflows/child.yaml
	run wf graph --run parent
	assert_success
	refute_output --partial 'subgraph'
	assert_output --partial 'label="call\nworkflow: child\nnot drawn: '
	printf '%s\n' "$output" | dot -Tsvg > g.svg
	# With the child back and the run finished, the sub-run's path is drawn inside.
	child_yaml
	touch go
	run wf resume parent
	assert_success
	run wf graph --run parent
	assert_success
	assert_output --partial 'c1_0 [id="step-call/look", label="look\nshell\nok x1"'
	[ "$(printf '%s\n' "$output" | dot_passes | grep -v /)" = "$(journal_passes parent)" ]
}

@test "hostile text in descriptions, models and conditions never breaks DOT or Mermaid" {
	need_dot
	write workflows/evil.yaml <<'EOF2'
name: evil
description: "quote \" backslash \\ brace { } arrow --> html <b>x</b> & #35; | `tick` \\n"
model: "m\"1\\ {x} --> <i>"
steps:
  - id: a.b_c-d
    action: ai-prompt
    prompt: hi
    description: "x\"]; evil [label=\"pwned\"]; \\"
  - id: two
    action: ai-prompt
    prompt: hi
    model: "a\"b\\c{d}-->e<script>alert(1)</script>"
  - id: cond
    action: conditional
    condition: "vars.x == \"}\\\"\""
    on-true: a.b_c-d
EOF2
	run wf graph evil
	assert_success
	printf '%s\n' "$output" > g.dot
	run dot -Tsvg -o g.svg g.dot
	assert_success
	# The description's attempt at a node of its own stayed text.
	! grep -q '<title>evil</title>' g.svg
	# One node statement per step, each on its line, the ids never changed.
	[ "$(grep -c '^  n[0-9]* \[id=' g.dot)" -eq 3 ]
	grep -q 'id="step-a.b_c-d"' g.dot
	run wf graph evil --format mermaid
	assert_success
	printf '%s\n' "$output" > g.mmd
	# No raw quote, angle bracket or pipe inside a Mermaid label: each is an entity code.
	run sed -n 's/^    n[0-9]*[({[]*"\(.*\)"[]})]*$/\1/p' g.mmd
	[ "${#lines[@]}" -eq 3 ]
	refute_output --partial '"'
	refute_output --partial '<script'
	run grep -c '#34;' g.mmd
	[ "$output" -ge 1 ]
	grep -q 'model: a#34;b\\c{d}--#62;e#60;script#62;' g.mmd
}

@test "errors: unknown name 66 with the fix, a bad workflow 65 at its line, a bad --format 2" {
	run wf graph nosuch
	assert_failure 66
	assert_output --partial "no workflow or run named 'nosuch'"
	assert_output --partial "see 'wf list' and 'wf runs'"
	run wf graph --run nosuch
	assert_failure 66
	run wf graph 42
	assert_failure 66
	run wf graph missing.yaml
	assert_failure 66
	write bad.yaml <<'EOF2'
name: bad
steps:
  - id: a
    action: shell
    command: echo
    on-true: nowhere
EOF2
	run wf graph bad.yaml
	assert_failure 65
	assert_output --regexp 'bad\.yaml:[0-9]+:[0-9]+: .*nowhere'
	run wf graph "$EXAMPLES/test-linear.yaml" --format svg
	assert_failure 2
	assert_output --partial "--format takes dot or mermaid, not 'svg'"
	assert_output --partial "usage: wf graph"
	run wf graph
	assert_failure 2
	run wf-view graph a b
	assert_failure 2
	assert_output --partial "usage: wf-view graph"
	run wf graph '../x'
	assert_failure 66
	# Nothing was drawn on stdout for any of these.
	run sh -c 'wf graph nosuch 2>/dev/null'
	assert_output ''
}

@test "a run by its number, current or past, and a run's own workflow.json rather than today's file" {
	cp "$EXAMPLES/test-linear.yaml" lin.yaml
	run wf run lin.yaml
	assert_success
	run wf run lin.yaml
	assert_success
	run wf runs
	assert_success
	run wf graph 1
	assert_success
	assert_output --partial 'ok x1'
	run wf graph 2
	assert_success
	assert_output --partial 'ok x1'
	# The file changes after the run: the run is drawn as it ran.
	sed -i 's/^  - id: \(.*\)/  - id: renamed_\1/; s/^name: .*/&/' lin.yaml
	run wf graph 2
	assert_success
	refute_output --partial 'renamed_'
	run wf graph lin.yaml
	assert_success
	assert_output --partial 'renamed_'
	# A workflow written as JSON is a file too.
	printf '{"name": "j", "steps": [{"id": "a", "action": "shell", "command": "echo"}]}\n' > lin.json
	run wf graph lin.json --format mermaid
	assert_success
	[[ "${lines[0]}" == "flowchart TD" ]]
}

@test "completion: wf graph and wf-view graph offer workflows and runs, --format its two formats" {
	cp "$EXAMPLES/test-linear.yaml" workflows-linear.yaml
	mkdir -p .wf/workflows
	cp "$EXAMPLES/test-linear.yaml" .wf/workflows/linear.yaml
	run wf run linear
	assert_success
	source "$REPO_ROOT/completions/wf.bash"
	local words
	for words in "wf graph" "wf-view graph"; do
		COMP_WORDS=($words --format '') COMP_CWORD=3 COMPREPLY=()
		[[ $words == wf\ * ]] && _wf || _wf_cmd
		[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "dot mermaid " ]
		COMP_WORDS=($words --) COMP_CWORD=2 COMPREPLY=()
		[[ $words == wf\ * ]] && _wf || _wf_cmd
		[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "--format --help --run " ]
		COMP_WORDS=($words '') COMP_CWORD=2 COMPREPLY=()
		[[ $words == wf\ * ]] && _wf || _wf_cmd
		printf '%s\n' "${COMPREPLY[@]}" | grep -qx test-linear
		printf '%s\n' "${COMPREPLY[@]}" | grep -qx workflows-linear.yaml
		COMP_WORDS=($words --run '') COMP_CWORD=3 COMPREPLY=()
		[[ $words == wf\ * ]] && _wf || _wf_cmd
		[ "$(printf '%s\n' "${COMPREPLY[@]}" | tr '\n' ' ')" = "test-linear " ]
	done
}

@test "wf graph - draws wf-parse's output, after jq too, as it draws the file; JSON that is no workflow is 65" {
	wf graph "$REPO_ROOT/workflows/examples/pr-review-loop.yaml" --format mermaid > from-file.mmd
	wf-parse "$REPO_ROOT/workflows/examples/pr-review-loop.yaml" | wf graph - --format mermaid > from-stdin.mmd
	cmp from-file.mmd from-stdin.mmd
	# The last step dropped by jq: its node is gone, and dot takes the rest.
	need_dot
	wf-parse "$REPO_ROOT/workflows/examples/pr-review-loop.yaml" |
		jq '.steps |= map(select(.id != "s13")) | .steps[-1].next = null' | wf graph - | dot -Tsvg > /dev/null
	run sh -c 'wf-parse "$1" | jq ".steps |= map(select(.id != \"s13\")) | .steps[-1].next = null" | wf graph -' sh \
		"$REPO_ROOT/workflows/examples/pr-review-loop.yaml"
	assert_success
	refute_output --partial '"s13'
	run sh -c 'echo "{\"x\":1}" | wf graph -'
	assert_failure 65
	assert_output --partial "not a canonical workflow"
	run sh -c 'echo "not json" | wf graph -'
	assert_failure 65
	assert_output --partial "standard input"
}
