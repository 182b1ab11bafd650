#!/usr/bin/env bats
# The snapshot never overrides the journal: a state.json that disagrees
# with history.jsonl is rebuilt by writers and not believed by readers;
# fsck names every kind of damage; a damaged run is listed and removable.
load helpers
bats_require_minimum_version 1.5.0

# A run stopped waiting for an answer at s2: six events, s1 done.
waiting_run() {
	write w.yaml <<'Y'
name: w
steps:
  - id: s1
    action: shell
    command: "echo s1 >> log"
  - id: s2
    action: interactive
    kind: text
    message: "go on?"
    variable: v
  - id: s3
    action: shell
    command: "echo s3 >> log"
Y
	run wf run w.yaml --quiet </dev/null
	assert_failure 3
	RUN="$(rundir w)"
	[ "$(wc -l < "$RUN/history.jsonl")" -eq 7 ]
}

# Rewrite state.json through the jq program $1, keeping the file's mode.
edit_state() {
	jq "$1" "$RUN/state.json" > "$BATS_TEST_TMPDIR/edited"
	cat "$BATS_TEST_TMPDIR/edited" > "$RUN/state.json"
}

# The journal's sequence numbers on one line.
seqs() {
	wf-state history w | jq -r .seq | tr '\n' ' '
}

tree_sums() {
	(cd "$WF_STATE_DIR" && find . -type f -exec sha256sum {} + | sort)
}

@test "a snapshot edited to say completed: status shows the journal's waiting, resume rebuilds once and asks at s2" {
	waiting_run
	edit_state '.status = "completed" | .cursor = null | .pending = null | .reason = null'
	before=$(tree_sums)
	run --separate-stderr wf status w
	assert_success
	assert_line "status:   waiting (waiting for an answer)"
	assert_line "step:     s2"
	[[ $stderr == *"run 'w': state.json disagrees with history.jsonl (status \"completed\", the journal says \"waiting\"); showing the journal's view"* ]]
	run --separate-stderr wf-state get w status
	assert_success
	assert_output waiting
	run sh -c 'wf-state list --json 2>/dev/null | jq -r ".[0].status"'
	assert_output waiting
	# Readers never write.
	[ "$(tree_sums)" = "$before" ]
	run wf resume w --answer hi --quiet
	assert_success
	[ "$(grep -c 'disagrees with history.jsonl' <<<"$output")" -eq 1 ]
	assert_output --partial "wf-run: run 'w': state.json disagrees with history.jsonl (status \"completed\", the journal says \"waiting\"); rebuilt from the journal"
	run cat log
	assert_output $'s1\ns3'
	run wf-state fsck w
	assert_success
}

@test "a snapshot whose cursor skips a step is rebuilt: resume waits at s2 and s3 never runs" {
	waiting_run
	edit_state '.cursor = "s3" | .status = "paused" | .pending = null'
	run wf resume w --quiet </dev/null
	assert_failure 3
	assert_output --partial "state.json disagrees with history.jsonl ("
	assert_output --partial "rebuilt from the journal"
	run cat log
	assert_output s1
	run wf-state get w cursor
	assert_output s2
	run wf resume w --answer hi --quiet
	assert_success
	refute_output --partial "disagrees"
	run cat log
	assert_output $'s1\ns3'
}

@test "a snapshot with a wrong last_seq never makes a gap or a repeat: the next event follows the journal's last" {
	waiting_run
	edit_state '.last_seq = 9'
	run wf-state set w color blue
	assert_success
	assert_output --partial "(last_seq 9, but the event at its journal_offset is 7); rebuilt from the journal"
	run seqs
	assert_output "1 2 3 4 5 6 7 8 "
	edit_state '.last_seq = 2'
	run wf-state set w color red
	assert_success
	assert_output --partial "(last_seq 2, but the event at its journal_offset is 8)"
	run seqs
	assert_output "1 2 3 4 5 6 7 8 9 "
	run wf-state get w vars.color
	assert_output red
	run wf-state fsck w
	assert_success
}

@test "a snapshot whose journal_offset is inside an event or past the journal is rebuilt with a warning" {
	waiting_run
	size=$(stat -c %s "$RUN/history.jsonl")
	for off in $((size - 5)) $((size + 100)) 0; do
		edit_state ".journal_offset = $off"
		run wf-state set w k "$off"
		assert_success
		assert_output --partial "state.json disagrees with history.jsonl ("
		assert_output --partial "); rebuilt from the journal"
		size=$(stat -c %s "$RUN/history.jsonl")
	done
	run seqs
	assert_output "1 2 3 4 5 6 7 8 9 10 "
	run wf-state fsck w
	assert_success
}

