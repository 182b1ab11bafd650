#!/usr/bin/env bats
# A parallel step's branches seen everywhere (#18, "Seen everywhere"):
# wf logs separates them (each branch's steps under a STEP/BRANCH
# heading, STEP/BRANCH[/STEP] for one branch), wf graph draws the fork,
# a cluster per branch and the join, and the report's timeline has a
# row per branch whose bar spans the branch's time, so that branches
# that ran side by side overlap (checked in headless Chromium too).
#
# Real runs of parallel workflows with shell branches; the branches that
# must overlap meet on files (each waits for the other's), never on a
# clock.
load helpers

ARTIFACTS="$REPO_ROOT/build/test-artifacts/3430-parallel-views"

# wf logs' text without its times, which differ from run to run.
untimed() {
	sed -E 's/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s$//'
}

# Workflow two.yaml: before, a parallel step fan whose branches a and b
# are in flight together (each waits for the other's file), then after.
# $1: branch b's last command (default: it succeeds).
two_branches() {
	cat > two.yaml <<Y
name: two
steps:
  - id: before
    action: shell
    command: echo before
  - id: fan
    action: parallel
    max-concurrency: 2
    on-failure: wait-all
    branches:
      - name: a
        steps:
          - id: meet
            action: shell
            command: "touch a.here; while [ ! -e b.here ]; do sleep 0.05; done; echo a-met"
          - id: tail
            action: shell
            command: "echo a-tail"
      - name: b
        steps:
          - id: meet
            action: shell
            command: "touch b.here; while [ ! -e a.here ]; do sleep 0.05; done; echo b-met; echo b-err >&2; ${1:-true}"
  - id: after
    action: shell
    command: echo after
Y
}

# A parallel step "fan" whose branch $1 runs the shell command $2 and branch $3 the command $4, each as step "say".
fan_of_two() {
	jq -rn --arg a "$1" --arg ca "$2" --arg b "$3" --arg cb "$4" '"  - id: fan
    action: parallel
    branches:
      - name: \($a)
        steps: [{id: say, action: shell, command: \($ca | tojson)}]
      - name: \($b)
        steps: [{id: say, action: shell, command: \($cb | tojson)}]"'
}

@test "wf logs: each branch's steps under its STEP/BRANCH heading, after the parallel step, in the order of the branches" {
	two_branches
	run wf run two.yaml --yes
	assert_success
	run sh -c 'wf logs two | sed -E "s/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s$//"'
	assert_success
	assert_output '== before (shell) pass 1: ok, exit 0
before
== fan (parallel) pass 1: ok, exit 0
[{"name":"a","status":"ok","exit_code":0,"vars":{},"outputs":{}},{"name":"b","status":"ok","exit_code":0,"vars":{},"outputs":{}}]
== fan/a (branch): ok, exit 0
== fan/a/meet (shell) pass 1: ok, exit 0
a-met
== fan/a/tail (shell) pass 1: ok, exit 0
a-tail
== fan/b (branch): ok, exit 0
== fan/b/meet (shell) pass 1: ok, exit 0
b-met
b-err
== after (shell) pass 1: ok, exit 0
after'
}

@test "wf logs RUN STEP shows the step and all its branches; STEP/BRANCH one branch; STEP/BRANCH/STEP one of its steps; JSON says the branch" {
	two_branches
	wf run two.yaml --yes
	run sh -c 'wf logs two fan | grep "^=="'
	assert_output --regexp '^== fan \(parallel\).*
== fan/a \(branch\).*
== fan/a/meet \(shell\).*
== fan/a/tail \(shell\).*
== fan/b \(branch\).*
== fan/b/meet \(shell\).*$'
	run wf logs two fan/b
	assert_success
	assert_line --index 0 --regexp '^== fan/b \(branch\): ok, exit 0'
	assert_line --index 1 --regexp '^== fan/b/meet \(shell\) pass 1: ok'
	assert_line --index 2 b-met
	refute_output --partial a-met
	refute_output --partial '== fan (parallel)'
	run wf logs two fan/a/tail
	assert_success
	assert_line --index 0 --regexp '^== fan/a \(branch\)'
	assert_line --index 1 --regexp '^== fan/a/tail \(shell\)'
	assert_line --index 2 a-tail
	refute_output --partial a-met
	run wf logs two fan/a/tail --pass 1
	assert_success
	assert_line --index 2 a-tail
	run sh -c 'wf logs two fan/a --json | jq -c "[.type, .branch, .step, .stream, .text]"'
	assert_output '["branch","fan/a",null,null,null]
["step","fan/a","meet",null,null]
["output","fan/a","meet","stdout","a-met\n"]
["step","fan/a","tail",null,null]
["output","fan/a","tail","stdout","a-tail\n"]'
	# Every line of the whole run's JSON is one object.
	run sh -c 'wf logs two --json | jq -e -s "length > 8 and all(type == \"object\")"'
	assert_success
}

