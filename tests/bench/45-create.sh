#!/bin/sh
# Building and sharing workflows: wf templates, wf create from a template,
# a sub-workflow step, wf export and wf import, each the mean of 50 calls,
# against wf validate of the same template (the validator every one of
# them runs) and against a plain shell step.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export WF_STATE_DIR="$tmp/state"
mkdir "$tmp/project"
cd "$tmp/project"

now_ms() { date +%s%3N; }

# Mean milliseconds of 50 runs of the command "$@", output discarded.
mean_ms() {
	t0=$(now_ms)
	i=0
	while [ $i -lt 50 ]; do "$@" > /dev/null 2>&1; i=$((i + 1)); done
	t1=$(now_ms)
	echo "$t0 $t1" | awk '{ printf "%.2f", ($2 - $1) / 50 }'
}

ratio() { echo "$1 $2" | awk '{ printf "%.1f", $1 / ($2 > 0 ? $2 : 0.01) }'; }

mkdir workflows
cat > workflows/child.yaml <<'Y'
name: child
inputs:
  who: {description: Whom to greet}
outputs:
  greeting: "hello ${who}"
steps:
  - {id: a, action: shell, command: "true"}
Y
cat > workflows/parent.yaml <<'Y'
name: parent
steps:
  - {id: call, action: workflow, workflow: child, with: {who: x}}
Y
cat > workflows/flat.yaml <<'Y'
name: flat
steps:
  - {id: a, action: shell, command: "true"}
  - {id: b, action: shell, command: "true"}
Y
wf create made --template test-fix-loop > /dev/null 2>&1
wf export parent -o bundle.json > /dev/null 2>&1

validate=$(mean_ms wf validate test-fix-loop)
list=$(mean_ms wf templates)
create=$(mean_ms wf create made --template test-fix-loop --force)
export=$(mean_ms wf export parent -o bundle.json --force)
mkdir other && cd other
import=$(mean_ms wf import ../bundle.json --force)
cd ..
flat=$(mean_ms wf run flat --yes --quiet --restart)
sub=$(mean_ms wf run parent --yes --quiet --restart)
echo "wf templates (9 templates): $list ms vs wf validate of one: $validate ms = $(ratio "$list" "$validate") x"
echo "wf create --template test-fix-loop: $create ms vs wf validate of it: $validate ms = $(ratio "$create" "$validate") x"
echo "wf export (a workflow and the one it calls): $export ms vs wf validate: $validate ms = $(ratio "$export" "$validate") x"
echo "wf import of that bundle: $import ms vs wf validate: $validate ms = $(ratio "$import" "$validate") x"
echo "a run whose one step calls a one-step workflow: $sub ms vs a run of two shell steps: $flat ms = $(ratio "$sub" "$flat") x"
