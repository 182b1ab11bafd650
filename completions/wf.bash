# bash completion for wf(1) and the wf-* tools: wf-parse, wf-cond,
# wf-step, wf-model, wf-state, wf-run, wf-pr, wf-create and wf-view.
#
# Install as .../bash-completion/completions/wf, with a symbolic link named
# after each wf-* tool (make install does this), or source it from ~/.bashrc.
# It needs only bash, grep and sed: workflow names come from
# "wf-parse --list", step ids from "wf-parse NAME", run names from the
# state directory, and the answers a run waits for from its journal.

_wf_verbs=(run resume status pause logs graph report rewind fork rerun runs gc list show validate lint trust create templates migrate export import model pr help)
_wf_run_opts='--var --json --dry-run --max-steps --quiet --name --restart --kill-stale --yes --answer --step --break --estimate --budget --replay --replay-mode --offline --help --version'
_wf_resume_opts='--var --answer --yes --rerun --skip --kill-stale --accept-changes --step --no-step --break --json --quiet --max-steps --budget --offline --help'
_wf_fork_opts='--name --pass --var --answer --yes --accept-changes --json --quiet --max-steps --budget --offline --help'
_wf_rewind_opts='--pass --var --help'

# Add each of the remaining words that starts with $1 to COMPREPLY.
_wf_add() {
	local cur=$1 w
	shift
	for w; do
		[[ $w == "$cur"* ]] && COMPREPLY+=("$w")
	done
	return 0
}

# Like _wf_add, for words read one per line from standard input; each
# word is quoted for the command line, so an answer may hold spaces.
_wf_add_lines() {
	local cur=$1 w q
	while IFS= read -r w; do
		[[ -n $w ]] || continue
		printf -v q '%q' "$w"
		if [[ $w == "$cur"* || $q == "$cur"* ]]; then
			COMPREPLY+=("$q")
		fi
	done
	return 0
}

