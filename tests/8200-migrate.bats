#!/usr/bin/env bats
# wf migrate (wf-create --migrate): Codi pipelines of a codi-models.yaml
# into workflows that validate and run against the fake provider, with the
# text the pipeline's result would have; roles per provider; no overwrite
# without --force; hostile prompt text kept as text; bad input refused.
load helpers
load fake-provider
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	# A model map in Codi's format: models of three providers, roles per
	# provider, and two pipelines (roles, {input}, chained outputs, a
	# condition, a multi-line result; a model named directly).
	write codi-models.yaml <<'Y'
version: '1'
models:
  haiku: {provider: anthropic, model: claude-haiku-test}
  sonnet: {provider: anthropic, model: claude-sonnet-test}
  mini: {provider: openai, model: gpt-mini-test}
  big: {provider: openai, model: gpt-big-test}
  glm: {provider: ollama, model: glm-test}
model-roles:
  fast: {anthropic: haiku, openai: mini, ollama: glm}
  capable: {anthropic: sonnet, openai: big, ollama: glm}
tasks:
  fast: {model: haiku}
pipelines:
  code-review:
    description: Scan quickly, then review in depth what the scan found
    provider: anthropic
    steps:
      - name: quick-scan
        role: fast
        prompt: "Quick scan for obvious issues: {input}"
        output: quick_issues
      - name: deep-review
        role: capable
        prompt: |
          Review this code in depth.
          Known issues: {quick_issues}
          Code: {input}
        output: review
      - name: fixes
        role: capable
        condition: quick_issues
        prompt: "Suggest fixes for: {quick_issues}"
        output: fixes
    result: |
      ## Quick scan
      {quick_issues}
      ## Review
      {review}
      ## Fixes
      {fixes}
  summarize:
    description: One paragraph
    provider: openai
    steps:
      - name: summary
        model: mini
        prompt: "Summarize: {input}"
        output: summary
    result: "Summary: {summary}"
Y
	fake_provider_start - <<'J'
{"responses": [
  {"match": {"prompt_contains": "Quick scan"}, "text": "ISSUE-1 in $(id) and ${HOME}", "repeat": -1},
  {"match": {"prompt_contains": "Review this code"}, "text": "REVIEW-2", "repeat": -1},
  {"match": {"prompt_contains": "Suggest fixes"}, "text": "FIXES-3", "repeat": -1}
], "default": {"text": "reply from {model}"}}
J
	# The providers of the Codi models, pointed at the fake.
	export FAKE_API_KEY=sk-test-migrate
	cat > models.yaml <<EOF
providers:
  anthropic: {type: anthropic, base_url: $FAKE_URL, api_key_env: FAKE_API_KEY}
  openai: {type: openai, base_url: $FAKE_URL/v1, api_key_env: FAKE_API_KEY}
  ollama: {type: ollama, base_url: $FAKE_URL}
EOF
	export WF_MODELS="$WORK/models.yaml"
}

# The last $1 lines of the output of the last run: the AI replies stream
# before them, the printed result ends it.
last_lines() {
	printf '%s\n' "${lines[@]: -$1}"
}

# The model of each request the fake got, in order, on one line.
models_asked() {
	jq -r .model "$FAKE_LOG" | tr '\n' ' ' | sed 's/ $//'
}

@test "--list: each pipeline with its step count and description" {
	run wf migrate --list
	assert_success
	assert_output "code-review                3 steps  Scan quickly, then review in depth what the scan found
summarize                  1 step   One paragraph"
}

@test "one pipeline: written to workflows/, valid, and its run prints the result the pipeline would" {
	run wf migrate code-review
	assert_success
	assert_output "wf-create: pipeline 'code-review' -> workflows/code-review.yaml"
	run head -2 workflows/code-review.yaml
	assert_output "# Converted by wf migrate from a Codi pipeline; check it, then wf validate and wf run it.
# source: codi-models.yaml, pipeline 'code-review', roles for provider anthropic"
	run wf validate code-review
	assert_success
	# {input} is a required input.
	run wf run code-review
	assert_failure 2
	assert_output --partial "--var input="
	assert_equal "$(fake_provider_count)" 0
	run --separate-stderr wf run code-review --var input='int main() { return 0; }'
	assert_success
	assert_equal "$(last_lines 6)" "## Quick scan
ISSUE-1 in \$(id) and \${HOME}
## Review
REVIEW-2
## Fixes
FIXES-3"
	assert_equal "$(wf-state get code-review vars.result)" "$(last_lines 6)"
	# Roles resolved for the pipeline's provider; each prompt sent alone, chained outputs substituted.
	assert_equal "$(models_asked)" "claude-haiku-test claude-sonnet-test claude-sonnet-test"
	run jq -c '[.protocol, (.body.messages | length), .body.messages[-1].content]' "$FAKE_LOG"
	assert_line --index 0 '["anthropic",1,"Quick scan for obvious issues: int main() { return 0; }"]'
	assert_line --index 1 '["anthropic",1,"Review this code in depth.\nKnown issues: ISSUE-1 in $(id) and ${HOME}\nCode: int main() { return 0; }\n"]'
	assert_line --index 2 '["anthropic",1,"Suggest fixes for: ISSUE-1 in $(id) and ${HOME}"]'
}

