#!/usr/bin/env bats
# wf create NAME --describe TEXT: a model drafts, the validator checks,
# the errors go back, at most --attempts rounds; and wf create NAME at a
# terminal: the dialog (tmux).
load helpers
load fake-provider
bats_require_minimum_version 1.5.0

# A draft the validator rejects: a misspelt key, and so a missing one.
BAD=$'name: ci\nsteps:\n  - id: test\n    action: shell\n    comand: make test'
GOOD=$'name: ci\nsteps:\n  - id: test\n    action: shell\n    command: make test'

setup() {
	wf_setup
	export WF_RETRY_MAX=0
}

teardown() {
	fake_provider_stop_all
	[ -z "${SOCK:-}" ] || tmux -L "$SOCK" kill-server 2>/dev/null || true
}

# Start the fake with replies $1, $2, ... (texts, in order) and a models.yaml for it.
script_replies() {
	jq -n '$ARGS.positional | map({text: ., usage: {input: 100, output: 20}})' --args "$@" \
		> "$BATS_TEST_TMPDIR/script.json"
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	fake_models
}

# The last message the model got in request $1 (0-based).
message_of() {
	fake_provider_requests | jq -sr --argjson i "$1" '.[$i].body.messages[-1].content // .[$i].body.messages[-1].content[0].text'
}

# No file under the test's directories holds the API key.
no_key_anywhere() {
	mkdir -p "$WF_STATE_DIR"
	run grep -rlF -- "$FAKE_API_KEY" "$WORK" "$WF_STATE_DIR" "$XDG_CONFIG_HOME" "$HOME"
	assert_failure 1
	assert_output ''
}

@test "describe: an invalid first draft is repaired with its errors (line:col), the second is written and validates" {
	script_replies "$BAD" "$GOOD"
	run wf create ci --describe "run the tests"
	assert_success
	[ "$(fake_provider_count)" -eq 2 ]
	# The first request carries the schema, the actions, two examples and the description.
	run sh -c "jq -sr '.[0].body.messages[0].content, .[0].body.messages[1].content' '$FAKE_LOG'"
	assert_output --partial '"on-true":{"type":"step-id"}'
	assert_output --partial '- shell [consent]: command;'
	assert_output --partial 'Example workflow pr-review-loop.yaml:'
	assert_output --partial 'run the tests'
	# The second carries every error of the first draft with its line and column, and the draft.
	run message_of 1
	assert_output --partial "workflows/ci.yaml:5:5: unknown key 'comand' (did you mean 'command'?)"
	assert_output --partial "workflows/ci.yaml:3:5: step 'test': action 'shell' needs 'command'"
	run sh -c "jq -sr '.[1].body.messages[-2].content' '$FAKE_LOG'"
	assert_output "$BAD"
	run cat workflows/ci.yaml
	assert_output "$GOOD"
	run wf validate workflows/ci.yaml
	assert_success
	[ ! -e workflows/ci.draft.yaml ]
	no_key_anywhere
}

@test "describe: the end line gives the drafts, the tokens and the cost, as a run's does" {
	script_replies "$BAD" "$GOOD"
	run --separate-stderr wf create ci --describe "run the tests" --model gpt
	assert_success
	assert_output ''
	[[ $stderr == *"ci: written after 2 drafts; gpt: 2 calls, "*" input / 40 output tokens, \$"* ]] ||
		{ echo "$stderr" >&2; return 1; }
	[[ $stderr == *"draft 1 of 'ci' does not validate (2 problems)"* ]]
}

@test "describe: at the cap, exit 65, the last draft beside the target with its errors, the target absent" {
	script_replies "$BAD" "${BAD/make test/make check}"
	run --separate-stderr wf create ci --describe "run the tests" --attempts 2
	assert_failure 65
	[ "$(fake_provider_count)" -eq 2 ]
	[ ! -e workflows/ci.yaml ]
	run cat workflows/ci.draft.yaml
	assert_output "${BAD/make test/make check}"
	[[ $stderr == *"wf-create: workflows/ci.draft.yaml:5:5: unknown key 'comand'"* ]] || { echo "$stderr" >&2; return 1; }
	[[ $stderr == *"ci: no valid workflow after 2 drafts; gpt: 2 calls"* ]]
	[[ $stderr == *"the last draft is in 'workflows/ci.draft.yaml'"* ]]
	# Written as any file a person makes (the umask decides), not as private state.
	[ "$(stat -c %a workflows/ci.draft.yaml)" = "$(printf '%o' $((0666 & ~$(umask))))" ]
	no_key_anywhere
}

@test "describe: --attempts 1 asks once; a draft named otherwise is an error sent back" {
	script_replies "${GOOD/name: ci/name: other}" "${GOOD/name: ci/name: other}" "$GOOD"
	run wf create ci --describe "x" --attempts 1 -o out.yaml
	assert_failure 65
	[ "$(fake_provider_count)" -eq 1 ]
	[ -e ci.draft.yaml ] && [ ! -e out.yaml ]
	run wf create ci --describe "x" -o out.yaml
	assert_success
	run message_of 2
	assert_output --partial "out.yaml:1:1: the workflow is named 'other': its name must be 'ci'"
}

