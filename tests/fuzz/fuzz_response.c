/*
 * fuzz_response: the CGI response parser (gateway/response.c and
 * actions.c) on arbitrary handler output, headers and body alike: the
 * header form, the actions form and batch answers. Each input is parsed
 * the way gateway.c parses a handler's stdout, limits included; what
 * comes out is checked against response.h (expect.c), a batch
 * answer is split into entries, and everything is freed, so the leak
 * check at exit finds whatever a path forgot.
 */
#include "driver.h"
#include "expect.h"
#include "response.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct response	*r;
	size_t		 k;

	r = expect_parse((const char *)data, size);
	if (r != NULL && response_is_batch(r)) {
		/*
		 * The handler's own Torpor-Batch, bounded as gateway.c
		 * bounds its next batch, stands for the number of events.
		 */
		k = r->batch < 1 ? 1 : (size_t)r->batch > EXPECT_BATCH_MAX ?
		    EXPECT_BATCH_MAX : (size_t)r->batch;
		expect_batch(r, k);
	}
	response_free(r);
	return 0;
}
