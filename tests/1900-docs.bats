#!/usr/bin/env bats
# The manual pages and the bash completion: they render cleanly, they
# cover every program, verb, option and workflow key the code has, and
# the completion offers the right words for a given command line.
load helpers

MAN="$REPO_ROOT/man"
COMPLETION="$REPO_ROOT/completions/wf.bash"

setup() {
	wf_setup
	# Two workflows on WF_PATH: one found by its file name, one whose
	# name differs from its file; alpha has mappings with "id" keys that
	# must not be taken for step ids.
	export WF_PATH="$BATS_TEST_TMPDIR/wfs"
	write "$WF_PATH/alpha.yaml" <<'Y'
name: alpha
variables:
  id: not-a-step
steps:
  - id: first
    action: shell
    command: "true"
    env:
      id: nor-this
  - action: shell
    id: second
    command: "true"
Y
	write "$WF_PATH/beta.yml" <<'Y'
name: beta-flow
steps:
  - id: only
    action: shell
    command: "true"
Y
	mkdir -p "$(rundir one)" "$(rundir two)"
	source "$COMPLETION"
}

# complete_line, replies and has_reply are in helpers.bash.

# ---- man pages ----

@test "every man page renders with groff and lints with mandoc without a warning" {
	local n=0
	for page in "$MAN"/*.[1-9]; do
		run groff -mandoc -ww -z "$page"
		assert_success
		assert_output ''
		run mandoc -T lint -W warning "$page"
		assert_success
		assert_output ''
		n=$((n + 1))
	done
	[ "$n" -ge 5 ]
}

@test "every man page has the sections a reader expects" {
	for page in "$MAN"/*.[1-9]; do
		for sect in NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
			case $page:$sect in
			*.7:SYNOPSIS) continue ;;
			esac
			grep -qx "\.Sh $sect" "$page" || { echo "$page has no $sect" >&2; return 1; }
		done
	done
}

@test "every program in cmd/ has a man page" {
	local missing=''
	for src in "$REPO_ROOT"/cmd/*.c; do
		name=$(basename "$src" .c)
		[ -f "$MAN/$name.1" ] || missing="$missing $name.1"
	done
	[ -z "$missing" ] || { echo "no man page:$missing" >&2; return 1; }
}

@test "every wf page a man page refers to exists" {
	local missing=''
	for ref in $(cat "$MAN"/*.[1-9] | sed -n 's/^\.Xr \(wf[a-z-]*\) \([0-9]\).*/\1.\2/p' | sort -u); do
		[ -f "$MAN/$ref" ] || missing="$missing $ref"
	done
	[ -z "$missing" ] || { echo "referred to but missing:$missing" >&2; return 1; }
}

# The names PAGE lists with Ic at the start of a line, alone or in a
# list (".It Ic on-true , on-false Ar step id"), one per line.
ic_names() {
	awk '$1 == ".Ic" || ($1 == ".It" && $2 == "Ic") {
		i = $1 == ".Ic" ? 2 : 3
		print $i
		while ($(i + 1) == "," && $(i + 2) != "") { i += 2; print $i }
	}' "$1"
}

@test "wf-workflow(5) documents every key, action and alias 'wf-parse --schema' has" {
	local page="$MAN/wf-workflow.5" n=0 bad=''
	run wf-parse --schema
	assert_success
	schema=$output
	# The members of the canonical JSON and of a step request belong to wf-json(7) and wf-step(1).
	json_keys=$(jq -r '.canonical[], .request[] | keys[]' <<<"$schema" | sort -u)
	[ "$(wc -w <<<"$json_keys")" -ge 12 ]
	for k in $json_keys; do
		grep -qw -- "$k" "$MAN/wf-json.7" "$MAN/wf-step.1" || bad="$bad $k"
	done
	[ -z "$bad" ] || { echo "not documented in wf-json.7 or wf-step.1:$bad" >&2; return 1; }
	keys=$(jq -r '.workflow, .step, .retry, .budget, .actions[].keys | keys[]' <<<"$schema" | sort -u)
	actions=$(jq -r '.actions | keys[]' <<<"$schema")
	aliases=$(jq -r '.aliases[].alias' <<<"$schema")
	[ "$(wc -w <<<"$actions")" -ge 15 ]
	[ "$(wc -w <<<"$aliases")" -ge 20 ]
	declare -A documented=()
	for k in $(ic_names "$page"); do documented[$k]=1; done
	for k in $keys $actions $aliases; do
		[ -n "${documented[$k]}" ] || bad="$bad $k"
		n=$((n + 1))
	done
	[ -z "$bad" ] || { echo "not documented in wf-workflow.5:$bad" >&2; return 1; }
	[ "$n" -gt 60 ]
}

