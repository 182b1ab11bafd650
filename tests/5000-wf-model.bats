#!/usr/bin/env bats
# wf-model: the model registry.  Configuration files and their errors,
bats_require_minimum_version 1.5.0
# name resolution (provider:model, alias, role, original, default), list
# and resolve output, and the command line.  Chat calls are in 5010 and
# 5020.
load helpers

@test "with no configuration at all the usual providers are known, with their key variables" {
	run --separate-stderr wf-model list --providers --json
	assert_success
	assert_equal "$stderr" ""
	run jq -sc 'map({key: .name, value: [.type, .base_url, .api_key_env]}) | from_entries
		| {anthropic, openai, ollama}' <<<"$output"
	assert_output '{"anthropic":["anthropic","https://api.anthropic.com","ANTHROPIC_API_KEY"],"openai":["openai","https://api.openai.com/v1","OPENAI_API_KEY"],"ollama":["ollama","http://localhost:11434",null]}'
}

@test "resolve PROVIDER:MODEL needs no configuration and prints the documented fields" {
	run --separate-stderr wf-model resolve anthropic:claude-sonnet-4-20250514
	assert_success
	assert_output '{"name":"anthropic:claude-sonnet-4-20250514","provider":"anthropic","type":"anthropic","model":"claude-sonnet-4-20250514","base_url":"https://api.anthropic.com","prices":null,"context":null}'
}

@test "provider:model splits at the first colon only, so an Ollama tag survives" {
	run wf-model resolve ollama:llama3.2:latest
	assert_success
	run jq -r '[.provider, .model, .base_url] | join(" ")' <<<"$output"
	assert_output "ollama llama3.2:latest http://localhost:11434"
}

write_models() {
	write "${1:-models.yaml}" <<'Y'
providers:
  local:
    type: openai
    base_url: http://127.0.0.1:8080/v1/
    api_key_env: LOCAL_API_KEY
models:
  sonnet: {provider: anthropic, model: claude-sonnet-4-20250514, prices: {input: 3, output: 15, cached: 0.3}, context: 200000}
  haiku: {provider: anthropic, model: claude-haiku-4-5, prices: {input: 1, output: 5}}
  mini: {provider: openai, model: gpt-5-nano}
  glm: {provider: ollama, model: "glm-4.7:cloud", description: GLM through the Ollama daemon}
  qwen: {provider: local, model: qwen2.5-coder, options: {temperature: 0.2}, fallback: haiku}
roles:
  fast: {anthropic: haiku, openai: mini, ollama: glm}
  capable: sonnet
default: sonnet
Y
	export WF_MODELS=$WORK/${1:-models.yaml}
}

@test "an alias resolves to its provider, model id, base URL, prices and context" {
	write_models
	run --separate-stderr wf-model resolve sonnet
	assert_success
	assert_output '{"name":"sonnet","provider":"anthropic","type":"anthropic","model":"claude-sonnet-4-20250514","base_url":"https://api.anthropic.com","prices":{"input":3,"output":15,"cached":0.3},"context":200000}'
}

@test "a trailing slash on base_url is dropped, so paths join cleanly" {
	write_models
	run wf-model resolve qwen
	assert_success
	run jq -r .base_url <<<"$output"
	assert_output "http://127.0.0.1:8080/v1"
}

# name, --original, expected "name provider model"
@test "names resolve: literal, alias, role, per-provider role, original and default" {
	write_models
	while IFS='|' read -r name orig want; do
		if [ -n "$orig" ]; then
			run wf-model resolve --original "$orig" "$name"
		else
			run wf-model resolve "$name"
		fi
		assert_success
		run jq -r '[.name, .provider, .model] | join(" ")' <<<"$output"
		assert_output "$want"
	done <<'T'
openai:gpt-4o||openai:gpt-4o openai gpt-4o
glm||glm ollama glm-4.7:cloud
capable||sonnet anthropic claude-sonnet-4-20250514
fast||haiku anthropic claude-haiku-4-5
fast|mini|mini openai gpt-5-nano
fast|glm|glm ollama glm-4.7:cloud
original|glm|glm ollama glm-4.7:cloud
original|ollama:llama3.2|ollama:llama3.2 ollama llama3.2
original||sonnet anthropic claude-sonnet-4-20250514
default||sonnet anthropic claude-sonnet-4-20250514
T
}

