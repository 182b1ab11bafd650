#!/usr/bin/env bats
# wf logs --timeline: the path a run took, one line per step execution and
# per event that changed it, each with why the run went on where it did;
# --json, a past run by number, a waiting run, a running one (-f), a run
# killed with -9, hostile text, and the usage errors.
load helpers
load fake-forge
load fake-provider

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

# The timeline of run $1 without its times, which differ from run to run.
untimed() {
	wf logs "$@" --timeline | sed -E 's/[0-9]+\.[0-9]s/T/'
}

# A run t through a conditional, a loop that goes round 3 times and is
# exhausted, an if: that skips, a failed step with on-error, and a question
# (left waiting: the run exits 3).
paths_run() {
	write t.yaml <<'Y'
name: t
variables:
  mode: fast
steps:
  - id: choose
    action: conditional
    condition: 'mode == "fast"'
    on-true: body
  - id: never
    action: shell
    command: echo never
  - id: body
    action: shell
    command: echo body
  - id: again
    action: loop
    to: body
    condition: 'true'
    max-iterations: 3
    on-exhausted: continue
  - id: slow-only
    action: shell
    if: 'mode == "slow"'
    command: echo slow
  - id: breaks
    action: shell
    command: 'echo broke >&2; exit 3'
    on-error: mend
  - id: unused
    action: shell
    command: echo unused
  - id: mend
    action: shell
    command: echo mended
  - id: ship
    action: interactive
    message: Ship it?
Y
	run wf run t.yaml --quiet
	assert_failure 3
}

@test "every line says why: the condition and its value, the loop's iteration of its max and exhausted, the if: skip, on-error and its error, the answer" {
	paths_run
	wf resume t --answer yes --quiet
	run untimed t
	assert_success
	assert_line --index 0 "run t (#1), workflow t: completed"
	assert_line --index 1 --regexp '^SEQ +STEP +PASS +STATUS +TIME +MODEL +WHAT HAPPENED$'
	assert_line --regexp '^ +[0-9]+  choose +#1 +ok +T +'"'"'mode == "fast"'"'"' is true -> body$'
	assert_line --regexp '^ +[0-9]+  again +#1 +ok +T +loop '"'"'true'"'"' is true, iteration 1 of 3 -> body$'
	assert_line --regexp '^ +[0-9]+  again +#2 +ok +T +loop '"'"'true'"'"' is true, iteration 2 of 3 -> body$'
	assert_line --regexp '^ +[0-9]+  again +#3 +ok +T +loop '"'"'true'"'"' is true, pass 3 of 3, exhausted -> slow-only$'
	assert_line --regexp '^ +[0-9]+  body +#3 +ok +T +-> again$'
	assert_line --regexp '^ +[0-9]+  slow-only +#1 +skipped +T +if '"'"'mode == "slow"'"'"' is false -> breaks$'
	assert_line --regexp '^ +[0-9]+  breaks +#1 +failed +T +error: '"'"'exited with status 3'"'"', on-error -> mend$'
	assert_line --regexp '^ +[0-9]+  ship +pause +waiting: waiting for an answer, asks: '"'"'Ship it\?'"'"'$'
	assert_line --regexp '^ +[0-9]+ +resume +from waiting$'
	assert_line --regexp '^ +[0-9]+  ship +answer +answered '"'"'true'"'"' by --answer$'
	assert_line --regexp '^ +[0-9]+  ship +#1 +ok +T +answered '"'"'true'"'"' by --answer -> end$'
	assert_line --regexp '^ +[0-9]+ +run-end +completed$'
	# Steps the run jumped over have no line.
	refute_output --partial never
	refute_output --partial unused
	# In the order they ran: the lines' sequence numbers only go up.
	run sh -c "wf logs t --timeline | awk 'NR > 2 { print \$1 }' | sort -nc"
	assert_success
}

@test "--json: one story entry a line, every line JSON, one step entry per step-end of the journal" {
	paths_run
	wf resume t --answer yes --quiet
	run sh -c 'wf logs t --timeline --json | while IFS= read -r l; do printf "%s\n" "$l" | jq -e "type == \"object\"" >/dev/null || echo "bad: $l"; done'
	assert_success
	assert_output ""
	steps=$(wf logs t --timeline --json | jq -s 'map(select(.event == "step")) | length')
	ends=$(wf-state history t | jq -s 'map(select(.event == "step-end")) | length')
	[ "$steps" -gt 8 ]
	assert_equal "$steps" "$ends"
	run sh -c "wf logs t --timeline --json | jq -c 'select(.step == \"again\" and .pass == 3) | [.condition, .value, .max_iterations, .exhausted, .next]'"
	assert_output '["true",true,3,true,"slow-only"]'
	run sh -c "wf logs t --timeline --json | jq -c 'select(.step == \"slow-only\") | [.status, .condition, .value]'"
	assert_output '["skipped","mode == \"slow\"",false]'
	run sh -c "wf logs t --timeline --json | jq -c 'select(.step == \"breaks\") | [.status, .jump]'"
	assert_output '["failed",{"to":"mend","because":"on-error"}]'
}

