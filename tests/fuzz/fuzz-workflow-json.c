/* fuzz-workflow-json: what "wf-run -" reads on stdin, up to the point it would run a step. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_json(data, size, wf_workflow_check_json);
}
