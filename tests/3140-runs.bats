#!/usr/bin/env bats
# Runs as first-class objects: a project and a name each, several at once,
# a history that can be listed, read and pruned, and the old layout moved
# in without losing a paused run.
load helpers

# A workflow whose first step asks a person: without a terminal the run
# waits for an answer (exit 3).
asks() {
	write "$1" <<'Y'
name: same
steps:
  - id: q
    action: interactive
    message: "Ship it?"
    variable: go
  - id: s
    action: shell
    command: 'echo "SHIPPED $go"'
Y
}

# A workflow whose step says it started (at-WHO), then holds until go-WHO exists.
held() {
	write h.yaml <<'Y'
name: held
steps:
  - id: hold
    action: shell
    command: 'touch "at-$who"; while [ ! -e "go-$who" ]; do sleep 0.01; done; echo "released $who"'
Y
}

@test "two projects with the same workflow name never see each other" {
	mkdir -p a/sub b
	git init -q a
	asks a/w.yaml
	asks b/w.yaml
	cd a/sub
	run wf run ../w.yaml
	assert_failure 3
	cd "$WORK/b"
	# The other project's waiting run does not block this one.
	run wf run w.yaml
	assert_failure 3
	run wf run w.yaml
	assert_failure 2
	assert_output --partial "run 'same' of project $WORK/b is waiting at step q"
	assert_output --partial "'wf run w.yaml --restart'"
	run wf run w.yaml --restart --answer yes
	assert_success
	assert_output --partial "SHIPPED true"
	# Project a's run, seen from its top and from a subdirectory, waits as it did.
	cd "$WORK/a"
	run wf-state get same status
	assert_output waiting
	cd sub
	run wf status
	assert_line --regexp "^same +same +waiting"
	run wf resume same --answer yes
	assert_success
	assert_output --partial "SHIPPED true"
	[ "$(wf-state path same)" != "$(cd "$WORK/b" && wf-state path same)" ]
	cd "$WORK"
	run wf status
	assert_output "no runs"
	# A resume from the wrong directory says where the runs of that name are.
	run wf resume same
	assert_failure 66
	assert_output --partial "no run named 'same' in this project (see 'wf status'); there is one in "
	assert_output --partial "$WORK/a"
	assert_output --partial "$WORK/b"
}

@test "two named runs of one workflow go on at once; a third of the same name is busy" {
	held
	wf run h.yaml --name pr-42 --var who=42 --quiet &
	p42=$!
	wf run h.yaml --name pr-43 --var who=43 --quiet &
	p43=$!
	wait_until test -e at-42
	wait_until test -e at-43
	run wf run h.yaml --name pr-42 --var who=42
	assert_failure 75
	assert_output --partial "run 'pr-42' is busy"
	run wf status
	assert_line --regexp "^pr-42 +held +running"
	assert_line --regexp "^pr-43 +held +running"
	touch go-43
	wait "$p43"
	touch go-42
	wait "$p42"
	run sh -c "wf-state runs --json | jq -r '.[] | .name + \" \" + .workflow + \" \" + .status' | sort"
	assert_output $'pr-42 held completed\npr-43 held completed'
	run wf run h.yaml --name 42
	assert_failure 2
	assert_output --partial "not all digits"
	run wf resume pr-42 --name pr-43
	assert_failure 2
}

@test "a failed run does not block a fresh wf run; it moves to the history, where status and history read it" {
	write f.yaml <<'Y'
name: f
steps:
  - id: a
    action: shell
    command: 'test -e ok || exit 3; echo fine'
Y
	run wf run f.yaml
	assert_failure 1
	touch ok
	run wf run f.yaml
	assert_success
	run sh -c "wf-state runs --json | jq -c '[.[] | [.id, .status, .past]]'"
	assert_output '[[2,"completed",false],[1,"failed",true]]'
	run wf status 1
	assert_success
	assert_line "run:      f"
	assert_line --partial "status:   failed (step failed)"
	run sh -c "wf-state status 1 --json | jq -r '.id, .status'"
	assert_output $'1\nfailed'
	run sh -c "wf-state history 1 | jq -r .event"
	assert_line run-start
	assert_line run-end
	run wf resume 1
	assert_failure 66
	assert_output --partial "in the history"
	[ "$(wf-state path 1)" = "$(wf-state path)/history/1-f" ]
}

