#!/usr/bin/env bats
# wf-parse validation: every problem is reported at once, in file order, as
# "wf-parse: FILE:LINE:COL: message", and the exit status is 65.
load helpers

# bad: parse wf.yaml (written from stdin), expect exit 65 and exactly $1 on stderr.
bad() {
	cat >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "$1"
}

@test "F01: an empty or blank file" {
	: >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:1:1: empty workflow: expected a mapping with 'name' and 'steps'"
	printf '  \n\n# only a comment\n' >wf.yaml
	run wf-parse wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:1:1: empty workflow: expected a mapping with 'name' and 'steps'"
}

@test "F03: the top level is a list, or a scalar" {
	bad "wf-parse: wf.yaml:1:1: expected a mapping with 'name' and 'steps' at the top, got a list" <<'Y'
- id: s1
  action: shell
Y
	bad "wf-parse: wf.yaml:1:1: expected a mapping with 'name' and 'steps' at the top, got text" <<'Y'
just some words
Y
}

@test "missing name and missing steps are both reported" {
	bad "wf-parse: wf.yaml:1:1: missing required key 'name'
wf-parse: wf.yaml:1:1: missing required key 'steps'" <<'Y'
description: nothing else
Y
}

@test "steps that are not a list, or an empty list" {
	bad "wf-parse: wf.yaml:2:8: 'steps': expected a list of steps, got text" <<'Y'
name: x
steps: run everything
Y
	bad "wf-parse: wf.yaml:2:8: 'steps' is empty: a workflow needs at least one step" <<'Y'
name: x
steps: []
Y
}

@test "a step that is not a mapping, or has no id or no action" {
	bad "wf-parse: wf.yaml:3:5: step 1: expected a mapping with 'id' and 'action', got text
wf-parse: wf.yaml:4:5: step 2 has no 'id'
wf-parse: wf.yaml:6:5: step 3 ('s3') has no 'action'
wf-parse: wf.yaml:7:5: step 4 has no 'id'
wf-parse: wf.yaml:7:5: step 4 has no 'action'" <<'Y'
name: x
steps:
  - echo hello
  - action: shell
    command: ls
  - id: s3
  - {}
Y
}

@test "F05: duplicate step ids name both positions" {
	bad "wf-parse: wf.yaml:6:9: duplicate step id 's1' (first at 3:9)
wf-parse: wf.yaml:9:9: duplicate step id 's1' (first at 3:9)" <<'Y'
name: x
steps:
  - id: s1
    action: shell
    command: ls
  - id: s1
    action: shell
    command: ls
  - id: s1
    action: shell
    command: ls
Y
}

@test "unknown action: a hint for a near miss, otherwise where custom actions are looked for" {
	bad "wf-parse: wf.yaml:4:13: unknown action 'shel' (did you mean 'shell'?)
wf-parse: wf.yaml:7:13: unknown action 'teleport': not built in, and no executable 'wf-action-teleport' in actions/ beside the workflow or on PATH" <<'Y'
name: x
steps:
  - id: s1
    action: shel
    command: ls
  - id: s2
    action: teleport
    anything: goes
Y
}

@test "F08: unknown keys, with a did-you-mean hint where one is close" {
	bad "wf-parse: wf.yaml:2:1: unknown key 'descripton' (did you mean 'description'?)
wf-parse: wf.yaml:3:1: unknown key 'colour' at the top of the workflow
wf-parse: wf.yaml:8:5: unknown key 'on-aproved' (did you mean 'on-approved'?)
wf-parse: wf.yaml:9:5: unknown key 'promt' (did you mean 'prompt'?)
wf-parse: wf.yaml:10:5: unknown key 'command' for action 'review-pr'" <<'Y'
name: x
descripton: typo
colour: blue
steps:
  - id: s1
    action: review-pr
    check: approved
    on-aproved: s1
    promt: look closely
    command: ls
Y
}

@test "a misspelt 'steps' is a hint and a missing key" {
	bad "wf-parse: wf.yaml:1:1: missing required key 'steps'
wf-parse: wf.yaml:2:1: unknown key 'stpes' (did you mean 'steps'?)" <<'Y'
name: x
stpes:
  - id: s1
    action: shell
    command: ls
Y
}

