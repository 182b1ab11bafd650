#!/usr/bin/env bats
# Help for each verb of wf: "wf VERB --help" and "wf help VERB" print that
# verb's usage and options in wf's words, as wf(1) lists them, and not the
# whole usage of the program behind it.
load helpers
bats_require_minimum_version 1.5.0

MAN="$REPO_ROOT/man"
COMPLETION="$REPO_ROOT/completions/wf.bash"

# The verbs whose program prints their usage in wf's words, and the first
# line of that usage.
VERB_USAGE=(
	"run|usage: wf run [options] NAME|FILE|- [STEP-ID]"
	"resume|usage: wf resume [options] NAME"
	"status|usage: wf status [--all] [NAME] [--json]"
	"pause|usage: wf pause NAME"
	"list|usage: wf list [--json]"
	"show|usage: wf show [--json] FILE|NAME"
	"validate|usage: wf validate [--suggest] FILE|NAME..."
	"lint|usage: wf lint [--check] [--json] FILE|NAME|-..."
	"trust|usage: wf trust NAME|FILE"
)

# The options that the entry of VERB in wf(1)'s list of verbs names (not
# its row in the table of programs), one per line, sorted.
man_options() {
	awk -v v="$1" '
		$1 == ".It" && $2 == "Cm" { on = ($3 == v && $4 != "Ta") }
		on { for (i = 1; i < NF; i++) if ($i == "Fl" || $i == ".Fl") print "-" $(i + 1) }
	' "$MAN/wf.1" | grep -v -e '^--help$' -e '^-h$' | sort -u
}

# The options in help text $1 (its usage and option lines), one per line, sorted.
help_options() {
	grep -oE -- '(^|[ ,[])--?[a-z][a-z-]*' <<<"$1" | sed 's/^[ ,[]//' | sort -u
}