@test "a waiting run: its question stands open, and the timeline ends at the pause" {
	paths_run
	run untimed t
	assert_success
	assert_line --index 0 "run t (#1), workflow t: waiting"
	assert_line --regexp '^ +[0-9]+  ship +#1 +waiting +-> ship$|^ +[0-9]+  ship +#1 +waiting$'
	assert_line --regexp 'pause +waiting: waiting for an answer, asks: '"'"'Ship it\?'"'"'$'
	refute_output --partial run-end
}

@test "a past run by its number" {
	write p.yaml <<'Y'
name: p
steps:
  - id: pick
    action: conditional
    condition: 'n == "2"'
    on-true: two
    on-false: other
  - id: other
    action: shell
    command: echo other
  - id: two
    action: shell
    command: echo two
Y
	for n in 1 2 3; do wf run p.yaml --var n=$n --quiet >/dev/null; done
	run untimed 2
	assert_success
	assert_line --index 0 "run p (#2), workflow p: completed"
	assert_line --regexp "^ +[0-9]+  pick +#1 +ok +T +'n == \"2\"' is true -> two$"
	run untimed 1
	assert_line --regexp "^ +[0-9]+  pick +#1 +ok +T +'n == \"2\"' is false -> other$"
	run wf logs 9 --timeline
	assert_failure 66
}

@test "a consent refused by a person: the no, the pause it left, and no step run; an auto-approved consent is no line" {
	rm "$XDG_CONFIG_HOME/wf/config.yaml"
	write c.yaml <<'Y'
name: c
steps:
  - id: wipe
    action: shell
    command: echo wiping
Y
	run wf run c.yaml --quiet
	assert_failure 3
	# Not one step has run yet.
	run untimed c
	assert_success
	assert_line --index 0 "run c (#1), workflow c: waiting"
	assert_line --regexp "^ +[0-9]+  wipe +pause +waiting: consent, asks consent: 'echo wiping'$"
	run sh -c "wf logs c --timeline --json | jq -s 'map(select(.event == \"step\")) | length'"
	assert_output 0
	run wf resume c --answer no --quiet
	assert_failure 77
	run untimed c
	assert_line --regexp "^ +[0-9]+  wipe +consent +no to 'echo wiping' by --answer$"
	assert_line --regexp "^ +[0-9]+  wipe +pause +declined: declined, asks consent: 'echo wiping'$"
	refute_output --regexp 'wipe +#1'
	# Approved by a pattern of the configuration: nobody decided, nothing to show.
	printf 'auto-approve:\n  - "echo *"\n' > "$XDG_CONFIG_HOME/wf/config.yaml"
	wf run c.yaml --restart --quiet
	run untimed c
	refute_output --partial consent
	assert_line --regexp '^ +[0-9]+  wipe +#1 +ok +T +-> end$'
}

@test "hostile text: control characters and escape sequences in conditions, answers and errors are escaped, never sent raw" {
	write h.yaml <<'Y'
name: h
variables:
  x: ""
steps:
  - id: odd
    action: shell
    if: "x == \"\e]0;owned\a\e[2J\""
    command: echo no
  - id: noisy
    action: shell
    command: "printf '\\033[2J\\033]0;title\\007\\r' ; printf '\\033[31m' >&2; exit 4"
    on-error: ask
  - id: ask
    action: interactive
    kind: text
    message: "Say \e[5mit\e[0m"
Y
	run wf run h.yaml --quiet
	assert_failure 3
	run wf resume h --answer "$(printf 'ok\033[2J\007\nnext')" --quiet
	assert_success
	wf logs h --timeline > tl.txt
	# No escape, bell, carriage return or other control byte but the newline.
	run sh -c "tr -d '\n' < tl.txt | LC_ALL=C grep -c '[[:cntrl:]]'"
	assert_output 0
	run cat tl.txt
	assert_line --regexp "if 'x == \"\\\\e\]0;owned\\\\x07\\\\e\[2J\"' is false -> noisy$"
	assert_line --regexp "asks: 'Say \\\\e\[5mit\\\\e\[0m'$"
	assert_line --regexp "answered 'ok\\\\e\[2J\\\\x07\\\\nnext' by --answer -> end$"
	# The output of a step is not in the timeline at all.
	refute_output --partial title
}

# Start run f in the background: its step "first" waits until the test
# writes to the pipe "go"; returns once the step has started.
start_waiting_run() {
	mkfifo go
	write f.yaml <<'Y'
name: f
steps:
  - id: first
    action: shell
    command: 'read x < go; echo after'
  - id: second
    action: shell
    command: echo second
Y
	wf run f.yaml --quiet > run.out 2>&1 </dev/null &
	runpid=$!
	wait_until sh -c "wf-state history f 2>/dev/null | grep -q '\"step-pgid\"'"
}