# The program wf-NAME ($1) that goes with the command being completed:
# the one beside it when it was typed as a path, else the one on PATH.
_wf_tool() {
	local cmd=${COMP_WORDS[0]} dir
	if [[ $cmd == */* ]]; then
		dir=${cmd%/*}
		dir=${dir/#\~/$HOME}
		if [[ -x $dir/$1 ]]; then
			printf '%s\n' "$dir/$1"
			return 0
		fi
	fi
	printf '%s\n' "$1"
	return 0
}

# The state directory of this project's runs (wf-state path).
_wf_project_state() {
	"$(_wf_tool wf-state)" path 2>/dev/null
	return 0
}

# This project's runs, one per line: current ones by name, and with $1
# "ids" the numbers of past ones too (wf runs).
_wf_run_names() {
	local d proj
	proj=$(_wf_project_state)
	[[ -n $proj ]] || return 0
	for d in "$proj"/runs/*/; do
		[[ -d $d ]] || continue
		d=${d%/}
		printf '%s\n' "${d##*/}"
	done
	if [[ $1 == ids ]]; then
		for d in "$proj"/history/[1-9]*-*/; do
			[[ -d $d ]] || continue
			d=${d%/}
			d=${d##*/}
			printf '%s\n' "${d%%-*}"
		done
	fi
	return 0
}

# The workflows wf can find by name: the first column of "wf-parse --list".
_wf_workflow_names() {
	local name rest
	"$(_wf_tool wf-parse)" --list 2>/dev/null | while read -r name rest; do
		[[ -n $name ]] && printf '%s\n' "$name"
	done
	return 0
}

# The step ids of workflow $1, in file order.  The mappings that could hold
# an "id" key of their own (variables, env, options) are dropped first.
_wf_step_ids() {
	[[ -n $1 && $1 != - ]] || return 0
	"$(_wf_tool wf-parse)" "$1" 2>/dev/null |
		sed -e 's/"\(variables\|env\|options\)":{[^{}]*}//g' |
		grep -o '"id":"[^"\\]*"' | sed -e 's/^"id":"//' -e 's/"$//'
	return 0
}

# The answers the question QUESTION ($1: its JSON members, as the
# journal has them) takes, one per line.
_wf_question_options() {
	local line=$1 opts item
	local re='^[[:space:]]*"(([^"\\]|\\.)*)"[[:space:]]*,?(.*)$'
	# Consent and a step in doubt have fixed answers.
	case $line in
	'"kind":"consent"'*|*',"kind":"consent"'*) printf '%s\n' yes no always; return 0 ;;
	'"kind":"in-doubt"'*|*',"kind":"in-doubt"'*) printf '%s\n' rerun skip; return 0 ;;
	esac
	[[ $line == *'"type":"confirm"'* && $line != *'"options":['* ]] && { printf '%s\n' yes no; return 0; }
	[[ $line == *'"options":['* ]] || return 0
	# The strings up to the closing ']'; a ']' or '}' inside one is fine.
	opts=${line#*'"options":['}
	while [[ $opts =~ $re ]]; do
		item=${BASH_REMATCH[1]}
		opts=${BASH_REMATCH[3]}
		item=${item//\\\"/\"}
		item=${item//\\\\/\\}
		printf '%s\n' "$item"
	done
	return 0
}

# The options of the question run $1 waits for, one per line.  The journal
# is newer than state.json, so its last pause, answer, resume or start
# decides; state.json is read only when there is no journal.  A parallel
# step's questions (kind branches) give BRANCH:ANSWER for each branch.
_wf_pending_options() {
	local dir line rest seg name
	[[ -n $1 ]] || return 0
	dir=$(_wf_project_state)/runs/$1
	if [[ -r $dir/history.jsonl ]]; then
		line=$(grep -E '"event":"(run-start|pause|answer|resume|run-end)"' \
			"$dir/history.jsonl" 2>/dev/null | tail -n 1)
	elif [[ -r $dir/state.json ]]; then
		line=$(<"$dir/state.json")
	fi
	[[ $line == *'"pending":{'* ]] || return 0
	line=${line#*'"pending":{'}
	if [[ $line == '"kind":"branches"'* ]]; then
		# Each question ends with its branch: "branch":"NAME"}.
		rest=${line#*'"questions":['}
		while [[ $rest == *'"branch":"'* ]]; do
			seg=${rest%%'"branch":"'*}
			rest=${rest#*'"branch":"'}
			name=${rest%%'"'*}
			rest=${rest#*'"'}
			_wf_question_options "$seg" | sed "s/^/$name:/"
		done
		return 0
	fi
	_wf_question_options "$line"
}

# The pipelines of a Codi codi-models.yaml here: the keys under "pipelines:".
_wf_codi_pipelines() {
	local line in=0
	[[ -r codi-models.yaml ]] || return 0
	while IFS= read -r line; do
		if [[ $line =~ ^pipelines:[[:space:]]*$ ]]; then
			in=1
		elif [[ $line =~ ^[^[:space:]#] ]]; then
			in=0
		elif (( in )) && [[ $line =~ ^[[:space:]]{2}([A-Za-z0-9._-]+):[[:space:]]*$ ]]; then
			printf '%s\n' "${BASH_REMATCH[1]}"
		fi
	done <codi-models.yaml
	return 0
}

# The local and remote branches of the repository here, one per line.
_wf_git_branches() {
	git for-each-ref --format='%(refname:lstrip=2)' refs/heads 2>/dev/null
	git for-each-ref --format='%(refname:lstrip=3)' refs/remotes 2>/dev/null | grep -vx HEAD
	return 0
}

# Model and role names: the first column of "wf-model list" under its
# NAME header, and X of its "role X: ..." lines.
_wf_model_names() {
	local first second rest
	"$(_wf_tool wf-model)" list 2>/dev/null | while read -r first second rest; do
		case $first in
		''|NAME) ;;
		role) printf '%s\n' "${second%:}" ;;
		*) printf '%s\n' "$first" ;;
		esac
	done
	return 0
}

# Workflows for $1: names, then *.yaml and *.yml files; directories only
# when the word is a path or nothing else matches, so that a path can be
# typed one directory at a time.
_wf_complete_workflows() {
	local cur=$1
	if [[ $cur != */* ]]; then
		_wf_add_lines "$cur" < <(_wf_workflow_names)
	fi
	mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -f -X '!*.yaml' -- "$cur" || :
		compgen -f -X '!*.yml' -- "$cur" || :)
	if [[ $cur == */* || ${#COMPREPLY[@]} -eq 0 ]]; then
		mapfile -t -O "${#COMPREPLY[@]}" COMPREPLY < <(compgen -d -- "$cur" || :)
		compopt -o filenames 2>/dev/null || :
	fi
	return 0
}

# What wf trust takes: a workflow, or the project's .wf/config.yaml.
_wf_complete_trust() {
	_wf_complete_workflows "$1"
	if [[ -f .wf/config.yaml && .wf/config.yaml == "$1"* ]]; then
		COMPREPLY+=(.wf/config.yaml)
	fi
	return 0
}

# Set _wf_pos to the words at and after index $1 that are not options or
# option arguments; $2 lists the options that take an argument.
_wf_positionals() {
	local i=$1 w takes=" $2 "
	_wf_pos=()
	while (( i < ${#COMP_WORDS[@]} )); do
		w=${COMP_WORDS[i]}
		if (( i == COMP_CWORD )); then
			:
		elif [[ $w == -- ]]; then
			:
		elif [[ $w == -?* ]]; then
			[[ $w != *=* && $takes == *" $w "* ]] && ((i++))
		else
			_wf_pos+=("$w")
		fi
		((i++))
	done
	return 0
}

# How many positional words come before the cursor, from index $1.
_wf_arg_index() {
	local i=$1 n=0 w takes=" $2 "
	while (( i < COMP_CWORD )); do
		w=${COMP_WORDS[i]}
		if [[ $w == -?* ]]; then
			[[ $w != *=* && $takes == *" $w "* ]] && ((i++))
		else
			((n++))
		fi
		((i++))
	done
	printf '%s\n' "$n"
	return 0
}

# The step ids of the workflow run $1 was started from.
_wf_run_step_ids() {
	local wf
	[[ -n $1 ]] || return 0
	wf=$("$(_wf_tool wf-state)" get "$1" workflow 2>/dev/null) || return 0
	_wf_step_ids "$wf"
	return 0
}

# The branches of parallel steps run $1 started, as STEP/BRANCH (its journal's branch-start events).
_wf_run_branches() {
	[[ -n $1 ]] || return 0
	"$(_wf_tool wf-state)" history "$1" 2>/dev/null |
		sed -n 's/.*"event":"branch-start","step":"\([^"]*\)","branch":"\([^"]*\)".*/\1\/\2/p' | awk '!seen[$0]++'
	return 0
}

# The steps run $1 reached, in the order it first reached each (its journal).
_wf_run_reached() {
	local -A seen=()
	local id
	[[ -n $1 ]] || return 0
	while IFS= read -r id; do
		[[ -n ${seen[$id]} ]] || printf '%s\n' "$id"
		seen[$id]=1
	done < <("$(_wf_tool wf-state)" history "$1" 2>/dev/null |
		sed -n 's/.*"event":"step-[a-z]*","step":"\([^"]*\)".*/\1/p')
	return 0
}

# wf rewind / wf-state rewind and wf fork / wf-run --fork, from index $1:
# options ($2), a run, then a step it reached.
_wf_complete_rewind() {
	local first=$1 opts=$2 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} n
	local takes='--pass --var --name --max-steps --answer'
	[[ " $takes " == *" $prev "* ]] && return 0
	if [[ $cur == -* ]]; then
		_wf_add "$cur" $opts
		return 0
	fi
	n=$(_wf_arg_index "$first" "$takes")
	case $n in
	0)	_wf_add_lines "$cur" < <(_wf_run_names ids) ;;
	1)	_wf_positionals "$first" "$takes"
		_wf_add_lines "$cur" < <(_wf_run_reached "${_wf_pos[0]}") ;;
	esac
	return 0
}

# wf rerun / wf-model rerun, from index $1: options, a run, then an AI step
# it reached; model names after --model and after each comma of --models.
_wf_complete_rerun() {
	local first=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} n name head=
	local takes='--model --models --pass --call'
	case $prev in
	--model) _wf_add_lines "$cur" < <(_wf_model_names); return 0 ;;
	--models)
		[[ $cur == *,* ]] && head=${cur%,*},
		while IFS= read -r name; do
			[[ $name == "${cur##*,}"* ]] && COMPREPLY+=("$head$name")
		done < <(_wf_model_names)
		return 0 ;;
	--pass|--call) return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		_wf_add "$cur" --model --models --pass --call --diff --json --help
		return 0
	fi
	n=$(_wf_arg_index "$first" "$takes")
	case $n in
	0)	_wf_add_lines "$cur" < <(_wf_run_names ids) ;;
	1)	_wf_positionals "$first" "$takes"
		_wf_add_lines "$cur" < <("$(_wf_tool wf-state)" history "${_wf_pos[0]}" 2>/dev/null |
			sed -n 's/.*"event":"step-end","step":"\([^"]*\)","action":"\(ai-prompt\|review-pr\|make-changes\|self-review\)".*/\1/p' |
			awk '!seen[$0]++') ;;
	esac
	return 0
}

# wf gc / wf-state gc: its options; --older-than offers a few durations.
_wf_complete_gc() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	case $prev in
	--keep) return 0 ;;
	--older-than) _wf_add "$cur" 1d 7d 30d 12h; return 0 ;;
	esac
	_wf_add "$cur" --keep --older-than --dry-run --json --help
	return 0
}

# wf logs / wf-state logs, from index $1: options, a run, then a step of it
# (none with --timeline).
_wf_complete_logs() {
	local first=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} n
	[[ $prev == --pass ]] && return 0
	if [[ $cur == -* ]]; then
		_wf_add "$cur" -f --follow --pass --timeline --json --help
		return 0
	fi
	n=$(_wf_arg_index "$first" --pass)
	# --timeline is the whole run: no step after the run.
	[[ " ${COMP_WORDS[*]} " == *" --timeline "* ]] && (( n > 0 )) && return 0
	case $n in
	0)	_wf_add_lines "$cur" < <(_wf_run_names ids) ;;
	1)	_wf_positionals "$first" --pass
		_wf_add_lines "$cur" < <(_wf_run_step_ids "${_wf_pos[0]}"; _wf_run_branches "${_wf_pos[0]}") ;;
	esac
	return 0
}