@test "wf runs lists newest first with a header only on a terminal; gc keeps N, prunes by age, never a waiting run" {
	for i in 1 2 3 4; do wf run test-linear --quiet; done
	asks w.yaml
	run wf run w.yaml
	assert_failure 3
	# Set aside while waiting: in the history, but never pruned.
	run wf run w.yaml --restart
	assert_failure 3
	run sh -c "wf-state runs --json | jq -c '[.[] | .id]'"
	assert_output '[6,5,4,3,2,1]'
	run wf runs test-linear
	assert_success
	assert_equal "${#lines[@]}" 4
	refute_output --partial "WORKFLOW"
	assert_line --regexp "^4 +test-linear +test-linear +completed +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +(<1s|[0-9]+s) +2 +0 +-$"
	run wf runs nothing-here
	assert_output "no runs of nothing-here"
	run wf gc --keep 1 --dry-run
	assert_output --regexp $'^would remove 2 test-linear \\(completed, started [^)]+\\)\nwould remove 1 test-linear'
	run sh -c "wf-state runs --json | jq length"
	assert_output 6
	run wf gc --keep 1
	assert_success
	assert_line --partial "removed 2 test-linear"
	assert_line --partial "removed 1 test-linear"
	run sh -c "wf-state runs --json | jq -c '[.[] | .id]'"
	assert_output '[6,5,4,3]'
	run wf gc --keep 0
	assert_line --partial "removed 3 test-linear"
	refute_output --partial "same"
	run sh -c "wf-state runs --json | jq -c '[.[] | [.id, .status]]'"
	assert_output '[[6,"waiting"],[5,"waiting"],[4,"completed"]]'
	# By age: a past run that started long ago goes, a recent one stays.
	wf run test-linear --quiet
	h="$(wf-state path)/history"
	sed -i 's/"started":"[^"]*"/"started":"2020-01-01T00:00:00.000Z"/' "$h/4-test-linear/summary.json"
	run wf gc --older-than 30d --json
	assert_success
	run jq -c '[.[] | .id]' <<<"$output"
	assert_output '[4]'
	[ ! -e "$h/4-test-linear" ]
	[ -d "$h/5-same" ]
	run wf gc --keep x
	assert_failure 2
	assert_output --partial "--keep takes a whole number"
	run wf gc --older-than 5
	assert_failure 2
	assert_output --partial "such as 90m, 12h, 7d or 2w"
	run wf status --keep 1
	assert_failure 2
	assert_output --partial "belong to 'gc'"
}

@test "wf runs on a terminal has a header and local times" {
	wf run test-linear --quiet
	tmux -L "wf$$" -f /dev/null new-session -d -x 200 -y 20 \
		"cd '$WORK' && TZ=Asia/Kolkata WF_STATE_DIR='$WF_STATE_DIR' PATH='$PATH' wf runs; touch done; sleep 60"
	wait_until test -e done
	screen=$(tmux -L "wf$$" capture-pane -p)
	tmux -L "wf$$" kill-server 2>/dev/null || true
	run grep -v '^$' <<<"$screen"
	assert_line --index 0 --regexp "^ID +NAME +WORKFLOW +STATUS +STARTED +DURATION +STEPS +TOKENS +COST"
	utc=$(wf-state runs --json | jq -r '.[0].started')
	local=$(TZ=Asia/Kolkata date -d "$utc" '+%Y-%m-%d %H:%M:%S')
	assert_line --index 1 --partial "$local"
}