@test "a condition becomes the step's if: an empty output skips the step as Codi would" {
	run wf migrate code-review -o review.yaml
	assert_success
	run grep -A5 'id: fixes' review.yaml
	assert_output --partial 'if: "quick_issues"'
	fake_provider_script - <<'J'
{"responses": [{"match": {"prompt_contains": "Quick scan"}, "text": ""}],
 "default": {"text": "REVIEW"}}
J
	run --separate-stderr wf run review.yaml --var input=x
	assert_success
	assert_equal "$(wf-state get code-review vars.result)" "## Quick scan

## Review
REVIEW
## Fixes"
	assert_equal "$(fake_provider_count)" 2
}

@test "--all: every pipeline, each reported, each valid and runnable; --provider picks the roles' models" {
	run wf migrate --all -o flows
	assert_success
	assert_line "wf-create: pipeline 'code-review' -> flows/code-review.yaml"
	assert_line "wf-create: pipeline 'summarize' -> flows/summarize.yaml"
	run wf validate flows/code-review.yaml flows/summarize.yaml
	assert_success
	run --separate-stderr wf run flows/summarize.yaml --var input=abc
	assert_success
	assert_equal "$(last_lines 1)" "Summary: reply from gpt-mini-test"
	# The same pipeline for another provider: its roles' models for that provider.
	run wf migrate code-review --provider openai -o openai.yaml
	assert_success
	run wf migrate code-review --provider ollama -o ollama.yaml
	assert_success
	: > "$FAKE_LOG"
	run --separate-stderr wf run openai.yaml --var input=x
	assert_success
	run --separate-stderr wf run ollama.yaml --var input=x
	assert_success
	assert_equal "$(models_asked)" "gpt-mini-test gpt-big-test gpt-big-test glm-test glm-test glm-test"
	run jq -r .protocol "$FAKE_LOG"
	assert_output "openai
openai
openai
ollama
ollama
ollama"
}

@test "a role with no model for the provider stays a role, with a note in the file" {
	run wf migrate code-review --provider zai -o -
	assert_success
	assert_output --partial "# step 'quick-scan': role 'fast' has no model for provider 'zai' in model-roles; left as the role"
	assert_output --partial 'model: "fast"'
}

@test "an existing file is not replaced without --force (exit 2); with it, it is" {
	mkdir workflows
	echo 'keep me' > workflows/summarize.yaml
	run wf migrate summarize
	assert_failure 2
	assert_output "wf-create: 'workflows/summarize.yaml' exists; add --force to overwrite it"
	assert_equal "$(cat workflows/summarize.yaml)" "keep me"
	run wf migrate --all
	assert_failure 2
	assert_line "wf-create: pipeline 'code-review' -> workflows/code-review.yaml"
	assert_equal "$(cat workflows/summarize.yaml)" "keep me"
	run wf migrate summarize --force
	assert_success
	run wf validate workflows/summarize.yaml
	assert_success
	# No temporary file left beside it.
	assert_equal "$(ls -A workflows | tr '\n' ' ')" "code-review.yaml summarize.yaml "
}

@test "hostile prompt text: quotes, \$(...), \${...}, backticks and {{...}} reach the model as text and never run" {
	write codi-models.yaml <<'Y'
models:
  mini: {provider: openai, model: gpt-mini-test}
pipelines:
  evil:
    provider: openai
    steps:
      - name: ask
        model: mini
        prompt: |
          Say "hi" and 'bye' $(touch pwned-1) `touch pwned-2` ${HOME} ${steps.x.output} {unknown} {input}
        output: answer
    result: "{answer} $(touch pwned-3) ${HOME} {answer}"
Y
	run wf migrate evil
	assert_success
	run wf validate evil
	assert_success
	run --separate-stderr wf run evil --var 'input=$(touch pwned-4)'
	assert_success
	assert_equal "$(last_lines 1)" 'reply from gpt-mini-test $(touch pwned-3) ${HOME} reply from gpt-mini-test'
	run jq -r '.body.messages[-1].content' "$FAKE_LOG"
	assert_output "Say \"hi\" and 'bye' \$(touch pwned-1) \`touch pwned-2\` \${HOME} \${steps.x.output} {unknown} \$(touch pwned-4)"
	run ls
	refute_output --partial pwned
}

