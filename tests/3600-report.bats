#!/usr/bin/env bats
# wf report RUN: one self-contained HTML page about a run (wf-view(1)
# "Report").  What is on the page, what never is (a secret, an unescaped
# byte of a step's output, anything that loads from elsewhere), where it
# is written and when it is not, and, in headless Chromium, that a phone
# and a desktop window show its header, graph and timeline with no
# console error and no network request, and that it prints.
#
# The Chromium tests keep their screenshots (phone.png, desktop.png: the
# first screen; phone-full.png, desktop-full.png: the whole page),
# the printed PDF and the page under build/test-artifacts/3600-report/
# (gitignored, like all of build/), one directory per test, replaced by
# each run of this file.
load helpers
load fake-forge
load fake-provider

ARTIFACTS="$REPO_ROOT/build/test-artifacts/3600-report"

teardown() {
	fake_forge_stop
	fake_provider_stop_all
}

# A workflow of shell steps, file f.yaml, run to its end (or its first stop).
run_steps() {
	printf 'name: f\nsteps:\n' > f.yaml
	cat >> f.yaml
	run wf run f.yaml --yes
}

# The page of run $1 on standard output, drawn without Graphviz (PATH holds only wf's programs).
page() {
	PATH="$WF_BIN" wf report "$@" -o -
}

# Open page $1 in headless Chromium, keeping what it saw in $ARTIFACTS/$2; its JSON in $output.
chromium_view() {
	[ -x /usr/bin/chromium ] || skip "Chromium is not installed (/usr/bin/chromium; 'make deps' installs it)"
	rm -rf "${ARTIFACTS:?}/$2"
	mkdir -p "$ARTIFACTS/$2"
	cp "$1" "$ARTIFACTS/$2/page.html"
	CHROMIUM_RUN=$2
	run python3 "$REPO_ROOT/tests/fakes/cdp.py" "$ARTIFACTS/$2/page.html" "$ARTIFACTS/$2"
	assert_success
}

# The page the browser saw ($output) is clean and its three parts are in view on both windows.
assert_seen() {
	local v=$output
	[ "$(jq -c .errors <<<"$v")" = "[]" ] || { echo "console errors: $(jq -c .errors <<<"$v")" >&2; return 1; }
	[ "$(jq -c .requests <<<"$v")" = "[]" ] || { echo "network requests: $(jq -c .requests <<<"$v")" >&2; return 1; }
	for w in phone desktop; do
		# No horizontal scrolling, and each part has a size and fits the window's width.
		jq -e --arg w "$w" '.[$w] | .scroll_width <= .width' <<<"$v" >/dev/null
		for part in header graph timeline; do
			jq -e --arg w "$w" --arg p "$part" '.[$w] as $v | $v.boxes[$p] |
				. != null and .width > 0 and .height > 0 and .x >= 0 and .x + .width <= $v.width + 0.5' <<<"$v" >/dev/null ||
				{ echo "$part not in view on the $w: $(jq -c --arg w "$w" '.[$w]' <<<"$v")" >&2; return 1; }
		done
	done
	# The header is at the top, in the first screen of the phone.
	jq -e '.phone.boxes.header.y < 844' <<<"$v" >/dev/null
	# The whole-page screenshots hold all three: each part ends within the page's height.
	for w in phone desktop; do
		jq -e --arg w "$w" '.[$w] as $v | all($v.boxes[]; .y + .height <= $v.full_height + 0.5)' <<<"$v" >/dev/null
		assert_png "$ARTIFACTS/$CHROMIUM_RUN/$w-full.png"
	done
	jq -e '.pdf_bytes > 1000' <<<"$v" >/dev/null
}

