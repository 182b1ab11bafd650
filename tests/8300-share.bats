#!/usr/bin/env bats
# wf export and wf import (wf-create(1) "Export and import"): a workflow,
# the sub-workflows it calls and its action programs as one bundle, and
# back; hostile bundles refused before anything is written; git
# repositories as sources; an imported workflow is never trusted.
load helpers
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	mkdir -p "$BATS_TEST_TMPDIR/elsewhere"
}

no_auto_approve() {
	rm -f "$XDG_CONFIG_HOME/wf/config.yaml"
}

# A project in ./src: main (a shell step and the custom action greet, in
# workflows/actions/), nothing else.
simple_project() {
	write src/workflows/main.yaml <<'Y'
# main: say hello, then greet (comments travel too)
name: main
steps:
  - id: hello
    action: shell
    command: echo "hello from main"
  - id: greet
    action: greet
Y
	write src/workflows/actions/wf-action-greet <<'S'
#!/bin/sh
cat > /dev/null
printf '{"status":"ok","exit_code":0,"output":"greetings from the action"}\n'
S
	chmod 755 src/workflows/actions/wf-action-greet
}

# Every file under directory $1, with its mode and checksum, sorted.
tree_of() {
	(cd "$1" && find . -type f -printf '%P %m ' -exec sha256sum {} \; | awk '{ print $1, $2, $3 }' | sort)
}

# A bundle's JSON on stdin, changed by the jq program $1, into bad.json.
tamper() {
	jq -c "$1" > bad.json
}

# Import $1 (a bundle) and assert it fails with $2, leaving nothing behind.
refused() {
	run --separate-stderr wf import "$1"
	assert_failure "$2"
	[ -z "$output" ]
	[ ! -e workflows ]
	[ -z "$(find . -maxdepth 1 -name '.wf-import-*')" ]
}

@test "export then import into a fresh project gives the same bytes and modes, and the workflow validates and runs" {
	simple_project
	cd src
	run --separate-stderr wf export main
	assert_success
	[ -z "$output" ]
	[ "$stderr" = "wf-create: wrote main.wfb.json: workflow 'main', 0 sub-workflows, 1 action program" ]
	# The bundle is JSON that jq reads: its manifest names each file with its hash.
	run jq -r '.format, .workflow, (.files[] | "\(.path) \(.kind) \(.mode) \(.encoding)")' main.wfb.json
	assert_output $'wf-bundle/1\nmain\nworkflows/main.yaml workflow 0644 utf-8\nworkflows/actions/wf-action-greet action 0755 utf-8'
	[ "$(jq -r '.files[0].sha256' main.wfb.json)" = "$(sha256sum < workflows/main.yaml | cut -c1-64)" ]
	mkdir ../fresh && cd ../fresh
	run --separate-stderr wf import ../src/main.wfb.json
	assert_success
	assert_output $'workflows/main.yaml\nworkflows/actions/wf-action-greet'
	[ "$(tree_of workflows)" = "$(tree_of ../src/workflows)" ]
	grep -q '^# main: say hello' workflows/main.yaml
	run wf validate main
	assert_success
	run wf run main
	assert_success
	assert_line "hello from main"
	run wf-state get main steps.greet
	assert_success
	[ "$(jq -r .output <<<"$output")" = "greetings from the action" ]
}

