/*
 * expect: what response.h promises of a parsed response, checked on every
 * response the fuzz targets get out of gateway/response.c, and the batch
 * step gateway.c takes after a batch answer. A broken promise aborts
 * (FUZZ_EXPECT), which libFuzzer reports as a crash.
 */
#ifndef EXPECT_H
#define EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include "response.h"

/* A fixed clock, so that an input replays the same way. */
#define EXPECT_NOW_MS	1700000000000LL
/* The most events gateway.c puts in one batch (its GATEWAY_BATCH_MAX). */
#define EXPECT_BATCH_MAX	64

/* The limits the parser gets: gateway/config.h's defaults, or below. */
extern const struct response_limits expect_limits;

/*
 * response_parse on data[0..len) with expect_limits at EXPECT_NOW_MS,
 * checking the result either way. @return the response (free with
 * response_free) or NULL when the parser refused it.
 */
struct response	*expect_parse(const char *data, size_t len);
/* Checks every action of r against response.h and the limits. */
void		 expect_response(const struct response *r);
/*
 * Answers a batch of k events (1..EXPECT_BATCH_MAX) with r, as
 * gateway.c does, checks the k entries on success, and frees them.
 * @return what response_batch returned.
 */
int		 expect_batch(const struct response *r, size_t k);

#endif
