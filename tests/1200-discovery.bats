#!/usr/bin/env bats
# Finding workflows: a path is used as is; a name is looked up along the
# search path ($WF_PATH, ./workflows, ./.wf/workflows, the XDG config dir,
# ~/.codi/workflows, then the installed examples and templates), by file
# stem first and then by the name: field, and never escapes its directory
# (S06).  Then wf list, wf show and wf validate on top of it.
load helpers
bats_require_minimum_version 1.5.0

# mkwf FILE NAME [DESCRIPTION]: a small valid workflow called NAME in FILE.
mkwf() {
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<Y
name: $2
description: ${3:-}
steps:
  - id: s1
    action: shell
    command: echo $2
Y
}

# source_of NAME: the file wf-parse resolves NAME to.
source_of() {
	wf-parse "$1" | jq -r .source
}

@test "search order: WF_PATH, ./workflows, ./.wf/workflows, XDG, ~/.codi, examples" {
	mkwf "$WORK/p1/hello.yaml" hello
	mkwf "$WORK/p2/hello.yaml" hello
	mkwf workflows/hello.yaml hello
	mkwf .wf/workflows/hello.yaml hello
	mkwf "$XDG_CONFIG_HOME/wf/workflows/hello.yaml" hello
	mkwf "$HOME/.codi/workflows/hello.yaml" hello
	export WF_PATH="::$WORK/p1:$WORK/p2"
	[ "$(source_of hello)" = "$WORK/p1/hello.yaml" ]
	rm "$WORK/p1/hello.yaml"
	[ "$(source_of hello)" = "$WORK/p2/hello.yaml" ]
	unset WF_PATH
	[ "$(source_of hello)" = "$WORK/workflows/hello.yaml" ]
	rm workflows/hello.yaml
	[ "$(source_of hello)" = "$WORK/.wf/workflows/hello.yaml" ]
	rm .wf/workflows/hello.yaml
	[ "$(source_of hello)" = "$XDG_CONFIG_HOME/wf/workflows/hello.yaml" ]
	rm "$XDG_CONFIG_HOME/wf/workflows/hello.yaml"
	[ "$(source_of hello)" = "$HOME/.codi/workflows/hello.yaml" ]
	rm "$HOME/.codi/workflows/hello.yaml"
	run wf-parse hello
	assert_failure 66
	assert_output "wf-parse: no workflow named 'hello' (looked for hello.yaml and a 'name: hello' along the search path; see 'wf list')"
}

@test "without XDG_CONFIG_HOME the config dir is ~/.config" {
	unset XDG_CONFIG_HOME
	mkwf "$HOME/.config/wf/workflows/cfg.yaml" cfg
	[ "$(source_of cfg)" = "$HOME/.config/wf/workflows/cfg.yaml" ]
}

@test "the seed's examples are found by name when nothing else matches" {
	[ "$(source_of test-linear)" = "$(realpath "$EXAMPLES/test-linear.yaml")" ]
	mkwf workflows/test-linear.yaml test-linear
	[ "$(source_of test-linear)" = "$WORK/workflows/test-linear.yaml" ]
}

@test "installed layout: bin/../share/wf/workflows/{examples,templates}" {
	mkdir -p prefix/bin
	cp "$WF_BIN/wf-parse" prefix/bin/
	mkwf prefix/share/wf/workflows/examples/inst.yaml inst
	mkwf prefix/share/wf/workflows/templates/tpl.yaml tpl
	run prefix/bin/wf-parse inst
	assert_success
	[ "$(jq -r .source <<<"$output")" = "$WORK/prefix/share/wf/workflows/examples/inst.yaml" ]
	run prefix/bin/wf-parse tpl
	assert_success
	[ "$(jq -r .source <<<"$output")" = "$WORK/prefix/share/wf/workflows/templates/tpl.yaml" ]
	# The source tree's examples are not on an installed program's path.
	run prefix/bin/wf-parse test-linear
	assert_failure 66
}

@test "file stem first anywhere on the path, then the name: field" {
	mkwf "$WORK/p1/other.yaml" target
	mkwf workflows/target.yaml something-else
	export WF_PATH="$WORK/p1"
	[ "$(source_of target)" = "$WORK/workflows/target.yaml" ]
	rm workflows/target.yaml
	[ "$(source_of target)" = "$WORK/p1/other.yaml" ]
}

