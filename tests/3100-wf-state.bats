#!/usr/bin/env bats
# wf-state: reading and changing runs, the journal's integrity, permissions.
load helpers

fail_workflow() {
	write f.yaml <<'Y'
name: f
variables: {color: red}
steps:
  - id: a
    action: shell
    command: "echo a >> log"
  - id: b
    action: shell
    command: 'test -e ok || exit 1; echo "b $color" >> log'
  - id: c
    action: shell
    command: "echo c >> log"
Y
}

@test "status lists runs, and shows one in detail and as JSON" {
	wf run test-linear --quiet
	run wf status
	assert_success
	assert_output --regexp "test-linear +completed"
	run wf status test-linear
	assert_success
	assert_line "status:   completed"
	assert_line --partial "steps run: 2"
	run sh -c "wf status test-linear --json | jq -r '.status, .steps.s2.output'"
	assert_output $'completed\nStep 2'
}

@test "a verb given too many or too few operands is a usage error that changes nothing" {
	wf run test-linear --quiet
	for line in "list x" "status test-linear x" "show test-linear x" "history test-linear x" \
		"pause test-linear x" "rm test-linear x" "rm --force test-linear x" "fsck test-linear x" \
		"trust test-linear x" "get test-linear" "set test-linear x" "show" "rm"; do
		run wf-state $line
		assert_failure 2
		verb=${line%% *}
		assert_output --regexp "^wf-state: too (many|few) operands for '$verb'; usage: wf-state $verb"
	done
	run wf-state get test-linear status
	assert_output completed
	[ ! -e "$XDG_CONFIG_HOME/wf/trusted" ]
}

@test "one option table: NAME=VALUE forms, options given to a verb that does not take them, unknown options" {
	wf run test-linear --quiet
	# --pass=N and --var=K=V are --pass N and --var K=V, for every verb that takes them.
	run wf-state rewind test-linear s2 --pass=1 --var=color=red
	assert_success
	run wf-state get test-linear vars.color
	assert_output red
	run wf-state logs test-linear s1 --pass=1
	assert_success
	for line in "status test-linear --var a=b|--var belongs to 'rewind'" "status test-linear -f|-f and --follow belong to 'logs'" \
		"history test-linear --follow|-f and --follow belong to 'logs'" "show test-linear --pass 1|--pass belongs to 'logs' and 'rewind'" \
		"rewind test-linear s2 --pass=0|--pass takes a pass number from 1 on, got '0'" "rewind test-linear s2 --var|--var needs a value" \
		"rewind test-linear s2 --bogus|unknown option '--bogus'" "status --json=yes|--json takes no value, got '--json=yes'"; do
		run wf-state ${line%%|*}
		assert_failure 2
		assert_output --partial "${line#*|}; usage: wf-state ${line%% *}"
	done
	run wf-state get test-linear vars.color
	assert_output red
}

@test "get, set and history" {
	fail_workflow
	run wf run f.yaml --quiet
	assert_failure 1
	run wf-state get f vars.color
	assert_output red
	run wf-state set f color blue
	assert_success
	run wf-state get f vars.color
	assert_output blue
	touch ok
	run wf resume f --quiet
	assert_success
	run cat log
	assert_output $'a\nb blue\nc'
	run sh -c "wf-state history f | jq -r .event | sort | uniq -c | sort -rn | head -1"
	assert_output --regexp "step-(start|end)"
	run wf-state get f vars.nope
	assert_failure 66
}

@test "resume --var sets variables before continuing" {
	fail_workflow
	run wf run f.yaml --quiet
	touch ok
	run wf resume f --var color=green --quiet
	assert_success
	run cat log
	assert_line "b green"
}

@test "files are 0600 and directories 0700 whatever the umask" {
	umask 000
	wf run test-linear --quiet
	run stat -c '%a %n' "$WF_STATE_DIR" "$WF_STATE_DIR/runs" "$(rundir test-linear)" \
		"$(rundir test-linear)/steps" "$(rundir test-linear)/history.jsonl" \
		"$(rundir test-linear)/state.json" "$(rundir test-linear)/workflow.json" \
		"$(rundir test-linear)/lock"
	refute_output --regexp "^(7[1-7][0-7]|6[1-7][0-7]|[0-7]*[1-7] )"
	for f in $(find "$WF_STATE_DIR" -type f); do
		[ "$(stat -c %a "$f")" = 600 ]
	done
	for d in $(find "$WF_STATE_DIR" -type d); do
		[ "$(stat -c %a "$d")" = 700 ]
	done
	run wf-state fsck test-linear
	assert_success
}

@test "S08: a state root writable by others is refused with exit 77" {
	mkdir -p "$WF_STATE_DIR/runs"
	chmod 0777 "$WF_STATE_DIR"
	run wf run test-linear
	assert_failure 77
	assert_output --partial "has mode 0777: writable by others"
}

