#!/usr/bin/env bats
# wf-pr, the forge client, alone: repository detection, tokens, every verb
# against the fake GitHub (which keeps real git state), retries and errors.
load helpers
load fake-forge

teardown() {
	fake_forge_stop
}

# A branch with one commit, pushed: ready for a pull request.
feature_branch() {
	git switch -q -c "${1:-feature}"
	printf 'x = 1\n' > x.py
	git add x.py
	git commit -q -m "add x"
	git push -q origin "${1:-feature}"
}

@test "wf-pr: OWNER/REPO from the origin URL, in each form git uses" {
	git init -q r && cd r
	while read -r url owner repo; do
		git remote remove origin 2>/dev/null || true
		git remote add origin "$url"
		run env -u WF_FORGE_REPO wf-pr repo
		assert_success
		assert_output --partial "\"owner\":\"$owner\",\"repo\":\"$repo\""
	done <<-'T'
	https://github.com/acme/widgets.git acme widgets
	https://github.com/acme/widgets acme widgets
	https://ghe.example.com/team-x/tool.kit/ team-x tool.kit
	git@github.com:acme/widgets.git acme widgets
	ssh://git@github.com:22/acme/widgets.git acme widgets
	ssh://git@example.org/deep/path/org/repo org repo
	T
}

@test "wf-pr: a local path remote needs WF_FORGE_REPO; -R and WF_FORGE_REPO win" {
	git init -q r && cd r
	git remote add origin /srv/git/widgets.git
	run env -u WF_FORGE_REPO wf-pr repo
	assert_failure 65
	assert_output --partial "cannot tell OWNER/REPO from the remote 'origin' URL '/srv/git/widgets.git' (set WF_FORGE_REPO=OWNER/REPO)"
	run env WF_FORGE_REPO=acme/widgets wf-pr repo
	assert_success
	assert_output --partial '"owner":"acme","repo":"widgets"'
	run env WF_FORGE_REPO=acme/widgets wf-pr -R other/thing repo
	assert_success
	assert_output --partial '"owner":"other","repo":"thing"'
	run env WF_FORGE_REPO='../x' wf-pr repo
	assert_failure 65
	assert_output --partial "invalid repository '../x': expected OWNER/REPO"
}

@test "wf-pr: no git repository and no remote are bad input (65), each with its own message" {
	run env -u WF_FORGE_REPO wf-pr repo
	assert_failure 65
	assert_output --partial "is not in a git repository, and no repository was named"
	git init -q r && cd r
	run env -u WF_FORGE_REPO wf-pr repo
	assert_failure 65
	assert_output --partial "the repository has no remote 'origin'"
}

@test "wf-pr: no token is 78; GITHUB_TOKEN is used when GH_TOKEN is unset; plain http to a remote host is refused" {
	forge_repo
	fake_forge_start
	feature_branch
	run env -u GH_TOKEN -u GITHUB_TOKEN wf-pr list
	assert_failure 78
	assert_output "wf-pr: no forge token: set GH_TOKEN or GITHUB_TOKEN"
	run env -u GH_TOKEN GITHUB_TOKEN="$GH_TOKEN" wf-pr list
	assert_success
	assert_output "[]"
	run env GITHUB_API_URL=http://forge.example.com wf-pr list
	assert_failure 78
	assert_output --partial "refusing plain http to 'forge.example.com'"
	# The token travels only in the Authorization header.
	run forge_requests 'select(.auth != null) | .auth | startswith("Bearer ghp_test")'
	assert_output true
}

@test "wf-pr: the token is never printed, not even in an HTTP trace or an error" {
	forge_repo
	fake_forge_start
	run wf-pr --debug-http view 1
	assert_failure 66
	assert_output --partial "Authorization: ***"
	refute_output --partial "$GH_TOKEN"
	run env GH_TOKEN=wrong-token-1234567890 wf-pr view 1
	assert_failure 78
	assert_output "wf-pr: pull request #1: the forge refused the token (HTTP 401: Bad credentials); check GH_TOKEN or GITHUB_TOKEN"
}