@test "sub-workflows travel with their caller, each once, by name and by file; a program only on PATH is named, not copied" {
	write src/workflows/main.yaml <<'Y'
name: main
steps:
  - id: a
    action: workflow
    workflow: left
  - id: b
    action: workflow
    workflow: lib/right.yaml
  - id: c
    action: onpath
Y
	write src/workflows/left.yaml <<'Y'
name: left
steps:
  - id: shared
    action: workflow
    workflow: common
Y
	write src/workflows/lib/right.yaml <<'Y'
name: right
steps:
  - id: shared
    action: workflow
    workflow: common
  - id: tool
    action: tool
Y
	write src/workflows/common.yaml <<'Y'
name: common
steps:
  - id: s
    action: shell
    command: "true"
Y
	write src/workflows/unrelated.yaml <<'Y'
name: unrelated
steps:
  - id: s
    action: shell
    command: "true"
Y
	mkdir -p src/workflows/lib/actions
	printf '#!/bin/sh\necho {}\n' > src/workflows/lib/actions/wf-action-tool
	chmod 700 src/workflows/lib/actions/wf-action-tool
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	printf '#!/bin/sh\necho {}\n' > "$BATS_TEST_TMPDIR/bin/wf-action-onpath"
	chmod +x "$BATS_TEST_TMPDIR/bin/wf-action-onpath"
	export PATH="$PATH:$BATS_TEST_TMPDIR/bin"
	cd src
	run --separate-stderr wf export main -o ../main.json
	assert_success
	assert_equal "${stderr_lines[0]}" "wf-create: wrote ../main.json: workflow 'main', 3 sub-workflows, 1 action program"
	assert_equal "${stderr_lines[1]}" "wf-create: workflows/main.yaml: step 'c' needs 'wf-action-onpath', which is not in the bundle (found at $BATS_TEST_TMPDIR/bin/wf-action-onpath): it must be on PATH where the workflow runs"
	run jq -r '.files[] | "\(.path) \(.mode)"' ../main.json
	assert_output $'workflows/main.yaml 0644\nworkflows/left.yaml 0644\nworkflows/lib/right.yaml 0644\nworkflows/common.yaml 0644\nworkflows/lib/actions/wf-action-tool 0700'
	run jq -c '.requires' ../main.json
	assert_output '[{"action":"onpath","step":"c","in":"workflows/main.yaml","found":"'"$BATS_TEST_TMPDIR"'/bin/wf-action-onpath"}]'
	mkdir ../fresh && cd ../fresh
	run wf import ../main.json
	assert_success
	[ ! -e workflows/unrelated.yaml ]
	[ ! -e workflows/actions/wf-action-onpath ]
	cmp workflows/lib/right.yaml ../src/workflows/lib/right.yaml
	[ -x workflows/lib/actions/wf-action-tool ]
	run wf validate workflows/main.yaml workflows/lib/right.yaml workflows/left.yaml workflows/common.yaml
	assert_success
}

@test "a sub-workflow outside the caller's directory, or missing, stops the export with 65 and writes no bundle" {
	write src/workflows/main.yaml <<'Y'
name: main
steps:
  - id: up
    action: workflow
    workflow: ../shared/x.yaml
Y
	write src/shared/x.yaml <<'Y'
name: x
steps:
  - {id: a, action: shell, command: "true"}
Y
	cd src
	run --separate-stderr wf export main
	assert_failure 65
	assert_equal "$stderr" "wf-create: ./workflows/main.yaml: sub-workflow '../shared/x.yaml' is outside the workflow's directory: a bundle holds only what lies under it (step 'up')"
	[ ! -e main.wfb.json ]
	sed -i 's|\.\./shared/x.yaml|nosuch|' workflows/main.yaml
	run --separate-stderr wf export main
	# The validator finds the missing workflow first, at the calling step's line:col.
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "wf-create: ./workflows/main.yaml:5:15: step 'up': no workflow named 'nosuch' (looked for nosuch.yaml and a 'name: nosuch' along the search path; see 'wf list')"
	[ ! -e main.wfb.json ]
	run --separate-stderr wf export nosuch
	assert_failure 66
	run --separate-stderr wf export
	assert_failure 2
	assert_equal "$stderr" "usage: wf export NAME [-o FILE|-] [--force]"
}