@test "valid events after the snapshot with a gap in their numbers are refused with 74, whatever last_seq the snapshot claims" {
	waiting_run
	journal_append "$RUN/history.jsonl" '{"seq":9,"time":"2026-01-01T00:00:00.000Z","event":"var-set","vars":{"x":"1"}}'
	edit_state '.last_seq = 8'
	before=$(tree_sums)
	run wf resume w --answer hi
	assert_failure 74
	assert_output --partial "history.jsonl line 8: event 9 follows 7; refusing to continue"
	[ "$(tree_sums)" = "$before" ]
	run wf-state get w vars.x
	assert_failure 74
	run cat log
	assert_output s1
}

@test "a stale snapshot that is true to the journal is no disagreement" {
	waiting_run
	cp "$RUN/state.json" "$BATS_TEST_TMPDIR/old"
	run wf-state set w color blue
	assert_success
	cat "$BATS_TEST_TMPDIR/old" > "$RUN/state.json"
	run --separate-stderr wf-state get w vars.color
	assert_success
	assert_output blue
	[ -z "$stderr" ]
	run wf resume w --answer hi --quiet
	assert_success
	refute_output --partial "disagrees"
}

@test "fsck reports an unparseable snapshot and repairs nothing" {
	waiting_run
	echo garbage > "$RUN/state.json"
	run wf-state fsck w
	assert_failure 74
	assert_output --partial "w: state.json: not a JSON object"
	run cat "$RUN/state.json"
	assert_output garbage
}

@test "fsck reports a snapshot that disagrees with the journal" {
	waiting_run
	edit_state '.status = "completed"'
	run wf-state fsck w
	assert_failure 74
	assert_output --partial "w: state.json disagrees with history.jsonl (status \"completed\", the journal says \"waiting\")"
	run sh -c 'wf-state fsck w --json | jq -r ".problems | length"'
	assert_output 1
}

@test "fsck reports a steps/ that is a symbolic link, and links and strange files inside steps/" {
	waiting_run
	mkdir elsewhere
	ln -s /etc/passwd "$RUN/steps/000004-s1.out"
	mkfifo "$RUN/steps/fifo"
	run wf-state fsck w
	assert_failure 74
	assert_output --partial "w: steps/000004-s1.out: a symbolic link"
	assert_output --partial "w: steps/fifo: not a regular file"
	rm -r "$RUN/steps"
	ln -s "$WORK/elsewhere" "$RUN/steps"
	run wf-state fsck w
	assert_failure 74
	assert_output --partial "w: steps: a symbolic link"
	ln -s /etc/passwd "$RUN/pause-request"
	run wf-state fsck w
	assert_output --partial "w: pause-request: a symbolic link"
}

@test "a run with a damaged middle journal line is listed as damaged and removed by rm --force" {
	waiting_run
	sed -i '3s/"attempt":1/"attempt":7/' "$RUN/history.jsonl"
	wf run test-linear --quiet
	run wf status
	assert_success
	assert_line --regexp "^w +- +damaged"
	assert_line --regexp "^test-linear +test-linear +completed"
	run sh -c 'wf-state list --json | jq -r ".[] | select(.name == \"w\") | .status, .error"'
	assert_line --index 0 damaged
	assert_line --index 1 --partial "history.jsonl line 3: checksum mismatch"
	run wf-state fsck w
	assert_failure 74
	assert_output --partial "w: history.jsonl line 3: checksum mismatch"
	run wf-state rm w
	assert_failure 74
	assert_output --partial "wf-state rm --force w"
	[ -d "$RUN" ]
	run wf-state rm --force w
	assert_success
	[ ! -e "$RUN" ]
	run wf status
	refute_output --partial "damaged"
}

@test "rm --force still refuses a run that a process holds" {
	waiting_run
	exec 9>>"$RUN/lock"
	flock 9
	run wf-state rm --force w
	assert_failure 75
	assert_output --partial "is busy"
	[ -d "$RUN" ]
	exec 9>&-
	run wf-state rm --force w
	assert_success
	[ ! -e "$RUN" ]
}

@test "rm --force removes a run directory planted as a symbolic link without following it" {
	mkdir -p target
	mkrundir x
	rmdir "$(rundir x)"
	touch target/keep
	ln -s "$WORK/target" "$(rundir x)"
	run wf status
	assert_line --regexp "^x +- +damaged"
	run wf-state rm x
	assert_failure 77
	run wf-state rm --force x
	assert_success
	[ ! -L "$(rundir x)" ]
	[ -e target/keep ]
}

@test "the completion offers --force after wf-state rm, and the usage names it" {
	source "$REPO_ROOT/completions/wf.bash"
	COMP_WORDS=(wf-state rm --)
	COMP_CWORD=2
	COMPREPLY=()
	_wf_cmd
	[[ " ${COMPREPLY[*]} " == *" --force "* ]]
	run wf-state --help
	assert_output --partial "wf-state rm [--force] NAME"
}