@test "wf-pr create: opens a PR once; a second create adopts it; find and list see it" {
	forge_repo
	fake_forge_start
	feature_branch
	run wf-pr create --head feature --base main --title "Add x" --body "Adds x."
	assert_success
	assert_output --partial '"number":1,'
	assert_output --partial '"head":"feature"'
	assert_output --partial '"adopted":false'
	run sh -c 'echo "other body" | wf-pr create --head feature --base main --title "Again" --body-file -'
	assert_success
	assert_output --partial '"number":1,'
	assert_output --partial '"adopted":true'
	run forge_state '.pulls | length'
	assert_output 1
	run sh -c 'wf-pr find feature | jq -c "[.number, .title, .state]"'
	assert_output '[1,"Add x","open"]'
	run sh -c 'wf-pr list --head feature | jq length'
	assert_output 1
	run wf-pr find nosuch
	assert_failure 66
	assert_output "wf-pr: no open pull request for branch 'nosuch' in acme/widgets"
}

@test "wf-pr create: the forge's refusals come back with its message" {
	forge_repo
	fake_forge_start
	git push -q origin main:empty
	run wf-pr create --head empty --base main --title "Nothing"
	assert_failure 1
	assert_output "wf-pr: create pull request: the forge refused (HTTP 422: Validation Failed: No commits between main and empty)"
	run wf-pr create --head missing --base main --title "No branch"
	assert_failure 1
	assert_output --partial "HTTP 422: Validation Failed: head invalid"
	run wf-pr create --head '--upload-pack=x' --base main --title "Bad"
	assert_failure 65
	assert_output "wf-pr: invalid branch name '--upload-pack=x'"
}

@test "wf-pr view and diff: a real diff computed by git; an unknown PR is 66" {
	forge_repo
	fake_forge_start
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	run wf-pr diff 1 --raw
	assert_success
	assert_output "$(git diff origin/main...feature)"
	run sh -c 'wf-pr diff 1 | jq -r .diff'
	assert_output "$(git diff origin/main...feature)"
	run sh -c 'wf-pr view 1 | jq -c "[.state, .merged, .head_sha]"'
	assert_output "[\"open\",false,\"$(git rev-parse feature)\"]"
	run wf-pr view 99
	assert_failure 66
	assert_output "wf-pr: no pull request #99 in acme/widgets"
	run wf-pr diff 99
	assert_failure 66
}

@test "wf-pr comment --marker: posted once, found the second time" {
	forge_repo
	fake_forge_start
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	run wf-pr comment 1 --body "first" --marker "wf:run/s1/0"
	assert_success
	assert_output --partial '"existing":false'
	run wf-pr comment 1 --body "second" --marker "wf:run/s1/0"
	assert_success
	assert_output --partial '"existing":true'
	assert_output --partial 'first'
	run forge_state '.comments["1"] | map(.body)'
	assert_output '["first\n\n<!-- wf:run/s1/0 -->"]'
	run wf-pr comment 1 --body x --marker 'a-->b<script>'
	assert_failure 65
}

@test "wf-pr comment: a marker is found on a later page (Link headers are followed)" {
	forge_repo
	fake_forge_start --page-size 2
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	for i in 1 2 3 4 5; do wf-pr comment 1 --body "c$i" --marker "m$i" >/dev/null; done
	run sh -c 'wf-pr comments 1 | jq length'
	assert_output 5
	run wf-pr comment 1 --body again --marker m5
	assert_success
	assert_output --partial '"existing":true'
	run forge_state '.comments["1"] | length'
	assert_output 5
}

@test "wf-pr review: an author's own PR gets a comment review; comments off the diff go in the text" {
	forge_repo
	fake_forge_start
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	write c.json <<'J'
[{"path":"x.py","line":1,"body":"name it better"},{"path":"x.py","line":40,"body":"not in the diff"}]
J
	run wf-pr review 1 --event request-changes --body "Please fix." --comments-file c.json --marker "wf:r/s3/0"
	assert_success
	assert_output --partial '"event":"COMMENT"'
	assert_output --partial '"inline":true'
	run forge_state '.reviews["1"][0] | [.state, .body, (.comments | map(.line))]'
	assert_output '["COMMENTED","Please fix.\n\n- `x.py:40`: not in the diff\n\n<!-- wf:r/s3/0 -->",[1]]'
	run wf-pr review 1 --event request-changes --body "Again." --marker "wf:r/s3/0"
	assert_success
	assert_output --partial '"existing":true'
	run forge_state '.reviews["1"] | length'
	assert_output 1
}

@test "wf-pr review: with another account's token the event is kept" {
	forge_repo
	fake_forge_start --allow-self-review
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	run wf-pr review 1 --event approve --body "LGTM"
	assert_success
	assert_output --partial '"state":"APPROVED"'
	run wf-pr review 1 --event maybe --body "?"
	assert_failure 65
	assert_output "wf-pr: unknown review event 'maybe' (approve, request-changes or comment)"
}