@test "wf-workflow(5) names every choice a text field accepts" {
	local bad='' n=0
	declare -A quoted=()
	for q in $(awk '$1 == ".Ql" { print $2 }' "$MAN/wf-workflow.5"); do quoted[$q]=1; done
	run wf-parse --schema
	assert_success
	for choice in $(jq -r '.. | objects | .choices? // empty | .[]' <<<"$output"); do
		[ -n "${quoted[$choice]}" ] || bad="$bad $choice"
		n=$((n + 1))
	done
	[ "$n" -ge 10 ]
	[ -z "$bad" ] || { echo "choices not documented:$bad" >&2; return 1; }
}

@test "every example workflow in wf-workflow(5) and README.md validates" {
	# The literal blocks of the man page that are whole workflows (not the
	# SYNOPSIS outline), with roff escapes undone; the README's yaml blocks.
	awk -v dir="$BATS_TEST_TMPDIR" '
		/^\.Bd -literal/ { inblock = 1; buf = ""; next }
		/^\.Ed/ {
			if (inblock && buf ~ /^name: [a-z]/ && buf ~ /\nsteps:\n/ && buf !~ /\.\.\./)
				print buf > (dir "/man-" ++n ".yaml")
			inblock = 0; next
		}
		inblock { buf = buf $0 "\n" }' "$MAN/wf-workflow.5"
	sed -i -e 's/\\(dq/"/g' -e 's/\\e/\\/g' -e 's/^\\&//' "$BATS_TEST_TMPDIR"/man-*.yaml
	awk -v dir="$BATS_TEST_TMPDIR" '
		/^```yaml/ { inblock = 1; n++; next }
		/^```/ { inblock = 0; next }
		inblock { print > (dir "/readme-" n ".yaml") }' "$REPO_ROOT/README.md"
	files=("$BATS_TEST_TMPDIR"/man-*.yaml "$BATS_TEST_TMPDIR"/readme-*.yaml)
	[ "${#files[@]}" -ge 4 ]
	run wf-parse --check "${files[@]}"
	assert_success
	[ "$(printf '%s\n' "$output" | grep -c ': ok (')" -eq "${#files[@]}" ]
	# The worked example is the seed's workflow, step for step.
	run wf-parse "$BATS_TEST_TMPDIR/man-1.yaml"
	assert_success
	man_steps=$(printf '%s\n' "$output" | jq -c '[.steps[] | del(.description)]')
	run wf-parse "$EXAMPLES/pr-review-loop.yaml"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | jq -c '[.steps[] | del(.description)]')" "$man_steps"
}

@test "wf(7) lists every exit status of lib/wf.h, and 126 and 127" {
	codes=$(grep -o 'WF_EXIT_[A-Z]* = [0-9]*' "$REPO_ROOT/lib/wf.h" | sed 's/.* = //')
	[ -n "$codes" ]
	for page in wf.7 wf.1; do
		listed=" $(awk '$1 == ".It" && $2 ~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) print $i }' "$MAN/$page" | tr '\n' ' ') "
		for code in $codes 126 127; do
			[[ $listed == *" $code "* ]] || { echo "$page lacks exit status $code" >&2; return 1; }
		done
	done
}

@test "wf(1) and the completion know every verb that 'wf --help' lists" {
	run wf --help
	assert_success
	verbs=$(printf '%s\n' "$output" | sed -n 's/^  \([a-z][a-z-]*\)  .*/\1/p')
	[ "$(printf '%s\n' "$verbs" | wc -l)" -ge 12 ]
	documented=" $(awk '$1 == ".It" && $2 == "Cm" { print $3 }' "$MAN/wf.1" | tr '\n' ' ') "
	complete_line wf ''
	for v in $verbs; do
		[[ $documented == *" $v "* ]] || { echo "wf.1 lacks verb $v" >&2; return 1; }
		has_reply "$v"
	done
}

