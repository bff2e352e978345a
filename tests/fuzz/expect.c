/*
 * expect: the promises of response.h, as checks the fuzz targets run on
 * whatever the parser returns. Each check is one line of the header's
 * wording (data followed by a NUL, a reason never NULL, tags within the
 * limits...), so a crash here names the promise that broke.
 */
#include <string.h>

#include "actions.h"
#include "driver.h"
#include "expect.h"
#include "response.h"
#include "xmalloc.h"

/*
 * The gateway's defaults, but 1 KiB of attachment instead of 16: inputs
 * within libFuzzer's default 4 KiB reach that limit too.
 */
const struct response_limits expect_limits = {
	.max_attachment = 1024,
	.max_tags = 10,
	.max_tag_len = 256,
};

/* A tag as actions.h describes it: visible ASCII, no ',', within limits. */
static void
expect_tag(const char *tag)
{
	size_t	i, len = strlen(tag);

	FUZZ_EXPECT(len > 0 && len <= expect_limits.max_tag_len);
	for (i = 0; i < len; i++)
		FUZZ_EXPECT(tag[i] > 0x20 && tag[i] < 0x7f && tag[i] != ',');
}

/* Who an action goes to: a name exactly when the target needs one. */
static void
expect_target(const struct action *a)
{
	int	named = a->target == TARGET_CONNECTION ||
		    a->target == TARGET_TAG;

	FUZZ_EXPECT(a->target == TARGET_SENDER || named ||
	    a->target == TARGET_OBJECT);
	FUZZ_EXPECT((a->target_name != NULL) == named);
	if (a->target_name != NULL)
		FUZZ_EXPECT(a->target_name[0] != '\0');
	if (a->target == TARGET_TAG)
		expect_tag(a->target_name);
	/* "except" only where a send reaches more than one connection. */
	if (a->except != NULL)
		FUZZ_EXPECT(a->type == ACTION_SEND &&
		    (a->target == TARGET_TAG || a->target == TARGET_OBJECT));
}

static void
expect_action(const struct action *a)
{
	size_t	i;

	expect_target(a);
	switch (a->type) {
	case ACTION_SEND:
		FUZZ_EXPECT(a->data != NULL && a->data[a->len] == '\0');
		if (!a->binary)
			FUZZ_EXPECT(actions_utf8_valid(a->data, a->len));
		break;
	case ACTION_ATTACHMENT:
		FUZZ_EXPECT(a->data == NULL ? a->len == 0 :
		    a->len > 0 && a->data[a->len] == '\0');
		FUZZ_EXPECT(a->len <= expect_limits.max_attachment);
		break;
	case ACTION_CLOSE:
		FUZZ_EXPECT(actions_close_code_valid(a->close_code));
		FUZZ_EXPECT(a->reason != NULL && strlen(a->reason) <= 123);
		FUZZ_EXPECT(actions_utf8_valid(a->reason, strlen(a->reason)));
		break;
	case ACTION_TAGS:
		FUZZ_EXPECT(a->ntags <= expect_limits.max_tags);
		FUZZ_EXPECT(a->ntags == 0 || a->tags != NULL);
		for (i = 0; i < a->ntags; i++)
			expect_tag(a->tags[i]);
		break;
	case ACTION_ALARM:
		FUZZ_EXPECT(a->alarm_ms >= -1 && a->target == TARGET_OBJECT);
		break;
	default:
		FUZZ_EXPECT(!"an action type response.h does not name");
	}
}

void
expect_response(const struct response *r)
{
	size_t	i;

	FUZZ_EXPECT(r->status >= 100 && r->status <= 599);
	FUZZ_EXPECT(r->batch >= 0);
	FUZZ_EXPECT(r->nactions == 0 || r->actions != NULL);
	for (i = 0; i < r->nactions; i++)
		expect_action(&r->actions[i]);
	FUZZ_EXPECT(response_reason(r) != NULL);
	/* A batch answer has no actions of its own. */
	if (response_is_batch(r))
		FUZZ_EXPECT(r->nactions == 0);
}

struct response *
expect_parse(const char *data, size_t len)
{
	struct response	 sentinel, *r = &sentinel;
	const char	*cause = NULL;
	int		 err;

	err = response_parse(data, len, EXPECT_NOW_MS, &expect_limits, &r,
	    &cause);
	FUZZ_EXPECT(response_strerror(err) != NULL);
	if (err != 0) {
		FUZZ_EXPECT(err == RESPONSE_EHEADER || err == RESPONSE_ESTATUS ||
		    err == RESPONSE_EACTIONS || err == RESPONSE_ELIMIT ||
		    err == RESPONSE_EVALUE);
		/* *out left alone, *cause names the problem. */
		FUZZ_EXPECT(r == &sentinel && cause != NULL);
		return NULL;
	}
	FUZZ_EXPECT(r != NULL && r != &sentinel);
	expect_response(r);
	return r;
}

int
expect_batch(const struct response *r, size_t k)
{
	struct response	**entries;
	const char	 *cause = NULL;
	size_t		  i;
	int		  err;

	FUZZ_EXPECT(k >= 1 && k <= EXPECT_BATCH_MAX);
	/* Exactly k slots: ASan sees a write past the last one. */
	entries = xcalloc(k, sizeof *entries);
	err = response_batch(r, k, EXPECT_NOW_MS, &expect_limits, entries,
	    &cause);
	if (err != 0) {
		FUZZ_EXPECT(err == RESPONSE_EACTIONS || err == RESPONSE_ELIMIT);
		FUZZ_EXPECT(cause != NULL);
	} else {
		FUZZ_EXPECT(response_is_batch(r));
		for (i = 0; i < k; i++) {
			FUZZ_EXPECT(entries[i] != NULL);
			expect_response(entries[i]);
			FUZZ_EXPECT(!response_is_batch(entries[i]));
			response_free(entries[i]);
		}
	}
	free(entries);
	return err;
}
