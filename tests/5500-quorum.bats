#!/usr/bin/env bats
# A review quorum (wf-workflow(5), "Review quorum"): review-pr and
# ai-prompt with models: [a, b, c], quorum: N and on-split: ID.  The
# models are asked at once, each verdict is kept with its model, the
# count decides, a split is routed, each posted review names its model
# and is never posted twice, a failing or hostile model is counted as
# documented, and the keys are validated with line:col.
load helpers
load fake-provider
load fake-forge
bats_require_minimum_version 1.5.0

setup() {
	wf_setup
	export WF_RETRY_BASE_MS=5 WF_RETRY_MAX=1
	unset WF_STREAM_FD
}

teardown() {
	[ -z "${RUNNER:-}" ] || kill -9 "$RUNNER" 2>/dev/null || true
	fake_forge_stop
	fake_provider_stop_all
}

# The fake answering gpt, claude and llama (gpt-test, claude-test,
# llama3.2:latest) as the script fields $1, $2 and $3 say, every time;
# models.yaml on it.
three_answers() {
	fake_provider_start - <<J
[{"match": {"model": "gpt-test"}, $1, "repeat": -1},
 {"match": {"model": "claude-test"}, $2, "repeat": -1},
 {"match": {"model": "llama3.2:latest"}, $3, "repeat": -1}]
J
	fake_models
}

# The same, each answering an ai-prompt with the verdict $1, $2 or $3 (true or false).
three_verdicts() {
	three_answers "\"text\": \"{\\\"approved\\\": $1, \\\"summary\\\": \\\"gpt says $1\\\"}\"" \
		"\"text\": \"{\\\"approved\\\": $2, \\\"summary\\\": \\\"claude says $2\\\"}\"" \
		"\"text\": \"{\\\"approved\\\": $3, \\\"summary\\\": \\\"llama says $3\\\"}\""
}

# Where a verdict goes: the steps yes, no and split, each saying so on
# its output and in $WORK/went, then the end.
routes() {
	local w
	printf '    on-approved: yes\n    on-rejected: no\n'
	for w in no:REJECTED yes:APPROVED split:SPLIT; do
		printf "  - {id: %s, action: shell, command: 'echo %s | tee -a \"\$WORK/went\"', on-complete: end}\n" "${w%%:*}" "${w#*:}"
	done
	echo "  - {id: end, action: shell, command: 'true'}"
}

# q.yaml: an ai-prompt asking gpt, claude and llama with the extra step
# lines $1 (YAML, indented by the caller), then the routes.
quorum_workflow() {
	write q.yaml <<Y
name: q
steps:
  - id: ask
    action: ai-prompt
    format: json
    prompt: "is it ready?"
    models: [gpt, claude, llama]
$1
$(routes)
Y
}

# The step-end event of step $2 of run $1, filtered through jq $3.
step_end() {
	wf-state history "$1" | jq -c "select(.event == \"step-end\" and .step == \"$2\") | $3"
}

@test "quorum: one dissent of three approves with quorum 2, not with quorum 3; each verdict is kept with its model" {
	three_verdicts true false true
	while IFS='|' read -r q want line; do
		quorum_workflow "${q:+    quorum: $q}"
		run wf run q.yaml --yes --restart
		assert_success
		assert_output --partial "$want"
		run step_end q ask '[.approved, .split, .quorum.approvals, .quorum.quorum]'
		assert_output "$line"
	done <<-'T'
	|APPROVED|[true,true,2,2]
	2|APPROVED|[true,true,2,2]
	3|REJECTED|[false,true,2,3]
	1|APPROVED|[true,true,2,1]
	T
	run step_end q ask '[.verdicts[] | [.model, .approved, .summary]]'
	assert_output '[["gpt",true,"gpt says true"],["claude",false,"claude says false"],["llama",true,"llama says true"]]'
	run step_end q ask '.verdict'
	assert_output '"2 of 3 approved (quorum 1)"'
	# Every model's call is counted, by model: budgets and wf status see them all.
	run step_end q ask '.usage_models | keys'
	assert_output '["claude","gpt","llama"]'
	run sh -c "wf-state get q usage | jq -c '[.gpt.calls, .claude.calls, .llama.calls]'"
	assert_output '[1,1,1]'
}

