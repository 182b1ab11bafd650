#!/usr/bin/env bats
# The engine's manual pages, wf-run(1), wf-step(1) and wf-state(1): they
# render cleanly, have the sections a reader expects, name every option,
# verb and exit status the code has, and what they show is what the
# programs do (their examples are run, the files and environment they
# describe are checked against real runs).
load helpers

MAN="$REPO_ROOT/man"
PAGES="wf-run wf-step wf-state"

# The text of PAGE as a reader sees it, plain, one long line per
# paragraph, without hyphenation.
rendered() {
	groff -mandoc -Tascii -P-cbou -rLL=1000n -rHY=0 "$MAN/$1.1"
}

# The lines of section SECT (e.g. "EXIT STATUS") of PAGE's source.
section() {
	awk -v s=".Sh $2" '$0 == s { on = 1; next } /^\.Sh / { on = 0 } on' "$MAN/$1.1"
}

# The exit statuses that PAGE's EXIT STATUS section lists as ".It N".
listed_codes() {
	section "$1" "EXIT STATUS" | awk '$1 == ".It" { for (i = 2; i <= NF; i++) if ($i ~ /^[0-9]+$/) print $i }'
}

# The numbers of the WF_EXIT_* names used in FILES (wf.h gives the numbers).
used_codes() {
	local names n
	names=$(cat "$@" | grep -o 'WF_EXIT_[A-Z]*' | sort -u)
	for n in $names; do
		grep -o "$n = [0-9]*" "$REPO_ROOT/lib/wf.h" | sed 's/.* = //'
	done | sort -un
}