@test "F21: a symlink planted as the run directory is not followed" {
	mkdir -p elsewhere
	mkrundir test-linear
	rmdir "$(rundir test-linear)"
	ln -s "$WORK/elsewhere" "$(rundir test-linear)"
	run wf run test-linear
	assert_failure 77
	assert_output --partial "symbolic link"
	run ls elsewhere
	assert_output ""
}

@test "S06: run names never escape the state directory" {
	for n in ../x /etc/passwd a/b .. .hidden -rf 'a..b'; do
		run wf-state status "$n"
		assert_failure 65
		assert_output --partial "invalid run name"
	done
}

@test "F15: a torn last journal line is set aside and the run resumes" {
	fail_workflow
	run wf run f.yaml --quiet
	printf '{"seq":99,"event":"step-st' >> "$(rundir f)/history.jsonl"
	touch ok
	run wf resume f --quiet
	assert_success
	assert_output --partial "discarding an incomplete final record"
	ls "$(rundir f)"/history.jsonl.torn-*
	run wf-state fsck f
	assert_success
}

@test "F16: damage in the middle of the journal is refused with 74 and nothing changes" {
	fail_workflow
	run wf run f.yaml --quiet
	j="$(rundir f)/history.jsonl"
	line=$(grep -n '"attempt":1' "$j" | head -1 | cut -d: -f1)
	sed -i "${line}s/\"attempt\":1/\"attempt\":7/" "$j"
	before=$(cd "$WF_STATE_DIR" && find . -type f -exec sha256sum {} + | sort)
	touch ok
	run wf resume f
	assert_failure 74
	assert_output --partial "history.jsonl line $line: checksum mismatch; refusing to continue"
	after=$(cd "$WF_STATE_DIR" && find . -type f -exec sha256sum {} + | sort)
	[ "$before" = "$after" ]
	run wf-state fsck f
	assert_failure 74
	assert_output --partial "line $line: checksum mismatch"
}

@test "F14: a damaged state.json is rebuilt from the journal" {
	fail_workflow
	run wf run f.yaml --quiet
	echo garbage > "$(rundir f)/state.json"
	touch ok
	run wf resume f --quiet
	assert_success
	assert_output --partial "state.json is damaged: rebuilding it from the journal"
	ls "$(rundir f)"/state.json.corrupt-*
	run cat log
	assert_output $'a\nb red\nc'
}

@test "a changed workflow is refused on resume unless --accept-changes" {
	fail_workflow
	run wf run f.yaml --quiet
	sed -i 's/echo c/echo C/' f.yaml
	touch ok
	run wf resume f
	assert_failure 65
	assert_output --partial "changed since the run started (sha256:"
	assert_output --partial "--accept-changes"
	run wf resume f --accept-changes --quiet
	assert_success
	run tail -1 log
	assert_output C
}

@test "rm removes a run; unknown runs give 66" {
	wf run test-linear --quiet
	run wf-state rm test-linear
	assert_success
	[ ! -e "$(rundir test-linear)" ]
	run wf-state status test-linear
	assert_failure 66
	run wf resume nosuch
	assert_failure 66
}

@test "fsck passes on a healthy run and reports leftover temporary files" {
	wf run test-linear --quiet
	run wf-state fsck test-linear
	assert_success
	assert_output --partial "ok (10 events)"
	touch "$(rundir test-linear)/.state.json.tmp.123"
	run wf-state fsck test-linear
	assert_failure 74
	assert_output --partial "leftover temporary file"
}

# A run recorded as running that no process holds: a killed wf-run.
killed_run() {
	mkrundir $1
	journal_append "$(rundir $1)/history.jsonl" \
		'{"seq":1,"time":"2026-01-01T00:00:00.000Z","event":"run-start","name":"'"$1"'","cursor":"s1","vars":{"i":2}}'
	chmod 600 "$(rundir $1)/history.jsonl"
}

@test "one view of a run: show, status --json, get and wf-cond --state see the same fields" {
	killed_run k
	dir="$(rundir k)"
	want=$(jq -cn --arg dir "$dir" '{name: "k", dir: $dir, status: "interrupted", cursor: "s1", vars: {i: 2}, books: false}')
	view='{name, dir, status, cursor, vars, books: (has("journal_offset") or has("journal_line"))}'
	run sh -c "wf-state show k | jq -c '$view'"
	assert_output "$want"
	run sh -c "wf-state status k --json | jq -c '$view'"
	assert_output "$want"
	run wf-state get k dir
	assert_output "$dir"
	run wf-state get k status
	assert_output interrupted
	run wf-cond --state k "jq: $view == $want"
	assert_success
}

@test "a run's own conditions see the same view, with its name and directory" {
	write v.yaml <<'Y'
name: v
steps:
  - id: s1
    action: shell
    if: 'jq: (.dir | endswith("/runs/v")) and .name == "v" and .status == "running" and (has("journal_offset") | not)'
    command: "echo ran > log"
Y
	run wf run v.yaml --quiet
	assert_success
	run cat log
	assert_output ran
}