@test "the name: field lookup takes the first file by name in a directory, skipping hidden files" {
	mkwf workflows/b.yaml dup
	mkwf workflows/a.yaml dup
	mkwf workflows/.0.yaml dup
	[ "$(source_of dup)" = "$WORK/workflows/a.yaml" ]
}

@test ".yml is found too, after .yaml in the same directory" {
	mkwf workflows/short.yml short
	[ "$(source_of short)" = "$WORK/workflows/short.yml" ]
	mkwf workflows/short.yaml short
	[ "$(source_of short)" = "$WORK/workflows/short.yaml" ]
}

@test "a path is used as is: relative, absolute, or a file name ending .yaml" {
	mkwf flows/sub/here.yaml here
	mkwf workflows/here.yaml here
	[ "$(source_of flows/sub/here.yaml)" = "$WORK/flows/sub/here.yaml" ]
	[ "$(source_of "$WORK/flows/sub/here.yaml")" = "$WORK/flows/sub/here.yaml" ]
	mkwf here.yaml here
	[ "$(source_of here.yaml)" = "$WORK/here.yaml" ]
	[ "$(source_of here)" = "$WORK/workflows/here.yaml" ]
}

@test "S06: names that could escape their directory are refused" {
	mkwf workflows/ok.yaml ok
	before=$(find "$BATS_TEST_TMPDIR" | sort)
	for name in .. . .hidden a..b 'a b' 'ｈello' 'na$me' '*' 'x;rm'; do
		run wf-parse -- "$name"
		assert_failure 65
		assert_output "wf-parse: invalid workflow name '$name': use letters, digits, '.', '_' and '-' (at most 128), or give a path to a file"
	done
	run wf-parse -- -rf
	assert_failure 65
	assert_output "wf-parse: invalid workflow name '-rf': use letters, digits, '.', '_' and '-' (at most 128), or give a path to a file"
	long=$(printf 'a%.0s' $(seq 300))
	run wf-parse "$long"
	assert_failure 65
	assert_output "wf-parse: invalid workflow name '$(printf 'a%.0s' $(seq 80))...': use letters, digits, '.', '_' and '-' (at most 128), or give a path to a file"
	[ "$(find "$BATS_TEST_TMPDIR" | sort)" = "$before" ]
}

@test "S06: '-rf' without '--' is an option, a usage error" {
	run wf-parse -rf
	assert_failure 2
	assert_line --index 0 "wf-parse: invalid option -- 'r'"
}

@test "S06: anything with a slash is a path, and a missing one is 66" {
	for arg in ../x a..b/../../x ../../.ssh/id_rsa a/b; do
		run wf-parse "$arg"
		assert_failure 66
		assert_output "wf-parse: cannot open '$arg': No such file or directory"
	done
	run wf-parse /etc/passwd
	assert_failure 65
	assert_output --partial "wf-parse: /etc/passwd:1:1: "
}

@test "S06: a workflow linked from outside its directory is never used" {
	mkwf outside/evil.yaml evil
	mkwf outside/other.yaml evil2
	mkdir -p workflows
	ln -s ../outside/evil.yaml workflows/evil.yaml
	ln -s ../outside/other.yaml workflows/link.yaml
	run wf-parse evil
	assert_failure 66
	assert_output "wf-parse: no workflow named 'evil': './workflows/evil.yaml' points outside its directory and is ignored"
	run wf-parse evil2
	assert_failure 66
	assert_output "wf-parse: no workflow named 'evil2' (looked for evil2.yaml and a 'name: evil2' along the search path; see 'wf list')"
	# Given as a path, the user chose it: it is read.
	[ "$(source_of workflows/evil.yaml)" = "$WORK/outside/evil.yaml" ]
}

@test "a link to another workflow in the same directory is fine" {
	mkwf workflows/real.yaml real
	ln -s real.yaml workflows/alias.yaml
	[ "$(source_of alias)" = "$WORK/workflows/real.yaml" ]
}