# The example commands of PAGE, one per record: "CMD <command>" (its
# lines joined by \001) then "OUT <line>" for each line of output the
# page shows, then "END".
# Commands start with "$ " in a literal block of EXAMPLES; a line ending
# in "|" or "\", or inside an open quote, goes on on the next line.
examples() {
	section "$1" EXAMPLES | awk '
		function unescape(s) {
			gsub(/\\\(dq/, "\"", s); gsub(/\\&/, "", s); gsub(/\\e/, "\\", s)
			return s
		}
		function flush() {
			if (cmd != "") {
				gsub(/\n/, "\001", cmd)
				print "CMD " cmd
				for (i = 1; i <= nout; i++) print "OUT " out[i]
				print "END"
			}
			cmd = ""; nout = 0
		}
		/^\.Bd -literal/ { lit = 1; next }
		/^\.Ed/ { flush(); lit = 0; cont = 0; next }
		!lit { next }
		{
			line = unescape($0)
			if (cont) { cmd = cmd "\n" line }
			else if (line ~ /^\$ /) { flush(); cmd = substr(line, 3) }
			else { if (cmd != "") out[++nout] = line; next }
			q = cmd; gsub(/[^\047]/, "", q)
			cont = line ~ /[|\\]$/ || length(q) % 2 == 1
		}
		END { flush() }'
}

# Text with times made neutral and blanks squeezed, to compare output.
normal() {
	sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z/TIME/g; s/[[:space:]]+/ /g; s/ $//'
}

@test "the engine pages render without a warning from groff and mandoc" {
	for p in $PAGES; do
		[ -f "$MAN/$p.1" ] || { echo "no man/$p.1" >&2; return 1; }
		run groff -mandoc -ww -z "$MAN/$p.1"
		assert_success
		assert_output ''
		if command -v man >/dev/null; then
			run sh -c 'MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null' sh "$MAN/$p.1"
			assert_success
			assert_output ''
		fi
		if command -v mandoc >/dev/null; then
			run mandoc -T lint -W warning "$MAN/$p.1"
			assert_success
			assert_output ''
		fi
	done
}

@test "the engine pages have the required sections, in order" {
	local want='NAME SYNOPSIS DESCRIPTION ENVIRONMENT FILES EXIT_STATUS EXAMPLES SEE_ALSO'
	for p in $PAGES; do
		got=$(sed -n 's/^\.Sh //p' "$MAN/$p.1" | tr ' ' _ | grep -Fx -f <(tr ' ' '\n' <<<"$want") | tr '\n' ' ')
		[ "$got" = "$want " ] || { echo "$p.1 has: $got" >&2; return 1; }
		grep -qx ".Dt $(tr a-z A-Z <<<"$p") 1" "$MAN/$p.1"
		grep -qx ".Nm $p" "$MAN/$p.1"
	done
}

@test "wf-run(1) and wf-run --help name the same options, and wf-run takes each" {
	run wf-run --help
	assert_success
	help=$output
	from_help=$(printf '%s\n' "$help" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	short=$(printf '%s\n' "$help" | grep -oE '(^|[ ,])-[a-zA-Z]([ ,]|$)' | tr -d ' ,' | sort -u)
	[ "$(wc -w <<<"$from_help")" -ge 14 ]
	[ "$(wc -w <<<"$short")" -ge 3 ]
	for o in $from_help $short; do
		grep -Eq "Fl ${o#-}( |\$)" "$MAN/wf-run.1" || { echo "wf-run.1 lacks $o" >&2; return 1; }
	done
	# Each option the page describes is in --help, and wf-run knows it.
	described=$(section wf-run DESCRIPTION | grep '^\.It Fl' | grep -o 'Fl -\{0,1\}[a-zA-Z][a-z-]*' | sed 's/Fl /-/' | sort -u)
	[ "$(wc -w <<<"$described")" -ge 14 ]
	for o in $described; do
		grep -Eq -- "(^|[ ,|])$o([ ,=]|\$)" <<<"$help" || { echo "wf-run --help lacks $o" >&2; return 1; }
		run wf-run "$o"
		refute_output --partial "unrecognized option"
		refute_output --partial "invalid option"
	done
	# Each option of the SYNOPSIS is described in DESCRIPTION too.
	for o in $(section wf-run SYNOPSIS | grep -o 'Fl -[a-z-]*' | sed 's/Fl //' | sort -u); do
		section wf-run DESCRIPTION | grep -Eq "^\.It Fl (q , Fl )?$o( |\$)" ||
			{ echo "wf-run.1 does not describe $o" >&2; return 1; }
	done
}

@test "wf-step(1) names every argument wf-step takes" {
	run wf-step --help
	assert_success
	from_help=$(printf '%s\n' "$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	[ "$(wc -w <<<"$from_help")" -ge 5 ]
	for o in $from_help; do
		grep -Eq "Fl ${o#-}( |\$)" "$MAN/wf-step.1" || { echo "wf-step.1 lacks $o" >&2; return 1; }
	done
	# And an argument it does not take is a usage error, as the page says.
	run wf-step --no-such-option
	assert_failure 2
	run wf-step --actions --no-such-option
	assert_failure 2
}

@test "wf-state(1) names every verb and option that wf-state --help shows" {
	run wf-state --help
	assert_success
	# The usage lines and the list of verbs come from one table in the program.
	help_verbs=$(printf '%s\n' "$output" | sed -n 's/^\(usage:\)\{0,1\} *wf-state \([a-z][a-z]*\).*/\2/p' | sort -u)
	listed_verbs=$(printf '%s\n' "$output" | sed -n '/^verbs:$/,$s/^  \([a-z][a-z]*\) .*/\1/p' | sort -u)
	opts=$(printf '%s\n' "$output" | grep -o -- '--[a-z][a-z-]*' | sort -u)
	[ "$help_verbs" = "$listed_verbs" ]
	[ "$(wc -w <<<"$help_verbs")" -ge 10 ]
	[ "$(wc -w <<<"$opts")" -ge 4 ]
	synopsis=$(section wf-state SYNOPSIS)
	for v in $help_verbs; do
		grep -Eqx "\.It Cm $v( .*)?" "$MAN/wf-state.1" || { echo "wf-state.1 does not describe '$v'" >&2; return 1; }
		grep -qx "\.Cm $v" <<<"$synopsis" || { echo "wf-state.1 SYNOPSIS lacks '$v'" >&2; return 1; }
	done
	for o in $opts; do
		grep -Eq "Fl ${o#-}( |\$)" "$MAN/wf-state.1" || { echo "wf-state.1 lacks $o" >&2; return 1; }
	done
}

@test "each page's EXIT STATUS lists every exit status its program's code uses" {
	# wf-run's code is its main and every lib file its link map (written
	# by the Makefile beside the objects) says it pulled in.  wf-step's own
	# exit status comes from its main alone (what the library returns lands
	# in the result's exit_code, listed apart); wf-state's from its main,
	# the run store, and consent for trust.
	obj=$(cd "$WF_BIN/.." && pwd)/obj
	[ -d "$obj" ] || obj=$REPO_ROOT/build/obj
	for p in $PAGES; do
		files=("$REPO_ROOT/cmd/$p.c")
		case $p in
		wf-run)
			[ -e "$obj/$p.map" ]
			for m in $(grep -o 'libwf\.a([a-z0-9_]*\.o)' "$obj/$p.map" | sed 's/.*(\(.*\)\.o)/\1/' | sort -u); do
				files+=("$REPO_ROOT/lib/$m.c")
			done
			[ "${#files[@]}" -ge 10 ] ;;
		wf-state)
			files+=("$REPO_ROOT"/lib/state*.c "$REPO_ROOT/lib/status.c" "$REPO_ROOT/lib/consent.c") ;;
		esac
		used=$(used_codes "${files[@]}")
		[ "$(wc -w <<<"$used")" -ge 5 ]
		listed=" $(listed_codes "$p" | tr '\n' ' ') "
		for c in $used; do
			[[ $listed == *" $c "* ]] || { echo "$p.1 EXIT STATUS lacks $c" >&2; return 1; }
		done
	done
}

@test "every file a run leaves in the state directory is named in wf-state(1)" {
	write f.yaml <<'Y'
name: f
steps:
  - id: a
    action: shell
    command: "echo a; echo oops >&2"
  - id: b
    action: shell
    command: "test -e ok"
Y
	wf run test-linear --quiet
	wf run test-linear --quiet
	run wf run f.yaml --quiet
	assert_failure 1
	d="$(rundir f)"
	printf '{"seq":99,"event":"step-st' >> "$d/history.jsonl"
	echo garbage > "$d/state.json"
	touch ok
	run wf resume f --quiet
	assert_success
	touch "$d/.state.json.tmp.123"
	: > "$(rundir test-linear)/pause-request"
	text=$(rendered wf-state)
	names=$(cd "$WF_STATE_DIR" && find . -mindepth 1 | sed 's|^\./||')
	[ "$(wc -l <<<"$names")" -ge 20 ]
	for n in $names; do
		# The part a page can name: no run names, numbers or times.
		stem=$(sed -E -e 's|^projects/[^/]+$|projects/|; s|^projects/[^/]+/||' \
			-e 's|^runs/[^/]+$|runs/|; s|^runs/[^/]+/||; s|^history/[0-9]+-[^/]+$|history/|; s|^history/[0-9]+-[^/]+/||' \
			-e 's|^steps/[0-9]+-[a-z0-9]+\.|.|; s|-[0-9]+$|-|; s|^\.(.*)\.tmp\.[0-9]+$|.tmp.|' <<<"$n")
		[[ $text == *"$stem"* ]] || { echo "wf-state.1 does not name '$stem' (from $n)" >&2; return 1; }
	done
}

@test "a command's environment is what wf-step(1) says" {
	export DEMO_API_KEY=sk-demo-0123456789
	echo '{"step":{"id":"e","action":"shell","command":"env"},
	       "vars":{"plain":"1","IFS":"2","LD_PRELOAD":"3","WF_X":"4","MY_TOKEN":"5","not-an-id":"6"},
	       "run":{"name":"r","dir":"/nowhere"}}' > req.json
	run sh -c 'wf-step < req.json 2>/dev/null | jq -r .output'
	assert_success
	env_out=$output
	for want in plain=1 WF_VAR_plain=1 WF_VAR_IFS=2 WF_VAR_LD_PRELOAD=3 WF_VAR_WF_X=4 WF_VAR_MY_TOKEN=5 \
		WF_RUN_NAME=r WF_RUN_DIR=/nowhere WF_STEP_ID=e; do
		grep -qx "$want" <<<"$env_out" || { echo "no $want in the environment" >&2; return 1; }
	done
	for unwanted in IFS=2 LD_PRELOAD=3 WF_X=4 MY_TOKEN=5 not-an-id=6 DEMO_API_KEY=; do
		! grep -q "^$unwanted" <<<"$env_out" || { echo "$unwanted in the environment" >&2; return 1; }
	done
	# The page names those variables, every unsafe name, and every secret suffix the code has.
	text=$(rendered wf-step)
	run wf-parse --schema
	assert_success
	unsafe=$(jq -r '.names | .reserved[], ."reserved-prefixes"[]' <<<"$output")
	suffixes=$(jq -r '.names | .secret[], ."secret-suffixes"[], ."secret-infix"' <<<"$output")
	[ "$(wc -w <<<"$unsafe")" -ge 7 ]
	[ "$(wc -w <<<"$suffixes")" -ge 7 ]
	for w in WF_RUN_NAME WF_RUN_DIR WF_STEP_ID WF_VAR_NAME $unsafe $suffixes; do
		[[ $text == *"$w"* ]] || { echo "wf-step.1 does not name $w" >&2; return 1; }
	done
}