@test "wf logs: a STEP/BRANCH that names nothing, or a step with no branches, or a hostile branch name is 66 with one clear message" {
	two_branches
	wf run two.yaml --yes
	run wf logs two fan/x
	assert_failure 66
	assert_output --partial "branch 'fan/x' of run 'two' has not run"
	run wf logs two before/a
	assert_failure 66
	assert_output --partial "step 'before' of run 'two' is a shell step: it has no branches"
	run wf logs two nosuch/a
	assert_failure 66
	assert_output --partial "run 'two' has no step 'nosuch'; its steps: "
	run wf logs two fan/a/nosuch
	assert_failure 66
	assert_output --partial "run 'two' has no step 'fan/a/nosuch'; its steps: meet, tail"
	for bad in fan/ fan/a/ fan/.. 'fan/..' 'fan/a b' ; do
		run wf logs two "$bad"
		assert_failure 66
		assert_output --partial "is not STEP/BRANCH[/STEP]"
	done
	run wf logs two fan/b/meet --pass 2
	assert_failure 66
	assert_output --partial "step 'fan/b/meet' of run 'two' ran 1 pass; there is no pass 2"
}

@test "wf logs: a branch that failed under wait-all says so under its heading, with its exit status and error" {
	two_branches "exit 3"
	run wf run two.yaml --yes
	assert_failure 1
	run sh -c 'wf logs two | sed -E "s/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s$//"'
	assert_success
	assert_line '== fan/a (branch): ok, exit 0'
	assert_line --regexp '^== fan/b \(branch\): failed, exit [1-9]'
	assert_line '== fan/b/meet (shell) pass 1: failed, exit 3'
	assert_line --regexp '^== fan \(parallel\) pass 1: failed'
	refute_line --partial '== after'
	# The branch's lines come after its heading and before the next one.
	run sh -c 'wf logs two | grep -n "" | grep -E "fan/b \(branch\)|^[0-9]+:b-met$|fan/a \(branch\)" | cut -d: -f2-'
	assert_line --index 0 --regexp '^== fan/a \(branch\)'
	assert_line --index 1 --regexp '^== fan/b \(branch\)'
	assert_line --index 2 b-met
}

@test "wf logs: a parallel step run twice by a loop shows its branches once, at its last pass, with that pass's output" {
	{
		printf 'name: again\nvariables:\n  i: ""\nsteps:\n'
		fan_of_two a 'echo a at ${i}' b 'echo b at ${i}'
		cat <<'Y'
  - id: mark
    action: set-variable
    name: i
    value: "${i}x"
  - id: back
    action: loop
    to: fan
    condition: 'i != "xx"'
    max-iterations: 5
Y
	} > again.yaml
	run wf run again.yaml --yes
	assert_success
	run sh -c 'wf logs again | grep -E "^== fan|^[ab] at"'
	assert_output --regexp '^== fan \(parallel\) pass 1: ok.*
== fan \(parallel\) pass 2: ok.*
== fan/a \(branch\): ok.*
== fan/a/say \(shell\) pass 1: ok.*
a at x
== fan/b \(branch\): ok.*
== fan/b/say \(shell\) pass 1: ok.*
b at x$'
	run wf logs again fan --pass 2
	assert_success
	assert_output --partial 'a at x'
}

@test "kill -9 of the runner during a fan-out: logs, graph and report show the branch that ended and the one cut short" {
	{
		printf 'name: cut\nsteps:\n'
		fan_of_two quick 'echo quick-done' slow 'echo slow-begun; touch slow.here; while [ ! -e go ]; do sleep 0.05; done'
		printf '  - id: after\n    action: shell\n    command: echo after\n'
	} > cut.yaml
	wf run cut.yaml --yes > run.out 2>&1 &
	runpid=$!
	wait_until test -e slow.here
	wait_until grep -q '"event":"branch-end","step":"fan","branch":"quick"' "$(rundir cut)/history.jsonl"
	pids=$(jq -r 'select(.event == "branch-start") | .pid' "$(rundir cut)/history.jsonl")
	kill -KILL "$runpid"
	wait "$runpid" || :
	# The branches die with the run; their step's child is let go.
	for p in $pids; do wait_until sh -c "! kill -0 $p 2>/dev/null"; done
	touch go
	run sh -c 'wf logs cut | sed -E "s/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s$//"'
	assert_success
	assert_output '== fan (parallel) pass 1: interrupted
== fan/quick (branch): ok, exit 0
== fan/quick/say (shell) pass 1: ok, exit 0
quick-done
== fan/slow (branch): interrupted
== fan/slow/say (shell) pass 1: interrupted
slow-begun'
	run wf graph cut
	assert_success
	assert_output --partial 'label="quick: ok"'
	assert_output --partial 'label="slow: interrupted"'
	wf graph cut | dot -Tjson > g.json
	run wf report cut -o cut.html
	assert_success
	run grep -c 'class="bar branch' cut.html
	assert_output 2
	run grep -o 'data-branch="fan/slow"[^>]*' cut.html
	assert_success
	run grep -o "<a class=\"br\"[^>]*>fan/slow</a>.*" cut.html
	assert_output --partial 'st-interrupted'
}