@test "describe: a fenced answer with prose around it is accepted; -o - prints it" {
	script_replies $'Here it is:\n```yaml\n'"$GOOD"$'\n```\nEnjoy.'
	run --separate-stderr wf create ci --describe "x" -o -
	assert_success
	assert_output "$GOOD"
	[ ! -e workflows ]
}

@test "describe: an existing target is not overwritten without --force (exit 2); with it, it is" {
	script_replies "$GOOD" "$GOOD"
	write workflows/ci.yaml <<<'name: mine'
	run wf create ci --describe "x"
	assert_failure 2
	assert_output --partial "'workflows/ci.yaml' exists: use --force to overwrite it"
	# Refused before any model is asked.
	[ ! -s "$FAKE_LOG" ]
	run cat workflows/ci.yaml
	assert_output 'name: mine'
	run wf create ci --describe "x" --force
	assert_success
	run cat workflows/ci.yaml
	assert_output "$GOOD"
}

@test "describe: a provider error exits with wf-model's status and writes nothing" {
	fake_provider_start - <<<'{"responses": [], "default": {"error": "server"}}'
	fake_models
	run wf create ci --describe "x"
	assert_failure 69
	assert_output --partial "wf-create: "
	[ ! -e workflows ] && [ ! -e ci.draft.yaml ]
	fake_provider_script - <<<'{"responses": [], "default": {"error": "auth"}}'
	run wf create ci --describe "x" --model claude
	assert_failure 78
	[ ! -e workflows ]
	# The refused key is never echoed into a file.
	no_key_anywhere
	# An unknown model is a configuration error before any call.
	run wf create ci --describe "x" --model nosuch
	assert_failure 78
	assert_output --partial "nosuch"
}

@test "describe: the anthropic and ollama wires work too, and the request goes to the model asked for" {
	script_replies "$BAD" "$GOOD" "$GOOD"
	run wf create ci --describe "x" --model claude
	assert_success
	run sh -c "jq -sr '.[] | .protocol + \" \" + .model' '$FAKE_LOG'"
	assert_output $'anthropic claude-test\nanthropic claude-test'
	run message_of 1
	assert_output --partial "ci.yaml:5:5: unknown key 'comand'"
	fake_provider_script - <<<"$(jq -nc --arg t "$GOOD" '{responses: [], default: {text: $t}}')"
	run --separate-stderr wf create ci --describe "x" --model llama -o ci2.yaml
	assert_success
	[ "$(fake_provider_requests | jq -sr '.[-1].protocol')" = ollama ]
	# No price for llama: the cost is unknown, never $0.
	[[ $stderr == *"ci: written after 1 draft; llama: 1 call, "*"cost unknown"* ]] || { echo "$stderr" >&2; return 1; }
	run wf validate ci2.yaml
	assert_success
	no_key_anywhere
}

@test "create: bad arguments are usage errors (exit 2) that name what to do" {
	run wf create ci --describe x --attempts 0
	assert_failure 2
	assert_output --partial "--attempts takes a whole number from 1 to 20, got '0'"
	run wf create ci --describe x --attempts 21
	assert_failure 2
	run wf create ci --describe x --attempts 2x
	assert_failure 2
	run wf create ../ci --describe x
	assert_failure 2
	assert_output --partial "invalid workflow name '../ci'"
	run wf create --describe x
	assert_failure 2
	assert_output --partial "give its NAME"
	run wf create ci --describe x --template t
	assert_failure 2
}

@test "create without a terminal: exit 2 naming --template and --describe, nothing written" {
	run wf create ci </dev/null
	assert_failure 2
	assert_output --partial "--template T"
	assert_output --partial "--describe TEXT"
	[ ! -e workflows ]
}

# ---- the dialog, in a real terminal (tmux) ----

# Run wf create "$@" in a fresh terminal in $WORK; its exit status goes to $WORK/rc.
term_create() {
	SOCK="wf-create-$$-$BATS_TEST_NUMBER"
	command -v tmux >/dev/null || skip "tmux not installed"
	[ -n "${WF_MODELS:-}" ] || write dialog-models.yaml <<'Y'
providers:
  local: {type: ollama, base_url: "http://127.0.0.1:9"}
models:
  fast: {provider: local, model: fast-test}
  deep: {provider: local, model: deep-test}
default: fast
Y
	tmux -L "$SOCK" -f /dev/null new-session -d -s t -x 200 -y 60 \
		"cd '$WORK' && env PATH='$PATH' HOME='$HOME' WF_STATE_DIR='$WF_STATE_DIR' XDG_CONFIG_HOME='$XDG_CONFIG_HOME' WF_MODELS='${WF_MODELS:-$WORK/dialog-models.yaml}' FAKE_API_KEY='${FAKE_API_KEY:-}' WF_RETRY_MAX=0 wf create $*; echo \$? > '$WORK/rc'; sleep 60"
}

on_screen() {
	tmux -L "$SOCK" capture-pane -p -t t -S - | grep -qF -- "$1"
}

