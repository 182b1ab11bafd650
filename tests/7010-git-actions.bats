#!/usr/bin/env bats
# commit-push and sync: real git, a bare repository as origin, no shell.
load helpers
load fake-forge

teardown() {
	fake_forge_stop
}

# A second clone of origin that pushes CONTENT to FILE on main.
upstream_change() {
	local other="$BATS_TEST_TMPDIR/other"
	[ -d "$other" ] || git clone -q "$ORIGIN" "$other"
	git -C "$other" pull -q origin main
	printf '%s\n' "$2" > "$other/$1"
	git -C "$other" add "$1"
	git -C "$other" -c user.name=Other -c user.email=o@example.invalid commit -q -m "upstream: $1"
	git -C "$other" push -q origin main
}

@test "commit-push: stages everything, commits the message, pushes the branch; then nothing to commit" {
	forge_repo
	git switch -q -c work
	write ../wf.yaml <<'Y'
name: cp
variables: {what: greeting}
steps:
  - id: c
    action: commit-push
    message: "Improve the ${what}"
Y
	printf 'print("hi")\n' > new.py
	printf 'changed\n' >> README.md
	run wf run ../wf.yaml --yes
	assert_success
	assert_output --partial 'committed'
	assert_output --partial "\"Improve the greeting\"; pushed 'work' to origin"
	run git log -1 --format=%s
	assert_output "Improve the greeting"
	run git status --porcelain
	assert_output ""
	[ "$(origin_git rev-parse work)" = "$(git rev-parse HEAD)" ]
	run sh -c "wf-state history cp | jq -c 'select(.event==\"step-end\") | .effects | [.branch, (.commit == .pushed)]'"
	assert_output '["work",true]'
	run wf run ../wf.yaml --yes
	assert_success
	assert_output --partial "nothing to commit; 'work' is up to date on origin"
	run git rev-list --count main..work
	assert_output 1
}

@test "commit-push: commits only to the run's branch" {
	forge_repo
	git switch -q -c other
	write ../wf.yaml <<'Y'
name: cp
variables: {branch: wf/cp}
steps:
  - id: c
    action: commit-push
    message: m
Y
	printf 'x\n' >> README.md
	run wf run ../wf.yaml --yes
	assert_failure 1
	assert_output --partial "the run's branch is 'wf/cp' but 'other' is checked out; switch back (git switch wf/cp), then resume"
	run git log -1 --format=%s
	assert_output "initial commit"
}

@test "commit-push: refuses the base branch unless allow-base: true" {
	forge_repo
	write ../wf.yaml <<'Y'
name: cp
steps:
  - id: c
    action: commit-push
    message: direct
Y
	printf 'x\n' >> README.md
	run wf run ../wf.yaml --yes
	assert_failure 1
	assert_output --partial "refusing to commit to the base branch 'main' (open a branch with create-pr first, or set allow-base: true)"
	run git status --porcelain
	assert_output " M README.md"
	[ "$(origin_git rev-parse main)" = "$(git rev-parse origin/main)" ]
	write ../wf.yaml <<'Y'
name: cp
steps:
  - id: c
    action: commit-push
    message: direct
    allow-base: true
Y
	run wf run ../wf.yaml --yes --restart
	assert_success
	run origin_git log -1 --format=%s main
	assert_output direct
}

@test "commit-push paths: commits only the listed paths; the rest stays in the work tree" {
	forge_repo
	git switch -q -c work
	write ../wf.yaml <<'Y'
name: cp
variables: {dir: docs}
steps:
  - id: c
    action: commit-push
    message: docs only
    paths: ["${dir}", "README.md"]
Y
	mkdir docs
	printf 'a\n' > docs/a.md
	printf 'more\n' >> README.md
	printf 'x = 2\n' >> greet.py
	run wf run ../wf.yaml --yes
	assert_success
	run git show --name-only --format= HEAD
	assert_output "README.md
docs/a.md"
	run git status --porcelain
	assert_output " M greet.py"
}