@test "export never replaces a file without --force; -o - writes the bundle to stdout for a pipe" {
	simple_project
	cd src
	echo keep > main.wfb.json
	run --separate-stderr wf export main
	assert_failure 2
	assert_equal "$stderr" "wf-create: 'main.wfb.json' exists: not overwritten (use --force to replace it)"
	[ "$(cat main.wfb.json)" = keep ]
	[ -z "$(find . -maxdepth 1 -name '.wf-bundle-*')" ]
	run wf export main --force
	assert_success
	[ "$(jq -r .format main.wfb.json)" = wf-bundle/1 ]
	mkdir ../fresh
	wf export main -o - | (cd ../fresh && wf import -)
	cmp ../fresh/workflows/main.yaml workflows/main.yaml
}

@test "a bundle whose content does not match its hash is refused with 65 and nothing is written" {
	simple_project
	(cd src && wf export main -o ../b.json)
	jq -c '.files[1].content |= sub("greetings"; "rm -rf ~; greetings")' b.json > bad.json
	refused bad.json 65
	assert_equal "$stderr" "wf-create: bad.json: files[1].sha256: does not match the content: the bundle was changed or damaged; nothing was written"
	jq -c '.files[0].size = 3' b.json > bad.json
	refused bad.json 65
	assert_equal "$stderr" "wf-create: bad.json: files[0].size: does not match the content; nothing was written"
}

@test "a path that leaves workflows/ or is not a workflow or an action program is refused before anything is written" {
	simple_project
	(cd src && wf export main -o ../b.json)
	while IFS='|' read -r path why; do
		# A correct hash, so that only the path is wrong.
		jq -c --arg p "$path" '.files[0].path = $p | .workflow = null | del(.workflow)' b.json > bad.json
		refused bad.json 65
		assert_equal "$stderr" "wf-create: bad.json: files[0].path: $why; nothing was written"
	done <<'T'
../main.yaml|a '.' or '..' in it
etc/main.yaml|not under workflows/
/etc/cron.d/main.yaml|an absolute path
workflows/../../main.yaml|a '.' or '..' in it
workflows/./main.yaml|a '.' or '..' in it
.wf/config.yaml|a part that is not a plain name (letters, digits, '.', '_', '-'; none hidden)
workflows/.hidden.yaml|a part that is not a plain name (letters, digits, '.', '_', '-'; none hidden)
workflows//main.yaml|not a plain relative path
workflows/run.sh|neither a workflow (NAME.yaml) nor an action program (actions/wf-action-NAME)
workflows/actions/main.yaml|a workflow inside an actions/ directory
workflows/wf-action-x|an action program outside an actions/ directory
workflows|not a file under workflows/
T
	[ ! -e "$HOME/.config" ]
	[ ! -e .wf ]
}

@test "a link on the way out of the project is never written through" {
	simple_project
	(cd src && wf export main -o ../b.json)
	mkdir fresh && cd fresh
	ln -s "$BATS_TEST_TMPDIR/elsewhere" workflows
	run --separate-stderr wf import ../b.json
	assert_failure 77
	assert_equal "$stderr" "wf-create: workflows: is a symbolic link: an import never writes through one; nothing was written"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/elsewhere")" ]
	rm workflows && mkdir -p workflows/actions
	ln -s "$BATS_TEST_TMPDIR/elsewhere/x" workflows/main.yaml
	run --separate-stderr wf import ../b.json --force
	assert_failure 77
	assert_equal "$stderr" "wf-create: workflows/main.yaml: exists and is not a plain file; nothing was written"
	[ -z "$(ls -A "$BATS_TEST_TMPDIR/elsewhere")" ]
	[ ! -e workflows/actions/wf-action-greet ]
}

@test "import replaces no file without --force, checking them all first; with --force it replaces them" {
	simple_project
	(cd src && wf export main -o ../b.json)
	mkdir -p fresh/workflows && cd fresh
	echo "mine" > workflows/main.yaml
	run --separate-stderr wf import ../b.json
	assert_failure 2
	assert_equal "$stderr" "wf-create: workflows/main.yaml: exists: not overwritten (use --force to replace it); nothing was written"
	[ "$(cat workflows/main.yaml)" = mine ]
	# The other file, which did not exist, was not written either.
	[ ! -e workflows/actions ]
	run --separate-stderr wf import ../b.json --force
	assert_success
	cmp workflows/main.yaml ../src/workflows/main.yaml
	[ -x workflows/actions/wf-action-greet ]
}