@test "wf-parse(1) and the completion know every option of 'wf-parse --help'" {
	run wf-parse --help
	assert_success
	opts=$(printf '%s\n' "$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	[ -n "$opts" ]
	complete_line wf-parse --
	for o in $opts --help --version; do
		grep -Eq "Fl -${o#--}( |\$)" "$MAN/wf-parse.1" || { echo "wf-parse.1 lacks $o" >&2; return 1; }
		has_reply "$o"
	done
}

@test "the completion offers every option and subcommand each built tool's --help shows" {
	local n=0
	for src in "$REPO_ROOT"/cmd/wf-*.c; do
		tool=$(basename "$src" .c)
		[ -x "$WF_BIN/$tool" ] || continue
		help=$("$WF_BIN/$tool" --help 2>&1) || true
		# Subcommands: the first word after the tool on its usage lines,
		# or the first word of an indented line listing the verbs.
		subs=$(printf '%s\n' "$help" | sed -n -e "s/^\(usage:\)\{0,1\} *$tool \([a-z][a-z-]*\)\( .*\)\{0,1\}\$/\2/p" \
			-e 's/^  \([a-z][a-z-]*\)\( .*\)\{0,1\}$/\1/p' | sort -u)
		for s in $subs; do
			complete_line "$tool" "$s"
			has_reply "$s" || { echo "in $tool" >&2; return 1; }
		done
		# Options: those offered first, after --resume and --fork (wf-run),
		# and after each subcommand, together.
		complete_line "$tool" --
		offered=("${COMPREPLY[@]}")
		complete_line "$tool" --resume --
		offered+=("${COMPREPLY[@]}")
		complete_line "$tool" --fork --
		offered+=("${COMPREPLY[@]}")
		for s in $subs; do
			complete_line "$tool" "$s" --
			offered+=("${COMPREPLY[@]}")
		done
		COMPREPLY=("${offered[@]}")
		for o in $(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u); do
			has_reply "$o" || { echo "in $tool" >&2; return 1; }
		done
		n=$((n + 1))
	done
	[ "$n" -ge 1 ]
}

@test "every program in cmd/ has a completion" {
	for src in "$REPO_ROOT"/cmd/*.c; do
		name=$(basename "$src" .c)
		run complete -p "$name"
		assert_success
		assert_output --partial "$name"
	done
}

@test "README starts with the two commands that set up, run and test everything" {
	run sed -n '/^```/,/^```/p' "$REPO_ROOT/README.md"
	assert_success
	first_block=$(printf '%s\n' "$output" | sed -n '2,/^```/p' | sed '$d' | sed 's/ *#.*//')
	[ "$first_block" = "make demo
make check" ]
	# Nothing but the title and the one line of what must exist first comes before it.
	[ "$(grep -m1 -n '^```' "$REPO_ROOT/README.md" | cut -d: -f1)" -le 5 ]
	[ "$(sed -n '2p;4p' "$REPO_ROOT/README.md" | tr -d '\n')" = "" ]
	sed -n 3p "$REPO_ROOT/README.md" | grep -q '^On Debian 12 with `make` and `git`' 
}

# ---- completion ----

@test "wf TAB offers every verb, and the wf-* programs on PATH as verbs" {
	mkdir -p "$BATS_TEST_TMPDIR/path"
	printf '#!/bin/sh\n' > "$BATS_TEST_TMPDIR/path/wf-hello"
	printf '#!/bin/sh\n' > "$BATS_TEST_TMPDIR/path/wf-action-lint"
	chmod +x "$BATS_TEST_TMPDIR/path/"*
	PATH="$BATS_TEST_TMPDIR/path:$PATH"
	complete_line wf ''
	for v in run resume status pause list show validate trust create migrate model pr help hello; do
		has_reply "$v"
	done
	run has_reply action-lint
	assert_failure
	# One candidate per verb, even where wf-run also provides "run".
	[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | uniq -d)" = "" ]
}

@test "wf res TAB completes to resume; wf help v TAB to validate" {
	complete_line wf res
	assert_equal "$(replies)" "resume"
	complete_line wf help v
	assert_equal "$(replies)" "validate"
	complete_line wf --v
	assert_equal "$(replies)" "--version"
}

@test "wf run TAB offers the workflows by name, including one whose name differs from its file" {
	complete_line wf run ''
	has_reply alpha
	has_reply beta-flow
	complete_line wf run al
	assert_equal "$(replies)" "alpha"
	complete_line wf run be
	assert_equal "$(replies)" "beta-flow"
	complete_line wf show be
	assert_equal "$(replies)" "beta-flow"
}

@test "workflow completion offers YAML files here and reaches into directories" {
	write local.yaml </dev/null
	write notes.txt </dev/null
	write sub/deep.yml </dev/null
	complete_line wf validate lo
	assert_equal "$(replies)" "local.yaml"
	complete_line wf validate no
	assert_equal "$(replies)" ""
	complete_line wf validate su
	assert_equal "$(replies)" "sub"
	complete_line wf validate sub/
	assert_equal "$(replies)" "sub/deep.yml"
}

@test "wf trust TAB offers the project's .wf/config.yaml beside the workflows" {
	complete_line wf trust .w
	assert_equal "$(replies)" ""
	write .wf/config.yaml </dev/null
	complete_line wf trust .w
	has_reply .wf/config.yaml
	complete_line wf-state trust .wf/c
	has_reply .wf/config.yaml
	complete_line wf trust al
	has_reply alpha
}

@test "wf run NAME TAB offers that workflow's step ids, in file order" {
	complete_line wf run alpha ''
	assert_equal "${COMPREPLY[*]}" "first second"
	complete_line wf run --var x=1 alpha s
	assert_equal "$(replies)" "second"
	complete_line wf run "$WF_PATH/beta.yml" ''
	assert_equal "$(replies)" "only"
	complete_line wf-run beta-flow ''
	assert_equal "$(replies)" "only"
	# A third word is not a step.
	complete_line wf run alpha first ''
	assert_equal "$(replies)" ""
}

@test "wf run NAME --var TAB offers the workflow's inputs as NAME=; a resume and an unknown workflow offer none" {
	mkdir -p workflows
	cat > workflows/inp.yaml <<'Y'
name: inp
inputs:
  branch: {description: The branch, default: main}
  pr: {description: The number}
steps:
  - {id: a, action: shell, command: "true"}
Y
	complete_line wf run inp --var ''
	assert_equal "$(replies)" "branch= pr="
	complete_line wf run inp --var b
	assert_equal "$(replies)" "branch="
	complete_line wf-run inp --var p
	assert_equal "$(replies)" "pr="
	complete_line wf run nosuch --var ''
	assert_equal "$(replies)" ""
	complete_line wf resume inp --var ''
	assert_equal "$(replies)" ""
}

@test "wf run NAME TAB offers nothing for a workflow that does not exist" {
	complete_line wf run nosuch ''
	assert_equal "$(replies)" ""
}

@test "status, pause and resume offer the runs in the state directory" {
	complete_line wf status ''
	assert_equal "$(replies)" "one two"
	complete_line wf pause t
	assert_equal "$(replies)" "two"
	complete_line wf resume ''
	assert_equal "$(replies)" "one two"
	complete_line wf resume --yes o
	assert_equal "$(replies)" "one"
	complete_line wf-state show ''
	assert_equal "$(replies)" "one two"
	# Once a run is named, no second one.
	complete_line wf status one ''
	assert_equal "$(replies)" ""
}

@test "runs come from XDG_STATE_HOME when WF_STATE_DIR is unset" {
	unset WF_STATE_DIR
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/xdg"
	mkdir -p "$(rundir xdg-run)"
	complete_line wf status ''
	assert_equal "$(replies)" "xdg-run"
}

@test "wf resume NAME --answer TAB offers the options of the question the run waits for" {
	local h="$(rundir one)/history.jsonl"
	printf '%s\n' \
		'{"seq":1,"time":"t","event":"run-start","name":"one","crc":"00000000"}' \
		'{"seq":2,"time":"t","event":"pause","status":"paused","pending":{"step":"s7","kind":"choice","message":"Merge {now}?","options":["approve","request changes","say \"hi\"","a]b"]},"crc":"00000000"}' \
		> "$h"
	complete_line wf resume one --answer ''
	assert_equal "${COMPREPLY[*]}" 'approve request\ changes say\ \"hi\" a\]b'
	complete_line wf resume one --answer r
	assert_equal "$(replies)" 'request\ changes'
	complete_line wf resume --answer a one
	assert_equal "$(replies)" "one"
	# Answered and resumed: nothing is pending any more.
	printf '%s\n' '{"seq":3,"time":"t","event":"resume","pid":1,"crc":"00000000"}' >> "$h"
	complete_line wf resume one --answer ''
	assert_equal "$(replies)" ""
}

@test "wf resume NAME --answer TAB offers yes, no, always for consent and rerun, skip for a step in doubt" {
	local h="$(rundir one)/history.jsonl"
	printf '%s\n' \
		'{"seq":1,"time":"t","event":"run-start","name":"one","crc":"00000000"}' \
		'{"seq":2,"time":"t","event":"pause","status":"waiting","pending":{"kind":"consent","step":"s1","command":"make"},"crc":"00000000"}' \
		> "$h"
	complete_line wf resume one --answer ''
	assert_equal "$(replies)" "always no yes"
	printf '%s\n' '{"seq":3,"time":"t","event":"resume","pid":1,"crc":"00000000"}' \
		'{"seq":4,"time":"t","event":"pause","status":"paused","pending":{"kind":"in-doubt","step":"s1"},"crc":"00000000"}' >> "$h"
	complete_line wf resume one --answer ''
	assert_equal "$(replies)" "rerun skip"
}

@test "pending options are read from state.json when the run has no journal" {
	printf '%s' '{"name":"two","status":"paused","pending":{"kind":"choice","options":["merge","wait"]},"vars":{}}' \
		> "$(rundir two)/state.json"
	complete_line wf resume two --answer ''
	assert_equal "$(replies)" "merge wait"
	complete_line wf resume one --answer ''
	assert_equal "$(replies)" ""
}

@test "each verb offers its own options" {
	complete_line wf status --
	assert_equal "$(replies)" "--all --help --json"
	complete_line wf list -
	assert_equal "$(replies)" "--help --json"
	complete_line wf run --
	for o in --var --json --dry-run --max-steps --quiet --restart --kill-stale --yes --answer --estimate; do
		has_reply "$o"
	done
	complete_line wf resume --
	for o in --var --answer --yes --rerun --skip --accept-changes; do
		has_reply "$o"
	done
	complete_line wf run --res
	assert_equal "$(replies)" "--restart"
	# After an option that takes a value, the value is free text.
	complete_line wf run --var ''
	assert_equal "$(replies)" ""
}

@test "verbs run by other tools complete as those tools do" {
	complete_line wf model ''
	assert_equal "$(replies)" "chat list ping rerun resolve"
	complete_line wf pr c
	assert_equal "$(replies)" "comment comments create"
	complete_line wf pr merge 7 --method ''
	assert_equal "$(replies)" "merge rebase squash"
	complete_line wf-pr review 7 --event r
	assert_equal "$(replies)" "request-changes"
	complete_line wf-pr -R o/r merge 7 --d
	assert_equal "$(replies)" "--delete-branch"
	git init -q -b main repo
	git -C repo -c user.name=t -c user.email=t@example.com commit -q --allow-empty -m init
	git -C repo branch feature
	cd repo
	complete_line wf pr create --base main --head f
	assert_equal "$(replies)" "feature"
	complete_line wf parse --l
	assert_equal "$(replies)" "--list"
	complete_line wf-state ''
	has_reply fsck
	has_reply history
}

@test "model names come from 'wf-model list', roles included" {
	mkdir -p "$BATS_TEST_TMPDIR/fake"
	cat > "$BATS_TEST_TMPDIR/fake/wf-model" <<'SH'
#!/bin/sh
[ "$1" = list ] || exit 2
printf '%-16s %-12s %s\n' NAME PROVIDER MODEL glm openai glm-4.6 sonnet anthropic claude-sonnet
echo 'role review: glm'
SH
	chmod +x "$BATS_TEST_TMPDIR/fake/wf-model"
	PATH="$BATS_TEST_TMPDIR/fake:$PATH"
	complete_line wf model resolve ''
	assert_equal "$(replies)" "glm review sonnet"
	complete_line wf-model chat --model s
	assert_equal "$(replies)" "sonnet"
	complete_line wf model list --
	assert_equal "$(replies)" "--help --json --providers"
}

@test "words bash split at '=' and ':' are put back together" {
	# COMP_WORDS as bash 5.2 splits these lines (seen in a terminal).
	COMP_LINE='wf run --var x=1 alpha '
	COMP_POINT=${#COMP_LINE}
	COMP_WORDS=(wf run --var x '=' 1 alpha '')
	COMP_CWORD=7
	_wf
	assert_equal "${COMPREPLY[*]}" "first second"
	# A model name with a colon: only what follows the colon is offered,
	# since that is the part readline replaces.
	mkdir -p "$BATS_TEST_TMPDIR/fake"
	printf '#!/bin/sh\necho NAME\necho ollama:llama3 x\necho ollama:qwen x\necho glm x\n' \
		> "$BATS_TEST_TMPDIR/fake/wf-model"
	chmod +x "$BATS_TEST_TMPDIR/fake/wf-model"
	PATH="$BATS_TEST_TMPDIR/fake:$PATH"
	COMP_LINE='wf model resolve ollama:'
	COMP_POINT=${#COMP_LINE}
	COMP_WORDS=(wf model resolve ollama :)
	COMP_CWORD=4
	_wf
	assert_equal "$(replies)" "llama3 qwen"
	COMP_LINE='wf model resolve ollama:ll'
	COMP_POINT=${#COMP_LINE}
	COMP_WORDS=(wf model resolve ollama : ll)
	COMP_CWORD=5
	_wf
	assert_equal "$(replies)" "llama3"
}

@test "in a terminal, TAB completes a run name and a step id on the command line" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	local sock="docs-$$-$BATS_TEST_NUMBER" first pane
	cat > rc <<RC
PS1='$ '
export PATH='$PATH' WF_STATE_DIR='$WF_STATE_DIR' WF_PATH='$WF_PATH'
source '$COMPLETION'
RC
	tmux -L "$sock" new-session -d -s t -x 120 -y 10 "bash --rcfile '$WORK/rc' --noprofile -i"
	# Type only once bash shows its prompt, or readline misses the keys.
	for _ in $(seq 100); do
		[[ $(tmux -L "$sock" capture-pane -p -t t) == *'$ '* ]] && break
		sleep 0.1
	done
	# The X typed after TAB shows the space completion adds after a word.
	tmux -L "$sock" send-keys -t t 'wf resume o' Tab X
	for _ in $(seq 50); do
		first=$(tmux -L "$sock" capture-pane -p -t t)
		[[ $first == *'wf resume '*X* ]] && break
		sleep 0.1
	done
	tmux -L "$sock" send-keys -t t C-u 'wf run --var x=1 alpha s' Tab X
	for _ in $(seq 50); do
		pane=$(tmux -L "$sock" capture-pane -p -t t)
		[[ $pane == *'wf run '*X* ]] && break
		sleep 0.1
	done
	tmux -L "$sock" kill-server
	[[ $first == *'$ wf resume one X'* ]] || { echo "got: $first" >&2; return 1; }
	[[ $pane == *'$ wf run --var x=1 alpha second X'* ]] || { echo "got: $pane" >&2; return 1; }
}

@test "wf typed as a path finds wf-parse beside it, not on PATH" {
	PATH=/usr/bin:/bin
	complete_line "$WF_BIN/wf" run al
	assert_equal "$(replies)" "alpha"
	complete_line "$WF_BIN/wf" run alpha ''
	assert_equal "$(replies)" "first second"
}

@test "make fresh runs the README's first screen as written: its preparation line and its two commands" {
	prep=$(sed -n '3p' "$REPO_ROOT/README.md" | sed -n 's/.*(as root: `\([^`]*\)`).*/\1/p')
	[ -n "$prep" ]
	grep -qF "step prepare sh -c '$prep'" "$REPO_ROOT/tests/fresh.sh"
	# The first code block holds exactly the two commands make fresh runs.
	run sh -c "awk '/^\`\`\`/ { n++; next } n == 1 { print \$1, \$2 }' '$REPO_ROOT/README.md'"
	assert_output $'make demo\nmake check'
	grep -q '^step demo make demo ' "$REPO_ROOT/tests/fresh.sh"
	grep -q '^step check make check$' "$REPO_ROOT/tests/fresh.sh"
}