@test "F03: wrong types name the field, what was expected and what was found" {
	bad "wf-parse: wf.yaml:2:14: 'interactive': expected true or false, got 'maybe'
wf-parse: wf.yaml:3:12: 'variables': expected a mapping of names to values, got a list
wf-parse: wf.yaml:4:12: 'max-steps': expected a whole number, got '10 or so'
wf-parse: wf.yaml:8:9: 'to' names no step: 's0'
wf-parse: wf.yaml:10:21: 'max-iterations': expected a whole number, got '5x'
wf-parse: wf.yaml:14:14: 'timeout': expected a duration such as 30, \"30s\", \"5m\" or \"500ms\", got 'soon'
wf-parse: wf.yaml:15:13: unknown key 'tries' in 'retry' (expected attempts, delay)
wf-parse: wf.yaml:16:10: 'env': expected a mapping of names to values, got text
wf-parse: wf.yaml:19:11: 'kind': expected one of confirm|choice|text, got 'pick'
wf-parse: wf.yaml:20:14: 'options': expected a list of texts, got a mapping
wf-parse: wf.yaml:21:14: 'message': expected text, got a list" <<'Y'
name: x
interactive: maybe
variables: [a, b]
max-steps: 10 or so
steps:
  - id: s1
    action: loop
    to: s0
    condition: "true"
    max-iterations: "5x"
  - id: s2
    action: shell
    command: ls
    timeout: soon
    retry: {tries: 3}
    env: PATH=/evil
  - id: s3
    action: interactive
    kind: pick
    options: {a: 1}
    message: [not, text]
Y
}

@test "numbers that are not finite or not plain decimals are refused" {
	bad "wf-parse: wf.yaml:7:14: 'timeout': expected a duration such as 30, \"30s\", \"5m\" or \"500ms\", got 'nan'
wf-parse: wf.yaml:8:23: 'attempts': expected a whole number, got 1e+30
wf-parse: wf.yaml:8:38: 'delay': expected a duration such as 30, \"30s\", \"5m\" or \"500ms\", got 'inf'
wf-parse: wf.yaml:12:21: 'max-iterations': expected a whole number, got '0x10'
wf-parse: wf.yaml:17:21: 'max-iterations': expected a whole number, got 2.5" <<'Y'
name: x
budget: {usd: 1.5}
steps:
  - id: s1
    action: shell
    command: ls
    timeout: nan
    retry: {attempts: "1e30", delay: inf}
  - id: s2
    action: loop
    to: s1
    max-iterations: 0x10
  - id: s3
    action: loop
    to: s1
    condition: "true"
    max-iterations: 2.5
Y
}

@test "F09: YAML 1.1 booleans are refused with a hint; true and false are fine" {
	bad "wf-parse: wf.yaml:2:14: 'interactive': expected true or false, got 'yes' (YAML 1.1 booleans are not read as booleans; write true or false)
wf-parse: wf.yaml:3:13: 'persistent': expected true or false, got 'on' (YAML 1.1 booleans are not read as booleans; write true or false)
wf-parse: wf.yaml:4:9: 'strict': expected true or false, got 'True' (YAML 1.1 booleans are not read as booleans; write true or false)" <<'Y'
name: x
interactive: yes
persistent: on
strict: True
steps:
  - id: s1
    action: shell
    command: ls
    continue-on-error: false
Y
}

@test "F06: every jump target that names no step, in one report" {
	bad "wf-parse: wf.yaml:7:14: 'on-true' names no step: 'nowhere'
wf-parse: wf.yaml:8:15: 'on-false' names no step: 's99'
wf-parse: wf.yaml:9:5: 'on-approved' can never be taken: 'on-true' takes precedence (keep one)
wf-parse: wf.yaml:9:18: 'on-approved' names no step: 'ok'
wf-parse: wf.yaml:10:5: 'on-rejected' can never be taken: 'on-false' takes precedence (keep one)
wf-parse: wf.yaml:10:18: 'on-rejected' names no step: 'no'
wf-parse: wf.yaml:11:18: 'on-complete' names no step: 'end'
wf-parse: wf.yaml:12:15: 'on-error' names no step: 'S1'
wf-parse: wf.yaml:15:9: 'to' names no step: 's2x'" <<'Y'
name: x
steps:
  - id: s1
    action: shell
    command: ls
    check: "true"
    on-true: nowhere
    on-false: s99
    on-approved: ok
    on-rejected: "no"
    on-complete: end
    on-error: S1
  - id: s2
    action: loop
    to: s2x
    max-iterations: 3
Y
}

@test "jump targets written with Codi's spellings are reported where they were written" {
	bad "wf-parse: wf.yaml:6:13: 'on-true' names no step: 'gone'
wf-parse: wf.yaml:7:14: 'on-false' names no step: 'away'" <<'Y'
name: x
steps:
  - id: s1
    action: conditional
    check: "true"
    onTrue: gone
    onFalse: away
Y
}

@test "an alias and its canonical spelling together are refused" {
	bad "wf-parse: wf.yaml:8:5: 'onTrue' and 'on-true' are two spellings of the same key: keep one
wf-parse: wf.yaml:9:1: 'max-steps' and 'maxSteps' are two spellings of the same key: keep one" <<'Y'
name: x
max-steps: 5
steps:
  - id: s1
    action: conditional
    condition: "true"
    onTrue: s1
    on-true: s1
maxSteps: 6
Y
}