@test "a running run: its step in flight is running; -f follows it until it ends" {
	start_waiting_run
	run untimed f
	assert_success
	assert_line --index 0 "run f (#1), workflow f: running"
	assert_line --regexp '^ +[0-9]+  first +#1 +running$'
	wf logs f --timeline -f > follow.out 2>&1 &
	follower=$!
	# The heading is out and the step in flight held back until it ends.
	wait_until grep -q '^SEQ' follow.out
	run grep -c first follow.out
	assert_output 0
	echo go > go
	wait "$runpid"
	wait "$follower"
	run sed -E 's/[0-9]+\.[0-9]s/T/' follow.out
	assert_line --index 0 "run f (#1), workflow f: running"
	assert_line --regexp '^ +[0-9]+  first +#1 +ok +T +-> second$'
	assert_line --regexp '^ +[0-9]+  second +#1 +ok +T +-> end$'
	assert_line --regexp '^ +[0-9]+ +run-end +completed$'
	# Each entry once.
	run grep -c 'first' follow.out
	assert_output 1
}

@test "a run killed with -9 mid-step: the step is in doubt, and -f on it ends at once" {
	start_waiting_run
	kill -9 "$runpid"
	wait "$runpid" || true
	run untimed f
	assert_success
	assert_line --regexp '^ +[0-9]+  first +#1 +(in-doubt|running)$'
	run timeout 20 wf logs f --timeline -f
	assert_success
	assert_line --regexp '^ +[0-9]+  first +#1'
	# The reader changed nothing.
	run wf-state fsck f
	assert_success
	# Let the orphaned step end if it is still there, without blocking when it is not.
	sh -c 'exec 7<>go; echo go >&7'
}

@test "a review step's verdict: rejected goes to on-rejected, approved to on-approved, each with its model" {
	forge_repo
	fake_forge_start
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	fake_provider_start - <<'J'
[{"match": {"prompt_contains": "Write a title and a description"},
  "text": "{\"title\": \"Add farewell\", \"body\": \"Adds farewell().\"}"},
 {"match": {"prompt_contains": "Review the pull request below", "model": "glm-test"},
  "text": "{\"approved\": false, \"summary\": \"Say goodbye.\", \"comments\": []}"},
 {"match": {"prompt_contains": "Review the pull request below", "model": "gpt-test"},
  "text": "{\"approved\": true, \"summary\": \"Good.\", \"comments\": []}"}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	sed -i 's/^models:$/models:\n  glm: {provider: fake-openai, model: glm-test}/' "$WF_MODELS"
	write rv.yaml <<'Y'
name: rv
steps:
  - id: open
    action: create-pr
  - id: first
    action: review-pr
    model: glm
    on-approved: done
    on-rejected: second
  - id: unused
    action: shell
    command: echo unused
  - id: second
    action: review-pr
    model: gpt
    on-approved: done
    on-rejected: unused
  - id: done
    action: shell
    command: echo done
Y
	run wf run rv.yaml --yes --quiet
	assert_success
	run untimed rv
	assert_success
	assert_line --regexp '^ +[0-9]+  first +#1 +ok +T +glm +verdict: rejected -> second$'
	assert_line --regexp '^ +[0-9]+  second +#1 +ok +T +gpt +verdict: approved -> done$'
	refute_output --partial unused
	run sh -c "wf logs rv --timeline --json | jq -c 'select(.event == \"step\" and .verdict) | [.step, .model, .verdict, .jump]'"
	assert_output '["first","glm","rejected",{"verdict":false,"to":"second"}]
["second","gpt","approved",{"verdict":true,"to":"done"}]'
}

@test "usage: --timeline takes no STEP or --pass, belongs to logs; no such run is 66; completion offers it" {
	paths_run
	run wf logs t choose --timeline
	assert_failure 2
	assert_output --partial "--timeline shows the whole run: it takes no STEP or --pass"
	run wf-state logs t --pass 2 --timeline
	assert_failure 2
	run wf-state status t --timeline
	assert_failure 2
	assert_output --partial "--timeline belongs to 'logs'"
	run wf logs nosuch --timeline
	assert_failure 66
	run wf-state logs --help
	assert_output --partial "--timeline"
	complete_words() {
		bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
			if [[ $1 == wf ]]; then _wf_words; else _wf_tool_words; fi
			printf "%s\n" "${COMPREPLY[@]}"' _ "$REPO_ROOT/completions/wf.bash" "$@"
	}
	run complete_words wf logs --tim
	assert_output --timeline
	run complete_words wf-state logs t --tim
	assert_output --timeline
	# The steps of the run, but none after --timeline.
	run complete_words wf logs t ''
	assert_line choose
	run complete_words wf logs --timeline t ''
	assert_output ""
}
