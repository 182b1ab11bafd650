# A fake GitHub (tests/fakes/fake-forge.py) and a real git repository for
# bats tests.  Load it after helpers:   load helpers; load fake-forge
#
#   forge_repo [DIR]           a bare repository $BATS_TEST_TMPDIR/origin.git
#                              with one commit on main, cloned into DIR
#                              (default $WORK/repo), with a user identity;
#                              sets ORIGIN and REPO, and cds into REPO
#   fake_forge_start [ARGS]    serve ORIGIN on 127.0.0.1 (a free port) as
#                              acme/widgets; exports GITHUB_API_URL,
#                              GH_TOKEN (random), WF_FORGE_REPO, FORGE_URL,
#                              FORGE_LOG; ARGS go to fake-forge.py
#                              (e.g. --allow-self-review)
#   fake_forge_stop            stop it (teardown does this)
#   forge_state [JQ]           the forge's state (PRs, comments, reviews),
#                              filtered through jq JQ
#   forge_fault JSON           inject a fault (see fake-forge.py)
#   forge_requests [JQ]        the requests it got, one JSON per line
#   origin_git ARGS...         git in the bare repository

FAKE_FORGE_PY="$REPO_ROOT/tests/fakes/fake-forge.py"
FORGE_PYTHON=$( [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || command -v python3)

# The template repositories, made once per test file (tests may run in parallel).
forge_template() {
	local tpl="$BATS_FILE_TMPDIR/forge-template" seed i
	if mkdir "$tpl.lock" 2>/dev/null; then
		seed="$tpl/seed"
		mkdir -p "$tpl"
		git init -q --bare -b main "$tpl/origin.git"
		git init -q -b main "$seed"
		git -C "$seed" config user.name "Seed"
		git -C "$seed" config user.email "seed@example.invalid"
		printf 'def greet(name):\n    return "hello " + name\n' > "$seed/greet.py"
		printf '# widgets\n' > "$seed/README.md"
		git -C "$seed" add -A
		git -C "$seed" commit -q -m "initial commit"
		git -C "$seed" push -q "$tpl/origin.git" main
		git clone -q "$tpl/origin.git" "$tpl/repo"
		git -C "$tpl/repo" config user.name "Wf Test"
		git -C "$tpl/repo" config user.email "wf@example.invalid"
		touch "$tpl/done"
	fi
	for i in $(seq 1 600); do
		[ -e "$tpl/done" ] && return 0
		sleep 0.05
	done
	echo "forge template not ready" >&2
	return 1
}

forge_repo() {
	local dir=${1:-$WORK/repo} tpl="$BATS_FILE_TMPDIR/forge-template"
	forge_template
	ORIGIN="$BATS_TEST_TMPDIR/origin.git"
	cp -a "$tpl/origin.git" "$ORIGIN"
	cp -a "$tpl/repo" "$dir"
	git -C "$dir" remote set-url origin "$ORIGIN"
	REPO=$dir
	export ORIGIN REPO
	cd "$REPO"
}

origin_git() {
	git --git-dir "$ORIGIN" "$@"
}

fake_forge_start() {
	local dir="$BATS_TEST_TMPDIR/fake-forge" i
	mkdir -p "$dir"
	rm -f "$dir/port"
	GH_TOKEN="ghp_test$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	export GH_TOKEN
	unset GITHUB_TOKEN
	# fd 3 closed: bats would otherwise wait for the server to exit.
	"$FORGE_PYTHON" "$FAKE_FORGE_PY" --git-dir "$ORIGIN" --owner acme --repo widgets \
		--token "$GH_TOKEN" --port-file "$dir/port" --log "$dir/requests.jsonl" "$@" \
		</dev/null >"$dir/out" 2>&1 3>&- &
	echo $! > "$dir/pid"
	for i in $(seq 1 400); do
		[ -s "$dir/port" ] && break
		if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
			echo "fake forge did not start:" >&2
			cat "$dir/out" >&2
			return 1
		fi
		sleep 0.025
	done
	[ -s "$dir/port" ] || { echo "fake forge wrote no port" >&2; return 1; }
	FORGE_URL="http://127.0.0.1:$(cat "$dir/port")"
	FORGE_LOG="$dir/requests.jsonl"
	GITHUB_API_URL=$FORGE_URL
	WF_FORGE_REPO=acme/widgets
	export FORGE_URL FORGE_LOG GITHUB_API_URL WF_FORGE_REPO
}

fake_forge_stop() {
	local dir="$BATS_TEST_TMPDIR/fake-forge" pid
	[ -f "$dir/pid" ] || return 0
	pid=$(cat "$dir/pid")
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	rm -f "$dir/pid"
}

forge_state() {
	curl -sf "$FORGE_URL/_fake/state" | jq -c "${1:-.}"
}

forge_fault() {
	curl -sf -X POST -H 'Content-Type: application/json' --data "$1" "$FORGE_URL/_fake/fault" >/dev/null
}

forge_requests() {
	jq -c "${1:-.}" "$FORGE_LOG"
}