@test "quorum: verdicts that differ go to on-split; alike ones follow the verdict" {
	three_verdicts true false true
	quorum_workflow "    on-split: split"
	run wf run q.yaml --yes
	assert_success
	assert_output --partial SPLIT
	refute_output --partial APPROVED
	run step_end q ask '[.split, .jump]'
	assert_output '[true,{"to":"split","because":"on-split"}]'
	fake_provider_stop
	three_verdicts false false false
	run wf run q.yaml --yes --restart
	assert_success
	assert_output --partial REJECTED
	refute_output --partial SPLIT
	run step_end q ask '[.split, .approved, .verdict]'
	assert_output '[false,false,"0 of 3 approved (quorum 2)"]'
}

@test "quorum: the models are asked at once (each answer held until all three requests came)" {
	three_answers '"wait_requests": 3, "text": "{\"approved\": true}"' '"wait_requests": 3, "text": "{\"approved\": true}"' \
		'"wait_requests": 3, "text": "{\"approved\": true}"'
	quorum_workflow "    quorum: 3"
	run wf run q.yaml --yes
	assert_success
	assert_output --partial APPROVED
	run fake_provider_count
	assert_output 3
	run step_end q ask '.verdict'
	assert_output '"3 of 3 approved (quorum 3)"'
}

@test "quorum: a model that fails gives no verdict, and falls back to none; fewer verdicts than the quorum fail the step with 69" {
	three_answers '"text": "{\"approved\": true}"' '"error": "overloaded"' '"text": "{\"approved\": true}"'
	# claude's own fallback is not taken in a quorum: gpt is asked once, as itself.
	sed -i 's/^  claude: {/  claude: {fallback: [gpt], /' "$WF_MODELS"
	quorum_workflow "    quorum: 2"
	run wf run q.yaml --yes
	assert_success
	assert_output --partial APPROVED
	run step_end q ask '[.verdict, (.failed_models | map(.model)), (.verdicts | map(.model))]'
	assert_output '["2 of 3 approved (quorum 2)",["claude"],["gpt","llama"]]'
	run sh -c "jq -r .model '$FAKE_LOG' | grep -c gpt-test"
	assert_output 1
	quorum_workflow "    quorum: 3"
	run wf run q.yaml --yes --restart
	assert_failure 1
	assert_output --partial "only 2 of 3 models gave a verdict; quorum 3 needs 3"
	refute_output --partial APPROVED
	refute_output --partial REJECTED
	run step_end q ask '[.status, .exit_code]'
	assert_output '["failed",69]'
}

@test "quorum: an answer that is not JSON, or whose approved is not a boolean, counts as not approving and is named" {
	three_answers '"text": "Looks fine to me!"' '"text": "{\"approved\": \"yes\"}"' '"text": "[true]"'
	quorum_workflow "    quorum: 1"
	run wf run q.yaml --yes
	assert_success
	assert_output --partial REJECTED
	run step_end q ask '[.verdicts[] | [.model, .approved, .unusable]]'
	assert_output '[["gpt",false,"not JSON"],["claude",false,"'"'"'approved'"'"' is not a boolean"],["llama",false,"not an object"]]'
	run step_end q ask '.verdict'
	assert_output '"0 of 3 approved (quorum 1)"'
}