@test "commit-push: without a message the model writes one from the staged diff" {
	load fake-provider
	forge_repo
	git switch -q -c work
	fake_provider_start - <<'J'
[{"match": {"prompt_contains": "Write a git commit message"}, "text": "```\nAdd a shout helper\n\nIt says things loudly.\n```"}]
J
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	write ../wf.yaml <<'Y'
name: cp
steps:
  - id: c
    action: commit-push
Y
	printf 'def shout(s):\n    return s.upper()\n' >> greet.py
	run wf run ../wf.yaml --yes
	assert_success
	run git log -1 --format=%B
	assert_output "Add a shout helper

It says things loudly."
	run grep -c 'def shout' "$FAKE_LOG"
	assert_output 1
	fake_provider_stop
}

@test "commit-push: a rejected push is never forced, and says what to do" {
	forge_repo
	git switch -q -c work
	printf 'a\n' > a.txt
	git add a.txt
	git commit -q -m a
	git push -q origin work
	# Someone else pushes to the same branch.
	git clone -q -b work "$ORIGIN" "$BATS_TEST_TMPDIR/other"
	printf 'b\n' > "$BATS_TEST_TMPDIR/other/b.txt"
	git -C "$BATS_TEST_TMPDIR/other" add b.txt
	git -C "$BATS_TEST_TMPDIR/other" -c user.name=O -c user.email=o@x commit -q -m b
	git -C "$BATS_TEST_TMPDIR/other" push -q origin work
	remote=$(origin_git rev-parse work)
	write ../wf.yaml <<'Y'
name: cp
steps:
  - id: c
    action: commit-push
    message: mine
Y
	printf 'c\n' > c.txt
	run wf run ../wf.yaml --yes
	assert_failure 1
	assert_output --partial "push of 'work' rejected: origin has commits on it that are not here (nothing was forced; bring them in with a sync step or git pull, then try again)"
	[ "$(origin_git rev-parse work)" = "$remote" ]
	run git log -1 --format=%s
	assert_output mine
}

@test "sync: a working branch gets origin's base merged in; up to date the second time" {
	forge_repo
	git switch -q -c work
	printf 'w\n' > w.txt
	git add w.txt
	git commit -q -m w
	upstream_change up.txt "from upstream"
	write ../wf.yaml <<'Y'
name: sy
steps:
  - id: s
    action: sync
Y
	run wf run ../wf.yaml --yes
	assert_success
	assert_output --partial "merged origin/main"
	assert_output --partial "into 'work'"
	run cat up.txt
	assert_output "from upstream"
	run git rev-parse --abbrev-ref HEAD
	assert_output work
	run git log -1 --format=%s
	assert_output "Merge origin/main into work"
	run wf run ../wf.yaml --yes
	assert_success
	assert_output --partial "'work' already contains origin/main"
}

@test "sync: a conflict aborts the merge, changes nothing and waits (exit 3); resolved by hand, resume finishes" {
	forge_repo
	git switch -q -c work
	printf 'mine\n' > README.md
	git commit -q -am "mine"
	before=$(git rev-parse HEAD)
	upstream_change README.md "theirs"
	write ../wf.yaml <<'Y'
name: sy
steps:
  - id: s
    action: sync
  - id: after
    action: shell
    command: echo synced
Y
	run wf run ../wf.yaml --yes
	assert_failure 3
	assert_output --partial "sync: merging origin/main into 'work' conflicts in: README.md. The merge was aborted and nothing changed. Resolve it by hand (git merge origin/main, fix the conflicts, git commit), then 'wf resume sy'"
	[ "$(git rev-parse HEAD)" = "$before" ]
	run git status --porcelain
	assert_output ""
	run git rev-parse -q --verify MERGE_HEAD
	assert_failure
	run wf-state get sy status
	assert_output waiting
	# The human resolves it.
	git merge -q origin/main >/dev/null 2>&1 || true
	printf 'mine and theirs\n' > README.md
	git commit -q -am "merge origin/main"
	run wf resume sy --yes
	assert_success
	assert_output --partial "'work' already contains origin/main"
	assert_output --partial synced
}