@test "the examples of the engine pages run, and print what the pages show" {
	cp "$EXAMPLES/test-linear.yaml" flow.yaml
	wf run test-linear --quiet
	wf run test-loop-shell --quiet
	local n=0
	for p in $PAGES; do
		cmd= expect=()
		while IFS= read -r line; do
			case $line in
			"CMD "*) cmd=${line#CMD }; cmd=${cmd//$'\001'/$'\n'}; expect=() ;;
			"OUT "*) expect+=("${line#OUT }") ;;
			END)
				# Only the examples that need nothing from outside: the
				# shipped examples, flow.yaml, and wf-step's own requests.
				if [[ $cmd =~ test-linear|test-loop-shell|--dry-run|--estimate|flow\.yaml|^wf-state\ list|^(echo|printf)\  ]] &&
				   [[ $cmd != *NAME* ]]; then
					# A failing step is wf-step's answer, not a failed example.
					if [[ $cmd == *wf-step* ]]; then run bash -c "$cmd"; else run bash -o pipefail -c "$cmd"; fi
					[ "$status" -eq 0 ] || { echo "$p.1 example failed ($status): $cmd"$'\n'"$output" >&2; return 1; }
					got=$(normal <<<"$output")
					for e in "${expect[@]}"; do
						e=$(normal <<<"$e")
						[[ -z $e || $'\n'$got$'\n' == *$'\n'"$e"$'\n'* ]] ||
							{ echo "$p.1: '$cmd' did not print '$e'; it printed:"$'\n'"$got" >&2; return 1; }
					done
					n=$((n + 1))
				fi
				cmd= ;;
			esac
		done < <(examples "$p")
	done
	[ "$n" -ge 10 ]
}