@test "quorum: models, quorum and on-split are validated with line:col" {
	while IFS='|' read -r lines want; do
		printf 'name: v\nsteps:\n  - id: r\n    action: review-pr\n%b\n  - {id: x, action: shell, command: "true"}\n' "$lines" > v.yaml
		run wf-parse v.yaml
		assert_failure 65
		assert_output --partial "v.yaml:$want"
	done <<-'T'
	    model: gpt\n    models: [gpt, claude]|6:5: step 'r': 'models' and 'model' both set: keep one
	    models: [gpt, claude]\n    quorum: 3|6:13: step 'r': 'quorum' is 3 but must be a whole number from 1 to 2
	    models: [gpt, claude]\n    quorum: 0|6:13: step 'r': 'quorum' is 0 but must be a whole number from 1 to 2
	    models: [gpt, claude]\n    quorum: two|6:13: 'quorum'
	    models: [gpt, gpt]|5:19: step 'r': model 'gpt' is listed twice in 'models'
	    models: []|5:13: step 'r': 'models' lists no model
	    models: [gpt, {a: b}]|5:19: 'models': item 2 must be text
	    quorum: 1|5:5: step 'r': 'quorum' counts the verdicts of 'models': list the models
	    on-split: x|5:5: step 'r': 'on-split' needs 'models' to disagree
	    models: [gpt, claude]\n    on-split: nowhere|6:15: 'on-split' names no step: 'nowhere'
	T
	printf 'name: v\nsteps:\n  - id: a\n    action: ai-prompt\n    prompt: hi\n    models: [gpt, claude]\n' > v.yaml
	run wf-parse v.yaml
	assert_failure 65
	assert_output --partial "v.yaml:6:5: step 'a': an ai-prompt with 'models' needs 'format: json'"
	printf 'name: v\nsteps:\n  - id: a\n    action: shell\n    command: "true"\n    models: [gpt, claude]\n' > v.yaml
	run wf-parse v.yaml
	assert_failure 65
	assert_output --partial "v.yaml:6:5: unknown key 'models'"
}

# ---- review-pr against the fake forge ----

# How many requests METHOD PATH-REGEX the forge got.
forge_count() {
	forge_requests "select(.method == \"$1\" and (.path | test(\"$2\"))) | .n" | wc -l
}

# A repository with a proposal, the forge, PR #1 opened without a model,
# and the fake answering each model's review as $1, $2 and $3 say (true
# or false); r.yaml reviews PR #1 with the three models and post: $4.
review_setup() {
	forge_repo
	fake_forge_start --allow-self-review
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	three_answers "\"text\": \"{\\\"approved\\\": $1, \\\"summary\\\": \\\"gpt: $1\\\"}\"" \
		"\"text\": \"{\\\"approved\\\": $2, \\\"summary\\\": \\\"claude: $2\\\", \\\"comments\\\": [{\\\"path\\\": \\\"greet.py\\\", \\\"line\\\": 4, \\\"body\\\": \\\"say goodbye\\\"}]}\"" \
		"\"text\": \"{\\\"approved\\\": $3, \\\"summary\\\": \\\"llama: $3\\\"}\""
	write open.yaml <<'Y'
name: open
steps:
  - {id: p, action: create-pr, title: Add farewell, body: Adds farewell().}
Y
	wf run open.yaml --yes --quiet
	write r.yaml <<Y
name: r
variables: {pr_number: 1}
steps:
  - id: review
    action: review-pr
    post: $4
    models: [gpt, claude, llama]
    on-split: split
    check: approved
$(routes)
Y
}

# Resume run r, which approves: one comment by each model on PR #1, no more, and a sound journal.
resume_posts_each_once() {
	resume_settled r --yes
	assert_success
	run cat "$WORK/went"
	assert_output APPROVED
	run forge_state '.comments["1"] | length'
	assert_output 3
	run forge_state '.comments["1"] | map(.body | capture("_Review by model `(?<m>[a-z]+)`").m) | sort'
	assert_output '["claude","gpt","llama"]'
	run wf-state fsck r
	assert_success
}