# wf report's words from index $1 on (wf-view(1)): a run, by name or
# number, then -o FILE (a file name, or - for standard output) and --force.
_wf_complete_report() {
	local first=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	if [[ $prev == -o ]]; then
		mapfile -t COMPREPLY < <(compgen -f -- "$cur" || :)
		compopt -o filenames 2>/dev/null || :
	elif [[ $cur == -* ]]; then
		_wf_add "$cur" -o --force --help
	elif (( $(_wf_arg_index "$first" -o) == 0 )); then
		_wf_add_lines "$cur" < <(_wf_run_names ids)
	fi
	return 0
}

# wf graph / wf-view graph, from index $1: its options, --format's two
# formats, then a workflow or a run (only a run after --run).
_wf_complete_graph() {
	local first=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	if [[ $prev == --format ]]; then
		_wf_add "$cur" dot mermaid
	elif [[ $cur == -* ]]; then
		_wf_add "$cur" --run --format --help
	elif (( $(_wf_arg_index "$first" --format) == 0 )); then
		[[ " ${COMP_WORDS[*]} " == *" --run "* ]] || _wf_complete_workflows "$cur"
		_wf_add_lines "$cur" < <(_wf_run_names ids)
	fi
	return 0
}

# The inputs workflow $1 declares, each as NAME= (from wf show's outline,
# where each input is a line of four spaces and its name).
_wf_workflow_inputs() {
	"$(_wf_tool wf-parse)" --outline "$1" 2>/dev/null |
		sed -n 's/^    \([A-Za-z_][A-Za-z0-9_]*\)[= ].*/\1=/p'
}