@test "wf list --json: name, description, steps, path, error; broken files listed, not hidden" {
	mkwf "$WORK/p1/good.yaml" good "a good one"
	printf 'name: broken\nsteps:\n  - id: a\n    action: shel\n' >"$WORK/p1/broken.yaml"
	printf 'name: [\n' >"$WORK/p1/garbage.yaml"
	echo 'not yaml at all' >"$WORK/p1/notes.txt"
	mkwf workflows/good.yaml good "shadowed by p1"
	mkwf outside/away.yaml away
	ln -s ../outside/away.yaml workflows/away.yaml
	ln -s missing.yaml workflows/dangling.yaml
	WF_PATH="$WORK/p1" run --separate-stderr wf list --json
	assert_success
	[ -z "$stderr" ]
	run jq -c --arg w "$WORK" '.[] | select(.path | startswith($w)) | (.path, .error) |= ltrimstr($w)' <<<"$output"
	assert_output - <<'E'
{"name":"broken","path":"/p1/broken.yaml","description":"","steps":null,"error":"/p1/broken.yaml:4:13: unknown action 'shel' (did you mean 'shell'?)","shadowed":false}
{"name":"garbage","path":"/p1/garbage.yaml","description":"","steps":null,"error":"/p1/garbage.yaml:2:1: YAML syntax error: did not find expected node content while parsing a flow node","shadowed":false}
{"name":"good","path":"/p1/good.yaml","description":"a good one","steps":1,"error":null,"shadowed":false}
E
	run jq -c '.[] | select(.path | startswith("./workflows"))' <<<"$(WF_PATH="$WORK/p1" wf list --json)"
	assert_output - <<'E'
{"name":"away","path":"./workflows/away.yaml","description":"","steps":null,"error":"./workflows/away.yaml: points outside its directory and is ignored","shadowed":false}
{"name":"dangling","path":"./workflows/dangling.yaml","description":"","steps":null,"error":"./workflows/dangling.yaml: cannot read: No such file or directory","shadowed":false}
{"name":"good","path":"./workflows/good.yaml","description":"shadowed by p1","steps":1,"error":null,"shadowed":true}
E
}

@test "wf list: one line per workflow, broken ones with their error, shadowed ones left out" {
	mkwf "$WORK/p1/good.yaml" good "a good one"
	mkwf "$WORK/p1/two.yaml" two
	printf 'name: two\nsteps:\n  - {id: a, action: shell, command: ls}\n  - {id: b, action: shell, command: ls}\n' >"$WORK/p1/two.yaml"
	printf 'name: broken\nsteps: []\n' >"$WORK/p1/broken.yaml"
	mkwf workflows/good.yaml good "shadowed"
	WF_PATH="$WORK/p1" run --separate-stderr wf list
	assert_success
	run grep -F "$WORK/" <<<"$output"
	assert_output - <<E
broken                   BROKEN  $WORK/p1/broken.yaml:2:8: 'steps' is empty: a workflow needs at least one step
good                       1 step   a good one  ($WORK/p1/good.yaml)
two                        2 steps  ($WORK/p1/two.yaml)
E
}

@test "wf list always includes the seed's five examples" {
	run wf list --json
	assert_success
	run jq -r '.[] | select((.shadowed | not) and (.name | test("^(pr-review-loop|test-(conditional|linear|loop|model-switch))$")))
		| "\(.name) \(.steps) \(.error)"' <<<"$output"
	assert_output - <<'E'
pr-review-loop 13 null
test-conditional 3 null
test-linear 2 null
test-loop 4 null
test-model-switch 4 null
E
}

@test "wf show: each step, its action, the model it talks to, and its jumps" {
	run --separate-stderr wf show pr-review-loop
	assert_success
	assert_output - <<E
pr-review-loop: Create PR, review with different models, iterate until approved
  file: $(realpath "$EXAMPLES/pr-review-loop.yaml")
  steps: 13, starting model: default
  1. s1       create-pr     [model default] Create a pull request with gh
  2. s2       switch-model  [model -> glm] Switch to glm model for review
  3. s3       review-pr     [model glm] Review PR and make necessary comments
  4. s4       make-changes  [model glm] Make changes based on comments
  5. s5       commit-push   [model glm] Commit and push changes
  6. s6       switch-model  [model -> original] Switch back to original model
  7. s7       review-pr     [model original] Review PR and make comments  check: approved  on-approved -> s11  on-rejected -> s8
  8. s8       make-changes  [model original] Make changes based on comments
  9. s9       commit-push   [model original] Commit and push changes
 10. s10      loop          not-approved  (at most 5 times)  to -> s2
 11. s11      self-review   [model original] Post self-review comment
 12. s12      merge-pr      Merge the PR
 13. s13      sync          Sync with main branch
E
}