@test "an unknown name is a configuration error with a hint" {
	write_models
	run --separate-stderr wf-model resolve sonet
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "wf-model: resolve 'sonet': unknown model 'sonet' (did you mean 'sonnet'?)"
	run --separate-stderr wf-model resolve nosuch:model
	assert_failure 78
	assert_equal "$stderr" "wf-model: resolve 'nosuch:model': unknown model 'nosuch:model': no provider named 'nosuch'"
}

@test "with no default, the default name fails and says how to set one" {
	run --separate-stderr wf-model resolve original
	assert_failure 78
	assert_equal "$stderr" "wf-model: resolve 'original': no model named and no default: set 'default:' in models.yaml (wf-model(1))"
}

@test "list prints a table whose unknown prices say unknown, never \$0" {
	write_models
	run --separate-stderr wf-model list
	assert_success
	assert_line --regexp '^sonnet +anthropic +claude-sonnet-4-20250514 +3 +15 +200000  default capable$'
	assert_line --regexp '^glm +ollama +glm-4.7:cloud +unknown +unknown +-  fast$'
	assert_line --regexp '^qwen +local +qwen2.5-coder +unknown +unknown +-  $'
	assert_line 'role capable: sonnet'
	refute_output --partial '$0'
	refute_output --regexp ' 0 +0 '
}

@test "list --json prints one model per line, with roles, default and fallback" {
	write_models
	run wf-model list --json
	assert_success
	assert_equal "${#lines[@]}" 5
	run jq -sc 'map(select(.name == "qwen" or .name == "sonnet"))
		| map({name, default, roles, fallback, prices})' <<<"$output"
	assert_output '[{"name":"sonnet","default":true,"roles":["capable"],"fallback":null,"prices":{"input":3,"output":15,"cached":0.3}},{"name":"qwen","default":false,"roles":[],"fallback":"haiku","prices":null}]'
}

@test "the user file, then the project's .wf/models.yaml on top; \$WF_MODELS replaces both" {
	mkdir -p "$XDG_CONFIG_HOME/wf" .wf sub/dir
	cat > "$XDG_CONFIG_HOME/wf/models.yaml" <<'Y'
models:
  coder: {provider: anthropic, model: user-model}
  mine: {provider: openai, model: only-in-user-file}
default: coder
Y
	cat > .wf/models.yaml <<'Y'
models:
  coder: {provider: openai, model: project-model}
Y
	cd sub/dir
	run wf-model resolve coder
	assert_success
	run jq -r '[.provider, .model] | join(" ")' <<<"$output"
	assert_output "openai project-model"
	run wf-model resolve mine
	assert_success
	run wf-model resolve default
	assert_success
	assert_output --partial '"model":"project-model"'
	printf 'models:\n  coder: {provider: ollama, model: from-env-file}\n' > "$WORK/only.yaml"
	WF_MODELS="$WORK/only.yaml" run wf-model resolve coder
	assert_success
	assert_output --partial '"model":"from-env-file"'
	WF_MODELS="$WORK/only.yaml" run wf-model resolve mine
	assert_failure 78
}

