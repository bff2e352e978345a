/*
 * actions: builds the action list of a struct response (response.h) with
 * the checks both response forms share, and parses the actions form, the
 * JSON array sent with Content-Type: application/vnd.torpor+json. Only
 * response.c calls in here; the gateway sees struct response alone.
 * Errors are response.h's RESPONSE_E* codes, named by response_strerror.
 */
#ifndef ACTIONS_H
#define ACTIONS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "response.h"

/*
 * One parse in progress: where the actions go and what the checks need.
 * The caller zeroes it and sets r, limits and now_ms; the functions below
 * grow r->actions (which r owns, freed by response_free) and keep cap.
 */
struct actions_ctx {
	struct response			*r;
	size_t				 cap;	 /* allocated in r->actions */
	const struct response_limits	*limits; /* never NULL */
	int64_t				 now_ms; /* resolves relative alarms */
	const char			*cause;	 /* first problem, static */
};

/*
 * Records cause unless an earlier problem was recorded already, so the
 * caller learns the first one. @return err, for "return actions_fail(...)".
 */
int	actions_fail(struct actions_ctx *ctx, int err, const char *cause);
/*
 * Appends a zeroed action of this type and target. @return the action,
 * valid until the next actions_push (which may move the array).
 */
struct action *actions_push(struct actions_ctx *ctx, enum action_type type,
	    enum action_target target);
/*
 * Appends p[0..len) to a TAGS action. @return 0; bad if the tag is empty
 * or has a byte other than visible ASCII or a ','; RESPONSE_ELIMIT if it
 * is longer than limits->max_tag_len or one too many.
 */
int	actions_tags_add(struct actions_ctx *ctx, struct action *a,
	    const char *p, size_t len, int bad);
/*
 * Sets an ATTACHMENT action's value to a copy of p[0..len); p NULL or len
 * 0 leaves it cleared. @return 0, or RESPONSE_ELIMIT over max_attachment.
 */
int	actions_attachment_set(struct actions_ctx *ctx, struct action *a,
	    const char *p, size_t len);
/* Whether code may go in a close frame a handler asks for (1000, 3000-4999). */
int	actions_close_code_valid(int64_t code);
/*
 * Checks a close reason: UTF-8 and at most 123 bytes, so it fits in a
 * close frame. @return 0, or bad.
 */
int	actions_reason_check(struct actions_ctx *ctx, const char *p,
	    size_t len, int bad);
/*
 * Whether s[0..len) is strict UTF-8: no overlong forms, no surrogates,
 * nothing past U+10FFFF. @return 1 or 0.
 */
int	actions_utf8_valid(const char *s, size_t len);
/*
 * Parses body[0..len) as the actions form and appends its actions in
 * order. @return 0; RESPONSE_EACTIONS when the JSON or an action in it is
 * invalid; RESPONSE_ELIMIT when a tag or attachment is over a limit.
 * On failure ctx->cause names the problem; the actions appended so far
 * stay in r, for the caller to free with it.
 */
int	actions_parse(struct actions_ctx *ctx, const char *body, size_t len);
/* The same for an already parsed JSON array (a batch entry's "actions"). */
int	actions_parse_array(struct actions_ctx *ctx, const cJSON *array);

#endif