@test "wf VERB --help, -h and wf help VERB print that verb's usage alone and exit 0" {
	local n=0
	for entry in "${VERB_USAGE[@]}"; do
		verb=${entry%%|*}
		first=${entry#*|}
		run --separate-stderr wf "$verb" --help
		assert_success
		[ -z "$stderr" ]
		assert_line --index 0 "$first"
		# One usage line, in wf's words: nothing of the program behind the verb.
		[ "$(grep -c '^usage:' <<<"$output")" -eq 1 ]
		refute_output --partial 'wf-state'
		refute_output --partial 'wf-parse'
		refute_output --partial 'wf-run'
		refute_output --regexp '^ +wf'
		help=$output
		run --separate-stderr wf "$verb" -h
		assert_success
		[ "$output" = "$help" ]
		run --separate-stderr wf help "$verb"
		assert_success
		[ -z "$stderr" ]
		[ "$output" = "$help" ]
		n=$((n + 1))
	done
	[ "$n" -eq 9 ]
}

@test "each verb's help lists the same options as its entry in wf(1)" {
	for entry in "${VERB_USAGE[@]}"; do
		verb=${entry%%|*}
		run --separate-stderr wf "$verb" --help
		assert_success
		from_help=$(help_options "$output")
		from_man=$(man_options "$verb")
		[ "$from_help" = "$from_man" ] || {
			echo "wf $verb: --help lists [$(echo $from_help)], wf(1) [$(echo $from_man)]" >&2
			return 1
		}
	done
	# The check sees options at all: run has seventeen long and two short, resume fifteen and two.
	[ "$(man_options run | wc -l)" -eq 19 ]
	[ "$(man_options resume | wc -l)" -eq 17 ]
	[ "$(man_options status | tr '\n' ' ')" = "--all --json " ]
	[ -z "$(man_options pause)" ]
}

@test "every option a verb's help lists is described on a line of its own" {
	for verb in run resume status list show; do
		run --separate-stderr wf "$verb" --help
		assert_success
		assert_line --index 1 "options:"
		# An option line: "  [-x, ]--option [ARG]   what it does".
		lines=$(grep -E '^  (-[a-z], )?--[a-z-]+( [A-Z=-]+)? {2,}[a-z].*[a-z)]$' <<<"$output")
		[ "$(wc -l <<<"$lines")" -eq $(($(wc -l <<<"$output") - 2)) ]
		for o in $(help_options "$output"); do
			grep -Eq -- "^  (-[a-z], )?$o[ ,]" <<<"$lines" ||
				grep -Eq -- "^  $o, " <<<"$lines" || { echo "wf $verb: $o not described" >&2; return 1; }
		done
	done
}

@test "the completion offers run and resume the options their help lists" {
	source "$COMPLETION"
	for verb in run resume; do
		run --separate-stderr wf "$verb" --help
		assert_success
		from_help=$(help_options "$output" | grep -- '^--')
		var=_wf_${verb}_opts
		from_completion=$(tr ' ' '\n' <<<"${!var}" | grep -v -e '^--help$' -e '^--version$' | sort -u)
		[ "$from_help" = "$from_completion" ] || {
			echo "wf $verb: help [$(echo $from_help)], completion [$(echo $from_completion)]" >&2
			return 1
		}
	done
}

@test "the programs alone print their own verb's usage in their own words" {
	run --separate-stderr wf-state status --help
	assert_success
	assert_output $'usage: wf-state status [--all] [NAME] [--json]\noptions:\n  --json       print JSON (wf-json(7)) instead of text\n  --all        the runs of every project, each with its project'
	run --separate-stderr wf-state rm --help
	assert_success
	assert_line --index 0 'usage: wf-state rm [--force] NAME'
	assert_line --regexp '^  --force +remove the run'
	run --separate-stderr wf-run --resume --help
	assert_success
	assert_line --index 0 'usage: wf-run --resume [options] NAME'
	assert_line --regexp '^  --rerun '
	refute_line --regexp '^  --restart '
	run --separate-stderr wf-parse --list --help
	assert_success
	assert_output $'usage: wf-parse --list [--json]\noptions:\n  --json    print JSON instead of text'
	run --separate-stderr wf-parse --check --help
	assert_success
	assert_output $'usage: wf-parse --check [--suggest] FILE|NAME...\noptions:\n  --suggest also warn of what a reviewer would (wf lint)'
}

@test "a program's --help without a verb is still its whole usage" {
	run --separate-stderr wf-state --help
	assert_success
	assert_line --index 0 'usage: wf-state list [--all] [--json]'
	assert_line --regexp '^       wf-state trust '
	run --separate-stderr wf-run --help
	assert_success
	assert_line --index 0 'usage: wf-run [options] NAME|FILE|- [STEP-ID]'
	assert_line --index 1 '       wf-run --resume [options] NAME'
	assert_line --regexp '^  --restart '
	assert_line --regexp '^  --accept-changes '
	assert_line --regexp '^  -h, --help '
	run --separate-stderr wf-parse --help
	assert_success
	[ "$(grep -c 'wf-parse' <<<"$output")" -eq 6 ]
}

@test "verbs of programs that do not speak wf's words still reach their whole help" {
	run --separate-stderr wf help pr
	assert_success
	assert_line --index 0 --partial 'usage: wf-pr'
	run --separate-stderr wf model --help
	assert_success
	assert_output --partial 'wf-model'
}

@test "--help does nothing else: no run starts, none pauses, nothing is trusted" {
	write workflows/w.yaml <<'Y'
name: w
steps:
  - id: s1
    action: shell
    command: "touch ran"
Y
	run --separate-stderr wf run w --help
	assert_success
	assert_line --index 0 'usage: wf run [options] NAME|FILE|- [STEP-ID]'
	[ ! -e ran ]
	run --separate-stderr wf status --json
	assert_success
	assert_output '[]'
	run --separate-stderr wf trust w --help
	assert_success
	[ ! -e "$XDG_CONFIG_HOME/wf/trusted" ]
	wf run w --quiet
	[ -e ran ]
	dir=$(wf-state status w --json | jq -r .dir)
	run --separate-stderr wf pause w --help
	assert_success
	[ ! -e "$dir/pause" ]
	run --separate-stderr wf resume no-such-run --help
	assert_success
	assert_line --index 0 'usage: wf resume [options] NAME'
}

@test "run through wf, a program's messages still carry its own name, its usage wf's words" {
	run --separate-stderr wf status no-such-run
	assert_failure 66
	[[ $stderr == "wf-state: "* ]]
	run --separate-stderr wf pause a b
	assert_failure 2
	[ "$stderr" = "wf-state: too many operands for 'pause'; usage: wf pause NAME" ]
	run --separate-stderr wf list --bogus
	assert_failure 2
	[[ $stderr == "wf-parse: unrecognized option '--bogus'"* ]]
	run --separate-stderr wf resume
	assert_failure 2
	[[ $stderr == "usage: wf-run "* ]]
}

@test "wf help of an unknown or malformed verb is a usage error" {
	run --separate-stderr wf help -x
	assert_failure 2
	[ "$stderr" = "wf: unknown verb '-x'; see 'wf help'" ]
	run -127 --separate-stderr wf help no-such-verb
	assert_output ''
	[[ $stderr == "wf: 'no-such-verb' is not a wf command"* ]]
}

# ---- an unknown workflow name: the nearest one along the search path ----

# A one-step workflow NAME in FILE that touches "ran-NAME" when it runs.
workflow() {
	write "$2" <<Y
name: $1
steps:
  - id: s1
    action: shell
    command: "touch ran-$1"
Y
}

@test "wf run of an unknown name suggests the nearest workflow, runs nothing and exits 66" {
	workflow ci-check workflows/ci-check.yaml
	workflow deploy workflows/deploy.yaml
	run --separate-stderr wf run ci-chek
	assert_failure 66
	assert_output ''
	[ "$stderr" = "wf-run: no workflow named 'ci-chek'; did you mean 'ci-check'? (see 'wf list')" ]
	[ ! -e ran-ci-check ]
	run --separate-stderr wf status --json
	assert_output '[]'
	# The suggestion is the nearest, not the first in the directory.
	run --separate-stderr wf run deplyo
	assert_failure 66
	[ "$stderr" = "wf-run: no workflow named 'deplyo'; did you mean 'deploy'? (see 'wf list')" ]
}

@test "a suggestion comes from a name: field and from any directory of the search path" {
	workflow release-flow workflows/rel.yaml
	mkdir -p elsewhere
	workflow lint elsewhere/lint.yaml
	run --separate-stderr wf run release-flwo
	assert_failure 66
	[ "$stderr" = "wf-run: no workflow named 'release-flwo'; did you mean 'release-flow'? (see 'wf list')" ]
	WF_PATH=$PWD/elsewhere run --separate-stderr wf run lnit
	assert_failure 66
	[ "$stderr" = "wf-run: no workflow named 'lnit'; did you mean 'lint'? (see 'wf list')" ]
}

@test "wf show, wf validate and wf trust share the suggestion" {
	workflow ci-check workflows/ci-check.yaml
	for verb in show validate trust; do
		run --separate-stderr wf "$verb" ci-chekc
		assert_failure 66
		assert_output ''
		[ "$stderr" = "wf-parse: no workflow named 'ci-chekc'; did you mean 'ci-check'? (see 'wf list')" ] ||
			[ "$stderr" = "wf-state: no workflow named 'ci-chekc'; did you mean 'ci-check'? (see 'wf list')" ]
	done
	[ ! -e "$XDG_CONFIG_HOME/wf/trusted" ]
}

@test "a name far from every workflow gets no guess, and neither does a file that would be ignored" {
	workflow ci-check workflows/ci-check.yaml
	workflow ab workflows/ab.yaml
	for name in publish xy ci-chekkkk; do
		run --separate-stderr wf run "$name"
		assert_failure 66
		[ "$stderr" = "wf-run: no workflow named '$name' (looked for $name.yaml and a 'name: $name' along the search path; see 'wf list')" ]
	done
	# A link out of its directory is never found, so never suggested.
	mkdir -p outside
	workflow secret outside/secret.yaml
	ln -s ../outside/secret.yaml workflows/secret.yaml
	run --separate-stderr wf run secrt
	assert_failure 66
	refute_output --partial 'did you mean'
	[[ $stderr != *"did you mean"* ]]
}

# ---- a --var the workflow does not use: a warning, and the run goes on ----

@test "a --var no variable of the workflow goes by warns, names its variables and the nearest, and the run goes on" {
	write workflows/paint.yaml <<'Y'
name: paint
variables:
  color: red
  size: 2
steps:
  - id: s1
    action: shell
    command: 'echo "$color $size" > painted'
Y
	run --separate-stderr wf run paint --var colour=blue --var size=3 --quiet
	assert_success
	[ "$stderr" = "wf-run: --var 'colour' is not used by workflow 'paint' (its variables: color, size); did you mean 'color'?" ]
	[ "$(cat painted)" = "red 3" ]
	run wf-state get paint vars.colour
	assert_success
	assert_output blue
	# One warning per unused --var; a far name gets no guess.
	run --separate-stderr wf run paint --var colour=x --var zzz=y --var color=z --quiet
	assert_success
	[ "$(wc -l <<<"$stderr")" -eq 2 ]
	[[ $stderr == *"wf-run: --var 'colour' is not used by workflow 'paint' (its variables: color, size); did you mean 'color'?"* ]]
	[[ $stderr == *"wf-run: --var 'zzz' is not used by workflow 'paint' (its variables: color, size)"$'\n'* ||
	   $stderr == *"wf-run: --var 'zzz' is not used by workflow 'paint' (its variables: color, size)" ]]
	[ "$(cat painted)" = "z 2" ]
}

@test "every way a workflow uses a variable, as wf-run(1) lists them, takes the --var without a warning" {
	# name|steps that use it
	local cases=(
		'v|  - {id: s, action: set-variable, name: v, value: "1"}'
		'v|  - {id: s, action: load-variable, name: v, from: f}'
		'v|  - {id: s, action: shell, command: "true", output: v}'
		'v|  - {id: s, action: shell, command: "true", check: file-exists, variable: v}'
		'v|  - {id: s, action: set-variable, name: o, value: "a ${v} b"}'
		'v|  - {id: s, action: set-variable, name: o, value: "${vars.v}"}'
		'v|  - {id: s, action: set-variable, name: o, value: "{{v}}"}'
		'v|  - {id: s, action: shell, command: "echo $v"}'
		'v|  - {id: s, action: shell, command: "echo ${v:-none}"}'
		'v|  - {id: s, action: shell, command: "echo $WF_VAR_v"}'
		'my-v|  - {id: s, action: shell, command: "true", if: "my-v == 3"}'
		'v|  - {id: s, action: conditional, condition: "vars.v != \"x\""}'
		'v|  - {id: s, action: shell, command: "true", check: "jq: .vars.v > 1"}'
		'v|  - {id: s, action: shell, command: "true", env: {E: "${v}"}}'
	)
	mkdir workflows
	for c in "${cases[@]}"; do
		name=${c%%|*}
		printf 'name: w\nsteps:\n%s\n' "${c#*|}" >workflows/w.yaml
		run wf validate workflows/w.yaml
		assert_success
		run --separate-stderr wf run w --dry-run --var "$name=1"
		assert_success
		[[ $stderr != *"is not used"* ]] || { echo "warned for: $c: $stderr" >&2; return 1; }
	done
}

@test "names that only look like uses are not uses" {
	# name|steps that mention it without using it
	local cases=(
		'color|  - {id: s, action: set-variable, name: o, value: "pick a color"}'
		'v|  - {id: s, action: set-variable, name: o, value: "$${v}"}'
		'v|  - {id: v, action: shell, command: "true"}\n  - {id: t, action: set-variable, name: o, value: "${steps.v.output}"}'
		'v|  - {id: s, action: shell, command: "true", if: "steps.s.output == '"'"'v'"'"'"}'
		'success|  - {id: s, action: shell, command: "true", check: success}'
		'length|  - {id: s, action: shell, command: "true", check: "jq: .vars | length > 0"}'
		'v|  - {id: s, action: shell, command: "echo v $vv ${v2}"}'
	)
	mkdir workflows
	for c in "${cases[@]}"; do
		name=${c%%|*}
		printf "name: w\nsteps:\n${c#*|}\n" >workflows/w.yaml
		run wf validate workflows/w.yaml
		assert_success
		run --separate-stderr wf run w --dry-run --var "$name=1"
		assert_success
		[[ $stderr == *"wf-run: --var '$name' is not used by workflow 'w' ("* ]] ||
			{ echo "no warning for: $c: $stderr" >&2; return 1; }
	done
}

@test "a workflow with no variables says so, and --estimate warns too" {
	write workflows/plain.yaml <<'Y'
name: plain
steps:
  - id: s1
    action: shell
    command: "true"
Y
	run --separate-stderr wf run plain --var x=1 --estimate
	assert_success
	[ "$stderr" = "wf-run: --var 'x' is not used by workflow 'plain' (it uses no variables)" ]
}

@test "wf resume --var warns the same, and the resumed run goes on with the variable set" {
	write workflows/ask.yaml <<'Y'
name: ask
variables:
  target: prod
steps:
  - id: ask
    action: interactive
    message: "Ship?"
  - id: ship
    action: shell
    command: 'echo "$target" > shipped'
Y
	run --separate-stderr wf run ask --quiet </dev/null
	assert_failure 3
	[[ $stderr != *"is not used"* ]]
	run --separate-stderr wf resume ask --answer yes --var targte=dev --var target=qa --quiet </dev/null
	assert_success
	[ "$stderr" = "wf-run: --var 'targte' is not used by workflow 'ask' (its variables: target); did you mean 'target'?" ]
	[ "$(cat shipped)" = "qa" ]
}
