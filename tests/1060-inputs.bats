#!/usr/bin/env bats
# A workflow's inputs and outputs (wf-workflow(5)): checked when the
# workflow is read, inputs filled from defaults and --var, a required one
# missing stops the run before its first step.
load helpers

setup() {
	wf_setup
	write w.yaml <<'Y'
name: w
inputs:
  branch:
    description: The branch to build
    default: main
  pr:
    description: The pull request's number
  n: {default: 3}
outputs:
  said: "${branch}/${pr}"
steps:
  - id: a
    action: shell
    command: printf '%s %s %s\n' "$branch" "$pr" "${n}" > got
Y
}

@test "the canonical workflow holds inputs (description filled) and outputs, and {} when there are none" {
	run wf-parse w.yaml
	assert_success
	run jq -c '{inputs, outputs}' <<<"$output"
	assert_output '{"inputs":{"branch":{"description":"The branch to build","default":"main"},"pr":{"description":"The pull request'"'"'s number"},"n":{"default":3,"description":""}},"outputs":{"said":"${branch}/${pr}"}}'
	printf 'name: x\nsteps: [{id: a, action: shell, command: "true"}]\n' > x.yaml
	run wf-parse x.yaml
	run jq -c '{inputs, outputs}' <<<"$output"
	assert_output '{"inputs":{},"outputs":{}}'
}

@test "a required input not given stops the run before its first step, exit 2, naming it and the --var to add" {
	run wf run w.yaml
	assert_failure 2
	assert_output "wf-run: workflow 'w' needs input 'pr' (The pull request's number): give it with --var pr=VALUE"
	[ ! -e got ]
	run wf run w.yaml --dry-run
	assert_failure 2
	[ ! -e got ]
}

@test "defaults fill what --var does not give; --var overrides a default; no unused-variable warning for inputs" {
	run wf run w.yaml --var pr=42 --yes
	assert_success
	refute_output --partial 'not used'
	[ "$(cat got)" = "main 42 3" ]
	run wf run w.yaml --var pr=7 --var branch=dev --var n=9 --yes
	assert_success
	[ "$(cat got)" = "dev 7 9" ]
}

@test "hostile input values reach commands literally, never as shell text" {
	run wf run w.yaml --var 'pr=$(touch pwned); `touch pwned2` "q" ${x}' --yes
	assert_success
	[ ! -e pwned ] && [ ! -e pwned2 ]
	[ "$(cat got)" = 'main $(touch pwned); `touch pwned2` "q" ${x} 3' ]
}

@test "bad inputs are refused with line:col: a list default, a scalar, a name commands cannot read, a clash, a reserved name" {
	write bad.yaml <<'Y'
name: bad
inputs:
  a: {default: [1, 2]}
  b: 3
  c-d: {}
  e: {descr: x}
steps: [{id: s, action: shell, command: "true"}]
Y
	run wf-parse bad.yaml
	assert_failure 65
	assert_output "wf-parse: bad.yaml:3:16: 'default': an input's default must be text, a number or a boolean, got a list
wf-parse: bad.yaml:4:6: 'inputs': expected a mapping (description, default), got a number
wf-parse: bad.yaml:5:3: input name 'c-d' is not a valid name (letters, digits and '_', not starting with a digit), since commands see it as \$c-d
wf-parse: bad.yaml:6:7: unknown key 'descr' in 'inputs' (expected description, default)"
	write clash.yaml <<'Y'
name: clash
inputs:
  z: {}
  PATH: {}
variables: {z: 1}
steps: [{id: s, action: shell, command: "true"}]
Y
	run wf-parse clash.yaml
	assert_failure 65
	assert_output "wf-parse: clash.yaml:3:3: 'z' is both an input and a variable: keep one (an input's default is its value when none is given)
wf-parse: clash.yaml:4:3: variable 'PATH' would change what commands run, so a workflow may not set it (use another name, such as 'path')"
	printf 'name: x\ninputs: [a]\nsteps: [{id: a, action: shell, command: "true"}]\n' > l.yaml
	run wf-parse l.yaml
	assert_failure 65
	assert_output --partial "l.yaml:2:9: 'inputs': expected a mapping of input names to {description, default}, got a list"
}

@test "the schema names inputs and outputs" {
	run wf-parse --schema
	assert_success
	run jq -c '.workflow.inputs.type, .workflow.outputs.type' <<<"$output"
	assert_output '"inputs"
"mapping"'
}

@test "wf show lists the inputs with their defaults, the required ones and their descriptions" {
	run wf show w.yaml
	assert_success
	assert_line '  inputs:'
	assert_line '    branch=main  The branch to build'
	assert_line "    pr (required)  The pull request's number"
	assert_line '    n=3'
}
