#!/usr/bin/env bats
# wf-parse: the canonical JSON it prints for a good workflow, and its
# command line.  Validation errors are in 1010, YAML safety in 1020, the
# robustness sweep in 1030, discovery in 1200.
load helpers
bats_require_minimum_version 1.5.0

SEED_PLAN="$REPO_ROOT/../shared/seed/interactive-workflow-plan.md"

@test "the seed's five examples are valid" {
	for f in test-linear test-conditional test-loop test-model-switch pr-review-loop; do
		run wf-parse --check "$EXAMPLES/$f.yaml"
		assert_success
		assert_output --regexp "^$EXAMPLES/$f.yaml: ok \([0-9]+ steps\)\$"
	done
}

@test "the examples are byte-identical to the seed's text" {
	[ -f "$SEED_PLAN" ] || skip "seed plan not beside the repository"
	run python3 - "$SEED_PLAN" "$EXAMPLES" <<'PY'
import re, sys
md = open(sys.argv[1]).read()
found = {}
for block in re.findall(r'```yaml\n(.*?)```', md, re.S):
    seg = None
    for line in block.split('\n'):
        m = re.match(r'name: (\S+)$', line)
        if m:
            seg = [line]
            found[m.group(1)] = seg
        elif seg is not None:
            seg.append(line)
for name, seg in sorted(found.items()):
    while seg and (not seg[-1].strip() or seg[-1].startswith('#')):
        seg.pop()
    same = open(f'{sys.argv[2]}/{name}.yaml').read() == '\n'.join(seg) + '\n'
    print(name, 'same' if same else 'DIFFERENT')
PY
	assert_success
	assert_output - <<'E'
pr-review-loop same
test-conditional same
test-linear same
test-loop same
test-model-switch same
E
}

@test "canonical JSON of test-linear: defaults filled, next resolved" {
	run --separate-stderr wf-parse "$EXAMPLES/test-linear.yaml"
	assert_success
	[ -z "$stderr" ]
	[ "${#lines[@]}" -eq 1 ]
	run jq -cS 'del(.source, .hash)' <<<"$output"
	assert_output '{"budget":null,"description":"","env":{},"inputs":{},"interactive":true,"max-steps":1000,"model":null,"name":"test-linear","outputs":{},"persistent":true,"steps":[{"action":"shell","command":"echo '"'"'Step 1'"'"'","id":"s1","next":"s2","retry":{"attempts":1,"delay":0}},{"action":"shell","command":"echo '"'"'Step 2'"'"'","id":"s2","next":null,"retry":{"attempts":1,"delay":0}}],"strict":false,"variables":{}}'
}

@test "source is the resolved path and hash the file's sha256" {
	cp "$EXAMPLES/test-loop.yaml" loop.yaml
	sum=$(sha256sum loop.yaml | cut -d' ' -f1)
	run wf-parse ./loop.yaml
	assert_success
	run jq -r '.source, .hash' <<<"$output"
	assert_output "$WORK/loop.yaml
sha256:$sum"
}

@test "reading stdin: source is '-', the hash is the same" {
	sum=$(sha256sum <"$EXAMPLES/test-loop.yaml" | cut -d' ' -f1)
	run --separate-stderr wf-parse - <"$EXAMPLES/test-loop.yaml"
	assert_success
	run jq -r '.name, .source, .hash' <<<"$output"
	assert_output "test-loop
-
sha256:$sum"
}

@test "each step's next is the following step, null for the last" {
	run wf-parse "$EXAMPLES/pr-review-loop.yaml"
	assert_success
	run jq -r '.steps[] | "\(.id) \(.next)"' <<<"$output"
	assert_output - <<'E'
s1 s2
s2 s3
s3 s4
s4 s5
s5 s6
s6 s7
s7 s8
s8 s9
s9 s10
s10 s11
s11 s12
s12 s13
s13 null
E
}

@test "per-action defaults are filled in" {
	write wf.yaml <<'Y'
name: defaults
steps:
  - id: ask
    action: interactive
    message: go on?
  - id: talk
    action: ai-prompt
    prompt: hi
  - id: merge
    action: merge-pr
  - id: again
    action: loop
    to: ask
    max-iterations: 2
Y
	run wf-parse wf.yaml
	assert_success
	run jq -c '.steps[] | del(.id, .action, .next, .message, .prompt, .to, ."max-iterations")' <<<"$output"
	assert_output - <<'E'
{"retry":{"attempts":1,"delay":0},"kind":"confirm"}
{"retry":{"attempts":1,"delay":0},"format":"text","context":"full"}
{"retry":{"attempts":1,"delay":0},"method":"merge","require-approval":true}
{"retry":{"attempts":1,"delay":0},"condition":"true","on-exhausted":"fail"}
E
}

@test "Codi's spellings are folded into the seed's kebab-case" {
	write codi.yaml <<'Y'
name: codi-style
maxSteps: 50
steps:
  - id: ask
    action: interactive
    prompt: "Continue with {{branch}}?"
    inputType: choice
    choices: [yes, no]
    defaultValue: "no"
    timeoutMs: 30000
  - id: decide
    action: conditional
    check: "{{ answer }} == yes"
    onTrue: done
    onFalse: again
  - id: again
    action: loop
    to: ask
    maxIterations: 3
    onExhausted: continue
  - id: done
    action: shell
    command: "echo {{branch}} {{not a var}}"
    continueOnError: true
    onError: again
Y
	run wf-parse codi.yaml
	assert_success
	run jq -c '."max-steps", (.steps[] | del(.retry, .next))' <<<"$output"
	assert_output - <<'E'
50
{"id":"ask","action":"interactive","message":"Continue with ${branch}?","kind":"choice","options":["yes","no"],"default":"no","timeout":30}
{"id":"decide","action":"conditional","condition":"${answer} == yes","on-true":"done","on-false":"again"}
{"id":"again","action":"loop","to":"ask","max-iterations":3,"on-exhausted":"continue","condition":"true"}
{"id":"done","action":"shell","command":"echo ${branch} {{not a var}}","continue-on-error":true,"on-error":"again"}
E
}