@test "quorum review-pr: each model's review is posted as its own comment naming its model; a split goes to on-split" {
	review_setup true false true comment
	run wf run r.yaml --yes
	assert_success
	assert_output --partial "#1 approved: 2 of 3 approved (quorum 2); gpt approved, claude requested changes, llama approved (split)"
	run cat "$WORK/went"
	assert_output SPLIT
	run forge_state '.comments["1"] | map(.body | test("_Review by model `(gpt|claude|llama)`_\n\n<!-- wf:r/review/0 run-[0-9TZ]+\\.0 model (gpt|claude|llama) -->$"))'
	assert_output '[true,true,true]'
	run forge_state '.comments["1"] | map(.body | capture("_Review by model `(?<m>[a-z]+)`").m) | sort'
	assert_output '["claude","gpt","llama"]'
	run forge_state '.comments["1"] | map(select(.body | contains("model `claude`")) | .body | startswith("**Changes requested**\n\nclaude: false\n\n- `greet.py:4`: say goodbye"))'
	assert_output '[true]'
	run sh -c "wf-state get r vars | jq -c '[.approved, .review_summary, .review_models, (.review_comments | map(.body))]'"
	assert_output '[true,"2 of 3 approved (quorum 2)",["gpt","claude","llama"],["say goodbye"]]'
	run sh -c "wf-state history r | jq -c 'select(.event == \"step-end\" and .step == \"review\") | [.verdicts[] | [.model, .approved, .usage.model]]'"
	assert_output '[["gpt",true,"gpt"],["claude",false,"claude"],["llama",true,"llama"]]'
}

@test "quorum review-pr: unanimous reviews follow the verdict, each posted as a review" {
	review_setup false false false review
	run wf run r.yaml --yes
	assert_success
	run cat "$WORK/went"
	assert_output REJECTED
	run forge_state '.reviews["1"] | map([.state, (.body | split("\n")[0])])'
	assert_output '[["CHANGES_REQUESTED","**Changes requested**"],["CHANGES_REQUESTED","**Changes requested**"],["CHANGES_REQUESTED","**Changes requested**"]]'
}

@test "quorum review-pr: wf-run killed -9 after the forge took one model's comment; resume posts none twice and asks no model again" {
	review_setup true true true comment
	T=$BATS_TEST_TMPDIR
	forge_fault "{\"method\": \"POST\", \"path\": \"/comments$\", \"delay_after\": 300, \"touch\": \"$T/acted\"}"
	setsid wf run r.yaml --yes >"$WORK/run.out" 2>"$WORK/run.err" &
	RUNNER=$!
	wait_until test -e "$T/acted"
	kill -9 "$RUNNER"
	wait "$RUNNER" || true
	RUNNER=
	run forge_count POST '/comments$'
	assert_output 1
	# The step's children die with it: no wf-step, wf-pr or wf-model of the run is left.
	wait_until groups_gone r
	asked=$(fake_provider_count)
	[ "$asked" = 3 ]
	resume_posts_each_once
	run forge_count POST '/comments$'
	assert_output 3
	# The verdicts were saved before the posts: no model was asked again.
	run fake_provider_count
	assert_output 3
}

@test "quorum review-pr: verdicts that cannot be saved fail the step with 74 before any post" {
	review_setup true true true comment
	# A directory where the verdicts file goes makes its write fail, as a full disk would.
	write d.yaml <<'Y'
name: d
variables: {pr_number: 1}
steps:
  - id: block
    action: shell
    command: 'mkdir "$WF_RUN_DIR/steps/review-review-$(head -1 "$WF_RUN_DIR/history.jsonl" | jq -r .time | tr -cd "[:alnum:]")-1.json"'
  - {id: review, action: review-pr, post: comment, models: [gpt, claude, llama]}
Y
	run wf run d.yaml --yes
	assert_failure 1
	assert_output --partial "cannot save the models' verdicts in '"
	run sh -c "wf-state history d | jq -c 'select(.event == \"step-end\" and .step == \"review\") | [.status, .exit_code, (.usage_models | keys)]'"
	assert_output '["failed",74,["claude","gpt","llama"]]'
	run forge_count POST '/comments$'
	assert_output 0
}