# Wait for the question $1 on the screen, then type $2 and Enter (or the key $3 when given).
answer() {
	# The screen keeps no blanks at the end of a line.
	wait_until on_screen "${1% }" || { tmux -L "$SOCK" capture-pane -p -t t >&2; return 1; }
	if [ $# -ge 3 ]; then
		tmux -L "$SOCK" send-keys -t t "$3"
	else
		[ -z "$2" ] || tmux -L "$SOCK" send-keys -t t -l "$2"
		tmux -L "$SOCK" send-keys -t t Enter
	fi
}

dialog_status() {
	wait_until test -s rc
	cat rc
}

@test "dialog: a two-step workflow with a model and a capped loop, previewed, validated and saved" {
	term_create two
	answer 'Start from (template, describe, empty) [empty]: ' ''
	answer 'Description, one line' 'Build, then "review"'
	answer 'Step 1: action: ' nosuch
	answer 'not a built-in action' shell
	answer 'id [step1]: ' build
	answer 'command: ' 'make -j2 check'
	answer 'Step 2: action (Enter to finish): ' ai-prompt
	answer 'id [step2]: ' build
	answer 'a step has that id already' review
	answer 'prompt: ' 'Review ${steps.build.output}'
	answer "model, Enter for the run's (fast, deep) [none]: " deep
	answer 'Step 3: action (Enter to finish): ' loop
	answer 'id [step3]: ' again
	answer 'back to step (build, review, again): ' build
	answer 'max-iterations, the cap on passes [3]: ' 0
	answer 'a whole number from 1, please' 4
	answer 'condition to go back while true [always]: ' 'steps.build.exit_code != 0'
	answer 'on-exhausted, when the cap is reached (fail, continue, pause) [fail]: ' pause
	answer 'Step 4: action (Enter to finish): ' ''
	answer 'Save it as workflows/two.yaml? [y/n]: ' y
	run dialog_status
	assert_output 0
	on_screen 'valid'
	run wf validate workflows/two.yaml
	assert_success
	run sh -c "wf-parse workflows/two.yaml | jq -c '[.description, (.steps[] | [.id, .action, .command // .prompt // .to, .model, .\"max-iterations\", .\"on-exhausted\", .condition])]'"
	assert_output '["Build, then \"review\"",["build","shell","make -j2 check",null,null,null,null],["review","ai-prompt","Review ${steps.build.output}","deep",null,null,null],["again","loop","build",null,4,"pause","steps.build.exit_code != 0"]]'
}

@test "dialog: answering no, the end of input (Ctrl-D) and Ctrl-C write nothing" {
	term_create one
	answer 'Start from' empty
	answer 'Description, one line' ''
	answer 'Step 1: action: ' set-variable
	answer 'id [step1]: ' ''
	answer 'name: ' x
	answer 'value: ' 1
	answer 'Step 2: action (Enter to finish): ' ''
	answer 'Save it as workflows/one.yaml? [y/n]: ' n
	run dialog_status
	assert_output 1
	[ ! -e workflows ]
	tmux -L "$SOCK" kill-server; rm rc
	term_create one
	answer 'Start from' ''
	answer 'Description, one line' ''
	answer 'Step 1: action: ' '' C-d
	run dialog_status
	assert_output 2
	tmux -L "$SOCK" kill-server; rm rc
	term_create one
	answer 'Start from' ''
	answer 'Description, one line' ''
	answer 'Step 1: action: ' shell
	answer 'id [step1]: ' ''
	answer 'command: ' '' C-c
	run dialog_status
	assert_output 130
	on_screen 'interrupted: nothing written'
	[ ! -e workflows ]
}

@test "dialog: from a description, the model drafts it and the draft is saved" {
	script_replies "$GOOD"
	term_create ci -o ci.yaml
	answer 'Start from' describe
	answer 'Describe what it should do: ' 'run the tests'
	answer 'Model, Enter for the default (gpt, claude, llama) [none]: ' claude
	run dialog_status
	assert_output 0
	run cat ci.yaml
	assert_output "$GOOD"
	run sh -c "jq -sr '.[0].model' '$FAKE_LOG'"
	assert_output claude-test
	no_key_anywhere
}

@test "completion: wf create --model offers the configured models; --attempts and --describe take free text" {
	fake_provider_start - <<<'[]'
	fake_models
	source "$REPO_ROOT/completions/wf.bash"
	COMP_WORDS=(wf create ci --model "") COMP_CWORD=4 COMPREPLY=()
	_wf
	[[ " ${COMPREPLY[*]} " == *" claude "* && " ${COMPREPLY[*]} " == *" llama "* ]] || { echo "${COMPREPLY[*]}" >&2; return 1; }
	COMP_WORDS=(wf-create ci --attempts "") COMP_CWORD=3 COMPREPLY=()
	_wf_cmd
	[ ${#COMPREPLY[@]} -eq 0 ]
	COMP_WORDS=(wf-create ci --at) COMP_CWORD=2 COMPREPLY=()
	_wf_cmd
	[ "${COMPREPLY[*]}" = --attempts ]
}