@test "scalars keep their text: version 1.10, ids and commands that look like numbers" {
	write nums.yaml <<'Y'
name: nums
version: 1.10
steps:
  - id: 1
    action: shell
    command: 010
    timeout: 1.5m
    retry: 3
Y
	run wf-parse nums.yaml
	assert_success
	run jq -c '[.version, .steps[0].id, .steps[0].command, .steps[0].timeout, .steps[0].retry]' <<<"$output"
	assert_output '["1.10","1","010",90,{"attempts":3,"delay":0}]'
}

@test "a custom action beside the workflow (actions/wf-action-NAME) is accepted with its own keys" {
	mkdir -p flows/actions
	printf '#!/bin/sh\ncat\n' >flows/actions/wf-action-notify
	chmod +x flows/actions/wf-action-notify
	write flows/custom.yaml <<'Y'
name: custom
steps:
  - id: tell
    action: notify
    channel: "#dev"
    onError: tell
Y
	run wf-parse flows/custom.yaml
	assert_success
	run jq -c '.steps[0] | del(.next)' <<<"$output"
	assert_output '{"id":"tell","action":"notify","channel":"#dev","on-error":"tell"}'
}

@test "a custom action on PATH is accepted; one that is not executable is not" {
	mkdir -p tools
	printf '#!/bin/sh\ncat\n' >tools/wf-action-deploy
	chmod +x tools/wf-action-deploy
	write wf.yaml <<'Y'
name: custom
steps:
  - id: ship
    action: deploy
Y
	PATH="$WORK/tools:$PATH" run wf-parse --check wf.yaml
	assert_success
	assert_output "wf.yaml: ok (1 step)"
	chmod -x tools/wf-action-deploy
	PATH="$WORK/tools:$PATH" run wf-parse --check wf.yaml
	assert_failure 65
	assert_output "wf-parse: wf.yaml:4:13: unknown action 'deploy': not built in, and no executable 'wf-action-deploy' in actions/ beside the workflow or on PATH"
}

@test "--pretty prints the same document indented" {
	run wf-parse --pretty "$EXAMPLES/test-loop.yaml"
	assert_success
	[ "${#lines[@]}" -gt 20 ]
	[ "$(jq -cS . <<<"$output")" = "$(wf-parse "$EXAMPLES/test-loop.yaml" | jq -cS .)" ]
}

@test "--check prints one ok line per file and nothing on stdout for a bad one" {
	write bad.yaml <<'Y'
name: bad
steps:
  - id: a
    action: shell
Y
	run --separate-stderr wf-parse --check "$EXAMPLES/test-linear.yaml" bad.yaml "$EXAMPLES/test-loop.yaml"
	assert_failure 65
	assert_output "$EXAMPLES/test-linear.yaml: ok (2 steps)
$EXAMPLES/test-loop.yaml: ok (4 steps)"
	[ "$stderr" = "wf-parse: bad.yaml:3:5: step 'a': action 'shell' needs 'command'" ]
}

@test "usage errors exit 2; --help and --version exit 0" {
	run wf-parse
	assert_failure 2
	assert_line --index 0 "usage: wf-parse [--pretty] FILE|NAME|-"
	run wf-parse --bogus x.yaml
	assert_failure 2
	assert_line --index 0 "wf-parse: unrecognized option '--bogus'"
	run wf-parse "$EXAMPLES/test-linear.yaml" "$EXAMPLES/test-loop.yaml"
	assert_failure 2
	assert_line --index 0 "usage: wf-parse [--pretty] FILE|NAME|-"
	run --separate-stderr wf-parse --help
	assert_success
	assert_line --index 0 "usage: wf-parse [--pretty] FILE|NAME|-"
	run wf-parse --version
	assert_success
	assert_output --regexp '^wf-parse [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "a missing file exits 66, a directory 66" {
	run wf-parse nope/x.yaml
	assert_failure 66
	assert_output "wf-parse: cannot open 'nope/x.yaml': No such file or directory"
	mkdir -p adir
	run wf-parse adir/
	assert_failure 66
	assert_output "wf-parse: adir/: is a directory, not a workflow file"
}

@test "a failed write to stdout exits 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	run bash -c 'wf-parse "$1" >/dev/full' _ "$EXAMPLES/pr-review-loop.yaml"
	assert_failure 74
	assert_output "wf-parse: cannot write standard output: No space left on device"
}

@test "a 10,000-step workflow, every step jumping, is read in full" {
	awk 'BEGIN {
		print "name: many"
		print "steps:"
		for (i = 0; i < 10000; i++) {
			printf "  - id: s%d\n", i
			if (i % 2 == 0)
				printf "    action: shell\n    command: echo %d\n    on-error: s%d\n", i, (i + 7) % 10000
			else
				printf "    action: loop\n    to: s%d\n    max-iterations: 3\n", i - 1
		}
	}' >many.yaml
	run --separate-stderr wf-parse many.yaml
	assert_success
	run jq -c '[(.steps | length), .steps[0].next, .steps[9999].next, .steps[9998]."on-error"]' <<<"$output"
	assert_output '[10000,"s1",null,"s5"]'
}
