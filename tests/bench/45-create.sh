#!/bin/sh
# Building and sharing workflows: wf templates, wf create from a template,
# a sub-workflow step, wf export and wf import, each the mean of 50 calls,
# against wf validate of the same template (the validator every one of
# them runs) and against a plain shell step.
. "$(dirname "$0")/../bench-lib.sh"

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

validate=$(bench_mean_ms 50 wf validate test-fix-loop)
list=$(bench_mean_ms 50 wf templates)
create=$(bench_mean_ms 50 wf create made --template test-fix-loop --force)
export=$(bench_mean_ms 50 wf export parent -o bundle.json --force)
mkdir other && cd other
import=$(bench_mean_ms 50 wf import ../bundle.json --force)
cd ..
flat=$(bench_mean_ms 50 wf run flat --yes --quiet --restart)
sub=$(bench_mean_ms 50 wf run parent --yes --quiet --restart)
echo "wf templates (9 templates): $list ms vs wf validate of one: $validate ms = $(bench_ratio "$list" "$validate") x"
echo "wf create --template test-fix-loop: $create ms vs wf validate of it: $validate ms = $(bench_ratio "$create" "$validate") x"
echo "wf export (a workflow and the one it calls): $export ms vs wf validate: $validate ms = $(bench_ratio "$export" "$validate") x"
echo "wf import of that bundle: $import ms vs wf validate: $validate ms = $(bench_ratio "$import" "$validate") x"
echo "a run whose one step calls a one-step workflow: $sub ms vs a run of two shell steps: $flat ms = $(bench_ratio "$sub" "$flat") x"