# wf run / wf-run: options, the workflow, then a step id of it.
# $1 is the index of the first argument; $2 is the options; $3 is
# "resume" when completing a resume.
_wf_complete_run() {
	local first=$1 opts=$2 mode=$3 cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD-1]} takes='--var --max-steps --answer --name --break --replay --replay-mode' n
	if (( COMP_CWORD > first )); then
		case $prev in
		--var)
			# A new run's --var: the workflow's inputs, as NAME=.
			_wf_positionals "$first" "$takes"
			if [[ $mode != resume && -n ${_wf_pos[0]} ]]; then
				_wf_add_lines "$cur" < <(_wf_workflow_inputs "${_wf_pos[0]}")
				compopt -o nospace 2>/dev/null || :
			fi
			return 0 ;;
		--max-steps)
			return 0 ;;
		--replay)
			# The run whose recordings answer: a current run's name or a past run's number.
			_wf_add_lines "$cur" < <(_wf_run_names ids)
			return 0 ;;
		--replay-mode)
			_wf_add "$cur" strict fill
			return 0 ;;
		--name)
			# A new run's name: the current runs, to run one again by name.
			_wf_add_lines "$cur" < <(_wf_run_names)
			return 0 ;;
		--answer)
			_wf_positionals "$first" "$takes"
			[[ $mode == resume ]] && _wf_add_lines "$cur" < <(_wf_pending_options "${_wf_pos[0]}")
			return 0 ;;
		--break)
			# The step ids of the workflow, or of the run's.
			_wf_positionals "$first" "$takes"
			if [[ $mode == resume ]]; then
				_wf_add_lines "$cur" < <(_wf_run_step_ids "${_wf_pos[0]}")
			elif [[ -n ${_wf_pos[0]} ]]; then
				_wf_add_lines "$cur" < <(_wf_step_ids "${_wf_pos[0]}")
			fi
			return 0 ;;
		esac
	fi
	if [[ $cur == -* ]]; then
		local -a list
		read -ra list <<<"$opts"
		_wf_add "$cur" "${list[@]}"
		return 0
	fi
	n=$(_wf_arg_index "$first" "$takes")
	if [[ $mode == resume ]]; then
		(( n == 0 )) && _wf_add_lines "$cur" < <(_wf_run_names)
		return 0
	fi
	case $n in
	0)	_wf_complete_workflows "$cur" ;;
	1)	_wf_positionals "$first" "$takes"
		_wf_add_lines "$cur" < <(_wf_step_ids "${_wf_pos[0]}") ;;
	esac
	return 0
}

