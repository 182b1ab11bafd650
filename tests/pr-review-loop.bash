# The seed's pr-review-loop scripted on the fake provider, for the tests
# that run it (tests/7030-pr-review-loop.bats, tests/5300-replay.bats).
# Load it after fake-provider.

# The provider's script: the glm review rejects, the gpt review approves.
script_reject_then_approve() {
	local patch
	patch=$(printf -- '--- a/greet.py\n+++ b/greet.py\n@@ -3,2 +3,2 @@\n def farewell(name):\n-    return "bye " + name\n+    return "goodbye " + name\n')
	jq -n --arg patch "$patch" '[
	 {"match": {"prompt_contains": "Write a title and a description"},
	  "text": "{\"title\": \"Add farewell\", \"body\": \"Adds farewell().\"}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "glm-test"},
	  "text": "{\"approved\": false, \"summary\": \"Say goodbye, not bye.\", \"comments\": [{\"path\": \"greet.py\", \"line\": 4, \"body\": \"use goodbye\"}]}"},
	 {"match": {"prompt_contains": "Review the pull request below", "model": "gpt-test"},
	  "text": "Here is my review:\n```json\n{\"approved\": true, \"summary\": \"Looks good now.\", \"comments\": []}\n```"},
	 {"match": {"prompt_contains": "Change the code to address the review"},
	  "text": ("Here is the patch:\n```diff\n" + $patch + "\n```\n")},
	 {"match": {"prompt_contains": "Write a git commit message"}, "text": "Say goodbye in farewell()"},
	 {"match": {"prompt_contains": "Write a self-review comment"}, "text": "Changed bye to goodbye, as the review asked."}
	]' > "$BATS_TEST_TMPDIR/script.json"
}
