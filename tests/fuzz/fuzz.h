/*
 * fuzz.h: the body shared by the libFuzzer targets over wf's JSON input.
 * The bytes are parsed as JSON as the program would (wf_json_parse) and
 * handed to CHECK, the library's check of that document; nothing is run.
 * A crash, a sanitizer report, a leak, or a refusal that is not one
 * printable line is a finding.  Built and run by 'make fuzz'.
 */
#include <sanitizer/lsan_interface.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wf_priv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
fuzz_json(const uint8_t *data, size_t size, int (*check)(jv, char *, size_t))
{
	char err[1024];
	jv doc;

	/*
	 * libjq 1.6's parser leaks a value it rejects ('{"a""b":1}' leaks
	 * "b"), which is jq's bug, not wf's.  So a first parse runs with leak
	 * checking off, only to learn whether the input is JSON at all; a
	 * document that is gets parsed again, and checked, with it on.
	 */
	__lsan_disable();
	doc = wf_json_parse((const char *)data, size, err, sizeof err);
	__lsan_enable();
	if (!jv_is_valid(doc)) {
		jv_free(doc);
		return 0;
	}
	jv_free(doc);
	doc = wf_json_parse((const char *)data, size, err, sizeof err);
	if (jv_is_valid(doc) && check(doc, err, sizeof err)) {
		if (!*err)
			abort();
		for (const unsigned char *p = (const unsigned char *)err; *p; p++)
			if (*p < 0x20)
				abort();
	}
	jv_free(doc);
	return 0;
}