@test "wf logs -f over a fan-out: the parallel step as it starts, then its branches when it ends, and it stops with the run" {
	{
		printf 'name: fol\nsteps:\n'
		fan_of_two a 'echo a-said' b 'echo b-waits; touch b.here; while [ ! -e go ]; do sleep 0.05; done; echo b-went'
	} > fol.yaml
	wf run fol.yaml --yes > run.out 2>&1 &
	runpid=$!
	wait_until test -e b.here
	wf logs -f fol > follow.out &
	logpid=$!
	wait_until grep -q '^== fan (parallel) pass 1: running' follow.out
	touch go
	wait "$runpid"
	wait "$logpid"
	run sed -E 's/, started [0-9-]+ [0-9:]+//; s/, [0-9]+\.[0-9]s$//' follow.out
	assert_line --index 0 '== fan (parallel) pass 1: running'
	assert_line '== fan: ok, exit 0'
	assert_line '== fan/a (branch): ok, exit 0'
	assert_line 'b-went'
	run grep -c '^== fan/b (branch)' follow.out
	assert_output 1
}

@test "wf graph: a parallel step is a fork node, a cluster per branch holding its steps, and a join node before the next step" {
	two_branches
	wf graph two.yaml > g.dot
	run dot -Tjson g.dot
	assert_success
	echo "$output" > g.json
	# The clusters: fan's, holding a's and b's, each with its own steps.
	run jq -r '.objects[] | select(.name | startswith("cluster")) | "\(.name) \(.label) \([.nodes[]?] | length)"' g.json
	assert_line --regexp '^cluster_1 fan: parallel [0-9]+$'
	assert_line 'cluster_2 a 2'
	assert_line 'cluster_3 b 1'
	# The edges, by node name: in through the fork, out through the join.
	run sh -c "jq -r '. as \$g | .edges[] | \"\\(\$g.objects[.tail].name) -> \\(\$g.objects[.head].name)\"' g.json | LC_ALL=C sort"
	assert_output 'c1_fork -> c2_0
c1_fork -> c3_0
c1_join -> n2
c2_0 -> c2_1
c2_1 -> c1_join
c3_0 -> c1_join
n0 -> c1_fork
n2 -> n_end
n_start -> n0'
	run jq -r '.objects[] | select(.name == "c1_fork" or .name == "c1_join") | "\(.name) \(.shape) \(.label)"' g.json
	assert_line 'c1_fork invtrapezium fan\nparallel'
	assert_line 'c1_join trapezium join\nwait-all'
	run jq -r '.objects[] | select(.name == "c2_1") | .id' g.json
	assert_output 'step-fan/a/tail'
	# Mermaid: the same structure, as subgraphs.
	run wf graph two.yaml --format mermaid
	assert_success
	assert_line '    subgraph c1 ["fan: parallel"]'
	assert_line '      c1_fork[/"fan<br/>parallel"\]'
	assert_line '      subgraph c2 ["a"]'
	assert_line '      c1_join[\"join<br/>wait-all"/]'
	assert_line '    c1_fork --> c3_0'
	assert_line '    c1_join --> n2'
}

@test "wf graph: for-each is one cluster for its body, labelled with its list, escaped; a workflow branch draws the workflow it calls" {
	cat > sub.yaml <<'Y'
name: checker
steps:
  - {id: check, action: shell, command: "echo checked"}
Y
	cat > each.yaml <<'Y'
name: each
variables:
  files: '["x", "y"]'
steps:
  - id: per-file
    action: parallel
    for-each: '${files} "quoted" <b>|`'
    as: file
    steps:
      - {id: look, action: shell, command: "echo ${file}"}
  - id: both
    action: parallel
    branches:
      - name: own
        steps: [{id: one, action: shell, command: "echo one"}]
      - name: called
        workflow: sub.yaml
Y
	run wf graph each.yaml
	assert_success
	assert_output --partial 'label="for each ${files} \"quoted\" <b>|` as file";'
	dot -Tsvg <<<"$output" > each.svg
	run jq -r '.objects[] | select(.name | startswith("cluster")) | .label' < <(wf graph each.yaml | dot -Tjson)
	assert_line 'per-file: parallel'
	assert_line 'for each ${files} "quoted" <b>|` as file'
	assert_line 'both: parallel'
	assert_line 'own'
	assert_line 'called'
	assert_line 'checker'
	run wf graph each.yaml --format mermaid
	assert_success
	assert_output --partial 'for each ${files} #34;quoted#34; #60;b#62;#124;#96; as file'
	refute_output --partial '"quoted"'
	# The same workflow run: the for-each ran two branches, each called workflow ran.
	run wf run each.yaml --yes
	assert_success
	run wf graph each
	assert_success
	assert_output --partial 'label="own: ok"'
	assert_output --partial 'label="called: ok"'
	assert_output --regexp 'id="step-both/called/called/check", label="check\\nshell\\nok x1"'
	# The branch's one step, the call, is drawn as the called run went.
	assert_output --regexp 'id="step-both/called/called", label="called\\nworkflow: sub.yaml\\nok x1"'
}

