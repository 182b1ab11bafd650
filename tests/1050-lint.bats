#!/usr/bin/env bats
# wf lint (wf-parse --suggest): each rule fires at the right line:col on
# a minimal workflow and stays quiet once it is fixed; exit statuses;
# --json; an invalid workflow reports its errors, not suggestions.
load helpers

# Lint FILE and expect exactly the warning lines on stdin (rule texts cut
# at " (" so the hint may change without breaking the position checks).
lints_as() {
	run wf lint "$1"
	assert_failure 1
	assert_equal "$(sed 's/ (.*//' <<<"$output")" "$(cat)"
}

lints_clean() {
	run wf lint "$1"
	assert_success
	assert_output ''
}

@test "a loop without on-exhausted: at its max-iterations; quiet with it (an alias too)" {
	write w.yaml <<'Y'
name: w
steps:
  - id: work
    action: shell
    command: "true"
  - id: again
    action: loop
    to: work
    condition: "false"
    max-iterations: 3
Y
	lints_as w.yaml <<'E'
w.yaml:10:5: warning: loop 'again' does not say what happens when it has run 3 times and its condition still holds
E
	assert_output --partial "(add 'on-exhausted: fail', 'continue' or 'pause'"
	printf '    on-exhausted: fail\n' >> w.yaml
	lints_clean w.yaml
	sed -i 's/on-exhausted: fail/onExhausted: continue/' w.yaml
	lints_clean w.yaml
}

@test "a shell step that pushes, tags, publishes or deploys without idempotent: at its command" {
	local cmd
	while IFS= read -r cmd; do
		write d.yaml <<Y
name: d
steps:
  - id: ship
    action: shell
    command: '$cmd'
Y
		run wf lint d.yaml
		assert_failure 1
		assert_output --regexp "^d\.yaml:5:14: warning: shell step 'ship' runs '[a-z]+( [a-z]+)?', which changes something outside this run \(add 'idempotent: false'"
	done <<'C'
git push origin main
make && git tag -a v1 -m "v1"
git -C repo push --tags
gh release create v1
cd deploy; kubectl apply -f k8s/
sudo terraform apply -auto-approve
npm publish
FOO=1 docker push registry/app:1
helm upgrade app ./chart
scp build.tgz deploy@host:/srv
rsync -a out/ web1:/var/www
x=$(git push 2>&1)
C
	# Quiet with idempotent either way (the author decided), and for look-alikes.
	write d.yaml <<'Y'
name: d
steps:
  - id: ship
    action: shell
    command: git push
    idempotent: false
  - id: again
    action: shell
    command: git push
    idempotent: true
  - id: lookalikes
    action: shell
    command: 'echo git push; git log --grep push; rsync -a a/ b/; git commit -m "git tag"'
Y
	lints_clean d.yaml
}

@test "an AI step whose reply nothing reads; read through output, steps.ID.output or last.output" {
	write a.yaml <<'Y'
name: a
steps:
  - id: think
    action: ai-prompt
    prompt: "Think"
  - id: draft
    action: ai-prompt
    prompt: "Draft"
    output: text
Y
	lints_as a.yaml <<'E'
a.yaml:3:5: warning: nothing reads the reply of AI step 'think'
a.yaml:9:13: warning: the reply of AI step 'draft' goes to variable 'text', which nothing reads
E
	cat >> a.yaml <<'Y'
  - id: next
    action: ai-prompt
    prompt: "Go on from ${last.output}"
    output: more
  - id: use
    action: shell
    command: 'printf "%s\n" "$WF_VAR_more"'
    if: 'steps.think.output != ""'
Y
	lints_clean a.yaml
}

@test "a review-pr whose verdict decides nothing; quiet with a check or verdict targets" {
	write r.yaml <<'Y'
name: r
steps:
  - id: review
    action: review-pr
  - id: done
    action: shell
    command: "true"
Y
	lints_as r.yaml <<'E'
r.yaml:3:5: warning: review step 'review' has no check: its verdict decides nothing
E
	sed -i 's/action: review-pr/action: review-pr\n    check: approved\n    on-false: done/' r.yaml
	lints_clean r.yaml
	sed -i '/check: approved/d; s/on-false: done/on-rejected: done/' r.yaml
	lints_clean r.yaml
}

@test "a variable or an input nothing reads: at its key; read in a command, a text or a condition" {
	write v.yaml <<'Y'
name: v
variables:
  used: 1
  spare: 2
  in_cond: 3
  in_text: x
steps:
  - id: a
    action: shell
    command: 'echo "$used"'
    if: "in_cond > 1"
  - id: b
    action: set-variable
    name: spare
    value: "${in_text}"
Y
	lints_as v.yaml <<'E'
v.yaml:4:3: warning: variable 'spare' is never read
E
	# Setting it (set-variable's name) is not reading it; reading it is.
	printf '  - id: c\n    action: shell\n    command: echo "${spare}"\n' >> v.yaml
	lints_clean v.yaml
}