@test "an unknown pipeline: exit 66 naming the ones there are" {
	run wf migrate nosuch
	assert_failure 66
	assert_output "wf-create: no pipeline 'nosuch' in codi-models.yaml (there are: code-review, summarize)"
	[ ! -e workflows ]
}

@test "no Codi file: exit 66 saying where it looked; --from names one; ~/.codi/models.yaml is found too" {
	# Outside any project (codi-models.yaml marks one, as .git does).
	mkdir "$BATS_TEST_TMPDIR/elsewhere" && cd "$BATS_TEST_TMPDIR/elsewhere"
	run wf migrate --list
	assert_failure 66
	assert_output --partial "no Codi model map: none of ./codi-models.yaml"
	assert_output --partial "(name one with --from FILE)"
	run wf migrate --list --from "$WORK/codi-models.yaml"
	assert_success
	assert_line --partial "summarize"
	mkdir -p "$HOME/.codi" && cp "$WORK/codi-models.yaml" "$HOME/.codi/models.yaml"
	run wf migrate --list
	assert_success
	assert_line --partial "code-review"
	run wf migrate --list --from nowhere.yaml
	assert_failure 66
	assert_output --partial "nowhere.yaml: cannot read"
}

@test "as Codi does, a project's map is read on top of ~/.codi/models.yaml: models and roles from there, a role merged provider by provider, pipelines only from the project" {
	mkdir -p "$HOME/.codi"
	cat > "$HOME/.codi/models.yaml" <<'Y'
models:
  haiku: {provider: anthropic, model: claude-haiku-test}
  sonnet: {provider: anthropic, model: claude-sonnet-test}
  mini: {provider: openai, model: gpt-mini-test}
model-roles:
  fast: {anthropic: haiku, openai: mini}
  capable: {anthropic: sonnet}
pipelines:
  global-only:
    provider: openai
    steps: [{name: a, role: fast, prompt: "x {input}", output: o}]
    result: "{o}"
Y
	write codi-models.yaml <<'Y'
models:
  big: {provider: openai, model: gpt-big-test}
model-roles:
  capable: {openai: big}
pipelines:
  two:
    provider: openai
    steps:
      - {name: first, role: fast, prompt: "First: {input}", output: one}
      - {name: second, role: capable, prompt: "Second: {one}", output: two}
    result: "{two}"
Y
	run wf migrate --list
	assert_success
	refute_output --partial "global-only"
	run wf migrate two
	assert_success
	run --separate-stderr wf run two --var input=go
	assert_success
	assert_equal "$(models_asked)" "gpt-mini-test gpt-big-test"
	# --provider anthropic: the project's capable role kept the global one's anthropic model.
	run wf migrate two --provider anthropic -o two-a.yaml
	assert_success
	grep -q 'claude-sonnet-test' two-a.yaml
	grep -q 'claude-haiku-test' two-a.yaml
	# A broken global map is named as such.
	echo 'models: [' > "$HOME/.codi/models.yaml"
	run wf migrate --list
	assert_failure 65
	assert_output --partial ".codi/models.yaml:"
}

@test "a malformed Codi file: exit 65 with file:line:col, for YAML and for a pipeline's shape" {
	write bad.yaml <<'Y'
pipelines:
  p:
    steps:
      - name: a
        prompt: "unclosed
Y
	run wf migrate --list --from bad.yaml
	assert_failure 65
	assert_output --regexp '^wf-create: bad\.yaml:[0-9]+:[0-9]+: '
	write bad.yaml <<'Y'
pipelines:
  p:
    steps:
      - name: a
        output: x
  q: [1]
Y
	run wf migrate p --from bad.yaml
	assert_failure 65
	assert_line "wf-create: bad.yaml:4:9: a pipeline step must be a mapping with a 'prompt' text"
	assert_line "wf-create: bad.yaml:6:6: a pipeline must be a mapping with steps:, not a list"
	# A name that cannot be a file name is refused, never followed.
	write bad.yaml <<'Y'
pipelines:
  ../escape:
    steps: [{prompt: hi}]
Y
	run wf migrate ../escape --from bad.yaml
	assert_failure 65
	assert_output --partial "cannot be a workflow's name"
	[ ! -e ../escape.yaml ] && [ ! -e workflows/../escape.yaml ]
}

@test "usage: one of PIPELINE, --list, --all; --all -o - refused" {
	run wf migrate
	assert_failure 2
	assert_output --partial "usage: wf migrate"
	run wf migrate --all -o -
	assert_failure 2
	run wf migrate a b
	assert_failure 2
	run wf migrate --help
	assert_success
	assert_output --partial "usage: wf migrate PIPELINE|--list|--all"
}