# Is every process of run $1's journaled groups gone (zombies aside)?
groups_gone() {
	local pgs
	pgs=$(wf-state history "$1" | jq -r 'select(.event == "step-pgid") | .pgid' | paste -sd' ')
	ps -eo pgid=,stat= | awk -v list="$pgs" '
		BEGIN { n = split(list, g); for (i = 1; i <= n; i++) want[g[i]] = 1 }
		($1 in want) && $2 !~ /^Z/ { alive = 1 }
		END { exit alive }'
}

# The pids of the wf-model chat children of the session $RUNNER leads, one a line.
chat_children() {
	pgrep -s "$RUNNER" -f 'wf-model chat -q' || true
}

# Has the fake got $1 requests?  Are $1 wf-model chat children left?  (Counted afresh on each try.)
requests_are() {
	[ "$(fake_provider_count)" = "$1" ]
}
children_are() {
	[ "$(chat_children | wc -l)" = "$1" ]
}

# Start `wf ARGS...` in a session of its own; RUNNER is its pid.
start_run() {
	setsid wf "$@" >"$WORK/run.out" 2>"$WORK/run.err" &
	RUNNER=$!
}

@test "quorum: one model's wf-model child killed -9 mid-call gives no verdict; the others still decide, nothing is left" {
	three_answers '"text": "{\"approved\": true}"' '"text": "{\"approved\": true}"' '"delay": 600, "text": "{\"approved\": true}"'
	quorum_workflow "    quorum: 2"
	start_run run q.yaml --yes
	wait_until requests_are 3
	wait_until children_are 1
	kill -9 "$(chat_children)"
	RC=0
	wait "$RUNNER" || RC=$?
	RUNNER=
	[ "$RC" = 0 ] || { cat "$WORK/run.err" >&2; false; }
	run cat "$WORK/went"
	assert_output APPROVED
	run step_end q ask '[.verdict, .failed_models]'
	assert_output '["2 of 3 approved (quorum 2)",[{"model":"llama","error":"wf-model exited with status 137"}]]'
	wait_until groups_gone q
	run wf-state fsck q
	assert_success
}

# Run r.yaml (review_setup, all approving) in the background with llama
# answering only after 600 s; back once the three models were asked.
start_review_llama_late() {
	review_setup true true true comment
	fake_provider_script - <<'J'
[{"match": {"model": "llama3.2:latest"}, "delay": 600, "text": "{\"approved\": true}"},
 {"text": "{\"approved\": true, \"summary\": \"fine\"}", "repeat": -1}]
J
	start_run run r.yaml --yes
	wait_until requests_are 3
}

@test "quorum review-pr: wf-run killed -9 while a model is still answering; its children die, resume posts each review once" {
	start_review_llama_late
	wait_until children_are 1
	kill -9 "$RUNNER"
	wait "$RUNNER" || true
	wait_until groups_gone r
	run forge_count POST '/comments$'
	assert_output 0
	RUNNER=
	resume_posts_each_once
}

@test "quorum review-pr: a saved verdicts file that is not verdicts is not trusted: those models are asked again" {
	review_setup true true true comment
	forge_fault '{"method": "POST", "path": "/comments$", "status": 422, "body": {"message": "refused"}, "times": -1}'
	run wf run r.yaml --yes
	assert_failure 1
	assert_output --partial "cannot post the review"
	run fake_provider_count
	assert_output 3
	saved=$(ls "$(rundir r)"/steps/review-review-*.json)
	printf '{"gpt": "yes", "claude": {"approved": "true"}, "llama": {"approved": true, "summary": "kept", "comments": []}}' > "$saved"
	curl -fsS -X DELETE "$FORGE_URL/_fake/fault" >/dev/null
	resume_posts_each_once
	# gpt and claude were asked again; llama's saved verdict was used.
	run sh -c "jq -r .model '$FAKE_LOG' | sort | uniq -c | awk '{print \$2, \$1}' | paste -sd' '"
	assert_output "claude-test 2 gpt-test 2 llama3.2:latest 1"
	run forge_state '.comments["1"] | map(select(.body | contains("model `llama`")) | .body | startswith("**Approved**\n\nkept"))'
	assert_output '[true]'
}