@test "runs of the layout before projects move to the project they ran in; a waiting one resumes" {
	mkdir -p repo/deep
	git init -q repo
	asks repo/w.yaml
	cd repo/deep
	run wf run ../w.yaml
	assert_failure 3
	cd "$WORK"
	wf run test-linear --quiet
	# As an older wf left them: every run under ROOT/runs, archives by time.
	old="$WF_STATE_DIR"
	from_repo=$(cd repo && rundir same)
	from_here=$(rundir test-linear)
	mkdir -m 700 "$old/runs" "$old/archive"
	mv "$from_repo" "$old/runs/same"
	mv "$from_here" "$old/archive/test-linear.2026-01-02T03:04:05.678Z"
	rm -rf "$old/projects"
	cd repo
	run wf status
	assert_line --regexp "^same +same +waiting"
	[ ! -e "$old/runs" ]
	[ ! -e "$old/archive" ]
	run wf resume same --answer yes
	assert_success
	assert_output --partial "SHIPPED true"
	# Run again, the migrated run goes to the history named after its workflow,
	# and the new run's number is not one a past run has, though next-id was lost.
	run wf run w.yaml --answer yes
	assert_success
	run sh -c "wf-state runs --json | jq -c '[.[] | [.id, .name, .workflow, .status, .past]]'"
	assert_output '[[2,"same","same","completed",false],[1,"same","same","completed",true]]'
	cd "$WORK"
	run sh -c "wf-state runs --json | jq -c '[.[] | [.id, .name, .workflow, .status, .past]]'"
	assert_output '[[1,"test-linear","test-linear","completed",true]]'
	run wf status
	assert_output "no runs"
}

@test "a run directory of the old layout locked by a live runner is left until it is free" {
	mkdir -m 700 -p "$WF_STATE_DIR/runs/busy"
	journal_append "$WF_STATE_DIR/runs/busy/history.jsonl" \
		'{"seq":1,"time":"2026-01-01T00:00:00.000Z","event":"run-start","name":"busy","cwd":"'"$WORK"'","cursor":"s1","vars":{}}'
	# A runner of the older wf holds the lock.
	flock "$WF_STATE_DIR/runs/busy/lock" sh -c 'touch locked; while [ ! -e unlock ]; do sleep 0.01; done' &
	holder=$!
	wait_until test -e locked
	run wf status
	assert_output "no runs"
	[ -d "$WF_STATE_DIR/runs/busy" ]
	touch unlock
	wait "$holder"
	run wf status
	assert_line --regexp "^busy +- +interrupted"
	[ ! -e "$WF_STATE_DIR/runs" ]
}

@test "completion: run names and past numbers for status and logs, --name, --all, runs and gc" {
	source "$REPO_ROOT/completions/wf.bash"
	wf run test-linear --quiet
	wf run test-linear --quiet
	wf run test-linear --name other --quiet
	complete() {
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMPREPLY=()
		if [[ $1 == wf ]]; then _wf; else _wf_cmd; fi
		printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
	}
	run complete wf status ''
	assert_output "1 other test-linear"
	run complete wf logs ''
	assert_output "1 other test-linear"
	run complete wf pause ''
	assert_output "other test-linear"
	run complete wf status --a
	assert_output "--all"
	run complete wf run test-linear --na
	assert_output "--name"
	run complete wf run test-linear --name ''
	assert_output "other test-linear"
	run complete wf gc --
	assert_output "--dry-run --help --json --keep --older-than"
	run complete wf gc --older-than ''
	assert_output "12h 1d 30d 7d"
	run complete wf runs test-lin
	assert_output "test-linear"
	run complete wf runs --limit 5 test-lin
	assert_output "test-linear"
	run complete wf runs --l
	assert_output "--limit"
	run complete wf ru
	assert_output "run runs"
	run complete wf-state ''
	assert_output "fsck gc get history list logs path pause rewind rm runs set show status trust"
}

@test "wf status --all lists every project's runs with its project; --all elsewhere is a usage error" {
	mkdir -p one two
	(cd one && wf run test-linear --quiet)
	(cd two && wf run test-linear --quiet --name second)
	cd one
	run wf status
	assert_output --regexp "^test-linear +test-linear +completed"
	refute_output --partial "second"
	run wf status --all
	assert_line --regexp "^second +test-linear +completed .* $WORK/two$"
	assert_line --regexp "^test-linear +test-linear +completed .* $WORK/one$"
	run sh -c "wf-state list --all --json | jq -r '.[] | .name + \" \" + .project' | sort"
	assert_output $'second '"$WORK/two"$'\ntest-linear '"$WORK/one"
	run wf status --all test-linear
	assert_failure 2
	run wf runs --all
	assert_failure 2
}

