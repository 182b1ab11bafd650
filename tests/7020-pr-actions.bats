#!/usr/bin/env bats
# create-pr, review-pr, make-changes, self-review and merge-pr one at a
# time, in small workflows, against the fake GitHub and the fake provider.
load helpers
load fake-forge
load fake-provider

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

WFY() { echo "$BATS_TEST_TMPDIR/wf.yaml"; }

# A repository with a proposal committed on main, and the forge.
setup_repo() {
	forge_repo
	fake_forge_start "$@"
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
}

# A models.yaml whose model is never called (the preflight wants one configured).
unused_model() {
	export FAKE_API_KEY=sk-test-never-used-0123456789
	export WF_MODELS=$BATS_TEST_TMPDIR/unused-models.yaml
	printf 'providers:\n  p: {type: openai, base_url: "http://127.0.0.1:9/v1", api_key_env: FAKE_API_KEY}\nmodels:\n  m: {provider: p, model: x}\ndefault: m\n' > "$WF_MODELS"
}

# Open PR #1 for the proposal, without a model.
open_pr() {
	write "$(WFY)" <<'Y'
name: open
steps:
  - id: p
    action: create-pr
    title: Add farewell
    body: Adds farewell().
Y
	wf run "$(WFY)" --yes --quiet
}

@test "create-pr: branches off main, pushes, opens the PR with the given text, sets pr_number and pr_url" {
	setup_repo
	write "$(WFY)" <<'Y'
name: open
variables: {topic: farewell}
steps:
  - id: p
    action: create-pr
    title: "Add ${topic}"
    body: "Adds ${topic}()."
    draft: true
Y
	run wf run "$(WFY)" --yes
	assert_success
	assert_output --partial "created branch 'wf/open'; opened pull request #1 $FORGE_URL/acme/widgets/pull/1 (wf/open into main, head "
	run forge_state '.pulls | map([.number, .title, .body, .head, .base, .draft])'
	assert_output '[[1,"Add farewell","Adds farewell().","wf/open","main",true]]'
	run wf-state get open vars
	assert_output "{\"topic\":\"farewell\",\"branch\":\"wf/open\",\"base\":\"main\",\"pr_number\":1,\"pr_url\":\"$FORGE_URL/acme/widgets/pull/1\"}"
	# The proposal moved to the branch; main is origin's again, nothing lost.
	run git rev-parse --abbrev-ref HEAD
	assert_output wf/open
	[ "$(git rev-parse main)" = "$(git rev-parse origin/main)" ]
	[ "$(origin_git rev-parse wf/open)" = "$(git rev-parse HEAD)" ]
	# Again: the open PR is adopted, never duplicated.
	run wf run "$(WFY)" --yes --restart
	assert_success
	assert_output --partial "found the open pull request #1"
	run forge_state '.pulls | length'
	assert_output 1
}