# Does run $1's saved verdicts file hold the models $2 (a JSON list, sorted)?
saved_models_are() {
	local f
	f=$(ls "$(rundir "$1")"/steps/review-review-*.json 2>/dev/null | head -1)
	[ -n "$f" ] && [ "$(jq -c 'keys' "$f" 2>/dev/null)" = "$2" ]
}

@test "quorum review-pr: wf-run killed -9 after two of three models answered; resume asks only the third (3 + 1 calls), posts each once" {
	start_review_llama_late
	# Each verdict is saved as it comes, before the last model has answered.
	wait_until saved_models_are r '["claude","gpt"]'
	kill -9 "$RUNNER"
	wait "$RUNNER" || true
	RUNNER=
	wait_until groups_gone r
	run forge_count POST '/comments$'
	assert_output 0
	fake_provider_script - <<'J'
[{"text": "{\"approved\": true, \"summary\": \"late\"}", "repeat": -1}]
J
	resume_posts_each_once
	run fake_provider_count
	assert_output 4
	run sh -c "jq -r .model '$FAKE_LOG' | sort | uniq -c | awk '{print \$2, \$1}' | paste -sd' '"
	assert_output "claude-test 1 gpt-test 1 llama3.2:latest 2"
	run forge_count POST '/comments$'
	assert_output 3
}

@test "quorum: a typo in 'models' is found before the first step, as one in 'model' is (78, no model asked)" {
	three_verdicts true true true
	write q.yaml <<'Y'
name: q
steps:
  - {id: first, action: shell, command: 'touch "$WORK/first-ran"'}
  - {id: ask, action: ai-prompt, format: json, prompt: "is it ready?", models: [gpt, cluade, llama]}
  - {id: again, action: ai-prompt, format: json, prompt: "sure?", models: [gtp, claude]}
Y
	run wf run q.yaml --yes
	assert_failure 78
	assert_output --partial "unknown model 'cluade' (did you mean 'claude'?)"
	assert_output --partial "unknown model 'gtp'"
	assert_output --partial "2 prerequisites are missing; no step was run"
	[ ! -e "$WORK/first-ran" ]
	run fake_provider_count
	assert_output 0
	# The same names in 'model' give the same message and status.
	write m.yaml <<'Y'
name: m
steps:
  - {id: first, action: shell, command: 'touch "$WORK/first-ran"'}
  - {id: ask, action: ai-prompt, prompt: "is it ready?", model: cluade}
Y
	run wf run m.yaml --yes
	assert_failure 78
	assert_output --partial "unknown model 'cluade' (did you mean 'claude'?)"
}

@test "quorum: the dry run shows where a split goes (on-split beside the other jumps)" {
	quorum_workflow "    quorum: 2
    on-split: split"
	run wf run q.yaml --dry-run
	assert_success
	assert_line --index 1 "[1/5] ask ai-prompt"
	assert_line "      on-approved -> yes"
	assert_line "      on-rejected -> no"
	assert_line "      on-split -> split"
	run sh -c "wf run q.yaml --dry-run | sed -n '/^\[1\/5\]/,/^\[2\/5\]/p' | grep -- ' -> ' | paste -sd'|'"
	assert_output "      on-approved -> yes|      on-rejected -> no|      on-split -> split"
}
