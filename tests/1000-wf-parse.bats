#!/usr/bin/env bats
load helpers

@test "the seed's five examples are valid" {
	for f in test-linear test-conditional test-loop test-model-switch pr-review-loop; do
		run wf-parse --check "$EXAMPLES/$f.yaml"
		assert_success
		assert_output --partial "$f.yaml: ok"
	done
}

@test "unknown key gets a did-you-mean hint with line and column" {
	write bad.yaml <<'Y'
name: x
steps:
  - id: s1
    action: shell
    command: ls
    on-aproved: s1
Y
	run wf-parse bad.yaml
	assert_failure 65
	assert_output "wf-parse: bad.yaml:6:5: unknown key 'on-aproved' (did you mean 'on-approved'?)"
}