# The lines of subsection SS of section SECT of PAGE's source.
subsection() {
	section "$1" "$2" | awk -v s=".Ss $3" '$0 == s { on = 1; next } /^\.Ss / { on = 0 } on'
}

# The built-in actions of 'wf-step --actions' whose flags include FLAG (or, with !FLAG, do not).
actions_flagged() {
	local f=$1 want=1
	[[ $f == '!'* ]] && want=0 f=${f#!}
	wf-step --actions | awk -F '\t' -v f="$f" -v want="$want" '((("," $2 ",") ~ ("," f ",")) == want) { print $1 }'
}

@test "wf-step --actions lists each built-in action once, with flags the page explains" {
	run wf-step --actions
	assert_success
	[ "$(wc -l <<<"$output")" -ge 15 ]
	[ -z "$(cut -f1 <<<"$output" | sort | uniq -d)" ]
	flags=$(cut -f2 <<<"$output" | tr , '\n' | grep -vx -- - | sort -u)
	[ "$(wc -w <<<"$flags")" -ge 7 ]
	described=$(section wf-step DESCRIPTION | awk '$1 == ".It" && $2 == "Cm" { print $3 }')
	for f in $flags; do
		grep -qx -- "$f" <<<"$described" || { echo "wf-step.1 does not explain flag '$f'" >&2; return 1; }
	done
	run wf-step --actions --json
	assert_success
	[ "$(jq -s length <<<"$output")" -eq "$(wf-step --actions | wc -l)" ]
	[ "$(jq -s -r 'map(.name) | join(" ")' <<<"$output")" = "$(wf-step --actions | cut -f1 | tr '\n' ' ' | sed 's/ $//')" ]
}

@test "wf-step(1) describes every action wf-step runs" {
	actions=$(actions_flagged '!driver')
	[ "$(wc -w <<<"$actions")" -ge 12 ]
	described=$(subsection wf-step DESCRIPTION Actions | awk '$1 == ".It" && $2 == "Ic" { for (i = 3; i <= NF; i++) if ($i != ",") print $i }')
	for a in $actions; do
		grep -qx -- "$a" <<<"$described" || { echo "wf-step.1 does not describe action '$a'" >&2; return 1; }
	done
	# The driver's own actions are refused by wf-step.
	for a in $(actions_flagged driver); do
		echo "{\"step\":{\"id\":\"s\",\"action\":\"$a\",\"to\":\"s\",\"max-iterations\":1,\"condition\":\"true\",\"workflow\":\"w\",\"branches\":[[{\"id\":\"x\",\"action\":\"shell\",\"command\":\"true\",\"next\":null}]]}}" > req.json
		run sh -c 'wf-step < req.json'
		assert_failure 1
		[[ $output == *"cannot run in wf-step"* ]]
	done
}

@test "wf-run(1) names the actions that run without consent, as the action table has them" {
	safe=$(actions_flagged '!consent')
	[ "$(wc -w <<<"$safe")" -ge 5 ]
	text=$(subsection wf-run DESCRIPTION Consent | sed -n '1,/^\.Bl/p')
	named=$(awk '$1 == ".Ic" { for (i = 2; i <= NF; i++) if ($i != ",") print $i }' <<<"$text")
	for a in $safe; do
		grep -qx -- "$a" <<<"$named" || { echo "wf-run.1 Consent does not name '$a'" >&2; return 1; }
	done
	[ "$(wc -w <<<"$named")" -eq "$(wc -w <<<"$safe")" ]
}