@test "wf-pr merge: each method really merges in the bare repository" {
	forge_repo
	fake_forge_start
	while read -r method parents; do
		git switch -q main
		git switch -q -c "f-$method"
		printf '%s\n' "$method" > "$method.txt"
		git add "$method.txt"
		git commit -q -m "add $method"
		git push -q origin "f-$method"
		n=$(wf-pr create --head "f-$method" --base main --title "$method" | jq .number)
		run wf-pr merge "$n" --method "$method" --delete-branch
		assert_success
		assert_output --partial '"merged":true,"already":false'
		assert_output --partial '"branch_deleted":true'
		run origin_git show main:"$method.txt"
		assert_output "$method"
		run sh -c "git --git-dir '$ORIGIN' rev-list --parents -n 1 main | wc -w"
		assert_output "$parents"
		run origin_git rev-parse --verify -q "refs/heads/f-$method"
		assert_failure
	done <<-'T'
	merge 3
	squash 2
	rebase 2
	T
	run wf-pr merge 1
	assert_success
	assert_output --partial '"already":true'
}

@test "wf-pr merge: a conflict, a stale sha and a closed PR are refused with the reason" {
	forge_repo
	fake_forge_start
	feature_branch
	n=$(wf-pr create --head feature --base main --title T | jq .number)
	run wf-pr merge "$n" --sha 0000000000000000000000000000000000000000
	assert_failure 1
	assert_output --partial "merge of pull request #1 refused (HTTP 409: Head branch was modified. Review and try the merge again.); the branch moved since it was reviewed"
	# main changes x.py too: a conflict.
	git switch -q main
	printf 'x = 2\n' > x.py
	git add x.py
	git commit -q -m "conflicting x"
	git push -q origin main
	run wf-pr merge "$n"
	assert_failure 1
	assert_output --partial "refused (HTTP 405: Pull Request is not mergeable); it is not mergeable"
	run forge_state '.pulls[0].merged'
	assert_output false
	run wf-pr merge "$n" --method fast
	assert_failure 65
}

@test "wf-pr: 5xx and 429 are retried; a forge that stays down is 69; 403 is 77" {
	forge_repo
	fake_forge_start
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	export WF_RETRY_BASE_MS=10 WF_RETRY_MAX=3
	forge_fault '{"method":"GET","path":"/pulls/1$","status":502,"times":2}'
	run wf-pr view 1
	assert_success
	assert_output --partial '"number":1'
	forge_fault '{"method":"GET","path":"/pulls/1$","status":429,"times":1,"headers":{"Retry-After":"0"}}'
	run wf-pr view 1
	assert_success
	forge_fault '{"method":"GET","path":"/pulls/1$","status":503,"times":-1,"body":{"message":"down for maintenance"}}'
	run wf-pr view 1
	assert_failure 69
	assert_output --partial "the forge at $FORGE_URL failed: HTTP 503: down for maintenance (after 4 attempts)"
	curl -sf -X DELETE "$FORGE_URL/_fake/fault"
	forge_fault '{"method":"GET","path":"/pulls/1$","status":403,"times":1,"body":{"message":"Resource not accessible by integration"}}'
	run wf-pr view 1
	assert_failure 77
	assert_output "wf-pr: pull request #1: permission denied (HTTP 403: Resource not accessible by integration)"
	run env GITHUB_API_URL=http://127.0.0.1:1 wf-pr view 1
	assert_failure 69
	assert_output --partial "cannot reach the forge at http://127.0.0.1:1"
}

@test "wf-pr: a POST whose answer is lost is not sent again blindly: the comment exists once" {
	forge_repo
	fake_forge_start
	feature_branch
	wf-pr create --head feature --base main --title T >/dev/null
	forge_fault '{"method":"POST","path":"/comments$","close":true,"times":1}'
	run env WF_RETRY_BASE_MS=10 wf-pr comment 1 --body hello --marker "wf:x/s1/0"
	assert_success
	assert_output --partial '"existing":true'
	run forge_state '.comments["1"] | length'
	assert_output 1
}

@test "wf-pr: usage errors are 2" {
	run wf-pr
	assert_failure 2
	run wf-pr frobnicate
	assert_failure 2
	assert_output --partial "unknown verb 'frobnicate'"
	run wf-pr view
	assert_failure 2
	run wf-pr view abc
	assert_failure 2
	assert_output --partial "invalid pull request number 'abc'"
	run wf-pr list --state weird
	assert_failure 2
	run wf-pr --help
	assert_success
	assert_output --partial "usage: wf-pr"
}