@test "wf graph of a run: each branch's cluster says how its run went, coloured; the steps of a failed branch are marked" {
	two_branches "exit 3"
	run wf run two.yaml --yes
	assert_failure 1
	run wf graph two
	assert_success
	assert_output --partial 'label="a: ok";'
	assert_output --partial 'label="b: failed";'
	assert_output --regexp 'label="b: failed";
      style="rounded,dashed";
      color="#c62828";'
	assert_output --regexp 'id="step-fan/b/meet", label="meet\\nshell\\nFAILED x1"'
	run wf graph two --format mermaid
	assert_success
	assert_output --regexp 'classDef failed .*'
}

# Open page $1 in headless Chromium, keeping what it saw in $ARTIFACTS/$2; its JSON in $output.
chromium_view() {
	[ -x /usr/bin/chromium ] || skip "Chromium is not installed (/usr/bin/chromium; 'make deps' installs it)"
	rm -rf "${ARTIFACTS:?}/$2"
	mkdir -p "$ARTIFACTS/$2"
	cp "$1" "$ARTIFACTS/$2/page.html"
	run python3 "$REPO_ROOT/tests/fakes/cdp.py" "$ARTIFACTS/$2/page.html" "$ARTIFACTS/$2"
	assert_success
}

@test "wf report: a row per branch under the parallel step, bars spanning each branch's time, overlapping; Chromium shows them side by side" {
	two_branches
	run wf run two.yaml --yes
	assert_success
	PATH="$WF_BIN" run wf report two -o page.html
	assert_success
	run grep -c '<a class="br"' page.html
	assert_output 2
	# The branch-start and branch-end events are the rows, not lines of their own.
	refute_output --partial '<b>branch-start</b>'
	# Each bar's place and length on the step's axis: a's and b's overlap (each waited for the other).
	grep -o 'data-branch="fan/[ab]" style="margin-left:[0-9.]*%;width:[0-9.]*%' page.html |
		sed -E 's/.*fan\/([ab])" style="margin-left:([0-9.]*)%;width:([0-9.]*)%/\1 \2 \3/' > bars.txt
	run awk '{ s[$1] = $2; e[$1] = $2 + $3 } END { ok = s["a"] < e["b"] && s["b"] < e["a"] && e["a"] <= 100.01 && e["b"] <= 100.01; print ok ? "overlap" : "apart" }' bars.txt
	assert_output overlap
	run grep -o 'class="seg"[^>]*title="meet ok [^"]*"' page.html
	assert_equal "${#lines[@]}" 2
	chromium_view page.html two
	jq -e '.errors == [] and .requests == []' <<<"$output"
	for w in phone desktop; do
		# Two bars, each of some width, within the window, and overlapping in x.
		jq -e --arg w "$w" '.[$w] as $v | ($v.bars | length) == 2 and all($v.bars[]; .width > 0 and .x >= 0 and .x + .width <= $v.width + 0.5)' <<<"$output"
		jq -e --arg w "$w" '.[$w].bars as [$a, $b] | $a.x < $b.x + $b.width and $b.x < $a.x + $a.width and $a.y != $b.y' <<<"$output"
		jq -e --arg w "$w" '.[$w] | .scroll_width <= .width' <<<"$output"
	done
}

@test "completion: wf logs offers a run's steps and then the STEP/BRANCH of each branch it started" {
	two_branches
	wf run two.yaml --yes
	complete_words() {
		bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
			if [[ $1 == wf ]]; then _wf_words; else _wf_tool_words; fi
			printf "%s\n" "${COMPREPLY[@]}"' _ "$REPO_ROOT/completions/wf.bash" "$@"
	}
	run complete_words wf logs two ''
	assert_line before
	assert_line fan
	assert_line after
	assert_line fan/a
	assert_line fan/b
	run complete_words wf-state logs two fan/
	assert_output 'fan/a
fan/b'
}
