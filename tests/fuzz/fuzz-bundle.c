/* fuzz-bundle: what "wf import -" reads on stdin, checked as it is before anything is written. */
#include "fuzz.h"
#include "share.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_json(data, size, wf_share_check);
}
