#!/usr/bin/env bats
# Templates (wf-create(1)): wf templates lists them, wf create --template
# writes one as a new workflow (name and input defaults edited in place,
# values quoted, validated, written atomically, never over a file without
# --force), and every shipped template runs end to end on the fakes: a
# real git repository with a bare origin, the fake model provider, the
# fake forge for the pull-request one.
load helpers
load fake-provider
load fake-forge
bats_require_minimum_version 1.5.0

TEMPLATES="$REPO_ROOT/workflows/templates"

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

# The fake provider answering SCRIPT (a JSON file), and models.yaml on it.
provider() {
	fake_provider_start "$1"
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
}

# A git repository in $WORK/repo (cd'd into) with a bare origin, one commit on main.
repo() {
	forge_repo
}

@test "every template validates, and wf templates lists each with its description and inputs" {
	n=0
	for f in "$TEMPLATES"/*.yaml; do
		run wf validate "$f"
		assert_success
		n=$((n + 1))
	done
	[ "$n" -ge 9 ]
	run --separate-stderr wf templates --json
	assert_success
	# Every file, by its name, with a description and every input described.
	[ "$(jq -r 'map(.name) | sort | join(" ")' <<<"$output")" = \
	  "$(for f in "$TEMPLATES"/*.yaml; do basename "$f" .yaml; done | sort | tr '\n' ' ' | sed 's/ $//')" ]
	jq -e 'all(.[]; .error == null and (.description | length > 0)
		and (.inputs | to_entries | all(.value.description | length > 0)))' <<<"$output"
	for t in test-fix-loop pr-review-loop multi-model-review release docs-update \
		test-linear test-conditional test-loop test-model-switch; do
		jq -e --arg t "$t" 'any(.[]; .name == $t)' <<<"$output"
	done
	jq -e '.[] | select(.name == "test-fix-loop") | .inputs.test_command.default == "make check"' <<<"$output"
	jq -e '.[] | select(.name == "release") | .inputs.version | has("default") | not' <<<"$output"
	# The table: a line per template, a line per input with its default or (required).
	run --separate-stderr wf create --list
	assert_success
	assert_line --index 0 --regexp '^NAME +DESCRIPTION$'
	assert_line --regexp '^test-fix-loop +Run the tests; on failure a model patches the code'
	assert_line --regexp '^    test_command +The command that runs the tests.* \(default: make check\)$'
	assert_line --regexp '^    version +The tag to make, such as v1.4.0 \(required\)$'
	run wf templates extra
	assert_failure 2
	assert_output --partial "usage: wf templates [--json]"
}

@test "a template in ./workflows/templates comes before a shipped one of the same name; a broken one is listed as broken" {
	write workflows/templates/test-linear.yaml <<'Y'
name: test-linear
description: mine
steps:
  - {id: a, action: shell, command: "true"}
Y
	write workflows/templates/broken.yaml <<'Y'
name: broken
steps: []
Y
	run --separate-stderr wf templates --json
	assert_success
	run jq -r '.[] | select(.name == "test-linear") | .description' <<<"$output"
	assert_output mine
	run wf templates
	assert_line --regexp '^broken +BROKEN  .*broken.yaml:2:8: .steps. is empty'
}

@test "create writes ./workflows/NAME.yaml: valid, named NAME, the --var values as defaults, the template's comments kept" {
	run --separate-stderr wf create ci --template test-fix-loop --var test_command='npm test' --var max_rounds=5
	assert_success
	[ -z "$output" ]
	[ "$stderr" = "wf-create: wrote workflows/ci.yaml; run it with 'wf run ci'" ] ||
	[ "$stderr" = "wrote workflows/ci.yaml; run it with 'wf run ci'" ]
	run wf-parse workflows/ci.yaml
	assert_success
	run jq -c '[.name, .inputs.test_command.default, .inputs.max_rounds.default, .inputs.model.default]' <<<"$output"
	assert_output '["ci","npm test","5","default"]'
	# Only the three lines changed: comments and layout are the template's.
	run diff "$TEMPLATES/test-fix-loop.yaml" workflows/ci.yaml
	assert_failure 1
	[ "$(grep -c '^[<>]' <<<"$output")" -eq 6 ]
	assert_line '> name: "ci"'
	assert_line '>     default: "npm test"'
	assert_line '>     default: "5"'
	# wf run finds it by name, and the run sees the input.
	run wf-parse ci
	assert_success
	# A template named by path works as well.
	run wf create other --template "$TEMPLATES/test-linear.yaml" -o -
	assert_success
	assert_line 'name: "other"'
}

@test "create refuses to overwrite without --force (exit 2, file unchanged) and replaces it with --force" {
	mkdir workflows
	printf 'keep me\n' > workflows/ci.yaml
	run --separate-stderr wf create ci --template test-linear
	assert_failure 2
	[ "$stderr" = "wf-create: 'workflows/ci.yaml' exists; add --force to overwrite it" ]
	[ "$(cat workflows/ci.yaml)" = "keep me" ]
	printf 'keep me too\n' > mine.yaml
	run wf create ci --template test-linear -o mine.yaml
	assert_failure 2
	assert_output --partial "'mine.yaml' exists; add --force"
	[ "$(cat mine.yaml)" = "keep me too" ]
	run wf create ci --template test-linear --force
	assert_success
	run wf-parse --check workflows/ci.yaml
	assert_success
	# No temporary file is left behind, either way.
	run ls -A workflows
	assert_output ci.yaml
}

@test "create -o - writes to standard output only; -o FILE writes there" {
	run --separate-stderr wf create t1 --template test-conditional --var file=x.txt -o -
	assert_success
	[ -z "$stderr" ]
	[ ! -e workflows ]
	printf '%s\n' "$output" > out.yaml
	run wf-parse out.yaml
	assert_success
	[ "$(jq -r '.name + " " + .inputs.file.default' <<<"$output")" = "t1 x.txt" ]
	run wf create t2 --template test-linear -o sub/t2.yaml
	assert_success
	run wf-parse --check sub/t2.yaml
	assert_success
}

@test "hostile --var values round-trip literally: quotes, backslashes, newlines, \${...}, \$(...), #, tabs, Unicode line breaks" {
	values=(
		'a "quoted" value'
		"it's"
		'back\slash\n\"'
		$'two\nlines\n'
		'${vars.other} and $${x}'
		'$(touch pwned) `touch pwned2`'
		'# not a comment: {a: b}, [c]'
		$'tab\there\rcr'
		$'line\xe2\x80\xa8sep\xc2\x85nel'
		' leading and trailing spaces '
		''
		'null'
	)
	for v in "${values[@]}"; do
		run --separate-stderr wf create h --template test-conditional --var "file=$v" -o -
		assert_success
		printf '%s\n' "$output" > h.yaml
		wf-parse h.yaml | jq -j '.inputs.file.default' > got
		printf '%s' "$v" > want
		cmp got want
	done
	# Run with a hostile name: the shell sees it as data, never as code.
	run wf create h --template test-conditional --var 'file=a b;$(touch pwned)"' -o h.yaml --force
	assert_success
	run wf run ./h.yaml --quiet
	assert_success
	[ -f 'a b;$(touch pwned)"' ]
	[ ! -e pwned ]
}

@test "unknown template: 66 naming the templates there are; unknown --var: 2 naming the inputs; nothing written" {
	run --separate-stderr wf create x --template test-fix-lop
	assert_failure 66
	[[ "$stderr" == *"no template named 'test-fix-lop' (the templates: "*"test-fix-loop"*"; see 'wf templates')"* ]]
	run --separate-stderr wf create x --template test-fix-loop --var test_cmd=x
	assert_failure 2
	[ "$stderr" = "wf-create: --var test_cmd: template 'test-fix-loop' has no input 'test_cmd' (its inputs: test_command, max_rounds, model)" ]
	run wf create x --template test-linear --var a=b
	assert_failure 2
	assert_output --partial "(its inputs: none)"
	run wf create x --template ./nowhere.yaml
	assert_failure 66
	run wf create x --template test-linear --var novalue
	assert_failure 2
	assert_output --partial "--var takes NAME=VALUE"
	[ ! -e workflows ]
}

@test "names with '/' or '..' or a leading dot are refused (2) and nothing leaves ./workflows" {
	for n in ../evil a/b .hidden -dash '..' 'x y'; do
		run --separate-stderr wf create --template test-linear -- "$n"
		assert_failure 2
		assert_output ""
		[[ "$stderr" == *"invalid workflow name"* ]]
	done
	[ ! -e workflows ] && [ ! -e ../evil.yaml ] && [ ! -e evil.yaml ]
	run wf create
	assert_failure 2
	assert_output --partial "which workflow? give its NAME"
	run wf create a b --template test-linear
	assert_failure 2
	run wf create a
	assert_failure 2
	assert_output --partial "--template T"
}

@test "a default is added where an input has none: block, flow and empty inputs; block-scalar defaults replaced" {
	write workflows/templates/shapes.yaml <<'Y'
# a comment that must survive
name: shapes   # the name
description: inputs written every way
inputs:
  block:
    description: a block mapping
  flow: {description: a flow mapping}
  empty:
  braces: {}
  multi:
    default: |
      first
      second
    description: after the block scalar
  quoted:
    default: 'it''s'   # note
steps:
  - id: s
    action: shell
    command: 'printf "%s|" "$block" "$flow" "$empty" "$braces" "$multi" "$quoted"'
    output: seen
Y
	run --separate-stderr wf create s --template shapes --var block=B --var flow='F"' \
		--var empty=E --var braces=C --var multi=M --var quoted=Q -o s.yaml
	assert_success
	run wf-parse s.yaml
	assert_success
	run jq -c '[.name, (.inputs | map_values(.default))]' <<<"$output"
	assert_output '["s",{"block":"B","flow":"F\"","empty":"E","braces":"C","multi":"M","quoted":"Q"}]'
	grep -qx '# a comment that must survive' s.yaml
	grep -qx 'name: "s"   # the name' s.yaml
	grep -qx '    default: "Q"   # note' s.yaml
	run wf run ./s.yaml --quiet
	assert_success
	run wf-state get s vars.seen
	assert_output 'B|F"|E|C|M|Q|'
	# A template the editor cannot write into is refused, not mangled.
	write workflows/templates/seq.yaml <<'Y'
name: seq
inputs:
  x:
    default: [a, b]
steps:
  - {id: s, action: shell, command: "true"}
Y
	if wf-parse --check workflows/templates/seq.yaml >/dev/null 2>&1; then
		run wf create q --template seq --var x=1 -o q.yaml
		assert_failure 65
		assert_output --partial "cannot rewrite 'inputs/x/default'"
		[ ! -e q.yaml ]
	fi
}

@test "an invalid template is reported with its problems (65) and nothing is written" {
	write workflows/templates/bad.yaml <<'Y'
name: bad
inputs:
  x: {description: d}
steps:
  - {id: s, action: shel, command: "true"}
Y
	run --separate-stderr wf create b --template bad --var x=1
	assert_failure 65
	[[ "$stderr" == *"bad.yaml:5:"* ]]
	[ ! -e workflows/b.yaml ]
}

@test "make install puts the templates where the installed wf finds them" {
	# -o all: install the programs under test as they are, never build them here.
	run make -s -o all -C "$REPO_ROOT" install BIN="$WF_BIN" DESTDIR="$BATS_TEST_TMPDIR/dest" PREFIX=/opt/wf
	assert_success
	run "$BATS_TEST_TMPDIR/dest/opt/wf/bin/wf" templates --json
	assert_success
	jq -e --arg d "$BATS_TEST_TMPDIR/dest/opt/wf/share/wf/workflows/templates/" \
		'length >= 9 and all(.[]; .path | startswith($d))' <<<"$output"
	run "$BATS_TEST_TMPDIR/dest/opt/wf/bin/wf" create ci --template test-fix-loop
	assert_success
	run wf-parse --check workflows/ci.yaml
	assert_success
}

# ---- every template, end to end ----

@test "test-linear and test-conditional run from created copies" {
	wf create lin --template test-linear
	run wf run lin --quiet
	assert_success
	run sh -c "wf logs lin 2>&1"
	wf create cond --template test-conditional --var file=made.txt
	run wf run cond
	assert_success
	assert_output --partial "not exists"
	assert_output --partial "create file"
	[ -f made.txt ]
	run wf run cond --restart
	assert_success
	assert_output --partial "exists"
	refute_output --partial "create file"
}

@test "test-loop: three passes with a model call each, the counter in the working directory, not /tmp" {
	provider - <<'J'
{"responses": [], "default": {"text": "pass {n}"}}
J
	wf create loop --template test-loop
	run wf run loop --quiet
	assert_success
	[ "$(fake_provider_count)" -eq 3 ]
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG'"
	assert_output $'Count current iteration: 0\nCount current iteration: 1\nCount current iteration: 2'
	run wf-state get loop vars.i
	assert_output 3
	[ ! -e test-loop-counter.txt ]
	grep -q '/tmp' "$TEMPLATES/test-loop.yaml" && false
	# Fewer rounds by --var at run time.
	run wf run loop --quiet --restart --var rounds=2
	assert_success
	[ "$(fake_provider_count)" -eq 5 ]
}

@test "test-model-switch: the chosen model answers the first prompt, the original the second" {
	provider - <<'J'
{"responses": [], "default": {"text": "hi from {model}"}}
J
	wf create sw --template test-model-switch --var model=claude
	run wf run sw --quiet
	assert_success
	run sh -c "jq -r '.model + \" | \" + .body.messages[-1].content' '$FAKE_LOG'"
	assert_output $'claude-test | You are claude. Say hello.\ngpt-test | You are back to original model. Confirm.'
}

# A project whose test fails until greet.py says "hello, ".
fix_repo() {
	repo
	printf 'grep -q "hello, " greet.py || { echo "FAIL: greet.py does not say hello, " >&2; exit 1; }\necho ok\n' > check.sh
	git add check.sh && git commit -q -m "Add the check"
	printf 'workflows/\n' >> .git/info/exclude
	wf create fix --template test-fix-loop --var test_command='sh check.sh' --var max_rounds=2
}

GOOD_PATCH='--- a/greet.py
+++ b/greet.py
@@ -1,2 +1,2 @@
 def greet(name):
-    return "hello " + name
+    return "hello, " + name
'

@test "test-fix-loop: a failing test, the model's patch checked and applied, the loop ends green" {
	jq -n --arg p "$GOOD_PATCH" '[{"text": ("```diff\n" + $p + "```\n")}]' > script.json
	provider "$WORK/script.json"
	fix_repo
	run wf run fix
	assert_success
	assert_output --partial "patch applied"
	assert_output --partial "the tests pass"
	grep -q 'hello, ' greet.py
	[ "$(fake_provider_count)" -eq 1 ]
	# The model saw the failure, standard error included, and the command.
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG'"
	assert_output --partial 'The test command `sh check.sh` failed with exit status 1'
	assert_output --partial 'FAIL: greet.py does not say hello,'
	[ ! -e .wf-fix.patch ]
}

@test "test-fix-loop: a patch that does not apply is not applied; the next round's does" {
	jq -n --arg p "$GOOD_PATCH" '[{"text": "--- a/greet.py\n+++ b/greet.py\n@@ -1,2 +1,2 @@\n def nothing_here():\n-    pass\n+    fail\n"},
		{"text": $p}]' > script.json
	provider "$WORK/script.json"
	fix_repo
	before=$(git status --porcelain)
	run wf run fix
	assert_success
	assert_output --partial "the patch does not apply; the next round tries again"
	[ "$(fake_provider_count)" -eq 2 ]
	grep -q 'hello, ' greet.py
	# Only greet.py changed: the bad patch touched nothing.
	run git status --porcelain
	assert_output " M greet.py"
	[ -z "$before" ]
}

@test "test-fix-loop: a model that never fixes it: max_rounds patches, then the run fails naming the cap" {
	jq -n '[{"text": "no idea", "repeat": -1}]' > script.json
	provider "$WORK/script.json"
	fix_repo
	run wf run fix
	assert_failure 1
	assert_output --partial "the tests still fail after 2 patches"
	[ "$(fake_provider_count)" -eq 2 ]
	run git status --porcelain
	assert_output ""
	# A larger cap at run time.
	run wf run fix --restart --var max_rounds=3
	assert_failure 1
	[ "$(fake_provider_count)" -eq 5 ]
}

# Three reviewers on three models; the answer decides.
review_setup() {
	provider - <<'J'
{"responses": [
 {"match": {"model": "gpt-test"}, "text": "gpt: rename x"},
 {"match": {"model": "claude-test"}, "text": "claude: add a test"},
 {"match": {"model": "llama3.2:latest"}, "text": "both: fine after renaming x"}
], "default": {"text": "unexpected"}}
J
	repo
	printf 'x = 1\n' > change.py
	git add change.py && git commit -q -m "A change"
	git push -q origin HEAD:main
	git checkout -q -b work
	printf 'x = 2\n' > change.py
	wf create rv --template multi-model-review --var first_reviewer=gpt \
		--var second_reviewer=claude --var summariser=llama
}

@test "multi-model-review: two models review the same diff, a third summarises both, a person approves" {
	review_setup
	run wf run rv -y --answer yes
	assert_success
	assert_output --partial "approved"
	run sh -c "jq -r '.model' '$FAKE_LOG' | tr '\n' ' '"
	assert_output "gpt-test claude-test llama3.2:latest "
	# Both reviewers got the same diff; the summariser got both reviews.
	run sh -c "jq -r 'select(.model != \"llama3.2:latest\") | .body.messages[-1].content' '$FAKE_LOG' | grep -c '^+x = 2'"
	assert_output 2
	run sh -c "jq -r 'select(.model == \"llama3.2:latest\") | .body.messages[-1].content' '$FAKE_LOG'"
	assert_output --partial "gpt: rename x"
	assert_output --partial "claude: add a test"
}

@test "multi-model-review: a person answering no ends the run unapproved; no change means nothing to review" {
	review_setup
	run wf run rv -y --answer no
	assert_failure 1
	assert_output --partial "not approved"
	git checkout -q change.py
	run wf run rv --restart -y --answer yes
	assert_failure 1
	assert_output --partial "no changes against main"
}

release_setup() {
	provider - <<'J'
{"responses": [{"text": "Added:\n- farewell"}], "default": {"text": "unexpected"}}
J
	repo
	git tag -a v0.1.0 -m "v0.1.0"
	printf 'def farewell(n):\n    return n\n' >> greet.py
	git commit -q -am "Add farewell"
	wf create rel --template release --var check_command=true
	# The workflow file is not part of the release.
	printf 'workflows/\n' >> .git/info/exclude
}

@test "release: checks, a changelog from git log since the last tag, approval, tag and push" {
	release_setup
	run wf run rel -y --var version=v0.2.0 --answer yes
	assert_success
	assert_output --partial "tagged v0.2.0"
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG'"
	assert_output --partial "- Add farewell"
	refute_output --partial "initial commit"
	run origin_git tag -l --format='%(contents)' v0.2.0
	assert_output $'Added:\n- farewell'
	[ "$(origin_git rev-parse v0.2.0^{commit})" = "$(git rev-parse HEAD)" ]
	# Tagging and pushing ask again after a crash: they are not idempotent.
	run wf-parse rel
	jq -e '[.steps[] | select(.id == "tag" or .id == "push") | .idempotent] == [false, false]' <<<"$output"
}

@test "release: answering no tags nothing; a missing version stops before the first step; a bad one is refused" {
	release_setup
	run wf run rel -y --var version=v0.2.0 --answer no
	assert_failure 1
	assert_output --partial "nothing tagged"
	run git tag -l v0.2.0
	assert_output ""
	run wf run rel --restart
	assert_failure 2
	assert_output --partial "version"
	run wf run rel --restart --var version=--delete
	assert_failure 1
	assert_output --partial "is not a tag name"
	[ "$(fake_provider_count)" -eq 1 ]
}

docs_setup() {
	provider "$WORK/script.json"
	repo
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	git push -q origin HEAD:work
	git reset -q --hard HEAD~1
	git checkout -q -b work origin/work
	wf create docs --template docs-update
	printf 'workflows/\n' >> .git/info/exclude
}

@test "docs-update: the model's doc patch is shown, approved, and committed alone" {
	jq -n '[{"text": "--- a/README.md\n+++ b/README.md\n@@ -1 +1,3 @@\n # widgets\n+\n+greet() and farewell() say hello and bye.\n"}]' > script.json
	docs_setup
	run wf run docs -y --answer yes
	assert_success
	assert_output --partial "+greet() and farewell() say hello and bye."
	assert_output --partial "committed"
	run git show --stat --format=%s HEAD
	assert_line --index 0 "Update the documentation"
	assert_output --partial "README.md"
	refute_output --partial "greet.py"
	run sh -c "jq -r '.body.messages[-1].content' '$FAKE_LOG'"
	assert_output --partial '+    return "bye " + name'
	run git status --porcelain
	assert_output ""
}

@test "docs-update: answering no undoes the edit; a patch outside docs is refused" {
	jq -n '[{"text": "--- a/README.md\n+++ b/README.md\n@@ -1 +1,2 @@\n # widgets\n+more\n"},
		{"text": "--- /dev/null\n+++ b/evil.sh\n@@ -0,0 +1 @@\n+echo pwned\n"}]' > script.json
	docs_setup
	head=$(git rev-parse HEAD)
	run wf run docs -y --answer no
	assert_failure 1
	assert_output --partial "not committed; the edit is undone"
	[ "$(git rev-parse HEAD)" = "$head" ]
	run git status --porcelain
	assert_output ""
	run wf run docs --restart
	assert_failure 1
	assert_output --partial "the patch touches evil.sh, which is not in docs"
	[ ! -e evil.sh ]
	run git status --porcelain
	assert_output ""
}

@test "pr-review-loop: created with the reviewer as a --var, one PR reviewed, fixed, approved and merged" {
	patch=$(printf -- '--- a/greet.py\n+++ b/greet.py\n@@ -3,2 +3,2 @@\n def farewell(name):\n-    return "bye " + name\n+    return "goodbye " + name\n')
	jq -n --arg patch "$patch" '[
	 {"match": {"prompt_contains": "Write a title and a description"}, "text": "{\"title\": \"Add farewell\", \"body\": \"Adds farewell().\"}"},
	 {"match": {"prompt_contains": "naming only", "model": "rev-test"},
	  "text": "{\"approved\": false, \"summary\": \"Say goodbye.\", \"comments\": []}"},
	 {"match": {"prompt_contains": "naming only", "model": "gpt-test"},
	  "text": "{\"approved\": true, \"summary\": \"Good now.\", \"comments\": []}"},
	 {"match": {"prompt_contains": "Change the code to address the review"}, "text": ("```diff\n" + $patch + "\n```\n")},
	 {"match": {"prompt_contains": "Write a git commit message"}, "text": "Say goodbye"},
	 {"match": {"prompt_contains": "Write a self-review comment"}, "text": "Done."}
	]' > "$BATS_TEST_TMPDIR/script.json"
	repo
	fake_forge_start
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	provider "$BATS_TEST_TMPDIR/script.json"
	sed -i 's/^models:$/models:\n  rev: {provider: fake-openai, model: rev-test}/' "$WF_MODELS"
	wf create prl --template pr-review-loop --var reviewer=rev --var focus='naming only' -o "$BATS_TEST_TMPDIR/prl.yaml"
	run wf run "$BATS_TEST_TMPDIR/prl.yaml" --yes
	assert_success
	assert_output --partial "#1 changes requested: Say goodbye."
	assert_output --partial "#1 approved: Good now."
	assert_output --partial "merged pull request #1"
	run forge_state '.pulls | map([.number, .state, .merged])'
	assert_output '[[1,"closed",true]]'
	run sh -c "jq -r 'select(.body.messages[-1].content | contains(\"naming only\")) | .model' '$FAKE_LOG' | tr '\n' ' '"
	assert_output "rev-test gpt-test "
	run origin_git show main:greet.py
	assert_output --partial 'return "goodbye " + name'
}

@test "completion: wf create --template TAB offers the template names; wf templates TAB its options" {
	source "$REPO_ROOT/completions/wf.bash"
	COMP_WORDS=(wf create ci --template test-f) COMP_CWORD=4 COMPREPLY=()
	_wf
	[ "${COMPREPLY[*]}" = "test-fix-loop" ]
	COMP_WORDS=(wf create ci --template '') COMP_CWORD=4 COMPREPLY=()
	_wf
	[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = \
	  "docs-update multi-model-review pr-review-loop release test-conditional test-fix-loop test-linear test-loop test-model-switch " ]
	COMP_WORDS=(wf templates --) COMP_CWORD=2 COMPREPLY=()
	_wf
	[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "--help --json " ]
}

@test "-o makes the directories the file goes in, as mkdir -p would; a file in the way is an I/O error" {
	run wf create x --template test-linear -o deep/er/x.yaml
	assert_success
	run wf validate deep/er/x.yaml
	assert_success
	run wf create y --template test-linear -o deep/er/x.yaml/y.yaml
	assert_failure 74
	assert_output "wf-create: cannot write 'deep/er/x.yaml/y.yaml': Not a directory"
}

@test "wf create --var reads NAME=VALUE as wf run does: a reserved name is refused (65) before anything is written" {
	run wf create x --template test-fix-loop --var PATH=/tmp
	assert_failure 65
	assert_output "wf-create: --var PATH: variable 'PATH' would change what commands run, so a workflow may not set it (use another name)"
	[ ! -e workflows/x.yaml ]
	run wf run test-linear --var PATH=/tmp
	assert_failure 65
	assert_output "wf-run: --var PATH: variable 'PATH' would change what commands run, so a workflow may not set it (use another name)"
}