# Screenshot $1 is a PNG of some substance.
assert_png() {
	[ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
	[ "$(stat -c %s "$1")" -gt 5000 ]
}

@test "report: a completed run's page has its header, graph, timeline and every step's outputs, and loads nothing" {
	run_steps <<'Y'
  - id: hello
    action: shell
    command: 'echo hello out; echo hello err >&2'
  - id: bye
    action: shell
    command: echo bye
Y
	assert_success
	run page f
	assert_success
	assert_output --partial '<meta http-equiv="Content-Security-Policy" content="default-src '"'none'"'; style-src '"'unsafe-inline'"'; img-src data:">'
	assert_output --partial '<header id="run"><h1>f <small>run f #1</small></h1><p><span class="st st-completed">completed</span>'
	assert_output --partial '<dt>exit code</dt><dd>0</dd>'
	assert_output --partial 'graph drawn by wf; install graphviz for a better one'
	assert_output --partial '<section id="timeline">'
	assert_output --partial '<p class="stream">stdout</p><pre>hello out'
	assert_output --partial '<p class="stream">stderr</p><pre>hello err'
	assert_output --partial '<pre>bye'
	# Two executions, two bars, one of them the longest.
	[ "$(grep -c 'class="exec"' <<<"$output")" -eq 2 ]
	[ "$(grep -c 'class="track"' <<<"$output")" -eq 2 ]
	# Nothing that runs or loads: no script, no link, no src or url() but data:.
	refute_output --partial '<script'
	refute_output --partial '<link'
	refute_output --regexp 'src="[^d]|url\([^#]'
}

@test "report: a step's <script>, </pre>, & and quotes are text on the page, in the outputs, the header and the graph" {
	run_steps <<'Y'
  - id: nasty
    action: shell
    command: |
      printf '%s\n' '<script>alert(1)</script> </pre><b>x</b> & "q" '"'s'"
      printf '%s\n' '<img src=x onerror=alert(2)>' >&2
      exit 1
Y
	assert_failure 1
	run page f
	assert_success
	assert_output --partial '<pre>&lt;script&gt;alert(1)&lt;/script&gt; &lt;/pre&gt;&lt;b&gt;x&lt;/b&gt; &amp; &quot;q&quot; &#39;s&#39;'
	assert_output --partial '<pre>&lt;img src=x onerror=alert(2)&gt;'
	refute_output --partial '<script'
	refute_output --partial '<img'
	refute_output --partial '<b>x'
	# The same with Graphviz drawing the graph (when it is installed).
	if command -v dot >/dev/null; then
		run wf report f -o -
		assert_success
		assert_output --partial 'graph drawn by Graphviz dot'
		refute_output --partial '<script'
		refute_output --partial '<img'
	fi
}

@test "report: a secret in the environment is masked wherever the run wrote it, and never reaches the page" {
	key=sk-live-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
	# The run did not know the key (the output file holds it as it is) ...
	cat > f.yaml <<Y
name: f
steps:
  - id: leak
    action: shell
    command: 'echo "token $key here"; echo "err $key" >&2'
Y
	run wf run f.yaml --yes
	assert_success
	run step_output f leak
	assert_output "token $key here"
	# ... the report, given it, masks it in the outputs, the header and the timeline.
	OPENAI_API_KEY=$key run page f
	assert_success
	refute_output --partial "$key"
	assert_output --partial 'token *** here'
	assert_output --partial 'err ***'
	# A file written with -o, too.
	OPENAI_API_KEY=$key PATH="$WF_BIN" run wf report f -o page.html
	assert_success
	run grep -c -- "$key" page.html
	assert_output 0
}

@test "report: a failed run says so: status, exit code, the step it failed at, its stderr and error" {
	run_steps <<'Y'
  - id: fine
    action: shell
    command: echo fine
  - id: broken
    action: shell
    command: 'echo "no such thing" >&2; exit 7'
  - id: never
    action: shell
    command: echo never
Y
	assert_failure 1
	run page f
	assert_success
	assert_output --partial '<span class="st st-failed">failed</span></p>'
	assert_output --partial '<dt>exit code</dt><dd>1</dd>'
	assert_output --partial '<dt>failed at</dt><dd>broken</dd>'
	assert_output --partial '<dt>exit code</dt><dd>7</dd>'
	assert_output --partial '<pre>no such thing'
	assert_output --partial 'class="bar st-failed"'
	# The step never reached has no execution, and the graph says it was not reached.
	refute_output --partial '<pre>never'
	assert_output --partial 'not reached'
	assert_output --partial 'stroke="#b71c1c" stroke-width="3"'
}

@test "report: a run waiting for an answer shows where it stands and what ran before" {
	run_steps <<'Y'
  - id: before
    action: shell
    command: echo before
  - id: ask
    action: interactive
    message: ship it?
Y
	assert_failure 3
	run page f
	assert_success
	assert_output --partial '<span class="st st-waiting">waiting</span></p>'
	assert_output --partial '<dt>exit code</dt><dd>3</dd>'
	assert_output --partial '<dt>stands at</dt><dd>ask</dd>'
	assert_output --partial '<pre>before'
	assert_output --partial '<b>pause</b>'
	assert_output --partial 'ship it?'
}

@test "report: a loop's passes: each execution numbered, the graph counting each step's passes and each move" {
	cp "$EXAMPLES/test-loop-shell.yaml" .
	run wf run test-loop-shell.yaml --yes
	assert_success
	run page test-loop-shell
	assert_success
	# Three passes of each of four steps, in order, each with its own output.
	[ "$(grep -c 'class="exec"' <<<"$output")" -eq 12 ]
	assert_output --partial '<pre>pass 1'
	assert_output --partial '<pre>pass 3'
	assert_output --partial '<h3>s1 <small>pass 3</small>'
	refute_output --partial 'pass 4'
	# The graph: 3 passes of each step, 3 moves s1->s2, 2 moves back from s4 to s1.
	[ "$(grep -c 'ok, 3 passes' <<<"$output")" -eq 4 ]
	[ "$(grep -o '&#215;3' <<<"$output" | wc -l)" -eq 3 ]
	[ "$(grep -o '&#215;2' <<<"$output" | wc -l)" -eq 1 ]
}

@test "report: a past run by its number, the current one by name, each in a file of its own name" {
	printf 'name: f\nsteps:\n  - id: a\n    action: shell\n    command: echo first\n' > f.yaml
	wf run f.yaml --yes
	printf 'name: f\nsteps:\n  - id: a\n    action: shell\n    command: echo second\n' > f.yaml
	wf run f.yaml --yes
	run page 1
	assert_success
	assert_output --partial '<small>run f #1</small>'
	refute_output --partial '<pre>second'
	run page f
	assert_success
	assert_output --partial '<small>run f #2</small>'
	assert_output --partial '<pre>second'
	# The default file: ./wf-report-NAME-NUMBER.html, said on stderr, mode 0600.
	run wf report 1
	assert_success
	assert_output "wf-view: wrote wf-report-f-1.html ($(stat -c %s wf-report-f-1.html) bytes; graph drawn by $(command -v dot >/dev/null && echo Graphviz dot || echo wf))"
	run stat -c %a wf-report-f-1.html
	assert_output 600
	grep -q '<small>run f #1</small>' wf-report-f-1.html
}

@test "report: an existing file is replaced only with --force; -o into a missing directory, a directory, or no run at all fail" {
	run_steps <<< '  - {id: a, action: shell, command: echo a}'
	assert_success
	echo mine > keep.html
	run wf report f -o keep.html
	assert_failure 2
	assert_output "wf-view: 'keep.html' exists; give --force to replace it"
	run cat keep.html
	assert_output mine
	run wf report f -o keep.html --force
	assert_success
	grep -q '<!DOCTYPE html>' keep.html
	# A symlink is replaced, not followed.
	echo target > target.txt
	ln -s target.txt link.html
	run wf report --force -o link.html f
	assert_success
	[ ! -L link.html ]
	run cat target.txt
	assert_output target
	run wf report f -o no/such/dir/r.html
	assert_failure 66
	assert_output --partial "cannot write 'no/such/dir/r.html'"
	mkdir d
	run wf report f -o d
	assert_failure 2
	assert_output "wf-view: 'd' is a directory; -o takes a file name"
	run wf report nope
	assert_failure 66
	assert_output --partial "no run named 'nope'"
	run wf report 99
	assert_failure 66
	run wf report '../f'
	assert_failure 65
	run wf report
	assert_failure 2
	assert_output "usage: wf report RUN [-o FILE|-] [--force]"
	run wf report f g
	assert_failure 2
	run wf-view report f --bogus
	assert_failure 2
	assert_output --partial "usage: wf-view report RUN [-o FILE|-] [--force]"
	# No page left behind by any of them.
	run sh -c 'ls | grep -c "^wf-report-"'
	assert_output 0
}

@test "report: a step's long output is cut at 64 KiB on a whole character, with the wf logs command that shows it all" {
	run_steps <<'Y'
  - id: big
    action: shell
    command: 'yes é | head -c 200000; echo; echo "THE-$((1 + 1))-END"'
Y
	assert_success
	run page f
	assert_success
	assert_output --partial 'truncated: the first 65535 of 200011 bytes'
	assert_output --partial 'see <code>wf logs f big --pass 1</code> for all of it'
	refute_output --partial 'THE-2-END'
	# The page stays bounded, and every byte of it is UTF-8.
	[ "${#output}" -lt 100000 ]
	page f | iconv -f UTF-8 -t UTF-8 > /dev/null
}

@test "report: Graphviz draws the graph when dot is on PATH; wf draws it, and says so, when dot is missing or fails" {
	command -v dot >/dev/null || skip "Graphviz is not installed ('make deps' installs it)"
	cp "$EXAMPLES/test-loop-shell.yaml" .
	wf run test-loop-shell.yaml --yes
	run wf report test-loop-shell -o -
	assert_success
	assert_output --partial 'graph drawn by Graphviz dot'
	assert_output --partial 'class="graph"'
	refute_output --partial '<?xml'
	refute_output --partial '<!DOCTYPE svg'
	run page test-loop-shell
	assert_output --partial 'graph drawn by wf; install graphviz for a better one'
	refute_output --partial 'class="graph"'
	# A dot that fails: the page is still whole, drawn by wf, saying why.
	mkdir fakebin
	printf '#!/bin/sh\necho "dot: out of ink" >&2\nexit 3\n' > fakebin/dot
	chmod +x fakebin/dot
	PATH="$PWD/fakebin:$WF_BIN" run wf report test-loop-shell -o -
	assert_success
	assert_output --partial 'graph drawn by wf, as Graphviz dot could not:'
	assert_output --partial 'dot: out of ink'
	assert_output --partial '</html>'
}

@test "report in Chromium: the browser harness sees a console error and a request for the network when a page has them" {
	[ -x /usr/bin/chromium ] || skip "Chromium is not installed (/usr/bin/chromium; 'make deps' installs it)"
	printf '<!DOCTYPE html><html><body><header id="run">h</header><img src="http://127.0.0.1:9/x.png"><script>throw new Error("boom")</script></body></html>' > bad.html
	chromium_view bad.html harness-check
	jq -e '.requests | map(select(startswith("http://127.0.0.1:9/"))) | length == 1' <<<"$output"
	jq -e '.errors | map(select(test("boom"))) | length == 1' <<<"$output"
	jq -e '.phone.boxes.graph == null' <<<"$output"
}

@test "report in Chromium: a loop's page, on a phone and a desktop, with no console error and no request; it prints" {
	cp "$EXAMPLES/test-loop-shell.yaml" .
	printf '  - id: wide\n    action: shell\n    command: "printf %%0300d 0; echo; echo \\"<script>alert(1)</script>\\""\n' >> test-loop-shell.yaml
	run wf run test-loop-shell.yaml --yes
	assert_success
	run wf report test-loop-shell -o page.html
	assert_success
	chromium_view page.html loop
	assert_seen
	assert_png "$ARTIFACTS/loop/phone.png"
	assert_png "$ARTIFACTS/loop/desktop.png"
	[ "$(head -c 5 "$ARTIFACTS/loop/print.pdf")" = "%PDF-" ]
	# The same page with wf's own graph.
	PATH="$WF_BIN" run wf report test-loop-shell -o own.html
	assert_success
	chromium_view own.html loop-own-graph
	assert_seen
	assert_png "$ARTIFACTS/loop-own-graph/phone.png"
}

@test "report: the seed's pr-review-loop, reviewed twice and merged: models, tokens, cost and verdicts on the page, the key nowhere" {
	forge_repo
	fake_forge_start
	printf 'def farewell(name):\n    return "bye " + name\n' >> greet.py
	git commit -q -am "Add farewell"
	patch=$(printf -- '--- a/greet.py\n+++ b/greet.py\n@@ -3,2 +3,2 @@\n def farewell(name):\n-    return "bye " + name\n+    return "goodbye " + name\n')
	jq -n --arg patch "$patch" '[
	 {"match": {"prompt_contains": "Write a title and a description"}, "text": "{\"title\": \"Add farewell\", \"body\": \"Adds farewell().\"}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "glm-test"},
	  "text": "{\"approved\": false, \"summary\": \"Say goodbye, not bye.\", \"comments\": [{\"path\": \"greet.py\", \"line\": 4, \"body\": \"use goodbye\"}]}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "gpt-test"},
	  "text": "{\"approved\": true, \"summary\": \"Looks good now.\", \"comments\": []}"},
	 {"match": {"prompt_contains": "Change the code to address the review"}, "text": ("```diff\n" + $patch + "\n```\n")},
	 {"match": {"prompt_contains": "Write a git commit message"}, "text": "Say goodbye in farewell()"},
	 {"match": {"prompt_contains": "Write a self-review comment"}, "text": "Changed bye to goodbye."}
	]' > "$BATS_TEST_TMPDIR/script.json"
	fake_provider_start "$BATS_TEST_TMPDIR/script.json"
	fake_models "$BATS_TEST_TMPDIR/models.yaml"
	sed -i 's/^models:$/models:\n  glm: {provider: fake-openai, model: glm-test}/' "$WF_MODELS"
	run wf run "$EXAMPLES/pr-review-loop.yaml" --yes
	assert_success
	run wf report pr-review-loop -o loop.html
	assert_success
	run cat loop.html
	assert_output --partial '<span class="st st-completed">completed</span>'
	assert_output --partial '<dt>models</dt><dd>'
	assert_output --regexp '<dt>tokens</dt><dd>[1-9][0-9]* input / [1-9][0-9]* output</dd>'
	assert_output --partial '<dt>verdict</dt><dd>rejected</dd>'
	assert_output --partial '<dt>verdict</dt><dd>approved</dd>'
	refute_output --partial "$FAKE_API_KEY"
	if [ -x /usr/bin/chromium ]; then
		chromium_view loop.html pr-review-loop
		assert_seen
		assert_png "$ARTIFACTS/pr-review-loop/desktop.png"
	fi
	# The figure the issue asks for: the page's size, kept with the screenshots.
	mkdir -p "$ARTIFACTS/pr-review-loop"
	cp loop.html "$ARTIFACTS/pr-review-loop/page.html"
	stat -c %s loop.html > "$ARTIFACTS/pr-review-loop/size.txt"
}