@test "a project's Codi codi-models.yaml is read: models, baseUrl and model-roles" {
	git init -q .
	write codi-models.yaml <<'Y'
version: '1'
models:
  sonnet: {provider: anthropic, model: claude-sonnet-4-20250514, maxTokens: 2048}
  glm: {provider: ollama, model: glm-4.7:cloud}
  box: {provider: openai, model: qwen, baseUrl: "http://127.0.0.1:9999/v1"}
  pod: {provider: runpod, model: whatever}
tasks: {fast: {model: glm}}
model-roles:
  fast: {anthropic: sonnet, ollama: glm}
pipelines:
  review: {provider: anthropic, steps: []}
Y
	run wf-model resolve glm
	assert_success
	assert_output --partial '"provider":"ollama","type":"ollama","model":"glm-4.7:cloud"'
	run wf-model resolve box
	assert_success
	assert_output --partial '"provider":"codi-box","type":"openai","model":"qwen","base_url":"http://127.0.0.1:9999/v1"'
	run wf-model resolve --original glm fast
	assert_output --partial '"name":"glm"'
	# A provider wf does not speak is skipped, not an error.
	run wf-model resolve pod
	assert_failure 78
	# A key never follows a custom baseUrl: the synthesized provider has none.
	run wf-model list --providers --json
	run jq -c 'select(.name == "codi-box") | .api_key_env' <<<"$output"
	assert_output null
}

@test "a configuration error is reported with file:line:col, every one of them, exit 78" {
	write models.yaml <<'Y'
providers:
  mine:
    type: openia
    base_url: https://example.com/v1
    api_key: sk-literal-key-123456
    quirks: {max_token_field: max_tokens}
models:
  a: {provider: nope, model: x}
  b: {provider: mine, model: y, prices: {input: 1}}
  original: {provider: mine, model: z}
  c: {provider: mine, model: q, contxt: 5}
defualt: a
Y
	WF_MODELS=models.yaml run --separate-stderr wf-model list
	assert_failure 78
	assert_output ""
	assert_equal "$stderr" "wf-model: models.yaml:3:11: unknown provider type 'openia' (expected openai, anthropic or ollama)
wf-model: models.yaml:5:5: 'api_key' in provider 'mine': keys are not written in configuration files; name an environment variable with api_key_env or a command with api_key_cmd
wf-model: models.yaml:6:14: unknown key 'max_token_field' in quirks (did you mean 'max_tokens_field'?)
wf-model: models.yaml:9:41: prices need both 'input' and 'output' (USD per million tokens)
wf-model: models.yaml:10:3: 'original' is a reserved name and cannot be a model alias
wf-model: models.yaml:11:33: unknown key 'contxt' in model 'c' (did you mean 'context'?)
wf-model: models.yaml:12:1: unknown key 'defualt' in the model configuration (did you mean 'default'?)
wf-model: models.yaml:8:3: model 'a': unknown provider 'nope'"
	# The literal key is never echoed back.
	refute_output --partial sk-literal
}

@test "YAML syntax errors, tags and anchors in models.yaml are refused with their position" {
	printf 'models:\n  a: [1\n' > bad.yaml
	WF_MODELS=bad.yaml run --separate-stderr wf-model list
	assert_failure 78
	assert_equal "$stderr" "wf-model: bad.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while parsing a flow sequence begun at 2:6"
	printf 'models:\n  a: &x {provider: openai, model: m}\n  b: *x\n' > alias.yaml
	WF_MODELS=alias.yaml run wf-model list
	assert_failure 78
	assert_line --partial "alias.yaml:2:6: anchors and aliases are not supported"
}

@test "a missing \$WF_MODELS file exits 66; references are checked after merging" {
	WF_MODELS=nonexistent.yaml run --separate-stderr wf-model list
	assert_failure 66
	assert_equal "$stderr" "wf-model: nonexistent.yaml: cannot read the model configuration: No such file or directory"
	write refs.yaml <<'Y'
models:
  a: {provider: openai, model: m, fallback: zzz}
roles:
  fast: missing-model
default: nothing-here
Y
	WF_MODELS=refs.yaml run wf-model list
	assert_failure 78
	assert_line --index 0 "wf-model: refs.yaml:2:3: model 'a': fallback: unknown model 'zzz': not an alias or role, and not PROVIDER:MODEL"
	assert_line --index 1 "wf-model: refs.yaml:4:3: role 'fast': unknown model 'missing-model': not an alias or role, and not PROVIDER:MODEL"
	assert_line --index 2 "wf-model: refs.yaml:5:1: default: unknown model 'nothing-here': not an alias or role, and not PROVIDER:MODEL"
}

