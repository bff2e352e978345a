/*
 * fuzz_actions: the actions form and batch answers (gateway/actions.c
 * through response.c) on arbitrary JSON bodies. The headers are fixed so
 * every input reaches the JSON parser: the first byte picks the form, '1'
 * to '9' a batch answer for that many events, anything else the actions
 * form; the rest of the input is the body. Each action element of an
 * accepted body must give exactly one action, checked against cJSON's
 * own count.
 */
#include <string.h>

#include <cjson/cJSON.h>

#include "driver.h"
#include "expect.h"
#include "response.h"
#include "xmalloc.h"

static const char fuzz_actions_head[] =
    "Content-Type: application/vnd.torpor+json\r\n\r\n";
static const char fuzz_batch_head[] =
    "Status: 200\r\n"
    "Content-Type: application/vnd.torpor-batch+json\r\n\r\n";

/* An accepted actions body: one action per element of its array. */
static void
fuzz_count(const struct response *r, const char *body, size_t len)
{
	cJSON	*root;

	root = cJSON_ParseWithLength(body, len);
	FUZZ_EXPECT(cJSON_IsArray(root));
	FUZZ_EXPECT((size_t)cJSON_GetArraySize(root) == r->nactions);
	cJSON_Delete(root);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct response	*r;
	const char	*head = fuzz_actions_head, *body;
	char		*whole;
	size_t		 k = 0, hlen, blen;

	if (size > 0 && data[0] >= '1' && data[0] <= '9') {
		k = (size_t)(data[0] - '0');
		head = fuzz_batch_head;
	}
	body = size > 0 ? (const char *)data + 1 : "";
	blen = size > 0 ? size - 1 : 0;
	hlen = strlen(head);
	/* Exactly the response's size: ASan sees a read past its end. */
	whole = xmalloc(hlen + blen);
	memcpy(whole, head, hlen);
	memcpy(whole + hlen, body, blen);

	r = expect_parse(whole, hlen + blen);
	if (r != NULL && k > 0) {
		FUZZ_EXPECT(response_is_batch(r) && r->nactions == 0);
		expect_batch(r, k);
	} else if (r != NULL) {
		FUZZ_EXPECT(!response_is_batch(r));
		fuzz_count(r, body, blen);
	}
	response_free(r);
	free(whole);
	return 0;
}