@test "--as renames the main workflow: its file and its name" {
	simple_project
	(cd src && wf export main -o ../b.json)
	mkdir fresh && cd fresh
	run wf import ../b.json --as hello
	assert_success
	assert_line workflows/hello.yaml
	[ ! -e workflows/main.yaml ]
	run wf-parse hello
	assert_success
	[ "$(jq -r .name <<<"$output")" = hello ]
	grep -q '^# main: say hello' workflows/hello.yaml
	run wf import ../b.json --as ../evil
	assert_failure 2
	assert_output --partial "--as '../evil': a workflow's name is"
}

@test "a workflow that does not validate is refused with its line and column, and nothing is written" {
	write src/workflows/bad.yaml <<'Y'
name: bad
steps:
  - id: s
    action: shell
    comand: "true"
Y
	# Export validates too, so the bundle is made by hand, with a correct hash.
	run --separate-stderr wf export src/workflows/bad.yaml
	assert_failure 65
	[ ! -e bad.wfb.json ]
	sum=$(sha256sum < src/workflows/bad.yaml | cut -c1-64)
	jq -nc --rawfile c src/workflows/bad.yaml --arg s "$sum" \
		'{format: "wf-bundle/1", workflow: "bad", files: [{path: "workflows/bad.yaml", mode: "0644", encoding: "utf-8", content: $c, sha256: $s}]}' > bad.json
	refused bad.json 65
	assert_equal "$stderr" "wf-create: workflows/bad.yaml:3:5: step 's': action 'shell' needs 'command'
wf-create: workflows/bad.yaml:5:5: unknown key 'comand' (did you mean 'command'?)"
}

@test "hostile JSON: truncated, wrong types, unknown members, too big, give one clear message and 65" {
	simple_project
	(cd src && wf export main -o ../b.json)
	head -c 200 b.json > bad.json
	refused bad.json 65
	[ "${#stderr_lines[@]}" -eq 1 ]
	assert_equal "${stderr:0:40}" "wf-create: bad.json: not a wf bundle: Un"
	while IFS='|' read -r prog message; do
		jq -c "$prog" b.json > bad.json
		refused bad.json 65
		[ "${#stderr_lines[@]}" -eq 1 ]
		assert_equal "$stderr" "wf-create: bad.json: $message"
	done <<'T'
[.]|not a wf bundle (a JSON object with "format": "wf-bundle/1"); nothing was written
.format = "wf-bundle/9"|format 'wf-bundle/9' is not one this version reads (wf-bundle/1); nothing was written
.files = {}|"files" must be a list of 1 to 256 files; nothing was written
.files = []|"files" must be a list of 1 to 256 files; nothing was written
.files[0].content = 7|files[0].content: not a string; nothing was written
.files[0].path = null|files[0].path: missing; nothing was written
.files[0].mode = "4755"|files[0].mode: not a mode such as "0644"; nothing was written
.files[0].encoding = "gzip"|files[0].encoding: neither "utf-8" nor "base64"; nothing was written
.files[0].encoding = "base64"|files[0].encoding: the content is not Base64; nothing was written
.files[0].kind = "action"|files[0].kind: does not match its path; nothing was written
.files[0].exec = true|files[0].exec: not a member of a bundle's file (wf-json(7)); nothing was written
.trust = ["x"]|'trust' is not a member of a bundle (wf-json(7)); nothing was written
.workflow = "other"|the workflow 'other' is not among its files (workflows/other.yaml); nothing was written
.files += [.files[0]]|files[2].path: a second file at the same place; nothing was written
T
	# Over the size limit: refused without reading it all into a JSON value.
	head -c $((33 * 1024 * 1024)) /dev/zero | tr '\0' ' ' > huge.json
	refused huge.json 65
	assert_equal "$stderr" "wf-create: huge.json: over the 32 MiB limit of a bundle; nothing was written"
	refused /dev/null 65
	run --separate-stderr wf import missing.json
	assert_failure 66
	assert_equal "$stderr" "wf-create: missing.json: cannot read: No such file or directory"
}