@test "completion: wf report and wf-view report offer runs by name and number, files after -o, and their options" {
	source "$REPO_ROOT/completions/wf.bash"
	printf 'name: f\nsteps:\n  - {id: a, action: shell, command: echo a}\n' > f.yaml
	wf run f.yaml --yes
	wf run f.yaml --yes
	touch out.html
	for cmd in "wf report" "wf-view report"; do
		COMP_WORDS=($cmd '') COMP_CWORD=2 COMPREPLY=()
		if [[ $cmd == wf\ * ]]; then _wf; else _wf_cmd; fi
		[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "1 f " ]
		COMP_WORDS=($cmd f -o ou) COMP_CWORD=4 COMPREPLY=()
		if [[ $cmd == wf\ * ]]; then _wf; else _wf_cmd; fi
		[ "${COMPREPLY[*]}" = out.html ]
		COMP_WORDS=($cmd f -) COMP_CWORD=3 COMPREPLY=()
		if [[ $cmd == wf\ * ]]; then _wf; else _wf_cmd; fi
		[ "$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')" = "--force --help -o " ]
		# After the run, only options.
		COMP_WORDS=($cmd f '') COMP_CWORD=3 COMPREPLY=()
		if [[ $cmd == wf\ * ]]; then _wf; else _wf_cmd; fi
		[ "${#COMPREPLY[@]}" -eq 0 ]
	done
}
