/*
 * jsonscan: a strict JSON scanner for pingpong. Checks a message against
 * JSON.parse's grammar, finds its top-level "type" and "message" strings,
 * and decodes and quotes strings the way JSON.parse and JSON.stringify
 * do, so pingpong answers exactly as the JavaScript original would.
 */
#ifndef JSONSCAN_H
#define JSONSCAN_H

#include <stddef.h>

/*
 * A JSON string token as it appears in the text, quotes included; raw
 * points into the text given to jsonscan_parse.
 */
struct jsonscan_token {
	const char	*raw;	/* NULL: absent, or the value was no string */
	size_t		 len;
};

/* What a message asks for. */
struct jsonscan_request {
	int			 object;	/* the text is a JSON object */
	struct jsonscan_token	 type;		/* its top-level "type" */
	struct jsonscan_token	 message;	/* and "message" */
};

/*
 * Checks that text[0..len) is one JSON value as JSON.parse accepts it
 * and fills *rq; a later duplicate key replaces an earlier one, as in
 * JavaScript. The tokens stay valid as long as text.
 * @return 0 when the text is JSON, -1 when not, -ENOMEM.
 */
int	jsonscan_parse(const char *text, size_t len,
	    struct jsonscan_request *rq);
/*
 * Decodes a string token from jsonscan_parse into out, which needs
 * tok->len bytes at most (out is not NUL-terminated). Surrogate pairs are
 * joined; a lone surrogate is kept as three bytes for jsonscan_quote.
 * @return the decoded length.
 */
size_t	jsonscan_decode(const struct jsonscan_token *tok, char *out);
/* @return whether the token is present and decodes to word (short). */
int	jsonscan_is(const struct jsonscan_token *tok, const char *word);
/*
 * Quotes s[0..len) the way JSON.stringify does.
 * @return a NUL-terminated string the caller frees, or NULL when out of
 * memory.
 */
char	*jsonscan_quote(const char *s, size_t len);

#endif