@test "F07: loops need a max-iterations between 1 and the cap of 1000" {
	bad "wf-parse: wf.yaml:6:5: step 'a': action 'loop' needs 'max-iterations'
wf-parse: wf.yaml:11:21: 'max-iterations' must be between 1 and 1000, got 0
wf-parse: wf.yaml:15:21: 'max-iterations': expected a whole number, got -1
wf-parse: wf.yaml:19:21: 'max-iterations' must be between 1 and 1000, got 1001" <<'Y'
name: x
steps:
  - id: s1
    action: shell
    command: ls
  - id: a
    action: loop
    to: s1
  - id: b
    action: loop
    max-iterations: 0
    to: s1
  - id: c
    action: loop
    max-iterations: -1
    to: s1
  - id: d
    action: loop
    max-iterations: 1001
    to: s1
Y
}

@test "loops at the bounds, 1 and 1000, are valid" {
	write wf.yaml <<'Y'
name: x
steps:
  - id: s1
    action: shell
    command: ls
  - id: a
    action: loop
    to: s1
    max-iterations: 1
  - id: b
    action: loop
    to: s1
    max-iterations: 1000
Y
	run wf-parse --check wf.yaml
	assert_success
	assert_output "wf.yaml: ok (3 steps)"
}

@test "a loop's 'to' must name an earlier step, not itself or a later one" {
	bad "wf-parse: wf.yaml:5:9: loop 'to' must name an earlier step: 'a' is the loop itself
wf-parse: wf.yaml:9:9: loop 'to' must name an earlier step: 's9' is after the loop" <<'Y'
name: x
steps:
  - id: a
    action: loop
    to: a
    max-iterations: 3
  - id: b
    action: loop
    to: s9
    max-iterations: 3
  - id: s9
    action: shell
    command: ls
Y
}

@test "every action's required fields" {
	bad "wf-parse: wf.yaml:3:5: step 'sh': action 'shell' needs 'command'
wf-parse: wf.yaml:5:5: step 'ai': action 'ai-prompt' needs 'prompt'
wf-parse: wf.yaml:7:5: step 'sw': action 'switch-model' needs 'model'
wf-parse: wf.yaml:9:5: step 'lp': action 'loop' needs 'to'
wf-parse: wf.yaml:9:5: step 'lp': action 'loop' needs 'max-iterations'
wf-parse: wf.yaml:11:5: step 'co': action 'conditional' needs 'condition'
wf-parse: wf.yaml:13:5: step 'in': action 'interactive' needs 'message'
wf-parse: wf.yaml:15:5: step 'lv': action 'load-variable' needs 'name'
wf-parse: wf.yaml:15:5: step 'lv': action 'load-variable' needs 'from'
wf-parse: wf.yaml:17:5: step 'sv': action 'set-variable' needs 'value'" <<'Y'
name: x
steps:
  - id: sh
    action: shell
  - id: ai
    action: ai-prompt
  - id: sw
    action: switch-model
  - id: lp
    action: loop
  - id: co
    action: conditional
  - id: in
    action: interactive
  - id: lv
    action: load-variable
  - id: sv
    action: set-variable
    name: x
Y
}

@test "a choice question needs a non-empty options list" {
	bad "wf-parse: wf.yaml:3:5: step 'pick': kind 'choice' needs a non-empty 'options' list" <<'Y'
name: x
steps:
  - id: pick
    action: interactive
    message: which one?
    kind: choice
    options: []
Y
}

@test "names that would become paths must be safe" {
	bad "wf-parse: wf.yaml:1:7: workflow name '../../etc/x' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')
wf-parse: wf.yaml:3:9: step id '../up' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')
wf-parse: wf.yaml:6:9: step id '-rf' is not a valid name (letters, digits, '.', '_', '-'; not starting with '.' or '-')" <<'Y'
name: ../../etc/x
steps:
  - id: ../up
    action: shell
    command: ls
  - id: -rf
    action: shell
    command: ls
Y
}

@test "diagnostics come out in file order, whichever check found them" {
	# Found in the order: top-level keys (line 2), missing name (1:1), the
	# per-step pass (line 14), then the flow pass (lines 6 and 11).
	bad "wf-parse: wf.yaml:1:1: missing required key 'name'
wf-parse: wf.yaml:2:1: unknown key 'colour' at the top of the workflow
wf-parse: wf.yaml:6:14: 'on-true' names no step: 'nowhere'
wf-parse: wf.yaml:11:9: duplicate step id 's1' (first at 4:9)
wf-parse: wf.yaml:14:5: unknown key 'bogus' for action 'shell'" <<'Y'
description: no name
colour: red
steps:
  - id: s1
    action: conditional
    on-true: nowhere
    condition: "true"
  - id: s2
    action: shell
    command: ls
  - id: s1
    action: shell
    command: ls
    bogus: 1
Y
}