@test "wf show: a workflow's own model, a step's model, variables and multi-line text" {
	write workflows/own.yaml <<'Y'
name: own
model: sonnet
steps:
  - id: draft
    action: ai-prompt
    prompt: |
      Write the code.
      Then the tests.
  - id: review
    action: ai-prompt
    model: glm
    prompt: Review it
  - id: read
    action: load-variable
    name: verdict
    from: out.txt
  - id: ask
    action: conditional
    condition: verdict == "ok"
    on-true: done
    on-false: draft
  - id: done
    action: shell
    command: echo done
Y
	run --separate-stderr wf show own
	assert_success
	assert_output - <<E
own
  file: $WORK/workflows/own.yaml
  steps: 5, starting model: sonnet
  1. draft    ai-prompt     [model sonnet] Write the code....
  2. review   ai-prompt     [model glm] Review it
  3. read     load-variable verdict <- out.txt
  4. ask      conditional   verdict == "ok"  on-true -> done  on-false -> draft
  5. done     shell         echo done
E
}

@test "wf show --json prints the canonical workflow; a bad name or file fails" {
	run --separate-stderr wf show --json test-loop
	assert_success
	[ "$output" = "$(wf-parse test-loop)" ]
	run wf show nothing-here
	assert_failure 66
	assert_output "wf-parse: no workflow named 'nothing-here' (looked for nothing-here.yaml and a 'name: nothing-here' along the search path; see 'wf list')"
	printf 'name: x\nsteps: 3\n' >workflows.yaml
	run wf show workflows.yaml
	assert_failure 65
	assert_output "wf-parse: workflows.yaml:2:8: 'steps': expected a list of steps, got a number"
}

@test "wf validate: ok lines for names and files, every error for bad ones" {
	printf 'name: bad\nsteps:\n  - id: a\n    action: shell\n    comand: ls\n' >bad.yaml
	run --separate-stderr wf validate test-linear "$EXAMPLES/test-loop.yaml"
	assert_success
	assert_output "test-linear: ok (2 steps)
$EXAMPLES/test-loop.yaml: ok (4 steps)"
	run --separate-stderr wf validate test-linear bad.yaml
	assert_failure 65
	assert_output "test-linear: ok (2 steps)"
	[ "$stderr" = "wf-parse: bad.yaml:3:5: step 'a': action 'shell' needs 'command'
wf-parse: bad.yaml:5:5: unknown key 'comand' (did you mean 'command'?)" ]
}

@test "wf validate: a missing workflow is 66, but invalid data wins with 65" {
	printf 'name: bad\nsteps: []\n' >bad.yaml
	run wf validate no-such
	assert_failure 66
	run wf validate no-such bad.yaml
	assert_failure 65
	run wf validate bad.yaml no-such
	assert_failure 65
	run wf validate
	assert_failure 2
}

@test "a FIFO on the search path is listed as broken and never opened" {
	mkdir -p workflows
	mkfifo workflows/pipe.yaml
	run timeout 10 wf list --json
	assert_success
	run jq -c '.[] | select(.name == "pipe")' <<<"$output"
	assert_output '{"name":"pipe","path":"./workflows/pipe.yaml","description":"","steps":null,"error":"./workflows/pipe.yaml: not a regular file; ignored","shadowed":false}'
	# Looking up another name reads every file's name: field, but not this one.
	run timeout 10 wf-parse nothing-here
	assert_failure 66
	assert_output "wf-parse: no workflow named 'nothing-here' (looked for nothing-here.yaml and a 'name: nothing-here' along the search path; see 'wf list')"
}

@test "wf list in the source tree lists only workflows: nothing there is broken" {
	cd "$REPO_ROOT"
	run --separate-stderr wf list
	assert_success
	refute_output --partial BROKEN
	assert_line --regexp '^demo +[0-9]+ steps'
}