# Verbs run as wf-VERB: every wf-* program beside wf or on PATH, except
# the custom actions wf-action-*.
_wf_external_verbs() {
	local c dir
	{
		compgen -c wf- || :
		if [[ ${COMP_WORDS[0]} == */* ]]; then
			dir=${COMP_WORDS[0]%/*}
			for c in "${dir/#\~/$HOME}"/wf-*; do
				[[ -x $c ]] && printf '%s\n' "${c##*/}"
			done
		fi
	} 2>/dev/null | while IFS= read -r c; do
		c=${c#wf-}
		[[ -n $c && $c != action-* ]] && printf '%s\n' "$c"
	done
	return 0
}

# Complete the words of a wf-* tool; the tool's name is ${COMP_WORDS[0]}.
_wf_tool_words() {
	local tool=${COMP_WORDS[0]##*/} cur=${COMP_WORDS[COMP_CWORD]}
	local prev=${COMP_WORDS[COMP_CWORD-1]} n
	COMPREPLY=()
	case $tool in
	wf-parse)
		if [[ $cur == -* ]]; then
			_wf_add "$cur" --check --list --outline --schema --suggest --json --pretty --help --version
		elif [[ " ${COMP_WORDS[*]} " != *" --list "* ]]; then
			_wf_complete_workflows "$cur"
		fi ;;
	wf-cond)
		case $prev in
		--var) return 0 ;;
		--state) _wf_add_lines "$cur" < <(_wf_run_names); return 0 ;;
		--file-ctx)
			mapfile -t COMPREPLY < <(compgen -f -- "$cur" || :)
			compopt -o filenames 2>/dev/null || :
			return 0 ;;
		esac
		[[ $cur == -* ]] && _wf_add "$cur" -p --print --state --file-ctx --var --check \
			--subst --strict --help --version ;;
	wf-step)
		if [[ $prev == --actions ]]; then
			_wf_add "$cur" --json
		elif ((COMP_CWORD == 1)); then
			_wf_add "$cur" --serve --actions --json --help --version
		fi ;;
	wf-model)
		if [[ ${COMP_WORDS[1]} == rerun ]] && (( COMP_CWORD > 1 )); then
			_wf_complete_rerun 2
			return 0
		fi
		local takes='-m --model --original -s --system --stream-fd'
		case $prev in
		-m|--model|--original) _wf_add_lines "$cur" < <(_wf_model_names); return 0 ;;
		-s|--system|--stream-fd) return 0 ;;
		esac
		_wf_positionals 1 "$takes"
		n=$(_wf_arg_index 1 "$takes")
		case ${_wf_pos[0]}:$cur in
		list:-*) _wf_add "$cur" --json --providers --help ;;
		resolve:-*) _wf_add "$cur" --original --check --help ;;
		chat:-*) _wf_add "$cur" -m --model --original -s --system --stream-fd -q --quiet \
			--text -v --verbose --help ;;
		ping:-*) _wf_add "$cur" --json --help ;;
		:-*) _wf_add "$cur" --serve --help --version ;;
		*:-*) _wf_add "$cur" --help --version ;;
		*)
			if (( n == 0 )); then
				_wf_add "$cur" list resolve chat ping rerun
			elif (( n == 1 )) && [[ ${_wf_pos[0]} == resolve || ${_wf_pos[0]} == ping ]]; then
				_wf_add_lines "$cur" < <(_wf_model_names)
			fi ;;
		esac ;;
	wf-state)
		n=$(_wf_arg_index 1 '')
		if [[ ${COMP_WORDS[1]} == logs ]] && (( COMP_CWORD > 1 )); then
			_wf_complete_logs 2
		elif [[ ${COMP_WORDS[1]} == gc ]] && (( COMP_CWORD > 1 )); then
			_wf_complete_gc
		elif [[ ${COMP_WORDS[1]} == rewind ]] && (( COMP_CWORD > 1 )); then
			_wf_complete_rewind 2 "$_wf_rewind_opts"
		elif [[ $cur == -* ]]; then
			_wf_positionals 1 ''
			case ${_wf_pos[0]} in
			rm) _wf_add "$cur" --force --help ;;
			list|status) _wf_add "$cur" --all --json --help ;;
			runs) _wf_add "$cur" --limit --json --help ;;
			*) _wf_add "$cur" --json --help --version ;;
			esac
		elif (( n == 0 )); then
			_wf_add "$cur" list status show get set history logs pause rewind rm fsck trust runs gc path
		elif (( n == 1 )); then
			_wf_positionals 1 ''
			case ${_wf_pos[0]} in
			list) ;;
			trust) _wf_complete_trust "$cur" ;;
			runs) _wf_add_lines "$cur" < <(_wf_workflow_names) ;;
			pause|set) _wf_add_lines "$cur" < <(_wf_run_names) ;;
			*) _wf_add_lines "$cur" < <(_wf_run_names ids) ;;
			esac
		elif (( n == 2 )); then
			_wf_positionals 1 ''
			if [[ ${_wf_pos[0]} == get ]]; then
				_wf_add "$cur" vars. steps. last. loops. passes. iteration status cursor pending usage
				compopt -o nospace 2>/dev/null || :
			fi
		fi ;;
	wf-run)
		if [[ " ${COMP_WORDS[*]} " == *" --fork "* ]]; then
			_wf_complete_rewind 1 "--fork $_wf_fork_opts"
		elif [[ " ${COMP_WORDS[*]} " == *" --resume "* ]]; then
			_wf_complete_run 1 "--resume $_wf_resume_opts" resume
		else
			_wf_complete_run 1 "--resume --fork $_wf_run_opts" run
		fi ;;
	wf-view)
		# Each verb's options and operands are its own (wf-view(1)).
		if (( COMP_CWORD == 1 )); then
			[[ $cur == -* ]] && _wf_add "$cur" --help --version || _wf_add "$cur" graph report
		elif [[ ${COMP_WORDS[1]} == graph ]]; then
			_wf_complete_graph 2
		elif [[ ${COMP_WORDS[1]} == report ]]; then
			_wf_complete_report 2
		fi ;;
	wf-pr)
		local takes='-C -R --head --base --title --body --body-file --state --marker
			--event --comments-file --method --sha'
		case $prev in
		-C) mapfile -t COMPREPLY < <(compgen -d -- "$cur" || :)
			compopt -o filenames 2>/dev/null || :
			return 0 ;;
		--body-file|--comments-file)
			mapfile -t COMPREPLY < <(compgen -f -- "$cur" || :)
			compopt -o filenames 2>/dev/null || :
			return 0 ;;
		--head|--base) _wf_add_lines "$cur" < <(_wf_git_branches); return 0 ;;
		--state) _wf_add "$cur" open closed all; return 0 ;;
		--event) _wf_add "$cur" approve request-changes comment; return 0 ;;
		--method) _wf_add "$cur" merge squash rebase; return 0 ;;
		-R|--title|--body|--marker|--sha) return 0 ;;
		esac
		_wf_positionals 1 "$takes"
		n=$(_wf_arg_index 1 "$takes")
		case ${_wf_pos[0]}:$cur in
		list:-*) _wf_add "$cur" --head --state ;;
		diff:-*) _wf_add "$cur" --raw ;;
		create:-*) _wf_add "$cur" --head --base --title --body --body-file --draft ;;
		comment:-*) _wf_add "$cur" --body --body-file --marker ;;
		review:-*) _wf_add "$cur" --event --body --body-file --comments-file --marker ;;
		merge:-*) _wf_add "$cur" --method --sha --delete-branch ;;
		*:-*) _wf_add "$cur" -C -R --debug-http --help --version ;;
		find:*) (( n == 1 )) && _wf_add_lines "$cur" < <(_wf_git_branches) ;;
		*) (( n == 0 )) && _wf_add "$cur" repo list find view diff create comment comments \
			review reviews merge ;;
		esac ;;
	wf-create)
		case $prev in
		--template)
			# The names in the first column of the table, inputs (indented) and header left out.
			_wf_add_lines "$cur" < <("$(_wf_tool wf-create)" --list 2>/dev/null |
				awk 'NR > 1 && !/^ / { print $1 }')
			return 0 ;;
		--describe|--attempts) return 0 ;;
		--model) _wf_add_lines "$cur" < <(_wf_model_names); return 0 ;;
		--migrate)
			_wf_add_lines "$cur" < <(_wf_codi_pipelines)
			return 0 ;;
		esac
		[[ $cur == -* ]] && _wf_add "$cur" --template --describe --model --attempts --var -o --force --list --json \
			--migrate --all --from --provider --export --import --as --help --version ;;
	esac
	return 0
}