@test "a file that is not text travels in Base64 and comes back byte for byte" {
	simple_project
	printf '#!/bin/sh\n# \377\376 not UTF-8\ncat >/dev/null; echo "{}"\n' > src/workflows/actions/wf-action-greet
	cd src
	wf export main
	[ "$(jq -r '.files[1].encoding' main.wfb.json)" = base64 ]
	mkdir ../fresh && cd ../fresh
	run wf import ../src/main.wfb.json
	assert_success
	cmp workflows/actions/wf-action-greet ../src/workflows/actions/wf-action-greet
}

# A bare repository team.git holding src/workflows, pushed with real git.
team_repository() {
	git init -q --bare -b main team.git
	git init -q -b main src
	git -C src add -A
	git -C src -c user.name=t -c user.email=t@example.com commit -q -m workflows
	git -C src push -q ../team.git main
}

@test "import from a bare git repository by its path and by file://, all of it or one workflow with #NAME" {
	simple_project
	write src/workflows/other.yaml <<'Y'
name: other
steps:
  - id: s
    action: shell
    command: echo other
Y
	team_repository
	export TMPDIR="$BATS_TEST_TMPDIR/tmp"
	mkdir -p "$TMPDIR" one two
	cd one
	run --separate-stderr wf import ../team.git
	assert_success
	assert_output $'workflows/main.yaml\nworkflows/other.yaml\nworkflows/actions/wf-action-greet'
	[ "$(tree_of workflows)" = "$(tree_of ../src/workflows)" ]
	# --as needs one workflow.
	mkdir ../three && cd ../three
	run --separate-stderr wf import ../team.git --as x
	assert_failure 2
	assert_output ""
	[ ! -e workflows ]
	cd ../two
	run --separate-stderr wf import "file://$BATS_TEST_TMPDIR/work/team.git#main" --as team-main
	assert_success
	assert_output $'workflows/team-main.yaml\nworkflows/actions/wf-action-greet'
	run wf run team-main
	assert_success
	assert_line "hello from main"
	run --separate-stderr wf import "file://$BATS_TEST_TMPDIR/work/team.git#nope"
	assert_failure 66
	assert_equal "$stderr" "wf-create: 'file://$BATS_TEST_TMPDIR/work/team.git' has no workflow 'nope' (looked for nope.yaml in workflows/); nothing was written"
	run --separate-stderr wf import "$BATS_TEST_TMPDIR/no-such.git"
	assert_failure 69
	[[ $stderr == "wf-create: cannot clone '$BATS_TEST_TMPDIR/no-such.git': "*"; nothing was written" ]]
	# Every clone was removed afterwards.
	[ -z "$(ls -A "$TMPDIR")" ]
}

@test "a repository with workflows at its top, and one holding a link, which is refused" {
	write src/top.yaml <<'Y'
name: top
steps:
  - id: s
    action: shell
    command: echo top
Y
	ln -s /etc/passwd src/link.yaml
	team_repository
	mkdir one && cd one
	run --separate-stderr wf import ../team.git
	assert_failure 65
	assert_output ""
	assert_equal "$stderr" "wf-create: ../team.git/link.yaml: is not a plain file (a link, a directory?): only plain files are imported"
	[ ! -e workflows ]
	git -C ../src rm -q link.yaml
	git -C ../src -c user.name=t -c user.email=t@example.com commit -q -m unlink
	git -C ../src push -q ../team.git main
	run --separate-stderr wf import ../team.git
	assert_success
	assert_output workflows/top.yaml
}