@test "a provider's type, key source, quirks and headers are checked" {
	write q.yaml <<'Y'
providers:
  p1: {type: openai, base_url: "https://x.example/v1", quirks: {max_tokens_field: tokens, stream_options: "no", auth: basic}}
  p2: {type: ollama, base_url: "ftp://x.example"}
  p3: {type: anthropic, base_url: "https://x.example", headers: {"Bad Name": v}, api_key_cmd: [pass, 3]}
  "bad:name": {type: openai, base_url: "https://x.example"}
Y
	WF_MODELS=q.yaml run --separate-stderr wf-model list
	assert_failure 78
	assert_equal "$stderr" "wf-model: q.yaml:2:83: invalid max_tokens_field 'tokens' (expected max_tokens or max_completion_tokens)
wf-model: q.yaml:2:107: stream_options must be true or false, not a string
wf-model: q.yaml:2:119: invalid auth 'basic' (expected bearer or x-api-key)
wf-model: q.yaml:3:32: base_url 'ftp://x.example' must start with https:// (or http:// for a loopback host)
wf-model: q.yaml:4:65: header 'Bad Name' must be a name without blanks or ':' and a one-line string value
wf-model: q.yaml:4:95: api_key_cmd items must be strings
wf-model: q.yaml:5:3: invalid provider name 'bad:name': use letters, digits, '.', '_' and '-'"
}

@test "command line: usage errors exit 2, --help and --version exit 0" {
	run wf-model
	assert_failure 2
	run --separate-stderr wf-model frobnicate
	assert_failure 2
	assert_equal "$stderr" "wf-model: unknown command 'frobnicate' (expected list, resolve, chat, ping or rerun)"
	run wf-model resolve
	assert_failure 2
	run wf-model resolve a b
	assert_failure 2
	run wf-model ping
	assert_failure 2
	run wf-model chat --stream-fd x
	assert_failure 2
	run wf-model list extra
	assert_failure 2
	run wf-model --help
	assert_success
	assert_output --partial "usage: wf-model list"
	run wf-model --version
	assert_success
	assert_output --regexp '^wf-model [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "wf-model does not ask the network to resolve or list" {
	# An unroutable proxy would make any network use fail or hang.
	https_proxy=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9 run wf-model resolve anthropic:x
	assert_success
}

@test "the installed example configuration loads and uses every provider type" {
	WF_MODELS="$REPO_ROOT/workflows/models/models.example.yaml" run --separate-stderr wf-model list --json
	assert_success
	assert_equal "$stderr" ""
	WF_MODELS="$REPO_ROOT/workflows/models/models.example.yaml" run wf-model list --providers --json
	run jq -sr 'map(.type) | unique | join(" ")' <<<"$output"
	assert_output "anthropic ollama openai"
}

@test "wf-model(1) documents every environment variable and quirk the code reads" {
	local src="$REPO_ROOT/lib/http.c $REPO_ROOT/lib/keys.c $REPO_ROOT/lib/model*.c $REPO_ROOT/lib/provider*.c $REPO_ROOT/cmd/wf-model.c"
	vars=$(cat $src | grep -o 'getenv("WF_[A-Z_]*")\|env_[a-z]*("WF_[A-Z_]*"' | grep -o 'WF_[A-Z_]*' | sort -u)
	[ -n "$vars" ]
	for v in $vars; do
		grep -q "Ev $v\b\|Ev .*, $v\b\|^\.Ev $v" "$REPO_ROOT/man/wf-model.1" || { echo "wf-model.1 lacks $v" >&2; return 1; }
	done
	for q in max_tokens_field stream_options system_role strip_params anthropic_version auth; do
		grep -q "^\.It Ic $q\$" "$REPO_ROOT/man/wf-model.1" || { echo "wf-model.1 lacks quirk $q" >&2; return 1; }
		grep -q "$q" "$REPO_ROOT/workflows/models/models.example.yaml" || { echo "models.example.yaml lacks quirk $q" >&2; return 1; }
	done
}