@test "a step no path reaches; jumps, loops, if, on-error and fall-through all count" {
	write u.yaml <<'Y'
name: u
steps:
  - id: a
    action: shell
    command: "true"
    on-complete: c
  - id: b
    action: shell
    command: "true"
  - id: c
    action: conditional
    condition: "true"
    on-true: e
    on-false: f
  - id: d
    action: shell
    command: "true"
  - id: e
    action: shell
    command: "true"
    on-error: g
    on-complete: h
  - id: f
    action: shell
    command: "true"
    if: "false"
  - id: g
    action: shell
    command: "true"
  - id: h
    action: shell
    command: "true"
Y
	lints_as u.yaml <<'E'
u.yaml:7:5: warning: step 'b' can never run: no path from the first step reaches it
u.yaml:15:5: warning: step 'd' can never run: no path from the first step reaches it
E
}

@test "a clean workflow: no output, exit 0; several files: 1 when any warns; --check says which are valid" {
	write ok.yaml <<'Y'
name: ok
variables: {who: world}
steps:
  - id: hi
    action: shell
    command: 'echo "hello $who"'
Y
	lints_clean ok.yaml
	write bad.yaml <<'Y'
name: bad
variables: {spare: 1}
steps:
  - id: hi
    action: shell
    command: "true"
Y
	run wf lint ok.yaml bad.yaml
	assert_failure 1
	assert_output "bad.yaml:2:13: warning: variable 'spare' is never read (remove it, or use it as \${NAME} in a text or \$NAME in a command; ignore this if a program a command runs reads it from the environment)"
	run wf validate --suggest ok.yaml bad.yaml
	assert_failure 1
	assert_line --index 0 'ok.yaml: ok (1 step)'
	assert_line --index 1 'bad.yaml: ok (1 step)'
	assert_line --index 2 --partial "bad.yaml:2:13: warning: variable 'spare'"
	# By name along the search path, and from standard input.
	mkdir workflows && cp ok.yaml workflows/
	run wf lint ok
	assert_success
	assert_output ''
	run wf-parse --suggest - < bad.yaml
	assert_failure 1
	assert_output --partial -- "-:2:13: warning: variable 'spare'"
}

@test "--json: one object per warning with file, line, col, rule, message and hint" {
	write j.yaml <<'Y'
name: j
steps:
  - id: think
    action: ai-prompt
    prompt: "Think"
  - id: again
    action: loop
    to: think
    max-iterations: 2
Y
	run wf lint --json j.yaml
	assert_failure 1
	run jq -sc 'map([.file, .line, .col, .rule, (.message | length > 0), (.hint | length > 0)])' <<<"$output"
	assert_output '[["j.yaml",3,5,"ai-output-unused",true,true],["j.yaml",9,5,"loop-exhausted",true,true]]'
}

@test "an invalid workflow reports its errors and no suggestion (65); a missing one 66" {
	write bad.yaml <<'Y'
name: bad
variables: {spare: 1}
steps:
  - id: a
    action: shel
Y
	run wf lint bad.yaml
	assert_failure 65
	assert_output --partial "bad.yaml:5:13: unknown action 'shel'"
	refute_output --partial warning
	write ok.yaml <<'Y'
name: ok
variables: {spare: 1}
steps:
  - {id: a, action: shell, command: "true"}
Y
	# The worst status wins: invalid (65) over warnings (1), in any order.
	run wf lint ok.yaml bad.yaml
	assert_failure 65
	assert_output --partial "ok.yaml:2:13: warning"
	run wf lint nosuch
	assert_failure 66
	run wf lint
	assert_failure 2
}

@test "the shipped examples: only the seed's deliberate warnings" {
	cd "$EXAMPLES"
	run wf-parse --suggest *.yaml
	assert_failure 1
	assert_equal "$(sed 's/:[0-9]*:[0-9]*: warning: / /; s/ (.*//' <<<"$output")" \
"demo.yaml loop 'again' does not say what happens when it has run 5 times and its condition still holds
pr-review-loop.yaml review step 's3' has no check: its verdict decides nothing
pr-review-loop.yaml loop 's10' does not say what happens when it has run 5 times and its condition still holds
test-loop-shell.yaml loop 's4' does not say what happens when it has run 5 times and its condition still holds
test-loop.yaml nothing reads the reply of AI step 's1'
test-loop.yaml loop 's4' does not say what happens when it has run 5 times and its condition still holds
test-model-switch.yaml nothing reads the reply of AI step 's2'
test-model-switch.yaml nothing reads the reply of AI step 's4'"
}

@test "the templates: the new ones lint clean, the seed's copies only with the seed's warnings" {
	cd "$REPO_ROOT/workflows/templates"
	run wf-parse --suggest test-fix-loop.yaml multi-model-review.yaml release.yaml docs-update.yaml \
		test-linear.yaml test-conditional.yaml
	assert_success
	assert_output ''
	run wf-parse --suggest pr-review-loop.yaml test-loop.yaml test-model-switch.yaml
	assert_failure 1
	assert_equal "$(sed 's/:[0-9]*:[0-9]*: warning: / /; s/ (.*//' <<<"$output")" \
"pr-review-loop.yaml review step 's3' has no check: its verdict decides nothing
test-loop.yaml nothing reads the reply of AI step 's1'
test-loop.yaml loop 's4' does not say what happens when it has run 5 times and its condition still holds
test-model-switch.yaml nothing reads the reply of AI step 's2'
test-model-switch.yaml nothing reads the reply of AI step 's4'"
}