@test "an imported workflow is untrusted: its shell step asks for consent until wf trust, and no bundle can write trust or configuration" {
	no_auto_approve
	simple_project
	(cd src && wf export main -o ../b.json)
	mkdir fresh && cd fresh
	wf import ../b.json
	run wf run main < /dev/null
	assert_failure 3
	assert_output --partial "step 'hello' needs consent"
	refute_line "hello from main"
	[ ! -e "$XDG_CONFIG_HOME/wf/trusted" ]
	run wf trust workflows/main.yaml
	assert_success
	run wf run main --restart < /dev/null
	assert_success
	assert_line "hello from main"
	# A bundle that tries to bring trust or configuration with it is refused.
	for path in .wf/config.yaml workflows/../.wf/config.yaml .config/wf/trusted; do
		jq -c --arg p "$path" '.files[0].path = $p | del(.workflow)' ../b.json > ../bad.json
		run wf import ../bad.json --force
		assert_failure 65
	done
	[ ! -e .wf ] && [ ! -e .config ]
}

@test "an import killed while it clones leaves ./workflows untouched, and the next one succeeds" {
	simple_project
	team_repository
	mkdir fresh && cd fresh
	cat > "$BATS_TEST_TMPDIR/slow-git" <<S
#!/bin/sh
touch "$BATS_TEST_TMPDIR/cloning"
exec sleep 600
S
	chmod +x "$BATS_TEST_TMPDIR/slow-git"
	WF_GIT="$BATS_TEST_TMPDIR/slow-git" wf-create --import ../team.git 3>&- &
	pid=$!
	wait_until test -e "$BATS_TEST_TMPDIR/cloning"
	kill -9 "$pid"
	wait "$pid" || true
	[ ! -e workflows ]
	run wf import ../team.git
	assert_success
	[ "$(tree_of workflows)" = "$(tree_of ../src/workflows)" ]
}

@test "completion: wf export offers workflow names and its options, wf import bundles and its options" {
	source "$REPO_ROOT/completions/wf.bash"
	simple_project
	cd src
	touch team.wfb.json notes.txt
	COMP_WORDS=(wf export ma) COMP_CWORD=2 COMPREPLY=()
	_wf
	[[ " ${COMPREPLY[*]} " == *" main "* ]]
	COMP_WORDS=(wf export main --) COMP_CWORD=3 COMPREPLY=()
	_wf
	[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "--force --help " ]
	COMP_WORDS=(wf import '') COMP_CWORD=2 COMPREPLY=()
	_wf
	[[ " ${COMPREPLY[*]} " == *" team.wfb.json "* ]]
	[[ " ${COMPREPLY[*]} " != *" notes.txt "* ]]
	COMP_WORDS=(wf import x.json --) COMP_CWORD=3 COMPREPLY=()
	_wf
	[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "--as --force --help " ]
}

@test "a workflow that calls another travels with it, and the imported pair runs: the child's output comes back" {
	write src/workflows/parent.yaml <<'Y'
name: parent
steps:
  - id: call
    action: workflow
    workflow: child
    with: {who: world}
  - id: keep
    action: set-variable
    name: greeting
    value: ${steps.call.outputs.greeting}
  - id: show
    action: shell
    command: printf '%s\n' "$greeting" > said
Y
	write src/workflows/child.yaml <<'Y'
name: child
inputs:
  who: {description: Whom to greet}
outputs:
  greeting: "hello ${who}"
steps:
  - {id: a, action: shell, command: "true"}
Y
	cd src
	run wf export parent -o ../p.json
	assert_success
	mkdir ../fresh && cd ../fresh
	run wf import ../p.json
	assert_success
	cmp workflows/child.yaml ../src/workflows/child.yaml
	run wf run parent --yes
	assert_success
	[ "$(cat said)" = "hello world" ]
}
