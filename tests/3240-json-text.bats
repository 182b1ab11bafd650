#!/usr/bin/env bats
# The journal, the snapshot and the step requests are printed by
# jsondump.c rather than by jq's jv_dump_string: the text must be the
# very bytes jq prints (jq -c of a line gives the line back), the
# checksums must hold, and hostile step output (quotes, backslashes,
# control characters, DEL, multi-byte UTF-8, U+2028) must come back
# unchanged through the state a later step and wf status read.
load helpers

hostile_workflow() {
	cat > hostile.yaml <<'YAML'
name: hostile
steps:
  - id: emit
    action: shell
    command: "printf 'q\"b\\\\s/\\001\\037\\177\\tt\\r\\f\\303\\251\\342\\202\\254\\360\\237\\230\\200\\342\\200\\250 big 12345678901234567 frac 0.1'"
    output: text
  - id: after
    action: shell
    command: "true"
YAML
}

# Does every line of file $1 read back by jq -c print as itself?
same_as_jq() {
	local n=0
	while IFS= read -r line; do
		[ "$(printf '%s\n' "$line" | jq -c .)" = "$line" ] || {
			echo "differs from jq's text: $line" >&2
			return 1
		}
		n=$((n + 1))
	done < "$1"
	[ "$n" -gt 0 ]
}

@test "journal lines and the snapshot are the bytes jq prints, hostile output included, and their checksums hold" {
	hostile_workflow
	run wf-run hostile.yaml --quiet --yes
	[ "$status" -eq 0 ]
	d=$(rundir hostile)
	same_as_jq "$d/history.jsonl"
	[ "$(jq -c . "$d/state.json")" = "$(cat "$d/state.json")" ]
	run wf-state fsck hostile
	[ "$status" -eq 0 ]
}

@test "hostile output comes back byte for byte from the journal, the state and the log" {
	hostile_workflow
	run wf-run hostile.yaml --quiet --yes
	[ "$status" -eq 0 ]
	want=$(printf 'q"b\\s/\001\037\177\tt\r\f\303\251\342\202\254\360\237\230\200\342\200\250 big 12345678901234567 frac 0.1' | od -An -tx1)
	got=$(wf-state history hostile | jq -j 'select(.event == "step-end" and .step == "emit") | .vars.text' | od -An -tx1)
	[ "$got" = "$want" ]
	# wf-state get prints the string and a newline.
	got=$(printf "%s" "$(wf-state get hostile steps.emit.output)" | od -An -tx1)
	[ "$got" = "$want" ]
	got=$(step_output hostile emit | od -An -tx1)
	[ "$got" = "$want" ]
}