@test "a past run's logs by its number; --limit; a past run without its summary is listed as damaged" {
	write p.yaml <<'Y'
name: p
steps:
  - id: say
    action: shell
    command: 'echo "said $n"'
Y
	for n in 1 2 3; do wf run p.yaml --var n=$n --quiet; done
	run wf logs 2
	assert_success
	assert_output --partial "said 2"
	refute_output --partial "said 3"
	h="$(wf-state path)/history"
	run sh -c "wf-state runs --limit 2 --json | jq -c '[.[] | [.id, .status]]'"
	assert_output '[[3,"completed"],[2,"completed"]]'
	run wf runs --limit 1
	assert_equal "${#lines[@]}" 1
	run sh -c "wf-state runs --limit 0 --json | jq -c '[.[] | .id]'"
	assert_output '[3,2,1]'
	run wf runs --limit -1
	assert_failure 2
	assert_output --partial "--limit takes a whole number of runs (0 for all)"
	run wf status --limit 3
	assert_failure 2
	assert_output --partial "--limit belongs to 'runs'"
	# A torn summary (a full disk, a crash) and a missing one: listed, never hidden.
	printf '{"id":2,' > "$h/2-p/summary.json"
	# A past run whose summary is gone too is listed as damaged, never hidden.
	rm "$h/1-p/summary.json"
	run sh -c "wf-state runs --json | jq -c '[.[] | [.id, .name, .status]]'"
	assert_output '[[3,"p","completed"],[2,"p","damaged"],[1,"p","damaged"]]'
	# gc never removes what it cannot read.
	run wf gc --keep 0
	assert_success
	assert_output ""
	[ -d "$h/1-p" ]
	[ -d "$h/2-p" ]
}

@test "a run that moved to the history half way (killed while moving) is taken up again by the next start" {
	asks w.yaml
	run wf run w.yaml --answer yes
	assert_success
	# As a kill -9 between two renames would leave it: the definition and
	# outputs already in a new history directory, the journal still here.
	d=$(rundir same)
	h="$(wf-state path)/history"
	mkdir -m 700 -p "$h/7-same"
	mv "$d/workflow.json" "$d/steps" "$h/7-same/"
	echo 7 > "$(wf-state path)/next-id"
	run wf status same
	assert_success
	assert_line --partial "status:   completed"
	run wf run w.yaml --answer no
	assert_failure 77
	run sh -c "wf-state runs --json | jq -c '[.[] | [.id, .status, .past]]'"
	assert_output '[[8,"declined",false],[1,"completed",true],[7,"damaged",true]]'
}

@test "kill -9 of one named run: it alone is interrupted, a fresh wf run of its name refuses, resume finishes it" {
	held
	wf-run h.yaml --name pr-42 --var who=42 --quiet &
	p42=$!
	wf run h.yaml --name pr-43 --var who=43 --quiet &
	p43=$!
	wait_until test -e at-42
	wait_until test -e at-43
	kill -9 "$p42"
	wait "$p42" 2>/dev/null || true
	run wf status
	assert_line --regexp "^pr-42 +held +interrupted +hold"
	assert_line --regexp "^pr-43 +held +running +hold"
	run wf run h.yaml --name pr-42 --var who=42
	assert_failure 2
	assert_output --partial "run 'pr-42' of project $WORK is interrupted at step hold"
	assert_output --partial "'wf run h.yaml --name pr-42 --restart'"
	touch go-42 go-43
	wait "$p43"
	# The killed run's step may still be running: the resume waits for nothing and
	# runs it again only once its process group is gone (--kill-stale stops it).
	run wf resume pr-42 --kill-stale --quiet
	assert_success
	run sh -c "wf-state runs --json | jq -r '.[] | .name + \" \" + .status' | sort"
	assert_output $'pr-42 completed\npr-43 completed'
}

@test "a current run answers to the number wf runs shows, in status, logs and resume; an unknown number is 66" {
	asks w.yaml
	run wf run w.yaml --name first
	assert_failure 3
	run wf run w.yaml --name second
	assert_failure 3
	id=$(wf runs --json | jq -r '.[] | select(.name == "second") | .id')
	[ "$id" = 2 ]
	run wf status "$id"
	assert_success
	assert_line --partial "second"
	run wf logs "$id"
	assert_success
	run wf resume "$id" --answer yes
	assert_success
	assert_output --partial "SHIPPED"
	[ "$(wf runs --json | jq -r '.[] | select(.name == "second") | .status')" = completed ]
	[ "$(wf runs --json | jq -r '.[] | select(.name == "first") | .status')" = waiting ]
	run wf status 99
	assert_failure 66
}