@test "create-pr: the model writes the title and body; when the model fails the commits are used" {
	setup_repo
	fake_provider_start - <<'J'
[{"match": {"prompt_contains": "Write a title and a description"},
  "text": "Sure! {\"title\": \"Add a farewell helper\", \"body\": \"It says bye.\"}"}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write "$(WFY)" <<'Y'
name: open
steps:
  - id: p
    action: create-pr
Y
	run wf run "$(WFY)" --yes
	assert_success
	run forge_state '.pulls[0] | [.title, .body]'
	assert_output '["Add a farewell helper","It says bye."]'
	run grep -c 'return \\"bye \\" + name' "$FAKE_LOG"
	assert_output 1
	# The model fails: the PR still opens, titled after the commit.
	fake_provider_stop
	fake_provider_start - <<'J'
[{"error": "server", "repeat": -1}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	git switch -q main
	git switch -q -c second
	printf 'x\n' > second.txt
	git add second.txt
	git commit -q -m "Add second"
	run env WF_RETRY_MAX=0 wf run "$(WFY)" --yes --restart
	assert_success
	assert_output --partial "no title and description from the model"
	run forge_state '.pulls[1] | [.title, .body, .head]'
	assert_output '["Add second","Commits:\n\n- Add second\n","second"]'
}

@test "create-pr: nothing to propose is an error; uncommitted work is committed first" {
	forge_repo
	fake_forge_start
	write "$(WFY)" <<'Y'
name: open
steps:
  - id: p
    action: create-pr
    title: T
    body: B
Y
	run wf run "$(WFY)" --yes
	assert_failure 1
	assert_output --partial "nothing to propose: 'wf/open' has no commits that are not on origin/main, and no changes to commit"
	printf 'new\n' > new.txt
	run wf run "$(WFY)" --yes --restart
	assert_success
	assert_output --partial "committed"
	run origin_git show --name-only --format= wf/open
	assert_output new.txt
	run forge_state '.pulls | length'
	assert_output 1
}

@test "review-pr: the verdict is read robustly from what models really answer" {
	setup_repo
	open_pr
	jq -n '[
	 {"text": "```json\n{\"approved\": true, \"summary\": \"fenced\"}\n```"},
	 {"text": "I looked at it.\n{\"verdict\": \"request_changes\", \"summary\": \"prose around\", \"comments\": [{\"file\": \"b/greet.py\", \"line\": \"4\", \"comment\": \"rename\"}]}\nThanks."},
	 {"text": "{\"approved\": \"yes\", \"review\": \"string yes\"}"},
	 {"text": "not JSON at all"},
	 {"text": "{\"approved\": false, \"summary\": \"repaired\"}"},
	 {"text": "{\"looks\": \"fine\"}"},
	 {"text": "still nothing"}
	]' > "$BATS_TEST_TMPDIR/script.json"
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write "$(WFY)" <<'Y'
name: rev
variables: {pr_number: 1}
steps:
  - id: r
    action: review-pr
    post: none
Y
	while IFS='|' read -r want vars; do
		run wf run "$(WFY)" --yes --restart
		if [ "$want" = fail ]; then
			assert_failure 1
			assert_output --partial "the model's review is not a usable verdict, even when asked again"
			continue
		fi
		assert_success
		run sh -c "wf-state get rev vars | jq -c '[.approved, .review_summary, .review_comments]'"
		assert_output "$vars"
	done <<-'T'
	ok|[true,"fenced",[]]
	ok|[false,"prose around",[{"path":"greet.py","line":4,"body":"rename"}]]
	ok|[true,"string yes",[]]
	ok|[false,"repaired",[]]
	fail|
	T
	# The repair prompt said what was wrong.
	run grep -c 'could not be used' "$FAKE_LOG"
	assert_output 2
}

@test "review-pr: posts a review or a comment with its marker; approved feeds check: approved" {
	setup_repo
	open_pr
	fake_provider_start - <<'J'
[{"text": "{\"approved\": true, \"summary\": \"Fine.\", \"comments\": [{\"path\": \"greet.py\", \"line\": 4, \"body\": \"nice\"}]}", "repeat": -1}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write "$(WFY)" <<'Y'
name: rev
steps:
  - id: r
    action: review-pr
    prompt: "Review the pull request below, strictly: ${focus}"
    check: approved
    on-approved: yes
    on-rejected: no
  - id: no
    action: shell
    command: echo rejected
  - id: yes
    action: review-pr
    post: comment
Y
	run wf run "$(WFY)" --yes --var pr_number=1 --var focus=naming
	assert_success
	refute_output --partial rejected
	run forge_state '.reviews["1"] | map(.state)'
	assert_output '["COMMENTED"]'
	run forge_state '.reviews["1"][0].body | test("^\\*\\*Approved\\*\\*\n\nFine.\n\n_Review by model `gpt`_\n\n<!-- wf:rev/r/0 run-[0-9TZ]+\\.0 -->$")'
	assert_output true
	run forge_state '.comments["1"][0].body | test("- `greet.py:4`: nice\n\n_Review by model `gpt`_\n\n<!-- wf:rev/yes/0 run-[0-9TZ]+\\.1 -->$")'
	assert_output true
	run grep -c 'Review the pull request below, strictly: naming' "$FAKE_LOG"
	assert_output 1
}

@test "review-pr and merge-pr: no PR, an unknown PR, no token, a bad token: clear errors, exit 1" {
	setup_repo
	unused_model
	write "$(WFY)" <<'Y'
name: rev
steps:
  - id: r
    action: review-pr
Y
	run wf run "$(WFY)" --yes
	assert_failure 1
	assert_output --partial "no pull request to review: vars.pr_number is not set (a create-pr step sets it)"
	run wf run "$(WFY)" --yes --restart --var pr_number=99
	assert_failure 1
	assert_output --partial "no pull request #99 in acme/widgets"
	run env -u GH_TOKEN wf run "$(WFY)" --yes --restart --var pr_number=1
	assert_failure 78
	assert_output --partial "this workflow has pull-request steps, but neither GH_TOKEN nor GITHUB_TOKEN is set"
	run sh -c "jq -nc --arg cwd '$PWD' '{step: {id: \"r\", action: \"review-pr\"}, vars: {pr_number: 1}, run: {cwd: \$cwd}}' | env -u GH_TOKEN wf-step"
	assert_failure 1
	assert_output --partial '"exit_code":78'
	assert_output --partial "no forge token: set GH_TOKEN or GITHUB_TOKEN"
	run env GH_TOKEN=not-the-token wf run "$(WFY)" --yes --restart --var pr_number=1
	assert_failure 1
	assert_output --partial "the forge refused the token (HTTP 401: Bad credentials)"
	run sh -c "wf-state history rev | jq -r 'select(.event==\"step-end\") | .exit_code' | tail -1"
	assert_output 78
}

@test "make-changes: a patch that does not apply is sent back with git's error, up to max-attempts" {
	setup_repo
	open_pr
	good=$(printf -- '--- a/greet.py\n+++ b/greet.py\n@@ -3,2 +3,2 @@\n def farewell(name):\n-    return "bye " + name\n+    return "goodbye " + name\n')
	jq -n --arg good "$good" '[
	 {"text": "I would rename things."},
	 {"text": "```diff\n--- a/greet.py\n+++ b/greet.py\n@@ -1,2 +1,2 @@\n-def nothing_like_this():\n+def x():\n     pass\n```"},
	 {"text": ("```diff\n" + $good + "\n```")}
	]' > "$BATS_TEST_TMPDIR/script.json"
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write "$(WFY)" <<'Y'
name: fix
variables:
  review_summary: Say goodbye.
steps:
  - id: m
    action: make-changes
Y
	run wf run "$(WFY)" --yes
	assert_success
	assert_output --partial "attempt 1 of 3: the answer holds no unified diff"
	assert_output --partial "attempt 2 of 3: the patch does not apply"
	assert_output --partial "applied the model's patch to greet.py (attempt 3 of 3)"
	run git diff --stat
	assert_output --partial "greet.py | 2 +-"
	run grep -c 'Your previous patch could not be applied' "$FAKE_LOG"
	assert_output 2
	# The prompt carried the review and the file.
	run grep -c 'Say goodbye' "$FAKE_LOG"
	assert_output 3
}

@test "make-changes: when no patch applies the step fails and the work tree is untouched" {
	setup_repo
	open_pr
	fake_provider_start - <<'J'
[{"text": "```diff\n--- a/missing.py\n+++ b/missing.py\n@@ -1 +1 @@\n-a\n+b\n```", "repeat": -1}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	printf 'keep me\n' >> README.md
	write "$(WFY)" <<'Y'
name: fix
steps:
  - id: m
    action: make-changes
    prompt: Rename everything.
    max-attempts: 2
Y
	run wf run "$(WFY)" --yes
	assert_failure 1
	assert_output --partial "the model's patch did not apply after 2 attempts (the patch does not apply: missing.py: No such file or directory); the work tree is unchanged"
	run git status --porcelain
	assert_output " M README.md"
	run fake_provider_count
	assert_output 2
}

@test "make-changes: a patch that reaches outside the work tree or into .git is refused" {
	setup_repo
	fake_provider_start - <<'J'
[{"text": "```diff\n--- /dev/null\n+++ b/../escape.txt\n@@ -0,0 +1 @@\n+out\n```"},
 {"text": "```diff\n--- /dev/null\n+++ b/.git/hooks/post-commit\n@@ -0,0 +1 @@\n+touch pwned\n```"}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write "$(WFY)" <<'Y'
name: fix
steps:
  - id: m
    action: make-changes
    prompt: Do something.
    max-attempts: 2
Y
	run wf run "$(WFY)" --yes
	assert_failure 1
	assert_output --partial "attempt 1 of 2: the patch does not apply"
	assert_output --partial "the model's patch did not apply after 2 attempts"
	[ ! -e ../escape.txt ]
	[ ! -e .git/hooks/post-commit ]
	run git status --porcelain
	assert_output ""
}

@test "make-changes: nothing to change after an approving review (no model call)" {
	setup_repo
	unused_model
	write "$(WFY)" <<'Y'
name: fix
variables: {approved: true}
steps:
  - id: m
    action: make-changes
Y
	run wf run "$(WFY)" --yes
	assert_success
	assert_output --partial "nothing to change: the last review approved the pull request"
}

@test "make-changes: an external coding agent gets the prompt on stdin and no secrets it was not given" {
	setup_repo
	export OPENAI_API_KEY=sk-should-not-leak-1234567890
	write "$BATS_TEST_TMPDIR/agent" <<'A'
#!/bin/sh
cat > "$AGENT_LOG"
echo "agent args: $*"
echo "key=${OPENAI_API_KEY:-none} token=${GH_TOKEN:-none}" >> "$AGENT_LOG"
sed -i 's/bye/goodbye/' greet.py
A
	chmod +x "$BATS_TEST_TMPDIR/agent"
	export AGENT_LOG=$BATS_TEST_TMPDIR/agent.log
	write "$(WFY)" <<'Y'
name: fix
steps:
  - id: m
    action: make-changes
    prompt: "Use ${word} instead of bye."
Y
	run env WF_CODING_AGENT="$BATS_TEST_TMPDIR/agent --fast  --quiet" wf run "$(WFY)" --yes --var word=goodbye
	assert_success
	assert_output --partial "agent args: --fast --quiet"
	assert_output --partial "finished; 1 file changed in the work tree"
	run cat "$AGENT_LOG"
	assert_output --partial "Use goodbye instead of bye."
	assert_output --partial "key=none token=none"
	run grep -c goodbye greet.py
	assert_output 1
	write "$(WFY)" <<'Y'
name: fix
steps:
  - id: m
    action: make-changes
    agent: no-such-agent-here
    prompt: x
Y
	run wf run "$(WFY)" --yes --restart
	assert_failure 1
	assert_output --partial "coding agent 'no-such-agent-here' not found on PATH"
}

@test "self-review: posts one summary comment; without a model it lists the changes" {
	setup_repo
	open_pr
	export WF_MODELS=$BATS_TEST_TMPDIR/nothing.yaml
	printf 'providers: {}\nmodels: {}\n' > "$WF_MODELS"
	write "$(WFY)" <<'Y'
name: selfrev
variables: {pr_number: 1}
steps:
  - id: s
    action: self-review
Y
	run wf run "$(WFY)" --yes
	assert_success
	assert_output --partial "posted the self-review on #1"
	run forge_state '.comments["1"][0].body | startswith("### Self-review\n\nWhat this pull request changes:\n\n**Commits**\n\n- ")'
	assert_output true
	run forge_state '.comments["1"][0].body | contains("greet.py | 2 ++")'
	assert_output true
}

@test "merge-pr: refuses an unapproved PR; require-approval: false merges; a merged PR is not an error" {
	setup_repo
	open_pr
	write "$(WFY)" <<'Y'
name: merge
variables: {pr_number: 1}
steps:
  - id: m
    action: merge-pr
    method: squash
    delete-branch: true
Y
	run wf run "$(WFY)" --yes
	assert_failure 1
	assert_output --partial "refusing to merge pull request #1: the last review did not approve it (set require-approval: false to merge anyway)"
	run forge_state '.pulls[0].merged'
	assert_output false
	run wf run "$(WFY)" --yes --restart --var approved=true
	assert_success
	assert_output --partial "merged pull request #1 (squash) as"
	run origin_git log -1 --format=%s main
	assert_output "Add farewell (#1)"
	run origin_git rev-parse -q --verify refs/heads/wf/open
	assert_failure
	run wf run "$(WFY)" --yes --restart --var approved=true
	assert_success
	assert_output --partial "pull request #1 was already merged"
	run origin_git rev-list --count main
	assert_output 2
}

@test "merge-pr: a head that moved since the approving review is not merged" {
	setup_repo
	open_pr
	reviewed=$(git rev-parse HEAD)
	printf 'late\n' > late.txt
	git add late.txt
	git commit -q -m late
	git push -q origin HEAD
	write "$(WFY)" <<'Y'
name: merge
steps:
  - id: m
    action: merge-pr
Y
	run wf run "$(WFY)" --yes --var pr_number=1 --var approved=true --var reviewed_sha="$reviewed"
	assert_failure 1
	assert_output --partial "refused (HTTP 409: Head branch was modified. Review and try the merge again.); the branch moved since it was reviewed"
	run forge_state '.pulls[0].merged'
	assert_output false
}