@test "sync: uncommitted changes are never touched: the run waits" {
	forge_repo
	git switch -q -c work
	upstream_change up.txt new
	printf 'dirty\n' >> README.md
	write ../wf.yaml <<'Y'
name: sy
steps:
  - id: s
    action: sync
Y
	run wf run ../wf.yaml --yes
	assert_failure 3
	assert_output --partial "sync: the work tree has uncommitted changes; nothing was touched"
	run git diff --stat
	assert_output --partial "README.md | 1 +"
	[ ! -e up.txt ]
}

@test "sync: after the PR is merged it checks out the base and fast-forwards it" {
	forge_repo
	git switch -q -c work
	upstream_change up.txt merged-result
	write ../wf.yaml <<'Y'
name: sy
variables: {pr_merged: true, base: main}
steps:
  - id: s
    action: sync
Y
	run wf run ../wf.yaml --yes
	assert_success
	assert_output --partial "on 'main' at"
	assert_output --partial "up to date with origin/main (the pull request is merged)"
	run git rev-parse --abbrev-ref HEAD
	assert_output main
	[ "$(git rev-parse HEAD)" = "$(origin_git rev-parse main)" ]
}

@test "sync: a local base with its own commits is not reset: the run waits" {
	forge_repo
	printf 'local\n' > l.txt
	git add l.txt
	git commit -q -m local
	upstream_change up.txt other
	write ../wf.yaml <<'Y'
name: sy
steps:
  - id: s
    action: sync
Y
	run wf run ../wf.yaml --yes
	assert_failure 3
	assert_output --partial "sync: local 'main' has commits that are not on origin/main, so it cannot be fast-forwarded; nothing was changed"
	run git log -1 --format=%s
	assert_output local
}

@test "S06: a branch name from a variable or a model never reaches git as an option" {
	forge_repo
	fake_forge_start
	printf 'x\n' >> README.md
	git commit -q -am x
	write ../wf.yaml <<'Y'
name: inj
steps:
  - id: p
    action: create-pr
    branch: "${b}"
    title: t
    body: b
Y
	while IFS= read -r bad; do
		run wf run ../wf.yaml --yes --restart --var "b=$bad"
		assert_failure 1
		assert_output --partial "invalid branch name '$bad' (git check-ref-format refuses it)"
	done <<-T
	--upload-pack=touch $BATS_TEST_TMPDIR/pwned
	-b
	a..b
	x y
	refs/heads/../../etc
	@{-1}
	T
	[ ! -e "$BATS_TEST_TMPDIR/pwned" ]
	[ ! -e pwned ]
	run forge_state '.pulls | length'
	assert_output 0
	run git branch --list
	assert_output "* main"
}

@test "git actions: no repository, no remote, detached HEAD: each its own message" {
	wf=$BATS_TEST_TMPDIR/wf.yaml
	write "$wf" <<'Y'
name: g
steps:
  - id: c
    action: commit-push
    message: m
Y
	# wf-run checks before any step runs; wf-step alone says the same.
	run wf run "$wf" --yes
	assert_failure 65
	assert_output --partial "this workflow has git steps, but the current directory is not in a git repository"
	run sh -c "jq -nc --arg cwd '$PWD' '{step: {id: \"c\", action: \"commit-push\", message: \"m\"}, run: {cwd: \$cwd}}' | wf-step"
	assert_failure 1
	assert_output --partial '"exit_code":65'
	assert_output --partial "is not in a git repository"
	git init -q -b main r
	cd r
	run wf run "$wf" --yes --restart
	assert_failure 1
	assert_output --partial "the repository has no remote 'origin' to push to (git remote add origin URL)"
	forge_repo
	git checkout -q --detach
	run wf run "$wf" --yes --restart
	assert_failure 1
	assert_output --partial "HEAD is detached: check out a branch to commit to"
}