_wf_words() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} verb n
	COMPREPLY=()
	if (( COMP_CWORD == 1 )); then
		if [[ $cur == -* ]]; then
			_wf_add "$cur" --help --version
		else
			_wf_add "$cur" "${_wf_verbs[@]}"
			_wf_add_lines "$cur" < <(_wf_external_verbs)
			# A verb and the tool of the same name give one candidate.
			local -A seen=()
			local w out=()
			for w in "${COMPREPLY[@]}"; do
				[[ -n ${seen[$w]} ]] || out+=("$w")
				seen[$w]=1
			done
			COMPREPLY=("${out[@]}")
		fi
		return 0
	fi
	verb=${COMP_WORDS[1]}
	case $verb in
	run)	_wf_complete_run 2 "$_wf_run_opts" run ;;
	resume)	_wf_complete_run 2 "$_wf_resume_opts" resume ;;
	status|pause)
		n=$(_wf_arg_index 2 '')
		if [[ $cur == -* && $verb == status ]]; then
			_wf_add "$cur" --all --json --help
		elif [[ $cur == -* ]]; then
			_wf_add "$cur" --help
		elif (( n == 0 )) && [[ $verb == status ]]; then
			_wf_add_lines "$cur" < <(_wf_run_names ids)
		elif (( n == 0 )); then
			_wf_add_lines "$cur" < <(_wf_run_names)
		fi ;;
	logs)	_wf_complete_logs 2 ;;
	report)	_wf_complete_report 2 ;;
	graph)	_wf_complete_graph 2 ;;
	rewind)	_wf_complete_rewind 2 "$_wf_rewind_opts" ;;
	fork)	_wf_complete_rewind 2 "$_wf_fork_opts" ;;
	rerun)	_wf_complete_rerun 2 ;;
	runs)
		[[ $prev == --limit ]] && return 0
		if [[ $cur == -* ]]; then
			_wf_add "$cur" --limit --json --help
		elif (( $(_wf_arg_index 2 --limit) == 0 )); then
			_wf_add_lines "$cur" < <(_wf_workflow_names)
		fi ;;
	gc)	_wf_complete_gc ;;
	list|templates)	_wf_add "$cur" --json --help ;;
	show|trust)
		n=$(_wf_arg_index 2 '')
		if [[ $cur == -* && $verb == show ]]; then
			_wf_add "$cur" --json --help
		elif [[ $cur == -* ]]; then
			_wf_add "$cur" --help
		elif (( n == 0 )) && [[ $verb == trust ]]; then
			_wf_complete_trust "$cur"
		elif (( n == 0 )); then
			_wf_complete_workflows "$cur"
		fi ;;
	validate|lint)
		if [[ $cur == -* && $verb == validate ]]; then
			_wf_add "$cur" --suggest --help
		elif [[ $cur == -* ]]; then
			_wf_add "$cur" --check --json --help
		else
			_wf_complete_workflows "$cur"
		fi ;;
	export)
		if [[ $prev == -o ]]; then
			mapfile -t COMPREPLY < <(compgen -f -- "$cur" || :)
		elif [[ $cur == -* ]]; then
			_wf_add "$cur" -o --force --help
		elif (( $(_wf_arg_index 2 -o) == 0 )); then
			_wf_complete_workflows "$cur"
		fi ;;
	import)
		if [[ $prev == --as ]]; then
			return 0
		elif [[ $cur == -* ]]; then
			_wf_add "$cur" --as --force --help
		elif (( $(_wf_arg_index 2 --as) == 0 )); then
			# A bundle, or a repository's directory.
			mapfile -t COMPREPLY < <(compgen -f -X '!*.json' -- "$cur" || :
				compgen -d -- "$cur" || :)
		fi ;;
	migrate)
		case $prev in
		--from)
			mapfile -t COMPREPLY < <(compgen -f -- "$cur" || :)
			compopt -o filenames 2>/dev/null || :
			return 0 ;;
		--provider|-o) return 0 ;;
		esac
		n=$(_wf_arg_index 2 '--from --provider -o')
		if [[ $cur == -* ]]; then
			_wf_add "$cur" --list --all --from --provider -o --force --help
		elif (( n == 0 )); then
			_wf_add_lines "$cur" < <(_wf_codi_pipelines)
		fi ;;
	help)	(( COMP_CWORD == 2 )) && _wf_add "$cur" "${_wf_verbs[@]}" ;;
	*)
		# Any other verb is the tool wf-VERB (create, model, pr, or one of
		# your own): complete as that tool would, found where wf would find it.
		local tool=wf-$verb
		[[ ${COMP_WORDS[0]} == */* ]] && tool=${COMP_WORDS[0]%/*}/$tool
		local words=("$tool" "${COMP_WORDS[@]:2}")
		local COMP_WORDS=("${words[@]}") COMP_CWORD=$((COMP_CWORD - 1))
		_wf_tool_words ;;
	esac
	return 0
}

# Bash splits words at the characters of COMP_WORDBREAKS, ':' and '='
# among them, so "--var x=1" reaches us as four words and "ollama:llama3"
# as three.  Put back together the words that touch in COMP_LINE, into
# _wf_joined and _wf_jcword; when COMP_LINE does not match the words (or
# is unset), leave them as they are.
_wf_rejoin() {
	local line=$COMP_LINE i w sep
	_wf_joined=("${COMP_WORDS[@]}") _wf_jcword=$COMP_CWORD
	[[ -n $line ]] || return 0
	local joined=() jcword=$COMP_CWORD
	for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		sep=0
		while [[ $line == [[:space:]]* ]]; do
			line=${line:1}
			sep=1
		done
		[[ $line == "$w"* ]] || return 0
		line=${line:${#w}}
		if (( i > 0 && !sep )); then
			joined[${#joined[@]} - 1]+=$w
		else
			joined+=("$w")
		fi
		(( i == COMP_CWORD )) && jcword=$((${#joined[@]} - 1))
	done
	_wf_joined=("${joined[@]}") _wf_jcword=$jcword
	return 0
}

# Run completer $1 over the rejoined words; a word with ':' then gets
# back only what follows its last ':', which is what readline replaces.
_wf_complete_with() {
	local _wf_joined _wf_jcword cur pre i
	_wf_rejoin
	local COMP_WORDS=("${_wf_joined[@]}") COMP_CWORD=$_wf_jcword
	COMPREPLY=()
	"$1"
	cur=${COMP_WORDS[COMP_CWORD]}
	if [[ -n $COMP_LINE && $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		pre=${cur%"${cur##*:}"}
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$pre"}
		done
	fi
	return 0
}

_wf() {
	_wf_complete_with _wf_words
}

_wf_cmd() {
	_wf_complete_with _wf_tool_words
}

complete -F _wf wf
complete -F _wf_cmd wf-parse wf-cond wf-step wf-model wf-state wf-run wf-pr wf-create wf-view
