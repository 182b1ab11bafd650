/* fuzz-step-request: what wf-step reads on stdin, up to the point it would run the step. */
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_json(data, size, wf_step_request_check);
}
